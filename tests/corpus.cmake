# The bad-input corpus (tests/corpus/): every <group>.cases file, at 1 and 2 ranks, through
# tests/corpus/run.sh (what a case is and what makes it pass: tests/corpus/lib.sh).
file(GLOB PIRF_CORPUS_GROUPS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/corpus/*.cases)
list(SORT PIRF_CORPUS_GROUPS)
foreach(cases ${PIRF_CORPUS_GROUPS})
  get_filename_component(group ${cases} NAME_WE)
  foreach(np 1 2)
    add_test(NAME corpus_${group}_np${np}
             COMMAND bash ${CMAKE_SOURCE_DIR}/tests/corpus/run.sh ${group} ${np} $<TARGET_FILE:pirf>
             WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
    set_tests_properties(corpus_${group}_np${np} PROPERTIES
                         ENVIRONMENT "${PIRF_TEST_ENV};MPIEXEC=${PIRF_TEST_MPIEXEC}"
                         PROCESSORS ${np} TIMEOUT 1500 LABELS corpus)
  endforeach()
endforeach()

# The runner fails a case for each kind of failure it is meant to catch (and passes a good one).
add_test(NAME corpus_runner_catches_each_kind_of_failure
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/corpus/test_runner.sh $<TARGET_FILE:pirf>)
set_tests_properties(corpus_runner_catches_each_kind_of_failure PROPERTIES TIMEOUT 120
                     LABELS corpus)
