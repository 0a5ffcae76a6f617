/* The generators' linear solve for Poisson and Helmholtz: (Lap_h + k2 I) u = f on the vertex grid,
 * with the reference scripts' boundary rows (see pirf/lap5.h for the operator and its contract).
 *
 * Solver. The assembled matrices are the references' and are not symmetric: interior rows couple to
 * boundary points, boundary rows do not couple back (Poisson) or only along their edge (Helmholtz).
 * Because f = 0 drives the boundary values to 0, the boundary block decouples triangularly and the
 * interior block is -(Lap_h + k2) up to the sign, which is symmetric positive definite as long as
 * k2 stays below the smallest eigenvalue of -Lap_h (about 2 pi^2 = 19.7; k = 1 gives k2 = 1). So a
 * Krylov method with algebraic multigrid converges in a handful of iterations independently of h:
 * GMRES (nonsymmetric-safe), right-preconditioned so that rtol bounds the *true* residual
 * ||b - A u|| / ||b||, with PETSc's GAMG (no geometric coarsening: R = 128 is not 2^k + 1). The
 * matrix is the same for every sample, so the AMG hierarchy is built once.
 *
 * Row scaling: each row is multiplied by a constant (the right-hand side with it) so the diagonal is
 * positive and of the interior's size: interior and Helmholtz edge rows by -1, Poisson's identity
 * rows by 4/h^2. The equations, hence the solution, are unchanged; AMG smoothers and strength of
 * connection behave better on a matrix with a uniform positive diagonal. */
#include "pirf/check.h"
#include "pirf/lap5.h"

#include <stdlib.h>

/* The unscaled row of point (i, j): up to 5 entries (column stencil, value). */
static int reference_row(const pirf_lap5_solver *s, PetscInt M, PetscInt N, PetscInt i, PetscInt j,
                         MatStencil *col, PetscScalar *val, int *identity) {
  const double ih2 = 1.0 / (s->h * s->h);
  const int bx = i == 0 || i == M - 1, by = j == 0 || j == N - 1;
  int n = 0;
  *identity = 0;
  if (s->rows == PIRF_LAP5_IDENTITY_ROWS && (bx || by)) {
    col[0].i = i, col[0].j = j, val[0] = 1.0;
    *identity = 1;
    return 1;
  }
  /* kron(I, L) + kron(L, I) + k2 I: each direction contributes its 1-D row, which is the identity
   * row at that direction's ends (interior points get the ordinary 5-point row). */
  double diag = s->k2;
  col[n].i = i, col[n].j = j, n++; /* the diagonal goes first; its value is filled in below */
  if (bx) {
    diag += 1.0;
  } else {
    diag -= 2.0 * ih2;
    col[n].i = i - 1, col[n].j = j, val[n++] = ih2;
    col[n].i = i + 1, col[n].j = j, val[n++] = ih2;
  }
  if (by) {
    diag += 1.0;
  } else {
    diag -= 2.0 * ih2;
    col[n].i = i, col[n].j = j - 1, val[n++] = ih2;
    col[n].i = i, col[n].j = j + 1, val[n++] = ih2;
  }
  val[0] = diag;
  return n;
}

