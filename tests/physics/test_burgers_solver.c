/* The Burgers integrator (pirf/burgers.h) against an exact solution, by the Cole-Hopf transform:
 * phi = a0 + a1 exp(-nu k^2 t) cos(k x), k = 2 pi, solves phi_t = nu phi_xx, so
 * u = -2 nu phi_x / phi = 2 nu k a1 e^{-nu k^2 t} sin(k x) / (a0 + a1 e^{-nu k^2 t} cos(k x))
 * solves u_t + u u_x = nu u_xx on the periodic unit interval. a1/a0 = 0.9 makes a steep front
 * (phi's minimum is a tenth of its mean), so the nonlinear term matters.
 *
 *  burgers_solver_matches_cole_hopf_solution:  max |u_h(1) - u(1)| small at the finest step;
 *  burgers_solver_error_decreases_with_step:   halving h cuts the error by ~16 (fourth order)
 *                                              until it reaches the rounding floor;
 *  burgers_solver_resolves_a_steep_front_at_default_settings:
 *      a1/a0 = 0.99 (max |u_x| = 78 at t = 0, four times the steepest generated data) with the
 *      generator's defaults, 256 points and h = 1e-3, is still exact to ~1e-12. */
#include "pirf/burgers.h"
#include "testing.h"

#include <math.h>
#include <stdlib.h>

static const double NU = 0.01, A0 = 1.0, K = 2 * M_PI;
static double A1 = 0.9;

static double exact(double x, double t) {
  double e = A1 * exp(-NU * K * K * t);
  return 2 * NU * K * e * sin(K * x) / (A0 + e * cos(K * x));
}

/* max |u_h - u| at t = T after integrating with nsteps steps on M points. */
static double error_at(int M, double T, int nsteps) {
  pirf_burgers_solver s;
  if (pirf_burgers_solver_create(M, NU, T / nsteps, &s)) return INFINITY;
  double *u = malloc(sizeof(double) * M);
  for (int m = 0; m < M; m++) u[m] = exact((double)m / M, 0);
  pirf_burgers_solver_set(&s, u);
  pirf_burgers_solver_advance(&s, nsteps);
  pirf_burgers_solver_get(&s, u);
  double err = 0;
  for (int m = 0; m < M; m++) err = fmax(err, fabs(u[m] - exact((double)m / M, T)));
  free(u);
  pirf_burgers_solver_destroy(&s);
  return err;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  const int M = 256;
  const double T = 1.0;
  double umax = 0;
  for (int m = 0; m < M; m++) umax = fmax(umax, fabs(exact((double)m / M, 0)));
  const int steps[] = {16, 32, 64, 128, 256};
  double err[5];
  for (int i = 0; i < 5; i++) {
    err[i] = error_at(M, T, steps[i]);
    printf("M = %d, h = 1/%d: max |u_h - u| = %.3e (max |u0| = %.3f)\n", M, steps[i], err[i], umax);
    if (i) printf("    ratio to the previous step: %.2f\n", err[i - 1] / err[i]);
  }
  TEST_CHECK(err[4] < 1e-10, "burgers_solver_matches_cole_hopf_solution: error %.3e at h = 1/%d",
             err[4], steps[4]);
  /* Fourth order while the time error dominates: each halving gains > 10x (16 ideally). */
  for (int i = 1; i < 4; i++)
    TEST_CHECK(err[i - 1] / err[i] > 10,
               "burgers_solver_error_decreases_with_step: h = 1/%d -> 1/%d gains only %.2fx",
               steps[i - 1], steps[i], err[i - 1] / err[i]);
  A1 = 0.99;
  double steep = error_at(M, T, 1000);
  printf("steep front (a1 = 0.99), M = %d, h = 1e-3: max |u_h - u| = %.3e\n", M, steep);
  TEST_CHECK(steep < 1e-10, "burgers_solver_resolves_a_steep_front_at_default_settings: error %.3e",
             steep);
  int rc = test_finish("burgers_solver");
  MPI_Finalize();
  return rc;
}
