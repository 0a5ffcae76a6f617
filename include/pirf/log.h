/* Rank-0 logging, wall-clock timing and the progress line for long loops.
 *
 * pirf_log prints on world rank 0 only (the job log a cluster user reads); pirf_log_rank prints on
 * every rank with a "[rank r]" prefix, for per-rank diagnostics.
 *
 * A progress line reports count, rate, ETA and the peak RSS per rank (the largest over the ranks),
 * at most every output.progress_s seconds (pirf_progress_set_interval; default 30) plus once at the
 * end, so job logs stay short but a long stage still shows signs of life. pirf_progress_begin,
 * _update and _end are collective over MPI_COMM_WORLD: every rank calls them, the same number of
 * times (each update reduces the peak RSS over the ranks, one number). pirf_progress_heartbeat is
 * local and may be called anywhere (inside a long step): it prints on rank 0 when the interval has
 * passed. */
#ifndef PIRF_LOG_H
#define PIRF_LOG_H

#include <mpi.h>
#include <stddef.h>
#include <stdio.h>

void pirf_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pirf_log_rank(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Verbosity: 0 quiet (errors only), 1 normal, 2 debug. pirf_debug prints at level 2. */
void pirf_log_set_level(int level);
int pirf_log_level(void);
void pirf_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

double pirf_wtime(void); /* seconds, monotonic */
/* Wall-clock time as ISO 8601 UTC, "2026-12-02T15:45:15.123Z", into buf (>= 32 bytes). */
const char *pirf_utc_now(char *buf);
/* This process's peak resident set size in MiB (getrusage). */
double pirf_rss_peak_mib(void);

typedef struct {
  const char *label; /* e.g. "generate" */
  const char *unit;  /* e.g. "samples" */
  long total;
  long done;
  double t_start, t_last_print, interval;
  double rss_max; /* MiB: the largest peak RSS over the ranks seen so far */
} pirf_progress;

/* The interval between progress lines in seconds (output.progress_s), for progress lines begun
 * after the call. */
void pirf_progress_set_interval(double seconds);
double pirf_progress_interval(void);
void pirf_progress_begin(pirf_progress *p, const char *label, const char *unit, long total);
/* Advance to `done` items; `extra` (may be NULL) is appended to the line, e.g. "loss 0.123". */
void pirf_progress_update(pirf_progress *p, long done, const char *extra);
/* Local: print a line (rank 0) if the interval has passed since the last one; `extra` as above. */
void pirf_progress_heartbeat(pirf_progress *p, const char *extra);
void pirf_progress_end(pirf_progress *p, const char *extra);
/* End without a line (a stage that stops or fails part way); nothing is left to complete. */
void pirf_progress_close(pirf_progress *p);
/* output.dir/log.txt (rank 0 only; see docs/run-directory.md): while a log file is open, every
 * line printed by pirf_log, pirf_debug, pirf_log_rank (rank 0) and the progress functions, and every
 * error sentence, is also appended to it with a UTC timestamp at the start of each line. `header`
 * (may be NULL) is written first. Returns 0, or 1 if the file cannot be opened for appending. */
int pirf_log_file_open(const char *path, const char *header);
void pirf_log_file_close(void);
/* A line for the log file only (not stdout); no-op when none is open. */
void pirf_log_file_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An error sentence (from pirf_error_report, rank 0) for the open log file; no-op when none is. */
void pirf_log_file_error_report(const char *msg, const char *file, int line);
/* Current UTC time as 2026-01-31T12:34:56.789Z into buf (>= 32 bytes). */
const char *pirf_log_timestamp(char *buf, size_t len);

/* Formats seconds as H:MM:SS into buf (>= 16 bytes). */
const char *pirf_format_duration(double seconds, char *buf);

#endif
