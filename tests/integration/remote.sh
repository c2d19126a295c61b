#!/bin/bash
# SPDX-License-Identifier: MIT
#
# End-to-end test of remote executors: a real `clover server` with
# rpc_listen and three real `clover worker` processes on loopback, all with
# keys made by `clover keygen`. Checks that the workers join and show in
# GET /executors, that a sharded job and a round-robin job spread over them
# per the strategies, that disabling an executor takes it out of routing,
# that kill -9 of a worker mid-shard fails its shard over to another within
# the detection time and the run completes, and that an unknown key is
# refused, and that after kill -9 of the scheduler mid-shard the restarted
# scheduler takes the worker's result for it without running it twice.
# Usage: remote.sh /path/to/clover
set -u

CLOVER=${1:-${CLOVER_BIN:-}}
[ -x "$CLOVER" ] || { echo "usage: $0 /path/to/clover" >&2; exit 2; }
DIR=$(mktemp -d /tmp/clover-rit.XXXXXX)
PIDS=()
. "$(dirname "$0")/lib.sh"
TIMEOUT_MS=2000 # executor_timeout

cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$DIR"
}
trap cleanup EXIT

api() { curl -s -H "Authorization: Bearer $(cat "$DIR/data/admin.token")" "$@"; }
py() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

# ---- keys, scheduler, workers ----
cd "$DIR" || exit 1
for k in sched w1 w2 w3 stranger; do "$CLOVER" keygen "$k" >/dev/null || exit 1; done
cat w1.pub w2.pub w3.pub >executors.keys
# A fixed executor port, so that a restarted server is found at the same address.
RPCPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
EP="tcp://127.0.0.1:$RPCPORT"
STARTS=0
start_server() {
	STARTS=$((STARTS + 1))
	"$CLOVER" server --data "$DIR/data" --listen 127.0.0.1:0 --rpc-listen "127.0.0.1:$RPCPORT" \
		--server-key "$DIR/sched" --executor-keys "$DIR/executors.keys" \
		--executor-timeout 2s --kill-grace 1s --drain-grace 5s >>server.out 2>>server.err &
	SPID=$!
	PIDS+=($SPID)
	wait_for 10 bash -c "[ \$(grep -c 'executors:' server.out) -ge $STARTS ]" ||
		{ echo "server did not start"; cat server.err; exit 1; }
	PORT=$(grep -o 'http://127.0.0.1:[0-9]*' server.out | tail -1 | cut -d: -f3)
	URL="http://127.0.0.1:$PORT/api/v1"
}
start_server

start_worker() { # start_worker NAME KEY [OPTION...]: the pid goes to W_<NAME>
	local name=$1 key=$2; shift 2
	"$CLOVER" worker --scheduler "$EP" --server-key "$DIR/sched.pub" --key "$DIR/$key" --id "$name" \
		--label pool=w --capacity 4 --spool "$DIR/$name.spool" "$@" >"$name.out" 2>"$name.err" &
	PIDS+=($!)
	eval "W_$name=$!"
}
# w1 declares two jobs; one of them exists already and must stay as it is.
api -X POST -d '{"name":"kept","schedule":"@manual","run":{"shell":"echo original"}}' "$URL/jobs" >/dev/null
cat >jobs.json <<'EOF2'
[{"name":"declared","schedule":"@manual","target":{"labels":{"pool":"w"}},"run":{"shell":"echo declared"}},
 {"name":"kept","schedule":"@manual","run":{"shell":"echo changed by the executor"}}]
EOF2
start_worker w1 w1 --jobs "$DIR/jobs.json"
start_worker w2 w2
start_worker w3 w3

executors() { api "$URL/executors" | py "print(' '.join(sorted(x['id'] + ':' + x['state'] for x in d['executors'])))"; }
joined() { [ "$(executors)" = "local:active w1:active w2:active w3:active" ]; }
check "three workers join and are listed with the built-in executor" wait_for 10 joined
check "an executor's details: labels, capacity, host, version" \
	bash -c "curl -s -H 'Authorization: Bearer $(cat data/admin.token)' $URL/executors | python3 -c \"
