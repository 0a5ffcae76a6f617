/* measure_unet: memory and time of one SongUNet denoiser evaluation (not a test; for docs/model.md).
 *
 *   mpiexec -n P ./measure_unet [R=128] [B=1] [channels=128] [repeats=1]
 *
 * The paper's configuration (channel_mult [2,2,2], 4 blocks, attention at 16, 2 data channels) at
 * R x R on tiles [P, 1], random weights: prints the work and tape size tables, the wall time of a
 * forward without tape, a taped forward, a full backward and a truncated backward (full-resolution
 * decoder level, no dx), and the peak resident memory of rank 0. */
#include "pirf/log.h"
#include "pirf/precond.h"
#include "pirf/unet_eval.h"
#include "model_harness.h"

#include <sys/resource.h>

static double peak_mib(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int np;
  MPI_Comm_size(MPI_COMM_WORLD, &np);
  int R = argc > 1 ? atoi(argv[1]) : 128, B = argc > 2 ? atoi(argv[2]) : 1;
  int mc = argc > 3 ? atoi(argv[3]) : 128, reps = argc > 4 ? atoi(argv[4]) : 1;
  pirf_unet_config uc = {.resolution = R, .in_channels = 2, .out_channels = 2,
                         .model_channels = mc, .levels = 3, .channel_mult = {2, 2, 2},
                         .num_blocks = 4, .nattn = 1, .attn_resolutions = {16},
                         .dropout = 0.13, .emb_channels = 4 * mc, .noise_channels = mc};
  pirf_unet net;
  pirf_decomp dc;
  pirf_unet_work *wf, *wb;
  pirf_unet_tape *t;
  if (pirf_unet_create(&uc, &net) || pirf_decomp_create(MPI_COMM_WORLD, R, R, np, 1, 3, &dc))
    MPI_Abort(MPI_COMM_WORLD, 1);
  double m0 = peak_mib();
  if (pirf_unet_work_create(&net, &dc, B, 0, &wf) || pirf_unet_work_create(&net, &dc, B, 1, &wb) ||
      pirf_unet_tape_create(&net, &dc, B, &t))
    MPI_Abort(MPI_COMM_WORLD, 1);
  pirf_log("SongUNet %dx%d, channels %d, %zu parameters, B = %d per rank, %d rank(s), tile %dx%d\n",
           R, R, mc, net.table.total, B, np, dc.xm, dc.ym);
  pirf_unet_work_print(wf);
  pirf_unet_work_print(wb);
  pirf_unet_tape_print(t);
  pirf_level L0;
  pirf_level_init(&L0, &dc, 0);
  const size_t nx = (size_t)B * 2 * L0.xm * L0.ym, P = net.table.total;
  float *params = model_alloc(P), *g = model_alloc(P), *x = model_alloc(nx), *D = model_alloc(nx);
  float *dx = model_alloc(nx);
  model_random_params(&net, 1, params);
  model_fill_tile(&L0, B, 0, 2, 1, x);
  double sigma[64];
  for (int b = 0; b < B && b < 64; b++) sigma[b] = 0.5;
  pirf_unet_dropout drop = {1, 1, 0};
  int first, end;
  pirf_unet_decoder_level_range(&net, 0, &first, &end);
  double tf = 1e30, tt = 1e30, tb = 1e30, tr = 1e30;
  for (int r = 0; r < reps; r++) {
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = pirf_wtime();
    if (pirf_edm_denoise(&net, wf, NULL, params, x, sigma, B, NULL, D)) MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Barrier(MPI_COMM_WORLD);
    double t1 = pirf_wtime();
    if (pirf_edm_denoise(&net, wb, t, params, x, sigma, B, &drop, D)) MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Barrier(MPI_COMM_WORLD);
    double t2 = pirf_wtime();
    if (pirf_edm_denoise_backward(&net, wb, t, params, x, g, 0, net.table.n, dx))
      MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Barrier(MPI_COMM_WORLD);
    double t3 = pirf_wtime();
    if (pirf_edm_denoise_backward(&net, wb, t, params, x, g, first, end, NULL))
      MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Barrier(MPI_COMM_WORLD);
    double t4 = pirf_wtime();
    tf = fmin(tf, t1 - t0), tt = fmin(tt, t2 - t1), tb = fmin(tb, t3 - t2), tr = fmin(tr, t4 - t3);
  }
  pirf_log("time (best of %d): forward without tape %.3f s, taped forward %.3f s, backward %.3f s, "
           "truncated backward %.3f s\n", reps, tf, tt, tb, tr);
  pirf_log("peak resident memory of rank 0: %.1f MiB (%.1f MiB before the arenas; parameters and "
           "gradients %.1f MiB)\n", peak_mib(), m0, 2.0 * P * 4 / 1048576.0);
  MPI_Finalize();
  return 0;
}
