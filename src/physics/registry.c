/* The PDE registry and the physics object shared by all benchmarks (see pirf/physics.h). */
#include "pirf/check.h"
#include "pirf/physics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const pirf_pde pirf_pde_darcy, pirf_pde_poisson, pirf_pde_helmholtz, pirf_pde_burgers,
    pirf_pde_kolmogorov;

const pirf_pde *const pirf_pde_registry[] = {&pirf_pde_darcy,   &pirf_pde_poisson,
                                             &pirf_pde_helmholtz, &pirf_pde_burgers,
                                             &pirf_pde_kolmogorov, NULL};

const pirf_cfg_spec pirf_physics_schema[] = {
    {"pde.name", PIRF_CFG_ENUM, "darcy", 0, 0, 0, 0, "darcy|poisson|helmholtz|burgers|kolmogorov",
     "the benchmark PDE: generator, residual (reward) and normalization"},
    {"pde.solver_rtol", PIRF_CFG_REAL, "1e-10", 1e-16, 1e-2, 0, 0, NULL,
     "relative tolerance of the generators' linear solves (PETSc KSP)"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

const pirf_pde *pirf_pde_find(const char *name) {
  for (int i = 0; pirf_pde_registry[i]; i++)
    if (!strcmp(pirf_pde_registry[i]->name, name)) return pirf_pde_registry[i];
  return NULL;
}

int pirf_physics_create(const pirf_config *cfg, const pirf_decomp *dc, pirf_physics **out) {
  const char *name = pirf_cfg_str(cfg, "pde.name");
  const pirf_pde *pde = pirf_pde_find(name);
  PIRF_USER_CHECK(pde, "pde.name '%s' is not a registered PDE", name);
  PIRF_USER_CHECK(pde->setup && pde->generate && pde->residual && pde->residual_adjoint,
                  "pde.name '%s' is not implemented yet in this version of pirf", name);
  pirf_physics *ph = calloc(1, sizeof *ph);
  PIRF_CHECK(ph, "out of memory");
  ph->pde = pde;
  ph->dc = dc;
  ph->cfg = cfg;
  ph->seed = (uint32_t)pirf_cfg_int(cfg, "data.seed");
  for (int c = 0; c < PIRF_MAX_CHANNELS; c++) ph->norm_scale[c] = 1.0;
  int err = pde->setup(ph);
  if (err) { /* the PDE's destroy releases whatever its setup made before failing */
    pirf_physics_destroy(&ph);
    PIRF_TRY(err);
  }
  *out = ph;
  return 0;
}

void pirf_physics_destroy(pirf_physics **ph) {
  if (!*ph) return;
  if ((*ph)->pde->destroy) (*ph)->pde->destroy(*ph);
  free(*ph);
  *ph = NULL;
}

int pirf_physics_tick(pirf_physics *ph, const char *fmt, ...) {
  if (!ph->tick) return 0;
  char note[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(note, sizeof note, fmt, ap);
  va_end(ap);
  return ph->tick(ph, note);
}

int pirf_physics_residual_sums(pirf_physics *ph, long count, const float *tiles, double *sum_sq,
                               double *sum_abs, double *npoints) {
  const pirf_decomp *dc = ph->dc;
  size_t in = (size_t)ph->pde->channels * dc->xm * dc->ym;
  size_t out = (size_t)ph->pde->residual_channels * dc->xm * dc->ym;
  float *R;
  PIRF_ALLOC(R, out, "residual tile");
  double s[2] = {0, 0};
  for (long n = 0; n < count; n++) {
    int err = ph->pde->residual(ph, tiles + n * in, R);
    if (err) {
      free(R);
      PIRF_TRY(err);
    }
    for (size_t k = 0; k < out; k++) {
      s[0] += (double)R[k] * R[k];
      s[1] += fabs((double)R[k]);
    }
  }
  free(R);
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, s, 2, MPI_DOUBLE, MPI_SUM, dc->space));
  *sum_sq = s[0];
  *sum_abs = s[1];
  *npoints = (double)count * ph->pde->residual_channels * dc->H * dc->W;
  return 0;
}
