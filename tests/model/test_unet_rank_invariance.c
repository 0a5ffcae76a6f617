/* denoiser_is_rank_layout_invariant: the preconditioned network's output D, the input gradient
 * and ALL parameter gradients (reduced with pirf_unet_grad_allreduce) on every rank layout that
 * fits the job (tiles [1,1], [2,1], [1,2], [2,2] times data groups) agree with a single-rank
 * reference computed in the same run on a [1,1] decomposition of MPI_COMM_SELF, to 1e-5
 * relative. At 4 ranks this covers 2x2 tiles and 2 data groups x 2 tiles. A global batch of 4
 * samples (per-sample sigma) is split over the data groups; each layout runs once with dropout off
 * and once with dropout on (masks keyed by the global sample, so the reference sees the same).
 * Also: a forward without tape gives the same D as a taped one. */
#include "pirf/check.h"
#include "pirf/precond.h"
#include "pirf/unet_eval.h"
#include "model_harness.h"
#include "testing.h"

#include <string.h>

#define NTOT 4
#define TOL 1e-5

typedef struct {
  float *D, *dx, *g;
} result;

/* D, dx and the reduced parameter gradients for this rank's samples on decomposition dc. */
static int evaluate(const pirf_unet *net, const pirf_decomp *dc, const float *params, int dropout,
                    result *res, long *first_out, long *count_out) {
  long first, count;
  pirf_decomp_samples(dc, NTOT, &first, &count);
  pirf_level L0;
  pirf_level_init(&L0, dc, 0);
  const size_t nx = (size_t)count * 2 * L0.xm * L0.ym, P = net->table.total;
  pirf_unet_work *w;
  pirf_unet_tape *t;
  PIRF_TRY(pirf_unet_work_create(net, dc, (int)count, 1, &w));
  PIRF_TRY(pirf_unet_tape_create(net, dc, (int)count, &t));
  float *x = model_alloc(nx), *r = model_alloc(nx), *D2 = model_alloc(nx);
  model_fill_tile(&L0, (int)count, first, 2, 1, x);
  model_fill_tile(&L0, (int)count, first, 2, 2, r);
  double sigma[NTOT];
  for (long b = 0; b < count; b++) sigma[b] = 0.3 * (double)(first + b + 1); /* per sample */
  pirf_unet_dropout drop = {.seed = 11, .step = 5, .sample0 = (uint32_t)first};
  res->D = model_alloc(nx);
  res->dx = model_alloc(nx);
  res->g = model_alloc(P);
  PIRF_TRY(pirf_edm_denoise(net, w, t, params, x, sigma, (int)count, dropout ? &drop : NULL, res->D));
  PIRF_TRY(pirf_edm_denoise_backward(net, w, t, params, r, res->g, 0, net->table.n, res->dx));
  PIRF_TRY(pirf_unet_grad_allreduce(dc, res->g, 0, P));
  /* the same forward without a tape */
  PIRF_TRY(pirf_edm_denoise(net, w, NULL, params, x, sigma, (int)count, dropout ? &drop : NULL, D2));
  size_t differ = 0;
  for (size_t k = 0; k < nx; k++) differ += D2[k] != res->D[k];
  TEST_CHECK(differ == 0, "forward without tape differs from the taped one in %zu values", differ);
  free(x); free(r); free(D2);
  pirf_unet_tape_destroy(&t);
  pirf_unet_work_destroy(&w);
  *first_out = first;
  *count_out = count;
  return 0;
}

