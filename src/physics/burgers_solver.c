/* ETDRK4 pseudo-spectral integrator for the periodic 1-D viscous Burgers equation
 * (see pirf/burgers.h for the equation, the scheme and the contract).
 *
 * Mode k of the state evolves as  v_k' = L_k v_k + N_k(v),  L_k = -nu (2 pi k)^2,
 * N_k(v) = -(i 2 pi k / 2) FFT(u^2)_k for |k| <= kmax and 0 above (2/3-rule de-aliasing).
 * FFTW's r2c/c2r pair is unnormalized (c2r(r2c(u)) = M u), so the state v holds r2c(u) and the
 * physical field is c2r(v) / M. */
#include "pirf/burgers.h"

#include "pirf/check.h"

#include <math.h>
#include <string.h>

/* Number of contour points for the phi-function means: 64 points on the unit circle around z
 * give the weights to ~1e-15 for the real, non-positive z = L h met here (Kassam-Trefethen use 32). */
enum { CONTOUR_POINTS = 64 };

/* ETDRK4 weights of one mode, z = L h: E = e^z, E2 = e^{z/2} and (divided by h)
 * Q = (e^{z/2}-1)/z, f1 = (-4-z+e^z(4-3z+z^2))/z^3, f2 = (2+z+e^z(z-2))/z^3,
 * f3 = (-4-3z-z^2+e^z(4-z))/z^3, each as the mean over a circle of radius 1 around z, which
 * avoids the cancellation of the closed forms when |z| is small. */
static void etdrk4_weights(double z, double h, double *E, double *E2, double *Q, double *f1,
                           double *f2, double *f3) {
  double complex q = 0, g1 = 0, g2 = 0, g3 = 0;
  for (int j = 0; j < CONTOUR_POINTS; j++) {
    double complex r = z + cexp(I * M_PI * (j + 0.5) / CONTOUR_POINTS);
    double complex er = cexp(r), r3 = r * r * r;
    q += (cexp(r / 2) - 1) / r;
    g1 += (-4 - r + er * (4 - 3 * r + r * r)) / r3;
    g2 += (2 + r + er * (r - 2)) / r3;
    g3 += (-4 - 3 * r - r * r + er * (4 - r)) / r3;
  }
  *E = exp(z);
  *E2 = exp(z / 2);
  *Q = h * creal(q) / CONTOUR_POINTS;
  *f1 = h * creal(g1) / CONTOUR_POINTS;
  *f2 = h * creal(g2) / CONTOUR_POINTS;
  *f3 = h * creal(g3) / CONTOUR_POINTS;
}

int pirf_burgers_solver_create(int M, double nu, double h, pirf_burgers_solver *s) {
  PIRF_CHECK(M >= 8 && M % 2 == 0, "Burgers solver: %d grid points; need an even number >= 8", M);
  PIRF_CHECK(nu > 0 && h > 0, "Burgers solver: nu = %g and h = %g must be positive", nu, h);
  memset(s, 0, sizeof *s);
  s->M = M;
  s->kmax = M / 3;
  s->nu = nu;
  s->h = h;
  const int K = M / 2 + 1;
  s->u = fftw_malloc(sizeof(double) * (size_t)M);
  fftw_complex **cbuf[] = {&s->v, &s->nv, &s->na, &s->nb, &s->nc, &s->a, &s->b, &s->c, &s->w};
  for (size_t i = 0; i < sizeof cbuf / sizeof *cbuf; i++) {
    *cbuf[i] = fftw_malloc(sizeof(fftw_complex) * (size_t)K);
    PIRF_CHECK(*cbuf[i], "out of memory for the Burgers solver (%d points)", M);
    memset(*cbuf[i], 0, sizeof(fftw_complex) * (size_t)K);
  }
  double **rbuf[] = {&s->E, &s->E2, &s->Q, &s->f1, &s->f2, &s->f3};
  for (size_t i = 0; i < sizeof rbuf / sizeof *rbuf; i++) {
    *rbuf[i] = fftw_malloc(sizeof(double) * (size_t)K);
    PIRF_CHECK(*rbuf[i], "out of memory for the Burgers solver (%d points)", M);
  }
  PIRF_CHECK(s->u, "out of memory for the Burgers solver (%d points)", M);
  s->r2c = fftw_plan_dft_r2c_1d(M, s->u, s->w, FFTW_ESTIMATE);
  s->c2r = fftw_plan_dft_c2r_1d(M, s->w, s->u, FFTW_ESTIMATE);
  PIRF_CHECK(s->r2c && s->c2r, "FFTW could not plan a transform of %d points", M);
  for (int k = 0; k < K; k++) {
    double kk = 2 * M_PI * k;
    etdrk4_weights(-nu * kk * kk * h, h, &s->E[k], &s->E2[k], &s->Q[k], &s->f1[k], &s->f2[k],
                   &s->f3[k]);
  }
  return 0;
}

