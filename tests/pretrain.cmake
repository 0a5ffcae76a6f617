# EDM pretraining: the loss (tests/pretrain/).
pirf_add_test(NAME edm_loss_matches_formula_and_directional_derivative
              SOURCE tests/pretrain/test_edm_loss_formula.c NP 1 LABELS model)
pirf_add_test(NAME edm_loss_is_rank_layout_invariant SOURCE tests/pretrain/test_edm_loss_layout.c
              NP 1 2 4 LABELS model TIMEOUT 120)
add_test(NAME pretrain_resume_and_layouts_agree
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/pretrain/test_pretrain_resume.sh $<TARGET_FILE:pirf>
                 ${PIRF_TEST_MPIEXEC} ${CMAKE_SOURCE_DIR}
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(pretrain_resume_and_layouts_agree PROPERTIES TIMEOUT 120 PROCESSORS 4
                     LABELS model)
add_test(NAME pretrain_stops_cleanly_on_a_signal_and_resumes_exactly
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/pretrain/test_stop_signal.sh $<TARGET_FILE:pirf>
                 ${PIRF_TEST_MPIEXEC} ${CMAKE_SOURCE_DIR}
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(pretrain_stops_cleanly_on_a_signal_and_resumes_exactly PROPERTIES TIMEOUT 180
                     PROCESSORS 2)
pirf_add_test(NAME augment_matches_edm_geometry SOURCE tests/pretrain/test_augment.c NP 1 2 4
              LABELS model)
