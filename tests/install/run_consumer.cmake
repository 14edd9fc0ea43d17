# Installs the built project into a scratch prefix, then configures, builds and runs a
# tiny outside project that uses it through find_package(rnn). Run by ctest.
foreach(var SOURCE_DIR PROJECT_BUILD_DIR BUILD_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_consumer.cmake: ${var} is not set")
  endif()
endforeach()

set(prefix "${BUILD_DIR}/prefix")
file(REMOVE_RECURSE "${BUILD_DIR}")

function(run_step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "step failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()

run_step(${CMAKE_COMMAND} --install "${PROJECT_BUILD_DIR}" --prefix "${prefix}")
run_step(${CMAKE_COMMAND} -S "${SOURCE_DIR}/tests/install/consumer" -B "${BUILD_DIR}/consumer"
         -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release)
run_step(${CMAKE_COMMAND} --build "${BUILD_DIR}/consumer")
run_step("${BUILD_DIR}/consumer/consumer")
if(NOT EXISTS "${prefix}/bin/rnn")
  message(FATAL_ERROR "the rnn command-line program was not installed into ${prefix}/bin")
endif()
message(STATUS "consumer built and ran against ${prefix}")
