#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The installed client library, used as an application outside this tree
# would use it: `cmake --install` into a temporary prefix, examples/worker-hello.c
# compiled and linked with `pkg-config --cflags --libs clover` only, the
# library's exports limited to clover_*, and the program run as an executor of
# a real `clover server` (the installed binary): its declared job is created,
# and a triggered run of it succeeds with the handler's log line; then two
# copies of examples/worker-shards.c run a sharded job with a retry.
# Usage: libclover.sh BUILD_DIR SOURCE_DIR [EXTRA_CFLAGS]
set -u

BUILD=$1
SRC=$2
EXTRA=${3:-}
DIR=$(mktemp -d /tmp/clover-lib.XXXXXX)
PIDS=()
. "$(dirname "$0")/lib.sh"

cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$DIR"
}
trap cleanup EXIT

cd "$DIR" || exit 1

check "cmake --install into a prefix" bash -c "cmake --install '$BUILD' --prefix '$DIR/prefix' >install.out 2>&1"
PC=$(find "$DIR/prefix" -name clover.pc | head -1)
check "clover.pc, clover.h and libclover.so are installed" \
	bash -c "[ -n '$PC' ] && [ -f '$DIR/prefix/include/clover.h' ] && ls '$DIR'/prefix/lib*/libclover.so* '$DIR'/prefix/lib/*/libclover.so* 2>/dev/null | grep -q ."
export PKG_CONFIG_PATH=${PC%/*}
LIBDIR=$(pkg-config --variable=libdir clover)
# shellcheck disable=SC2046,SC2086
check "the examples build with pkg-config alone" bash -c "
	cc $EXTRA -Wall -Wextra -Werror -o hello '$SRC/examples/worker-hello.c' \
		\$(pkg-config --cflags --libs clover) -Wl,-rpath,'$LIBDIR' &&
	cc $EXTRA -Wall -Wextra -Werror -o shards '$SRC/examples/worker-shards.c' \
		\$(pkg-config --cflags --libs clover) -Wl,-rpath,'$LIBDIR'"
check "it links the installed libclover" bash -c "ldd ./hello | grep -q '$LIBDIR/libclover.so'"
check "libclover exports only clover_* functions" bash -c \
	"[ -z \"\$(nm -D --defined-only '$LIBDIR/libclover.so' | awk '\$2 != \"A\" {print \$3}' | grep -v '^clover_')\" ]"

CLOVER=$DIR/prefix/bin/clover
for k in sched app a b; do "$CLOVER" keygen $k >/dev/null || exit 1; done
cat app.pub a.pub b.pub >keys
RPCPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$CLOVER" server --data "$DIR/data" --listen 127.0.0.1:0 --rpc-listen "127.0.0.1:$RPCPORT" \
	--server-key "$DIR/sched" --executor-keys "$DIR/keys" >server.out 2>server.err &
PIDS+=($!)
wait_for 10 grep -q 'executors:' server.out || { echo "server did not start"; cat server.err; exit 1; }
PORT=$(grep -o 'http://127.0.0.1:[0-9]*' server.out | tail -1 | cut -d: -f3)
URL="http://127.0.0.1:$PORT/api/v1"
api() { curl -s -H "Authorization: Bearer $(cat "$DIR/data/admin.token")" "$@"; }

./hello "tcp://127.0.0.1:$RPCPORT" sched.pub app app.spool >hello.out 2>hello.err &
PIDS+=($!)
job_exists() { api "$URL/jobs/$1" | grep -q '"handler"'; }
check "its declared job is created when it connects" wait_for 10 job_exists hello-c
api -X PUT -d '{"name":"hello-c","schedule":"@manual","run":{"handler":"hello"},"target":{"labels":{"app":"hello"}}}' \
	"$URL/jobs/hello-c" >/dev/null
R=$(api -X POST "$URL/jobs/hello-c/trigger" | python3 -c 'import json,sys; print(json.load(sys.stdin)["run_id"])')
succeeded() { # the run's own state, not a shard's
	[ "$(api "$URL/runs/$R" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" = succeeded ]
}
check "a run of its handler succeeds" wait_for 10 succeeded
check "the handler's log line reaches the run log" bash -c \
	"curl -s -H 'Authorization: Bearer $(cat "$DIR/data/admin.token")' '$URL/runs/$R/log' | grep -q 'Hello from job hello-c'"

# worker-shards: four regions over two executors, "west" retried once.
./shards "tcp://127.0.0.1:$RPCPORT" sched.pub a shards-a >a.out 2>a.err &
PIDS+=($!)
./shards "tcp://127.0.0.1:$RPCPORT" sched.pub b shards-b >b.out 2>b.err &
PIDS+=($!)
check "worker-shards declares its sharded job" wait_for 10 job_exists rollup-regions
two() { api "$URL/executors" | grep -q '"shards-b"' && api "$URL/executors" | grep -q '"shards-a"'; }
wait_for 10 two
R=$(api -X POST -d '{"params":"{\"date\":\"2026-03-08\"}"}' "$URL/jobs/rollup-regions/trigger" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["run_id"])')
check "its run succeeds, region west on a retry" wait_for 20 succeeded
check "the shards were spread over both executors, west retried once" bash -c \
	"curl -s -H 'Authorization: Bearer $(cat "$DIR/data/admin.token")' '$URL/runs/$R' | python3 -c \"
import json,sys; d=json.load(sys.stdin); s=d['shards']
assert {x['executor'] for x in s}=={'shards-a','shards-b'}, s
assert [x['attempt'] for x in s]==[1,1,1,2], s\""
check "a shard's log names its region and the trigger's parameters" bash -c \
	"curl -s -H 'Authorization: Bearer $(cat "$DIR/data/admin.token")' '$URL/runs/$R/log?shard=2' | grep -q 'region east, attempt 1, trigger params {\"date\":\"2026-03-08\"}'"

summary || {
	echo "--- server.err"; tail -30 server.err; echo "--- hello.err"; tail -30 hello.err
	exit 1
}
