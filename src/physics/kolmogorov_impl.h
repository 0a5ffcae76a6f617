/* Internals of the kolmogorov PDE (docs/algorithm.md §5.5), shared by its three source files and its tests:
 *
 *   kolmogorov_fft.c       the distributed 2-D real FFT over the space communicator (FFTW-MPI, slab
 *                          of rows <-> transposed spectrum) and the slab <-> tile redistribution
 *   kolmogorov_ns.c        the pseudo-spectral Navier-Stokes integrator (ETDRK4, 2/3 dealiasing)
 *   kolmogorov_residual.c  the residual as coded in the reference and its exact adjoint
 *   kolmogorov.c           deck keys, set-up, the generator and the registry entry
 *
 * Coordinates: grid row a (the data's H axis, torch dim 2) carries the PDE's x = 2 pi a / R and
 * wavenumber kx; grid column b (W axis, dim 3, fastest) carries y = 2 pi b / R and ky. The forcing
 * -A cos(k_f y) therefore varies along columns, as in the reference's residual.
 *
 * Spectral layout (FFTW_MPI_TRANSPOSED_OUT): this rank holds column bins j in [j0, j0 + nj)
 * of 0..R/2 (ky = j, except j = R/2 whose ky is -R/2 as in numpy's fftfreq) and, for each, every
 * row bin i in 0..R-1 (kx = i for i < R/2, i - R otherwise), stored [j - j0][i]. Spectral values are
 * unnormalized DFTs (sum over the grid, e^{-i k.x}); the inverse divides by R^2. */
#ifndef PIRF_KOLMOGOROV_IMPL_H
#define PIRF_KOLMOGOROV_IMPL_H

#include "pirf/decomp.h"
#include "pirf/physics.h"

#include <complex.h>
#include <fftw3-mpi.h>

/* ---- distributed FFT and layouts (kolmogorov_fft.c) ------------------------------------------ */
typedef struct {
  MPI_Comm comm;      /* the space communicator (not owned) */
  int R, P, rank;
  ptrdiff_t a0, na;   /* this rank's slab: rows [a0, a0 + na), na = R / P */
  ptrdiff_t j0, nj;   /* this rank's column bins [j0, j0 + nj) of R/2 + 1 */
  size_t nspec;       /* nj * R complex values */
  double *rbuf;       /* FFTW's padded real array [na][2 (R/2 + 1)] */
  fftw_complex *cbuf; /* FFTW's transposed spectrum [nj][R] */
  fftw_plan fwd, bwd;
  /* the batched inverse: KF_BATCH interleaved spectra in one plan (one transpose for all) */
  double *rbatch;
  fftw_complex *cbatch;
  fftw_plan bwd_batch;
  /* slab <-> tile redistribution (one channel; counts in doubles) */
  const pirf_decomp *dc;
  int *scount, *sdispl, *rcount, *rdispl;
  double *tbuf, *sbuf; /* packed tile-order and slab-order staging */
} kf_fft;

/* Whether a grid of R points per side can use the slab FFT on nspace ranks; if not, *why is a
 * sentence fragment for the user error. */
int kf_fft_layout_ok(int R, int nspace);
int kf_fft_create(const pirf_decomp *dc, kf_fft *f);
void kf_fft_destroy(kf_fft *f);
/* Forward real-to-complex DFT of a slab [na][R] (unpadded) into spec [nj][R]. */
int kf_fft_r2c(kf_fft *f, const double *slab, fftw_complex *spec);
/* The reference's inverse (torch.fft.irfft2 on bins 0..R/2, pocketfft c2r): spec is projected onto
 * Hermitian-consistent data by replacing, in the bins j = 0 and j = R/2, F(i) with
 * (F(i) + conj F(-i)) / 2 (exactly "the imaginary part after the row inverse is ignored"), then
 * inverted and scaled by 1/R^2 into slab [na][R]. spec is not modified. */
int kf_fft_c2r(kf_fft *f, const fftw_complex *spec, double *slab);
/* kf_fft_c2r of KF_BATCH spectra at once, into KF_BATCH slabs: one FFTW-MPI plan with howmany =
 * KF_BATCH, so each transpose sends one message per peer for all of them (the integrator's four
 * inverse transforms per right-hand side). */
#define KF_BATCH 4
int kf_fft_c2r_batch(kf_fft *f, const fftw_complex *const spec[KF_BATCH], double *const slab[KF_BATCH]);
/* Signed wavenumbers of local spectral entry (jl, i). */
static inline double kf_kx(const kf_fft *f, ptrdiff_t i) { return i < f->R / 2 ? (double)i : (double)(i - f->R); }
static inline double kf_ky(const kf_fft *f, ptrdiff_t jl) {
  ptrdiff_t j = f->j0 + jl;
  return j < f->R / 2 ? (double)j : (double)(j - f->R);
}
/* Tile [C][ym][xm] (float, value = scale * (tile - shift)) -> slab [C][na][R] (double). */
int kf_tile_to_slab(kf_fft *f, int C, const float *tile, double scale, double shift, double *slab);
/* Slab [C][na][R] -> tile [C][ym][xm]: tile = alpha * tile + beta * slab (alpha 0 overwrites). */
int kf_slab_to_tile(kf_fft *f, int C, const double *slab, float alpha, double beta, float *tile);

