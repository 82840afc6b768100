/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The workload side of the fidelity suite: for every case, a forked child that takes the case's
 * descriptors from the driver, sets its umask, limits and credentials, makes the call with raw
 * syscall(2) (so that the C library rewrites nothing), asks the driver to describe what changed and
 * hands one line to its parent, which prints it. Only the call under test, and what a case does on
 * purpose, go through the supervisor when this runs under forgeonectl.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fidelity-cases.h"

#define UID_USER   1000
#define GID_SHARED 1234

const char *errno_name(int e) {
        static __thread char buf[16];
        const char *n = strerrorname_np(e);

        if (n)
                return n;
        snprintf(buf, sizeof buf, "E%d", e);
        return buf;
}

void out(Ctx *x, const char *fmt, ...) {
        va_list ap;
        int k;

        if (x->out_len >= FIDELITY_LINE_MAX - 1)
                return;
        va_start(ap, fmt);
        k = vsnprintf(x->out + x->out_len, FIDELITY_LINE_MAX - x->out_len, fmt, ap);
        va_end(ap);
        if (k > 0)
                x->out_len = x->out_len + (size_t) k >= FIDELITY_LINE_MAX ? FIDELITY_LINE_MAX - 1
                                                                          : x->out_len + (size_t) k;
}

void out_ret(Ctx *x, long r, int e) {
        if (r < 0)
                out(x, "r=-1 %s", errno_name(e));
        else
                out(x, "r=%ld", r);
}

/* Bytes the call returned, quoted; numbers that differ between runs (pids, pipe and socket inodes)
 * are replaced by what they stand for. */
void out_bytes(Ctx *x, const char *label, const void *buf, size_t n) {
        char s[PATH_MAX + 64], pid[32], norm[PATH_MAX + 64];
        const unsigned char *u;
        size_t k = 0;

        n = n < sizeof s - 1 ? n : sizeof s - 1;
        memcpy(s, buf, n);
        s[n] = 0;
        snprintf(pid, sizeof pid, "%d", getpid());
        if (!strcmp(s, pid))
                snprintf(norm, sizeof norm, "PID");
        else if (n > 0 && n < strlen(pid) && !strncmp(s, pid, n))
                snprintf(norm, sizeof norm, "PID[:%zu]", n);
        else if (!strncmp(s, pid, strlen(pid)) && !strncmp(s + strlen(pid), "/task/", 6) &&
                 !strcmp(s + strlen(pid) + 6, pid))
                snprintf(norm, sizeof norm, "PID/task/PID");
        else if (strlen(s) == n && n < PATH_MAX) {
                /* The rest as the driver normalizes its own observations. */
                char req[sizeof s + 8];

                snprintf(req, sizeof req, "norm %s", s);
                if (driver_request(x, req, -1, norm, sizeof norm, NULL) < 0)
                        memcpy(norm, s, n + 1);
        } else
                memcpy(norm, s, n + 1);
        out(x, " %s=\"", label);
        for (u = (const unsigned char *) norm; *u && k < PATH_MAX; u++, k++) {
                if (*u < 0x20 || *u >= 0x7f || *u == '"' || *u == '|')
                        out(x, "\\x%02x", *u);
                else
                        out(x, "%c", *u);
        }
        if (strlen(norm) != n && strcmp(norm, s) == 0)
                out(x, "\\0...");
        out(x, "\"");
}

int driver_request(Ctx *x, const char *req, int send_fd, char *reply, size_t size, int *ret_fd) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } u = {};
        /* Every request carries a tag the reply repeats: a case killed while it waited leaves its reply
         * in the socket, which the next one must not take for its own. */
        static unsigned counter;
        static char tagged[FIDELITY_LINE_MAX + PATH_MAX * 2 + 128];
        char tag[32];
        size_t tl;
        struct iovec iov;
        struct msghdr mh = { .msg_iovlen = 1 };
        ssize_t n;

        tl = (size_t) snprintf(tag, sizeof tag, "%u.%d.%u:", x->index, (int) getpid(), ++counter);
        snprintf(tagged, sizeof tagged, "%s%s", tag, req);
        iov = (struct iovec) { .iov_base = tagged, .iov_len = strlen(tagged) };
        mh.msg_iov = &iov;

        if (send_fd >= 0) {
                mh.msg_control = u.buf;
                mh.msg_controllen = sizeof u.buf;
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &send_fd, sizeof send_fd);
        }
        if (sendmsg(x->sock, &mh, MSG_NOSIGNAL) < 0)
                return -errno;

        for (;;) {
                int fd = -1;

                memset(&u, 0, sizeof u);
                iov = (struct iovec){ .iov_base = tagged, .iov_len = sizeof tagged - 1 };
                mh = (struct msghdr){
                        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf
                };
                /* Not close-on-exec: a case that re-executes itself keeps what it was given. */
                n = recvmsg(x->sock, &mh, 0);
                if (n < 0)
                        return -errno;
                tagged[n] = 0;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                                memcpy(&fd, CMSG_DATA(c), sizeof fd);
                if ((size_t) n < tl || memcmp(tagged, tag, tl) != 0) {
                        if (fd >= 0)
                                close(fd); /* someone else's, left behind */
                        continue;
                }
                snprintf(reply, size, "%s", tagged + tl);
                if (ret_fd)
                        *ret_fd = fd;
                else if (fd >= 0)
                        close(fd);
                return 0;
        }
}

