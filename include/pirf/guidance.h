/* Residual guidance of the Heun sampler: DiffusionPDE/DPS-style guidance (docs/algorithm.md §7.2) and
 * CoCoGen's post-correction (§7.3), on top of the plain sampler of pirf/sampler.h.
 *
 * A guided step i (i > guided_fraction * N) runs the Heun step with both network calls taped, takes
 * x_hat = the step's LAST denoiser output (D(x_euler; sigma_{i+1}) for i < N-1, D(x_cur; sigma_i)
 * on the last step), L = ||R_guided(x_hat)||_2 over the whole batch, and subtracts
 * zeta * dL/dx_cur from x_next. The gradient goes back through both network calls of the step:
 *
 *     g      = dL/dx_hat                                     (the residual's adjoint)
 *     i < N-1: xebar = J2^T g,  dL/dx_cur = (1 + h/s0) xebar - (h/s0) J1^T xebar
 *     i = N-1: dL/dx_cur = J1^T g
 *
 * with h = sigma_{i+1} - sigma_i, s0 = sigma_i and J1, J2 the Jacobians of the two calls (x-only
 * vjps: the denoiser must have grad = NULL, pfirst = pend, tapes in slots 0 and 1).
 *
 * R_guided is the PDE's residual with Darcy's coefficient kept continuous (ph->discretize_a = 0
 * while guiding, restored afterwards) as the reference's guidance does. */
#ifndef PIRF_GUIDANCE_H
#define PIRF_GUIDANCE_H

#include "pirf/physics.h"
#include "pirf/sampler.h"

/* PG_DIFFUSION is not guidance but a network input (pirf/pg_sample.h); it shares the method
 * switch so that `pirf sample` and `pirf evaluate` treat it like the others. */
typedef enum {
  PIRF_METHOD_HEUN,
  PIRF_METHOD_DPS,
  PIRF_METHOD_COCOGEN,
  PIRF_METHOD_PG_DIFFUSION
} pirf_method;

typedef struct {
  pirf_method method;
  double zeta;            /* in-loop guidance step (dps, cocogen) */
  double guided_fraction; /* guide steps i > guided_fraction * N */
  int corrections;        /* cocogen: post-correction steps M */
  double correction_zeta; /* cocogen: their step */
} pirf_guidance;

/* What one batch cost: network evaluations and network vjps (a vjp costs about 2 evaluations). */
typedef struct {
  long nfe, vjps, residual_grads;
} pirf_guidance_cost;

/* Parse "heun" | "dps" | "cocogen" | "pg-diffusion"; -1 when unknown. */
int pirf_method_parse(const char *name);
const char *pirf_method_name(pirf_method m);

/* Whether method m runs guided steps (taped network calls and vjps): dps and cocogen with zeta != 0. */
static inline int pirf_method_guides(pirf_method m, double zeta) {
  return (m == PIRF_METHOD_DPS || m == PIRF_METHOD_COCOGEN) && zeta != 0;
}

/* ||R_guided(x)||_2 over the batch and xbar += its gradient: the residual with Darcy's coefficient
 * continuous (ph->discretize_a = 0 while it runs), the objective of guidance and of PG-Diffusion's
 * sampling-time dx. */
int pirf_guided_residual_norm(pirf_physics *ph, int B, const float *x, double *L, float *xbar);

/* Scratch floats pirf_guided_sample needs: 6 tensors. */
static inline size_t pirf_guided_scratch_floats(const pirf_denoiser *d) { return 6 * d->n; }

/* One guided Heun step i from x_cur (not modified): x_next (the plain Heun step, minus zeta times
 * the gradient when zeta != 0), L = ||R_guided(x_hat)|| and grad = dL/dx_cur. B: the samples of
 * the batch on this rank (the tensors are [B][C][ym][xm]). scratch: 4 tensors. */
int pirf_guided_step(pirf_denoiser *d, pirf_physics *ph, int B, const double *sigma, int N, int i,
                     double zeta, const float *x_cur, float *x_next, float *grad, double *L,
                     float *scratch, pirf_guidance_cost *cost);

/* The whole sampler with guidance g: x holds x_0 on entry and the sample on return. Adds the
 * batch's cost to *cost. g->method = PIRF_METHOD_PG_DIFFUSION runs pirf_pg_sample instead. */
int pirf_guided_sample(pirf_denoiser *d, pirf_physics *ph, int B, const double *sigma, int N,
                       const pirf_guidance *g, float *x, float *scratch, pirf_guidance_cost *cost);

#endif
