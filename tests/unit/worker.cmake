# SPDX-License-Identifier: MIT
# The worker runtime (src/exec/worker.c, the client library's executor side)
# and its spool: the spool on its own (restart, order, idempotence, acks),
# and a worker against a minimal scheduler built from proto_server in the
# test (CURVE on 127.0.0.1, a free port), and the `clover worker` command.
clover_test(test-worker-spool SOURCES unit/test-worker-spool.c LIBS clover_exec LABELS unit)
clover_test(test-worker SOURCES unit/test-worker.c LIBS clover_daemon clover_exec LABELS unit)
