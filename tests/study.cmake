# scripts/study.sh and postprocess/study.py on a tiny study (tests/study/).
add_test(NAME study_script_runs_every_step_and_refuses_bad_variants
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/study/test_study.sh $<TARGET_FILE:pirf>
                 ${PIRF_TEST_MPIEXEC} ${CMAKE_SOURCE_DIR}
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(study_script_runs_every_step_and_refuses_bad_variants PROPERTIES
                     TIMEOUT 300 PROCESSORS 2 LABELS "study"
                     PASS_REGULAR_EXPRESSION "study: [1-9][0-9]* passed, 0 failed")
