/* SiLU forward/backward (see pirf/silu.h). */
#include "pirf/silu.h"

#include <math.h>

void pirf_silu_forward(float *y, const float *x, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = x[i] / (1.0f + expf(-x[i]));
}

void pirf_silu_backward(float *dx, const float *dy, const float *x, size_t n) {
  for (size_t i = 0; i < n; i++) {
    float s = 1.0f / (1.0f + expf(-x[i]));
    /* d/dx [x s(x)] = s + x s (1 - s) */
    dx[i] += dy[i] * s * (1.0f + x[i] * (1.0f - s));
  }
}
