# Resumable `pirf generate`, clean stops (status 3) of generate, sample and evaluate, and progress
# lines during Kolmogorov's spin-up (tests/generate_resume/test_generate_resume.sh says what each
# case checks).
set(GEN_RESUME_SH ${CMAKE_SOURCE_DIR}/tests/generate_resume/test_generate_resume.sh)
function(pirf_generate_resume_test name np)
  add_test(NAME ${name}
           COMMAND bash ${GEN_RESUME_SH} ${ARGN}
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "${PIRF_TEST_ENV}" PROCESSORS ${np}
                       TIMEOUT 400 LABELS generate)
endfunction()
set(GR_BIN $<TARGET_FILE:pirf> ${PIRF_TEST_MPIEXEC} ${CMAKE_SOURCE_DIR})
pirf_generate_resume_test(generate_resumes_bit_identically_after_random_stops_np1 1
                          resume ${GR_BIN} 1 [1,1])
# two data groups of one rank each
pirf_generate_resume_test(generate_resumes_bit_identically_after_random_stops_np2_groups2 2
                          resume ${GR_BIN} 2 [1,1])
# one sample split over two ranks (a shorter spin-up: the FFT transposes are slow when oversubscribed)
pirf_generate_resume_test(generate_resumes_bit_identically_after_random_stops_np2_tiles2x1 2
                          resume ${GR_BIN} 2 [2,1] 2)
pirf_generate_resume_test(generate_resumes_bit_identically_after_random_stops_darcy_np2 2
                          resume_darcy ${GR_BIN} 2 [1,1])
pirf_generate_resume_test(generate_ignores_a_foreign_or_damaged_partial_np2 2
                          foreign ${GR_BIN} 2)
foreach(np 1 2)
  pirf_generate_resume_test(sigterm_stops_generate_sample_evaluate_with_status_3_np${np} ${np}
                            term ${GR_BIN} $<TARGET_FILE:make_checkpoint> ${np})
endforeach()
pirf_generate_resume_test(generate_prints_progress_during_kolmogorov_spinup 1 spinup ${GR_BIN})
pirf_generate_resume_test(a_signal_after_the_work_does_not_kill_a_finished_run 1 late ${GR_BIN})
