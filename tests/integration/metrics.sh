#!/bin/bash
# SPDX-License-Identifier: MIT
#
# End-to-end test of what a real `clover server` shows of itself: scrapes
# /metrics twice while jobs run and checks the exposition with
# metrics-check.py (every line parses, names are valid, histograms are
# cumulative, counters grow), checks the token rule and metrics_public,
# GET /stats after real runs, and the coordination tree (this scheduler, the
# leader, the built-in executor as an ephemeral node, jobs/notice bumped), and
# with a remote `clover worker`: its ephemeral node while its session lives,
# gone when it leaves, and the dispatch latency histogram.
# Usage: metrics.sh /path/to/clover
set -u

CLOVER=${1:-${CLOVER_BIN:-}}
[ -x "$CLOVER" ] || { echo "usage: $0 /path/to/clover" >&2; exit 2; }
CLOVER=$(cd "$(dirname "$CLOVER")" && pwd)/$(basename "$CLOVER")
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=$(mktemp -d /tmp/clover-metrics.XXXXXX)
PID=
. "$(dirname "$0")/lib.sh"

WPID=
cleanup() {
	[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
	[ -n "$WPID" ] && kill -9 "$WPID" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT

start_server() { # start_server EXTRA-FLAGS...
	: >"$DIR/server.out"
	"$CLOVER" server --data "$DIR/data" --listen 127.0.0.1:0 --drain-grace 2s "$@" \
		>>"$DIR/server.out" 2>>"$DIR/server.err" &
	PID=$!
	for _ in $(seq 100); do
		PORT=$(grep -o 'http://127.0.0.1:[0-9]*' "$DIR/server.out" 2>/dev/null | tail -1 | cut -d: -f3)
		if [ -n "$PORT" ] && grep -q 'is running' "$DIR/server.out"; then
			BASE="http://127.0.0.1:$PORT"
			return 0
		fi
		sleep 0.1
	done
	echo "server did not start:"; cat "$DIR/server.err"; exit 1
}

stop_server() {
	kill -TERM "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	PID=
}

TOKEN() { cat "$DIR/data/admin.token"; }
get() { curl -s -H "Authorization: Bearer $(TOKEN)" "$BASE$1"; }
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
py() { python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if ($1) else 1)"; }

start_server
for j in ok1 ok2 bad; do
	rc=0; [ $j = bad ] && rc=3
	curl -s -H "Authorization: Bearer $(TOKEN)" -X POST \
		-d "{\"name\":\"$j\",\"schedule\":\"@every 1s\",\"run\":{\"shell\":\"exit $rc\"}}" \
		"$BASE/api/v1/jobs" >/dev/null
done
sleep 3
get /metrics >"$DIR/m1.txt"
sleep 2.5
get /metrics >"$DIR/m2.txt"

check "a scrape without a token is 401" test "$(code "$BASE/metrics")" = 401
check "the exposition parses, and counters grow between scrapes" \
	python3 "$HERE/metrics-check.py" "$DIR/m1.txt" "$DIR/m2.txt"
check "runs are counted by outcome" grep -q '^clover_runs_total{outcome="failed"} [1-9]' "$DIR/m2.txt"
check "lateness is observed" grep -q '^clover_run_lateness_seconds_count [1-9]' "$DIR/m2.txt"
check "store commits are observed" grep -q '^clover_store_commit_seconds_count [1-9]' "$DIR/m2.txt"

get /api/v1/stats >"$DIR/stats.json"
check "stats count the jobs" py 'd["jobs"] == 3 and d["paused"] == 0' <"$DIR/stats.json"
check "stats show the runs of this minute and hour" \
	py 'sum(m["succeeded"] + m["failed"] for m in d["runs_per_minute"]) >= 6 and d["runs_per_hour"][-1]["failed"] >= 2' <"$DIR/stats.json"
check "stats list the latest failures, newest first" \
	py 'len(d["latest_failures"]) >= 2 and d["latest_failures"][0]["id"] > d["latest_failures"][1]["id"] and d["latest_failures"][0]["job"] == "bad"' <"$DIR/stats.json"
check "stats show lateness percentiles and next fires" \
	py 'd["lateness"][-1]["n"] >= 6 and len(d["next_fires"]) == 3 and d["failed_24h"] >= 2' <"$DIR/stats.json"
check "stats count this scheduler and the built-in executor" \
	py 'd["schedulers"] == 1 and d["executors"] == 1' <"$DIR/stats.json"

check "the tree has this scheduler" \
	py 'len(d["children"]) == 1 and d["children"][0].endswith(":'"$PORT"'")' < <(get "/api/v1/coord?path=/clover/schedulers")
check "the leader is this scheduler's ephemeral node" \
	py 'd["ephemeral"] and json.loads(d["data"])["id"].endswith(":'"$PORT"'")' < <(get "/api/v1/coord?path=/clover/leader")
check "the built-in executor is published" \
	py 'd["ephemeral"] and d["owner"] == "executor:local"' < <(get "/api/v1/coord?path=/clover/executors/local")
check "job changes bump jobs/notice" \
	py 'd["version"] == 3' < <(get "/api/v1/coord?path=/clover/jobs/notice")
check "an admin cannot delete a live session's node" \
	test "$(code -X DELETE -H "Authorization: Bearer $(TOKEN)" "$BASE/api/v1/coord?path=/clover/leader")" = 409
stop_server

start_server --metrics-public true
check "metrics_public: a scrape without a token is 200" test "$(code "$BASE/metrics")" = 200
check "metrics_public: the rest of the API still needs one" test "$(code "$BASE/api/v1/stats")" = 401
check "the rollup survives a restart" \
	py 'd["runs_per_hour"][-1]["failed"] >= 2' < <(get /api/v1/stats)
stop_server

# ---- a remote executor: the tree shows it while its session lives; dispatches are timed ----
cd "$DIR" || exit 1
"$CLOVER" keygen sched >/dev/null && "$CLOVER" keygen w1 >/dev/null || exit 1
cp w1.pub executors.keys
RPCPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_server --rpc-listen "127.0.0.1:$RPCPORT" --server-key "$DIR/sched" \
	--executor-keys "$DIR/executors.keys" --executor-timeout 2s
"$CLOVER" worker --scheduler "tcp://127.0.0.1:$RPCPORT" --server-key "$DIR/sched.pub" \
	--key "$DIR/w1" --id w1 --label pool=remote --capacity 4 --spool "$DIR/w1.spool" \
	>w1.out 2>w1.err &
WPID=$!
curl -s -H "Authorization: Bearer $(TOKEN)" -X POST \
	-d '{"name":"far","schedule":"@every 1s","target":{"labels":{"pool":"remote"}},"run":{"shell":"true"}}' \
	"$BASE/api/v1/jobs" >/dev/null
sleep 3.5
check "a remote executor is an ephemeral node with its labels" \
	py 'd["ephemeral"] and d["owner"] == "executor:w1" and json.loads(d["data"])["labels"]["pool"] == "remote"' \
	< <(get "/api/v1/coord?path=/clover/executors/w1")
get /metrics >"$DIR/m3.txt"
check "dispatches to it are timed" grep -q '^clover_dispatch_latency_seconds_count [1-9]' "$DIR/m3.txt"
check "it counts as an active executor" grep -q '^clover_executors{state="active"} 2' "$DIR/m3.txt"
kill -TERM "$WPID"; wait "$WPID" 2>/dev/null
sleep 1
check "its node goes when it leaves" \
	test "$(code -H "Authorization: Bearer $(TOKEN)" "$BASE/api/v1/coord?path=/clover/executors/w1")" = 404
stop_server

summary '# passed %d, failed %d'
