/* Counter-based random numbers (see pirf/rng.h). */
#include "pirf/rng.h"

#include <Random123/philox.h>
#include <math.h>

void pirf_rng_block(uint32_t seed, uint32_t stream, uint32_t step, uint32_t sample,
                    uint32_t channel, uint32_t pixel, uint32_t out[4]) {
  philox4x32_key_t key = {{seed, stream}};
  philox4x32_ctr_t ctr = {{pixel, channel, sample, step}};
  philox4x32_ctr_t r = philox4x32(ctr, key);
  for (int i = 0; i < 4; i++) out[i] = r.v[i];
}

/* 53 bits from two words, mapped to the open interval (0, 1). */
static double to_open_unit(uint32_t hi, uint32_t lo) {
  uint64_t bits = ((uint64_t)hi << 21) ^ (uint64_t)(lo >> 11); /* 53 bits */
  return ((double)bits + 0.5) * (1.0 / 9007199254740992.0);
}

double pirf_rng_uniform(uint32_t seed, uint32_t stream, uint32_t step, uint32_t sample,
                        uint32_t channel, uint32_t pixel) {
  uint32_t w[4];
  pirf_rng_block(seed, stream, step, sample, channel, pixel, w);
  return to_open_unit(w[0], w[1]);
}

double pirf_rng_normal(uint32_t seed, uint32_t stream, uint32_t step, uint32_t sample,
                       uint32_t channel, uint32_t pixel) {
  uint32_t w[4];
  pirf_rng_block(seed, stream, step, sample, channel, pixel, w);
  double u1 = to_open_unit(w[0], w[1]), u2 = to_open_unit(w[2], w[3]);
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
