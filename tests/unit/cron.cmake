# SPDX-License-Identifier: MIT
# Tests of the cron layer: tz reader, parser, next/prev search, descriptions
# (data-driven vectors in tests/data/cron/), the `clover cron` CLI, and a
# cross-check against an independent implementation (python3-croniter and
# Python's zoneinfo).
clover_test(test-tz SOURCES unit/test-tz.c LIBS clover_cron LABELS unit)
clover_test(test-cron SOURCES unit/test-cron.c LIBS clover_cron LABELS unit)

# The query tool the cross-check script drives.
add_executable(test-cron-dump unit/test-cron-dump.c)
target_link_libraries(test-cron-dump PRIVATE clover_cron)

add_test(NAME cron-crosscheck
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/unit/cron-crosscheck.py
          --dump $<TARGET_FILE:test-cron-dump>)
set_tests_properties(cron-crosscheck PROPERTIES LABELS unit TIMEOUT 600
  SKIP_RETURN_CODE 77)

add_test(NAME cli-cron
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli/cron.sh $<TARGET_FILE:clover>)
set_tests_properties(cli-cron PROPERTIES LABELS unit TIMEOUT 120
  ENVIRONMENT "CLOVER_TEST_DATA=${CMAKE_CURRENT_SOURCE_DIR}/data")
