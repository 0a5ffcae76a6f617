/* DPS / DiffusionPDE guidance and CoCoGen post-correction of the Heun sampler (see
 * pirf/guidance.h). The step arithmetic is the sampler's (pirf/sampler.h); only the taping, the
 * residual gradient and the two x-only vjps are added here. */
#include "pirf/guidance.h"

#include "pirf/check.h"
#include "pirf/pg_sample.h"
#include "pirf/prof.h"
#include "pirf/reward.h"

#include <string.h>

int pirf_method_parse(const char *name) {
  if (!strcmp(name, "heun")) return PIRF_METHOD_HEUN;
  if (!strcmp(name, "dps")) return PIRF_METHOD_DPS;
  if (!strcmp(name, "cocogen")) return PIRF_METHOD_COCOGEN;
  if (!strcmp(name, "pg-diffusion")) return PIRF_METHOD_PG_DIFFUSION;
  return -1;
}

const char *pirf_method_name(pirf_method m) {
  return m == PIRF_METHOD_DPS           ? "dps"
         : m == PIRF_METHOD_COCOGEN      ? "cocogen"
         : m == PIRF_METHOD_PG_DIFFUSION ? "pg-diffusion"
                                         : "heun";
}

static void euler(size_t n, const float *x, const float *D1, double s0, double s1, float *xe) {
  double h = s1 - s0;
  for (size_t k = 0; k < n; k++) xe[k] = (float)(x[k] + h * ((x[k] - D1[k]) / s0));
}

static void heun(size_t n, const float *x, const float *xe, const float *D1, const float *D2,
                 double s0, double s1, float *out) {
  double h = s1 - s0;
  for (size_t k = 0; k < n; k++) {
    double dd = (x[k] - D1[k]) / s0, dp = (xe[k] - D2[k]) / s1;
    out[k] = (float)(x[k] + h * 0.5 * (dd + dp));
  }
}

/* The guided objective ||R(x)|| and x's gradient, with Darcy's a continuous (the reference guides
 * with discretize_a = False: thresholding would make the a-channel gradient zero). */
int pirf_guided_residual_norm(pirf_physics *ph, int B, const float *x, double *L, float *xbar) {
  int keep = ph->discretize_a;
  ph->discretize_a = 0;
  int err = pirf_residual_norm(ph, B, x, L, xbar, 1.0);
  ph->discretize_a = keep;
  return err;
}

int pirf_guided_step(pirf_denoiser *d, pirf_physics *ph, int B, const double *sigma, int N, int i,
                     double zeta, const float *x_cur, float *x_next, float *grad, double *L,
                     float *scratch, pirf_guidance_cost *cost) {
  const size_t n = d->n;
  float *D1 = scratch, *xe = scratch + n, *D2 = scratch + 2 * n, *g = scratch + 3 * n;
  const double s0 = sigma[i], s1 = sigma[i + 1], h = s1 - s0;
  PIRF_TRY(d->eval_taped(d, 0, x_cur, s0, D1));
  cost->nfe++;
  euler(n, x_cur, D1, s0, s1, xe);
  const float *x_hat;
  if (i < N - 1) {
    PIRF_TRY(d->eval_taped(d, 1, xe, s1, D2));
    cost->nfe++;
    heun(n, x_cur, xe, D1, D2, s0, s1, x_next);
    x_hat = D2;
  } else {
    memcpy(x_next, xe, n * sizeof *xe);
    x_hat = D1;
  }
  memset(g, 0, n * sizeof *g);
  PIRF_TRY(pirf_guided_residual_norm(ph, B, x_hat, L, g));
  cost->residual_grads++;
  memset(grad, 0, n * sizeof *grad);
  if (i < N - 1) {
    /* x_hat = D(x_euler): back through the second call, then through x_euler = x + h (x - D1)/s0 */
    float *xebar = D2, *Dbar = D1; /* both consumed above */
    memset(xebar, 0, n * sizeof *xebar);
    PIRF_TRY(d->vjp(d, 1, g, xebar));
    for (size_t k = 0; k < n; k++) {
      grad[k] = (float)((1.0 + h / s0) * xebar[k]);
      Dbar[k] = (float)(-(h / s0) * xebar[k]);
    }
    PIRF_TRY(d->vjp(d, 0, Dbar, grad));
    cost->vjps += 2;
  } else {
    PIRF_TRY(d->vjp(d, 0, g, grad));
    cost->vjps++;
  }
  if (zeta != 0)
    for (size_t k = 0; k < n; k++) x_next[k] = (float)(x_next[k] - zeta * grad[k]);
  return 0;
}

int pirf_guided_sample(pirf_denoiser *d, pirf_physics *ph, int B, const double *sigma, int N,
                       const pirf_guidance *gd, float *x, float *scratch, pirf_guidance_cost *cost) {
  const size_t n = d->n;
  float *D1 = scratch, *xe = scratch + n, *D2 = scratch + 2 * n;
  float *x_next = scratch + 4 * n, *grad = scratch + 5 * n;
  if (gd->method == PIRF_METHOD_PG_DIFFUSION) return pirf_pg_sample(d, ph, B, sigma, N, x, scratch, cost);
  const int guide = pirf_method_guides(gd->method, gd->zeta);
  for (int i = 0; i < N; i++) {
    const double s0 = sigma[i], s1 = sigma[i + 1];
    if (guide && (double)i > gd->guided_fraction * N) {
      double L;
      pirf_prof_begin(PIRF_EV_SAMPLER_STEP_TAPE); /* a guided step: taped, then differentiated */
      PIRF_TRY(pirf_guided_step(d, ph, B, sigma, N, i, gd->zeta, x, x_next, grad, &L, scratch,
                                cost));
      memcpy(x, x_next, n * sizeof *x);
      pirf_prof_end(PIRF_EV_SAMPLER_STEP_TAPE, 0);
      continue;
    }
    pirf_prof_begin(PIRF_EV_SAMPLER_STEP);
    PIRF_TRY(d->eval(d, x, s0, D1));
    cost->nfe++;
    euler(n, x, D1, s0, s1, xe);
    if (i < N - 1) {
      PIRF_TRY(d->eval(d, xe, s1, D2));
      cost->nfe++;
      heun(n, x, xe, D1, D2, s0, s1, x);
    } else {
      memcpy(x, xe, n * sizeof *x);
    }
    pirf_prof_end(PIRF_EV_SAMPLER_STEP, 0);
  }
  if (gd->method == PIRF_METHOD_COCOGEN)
    for (int m = 0; m < gd->corrections; m++) {
      /* CoCoGen: plain gradient descent on ||R(x)|| of the final sample, no network involved */
      double L;
      memset(grad, 0, n * sizeof *grad);
      PIRF_TRY(pirf_guided_residual_norm(ph, B, x, &L, grad));
      cost->residual_grads++;
      for (size_t k = 0; k < n; k++) x[k] = (float)(x[k] - gd->correction_zeta * grad[k]);
    }
  return 0;
}
