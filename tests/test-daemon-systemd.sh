#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# forgeoned under a real systemd (root): systemd boots as PID 1 in systemd-nspawn on a root filesystem of
# its own (Debian bookworm from the package archive, built once with mmdebstrap and cached as a tarball in
# /var/tmp/forgeone-nspawn; never the host's root), forgeoned is installed there by `meson install`, and:
# systemctl start; a workload through forgeonectl on the container's system bus; a container (an OCI
# image, verified against a trust anchor there) through the service under the unit; systemctl reload;
# kill -s KILL of the main process and the automatic restart with the fd store handing everything back;
# the watchdog (a stopped forgeoned is killed and restarted); systemctl restart keeps the workloads;
# systemctl stop ends them; and through all four lives of forgeoned every trapped call of the workload
# was answered. Skips (77) with the reason when nspawn, mmdebstrap or the archive is missing. See
# /work/shared/recipes/systemd-in-nspawn.md for where each step comes from. TAP.
set -u
src=${FORGEONE_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
build=${FORGEONE_BUILD_ROOT:-$src/build}

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
        n=$((n + 1))
        failed=1
        echo "not ok $n - $1"
        [ -n "${E:-}" ] && $E journalctl -u forgeoned -n 15 --no-pager -o cat 2>/dev/null | sed 's/^/#   /'
        return 0
}
check() { if (eval "$2"); then ok "$1"; else not_ok "$1"; fi; }
skip_all() { echo "1..0 # SKIP $1"; exit 77; }
wait_for() {
        local i
        for i in $(seq "${2:-100}"); do
                eval "$1" && return 0
                sleep 0.1
        done
        return 1
}

[ "$(id -u)" = 0 ] || skip_all "needs root"
for t in systemd-nspawn mmdebstrap nsenter unshare zstd; do
        command -v "$t" >/dev/null || skip_all "$t is not installed (scripts/install-deps.sh installs it)"
done
[ -x "$build/src/daemon/forgeoned" ] && [ -x "$build/tests/daemon-hammer" ] || skip_all "forgeoned is not built"

