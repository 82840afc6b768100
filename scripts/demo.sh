#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The README's first command: installs what is missing, builds, and runs a
# small shell workload under policies/default.json, showing every decision
# the supervisor makes (stderr) next to the workload's own output (stdout).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh

echo
echo "== forgeonectl policy compile policies/default.json (summary)"
build/src/cli/forgeonectl policy compile policies/default.json | tail -n 3

workdir=$(mktemp -d /tmp/forgeone-demo.XXXXXX)
trap 'rm -rf "$workdir"' EXIT

echo
echo "== a shell workload under policies/default.json"
set +e
# LC_ALL=C keeps the C library from opening a dozen locale files in every process.
LC_ALL=C build/src/cli/forgeonectl run --local --policy policies/default.json -- /bin/sh -c "
  echo 'workload: hello from a mediated shell'
  echo 'workload: uname says:' \$(uname -sr)
  echo data > $workdir/scratch && echo 'workload: wrote $workdir/scratch'
  cat $workdir/scratch >/dev/null && echo 'workload: read it back'
  cat /etc/shadow >/dev/null 2>&1 || echo 'workload: reading /etc/shadow was refused, as it should be'
  echo x > /etc/forgeone-demo 2>/dev/null || echo 'workload: writing /etc was refused, as it should be'
  echo 'workload: done'
"
status=$?
set -e
echo "== workload exit status: $status"

echo
echo "== a workload that tries to mount is quarantined (exit status 123)"
set +e
LC_ALL=C build/src/cli/forgeonectl run --local --quiet --policy policies/default.json -- \
  /bin/sh -c 'echo "workload: about to mount"; mount -t tmpfs none /mnt; echo "workload: never printed"'
status=$?
set -e
echo "== workload exit status: $status"
