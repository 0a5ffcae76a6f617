/* kolmogorov residual (docs/algorithm.md §5.5), on the tiled layout of 1, 2 or 4 ranks ([1,1], [2,1], [2,2]):
 *
 *  residual_of_fourier_field_matches_analytic:
 *      w1 = c0 + 6 cos x + 6 cos 2y, w0/w2 = w1 -/+ 0.1 g (g = sin x + cos 3y): every derivative is
 *      exact, so R = 0.1 g / dt - 54 sin x sin 2y + (6 cos x + 24 cos 2y + c0) / re
 *      + 0.1 w1 + 4 cos 4y (the mean mode of WLAP is -c0 because lap(0,0) = 1).
 *  residual_keeps_reference_nyquist_convention:
 *      w = b (-1)^a cos y + c cos 2y (a = row): the row Nyquist mode kx = -R/2 is kept in the
 *      column bins 1..R/2-1 (only bins 0 and R/2 lose their imaginary part), which gives
 *      U WX + V WY = b c R (-1)^a sin y sin 2y (1/lap1 - 1/4), lap1 = R^2/4 + 1; a symmetric
 *      treatment of the Nyquist mode would give 0.
 *  residual_of_laminar_state_is_zero:
 *      w = -famp cos(4y) / (16/re + drag) in every frame.
 *  residual_adjoint_is_exact_on_rough_fields:
 *      <J v, w> (central difference, exact for the quadratic R) = <v, J^T w> for white-noise x, v, w
 *      (every mode, the Nyquist ones included). */
#include "physics_harness.h"
#include "testing.h"

static const double RE = 1000, DRAG = 0.1, DT = 1.0 / 32, SC = 12;

typedef double (*field_fn)(int c, int a, int b, int R);

static void fill(const pirf_decomp *dc, int C, field_fn fn, float *x) {
  for (int c = 0; c < C; c++)
    for (int j = 0; j < dc->ym; j++)
      for (int i = 0; i < dc->xm; i++)
        x[((size_t)c * dc->ym + j) * dc->xm + i] = (float)(fn(c, dc->ys + j, dc->xs + i, dc->H) / SC);
}

#define XY                                                                                          \
  double x = 2 * M_PI * a / R, y = 2 * M_PI * b / R;                                                \
  (void)x;                                                                                          \
  (void)y

static const double C0 = 0.7, DELTA = 0.1;
static double fourier_w(int c, int a, int b, int R) {
  XY;
  double w1 = C0 + 6 * cos(x) + 6 * cos(2 * y), g = sin(x) + cos(3 * y);
  return w1 + (c - 1) * DELTA * g;
}
static double fourier_R(int c, int a, int b, int R) {
  XY;
  double w1 = C0 + 6 * cos(x) + 6 * cos(2 * y), g = sin(x) + cos(3 * y);
  return DELTA * g / DT - 54 * sin(x) * sin(2 * y) + (6 * cos(x) + 24 * cos(2 * y) + C0) / RE +
         DRAG * w1 + 4 * cos(4 * y);
}

static const double NB = 0.5, NC = 6;
static double nyquist_w(int c, int a, int b, int R) {
  XY;
  return NB * (a % 2 ? -1 : 1) * cos(y) + NC * cos(2 * y);
}
static double nyquist_R(int c, int a, int b, int R) {
  XY;
  double s = a % 2 ? -1 : 1, lap1 = R * R / 4.0 + 1;
  double adv = NB * NC * R * s * sin(y) * sin(2 * y) * (1 / lap1 - 0.25);
  return adv + (lap1 * NB * s * cos(y) + 4 * NC * cos(2 * y)) / RE +
         DRAG * (NB * s * cos(y) + NC * cos(2 * y)) + 4 * cos(4 * y);
}

static double laminar_w(int c, int a, int b, int R) {
  XY;
  return -4 * cos(4 * y) / (16 / RE + DRAG);
}
static double zero_R(int c, int a, int b, int R) { return 0; }

