/* Per-layer checks on one rank, the layer named by argv[1] (conv3, conv1, down2, up2):
 *
 *  <layer>_forward_matches_direct_sum:
 *      y equals an independent double-precision loop over the definition (EDM/PyTorch semantics:
 *      cross-correlation, zero padding, bias; 2x2 average; nearest 2x copy).
 *  <layer>_grad_matches_finite_difference:
 *      with a random cotangent g and loss = <y, g>, every entry of dx, dw and db equals the central
 *      difference (loss(v + e) - loss(v - e)) / 2e, loss summed in double. The loss is linear in
 *      each single entry, so the difference is exact up to float rounding and one wrong term
 *      fails. The gradient buffers start non-zero to check that backward accumulates.
 *
 *  conv3_bf16_forward_matches_direct_sum_of_rounded_operands (argv[2] = dnnl), and conv1's:
 *      with pirf_conv2d_set_forward(PIRF_CONV_FWD_BF16), y equals the double direct sum over x and w rounded to
 *      bfloat16 (round to nearest even), and differs from the float32 output.
 *
 * Shapes: B = 2, Cin = 3, Cout = 4 on a 6 x 8 field (rows x columns). argv[2] = shifted (default),
 * im2col, rows or dnnl selects the 3x3 algorithm (pirf_conv2d_set_algo). */
#include "nn_harness.h"
#include "pirf/conv2d.h"
#include "pirf/resample.h"
#include "testing.h"

#include <petscsys.h>
#include <stdint.h>
#include <string.h>

enum { OP_CONV3, OP_CONV1, OP_DOWN2, OP_UP2 };
static const int B = 2, Cin = 3, Cout = 4, H = 6, W = 8;

typedef struct {
  int op, k;
  pirf_level L;  /* level of the fine field */
  size_t nx, ny; /* input and output sizes */
  float *scratch;
} layer;

static void forward(layer *ly, float *y, const float *x, const float *w, const float *b) {
  if (ly->op == OP_CONV3 || ly->op == OP_CONV1) {
    if (pirf_conv2d_forward(&ly->L, y, x, w, b, B, Cin, Cout, ly->k, ly->scratch))
      MPI_Abort(MPI_COMM_WORLD, 1);
  } else if (ly->op == OP_DOWN2) {
    pirf_down2_forward(&ly->L, y, x, B * Cin);
  } else {
    pirf_up2_forward(&ly->L, y, x, B * Cin);
  }
}

static void backward(layer *ly, float *dx, float *dw, float *db, const float *dy, const float *x,
                     const float *w) {
  if (ly->op == OP_CONV3 || ly->op == OP_CONV1) {
    if (pirf_conv2d_backward(&ly->L, dx, dw, db, dy, x, w, B, Cin, Cout, ly->k, ly->scratch))
      MPI_Abort(MPI_COMM_WORLD, 1);
  } else if (ly->op == OP_DOWN2) {
    pirf_down2_backward(&ly->L, dx, dy, B * Cin);
  } else {
    pirf_up2_backward(&ly->L, dx, dy, B * Cin);
  }
}

/* The definition, in double, straight from the formulas in the headers. */
static void reference(const layer *ly, double *y, const float *x, const float *w, const float *b) {
  if (ly->op == OP_CONV3 || ly->op == OP_CONV1) {
    const int k = ly->k, h = k / 2;
    for (int n = 0; n < B; n++)
      for (int o = 0; o < Cout; o++)
        for (int i = 0; i < H; i++)
          for (int j = 0; j < W; j++) {
            double s = b[o];
            for (int c = 0; c < Cin; c++)
              for (int u = 0; u < k; u++)
                for (int v = 0; v < k; v++) {
                  int ii = i + u - h, jj = j + v - h;
                  if (ii < 0 || jj < 0 || ii >= H || jj >= W) continue;
                  s += (double)w[((o * Cin + c) * k + u) * k + v] *
                       x[(((size_t)n * Cin + c) * H + ii) * W + jj];
                }
            y[(((size_t)n * Cout + o) * H + i) * W + j] = s;
          }
  } else if (ly->op == OP_DOWN2) {
    for (int p = 0; p < B * Cin; p++)
      for (int i = 0; i < H / 2; i++)
        for (int j = 0; j < W / 2; j++) {
          double s = 0;
          for (int u = 0; u < 2; u++)
            for (int v = 0; v < 2; v++) s += x[((size_t)p * H + 2 * i + u) * W + 2 * j + v];
          y[((size_t)p * (H / 2) + i) * (W / 2) + j] = s / 4;
        }
  } else {
    for (int p = 0; p < B * Cin; p++)
      for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++)
          y[((size_t)p * H + i) * W + j] = x[((size_t)p * (H / 2) + i / 2) * (W / 2) + j / 2];
  }
}

