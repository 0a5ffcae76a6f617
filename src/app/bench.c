/* Benchmark rows for `pirf bench` (see pirf/bench.h). */
#include "pirf/bench.h"
#include "pirf/check.h"
#include "pirf/log.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#if defined(__AVX512F__) || defined(__FMA__)
#include <immintrin.h>
#endif

/* CPU seconds of this process (all its threads). On a shared, oversubscribed machine a descheduled
 * rank's wall time grows but its CPU time does not, so flops per CPU-second is the noise-robust
 * efficiency figure; the wall-clock median is what a user waits. */
static double cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Independent FMA chains: enough to cover latency (4 cycles) x FMA pipes (2) with room to spare. */
#define PEAK_CHAINS 12

static double fma_loop(long iters, float *sink) {
#if defined(__AVX512F__)
  __m512 acc[PEAK_CHAINS], m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-7f);
  for (int c = 0; c < PEAK_CHAINS; c++) acc[c] = _mm512_set1_ps((float)c);
  for (long i = 0; i < iters; i++)
    for (int c = 0; c < PEAK_CHAINS; c++) acc[c] = _mm512_fmadd_ps(acc[c], m, a);
  float s = 0;
  for (int c = 0; c < PEAK_CHAINS; c++) s += _mm512_reduce_add_ps(acc[c]);
  *sink = s;
  return 2.0 * 16 * PEAK_CHAINS * (double)iters;
#elif defined(__FMA__)
  __m256 acc[PEAK_CHAINS], m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);
  for (int c = 0; c < PEAK_CHAINS; c++) acc[c] = _mm256_set1_ps((float)c);
  for (long i = 0; i < iters; i++)
    for (int c = 0; c < PEAK_CHAINS; c++) acc[c] = _mm256_fmadd_ps(acc[c], m, a);
  float lanes[8], s = 0;
  for (int c = 0; c < PEAK_CHAINS; c++) {
    _mm256_storeu_ps(lanes, acc[c]);
    for (int l = 0; l < 8; l++) s += lanes[l];
  }
  *sink = s;
  return 2.0 * 8 * PEAK_CHAINS * (double)iters;
#else
  /* no SIMD FMA compiled in (-march=native missing?): a scalar figure, far below the hardware */
  float acc[PEAK_CHAINS];
  for (int c = 0; c < PEAK_CHAINS; c++) acc[c] = (float)c;
  for (long i = 0; i < iters; i++)
    for (int c = 0; c < PEAK_CHAINS; c++) acc[c] = fmaf(acc[c], 0.999999f, 1e-7f);
  float s = 0;
  for (int c = 0; c < PEAK_CHAINS; c++) s += acc[c];
  *sink = s;
  return 2.0 * PEAK_CHAINS * (double)iters;
#endif
}

double pirf_bench_fp32_peak(void) {
  volatile float sink;
  float s;
  /* grow the loop to ~0.1 s, then keep the best of 5 (a peak is a maximum: noise only slows) */
  long iters = 1 << 16;
  while (1) {
    double t0 = pirf_wtime();
    fma_loop(iters, &s);
    if (pirf_wtime() - t0 > 0.05) break;
    iters *= 2;
  }
  double best = 0;
  for (int r = 0; r < 5; r++) {
    /* CPU time: the figure is what the core does while it runs us, not how often it does */
    double t0 = cpu_seconds(), flops = fma_loop(iters, &s), t = cpu_seconds() - t0;
    if (flops / t > best) best = flops / t;
  }
  sink = s;
  (void)sink;
  return best * 1e-9;
}

