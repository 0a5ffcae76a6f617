/* EDM's 2x resampling with resample_filter [1, 1] (see pirf/resample.h).
 *
 * EDM applies the normalized filter f f^T / 4 with stride 2 for down (an average pool) and the
 * filter 4 * f f^T / 4 = ones with conv_transpose stride 2 for up (nearest-neighbour copy), both
 * depthwise with no padding, so each output cell depends on one 2x2 block of its own tile. The
 * backward of each is the transpose: down's spreads dy/4 over the block, up's sums the block. */
#include "pirf/resample.h"

#include <stddef.h>

void pirf_down2_forward(const pirf_level *Lf, float *y, const float *x, int n) {
  const int xm = Lf->xm, ym = Lf->ym, xc = xm / 2, yc = ym / 2;
  for (int p = 0; p < n; p++) {
    const float *xp = x + (size_t)p * xm * ym;
    float *yp = y + (size_t)p * xc * yc;
    for (int i = 0; i < yc; i++) {
      const float *r0 = xp + (size_t)(2 * i) * xm, *r1 = r0 + xm;
      for (int j = 0; j < xc; j++)
        yp[(size_t)i * xc + j] = 0.25f * (r0[2 * j] + r0[2 * j + 1] + r1[2 * j] + r1[2 * j + 1]);
    }
  }
}

void pirf_down2_backward(const pirf_level *Lf, float *dx, const float *dy, int n) {
  const int xm = Lf->xm, ym = Lf->ym, xc = xm / 2, yc = ym / 2;
  for (int p = 0; p < n; p++) {
    float *dxp = dx + (size_t)p * xm * ym;
    const float *dyp = dy + (size_t)p * xc * yc;
    for (int i = 0; i < yc; i++) {
      float *r0 = dxp + (size_t)(2 * i) * xm, *r1 = r0 + xm;
      for (int j = 0; j < xc; j++) {
        const float g = 0.25f * dyp[(size_t)i * xc + j];
        r0[2 * j] += g, r0[2 * j + 1] += g, r1[2 * j] += g, r1[2 * j + 1] += g;
      }
    }
  }
}

void pirf_up2_forward(const pirf_level *Lf, float *y, const float *x, int n) {
  const int xm = Lf->xm, ym = Lf->ym, xc = xm / 2, yc = ym / 2;
  for (int p = 0; p < n; p++) {
    const float *xp = x + (size_t)p * xc * yc;
    float *yp = y + (size_t)p * xm * ym;
    for (int i = 0; i < ym; i++) {
      const float *src = xp + (size_t)(i / 2) * xc;
      float *dst = yp + (size_t)i * xm;
      for (int j = 0; j < xm; j++) dst[j] = src[j / 2];
    }
  }
}

void pirf_up2_backward(const pirf_level *Lf, float *dx, const float *dy, int n) {
  const int xm = Lf->xm, ym = Lf->ym, xc = xm / 2, yc = ym / 2;
  for (int p = 0; p < n; p++) {
    float *dxp = dx + (size_t)p * xc * yc;
    const float *dyp = dy + (size_t)p * xm * ym;
    for (int i = 0; i < ym; i++) {
      const float *src = dyp + (size_t)i * xm;
      float *dst = dxp + (size_t)(i / 2) * xc;
      for (int j = 0; j < xm; j++) dst[j / 2] += src[j];
    }
  }
}
