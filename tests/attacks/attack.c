/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The attacker of the issue 7 suites: one static program that runs as a workload under
 * "forgeonectl run --local" and in containers (it is copied into the test image), and a few helpers
 * the harness runs outside (a pty, a listener, fd holders, loop device control).
 *
 * Every attack prints what it observed, one line each, written with one write(2):
 *   RESULT <id> held|ESCAPED|BYPASSED|skip <detail>
 *                                              a single attempt; ESCAPED only on an effect, BYPASSED when
 *                                              an errno only the kernel gives past the filter proves the
 *                                              policy's check let the call through
 *   RACE <id> attempts=<n> escapes=<m> <detail> a race; an escape is an effect seen after the call
 *   CALL <id> rc=<r> errno=<name> <detail>      a call whose effect the harness checks itself
 * An effect is what the kernel shows afterwards (a hard link to the protected inode, its changed mode,
 * an fd of the secret's inode, the secret's bytes, a forbidden program's exit status), never a time.
 * Attacks that change things only touch files and devices the harness made for the purpose.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/fsverity.h>
#include <net/if.h>
#include <linux/ioprio.h>
#include <linux/kcmp.h>
#include <linux/loop.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <sys/shm.h>
#include <sys/msg.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif
#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif
#ifndef SCHED_IDLE
#define SCHED_IDLE 5
#endif
#ifndef FS_IOC_FSGETXATTR
#define FS_IOC_FSGETXATTR _IOR('X', 31, struct fsxattr)
#define FS_IOC_FSSETXATTR _IOW('X', 32, struct fsxattr)
#endif
#ifndef FS_XFLAG_NODUMP
#define FS_XFLAG_NODUMP 0x00000080
#endif
#ifndef TIOCL_GETSHIFTSTATE
#define TIOCL_GETSHIFTSTATE 6
#endif

#define HB     ((uint64_t) 1 << 32) /* a high bit the kernel ignores in an int argument */
#define HB_ALL 0xffffffff00000000ull

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define streq(a, b)   (strcmp((a), (b)) == 0)

/* ---- output ---------------------------------------------------------------------------------------- */

static void emit(const char *kind, const char *id, const char *verdict, const char *fmt, va_list ap) {
        char detail[1024], line[1400];
        int n;

        vsnprintf(detail, sizeof detail, fmt, ap);
        for (char *p = detail; *p; p++)
                if (*p == '\n')
                        *p = ' ';
        n = snprintf(line, sizeof line, "%s %s %s %s\n", kind, id, verdict, detail);
        if (n > (int) sizeof line - 1)
                n = (int) sizeof line - 1;
        (void) !write(STDOUT_FILENO, line, (size_t) n);
}

__attribute__((format(printf, 3, 4))) static void result(const char *id, bool escaped, const char *fmt,
                                                         ...) {
        va_list ap;

        va_start(ap, fmt);
        emit("RESULT", id, escaped ? "ESCAPED" : "held", fmt, ap);
        va_end(ap);
}

/* The policy's check did not stop the call, proven by an answer only the kernel gives past the filter;
 * something else (a kernel rule) kept the effect from happening this time. */
__attribute__((format(printf, 2, 3))) static void bypassed(const char *id, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        emit("RESULT", id, "BYPASSED", fmt, ap);
        va_end(ap);
}

__attribute__((format(printf, 2, 3))) static void skip(const char *id, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        emit("RESULT", id, "skip", fmt, ap);
        va_end(ap);
}

__attribute__((format(printf, 4, 5))) static void call_report(const char *id, long rc, int err,
                                                              const char *fmt, ...) {
        char v[64];
        va_list ap;

        snprintf(v, sizeof v, "rc=%ld errno=%s", rc, rc < 0 ? strerrorname_np(err) ?: "?" : "0");
        va_start(ap, fmt);
        emit("CALL", id, v, fmt, ap);
        va_end(ap);
}

static void race_report(const char *id, unsigned long attempts, unsigned long escapes, const char *detail) {
        char line[512];
        int n = snprintf(line, sizeof line, "RACE %s attempts=%lu escapes=%lu %s\n", id, attempts, escapes,
                         detail);

        (void) !write(STDOUT_FILENO, line, (size_t) n);
}

static const char *en(int e) {
        return strerrorname_np(e) ?: "?";
}

/* ---- small helpers --------------------------------------------------------------------------------- */

static uint64_t fnv64(const void *p, size_t n) {
        const unsigned char *b = p;
        uint64_t h = 0xcbf29ce484222325ull;

        for (size_t i = 0; i < n; i++) {
                h ^= b[i];
                h *= 0x100000001b3ull;
        }
        return h;
}

static ssize_t read_all(int fd, char *buf, size_t size) {
        size_t done = 0;

        while (done < size) {
                ssize_t k = read(fd, buf + done, size - done);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return done > 0 ? (ssize_t) done : -1;
                }
                if (k == 0)
                        break;
                done += (size_t) k;
        }
        return (ssize_t) done;
}

/* Reads a file through the workload's own open(2); -errno when that fails. */
static ssize_t read_file(const char *path, char *buf, size_t size) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = read_all(fd, buf, size - 1);
        close(fd);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        return n;
}

static bool contains(const char *buf, size_t n, const char *needle) {
        return memmem(buf, n, needle, strlen(needle)) != NULL;
}

static void sleep_us(long us) {
        struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Waits for a file to appear, with stat(2) only: the kernel decides stat under every shipped policy, so
 * this works while the supervisor is stopped. */
static bool wait_file(const char *path, int seconds) {
        struct stat st;

        for (int i = 0; i < seconds * 100; i++) {
                if (stat(path, &st) == 0)
                        return true;
                sleep_us(10000);
        }
        return false;
}

static void *shared_alloc(size_t n) {
        void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

        if (p == MAP_FAILED) {
                dprintf(2, "attack: mmap: %m\n");
                exit(2);
        }
        return p;
}

static bool same_inode(const struct stat *a, const struct stat *b) {
        return a->st_ino == b->st_ino && a->st_dev == b->st_dev;
}

static bool fd_is_inode(int fd, const struct stat *want) {
        struct stat st;

        return fstat(fd, &st) == 0 && same_inode(&st, want);
}

static int send_fd(int sock, int fd) {
        char c = 'x';
        struct iovec iov = { .iov_base = &c, .iov_len = 1 };
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u = {};
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf
        };
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof fd);
        return sendmsg(sock, &mh, 0) == 1 ? 0 : -errno;
}

static int recv_fd(int sock) {
        char c;
        struct iovec iov = { .iov_base = &c, .iov_len = 1 };
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u = {};
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf
        };
        struct cmsghdr *cm;
        int fd;

        if (recvmsg(sock, &mh, 0) != 1)
                return -1;
        cm = CMSG_FIRSTHDR(&mh);
        if (!cm || cm->cmsg_type != SCM_RIGHTS)
                return -1;
        memcpy(&fd, CMSG_DATA(cm), sizeof fd);
        return fd;
}

/* NAME with every "@PID@" replaced by pid. */
static void subst_pid(char *dst, size_t size, const char *name, pid_t pid) {
        size_t o = 0;

        for (const char *p = name; *p && o + 1 < size;) {
                if (strncmp(p, "@PID@", 5) == 0) {
                        int k = snprintf(dst + o, size - o, "%d", (int) pid);
                        o += k > 0 ? (size_t) k : 0;
                        p += 5;
                } else
                        dst[o++] = *p++;
        }
        dst[o < size ? o : size - 1] = 0;
}

static unsigned long parse_ul(const char *s) {
        return strtoul(s, NULL, 0);
}

/* ==== class 1: argument width ============================================================================
 */

/* A helper answers every notification of a listener it is handed with CONTINUE. */
static void notif_continue_loop(int lfd) {
        for (;;) {
                struct seccomp_notif req;
                struct seccomp_notif_resp resp;

                memset(&req, 0, sizeof req);
                if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
                        if (errno == EINTR || errno == ENOENT)
                                continue;
                        _exit(0);
                }
                memset(&resp, 0, sizeof resp);
                resp.id = req.id;
                resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
                (void) ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
        }
}

typedef struct ListenerOutcome {
        long seccomp_rc;
        int seccomp_errno;
        int open_errno;
        bool listener;
        bool read_secret;
        uint64_t secret_hash;
} ListenerOutcome;

/* Installs a filter of our own that sends open/openat to a listener of ours (seccomp(op, flags) as given),
 * hands the listener to a helper that answers CONTINUE, and opens the secret. With the supervisor's
 * filter and ours both saying NOTIFY, the kernel asks the newest filter's listener: ours. */
static void own_listener(uint64_t op, uint64_t flags, const char *secret, ListenerOutcome *result_out) {
        static ListenerOutcome *out; /* shared with the child that installs the filter */
        int sv[2];
        pid_t helper, child;

        if (!out)
                out = shared_alloc(sizeof *out);
        memset(out, 0, sizeof *out);
        out->seccomp_rc = -1;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
                out->seccomp_errno = errno;
                return;
        }
        helper = fork();
        if (helper == 0) {
                int lfd;

                close(sv[0]);
                lfd = recv_fd(sv[1]);
                if (lfd < 0)
                        _exit(0);
                notif_continue_loop(lfd);
                _exit(0);
        }
        close(sv[1]);
        child = fork();
        if (child == 0) {
                struct sock_filter insns[] = {
                        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat, 2, 0),
                        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_open, 1, 0),
                        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
                };
                struct sock_fprog prog = { .len = ELEMENTSOF(insns), .filter = insns };
                char buf[4096];
                long fd;
                int s;
                ssize_t n;

                fd = syscall(SYS_seccomp, op, flags, &prog);
                out->seccomp_rc = fd;
                out->seccomp_errno = fd < 0 ? errno : 0;
                if (fd < 0)
                        _exit(0);
                out->listener = true;
                if (send_fd(sv[0], (int) fd) < 0)
                        _exit(0);
                s = open(secret, O_RDONLY | O_CLOEXEC);
                if (s < 0) {
                        out->open_errno = errno;
                        _exit(0);
                }
                n = read_all(s, buf, sizeof buf);
                if (n > 0) {
                        out->read_secret = true;
                        out->secret_hash = fnv64(buf, (size_t) n);
                }
                _exit(0);
        }
        if (child > 0)
                (void) waitpid(child, NULL, 0);
        if (helper > 0) {
                kill(helper, SIGKILL);
                (void) waitpid(helper, NULL, 0);
        }
        close(sv[0]);
        *result_out = *out;
}

static void report_listener(const char *id, const ListenerOutcome *o) {
        if (o->read_secret)
                result(id, true,
                       "own listener installed (seccomp rc=%ld), secret read through it: fnv64=%016" PRIx64,
                       o->seccomp_rc, o->secret_hash);
        else if (o->listener)
                result(id, true, "own listener installed (seccomp rc=%ld); the open through it failed: %s",
                       o->seccomp_rc, en(o->open_errno));
        else if (o->seccomp_errno == EBUSY)
                bypassed(id, "the filter let seccomp(NEW_LISTENER) through: EBUSY is the kernel's answer "
                             "(one listener "
                             "per filter chain, the supervisor's is still attached), the builtin rule's is "
                             "EPERM");
        else
                result(id, false, "seccomp refused: %s", en(o->seccomp_errno));
}

static void width_seccomp(const char *secret) {
        static const struct {
                const char *id;
                uint64_t op, flags;
        } v[] = {
                { "seccomp-listener-plain", SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER },
                { "seccomp-listener-op-bit32", SECCOMP_SET_MODE_FILTER | HB,
                  SECCOMP_FILTER_FLAG_NEW_LISTENER },
                { "seccomp-listener-op-hi32", SECCOMP_SET_MODE_FILTER | HB_ALL,
                  SECCOMP_FILTER_FLAG_NEW_LISTENER },
                { "seccomp-listener-op-bit63", SECCOMP_SET_MODE_FILTER | (1ull << 63),
                  SECCOMP_FILTER_FLAG_NEW_LISTENER },
                { "seccomp-listener-flags-bit32", SECCOMP_SET_MODE_FILTER,
                  SECCOMP_FILTER_FLAG_NEW_LISTENER | HB },
                { "seccomp-listener-flags-hi32", SECCOMP_SET_MODE_FILTER,
                  SECCOMP_FILTER_FLAG_NEW_LISTENER | HB_ALL },
                { "seccomp-listener-both-hi32", SECCOMP_SET_MODE_FILTER | HB_ALL,
                  SECCOMP_FILTER_FLAG_NEW_LISTENER | HB_ALL },
                { "seccomp-listener-tsync-op-bit32", SECCOMP_SET_MODE_FILTER | HB,
                  SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_TSYNC_ESRCH |
                          SECCOMP_FILTER_FLAG_TSYNC },
        };

        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                ListenerOutcome o;

                own_listener(v[i].op, v[i].flags, secret, &o);
                report_listener(v[i].id, &o);
        }
}

/* A filter without a listener (prctl(PR_SET_SECCOMP) has no flags): RET_USER_NOTIF then means ENOSYS. */
static void width_prctl_seccomp(const char *secret) {
        static const uint64_t options[] = { PR_SET_SECCOMP, PR_SET_SECCOMP | HB, PR_SET_SECCOMP | HB_ALL };

        for (size_t i = 0; i < ELEMENTSOF(options); i++) {
                char id[64];
                pid_t c;
                int st = 0;

                snprintf(id, sizeof id, "prctl-seccomp-notify-%zu", i);
                c = fork();
                if (c == 0) {
                        struct sock_filter insns[] = {
                                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat, 0, 1),
                                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
                                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                        };
                        struct sock_fprog prog = { .len = ELEMENTSOF(insns), .filter = insns };
                        char buf[256];

                        if (syscall(SYS_prctl, options[i], (unsigned long) SECCOMP_MODE_FILTER, &prog, 0,
                                    0) < 0)
                                _exit(10);
                        _exit(read_file(secret, buf, sizeof buf) > 0 ? 0 : 11);
                }
                (void) waitpid(c, &st, 0);
                if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                        result(id, true, "a filter installed with prctl let the secret be read");
                else
                        result(id, false, "prctl filter: %s",
                               WIFEXITED(st) && WEXITSTATUS(st) == 10
                                       ? "refused"
                                       : "installed, but no listener: the open failed");
        }
}

/* FO_ATTACK_ALLOWED_SOCKETS: comma-separated socket kinds the policy under test allows by design. */
static bool allowed_by_policy(const char *kind) {
        const char *list = getenv("FO_ATTACK_ALLOWED_SOCKETS");
        size_t n = strlen(kind);

        for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
                if (strncmp(p, kind, n) == 0 && (p[n] == ',' || p[n] == 0))
                        return true;
        return false;
}

