/* The Karras schedule and the Heun sampler, with the network replaced by denoisers whose answers
 * are known:
 *  karras_schedule_matches_the_spec: sigma values listed in docs/algorithm.md §2.3 for N = 20, 40, 80;
 *  heun_sampler_converges_at_second_order_for_gaussian_data: for data ~ N(mu, s^2) the exact
 *      denoiser is mu + s^2/(s^2+sigma^2)(x-mu) and the probability-flow ODE has the closed-form
 *      solution x(0) = mu + (x0 - mu) s / sqrt(s^2 + sigma_max^2); the error falls as N^-2;
 *  taped_and_untaped_samplers_agree_bit_for_bit;
 *  heun_chain_gradient_matches_finite_difference: for a small parametric denoiser
 *      D = c_skip x + c_out theta * tanh(c_in x + b), the reverse-mode chain through the last K
 *      steps (K = 1, 2 and all) gives dL/dtheta and dL/dx_first equal to central differences of
 *      the sampler itself, L = <w, x_N>. */
#include "pirf/sampler.h"
#include "pirf/rng.h"
#include "testing.h"

#include <stdlib.h>
#include <string.h>

/* ---- Gaussian data: exact denoiser -------------------------------------------------------- */
typedef struct { double mu, s; } gauss;
static int gauss_eval(pirf_denoiser *d, const float *x, double sigma, float *D) {
  gauss *g = d->ctx;
  double a = g->s * g->s / (g->s * g->s + sigma * sigma);
  for (size_t k = 0; k < d->n; k++) D[k] = (float)(g->mu + a * (x[k] - g->mu));
  return 0;
}

/* ---- a tiny parametric denoiser with tapes ------------------------------------------------ */
typedef struct {
  size_t n;
  double *theta, *b, *grad;   /* params, fixed offsets, gradient accumulator */
  float tape_x[8][64];        /* input recorded per slot */
  double tape_sigma[8];
} toy;

static void toy_coef(double sigma, double *cs, double *co, double *ci) {
  const double sd = 0.5;
  *cs = sd * sd / (sigma * sigma + sd * sd);
  *co = sigma * sd / sqrt(sigma * sigma + sd * sd);
  *ci = 1 / sqrt(sd * sd + sigma * sigma);
}
static int toy_eval(pirf_denoiser *d, const float *x, double sigma, float *D) {
  toy *t = d->ctx;
  double cs, co, ci;
  toy_coef(sigma, &cs, &co, &ci);
  for (size_t k = 0; k < t->n; k++) D[k] = (float)(cs * x[k] + co * t->theta[k] * tanh(ci * x[k] + t->b[k]));
  return 0;
}
static int toy_eval_taped(pirf_denoiser *d, int slot, const float *x, double sigma, float *D) {
  toy *t = d->ctx;
  memcpy(t->tape_x[slot], x, t->n * sizeof *x);
  t->tape_sigma[slot] = sigma;
  return toy_eval(d, x, sigma, D);
}
static int toy_vjp(pirf_denoiser *d, int slot, const float *Dbar, float *xbar) {
  toy *t = d->ctx;
  double cs, co, ci;
  toy_coef(t->tape_sigma[slot], &cs, &co, &ci);
  for (size_t k = 0; k < t->n; k++) {
    double x = t->tape_x[slot][k], th = tanh(ci * x + t->b[k]);
    xbar[k] += (float)(Dbar[k] * (cs + co * t->theta[k] * (1 - th * th) * ci));
    t->grad[k] += Dbar[k] * co * th;
  }
  return 0;
}

