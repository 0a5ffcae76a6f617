/* GroupNorm over the global sample on tiles (see pirf/groupnorm.h for the contract).
 *
 * Forward: per (sample, group) partial sums of x and x^2 over this tile in double, one Allreduce
 * over the space group for all B*G pairs, then normalise the tile. Backward in llm.c's shape: the
 * two reductions (local, then one Allreduce), then one accumulation loop. */
#include "pirf/groupnorm.h"

#include "pirf/check.h"
#include "pirf/prof.h"

#include <math.h>

size_t pirf_groupnorm_work_size(int B, int G) { return 2 * (size_t)B * (size_t)G; }

/* The group sums of every sample over the tiles it is split into. */
static int reduce_sums(double *work, int B, int G, const pirf_level *L) {
  pirf_prof_begin(PIRF_EV_GROUPNORM_REDUCE);
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, work, (int)(2 * (size_t)B * G), MPI_DOUBLE, MPI_SUM,
                         L->comm));
  pirf_prof_end(PIRF_EV_GROUPNORM_REDUCE, 0);
  return 0;
}

static int check_shape(int C, int G) {
  PIRF_CHECK(G > 0 && C % G == 0, "GroupNorm needs the channel count %d to be a multiple of the "
             "group count %d", C, G);
  return 0;
}

/* The sum and the sum of squares of x[0..m) in double, in LANES interleaved partial sums: one
 * accumulator would serialise on the add's latency (a quarter of an element per cycle); LANES
 * of them vectorise. The order is fixed, so the result does not depend on anything but x. */
static void group_sums(const float *x, size_t m, double *sum, double *sumsq) {
  enum { LANES = 16 };
  double s[LANES] = {0}, q[LANES] = {0};
  size_t k = 0;
  for (; k + LANES <= m; k += LANES)
    for (int j = 0; j < LANES; j++) {
      const double v = x[k + j];
      s[j] += v;
      q[j] += v * v;
    }
  for (; k < m; k++) {
    const double v = x[k];
    s[0] += v;
    q[0] += v * v;
  }
  for (int w = LANES / 2; w > 0; w /= 2) /* pairwise */
    for (int j = 0; j < w; j++) {
      s[j] += s[j + w];
      q[j] += q[j + w];
    }
  *sum = s[0];
  *sumsq = q[0];
}

/* y from x and the group statistics: the one place the normalisation is written, so that a
 * backward which recomputes y from the stored statistics (pirf_groupnorm_apply) gets the forward's
 * floats exactly. Elementwise: y may be x. */
static void normalize(float *y, const float *x, const float *mean, const float *rstd,
                      const float *gamma, const float *beta, int B, int C, int G,
                      const pirf_level *L) {
  const size_t n = (size_t)L->xm * L->ym;
  const int cg = C / G;
  for (int b = 0; b < B; b++)
    for (int c = 0; c < C; c++) {
      size_t bg = (size_t)b * G + c / cg;
      const float m = mean[bg], r = rstd[bg], ga = gamma[c], be = beta[c];
      const float *xi = x + ((size_t)b * C + c) * n;
      float *yo = y + ((size_t)b * C + c) * n;
      /* centre first: x*a + (beta - m*a) would cancel when |mean| >> std */
      for (size_t k = 0; k < n; k++) yo[k] = (xi[k] - m) * r * ga + be;
    }
}

int pirf_groupnorm_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                           const float *beta, int B, int C, int G, float eps, const pirf_level *L,
                           double *work) {
  PIRF_TRY(check_shape(C, G));
  pirf_prof_begin(PIRF_EV_GROUPNORM_FWD);
  const size_t n = (size_t)L->xm * L->ym;
  const int cg = C / G;
  double *sum = work, *sumsq = work + (size_t)B * G;
  for (int b = 0; b < B; b++)
    for (int g = 0; g < G; g++) {
      /* a group's channels are contiguous: one run of cg*n floats */
      const float *xg = x + ((size_t)b * C + (size_t)g * cg) * n;
      group_sums(xg, (size_t)cg * n, &sum[(size_t)b * G + g], &sumsq[(size_t)b * G + g]);
    }
  PIRF_TRY(reduce_sums(work, B, G, L));
  const double count = (double)cg * L->H * L->W;
  for (int b = 0; b < B; b++)
    for (int g = 0; g < G; g++) {
      size_t bg = (size_t)b * G + g;
      double mu = sum[bg] / count;
      double var = sumsq[bg] / count - mu * mu;
      if (var < 0.0) var = 0.0; /* rounding can push a constant group's variance below zero */
      mean[bg] = (float)mu;
      rstd[bg] = (float)(1.0 / sqrt(var + (double)eps));
    }
  normalize(y, x, mean, rstd, gamma, beta, B, C, G, L);
  pirf_prof_end(PIRF_EV_GROUPNORM_FWD, 7.0 * B * C * n); /* 3 for the sums, 4 to normalise */
  return 0;
}

