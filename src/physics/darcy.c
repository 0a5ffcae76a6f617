/* darcy: the registry entry of Darcy flow (docs/algorithm.md §5.1), its deck keys, set-up and generator.
 *
 *   -div(a grad u) = 1 on (0,1)^2, u = 0 on the boundary, cell-centred R x R grid, h = 1/R.
 *
 * Channels: 0 = a (permeability), 1 = u (pressure). Normalization as the reference code:
 * x_a = 0.2 a - 1.5 (3 -> -0.9, 12 -> +0.9), x_u = 115 u - 0.9.
 *
 * Generator: sample n's coefficient is a_high where its GRF (N(0, (-Lap + tau^2)^(-alpha)), cosine
 * modes, Philox keyed by (data.seed, n), see pirf/grf.h) is >= 0 and a_low elsewhere; u is the
 * solution of the finite-volume problem (darcy_solver.c). The GRF is evaluated on the tile only and
 * is bit-identical at any rank layout, so the a channel is too; u agrees to the solver tolerance.
 * The residual and its adjoint live in darcy_residual.c. */
#include "darcy_impl.h"

#include "pirf/check.h"
#include "pirf/grf.h"
#include "pirf/log.h"
#include "pirf/stop.h"

#include <stdlib.h>
#include <string.h>

