/* Burgers' equation benchmark (docs/algorithm.md §5.4): generator, residual and its adjoint.
 *
 * PDE:  u_t + u u_x = nu u_xx,  nu = 0.01,  x in [0, 1) periodic,  t in [0, 1].
 * Data: one channel, an R x R image: row n is time t_n = n / (R - 1) (n = 0 is the initial
 *       condition), column j is x_j = j / R. Normalized x = u / 1.415 (DiffusionPDE issue #12).
 * Initial condition: DiffusionPDE's GRF1 "periodic" (gen_burgers1.m), a sum over k = 1..64 of
 *       lambda_k (xi_k cos 2 pi k x + eta_k sin 2 pi k x), lambda_k = sqrt(2) sigma ((2 pi k)^2 +
 *       tau^2)^(-gamma/2), gamma = 2.5, tau = 7, sigma = 49, xi, eta ~ N(0, 1), zero mean. (GRF1
 *       evaluates the series at x - 1/2, which flips the sign of odd modes: the same distribution.)
 * Generator: the ETDRK4 pseudo-spectral integrator of pirf/burgers.h on M >= solver_points points
 *       (a multiple of R, so the stored columns are solver grid points), with the largest step
 *       <= solver_dt that divides the spacing of the stored time levels.
 * Parallel method: each sample is a 1-D problem with one time axis, too small to distribute. Every
 *       rank of the space group integrates the whole sample from t = 0 up to its last tile row and
 *       keeps its own rows and columns. The same deterministic operations run on every rank
 *       (FFTW_ESTIMATE plans, Philox draws keyed by the global sample and mode index), so the data
 *       are exact and identical at any tile layout.
 *
 * Residual, exactly as PIRF's BurgersResidual (reward/pde.py), in physical units u = 1.415 x:
 *   u_x[n,j]  = (u[n, j+1] - u[n, j-1]) / (2 dx)
 *   u_t[n,j]  = (u[n+1, j] - u[n-1, j]) / (2 dt)
 *   u_xx[n,j] = (u_x[n, j+1] - u_x[n, j-1]) / (2 dx)     (the composed, 5-point-wide stencil)
 *   R = u_t + u u_x - nu u_xx,   dx = 1/R
 * with every out-of-range index clamped (PyTorch's replicate padding, applied to u for u_x and
 * u_t and to u_x for u_xx). Two choices of the reference are not the physics and are deck keys:
 *   pde.burgers.residual_dt: code = 1/R (as coded) or data = 1/(R-1) (the true spacing of rows);
 *   pde.burgers.padding: replicate (as coded) or periodic (wrap x, which is what the PDE says).
 * Time is never periodic and keeps the clamped rows in both cases.
 *
 * Implementation: a DMDA (1 dof, star stencil width 2, periodic in x for the periodic option)
 * fills the ghosts from the float32 tile; everything is computed in double. The adjoint scatters
 * into a ghosted local vector and returns the ghost parts to their owners (pirf_local_to_tile_add). */
#include "pirf/burgers.h"

