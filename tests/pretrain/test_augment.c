/* augment_matches_edm_geometry: EDM's augmentation pipeline (pirf/augment.h), by its properties:
 *   - with p = 0 and every operation on, the resampling still runs (as in EDM) and gives the
 *     sample back to float rounding, and every label is 0;
 *   - a flip-only pipeline flips exactly the samples whose label says so, about half of them;
 *   - the geometric execution samples the input at G_inv p: a smooth field rotated, scaled and
 *     translated by a known G_inv matches the field evaluated at G_inv p away from the borders;
 *   - with p = 1 the labels are those of EDM's draws: (cos w - 1, sin w) on the unit circle shifted
 *     by one, flips 0 or 1, and they change with the slot;
 *   - on the tile decomposition (tiles [np,1], [1,np] and, at 4 ranks, [2,2]) the augmented tiles
 *     are the whole-sample result's tiles, bit for bit. */
#include "pirf/augment.h"
#include "pirf/check.h"
#include "testing.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { H = 24, W = 20, C = 2 };

static float field(int c, double X, double Y) { /* smooth, with structure in both directions */
  return (float)(sin(0.21 * X + 0.4 * c) * cos(0.17 * Y) + 0.05 * X - 0.03 * Y * (c + 1));
}

static void fill(float *x) {
  for (int c = 0; c < C; c++)
    for (int i = 0; i < H; i++)
      for (int j = 0; j < W; j++) x[((size_t)c * H + i) * W + j] = field(c, j, i);
}

