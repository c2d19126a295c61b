# SPDX-License-Identifier: MIT
# build/bench/store: the store's write path and job load (docs/storage.md).
add_executable(bench-store store.c)
target_link_libraries(bench-store PRIVATE clover_store)
set_target_properties(bench-store PROPERTIES OUTPUT_NAME store
  RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench)
