/* Dropout with a counter-based mask (pirf/dropout.h):
 *
 *  dropout_mask_follows_documented_keying (16 x 136 field: rows longer than 64): y = x/(1-p) where pirf_rng_uniform(seed,
 *      PIRF_STREAM_DROPOUT, step, sample, (layer << 16) | c, gy*W + gx) >= p, else 0.
 *  dropout_keeps_fraction_1_minus_p: the kept fraction over ~140k elements is within 5 sigma of
 *      1 - p (p = 0.13, 0.5); p = 0 is the identity.
 *  dropout_masks_independent_across_layers_steps_samples: two masks that differ in one key word
 *      agree on a fraction p^2 + (1-p)^2 of the elements (5 sigma), i.e. they are not the same mask.
 *  dropout_grad_matches_finite_difference: dx against central differences of <y, g>.
 *  dropout_backward_accumulates: a second backward adds the same gradient again.
 *  dropout_matches_single_rank_at_any_layout: y and dx on every tile layout (incl. 2 data groups
 *      x 2 tiles) equal the whole-field result, at levels 0 and 1: the masks are identical. */
#include "nn_testing.h"
#include "pirf/dropout.h"

#include <string.h>

enum { B_PER_GROUP = 2, C = 4 };
static const float P = 0.13f;

typedef struct {
  const pirf_level *L;
  int B, C;
  float p;
  pirf_dropout_key key;
  float *x, *y, *g;
} dr_ctx;

static double dr_loss(void *ctx) {
  dr_ctx *c = ctx;
  if (pirf_dropout_forward(c->y, c->x, c->p, &c->key, c->B, c->C, c->L)) MPI_Abort(MPI_COMM_WORLD, 1);
  return test_dot(c->y, c->g, (size_t)c->B * c->C * c->L->xm * c->L->ym);
}

static void dr_alloc(dr_ctx *c, const pirf_level *L, int B, int Cn, uint32_t sample0, float p) {
  size_t n = (size_t)B * Cn * L->xm * L->ym;
  c->L = L;
  c->B = B;
  c->C = Cn;
  c->p = p;
  c->key = (pirf_dropout_key){.seed = 7, .step = 3, .layer = 5, .sample0 = sample0};
  c->x = test_alloc(n * 4);
  c->y = test_alloc(n * 4);
  c->g = test_alloc(n * 4);
  test_fill_tile(c->x, L, B, Cn, sample0, 51, 1.0, 0.3);
  test_fill_tile(c->g, L, B, Cn, sample0, 52, 1.0, 0.0);
}

static void dr_free(dr_ctx *c) { free(c->x); free(c->y); free(c->g); }

/* the documented mask, computed here from the RNG directly */
static int documented_keep(const pirf_dropout_key *k, float p, int b, int c, int gy, int gx, int W) {
  double u = pirf_rng_uniform(k->seed, PIRF_STREAM_DROPOUT, k->step, k->sample0 + (uint32_t)b,
                              (k->layer << 16) | (uint32_t)c, (uint32_t)(gy * W + gx));
  return u >= p;
}

static void check_statistics(void) {
  /* a whole field wider than the implementation's 64-pixel runs, and not a multiple of them */
  test_layout w;
  if (pirf_decomp_create(MPI_COMM_WORLD, 16, 136, 1, 1, 1, &w.dc)) MPI_Abort(MPI_COMM_WORLD, 1);
  pirf_level_init(&w.L, &w.dc, 0);
  const pirf_level *L = &w.L;
  const int B = 4, Cn = 16;
  const size_t hw = (size_t)L->xm * L->ym, n = (size_t)B * Cn * hw;
  const float ps[2] = {0.13f, 0.5f};
  for (int ip = 0; ip < 2; ip++) {
    dr_ctx c;
    dr_alloc(&c, L, B, Cn, 0, ps[ip]);
    TEST_CHECK(!pirf_dropout_forward(c.y, c.x, c.p, &c.key, B, Cn, L), "dropout returned an error");
    size_t kept = 0, wrong = 0;
    const float scale = 1.0f / (1.0f - c.p);
    for (int b = 0; b < B; b++)
      for (int ch = 0; ch < Cn; ch++)
        for (int j = 0; j < L->ym; j++)
          for (int i = 0; i < L->xm; i++) {
            size_t k = ((size_t)b * Cn + ch) * hw + (size_t)j * L->xm + i;
            int keep = documented_keep(&c.key, c.p, b, ch, j, i, L->W);
            kept += (size_t)keep;
            float want = keep ? c.x[k] * scale : 0.0f;
            wrong += fabsf(c.y[k] - want) > 1e-6f * fabsf(want);
          }
    TEST_CHECK(wrong == 0, "dropout_mask_follows_documented_keying (p = %g): %zu of %zu elements differ",
               (double)c.p, wrong, n);
    double expect = n * (1.0 - c.p), sigma = sqrt(n * c.p * (1.0 - c.p));
    TEST_CHECK(fabs(kept - expect) <= 5 * sigma,
               "dropout_keeps_fraction_1_minus_p (p = %g): kept %zu of %zu, expected %.0f +- %.0f",
               (double)c.p, kept, n, expect, sigma);
    /* masks that differ in one key word: layer, step, sample */
    const char *word[3] = {"layer", "step", "sample"};
    for (int v = 0; v < 3; v++) {
      pirf_dropout_key k2 = c.key;
      if (v == 0) k2.layer++;
      if (v == 1) k2.step++;
      if (v == 2) k2.sample0++;
      size_t agree = 0;
      for (int b = 0; b < B; b++)
        for (int ch = 0; ch < Cn; ch++)
          for (size_t pix = 0; pix < hw; pix++) {
            int gy = (int)(pix / L->xm), gx = (int)(pix % L->xm);
            agree += pirf_dropout_keep(&c.key, c.p, b, ch, gy, gx, L->W) ==
                     pirf_dropout_keep(&k2, c.p, b, ch, gy, gx, L->W);
          }
      double q = c.p * c.p + (1.0 - c.p) * (1.0 - c.p);
      double e = n * q, s = sqrt(n * q * (1.0 - q));
      TEST_CHECK(fabs(agree - e) <= 5 * s,
                 "dropout_masks_independent_across_layers_steps_samples (%s, p = %g): %zu of %zu "
                 "agree, expected %.0f +- %.0f", word[v], (double)c.p, agree, n, e, s);
    }
    dr_free(&c);
  }
  /* p = 0: identity */
  dr_ctx c;
  dr_alloc(&c, L, 2, 3, 0, 0.0f);
  TEST_CHECK(!pirf_dropout_forward(c.y, c.x, 0.0f, &c.key, 2, 3, L), "dropout returned an error");
  TEST_CHECK(!memcmp(c.x, c.y, (size_t)2 * 3 * hw * 4), "dropout_keeps_fraction_1_minus_p: p = 0 is not the identity");
  dr_free(&c);
  test_layout_destroy(&w);
}