import json,sys; d=json.load(sys.stdin); x=[x for x in d['executors'] if x['id']=='w2'][0]
assert x['labels']=={'pool':'w'}, x; assert x['capacity']==4, x; assert x['host'], x
assert x['version'].startswith('clover'), x; assert x['last_heartbeat'], x\""
check "GET /cluster lists the scheduler and the executors" \
	bash -c "curl -s -H 'Authorization: Bearer $(cat data/admin.token)' $URL/cluster | python3 -c \"
import json,sys; d=json.load(sys.stdin); assert len(d['schedulers'])==1 and len(d['executors'])==4, d\""

check "clover executors shows a table of the executors" \
	bash -c "out=\$('$CLOVER' executors --server http://127.0.0.1:$PORT --data '$DIR/data'); echo \"\$out\" | head -1 | grep -q '^ID *HOST *STATE *ENABLED' && echo \"\$out\" | grep -q '^w3 .*pool=w'"
check "clover executors -o json" \
	bash -c "'$CLOVER' executors -o json --server http://127.0.0.1:$PORT --data '$DIR/data' | python3 -c 'import json,sys; assert len(json.load(sys.stdin)[\"executors\"])==4'"

put_job() { api -X POST -d "$1" "$URL/jobs" >/dev/null; }
trigger() { api -X POST "$URL/jobs/$1/trigger" | py "print(d['run_id'])"; }
run_state() { api "$URL/runs/$1" | py "print(d['state'])"; }
shard_execs() { api "$URL/runs/$1" | py "print(' '.join(s['executor'] or '-' for s in d['shards']))"; }
is_state() { [ "$(run_state "$1")" = "$2" ]; }

# ---- sharding: average, 6 shards over 3 executors -> [0,1][2,3][4,5] ----
put_job '{"name":"sh6","schedule":"@manual","target":{"labels":{"pool":"w"}},
  "shards":{"count":6,"strategy":"average"},"run":{"shell":"echo shard $CLOVER_SHARD"}}'
R=$(trigger sh6)
check "a sharded run succeeds on the workers" wait_for 10 is_state "$R" succeeded
check "average spreads shards [0,1][2,3][4,5]" [ "$(shard_execs "$R")" = "w1 w1 w2 w2 w3 w3" ]
check "a shard's output reaches the run log" wait_for 5 \
	bash -c "curl -s -H 'Authorization: Bearer $(cat data/admin.token)' '$URL/runs/$R/log?shard=3' | grep -q 'shard 3'"

# ---- declared jobs ----
check "a job declared by a worker is created" \
	bash -c "curl -s -H 'Authorization: Bearer $(cat data/admin.token)' $URL/jobs/declared | grep -q 'echo declared'"
check "a declared job runs" bash -c "r=\$(curl -s -X POST -H 'Authorization: Bearer $(cat data/admin.token)' $URL/jobs/declared/trigger | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"run_id\"])'); for i in \$(seq 50); do curl -s -H 'Authorization: Bearer $(cat data/admin.token)' $URL/runs/\$r | grep -q '\"state\":\"succeeded\"' && exit 0; sleep 0.1; done; exit 1"
check "a declaration does not change an existing job" \
	bash -c "curl -s -H 'Authorization: Bearer $(cat data/admin.token)' $URL/jobs/kept | grep -q 'echo original'"
restart_w1() { # restart_w1 SHELL: w1 again, declaring "declared" with that command
	kill "$W_w1"; wait "$W_w1" 2>/dev/null
	printf '[{"name":"declared","schedule":"@manual","target":{"labels":{"pool":"w"}},"run":{"shell":"%s"}}]' \
		"$1" >jobs.json
	start_worker w1 w1 --jobs "$DIR/jobs.json"
	wait_for 10 joined
}
job_has() { api "$URL/jobs/$1" | grep -q "$2"; }
restart_w1 "echo declared v2"
check "a changed declaration updates the job it declared" wait_for 5 job_has declared 'echo declared v2'
api -X PUT -d '{"name":"declared","schedule":"@manual","target":{"labels":{"pool":"w"}},"run":{"shell":"echo edited"}}' \
	"$URL/jobs/declared" >/dev/null
