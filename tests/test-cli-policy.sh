#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# forgeonectl policy check|compile|explain|graph, end to end through the
# real binary and the shipped policies. No root needed. Prints TAP.
set -uo pipefail

src=${FORGEONE_SOURCE_ROOT:?}
ctl=${FORGEONE_BUILD_ROOT:?}/src/cli/forgeonectl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
# check DESCRIPTION COMMAND...: passes when the command exits 0
check() { local d=$1; shift; if out=$("$@" 2>&1); then ok "$d"; else not_ok "$d" "command: $*" "output: $out"; fi; }

default=$src/policies/default.json
web=$src/policies/web-service.json

# --- check
check "check accepts policies/default.json" "$ctl" policy check "$default"
check "check accepts policies/strict.json" "$ctl" policy check "$src/policies/strict.json"
check "check accepts policies/web-service.json" "$ctl" policy check "$web"

cat > "$tmp/bad.json" <<'EOF'
{
  "version": 1,
  "default": { "action": "deny", "errno": "EPERM" },
  "rules": [
    { "id": "r1", "syscalls": ["opnat"], "action": "allow" }
  ]
}
EOF
out=$("$ctl" policy check "$tmp/bad.json" 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -q "^$tmp/bad.json:5:[0-9]*: .*opnat" <<<"$out"; then
  ok "check reports file:line:column of an unknown syscall and exits 1"
else
  not_ok "check reports file:line:column of an unknown syscall and exits 1" "rc=$rc" "$out"
fi
if grep -q 'openat' <<<"$out"; then ok "check suggests the closest syscall name"; else not_ok "check suggests the closest syscall name" "$out"; fi

printf '{ "version": 1,\n  "default": { "action": "deny" },\n  "rules": [ }\n' > "$tmp/syntax.json"
out=$("$ctl" policy check --json "$tmp/syntax.json" 2>/dev/null); rc=$?
if [ $rc -eq 1 ] && jq -e '.valid == false and (.errors | length) >= 1 and .errors[0].line == 3' <<<"$out" >/dev/null; then
  ok "check --json reports a syntax error with its line"
else
  not_ok "check --json reports a syntax error with its line" "rc=$rc" "$out"
fi

out=$("$ctl" policy check --json "$default"); rc=$?
if [ $rc -eq 0 ] && jq -e '.valid == true and .rules > 0' <<<"$out" >/dev/null; then
  ok "check --json on a valid policy"
else
  not_ok "check --json on a valid policy" "$out"
fi

out=$("$ctl" policy check "$tmp/missing.json" 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -q "missing.json" <<<"$out"; then ok "check names a missing file"; else not_ok "check names a missing file" "$out"; fi

# --- compile
out=$("$ctl" policy compile "$default"); rc=$?
if [ $rc -eq 0 ] && grep -q "^BPF program: [0-9]* instructions" <<<"$out"; then
  ok "compile prints the BPF size"
else
  not_ok "compile prints the BPF size" "$out"
fi
json=$("$ctl" policy compile --json "$default")
if jq -e '.syscalls[] | select(.syscall == "mount") | .decided_in == "supervisor"' <<<"$json" >/dev/null; then
  ok "compile --json: mount goes to the supervisor (quarantine)"
else
  not_ok "compile --json: mount goes to the supervisor (quarantine)" "$(jq -c '.syscalls[] | select(.syscall == "mount")' <<<"$json")"
fi
if jq -e '.syscalls[] | select(.syscall == "openat") | .decided_in == "supervisor"' <<<"$json" >/dev/null; then
  ok "compile --json: openat goes to the supervisor (path rules)"
else
  not_ok "compile --json: openat goes to the supervisor (path rules)"
fi
if jq -e '.syscalls[] | select(.syscall == "getpid") | .decided_in == "kernel" and .action == "allow"' <<<"$json" >/dev/null; then
  ok "compile --json: getpid is allowed in the kernel"
else
  not_ok "compile --json: getpid is allowed in the kernel"
fi
if jq -e '.bpf_instructions > 0 and .bpf_bytes == .bpf_instructions * 8' <<<"$json" >/dev/null; then
  ok "compile --json: BPF size in instructions and bytes"
else
  not_ok "compile --json: BPF size in instructions and bytes"
fi

# --- explain
json=$("$ctl" policy explain "$default" --syscall openat --path /etc/shadow --access read --json)
if jq -e '.verdict == "deny" and .rule != "default" and .decided_in == "supervisor"' <<<"$json" >/dev/null; then
  ok "explain: reading /etc/shadow is denied by a rule, in the supervisor"
else
  not_ok "explain: reading /etc/shadow is denied by a rule, in the supervisor" "$json"
fi
json=$("$ctl" policy explain "$default" --syscall getpid --json)
if jq -e '.verdict == "allow" and .decided_in == "kernel"' <<<"$json" >/dev/null; then
  ok "explain: getpid allowed in the kernel"
else
  not_ok "explain: getpid allowed in the kernel" "$json"
fi
json=$("$ctl" policy explain "$default" --syscall mount --json)
if jq -e '.verdict == "quarantine"' <<<"$json" >/dev/null; then
  ok "explain: mount quarantines"
else
  not_ok "explain: mount quarantines" "$json"
fi
out=$("$ctl" policy explain "$default" --syscall openat --path /etc/shadow --access read)
if grep -q "deny" <<<"$out" && grep -q "/etc/shadow" <<<"$out"; then
  ok "explain prints a human explanation naming the path"
else
  not_ok "explain prints a human explanation naming the path" "$out"
fi
json=$("$ctl" policy explain "$default" --syscall openat --path /tmp/x --arg 2=O_WRONLY\|O_CREAT --json)
if jq -e '.access | test("write") and test("create")' <<<"$json" >/dev/null; then
  ok "explain derives access from symbolic open flags"
else
  not_ok "explain derives access from symbolic open flags" "$json"
fi
out=$("$ctl" policy explain "$default" --syscall opnat 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -q "openat" <<<"$out"; then ok "explain rejects an unknown syscall with a suggestion"; else not_ok "explain rejects an unknown syscall with a suggestion" "$out"; fi
out=$("$ctl" policy explain "$default" --syscall connect --addr 10.0.0.1:99999/tcp 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -q "Invalid --addr" <<<"$out"; then ok "explain rejects a bad address"; else not_ok "explain rejects a bad address" "$out"; fi
out=$("$ctl" policy explain "$default" --syscall getpid --identity nosuch 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -q "no identity 'nosuch'" <<<"$out"; then ok "explain rejects an unknown identity"; else not_ok "explain rejects an unknown identity" "$out"; fi

# A network decision in the web-service policy: DNS allowed, another port denied.
json=$("$ctl" policy explain "$web" --identity web --syscall connect --addr 10.0.0.10:8080/tcp --json 2>&1)
json2=$("$ctl" policy explain "$web" --identity web --syscall connect --addr 192.0.2.1:25/tcp --json 2>&1)
if jq -e '.verdict == "allow" or .verdict == "emulate"' <<<"$json" >/dev/null 2>&1 \
   && jq -e '.verdict == "deny"' <<<"$json2" >/dev/null 2>&1; then
  ok "explain: web-service may reach its upstream, not an arbitrary host"
else
  not_ok "explain: web-service may reach its upstream, not an arbitrary host" "$json" "$json2"
fi

# --- graph
out=$("$ctl" policy graph "$default"); rc=$?
if [ $rc -eq 0 ] && head -n 1 <<<"$out" | grep -q '^digraph' && tail -n 1 <<<"$out" | grep -q '^}'; then
  ok "graph prints DOT"
else
  not_ok "graph prints DOT" "$(head -n 3 <<<"$out")"
fi
if command -v dot >/dev/null; then
  if "$ctl" policy graph "$web" --svg "$tmp/web.svg" >/dev/null && grep -q '<svg' "$tmp/web.svg"; then
    ok "graph --svg renders with dot"
  else
    not_ok "graph --svg renders with dot"
  fi
else
  ok "graph --svg renders with dot # SKIP graphviz not installed"
fi
json=$("$ctl" policy graph --json "$default")
if jq -e '(.nodes | length) > 0 and (.edges | length) > 0' <<<"$json" >/dev/null; then
  ok "graph --json has nodes and edges"
else
  not_ok "graph --json has nodes and edges" "$(head -c 300 <<<"$json")"
fi

# --- help
check "forgeonectl --help" "$ctl" --help
check "forgeonectl policy --help" "$ctl" policy --help
out=$("$ctl" frobnicate 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -q "Unknown verb" <<<"$out"; then ok "unknown verb is an error"; else not_ok "unknown verb is an error" "$out"; fi

echo "1..$n"
[ $failed -eq 0 ]
