/* GroupNorm on tiles (pirf/groupnorm.h):
 *
 *  groupnorm_matches_direct_formula: the whole-field forward equals a two-pass double reference
 *      (biased variance over the group's channels and all pixels, eps inside the square root).
 *  groupnorm_statistics_survive_large_mean: the same with mean 1000 and spread 1 (the statistics
 *      are accumulated in double; a float32 sum of squares would fail).
 *  groupnorm_grad_matches_finite_difference: dx, dgamma, dbeta against central differences of
 *      <y, g> with random x (non-zero mean), gamma, beta and cotangent g, on the whole field.
 *  groupnorm_backward_accumulates: a second backward adds the same gradients again.
 *  groupnorm_matches_single_rank_at_any_layout: on every tile layout the job allows (incl. 2 data
 *      groups x 2 tiles), y and dx equal the whole-field result on the tile and dgamma, dbeta
 *      summed over the tiles equal the whole-field ones, to 1e-5 relative, at levels 0 and 1.
 *  groupnorm_apply_reproduces_forward: on every layout, y rebuilt by pirf_groupnorm_apply from x
 *      and the forward's statistics is the forward's y bit for bit, also in place (y = x): a
 *      backward that rebuilds y instead of keeping it (pirf/unet_eval.h) gets the same gradients. */
#include "nn_testing.h"
#include "pirf/groupnorm.h"

#include <string.h>

enum { B_PER_GROUP = 2, C = 8, G = 2 };
static const float EPS = 1e-6f;

typedef struct {
  const pirf_level *L;
  int B;
  float *x, *gamma, *beta, *y, *mean, *rstd, *g;
  double *work;
} gn_ctx;

static double gn_loss(void *p) {
  gn_ctx *c = p;
  size_t n = (size_t)c->B * C * c->L->xm * c->L->ym;
  if (pirf_groupnorm_forward(c->y, c->mean, c->rstd, c->x, c->gamma, c->beta, c->B, C, G, EPS,
                             c->L, c->work))
    MPI_Abort(MPI_COMM_WORLD, 1);
  return test_dot(c->y, c->g, n);
}

/* Runs forward and backward (gradients zeroed first); returns 0 on success. */
static int gn_run(gn_ctx *c, float *dx, float *dgamma, float *dbeta) {
  size_t n = (size_t)c->B * C * c->L->xm * c->L->ym;
  memset(dx, 0, n * sizeof *dx);
  memset(dgamma, 0, C * sizeof *dgamma);
  memset(dbeta, 0, C * sizeof *dbeta);
  return pirf_groupnorm_forward(c->y, c->mean, c->rstd, c->x, c->gamma, c->beta, c->B, C, G, EPS,
                                c->L, c->work) ||
         pirf_groupnorm_backward(dx, dgamma, dbeta, c->g, c->x, c->gamma, c->mean, c->rstd, c->B,
                                 C, G, c->L, c->work);
}

static void gn_alloc(gn_ctx *c, const pirf_level *L, int B, uint32_t sample0) {
  size_t n = (size_t)B * C * L->xm * L->ym;
  c->L = L;
  c->B = B;
  c->x = test_alloc(n * 4);
  c->y = test_alloc(n * 4);
  c->g = test_alloc(n * 4);
  c->gamma = test_alloc(C * 4);
  c->beta = test_alloc(C * 4);
  c->mean = test_alloc((size_t)B * G * 4);
  c->rstd = test_alloc((size_t)B * G * 4);
  c->work = test_alloc(pirf_groupnorm_work_size(B, G) * sizeof(double));
  /* an offset of 0.7 against a spread of 1.3: the mean subtraction matters */
  test_fill_tile(c->x, L, B, C, sample0, 1, 1.3, 0.7);
  test_fill_tile(c->g, L, B, C, sample0, 2, 1.0, 0.0);
  test_fill_vec(c->gamma, C, 3, 0.5, 1.0);
  test_fill_vec(c->beta, C, 4, 0.5, 0.0);
}

static void gn_free(gn_ctx *c) {
  free(c->x); free(c->y); free(c->g); free(c->gamma); free(c->beta); free(c->mean); free(c->rstd);
  free(c->work);
}

