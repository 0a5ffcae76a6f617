# The paper-scale decks (input/<pde>.yaml) and the large-resolution decks (input/*_1024.yaml):
# each passes `pirf info` at the ranks its tiling needs and runs its whole pipeline with overrides
# for size only (tests/paper_decks/smoke.sh; docs/paper-scale.md).
# pirf_paper_deck(name info_np run_np overrides...)
function(pirf_paper_deck name info_np run_np)
  add_test(NAME paper_deck_${name}
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/paper_decks/smoke.sh $<TARGET_FILE:pirf>
                   ${PIRF_TEST_MPIEXEC} ${CMAKE_SOURCE_DIR} ${name} ${info_np} ${run_np} ${ARGN}
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set(np ${run_np})
  if(info_np GREATER np)
    set(np ${info_np})
  endif()
  set_tests_properties(paper_deck_${name} PROPERTIES ENVIRONMENT "${PIRF_TEST_ENV}"
                       PROCESSORS ${np} TIMEOUT 300 LABELS deck)
endfunction()

# The 128 x 128 decks: `pirf info` with their [2, 2] tiles at 4 ranks; the pipeline at 2 ranks as
# 2 data groups of one rank (a tiled generation of a tiny grid on a loaded 2-core machine costs more
# than the rest of the pipeline; the tiled path is exercised by the 1024 decks below).
foreach(pde darcy poisson helmholtz burgers)
  pirf_paper_deck(${pde} 4 2 grid.resolution=16 "parallel.tiles=[1,1]")
endforeach()
# Kolmogorov flow: `pirf info` with the deck's [2, 2] tiles at 4 ranks; the pipeline at 2 ranks on
# one-rank tiles (its FFT transposes on 4 oversubscribed ranks cost minutes), on a grid that resolves
# the k = 4 forcing, with a short spin-up and short trajectories.
pirf_paper_deck(kolmogorov 4 2 grid.resolution=32 "parallel.tiles=[1,1]" pde.kolmogorov.spinup=0.05
                pde.kolmogorov.samples_per_trajectory=4)
# 1024 x 1024: `pirf info` with the deck's [4, 4] tiles (16 ranks, nothing is computed); the
# pipeline at 4 ranks with every sample split over [2, 2] tiles.
pirf_paper_deck(darcy_1024 16 4 grid.resolution=16 "parallel.tiles=[2,2]")
pirf_paper_deck(kolmogorov_1024 16 4 grid.resolution=32 "parallel.tiles=[2,2]"
                pde.kolmogorov.spinup=0.05 pde.kolmogorov.samples_per_trajectory=4)
