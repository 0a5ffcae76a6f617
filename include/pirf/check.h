/* Error handling for pirf: every function that can fail returns an int error code (0 = success),
 * and the caller checks it with PIRF_TRY. A failure prints one human sentence with file:line at the
 * place it is detected; PIRF_TRY adds one "called from" line per frame on the way up.
 *
 * Two kinds of failure, because MPI makes them behave differently:
 *   PIRF_USER_CHECK  a collective check on user input (the deck, a grid that does not divide):
 *                    every rank evaluates it identically, rank 0 alone prints, and every rank
 *                    returns cleanly to main, which exits with status 2 on every rank (no
 *                    MPI_Abort). The message is one sentence; its source location is printed
 *                    only at verbosity 2 (PIRF_VERBOSITY=2 or output.verbosity=2).
 *   PIRF_CHECK       a local failure (a file a rank cannot read, an allocation): printed by the
 *                    rank that saw it; main then aborts the job so no peer hangs in a collective.
 */
#ifndef PIRF_CHECK_H
#define PIRF_CHECK_H

#include <mpi.h>
#include <stddef.h>

enum { PIRF_OK = 0, PIRF_ERR = 1, PIRF_ERR_USER = 2 };

void pirf_error_report(const char *file, int line, const char *func, int collective,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void pirf_error_trace(const char *file, int line, const char *func);
/* Whether the last reported error was a collective user-input error (see above). */
int pirf_error_is_collective(void);
/* Silence the "called from" trace lines (tests that provoke errors on purpose). */
void pirf_error_set_trace(int on);
/* Verbosity of error reports: the larger of $PIRF_VERBOSITY (read at each report, default 1) and
 * the value set here (output.verbosity, once the deck is loaded). At 2, user errors carry their
 * source location and "called from" lines too. */
int pirf_error_verbosity(void);
void pirf_error_set_verbosity(int verbosity);
/* Flush what this rank printed and give it time to reach mpiexec before MPI_Abort. */
void pirf_error_before_abort(void);

#define PIRF_CHECK(cond, ...)                                                                      \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      pirf_error_report(__FILE__, __LINE__, __func__, 0, __VA_ARGS__);                             \
      return PIRF_ERR;                                                                             \
    }                                                                                              \
  } while (0)

#define PIRF_USER_CHECK(cond, ...)                                                                 \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      pirf_error_report(__FILE__, __LINE__, __func__, 1, __VA_ARGS__);                             \
      return PIRF_ERR_USER;                                                                        \
    }                                                                                              \
  } while (0)

/* A stop request (PIRF_STOPPED = 3, pirf/stop.h) passes up without a trace: it is not a failure. */
#define PIRF_TRY(expr)                                                                             \
  do {                                                                                             \
    int pirf_try_err_ = (expr);                                                                    \
    if (pirf_try_err_) {                                                                           \
      if (pirf_try_err_ != 3) pirf_error_trace(__FILE__, __LINE__, __func__);                      \
      return pirf_try_err_;                                                                        \
    }                                                                                              \
  } while (0)

/* MPI calls: MPI's own error string is appended. */
int pirf_mpi_failed(int mpi_err, const char *call, const char *file, int line, const char *func);
#define PIRF_MPI(call)                                                                             \
  do {                                                                                             \
    int pirf_mpi_err_ = (call);                                                                    \
    if (pirf_mpi_err_ != MPI_SUCCESS)                                                              \
      return pirf_mpi_failed(pirf_mpi_err_, #call, __FILE__, __LINE__, __func__);                   \
  } while (0)

/* PETSc calls: PETSc prints its own traceback; we add our frame and convert the code. */
#define PIRF_PETSC(call)                                                                           \
  do {                                                                                             \
    int pirf_petsc_err_ = (int)(call);                                                             \
    if (pirf_petsc_err_) {                                                                         \
      pirf_error_report(__FILE__, __LINE__, __func__, 0, "PETSc call failed (code %d): %s",        \
                        pirf_petsc_err_, #call);                                                   \
      return PIRF_ERR;                                                                             \
    }                                                                                              \
  } while (0)

/* HDF5 calls return a negative value on failure. */
#define PIRF_H5(call, ...)                                                                         \
  do {                                                                                             \
    if ((long long)(call) < 0) {                                                                   \
      pirf_error_report(__FILE__, __LINE__, __func__, 0, __VA_ARGS__);                             \
      return PIRF_ERR;                                                                             \
    }                                                                                              \
  } while (0)

/* malloc/calloc with a sentence naming what was being allocated. */
void *pirf_malloc_impl(size_t bytes, const char *what, const char *file, int line);
void *pirf_calloc_impl(size_t n, size_t size, const char *what, const char *file, int line);
#define pirf_malloc(bytes, what) pirf_malloc_impl((bytes), (what), __FILE__, __LINE__)
#define pirf_calloc(n, size, what) pirf_calloc_impl((n), (size), (what), __FILE__, __LINE__)
#define PIRF_ALLOC(ptr, count, what)                                                               \
  do {                                                                                             \
    (ptr) = pirf_calloc((size_t)(count), sizeof(*(ptr)), (what));                                  \
    if (!(ptr)) return PIRF_ERR;                                                                   \
  } while (0)

#endif
