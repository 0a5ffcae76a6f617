/* Rank-0 logging, wall-clock timing and the progress line for long loops.
 *
 * pirf_log prints on world rank 0 only (the job log a cluster user reads); pirf_log_rank prints on
 * every rank with a "[rank r]" prefix, for per-rank diagnostics. A progress line reports count,
 * rate and ETA, at most every `interval` seconds plus once at the end, so job logs stay short. */
#ifndef PIRF_LOG_H
#define PIRF_LOG_H

#include <stddef.h>
#include <stdio.h>

void pirf_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pirf_log_rank(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Verbosity: 0 quiet (errors only), 1 normal, 2 debug. pirf_debug prints at level 2. */
void pirf_log_set_level(int level);
int pirf_log_level(void);
void pirf_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

double pirf_wtime(void); /* seconds, monotonic */

typedef struct {
  const char *label; /* e.g. "generate" */
  const char *unit;  /* e.g. "samples" */
  long total;
  long done;
  double t_start, t_last_print, interval;
} pirf_progress;

void pirf_progress_begin(pirf_progress *p, const char *label, const char *unit, long total);
/* Advance to `done` items; `extra` (may be NULL) is appended to the line, e.g. "loss 0.123". */
void pirf_progress_update(pirf_progress *p, long done, const char *extra);
void pirf_progress_end(pirf_progress *p, const char *extra);
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
