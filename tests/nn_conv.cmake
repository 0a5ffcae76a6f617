# Convolution, halo exchange and resampling layers (src/nn/conv2d.c, src/par/halo.c,
# src/nn/resample.c).
pirf_add_test(NAME halo_adjoint SOURCE tests/nn/test_halo_adjoint.c NP 1 2 4)
pirf_add_test(NAME halo_adjoint_2groups SOURCE tests/nn/test_halo_adjoint.c NP 4 ARGS 2 1)
pirf_add_test(NAME conv3x3_grad_matches_finite_difference SOURCE tests/nn/test_grad_fd.c ARGS conv3)
pirf_add_test(NAME conv3x3_im2col_grad_matches_finite_difference SOURCE tests/nn/test_grad_fd.c
              ARGS conv3 im2col)
pirf_add_test(NAME conv3x3_rows_grad_matches_finite_difference SOURCE tests/nn/test_grad_fd.c
              ARGS conv3 rows)
pirf_add_test(NAME conv3x3_dnnl_grad_matches_finite_difference SOURCE tests/nn/test_grad_fd.c
              ARGS conv3 dnnl)
pirf_add_test(NAME conv3x3_winograd_forward_matches_direct_sum SOURCE tests/nn/test_conv_winograd.c)
set_tests_properties(conv3x3_winograd_forward_matches_direct_sum_np1 PROPERTIES SKIP_RETURN_CODE 77)
pirf_add_test(NAME conv1x1_grad_matches_finite_difference SOURCE tests/nn/test_grad_fd.c ARGS conv1)
pirf_add_test(NAME resample_down2_grad_matches_finite_difference SOURCE tests/nn/test_grad_fd.c
              ARGS down2)
pirf_add_test(NAME resample_up2_grad_matches_finite_difference SOURCE tests/nn/test_grad_fd.c
              ARGS up2)
pirf_add_test(NAME conv_layers_are_rank_layout_invariant SOURCE tests/nn/test_layout.c NP 1 2 4)
# 4 ranks as 2 data groups x 2 tiles
pirf_add_test(NAME conv_layers_are_rank_layout_invariant_2groups SOURCE tests/nn/test_layout.c
              NP 4 ARGS 2 1)
# model.nograd_precision=bf16 on a CPU without AVX-512: oneDNN is told to use no more than AVX2
pirf_expect_error(bf16_without_avx512 2 "model.nograd_precision is bf16 but oneDNN has no bfloat16 convolution" 1
                  info ${CMAKE_SOURCE_DIR}/input/quickstart.yaml model.nograd_precision=bf16)
set_tests_properties(deck_error_bf16_without_avx512 PROPERTIES
                     ENVIRONMENT "${PIRF_TEST_ENV};ONEDNN_MAX_CPU_ISA=AVX2")
