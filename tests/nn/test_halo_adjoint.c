/* halo_pad_matches_zero_padded_field:
 *     every cell of the padded tile (interior, edges, corners) equals the global field at that
 *     position, or 0 beyond the physical boundary.
 * halo_unpad_add_is_the_adjoint_of_pad:
 *     <pad(x), p> == <x, unpad_add(p)> summed over the space group, and unpad_add accumulates.
 * Run at 1, 2 and 4 ranks on a 10 x 14 grid with uneven tiles (levels = 2: blocks of 2). */
#include "nn_harness.h"
#include "pirf/halo.h"
#include "testing.h"

#include <petscsys.h>

int main(int argc, char **argv) {
  PetscInitialize(&argc, &argv, NULL, NULL);
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int px, py;
  nn_layout(argc, argv, size, &px, &py);
  pirf_decomp dc;
  if (pirf_decomp_create(MPI_COMM_WORLD, 10, 14, px, py, 2, &dc)) MPI_Abort(MPI_COMM_WORLD, 1);
  for (int level = 0; level < 2; level++) {
    pirf_level L;
    pirf_level_init(&L, &dc, level);
    const int n = 3;
    const size_t nt = (size_t)n * L.xm * L.ym, np = (size_t)n * (L.xm + 2) * (L.ym + 2);
    float *x = nn_alloc(nt), *xp = nn_alloc_dirty(np), *p = nn_alloc(np), *xb = nn_alloc(nt),
          *xb0 = nn_alloc(nt), *buf = nn_alloc_dirty(pirf_halo_scratch_floats(&L, n));
    nn_fill_tile(&L, n, 1, x);
    TEST_CHECK(!pirf_halo_pad(&L, n, x, xp, buf), "pirf_halo_pad failed");
    int bad = 0;
    for (int c = 0; c < n; c++)
      for (int i = -1; i <= L.ym; i++)
        for (int j = -1; j <= L.xm; j++) {
          int gi = L.ys + i, gj = L.xs + j;
          float want = (gi < 0 || gj < 0 || gi >= L.H || gj >= L.W) ? 0.0f
                                                                   : nn_rand(1, (uint64_t)c, (uint64_t)gi, (uint64_t)gj);
          float got = xp[((size_t)c * (L.ym + 2) + i + 1) * (L.xm + 2) + j + 1];
          if (got != want && bad++ < 5)
            fprintf(stderr, "level %d plane %d padded (%d,%d): got %g want %g\n", level, c, i, j,
                    got, want);
        }
    TEST_CHECK(bad == 0, "halo_pad_matches_zero_padded_field (level %d): %d wrong cells", level, bad);

    /* p: a random padded field, different per rank (a frame cell is a different variable on each
     * rank that holds it) */
    for (size_t k = 0; k < np; k++) p[k] = nn_rand(2, k, (uint64_t)dc.space_rank, (uint64_t)level);
    nn_fill_tile(&L, n, 3, xb0);
    for (size_t k = 0; k < nt; k++) xb[k] = xb0[k];
    TEST_CHECK(!pirf_halo_unpad_add(&L, n, p, xb, buf), "pirf_halo_unpad_add failed");
    for (size_t k = 0; k < nt; k++) xb[k] -= xb0[k];
    double lhs = nn_dot(L.comm, np, xp, p), rhs = nn_dot(L.comm, nt, x, xb);
    TEST_CLOSE(rhs, lhs, 1e-6, 1e-6, "halo_unpad_add_is_the_adjoint_of_pad");
    free(x), free(xp), free(p), free(xb), free(xb0), free(buf);
  }
  pirf_decomp_destroy(&dc);
  int rc = test_finish("halo_adjoint");
  PetscFinalize();
  return rc;
}
