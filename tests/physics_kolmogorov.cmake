# kolmogorov (docs/algorithm.md §5.5): integrator, residual, exact adjoint, generator, user errors.
pirf_add_test(NAME kolmogorov_integrator SOURCE tests/physics/test_kolmogorov_integrator.c NP 1 2 4)
pirf_add_test(NAME kolmogorov_residual SOURCE tests/physics/test_kolmogorov_residual.c NP 1 2 4)
pirf_add_test(NAME kolmogorov_resolution_error SOURCE tests/physics/test_kolmogorov_resolution_error.c
              NP 1 2 4)
pirf_add_test(NAME residual_adjoint_kolmogorov SOURCE tests/physics/test_residual_adjoint.c NP 1 2 4
              ARGS kolmogorov 32)

# `pirf generate` gives the same data at every rank layout: [1,1], [2,1], [2,2], and two data
# groups of [1,1] (the second group starts in the middle of a trajectory).
# (each case gives grid.resolution itself: an override may be given once)
set(KOLMO_GEN_ARGS generate ${CMAKE_SOURCE_DIR}/input/kolmogorov_quickstart.yaml
    data.samples=6 data.chunk=2 pde.kolmogorov.samples_per_trajectory=4 pde.kolmogorov.spinup=0.5
    output.verbosity=0)
foreach(layout "1;1;1" "2;2;1" "4;2;2" "2;1;1")
  list(GET layout 0 np)
  list(GET layout 1 tx)
  list(GET layout 2 ty)
  set(name kolmogorov_generate_np${np}_tiles${tx}x${ty})
  add_test(NAME ${name}
           COMMAND ${PIRF_TEST_MPIEXEC} ${MPIEXEC_NUMPROC_FLAG} ${np} $<TARGET_FILE:pirf>
                   ${KOLMO_GEN_ARGS} grid.resolution=32 parallel.tiles=[${tx},${ty}]
                   data.path=kolmogorov_test/gen_${np}_${tx}x${ty}.h5
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "${PIRF_TEST_ENV}" PROCESSORS ${np}
                       TIMEOUT 120 FIXTURES_SETUP kolmogorov_generated)
  if(NOT np EQUAL 1)
    add_test(NAME kolmogorov_generate_matches_np1_np${np}_tiles${tx}x${ty}
             COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/compare_fields.py
                     kolmogorov_test/gen_1_1x1.h5 kolmogorov_test/gen_${np}_${tx}x${ty}.h5 1e-6
             WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
    set_tests_properties(kolmogorov_generate_matches_np1_np${np}_tiles${tx}x${ty} PROPERTIES
                         FIXTURES_REQUIRED kolmogorov_generated)
  endif()
endforeach()

# The user error of `pirf generate` itself: exit code 2 and a message naming both keys.
add_test(NAME kolmogorov_generate_rejects_indivisible_grid
         COMMAND ${PIRF_TEST_MPIEXEC} ${MPIEXEC_NUMPROC_FLAG} 4 $<TARGET_FILE:pirf>
                 ${KOLMO_GEN_ARGS} grid.resolution=34 parallel.tiles=[2,2]
                 model.channel_mult=[1] data.path=kolmogorov_test/never.h5
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(kolmogorov_generate_rejects_indivisible_grid PROPERTIES
                     ENVIRONMENT "${PIRF_TEST_ENV}" PROCESSORS 4 TIMEOUT 60
                     PASS_REGULAR_EXPRESSION "grid.resolution is 34.*parallel.tiles")

# Tiles that do not line up with the FFT slabs: R = 40 on [1,4] with 3 U-Net levels gives tile
# rows 12, 12, 8, 8 against slabs of 10 rows.
foreach(layout "1;1;1" "4;1;4")
  list(GET layout 0 np)
  list(GET layout 1 tx)
  list(GET layout 2 ty)
  set(name kolmogorov_generate_r40_np${np}_tiles${tx}x${ty})
  add_test(NAME ${name}
           COMMAND ${PIRF_TEST_MPIEXEC} ${MPIEXEC_NUMPROC_FLAG} ${np} $<TARGET_FILE:pirf>
                   ${KOLMO_GEN_ARGS} grid.resolution=40 model.channel_mult=[2,2,2]
                   parallel.tiles=[${tx},${ty}] data.path=kolmogorov_test/r40_${np}_${tx}x${ty}.h5
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "${PIRF_TEST_ENV}" PROCESSORS ${np}
                       TIMEOUT 120 FIXTURES_SETUP kolmogorov_generated_r40)
endforeach()
add_test(NAME kolmogorov_generate_matches_np1_uneven_tiles
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/compare_fields.py
                 kolmogorov_test/r40_1_1x1.h5 kolmogorov_test/r40_4_1x4.h5 1e-6
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(kolmogorov_generate_matches_np1_uneven_tiles PROPERTIES
                     FIXTURES_REQUIRED kolmogorov_generated_r40)
