/* The EDM-preconditioned SongUNet as the sampler's pirf_denoiser: evaluations with and without
 * tapes, and the vector-Jacobian product of a taped evaluation into the trainable parameters'
 * gradient range (layer-wise truncation) and into x.
 *
 * One object serves a batch of B samples on this rank's tiles. Tapes are owned by the caller (one
 * per differentiable network call of a DRaFT-K chain: 2K-1); slot s uses tapes[s]. A slot whose tape
 * was made with pirf_unet_tape_create_from (truncated to the trainable level) gives no dx: set
 * no_dx[s] so its vjp stops at the trainable level (K = 1 with layer-wise truncation). */
#ifndef PIRF_EDM_DENOISER_H
#define PIRF_EDM_DENOISER_H

#include "pirf/precond.h"
#include "pirf/sampler.h"

#define PIRF_MAX_TAPES 64

typedef struct {
  pirf_denoiser base;        /* first member: a pirf_edm_denoiser * is a pirf_denoiser * */
  const pirf_unet *net;
  pirf_unet_work *work;
  const float *params;       /* the weights evaluated */
  int B;
  double sigma[64];          /* per-sample sigma buffer (B <= 64) */
  /* differentiable calls */
  pirf_unet_tape *tapes[PIRF_MAX_TAPES];
  int no_dx[PIRF_MAX_TAPES];
  float *grad;               /* gradient arena (per-rank partial sums accumulate here) */
  int pfirst, pend;          /* trainable table range */
  int dropout;               /* taped calls run in train mode (dropout on) */
  pirf_unet_dropout drop;    /* seed, sample0; step is set per call (step_base * 64 + slot) */
  uint32_t step_base;        /* e.g. the fine-tuning iteration */
} pirf_edm_denoiser;

/* n = B * channels * ym * xm of this rank. */
void pirf_edm_denoiser_init(pirf_edm_denoiser *d, const pirf_unet *net, pirf_unet_work *work,
                            const float *params, int B, size_t n);

#endif
