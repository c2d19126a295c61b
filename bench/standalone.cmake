# SPDX-License-Identifier: MIT
# build/bench/standalone: N jobs every second on a real server (docs/benchmarks.md).
add_executable(bench-standalone standalone.c)
target_link_libraries(bench-standalone PRIVATE clover_store PkgConfig::SQLITE)
set_target_properties(bench-standalone PROPERTIES OUTPUT_NAME standalone
  RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench)
add_dependencies(bench-standalone clover)

# build/bench/remote: the same with K `clover worker` processes (default 1).
add_executable(bench-remote standalone.c)
target_compile_definitions(bench-remote PRIVATE BENCH_REMOTE=1)
target_link_libraries(bench-remote PRIVATE clover_store PkgConfig::SQLITE)
set_target_properties(bench-remote PROPERTIES OUTPUT_NAME remote
  RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench)
add_dependencies(bench-remote clover)
