/* Rank-0 logging, timers and progress lines (see pirf/log.h). */
#include "pirf/log.h"

#include <mpi.h>
#include <stdarg.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static int log_level = 1;

/* ---- output.dir/log.txt: a timestamped copy of what rank 0 prints ---------------------------
 * Every line that reaches stdout through pirf_log/pirf_debug (progress lines included) or stderr
 * through pirf_error_report is also appended to the open log file, each line prefixed with the UTC
 * wall-clock time. Lines may be built from several calls; the prefix goes at each line start. */
static FILE *log_file = NULL;
static int log_file_bol = 1; /* the next character starts a line */

static void log_file_put(const char *text) {
  if (!log_file) return;
  for (const char *p = text; *p;) {
    if (log_file_bol) {
      char stamp[40];
      pirf_log_timestamp(stamp, sizeof stamp);
      fprintf(log_file, "%s  ", stamp);
      log_file_bol = 0;
    }
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
    fwrite(p, 1, n, log_file);
    if (nl) log_file_bol = 1;
    p += n;
  }
  fflush(log_file);
}

static void log_file_vput(const char *fmt, va_list ap) {
  if (!log_file) return;
  char buf[8192];
  vsnprintf(buf, sizeof buf, fmt, ap);
  log_file_put(buf);
}

const char *pirf_log_timestamp(char *buf, size_t len) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char day[32];
  strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, len, "%s.%03dZ", day, (int)(ts.tv_nsec / 1000000));
  return buf;
}

int pirf_log_file_open(const char *path, const char *header) {
  pirf_log_file_close();
  log_file = fopen(path, "a");
  if (!log_file) return 1;
  log_file_bol = 1;
  if (header) log_file_put(header);
  return 0;
}

void pirf_log_file_close(void) {
  if (!log_file) return;
  if (!log_file_bol) log_file_put("\n");
  fclose(log_file);
  log_file = NULL;
}

void pirf_log_file_note(const char *fmt, ...) {
  if (!log_file) return;
  va_list ap;
  va_start(ap, fmt);
  log_file_vput(fmt, ap);
  va_end(ap);
}

void pirf_log_file_error_report(const char *msg, const char *file, int line) {
  if (!log_file) return;
  char text[4600];
  snprintf(text, sizeof text, "%spirf: error: %s\n  at %s:%d\n", log_file_bol ? "" : "\n", msg,
           file, line);
  log_file_put(text);
}

static int rank0(int *rank) {
  int init = 0, fin = 0;
  *rank = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (init && !fin) MPI_Comm_rank(MPI_COMM_WORLD, rank);
  return *rank == 0;
}

void pirf_log_set_level(int level) { log_level = level; }
int pirf_log_level(void) { return log_level; }

void pirf_log(const char *fmt, ...) {
  int rank;
  if (log_level < 1 || !rank0(&rank)) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stdout, fmt, ap);
  va_end(ap);
  fflush(stdout);
  va_start(ap, fmt);
  log_file_vput(fmt, ap);
  va_end(ap);
}

void pirf_debug(const char *fmt, ...) {
  int rank;
  if (log_level < 2 || !rank0(&rank)) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stdout, fmt, ap);
  va_end(ap);
  fflush(stdout);
  va_start(ap, fmt);
  log_file_vput(fmt, ap);
  va_end(ap);
}

void pirf_log_rank(const char *fmt, ...) {
  int rank;
  rank0(&rank);
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  fprintf(stdout, "[rank %d] %s", rank, buf);
  fflush(stdout);
  if (rank == 0) {
    char line[2100];
    snprintf(line, sizeof line, "[rank %d] %s", rank, buf);
    log_file_put(line);
  }
}

