#!/bin/bash
# SPDX-License-Identifier: MIT
#
# End-to-end test of alerts: starts a real SMTP server (python3-aiosmtpd with
# tests/support/smtp_sink.py) and a webhook receiver
# (tests/support/webhook_sink.py) on free loopback ports, then the real
# `clover server` configured to use them. Creates contacts (one named by the
# job, one on call, one whose webhook fails) through the CLI and the API, a
# failing job naming its contact, triggers it, and checks that the e-mail
# and the webhook arrive with the right content, that each delivery and the
# failed webhook are recorded as events (GET /api/v1/events, `clover events`),
# that a job naming an unknown contact is accepted with a warning event, and
# that the server stops cleanly. Then every other kind reaches the on-call
# contact's webhook: a timeout, a skipped run (concurrency forbid), no
# executor, a `clover worker` killed with -9 while running three jobs (one
# executor_lost message counting the three), and, after a restart with the
# server down for a few seconds, a misfire; executor joined/lost and the
# configuration reload (SIGHUP) are events.
# Usage: alerts.sh /path/to/clover
set -u

CLOVER=${1:-${CLOVER_BIN:-}}
[ -x "$CLOVER" ] || { echo "usage: $0 /path/to/clover" >&2; exit 2; }
CLOVER=$(cd "$(dirname "$CLOVER")" && pwd)/$(basename "$CLOVER")
HERE=$(cd "$(dirname "$0")" && pwd)
SUPPORT="$HERE/../support"
PY=/usr/bin/python3
if ! $PY -c "import aiosmtpd" 2>/dev/null; then
	echo "python3-aiosmtpd is not installed: run scripts/install-deps" >&2
	exit 1
fi
DIR=$(mktemp -d /tmp/clover-alerts.XXXXXX)
PID= SMTP_PID= HOOK_PID= WPID=
. "$(dirname "$0")/lib.sh"

cleanup() {
	for p in $PID $SMTP_PID $HOOK_PID $WPID; do
		{ kill -9 "$p" && wait "$p"; } 2>/dev/null
	done
	rm -rf "$DIR"
}
trap cleanup EXIT

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# --- the SMTP sink and the webhook receiver -------------------------------
mkdir -p "$DIR/mail" "$DIR/hooks"
SMTP_PORT=$(free_port)
PYTHONPATH="$SUPPORT" $PY -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c smtp_sink.Sink "$DIR/mail" \
	>"$DIR/smtp.log" 2>&1 &
SMTP_PID=$!
$PY "$SUPPORT/webhook_sink.py" "$DIR/hook.port" "$DIR/hooks" >"$DIR/hook.log" 2>&1 &
HOOK_PID=$!
smtp_up() { $PY -c "import socket; socket.create_connection(('127.0.0.1',$SMTP_PORT),1)" 2>/dev/null; }
wait_for 10 smtp_up || { echo "the SMTP sink did not start"; cat "$DIR/smtp.log"; exit 1; }
wait_for 10 test -s "$DIR/hook.port" || { echo "the webhook receiver did not start"; exit 1; }
HOOK_PORT=$(cat "$DIR/hook.port")