static void width_sockets(void) {
        static const struct {
                const char *name;
                int domain, type, protocol;
        } denied[] = {
                { "inet-dgram", AF_INET, SOCK_DGRAM, 0 },
                { "inet-raw", AF_INET, SOCK_RAW, IPPROTO_ICMP },
                { "inet6-dgram", AF_INET6, SOCK_DGRAM, 0 },
                { "inet6-raw", AF_INET6, SOCK_RAW, IPPROTO_ICMPV6 },
                { "packet", AF_PACKET, SOCK_RAW, 0 },
                { "netlink-route", AF_NETLINK, SOCK_RAW, NETLINK_ROUTE },
                { "netlink-audit", AF_NETLINK, SOCK_RAW, NETLINK_AUDIT },
                { "inet-seqpacket", AF_INET, SOCK_SEQPACKET, IPPROTO_SCTP },
        };
        static const struct {
                const char *name;
                uint64_t dom, type;
        } widen[] = {
                { "plain", 0, 0 },       { "domain-bit32", HB, 0 },  { "domain-hi32", HB_ALL, 0 },
                { "type-bit32", 0, HB }, { "type-hi32", 0, HB_ALL }, { "both-hi32", HB_ALL, HB_ALL },
        };

        for (size_t i = 0; i < ELEMENTSOF(denied); i++)
                for (size_t j = 0; j < ELEMENTSOF(widen); j++) {
                        char id[96];
                        long fd;

                        snprintf(id, sizeof id, "socket-%s-%s", denied[i].name, widen[j].name);
                        fd = syscall(SYS_socket, (uint64_t) (unsigned) denied[i].domain | widen[j].dom,
                                     (uint64_t) (unsigned) denied[i].type | widen[j].type,
                                     denied[i].protocol);
                        if (fd >= 0) {
                                int dom = -1, ty = -1;
                                socklen_t l = sizeof dom;

                                (void) getsockopt((int) fd, SOL_SOCKET, SO_DOMAIN, &dom, &l);
                                l = sizeof ty;
                                (void) getsockopt((int) fd, SOL_SOCKET, SO_TYPE, &ty, &l);
                                close((int) fd);
                                /* A policy may allow a kind on purpose (web-service.json: UDP for its
                                 * resolver, every datagram's destination judged): the harness names them. */
                                if (allowed_by_policy(denied[i].name))
                                        result(id, false, "socket created, as the policy allows (its "
                                               "destinations are judged: test-attack-targets.sh)");
                                else
                                        result(id, dom == denied[i].domain,
                                               "socket created: domain %d type %d", dom, ty);
                        } else
                                result(id, false, "refused: %s", en(errno));
                }
}

/* clone(2) raw: the child reports whether it landed in namespaces of its own. */
static void width_clone(void) {
        static const struct {
                const char *id;
                uint64_t flags;
        } v[] = {
                { "clone-newuser-plain", CLONE_NEWUSER },
                { "clone-newuser-bit32", CLONE_NEWUSER | HB },
                { "clone-newuser-hi32", CLONE_NEWUSER | HB_ALL },
                { "clone-newns-newnet-plain", CLONE_NEWNS | CLONE_NEWNET },
                { "clone-newpid-plain", CLONE_NEWPID },
                { "clone-newuts-newipc-plain", CLONE_NEWUTS | CLONE_NEWIPC },
                { "clone-newcgroup-plain", CLONE_NEWCGROUP },
                { "clone-newnet-hi32", CLONE_NEWNET | HB_ALL },
        };
        struct stat me_user, me_net, me_mnt, me_pid, me_uts, me_cg;

        if (stat("/proc/self/ns/user", &me_user) < 0 || stat("/proc/self/ns/net", &me_net) < 0 ||
            stat("/proc/self/ns/mnt", &me_mnt) < 0 || stat("/proc/self/ns/pid_for_children", &me_pid) < 0 ||
            stat("/proc/self/ns/uts", &me_uts) < 0 || stat("/proc/self/ns/cgroup", &me_cg) < 0) {
                skip("clone-namespaces", "cannot stat /proc/self/ns: %s", en(errno));
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                long pid = syscall(SYS_clone, v[i].flags | SIGCHLD, 0, 0, 0, 0);
                int st = 0;

                if (pid == 0) {
                        struct stat s;
                        int mask = 0;

                        /* The child of CLONE_NEWPID is pid 1 of its namespace; the others compare links. */
                        if (stat("/proc/self/ns/user", &s) == 0 && !same_inode(&s, &me_user))
                                mask |= 1;
                        if (stat("/proc/self/ns/net", &s) == 0 && !same_inode(&s, &me_net))
                                mask |= 2;
                        if (stat("/proc/self/ns/mnt", &s) == 0 && !same_inode(&s, &me_mnt))
                                mask |= 4;
                        if (getpid() == 1)
                                mask |= 8;
                        if (stat("/proc/self/ns/uts", &s) == 0 && !same_inode(&s, &me_uts))
                                mask |= 16;
                        if (stat("/proc/self/ns/cgroup", &s) == 0 && !same_inode(&s, &me_cg))
                                mask |= 32;
                        _exit(mask);
                }
                if (pid < 0) {
                        result(v[i].id, false, "refused: %s", en(errno));
                        continue;
                }
                (void) waitpid((pid_t) pid, &st, 0);
                if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
                        result(v[i].id, true,
                               "child created in namespaces of its own (mask %#x: 1 user, 2 net, 4 mnt, 8 "
                               "pid, 16 uts, "
                               "32 cgroup) although the policy denies namespaces",
                               WEXITSTATUS(st));
                else
                        result(v[i].id, false, "child created in the same namespaces");
        }
        {
                struct clone_args {
                        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
                } ca = { .flags = CLONE_NEWUSER, .exit_signal = SIGCHLD };
                long pid = syscall(SYS_clone3, &ca, sizeof ca);

                if (pid == 0)
                        _exit(0);
                if (pid > 0) {
                        (void) waitpid((pid_t) pid, NULL, 0);
                        result("clone3-newuser", true, "clone3 created a user namespace child");
                } else
                        result("clone3-newuser", false, "refused: %s", en(errno));
        }
}

/* W^X: a mapping that is written and then run. The effect is the code's own return value, from a child
 * (a mapping that cannot run kills it with SIGSEGV). */
static void wx_try(const char *id, bool use_mprotect, uint64_t prot_extra) {
        static const unsigned char code[] = { 0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3 }; /* mov eax, 42; ret */
        pid_t c = fork();
        int st = 0;

        if (c == 0) {
                void *m;
                long r;

                if (use_mprotect) {
                        m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                        if (m == MAP_FAILED)
                                _exit(10);
                        memcpy(m, code, sizeof code);
                        r = syscall(SYS_mprotect, m, 4096,
                                    (uint64_t) (PROT_READ | PROT_WRITE | PROT_EXEC) | prot_extra);
                        if (r < 0)
                                _exit(11);
                } else {
                        r = syscall(SYS_mmap, 0, 4096,
                                    (uint64_t) (PROT_READ | PROT_WRITE | PROT_EXEC) | prot_extra,
                                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                        if (r < 0 && r > -4096)
                                _exit(11);
                        m = (void *) r;
                        memcpy(m, code, sizeof code);
                }
                _exit(((int (*)(void)) m)());
        }
        (void) waitpid(c, &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 42)
                result(id, true, "wrote code into a mapping and ran it (writable and executable at once)");
        else
                result(id, false, "%s",
                       WIFEXITED(st) ? (WEXITSTATUS(st) == 11 ? "refused" : "no mapping")
                                     : "the mapping could not run (signal)");
}

static int cmd_wx(int argc, char **argv) {
        wx_try("wx-mmap-plain", false, 0);
        wx_try("wx-mmap-bit32", false, HB);
        wx_try("wx-mmap-hi32", false, HB_ALL);
        wx_try("wx-mprotect-plain", true, 0);
        wx_try("wx-mprotect-bit32", true, HB);
        wx_try("wx-mprotect-hi32", true, HB_ALL);
        return 0;
}

/* sendto's address is a pointer (all 64 bits count): a value with only high bits set is not NULL to the
 * filter and a bad address to the kernel. EFAULT would mean the filter let it through. */
static void width_sendto(void) {
        static const struct {
                const char *id;
                uint64_t addr;
        } v[] = { { "sendto-addr-bit32", HB }, { "sendto-addr-hi32", HB_ALL } };
        int sv[2];

        if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0) {
                skip("sendto-addr", "socketpair: %s", en(errno));
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                long r = syscall(SYS_sendto, sv[0], "x", 1, 0, v[i].addr, sizeof(struct sockaddr_un));
                int e = errno;

                if (r >= 0 || e == EFAULT)
                        bypassed(v[i].id, "the no-destination rule let a non-NULL address through (%s)",
                                 r >= 0 ? "sent" : "EFAULT from the kernel");
                else
                        result(v[i].id, false, "refused: %s", en(e));
        }
        close(sv[0]);
        close(sv[1]);
}

static int cmd_width(int argc, char **argv) {
        if (argc < 1) {
                dprintf(2, "width SECRET\n");
                return 2;
        }
        width_seccomp(argv[0]);
        width_prctl_seccomp(argv[0]);
        width_sockets();
        width_clone();
        width_sendto();
        return 0;
}

/* Terminal calls: run with a pty as stdin (see pty-run). */
static void tty_inject(const char *id, uint64_t cmd) {
        char text[96];
        int ok = 0, err = 0;

        snprintf(text, sizeof text, "FOINJ:%s\n", id);
        for (const char *p = text; *p; p++) {
                if (syscall(SYS_ioctl, 0, cmd, p) == 0)
                        ok++;
                else
                        err = errno;
        }
        if (ok > 0)
                result(id, true, "TIOCSTI accepted %d of %zu characters into the terminal's input", ok,
                       strlen(text));
        else
                result(id, false, "refused: %s", en(err));
}

