/* layers_are_rank_layout_invariant: conv 3x3 (levels 0 and 1), conv 1x1, down2 and up2 computed
 * on this rank's tile equal, pixel by pixel, the same layer computed by this rank alone on the
 * whole field (a 1x1 decomposition of MPI_COMM_WORLD, so every rank is its own data group); the
 * tiled dw and db summed over the space group equal the whole-field dw and db. Tolerance 1e-5
 * relative (summation order differs between tile sizes).
 *
 * argv: [px py]; by default [1,1], [2,1], [2,2] at 1, 2, 4 ranks. With 4 ranks and "2 1" there are
 * 2 data groups of 2 tiles: both groups must reproduce the whole field.
 * Grid 10 x 14 with levels = 2, so tiles are uneven (columns 8 + 6, rows 6 + 4) at level 0 and odd
 * (4 + 3, 3 + 2) at level 1. The 3x3 checks run with every algorithm (pirf_conv2d_set_algo), and
 * oneDNN's also with the bfloat16 and Winograd forwards (pirf_conv2d_set_forward). */
#include "nn_harness.h"
#include "pirf/conv2d.h"
#include "pirf/resample.h"
#include "testing.h"

#include <petscsys.h>
#include <string.h>

enum { H = 10, W = 14, B = 2, Cin = 5, Cout = 3 };

/* max over the tile of |tiled - whole| relative to the largest |whole| (and per pixel). */
static void compare_tile(const char *what, const pirf_level *Lt, int n, const float *tiled,
                         const float *whole) {
  float *cut = nn_alloc((size_t)n * Lt->xm * Lt->ym);
  nn_cut_tile(Lt, n, whole, cut);
  double amax = 0, worst = 0;
  const size_t nt = (size_t)n * Lt->xm * Lt->ym;
  for (size_t k = 0; k < nt; k++) amax = fmax(amax, fabs(cut[k]));
  int bad = 0;
  for (size_t k = 0; k < nt; k++) {
    double d = fabs((double)tiled[k] - cut[k]);
    worst = fmax(worst, d);
    if (!(d <= 1e-5 * fabs(cut[k]) + 1e-6 * amax) && bad++ < 5) /* NaN fails too */
      fprintf(stderr, "[rank %d] %s[%zu]: tiled %.8g, whole field %.8g\n", test_rank_(), what, k,
              tiled[k], cut[k]);
  }
  TEST_CHECK(bad == 0, "layers_are_rank_layout_invariant: %s has %d differing pixels (worst %.3g)",
             what, bad, worst);
  free(cut);
}

static void compare_sum(const char *what, MPI_Comm space, size_t n, float *tiled,
                        const float *whole) {
  MPI_Allreduce(MPI_IN_PLACE, tiled, (int)n, MPI_FLOAT, MPI_SUM, space);
  double amax = 0;
  for (size_t k = 0; k < n; k++) amax = fmax(amax, fabs(whole[k]));
  int bad = 0;
  for (size_t k = 0; k < n; k++)
    if (!(fabs((double)tiled[k] - whole[k]) <= 1e-5 * fabs(whole[k]) + 1e-6 * amax) && bad++ < 5)
      fprintf(stderr, "[rank %d] %s[%zu]: sum over tiles %.8g, whole field %.8g\n", test_rank_(),
              what, k, tiled[k], whole[k]);
  TEST_CHECK(bad == 0, "layers_are_rank_layout_invariant: %s has %d differing entries", what, bad);
}

