/* SiLU (swish): y = x * sigmoid(x), elementwise, any layout.
 *
 * Backward ACCUMULATES: dx += dy * s * (1 + x * (1 - s)), s = sigmoid(x); it needs the forward's
 * INPUT x (so the forward must not run in place when a backward follows); dx must not alias dy.
 * Defined for every float: NaN gives NaN (forward and backward), +-Inf give the limits (forward
 * +Inf and -0, derivative 1 and 0). The forward may run in place (y == x) when no backward follows. No communication: tiles and
 * per-sample vectors are handled the same way. */
#ifndef PIRF_SILU_H
#define PIRF_SILU_H

#include <stddef.h>

void pirf_silu_forward(float *y, const float *x, size_t n);
void pirf_silu_backward(float *dx, const float *dy, const float *x, size_t n);

#endif
