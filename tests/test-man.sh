#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The manual pages (no root): every verb of `forgeonectl --help`, every command of `forgeonectl daemon
# --help` and every option of `forgeoned --help` is documented in its page, and every page passes
# `mandoc -T lint` without warnings. TAP.
set -u
src=${FORGEONE_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
build=${FORGEONE_BUILD_ROOT:-$src/build}
ctl=$build/src/cli/forgeonectl
daemon=$build/src/daemon/forgeoned
command -v mandoc >/dev/null || { echo "1..0 # SKIP mandoc is not installed (scripts/install-deps.sh)"; exit 77; }
n=0
failed=0
check() {
        n=$((n + 1))
        if (eval "$2"); then echo "ok $n - $1"; else failed=1; echo "not ok $n - $1"; fi
}
# Bold in a page: ".B word", ".BR word ...", "\fBword" (with \- for -).
documented() { # PAGE WORD
        local w=${2//-/\\\\-}
        grep -Eq "(^\.B[IR]? +\"?|\\\\fB|^\.B[IR]? .*[ \"])$w([^a-z0-9_-]|$)" "$1"
}

verbs=$("$ctl" --help | awk '/^Verbs:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }')
check "forgeonectl --help lists its verbs" '[ "$(echo "$verbs" | wc -w)" -ge 14 ]'
for v in $verbs; do
        check "forgeonectl(1) documents the verb $v" 'documented "$src/man/forgeonectl.1" "$v"'
done
subs=$("$ctl" daemon --help | sed -n 's/^  \([a-z]*\)   .*/\1/p')
check "forgeonectl daemon --help lists its commands" '[ "$(echo "$subs" | wc -w)" = 4 ]'
for c in $subs; do
        check "forgeonectl(1) documents daemon $c" 'grep -q "daemon $c" "$src/man/forgeonectl.1"'
done
for o in $("$ctl" --help | grep -o '^  --[a-z-]*'); do
        check "forgeonectl(1) documents the global option $o" 'documented "$src/man/forgeonectl.1" "${o#  }"'
done
for v in top observe; do
        for o in $("$ctl" "$v" --local --help | grep -o '^  --[a-z-]*'); do
                check "forgeonectl(1) documents $v ${o#  }" 'documented "$src/man/forgeonectl.1" "${o#  }"'
        done
done
for o in $("$ctl" run --local --help | grep -o '^  --[a-z-]*'); do
        check "forgeonectl(1) documents run --local ${o#  }" 'documented "$src/man/forgeonectl.1" "${o#  }"'
done
opts=$("$daemon" --help | grep -o '^  \(-h, \)\?--[a-z-]*' | sed 's/^  \(-h, \)\?//')
check "forgeoned --help lists its options" '[ "$(echo "$opts" | wc -w)" -ge 10 ]'
for o in $opts; do
        check "forgeoned(8) documents $o" 'documented "$src/man/forgeoned.8" "$o"'
done
for page in "$src"/man/*.[1-8]; do
        check "$(basename "$page") passes mandoc -T lint without warnings" \
                'mandoc -T lint -W warning "$page" >"${TMPDIR:-/tmp}/fo-man-$$.lint" 2>&1 || { sed "s/^/# /" "${TMPDIR:-/tmp}/fo-man-$$.lint"; exit 1; }'
done
rm -f "${TMPDIR:-/tmp}/fo-man-$$.lint"
echo "1..$n"
exit $failed