static int cmd_tty(int argc, char **argv) {
        struct termios t;

        if (ioctl(0, TCGETS, &t) < 0) {
                skip("tty", "stdin is not a terminal: %s", en(errno));
                return 0;
        }
        tty_inject("tiocsti-plain", TIOCSTI);
        tty_inject("tiocsti-bit32", TIOCSTI | HB);
        tty_inject("tiocsti-hi32", TIOCSTI | HB_ALL);
        tty_inject("tiocsti-bit63", TIOCSTI | (1ull << 63));
        tty_inject("tiocsti-bit40", TIOCSTI | (1ull << 40));
        {
                char sub = TIOCL_GETSHIFTSTATE;
                long r = syscall(SYS_ioctl, 0, (uint64_t) TIOCLINUX, &sub);
                int e = errno;

                if (r == 0)
                        result("tioclinux-stdin", true, "TIOCLINUX answered on the terminal");
                else
                        result("tioclinux-stdin", false,
                               "refused: %s (the test terminal is a pty, not a VT)", en(e));
        }
        {
                static const char *const vts[] = { "/dev/tty1",     "/dev/tty0",     "/dev/vcs",
                                                   "/dev/vcs1",     "/dev/vcsa1",    "/dev/console",
                                                   "/dev/char/4:1", "/dev/char/7:1", "/dev/char/5:1" };
                for (size_t i = 0; i < ELEMENTSOF(vts); i++) {
                        char id[64];
                        int fd = open(vts[i], O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

                        snprintf(id, sizeof id, "open-vt%s", vts[i]);
                        for (char *p = id; *p; p++)
                                if (*p == '/')
                                        *p = '-';
                        if (fd >= 0) {
                                char sub = TIOCL_GETSHIFTSTATE;
                                long r = syscall(SYS_ioctl, fd, (uint64_t) TIOCLINUX, &sub);
                                result(id, true, "virtual console opened (TIOCLINUX on it: %s)",
                                       r == 0 ? "answered" : en(errno));
                                close(fd);
                        } else if (errno == ENOENT || errno == ENXIO || errno == ENODEV)
                                skip(id, "%s: %s", vts[i], en(errno));
                        else
                                result(id, false, "refused: %s", en(errno));
                }
        }
        {
                /* Steal the terminal from the session that owns it (the user's shell in real life). */
                int *shared = shared_alloc(sizeof(int) * 3);
                pid_t c = fork();

                if (c == 0) {
                        pid_t sid = 0;
                        shared[0] = setsid() < 0 ? errno : 0;
                        shared[1] = ioctl(0, TIOCSCTTY, 1) < 0 ? errno : 0;
                        shared[2] = ioctl(0, TIOCGSID, &sid) == 0 && sid == getsid(0);
                        _exit(0);
                }
                (void) waitpid(c, NULL, 0);
                if (shared[2])
                        result("tiocsctty-steal", true,
                               "took the terminal away from the session that owned it");
                else
                        result("tiocsctty-steal", false, "refused: setsid %s, TIOCSCTTY %s", en(shared[0]),
                               en(shared[1]));
        }
        return 0;
}

/* ==== class 2: reaching the supervisor and other processes
 * ===================================================== */

static int pidfd_open_(pid_t pid) {
        return (int) syscall(__NR_pidfd_open, pid, 0);
}

static long send_stop(const char *call, pid_t pid) {
        siginfo_t si;

        memset(&si, 0, sizeof si);
        si.si_signo = SIGSTOP;
        si.si_code = SI_QUEUE;
        si.si_pid = getpid();
        si.si_uid = getuid();
        if (streq(call, "kill"))
                return kill(pid, SIGSTOP);
        if (streq(call, "tkill"))
                return syscall(SYS_tkill, pid, SIGSTOP);
        if (streq(call, "tgkill"))
                return syscall(SYS_tgkill, pid, pid, SIGSTOP);
        if (streq(call, "rt_sigqueueinfo"))
                return syscall(SYS_rt_sigqueueinfo, pid, SIGSTOP, &si);
        if (streq(call, "rt_tgsigqueueinfo"))
                return syscall(SYS_rt_tgsigqueueinfo, pid, pid, SIGSTOP, &si);
        if (streq(call, "pidfd_send_signal")) {
                int fd = pidfd_open_(pid);
                long r;
                if (fd < 0)
                        return -1;
                r = syscall(__NR_pidfd_send_signal, fd, SIGSTOP, NULL, 0);
                close(fd);
                return r;
        }
        errno = EINVAL;
        return -1;
}

/* signal CALL PID|ppid SYNC: sends SIGSTOP with CALL, reports, then waits (stat only) for the harness to say
 * it looked, so that nothing trapped runs while a supervisor may be stopped. */
static int cmd_signal(int argc, char **argv) {
        long r;
        int e;

        if (argc < 3)
                return 2;
        r = send_stop(argv[0], streq(argv[1], "ppid") ? getppid() : (pid_t) parse_ul(argv[1]));
        e = errno;
        call_report(argv[0], r, e, "SIGSTOP to %s", argv[1]);
        (void) wait_file(argv[2], 30);
        return 0;
}

static int find_listener_fd(pid_t pid) {
        char p[64];
        DIR *d;
        struct dirent *de;
        int found = -1;

        snprintf(p, sizeof p, "/proc/%d/fd", pid);
        d = opendir(p);
        if (!d)
                return -1;
        while ((de = readdir(d))) {
                char lp[300], t[128];
                ssize_t n;

                snprintf(lp, sizeof lp, "/proc/%d/fd/%s", pid, de->d_name);
                n = readlink(lp, t, sizeof t - 1);
                if (n <= 0)
                        continue;
                t[n] = 0;
                if (strstr(t, "seccomp")) {
                        found = atoi(de->d_name);
                        break;
                }
        }
        closedir(d);
        return found;
}

static uint64_t first_mapping(pid_t pid) {
        char p[64], buf[4096];
        unsigned long long a = 0;

        snprintf(p, sizeof p, "/proc/%d/maps", pid);
        if (read_file(p, buf, sizeof buf) > 0)
                (void) sscanf(buf, "%llx-", &a);
        return a;
}

/* reach LABEL PID|ppid CANARY [SYNC]: every non-signal way to look into or change another process. */
static int cmd_reach(int argc, char **argv) {
        const char *label;
        pid_t pid;
        const char *canary;
        char id[128], p[320], buf[65536];
        uint64_t addr;
        ssize_t n;
        long r;

        if (argc < 3)
                return 2;
        label = argv[0];
        pid = streq(argv[1], "ppid") ? getppid() : (pid_t) parse_ul(argv[1]);
        canary = argv[2];

        /* Memory and environment through /proc, whole process and every thread. */
        snprintf(id, sizeof id, "%s-environ", label);
        snprintf(p, sizeof p, "/proc/%d/environ", pid);
        n = read_file(p, buf, sizeof buf);
        if (n > 0 && contains(buf, (size_t) n, canary))
                result(id, true, "read its environment (%zd bytes, canary found)", n);
        else if (n >= 0) {
                /* Bytes that are all NUL carry nothing (ForgeOne's init clears its copy). */
                size_t text = 0;
                for (ssize_t i = 0; i < n; i++)
                        text += buf[i] != 0;
                result(id, text > 0, "read %zd bytes of its environment (%zu not NUL), canary not in them",
                       n, text);
        } else
                result(id, false, "refused: %s", en((int) -n));

        addr = first_mapping(pid);
        snprintf(id, sizeof id, "%s-proc-mem", label);
        snprintf(p, sizeof p, "/proc/%d/mem", pid);
        {
                int fd = open(p, O_RDONLY | O_CLOEXEC);
                if (fd >= 0) {
                        n = addr ? pread(fd, buf, 64, (off_t) addr) : -1;
                        result(id, n > 0, "opened; read at %#" PRIx64 ": %zd", addr, n);
                        close(fd);
                } else
                        result(id, false, "refused: %s", en(errno));
        }
        {
                DIR *d;
                struct dirent *de;

                snprintf(p, sizeof p, "/proc/%d/task", pid);
                d = opendir(p);
                if (!d)
                        result(label, false, "task list refused: %s", en(errno));
                while (d && (de = readdir(d))) {
                        int fd;

                        if (de->d_name[0] == '.')
                                continue;
                        snprintf(id, sizeof id, "%s-task-mem", label);
                        snprintf(p, sizeof p, "/proc/%d/task/%s/mem", pid, de->d_name);
                        fd = open(p, O_RDONLY | O_CLOEXEC);
                        if (fd >= 0) {
                                n = addr ? pread(fd, buf, 64, (off_t) addr) : -1;
                                result(id, n > 0, "%s opened; read at %#" PRIx64 ": %zd bytes", p, addr, n);
                                close(fd);
                        } else
                                result(id, false, "%s refused: %s", p, en(errno));
                        snprintf(id, sizeof id, "%s-task-environ", label);
                        snprintf(p, sizeof p, "/proc/%d/task/%s/environ", pid, de->d_name);
                        n = read_file(p, buf, sizeof buf);
                        result(id, n > 0 && contains(buf, (size_t) n, canary), "%s: %s", p,
                               n >= 0 ? "read" : en((int) -n));
                }
                if (d)
                        closedir(d);
        }

        {
                struct iovec l = { .iov_base = buf, .iov_len = 16 },
                             rm = { .iov_base = (void *) (uintptr_t) addr, .iov_len = 16 };
                snprintf(id, sizeof id, "%s-process_vm_readv", label);
                r = addr ? process_vm_readv(pid, &l, 1, &rm, 1, 0) : -1;
                if (r > 0)
                        result(id, true, "read %ld bytes of its memory at %#" PRIx64, r, addr);
                else
                        result(id, false, "refused: %s", en(errno));
                /* An address that is never mapped: EFAULT proves the permission check passed without
                 * writing anything. */
                rm.iov_base = (void *) (uintptr_t) 0x1000;
                snprintf(id, sizeof id, "%s-process_vm_writev", label);
                r = process_vm_writev(pid, &l, 1, &rm, 1, 0);
                if (r >= 0 || errno == EFAULT)
                        result(id, true, "write permitted (%s at the unmapped address the test chose)",
                               r >= 0 ? "written" : "EFAULT");
                else
                        result(id, false, "refused: %s", en(errno));
        }
        snprintf(id, sizeof id, "%s-kcmp", label);
        r = syscall(SYS_kcmp, getpid(), pid, KCMP_VM, 0, 0);
        if (r >= 0)
                result(id, true, "kcmp answered %ld", r);
        else
                result(id, false, "refused: %s", en(errno));
        {
                int lfd = find_listener_fd(pid), pfd, got;

                snprintf(id, sizeof id, "%s-pidfd_getfd", label);
                pfd = pidfd_open_(pid);
                if (pfd < 0)
                        result(id, false, "pidfd_open refused: %s", en(errno));
                else {
                        got = (int) syscall(__NR_pidfd_getfd, pfd, lfd >= 0 ? lfd : 0, 0);
                        if (got >= 0) {
                                snprintf(p, sizeof p, "/proc/self/fd/%d", got);
                                n = readlink(p, buf, 200);
                                buf[n > 0 ? n : 0] = 0;
                                result(id, true, "took its fd %d: %s", lfd >= 0 ? lfd : 0, buf);
                                close(got);
                        } else
                                result(id, false, "refused: %s", en(errno));
                        close(pfd);
                }
        }
        snprintf(id, sizeof id, "%s-ptrace", label);
        r = ptrace(PTRACE_SEIZE, pid, 0, 0);
        if (r == 0)
                result(id, true, "PTRACE_SEIZE succeeded");
        else
                result(id, false, "refused: %s", en(errno));

        /* Changes the harness verifies in /proc and restores. Last, and RLIMIT_NOFILE last of all: a
         * supervisor that cannot open files answers no more calls that need it. */
        r = sched_setscheduler(pid, SCHED_IDLE, &(struct sched_param){ .sched_priority = 0 });
        call_report("sched_setscheduler", r, errno, "SCHED_IDLE on %d", pid);
        {
                struct {
                        uint32_t size, policy;
                        uint64_t flags;
                        int32_t nice;
                        uint32_t prio;
                        uint64_t rt, dl, per;
                } a = { .size = 48, .policy = SCHED_IDLE };
                r = syscall(SYS_sched_setattr, pid, &a, 0);
                call_report("sched_setattr", r, errno, "SCHED_IDLE on %d", pid);
        }
        r = syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, pid, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 7));
        call_report("ioprio_set", r, errno, "idle class on %d", pid);
        r = setpriority(PRIO_PROCESS, (id_t) pid, 19);
        call_report("setpriority", r, errno, "nice 19 on %d", pid);
        {
                cpu_set_t set;
                CPU_ZERO(&set);
                CPU_SET(0, &set);
                r = sched_setaffinity(pid, sizeof set, &set);
                call_report("sched_setaffinity", r, errno, "CPU 0 only for %d", pid);
        }
        {
                struct rlimit rl = { 3, 3 };
                r = prlimit(pid, RLIMIT_NOFILE, &rl, NULL);
                call_report("prlimit64", r, errno, "RLIMIT_NOFILE 3 on %d", pid);
        }
        /* The harness looks at the target now, while it still runs (it may be our own supervisor). */
        dprintf(1, "REACHED\n");
        if (argc > 3)
                (void) wait_file(argv[3], 60);
        return 0;
}

/* sysv SHMID MSQID: a host process's SysV shared memory segment and message queue, by id (root passes
 * their permission checks): attached or looked at = escaped. */
static int cmd_sysv(int argc, char **argv) {
        struct msqid_ds mq;
        void *p;

        if (argc < 2)
                return 2;
        p = shmat(atoi(argv[0]), NULL, SHM_RDONLY);
        if (p != (void *) -1) {
                result("sysv-shm", true, "attached a host process's shared memory segment %s", argv[0]);
                (void) shmdt(p);
        } else
                result("sysv-shm", false, "refused: %s", en(errno));
        if (msgctl(atoi(argv[1]), IPC_STAT, &mq) == 0)
                result("sysv-msg", true, "looked at a host process's message queue %s", argv[1]);
        else
                result("sysv-msg", false, "refused: %s", en(errno));
        return 0;
}

/* cgroup-escape CGROUP_PROCS: write our pid into another cgroup's procs file. */
static int cmd_cgroup(int argc, char **argv) {
        for (int i = 0; i < argc; i++) {
                char id[64], pid[32], before[512], after[512];
                int fd;
                ssize_t n;

                snprintf(id, sizeof id, "cgroup-procs-%d", i);
                n = read_file("/proc/self/cgroup", before, sizeof before);
                fd = open(argv[i], O_WRONLY | O_CLOEXEC);
                if (fd < 0) {
                        result(id, false, "%s refused: %s", argv[i], en(errno));
                        continue;
                }
                snprintf(pid, sizeof pid, "%d\n", getpid());
                n = write(fd, pid, strlen(pid));
                close(fd);
                (void) read_file("/proc/self/cgroup", after, sizeof after);
                result(id, n > 0 && !streq(before, after), "%s opened for writing; moved: %s", argv[i],
                       streq(before, after) ? "no" : "yes");
        }
        return 0;
}

/* after-death SECRET: the workload tries to kill its supervisor (its parent: in run --local, ForgeOne's
 * init of its pid namespace), then says READY and waits for the harness, which kills the supervisor
 * itself. Meanwhile a process it started (setsid: no death signal of its parent reaches it) tries what the
 * policy denies every 20 ms until it is killed, printing only what gets through: the open of the secret,
 * and a listener of its own (op and flags with high bits too), which the kernel's one-listener rule stops
 * only while the supervisor's listener is attached. It prints ALIVE once, so the harness knows it ran. */
static int cmd_after_death(int argc, char **argv) {
        pid_t sup = getppid(), g;

        if (argc < 1)
                return 2;
        g = fork();
        if (g == 0) {
                (void) setsid();
                dprintf(1, "ALIVE\n");
                for (;;) {
                        static const uint64_t ops[] = {
                                SECCOMP_SET_MODE_FILTER,
                                SECCOMP_SET_MODE_FILTER | HB,
                                SECCOMP_SET_MODE_FILTER | HB_ALL,
                        };
                        ListenerOutcome o;
                        char buf[256];
                        ssize_t n = read_file(argv[0], buf, sizeof buf);

                        if (n > 0)
                                result("after-death-open-secret", true,
                                       "read the secret (fnv64=%016" PRIx64 ")", fnv64(buf, (size_t) n));
                        for (size_t i = 0; i < ELEMENTSOF(ops); i++) {
                                own_listener(ops[i], SECCOMP_FILTER_FLAG_NEW_LISTENER, argv[0], &o);
                                if (o.listener)
                                        report_listener("after-death-listener", &o);
                        }
                        sleep_us(20000);
                }
        }
        sleep_us(100000);
        if (kill(sup, SIGKILL) == 0)
                dprintf(1, "CALL kill-own-supervisor rc=0 errno=0 SIGKILL to its parent %d\n", sup);
        else
                dprintf(1, "CALL kill-own-supervisor rc=-1 errno=%s\n", en(errno));
        dprintf(1, "READY\n");
        for (;;)
                pause(); /* the harness kills the supervisor; everything of the workload goes with it */
}

/* ==== class 3: races
 * ============================================================================================ */

typedef struct Shared {
        volatile int stop;
        volatile int ready;
} Shared;

static Shared *sh;

/* ---- flippers: a thread (shares everything), or a process sharing only the fd table or only the fs ---- */

typedef struct Flip {
        int kind;
        int n, a, b;         /* dup2 a or b onto n */
        const char *da, *db; /* chdir into da or db */
        char *buf;           /* a path buffer to rewrite: pa / pb */
        const char *pa, *pb;
        size_t len;
        const char *swap1, *swap2; /* renameat2 RENAME_EXCHANGE of these two */
} Flip;

enum { FLIP_DUP2, FLIP_CHDIR, FLIP_SWAP, FLIP_VFORK_BUF };

static uint32_t rnd_state = 2463534242u;

static uint32_t rnd(void) {
        rnd_state ^= rnd_state << 13;
        rnd_state ^= rnd_state >> 17;
        rnd_state ^= rnd_state << 5;
        return rnd_state;
}

static int vfork_child(void *arg) {
        /* Keep the parent in its vfork wait for a while (the supervisor looks at it then), then let it
         * go: random lengths, since the supervisor's timing is not ours to know. */
        unsigned spin = (unsigned) (uintptr_t) arg;

        for (volatile unsigned i = 0; i < spin; i++)
                ;
        _exit(0);
}

static void flip_loop(Flip *f) {
        static char stack[16384] __attribute__((aligned(16)));

        sh->ready = 1;
        while (!sh->stop) {
                switch (f->kind) {
                case FLIP_DUP2:
                        (void) dup2(f->b, f->n);
                        for (volatile int i = 0; i < 50; i++)
                                ;
                        (void) dup2(f->a, f->n);
                        break;
                case FLIP_CHDIR:
                        /* fchdir where we hold both directories (it is decided in the kernel by every
                         * shipped policy, also where chdir is judged by path). */
                        if (f->b >= 0 ? fchdir(f->b) : chdir(f->db)) {
                        }
                        for (volatile int i = 0; i < 50; i++)
                                ;
                        if (f->a >= 0 ? fchdir(f->a) : chdir(f->da)) {
                        }
                        break;
                case FLIP_SWAP:
                        (void) syscall(SYS_renameat2, AT_FDCWD, f->swap1, AT_FDCWD, f->swap2,
                                       RENAME_EXCHANGE);
                        break;
                case FLIP_VFORK_BUF: {
                        /* Blocked in a vfork without CLONE_VM while the supervisor looks, then rewrite. */
                        unsigned hold = rnd() % 20000;

                        (void) clone(vfork_child, stack + sizeof stack, CLONE_VFORK | SIGCHLD,
                                     (void *) (uintptr_t) (rnd() % 40000));
                        memcpy(f->buf, f->pb, strlen(f->pb) + 1);
                        for (volatile unsigned i = 0; i < hold; i++)
                                ;
                        memcpy(f->buf, f->pa, strlen(f->pa) + 1);
                        break;
                }
                }
        }
}

