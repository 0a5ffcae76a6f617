/* For one PDE (argv[1]) and resolution (argv[2]), with optional deck overrides after them:
 *
 *  residual_adjoint_matches_directional_derivative:
 *      <(R(x + e v) - R(x - e v)) / 2e, w>  ==  <v, J^T w>.  Every residual is at most quadratic in
 *      x, so the central difference is exact up to rounding and a wrong adjoint term shows.
 *  residual_and_adjoint_match_single_rank:
 *      R and J^T w computed on the tiled layout (all ranks on one sample) equal the values computed
 *      by one rank on the whole field (each rank its own data group), pixel by pixel.
 *
 * Run at 1, 2 and 4 ranks: tiles [1,1], [2,1] and [2,2].
 *
 * Harness options (before or among the overrides; not deck keys):
 *   --perturb=C0,C1,...      perturb only these input channels (default: all). For a residual that
 *                            is only piecewise smooth in some channel (a thresholded coefficient),
 *                            a perturbation of that channel can cross the threshold.
 *   --zero-adjoint=C0,...    adjoint_is_exactly_zero_for_channels: J^T w must be exactly 0 in these
 *                            input channels (the residual does not depend on them). */
#include "physics_harness.h"
#include "testing.h"

#include <string.h>

static void layout_for(int size, int *px, int *py) {
  *px = size >= 2 ? 2 : 1;
  *py = size >= 4 ? 2 : 1;
}

/* "--name=0,2" -> mask[c] = 1 for the listed channels; returns 1 if arg is that option. */
static int channel_option(const char *arg, const char *name, int *mask) {
  size_t n = strlen(name);
  if (strncmp(arg, name, n) || arg[n] != '=') return 0;
  for (int c = 0; c < PIRF_MAX_CHANNELS; c++) mask[c] = 0;
  for (const char *p = arg + n + 1; *p;) {
    char *end;
    long c = strtol(p, &end, 10);
    if (end == p || c < 0 || c >= PIRF_MAX_CHANNELS) {
      fprintf(stderr, "bad channel list in '%s'\n", arg);
      exit(2);
    }
    mask[c] = 1;
    p = *end == ',' ? end + 1 : end;
  }
  return 1;
}

