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
 *    three may be NULL when not wanted. dw and db are this rank's partial sums over its tile and
 *    its B samples; the caller reduces them over tiles and data replicas.
 *  - k = 3 forward, and k = 3 backward with dx or dw, are collective over L->comm (halo exchange):
 *    every rank of the space group calls them with the same B, Cin, Cout, k and the same NULL-ness
 *    of dx and dw.
 *  - No allocation: `scratch` is caller memory of at least pirf_conv2d_scratch_floats(L, B, Cin,
 *    Cout, k) floats (the same size serves forward and backward; 0 for k = 1). For k = 3 it is
 *    about 2*B*Cin*(ym+2)*(xm+2) (padded input and its gradient), plus 9*Cin*ym*xm when the
 *    algorithm is im2col (oneDNN keeps its own workspace, conv2d_dnnl.c).
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

/* How k = 3 is computed (a process-wide setting). All give the same results up to rounding.
 *   AUTO (default)  DNNL at every tile size: it was the fastest algorithm on every shape measured
 *                   (docs/performance.md), so the GEMM-based ones below are kept as references
 *                   and for `pirf bench`'s side-by-side rows.
 *   DNNL            oneDNN's convolution primitives on the padded plane (src/nn/conv2d_dnnl.c).
 *   SHIFTED_GEMM    9 SGEMMs reading the padded input in place.
 *   IM2COL          the textbook column matrix + one SGEMM, col2im in backward.
 *   ROWS            the three horizontal taps side by side (a 3x copy of the input), then three
 *                   SGEMMs with K = 3*Cin, one per tap row.
 * The scratch size depends on the choice: set the algorithm BEFORE sizing scratch with
 * pirf_conv2d_scratch_floats. */
typedef enum {
  PIRF_CONV3_AUTO = 0,
  PIRF_CONV3_SHIFTED_GEMM = 1,
  PIRF_CONV3_IM2COL = 2,
  PIRF_CONV3_ROWS = 3,
  PIRF_CONV3_DNNL = 4
} pirf_conv3_algo;
void pirf_conv2d_set_algo(pirf_conv3_algo algo);
pirf_conv3_algo pirf_conv2d_algo(void);
/* How forward convolutions compute (a process-wide setting, FP32 by default; returns the previous
 * one). Only for evaluations that carry no gradient (model.nograd_precision, set by
 * pirf_unet_forward without tape); backward always runs the FP32 direct convolution.
 *   PIRF_CONV_FWD_BF16      3x3 and 1x1: input and weights rounded to bfloat16, products summed
 *                           in float32, float32 output; through oneDNN whatever the algorithm
 *   PIRF_CONV_FWD_WINOGRAD  3x3: oneDNN's float32 Winograd F(4x4, 3x3) (2.25x fewer
 *                           multiplications, rounding errors a few times the direct sum's), where
 *                           oneDNN has it for the shape, else the direct convolution; 1x1 as FP32 */
typedef enum { PIRF_CONV_FWD_FP32 = 0, PIRF_CONV_FWD_BF16 = 1, PIRF_CONV_FWD_WINOGRAD = 2 } pirf_conv_fwd;
pirf_conv_fwd pirf_conv2d_set_forward(pirf_conv_fwd mode);
/* Whether this CPU has oneDNN's bfloat16 convolutions (AVX-512 or newer, natively with
 * AVX512_BF16 or AMX; emulated on plain AVX-512). */
int pirf_conv2d_bf16_supported(void);
/* The concrete algorithm a 3x3 convolution on L's tile uses under the current setting. */
pirf_conv3_algo pirf_conv2d_chosen(const pirf_level *L);

#endif
