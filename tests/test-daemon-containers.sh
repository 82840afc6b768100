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
        umoci tag --image img:latest unsigned >/dev/null) || skip_all "umoci cannot build the image"
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

finish
