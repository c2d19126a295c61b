# SPDX-License-Identifier: MIT
# build/bench/exec: the built-in executor's pool (noop runs/s) and shell spawns (docs/executor.md).
add_executable(bench-exec exec.c)
target_link_libraries(bench-exec PRIVATE clover_exec)
set_target_properties(bench-exec PROPERTIES OUTPUT_NAME exec
  RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench)
