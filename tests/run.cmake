# pirf run and the run directory (tests/run/, docs/run-directory.md): provenance-checked reuse,
# the resume guard, --dry-run, log.txt, the run attributes of HDF5 outputs, the lock; and the
# corpus group of their bad inputs (tests/corpus/run.cases).
foreach(np 1 2)
  add_test(NAME run_reuses_only_matching_outputs_np${np}
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/run/test_run_provenance.sh $<TARGET_FILE:pirf>
                   ${PIRF_TEST_MPIEXEC} ${CMAKE_SOURCE_DIR} ${np}
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(run_reuses_only_matching_outputs_np${np} PROPERTIES TIMEOUT 400
                       PROCESSORS ${np} LABELS run)
endforeach()
foreach(np 1 2 4)
  add_test(NAME run_directory_is_held_exclusively_np${np}
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/run/test_run_lock.sh $<TARGET_FILE:pirf>
                   ${PIRF_TEST_MPIEXEC} ${CMAKE_SOURCE_DIR} ${np}
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(run_directory_is_held_exclusively_np${np} PROPERTIES TIMEOUT 300
                       PROCESSORS 2 LABELS run)
endforeach()
# The bad-input corpus group "run", where the corpus runner (tests/corpus/run.sh, from the corpus
# work) is present and has not registered the group itself.
if(EXISTS ${CMAKE_SOURCE_DIR}/tests/corpus/run.sh AND NOT TEST corpus_run_np1)
  foreach(np 1 2)
    add_test(NAME run_bad_input_corpus_np${np}
             COMMAND bash ${CMAKE_SOURCE_DIR}/tests/corpus/run.sh run ${np}
             WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
    set_tests_properties(run_bad_input_corpus_np${np} PROPERTIES TIMEOUT 600 PROCESSORS ${np}
                         LABELS run ENVIRONMENT "PIRF=$<TARGET_FILE:pirf>;SRC=${CMAKE_SOURCE_DIR}")
  endforeach()
endif()