#include "pirf/check.h"
#include "pirf/physics.h"
#include "pirf/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const pirf_cfg_spec burgers_schema[] = {
    {"pde.burgers.nu", PIRF_CFG_REAL, "0.01", 1e-5, 10, 0, 0, NULL,
     "viscosity nu of u_t + u u_x = nu u_xx (generator and residual)"},
    {"pde.burgers.residual_dt", PIRF_CFG_ENUM, "code", 0, 0, 0, 0, "code|data",
     "time step of the residual's u_t: code = 1/R (PIRF's reward), data = 1/(R-1) (true row spacing)"},
    {"pde.burgers.padding", PIRF_CFG_ENUM, "replicate", 0, 0, 0, 0, "replicate|periodic",
     "residual's x boundary: replicate = clamp indices (PIRF's reward), periodic = wrap x"},
    {"pde.burgers.grf_gamma", PIRF_CFG_REAL, "2.5", 0.5, 10, 0, 0, NULL,
     "initial condition GRF1: decay exponent gamma of the eigenvalues"},
    {"pde.burgers.grf_tau", PIRF_CFG_REAL, "7", 0, 1000, 0, 0, NULL,
     "initial condition GRF1: inverse length scale tau"},
    {"pde.burgers.grf_sigma", PIRF_CFG_REAL, "49", 0, 1e6, 0, 0, NULL,
     "initial condition GRF1: amplitude sigma (eigenvalues sqrt(2) sigma ((2 pi k)^2+tau^2)^(-gamma/2))"},
    {"pde.burgers.grf_modes", PIRF_CFG_INT, "64", 1, 100000, 0, 0, NULL,
     "initial condition GRF1: number of Fourier modes k = 1..modes (must be <= solver_points/3)"},
    {"pde.burgers.u_scale", PIRF_CFG_REAL, "1.415", 1e-6, 1e6, 0, 0, NULL,
     "normalization: stored x = u / u_scale; the residual uses u = u_scale * x"},
    {"pde.burgers.solver_points", PIRF_CFG_INT, "256", 8, 65536, 0, 0, NULL,
     "generator: at least this many grid points (rounded up to an even multiple of R)"},
    {"pde.burgers.solver_dt", PIRF_CFG_REAL, "1e-3", 1e-7, 0.1, 0, 0, NULL,
     "generator: largest ETDRK4 time step (the step divides the row spacing 1/(R-1))"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

typedef struct {
  double nu, dx, dt, u_scale;
  int periodic;
  /* generator */
  double gamma, tau, sigma;
  int modes, stride, nsub; /* GRF modes; solver points per stored column; solver steps per row */
  pirf_burgers_solver solver;
  double *ugrid, *ca, *cb; /* [M] solver field; [modes] cosine and sine amplitudes */
  /* residual */
  DM da;
  Vec g, l;
  double *ux, *uxbar; /* [ym][xm+2]: u_x on the owned rows, columns xs-1 .. xs+xm */
  double *u;          /* [ym][xm]: the adjoint's copy of u at the owned points */
} burgers;

static int burgers_setup(pirf_physics *ph) {
  const pirf_config *cfg = ph->cfg;
  const pirf_decomp *dc = ph->dc;
  burgers *b = calloc(1, sizeof *b);
  PIRF_CHECK(b, "out of memory");
  ph->impl = b;
  const int R = dc->W;
  b->nu = pirf_cfg_real(cfg, "pde.burgers.nu");
  b->dx = 1.0 / R;
  b->dt = strcmp(pirf_cfg_str(cfg, "pde.burgers.residual_dt"), "data") ? 1.0 / dc->H
                                                                       : 1.0 / (dc->H - 1);
  b->periodic = !strcmp(pirf_cfg_str(cfg, "pde.burgers.padding"), "periodic");
  b->u_scale = pirf_cfg_real(cfg, "pde.burgers.u_scale");
  b->gamma = pirf_cfg_real(cfg, "pde.burgers.grf_gamma");
  b->tau = pirf_cfg_real(cfg, "pde.burgers.grf_tau");
  b->sigma = pirf_cfg_real(cfg, "pde.burgers.grf_sigma");
  b->modes = (int)pirf_cfg_int(cfg, "pde.burgers.grf_modes");
  ph->h = b->dx;
  ph->norm_scale[0] = 1.0 / b->u_scale;
  ph->norm_shift[0] = 0.0;

  /* The solver grid contains the stored columns, so no interpolation touches the data. */
  const long want = pirf_cfg_int(cfg, "pde.burgers.solver_points");
  b->stride = (int)((want + R - 1) / R);
  if ((b->stride * R) % 2) b->stride *= 2;
  const int M = b->stride * R;
  PIRF_USER_CHECK(b->modes <= M / 3,
                  "pde.burgers.grf_modes = %d exceeds the %d Fourier modes the %d-point solver grid "
                  "keeps (2/3 de-aliasing rule); set pde.burgers.solver_points >= %d or lower "
                  "grf_modes",
                  b->modes, M / 3, M, 3 * b->modes);
  const double row = 1.0 / (dc->H - 1), solver_dt = pirf_cfg_real(cfg, "pde.burgers.solver_dt");
  /* The shrink keeps an exact ratio (row = 8 solver_dt) from rounding up to an extra step. */
  b->nsub = (int)ceil(row / solver_dt * (1 - 1e-12));
  PIRF_TRY(pirf_burgers_solver_create(M, b->nu, row / b->nsub, &b->solver));
  PIRF_ALLOC(b->ugrid, M, "Burgers solver field");
  PIRF_ALLOC(b->ca, b->modes, "Burgers initial-condition amplitudes");
  PIRF_ALLOC(b->cb, b->modes, "Burgers initial-condition amplitudes");

  PIRF_TRY(pirf_decomp_dmda(dc, 1, 2, b->periodic ? DM_BOUNDARY_PERIODIC : DM_BOUNDARY_NONE,
                            DM_BOUNDARY_NONE, DMDA_STENCIL_STAR, &b->da));
  PIRF_PETSC(DMCreateGlobalVector(b->da, &b->g));
  PIRF_PETSC(DMCreateLocalVector(b->da, &b->l));
  PIRF_ALLOC(b->ux, (size_t)dc->ym * (dc->xm + 2), "Burgers u_x tile");
  PIRF_ALLOC(b->uxbar, (size_t)dc->ym * (dc->xm + 2), "Burgers u_x adjoint tile");
  PIRF_ALLOC(b->u, (size_t)dc->ym * dc->xm, "Burgers adjoint tile");
  return 0;
}

static void burgers_destroy(pirf_physics *ph) {
  burgers *b = ph->impl;
  if (!b) return;
  pirf_burgers_solver_destroy(&b->solver);
  free(b->ugrid);
  free(b->ca);
  free(b->cb);
  free(b->ux);
  free(b->uxbar);
  free(b->u);
  if (b->g) VecDestroy(&b->g);
  if (b->l) VecDestroy(&b->l);
  if (b->da) DMDestroy(&b->da);
  free(b);
  ph->impl = NULL;
}

/* ---- generator ------------------------------------------------------------------------------ */

static int burgers_generate(pirf_physics *ph, long first, long count, float *tiles) {
  burgers *b = ph->impl;
  const pirf_decomp *dc = ph->dc;
  const size_t tile = (size_t)dc->xm * dc->ym;
  const int last_row = dc->ys + dc->ym - 1;
  for (long n = 0; n < count; n++) {
    const uint32_t sample = (uint32_t)(first + n);
    /* GRF1: cosine amplitudes on Philox channel 0, sine amplitudes on channel 1, mode k on pixel k. */
    for (int k = 1; k <= b->modes; k++) {
      double kk = 2 * M_PI * k;
      double lam = sqrt(2.0) * b->sigma * pow(kk * kk + b->tau * b->tau, -b->gamma / 2);
      b->ca[k - 1] = lam * pirf_rng_normal(ph->seed, PIRF_STREAM_GRF, 0, sample, 0, (uint32_t)k);
      b->cb[k - 1] = lam * pirf_rng_normal(ph->seed, PIRF_STREAM_GRF, 0, sample, 1, (uint32_t)k);
    }
    pirf_burgers_solver_set_modes(&b->solver, b->modes, b->ca, b->cb);
    float *out = tiles + n * tile;
    for (int t = 0; t <= last_row; t++) {
      if (t > 0) pirf_burgers_solver_advance(&b->solver, b->nsub);
      if (t < dc->ys) continue;
      pirf_burgers_solver_get(&b->solver, b->ugrid);
      for (int i = 0; i < dc->xm; i++)
        out[(size_t)(t - dc->ys) * dc->xm + i] =
            (float)(b->ugrid[(size_t)(dc->xs + i) * b->stride] / b->u_scale);
    }
    int stop = pirf_physics_tick(ph, "burgers: sample %ld integrated", first + n);
    if (stop) return stop;
  }
  return 0;
}

/* ---- residual and adjoint ------------------------------------------------------------------- */

/* Index maps of the padding: clamp to the grid (replicate) or leave it to the periodic ghosts. */
static inline int clampi(int i, int n) { return i < 0 ? 0 : i >= n ? n - 1 : i; }
static inline int col(const burgers *b, int i, int W) { return b->periodic ? i : clampi(i, W); }

typedef struct {
  PetscInt gxs, gys, gxm;
} ghosts;

/* The ghosted local array at global (row t, column i). */
static inline double *at(PetscScalar *a, const ghosts *g, int t, int i) {
  return &a[(t - g->gys) * g->gxm + (i - g->gxs)];
}

/* u_x on the owned rows and columns xs-1 .. xs+xm (those the composed u_xx stencil reads). */
static void first_derivative(const burgers *b, const pirf_decomp *dc, const ghosts *g,
                             PetscScalar *L) {
  const int W = dc->W, xw = dc->xm + 2;
  const double c = b->u_scale / (2 * b->dx);
  for (int t = dc->ys; t < dc->ys + dc->ym; t++)
    for (int i = dc->xs - 1; i <= dc->xs + dc->xm; i++) {
      if (!b->periodic && (i < 0 || i >= W)) continue; /* never read: clamped away */
      b->ux[(t - dc->ys) * xw + (i - dc->xs + 1)] =
          c * (*at(L, g, t, col(b, i + 1, W)) - *at(L, g, t, col(b, i - 1, W)));
    }
}

static int burgers_residual(pirf_physics *ph, const float *x, float *Rout) {
  burgers *b = ph->impl;
  const pirf_decomp *dc = ph->dc;
  const int H = dc->H, W = dc->W, xw = dc->xm + 2;
  PIRF_TRY(pirf_tile_to_local(b->da, 1, x, b->g, b->l));
  ghosts g;
  PIRF_PETSC(DMDAGetGhostCorners(b->da, &g.gxs, &g.gys, NULL, &g.gxm, NULL, NULL));
  PetscScalar *L;
  PIRF_PETSC(VecGetArray(b->l, &L));
  first_derivative(b, dc, &g, L);
  const double s = b->u_scale, cdt = s / (2 * b->dt), cdx = 1 / (2 * b->dx);
  for (int t = dc->ys; t < dc->ys + dc->ym; t++) {
    const double *ux = b->ux + (t - dc->ys) * xw - dc->xs + 1; /* ux[i], global column i */
    for (int j = dc->xs; j < dc->xs + dc->xm; j++) {
      double u_t = cdt * (*at(L, &g, clampi(t + 1, H), j) - *at(L, &g, clampi(t - 1, H), j));
      double u = s * *at(L, &g, t, j);
      double u_xx = cdx * (ux[col(b, j + 1, W)] - ux[col(b, j - 1, W)]);
      Rout[(t - dc->ys) * dc->xm + (j - dc->xs)] = (float)(u_t + u * ux[j] - b->nu * u_xx);
    }
  }
  PIRF_PETSC(VecRestoreArray(b->l, &L));
  return 0;
}

/* xbar += (dR/dx)^T Rbar, the residual's steps in reverse: the u_xx and u u_x terms give u_x-bar
 * (columns xs-1 .. xs+xm), which flows back through u_x's stencil; u_t and u u_x add to u-bar
 * directly. Everything lands in the ghosted local vector; the owners then collect the ghosts. */
static int burgers_residual_adjoint(pirf_physics *ph, const float *x, const float *Rbar,
                                    float *xbar) {
  burgers *b = ph->impl;
  const pirf_decomp *dc = ph->dc;
  const int H = dc->H, W = dc->W, xw = dc->xm + 2;
  PIRF_TRY(pirf_tile_to_local(b->da, 1, x, b->g, b->l));
  ghosts g;
  PIRF_PETSC(DMDAGetGhostCorners(b->da, &g.gxs, &g.gys, NULL, &g.gxm, NULL, NULL));
  PetscScalar *L;
  PIRF_PETSC(VecGetArray(b->l, &L));
  first_derivative(b, dc, &g, L);
  /* u is needed below only at owned points: keep it, then reuse the local vector for u-bar. */
  double *u = b->u;
  for (int t = dc->ys; t < dc->ys + dc->ym; t++)
    for (int j = dc->xs; j < dc->xs + dc->xm; j++)
      u[(t - dc->ys) * dc->xm + (j - dc->xs)] = b->u_scale * *at(L, &g, t, j);
  PetscInt nl;
  PIRF_PETSC(VecGetLocalSize(b->l, &nl));
  for (PetscInt k = 0; k < nl; k++) L[k] = 0; /* L now holds u-bar (physical units) */
  memset(b->uxbar, 0, sizeof(double) * (size_t)dc->ym * xw);

  const double cdt = 1 / (2 * b->dt), cdx = 1 / (2 * b->dx);
  for (int t = dc->ys; t < dc->ys + dc->ym; t++) {
    const double *ux = b->ux + (t - dc->ys) * xw - dc->xs + 1;
    double *uxbar = b->uxbar + (t - dc->ys) * xw - dc->xs + 1;
    for (int j = dc->xs; j < dc->xs + dc->xm; j++) {
      const double r = Rbar[(t - dc->ys) * dc->xm + (j - dc->xs)];
      /* u_t */
      *at(L, &g, clampi(t + 1, H), j) += cdt * r;
      *at(L, &g, clampi(t - 1, H), j) -= cdt * r;
      /* u u_x */
      *at(L, &g, t, j) += r * ux[j];
      uxbar[j] += r * u[(t - dc->ys) * dc->xm + (j - dc->xs)];
      /* -nu u_xx */
      uxbar[col(b, j + 1, W)] -= b->nu * cdx * r;
      uxbar[col(b, j - 1, W)] += b->nu * cdx * r;
    }
    /* u_x's stencil, transposed. */
    for (int i = dc->xs - 1; i <= dc->xs + dc->xm; i++) {
      if (!b->periodic && (i < 0 || i >= W)) continue;
      *at(L, &g, t, col(b, i + 1, W)) += cdx * uxbar[i];
      *at(L, &g, t, col(b, i - 1, W)) -= cdx * uxbar[i];
    }
  }
  /* d u / d x = u_scale (u = u_scale * x). */
  for (PetscInt k = 0; k < nl; k++) L[k] *= b->u_scale;
  PIRF_PETSC(VecRestoreArray(b->l, &L));
  PIRF_TRY(pirf_local_to_tile_add(b->da, 1, b->l, b->g, xbar));
  return 0;
}

const pirf_pde pirf_pde_burgers = {"burgers",         1,
                                   1,                 "u",
                                   "periodic",        burgers_schema,
                                   burgers_setup,     burgers_destroy,
                                   burgers_generate,  burgers_residual,
                                   burgers_residual_adjoint};
