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
#include <time.h>

/* CPU seconds of this process: on a shared machine wall-clock time measures the neighbours too. */
static double cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

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
  double wall[4] = {1e30, 1e30, 1e30, 1e30}, cpu[4] = {1e30, 1e30, 1e30, 1e30};
  for (int r = 0; r < reps; r++)
    for (int phase = 0; phase < 4; phase++) {
      MPI_Barrier(MPI_COMM_WORLD);
      double w0 = pirf_wtime(), c0 = cpu_seconds();
      int err = 0;
      if (phase == 0) err = pirf_edm_denoise(&net, wf, NULL, params, x, sigma, B, NULL, D);
      if (phase == 1) err = pirf_edm_denoise(&net, wb, t, params, x, sigma, B, &drop, D);
      if (phase == 2) err = pirf_edm_denoise_backward(&net, wb, t, params, x, g, 0, net.table.n, dx);
      if (phase == 3) err = pirf_edm_denoise_backward(&net, wb, t, params, x, g, first, end, NULL);
      if (err) MPI_Abort(MPI_COMM_WORLD, 1);
      double c1 = cpu_seconds();
      MPI_Barrier(MPI_COMM_WORLD);
      wall[phase] = fmin(wall[phase], pirf_wtime() - w0);
      cpu[phase] = fmin(cpu[phase], c1 - c0);
    }
  const char *what[4] = {"forward without tape", "taped forward (dropout on)", "full backward",
                         "truncated backward (decoder level 0, no dx)"};
  for (int phase = 0; phase < 4; phase++)
    pirf_log("%-44s wall %8.3f s, rank-0 CPU %8.3f s (best of %d)\n", what[phase], wall[phase],
             cpu[phase], reps);
  pirf_log("peak resident memory of rank 0: %.1f MiB (%.1f MiB before the arenas; parameters and "
           "gradients %.1f MiB)\n", peak_mib(), m0, 2.0 * P * 4 / 1048576.0);
  MPI_Finalize();
  return 0;
}
