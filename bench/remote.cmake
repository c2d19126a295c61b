# SPDX-License-Identifier: MIT
# build/bench/remote: N jobs every second run by E clover worker processes (docs/benchmarks.md).
add_executable(bench-remote remote.c)
target_link_libraries(bench-remote PRIVATE clover_store PkgConfig::SQLITE)
set_target_properties(bench-remote PROPERTIES OUTPUT_NAME remote
  RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench)
add_dependencies(bench-remote clover)
