/* kolmogorov: the distributed 2-D real FFT (FFTW-MPI over the space communicator) and the exact
 * redistribution between pirf's tiles and FFTW's slabs of rows (MPI_Alltoallv).
 *
 * Slab layout: the R rows are split into P = nspace equal slabs of R / P rows (so R % P == 0);
 * the spectrum is FFTW's transposed output (column bins distributed, every row bin local), which
 * makes the Hermitian projection of the bins j = 0 and j = R/2 a local operation. */
#include "kolmogorov_impl.h"

#include "pirf/check.h"
#include "pirf/prof.h"

#include <math.h>

#include <stdlib.h>
#include <string.h>

int kf_fft_layout_ok(int R, int nspace) { return R % 2 == 0 && R >= 16 && R % nspace == 0; }

/* Tile extents of space rank q. */
static void tile_of(const pirf_decomp *dc, int q, int *xs, int *xm, int *ys, int *ym) {
  int tx = q % dc->px, ty = q / dc->px;
  *xs = *ys = 0;
  for (int i = 0; i < tx; i++) *xs += dc->lx[i];
  for (int j = 0; j < ty; j++) *ys += dc->ly[j];
  *xm = dc->lx[tx];
  *ym = dc->ly[ty];
}

/* Rows [lo, hi) shared by a tile with rows [ys, ys+ym) and the slab of rank r. */
static void overlap(int ys, int ym, int B, int r, int *lo, int *hi) {
  *lo = ys > r * B ? ys : r * B;
  *hi = ys + ym < (r + 1) * B ? ys + ym : (r + 1) * B;
  if (*hi < *lo) *hi = *lo;
}

int kf_fft_create(const pirf_decomp *dc, kf_fft *f) {
  memset(f, 0, sizeof *f);
  static int fftw_mpi_ready = 0;
  if (!fftw_mpi_ready) { /* FFTW's MPI layer: once per process, after MPI_Init */
    fftw_mpi_init();
    fftw_mpi_ready = 1;
  }
  const int R = dc->H;
  f->comm = dc->space;
  f->dc = dc;
  f->R = R;
  f->P = dc->nspace;
  f->rank = dc->space_rank;
  PIRF_USER_CHECK(dc->H == dc->W, "kolmogorov needs a square grid, got %d x %d", dc->H, dc->W);
  const int m = f->P % 2 ? 2 * f->P : f->P; /* R must be a multiple of lcm(2, P) */
  int good = ((R + m - 1) / m) * m;
  while (good < 16) good += m;
  PIRF_USER_CHECK(kf_fft_layout_ok(R, f->P),
                  "kolmogorov's spectral solver splits the grid into %d slabs of whole rows (one "
                  "per rank of parallel.tiles = [%d, %d]) and needs an even grid.resolution >= 16 "
                  "that is a multiple of %d, but grid.resolution is %d; use e.g. %d, or change "
                  "parallel.tiles",
                  f->P, dc->px, dc->py, m, R, good);
  const ptrdiff_t n[2] = {R, R / 2 + 1}, nr[2] = {R, R};
  ptrdiff_t alloc = fftw_mpi_local_size_many_transposed(2, n, 1, R / f->P, FFTW_MPI_DEFAULT_BLOCK,
                                                        f->comm, &f->na, &f->a0, &f->nj, &f->j0);
  PIRF_CHECK(f->na == R / f->P && f->a0 == (ptrdiff_t)f->rank * (R / f->P),
             "FFTW-MPI did not give this rank the expected slab of rows");
  f->nspec = (size_t)f->nj * R;
  f->rbuf = fftw_alloc_real(2 * (size_t)(alloc > 0 ? alloc : 1));
  f->cbuf = fftw_alloc_complex((size_t)(alloc > 0 ? alloc : 1));
  PIRF_CHECK(f->rbuf && f->cbuf, "out of memory allocating the FFT buffers (R = %d)", R);
  f->fwd = fftw_mpi_plan_many_dft_r2c(2, nr, 1, R / f->P, FFTW_MPI_DEFAULT_BLOCK, f->rbuf, f->cbuf,
                                      f->comm, FFTW_ESTIMATE | FFTW_MPI_TRANSPOSED_OUT);
  f->bwd = fftw_mpi_plan_many_dft_c2r(2, nr, 1, FFTW_MPI_DEFAULT_BLOCK, R / f->P, f->cbuf, f->rbuf,
                                      f->comm, FFTW_ESTIMATE | FFTW_MPI_TRANSPOSED_IN);
  PIRF_CHECK(f->fwd && f->bwd, "FFTW-MPI could not plan the %d x %d real transforms", R, R);
  ptrdiff_t na, a0, nj, j0;
  ptrdiff_t balloc = fftw_mpi_local_size_many_transposed(2, n, KF_BATCH, R / f->P,
                                                         FFTW_MPI_DEFAULT_BLOCK, f->comm, &na, &a0,
                                                         &nj, &j0);
  PIRF_CHECK(na == f->na && nj == f->nj, "FFTW-MPI gave the batched transform another layout");
  f->rbatch = fftw_alloc_real(2 * (size_t)(balloc > 0 ? balloc : 1));
  f->cbatch = fftw_alloc_complex((size_t)(balloc > 0 ? balloc : 1));
  PIRF_CHECK(f->rbatch && f->cbatch, "out of memory allocating the FFT buffers (R = %d)", R);
  f->bwd_batch = fftw_mpi_plan_many_dft_c2r(2, nr, KF_BATCH, FFTW_MPI_DEFAULT_BLOCK, R / f->P,
                                            f->cbatch, f->rbatch, f->comm,
                                            FFTW_ESTIMATE | FFTW_MPI_TRANSPOSED_IN);
  PIRF_CHECK(f->bwd_batch, "FFTW-MPI could not plan the batched %d x %d transforms", R, R);

  /* Alltoallv counts for one channel: what this tile sends to each slab, what this slab receives
   * from each tile. */
  const int P = f->P, B = R / P;
  PIRF_ALLOC(f->scount, P, "FFT redistribution counts");
  PIRF_ALLOC(f->sdispl, P, "FFT redistribution counts");
  PIRF_ALLOC(f->rcount, P, "FFT redistribution counts");
  PIRF_ALLOC(f->rdispl, P, "FFT redistribution counts");
  int off = 0;
  for (int r = 0; r < P; r++) {
    int lo, hi;
    overlap(dc->ys, dc->ym, B, r, &lo, &hi);
    f->scount[r] = (hi - lo) * dc->xm;
    f->sdispl[r] = off;
    off += f->scount[r];
  }
  off = 0;
  for (int q = 0; q < P; q++) {
    int xs, xm, ys, ym, lo, hi;
    tile_of(dc, q, &xs, &xm, &ys, &ym);
    overlap(ys, ym, B, f->rank, &lo, &hi);
    f->rcount[q] = (hi - lo) * xm;
    f->rdispl[q] = off;
    off += f->rcount[q];
  }
  PIRF_ALLOC(f->tbuf, (size_t)dc->xm * dc->ym + 1, "FFT redistribution buffer");
  PIRF_ALLOC(f->sbuf, (size_t)B * R + 1, "FFT redistribution buffer");
  return 0;
}

