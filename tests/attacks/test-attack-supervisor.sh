#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 7, class 2: the workload reaches its supervisor. From a workload under policies/default.json,
# every signal, limit, priority, affinity, scheduling, I/O priority, ptrace-like and /proc memory call,
# aimed at its own supervisor, another workload's supervisor and an unrelated host process (a sleep the
# test starts), in run --local and in a container. Each change is checked where the kernel shows it
# (/proc/PID/{stat,status,limits,sched}, chrt, ionice) and undone. Then the workload kills its own
# supervisor and, from a process it started, tries what the policy denies. TAP.
source "$(dirname "$0")/attack-lib.sh"

default=$src/policies/default.json
envcanary="FOENV-$CANARY"

# The victims: another workload's supervisor (a forgeonectl running sleep) and a plain host process.
FO_ENV_CANARY=$envcanary "$ctl" run --local --quiet --policy "$default" -- sleep 600 >/dev/null 2>&1 &
other_sup=$!
started_pids+=("$other_sup")
FO_ENV_CANARY=$envcanary sleep 600 &
host_sleep=$!
started_pids+=("$host_sleep")
wait_line /proc/$other_sup/status '^Threads:[[:space:]]+[3-9]' 10

state_of() { awk '{print $3}' "/proc/$1/stat" 2>/dev/null; }
nice_of() { awk '{print $19}' "/proc/$1/stat" 2>/dev/null; }
cpus_of() { awk '/^Cpus_allowed_list/ {print $2}' "/proc/$1/status" 2>/dev/null; }
nofile_of() { awk '/^Max open files/ {print $4 "/" $5}' "/proc/$1/limits" 2>/dev/null; }
policy_of() { chrt -p "$1" 2>/dev/null | sed -n 's/.*scheduling policy: //p'; }
ioprio_of() { ionice -p "$1" 2>/dev/null; }

all_cpus="0-$(($(nproc) - 1))"
[ "$all_cpus" = 0-0 ] && all_cpus=0

# check_reach LABEL TARGET_PID OUT: the CALL lines of a reach run, each judged by its effect, then undone.
check_reach() {
        local label=$1 pid=$2 out=$3 id rc
        local nofile0=$4 nice0=$5 cpus0=$6 pol0=$7 io0=$8
        while read -r _ id rc _; do
                case "$id" in
                sched_setscheduler | sched_setattr)
                        if [ "$(policy_of "$pid")" != "$pol0" ]; then
                                not_ok "$label: $id changed its scheduling policy" "$(policy_of "$pid")"
                                chrt -o -p 0 "$pid" >/dev/null 2>&1
                        else ok "$label: $id held ($rc)"; fi ;;
                ioprio_set)
                        if [ "$(ioprio_of "$pid")" != "$io0" ]; then
                                not_ok "$label: ioprio_set changed its I/O class" "$(ioprio_of "$pid")"
                                ionice -c 0 -p "$pid" 2>/dev/null
                        else ok "$label: ioprio_set held ($rc)"; fi ;;
                setpriority)
                        if [ "$(nice_of "$pid")" != "$nice0" ]; then
                                not_ok "$label: setpriority reniced it" "nice $nice0 -> $(nice_of "$pid")"
                                renice -n "$nice0" -p "$pid" >/dev/null 2>&1
                        else ok "$label: setpriority held ($rc)"; fi ;;
                sched_setaffinity)
                        if [ "$(cpus_of "$pid")" != "$cpus0" ]; then
                                not_ok "$label: sched_setaffinity pinned it" "CPUs $cpus0 -> $(cpus_of "$pid")"
                                taskset -pc "$cpus0" "$pid" >/dev/null 2>&1
                        else ok "$label: sched_setaffinity held ($rc)"; fi ;;
                prlimit64)
                        if [ "$(nofile_of "$pid")" != "$nofile0" ]; then
                                not_ok "$label: prlimit64 changed its limits" "RLIMIT_NOFILE $nofile0 -> $(nofile_of "$pid")"
                                prlimit --pid "$pid" --nofile="${nofile0%/*}:${nofile0#*/}" 2>/dev/null
                        else ok "$label: prlimit64 held ($rc)"; fi ;;
                esac
        done < <(grep '^CALL ' "$out")
}