restart_w1 "echo declared v3"
check "after an edit through the API, a declaration no longer changes the job" \
	bash -c "sleep 1; curl -s -H 'Authorization: Bearer $(cat data/admin.token)' $URL/jobs/declared | grep -q 'echo edited'"
check "the ignored declaration is recorded as a warning event" wait_for 5 \
	bash -c "curl -s -H 'Authorization: Bearer $(cat data/admin.token)' '$URL/events?job=declared' | grep -q 'changed through the API'"

# ---- routing: round robin over the three ----
put_job '{"name":"rr","schedule":"@manual","concurrency":"allow",
  "target":{"labels":{"pool":"w"},"route":"round_robin"},"run":{"shell":"true"}}'
RR=""
for _ in 1 2 3; do RR="$RR $(trigger rr)"; done
for r in $RR; do wait_for 10 is_state "$r" succeeded; done
used=$(for r in $RR; do shard_execs "$r"; done | sort | tr '\n' ' ')
check "round robin uses each worker once in three runs" [ "$used" = "w1 w2 w3 " ]

# ---- disable / enable ----
"$CLOVER" executors disable w1 --server "http://127.0.0.1:$PORT" --data "$DIR/data" >/dev/null
used=""
for _ in 1 2 3 4; do
	r=$(trigger rr); wait_for 10 is_state "$r" succeeded; used="$used $(shard_execs "$r")"
done
check "a disabled executor gets no new shards" bash -c "! echo '$used' | grep -q w1"
check "a disabled executor is listed as not enabled" bash -c "curl -s -H 'Authorization: Bearer $(cat data/admin.token)' $URL/executors | python3 -c \"
import json,sys; d=json.load(sys.stdin); x=[x for x in d['executors'] if x['id']=='w1'][0]; assert not x['enabled'], x\""
"$CLOVER" executors enable w1 --server "http://127.0.0.1:$PORT" --data "$DIR/data" >/dev/null

# ---- kill -9 a worker mid-shard: failover within the detection time ----
put_job '{"name":"slow","schedule":"@manual","target":{"labels":{"pool":"w"}},
  "shards":{"count":3},"run":{"shell":"sleep 2; echo done"}}'
R=$(trigger slow)
running_on_w2() { api "$URL/runs/$R" | py "import sys; sys.exit(0 if d['shards'][1]['state']=='running' and d['shards'][1]['executor']=='w2' else 1)"; }
check "shard 1 runs on w2" wait_for 10 running_on_w2
{ kill -9 "$W_w2"; wait "$W_w2"; } 2>/dev/null # no "Killed" notice from the shell
t0=$(date +%s%3N)
failed_over() { api "$URL/runs/$R" | py "import sys; s=d['shards'][1]; sys.exit(0 if s['attempt']==2 and s['executor'] not in ('w2', None) else 1)"; }
check "the lost worker's shard fails over to another" wait_for 10 failed_over
t1=$(date +%s%3N)
check "failover within the detection time ($((t1 - t0)) ms <= ${TIMEOUT_MS} ms + 1.5 s)" \
	[ $((t1 - t0)) -le $((TIMEOUT_MS + 1500)) ]
check "the run completes after the failover" wait_for 15 is_state "$R" succeeded
check "the lost worker leaves the listing" wait_for 5 bash -c "! curl -s -H 'Authorization: Bearer $(cat data/admin.token)' $URL/executors | grep -q '\"w2\"'"

# ---- an unknown key is refused ----
start_worker w4 stranger
check "an unknown key is refused and logged" wait_for 10 grep -qF "refused executor key $(head -c 40 stranger.pub)" server.err
check "the refused worker is not listed" bash -c "! curl -s -H 'Authorization: Bearer $(cat data/admin.token)' $URL/executors | grep -q '\"w4\"'"
cat stranger.pub >>executors.keys
kill -HUP "$SPID"
check "a key added to executor_keys gets in after SIGHUP, without a restart" \
	wait_for 40 bash -c "curl -s -H 'Authorization: Bearer $(cat data/admin.token)' $URL/executors | grep -q '\"w4\"'"

