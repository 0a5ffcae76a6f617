/* Linear (pirf/linear.h), y = x W^T + b with W in PyTorch's [out][in] layout:
 *  linear_matches_direct_formula: against a double triple loop (in != out, so a transposed W shows).
 *  linear_grad_matches_finite_difference: dx, dW, db against central differences of <y, g>.
 *  linear_backward_accumulates: a second backward adds the same gradients again. */
#include "nn_testing.h"
#include "pirf/linear.h"

#include <string.h>

enum { B = 3, IN = 7, OUT = 5 };
static float x[B * IN], W[OUT * IN], b[OUT], y[B * OUT], g[B * OUT];

static double loss(void *ctx) {
  (void)ctx;
  pirf_linear_forward(y, x, W, b, B, IN, OUT);
  return test_dot(y, g, B * OUT);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  test_fill_vec(x, B * IN, 41, 1.0, 0.0);
  test_fill_vec(W, OUT * IN, 42, 0.5, 0.0);
  test_fill_vec(b, OUT, 43, 1.0, 0.0);
  test_fill_vec(g, B * OUT, 44, 1.0, 0.0);
  pirf_linear_forward(y, x, W, b, B, IN, OUT);
  double maxd = 0.0;
  for (int i = 0; i < B; i++)
    for (int o = 0; o < OUT; o++) {
      double r = b[o];
      for (int k = 0; k < IN; k++) r += (double)x[i * IN + k] * W[o * IN + k];
      maxd = fmax(maxd, fabs(r - y[i * OUT + o]));
    }
  TEST_CHECK(maxd < 1e-5, "linear_matches_direct_formula: max |y - ref| %.3g", maxd);
  float dx[B * IN] = {0}, dW[OUT * IN] = {0}, db[OUT] = {0};
  pirf_linear_backward(dx, dW, db, g, x, W, B, IN, OUT);
  test_grad_fd("linear_grad_matches_finite_difference dx", x, B * IN, dx, loss, NULL, 1e-2, 1e-4, 1e-5);
  test_grad_fd("linear_grad_matches_finite_difference dW", W, OUT * IN, dW, loss, NULL, 1e-2, 1e-4, 1e-5);
  test_grad_fd("linear_grad_matches_finite_difference db", b, OUT, db, loss, NULL, 1e-2, 1e-4, 1e-5);
  float dx2[B * IN], dW2[OUT * IN], db2[OUT];
  memcpy(dx2, dx, sizeof dx);
  memcpy(dW2, dW, sizeof dW);
  memcpy(db2, db, sizeof db);
  pirf_linear_backward(dx2, dW2, db2, g, x, W, B, IN, OUT);
  for (int i = 0; i < B * IN; i++) dx[i] *= 2.0f;
  for (int i = 0; i < OUT * IN; i++) dW[i] *= 2.0f;
  for (int i = 0; i < OUT; i++) db[i] *= 2.0f;
  test_check_vec("linear_backward_accumulates dx", dx2, dx, B * IN, 1e-6);
  test_check_vec("linear_backward_accumulates dW", dW2, dW, OUT * IN, 1e-6);
  test_check_vec("linear_backward_accumulates db", db2, db, OUT, 1e-6);
  int rc = test_finish("linear");
  MPI_Finalize();
  return rc;
}
