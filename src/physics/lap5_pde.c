/* The pirf_pde entry points Poisson and Helmholtz share (see pirf/lap5.h): the physics state, the
 * generator loop (GRF source -> 5-point solve -> normalized tiles) and the residual wrappers. The
 * two PDEs differ only in pirf_lap5_params, which their own files fill from their deck keys. */
#include "pirf/check.h"
#include "pirf/grf.h"
#include "pirf/lap5.h"

#include <stdlib.h>

typedef struct {
  pirf_lap5_params prm;
  DM da;
  pirf_lap5_solver solver;
  pirf_lap5_residual res;
  double *a, *u; /* [ym][xm] scratch */
} lap5_pde;

int pirf_lap5_pde_setup(pirf_physics *ph, const pirf_lap5_params *prm) {
  const pirf_decomp *dc = ph->dc;
  lap5_pde *p = calloc(1, sizeof *p);
  PIRF_CHECK(p, "out of memory");
  ph->impl = p;
  p->prm = *prm;
  /* vertex grid: R points from 0 to 1 inclusive */
  ph->h = 1.0 / (dc->H - 1);
  ph->norm_scale[0] = prm->data_a;
  ph->norm_scale[1] = prm->data_u;
  ph->norm_shift[0] = ph->norm_shift[1] = 0.0;
  PIRF_TRY(pirf_decomp_dmda(dc, 1, 1, DM_BOUNDARY_NONE, DM_BOUNDARY_NONE, DMDA_STENCIL_STAR, &p->da));
  PIRF_TRY(pirf_lap5_solver_create(p->da, ph->h, prm->k2, prm->rows,
                                   pirf_cfg_real(ph->cfg, "pde.solver_rtol"), &p->solver));
  PIRF_TRY(pirf_lap5_residual_create(p->da, ph->h, prm->k2, prm->a_scale, prm->u_scale, &p->res));
  PIRF_ALLOC(p->a, (size_t)dc->xm * dc->ym, "source tile");
  PIRF_ALLOC(p->u, (size_t)dc->xm * dc->ym, "solution tile");
  return 0;
}

void pirf_lap5_pde_destroy(pirf_physics *ph) {
  lap5_pde *p = ph->impl;
  if (!p) return;
  pirf_lap5_solver_destroy(&p->solver);
  pirf_lap5_residual_destroy(&p->res);
  DMDestroy(&p->da);
  free(p->a);
  free(p->u);
  free(p);
  ph->impl = NULL;
}

int pirf_lap5_pde_generate(pirf_physics *ph, long first, long count, float *tiles) {
  const pirf_decomp *dc = ph->dc;
  lap5_pde *p = ph->impl;
  const size_t plane = (size_t)dc->xm * dc->ym;
  for (long n = 0; n < count; n++) {
    /* The GRF is DiffusionPDE's GRF(alpha, tau, S) with S = R, sampled on the s x s cosine grid
     * and used as the vertex-grid source point for point, as the reference scripts do. */
    PIRF_TRY(pirf_grf_tile(dc->H, p->prm.alpha, p->prm.tau, ph->seed, first + n, 0, dc->ys, dc->ym,
                           dc->xs, dc->xm, p->a));
    if (p->prm.zero_source_boundary)
      for (int j = 0; j < dc->ym; j++)
        for (int i = 0; i < dc->xm; i++) {
          int gi = dc->xs + i, gj = dc->ys + j;
          if (gi == 0 || gi == dc->W - 1 || gj == 0 || gj == dc->H - 1) p->a[(size_t)j * dc->xm + i] = 0.0;
        }
    PIRF_TRY(pirf_lap5_solve(&p->solver, p->a, p->u, NULL));
    float *xa = tiles + (size_t)n * 2 * plane, *xu = xa + plane;
    for (size_t k = 0; k < plane; k++) {
      xa[k] = (float)(p->prm.data_a * p->a[k]);
      xu[k] = (float)(p->prm.data_u * p->u[k]);
    }
    int stop = pirf_physics_tick(ph, "%s: sample %ld solved", ph->pde->name, first + n);
    if (stop) return stop;
  }
  return 0;
}

int pirf_lap5_pde_residual(pirf_physics *ph, const float *x, float *R) {
  return pirf_lap5_residual_eval(&((lap5_pde *)ph->impl)->res, x, R);
}

int pirf_lap5_pde_residual_adjoint(pirf_physics *ph, const float *x, const float *Rbar, float *xbar) {
  return pirf_lap5_residual_adjoint(&((lap5_pde *)ph->impl)->res, Rbar, xbar);
}