void kf_fft_destroy(kf_fft *f) {
  if (f->fwd) fftw_destroy_plan(f->fwd);
  if (f->bwd) fftw_destroy_plan(f->bwd);
  if (f->bwd_batch) fftw_destroy_plan(f->bwd_batch);
  fftw_free(f->rbatch);
  fftw_free(f->cbatch);
  fftw_free(f->rbuf);
  fftw_free(f->cbuf);
  free(f->scount);
  free(f->sdispl);
  free(f->rcount);
  free(f->rdispl);
  free(f->tbuf);
  free(f->sbuf);
  memset(f, 0, sizeof *f);
}

/* A real 2-D transform of R^2 points, counted as 2.5 R^2 log2(R^2) flops (the usual estimate for
 * real FFTs), shared over the slabs; FFTW-MPI's own transposes are inside. */
static void fft_begin(void) { pirf_prof_begin(PIRF_EV_FFT); }
static void fft_end(const kf_fft *f, int howmany) {
  const double n = (double)f->R * f->R;
  pirf_prof_end(PIRF_EV_FFT, howmany * 2.5 * n * log2(n) / f->P);
}

int kf_fft_r2c(kf_fft *f, const double *slab, fftw_complex *spec) {
  const int R = f->R, ld = 2 * (R / 2 + 1);
  for (ptrdiff_t a = 0; a < f->na; a++) {
    memcpy(f->rbuf + a * ld, slab + a * R, (size_t)R * sizeof(double));
    f->rbuf[a * ld + R] = f->rbuf[a * ld + R + 1] = 0;
  }
  fft_begin();
  fftw_execute(f->fwd);
  fft_end(f, 1);
  memcpy(spec, f->cbuf, f->nspec * sizeof(fftw_complex));
  return 0;
}

int kf_fft_c2r(kf_fft *f, const fftw_complex *spec, double *slab) {
  const int R = f->R, ld = 2 * (R / 2 + 1);
  memcpy(f->cbuf, spec, f->nspec * sizeof(fftw_complex));
  for (ptrdiff_t jl = 0; jl < f->nj; jl++) {
    ptrdiff_t j = f->j0 + jl;
    if (j != 0 && j != R / 2) continue;
    fftw_complex *c = f->cbuf + jl * R;
    const fftw_complex *s = spec + jl * R;
    for (int i = 0; i < R; i++) c[i] = 0.5 * (s[i] + conj(s[(R - i) % R]));
  }
  fft_begin();
  fftw_execute(f->bwd);
  fft_end(f, 1);
  const double inv = 1.0 / ((double)R * R);
  for (ptrdiff_t a = 0; a < f->na; a++)
    for (int b = 0; b < R; b++) slab[a * R + b] = inv * f->rbuf[a * ld + b];
  return 0;
}

