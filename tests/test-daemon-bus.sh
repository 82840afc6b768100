#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# forgeoned on a private system-type dbus-daemon with the project's bus policy (root): run, list, pause,
# resume, quarantine, release and stop through forgeonectl; the state signals; stdio and exit statuses;
# reload (a bad policy keeps the active one, with file:line:column), "restart to apply"; explain; the
# introspection matches systemd/org.forgeone.Supervisor1.xml; a non-root caller in the readers' group
# reads and gets AccessDenied on every mutating method, one outside it gets nothing; forgeonectl falls
# back to --local, saying so, when no daemon answers. TAP.
set -u
src=${FORGEONE_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}

# A mount namespace of our own, where /etc/group has the readers' group "forgeone" (the bus policy names
# it): nothing of the host's user database changes.
if [ -z "${FO_DAEMON_BUS_NS:-}" ]; then
        [ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit 77; }
        export FO_DAEMON_BUS_NS=1
        exec unshare --mount --propagation private -- "$0" "$@"
fi
. "$src/tests/daemon-lib.sh"
daemon_lib_init bus

readers_gid=
if ! getent group forgeone >/dev/null; then
        for g in $(seq 64900 64999); do
                getent group "$g" >/dev/null || { readers_gid=$g; break; }
        done
        cp /etc/group "$tmp/group"
        echo "forgeone:x:$readers_gid:" >>"$tmp/group"
        mount --bind "$tmp/group" /etc/group
        # dbus-daemon reads its configuration (and the group) when it starts: start it again.
        kill "$bus_pid"
        wait_for "! kill -0 $bus_pid 2>/dev/null" 50
        rm -f "$tmp/bus.sock"
        dbus-daemon --config-file="$tmp/bus.conf" --fork --print-pid=3 3>"$tmp/bus.pid" 2>"$tmp/bus.err"
        bus_pid=$(cat "$tmp/bus.pid")
else
        readers_gid=$(getent group forgeone | cut -d: -f3)
fi

policy=$tmp/policy.json
cp "$src/policies/default.json" "$policy"
# forgeoned's audit: no journald runs here, so its records go to the fallback file of this directory.
export FORGEONE_AUDIT_DIR=$tmp/audit
mkdir -p "$FORGEONE_AUDIT_DIR"
daemon_start --policy="$policy" --decision-log="$tmp/decisions.jsonl" ||
        { not_ok "forgeoned starts and answers on the bus"; finish; }
ok "forgeoned starts and answers on the bus"
# The trust anchor's status as forgeoned computes it when asked (the host's trust configuration: Verified,
# Compromised(...) or Unknown(...)).
check "daemon status shows TrustStatus, computed on demand" \
        'ctl daemon status 2>/dev/null | grep -Eq "TrustStatus.*(Verified|Compromised\(|Unknown\()"'

dbus-monitor --address "$bus_address" "type='signal',sender='org.forgeone.Supervisor1'" >"$tmp/signals" 2>&1 &
monitor_pid=$!
sleep 0.3

# run: stdio and exit status pass through; a denial is the policy's.
ctl run --no-tty --quiet -- sh -c 'echo out; echo err >&2; cat /etc/shadow 2>/dev/null || echo denied; exit 7' \
        >"$tmp/out" 2>"$tmp/err"
rc=$?
check "run through forgeoned: stdout, stderr and the exit status pass through" \
        '[ $rc = 7 ] && [ "$(cat "$tmp/out")" = "$(printf "out\ndenied")" ] && grep -qx err "$tmp/err"'
check "the denial is forgeoned's decision, in its decision log" \
        'wait_for "grep -q \"deny-secrets\" \"$tmp/decisions.jsonl\"" 50'

# A long workload to drive.
ctl run --no-tty --quiet --name sleeper -- sleep 60 >/dev/null 2>&1 &
run_pid=$!
wait_for '[ "$(workload_state w2)" = running ]' 50
check "ps lists the workload running" '[ "$(workload_state w2)" = running ]'
check "ps --json names it" 'ctl ps --json | jq -e ".[] | select(.id == \"w2\" and .name == \"sleeper\")" >/dev/null'
ctl pause w2 2>"$tmp/err"
check "pause freezes its cgroup" \
        '[ "$(workload_state w2)" = paused ] && wait_for "grep -qx \"frozen 1\" $cg/w2/cgroup.events" 50'
ctl resume w2 2>"$tmp/err"
check "resume thaws it" '[ "$(workload_state w2)" = running ] && wait_for "grep -qx \"frozen 0\" $cg/w2/cgroup.events" 50'
ctl quarantine w2 2>"$tmp/err"
rc=$?
check "quarantine without a reason is refused" '[ $rc != 0 ] && [ "$(workload_state w2)" = running ]'
ctl quarantine --reason "suspicious" w2 2>"$tmp/err"
check "quarantine freezes it and records the reason" \
        '[ "$(workload_state w2)" = quarantined ] && ctl inspect w2 | grep -q "Reason: suspicious"'
