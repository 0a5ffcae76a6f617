/* GELU forward/backward, the exact erf form (see pirf/gelu.h).
 *
 * Computed in double: erf is libm's, and the only user (PG-Diffusion's gradient branch, one layer
 * at full resolution) is a small part of a network evaluation, so accuracy is worth more here
 * than the vectorized float code SiLU needs. */
#include "pirf/gelu.h"

#include <math.h>

#define INV_SQRT2 0.70710678118654752440
#define INV_SQRT_2PI 0.39894228040143267794

void pirf_gelu_forward(float *y, const float *x, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const double v = x[i];
    y[i] = (float)(0.5 * v * (1.0 + erf(v * INV_SQRT2)));
  }
}

void pirf_gelu_backward(float *dx, const float *dy, const float *x, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const double v = x[i];
    /* d/dx [x Phi(x)] = Phi(x) + x phi(x); x phi(x) -> 0 at +-Inf, where x * 0 would be NaN */
    const double xphi = isinf(v) ? 0.0 : v * INV_SQRT_2PI * exp(-0.5 * v * v);
    dx[i] += (float)(dy[i] * (0.5 * (1.0 + erf(v * INV_SQRT2)) + xphi));
  }
}