int pirf_bench_begin(pirf_bench *b, MPI_Comm comm, int reps) {
  b->comm = comm;
  b->reps = reps < 1 ? 1 : reps;
  PIRF_MPI(MPI_Comm_rank(comm, &b->rank));
  PIRF_MPI(MPI_Comm_size(comm, &b->size));
  b->threads = openblas_get_num_threads();
  /* every rank measures its own core at the same time, as the kernels will run */
  PIRF_MPI(MPI_Barrier(comm));
  double peak = pirf_bench_fp32_peak(), lo = peak, hi = peak;
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_DOUBLE, MPI_MIN, comm));
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_DOUBLE, MPI_MAX, comm));
  b->peak_core = lo;
  pirf_log("[bench] FP32 FMA peak of one core: %.1f GFLOP/s (min over %d rank%s; max %.1f)\n", lo,
           b->size, b->size > 1 ? "s" : "", hi);
  pirf_log("[bench] %d rank%s x %d BLAS thread%s: peak of this slice %.1f GFLOP/s; "
           "%d timed repetitions per row\n",
           b->size, b->size > 1 ? "s" : "", b->threads, b->threads > 1 ? "s" : "",
           lo * b->size * b->threads, b->reps);
  pirf_log(
      "columns: wall-clock median and range over the repetitions (slowest rank); GFLOP/s of the\n"
      "median; %% peak = flops / (CPU seconds summed over ranks x one core's peak), the\n"
      "efficiency per core busy, robust to other jobs on the machine (median over repetitions)\n");
  pirf_log("%-34s %-24s %10s %15s %8s %7s\n", "kernel", "shape", "median ms", "range ms", "GFLOP/s",
           "% peak");
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int pirf_bench_row(pirf_bench *b, const char *name, const char *shape, double flops,
                   int (*fn)(void *ctx), void *ctx) {
  PIRF_TRY(fn(ctx)); /* warm-up: first-touch pages, BLAS buffers */
  return pirf_bench_row_warmed(b, name, shape, flops, fn, ctx);
}

int pirf_bench_row_warmed(pirf_bench *b, const char *name, const char *shape, double flops,
                          int (*fn)(void *ctx), void *ctx) {
  double *t, *cpu;
  PIRF_ALLOC(t, 2 * (size_t)b->reps, "benchmark times");
  cpu = t + b->reps;
  int err = 0;
  for (int r = 0; r < b->reps && !err; r++) {
    MPI_Barrier(b->comm);
    double t0 = pirf_wtime(), c0 = cpu_seconds();
    err = fn(ctx);
    double tt[2] = {pirf_wtime() - t0, cpu_seconds() - c0};
    MPI_Allreduce(MPI_IN_PLACE, &tt[0], 1, MPI_DOUBLE, MPI_MAX, b->comm);
    MPI_Allreduce(MPI_IN_PLACE, &tt[1], 1, MPI_DOUBLE, MPI_SUM, b->comm);
    t[r] = tt[0], cpu[r] = tt[1];
  }
  if (err) {
    free(t);
    return err;
  }
  qsort(t, (size_t)b->reps, sizeof *t, cmp_double);
  qsort(cpu, (size_t)b->reps, sizeof *cpu, cmp_double);
  const int h = b->reps / 2, even = b->reps % 2 == 0;
  double med = even ? 0.5 * (t[h - 1] + t[h]) : t[h];
  double cmed = even ? 0.5 * (cpu[h - 1] + cpu[h]) : cpu[h];
  char range[32];
  snprintf(range, sizeof range, "%.2f-%.2f", 1e3 * t[0], 1e3 * t[b->reps - 1]);
  if (flops > 0)
    pirf_log("%-34s %-24s %10.2f %15s %8.1f %6.1f%%\n", name, shape, 1e3 * med, range,
             flops / med * 1e-9, 100 * flops / (cmed * b->peak_core * 1e9));
  else
    pirf_log("%-34s %-24s %10.2f %15s %8s %7s\n", name, shape, 1e3 * med, range, "-", "-");
  free(t);
  return 0;
}

int pirf_bench_end(pirf_bench *b) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double mib = ru.ru_maxrss / 1024.0, lo = mib, hi = mib; /* ru_maxrss is in KiB on Linux */
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_DOUBLE, MPI_MIN, b->comm));
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_DOUBLE, MPI_MAX, b->comm));
  pirf_log("[bench] peak memory per rank (max RSS): %.1f MiB (min over ranks %.1f MiB)\n", hi, lo);
  return 0;
}

double pirf_bench_max_rss_mib(MPI_Comm comm) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double mib = ru.ru_maxrss / 1024.0; /* KiB on Linux */
  MPI_Allreduce(MPI_IN_PLACE, &mib, 1, MPI_DOUBLE, MPI_MAX, comm);
  return mib;
}
