# The SongUNet model: parameter table, forward/backward, preconditioning (tests/model/).
pirf_add_test(NAME unet_param_counts_match_edm SOURCE tests/model/test_unet_param_counts.c NP 1
              LABELS model)
pirf_add_test(NAME unet_denoiser_grad_matches_finite_difference SOURCE tests/model/test_unet_grad_fd.c
              NP 1 LABELS model TIMEOUT 120)
pirf_add_test(NAME unet_denoiser_is_rank_layout_invariant SOURCE tests/model/test_unet_rank_invariance.c
              NP 1 2 4 LABELS model TIMEOUT 120)
pirf_add_test(NAME unet_init_follows_edm SOURCE tests/model/test_unet_init.c NP 1 LABELS model)
pirf_add_test(NAME edm_precond_matches_formula SOURCE tests/model/test_precond.c NP 1 2
              LABELS model)

# Not a test: memory and time of one evaluation (docs/model.md), `build/measure_unet R B channels`.
add_executable(measure_unet tests/model/measure_unet.c)
target_compile_options(measure_unet PRIVATE ${PIRF_WARNINGS})
target_include_directories(measure_unet PRIVATE ${CMAKE_SOURCE_DIR}/tests)
target_link_libraries(measure_unet PRIVATE pirfcore)

# Not a test: one evaluation written for tests/model/crosscheck_edm.py (PyTorch EDM cross-check).
add_executable(export_unet tests/model/export_unet.c)
target_compile_options(export_unet PRIVATE ${PIRF_WARNINGS})
target_include_directories(export_unet PRIVATE ${CMAKE_SOURCE_DIR}/tests)
target_link_libraries(export_unet PRIVATE pirfcore)

# `pirf info` prints the paper's counts (docs/algorithm.md §4.2) from the defaults, no deck file needed.
foreach(case "darcy;128;decoder 128x128 +11,226,370.*total +54,410,882"
             "burgers;128;encoder total +18,245,888.*decoder 128x128 +11,224,065.*total +54,407,425"
             "kolmogorov;256;encoder total +18,248,192.*decoder 256x256 +11,228,675.*total +54,414,339")
  list(GET case 0 pde)
  list(GET case 1 res)
  list(GET case 2 regex)
  add_test(NAME pirf_info_prints_edm_counts_${pde}
           COMMAND ${PIRF_TEST_MPIEXEC} ${MPIEXEC_NUMPROC_FLAG} 1 $<TARGET_FILE:pirf> info /dev/null
                   pde.name=${pde} grid.resolution=${res})
  set_tests_properties(pirf_info_prints_edm_counts_${pde} PROPERTIES ENVIRONMENT "${PIRF_TEST_ENV}"
                       PASS_REGULAR_EXPRESSION "${regex}" LABELS model TIMEOUT 60)
endforeach()

# PG-Diffusion's physics-gradient branch (docs/algorithm.md §7.5): the layer, and the network with it.
pirf_add_test(NAME pg_branch_grad_and_layout SOURCE tests/model/test_pg_branch.c NP 1 2 4
              LABELS model TIMEOUT 60)
pirf_add_test(NAME pg_network_grad_and_training_layout SOURCE tests/model/test_pg_network.c
              NP 1 2 4 LABELS model TIMEOUT 120)
# The PG-Diffusion network's counts: the 2C first conv (+2,304) and the branch (2,690), derived
# by hand from SongUNetPG's constructor.
add_test(NAME pirf_info_prints_pg_counts
         COMMAND ${PIRF_TEST_MPIEXEC} ${MPIEXEC_NUMPROC_FLAG} 1 $<TARGET_FILE:pirf> info /dev/null
                 pde.name=darcy grid.resolution=128 model.physics_gradient=true)
set_tests_properties(pirf_info_prints_pg_counts PROPERTIES ENVIRONMENT "${PIRF_TEST_ENV}"
                     PASS_REGULAR_EXPRESSION
                     "encoder 128x128 +4,992,640.*physics-gradient branch +2,690.*total +54,415,876"
                     LABELS model TIMEOUT 60)
