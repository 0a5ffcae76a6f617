# PIRF fine-tuning (tests/finetune/): the gradient of the whole sampler + reward, layouts, the command.
pirf_add_test(NAME pirf_gradient_matches_finite_differences_and_layouts
              SOURCE tests/finetune/test_ft_gradient.c NP 1 2 4 LABELS finetune TIMEOUT 300)
add_test(NAME finetune_command_resume_layouts_and_errors
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/finetune/test_finetune_command.sh $<TARGET_FILE:pirf>
                 ${PIRF_TEST_MPIEXEC} ${CMAKE_SOURCE_DIR}
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(finetune_command_resume_layouts_and_errors PROPERTIES TIMEOUT 200 PROCESSORS 2
                     LABELS finetune ENVIRONMENT "${PIRF_TEST_ENV}")
# The PIDM baseline (docs/finetune.md, "PIDM"): its loss's gradient and layouts, and the command.
pirf_add_test(NAME pidm_loss_gradient_matches_finite_differences_and_layouts
              SOURCE tests/finetune/test_pidm_loss.c NP 1 2 4 LABELS finetune TIMEOUT 200)
add_test(NAME pidm_command_resume_sample_evaluate_and_errors
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/finetune/test_pidm_command.sh $<TARGET_FILE:pirf>
                 ${PIRF_TEST_MPIEXEC} ${CMAKE_SOURCE_DIR}
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(pidm_command_resume_sample_evaluate_and_errors PROPERTIES TIMEOUT 200
                     PROCESSORS 2 LABELS finetune ENVIRONMENT "${PIRF_TEST_ENV}")
