/* Darcy flow (docs/algorithm.md §5.1): the pieces of the `darcy` PDE entry that tests and tools call.
 *
 *   -div(a grad u) = f on (0,1)^2, u = 0 on the boundary,
 *
 * on the cell-centred R x R grid (x_i = (i + 1/2) h, h = 1/R). The generator draws a from a
 * thresholded Gaussian random field and solves with f = 1; the residual (the reward) is in
 * darcy_residual.c. All functions work on this rank's tile of one sample and are collective over
 * the physics' space communicator. */
#ifndef PIRF_DARCY_H
#define PIRF_DARCY_H

#include "pirf/physics.h"

/* Solve -div(a grad u) = f with u = 0 on the boundary (cell-centred finite volumes, PETSc CG +
 * algebraic multigrid, to pde.solver_rtol). a_tile, f_tile, u_tile are [ym][xm] doubles in
 * physical units. A solve that does not converge is an error. ph must be a darcy physics. */
int pirf_darcy_solve(pirf_physics *ph, const double *a_tile, const double *f_tile, double *u_tile);

/* The Gaussian random field behind sample `sample`'s coefficient (pde.darcy.alpha, .tau, data.seed),
 * before thresholding, on this rank's tile [ym][xm]. */
int pirf_darcy_grf(pirf_physics *ph, long sample, double *U);

/* Iterations of the last pirf_darcy_solve (for logs and tests). */
int pirf_darcy_last_iterations(const pirf_physics *ph);

#endif
