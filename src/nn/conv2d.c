/* 2-D convolution, stride 1, same zero padding, k = 1 or 3, with bias (see pirf/conv2d.h).
 *
 * k = 1 is one SGEMM per sample: y_b[Cout][N] = w[Cout][Cin] x_b[Cin][N], N = ym*xm (in bf16 mode
 * oneDNN's 1x1 convolution instead).
 *
 * k = 3 by default runs oneDNN's primitives on the padded plane that pirf_halo_pad builds
 * (PIRF_CONV3_DNNL, conv2d_dnnl.c); the bf16 and Winograd forwards of pirf_conv2d_set_forward
 * always do. pirf's own algorithms, kept as references and for pirf bench's side-by-side rows:
 *
 * "Shifted GEMMs on the padded plane" (PIRF_CONV3_SHIFTED_GEMM) instead of im2col. With the input padded to
 * xp[Cin][ym+2][xm+2] (row stride Pw = xm+2, plane P = (ym+2)*Pw), output pixel (i, j) read at the
 * "wide" index q = i*Pw + j needs xp[c][q + u*Pw + v] for tap (u, v). So for each of the 9 taps,
 *     ywide[Cout][q] += w_uv[Cout][Cin] * xp[Cin][q + u*Pw + v]      (q = 0 .. Nw-1)
 * is an ordinary SGEMM whose B operand is xp itself, offset by the tap and with leading dimension
 * P: no column matrix is built. ywide has 2 junk columns per row (j = xm, xm+1) that are dropped
 * when y is extracted; Nw = ym*Pw - 2 makes the largest read q + 2*Pw + 2 the last cell of the
 * plane.
 * The cost is (xm+2)/xm extra flops and 9 passes over ywide instead of an im2col write of 9x the
 * input; the gain is largest in backward-data, where im2col would need a col2im scatter:
 *     dxp[Cin][q + u*Pw + v] += w_uv^T[Cin][Cout] * dywide[Cout][q]
 * is again an SGEMM writing into the padded gradient at an offset, with dywide's junk columns set
 * to zero so they add nothing. The weight gradient is the matching
 *     dw_uv[Cout][Cin] += dywide[Cout][q] * xp[Cin][q + u*Pw + v]^T.
 * The padded input gradient is then returned to its owners with pirf_halo_unpad_add.
 *
 * The weights are repacked tap-major (w_uv contiguous [Cout][Cin]) into scratch on every call;
 * that is 9*Cout*Cin floats, negligible next to the convolution itself.
 *
 * The im2col baseline (PIRF_CONV3_IM2COL) builds col[Cin*9][N] from the padded sample and does
 * one SGEMM with K = 9*Cin: y_b = w[Cout][Cin*9] col; dw += dy_b col^T; dcol = w^T dy_b followed by
 * a col2im scatter-add into the padded gradient. */
#include "pirf/conv2d.h"
#include "conv2d_dnnl.h"
#include "pirf/check.h"
#include "pirf/halo.h"
#include "pirf/prof.h"

#include <cblas.h>
#include <stdint.h>
#include <string.h>

static pirf_conv3_algo conv3_algo = PIRF_CONV3_AUTO;
static pirf_conv_fwd forward_mode = PIRF_CONV_FWD_FP32;
void pirf_conv2d_set_algo(pirf_conv3_algo algo) { conv3_algo = algo; }
pirf_conv3_algo pirf_conv2d_algo(void) { return conv3_algo; }
pirf_conv_fwd pirf_conv2d_set_forward(pirf_conv_fwd mode) {
  const pirf_conv_fwd was = forward_mode;
  forward_mode = mode;
  return was;
}

int pirf_conv2d_bf16_supported(void) { return pirf_dnnl_bf16_supported(); }

pirf_conv3_algo pirf_conv2d_chosen(const pirf_level *L) {
  (void)L; /* every tile size: oneDNN was fastest at every shape measured (performance.md) */
  return conv3_algo == PIRF_CONV3_AUTO ? PIRF_CONV3_DNNL : conv3_algo;
}

/* The scratch carve-up for k = 3 (all sizes in floats); which pieces exist depends on the
 * algorithm. */
