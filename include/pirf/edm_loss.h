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
 * layout.
 *
 * PG-Diffusion (docs/algorithm.md §7.5; the reference's EDMLossPG), for a network with the
 * physics-gradient branch, after pirf_edm_loss_buf_pg: one coin per optimizer step,
 *   u = pirf_rng_uniform(seed, PIRF_STREAM_PG_COND, step, 0, 0, 0),
 * and when u >= cond_dropout the network gets dx = d||R(x_t)||_2 / dx_t, computed on the noisy
 * input x_t = y + n (the deck's residual, Darcy's coefficient as pde.darcy.discretize_a, as the
 * reference's reward function) and detached (no gradient flows through dx); otherwise no dx. The
 * norm runs over the samples of one loss call in all data groups together: the whole batch unless
 * pretrain.micro_batch splits it (the reference: one GPU's micro-batch).
 *
 * Augmentation (pretrain.augment; EDM's AugmentPipe, pirf/augment.h), after
 * pirf_edm_loss_buf_augment: the clean sample y_b is replaced by its augmented version (keyed by
 * (seed, step, slot) like the noise) before the noise is added, and the network gets its 9 labels:
 *   L = (1 / batch) sum_b weight_b ||D(aug(y_b) + n_b; sigma_b, labels_b) - aug(y_b)||^2. */
#ifndef PIRF_EDM_LOSS_H
#define PIRF_EDM_LOSS_H

#include "pirf/augment.h"
#include "pirf/physics.h"
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
  pirf_physics *pg_ph;     /* PG-Diffusion: the residual of dx (NULL: no physics gradient) */
  double pg_cond_dropout;  /* probability of a step without dx */
  float *pg_dx;            /* [B][C][ym][xm] */
  int pg_with;             /* whether the last call fed dx */
  int augment;             /* EDM's augmentation on (pirf_edm_loss_buf_augment) */
  pirf_augment_buf ab;
  float *ya;               /* the augmented clean samples [B][C][ym][xm] */
  float *labels;           /* their labels [B][PIRF_AUGMENT_DIM] */
} pirf_edm_loss_buf;

int pirf_edm_loss_buf_create(pirf_edm_loss_buf *lb, const pirf_decomp *dc, int B, int C);
void pirf_edm_loss_buf_destroy(pirf_edm_loss_buf *lb);
/* Turn on PG-Diffusion's physics-gradient input for a network with the branch. */
int pirf_edm_loss_buf_pg(pirf_edm_loss_buf *lb, pirf_physics *ph, double cond_dropout);
/* Turn on EDM's augmentation (the network must have model.augment_dim = PIRF_AUGMENT_DIM). */
int pirf_edm_loss_buf_augment(pirf_edm_loss_buf *lb, const pirf_decomp *dc,
                              const pirf_augment_opts *o);
/* Whether step `step` feeds dx (the coin above). */
int pirf_edm_pg_with_gradient(uint32_t seed, uint32_t step, double cond_dropout);

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
