#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The README's first command: installs what is missing, builds, then starts forgeoned in the foreground
# (on a private system-type D-Bus with the project's bus policy, so nothing of the host changes) and runs
# a small shell workload through it under policies/default.json, showing the decisions forgeoned made
# next to the workload's own output. Where forgeoned cannot run here (not root, no dbus-daemon, no
# cgroup v2), the same workload runs with forgeonectl run --local instead.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh

ctl=build/src/cli/forgeonectl
echo
echo "== forgeonectl policy compile policies/default.json (summary)"
$ctl policy compile policies/default.json | tail -n 3

workdir=$(mktemp -d /tmp/forgeone-demo.XXXXXX)
chmod 755 "$workdir"
daemon_pid= bus_pid= cg=
cleanup() {
        [ -n "$daemon_pid" ] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
        [ -n "$bus_pid" ] && kill "$bus_pid" 2>/dev/null
        [ -n "$cg" ] && rmdir "$cg" 2>/dev/null
        rm -rf "$workdir"
}
trap cleanup EXIT

script="
  echo 'workload: hello from a mediated shell'
  echo 'workload: uname says:' \$(uname -sr)
  echo data > $workdir/scratch && echo 'workload: wrote $workdir/scratch'
  cat $workdir/scratch >/dev/null && echo 'workload: read it back'
  cat /etc/shadow >/dev/null 2>&1 || echo 'workload: reading /etc/shadow was refused, as it should be'
  echo x 2>/dev/null >/etc/forgeone-demo || echo 'workload: writing /etc was refused, as it should be'
  echo 'workload: done'
"

# forgeoned in the foreground on a bus of its own, when this machine allows it.
mode=local
if [ "$(id -u)" = 0 ] && command -v dbus-daemon >/dev/null; then
        if [ -f /sys/fs/cgroup/unified/cgroup.procs ]; then cg=/sys/fs/cgroup/unified/forgeone-demo-$$; else cg=/sys/fs/cgroup/forgeone-demo-$$; fi
        mkdir "$cg" 2>/dev/null || cg=
        address=unix:path=$workdir/bus.sock
        cat >"$workdir/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>$address</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/> <deny own="*"/> <deny send_type="method_call"/> <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/> <allow receive_type="method_return"/>
    <allow receive_type="error"/> <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
  </policy>
  <include>$PWD/systemd/org.forgeone.Supervisor1.conf</include>
</busconfig>
CONF
        if dbus-daemon --config-file="$workdir/bus.conf" --fork --print-pid=3 3>"$workdir/bus.pid" 2>/dev/null; then
                bus_pid=$(cat "$workdir/bus.pid")
                build/src/daemon/forgeoned --bus-address="$address" --policy=policies/default.json \
                        --state-dir="$workdir/state" --cgroup="${cg:-none}" --log-decisions=all \
                        >"$workdir/forgeoned.log" 2>&1 &
                daemon_pid=$!
                for _ in $(seq 100); do
                        $ctl --bus-address="$address" daemon status >/dev/null 2>&1 && { mode=daemon; break; }
                        sleep 0.1
                done
        fi
fi

if [ $mode = daemon ]; then
        ctl="$ctl --bus-address=$address"
        echo
        echo "== forgeoned runs in the foreground (pid $daemon_pid) on a private system bus; its status:"
        $ctl daemon status
        echo
        echo "== a shell workload through forgeoned (forgeonectl run), under policies/default.json"
        set +e
        LC_ALL=C $ctl run --quiet --no-tty -- /bin/sh -c "$script"
        status=$?
        set -e
        echo "== workload exit status: $status"
        echo "== what forgeoned decided for it (its log: every decision, one line each):"
        sleep 0.2
        grep -E ': (allow|deny|quarantine) ' "$workdir/forgeoned.log" | grep -v '/usr/lib\|/lib/x86_64\|ld.so' | sed 's/^/   /' | head -n 20
        echo "   ... $(grep -cE ': (allow|deny|quarantine) ' "$workdir/forgeoned.log") decisions in all"
        echo
        echo "== a workload that tries to mount is quarantined (exit status 123)"
        set +e
        LC_ALL=C $ctl run --quiet --no-tty -- \
                /bin/sh -c 'echo "workload: about to mount"; mount -t tmpfs none /mnt; echo "workload: never printed"'
        status=$?
        set -e
        echo "== workload exit status: $status"
        grep -E 'quarantine ' "$workdir/forgeoned.log" | sed 's/^/   /' | tail -n 1
        echo
        echo "== forgeonectl ps (ended workloads stay listed a minute)"
        $ctl ps
        echo
        echo "== reloading the policy live (forgeonectl reload): the generation goes up"
        $ctl reload policies/default.json
        exit 0
fi

echo
echo "== forgeoned cannot run here (it needs root, dbus-daemon and cgroup v2): forgeonectl run --local"
echo "== a shell workload under policies/default.json"
set +e
# LC_ALL=C keeps the C library from opening a dozen locale files in every process.
LC_ALL=C $ctl run --local --policy policies/default.json -- /bin/sh -c "$script"
status=$?
set -e
echo "== workload exit status: $status"

echo
echo "== a workload that tries to mount is quarantined (exit status 123)"
set +e
LC_ALL=C $ctl run --local --quiet --policy policies/default.json -- \
  /bin/sh -c 'echo "workload: about to mount"; mount -t tmpfs none /mnt; echo "workload: never printed"'
status=$?
set -e
echo "== workload exit status: $status"
