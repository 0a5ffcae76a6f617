/* The SongUNet with PG-Diffusion's physics-gradient branch (model.physics_gradient) behind EDM's
 * preconditioning, and PG-Diffusion's training input:
 *  pg_table_names_follow_songunetpg: the table ends with emb_grad_layer1.{weight,bias} [8,2,1,1],
 *    [8] and emb_grad_layer2.{weight,bias} [2,8,3,3], [2], and the first conv takes 2C = 4 inputs.
 *  pg_branch_starts_at_zero: with EDM's init (branch weights and biases 0) D(x | grad) = D(x).
 *  pg_denoiser_grad_matches_finite_difference: with random weights, the branch's parameter
 *    gradients, the first conv's and a sample of x's gradient of <D(x | grad), g> against
 *    fourth-order central differences (eps 1e-2);
 *    D(x | grad) != D(x) (the branch is wired in).
 *  pg_training_step_is_rank_layout_invariant: pirf_edm_loss with the physics gradient always on
 *    (cond_dropout 0; dx = d||R(x_t)||/dx_t over the batch of 4, Darcy 16x16) gives the same loss
 *    and parameter gradient (summed over the world) on tiles [1,1], [2,1], [1,2], [2,2] x data
 *    groups as one rank holding the whole batch, to 1e-5 relative; with cond_dropout 1 the loss
 *    differs (dx really reaches the network).
 *  pg_training_dx_is_the_residual_norm_gradient: on one rank, the dx the step fed equals
 *    pirf_residual_norm's gradient at the noisy inputs x_t of the batch.
 *  pg_coin_rate: the per-step coin feeds dx on 40-60% of 400 steps at cond_dropout 0.5, on every
 *    step at 0 and on none at 1. */
#include "pirf/check.h"
#include "pirf/deck.h"
#include "pirf/edm_loss.h"
#include "pirf/reward.h"
#include "model/model_harness.h"
#include "testing.h"

#include <petscsys.h>
#include <string.h>

enum { NTOT = 4, BFD = 2 };

static pirf_unet_config pg_config(double dropout) {
  pirf_unet_config uc = model_tiny_config(dropout);
  uc.physics_gradient = 1;
  return uc;
}

static int load_physics(pirf_config **cfg) {
  char *over[] = {"pde.name=darcy", "grid.resolution=16", "model.channel_mult=[1,2]"};
  return pirf_config_load(cfg, pirf_deck_tables(), NULL, 3, over);
}

/* one PG training loss and gradient of the batch's share on dc */
static int step(const pirf_unet *net, const pirf_config *cfg, const pirf_decomp *dc,
                const float *params, double cond_dropout, double *loss, float *g) {
  long first, count;
  pirf_decomp_samples(dc, NTOT, &first, &count);
  pirf_level L0;
  pirf_level_init(&L0, dc, 0);
  float *y = model_alloc((size_t)count * 2 * L0.xm * L0.ym);
  model_fill_tile(&L0, (int)count, first, 2, 5, y);
  for (size_t k = 0; k < (size_t)count * 2 * L0.xm * L0.ym; k++) y[k] *= 0.5f;
  pirf_physics *ph = NULL;
  pirf_unet_work *w;
  pirf_unet_tape *t;
  pirf_edm_loss_buf lb;
  PIRF_TRY(pirf_physics_create(cfg, dc, &ph));
  PIRF_TRY(pirf_unet_work_create(net, dc, (int)count, 1, &w));
  PIRF_TRY(pirf_unet_tape_create(net, dc, (int)count, &t));
  PIRF_TRY(pirf_edm_loss_buf_create(&lb, dc, (int)count, 2));
  PIRF_TRY(pirf_edm_loss_buf_pg(&lb, ph, cond_dropout));
  pirf_unet_dropout drop = {.seed = 3, .step = 9, .sample0 = (uint32_t)first};
  memset(g, 0, net->table.total * sizeof *g);
  PIRF_TRY(pirf_edm_loss(net, w, t, &lb, dc, params, y, (int)count, first, NTOT, 21, 9, &drop, g,
                         0, net->table.n, loss));
  if (dc->world_size == 1 && lb.pg_with) {
    /* one rank holds the whole batch: dx must be the residual norm's gradient at x_t = lb.x */
    const size_t n = (size_t)count * 2 * L0.xm * L0.ym;
    float *ref = model_alloc(n);
    double L;
    PIRF_TRY(pirf_residual_norm(ph, (int)count, lb.x, &L, ref, 1.0));
    double d = 0, m = 0;
    for (size_t k = 0; k < n; k++) d = fmax(d, fabs((double)lb.pg_dx[k] - ref[k])), m = fmax(m, fabs(ref[k]));
    TEST_CHECK(m > 0 && d <= 1e-6 * m, "pg_training_dx_is_the_residual_norm_gradient: differs by "
               "%.3g (max %.3g)", d, m);
    free(ref);
  }
  pirf_edm_loss_buf_destroy(&lb);
  pirf_unet_tape_destroy(&t);
  pirf_unet_work_destroy(&w);
  pirf_physics_destroy(&ph);
  free(y);
  return 0;
}

