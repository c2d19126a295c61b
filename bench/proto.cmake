# SPDX-License-Identifier: MIT
# build/bench/proto: the wire codec (ns per dispatch and result) and a CURVE
# ROUTER/DEALER pair on loopback (runs/s with batching); see docs/protocol.md.
add_executable(bench-proto proto.c)
target_link_libraries(bench-proto PRIVATE clover_proto)
set_target_properties(bench-proto PROPERTIES OUTPUT_NAME proto
  RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench)