ctl release w2 2>"$tmp/err"
check "release thaws it" '[ "$(workload_state w2)" = running ]'
ctl pause w2 >/dev/null 2>&1
ctl stop w2 2>"$tmp/err"
wait $run_pid
rc=$?
check "stop ends it (SIGTERM, even when paused): forgeonectl run exits 143" '[ $rc = 143 ]'
check "ps shows it exited" 'wait_for "[ \"\$(workload_state w2)\" = exited ]" 30'
check "its cgroup is gone" '[ ! -d "$cg/w2" ]'
check "WorkloadStateChanged signals arrived for each transition" \
        'for s in running paused quarantined stopping exited; do grep -q "string \"$s\"" "$tmp/signals" || exit 1; done'

# The daemon's properties and the per-workload object.
check "properties: version, digest, generation, counters" \
        'ctl daemon status | grep -q "PolicyGeneration: 1" && ctl daemon status | grep -Eq "DecisionsDenied: [1-9]"'
check "explain against the active policy" \
        'ctl daemon explain --syscall openat --path /etc/shadow | grep -q "deny (EACCES) by rule deny-secrets"'

# reload: a bad policy is refused with its position and the active one stays.
digest=$(ctl daemon status | awk '$1 == "PolicyDigest:" { print $2 }')
printf '{ "version": 1,\n  "name": "broken",\n  "default": { "action": "deny", "errno": "EPERM" },\n  "rules": [ { "id": "x", "syscalls": ["no_such_call"], "action": "allow" } ] }\n' >"$tmp/bad.json"
ctl reload "$tmp/bad.json" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "a bad policy is refused: file:line:column of the error" \
        '[ $rc != 0 ] && grep -q "bad.json:4:" "$tmp/err"'
check "and the active policy stays" \
        '[ "$(ctl daemon status | awk "\$1 == \"PolicyDigest:\" { print \$2 }")" = "$digest" ] && ctl daemon status | grep -q "PolicyGeneration: 1"'
ctl reload "$src/tests/policies/daemon-a.json" >"$tmp/out" 2>"$tmp/err"
check "a good policy becomes generation 2" 'grep -q "policy generation 2 active" "$tmp/out"'
check "PolicyReloaded was signalled" 'wait_for "grep -q PolicyReloaded \"$tmp/signals\"" 30'

# Restart to apply: a workload whose kernel filter would differ is named.
ctl run --no-tty --quiet -- "$hammer" getppid-forever >/dev/null 2>&1 &
run_pid=$!
wait_for '[ "$(workload_state w3)" = running ]' 50
ctl reload "$src/tests/policies/daemon-b.json" >"$tmp/out" 2>"$tmp/err"
check "a reload that keeps its kernel filter names nobody" '! grep -q "restart to apply" "$tmp/out"'
sed 's/"clock_nanosleep"/"clock_nanosleep", "getpid"/' "$src/tests/policies/daemon-a.json" >"$tmp/c.json"
ctl reload "$tmp/c.json" >"$tmp/out" 2>"$tmp/err"
check "a reload that changes its kernel filter names it: restart to apply" \
        'grep -q "restart to apply.* w3" "$tmp/out" && ctl inspect w3 | grep -q "RestartToApply: yes"'
ctl stop w3 >/dev/null 2>&1
wait $run_pid
ctl reload "$policy" >/dev/null 2>&1

# Introspection matches the shipped XML, member by member.
ctl run --no-tty --quiet -- sleep 30 >/dev/null 2>&1 &
run_pid=$!
wait_for '[ "$(workload_state w4)" = running ]' 50
busctl --address="$bus_address" introspect --xml-interface org.forgeone.Supervisor1 /org/forgeone/Supervisor1 \
        >"$tmp/intro-main.xml" 2>"$tmp/err"
busctl --address="$bus_address" introspect --xml-interface org.forgeone.Supervisor1 \
        /org/forgeone/Supervisor1/workload/w4 >"$tmp/intro-workload.xml" 2>>"$tmp/err"
cat >"$tmp/members.py" <<'EOF'
import sys, xml.etree.ElementTree as ET
def members(path, names):
    out = set()
    for iface in ET.parse(path).getroot().iter("interface"):
        if iface.get("name") not in names:
            continue
        for m in iface:
            if m.tag in ("method", "signal", "property"):
                sig = [(a.get("type"), a.get("direction", "")) for a in m.findall("arg")]
                out.add((iface.get("name"), m.tag, m.get("name"), m.get("type", ""), tuple(sig)))
    return out
names = {"org.forgeone.Supervisor1", "org.forgeone.Workload1"}
live = members(sys.argv[2], names) | members(sys.argv[3], names)
shipped = members(sys.argv[1], names)
for d in sorted(live ^ shipped):
    print(("live only: " if d in live else "shipped only: ") + str(d))
sys.exit(0 if live == shipped else 1)
EOF
check "the introspection is systemd/org.forgeone.Supervisor1.xml, member by member" \
        'python3 "$tmp/members.py" "$src/systemd/org.forgeone.Supervisor1.xml" "$tmp/intro-main.xml" "$tmp/intro-workload.xml" >"$tmp/err" 2>&1'

