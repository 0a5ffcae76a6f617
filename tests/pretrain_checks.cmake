# Pretraining end to end (tests/pretrain/): the loss falls, and the errors a user meets first.
add_executable(pretrain_loss_eval tests/pretrain/pretrain_loss_eval.c)
target_compile_options(pretrain_loss_eval PRIVATE ${PIRF_WARNINGS})
target_include_directories(pretrain_loss_eval PRIVATE ${CMAKE_SOURCE_DIR}/tests)
target_link_libraries(pretrain_loss_eval PRIVATE pirfcore)
add_test(NAME pretrain_lowers_the_edm_loss
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/pretrain/test_pretrain_lowers_loss.sh
                 $<TARGET_FILE:pirf> ${PIRF_TEST_MPIEXEC} ${CMAKE_SOURCE_DIR}
                 $<TARGET_FILE:pretrain_loss_eval>
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(pretrain_lowers_the_edm_loss PROPERTIES TIMEOUT 120 PROCESSORS 2
                     LABELS model PASS_REGULAR_EXPRESSION "pretrain_lowers_the_edm_loss: [1-9][0-9]* passed, 0 failed")

# Deck and file errors of `pirf pretrain`: exit status 2 and one sentence. The files are those of
# the denoise fixture (tests/denoise.cmake): 16x16 Darcy-shaped fields and a pretraining state of
# the tiny network (channels 8).
set(PD ${CMAKE_BINARY_DIR}/denoise_files)
set(PQ ${CMAKE_SOURCE_DIR}/input/quickstart.yaml)
set(PTINY grid.resolution=16 model.channel_mult=[1,2] model.num_blocks=1 model.attn_resolutions=[8])
function(pirf_pretrain_error name regex np)
  add_test(NAME pretrain_error_${name}
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/expect_error.sh 2 ${regex} --
                   ${PIRF_TEST_MPIEXEC} ${MPIEXEC_NUMPROC_FLAG} ${np} $<TARGET_FILE:pirf> pretrain
                   ${PQ} ${ARGN}
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(pretrain_error_${name} PROPERTIES FIXTURES_REQUIRED denoise_files
                       ENVIRONMENT "${PIRF_TEST_ENV}" PROCESSORS ${np} TIMEOUT 60 LABELS deck)
endfunction()
pirf_pretrain_error(missing_data_set "data.path: cannot read the file 'no/such/data.h5'.*pirf generate" 2
                    ${PTINY} data.path=no/such/data.h5 output.dir=${PD}/out_missing)
string(REPLACE "grid.resolution=16" "grid.resolution=32" PTINY32 "${PTINY}") # a key is given once
pirf_pretrain_error(data_resolution_mismatch "holds 16x16 fields but grid.resolution is 32" 1
                    ${PTINY32} data.path=${PD}/x.h5 output.dir=${PD}/out_res)
pirf_pretrain_error(data_channel_mismatch "holds 3-channel fields but pde.name = darcy has 2 channels" 1
                    ${PTINY} data.path=${PD}/x_c3.h5 output.dir=${PD}/out_ch)
pirf_pretrain_error(batch_not_multiple_of_groups "pretrain.batch = 3 is not a multiple of the 2 data groups" 2
                    ${PTINY} pretrain.batch=3 data.path=${PD}/x.h5 output.dir=${PD}/out_batch)
# resuming from a state written for channels 8 with a deck that asks for 16
pirf_pretrain_error(resume_checkpoint_shape_mismatch "written for a different model configuration: tensor '[^']+' has shape \\([0-9, ]+\\) in '.*pretrain-state.h5' \\(/net\\) but this model expects" 2
                    ${PTINY} model.channels=16 data.path=${PD}/x.h5 output.dir=${PD}/state)
pirf_pretrain_error(augment_needs_labels "pretrain.augment = 0.12 needs the network's augmentation labels: set model.augment_dim: 9" 1
                    ${PTINY} pretrain.augment=0.12 data.path=${PD}/x.h5 output.dir=${PD}/out_aug)
