/* Shared set-up for the fine-tuning tests: the tiny SongUNet of the model tests (16x16, 2 levels,
 * 8 channels) on Darcy physics (continuous a, so every channel carries a gradient), random weights
 * that make every path matter, and a sampler with a large sigma_min so the network's output moves
 * the final sample. */
#ifndef PIRF_FT_HARNESS_H
#define PIRF_FT_HARNESS_H

#include "model/model_harness.h"
#include "pirf/check.h"
#include "pirf/deck.h"
#include "pirf/finetune.h"

#include <math.h>

/* ||a - b|| / ||b|| over n floats (1 when b = 0): how two gradients differ */
static inline double rel_diff(const float *a, const float *b, size_t n) {
  double d = 0, s = 0;
  for (size_t e = 0; e < n; e++) {
    d += pow((double)a[e] - b[e], 2);
    s += pow((double)b[e], 2);
  }
  return sqrt(d / (s > 0 ? s : 1));
}

static inline int ft_config(pirf_config **cfg) {
  char *over[] = {"pde.name=darcy", "grid.resolution=16", "model.channel_mult=[1,2]",
                  "pde.darcy.discretize_a=false"};
  return pirf_config_load(cfg, pirf_deck_tables(), NULL, 4, over);
}

static inline pirf_ft_config ft_small(pirf_ft_method m, int k) {
  pirf_ft_config c = pirf_ft_defaults();
  c.method = m;
  c.k = k;
  c.steps = 3;
  c.sigma_min = 0.3;
  c.sigma_max = 3.0;
  c.dropout = 0;
  c.seed = 7;
  c.batch = 4;
  c.lv_inner = 2;
  return c;
}

#endif
