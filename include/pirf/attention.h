/* Single-head self-attention core on domain-decomposed tiles (EDM AttentionOp plus the qkv reshape
 * of UNetBlock, num_heads = 1, docs/algorithm.md §4.4).
 *
 *   qkv: [B][3C][ym][xm], EDM's INTERLEAVED channel order: channel o = 3c + j holds q (j = 0),
 *        k (j = 1) or v (j = 2) of channel c. (This is the output of the qkv 1x1 conv.)
 *   w[q,k] = softmax_k( sum_c q[c,q] k[c,k] / sqrt(C) )   over ALL N = H*W global tokens k
 *   a[c,q] = sum_k w[q,k] v[c,k]                           a: [B][C][ym][xm], this rank's tokens
 *
 * Parallel contract (collective over L->comm, same B and C on every rank): k and v of every rank's
 * tile are allgathered within the space group (MPI_Allgatherv) and placed in global pixel order
 * (token gy*W + gx), so every layout sums in the same order; each rank computes its own query rows.
 * The backward computes dq for its own rows and dk, dv contributions for ALL tokens, which are
 * summed back onto their owners with one MPI_Reduce_scatter. Backward ACCUMULATES into dqkv (all
 * three interleaved parts of the own tile).
 *
 * Softmax in float32 with the row maximum subtracted (stable); the row sum is accumulated in double.
 *
 * Saved weights vs recompute: the forward can save w for its own rows, att [B][nq][N] with
 * nq = ym*xm (pirf_attention_att_size floats). That is nq*N floats per sample (at the 32x32
 * bottleneck of a 128^2 model: 1024^2 / nranks floats = 4 MiB / nranks per sample), small next to
 * the block's activations, and saves a QK^T GEMM and the softmax in the backward. Pass att = NULL
 * to the forward when no backward follows (sampling), and to the backward to recompute w from qkv
 * (k and v are re-gathered in the backward in either case, so nothing else is saved).
 *
 * scratch: caller-provided, pirf_attention_scratch_bytes(B, C, L) bytes (no allocation inside);
 * the same scratch serves forward and backward and holds nothing between calls. About
 * 4*B*C*H*W floats (the gathered k, v twice: once as received, once in token order).
 * a must not alias qkv; dqkv must not alias da. */
#ifndef PIRF_ATTENTION_H
#define PIRF_ATTENTION_H

#include "pirf/level.h"

#include <stddef.h>

size_t pirf_attention_scratch_bytes(int B, int C, const pirf_level *L);
/* Floats of the saved attention weights att [B][ym*xm][H*W]. */
size_t pirf_attention_att_size(int B, const pirf_level *L);

int pirf_attention_forward(float *a, float *att, const float *qkv, int B, int C,
                           const pirf_level *L, void *scratch);
int pirf_attention_backward(float *dqkv, const float *da, const float *qkv, const float *att, int B,
                            int C, const pirf_level *L, void *scratch);

#endif