void out_obs_path(Ctx *x, const char *label, const char *path, bool follow, bool times) {
        char req[PATH_MAX * 2 + 32], reply[FIDELITY_LINE_MAX];

        snprintf(req, sizeof req, "obs %s%s%s %s", follow ? "f" : "", times ? "t" : "",
                 follow || times ? "" : "-", path);
        if (driver_request(x, req, -1, reply, sizeof reply, NULL) < 0)
                snprintf(reply, sizeof reply, "driver:%s", errno_name(errno));
        out(x, " %s{%s}", label, reply);
}

void out_obs_fd(Ctx *x, const char *label, int fd, bool times) {
        char reply[FIDELITY_LINE_MAX];
        int fl = fcntl(fd, F_GETFL), fdf = fcntl(fd, F_GETFD);

        if (driver_request(x, times ? "obsfd t" : "obsfd", fd, reply, sizeof reply, NULL) < 0)
                snprintf(reply, sizeof reply, "driver:%s", errno_name(errno));
        out(x, " %s{fd=%d fl=%#o cloexec=%d %s}", label, fd, fl, fdf & FD_CLOEXEC ? 1 : 0, reply);
}

void out_label(Ctx *x, uint64_t dev, uint64_t ino) {
        char req[96], reply[256];

        snprintf(req, sizeof req, "label %llu %llu", (unsigned long long) dev, (unsigned long long) ino);
        if (driver_request(x, req, -1, reply, sizeof reply, NULL) < 0)
                snprintf(reply, sizeof reply, "driver:%s", errno_name(errno));
        out(x, " id=%s", reply);
}

/* ---- running one case ---- */

static char *expand(const Ctx *x, const char *t) {
        char *s = malloc(8192), *o = s;
        const char *end = s + 8192 - 300;

        if (!s)
                abort();
        for (; *t && o < end; t++) {
                if (*t != '%') {
                        *o++ = *t;
                        continue;
                }
                t++;
                switch (*t) {
                case 'C':
                        o += sprintf(o, "%s/c/%04u", x->dir, x->index);
                        break;
                case 'c': /* the case directory relative to / */
                        o += sprintf(o, "%s/c/%04u", x->dir + 1, x->index);
                        break;
                case 'O':
                        o += sprintf(o, "%s/other/%04u", x->dir, x->index);
                        break;
                case 'R':
                        o += sprintf(o, "%s/ro", x->dir);
                        break;
                case 'D':
                        o += sprintf(o, "%s", x->dir);
                        break;
                case 'L': /* a name one byte above NAME_MAX */
                        memset(o, 'a', 256);
                        o += 256;
                        break;
                case 'E': /* a name of exactly NAME_MAX bytes */
                        memset(o, 'b', 255);
                        o += 255;
                        break;
                case 'X': /* an xattr name one byte above XATTR_NAME_MAX */
                        o += sprintf(o, "user.");
                        memset(o, 'x', 251);
                        o += 251;
                        break;
                case 'P': /* a path of PATH_MAX bytes and more */
                        for (int i = 0; i < 2100; i++) {
                                *o++ = '.';
                                *o++ = '/';
                        }
                        *o++ = 'f';
                        break;
                case 'S': /* a socket's name, short enough relative (under 108 bytes), too long absolute */
                        memset(o, 's', 90);
                        o += 90;
                        break;
                case 'p':
                        o += sprintf(o, "%d", getppid());
                        break;
                case '0':
                case '1':
                case '2':
                        o += sprintf(o, "%d", x->fd[*t - '0']);
                        break;
                case '%':
                        *o++ = '%';
                        break;
                default:
                        *o++ = '%';
                        *o++ = *t;
                }
                if (!*t)
                        break;
        }
        *o = 0;
        return s;
}

static char *path_arg(const Ctx *x, const char *t) {
        if (!t)
                return NULL;
        if (!strcmp(t, "@NULL"))
                return NULL;
        if (!strcmp(t, "@BAD"))
                return (char *) 1;
        return expand(x, t);
}

static int cap_drop_dac(void) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2];
        uint32_t drop = (1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH) | (1u << CAP_FOWNER);

        if (syscall(SYS_capget, &h, d) < 0)
                return -1;
        d[0].effective &= ~drop;
        return (int) syscall(SYS_capset, &h, d);
}

