/* The 5-point Laplacian on a vertex grid, shared by the Poisson and Helmholtz benchmarks
 * (docs/algorithm.md §5.2, §5.3).
 *
 * Grid: R x R points x_i = i h, y_j = j h, h = 1/(R-1), the boundary points included (DiffusionPDE's
 * generate_poisson.m / generate_inhom_helmholtz.m). Tiles are this rank's [ym][xm] block as in
 * pirf_decomp; every DM passed here is the decomposition's DMDA with dof 1 and stencil width 1
 * (pirf_decomp_dmda(dc, 1, 1, DM_BOUNDARY_NONE, DM_BOUNDARY_NONE, DMDA_STENCIL_STAR, &da)).
 *
 * Three things live here because both PDEs need exactly the same code:
 *
 *  - the generator's linear solve (lap5_solve.c): (Lap_h + k2 I) u = f with one of two sets of
 *    boundary rows, each exactly as in the reference MATLAB scripts:
 *      PIRF_LAP5_IDENTITY_ROWS  Poisson: every boundary point has the row u = 0 (f ignored there);
 *      PIRF_LAP5_KRON_ROWS      Helmholtz: A = kron(I, L) + kron(L, I) + k2 I, where the 1-D
 *                               L = tridiag(1, -2, 1)/h^2 has identity first and last rows; so an
 *                               edge point's row is u + (1-D Laplacian along the edge) + k2 u and a
 *                               corner's is (2 + k2) u. With f = 0 on the boundary and k2 + 1 below
 *                               the smallest eigenvalue of the 1-D -L (about pi^2) this forces u = 0
 *                               there too.
 *    Interior rows couple to boundary points, as in the references (the matrices are not symmetric).
 *
 *  - the reward's residual (lap5_residual.c), as PIRF's PoissonResidual / HelmholtzResidual code it:
 *      R = lap(u) + k2 u - a,  a = a_scale * x_a (channel 0),  u = u_scale * x_u (channel 1),
 *      lap(u)[j][i] = (u[j][i-1] + u[j][i+1] + u[j-1][i] + u[j+1][i] - 4 u[j][i]) / h^2
 *    with every index clamped to [0, R-1] (replicate padding): at an edge point the missing
 *    neighbour is the point itself, so lap = (sum of the 3 real neighbours - 3u)/h^2, and at a
 *    corner (sum of 2 neighbours - 2u)/h^2. R is kept at every point, boundary included.
 *    The adjoint accumulates xbar += (dR/dx)^T Rbar with respect to the normalized channels.
 *
 *  - the pirf_pde glue (lap5_pde.c): GRF source -> solve -> normalized tiles, and the residual
 *    entry points, parameterized by pirf_lap5_params (poisson.c, helmholtz.c hold the schemas). */
#ifndef PIRF_LAP5_H
#define PIRF_LAP5_H

#include "pirf/physics.h"

#include <petscksp.h>

/* ---- generator: the linear solve ---------------------------------------------------------- */

typedef enum { PIRF_LAP5_IDENTITY_ROWS, PIRF_LAP5_KRON_ROWS } pirf_lap5_rows;

typedef struct {
  DM da;        /* borrowed */
  Mat A, P;     /* the reference operator; its class-block-diagonal part (preconditioner) */
  KSP ksp;
  Vec b, u;
  pirf_lap5_rows rows;
  double h, k2, rtol;
  double *row_scale; /* the factor each owned row was multiplied by (see lap5_solve.c) */
} pirf_lap5_solver;

/* Assemble the operator and set up the KSP once (collective over the DM's communicator).
 * rtol: relative tolerance on the true residual norm. PETSc options with the prefix "gen_"
 * (-gen_ksp_type, -gen_pc_type, -gen_ksp_max_it, -gen_ksp_monitor, ...) override the defaults. */
int pirf_lap5_solver_create(DM da, double h, double k2, pirf_lap5_rows rows, double rtol,
                            pirf_lap5_solver *s);
void pirf_lap5_solver_destroy(pirf_lap5_solver *s);
/* u = A^-1 f on this rank's tile (f, u: double [ym][xm]). With IDENTITY_ROWS the boundary values
 * of f are ignored (the right-hand side is 0 there, as in the reference); with KRON_ROWS they are
 * used as given (the Helmholtz generator zeroes them). A solve that does not converge is a
 * collective error naming the reason and how to change the solver. its may be NULL. */
int pirf_lap5_solve(pirf_lap5_solver *s, const double *f, double *u, int *its);

/* ---- reward: the replicate-padded residual ------------------------------------------------ */

typedef struct {
  DM da;        /* borrowed */
  Vec g, l;     /* owned / ghosted u in physical units */
  double h, k2, a_scale, u_scale;
} pirf_lap5_residual;

int pirf_lap5_residual_create(DM da, double h, double k2, double a_scale, double u_scale,
                              pirf_lap5_residual *r);
void pirf_lap5_residual_destroy(pirf_lap5_residual *r);
/* R [ym][xm] (physical units, float) of the normalized tile x [2][ym][xm] (channels a, u). */
int pirf_lap5_residual_eval(pirf_lap5_residual *r, const float *x, float *R);
/* xbar [2][ym][xm] += (dR/dx)^T Rbar. R is linear in x, so x itself is not needed. */
int pirf_lap5_residual_adjoint(pirf_lap5_residual *r, const float *Rbar, float *xbar);

/* ---- the pirf_pde entry points both benchmarks share (lap5_pde.c) ------------------------ */

/* What distinguishes Poisson from Helmholtz; everything else is the same code. */
typedef struct {
  pirf_lap5_rows rows;
  double k2;                 /* 0 for Poisson */
  int zero_source_boundary;  /* Helmholtz's generator sets a = 0 on the boundary, Poisson's not */
  double alpha, tau;         /* GRF of the source */
  double data_a, data_u;     /* generator: x_a = data_a * a, x_u = data_u * u (ph->norm_scale) */
  double a_scale, u_scale;   /* reward: a = a_scale * x_a, u = u_scale * x_u */
} pirf_lap5_params;

/* The setup a PDE's own setup ends with: fills ph->h = 1/(R-1), ph->norm_scale/shift and
 * ph->impl (DMDA, solver, residual). The other four are pirf_pde entries as they are. */
int pirf_lap5_pde_setup(pirf_physics *ph, const pirf_lap5_params *prm);
void pirf_lap5_pde_destroy(pirf_physics *ph);
int pirf_lap5_pde_generate(pirf_physics *ph, long first, long count, float *tiles);
int pirf_lap5_pde_residual(pirf_physics *ph, const float *x, float *R);
int pirf_lap5_pde_residual_adjoint(pirf_physics *ph, const float *x, const float *Rbar, float *xbar);

#endif
