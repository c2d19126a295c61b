# SPDX-License-Identifier: MIT
#
# What the integration scripts share, sourced by each of them with
# `. "$(dirname "$0")/lib.sh"`: the PASSED and FAILED counters, `ok` and
# `not_ok` that count and print a result ("ok - NAME", "not ok - NAME" and a
# "#   DETAIL" line), `check NAME CMD...`, `wait_for SECONDS CMD...` and the
# final `summary`. What is particular to one script (cleanup, start_server,
# api, ...) stays in that script.

PASSED=0
FAILED=0

ok() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $1"; [ -n "${2:-}" ] && echo "#   $2"; }
check() { # check NAME CMD...: passes when CMD succeeds
	local name=$1; shift
	if "$@"; then ok "$name"; else not_ok "$name" "failed: $*"; fi
}

wait_for() { # wait_for SECONDS CMD...: polls CMD every 0.1 s until it succeeds
	local t=$1; shift
	for _ in $(seq $((t * 10))); do "$@" && return 0; sleep 0.1; done
	return 1
}

# summary [FORMAT]: prints the counts, passed then failed, with the printf
# FORMAT ("%d passed, %d failed" unless given); fails when a check failed.
summary() {
	# shellcheck disable=SC2059 # the format is the caller's
	printf "${1:-%d passed, %d failed}\n" "$PASSED" "$FAILED"
	[ "$FAILED" = 0 ]
}