static void check_fd(void) {
  test_layout w;
  test_layout_create(&w, 1, 1, 1);
  dr_ctx c;
  dr_alloc(&c, &w.L, B_PER_GROUP, C, 0, P);
  size_t n = (size_t)B_PER_GROUP * C * w.L.xm * w.L.ym;
  float *dx = test_alloc(n * 4), *dx2 = test_alloc(n * 4);
  TEST_CHECK(!pirf_dropout_backward(dx, c.g, P, &c.key, B_PER_GROUP, C, &w.L), "dropout returned an error");
  test_grad_fd("dropout_grad_matches_finite_difference", c.x, n, dx, dr_loss, &c, 1e-2, 1e-4, 1e-5);
  memcpy(dx2, dx, n * 4);
  TEST_CHECK(!pirf_dropout_backward(dx2, c.g, P, &c.key, B_PER_GROUP, C, &w.L), "dropout returned an error");
  for (size_t i = 0; i < n; i++) dx[i] *= 2.0f;
  test_check_vec("dropout_backward_accumulates", dx2, dx, n, 1e-6);
  free(dx); free(dx2);
  dr_free(&c);
  test_layout_destroy(&w);
}

static void check_layout(int px, int py, int level) {
  test_layout t, w;
  test_layout_create(&t, px, py, level);
  test_layout_create(&w, 1, 1, level);
  long first, count;
  pirf_decomp_samples(&t.dc, (long)B_PER_GROUP * t.dc.ndata, &first, &count);
  const int B = (int)count;
  dr_ctx ct, cw;
  dr_alloc(&ct, &t.L, B, C, (uint32_t)first, P);
  dr_alloc(&cw, &w.L, B, C, (uint32_t)first, P);
  float *dt = test_alloc((size_t)B * C * t.L.xm * t.L.ym * 4);
  float *dw = test_alloc((size_t)B * C * w.L.xm * w.L.ym * 4);
  TEST_CHECK(!pirf_dropout_forward(ct.y, ct.x, P, &ct.key, B, C, &t.L) &&
                 !pirf_dropout_forward(cw.y, cw.x, P, &cw.key, B, C, &w.L) &&
                 !pirf_dropout_backward(dt, ct.g, P, &ct.key, B, C, &t.L) &&
                 !pirf_dropout_backward(dw, cw.g, P, &cw.key, B, C, &w.L),
             "dropout returned an error");
  char what[128];
  snprintf(what, sizeof what, "dropout_matches_single_rank_at_any_layout y (level %d)", level);
  test_check_tile(what, ct.y, &t.L, cw.y, &w.L, B, C, 1e-5);
  snprintf(what, sizeof what, "dropout_matches_single_rank_at_any_layout dx (level %d)", level);
  test_check_tile(what, dt, &t.L, dw, &w.L, B, C, 1e-5);
  free(dt); free(dw);
  dr_free(&ct);
  dr_free(&cw);
  test_layout_destroy(&t);
  test_layout_destroy(&w);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  check_statistics();
  check_fd();
  int px[4], py[4], nl = test_layouts_for(size, px, py);
  for (int i = 0; i < nl; i++)
    for (int level = 0; level < TEST_LEVELS; level++) check_layout(px[i], py[i], level);
  int rc = test_finish("dropout");
  MPI_Finalize();
  return rc;
}