double pirf_wtime(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *pirf_format_duration(double s, char *buf) {
  if (!(s >= 0) || s > 1e8) {
    snprintf(buf, 16, "--:--:--");
    return buf;
  }
  long t = (long)(s + 0.5);
  snprintf(buf, 16, "%d:%02d:%02d", (int)(t / 3600), (int)((t / 60) % 60), (int)(t % 60));
  return buf;
}

/* The RSS reduction of progress lines runs on a communicator of its own (made by the first
 * pirf_progress_begin, collectively), so it never matches a collective of the stage. It is a
 * blocking reduction of one number per update (once per optimizer step): cheap, and it leaves
 * nothing in flight across the stage's own collectives and MPI-IO. */
static MPI_Comm progress_comm = MPI_COMM_NULL;
static double progress_interval = 30.0;

void pirf_progress_set_interval(double seconds) { progress_interval = seconds > 0 ? seconds : 30.0; }
double pirf_progress_interval(void) { return progress_interval; }

const char *pirf_utc_now(char *buf) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char d[24];
  strftime(d, sizeof d, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, 32, "%s.%03dZ", d, (int)(ts.tv_nsec / 1000000));
  return buf;
}

double pirf_rss_peak_mib(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru)) return 0;
  return ru.ru_maxrss / 1024.0; /* Linux: KiB */
}

static int mpi_up(void) {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  return init && !fin;
}

/* This rank's peak RSS, and (`reduce`: collectively) the largest over the ranks. */
static void progress_exchange(pirf_progress *p, int reduce) {
  double rss = pirf_rss_peak_mib();
  if (reduce && progress_comm != MPI_COMM_NULL)
    MPI_Allreduce(MPI_IN_PLACE, &rss, 1, MPI_DOUBLE, MPI_MAX, progress_comm);
  if (rss > p->rss_max) p->rss_max = rss;
}

void pirf_progress_begin(pirf_progress *p, const char *label, const char *unit, long total) {
  p->label = label;
  p->unit = unit;
  p->total = total;
  p->done = 0;
  p->t_start = pirf_wtime();
  p->t_last_print = p->t_start;
  p->interval = progress_interval;
  p->rss_max = 0;
  if (mpi_up() && progress_comm == MPI_COMM_NULL) MPI_Comm_dup(MPI_COMM_WORLD, &progress_comm);
  progress_exchange(p, 1);
}

static void progress_print(pirf_progress *p, const char *extra, int final) {
  double now = pirf_wtime(), el = now - p->t_start;
  double rate = el > 0 ? (double)p->done / el : 0.0;
  double eta = rate > 0 ? (double)(p->total - p->done) / rate : -1.0;
  char b1[16], b2[16];
  pirf_log("[%s] %ld/%ld %s  %.3g %s/s  elapsed %s  %s %s  RSS %.0f MiB/rank%s%s\n", p->label,
           p->done, p->total, p->unit, rate, p->unit, pirf_format_duration(el, b1),
           final ? "done" : "ETA", final ? "" : pirf_format_duration(eta, b2), p->rss_max,
           extra ? "  " : "", extra ? extra : "");
  p->t_last_print = now;
}

void pirf_progress_update(pirf_progress *p, long done, const char *extra) {
  p->done = done;
  progress_exchange(p, 1);
  if (pirf_wtime() - p->t_last_print >= p->interval && done < p->total)
    progress_print(p, extra, 0);
}

void pirf_progress_heartbeat(pirf_progress *p, const char *extra) {
  if (pirf_wtime() - p->t_last_print >= p->interval) progress_print(p, extra, 0);
}

void pirf_progress_end(pirf_progress *p, const char *extra) {
  progress_exchange(p, 0);
  /* the last word on memory: a blocking reduction, every rank is here */
  if (progress_comm != MPI_COMM_NULL)
    MPI_Allreduce(MPI_IN_PLACE, &p->rss_max, 1, MPI_DOUBLE, MPI_MAX, progress_comm);
  p->done = p->total;
  progress_print(p, extra, 1);
}

void pirf_progress_close(pirf_progress *p) { (void)p; }
