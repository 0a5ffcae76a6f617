/* adam_guard_replaces_nonfinite_gradients: before the update, the reduced gradient goes through
 * torch.nan_to_num(nan=0, posinf=1e5, neginf=-1e5), as the reference does, and nothing else (no
 * clipping: a finite 5e4 passes unchanged).
 *
 * Float 0 gets a NaN from rank 0, float 1 +inf from rank 0, float 2 -inf from the last rank; with
 * two or more ranks float 3 gets +inf from rank 0 and -inf from the last rank, whose sum is NaN.
 * A second optimizer fed the expected guarded values (0, 1e5, -1e5, 0, ...) must produce
 * bit-identical weights and moments over two steps, and the step reports how many values the
 * guard replaced (summed over ranks). */
#include "pirf/optim.h"
#include "testing.h"

#include <math.h>
#include <string.h>

enum { N = 9 };

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);

  float v[6] = {NAN, INFINITY, -INFINITY, 1.5f, -0.0f, 3e38f};
  long replaced = pirf_grad_sanitize(v, 6);
  TEST_CHECK(replaced == 3, "pirf_grad_sanitize replaced %ld values, expected 3", replaced);
  TEST_CHECK(v[0] == 0 && v[1] == 1e5f && v[2] == -1e5f && v[3] == 1.5f && v[5] == 3e38f,
             "pirf_grad_sanitize gave %g %g %g %g %g, expected 0 1e5 -1e5 1.5 3e38", v[0], v[1],
             v[2], v[3], v[5]);

  float pa[N], pb[N], ga[N], gb[N];
  for (int i = 0; i < N; i++) pa[i] = pb[i] = 0.1f * (float)i - 0.3f;
  pirf_adam a, b;
  TEST_CHECK(!pirf_adam_create(&a, MPI_COMM_WORLD, 0, N, NULL), "create");
  TEST_CHECK(!pirf_adam_create(&b, MPI_COMM_WORLD, 0, N, NULL), "create");
  for (int step = 0; step < 2; step++) {
    /* Finite parts: every rank adds (i+1)*0.25, so the sum is exact. */
    for (int i = 0; i < N; i++) ga[i] = 0.25f * (float)(i + 1) * (float)(step + 1);
    ga[N - 1] = 5e4f / (float)size; /* large but finite: no clipping */
    if (rank == 0) ga[0] = NAN, ga[1] = INFINITY;
    if (rank == size - 1) ga[2] = -INFINITY;
    if (size > 1 && rank == 0) ga[3] = INFINITY;
    if (size > 1 && rank == size - 1) ga[3] = -INFINITY;
    /* Expected guarded sum, given to the second optimizer by rank 0 alone. */
    for (int i = 0; i < N; i++) gb[i] = rank == 0 ? 0.25f * (float)(i + 1) * (float)(step + 1) * (float)size : 0.0f;
    if (rank == 0) {
      gb[N - 1] = 5e4f;
      gb[0] = 0, gb[1] = 1e5f, gb[2] = -1e5f;
      if (size > 1) gb[3] = 0;
    }
    long bad = -1;
    TEST_CHECK(!pirf_adam_step(&a, pa, ga, 1.0, 1e-2, &bad), "step");
    TEST_CHECK(!pirf_adam_step(&b, pb, gb, 1.0, 1e-2, NULL), "step");
    long expect = size > 1 ? 4 : 3;
    TEST_CHECK(bad == expect, "step %d: the guard reports %ld replaced values, expected %ld",
               step + 1, bad, expect);
    for (int i = 0; i < N; i++)
      TEST_CHECK(isfinite(pa[i]) && pa[i] == pb[i],
                 "step %d float %d: weight %.9g with the guard, %.9g with sanitized gradients",
                 step + 1, i, pa[i], pb[i]);
    TEST_CHECK(!memcmp(a.m, b.m, a.n * sizeof(float)) && !memcmp(a.v, b.v, a.n * sizeof(float)),
               "step %d: moments differ from the run with sanitized gradients", step + 1);
  }
  pirf_adam_destroy(&a);
  pirf_adam_destroy(&b);
  int rc = test_finish("adam_guard_replaces_nonfinite_gradients");
  MPI_Finalize();
  return rc;
}
