# Burgers' equation (PIRF-SPEC 5.4): integrator, residual, adjoint, deck errors, generate layouts.
pirf_add_test(NAME burgers_solver SOURCE tests/physics/test_burgers_solver.c NP 1 TIMEOUT 60)
pirf_add_test(NAME burgers_residual SOURCE tests/physics/test_burgers_residual.c NP 1 4 TIMEOUT 60)
pirf_add_test(NAME burgers_residual_adjoint_replicate SOURCE tests/physics/test_residual_adjoint.c
              NP 1 2 4 ARGS burgers 32 pde.burgers.padding=replicate TIMEOUT 60)
pirf_add_test(NAME burgers_residual_adjoint_periodic SOURCE tests/physics/test_residual_adjoint.c
              NP 1 2 4 ARGS burgers 32 pde.burgers.padding=periodic pde.burgers.residual_dt=data
              TIMEOUT 60)
