/* Learning-rate ramp and EMA of the weights, as EDM's training loop computes them
 * (docs/algorithm.md §2.8; contracts in pirf/optim.h). */
#include "pirf/optim.h"

#include "pirf/prof.h"

#include <math.h>

double pirf_lr_at(double lr, double rampup_kimg, double n_img) {
  if (rampup_kimg <= 0) return lr;
  double ramp = n_img / (rampup_kimg * 1000.0);
  return lr * (ramp < 1.0 ? ramp : 1.0);
}

double pirf_ema_beta(double n_img, double batch, double halflife_kimg, double rampup_ratio) {
  double halflife = halflife_kimg * 1000.0;
  if (rampup_ratio > 0 && rampup_ratio * n_img < halflife) halflife = rampup_ratio * n_img;
  /* The 1e-8 floor makes beta = 0.5^(huge) = 0 at n_img = 0: the EMA starts as the net. */
  return pow(0.5, batch / fmax(halflife, 1e-8));
}

void pirf_ema_update(float *ema, const float *net, size_t n, double beta) {
  pirf_prof_begin(PIRF_EV_EMA);
  const float b = (float)beta, c = (float)(1.0 - beta);
  for (size_t i = 0; i < n; i++) ema[i] = b * ema[i] + c * net[i];
  pirf_prof_end(PIRF_EV_EMA, 3.0 * (double)n);
}
