/* The EDM denoiser behind the sampler's interface (see pirf/edm_denoiser.h). */
#include "pirf/edm_denoiser.h"

#include "pirf/check.h"

#include <string.h>

static void fill_sigma(pirf_edm_denoiser *d, double sigma) {
  for (int b = 0; b < d->B; b++) d->sigma[b] = sigma;
}

static int eval(pirf_denoiser *base, const float *x, double sigma, float *D) {
  pirf_edm_denoiser *d = (pirf_edm_denoiser *)base;
  fill_sigma(d, sigma);
  return pirf_edm_denoise_with(d->net, d->work, NULL, d->params, x, d->sigma, d->B, NULL,
                               base->physics_grad, NULL, D);
}

static int eval_taped(pirf_denoiser *base, int slot, const float *x, double sigma, float *D) {
  pirf_edm_denoiser *d = (pirf_edm_denoiser *)base;
  PIRF_CHECK(slot >= 0 && slot < PIRF_MAX_TAPES && d->tapes[slot],
             "no tape for differentiable network call %d (increase the tapes made for K)", slot);
  fill_sigma(d, sigma);
  pirf_unet_dropout drop = d->drop;
  /* independent masks per call: the step word folds the iteration and the call */
  drop.step = d->step_base * PIRF_MAX_TAPES + (uint32_t)slot;
  return pirf_edm_denoise_with(d->net, d->work, d->tapes[slot], d->params, x, d->sigma, d->B,
                               d->dropout ? &drop : NULL, base->physics_grad, NULL, D);
}

static int vjp(pirf_denoiser *base, int slot, const float *Dbar, float *xbar) {
  pirf_edm_denoiser *d = (pirf_edm_denoiser *)base;
  return pirf_edm_denoise_backward(d->net, d->work, d->tapes[slot], d->params, Dbar, d->grad,
                                   d->pfirst, d->pend, d->no_dx[slot] ? NULL : xbar);
}

void pirf_edm_denoiser_init(pirf_edm_denoiser *d, const pirf_unet *net, pirf_unet_work *work,
                            const float *params, int B, size_t n) {
  memset(d, 0, sizeof *d);
  d->base.ctx = d;
  d->base.n = n;
  d->base.eval = eval;
  d->base.eval_taped = eval_taped;
  d->base.vjp = vjp;
  d->net = net;
  d->work = work;
  d->params = params;
  d->B = B;
}
