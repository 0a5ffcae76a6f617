# Darcy flow (docs/algorithm.md §5.1): solver, GRF, residual, adjoint, rank-layout independence, errors.

pirf_add_test(NAME darcy_solver_converges_at_second_order
              SOURCE tests/physics/test_darcy_solver.c NP 1 2 4 TIMEOUT 60)
pirf_add_test(NAME darcy_solver_converges_at_second_order_harmonic
              SOURCE tests/physics/test_darcy_solver.c NP 2 TIMEOUT 60
              ARGS pde.darcy.face_average=harmonic)
pirf_add_test(NAME darcy_residual_matches_analytic_at_second_order
              SOURCE tests/physics/test_darcy_residual.c NP 1 2 4 TIMEOUT 60)
pirf_add_test(NAME darcy_grf_has_the_intended_covariance
              SOURCE tests/physics/test_darcy_grf.c NP 1 2 4 TIMEOUT 60)
# Non-default alpha/tau/a values: a generator that ignored the deck fails this one.
pirf_add_test(NAME darcy_grf_follows_deck_alpha_tau
              SOURCE tests/physics/test_darcy_grf.c NP 2 TIMEOUT 60
              ARGS pde.darcy.alpha=2.5 pde.darcy.tau=5 pde.darcy.a_high=10 pde.darcy.a_low=4)

# The generic residual/adjoint harness. Continuous a: both channels are perturbed. Thresholded a:
# a perturbation of the a channel may cross the threshold, so only u is perturbed, and J^T w must
# be exactly zero for a (dR/dx_a = 0, as the reference).
pirf_add_test(NAME darcy_residual_adjoint_continuous_a
              SOURCE tests/physics/test_residual_adjoint.c NP 1 2 4 TIMEOUT 60
              ARGS darcy 32 pde.darcy.discretize_a=false)
pirf_add_test(NAME darcy_residual_adjoint_discretized_a
              SOURCE tests/physics/test_residual_adjoint.c NP 1 2 4 TIMEOUT 60
              ARGS darcy 32 pde.darcy.discretize_a=true --perturb=1 --zero-adjoint=0)

# `pirf generate` gives the same data set at 1, 2 and 4 ranks and with 2 data groups:
# channel a bit-identical, channel u within 1e-6 (iterative solves on different partitions).
# Two data groups of one tile each solve with the same partition as one rank, only different
# samples first: u must then be bit-identical too (no solver state carried between samples).
set(DARCY_DECK ${CMAKE_SOURCE_DIR}/tests/physics/darcy_tiny.yaml)
set(DARCY_LAYOUTS "1:1,1:np1:0" "2:2,1:np2:1e-6" "4:2,2:np4:1e-6" "4:2,1:np4_groups2:1e-6"
                  "2:1,1:np2_groups2:0")
foreach(layout ${DARCY_LAYOUTS})
  string(REPLACE ":" ";" parts ${layout})
  list(GET parts 0 np)
  list(GET parts 1 tiles)
  list(GET parts 2 tag)
  list(GET parts 3 utol)
  add_test(NAME darcy_generate_${tag}
           COMMAND ${PIRF_TEST_MPIEXEC} ${MPIEXEC_NUMPROC_FLAG} ${np} $<TARGET_FILE:pirf>
                   generate ${DARCY_DECK} parallel.tiles=[${tiles}]
                   data.path=${CMAKE_BINARY_DIR}/darcy_test/${tag}.h5
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(darcy_generate_${tag} PROPERTIES ENVIRONMENT "${PIRF_TEST_ENV}"
                       PROCESSORS ${np} TIMEOUT 60 FIXTURES_SETUP darcy_layouts)
  if(NOT tag STREQUAL "np1")
    add_test(NAME darcy_generate_same_data_${tag}_as_np1
             COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/compare_fields.py
                     ${CMAKE_BINARY_DIR}/darcy_test/np1.h5 ${CMAKE_BINARY_DIR}/darcy_test/${tag}.h5
                     0 ${utol})
    set_tests_properties(darcy_generate_same_data_${tag}_as_np1 PROPERTIES
                         ENVIRONMENT "${PIRF_TEST_ENV}" TIMEOUT 60 FIXTURES_REQUIRED darcy_layouts)
  endif()
endforeach()

# User errors: one clear message naming the key, exit status 2; a solve that does not converge
# is an error naming what to change (here forced with a 2-iteration limit), never a silent sample.
add_test(NAME darcy_rejects_a_low_not_below_a_high
         COMMAND ${PIRF_TEST_MPIEXEC} ${MPIEXEC_NUMPROC_FLAG} 2 $<TARGET_FILE:pirf> generate
                 ${DARCY_DECK} pde.darcy.a_low=12 pde.darcy.a_high=3
                 data.path=${CMAKE_BINARY_DIR}/darcy_test/bad_a.h5)
set_tests_properties(darcy_rejects_a_low_not_below_a_high PROPERTIES
                     ENVIRONMENT "${PIRF_TEST_ENV}" PROCESSORS 2 TIMEOUT 60
                     PASS_REGULAR_EXPRESSION "pde.darcy.a_low \\(12\\) must be smaller than pde.darcy.a_high")
add_test(NAME darcy_reports_unconverged_solve
         COMMAND ${PIRF_TEST_MPIEXEC} ${MPIEXEC_NUMPROC_FLAG} 1 $<TARGET_FILE:pirf> generate
                 ${DARCY_DECK} data.path=${CMAKE_BINARY_DIR}/darcy_test/unconverged.h5
                 -darcy_ksp_max_it 2)
set_tests_properties(darcy_reports_unconverged_solve PROPERTIES
                     ENVIRONMENT "${PIRF_TEST_ENV}" PROCESSORS 1 TIMEOUT 60
                     PASS_REGULAR_EXPRESSION "Darcy solve did not converge.*pde.solver_rtol")
add_test(NAME darcy_rejects_tiles_narrower_than_the_stencil
         COMMAND ${PIRF_TEST_MPIEXEC} ${MPIEXEC_NUMPROC_FLAG} 4 $<TARGET_FILE:pirf> generate
                 ${DARCY_DECK} grid.resolution=8 model.channel_mult=[1] parallel.tiles=[4,1]
                 data.path=${CMAKE_BINARY_DIR}/darcy_test/narrow.h5)
set_tests_properties(darcy_rejects_tiles_narrower_than_the_stencil PROPERTIES
                     ENVIRONMENT "${PIRF_TEST_ENV}" PROCESSORS 4 TIMEOUT 60
                     PASS_REGULAR_EXPRESSION "tiles only 2 points wide.*use fewer tiles")
