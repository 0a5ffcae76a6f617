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
 * A distribution-level measure beside these per-pixel ones: the sliced Wasserstein-2 distance
 * between the generated and the held-out fields, each channel divided by the data's rms standard
 * deviation (s_c = rms_pixels(std_ref[c])):
 *   sliced_w2 = sqrt(mean_j W2^2(<x / s, theta_j>_gen, <x / s, theta_j>_ref))
 * over nproj fixed random directions theta_j (unit norm over channels and pixels, Philox normals
 * of stream PIRF_STREAM_SLICE at the global pixel: the same at every layout and for every record of
 * an evaluation), W2 the exact 1-D Wasserstein-2 distance between the two empirical distributions
 * of projections. It is 0 for identical sets and sees what the per-pixel moments miss (the joint
 * structure across pixels: how values co-vary within one field). sliced_w2_se is its bootstrap
 * standard error (64 resamples of both sets, the samples taken in a canonical order).
 *
 * Sums and projections are streamed (one batch at a time) and reduced over data groups and tiles
 * at the end, so the result does not depend on the rank layout beyond reduction order. */
#ifndef PIRF_FIDELITY_H
#define PIRF_FIDELITY_H

#include "pirf/physics.h"

typedef struct {
  const pirf_physics *ph;
  double *sum[2], *sum2[2]; /* [C][ym][xm] per set: 0 generated, 1 reference */
  double count[2];
  double level_sum, level_count;
  int nproj;              /* directions of the sliced distance (0: not computed) */
  float *dir;             /* [nproj][C][ym][xm]: this rank's tile of the unit directions */
  double *proj[2];        /* [count][nproj][C] per set: this tile's part of each projection */
  long proj_cap[2];
} pirf_fidelity;

typedef struct {
  int channels;
  double mean_error[PIRF_MAX_CHANNELS], std_error[PIRF_MAX_CHANNELS];
  double mean_error_se[PIRF_MAX_CHANNELS], std_error_se[PIRF_MAX_CHANNELS];
  double level_offset; /* < 0 when the PDE has no two-valued coefficient */
  double sliced_w2, sliced_w2_se; /* < 0 when nproj = 0 */
  int nproj;
} pirf_fidelity_result;

/* nproj: directions of the sliced Wasserstein distance (0: none). Collective over the world. */
int pirf_fidelity_init(pirf_fidelity *f, const pirf_physics *ph, int nproj);
/* Copy the reference set (set 1: sums and projections) of src into dst (made with the same
 * physics and nproj), so one held-out set serves every record. */
int pirf_fidelity_copy_reference(pirf_fidelity *dst, const pirf_fidelity *src);
/* Add B normalized sample tiles to set 0 (generated) or 1 (reference). Local (no communication). */
int pirf_fidelity_add(pirf_fidelity *f, int set, int B, const float *x);
/* Collective over the world communicator. */
int pirf_fidelity_finish(pirf_fidelity *f, pirf_fidelity_result *r);
void pirf_fidelity_free(pirf_fidelity *f);

#endif
