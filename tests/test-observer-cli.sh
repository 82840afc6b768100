#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The observer through the command line (root): forgeonectl run --local pins its maps where top --local
# and bpftool read them and removes them when it ends; forgeoned serves top and observe over D-Bus and
# says in its status whether the observer runs; with --no-observer (daemon and --local) everything still
# runs and the status says the observer is off and why; an observer root that is no BPF file system runs
# unpinned. In a mount namespace of its own with a BPF file system of its own. TAP.
set -u
src=${FORGEONE_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}

if [ -z "${FO_OBSERVER_CLI_NS:-}" ]; then
        [ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (BPF programs, seccomp listeners)"; exit 77; }
        export FO_OBSERVER_CLI_NS=1
        exec unshare --mount --propagation private -- "$0" "$@"
fi
. "$src/tests/daemon-lib.sh"
daemon_lib_init observer
command -v jq >/dev/null || skip_all "jq is not installed"
mount -t bpf bpf /sys/fs/bpf 2>"$tmp/err" || skip_all "cannot mount a BPF file system: $(cat "$tmp/err")"
trap 'daemon_lib_cleanup; umount /sys/fs/bpf 2>/dev/null' EXIT

policy=$tmp/policy.json
cp "$src/policies/default.json" "$policy"
export FORGEONE_AUDIT_DIR=$tmp/audit
mkdir -p "$FORGEONE_AUDIT_DIR"
root=/sys/fs/bpf/forgeone

# Is there an observer at all here? Only a build without BPF or a kernel that refuses it skips.
"$forgeonectl" run --local --observer --quiet --no-audit --policy "$policy" -- true 2>"$tmp/err"
if grep -q "observer is off" "$tmp/err"; then
        skip_all "$(sed -n 's/.*observer is off: //p' "$tmp/err" | head -1)"
fi

# ---- run --local: pins, top --local, observe --local, bpftool ----
"$forgeonectl" run --local --observer --quiet --no-audit --policy "$policy" -- "$hammer" getppid-forever 2000 \
        >"$tmp/local.out" 2>"$tmp/local.err" &
local_pid=$!
dir=$root/run-$local_pid
check "run --local pins its maps in $root/run-PID" \
        'wait_for "[ -e $dir/workloads ] && [ -e $dir/syscalls ] && [ -e $dir/decisions ]" 100'
# The workload is registered once started; its calls come in.
wait_for "\"\$forgeonectl\" top --local --once --interval 0.2 --json 2>/dev/null | jq -e '.workloads | map(select(.owner == \"run-$local_pid\" and .calls > 100)) | length == 1' >/dev/null" 100
"$forgeonectl" top --local --once --json >"$tmp/top.json" 2>"$tmp/err"
check "top --local --once --json: the observer is on and the workload has calls, a rate and trust" \
        'jq -e --arg o "run-$local_pid" ".observer.active and (.workloads | map(select(.owner == \$o and .calls > 0 and .calls_per_sec > 0 and .trust == 100)) | length == 1)" "$tmp/top.json" >/dev/null'
id=$(jq -r --arg o "run-$local_pid" '.workloads[] | select(.owner == $o) | .id' "$tmp/top.json")
"$forgeonectl" observe --local --syscalls --json "$id@run-$local_pid" >"$tmp/observe.json" 2>"$tmp/err"
check "observe --local --syscalls: getppid is counted, nothing mismatched" \
        'jq -e ".mismatched == 0 and (.syscalls | map(select(.syscall == \"getppid\" and .calls > 0)) | length == 1)" "$tmp/observe.json" >/dev/null'
"$forgeonectl" top --local --once >"$tmp/top.txt" 2>"$tmp/err"
check "top --local for people: a header and the workload's line" \
        'grep -q "^ID .*CALLS/S .*K-DENIED .*S-DENIED" "$tmp/top.txt" && grep -q "^$id .*run-$local_pid" "$tmp/top.txt"'
if command -v bpftool >/dev/null; then
        check "bpftool map dump shows the pinned counts with their names" \
                'bpftool map dump pinned "$dir/syscalls" 2>"$tmp/err" | grep -q "\"calls\""'
fi
kill -TERM "$local_pid"
wait "$local_pid"
check "the pins are gone when run --local ends" '! [ -e "$dir" ]'

# ---- forgeoned: status, Top and Observe over D-Bus, its pins ----
daemon_start --policy="$policy" --observer || { not_ok "forgeoned starts"; finish; }
check "daemon status: the observer is on and its maps are pinned" \
        'ctl daemon status >"$tmp/status" 2>"$tmp/err" && grep -q "ObserverActive: yes" "$tmp/status" && grep -q "ObserverStatus: $root/forgeoned-$daemon_pid" "$tmp/status"'
ctl run --no-tty --quiet -- "$hammer" getppid-forever 2000 >"$tmp/w.out" 2>"$tmp/w.err" &
run_pid=$!
wait_for '[ "$(workload_state w1)" = running ]' 100
wait_for "ctl top --once --interval 0.2 --json 2>/dev/null | jq -e '.workloads | map(select(.id == \"w1\" and .calls > 100)) | length == 1' >/dev/null" 100
ctl top --once --json >"$tmp/top.json" 2>"$tmp/err"
check "top through forgeoned: w1 with calls, a rate and trust" \
        'jq -e ".observer.active and (.workloads | map(select(.id == \"w1\" and .owner == \"forgeoned\" and .calls > 0 and .calls_per_sec > 0 and .trust >= 0)) | length == 1)" "$tmp/top.json" >/dev/null'
ctl observe --syscalls w1 >"$tmp/observe.txt" 2>"$tmp/err"
check "observe through forgeoned: per-syscall counts" \
        'grep -q "^workload w1" "$tmp/observe.txt" && grep -Eq "^  getppid +[0-9]+" "$tmp/observe.txt"'
check "observe through forgeoned: an unknown workload is an error" '! ctl observe nope >/dev/null 2>&1'
check "top --local sees forgeoned's pins too" \
        '"$forgeonectl" top --local --once --json 2>/dev/null | jq -e ".workloads | map(select(.owner == \"forgeoned-$daemon_pid\" and .id == \"w1\")) | length == 1" >/dev/null'
ctl stop w1 >/dev/null 2>&1
wait "$run_pid"
old=$daemon_pid
daemon_stop
check "forgeoned's pins are gone once it stopped" '! [ -e "$root/forgeoned-$old" ]'

# ---- off: everything else works, the status says why ----
daemon_start --policy="$policy" --no-observer || { not_ok "forgeoned starts with --no-observer"; finish; }
check "daemon status with --no-observer: off, and why" \
        'ctl daemon status >"$tmp/status" 2>"$tmp/err" && grep -q "ObserverActive: no" "$tmp/status" && grep -q "ObserverStatus: .*--no-observer" "$tmp/status"'
ctl top --once --interval 0.1 --json >"$tmp/top.json" 2>"$tmp/err"
rc=$?
check "top through forgeoned says the observer is off and why (exit 1)" \
        '[ $rc = 1 ] && jq -e "(.observer.active | not) and (.observer.status | test(\"no-observer\"))" "$tmp/top.json" >/dev/null'
ctl run --no-tty --quiet -- sh -c 'exit 3' >/dev/null 2>&1
check "workloads run without the observer" '[ $? = 3 ]'
check "no pins without the observer" '! ls -d "$root"/forgeoned-* >/dev/null 2>&1'
daemon_stop
"$forgeonectl" run --local --quiet --no-audit --no-observer --policy "$policy" -- sh -c 'exit 4' 2>"$tmp/err"
check "run --local --no-observer runs the workload" '[ $? = 4 ]'
"$forgeonectl" run --local --quiet --no-audit --policy "$policy" -- true 2>"$tmp/err"
check "the observer is off by default, silently (its cost is the host's: forgeone.observer(7))" \
        '[ $? = 0 ] && ! grep -q observer "$tmp/err"'
mkdir -p "$tmp/plain"
FORGEONE_OBSERVER_ROOT=$tmp/plain/forgeone "$forgeonectl" run --local --observer --quiet --no-audit \
        --policy "$policy" -- sh -c 'exit 5' 2>"$tmp/err"
check "an observer root on no BPF file system: the run goes on, unpinned, nothing left" \
        '[ $? = 5 ] && ! grep -q "observer is off" "$tmp/err" && [ -z "$(ls -A "$tmp/plain")" ]'
FORGEONE_OBSERVER_ROOT=$tmp/plain/forgeone "$forgeonectl" top --local --once --interval 0.1 --json >"$tmp/top.json" 2>"$tmp/err"
rc=$?
check "top --local with nothing pinned says so (exit 1)" \
        '[ $rc = 1 ] && jq -e "(.observer.active | not) and (.observer.status | test(\"nothing pinned\"))" "$tmp/top.json" >/dev/null'
finish