typedef struct {
  float *halo; /* pirf_halo_scratch_floats(L, B*Cin) */
  float *xp;   /* [B][Cin][P]   padded input */
  float *dxp;  /* [B][Cin][P]   padded input gradient (backward) */
  float *wide; /* shifted: [Cout][ym*Pw] ywide or dywide of one sample */
  float *col;  /* im2col: [Cin*9][ym*xm]; rows: [Cin*3][(ym+2)*xm] (one sample) */
  float *wr;   /* shifted: [9][Cout][Cin]; rows: [3][Cout][Cin*3] repacked weights */
  float *dwr;  /* the weight gradient in the same layout (backward) */
  size_t total;
} conv3_scratch;

static conv3_scratch carve3(const pirf_level *L, pirf_conv3_algo algo, int B, int Cin, int Cout,
                            float *base) {
  const size_t xm = (size_t)L->xm, ym = (size_t)L->ym, Pw = xm + 2, P = (ym + 2) * Pw;
  const size_t nw = 9 * (size_t)Cout * Cin;
  conv3_scratch s = {0};
  float **slot[7] = {&s.halo, &s.xp, &s.dxp, &s.wide, &s.col, &s.wr, &s.dwr};
  size_t sizes[7] = {
      pirf_halo_scratch_floats(L, B * Cin), (size_t)B * Cin * P, (size_t)B * Cin * P, 0, 0, 0, 0};
  if (algo == PIRF_CONV3_DNNL)
    ; /* the padded input and its gradient; oneDNN keeps its own workspace */
  else if (algo == PIRF_CONV3_SHIFTED_GEMM)
    sizes[3] = (size_t)Cout * ym * Pw, sizes[5] = sizes[6] = nw;
  else if (algo == PIRF_CONV3_IM2COL)
    sizes[4] = 9 * (size_t)Cin * ym * xm;
  else /* PIRF_CONV3_ROWS */
    sizes[4] = 3 * (size_t)Cin * (ym + 2) * xm, sizes[5] = sizes[6] = nw;
  size_t o = 0;
  for (int i = 0; i < 7; i++) {
    if (!sizes[i]) continue;
    /* 16-float (64-byte) alignment of every piece, for the SGEMM kernels */
    *slot[i] = base ? base + o : NULL;
    o += (sizes[i] + 15) / 16 * 16;
  }
  s.total = o;
  return s;
}

size_t pirf_conv2d_scratch_floats(const pirf_level *L, int B, int Cin, int Cout, int k) {
  if (k != 3) return 0;
  /* the shifted GEMMs' carve-up is a superset of oneDNN's, so scratch sized for either serves
   * a bf16 or Winograd forward (which always runs through oneDNN) */
  const size_t a = carve3(L, pirf_conv2d_chosen(L), B, Cin, Cout, NULL).total;
  const size_t d = carve3(L, PIRF_CONV3_DNNL, B, Cin, Cout, NULL).total;
  return (a > d ? a : d) + 16;
}

static float *align64(float *p) {
  uintptr_t a = (uintptr_t)p;
  return (float *)((a + 63) & ~(uintptr_t)63);
}

static void repack_taps(float *wr, const float *w, int Cin, int Cout) {
  for (int o = 0; o < Cout; o++)
    for (int c = 0; c < Cin; c++)
      for (int t = 0; t < 9; t++)
        wr[((size_t)t * Cout + o) * Cin + c] = w[((size_t)o * Cin + c) * 9 + t];
}

static int check_args(int B, int Cin, int Cout, int k) {
  PIRF_CHECK(k == 1 || k == 3, "conv2d supports kernel sizes 1 and 3, not %d", k);
  PIRF_CHECK(B >= 1 && Cin >= 1 && Cout >= 1, "conv2d got an empty shape (B %d, Cin %d, Cout %d)",
             B, Cin, Cout);
  return 0;
}

/* ---- k = 1 ----------------------------------------------------------------------------------- */

static void conv1_forward(const pirf_level *L, float *y, const float *x, const float *w,
                          const float *bias, int B, int Cin, int Cout) {
  const int N = L->xm * L->ym;
  for (int b = 0; b < B; b++) {
    float *yb = y + (size_t)b * Cout * N;
    for (int o = 0; o < Cout; o++)
      for (int q = 0; q < N; q++) yb[(size_t)o * N + q] = bias ? bias[o] : 0.0f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Cout, N, Cin, 1.0f, w, Cin,
                x + (size_t)b * Cin * N, N, 1.0f, yb, N);
  }
}

