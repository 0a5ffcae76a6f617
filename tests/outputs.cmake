# What a scientist opens (tests/outputs/): dimension scales, units and XDMF sidecars of field files.
add_test(NAME field_files_explain_themselves
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/outputs/test_field_files.sh $<TARGET_FILE:pirf>
                 $<TARGET_FILE:make_checkpoint> ${PIRF_TEST_MPIEXEC} ${CMAKE_SOURCE_DIR}
         WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(field_files_explain_themselves PROPERTIES TIMEOUT 300 PROCESSORS 4
                     LABELS io)
