/* silu_is_defined_for_every_float: SiLU and its derivative on the values that used to reach
 * undefined behaviour in the exponential (NaN: a float-to-int conversion and a left shift of a
 * negative value) or give NaN for a finite limit (+-Inf): NaN in gives NaN out; +Inf gives +Inf
 * (derivative 1); -Inf gives 0 (derivative 0); every finite input, the extremes and the subnormals
 * included, gives a finite output and a finite derivative. Built with PIRF_SANITIZE=ON it also
 * shows that no sanitizer reports on any of them. */
#include "nn_testing.h"
#include "pirf/silu.h"

#include <float.h>
#include <string.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  const float special[] = {NAN, -NAN, INFINITY, -INFINITY, FLT_MAX, -FLT_MAX, 0.0f, -0.0f,
                           FLT_MIN, -FLT_MIN, 1e-45f, -1e-45f, 87.3f, -87.3f, 88.7f, -88.7f,
                           89.0f, -89.0f, 100.0f, -100.0f, 1e30f, -1e30f, 0.5f, -0.5f};
  enum { K = sizeof special / sizeof special[0], REP = 8 };
  /* the values repeated so that the vectorized loop body (not only its scalar tail) sees them */
  float x[K * REP], y[K * REP], dy[K * REP], dx[K * REP];
  for (int r = 0; r < REP; r++) memcpy(x + r * K, special, sizeof special);
  for (int i = 0; i < K * REP; i++) dy[i] = 1.0f;
  memset(dx, 0, sizeof dx);
  pirf_silu_forward(y, x, K * REP);
  pirf_silu_backward(dx, dy, x, K * REP);
  int nan_ok = 1, inf_ok = 1, finite_ok = 1;
  for (int i = 0; i < K * REP; i++) {
    float v = x[i];
    if (isnan(v)) {
      if (!isnan(y[i]) || !isnan(dx[i])) nan_ok = 0;
    } else if (v == INFINITY) {
      if (y[i] != INFINITY || dx[i] != 1.0f) inf_ok = 0;
    } else if (v == -INFINITY) {
      if (y[i] != 0.0f || dx[i] != 0.0f) inf_ok = 0;
    } else {
      if (!isfinite(y[i]) || !isfinite(dx[i])) {
        finite_ok = 0;
        printf("  x = %g: y = %g, dy/dx = %g\n", v, y[i], dx[i]);
      }
      /* the limits hold approximately at the extremes */
      if (v >= 100.0f && (fabsf(y[i] - v) > 1e-6f * v || fabsf(dx[i] - 1.0f) > 1e-6f)) finite_ok = 0;
      if (v <= -100.0f && (fabsf(y[i]) > 1e-30f || fabsf(dx[i]) > 1e-30f)) finite_ok = 0;
    }
  }
  TEST_CHECK(nan_ok, "silu_nan_gives_nan: forward and backward of NaN are NaN");
  TEST_CHECK(inf_ok, "silu_inf_gives_the_limits: silu(+Inf) = +Inf, silu(-Inf) = 0, "
                     "derivatives 1 and 0");
  TEST_CHECK(finite_ok, "silu_finite_in_finite_out: every finite float, extremes and "
                        "subnormals included");
  int rc = test_finish("silu_is_defined_for_every_float");
  MPI_Finalize();
  return rc;
}
