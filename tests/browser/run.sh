#!/bin/bash
# run.sh [FILE.test.mjs…] — the real-browser tests: Debian's Chromium
# (/usr/bin/chromium, from scripts/bootstrap) driven by playwright-core,
# run with node's built-in test runner.  Installs tests/browser/node_modules
# from package-lock.json when it is missing or stale (no browser is
# downloaded).  Needs $ONECERT (the built binary); ctest sets it, as for
# the e2e tests.  Runs as root: the tests write a Chromium policy file in
# /etc/chromium/policies/managed and remove it when they end.  Screenshots
# go to tests/browser/artifacts/.  ONECERT_KEEP_TMP=1 keeps the temporary
# directory (CA, hall, logs, NSS databases) for a look afterwards.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
: "${ONECERT:?ONECERT must point at the onecert binary}"
ONECERT=$(realpath "$ONECERT"); export ONECERT
files=()
for f in "$@"; do files+=("$(realpath "$f")"); done
cd "$HERE"
for tool in node npm certutil pk12util openssl; do
	command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (run scripts/bootstrap)" >&2; exit 1; }
done
[ -x "${ONECERT_CHROMIUM:-/usr/bin/chromium}" ] || { echo "run.sh: chromium is missing (run scripts/bootstrap)" >&2; exit 1; }

# One run at a time on this machine (two builds' ctest runs may start
# this together): npm ci writes node_modules, and the Chromium policy file
# is machine-wide.
exec 9>/tmp/onecert-browser-tests.lock
flock 9
POLICY=/etc/chromium/policies/managed/onecert-browser-test.json
trap 'rm -f "$POLICY"' EXIT

# node_modules: installed once, again when package-lock.json changes
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	echo "run.sh: npm ci"
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi

rm -f artifacts/FAIL-*.png # a failed check's screenshot; stale ones mislead
if [ ${#files[@]} -eq 0 ]; then
	files=(./*.test.mjs)
fi
# one file at a time (node 18 has no --test-concurrency); TAP output ends
# with "# pass N" / "# fail N"
status=0
for f in "${files[@]}"; do
	node --test --test-reporter=tap "$f" || status=1
done
exit $status
