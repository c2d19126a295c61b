# SPDX-License-Identifier: MIT
# The proto layer (docs/protocol.md): the codec (limits, malformed frames,
# batching, LZ4, allocation failures), the session state machine with a
# virtual clock, and the ZeroMQ transport over loopback with CURVE (keys,
# accepted and refused executors, malformed frames, `clover keygen`).
clover_test(test-proto-codec SOURCES unit/test-proto-codec.c LIBS clover_proto LABELS unit)
target_link_options(test-proto-codec PRIVATE
  -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc)
target_link_libraries(test-proto-codec PRIVATE m)
clover_test(test-proto-session SOURCES unit/test-proto-session.c LIBS clover_proto LABELS unit)
clover_test(test-proto-zmq SOURCES unit/test-proto-zmq.c LIBS clover_proto clover_cli LABELS unit)
