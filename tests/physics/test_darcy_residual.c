/* darcy_residual_matches_analytic_at_second_order:
 *   for smooth fields that do not vanish on the boundary,
 *     a = 6 + 2 sin(2 pi x + 0.4) cos(pi y),   u = 0.03 cos(1.5 pi x + 0.2) sin(2 pi y + 0.7) + 0.01 x,
 *   stored as normalized float32 tiles, the reward residual (pde.darcy.discretize_a = false) equals
 *   the analytic -div(a grad u) - 1 = -a Lap u - a_x u_x - a_y u_y - 1 at every pixel, boundary rows
 *   and columns included (one-sided stencils), with a max error that falls at second order over
 *   R = 16, 32, 64. Run at 1, 2 and 4 ranks.
 * darcy_residual_equals_findiff_table_pixelwise:
 *   on a random smooth field at R = 16 (so edge and near-edge pixels are a large share), R equals an
 *   independent evaluation of the docs/algorithm.md §5.0 stencil table on the whole field, pixel by pixel,
 *   for discretize_a = false and true.
 * darcy_discretized_residual_uses_thresholded_a:
 *   with discretize_a = true the residual equals the continuous residual of the same field whose
 *   a was replaced by a_high where a > (a_high + a_low)/2 and a_low elsewhere. */
#include "physics_harness.h"
#include "testing.h"

#include <stdio.h>

static void fields(double X, double Y, double *a, double *u, double *Rex) {
  const double pi = M_PI;
  *a = 6 + 2 * sin(2 * pi * X + 0.4) * cos(pi * Y);
  double ax = 4 * pi * cos(2 * pi * X + 0.4) * cos(pi * Y);
  double ay = -2 * pi * sin(2 * pi * X + 0.4) * sin(pi * Y);
  double cx = cos(1.5 * pi * X + 0.2), sx = sin(1.5 * pi * X + 0.2);
  double cy = cos(2 * pi * Y + 0.7), sy = sin(2 * pi * Y + 0.7);
  *u = 0.03 * cx * sy + 0.01 * X;
  double ux = -0.03 * 1.5 * pi * sx * sy + 0.01, uy = 0.03 * 2 * pi * cx * cy;
  double lap = -0.03 * (2.25 + 4) * pi * pi * cx * sy;
  *Rex = -*a * lap - ax * ux - ay * uy - 1;
}

static int setup(test_physics *t, int R, const char *discretize, int px, int py) {
  char res[64];
  snprintf(res, sizeof res, "grid.resolution=%d", R);
  char *over[] = {"pde.name=darcy", res, (char *)discretize};
  return test_physics_setup(t, MPI_COMM_WORLD, px, py, 3, over);
}

/* x: normalized tile of the analytic field; Rex: analytic residual on the tile. */
static void fill(const test_physics *t, float *x, double *Rex) {
  const pirf_decomp *dc = &t->dc;
  size_t n = (size_t)dc->xm * dc->ym;
  for (int j = 0; j < dc->ym; j++)
    for (int i = 0; i < dc->xm; i++) {
      double X = (dc->xs + i + 0.5) / dc->W, Y = (dc->ys + j + 0.5) / dc->H, a, u;
      size_t k = (size_t)j * dc->xm + i;
      fields(X, Y, &a, &u, &Rex[k]);
      x[k] = (float)(t->ph->norm_scale[0] * a + t->ph->norm_shift[0]);
      x[n + k] = (float)(t->ph->norm_scale[1] * u + t->ph->norm_shift[1]);
    }
}

static double analytic_error(int R, int px, int py) {
  test_physics t;
  if (setup(&t, R, "pde.darcy.discretize_a=false", px, py)) MPI_Abort(MPI_COMM_WORLD, 1);
  size_t n = (size_t)t.dc.xm * t.dc.ym;
  float *x = calloc(2 * n, sizeof *x), *Rt = calloc(n, sizeof *Rt);
  double *Rex = calloc(n, sizeof *Rex);
  fill(&t, x, Rex);
  int err = t.ph->pde->residual(t.ph, x, Rt);
  TEST_CHECK(!err, "residual returned %d", err);
  double e = 0;
  for (size_t k = 0; k < n; k++) e = fmax(e, fabs(Rt[k] - Rex[k]));
  MPI_Allreduce(MPI_IN_PLACE, &e, 1, MPI_DOUBLE, MPI_MAX, t.dc.space);
  free(x);
  free(Rt);
  free(Rex);
  test_physics_teardown(&t);
  return e;
}

