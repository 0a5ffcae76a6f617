/* PG-Diffusion's Euler sampler with the physics-gradient input (see pirf/pg_sample.h). */
#include "pirf/pg_sample.h"

#include "pirf/check.h"
#include "pirf/prof.h"

#include <string.h>

static int with_gradient(int i, int N) { return !((double)i < PIRF_PG_FRACTION * N); }

int pirf_pg_guided_steps(int N) {
  int k = 0;
  for (int i = 0; i < N; i++) k += with_gradient(i, N);
  return k;
}

int pirf_pg_sample(pirf_denoiser *d, pirf_physics *ph, int B, const double *sigma, int N, float *x,
                   float *scratch, pirf_guidance_cost *cost) {
  const size_t n = d->n;
  float *D = scratch, *dx = scratch + n;
  for (int i = 0; i < N; i++) {
    const double s0 = sigma[i], s1 = sigma[i + 1];
    pirf_prof_begin(PIRF_EV_SAMPLER_STEP);
    d->physics_grad = NULL;
    if (with_gradient(i, N)) {
      double L;
      memset(dx, 0, n * sizeof *dx);
      int err = pirf_guided_residual_norm(ph, B, x, &L, dx);
      if (err) pirf_prof_end(PIRF_EV_SAMPLER_STEP, 0);
      PIRF_TRY(err);
      cost->residual_grads++;
      d->physics_grad = dx;
    }
    int err = d->eval(d, x, s0, D);
    d->physics_grad = NULL;
    pirf_prof_end(PIRF_EV_SAMPLER_STEP, 0);
    PIRF_TRY(err);
    cost->nfe++;
    const double h = s1 - s0;
    for (size_t k = 0; k < n; k++) x[k] = (float)(x[k] + h * ((x[k] - D[k]) / s0));
  }
  return 0;
}
