/* kolmogorov rejects grids its slab FFT cannot split, with a user error (collective, exit code 2)
 * naming grid.resolution and parallel.tiles, and accepts the ones it can, at 1, 2 or 4 ranks:
 *
 *  odd_resolution_is_a_user_error:            grid.resolution = 34 + 1
 *  resolution_not_divisible_by_tiles_is_a_user_error (4 ranks, tiles [2,2]): grid.resolution = 34
 *  unresolved_forcing_is_a_user_error:        forcing_wavenumber 8 on a 16 grid (2/3 cutoff 5)
 *  divisible_resolution_is_accepted:          grid.resolution = 36 */
#include "physics_harness.h"
#include "testing.h"

static int try_setup(int px, int py, const char *res, const char *extra) {
  char *over[3] = {"pde.name=kolmogorov", (char *)res, (char *)extra};
  test_physics t;
  int err = test_physics_setup(&t, MPI_COMM_WORLD, px, py, extra ? 3 : 2, over);
  if (!err) test_physics_teardown(&t);
  return err;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  PetscInitialize(&argc, &argv, NULL, NULL);
  pirf_error_set_trace(0);
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int px = size >= 2 ? 2 : 1, py = size >= 4 ? 2 : 1;
  int err = try_setup(px, py, "grid.resolution=35", NULL);
  TEST_CHECK(err == PIRF_ERR_USER, "odd_resolution_is_a_user_error: got code %d", err);
  if (size == 4) {
    err = try_setup(px, py, "grid.resolution=34", NULL);
    TEST_CHECK(err == PIRF_ERR_USER,
               "resolution_not_divisible_by_tiles_is_a_user_error: got code %d", err);
  }
  err = try_setup(px, py, "grid.resolution=16", "pde.kolmogorov.forcing_wavenumber=8");
  TEST_CHECK(err == PIRF_ERR_USER, "unresolved_forcing_is_a_user_error: got code %d", err);
  err = try_setup(px, py, "grid.resolution=36", NULL);
  TEST_CHECK(err == 0, "divisible_resolution_is_accepted: got code %d", err);
  int rc = test_finish("kolmogorov_resolution_error");
  PetscFinalize();
  MPI_Finalize();
  return rc;
}