static double sample_loss(pirf_denoiser *d, const double *sigma, int N, const float *x0,
                          const float *w, float *scratch) {
  float x[64];
  memcpy(x, x0, d->n * sizeof *x);
  pirf_heun_steps(d, sigma, N, 0, x, scratch);
  double L = 0;
  for (size_t k = 0; k < d->n; k++) L += (double)w[k] * x[k];
  return L;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  /* schedule */
  double sg[PIRF_MAX_STEPS + 1];
  pirf_karras_sigmas(20, 0.002, 80, 7, sg);
  TEST_CLOSE(sg[0], 80, 1e-12, 0, "sigma_0");
  TEST_CLOSE(sg[1], 59.66, 2e-4, 0, "N=20 sigma_1");
  TEST_CLOSE(sg[2], 43.92, 2e-4, 0, "N=20 sigma_2");
  TEST_CLOSE(sg[16], 0.04488, 2e-4, 0, "N=20 sigma_16");
  TEST_CLOSE(sg[17], 0.0184, 2e-3, 0, "N=20 sigma_17");
  TEST_CLOSE(sg[18], 0.006622, 2e-4, 0, "N=20 sigma_18");
  TEST_CLOSE(sg[19], 0.002, 1e-12, 0, "sigma_min");
  TEST_CHECK(sg[20] == 0, "sigma_N = 0");
  pirf_karras_sigmas(40, 0.002, 80, 7, sg);
  TEST_CLOSE(sg[36], 0.01081, 2e-3, 0, "N=40 sigma_36");
  TEST_CLOSE(sg[38], 0.003677, 2e-3, 0, "N=40 sigma_38");
  pirf_karras_sigmas(80, 0.002, 80, 7, sg);
  TEST_CLOSE(sg[77], 0.00365, 2e-3, 0, "N=80 sigma_77");
  TEST_CLOSE(sg[78], 0.002719, 2e-3, 0, "N=80 sigma_78");

  /* Heun on Gaussian data: second-order convergence to the closed form */
  gauss g = {0.3, 0.7};
  pirf_denoiser gd = {&g, 16, gauss_eval, NULL, NULL};
  float x0[64], x[64], scratch[4 * 64];
  double err[3];
  int Ns[3] = {8, 16, 32};
  for (size_t k = 0; k < gd.n; k++) x0[k] = (float)(80 * pirf_rng_normal(3, PIRF_STREAM_TEST, 0, 0, 0, (uint32_t)k));
  for (int t = 0; t < 3; t++) {
    pirf_karras_sigmas(Ns[t], 0.002, 80, 7, sg);
    memcpy(x, x0, sizeof x);
    pirf_heun_steps(&gd, sg, Ns[t], 0, x, scratch);
    err[t] = 0;
    for (size_t k = 0; k < gd.n; k++) {
      double exact = g.mu + (x0[k] - g.mu) * g.s / sqrt(g.s * g.s + 80.0 * 80.0);
      err[t] = fmax(err[t], fabs(x[k] - exact));
    }
  }
  double p1 = log2(err[0] / err[1]), p2 = log2(err[1] / err[2]);
  printf("Heun errors N=8,16,32: %.3e %.3e %.3e, orders %.2f %.2f\n", err[0], err[1], err[2], p1, p2);
  TEST_CHECK(p1 > 1.7 && p2 > 1.7, "heun_sampler_converges_at_second_order: orders %.2f %.2f", p1, p2);

  /* Reverse-mode chain vs finite differences of the sampler */
  enum { n = 12 };
  double theta[n], b[n], grad[n];
  toy t = {n, theta, b, grad, {{0}}, {0}};
  pirf_denoiser td = {&t, n, toy_eval, toy_eval_taped, toy_vjp};
  float w[n], xs[n], xf[n], saved[4 * 4 * n], xbar[n], scr[4 * n];
  for (int k = 0; k < n; k++) {
    theta[k] = pirf_rng_normal(5, PIRF_STREAM_TEST, 0, 0, 0, (uint32_t)k);
    b[k] = 0.3 * pirf_rng_normal(5, PIRF_STREAM_TEST, 1, 0, 0, (uint32_t)k);
    w[k] = (float)pirf_rng_normal(5, PIRF_STREAM_TEST, 2, 0, 0, (uint32_t)k);
    xs[k] = (float)(3 * pirf_rng_normal(5, PIRF_STREAM_TEST, 3, 0, 0, (uint32_t)k));
  }
  const int N = 4;
  pirf_karras_sigmas(N, 0.2, 3, 7, sg); /* large sigmas: the parameters matter at every step */
  int Ks[3] = {1, 2, N};
  for (int kk = 0; kk < 3; kk++) {
    int K = Ks[kk], first = N - K;
    /* untaped to step `first`, taped from there */
    float xa[n], xb[n];
    memcpy(xa, xs, sizeof xa);
    pirf_heun_steps(&td, sg, first, 0, xa, scr); /* steps 0..first-1 (first = number of steps done) */
    memcpy(xf, xa, sizeof xf);
    memcpy(xb, xa, sizeof xb);
    pirf_heun_steps(&td, sg, N, first, xb, scr);
    pirf_heun_steps_taped(&td, sg, N, first, xa, saved);
    TEST_CHECK(!memcmp(xa, xb, sizeof xa), "taped_and_untaped_samplers_agree_bit_for_bit (K=%d)", K);
    memset(grad, 0, sizeof grad);
    memcpy(xbar, w, sizeof xbar);
    pirf_heun_steps_backward(&td, sg, N, first, xbar, saved, scr);
    /* FD in theta and in x_first, of L = <w, x_N> starting from x_first */
    double worst_t = 0, worst_x = 0, scale = 0, scale_x = 0;
    for (int k = 0; k < n; k++) {
      const double e = 1e-2;
      double keep = theta[k];
      theta[k] = keep + e;
      float y[n];
      memcpy(y, xf, sizeof y);
      pirf_heun_steps(&td, sg, N, first, y, scr);
      double Lp = 0, Lm = 0;
      for (int j = 0; j < n; j++) Lp += (double)w[j] * y[j];
      theta[k] = keep - e;
      memcpy(y, xf, sizeof y);
      pirf_heun_steps(&td, sg, N, first, y, scr);
      for (int j = 0; j < n; j++) Lm += (double)w[j] * y[j];
      theta[k] = keep;
      double fd = (Lp - Lm) / (2 * e);
      worst_t = fmax(worst_t, fabs(fd - grad[k]));
      scale = fmax(scale, fabs(fd));
      /* x_first */
      memcpy(y, xf, sizeof y);
      y[k] += 0.01f;
      double xp = 0, xm = 0;
      pirf_heun_steps(&td, sg, N, first, y, scr);
      for (int j = 0; j < n; j++) xp += (double)w[j] * y[j];
      memcpy(y, xf, sizeof y);
      y[k] -= 0.01f;
      pirf_heun_steps(&td, sg, N, first, y, scr);
      for (int j = 0; j < n; j++) xm += (double)w[j] * y[j];
      worst_x = fmax(worst_x, fabs((xp - xm) / 0.02 - xbar[k]));
      scale_x = fmax(scale_x, fabs(xbar[k]));
    }
    printf("K=%d: max |dL/dtheta - FD| = %.2e (scale %.2e), max |dL/dx - FD| = %.2e (scale %.2e)\n",
           K, worst_t, scale, worst_x, scale_x);
    TEST_CHECK(worst_t < 2e-3 * scale, "heun_chain_gradient_matches_finite_difference theta K=%d", K);
    TEST_CHECK(worst_x < 2e-3 * scale_x, "heun_chain_gradient_matches_finite_difference x K=%d", K);
  }
  (void)sample_loss;
  int rc = test_finish("sampler");
  MPI_Finalize();
  return rc;
}
