/* The Darcy generator's linear solve: -div(a grad u) = f on (0,1)^2, u = 0 on the boundary.
 *
 * Discretization: cell-centred finite volumes on the R x R grid the data live on (cell centres
 * (i + 1/2) h, h = 1/R, boundary faces h/2 outside the outermost centres). Multiplying the cell
 * balance by h^2 (the cell area divided by h/face length):
 *
 *   sum_{interior faces} a_f (u_P - u_N) + sum_{boundary faces} 2 a_P u_P = h^2 f_P,
 *
 * a_f the arithmetic (default, as the FNO "piececonst" solver) or harmonic mean of the two cells'
 * a; a boundary face sits h/2 from the centre, hence the 2 and the cell's own a. The matrix is
 * symmetric positive definite and second-order accurate for smooth a (the test
 * darcy_solver_converges_at_second_order checks it).
 *
 * Solver: PETSc CG preconditioned by algebraic multigrid (GAMG, which needs no coarsenable grid
 * size), residual measured unpreconditioned so pde.solver_rtol is a relative |b - Au| / |b|. The
 * options prefix "darcy_" lets a user override it (e.g. -darcy_ksp_monitor, -darcy_pc_type mg).
 * A solve that does not converge is an error, never a silently wrong sample. */
#include "darcy_impl.h"

#include "pirf/check.h"

#include <string.h>

int pirf_darcy_solver_create(pirf_physics *ph, darcy_impl *d) {
  PIRF_TRY(pirf_decomp_dmda(ph->dc, 1, 1, DM_BOUNDARY_NONE, DM_BOUNDARY_NONE, DMDA_STENCIL_STAR,
                            &d->da_sol));
  PIRF_PETSC(DMCreateGlobalVector(d->da_sol, &d->g_a));
  PIRF_PETSC(DMCreateLocalVector(d->da_sol, &d->l_a));
  PIRF_PETSC(DMCreateGlobalVector(d->da_sol, &d->b));
  PIRF_PETSC(DMCreateGlobalVector(d->da_sol, &d->u));
  PIRF_PETSC(DMCreateMatrix(d->da_sol, &d->A));
  PIRF_PETSC(KSPCreate(ph->dc->space, &d->ksp));
  PIRF_PETSC(KSPSetOptionsPrefix(d->ksp, "darcy_"));
  PIRF_PETSC(KSPSetType(d->ksp, KSPCG));
  PC pc;
  PIRF_PETSC(KSPGetPC(d->ksp, &pc));
  PIRF_PETSC(PCSetType(pc, PCGAMG));
  /* GAMG would by default keep the aggregation (prolongator) of the first sample's matrix for all
   * later ones: cheaper (the generator runs about twice as fast), but then the preconditioner, and
   * u to within the solver tolerance, depends on which sample a rank happened to solve first, so
   * on data.chunk and the number of data groups. Rebuilding it makes each sample's solve depend on
   * its own a and the partition only. -darcy_pc_gamg_reuse_interpolation 1 trades that for speed. */
  PIRF_PETSC(PCGAMGSetReuseInterpolation(pc, PETSC_FALSE));
  PIRF_PETSC(KSPSetNormType(d->ksp, KSP_NORM_UNPRECONDITIONED));
  /* Multigrid-preconditioned CG needs tens of iterations; 1000 only bounds a stagnating solve. */
  PIRF_PETSC(KSPSetTolerances(d->ksp, d->rtol, 1e-300, PETSC_DEFAULT, 1000));
  PIRF_PETSC(KSPSetFromOptions(d->ksp));
  return 0;
}

void pirf_darcy_solver_destroy(darcy_impl *d) {
  KSPDestroy(&d->ksp);
  MatDestroy(&d->A);
  VecDestroy(&d->g_a);
  VecDestroy(&d->l_a);
  VecDestroy(&d->b);
  VecDestroy(&d->u);
  DMDestroy(&d->da_sol);
}

static double face_mean(int harmonic, double aP, double aN) {
  return harmonic ? 2.0 * aP * aN / (aP + aN) : 0.5 * (aP + aN);
}