/* ---- physical parameters -------------------------------------------------------------------- */
typedef struct {
  double re, drag, kf, famp; /* 1/re viscosity, linear drag, forcing -famp cos(kf y) */
  double frame_dt;            /* time between stored frames (and the residual's dt) */
  double omega_scale;         /* normalization: x = omega / omega_scale */
  double spinup;              /* time integrated before the first stored frame */
  long per_traj;              /* samples (3-frame windows) per trajectory */
  double cfl, max_dt;         /* integrator step: min(max_dt, cfl * dx / max|u|), whole frames */
  double ic_alpha, ic_tau, ic_rms; /* initial vorticity spectrum (|k|^2 + tau^2)^(-alpha/2), rms */
  int ic_kmax;                /* initial vorticity uses modes with max(|kx|, |ky|) <= ic_kmax */
} kf_params;

/* ---- Navier-Stokes integrator (kolmogorov_ns.c) --------------------------------------------- */
typedef struct {
  kf_fft *fft;
  const kf_params *p;
  int kcut;                   /* 2/3 rule: modes with |kx|, |ky| <= kcut are kept */
  double *mask;               /* [nspec] 1 kept, 0 dropped */
  double *lin;                /* [nspec] linear operator -k^2/re - drag */
  fftw_complex *w;            /* state: vorticity spectrum */
  fftw_complex *fhat;         /* forcing spectrum (dealiased) */
  fftw_complex *s[8];         /* ETDRK4 stages and nonlinear terms */
  double *phys[4];            /* slab work arrays */
  fftw_complex *vt[KF_BATCH]; /* spectra of u, v, w_x, w_y for the batched inverse */
  double *coef[6];            /* ETDRK4 coefficients for the current step h */
  double h;                   /* step the coefficients are for (0 = none yet) */
  double t;                   /* model time of the state */
  long steps;                 /* steps taken */
  /* Called after every frame interval of kf_ns_advance when set (the generator's stop and progress
   * hook); a non-zero return abandons the advance and is returned. */
  int (*tick)(void *ctx);
  void *tick_ctx;
} kf_ns;

int kf_ns_create(kf_fft *fft, const kf_params *p, kf_ns *ns);
void kf_ns_destroy(kf_ns *ns);
/* Set the state from a physical vorticity slab [na][R] (projected onto the dealiased modes). */
int kf_ns_set_physical(kf_ns *ns, const double *slab);
/* The state as a physical vorticity slab [na][R]. */
int kf_ns_get_physical(kf_ns *ns, double *slab);
/* The random initial vorticity of trajectory `traj` (Philox keyed by (seed, traj, kx, ky)). */
int kf_ns_initial(kf_ns *ns, uint32_t seed, long traj);
/* Integrate over time T (>= 0) in equal steps no longer than min(max_dt, cfl dx / max|u|), one frame
 * interval at a time (ns->tick after each). */
int kf_ns_advance(kf_ns *ns, double T);
/* The (dealiased) right-hand side's nonlinear part -u.grad(w) of the state, as a spectrum. */
int kf_ns_advection(kf_ns *ns, const fftw_complex *w, fftw_complex *out);
/* Global mean of |u|^2/2 (energy), w^2/2 (enstrophy), |grad w|^2 (palinstrophy P), w f and psi f
 * of the state (collective). */
int kf_ns_diagnostics(kf_ns *ns, double *E, double *Z, double *Pal, double *wf, double *psif);

/* ---- residual (kolmogorov_residual.c) ------------------------------------------------------- */
typedef struct {
  kf_fft *fft;
  const kf_params *p;
  double *slab;         /* [3][na][R] */
  double *fields[6];    /* [na][R] each: U, V, WX, WY, WLAP, work */
  fftw_complex *W, *S;  /* spectra */
} kf_residual;

int kf_residual_create(kf_fft *fft, const kf_params *p, kf_residual *r);
void kf_residual_destroy(kf_residual *r);
/* R (physical units, one channel) of a normalized tile x [3][ym][xm]. */
int kf_residual_eval(kf_residual *r, const float *x, float *R);
/* xbar += (dR/dx)^T Rbar. */
int kf_residual_adjoint(kf_residual *r, const float *x, const float *Rbar, float *xbar);

/* ---- the physics object's state (kolmogorov.c) ---------------------------------------------- */
typedef struct {
  kf_params p;
  kf_fft fft;
  kf_residual res;
  kf_ns ns;
  /* generator cache: the integrator holds frame `frame` of trajectory `traj`, and `ring` the
   * normalized tiles of frames max(ring_lo, frame - 2)..frame, frame f at ring + (f % 3) * tile;
   * a call that starts at window frame - 1 (the next chunk) continues instead of restarting */
  long traj, frame, ring_lo;
  int spinning;               /* 1 during a spin-up (for the progress note) */
  long frame_hi;              /* the last frame the current call integrates to */
  float *ring;
  double *slab;
} kf_impl;

#endif
