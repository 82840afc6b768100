#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 7, class 4: calls that carry their own target past the filter, and changes made through fds opened
# read-only outside the writable areas. sendto/sendmsg/sendmmsg (MSG_FASTOPEN) and TCP_FASTOPEN_CONNECT to
# forbidden TCP addresses with a real listener; datagrams with msg_name to a forbidden unix socket path;
# web-service.json's UDP datagrams to the metadata service it quarantines; FS_IOC_SETFLAGS,
# FS_IOC_FSSETXATTR, FICLONE/FICLONERANGE, fchmod, fchown, f{set,remove}xattr (user, trusted,
# security.capability), ftruncate, fallocate, copy_file_range, sendfile, splice and shared writable mmap on
# read-only fds; LOOP_CTL_ADD, LOOP_SET_FD, LOOP_SET_STATUS64, LOOP_CLR_FD and BLK* on read-only fds of
# devices the test made. An escape is the message arriving, or the object changed. (TIOCSTI and
# TIOCLINUX: test-attack-width.sh.) TAP.
source "$(dirname "$0")/attack-lib.sh"

default=$src/policies/default.json
port=$((20000 + RANDOM % 30000))
hostip=$(ip -4 -o addr show scope global 2>/dev/null | awk '{sub("/.*", "", $4); print $4; exit}')

"$attack" listen-tcp "$port" "$W/tcp.log" >"$W/tcp.ready" 2>&1 &
started_pids+=($!)
"$attack" recv-unix "$P/dgram.sock" "$W/unix.log" >"$W/unix.ready" 2>&1 &
started_pids+=($!)
wait_line "$W/tcp.ready" LISTENING 10
wait_line "$W/unix.ready" LISTENING 10

# arrived LOG PREFIX OUT: each CALL line of OUT is a test: the message it sent must not be in LOG.
arrived() {
        local log=$1 prefix=$2 out=$3 marker=$4 id rc
        while read -r _ id rc _; do
                if grep -qx "$marker:$id" "$log" 2>/dev/null; then
                        not_ok "$prefix $id: the message reached the forbidden address" "$rc"
                else
                        ok "$prefix $id: nothing arrived ($rc)"
                fi
        done < <(grep '^CALL ' "$out")
        results "$prefix" "$out"
}

# --- run --local
# A control first: loopback is allowed, so this message must arrive (the listener works).
run_local "$default" "$W/tcp-allowed" -- "$attack" tcp-send loopback "127.0.0.1:$port"
sleep 0.3
if grep -q "FOTCP:tcp-loopback-connect" "$W/tcp.log"; then ok "local: the listener receives an allowed connection"
else not_ok "local: the listener receives an allowed connection" "$(cat "$W/tcp-allowed.err" | tail -3)"; fi
if [ -n "$hostip" ]; then
        run_local "$default" "$W/tcp-host" -- "$attack" tcp-send host "$hostip:$port"
        sleep 0.3
        arrived "$W/tcp.log" "local default.json:" "$W/tcp-host" FOTCP
else
        skip_test "local: a forbidden host address" "no global IPv4 address here"
fi
if [ -n "$hostip" ]; then
        # The same address v4-mapped, through an IPv6 socket (the policy judges it as the IPv4 address).
        run_local "$default" "$W/tcp-mapped" -- "$attack" tcp-send mapped "[::ffff:$hostip]:$port"
        sleep 0.3
        arrived "$W/tcp.log" "local default.json:" "$W/tcp-mapped" FOTCP
fi

run_local "$default" "$W/unix-local" -- "$attack" unix-send prot "$P/dgram.sock"
sleep 0.2
arrived "$W/unix.log" "local default.json:" "$W/unix-local" FOUNIX

cp "$P/passwd" "$W/passwd.orig"
run_local "$default" "$W/rofd-local" -- "$attack" ro-fd local "$P/passwd" "$P/prog" "$P/dir"
results "local default.json:" "$W/rofd-local"
chattr -ia "$P/passwd" 2>/dev/null
if cmp -s "$P/passwd" "$W/passwd.orig"; then ok "local: the protected file's content is unchanged"
else not_ok "local: the protected file's content is unchanged"; fi

# Devices: an index for LOOP_CTL_ADD, an unbound loop device, a loop device bound to a file of the test.
if [ -e /dev/loop-control ] && command -v losetup >/dev/null; then
        base=$((200 + RANDOM % 40))
        lca=$base; ub=$((base + 1)); bd=$((base + 2))
        for i in $lca $ub $bd; do [ -e /dev/loop$i ] && { skip_test "devices" "loop$i exists"; bd=; break; }; done
