/* kolmogorov: pseudo-spectral integrator of 2-D incompressible Navier-Stokes in vorticity form,
 *
 *   w_t = -u.grad w + (1/re) lap w - drag w + f,   f = -famp cos(kf y),  w = -lap psi,
 *   u = psi_y, v = -psi_x,   on [0, 2 pi)^2 periodic,
 *
 * state = the vorticity spectrum (FFTW-MPI transposed layout, see kolmogorov_impl.h).
 *
 * Dealiasing: the 2/3 rule. Modes with max(|kx|, |ky|) <= kcut, kcut < R/3, are kept; the product
 * u.grad w of two kept fields then aliases only onto dropped modes, so the kept modes of the
 * nonlinear term are exact (a Galerkin truncation, which conserves energy and enstrophy).
 *
 * Time stepping: ETDRK4 (Cox & Matthews 2002) with the diagonal linear part L = -k^2/re - drag
 * integrated exactly; the phi-functions use their Taylor series for |hL| < 1/2. ETDRK4 keeps every
 * fixed point of the system exactly (the laminar state stays laminar). The step is chosen per
 * frame interval: the interval T is split into n equal steps with T/n <= min(max_dt, cfl dx/max|u|)
 * (max|u| reduced with MPI_MAX, so every rank count takes the same steps). */
#include "kolmogorov_impl.h"

#include "pirf/check.h"
#include "pirf/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int kf_ns_create(kf_fft *fft, const kf_params *p, kf_ns *ns) {
  memset(ns, 0, sizeof *ns);
  ns->fft = fft;
  ns->p = p;
  const int R = fft->R;
  ns->kcut = (R - 1) / 3; /* largest k with k < R/3 */
  const size_t n = fft->nspec + 1, nr = (size_t)fft->na * R + 1;
  PIRF_ALLOC(ns->mask, n, "kolmogorov dealiasing mask");
  PIRF_ALLOC(ns->lin, n, "kolmogorov linear operator");
  ns->w = fftw_alloc_complex(n);
  ns->fhat = fftw_alloc_complex(n);
  PIRF_CHECK(ns->w && ns->fhat, "out of memory allocating the kolmogorov state");
  for (int k = 0; k < 8; k++) {
    ns->s[k] = fftw_alloc_complex(n);
    PIRF_CHECK(ns->s[k], "out of memory allocating the kolmogorov integrator stages");
  }
  for (int k = 0; k < 4; k++) PIRF_ALLOC(ns->phys[k], nr, "kolmogorov work slabs");
  for (int k = 0; k < KF_BATCH; k++) {
    ns->vt[k] = fftw_alloc_complex(n);
    PIRF_CHECK(ns->vt[k], "out of memory allocating the kolmogorov velocity spectra");
  }
  for (int k = 0; k < 6; k++) PIRF_ALLOC(ns->coef[k], n, "kolmogorov ETDRK4 coefficients");
  for (ptrdiff_t jl = 0; jl < fft->nj; jl++)
    for (int i = 0; i < R; i++) {
      double kx = kf_kx(fft, i), ky = kf_ky(fft, jl);
      size_t m = (size_t)jl * R + i;
      ns->mask[m] = fabs(kx) <= ns->kcut && fabs(ky) <= ns->kcut;
      ns->lin[m] = -(kx * kx + ky * ky) / p->re - p->drag;
    }
  /* the forcing, by transforming its grid values (exact: a single cosine mode) */
  double *fs = ns->phys[0];
  for (ptrdiff_t a = 0; a < fft->na; a++)
    for (int b = 0; b < R; b++) fs[a * R + b] = -p->famp * cos(p->kf * 2.0 * M_PI * b / R);
  PIRF_TRY(kf_fft_r2c(fft, fs, ns->fhat));
  for (size_t m = 0; m < fft->nspec; m++) ns->fhat[m] *= ns->mask[m];
  return 0;
}

