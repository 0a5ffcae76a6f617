/* The PIDM baseline's loss, EDM loss + residual loss, and its gradient (see pirf/pidm_loss.h). */
#include "pirf/pidm_loss.h"

#include "pirf/check.h"
#include "pirf/reward.h"

#include <stdlib.h>
#include <string.h>

int pirf_pidm_mode_from_name(const char *name) {
  if (!strcmp(name, "mean")) return PIRF_PIDM_MEAN;
  if (!strcmp(name, "sample")) return PIRF_PIDM_SAMPLE;
  return -1;
}

int pirf_pidm_weighting_from_name(const char *name) {
  if (!strcmp(name, "sigma")) return PIRF_PIDM_W_SIGMA;
  if (!strcmp(name, "variance")) return PIRF_PIDM_W_VARIANCE;
  return -1;
}

double pirf_pidm_weight(pirf_pidm_weighting w, double sigma) {
  /* the reference divides by 2 sigma; the original PIDM's Gaussian log-likelihood divides by twice
   * the variance, sigma^2 in EDM's parametrization */
  return w == PIRF_PIDM_W_VARIANCE ? 1.0 / (2.0 * sigma * sigma) : 1.0 / (2.0 * sigma);
}

int pirf_pidm_buf_create(pirf_pidm_buf *pb, const pirf_decomp *dc, int B, int C) {
  memset(pb, 0, sizeof *pb);
  PIRF_TRY(pirf_edm_loss_buf_create(&pb->edm, dc, B, C));
  const size_t n = (size_t)B * C * pb->edm.tile;
  PIRF_ALLOC(pb->xs, n, "the Euler step to sigma_min");
  PIRF_ALLOC(pb->D2, n, "the denoiser outputs at sigma_min");
  PIRF_ALLOC(pb->dD2, n, "their cotangent");
  PIRF_ALLOC(pb->dxs, n, "the Euler step's cotangent");
  PIRF_ALLOC(pb->x0bar, n, "the residual loss cotangent");
  PIRF_ALLOC(pb->sigma_min, B, "noise levels");
  return 0;
}

void pirf_pidm_buf_destroy(pirf_pidm_buf *pb) {
  pirf_edm_loss_buf_destroy(&pb->edm);
  free(pb->xs);
  free(pb->D2);
  free(pb->dD2);
  free(pb->dxs);
  free(pb->x0bar);
  free(pb->sigma_min);
  memset(pb, 0, sizeof *pb);
}

int pirf_pidm_loss(const pirf_pidm_config *pc, const pirf_unet *net, pirf_unet_work *w,
                   pirf_unet_tape *tape, pirf_unet_tape *tape2, pirf_pidm_buf *pb,
                   pirf_physics *ph, const float *params, const float *y, int B, long slot0,
                   long batch, uint32_t seed, uint32_t step, const pirf_unet_dropout *drop,
                   float *dparams, int pfirst, int pend, double *loss_diff, double *loss_res) {
  const int sample = pc->mode == PIRF_PIDM_SAMPLE;
  PIRF_CHECK(!dparams || (tape && (!sample || tape2)), "a PIDM gradient needs its tapes");
  pirf_edm_loss_buf *lb = &pb->edm;
  const pirf_decomp *dc = ph->dc;
  const size_t n = (size_t)lb->C * lb->tile; /* floats of one sample */
  /* L_diff and its cotangent dD (the EDM loss without its backward: the residual branch adds to
   * dD first, so that one backward through the first evaluation carries both terms) */
  double ld = 0;
  PIRF_TRY(pirf_edm_loss(net, w, dparams ? tape : NULL, lb, dc, params, y, B, slot0, batch, seed,
                         step, drop, NULL, pfirst, pend, &ld));
  *loss_diff = pc->loss_scaling * ld;
  for (size_t k = 0; k < (size_t)B * n; k++) lb->dD[k] = (float)(pc->loss_scaling * lb->dD[k]);

  /* x0: the posterior mean, or the denoiser at sigma_min after one Euler step from x to sigma_min */
  const float *x0 = lb->D;
  if (sample) {
    for (int b = 0; b < B; b++) {
      const double s = lb->sigma[b], f = (pc->sigma_min - s) / s;
      pb->sigma_min[b] = pc->sigma_min;
      for (size_t k = 0; k < n; k++) {
        const size_t i = (size_t)b * n + k;
        pb->xs[i] = (float)(lb->x[i] + f * ((double)lb->x[i] - lb->D[i]));
      }
    }
    pirf_unet_dropout d2 = {0};
    if (drop) d2 = *drop, d2.step = drop->step + 1; /* masks independent of the first call's */
    PIRF_TRY(pirf_edm_denoise(net, w, dparams ? tape2 : NULL, params, pb->xs, pb->sigma_min, B,
                              drop ? &d2 : NULL, pb->D2));
    x0 = pb->D2;
  }

  /* L_res per sample: the reward's mean over one sample's residual points times their count is
   * the sum over them; each sample has its own weight w(sigma_b) */
  const double points = (double)ph->pde->residual_channels * dc->H * dc->W;
  if (dparams) memset(pb->x0bar, 0, (size_t)B * n * sizeof *pb->x0bar);
  double lr = 0;
  for (int b = 0; b < B; b++) {
    const double c = pc->reward_loss_scaling * pirf_pidm_weight(pc->weighting, lb->sigma[b]) *
                     points / (double)batch;
    double mse;
    PIRF_TRY(pirf_reward_mse(ph, 1, x0 + (size_t)b * n, &mse, dparams ? pb->x0bar + (size_t)b * n
                                                                      : NULL, c));
    lr += c * mse;
  }
  /* every rank of a data group has the group's value: its share makes the world sum right */
  *loss_res = lr / dc->nspace;
  if (!dparams) return 0;

  if (sample) {
    /* through D(x'; sigma_min) into theta and x', then dx'/dD = (sigma - sigma_min) / sigma */
    memset(pb->dxs, 0, (size_t)B * n * sizeof *pb->dxs);
    PIRF_TRY(pirf_edm_denoise_backward(net, w, tape2, params, pb->x0bar, dparams, pfirst, pend,
                                       pb->dxs));
    for (int b = 0; b < B; b++) {
      const double s = lb->sigma[b], f = (s - pc->sigma_min) / s;
      for (size_t k = 0; k < n; k++) lb->dD[(size_t)b * n + k] += (float)(f * pb->dxs[(size_t)b * n + k]);
    }
  } else {
    for (size_t k = 0; k < (size_t)B * n; k++) lb->dD[k] += pb->x0bar[k];
  }
  return pirf_edm_denoise_backward(net, w, tape, params, lb->dD, dparams, pfirst, pend, NULL);
}
