/* PG-Diffusion's physics-gradient branch (docs/algorithm.md §7.5; the reference's SongUNetPG): the
 * residual gradient dx, same shape as the data x, embedded as
 *
 *   e = Conv3x3_{Hc -> C}( GELU( Conv1x1_{C -> Hc}(dx) ) )         Hc = model.channels
 *
 * and concatenated after x, so the SongUNet's first conv sees 2C channels. Both convolutions are
 * zero-initialised (weights and biases), so a new network starts out ignoring dx. The reference
 * feeds dx = 0 when there is no gradient (cond dropout, early sampler steps): the branch still runs
 * then and gives Conv3x3(GELU(b1)) + b2, not zero, once the biases have been trained.
 *
 * Layouts as pirf/conv2d.h at full resolution: dx, e [B][C][ym][xm]; h (the 1x1 conv's output,
 * GELU's input) and g [B][Hc][ym][xm]; w1 [Hc][C][1][1], w2 [C][Hc][3][3] (PyTorch).
 *
 * Contract: forward overwrites e, h and g. backward ACCUMULATES into ddx, dw1, db1, dw2, db2
 * (ddx may be NULL); it needs the forward's dx and h, recomputes GELU into g and uses dg as
 * scratch. Both are collective over L->comm (the 3x3 conv's halo exchange). `scratch`:
 * pirf_pg_branch_scratch_floats floats. */
#ifndef PIRF_PG_BRANCH_H
#define PIRF_PG_BRANCH_H

#include "pirf/level.h"

#include <stddef.h>

size_t pirf_pg_branch_scratch_floats(const pirf_level *L, int B, int C, int Hc);

int pirf_pg_branch_forward(const pirf_level *L, float *e, float *h, float *g, const float *dx,
                           const float *w1, const float *b1, const float *w2, const float *b2,
                           int B, int C, int Hc, float *scratch);

int pirf_pg_branch_backward(const pirf_level *L, float *ddx, float *dw1, float *db1, float *dw2,
                            float *db2, const float *de, const float *dx, const float *h, float *g,
                            float *dg, const float *w1, const float *w2, int B, int C, int Hc,
                            float *scratch);

#endif
