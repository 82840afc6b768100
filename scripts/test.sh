#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The README's test command: installs what is missing, builds (the default and
# the release configuration, see build.sh), and runs every test suite (unit,
# then live) from the default build. Exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh

status=0
if [ "$(id -u)" -eq 0 ]; then
  # Live tests are registered is_parallel=false: meson runs them one at a time.
  meson test -C build --suite unit --suite live --print-errorlogs --num-processes 2 || status=1
else
  echo "test: not root: only the unit suite runs (the live suite needs root)"
  meson test -C build --suite unit --print-errorlogs --num-processes 2 || status=1
fi

# One closing line over both suites, from meson's own log.
if command -v jq >/dev/null && [ -f build/meson-logs/testlog.json ]; then
  jq -rs '
    def n(s): map(select(.result == s)) | length;
    "tests: \(n("OK") + n("EXPECTEDFAIL")) passed, \(n("FAIL") + n("TIMEOUT") + n("ERROR") + n("UNEXPECTEDPASS")) failed, \(n("SKIP")) skipped"
  ' build/meson-logs/testlog.json
fi
exit $status
