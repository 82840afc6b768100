#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The differential fidelity suite (root, live): every path syscall the supervisor emulates, in a matrix
# of flags, paths, descriptors, credentials, umasks and limits (tests/fidelity/), run natively and under
# forgeonectl run --local with tests/policies/emulate-all.json (everything allowed, every emulable
# call emulated), each in a fresh identical fixture at the same path. Every case whose result differs
# is one "not ok" naming the case, with both results; the documented exceptions are in
# tests/fidelity/exceptions, each tested for its own expected result; differences another piece of work
# is fixing are listed in tests/fidelity/pending and reported as TODO. TAP.
set -u

src=${FORGEONE_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
build=${FORGEONE_BUILD_ROOT:-$src/build}
ctl=${FORGEONECTL:-$build/src/cli/forgeonectl}
cases_bin=${FIDELITY_CASES:-$build/tests/fidelity-cases}
policy=$src/tests/policies/emulate-all.json
exceptions=$src/tests/fidelity/exceptions
pending=$src/tests/fidelity/pending

if [ "$(id -u)" != 0 ]; then
        echo "1..0 # SKIP needs root (private mount namespaces, credential changes, a supervisor)"
        exit 77
fi
if [ "$(uname -m)" != x86_64 ]; then
        echo "1..0 # SKIP the matrix calls the x86_64 syscalls (open, stat, ...) by number"
        exit 77
fi
for f in "$ctl" "$cases_bin"; do
        if [ ! -x "$f" ]; then
                echo "1..0 # SKIP $f is not built"
                exit 77
        fi
done

# Readable and executable by the unprivileged ids the cases switch to; the program is copied there so
# that nothing a case does (under a faulty supervisor) can reach the build tree.
tmp=$(mktemp -d /tmp/fo-fidelity-XXXXXX)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
cp "$cases_bin" "$tmp/fidelity-cases"
prog=$tmp/fidelity-cases
mkdir "$tmp/fx" "$tmp/cwd"
# The runs' working directory, which cases see as their parent's (/proc/%p/cwd): an empty one of ours,
# not the build tree, where a mediated run's audit state can appear in between.
chmod 755 "$tmp/cwd"
cd "$tmp/cwd" || exit 1

run() { # run OUT [WRAPPER...]: a fresh fixture at the same path every time
        local out=$1
        shift
        rm -rf "$tmp/fx" && mkdir "$tmp/fx" && "$prog" run "$tmp/fx" "$@" >"$out" 2>"$out.err"
}

"$prog" list >"$tmp/list" || { echo "1..0 # SKIP fidelity-cases list failed"; exit 1; }
total=$(wc -l <"$tmp/list")
echo "1..$((total + 2))"
echo "# $total cases; per syscall:"
cut -f1 "$tmp/list" | sort | uniq -c | sort -k2 |
        awk '{ printf "%s %s=%s", (NR % 8 == 1 ? (NR > 1 ? "\n#" : "#") : ""), $2, $1 } END { print "" }'

run "$tmp/native"
run "$tmp/native2"
run "$tmp/mediated" -- "$ctl" run --local --quiet --policy "$policy" --
echo "# forgeonectl exit status $?; its denials: $(grep -c '^forgeone: deny' "$tmp/mediated.err")"

n=0
# 1: the native results are stable, or the comparison means nothing.
n=$((n + 1))
if [ "$(wc -l <"$tmp/native")" = "$total" ] && cmp -s "$tmp/native" "$tmp/native2"; then
        echo "ok $n - two native runs give the same $total results"
else
        echo "not ok $n - two native runs differ: the suite itself is not deterministic"
        diff "$tmp/native" "$tmp/native2" | head -20 | sed 's/^/# /'
fi
# 2: the mediated run reported every case.
n=$((n + 1))
got=$(wc -l <"$tmp/mediated")
if [ "$got" = "$total" ]; then
        echo "ok $n - the run under forgeonectl reported all $total cases"
else
        echo "not ok $n - the run under forgeonectl reported $got of $total cases"
        tail -5 "$tmp/mediated.err" | sed 's/^/# /'
fi

# One line per case. Names never contain " | "; results are compared as whole strings.
awk -v n="$n" -v exfile="$exceptions" -v pendfile="$pending" '
function glob2re(g,    r, i, ch) {
        r = "^"
        for (i = 1; i <= length(g); i++) {
                ch = substr(g, i, 1)
                if (ch == "*") r = r ".*"
                else if (ch == "?") r = r "."
                else if (index("\\^$.[]|()+{}", ch)) r = r "\\" ch
                else r = r ch
        }
        return r "$"
}
function clip(s) { return length(s) > 600 ? substr(s, 1, 600) "..." : s }
BEGIN {
        FS = "\t"
        while ((getline line < exfile) > 0) {
                if (line ~ /^#/ || line == "") continue
                split(line, f, "\t")
                nex++; exre[nex] = glob2re(f[1]); exres[nex] = f[2]; exresre[nex] = glob2re(f[2] "*")
                exwhy[nex] = f[3]
        }
        while ((getline line < pendfile) > 0) {
                if (line ~ /^#/ || line == "") continue
                split(line, f, "\t")
                npe++; pere[npe] = glob2re(f[1]); pewho[npe] = f[2]
        }
}
FILENAME == ARGV[1] { i = index($0, " | "); med[substr($0, 1, i - 1)] = substr($0, i + 3); next }
FILENAME == ARGV[2] { i = index($0, " | "); nat2[substr($0, 1, i - 1)] = substr($0, i + 3); next }
{
        i = index($0, " | ")
        name = substr($0, 1, i - 1); res = substr($0, i + 3)
        n++
        for (e = 1; e <= nex; e++)
                if (name ~ exre[e]) break
        for (p = 1; p <= npe; p++)
                if (name ~ pere[p]) break
        if (!(name in med)) {
                printf "not ok %d - %s: no result under forgeonectl\n", n, name
                fail++
        } else if (med[name] == res && nat2[name] == res) {
                printf "ok %d - %s\n", n, name
                if (p <= npe && e > nex) {
                        printf "# no longer differs: its entry in tests/fidelity/pending can go\n"
                        unpend++
                }
        } else if (e <= nex) {
                if (med[name] ~ exresre[e])
                        printf "ok %d - %s # documented exception: %s\n", n, name, exwhy[e]
                else {
                        printf "not ok %d - %s: documented exception (%s) not as documented\n", n, name,
                                exwhy[e]
                        printf "#   expected: %s\n#   mediated: %s\n", exres[e], clip(med[name])
                        fail++
                }
        } else if (nat2[name] != res) {
                printf "ok %d - %s # SKIP not deterministic natively\n", n, name
        } else if (p <= npe) {
                printf "not ok %d - %s # TODO pending: %s\n#   native:   %s\n#   mediated: %s\n", n, name, pewho[p],
                        clip(res), clip(med[name])
                todo++
        } else {
                printf "not ok %d - %s\n#   native:   %s\n#   mediated: %s\n", n, name, clip(res),
                        clip(med[name])
                fail++
                split(name, sysname, "(")
                bysys[sysname[1]]++
        }
}
END {
        printf "# %d of %d cases differ; %d more differ pending other work (tests/fidelity/pending)", fail + 0,
                n - 2, todo + 0
        if (unpend) printf "; %d pending cases no longer differ", unpend
        for (sc in bysys) printf "%s%s=%d", (++k % 8 == 1 ? "\n# differing:" : ""), " " sc, bysys[sc]
        print ""
}' "$tmp/mediated" "$tmp/native2" "$tmp/native"
status=$?
[ $status = 0 ] || echo "Bail out! comparison failed"
exit 0
