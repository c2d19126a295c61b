#!/bin/sh
# SPDX-License-Identifier: MIT
# CTest entry of the browser test: installs the npm packages when needed
# (scripts/install-browser-deps), then runs console.test.mjs against the
# given clover binary, saving screenshots into the artifacts directory.
# Exits 77 (CTest: skipped) when node or chromium is not installed.
#   run.sh <clover binary> <artifacts dir>
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
chromium="${CLOVER_CHROMIUM:-/usr/bin/chromium}"
if ! command -v node >/dev/null 2>&1 || [ ! -x "$chromium" ]; then
	echo "browser test skipped: needs node and $chromium (scripts/install-deps installs them)"
	exit 77
fi
"$here/../../scripts/install-browser-deps"
exec node "$here/console.test.mjs" "$1" "$2"
