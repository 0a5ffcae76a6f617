/* Moving float32 tiles in and out of PETSc DMDA vectors (see pirf/physics.h).
 *
 * The network works in float32 on tiles [C][ym][xm]; PETSc is double precision with interleaved
 * dof. The forward copy fills ghosts with DMGlobalToLocal (INSERT); its adjoint returns ghost
 * contributions to their owners with DMLocalToGlobal (ADD_VALUES). */
#include "pirf/check.h"
#include "pirf/physics.h"

int pirf_tile_to_local(DM da, int C, const float *tile, Vec g, Vec l) {
  PetscInt xs, ys, xm, ym;
  PIRF_PETSC(DMDAGetCorners(da, &xs, &ys, NULL, &xm, &ym, NULL));
  PetscScalar *a;
  PIRF_PETSC(VecGetArray(g, &a));
  for (PetscInt c = 0; c < C; c++)
    for (PetscInt j = 0; j < ym; j++)
      for (PetscInt i = 0; i < xm; i++) a[(j * xm + i) * C + c] = tile[(c * ym + j) * xm + i];
  PIRF_PETSC(VecRestoreArray(g, &a));
  PIRF_PETSC(DMGlobalToLocalBegin(da, g, INSERT_VALUES, l));
  PIRF_PETSC(DMGlobalToLocalEnd(da, g, INSERT_VALUES, l));
  return 0;
}

int pirf_local_to_tile_add(DM da, int C, Vec l, Vec g, float *tilebar) {
  PetscInt xs, ys, xm, ym;
  PIRF_PETSC(DMDAGetCorners(da, &xs, &ys, NULL, &xm, &ym, NULL));
  PIRF_PETSC(VecZeroEntries(g));
  PIRF_PETSC(DMLocalToGlobalBegin(da, l, ADD_VALUES, g));
  PIRF_PETSC(DMLocalToGlobalEnd(da, l, ADD_VALUES, g));
  const PetscScalar *a;
  PIRF_PETSC(VecGetArrayRead(g, &a));
  for (PetscInt c = 0; c < C; c++)
    for (PetscInt j = 0; j < ym; j++)
      for (PetscInt i = 0; i < xm; i++)
        tilebar[(c * ym + j) * xm + i] += (float)a[(j * xm + i) * C + c];
  PIRF_PETSC(VecRestoreArrayRead(g, &a));
  return 0;
}