static void conv1_backward(const pirf_level *L, float *dx, float *dw, const float *dy,
                           const float *x, const float *w, int B, int Cin, int Cout) {
  const int N = L->xm * L->ym;
  for (int b = 0; b < B; b++) {
    const float *dyb = dy + (size_t)b * Cout * N;
    if (dw) /* dw[Cout][Cin] += dy_b[Cout][N] x_b[Cin][N]^T */
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Cout, Cin, N, 1.0f, dyb, N,
                  x + (size_t)b * Cin * N, N, 1.0f, dw, Cin);
    if (dx) /* dx_b[Cin][N] += w^T[Cin][Cout] dy_b[Cout][N] */
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Cin, N, Cout, 1.0f, w, Cin, dyb, N, 1.0f,
                  dx + (size_t)b * Cin * N, N);
  }
}

/* ---- k = 3 ----------------------------------------------------------------------------------- */

static int conv3_forward(const pirf_level *L, float *y, const float *x, const float *w,
                         const float *bias, int B, int Cin, int Cout, float *scratch) {
  const int xm = L->xm, ym = L->ym, Pw = xm + 2, P = (ym + 2) * Pw, Nw = ym * Pw - 2;
  conv3_scratch s = carve3(L, PIRF_CONV3_SHIFTED_GEMM, B, Cin, Cout, align64(scratch));
  PIRF_TRY(pirf_halo_pad(L, B * Cin, x, s.xp, s.halo));
  repack_taps(s.wr, w, Cin, Cout);
  for (int b = 0; b < B; b++) {
    const float *xpb = s.xp + (size_t)b * Cin * P;
    for (int t = 0; t < 9; t++)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Cout, Nw, Cin, 1.0f,
                  s.wr + (size_t)t * Cout * Cin, Cin, xpb + (t / 3) * Pw + t % 3, P,
                  t ? 1.0f : 0.0f, s.wide, ym * Pw);
    float *yb = y + (size_t)b * Cout * ym * xm;
    for (int o = 0; o < Cout; o++) {
      const float bo = bias ? bias[o] : 0.0f;
      for (int i = 0; i < ym; i++) {
        const float *src = s.wide + ((size_t)o * ym + i) * Pw;
        float *dst = yb + ((size_t)o * ym + i) * xm;
        for (int j = 0; j < xm; j++) dst[j] = src[j] + bo;
      }
    }
  }
  return 0;
}

static int conv3_backward(const pirf_level *L, float *dx, float *dw, const float *dy,
                          const float *x, const float *w, int B, int Cin, int Cout,
                          float *scratch) {
  if (!dx && !dw) return 0;
  const int xm = L->xm, ym = L->ym, Pw = xm + 2, P = (ym + 2) * Pw, Nw = ym * Pw - 2;
  conv3_scratch s = carve3(L, PIRF_CONV3_SHIFTED_GEMM, B, Cin, Cout, align64(scratch));
  if (dw) {
    PIRF_TRY(pirf_halo_pad(L, B * Cin, x, s.xp, s.halo));
    memset(s.dwr, 0, 9 * (size_t)Cout * Cin * sizeof *s.dwr);
  }
  if (dx) {
    repack_taps(s.wr, w, Cin, Cout);
    memset(s.dxp, 0, (size_t)B * Cin * P * sizeof *s.dxp);
  }
  for (int b = 0; b < B; b++) {
    /* dywide: dy_b with two zero junk columns per row */
    const float *dyb = dy + (size_t)b * Cout * ym * xm;
    for (int o = 0; o < Cout; o++)
      for (int i = 0; i < ym; i++) {
        float *dst = s.wide + ((size_t)o * ym + i) * Pw;
        memcpy(dst, dyb + ((size_t)o * ym + i) * xm, (size_t)xm * sizeof *dst);
        dst[xm] = dst[xm + 1] = 0.0f;
      }
    for (int t = 0; t < 9; t++) {
      const size_t shift = (size_t)(t / 3) * Pw + t % 3;
      if (dw)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Cout, Cin, Nw, 1.0f, s.wide, ym * Pw,
                    s.xp + (size_t)b * Cin * P + shift, P, 1.0f, s.dwr + (size_t)t * Cout * Cin,
                    Cin);
      if (dx)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Cin, Nw, Cout, 1.0f,
                    s.wr + (size_t)t * Cout * Cin, Cin, s.wide, ym * Pw, 1.0f,
                    s.dxp + (size_t)b * Cin * P + shift, P);
    }
  }
  if (dw)
    for (int o = 0; o < Cout; o++)
      for (int c = 0; c < Cin; c++)
        for (int t = 0; t < 9; t++)
          dw[((size_t)o * Cin + c) * 9 + t] += s.dwr[((size_t)t * Cout + o) * Cin + c];
  if (dx) PIRF_TRY(pirf_halo_unpad_add(L, B * Cin, s.dxp, dx, s.halo));
  return 0;
}