/* x rounded to the nearest bfloat16 (ties to even), as oneDNN's float32 -> bf16 reorder does */
static float round_bf16(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
  memcpy(&x, &u, sizeof u);
  return x;
}

/* The bf16 forward equals the direct sum of the rounded operands (float32 accumulation: 1e-5),
 * and is not the float32 result (the setting took effect). */
static void check_bf16(layer *ly, const char *name, const float *x, const float *w, const float *b,
                       const float *y32) {
  const size_t nw = (size_t)Cout * Cin * ly->k * ly->k;
  float *xr = nn_alloc(ly->nx), *wr = nn_alloc(nw), *y = nn_alloc_dirty(ly->ny);
  double *yref = calloc(ly->ny, sizeof *yref);
  for (size_t k = 0; k < ly->nx; k++) xr[k] = round_bf16(x[k]);
  for (size_t k = 0; k < nw; k++) wr[k] = round_bf16(w[k]);
  pirf_conv2d_set_forward(PIRF_CONV_FWD_BF16);
  forward(ly, y, x, w, b);
  pirf_conv2d_set_forward(PIRF_CONV_FWD_FP32);
  reference(ly, yref, xr, wr, b);
  int bad = 0, differ = 0;
  for (size_t k = 0; k < ly->ny; k++) {
    if (!(fabs(y[k] - yref[k]) <= 1e-5 * (1 + fabs(yref[k]))) && bad++ < 5)
      fprintf(stderr, "%s bf16 y[%zu] = %.8g, direct sum of rounded operands %.8g\n", name, k,
              y[k], yref[k]);
    differ += y[k] != y32[k];
  }
  TEST_CHECK(bad == 0, "%s_bf16_forward_matches_direct_sum_of_rounded_operands: %d wrong", name,
             bad);
  TEST_CHECK(differ > 0, "%s bf16 forward differs from the float32 one", name);
  free(xr), free(wr), free(y), free(yref);
}

static double loss(layer *ly, float *y, const float *x, const float *w, const float *b,
                   const float *g) {
  forward(ly, y, x, w, b);
  double s = 0;
  for (size_t k = 0; k < ly->ny; k++) s += (double)y[k] * g[k];
  return s;
}

/* Central differences for every entry of v (x, w or b) against the analytic gradient an. */
static void check_fd(layer *ly, const char *name, const char *what, float *v, size_t n,
                     const float *an, float *y, const float *x, const float *w, const float *b,
                     const float *g) {
  const float eps = 0.25f;
  double amax = 0;
  for (size_t k = 0; k < n; k++) amax = fmax(amax, fabs(an[k]));
  int bad = 0;
  double worst = 0;
  for (size_t k = 0; k < n; k++) {
    const float v0 = v[k];
    v[k] = v0 + eps;
    double lp = loss(ly, y, x, w, b, g);
    v[k] = v0 - eps;
    double lm = loss(ly, y, x, w, b, g);
    v[k] = v0;
    double fd = (lp - lm) / (2.0 * (double)eps), d = fabs(fd - an[k]);
    worst = fmax(worst, d);
    if (!(d <= 1e-4 * amax + 1e-4 * fabs(fd))) { /* NaN fails too */
      if (bad++ < 5)
        fprintf(stderr, "%s %s[%zu]: analytic %.8g, finite difference %.8g\n", name, what, k, an[k],
                fd);
    }
  }
  printf("%s: %s worst |fd - analytic| = %.3g (max |grad| %.3g)\n", name, what, worst, amax);
  TEST_CHECK(bad == 0, "%s_grad_matches_finite_difference: %d wrong entries of %s", name, bad,
             what);
}

