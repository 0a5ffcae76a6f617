/* Fidelity of generated samples to held-out data (see pirf/fidelity.h). */
#include "pirf/fidelity.h"

#include "pirf/check.h"
#include "pirf/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int has_levels(const pirf_pde *pde) {
  return pde->levels_channel >= 0 && (pde->levels[0] != 0 || pde->levels[1] != 0);
}

enum { BOOTSTRAP = 64 };

int pirf_fidelity_init(pirf_fidelity *f, const pirf_physics *ph, int nproj) {
  memset(f, 0, sizeof *f);
  f->ph = ph;
  const pirf_decomp *dc = ph->dc;
  const int C = ph->pde->channels;
  const size_t plane = (size_t)dc->xm * dc->ym, n = (size_t)C * plane;
  for (int s = 0; s < 2; s++) {
    PIRF_ALLOC(f->sum[s], n, "fidelity sums");
    PIRF_ALLOC(f->sum2[s], n, "fidelity sums");
  }
  if (nproj <= 0) return 0;
  f->nproj = nproj;
  PIRF_ALLOC(f->dir, (size_t)nproj * n, "the sliced Wasserstein directions");
  double *norm2;
  PIRF_ALLOC(norm2, (size_t)nproj, "the sliced Wasserstein directions");
  for (int j = 0; j < nproj; j++) {
    norm2[j] = 0;
    for (int c = 0; c < C; c++)
      for (int y = 0; y < dc->ym; y++)
        for (int x = 0; x < dc->xm; x++) {
          const uint32_t pix = (uint32_t)((dc->ys + y) * dc->W + dc->xs + x);
          const double z = pirf_rng_normal(0, PIRF_STREAM_SLICE, 0, (uint32_t)j, (uint32_t)c, pix);
          f->dir[((size_t)j * C + c) * plane + (size_t)y * dc->xm + x] = (float)z;
          norm2[j] += (double)(float)z * (float)z;
        }
  }
  int err = MPI_Allreduce(MPI_IN_PLACE, norm2, nproj, MPI_DOUBLE, MPI_SUM, dc->space);
  for (int j = 0; j < nproj && !err; j++) {
    const float inv = (float)(1 / sqrt(norm2[j]));
    for (size_t k = 0; k < n; k++) f->dir[(size_t)j * n + k] *= inv;
  }
  free(norm2);
  PIRF_MPI(err);
  return 0;
}

/* room for `more` samples' projections in set s */
static int grow(pirf_fidelity *f, int s, long more) {
  const long need = (long)f->count[s] + more;
  if (need <= f->proj_cap[s]) return 0;
  long cap = f->proj_cap[s] ? 2 * f->proj_cap[s] : 64;
  while (cap < need) cap *= 2;
  const size_t row = (size_t)f->nproj * f->ph->pde->channels;
  double *p = realloc(f->proj[s], (size_t)cap * row * sizeof *p);
  PIRF_CHECK(p, "out of memory for the projections of %ld samples", cap);
  f->proj[s] = p;
  f->proj_cap[s] = cap;
  return 0;
}

int pirf_fidelity_copy_reference(pirf_fidelity *dst, const pirf_fidelity *src) {
  const size_t n = (size_t)src->ph->pde->channels * src->ph->dc->xm * src->ph->dc->ym;
  memcpy(dst->sum[1], src->sum[1], n * sizeof *dst->sum[1]);
  memcpy(dst->sum2[1], src->sum2[1], n * sizeof *dst->sum2[1]);
  dst->count[1] = 0;
  if (dst->nproj) {
    PIRF_CHECK(dst->nproj == src->nproj, "fidelity sets with different directions");
    PIRF_TRY(grow(dst, 1, (long)src->count[1]));
    memcpy(dst->proj[1], src->proj[1],
           (size_t)src->count[1] * dst->nproj * src->ph->pde->channels * sizeof *dst->proj[1]);
  }
  dst->count[1] = src->count[1];
  return 0;
}

int pirf_fidelity_add(pirf_fidelity *f, int set, int B, const float *x) {
  const pirf_physics *ph = f->ph;
  const int C = ph->pde->channels;
  const size_t plane = (size_t)ph->dc->xm * ph->dc->ym, n = C * plane;
  const int lc = ph->pde->levels_channel;
  double *v = NULL; /* one channel in physical units, for the projections */
  if (f->nproj) {
    PIRF_TRY(grow(f, set, B));
    PIRF_ALLOC(v, plane, "a channel in physical units");
  }
  for (int b = 0; b < B; b++) {
    double *p = f->nproj ? f->proj[set] + ((size_t)f->count[set] + b) * f->nproj * C : NULL;
    for (int c = 0; c < C; c++) {
      for (size_t k = 0; k < plane; k++) {
        const double u = (x[b * n + c * plane + k] - ph->norm_shift[c]) / ph->norm_scale[c];
        if (v) v[k] = u;
        f->sum[set][c * plane + k] += u;
        f->sum2[set][c * plane + k] += u * u;
        if (set == 0 && c == lc && has_levels(ph->pde)) {
          const double *L = ph->pde->levels;
          f->level_sum += fmin(fabs(u - L[0]), fabs(u - L[1])) / fabs(L[1] - L[0]);
          f->level_count += 1;
        }
      }
      for (int j = 0; p && j < f->nproj; j++) { /* this tile's part of <x_c, theta_jc> */
        const float *d = f->dir + ((size_t)j * C + c) * plane;
        double dot = 0;
        for (size_t k = 0; k < plane; k++) dot += v[k] * d[k];
        p[(size_t)j * C + c] = dot;
      }
    }
  }
  free(v);
  f->count[set] += B;
  return 0;
}