# Access: a reader (the group "forgeone") reads and is refused every change; others get nothing.
as_reader() { setpriv --reuid=65534 --regid=65534 --groups="$readers_gid" -- "$forgeonectl" --bus-address="$bus_address" "$@"; }
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$forgeonectl" --bus-address="$bus_address" "$@"; }
check "a reader lists the workloads" 'as_reader ps 2>"$tmp/err" | grep -q "^w4 "'
check "a reader reads the properties" 'as_reader daemon status 2>"$tmp/err" | grep -q "Version:"'
check "a reader explains" 'as_reader daemon explain --syscall getppid >/dev/null 2>"$tmp/err"'
denied=0
for v in "pause w4" "resume w4" "stop w4" "release w4" "quarantine --reason x w4" "reload $src/tests/policies/daemon-a.json" "daemon reexec"; do
        as_reader $v >/dev/null 2>"$tmp/err.$$"
        grep -qi "access denied\|AccessDenied\|not allowed" "$tmp/err.$$" && denied=$((denied + 1))
done
rm -f "$tmp/err.$$"
check "a reader gets AccessDenied on every mutating method (7 of 7)" '[ $denied = 7 ]'
check "the workload was left running" '[ "$(workload_state w4)" = running ]'
check "a reader cannot Run (AccessDenied)" \
        'busctl --address="$bus_address" call org.forgeone.Supervisor1 /org/forgeone/Supervisor1 org.forgeone.Supervisor1 Stop s w4 2>/dev/null; setpriv --reuid=65534 --regid=65534 --groups="$readers_gid" -- busctl --address="$bus_address" call org.forgeone.Supervisor1 /org/forgeone/Supervisor1 org.forgeone.Supervisor1 Kill si w4 9 2>&1 | grep -qi "access denied"'
check "someone outside the group reads nothing" '! as_nobody ps >/dev/null 2>&1 && ! as_nobody daemon status >/dev/null 2>&1'
ctl stop w4 >/dev/null 2>&1
wait $run_pid

# No daemon: forgeonectl says so and runs here.
"$forgeonectl" --bus-address="unix:path=$tmp/none.sock" run -- sh -c 'exit 3' >"$tmp/out" 2>"$tmp/err"
rc=$?
check "without a daemon, run falls back to --local and says so" '[ $rc != 0 ] && grep -q "running --local" "$tmp/err"'
"$forgeonectl" --bus-address="unix:path=$tmp/none.sock" reload "$policy" >"$tmp/out" 2>"$tmp/err"
check "reload needs the daemon and says so" '[ $? != 0 ] && grep -q "needs forgeoned" "$tmp/err"'

# A clean stop stops the workloads and clears the state directory.
ctl run --no-tty --quiet -- sleep 60 >/dev/null 2>&1 &
run_pid=$!
wait_for '[ "$(workload_state w5)" = running ]' 50
daemon_stop
wait $run_pid
check "SIGTERM stops the workloads (forgeonectl run sees the end)" '[ ! -d "$cg/w5" ]'
check "and leaves no state behind" '[ -z "$(ls "$tmp/state/workloads" 2>/dev/null)" ] && [ ! -e "$tmp/state/daemon.json" ]'

# The audit of forgeoned (forgeone.audit(7)): the records of its workloads, as --local writes them.
audit=$tmp/audit/fallback.jsonl
digest="sha256:$(sha256sum "$policy" | cut -d' ' -f1)"
check "forgeoned audits w1's denial of /etc/shadow with its rule, policy digest and generation" \
        'jq -se --arg d "$digest" "map(select(.FORGEONE_WORKLOAD == \"w1\" and .FORGEONE_RULE == \"deny-secrets\"
                and .FORGEONE_POLICY_DIGEST == \$d and .FORGEONE_POLICY_GENERATION != null)) | length >= 1" "$audit" >/dev/null'
check "the policy in force for w1 and its state changes are audited" \
        'jq -se "map(select(.FORGEONE_WORKLOAD == \"w1\" and .FORGEONE_EVENT != null)) | length >= 2" "$audit" >/dev/null'
check "a reload is audited per workload with its new generation" \
        'jq -se "map(select(.FORGEONE_EVENT == \"policy-loaded\" and ((.FORGEONE_POLICY_GENERATION // \"1\") | tonumber) > 1)) | length >= 1" "$audit" >/dev/null'
check "the refused reload is audited with the file:line:column and the generation kept" \
        'jq -se "map(select(.FORGEONE_EVENT == \"policy-reload-failed\" and (.MESSAGE | test(\"bad.json:4:\"))
                and .FORGEONE_POLICY_GENERATION == \"1\")) | length == 1" "$audit" >/dev/null'
check "every audit record is chained, and the run ends with a stop record" \
        'jq -se "all(.FORGEONE_CHAIN != null) and (map(select(.FORGEONE_EVENT == \"audit-stopped\")) | length >= 1)" "$audit" >/dev/null'
finish
