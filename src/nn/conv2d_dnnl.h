/* The 3x3 convolution's three products computed by oneDNN (private to src/nn; conv2d.c's
 * PIRF_CONV3_DNNL algorithm), and the bfloat16 forward of the 1x1 convolution.
 *
 * The 3x3 functions work on the PADDED plane that conv2d.c builds with pirf_halo_pad:
 * xp[B][Cin][Hp][Wp], Hp = ym + 2, Wp = xm + 2, so oneDNN runs a "valid" (unpadded) convolution and
 * the halo cells from neighbouring tiles are already in place. y, dy are [B][Cout][ym][xm] and w
 * [Cout][Cin][k][k], the caller's float32 layouts; oneDNN's blocked copies, its reorders and its
 * scratchpad live in one workspace owned by this file (grown on demand, never shrunk).
 *
 *   pirf_dnnl_conv_forward           y = bias + w * xp for a k x k kernel (k = 1: xp is the plain
 *                                    plane, Hp = ym); mode PIRF_CONV_FWD_BF16 rounds xp and w to
 *                                    bfloat16 (float32 accumulation and output), WINOGRAD uses
 *                                    oneDNN's Winograd F(4x4, 3x3) where it has one for the shape:
 *                                    only for evaluations that carry no gradient
 *                                    (model.nograd_precision).
 *   pirf_dnnl_conv3_backward_data    dxp = w^T * dy (OVERWRITES the padded gradient)
 *   pirf_dnnl_conv3_backward_weights dw += dy * xp^T (ACCUMULATES, as conv2d's contract)
 *
 * Primitives (oneDNN's compiled kernels) are cached per shape for the life of the process. */
#ifndef PIRF_CONV2D_DNNL_H
#define PIRF_CONV2D_DNNL_H

#include "pirf/conv2d.h"

#include <stddef.h>

int pirf_dnnl_conv_forward(float *y, const float *xp, const float *w, const float *bias, int B,
                           int Cin, int Cout, int Hp, int Wp, int k, pirf_conv_fwd mode);
int pirf_dnnl_conv3_backward_data(float *dxp, const float *dy, const float *w, int B, int Cin,
                                  int Cout, int Hp, int Wp);
int pirf_dnnl_conv3_backward_weights(float *dw, const float *dy, const float *xp, int B, int Cin,
                                     int Cout, int Hp, int Wp);
/* oneDNN implements bfloat16 convolutions on this CPU (its ISA is AVX-512 core or newer). */
int pirf_dnnl_bf16_supported(void);

#endif