static void *flip_thread(void *arg) {
        flip_loop(arg);
        return NULL;
}

static int flip_proc(void *arg) {
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        flip_loop(arg);
        _exit(0);
}

typedef struct Flipper {
        bool thread;
        pthread_t t;
        pid_t pid;
} Flipper;

/* share: 0 = a thread; else clone flags for a process (CLONE_FILES, CLONE_FS or 0 for a plain fork). */
static int flipper_start(Flipper *fl, Flip *f, int share, bool thread) {
        static char *stack;

        sh->stop = 0;
        sh->ready = 0;
        fl->thread = thread;
        if (thread) {
                if (pthread_create(&fl->t, NULL, flip_thread, f) != 0)
                        return -1;
        } else {
                if (!stack)
                        stack = mmap(NULL, 1 << 18, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                                     0);
                fl->pid = clone(flip_proc, stack + (1 << 18), share | SIGCHLD, f);
                if (fl->pid < 0)
                        return -1;
        }
        while (!sh->ready)
                sched_yield();
        return 0;
}

static void flipper_stop(Flipper *fl) {
        sh->stop = 1;
        if (fl->thread)
                pthread_join(fl->t, NULL);
        else if (fl->pid > 0) {
                kill(fl->pid, SIGKILL);
                (void) waitpid(fl->pid, NULL, __WALL);
        }
}

/* ---- fd-named objects: a sibling thread dup2()s the protected file onto the fd the call names ---- */

#define RACE_FD 200

typedef struct FdRace {
        const char *id;
        const char *a, *b; /* the allowed object, the protected one */
        const char *dst;   /* linkat: the new name */
        bool b_opath;      /* b is passed in as an O_PATH fd (fd number in b) */
} FdRace;

static int open_obj(const char *spec, int flags) {
        /* "fd:N" names an fd the harness passed in; "sock:PATH" one a helper of the harness hands out on
         * a unix socket (the way a workload legitimately comes to hold a file it may not open);
         * "rmdir:PATH" a directory made, opened and removed here (a directory without a name). */
        if (strncmp(spec, "fd:", 3) == 0)
                return fcntl(atoi(spec + 3), F_DUPFD_CLOEXEC, 3);
        if (strncmp(spec, "rmdir:", 6) == 0) {
                int fd;

                (void) rmdir(spec + 6);
                if (mkdir(spec + 6, 0755) < 0)
                        return -1;
                fd = open(spec + 6, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd >= 0 && rmdir(spec + 6) < 0) {
                        close(fd);
                        return -1;
                }
                return fd;
        }
        if (strncmp(spec, "sock:", 5) == 0) {
                struct sockaddr_un un = { .sun_family = AF_UNIX };
                int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), fd = -1;

                snprintf(un.sun_path, sizeof un.sun_path, "%s", spec + 5);
                if (s >= 0 && connect(s, (struct sockaddr *) &un, sizeof un) == 0)
                        fd = recv_fd(s);

                if (s >= 0)
                        close(s);
                if (fd < 0)
                        errno = EBADF;
                return fd;
        }
        return open(spec, flags | O_CLOEXEC);
}

static int race_fdcall(const char *id, unsigned long attempts, const char *a, const char *b, const char *dst,
                       const char *secret_text) {
        Flipper fl;
        Flip f = { .kind = FLIP_DUP2, .n = RACE_FD };
        struct stat sb, cur;
        unsigned long escapes = 0, i;
        char detail[256] = "";
        bool is_link = streq(id, "linkat-empty-path"), is_readlink = streq(id, "readlinkat-empty-path");
        int oflags = is_readlink ? O_PATH | O_NOFOLLOW : O_RDONLY;

        f.a = open_obj(a, oflags);
        f.b = open_obj(b, oflags);
        if (f.a < 0 || f.b < 0) {
                char d[256];
                snprintf(d, sizeof d, "cannot open the objects: a %s, b %s", f.a < 0 ? en(errno) : "ok",
                         f.b < 0 ? en(errno) : "ok");
                race_report(id, 0, 0, d);
                return 1;
        }
        if (is_readlink)
                memset(&sb, 0, sizeof sb); /* judged by the link text read */
        else if (secret_text && strncmp(secret_text, "ino:", 4) == 0) {
                /* The workload may not look at the protected object (no fstat under the policy): its
                 * inode comes from the harness. */
                memset(&sb, 0, sizeof sb);
                sb.st_ino = strtoull(secret_text + 4, NULL, 10);
                sb.st_dev = (dev_t) -1;
        } else if (fstat(f.b, &sb) < 0) {
                race_report(id, 0, 0, "cannot fstat the protected object");
                return 1;
        }
        cur = sb;
        (void) dup2(f.a, RACE_FD);
        if (flipper_start(&fl, &f, 0, true) < 0)
                return 1;
        for (i = 0; i < attempts; i++) {
                struct timespec ts[2] = { { .tv_sec = 100000 + (time_t) i },
                                          { .tv_sec = 100000 + (time_t) i } };
                struct stat st;
                long r = -1;

                if (is_link) {
                        r = linkat(RACE_FD, "", AT_FDCWD, dst, AT_EMPTY_PATH);
                        if (r == 0) {
                                if (stat(dst, &st) == 0 && same_inode(&st, &sb)) {
                                        escapes++;
                                        if (escapes == 1) {
                                                snprintf(detail, sizeof detail,
                                                         "first at attempt %lu: %s is a hard link to the "
                                                         "protected file",
                                                         i, dst);
                                                /* Now, in case a quarantine ends us before the summary. */
                                                dprintf(1, "RACE-FIRST %s %s\n", id, detail);
                                        }
                                }
                                (void) unlink(dst);
                        }
                        continue;
                }
                if (streq(id, "fchmodat2-empty-path"))
                        r = syscall(__NR_fchmodat2, RACE_FD, "", (i & 1) ? 0604 : 0640, AT_EMPTY_PATH);
                else if (streq(id, "fchmodat-empty-path"))
                        r = syscall(SYS_fchmodat, RACE_FD, "", (i & 1) ? 0604 : 0640);
                else if (streq(id, "fchmodat-dot-removed"))
                        /* "." of a removed directory is that directory, taken by the supervisor as a file
                         * without a name; b is a protected directory. */
                        r = syscall(SYS_fchmodat, RACE_FD, ".", (i & 1) ? 0705 : 0750);
                else if (streq(id, "fchownat-empty-path"))
                        r = fchownat(RACE_FD, "", 0, (i & 1) ? 1 : 2, AT_EMPTY_PATH);
                else if (streq(id, "utimensat-empty-path"))
                        r = utimensat(RACE_FD, "", ts, AT_EMPTY_PATH);
                else if (streq(id, "futimens"))
                        r = syscall(SYS_utimensat, RACE_FD, NULL, ts, 0);
                else if (streq(id, "statx-empty-path") || streq(id, "newfstatat-empty-path")) {
                        struct statx sx;
                        if (streq(id, "statx-empty-path")) {
                                r = statx(RACE_FD, "", AT_EMPTY_PATH, STATX_INO, &sx);
                                if (r == 0 && sx.stx_ino == sb.st_ino &&
                                    (sb.st_dev == (dev_t) -1 ||
                                     makedev(sx.stx_dev_major, sx.stx_dev_minor) == sb.st_dev))
                                        escapes++;
                        } else {
                                r = syscall(SYS_newfstatat, RACE_FD, "", &st, AT_EMPTY_PATH);
                                if (r == 0 && st.st_ino == sb.st_ino &&
                                    (sb.st_dev == (dev_t) -1 || st.st_dev == sb.st_dev))
                                        escapes++;
                        }
                        if (escapes == 1 && !detail[0])
                                snprintf(detail, sizeof detail,
                                         "first at attempt %lu: the protected file's inode came back", i);
                        continue;
                } else if (is_readlink) {
                        char t[256];
                        ssize_t k = readlinkat(RACE_FD, "", t, sizeof t - 1);
                        if (k > 0) {
                                t[k] = 0;
                                if (secret_text && strstr(t, secret_text)) {
                                        escapes++;
                                        if (escapes == 1)
                                                snprintf(detail, sizeof detail,
                                                         "first at attempt %lu: read the protected link's "
                                                         "text",
                                                         i);
                                }
                        }
                        continue;
                } else if (streq(id, "proc-self-fd-reopen")) {
                        char p[64];
                        int fd;
                        snprintf(p, sizeof p, "/proc/self/fd/%d", RACE_FD);
                        fd = open(p, O_RDWR | O_CLOEXEC);
                        if (fd >= 0) {
                                if (fd_is_inode(fd, &sb)) {
                                        escapes++;
                                        if (escapes == 1)
                                                snprintf(detail, sizeof detail,
                                                         "first at attempt %lu: a writable fd of the "
                                                         "protected file",
                                                         i);
                                }
                                close(fd);
                        }
                        continue;
                } else if (streq(id, "openat-dirfd")) {
                        /* a and b are directories here; dst is the name in them. */
                        int fd = openat(RACE_FD, dst, O_RDWR | O_CLOEXEC);
                        if (fd >= 0) {
                                struct stat want;
                                if (fstatat(f.b, dst, &want, 0) == 0 && fd_is_inode(fd, &want)) {
                                        escapes++;
                                        if (escapes == 1)
                                                snprintf(detail, sizeof detail,
                                                         "first at attempt %lu: a writable fd of the "
                                                         "protected file",
                                                         i);
                                }
                                close(fd);
                        }
                        continue;
                } else {
                        race_report(id, 0, 0, "unknown race");
                        flipper_stop(&fl);
                        return 2;
                }
                (void) r;
                /* Attribute calls: did the protected file change? */
                if (fstat(f.b, &st) == 0 && (st.st_mode != cur.st_mode || st.st_gid != cur.st_gid ||
                                             st.st_mtim.tv_sec != cur.st_mtim.tv_sec)) {
                        escapes++;
                        if (escapes == 1)
                                snprintf(detail, sizeof detail,
                                         "first at attempt %lu: the protected file changed (mode %o->%o gid "
                                         "%u->%u mtime %ld->%ld)",
                                         i, cur.st_mode & 07777, st.st_mode & 07777, cur.st_gid, st.st_gid,
                                         (long) cur.st_mtim.tv_sec, (long) st.st_mtim.tv_sec);
                        cur = st;
                }
        }
        flipper_stop(&fl);
        race_report(id, attempts, escapes, detail[0] ? detail : "no effect on the protected object");
        return 0;
}

/* race-fd ID ATTEMPTS A B [DST|NAME] [SECRET_TEXT] */
static int cmd_race_fd(int argc, char **argv) {
        if (argc < 4)
                return 2;
        return race_fdcall(argv[0], parse_ul(argv[1]), argv[2], argv[3], argc > 4 ? argv[4] : NULL,
                           argc > 5 ? argv[5] : NULL);
}

/* ---- continued calls: O_PATH opens and exec, with the name flipped by another task ---- */

typedef enum Op { OP_OPATH, OP_EXEC, OP_EXECVEAT_EMPTY, OP_CHDIR } Op;

/* One attempt; true on an escape. For O_PATH: an fd of the protected inode. For exec: the forbidden
 * program ran (it exits 42), seen by the caller through the exec-ing child's status. */
static bool attempt_opath(int dirfd, const char *path, const struct stat *prot) {
        int fd = openat(dirfd, path, O_PATH | O_CLOEXEC);
        bool esc = false;

        if (fd >= 0) {
                esc = fd_is_inode(fd, prot);
                close(fd);
        }
        return esc;
}

typedef struct ContSpec {
        const char *id;
        Op op;
        unsigned long attempts;
        const char *name;  /* the path as the workload gives it (may contain @PID@ for the flipper's pid) */
        const char *dir_a; /* allowed directory (the name is absent or harmless there) */
        const char *dir_b; /* the directory holding the protected object under the same name */
        const char *prot;  /* the protected object's path (for its inode) or the forbidden program */
        const char *flip;  /* cwd-fs, cwd-proc, fd-files, fd-proc, swap, vfork */
} ContSpec;

/* Runs attempts in this process (O_PATH) and returns escapes. For exec each attempt is made by a child
 * that exec()s until it succeeds or runs out. */
