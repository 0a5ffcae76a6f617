/* Shared helpers for the model tests: a tiny SongUNet configuration that still has every kind of
 * module (down, up, attention in encoder and decoder, skip convs, concatenations, aux), random
 * parameters that make every path matter (EDM's near-zero init of conv1/proj/aux_conv would hide
 * most gradients), and random fields addressed by GLOBAL indices so every layout sees the same
 * numbers. */
#ifndef PIRF_MODEL_HARNESS_H
#define PIRF_MODEL_HARNESS_H

#include "pirf/level.h"
#include "pirf/rng.h"
#include "pirf/unet.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

/* 16x16, 2 data channels, channels 8, channel_mult [1, 2], 1 block, attention at 8x8: encoder
 * 16x16_conv, 16x16_block0, 8x8_down, 8x8_block0 (attention); decoder 8x8_in0 (attention),
 * 8x8_in1, 8x8_block0, 8x8_block1 (attention), 16x16_up, 16x16_block0, 16x16_block1, aux. */
static inline pirf_unet_config model_tiny_config(double dropout) {
  pirf_unet_config uc = {.resolution = 16, .in_channels = 2, .out_channels = 2,
                         .model_channels = 8, .levels = 2, .channel_mult = {1, 2},
                         .num_blocks = 1, .nattn = 1, .attn_resolutions = {8},
                         .dropout = dropout, .emb_channels = 32, .noise_channels = 8};
  return uc;
}

static inline float *model_alloc(size_t n) {
  float *p = calloc(n ? n : 1, sizeof *p);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  return p;
}

/* Uniform in (-1, 1) of (purpose a, index b, c, d), the same on every rank. */
static inline double model_rand(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return 2.0 * pirf_rng_uniform(1234, PIRF_STREAM_TEST, a, b, c, d) - 1.0;
}

/* Random parameters: matrices xavier-scaled, GroupNorm weights 1 +- 0.3, biases +- 0.3. */
static inline void model_random_params(const pirf_unet *net, uint32_t seed, float *params) {
  for (int i = 0; i < net->table.n; i++) {
    const pirf_param *p = &net->table.p[i];
    double scale = 0.3, shift = 0.0;
    if (p->ndim >= 2) {
      double ksq = p->ndim == 4 ? (double)p->shape[2] * p->shape[3] : 1.0;
      scale = sqrt(6.0 / ((p->shape[0] + p->shape[1]) * ksq));
    } else if (strstr(p->name, ".weight")) {
      shift = 1.0;
    }
    for (size_t e = 0; e < p->count; e++)
      params[p->offset + e] = (float)(shift + scale * model_rand(seed, (uint32_t)i, 0, (uint32_t)e));
  }
}

/* t[B][C][ym][xm] = samples [first, first+B) of the global random field `seed` at level L. */
static inline void model_fill_tile(const pirf_level *L, int B, long first, int C, uint32_t seed,
                                   float *t) {
  for (int b = 0; b < B; b++)
    for (int c = 0; c < C; c++)
      for (int i = 0; i < L->ym; i++)
        for (int j = 0; j < L->xm; j++)
          t[(((size_t)b * C + c) * L->ym + i) * L->xm + j] =
              (float)model_rand(seed + 100, (uint32_t)(first + b), (uint32_t)c,
                                (uint32_t)((L->ys + i) * L->W + L->xs + j));
}

static inline double model_dot(MPI_Comm comm, size_t n, const float *a, const float *b) {
  double s = 0.0;
  for (size_t k = 0; k < n; k++) s += (double)a[k] * b[k];
  MPI_Allreduce(MPI_IN_PLACE, &s, 1, MPI_DOUBLE, MPI_SUM, comm);
  return s;
}

#endif