static void check_case(test_physics *t, field_fn w, field_fn Rexact, double tol, const char *name) {
  const pirf_decomp *dc = &t->dc;
  size_t n = (size_t)dc->xm * dc->ym;
  float *x = calloc(3 * n, 4), *R = calloc(n, 4), *E = calloc(n, 4);
  fill(dc, 3, w, x);
  fill(dc, 1, Rexact, E);
  int err = t->ph->pde->residual(t->ph, x, R);
  TEST_CHECK(!err, "%s: residual returned an error", name);
  double dmax = 0, emax = 0;
  for (size_t k = 0; k < n; k++) {
    dmax = fmax(dmax, fabs(R[k] - SC * E[k]));
    emax = fmax(emax, fabs(SC * E[k]));
  }
  MPI_Allreduce(MPI_IN_PLACE, &dmax, 1, MPI_DOUBLE, MPI_MAX, dc->space);
  MPI_Allreduce(MPI_IN_PLACE, &emax, 1, MPI_DOUBLE, MPI_MAX, dc->space);
  TEST_CHECK(dmax <= tol * fmax(emax, 1.0), "%s: max |R - exact| = %.3g, max |exact| = %.3g", name,
             dmax, emax);
  if (dc->world_rank == 0) printf("%s: max |R - exact| = %.3g (max |exact| %.3g)\n", name, dmax, emax);
  free(x);
  free(R);
  free(E);
}

static void white(const pirf_decomp *dc, int C, uint32_t key, double amp, float *x) {
  for (int c = 0; c < C; c++)
    for (int j = 0; j < dc->ym; j++)
      for (int i = 0; i < dc->xm; i++)
        x[((size_t)c * dc->ym + j) * dc->xm + i] =
            (float)(amp * pirf_rng_normal(key, PIRF_STREAM_TEST, 0, 0, (uint32_t)c,
                                          (uint32_t)((dc->ys + j) * dc->W + dc->xs + i)));
}

static void check_adjoint(test_physics *t) {
  const pirf_decomp *dc = &t->dc;
  const pirf_pde *pde = t->ph->pde;
  size_t n = (size_t)dc->xm * dc->ym;
  float *x = calloc(3 * n, 4), *v = calloc(3 * n, 4), *w = calloc(n, 4), *xp = calloc(3 * n, 4),
        *xm = calloc(3 * n, 4), *Rp = calloc(n, 4), *Rm = calloc(n, 4), *xbar = calloc(3 * n, 4);
  white(dc, 3, 21, 0.5, x);
  white(dc, 3, 22, 1.0, v);
  white(dc, 1, 23, 1.0, w);
  const double eps = 0.125; /* a power of two: x +- eps v rounds the same way on both sides */
  for (size_t k = 0; k < 3 * n; k++) {
    xp[k] = (float)(x[k] + eps * v[k]);
    xm[k] = (float)(x[k] - eps * v[k]);
  }
  int err = pde->residual(t->ph, xp, Rp) || pde->residual(t->ph, xm, Rm) ||
            pde->residual_adjoint(t->ph, x, w, xbar);
  TEST_CHECK(!err, "residual or adjoint returned an error");
  double lhs = (test_dot(dc, n, Rp, w) - test_dot(dc, n, Rm, w)) / (2 * eps);
  double rhs = test_dot(dc, 3 * n, v, xbar);
  TEST_CLOSE(rhs, lhs, 1e-5, 0.0, "residual_adjoint_is_exact_on_rough_fields");
  if (dc->world_rank == 0)
    printf("rough fields: <J v, w> = %.12g, <v, J^T w> = %.12g, rel diff %.3g\n", lhs, rhs,
           fabs(lhs - rhs) / fabs(lhs));
  free(x); free(v); free(w); free(xp); free(xm); free(Rp); free(Rm); free(xbar);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  PetscInitialize(&argc, &argv, NULL, NULL);
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int px = size >= 2 ? 2 : 1, py = size >= 4 ? 2 : 1;
  char *over[] = {"pde.name=kolmogorov", "grid.resolution=32"};
  test_physics t;
  if (test_physics_setup(&t, MPI_COMM_WORLD, px, py, 2, over)) MPI_Abort(MPI_COMM_WORLD, 1);
  check_case(&t, fourier_w, fourier_R, 2e-5, "residual_of_fourier_field_matches_analytic");
  check_case(&t, nyquist_w, nyquist_R, 2e-5, "residual_keeps_reference_nyquist_convention");
  check_case(&t, laminar_w, zero_R, 1e-5, "residual_of_laminar_state_is_zero");
  check_adjoint(&t);
  test_physics_teardown(&t);
  int rc = test_finish("kolmogorov_residual");
  PetscFinalize();
  MPI_Finalize();
  return rc;
}
