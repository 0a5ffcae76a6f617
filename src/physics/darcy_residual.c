/* The Darcy reward residual (docs/algorithm.md §5.0, §5.1) and its adjoint, side by side.
 *
 *   R = -a (u_xx + u_yy) - a_x u_x - a_y u_y - 1        at every pixel, boundary included,
 *
 * (the expanded form of -div(a grad u) - f with f = 1), with a = (x_a + 1.5) / 0.2 and
 * u = (x_u + 0.9) / 115 from the normalized channels. With pde.darcy.discretize_a, a is first
 * thresholded to a_high / a_low at their midpoint (7.5 for 12 / 3, i.e. the sign of x_a), so R does
 * not depend on x_a (almost everywhere) and the adjoint returns exactly zero for that channel: the
 * reference's in-place masked assignment has the same zero gradient.
 *
 * Derivatives are findiff's second-order stencils on h = 1/R along each axis independently:
 * central in the interior, one-sided three-point (first derivative) and four-point (second
 * derivative) at the first and last index of the global grid, corners included. No boundary
 * condition enters. On a tile the stencils read up to three points of a neighbour's tile, hence
 * the residual DMDA's stencil width 3 (star: derivatives are along one axis at a time).
 *
 * Contract (pirf/physics.h): x is one normalized sample tile [2][ym][xm] float32, R is [1][ym][xm]
 * in physical units; residual_adjoint adds (dR/dx)^T Rbar into xbar (normalized channels),
 * returning the contributions to a neighbour's points through the DMDA (ADD_VALUES). */
#include "darcy_impl.h"

#include "pirf/check.h"

/* One-dimensional finite-difference weights of derivative `order` (1 or 2) at index i of n
 * points: value = sum_k c[k] f[start + k]. */
typedef struct {
  int start, len;
  double c[4];
} fd_stencil;

static fd_stencil fd_weights(int order, int i, int n, double h) {
  fd_stencil s;
  if (order == 1) {
    const double w = 1.0 / (2.0 * h);
    s.len = 3;
    if (i == 0) {
      s.start = 0;
      s.c[0] = -3 * w, s.c[1] = 4 * w, s.c[2] = -1 * w;
    } else if (i == n - 1) {
      s.start = n - 3;
      s.c[0] = 1 * w, s.c[1] = -4 * w, s.c[2] = 3 * w;
    } else {
      s.start = i - 1;
      s.c[0] = -1 * w, s.c[1] = 0, s.c[2] = 1 * w;
    }
  } else {
    const double w = 1.0 / (h * h);
    if (i == 0) {
      s.start = 0, s.len = 4;
      s.c[0] = 2 * w, s.c[1] = -5 * w, s.c[2] = 4 * w, s.c[3] = -1 * w;
    } else if (i == n - 1) {
      s.start = n - 4, s.len = 4;
      s.c[0] = -1 * w, s.c[1] = 4 * w, s.c[2] = -5 * w, s.c[3] = 2 * w;
    } else {
      s.start = i - 1, s.len = 3;
      s.c[0] = 1 * w, s.c[1] = -2 * w, s.c[2] = 1 * w;
    }
  }
  return s;
}

/* The physical a of a normalized value (thresholded when the reward discretizes a). */
static double phys_a(const pirf_physics *ph, const darcy_impl *d, double xa) {
  double a = (xa - ph->norm_shift[0]) / ph->norm_scale[0];
  if (ph->discretize_a) a = a > 0.5 * (d->a_high + d->a_low) ? d->a_high : d->a_low;
  return a;
}

static double phys_u(const pirf_physics *ph, double xu) {
  return (xu - ph->norm_shift[1]) / ph->norm_scale[1];
}

/* The stencils and derivatives of a and u at owned point (j, i), shared by R and its adjoint. */
typedef struct {
  fd_stencil x1, x2, y1, y2;
  double a, ax, ay, ux, uy, lap;
} darcy_point;

static darcy_point point_at(const pirf_physics *ph, const darcy_impl *d, PetscScalar ***x, int j,
                            int i) {
  const pirf_decomp *dc = ph->dc;
  darcy_point p;
  p.x1 = fd_weights(1, i, dc->W, ph->h);
  p.x2 = fd_weights(2, i, dc->W, ph->h);
  p.y1 = fd_weights(1, j, dc->H, ph->h);
  p.y2 = fd_weights(2, j, dc->H, ph->h);
  p.a = phys_a(ph, d, x[j][i][0]);
  p.ax = p.ay = p.ux = p.uy = p.lap = 0.0;
  for (int k = 0; k < p.x1.len; k++) {
    p.ax += p.x1.c[k] * phys_a(ph, d, x[j][p.x1.start + k][0]);
    p.ux += p.x1.c[k] * phys_u(ph, x[j][p.x1.start + k][1]);
  }
  for (int k = 0; k < p.y1.len; k++) {
    p.ay += p.y1.c[k] * phys_a(ph, d, x[p.y1.start + k][i][0]);
    p.uy += p.y1.c[k] * phys_u(ph, x[p.y1.start + k][i][1]);
  }
  for (int k = 0; k < p.x2.len; k++) p.lap += p.x2.c[k] * phys_u(ph, x[j][p.x2.start + k][1]);
  for (int k = 0; k < p.y2.len; k++) p.lap += p.y2.c[k] * phys_u(ph, x[p.y2.start + k][i][1]);
  return p;
}

