#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# forgeoned runs containers (root): a busybox OCI image, signed with a trust anchor of the test's own, run
# through forgeonectl run --image on a private system bus, forgeoned under tests/fdstore-harness.py (the
# service manager's fd store). A denied mkdir fails with EPERM inside and is in the decision log and the
# audit with the container's id; stdout and the exit status pass through; ps, inspect, pause, resume,
# quarantine, release and stop act on the container and on its record (what forgeonectl --local sees); a
# reload moves it to the new generation; a mount quarantines it; an unsigned image is refused. Restarts
# (forgeoned(8), RESTARTS): kill -9 while the container waits in trapped calls, then the restart: it is
# taken over and goes on, every call denied as before and none failing (ENOSYS), its exit status reaching
# forgeonectl run through the new instance; a re-exec keeps it with its exact exit status; without a fd
# store a container dies with forgeoned and the next start records it Failed. TAP.
set -u
src=${FORGEONE_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
. "$src/tests/daemon-lib.sh"
for p in umoci busybox openssl jq; do
        command -v $p >/dev/null || skip_all "needs $p"
done
daemon_lib_init containers

# The containers' records, the audit and the trust anchor: the test's own.
export FORGEONE_STATE_DIR=$tmp/cstate
export FORGEONE_AUDIT_DIR=$tmp/audit
mkdir -p "$FORGEONE_AUDIT_DIR"
containers_cleanup() {
        local d
        # What a failed test left: the containers (their cgroups are named after them) and their mounts.
        for d in "$FORGEONE_STATE_DIR"/containers/*/; do
                [ -d "$d" ] || continue
                d=$(basename "$d")
                for c in /sys/fs/cgroup/unified/forgeone/$d /sys/fs/cgroup/forgeone/$d; do
                        [ -d "$c" ] && echo 1 >"$c/cgroup.kill" 2>/dev/null
                done
        done
        [ -n "${client_pid:-}" ] && kill -KILL "$client_pid" 2>/dev/null
        daemon_lib_cleanup
        for m in $(grep -o " $tmp/[^ ]*" /proc/self/mountinfo | sort -r); do umount -l "$m"; done 2>/dev/null
}
trap containers_cleanup EXIT

(cd "$tmp" && umoci init --layout img >/dev/null && umoci new --image img:latest >/dev/null &&
        umoci unpack --image img:latest bundle >/dev/null 2>&1 && mkdir -p bundle/rootfs/bin bundle/rootfs/etc &&
        cp "$(command -v busybox)" bundle/rootfs/bin/busybox &&
        for a in sh echo sleep hostname cat ls mkdir grep mount true; do ln -s busybox bundle/rootfs/bin/$a; done &&
        echo 'root:x:0:0:root:/root:/bin/sh' >bundle/rootfs/etc/passwd &&
        umoci repack --image img:latest bundle >/dev/null && rm -rf bundle &&
        umoci config --image img:latest --tag unsigned --config.env UNSIGNED=1 >/dev/null) ||
        skip_all "umoci cannot build the image"
(cd "$tmp" && openssl ecparam -name prime256v1 -genkey -noout -out key.pem 2>/dev/null &&
        openssl pkey -in key.pem -pubout -out key.pub &&
        jq -n --rawfile k key.pub '{format: 1, id: "test", keys: [{id: "test", algorithm: "ecdsa-p256", public_key: $k}]}' \
                >anchor.json &&
        jq -n --arg d "$tmp" '{anchor: "\($d)/anchor.json", tcti: "device:\($d)/no-tpm", state_dir: "\($d)/trust"}' \
                >trust.json) || skip_all "openssl or jq failed"
export FORGEONE_TRUST_CONFIG=$tmp/trust.json
"$forgeonectl" --local image sign --key "$tmp/key.pem" "$tmp/img:latest" >/dev/null 2>"$tmp/err" ||
        { echo "Bail out! image sign failed: $(cat "$tmp/err")"; exit 1; }
image=$tmp/img:latest

policy=$tmp/policy.json
cp "$src/policies/default.json" "$policy"
daemon_start_harness --policy="$policy" --decision-log="$tmp/decisions.jsonl" --stop-timeout=5 ||
        { not_ok "forgeoned starts under the harness"; finish; }
ok "forgeoned starts under the harness"

local_json() { "$forgeonectl" --local inspect --json "$1" 2>/dev/null | jq -r "$2"; }
id_of() { ctl ps --json 2>/dev/null | jq -r --arg n "$1" '.[] | select(.name == $n) | .id' | head -1; }
cgroup_v2() { if [ -d /sys/fs/cgroup/unified ]; then echo /sys/fs/cgroup/unified/forgeone/$1; else echo /sys/fs/cgroup/forgeone/$1; fi; }
frozen() {
        if [ -d /sys/fs/cgroup/unified ]; then [ "$(cat /sys/fs/cgroup/freezer/forgeone/$1/freezer.state)" = FROZEN ]
        else grep -qx "frozen 1" /sys/fs/cgroup/forgeone/$1/cgroup.events; fi
}

# A one-shot container: pid 1 of its own, a denied mkdir, the exit status.
ctl run --no-tty --quiet --name once --image "$image" -- \
        /bin/sh -c 'echo pid=$$ host=$(hostname); mkdir /forbidden; echo mkdir=$?; exit 7' >"$tmp/out" 2>"$tmp/err"
rc=$?
check "run --image through forgeoned: pid 1, its own hostname, exit status 7 passed through" \
        '[ $rc = 7 ] && grep -qx "pid=1 host=once" "$tmp/out" && grep -qx "mkdir=1" "$tmp/out"'
check "the denied mkdir failed with EPERM inside" 'grep -q "mkdir.*Operation not permitted" "$tmp/err"'
once=$(id_of once)
check "ps lists it, exited, by its container id" \
        '[ -n "$once" ] && [ ${#once} = 12 ] && [ "$(workload_state "$once")" = exited ]'
check "the denial is in forgeoned's decision log with the container's id" \
        'wait_for "jq -se --arg w \"$once\" \"map(select(.workload == \\\$w and .syscall == \\\"mkdir\\\" and .errno == \\\"EPERM\\\" and .action == \\\"deny\\\")) | length >= 1\" \"$tmp/decisions.jsonl\" >/dev/null" 50'
check "and in the audit with the container's id" \
        'wait_for "jq -se --arg w \"$once\" \"map(select(.FORGEONE_WORKLOAD == \\\$w and .FORGEONE_SYSCALL == \\\"mkdir\\\")) | length >= 1\" \"$FORGEONE_AUDIT_DIR/fallback.jsonl\" >/dev/null" 50'
check "its record (forgeonectl --local inspect) says stopped, exit 7, owned by forgeoned" \
        '[ "$(local_json once .state)" = stopped ] && [ "$(local_json once .exit_code)" = 7 ] &&
         [ "$(local_json once .owner_pid)" = "$(harness_daemon_pid)" ]'

# A long-running container driven through forgeoned.
ctl run --no-tty --quiet --name svc --image "$image" -- \
        /bin/sh -c 'trap "exit 3" TERM; while true; do sleep 0.1; done' >"$tmp/svc.out" 2>&1 &
client_pid=$!
wait_for '[ -n "$(id_of svc)" ] && [ "$(workload_state "$(id_of svc)")" = running ]' 100
svc=$(id_of svc)
check "ps lists the container running" '[ -n "$svc" ] && [ "$(workload_state "$svc")" = running ]'
check "inspect names its image and command" \
        'ctl inspect "$svc" | grep -q "Image: $image" && ctl inspect "$svc" | grep -q "Command: /bin/sh -c"'
ctl pause "$svc" 2>"$tmp/err"
check "pause freezes it (its own cgroup) and its record says paused" \
        '[ "$(workload_state "$svc")" = paused ] && frozen "$svc" && [ "$(local_json svc .state)" = paused ]'
ctl resume "$svc" 2>"$tmp/err"
check "resume thaws it" '[ "$(workload_state "$svc")" = running ] && ! frozen "$svc" && [ "$(local_json svc .state)" = running ]'
ctl quarantine --reason "suspicious egress" "$svc" 2>"$tmp/err"
check "quarantine freezes it with the reason, in forgeoned and in its record" \
        '[ "$(workload_state "$svc")" = quarantined ] && frozen "$svc" && ctl inspect "$svc" | grep -q "Reason: suspicious egress" &&
         [ "$(local_json svc .state)" = quarantined ] && [ "$(local_json svc .reason)" = "suspicious egress" ]'
ctl release "$svc" 2>"$tmp/err"
check "release thaws it" '[ "$(workload_state "$svc")" = running ] && ! frozen "$svc" && [ "$(local_json svc .state)" = running ]'

# A reload moves the container to the new generation, as every workload.
ctl reload "$src/tests/policies/daemon-a.json" >"$tmp/out" 2>"$tmp/err"
check "a reload with a container running succeeds: generation 2" 'grep -q "policy generation 2 active" "$tmp/out"'
check "the container decides on generation 2" 'ctl inspect "$svc" | grep -q "PolicyGeneration: 2"'
ctl reload "$policy" >/dev/null 2>&1

ctl pause "$svc" >/dev/null 2>&1
ctl stop "$svc" 2>"$tmp/err"
wait $client_pid
rc=$?
client_pid=
check "stop (even paused): SIGTERM, its trap exits 3, and forgeonectl run exits 3" '[ $rc = 3 ]'
check "ps shows it exited, its record stopped (exit 3), its cgroup gone" \
        'wait_for "[ \"\$(workload_state $svc)\" = exited ]" 30 && [ "$(local_json svc .status)" = "stopped (exit 3)" ] &&
         [ ! -d "$(cgroup_v2 "$svc")" ]'
check "its record has every transition" \
        '[ "$("$forgeonectl" --local inspect --json svc | jq -r "[.transitions[].to] | join(\",\")")" = "running,paused,running,quarantined,running,paused,stopping,stopped" ]'
check "WorkloadStateChanged went to forgeonectl for each transition (its exit status arrived)" '[ $rc = 3 ]'

# The policy quarantines a container that mounts: frozen, kept, and forgeoned says so.
ctl run --no-tty --quiet --name mounter --image "$image" -- \
        /bin/sh -c 'mount -t tmpfs none /mnt; echo after-mount; sleep 30' >"$tmp/mounter.out" 2>&1 &
client_pid=$!
wait_for '[ -n "$(id_of mounter)" ] && [ "$(workload_state "$(id_of mounter)")" = quarantined ]' 100
mounter=$(id_of mounter)
check "a mount inside quarantines the container: forgeoned's state, its reason and its record follow" \
        '[ "$(workload_state "$mounter")" = quarantined ] && ctl inspect "$mounter" | grep -q "Reason: .*mount" &&
         [ "$(local_json mounter .state)" = quarantined ] && wait_for "frozen $mounter" 50'
check "it is frozen: the shell has not gone on" '! grep -q after-mount "$tmp/mounter.out"'
ctl stop "$mounter" 2>"$tmp/err"
wait $client_pid
rc=$?
client_pid=
check "stopping a quarantined container kills it (no grace period): 137" '[ $rc = 137 ] && ! grep -q after-mount "$tmp/mounter.out"'

# Trust: an image without a signature is refused before anything runs.
ctl run --no-tty --quiet --image "$tmp/img:unsigned" -- /bin/true >"$tmp/out" 2>"$tmp/err"
rc=$?
check "an unsigned image is refused (Untrusted), nothing started" \
        '[ $rc = 125 ] && grep -qi "signature\|not signed\|untrusted" "$tmp/err" && [ -z "$(ctl ps | grep -v "^ID" | grep -v exited)" ]'
ctl run --no-tty --quiet --image "$image" --env-nope -- /bin/true >/dev/null 2>&1
check "an unknown option is refused" '[ $? != 0 ]'

# Restarts. 1. kill -9 while the container waits in trapped calls; the harness starts forgeoned again with
# the fd store: the container is taken over and goes on, its calls answered as before.
blocked_in_seccomp() { # tasks of container $1 waiting in a seccomp notification
        local c=0 t
        for t in $(cat "$(cgroup_v2 "$1")/cgroup.threads" 2>/dev/null); do
                grep -q '^seccomp_do_user_notif' "/proc/$t/wchan" 2>/dev/null && c=$((c + 1))
        done
        echo $c
}
ctl run --no-tty --quiet --name survivor --image "$image" -- /bin/sh -c \
        'i=0; while [ $i -lt 60 ]; do mkdir /denied 2>>/tmp/err; i=$((i + 1)); sleep 0.05; done
         grep -c "Operation not permitted" /tmp/err; grep -c . /tmp/err; exit 5' >"$tmp/survivor.out" 2>&1 &
client_pid=$!
wait_for '[ -n "$(id_of survivor)" ] && [ "$(workload_state "$(id_of survivor)")" = running ]' 100
survivor=$(id_of survivor)
pid=$(harness_daemon_pid)
ready=$(harness_ready)
kill -STOP "$pid"
check "with forgeoned stopped, the container's trapped mkdir waits in the kernel" \
        'wait_for "[ \"\$(blocked_in_seccomp $survivor)\" -ge 1 ]" 50'
kill -KILL "$pid"
check "kill -9: the harness starts forgeoned again, which takes the container over" \
        'wait_for "[ \"\$(harness_ready)\" -gt $ready ]" 100 && wait_for "grep -q \"Adopted 1 workload\" \"$tmp/daemon.log\"" 50'
check "ps lists it again, running, and its record names the new forgeoned as its owner" \
        '[ "$(workload_state "$survivor")" = running ] && [ "$(local_json survivor .owner_pid)" = "$(harness_daemon_pid)" ]'
wait $client_pid
rc=$?
client_pid=
check "it went on to its end: forgeonectl run got its exit status 5 through the new instance" '[ $rc = 5 ]'
check "every mkdir, before, during and after the restart, was denied with EPERM: none failed otherwise (ENOSYS)" \
        '[ "$(cat "$tmp/survivor.out")" = "$(printf "60\n60")" ]'
check "its record says stopped (exit 5), its cgroup and storage are gone" \
        '[ "$(local_json survivor .status)" = "stopped (exit 5)" ] && [ ! -d "$(cgroup_v2 "$survivor")" ] &&
         [ ! -e "$(local_json survivor .rootfs)" ]'

# 2. A re-exec keeps the container; it is still forgeoned's child: its exact exit status.
ctl run --no-tty --quiet --name reexec --image "$image" -- \
        /bin/sh -c 'trap "exit 4" TERM; while true; do cat /etc/passwd >/dev/null; sleep 0.05; done' >/dev/null 2>&1 &
client_pid=$!
wait_for '[ -n "$(id_of reexec)" ] && [ "$(workload_state "$(id_of reexec)")" = running ]' 100
reexec=$(id_of reexec)
ctl daemon reexec >"$tmp/out" 2>"$tmp/err"
check "daemon reexec keeps the container running" \
        'grep -q "re-executed" "$tmp/out" && [ "$(workload_state "$reexec")" = running ]'
ctl stop "$reexec" 2>"$tmp/err"
wait $client_pid
rc=$?
client_pid=
check "and stops it afterwards with its exact exit status (4)" '[ $rc = 4 ] && [ "$(local_json reexec .status)" = "stopped (exit 4)" ]'

# 3. Without a fd store (forgeoned started by hand): nothing would keep the listener, so the container dies
# with forgeoned (PR_SET_PDEATHSIG) rather than run on with its trapped calls failing; the next start
# records it Failed.
daemon_stop
check "a stop under the harness leaves no container behind" \
        '[ -z "$("$forgeonectl" --local ps --json 2>/dev/null | jq -r ".[].id")" ]'
daemon_start --policy="$policy" --decision-log="$tmp/decisions.jsonl" ||
        not_ok "forgeoned starts without a fd store"
ctl run --no-tty --quiet --name orphan --image "$image" -- /bin/sh -c 'while true; do sleep 0.1; done' >/dev/null 2>&1 &
client_pid=$!
wait_for '[ -n "$(id_of orphan)" ] && [ "$(workload_state "$(id_of orphan)")" = running ]' 100
orphan_pid=$(local_json orphan .pid)
kill -KILL "$daemon_pid"
wait "$daemon_pid" 2>/dev/null
daemon_pid=
check "kill -9 without a fd store: the container dies with forgeoned" \
        '[ -n "$orphan_pid" ] && wait_for "! kill -0 $orphan_pid 2>/dev/null" 50'
kill -KILL $client_pid 2>/dev/null
wait $client_pid 2>/dev/null
client_pid=
daemon_start --policy="$policy" --decision-log="$tmp/decisions.jsonl" ||
        not_ok "forgeoned starts again"
check "the next start records it Failed (owner exited) and removes its cgroup and storage" \
        '[ "$(local_json orphan .state)" = failed ] && [ "$(local_json orphan .reason)" = "owner exited" ] &&
         [ ! -d "$(cgroup_v2 "$(local_json orphan .id)")" ] && [ ! -e "$(local_json orphan .rootfs)" ]'

finish
