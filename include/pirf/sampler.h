/* EDM sampling: the Karras noise schedule, the deterministic Heun sampler (EDM Algorithm 2 with
 * S_churn = 0, plain Euler on the last step; docs/algorithm.md §2.3) and the reverse-mode chain through
 * its last K steps that PIRF (DRaFT-K) backpropagates the reward through (§2.4).
 *
 * The sampler sees the network only through pirf_denoiser, so it does not know about tiles, PDEs
 * or layers: x is whatever the denoiser's tensors are (this rank's tiles of a batch, n floats). */
#ifndef PIRF_SAMPLER_H
#define PIRF_SAMPLER_H

#include <stddef.h>

#define PIRF_MAX_STEPS 4096

/* sigma[0..N-1] Karras, sigma[N] = 0 (so sigma has N+1 entries). */
void pirf_karras_sigmas(int N, double sigma_min, double sigma_max, double rho, double *sigma);

typedef struct pirf_denoiser pirf_denoiser;
struct pirf_denoiser {
  void *ctx;
  size_t n; /* floats in one batch tensor on this rank */
  /* D = D_theta(x; sigma) without recording anything (dropout off). */
  int (*eval)(pirf_denoiser *d, const float *x, double sigma, float *D);
  /* The same, recording tape `slot` for a later vjp (dropout as the caller configured). */
  int (*eval_taped)(pirf_denoiser *d, int slot, const float *x, double sigma, float *D);
  /* xbar += (dD/dx)^T Dbar and the trainable parameters' gradients += (dD/dtheta)^T Dbar, for the
   * evaluation recorded in `slot`. */
  int (*vjp)(pirf_denoiser *d, int slot, const float *Dbar, float *xbar);
  /* PG-Diffusion: the physics-gradient input (n floats, like x) of the following evaluations, or
   * NULL for none (pirf_edm_denoise_with); NULL for every other network. */
  const float *physics_grad;
};

/* Network evaluations of an N-step Heun sampler: 2N - 1. */
static inline int pirf_heun_nfe(int N) { return 2 * N - 1; }

/* Scratch floats the sampler needs: 4 tensors. */
static inline size_t pirf_heun_scratch_floats(const pirf_denoiser *d) { return 4 * d->n; }

/* Steps first..N-1 of the Heun sampler without gradient: x holds x_first on entry (x_0 = latent *
 * sigma[0] when first = 0) and x_N on return. */
int pirf_heun_steps(pirf_denoiser *d, const double *sigma, int N, int first, float *x,
                    float *scratch);
/* Steps first..last-1 of the N-step sampler only (the no-gradient prefix of a DRaFT-K chain:
 * last = N - K); pirf_heun_steps is last = N. On return the first tensor of scratch holds
 * D(x_{last-1}; sigma_{last-1}), the denoised estimate of the last step taken (its first network
 * evaluation): pirf value-error reads it after one-step calls, for the DPS value estimate. */
int pirf_heun_steps_range(pirf_denoiser *d, const double *sigma, int N, int first, int last,
                          float *x, float *scratch);

/* Steps first..N-1 with every evaluation taped (slots 0, 1, ... in order: step i uses slots for
 * its Euler evaluation and, except on the last step, its Heun correction), keeping what the
 * backward chain needs in `saved` (pirf_chain_saved_floats). x: x_first in, x_N out. */
size_t pirf_chain_saved_floats(const pirf_denoiser *d, int K);
int pirf_heun_steps_taped(pirf_denoiser *d, const double *sigma, int N, int first, float *x,
                          float *saved);
/* Reverse mode through those steps: given xbar = dL/dx_N, accumulate the parameter gradients (via
 * the denoiser's vjp) and leave dL/dx_first in xbar. scratch: 3 tensors. */
int pirf_heun_steps_backward(pirf_denoiser *d, const double *sigma, int N, int first, float *xbar,
                             const float *saved, float *scratch);

#endif
