/* Counter-based random numbers: the same counter gives the same number; different streams,
 * samples, channels or pixels give independent numbers; normals have mean 0 and variance 1 and
 * uniforms are in (0, 1) with mean 1/2 (tolerances from the sample count: 6 standard errors). */
#include "pirf/rng.h"
#include "testing.h"

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  TEST_CHECK(pirf_rng_normal(7, PIRF_STREAM_GRF, 0, 3, 1, 99) == pirf_rng_normal(7, PIRF_STREAM_GRF, 0, 3, 1, 99),
             "same counter, same number");
  TEST_CHECK(pirf_rng_normal(7, PIRF_STREAM_GRF, 0, 3, 1, 99) != pirf_rng_normal(7, PIRF_STREAM_NOISE, 0, 3, 1, 99),
             "streams differ");
  TEST_CHECK(pirf_rng_normal(7, PIRF_STREAM_GRF, 0, 3, 1, 99) != pirf_rng_normal(8, PIRF_STREAM_GRF, 0, 3, 1, 99),
             "seeds differ");
  const int n = 200000;
  double s = 0, s2 = 0, s4 = 0, su = 0, corr = 0, umin = 1, umax = 0;
  double prev = 0;
  for (int i = 0; i < n; i++) {
    double z = pirf_rng_normal(1, PIRF_STREAM_TEST, 0, (uint32_t)(i / 1000), (uint32_t)(i % 3),
                               (uint32_t)i);
    double u = pirf_rng_uniform(1, PIRF_STREAM_TEST, 5, 0, 0, (uint32_t)i);
    s += z;
    s2 += z * z;
    s4 += z * z * z * z;
    su += u;
    corr += z * prev;
    prev = z;
    umin = u < umin ? u : umin;
    umax = u > umax ? u : umax;
  }
  double se = 1.0 / sqrt(n);
  TEST_CHECK(fabs(s / n) < 6 * se, "normal mean %.4g", s / n);
  TEST_CHECK(fabs(s2 / n - 1) < 6 * sqrt(2.0) * se, "normal variance %.4g", s2 / n);
  TEST_CHECK(fabs(s4 / n - 3) < 6 * sqrt(96.0) * se, "normal kurtosis %.4g", s4 / n);
  TEST_CHECK(fabs(corr / n) < 6 * se, "neighbouring counters correlated: %.4g", corr / n);
  TEST_CHECK(fabs(su / n - 0.5) < 6 * sqrt(1.0 / 12) * se, "uniform mean %.4g", su / n);
  TEST_CHECK(umin > 0 && umax < 1, "uniform range (%g, %g)", umin, umax);
  int rc = test_finish("rng_is_a_pure_function_of_its_counter");
  MPI_Finalize();
  return rc;
}