/* W2^2 between the empirical distributions of sorted a[0..n) and b[0..m): the integral over
 * u in (0, 1) of the squared difference of their quantile functions, exact (both are steps). */
static double w2_sorted(const double *a, long n, const double *b, long m) {
  double s = 0, u = 0;
  long i = 0, j = 0;
  while (i < n && j < m) {
    const double ua = (double)(i + 1) / n, ub = (double)(j + 1) / m, next = ua < ub ? ua : ub;
    s += (a[i] - b[j]) * (a[i] - b[j]) * (next - u);
    u = next;
    if (ua <= next) i++;
    if (ub <= next) j++;
  }
  return s;
}

static int cmp_double(const void *x, const void *y) {
  const double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

/* sliced W2 of the projections q[s][i * nproj + j] (n[s] samples per set); with resample, the
 * samples are drawn with replacement (bootstrap replicate r) */
static double sliced(const double *const q[2], const long n[2], int nproj, int resample,
                     uint32_t r, double *work[2]) {
  double acc = 0;
  for (int j = 0; j < nproj; j++) {
    for (int s = 0; s < 2; s++) {
      for (long i = 0; i < n[s]; i++) {
        long k = i;
        if (resample) {
          k = (long)(n[s] * pirf_rng_uniform(0, PIRF_STREAM_SLICE, 1 + r, (uint32_t)i,
                                             (uint32_t)s, 0));
          if (k >= n[s]) k = n[s] - 1;
        }
        work[s][i] = q[s][k * nproj + j];
      }
      qsort(work[s], (size_t)n[s], sizeof *work[s], cmp_double);
    }
    acc += w2_sorted(work[0], n[0], work[1], n[1]);
  }
  return sqrt(acc / nproj);
}

/* the sample order of one set, canonical whatever the layout: by the first projection */
static int cmp_first(const void *x, const void *y) { return cmp_double(x, y); }

/* Sums each sample's projections over the tiles, gathers every group's samples, and computes the
 * sliced distance and its bootstrap standard error from the channels' scales s[c]. */
static int finish_sliced(pirf_fidelity *f, const double *scale, pirf_fidelity_result *r) {
  const pirf_decomp *dc = f->ph->dc;
  const int C = f->ph->pde->channels, J = f->nproj;
  const size_t row = (size_t)J * C;
  double *q[2] = {NULL, NULL}, *work[2] = {NULL, NULL};
  long n[2] = {0, 0};
  int err = 0;
  for (int s = 0; s < 2 && !err; s++) {
    const int mine = (int)f->count[s];
    if (mine > 0)
      err = MPI_Allreduce(MPI_IN_PLACE, f->proj[s], (int)(mine * row), MPI_DOUBLE, MPI_SUM,
                          dc->space);
    int *cnt = calloc(2 * (size_t)dc->ndata, sizeof *cnt), *off = cnt ? cnt + dc->ndata : NULL;
    if (!err && !cnt) err = PIRF_ERR;
    if (!err) err = MPI_Allgather(&mine, 1, MPI_INT, cnt, 1, MPI_INT, dc->data);
    for (int g = 0; g < dc->ndata && !err; g++) {
      off[g] = (int)(n[s] * row);
      n[s] += cnt[g];
      cnt[g] *= (int)row;
    }
    double *all = err ? NULL : malloc((size_t)(n[s] > 0 ? n[s] : 1) * row * sizeof *all);
    q[s] = err ? NULL : malloc((size_t)(n[s] > 0 ? n[s] : 1) * J * sizeof *q[s]);
    work[s] = err ? NULL : malloc((size_t)(n[s] > 0 ? n[s] : 1) * sizeof *work[s]);
    if (!err && (!all || !q[s] || !work[s])) err = PIRF_ERR;
    if (!err)
      err = MPI_Allgatherv(f->proj[s] ? f->proj[s] : (double *)all, mine * (int)row, MPI_DOUBLE,
                           all, cnt, off, MPI_DOUBLE, dc->data);
    for (long i = 0; i < n[s] && !err; i++)
      for (int j = 0; j < J; j++) {
        double v = 0;
        for (int c = 0; c < C; c++) v += all[i * row + (size_t)j * C + c] / scale[c];
        q[s][i * J + j] = v;
      }
    if (!err) qsort(q[s], (size_t)n[s], J * sizeof *q[s], cmp_first);
    free(all);
    free(cnt);
  }
  if (!err) {
    const double *const qc[2] = {q[0], q[1]};
    r->sliced_w2 = sliced(qc, n, J, 0, 0, work);
    double m = 0, m2 = 0;
    for (uint32_t b = 0; b < BOOTSTRAP; b++) {
      const double v = sliced(qc, n, J, 1, b, work);
      m += v / BOOTSTRAP;
      m2 += v * v / BOOTSTRAP;
    }
    r->sliced_w2_se = sqrt(fmax(m2 - m * m, 0) * BOOTSTRAP / (BOOTSTRAP - 1));
  }
  for (int s = 0; s < 2; s++) free(q[s]), free(work[s]);
  PIRF_CHECK(!err, "the sliced Wasserstein distance failed (out of memory or MPI error %d)", err);
  return 0;
}

int pirf_fidelity_finish(pirf_fidelity *f, pirf_fidelity_result *r) {
  const pirf_physics *ph = f->ph;
  const pirf_decomp *dc = ph->dc;
  const int C = ph->pde->channels;
  const size_t plane = (size_t)dc->xm * dc->ym, n = C * plane;
  /* per-pixel sums over data groups (ranks holding the same tile) */
  for (int s = 0; s < 2; s++) {
    PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, f->sum[s], (int)n, MPI_DOUBLE, MPI_SUM, dc->data));
    PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, f->sum2[s], (int)n, MPI_DOUBLE, MPI_SUM, dc->data));
  }
  double counts[4] = {f->count[0], f->count[1], f->level_sum, f->level_count};
  /* counts are per group (identical on the tiles of a group): sum over groups only */
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, counts, 4, MPI_DOUBLE, MPI_SUM, dc->data));
  PIRF_CHECK(counts[0] > 1 && counts[1] > 1, "fidelity needs at least 2 generated and 2 reference samples");
  double acc[5 * PIRF_MAX_CHANNELS] = {0};
  for (int c = 0; c < C; c++)
    for (size_t k = 0; k < plane; k++) {
      double m[2], sd[2];
      for (int s = 0; s < 2; s++) {
        double N = counts[s];
        m[s] = f->sum[s][c * plane + k] / N;
        sd[s] = sqrt(fmax(f->sum2[s][c * plane + k] / N - m[s] * m[s], 0) * N / (N - 1));
      }
      acc[5 * c] += (m[0] - m[1]) * (m[0] - m[1]);
      acc[5 * c + 1] += (sd[0] - sd[1]) * (sd[0] - sd[1]);
      acc[5 * c + 2] += sd[1] * sd[1];
      /* squared standard errors of the pixel's mean and sd difference (see pirf/fidelity.h) */
      const double v0 = sd[0] * sd[0], v1 = sd[1] * sd[1];
      acc[5 * c + 3] += v0 / counts[0] + v1 / counts[1];
      acc[5 * c + 4] += v0 / (2 * (counts[0] - 1)) + v1 / (2 * (counts[1] - 1));
    }
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, acc, 5 * C, MPI_DOUBLE, MPI_SUM, dc->space));
  r->channels = C;
  for (int c = 0; c < C; c++) {
    const double ref = sqrt(acc[5 * c + 2]), div = ref > 0 ? ref : 1;
    r->mean_error[c] = sqrt(acc[5 * c]) / div;
    r->std_error[c] = sqrt(acc[5 * c + 1]) / div;
    r->mean_error_se[c] = sqrt(acc[5 * c + 3]) / div;
    r->std_error_se[c] = sqrt(acc[5 * c + 4]) / div;
  }
  r->nproj = f->nproj;
  r->sliced_w2 = r->sliced_w2_se = -1;
  if (f->nproj) {
    double scale[PIRF_MAX_CHANNELS];
    for (int c = 0; c < C; c++) {
      const double ms = acc[5 * c + 2] / ((double)dc->H * dc->W);
      scale[c] = ms > 0 ? sqrt(ms) : 1;
    }
    PIRF_TRY(finish_sliced(f, scale, r));
  }
  double lv[2] = {counts[2], counts[3]};
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, lv, 2, MPI_DOUBLE, MPI_SUM, dc->space));
  r->level_offset = lv[1] > 0 ? lv[0] / lv[1] : -1;
  return 0;
}

void pirf_fidelity_free(pirf_fidelity *f) {
  for (int s = 0; s < 2; s++) {
    free(f->sum[s]);
    free(f->sum2[s]);
    free(f->proj[s]);
  }
  free(f->dir);
  memset(f, 0, sizeof *f);
}
