/* The reward residual of Poisson and Helmholtz and its adjoint, side by side:
 *
 *   R = lap(u) + k2 u - a,   a = a_scale * x_a,   u = u_scale * x_u,   h = 1/(R-1),
 *   lap(u)[j][i] = (u[j][c(i-1)] + u[j][c(i+1)] + u[c(j-1)][i] + u[c(j+1)][i] - 4 u[j][i]) / h^2,
 *   c(n) = clamp(n, 0, R-1)
 *
 * exactly as PIRF's PoissonResidual (k2 = 0) and HelmholtzResidual (k2 = k^2) code it: replicate
 * padding (torch's F.pad 'replicate'), the residual kept at every point including the boundary, no
 * boundary-condition term (docs/algorithm.md §5.2, §5.3). u is copied from the float32 tile into a ghosted
 * DMDA vector and everything is evaluated in double. Clamping never needs a ghost from outside the
 * grid, and a clamped neighbour of an owned point is owned, so the only exchange is the ordinary
 * width-1 halo. The adjoint scatters the same stencil transposed into a ghosted vector and returns
 * the ghost part to the owners (pirf_local_to_tile_add). */
#include "pirf/check.h"
#include "pirf/lap5.h"
#include "pirf/physics.h"

int pirf_lap5_residual_create(DM da, double h, double k2, double a_scale, double u_scale,
                              pirf_lap5_residual *r) {
  r->da = da;
  r->h = h;
  r->k2 = k2;
  r->a_scale = a_scale;
  r->u_scale = u_scale;
  PIRF_PETSC(DMCreateGlobalVector(da, &r->g));
  PIRF_PETSC(DMCreateLocalVector(da, &r->l));
  return 0;
}

void pirf_lap5_residual_destroy(pirf_lap5_residual *r) {
  VecDestroy(&r->g);
  VecDestroy(&r->l);
}

static PetscInt clamp(PetscInt n, PetscInt lo, PetscInt hi) { return n < lo ? lo : n > hi ? hi : n; }

int pirf_lap5_residual_eval(pirf_lap5_residual *r, const float *x, float *R) {
  PetscInt M, N, xs, ys, xm, ym;
  PIRF_PETSC(DMDAGetInfo(r->da, NULL, &M, &N, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
  PIRF_PETSC(DMDAGetCorners(r->da, &xs, &ys, NULL, &xm, &ym, NULL));
  const size_t plane = (size_t)xm * ym;
  const float *xa = x, *xu = x + plane;
  PIRF_TRY(pirf_tile_to_local(r->da, 1, xu, r->g, r->l));
  PetscScalar **u;
  PIRF_PETSC(DMDAVecGetArray(r->da, r->l, &u));
  const double ih2 = 1.0 / (r->h * r->h), us = r->u_scale;
  for (PetscInt j = ys; j < ys + ym; j++)
    for (PetscInt i = xs; i < xs + xm; i++) {
      double c = u[j][i];
      double sum = u[j][clamp(i - 1, 0, M - 1)] + u[j][clamp(i + 1, 0, M - 1)] +
                   u[clamp(j - 1, 0, N - 1)][i] + u[clamp(j + 1, 0, N - 1)][i];
      size_t k = (size_t)(j - ys) * xm + (i - xs);
      /* the stencil acts on x_u; u_scale is linear, so apply it once to the result */
      double lap = us * (sum - 4.0 * c) * ih2;
      R[k] = (float)(lap + r->k2 * us * c - r->a_scale * (double)xa[k]);
    }
  PIRF_PETSC(DMDAVecRestoreArray(r->da, r->l, &u));
  return 0;
}

int pirf_lap5_residual_adjoint(pirf_lap5_residual *r, const float *Rbar, float *xbar) {
  PetscInt M, N, xs, ys, xm, ym;
  PIRF_PETSC(DMDAGetInfo(r->da, NULL, &M, &N, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
  PIRF_PETSC(DMDAGetCorners(r->da, &xs, &ys, NULL, &xm, &ym, NULL));
  const size_t plane = (size_t)xm * ym;
  float *xabar = xbar, *xubar = xbar + plane;
  PIRF_PETSC(VecZeroEntries(r->l));
  PetscScalar **ub;
  PIRF_PETSC(DMDAVecGetArray(r->da, r->l, &ub));
  const double ih2 = 1.0 / (r->h * r->h), us = r->u_scale;
  for (PetscInt j = ys; j < ys + ym; j++)
    for (PetscInt i = xs; i < xs + xm; i++) {
      size_t k = (size_t)(j - ys) * xm + (i - xs);
      double rb = Rbar[k];
      /* dR/dx_a = -a_scale, pointwise */
      xabar[k] += (float)(-r->a_scale * rb);
      /* each clamped neighbour read receives us/h^2; the centre -4 us/h^2 + k2 us. A clamped read
       * of the centre itself (edge, corner) adds to the centre, as in the forward sum. */
      double w = us * ih2 * rb;
      ub[j][clamp(i - 1, 0, M - 1)] += w;
      ub[j][clamp(i + 1, 0, M - 1)] += w;
      ub[clamp(j - 1, 0, N - 1)][i] += w;
      ub[clamp(j + 1, 0, N - 1)][i] += w;
      ub[j][i] += (-4.0 * us * ih2 + r->k2 * us) * rb;
    }
  PIRF_PETSC(DMDAVecRestoreArray(r->da, r->l, &ub));
  PIRF_TRY(pirf_local_to_tile_add(r->da, 1, r->l, r->g, xubar));
  return 0;
}
