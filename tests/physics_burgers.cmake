# Burgers' equation (docs/algorithm.md §5.4): integrator, residual, adjoint, deck errors, generate layouts.
pirf_add_test(NAME burgers_solver SOURCE tests/physics/test_burgers_solver.c NP 1 TIMEOUT 60)
pirf_add_test(NAME burgers_generator SOURCE tests/physics/test_burgers_generator.c NP 1 TIMEOUT 60)
pirf_add_test(NAME burgers_residual SOURCE tests/physics/test_burgers_residual.c NP 1 4 TIMEOUT 60)
pirf_add_test(NAME burgers_residual_adjoint_replicate SOURCE tests/physics/test_residual_adjoint.c
              NP 1 2 4 ARGS burgers 32 pde.burgers.padding=replicate TIMEOUT 60)
pirf_add_test(NAME burgers_residual_adjoint_periodic SOURCE tests/physics/test_residual_adjoint.c
              NP 1 2 4 ARGS burgers 32 pde.burgers.padding=periodic pde.burgers.residual_dt=data
              TIMEOUT 60)
pirf_add_test(NAME burgers_errors SOURCE tests/physics/test_burgers_errors.c NP 1 2 TIMEOUT 60)

# generated_data_is_identical_at_1_2_4_ranks: `pirf generate` on the quickstart deck (shrunk to
# 24 samples) at tiles [1,1], [2,1] and [2,2]; the data sets agree within 1e-6 (each rank integrates
# whole samples redundantly, so they are in fact bit-identical).
set(BURGERS_GEN_DIR ${CMAKE_BINARY_DIR}/test_data)
foreach(layout "1;1;1" "2;2;1" "4;2;2")
  list(GET layout 0 np)
  list(GET layout 1 tx)
  list(GET layout 2 ty)
  add_test(NAME burgers_generate_np${np}
           COMMAND ${PIRF_TEST_MPIEXEC} ${MPIEXEC_NUMPROC_FLAG} ${np} $<TARGET_FILE:pirf> generate
                   ${CMAKE_SOURCE_DIR}/input/burgers_quickstart.yaml data.samples=24 data.chunk=8
                   "parallel.tiles=[${tx},${ty}]" data.path=${BURGERS_GEN_DIR}/burgers_np${np}.h5
                   output.verbosity=0
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(burgers_generate_np${np} PROPERTIES ENVIRONMENT "${PIRF_TEST_ENV}"
                       PROCESSORS ${np} TIMEOUT 60 FIXTURES_SETUP burgers_generated)
endforeach()
foreach(np 2 4)
  add_test(NAME burgers_generated_data_matches_np1_at_np${np}
           COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/compare_fields.py
                   ${BURGERS_GEN_DIR}/burgers_np1.h5 ${BURGERS_GEN_DIR}/burgers_np${np}.h5 1e-6)
  set_tests_properties(burgers_generated_data_matches_np1_at_np${np} PROPERTIES
                       FIXTURES_REQUIRED burgers_generated TIMEOUT 60)
endforeach()