void kf_ns_destroy(kf_ns *ns) {
  free(ns->mask);
  free(ns->lin);
  fftw_free(ns->w);
  fftw_free(ns->fhat);
  for (int k = 0; k < 8; k++) fftw_free(ns->s[k]);
  for (int k = 0; k < 4; k++) free(ns->phys[k]);
  for (int k = 0; k < KF_BATCH; k++) fftw_free(ns->vt[k]);
  for (int k = 0; k < 6; k++) free(ns->coef[k]);
  memset(ns, 0, sizeof *ns);
}

int kf_ns_set_physical(kf_ns *ns, const double *slab) {
  PIRF_TRY(kf_fft_r2c(ns->fft, slab, ns->w));
  for (size_t m = 0; m < ns->fft->nspec; m++) ns->w[m] *= ns->mask[m];
  ns->t = 0;
  ns->steps = 0;
  return 0;
}

int kf_ns_get_physical(kf_ns *ns, double *slab) { return kf_fft_c2r(ns->fft, ns->w, slab); }

int kf_ns_initial(kf_ns *ns, uint32_t seed, long traj) {
  const kf_fft *f = ns->fft;
  const kf_params *p = ns->p;
  const int R = f->R, K = p->ic_kmax < ns->kcut ? p->ic_kmax : ns->kcut;
  /* normalization: the expected mean of w^2 is ic_rms^2 (a sum over every kept mode, the same on
   * every rank) */
  double var = 0;
  for (int kx = -K; kx <= K; kx++)
    for (int ky = -K; ky <= K; ky++)
      if (kx || ky) var += 2.0 * pow(kx * kx + ky * ky + p->ic_tau * p->ic_tau, -p->ic_alpha);
  const double A = var > 0 ? p->ic_rms * (double)R * R / sqrt(var) : 0;
  for (ptrdiff_t jl = 0; jl < f->nj; jl++)
    for (int i = 0; i < R; i++) {
      int kx = (int)kf_kx(f, i), ky = (int)kf_ky(f, jl);
      size_t m = (size_t)jl * R + i;
      ns->w[m] = 0;
      if ((!kx && !ky) || abs(kx) > K || abs(ky) > K) continue;
      /* the column ky = 0 holds both kx and -kx: draw for |kx| and conjugate for kx < 0 */
      int ckx = ky == 0 ? abs(kx) : kx;
      uint32_t mode = ((uint32_t)(ckx & 0xffff) << 16) | (uint32_t)(ky & 0xffff);
      double re = pirf_rng_normal(seed, PIRF_STREAM_GENERATE_AUX, 0, (uint32_t)traj, 0, mode);
      double im = pirf_rng_normal(seed, PIRF_STREAM_GENERATE_AUX, 1, (uint32_t)traj, 0, mode);
      if (ky == 0 && kx < 0) im = -im;
      double amp = A * pow(kx * kx + ky * ky + p->ic_tau * p->ic_tau, -p->ic_alpha / 2);
      ns->w[m] = amp * (re + im * _Complex_I);
    }
  ns->t = 0;
  ns->steps = 0;
  return 0;
}

/* u, v, w_x, w_y on the grid from the spectrum w (only u, v when nfields == 2). */
static int velocity(kf_ns *ns, const fftw_complex *w, int nfields) {
  kf_fft *f = ns->fft;
  const int R = f->R;
  if (nfields == KF_BATCH) { /* the four fields in one batched transform */
    for (ptrdiff_t jl = 0; jl < f->nj; jl++)
      for (int i = 0; i < R; i++) {
        size_t m = (size_t)jl * R + i;
        double kx = kf_kx(f, i), ky = kf_ky(f, jl), k2 = kx * kx + ky * ky;
        fftw_complex psi = k2 > 0 ? w[m] / k2 : 0;
        ns->vt[0][m] = _Complex_I * ky * psi;
        ns->vt[1][m] = -_Complex_I * kx * psi;
        ns->vt[2][m] = _Complex_I * kx * w[m];
        ns->vt[3][m] = _Complex_I * ky * w[m];
      }
    return kf_fft_c2r_batch(f, (const fftw_complex *const *)ns->vt, ns->phys);
  }
  fftw_complex *t = ns->s[7]; /* scratch: never a stage that is live across this call */
  for (int q = 0; q < nfields; q++) {
    for (ptrdiff_t jl = 0; jl < f->nj; jl++)
      for (int i = 0; i < R; i++) {
        size_t m = (size_t)jl * R + i;
        double kx = kf_kx(f, i), ky = kf_ky(f, jl), k2 = kx * kx + ky * ky;
        fftw_complex psi = k2 > 0 ? w[m] / k2 : 0;
        switch (q) {
        case 0: t[m] = _Complex_I * ky * psi; break;
        case 1: t[m] = -_Complex_I * kx * psi; break;
        case 2: t[m] = _Complex_I * kx * w[m]; break;
        default: t[m] = _Complex_I * ky * w[m]; break;
        }
      }
    PIRF_TRY(kf_fft_c2r(f, t, ns->phys[q]));
  }
  return 0;
}

