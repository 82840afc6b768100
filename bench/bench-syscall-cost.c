/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-syscall-cost: what each syscall of an emulated open costs the supervising thread beyond the
 * floor's (bench/README.md lists them with their reasons), measured in a loop on this thread, pinned to
 * one CPU, each against a trapped-nothing getppid in the same round. Also the two ways a path through a
 * symlink is resolved: in steps (path_resolve_in_root()) and by the kernel's own walk
 * (path_resolve_by_kernel()), on a tree like a merged /usr ("/lib" -> "usr/lib", a library's .so link).
 * Only ratios are meaningful on shared machines. Needs no root.
 *
 *   bench-syscall-cost [--iterations N]
 */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "forgeone/path-resolve.h"
#include "forgeone/seccomp-notify.h"

#include "bench-util.h"

#define ROUNDS 7
#define CHUNK 256

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

typedef struct Ctx {
        pid_t child;
        int pidfd, root_fd, file, opath, efd;
        char child_buf[4096];
        char tree[64];
        uint64_t child_addr;
        char fd_link[64], status[64], ns_user[64], cwd[64];
} Ctx;

typedef enum Op {
        OP_GETPPID,
        OP_POLL_PIDFD,
        OP_PVR,
        OP_OPENAT2_CLOSE,
        OP_FSTAT,
        OP_SETFL,
        OP_CLOSE,
        OP_EVENTFD,
        OP_PROBE_CLOSE,
        OP_READLINK_FD,
        OP_READLINK_CWD,
        OP_RESOLVE_STEPS,
        OP_RESOLVE_KERNEL,
        OP_CREDS_READ,
        _OP_MAX,
} Op;

static const struct {
        const char *label;
        const char *why;
} ops[_OP_MAX] = {
        [OP_GETPPID] = { "getppid", "the reference: a syscall that does nothing" },
        [OP_POLL_PIDFD] = { "poll(pidfd, 0)", "the cached credentials are still this task's" },
        [OP_PVR] = { "process_vm_readv 4 KiB", "the path (floor)" },
        [OP_OPENAT2_CLOSE] = { "openat2 IN_ROOT|NO_SYMLINKS + close", "the open (floor; its close: ADDFD's reference)" },
        [OP_FSTAT] = { "fstat", "type and device: procfs guard, FIFO, O_NONBLOCK" },
        [OP_SETFL] = { "fcntl(F_SETFL)", "the workload's status flags without O_NONBLOCK" },
        [OP_CLOSE] = { "close", "our copy, closed before SEND" },
        [OP_EVENTFD] = { "eventfd write", "wakes the event sink's drain (once per batch)" },
        [OP_PROBE_CLOSE] = { "openat2 O_PATH, following + close", "path via a symlink: the kernel's walk" },
        [OP_READLINK_FD] = { "readlink /proc/self/fd/N", "path via a symlink: its name" },
        [OP_READLINK_CWD] = { "readlink /proc/PID/cwd", "relative path: the cwd" },
        [OP_RESOLVE_STEPS] = { "resolve in steps (before)", "/lib/x/libz.so.1, lib -> usr/lib, .so link" },
        [OP_RESOLVE_KERNEL] = { "resolve by the kernel (now)", "the same path" },
        [OP_CREDS_READ] = { "credentials read", "pidfd_open, /proc/PID/status, ns/user stat" },
};

static int run_op(Ctx *x, Op op) {
        switch (op) {
        case OP_GETPPID:
                return (int) syscall(SYS_getppid);
        case OP_POLL_PIDFD: {
                struct pollfd p = { .fd = x->pidfd, .events = POLLIN };
                return poll(&p, 1, 0);
        }
        case OP_PVR: {
                char buf[4096];
                struct iovec l = { .iov_base = buf, .iov_len = sizeof buf },
                             r = { .iov_base = (void *) (uintptr_t) x->child_addr, .iov_len = sizeof buf };
                return (int) process_vm_readv(x->child, &l, 1, &r, 1, 0);
        }
        case OP_OPENAT2_CLOSE: {
                struct open_how how = {
                        .flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC,
                        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
                };
                return safe_close(openat2_raw(x->root_fd, "/usr/lib/x/libz.so.1.2", &how));
        }
        case OP_FSTAT: {
                struct stat st;
                return fstat(x->file, &st);
        }
        case OP_SETFL:
                return fcntl(x->file, F_SETFL, 0);
        case OP_EVENTFD:
                return eventfd_write(x->efd, 1);
        case OP_PROBE_CLOSE: {
                struct open_how how = {
                        .flags = O_PATH | O_CLOEXEC,
                        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
                };
                return safe_close(openat2_raw(x->root_fd, "/lib/x/libz.so.1", &how));
        }
        case OP_READLINK_FD: {
                char buf[PATH_MAX];
                return (int) readlink(x->fd_link, buf, sizeof buf);
        }
        case OP_READLINK_CWD: {
                char buf[PATH_MAX];
                return (int) readlink(x->cwd, buf, sizeof buf);
        }
        case OP_RESOLVE_STEPS: {
                _cleanup_free_ char *out = NULL, *walk = NULL;
                return path_resolve_in_root(x->root_fd, NULL, NULL, "/lib/x/libz.so.1", 0, &out, &walk, NULL);
        }
        case OP_RESOLVE_KERNEL: {
                _cleanup_free_ char *out = NULL;
                return path_resolve_by_kernel(x->root_fd, x->tree, NULL, "/lib/x/libz.so.1", &out);
        }
        case OP_CREDS_READ: {
                char buf[4096];
                struct stat st;
                int pidfd = pidfd_open_raw(x->child, PIDFD_THREAD), fd = open(x->status, O_RDONLY | O_CLOEXEC);
                if (fd >= 0) {
                        (void) !read(fd, buf, sizeof buf);
                        close(fd);
                }
                (void) stat(x->ns_user, &st);
                safe_close(pidfd);
                return 0;
        }
        default:
                return -EINVAL;
        }
}

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* ns per call of op over n iterations. close is timed on descriptors made beforehand, in chunks. */
static double measure(Ctx *x, Op op, long n) {
        uint64_t t0, total = 0;

        if (op == OP_CLOSE) {
                int fds[CHUNK];
                for (long done = 0; done < n; done += CHUNK) {
                        for (int i = 0; i < CHUNK; i++)
                                fds[i] = fcntl(x->file, F_DUPFD_CLOEXEC, 3);
                        t0 = now_ns();
                        for (int i = 0; i < CHUNK; i++)
                                close(fds[i]);
                        total += now_ns() - t0;
                }
                return (double) total / (double) (n - n % CHUNK + (n % CHUNK ? CHUNK : 0));
        }
        t0 = now_ns();
        for (long i = 0; i < n; i++)
                (void) run_op(x, op);
        return (double) (now_ns() - t0) / (double) n;
}

static int make_tree(Ctx *x) {
        static const char *const dirs[] = { "usr", "usr/lib", "usr/lib/x" };
        char p[256];
        int fd;

        snprintf(x->tree, sizeof x->tree, "/tmp/fo-bench-cost-XXXXXX");
        if (!mkdtemp(x->tree))
                return -errno;
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                snprintf(p, sizeof p, "%s/%s", x->tree, dirs[i]);
                if (mkdir(p, 0755) < 0)
                        return -errno;
        }
        snprintf(p, sizeof p, "%s/usr/lib/x/libz.so.1.2", x->tree);
        fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        close(fd);
        snprintf(p, sizeof p, "%s/usr/lib/x/libz.so.1", x->tree);
        if (symlink("libz.so.1.2", p) < 0)
                return -errno;
        snprintf(p, sizeof p, "%s/lib", x->tree);
        if (symlink("usr/lib", p) < 0)
                return -errno;
        x->root_fd = open(x->tree, O_PATH | O_DIRECTORY | O_CLOEXEC);
        return x->root_fd < 0 ? -errno : 0;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "iterations", required_argument, NULL, 'n' },
                {},
        };
        Ctx x = { .pidfd = -EBADF, .root_fd = -EBADF, .file = -EBADF, .opath = -EBADF, .efd = -EBADF };
        double ns[_OP_MAX][ROUNDS], ratio[_OP_MAX][ROUNDS];
        long n = 20000;
        cpu_set_t set;
        char cmd[128];
        int c, r = 1;

        while ((c = getopt_long(argc, argv, "n:", options, NULL)) >= 0)
                switch (c) {
                case 'n':
                        n = MAX(CHUNK, atol(optarg));
                        break;
                default:
                        return 2;
                }

        CPU_ZERO(&set);
        CPU_SET(0, &set);
        (void) sched_setaffinity(0, sizeof set, &set);

        /* A task to read from, as the supervisor reads its workload: a child that waits. */
        x.child_addr = (uint64_t) (uintptr_t) x.child_buf;
        x.child = fork();
        if (x.child < 0)
                return 1;
        if (x.child == 0) {
                pause();
                _exit(0);
        }
        x.pidfd = pidfd_open_raw(x.child, PIDFD_THREAD);
        snprintf(x.status, sizeof x.status, "/proc/%d/status", x.child);
        snprintf(x.ns_user, sizeof x.ns_user, "/proc/%d/ns/user", x.child);
        snprintf(x.cwd, sizeof x.cwd, "/proc/%d/cwd", x.child);
        if (x.pidfd < 0 || make_tree(&x) < 0) {
                fprintf(stderr, "bench-syscall-cost: cannot set up: %m\n");
                goto finish;
        }
        {
                struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
                x.opath = openat2_raw(x.root_fd, "/lib/x/libz.so.1", &how);
                x.file = openat(x.root_fd, "usr/lib/x/libz.so.1.2", O_RDONLY | O_CLOEXEC);
                x.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
                snprintf(x.fd_link, sizeof x.fd_link, "/proc/self/fd/%d", x.opath);
        }
        if (x.opath < 0 || x.file < 0 || x.efd < 0) {
                fprintf(stderr, "bench-syscall-cost: cannot set up: %m\n");
                goto finish;
        }

        for (int round = 0; round < ROUNDS; round++)
                for (Op op = 0; op < _OP_MAX; op++) {
                        long k = op >= OP_RESOLVE_STEPS ? n / 4 : n;
                        double ref = measure(&x, OP_GETPPID, k);
                        ns[op][round] = measure(&x, op, k);
                        ratio[op][round] = ns[op][round] / ref;
                        if (op == OP_EVENTFD) {
                                uint64_t v;
                                (void) eventfd_read(x.efd, &v);
                        }
                }

        printf("%-38s %8s %8s  %s\n", "operation (pinned, one thread)", "ns", "x getppid", "why");
        for (Op op = 0; op < _OP_MAX; op++)
                printf("%-38s %8.0f %8.2f  %s\n", ops[op].label, bench_median_double(ns[op], ROUNDS),
                       bench_median_double(ratio[op], ROUNDS), ops[op].why);
        printf("(%ld iterations, %d interleaved rounds, medians; the resolutions a quarter of the iterations)\n", n,
               ROUNDS);
        r = 0;
finish:
        if (x.child > 0) {
                kill(x.child, SIGKILL);
                (void) waitpid(x.child, NULL, 0);
        }
        if (x.tree[0]) {
                snprintf(cmd, sizeof cmd, "rm -rf '%s'", x.tree);
                (void) !system(cmd);
        }
        safe_close(x.pidfd);
        safe_close(x.root_fd);
        safe_close(x.file);
        safe_close(x.opath);
        safe_close(x.efd);
        return r;
}
