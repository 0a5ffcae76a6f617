# Burgers' equation (PIRF-SPEC 5.4): integrator, residual, adjoint, deck errors, generate layouts.
pirf_add_test(NAME burgers_solver SOURCE tests/physics/test_burgers_solver.c NP 1 TIMEOUT 60)
