#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 7, class 1: argument width. Every argument rule of the shipped policies and the builtin listener
# rule, called with bits above 32 set where the kernel reads an int (raw syscall()), through
# "forgeonectl run --local" and the container form. A workload must not install a listener of its own,
# inject terminal input, create sockets or namespaces the policy denies, or map memory writable and
# executable where the policy says it may not. TAP.
source "$(dirname "$0")/attack-lib.sh"

default=$src/policies/default.json

# --- seccomp (builtin rule), socket domain/type, clone flags, prctl(PR_SET_SECCOMP): default.json
run_local "$default" "$W/width-local" -- "$attack" width "$S/secret"
results "local default.json:" "$W/width-local"

# The same through strict.json (clone masks every namespace flag) and web-service.json (identity web).
run_local "$src/policies/strict.json" "$W/width-strict" -- "$attack" width "$S/secret"
results "local strict.json:" "$W/width-strict"

# --- terminal injection: the workload's stdin is the caller's terminal (a pty the test owns); what TIOCSTI
# pushed is read back from the terminal's input queue afterwards.
"$attack" pty-run "$W/injected" -- "$ctl" run --local --quiet --policy "$default" -- "$attack" tty \
        >"$W/tty-local" 2>&1
results "local default.json:" "$W/tty-local"
if grep -q FOINJ "$W/injected" 2>/dev/null; then
        not_ok "local default.json: nothing reached the terminal's input" "$(grep -a FOINJ "$W/injected" | tr '\n' ' ')"
else
        ok "local default.json: nothing reached the terminal's input"
fi

# The user-space evaluator: the ioctl rule made to need the supervisor (min_trust), so that "ne TIOCSTI"
# is compared there.
uspace=$(policy_variant ioctl-in-supervisor default '(.rules[] | select(.id == "ioctl")) += {"min_trust": 1}')
"$attack" pty-run "$W/injected-us" -- "$ctl" run --local --quiet --policy "$uspace" -- "$attack" tty \
        >"$W/tty-us" 2>&1
results "local default.json, ioctl rule decided in the supervisor:" "$W/tty-us"
if grep -q FOINJ "$W/injected-us" 2>/dev/null; then
        not_ok "supervisor-decided ioctl rule: nothing reached the terminal's input" \
                "$(grep -a FOINJ "$W/injected-us" | tr '\n' ' ')"
else
        ok "supervisor-decided ioctl rule: nothing reached the terminal's input"
fi

"$attack" pty-run "$W/injected-strict" -- "$ctl" run --local --quiet --policy "$src/policies/strict.json" -- \
        "$attack" tty >"$W/tty-strict" 2>&1
results "local strict.json:" "$W/tty-strict"

# The builtin listener rule evaluated in the supervisor: seccomp made to need it (min_trust).
sus=$(policy_variant seccomp-in-supervisor default '(.rules[] | select(.id == "runtime") | .syscalls) -= ["seccomp"]
        | .rules += [{"id": "seccomp-trusted", "syscalls": ["seccomp"], "action": "allow", "min_trust": 1}]')
run_local "$sus" "$W/width-sus" -- "$attack" width "$S/secret"
grep -E '^RESULT seccomp' "$W/width-sus" >"$W/width-sus.seccomp"
results "local default.json, seccomp decided in the supervisor:" "$W/width-sus.seccomp"

# --- W^X: strict.json's mprotect-no-exec, web-service.json's memory rule (identity web runs only programs
# under /srv/app/bin, so the attacker is put there for the run and removed after).
run_local "$src/policies/strict.json" "$W/wx-strict" -- "$attack" wx
results "local strict.json:" "$W/wx-strict"

if [ ! -e /srv/app ]; then
        mkdir -p /srv/app/bin && created_srv=1
fi
if [ -d /srv/app/bin ]; then
        webprog=/srv/app/bin/fo-attack-$$
        cp "$attack" "$webprog"
        "$ctl" run --local --quiet --identity web --policy "$src/policies/web-service.json" -- "$webprog" wx \
                >"$W/wx-web" 2>"$W/wx-web.err"
        results "local web-service.json (identity web):" "$W/wx-web"
        "$attack" pty-run "$W/injected-web" -- "$ctl" run --local --quiet --identity web \
                --policy "$src/policies/web-service.json" -- "$webprog" tty >"$W/tty-web" 2>&1
        results "local web-service.json (identity web):" "$W/tty-web"
        # UDP is web-service.json's for its resolver (endpoint "dns", protocol udp): allowed by design, with
        # every datagram's destination judged (test-attack-targets.sh sends to the metadata service).
        FO_ATTACK_ALLOWED_SOCKETS=inet-dgram,inet6-dgram \
                "$ctl" run --local --quiet --identity web --policy "$src/policies/web-service.json" -- "$webprog" width \
                "$S/secret" >"$W/width-web" 2>"$W/width-web.err"
        results "local web-service.json (identity web):" "$W/width-web"
        rm -f "$webprog"
        [ -n "$created_srv" ] && rm -rf /srv/app && created_srv=
else
        skip_test "web-service.json" "/srv/app exists and is not a directory"
fi

# --- containers
if image_build; then
        run_container "$default" "$W/width-ct" -- /bin/attack width /root/secret
        results "container default.json:" "$W/width-ct"
        "$attack" pty-run "$W/injected-ct" -- "$ctl" run --local --quiet --image "$IMG" --policy "$default" \
                -- /bin/attack tty >"$W/tty-ct" 2>&1
        results "container default.json:" "$W/tty-ct"
        if grep -q FOINJ "$W/injected-ct" 2>/dev/null; then
                not_ok "container default.json: nothing reached the caller's terminal input" \
                        "$(grep -a FOINJ "$W/injected-ct" | tr '\n' ' ')"
        else
                ok "container default.json: nothing reached the caller's terminal input"
        fi
        run_container "$src/policies/strict.json" "$W/wx-ct" -- /bin/attack wx
        results "container strict.json:" "$W/wx-ct"
else
        skip_test "container mode" "needs umoci and busybox to build the image"
fi

finish