/* max |a - ref| / max |ref| over this rank's tile of samples [first, first+count) */
static double tile_error(const pirf_level *L, const pirf_level *Lref, long first, long count,
                         const float *a, const float *ref) {
  double diff = 0, scale = 0;
  for (long b = 0; b < count; b++)
    for (int c = 0; c < 2; c++)
      for (int i = 0; i < L->ym; i++)
        for (int j = 0; j < L->xm; j++) {
          double u = a[(((size_t)b * 2 + c) * L->ym + i) * L->xm + j];
          double v = ref[(((size_t)(first + b) * 2 + c) * Lref->ym + L->ys + i) * Lref->xm + L->xs + j];
          diff = fmax(diff, fabs(u - v));
          scale = fmax(scale, fabs(v));
        }
  double m[2] = {diff, scale};
  MPI_Allreduce(MPI_IN_PLACE, m, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return m[0] / m[1];
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int np;
  MPI_Comm_size(MPI_COMM_WORLD, &np);
  pirf_unet_config uc = model_tiny_config(0.2);
  pirf_unet net;
  if (pirf_unet_create(&uc, &net)) MPI_Abort(MPI_COMM_WORLD, 1);
  const size_t P = net.table.total;
  float *params = model_alloc(P);
  model_random_params(&net, 9, params);

  /* the reference: every rank computes the whole batch alone */
  pirf_decomp ref_dc;
  pirf_level ref_L0;
  result ref[2];
  long rf, rc;
  if (pirf_decomp_create(MPI_COMM_SELF, 16, 16, 1, 1, 2, &ref_dc)) MPI_Abort(MPI_COMM_WORLD, 1);
  pirf_level_init(&ref_L0, &ref_dc, 0);
  for (int d = 0; d < 2; d++)
    if (evaluate(&net, &ref_dc, params, d, &ref[d], &rf, &rc)) MPI_Abort(MPI_COMM_WORLD, 1);

  const int layouts[4][2] = {{1, 1}, {2, 1}, {1, 2}, {2, 2}};
  for (int li = 0; li < 4; li++) {
    int px = layouts[li][0], py = layouts[li][1];
    if (np % (px * py)) continue;
    pirf_decomp dc;
    if (pirf_decomp_create(MPI_COMM_WORLD, 16, 16, px, py, 2, &dc)) MPI_Abort(MPI_COMM_WORLD, 1);
    pirf_level L0;
    pirf_level_init(&L0, &dc, 0);
    for (int d = 0; d < 2; d++) {
      result res;
      long first, count;
      if (evaluate(&net, &dc, params, d, &res, &first, &count)) MPI_Abort(MPI_COMM_WORLD, 1);
      char what[128];
      double eD = tile_error(&L0, &ref_L0, first, count, res.D, ref[d].D);
      double ex = tile_error(&L0, &ref_L0, first, count, res.dx, ref[d].dx);
      double eg = 0;
      const char *worst = "";
      for (int i = 0; i < net.table.n; i++) {
        const pirf_param *p = &net.table.p[i];
        double diff = 0, norm = 0;
        for (size_t e = p->offset; e < p->offset + p->count; e++) {
          diff += pow((double)res.g[e] - ref[d].g[e], 2);
          norm += pow((double)ref[d].g[e], 2);
        }
        double rel = sqrt(diff / (norm > 0 ? norm : 1e-300));
        if (rel > eg) {
          eg = rel;
          worst = p->name;
        }
      }
      snprintf(what, sizeof what, "%d rank(s), tiles [%d,%d] x %d data group(s), dropout %s", np,
               px, py, dc.ndata, d ? "on" : "off");
      TEST_CHECK(eD <= TOL, "%s: D differs by %.3g (relative)", what, eD);
      TEST_CHECK(ex <= TOL, "%s: dD/dx differs by %.3g", what, ex);
      TEST_CHECK(eg <= TOL, "%s: gradient of %s differs by %.3g", what, worst, eg);
      if (test_rank_() == 0)
        printf("%s: D %.2e, dx %.2e, parameter gradients %.2e (worst %s)\n", what, eD, ex, eg, worst);
      free(res.D); free(res.dx); free(res.g);
    }
    pirf_decomp_destroy(&dc);
  }
  /* dropout on changes the result (the variant is not vacuous) */
  double dd = 0;
  for (size_t k = 0; k < (size_t)NTOT * 2 * 256; k++) dd = fmax(dd, fabs(ref[0].D[k] - ref[1].D[k]));
  TEST_CHECK(dd > 1e-3, "dropout on and off give the same D (max difference %g)", dd);
  for (int d = 0; d < 2; d++) { free(ref[d].D); free(ref[d].dx); free(ref[d].g); }
  free(params);
  pirf_decomp_destroy(&ref_dc);
  pirf_unet_destroy(&net);
  int rc2 = test_finish("denoiser_is_rank_layout_invariant");
  MPI_Finalize();
  return rc2;
}