# --- the server, configured through the INI file and a flag -----------------
cat >"$DIR/clover.ini" <<EOF
[server]
smtp_url = smtp://127.0.0.1:$SMTP_PORT
smtp_from = Clover <clover@example.com>
smtp_starttls = none
alert_group_window = 1s
alert_rate_limit = 100
alert_retry_backoff = 100ms
EOF
(cd "$DIR" && for k in sched wx; do "$CLOVER" keygen "$k" >/dev/null || exit 1; done) || exit 1
cp "$DIR/wx.pub" "$DIR/executors.keys"
RPCPORT=$(free_port)
STARTS=0
start_server() {
	STARTS=$((STARTS + 1))
	"$CLOVER" server --config "$DIR/clover.ini" --data "$DIR/data" --listen 127.0.0.1:0 \
		--webhook-retries 1 --rpc-listen "127.0.0.1:$RPCPORT" --server-key "$DIR/sched" \
		--executor-keys "$DIR/executors.keys" --executor-timeout 1s --kill-grace 1s \
		--drain-grace 1s >>"$DIR/server.out" 2>>"$DIR/server.err" &
	PID=$!
	PORT=
	for _ in $(seq 100); do
		n=$(grep -c 'is running' "$DIR/server.out" 2>/dev/null)
		if [ "${n:-0}" -ge "$STARTS" ]; then
			PORT=$(grep -o 'http://127.0.0.1:[0-9]*' "$DIR/server.out" | tail -1 | cut -d: -f3)
			break
		fi
		sleep 0.1
	done
	[ -n "$PORT" ] || { echo "server did not start:"; cat "$DIR/server.err"; exit 1; }
	export CLOVER_SERVER="http://127.0.0.1:$PORT"
}
start_server
TOKEN=$(cat "$DIR/data/admin.token")
api() { curl -s -H "Authorization: Bearer $TOKEN" "$CLOVER_SERVER/api/v1/$1"; }
post() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	-H 'Content-Type: application/json' -X POST --data "$2" "$CLOVER_SERVER/api/v1/$1"; }
cl() { "$CLOVER" --data "$DIR/data" "$@" 2>&1; }
jq_py() { $PY -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# --- contacts -------------------------------------------------------------
out=$(cl contacts add ann --email ann@example.com --webhook "http://127.0.0.1:$HOOK_PORT/hooks/ann")
check "clover contacts add creates a contact" test "$out" = "contact ann created"
check "POST /contacts creates an on-call contact" \
	test "$(post contacts '{"name":"pager","webhook":"http://127.0.0.1:'"$HOOK_PORT"'/hooks/pager","oncall":true}')" = 201
check "POST /contacts creates a contact whose webhook fails" \
	test "$(post contacts '{"name":"broken","webhook":"http://127.0.0.1:'"$HOOK_PORT"'/fail"}')" = 201
check "an invalid e-mail address is refused naming the field" \
	sh -c "'$CLOVER' --data '$DIR/data' contacts add bad --email 'not an address' 2>&1 | grep -q 'email'"
check "clover contacts lists them" \
	sh -c "'$CLOVER' --data '$DIR/data' contacts | grep -q 'ann@example.com'"
check "clover contacts --oncall lists only the on-call one" \
	test "$(cl contacts --oncall -o json | jq_py '[c["name"] for c in d["contacts"]]')" = "['pager']"
cl contacts add tmp --email tmp@example.com >/dev/null
check "clover contacts rm deletes a contact" test "$(cl contacts rm tmp)" = "contact tmp deleted"
check "... which is then gone" sh -c "! '$CLOVER' --data '$DIR/data' contacts | grep -q tmp@"

# --- a failing job naming ann and broken (and a contact that does not exist) --
printf '%s' '{"name":"backup","schedule":"@manual","contacts":["ann","broken","ghost"],"run":{"shell":"echo disk full >&2; exit 3"}}' >"$DIR/backup.json"
check "a job naming an unknown contact is accepted" \
	sh -c "'$CLOVER' --data '$DIR/data' job apply -f '$DIR/backup.json' | grep -q created"
check "... with a warning event naming the contact" \
	sh -c "curl -s -H 'Authorization: Bearer $TOKEN' '$CLOVER_SERVER/api/v1/events?job=backup&level=warn' | grep -q \"contact 'ghost', which does not exist\""
RID=$(cl job trigger backup); RID=${RID#run }

mail_to_ann() { grep -l 'ann@example.com' "$DIR"/mail/*.json >/dev/null 2>&1; }
check "the failure alert reaches ann by e-mail" wait_for 20 mail_to_ann
EML=$(ls "$DIR"/mail/*.eml 2>/dev/null | head -1)
check "the e-mail's subject names the job and the run" \
	grep -q "^Subject: \[clover\] job backup failed (run $RID)" "$EML"
check "the e-mail's body carries the run's reason" grep -q 'exit' "$EML"
check "the e-mail is from the configured sender" grep -q '^From: Clover <clover@example.com>' "$EML"

hook_for() { grep -l "\"path\": \"/hooks/$1\"" "$DIR"/hooks/*.json >/dev/null 2>&1; }
check "the alert reaches ann's webhook" wait_for 20 hook_for ann
check "the on-call contact gets it too" wait_for 20 hook_for pager
HOOK=$(grep -l '"/hooks/ann"' "$DIR"/hooks/*.json | head -1)
check "the webhook's JSON is a run_failed alert of the job and run" \
	test "$($PY -c "import json; d=json.loads(json.load(open('$HOOK'))['body']); print(d['kind'], d['job'], d['run_id'], d['contact'])")" = "run_failed backup $RID ann"

delivered() { api "events?source=notify&limit=100" | grep -q "alert delivered by $1 to $2"; }
check "the e-mail delivery is recorded as an event" wait_for 10 delivered email ann
check "the webhook delivery is recorded as an event" wait_for 10 delivered webhook ann
failed_hook() { api "events?source=notify&level=error" | grep -q 'alert failed by webhook to broken'; }
check "the failing webhook is retried, then recorded as failed" wait_for 20 failed_hook
check "its retry is recorded too" \
	sh -c "curl -s -H 'Authorization: Bearer $TOKEN' '$CLOVER_SERVER/api/v1/events?source=notify&q=retrying' | grep -q 'to broken'"
check "delivery events name the job and run" \
	test "$(api "events?source=notify&q=delivered&job=backup&limit=1" | jq_py 'd["events"][0]["run_id"]')" = "$RID"
check "clover events shows the deliveries" \
	sh -c "'$CLOVER' --data '$DIR/data' events --source notify | grep -q 'delivered by email'"

# --- every other kind reaches the on-call contact --------------------------
# hook_kind KIND [JOB]: a webhook message of that kind (about JOB) reached pager
hook_kind() {
	$PY - "$DIR/hooks" "$1" "${2:-}" <<'PYEOF'
import glob, json, sys
d, kind, job = sys.argv[1:4]
for f in glob.glob(d + "/*.json"):
    r = json.load(open(f))
    b = json.loads(r["body"])
    if r["path"] == "/hooks/pager" and b["kind"] == kind and (not job or b["job"] == job):
        sys.exit(0)
sys.exit(1)
PYEOF
}
apply() { printf '%s' "$2" >"$DIR/$1.json"; cl job apply -f "$DIR/$1.json" >/dev/null; }

apply slow '{"name":"slow","schedule":"@manual","timeout":"1s","run":{"shell":"sleep 30"}}'
cl job trigger slow >/dev/null
check "a timeout alerts (run_timed_out)" wait_for 20 hook_kind run_timed_out slow

apply nowhere '{"name":"nowhere","schedule":"@manual","target":{"labels":{"pool":"none"}},"run":{"shell":"true"}}'
cl job trigger nowhere >/dev/null
check "no executor for the target alerts (no_executor)" wait_for 20 hook_kind no_executor nowhere

apply busy '{"name":"busy","schedule":"@every 1s","run":{"shell":"sleep 2.5"}}'
check "a skipped run alerts (run_skipped)" wait_for 20 hook_kind run_skipped busy
count() { python3 -c "import json,sys; print(len(json.load(sys.stdin)['$1']))"; }
two_skipped() { [ "$(api "runs?job=busy&state=skipped" | count runs)" -ge 2 ]; }
wait_for 20 two_skipped
cl job pause busy >/dev/null
check "the skipped run is an event with its reason" \
	sh -c "curl -s -H 'Authorization: Bearer $TOKEN' '$CLOVER_SERVER/api/v1/events?job=busy&q=skipped' | grep -q 'concurrency: forbid'"
check "a job's skips make one event a minute, not one each" \
	test "$(api "events?job=busy&source=engine&q=skipped" | count events)" = 1

# A worker running three jobs is killed: one message for the three.
"$CLOVER" worker --scheduler "tcp://127.0.0.1:$RPCPORT" --server-key "$DIR/sched.pub" \
	--key "$DIR/wx" --id wx --label pool=x --capacity 8 --spool "$DIR/wx.spool" \
	>"$DIR/wx.out" 2>"$DIR/wx.err" &
WPID=$!
joined() { api "events?source=cluster&q=joined" | grep -q 'executor wx joined'; }
check "a joining executor is an event" wait_for 20 joined
for j in lost1 lost2 lost3; do
	apply $j '{"name":"'$j'","schedule":"@manual","failover":false,"target":{"labels":{"pool":"x"}},"run":{"shell":"sleep 60"}}'
	cl job trigger $j >/dev/null
done
running3() { [ "$(api 'runs?state=running' | jq_py 'len([r for r in d["runs"] if r["job"].startswith("lost")])')" = 3 ]; }
check "the three jobs run on the worker" wait_for 20 running3
kill -9 "$WPID"; wait "$WPID" 2>/dev/null; WPID=
lost_msgs() {
	$PY - "$DIR/hooks" <<'PYEOF'
import glob, json, sys
n = [json.loads(json.load(open(f))["body"]) for f in glob.glob(sys.argv[1] + "/*.json")]
n = [b for b in n if b["kind"] == "executor_lost" and b["contact"] == "pager"]
print(len(n), n[0]["count"], n[0]["node"], n[0]["title"]) if n else print(0)
PYEOF
}
has_lost() { [ "$(lost_msgs | cut -d' ' -f1)" != 0 ]; }
check "losing the worker alerts (executor_lost)" wait_for 20 has_lost
sleep 2 # a second message would come one window later
check "... in one message for the three jobs, grouped by the executor" \
	test "$(lost_msgs)" = "1 3 wx executor wx lost: 3 jobs affected"
check "the lost executor is an event" \
	sh -c "curl -s -H 'Authorization: Bearer $TOKEN' '$CLOVER_SERVER/api/v1/events?source=cluster&level=warn' | grep -q 'executor wx left or was lost; 3 shard(s) were running there'"

# SIGHUP reloads the configuration: an event.
kill -HUP "$PID"
reloaded() { api "events?source=main" | grep -q 'configuration reloaded'; }
check "a configuration reload is an event" wait_for 10 reloaded

# A misfire: a job every second, then the server down for 4 s.
apply tick '{"name":"tick","schedule":"* * * * * ?","misfire":{"policy":"fire_once","threshold":"1s"},"run":{"shell":"true"}}'
sleep 1.5

# --- stop and restart ---------------------------------------------------------
kill -TERM "$PID"
wait "$PID"
rc=$?
PID=
check "the server stops cleanly with the notifier running" test "$rc" = 0
sleep 4
start_server
check "a misfire after a restart alerts (run_misfired)" wait_for 20 hook_kind run_misfired tick
check "the misfire is one event, not one per skipped instant" bash -c \
	"[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' '$CLOVER_SERVER/api/v1/events?job=tick&source=engine&q=misfire' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"events\"]))')\" = 1 ] &&
	 [ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' '$CLOVER_SERVER/api/v1/events?job=tick&source=engine&q=skipped' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"events\"]))')\" = 0 ]"
kill -TERM "$PID"
wait "$PID"
rc=$?
PID=
check "the restarted server stops cleanly" test "$rc" = 0

summary '# passed %d, failed %d'
