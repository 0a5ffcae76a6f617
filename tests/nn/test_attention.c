/* Self-attention core on tiles (pirf/attention.h):
 *
 *  attention_matches_direct_formula: the whole-field forward equals a double reference of
 *      a[c,q] = sum_k softmax_k(sum_c' q[c',q] k[c',k] / sqrt(C)) v[c,k] with EDM's interleaved
 *      q/k/v channels (o = 3c + j), including logits large enough to overflow a naive exp.
 *  attention_grad_matches_finite_difference: dqkv (q, k and v parts) against central differences
 *      of <a, g> on the whole field.
 *  attention_matches_single_rank_at_any_layout: on every tile layout (incl. 2 data groups x 2
 *      tiles), a and dqkv equal the whole-field result on the tile to 1e-5 relative, at levels 0
 *      and 1, with saved weights and with weights recomputed in the backward. */
#include "nn_testing.h"
#include "pirf/attention.h"

#include <string.h>

enum { B_PER_GROUP = 2, C = 4 };

typedef struct {
  const pirf_level *L;
  int B;
  float *qkv, *a, *att, *g;
  void *scratch;
} at_ctx;

static void at_alloc(at_ctx *c, const pirf_level *L, int B, uint32_t sample0, double scale) {
  size_t nq = (size_t)L->xm * L->ym;
  c->L = L;
  c->B = B;
  c->qkv = test_alloc((size_t)B * 3 * C * nq * 4);
  c->a = test_alloc((size_t)B * C * nq * 4);
  c->g = test_alloc((size_t)B * C * nq * 4);
  c->att = test_alloc(pirf_attention_att_size(B, L) * 4);
  c->scratch = test_alloc(pirf_attention_scratch_bytes(B, C, L));
  test_fill_tile(c->qkv, L, B, 3 * C, sample0, 21, scale, 0.1);
  test_fill_tile(c->g, L, B, C, sample0, 22, 1.0, 0.0);
}

static void at_free(at_ctx *c) {
  free(c->qkv); free(c->a); free(c->g); free(c->att); free(c->scratch);
}

static double at_loss(void *p) {
  at_ctx *c = p;
  if (pirf_attention_forward(c->a, NULL, c->qkv, c->B, C, c->L, c->scratch))
    MPI_Abort(MPI_COMM_WORLD, 1);
  return test_dot(c->a, c->g, (size_t)c->B * C * c->L->xm * c->L->ym);
}

/* forward (saving the weights when save) then backward into a zeroed dqkv */
static int at_run(at_ctx *c, float *dqkv, int save) {
  size_t n = (size_t)c->B * 3 * C * c->L->xm * c->L->ym;
  memset(dqkv, 0, n * 4);
  return pirf_attention_forward(c->a, save ? c->att : NULL, c->qkv, c->B, C, c->L, c->scratch) ||
         pirf_attention_backward(dqkv, c->g, c->qkv, save ? c->att : NULL, c->B, C, c->L,
                                 c->scratch);
}

/* max |a - reference| / max |reference| on the whole field */
static double direct_error(const at_ctx *c) {
  const size_t N = (size_t)c->L->xm * c->L->ym;
  double *w = test_alloc(N * sizeof *w), maxd = 0.0, maxr = 0.0;
  for (int b = 0; b < c->B; b++) {
    const float *qkv = c->qkv + (size_t)b * 3 * C * N;
    for (size_t q = 0; q < N; q++) {
      double mx = -INFINITY, sum = 0.0;
      for (size_t k = 0; k < N; k++) {
        double s = 0.0;
        for (int ch = 0; ch < C; ch++) s += (double)qkv[(3 * ch + 0) * N + q] * qkv[(3 * ch + 1) * N + k];
        w[k] = s / sqrt((double)C);
        mx = fmax(mx, w[k]);
      }
      for (size_t k = 0; k < N; k++) sum += (w[k] = exp(w[k] - mx));
      for (int ch = 0; ch < C; ch++) {
        double r = 0.0;
        for (size_t k = 0; k < N; k++) r += w[k] / sum * qkv[(3 * ch + 2) * N + k];
        double got = c->a[((size_t)b * C + ch) * N + q];
        maxd = fmax(maxd, isfinite(got) ? fabs(got - r) : INFINITY);
        maxr = fmax(maxr, fabs(r));
      }
    }
  }
  free(w);
  return maxd / maxr;
}

static void check_direct_and_fd(void) {
  test_layout w;
  test_layout_create(&w, 1, 1, 1);
  at_ctx c;
  /* large inputs: logits of order 1e3, exp() overflows unless the row maximum is subtracted */
  at_alloc(&c, &w.L, B_PER_GROUP, 0, 30.0);
  TEST_CHECK(!pirf_attention_forward(c.a, NULL, c.qkv, c.B, C, c.L, c.scratch), "forward failed");
  double e = direct_error(&c);
  TEST_CHECK(e < 1e-5, "attention_matches_direct_formula (large logits): relative error %.3g", e);
  at_free(&c);

  at_alloc(&c, &w.L, B_PER_GROUP, 0, 1.0);
  size_t n = (size_t)c.B * 3 * C * w.L.xm * w.L.ym;
  float *dqkv = test_alloc(n * 4);
  TEST_CHECK(!at_run(&c, dqkv, 1), "attention returned an error");
  e = direct_error(&c);
  TEST_CHECK(e < 1e-5, "attention_matches_direct_formula: relative error %.3g", e);
  /* every rank would repeat the same whole-field check: one is enough (and keeps np 4 fast) */
  if (w.dc.world_rank == 0)
    test_grad_fd("attention_grad_matches_finite_difference dqkv", c.qkv, n, dqkv, at_loss, &c,
                 1e-2, 1e-3, 5e-4);
  free(dqkv);
  at_free(&c);
  test_layout_destroy(&w);
}

static void check_layout(int px, int py, int level) {
  test_layout t, w;
  test_layout_create(&t, px, py, level);
  test_layout_create(&w, 1, 1, level);
  long first, count;
  pirf_decomp_samples(&t.dc, (long)B_PER_GROUP * t.dc.ndata, &first, &count);
  const int B = (int)count;
  at_ctx ct, cw;
  at_alloc(&ct, &t.L, B, (uint32_t)first, 1.0);
  at_alloc(&cw, &w.L, B, (uint32_t)first, 1.0);
  size_t nt = (size_t)B * 3 * C * t.L.xm * t.L.ym, nw = (size_t)B * 3 * C * w.L.xm * w.L.ym;
  float *dt = test_alloc(nt * 4), *dt2 = test_alloc(nt * 4), *dw = test_alloc(nw * 4);
  TEST_CHECK(!at_run(&ct, dt2, 0) && !at_run(&ct, dt, 1) && !at_run(&cw, dw, 1),
             "attention returned an error");
  char what[160];
  snprintf(what, sizeof what, "attention_matches_single_rank_at_any_layout a (level %d)", level);
  test_check_tile(what, ct.a, &t.L, cw.a, &w.L, B, C, 1e-5);
  snprintf(what, sizeof what, "attention_matches_single_rank_at_any_layout dqkv (level %d)", level);
  test_check_tile(what, dt, &t.L, dw, &w.L, B, 3 * C, 1e-5);
  snprintf(what, sizeof what,
           "attention_matches_single_rank_at_any_layout dqkv, weights recomputed (level %d)", level);
  test_check_tile(what, dt2, &t.L, dw, &w.L, B, 3 * C, 1e-5);
  free(dt); free(dt2); free(dw);
  at_free(&ct);
  at_free(&cw);
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
  int rc = test_finish("attention");
  MPI_Finalize();
  return rc;
}
