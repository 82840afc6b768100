#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# forgeonectl run --local --image and the container verbs (ps, inspect, pause,
# resume, quarantine, release, stop, rm, prune) through the real binary, the control
# verbs run as separate processes while "run" owns the container, as from
# another shell. Root, umoci, busybox-static, openssl and jq needed. Prints TAP.
set -uo pipefail

src=${FORGEONE_SOURCE_ROOT:?}
ctl=${FORGEONE_BUILD_ROOT:?}/src/cli/forgeonectl

if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root"; exit 77; fi
for p in umoci busybox openssl jq; do
  command -v $p >/dev/null || { echo "1..0 # SKIP needs $p"; exit 77; }
done
[ -x "$ctl" ] || { echo "1..0 # SKIP $ctl not built"; exit 77; }

tmp=$(mktemp -d /tmp/test-container-cli-XXXXXX)
export FORGEONE_STATE_DIR=$tmp/state
owner=
cleanup() {
  [ -n "$owner" ] && kill -KILL "$owner" 2>/dev/null
  # a v1-frozen container survives its owner's SIGKILL until thawed: ps reaps it
  "$ctl" ps >/dev/null 2>&1
  wait 2>/dev/null
  for m in $(grep -o " $tmp/[^ ]*" /proc/self/mountinfo | sort -r); do umount -l "$m"; done 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
expect() { local d=$1; shift; if out=$("$@" 2>&1); then ok "$d"; else not_ok "$d" "command: $*" "output: $out"; fi; }
json() { "$ctl" inspect --json "$1" | jq -r "$2"; }

# --- a busybox image
(cd "$tmp" && umoci init --layout img >/dev/null && umoci new --image img:latest >/dev/null &&
 umoci unpack --image img:latest bundle >/dev/null 2>&1 && mkdir -p bundle/rootfs/bin bundle/rootfs/etc &&
 cp "$(command -v busybox)" bundle/rootfs/bin/busybox &&
 for a in sh echo sleep hostname cat ls; do ln -s busybox bundle/rootfs/bin/$a; done &&
 echo 'root:x:0:0:root:/root:/bin/sh' > bundle/rootfs/etc/passwd &&
 umoci repack --image img:latest bundle >/dev/null && rm -rf bundle) || { echo "1..0 # SKIP umoci failed"; exit 77; }

# --- run verifies images against the trust anchor: one of our own in software mode (a TCTI device that
# does not exist, so a host TPM cannot change the outcome), and the image signed with its key
(cd "$tmp" && openssl ecparam -name prime256v1 -genkey -noout -out key.pem 2>/dev/null &&
 openssl pkey -in key.pem -pubout -out key.pub &&
 jq -n --rawfile k key.pub '{format: 1, id: "test", keys: [{id: "test", algorithm: "ecdsa-p256", public_key: $k}]}' \
   >anchor.json &&
 jq -n --arg d "$tmp" '{anchor: "\($d)/anchor.json", tcti: "device:\($d)/no-tpm", state_dir: "\($d)/trust"}' \
   >trust.json) || { echo "1..0 # SKIP openssl or jq failed"; exit 77; }
export FORGEONE_TRUST_CONFIG=$tmp/trust.json
"$ctl" image sign --key "$tmp/key.pem" "$tmp/img:latest" >/dev/null || { echo "Bail out! image sign failed"; exit 1; }

cg() { # controller file
  local id=$1 ctrl=$2 file=$3
  if [ -d /sys/fs/cgroup/unified ]; then cat /sys/fs/cgroup/$ctrl/forgeone/$id/$file
  else cat /sys/fs/cgroup/forgeone/$id/$file; fi
}
frozen() {
  local id=$1
  if [ -d /sys/fs/cgroup/unified ]; then [ "$(cat /sys/fs/cgroup/freezer/forgeone/$id/freezer.state)" = FROZEN ]
  else grep -q "frozen 1" /sys/fs/cgroup/forgeone/$id/cgroup.events; fi
}

# --- a one-shot container: output, exit status, record
out=$("$ctl" run --local --quiet --image "$tmp/img:latest" --policy "$src/policies/default.json" --name once \
      -- /bin/sh -c 'echo pid=$$ host=$(hostname); exit 7' 2>&1); rc=$?
if [ $rc -eq 7 ] && grep -q "pid=1 host=once" <<<"$out"; then ok "run --image: pid 1, own hostname, exit status passed through"
else not_ok "run --image: pid 1, own hostname, exit status passed through" "rc=$rc" "$out"; fi
if [ "$(json once .state)" = stopped ] && [ "$(json once .exit_code)" = 7 ]; then ok "inspect --json: stopped, exit 7"
else not_ok "inspect --json: stopped, exit 7" "$("$ctl" inspect --json once)"; fi
if "$ctl" ps | grep -q once; then not_ok "ps hides exited containers"; else ok "ps hides exited containers"; fi
expect "ps --all shows them" sh -c "'$ctl' ps --all | grep -q 'once .*stopped (exit 7)'"

# --- a long-running container controlled from other processes
"$ctl" run --local --quiet --image "$tmp/img:latest" --policy "$src/policies/default.json" --name svc \
    --memory 96M --pids 64 --cpus 0.25 --priority low -- /bin/sh -c 'while true; do sleep 0.1; done' \
    >"$tmp/svc.out" 2>&1 &
owner=$!
for i in $(seq 100); do [ "$(json svc .state 2>/dev/null)" = running ] && break; sleep 0.1; done
id=$(json svc .id); pid=$(json svc .pid)
if [ "$(json svc .state)" = running ] && [ -d /proc/$pid ]; then ok "ps/inspect see the running container"
else not_ok "ps/inspect see the running container" "$("$ctl" ps --all 2>&1)"; fi
expect "ps lists it by name" sh -c "'$ctl' ps | grep -q '^$id svc .*running'"

if [ -d /sys/fs/cgroup/unified ]; then
  lim="$(cg $id memory memory.limit_in_bytes) $(cg $id pids pids.max) $(cg $id cpu cpu.cfs_quota_us) $(cg $id cpu cpu.shares)"
  want="100663296 64 25000 409"
else
  lim="$(cg $id . memory.max) $(cg $id . pids.max) $(cg $id . cpu.max) $(cg $id . cpu.weight)"
  want="100663296 64 25000 100000 40"
fi
[ "$lim" = "$want" ] && ok "limits in the cgroup files ($lim)" || not_ok "limits in the cgroup files" "got $lim" "want $want"

expect "pause" "$ctl" pause svc
frozen $id && ok "paused: the freezer reports frozen" || not_ok "paused: the freezer reports frozen"
st=$(awk '/^State:/ {print $2}' /proc/$pid/status)
[ "$st" != R ] && ok "paused: init is not running (State $st)" || not_ok "paused: init is not running (State $st)"
out=$("$ctl" pause svc 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "already paused" <<<"$out" && ok "pause again is refused with the reason" || not_ok "pause again is refused" "$out"
expect "resume" "$ctl" resume svc
frozen $id && not_ok "resumed: thawed" || ok "resumed: thawed"

expect "quarantine --reason" "$ctl" quarantine --reason "suspicious egress" svc
[ "$(json svc .state)" = quarantined ] && [ "$(json svc .reason)" = "suspicious egress" ] &&
  ok "quarantined with its reason, still inspectable" || not_ok "quarantined with its reason" "$("$ctl" inspect svc)"
frozen $id && [ -d /proc/$pid ] && ok "quarantined: frozen, not killed" || not_ok "quarantined: frozen, not killed"
live=$("$ctl" inspect --json svc | jq -c '[.live.frozen, (.live.pids >= 1), (.live.memory_bytes > 0)]')
[ "$live" = "[true,true,true]" ] && ok "inspect shows the live cgroup view (frozen, pids, memory)" ||
  not_ok "inspect shows the live cgroup view" "$live"
out=$("$ctl" resume svc 2>&1)
[ $? -eq 1 ] && grep -q release <<<"$out" && ok "resume refuses a quarantine" || not_ok "resume refuses a quarantine" "$out"
out=$("$ctl" quarantine svc 2>&1)
[ $? -eq 1 ] && grep -q -- "--reason" <<<"$out" && ok "quarantine without --reason is refused" || not_ok "quarantine needs --reason" "$out"
expect "release" "$ctl" release svc
[ "$(json svc .state)" = running ] && ! frozen $id && ok "released: running, thawed" || not_ok "released"

expect "stop --timeout 0.5" "$ctl" stop --timeout 0.5 svc
wait $owner; rc=$?; owner=
[ $rc -eq 137 ] && ok "owner exits 128+KILL (sh as pid 1 ignores SIGTERM)" || not_ok "owner exit status" "rc=$rc" "$(cat "$tmp/svc.out")"
[ "$(json svc .state)" = stopped ] && ok "stopped" || not_ok "stopped" "$("$ctl" inspect svc)"
[ "$(json svc .live)" = null ] && ok "no live view once exited" || not_ok "no live view once exited"
[ ! -d /sys/fs/cgroup/unified/forgeone/$id ] && [ ! -d /sys/fs/cgroup/memory/forgeone/$id ] &&
  [ ! -d /sys/fs/cgroup/forgeone/$id ] && ok "cgroups removed" || not_ok "cgroups removed"
transitions=$("$ctl" inspect --json svc | jq -r '[.transitions[].to] | join(",")')
[ "$transitions" = "running,paused,running,quarantined,running,stopping,stopped" ] &&
  ok "every transition recorded" || not_ok "every transition recorded" "$transitions"
[ "$(grep -c "\"id\":\"$id\"" "$FORGEONE_STATE_DIR/events.jsonl")" = 7 ] && ok "events.jsonl has them" ||
  not_ok "events.jsonl has them" "$(cat "$FORGEONE_STATE_DIR/events.jsonl")"

out=$("$ctl" stop svc 2>&1)
[ $? -eq 1 ] && grep -q "already exited" <<<"$out" && ok "control of an exited container is refused" || not_ok "control of an exited container" "$out"
out=$("$ctl" pause nosuch 2>&1)
[ $? -eq 1 ] && grep -q 'no container with id or name "nosuch"' <<<"$out" && ok "unknown container" || not_ok "unknown container" "$out"

# --- a workload that handles SIGTERM stops within the timeout with its own status
"$ctl" run --local --quiet --image "$tmp/img:latest" --policy "$src/policies/default.json" --name graceful \
    -- /bin/sh -c 'trap "exit 3" TERM; while true; do sleep 0.1; done' >/dev/null 2>&1 &
owner=$!
for i in $(seq 100); do [ "$(json graceful .state 2>/dev/null)" = running ] && break; sleep 0.1; done
expect "stop (graceful)" "$ctl" stop --timeout 20 graceful
wait $owner; rc=$?; owner=
[ $rc -eq 3 ] && [ "$(json graceful .status)" = "stopped (exit 3)" ] && ok "SIGTERM handled: stopped (exit 3) before the timeout" ||
  not_ok "SIGTERM handled" "rc=$rc" "$(json graceful .status)"

# --- SIGINT (Ctrl-C) or SIGTERM to the owning forgeonectl stops its container the same way
"$ctl" run --local --quiet --image "$tmp/img:latest" --policy "$src/policies/default.json" --name interrupted \
    --stop-timeout 0.3 -- /bin/sh -c 'while true; do sleep 0.1; done' >/dev/null 2>&1 &
owner=$!
for i in $(seq 100); do [ "$(json interrupted .state 2>/dev/null)" = running ] && break; sleep 0.1; done
iid=$(json interrupted .id)
kill -INT $owner
wait $owner; rc=$?; owner=
[ $rc -eq 137 ] && [ "$(json interrupted .state)" = stopped ] && [ ! -d /sys/fs/cgroup/unified/forgeone/$iid ] &&
  [ ! -d /sys/fs/cgroup/forgeone/$iid ] && ok "SIGINT to the owner stops the container and cleans up" ||
  not_ok "SIGINT to the owner stops the container" "rc=$rc" "$("$ctl" inspect interrupted 2>&1)"

# --- admission queue: a low-priority request that came first waits behind a high-priority one
echo '{ "memory": "100M", "pids": 1000 }' > "$tmp/budget.json"
q() { "$ctl" run --local --quiet --budget "$tmp/budget.json" --image "$tmp/img:latest" \
        --policy "$src/policies/default.json" "$@"; }
q --name holder --memory 64M -- /bin/sh -c 'while true; do sleep 0.1; done' >/dev/null 2>&1 &
holder=$!
for i in $(seq 100); do [ "$(json holder .state 2>/dev/null)" = running ] && break; sleep 0.1; done
q --name low --memory 64M --priority low -- /bin/true >/dev/null 2>&1 &
lowpid=$!
sleep 0.5
q --name high --memory 64M --priority high -- /bin/true >/dev/null 2>&1 &
highpid=$!
for i in $(seq 100); do [ "$("$ctl" ps --json | jq '[.[] | select(.state == "queued")] | length')" = 2 ] && break; sleep 0.1; done
order=$("$ctl" ps --json | jq -r '[.[] | select(.state == "queued") | .name] | join(",")')
[ "$order" = "high,low" ] && ok "ps shows the queue in priority order" || not_ok "ps shows the queue in priority order" "$order"
out=$(q --name nowait --memory 64M --no-wait -- /bin/true 2>&1)
[ $? -eq 1 ] && grep -q "does not fit the host budget now" <<<"$out" && ok "--no-wait refuses with the reason" ||
  not_ok "--no-wait refuses with the reason" "$out"
"$ctl" stop --timeout 0.2 holder >/dev/null 2>&1
wait $holder $lowpid $highpid
t_high=$(json high .created_usec); t_low=$(json low .created_usec)
[ -n "$t_high" ] && [ -n "$t_low" ] && [ "$t_high" -lt "$t_low" ] && ok "the high-priority request started first" ||
  not_ok "the high-priority request started first" "high=$t_high low=$t_low"

# --- rm and prune: ended containers go with everything they own; running ones only with --force
"$ctl" run --local --quiet --image "$tmp/img:latest" --policy "$src/policies/default.json" --name victim \
    -- /bin/sh -c 'while true; do sleep 0.1; done' >/dev/null 2>&1 &
owner=$!
for i in $(seq 100); do [ "$(json victim .state 2>/dev/null)" = running ] && break; sleep 0.1; done
vid=$(json victim .id); vstorage=$(json victim .rootfs)
out=$("$ctl" rm victim 2>&1)
[ $? -eq 1 ] && grep -q "is running: stop it first, or use 'rm --force'" <<<"$out" && [ "$(json victim .state)" = running ] &&
  ok "rm refuses a running container and leaves it running" || not_ok "rm refuses a running container" "$out"
"$ctl" pause victim >/dev/null 2>&1
out=$("$ctl" rm --force --timeout 0.3 victim 2>&1); rc=$?
wait $owner; orc=$?; owner=
[ $rc -eq 0 ] && grep -q "^$vid *victim *stopped" <<<"$out" && [ $orc -eq 137 ] && ok "rm --force stops a paused container, then removes it" ||
  not_ok "rm --force stops, then removes" "rc=$rc owner=$orc" "$out"
[ ! -e "$FORGEONE_STATE_DIR/containers/$vid" ] && [ ! -e "$vstorage" ] && [ ! -d /sys/fs/cgroup/unified/forgeone/$vid ] &&
  [ ! -d /sys/fs/cgroup/memory/forgeone/$vid ] && [ ! -d /sys/fs/cgroup/forgeone/$vid ] &&
  ok "its state dir, storage and cgroups are gone" || not_ok "its state dir, storage and cgroups are gone" "$(ls -R "$FORGEONE_STATE_DIR/containers/$vid" "$vstorage" 2>&1)"
last=$(grep "\"id\":\"$vid\"" "$FORGEONE_STATE_DIR/events.jsonl" | tail -1 | jq -c '[.event, .state, .reason]')
[ "$last" = '["removed","stopped","rm --force"]' ] && ok "events.jsonl records the removal" || not_ok "events.jsonl records the removal" "$last"
out=$("$ctl" rm "$vid" 2>&1)
[ $? -eq 0 ] && grep -q "already removed" <<<"$out" && ok "rm again is a no-op" || not_ok "rm again is a no-op" "$out"
out=$("$ctl" rm nosuch 2>&1)
[ $? -eq 1 ] && grep -q 'no container with id or name "nosuch"' <<<"$out" && ok "rm of an unknown name fails" || not_ok "rm of an unknown name" "$out"

# a stop under way whose caller went away before its kill: rm --force kills after its own timeout
"$ctl" run --local --quiet --image "$tmp/img:latest" --policy "$src/policies/default.json" --name stuck \
    -- /bin/sh -c 'while true; do sleep 0.1; done' >/dev/null 2>&1 &
owner=$!
for i in $(seq 100); do [ "$(json stuck .state 2>/dev/null)" = running ] && break; sleep 0.1; done
"$ctl" stop --timeout 600 stuck >/dev/null 2>&1 &
stopper=$!
for i in $(seq 100); do [ "$(json stuck .state 2>/dev/null)" = stopping ] && break; sleep 0.1; done
kill -KILL $stopper; wait $stopper 2>/dev/null
out=$("$ctl" rm --force --timeout 0.3 stuck 2>&1); rc=$?
wait $owner; owner=
[ $rc -eq 0 ] && grep -q " stuck .*stopped (signal KILL)" <<<"$out" && ! "$ctl" inspect stuck >/dev/null 2>&1 &&
  ok "rm --force finishes a stop whose caller went away" || not_ok "rm --force finishes an abandoned stop" "rc=$rc" "$out"

for c in gone1 gone2; do
  "$ctl" run --local --quiet --image "$tmp/img:latest" --policy "$src/policies/default.json" --name $c -- /bin/true >/dev/null 2>&1
done
out=$("$ctl" rm gone1 nosuch gone2 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q 'no container with id or name "nosuch"' <<<"$out" && grep -q " gone1 " <<<"$out" &&
  grep -q " gone2 " <<<"$out" && ! "$ctl" inspect gone1 >/dev/null 2>&1 && ! "$ctl" inspect gone2 >/dev/null 2>&1 &&
  ok "rm of several: the others are removed, the unknown one fails the exit status" || not_ok "rm of several" "rc=$rc" "$out"

oid=$(json once .id)
expect "rm an exited container by name" "$ctl" rm once
"$ctl" inspect once >/dev/null 2>&1 && not_ok "rm: inspect no longer finds it" || ok "rm: inspect no longer finds it"
ended=$("$ctl" ps --all --json | jq -r '[.[] | select(.state == "stopped" or .state == "failed") | .id] | sort | join(",")')
pruned=$("$ctl" prune --json | jq -r '[.[].id] | sort | join(",")')
[ -n "$ended" ] && [ "$pruned" = "$ended" ] && ok "prune --json removes and lists every exited container" ||
  not_ok "prune --json removes every exited container" "ended=$ended" "pruned=$pruned"
[ "$("$ctl" ps --all --json | jq length)" = 0 ] && [ -z "$(ls "$FORGEONE_STATE_DIR/containers")" ] &&
  ok "nothing is left in the state directory" || not_ok "nothing is left" "$(ls "$FORGEONE_STATE_DIR/containers")"
# the pruned ones, and victim, stuck, gone1, gone2, once removed by rm
[ "$(grep -c '"event":"removed"' "$FORGEONE_STATE_DIR/events.jsonl")" = $(( $(tr -cd , <<<"$ended" | wc -c) + 1 + 5 )) ] &&
  ok "one removed event per container" || not_ok "one removed event per container" "$(grep removed "$FORGEONE_STATE_DIR/events.jsonl")"
out=$("$ctl" prune)
[ "$out" = "Removed 0 exited containers." ] && ok "prune with nothing to do" || not_ok "prune with nothing to do" "$out"

# --- bad options say what is wrong
out=$("$ctl" run --local --image "$tmp/img:latest" --policy "$src/policies/default.json" --memory lots -- true 2>&1)
[ $? -eq 1 ] && grep -q 'Invalid --memory "lots"' <<<"$out" && ok "bad --memory" || not_ok "bad --memory" "$out"
out=$("$ctl" run --local --image "$tmp/img:latest" --policy "$src/policies/default.json" --priority urgent -- true 2>&1)
[ $? -eq 1 ] && grep -q 'Invalid --priority "urgent"' <<<"$out" && ok "bad --priority" || not_ok "bad --priority" "$out"
out=$("$ctl" run --local --image "$tmp/nope:latest" --policy "$src/policies/default.json" -- true 2>&1)
[ $? -eq 1 ] && grep -q "nope" <<<"$out" && ok "missing image" || not_ok "missing image" "$out"

echo "1..$n"
[ $failed -eq 0 ]
