/* Dropout with a counter-based mask recomputed in the backward (see pirf/dropout.h for the keying).
 *
 * The mask of element (b, c, gy, gx) is pirf_rng_uniform(...) >= p with the key of the header, so
 * it is a pure function of the global element: no mask is stored and any rank layout draws the
 * same one. pirf_dropout_keep evaluates it one element at a time through pirf_rng_uniform; the
 * forward and backward evaluate the SAME Philox4x32-10 blocks for a run of consecutive pixels of a
 * tile row at once (mask_run), written lane by lane so the compiler vectorises the 32x32->64-bit
 * multiplies: one call per element costs ~10x more, which at 128^2 x 256 channels per block made
 * dropout dearer than the convolutions. tests/nn/test_dropout.c checks mask_run against
 * pirf_rng_uniform element by element. */
#include "pirf/dropout.h"

#include "pirf/check.h"
#include "pirf/rng.h"

#include <stddef.h>

int pirf_dropout_keep(const pirf_dropout_key *key, float p, int b, int c, int gy, int gx, int W) {
  double u = pirf_rng_uniform(key->seed, PIRF_STREAM_DROPOUT, key->step, key->sample0 + (uint32_t)b,
                              (key->layer << 16) | (uint32_t)c, (uint32_t)gy * (uint32_t)W + (uint32_t)gx);
  return u >= (double)p;
}

enum { RUN = 64 }; /* pixels per mask_run call */

/* keep[i] = (uniform of counter (pix0 + i, chan, sample, step) >= p) for i < n <= RUN: Random123's
 * philox4x32 (10 rounds, key (seed, stream)) and rng.c's 53-bit map to (0, 1), lane by lane. */
static void mask_run(unsigned char *keep, const pirf_dropout_key *key, double p, uint32_t sample,
                     uint32_t chan, uint32_t pix0, int n) {
  uint32_t c0[RUN], c1[RUN], c2[RUN], c3[RUN];
  for (int i = 0; i < n; i++) {
    c0[i] = pix0 + (uint32_t)i;
    c1[i] = chan;
    c2[i] = sample;
    c3[i] = key->step;
  }
  uint32_t k0 = key->seed, k1 = (uint32_t)PIRF_STREAM_DROPOUT;
  for (int r = 0; r < 10; r++) {
    if (r > 0) { /* Philox's Weyl key schedule */
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    for (int i = 0; i < n; i++) {
      uint64_t p0 = (uint64_t)0xD2511F53u * c0[i], p1 = (uint64_t)0xCD9E8D57u * c2[i];
      uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[i] ^ k0, n1 = (uint32_t)p1;
      uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3[i] ^ k1, n3 = (uint32_t)p0;
      c0[i] = n0;
      c1[i] = n1;
      c2[i] = n2;
      c3[i] = n3;
    }
  }
  for (int i = 0; i < n; i++) {
    uint64_t bits = ((uint64_t)c0[i] << 21) ^ (uint64_t)(c1[i] >> 11);
    double u = ((double)bits + 0.5) * (1.0 / 9007199254740992.0);
    keep[i] = u >= p;
  }
}

static int check_args(float p, const pirf_dropout_key *key, int C) {
  PIRF_CHECK(p >= 0.0f && p < 1.0f, "dropout probability %g is outside [0, 1)", (double)p);
  PIRF_CHECK(C <= 65536 && key->layer < 65536,
             "dropout keys need at most 65536 channels (got %d) and layer ids below 65536 (got %u)",
             C, (unsigned)key->layer);
  return 0;
}

/* dst[k] (=|+=) src[k] * m[k] / (1 - p) over the tile; accumulate selects += (the backward). */
static void apply(float *dst, const float *src, float p, const pirf_dropout_key *key, int B, int C,
                  const pirf_level *L, int accumulate) {
  const size_t n = (size_t)L->xm * L->ym;
  const float scale = 1.0f / (1.0f - p);
  unsigned char keep[RUN];
  for (int b = 0; b < B; b++)
    for (int c = 0; c < C; c++) {
      const float *s = src + ((size_t)b * C + c) * n;
      float *d = dst + ((size_t)b * C + c) * n;
      for (int j = 0; j < L->ym; j++)
        for (int i0 = 0; i0 < L->xm; i0 += RUN) {
          int len = L->xm - i0 < RUN ? L->xm - i0 : RUN;
          uint32_t pix0 = (uint32_t)(L->ys + j) * (uint32_t)L->W + (uint32_t)(L->xs + i0);
          if (p == 0.0f) /* the identity, as torch with p = 0: no draws */
            for (int i = 0; i < len; i++) keep[i] = 1;
          else
            mask_run(keep, key, (double)p, key->sample0 + (uint32_t)b, (key->layer << 16) | (uint32_t)c,
                     pix0, len);
          size_t k0 = (size_t)j * L->xm + i0;
          if (accumulate)
            for (int i = 0; i < len; i++) d[k0 + i] += keep[i] ? s[k0 + i] * scale : 0.0f;
          else
            for (int i = 0; i < len; i++) d[k0 + i] = keep[i] ? s[k0 + i] * scale : 0.0f;
        }
    }
}

int pirf_dropout_forward(float *y, const float *x, float p, const pirf_dropout_key *key, int B,
                         int C, const pirf_level *L) {
  PIRF_TRY(check_args(p, key, C));
  apply(y, x, p, key, B, C, L, 0);
  return 0;
}

int pirf_dropout_backward(float *dx, const float *dy, float p, const pirf_dropout_key *key, int B,
                          int C, const pirf_level *L) {
  PIRF_TRY(check_args(p, key, C));
  apply(dx, dy, p, key, B, C, L, 1);
  return 0;
}
