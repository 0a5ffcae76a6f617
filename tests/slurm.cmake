# The SLURM job script under a real single-node SLURM started by the test itself.
add_test(NAME slurm_job_script_checkpoints_and_chains
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/slurm/test_sbatch_chain.sh $<TARGET_FILE:pirf>
                 ${CMAKE_SOURCE_DIR})
set_tests_properties(slurm_job_script_checkpoints_and_chains PROPERTIES TIMEOUT 300 PROCESSORS 2
                     RUN_SERIAL TRUE)
