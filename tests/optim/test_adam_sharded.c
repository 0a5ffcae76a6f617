/* sharded_adam_matches_unsharded_update: the sharded Adam on every rank layout (tiles x data
 * groups) gives the weights and moments of a plain serial Adam applied to the summed gradient.
 *
 * Each rank's gradient arena holds the contributions of its tile and its group's samples; the
 * contribution of (step, sample, tile, float) is a Philox normal (rounded, see contribution()), so
 * every rank can also compute the whole sum (over all samples and tiles, times 1/ndata) and run the serial reference in double.
 * The trainable range [137, 748) of a 1000-float arena is not a multiple of 2, 3 or 4, so the last
 * slices are short; floats outside it get gradients too and must not move. The first step has lr 0
 * (EDM's ramp): the moments still advance. Checked per step: the weights and both moments
 * within 1e-6 relative to the weight (1e-5 for the moments), replicas bit-identical across ranks,
 * slices partitioning the range with at most ceil(count / size) floats each. */
#include "pirf/decomp.h"
#include "pirf/optim.h"
#include "pirf/rng.h"
#include "testing.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { TOTAL = 1000, FIRST = 137, COUNT = 611, NSAMPLES = 6, STEPS = 5 };

/* Multiples of 1/256 below 64 in size: any sum of 24 of them is exact in float, so the reduced
 * gradient equals the serial sum exactly whatever the reduction order, and what remains to compare
 * is the sharding (which slice, which scale, which moments) and Adam's float arithmetic. */
static double contribution(int step, long sample, int tile, int i) {
  double n = pirf_rng_normal(7, PIRF_STREAM_TEST, (uint32_t)step, (uint32_t)sample,
                             (uint32_t)tile, (uint32_t)i);
  return round(n * 256.0) / 256.0 * (1.0 + (i % 7));
}