/* Largest |y - two-pass double reference| over the whole field (ref from the same float x). */
static double direct_error(const gn_ctx *c) {
  const size_t hw = (size_t)c->L->xm * c->L->ym;
  const int cg = C / G;
  double maxdiff = 0.0;
  for (int b = 0; b < c->B; b++)
    for (int g = 0; g < G; g++) {
      const float *xg = c->x + ((size_t)b * C + (size_t)g * cg) * hw;
      double mu = 0.0, var = 0.0;
      for (size_t k = 0; k < cg * hw; k++) mu += xg[k];
      mu /= (double)(cg * hw);
      for (size_t k = 0; k < cg * hw; k++) var += (xg[k] - mu) * (xg[k] - mu);
      var /= (double)(cg * hw);
      for (int ch = g * cg; ch < (g + 1) * cg; ch++)
        for (size_t k = 0; k < hw; k++) {
          size_t i = ((size_t)b * C + ch) * hw + k;
          double ref = (c->x[i] - mu) / sqrt(var + EPS) * c->gamma[ch] + c->beta[ch];
          maxdiff = fmax(maxdiff, fabs(ref - c->y[i]));
        }
    }
  return maxdiff;
}

static void check_direct_and_fd(void) {
  test_layout w;
  test_layout_create(&w, 1, 1, 1);
  gn_ctx c;
  /* mean 1000 against a spread of 1: a float32 sum of squares would lose the variance entirely;
   * the output can only be as good as x's own resolution (ulp(1000) = 6e-5) */
  gn_alloc(&c, &w.L, B_PER_GROUP, 0);
  test_fill_tile(c.x, &w.L, B_PER_GROUP, C, 0, 1, 1.0, 1000.0);
  TEST_CHECK(!pirf_groupnorm_forward(c.y, c.mean, c.rstd, c.x, c.gamma, c.beta, c.B, C, G, EPS,
                                     c.L, c.work), "groupnorm returned an error");
  double e = direct_error(&c);
  TEST_CHECK(e < 2e-4, "groupnorm_statistics_survive_large_mean: max |y - ref| = %.3g", e);
  gn_free(&c);

  gn_alloc(&c, &w.L, B_PER_GROUP, 0);
  size_t n = (size_t)B_PER_GROUP * C * w.L.xm * w.L.ym;
  float *dx = test_alloc(n * 4), *dgamma = test_alloc(C * 4), *dbeta = test_alloc(C * 4);
  TEST_CHECK(!gn_run(&c, dx, dgamma, dbeta), "groupnorm returned an error");

  double maxdiff = direct_error(&c);
  TEST_CHECK(maxdiff < 1e-5, "groupnorm_matches_direct_formula: max |y - ref| = %.3g", maxdiff);

  test_grad_fd("groupnorm_grad_matches_finite_difference dx", c.x, n, dx, gn_loss, &c, 1e-2, 1e-3,
               5e-4);
  test_grad_fd("groupnorm_grad_matches_finite_difference dgamma", c.gamma, C, dgamma, gn_loss, &c,
               1e-2, 1e-3, 5e-4);
  test_grad_fd("groupnorm_grad_matches_finite_difference dbeta", c.beta, C, dbeta, gn_loss, &c,
               1e-2, 1e-3, 5e-4);
  /* a second backward on top of the first doubles dx, dgamma and dbeta */
  float *dx2 = test_alloc(n * 4), dg2[C], db2[C];
  memcpy(dx2, dx, n * 4);
  memcpy(dg2, dgamma, sizeof dg2);
  memcpy(db2, dbeta, sizeof db2);
  TEST_CHECK(!pirf_groupnorm_backward(dx2, dg2, db2, c.g, c.x, c.gamma, c.mean, c.rstd, c.B, C, G,
                                      c.L, c.work), "groupnorm returned an error");
  for (size_t i = 0; i < n; i++) dx[i] *= 2.0f;
  for (int i = 0; i < C; i++) {
    dgamma[i] *= 2.0f;
    dbeta[i] *= 2.0f;
  }
  test_check_vec("groupnorm_backward_accumulates dx", dx2, dx, n, 1e-6);
  test_check_vec("groupnorm_backward_accumulates dgamma", dg2, dgamma, C, 1e-6);
  test_check_vec("groupnorm_backward_accumulates dbeta", db2, dbeta, C, 1e-6);
  free(dx); free(dx2); free(dgamma); free(dbeta);
  gn_free(&c);
  test_layout_destroy(&w);
}