int pirf_lap5_solver_create(DM da, double h, double k2, pirf_lap5_rows rows, double rtol,
                            pirf_lap5_solver *s) {
  s->da = da;
  s->rows = rows;
  s->h = h;
  s->k2 = k2;
  s->rtol = rtol;
  PetscInt M, N, xs, ys, xm, ym;
  PIRF_PETSC(DMDAGetInfo(da, NULL, &M, &N, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
  PIRF_PETSC(DMDAGetCorners(da, &xs, &ys, NULL, &xm, &ym, NULL));
  PIRF_ALLOC(s->row_scale, (size_t)xm * ym, "Laplacian row scales");
  PIRF_PETSC(DMCreateMatrix(da, &s->A));
  for (PetscInt j = ys; j < ys + ym; j++)
    for (PetscInt i = xs; i < xs + xm; i++) {
      MatStencil row = {.i = i, .j = j}, col[5];
      PetscScalar val[5];
      int identity;
      int n = reference_row(s, M, N, i, j, col, val, &identity);
      double scale = val[0] < 0 ? -1.0 : identity ? 4.0 / (h * h) : 1.0;
      for (int k = 0; k < n; k++) val[k] *= scale;
      s->row_scale[(j - ys) * xm + (i - xs)] = scale;
      PIRF_PETSC(MatSetValuesStencil(s->A, 1, &row, n, col, val, INSERT_VALUES));
    }
  PIRF_PETSC(MatAssemblyBegin(s->A, MAT_FINAL_ASSEMBLY));
  PIRF_PETSC(MatAssemblyEnd(s->A, MAT_FINAL_ASSEMBLY));
  PIRF_PETSC(DMCreateGlobalVector(da, &s->b));
  PIRF_PETSC(VecDuplicate(s->b, &s->u));

  MPI_Comm comm;
  PIRF_PETSC(PetscObjectGetComm((PetscObject)da, &comm));
  PIRF_PETSC(KSPCreate(comm, &s->ksp));
  PIRF_PETSC(KSPSetOptionsPrefix(s->ksp, "gen_"));
  PIRF_PETSC(KSPSetOperators(s->ksp, s->A, s->A));
  PIRF_PETSC(KSPSetType(s->ksp, KSPGMRES));
  PIRF_PETSC(KSPSetPCSide(s->ksp, PC_RIGHT));
  PIRF_PETSC(KSPSetTolerances(s->ksp, rtol, PETSC_DEFAULT, PETSC_DEFAULT, 1000));
  PC pc;
  PIRF_PETSC(KSPGetPC(s->ksp, &pc));
  PIRF_PETSC(PCSetType(pc, PCGAMG));
  PIRF_PETSC(KSPSetFromOptions(s->ksp));
  PIRF_PETSC(KSPSetUp(s->ksp));
  return 0;
}

void pirf_lap5_solver_destroy(pirf_lap5_solver *s) {
  KSPDestroy(&s->ksp);
  MatDestroy(&s->A);
  VecDestroy(&s->b);
  VecDestroy(&s->u);
  free(s->row_scale);
  s->row_scale = NULL;
}

int pirf_lap5_solve(pirf_lap5_solver *s, const double *f, double *u, int *its) {
  PetscInt M, N, xs, ys, xm, ym;
  PIRF_PETSC(DMDAGetInfo(s->da, NULL, &M, &N, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
  PIRF_PETSC(DMDAGetCorners(s->da, &xs, &ys, NULL, &xm, &ym, NULL));
  PetscScalar *b;
  PIRF_PETSC(VecGetArray(s->b, &b));
  for (PetscInt j = 0; j < ym; j++)
    for (PetscInt i = 0; i < xm; i++) {
      PetscInt gi = xs + i, gj = ys + j, k = j * xm + i;
      int boundary = gi == 0 || gi == M - 1 || gj == 0 || gj == N - 1;
      /* generate_poisson.m sets B = 0 on its identity rows whatever the source is there. */
      double rhs = (s->rows == PIRF_LAP5_IDENTITY_ROWS && boundary) ? 0.0 : f[k];
      b[k] = s->row_scale[k] * rhs;
    }
  PIRF_PETSC(VecRestoreArray(s->b, &b));
  PIRF_PETSC(KSPSolve(s->ksp, s->b, s->u));
  KSPConvergedReason reason;
  PetscInt n;
  PetscReal rnorm;
  PIRF_PETSC(KSPGetConvergedReason(s->ksp, &reason));
  PIRF_PETSC(KSPGetIterationNumber(s->ksp, &n));
  PIRF_PETSC(KSPGetResidualNorm(s->ksp, &rnorm));
  /* The reason is the same on every rank (KSP is collective), so this is a collective verdict. */
  PIRF_USER_CHECK(reason > 0,
                  "the generator's linear solve did not converge (%s after %d iterations, residual "
                  "norm %.3g, pde.solver_rtol = %.3g): loosen pde.solver_rtol, raise "
                  "-gen_ksp_max_it, or pick another solver (-gen_ksp_type, -gen_pc_type)",
                  KSPConvergedReasons[reason], (int)n, (double)rnorm, s->rtol);
  if (its) *its = (int)n;
  const PetscScalar *x;
  PIRF_PETSC(VecGetArrayRead(s->u, &x));
  for (PetscInt k = 0; k < xm * ym; k++) u[k] = x[k];
  PIRF_PETSC(VecRestoreArrayRead(s->u, &x));
  return 0;
}
