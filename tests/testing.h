/* A minimal test harness for pirf's C tests (MPI-aware).
 *
 *   TEST_CHECK(cond, "fmt", ...)   records a failure with file:line and a message (all ranks)
 *   TEST_CLOSE(a, b, rtol, atol, "what")  |a-b| <= atol + rtol*|b|
 *   return test_finish("name");    reduces the failure count over MPI_COMM_WORLD, prints one
 *                                  "name: N passed, M failed" line on rank 0, returns the exit code
 *
 * Tests state the property they check in their name and print the first mismatches and the worst
 * difference, as docs/DEVELOPING.md asks. */
#ifndef PIRF_TESTING_H
#define PIRF_TESTING_H

#include <math.h>
#include <mpi.h>
#include <stdio.h>

static int test_passed_ = 0, test_failed_ = 0;

static inline int test_rank_(void) {
  int r = 0, init = 0;
  MPI_Initialized(&init);
  if (init) MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

#define TEST_CHECK(cond, ...)                                                                      \
  do {                                                                                             \
    if (cond) {                                                                                    \
      test_passed_++;                                                                              \
    } else {                                                                                       \
      test_failed_++;                                                                              \
      fprintf(stderr, "[rank %d] FAIL %s:%d: ", test_rank_(), __FILE__, __LINE__);                 \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fprintf(stderr, "\n");                                                                       \
    }                                                                                              \
  } while (0)

#define TEST_CLOSE(a, b, rtol, atol, what)                                                         \
  do {                                                                                             \
    double ta_ = (double)(a), tb_ = (double)(b);                                                   \
    TEST_CHECK(fabs(ta_ - tb_) <= (atol) + (rtol) * fabs(tb_), "%s: %.10g vs %.10g (diff %.3g)",   \
               (what), ta_, tb_, fabs(ta_ - tb_));                                                 \
  } while (0)

static inline int test_finish(const char *name) {
  int counts[2] = {test_passed_, test_failed_};
  int init = 0;
  MPI_Initialized(&init);
  if (init) MPI_Allreduce(MPI_IN_PLACE, counts, 2, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (test_rank_() == 0) printf("%s: %d passed, %d failed\n", name, counts[0], counts[1]);
  return counts[1] ? 1 : 0;
}

#endif