# reach MODE LABEL TARGET_PID: runs the workload's reach, judges while the target still runs.
reach() {
        local mode=$1 label=$2 pid=$3 arg=$3 out=$W/reach-$1-$2 sync=$W/sync-reach-$1-$2 wpid
        local nofile0 nice0 cpus0 pol0 io0
        [ "$label" = own-supervisor ] && arg=ppid
        rm -f "$sync"
        if [ "$mode" = local ]; then
                FO_ENV_CANARY=$envcanary "$ctl" run --local --quiet --policy "$default" -- \
                        "$attack" reach "$label" "$arg" "$envcanary" "$sync" >"$out" 2>"$out.err" &
        else
                "$ctl" run --local --quiet --image "$IMG" --policy "$default" -- \
                        /bin/attack reach "$label" "$arg" "$envcanary" /tmp/sync >"$out" 2>"$out.err" &
        fi
        wpid=$!
        started_pids+=("$wpid")
        [ "$label" = own-supervisor ] && pid=$wpid
        nofile0=$(nofile_of "$pid"); nice0=$(nice_of "$pid"); cpus0=$(cpus_of "$pid")
        pol0=$(policy_of "$pid"); io0=$(ioprio_of "$pid")
        if ! wait_line "$out" '^REACHED' 60; then
                not_ok "$mode $label: the reach run finished" "$(tail -5 "$out.err")"
        fi
        results "$mode $label:" "$out"
        check_reach "$mode $label" "$pid" "$out" "$nofile0" "$nice0" "$cpus0" "$pol0" "$io0"
        if [ "$mode" = local ]; then touch "$sync"; else
                local p
                for p in $(pgrep -f "/bin/attack reach $label" 2>/dev/null); do
                        [ -d "/proc/$p/root/tmp" ] && touch "/proc/$p/root/tmp/sync" 2>/dev/null
                done
        fi
        wait "$wpid" 2>/dev/null
}

# signal MODE LABEL TARGET_PID CALL: SIGSTOP with CALL; stopped = escaped; the target is continued.
signal_one() {
        local mode=$1 label=$2 pid=$3 call=$4 arg=$3 out=$W/sig-$1-$2-$4 sync=$W/sync-sig-$1-$2-$4 wpid st
        [ "$label" = own-supervisor ] && arg=ppid
        rm -f "$sync"
        if [ "$mode" = local ]; then
                "$ctl" run --local --quiet --policy "$default" -- "$attack" signal "$call" "$arg" "$sync" \
                        >"$out" 2>"$out.err" &
        else
                "$ctl" run --local --quiet --image "$IMG" --policy "$default" -- \
                        /bin/attack signal "$call" "$arg" /tmp/sync >"$out" 2>"$out.err" &
        fi
        wpid=$!
        started_pids+=("$wpid")
        [ "$label" = own-supervisor ] && pid=$wpid
        if ! wait_line "$out" '^CALL' 30; then
                not_ok "$mode $label: $call run finished" "$(tail -3 "$out.err")"
                return
        fi
        st=
        for _ in $(seq 50); do
                st=$(state_of "$pid")
                [ "$st" = T ] && break
                grep -q 'rc=-1' "$out" && break
                sleep 0.1
        done
        if [ "$st" = T ]; then
                not_ok "$mode $label: $call stopped it" "$(grep '^CALL' "$out")"
                kill -CONT "$pid"
        else
                ok "$mode $label: $call held ($(grep '^CALL' "$out" | cut -d' ' -f3-4))"
        fi
        if [ "$mode" = local ]; then touch "$sync"; else
                local p
                for p in $(pgrep -f "/bin/attack signal $call" 2>/dev/null); do
                        [ -d "/proc/$p/root/tmp" ] && touch "/proc/$p/root/tmp/sync" 2>/dev/null
                done
        fi
        wait "$wpid" 2>/dev/null
}

calls="kill tkill tgkill rt_sigqueueinfo rt_tgsigqueueinfo pidfd_send_signal"

modes=local
if image_build; then modes="local container"; else skip_test "container mode" "needs umoci and busybox"; fi