# The root filesystem, once: the libraries forgeoned and forgeonectl link, systemd and dbus.
cache=/var/tmp/forgeone-nspawn
packages=systemd,systemd-sysv,dbus,libsystemd0,libseccomp2,libjson-c5,libssl3,libarchive13,libbpf1,libtss2-esys-3.0.2-0,libtss2-tctildr0,libtss2-rc0,libtss2-mu0,libtss2-sys1
tarball=$cache/bookworm-$(echo "$packages" | sha256sum | cut -c1-12).tar.zst
mkdir -p "$cache"
if [ ! -s "$tarball" ]; then
        mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
        mirror=${mirror:-http://deb.debian.org/debian}
        mkdir -p "$cache/tmp"
        partial=$cache/partial-$$.tar.zst # mmdebstrap picks the format from the name
        if ! TMPDIR=$cache/tmp mmdebstrap --quiet --variant=minbase --include="$packages" bookworm "$partial" \
                "$mirror" >"$cache/mmdebstrap.log" 2>&1; then
                rm -rf "$partial"
                skip_all "cannot build the container's root from $mirror (see $cache/mmdebstrap.log): $(tail -1 "$cache/mmdebstrap.log")"
        fi
        mv "$partial" "$tarball"
fi

tmp=$(mktemp -d /var/tmp/fo-nspawn-XXXXXX)
name=fo${tmp##*-}
name=$(echo "$name" | tr 'A-Z' 'a-z')
root=$tmp/root
nspawn_pid=
cleanup() {
        if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
                kill -TERM "$nspawn_pid"
                wait_for "! kill -0 $nspawn_pid 2>/dev/null" 150 || kill -KILL "$nspawn_pid"
        fi
        for h in unified systemd; do
                [ -d "/sys/fs/cgroup/$h/nspawn-$name" ] &&
                        find "/sys/fs/cgroup/$h/nspawn-$name" -depth -type d -exec rmdir {} \; 2>/dev/null
        done
        mountpoint -q "$root" && umount -l "$root"
        rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' TERM INT HUP

mkdir -p "$root"
mount -t tmpfs -o mode=0755,size=1G tmpfs "$root"
tar --numeric-owner --zstd -C "$root" -xf "$tarball" || skip_all "cannot unpack $tarball"

# Installed as a package would be: meson install, then the files dbus-daemon reads from /usr/share.
DESTDIR=$root meson install -C "$build" --no-rebuild --quiet >"$tmp/install.log" 2>&1 ||
        { not_ok "meson install into the container's root"; cat "$tmp/install.log" | sed 's/^/# /'; echo "1..$n"; exit 1; }
ok "meson install puts forgeoned, its unit, bus policy, man pages and policies in place"
prefix=$(meson introspect "$build" --buildoptions 2>/dev/null | python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"][0])')
check "the unit, the bus policy, the activation file, the man page and forgeoned are installed" \
        '[ -f "$root$prefix/lib/systemd/system/forgeoned.service" ] && [ -f "$root$prefix/share/dbus-1/system.d/org.forgeone.Supervisor1.conf" ] && [ -f "$root$prefix/share/dbus-1/system-services/org.forgeone.Supervisor1.service" ] && [ -x "$root$prefix/sbin/forgeoned" ] && ls "$root$prefix/share/man/man8/forgeoned.8"* >/dev/null'
if [ "$prefix" != /usr ]; then
        cp "$root$prefix/share/dbus-1/system.d/org.forgeone.Supervisor1.conf" "$root/usr/share/dbus-1/system.d/"
        mkdir -p "$root/usr/share/dbus-1/system-services"
        cp "$root$prefix/share/dbus-1/system-services/org.forgeone.Supervisor1.service" "$root/usr/share/dbus-1/system-services/"
fi
install -m755 "$build/tests/daemon-hammer" "$root/usr/local/bin/daemon-hammer"
mkdir -p "$root/etc/forgeone" "$root/etc/systemd/system/forgeoned.service.d"
cp "$src/tests/policies/daemon-a.json" "$root/etc/forgeone/policy.json"

# A container image for the service, signed with a trust anchor of the test's own (software mode, the
# default trust configuration's path): daemon-hammer is its program.
image_ready=
if command -v umoci >/dev/null && command -v openssl >/dev/null && command -v jq >/dev/null; then
        (cd "$tmp" && umoci init --layout "$root/srv/img" >/dev/null && umoci new --image "$root/srv/img:latest" >/dev/null &&
                umoci unpack --image "$root/srv/img:latest" bundle >/dev/null 2>&1 &&
                mkdir -p bundle/rootfs/bin bundle/rootfs/etc && install -m755 "$build/tests/daemon-hammer" bundle/rootfs/bin/ &&
                echo 'root:x:0:0:root:/:/bin/daemon-hammer' >bundle/rootfs/etc/passwd &&
                umoci repack --image "$root/srv/img:latest" bundle >/dev/null && rm -rf bundle &&
                openssl ecparam -name prime256v1 -genkey -noout -out key.pem 2>/dev/null &&
                openssl pkey -in key.pem -pubout -out key.pub &&
                jq -n --rawfile k key.pub '{format: 1, id: "test", keys: [{id: "test", algorithm: "ecdsa-p256", public_key: $k}]}' \
                        >"$root/etc/forgeone/anchor.json" &&
                jq -n '{anchor: "/etc/forgeone/anchor.json", tcti: "device:/nonexistent", state_dir: "/var/lib/forgeone/trust"}' \
                        >"$root/etc/forgeone/trust.json" &&
                FORGEONE_TRUST_CONFIG=$tmp/host-trust.json &&
                jq -n --arg r "$root" '{anchor: "\($r)/etc/forgeone/anchor.json", tcti: "device:/nonexistent", state_dir: "\($r)/var/lib/forgeone/trust"}' \
                        >"$FORGEONE_TRUST_CONFIG" &&
                FORGEONE_TRUST_CONFIG=$FORGEONE_TRUST_CONFIG "$build/src/cli/forgeonectl" --local image sign --key key.pem \
                        "$root/srv/img:latest" >/dev/null) && image_ready=1
fi
cat >"$root/etc/systemd/system/forgeoned.service.d/test.conf" <<'EOF'
[Service]
WatchdogSec=3s
TimeoutAbortSec=2s
EOF

# Boot (recipe step 3): a private mount namespace with a tmpfs on /run/systemd/nspawn, cgroups of our own.
mkdir -p /run/systemd/nspawn
for h in unified systemd; do mkdir -p "/sys/fs/cgroup/$h/nspawn-$name"; done
(
        for h in unified systemd; do echo $BASHPID >"/sys/fs/cgroup/$h/nspawn-$name/cgroup.procs"; done
        exec unshare --mount --propagation private -- sh -c '
                mount -t tmpfs -o mode=0755 tmpfs /run/systemd/nspawn
                exec "$@"' sh \
                systemd-nspawn --boot --directory="$root" --machine="$name" --register=no --keep-unit \
                --console=read-only --private-network --system-call-filter=pidfd_getfd
) </dev/null >"$tmp/console.log" 2>&1 &
nspawn_pid=$!
leader=
booted() {
        kill -0 "$nspawn_pid" 2>/dev/null || return 1
        [ -z "$leader" ] && leader=$(pgrep -P "$nspawn_pid" | head -1)
        [ -n "$leader" ] || return 1
        case "$(nsenter -t "$leader" -a systemctl is-system-running 2>/dev/null)" in
        running | degraded) return 0 ;;
        esac
        return 1
}
if ! wait_for booted 600; then
        not_ok "systemd boots as PID 1 in the container"
        tail -20 "$tmp/console.log" | sed 's/^/# /'
        echo "1..$n"
        exit 1
fi
ok "systemd boots as PID 1 in the container ($(nsenter -t "$leader" -a systemctl --version | head -1))"
E="nsenter -t $leader -a"
ctl() { $E forgeonectl "$@"; }
$E systemd-sysusers >/dev/null 2>&1
$E systemd-tmpfiles --create >/dev/null 2>&1
$E systemctl reload dbus
$E systemctl daemon-reload

show() { $E systemctl show forgeoned -P "$1"; }
# nspawn mounts the cgroup controllers read-only in its container (on this machine's hybrid layout): a
# container needs its own cgroup below them, as it gets on a host. Writable, as the host's are, before
# forgeoned starts (its mount namespace is a copy).
if [ -n "$image_ready" ] && ! nsenter -t "$leader" -m sh -c \
        'for d in /sys/fs/cgroup/*/; do [ -L "${d%/}" ] || mount -o remount,bind,rw "$d" || exit 1; done' 2>"$tmp/remount.err"; then
        image_ready=
        image_skip="nspawn's cgroup controllers cannot be made writable: $(head -1 "$tmp/remount.err")"
fi
check "systemctl start forgeoned: active, READY=1 with its status" \
        '$E systemctl start forgeoned && [ "$(show ActiveState)" = active ] && show StatusText | grep -q "Policy generation 1"'
check "forgeonectl reaches it on the container's system bus" 'ctl daemon status | grep -q "PolicyGeneration: 1"'

ctl run --no-tty --quiet --name survivor -- /usr/local/bin/daemon-hammer getppid-forever 100 >"$tmp/w.out" 2>"$tmp/w.err" &
run_pid=$!
running() { ctl ps 2>/dev/null | grep -q "survivor *running"; }
check "a workload runs through forgeoned" 'wait_for running 100 || { sed "s/^/# /" "$tmp/w.err"; false; }'
check "its fds are in systemd's fd store" '[ "$(show NFileDescriptorStore)" -ge 7 ]'

if [ -n "$image_ready" ]; then
        ctl run --no-tty --quiet --image /srv/img:latest -- /bin/daemon-hammer getppid 1000 >"$tmp/c.out" 2>"$tmp/c.err"
        rc=$?
        check "a container runs through forgeoned under the unit (its namespaces, its system call filter)" \
                '[ $rc = 0 ] && grep -q "calls=1000 ok=1000" "$tmp/c.out" || { sed "s/^/# /" "$tmp/c.err" "$tmp/c.out"; false; }'
else
        ok "a container runs through forgeoned under the unit # SKIP ${image_skip:-umoci, openssl or jq is not installed}"
fi

cp "$src/tests/policies/daemon-b.json" "$root/etc/forgeone/policy.json"
$E systemctl reload forgeoned
check "systemctl reload: the new policy is generation 2" \
        'wait_for "ctl daemon status | grep -q \"PolicyGeneration: 2\"" 100'

$E systemctl kill --kill-who=main -s KILL forgeoned
check "kill -s KILL: systemd restarts forgeoned (NRestarts 1)" \
        'wait_for "[ \"\$(show NRestarts)\" = 1 ] && [ \"\$(show ActiveState)\" = active ]" 150'
check "the fd store handed everything back: the workload was adopted and runs" \
        'wait_for running 100 && $E journalctl -u forgeoned -o cat --no-pager | grep -q "Adopted 1 workload"'
check "the active policy survived the crash (generation 2)" 'ctl daemon status | grep -q "PolicyGeneration: 2"'

$E systemctl kill --kill-who=main -s STOP forgeoned
check "the watchdog: a stopped forgeoned is killed and restarted (NRestarts 2)" \
        'wait_for "[ \"\$(show NRestarts)\" = 2 ] && [ \"\$(show ActiveState)\" = active ]" 200 && $E journalctl -u forgeoned --no-pager | grep -qi "watchdog timeout"'
check "and the workload is adopted again" 'wait_for running 100'

$E systemctl restart forgeoned
check "systemctl restart keeps the workload (forgeoned asks systemd: a restart, not a stop)" \
        'wait_for "[ \"\$(show ActiveState)\" = active ]" 100 && wait_for running 100 && $E journalctl -u forgeoned -o cat --no-pager | grep -q "Leaving 1 workload"'

$E systemctl stop forgeoned
wait $run_pid
check "systemctl stop ends the workload" \
        '[ "$(show ActiveState)" = inactive ] && grep -q "calls=" "$tmp/w.out"'
calls=$(sed -n 's/.*calls=\([0-9]*\).*/\1/p' "$tmp/w.out")
answered=$(sed -n 's/.*ok=\([0-9]*\).*/\1/p' "$tmp/w.out")
echo "# $calls trapped calls across four lives of forgeoned"
check "every trapped call of the workload was answered across the crash, the watchdog and the restart" \
        '[ -n "$calls" ] && [ "$calls" -gt 0 ] && [ "$calls" = "$answered" ] || { sed "s/^/# /" "$tmp/w.out"; false; }'
echo "1..$n"
exit $failed
