/* Shared helpers for the nn layer tests.
 *
 *  - layouts: every tiles [px, py] that the job's rank count allows (1: [1,1]; 2: [2,1], [1,2];
 *    4: [2,2], and [2,1], [1,2] as 2 data groups), each paired in the test with a whole-field
 *    reference on a [1,1] decomposition of the same world (every rank its own group), as
 *    tests/physics/test_residual_adjoint.c does;
 *  - deterministic fields: a value is a pure function of (tag, global sample, channel, global
 *    pixel), so the tiled run and the whole-field reference see the same inputs;
 *  - per-element central finite differences of a scalar loss (computed in double from the float32
 *    layer outputs), with the step measured as the float difference actually applied.
 * The grid is deliberately not square (H != W) so a row/column mix-up shows. */
#ifndef PIRF_TEST_NN_TESTING_H
#define PIRF_TEST_NN_TESTING_H

#include "pirf/level.h"
#include "pirf/rng.h"
#include "testing.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define TEST_H 16
#define TEST_W 24
#define TEST_LEVELS 2

typedef struct {
  pirf_decomp dc;
  pirf_level L;
} test_layout;

/* The tile layouts to exercise at this world size; returns how many (at most 4). */
static inline int test_layouts_for(int size, int px[4], int py[4]) {
  int n = 0;
  if (size == 1) { px[n] = 1; py[n++] = 1; }
  if (size == 2) { px[n] = 2; py[n++] = 1; px[n] = 1; py[n++] = 2; }
  if (size == 4) {
    px[n] = 2; py[n++] = 2;
    px[n] = 2; py[n++] = 1; /* 2 data groups x 2 tiles */
    px[n] = 1; py[n++] = 2;
  }
  if (n == 0) { px[n] = 1; py[n++] = 1; }
  return n;
}

