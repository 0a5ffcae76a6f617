# The SongUNet model: parameter table, forward/backward, preconditioning (tests/model/).
pirf_add_test(NAME unet_param_counts_match_edm SOURCE tests/model/test_unet_param_counts.c NP 1
              LABELS model)
pirf_add_test(NAME denoiser_grad_matches_finite_difference SOURCE tests/model/test_unet_grad_fd.c
              NP 1 LABELS model TIMEOUT 120)
pirf_add_test(NAME denoiser_is_rank_layout_invariant SOURCE tests/model/test_unet_rank_invariance.c
              NP 1 2 4 LABELS model TIMEOUT 120)
pirf_add_test(NAME unet_init_follows_edm SOURCE tests/model/test_unet_init.c NP 1 LABELS model)
pirf_add_test(NAME edm_precond_matches_formula SOURCE tests/model/test_precond.c NP 1 2
              LABELS model)

# Not a test: memory and time of one evaluation (docs/model.md), `build/measure_unet R B channels`.
add_executable(measure_unet tests/model/measure_unet.c)
target_compile_options(measure_unet PRIVATE ${PIRF_WARNINGS})
target_include_directories(measure_unet PRIVATE ${CMAKE_SOURCE_DIR}/tests)
target_link_libraries(measure_unet PRIVATE pirfcore)
