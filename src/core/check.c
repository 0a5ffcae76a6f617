/* Error reporting behind the check macros in pirf/check.h. */
#include "pirf/check.h"
#include "pirf/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int last_error_collective = 0;
static int trace_on = 1;

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

void pirf_error_report(const char *file, int line, const char *func, int collective,
                       const char *fmt, ...) {
  int size, rank = world_rank(&size);
  last_error_collective = collective;
  if (collective && rank != 0) return;
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (size > 1 && !collective)
    fprintf(stderr, "pirf: error (rank %d): %s\n  at %s:%d (%s)\n", rank, msg, file, line, func);
  else
    fprintf(stderr, "pirf: error: %s\n  at %s:%d (%s)\n", msg, file, line, func);
  fflush(stderr);
  pirf_log_file_error_report(msg, file, line); /* output.dir/log.txt, when one is open */
}

void pirf_error_trace(const char *file, int line, const char *func) {
  int size, rank = world_rank(&size);
  if (!trace_on || last_error_collective) return; /* user errors: the sentence is enough */
  (void)rank;
  fprintf(stderr, "  called from %s:%d (%s)\n", file, line, func);
}

int pirf_error_is_collective(void) { return last_error_collective; }
void pirf_error_set_trace(int on) { trace_on = on; }

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
