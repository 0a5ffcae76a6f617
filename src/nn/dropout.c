/* Dropout with a counter-based mask recomputed in the backward (see pirf/dropout.h for the keying).
 *
 * One Philox block per element (pirf_rng_uniform): simple, and the mask is a pure function of the
 * global element, so no mask is stored and any rank layout draws the same one. */
#include "pirf/dropout.h"

#include "pirf/check.h"
#include "pirf/rng.h"

int pirf_dropout_keep(const pirf_dropout_key *key, float p, int b, int c, int gy, int gx, int W) {
  double u = pirf_rng_uniform(key->seed, PIRF_STREAM_DROPOUT, key->step, key->sample0 + (uint32_t)b,
                              (key->layer << 16) | (uint32_t)c, (uint32_t)gy * (uint32_t)W + (uint32_t)gx);
  return u >= (double)p;
}

static int check_args(float p, const pirf_dropout_key *key, int C) {
  PIRF_CHECK(p >= 0.0f && p < 1.0f, "dropout probability %g is outside [0, 1)", (double)p);
  PIRF_CHECK(C <= 65536 && key->layer < 65536,
             "dropout keys need fewer than 65536 channels (got %d) and layer ids (got %u)", C,
             (unsigned)key->layer);
  return 0;
}

int pirf_dropout_forward(float *y, const float *x, float p, const pirf_dropout_key *key, int B,
                         int C, const pirf_level *L) {
  PIRF_TRY(check_args(p, key, C));
  const size_t n = (size_t)L->xm * L->ym;
  const float scale = 1.0f / (1.0f - p);
  for (int b = 0; b < B; b++)
    for (int c = 0; c < C; c++) {
      const float *xi = x + ((size_t)b * C + c) * n;
      float *yo = y + ((size_t)b * C + c) * n;
      for (int j = 0; j < L->ym; j++)
        for (int i = 0; i < L->xm; i++) {
          size_t k = (size_t)j * L->xm + i;
          /* p = 0 skips the draws: the identity, as torch with p = 0 */
          int keep = p == 0.0f || pirf_dropout_keep(key, p, b, c, L->ys + j, L->xs + i, L->W);
          yo[k] = keep ? xi[k] * scale : 0.0f;
        }
    }
  return 0;
}

int pirf_dropout_backward(float *dx, const float *dy, float p, const pirf_dropout_key *key, int B,
                          int C, const pirf_level *L) {
  PIRF_TRY(check_args(p, key, C));
  const size_t n = (size_t)L->xm * L->ym;
  const float scale = 1.0f / (1.0f - p);
  for (int b = 0; b < B; b++)
    for (int c = 0; c < C; c++) {
      const float *g = dy + ((size_t)b * C + c) * n;
      float *d = dx + ((size_t)b * C + c) * n;
      for (int j = 0; j < L->ym; j++)
        for (int i = 0; i < L->xm; i++) {
          size_t k = (size_t)j * L->xm + i;
          if (p == 0.0f || pirf_dropout_keep(key, p, b, c, L->ys + j, L->xs + i, L->W))
            d[k] += g[k] * scale;
        }
    }
  return 0;
}
