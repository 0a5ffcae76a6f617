/* Dropout with probability p, as torch in training mode: y = x * m / (1 - p), m ~ Bernoulli(1 - p).
 *
 * The mask is a pure function of the global position, never stored (the backward recomputes it):
 *
 *   u = pirf_rng_uniform(key.seed, PIRF_STREAM_DROPOUT, key.step, key.sample0 + b,
 *                        (key.layer << 16) | c, gy * L->W + gx)
 *   m = (u >= p)          kept with probability 1 - p (u is uniform on the open interval (0,1))
 *
 * with b the sample index within the batch, c the channel (< 65536), (gy, gx) the GLOBAL pixel at
 * level L, and key.layer (< 65536) a per-layer id that the caller assigns once (e.g. the module's
 * index), so that two dropout layers never share a mask. key.step must differ between network
 * evaluations whose masks must be independent (training step; in fine-tuning fold in the sampler
 * step); forward and backward of one evaluation use the same key. key.sample0 is the global index
 * of the batch's first sample. The same key gives the same mask at any rank layout.
 *
 * Layout [B][C][ym][xm], this rank's tile at level L. p = 0 is the identity; 0 <= p < 1.
 * Backward ACCUMULATES: dx += dy * m / (1 - p). No communication. */
#ifndef PIRF_DROPOUT_H
#define PIRF_DROPOUT_H

#include "pirf/level.h"

#include <stdint.h>

typedef struct {
  uint32_t seed;    /* the run's seed */
  uint32_t step;    /* evaluation counter (see above) */
  uint32_t layer;   /* per-layer id, < 65536 */
  uint32_t sample0; /* global index of sample b = 0 */
} pirf_dropout_key;

/* Whether element (b, c, gy, gx) is kept (exposed for tests and for callers that need the mask). */
int pirf_dropout_keep(const pirf_dropout_key *key, float p, int b, int c, int gy, int gx, int W);

int pirf_dropout_forward(float *y, const float *x, float p, const pirf_dropout_key *key, int B,
                         int C, const pirf_level *L);
int pirf_dropout_backward(float *dx, const float *dy, float p, const pirf_dropout_key *key, int B,
                          int C, const pirf_level *L);

#endif