/* One convolution (k, at `level`) on both layouts. */
static void check_conv(const pirf_decomp *dt, const pirf_decomp *dw_, int level, int k) {
  pirf_level Lt, Lw;
  pirf_level_init(&Lt, dt, level);
  pirf_level_init(&Lw, dw_, level);
  const size_t nw = (size_t)Cout * Cin * k * k;
  const size_t xw = (size_t)B * Cin * Lw.xm * Lw.ym, yw = (size_t)B * Cout * Lw.xm * Lw.ym;
  const size_t xt = (size_t)B * Cin * Lt.xm * Lt.ym, yt = (size_t)B * Cout * Lt.xm * Lt.ym;
  float *w = nn_alloc(nw), *b = nn_alloc(Cout);
  nn_fill_vec(nw, 10 + k, w);
  nn_fill_vec(Cout, 20 + k, b);
  float *sw = nn_alloc_dirty(pirf_conv2d_scratch_floats(&Lw, B, Cin, Cout, k)),
        *st = nn_alloc_dirty(pirf_conv2d_scratch_floats(&Lt, B, Cin, Cout, k));
  /* the whole field (B samples x channels as planes) */
  float *xW = nn_alloc(xw), *gW = nn_alloc(yw), *yW = nn_alloc_dirty(yw), *dxW = nn_alloc(xw),
        *dwW = nn_alloc(nw), *dbW = nn_alloc(Cout);
  nn_fill_tile(&Lw, B * Cin, 30 + level, xW);
  nn_fill_tile(&Lw, B * Cout, 40 + level, gW);
  int err = pirf_conv2d_forward(&Lw, yW, xW, w, b, B, Cin, Cout, k, sw) ||
            pirf_conv2d_backward(&Lw, dxW, dwW, dbW, gW, xW, w, B, Cin, Cout, k, sw);
  /* the tiles of the same fields */
  float *xT = nn_alloc(xt), *gT = nn_alloc(yt), *yT = nn_alloc_dirty(yt), *dxT = nn_alloc(xt),
        *dwT = nn_alloc(nw), *dbT = nn_alloc(Cout);
  nn_fill_tile(&Lt, B * Cin, 30 + level, xT);
  nn_fill_tile(&Lt, B * Cout, 40 + level, gT);
  err = err || pirf_conv2d_forward(&Lt, yT, xT, w, b, B, Cin, Cout, k, st) ||
        pirf_conv2d_backward(&Lt, dxT, dwT, dbT, gT, xT, w, B, Cin, Cout, k, st);
  TEST_CHECK(!err, "conv%d at level %d returned an error", k, level);
  char what[64];
  snprintf(what, sizeof what, "conv%dx%d level %d y", k, k, level);
  compare_tile(what, &Lt, B * Cout, yT, yW);
  if (k == 3 && pirf_conv2d_algo() == PIRF_CONV3_DNNL) {
    static const pirf_conv_fwd modes[2] = {PIRF_CONV_FWD_BF16, PIRF_CONV_FWD_WINOGRAD};
    static const char *mode_names[2] = {"bf16", "winograd"};
    for (int m = 0; m < 2; m++) {
      pirf_conv2d_set_forward(modes[m]);
      err = pirf_conv2d_forward(&Lw, yW, xW, w, b, B, Cin, Cout, k, sw) ||
            pirf_conv2d_forward(&Lt, yT, xT, w, b, B, Cin, Cout, k, st);
      pirf_conv2d_set_forward(PIRF_CONV_FWD_FP32);
      TEST_CHECK(!err, "%s conv3 at level %d returned an error", mode_names[m], level);
      snprintf(what, sizeof what, "conv3x3 %s level %d y", mode_names[m], level);
      compare_tile(what, &Lt, B * Cout, yT, yW);
    }
  }
  snprintf(what, sizeof what, "conv%dx%d level %d dx", k, k, level);
  compare_tile(what, &Lt, B * Cin, dxT, dxW);
  snprintf(what, sizeof what, "conv%dx%d level %d dw", k, k, level);
  compare_sum(what, Lt.comm, nw, dwT, dwW);
  snprintf(what, sizeof what, "conv%dx%d level %d db", k, k, level);
  compare_sum(what, Lt.comm, Cout, dbT, dbW);
  free(w), free(b), free(sw), free(st), free(xW), free(gW), free(yW), free(dxW), free(dwW),
      free(dbW), free(xT), free(gT), free(yT), free(dxT), free(dwT), free(dbT);
}

