/* kolmogorov: the residual as coded in the reference (docs/algorithm.md §5.5) and its exact adjoint.
 *
 * On the middle frame w1 (physical units, w = omega_scale * x), with W = DFT(w1):
 *   lap = kx^2 + ky^2 with lap(0,0) = 1 (also inside WLAP, so its mean mode is -mean(w1)),
 *   U = L[i ky / lap], V = L[-i kx / lap], WX = L[i kx], WY = L[i ky], WLAP = L[-lap],
 * where L[M] w = C2R(M * DFT(w)) is the reference's irfft2 on the column bins 0..R/2 (the imaginary
 * parts of bins 0 and R/2 after the row inverse are ignored; see kf_fft_c2r), and
 *   R = (w2 - w0) / (2 frame_dt) + U WX + V WY - WLAP / re + drag w1 + famp cos(kf y_b),
 *   y_b = 2 pi b / R along columns.
 *
 * Adjoint. Each L[M] is a real-linear convolution: L[M] w (x) = sum_y K(x - y) w(y) with
 *   K(d) = R^-2 sum_{i, j = 0..R/2} c_j Re(M(i, j) e^{i k.d}),  c_j = 1 for j = 0, R/2, else 2
 * (that is exactly "the imaginary parts of bins 0 and R/2 are dropped"). Its transpose is the
 * convolution with K(-d) = R^-2 sum c_j Re(conj(M) e^{i k.d}), i.e. L[M]^T = L[conj M], computed by
 * the same FFT pipeline. With g = Rbar and the product rule,
 *   dR/dw1^T g = L[-i ky/lap](g WX) + L[-i kx](g U) + L[i kx/lap](g WY) + L[-i ky](g V)
 *                - L[-lap](g) / re + drag g,
 * one forward transform per term and a single inverse for their sum; dR/dw0 = -1/(2 dt),
 * dR/dw2 = 1/(2 dt), all times omega_scale for the normalized input. */
#include "kolmogorov_impl.h"

#include "pirf/check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { F_U, F_V, F_WX, F_WY, F_WLAP, F_WORK };

/* The reference's spectral multiplier of field q at (kx, ky). */
static fftw_complex multiplier(int q, double kx, double ky) {
  double lap = kx * kx + ky * ky;
  if (lap == 0) lap = 1;
  switch (q) {
  case F_U: return _Complex_I * ky / lap;
  case F_V: return -_Complex_I * kx / lap;
  case F_WX: return _Complex_I * kx;
  case F_WY: return _Complex_I * ky;
  default: return -lap;
  }
}

int kf_residual_create(kf_fft *fft, const kf_params *p, kf_residual *r) {
  memset(r, 0, sizeof *r);
  r->fft = fft;
  r->p = p;
  const size_t nr = (size_t)fft->na * fft->R + 1;
  PIRF_ALLOC(r->slab, 3 * nr, "kolmogorov residual slabs");
  for (int q = 0; q < 6; q++) PIRF_ALLOC(r->fields[q], nr, "kolmogorov residual fields");
  r->W = fftw_alloc_complex(fft->nspec + 1);
  r->S = fftw_alloc_complex(fft->nspec + 1);
  PIRF_CHECK(r->W && r->S, "out of memory allocating the kolmogorov residual spectra");
  return 0;
}

void kf_residual_destroy(kf_residual *r) {
  free(r->slab);
  for (int q = 0; q < 6; q++) free(r->fields[q]);
  fftw_free(r->W);
  fftw_free(r->S);
  memset(r, 0, sizeof *r);
}

/* fields[q] = L[M_q] w1 for q in [0, nq), from W = DFT(w1). */
static int spectral_fields(kf_residual *r, int nq) {
  kf_fft *f = r->fft;
  const int R = f->R;
  for (int q = 0; q < nq; q++) {
    for (ptrdiff_t jl = 0; jl < f->nj; jl++)
      for (int i = 0; i < R; i++) {
        size_t m = (size_t)jl * R + i;
        r->S[m] = multiplier(q, kf_kx(f, i), kf_ky(f, jl)) * r->W[m];
      }
    PIRF_TRY(kf_fft_c2r(f, r->S, r->fields[q]));
  }
  return 0;
}

