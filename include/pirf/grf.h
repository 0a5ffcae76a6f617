/* Gaussian random fields on the Neumann (cosine) modes, as DiffusionPDE's / FNO's GRF.m.
 *
 * The field is N(0, C) with C = (-Laplacian + tau^2)^(-alpha) on the unit square, sampled by its
 * Karhunen-Loeve expansion in the cosine eigenfunctions of an s x s cell-centred grid:
 *   coef(k1, k2) = tau^(alpha-1) * (pi^2 (k1^2 + k2^2) + tau^2)^(-alpha/2)
 *   L = s * coef .* xi,  xi ~ N(0, 1) i.i.d.,  L(0, 0) = 0
 *   U = idct2(L)          (orthonormal inverse DCT along both axes, as MATLAB's idct2)
 * so U(i, j) = sum_{k1,k2} w(k1) w(k2) L(k1, k2) cos(pi (2i+1) k1 / 2s) cos(pi (2j+1) k2 / 2s),
 * w(0) = sqrt(1/s), w(k>0) = sqrt(2/s).
 *
 * Parallel method: every rank draws the whole coefficient array L from Philox (keyed by the global
 * mode index) and evaluates the two separable sums for its own tile only, in a fixed summation
 * order: O(s^2 (ym + ym xm / s)) work, and bit-identical values at any rank layout. */
#ifndef PIRF_GRF_H
#define PIRF_GRF_H

#include <stdint.h>

/* The tile rows [ys, ys+ym) x columns [xs, xs+xm) of sample `sample`'s field number `field`
 * (the Philox channel), into U [ym][xm] (double). */
int pirf_grf_tile(int s, double alpha, double tau, uint32_t seed, long sample, int field, int ys,
                  int ym, int xs, int xm, double *U);
/* The KL standard deviation of mode (k1, k2) before the factor s: tau^(alpha-1)(...)^(-alpha/2). */
double pirf_grf_coef(int k1, int k2, double alpha, double tau);

#endif
