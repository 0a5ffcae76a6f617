# The scaling harness (jobscripts/local/scaling.sh, postprocess/scaling.py) and the performance
# model (postprocess/perf_model.py) on a tiny deck at 1 and 2 ranks; the SLURM form is in
# tests/slurm.cmake.
add_test(NAME scaling_harness_writes_json_and_png_and_the_model_projects
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/scaling/test_scaling_local.sh $<TARGET_FILE:pirf>
                 ${PIRF_TEST_MPIEXEC} ${CMAKE_SOURCE_DIR}
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(scaling_harness_writes_json_and_png_and_the_model_projects PROPERTIES
                     TIMEOUT 300 PROCESSORS 2 LABELS scaling
                     PASS_REGULAR_EXPRESSION "scaling_local: [1-9][0-9]* passed, 0 failed")