static void check_layouts(const pirf_unet *net, const pirf_config *cfg, const float *params) {
  int np;
  MPI_Comm_size(MPI_COMM_WORLD, &np);
  const size_t P = net->table.total;
  float *gref = model_alloc(P), *g = model_alloc(P);
  pirf_decomp ref_dc;
  double lref, lnone;
  if (pirf_decomp_create(MPI_COMM_SELF, 16, 16, 1, 1, 2, &ref_dc) ||
      step(net, cfg, &ref_dc, params, 1.0, &lnone, g) ||
      step(net, cfg, &ref_dc, params, 0.0, &lref, gref))
    MPI_Abort(MPI_COMM_WORLD, 1);
  TEST_CHECK(fabs(lref - lnone) > 1e-6 * fabs(lref),
             "pg_training_step: the loss with dx (%.9g) differs from the loss without (%.9g)", lref,
             lnone);
  const int layouts[4][2] = {{1, 1}, {2, 1}, {1, 2}, {2, 2}};
  for (int li = 0; li < 4; li++) {
    const int px = layouts[li][0], py = layouts[li][1];
    if (np % (px * py)) continue;
    pirf_decomp dc;
    double loss;
    if (pirf_decomp_create(MPI_COMM_WORLD, 16, 16, px, py, 2, &dc) ||
        step(net, cfg, &dc, params, 0.0, &loss, g))
      MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Allreduce(MPI_IN_PLACE, &loss, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, g, (int)P, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    double diff = 0, norm = 0, bdiff = 0, bnorm = 0;
    const size_t b0 = net->table.p[net->pg_layer1].offset;
    for (size_t e = 0; e < P; e++) {
      const double d2 = pow((double)g[e] - gref[e], 2), n2 = pow((double)gref[e], 2);
      diff += d2, norm += n2;
      if (e >= b0) bdiff += d2, bnorm += n2;
    }
    char what[128];
    snprintf(what, sizeof what, "pg_training_step_is_rank_layout_invariant: tiles [%d,%d] x %d "
             "group(s): loss", px, py, dc.ndata);
    TEST_CLOSE(loss, lref, 1e-5, 0, what);
    TEST_CHECK(sqrt(diff / norm) <= 1e-5 && bnorm > 0 && sqrt(bdiff / bnorm) <= 1e-5,
               "pg_training_step_is_rank_layout_invariant: tiles [%d,%d] x %d group(s): gradient "
               "differs by %.3g, the branch's by %.3g (relative)", px, py, dc.ndata,
               sqrt(diff / norm), bnorm > 0 ? sqrt(bdiff / bnorm) : -1.0);
    if (test_rank_() == 0)
      printf("tiles [%d,%d] x %d group(s): loss %.9g (one rank %.9g; without dx %.9g)\n", px, py,
             dc.ndata, loss, lref, lnone);
    pirf_decomp_destroy(&dc);
  }
  free(gref), free(g);
  pirf_decomp_destroy(&ref_dc);
}

/* the denoiser on one rank's whole field: D(x | grad) and its vjp */
typedef struct {
  const pirf_unet *net;
  pirf_unet_work *w;
  pirf_unet_tape *t;
  float *params, *x, *grad, *D, *gco;
  double sigma[BFD];
  size_t n;
} fdctx;

static double objective(fdctx *c, const float *grad) {
  if (pirf_edm_denoise_with(c->net, c->w, NULL, c->params, c->x, c->sigma, BFD, NULL, grad, NULL,
                            c->D))
    MPI_Abort(MPI_COMM_WORLD, 1);
  double s = 0;
  for (size_t k = 0; k < c->n; k++) s += (double)c->D[k] * c->gco[k];
  return s;
}

static void fd_check(const char *what, fdctx *c, float *v, size_t n, size_t stride,
                     const float *a, double eps) {
  int bad = 0, checked = 0;
  double worst = 0;
  for (size_t k = 0; k < n; k += stride) {
    /* fourth-order central differences: the network's curvature over eps would dominate the
     * plain two-point error, and a smaller eps drowns in float32 rounding */
    const float v0 = v[k];
    double l[4];
    const double hs[4] = {eps, -eps, 2 * eps, -2 * eps};
    for (int j = 0; j < 4; j++) {
      v[k] = (float)(v0 + hs[j]);
      l[j] = objective(c, c->grad);
    }
    v[k] = v0;
    const double f = (8 * (l[0] - l[1]) - (l[2] - l[3])) / (12 * eps), err = fabs(f - a[k]);
    const double tol = 1e-2 * fabs(f) + 1e-3;
    worst = fmax(worst, err / tol);
    checked++;
    if (err > tol && bad++ < 5)
      fprintf(stderr, "  %s[%zu]: finite difference %.7g, analytic %.7g\n", what, k, f, a[k]);
  }
  TEST_CHECK(bad == 0, "pg_denoiser_grad_matches_finite_difference: %s differs at %d of %d "
             "entries (worst err/tol %.3g)", what, bad, checked, worst);
  if (test_rank_() == 0) printf("%s: %d entries, worst err/tol %.3g\n", what, checked, worst);
}

static void check_denoiser(const pirf_unet *net) {
  pirf_decomp dc;
  fdctx c = {.net = net};
  if (pirf_decomp_create(MPI_COMM_SELF, 16, 16, 1, 1, 2, &dc) ||
      pirf_unet_work_create(net, &dc, BFD, 1, &c.w) || pirf_unet_tape_create(net, &dc, BFD, &c.t))
    MPI_Abort(MPI_COMM_WORLD, 1);
  pirf_level L0;
  pirf_level_init(&L0, &dc, 0);
  const size_t P = net->table.total;
  c.n = (size_t)BFD * 2 * 256;
  c.params = model_alloc(P), c.x = model_alloc(c.n), c.grad = model_alloc(c.n);
  c.D = model_alloc(c.n), c.gco = model_alloc(c.n);
  float *D0 = model_alloc(c.n), *dp = model_alloc(P), *dx = model_alloc(c.n);
  c.sigma[0] = 0.7, c.sigma[1] = 3.0;
  model_fill_tile(&L0, BFD, 0, 2, 11, c.x);
  model_fill_tile(&L0, BFD, 0, 2, 12, c.grad);
  model_fill_tile(&L0, BFD, 0, 2, 13, c.gco);
  /* EDM's init: the branch is zero, so dx changes nothing */
  pirf_unet_init_params(net, 4, c.params);
  objective(&c, NULL);
  memcpy(D0, c.D, c.n * sizeof *D0);
  objective(&c, c.grad);
  double d = 0;
  for (size_t k = 0; k < c.n; k++) d = fmax(d, fabs((double)c.D[k] - D0[k]));
  TEST_CHECK(d == 0, "pg_branch_starts_at_zero: D(x | grad) - D(x) = %.3g with the initial weights", d);
  /* random weights: every part matters */
  model_random_params(net, 6, c.params);
  objective(&c, NULL);
  memcpy(D0, c.D, c.n * sizeof *D0);
  objective(&c, c.grad);
  d = 0;
  for (size_t k = 0; k < c.n; k++) d = fmax(d, fabs((double)c.D[k] - D0[k]));
  TEST_CHECK(d > 1e-4, "pg_denoiser: D(x | grad) differs from D(x) (by %.3g)", d);
  if (pirf_edm_denoise_with(net, c.w, c.t, c.params, c.x, c.sigma, BFD, NULL, c.grad, NULL, c.D) ||
      pirf_edm_denoise_backward(net, c.w, c.t, c.params, c.gco, dp, 0, net->table.n, dx))
    MPI_Abort(MPI_COMM_WORLD, 1);
  const char *names[4] = {"emb_grad_layer1.weight", "emb_grad_layer1.bias",
                          "emb_grad_layer2.weight", "emb_grad_layer2.bias"};
  for (int i = 0; i < 4; i++) {
    const pirf_param *p = &net->table.p[net->pg_layer1 + i];
    fd_check(names[i], &c, c.params + p->offset, p->count, 1, dp + p->offset, 1e-2);
  }
  const pirf_param *p0 = &net->table.p[net->mod[0].conv];
  fd_check("enc.16x16_conv.weight", &c, c.params + p0->offset, p0->count, 7, dp + p0->offset, 1e-2);
  fd_check("x", &c, c.x, c.n, 37, dx, 1e-2);
  free(c.params), free(c.x), free(c.grad), free(c.D), free(c.gco), free(D0), free(dp), free(dx);
  pirf_unet_tape_destroy(&c.t);
  pirf_unet_work_destroy(&c.w);
  pirf_decomp_destroy(&dc);
}

static void check_table(const pirf_unet *net) {
  const pirf_param_table *t = &net->table;
  const int k = t->n - 4;
  const int ok = net->pg_layer1 == k && net->pg_layer2 == k + 2 &&
                 !strcmp(t->p[k].name, "emb_grad_layer1.weight") && t->p[k].ndim == 4 &&
                 t->p[k].shape[0] == 8 && t->p[k].shape[1] == 2 && t->p[k].shape[2] == 1 &&
                 !strcmp(t->p[k + 1].name, "emb_grad_layer1.bias") && t->p[k + 1].shape[0] == 8 &&
                 !strcmp(t->p[k + 2].name, "emb_grad_layer2.weight") && t->p[k + 2].shape[0] == 2 &&
                 t->p[k + 2].shape[1] == 8 && t->p[k + 2].shape[2] == 3 &&
                 !strcmp(t->p[k + 3].name, "emb_grad_layer2.bias") && t->p[k + 3].shape[0] == 2 &&
                 net->mod[0].cin == 4 && t->p[net->mod[0].conv].shape[1] == 4;
  TEST_CHECK(ok, "pg_table_names_follow_songunetpg: the branch's tensors and the 2C first conv");
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  PetscInitialize(&argc, &argv, NULL, NULL);
  pirf_config *cfg = NULL;
  pirf_unet_config uc = pg_config(0.2);
  pirf_unet net;
  if (load_physics(&cfg) || pirf_unet_create(&uc, &net)) MPI_Abort(MPI_COMM_WORLD, 1);
  check_table(&net);
  int with = 0, all = 0, none = 0;
  for (uint32_t s = 0; s < 400; s++) {
    with += pirf_edm_pg_with_gradient(21, s, 0.5);
    all += pirf_edm_pg_with_gradient(21, s, 0.0);
    none += pirf_edm_pg_with_gradient(21, s, 1.0);
  }
  TEST_CHECK(with >= 160 && with <= 240 && all == 400 && none == 0,
             "pg_coin_rate: dx on %d of 400 steps at 0.5, %d at 0, %d at 1", with, all, none);
  check_denoiser(&net);
  float *params = model_alloc(net.table.total);
  model_random_params(&net, 5, params);
  check_layouts(&net, cfg, params);
  free(params);
  pirf_unet_destroy(&net);
  pirf_config_destroy(&cfg);
  int rc = test_finish("pg_network");
  PetscFinalize();
  MPI_Finalize();
  return rc;
}