static const pirf_cfg_spec darcy_schema[] = {
    {"pde.darcy.discretize_a", PIRF_CFG_BOOL, "true", 0, 0, 0, 0, NULL,
     "reward: threshold a to a_high/a_low at their midpoint before the residual (as PIRF); "
     "false keeps a continuous and differentiable (as DiffusionPDE guidance)"},
    {"pde.darcy.alpha", PIRF_CFG_REAL, "2", 0.5, 10, 0, 0, NULL,
     "GRF smoothness exponent: covariance (-Laplacian + tau^2)^(-alpha)"},
    {"pde.darcy.tau", PIRF_CFG_REAL, "3", 0.01, 100, 0, 0, NULL,
     "GRF inverse length scale: covariance (-Laplacian + tau^2)^(-alpha)"},
    {"pde.darcy.a_high", PIRF_CFG_REAL, "12", 1e-3, 1e6, 0, 0, NULL,
     "permeability where the GRF is >= 0 (must exceed a_low)"},
    {"pde.darcy.a_low", PIRF_CFG_REAL, "3", 1e-3, 1e6, 0, 0, NULL,
     "permeability where the GRF is < 0 (3 since DiffusionPDE's 2025-03-30 fix; 4 before)"},
    {"pde.darcy.face_average", PIRF_CFG_ENUM, "arithmetic", 0, 0, 0, 0, "arithmetic|harmonic",
     "generator: mean of the two cells' a on a face (arithmetic as the FNO solver)"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

static void darcy_destroy(pirf_physics *ph) {
  darcy_impl *d = ph->impl;
  if (!d) return;
  pirf_darcy_solver_destroy(d);
  VecDestroy(&d->g_res);
  VecDestroy(&d->l_res);
  VecDestroy(&d->l_bar);
  DMDestroy(&d->da_res);
  free(d);
  ph->impl = NULL;
}

static int darcy_setup(pirf_physics *ph) {
  const pirf_config *cfg = ph->cfg;
  darcy_impl *d;
  PIRF_ALLOC(d, 1, "darcy state");
  ph->impl = d;
  d->alpha = pirf_cfg_real(cfg, "pde.darcy.alpha");
  d->tau = pirf_cfg_real(cfg, "pde.darcy.tau");
  d->a_high = pirf_cfg_real(cfg, "pde.darcy.a_high");
  d->a_low = pirf_cfg_real(cfg, "pde.darcy.a_low");
  d->harmonic = !strcmp(pirf_cfg_str(cfg, "pde.darcy.face_average"), "harmonic");
  d->rtol = pirf_cfg_real(cfg, "pde.solver_rtol");
  PIRF_USER_CHECK(d->a_low < d->a_high,
                  "pde.darcy.a_low (%g) must be smaller than pde.darcy.a_high (%g): the reward "
                  "thresholds a at their midpoint; swap or change the two values",
                  d->a_low, d->a_high);

  /* The one-sided edge stencils reach 3 points inward, and a DMDA only exchanges ghosts with the
   * adjacent tile: every tile must be at least 3 points wide. (grid.resolution >= 4, the schema's
   * range, is what the 4-point stencils need.) */
  const pirf_decomp *dc = ph->dc;
  int narrowest = dc->W;
  for (int i = 0; i < dc->px; i++) narrowest = dc->lx[i] < narrowest ? dc->lx[i] : narrowest;
  for (int j = 0; j < dc->py; j++) narrowest = dc->ly[j] < narrowest ? dc->ly[j] : narrowest;
  PIRF_USER_CHECK(narrowest >= 3,
                  "parallel.tiles = [%d, %d] on grid.resolution = %d gives tiles only %d points wide, "
                  "but the darcy residual reads 3 points across a tile edge: use fewer tiles or a "
                  "larger grid",
                  dc->px, dc->py, dc->W, narrowest);

  ph->h = 1.0 / ph->dc->W;
  ph->norm_scale[0] = 0.2;
  ph->norm_shift[0] = -1.5;
  ph->norm_scale[1] = 115.0;
  ph->norm_shift[1] = -0.9;
  ph->discretize_a = pirf_cfg_bool(cfg, "pde.darcy.discretize_a");

  PIRF_TRY(pirf_decomp_dmda(ph->dc, 2, 3, DM_BOUNDARY_NONE, DM_BOUNDARY_NONE, DMDA_STENCIL_STAR,
                            &d->da_res));
  PIRF_PETSC(DMCreateGlobalVector(d->da_res, &d->g_res));
  PIRF_PETSC(DMCreateLocalVector(d->da_res, &d->l_res));
  PIRF_PETSC(DMCreateLocalVector(d->da_res, &d->l_bar));
  PIRF_TRY(pirf_darcy_solver_create(ph, d));
  return 0;
}

int pirf_darcy_grf(pirf_physics *ph, long sample, double *U) {
  const darcy_impl *d = ph->impl;
  const pirf_decomp *dc = ph->dc;
  return pirf_grf_tile(dc->W, d->alpha, d->tau, ph->seed, sample, 0, dc->ys, dc->ym, dc->xs, dc->xm,
                       U);
}

static int darcy_generate(pirf_physics *ph, long first, long count, float *tiles) {
  const darcy_impl *d = ph->impl;
  const pirf_decomp *dc = ph->dc;
  const size_t n = (size_t)dc->xm * dc->ym;
  double *a, *f, *u;
  PIRF_ALLOC(a, n, "darcy coefficient tile");
  PIRF_ALLOC(f, n, "darcy source tile");
  PIRF_ALLOC(u, n, "darcy solution tile");
  int err = 0;
  for (size_t k = 0; k < n; k++) f[k] = 1.0;
  for (long s = 0; s < count && !err; s++) {
    err = pirf_darcy_grf(ph, first + s, a);
    if (err) break;
    for (size_t k = 0; k < n; k++) a[k] = a[k] >= 0.0 ? d->a_high : d->a_low;
    err = pirf_darcy_solve(ph, a, f, u);
    if (err) break;
    pirf_debug("[darcy] sample %ld: %d CG iterations\n", first + s, d->last_its);
    err = pirf_physics_tick(ph, "darcy: sample %ld solved", first + s);
    if (err) break;
    float *x = tiles + (size_t)s * 2 * n;
    for (size_t k = 0; k < n; k++) {
      x[k] = (float)(ph->norm_scale[0] * a[k] + ph->norm_shift[0]);
      x[n + k] = (float)(ph->norm_scale[1] * u[k] + ph->norm_shift[1]);
    }
  }
  free(a);
  free(f);
  free(u);
  if (err == PIRF_STOPPED) return err; /* a stop request, not a failure: no trace */
  if (err) PIRF_TRY(err);
  return 0;
}

int pirf_darcy_last_iterations(const pirf_physics *ph) {
  return ((const darcy_impl *)ph->impl)->last_its;
}

const pirf_pde pirf_pde_darcy = {"darcy",         2,
                                 1,               "a,u",
                                 "cell",          darcy_schema,
                                 darcy_setup,     darcy_destroy,
                                 darcy_generate,  pirf_darcy_residual,
                                 pirf_darcy_residual_adjoint,
                                 0,               {3.0, 12.0}}; /* a takes two values (fidelity) */
