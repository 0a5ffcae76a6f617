# The training run shared by pretraining and fine-tuning (tests/training_run/): stops within
# run.stop_latency_s on signals to a rank or to mpiexec with a bit-identical resume, progress lines
# inside long steps, the jsonl log after SIGKILL, and the non-finite guard.
foreach(t IN ITEMS stop_pretrain stop_finetune)
  if(t STREQUAL stop_pretrain)
    set(name training_run_pretrain_stops_within_the_latency_bound)
  else()
    set(name training_run_finetune_stops_within_the_latency_bound)
  endif()
  add_test(NAME ${name}
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/training_run/test_${t}.sh $<TARGET_FILE:pirf>
                   ${PIRF_TEST_MPIEXEC} ${CMAKE_SOURCE_DIR}
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(${name} PROPERTIES TIMEOUT 900 PROCESSORS 2 LABELS training
                       PASS_REGULAR_EXPRESSION "${t}: [1-9][0-9]* passed, 0 failed")
endforeach()
foreach(np IN ITEMS 1 2 4)
  set(name training_run_log_survives_sigkill_and_nonfinite_steps_stop_np${np})
  add_test(NAME ${name}
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/training_run/test_log_and_guard.sh
                   $<TARGET_FILE:pirf> ${PIRF_TEST_MPIEXEC} ${CMAKE_SOURCE_DIR} ${np}
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(${name} PROPERTIES TIMEOUT 600 PROCESSORS ${np} LABELS training
                       PASS_REGULAR_EXPRESSION "log_and_guard: [1-9][0-9]* passed, 0 failed")
endforeach()
