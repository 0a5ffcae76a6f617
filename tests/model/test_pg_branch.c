/* PG-Diffusion's physics-gradient branch (pirf/pg_branch.h), e = Conv3x3(GELU(Conv1x1(dx))):
 *  pg_branch_is_rank_layout_invariant: forward e and the backward's ddx on this rank's tile equal
 *    the same layer computed by this rank alone on the whole field; the parameter gradients summed
 *    over the space group equal the whole-field ones (1e-5 relative). Layouts [1,1], [2,1], [2,2]
 *    at 1, 2, 4 ranks (argv may override: 4 ranks "2 1" is 2 data groups of 2 tiles).
 *  pg_branch_grad_matches_finite_difference: on the whole field, ddx, dw1, db1, dw2, db2 against
 *    central differences of <e, g> (random nonzero weights: the zero init would hide the gradients).
 * Grid 10 x 14, so tiles are uneven and the 3x3 conv's halo crosses tile edges. */
#include "nn/nn_harness.h"
#include "pirf/pg_branch.h"
#include "testing.h"

#include <petscsys.h>
#include <string.h>

enum { H = 10, W = 14, B = 2, C = 2, HC = 4 };
enum { N1 = HC * C, N2 = C * HC * 9 };

typedef struct {
  const pirf_level *L;
  float *dx, *e, *h, *g, *scratch;
  float w1[N1], b1[HC], w2[N2], b2[C];
  const float *gco; /* the cotangent of e */
} branch;

static double loss(branch *s) {
  if (pirf_pg_branch_forward(s->L, s->e, s->h, s->g, s->dx, s->w1, s->b1, s->w2, s->b2, B, C, HC,
                             s->scratch))
    MPI_Abort(MPI_COMM_WORLD, 1);
  double l = 0;
  for (size_t k = 0; k < (size_t)B * C * s->L->xm * s->L->ym; k++) l += (double)s->e[k] * s->gco[k];
  return l;
}

static void setup(branch *s, const pirf_level *L, float *gco) {
  const size_t nx = (size_t)B * C * L->xm * L->ym, nh = (size_t)B * HC * L->xm * L->ym;
  s->L = L;
  s->dx = nn_alloc(nx), s->e = nn_alloc_dirty(nx), s->h = nn_alloc_dirty(nh);
  s->g = nn_alloc_dirty(nh), s->scratch = nn_alloc_dirty(pirf_pg_branch_scratch_floats(L, B, C, HC));
  nn_fill_tile(L, B * C, 3, s->dx);
  nn_fill_tile(L, B * C, 4, gco);
  s->gco = gco;
  nn_fill_vec(N1, 5, s->w1), nn_fill_vec(HC, 6, s->b1), nn_fill_vec(N2, 7, s->w2);
  nn_fill_vec(C, 8, s->b2);
}

static void teardown(branch *s) { free(s->dx), free(s->e), free(s->h), free(s->g), free(s->scratch); }

typedef struct {
  float *ddx, dw1[N1], db1[HC], dw2[N2], db2[C];
} grads;

static void backward(branch *s, grads *d) {
  const size_t nh = (size_t)B * HC * s->L->xm * s->L->ym;
  float *g2 = nn_alloc_dirty(nh), *dg = nn_alloc_dirty(nh);
  memset(d->dw1, 0, sizeof d->dw1), memset(d->db1, 0, sizeof d->db1);
  memset(d->dw2, 0, sizeof d->dw2), memset(d->db2, 0, sizeof d->db2);
  loss(s);
  if (pirf_pg_branch_backward(s->L, d->ddx, d->dw1, d->db1, d->dw2, d->db2, s->gco, s->dx, s->h,
                              g2, dg, s->w1, s->w2, B, C, HC, s->scratch))
    MPI_Abort(MPI_COMM_WORLD, 1);
  free(g2), free(dg);
}

