# Sampling, guidance and evaluation (tests/sample/).
pirf_add_test(NAME dps_guidance_gradient_matches_finite_difference
              SOURCE tests/sample/test_guidance_grad.c NP 1 2 LABELS diffusion TIMEOUT 60)
add_executable(make_checkpoint tests/sample/make_checkpoint.c)
target_compile_options(make_checkpoint PRIVATE ${PIRF_WARNINGS})
target_include_directories(make_checkpoint PRIVATE ${CMAKE_SOURCE_DIR}/tests)
target_link_libraries(make_checkpoint PRIVATE pirfcore)
add_test(NAME sampler_output_is_rank_layout_invariant
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/sample/test_sample_layouts.sh $<TARGET_FILE:pirf>
                 $<TARGET_FILE:make_checkpoint> ${PIRF_TEST_MPIEXEC} ${CMAKE_SOURCE_DIR}
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(sampler_output_is_rank_layout_invariant PROPERTIES TIMEOUT 120 PROCESSORS 4
                     LABELS diffusion)
add_test(NAME evaluate_writes_json_and_table
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/sample/test_evaluate.sh $<TARGET_FILE:pirf>
                 $<TARGET_FILE:make_checkpoint> ${PIRF_TEST_MPIEXEC} ${CMAKE_SOURCE_DIR}
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(evaluate_writes_json_and_table PROPERTIES TIMEOUT 120 PROCESSORS 2
                     LABELS diffusion)
add_test(NAME pg_diffusion_trains_samples_and_evaluates
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/sample/test_pg_diffusion.sh $<TARGET_FILE:pirf>
                 $<TARGET_FILE:make_checkpoint> ${PIRF_TEST_MPIEXEC} ${CMAKE_SOURCE_DIR}
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(pg_diffusion_trains_samples_and_evaluates PROPERTIES TIMEOUT 120 PROCESSORS 2
                     LABELS diffusion)
