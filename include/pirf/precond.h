/* EDM preconditioning (docs/algorithm.md §2.2; EDM EDMPrecond): the denoiser D around the SongUNet F,
 *
 *   c_skip  = sigma_data^2 / (sigma^2 + sigma_data^2)
 *   c_out   = sigma * sigma_data / sqrt(sigma^2 + sigma_data^2)
 *   c_in    = 1 / sqrt(sigma_data^2 + sigma^2)
 *   c_noise = ln(sigma) / 4
 *   D(x; sigma) = c_skip x + c_out F(c_in x; c_noise),        sigma_data = 0.5,
 *
 * one sigma per sample. The backward is with respect to x and the parameters; sigma is a fixed
 * input (the sampler's schedule), so c_noise and the embedding carry no gradient.
 *
 * x, D, dD, dx are [B][C][ym][xm] at full resolution (this rank's tile). Collective over
 * dc->space like pirf_unet_forward. No allocation: the scaled input, F and their cotangents live
 * in the work; sigma is recorded in the tape. */
#ifndef PIRF_PRECOND_H
#define PIRF_PRECOND_H

#include "pirf/unet_eval.h"

#define PIRF_SIGMA_DATA 0.5

typedef struct {
  double c_skip, c_out, c_in, c_noise;
} pirf_edm_coeffs;

pirf_edm_coeffs pirf_edm_coefficients(double sigma, double sigma_data);

/* D = c_skip x + c_out F(c_in x; c_noise) for sigma[B] > 0; tape and drop as pirf_unet_forward. */
int pirf_edm_denoise(const pirf_unet *net, pirf_unet_work *w, pirf_unet_tape *tape,
                     const float *params, const float *x, const double *sigma, int B,
                     const pirf_unet_dropout *drop, float *D);

/* The same with the network's optional extra inputs:
 *   grad  PG-Diffusion's physics-gradient branch (model.physics_gradient):
 *         D = c_skip x + c_out F([c_in x, branch(grad)]; c_noise), grad [B][C][ym][xm] the residual
 *         gradient, or NULL for none, which the branch sees as zeros (SongUNetPG). grad is NOT
 *         scaled by c_in: EDMPrecond passes dx to the SongUNet as it is. A grad for a network
 *         without the branch is an error.
 *   aug   EDM's augmentation labels [B][augment_dim] (pretraining with pretrain.augment), or NULL:
 *         F's noise embedding gets map_augment(aug) (pirf_unet_forward).
 * With grad = aug = NULL this is pirf_edm_denoise. */
int pirf_edm_denoise_with(const pirf_unet *net, pirf_unet_work *w, pirf_unet_tape *tape,
                          const float *params, const float *x, const double *sigma, int B,
                          const pirf_unet_dropout *drop, const float *grad, const float *aug,
                          float *D);

/* The backward of the taped pirf_edm_denoise(_with) for the cotangent dD: dx += dL/dx (may be NULL)
 * and dparams[pfirst, pend) += this rank's partial dL/dparams, as pirf_unet_backward, the
 * physics-gradient branch's included when the range covers it (it needs a full tape). There is no
 * gradient with respect to the branch's input grad: training detaches it (the reference). */
int pirf_edm_denoise_backward(const pirf_unet *net, pirf_unet_work *w, const pirf_unet_tape *tape,
                              const float *params, const float *dD, float *dparams, int pfirst,
                              int pend, float *dx);

#endif
