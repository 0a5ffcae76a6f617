/* The Burgers residual (docs/algorithm.md §5.4) on analytic fields, on the deck's tile layout
 * (1 rank: [1,1]; 4 ranks: [2,2]; the expected values are computed on the whole grid here).
 *
 *  burgers_residual_matches_clamped_stencils_everywhere:
 *      R at every pixel, edges included, equals an independent whole-grid evaluation of the coded
 *      formula (replicate: indices clamped, u_xx from the clamped u_x; periodic: x wrapped), for
 *      both paddings and both residual_dt rules.
 *  burgers_residual_is_exact_for_quadratic_fields_in_the_interior:
 *      for u quadratic in (t, x) every stencil is exact, so away from the edges R equals
 *      u_t + u u_x - nu u_xx of the analytic u (t_n = n dt, x_j = j dx).
 *  burgers_residual_converges_at_second_order:
 *      on a smooth periodic field with the periodic padding, the interior-row error against the
 *      analytic residual falls by ~4 from R = 32 to R = 64.
 *  burgers_replicate_edge_rule_halves_u_x:
 *      at column 0 the replicate rule's u_x is (u[1] - u[0]) / (2 dx), checked on u = x. */
#include "physics_harness.h"
#include "testing.h"

#include <string.h>

static const double NU = 0.01, SCALE = 1.415;

typedef double (*field_fn)(double t, double x, double *ut, double *ux, double *uxx);

static double quadratic(double t, double x, double *ut, double *ux, double *uxx) {
  *ut = -0.7 + 0.8 * t + 0.3 * x;
  *ux = 1.1 - 1.2 * x + 0.3 * t;
  *uxx = -1.2;
  return 0.2 + 1.1 * x - 0.6 * x * x - 0.7 * t + 0.4 * t * t + 0.3 * x * t;
}

static double smooth(double t, double x, double *ut, double *ux, double *uxx) {
  double k = 2 * M_PI, w = 1.3, s = sin(k * x + 0.4), c = cos(k * x + 0.4), e = cos(w * t);
  *ut = -0.5 * w * sin(w * t) * s;
  *ux = 0.5 * k * e * c;
  *uxx = -0.5 * k * k * e * s;
  return 0.5 * e * s;
}

static double identity_x(double t, double x, double *ut, double *ux, double *uxx) {
  *ut = 0;
  *ux = 1;
  *uxx = 0;
  return x;
}

typedef struct {
  int R, px, py;
  const char *padding, *dt_rule;
} setup_args;

static int make(test_physics *t, const setup_args *a) {
  char res[64], pad[64], dt[64];
  snprintf(res, sizeof res, "grid.resolution=%d", a->R);
  snprintf(pad, sizeof pad, "pde.burgers.padding=%s", a->padding);
  snprintf(dt, sizeof dt, "pde.burgers.residual_dt=%s", a->dt_rule);
  char name[] = "pde.name=burgers";
  char *over[] = {name, res, pad, dt};
  return test_physics_setup(t, MPI_COMM_WORLD, a->px, a->py, 4, over);
}

/* The residual's time step for the rule. */
static double rule_dt(const setup_args *a) {
  return strcmp(a->dt_rule, "data") ? 1.0 / a->R : 1.0 / (a->R - 1);
}

/* Fill the whole grid of normalized values x = u / 1.415 (float, as the network stores them) with
 * u(n dt, j dx). */
static float *whole_field(const setup_args *a, field_fn f) {
  int R = a->R;
  float *x = malloc(sizeof(float) * R * R);
  double d1, d2, d3;
  for (int n = 0; n < R; n++)
    for (int j = 0; j < R; j++) x[n * R + j] = (float)(f(n * rule_dt(a), (double)j / R, &d1, &d2, &d3) / SCALE);
  return x;
}

/* The coded formula on the whole grid, written straight from the spec. */
static void reference_residual(const setup_args *a, const float *x, double *Rref) {
  const int R = a->R, per = !strcmp(a->padding, "periodic");
  const double dx = 1.0 / R, dt = rule_dt(a);
  double *u = malloc(sizeof(double) * R * R), *ux = malloc(sizeof(double) * R * R);
#define CX(j) (per ? ((j) + R) % R : ((j) < 0 ? 0 : (j) > R - 1 ? R - 1 : (j)))
#define CT(n) ((n) < 0 ? 0 : (n) > R - 1 ? R - 1 : (n))
  for (int k = 0; k < R * R; k++) u[k] = SCALE * x[k];
  for (int n = 0; n < R; n++)
    for (int j = 0; j < R; j++) ux[n * R + j] = (u[n * R + CX(j + 1)] - u[n * R + CX(j - 1)]) / (2 * dx);
  for (int n = 0; n < R; n++)
    for (int j = 0; j < R; j++) {
      double ut = (u[CT(n + 1) * R + j] - u[CT(n - 1) * R + j]) / (2 * dt);
      double uxx = (ux[n * R + CX(j + 1)] - ux[n * R + CX(j - 1)]) / (2 * dx);
      Rref[n * R + j] = ut + u[n * R + j] * ux[n * R + j] - NU * uxx;
    }
#undef CX
#undef CT
  free(u);
  free(ux);
}