static unsigned long cont_run(const ContSpec *c, char *detail, size_t dsize) {
        Flipper fl = {};
        Flip f = {};
        struct stat prot;
        unsigned long escapes = 0;
        char path[512], pathbuf[512] __attribute__((aligned(64)));
        int dirfd = AT_FDCWD, share = 0;
        bool thread = false;
        int fa = -1, fb = -1;

        if ((c->op == OP_OPATH || c->op == OP_CHDIR) && stat(c->prot, &prot) < 0) {
                snprintf(detail, dsize, "cannot stat the protected object %s: %s", c->prot, en(errno));
                return 0;
        }
        if (streq(c->flip, "cwd-fs") || streq(c->flip, "cwd-proc")) {
                f.kind = FLIP_CHDIR;
                f.da = c->dir_a;
                f.db = c->dir_b;
                f.a = open(c->dir_a, O_PATH | O_DIRECTORY | O_CLOEXEC);
                f.b = open(c->dir_b, O_PATH | O_DIRECTORY | O_CLOEXEC);
                share = streq(c->flip, "cwd-fs") ? CLONE_FS : 0;
                if (chdir(c->dir_a) < 0) {
                        snprintf(detail, dsize, "chdir %s: %s", c->dir_a, en(errno));
                        return 0;
                }
        } else if (streq(c->flip, "fd-files") || streq(c->flip, "fd-proc")) {
                f.kind = FLIP_DUP2;
                /* Directories, or files for a magic link as the last component (/proc/self/fd/N). */
                fa = open(c->dir_a, O_RDONLY | O_CLOEXEC);
                fb = open(c->dir_b, O_RDONLY | O_CLOEXEC);
                if (fa < 0 || fb < 0) {
                        snprintf(detail, dsize, "cannot open %s: %s", fa < 0 ? c->dir_a : c->dir_b,
                                 en(errno));
                        return 0;
                }
                f.a = fa;
                f.b = fb;
                f.n = RACE_FD;
                (void) dup2(fa, RACE_FD);
                share = streq(c->flip, "fd-files") ? CLONE_FILES : 0;
        } else if (streq(c->flip, "swap")) {
                /* dir_a: a directory; dir_b: "LINK=TARGET", a symlink to the protected directory. Both are
                 * made here, by the workload, in scratch space (an overlay cannot exchange entries of its
                 * lower layers, so image-provided ones would not do). */
                static char link[512];
                const char *eq = strchr(c->dir_b, '=');

                if (!eq || (size_t) (eq - c->dir_b) >= sizeof link) {
                        snprintf(detail, dsize, "swap wants LINK=TARGET");
                        return 0;
                }
                memcpy(link, c->dir_b, (size_t) (eq - c->dir_b));
                link[eq - c->dir_b] = 0;
                (void) mkdir(c->dir_a, 0755);
                (void) symlink(eq + 1, link);
                f.kind = FLIP_SWAP;
                f.swap1 = c->dir_a;
                f.swap2 = link;
        } else if (streq(c->flip, "vfork")) {
                f.kind = FLIP_VFORK_BUF;
                f.buf = pathbuf;
                f.pa = c->dir_a; /* here: the allowed path and the protected path themselves */
                f.pb = c->dir_b;
                memcpy(pathbuf, c->dir_a, strlen(c->dir_a) + 1);
                thread = true;
        } else {
                snprintf(detail, dsize, "unknown flip %s", c->flip);
                return 0;
        }

        if (c->op == OP_CHDIR) {
                /* Into the protected directory? stat(".") after a successful chdir says where we are; back
                 * with fchdir (decided in the kernel). */
                int home = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);

                if (home < 0 || flipper_start(&fl, &f, share, thread) < 0) {
                        snprintf(detail, dsize, "setup: %s", en(errno));
                        return 0;
                }
                subst_pid(path, sizeof path, c->name, fl.pid);
                for (unsigned long i = 0; i < c->attempts; i++) {
                        struct stat st;

                        if (chdir(path) == 0) {
                                if (stat(".", &st) == 0 && same_inode(&st, &prot) && ++escapes == 1)
                                        snprintf(detail, dsize,
                                                 "first at attempt %lu: the working directory is %s", i,
                                                 c->prot);
                                (void) fchdir(home);
                        }
                }
                flipper_stop(&fl);
                close(home);
                return escapes;
        }
        if (c->op == OP_OPATH) {
                /* The vfork flipper's children reap themselves (only here: the exec form below waits for
                 * its own children). */
                if (f.kind == FLIP_VFORK_BUF)
                        signal(SIGCHLD, SIG_IGN);
                if (flipper_start(&fl, &f, share, thread) < 0) {
                        snprintf(detail, dsize, "flipper: %s", en(errno));
                        return 0;
                }
                subst_pid(path, sizeof path, c->name, fl.pid);
                if (streq(c->flip, "fd-files"))
                        dirfd = strstr(c->name, "/proc/") ? AT_FDCWD : RACE_FD;
                for (unsigned long i = 0; i < c->attempts; i++) {
                        bool esc = attempt_opath(dirfd, thread ? pathbuf : path, &prot);
                        if (esc && ++escapes == 1)
                                snprintf(detail, dsize, "first at attempt %lu: an O_PATH fd of %s", i,
                                         c->prot);
                }
                flipper_stop(&fl);
                return escapes;
        }

        /* exec: a child runs the attempts and the flipper, so that a successful exec only ends it. */
        {
                unsigned long done = 0;
                unsigned long *progress = shared_alloc(sizeof(unsigned long));

                while (done < c->attempts) {
                        pid_t child;
                        int st = 0;

                        *progress = 0;
                        child = fork();
                        if (child == 0) {
                                char *const av[] = { (char *) "prog", (char *) "exec-probe", NULL };
                                char *const ev[] = { NULL };

                                if (f.kind == FLIP_VFORK_BUF)
                                        signal(SIGCHLD, SIG_IGN);
                                if (flipper_start(&fl, &f, share, thread) < 0)
                                        _exit(3);
                                subst_pid(path, sizeof path, c->name, fl.pid);
                                if (streq(c->flip, "fd-files") && !strstr(c->name, "/proc/"))
                                        dirfd = RACE_FD;
                                for (unsigned long i = done; i < c->attempts; i++) {
                                        *progress = i - done + 1;
                                        if (c->op == OP_EXECVEAT_EMPTY)
                                                (void) syscall(SYS_execveat, RACE_FD, "", av, ev,
                                                               AT_EMPTY_PATH);
                                        else if (dirfd != AT_FDCWD)
                                                (void) syscall(SYS_execveat, dirfd, path, av, ev, 0);
                                        else
                                                (void) execve(thread ? pathbuf : path, av, ev);
                                }
                                flipper_stop(&fl);
                                _exit(0);
                        }
                        if (child < 0)
                                break;
                        (void) waitpid(child, &st, 0);
                        done += *progress ? *progress : 1;
                        if (WIFEXITED(st) && WEXITSTATUS(st) == 42) {
                                if (++escapes == 1)
                                        snprintf(detail, dsize,
                                                 "first at attempt %lu: the forbidden program %s ran", done,
                                                 c->prot);
                        } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                                snprintf(detail, dsize, "attempt child ended with status %#x", st);
                                if (!*progress)
                                        break;
                        }
                }
        }
        return escapes;
}

/* race-cont ID OP ATTEMPTS NAME DIR_A DIR_B PROT FLIP */
static int cmd_race_cont(int argc, char **argv) {
        ContSpec c;
        char detail[512] = "";
        unsigned long esc;

        if (argc < 8)
                return 2;
        c = (ContSpec){
                .id = argv[0],
                .op = streq(argv[1], "opath")            ? OP_OPATH
                      : streq(argv[1], "chdir")          ? OP_CHDIR
                      : streq(argv[1], "execveat-empty") ? OP_EXECVEAT_EMPTY
                                                         : OP_EXEC,
                .attempts = parse_ul(argv[2]),
                .name = argv[3],
                .dir_a = argv[4],
                .dir_b = argv[5],
                .prot = argv[6],
                .flip = argv[7],
        };
        if (c.op == OP_EXECVEAT_EMPTY) {
                /* dir_a: an allowed file that is not executable; dir_b: the forbidden program. */
                int fa = open(c.dir_a, O_PATH | O_CLOEXEC), fb = open(c.dir_b, O_PATH | O_CLOEXEC);
                Flip f = { .kind = FLIP_DUP2, .n = RACE_FD, .a = fa, .b = fb };
                unsigned long done = 0, escapes = 0;
                unsigned long *progress = shared_alloc(sizeof(unsigned long));

                if (fa < 0 || fb < 0) {
                        snprintf(detail, sizeof detail, "cannot open the programs: %s", en(errno));
                        race_report(c.id, 0, 0, detail);
                        return 0;
                }
                (void) dup2(fa, RACE_FD);
                while (done < c.attempts) {
                        int st = 0;
                        pid_t child = fork();

                        *progress = 0;
                        if (child == 0) {
                                Flipper fl;
                                char *const av[] = { (char *) "prog", (char *) "exec-probe", NULL };
                                char *const ev[] = { NULL };

                                if (flipper_start(&fl, &f, CLONE_FILES, false) < 0)
                                        _exit(3);
                                for (unsigned long i = done; i < c.attempts; i++) {
                                        *progress = i - done + 1;
                                        (void) syscall(SYS_execveat, RACE_FD, "", av, ev, AT_EMPTY_PATH);
                                }
                                flipper_stop(&fl);
                                _exit(0);
                        }
                        (void) waitpid(child, &st, 0);
                        done += *progress ? *progress : 1;
                        if (WIFEXITED(st) && WEXITSTATUS(st) == 42 && ++escapes == 1)
                                snprintf(detail, sizeof detail,
                                         "first at attempt %lu: the forbidden program ran", done);
                        if ((!WIFEXITED(st) || (WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 42)) &&
                            !*progress)
                                break;
                }
                race_report(c.id, done, escapes, detail[0] ? detail : "the forbidden program never ran");
                return 0;
        }
        esc = cont_run(&c, detail, sizeof detail);
        race_report(c.id, c.attempts, esc, detail[0] ? detail : "no effect");
        return 0;
}

/* ==== class 4: calls that carry their own target, changes through read-only fds
 * ============================= */

static int parse_inet(const char *spec, struct sockaddr_storage *ss, socklen_t *len) {
        char host[128];
        const char *colon = strrchr(spec, ':');
        int port;

        if (!colon || (size_t) (colon - spec) >= sizeof host)
                return -1;
        memcpy(host, spec, (size_t) (colon - spec));
        host[colon - spec] = 0;
        port = atoi(colon + 1);
        memset(ss, 0, sizeof *ss);
        if (host[0] == '[') {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ss;
                host[strlen(host) - 1] = 0;
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t) port);
                if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1)
                        return -1;
                *len = sizeof *in6;
        } else {
                struct sockaddr_in *in = (struct sockaddr_in *) ss;
                in->sin_family = AF_INET;
                in->sin_port = htons((uint16_t) port);
                if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
                        return -1;
                *len = sizeof *in;
        }
        return 0;
}

/* tcp-send LABEL HOST:PORT: every way to reach a forbidden TCP address with a call that carries it. */
static int cmd_tcp_send(int argc, char **argv) {
        struct sockaddr_storage ss;
        socklen_t len;
        static const char *const how[] = { "connect",           "sendto",
                                           "sendto-fastopen",   "sendmsg-fastopen",
                                           "sendmmsg-fastopen", "fastopen-connect" };

        if (argc < 2 || parse_inet(argv[1], &ss, &len) < 0)
                return 2;
        for (size_t i = 0; i < ELEMENTSOF(how); i++) {
                char id[128], msg[160];
                int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
                long r;

                snprintf(id, sizeof id, "tcp-%s-%s", argv[0], how[i]);
                snprintf(msg, sizeof msg, "FOTCP:%s\n", id);
                if (fd < 0) {
                        skip(id, "socket: %s", en(errno));
                        continue;
                }
                if (streq(how[i], "connect")) {
                        r = connect(fd, (struct sockaddr *) &ss, len);
                        if (r == 0)
                                r = write(fd, msg, strlen(msg));
                } else if (streq(how[i], "sendto")) {
                        r = sendto(fd, msg, strlen(msg), 0, (struct sockaddr *) &ss, len);
                } else if (streq(how[i], "sendto-fastopen")) {
                        r = sendto(fd, msg, strlen(msg), MSG_FASTOPEN, (struct sockaddr *) &ss, len);
                } else if (streq(how[i], "fastopen-connect")) {
                        int one = 1;
                        (void) setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof one);
                        r = connect(fd, (struct sockaddr *) &ss, len);
                        if (r == 0)
                                r = write(fd, msg, strlen(msg));
                } else {
                        struct iovec iov = { .iov_base = msg, .iov_len = strlen(msg) };
                        struct mmsghdr mm = { .msg_hdr = { .msg_name = &ss,
                                                           .msg_namelen = len,
                                                           .msg_iov = &iov,
                                                           .msg_iovlen = 1 } };
                        if (streq(how[i], "sendmsg-fastopen"))
                                r = sendmsg(fd, &mm.msg_hdr, MSG_FASTOPEN);
                        else
                                r = sendmmsg(fd, &mm, 1, MSG_FASTOPEN);
                }
                /* The harness's listener is the judge: it records the message if it arrived. */
                call_report(id, r, errno, "to %s", argv[1]);
                sleep_us(20000);
                close(fd);
        }
        return 0;
}

/* udp-send LABEL HOST:PORT: UDP datagrams to a forbidden address; sendto and connect last (a policy may
 * quarantine those). */
static int cmd_udp_send(int argc, char **argv) {
        struct sockaddr_storage ss;
        socklen_t len;
        static const char *const how[] = { "sendmsg", "sendmmsg", "sendto", "connect" };

        if (argc < 2 || parse_inet(argv[1], &ss, &len) < 0)
                return 2;
        for (size_t i = 0; i < ELEMENTSOF(how); i++) {
                char id[128], msg[160];
                int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                struct iovec iov;
                long r;

                snprintf(id, sizeof id, "udp-%s-%s", argv[0], how[i]);
                snprintf(msg, sizeof msg, "FOUDP:%s", id);
                iov = (struct iovec){ .iov_base = msg, .iov_len = strlen(msg) };
                if (fd < 0) {
                        skip(id, "socket: %s", en(errno));
                        continue;
                }
                if (streq(how[i], "sendmsg")) {
                        struct msghdr mh = {
                                .msg_name = &ss, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1
                        };
                        r = sendmsg(fd, &mh, 0);
                } else if (streq(how[i], "sendmmsg")) {
                        struct mmsghdr mm = { .msg_hdr = { .msg_name = &ss,
                                                           .msg_namelen = len,
                                                           .msg_iov = &iov,
                                                           .msg_iovlen = 1 } };
                        r = sendmmsg(fd, &mm, 1, 0);
                } else if (streq(how[i], "sendto"))
                        r = sendto(fd, msg, strlen(msg), 0, (struct sockaddr *) &ss, len);
                else {
                        r = connect(fd, (struct sockaddr *) &ss, len);
                        if (r == 0)
                                r = write(fd, msg, strlen(msg));
                }
                call_report(id, r, errno, "to %s", argv[1]);
                close(fd);
        }
        return 0;
}

/* unix-send LABEL PATH [wait]: datagrams to a forbidden socket path (waiting for it to appear). */
static int cmd_unix_send(int argc, char **argv) {
        struct sockaddr_un un = { .sun_family = AF_UNIX };
        socklen_t len;
        static const char *const how[] = { "connect", "sendto", "sendmsg", "sendmmsg" };

        if (argc < 2 || strlen(argv[1]) >= sizeof un.sun_path)
                return 2;
        if (argc > 2 && !wait_file(argv[1], 30)) {
                skip("unix-send", "%s never appeared", argv[1]);
                return 0;
        }
        strcpy(un.sun_path, argv[1]);
        len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(un.sun_path) + 1);
        for (size_t i = 0; i < ELEMENTSOF(how); i++) {
                char id[128], msg[160];
                int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                struct iovec iov;
                long r;

                snprintf(id, sizeof id, "unix-%s-%s", argv[0], how[i]);
                snprintf(msg, sizeof msg, "FOUNIX:%s", id);
                iov = (struct iovec){ .iov_base = msg, .iov_len = strlen(msg) };
                if (fd < 0) {
                        skip(id, "socket: %s", en(errno));
                        continue;
                }
                if (streq(how[i], "connect")) {
                        r = connect(fd, (struct sockaddr *) &un, len);
                        if (r == 0)
                                r = write(fd, msg, strlen(msg));
                } else if (streq(how[i], "sendto"))
                        r = sendto(fd, msg, strlen(msg), 0, (struct sockaddr *) &un, len);
                else if (streq(how[i], "sendmsg")) {
                        struct msghdr mh = {
                                .msg_name = &un, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1
                        };
                        r = sendmsg(fd, &mh, 0);
                } else {
                        struct mmsghdr mm = { .msg_hdr = { .msg_name = &un,
                                                           .msg_namelen = len,
                                                           .msg_iov = &iov,
                                                           .msg_iovlen = 1 } };
                        r = sendmmsg(fd, &mm, 1, 0);
                }
                call_report(id, r, errno, "to %s", argv[1]);
                close(fd);
        }
        return 0;
}

