/* Fidelity of generated samples to the data distribution, so that reward hacking shows beside the
 * residual: per-pixel mean and standard-deviation fields of the generated samples against those
 * of held-out data, per channel, in physical units, and (for PDEs with a two-valued coefficient,
 * Darcy's a in {3, 12}) how far the generated coefficient is from the nearest allowed value.
 *
 *   mean_error[c] = rms_pixels(mean_gen - mean_ref) / rms_pixels(std_ref)
 *   std_error[c]  = rms_pixels(std_gen - std_ref)   / rms_pixels(std_ref)
 *   level_offset  = mean over samples and pixels of min_l |a - level_l| / (level_max - level_min)
 *
 * and the standard errors of the first two over samples (the value each takes from the finite
 * sample counts alone, by propagation of the per-pixel standard errors of the means and standard
 * deviations of both sets, normal approximation):
 *   mean_error_se[c] = rms_pixels(sqrt(var_gen/n_gen + var_ref/n_ref)) / rms_pixels(std_ref)
 *   std_error_se[c]  = rms_pixels(sqrt(var_gen/(2(n_gen-1)) + var_ref/(2(n_ref-1)))) / rms(std_ref)
 *
 * Sums are streamed (one batch at a time) and reduced over data groups and tiles at the end, so
 * the result does not depend on the rank layout beyond reduction order. */
#ifndef PIRF_FIDELITY_H
#define PIRF_FIDELITY_H

#include "pirf/physics.h"

typedef struct {
  const pirf_physics *ph;
  double *sum[2], *sum2[2]; /* [C][ym][xm] per set: 0 generated, 1 reference */
  double count[2];
  double level_sum, level_count;
} pirf_fidelity;

typedef struct {
  int channels;
  double mean_error[PIRF_MAX_CHANNELS], std_error[PIRF_MAX_CHANNELS];
  double mean_error_se[PIRF_MAX_CHANNELS], std_error_se[PIRF_MAX_CHANNELS];
  double level_offset; /* < 0 when the PDE has no two-valued coefficient */
} pirf_fidelity_result;

int pirf_fidelity_init(pirf_fidelity *f, const pirf_physics *ph);
/* Add B normalized sample tiles to set 0 (generated) or 1 (reference). */
void pirf_fidelity_add(pirf_fidelity *f, int set, int B, const float *x);
/* Collective over the world communicator. */
int pirf_fidelity_finish(pirf_fidelity *f, pirf_fidelity_result *r);
void pirf_fidelity_free(pirf_fidelity *f);

#endif