int pirf_groupnorm_apply(float *y, const float *x, const float *mean, const float *rstd,
                         const float *gamma, const float *beta, int B, int C, int G,
                         const pirf_level *L) {
  PIRF_TRY(check_shape(C, G));
  pirf_prof_begin(PIRF_EV_GROUPNORM_FWD);
  normalize(y, x, mean, rstd, gamma, beta, B, C, G, L);
  pirf_prof_end(PIRF_EV_GROUPNORM_FWD, 4.0 * B * C * (size_t)L->xm * L->ym);
  return 0;
}

int pirf_groupnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                            const float *gamma, const float *mean, const float *rstd, int B, int C,
                            int G, const pirf_level *L, double *work) {
  PIRF_TRY(check_shape(C, G));
  pirf_prof_begin(PIRF_EV_GROUPNORM_BWD);
  const size_t n = (size_t)L->xm * L->ym;
  const int cg = C / G;
  /* the two reductions: sum of dxhat and of dxhat*xhat over the group (dxhat = dy * gamma) */
  double *sum_dxhat = work, *sum_dxhat_xhat = work + (size_t)B * G;
  for (int b = 0; b < B; b++)
    for (int g = 0; g < G; g++) {
      size_t bg = (size_t)b * G + g;
      const float m = mean[bg], r = rstd[bg];
      double s1 = 0.0, s2 = 0.0;
      for (int c = g * cg; c < (g + 1) * cg; c++) {
        const float *xi = x + ((size_t)b * C + c) * n, *g_ = dy + ((size_t)b * C + c) * n;
        double sg = 0.0, sgx = 0.0; /* this tile's sum dy and sum dy*xhat for channel c */
        for (size_t k = 0; k < n; k++) {
          double xhat = (double)((xi[k] - m) * r);
          sg += g_[k];
          sgx += g_[k] * xhat;
        }
        s1 += gamma[c] * sg;
        s2 += gamma[c] * sgx;
        /* parameter gradients: this tile's partial sums (the caller reduces over ranks) */
        if (dgamma) dgamma[c] += (float)sgx;
        if (dbeta) dbeta[c] += (float)sg;
      }
      sum_dxhat[bg] = s1;
      sum_dxhat_xhat[bg] = s2;
    }
  PIRF_TRY(reduce_sums(work, B, G, L));
  /* one accumulation loop: dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat*xhat)) */
  const double count = (double)cg * L->H * L->W;
  for (int b = 0; b < B; b++)
    for (int c = 0; c < C; c++) {
      size_t bg = (size_t)b * G + c / cg;
      const float m = mean[bg], r = rstd[bg], ga = gamma[c];
      const float mean_dxhat = (float)(sum_dxhat[bg] / count);           /* the mean shift */
      const float mean_dxhat_xhat = (float)(sum_dxhat_xhat[bg] / count); /* the variance term */
      const float *xi = x + ((size_t)b * C + c) * n, *g_ = dy + ((size_t)b * C + c) * n;
      float *d = dx + ((size_t)b * C + c) * n;
      for (size_t k = 0; k < n; k++) {
        float xhat = (xi[k] - m) * r;
        d[k] += r * (g_[k] * ga - mean_dxhat - xhat * mean_dxhat_xhat);
      }
    }
  pirf_prof_end(PIRF_EV_GROUPNORM_BWD, 14.0 * B * C * n); /* 6 for the sums, 8 for dx */
  return 0;
}