/* A (scaled by h^2, see the header) for coefficient a in the ghosted local vector l_a. */
static int assemble(darcy_impl *d, int M, int N) {
  PetscInt xs, ys, xm, ym;
  PIRF_PETSC(DMDAGetCorners(d->da_sol, &xs, &ys, NULL, &xm, &ym, NULL));
  const PetscScalar **a;
  PIRF_PETSC(DMDAVecGetArrayRead(d->da_sol, d->l_a, &a));
  for (PetscInt j = ys; j < ys + ym; j++)
    for (PetscInt i = xs; i < xs + xm; i++) {
      const int di[4] = {-1, 1, 0, 0}, dj[4] = {0, 0, -1, 1};
      MatStencil row = {.i = i, .j = j}, col[5];
      PetscScalar v[5], diag = 0.0;
      int nc = 0;
      for (int f = 0; f < 4; f++) {
        PetscInt in = i + di[f], jn = j + dj[f];
        if (in < 0 || in >= M || jn < 0 || jn >= N) {
          diag += 2.0 * a[j][i];
        } else {
          double af = face_mean(d->harmonic, a[j][i], a[jn][in]);
          diag += af;
          col[nc] = (MatStencil){.i = in, .j = jn};
          v[nc++] = -af;
        }
      }
      col[nc] = row;
      v[nc++] = diag;
      PIRF_PETSC(MatSetValuesStencil(d->A, 1, &row, nc, col, v, INSERT_VALUES));
    }
  PIRF_PETSC(DMDAVecRestoreArrayRead(d->da_sol, d->l_a, &a));
  PIRF_PETSC(MatAssemblyBegin(d->A, MAT_FINAL_ASSEMBLY));
  PIRF_PETSC(MatAssemblyEnd(d->A, MAT_FINAL_ASSEMBLY));
  PIRF_PETSC(MatSetOption(d->A, MAT_SPD, PETSC_TRUE));
  return 0;
}

static int tile_to_vec(Vec v, size_t n, const double *tile, double scale) {
  PetscScalar *p;
  PIRF_PETSC(VecGetArray(v, &p));
  for (size_t k = 0; k < n; k++) p[k] = scale * tile[k];
  PIRF_PETSC(VecRestoreArray(v, &p));
  return 0;
}

int pirf_darcy_solve(pirf_physics *ph, const double *a_tile, const double *f_tile, double *u_tile) {
  PIRF_CHECK(ph && ph->pde && !strcmp(ph->pde->name, "darcy"),
             "pirf_darcy_solve needs a darcy physics object");
  darcy_impl *d = ph->impl;
  const pirf_decomp *dc = ph->dc;
  const size_t n = (size_t)dc->xm * dc->ym;
  /* a single-dof DMDA's global vector is the tile in [ym][xm] order */
  PIRF_TRY(tile_to_vec(d->g_a, n, a_tile, 1.0));
  PIRF_PETSC(DMGlobalToLocalBegin(d->da_sol, d->g_a, INSERT_VALUES, d->l_a));
  PIRF_PETSC(DMGlobalToLocalEnd(d->da_sol, d->g_a, INSERT_VALUES, d->l_a));
  PIRF_TRY(assemble(d, dc->W, dc->H));
  PIRF_TRY(tile_to_vec(d->b, n, f_tile, ph->h * ph->h));
  PIRF_PETSC(KSPSetOperators(d->ksp, d->A, d->A));
  PIRF_PETSC(VecZeroEntries(d->u));
  PIRF_PETSC(KSPSolve(d->ksp, d->b, d->u));
  KSPConvergedReason reason;
  PetscInt its;
  PetscReal rnorm;
  PIRF_PETSC(KSPGetConvergedReason(d->ksp, &reason));
  PIRF_PETSC(KSPGetIterationNumber(d->ksp, &its));
  PIRF_PETSC(KSPGetResidualNorm(d->ksp, &rnorm));
  d->last_its = (int)its;
  PIRF_CHECK(reason > 0,
             "the Darcy solve did not converge (%s after %d iterations, residual norm %.3e, "
             "pde.solver_rtol = %g): loosen pde.solver_rtol or check pde.darcy.a_low/a_high, or "
             "inspect it with -darcy_ksp_monitor_true_residual",
             KSPConvergedReasons[reason], (int)its, (double)rnorm, d->rtol);
  const PetscScalar *p;
  PIRF_PETSC(VecGetArrayRead(d->u, &p));
  for (size_t k = 0; k < n; k++) u_tile[k] = p[k];
  PIRF_PETSC(VecRestoreArrayRead(d->u, &p));
  return 0;
}
