# Fault injection (tests/faults/): SIGKILL at random moments of checkpoint writes of a tiny
# pretraining; the checkpoint on disk is always loadable and the rerun bit-identical.
add_test(NAME sigkill_during_checkpoint_writes_loses_nothing_np1
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/faults/test_sigkill_checkpoint.sh $<TARGET_FILE:pirf>
                 ${PIRF_TEST_MPIEXEC} ${CMAKE_SOURCE_DIR} 1 10
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(sigkill_during_checkpoint_writes_loses_nothing_np1 PROPERTIES TIMEOUT 600
                     PROCESSORS 1 LABELS faults)
add_test(NAME sigkill_during_checkpoint_writes_loses_nothing_np2
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/faults/test_sigkill_checkpoint.sh $<TARGET_FILE:pirf>
                 ${PIRF_TEST_MPIEXEC} ${CMAKE_SOURCE_DIR} 2 4
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(sigkill_during_checkpoint_writes_loses_nothing_np2 PROPERTIES TIMEOUT 600
                     PROCESSORS 2 LABELS faults)
