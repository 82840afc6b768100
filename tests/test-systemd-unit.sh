#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# forgeoned.service as built (no root): systemd-analyze security rates its exposure below 5.0 (the
# README records the number printed here), and the unit declares what the restart guarantees rest on.
# TAP.
set -u
src=${FORGEONE_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
build=${FORGEONE_BUILD_ROOT:-$src/build}
unit=$build/systemd/forgeoned.service
command -v systemd-analyze >/dev/null || { echo "1..0 # SKIP systemd-analyze is not installed"; exit 77; }
[ -f "$unit" ] || { echo "1..0 # SKIP $unit is not built"; exit 77; }
n=0
failed=0
check() {
        n=$((n + 1))
        if (eval "$2"); then echo "ok $n - $1"; else failed=1; echo "not ok $n - $1"; fi
}
out=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1)
score=$(echo "$out" | sed -n 's/.*Overall exposure level for forgeoned.service: \([0-9.]*\).*/\1/p')
echo "# systemd-analyze security --offline=true forgeoned.service: exposure $score"
check "systemd-analyze security rates the unit below 5.0 (it says $score)" \
        '[ -n "$score" ] && awk -v s="$score" "BEGIN { exit !(s < 5.0) }"'
for setting in "FileDescriptorStoreMax=4096" "KillMode=process" "WatchdogSec=" "NotifyAccess=main" \
        "Restart=on-failure" "BusName=org.forgeone.Supervisor1" "Delegate=yes"; do
        check "the unit sets $setting" 'grep -q "^$setting" "$unit"'
done
check "Type=notify with ExecReload, or Type=notify-reload" \
        'grep -q "^Type=notify-reload" "$unit" || { grep -q "^Type=notify$" "$unit" && grep -q "^ExecReload=" "$unit"; }'
echo "1..$n"
exit $failed
