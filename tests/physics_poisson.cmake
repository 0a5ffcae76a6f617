# Poisson and Helmholtz (docs/algorithm.md §5.2, §5.3): the shared vertex-grid 5-point solve and residual,
# the generic residual/adjoint checks, `pirf generate` at several layouts, and the error paths.

pirf_add_test(NAME poisson_helmholtz_solvers_converge_at_second_order
              SOURCE tests/physics/test_lap5_solve_order.c NP 1 2 4 LABELS physics)

foreach(pde poisson helmholtz)
  pirf_add_test(NAME ${pde}_residual_matches_analytic_and_replicates_edges
                SOURCE tests/physics/test_lap5_residual_analytic.c NP 1 2 4 ARGS ${pde} LABELS physics)
endforeach()
# the reward's a scale is a deck key: the physically consistent 2.15 must be honoured too
pirf_add_test(NAME poisson_residual_honours_a_scale_key
              SOURCE tests/physics/test_lap5_residual_analytic.c NP 1 ARGS poisson pde.poisson.a_scale=2.15
              LABELS physics)

# The generic checks: adjoint vs central difference, tiled vs single-rank (tests/physics).
foreach(pde poisson helmholtz)
  pirf_add_test(NAME ${pde}_residual_adjoint SOURCE tests/physics/test_residual_adjoint.c
                NP 1 2 4 ARGS ${pde} 32 LABELS physics)
endforeach()

# `pirf generate` at 1 rank ([1,1]), 2 ([2,1]) and 4 ([2,2]) must give the same data set: the a
# channel bit for bit (the GRF is a pure function of the global index), u within 1e-6 (the AMG
# and Krylov reductions differ with the partition; the solves stop at rtol 1e-10).
set(PIRF_PY /usr/bin/python3)
foreach(pde poisson helmholtz)
  set(layouts "1:[1,1]" "2:[2,1]" "4:[2,2]")
  foreach(layout ${layouts})
    string(REPLACE ":" ";" parts ${layout})
    list(GET parts 0 np)
    list(GET parts 1 tiles)
    set(name ${pde}_generate_np${np})
    add_test(NAME ${name}
             COMMAND ${PIRF_TEST_MPIEXEC} ${MPIEXEC_NUMPROC_FLAG} ${np} $<TARGET_FILE:pirf> generate
                     ${CMAKE_SOURCE_DIR}/input/${pde}_quickstart.yaml data.samples=24 data.chunk=5
                     parallel.tiles=${tiles} data.path=generated/${name}.h5
             WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
    set_tests_properties(${name} PROPERTIES ENVIRONMENT "${PIRF_TEST_ENV}" PROCESSORS ${np}
                         TIMEOUT 120 LABELS physics FIXTURES_SETUP ${pde}_generated)
  endforeach()
  foreach(np 2 4)
    set(name ${pde}_generate_is_layout_independent_np${np})
    add_test(NAME ${name}
             COMMAND ${PIRF_PY} ${CMAKE_SOURCE_DIR}/tests/compare_fields.py
                     generated/${pde}_generate_np1.h5 generated/${pde}_generate_np${np}.h5 0 1e-6
             WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
    set_tests_properties(${name} PROPERTIES LABELS physics FIXTURES_REQUIRED ${pde}_generated
                         DEPENDS "${pde}_generate_np1;${pde}_generate_np${np}")
  endforeach()
endforeach()

# Error paths (pirf_expect_error from tests/core.cmake): a generator solve that stops before
# pde.solver_rtol is a clear collective error, and out-of-range PDE keys name the key and range.
pirf_expect_error(poisson_solver_not_converged 2
                  "generator's linear solve did not converge \\(DIVERGED_ITS after 1 iterations.*pde.solver_rtol" 2
                  generate ${CMAKE_SOURCE_DIR}/input/poisson_quickstart.yaml data.samples=2
                  data.path=generated/not_converged.h5 -gen_ksp_max_it 1)
pirf_expect_error(helmholtz_solver_not_converged 2
                  "generator's linear solve did not converge \\(DIVERGED_ITS after 1 iterations" 1
                  generate ${CMAKE_SOURCE_DIR}/input/helmholtz_quickstart.yaml data.samples=2
                  data.path=generated/not_converged.h5 -gen_ksp_max_it 1)
pirf_expect_error(helmholtz_k_out_of_range 2 "key 'pde.helmholtz.k' is out of range: 3.*\\[0, 2.5\\]" 1
                  generate ${CMAKE_SOURCE_DIR}/input/helmholtz_quickstart.yaml pde.helmholtz.k=3)
pirf_expect_error(poisson_a_scale_out_of_range 2 "key 'pde.poisson.a_scale' is out of range: 0" 1
                  generate ${CMAKE_SOURCE_DIR}/input/poisson_quickstart.yaml pde.poisson.a_scale=0)
