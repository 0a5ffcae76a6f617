/* The Burgers module's own error paths say what was wrong:
 *
 *  burgers_rejects_modes_beyond_the_solver_band:
 *      pde.burgers.grf_modes above a third of the solver grid (the 2/3 de-aliasing band) is a
 *      collective user error (PIRF_ERR_USER on every rank), and raising solver_points fixes it.
 *  burgers_solver_rejects_bad_grid_and_step:
 *      the integrator refuses an odd or tiny grid and a non-positive viscosity or step. */
#include "physics_harness.h"
#include "testing.h"

#include "pirf/burgers.h"

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  PetscInitialize(&argc, &argv, NULL, NULL);
  pirf_error_set_trace(0);
  {
    char name[] = "pde.name=burgers", res[] = "grid.resolution=32", modes[] = "pde.burgers.grf_modes=100";
    char *over[] = {name, res, modes};
    test_physics t = {0};
    if (test_physics_setup(&t, MPI_COMM_WORLD, 1, 1, 1, over)) MPI_Abort(MPI_COMM_WORLD, 1);
    test_physics_teardown(&t);
    /* The deck is fine; physics creation rejects it. */
    test_physics bad = {0};
    int err = test_physics_setup(&bad, MPI_COMM_WORLD, 1, 1, 3, over);
    TEST_CHECK(err == PIRF_ERR_USER,
               "burgers_rejects_modes_beyond_the_solver_band: got %d, expected a user error", err);
    pirf_physics_destroy(&bad.ph);
    pirf_decomp_destroy(&bad.dc);
    pirf_config_destroy(&bad.cfg);

    char points[] = "pde.burgers.solver_points=512";
    char *fixed[] = {name, res, modes, points};
    test_physics ok = {0};
    err = test_physics_setup(&ok, MPI_COMM_WORLD, 1, 1, 4, fixed);
    TEST_CHECK(err == 0, "burgers_rejects_modes_beyond_the_solver_band: solver_points=512 still fails");
    if (!err) test_physics_teardown(&ok);
  }
  {
    pirf_burgers_solver s;
    TEST_CHECK(pirf_burgers_solver_create(7, 0.01, 1e-3, &s) != 0,
               "burgers_solver_rejects_bad_grid_and_step: odd grid accepted");
    TEST_CHECK(pirf_burgers_solver_create(4, 0.01, 1e-3, &s) != 0,
               "burgers_solver_rejects_bad_grid_and_step: 4-point grid accepted");
    TEST_CHECK(pirf_burgers_solver_create(64, 0.0, 1e-3, &s) != 0,
               "burgers_solver_rejects_bad_grid_and_step: nu = 0 accepted");
    TEST_CHECK(pirf_burgers_solver_create(64, 0.01, -1.0, &s) != 0,
               "burgers_solver_rejects_bad_grid_and_step: negative step accepted");
  }
  int rc = test_finish("burgers_errors");
  PetscFinalize();
  MPI_Finalize();
  return rc;
}
