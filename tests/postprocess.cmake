# Postprocessing scripts (Debian's python3-h5py, numpy, matplotlib).
add_test(NAME postprocess_scripts_draw_pngs
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/postprocess/test_plots.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(postprocess_scripts_draw_pngs PROPERTIES TIMEOUT 120)
