/* The generators' linear solve for Poisson and Helmholtz: (Lap_h + k2 I) u = f on the vertex grid,
 * with the reference scripts' boundary rows (see pirf/lap5.h for the operator and its contract).
 *
 * The operator A is the references' matrix, row for row (up to one constant factor per row, below),
 * so the solution is theirs. A is not symmetric: interior rows couple to boundary points, boundary
 * rows do not couple back (Poisson's identity rows) or only along their edge (Helmholtz's kron rows,
 * whose edge rows also reach the corners, which couple to nothing). Order the points by class,
 * interior (no boundary direction) < edge (one) < corner (two): every coupling between classes
 * points from a lower class to a higher one, so A is block upper triangular.
 *
 * Preconditioner. P = A with the between-class couplings dropped: block diagonal, and each block is
 * symmetric positive definite after the row signs below -- the interior block is -(Lap_h + k2) with
 * Dirichlet zeros (definite while k2 < about 2 pi^2), the edge blocks are 1-D -(L + 1 + k2) (definite
 * while k2 + 1 < about pi^2), corners and Poisson's boundary are diagonal. Then A P^-1 = I + N with
 * N nilpotent (N^3 = 0), so GMRES on A converges in a few iterations more than an SPD solve with P
 * would need. P is applied by one V-cycle of algebraic multigrid, hypre's BoomerAMG (PETSc GAMG
 * where PETSc lacks hypre); geometric multigrid is out because R = 128 is not 2^k + 1. Measured at
 * R = 128, rtol 1e-10: BoomerAMG on P needs 7 GMRES iterations for both PDEs; GAMG needed 16
 * (Poisson) and 89 (Helmholtz, on A itself) or 140 (on P). GMRES is right-preconditioned so that
 * rtol bounds the *true* residual ||b - A u|| / ||b||. A and P are the same for every sample, so
 * the hierarchy is built once.
 *
 * Row scaling: each row of A (and P) is multiplied by a constant, the right-hand side with it, so
 * the diagonal is positive and, for Poisson's identity rows, of the interior's size (4/h^2). The
 * equations, hence the solution, are unchanged. */
#include "pirf/check.h"
#include "pirf/lap5.h"

#include <stdlib.h>

/* How many of the two directions are at the boundary: 0 interior, 1 edge, 2 corner. */
static int point_class(PetscInt M, PetscInt N, PetscInt i, PetscInt j) {
  return (i == 0 || i == M - 1) + (j == 0 || j == N - 1);
}

/* The unscaled reference row of point (i, j): up to 5 entries (column stencil, value), the
 * diagonal first; *identity says it is one of Poisson's identity rows. */
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
  PIRF_PETSC(DMCreateMatrix(da, &s->P));
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
      /* P keeps the couplings within the row's class only (the diagonal always) */
      int np = 0, cls = point_class(M, N, i, j);
      for (int k = 0; k < n; k++)
        if (point_class(M, N, col[k].i, col[k].j) == cls) col[np] = col[k], val[np++] = val[k];
      PIRF_PETSC(MatSetValuesStencil(s->P, 1, &row, np, col, val, INSERT_VALUES));
    }
  PIRF_PETSC(MatAssemblyBegin(s->A, MAT_FINAL_ASSEMBLY));
  PIRF_PETSC(MatAssemblyEnd(s->A, MAT_FINAL_ASSEMBLY));
  PIRF_PETSC(MatAssemblyBegin(s->P, MAT_FINAL_ASSEMBLY));
  PIRF_PETSC(MatAssemblyEnd(s->P, MAT_FINAL_ASSEMBLY));
  PIRF_PETSC(MatSetOption(s->P, MAT_SYMMETRIC, PETSC_TRUE));
  PIRF_PETSC(DMCreateGlobalVector(da, &s->b));
  PIRF_PETSC(VecDuplicate(s->b, &s->u));

  MPI_Comm comm;
  PIRF_PETSC(PetscObjectGetComm((PetscObject)da, &comm));
  PIRF_PETSC(KSPCreate(comm, &s->ksp));
  PIRF_PETSC(KSPSetOptionsPrefix(s->ksp, "gen_"));
  PIRF_PETSC(KSPSetOperators(s->ksp, s->A, s->P));
  PIRF_PETSC(KSPSetType(s->ksp, KSPGMRES));
  PIRF_PETSC(KSPSetPCSide(s->ksp, PC_RIGHT));
  PIRF_PETSC(KSPSetTolerances(s->ksp, rtol, PETSC_DEFAULT, PETSC_DEFAULT, 1000));
  PC pc;
  PIRF_PETSC(KSPGetPC(s->ksp, &pc));
#ifdef PETSC_HAVE_HYPRE
  PIRF_PETSC(PCSetType(pc, PCHYPRE)); /* BoomerAMG */
#else
  PIRF_PETSC(PCSetType(pc, PCGAMG));
#endif
  PIRF_PETSC(KSPSetFromOptions(s->ksp));
  PIRF_PETSC(KSPSetUp(s->ksp));
  return 0;
}

void pirf_lap5_solver_destroy(pirf_lap5_solver *s) {
  KSPDestroy(&s->ksp);
  MatDestroy(&s->A);
  MatDestroy(&s->P);
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
