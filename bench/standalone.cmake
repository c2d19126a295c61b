# SPDX-License-Identifier: MIT
# build/bench/standalone: N jobs every second on a real server (docs/benchmarks.md).
add_executable(bench-standalone standalone.c)
target_link_libraries(bench-standalone PRIVATE clover_store PkgConfig::SQLITE)
set_target_properties(bench-standalone PROPERTIES OUTPUT_NAME standalone
  RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench)
add_dependencies(bench-standalone clover)
