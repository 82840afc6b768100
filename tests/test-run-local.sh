#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# forgeonectl run --local end to end (root): shell workloads under policies/default.json, the decision
# lines on stderr (human, --quiet, --json), exit statuses, quarantine, and nothing left behind. TAP.
set -u

src=${FORGEONE_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
ctl=${FORGEONECTL:-${FORGEONE_BUILD_ROOT:-$src/build}/src/cli/forgeonectl}
policy=$src/policies/default.json

if [ "$(id -u)" != 0 ]; then
        echo "1..0 # SKIP needs root (the supervisor reads and acts for another process)"
        exit 77
fi
if [ ! -x "$ctl" ]; then
        echo "1..0 # SKIP $ctl is not built"
        exit 77
fi

tmp=$(mktemp -d /tmp/fo-run-XXXXXX)
cgroups_before=$(ls -d /sys/fs/cgroup/unified/forgeone/run-* /sys/fs/cgroup/forgeone/run-* 2>/dev/null | sort)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; [ -f "$tmp/err" ] && sed 's/^/# /' "$tmp/err" | tail -20; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }
run() { "$ctl" run --local --policy "$policy" "$@" >"$tmp/out" 2>"$tmp/err"; echo $? >"$tmp/rc"; }
rc() { cat "$tmp/rc"; }

# 1: an ordinary script runs normally and its exit status is passed through.
run -- sh -c 'echo hello; x=$(cat /etc/passwd | wc -l); [ "$x" -gt 0 ] && echo lines; exit 7'
check "script runs, stdout untouched, exit status passed through" \
        '[ "$(rc)" = 7 ] && [ "$(cat "$tmp/out")" = "$(printf "hello\nlines")" ]'
check "allowed opens are reported" 'grep -q "forgeone: allow openat \"/etc/passwd\" \[read\] -> ok (rule read-files)" "$tmp/err"'

# 1b: a real script gives the same output as without ForgeOne.
cat >"$tmp/script.sh" <<'SCRIPT'
#!/bin/sh
set -e
work=$(mktemp -d /tmp/fo-script-XXXXXX)
cd "$work"
for i in 3 1 2; do echo "line $i" >>data.txt; done
sort data.txt | sed 's/line/LINE/' | awk '{ print NR ": " $0 }' >sorted.txt
cat <<END >>sorted.txt
here-doc $(wc -l <data.txt)
END
( cd / && ls -d etc usr ) >>sorted.txt
grep -c LINE sorted.txt
head -n 2 /etc/passwd | cut -d: -f1 | tr a-z A-Z >>sorted.txt
mkdir sub && mv data.txt sub/ && ls sub
cat sorted.txt
cd / && rm -rf "$work"
SCRIPT
chmod +x "$tmp/script.sh"
"$tmp/script.sh" >"$tmp/expected" 2>&1
run -- "$tmp/script.sh"
check "a shell script with pipes, redirections, subshells and coreutils behaves as without ForgeOne" \
        '[ "$(rc)" = 0 ] && cmp -s "$tmp/out" "$tmp/expected"'

# 2: secrets.
run -- cat /etc/shadow
check "reading /etc/shadow is denied with EACCES by deny-secrets" \
        '[ "$(rc)" = 1 ] && grep -q "forgeone: deny openat \"/etc/shadow\" \[read\] -> EACCES (rule deny-secrets)" "$tmp/err" && grep -q "Permission denied" "$tmp/err"'

# 3: writes outside the allowed trees.
run -- sh -c "echo x > /etc/forgeone-run-test"
check "writing outside allowed paths is denied and creates nothing" \
        '[ "$(rc)" != 0 ] && grep -q "deny openat \"/etc/forgeone-run-test\" \[write,create\] -> EPERM (rule default)" "$tmp/err" && [ ! -e /etc/forgeone-run-test ]'
run -- sh -c "echo x > $tmp/allowed && cat $tmp/allowed"
check "writing scratch space works" '[ "$(rc)" = 0 ] && [ "$(cat "$tmp/out")" = x ]'

# 3b: creating, removing, renaming and changing files by path: emulated in scratch space, denied elsewhere.
cat >"$tmp/files.sh" <<'SCRIPT'
#!/bin/bash
set -e
umask 022
work=$(mktemp -d /tmp/fo-files-XXXXXX)
trap 'cd / && rm -rf "$work"' EXIT
cd "$work"
mkdir -p a/b/c/ && echo hi >a/b/c/f && cp -a a a2 && mv a2 a3 && ln -s a3 l && ln a/b/c/f hard
chmod 640 hard && touch -d 2020-01-02 hard && install -m 751 hard inst && truncate -s 2 inst
sed -i s/hi/ho/ a/b/c/f && cat a/b/c/f
tar -cf t.tar a && mkdir ex && tar -C ex -xf t.tar && find ex | sort
mkfifo p && [ -p p ] && rm p
if command -v gcc >/dev/null; then printf 'int main(void){return 3;}\n' >m.c && gcc -o m m.c && { ./m || echo "cc $?"; }; fi
if [ -x /usr/bin/python3 ]; then
        /usr/bin/python3 -c 'import tempfile, os
with tempfile.NamedTemporaryFile(dir=".") as f: f.write(b"x")
d = tempfile.mkdtemp(dir="."); os.rmdir(d); print("python ok")'
fi
if command -v git >/dev/null; then
        # root's own ~/.gitconfig is a secret under default.json: a home of its own
        export HOME=$work GIT_CONFIG_NOSYSTEM=1
        git init -q g && cd g && echo x >f && git add f && git -c user.email=a@b -c user.name=n commit -q -m one
        git log --format=%s && cd ..
