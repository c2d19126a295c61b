#!/bin/sh
# SPDX-License-Identifier: MIT
# Tests of `clover cron next|explain`: exact standard output for every vector
# of tests/data/cron/next.txt and for a few fixed cases, and exit status 2 with
# a message on standard error (and nothing on standard output) for bad input.
# Usage: cron.sh /path/to/clover   (CLOVER_TEST_DATA points at tests/data)
set -u
CLOVER=${1:-${CLOVER_BIN:-}}
DATA=${CLOVER_TEST_DATA:-$(dirname "$0")/../data}
[ -x "$CLOVER" ] || { echo "usage: $0 CLOVER_BINARY" >&2; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
cases=0

fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

# expect_out STATUS EXPECTED_STDOUT ARGS...: runs clover with ARGS.
expect_out() {
	want_status=$1
	want_out=$2
	shift 2
	cases=$((cases + 1))
	"$CLOVER" "$@" >"$tmp/out" 2>"$tmp/err"
	status=$?
	printf '%s' "$want_out" >"$tmp/want"
	if [ "$status" -ne "$want_status" ]; then
		fail "clover $* exited $status, want $want_status; stderr: $(cat "$tmp/err")"
	elif ! cmp -s "$tmp/out" "$tmp/want"; then
		fail "clover $*: stdout differs:"
		diff "$tmp/want" "$tmp/out" >&2
	fi
}

# expect_usage ERROR_SUBSTRING ARGS...: exit 2, empty stdout, message on stderr.
expect_usage() {
	want_err=$1
	shift
	expect_out 2 "" "$@"
	if ! grep -qF -- "$want_err" "$tmp/err"; then
		fail "clover $*: stderr lacks '$want_err': $(cat "$tmp/err")"
	fi
}

# ---- every vector of next.txt through the CLI ----------------------------------
awk -F' [|] ' '!/^#/ && NF == 4 { print $1 "\t" $2 "\t" $3 "\t" $4 }' "$DATA/cron/next.txt" >"$tmp/vectors"
[ -s "$tmp/vectors" ] || fail "no vectors read from $DATA/cron/next.txt"
while IFS="$(printf '\t')" read -r zone from expr fires; do
	n=0
	want=""
	for f in $fires; do
		[ "$f" = end ] && continue
		n=$((n + 1))
		want="$want$f
"
	done
	case "$fires" in
	*end) count=$((n + 1)) ;; # ask for one more: the CLI prints fewer
	*) count=$n ;;
	esac
	expect_out 0 "$want" cron next --tz "$zone" --from "$from" -n "$count" "$expr"
done <"$tmp/vectors"

# ---- fixed cases -------------------------------------------------------------------
expect_out 0 "2026-03-07T07:30:00Z
2026-03-08T07:30:00Z
2026-03-09T06:30:00Z
2026-03-10T06:30:00Z
2026-03-11T06:30:00Z
" cron next --tz America/New_York --from 2026-03-07T00:00:00Z '0 30 2 * * ?'
# option spellings, order, and an offset with a fraction in --from
expect_out 0 "2026-03-08T07:30:00Z
" cron next -n1 --from=2026-03-07T20:00:00.250-05:00 --tz=America/New_York '30 2 * * *'
expect_out 0 "2026-03-08T07:30:00Z
" cron next '30 2 * * *' --tz America/New_York -n 1 --from 2026-03-08T00:00:00Z
expect_out 0 "" cron next -n 0 --from 2026-01-01T00:00:00Z '* * * * *'
expect_out 0 "2026-03-08T07:30:00Z
" cron next --from 2026-01-01T00:00:00Z '@at 2026-03-08T07:30:00Z'
expect_out 0 "" cron next --from 2026-01-01T00:00:00Z '@manual'
expect_out 0 "2026-01-01T00:00:03Z
2026-01-01T00:00:14Z
" cron next --from 2026-01-01T00:00:00Z -n 2 -- '@every 11s'
# default --from is now: five lines, each in the exact format
cases=$((cases + 1))
"$CLOVER" cron next '@every 1s' >"$tmp/out" 2>"$tmp/err" || fail "cron next without --from failed"
if [ "$(grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' "$tmp/out")" -ne 5 ] ||
	[ "$(wc -l <"$tmp/out")" -ne 5 ]; then
	fail "cron next without --from: $(cat "$tmp/out")"
fi

