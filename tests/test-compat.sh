#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Workload compatibility (root, live): real tools under policies/default.json with forgeonectl run
# --local, each compared with the same run without ForgeOne, in a fresh work directory at the same
# path (scratch space, which default.json lets workloads write): make -j2 of a C project, an
# autoconf-style compile-and-run loop, git, Python subprocess, venv and pip with a local wheel,
# tar/gzip/xz round trips, find/xargs/sort pipelines, a shell with job control, and a program that
# drops its privileges to nobody (under default.json plus @setuid). One TAP line per comparison: the
# exit status and the output must be the same; the native run must also have done what it should.
set -u

src=${FORGEONE_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
build=${FORGEONE_BUILD_ROOT:-$src/build}
ctl=${FORGEONECTL:-$build/src/cli/forgeonectl}
policy=$src/policies/default.json
emulate_all=$src/tests/policies/emulate-all.json
py=/usr/bin/python3

if [ "$(id -u)" != 0 ]; then
        echo "1..0 # SKIP needs root (the supervisor reads and acts for another process)"
        exit 77
fi
if [ ! -x "$ctl" ]; then
        echo "1..0 # SKIP $ctl is not built"
        exit 77
fi
for t in make cc git tar gzip xz find xargs sort bash jq "$py"; do
        if ! command -v "$t" >/dev/null; then
                echo "1..0 # SKIP $t is missing (scripts/install-deps.sh installs it)"
                exit 77
        fi
done
if ! "$py" -c 'import venv, ensurepip' 2>/dev/null; then
        echo "1..0 # SKIP $py has no venv/ensurepip (python3-venv)"
        exit 77
fi

tmp=$(mktemp -d /tmp/fo-compat-XXXXXX)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
w=$tmp/work
n=0
echo "1..11"

# default.json with the credential calls allowed: the privilege-drop test's policy. Derived here so
# that it follows default.json.
jq '(.rules[] | select(.id == "no-privileged") | .syscalls) =
        ["@clock", "@module", "@mount", "@raw-io", "@reboot", "@swap", "acct", "bpf", "fanotify_init",
         "fanotify_mark", "name_to_handle_at", "open_by_handle_at", "quotactl", "quotactl_fd",
         "setdomainname", "sethostname", "syslog", "vhangup"]
    | .rules += [{ "id": "drop-privileges", "description": "test only: the workload may change its ids",
                   "syscalls": ["@setuid"], "action": "allow" }]
    | .name = "default-setuid"' "$policy" >"$tmp/default-setuid.json"

# compare NAME CHECK POLICY SETUP -- CMD...: runs CMD with a clean environment in $w (made fresh by
# SETUP, a shell function) natively and under POLICY; "ok" when both exit alike and print the same,
# and the native output passes CHECK (a grep -E pattern every correct run prints).
compare() {
        local name=$1 check=$2 pol=$3 setup=$4
        shift 5
        local envv=(env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$w" LANG=C.UTF-8 TZ=UTC)
        local rn rm

        rm -rf "$w" && mkdir "$w" && chmod 777 "$w" && (cd "$w" && $setup)
        (cd "$w" && "${envv[@]}" "$@") >"$tmp/native.out" 2>"$tmp/native.err"
        rn=$?
        rm -rf "$w" && mkdir "$w" && chmod 777 "$w" && (cd "$w" && $setup)
        (cd "$w" && "$ctl" run --local --quiet --policy "$pol" -- "${envv[@]}" "$@") \
                >"$tmp/mediated.out" 2>"$tmp/mediated.err"
        rm=$?
        n=$((n + 1))
        if [ $rn != 0 ] || ! grep -Eq "$check" "$tmp/native.out"; then
                echo "not ok $n - $name: the native run itself failed (status $rn), nothing to compare"
                sed 's/^/#   native: /' "$tmp/native.err" | tail -5
        elif [ $rn = $rm ] && cmp -s "$tmp/native.out" "$tmp/mediated.out"; then
                echo "ok $n - $name"
        else
                echo "not ok $n - $name: native status $rn, under forgeonectl $rm"
                diff "$tmp/native.out" "$tmp/mediated.out" | head -15 | sed 's/^/#   /'
                grep -v '^forgeone: allow' "$tmp/mediated.err" | sort | uniq -c | sort -rn | head -8 |
                        sed 's/^/#   stderr: /'
        fi
}

# ---- 1: make -j2 of a small C project: header dependencies, a generated file, a rebuild ----
setup_make() {
        mkdir proj && cd proj || return
        cat >Makefile <<'EOF'
OBJS = main.o util.o gen.o
app: $(OBJS)
	$(CC) -o $@ $(OBJS)
main.o: main.c util.h gen.h
util.o: util.c util.h
gen.o: gen.c gen.h
gen.c gen.h &: gen.sh
	sh gen.sh
EOF
        cat >gen.sh <<'EOF'
printf '#define GEN_COUNT 3\nint gen_value(int);\n' >gen.h
printf '#include "gen.h"\nint gen_value(int x) { return x * GEN_COUNT; }\n' >gen.c
EOF
        printf '#define UTIL_BASE 10\nint util_add(int, int);\n' >util.h
        printf '#include "util.h"\nint util_add(int a, int b) { return a + b + UTIL_BASE; }\n' >util.c
        cat >main.c <<'EOF'
#include <stdio.h>
#include "util.h"
#include "gen.h"
int main(void) {
        printf("result %d %d\n", util_add(1, 2), gen_value(UTIL_BASE));
        return 0;
}
EOF
}
cat >"$tmp/make.sh" <<'EOF'
cd proj || exit 1
make -j2 2>&1 | sort; ./app
sed -i 's/UTIL_BASE 10/UTIL_BASE 20/' util.h
echo "rebuilt after a header change:"; make -j2 2>&1 | sort; ./app
make -q; echo "up to date: $?"
EOF
compare "make -j2 builds a C project with a generated file and header dependencies" '^result 23 60$' \
        "$policy" setup_make -- sh "$tmp/make.sh"

# ---- 2: an autoconf-style loop: compile a test program and run it at once, 200 times ----
cat >"$tmp/configure.sh" <<'EOF'
printf 'int main(void) { return 0; }\n' >conftest.c
ok=0 busy=0 failed=0 i=0
while [ $i -lt 200 ]; do
        i=$((i + 1))
        rm -f conftest
        if ! cc -o conftest conftest.c 2>cc.err; then failed=$((failed + 1)); continue; fi
        if ./conftest 2>run.err; then ok=$((ok + 1))
        elif grep -q 'Text file busy' run.err; then busy=$((busy + 1))
        else failed=$((failed + 1)); fi
done
echo "compiled and ran: $ok, ETXTBSY: $busy, other failures: $failed"
EOF
compare "configure-style loop: cc -o conftest && ./conftest, 200 times, no ETXTBSY" \
        '^compiled and ran: 200, ETXTBSY: 0' \
        "$policy" true -- sh "$tmp/configure.sh"

# ---- 3: git init/add/commit/log in the workspace ----
cat >"$tmp/git.sh" <<'EOF'
set -e
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_DATE=2020-01-01T00:00:00Z GIT_COMMITTER_DATE=2020-01-01T00:00:00Z
git init -q -b main repo && cd repo
git config user.email ci@example.invalid && git config user.name CI
mkdir -p src && printf 'one\n' >src/a.txt && printf 'two\n' >b.txt && ln -s b.txt link && chmod +x b.txt
git add -A && git commit -q -m first
printf 'three\n' >>b.txt && git rm -q src/a.txt && git mv link link2 && git add -A && git commit -q -m second
git log --format='%H %s' && git status --porcelain && git ls-files -s
git branch -q topic && git checkout -q topic && git checkout -q main && git diff --stat HEAD~1 | tail -1
git fsck --strict 2>&1 && git gc -q && git count-objects -v | grep -v size
EOF
compare "git init, add, commit, mv, log, fsck, gc in the workspace" '^[0-9a-f]{40} first$' \
        "$policy" true -- sh "$tmp/git.sh"

# ---- 4: a Python program using subprocess ----
cat >"$tmp/sub.py" <<'EOF'
import os, shutil, subprocess, sys, tempfile
r = subprocess.run(["sh", "-c", "echo out; echo err >&2; exit 3"], capture_output=True, text=True)
print("run", r.returncode, repr(r.stdout), repr(r.stderr))
print("check_output", subprocess.check_output(["printf", "%s,", "a", "b"], text=True))
p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
print("popen", p.communicate("piped\n"), p.returncode)
r = subprocess.run("ls / | grep -c '^etc$'", shell=True, capture_output=True, text=True)
print("shell", r.stdout.strip())
try:
    subprocess.run(["/nonexistent/prog"])
except FileNotFoundError as e:
    print("missing program", e.errno)
with tempfile.TemporaryDirectory(dir=".") as d:
    with open(os.path.join(d, "f"), "w") as f:
        f.write("x")
    print("tempdir", sorted(os.listdir(d)), os.stat(os.path.join(d, "f")).st_size)
print("which", shutil.which("sh"))
env = dict(os.environ, FO_TEST="v")
print("env", subprocess.run([sys.executable, "-c", "import os; print(os.environ['FO_TEST'])"], env=env,
                            capture_output=True, text=True).stdout.strip())
print("cwd", subprocess.check_output(["pwd"], cwd="/", text=True).strip())
with subprocess.Popen(["sleep", "10"]) as p:
    p.terminate()
print("terminated", p.wait())
EOF
compare "Python subprocess: run, check_output, Popen pipes, shell, env, cwd, terminate" '^run 3 ' \
        "$policy" true -- "$py" "$tmp/sub.py"

# ---- 5: python3 -m venv and pip install of a local wheel, offline ----
cat >"$tmp/mkwheel.py" <<'EOF'
# A pure-Python wheel built with the standard library only.
import base64, hashlib, sys, zipfile
name, version = "fidelitypkg", "1.0"
files = {
    f"{name}/__init__.py": "def hello():\n    return 'hello from the wheel'\n",
    f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
    f"{name}-{version}.dist-info/WHEEL":
        "Wheel-Version: 1.0\nGenerator: forgeone-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = []
with zipfile.ZipFile(f"{sys.argv[1]}/{name}-{version}-py3-none-any.whl", "w") as z:
    for path, text in files.items():
        data = text.encode()
        z.writestr(path, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{name}-{version}.dist-info/RECORD,,")
    z.writestr(f"{name}-{version}.dist-info/RECORD", "\n".join(record) + "\n")
EOF
setup_venv() { "$py" "$tmp/mkwheel.py" .; }
cat >"$tmp/venv.sh" <<EOF
set -e
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INDEX=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
$py -m venv venv
venv/bin/pip install -q ./fidelitypkg-1.0-py3-none-any.whl
venv/bin/python -c 'import fidelitypkg, sys; print(fidelitypkg.hello(), sys.prefix != sys.base_prefix)'
venv/bin/pip list --format=freeze | grep -i fidelitypkg
venv/bin/pip uninstall -y -q fidelitypkg
venv/bin/python -c 'import fidelitypkg' 2>/dev/null || echo uninstalled
EOF
compare "python3 -m venv, pip install --no-index of a local wheel, import, uninstall" \
        '^hello from the wheel True$' \
        "$policy" setup_venv -- sh "$tmp/venv.sh"

# ---- 6: tar, gzip and xz round trips ----
cat >"$tmp/tar.sh" <<'EOF'
set -e
mkdir -p tree/sub/deeper tree/empty
printf 'alpha\n' >tree/a.txt && seq 1 2000 >tree/sub/numbers
head -c 65536 /dev/zero | tr '\0' z >tree/sub/deeper/zeros
ln -s ../a.txt tree/sub/link && ln tree/a.txt tree/hard
chmod 750 tree/sub && chmod 600 tree/a.txt && chmod 1777 tree/empty
touch -d '2020-02-02 02:02:02' tree/sub/numbers
tar -czf t.tgz tree && tar -tzvf t.tgz | awk '{ print $1, $NF }' | sort
mkdir x && tar -xzf t.tgz -C x && diff -r tree x/tree && echo "extracted tree identical"
find x -printf '%P %y %m %n %l\n' | sort && stat -c %Y x/tree/sub/numbers
tar -cf - tree | gzip -9 >t2.tar.gz && gzip -t t2.tar.gz && gunzip -c t2.tar.gz | tar -tf - | sort | md5sum
gzip -k tree/sub/numbers && gunzip -c tree/sub/numbers.gz | cmp - tree/sub/numbers && echo "gzip round trip"
xz -k tree/sub/deeper/zeros && xz -dc tree/sub/deeper/zeros.xz | cmp - tree/sub/deeper/zeros &&
        echo "xz round trip"
EOF
compare "tar -czf/-xzf, gzip and xz round trips keep contents, modes, links and times" '^xz round trip$' \
        "$policy" true -- sh "$tmp/tar.sh"

# ---- 7: find, xargs and sort pipelines ----
cat >"$tmp/find.sh" <<'EOF'
set -e
mkdir -p d/a d/b/c 'd/with space' d/empty
for i in 3 1 2 10; do printf 'line %s\n' $i >d/a/f$i; done
printf 'x\ny\n' >d/b/c/g.c && printf 'int a;\n' >'d/with space/h.c'
touch -d 2020-01-01 d/a/f3 && touch -d 2021-01-01 d/a/f1
find d -type f -print0 | xargs -0 -n2 wc -l | sort -k2
find d -name '*.c' | sort | xargs cat | sha256sum
find d -type f | sort -t/ -k3 -V | tr '\n' ' ' && echo
find d -type d -empty && find d -type f -newer d/a/f3 ! -newer d/a/f1 | sort
find d -type f -exec grep -l line {} + | sort | xargs -I{} basename {} | paste -sd,
find d -depth -name c -type d -exec rm -r {} \; && find d | sort
ls d/a | sort -r | head -2 && du -a d | awk '{ print $2 }' | sort | tail -3
EOF
compare "find -print0 | xargs -0, -exec {} +, -newer, sort -V, du, rm through find" '^f1,f10,f2,f3$' \
        "$policy" true -- sh "$tmp/find.sh"

# ---- 8: a shell script with job control ----
cat >"$tmp/jobs.sh" <<'EOF'
set -m
sleep 10 & p=$!
kill -STOP $p
i=0; while ! jobs -l | grep -q Stopped && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
jobs -l | grep -q Stopped && echo "stopped job listed"
[ "$(ps -o pgid= -p $p | tr -d ' ')" = "$p" ] && echo "job in its own process group"
kill -CONT %1; kill -TERM %1; wait $p; echo "terminated: $?"
(exit 7) & wait $!; echo "background exit: $?"
sleep 0.2 & sleep 0.1 & wait; echo "all waited"
trap 'echo got USR1' USR1; kill -USR1 $$; echo "after trap"
{ echo piped; echo lines; } | sort -r | tr a-z A-Z
EOF
compare "bash with job control: set -m, stop/continue/kill %1, wait, traps, pipes" \
        '^job in its own process group$' \
        "$policy" true -- bash "$tmp/jobs.sh"

# ---- 9, 10: a program that drops its privileges to nobody and keeps working ----
cat >"$tmp/drop.py" <<'EOF'
import os, subprocess, sys
work = os.getcwd()
os.setgroups([])
os.setresgid(65534, 65534, 65534)
os.setresuid(65534, 65534, 65534)
print("ids", os.getresuid(), os.getresgid(), os.getgroups())
with open("/etc/passwd") as f:
    print("open /etc/passwd", f.readline().split(":")[0])
st = os.stat("/etc/passwd")
print("stat /etc/passwd", oct(st.st_mode), st.st_uid)
print("fstat stdin", oct(os.fstat(0).st_mode & 0o170000))
print("readlink /proc/self/exe", os.readlink("/proc/self/exe"))
print("listdir", sorted(os.listdir(work)))
print("scandir /etc", sorted(e.name for e in os.scandir("/etc") if e.name == "passwd"))
try:
    open("/etc/shadow")
except PermissionError as e:
    print("shadow", e.errno)
r = subprocess.run(["/bin/ls", "-d", work], capture_output=True, text=True)
print("exec ls", r.returncode, r.stdout.strip() == work, r.stderr.strip())
script = "id -u; grep -c Uid /proc/self/status; test -r /etc/hostname && echo readable"
r = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True)
print("exec sh", r.returncode, r.stdout.split(), r.stderr.strip())
with open(os.path.join(work, "out"), "w") as f:
    f.write("written by nobody")
print("wrote", os.stat(os.path.join(work, "out")).st_uid)
EOF
setup_drop() { printf 'x\n' >present; }
compare "drops to nobody (default.json + @setuid): open, stat, readlink /proc/self/exe, listdir, exec" \
        '^exec sh 0 ' "$tmp/default-setuid.json" setup_drop -- "$py" "$tmp/drop.py"
compare "drops to nobody with every path call emulated (tests/policies/emulate-all.json): the same" \
        '^exec sh 0 ' "$emulate_all" setup_drop -- "$py" "$tmp/drop.py"

# ---- 11: make's spawn with POSIX_SPAWN_RESETIDS in a plain recipe ----
setup_recipe() { printf 'all:\n\t@echo recipe ran\n\t@sh -c "echo nested shell"\n' >Makefile; }
compare "make runs a recipe under default.json (posix_spawn with RESETIDS: setresuid(-1, getuid(), -1))" \
        '^recipe ran$' "$policy" setup_recipe -- make
exit 0
