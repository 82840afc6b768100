#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Reload under load (root): 8 workloads hammer trapped getppid while forgeoned's policy is reloaded 100
# times between two policies (tests/policies/daemon-a.json and -b.json: the same kernel filter, getppid
# decided by rule a-ppid or b-ppid). Checked: no failed call (every one answered, none ENOSYS/EINTR), none
# lost (each workload's count of answers is the supervisor's exact count of decisions), each decision made
# by exactly one generation (the decision log: a-ppid only in odd generations, b-ppid only in even ones,
# each workload's generations never going back), a bad policy in between refused with the active one
# kept, and the generation counted right. TAP.
set -u
src=${FORGEONE_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
. "$src/tests/daemon-lib.sh"
daemon_lib_init reload

a=$src/tests/policies/daemon-a.json
b=$src/tests/policies/daemon-b.json
daemon_start --policy="$a" --log-decisions=none --decision-log="$tmp/decisions.jsonl" ||
        { not_ok "forgeoned starts"; finish; }
ok "forgeoned starts"

for i in $(seq 8); do
        ctl run --no-tty --quiet --name "load$i" -- "$hammer" getppid-forever 100 >"$tmp/load$i.out" 2>"$tmp/load$i.err" &
        echo $! >"$tmp/load$i.pid"
done
check "8 workloads hammer trapped calls" 'wait_for "[ \"\$(ctl ps | grep -c \"load[0-9] *running\")\" = 8 ]" 100'
sleep 0.5

refused=0
reloaded=0
for i in $(seq 100); do
        if [ $((i % 2)) = 1 ]; then p=$b; else p=$a; fi
        if ctl reload "$p" >"$tmp/out" 2>"$tmp/err"; then reloaded=$((reloaded + 1)); fi
        if [ "$i" = 50 ]; then
                digest=$(ctl daemon status | awk '$1 == "PolicyDigest:" { print $2 }')
                printf '{ "version": 1, "name": "bad", "default": { "action": "allow" } }\n' >"$tmp/bad.json"
                ctl reload "$tmp/bad.json" >"$tmp/out" 2>"$tmp/bad.err" || refused=1
                after=$(ctl daemon status | awk '$1 == "PolicyDigest:" { print $2 }')
        fi
done
check "100 reloads between two policies, all applied" '[ $reloaded = 100 ]'
check "a bad policy among them is refused with its reason" \
        '[ $refused = 1 ] && grep -q "bad.json" "$tmp/bad.err"'
check "and the policy active before it stays active" '[ -n "$digest" ] && [ "$digest" = "$after" ]'
check "the generation counted every reload and nothing else: 101" 'ctl daemon status | grep -q "PolicyGeneration: 101"'

for i in $(seq 8); do
        id=$(ctl ps | awk -v n="load$i" '$2 == n { print $1 }')
        echo "$id" >"$tmp/load$i.id"
done
for i in $(seq 8); do ctl stop "$(cat "$tmp/load$i.id")" >/dev/null 2>&1; done
for i in $(seq 8); do wait "$(cat "$tmp/load$i.pid")"; done
field() { sed -n "s/.*\b$2=\([0-9]*\).*/\1/p" "$tmp/$1.out"; }
check "no failed call: every getppid of every workload was answered (no ENOSYS, EINTR, error)" \
        'for i in $(seq 8); do [ -n "$(field load$i calls)" ] && [ "$(field load$i ok)" = "$(field load$i calls)" ] || exit 1; done'
total=0
for i in $(seq 8); do total=$((total + $(field "load$i" calls))); done
echo "# $total trapped calls during 100 reloads"
# The supervisor's exact count: the workload's calls and its execve, nothing more, nothing less.
decided() { ctl inspect "$(cat "$tmp/load$1.id")" | sed -n 's/.*continue=\([0-9]*\).*/\1/p'; }
check "none lost: each workload's decisions (exact counters) are its calls plus its execve" \
        'for i in $(seq 8); do [ "$(decided $i)" = $(( $(field load$i calls) + 1 )) ] || { echo "# load$i: $(decided $i) decisions, $(field load$i calls) calls"; exit 1; }; done'

# The decision log (forgeoned writes it from its loop; when it falls behind, records are dropped and only
# counted): every decision recorded names the generation it was made on, and its rule is that policy's.
daemon_stop
cat >"$tmp/check.py" <<'EOF'
import json, sys, collections
per = collections.defaultdict(list)
bad = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("syscall") != "getppid":
        continue
    per[r["workload"]].append((r["seq"], r["generation"], r["rule"], r["action"]))
for w, recs in per.items():
    recs.sort()
    last = 0
    for seq, gen, rule, action in recs:
        if action != "continue":
            bad.append("%s seq %d: %s" % (w, seq, action))
        if rule not in ("a-ppid", "b-ppid") or (rule == "a-ppid") != (gen % 2 == 1):
            bad.append("%s seq %d: rule %s in generation %d" % (w, seq, rule, gen))
        if gen < last:
            bad.append("%s seq %d: generation %d after %d" % (w, seq, gen, last))
        last = gen
gens = sorted({g for recs in per.values() for _, g, _, _ in recs})
n = sum(map(len, per.values()))
print("# %d decisions recorded, generations %d..%d (%d distinct)" % (n, gens[0] if gens else 0, gens[-1] if gens else 0, len(gens)))
for b in bad[:10]:
    print("# " + b)
sys.exit(1 if bad or len(gens) < 50 else 0)
EOF
check "each decision made by exactly one generation (a-ppid in odd ones, b-ppid in even ones, never going back)" \
        'python3 "$tmp/check.py" "$tmp/decisions.jsonl"'
finish
