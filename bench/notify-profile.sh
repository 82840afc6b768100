#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# notify-profile: how many syscalls the supervising thread makes per notification, by class, for the
# workloads of bench-workloads (or any command) run through `forgeonectl run --local` under strace.
# Counts do not depend on the machine's load, unlike times: this is what to compare before and after a
# change of the hot path. Needs root and strace.
#
#   bench/notify-profile.sh [--forgeonectl PATH] [--policy FILE] [--trace FILE] [--top N]
#                           (cat | make | -- COMMAND...)
#
# A notification is everything the thread that received it does from its NOTIF_RECV to its next one
# (the RECV counted). Its class is the trapped syscall, what was done (fd: ADDFD, continue, error,
# value) and, for calls with a path, the kind of path ("via-symlink" when the walk read a link). For
# each class: notifications, syscalls per notification (mean, min, max) and the commonest sequence.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
ctl=${FORGEONE_BUILD_ROOT:-$src/build}/src/cli/forgeonectl
policy=$src/policies/default.json
trace=
top=3
while [ $# -gt 0 ]; do
        case $1 in
        --forgeonectl) ctl=$2; shift 2 ;;
        --policy) policy=$2; shift 2 ;;
        --trace) trace=$2; shift 2 ;;
        --top) top=$2; shift 2 ;;
        --) shift; break ;;
        cat | make) break ;;
        *) echo "notify-profile: unknown argument $1" >&2; exit 2 ;;
        esac
done
if [ "$(id -u)" != 0 ]; then
        echo "notify-profile: needs root (forgeonectl run --local)" >&2
        exit 77
fi
command -v strace >/dev/null || { echo "notify-profile: needs strace" >&2; exit 77; }
[ $# -gt 0 ] || { echo "notify-profile: what to run: cat, make or -- COMMAND" >&2; exit 2; }

dir=$(mktemp -d /tmp/fo-notify-profile-XXXXXX)
trap 'rm -rf "$dir"' EXIT
chmod 755 "$dir"
case $1 in
cat)
        # As bench-workloads: 3,000 small headers, find | xargs cat.
        mkdir "$dir/files"
        for i in $(seq 0 2999); do
                printf '/* header %d */\n#pragma once\n#define VALUE_%d 1\n' "$i" "$i" >"$dir/files/h$i.h"
        done
        set -- /bin/sh -c "find '$dir/files' -type f -name '*.h' | xargs cat >/dev/null"
        ;;
make)
        # As bench-workloads: 16 sources and a main with system headers, a generated header, a link.
        mkdir "$dir/proj"
        for i in $(seq 0 15); do
                printf '#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include "gen.h"\nint f%d(int x);\nint f%d(int x) { char b[32]; snprintf(b, sizeof b, "%%d", x); return (int) strlen(b) + GEN_BASE + %d; }\n' \
                        "$i" "$i" "$i" >"$dir/proj/s$(printf %02d "$i").c"
        done
        {
                echo '#include <stdio.h>'
                for i in $(seq 0 15); do echo "int f$i(int x);"; done
                echo 'int main(void) { int s = 0;'
                for i in $(seq 0 15); do echo "s += f$i($i);"; done
                echo 'printf("%d\n", s); return 0; }'
        } >"$dir/proj/main.c"
        printf 'SRCS := $(wildcard s*.c) main.c\nOBJS := $(SRCS:.c=.o)\nprog: $(OBJS)\n\tgcc -o $@ $(OBJS)\n\t./prog >/dev/null\n%%.o: %%.c gen.h\n\tgcc -O1 -c -o $@ $<\ngen.h:\n\techo '"'"'#define GEN_BASE 7'"'"' > $@\n' \
                >"$dir/proj/Makefile"
        set -- make -s -j2 -C "$dir/proj"
        ;;
esac

out=${trace:-$dir/trace}
strace -f -qq -s 256 -o "$out" "$ctl" run --local --quiet --policy "$policy" -- "$@" >/dev/null