int kf_fft_c2r_batch(kf_fft *f, const fftw_complex *const spec[KF_BATCH],
                     double *const slab[KF_BATCH]) {
  const int R = f->R, ld = 2 * (R / 2 + 1), H = KF_BATCH;
  for (ptrdiff_t jl = 0; jl < f->nj; jl++) {
    ptrdiff_t j = f->j0 + jl;
    const int project = j == 0 || j == R / 2; /* as kf_fft_c2r */
    for (int q = 0; q < H; q++) {
      const fftw_complex *s = spec[q] + jl * R;
      fftw_complex *c = f->cbatch + (size_t)jl * R * H + q;
      if (project)
        for (int i = 0; i < R; i++) c[(size_t)i * H] = 0.5 * (s[i] + conj(s[(R - i) % R]));
      else
        for (int i = 0; i < R; i++) c[(size_t)i * H] = s[i];
    }
  }
  fft_begin();
  fftw_execute(f->bwd_batch);
  fft_end(f, H);
  const double inv = 1.0 / ((double)R * R);
  for (ptrdiff_t a = 0; a < f->na; a++)
    for (int b = 0; b < R; b++) {
      const double *r = f->rbatch + ((size_t)a * ld + b) * H;
      for (int q = 0; q < H; q++) slab[q][a * R + b] = inv * r[q];
    }
  return 0;
}

int kf_tile_to_slab(kf_fft *f, int C, const float *tile, double scale, double shift, double *slab) {
  const pirf_decomp *dc = f->dc;
  const int R = f->R, P = f->P, B = R / P;
  for (int c = 0; c < C; c++) {
    const float *t = tile + (size_t)c * dc->xm * dc->ym;
    /* pack rows in slab order: the tile's rows are contiguous runs, already ordered by slab */
    for (int j = 0; j < dc->ym; j++)
      for (int i = 0; i < dc->xm; i++)
        f->tbuf[(size_t)j * dc->xm + i] = scale * ((double)t[(size_t)j * dc->xm + i] - shift);
    pirf_prof_begin(PIRF_EV_FFT_TRANSPOSE);
    PIRF_MPI(MPI_Alltoallv(f->tbuf, f->scount, f->sdispl, MPI_DOUBLE, f->sbuf, f->rcount,
                           f->rdispl, MPI_DOUBLE, f->comm));
    pirf_prof_end(PIRF_EV_FFT_TRANSPOSE, 0);
    double *s = slab + (size_t)c * B * R;
    for (int q = 0; q < P; q++) {
      int xs, xm, ys, ym, lo, hi;
      tile_of(dc, q, &xs, &xm, &ys, &ym);
      overlap(ys, ym, B, f->rank, &lo, &hi);
      const double *src = f->sbuf + f->rdispl[q];
      for (int a = lo; a < hi; a++)
        memcpy(s + (size_t)(a - f->a0) * R + xs, src + (size_t)(a - lo) * xm, (size_t)xm * sizeof(double));
    }
  }
  return 0;
}

int kf_slab_to_tile(kf_fft *f, int C, const double *slab, float alpha, double beta, float *tile) {
  const pirf_decomp *dc = f->dc;
  const int R = f->R, P = f->P, B = R / P;
  for (int c = 0; c < C; c++) {
    const double *s = slab + (size_t)c * B * R;
    for (int q = 0; q < P; q++) {
      int xs, xm, ys, ym, lo, hi;
      tile_of(dc, q, &xs, &xm, &ys, &ym);
      overlap(ys, ym, B, f->rank, &lo, &hi);
      double *dst = f->sbuf + f->rdispl[q];
      for (int a = lo; a < hi; a++)
        memcpy(dst + (size_t)(a - lo) * xm, s + (size_t)(a - f->a0) * R + xs, (size_t)xm * sizeof(double));
    }
    pirf_prof_begin(PIRF_EV_FFT_TRANSPOSE);
    PIRF_MPI(MPI_Alltoallv(f->sbuf, f->rcount, f->rdispl, MPI_DOUBLE, f->tbuf, f->scount,
                           f->sdispl, MPI_DOUBLE, f->comm));
    pirf_prof_end(PIRF_EV_FFT_TRANSPOSE, 0);
    float *t = tile + (size_t)c * dc->xm * dc->ym;
    for (size_t k = 0; k < (size_t)dc->xm * dc->ym; k++)
      t[k] = (float)((alpha != 0.0f ? alpha * (double)t[k] : 0.0) + beta * f->tbuf[k]);
  }
  return 0;
}
