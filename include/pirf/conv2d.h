/* 2-D convolution on the tile: stride 1, "same" zero padding, kernel k = 1 or 3, with bias
 * (EDM's Conv2d without its resampling, which lives in pirf/resample.h).
 *
 *   y[b][o][i][j] = bias[o] + sum_{c,u,v} w[o][c][u][v] * x[b][c][i+u-k/2][j+v-k/2]
 *
 * over the global field: at k = 3 the cells outside this rank's tile come from the neighbouring
 * tiles (pirf_halo_pad), zeros beyond the physical boundary; k = 1 is tile-local.
 *
 * Layouts: x [B][Cin][ym][xm], y and dy [B][Cout][ym][xm] (L's tile), w [Cout][Cin][k][k]
 * (PyTorch), bias [Cout].
 *
 * Contract:
 *  - forward overwrites y. backward ACCUMULATES: dx += dL/dx, dw += dL/dw, db += dL/db; any of the
 *    three may be NULL when not wanted. dw and db are this rank's partial sums over its tile and its
 *    B samples; the caller reduces them over tiles and data replicas.
 *  - k = 3 forward, and k = 3 backward with dx or dw, are collective over L->comm (halo exchange):
 *    every rank of the space group calls them with the same B, Cin, Cout, k and the same NULL-ness
 *    of dx and dw.
 *  - No allocation: `scratch` is caller memory of at least pirf_conv2d_scratch_floats(L, B, Cin,
 *    Cout, k) floats (the same size serves forward and backward; 0 for k = 1).
 *  - y must not alias x; dx must not alias dy. */
#ifndef PIRF_CONV2D_H
#define PIRF_CONV2D_H

#include "pirf/level.h"

#include <stddef.h>

size_t pirf_conv2d_scratch_floats(const pirf_level *L, int B, int Cin, int Cout, int k);

int pirf_conv2d_forward(const pirf_level *L, float *y, const float *x, const float *w,
                        const float *bias, int B, int Cin, int Cout, int k, float *scratch);

int pirf_conv2d_backward(const pirf_level *L, float *dx, float *dw, float *db, const float *dy,
                         const float *x, const float *w, int B, int Cin, int Cout, int k,
                         float *scratch);

/* How k = 3 is computed (process-wide setting; both give the same results up to rounding and use
 * the same scratch size). SHIFTED_GEMM (default): 9 SGEMMs reading the padded input in place, see
 * conv2d.c. IM2COL: the textbook column matrix + one SGEMM, with col2im in backward; kept as the
 * baseline for `pirf bench` and as a cross-check in the tests. */
typedef enum { PIRF_CONV3_SHIFTED_GEMM = 0, PIRF_CONV3_IM2COL = 1 } pirf_conv3_algo;
void pirf_conv2d_set_algo(pirf_conv3_algo algo);
pirf_conv3_algo pirf_conv2d_algo(void);

#endif