/* R of pirf on the tile layout, gathered to the whole grid on every rank. */
static int pirf_residual_whole(test_physics *t, const float *xw, double *Rw) {
  const pirf_decomp *dc = &t->dc;
  int R = dc->W;
  float *x = malloc(sizeof(float) * dc->xm * dc->ym), *Rt = malloc(sizeof(float) * dc->xm * dc->ym);
  for (int j = 0; j < dc->ym; j++)
    for (int i = 0; i < dc->xm; i++) x[j * dc->xm + i] = xw[(dc->ys + j) * R + dc->xs + i];
  int err = t->ph->pde->residual(t->ph, x, Rt);
  for (int k = 0; k < R * R; k++) Rw[k] = 0;
  for (int j = 0; j < dc->ym; j++)
    for (int i = 0; i < dc->xm; i++) Rw[(dc->ys + j) * R + dc->xs + i] = Rt[j * dc->xm + i];
  MPI_Allreduce(MPI_IN_PLACE, Rw, R * R, MPI_DOUBLE, MPI_SUM, dc->space);
  free(x);
  free(Rt);
  return err;
}

/* Max |R - analytic| over rows [r0, R-r0) and columns [c0, R-c0). */
static double interior_error(const setup_args *a, field_fn f, const double *Rw, int r0, int c0) {
  double e = 0, ut, ux, uxx;
  for (int n = r0; n < a->R - r0; n++)
    for (int j = c0; j < a->R - c0; j++) {
      double u = f(n * rule_dt(a), (double)j / a->R, &ut, &ux, &uxx);
      e = fmax(e, fabs(Rw[n * a->R + j] - (ut + u * ux - NU * uxx)));
    }
  return e;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  PetscInitialize(&argc, &argv, NULL, NULL);
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const int px = size >= 2 ? 2 : 1, py = size >= 4 ? 2 : 1;
  const char *pads[] = {"replicate", "periodic"}, *rules[] = {"code", "data"};

  for (int p = 0; p < 2; p++)
    for (int r = 0; r < 2; r++) {
      setup_args a = {32, px, py, pads[p], rules[r]};
      test_physics t;
      if (make(&t, &a)) MPI_Abort(MPI_COMM_WORLD, 1);
      double *Rw = malloc(sizeof(double) * 32 * 32), *Rref = malloc(sizeof(double) * 32 * 32);
      field_fn fields[] = {quadratic, smooth};
      for (int fi = 0; fi < 2; fi++) {
        float *xw = whole_field(&a, fields[fi]);
        TEST_CHECK(!pirf_residual_whole(&t, xw, Rw), "residual returned an error");
        reference_residual(&a, xw, Rref);
        double d = 0, m = 0;
        for (int k = 0; k < 32 * 32; k++) {
          d = fmax(d, fabs(Rw[k] - Rref[k]));
          m = fmax(m, fabs(Rref[k]));
        }
        TEST_CHECK(d <= 1e-5 * m,
                   "burgers_residual_matches_clamped_stencils_everywhere[%s, dt %s, field %d]: "
                   "max |diff| %.3g vs max |R| %.3g",
                   a.padding, a.dt_rule, fi, d, m);
        if (fi == 0) {
          /* Interior: rows 1..R-2 (u_t), columns 2..R-3 (u_xx's wide stencil). */
          double e = interior_error(&a, quadratic, Rw, 1, 2);
          TEST_CHECK(e <= 1e-4 * m, "burgers_residual_is_exact_for_quadratic_fields_in_the_interior"
                     "[%s, dt %s]: max error %.3g (max |R| %.3g)", a.padding, a.dt_rule, e, m);
        }
        free(xw);
      }
      free(Rw);
      free(Rref);
      test_physics_teardown(&t);
    }

  /* Second order: periodic padding, so only the first and last rows (clamped in time) differ. */
  double err[2];
  for (int s = 0; s < 2; s++) {
    setup_args a = {32 << s, px, py, "periodic", "code"};
    test_physics t;
    if (make(&t, &a)) MPI_Abort(MPI_COMM_WORLD, 1);
    double *Rw = malloc(sizeof(double) * a.R * a.R);
    float *xw = whole_field(&a, smooth);
    TEST_CHECK(!pirf_residual_whole(&t, xw, Rw), "residual returned an error");
    err[s] = interior_error(&a, smooth, Rw, 1, 0);
    free(xw);
    free(Rw);
    test_physics_teardown(&t);
  }
  if (test_rank_() == 0) printf("smooth field: interior error %.3e (R = 32), %.3e (R = 64), ratio %.2f\n",
                                err[0], err[1], err[0] / err[1]);
  TEST_CHECK(err[0] / err[1] > 3.5 && err[0] / err[1] < 4.5,
             "burgers_residual_converges_at_second_order: error ratio %.2f (expected ~4)",
             err[0] / err[1]);

  /* The replicate edge rule on u = x: u_x[0] = (u[1] - u[0]) / (2 dx) = 1/2, so R[n, 0] = u u_x
   * - nu u_xx with u = 0 there: R = -nu u_xx, u_xx[0] = (u_x[1] - u_x[0]) / (2 dx) = R / 4. */
  {
    setup_args a = {32, px, py, "replicate", "code"};
    test_physics t;
    if (make(&t, &a)) MPI_Abort(MPI_COMM_WORLD, 1);
    double *Rw = malloc(sizeof(double) * 32 * 32);
    float *xw = whole_field(&a, identity_x);
    TEST_CHECK(!pirf_residual_whole(&t, xw, Rw), "residual returned an error");
    double expect = -NU * 32 / 4.0;
    for (int n = 0; n < 32; n += 31)
      TEST_CLOSE(Rw[n * 32], expect, 1e-5, 1e-7, "burgers_replicate_edge_rule_halves_u_x");
    free(xw);
    free(Rw);
    test_physics_teardown(&t);
  }
  int rc = test_finish("burgers_residual");
  PetscFinalize();
  MPI_Finalize();
  return rc;
}