int pirf_darcy_residual(pirf_physics *ph, const float *xt, float *R) {
  darcy_impl *d = ph->impl;
  const pirf_decomp *dc = ph->dc;
  PIRF_TRY(pirf_tile_to_local(d->da_res, 2, xt, d->g_res, d->l_res));
  PetscScalar ***x;
  PIRF_PETSC(DMDAVecGetArrayDOFRead(d->da_res, d->l_res, &x));
  for (int j = dc->ys; j < dc->ys + dc->ym; j++)
    for (int i = dc->xs; i < dc->xs + dc->xm; i++) {
      darcy_point p = point_at(ph, d, x, j, i);
      R[(size_t)(j - dc->ys) * dc->xm + (i - dc->xs)] =
          (float)(-p.a * p.lap - p.ax * p.ux - p.ay * p.uy - 1.0);
    }
  PIRF_PETSC(DMDAVecRestoreArrayDOFRead(d->da_res, d->l_res, &x));
  return 0;
}

/* R is bilinear in (a, u): dR/du is the operator -a Lap - a_x D_x - a_y D_y applied to ubar's
 * stencil points, dR/da is -Lap u at the point plus -u_x D_x - u_y D_y on a's stencil points.
 * Each term scatters w * weight into the ghosted local array; the chain rule to the normalized
 * channel is the factor 1 / norm_scale. */
int pirf_darcy_residual_adjoint(pirf_physics *ph, const float *xt, const float *Rbar, float *xbar) {
  darcy_impl *d = ph->impl;
  const pirf_decomp *dc = ph->dc;
  const double su = 1.0 / ph->norm_scale[1], sa = 1.0 / ph->norm_scale[0];
  const int continuous_a = !ph->discretize_a;
  PIRF_TRY(pirf_tile_to_local(d->da_res, 2, xt, d->g_res, d->l_res));
  PIRF_PETSC(VecZeroEntries(d->l_bar));
  PetscScalar ***x, ***xb;
  PIRF_PETSC(DMDAVecGetArrayDOFRead(d->da_res, d->l_res, &x));
  PIRF_PETSC(DMDAVecGetArrayDOF(d->da_res, d->l_bar, &xb));
  for (int j = dc->ys; j < dc->ys + dc->ym; j++)
    for (int i = dc->xs; i < dc->xs + dc->xm; i++) {
      const double w = Rbar[(size_t)(j - dc->ys) * dc->xm + (i - dc->xs)];
      darcy_point p = point_at(ph, d, x, j, i);
      /* u: -a (u_xx + u_yy) */
      for (int k = 0; k < p.x2.len; k++) xb[j][p.x2.start + k][1] -= su * w * p.a * p.x2.c[k];
      for (int k = 0; k < p.y2.len; k++) xb[p.y2.start + k][i][1] -= su * w * p.a * p.y2.c[k];
      /* u: -a_x u_x - a_y u_y */
      for (int k = 0; k < p.x1.len; k++) xb[j][p.x1.start + k][1] -= su * w * p.ax * p.x1.c[k];
      for (int k = 0; k < p.y1.len; k++) xb[p.y1.start + k][i][1] -= su * w * p.ay * p.y1.c[k];
      if (!continuous_a) continue; /* a thresholded: dR/dx_a = 0 */
      /* a: -a Lap u, then -a_x u_x - a_y u_y */
      xb[j][i][0] -= sa * w * p.lap;
      for (int k = 0; k < p.x1.len; k++) xb[j][p.x1.start + k][0] -= sa * w * p.ux * p.x1.c[k];
      for (int k = 0; k < p.y1.len; k++) xb[p.y1.start + k][i][0] -= sa * w * p.uy * p.y1.c[k];
    }
  PIRF_PETSC(DMDAVecRestoreArrayDOFRead(d->da_res, d->l_res, &x));
  PIRF_PETSC(DMDAVecRestoreArrayDOF(d->da_res, d->l_bar, &xb));
  PIRF_TRY(pirf_local_to_tile_add(d->da_res, 2, d->l_bar, d->g_res, xbar));
  return 0;
}
