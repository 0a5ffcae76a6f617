/* A small parameter table in EDM's naming for the checkpoint tests: tensors of 1, 2 and 4
 * dimensions, a trainable "decoder" of whole tensors at the end (like layer-wise truncation), and
 * values that are a pure function of (arena, float index), so any rank can check any float. */
#ifndef PIRF_TEST_CKPT_FIXTURE_H
#define PIRF_TEST_CKPT_FIXTURE_H

#include "pirf/checkpoint.h"
#include "pirf/dataset.h"
#include "pirf/optim.h"
#include "pirf/rng.h"

#include <stdio.h>
#include <string.h>

typedef struct {
  const char *name;
  int ndim, shape[4];
} fixture_tensor;

static const fixture_tensor fixture_tensors[] = {
    {"enc.8x8_conv.weight", 4, {4, 2, 3, 3}},
    {"enc.8x8_conv.bias", 1, {4}},
    {"map_layer0.weight", 2, {16, 8}},
    {"map_layer0.bias", 1, {16}},
    {"dec.8x8_block0.conv0.weight", 4, {5, 4, 3, 3}},
    {"dec.8x8_block0.conv0.bias", 1, {5}},
    {"dec.8x8_aux_conv.weight", 4, {2, 5, 3, 3}},
    {"dec.8x8_aux_conv.bias", 1, {2}},
};
enum { FIXTURE_N = 8, FIXTURE_TRAIN_FROM = 4 }; /* the last four tensors are trainable */

/* Fill `t` (storage p[FIXTURE_N]); `edit` may change one tensor's name or shape first. */
static inline void fixture_table(pirf_param_table *t, pirf_param *p, int n,
                                 void (*edit)(pirf_param *p, int i)) {
  size_t off = 0;
  for (int i = 0; i < n; i++) {
    memset(&p[i], 0, sizeof p[i]);
    snprintf(p[i].name, sizeof p[i].name, "%s", fixture_tensors[i].name);
    p[i].ndim = fixture_tensors[i].ndim;
    memcpy(p[i].shape, fixture_tensors[i].shape, sizeof p[i].shape);
    if (edit) edit(&p[i], i);
    p[i].count = 1;
    for (int d = 0; d < p[i].ndim; d++) p[i].count *= (size_t)p[i].shape[d];
    p[i].offset = off;
    off += p[i].count;
  }
  t->p = p;
  t->n = t->cap = n;
  t->total = off;
}

/* The value of float k of arena `which` (0 net, 1 ema, 2 ref, 3 adam_m, 4 adam_v). */
static inline float fixture_value(int which, size_t k) {
  double x = pirf_rng_normal(3, PIRF_STREAM_TEST, (uint32_t)which, 0, 0, (uint32_t)k);
  return which == 4 ? (float)(x * x * 1e-3) : (float)x;
}

static inline void fixture_fill(float *a, size_t lo, size_t n, int which) {
  for (size_t i = 0; i < n; i++) a[i] = fixture_value(which, lo + i);
}

#endif
