# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by forgeoned's live tests (sourced): TAP helpers, a private system-type dbus-daemon with the
# project's bus policy, forgeoned started on it (directly or under the service-manager harness), a cgroup
# of the test's own for the workloads, and a cleanup that removes all of it, whatever happened.
#
#   . "$src/tests/daemon-lib.sh"
#   daemon_lib_init NAME          temp dir $tmp, cgroup $cg, the bus ($bus_address), cleanup trap
#   daemon_start [ARGS...]        forgeoned on the bus (pid $daemon_pid), waits until it answers
#   daemon_start_harness [ARGS]   the same under tests/fdstore-harness.py ($tmp/harness/{pid,ready,fds})
#   ctl ARGS...                   forgeonectl on the bus

src=${FORGEONE_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
build=${FORGEONE_BUILD_ROOT:-$src/build}
forgeonectl=$build/src/cli/forgeonectl
forgeoned=$build/src/daemon/forgeoned
hammer=$build/tests/daemon-hammer

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
        n=$((n + 1))
        failed=1
        echo "not ok $n - $1"
        for f in "$tmp/err" "$tmp/daemon.log"; do
                [ -s "$f" ] && { echo "# $f:"; tail -15 "$f" | sed 's/^/#   /'; }
        done
        return 0
}
check() { if (eval "$2"); then ok "$1"; else not_ok "$1"; fi; }
skip_all() { echo "1..0 # SKIP $1"; exit 77; }
finish() { echo "1..$n"; exit $failed; }

# Waits (at most $2 tenths of a second, default 100) until the command $1 succeeds.
wait_for() {
        local i
        for i in $(seq "${2:-100}"); do
                eval "$1" && return 0
                sleep 0.1
        done
        return 1
}

daemon_lib_init() {
        [ "$(id -u)" = 0 ] || skip_all "needs root (forgeoned runs workloads under seccomp listeners)"
        for p in "$forgeonectl" "$forgeoned" "$hammer"; do
                [ -x "$p" ] || skip_all "$p is not built"
        done
        command -v dbus-daemon >/dev/null || skip_all "dbus-daemon is not installed"
        tmp=$(mktemp -d "/tmp/fo-$1-XXXXXX")
        chmod 755 "$tmp"
        if [ -f /sys/fs/cgroup/unified/cgroup.procs ]; then
                cg=/sys/fs/cgroup/unified/fo-$1-${tmp##*-}
        else
                cg=/sys/fs/cgroup/fo-$1-${tmp##*-}
        fi
        mkdir "$cg" || skip_all "cannot create a cgroup v2 directory $cg"
        trap daemon_lib_cleanup EXIT
        trap "exit 1" TERM INT HUP
        bus_address=unix:path=$tmp/bus.sock
        cat >"$tmp/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>$bus_address</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>$src/systemd/org.forgeone.Supervisor1.conf</include>
</busconfig>
EOF
        dbus-daemon --config-file="$tmp/bus.conf" --fork --print-pid=3 3>"$tmp/bus.pid" 2>"$tmp/bus.err" ||
                skip_all "dbus-daemon does not start: $(cat "$tmp/bus.err")"
        bus_pid=$(cat "$tmp/bus.pid")
}

ctl() { "$forgeonectl" --bus-address="$bus_address" "$@"; }

# Stops whatever runs in the test's cgroup (workloads left by a failed test) and removes it.
cgroup_clear() {
        local d
        for d in "$cg"/*/; do
                [ -d "$d" ] || continue
                echo 1 >"$d/cgroup.kill" 2>/dev/null
                wait_for "! grep -q . '$d/cgroup.procs' 2>/dev/null" 50
                rmdir "$d" 2>/dev/null
        done
}

daemon_stop() {
        if [ -n "${harness_pid:-}" ] && kill -0 "$harness_pid" 2>/dev/null; then
                kill -TERM "$harness_pid"
                wait_for "! kill -0 $harness_pid 2>/dev/null" 300 || kill -KILL "$harness_pid"
                wait "$harness_pid" 2>/dev/null
        fi
        harness_pid=
        if [ -n "${daemon_pid:-}" ] && kill -0 "$daemon_pid" 2>/dev/null; then
                kill -TERM "$daemon_pid"
                wait_for "! kill -0 $daemon_pid 2>/dev/null" 300 || kill -KILL "$daemon_pid"
                wait "$daemon_pid" 2>/dev/null
        fi
        daemon_pid=
}

daemon_lib_cleanup() {
        daemon_stop
        cgroup_clear
        rmdir "$cg" 2>/dev/null
        [ -n "${bus_pid:-}" ] && kill "$bus_pid" 2>/dev/null
        [ -n "${monitor_pid:-}" ] && kill "$monitor_pid" 2>/dev/null
        rm -rf "$tmp"
}

daemon_answers() { ctl daemon status >/dev/null 2>&1; }

daemon_start() {
        "$forgeoned" --bus-address="$bus_address" --state-dir="$tmp/state" --cgroup="$cg" "$@" \
                >>"$tmp/daemon.log" 2>&1 &
        daemon_pid=$!
        wait_for daemon_answers 100
}

# Under the harness: $tmp/harness/pid is forgeoned's current pid, ready counts READY=1.
daemon_start_harness() {
        rm -rf "$tmp/harness"
        mkdir -p "$tmp/harness"
        python3 "$src/tests/fdstore-harness.py" "$tmp/harness" -- "$forgeoned" --bus-address="$bus_address" \
                --state-dir="$tmp/state" --cgroup="$cg" "$@" >>"$tmp/daemon.log" 2>&1 &
        harness_pid=$!
        wait_for "[ -s '$tmp/harness/ready' ]" 100 && wait_for daemon_answers 100
}

harness_ready() { cat "$tmp/harness/ready" 2>/dev/null || echo 0; }
harness_daemon_pid() { cat "$tmp/harness/pid"; }

# The state of workload $1 as ps shows it.
workload_state() { ctl ps 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }'; }