int main(int argc, char **argv) {
  PetscInitialize(&argc, &argv, NULL, NULL);
  if (argc < 2) {
    fprintf(stderr, "usage: %s conv3|conv1|down2|up2\n", argv[0]);
    return 2;
  }
  const char *name = argv[1];
  /* the tiles here are small (AUTO would pick im2col): test each algorithm explicitly */
  const char *algo = argc > 2 ? argv[2] : "shifted";
  pirf_conv2d_set_algo(!strcmp(algo, "im2col") ? PIRF_CONV3_IM2COL
                       : !strcmp(algo, "rows") ? PIRF_CONV3_ROWS
                       : !strcmp(algo, "dnnl") ? PIRF_CONV3_DNNL
                                               : PIRF_CONV3_SHIFTED_GEMM);
  layer ly = {0};
  ly.op = !strcmp(name, "conv3")   ? OP_CONV3
          : !strcmp(name, "conv1") ? OP_CONV1
          : !strcmp(name, "down2") ? OP_DOWN2
                                   : OP_UP2;
  ly.k = ly.op == OP_CONV3 ? 3 : 1;
  pirf_decomp dc;
  if (pirf_decomp_create(MPI_COMM_SELF, H, W, 1, 1, 2, &dc)) MPI_Abort(MPI_COMM_WORLD, 1);
  pirf_level_init(&ly.L, &dc, 0);
  const int is_conv = ly.op <= OP_CONV1;
  const size_t fine = (size_t)H * W, coarse = fine / 4;
  ly.nx = (size_t)B * Cin * (ly.op == OP_UP2 ? coarse : fine);
  ly.ny = (size_t)B * (is_conv ? Cout : Cin) * (ly.op == OP_DOWN2 ? coarse : fine);
  const size_t nw = is_conv ? (size_t)Cout * Cin * ly.k * ly.k : 0, nb = is_conv ? Cout : 0;
  ly.scratch = nn_alloc_dirty(pirf_conv2d_scratch_floats(&ly.L, B, Cin, Cout, ly.k));

  float *x = nn_alloc(ly.nx), *w = nn_alloc(nw), *b = nn_alloc(nb), *y = nn_alloc_dirty(ly.ny),
        *g = nn_alloc(ly.ny), *dx = nn_alloc(ly.nx), *dw = nn_alloc(nw), *db = nn_alloc(nb),
        *dx0 = nn_alloc(ly.nx), *dw0 = nn_alloc(nw), *db0 = nn_alloc(nb);
  double *yref = calloc(ly.ny, sizeof *yref);
  nn_fill_vec(ly.nx, 1, x);
  nn_fill_vec(nw, 2, w);
  nn_fill_vec(nb, 3, b);
  nn_fill_vec(ly.ny, 4, g);

  /* forward against the definition */
  forward(&ly, y, x, w, b);
  reference(&ly, yref, x, w, b);
  int bad = 0;
  for (size_t k = 0; k < ly.ny; k++)
    if (!(fabs(y[k] - yref[k]) <= 1e-5 * (1 + fabs(yref[k]))) && bad++ < 5)
      fprintf(stderr, "%s y[%zu] = %.8g, direct sum %.8g\n", name, k, y[k], yref[k]);
  TEST_CHECK(bad == 0, "%s_forward_matches_direct_sum: %d wrong outputs", name, bad);
  if (((ly.op == OP_CONV3 && !strcmp(algo, "dnnl")) || ly.op == OP_CONV1) &&
      pirf_conv2d_bf16_supported())
    check_bf16(&ly, name, x, w, b, y);

  /* backward accumulates onto non-zero buffers; subtract the start values to get the gradient */
  nn_fill_vec(ly.nx, 5, dx0);
  nn_fill_vec(nw, 6, dw0);
  nn_fill_vec(nb, 7, db0);
  memcpy(dx, dx0, ly.nx * sizeof *dx);
  memcpy(dw, dw0, nw * sizeof *dw);
  memcpy(db, db0, nb * sizeof *db);
  backward(&ly, dx, dw, db, g, x, w);
  for (size_t k = 0; k < ly.nx; k++) dx[k] -= dx0[k];
  for (size_t k = 0; k < nw; k++) dw[k] -= dw0[k];
  for (size_t k = 0; k < nb; k++) db[k] -= db0[k];
  check_fd(&ly, name, "dx", x, ly.nx, dx, y, x, w, b, g);
  if (is_conv) {
    check_fd(&ly, name, "dw", w, nw, dw, y, x, w, b, g);
    check_fd(&ly, name, "db", b, nb, db, y, x, w, b, g);
    /* NULL gradients are allowed and leave the others unchanged */
    float *dx2 = nn_alloc(ly.nx);
    backward(&ly, dx2, NULL, NULL, g, x, w);
    bad = 0;
    for (size_t k = 0; k < ly.nx; k++)
      bad += !(fabsf(dx2[k] - dx[k]) <= 1e-5f * (1 + fabsf(dx[k])));
    TEST_CHECK(bad == 0, "%s backward with dw = db = NULL gives the same dx (%d differ)", name,
               bad);
    free(dx2);
  }
  free(x), free(w), free(b), free(y), free(g), free(dx), free(dw), free(db), free(dx0), free(dw0),
      free(db0), free(yref), free(ly.scratch);
  pirf_decomp_destroy(&dc);
  char title[96];
  snprintf(title, sizeof title, "%s_grad_matches_finite_difference", name);
  int rc = test_finish(title);
  PetscFinalize();
  return rc;
}
