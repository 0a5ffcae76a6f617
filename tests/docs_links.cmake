# The documents stand alone (tests/docs/check_links.py): every link and repository path in README.md
# and docs/*.md exists, and no file cites the team's design notes, which are not in the repository.
add_test(NAME docs_links_and_paths_exist
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/docs/check_links.py links ${CMAKE_SOURCE_DIR})
add_test(NAME docs_no_team_doc_names
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/docs/check_links.py names ${CMAKE_SOURCE_DIR})
set_tests_properties(docs_links_and_paths_exist docs_no_team_doc_names PROPERTIES TIMEOUT 60 LABELS docs)
