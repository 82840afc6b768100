#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# forgeoned's restarts without systemd (root), under tests/fdstore-harness.py, which plays the service
# manager's part: the fd store, LISTEN_FDS/LISTEN_FDNAMES on every start, restart after a crash, and
# reaping the workloads a dead forgeoned leaves behind.
#  - kill -9 while workloads are blocked in trapped calls (forgeoned stopped first, so every call waits in
#    the kernel), then the restart: they go on, every call gets the policy's answer, none is let through;
#  - kill -9 while workloads hammer trapped calls: none is lost or failed;
#  - a call held in a blocking emulation (a FIFO's open) survives the crash and completes;
#  - re-exec (forgeonectl daemon reexec) keeps every workload;
#  - the policy active before the crash (a reload) is the one after it;
#  - SIGTERM with --keep-on-stop leaves them for the next start; a plain SIGTERM stops them.
# TAP.
set -u
src=${FORGEONE_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
. "$src/tests/daemon-lib.sh"
daemon_lib_init restart

policy_a=$src/tests/policies/daemon-a.json
daemon_start_harness --policy="$policy_a" --log-decisions=none --decision-log="$tmp/decisions.jsonl" ||
        { not_ok "forgeoned starts under the harness"; finish; }
ok "forgeoned starts under the harness"

# Workloads: each makes N trapped calls of one kind and prints what they returned.
start_workload() { # NAME ARGS... -> output in $tmp/NAME.out, forgeonectl's pid in $tmp/NAME.pid
        local name=$1
        shift
        ctl run --no-tty --quiet --name "$name" -- "$hammer" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
        echo $! >"$tmp/$name.pid"
}
finished() { wait "$(cat "$tmp/$1.pid")"; }
field() { sed -n "s/.*\b$2=\([0-9]*\).*/\1/p" "$tmp/$1.out"; }
tasks_blocked_in_seccomp() { # how many tasks of the workloads wait in a seccomp notification
        local c=0 t
        for t in $(cat "$cg"/*/cgroup.threads 2>/dev/null); do
                grep -q '^seccomp_do_user_notif' "/proc/$t/wchan" 2>/dev/null && c=$((c + 1))
        done
        echo $c
}

# 1. Blocked, then killed.
for i in 1 2 3 4; do start_workload "blocked$i" open /etc/shadow 100000; done
start_workload allowed getppid 300000
wait_for '[ "$(ctl ps | grep -c running)" = 5 ]' 50
pid=$(harness_daemon_pid)
ready=$(harness_ready)
kill -STOP "$pid"
check "with forgeoned stopped, the workloads' trapped calls wait in the kernel" \
        'wait_for "[ \"\$(tasks_blocked_in_seccomp)\" -ge 5 ]" 50'
kill -KILL "$pid"
check "kill -9: the harness starts forgeoned again with the fd store" \
        'wait_for "[ \"\$(harness_ready)\" -gt $ready ]" 100 && grep -q "fds=3[0-9]" "$tmp/harness/log"'
for i in 1 2 3 4; do finished "blocked$i"; done
finished allowed
check "the workloads went on to their end (forgeonectl run saw it through the new instance)" \
        '[ "$(field allowed calls)" = 300000 ] && for i in 1 2 3 4; do [ "$(field blocked$i calls)" = 100000 ] || exit 1; done'
check "every denied call was denied, before, during and after the restart: nothing let through" \
        'for i in 1 2 3 4; do [ "$(field blocked$i eacces)" = 100000 ] && [ "$(field blocked$i ok)" = 0 ] || exit 1; done'
check "every allowed call was answered: none failed (ENOSYS) or was interrupted" \
        '[ "$(field allowed ok)" = 300000 ]'
check "the adopted workloads are in the log" 'grep -q "Adopted 5 workload" "$tmp/daemon.log"'

# 2. Killed while the calls stream: the ones in flight are decided again or found.
for i in 1 2 3 4; do start_workload "hammer$i" getppid 60000; done
wait_for '[ "$(ctl ps | grep -c running)" = 4 ]' 50
sleep 0.5
ready=$(harness_ready)
kill -KILL "$(harness_daemon_pid)"
wait_for "[ \"\$(harness_ready)\" -gt $ready ]" 100
for i in 1 2 3 4; do finished "hammer$i"; done
check "kill -9 during a stream of trapped calls: none lost, none failed (4 x 60000)" \
        'for i in 1 2 3 4; do [ "$(field hammer$i ok)" = 60000 ] || exit 1; done'

# 3. A call held by a blocking emulation (the open of a FIFO without a writer) survives the crash.
mkfifo "$tmp/fifo"
ctl reload "$src/policies/default.json" >/dev/null 2>"$tmp/err" # sh and cat need more than the hammer
sleep 0.5
ctl run --no-tty --quiet -- sh -c "cat $tmp/fifo" >"$tmp/fifo.out" 2>"$tmp/fifo.err" &
fifo_pid=$!
wait_for '[ "$(tasks_blocked_in_seccomp)" -ge 1 ]' 50
ready=$(harness_ready)
kill -KILL "$(harness_daemon_pid)"
wait_for "[ \"\$(harness_ready)\" -gt $ready ]" 100
echo through-the-fifo >"$tmp/fifo"
wait $fifo_pid
check "a call held in a blocking emulation is decided again after the crash and completes" \
        'grep -qx through-the-fifo "$tmp/fifo.out" && grep -q "decided again" "$tmp/daemon.log"'
check "the policy reloaded before the crash is the active one after it" \
        'ctl daemon status | grep -q "PolicySource: $src/policies/default.json"'
ctl reload "$policy_a" >/dev/null 2>&1

# 4. Re-exec keeps every workload.
for i in 1 2 3; do start_workload "reexec$i" getppid-forever 20; done
wait_for '[ "$(ctl ps | grep -c running)" = 3 ]' 50
before=$(harness_daemon_pid)
ctl daemon reexec >"$tmp/out" 2>"$tmp/err"
check "daemon reexec: the same process, executed again" \
        '[ "$(harness_daemon_pid)" = "$before" ] && kill -0 "$before" && grep -q "re-executed" "$tmp/out"'
check "after re-exec the workloads are still there" '[ "$(ctl ps | grep -c "reexec[123] *running")" = 3 ]'
sleep 0.5
for id in $(ctl ps | awk '/reexec[123] *running/ { print $1 }'); do ctl stop "$id"; done
for i in 1 2 3; do finished "reexec$i"; done
all_answered() { [ -n "$(field "$1" calls)" ] && [ "$(field "$1" ok)" = "$(field "$1" calls)" ]; }
check "and every call of theirs was answered, before, during and after" \
        'for i in 1 2 3; do all_answered reexec$i || exit 1; done'

# 5. LISTEN_FDS names the fds: the harness saw them stored under <id>.<kind>.
check "the fd store holds each workload's listener, pidfds, root, page, cgroup and journal by name" \
        'grep -q "FDSTORE=1 FDNAME=w[0-9]*.listener +1fd" "$tmp/harness/log" && grep -q "FDNAME=w[0-9]*.journal" "$tmp/harness/log"'

# 6. SIGTERM: with --keep-on-stop the workloads stay for the next start (what systemctl restart gets,
# where forgeoned asks systemd whether a restart is under way); without it they are stopped.
daemon_stop
cgroup_clear
daemon_start_harness --policy="$policy_a" --log-decisions=none --keep-on-stop ||
        not_ok "forgeoned starts again with --keep-on-stop"
start_workload kept getppid 200000
wait_for '[ "$(ctl ps | grep -c "kept *running")" = 1 ]' 50
ready=$(harness_ready)
kill -TERM "$(harness_daemon_pid)"
check "SIGTERM with --keep-on-stop: forgeoned exits, the harness starts it again, the workload is adopted" \
        'wait_for "[ \"\$(harness_ready)\" -gt $ready ]" 100 && wait_for "ctl ps | grep -q \"kept *running\"" 50'
finished kept
check "and every call of the workload was answered across the restart" '[ "$(field kept ok)" = 200000 ]'
daemon_stop
cgroup_clear
daemon_start_harness --policy="$policy_a" --log-decisions=none || not_ok "forgeoned starts again"
start_workload stopped getppid-forever 100
wait_for '[ "$(ctl ps | grep -c "stopped *running")" = 1 ]' 50
kill -USR1 "$harness_pid" # the next exit is a stop: no restart
kill -TERM "$(harness_daemon_pid)"
finished stopped
check "a plain SIGTERM stops the workloads" \
        'wait_for "[ -z \"\$(cat $cg/w*/cgroup.procs 2>/dev/null)\" ]" 50 && grep -q "calls=" "$tmp/stopped.out"'
finish
