/* The 1-D viscous Burgers integrator behind `pde.name: burgers` (physics/burgers_solver.c).
 *
 *   u_t + u u_x = nu u_xx,   x in [0, 1) periodic,
 *
 * pseudo-spectral in x on M equispaced points (Fourier modes e^{2 pi i k x}), ETDRK4 in time
 * (Cox & Matthews 2002; Kassam & Trefethen 2005): the stiff linear part -nu (2 pi k)^2 is
 * integrated exactly, the nonlinear part -(u^2/2)_x by a fourth-order exponential Runge-Kutta step
 * whose phi-function weights are computed by the contour-integral mean (no cancellation for small
 * |L h|). The quadratic term is de-aliased by the 2/3 rule: only modes |k| <= kmax = floor(M/3) are
 * ever non-zero, so the product of two retained fields has no aliased part in the retained band.
 *
 * The integrator is exposed so tests can start it from a given initial condition (Cole-Hopf). */
#ifndef PIRF_BURGERS_H
#define PIRF_BURGERS_H

#include <complex.h>
#include <fftw3.h>

typedef struct {
  int M, kmax;      /* grid points; largest retained wavenumber (2/3 rule) */
  double nu, h;     /* viscosity; time step */
  double *u;        /* [M] physical-space work array (fftw_malloc, aligned) */
  fftw_complex *v;  /* [M/2+1] the state's Fourier coefficients (unnormalized FFTW r2c of u) */
  fftw_complex *nv, *na, *nb, *nc, *a, *b, *c, *w; /* ETDRK4 stage values and the transform buffer */
  double *E, *E2, *Q, *f1, *f2, *f3; /* [M/2+1] ETDRK4 weights per mode */
  fftw_plan r2c, c2r;
} pirf_burgers_solver;

/* M even and >= 8, nu > 0, h > 0. Plans use FFTW_ESTIMATE so every rank picks the same algorithm
 * and redundant copies of one sample agree bit for bit. */
int pirf_burgers_solver_create(int M, double nu, double h, pirf_burgers_solver *s);
void pirf_burgers_solver_destroy(pirf_burgers_solver *s);
/* Load the state from grid values u0[M] at x_m = m/M. Modes above kmax are dropped (the 2/3 rule
 * band); callers that need an exact start provide a field inside that band. */
void pirf_burgers_solver_set(pirf_burgers_solver *s, const double *u0);
/* Load the state from Fourier sine/cosine amplitudes: u0(x) = sum_{k=1}^{n} a[k-1] cos(2 pi k x)
 * + b[k-1] sin(2 pi k x) (zero mean). n must be <= kmax. */
void pirf_burgers_solver_set_modes(pirf_burgers_solver *s, int n, const double *a, const double *b);
/* Advance the state by nsteps steps of length h. */
void pirf_burgers_solver_advance(pirf_burgers_solver *s, int nsteps);
/* The current state on the grid x_m = m/M, into u[M]. */
void pirf_burgers_solver_get(pirf_burgers_solver *s, double *u);

#endif
