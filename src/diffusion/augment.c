/* EDM's augmentation pipeline, its geometric and pixel-blitting part (see pirf/augment.h). */
#include "pirf/augment.h"

#include "pirf/check.h"
#include "pirf/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The sym6 wavelet's low-pass decomposition filter (12 taps), EDM's resampling filter. */
#define NTAP 12
static const float sym6[NTAP] = {
    0.015404109327027373f, 0.0034907120842174702f, -0.11799011114819057f, -0.048311742585633f,
    0.4910559419267466f,   0.787641141030194f,     0.3379294217276218f,   -0.07263752278646252f,
    -0.021060292512300564f, 0.04472490177066578f,  0.0017677118642428036f, -0.007800708325034148f};
enum { HZ_PAD = NTAP / 4 }; /* 3: the filter's reach in output pixels */

/* EDM's constants: log2 std of the scalings, the rotation range (a full turn), the translation std
 * as a fraction of the size, the probability of an anisotropic axis other than x. */
#define SCALE_STD 0.2
#define ANISO_STD 0.2
#define TRANSLATE_STD 0.125
#define ANISO_ROTATE_PROB 0.5

/* ---- the draws -------------------------------------------------------------------------- */

typedef double mat3[3][3];

static void mat_set(mat3 m, double a, double b, double c, double d, double e, double f) {
  m[0][0] = a, m[0][1] = b, m[0][2] = c;
  m[1][0] = d, m[1][1] = e, m[1][2] = f;
  m[2][0] = 0, m[2][1] = 0, m[2][2] = 1;
}
static void scale2d(mat3 m, double sx, double sy) { mat_set(m, sx, 0, 0, 0, sy, 0); }
static void translate2d(mat3 m, double tx, double ty) { mat_set(m, 1, 0, tx, 0, 1, ty); }
static void rotate2d(mat3 m, double t) { mat_set(m, cos(t), -sin(t), 0, sin(t), cos(t), 0); }

/* g = a b (g may alias a or b) */
static void mat_mul(mat3 g, const mat3 a, const mat3 b) {
  mat3 t;
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) t[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
  memcpy(g, t, sizeof t);
}
static void right_mul(mat3 g, const mat3 b) { mat_mul(g, (const double(*)[3])g, b); }
static void left_mul(const mat3 a, mat3 g) { mat_mul(g, a, (const double(*)[3])g); }

/* The draws of one sample: index k of the counter's channel word. */
enum {
  K_XFLIP, K_XFLIP_P, K_YFLIP, K_YFLIP_P, K_SCALE, K_SCALE_P, K_ROT, K_ROT_P,
  K_ANISO, K_ANISO_R, K_ANISO_P, K_ANISO_RP, K_TX, K_TY, K_T_P
};

