#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 7, class 5: policy and state gaps. Every /proc, /sys and /dev name of the secrets the shipped
# policies protect (root, cwd and fd magic links, thread-self, task/TID, map_files of a process that maps
# the secret, /dev/fd, symlinks and hard links in scratch space, tracefs outside /sys/kernel/debug,
# /proc/kmsg, device nodes); the compiled-filter cache (can a workload replace an entry so that a later
# run of that policy starts with a filter that allows everything?); and the fds the caller has open
# beyond 0-2 (exec 9</ in the calling shell). In --local and container mode where it applies. TAP.
source "$(dirname "$0")/attack-lib.sh"

default=$src/policies/default.json
notrust=$(policy_variant notrust default '.trust.deny_penalty = 0')

# --- names of the secrets
"$attack" hold-map "$S/secret" >"$W/holder.ready" &
holder=$!
started_pids+=("$holder")
wait_line "$W/holder.ready" MAPPED 10
run_local "$default" "$W/alias-secret" -- "$attack" aliases "$S" secret "$CANARY" "$holder"
results "local default.json, $S/secret:" "$W/alias-secret"
# /etc/shadow: any read of it is the escape ("-"); nothing of it is printed.
run_local "$default" "$W/alias-shadow" -- "$attack" aliases /etc shadow -
results "local default.json, /etc/shadow:" "$W/alias-shadow"
run_local "$default" "$W/opens-local" -- "$attack" opens local \
        /proc/thread-self/mem /proc/self/task/@TID@/mem /proc/@PID@/task/@PID@/mem /proc/@PID@/mem \
        /proc/self/root/proc/kcore /proc/1/root/proc/kcore /proc/thread-self/root/proc/kallsyms \
        /proc/sys/kernel/../kernel/core_pattern /proc/self/root/proc/sys/kernel/core_pattern \
        /proc/kmsg /dev/kmsg /dev/mem /dev/port /proc/kcore /proc/kallsyms \
        /sys/kernel/tracing/trace /sys/kernel/tracing/trace_pipe /sys/kernel/tracing/available_events \
        /sys/kernel/debug/tracing/trace /sys/kernel/security/lsm /sys/firmware/acpi/tables/DSDT
results "local default.json:" "$W/opens-local"
run_local "$default" "$W/mknod-local" -- "$attack" mknod
results "local default.json:" "$W/mknod-local"

# --- the compiled-filter cache
# A policy of this run's own (default.json plus a rule nobody else has), so that its cache entry is ours.
nonce="fo-attack-$$-$RANDOM"
pcache=$(policy_variant cache default '.rules += [{"id": "'"$nonce"'", "syscalls": ["getpid"], "action": "allow"}]')
cachedir=/var/cache/forgeone/filters
before=$(ls "$cachedir" 2>/dev/null | sort)
run_local "$pcache" "$W/cache-first" -- cat /etc/hostname
entry=$(comm -13 <(echo "$before") <(ls "$cachedir" 2>/dev/null | sort) | head -1)
if [ -z "$entry" ]; then
        skip_test "filter cache" "the first run left no new entry in $cachedir"
else
        entry=$cachedir/$entry
        cache_entries+=("$entry")
        sum0=$(sha256sum <"$entry")
        run_local "$notrust" "$W/forge" -- "$attack" forge-cache "$entry" "$LOCAL_ATTEMPTS"
        results "local default.json (trust penalty 0):" "$W/forge"
        if [ "$(sha256sum <"$entry")" != "$sum0" ]; then
                not_ok "local: the workload changed the filter cache entry of another policy" "$entry"
        else
                ok "local: the filter cache entry is unchanged"
        fi
        run_local "$pcache" "$W/cache-later" -- cat "$S/secret"
        if grep -q "$CANARY" "$W/cache-later"; then
                not_ok "local: a later run of the policy starts with the workload's filter (it read the secret)"
        else
                ok "local: a later run of the policy denies the secret ($(tail -1 "$W/cache-later.err"))"
        fi
fi

# --- fds the caller has open: the host root, a file for appending outside the writable areas, a directory
echo "before" >"$P/appendfile"
(exec 9</ 8>>"$P/appendfile" 7<"$P/dir"; run_local "$default" "$W/fds-local" -- "$attack" fds local 9 8 7)
results "local default.json, the caller's fds 7-9:" "$W/fds-local"
if grep -q FOLEAK "$P/appendfile"; then not_ok "local: nothing was written into the caller's file"
else ok "local: nothing was written into the caller's file"; fi

if image_build; then
        run_container "$default" "$W/alias-ct" -- /bin/attack aliases /etc shadow "$CANARY"
        results "container default.json, /etc/shadow:" "$W/alias-ct"
        run_container "$default" "$W/alias-ct-root" -- /bin/attack aliases /root secret "$CANARY"
        results "container default.json, /root/secret:" "$W/alias-ct-root"
        run_container "$default" "$W/opens-ct" -- /bin/attack opens ct \
                /proc/thread-self/mem /proc/self/task/@TID@/mem /proc/1/task/1/mem /proc/1/mem \
                /proc/self/root/proc/kcore /proc/kmsg /dev/kmsg /dev/mem /proc/kcore /proc/kallsyms \
                /sys/kernel/tracing/trace /sys/kernel/security/lsm
        results "container default.json:" "$W/opens-ct"
        (exec 9</ 8>>"$P/appendfile" 7<"$P/dir"; run_container "$default" "$W/fds-ct" -- /bin/attack fds container 9 8 7)
        results "container default.json, the caller's fds 7-9:" "$W/fds-ct"
        if grep -q FOLEAK "$P/appendfile"; then not_ok "container: nothing was written into the host file"
        else ok "container: nothing was written into the host file"; fi
        skip_test "container: the filter cache" "it lies outside every container's root"
else
        skip_test "container mode" "needs umoci and busybox"
fi

finish