static void check_layout(int px, int py) {
  pirf_decomp dc;
  if (pirf_decomp_create(MPI_COMM_WORLD, 8, 8, px, py, 1, &dc)) MPI_Abort(MPI_COMM_WORLD, 1);
  long s0, ns;
  pirf_decomp_samples(&dc, NSAMPLES, &s0, &ns);

  float *params = calloc(TOTAL, sizeof *params), *grad = calloc(TOTAL, sizeof *grad);
  double *p_ref = calloc(TOTAL, sizeof *p_ref), *m_ref = calloc(TOTAL, sizeof *m_ref),
         *v_ref = calloc(TOTAL, sizeof *v_ref), *g_ref = calloc(TOTAL, sizeof *g_ref),
         *m_abs = calloc(TOTAL, sizeof *m_abs);
  float *m_all = calloc(COUNT, sizeof *m_all), *v_all = calloc(COUNT, sizeof *v_all),
        *p_root = calloc(TOTAL, sizeof *p_root);
  for (int i = 0; i < TOTAL; i++) p_ref[i] = params[i] = (float)sin(0.1 * i);
  float *p0 = malloc(TOTAL * sizeof *p0);
  memcpy(p0, params, TOTAL * sizeof *p0);

  pirf_adam opt;
  if (pirf_adam_create(&opt, MPI_COMM_WORLD, FIRST, COUNT, NULL)) MPI_Abort(MPI_COMM_WORLD, 1);
  long nsum = (long)opt.n;
  MPI_Allreduce(MPI_IN_PLACE, &nsum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
  size_t ceil_share = (COUNT + (size_t)dc.world_size - 1) / (size_t)dc.world_size;
  TEST_CHECK(nsum == COUNT && opt.n <= ceil_share,
             "tiles [%d,%d]: slices hold %ld floats in all (expected %d), this rank %zu (at most %zu)",
             px, py, nsum, COUNT, opt.n, ceil_share);

  const double lrs[STEPS] = {0.0, 2e-3, 5e-3, 1e-2, 1e-2}, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  const double scale = 1.0 / dc.ndata;
  int *counts = calloc((size_t)dc.world_size, sizeof *counts);
  int *displs = calloc((size_t)dc.world_size, sizeof *displs);
  int n_int = (int)opt.n, lo_int = (int)(opt.lo - FIRST);
  MPI_Allgather(&n_int, 1, MPI_INT, counts, 1, MPI_INT, MPI_COMM_WORLD);
  MPI_Allgather(&lo_int, 1, MPI_INT, displs, 1, MPI_INT, MPI_COMM_WORLD);

  for (int step = 0; step < STEPS; step++) {
    /* This rank's contributions, and the serial sum over every sample and tile. */
    for (int i = 0; i < TOTAL; i++) {
      double mine = 0, all = 0;
      for (long s = 0; s < NSAMPLES; s++)
        for (int tile = 0; tile < dc.nspace; tile++) {
          double c = contribution(step, s, tile, i);
          all += c;
          if (tile == dc.space_rank && s >= s0 && s < s0 + ns) mine += c;
        }
      grad[i] = (float)mine;
      g_ref[i] = all * scale;
    }
    TEST_CHECK(pirf_adam_step(&opt, params, grad, scale, lrs[step], NULL) == 0, "step failed");
    const int t = step + 1;
    for (int i = FIRST; i < FIRST + COUNT; i++) {
      m_ref[i] = b1 * m_ref[i] + (1 - b1) * g_ref[i];
      m_abs[i] = b1 * m_abs[i] + (1 - b1) * fabs(g_ref[i]);
      v_ref[i] = b2 * v_ref[i] + (1 - b2) * g_ref[i] * g_ref[i];
      double denom = sqrt(v_ref[i]) / sqrt(1 - pow(b2, t)) + eps;
      p_ref[i] -= lrs[step] / (1 - pow(b1, t)) * m_ref[i] / denom;
    }

    MPI_Allgatherv(opt.m, n_int, MPI_FLOAT, m_all, counts, displs, MPI_FLOAT, MPI_COMM_WORLD);
    MPI_Allgatherv(opt.v, n_int, MPI_FLOAT, v_all, counts, displs, MPI_FLOAT, MPI_COMM_WORLD);
    int bad = 0;
    double worst = 0;
    for (int i = 0; i < TOTAL; i++) {
      int in = i >= FIRST && i < FIRST + COUNT;
      double dp = (double)params[i] - p0[i], dref = p_ref[i] - p0[i];
      /* fp32 weights of size ~1 round each update to ~6e-8: 1e-6 relative to the weight, plus a
       * little of the change itself, which is ~lr (a 1% error in the update still fails). */
      double err = fabs(dp - dref), tol = in ? 1e-6 * fabs(p_ref[i]) + 1e-4 * fabs(dref) + 1e-9 : 0;
      if (in) {
        double em = fabs(m_all[i - FIRST] - m_ref[i]), ev = fabs(v_all[i - FIRST] - v_ref[i]);
        /* m's recursion can cancel: float rounding is relative to its terms' size */
        if (em > 1e-5 * fabs(m_ref[i]) + 1e-6 * m_abs[i] || ev > 1e-5 * fabs(v_ref[i]) + 1e-12) {
          if (bad++ < 3)
            fprintf(stderr, "tiles [%d,%d] step %d float %d: m %.9g vs %.9g, v %.9g vs %.9g\n", px,
                    py, t, i, m_all[i - FIRST], m_ref[i], v_all[i - FIRST], v_ref[i]);
        }
      }
      if (err > tol) {
        if (bad++ < 3)
          fprintf(stderr, "tiles [%d,%d] step %d float %d: change %.9g vs %.9g (%s range)\n", px,
                  py, t, i, dp, dref, in ? "in" : "outside the");
      }
      if (in && err / (fabs(p_ref[i]) + 1e-30) > worst) worst = err / (fabs(p_ref[i]) + 1e-30);
    }
    TEST_CHECK(!bad, "tiles [%d,%d] x %d groups, step %d: %d mismatches with the serial Adam", px,
               py, dc.ndata, t, bad);
    memcpy(p_root, params, TOTAL * sizeof *p_root);
    MPI_Bcast(p_root, TOTAL, MPI_FLOAT, 0, MPI_COMM_WORLD);
    TEST_CHECK(!memcmp(p_root, params, TOTAL * sizeof *p_root),
               "tiles [%d,%d], step %d: replicas differ from rank 0's", px, py, t);
    if (dc.world_rank == 0 && step == STEPS - 1)
      printf("tiles [%d,%d] x %d data groups: worst weight error, relative to the weight, %.3g\n", px,
             py, dc.ndata, worst);
  }
  pirf_adam_destroy(&opt);
  pirf_decomp_destroy(&dc);
  free(params), free(grad), free(p_ref), free(m_ref), free(v_ref), free(g_ref), free(m_abs);
  free(m_all), free(v_all), free(p_root), free(p0), free(counts), free(displs);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  /* Every tiling that divides the world: the rest of the ranks are data groups. */
  const int layouts[][2] = {{1, 1}, {2, 1}, {1, 2}, {2, 2}, {4, 1}};
  for (size_t k = 0; k < sizeof layouts / sizeof layouts[0]; k++)
    if (size % (layouts[k][0] * layouts[k][1]) == 0) check_layout(layouts[k][0], layouts[k][1]);
  int rc = test_finish("sharded_adam_matches_unsharded_update");
  MPI_Finalize();
  return rc;
}
