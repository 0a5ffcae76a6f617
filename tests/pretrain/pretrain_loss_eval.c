/* pretrain_lowers_the_edm_loss, the evaluation half (tests/pretrain/test_pretrain_lowers_loss.sh):
 *
 *   pretrain_loss_eval DATA.h5 CKPT.h5 SEED [key=value ...]      (one rank)
 *
 * The EDM loss of the network before training (EDM's initialization from pretrain.seed = SEED,
 * exactly what `pirf pretrain` starts from) and after (/net of CKPT), on the SAME M fixed draws:
 * draw s takes data sample s mod N, sigma and the noise of slot s of a fixed evaluation key (not
 * one training used). Paired differences d_s = L_before(s) - L_after(s) remove the draw-to-draw
 * spread (sigma is log-normal, so single losses vary by orders of magnitude); the test passes if
 * mean(d) exceeds 5 standard errors of that mean and the mean loss fell by at least 20%.
 * The key=value arguments are the model overrides the training run used. */
#include "pirf/checkpoint.h"
#include "pirf/dataset.h"
#include "pirf/deck.h"
#include "pirf/edm_loss.h"
#include "pirf/physics.h"
#include "testing.h"

#include <stdlib.h>
#include <string.h>

enum { M = 96 };
#define EVAL_SEED 987654u /* a key no training run in the test uses */

static void losses(const pirf_unet *net, pirf_unet_work *w, pirf_edm_loss_buf *lb,
                   const pirf_decomp *dc, const float *params, const float *y, long N, int C,
                   double *l) {
  const size_t n = (size_t)C * dc->xm * dc->ym;
  for (int s = 0; s < M; s++)
    if (pirf_edm_loss(net, w, NULL, lb, dc, params, y + (size_t)(s % N) * n, 1, s, 1, EVAL_SEED, 0,
                      NULL, NULL, 0, 0, &l[s]))
      MPI_Abort(MPI_COMM_WORLD, 1);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  if (argc < 4) {
    fprintf(stderr, "usage: pretrain_loss_eval DATA.h5 CKPT.h5 SEED [key=value ...]\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  pirf_config *cfg = NULL;
  pirf_dataset ds;
  if (pirf_config_load(&cfg, pirf_deck_tables(), NULL, argc - 4, argv + 4) ||
      pirf_dataset_open(&ds, MPI_COMM_WORLD, argv[1], "data"))
    MPI_Abort(MPI_COMM_WORLD, 1);
  const int C = ds.C, R = ds.H;
  const long N = ds.N;
  pirf_unet_config uc;
  pirf_unet net;
  pirf_decomp dc;
  pirf_unet_work *w;
  pirf_edm_loss_buf lb;
  char res[32];
  snprintf(res, sizeof res, "%d", R);
  if (pirf_config_set(cfg, "grid.resolution", res) || pirf_deck_decomp(cfg, MPI_COMM_WORLD, &dc) ||
      pirf_unet_config_from_deck(cfg, R, C, &uc) || pirf_unet_create(&uc, &net) ||
      pirf_unet_work_create(&net, &dc, 1, 0, &w) || pirf_edm_loss_buf_create(&lb, &dc, 1, C))
    MPI_Abort(MPI_COMM_WORLD, 1);
  const size_t P = net.table.total, n = (size_t)N * C * R * R;
  float *before = calloc(P, sizeof(float)), *after = calloc(P, sizeof(float));
  float *y = calloc(n, sizeof(float));
  pirf_tile_block all = {0, N, 0, R, 0, R};
  if (!before || !after || !y || pirf_dataset_read(&ds, &all, y) ||
      pirf_checkpoint_read_weights(argv[2], MPI_COMM_WORLD, &net.table, "net", after))
    MPI_Abort(MPI_COMM_WORLD, 1);
  pirf_unet_init_params(&net, (uint32_t)atol(argv[3]), before);

  double l0[M], l1[M], m0 = 0, m1 = 0, md = 0, vd = 0;
  losses(&net, w, &lb, &dc, before, y, N, C, l0);
  losses(&net, w, &lb, &dc, after, y, N, C, l1);
  for (int s = 0; s < M; s++) m0 += l0[s] / M, m1 += l1[s] / M, md += (l0[s] - l1[s]) / M;
  for (int s = 0; s < M; s++) vd += (l0[s] - l1[s] - md) * (l0[s] - l1[s] - md) / (M - 1);
  const double se = sqrt(vd / M);
  /* per pixel and channel, as pretrain.jsonl reports it */
  const double px = (double)C * R * R;
  printf("EDM loss on %d fixed draws (per pixel and channel): before %.6g, after %.6g (%.1f%% "
         "lower); paired difference %.6g +- %.2g (standard error), %.1f standard errors\n",
         M, m0 / px, m1 / px, 100 * (1 - m1 / m0), md / px, se / px, md / se);
  TEST_CHECK(md > 5 * se, "the loss fell by %.3g, only %.2f standard errors (%.3g)", md, md / se,
             se);
  TEST_CHECK(m1 < 0.8 * m0, "the mean loss fell only from %.6g to %.6g", m0 / px, m1 / px);
  free(before), free(after), free(y);
  pirf_edm_loss_buf_destroy(&lb);
  pirf_unet_work_destroy(&w);
  pirf_unet_destroy(&net);
  pirf_decomp_destroy(&dc);
  pirf_dataset_close(&ds);
  pirf_config_destroy(&cfg);
  int rc = test_finish("pretrain_lowers_the_edm_loss");
  MPI_Finalize();
  return rc;
}
