/* Counter-based random numbers (Random123 Philox4x32-10).
 *
 * Every random number in pirf is a pure function of (seed, stream, step, global sample index,
 * channel, global pixel index): the key is (seed, stream), the counter (pixel, channel, sample,
 * step). Nothing depends on which rank draws it or in which order, so the same deck gives the same
 * noise, data and samples at any rank layout. A "stream" names the purpose, so that two uses never
 * share numbers. */
#ifndef PIRF_RNG_H
#define PIRF_RNG_H

#include <stdint.h>

typedef enum {
  PIRF_STREAM_GRF = 1,           /* generator: Gaussian random field coefficients */
  PIRF_STREAM_GENERATE_AUX = 2,  /* generator: any other draw (initial conditions, ...) */
  PIRF_STREAM_SIGMA = 10,        /* pretraining: ln(sigma) per sample */
  PIRF_STREAM_NOISE = 11,        /* pretraining: noise n ~ N(0, sigma^2) */
  PIRF_STREAM_DROPOUT = 12,      /* dropout masks */
  PIRF_STREAM_INIT = 13,         /* network weight initialization (step = parameter tensor index) */
  PIRF_STREAM_AUGMENT = 14,      /* pretraining: EDM's augmentation draws (channel = draw index) */
  PIRF_STREAM_LATENT = 20,       /* sampler / fine-tuning initial latents x_0 ~ N(0, sigma_max^2) */
  PIRF_STREAM_SCHEDULE = 21,     /* per-iteration choices (ReFT step, random N) */
  PIRF_STREAM_LV = 22,           /* DRaFT-LV re-noising */
  PIRF_STREAM_PG_COND = 23,      /* PG-Diffusion training: the per-step conditioning coin */
  PIRF_STREAM_SLICE = 30,        /* evaluation: the sliced Wasserstein directions and bootstrap */
  PIRF_STREAM_TEST = 99
} pirf_stream;

/* The four 32-bit words of one Philox block. */
void pirf_rng_block(uint32_t seed, uint32_t stream, uint32_t step, uint32_t sample,
                    uint32_t channel, uint32_t pixel, uint32_t out[4]);
/* Uniform double in (0, 1) with 53 random bits (never exactly 0 or 1). */
double pirf_rng_uniform(uint32_t seed, uint32_t stream, uint32_t step, uint32_t sample,
                        uint32_t channel, uint32_t pixel);
/* Standard normal (Box-Muller on the block's two 64-bit uniforms; the sine half is discarded so
 * each normal depends on its own counter alone). */
double pirf_rng_normal(uint32_t seed, uint32_t stream, uint32_t step, uint32_t sample,
                       uint32_t channel, uint32_t pixel);

#endif
