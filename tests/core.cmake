# Core layer: decks (config), random numbers, decomposition, HDF5 data sets, and the error paths a
# user meets first. Error-path tests run the real binary and check exit code and message.

pirf_add_test(NAME config_parses_typed_decks_and_overrides SOURCE tests/core/test_config.c NP 1)
pirf_add_test(NAME rng_is_a_pure_function_of_its_counter SOURCE tests/core/test_rng.c NP 1)
pirf_add_test(NAME decomp_tiles_nest_and_cover_the_grid SOURCE tests/core/test_decomp.c NP 1 2 4)
pirf_add_test(NAME dataset_roundtrip_at_any_layout SOURCE tests/core/test_dataset.c NP 1 2 4)

set(PIRF_EXPECT bash ${CMAKE_SOURCE_DIR}/tests/expect_error.sh)
set(PIRF_DECKS ${CMAKE_SOURCE_DIR}/tests/decks)
# pirf_expect_error(name exit_code regex np args...)
function(pirf_expect_error name rc regex np)
  add_test(NAME deck_error_${name}
           COMMAND ${PIRF_EXPECT} ${rc} ${regex} --
                   ${PIRF_TEST_MPIEXEC} ${MPIEXEC_NUMPROC_FLAG} ${np} $<TARGET_FILE:pirf> ${ARGN}
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(deck_error_${name} PROPERTIES ENVIRONMENT "${PIRF_TEST_ENV}" PROCESSORS ${np}
                       TIMEOUT 60 LABELS deck)
endfunction()

pirf_expect_error(unknown_key 2 "unknown_key.yaml:4: unknown key 'grid.resolutoin'.*resolution" 1
                  generate ${PIRF_DECKS}/unknown_key.yaml)
pirf_expect_error(unknown_nested_key 2 "unknown key 'pde.nmae'.*name" 1
                  generate ${PIRF_DECKS}/unknown_nested.yaml)
pirf_expect_error(wrong_type 2 "wrong_type.yaml:2: key 'grid.resolution' expects an integer, got 'sixty-four'.*\\[4, 65536\\]" 1
                  generate ${PIRF_DECKS}/wrong_type.yaml)
pirf_expect_error(out_of_range 2 "out_of_range.yaml:2: key 'grid.resolution' is out of range: 2" 1
                  generate ${PIRF_DECKS}/out_of_range.yaml)
pirf_expect_error(bad_enum 2 "bad_enum.yaml:2: key 'pde.name' has an unknown value 'navier'.*darcy\\|poisson" 1
                  generate ${PIRF_DECKS}/bad_enum.yaml)
pirf_expect_error(short_list 2 "key 'parallel.tiles' has 1 element.*length 2" 1
                  generate ${PIRF_DECKS}/short_list.yaml)
pirf_expect_error(duplicate_key 2 "duplicate_key.yaml:3: key 'grid.resolution' is given twice" 1
                  generate ${PIRF_DECKS}/duplicate_key.yaml)
pirf_expect_error(yaml_syntax 2 "syntax.yaml:[0-9]+:[0-9]+: YAML syntax error" 1
                  generate ${PIRF_DECKS}/syntax.yaml)
pirf_expect_error(section_given_a_value 2 "'grid' is a section and needs keys under it" 1
                  generate ${PIRF_DECKS}/section_scalar.yaml)
pirf_expect_error(missing_deck 2 "cannot open the input deck 'no/such/deck.yaml'" 1
                  generate no/such/deck.yaml)
pirf_expect_error(indivisible_grid 2 "size 30 is not a multiple of 4 = 2\\^\\(levels-1\\)" 1
                  generate ${PIRF_DECKS}/indivisible_grid.yaml)
pirf_expect_error(tiles_do_not_divide_ranks 2 "needs 3 ranks per sample, which does not divide the 2 ranks" 2
                  generate ${CMAKE_SOURCE_DIR}/input/quickstart.yaml parallel.tiles=[3,1])
pirf_expect_error(too_many_tiles 2 "cannot be split into 4 tiles whose sides are multiples of 4" 4
                  generate ${CMAKE_SOURCE_DIR}/input/quickstart.yaml grid.resolution=8
                  model.channel_mult=[1,2,2] parallel.tiles=[4,1])
pirf_expect_error(override_without_equals 2 "'grid.resolution' is not an override. write key.sub=value" 1
                  generate ${CMAKE_SOURCE_DIR}/input/quickstart.yaml grid.resolution)
pirf_expect_error(override_unknown_key 2 "command line: unknown key 'data.sampels'.*samples" 1
                  generate ${CMAKE_SOURCE_DIR}/input/quickstart.yaml data.sampels=3)
pirf_expect_error(unknown_command 2 "unknown command 'generat'" 1 generat input/quickstart.yaml)
pirf_expect_error(command_without_deck 2 "'generate' needs an input deck" 1 generate)

# docs/deck.md lists every key the program accepts (regenerate with scripts/update_deck_doc.sh).
add_test(NAME docs_list_every_deck_key
         COMMAND bash -c "missing=0; for k in $($<TARGET_FILE:pirf> keys | sed -n 's/^| `\\([^`]*\\)`.*/\\1/p'); do grep -q \"\\`$k\\`\" ${CMAKE_SOURCE_DIR}/docs/deck.md || { echo \"docs/deck.md lacks $k (run scripts/update_deck_doc.sh)\"; missing=1; }; done; exit $missing")
set_tests_properties(docs_list_every_deck_key PROPERTIES ENVIRONMENT "${PIRF_TEST_ENV}")

# Strings from a deck or a command line are never cut (issue 9); what a user sees on a wrong command
# line, and the help (issue 10). The bad-input cases of the command line and decks are in
# tests/corpus/cli.cases.
pirf_add_test(NAME config_keeps_strings_at_full_length SOURCE tests/core/test_config_strings.c NP 1 2)
add_test(NAME cli_errors_are_one_sentence_and_help_describes_commands
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/core/test_cli.sh $<TARGET_FILE:pirf> ${CMAKE_SOURCE_DIR})
set_tests_properties(cli_errors_are_one_sentence_and_help_describes_commands PROPERTIES
                     PROCESSORS 2 TIMEOUT 300 LABELS deck)
