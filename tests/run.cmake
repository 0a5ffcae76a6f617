# pirf run and the run directory (tests/run/, docs/run-directory.md): provenance-checked reuse,
# the resume guard, --dry-run, log.txt, the run attributes of HDF5 outputs, the lock (their bad
# inputs are the corpus group tests/corpus/run.cases).
foreach(np 1 2)
  add_test(NAME run_reuses_only_matching_outputs_np${np}
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/run/test_run_provenance.sh $<TARGET_FILE:pirf>
                   ${PIRF_TEST_MPIEXEC} ${CMAKE_SOURCE_DIR} ${np}
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(run_reuses_only_matching_outputs_np${np} PROPERTIES TIMEOUT 400
                       PROCESSORS ${np} LABELS run ENVIRONMENT "${PIRF_TEST_ENV}")
endforeach()
foreach(np 1 2 4)
  add_test(NAME run_directory_is_held_exclusively_np${np}
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/run/test_run_lock.sh $<TARGET_FILE:pirf>
                   ${PIRF_TEST_MPIEXEC} ${CMAKE_SOURCE_DIR} ${np}
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(run_directory_is_held_exclusively_np${np} PROPERTIES TIMEOUT 300
                       PROCESSORS 2 LABELS run ENVIRONMENT "${PIRF_TEST_ENV}")
endforeach()