void pirf_burgers_solver_destroy(pirf_burgers_solver *s) {
  if (s->r2c) fftw_destroy_plan(s->r2c);
  if (s->c2r) fftw_destroy_plan(s->c2r);
  void *all[] = {s->u, s->v, s->nv, s->na, s->nb, s->nc, s->a, s->b, s->c, s->w,
                 s->E, s->E2, s->Q, s->f1, s->f2, s->f3};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++)
    if (all[i]) fftw_free(all[i]);
  memset(s, 0, sizeof *s);
}

/* N(v) into out: -(1/2) d/dx (u^2) in Fourier space, zero above kmax. */
static void nonlinear(pirf_burgers_solver *s, const fftw_complex *v, fftw_complex *out) {
  const int M = s->M, K = M / 2 + 1;
  /* c2r destroys its input, so transform a copy. */
  memcpy(s->w, v, sizeof(fftw_complex) * (size_t)K);
  fftw_execute(s->c2r);
  const double inv = 1.0 / M;
  for (int m = 0; m < M; m++) {
    double um = s->u[m] * inv;
    s->u[m] = um * um;
  }
  fftw_execute(s->r2c);
  for (int k = 0; k < K; k++)
    out[k] = k <= s->kmax ? -0.5 * I * (2 * M_PI * k) * s->w[k] : 0;
}

void pirf_burgers_solver_set(pirf_burgers_solver *s, const double *u0) {
  const int K = s->M / 2 + 1;
  memcpy(s->u, u0, sizeof(double) * (size_t)s->M);
  fftw_execute(s->r2c);
  for (int k = 0; k < K; k++) s->v[k] = k <= s->kmax ? s->w[k] : 0;
}

void pirf_burgers_solver_set_modes(pirf_burgers_solver *s, int n, const double *a, const double *b) {
  const int K = s->M / 2 + 1;
  /* a cos(2 pi k x) + b sin(2 pi k x) = Re((a - i b) e^{2 pi i k x}); r2c of it has (a - i b) M/2
   * in bin k. */
  for (int k = 0; k < K; k++) s->v[k] = 0;
  for (int k = 1; k <= n && k <= s->kmax; k++) s->v[k] = 0.5 * s->M * (a[k - 1] - I * b[k - 1]);
}

void pirf_burgers_solver_advance(pirf_burgers_solver *s, int nsteps) {
  const int K = s->M / 2 + 1;
  fftw_complex *v = s->v, *nv = s->nv, *na = s->na, *nb = s->nb, *nc = s->nc, *a = s->a,
               *b = s->b, *c = s->c;
  for (int step = 0; step < nsteps; step++) {
    nonlinear(s, v, nv);
    for (int k = 0; k < K; k++) a[k] = s->E2[k] * v[k] + s->Q[k] * nv[k];
    nonlinear(s, a, na);
    for (int k = 0; k < K; k++) b[k] = s->E2[k] * v[k] + s->Q[k] * na[k];
    nonlinear(s, b, nb);
    for (int k = 0; k < K; k++) c[k] = s->E2[k] * a[k] + s->Q[k] * (2 * nb[k] - nv[k]);
    nonlinear(s, c, nc);
    for (int k = 0; k < K; k++)
      v[k] = s->E[k] * v[k] + nv[k] * s->f1[k] + 2 * (na[k] + nb[k]) * s->f2[k] + nc[k] * s->f3[k];
  }
}

void pirf_burgers_solver_get(pirf_burgers_solver *s, double *u) {
  const int K = s->M / 2 + 1;
  memcpy(s->w, s->v, sizeof(fftw_complex) * (size_t)K);
  fftw_execute(s->c2r);
  for (int m = 0; m < s->M; m++) u[m] = s->u[m] / s->M;
}