static void ro_fd_attr(const char *label, const char *path, const char *prog) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat before, after;
        char id[128], v[64];
        long r;

        if (fd < 0 || fstat(fd, &before) < 0) {
                skip(label, "cannot open %s read-only: %s", path, en(errno));
                return;
        }
#define ATTR_CASE(name, call, changed)                                                                      \
        do {                                                                                                \
                snprintf(id, sizeof id, "%s-%s", label, name);                                              \
                r = (call);                                                                                 \
                int e_ = errno;                                                                             \
                (void) fstat(fd, &after);                                                                   \
                if (changed)                                                                                \
                        result(id, true, "%s changed through a read-only fd of %s", name, path);            \
                else                                                                                        \
                        result(id, false, "%s: rc %ld %s", name, r, r < 0 ? en(e_) : "(no change)");        \
                before = after;                                                                             \
        } while (0)

        ATTR_CASE("fchmod", fchmod(fd, 0604), (after.st_mode & 07777) != (before.st_mode & 07777));
        ATTR_CASE("fchown", fchown(fd, 1, 1),
                  after.st_uid != before.st_uid || after.st_gid != before.st_gid);
        ATTR_CASE("fsetxattr-user", fsetxattr(fd, "user.fo_attack", "x", 1, 0),
                  fgetxattr(fd, "user.fo_attack", v, sizeof v) == 1);
        ATTR_CASE("fsetxattr-trusted", fsetxattr(fd, "trusted.fo_attack", "x", 1, 0),
                  fgetxattr(fd, "trusted.fo_attack", v, sizeof v) == 1);
        /* Only an attribute that is there can be seen to go (the harness sets it with "attack setxattr"). */
        if (fgetxattr(fd, "user.fo_keep", v, sizeof v) < 0)
                skip("fremovexattr", "%s has no user.fo_keep to remove: %s", path, en(errno));
        else
                ATTR_CASE("fremovexattr", fremovexattr(fd, "user.fo_keep"),
                          fgetxattr(fd, "user.fo_keep", v, sizeof v) < 0 && errno == ENODATA);
        ATTR_CASE("ftruncate", ftruncate(fd, 1), after.st_size != before.st_size);
        ATTR_CASE("fallocate", fallocate(fd, 0, 0, 1 << 20),
                  after.st_size != before.st_size || after.st_blocks != before.st_blocks);
        {
                int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
                loff_t off = 0;
                ATTR_CASE("copy_file_range", copy_file_range(src, &off, fd, NULL, 16, 0),
                          after.st_size != before.st_size ||
                                  after.st_mtim.tv_nsec != before.st_mtim.tv_nsec);
                off = 0;
                ATTR_CASE("sendfile", sendfile(fd, src, &off, 16),
                          after.st_mtim.tv_nsec != before.st_mtim.tv_nsec);
                ATTR_CASE("ficlone", ioctl(fd, FICLONE, src),
                          after.st_mtim.tv_nsec != before.st_mtim.tv_nsec);
                {
                        struct file_clone_range fcr = { .src_fd = src, .src_length = 4096 };
                        ATTR_CASE("ficlonerange", ioctl(fd, FICLONERANGE, &fcr),
                                  after.st_mtim.tv_nsec != before.st_mtim.tv_nsec);
                }
                if (src >= 0)
                        close(src);
        }
        {
                int p[2];
                if (pipe(p) == 0) {
                        (void) !write(p[1], "FOSPLICE", 8);
                        ATTR_CASE("splice", splice(p[0], NULL, fd, NULL, 8, 0),
                                  after.st_mtim.tv_nsec != before.st_mtim.tv_nsec);
                        close(p[0]);
                        close(p[1]);
                }
        }
        {
                void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
                snprintf(id, sizeof id, "%s-mmap-shared-write", label);
                if (m != MAP_FAILED) {
                        result(id, true, "a writable shared mapping of a read-only fd");
                        munmap(m, 4096);
                } else
                        result(id, false, "refused: %s", en(errno));
        }
        {
                unsigned flags = 0;
                if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0) {
                        static const struct {
                                const char *n;
                                unsigned f;
                        } fl[] = {
                                { "fs_ioc_setflags-nodump", FS_NODUMP_FL },
                                { "fs_ioc_setflags-append", FS_APPEND_FL },
                                { "fs_ioc_setflags-immutable", FS_IMMUTABLE_FL },
                        };
                        for (size_t i = 0; i < ELEMENTSOF(fl); i++) {
                                unsigned want = flags | fl[i].f, now = 0;
                                snprintf(id, sizeof id, "%s-%s", label, fl[i].n);
                                r = ioctl(fd, FS_IOC_SETFLAGS, &want);
                                int e = errno;
                                if (ioctl(fd, FS_IOC_GETFLAGS, &now) == 0 && (now & fl[i].f) &&
                                    !(flags & fl[i].f))
                                        result(id, true, "inode flag set through a read-only fd");
                                else
                                        result(id, false, "rc %ld %s", r, r < 0 ? en(e) : "");
                                /* Leave no flag that would stop the next calls (or the cleanup). */
                                if (now & (FS_IMMUTABLE_FL | FS_APPEND_FL)) {
                                        unsigned back = now & ~(FS_IMMUTABLE_FL | FS_APPEND_FL);
                                        (void) ioctl(fd, FS_IOC_SETFLAGS, &back);
                                }
                        }
                } else
                        skip(label, "FS_IOC_GETFLAGS: %s", en(errno));
        }
        {
                struct fsxattr fx;
                snprintf(id, sizeof id, "%s-fs_ioc_fssetxattr", label);
                if (ioctl(fd, FS_IOC_FSGETXATTR, &fx) == 0) {
                        unsigned old = fx.fsx_xflags;
                        fx.fsx_xflags |= FS_XFLAG_NODUMP;
                        r = ioctl(fd, FS_IOC_FSSETXATTR, &fx);
                        int e = errno;
                        if (ioctl(fd, FS_IOC_FSGETXATTR, &fx) == 0 && (fx.fsx_xflags & FS_XFLAG_NODUMP) &&
                            !(old & FS_XFLAG_NODUMP))
                                result(id, true, "xflags changed through a read-only fd");
                        else
                                result(id, false, "rc %ld %s", r, r < 0 ? en(e) : "");
                } else
                        skip(id, "FS_IOC_FSGETXATTR: %s", en(errno));
        }
        {
                long gen0 = 0, gen1 = 0, want = 0x5a5a;
                snprintf(id, sizeof id, "%s-fs_ioc_setversion", label);
                if (ioctl(fd, FS_IOC_GETVERSION, &gen0) == 0) {
                        want = gen0 ^ 0x5a5a;
                        r = ioctl(fd, FS_IOC_SETVERSION, &want);
                        int e = errno;
                        if (ioctl(fd, FS_IOC_GETVERSION, &gen1) == 0 && gen1 != gen0)
                                result(id, true, "inode generation changed through a read-only fd");
                        else
                                result(id, false, "rc %ld %s", r, r < 0 ? en(e) : "");
                } else
                        skip(id, "FS_IOC_GETVERSION: %s", en(errno));
        }
        {
                /* fs-verity wants a read-only fd, and makes the file read-only for good. */
                struct fsverity_enable_arg va = { .version = 1, .hash_algorithm = 1, .block_size = 4096 };
                unsigned fl = 0;
                snprintf(id, sizeof id, "%s-fs_ioc_enable_verity", label);
                r = ioctl(fd, FS_IOC_ENABLE_VERITY, &va);
                int e = errno;
                if (ioctl(fd, FS_IOC_GETFLAGS, &fl) == 0 && (fl & FS_VERITY_FL))
                        result(id, true,
                               "fs-verity enabled through a read-only fd (the file is read-only for good)");
                else if (r < 0 && (e == EOPNOTSUPP || e == ENOTTY))
                        skip(id, "this file system has no fs-verity: %s", en(e));
                else
                        result(id, false, "rc %ld %s", r, r < 0 ? en(e) : "");
        }
        close(fd);

        if (prog) {
                /* File capabilities on a program through a read-only fd: the next exec of it gets them. */
                struct {
                        uint32_t magic;
                        struct {
                                uint32_t permitted, inheritable;
                        } d[2];
                } cap = {
                        .magic = 0x02000000 | 1, .d = { { 1u << 13, 0 }, { 0, 0 } }
                }; /* VFS_CAP_REVISION_2, effective; CAP_NET_RAW */
                int pfd = open(prog, O_RDONLY | O_CLOEXEC);
                snprintf(id, sizeof id, "%s-fsetxattr-security-capability", label);
                if (pfd < 0)
                        skip(id, "open %s: %s", prog, en(errno));
                else {
                        r = fsetxattr(pfd, "security.capability", &cap, sizeof cap, 0);
                        int e = errno;
                        char v2[64];
                        if (fgetxattr(pfd, "security.capability", v2, sizeof v2) > 0)
                                result(id, true, "file capabilities set on %s through a read-only fd", prog);
                        else
                                result(id, false, "rc %ld %s", r, r < 0 ? en(e) : "");
                        close(pfd);
                }
        }
}

/* ro-fd LABEL FILE [PROG] [DIR]: changes through read-only fds of files outside the writable areas. */
static int cmd_ro_fd(int argc, char **argv) {
        if (argc < 2)
                return 2;
        ro_fd_attr(argv[0], argv[1], argc > 2 && argv[2][0] ? argv[2] : NULL);
        if (argc > 3) {
                int d = open(argv[3], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                struct stat a, b;
                char id[128];
                long r;

                snprintf(id, sizeof id, "%s-fchmod-directory", argv[0]);
                if (d < 0 || fstat(d, &a) < 0)
                        skip(id, "open %s: %s", argv[3], en(errno));
                else {
                        r = fchmod(d, (a.st_mode & 07777) ^ 0020);
                        int e = errno;
                        (void) fstat(d, &b);
                        result(id, (a.st_mode & 07777) != (b.st_mode & 07777), "rc %ld %s: mode %o -> %o", r,
                               r < 0 ? en(e) : "", a.st_mode & 07777, b.st_mode & 07777);
                        close(d);
                }
        }
        return 0;
}

/* devices LOOPCTL_INDEX UNBOUND_LOOP BOUND_LOOP FILE: loop and block ioctls through read-only fds. */
static int cmd_devices(int argc, char **argv) {
        long r;
        int e;

        if (argc < 4)
                return 2;
        {
                int fd = open("/dev/loop-control", O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        result("loop_ctl_add", false, "/dev/loop-control refused: %s", en(errno));
                else {
                        r = ioctl(fd, LOOP_CTL_ADD, (unsigned long) parse_ul(argv[0]));
                        e = errno;
                        /* The harness checks for /dev/loopN and removes it. */
                        call_report("loop_ctl_add", r, e, "index %s through a read-only fd", argv[0]);
                        close(fd);
                }
        }
        {
                int dev = open(argv[1], O_RDONLY | O_CLOEXEC), file = open(argv[3], O_RDONLY | O_CLOEXEC);
                if (dev < 0)
                        result("loop_set_fd", false, "%s refused: %s", argv[1], en(errno));
                else {
                        r = ioctl(dev, LOOP_SET_FD, file);
                        e = errno;
                        call_report("loop_set_fd", r, e, "%s backed by %s through read-only fds", argv[1],
                                    argv[3]);
                        close(dev);
                }
                if (file >= 0)
                        close(file);
        }
        {
                int dev = open(argv[2], O_RDONLY | O_CLOEXEC);
                if (dev < 0)
                        result("blk", false, "%s refused: %s", argv[2], en(errno));
                else {
                        int one = 1;
                        uint64_t range[2] = { 0, 4096 };
                        struct loop_info64 li;

                        r = ioctl(dev, BLKROSET, &one);
                        call_report("blkroset", r, errno, "%s read-only through a read-only fd", argv[2]);
                        r = ioctl(dev, BLKFLSBUF, 0);
                        call_report("blkflsbuf", r, errno, "%s", argv[2]);
                        r = ioctl(dev, BLKDISCARD, range);
                        call_report("blkdiscard", r, errno, "%s", argv[2]);
                        r = ioctl(dev, BLKZEROOUT, range);
                        call_report("blkzeroout", r, errno, "%s", argv[2]);
                        r = ioctl(dev, BLKSECDISCARD, range);
                        call_report("blksecdiscard", r, errno, "%s", argv[2]);
                        if (ioctl(dev, LOOP_GET_STATUS64, &li) == 0) {
                                li.lo_offset = 512;
                                r = ioctl(dev, LOOP_SET_STATUS64, &li);
                                call_report("loop_set_status64", r, errno, "%s offset 512", argv[2]);
                        }
                        r = ioctl(dev, LOOP_CLR_FD, 0);
                        call_report("loop_clr_fd", r, errno, "%s detached through a read-only fd", argv[2]);
                        close(dev);
                }
        }
        return 0;
}

/* netif IFNAME: take an interface down through an ioctl on a socket (run in a network namespace of the
 * test's own: the harness looks at the interface afterwards). */
static int cmd_netif(int argc, char **argv) {
        struct ifreq ifr;
        int fd;
        long r;

        if (argc < 1)
                return 2;
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                skip("siocsifflags", "socket: %s", en(errno));
                return 0;
        }
        memset(&ifr, 0, sizeof ifr);
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", argv[0]);
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
                skip("siocsifflags", "SIOCGIFFLAGS %s: %s", argv[0], en(errno));
                return 0;
        }
        ifr.ifr_flags &= ~IFF_UP;
        r = ioctl(fd, SIOCSIFFLAGS, &ifr);
        call_report("siocsifflags", r, errno, "%s down through an ioctl on a unix socket", argv[0]);
        close(fd);
        return 0;
}

/* ==== class 5: aliases, the filter cache, inherited fds
 * ========================================================== */

