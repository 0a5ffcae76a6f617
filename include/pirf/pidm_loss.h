/* The PIDM baseline's training loss (docs/algorithm.md §7.4; PIRF's baselines/train_pidm.py): EDM's
 * denoising loss on data plus a physics-residual loss on the denoiser's estimate,
 *
 *   L = L_diff + L_res
 *   L_diff = the EDM loss of pirf/edm_loss.h (sigma, noise, weight, 1/batch), times loss_scaling
 *   L_res  = reward_loss_scaling / batch * sum_b w(sigma_b) * sum_{residual channels, pixels} R_b^2
 *
 * with R the PDE residual in physical units (pirf/reward.h) of
 *   mode mean:    x0_b = D(x_b; sigma_b)                         (the posterior mean, the reference)
 *   mode sample:  x'_b = x_b + (sigma_min - sigma_b) (x_b - D(x_b; sigma_b)) / sigma_b
 *                 x0_b = D(x'_b; sigma_min)                      (one Euler step to sigma_min, then
 *                                                                 a second network evaluation)
 * where x_b = y_b + n_b is the noisy training input, and the weight
 *   w = 1 / (2 sigma)     weighting "sigma": what the reference code divides by;
 *   w = 1 / (2 sigma^2)   weighting "variance": our reading of the original PIDM's R^2 / (2 Sigma_t)
 *                         (Sigma_t the DDPM posterior variance; the EDM noise variance is sigma^2).
 * The gradient flows through both network evaluations of mode sample (and through D(x; sigma)
 * inside x'), never into x (data plus noise).
 *
 * Like pirf_edm_loss, every random number is keyed by the global slot and pixel, the returned losses
 * are this rank's partial sums (their sum over the world is L) and the parameter gradient is this
 * rank's partial sum (its world sum is dL/dtheta). Collective over dc->space. */
#ifndef PIRF_PIDM_LOSS_H
#define PIRF_PIDM_LOSS_H

#include "pirf/edm_loss.h"
#include "pirf/physics.h"

typedef enum { PIRF_PIDM_MEAN, PIRF_PIDM_SAMPLE } pirf_pidm_mode;
typedef enum { PIRF_PIDM_W_SIGMA, PIRF_PIDM_W_VARIANCE } pirf_pidm_weighting;

typedef struct {
  pirf_pidm_mode mode;
  pirf_pidm_weighting weighting;
  double loss_scaling;        /* of L_diff (reference --ls, 1) */
  double reward_loss_scaling; /* of L_res (reference README 1e-4) */
  double sigma_min;           /* mode sample: the last nonzero sigma of the sampler's schedule */
} pirf_pidm_config;

/* Names as the deck spells them; -1 for an unknown name. */
int pirf_pidm_mode_from_name(const char *name);
int pirf_pidm_weighting_from_name(const char *name);
double pirf_pidm_weight(pirf_pidm_weighting w, double sigma);

/* The EDM loss buffers plus those of the residual branch for up to B samples. */
typedef struct {
  pirf_edm_loss_buf edm;
  float *xs, *D2, *dD2, *dxs; /* mode sample: x', D(x'; sigma_min), cotangents [B][C][ym][xm] */
  float *x0bar;               /* dL_res / dx0 */
  double *sigma_min;          /* [B], all sigma_min */
} pirf_pidm_buf;

int pirf_pidm_buf_create(pirf_pidm_buf *pb, const pirf_decomp *dc, int B, int C);
void pirf_pidm_buf_destroy(pirf_pidm_buf *pb);

/* This rank's B samples (global slots [slot0, slot0+B) of a batch of `batch`), clean data y:
 *   loss_diff, loss_res  this rank's partial sums of L_diff and L_res
 *   dparams += this rank's partial dL/dtheta on tensors [pfirst, pend) (NULL: forward only; the
 *           tapes may then be NULL). tape2: the second evaluation's tape (mode sample).
 * drop: training-mode dropout of the first evaluation (NULL = off); the second uses step + 1 of
 * the same seed, so callers give the first an even step (2 * iteration). */
int pirf_pidm_loss(const pirf_pidm_config *pc, const pirf_unet *net, pirf_unet_work *w,
                   pirf_unet_tape *tape, pirf_unet_tape *tape2, pirf_pidm_buf *pb,
                   pirf_physics *ph, const float *params, const float *y, int B, long slot0,
                   long batch, uint32_t seed, uint32_t step, const pirf_unet_dropout *drop,
                   float *dparams, int pfirst, int pend, double *loss_diff, double *loss_res);

#endif