void pirf_augment_draw_sample(const pirf_augment_opts *o, uint32_t seed, uint32_t step,
                              uint32_t slot, int H, int W, pirf_augment_draw *d) {
  memset(d, 0, sizeof *d);
#define U(k) pirf_rng_uniform(seed, PIRF_STREAM_AUGMENT, step, slot, (uint32_t)(k), 0)
#define N(k) pirf_rng_normal(seed, PIRF_STREAM_AUGMENT, step, slot, (uint32_t)(k), 0)
  float *lab = d->labels;
  if (o->xflip > 0 && U(K_XFLIP_P) < o->xflip * o->p) d->xflip = U(K_XFLIP) < 0.5 ? 0 : 1;
  if (o->yflip > 0 && U(K_YFLIP_P) < o->yflip * o->p) d->yflip = U(K_YFLIP) < 0.5 ? 0 : 1;
  lab[0] = (float)d->xflip;
  lab[1] = (float)d->yflip;
  mat3 G, m;
  scale2d(G, 1, 1);
  if (o->scale > 0) {
    const double w = U(K_SCALE_P) < o->scale * o->p ? N(K_SCALE) : 0.0;
    const double s = exp2(w * SCALE_STD);
    scale2d(m, 1 / s, 1 / s);
    right_mul(G, m);
    lab[2] = (float)w;
  }
  if (o->rotate_frac > 0) {
    const double w = U(K_ROT_P) < o->rotate_frac * o->p ? (2 * U(K_ROT) - 1) * M_PI : 0.0;
    rotate2d(m, w); /* EDM: rotate2d_inv(-w) */
    right_mul(G, m);
    lab[3] = (float)(cos(w) - 1);
    lab[4] = (float)sin(w);
  }
  if (o->aniso > 0) {
    const double w = U(K_ANISO_P) < o->aniso * o->p ? N(K_ANISO) : 0.0;
    const double r = U(K_ANISO_RP) < ANISO_ROTATE_PROB ? (2 * U(K_ANISO_R) - 1) * M_PI : 0.0;
    const double s = exp2(w * ANISO_STD);
    rotate2d(m, -r); /* EDM: rotate2d_inv(r) @ scale2d_inv(s, 1/s) @ rotate2d_inv(-r) */
    right_mul(G, m);
    scale2d(m, 1 / s, s);
    right_mul(G, m);
    rotate2d(m, r);
    right_mul(G, m);
    lab[5] = (float)(w * cos(r));
    lab[6] = (float)(w * sin(r));
  }
  if (o->translate_frac > 0) {
    const int on = U(K_T_P) < o->translate_frac * o->p;
    const double w0 = on ? N(K_TX) : 0.0, w1 = on ? N(K_TY) : 0.0;
    translate2d(m, -w0 * W * TRANSLATE_STD, -w1 * H * TRANSLATE_STD); /* translate2d_inv */
    right_mul(G, m);
    lab[7] = (float)w0;
    lab[8] = (float)w1;
  }
#undef U
#undef N
  d->geometric = o->scale > 0 || o->rotate_frac > 0 || o->aniso > 0 || o->translate_frac > 0;
  memcpy(d->G, G, sizeof G);
}

/* ---- executing a draw ------------------------------------------------------------------- */

/* The padded grid is at most (H + 2 (H - 1)) x (W + 2 (W - 1)) (the margin is clamped to the size
 * minus one), the upsampled one twice that in each direction. */
size_t pirf_augment_scratch_floats(int H, int W) {
  const size_t Hp = 3 * (size_t)H, Wp = 3 * (size_t)W;
  const size_t Ho = 2 * ((size_t)H + 2 * HZ_PAD), Wo = 2 * ((size_t)W + 2 * HZ_PAD);
  return Hp * Wp + Hp * 2 * Wp + 4 * Hp * Wp + Ho * Wo + Ho * (size_t)W;
}

/* torch's 'reflect' padding: mirror about the edge pixel (which is not repeated); |i| < 2n - 1 */
static int reflect(int i, int n) {
  if (n == 1) return 0;
  if (i < 0) i = -i;
  if (i >= n) i = 2 * (n - 1) - i;
  return i;
}

/* 2x upsampling of in[rows][n] along each row: zero insertion (2n - 1 values), then a correlation
 * with the reversed filter with 6 zeros of padding on each side: 2n outputs. */
static void upsample_rows(const float *in, int rows, int n, float *out) {
  for (int r = 0; r < rows; r++) {
    const float *a = in + (size_t)r * n;
    float *o = out + (size_t)r * 2 * n;
    for (int j = 0; j < 2 * n; j++) {
      float s = 0;
      for (int k = 0; k < NTAP; k++) {
        const int m = j + k - NTAP / 2; /* position in the zero-inserted row */
        if (m < 0 || m > 2 * n - 2 || (m & 1)) continue;
        s += sym6[NTAP - 1 - k] * a[m / 2];
      }
      o[j] = s;
    }
  }
}