/* ---- k = 3, im2col baseline ------------------------------------------------------------------ */

/* col[(c*9 + t)][i*xm + j] = xp[c][i + t/3][j + t%3]: row order matches w[Cout][Cin][3][3]. */
static void im2col(float *col, const float *xp, int Cin, int ym, int xm) {
  const int Pw = xm + 2, P = (ym + 2) * Pw;
  for (int c = 0; c < Cin; c++)
    for (int t = 0; t < 9; t++) {
      float *dst = col + ((size_t)c * 9 + t) * ym * xm;
      const float *src = xp + (size_t)c * P + (t / 3) * Pw + t % 3;
      for (int i = 0; i < ym; i++)
        memcpy(dst + (size_t)i * xm, src + (size_t)i * Pw, (size_t)xm * sizeof *dst);
    }
}

static void col2im_add(float *dxp, const float *col, int Cin, int ym, int xm) {
  const int Pw = xm + 2, P = (ym + 2) * Pw;
  for (int c = 0; c < Cin; c++)
    for (int t = 0; t < 9; t++) {
      const float *src = col + ((size_t)c * 9 + t) * ym * xm;
      float *dst = dxp + (size_t)c * P + (t / 3) * Pw + t % 3;
      for (int i = 0; i < ym; i++)
        for (int j = 0; j < xm; j++) dst[(size_t)i * Pw + j] += src[(size_t)i * xm + j];
    }
}

static int im2col_forward(const pirf_level *L, float *y, const float *x, const float *w,
                          const float *bias, int B, int Cin, int Cout, float *scratch) {
  const int xm = L->xm, ym = L->ym, N = xm * ym, P = (ym + 2) * (xm + 2);
  conv3_scratch s = carve3(L, PIRF_CONV3_IM2COL, B, Cin, Cout, align64(scratch));
  PIRF_TRY(pirf_halo_pad(L, B * Cin, x, s.xp, s.halo));
  for (int b = 0; b < B; b++) {
    im2col(s.col, s.xp + (size_t)b * Cin * P, Cin, ym, xm);
    float *yb = y + (size_t)b * Cout * N;
    for (int o = 0; o < Cout; o++)
      for (int q = 0; q < N; q++) yb[(size_t)o * N + q] = bias ? bias[o] : 0.0f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Cout, N, 9 * Cin, 1.0f, w, 9 * Cin,
                s.col, N, 1.0f, yb, N);
  }
  return 0;
}

static int im2col_backward(const pirf_level *L, float *dx, float *dw, const float *dy,
                           const float *x, const float *w, int B, int Cin, int Cout,
                           float *scratch) {
  if (!dx && !dw) return 0;
  const int xm = L->xm, ym = L->ym, N = xm * ym, P = (ym + 2) * (xm + 2);
  conv3_scratch s = carve3(L, PIRF_CONV3_IM2COL, B, Cin, Cout, align64(scratch));
  if (dw) PIRF_TRY(pirf_halo_pad(L, B * Cin, x, s.xp, s.halo));
  if (dx) memset(s.dxp, 0, (size_t)B * Cin * P * sizeof *s.dxp);
  for (int b = 0; b < B; b++) {
    const float *dyb = dy + (size_t)b * Cout * N;
    if (dw) {
      im2col(s.col, s.xp + (size_t)b * Cin * P, Cin, ym, xm);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Cout, 9 * Cin, N, 1.0f, dyb, N, s.col, N,
                  1.0f, dw, 9 * Cin);
    }
    if (dx) {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 9 * Cin, N, Cout, 1.0f, w, 9 * Cin, dyb,
                  N, 0.0f, s.col, N);
      col2im_add(s.dxp + (size_t)b * Cin * P, s.col, Cin, ym, xm);
    }
  }
  if (dx) PIRF_TRY(pirf_halo_unpad_add(L, B * Cin, s.dxp, dx, s.halo));
  return 0;
}

/* ---- k = 3, row taps: three SGEMMs with K = 3*Cin ------------------------------------------- */

