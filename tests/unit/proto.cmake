# SPDX-License-Identifier: MIT
# The proto layer (docs/protocol.md): the codec (limits, malformed frames,
# batching, LZ4, allocation failures) and the session state machine with a
# virtual clock.
clover_test(test-proto-codec SOURCES unit/test-proto-codec.c LIBS clover_proto LABELS unit)
target_link_options(test-proto-codec PRIVATE
  -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc)
target_link_libraries(test-proto-codec PRIVATE m)
clover_test(test-proto-session SOURCES unit/test-proto-session.c LIBS clover_proto LABELS unit)
