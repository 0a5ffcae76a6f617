/* SiLU (pirf/silu.h):
 *  silu_matches_direct_formula: y = x / (1 + exp(-x)) against double, including |x| = 30.
 *  silu_grad_matches_finite_difference: dx against central differences of <y, g>.
 *  silu_backward_accumulates: a second backward adds the same gradient again. */
#include "nn_testing.h"
#include "pirf/silu.h"

#include <string.h>

enum { N = 512 };
static float x[N], y[N], g[N], dx[N];

static double loss(void *ctx) {
  (void)ctx;
  pirf_silu_forward(y, x, N);
  return test_dot(y, g, N);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  test_fill_vec(x, N, 31, 3.0, 0.0);
  test_fill_vec(g, N, 32, 1.0, 0.0);
  x[0] = 30.0f;
  x[1] = -30.0f;
  pirf_silu_forward(y, x, N);
  double maxd = 0.0;
  for (int i = 0; i < N; i++) maxd = fmax(maxd, fabs(y[i] - x[i] / (1.0 + exp(-(double)x[i]))) /
                                                  fmax(1.0, fabs(x[i])));
  TEST_CHECK(maxd < 1e-6, "silu_matches_direct_formula: max relative error %.3g", maxd);
  memset(dx, 0, sizeof dx);
  pirf_silu_backward(dx, g, x, N);
  test_grad_fd("silu_grad_matches_finite_difference", x, N, dx, loss, NULL, 1e-2, 1e-3, 1e-4);
  float dx2[N];
  memcpy(dx2, dx, sizeof dx);
  pirf_silu_backward(dx2, g, x, N);
  for (int i = 0; i < N; i++) dx[i] *= 2.0f;
  test_check_vec("silu_backward_accumulates", dx2, dx, N, 1e-6);
  int rc = test_finish("silu");
  MPI_Finalize();
  return rc;
}
