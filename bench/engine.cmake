# SPDX-License-Identifier: MIT
# build/bench/engine: the engine alone with a virtual clock (docs/benchmarks.md).
add_executable(bench-engine engine.c)
target_link_libraries(bench-engine PRIVATE clover_core)
set_target_properties(bench-engine PROPERTIES OUTPUT_NAME engine
  RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench)