/* read-as ID PATH CANARY|- : one open+read; ESCAPED when the canary (or anything, for "-") was read. */
static void read_as(const char *id, const char *path, const char *canary) {
        char buf[65536];
        ssize_t n = read_file(path, buf, sizeof buf);

        if (n < 0)
                result(id, false, "%s refused: %s", path, en((int) -n));
        else if (streq(canary, "-") || streq(canary, "open"))
                result(id, true, "%s read (%zd bytes)", path, n);
        else if (contains(buf, (size_t) n, canary))
                result(id, true, "%s read: the secret's canary is in it", path);
        else
                result(id, true, "%s read (%zd bytes, canary not seen)", path, n);
}

/* aliases SECRET_DIR SECRET_NAME CANARY [PID...]: every name of a secret the policy may not know. */
static int cmd_aliases(int argc, char **argv) {
        const char *dir, *name, *canary;
        char path[512], id[256];

        if (argc < 3)
                return 2;
        dir = argv[0];
        name = argv[1];
        canary = argv[2];

        snprintf(path, sizeof path, "%s/%s", dir, name);
        read_as("direct", path, canary);
        snprintf(path, sizeof path, "/proc/self/root%s/%s", dir, name);
        read_as("proc-self-root", path, canary);
        snprintf(path, sizeof path, "/proc/thread-self/root%s/%s", dir, name);
        read_as("proc-thread-self-root", path, canary);
        snprintf(path, sizeof path, "/proc/%d/task/%d/root%s/%s", getpid(), (int) gettid(), dir, name);
        read_as("proc-pid-task-root", path, canary);
        snprintf(path, sizeof path, "/proc/%d/root%s/%s", getppid(), dir, name);
        read_as("proc-ppid-root", path, canary);
        snprintf(path, sizeof path, "/proc/1/root%s/%s", dir, name);
        read_as("proc-1-root", path, canary);
        snprintf(path, sizeof path, "%s/./%s", dir, name);
        read_as("dot", path, canary);
        snprintf(path, sizeof path, "%s//%s", dir, name);
        read_as("double-slash", path, canary);
        snprintf(path, sizeof path, "/../..%s/%s", dir, name);
        read_as("dotdot-above-root", path, canary);
        if (chdir(dir) == 0) {
                read_as("relative-after-chdir", name, canary);
                snprintf(path, sizeof path, "/proc/self/cwd/%s", name);
                read_as("proc-self-cwd", path, canary);
                snprintf(path, sizeof path, "/proc/thread-self/cwd/%s", name);
                read_as("proc-thread-self-cwd", path, canary);
                (void) chdir("/");
        } else
                skip("relative-after-chdir", "chdir %s: %s", dir, en(errno));
        {
                int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (d >= 0) {
                        char buf[4096];
                        int fd;
                        snprintf(path, sizeof path, "/proc/self/fd/%d/%s", d, name);
                        read_as("proc-self-fd-dir", path, canary);
                        snprintf(path, sizeof path, "/dev/fd/%d/%s", d, name);
                        read_as("dev-fd-dir", path, canary);
                        fd = openat(d, name, O_RDONLY | O_CLOEXEC);
                        if (fd >= 0) {
                                ssize_t n = read_all(fd, buf, sizeof buf);
                                result("openat-dirfd", n > 0, "read %zd bytes", n);
                                close(fd);
                        } else
                                result("openat-dirfd", false, "refused: %s", en(errno));
                        close(d);
                } else
                        skip("proc-self-fd-dir", "open %s: %s", dir, en(errno));
        }
        {
                /* A symlink and a hard link in scratch space. */
                char l[256];
                snprintf(l, sizeof l, "/tmp/fo-alias-%d", getpid());
                snprintf(path, sizeof path, "%s/%s", dir, name);
                if (symlink(path, l) == 0) {
                        read_as("symlink-in-tmp", l, canary);
                        (void) unlink(l);
                }
                if (link(path, l) == 0) {
                        result("hardlink-in-tmp", true, "a hard link to the secret was made in /tmp");
                        read_as("hardlink-in-tmp-read", l, canary);
                        (void) unlink(l);
                } else
                        result("hardlink-in-tmp", false, "refused: %s", en(errno));
        }
        /* map_files of other processes that map it (harness helpers). */
        for (int i = 3; i < argc; i++) {
                char mp[128];
                DIR *d;
                struct dirent *de;

                snprintf(mp, sizeof mp, "/proc/%s/map_files", argv[i]);
                d = opendir(mp);
                if (!d) {
                        result("map-files", false, "%s refused: %s", mp, en(errno));
                        continue;
                }
                while ((de = readdir(d))) {
                        char t[512];
                        ssize_t n;
                        if (de->d_name[0] == '.')
                                continue;
                        snprintf(path, sizeof path, "%s/%s", mp, de->d_name);
                        n = readlink(path, t, sizeof t - 1);
                        if (n <= 0)
                                continue;
                        t[n] = 0;
                        if (!strstr(t, name))
                                continue;
                        snprintf(id, sizeof id, "map-files");
                        read_as(id, path, canary);
                }
                closedir(d);
        }
        return 0;
}

/* paths ID CANARY PATH...: plain opens of names that might alias a secret. */
static int cmd_paths(int argc, char **argv) {
        if (argc < 3)
                return 2;
        for (int i = 2; i < argc; i++) {
                char id[300];
                snprintf(id, sizeof id, "%s%s", argv[0], argv[i]);
                for (char *p = id; *p; p++)
                        if (*p == '/' || *p == ' ')
                                *p = '-';
                read_as(id, argv[i], argv[1]);
        }
        return 0;
}

/* opens ID PATH...: open only (O_RDONLY | O_NONBLOCK), for files whose reading has effects (/proc/kmsg
 * consumes the kernel log) or is pointless: the open succeeding is the escape. "@TID@" and "@PPID@" in a
 * path become our tid and our parent's pid. */
static int cmd_opens(int argc, char **argv) {
        if (argc < 2)
                return 2;
        for (int i = 1; i < argc; i++) {
                char id[300], path[512], tmp[512];
                int fd;

                subst_pid(tmp, sizeof tmp, argv[i], getppid());
                snprintf(path, sizeof path, "%s", tmp);
                if (strstr(path, "@TID@")) {
                        char *at = strstr(path, "@TID@");
                        snprintf(tmp, sizeof tmp, "%.*s%d%s", (int) (at - path), path, (int) gettid(),
                                 at + 5);
                        snprintf(path, sizeof path, "%s", tmp);
                }
                snprintf(id, sizeof id, "%s%s", argv[0], argv[i]);
                for (char *p = id; *p; p++)
                        if (*p == '/' || *p == '@')
                                *p = '-';
                fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
                if (fd >= 0) {
                        result(id, true, "%s opened", path);
                        close(fd);
                } else if (errno == ENOENT || errno == ENXIO || errno == ENODEV)
                        skip(id, "%s: %s", path, en(errno));
                else
                        result(id, false, "%s refused: %s", path, en(errno));
        }
        return 0;
}

/* mknod-dev: a device node of /dev/mem in scratch space. */
static int cmd_mknod(int argc, char **argv) {
        char p[64];

        snprintf(p, sizeof p, "/tmp/fo-mem-%d", getpid());
        if (mknod(p, S_IFCHR | 0600, makedev(1, 1)) == 0) {
                int fd = open(p, O_RDONLY | O_CLOEXEC);
                result("mknod-dev-mem", true, "made a /dev/mem node in /tmp (open: %s)",
                       fd >= 0 ? "ok" : en(errno));
                if (fd >= 0)
                        close(fd);
                (void) unlink(p);
        } else
                result("mknod-dev-mem", false, "refused: %s", en(errno));
        return 0;
}

/* ---- a minimal SHA-256, to forge a cache entry the way any workload could ---- */