/* col3[(c*3 + v)][r*xm + j] = xp[c][r][j + v] for all ym+2 padded rows r: the three horizontal taps
 * side by side (a 3x copy of the input instead of im2col's 9x). Tap row u then reads col3 at the
 * row offset u*xm, so y_b[Cout][N] += w_u[Cout][Cin*3] col3[:, u*xm : u*xm + N] is one SGEMM with
 * ldb = (ym+2)*xm, writing straight into y (no junk columns). */
static void build_col3(float *col3, const float *xp, int Cin, int ym, int xm) {
  const int Pw = xm + 2, P = (ym + 2) * Pw;
  for (int c = 0; c < Cin; c++)
    for (int v = 0; v < 3; v++) {
      float *dst = col3 + ((size_t)c * 3 + v) * (ym + 2) * xm;
      const float *src = xp + (size_t)c * P + v;
      for (int r = 0; r < ym + 2; r++)
        memcpy(dst + (size_t)r * xm, src + (size_t)r * Pw, (size_t)xm * sizeof *dst);
    }
}

static void col3_add(float *dxp, const float *col3, int Cin, int ym, int xm) {
  const int Pw = xm + 2, P = (ym + 2) * Pw;
  for (int c = 0; c < Cin; c++)
    for (int v = 0; v < 3; v++) {
      const float *src = col3 + ((size_t)c * 3 + v) * (ym + 2) * xm;
      float *dst = dxp + (size_t)c * P + v;
      for (int r = 0; r < ym + 2; r++)
        for (int j = 0; j < xm; j++) dst[(size_t)r * Pw + j] += src[(size_t)r * xm + j];
    }
}

/* w[o][c][u][v] -> w3[u][o][c*3 + v] */
static void repack_rows(float *w3, const float *w, int Cin, int Cout) {
  for (int o = 0; o < Cout; o++)
    for (int c = 0; c < Cin; c++)
      for (int u = 0; u < 3; u++)
        for (int v = 0; v < 3; v++)
          w3[((size_t)u * Cout + o) * 3 * Cin + c * 3 + v] =
              w[((size_t)o * Cin + c) * 9 + u * 3 + v];
}

static int rows_forward(const pirf_level *L, float *y, const float *x, const float *w,
                        const float *bias, int B, int Cin, int Cout, float *scratch) {
  const int xm = L->xm, ym = L->ym, N = xm * ym, P = (ym + 2) * (xm + 2), ldc3 = (ym + 2) * xm;
  conv3_scratch s = carve3(L, PIRF_CONV3_ROWS, B, Cin, Cout, align64(scratch));
  PIRF_TRY(pirf_halo_pad(L, B * Cin, x, s.xp, s.halo));
  repack_rows(s.wr, w, Cin, Cout);
  for (int b = 0; b < B; b++) {
    build_col3(s.col, s.xp + (size_t)b * Cin * P, Cin, ym, xm);
    float *yb = y + (size_t)b * Cout * N;
    for (int o = 0; o < Cout; o++)
      for (int q = 0; q < N; q++) yb[(size_t)o * N + q] = bias ? bias[o] : 0.0f;
    for (int u = 0; u < 3; u++)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Cout, N, 3 * Cin, 1.0f,
                  s.wr + (size_t)u * Cout * 3 * Cin, 3 * Cin, s.col + (size_t)u * xm, ldc3, 1.0f,
                  yb, N);
  }
  return 0;
}

