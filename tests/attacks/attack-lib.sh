# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Shared by the issue 7 attack suites (sourced, bash). Sets up what every suite needs and cleans it up
# however the suite ends:
#   $W  scratch work directory (/tmp/fo-attack-*), where the workloads may write
#   $P  protected decoys outside every writable area of the shipped policies (/var/lib/fo-attacks.*):
#       passwd (0644), prog (a copy of the attacker), dir/, a unix datagram socket when a suite binds one
#   $S  a secret directory under /root (the policies' "/root/**" secret), S/secret holds $CANARY
#   $IMG a busybox image with the attacker in it (image_build), its secrets holding $CANARY too
# TAP: ok / not_ok / results FILE (RESULT and RACE lines of the attacker become test lines).

set -u

src=${FORGEONE_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
build=${FORGEONE_BUILD_ROOT:-$src/build}
ctl=${FORGEONECTL:-$build/src/cli/forgeonectl}
attack=$build/tests/attack
# Attempts per race and mode; the suites run each race in --local and container mode, so the total per
# race is at least 100,000 with the defaults.
LOCAL_ATTEMPTS=${FORGEONE_ATTACK_LOCAL_ATTEMPTS:-60000}
CONTAINER_ATTEMPTS=${FORGEONE_ATTACK_CONTAINER_ATTEMPTS:-40000}

if [ "$(id -u)" != 0 ]; then
        echo "1..0 # SKIP needs root (the supervisor acts for another process; the attacks need a root workload)"
        exit 77
fi
for f in "$ctl" "$attack"; do
        [ -x "$f" ] || { echo "1..0 # SKIP $f is not built"; exit 77; }
done
command -v jq >/dev/null || { echo "1..0 # SKIP needs jq"; exit 77; }

W=$(mktemp -d /tmp/fo-attack-XXXXXX)
P=$(mktemp -d /var/lib/fo-attacks.XXXXXX)
S=$(mktemp -d /root/fo-attacks.XXXXXX)
chmod 0755 "$P"
CANARY="FOCANARY-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
echo "$CANARY" >"$S/secret"
echo "decoy passwd of the attack suite" >"$P/passwd"
chmod 0644 "$P/passwd"
"$attack" setxattr "$P/passwd" user.fo_keep 1
mkdir -p "$P/dir"
echo "decoy in a protected directory" >"$P/dir/passwd"
cp "$attack" "$P/prog"
export FORGEONE_STATE_DIR=$W/state
IMG=

started_pids=()   # processes this suite started: killed by pid at the end
loops=()          # loop device indices this suite created
cache_entries=()  # filter cache entries this suite created
our_cgroups=()    # run-PID cgroups of forgeonectl processes this suite killed on purpose
created_srv=      # set when a suite made /srv/app (web-service.json runs programs from /srv/app/bin only)

cleanup() {
        local pid l c
        for pid in "${started_pids[@]}"; do
                kill -CONT "$pid" 2>/dev/null
                kill -KILL "$pid" 2>/dev/null
        done
        wait 2>/dev/null
        for l in "${loops[@]}"; do
                losetup -d "/dev/loop$l" 2>/dev/null
                "$attack" loopctl remove "$l" 2>/dev/null
        done
        for c in "${cache_entries[@]}"; do rm -f "$c"; done
        # A forgeonectl killed by a test (or by its workload) leaves its run-PID cgroup behind.
        for pid in "${started_pids[@]}"; do our_cgroups+=("run-$pid"); done
        for c in "${our_cgroups[@]}"; do
                for d in /sys/fs/cgroup/unified/forgeone/$c /sys/fs/cgroup/forgeone/$c; do
                        [ -d "$d" ] || continue
                        for pid in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
                        rmdir "$d" 2>/dev/null
                done
        done
        "$ctl" ps >/dev/null 2>&1
        for m in $(grep -o " $W/[^ ]*" /proc/self/mountinfo | sort -r); do umount -l "$m"; done 2>/dev/null
        [ -n "${created_srv:-}" ] && rm -rf /srv/app
        chattr -R -ia "$P" "$W" 2>/dev/null
        rm -rf "$W" "$P" "$S"
}
trap cleanup EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
        n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift
        local l; for l in "$@"; do echo "# $l"; done
}
skip_test() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
finish() { echo "1..$n"; [ "$failed" = 0 ]; exit $?; }

# results PREFIX FILE: one test per RESULT/RACE line. A race passes with zero escapes over at least the
# attempts asked for (RACE_MIN, default 1).
results() {
        local prefix=$1 file=$2 kind id verdict rest a e
        while read -r kind id verdict rest; do
                case "$kind" in
                RESULT)
                        case "$verdict" in
                        held) ok "$prefix $id: held ($rest)" ;;
                        skip) skip_test "$prefix $id" "$rest" ;;
                        *) not_ok "$prefix $id: $verdict" "$rest" ;;
                        esac ;;
                RACE)
                        a=${verdict#attempts=}; e=${rest%% *}; e=${e#escapes=}
                        if [ "$e" = 0 ] && [ "$a" -ge "${RACE_MIN:-1}" ]; then
                                ok "$prefix race $id: $a attempts, 0 escapes"
                        else
                                not_ok "$prefix race $id: $a attempts, $e escapes" "${rest#* }"
                        fi ;;
                esac
        done < <(grep -E '^(RESULT|RACE) ' "$file")
}

