# `pirf denoise` (tests/denoise/): the denoiser and its vector-Jacobian products of a checkpoint on
# a field file, at any rank layout, and its error messages. denoise_case writes the tiny checkpoint
# and the input files once (a ctest fixture) and checks the outputs.
add_executable(denoise_case tests/denoise/denoise_case.c)
target_compile_options(denoise_case PRIVATE ${PIRF_WARNINGS})
target_include_directories(denoise_case PRIVATE ${CMAKE_SOURCE_DIR}/tests ${CMAKE_SOURCE_DIR}/tests/model)
target_link_libraries(denoise_case PRIVATE pirfcore)

set(PIRF_DENOISE_DIR ${CMAKE_BINARY_DIR}/denoise_files)
add_test(NAME denoise_fixture_files
         COMMAND ${PIRF_TEST_MPIEXEC} ${MPIEXEC_NUMPROC_FLAG} 1 $<TARGET_FILE:denoise_case> make
                 ${PIRF_DENOISE_DIR})
set_tests_properties(denoise_fixture_files PROPERTIES FIXTURES_SETUP denoise_files
                     ENVIRONMENT "${PIRF_TEST_ENV}" TIMEOUT 60 LABELS "model")

add_test(NAME denoise_matches_direct_evaluation_at_1_2_4_ranks
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/denoise/test_denoise.sh $<TARGET_FILE:pirf>
                 ${PIRF_TEST_MPIEXEC} $<TARGET_FILE:denoise_case> ${PIRF_DENOISE_DIR}
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(denoise_matches_direct_evaluation_at_1_2_4_ranks PROPERTIES
                     FIXTURES_REQUIRED denoise_files TIMEOUT 120 PROCESSORS 4 LABELS "model")

# Error paths: exit status 2 and one sentence naming the problem.
set(D ${PIRF_DENOISE_DIR})
function(pirf_denoise_error name regex np)
  add_test(NAME denoise_error_${name}
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/expect_error.sh 2 ${regex} --
                   ${PIRF_TEST_MPIEXEC} ${MPIEXEC_NUMPROC_FLAG} ${np} $<TARGET_FILE:pirf> denoise
                   ${ARGN}
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(denoise_error_${name} PROPERTIES FIXTURES_REQUIRED denoise_files
                       ENVIRONMENT "${PIRF_TEST_ENV}" PROCESSORS ${np} TIMEOUT 60 LABELS deck)
endfunction()
pirf_denoise_error(missing_checkpoint "cannot read the checkpoint 'no/such.h5'" 2
                   --checkpoint no/such.h5 --input ${D}/x.h5 --sigma 1 --output ${D}/y.h5)
pirf_denoise_error(missing_input "denoise --input: cannot read the file 'no/x.h5'" 2
                   --checkpoint ${D}/ckpt.h5 --input no/x.h5 --sigma 1 --output ${D}/y.h5)
pirf_denoise_error(missing_cotangent "denoise --cotangent: cannot read the file 'no/g.h5'" 1
                   --checkpoint ${D}/ckpt.h5 --input ${D}/x.h5 --cotangent no/g.h5 --sigma 1
                   --output ${D}/y.h5)
pirf_denoise_error(channel_mismatch "holds fields of 3 channels at 16x16, but the checkpoint .* is a network for 2 channels at 16x16" 2
                   --checkpoint ${D}/ckpt.h5 --input ${D}/x_c3.h5 --sigma 1 --output ${D}/y.h5)
pirf_denoise_error(resolution_mismatch "holds fields of 2 channels at 32x32, but the checkpoint .* is a network for 2 channels at 16x16" 1
                   --checkpoint ${D}/ckpt.h5 --input ${D}/x_r32.h5 --sigma 1 --output ${D}/y.h5)
pirf_denoise_error(cotangent_shape_mismatch "the cotangent .* has shape \\(4, 2, 16, 16\\) but the input .* has \\(5, 2, 16, 16\\)" 1
                   --checkpoint ${D}/ckpt.h5 --input ${D}/x.h5 --cotangent ${D}/g_n4.h5 --sigma 1
                   --output ${D}/y.h5)
pirf_denoise_error(sigma_zero "--sigma must be a positive number .* got '0'" 2
                   --checkpoint ${D}/ckpt.h5 --input ${D}/x.h5 --sigma 0 --output ${D}/y.h5)
pirf_denoise_error(sigma_negative "--sigma must be a positive number .* got '-0.5'" 1
                   --checkpoint ${D}/ckpt.h5 --input ${D}/x.h5 --sigma -0.5 --output ${D}/y.h5)
pirf_denoise_error(missing_option "denoise needs --checkpoint .* \\(missing --sigma\\)" 1
                   --checkpoint ${D}/ckpt.h5 --input ${D}/x.h5 --output ${D}/y.h5)
