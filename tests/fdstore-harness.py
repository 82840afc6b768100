#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""
The part of a service manager forgeoned relies on, for tests without
systemd: the sd_notify socket (READY=1, STATUS=, RELOADING=1, STOPPING=1,
WATCHDOG=1), the fd store (FDSTORE=1 with FDNAME=, FDSTOREREMOVE=1) and
LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID on every start, a restart when the
service dies (Restart=always, RestartSec=0.2), and child subreaping (it
plays PID 1 for the workloads a dead forgeoned leaves behind).

    fdstore-harness.py STATEDIR -- COMMAND [ARGS...]

STATEDIR gets: pid (the service's pid, rewritten at each start), ready
(the number of READY=1 received), starts (how many starts), log (every
notification, one per line), fds (the names in the store after each
change). SIGTERM stops the service (SIGTERM, then SIGKILL after 20 s) and
the harness; SIGUSR1 asks for no restart after the next death (a stop).
The real systemd is tested in nspawn (test-daemon-systemd.sh): this
covers the same protocol where systemd cannot be PID 1.
"""
import ctypes
import os
import select
import signal
import socket
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def main():
    sep = sys.argv.index("--")
    statedir = sys.argv[1]
    cmd = sys.argv[sep + 1:]
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    sock_path = os.path.join(statedir, "notify.sock")
    if os.path.exists(sock_path):
        os.unlink(sock_path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    sock.bind(sock_path)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)

    store = {}  # name -> list of fds (the store keeps every fd given under a name, as systemd does)
    state = {"ready": 0, "starts": 0, "pid": None, "stopping": False, "no_restart": False}
    logf = open(os.path.join(statedir, "log"), "a", buffering=1)

    def write(name, value):
        tmp = os.path.join(statedir, name + ".tmp")
        with open(tmp, "w") as f:
            f.write(str(value) + "\n")
        os.rename(tmp, os.path.join(statedir, name))

    def write_fds():
        write("fds", " ".join(sorted(store.keys())))

    def start():
        names, fds = [], []
        for name in sorted(store):
            for fd in store[name]:
                names.append(name)
                fds.append(fd)
        pid = os.fork()
        if pid == 0:
            try:
                # The store's fds at 3.., inheritable, in order.
                moved = [os.dup(fd) for fd in fds]
                for i, fd in enumerate(moved):
                    os.dup2(fd, 3 + i, inheritable=True)
                os.closerange(3 + len(moved), 65536)
                env = dict(os.environ)
                env["NOTIFY_SOCKET"] = sock_path
                env.pop("LISTEN_FDS", None)
                env.pop("LISTEN_FDNAMES", None)
                if fds:
                    env["LISTEN_FDS"] = str(len(fds))
                    env["LISTEN_FDNAMES"] = ":".join(names)
                    env["LISTEN_PID"] = str(os.getpid())
                os.execvpe(cmd[0], cmd, env)
            except BaseException as e:  # noqa: BLE001
                print("harness: cannot start:", e, file=sys.stderr)
            os._exit(127)
        state["pid"] = pid
        state["starts"] += 1
        write("pid", pid)
        write("starts", state["starts"])
        logf.write("start pid=%d fds=%d\n" % (pid, len(fds)))

    def on_message(data, fds):
        text = data.decode(errors="replace")
        lines = text.split("\n")
        fields = dict(line.split("=", 1) for line in lines if "=" in line)
        logf.write("notify " + " ".join(l for l in lines if l) + (" +%dfd" % len(fds) if fds else "") + "\n")
        if fields.get("FDSTORE") == "1":
            name = fields.get("FDNAME", "stored")
            store.setdefault(name, []).extend(fds)
            fds = []
            write_fds()
        if fields.get("FDSTOREREMOVE") == "1":
            for fd in store.pop(fields.get("FDNAME", ""), []):
                os.close(fd)
            write_fds()
        if fields.get("READY") == "1":
            state["ready"] += 1
            write("ready", state["ready"])
        for fd in fds:
            os.close(fd)

    def on_term(signum, frame):
        state["stopping"] = True
        if state["pid"]:
            try:
                os.kill(state["pid"], signal.SIGTERM)
            except ProcessLookupError:
                pass

    def on_usr1(signum, frame):
        state["no_restart"] = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGCHLD, lambda s, f: None)
    start()
    deadline = None
    while True:
        try:
            r, _, _ = select.select([sock], [], [], 0.05)
        except InterruptedError:
            r = []
        if r:
            fds = []
            data, anc, _, _ = sock.recvmsg(4096, socket.CMSG_SPACE(253 * 4))
            for level, typ, payload in anc:
                if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                    n = len(payload) - len(payload) % 4
                    fds.extend(int.from_bytes(payload[i:i + 4], sys.byteorder) for i in range(0, n, 4))
            on_message(data, fds)
        # Reap: the service, and the orphans we inherit as subreaper.
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid = 0
            if pid == 0:
                break
            if pid == state["pid"]:
                logf.write("exit pid=%d status=%d\n" % (pid, status))
                state["pid"] = None
                if state["stopping"] or state["no_restart"]:
                    # A stop empties the store, as systemd's does.
                    for name in list(store):
                        for fd in store.pop(name):
                            os.close(fd)
                    write_fds()
                    if state["stopping"]:
                        return 0
                    state["no_restart"] = False
                    continue
                time.sleep(0.2)
                start()
        if state["stopping"] and state["pid"]:
            if deadline is None:
                deadline = time.monotonic() + 20
            elif time.monotonic() > deadline:
                os.kill(state["pid"], signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main())