static int apply_cred(Cred cr) {
        gid_t shared = GID_SHARED;
        long r = 0;

        switch (cr) {
        case CRED_ROOT:
                return 0;
        case CRED_USER:
        case CRED_EXEC:
        case CRED_PRIVCWD:
                if ((r = syscall(SYS_setgroups, 0, NULL)) == 0 &&
                    (r = syscall(SYS_setresgid, UID_USER, UID_USER, UID_USER)) == 0)
                        r = syscall(SYS_setresuid, UID_USER, UID_USER, UID_USER);
                return (int) r;
        case CRED_USERG:
                if ((r = syscall(SYS_setgroups, 1, &shared)) == 0 &&
                    (r = syscall(SYS_setresgid, UID_USER, UID_USER, UID_USER)) == 0)
                        r = syscall(SYS_setresuid, UID_USER, UID_USER, UID_USER);
                return (int) r;
        case CRED_SETUID:
                if ((r = syscall(SYS_setgid, UID_USER)) == 0 && (r = syscall(SYS_setgroups, 0, NULL)) == 0)
                        r = syscall(SYS_setuid, UID_USER);
                return (int) r;
        case CRED_SETEUID:
                return (int) syscall(SYS_setresuid, -1, UID_USER, -1);
        case CRED_SETRESUID:
                if ((r = syscall(SYS_setgroups, 0, NULL)) == 0 &&
                    (r = syscall(SYS_setresgid, UID_USER, UID_USER, 0)) == 0)
                        r = syscall(SYS_setresuid, UID_USER, UID_USER, 0);
                return (int) r;
        case CRED_FSUID:
                (void) syscall(SYS_setfsuid, UID_USER);
                return (int) syscall(SYS_setfsuid, -1) == UID_USER ? 0 : -1;
        case CRED_NOBODY:
                if ((r = syscall(SYS_setgroups, 0, NULL)) == 0 &&
                    (r = syscall(SYS_setresgid, 65534, 65534, 65534)) == 0)
                        r = syscall(SYS_setresuid, 65534, 65534, 65534);
                return (int) r;
        case CRED_NODAC:
                return cap_drop_dac();
        default:
                errno = EINVAL;
                return -1;
        }
}

static int apply_limit(Limit l) {
        struct rlimit rl;
        int fd;

        switch (l) {
        case LIMIT_NONE:
                return 0;
        case LIMIT_FSIZE:
                rl = (struct rlimit){ 16, 16 };
                return setrlimit(RLIMIT_FSIZE, &rl);
        case LIMIT_NOFILE:
                /* The lowest free descriptor becomes the limit: the next open must fail. */
                fd = fcntl(0, F_DUPFD, 0);
                if (fd < 0)
                        return -1;
                close(fd);
                rl = (struct rlimit){ (rlim_t) fd, (rlim_t) fd };
                return setrlimit(RLIMIT_NOFILE, &rl);
        }
        return -1;
}

static bool is_own_token(const char *t) {
        return t && !strncmp(t, "own-", 4);
}

/* A descriptor the case opens itself, after its credentials: the kernel lets linkat(AT_EMPTY_PATH) link
 * it without CAP_DAC_READ_SEARCH, since it was opened with the caller's very credentials. */