static int rows_backward(const pirf_level *L, float *dx, float *dw, const float *dy, const float *x,
                         const float *w, int B, int Cin, int Cout, float *scratch) {
  if (!dx && !dw) return 0;
  const int xm = L->xm, ym = L->ym, N = xm * ym, P = (ym + 2) * (xm + 2), ldc3 = (ym + 2) * xm;
  conv3_scratch s = carve3(L, PIRF_CONV3_ROWS, B, Cin, Cout, align64(scratch));
  const size_t nw3 = (size_t)Cout * 3 * Cin;
  if (dw) {
    PIRF_TRY(pirf_halo_pad(L, B * Cin, x, s.xp, s.halo));
    memset(s.dwr, 0, 3 * nw3 * sizeof *s.dwr);
  }
  if (dx) {
    repack_rows(s.wr, w, Cin, Cout);
    memset(s.dxp, 0, (size_t)B * Cin * P * sizeof *s.dxp);
  }
  for (int b = 0; b < B; b++) {
    const float *dyb = dy + (size_t)b * Cout * N;
    if (dw) { /* dw_u[Cout][Cin*3] += dy_b[Cout][N] col3[:, u*xm : u*xm + N]^T */
      build_col3(s.col, s.xp + (size_t)b * Cin * P, Cin, ym, xm);
      for (int u = 0; u < 3; u++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Cout, 3 * Cin, N, 1.0f, dyb, N,
                    s.col + (size_t)u * xm, ldc3, 1.0f, s.dwr + u * nw3, 3 * Cin);
    }
    if (dx) { /* dcol3[:, u*xm : u*xm + N] += w_u^T dy_b, then the 3-tap scatter into dxp */
      memset(s.col, 0, (size_t)3 * Cin * ldc3 * sizeof *s.col);
      for (int u = 0; u < 3; u++)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 3 * Cin, N, Cout, 1.0f, s.wr + u * nw3,
                    3 * Cin, dyb, N, 1.0f, s.col + (size_t)u * xm, ldc3);
      col3_add(s.dxp + (size_t)b * Cin * P, s.col, Cin, ym, xm);
    }
  }
  if (dw)
    for (int o = 0; o < Cout; o++)
      for (int c = 0; c < Cin; c++)
        for (int u = 0; u < 3; u++)
          for (int v = 0; v < 3; v++)
            dw[((size_t)o * Cin + c) * 9 + u * 3 + v] +=
                s.dwr[u * nw3 + (size_t)o * 3 * Cin + c * 3 + v];
  if (dx) PIRF_TRY(pirf_halo_unpad_add(L, B * Cin, s.dxp, dx, s.halo));
  return 0;
}

/* ---- k = 3, oneDNN (conv2d_dnnl.c) --------------------------------------------------------- */

static int dnnl_forward(const pirf_level *L, float *y, const float *x, const float *w,
                        const float *bias, int B, int Cin, int Cout, float *scratch) {
  conv3_scratch s = carve3(L, PIRF_CONV3_DNNL, B, Cin, Cout, align64(scratch));
  PIRF_TRY(pirf_halo_pad(L, B * Cin, x, s.xp, s.halo));
  return pirf_dnnl_conv_forward(y, s.xp, w, bias, B, Cin, Cout, L->ym + 2, L->xm + 2, 3,
                                forward_mode);
}

static int dnnl_backward(const pirf_level *L, float *dx, float *dw, const float *dy,
                         const float *x, const float *w, int B, int Cin, int Cout, float *scratch) {
  conv3_scratch s = carve3(L, PIRF_CONV3_DNNL, B, Cin, Cout, align64(scratch));
  const int Hp = L->ym + 2, Wp = L->xm + 2;
  if (dw) {
    PIRF_TRY(pirf_halo_pad(L, B * Cin, x, s.xp, s.halo));
    PIRF_TRY(pirf_dnnl_conv3_backward_weights(dw, dy, s.xp, B, Cin, Cout, Hp, Wp));
  }
  if (dx) {
    PIRF_TRY(pirf_dnnl_conv3_backward_data(s.dxp, dy, w, B, Cin, Cout, Hp, Wp));
    PIRF_TRY(pirf_halo_unpad_add(L, B * Cin, s.dxp, dx, s.halo));
  }
  return 0;
}

/* ---- public entry points --------------------------------------------------------------------- */

/* The flops of one direction (forward, backward-data or backward-weights): 2 Cin Cout k^2 per
 * pixel and sample. */
static double conv_flops(const pirf_level *L, int B, int Cin, int Cout, int k) {
  return 2.0 * B * Cin * Cout * k * k * L->xm * L->ym;
}

static int conv3_forward_algo(const pirf_level *L, float *y, const float *x, const float *w,
                              const float *bias, int B, int Cin, int Cout, float *scratch) {
  if (forward_mode != PIRF_CONV_FWD_FP32)
    return dnnl_forward(L, y, x, w, bias, B, Cin, Cout, scratch);
  switch (pirf_conv2d_chosen(L)) {
  case PIRF_CONV3_DNNL: return dnnl_forward(L, y, x, w, bias, B, Cin, Cout, scratch);
  case PIRF_CONV3_IM2COL: return im2col_forward(L, y, x, w, bias, B, Cin, Cout, scratch);
  case PIRF_CONV3_ROWS: return rows_forward(L, y, x, w, bias, B, Cin, Cout, scratch);
  default: return conv3_forward(L, y, x, w, bias, B, Cin, Cout, scratch);
  }
}

