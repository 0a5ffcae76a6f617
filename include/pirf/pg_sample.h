/* PG-Diffusion's sampler (docs/algorithm.md §7.5; the reference's generate_with_pgdiffusion): the
 * Karras schedule with plain Euler steps (no Heun correction, so N network evaluations), where
 * the network of model.physics_gradient gets the residual gradient as an extra input
 *
 *   step i < 0.3 N:   D = D(x_i; sigma_i)                                  (no dx: the branch sees 0)
 *   step i >= 0.3 N:  dx = d||R_guided(x_i)||_2 / dx_i,  D = D(x_i; sigma_i | dx)
 *   x_{i+1} = x_i + (sigma_{i+1} - sigma_i) (x_i - D) / sigma_i
 *
 * with cfg_scale = 1 (the reference's only value). The norm is over the whole batch, as in the
 * reference (so keep batches whole: pirf/sampling.h does), with Darcy's coefficient continuous
 * (pirf_guided_residual_norm). No network gradient is needed: no tapes, no vjps. */
#ifndef PIRF_PG_SAMPLE_H
#define PIRF_PG_SAMPLE_H

#include "pirf/guidance.h"

/* The first step that gets dx: the reference's `i < 0.3 * num_steps` runs without it. */
#define PIRF_PG_FRACTION 0.3

/* Scratch floats pirf_pg_sample needs: 2 tensors (D and dx). */
static inline size_t pirf_pg_scratch_floats(const pirf_denoiser *d) { return 2 * d->n; }

/* Steps the physics gradient is fed to, of N. */
int pirf_pg_guided_steps(int N);

/* The whole sampler: x holds x_0 on entry and the sample on return; adds the batch's cost (N
 * evaluations, one residual gradient per step from 0.3 N on) to *cost. */
int pirf_pg_sample(pirf_denoiser *d, pirf_physics *ph, int B, const double *sigma, int N, float *x,
                   float *scratch, pirf_guidance_cost *cost);

#endif