for mode in $modes; do
        for target in own-supervisor:0 other-supervisor:$other_sup host-process:$host_sleep; do
                label=${target%%:*}; pid=${target#*:}
                # Inside a container the supervisor is outside the pid namespace: its host pid names
                # nothing or something else there, so the own-supervisor case is aimed at the host pid of
                # the other supervisor instead of a ppid of 0.
                if [ "$mode" = container ] && [ "$label" = own-supervisor ]; then continue; fi
                for call in $calls; do signal_one "$mode" "$label" "$pid" "$call"; done
                reach "$mode" "$label" "$pid"
        done
done
skip_test "the daemon as a target" "there is no forgeoned yet: run --local and containers are supervised by forgeonectl"

# --- SysV IPC objects of host processes, by id: a root workload passes their permission checks.
if command -v ipcmk >/dev/null && command -v ipcrm >/dev/null; then
        shmid=$(ipcmk -M 4096 2>/dev/null | awk '{print $NF}')
        msqid=$(ipcmk -Q 2>/dev/null | awk '{print $NF}')
        if [ -n "$shmid" ] && [ -n "$msqid" ]; then
                run_local "$default" "$W/sysv" -- "$attack" sysv "$shmid" "$msqid"
                results "local:" "$W/sysv"
        else
                skip_test "local: SysV IPC" "ipcmk could not create a segment and a queue"
        fi
        [ -n "$shmid" ] && ipcrm -m "$shmid" 2>/dev/null
        [ -n "$msqid" ] && ipcrm -q "$msqid" 2>/dev/null
else
        skip_test "local: SysV IPC" "needs ipcmk and ipcrm"
fi

# --- cgroup.procs: leave the workload's cgroup, or pull the other supervisor into ours.
cg_root=/sys/fs/cgroup/unified
[ -d "$cg_root" ] || cg_root=/sys/fs/cgroup
run_local "$default" "$W/cgroup" -- "$attack" cgroup "$cg_root/cgroup.procs" \
        "$cg_root/forgeone/run-$other_sup/cgroup.procs"
results "local:" "$W/cgroup"

# --- the workload tries to kill its own supervisor, then the supervisor dies anyway (the harness kills it):
# what can the workload do then? Everything of it must go with the supervisor (--local: init dies with
# forgeonectl, and the pid namespace with init; a container's init likewise), and whatever runs until
# then must be unable to do what the policy denies (trapped calls fail with ENOSYS; a listener of its own
# is refused in the kernel whatever the high bits).
# descendants PID: every process below PID, by /proc/*/stat's parent field.
descendants() {
        local p=$1 c
        for c in $(awk -v p="$p" '{ if ($4 == p) print $1 }' /proc/[0-9]*/stat 2>/dev/null); do
                echo "$c"
                descendants "$c"
        done
}
after_death() { # MODE OUT
        local mode=$1 out=$2 sup procs p alive i
        if [ "$mode" = local ]; then
                FO_ENV_CANARY=$envcanary "$ctl" run --local --quiet --policy "$default" -- \
                        "$attack" after-death "$S/secret" >"$out" 2>"$out.err" &
        else
                "$ctl" run --local --quiet --image "$IMG" --policy "$default" -- \
                        /bin/attack after-death /root/secret >"$out" 2>"$out.err" &
        fi
        sup=$!
        started_pids+=("$sup")
        our_cgroups+=("run-$sup")
        if ! wait_line "$out" '^READY' 60 || ! wait_line "$out" '^ALIVE' 10; then
                not_ok "$mode: the after-death workload started" "$(tail -3 "$out.err")"
                return
        fi
        if kill -0 "$sup" 2>/dev/null; then
                ok "$mode: the workload could not kill its supervisor ($(grep '^CALL' "$out" | cut -d' ' -f3-4))"
        else
                not_ok "$mode: the workload killed its supervisor" "$(grep '^CALL' "$out")"
        fi
        procs=$(descendants "$sup")
        kill -KILL "$sup"
        wait "$sup" 2>/dev/null
        alive=
        for ((i = 0; i < 100; i++)); do
                alive=
                for p in $procs; do [ -d "/proc/$p" ] && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null && alive="$alive $p"; done
                [ -z "$alive" ] && break
                sleep 0.1
        done
        if [ -z "$alive" ] && [ -n "$procs" ]; then
                ok "$mode: every process of the workload ($(echo $procs | wc -w)) ended with its supervisor"
        else
                not_ok "$mode: every process of the workload ended with its supervisor" "still there:$alive"
                for p in $alive; do kill -KILL "$p" 2>/dev/null; done
        fi
        results "$mode after its supervisor died:" "$out"
        if grep -q "after-death" "$out"; then :; else ok "$mode: nothing the policy denies got through before or after"; fi
}
after_death local "$W/death"
if [ -n "$IMG" ]; then after_death container "$W/death-ct"; fi

finish
