# Profiling (tests/prof/): -log_view lists pirf's stages and events, with flops, messages and
# reductions where they belong, and profiling changes no result; at 1, 2 and 4 ranks.
foreach(np IN ITEMS 1 2 4)
  set(name log_view_lists_pirf_stages_and_events_np${np})
  add_test(NAME ${name}
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/prof/test_log_view.sh $<TARGET_FILE:pirf>
                   ${PIRF_TEST_MPIEXEC} ${CMAKE_SOURCE_DIR} ${np}
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(${name} PROPERTIES TIMEOUT 300 PROCESSORS ${np} LABELS prof
                       PASS_REGULAR_EXPRESSION "log_view: [1-9][0-9]* passed, 0 failed")
endforeach()