static inline void test_layout_create(test_layout *t, int px, int py, int level) {
  if (pirf_decomp_create(MPI_COMM_WORLD, TEST_H, TEST_W, px, py, TEST_LEVELS, &t->dc)) {
    fprintf(stderr, "decomposition [%d, %d] failed\n", px, py);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  pirf_level_init(&t->L, &t->dc, level);
}

static inline void test_layout_destroy(test_layout *t) { pirf_decomp_destroy(&t->dc); }

static inline void *test_alloc(size_t bytes) {
  void *p = calloc(bytes ? bytes : 1, 1);
  if (!p) {
    fprintf(stderr, "test allocation of %zu bytes failed\n", bytes);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  return p;
}

/* x[b][c][tile] = offset + scale * N(0,1) keyed by (tag, sample0 + b, c, global pixel). */
static inline void test_fill_tile(float *x, const pirf_level *L, int B, int C, uint32_t sample0,
                                  uint32_t tag, double scale, double offset) {
  for (int b = 0; b < B; b++)
    for (int c = 0; c < C; c++)
      for (int j = 0; j < L->ym; j++)
        for (int i = 0; i < L->xm; i++) {
          uint32_t pix = (uint32_t)(L->ys + j) * (uint32_t)L->W + (uint32_t)(L->xs + i);
          x[(((size_t)b * C + c) * L->ym + j) * L->xm + i] =
              (float)(offset + scale * pirf_rng_normal(1234, PIRF_STREAM_TEST, tag,
                                                       sample0 + (uint32_t)b, (uint32_t)c, pix));
        }
}

/* A parameter-like vector: v[i] = offset + scale * N(0,1) keyed by (tag, i). */
static inline void test_fill_vec(float *v, size_t n, uint32_t tag, double scale, double offset) {
  for (size_t i = 0; i < n; i++)
    v[i] = (float)(offset + scale * pirf_rng_normal(1234, PIRF_STREAM_TEST, tag, 0, 0, (uint32_t)i));
}

static inline double test_dot(const float *a, const float *b, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
  return s;
}

/* Max |tile - whole at the tile's pixels| and max |whole| over this rank's tile, for [B][C] planes. */
static inline void test_tile_diff(const float *tile, const pirf_level *Lt, const float *whole,
                                  const pirf_level *Lw, int B, int C, double *maxdiff,
                                  double *maxref) {
  *maxdiff = 0.0;
  *maxref = 0.0;
  for (int b = 0; b < B; b++)
    for (int c = 0; c < C; c++)
      for (int j = 0; j < Lt->ym; j++)
        for (int i = 0; i < Lt->xm; i++) {
          double t = tile[(((size_t)b * C + c) * Lt->ym + j) * Lt->xm + i];
          double w = whole[(((size_t)b * C + c) * Lw->ym + Lt->ys + j) * Lw->xm + Lt->xs + i];
          *maxdiff = fmax(*maxdiff, fabs(t - w));
          *maxref = fmax(*maxref, fabs(w));
        }
}

/* Checks "tiled == whole" for a [B][C] tile field to rtol relative to the largest reference value;
 * the verdict is reduced over the world so every rank reports the same. */
static inline void test_check_tile(const char *what, const float *tile, const pirf_level *Lt,
                                   const float *whole, const pirf_level *Lw, int B, int C,
                                   double rtol) {
  double d[2];
  test_tile_diff(tile, Lt, whole, Lw, B, C, &d[0], &d[1]);
  MPI_Allreduce(MPI_IN_PLACE, d, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  TEST_CHECK(d[0] <= rtol * d[1], "%s: max |diff| %.3g vs max |ref| %.3g (tiles [%d, %d], %d groups)",
             what, d[0], d[1], Lt->dc->px, Lt->dc->py, Lt->dc->ndata);
}

/* Checks two equally laid out vectors (parameter gradients) to rtol relative to max |ref|. */
static inline void test_check_vec(const char *what, const float *a, const float *ref, size_t n,
                                  double rtol) {
  double d[2] = {0.0, 0.0};
  for (size_t i = 0; i < n; i++) {
    d[0] = fmax(d[0], fabs((double)a[i] - ref[i]));
    d[1] = fmax(d[1], fabs((double)ref[i]));
  }
  MPI_Allreduce(MPI_IN_PLACE, d, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  TEST_CHECK(d[0] <= rtol * d[1], "%s: max |diff| %.3g vs max |ref| %.3g", what, d[0], d[1]);
}

typedef double (*test_loss_fn)(void *ctx);

/* Central differences of loss() with respect to every element of p[n], against the analytic
 * gradient grad[n]. Passes when every |fd - grad| <= rtol * |fd| + atol * max|fd|; prints the first
 * mismatches and the worst ratio. */
static inline void test_grad_fd(const char *what, float *p, size_t n, const float *grad,
                                test_loss_fn loss, void *ctx, double eps, double rtol, double atol) {
  double *fd = test_alloc(n * sizeof *fd);
  double fdmax = 0.0;
  for (size_t i = 0; i < n; i++) {
    float v = p[i];
    float vp = (float)(v + eps), vm = (float)(v - eps);
    p[i] = vp;
    double lp = loss(ctx);
    p[i] = vm;
    double lm = loss(ctx);
    p[i] = v;
    fd[i] = (lp - lm) / ((double)vp - (double)vm);
    fdmax = fmax(fdmax, fabs(fd[i]));
  }
  int bad = 0;
  double worst = 0.0;
  for (size_t i = 0; i < n; i++) {
    double tol = rtol * fabs(fd[i]) + atol * fdmax;
    double err = fabs(fd[i] - grad[i]);
    worst = fmax(worst, err / (tol > 0 ? tol : 1e-300));
    if (err > tol && bad++ < 5)
      fprintf(stderr, "  %s[%zu]: finite difference %.8g, analytic %.8g\n", what, i, fd[i],
              (double)grad[i]);
  }
  if (test_rank_() == 0)
    printf("%s: worst err/tol %.3g over %zu elements (max |fd| %.3g)\n", what, worst, n, fdmax);
  TEST_CHECK(bad == 0 && fdmax > 0.0,
             "%s: gradient does not match finite differences at %d of %zu elements "
             "(worst err/tol %.3g, max |fd| %.3g)",
             what, bad, n, worst, fdmax);
  free(fd);
}

#endif