fi
stat -c '%n %a %s %h' hard inst a3/b/c/f l | sort
stat -c '%n %Y' hard
readlink l
SCRIPT
chmod +x "$tmp/files.sh"
"$tmp/files.sh" >"$tmp/expected" 2>&1
run --quiet -- "$tmp/files.sh"
check "mkdir -p, cp -a, mv, ln, chmod, touch, install, truncate, sed -i, tar, mkfifo, cc, python tempfile, git in /tmp behave as without ForgeOne" \
        '[ "$(rc)" = 0 ] && cmp -s "$tmp/out" "$tmp/expected"'
victim=$(mktemp -d /var/lib/fo-run-XXXXXX)
trap 'rm -rf "$tmp" "$victim"' EXIT
echo keep >"$victim/file"
chmod 644 "$victim/file"
before=$(stat -c '%i %a %s %h %Y %U' "$victim/file")
run -- sh -c "rm -f $victim/file; mv $victim/file $tmp/moved; chmod 777 $victim/file; truncate -s0 $victim/file;
        ln -s /tmp $victim/link; ln $victim/file $tmp/hard; mkdir $victim/dir; touch -d 2001-01-01 $victim/file;
        chown 1 $victim/file; echo done"
check "rm, mv, chmod, truncate, ln, mkdir, touch, chown outside allowed paths are denied and change nothing" \
        '[ "$(cat "$tmp/out")" = done ] && grep -q "deny unlinkat \"$victim/file\" \[delete\] -> EPERM (rule default)" "$tmp/err" && [ "$(stat -c "%i %a %s %h %Y %U" "$victim/file")" = "$before" ] && [ "$(cat "$victim/file")" = keep ] && [ "$(ls "$victim")" = file ] && [ ! -e "$tmp/moved" ] && [ ! -e "$tmp/hard" ]'

# 4: a symlink in an allowed tree pointing at a secret.
ln -s /etc/shadow "$tmp/innocent"
run -- cat "$tmp/innocent"
check "a symlink to a secret is judged by its target" \
        '[ "$(rc)" = 1 ] && grep -q "deny openat \"/etc/shadow\" \[read\] -> EACCES" "$tmp/err"'

# 5: mount quarantines.
run -- sh -c 'mount -t tmpfs none /mnt 2>/dev/null; echo survived'
check "mount quarantines: the workload is stopped, status 123" \
        '[ "$(rc)" = 123 ] && grep -q "forgeone: quarantine mount -> EPERM (rule mount-quarantines)" "$tmp/err" && ! grep -q survived "$tmp/out"'

# 5b: nothing of a quarantined workload runs on, not its caller's parent, not a sibling (30 times: the
# window was a few microseconds).
survivors=0
for _ in $(seq 30); do
        run -- sh -c '(while :; do echo alive; done) & mount -t tmpfs none /mnt 2>/dev/null; echo survived'
        size=$(stat -c %s "$tmp/out")
        sleep 0.05
        if [ "$(rc)" != 123 ] || grep -q survived "$tmp/out" || [ "$(stat -c %s "$tmp/out")" != "$size" ]; then
                survivors=$((survivors + 1))
        fi
done
check "a quarantined workload is all stopped before the call returns: no survivor in 30 runs ($survivors)" \
        '[ $survivors = 0 ]'

# 6: signals.
run -- sh -c 'kill -9 $$'
check "a workload killed by SIGKILL gives 137" '[ "$(rc)" = 137 ]'

# 7: --quiet and --json.
run --quiet -- sh -c 'cat /etc/passwd >/dev/null; cat /etc/shadow'
check "--quiet prints denials only" '! grep -q "forgeone: allow" "$tmp/err" && grep -q "forgeone: deny" "$tmp/err"'
run --json --quiet -- cat /etc/shadow
check "--json prints one JSON object per decision with stable fields" \
        'grep "^{" "$tmp/err" | jq -e "select(.syscall == \"openat\" and .path == \"/etc/shadow\" and .verdict == \"deny\" and .action == \"deny\" and .errno == \"EACCES\" and .rule == \"deny-secrets\" and (.pid|type) == \"number\" and (.tid|type) == \"number\" and (.generation|type) == \"number\" and (.trust|type) == \"number\")" >/dev/null'

# 8: /dev/stdin, process substitution and /proc/self are the workload's own.
run -- bash -c 'echo via-stdin | cat /dev/stdin; cat <(echo procsub); [ "$(readlink /proc/self)" = "$$" ] || [ -n "$BASHPID" ]'
check "/dev/stdin and process substitution reopen the workload's own fds" \
        '[ "$(rc)" = 0 ] && grep -q via-stdin "$tmp/out" && grep -q procsub "$tmp/out"'

# 9: a command that does not exist.
run -- /nonexistent/program
check "a missing program gives 127" '[ "$(rc)" = 127 ]'

# 10: usage errors.
"$ctl" run --local -- true >/dev/null 2>"$tmp/err"
check "--policy is required" '[ $? = 1 ] || grep -q "needs --policy" "$tmp/err"'
"$ctl" run --help >"$tmp/out" 2>&1
check "--help documents the exit statuses" 'grep -q "quarantined" "$tmp/out"'

# 11: nothing left behind.
check "no cgroup left behind" '[ "$(ls -d /sys/fs/cgroup/unified/forgeone/run-* /sys/fs/cgroup/forgeone/run-* 2>/dev/null | sort)" = "$cgroups_before" ]'

echo "1..$n"
exit $failed