int kf_residual_eval(kf_residual *r, const float *x, float *Rout) {
  kf_fft *f = r->fft;
  const kf_params *p = r->p;
  const int R = f->R;
  const size_t nr = (size_t)f->na * R;
  PIRF_TRY(kf_tile_to_slab(f, 3, x, p->omega_scale, 0.0, r->slab));
  const double *w0 = r->slab, *w1 = r->slab + nr, *w2 = r->slab + 2 * nr;
  PIRF_TRY(kf_fft_r2c(f, w1, r->W));
  PIRF_TRY(spectral_fields(r, 5));
  double *out = r->fields[F_WORK];
  const double idt = 1.0 / (2.0 * p->frame_dt);
  for (ptrdiff_t a = 0; a < f->na; a++)
    for (int b = 0; b < R; b++) {
      size_t k = (size_t)a * R + b;
      double force = -p->famp * cos(p->kf * 2.0 * M_PI * b / R);
      out[k] = (w2[k] - w0[k]) * idt + (r->fields[F_U][k] * r->fields[F_WX][k] +
                                       r->fields[F_V][k] * r->fields[F_WY][k]) -
               r->fields[F_WLAP][k] / p->re + p->drag * w1[k] - force;
    }
  return kf_slab_to_tile(f, 1, out, 0.0f, 1.0, Rout);
}

int kf_residual_adjoint(kf_residual *r, const float *x, const float *Rbar, float *xbar) {
  kf_fft *f = r->fft;
  const kf_params *p = r->p;
  const pirf_decomp *dc = f->dc;
  const int R = f->R;
  const size_t nr = (size_t)f->na * R, nt = (size_t)dc->xm * dc->ym;
  /* the frame difference: local on the tiles */
  const double cs = p->omega_scale / (2.0 * p->frame_dt);
  for (size_t k = 0; k < nt; k++) {
    xbar[k] = (float)(xbar[k] - cs * Rbar[k]);
    xbar[2 * nt + k] = (float)(xbar[2 * nt + k] + cs * Rbar[k]);
  }
  /* the spectral part, on the slabs: w1 and g */
  double *w1 = r->slab, *g = r->slab + nr, *h = r->slab + 2 * nr;
  PIRF_TRY(kf_tile_to_slab(f, 1, x + nt, p->omega_scale, 0.0, w1));
  PIRF_TRY(kf_tile_to_slab(f, 1, Rbar, 1.0, 0.0, g));
  PIRF_TRY(kf_fft_r2c(f, w1, r->W));
  PIRF_TRY(spectral_fields(r, 4)); /* U, V, WX, WY */
  /* sum over terms of conj(M_q) * DFT(h_q), accumulated in W (no longer needed) */
  static const int target[5] = {F_U, F_WX, F_V, F_WY, F_WLAP};     /* whose multiplier */
  static const int partner[5] = {F_WX, F_U, F_WY, F_V, -1};        /* the other factor */
  fftw_complex *acc = r->W;
  memset(acc, 0, f->nspec * sizeof *acc);
  for (int t = 0; t < 5; t++) {
    if (partner[t] >= 0)
      for (size_t k = 0; k < nr; k++) h[k] = g[k] * r->fields[partner[t]][k];
    else
      for (size_t k = 0; k < nr; k++) h[k] = -g[k] / p->re;
    PIRF_TRY(kf_fft_r2c(f, h, r->S));
    for (ptrdiff_t jl = 0; jl < f->nj; jl++)
      for (int i = 0; i < R; i++) {
        size_t m = (size_t)jl * R + i;
        acc[m] += conj(multiplier(target[t], kf_kx(f, i), kf_ky(f, jl))) * r->S[m];
      }
  }
  double *w1bar = r->fields[F_WORK];
  PIRF_TRY(kf_fft_c2r(f, acc, w1bar));
  for (size_t k = 0; k < nr; k++) w1bar[k] += p->drag * g[k];
  return kf_slab_to_tile(f, 1, w1bar, 1.0f, p->omega_scale, xbar + nt);
}