static void discretized_matches_thresholded(int px, int py) {
  test_physics td, tc;
  if (setup(&td, 32, "pde.darcy.discretize_a=true", px, py) ||
      setup(&tc, 32, "pde.darcy.discretize_a=false", px, py))
    MPI_Abort(MPI_COMM_WORLD, 1);
  size_t n = (size_t)td.dc.xm * td.dc.ym;
  float *x = calloc(2 * n, sizeof *x), *xt = calloc(2 * n, sizeof *xt), *Rd = calloc(n, 4),
        *Rc = calloc(n, 4);
  double *Rex = calloc(n, sizeof *Rex);
  fill(&td, x, Rex); /* a in [4, 8]: both sides of the 7.5 threshold */
  const double *sc = td.ph->norm_scale, *sh = td.ph->norm_shift;
  int high = 0;
  for (size_t k = 0; k < n; k++) {
    double a = (x[k] - sh[0]) / sc[0];
    high += a > 7.5;
    xt[k] = (float)(sc[0] * (a > 7.5 ? 12.0 : 3.0) + sh[0]);
    xt[n + k] = x[n + k];
  }
  MPI_Allreduce(MPI_IN_PLACE, &high, 1, MPI_INT, MPI_SUM, td.dc.space);
  TEST_CHECK(high > 0 && high < td.dc.H * td.dc.W, "test field must straddle the threshold");
  int err = td.ph->pde->residual(td.ph, x, Rd) || tc.ph->pde->residual(tc.ph, xt, Rc);
  TEST_CHECK(!err, "residual returned an error");
  double d = 0, m = 0;
  for (size_t k = 0; k < n; k++) {
    d = fmax(d, fabs(Rd[k] - Rc[k]));
    m = fmax(m, fabs(Rc[k]));
  }
  MPI_Allreduce(MPI_IN_PLACE, &d, 1, MPI_DOUBLE, MPI_MAX, td.dc.space);
  MPI_Allreduce(MPI_IN_PLACE, &m, 1, MPI_DOUBLE, MPI_MAX, td.dc.space);
  TEST_CHECK(d <= 1e-5 * m, "darcy_discretized_residual_uses_thresholded_a: max diff %.3e (max |R| %.3e)",
             d, m);
  free(x);
  free(xt);
  free(Rd);
  free(Rc);
  free(Rex);
  test_physics_teardown(&td);
  test_physics_teardown(&tc);
}

/* Derivative of order d along a line f[0..n-1] at index i, straight from the §5.0 table. */
static double table_derivative(int d, const double *f, int stride, int n, int i, double h) {
#define F(k) f[(size_t)(k) * stride]
  if (d == 1) {
    if (i == 0) return (-3 * F(0) + 4 * F(1) - F(2)) / (2 * h);
    if (i == n - 1) return (3 * F(n - 1) - 4 * F(n - 2) + F(n - 3)) / (2 * h);
    return (F(i + 1) - F(i - 1)) / (2 * h);
  }
  if (i == 0) return (2 * F(0) - 5 * F(1) + 4 * F(2) - F(3)) / (h * h);
  if (i == n - 1) return (2 * F(n - 1) - 5 * F(n - 2) + 4 * F(n - 3) - F(n - 4)) / (h * h);
  return (F(i - 1) - 2 * F(i) + F(i + 1)) / (h * h);
#undef F
}

