/* The Karras schedule, the deterministic EDM Heun sampler, and reverse mode through its last steps
 * (see pirf/sampler.h).
 *
 * One step i, with h = sigma_{i+1} - sigma_i:
 *     d   = (x_i - D(x_i; sigma_i)) / sigma_i
 *     x'  = x_i + h d                                    (Euler)
 *     d'  = (x' - D(x'; sigma_{i+1})) / sigma_{i+1}      (i < N-1 only)
 *     x_{i+1} = x_i + h (d + d') / 2                     (x' on the last step)
 * Its adjoint, given xbar_{i+1}:
 *     xbar_i = xbar_{i+1};  dbar = dbar' = (h/2) xbar_{i+1}   (Euler: dbar = h xbar_{i+1})
 *     xbar'  = dbar'/sigma_{i+1} + J2^T(-dbar'/sigma_{i+1});  xbar_i += xbar';  dbar += h xbar'
 *     xbar_i += dbar/sigma_i + J1^T(-dbar/sigma_i)
 * where J1, J2 are the Jacobians of the two denoiser calls (their vjps also accumulate the
 * parameter gradients). The chain through x between steps is therefore exact. */
#include "pirf/sampler.h"

#include "pirf/check.h"
#include "pirf/prof.h"

#include <math.h>
#include <string.h>

void pirf_karras_sigmas(int N, double sigma_min, double sigma_max, double rho, double *sigma) {
  double a = pow(sigma_max, 1.0 / rho), b = pow(sigma_min, 1.0 / rho);
  for (int i = 0; i < N; i++)
    sigma[i] = N == 1 ? sigma_max : pow(a + (double)i / (N - 1) * (b - a), rho);
  sigma[N] = 0.0;
}

/* x_{i+1} from x_i for one step; D1, D2 are the two denoiser outputs (D2 unused on the last step).
 * Written so the taped and untaped samplers do the same float arithmetic. */
static void heun_euler_part(size_t n, const float *x, const float *D1, double s0, double s1,
                            float *xe) {
  double h = s1 - s0;
  for (size_t k = 0; k < n; k++) xe[k] = (float)(x[k] + h * ((x[k] - D1[k]) / s0));
}

static void heun_correct(size_t n, float *x, const float *xe, const float *D1, const float *D2,
                         double s0, double s1) {
  double h = s1 - s0;
  for (size_t k = 0; k < n; k++) {
    double d = (x[k] - D1[k]) / s0, dp = (xe[k] - D2[k]) / s1;
    x[k] = (float)(x[k] + h * 0.5 * (d + dp));
  }
}

int pirf_heun_steps(pirf_denoiser *d, const double *sigma, int N, int first, float *x,
                    float *scratch) {
  return pirf_heun_steps_range(d, sigma, N, first, N, x, scratch);
}

int pirf_heun_steps_range(pirf_denoiser *d, const double *sigma, int N, int first, int last,
                          float *x, float *scratch) {
  size_t n = d->n;
  float *D1 = scratch, *xe = scratch + n, *D2 = scratch + 2 * n;
  for (int i = first; i < last; i++) {
    pirf_prof_begin(PIRF_EV_SAMPLER_STEP);
    PIRF_TRY(d->eval(d, x, sigma[i], D1));
    heun_euler_part(n, x, D1, sigma[i], sigma[i + 1], xe);
    if (i < N - 1) {
      PIRF_TRY(d->eval(d, xe, sigma[i + 1], D2));
      heun_correct(n, x, xe, D1, D2, sigma[i], sigma[i + 1]);
    } else {
      memcpy(x, xe, n * sizeof *x);
    }
    pirf_prof_end(PIRF_EV_SAMPLER_STEP, 0);
  }
  return 0;
}

/* Saved per step: x_i, D1, x', D2 (4 tensors); the backward needs only these and the tapes. */
size_t pirf_chain_saved_floats(const pirf_denoiser *d, int K) { return (size_t)4 * K * d->n; }

int pirf_heun_steps_taped(pirf_denoiser *d, const double *sigma, int N, int first, float *x,
                          float *saved) {
  size_t n = d->n;
  int slot = 0;
  for (int i = first; i < N; i++) {
    float *xi = saved + (size_t)4 * (i - first) * n, *D1 = xi + n, *xe = xi + 2 * n, *D2 = xi + 3 * n;
    pirf_prof_begin(PIRF_EV_SAMPLER_STEP_TAPE);
    memcpy(xi, x, n * sizeof *x);
    PIRF_TRY(d->eval_taped(d, slot++, xi, sigma[i], D1));
    heun_euler_part(n, xi, D1, sigma[i], sigma[i + 1], xe);
    if (i < N - 1) {
      PIRF_TRY(d->eval_taped(d, slot++, xe, sigma[i + 1], D2));
      heun_correct(n, x, xe, D1, D2, sigma[i], sigma[i + 1]);
    } else {
      memcpy(x, xe, n * sizeof *x);
    }
    pirf_prof_end(PIRF_EV_SAMPLER_STEP_TAPE, 0);
  }
  return 0;
}

int pirf_heun_steps_backward(pirf_denoiser *d, const double *sigma, int N, int first, float *xbar,
                             const float *saved, float *scratch) {
  (void)saved; /* the tapes hold what the vjps need; x_i, D are kept for inspection and LV */
  size_t n = d->n;
  float *dbar = scratch, *Dbar = scratch + n, *xebar = scratch + 2 * n;
  /* slots were assigned in order; walk them backwards */
  int slot = 0;
  for (int i = first; i < N; i++) slot += i < N - 1 ? 2 : 1;
  for (int i = N - 1; i >= first; i--) {
    double s0 = sigma[i], s1 = sigma[i + 1], h = s1 - s0;
    pirf_prof_begin(PIRF_EV_SAMPLER_STEP_BWD);
    if (i < N - 1) {
      /* x_{i+1} = x_i + h/2 (d + d') */
      for (size_t k = 0; k < n; k++) {
        dbar[k] = (float)(0.5 * h * xbar[k]);
        xebar[k] = (float)(dbar[k] / s1); /* d' = (x' - D2)/s1 */
        Dbar[k] = (float)(-dbar[k] / s1);
      }
      PIRF_TRY(d->vjp(d, --slot, Dbar, xebar));
      for (size_t k = 0; k < n; k++) { /* x' = x_i + h d */
        xbar[k] += xebar[k];
        dbar[k] = (float)(dbar[k] + h * xebar[k]);
      }
    } else {
      /* x_N = x' = x_{N-1} + h d */
      for (size_t k = 0; k < n; k++) dbar[k] = (float)(h * xbar[k]);
    }
    /* d = (x_i - D1)/s0 */
    for (size_t k = 0; k < n; k++) {
      xbar[k] = (float)(xbar[k] + dbar[k] / s0);
      Dbar[k] = (float)(-dbar[k] / s0);
    }
    PIRF_TRY(d->vjp(d, --slot, Dbar, xbar));
    pirf_prof_end(PIRF_EV_SAMPLER_STEP_BWD, 0);
  }
  return 0;
}