static void close_vec(const char *what, const float *a, const float *ref, size_t n) {
  double d = 0, m = 0;
  for (size_t k = 0; k < n; k++) d = fmax(d, fabs((double)a[k] - ref[k])), m = fmax(m, fabs(ref[k]));
  MPI_Allreduce(MPI_IN_PLACE, &d, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &m, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  TEST_CHECK(m > 0 && d <= 1e-5 * m, "pg_branch_is_rank_layout_invariant: %s differs by %.3g "
             "(max %.3g)", what, d, m);
}

/* central differences of loss() over v[n] against the analytic a[n] */
static void fd(const char *what, branch *s, float *v, size_t n, const float *a) {
  double fmaxv = 0, worst = 0;
  double *f = calloc(n, sizeof *f);
  for (size_t k = 0; k < n; k++) {
    const float v0 = v[k], vp = v0 + 1e-2f, vm = v0 - 1e-2f;
    v[k] = vp;
    const double lp = loss(s);
    v[k] = vm;
    const double lm = loss(s);
    v[k] = v0;
    f[k] = (lp - lm) / ((double)vp - vm);
    fmaxv = fmax(fmaxv, fabs(f[k]));
  }
  int bad = 0;
  for (size_t k = 0; k < n; k++) {
    const double err = fabs(f[k] - a[k]), tol = 2e-3 * fabs(f[k]) + 1e-3 * fmaxv;
    worst = fmax(worst, err / tol);
    if (err > tol && bad++ < 5)
      fprintf(stderr, "  %s[%zu]: finite difference %.7g, analytic %.7g\n", what, k, f[k], a[k]);
  }
  TEST_CHECK(bad == 0 && fmaxv > 0, "pg_branch_grad_matches_finite_difference: %s differs at %d "
             "of %zu entries (worst err/tol %.3g)", what, bad, n, worst);
  free(f);
}

int main(int argc, char **argv) {
  PetscInitialize(&argc, &argv, NULL, NULL);
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int px, py;
  nn_layout(argc, argv, size, &px, &py);
  pirf_decomp tiled, whole;
  if (pirf_decomp_create(MPI_COMM_WORLD, H, W, px, py, 1, &tiled) ||
      pirf_decomp_create(MPI_COMM_WORLD, H, W, 1, 1, 1, &whole))
    MPI_Abort(MPI_COMM_WORLD, 1);
  pirf_level Lt, Lw;
  pirf_level_init(&Lt, &tiled, 0);
  pirf_level_init(&Lw, &whole, 0);
  const size_t nt = (size_t)B * C * Lt.xm * Lt.ym, nw = (size_t)B * C * Lw.xm * Lw.ym;
  float *gT = nn_alloc(nt), *gW = nn_alloc(nw);
  branch sT, sW;
  setup(&sT, &Lt, gT);
  setup(&sW, &Lw, gW);
  grads dT = {nn_alloc(nt)}, dW = {nn_alloc(nw)};
  backward(&sT, &dT);
  backward(&sW, &dW);
  /* layout: the tiled results against the whole field's */
  float *cut = nn_alloc(nt);
  loss(&sW), loss(&sT);
  nn_cut_tile(&Lt, B * C, sW.e, cut);
  close_vec("e", sT.e, cut, nt);
  nn_cut_tile(&Lt, B * C, dW.ddx, cut);
  close_vec("ddx", dT.ddx, cut, nt);
  float *sums[4] = {dT.dw1, dT.db1, dT.dw2, dT.db2};
  const float *refs[4] = {dW.dw1, dW.db1, dW.dw2, dW.db2};
  const int counts[4] = {N1, HC, N2, C};
  const char *names[4] = {"dw1", "db1", "dw2", "db2"};
  for (int i = 0; i < 4; i++) {
    MPI_Allreduce(MPI_IN_PLACE, sums[i], counts[i], MPI_FLOAT, MPI_SUM, tiled.space);
    close_vec(names[i], sums[i], refs[i], (size_t)counts[i]);
  }
  /* finite differences on the whole field */
  fd("ddx", &sW, sW.dx, nw, dW.ddx);
  fd("dw1", &sW, sW.w1, N1, dW.dw1);
  fd("db1", &sW, sW.b1, HC, dW.db1);
  fd("dw2", &sW, sW.w2, N2, dW.dw2);
  fd("db2", &sW, sW.b2, C, dW.db2);
  teardown(&sT), teardown(&sW);
  free(gT), free(gW), free(dT.ddx), free(dW.ddx), free(cut);
  pirf_decomp_destroy(&tiled);
  pirf_decomp_destroy(&whole);
  char title[96];
  snprintf(title, sizeof title, "pg_branch [%d x %d tiles, %d ranks]", px, py, size);
  int rc = test_finish(title);
  PetscFinalize();
  return rc;
}