static pirf_augment_opts all_on(double p) {
  pirf_augment_opts o = {p, 1e8, 1, 1, 1, 1, 1};
  return o;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int np;
  MPI_Comm_size(MPI_COMM_WORLD, &np);
  const size_t n = (size_t)C * H * W;
  float *x = calloc(n, sizeof *x), *y = calloc(n, sizeof *y), *z = calloc(n, sizeof *z);
  float *scratch = calloc(pirf_augment_scratch_floats(H, W) + (size_t)H * W, sizeof *scratch);
  fill(x);

  /* p = 0: identity through the whole resampling */
  pirf_augment_opts o = all_on(0);
  pirf_augment_draw d;
  pirf_augment_draw_sample(&o, 1, 2, 3, H, W, &d);
  TEST_CHECK(d.geometric && !d.xflip && !d.yflip, "p = 0 keeps the geometric path, no flips");
  int nz = 0;
  for (int k = 0; k < PIRF_AUGMENT_DIM; k++) nz += d.labels[k] != 0;
  TEST_CHECK(nz == 0, "p = 0 gives %d nonzero labels", nz);
  pirf_augment_apply(&d, C, H, W, x, y, scratch);
  double e = 0;
  for (size_t k = 0; k < n; k++) e = fmax(e, fabs((double)y[k] - x[k]));
  TEST_CHECK(e < 1e-5, "p = 0: the resampling changes the sample by %.3g", e);

  /* flips only */
  pirf_augment_opts of = {1, 1e8, 1, 0, 0, 0, 0};
  int flipped[2] = {0, 0}, bad = 0;
  for (uint32_t s = 0; s < 400; s++) {
    pirf_augment_draw_sample(&of, 5, 7, s, H, W, &d);
    if (d.geometric) bad++;
    pirf_augment_apply(&d, C, H, W, x, y, scratch);
    flipped[0] += d.xflip, flipped[1] += d.yflip;
    if (d.labels[0] != (float)d.xflip || d.labels[1] != (float)d.yflip) bad++;
    for (int c = 0; c < C; c++)
      for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) {
          const int si = d.yflip ? H - 1 - i : i, sj = d.xflip ? W - 1 - j : j;
          if (y[((size_t)c * H + i) * W + j] != x[((size_t)c * H + si) * W + sj]) bad++;
        }
  }
  TEST_CHECK(bad == 0, "flips: %d pixels or labels wrong", bad);
  TEST_CHECK(flipped[0] > 160 && flipped[0] < 240, "x-flipped %d of 400 (EDM: half)", flipped[0]);
  TEST_CHECK(flipped[1] > 160 && flipped[1] < 240, "y-flipped %d of 400 (EDM: half)", flipped[1]);

  /* a known G_inv: out(p) = field(G_inv p) in centred pixel coordinates */
  const double cx = (W - 1) / 2.0, cy = (H - 1) / 2.0, t = 0.35, s = 1.15;
  memset(&d, 0, sizeof d);
  d.geometric = 1;
  d.G[0][0] = s * cos(t), d.G[0][1] = -s * sin(t), d.G[0][2] = 1.5;
  d.G[1][0] = s * sin(t), d.G[1][1] = s * cos(t), d.G[1][2] = -0.75;
  d.G[2][2] = 1;
  pirf_augment_apply(&d, C, H, W, x, y, scratch);
  double worst = 0, scale = 0;
  int checked = 0;
  for (int c = 0; c < C; c++)
    for (int i = 0; i < H; i++)
      for (int j = 0; j < W; j++) {
        const double X = j - cx, Y = i - cy;
        const double sx = d.G[0][0] * X + d.G[0][1] * Y + d.G[0][2] + cx;
        const double sy = d.G[1][0] * X + d.G[1][1] * Y + d.G[1][2] + cy;
        if (sx < 4 || sx > W - 5 || sy < 4 || sy > H - 5) continue; /* away from the reflections */
        worst = fmax(worst, fabs(y[((size_t)c * H + i) * W + j] - field(c, sx, sy)));
        scale = fmax(scale, fabs(field(c, sx, sy)));
        checked++;
      }
  TEST_CHECK(checked > 200, "only %d interior pixels checked", checked);
  TEST_CHECK(worst < 0.01 * scale, "geometric: out(p) differs from in(G_inv p) by %.3g (of %.3g)",
             worst, scale);
  /* the inverse sense: the same check against field(G p) would fail */
  double other = 0;
  for (int i = 0; i < H; i++)
    for (int j = 0; j < W; j++) {
      const double X = j - cx, Y = i - cy;
      const double sx = (d.G[0][0] * X + d.G[1][0] * Y) / (s * s) + cx;
      const double sy = (d.G[0][1] * X + d.G[1][1] * Y) / (s * s) + cy;
      if (sx < 4 || sx > W - 5 || sy < 4 || sy > H - 5) continue;
      other = fmax(other, fabs(y[(size_t)i * W + j] - field(0, sx, sy)));
    }
  TEST_CHECK(other > 10 * worst, "the check cannot tell G_inv from its inverse (%.3g vs %.3g)",
             other, worst);

  /* p = 1: EDM's labels */
  o = all_on(1);
  int circle = 0, binary = 0, differ = 0;
  pirf_augment_draw prev;
  for (uint32_t sl = 0; sl < 50; sl++) {
    pirf_augment_draw_sample(&o, 9, 1, sl, H, W, &d);
    const double c1 = d.labels[3] + 1.0, s1 = d.labels[4];
    circle += fabs(c1 * c1 + s1 * s1 - 1) < 1e-5;
    binary += (d.labels[0] == 0 || d.labels[0] == 1) && (d.labels[1] == 0 || d.labels[1] == 1);
    if (sl && memcmp(d.labels, prev.labels, sizeof d.labels)) differ++;
    prev = d;
  }
  TEST_CHECK(circle == 50 && binary == 50, "labels: rotation on the circle %d/50, flips 0/1 %d/50",
             circle, binary);
  TEST_CHECK(differ == 49, "labels repeat between slots (%d of 49 differ)", differ);
  pirf_augment_draw again;
  pirf_augment_draw_sample(&o, 9, 1, 49, H, W, &again);
  TEST_CHECK(!memcmp(&again, &prev, sizeof again), "the same key draws something else");

  /* tiles: the whole sample's result, cut */
  const int layouts[3][2] = {{np, 1}, {1, np}, {2, 2}};
  for (int li = 0; li < 3; li++) {
    const int px = layouts[li][0], py = layouts[li][1];
    if (px * py != np || (li == 2 && np != 4)) continue;
    pirf_decomp dc;
    pirf_augment_buf ab;
    if (pirf_decomp_create(MPI_COMM_WORLD, H, W, px, py, 1, &dc) ||
        pirf_augment_buf_create(&ab, &o, &dc, C))
      MPI_Abort(MPI_COMM_WORLD, 1);
    enum { B = 3 };
    const size_t tn = (size_t)C * dc.xm * dc.ym;
    float *xt = calloc(B * tn, sizeof *xt), *yt = calloc(B * tn, sizeof *yt);
    float labels[B * PIRF_AUGMENT_DIM];
    for (int b = 0; b < B; b++)
      for (int c = 0; c < C; c++)
        for (int i = 0; i < dc.ym; i++)
          for (int j = 0; j < dc.xm; j++)
            xt[b * tn + ((size_t)c * dc.ym + i) * dc.xm + j] =
                x[((size_t)c * H + dc.ys + i) * W + dc.xs + j] * (float)(1 + b);
    TEST_CHECK(!pirf_augment_tiles(&ab, &dc, 4, 6, 10, B, xt, yt, labels), "augment tiles");
    int diff = 0;
    for (int b = 0; b < B; b++) {
      for (size_t k = 0; k < n; k++) z[k] = x[k] * (float)(1 + b);
      pirf_augment_draw_sample(&o, 4, 6, (uint32_t)(10 + b), H, W, &d);
      pirf_augment_apply(&d, C, H, W, z, y, scratch);
      diff += memcmp(labels + b * PIRF_AUGMENT_DIM, d.labels, sizeof d.labels) != 0;
      for (int c = 0; c < C; c++)
        for (int i = 0; i < dc.ym; i++)
          for (int j = 0; j < dc.xm; j++)
            diff += yt[b * tn + ((size_t)c * dc.ym + i) * dc.xm + j] !=
                    y[((size_t)c * H + dc.ys + i) * W + dc.xs + j];
    }
    MPI_Allreduce(MPI_IN_PLACE, &diff, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    TEST_CHECK(diff == 0, "tiles [%d,%d]: %d values differ from the whole sample's", px, py, diff);
    free(xt), free(yt);
    pirf_augment_buf_destroy(&ab);
    pirf_decomp_destroy(&dc);
  }
  free(x), free(y), free(z), free(scratch);
  int rc = test_finish("augment_matches_edm_geometry");
  MPI_Finalize();
  return rc;
}