fi
if [ -n "${bd:-}" ]; then
        "$attack" loopctl add "$ub" && loops+=("$ub")
        "$attack" loopctl add "$bd" && loops+=("$bd")
        loops+=("$lca")
        head -c 1048576 /dev/zero | tr '\0' '\252' >"$W/loopfile"
        losetup "/dev/loop$bd" "$W/loopfile"
        run_local "$default" "$W/dev-local" -- "$attack" devices "$lca" "/dev/loop$ub" "/dev/loop$bd" "$P/passwd"
        results "local default.json:" "$W/dev-local"
        while read -r _ id rc _; do
                if [ "$rc" != rc=-1 ]; then # loop_ctl_add returns the new index
                        not_ok "local default.json: $id done through a read-only fd" "$(grep "^CALL $id " "$W/dev-local")"
                else
                        ok "local default.json: $id held ($rc)"
                fi
        done < <(grep '^CALL ' "$W/dev-local")
        [ -e "/sys/block/loop$lca" ] && not_ok "local: no loop$lca was created" || ok "local: no loop$lca was created"
        if [ -e "/sys/block/loop$ub/loop/backing_file" ]; then
                not_ok "local: loop$ub is not bound to the protected file" "$(cat /sys/block/loop$ub/loop/backing_file)"
        else ok "local: loop$ub is not bound to the protected file"; fi
        if [ "$(head -c 4096 "$W/loopfile" | tr -d '\252' | wc -c)" = 0 ]; then ok "local: loop$bd's data is unchanged"
        else not_ok "local: loop$bd's data is unchanged (BLKDISCARD/BLKZEROOUT)"; fi
else
        skip_test "local: loop and block ioctls" "no /dev/loop-control or losetup, or no free indices"
fi

# --- network configuration through socket ioctls (SIOCSIFFLAGS), in a network namespace of the test's own
if command -v unshare >/dev/null && command -v ip >/dev/null; then
        unshare -n bash -c "ip link set lo up && '$ctl' run --local --quiet --policy '$default' -- '$attack' netif lo \
                >'$W/netif' 2>'$W/netif.err'; ip -o link show lo >'$W/netif.lo'"
        results "local default.json:" "$W/netif"
        if grep -q '[<,]UP[,>]' "$W/netif.lo"; then ok "local: the interface is still up"
        else not_ok "local: the workload took a network interface down (SIOCSIFFLAGS)" "$(cat "$W/netif.lo")"; fi
else
        skip_test "local: socket ioctls" "needs unshare and ip"
fi

# --- web-service.json: UDP to the metadata service it quarantines connect and sendto for, in a network
# namespace of the test's own where 169.254.169.254 is on lo and a receiver listens.
if [ ! -e /srv/app ] && command -v unshare >/dev/null && command -v ip >/dev/null; then
        mkdir -p /srv/app/bin && created_srv=1
        cp "$attack" /srv/app/bin/fo-attack
        unshare -n bash -c "ip link set lo up && ip addr add 169.254.169.254/32 dev lo &&
                { '$attack' listen-udp 80 '$W/udp.log' >'$W/udp.ready' & } &&
                { '$attack' listen-tcp 81 '$W/tcp-meta.log' >'$W/tcpm.ready' & } && sleep 0.3 &&
                '$ctl' run --local --quiet --identity web --policy '$src/policies/web-service.json' -- \
                        /srv/app/bin/fo-attack tcp-send metadata 169.254.169.254:81 >'$W/web-tcp' 2>'$W/web-tcp.err';
                '$ctl' run --local --quiet --identity web --policy '$src/policies/web-service.json' -- \
                        /srv/app/bin/fo-attack udp-send metadata 169.254.169.254:80 >'$W/web-udp' 2>'$W/web-udp.err';
                sleep 0.3; kill %1 %2"
        rm -rf /srv/app && created_srv=
        arrived "$W/tcp-meta.log" "local web-service.json (identity web):" "$W/web-tcp" FOTCP
        arrived "$W/udp.log" "local web-service.json (identity web):" "$W/web-udp" FOUDP
else
        skip_test "web-service.json metadata service" "needs unshare and ip, and no /srv/app on this host"
fi

# --- containers
if image_build; then
        if [ -n "$hostip" ]; then
                run_container "$default" "$W/ct-tcp-host" --network host -- /bin/attack tcp-send ct-host "$hostip:$port"
                sleep 0.3
                arrived "$W/tcp.log" "container default.json (--network host):" "$W/ct-tcp-host" FOTCP
        fi
        if [ -n "$hostip" ]; then
                run_container "$default" "$W/ct-tcp-mapped" --network host -- /bin/attack tcp-send ct-mapped \
                        "[::ffff:$hostip]:$port"
                sleep 0.3
                arrived "$W/tcp.log" "container default.json (--network host):" "$W/ct-tcp-mapped" FOTCP
        else
                skip_test "container: a forbidden host address" "no global IPv4 address here"
        fi

        # A datagram socket the test binds inside the container's root, where no policy area allows it.
        run_container "$default" "$W/ct-unix" --name "fo-attack-unix-$$" -- /bin/attack unix-send ct /srv/dgram.sock wait &
        ctr=$!
        started_pids+=("$ctr")
        cpid=$(container_pid "fo-attack-unix-$$")
        if [ -n "$cpid" ]; then
                "$attack" recv-unix "/proc/$cpid/root/srv/dgram.sock" "$W/ct-unix.log" >"$W/ctu.ready" 2>&1 &
                started_pids+=($!)
        fi
        wait "$ctr"
        sleep 0.2
        arrived "$W/ct-unix.log" "container default.json:" "$W/ct-unix" FOUNIX

        run_container "$default" "$W/ct-rofd" -- /bin/attack ro-fd container /etc/decoy /opt/forbidden/prog /etc/protdir
        results "container default.json:" "$W/ct-rofd"
else
        skip_test "container mode" "needs umoci and busybox"
fi

finish