static const uint32_t K256[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const uint8_t *p) {
        uint32_t w[64], a, b, c, d, e, f, g, hh;

        for (int i = 0; i < 16; i++)
                w[i] = (uint32_t) p[4 * i] << 24 | (uint32_t) p[4 * i + 1] << 16 |
                       (uint32_t) p[4 * i + 2] << 8 | p[4 * i + 3];
        for (int i = 16; i < 64; i++) {
                uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
                uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
                w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (int i = 0; i < 64; i++) {
                uint32_t t1 =
                        hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
                uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
                hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
        }
        h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

static void sha256(const uint8_t *data, size_t n, uint8_t out[32]) {
        uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                          0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
        uint8_t tail[128] = {};
        size_t full = n / 64 * 64, rest = n - full, tl;
        uint64_t bits = (uint64_t) n * 8;

        for (size_t i = 0; i < full; i += 64)
                sha256_block(h, data + i);
        memcpy(tail, data + full, rest);
        tail[rest] = 0x80;
        tl = rest + 1 + 8 <= 64 ? 64 : 128;
        for (int i = 0; i < 8; i++)
                tail[tl - 1 - i] = (uint8_t) (bits >> (8 * i));
        for (size_t i = 0; i < tl; i += 64)
                sha256_block(h, tail + i);
        for (int i = 0; i < 8; i++) {
                out[4 * i] = (uint8_t) (h[i] >> 24);
                out[4 * i + 1] = (uint8_t) (h[i] >> 16);
                out[4 * i + 2] = (uint8_t) (h[i] >> 8);
                out[4 * i + 3] = (uint8_t) h[i];
        }
}

/* A cache entry whose filter allows every call: magic, the key copied from the real entry, default
 * ALLOW, the native arch, one instruction (RET ALLOW), no syscall table, and the checksum anyone can
 * compute. */
static size_t forge_entry(const uint8_t *orig, size_t orig_len, uint8_t *out) {
        static const char magic[] = "FOFLTC1\n";
        size_t o = 0, m = strlen(magic);
        uint32_t v;

        if (orig_len < m + 32)
                return 0;
        memcpy(out, orig, m + 32); /* magic and key */
        o = m + 32;
#define PUT(x) (v = (uint32_t) (x), memcpy(out + o, &v, 4), o += 4)
        PUT(0); /* default action: allow */
        PUT(0); /* errno */
        PUT(1); /* arches */
        PUT(AUDIT_ARCH_X86_64);
        PUT(1); /* instructions */
        PUT((uint32_t) (BPF_RET | BPF_K) << 16);
        PUT(SECCOMP_RET_ALLOW);
        PUT(0); /* syscalls */
#undef PUT
        sha256(out, o, out + o);
        return o + 32;
}

/* forge-cache ENTRY ATTEMPTS: hard-link the cache entry into scratch space with the linkat race, then
 * write a forged entry through the link. */
static int cmd_forge_cache(int argc, char **argv) {
        char dst[256], okf[256];
        unsigned long attempts;
        Flipper fl;
        Flip f = { .kind = FLIP_DUP2, .n = RACE_FD };
        struct stat se, st;
        bool linked = false;
        unsigned long i;

        if (argc < 2)
                return 2;
        attempts = parse_ul(argv[1]);
        snprintf(dst, sizeof dst, "/tmp/fo-forge-%d", getpid());
        snprintf(okf, sizeof okf, "/tmp/fo-forge-ok-%d", getpid());
        f.b = open(argv[0], O_RDONLY | O_CLOEXEC);
        {
                int c = open(okf, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
                if (c >= 0)
                        close(c);
        }
        f.a = open(okf, O_RDONLY | O_CLOEXEC);
        if (f.a < 0 || f.b < 0 || fstat(f.b, &se) < 0) {
                result("forge-cache", false, "cannot open the entry read-only: %s", en(errno));
                return 0;
        }
        (void) dup2(f.a, RACE_FD);
        if (flipper_start(&fl, &f, 0, true) < 0)
                return 1;
        for (i = 0; i < attempts && !linked; i++)
                if (linkat(RACE_FD, "", AT_FDCWD, dst, AT_EMPTY_PATH) == 0) {
                        if (stat(dst, &st) == 0 && same_inode(&st, &se))
                                linked = true;
                        else
                                (void) unlink(dst);
                }
        flipper_stop(&fl);
        (void) unlink(okf);
        if (!linked) {
                result("forge-cache-link", false, "no link to the cache entry in %lu attempts", attempts);
                return 0;
        }
        result("forge-cache-link", true, "linked the cache entry as %s after %lu attempts", dst, i);
        {
                static uint8_t orig[1 << 20], forged[256];
                int fd = open(dst, O_RDWR | O_CLOEXEC);
                ssize_t n;
                size_t fl_len;

                if (fd < 0) {
                        result("forge-cache-write", false, "open of the link for writing refused: %s",
                               en(errno));
                        (void) unlink(dst);
                        return 0;
                }
                n = read_all(fd, (char *) orig, sizeof orig);
                fl_len = n > 0 ? forge_entry(orig, (size_t) n, forged) : 0;
                if (fl_len == 0 || ftruncate(fd, 0) < 0 || pwrite(fd, forged, fl_len, 0) != (ssize_t) fl_len)
                        result("forge-cache-write", false, "could not write: %s", en(errno));
                else
                        result("forge-cache-write", true,
                               "wrote a %zu-byte allow-all entry over the cache entry", fl_len);
                close(fd);
        }
        (void) unlink(dst);
        return 0;
}

/* fds local|container [ROOT_FD [APPEND_FD [ATTR_FD]]]: what was inherited beyond 0-2, and what it gives.
 * ROOT_FD is the caller's root directory: in run --local the workload's own root too, so looking through
 * it is no escape there. */
static int cmd_fds(int argc, char **argv) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int self = d ? dirfd(d) : -1;
        char id[64];
        bool same_root;

        if (argc < 1)
                return 2;
        same_root = streq(argv[0], "local");
        argc--;
        argv++;

        int inherited = 0;
        while (d && (de = readdir(d))) {
                char p[64], t[512];
                int n = atoi(de->d_name);
                ssize_t k;

                if (de->d_name[0] == '.' || n <= 2 || n == self)
                        continue;
                snprintf(p, sizeof p, "/proc/self/fd/%d", n);
                k = readlink(p, t, sizeof t - 1);
                t[k > 0 ? k : 0] = 0;
                snprintf(id, sizeof id, "inherited-fd-%d", n);
                result(id, true, "fd %d was passed in: %s", n, t);
                inherited++;
        }
        if (d && inherited == 0)
                result("inherited-fds", false,
                       "no descriptor of the caller beyond 0, 1 and 2 reached the workload");
        if (d)
                closedir(d);
        if (argc > 0) {
                int fd = atoi(argv[0]), g;
                struct stat st;

                if (fstat(fd, &st) < 0) {
                        skip("dirfd-use", "fd %d: %s", fd, en(errno));
                } else {
                        DIR *dd;
                        g = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                        dd = g >= 0 ? fdopendir(g) : NULL;
                        if (dd) {
                                int names = 0;
                                char list[256] = "";
                                while ((de = readdir(dd)))
                                        if (de->d_name[0] != '.' && names++ < 6) {
                                                strncat(list, de->d_name, sizeof list - strlen(list) - 2);
                                                strcat(list, " ");
                                        }
                                result("dirfd-getdents", names > 0 && !same_root,
                                       "listed %d names of the caller's directory%s: %s", names,
                                       same_root ? " (the workload's own root)" : "", list);
                                closedir(dd);
                        }
                        /* What the fd's own etc/passwd is (fstatat is decided in the kernel), against what
                         * an open through it gives. */
                        {
                                struct stat want;
                                bool have = fstatat(fd, "etc/passwd", &want, 0) == 0;

                                g = openat(fd, "etc/passwd", O_RDONLY | O_CLOEXEC);
                                if (g >= 0 && have && fd_is_inode(g, &want))
                                        result("dirfd-openat-passwd", !same_root,
                                               "opened the caller's etc/passwd%s",
                                               same_root ? " (the workload's own root: allowed)" : "");
                                else if (g >= 0)
                                        result("dirfd-openat-passwd", false,
                                               "an open through it gave another file (the "
                                               "path was judged and opened in the workload's root)");
                                else
                                        result("dirfd-openat-passwd", false, "refused: %s", en(errno));
                                if (g >= 0)
                                        close(g);
                        }
                        g = openat(fd, "etc/shadow", O_RDONLY | O_CLOEXEC);
                        result("dirfd-openat-shadow", g >= 0, "%s",
                               g >= 0 ? "opened the caller's etc/shadow" : en(errno));
                        if (g >= 0)
                                close(g);
                        if (fchdir(fd) == 0) {
                                struct stat want;
                                bool have = stat("etc/passwd", &want) == 0;
                                int h = open("etc/passwd", O_RDONLY | O_CLOEXEC);

                                if (h >= 0 && have && fd_is_inode(h, &want))
                                        result("dirfd-fchdir-open", !same_root,
                                               "fchdir into it; a relative open read the caller's "
                                               "etc/passwd");
                                else
                                        result("dirfd-fchdir-open", false,
                                               "fchdir into it; relative open: %s",
                                               h >= 0 ? "another file (judged in the workload's root)"
                                                      : en(errno));
                                if (h >= 0)
                                        close(h);
                                (void) chdir("/");
                        } else
                                result("dirfd-fchdir-open", false, "fchdir refused: %s", en(errno));
                }
        }
        if (argc > 1) {
                int fd = atoi(argv[1]);
                ssize_t n = write(fd, "FOLEAK\n", 7);
                result("append-fd-write", n == 7, "%s", n == 7 ? "wrote into the caller's file" : en(errno));
        }
        if (argc > 2) {
                int fd = atoi(argv[2]);
                struct stat a, b;
                if (fstat(fd, &a) == 0) {
                        long r = fchmod(fd, (a.st_mode & 07777) ^ 0001);
                        int e = errno;
                        (void) fstat(fd, &b);
                        result("attr-fd-fchmod", (a.st_mode & 07777) != (b.st_mode & 07777), "rc %ld %s", r,
                               r < 0 ? en(e) : "");
                } else
                        skip("attr-fd-fchmod", "fd %d: %s", fd, en(errno));
        }
        return 0;
}

/* ==== helpers the harness runs outside the workload
 * ============================================================== */

/* pty-run INJECT_FILE -- CMD...: CMD on a fresh pty as its controlling terminal (the user's terminal);
 * afterwards whatever sits in the terminal's input queue (what TIOCSTI pushed) goes to INJECT_FILE. */
static int cmd_pty_run(int argc, char **argv) {
        int m, s, st = 0, out;
        pid_t c;
        struct termios t;
        char *sn;

        if (argc < 3 || !streq(argv[1], "--"))
                return 2;
        m = posix_openpt(O_RDWR | O_NOCTTY);
        if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || !(sn = ptsname(m)))
                return 1;
        s = open(sn, O_RDWR | O_NOCTTY);
        if (s < 0 || tcgetattr(s, &t) < 0)
                return 1;
        cfmakeraw(&t);
        (void) tcsetattr(s, TCSANOW, &t);
        c = fork();
        if (c == 0) {
                (void) setsid();
                (void) ioctl(s, TIOCSCTTY, 0);
                dup2(s, 0);
                dup2(s, 1);
                dup2(s, 2);
                if (s > 2)
                        close(s);
                close(m);
                execvp(argv[2], argv + 2);
                _exit(127);
        }
        for (;;) {
                struct pollfd p = { .fd = m, .events = POLLIN };
                char buf[4096];
                ssize_t n;

                if (poll(&p, 1, 100) > 0) {
                        n = read(m, buf, sizeof buf);
                        if (n > 0)
                                (void) !write(1, buf, (size_t) n);
                }
                if (waitpid(c, &st, WNOHANG) == c)
                        break;
        }
        for (;;) {
                struct pollfd p = { .fd = m, .events = POLLIN };
                char buf[4096];
                ssize_t n;
                if (poll(&p, 1, 0) <= 0 || (n = read(m, buf, sizeof buf)) <= 0)
                        break;
                (void) !write(1, buf, (size_t) n);
        }
        out = open(argv[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        (void) fcntl(s, F_SETFL, O_NONBLOCK);
        for (;;) {
                char buf[4096];
                ssize_t n = read(s, buf, sizeof buf);
                if (n <= 0)
                        break;
                if (out >= 0)
                        (void) !write(out, buf, (size_t) n);
        }
        if (out >= 0)
                close(out);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* with-fds N:MODE:PATH... -- CMD...: open the given fds (MODE r, a (append), p (O_PATH), pn (O_PATH |
 * O_NOFOLLOW), d (directory)) and exec CMD with them. */
static int cmd_with_fds(int argc, char **argv) {
        int i;

        for (i = 0; i < argc && !streq(argv[i], "--"); i++) {
                char mode[8], path[4096];
                int n, fl, fd;

                if (sscanf(argv[i], "%d:%7[^:]:%4095s", &n, mode, path) != 3)
                        return 2;
                fl = streq(mode, "a")    ? O_WRONLY | O_APPEND
                     : streq(mode, "p")  ? O_PATH
                     : streq(mode, "pn") ? O_PATH | O_NOFOLLOW
                     : streq(mode, "d")  ? O_RDONLY | O_DIRECTORY
                                         : O_RDONLY;
                fd = open(path, fl);
                if (fd < 0 || dup2(fd, n) < 0) {
                        dprintf(2, "attack with-fds: %s: %m\n", path);
                        return 1;
                }
                if (fd != n)
                        close(fd);
        }
        if (i + 1 >= argc)
                return 2;
        execvp(argv[i + 1], argv + i + 1);
        return 127;
}

/* setxattr PATH NAME VALUE: for the harness (no attr package needed). */
static int cmd_setxattr(int argc, char **argv) {
        if (argc < 3)
                return 2;
        if (setxattr(argv[0], argv[1], argv[2], strlen(argv[2]), 0) < 0) {
                dprintf(2, "attack setxattr %s: %m\n", argv[0]);
                return 1;
        }
        return 0;
}

/* serve-fds SOCKET MODE:PATH: on a unix stream socket, hands every client an fd of PATH (modes as
 * with-fds: r, p, pn, d), until killed. Prints LISTENING once bound. */
static int cmd_serve_fds(int argc, char **argv) {
        struct sockaddr_un un = { .sun_family = AF_UNIX };
        char mode[8], path[4096];
        int s, fl, fd;

        if (argc < 2 || sscanf(argv[1], "%7[^:]:%4095s", mode, path) != 2)
                return 2;
        fl = streq(mode, "p")    ? O_PATH
             : streq(mode, "pn") ? O_PATH | O_NOFOLLOW
             : streq(mode, "d")  ? O_RDONLY | O_DIRECTORY
                                 : O_RDONLY;
        fd = open(path, fl | O_CLOEXEC);
        s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        snprintf(un.sun_path, sizeof un.sun_path, "%s", argv[0]);
        (void) unlink(argv[0]);
        /* Anyone may connect: a container's root is not the host's. */
        if (fd < 0 || s < 0 || bind(s, (struct sockaddr *) &un, sizeof un) < 0 || chmod(argv[0], 0666) < 0 ||
            listen(s, 16) < 0) {
                dprintf(2, "attack serve-fds: %m\n");
                return 1;
        }
        dprintf(1, "LISTENING\n");
        for (;;) {
                int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0)
                        continue;
                (void) send_fd(c, fd);
                close(c);
        }
}

/* listen-tcp PORT OUTFILE: accept on 0.0.0.0:PORT and [::]:PORT, append what arrives. */
static int cmd_listen_tcp(int argc, char **argv) {
        int port, out, ls[2] = { -1, -1 };

        if (argc < 2)
                return 2;
        port = atoi(argv[0]);
        out = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        for (int i = 0; i < 2; i++) {
                int one = 1, fd = socket(i ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
                struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t) port) };

                if (fd < 0)
                        continue;
                (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
                (void) setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &(int){ 16 }, sizeof(int));
                if (i)
                        (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
                if (bind(fd, i ? (struct sockaddr *) &in6 : (struct sockaddr *) &in,
                         i ? sizeof in6 : sizeof in) < 0 ||
                    listen(fd, 64) < 0) {
                        close(fd);
                        continue;
                }
                ls[i] = fd;
        }
        dprintf(1, "LISTENING\n");
        for (;;) {
                struct pollfd p[2] = { { .fd = ls[0], .events = POLLIN },
                                       { .fd = ls[1], .events = POLLIN } };
                if (poll(p, 2, -1) < 0)
                        continue;
                for (int i = 0; i < 2; i++)
                        if (p[i].revents & POLLIN) {
                                int c = accept4(ls[i], NULL, NULL, SOCK_CLOEXEC);
                                char buf[512];
                                ssize_t n;
                                struct pollfd q = { .fd = c, .events = POLLIN };
                                if (c < 0)
                                        continue;
                                if (poll(&q, 1, 2000) > 0 && (n = read(c, buf, sizeof buf)) > 0 && out >= 0)
                                        (void) !write(out, buf, (size_t) n);
                                close(c);
                        }
        }
}

/* listen-udp PORT OUTFILE: every datagram to 0.0.0.0:PORT is appended as a line. */
static int cmd_listen_udp(int argc, char **argv) {
        struct sockaddr_in in = { .sin_family = AF_INET };
        int fd, out;

        if (argc < 2)
                return 2;
        in.sin_port = htons((uint16_t) atoi(argv[0]));
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &in, sizeof in) < 0)
                return 1;
        out = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        dprintf(1, "LISTENING\n");
        for (;;) {
                char buf[512];
                ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
                if (n > 0 && out >= 0) {
                        buf[n++] = '\n';
                        (void) !write(out, buf, (size_t) n);
                }
        }
}

/* recv-unix PATH OUTFILE: a datagram socket at PATH; every datagram is appended as a line. */
static int cmd_recv_unix(int argc, char **argv) {
        struct sockaddr_un un = { .sun_family = AF_UNIX };
        int fd, out;

        if (argc < 2 || strlen(argv[0]) >= sizeof un.sun_path)
                return 2;
        strcpy(un.sun_path, argv[0]);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        (void) unlink(argv[0]);
        if (fd < 0 || bind(fd, (struct sockaddr *) &un, sizeof un) < 0) {
                dprintf(2, "recv-unix: %m\n");
                return 1;
        }
        /* Writable by anyone, a container's root included: only the policy stands in the way. */
        (void) chmod(argv[0], 0777);
        out = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        dprintf(1, "LISTENING\n");
        for (;;) {
                char buf[512];
                ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
                if (n > 0 && out >= 0) {
                        buf[n++] = '\n';
                        (void) !write(out, buf, (size_t) n);
                }
        }
}

/* loopctl add|remove N */
static int cmd_loopctl(int argc, char **argv) {
        int fd;
        long r;

        if (argc < 2)
                return 2;
        fd = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return 1;
        r = ioctl(fd, streq(argv[0], "add") ? LOOP_CTL_ADD : LOOP_CTL_REMOVE,
                  (unsigned long) parse_ul(argv[1]));
        close(fd);
        return r < 0 ? 1 : 0;
}

/* hold-map FILE: map a file and wait (its /proc/PID/map_files entry names it). */
static int cmd_hold_map(int argc, char **argv) {
        int fd;
        void *m;

        if (argc < 1)
                return 2;
        fd = open(argv[0], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 1;
        m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED)
                return 1;
        dprintf(1, "MAPPED\n");
        for (;;)
                pause();
}

static int cmd_fnv(int argc, char **argv) {
        char buf[65536];
        ssize_t n;
        int fd;

        if (argc < 1)
                return 2;
        fd = open(argv[0], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 1;
        n = read_all(fd, buf, sizeof buf);
        close(fd);
        if (n < 0)
                return 1;
        printf("%016" PRIx64 "\n", fnv64(buf, (size_t) n));
        return 0;
}

int main(int argc, char **argv) {
        static const struct {
                const char *name;
                int (*fn)(int, char **);
        } cmds[] = {
                { "width", cmd_width },
                { "tty", cmd_tty },
                { "wx", cmd_wx },
                { "signal", cmd_signal },
                { "reach", cmd_reach },
                { "cgroup", cmd_cgroup },
                { "after-death", cmd_after_death },
                { "race-fd", cmd_race_fd },
                { "race-cont", cmd_race_cont },
                { "tcp-send", cmd_tcp_send },
                { "unix-send", cmd_unix_send },
                { "udp-send", cmd_udp_send },
                { "listen-udp", cmd_listen_udp },
                { "ro-fd", cmd_ro_fd },
                { "devices", cmd_devices },
                { "aliases", cmd_aliases },
                { "paths", cmd_paths },
                { "forge-cache", cmd_forge_cache },
                { "fds", cmd_fds },
                { "pty-run", cmd_pty_run },
                { "with-fds", cmd_with_fds },
                { "serve-fds", cmd_serve_fds },
                { "setxattr", cmd_setxattr },
                { "sysv", cmd_sysv },
                { "listen-tcp", cmd_listen_tcp },
                { "recv-unix", cmd_recv_unix },
                { "loopctl", cmd_loopctl },
                { "hold-map", cmd_hold_map },
                { "fnv", cmd_fnv },
                { "opens", cmd_opens },
                { "mknod", cmd_mknod },
                { "netif", cmd_netif },
        };

        if (argc >= 2 && streq(argv[1], "exec-probe"))
                _exit(42); /* the forbidden program of the exec races: running at all is the effect */
        if (argc < 2) {
                dprintf(2, "usage: attack COMMAND ARGS...\n");
                return 2;
        }
        sh = shared_alloc(sizeof *sh);
        for (size_t i = 0; i < ELEMENTSOF(cmds); i++)
                if (streq(argv[1], cmds[i].name))
                        return cmds[i].fn(argc - 2, argv + 2);
        dprintf(2, "attack: unknown command %s\n", argv[1]);
        return 2;
}
