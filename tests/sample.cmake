# Sampling, guidance and evaluation (tests/sample/).
pirf_add_test(NAME dps_guidance_gradient_matches_finite_difference
              SOURCE tests/sample/test_guidance_grad.c NP 1 2 LABELS diffusion TIMEOUT 60)
add_executable(make_checkpoint tests/sample/make_checkpoint.c)
target_compile_options(make_checkpoint PRIVATE ${PIRF_WARNINGS})
target_include_directories(make_checkpoint PRIVATE ${CMAKE_SOURCE_DIR}/tests)
target_link_libraries(make_checkpoint PRIVATE pirfcore)