expect_out 0 "at 02:30, every day, America/New_York
  2026-03-07T02:30:00-05:00 Sat  (2026-03-07T07:30:00Z)
  2026-03-08T03:30:00-04:00 Sun  (2026-03-08T07:30:00Z)  (shifted forward: the wall time fell in a daylight-saving gap)
  2026-03-09T02:30:00-04:00 Mon  (2026-03-09T06:30:00Z)
  2026-03-10T02:30:00-04:00 Tue  (2026-03-10T06:30:00Z)
  2026-03-11T02:30:00-04:00 Wed  (2026-03-11T06:30:00Z)
" cron explain --tz America/New_York --from 2026-03-07T00:00:00Z '0 30 2 * * ?'
expect_out 0 "every 30 minutes, every day, Australia/Lord_Howe
  2026-04-05T01:30:00+11:00 Sun  (2026-04-04T14:30:00Z)  (first of two: clocks go back after it)
  2026-04-05T01:30:00+10:30 Sun  (2026-04-04T15:00:00Z)  (second of two: clocks went back)
  2026-04-05T02:00:00+10:30 Sun  (2026-04-04T15:30:00Z)
" cron explain --tz Australia/Lord_Howe --from 2026-04-04T14:00:00Z -n 3 '*/30 * * * *'
expect_out 0 "at 02:30, on the last Friday of every month, Asia/Shanghai
  2026-01-30T02:30:00+08:00 Fri  (2026-01-29T18:30:00Z)
  2026-02-27T02:30:00+08:00 Fri  (2026-02-26T18:30:00Z)
  2026-03-27T02:30:00+08:00 Fri  (2026-03-26T18:30:00Z)
  2026-04-24T02:30:00+08:00 Fri  (2026-04-23T18:30:00Z)
  2026-05-29T02:30:00+08:00 Fri  (2026-05-28T18:30:00Z)
" cron explain --tz Asia/Shanghai --from 2026-01-01T00:00:00Z '0 30 2 ? * 6L'
expect_out 0 "at 00:00, on day 1 of January, in 2027 and 2028, UTC
  2027-01-01T00:00:00+00:00 Fri  (2027-01-01T00:00:00Z)
  2028-01-01T00:00:00+00:00 Sat  (2028-01-01T00:00:00Z)
no further fires
" cron explain --from 2026-01-01T00:00:00Z '0 0 0 1 1 ? 2027-2028'
expect_out 0 "never by itself (manual trigger only)
no future fires
" cron explain '@manual'

# ---- help ---------------------------------------------------------------------------
for args in "cron --help" "cron next --help" "cron explain -h"; do
	cases=$((cases + 1))
	# shellcheck disable=SC2086
	"$CLOVER" $args >"$tmp/out" 2>"$tmp/err" || fail "clover $args exited $?"
	grep -q '^usage: clover cron next' "$tmp/out" || fail "clover $args: no usage on stdout"
done

# ---- bad input: exit 2, message on stderr, nothing on stdout ------------------------
expect_usage "day-of-month: '32' is out of range 1-31" cron next '0 0 0 32 * ?'
expect_usage "expected 5 fields" cron next '* * *'
expect_usage "unknown time zone 'Mars/Olympus'" cron next --tz Mars/Olympus '* * * * *'
expect_usage "unknown time zone '../../etc/passwd'" cron next --tz ../../etc/passwd '* * * * *'
expect_usage "--from: 'yesterday' is not an RFC 3339 instant" cron next --from yesterday '* * * * *'
expect_usage "--from: '2026-03-08T07:30:00' is not an RFC 3339 instant" cron next --from 2026-03-08T07:30:00 '* * * * *'
expect_usage "-n: 'x' is not a count" cron next -n x '* * * * *'
expect_usage "-n: '-1' is not a count" cron next -n -1 '* * * * *'
expect_usage "-n: '1000001' is not a count" cron next -n 1000001 '* * * * *'
expect_usage "option --tz needs a value" cron next '* * * * *' --tz
expect_usage "missing schedule expression" cron next --tz UTC
expect_usage "expected one schedule expression" cron next 0 0 '*' '*' '*'
expect_usage "unknown option '--zone'" cron next --zone UTC '* * * * *'
expect_usage "unknown command 'prev'" cron prev '* * * * *'
expect_usage "usage: clover cron" cron
expect_usage "@every: '500ms' is shorter than the minimum of 1s" cron next '@every 500ms'
expect_usage "day-of-month: '32' is out of range 1-31" cron explain '0 0 0 32 * ?'
expect_usage "schedule is longer than 1024 bytes" cron next "$(printf '%01100d' 0)"

echo "$cases cases, $fails failures"
[ "$fails" -eq 0 ]