static void findiff_reference_matches(int px, int py, const char *discretize) {
  test_physics t;
  if (setup(&t, 16, discretize, px, py)) MPI_Abort(MPI_COMM_WORLD, 1);
  const pirf_decomp *dc = &t.dc;
  const int n = dc->W;
  const double h = 1.0 / n;
  /* the whole field, on every rank (test fields are pure functions of the global pixel) */
  pirf_decomp whole = *dc;
  whole.xs = whole.ys = 0;
  whole.xm = whole.ym = n;
  float *xg = calloc((size_t)2 * n * n, sizeof *xg);
  const double off[2] = {0.0, 1.0};
  test_smooth_field(&whole, 2, 21, 0.8, off, xg);
  double *a = calloc((size_t)n * n, sizeof *a), *u = calloc((size_t)n * n, sizeof *u);
  for (int k = 0; k < n * n; k++) {
    a[k] = (xg[k] + 1.5) / 0.2;
    if (t.ph->discretize_a) a[k] = a[k] > 7.5 ? 12.0 : 3.0;
    u[k] = (xg[n * n + k] + 0.9) / 115;
  }
  size_t nt = (size_t)dc->xm * dc->ym;
  float *x = calloc(2 * nt, sizeof *x), *R = calloc(nt, sizeof *R);
  for (int c = 0; c < 2; c++)
    for (int j = 0; j < dc->ym; j++)
      for (int i = 0; i < dc->xm; i++)
        x[(c * dc->ym + j) * dc->xm + i] = xg[((size_t)c * n + dc->ys + j) * n + dc->xs + i];
  TEST_CHECK(!t.ph->pde->residual(t.ph, x, R), "residual failed");
  double d = 0, m = 0;
  for (int j = 0; j < dc->ym; j++)
    for (int i = 0; i < dc->xm; i++) {
      int gj = dc->ys + j, gi = dc->xs + i;
      const double *arow = a + (size_t)gj * n, *urow = u + (size_t)gj * n;
      double ux = table_derivative(1, urow, 1, n, gi, h), uxx = table_derivative(2, urow, 1, n, gi, h);
      double uy = table_derivative(1, u + gi, n, n, gj, h), uyy = table_derivative(2, u + gi, n, n, gj, h);
      double ax = table_derivative(1, arow, 1, n, gi, h), ay = table_derivative(1, a + gi, n, n, gj, h);
      double ref = -arow[gi] * (uxx + uyy) - ax * ux - ay * uy - 1;
      d = fmax(d, fabs(R[(size_t)j * dc->xm + i] - ref));
      m = fmax(m, fabs(ref));
    }
  MPI_Allreduce(MPI_IN_PLACE, &d, 1, MPI_DOUBLE, MPI_MAX, dc->space);
  MPI_Allreduce(MPI_IN_PLACE, &m, 1, MPI_DOUBLE, MPI_MAX, dc->space);
  if (dc->world_rank == 0) printf("%s: max |R - table| = %.3e (max |R| %.3e)\n", discretize, d, m);
  TEST_CHECK(d <= 1e-6 * m, "darcy_residual_equals_findiff_table_pixelwise (%s): max diff %.3e",
             discretize, d);
  free(xg);
  free(a);
  free(u);
  free(x);
  free(R);
  test_physics_teardown(&t);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  PetscInitialize(&argc, &argv, NULL, NULL);
  int size, rank;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int px = size >= 2 ? 2 : 1, py = size >= 4 ? 2 : 1;
  const int Rs[3] = {16, 32, 64};
  double e[3];
  for (int l = 0; l < 3; l++) {
    e[l] = analytic_error(Rs[l], px, py);
    if (rank == 0) printf("R = %3d: max |R - R_analytic| = %.4e\n", Rs[l], e[l]);
  }
  for (int l = 0; l < 2; l++) {
    double order = log2(e[l] / e[l + 1]);
    if (rank == 0) printf("observed order %d -> %d: %.3f\n", Rs[l], Rs[l + 1], order);
    TEST_CHECK(order > 1.7 && order < 2.4,
               "darcy_residual_matches_analytic_at_second_order: order %.3f between R = %d and %d",
               order, Rs[l], Rs[l + 1]);
  }
  discretized_matches_thresholded(px, py);
  findiff_reference_matches(px, py, "pde.darcy.discretize_a=false");
  findiff_reference_matches(px, py, "pde.darcy.discretize_a=true");
  int rc = test_finish("darcy_residual_matches_analytic_at_second_order");
  PetscFinalize();
  MPI_Finalize();
  return rc;
}
