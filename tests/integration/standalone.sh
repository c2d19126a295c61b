#!/bin/bash
# SPDX-License-Identifier: MIT
#
# End-to-end tests of standalone clover: starts the real `clover server` on a
# private data directory and a random loopback port, drives it through the CLI
# and the HTTP API, kills it with -9 and restarts it, and stops it with SIGTERM.
# Usage: standalone.sh /path/to/clover
set -u

CLOVER=${1:-${CLOVER_BIN:-}}
[ -x "$CLOVER" ] || { echo "usage: $0 /path/to/clover" >&2; exit 2; }
DIR=$(mktemp -d /tmp/clover-it.XXXXXX)
MARK="clover-it-$$"          # tags the test's shell jobs so cleanup finds them
PID=
. "$(dirname "$0")/lib.sh"

cleanup() {
	[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
	pkill -9 -f "$MARK" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT

start_server() {
	"$CLOVER" server --data "$DIR/data" --listen 127.0.0.1:0 --kill-grace 1s \
		--drain-grace 10s >>"$DIR/server.out" 2>>"$DIR/server.err" &
	PID=$!
	for _ in $(seq 100); do
		# The port of this start's banner: wait until its API line is there,
		# or a restart would be handed the previous server's port.
		if [ "$(grep -c '  API: ' "$DIR/server.out" 2>/dev/null)" -ge "$STARTS" ]; then
			PORT=$(grep '  API: ' "$DIR/server.out" | tail -1 | grep -o 'http://127.0.0.1:[0-9]*' | cut -d: -f3)
			export CLOVER_SERVER="http://127.0.0.1:$PORT"
			return 0
		fi
		sleep 0.1
	done
	echo "server did not start:"; cat "$DIR/server.err"; exit 1
}

cl() { "$CLOVER" --data "$DIR/data" "$@" 2>&1; }
clj() { "$CLOVER" "$@" --data "$DIR/data" -o json 2>&1; }
api() { curl -s -H "Authorization: Bearer $(cat "$DIR/data/admin.token")" "$CLOVER_SERVER/api/v1/$1"; }
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

apply() { # apply NAME JSON
	printf '%s' "$2" >"$DIR/$1.json"
	cl job apply -f "$DIR/$1.json"
}

run_state() { api "runs/$1" | jq_py 'd["state"]'; }
state_is() { [ "$(run_state "$1")" = "$2" ]; }

STARTS=1
start_server

# --- first start ---------------------------------------------------------
check "first start writes admin.token readable only by its owner" \
	test "$(stat -c %a "$DIR/data/admin.token")" = 600
check "health answers without a token" \
	sh -c "curl -sf '$CLOVER_SERVER/api/v1/health' | grep -q '\"status\": *\"ok\"'"

# --- a shell job fires on schedule and its output is in the log ----------
out=$(apply hello '{"name":"hello","schedule":"* * * * * ?","run":{"shell":"echo hi from $CLOVER_JOB attempt $CLOVER_ATTEMPT shard $CLOVER_SHARD/$CLOVER_SHARD_COUNT; echo '"$MARK"' >/dev/null"}}')
check "job apply creates a job" test "$out" = "job hello created (revision 1)"
has_succeeded_run() { clj runs --job hello | grep -q '"succeeded"'; }
check "the job fires on schedule and succeeds" wait_for 15 has_succeeded_run
RID=$(clj runs --job hello --state succeeded -n 1 | jq_py 'd["runs"][0]["id"]')
check "run log shows the job's output and environment" \
	sh -c "'$CLOVER' --data '$DIR/data' run log $RID | grep -q 'hi from hello attempt 1 shard 0/1'"
SCHED=$(api "runs/$RID" | jq_py 'd["scheduled_at"]')
check "scheduled_at is a whole second in RFC 3339 UTC" \
	sh -c "echo '$SCHED' | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.000Z$'"
out=$(apply hello '{"name":"hello","schedule":"@manual","run":{"shell":"echo changed: $CLOVER_PARAMS"}}')
check "re-applying updates the job" test "$out" = "job hello configured (revision 2)"

# --- manual trigger with parameters --------------------------------------
out=$(cl job trigger hello --params 'x=1')
TID=${out#run }
check "trigger prints the run id" sh -c "echo '$out' | grep -Eq '^run [0-9]+$'"
check "the triggered run succeeds" wait_for 15 state_is "$TID" succeeded
check "trigger parameters reach the job" \
	sh -c "'$CLOVER' --data '$DIR/data' run log $TID | grep -q 'changed: x=1'"
check "the manual run is recorded as such" test "$(api "runs/$TID" | jq_py 'd["trigger"]')" = manual

# --- timeout kills the process group -------------------------------------
apply slow '{"name":"slow","schedule":"@manual","timeout":"1s","run":{"shell":"sleep 30 # '"$MARK"'"}}' >/dev/null
SID=$(cl job trigger slow); SID=${SID#run }
check "a shard over its timeout is timed_out" wait_for 20 state_is "$SID" timed_out

# --- retries -------------------------------------------------------------
apply flaky '{"name":"flaky","schedule":"@manual","retry":{"max":1,"backoff":"1s"},"run":{"shell":"echo try $CLOVER_ATTEMPT; exit 3"}}' >/dev/null
FID=$(cl job trigger flaky); FID=${FID#run }
check "a failing job is retried then fails" wait_for 20 state_is "$FID" failed
check "the retry is attempt 2 with the exit code" \
	test "$(api "runs/$FID" | jq_py 'd["shards"][0]["attempt"], d["shards"][0]["exit_code"]')" = "2 3"
last_failed() { cl job ls --last failed | grep -q '^flaky .* failed$'; }
check "job ls --last failed lists the job whose last run failed" wait_for 15 last_failed
check "and not a job whose last run succeeded" sh -c "! '$CLOVER' --data '$DIR/data' job ls --last failed | grep -q '^hello '"
check "job ls --last with a state that is not final is refused, naming the option" \
	sh -c "! '$CLOVER' --data '$DIR/data' job ls --last running >'$DIR/last.out' 2>&1 && grep -q 'last' '$DIR/last.out'"

# --- concurrency forbid --------------------------------------------------
apply busy '{"name":"busy","schedule":"@every 1s","run":{"shell":"sleep 2.5 # '"$MARK"'"}}' >/dev/null
has_skipped() { clj runs --job busy --state skipped | grep -q 'concurrency: forbid'; }
check "overlapping fires are skipped and recorded (forbid)" wait_for 20 has_skipped
cl job pause busy >/dev/null
check "a paused job shows as paused" sh -c "'$CLOVER' --data '$DIR/data' job ls | grep busy | grep -q yes"
sleep 3 # let a running one end
n1=$(clj runs --job busy -n 1000 | jq_py 'len(d["runs"])')
sleep 2.2
n2=$(clj runs --job busy -n 1000 | jq_py 'len(d["runs"])')
check "a paused job does not fire" test "$n1" = "$n2"
cl job rm busy >/dev/null

# --- kill ----------------------------------------------------------------
apply long '{"name":"long","schedule":"@manual","run":{"shell":"sleep 60 # '"$MARK"'"}}' >/dev/null
KID=$(cl job trigger long); KID=${KID#run }
wait_for 15 state_is "$KID" running
cl run kill "$KID" >/dev/null
check "run kill cancels a running run" wait_for 20 state_is "$KID" cancelled

# --- validation ----------------------------------------------------------
out=$(apply bad '{"name":"bad","schedule":"0 0 0 32 * ?","run":{"shell":"true"}}')
rc=$?
check "an invalid spec is refused with exit status 1" test "$rc" = 1
check "the error names the field and the problem" \
	sh -c "echo \"$out\" | grep -q 'day-of-month' && echo \"$out\" | grep -q schedule"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $(cat "$DIR/data/admin.token")" \
	--data '{"name":"bad","schedule":"@every 1s","run":{"shell":"true"},"retry":{"max":"x"}}' "$CLOVER_SERVER/api/v1/jobs/bad")
check "the API answers 422 for an invalid spec" test "$code" = 422
code=$(curl -s -o /dev/null -w '%{http_code}' "$CLOVER_SERVER/api/v1/jobs")
check "the API answers 401 without a token" test "$code" = 401

# --- kill -9 and restart -------------------------------------------------
apply tick '{"name":"tick","schedule":"* * * * * ?","misfire":{"policy":"skip","threshold":"1s"},"run":{"shell":"true"}}' >/dev/null
LID=$(cl job trigger long); LID=${LID#run }
wait_for 15 state_is "$LID" running
sleep 1.5
kill -9 "$PID"; wait "$PID" 2>/dev/null; PID=
sleep 4
STARTS=2
start_server
check "after kill -9, a run left running is marked lost" wait_for 15 state_is "$LID" lost
has_misfire_skips() { clj runs --job tick --state skipped -n 1000 | grep -q '"misfire"'; }
check "fires missed while down are recorded as skipped (policy skip)" wait_for 15 has_misfire_skips
sleep 2
dups=$(clj runs --job tick -n 1000 | jq_py 'len(d["runs"]) - len(set(r["scheduled_at"] for r in d["runs"]))')
check "no scheduled instant ran twice across the crash" test "$dups" = 0
gaps=$(clj runs --job tick -n 1000 | python3 -c '
import json, sys, datetime
runs = json.load(sys.stdin)["runs"]
ts = sorted(datetime.datetime.fromisoformat(r["scheduled_at"].replace("Z", "+00:00")).timestamp() for r in runs)
print(sum(1 for a, b in zip(ts, ts[1:]) if b - a != 1.0))')
check "every instant of the per-second job is accounted for (fired or skipped)" test "$gaps" = 0

# --- SIGTERM drains --------------------------------------------------------
cl job rm tick >/dev/null
apply drain '{"name":"drain","schedule":"@manual","run":{"shell":"sleep 2; echo finished # '"$MARK"'"}}' >/dev/null
DID=$(cl job trigger drain); DID=${DID#run }
wait_for 15 state_is "$DID" running
kill -TERM "$PID"
wait "$PID"; rc=$?; PID=
check "SIGTERM waits for running shards and exits 0" test "$rc" = 0
STARTS=3
start_server
check "the drained run finished and was recorded" state_is "$DID" succeeded

# --- SIGTERM while requests keep coming ------------------------------------
apply quick '{"name":"quick","schedule":"@manual","concurrency":"allow","run":{"shell":"true"}}' >/dev/null
for _ in 1 2 3 4; do
	( for _ in $(seq 50); do "$CLOVER" --data "$DIR/data" job trigger quick >/dev/null 2>&1; done ) &
done
sleep 0.5
kill -TERM "$PID"
stopped() { ! kill -0 "$PID" 2>/dev/null; }
check "SIGTERM under a stream of triggers still stops the server" wait_for 20 stopped
wait "$PID" 2>/dev/null; PID=
wait

summary || {
	echo "# server's standard error (last 40 lines):"
	tail -40 "$DIR/server.err" | sed 's/^/#   /'
	exit 1
}