/* The same along the columns of in[n][cols]: out[2n][cols]. */
static void upsample_cols(const float *in, int n, int cols, float *out) {
  for (int j = 0; j < 2 * n; j++) {
    float *o = out + (size_t)j * cols;
    for (int c = 0; c < cols; c++) o[c] = 0;
    for (int k = 0; k < NTAP; k++) {
      const int m = j + k - NTAP / 2;
      if (m < 0 || m > 2 * n - 2 || (m & 1)) continue;
      const float h = sym6[NTAP - 1 - k], *a = in + (size_t)(m / 2) * cols;
      for (int c = 0; c < cols; c++) o[c] += h * a[c];
    }
  }
}

/* Stride-2 correlation with the filter and 5 zeros of padding, keeping outputs
 * [HZ_PAD, n/2 - HZ_PAD): along rows, in[rows][n] -> out[rows][n/2 - 2 HZ_PAD]. */
static void downsample_rows(const float *in, int rows, int n, float *out) {
  const int keep = n / 2 - 2 * HZ_PAD, pad = (NTAP - 1) / 2;
  for (int r = 0; r < rows; r++) {
    const float *a = in + (size_t)r * n;
    float *o = out + (size_t)r * keep;
    for (int j = 0; j < keep; j++) {
      float s = 0;
      const int m0 = 2 * (j + HZ_PAD) - pad;
      for (int k = 0; k < NTAP; k++) {
        const int m = m0 + k;
        if (m >= 0 && m < n) s += sym6[k] * a[m];
      }
      o[j] = s;
    }
  }
}

/* ... and along columns: in[n][cols] -> out[n/2 - 2 HZ_PAD][cols]. */
static void downsample_cols(const float *in, int n, int cols, float *out) {
  const int keep = n / 2 - 2 * HZ_PAD, pad = (NTAP - 1) / 2;
  for (int j = 0; j < keep; j++) {
    float *o = out + (size_t)j * cols;
    for (int c = 0; c < cols; c++) o[c] = 0;
    const int m0 = 2 * (j + HZ_PAD) - pad;
    for (int k = 0; k < NTAP; k++) {
      const int m = m0 + k;
      if (m < 0 || m >= n) continue;
      const float h = sym6[k], *a = in + (size_t)m * cols;
      for (int c = 0; c < cols; c++) o[c] += h * a[c];
    }
  }
}

/* torch's grid_sample, bilinear, zeros outside, align_corners = False, at normalized (gx, gy) */
static float bilinear(const float *img, int Hin, int Win, double gx, double gy) {
  const double ix = ((gx + 1) * Win - 1) / 2, iy = ((gy + 1) * Hin - 1) / 2;
  const double fx = floor(ix), fy = floor(iy);
  const int x0 = (int)fx, y0 = (int)fy;
  const double tx = ix - fx, ty = iy - fy;
  double s = 0;
  for (int dy = 0; dy < 2; dy++)
    for (int dx = 0; dx < 2; dx++) {
      const int xx = x0 + dx, yy = y0 + dy;
      if (xx < 0 || xx >= Win || yy < 0 || yy >= Hin) continue;
      s += (dx ? tx : 1 - tx) * (dy ? ty : 1 - ty) * img[(size_t)yy * Win + xx];
    }
  return (float)s;
}