static void check_layout(int px, int py, int level) {
  test_layout t, w;
  test_layout_create(&t, px, py, level);
  test_layout_create(&w, 1, 1, level);
  long first, count;
  pirf_decomp_samples(&t.dc, (long)B_PER_GROUP * t.dc.ndata, &first, &count);
  const int B = (int)count;
  gn_ctx ct, cw;
  gn_alloc(&ct, &t.L, B, (uint32_t)first);
  gn_alloc(&cw, &w.L, B, (uint32_t)first); /* the same global samples, whole field */
  size_t nt = (size_t)B * C * t.L.xm * t.L.ym, nw = (size_t)B * C * w.L.xm * w.L.ym;
  float *dxt = test_alloc(nt * 4), *dxw = test_alloc(nw * 4);
  float *dgt = test_alloc(C * 4), *dbt = test_alloc(C * 4), *dgw = test_alloc(C * 4),
        *dbw = test_alloc(C * 4);
  TEST_CHECK(!gn_run(&ct, dxt, dgt, dbt) && !gn_run(&cw, dxw, dgw, dbw), "groupnorm returned an error");
  /* the normalisation rebuilt from the statistics: identical floats, out of place and in place */
  float *ya = test_alloc(nt * 4);
  TEST_CHECK(!pirf_groupnorm_apply(ya, ct.x, ct.mean, ct.rstd, ct.gamma, ct.beta, B, C, G, &t.L),
             "groupnorm_apply returned an error");
  TEST_CHECK(!memcmp(ya, ct.y, nt * 4), "groupnorm_apply_reproduces_forward (level %d): y differs",
             level);
  memcpy(ya, ct.x, nt * 4);
  TEST_CHECK(!pirf_groupnorm_apply(ya, ya, ct.mean, ct.rstd, ct.gamma, ct.beta, B, C, G, &t.L),
             "groupnorm_apply returned an error");
  TEST_CHECK(!memcmp(ya, ct.y, nt * 4),
             "groupnorm_apply_reproduces_forward in place (level %d): y differs", level);
  free(ya);
  /* parameter gradients are per-tile partial sums: the caller's reduction over tiles */
  MPI_Allreduce(MPI_IN_PLACE, dgt, C, MPI_FLOAT, MPI_SUM, t.dc.space);
  MPI_Allreduce(MPI_IN_PLACE, dbt, C, MPI_FLOAT, MPI_SUM, t.dc.space);
  char what[128];
  snprintf(what, sizeof what, "groupnorm_matches_single_rank_at_any_layout y (level %d)", level);
  test_check_tile(what, ct.y, &t.L, cw.y, &w.L, B, C, 1e-5);
  snprintf(what, sizeof what, "groupnorm_matches_single_rank_at_any_layout dx (level %d)", level);
  test_check_tile(what, dxt, &t.L, dxw, &w.L, B, C, 1e-5);
  snprintf(what, sizeof what, "groupnorm_matches_single_rank_at_any_layout dgamma (level %d)", level);
  test_check_vec(what, dgt, dgw, C, 1e-5);
  snprintf(what, sizeof what, "groupnorm_matches_single_rank_at_any_layout dbeta (level %d)", level);
  test_check_vec(what, dbt, dbw, C, 1e-5);
  free(dxt); free(dxw); free(dgt); free(dbt); free(dgw); free(dbw);
  gn_free(&ct);
  gn_free(&cw);
  test_layout_destroy(&t);
  test_layout_destroy(&w);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  check_direct_and_fd();
  int px[4], py[4], nl = test_layouts_for(size, px, py);
  for (int i = 0; i < nl; i++)
    for (int level = 0; level < TEST_LEVELS; level++) check_layout(px[i], py[i], level);
  int rc = test_finish("groupnorm");
  MPI_Finalize();
  return rc;
}
