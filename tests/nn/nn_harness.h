/* Shared helpers for the nn layer tests: reproducible random fields addressed by GLOBAL indices
 * (so a tiled run and a whole-field run see the same numbers), tile extraction and MPI dot
 * products in double. */
#ifndef PIRF_NN_HARNESS_H
#define PIRF_NN_HARNESS_H

#include "pirf/level.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

/* A uniform value in [-1, 1) from four integers (splitmix64 finalizer of their mix). */
static inline float nn_rand(uint64_t seed, uint64_t a, uint64_t b, uint64_t c) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + a * 0xBF58476D1CE4E5B9ull + b * 0x94D049BB133111EBull +
               c * 0xD6E8FEB86659FD93ull + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (float)((double)(z >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0);
}

/* t[n][ym][xm] = the tile of L of the global random field (seed, plane, row, column). */
static inline void nn_fill_tile(const pirf_level *L, int n, uint64_t seed, float *t) {
  for (int p = 0; p < n; p++)
    for (int i = 0; i < L->ym; i++)
      for (int j = 0; j < L->xm; j++)
        t[((size_t)p * L->ym + i) * L->xm + j] =
            nn_rand(seed, (uint64_t)p, (uint64_t)(L->ys + i), (uint64_t)(L->xs + j));
}

static inline void nn_fill_vec(size_t n, uint64_t seed, float *v) {
  for (size_t k = 0; k < n; k++) v[k] = nn_rand(seed, k, 7, 11);
}

/* The tile of L cut out of a whole field g[n][H][W]. */
static inline void nn_cut_tile(const pirf_level *L, int n, const float *g, float *t) {
  for (int p = 0; p < n; p++)
    for (int i = 0; i < L->ym; i++)
      for (int j = 0; j < L->xm; j++)
        t[((size_t)p * L->ym + i) * L->xm + j] =
            g[((size_t)p * L->H + L->ys + i) * L->W + L->xs + j];
}

static inline double nn_dot(MPI_Comm comm, size_t n, const float *a, const float *b) {
  double s = 0.0;
  for (size_t k = 0; k < n; k++) s += (double)a[k] * b[k];
  MPI_Allreduce(MPI_IN_PLACE, &s, 1, MPI_DOUBLE, MPI_SUM, comm);
  return s;
}

static inline float *nn_alloc(size_t n) {
  float *p = calloc(n ? n : 1, sizeof *p);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  return p;
}

/* Memory the code under test must overwrite (outputs, scratch): filled with NaN so a cell it
 * forgets to write cannot pass as a zero. */
static inline float *nn_alloc_dirty(size_t n) {
  float *p = nn_alloc(n);
  for (size_t k = 0; k < n; k++) p[k] = NAN;
  return p;
}

/* The tile layout used at each rank count: [1,1], [2,1], [2,2] (argv may override). */
static inline void nn_layout(int argc, char **argv, int size, int *px, int *py) {
  *px = size >= 2 ? 2 : 1;
  *py = size >= 4 ? 2 : 1;
  if (argc >= 3) *px = atoi(argv[1]), *py = atoi(argv[2]);
}

#endif