/* One channel through EDM's geometric execution with inverse matrix G0. */
static void geometric(const mat3 G0, int H, int W, const float *x, float *out, float *scratch) {
  mat3 G, m;
  memcpy(G, G0, sizeof G);
  /* the margin the transformed corners need, plus the filter's, within [0, size - 1] */
  const double cx = (W - 1) / 2.0, cy = (H - 1) / 2.0;
  const double corner[4][2] = {{-cx, -cy}, {cx, -cy}, {cx, cy}, {-cx, cy}};
  double mg[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
  for (int c = 0; c < 4; c++) {
    const double px = G[0][0] * corner[c][0] + G[0][1] * corner[c][1] + G[0][2];
    const double py = G[1][0] * corner[c][0] + G[1][1] * corner[c][1] + G[1][2];
    mg[0] = fmax(mg[0], -px), mg[1] = fmax(mg[1], -py);
    mg[2] = fmax(mg[2], px), mg[3] = fmax(mg[3], py);
  }
  int mi[4];
  for (int k = 0; k < 4; k++) {
    const double size = k % 2 ? H : W, c0 = k % 2 ? cy : cx;
    mi[k] = (int)ceil(fmin(fmax(mg[k] + 2 * HZ_PAD - c0, 0.0), size - 1));
  }
  const int mx0 = mi[0], my0 = mi[1], mx1 = mi[2], my1 = mi[3];
  const int Hp = H + my0 + my1, Wp = W + mx0 + mx1;
  float *pad = scratch, *upx = pad + (size_t)Hp * Wp, *up = upx + (size_t)Hp * 2 * Wp;
  for (int i = 0; i < Hp; i++)
    for (int j = 0; j < Wp; j++)
      pad[(size_t)i * Wp + j] = x[(size_t)reflect(i - my0, H) * W + reflect(j - mx0, W)];
  translate2d(m, (mx0 - mx1) / 2.0, (my0 - my1) / 2.0);
  left_mul(m, G);
  upsample_rows(pad, Hp, Wp, upx);
  upsample_cols(upx, Hp, 2 * Wp, up);
  const int Hin = 2 * Hp, Win = 2 * Wp;
  scale2d(m, 2, 2);
  left_mul(m, G);
  scale2d(m, 0.5, 0.5);
  right_mul(G, m);
  translate2d(m, -0.5, -0.5);
  left_mul(m, G);
  translate2d(m, 0.5, 0.5);
  right_mul(G, m);
  /* to torch's normalized coordinates of the output grid and the input */
  const int Ho = 2 * (H + 2 * HZ_PAD), Wo = 2 * (W + 2 * HZ_PAD);
  scale2d(m, 2.0 / Win, 2.0 / Hin);
  left_mul(m, G);
  scale2d(m, Wo / 2.0, Ho / 2.0);
  right_mul(G, m);
  float *g = up + (size_t)Hin * Win, *gx = g + (size_t)Ho * Wo;
  for (int i = 0; i < Ho; i++) {
    const double yn = (2.0 * i + 1) / Ho - 1;
    for (int j = 0; j < Wo; j++) {
      const double xn = (2.0 * j + 1) / Wo - 1;
      g[(size_t)i * Wo + j] = bilinear(up, Hin, Win, G[0][0] * xn + G[0][1] * yn + G[0][2],
                                       G[1][0] * xn + G[1][1] * yn + G[1][2]);
    }
  }
  downsample_rows(g, Ho, Wo, gx);  /* [Ho][W] */
  downsample_cols(gx, Ho, W, out); /* [H][W] */
}

void pirf_augment_apply(const pirf_augment_draw *d, int C, int H, int W, const float *x,
                        float *out, float *scratch) {
  const size_t plane = (size_t)H * W;
  for (int c = 0; c < C; c++) {
    const float *xc = x + c * plane;
    float *oc = out + c * plane;
    float *flipped = d->geometric ? scratch + pirf_augment_scratch_floats(H, W) : oc;
    for (int i = 0; i < H; i++)
      for (int j = 0; j < W; j++) {
        const int si = d->yflip ? H - 1 - i : i, sj = d->xflip ? W - 1 - j : j;
        flipped[(size_t)i * W + j] = xc[(size_t)si * W + sj];
      }
    if (d->geometric) geometric((const double(*)[3])d->G, H, W, flipped, oc, scratch);
  }
}

/* ---- tiles ------------------------------------------------------------------------------ */

int pirf_augment_buf_create(pirf_augment_buf *ab, const pirf_augment_opts *o, const pirf_decomp *dc,
                            int C) {
  memset(ab, 0, sizeof *ab);
  ab->o = *o;
  ab->C = C;
  const size_t whole = (size_t)C * dc->H * dc->W;
  PIRF_ALLOC(ab->whole, whole, "the augmentation's whole samples");
  PIRF_ALLOC(ab->out, whole, "the augmentation's whole samples");
  /* the flipped channel after the resampling scratch */
  PIRF_ALLOC(ab->scratch, pirf_augment_scratch_floats(dc->H, dc->W) + (size_t)dc->H * dc->W,
             "the augmentation's resampling scratch");
  if (dc->nspace > 1) {
    PIRF_ALLOC(ab->counts, dc->nspace, "the augmentation's gather counts");
    PIRF_ALLOC(ab->displs, dc->nspace, "the augmentation's gather counts");
    PIRF_ALLOC(ab->xs, dc->nspace, "the augmentation's tile origins");
    PIRF_ALLOC(ab->ys, dc->nspace, "the augmentation's tile origins");
    for (int r = 0, off = 0; r < dc->nspace; r++) {
      const int tx = r % dc->px, ty = r / dc->px;
      ab->counts[r] = C * dc->lx[tx] * dc->ly[ty];
      ab->displs[r] = off;
      off += ab->counts[r];
      for (int k = 0; k < tx; k++) ab->xs[r] += dc->lx[k];
      for (int k = 0; k < ty; k++) ab->ys[r] += dc->ly[k];
    }
    PIRF_ALLOC(ab->gather, whole, "the augmentation's gathered tiles");
  }
  return 0;
}

void pirf_augment_buf_destroy(pirf_augment_buf *ab) {
  free(ab->whole);
  free(ab->out);
  free(ab->scratch);
  free(ab->counts);
  free(ab->displs);
  free(ab->xs);
  free(ab->ys);
  free(ab->gather);
  memset(ab, 0, sizeof *ab);
}

/* The whole sample [C][H][W] from the space group's tiles [C][ym][xm] (each rank's tile is its
 * lx[tx] x ly[ty] block at (xs[r], ys[r])). */
static int gather_whole(pirf_augment_buf *ab, const pirf_decomp *dc, const float *tile) {
  const int C = ab->C, H = dc->H, W = dc->W;
  const size_t n = (size_t)C * dc->xm * dc->ym;
  if (dc->nspace == 1) {
    memcpy(ab->whole, tile, n * sizeof *tile);
    return 0;
  }
  PIRF_MPI(MPI_Allgatherv(tile, (int)n, MPI_FLOAT, ab->gather, ab->counts, ab->displs, MPI_FLOAT,
                          dc->space));
  for (int r = 0; r < dc->nspace; r++) {
    const int xm = dc->lx[r % dc->px], ym = dc->ly[r / dc->px], xs = ab->xs[r], ys = ab->ys[r];
    const float *t = ab->gather + ab->displs[r];
    for (int c = 0; c < C; c++)
      for (int i = 0; i < ym; i++)
        memcpy(ab->whole + ((size_t)c * H + ys + i) * W + xs, t + ((size_t)c * ym + i) * xm,
               (size_t)xm * sizeof *t);
  }
  return 0;
}

int pirf_augment_tiles(pirf_augment_buf *ab, const pirf_decomp *dc, uint32_t seed, uint32_t step,
                       long slot0, int B, const float *x, float *y, float *labels) {
  const int C = ab->C, H = dc->H, W = dc->W;
  const size_t n = (size_t)C * dc->xm * dc->ym;
  for (int b = 0; b < B; b++) {
    PIRF_TRY(gather_whole(ab, dc, x + (size_t)b * n));
    pirf_augment_draw d;
    pirf_augment_draw_sample(&ab->o, seed, step, (uint32_t)(slot0 + b), H, W, &d);
    pirf_augment_apply(&d, C, H, W, ab->whole, ab->out, ab->scratch);
    memcpy(labels + (size_t)b * PIRF_AUGMENT_DIM, d.labels, sizeof d.labels);
    float *yb = y + (size_t)b * n;
    for (int c = 0; c < C; c++)
      for (int i = 0; i < dc->ym; i++)
        memcpy(yb + ((size_t)c * dc->ym + i) * dc->xm,
               ab->out + ((size_t)c * H + dc->ys + i) * W + dc->xs, (size_t)dc->xm * sizeof *yb);
  }
  return 0;
}