static int open_own(const char *t) {
        int fd = -1;

        if (!strcmp(t, "own-utmpfile")) {
                fd = open("u", O_TMPFILE | O_RDWR | O_CLOEXEC, 0640);
                if (fd >= 0 && write(fd, "tmp\n", 4) != 4) {
                        close(fd);
                        fd = -1;
                }
        } else if (!strcmp(t, "own-udir"))
                fd = open("u", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        else
                errno = EINVAL;
        return fd;
}

static bool is_magic_fd_token(const char *t) {
        return !t || !strcmp(t, "cwd") || !strcmp(t, "closed") || !strcmp(t, "neg");
}

/* Stage 2 of a case: everything after the credentials (also reached through execve for CRED_EXEC). */
static _Noreturn void case_body(const Case *c, Ctx *x, int outfd) {
        char line[FIDELITY_LINE_MAX + 512];
        int n;

        for (int i = 0; i < CASE_FDS; i++)
                if (is_own_token(c->fd[i])) {
                        x->fd[i] = open_own(c->fd[i]);
                        if (x->fd[i] < 0) {
                                dprintf(outfd, "%s | setup: %s: %s\n", c->name, c->fd[i], errno_name(errno));
                                _exit(2);
                        }
                }
        for (int i = 0; i < 2; i++)
                x->p[i] = path_arg(x, c->p[i]);
        c->fn(c, x);
        for (int i = 0; i < 4 && c->obs[i]; i++) {
                char *p = expand(x, c->obs[i]);
                char label[300];

                snprintf(label, sizeof label, "%s", c->obs[i]);
                out_obs_path(x, label, p, false, c->obs_times);
                free(p);
        }
        n = snprintf(line, sizeof line, "%s | %s\n", c->name, x->out);
        if (write(outfd, line, (size_t) (n < (int) sizeof line ? n : (int) sizeof line - 1)) < 0)
                _exit(3);
        _exit(0);
}

static _Noreturn void case_child(unsigned idx, const char *dir, int sock, int outfd) {
        const Case *c = &cases[idx];
        static char outbuf[FIDELITY_LINE_MAX];
        Ctx x = { .sock = sock, .dir = dir, .index = idx, .out = outbuf };
        char cdir[PATH_MAX], reply[256], req[128], self[PATH_MAX];
        ssize_t n;

        signal(SIGXFSZ, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);
        /* A case that hangs (a blocked open the supervisor never answers) is a result, not the end of the
         * run; the limit leaves room for a loaded machine. */
        alarm(20);
        snprintf(cdir, sizeof cdir, "%s/c/%04u", dir, idx);
        if (chdir(cdir) < 0) {
                dprintf(outfd, "%s | setup: chdir: %s\n", c->name, errno_name(errno));
                _exit(2);
        }
        for (int i = 0; i < CASE_FDS; i++) {
                const char *t = c->fd[i];

                x.fd[i] = AT_FDCWD;
                if (!t || !strcmp(t, "cwd"))
                        continue;
                if (!strcmp(t, "closed")) {
                        x.fd[i] = 150 + i;
                        close(x.fd[i]);
                        continue;
                }
                if (!strcmp(t, "neg")) {
                        x.fd[i] = -42;
                        continue;
                }
                if (is_own_token(t))
                        continue; /* opened by case_body(), with the case's credentials */
                snprintf(req, sizeof req, "fd %s", t);
                if (driver_request(&x, req, -1, reply, sizeof reply, &x.fd[i]) < 0 || x.fd[i] < 0) {
                        dprintf(outfd, "%s | setup: fd %s: %s\n", c->name, t, reply);
                        _exit(2);
                }
        }
        if (c->cred == CRED_PRIVCWD && chdir("priv/pub/deep") < 0) {
                dprintf(outfd, "%s | setup: chdir priv/pub/deep: %s\n", c->name, errno_name(errno));
                _exit(2);
        }
        if (c->removed_cwd) {
                int d = -1;

                if (driver_request(&x, "fd rmdird", -1, reply, sizeof reply, &d) < 0 || d < 0 || fchdir(d) < 0) {
                        dprintf(outfd, "%s | setup: removed cwd: %s\n", c->name, reply);
                        _exit(2);
                }
                close(d);
        }
        /* Once its ids changed, the process may not follow its own /proc/self/exe: name the program. */
        n = readlink("/proc/self/exe", self, sizeof self - 1);
        self[n > 0 ? n : 0] = 0;
        umask((mode_t) c->umask);
        if (apply_limit(c->limit) < 0 || apply_cred(c->cred) < 0) {
                dprintf(outfd, "%s | setup: limit or credentials: %s\n", c->name, errno_name(errno));
                _exit(2);
        }
        if (c->cred == CRED_EXEC) {
                char a[8][32], *argv[12];

                snprintf(a[0], sizeof a[0], "%d", sock);
                snprintf(a[1], sizeof a[1], "%u", idx);
                snprintf(a[2], sizeof a[2], "%d", outfd);
                for (int i = 0; i < CASE_FDS; i++)
                        snprintf(a[3 + i], sizeof a[3 + i], "%d", x.fd[i]);
                argv[0] = (char *) "fidelity-cases";
                argv[1] = (char *) "one";
                argv[2] = (char *) dir;
                for (int i = 0; i < 3 + CASE_FDS; i++)
                        argv[3 + i] = a[i];
                argv[3 + 3 + CASE_FDS] = NULL;
                execv(self, argv);
                dprintf(outfd, "%s | setup: execv: %s\n", c->name, errno_name(errno));
                _exit(2);
        }
        case_body(c, &x, outfd);
}

/* fidelity-cases one DIR SOCK IDX OUTFD FD0 FD1 FD2: a CRED_EXEC case after its execve. */
int one_main(int argc, char **argv) {
        static char outbuf[FIDELITY_LINE_MAX];
        Ctx x = { .out = outbuf };
        unsigned idx;
        int outfd;

        if (argc != 6 + CASE_FDS)
                return 2;
        matrix_build();
        x.dir = argv[2];
        x.sock = atoi(argv[3]);
        idx = (unsigned) atoi(argv[4]);
        outfd = atoi(argv[5]);
        if (idx >= n_cases)
                return 2;
        x.index = idx;
        for (int i = 0; i < CASE_FDS; i++)
                x.fd[i] = atoi(argv[6 + i]);
        case_body(&cases[idx], &x, outfd);
}

/* fidelity-cases cases DIR SOCK [N[-M]]: the workload. */
int cases_main(int argc, char **argv) {
        static char buf[FIDELITY_LINE_MAX + 1024];
        Ctx x = {};
        long first = 0, last = LONG_MAX;

        if (argc < 4)
                return 2;
        matrix_build();
        x.dir = argv[2];
        x.sock = atoi(argv[3]);
        if (argc > 4) {
                /* "N" or "N-M": that case or that range of cases */
                char *e;

                first = last = strtol(argv[4], &e, 10);
                if (*e == '-')
                        last = strtol(e + 1, NULL, 10);
        }

        for (unsigned i = 0; i < n_cases; i++) {
                char req[64], reply[64];
                int pfd[2], status;
                size_t len = 0;
                ssize_t k;
                pid_t pid;

                if ((long) i < first || (long) i > last)
                        continue;
                snprintf(req, sizeof req, "prep %u", i);
                if (driver_request(&x, req, -1, reply, sizeof reply, NULL) < 0 || strcmp(reply, "ok")) {
                        fprintf(stderr, "fidelity: driver did not prepare case %u\n", i);
                        return 2;
                }
                if (pipe(pfd) < 0)
                        return 2;
                fflush(stdout);
                pid = fork();
                if (pid < 0)
                        return 2;
                if (pid == 0) {
                        /* What goes wrong before the case can report (the dynamic loader after an
                         * execve, ...) ends up in its result. */
                        close(pfd[0]);
                        dup2(pfd[1], 2);
                        case_child(i, x.dir, x.sock, pfd[1]);
                }
                close(pfd[1]);
                while ((k = read(pfd[0], buf + len, sizeof buf - 1 - len)) > 0 || (k < 0 && errno == EINTR))
                        if (k > 0)
                                len += (size_t) k;
                close(pfd[0]);
                buf[len] = 0;
                while (waitpid(pid, &status, 0) < 0)
                        if (errno != EINTR)
                                return 2;
                size_t nl = strlen(cases[i].name);
                if (len > nl + 3 && !strncmp(buf, cases[i].name, nl) && !strncmp(buf + nl, " | ", 3) &&
                    memchr(buf, '\n', len) == buf + len - 1)
                        fputs(buf, stdout);
                else {
                        if (WIFSIGNALED(status))
                                printf("%s | killed by SIG%s", cases[i].name,
                                       sigabbrev_np(WTERMSIG(status)) ?: "?");
                        else
                                printf("%s | no result, exit status %d", cases[i].name, WEXITSTATUS(status));
                        if (len > 0) {
                                printf(", output \"");
                                for (size_t j = 0; j < len; j++)
                                        if (buf[j] == '\n')
                                                printf("\\n");
                                        else if ((unsigned char) buf[j] < 0x20 || buf[j] == '"' ||
                                                 buf[j] == '|')
                                                printf("\\x%02x", (unsigned char) buf[j]);
                                        else
                                                putchar(buf[j]);
                                printf("\"");
                        }
                        printf("\n");
                }
        }
        fflush(stdout);
        return 0;
}

/* ---- the calls ---- */

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

static bool sys_is(const Case *c, const char *n) {
        return strcmp(c->sys, n) == 0;
}

void fn_open(const Case *c, Ctx *x) {
        long r;

        errno = 0;
        if (sys_is(c, "open"))
                r = syscall(SYS_open, x->p[0], (int) c->a[0], (mode_t) c->a[1]);
        else if (sys_is(c, "openat"))
                r = syscall(SYS_openat, x->fd[0], x->p[0], (int) c->a[0], (mode_t) c->a[1]);
        else if (sys_is(c, "creat"))
                r = syscall(SYS_creat, x->p[0], (mode_t) c->a[1]);
        else {
                struct {
                        struct open_how how;
                        unsigned char extra[16];
                } h = { .how = { .flags = c->a[0], .mode = c->a[1], .resolve = c->a[2] } };
                size_t size = c->a[3] ? c->a[3] : sizeof h.how;

                if (size == 40) /* a larger struct whose unknown tail is not zero */
                        h.extra[0] = 1;
                r = syscall(SYS_openat2, x->fd[0], x->p[0], &h.how, size);
        }
        out_ret(x, r, errno);
        if (r >= 0)
                out_obs_fd(x, "fd", (int) r, false);
}

static void out_stat(Ctx *x, const struct stat *st) {
        out(x, " st{%o %u:%u n=%lu s=%lld blk=%lld bs=%ld rdev=%u:%u", (unsigned) st->st_mode,
            (unsigned) st->st_uid, (unsigned) st->st_gid, (unsigned long) st->st_nlink,
            S_ISDIR(st->st_mode) ? -1LL : (long long) st->st_size,
            S_ISDIR(st->st_mode) ? -1LL : (long long) st->st_blocks, (long) st->st_blksize,
            major(st->st_rdev), minor(st->st_rdev));
        out_label(x, st->st_dev, st->st_ino);
        out(x, "}");
}

static bool untouched(const void *buf, size_t n, unsigned char fill) {
        const unsigned char *u = buf;

        for (size_t i = 0; i < n; i++)
                if (u[i] != fill)
                        return false;
        return true;
}

void fn_stat(const Case *c, Ctx *x) {
        long r;

        errno = 0;
        if (sys_is(c, "statx")) {
                struct statx stx;

                memset(&stx, 0xa5, sizeof stx);
                r = syscall(SYS_statx, x->fd[0], x->p[0], (int) c->a[0], (unsigned) c->a[1],
                            c->a[2] ? (void *) 1 : &stx);
                out_ret(x, r, errno);
                if (r < 0) {
                        out(x, " buf=%s", untouched(&stx, sizeof stx, 0xa5) ? "untouched" : "written");
                        return;
                }
                out(x, " stx{mask=%#x attr=%#llx/%#llx %o %u:%u n=%u s=%lld blk=%lld", stx.stx_mask,
                    (unsigned long long) stx.stx_attributes, (unsigned long long) stx.stx_attributes_mask,
                    (unsigned) stx.stx_mode, stx.stx_uid, stx.stx_gid, stx.stx_nlink,
                    S_ISDIR(stx.stx_mode) ? -1LL : (long long) stx.stx_size,
                    S_ISDIR(stx.stx_mode) ? -1LL : (long long) stx.stx_blocks);
                if (stx.stx_mask & STATX_INO)
                        out_label(x, makedev(stx.stx_dev_major, stx.stx_dev_minor), stx.stx_ino);
                out(x, "}");
                return;
        }

        struct stat st;

        memset(&st, 0xa5, sizeof st);
        if (sys_is(c, "stat"))
                r = syscall(SYS_stat, x->p[0], c->a[2] ? (void *) 1 : &st);
        else if (sys_is(c, "lstat"))
                r = syscall(SYS_lstat, x->p[0], c->a[2] ? (void *) 1 : &st);
        else
                r = syscall(SYS_newfstatat, x->fd[0], x->p[0], c->a[2] ? (void *) 1 : &st, (int) c->a[0]);
        out_ret(x, r, errno);
        if (r < 0)
                out(x, " buf=%s", untouched(&st, sizeof st, 0xa5) ? "untouched" : "written");
        else
                out_stat(x, &st);
}

void fn_access(const Case *c, Ctx *x) {
        long r;

        errno = 0;
        if (sys_is(c, "access"))
                r = syscall(SYS_access, x->p[0], (int) c->a[0]);
        else if (sys_is(c, "faccessat"))
                r = syscall(SYS_faccessat, x->fd[0], x->p[0], (int) c->a[0]);
        else
                r = syscall(SYS_faccessat2, x->fd[0], x->p[0], (int) c->a[0], (int) c->a[1]);
        out_ret(x, r, errno);
}

/* "pipe:[N]" or "socket:[N]" (n bytes): N comes from the kernel's global inode counter (get_next_ino()),
 * whose digits grow between two runs now and then. */
static bool is_counted_inode(const char *b, size_t n) {
        size_t k = !strncmp(b, "pipe:[", 6) ? 6 : !strncmp(b, "socket:[", 8) ? 8 : 0;
        size_t d = k;

        if (k == 0)
                return false;
        while (d < n && b[d] >= '0' && b[d] <= '9')
                d++;
        return d > k && d + 1 == n && b[d] == ']';
}

void fn_readlink(const Case *c, Ctx *x) {
        static char buf[PATH_MAX + 64];
        void *b = c->a[2] ? (void *) 1 : buf;
        long r;

        memset(buf, 'Z', sizeof buf);
        errno = 0;
        if (sys_is(c, "readlink"))
                r = syscall(SYS_readlink, x->p[0], b, (long) c->a[0]);
        else
                r = syscall(SYS_readlinkat, x->fd[0], x->p[0], b, (long) c->a[0]);
        if (r > 0 && buf[0] >= '1' && buf[0] <= '9')
                out(x, "r=len"); /* a pid (/proc/self): its length differs from run to run */
        else if (r > 0 && (size_t) r < sizeof buf && is_counted_inode(buf, (size_t) r))
                out(x, "r=len"); /* so does a pipe's or socket's inode number, from a global counter */
        else
                out_ret(x, r, errno);
        if (r >= 0) {
                out_bytes(x, "buf", buf, (size_t) r);
                out(x, " tail=%s", untouched(buf + r, 16, 'Z') ? "untouched" : "written");
        } else
                out(x, " buf=%s", untouched(buf, 64, 'Z') ? "untouched" : "written");
}

void fn_entry(const Case *c, Ctx *x) {
        long r = -1;
        char **p = x->p;
        int *fd = x->fd;

        errno = 0;
        if (sys_is(c, "mkdir"))
                r = syscall(SYS_mkdir, p[0], (mode_t) c->a[0]);
        else if (sys_is(c, "mkdirat"))
                r = syscall(SYS_mkdirat, fd[0], p[0], (mode_t) c->a[0]);
        else if (sys_is(c, "mknod"))
                r = syscall(SYS_mknod, p[0], (mode_t) c->a[0], (dev_t) c->a[1]);
        else if (sys_is(c, "mknodat"))
                r = syscall(SYS_mknodat, fd[0], p[0], (mode_t) c->a[0], (dev_t) c->a[1]);
        else if (sys_is(c, "unlink"))
                r = syscall(SYS_unlink, p[0]);
        else if (sys_is(c, "unlinkat"))
                r = syscall(SYS_unlinkat, fd[0], p[0], (int) c->a[0]);
        else if (sys_is(c, "rmdir"))
                r = syscall(SYS_rmdir, p[0]);
        else if (sys_is(c, "rename"))
                r = syscall(SYS_rename, p[0], p[1]);
        else if (sys_is(c, "renameat"))
                r = syscall(SYS_renameat, fd[0], p[0], fd[1], p[1]);
        else if (sys_is(c, "renameat2"))
                r = syscall(SYS_renameat2, fd[0], p[0], fd[1], p[1], (unsigned) c->a[0]);
        else if (sys_is(c, "link"))
                r = syscall(SYS_link, p[0], p[1]);
        else if (sys_is(c, "linkat"))
                r = syscall(SYS_linkat, fd[0], p[0], fd[1], p[1], (int) c->a[0]);
        else if (sys_is(c, "symlink"))
                r = syscall(SYS_symlink, p[0], p[1]);
        else if (sys_is(c, "symlinkat"))
                r = syscall(SYS_symlinkat, p[0], fd[1], p[1]);
        else
                errno = ENOSYS;
        out_ret(x, r, errno);
}

/* Times for the utime family, by kind: 0 NULL (now), 1 fixed, 2 {UTIME_NOW, UTIME_OMIT},
 * 3 an invalid nanosecond or microsecond field, 4 {UTIME_OMIT, UTIME_OMIT}. */
static const void *times_arg(const Case *c, int kind, void *store) {
        if (kind == 0)
                return NULL;
        if (sys_is(c, "utime")) {
                struct {
                        long a, m;
                } *u = store;
                u->a = 1000000000;
                u->m = 1100000000;
                return u;
        }
        if (sys_is(c, "utimes") || sys_is(c, "futimesat")) {
                struct timeval *tv = store;
                tv[0] = (struct timeval){ 1000000000, 250000 };
                tv[1] = (struct timeval){ 1100000000, kind == 3 ? 1000000 : 500000 };
                return tv;
        }
        struct timespec *ts = store;
        ts[0] = (struct timespec){ 1000000000, 250000000 };
        ts[1] = (struct timespec){ 1100000000, 500000000 };
        if (kind == 2) {
                ts[0].tv_nsec = UTIME_NOW;
                ts[1].tv_nsec = UTIME_OMIT;
        } else if (kind == 3)
                ts[1].tv_nsec = 1000000000;
        else if (kind == 4)
                ts[0].tv_nsec = ts[1].tv_nsec = UTIME_OMIT;
        return ts;
}

void fn_object(const Case *c, Ctx *x) {
        static char value[70000];
        long r = -1;
        char **p = x->p;
        int *fd = x->fd;
        struct timespec store[2];

        memset(value, 'v', sizeof value);
        errno = 0;
        if (sys_is(c, "chmod"))
                r = syscall(SYS_chmod, p[0], (mode_t) c->a[0]);
        else if (sys_is(c, "fchmodat"))
                r = syscall(SYS_fchmodat, fd[0], p[0], (mode_t) c->a[0]);
        else if (sys_is(c, "fchmodat2"))
                r = syscall(SYS_fchmodat2, fd[0], p[0], (mode_t) c->a[0], (int) c->a[1]);
        else if (sys_is(c, "chown"))
                r = syscall(SYS_chown, p[0], (uid_t) c->a[0], (gid_t) c->a[1]);
        else if (sys_is(c, "lchown"))
                r = syscall(SYS_lchown, p[0], (uid_t) c->a[0], (gid_t) c->a[1]);
        else if (sys_is(c, "fchownat"))
                r = syscall(SYS_fchownat, fd[0], p[0], (uid_t) c->a[0], (gid_t) c->a[1], (int) c->a[2]);
        else if (sys_is(c, "truncate"))
                r = syscall(SYS_truncate, p[0], (off_t) c->a[0]);
        else if (sys_is(c, "utime"))
                r = syscall(SYS_utime, p[0], times_arg(c, (int) c->a[0], store));
        else if (sys_is(c, "utimes"))
                r = syscall(SYS_utimes, p[0], times_arg(c, (int) c->a[0], store));
        else if (sys_is(c, "futimesat"))
                r = syscall(SYS_futimesat, fd[0], p[0], times_arg(c, (int) c->a[0], store));
        else if (sys_is(c, "utimensat"))
                r = syscall(SYS_utimensat, fd[0], p[0], times_arg(c, (int) c->a[0], store), (int) c->a[1]);
        else if (sys_is(c, "setxattr"))
                r = syscall(SYS_setxattr, p[0], p[1], value, (size_t) c->a[0], (int) c->a[1]);
        else if (sys_is(c, "lsetxattr"))
                r = syscall(SYS_lsetxattr, p[0], p[1], value, (size_t) c->a[0], (int) c->a[1]);
        else if (sys_is(c, "removexattr"))
                r = syscall(SYS_removexattr, p[0], p[1]);
        else if (sys_is(c, "lremovexattr"))
                r = syscall(SYS_lremovexattr, p[0], p[1]);
        else
                errno = ENOSYS;
        out_ret(x, r, errno);
        /* The descriptor the call acted on, when it was one of ours: what changed on it. */
        if (c->fd[2] && !is_magic_fd_token(c->fd[2]))
                out_obs_fd(x, "fd2", fd[2], c->obs_times);
        else if (c->fd[0] && !is_magic_fd_token(c->fd[0]) && (!p[0] || (p[0] != (char *) 1 && !p[0][0])))
                out_obs_fd(x, "fd0", fd[0], c->obs_times);
}

/* connect(2): a[0] the socket (0 unix stream, 1 unix dgram, 2 inet stream to a listener of our own,
 * 3 inet stream to a port that does not listen, 4 unix stream non-blocking, 5 inet6 stream to ::1
 * listener), a[1] the address form (0 as given, 1 length 3, 2 length above sockaddr_storage,
 * 3 AF_UNSPEC, 4 NULL address, 5 sun_path without terminating NUL). fd[0] given: that descriptor is
 * the socket. */

void fn_connect(const Case *c, Ctx *x) {
        struct sockaddr_storage ss = {};
        struct sockaddr_un *un = (struct sockaddr_un *) &ss;
        socklen_t len = 0;
        int s, kind = (int) c->a[0], form = (int) c->a[1];
        long r;

        if (c->fd[0] && strcmp(c->fd[0], "cwd"))
                s = x->fd[0];
        else if (kind == 2 || kind == 3 || kind == 5) {
                int fam = kind == 5 ? AF_INET6 : AF_INET, l = socket(fam, SOCK_STREAM, 0);
                socklen_t sl = sizeof ss;

                memset(&ss, 0, sizeof ss);
                ss.ss_family = (sa_family_t) fam;
                if (fam == AF_INET)
                        ((struct sockaddr_in *) &ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                else
                        ((struct sockaddr_in6 *) &ss)->sin6_addr = in6addr_loopback;
                if (l < 0 ||
                    bind(l, (struct sockaddr *) &ss,
                         fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) < 0 ||
                    (kind != 3 && listen(l, 4) < 0) || getsockname(l, (struct sockaddr *) &ss, &sl) < 0) {
                        out(x, "setup: inet listener: %s", errno_name(errno));
                        return;
                }
                len = sl;
                s = socket(fam, SOCK_STREAM, 0);
        } else
                s = socket(AF_UNIX, (kind == 1 ? SOCK_DGRAM : SOCK_STREAM) | (kind == 4 ? SOCK_NONBLOCK : 0),
                           0);
        if (len == 0 && x->p[0] && x->p[0] != (char *) 1) {
                un->sun_family = AF_UNIX;
                if (x->p[0][0] == '@') {
                        un->sun_path[0] = 0;
                        strncpy(un->sun_path + 1, x->p[0] + 1, sizeof un->sun_path - 1);
                        len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(x->p[0]));
                } else {
                        strncpy(un->sun_path, x->p[0], sizeof un->sun_path);
                        len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) +
                                           strnlen(x->p[0], sizeof un->sun_path) + 1);
                        if (len > sizeof(struct sockaddr_un))
                                len = sizeof(struct sockaddr_un);
                }
        }
        switch (form) {
        case 1:
                len = 3;
                break;
        case 2:
                len = sizeof ss + 1;
                break;
        case 3:
                memset(&ss, 0, sizeof ss);
                ss.ss_family = AF_UNSPEC;
                len = sizeof(struct sockaddr);
                break;
        case 5:
                memset(un->sun_path, 'q', sizeof un->sun_path);
                len = sizeof(struct sockaddr_un);
                break;
        }
        errno = 0;
        r = syscall(SYS_connect, s, form == 4 ? NULL : (void *) &ss, len);
        out_ret(x, r, errno);
        if (r == 0) {
                struct sockaddr_storage peer = {};
                socklen_t pl = sizeof peer;

                if (getpeername(s, (struct sockaddr *) &peer, &pl) < 0)
                        out(x, " peer=%s", errno_name(errno));
                else if (peer.ss_family == AF_UNIX && pl > offsetof(struct sockaddr_un, sun_path))
                        out_bytes(x, "peer", ((struct sockaddr_un *) &peer)->sun_path,
                                  strnlen(((struct sockaddr_un *) &peer)->sun_path,
                                          pl - offsetof(struct sockaddr_un, sun_path)));
                else
                        out(x, " peer=family%d", peer.ss_family);
        }
}

