# The SLURM job script under a real single-node SLURM started by the test itself.
add_test(NAME slurm_job_script_checkpoints_and_chains
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/slurm/test_sbatch_chain.sh $<TARGET_FILE:pirf>
                 ${CMAKE_SOURCE_DIR})
set_tests_properties(slurm_job_script_checkpoints_and_chains PROPERTIES TIMEOUT 300 PROCESSORS 2
                     RUN_SERIAL TRUE)
add_test(NAME slurm_scaling_study_runs_one_job_per_size
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/slurm/test_scaling_sbatch.sh $<TARGET_FILE:pirf>
                 ${CMAKE_SOURCE_DIR})
set_tests_properties(slurm_scaling_study_runs_one_job_per_size PROPERTIES TIMEOUT 300 PROCESSORS 2
                     RUN_SERIAL TRUE PASS_REGULAR_EXPRESSION "slurm_scaling: [1-9][0-9]* passed, 0 failed")