static void fields(test_physics *t, const int *perturb, float *x, float *v, float *w) {
  const pirf_pde *pde = t->ph->pde;
  double off[PIRF_MAX_CHANNELS] = {0};
  test_smooth_field(&t->dc, pde->channels, 11, 0.8, off, x);
  test_smooth_field(&t->dc, pde->channels, 12, 1.0, NULL, v);
  test_smooth_field(&t->dc, pde->residual_channels, 13, 1.0, NULL, w);
  size_t n = (size_t)t->dc.xm * t->dc.ym;
  for (int c = 0; c < pde->channels; c++)
    if (!perturb[c])
      for (size_t k = 0; k < n; k++) v[c * n + k] = 0.0f;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  PetscInitialize(&argc, &argv, NULL, NULL);
  if (argc < 3) {
    fprintf(stderr, "usage: %s PDE RESOLUTION [key=value ...]\n", argv[0]);
    return 2;
  }
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  char pde_kv[64], res_kv[64];
  snprintf(pde_kv, sizeof pde_kv, "pde.name=%s", argv[1]);
  snprintf(res_kv, sizeof res_kv, "grid.resolution=%s", argv[2]);
  int perturb[PIRF_MAX_CHANNELS], zero_adj[PIRF_MAX_CHANNELS] = {0};
  for (int c = 0; c < PIRF_MAX_CHANNELS; c++) perturb[c] = 1;
  char **over = calloc((size_t)argc, sizeof *over);
  int nover = 0;
  over[nover++] = pde_kv;
  over[nover++] = res_kv;
  for (int i = 3; i < argc; i++)
    if (!channel_option(argv[i], "--perturb", perturb) &&
        !channel_option(argv[i], "--zero-adjoint", zero_adj))
      over[nover++] = argv[i];

  int px, py;
  layout_for(size, &px, &py);
  test_physics tiled, whole;
  if (test_physics_setup(&tiled, MPI_COMM_WORLD, px, py, nover, over) ||
      test_physics_setup(&whole, MPI_COMM_WORLD, 1, 1, nover, over)) {
    fprintf(stderr, "set-up failed\n");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  const pirf_pde *pde = tiled.ph->pde;
  const int C = pde->channels, Cr = pde->residual_channels;
  size_t nt = (size_t)tiled.dc.xm * tiled.dc.ym, nw = (size_t)whole.dc.xm * whole.dc.ym;

  /* ---- directional derivative vs adjoint, on the tiled layout -------------------------------- */
  float *x = calloc(C * nt, 4), *v = calloc(C * nt, 4), *w = calloc(Cr * nt, 4);
  float *xp = calloc(C * nt, 4), *xm_ = calloc(C * nt, 4), *Rp = calloc(Cr * nt, 4),
        *Rm = calloc(Cr * nt, 4), *xbar = calloc(C * nt, 4), *R = calloc(Cr * nt, 4);
  fields(&tiled, perturb, x, v, w);
  const double eps = 0.05;
  for (size_t k = 0; k < C * nt; k++) {
    xp[k] = (float)(x[k] + eps * v[k]);
    xm_[k] = (float)(x[k] - eps * v[k]);
  }
  int err = pde->residual(tiled.ph, xp, Rp) || pde->residual(tiled.ph, xm_, Rm) ||
            pde->residual_adjoint(tiled.ph, x, w, xbar) || pde->residual(tiled.ph, x, R);
  TEST_CHECK(!err, "residual or adjoint returned an error");
  double lhs = (test_dot(&tiled.dc, Cr * nt, Rp, w) - test_dot(&tiled.dc, Cr * nt, Rm, w)) / (2 * eps);
  double rhs = test_dot(&tiled.dc, C * nt, v, xbar);
  double scale = sqrt(test_dot(&tiled.dc, Cr * nt, R, R) * test_dot(&tiled.dc, Cr * nt, w, w)) / eps;
  TEST_CLOSE(rhs, lhs, 2e-3, 1e-6 * scale, "residual_adjoint_matches_directional_derivative");
  if (tiled.dc.world_rank == 0)
    printf("%s: <dR v, w> = %.9g, <v, J^T w> = %.9g\n", pde->name, lhs, rhs);

  /* ---- channels the residual does not depend on --------------------------------------------- */
  for (int c = 0; c < C; c++) {
    if (!zero_adj[c]) continue;
    unsigned long nonzero = 0;
    for (size_t k = 0; k < nt; k++) nonzero += xbar[c * nt + k] != 0.0f;
    MPI_Allreduce(MPI_IN_PLACE, &nonzero, 1, MPI_UNSIGNED_LONG, MPI_SUM, MPI_COMM_WORLD);
    TEST_CHECK(nonzero == 0, "adjoint_is_exactly_zero_for_channel %d: %lu nonzero values", c, nonzero);
  }

  /* ---- tiled vs one rank on the whole field ------------------------------------------------- */
  float *xw = calloc(C * nw, 4), *vw = calloc(C * nw, 4), *ww = calloc(Cr * nw, 4),
        *Rw = calloc(Cr * nw, 4), *xbarw = calloc(C * nw, 4);
  fields(&whole, perturb, xw, vw, ww);
  err = pde->residual(whole.ph, xw, Rw) || pde->residual_adjoint(whole.ph, xw, ww, xbarw);
  TEST_CHECK(!err, "whole-field residual or adjoint returned an error");
  double maxR = 0, maxA = 0, dR = 0, dA = 0;
  for (int j = 0; j < tiled.dc.ym; j++)
    for (int i = 0; i < tiled.dc.xm; i++) {
      size_t gt = (size_t)j * tiled.dc.xm + i;
      size_t gw = (size_t)(tiled.dc.ys + j) * whole.dc.xm + (tiled.dc.xs + i);
      for (int c = 0; c < Cr; c++) {
        maxR = fmax(maxR, fabs(Rw[c * nw + gw]));
        dR = fmax(dR, fabs(R[c * nt + gt] - Rw[c * nw + gw]));
      }
      for (int c = 0; c < C; c++) {
        maxA = fmax(maxA, fabs(xbarw[c * nw + gw]));
        dA = fmax(dA, fabs(xbar[c * nt + gt] - xbarw[c * nw + gw]));
      }
    }
  TEST_CHECK(dR <= 1e-5 * maxR, "residual_matches_single_rank: max |diff| %.3g vs max |R| %.3g", dR, maxR);
  TEST_CHECK(dA <= 1e-5 * maxA, "adjoint_matches_single_rank: max |diff| %.3g vs max |J^T w| %.3g", dA, maxA);

  free(x); free(v); free(w); free(xp); free(xm_); free(Rp); free(Rm); free(xbar); free(R);
  free(xw); free(vw); free(ww); free(Rw); free(xbarw); free(over);
  test_physics_teardown(&tiled);
  test_physics_teardown(&whole);
  char name[128];
  snprintf(name, sizeof name, "residual_adjoint[%s]", argv[1]);
  int rc = test_finish(name);
  PetscFinalize();
  MPI_Finalize();
  return rc;
}
