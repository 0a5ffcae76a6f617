/* edm_loss_is_rank_layout_invariant: the EDM loss (summed over the world) and its parameter
 * gradient (summed over the world) for a global batch of 4 samples, dropout on, are the same on
 * every rank layout that fits the job (tiles [1,1], [2,1], [1,2], [2,2] times data groups) as on one
 * rank holding the whole batch, to 1e-5 relative: sigma, noise and dropout are keyed by the global
 * slot and pixel, not by the rank. */
#include "pirf/check.h"
#include "pirf/edm_loss.h"
#include "model/model_harness.h"
#include "testing.h"

#include <string.h>

enum { NTOT = 4 };

static int run(const pirf_unet *net, const pirf_decomp *dc, const float *params, double *loss,
               float *g) {
  long first, count;
  pirf_decomp_samples(dc, NTOT, &first, &count);
  pirf_level L0;
  pirf_level_init(&L0, dc, 0);
  float *y = model_alloc((size_t)count * 2 * L0.xm * L0.ym);
  model_fill_tile(&L0, (int)count, first, 2, 5, y);
  pirf_unet_work *w;
  pirf_unet_tape *t;
  pirf_edm_loss_buf lb;
  PIRF_TRY(pirf_unet_work_create(net, dc, (int)count, 1, &w));
  PIRF_TRY(pirf_unet_tape_create(net, dc, (int)count, &t));
  PIRF_TRY(pirf_edm_loss_buf_create(&lb, dc, (int)count, 2));
  pirf_unet_dropout drop = {.seed = 3, .step = 9, .sample0 = (uint32_t)first};
  memset(g, 0, net->table.total * sizeof *g);
  PIRF_TRY(pirf_edm_loss(net, w, t, &lb, dc, params, y, (int)count, first, NTOT, 21, 9, &drop, g,
                         0, net->table.n, loss));
  pirf_edm_loss_buf_destroy(&lb);
  pirf_unet_tape_destroy(&t);
  pirf_unet_work_destroy(&w);
  free(y);
  return 0;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int np;
  MPI_Comm_size(MPI_COMM_WORLD, &np);
  pirf_unet_config uc = model_tiny_config(0.2);
  pirf_unet net;
  if (pirf_unet_create(&uc, &net)) MPI_Abort(MPI_COMM_WORLD, 1);
  const size_t P = net.table.total;
  float *params = model_alloc(P), *gref = model_alloc(P), *g = model_alloc(P);
  model_random_params(&net, 5, params);
  pirf_decomp ref_dc;
  double lref;
  if (pirf_decomp_create(MPI_COMM_SELF, 16, 16, 1, 1, 2, &ref_dc) ||
      run(&net, &ref_dc, params, &lref, gref))
    MPI_Abort(MPI_COMM_WORLD, 1);
  const int layouts[4][2] = {{1, 1}, {2, 1}, {1, 2}, {2, 2}};
  for (int li = 0; li < 4; li++) {
    int px = layouts[li][0], py = layouts[li][1];
    if (np % (px * py)) continue;
    pirf_decomp dc;
    double loss;
    if (pirf_decomp_create(MPI_COMM_WORLD, 16, 16, px, py, 2, &dc) ||
        run(&net, &dc, params, &loss, g))
      MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Allreduce(MPI_IN_PLACE, &loss, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, g, (int)P, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    double diff = 0, norm = 0;
    for (size_t e = 0; e < P; e++) {
      diff += pow((double)g[e] - gref[e], 2);
      norm += pow((double)gref[e], 2);
    }
    char what[96];
    snprintf(what, sizeof what, "tiles [%d,%d] x %d data group(s): loss", px, py, dc.ndata);
    TEST_CLOSE(loss, lref, 1e-5, 0, what);
    TEST_CHECK(sqrt(diff / norm) <= 1e-5, "tiles [%d,%d] x %d data group(s): gradient differs by "
               "%.3g (relative)", px, py, dc.ndata, sqrt(diff / norm));
    if (test_rank_() == 0)
      printf("tiles [%d,%d] x %d group(s): loss %.9g (one rank %.9g), gradient %.2e\n", px, py,
             dc.ndata, loss, lref, sqrt(diff / norm));
    pirf_decomp_destroy(&dc);
  }
  free(params), free(gref), free(g);
  pirf_decomp_destroy(&ref_dc);
  pirf_unet_destroy(&net);
  int rc = test_finish("edm_loss_is_rank_layout_invariant");
  MPI_Finalize();
  return rc;
}
