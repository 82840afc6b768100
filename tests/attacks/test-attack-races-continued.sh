#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 7, class 3b: calls the supervisor checks and then lets the kernel perform (CONTINUE): O_PATH opens
# under default.json, exec under a policy that allows programs by path, chdir under one that allows it by
# path. The name the supervisor
# resolved is changed before the kernel resolves it again, by a task that shares no memory with the
# caller: a CLONE_FS sibling or another process changing its cwd (relative names, /proc/self/cwd,
# /proc/PID/cwd), a CLONE_FILES sibling or another process dup2()ing a directory (/proc/self/fd/N/...,
# /proc/PID/fd/N/..., openat/execveat with a dirfd, execveat AT_EMPTY_PATH), another process swapping a
# directory for a symlink (RENAME_EXCHANGE in scratch space), and a sibling thread that rewrites the
# path while the supervisor sees it blocked in clone(CLONE_VFORK) without CLONE_VM. An escape is an
# O_PATH fd of the secret's inode, or the forbidden program running (its exit status 42). In --local and
# container mode; at least 100,000 attempts per race in total. The trust penalty is 0 (see
# test-attack-races-fd.sh). TAP.
source "$(dirname "$0")/attack-lib.sh"
echo "# every race: $LOCAL_ATTEMPTS attempts in --local and $CONTAINER_ATTEMPTS in a container ($((LOCAL_ATTEMPTS + CONTAINER_ATTEMPTS)) in all)"

notrust=$(policy_variant notrust default '.trust.deny_penalty = 0')
# chdir decided by path: only into scratch space and the workspace (every shipped policy decides chdir in
# the kernel, with no path rule; a policy that has one gets a continued call).
chdirpol=$(policy_variant chdir default '.trust.deny_penalty = 0
        | (.rules[] | select(.id == "runtime") | .syscalls) -= ["chdir"]
        | .rules += [{"id": "chdir-scratch", "syscalls": ["chdir"], "resources": ["scratch", "workspace"], "action": "allow"}]')

# exec only of the attacker itself and of what lies under ALLOWED (an empty directory: an exec there
# fails with ENOENT unless the name was switched).
exec_policy() { # NAME ALLOWED_DIR ATTACKER
        policy_variant "$1" default '.trust.deny_penalty = 0
                | .resources.programs = {"type": "path", "paths": ["'"$2"'/**", "'"$3"'", "/bin/sh", "/bin/busybox"],
                                          "access": ["exec", "read", "stat"]}
                | (.rules[] | select(.id == "exec")) += {"resource": "programs"}'
}

# races PREFIX RUNNER SECRET_DIR SECRET_NAME A EXEC_ALLOWED FORBIDDEN_DIR (RUNNER knows the attempts)
races() {
        local prefix=$1 runner=$2 sdir=$3 sname=$4 a=$5 xa=$6 fdir=$7 out
        local -a specs=(
                # id op name dir_a dir_b prot flip
                "opath-relative-cwd-fs opath $sname $a $sdir $sdir/$sname cwd-fs"
                "opath-proc-self-cwd-fs opath /proc/self/cwd/$sname $a $sdir $sdir/$sname cwd-fs"
                "opath-proc-pid-cwd opath /proc/@PID@/cwd/$sname $a $sdir $sdir/$sname cwd-proc"
                "opath-proc-self-fd-files opath /proc/self/fd/200/shadow $a /etc /etc/shadow fd-files"
                "opath-proc-pid-fd opath /proc/@PID@/fd/200/shadow $a /etc /etc/shadow fd-proc"
                "opath-dirfd-files opath shadow $a /etc /etc/shadow fd-files"
                "opath-symlink-swap opath $a/sw/$sname $a/sw $a/sw2=$sdir $sdir/$sname swap"
                "opath-vfork opath - $a/$sname $sdir/$sname $sdir/$sname vfork"
                "chdir-proc-self-fd-last chdir /proc/self/fd/200 $a /etc /etc fd-files"
                "chdir-proc-pid-fd-last chdir /proc/@PID@/fd/200 $a /etc /etc fd-proc"
                "chdir-proc-pid-cwd chdir /proc/@PID@/cwd $a /etc /etc cwd-proc"
                "exec-relative-cwd-fs exec prog $xa $fdir $fdir/prog cwd-fs"
                "exec-proc-self-cwd-fs exec /proc/self/cwd/prog $xa $fdir $fdir/prog cwd-fs"
                "exec-proc-pid-cwd exec /proc/@PID@/cwd/prog $xa $fdir $fdir/prog cwd-proc"
                "exec-proc-self-fd-files exec /proc/self/fd/200/prog $xa $fdir $fdir/prog fd-files"
                "exec-proc-pid-fd exec /proc/@PID@/fd/200/prog $xa $fdir $fdir/prog fd-proc"
                "execveat-dirfd-files exec prog $xa $fdir $fdir/prog fd-files"
                "exec-symlink-swap exec $xa/sw/prog $xa/sw $xa/sw2=$fdir $fdir/prog swap"
                "exec-vfork exec - $xa/prog $fdir/prog $fdir/prog vfork"
                "execveat-empty-path execveat-empty - $xa/data $fdir/prog $fdir/prog fd-files"
                "exec-proc-self-fd-last exec /proc/self/fd/200 $xa/data $fdir/prog $fdir/prog fd-files"
                "exec-proc-pid-fd-last exec /proc/@PID@/fd/200 $xa/data $fdir/prog $fdir/prog fd-proc"
        )
        local s
        for s in "${specs[@]}"; do
                set -- $s
                out=$W/$prefix-$1
                $runner "$2" "$out" "$@"
                results "$prefix:" "$out"
        done
}

# --- run --local: the secret is $S/secret; exec allowed under $W/x, forbidden is $P/prog
mkdir -p "$W/a" "$W/x"
echo "not a program" >"$W/x/data"
xpol=$(exec_policy exec-local "$W/x" "$attack")
local_runner() { # OP OUT ID OP NAME A B PROT FLIP
        local op=$1 out=$2; shift 2
        local pol=$xpol
        [ "$op" = opath ] && pol=$notrust
        [ "$op" = chdir ] && pol=$chdirpol
        run_local "$pol" "$out" -- "$attack" race-cont "$1" "$2" "$LOCAL_ATTEMPTS" "$3" "$4" "$5" "$6" "$7"
}
RACE_MIN=$LOCAL_ATTEMPTS races local local_runner "$S" secret "$W/a" "$W/x" "$P"

# --- containers: the secret is /root/secret, exec allowed under /srv/app/bin, forbidden /opt/forbidden
if image_build; then
        cxpol=$(exec_policy exec-container /srv/app/bin /bin/attack)
        container_runner() {
                local op=$1 out=$2; shift 2
                local pol=$cxpol
                [ "$op" = opath ] && pol=$notrust
                [ "$op" = chdir ] && pol=$chdirpol
                run_container "$pol" "$out" -- /bin/attack race-cont "$1" "$2" "$CONTAINER_ATTEMPTS" "$3" "$4" "$5" "$6" "$7"
        }
        RACE_MIN=$CONTAINER_ATTEMPTS races container container_runner /root secret /tmp/a /srv/app/bin /opt/forbidden
else
        skip_test "container mode" "needs umoci and busybox"
fi

finish
