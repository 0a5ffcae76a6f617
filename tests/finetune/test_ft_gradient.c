/* pirf_gradient_matches_finite_differences_and_layouts:
 *   1. on one rank (MPI_COMM_SELF), the PIRF gradient of (reward loss + weight regularization) with
 *      respect to entries of several tensors of the trainable level equals a central finite
 *      difference of the whole sampler + reward, for DRaFT-K with K = 1 (truncated tape) and K = 2,
 *      full DRaFT (K = N), DRaFT-LV and ReFT (dropout off, lambda > 0 with theta != theta_ref);
 *   2. the K = 1 truncated gradient equals the untruncated one and the "all" gradient restricted to
 *      the trainable range;
 *   3. on the world (tiles [1,1], [2,1], [1,2], [2,2] times data groups, micro-batches of 1) the
 *      world sum of the partial gradients and the loss equal the one-rank values, to 1e-4: the
 *      gradient is the mean over the global batch and the regularization enters once; also with
 *      dropout on the taped steps (masks keyed by the global sample). */
#include "ft_harness.h"
#include "testing.h"

#include <petscsys.h>
#include <string.h>

enum { NPROBE = 5 };

static pirf_unet net;
static float *params, *ref, *frozen;

/* DRaFT-K's loss as a function of the weights of its differentiable steps; the earlier steps keep
 * the unperturbed weights (the stop-gradient; for full DRaFT there are none). */
static double total_loss(pirf_ft *ft, long iter) {
  pirf_ft_stats st;
  if (pirf_ft_loss(ft, params, frozen, ref, iter, &st)) MPI_Abort(MPI_COMM_WORLD, 1);
  return st.loss + st.reg;
}

