/* Error reporting behind the check macros in pirf/check.h.
 *
 * A user error (collective) is one sentence; where it was detected ("at src/...c:NNN") is printed
 * only at verbosity 2, because it means nothing to the user and everything to a developer. A
 * local failure (a file a rank cannot write, a library call that failed) keeps its location and
 * the "called from" lines: it may be a bug, and a report needs them. The verbosity is known before
 * the deck is: the environment variable PIRF_VERBOSITY (0, 1, 2) sets it from the start, and
 * output.verbosity raises it once the deck is loaded (the larger of the two applies). */
#include "pirf/check.h"
#include "pirf/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int last_error_collective = 0;
static int trace_on = 1;
static int deck_verbosity = -1;

static int world_rank(int *size) {
  int init = 0, fin = 0, rank = 0;
  *size = 1;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (init && !fin) {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
  }
  return rank;
}

int pirf_error_verbosity(void) {
  const char *env = getenv("PIRF_VERBOSITY");
  int v = env && *env ? atoi(env) : 1;
  return deck_verbosity > v ? deck_verbosity : v;
}

void pirf_error_set_verbosity(int verbosity) { deck_verbosity = verbosity; }

void pirf_error_report(const char *file, int line, const char *func, int collective,
                       const char *fmt, ...) {
  int size, rank = world_rank(&size);
  last_error_collective = collective;
  if (collective && rank != 0) return;
  /* the message at full length: it may quote a long value or path */
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *msg = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (msg) {
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);
  }
  const char *text = msg ? msg : fmt;
  fflush(stdout); /* progress lines first, then the error */
  if (size > 1 && !collective)
    fprintf(stderr, "pirf: error (rank %d): %s\n", rank, text);
  else
    fprintf(stderr, "pirf: error: %s\n", text);
  if (!collective || pirf_error_verbosity() >= 2) fprintf(stderr, "  at %s:%d (%s)\n", file, line, func);
  fflush(stderr);
  pirf_log_file_error_report(text, file, line); /* output.dir/log.txt, when one is open */
  free(msg);
}

void pirf_error_trace(const char *file, int line, const char *func) {
  /* user errors: the sentence is enough (at verbosity 2, the frames too) */
  if (!trace_on || (last_error_collective && pirf_error_verbosity() < 2)) return;
  int size, rank = world_rank(&size);
  if (last_error_collective && rank != 0) return;
  fprintf(stderr, "  called from %s:%d (%s)\n", file, line, func);
  fflush(stderr);
}

int pirf_error_is_collective(void) { return last_error_collective; }
void pirf_error_set_trace(int on) { trace_on = on; }

void pirf_error_before_abort(void) {
  fflush(stdout);
  fflush(stderr);
  /* MPI_Abort's notice travels to mpiexec on another channel than this rank's stderr; without a
   * pause it regularly overtakes the sentence that says what went wrong. */
  struct timespec t = {0, 500 * 1000 * 1000};
  nanosleep(&t, NULL);
}

int pirf_mpi_failed(int mpi_err, const char *call, const char *file, int line, const char *func) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(mpi_err, text, &len);
  pirf_error_report(file, line, func, 0, "MPI call failed: %s: %s", call, text);
  return PIRF_ERR;
}

void *pirf_malloc_impl(size_t bytes, const char *what, const char *file, int line) {
  void *p = malloc(bytes ? bytes : 1);
  if (!p)
    pirf_error_report(file, line, "malloc", 0,
                      "out of memory allocating %zu bytes for %s; use more ranks or a smaller "
                      "batch/grid", bytes, what);
  return p;
}

void *pirf_calloc_impl(size_t n, size_t size, const char *what, const char *file, int line) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p)
    pirf_error_report(file, line, "calloc", 0,
                      "out of memory allocating %zu bytes for %s; use more ranks or a smaller "
                      "batch/grid", n * size, what);
  return p;
}