/* down2 and up2 between levels 0 and 1 on both layouts. */
static void check_resample(const pirf_decomp *dt, const pirf_decomp *dw_) {
  pirf_level Ft, Fw, Ct, Cw;
  pirf_level_init(&Ft, dt, 0), pirf_level_init(&Fw, dw_, 0);
  pirf_level_init(&Ct, dt, 1), pirf_level_init(&Cw, dw_, 1);
  const int n = B * Cin;
  const size_t fw = (size_t)n * Fw.xm * Fw.ym, cw = fw / 4;
  const size_t ft = (size_t)n * Ft.xm * Ft.ym, ct = ft / 4;
  float *xW = nn_alloc(fw), *yW = nn_alloc_dirty(cw), *gW = nn_alloc(cw), *dxW = nn_alloc(fw);
  float *xT = nn_alloc(ft), *yT = nn_alloc_dirty(ct), *gT = nn_alloc(ct), *dxT = nn_alloc(ft);
  nn_fill_tile(&Fw, n, 50, xW), nn_fill_tile(&Ft, n, 50, xT);
  nn_fill_tile(&Cw, n, 51, gW), nn_fill_tile(&Ct, n, 51, gT);
  pirf_down2_forward(&Fw, yW, xW, n), pirf_down2_backward(&Fw, dxW, gW, n);
  pirf_down2_forward(&Ft, yT, xT, n), pirf_down2_backward(&Ft, dxT, gT, n);
  compare_tile("down2 y", &Ct, n, yT, yW);
  compare_tile("down2 dx", &Ft, n, dxT, dxW);
  /* up2: coarse x (reuse g as input), fine cotangent (reuse x) */
  float *uW = nn_alloc_dirty(fw), *uT = nn_alloc_dirty(ft), *duW = nn_alloc(cw),
        *duT = nn_alloc(ct);
  pirf_up2_forward(&Fw, uW, gW, n), pirf_up2_backward(&Fw, duW, xW, n);
  pirf_up2_forward(&Ft, uT, gT, n), pirf_up2_backward(&Ft, duT, xT, n);
  compare_tile("up2 y", &Ft, n, uT, uW);
  compare_tile("up2 dx", &Ct, n, duT, duW);
  free(xW), free(yW), free(gW), free(dxW), free(xT), free(yT), free(gT), free(dxT), free(uW),
      free(uT), free(duW), free(duT);
}

int main(int argc, char **argv) {
  PetscInitialize(&argc, &argv, NULL, NULL);
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int px, py;
  nn_layout(argc, argv, size, &px, &py);
  pirf_decomp tiled, whole;
  if (pirf_decomp_create(MPI_COMM_WORLD, H, W, px, py, 2, &tiled) ||
      pirf_decomp_create(MPI_COMM_WORLD, H, W, 1, 1, 2, &whole))
    MPI_Abort(MPI_COMM_WORLD, 1);
  /* every 3x3 algorithm, and AUTO */
  const pirf_conv3_algo algos[5] = {PIRF_CONV3_SHIFTED_GEMM, PIRF_CONV3_IM2COL, PIRF_CONV3_ROWS,
                                    PIRF_CONV3_DNNL, PIRF_CONV3_AUTO};
  for (int a = 0; a < 5; a++) {
    pirf_conv2d_set_algo(algos[a]);
    check_conv(&tiled, &whole, 0, 3);
    check_conv(&tiled, &whole, 1, 3);
  }
  check_conv(&tiled, &whole, 0, 1);
  check_resample(&tiled, &whole);
  pirf_decomp_destroy(&tiled);
  pirf_decomp_destroy(&whole);
  char title[96];
  snprintf(title, sizeof title, "layers_are_rank_layout_invariant [%d x %d tiles, %d ranks]", px,
           py, size);
  int rc = test_finish(title);
  PetscFinalize();
  return rc;
}
