/* Benchmark rows for `pirf bench`: this machine's FP32 peak, then one timed row per kernel.
 *
 *   pirf_bench b;
 *   pirf_bench_begin(&b, MPI_COMM_WORLD, reps);          measures the peak, prints the header
 *   pirf_bench_row(&b, "conv3x3 fwd", "B1 256->256 128x128", flops, fn, ctx);
 *   pirf_bench_end(&b);                                  prints peak memory per rank
 *
 * A row calls fn(ctx) once to warm up, then `reps` times; each repetition is timed between
 * barriers (wall time of the slowest rank, CPU time summed over ranks). It reports the wall-clock
 * median and range, GFLOP/s of that median, and "% peak" = flops / (median CPU seconds x one
 * core's measured peak): the efficiency of the cores while they work on it, which other jobs on a
 * shared machine do not distort (they stretch wall time, not CPU time). fn is collective over
 * b.comm. `flops` is the work of ONE call summed over all ranks of b.comm (0 for a row that is not
 * flop-bound). The peak is measured in CPU time too (min over ranks).
 * Adding a row for a new kernel means writing one fn and one call. */
#ifndef PIRF_BENCH_H
#define PIRF_BENCH_H

#include "pirf/config.h"
#include "pirf/unet.h"

#include <mpi.h>

typedef struct {
  MPI_Comm comm;
  int rank, size, threads, reps;
  double peak_core; /* GFLOP/s of one core, FP32 FMA, measured (min over ranks) */
} pirf_bench;

/* One core's FP32 peak in GFLOP/s: an FMA-bound loop with independent accumulators. */
double pirf_bench_fp32_peak(void);

int pirf_bench_begin(pirf_bench *b, MPI_Comm comm, int reps);
int pirf_bench_row(pirf_bench *b, const char *name, const char *shape, double flops,
                   int (*fn)(void *ctx), void *ctx);
/* The same without the warm-up call, for a caller that has just run fn (a PIRF iteration at paper
 * scale takes minutes: one call less is worth it). */
int pirf_bench_row_warmed(pirf_bench *b, const char *name, const char *shape, double flops,
                          int (*fn)(void *ctx), void *ctx);
int pirf_bench_end(pirf_bench *b);

/* The counted FLOPs of one forward of the SongUNet F for one sample, by kind (src/app/
 * bench_network.c says what is counted); backward = 2 x forward. */
typedef struct {
  double conv3x3, conv1x1, attention, linear, total;
} pirf_unet_flop_count;
void pirf_unet_flops(const pirf_unet *net, pirf_unet_flop_count *f);

/* The whole-network rows for the deck's network at B samples per data group: one forward without
 * tape, one taped forward + full backward, one training step (EDM loss, backward, sharded Adam,
 * EMA); then the work, tape and parameter bytes and the peak RSS per rank. */
int pirf_bench_network(pirf_bench *b, const pirf_config *cfg, int B);

/* The PIRF-iteration row (src/app/bench_pirf.c): one iteration of `pirf finetune` with the deck's
 * method, N, K, batch and trainable range, then its time per phase (no-grad prefix, taped
 * forward, backward, reward, optimizer, EMA) and the peak RSS per rank. */
int pirf_bench_pirf(pirf_bench *b, const pirf_config *cfg);

/* The peak RSS of the ranks of comm in MiB (getrusage), the largest over them; collective. */
double pirf_bench_max_rss_mib(MPI_Comm comm);

#endif
