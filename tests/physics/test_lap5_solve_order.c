/* poisson_helmholtz_solvers_converge_at_second_order: the generators' linear solves (pirf/lap5.h) on a
 * manufactured solution, at three grid sizes, on the tile layout of the rank count (1: [1,1],
 * 2: [2,1], 4: [2,2]).
 *
 *   u*(x, y) = sin(pi x) * y (1 - y) e^y       (zero on the whole boundary, not an eigenfunction)
 *   f = Lap u* + k2 u*  = sin(pi x) e^y (-pi^2 y (1 - y) - y^2 - 3y) + k2 u*
 *
 * Poisson rows (k2 = 0): f is set to 7 on the boundary, which the identity rows must ignore.
 * Helmholtz rows (k2 = 1): f = 0 on the boundary, as the generator sets it; the edge rows must then
 * give u = 0. For R = 17, 33, 65 (h halves exactly) the max error must fall by 4x per halving
 * (observed order >= 1.9) and the boundary values must vanish to the solver tolerance. */
#include "pirf/check.h"
#include "pirf/decomp.h"
#include "pirf/lap5.h"
#include "testing.h"

#include <math.h>
#include <stdlib.h>

static double exact(double x, double y) { return sin(M_PI * x) * y * (1 - y) * exp(y); }

static double source(double x, double y, double k2) {
  return sin(M_PI * x) * exp(y) * (-M_PI * M_PI * y * (1 - y) - y * y - 3 * y) + k2 * exact(x, y);
}

/* Max |u - u*| over the grid and max |u| over the boundary, for one grid size. */
static int solve_error(int R, pirf_lap5_rows rows, double k2, double *err, double *bmax, int *its) {
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int px = size >= 2 ? 2 : 1, py = size >= 4 ? 2 : 1;
  pirf_decomp dc;
  PIRF_TRY(pirf_decomp_create(MPI_COMM_WORLD, R, R, px, py, 1, &dc));
  DM da;
  PIRF_TRY(pirf_decomp_dmda(&dc, 1, 1, DM_BOUNDARY_NONE, DM_BOUNDARY_NONE, DMDA_STENCIL_STAR, &da));
  const double h = 1.0 / (R - 1);
  pirf_lap5_solver s = {0};
  PIRF_TRY(pirf_lap5_solver_create(da, h, k2, rows, 1e-12, &s));
  double *f = calloc((size_t)dc.xm * dc.ym, sizeof *f), *u = calloc((size_t)dc.xm * dc.ym, sizeof *u);
  for (int j = 0; j < dc.ym; j++)
    for (int i = 0; i < dc.xm; i++) {
      int gi = dc.xs + i, gj = dc.ys + j;
      int boundary = gi == 0 || gi == R - 1 || gj == 0 || gj == R - 1;
      f[j * dc.xm + i] = !boundary ? source(gi * h, gj * h, k2)
                                   : rows == PIRF_LAP5_IDENTITY_ROWS ? 7.0 : 0.0;
    }
  PIRF_TRY(pirf_lap5_solve(&s, f, u, its));
  double m[2] = {0, 0};
  for (int j = 0; j < dc.ym; j++)
    for (int i = 0; i < dc.xm; i++) {
      int gi = dc.xs + i, gj = dc.ys + j;
      double v = u[j * dc.xm + i];
      m[0] = fmax(m[0], fabs(v - exact(gi * h, gj * h)));
      if (gi == 0 || gi == R - 1 || gj == 0 || gj == R - 1) m[1] = fmax(m[1], fabs(v));
    }
  MPI_Allreduce(MPI_IN_PLACE, m, 2, MPI_DOUBLE, MPI_MAX, dc.space);
  *err = m[0];
  *bmax = m[1];
  free(f);
  free(u);
  pirf_lap5_solver_destroy(&s);
  DMDestroy(&da);
  pirf_decomp_destroy(&dc);
  return 0;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  PetscInitialize(&argc, &argv, NULL, NULL);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const struct {
    const char *name;
    pirf_lap5_rows rows;
    double k2;
  } cases[] = {{"poisson (identity rows)", PIRF_LAP5_IDENTITY_ROWS, 0.0},
               {"helmholtz (kron rows, k = 1)", PIRF_LAP5_KRON_ROWS, 1.0}};
  const int sizes[] = {17, 33, 65};
  for (int c = 0; c < 2; c++) {
    double err[3], bmax[3];
    for (int n = 0; n < 3; n++) {
      int its = 0;
      int e = solve_error(sizes[n], cases[c].rows, cases[c].k2, &err[n], &bmax[n], &its);
      TEST_CHECK(!e, "%s: the solve at R = %d failed", cases[c].name, sizes[n]);
      if (e) break;
      if (rank == 0)
        printf("%s R = %3d: max error %.4e, max |u| on the boundary %.2e, %d iterations%s", cases[c].name,
               sizes[n], err[n], bmax[n], its, n ? "" : "\n");
      if (n) {
        double order = log2(err[n - 1] / err[n]);
        if (rank == 0) printf(", order %.3f\n", order);
        TEST_CHECK(order >= 1.9 && order <= 2.1, "%s: observed order %.3f between R = %d and %d",
                   cases[c].name, order, sizes[n - 1], sizes[n]);
      }
      TEST_CHECK(bmax[n] <= 1e-9, "%s R = %d: boundary values %.3g are not zero", cases[c].name,
                 sizes[n], bmax[n]);
    }
  }
  int rc = test_finish("poisson_helmholtz_solvers_converge_at_second_order");
  PetscFinalize();
  MPI_Finalize();
  return rc;
}
