/* EDM's denoising score-matching loss (docs/algorithm.md §3; EDM's EDMLoss), on the tile decomposition:
 *
 *   ln sigma ~ N(P_mean, P_std^2), P_mean = -1.2, P_std = 1.2          one sigma per sample
 *   n ~ N(0, sigma^2)                                                  per channel and pixel
 *   weight(sigma) = (sigma^2 + sigma_data^2) / (sigma sigma_data)^2
 *   L = (1 / batch) sum_b weight_b sum_{c, pixels} (D(y_b + n_b; sigma_b) - y_b)^2
 *
 * where batch is the GLOBAL batch (over all data groups): EDM sums the loss over the pixels and the
 * GPU's samples, divides by the per-GPU batch and DDP averages the GPUs, which is the same thing.
 * So the per-rank parameter gradients are partial sums whose plain sum over the world (the sharded
 * Adam's reduce-scatter with scale 1) is dL/dtheta.
 *
 * Randomness is keyed by the global slot s of a sample in this iteration's batch and the iteration:
 *   ln sigma = P_mean + P_std * pirf_rng_normal(seed, PIRF_STREAM_SIGMA, step, s, 0, 0)
 *   n        = sigma * pirf_rng_normal(seed, PIRF_STREAM_NOISE, step, s, channel, global pixel)
 * (global pixel = row * W + column), so the loss and its gradient do not depend on the rank
 * layout. */
#ifndef PIRF_EDM_LOSS_H
#define PIRF_EDM_LOSS_H

#include "pirf/precond.h"

#include <stdint.h>

#define PIRF_EDM_P_MEAN (-1.2)
#define PIRF_EDM_P_STD 1.2

/* Buffers of one rank for up to B samples of C channels on its tile (no allocation per call). */
typedef struct {
  int B, C;
  size_t tile;             /* floats of one channel of one sample: xm * ym */
  float *x, *D, *dD;       /* [B][C][ym][xm] each */
  double *sigma, *weight;  /* [B] */
} pirf_edm_loss_buf;

int pirf_edm_loss_buf_create(pirf_edm_loss_buf *lb, const pirf_decomp *dc, int B, int C);
void pirf_edm_loss_buf_destroy(pirf_edm_loss_buf *lb);

double pirf_edm_sigma(uint32_t seed, uint32_t step, uint32_t slot);
double pirf_edm_loss_weight(double sigma, double sigma_data);

/* The loss of this rank's B samples (global slots [slot0, slot0+B) of a batch of `batch`), their
 * tile of the clean data y[B][C][ym][xm], and its gradient:
 *   loss    this rank's partial sum of L (its samples, its tile); sum over the world for L
 *   dparams += this rank's partial dL/dtheta for tensors [pfirst, pend) (NULL: forward only, and
 *           tape may be NULL)
 * drop: the training-mode dropout (NULL = off). Collective over dc->space. */
int pirf_edm_loss(const pirf_unet *net, pirf_unet_work *w, pirf_unet_tape *tape,
                  pirf_edm_loss_buf *lb, const pirf_decomp *dc, const float *params,
                  const float *y, int B, long slot0, long batch, uint32_t seed, uint32_t step,
                  const pirf_unet_dropout *drop, float *dparams, int pfirst, int pend,
                  double *loss);

#endif
