/* dps_guidance_gradient_matches_finite_difference: the DPS guidance gradient d||R(x_hat)||/dx_cur
 * of pirf_guided_step, which goes back through both network calls of a Heun step (x_hat =
 * D(x_euler; sigma_{i+1})) or through the one call of the last step (x_hat = D(x_cur; sigma_i)),
 * equals a central finite difference of L along random directions, on a tiny random U-Net and
 * 16x16 Darcy (continuous a), at 1 rank and on 2 tiles. Also: zeta moves x_next by exactly
 * -zeta * grad, and guidance leaves discretize_a as it found it. */
#include "pirf/check.h"
#include "pirf/deck.h"
#include "pirf/edm_denoiser.h"
#include "pirf/guidance.h"
#include "pirf/sampling.h"
#include "model/model_harness.h"
#include "testing.h"

#include <petscsys.h>

enum { B = 2, N = 4 };

static void fill(const pirf_decomp *dc, uint32_t key, double amp, float *x) {
  size_t k = 0;
  for (int b = 0; b < B; b++)
    for (int c = 0; c < 2; c++)
      for (int i = 0; i < dc->ym; i++)
        for (int j = 0; j < dc->xm; j++)
          x[k++] = (float)(amp * pirf_rng_normal(key, PIRF_STREAM_TEST, 0, (uint32_t)b, (uint32_t)c,
                                                 (uint32_t)((dc->ys + i) * dc->W + dc->xs + j)));
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  PetscInitialize(&argc, &argv, NULL, NULL);
  int np;
  MPI_Comm_size(MPI_COMM_WORLD, &np);
  char tiles[64];
  snprintf(tiles, sizeof tiles, "parallel.tiles=[%d,1]", np);
  char *over[] = {"pde.name=darcy", "grid.resolution=16", "model.channel_mult=[1,2]", tiles};
  pirf_config *cfg = NULL;
  pirf_decomp dc;
  pirf_physics *ph = NULL;
  pirf_unet_config uc = model_tiny_config(0);
  pirf_unet net;
  if (pirf_config_load(&cfg, pirf_deck_tables(), NULL, 4, over) ||
      pirf_deck_decomp(cfg, MPI_COMM_WORLD, &dc) || pirf_physics_create(cfg, &dc, &ph) ||
      pirf_unet_create(&uc, &net))
    MPI_Abort(MPI_COMM_WORLD, 1);
  ph->discretize_a = 1; /* the reported residual's setting; guidance must use continuous a */
  float *params = model_alloc(net.table.total);
  model_random_params(&net, 7, params);
  const size_t n = (size_t)B * 2 * dc.xm * dc.ym;
  pirf_unet_work *w;
  pirf_unet_tape *tapes[2];
  if (pirf_unet_work_create(&net, &dc, B, 1, &w) || pirf_unet_tape_create(&net, &dc, B, &tapes[0]) ||
      pirf_unet_tape_create(&net, &dc, B, &tapes[1]))
    MPI_Abort(MPI_COMM_WORLD, 1);
  pirf_edm_denoiser d;
  pirf_edm_denoiser_init(&d, &net, w, params, B, n);
  d.tapes[0] = tapes[0];
  d.tapes[1] = tapes[1];
  double sigma[N + 1];
  pirf_karras_sigmas(N, PIRF_SIGMA_MIN, PIRF_SIGMA_MAX, PIRF_RHO, sigma);
  float *x = model_alloc(n), *xp = model_alloc(n), *v = model_alloc(n), *grad = model_alloc(n),
        *g2 = model_alloc(n), *xn = model_alloc(n), *xn2 = model_alloc(n), *scr = model_alloc(4 * n);
  const int steps[2] = {1, N - 1};
  for (int t = 0; t < 2; t++) {
    const int i = steps[t];
    fill(&dc, 11 + i, sigma[i] > 1 ? 1.0 : 0.5, x); /* near the data scale: R is not trivial */
    pirf_guidance_cost cost = {0, 0, 0};
    double L;
    if (pirf_guided_step(&d.base, ph, B, sigma, N, i, 0, x, xn, grad, &L, scr, &cost))
      MPI_Abort(MPI_COMM_WORLD, 1);
    TEST_CHECK(ph->discretize_a == 1, "guidance restored discretize_a");
    TEST_CHECK(cost.vjps == (i < N - 1 ? 2 : 1) && cost.nfe == (i < N - 1 ? 2 : 1),
               "step %d: %ld evaluations and %ld vjps", i, cost.nfe, cost.vjps);
    const double gnorm = sqrt(model_dot(dc.space, n, grad, grad));
    for (int dir = 0; dir < 3; dir++) {
      fill(&dc, 100 + 10 * i + dir, 1.0, v);
      const double vn = sqrt(model_dot(dc.space, n, v, v)), eps = 2e-3 * sqrt(n * np) / vn;
      double Lp, Lm;
      for (size_t k = 0; k < n; k++) xp[k] = (float)(x[k] + eps * v[k]);
      pirf_guided_step(&d.base, ph, B, sigma, N, i, 0, xp, xn2, g2, &Lp, scr, &cost);
      for (size_t k = 0; k < n; k++) xp[k] = (float)(x[k] - eps * v[k]);
      pirf_guided_step(&d.base, ph, B, sigma, N, i, 0, xp, xn2, g2, &Lm, scr, &cost);
      const double fd = (Lp - Lm) / (2 * eps), an = model_dot(dc.space, n, grad, v);
      if (dc.world_rank == 0)
        printf("step %d dir %d: L = %.6e, <grad, v> = %.6e, finite difference %.6e\n", i, dir, L,
               an, fd);
      TEST_CLOSE(an, fd, 2e-2, 2e-3 * gnorm * vn, "directional derivative of ||R(x_hat)||");
    }
    /* x_next(zeta) = x_next(0) - zeta * grad */
    const double zeta = 0.1;
    pirf_guided_step(&d.base, ph, B, sigma, N, i, zeta, x, xn2, g2, &L, scr, &cost);
    double worst = 0;
    for (size_t k = 0; k < n; k++) worst = fmax(worst, fabs(xn2[k] - (xn[k] - zeta * grad[k])));
    TEST_CHECK(worst < 1e-5 * (1 + gnorm), "step %d: x_next moves by -zeta grad (worst %.3g)", i,
               worst);
  }
  free(x); free(xp); free(v); free(grad); free(g2); free(xn); free(xn2); free(scr); free(params);
  pirf_unet_tape_destroy(&tapes[0]);
  pirf_unet_tape_destroy(&tapes[1]);
  pirf_unet_work_destroy(&w);
  pirf_unet_destroy(&net);
  pirf_physics_destroy(&ph);
  pirf_decomp_destroy(&dc);
  pirf_config_destroy(&cfg);
  int rc = test_finish("dps_guidance_gradient_matches_finite_difference");
  PetscFinalize();
  MPI_Finalize();
  return rc;
}