/* Gradient (world sum) of case c on decomposition dc into g (whole arena, zero outside range). */
static int gradient(const pirf_decomp *dc, pirf_physics *ph, const pirf_ft_config *c, int pf,
                    int pe, long iter, float *g, pirf_ft_stats *st) {
  pirf_ft ft;
  PIRF_TRY(pirf_ft_create(&ft, &net, dc, ph, c, pf, pe));
  PIRF_TRY(pirf_ft_gradient(&ft, params, ref, iter, st));
  memcpy(g, ft.grad, net.table.total * sizeof *g);
  for (size_t e = 0; e < net.table.total; e++)
    if (e < ft.first || e >= ft.first + ft.count) g[e] = 0;
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, g, (int)net.table.total, MPI_FLOAT, MPI_SUM, dc->world));
  pirf_ft_destroy(&ft);
  return 0;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  PetscInitialize(&argc, &argv, NULL, NULL);
  int np;
  MPI_Comm_size(MPI_COMM_WORLD, &np);
  pirf_config *cfg;
  pirf_unet_config uc = model_tiny_config(0.2);
  if (ft_config(&cfg) || pirf_unet_create(&uc, &net)) MPI_Abort(MPI_COMM_WORLD, 1);
  const size_t P = net.table.total;
  params = model_alloc(P);
  ref = model_alloc(P);
  frozen = model_alloc(P);
  float *g = model_alloc(P), *g2 = model_alloc(P), *gw = model_alloc(P);
  model_random_params(&net, 5, params);
  memcpy(frozen, params, P * sizeof *frozen);
  for (size_t e = 0; e < P; e++)
    ref[e] = params[e] + (float)(0.05 * model_rand(77, 0, 0, (uint32_t)e));
  int pf, pe, af, ae;
  pirf_ft_trainable_range(&net, "decoder0", &pf, &pe);
  pirf_ft_trainable_range(&net, "all", &af, &ae);

  pirf_decomp self;
  pirf_physics *ph_self;
  if (pirf_decomp_create(MPI_COMM_SELF, 16, 16, 1, 1, 2, &self) ||
      pirf_physics_create(cfg, &self, &ph_self))
    MPI_Abort(MPI_COMM_WORLD, 1);

  struct {
    const char *name;
    pirf_ft_method m;
    int k;
    long iter;
    int dropout; /* layouts only: masks keyed by the global sample */
  } cases[] = {{"draft-k K=1", PIRF_FT_DRAFT_K, 1, 3, 0}, {"draft-k K=2", PIRF_FT_DRAFT_K, 2, 4, 0},
               {"draft K=N", PIRF_FT_DRAFT, 0, 5, 0},     {"draft-lv", PIRF_FT_DRAFT_LV, 1, 6, 0},
               {"reft", PIRF_FT_REFT, 0, 7, 0},           {"K=2 dropout", PIRF_FT_DRAFT_K, 2, 8, 1}};
  const int ncase = (int)(sizeof cases / sizeof cases[0]);
  for (int ci = 0; ci < ncase; ci++) {
    pirf_ft_config c = ft_small(cases[ci].m, cases[ci].k);
    c.lambda = 0.3;
    c.dropout = cases[ci].dropout;
    pirf_ft_stats st;
    if (gradient(&self, ph_self, &c, pf, pe, cases[ci].iter, g, &st)) MPI_Abort(MPI_COMM_WORLD, 1);
    if (c.dropout) goto layouts; /* the untaped loss has no dropout: no finite differences */
    /* 1. finite differences at the largest gradient entry of several tensors of the range */
    pirf_ft ft;
    if (pirf_ft_create(&ft, &net, &self, ph_self, &c, pf, pe)) MPI_Abort(MPI_COMM_WORLD, 1);
    if (ci == 0) TEST_CHECK(ft.truncated, "K = 1 on decoder0 should use a truncated tape");
    TEST_CHECK(ft.ntapes == (c.method == PIRF_FT_DRAFT_LV ? 1 + c.lv_inner : 2 * ft.kmax - 1),
               "%s: %d tapes", cases[ci].name, ft.ntapes);
    const int step = (pe - pf) / NPROBE > 0 ? (pe - pf) / NPROBE : 1;
    for (int q = 0, ti = pf; q < NPROBE && ti < pe; q++, ti += step) {
      const pirf_param *p = &net.table.p[ti];
      size_t best = p->offset;
      for (size_t e = p->offset; e < p->offset + p->count; e++)
        if (fabs(g[e]) > fabs(g[best])) best = e;
      const float keep = params[best];
      const float h = 2e-3f * fmaxf(fabsf(keep), 0.5f);
      params[best] = keep + h;
      double lp = total_loss(&ft, cases[ci].iter);
      params[best] = keep - h;
      double lm = total_loss(&ft, cases[ci].iter);
      params[best] = keep;
      double fd = (lp - lm) / ((double)(keep + h) - (double)(keep - h));
      char what[200];
      snprintf(what, sizeof what, "%s: d loss / d %s[%zu] vs central difference", cases[ci].name,
               p->name, best - p->offset);
      TEST_CLOSE(g[best], fd, 1e-2, 1e-6 * fabs(st.loss), what);
      if (test_rank_() == 0)
        printf("%-12s %-36s grad %+.6e  fd %+.6e\n", cases[ci].name, p->name, g[best], fd);
    }
    /* the loss without tapes is the loss of the gradient pass */
    TEST_CLOSE(total_loss(&ft, cases[ci].iter), st.loss + st.reg, 1e-5, 0, "loss with/without tapes");
    pirf_ft_destroy(&ft);

    /* 2. truncation gives the untruncated gradient on the range */
    if (ci == 0) {
      pirf_ft_config u = c;
      u.truncate = 0;
      pirf_ft_stats s2;
      if (gradient(&self, ph_self, &u, pf, pe, cases[ci].iter, g2, &s2) ||
          gradient(&self, ph_self, &u, af, ae, cases[ci].iter, gw, &s2))
        MPI_Abort(MPI_COMM_WORLD, 1);
      for (size_t e = 0; e < P; e++)
        if (e < net.table.p[pf].offset) gw[e] = 0;
      TEST_CHECK(rel_diff(g, g2, P) <= 1e-6, "truncated vs untruncated: %.3g", rel_diff(g, g2, P));
      TEST_CHECK(rel_diff(g, gw, P) <= 1e-6, "truncated vs all restricted to the range: %.3g",
                 rel_diff(g, gw, P));
    }

  layouts:
    /* 3. the same gradient on every layout of the world, micro-batches of one sample */
    const int layouts[4][2] = {{1, 1}, {2, 1}, {1, 2}, {2, 2}};
    for (int li = 0; li < 4; li++) {
      int px = layouts[li][0], py = layouts[li][1];
      if (np % (px * py)) continue;
      pirf_decomp dc;
      pirf_physics *ph;
      pirf_ft_stats sw;
      pirf_ft_config cw = c;
      cw.micro = 1;
      if (pirf_decomp_create(MPI_COMM_WORLD, 16, 16, px, py, 2, &dc) ||
          pirf_physics_create(cfg, &dc, &ph) || gradient(&dc, ph, &cw, pf, pe, cases[ci].iter, gw, &sw))
        MPI_Abort(MPI_COMM_WORLD, 1);
      double r = rel_diff(gw, g, P);
      TEST_CHECK(r <= 1e-4, "%s, tiles [%d,%d] x %d groups: gradient differs by %.3g", cases[ci].name,
                 px, py, dc.ndata, r);
      TEST_CLOSE(sw.loss + sw.reg, st.loss + st.reg, 1e-5, 0, "loss on a layout");
      if (test_rank_() == 0)
        printf("%-12s tiles [%d,%d] x %d groups: loss %.8g (one rank %.8g), gradient %.2e\n",
               cases[ci].name, px, py, dc.ndata, sw.loss + sw.reg, st.loss + st.reg, r);
      pirf_physics_destroy(&ph);
      pirf_decomp_destroy(&dc);
    }
  }
  pirf_physics_destroy(&ph_self);
  pirf_decomp_destroy(&self);
  free(params), free(ref), free(frozen), free(g), free(g2), free(gw);
  pirf_unet_destroy(&net);
  pirf_config_destroy(&cfg);
  int rc = test_finish("pirf_gradient_matches_finite_differences_and_layouts");
  PetscFinalize();
  MPI_Finalize();
  return rc;
}
