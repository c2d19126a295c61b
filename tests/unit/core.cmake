# SPDX-License-Identifier: MIT
# Unit tests of the core layer's job specs and run records (the engine's are in
# engine.cmake).
clover_test(test-job-spec SOURCES unit/test-job-spec.c LIBS clover_core LABELS unit)
# The allocation-failure test makes the n-th malloc/calloc/realloc/strdup fail.
target_link_options(test-job-spec PRIVATE
  -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc -Wl,--wrap=strdup)
target_compile_definitions(test-job-spec PRIVATE
  CLOVER_TEST_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data")
target_link_libraries(test-job-spec PRIVATE Threads::Threads)

clover_test(test-run SOURCES unit/test-run.c LIBS clover_core LABELS unit)