int kf_ns_advection(kf_ns *ns, const fftw_complex *w, fftw_complex *out) {
  kf_fft *f = ns->fft;
  PIRF_TRY(velocity(ns, w, 4));
  const size_t nr = (size_t)f->na * f->R;
  double *pr = ns->phys[0];
  for (size_t k = 0; k < nr; k++)
    pr[k] = ns->phys[0][k] * ns->phys[2][k] + ns->phys[1][k] * ns->phys[3][k];
  PIRF_TRY(kf_fft_r2c(f, pr, out));
  for (size_t m = 0; m < f->nspec; m++) out[m] = -ns->mask[m] * out[m];
  return 0;
}

/* N(w) = dealiased -u.grad w + f. */
static int nonlinear(kf_ns *ns, const fftw_complex *w, fftw_complex *out) {
  PIRF_TRY(kf_ns_advection(ns, w, out));
  for (size_t m = 0; m < ns->fft->nspec; m++) out[m] += ns->fhat[m];
  return 0;
}

/* phi_1, phi_2, phi_3 of a real z <= 0. */
static void phis(double z, double phi[3]) {
  if (fabs(z) < 0.5) {
    for (int k = 0; k < 3; k++) {
      double term = 1, fact = 1, s = 0;
      for (int n = 1; n <= k + 1; n++) fact *= n; /* (k+1)! */
      term = 1 / fact;
      for (int n = 0; n < 30; n++) {
        s += term;
        term *= z / (n + k + 2);
      }
      phi[k] = s;
    }
  } else {
    double e = exp(z);
    phi[0] = (e - 1) / z;
    phi[1] = (e - 1 - z) / (z * z);
    phi[2] = (e - 1 - z - z * z / 2) / (z * z * z);
  }
}

static void coefficients(kf_ns *ns, double h) {
  const size_t n = ns->fft->nspec;
  for (size_t m = 0; m < n; m++) {
    double z = h * ns->lin[m], ph[3], ph2[3];
    phis(z, ph);
    phis(z / 2, ph2);
    ns->coef[0][m] = exp(z);
    ns->coef[1][m] = exp(z / 2);
    ns->coef[2][m] = h / 2 * ph2[0];
    ns->coef[3][m] = h * (ph[0] - 3 * ph[1] + 4 * ph[2]);
    ns->coef[4][m] = h * (ph[1] - 2 * ph[2]);
    ns->coef[5][m] = h * (4 * ph[2] - ph[1]);
  }
  ns->h = h;
}

static int step(kf_ns *ns) {
  const size_t n = ns->fft->nspec;
  fftw_complex *v = ns->w, *Nv = ns->s[0], *a = ns->s[1], *Na = ns->s[2], *b = ns->s[3],
               *Nb = ns->s[4], *c = ns->s[5], *Nc = ns->s[6];
  const double *E = ns->coef[0], *E2 = ns->coef[1], *Q = ns->coef[2], *f1 = ns->coef[3],
               *f2 = ns->coef[4], *f3 = ns->coef[5];
  PIRF_TRY(nonlinear(ns, v, Nv));
  for (size_t m = 0; m < n; m++) a[m] = E2[m] * v[m] + Q[m] * Nv[m];
  PIRF_TRY(nonlinear(ns, a, Na));
  for (size_t m = 0; m < n; m++) b[m] = E2[m] * v[m] + Q[m] * Na[m];
  PIRF_TRY(nonlinear(ns, b, Nb));
  for (size_t m = 0; m < n; m++) c[m] = E2[m] * a[m] + Q[m] * (2.0 * Nb[m] - Nv[m]);
  PIRF_TRY(nonlinear(ns, c, Nc));
  for (size_t m = 0; m < n; m++)
    v[m] = E[m] * v[m] + f1[m] * Nv[m] + 2.0 * f2[m] * (Na[m] + Nb[m]) + f3[m] * Nc[m];
  ns->t += ns->h;
  ns->steps++;
  return 0;
}