# A copy of a shipped policy through a jq filter, in $W.
policy_variant() { # NAME SHIPPED JQ_FILTER -> prints the path
        local out=$W/policy-$1.json
        jq "$3" "$src/policies/$2.json" >"$out" || return 1
        echo "$out"
}

# run_local POLICY OUT -- CMD...: forgeonectl run --local; stdout to OUT, stderr to OUT.err; returns rc.
run_local() {
        local policy=$1 out=$2; shift 3
        "$ctl" run --local --quiet --policy "$policy" -- "$@" >"$out" 2>"$out.err"
}

# run_container POLICY OUT [RUN OPTIONS] -- CMD...
run_container() {
        local policy=$1 out=$2; shift 2
        local opts=()
        while [ "$1" != -- ]; do opts+=("$1"); shift; done
        shift
        "$ctl" run --local --quiet --image "$IMG" --policy "$policy" "${opts[@]}" -- "$@" >"$out" 2>"$out.err"
}

# image_build: busybox, the attacker as /bin/attack and /opt/forbidden/prog, secrets with the canary, a
# decoy /etc/decoy, an empty allowed program directory /srv/app/bin.
image_build() {
        command -v umoci >/dev/null && command -v busybox >/dev/null || return 77
        local r=$W/bundle/rootfs
        (cd "$W" && umoci init --layout img >/dev/null && umoci new --image img:latest >/dev/null &&
                umoci unpack --image img:latest bundle >/dev/null 2>&1) || return 1
        mkdir -p "$r"/{bin,etc,tmp,var/tmp,root,opt/forbidden,srv/app/bin,etc/ssl/private,home/u,dev,proc,sys,run}
        chmod 1777 "$r/tmp" "$r/var/tmp"
        cp "$(command -v busybox)" "$r/bin/busybox"
        for a in sh echo sleep cat ls stat ln mkdir; do ln -sf busybox "$r/bin/$a"; done
        cp "$attack" "$r/bin/attack"
        cp "$attack" "$r/opt/forbidden/prog"
        echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
        echo "root:$CANARY:19000:0:99999:7:::" >"$r/etc/shadow"
        chmod 0640 "$r/etc/shadow"
        echo "$CANARY" >"$r/root/secret"
        echo "decoy of the attack suite" >"$r/etc/decoy"
        chmod 0644 "$r/etc/decoy"
        "$attack" setxattr "$r/etc/decoy" user.fo_keep 1
        mkdir -p "$r/etc/protdir" && echo "decoy in a protected directory" >"$r/etc/protdir/passwd"
        # Race fixtures: allowed objects in scratch space.
        echo ok >"$r/tmp/ok" && chmod 0644 "$r/tmp/ok"
        mkdir -p "$r/tmp/d" "$r/tmp/a" && echo ok >"$r/tmp/d/passwd"
        echo "not a program" >"$r/srv/app/bin/data"
        chmod 0644 "$r/srv/app/bin/data"
        (cd "$W" && umoci repack --image img:latest bundle >/dev/null &&
                umoci config --image img:latest --config.env PATH=/bin >/dev/null) || return 1
        rm -rf "$W/bundle"
        # Images run only when they verify against the trust anchor: one of this suite's own, in software
        # mode (a TCTI device that does not exist, so a host TPM cannot change the outcome), and the image
        # signed with its key.
        command -v openssl >/dev/null || return 77
        (cd "$W" && openssl ecparam -name prime256v1 -genkey -noout -out anchor-key.pem 2>/dev/null &&
                openssl pkey -in anchor-key.pem -pubout -out anchor-key.pub &&
                jq -n --rawfile k anchor-key.pub \
                        '{format: 1, id: "attacks", keys: [{id: "attacks", algorithm: "ecdsa-p256", public_key: $k}]}' \
                        >anchor.json &&
                jq -n --arg d "$W" '{anchor: "\($d)/anchor.json", tcti: "device:\($d)/no-tpm", state_dir: "\($d)/trust"}' \
                        >trust.json) || return 1
        export FORGEONE_TRUST_CONFIG=$W/trust.json
        "$ctl" image sign --key "$W/anchor-key.pem" "$W/img:latest" >/dev/null || return 1
        IMG=$W/img:latest
}

# wait_line FILE PATTERN SECONDS: until a line matching PATTERN is in FILE (synchronisation, not a
# measurement: a test never passes or fails on how long this takes, only on what it finds).
wait_line() {
        local i
        for ((i = 0; i < $3 * 10; i++)); do
                grep -qE "$2" "$1" 2>/dev/null && return 0
                sleep 0.1
        done
        return 1
}

# pid of a container by name, from its record.
container_pid() {
        local i p
        for ((i = 0; i < 100; i++)); do
                p=$("$ctl" inspect --json "$1" 2>/dev/null | jq -r '.pid // empty' 2>/dev/null)
                [ -n "$p" ] && [ "$p" != null ] && [ -d "/proc/$p" ] && { echo "$p"; return 0; }
                sleep 0.1
        done
        return 1
}
