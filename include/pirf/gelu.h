/* GELU, exact form: y = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), elementwise, any layout. It is
 * torch.nn.functional.gelu's default (approximate='none'), which the physics-gradient branch of
 * PG-Diffusion (pirf/pg_branch.h) uses between its two convolutions.
 *
 * Backward ACCUMULATES: dx += dy * (Phi(x) + x phi(x)), phi the standard normal density; it needs
 * the forward's INPUT x; dx must not alias dy. The forward may run in place (y == x) when no
 * backward follows. No communication. */
#ifndef PIRF_GELU_H
#define PIRF_GELU_H

#include <stddef.h>

void pirf_gelu_forward(float *y, const float *x, size_t n);
void pirf_gelu_backward(float *dx, const float *dy, const float *x, size_t n);

#endif
