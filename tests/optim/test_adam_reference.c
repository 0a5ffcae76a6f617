/* adam_matches_reference_values: two Adam steps on three weights against values computed by hand
 * from torch.optim.Adam's update (numbers below from the formulas, in double precision):
 *
 *   m = b1 m + (1-b1) g,  v = b2 v + (1-b2) g^2,
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *
 * Case A (eps 1e-8): a missing bias correction changes the first step by 3x or more.
 * Case B (eps 1e-3, gradients ~1e-3): pins where eps enters (after the sqrt(v) correction).
 * The step's learning rate changes between steps (0.1, then 0.05). The three weights sit inside a
 * larger arena ([2, 5) of 7 floats) that must stay untouched elsewhere. Every rank passes the
 * gradient and scale 1/size, so the reduced gradient is g at any rank count (3 floats over 4 ranks
 * leaves one rank with an empty slice). */
#include "pirf/optim.h"
#include "testing.h"

#include <string.h>

static void run_case(const char *name, double eps, const float g[2][3], const double p_ref[2][3],
                     const double m_ref[2][3], const double v_ref[2][3]) {
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  float arena[7] = {7, 8, 1.0f, -2.0f, 0.5f, 9, 10}, grad[7] = {100, 100, 0, 0, 0, 100, 100};
  pirf_adam_config cfg = pirf_adam_defaults();
  cfg.eps = eps;
  pirf_adam opt;
  TEST_CHECK(pirf_adam_create(&opt, MPI_COMM_WORLD, 2, 3, &cfg) == 0, "create");
  const double lr[2] = {0.1, 0.05};
  for (int t = 0; t < 2; t++) {
    memcpy(grad + 2, g[t], sizeof g[t]);
    TEST_CHECK(pirf_adam_step(&opt, arena, grad, 1.0 / size, lr[t], NULL) == 0, "step");
    char what[128];
    for (int i = 0; i < 3; i++) {
      snprintf(what, sizeof what, "%s step %d weight %d", name, t + 1, i);
      TEST_CLOSE(arena[2 + i], p_ref[t][i], 1e-6, 0, what);
      size_t k = 2 + (size_t)i;
      if (k >= opt.lo && k < opt.lo + opt.n) {
        snprintf(what, sizeof what, "%s step %d first moment %d", name, t + 1, i);
        TEST_CLOSE(opt.m[k - opt.lo], m_ref[t][i], 1e-6, 0, what);
        snprintf(what, sizeof what, "%s step %d second moment %d", name, t + 1, i);
        TEST_CLOSE(opt.v[k - opt.lo], v_ref[t][i], 1e-6, 0, what);
      }
    }
  }
  TEST_CHECK(arena[0] == 7 && arena[1] == 8 && arena[5] == 9 && arena[6] == 10,
             "%s: weights outside the trainable range changed", name);
  TEST_CHECK(opt.t == 2, "%s: step counter %ld, expected 2", name, opt.t);
  pirf_adam_destroy(&opt);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  const float gA[2][3] = {{0.5f, -1.0f, 3e-3f}, {-0.25f, 2.0f, 1e-3f}};
  const double pA[2][3] = {{0.900000002, -1.9, 0.400000333}, {0.88668315, -1.91830518, 0.356447331}};
  const double mA[2][3] = {{0.05, -0.1, 0.0003}, {0.02, 0.11, 0.00037}};
  const double vA[2][3] = {{0.00025, 0.001, 9e-09}, {0.00031225, 0.004999, 9.991e-09}};
  run_case("eps 1e-8", 1e-8, gA, pA, mA, vA);

  const float gB[2][3] = {{2e-3f, -1e-3f, 5e-4f}, {1e-3f, -3e-3f, 0.0f}};
  const double pB[2][3] = {{0.933333333, -1.95, 0.466666667}, {0.904783538, -1.91828948, 0.457917193}};
  const double mB[2][3] = {{0.0002, -0.0001, 5e-05}, {0.00028, -0.00039, 4.5e-05}};
  const double vB[2][3] = {{4e-09, 1e-09, 2.5e-10}, {4.996e-09, 9.999e-09, 2.4975e-10}};
  run_case("eps 1e-3", 1e-3, gB, pB, mB, vB);

  int rc = test_finish("adam_matches_reference_values");
  MPI_Finalize();
  return rc;
}
