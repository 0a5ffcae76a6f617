/* pidm_loss_gradient_matches_finite_differences_and_layouts:
 *   1. on one rank (MPI_COMM_SELF), the gradient of the PIDM loss L_diff + L_res (pirf/pidm_loss.h)
 *      with respect to entries of several tensors across the network equals a central finite
 *      difference of the loss, for mode mean and mode sample (two network evaluations), each with
 *      the residual term alone (loss_scaling 0, so a wrong residual gradient cannot hide behind the
 *      EDM term) and with both terms, weightings sigma and variance;
 *   2. on the world (tiles [1,1], [2,1], [1,2], [2,2] times data groups), with dropout on, the world
 *      sums of L_diff, L_res and the gradient equal the one-rank values to 1e-5 relative. */
#include "ft_harness.h"
#include "pirf/pidm_loss.h"
#include "testing.h"

#include <petscsys.h>
#include <string.h>

enum { NTOT = 4, NPROBE = 6 };

static pirf_unet net;
static float *params;

/* losses (world sums) and, if g, the world-summed gradient of case pc on dc */
static int run(const pirf_pidm_config *pc, const pirf_decomp *dc, pirf_physics *ph, int dropout,
               double l[2], float *g) {
  long first, count;
  pirf_decomp_samples(dc, NTOT, &first, &count);
  pirf_level L0;
  pirf_level_init(&L0, dc, 0);
  float *y = model_alloc((size_t)count * 2 * L0.xm * L0.ym);
  model_fill_tile(&L0, (int)count, first, 2, 5, y);
  pirf_unet_work *w;
  pirf_unet_tape *t1, *t2;
  pirf_pidm_buf pb;
  PIRF_TRY(pirf_unet_work_create(&net, dc, (int)count, 1, &w));
  PIRF_TRY(pirf_unet_tape_create(&net, dc, (int)count, &t1));
  PIRF_TRY(pirf_unet_tape_create(&net, dc, (int)count, &t2));
  PIRF_TRY(pirf_pidm_buf_create(&pb, dc, (int)count, 2));
  pirf_unet_dropout drop = {.seed = 3, .step = 18, .sample0 = (uint32_t)first};
  if (g) memset(g, 0, net.table.total * sizeof *g);
  PIRF_TRY(pirf_pidm_loss(pc, &net, w, t1, t2, &pb, ph, params, y, (int)count, first, NTOT, 21, 9,
                          dropout ? &drop : NULL, g, 0, net.table.n, &l[0], &l[1]));
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, l, 2, MPI_DOUBLE, MPI_SUM, dc->world));
  if (g) PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, g, (int)net.table.total, MPI_FLOAT, MPI_SUM, dc->world));
  pirf_pidm_buf_destroy(&pb);
  pirf_unet_tape_destroy(&t1);
  pirf_unet_tape_destroy(&t2);
  pirf_unet_work_destroy(&w);
  free(y);
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
  float *g = model_alloc(P), *gw = model_alloc(P);
  model_random_params(&net, 5, params);
  pirf_decomp self;
  pirf_physics *ph_self;
  if (pirf_decomp_create(MPI_COMM_SELF, 16, 16, 1, 1, 2, &self) ||
      pirf_physics_create(cfg, &self, &ph_self))
    MPI_Abort(MPI_COMM_WORLD, 1);

  struct {
    const char *name;
    pirf_pidm_config pc;
  } cases[] = {
      {"mean, residual only", {PIRF_PIDM_MEAN, PIRF_PIDM_W_SIGMA, 0.0, 1e-2, 0.3}},
      {"sample, residual only", {PIRF_PIDM_SAMPLE, PIRF_PIDM_W_SIGMA, 0.0, 1e-2, 0.3}},
      {"mean, variance", {PIRF_PIDM_MEAN, PIRF_PIDM_W_VARIANCE, 1.0, 1e-3, 0.3}},
      {"sample, both terms", {PIRF_PIDM_SAMPLE, PIRF_PIDM_W_SIGMA, 1.0, 1e-2, 0.3}},
  };
  const int ncase = (int)(sizeof cases / sizeof cases[0]);
  for (int ci = 0; ci < ncase; ci++) {
    const pirf_pidm_config *pc = &cases[ci].pc;
    double l[2];
    /* 1. finite differences at the largest gradient entry of tensors spread over the table */
    if (run(pc, &self, ph_self, 0, l, g)) MPI_Abort(MPI_COMM_WORLD, 1);
    TEST_CHECK(l[1] > 0 && (pc->loss_scaling == 0 ? l[0] == 0 : l[0] > 0),
               "%s: losses %g %g", cases[ci].name, l[0], l[1]);
    const int n = net.table.n, step = n / NPROBE > 0 ? n / NPROBE : 1;
    for (int q = 0, ti = step / 2; q < NPROBE && ti < n; q++, ti += step) {
      const pirf_param *p = &net.table.p[ti];
      size_t best = p->offset;
      for (size_t e = p->offset; e < p->offset + p->count; e++)
        if (fabs(g[e]) > fabs(g[best])) best = e;
      const float keep = params[best], h = 2e-3f * fmaxf(fabsf(keep), 0.5f);
      double lp[2], lm[2];
      params[best] = keep + h;
      if (run(pc, &self, ph_self, 0, lp, NULL)) MPI_Abort(MPI_COMM_WORLD, 1);
      params[best] = keep - h;
      if (run(pc, &self, ph_self, 0, lm, NULL)) MPI_Abort(MPI_COMM_WORLD, 1);
      params[best] = keep;
      const double fd = (lp[0] + lp[1] - lm[0] - lm[1]) / ((double)(keep + h) - (double)(keep - h));
      char what[200];
      snprintf(what, sizeof what, "%s: d L / d %s[%zu] vs central difference", cases[ci].name,
               p->name, best - p->offset);
      TEST_CLOSE(g[best], fd, 2e-2, 1e-6 * (l[0] + l[1]), what);
      if (test_rank_() == 0)
        printf("%-22s %-34s grad %+.6e  fd %+.6e\n", cases[ci].name, p->name, g[best], fd);
    }
    /* 2. every layout of the world, dropout on (masks keyed by the global sample) */
    double lr[2];
    if (run(pc, &self, ph_self, 1, lr, g)) MPI_Abort(MPI_COMM_WORLD, 1);
    const int layouts[4][2] = {{1, 1}, {2, 1}, {1, 2}, {2, 2}};
    for (int li = 0; li < 4; li++) {
      const int px = layouts[li][0], py = layouts[li][1];
      if (np % (px * py)) continue;
      pirf_decomp dc;
      pirf_physics *ph;
      double lw[2];
      if (pirf_decomp_create(MPI_COMM_WORLD, 16, 16, px, py, 2, &dc) ||
          pirf_physics_create(cfg, &dc, &ph) || run(pc, &dc, ph, 1, lw, gw))
        MPI_Abort(MPI_COMM_WORLD, 1);
      const double r = rel_diff(gw, g, P);
      TEST_CHECK(r <= 1e-5, "%s, tiles [%d,%d] x %d groups: gradient differs by %.3g",
                 cases[ci].name, px, py, dc.ndata, r);
      TEST_CLOSE(lw[0], lr[0], 1e-5, 1e-12, "L_diff on a layout");
      TEST_CLOSE(lw[1], lr[1], 1e-5, 0, "L_res on a layout");
      if (test_rank_() == 0)
        printf("%-22s tiles [%d,%d] x %d groups: L_diff %.8g L_res %.8g (one rank %.8g %.8g), "
               "gradient %.2e\n", cases[ci].name, px, py, dc.ndata, lw[0], lw[1], lr[0], lr[1], r);
      pirf_physics_destroy(&ph);
      pirf_decomp_destroy(&dc);
    }
  }
  pirf_physics_destroy(&ph_self);
  pirf_decomp_destroy(&self);
  free(params), free(g), free(gw);
  pirf_unet_destroy(&net);
  pirf_config_destroy(&cfg);
  int rc = test_finish("pidm_loss_gradient_matches_finite_differences_and_layouts");
  PetscFinalize();
  MPI_Finalize();
  return rc;
}