static int conv3_backward_algo(const pirf_level *L, float *dx, float *dw, const float *dy,
                               const float *x, const float *w, int B, int Cin, int Cout,
                               float *scratch) {
  switch (pirf_conv2d_chosen(L)) {
  case PIRF_CONV3_DNNL: return dnnl_backward(L, dx, dw, dy, x, w, B, Cin, Cout, scratch);
  case PIRF_CONV3_IM2COL: return im2col_backward(L, dx, dw, dy, x, w, B, Cin, Cout, scratch);
  case PIRF_CONV3_ROWS: return rows_backward(L, dx, dw, dy, x, w, B, Cin, Cout, scratch);
  default: return conv3_backward(L, dx, dw, dy, x, w, B, Cin, Cout, scratch);
  }
}

int pirf_conv2d_forward(const pirf_level *L, float *y, const float *x, const float *w,
                        const float *bias, int B, int Cin, int Cout, int k, float *scratch) {
  PIRF_TRY(check_args(B, Cin, Cout, k));
  PIRF_CHECK(k == 1 || scratch, "conv2d 3x3 needs scratch memory (pirf_conv2d_scratch_floats)");
  const pirf_event ev = k == 1 ? PIRF_EV_CONV1_FWD : PIRF_EV_CONV3_FWD;
  pirf_prof_begin(ev);
  int err = 0;
  if (k == 1 && forward_mode == PIRF_CONV_FWD_BF16) /* bf16 through oneDNN, as the 3x3 ones */
    err = pirf_dnnl_conv_forward(y, x, w, bias, B, Cin, Cout, L->ym, L->xm, 1, PIRF_CONV_FWD_BF16);
  else if (k == 1)
    conv1_forward(L, y, x, w, bias, B, Cin, Cout);
  else
    err = conv3_forward_algo(L, y, x, w, bias, B, Cin, Cout, scratch);
  pirf_prof_end(ev, conv_flops(L, B, Cin, Cout, k));
  return err;
}

/* The weight gradient and the data gradient are computed in two passes, one profiling event each:
 * the two are independent sums over the same GEMM operands, so the results are those of one pass
 * (the second pass repeats only the copy of dy into the algorithm's layout). */
int pirf_conv2d_backward(const pirf_level *L, float *dx, float *dw, float *db, const float *dy,
                         const float *x, const float *w, int B, int Cin, int Cout, int k,
                         float *scratch) {
  PIRF_TRY(check_args(B, Cin, Cout, k));
  PIRF_CHECK(k == 1 || scratch, "conv2d 3x3 needs scratch memory (pirf_conv2d_scratch_floats)");
  const size_t N = (size_t)L->xm * L->ym;
  const double flops = conv_flops(L, B, Cin, Cout, k);
  if (dw || db) {
    const pirf_event ev = k == 1 ? PIRF_EV_CONV1_BWD_WEIGHTS : PIRF_EV_CONV3_BWD_WEIGHTS;
    pirf_prof_begin(ev);
    if (db)
      for (int b = 0; b < B; b++)
        for (int o = 0; o < Cout; o++) {
          const float *p = dy + ((size_t)b * Cout + o) * N;
          double acc = 0.0; /* a tile can hold 10^5 pixels: sum in double */
          for (size_t q = 0; q < N; q++) acc += p[q];
          db[o] += (float)acc;
        }
    int err = 0;
    if (dw && k == 1)
      conv1_backward(L, NULL, dw, dy, x, w, B, Cin, Cout);
    else if (dw)
      err = conv3_backward_algo(L, NULL, dw, dy, x, w, B, Cin, Cout, scratch);
    pirf_prof_end(ev, (dw ? flops : 0) + (db ? (double)B * Cout * N : 0));
    PIRF_TRY(err);
  }
  if (dx) {
    const pirf_event ev = k == 1 ? PIRF_EV_CONV1_BWD_DATA : PIRF_EV_CONV3_BWD_DATA;
    pirf_prof_begin(ev);
    int err = 0;
    if (k == 1)
      conv1_backward(L, dx, NULL, dy, x, w, B, Cin, Cout);
    else
      err = conv3_backward_algo(L, dx, NULL, dy, x, w, B, Cin, Cout, scratch);
    pirf_prof_end(ev, flops);
    PIRF_TRY(err);
  }
  return 0;
}