/* Write a program, close it and run it at once, as configure scripts and make do: any ETXTBSY is a
 * file still open for writing after the workload closed its last descriptor. a[0] rounds, each in a
 * child that writes, closes and execs with nothing in between. */
void fn_write_exec(const Case *c, Ctx *x) {
        static const char script[] = "#!/bin/sh\nexit 0\n";
        unsigned ok = 0, busy = 0, other = 0;

        for (unsigned i = 0; i < c->a[0]; i++) {
                int status;
                pid_t pid = fork();

                if (pid == 0) {
                        char *argv[] = { (char *) "./prog", NULL };
                        long fd = syscall(SYS_openat, AT_FDCWD, "prog", O_WRONLY | O_CREAT | O_TRUNC, 0755);

                        if (fd < 0 || write((int) fd, script, sizeof script - 1) < 0)
                                _exit(103);
                        close((int) fd);
                        syscall(SYS_execve, "./prog", argv, environ);
                        _exit(errno == ETXTBSY ? 101 : 102);
                }
                if (pid < 0 || waitpid(pid, &status, 0) < 0) {
                        other++;
                        continue;
                }
                if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                        ok++;
                else if (WIFEXITED(status) && WEXITSTATUS(status) == 101)
                        busy++;
                else
                        other++;
        }
        out(x, "exec-ok=%u ETXTBSY=%u other=%u", ok, busy, other);
}
