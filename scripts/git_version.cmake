# Writes OUT (a C header) with PIRF_GIT_DESCRIBE = `git describe --always --dirty --tags` of SRC, or
# FALLBACK (the project version) when SRC is not a git checkout or git is missing. Run at every
# build by the pirf_git_version target; the header is rewritten only when the text changes, so
# only the file that includes it (src/io/run_record.c) recompiles.
find_package(Git QUIET)
set(v "")
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} -C ${SRC} describe --always --dirty --tags
                  OUTPUT_VARIABLE v RESULT_VARIABLE rc ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    set(v "")
  endif()
endif()
if(v STREQUAL "")
  set(v "${FALLBACK}")
endif()
set(text "#define PIRF_GIT_DESCRIBE \"${v}\"\n")
set(old "")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT old STREQUAL text)
  file(WRITE ${OUT} "${text}")
endif()