# Pass 1: one line per notification: class, outcome, the first path read from the target, syscalls, sequence.
awk '
function finish(t) {
        if (!(t in cnt))
                return;
        printf "%s\t%s\t%s\t%d\t%s\n", cls[t], outcome[t], path[t], cnt[t], seq[t];
        delete cnt[t];
}
function start(t, l) {
        if (match(l, /nr=__NR_[a-z0-9_]+/)) {
                cls[t] = substr(l, RSTART + 8, RLENGTH - 8);
                cnt[t] = 1; seq[t] = "RECV"; outcome[t] = "-"; path[t] = "";
        }
}
function data(t, l,    p) {
        # The string a process_vm_readv brought: the path (up to its NUL).
        if (path[t] == "" && match(l, /iov_base="[^"\\]*/)) {
                p = substr(l, RSTART + 10, RLENGTH - 10);
                path[t] = p == "" ? "-" : p;
        }
}
{
        t = $1;
        line = $0;
        sub(/^[0-9]+ +/, "", line);
        if (line ~ /^(\+\+\+|---)/)
                next;
        if (line ~ /^<\.\.\. [a-z0-9_]+ resumed>/) {
                if (pending[t] == "recv")
                        start(t, line);
                else if (pending[t] == "process_vm_readv")
                        data(t, line);
                pending[t] = "";
                next;
        }
        name = line;
        sub(/\(.*/, "", name);
        unfinished = line ~ /<unfinished \.\.\.>$/;
        if (name == "ioctl" && line ~ /SECCOMP_IOCTL_NOTIF_RECV/) {
                finish(t);
                if (unfinished)
                        pending[t] = "recv";
                else
                        start(t, line);
                next;
        }
        if (!(t in cnt))
                next;
        cnt[t]++;
        if (name == "process_vm_readv") {
                if (unfinished)
                        pending[t] = name;
                else
                        data(t, line);
        }
        if (name == "ioctl" && match(line, /SECCOMP_IOCTL_NOTIF_[A-Z_]+/))
                name = substr(line, RSTART + 20, RLENGTH - 20);
        if (name == "ADDFD")
                outcome[t] = "fd";
        else if (name == "SEND" && outcome[t] != "fd")
                outcome[t] = line ~ /CONTINUE/ ? "continue" : line ~ /error=0,/ ? "value" : "error";
        if (name == "openat" && line ~ /O_PATH\|O_DIRECTORY/)
                name = "openat(dir)";
        else if (name == "readlink" && line ~ /"\/proc\/self\/fd\//)
                name = "readlink(fd)";
        else if (name == "readlink" && line ~ /"\/proc\/[0-9]+\/cwd"/)
                name = "readlink(cwd)";
        seq[t] = seq[t] " " name;
}
END {
        for (t in cnt)
                finish(t);
}' "$out" >"$dir/notifs"

# Which absolute paths cross a symbolic link (on this machine, where the workload ran): the kind of path,
# independent of how the supervisor resolves it.
cut -f3 "$dir/notifs" | grep '^/' | sort -u >"$dir/paths" || true
if [ -s "$dir/paths" ]; then
        tr '\n' '\0' <"$dir/paths" | xargs -0 realpath -m -s -- >"$dir/lexical"
        tr '\n' '\0' <"$dir/paths" | xargs -0 realpath -m -- >"$dir/physical"
        paste "$dir/paths" "$dir/lexical" "$dir/physical" | awk -F'\t' '$2 != $3 { print $1 }' >"$dir/symlinked"
else
        : >"$dir/symlinked"
fi

# Pass 2: per class (syscall, outcome, kind of path): notifications, syscalls per notification, sequences.
awk -F'\t' -v top="$top" -v out="$dir/counts" '
FILENAME == ARGV[1] { via[$0] = 1; next }
{
        kind = $3 == "" ? "" : $3 in via ? " via-symlink" : $3 !~ /^\// ? " relative" : "";
        k = $1 " " $2 kind;
        n[k]++;
        total[k] += $4;
        if (!(k in lo) || $4 < lo[k]) lo[k] = $4;
        if ($4 > hi[k]) hi[k] = $4;
        seqs[k "\t" $5]++;
        all += $4;
        notifs++;
}
END {
        for (k in n)
                printf "C\t%s\t%d\t%.2f\t%d\t%d\t%d\n", k, n[k], total[k] / n[k], lo[k], hi[k], total[k] >out;
        printf "T\tall\t%d\t%.2f\t\t\t%d\n", notifs, notifs ? all / notifs : 0, all >out;
        for (ks in seqs)
                printf "S\t%s\t%d\n", ks, seqs[ks] >out;
}' "$dir/symlinked" "$dir/notifs"

printf '%-36s %7s %7s %5s %5s %8s\n' "class (syscall outcome path)" notifs mean min max syscalls
grep '^C' "$dir/counts" | sort -t$'\t' -k7,7nr |
        awk -F'\t' '{ printf "%-36s %7d %7.2f %5d %5d %8d\n", $2, $3, $4, $5, $6, $7 }'
grep '^T' "$dir/counts" | awk -F'\t' '{ printf "%-36s %7d %7.2f %5s %5s %8d\n", $2, $3, $4, "", "", $7 }'
echo
echo "commonest sequences of the $top classes with the most syscalls:"
grep '^C' "$dir/counts" | sort -t$'\t' -k7,7nr | head -n "$top" | cut -f2 | while IFS= read -r k; do
        echo "  $k:"
        awk -F'\t' -v k="$k" '$1 == "S" && $2 == k { print $4 "\t" $3 }' "$dir/counts" | sort -t$'\t' -k1,1nr |
                head -n "$top" | awk -F'\t' '{ printf "    %6d x %s\n", $1, $2 }'
done
