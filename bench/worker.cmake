# SPDX-License-Identifier: MIT
# build/bench/worker: the client library's worker (executor side) against an
# in-process scheduler over CURVE on loopback: runs/s end to end with the spool.
add_executable(bench-worker worker.c)
target_link_libraries(bench-worker PRIVATE clover_exec)
set_target_properties(bench-worker PROPERTIES OUTPUT_NAME worker
  RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench)
