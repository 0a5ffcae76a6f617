# Weights both ways with PyTorch EDM (tests/pytorch/, postprocess/import_edm.py, export_edm.py) and
# the float64 cross-check of the denoiser against EDM's own code. They need Debian's python3-torch;
# the parts that build networks with EDM's code need PIRF_EDM_SOURCE (a checkout of NVlabs/edm, not
# part of pirf). Without torch they report SKIP (exit 77): ctest counts them as skipped.
add_test(NAME edm_weights_both_ways
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/pytorch/test_edm_weights.py
                 $<TARGET_FILE:pirf> $<TARGET_FILE:make_checkpoint> ${PIRF_TEST_MPIEXEC}
                 ${CMAKE_SOURCE_DIR}
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(edm_weights_both_ways PROPERTIES TIMEOUT 600 PROCESSORS 2 SKIP_RETURN_CODE 77
                     LABELS pytorch)
add_test(NAME edm_crosscheck_float64
         COMMAND bash -c "d=$(mktemp -d) && $<TARGET_FILE:export_unet> $d 16 8 1 >/dev/null && /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/model/crosscheck_edm.py $d; rc=$?; rm -rf $d; exit $rc"
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(edm_crosscheck_float64 PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77
                     LABELS pytorch)
add_test(NAME pytorch_doc_snippets_run
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/pytorch/test_doc_snippets.py
                 $<TARGET_FILE:pirf> $<TARGET_FILE:make_checkpoint> ${PIRF_TEST_MPIEXEC}
                 ${CMAKE_SOURCE_DIR}
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(pytorch_doc_snippets_run PROPERTIES TIMEOUT 600 PROCESSORS 2
                     SKIP_RETURN_CODE 77 LABELS pytorch)
