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
# -bench_pirf 1: one PIRF iteration by phase, at 1, 2 and 4 ranks (tests/bench/test_bench_pirf.sh).
foreach(np IN ITEMS 1 2 4)
  add_test(NAME bench_pirf_iteration_reports_phases_np${np}
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/bench/test_bench_pirf.sh $<TARGET_FILE:pirf>
                   ${PIRF_TEST_MPIEXEC} ${CMAKE_SOURCE_DIR} ${np})
  set_tests_properties(bench_pirf_iteration_reports_phases_np${np} PROPERTIES PROCESSORS ${np}
    TIMEOUT 120 LABELS "model" PASS_REGULAR_EXPRESSION "bench_pirf: [1-9][0-9]* passed, 0 failed")
endforeach()