/* Largest |u| (max of |u|, |v| over the grid, global). */
static int max_speed(kf_ns *ns, double *umax) {
  PIRF_TRY(velocity(ns, ns->w, 2));
  const size_t nr = (size_t)ns->fft->na * ns->fft->R;
  double m[2] = {0, 0}; /* max |u|, and 1 if any value is not finite */
  for (size_t k = 0; k < nr; k++) {
    double a = fabs(ns->phys[0][k]), b = fabs(ns->phys[1][k]);
    if (!isfinite(a) || !isfinite(b)) m[1] = 1;
    else m[0] = fmax(m[0], fmax(a, b));
  }
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, m, 2, MPI_DOUBLE, MPI_MAX, ns->fft->comm));
  PIRF_USER_CHECK(m[1] == 0, "kolmogorov: the flow blew up at t = %g (non-finite velocity); lower "
                  "pde.kolmogorov.cfl or pde.kolmogorov.max_dt", ns->t);
  *umax = m[0];
  return 0;
}

int kf_ns_advance(kf_ns *ns, double T) {
  const kf_params *p = ns->p;
  if (T <= 0) return 0;
  long chunks = (long)ceil(T / p->frame_dt - 1e-9);
  if (chunks < 1) chunks = 1;
  const double Tc = T / chunks, dx = 2 * M_PI / ns->fft->R;
  for (long c = 0; c < chunks; c++) {
    double umax = 0;
    PIRF_TRY(max_speed(ns, &umax));
    double hmax = p->max_dt;
    if (umax > 0 && p->cfl * dx / umax < hmax) hmax = p->cfl * dx / umax;
    long n = (long)ceil(Tc / hmax - 1e-9);
    if (n < 1) n = 1;
    PIRF_CHECK(n < 100000000L, "kolmogorov: the flow became too fast (max |u| = %g)", umax);
    double h = Tc / n;
    if (h != ns->h) coefficients(ns, h);
    for (long k = 0; k < n; k++) PIRF_TRY(step(ns));
    if (ns->tick) {
      int stop = ns->tick(ns->tick_ctx);
      if (stop) return stop;
    }
  }
  return 0;
}

int kf_ns_diagnostics(kf_ns *ns, double *E, double *Z, double *Pal, double *wf, double *psif) {
  const kf_fft *f = ns->fft;
  const int R = f->R;
  double s[5] = {0, 0, 0, 0, 0};
  for (ptrdiff_t jl = 0; jl < f->nj; jl++) {
    ptrdiff_t j = f->j0 + jl;
    double cj = (j == 0 || j == R / 2) ? 1.0 : 2.0;
    for (int i = 0; i < R; i++) {
      size_t m = (size_t)jl * R + i;
      double kx = kf_kx(f, i), ky = kf_ky(f, jl), k2 = kx * kx + ky * ky;
      fftw_complex w = ns->w[m], psi = k2 > 0 ? w / k2 : 0;
      double w2 = creal(w * conj(w));
      s[0] += cj * k2 * creal(psi * conj(psi));
      s[1] += cj * w2;
      s[2] += cj * k2 * w2;
      s[3] += cj * creal(w * conj(ns->fhat[m]));
      s[4] += cj * creal(psi * conj(ns->fhat[m]));
    }
  }
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, s, 5, MPI_DOUBLE, MPI_SUM, f->comm));
  const double N2 = (double)R * R * (double)R * R;
  *E = 0.5 * s[0] / N2;
  *Z = 0.5 * s[1] / N2;
  *Pal = s[2] / N2;
  *wf = s[3] / N2;
  *psif = s[4] / N2;
  return 0;
}
