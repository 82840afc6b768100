#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The audit against a real systemd-journald (root), started here in a mount namespace of its own: tmpfs over
# /run/systemd, /run/log, /var/log/journal and the catalog database, our catalog bound over the catalog
# directory, so nothing of the host's journal is touched. After mediated runs: the records with every field
# (journalctl -o json), the catalog text (journalctl -x), exact counts through a storm of 100,000 denials,
# export round trips, and audit verify naming the first deleted, altered or reordered record, in export
# files and in real journal files (written by systemd-journal-remote). TAP.
set -u

src=${FORGEONE_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
build=${FORGEONE_BUILD_ROOT:-$src/build}
ctl=${FORGEONECTL:-$build/src/cli/forgeonectl}
burst=${FORGEONE_AUDIT_BURST:-$build/tests/audit-burst}
journald=/lib/systemd/systemd-journald
remote=/lib/systemd/systemd-journal-remote

if [ "$(id -u)" != 0 ]; then
        echo "1..0 # SKIP needs root (mount namespace, journald, mediated workloads)"
        exit 77
fi
for f in "$ctl" "$burst" "$journald"; do
        if [ ! -x "$f" ]; then
                echo "1..0 # SKIP $f is missing"
                exit 77
        fi
done
for t in jq openssl python3 unshare setpriv journalctl; do
        if ! command -v "$t" >/dev/null; then
                echo "1..0 # SKIP $t is missing"
                exit 77
        fi
done

# ---- outside: a temp dir and a mount namespace; both go away whatever happens inside ----
if [ -z "${FO_AUDIT_NS:-}" ]; then
        tmp=$(mktemp -d /tmp/fo-audit-XXXXXX)
        trap 'rm -rf "$tmp"' EXIT
        FO_AUDIT_NS=$tmp unshare --mount --propagation private "$0" "$@"
        exit $?
fi

# ---- inside the namespace ----
tmp=$FO_AUDIT_NS
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; [ -s "$tmp/err" ] && sed 's/^/# /' "$tmp/err" | tail -15; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

jpid=
cleanup() {
        if [ -n "$jpid" ]; then
                kill "$jpid" 2>/dev/null
                wait "$jpid" 2>/dev/null
        fi
}
trap cleanup EXIT

for d in /run/systemd /run/log /var/lib/systemd/catalog; do
        mkdir -p "$d" 2>/dev/null
        mount -t tmpfs tmpfs "$d" || { echo "1..0 # SKIP cannot mount a tmpfs on $d"; exit 77; }
done
# journald writes persistently where /var/log/journal exists: never into the host's.
if [ -d /var/log/journal ]; then
        mount -t tmpfs tmpfs /var/log/journal
fi
mkdir -p "$tmp/catalog"
cp /usr/lib/systemd/catalog/*.catalog "$tmp/catalog/" 2>/dev/null
cp "$src/src/audit/forgeone.catalog" "$tmp/catalog/"
mount --bind "$tmp/catalog" /usr/lib/systemd/catalog

# It dies with this script even if the script is killed.
setpriv --pdeathsig KILL "$journald" >"$tmp/journald.log" 2>&1 &
jpid=$!
for _ in $(seq 100); do
        [ -S /run/systemd/journal/socket ] && break
        sleep 0.05
done
if [ ! -S /run/systemd/journal/socket ]; then
        echo "1..0 # SKIP systemd-journald did not start: $(tail -1 "$tmp/journald.log")"
        exit 77
fi
journalctl --update-catalog 2>"$tmp/err"

export FORGEONE_AUDIT_DIR=$tmp/state FORGEONE_AUDIT_KEY=$tmp/audit.key
openssl genpkey -algorithm ed25519 -out "$tmp/audit.key" 2>/dev/null
openssl pkey -in "$tmp/audit.key" -pubout -out "$tmp/audit.pub" 2>/dev/null

DENIED=e06ee242e5a74645afaf58a68082b0c1
EMULATED=aa83f3abbd9a46668aaf6d648d07f0a8
ALLOWED=ecc7274fb5ce49fc82f1a78ad5d2f9a8
POLICY_LOADED=764cb60d82b74b719173a8793714b138
STATE=a7c5fa47b3c34b08b6bcd522db3c46c7
STARTED=757e0a33eb0a4b4797f0123fbc4244e0
STOPPED=260fb53c90de49b08ee23b81ef6ab74c
CHECKPOINT=9775c6f8a58d4f90a43da8f6f1f94dad

last_run() { journalctl -o json MESSAGE_ID=$STARTED | tail -1 | jq -r .FORGEONE_RUN; }
fields() { journalctl -o json "$@" | jq -s .; }

# 1: a mediated run under the default policy.
policy=$src/policies/default.json
"$ctl" run --local --quiet --policy "$policy" -- sh -c 'cat /etc/shadow; cat /etc/hostname >/dev/null; true' \
        >"$tmp/out" 2>"$tmp/err"
rc=$?
journalctl --sync 2>/dev/null || sleep 1
run1=$(last_run)
check "a mediated run writes to journald (no fallback file)" \
        '[ $rc = 0 ] && [ -n "$run1" ] && [ "$run1" != null ] && [ ! -e "$tmp/state/fallback.jsonl" ]'

# 2: the denial, with every field the issue names.
fields MESSAGE_ID=$DENIED FORGEONE_RUN="$run1" >"$tmp/denied.json"
digest="sha256:$(sha256sum "$policy" | cut -d' ' -f1)"
missing=$(jq -r '.[0] as $e | ["MESSAGE","PRIORITY","FORGEONE_WORKLOAD","FORGEONE_IDENTITY","FORGEONE_SYSCALL",
        "FORGEONE_ARCH","FORGEONE_ARGS","FORGEONE_PATH","FORGEONE_VERDICT","FORGEONE_ERRNO","FORGEONE_RULE",
        "FORGEONE_TRUST","FORGEONE_POLICY_DIGEST","FORGEONE_POLICY_GENERATION","FORGEONE_TARGET_PID",
        "FORGEONE_SEQ","FORGEONE_CHAIN","FORGEONE_RUN","FORGEONE_TIME","FORGEONE_COUNT"]
        | map(select($e[.] == null)) | join(" ")' "$tmp/denied.json")
check "journalctl -o json MESSAGE_ID=<denied> finds the denial with every field (missing: ${missing:-none})" \
        '[ -z "$missing" ] && [ "$(jq length "$tmp/denied.json")" = 1 ]'
check "the denial says what, by which rule, under which policy" \
        'jq -e --arg d "$digest" ".[0] | .FORGEONE_SYSCALL == \"openat\" and .FORGEONE_PATH == \"/etc/shadow\"
            and .FORGEONE_VERDICT == \"deny\" and .FORGEONE_ERRNO == \"EACCES\" and .FORGEONE_RULE == \"deny-secrets\"
            and .FORGEONE_POLICY_DIGEST == \$d and .FORGEONE_POLICY_GENERATION == \"1\" and .PRIORITY == \"5\"
            and .FORGEONE_IDENTITY == \"*\" and (.FORGEONE_ARGS | contains(\"\\\"/etc/shadow\\\"\"))" "$tmp/denied.json" >/dev/null'

fields MESSAGE_ID=$EMULATED FORGEONE_RUN="$run1" >"$tmp/emulated.json"
check "emulated opens are records too, with their policy" \
        'jq -e --arg d "$digest" "map(select(.FORGEONE_PATH == \"/etc/hostname\")) | length >= 1 and
            (.[0] | .FORGEONE_VERDICT == \"emulate\" and .FORGEONE_POLICY_DIGEST == \$d and .FORGEONE_ERRNO == \"0\")" \
            "$tmp/emulated.json" >/dev/null'
fields MESSAGE_ID=$ALLOWED FORGEONE_RUN="$run1" >"$tmp/allowed.json"
check "allowed calls are aggregated with exact counts per workload, syscall and rule" \
        'jq -e "length >= 1 and all(.[]; .FORGEONE_AGGREGATED == \"allow-policy\" and (.FORGEONE_COUNT | tonumber) >= 1
            and .FORGEONE_RULE != null and .FORGEONE_SYSCALL != null)" "$tmp/allowed.json" >/dev/null'
fields MESSAGE_ID=$POLICY_LOADED FORGEONE_RUN="$run1" >"$tmp/policy.json"
fields MESSAGE_ID=$STATE FORGEONE_RUN="$run1" >"$tmp/state.json"
check "policy loaded and lifecycle records (Running, Stopped) name the policy" \
        'jq -e --arg d "$digest" ".[0].FORGEONE_POLICY_DIGEST == \$d" "$tmp/policy.json" >/dev/null &&
         jq -e "map(.FORGEONE_STATE) == [\"Running\", \"Stopped\"] and all(.[]; .FORGEONE_POLICY_DIGEST != null)" \
            "$tmp/state.json" >/dev/null'
fields MESSAGE_ID=$STOPPED FORGEONE_RUN="$run1" >"$tmp/stopped.json"
fields MESSAGE_ID=$CHECKPOINT FORGEONE_RUN="$run1" >"$tmp/checkpoint.json"
check "the run ends with a stop record (exact totals) and a signed final checkpoint" \
        'jq -e ".[0].FORGEONE_TOTAL_DENY == \"1\"" "$tmp/stopped.json" >/dev/null &&
         jq -e ".[-1].FORGEONE_ANCHOR == \"ed25519\" and (.[-1].FORGEONE_SIGNATURE | length) == 88" \
            "$tmp/checkpoint.json" >/dev/null'
check "every record of the run is chained and numbered from 1" \
        'journalctl -o json FORGEONE_RUN="$run1" | jq -s -e "map(.FORGEONE_SEQ | tonumber) | sort == [range(1; length + 1)]" >/dev/null'

# 3: the catalog.
journalctl -x --no-pager MESSAGE_ID=$DENIED FORGEONE_RUN="$run1" >"$tmp/x.txt" 2>"$tmp/err"
check "journalctl -x shows the catalog text for a denial" \
        'grep -q "ForgeOne denied openat to workload" "$tmp/x.txt" && grep -q "add a rule to its policy" "$tmp/x.txt"'
journalctl -x --no-pager MESSAGE_ID=$CHECKPOINT FORGEONE_RUN="$run1" >"$tmp/x.txt" 2>"$tmp/err"
check "journalctl -x explains checkpoints" 'grep -q "ForgeOne audit checkpoint: run $run1" "$tmp/x.txt"'

# 4: verify the journal: intact, signatures verified; a second run links to the first.
"$ctl" audit verify --key "$tmp/audit.pub" >"$tmp/verify.txt" 2>"$tmp/err"
check "audit verify: the journal's chain is intact and the signature verifies" \
        '[ $? = 0 ] && grep -q "verify: ok" "$tmp/verify.txt" && grep -q "1 signature verified" "$tmp/verify.txt"'
"$ctl" run --local --quiet --policy "$policy" -- true >/dev/null 2>"$tmp/err"
run2=$(last_run)
"$ctl" audit verify --key "$tmp/audit.pub" --json >"$tmp/verify.json" 2>"$tmp/err"
check "across restarts: the second run's chain starts from the first run's head" \
        'jq -e --arg r1 "$run1" --arg r2 "$run2" ".ok and (.runs[] | select(.run == \$r2) | .link | startswith(\"follows run \" + \$r1) and endswith(\": ok\"))" \
            "$tmp/verify.json" >/dev/null'

# 5: a storm of 100,000 denials: the count in the journal is exact, and journald suppressed nothing.
"$ctl" run --local --quiet --policy "$src/tests/policies/audit-burst.json" -- "$burst" 100000 /forgeone-audit-denied \
        >"$tmp/out" 2>/dev/null
rc=$?
run3=$(last_run)
journalctl --sync 2>/dev/null || sleep 1
total=$(journalctl -o json MESSAGE_ID=$DENIED FORGEONE_RUN="$run3" | jq -s 'map(.FORGEONE_COUNT | tonumber) | add')
workloads=$(journalctl -o json MESSAGE_ID=$DENIED FORGEONE_RUN="$run3" | jq -s -r 'map(.FORGEONE_WORKLOAD) | unique | length')
check "100,000 denials in a burst: the workload's count in the journal is 100000 (got $total)" \
        '[ $rc = 0 ] && [ "$(cat "$tmp/out")" = 100000 ] && [ "$total" = 100000 ] && [ "$workloads" = 1 ]'
check "beyond the budget the records say they are aggregated (rate-limit), and the stop record agrees" \
        'journalctl -o json MESSAGE_ID=$DENIED FORGEONE_RUN="$run3" FORGEONE_AGGREGATED=rate-limit | jq -s -e "length >= 1" >/dev/null &&
         journalctl -o json MESSAGE_ID=$STOPPED FORGEONE_RUN="$run3" | jq -e ".FORGEONE_TOTAL_DENY == \"100000\"" >/dev/null'
check "journald's rate limiter suppressed nothing" '! journalctl --no-pager -o cat | grep -q "Suppressed"'
"$ctl" audit summary --workload "$(journalctl -o json MESSAGE_ID=$DENIED FORGEONE_RUN="$run3" | head -1 | jq -r .FORGEONE_WORKLOAD)" \
        >"$tmp/summary.txt" 2>"$tmp/err"
check "audit summary counts the storm by rule and by path prefix" \
        'grep -Eq "deny +100000  no-mkdir-here" "$tmp/summary.txt" && grep -Eq "deny +[0-9]+  /$" "$tmp/summary.txt"'

# 6: export round trips.
"$ctl" audit export --run "$run1" >"$tmp/export.json" 2>"$tmp/err"
check "export --format json has every journal field of every record" \
        'python3 - "$tmp/export.json" <<PY
import json, subprocess, sys
exp = [json.loads(l) for l in open(sys.argv[1])]
jnl = [json.loads(l) for l in subprocess.run(["journalctl", "-o", "json", "FORGEONE_RUN=$run1"], capture_output=True,
       text=True, check=True).stdout.splitlines()]
assert len(exp) == len(jnl) > 10, (len(exp), len(jnl))
for e, j in zip(exp, jnl):
    for k, v in j.items():
        if isinstance(v, str) and k != "__MONOTONIC_TIMESTAMP" and not k.startswith("__SEQNUM"):
            assert e.get(k) == v, (k, e.get(k), v)
PY'
"$ctl" audit export --run "$run1" --format csv -o "$tmp/export.csv" 2>"$tmp/err"
check "export --format csv holds the same records and values" \
        'python3 - "$tmp/export.json" "$tmp/export.csv" <<PY
import csv, json, sys
exp = [json.loads(l) for l in open(sys.argv[1])]
rows = list(csv.DictReader(open(sys.argv[2], newline="")))
assert len(rows) == len(exp)
for e, r in zip(exp, rows):
    want = {k: v for k, v in e.items() if k != "__CURSOR" and v != ""}
    got = {k: v for k, v in r.items() if v != ""}
    assert want == got, set(want.items()) ^ set(got.items())
PY'
"$ctl" audit verify --input "$tmp/export.json" --key "$tmp/audit.pub" >"$tmp/verify.txt" 2>"$tmp/err"
check "the export verifies on its own" '[ $? = 0 ] && grep -q "verify: ok" "$tmp/verify.txt"'
"$ctl" audit export --verdict deny --since "@$(($(date +%s) - 3600))" >"$tmp/deny.json" 2>"$tmp/err"
check "export --verdict deny --since selects denials only" \
        'jq -s -e "length >= 2 and all(.[]; .FORGEONE_VERDICT == \"deny\")" "$tmp/deny.json" >/dev/null'

# 7: tampering with an export: the first bad record is named.
seq_of_denial=$(jq -r '.[0].FORGEONE_SEQ' "$tmp/denied.json")
tamper() { # MODE FILE OUT: edit, delete or swap the denial's record
        python3 - "$1" "$2" "$3" "$seq_of_denial" <<'PY'
import json, sys
mode, src, dst, seq = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
lines = open(src).read().splitlines()
i = next(k for k, l in enumerate(lines) if json.loads(l).get("FORGEONE_SEQ") == seq)
if mode == "edit":
    e = json.loads(lines[i]); e["FORGEONE_PATH"] = "/etc/hostname"; lines[i] = json.dumps(e)
elif mode == "delete":
    del lines[i]
else:
    lines[i], lines[i + 1] = lines[i + 1], lines[i]
open(dst, "w").write("\n".join(lines) + "\n")
PY
}
for mode in edit delete swap; do
        done_=$(case $mode in edit) echo edited ;; delete) echo deleted ;; swap) echo swapped ;; esac)
        tamper $mode "$tmp/export.json" "$tmp/bad.json"
        "$ctl" audit verify --input "$tmp/bad.json" >"$tmp/verify.txt" 2>"$tmp/err"
        rc=$?
        want=$(case $mode in edit) echo altered ;; delete) echo missing ;; swap) echo reordered ;; esac)
        check "export: a record $done_ is found: 'first bad record: ... record $seq_of_denial ($want)'" \
                '[ $rc = 1 ] && grep -q "first bad record: run $run1 record $seq_of_denial ($want)" "$tmp/verify.txt"'
done

# 8: the same in real journal files: the run's entries through systemd-journal-remote, as they are and tampered.
if [ -x "$remote" ]; then
        mkdir -p "$tmp/jfiles"
        journalctl -o export FORGEONE_RUN="$run1" >"$tmp/run1.export"
        "$remote" --output="$tmp/jfiles/good.journal" - <"$tmp/run1.export" 2>"$tmp/err"
        "$ctl" audit verify --file "$tmp/jfiles/good.journal" --key "$tmp/audit.pub" >"$tmp/verify.txt" 2>"$tmp/err"
        check "a journal file written from the run's entries verifies" '[ $? = 0 ] && grep -q "verify: ok" "$tmp/verify.txt"'
        # Export format: entries separated by empty lines; edit, drop or swap the denial's entry.
        python3 - "$tmp/run1.export" "$tmp/jfiles" "$seq_of_denial" <<'PY'
import sys
src, out, seq = sys.argv[1], sys.argv[2], sys.argv[3]
entries = open(src, "rb").read().split(b"\n\n")
entries = [e for e in entries if e.strip()]
i = next(k for k, e in enumerate(entries) if b"\nFORGEONE_SEQ=" + seq.encode() + b"\n" in b"\n" + e + b"\n")
edited = list(entries); edited[i] = edited[i].replace(b"FORGEONE_PATH=/etc/shadow", b"FORGEONE_PATH=/etc/hostname")
deleted = entries[:i] + entries[i + 1:]
swapped = list(entries)
# Journal files order entries by their own sequence numbers, so the swap keeps each entry's timestamps.
swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
for name, es in (("edit", edited), ("delete", deleted), ("swap", swapped)):
    open(f"{out}/{name}.export", "wb").write(b"\n\n".join(es) + b"\n\n")
PY
        for mode in edit delete swap; do
                done_=$(case $mode in edit) echo edited ;; delete) echo deleted ;; swap) echo swapped ;; esac)
                "$remote" --output="$tmp/jfiles/$mode.journal" - <"$tmp/jfiles/$mode.export" 2>"$tmp/err"
                "$ctl" audit verify --file "$tmp/jfiles/$mode.journal" >"$tmp/verify.txt" 2>"$tmp/err"
                rc=$?
                want=$(case $mode in edit) echo altered ;; delete) echo missing ;; swap) echo reordered ;; esac)
                check "journal file: a record $done_ is found: record $seq_of_denial ($want)" \
                        '[ $rc = 1 ] && grep -q "first bad record: run $run1 record $seq_of_denial ($want)" "$tmp/verify.txt"'
        done
else
        for mode in good edit delete swap; do
                ok "journal file $mode # SKIP systemd-journal-remote is not installed"
        done
fi

# 9: journald gone: records go to the fallback file, the reason is said once, the file verifies.
kill "$jpid"
wait "$jpid" 2>/dev/null
jpid=
rm -f /run/systemd/journal/socket
"$ctl" run --local --quiet --policy "$policy" -- sh -c 'cat /etc/shadow; true' >/dev/null 2>"$tmp/err"
check "journald unreachable: the reason is reported once" \
        '[ "$(grep -c "journald is not reachable" "$tmp/err")" = 1 ]'
"$ctl" audit verify --input "$tmp/state/fallback.jsonl" --key "$tmp/audit.pub" >"$tmp/verify.txt" 2>"$tmp/err"
check "the fallback file holds the run's records, chained and signed" \
        '[ $? = 0 ] && grep -q "verify: ok" "$tmp/verify.txt" && grep -q "$DENIED" "$tmp/state/fallback.jsonl"'

echo "1..$n"
exit $failed
