# `pirf bench`: the whole-network rows run on a tiny network and report FLOP rates and memory
# (a smoke test: the figures themselves depend on the machine; docs/performance.md has them).
add_test(NAME bench_network_rows_report_rate_and_memory
         COMMAND ${PIRF_TEST_MPIEXEC} ${MPIEXEC_NUMPROC_FLAG} 2 $<TARGET_FILE:pirf> bench
                 ${CMAKE_SOURCE_DIR}/input/quickstart.yaml grid.resolution=16 model.channels=8
                 model.channel_mult=[1,2] model.num_blocks=1 model.attn_resolutions=[8]
                 parallel.tiles=[2,1] -bench_conv 0 -bench_reps 1)
set_tests_properties(bench_network_rows_report_rate_and_memory PROPERTIES
  ENVIRONMENT "${PIRF_TEST_ENV}" PROCESSORS 2 TIMEOUT 60 LABELS "model"
  PASS_REGULAR_EXPRESSION "network forward \\(no tape\\) +B1 8ch 16x16 .*%.*network forward\\+backward .*%.*training step .*%.*network memory per rank: parameters .*tape .*peak memory per rank")