# ---- drain: the executor finishes, says bye and leaves ----
check "clover executors drain w3" "$CLOVER" executors drain w3 --server "http://127.0.0.1:$PORT" --data "$DIR/data"
check "a drained executor leaves the listing" wait_for 10 bash -c "! curl -s -H 'Authorization: Bearer $(cat data/admin.token)' $URL/executors | grep -q '\"w3\"'"

# ---- shutdown: SIGTERM waits for remote shards, whose results are recorded ----
put_job '{"name":"last","schedule":"@manual","target":{"labels":{"pool":"w"}},
  "run":{"shell":"sleep 1; echo bye"}}'
R=$(trigger last)
check "a last shard runs on a worker" wait_for 10 is_state "$R" running
kill -TERM "$SPID"
check "the server stops on SIGTERM with workers connected" wait_for 10 bash -c "! kill -0 $SPID 2>/dev/null"
check "the stop waited for the remote shard and recorded its result" \
	python3 -c "import sqlite3,sys; s=sqlite3.connect('$DIR/data/clover.db').execute('SELECT state FROM runs WHERE id=$R').fetchone()[0]; sys.exit(0 if s == 2 else 1)"

# ---- kill -9 of the scheduler mid-shard: after its restart the worker reports
# the shard and its result; it is not run a second time ----
start_server
back() { [ "$(executors)" = "local:active w1:active w4:active" ]; }
check "the workers join the restarted server" wait_for 15 back
put_job '{"name":"survivor","schedule":"@manual","target":{"labels":{"pool":"w"}},
  "run":{"shell":"sleep 1; echo survived; sleep 2"}}'
R=$(trigger survivor)
check "the survivor shard runs on a worker" wait_for 10 is_state "$R" running
{ kill -9 "$SPID"; wait "$SPID"; } 2>/dev/null
sleep 2 # the shard writes its output while no scheduler is there
start_server
check "after the restart the run completes" wait_for 20 is_state "$R" succeeded
check "the output written while the scheduler was down reaches the run log" wait_for 5 \
	bash -c "curl -s -H 'Authorization: Bearer $(cat data/admin.token)' '$URL/runs/$R/log' | grep -q survived"
check "with its first attempt: no duplicate" \
	bash -c "curl -s -H 'Authorization: Bearer $(cat data/admin.token)' $URL/runs/$R | python3 -c \"
import json,sys; d=json.load(sys.stdin); assert d['shards'][0]['attempt']==1, d\""

# ---- an executor away when the scheduler restarts is listed as expected,
# with the shard it had, until it is back ----
put_job '{"name":"awaited","schedule":"@manual","target":{"labels":{"pool":"w"}},
  "run":{"shell":"sleep 30"}}'
R=$(trigger awaited)
check "the awaited shard runs on a worker" wait_for 10 is_state "$R" running
AW=$(shard_execs "$R")
eval "AWPID=\$W_$AW"
kill -STOP "$AWPID"
{ kill -9 "$SPID"; wait "$SPID"; } 2>/dev/null
start_server
expected_listed() {
	api "$URL/executors" | py "x=[e for e in d['executors'] if e['id']=='$AW'][0]; assert x['state']=='expected' and x['running']==1, x"
}
check "after a restart, an executor not back yet is listed as expected with its shard" \
	wait_for 5 expected_listed
kill -CONT "$AWPID"
active_again() { api "$URL/executors" | py "assert [e for e in d['executors'] if e['id']=='$AW'][0]['state']=='active'"; }
check "once it says hello it is listed as active again" wait_for 10 active_again
check "and its shard is still its first attempt, running" \
	bash -c "curl -s -H 'Authorization: Bearer $(cat data/admin.token)' $URL/runs/$R | python3 -c \"
import json,sys; d=json.load(sys.stdin); s=d['shards'][0]; assert s['attempt']==1 and s['state']=='running' and s['executor']=='$AW', d\""
api -X POST "$URL/runs/$R/kill" >/dev/null
kill -TERM "$SPID"
wait_for 10 bash -c "! kill -0 $SPID 2>/dev/null"

summary '# passed %d, failed %d' || {
	echo "# server log:"; tail -40 server.err
	exit 1
}
exit 0
