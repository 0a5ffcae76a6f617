/* GELU (pirf/gelu.h):
 *  gelu_matches_erf_formula: y = 0.5 x (1 + erf(x / sqrt 2)) against known values of torch's exact
 *    GELU (Phi tabulated: GELU(1) = 0.8413447, GELU(-1) = -0.1586553, GELU(3) = 2.9959502) and the
 *    limits at |x| = 30.
 *  gelu_grad_matches_finite_difference: dx against central differences of <y, g>.
 *  gelu_backward_accumulates: a second backward adds the same gradient again. */
#include "nn_testing.h"
#include "pirf/gelu.h"

#include <string.h>

enum { N = 512 };
static float x[N], y[N], g[N], dx[N];

static double loss(void *ctx) {
  (void)ctx;
  pirf_gelu_forward(y, x, N);
  return test_dot(y, g, N);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  const float xs[5] = {1.0f, -1.0f, 3.0f, 30.0f, -30.0f};
  const double ys[5] = {0.8413447461, -0.1586552539, 2.9959502, 30.0, 0.0};
  float yv[5];
  pirf_gelu_forward(yv, xs, 5);
  double maxd = 0.0;
  for (int i = 0; i < 5; i++) maxd = fmax(maxd, fabs(yv[i] - ys[i]));
  TEST_CHECK(maxd < 1e-6, "gelu_matches_erf_formula: max error %.3g", maxd);
  test_fill_vec(x, N, 41, 2.0, 0.0);
  test_fill_vec(g, N, 42, 1.0, 0.0);
  memset(dx, 0, sizeof dx);
  pirf_gelu_backward(dx, g, x, N);
  test_grad_fd("gelu_grad_matches_finite_difference", x, N, dx, loss, NULL, 1e-2, 1e-3, 1e-4);
  float dx2[N];
  memcpy(dx2, dx, sizeof dx);
  pirf_gelu_backward(dx2, g, x, N);
  for (int i = 0; i < N; i++) dx[i] *= 2.0f;
  test_check_vec("gelu_backward_accumulates", dx2, dx, N, 1e-6);
  int rc = test_finish("gelu");
  MPI_Finalize();
  return rc;
}
