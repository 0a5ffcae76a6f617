# pirf value-error: the DPS value estimate against the final reward (tests/value_error/).
add_test(NAME value_error_json_is_exact_at_the_last_step_and_layout_invariant
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/value_error/test_value_error.sh $<TARGET_FILE:pirf>
                 $<TARGET_FILE:make_checkpoint> ${PIRF_TEST_MPIEXEC} ${CMAKE_SOURCE_DIR}
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(value_error_json_is_exact_at_the_last_step_and_layout_invariant PROPERTIES
                     TIMEOUT 120 PROCESSORS 4 LABELS "diffusion;value_error")
