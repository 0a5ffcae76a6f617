/* Shared set-up for physics tests: a deck built from key=value strings, its decomposition and the
 * physics object, plus smooth deterministic test fields evaluated on the tile (so every rank
 * layout sees the same global field). */
#ifndef PIRF_TEST_PHYSICS_HARNESS_H
#define PIRF_TEST_PHYSICS_HARNESS_H

#include "pirf/check.h"
#include "pirf/deck.h"
#include "pirf/physics.h"
#include "pirf/rng.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
  pirf_config *cfg;
  pirf_decomp dc;
  pirf_physics *ph;
} test_physics;

/* tiles_x, tiles_y: the layout; the world must be a multiple of tiles_x * tiles_y. */
static inline int test_physics_setup(test_physics *t, MPI_Comm world, int tiles_x, int tiles_y,
                                     int n, char **overrides) {
  char **all = calloc((size_t)n + 2, sizeof *all);
  char tiles[64], mult[] = "model.channel_mult=[1]";
  snprintf(tiles, sizeof tiles, "parallel.tiles=[%d,%d]", tiles_x, tiles_y);
  all[0] = tiles;
  all[1] = mult;
  for (int i = 0; i < n; i++) all[i + 2] = overrides[i];
  int err = pirf_config_load(&t->cfg, pirf_deck_tables(), NULL, n + 2, all);
  free(all);
  PIRF_TRY(err);
  PIRF_TRY(pirf_deck_decomp(t->cfg, world, &t->dc));
  PIRF_TRY(pirf_physics_create(t->cfg, &t->dc, &t->ph));
  return 0;
}

static inline void test_physics_teardown(test_physics *t) {
  pirf_physics_destroy(&t->ph);
  pirf_decomp_destroy(&t->dc);
  pirf_config_destroy(&t->cfg);
}

/* A smooth field on the unit square: a few random Fourier modes (amplitude `amp` around
 * `offset`), a pure function of (key, channel, global pixel). */
static inline void test_smooth_field(const pirf_decomp *dc, int C, uint32_t key, double amp,
                                     const double *offset, float *x) {
  for (int c = 0; c < C; c++)
    for (int j = 0; j < dc->ym; j++)
      for (int i = 0; i < dc->xm; i++) {
        double X = (dc->xs + i + 0.5) / dc->W, Y = (dc->ys + j + 0.5) / dc->H, v = 0;
        for (int m = 0; m < 4; m++) {
          double kx = 1 + m % 2, ky = 1 + m / 2;
          double a = pirf_rng_normal(key, PIRF_STREAM_TEST, 0, 0, (uint32_t)c, (uint32_t)m);
          double p = 2 * M_PI * pirf_rng_uniform(key, PIRF_STREAM_TEST, 1, 0, (uint32_t)c, (uint32_t)m);
          v += a * cos(2 * M_PI * (kx * X + ky * Y) + p);
        }
        x[((size_t)c * dc->ym + j) * dc->xm + i] = (float)((offset ? offset[c] : 0.0) + amp * v / 2);
      }
}

/* Global <a, b> over the tile arrays (n values per rank), reduced over the space communicator. */
static inline double test_dot(const pirf_decomp *dc, size_t n, const float *a, const float *b) {
  double s = 0;
  for (size_t k = 0; k < n; k++) s += (double)a[k] * b[k];
  MPI_Allreduce(MPI_IN_PLACE, &s, 1, MPI_DOUBLE, MPI_SUM, dc->space);
  return s;
}

#endif
