/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Performing a checked call on the workload's behalf, so that it behaves exactly as the kernel would
 * have made it: same result, errno, side effects, and the same order of the checks.
 *
 * Every path is walked as the workload gave it (Call.walk, supervisor-path.c), from its root, under its
 * credentials, with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS): the kernel
 * itself checks every directory's search permission and finds every lookup error, and a symlink swapped
 * in after the check fails the call instead of redirecting it. On a path decided lexically, a symlink on
 * the way hands the call back to be decided again on the resolved path (Call.again): nothing is done and
 * nothing answered before.
 *
 * Arguments are checked first, as the kernel checks them: what it rejects from the registers (and
 * openat2's open_how) before it reads the path, then what it rejects before it looks the path up
 * (emulate_check_args()); then the lookup, then the call.
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/magic.h>
#include <linux/stat.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <sys/inotify.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "forgeone/path-resolve.h"
#include "forgeone/syscall-table.h"
#include "supervisor-internal.h"

/* The kernel's own O_TMPFILE bit: glibc's __O_TMPFILE and O_TMPFILE include O_DIRECTORY. */
#define KERNEL_O_TMPFILE 020000000u
#define O_TMPFILE_MASK (KERNEL_O_TMPFILE | O_DIRECTORY | O_CREAT)

/* The flags open(2) knows (the kernel's VALID_OPEN_FLAGS), and those O_PATH keeps. */
#define OPEN_FLAGS_VALID                                                                                    \
        ((uint64_t) (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC |     \
                     FASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC |      \
                     O_SYNC | O_PATH | KERNEL_O_TMPFILE))
#define O_PATH_FLAGS ((uint64_t) (O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC))
#define RESOLVE_FLAGS_VALID                                                                                 \
        ((uint64_t) (RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH |        \
                     RESOLVE_IN_ROOT | RESOLVE_CACHED))

#ifndef AT_STATX_SYNC_TYPE
#define AT_STATX_SYNC_TYPE 0x6000
#endif
#ifndef STATX__RESERVED
#define STATX__RESERVED 0x80000000U
#endif
#ifndef CAP_MKNOD
#define CAP_MKNOD 27
#endif

typedef enum EmulateKind {
        EMULATE_OPEN,
        EMULATE_STAT,
        EMULATE_STATX,
        EMULATE_ACCESS,
        EMULATE_READLINK,
        EMULATE_CONNECT,
        EMULATE_ENTRY,  /* creates, removes or renames a directory entry: done on (parent fd, name) */
        EMULATE_OBJECT, /* changes the object a path names: done on an O_PATH fd of it */
} EmulateKind;

static const struct {
        const char *name;
        EmulateKind kind;
} emulated[] = {
        { "access", EMULATE_ACCESS }, { "chmod", EMULATE_OBJECT }, { "chown", EMULATE_OBJECT },
        { "connect", EMULATE_CONNECT }, { "creat", EMULATE_OPEN }, { "faccessat", EMULATE_ACCESS },
        { "faccessat2", EMULATE_ACCESS }, { "fchmodat", EMULATE_OBJECT }, { "fchmodat2", EMULATE_OBJECT },
        { "fchownat", EMULATE_OBJECT }, { "futimesat", EMULATE_OBJECT }, { "lchown", EMULATE_OBJECT },
        { "link", EMULATE_ENTRY }, { "linkat", EMULATE_ENTRY }, { "lremovexattr", EMULATE_OBJECT },
        { "lsetxattr", EMULATE_OBJECT }, { "lstat", EMULATE_STAT }, { "mkdir", EMULATE_ENTRY },
        { "mkdirat", EMULATE_ENTRY }, { "mknod", EMULATE_ENTRY }, { "mknodat", EMULATE_ENTRY },
        { "newfstatat", EMULATE_STAT }, { "open", EMULATE_OPEN }, { "openat", EMULATE_OPEN },
        { "openat2", EMULATE_OPEN }, { "readlink", EMULATE_READLINK }, { "readlinkat", EMULATE_READLINK },
        { "removexattr", EMULATE_OBJECT }, { "rename", EMULATE_ENTRY }, { "renameat", EMULATE_ENTRY },
        { "renameat2", EMULATE_ENTRY }, { "rmdir", EMULATE_ENTRY }, { "setxattr", EMULATE_OBJECT },
        { "stat", EMULATE_STAT }, { "statx", EMULATE_STATX }, { "symlink", EMULATE_ENTRY },
        { "symlinkat", EMULATE_ENTRY }, { "truncate", EMULATE_OBJECT }, { "unlink", EMULATE_ENTRY },
        { "unlinkat", EMULATE_ENTRY }, { "utime", EMULATE_OBJECT }, { "utimensat", EMULATE_OBJECT },
        { "utimes", EMULATE_OBJECT },
};

static int emulate_kind(const char *name) {
        if (!name)
                return -ENOENT;
        FOREACH_ELEMENT(e, emulated)
                if (streq(e->name, name))
                        return e->kind;
        return -ENOENT;
}

bool emulate_supported(const char *name) {
        return emulate_kind(name) >= 0;
}

/* The n-th SYSCALL_ARG_PTR argument: output buffers (stat, readlink). */
static int ptr_index(const SyscallInfo *info, int nth) {
        for (int i = 0; i < 6; i++)
                if (info->args[i] == SYSCALL_ARG_PTR && nth-- == 0)
                        return i;
        return -1;
}

/* ---- walking the workload's paths ---- */

/* How many levels above the directory it starts from the relative path rel climbs at most (its ".."). */
static unsigned climbs(const char *rel) {
        int depth = 0, low = 0;

        for (const char *p = rel; *p;) {
                size_t n;

                p += strspn(p, "/");
                n = strcspn(p, "/");
                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        depth--;
                        low = MIN(low, depth);
                }
                else if (n > 0 && !(n == 1 && p[0] == '.'))
                        depth++;
                p += n;
        }
        return (unsigned) -low;
}

/* The kernel walks a relative path from the workload's cwd or dirfd, which it holds whatever the
 * directories above it allow; walked from its root, ours had to search those too. When that failed
 * (EACCES), open walk (c's walk, or a prefix of it) again from the highest directory the path reaches,
 * opened with our own credentials: down to the cwd and on as given, RESOLVE_BENEATH that directory, so
 * that every directory the workload's walk passes through (and the ones down to its cwd, which it
 * climbs through anyway) is searched with its credentials, and nothing above. -EACCES when the path
 * climbs above the root. */
static int open_below_base(Call *c, bool second, const char *walk, const struct open_how *how, unsigned cf) {
        size_t n = c->walk_base[second];
        struct open_how dir = {
                .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        }, h = *how;
        _cleanup_free_ char *top = NULL;
        _cleanup_close_ int tfd = -EBADF;
        const char *rel;
        size_t t;
        unsigned k;
        CredsSaved saved;
        int r;

        if (n == 0 || !c->walk[second] || strncmp(walk, c->walk[second], n) != 0 || walk[n] != '/')
                return -EACCES;
        /* The base is a path from the kernel (d_path): no ".", "..", "//". Climb k components of it. */
        k = climbs(walk + n + 1);
        for (t = n; k > 0 && t > 0; k--)
                while (t > 0 && walk[--t] != '/')
                        ;
        if (k > 0)
                return -EACCES;
        top = strndup(walk, t > 0 ? t : 1);
        if (!top)
                return -ENOMEM;
        rel = walk + t + 1;
        creds_restore();
        tfd = path_openat2(c->s->root_fd, top, &dir);
        r = creds_enter(c->creds, cf, &saved);
        if (r < 0)
                return r;
        if (tfd < 0)
                return -EACCES;
        h.resolve = (h.resolve & ~(uint64_t) RESOLVE_IN_ROOT) | RESOLVE_BENEATH;
        return path_openat2(tfd, rel[strspn(rel, "/")] ? rel : ".", &h);
}

/* What c's walk (second: path2's) reaches from the workload's root, opened under its credentials, which
 * the caller took on with creds_enter(c->creds, cf): the path as the workload gave it, no symlink
 * crossed (a magic link without a path as the last component, /proc/PID/ns/net, is followed, from its
 * directory). Leaves the thread with the credentials the object needs for what is done with it next:
 * exactly the workload's own for another process's procfs objects, where a capability we keep for
 * ourselves (CAP_SYS_PTRACE) would let it do what it may not; creds_ptrace_back() before writing
 * results. On a lexical walk a symlink on the way hands the call back: c->again, -ELOOP. */
static int walk_open(Call *c, bool second, uint64_t flags, mode_t mode, uint64_t resolve, unsigned cf) {
        const char *walk = c->walk[second];
        unsigned rf = c->resolved[second];
        struct open_how how = {
                .flags = flags | O_CLOEXEC,
                .mode = (flags & (O_CREAT | KERNEL_O_TMPFILE)) ? mode : 0,
                .resolve = resolve | RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        _cleanup_free_ char *parent = NULL;
        CredsSaved saved;
        int fd, r;

        if (!walk)
                return -EINVAL;
        if (rf & PATH_RESOLVE_RESULT_PROC_OWN_FD)
                /* Its own fd directories: the kernel lets a thread group in whatever its ids. */
                creds_restore();
        else if (rf & PATH_RESOLVE_RESULT_PROC_FOREIGN) {
                r = creds_enter(c->creds, cf | CREDS_EXACT_CAPS, &saved);
                if (r < 0)
                        return r;
        }

        if (c->base_fd[second] >= 0) {
                /* "." of a directory without a name, walked from our copy of it (supervisor-decode.c):
                 * the search permission the kernel's lookup of "." needs is checked by ours. */
                how.resolve = (how.resolve & ~(uint64_t) RESOLVE_IN_ROOT) | RESOLVE_BENEATH;
                fd = openat2_raw(c->base_fd[second], walk, &how);
        } else if (rf & PATH_RESOLVE_RESULT_MAGIC_LAST) {
                struct open_how dir = {
                        .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
                };
                _cleanup_close_ int dfd = -EBADF;

                r = path_parent(walk, &parent);
                if (r < 0)
                        return r;
                dfd = path_openat2(c->s->root_fd, parent, &dir);
                if (dfd < 0)
                        fd = dfd;
                else {
                        fd = openat(dfd, path_last_component(walk), (int) flags | O_CLOEXEC, mode);
                        fd = fd < 0 ? -errno : fd;
                }
        } else {
                fd = path_openat2(c->s->root_fd, walk, &how);
                if (fd == -EACCES)
                        fd = open_below_base(c, second, walk, &how, cf);
        }

        /* Its type and device: for the procfs guard below, and the open's own checks (one fstat). */
        c->open_st_valid = fd >= 0 && fstat(fd, &c->open_st) == 0;
        if (rf & PATH_RESOLVE_RESULT_PROC_OWN_FD) {
                r = creds_enter(c->creds, cf, &saved);
                if (r < 0) {
                        safe_close(fd);
                        return r;
                }
        } else if (!(rf & (PATH_RESOLVE_RESULT_PROC_FOREIGN | PATH_RESOLVE_RESULT_PROC_OWN)) && fd >= 0 &&
                   creds_procfs_guard(fd, c->open_st_valid ? &c->open_st : NULL, c->creds, cf, &saved)) {
                /* procfs where the resolution did not look (mounted elsewhere): as for another
                 * process's objects, exactly the workload's own rights. */
                safe_close(fd);
                return walk_open(c, second, flags, mode, resolve, cf | CREDS_EXACT_CAPS);
        }
        if (fd == -ELOOP && (rf & PATH_RESOLVE_RESULT_LEXICAL) && !(resolve & RESOLVE_NO_SYMLINKS))
                c->again = true;
        return fd;
}

/* The parent directory of an entry (mkdir, unlink, rename, ...) as walked by the workload, and the
 * entry's name in it with the trailing slash it gave. The *at call on (fd, name) cannot reach anywhere
 * else: the kernel does not follow the last component of these calls, and a name holds no "/" but that
 * trailing one. "/" is its own parent. */
static int entry_open(Call *c, bool second, int *ret_fd, char *ret_name, size_t size) {
        const char *walk = c->walk[second], *last;
        _cleanup_free_ char *parent = NULL;
        struct open_how how = {
                .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        int fd;

        if (!walk)
                return -EINVAL;
        if (c->base_fd[second] >= 0) {
                /* "." (or "./.") of a directory without a name: the parent is the directory itself,
                 * whose search permission the kernel's walk checks for the last "." too. */
                how.resolve = (how.resolve & ~(uint64_t) RESOLVE_IN_ROOT) | RESOLVE_BENEATH;
                fd = openat2_raw(c->base_fd[second], ".", &how);
                if (fd < 0)
                        return fd;
                snprintf(ret_name, size, ".%s", c->trailing_slash[second] ? "/" : "");
                *ret_fd = fd;
                return 0;
        }
        last = strrchr(walk, '/');
        if (!last)
                return -EINVAL;
        last++;
        if (strlen(last) > NAME_MAX)
                return -ENAMETOOLONG;
        parent = strndup(walk, (size_t) (last - walk));
        if (!parent)
                return -ENOMEM;
        fd = path_openat2(c->s->root_fd, parent, &how);
        if (fd == -EACCES)
                fd = open_below_base(c, second, parent, &how, 0);
        if (fd == -ELOOP && (c->resolved[second] & PATH_RESOLVE_RESULT_LEXICAL))
                c->again = true;
        if (fd < 0)
                return fd;
        snprintf(ret_name, size, "%s%s", last[0] ? last : ".", c->trailing_slash[second] ? "/" : "");
        *ret_fd = fd;
        return 0;
}

/* Reopens the file open as file (our copy of what the workload has open as /proc/PID/fd/N, or an
 * O_PATH fd of a FIFO) the way the kernel follows a magic link: through our own /proc/self/fd link, the
 * permissions checked anew, the flags as given. */
static int reopen(int file, uint64_t flags, mode_t mode) {
        char p[64];
        int fd;

        snprintf(p, sizeof p, "/proc/self/fd/%d", file);
        fd = open(p, (int) flags | O_CLOEXEC, mode);
        return fd < 0 ? -errno : fd;
}

/* ---- worker threads for calls that may block ---- */

/*
 * A blocking open (a FIFO with no partner yet) or connect() never blocks a thread in the kernel, where
 * only a signal could get it out: the worker waits in poll() on the object, the target task's pidfd
 * (it may die waiting) and the supervisor's stop eventfd, and makes the call without blocking once it
 * can complete.
 */

typedef struct Job {
        Supervisor *s;
        SupervisorEvent ev; /* prototype of the report; path copied below */
        char *path;
        int file;      /* open: the FIFO, to reopen (our O_PATH fd of it, or the workload's file) */
        TargetCreds creds;
        EmulateKind kind;
        uint64_t flags;
        int fifo_fd;   /* open: our non-blocking reader end, held as the kernel holds a waiting reader */
        int sock_fd;
        int path_fd;   /* AF_UNIX: the checked socket file, named in addr as /proc/self/fd/N */
        int sock_flags; /* the socket's status flags when we took it */
        struct sockaddr_storage addr;
        socklen_t addr_len;
        PolicySockaddr paddr;
        char unix_path[PATH_MAX];
} Job;

static void job_free(Job *j) {
        if (!j)
                return;
        free(j->path);
        safe_close(j->fifo_fd);
        safe_close(j->sock_fd);
        safe_close(j->path_fd);
        safe_close(j->file);
        free(j);
}

static void job_finish(Job *j, EmulateResult *res) {
        Supervisor *s = j->s;

        /* The supervisor is being freed and the call was not answered: it is no decision, and stays in
         * the journal for a successor. */
        if (res->canceled)
                return;

        if (!res->replied) {
                int r = reply_value(s, j->ev.id, res->error, res->error ? 0 : res->value);
                res->gone = r == -ENOENT;
        }
        j->ev.path = j->path;
        if (j->kind == EMULATE_CONNECT) {
                if (j->unix_path[0])
                        j->paddr.unix_path = j->unix_path;
                j->ev.addr = &j->paddr;
        }
        j->ev.error = res->error;
        j->ev.value = res->error ? 0 : res->value;
        j->ev.target_gone = res->gone;
        supervisor_report(s, &j->ev);
}

/* Waits until fd (events), the inotify fd, the target's death or the supervisor's stop, at most
 * timeout_ms (-1: forever). 1: fd or inotify ready, 0: timeout, -ESRCH the target died, -ECANCELED
 * stop. */
static int job_wait(Job *j, int target_pidfd, int fd, short events, int ifd, int timeout_ms) {
        struct pollfd p[4] = {
                { .fd = fd, .events = events },
                { .fd = ifd, .events = POLLIN },
                { .fd = target_pidfd, .events = POLLIN },
                { .fd = j->s->stop_fd, .events = POLLIN },
        };
        int r;

        do
                r = poll(p, ELEMENTSOF(p), timeout_ms);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return -errno;
        if (p[3].revents)
                return -ECANCELED;
        if (p[2].revents)
                return -ESRCH;
        if (p[1].revents & POLLIN) {
                char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
                while (read(ifd, buf, sizeof buf) > 0)
                        ;
        }
        return r > 0 ? 1 : 0;
}

static int job_target_pidfd(const Job *j) {
        return pidfd_open_raw(j->ev.tid, PIDFD_THREAD);
}

/* The open of a FIFO that has no partner yet: a writer waits for a reader, a reader for a writer. Opens
 * are watched with inotify on the FIFO itself; data or a hang-up also mean a writer came. */
static void open_job(Job *j) {
        Supervisor *s = j->s;
        EmulateResult res = {};
        _cleanup_close_ int pidfd = job_target_pidfd(j), ifd = -EBADF;
        bool reader = (j->flags & O_ACCMODE) == O_RDONLY;
        CredsSaved saved;
        char proc[64];
        int fd = -EBADF, r;

        snprintf(proc, sizeof proc, "/proc/self/fd/%d", j->file);
        ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (ifd >= 0)
                (void) inotify_add_watch(ifd, proc, IN_OPEN);

        for (;;) {
                if (reader && j->fifo_fd >= 0) {
                        /* We read from it as the workload's waiting reader: a writer came when an open
                         * was seen, data arrived or a writer came and went. */
                        r = job_wait(j, pidfd, j->fifo_fd, POLLIN, ifd, -1);
                        if (r < 0) {
                                fd = r;
                                break;
                        }
                        fd = TAKE_FD(j->fifo_fd);
                        break;
                }
                r = creds_enter(&j->creds, 0, &saved);
                if (r < 0) {
                        fd = r;
                        break;
                }
                fd = reopen(j->file, j->flags | O_NONBLOCK, 0);
                creds_leave(&saved);
                if (fd >= 0 || fd != -ENXIO)
                        break;
                /* A writer without a reader: wait for an open, then try again. */
                r = job_wait(j, pidfd, -1, 0, ifd, ifd >= 0 ? -1 : 10);
                if (r < 0) {
                        fd = r;
                        break;
                }
        }
        if (fd == -ESRCH || fd == -ECANCELED) {
                res.gone = res.replied = true;
                res.canceled = fd == -ECANCELED;
                goto done;
        }
        if (fd < 0) {
                res.error = -fd;
                goto done;
        }
        /* The workload's own status flags, without the O_NONBLOCK we opened with. */
        (void) fcntl(fd, F_SETFL, (int) (j->flags & (O_APPEND | O_ASYNC | O_DIRECT | O_NOATIME | O_NONBLOCK)));
        (void) reply_fd(s, j->ev.id, fd, j->flags, &res);
done:
        job_finish(j, &res);
}

/* A blocking connect() on the workload's socket: started non-blocking by emulate_connect(), completed
 * here when the socket turns writable (SO_ERROR has the result); for AF_UNIX with a full backlog,
 * retried until it fits, within the socket's send timeout as the kernel would. */
static void connect_job(Job *j) {
        EmulateResult res = {};
        _cleanup_close_ int pidfd = job_target_pidfd(j);
        struct timeval tv = {};
        socklen_t tl = sizeof tv;
        int64_t timeout_ms = -1, waited = 0;
        int r;

        if (getsockopt(j->sock_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &tl) == 0 && (tv.tv_sec || tv.tv_usec))
                timeout_ms = (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;

        for (;;) {
                if (j->addr.ss_family != AF_UNIX) {
                        int err = 0;
                        socklen_t el = sizeof err;

                        r = job_wait(j, pidfd, j->sock_fd, POLLOUT, -1, (int) MIN(timeout_ms, (int64_t) INT32_MAX));
                        if (r == 0) {
                                res.error = EINPROGRESS; /* the kernel's answer when SO_SNDTIMEO expires */
                                break;
                        }
                        if (r < 0) {
                                res.gone = res.replied = true;
                                res.canceled = r == -ECANCELED;
                                break;
                        }
                        if (getsockopt(j->sock_fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
                                err = errno;
                        res.error = err;
                        break;
                }
                /* AF_UNIX: the listener's backlog was full. Try again every 10 ms. */
                r = job_wait(j, pidfd, -1, 0, -1, 10);
                if (r < 0) {
                        res.gone = res.replied = true;
                        res.canceled = r == -ECANCELED;
                        break;
                }
                waited += 10;
                {
                        CredsSaved saved;
                        r = creds_enter(&j->creds, 0, &saved);
                        if (r >= 0) {
                                (void) fcntl(j->sock_fd, F_SETFL, j->sock_flags | O_NONBLOCK);
                                r = connect(j->sock_fd, (struct sockaddr *) &j->addr, j->addr_len) < 0 ? -errno : 0;
                                (void) fcntl(j->sock_fd, F_SETFL, j->sock_flags);
                        }
                        creds_leave(&saved);
                }
                if (r != -EAGAIN) {
                        res.error = -r;
                        break;
                }
                if (timeout_ms >= 0 && waited >= timeout_ms) {
                        res.error = EAGAIN;
                        break;
                }
        }
        job_finish(j, &res);
}

/* A worker's thread: the job, then its end is counted only once everything it held is closed, so that
 * supervisor_free() returns with no fd of ours left open. */
static void *worker_main(void *arg) {
        Job *j = arg;
        Supervisor *s = j->s;

        creds_thread_keep(true);
        if (j->kind == EMULATE_CONNECT)
                connect_job(j);
        else
                open_job(j);
        job_free(j);
        supervisor_worker_end(s);
        return NULL;
}

static int job_new(Call *c, const SupervisorEvent *proto, EmulateKind kind, Job **ret) {
        Job *j = calloc(1, sizeof *j);

        if (!j)
                return -ENOMEM;
        j->s = c->s;
        j->ev = *proto;
        j->ev.action = SUPERVISOR_ACTION_EMULATE;
        j->ev.path = j->ev.path2 = NULL;
        j->ev.addr = NULL;
        j->kind = kind;
        j->sock_fd = j->path_fd = j->file = j->fifo_fd = -EBADF;
        if (c->path) {
                j->path = strdup(c->path);
                if (!j->path) {
                        job_free(j);
                        return -ENOMEM;
                }
        }
        if (c->creds)
                j->creds = *c->creds;
        *ret = j;
        return 0;
}

/* ---- checking the arguments ---- */

/* The flags an open is made with: open(2) and openat(2) drop what they do not know, and with O_PATH all
 * but three; openat2(2) takes them as given (and refuses the rest, see open_check()). */
static uint64_t open_flags(const Call *c) {
        uint64_t flags = c->open_flags;

        if (streq(c->name, "openat2"))
                return flags;
        flags &= OPEN_FLAGS_VALID;
        if (flags & O_PATH)
                flags &= O_PATH_FLAGS;
        return flags;
}

static bool endswith_slash(const char *s) {
        size_t n = strlen(s);
        return n > 0 && s[n - 1] == '/';
}

static bool will_create(uint64_t flags) {
        return flags & (O_CREAT | KERNEL_O_TMPFILE);
}

/* build_open_flags() of fs/open.c. */
static int open_check(const Call *c) {
        bool two = streq(c->name, "openat2");
        uint64_t flags = open_flags(c), acc = flags & O_ACCMODE;

        if (two) {
                if (flags & ~OPEN_FLAGS_VALID)
                        return EINVAL;
                if (c->open_resolve & ~RESOLVE_FLAGS_VALID)
                        return EINVAL;
                if ((c->open_resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT)) == (RESOLVE_BENEATH | RESOLVE_IN_ROOT))
                        return EINVAL;
                if (will_create(flags) ? (c->open_mode & ~(uint64_t) 07777) != 0 : c->open_mode != 0)
                        return EINVAL;
        }
        if ((flags & (O_DIRECTORY | O_CREAT)) == (O_DIRECTORY | O_CREAT))
                return EINVAL;
        if (flags & KERNEL_O_TMPFILE) {
                if (!(flags & O_DIRECTORY))
                        return EINVAL;
                if (acc != O_WRONLY && acc != O_RDWR)
                        return EINVAL;
        }
        if (two && (flags & O_PATH) && (flags & ~O_PATH_FLAGS))
                return EINVAL;
        if (two && (c->open_resolve & RESOLVE_CACHED) && (flags & (O_TRUNC | O_CREAT | KERNEL_O_TMPFILE)))
                return EAGAIN;
        return 0;
}

static uint64_t at_flags(const Call *c) {
        int af = arg_index(c->info, SYSCALL_ARG_AT_FLAGS);
        return af >= 0 ? c->args[af] : 0;
}

int emulate_check_args(const Call *c) {
        const char *n = c->name;
        int kind = emulate_kind(n), pi;
        uint64_t at;

        if (kind < 0 || !c->info)
                return 0;
        at = at_flags(c);
        pi = arg_index(c->info, SYSCALL_ARG_PATH);
        switch (kind) {
        case EMULATE_OPEN:
                return open_check(c);
        case EMULATE_STAT:
                /* vfs_statx(): before the lookup, which fails for a path that could not be read */
                if (streq(n, "newfstatat") &&
                    (at & ~(uint64_t) (AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE)))
                        return EINVAL;
                return 0;
        case EMULATE_STATX:
                /* do_statx() and vfs_statx(), as above */
                if ((c->args[3] & STATX__RESERVED) || (at & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE ||
                    (at & ~(uint64_t) (AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE)))
                        return EINVAL;
                return 0;
        case EMULATE_ACCESS:
                /* do_faccessat() */
                if (c->args[streq(n, "access") ? 1 : 2] & ~(uint64_t) 07)
                        return EINVAL;
                if (at & ~(uint64_t) (AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
                        return EINVAL;
                return 0;
        case EMULATE_READLINK:
                if ((int) c->args[ptr_index(c->info, 0) + 1] <= 0)
                        return EINVAL;
                return 0;
        case EMULATE_ENTRY:
                if (streq(n, "unlinkat") && (c->args[2] & ~(uint64_t) AT_REMOVEDIR))
                        return EINVAL;
                if (streq(n, "renameat2")) {
                        uint64_t f = c->args[4];
                        if ((f & ~(uint64_t) (RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) ||
                            ((f & RENAME_EXCHANGE) && (f & (RENAME_NOREPLACE | RENAME_WHITEOUT))))
                                return EINVAL;
                        if ((f & RENAME_WHITEOUT) && c->creds && !(c->creds->cap_eff & (1ull << CAP_MKNOD)))
                                return EPERM;
                }
                if (streq(n, "linkat") && (c->args[4] & ~(uint64_t) (AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)))
                        return EINVAL;
                if (streq(n, "mknod") || streq(n, "mknodat")) {
                        /* may_mknod() */
                        switch ((mode_t) c->args[pi + 1] & S_IFMT) {
                        case S_IFREG:
                        case S_IFCHR:
                        case S_IFBLK:
                        case S_IFIFO:
                        case S_IFSOCK:
                        case 0:
                                break;
                        case S_IFDIR:
                                return EPERM;
                        default:
                                return EINVAL;
                        }
                }
                return 0;
        case EMULATE_OBJECT:
                /* (utimensat checks its times first, when it can read them: see emulate_object()) */
                if ((streq(n, "fchmodat2") || streq(n, "fchownat") || streq(n, "utimensat")) &&
                    (at & ~(uint64_t) (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)))
                        return EINVAL;
                if (streq(n, "truncate") && (int64_t) c->args[pi + 1] < 0)
                        return EINVAL;
                if ((strstr(n, "setxattr")) && (c->args[pi + 4] & ~(uint64_t) (XATTR_CREATE | XATTR_REPLACE)))
                        return EINVAL;
                return 0;
        default:
                return 0;
        }
}

/* ---- the calls ---- */

/* Is there a writer on the FIFO (or pipe) open as our non-blocking reader fd? A reader's open returns at
 * once then. tee(2) into a scratch pipe tells without taking anything: EAGAIN when writers are there
 * but nothing was written, 0 when none is, what it copied when there is data. */
static bool fifo_has_writer(int fd) {
        int p[2];
        ssize_t k;

        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
                return true;
        k = tee(fd, p[1], 1, SPLICE_F_NONBLOCK);
        k = k < 0 ? -errno : k;
        safe_close(p[0]);
        safe_close(p[1]);
        return k != 0;
}

/* O_CREAT made exclusive by us found the file there: was it a FIFO (whose open may block)? */
static bool walk_is_fifo(Call *c, int magic_file) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        fd = magic_file >= 0 ? fcntl(magic_file, F_DUPFD_CLOEXEC, 3) : walk_open(c, false, O_PATH, 0, 0, 0);
        return fd >= 0 && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

/* Undoes the creation of the file open as fd (created by us, exclusively) when the workload cannot take
 * the descriptor after all: the kernel reserves it before it creates anything. */
static void uncreate(Call *c, const struct stat *st) {
        _cleanup_close_ int dfd = -EBADF;
        char name[NAME_MAX + 2];
        struct stat now;

        if (entry_open(c, false, &dfd, name, sizeof name) < 0)
                return;
        if (fstatat(dfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino)
                (void) unlinkat(dfd, name, 0);
}

static int emulate_open(Call *c, const SupervisorEvent *proto, EmulateResult *res) {
        Supervisor *s = c->s;
        uint64_t flags = open_flags(c), resolve = c->open_resolve;
        mode_t mode = will_create(flags) ? (mode_t) (c->open_mode & 07777) : 0;
        unsigned rf = c->resolved[0];
        bool exclusive = false, created;
        struct stat st = {};
        CredsSaved saved;
        int fd, r, fifo = -EBADF, opath = -EBADF;

        /* O_CREAT with a trailing slash: EISDIR once the parent was walked, the last component never
         * looked at (open_last_lookups()); the resolution looked at it. */
        if ((flags & O_CREAT) && (rf & PATH_RESOLVE_RESULT_LAST_FAILED) && c->walk[0] && endswith_slash(c->walk[0]))
                return res->error = EISDIR, 0;
        if (c->lookup_error)
                return res->error = c->lookup_error, 0;
        /* RESOLVE_BENEATH and RESOLVE_IN_ROOT of the workload's own openat2 make the path mean something
         * relative to its dirfd; they are not emulated, so refuse rather than guess (forgeonectl(1)). */
        if (resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT)) {
                res->error = EPERM;
                res->reason = "openat2 RESOLVE_BENEATH and RESOLVE_IN_ROOT are not emulated";
                return 0;
        }
        /* What the workload forbade its own walk. A lexical walk is made with RESOLVE_NO_SYMLINKS anyway. */
        if (((resolve & RESOLVE_NO_MAGICLINKS) && (rf & PATH_RESOLVE_RESULT_MAGICLINK)) ||
            ((resolve & RESOLVE_NO_SYMLINKS) && (rf & (PATH_RESOLVE_RESULT_SYMLINK | PATH_RESOLVE_RESULT_MAGICLINK))))
                return res->error = ELOOP, 0;

        /* O_CREAT of a file that is there creates nothing, and was decided as what it does: without
         * O_CREAT, so that should the file vanish in between the open fails instead of creating what the
         * policy did not allow (supervisor-decode.c). */
        if (c->exists && (flags & (O_CREAT | O_EXCL)) == O_CREAT)
                flags &= ~(uint64_t) O_CREAT;
        /* O_CREAT of a file that was not there: created exclusively, so that we know we created it should
         * the workload not be able to take the descriptor (RLIMIT_NOFILE); found there after all, it is
         * opened as the kernel would. */
        if ((flags & (O_CREAT | O_EXCL)) == O_CREAT && !c->magic) {
                flags |= O_EXCL;
                exclusive = true;
        }

        r = creds_enter(c->creds, 0, &saved);
        if (r < 0)
                return res->error = -r, 0;
        for (;;) {
                /* O_NONBLOCK keeps this thread from hanging in the open of a FIFO or device; what is not
                 * a FIFO then gets the workload's own status flags back (a device that would block in
                 * open, a serial line without carrier, returns at once: see forgeonectl(1) NOTES). A FIFO
                 * without its partner is waited for on a worker. O_PATH opens nothing that could block. */
                uint64_t f = (flags & O_PATH) ? flags : flags | O_NONBLOCK;

                if (c->magic)
                        fd = reopen(c->magic_file, f, mode);
                else
                        fd = walk_open(c, false, f, mode, resolve & RESOLVE_CACHED, 0);
                if (fd == -EEXIST && exclusive) {
                        flags &= ~(uint64_t) O_EXCL;
                        exclusive = false;
                        continue;
                }
                break;
        }
        created = exclusive && fd >= 0;
        if (c->again)
                goto out;
        if (fd == -ENXIO && !(flags & O_NONBLOCK) && walk_is_fifo(c, c->magic ? c->magic_file : -EBADF)) {
                /* A FIFO without a reader yet: the workload's open waits for one. */
                opath = c->magic ? fcntl(c->magic_file, F_DUPFD_CLOEXEC, 3) : walk_open(c, false, O_PATH, 0, 0, 0);
                if (opath < 0) {
                        res->error = -opath;
                        goto out;
                }
                goto worker;
        }
        if (fd < 0) {
                res->error = -fd;
                goto out;
        }
        if (!c->magic && c->open_st_valid)
                st = c->open_st; /* walk_open() looked at it */
        else if (fstat(fd, &st) < 0) {
                res->error = errno;
                safe_close(fd);
                goto out;
        }
        if (!(flags & (O_PATH | O_NONBLOCK))) {
                if ((flags & O_ACCMODE) == O_RDONLY && S_ISFIFO(st.st_mode) && !fifo_has_writer(fd)) {
                        /* A reader waits for a writer. */
                        fifo = fd;
                        opath = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                        if (opath < 0) {
                                res->error = errno;
                                goto out;
                        }
                        goto worker;
                }
                /* F_SETFL sets exactly these status flags: the workload's, without O_NONBLOCK. */
                (void) fcntl(fd, F_SETFL, (int) (flags & (O_APPEND | O_ASYNC | O_DIRECT | O_NOATIME)));
        }
        creds_leave(&saved);
        r = reply_fd(s, c->id, fd, flags, res);
        if (created && !res->replied && res->error == EMFILE) {
                if (creds_enter(c->creds, 0, &saved) >= 0) {
                        uncreate(c, &st);
                        creds_leave(&saved);
                }
        }
        return r;

out:
        creds_leave(&saved);
        return 0;

worker:
        creds_leave(&saved);
        Job *j;
        r = job_new(c, proto, EMULATE_OPEN, &j);
        if (r < 0) {
                safe_close(fifo);
                safe_close(opath);
                return r;
        }
        j->flags = flags;
        j->fifo_fd = fifo;
        j->file = opath;
        r = supervisor_worker_start(s, worker_main, j);
        if (r < 0) {
                job_free(j);
                return r;
        }
        res->deferred = true;
        return 0;
}

/* The object of a stat/access/readlink, a hard link's source, an attribute call: the file the decode
 * step took from the workload (AT_EMPTY_PATH, a NULL path, /proc/PID/fd/N; judged as taken, see
 * supervisor-decode.c), or an O_PATH fd of the checked path. */
static int object_fd(Call *c, bool nofollow, int *ret) {
        int fd;

        if (c->base_fd[0] >= 0) {
                /* "." of a directory without a name: walked from our copy of it, as the workload's own
                 * lookup would. */
                fd = walk_open(c, false, O_PATH | (nofollow ? O_NOFOLLOW : 0), 0, 0, 0);
                if (fd < 0)
                        return fd;
        } else if (c->magic_file >= 0) {
                fd = fcntl(c->magic_file, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return -errno;
        } else if (c->empty_path) {
                return -EBADF; /* never taken: nothing to act on */
        } else {
                struct open_how how = {
                        .flags = O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0),
                        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
                };
                fd = openat2_raw(c->s->root_fd, c->path, &how);
                if (fd < 0)
                        return fd;
        }
        /* What is done with a procfs object (readlink of /proc/PID/exe, ...) is checked against the
         * caller's ptrace rights: from here on this thread holds exactly the target's capabilities. */
        {
                CredsSaved tmp;
                (void) creds_procfs_guard(fd, NULL, c->creds, 0, &tmp);
        }
        *ret = fd;
        return 0;
}

/* The object a stat, access, readlink or attribute call is about: the workload's file for a magic link
 * and for AT_EMPTY_PATH (object_fd()), else what its walk reaches, the last component followed unless
 * nofollow. */
static int object_open(Call *c, bool nofollow, unsigned cf, int *ret) {
        int fd;

        if ((c->magic && c->magic_file >= 0) || c->empty_path)
                return object_fd(c, nofollow, ret);
        fd = walk_open(c, false, O_PATH | (nofollow ? O_NOFOLLOW : 0), 0, 0, cf);
        if (fd < 0)
                return fd;
        *ret = fd;
        return 0;
}

/* Results written into the target only while it still waits for us: its tid cannot have been
 * recycled for another process then. */
static int checked_write(Call *c, uint64_t addr, const void *buf, size_t len) {
        int r = seccomp_notif_id_valid_raw(c->s->listener, c->id);

        if (r < 0)
                return r;
        creds_ptrace_back();
        return target_write(c->tid, addr, buf, len);
}

static bool call_nofollow(const Call *c) {
        static const char *const l_calls[] = {
                "lstat", "readlink", "readlinkat", "lchown", "lsetxattr", "lremovexattr", "link",
        };
        int af = arg_index(c->info, SYSCALL_ARG_AT_FLAGS);

        FOREACH_ELEMENT(n, l_calls)
                if (streq(c->name, *n))
                        return true;
        if (streq(c->name, "linkat"))
                return !(c->args[af] & AT_SYMLINK_FOLLOW);
        return af >= 0 && (c->args[af] & AT_SYMLINK_NOFOLLOW);
}

static int emulate_stat(Call *c, EmulateKind kind, EmulateResult *res) {
        _cleanup_close_ int fd = -EBADF;
        CredsSaved saved;
        int r, buf = ptr_index(c->info, 0);

        if (buf < 0)
                return -EINVAL;
        if (c->lookup_error)
                return res->error = c->lookup_error, 0;
        r = creds_enter(c->creds, 0, &saved);
        if (r < 0)
                return res->error = -r, 0;
        r = object_open(c, call_nofollow(c), 0, &fd);
        if (r >= 0) {
                if (kind == EMULATE_STATX) {
                        struct statx stx;
                        unsigned sync = (unsigned) at_flags(c) & AT_STATX_SYNC_TYPE;
                        /* statx(dirfd, path, flags, mask, buf): mask is the INT after the flags. */
                        unsigned mask = (unsigned) c->args[3];

                        if (statx(fd, "", AT_EMPTY_PATH | sync, mask, &stx) < 0)
                                r = -errno;
                        else
                                r = checked_write(c, c->args[buf], &stx, sizeof stx);
                } else {
                        struct stat st;

                        if (syscall(SYS_newfstatat, fd, "", &st, AT_EMPTY_PATH) < 0)
                                r = -errno;
                        else
                                r = checked_write(c, c->args[buf], &st, sizeof st);
                }
        }
        creds_leave(&saved);
        res->error = r < 0 ? -r : 0;
        return 0;
}

static int emulate_access(Call *c, EmulateResult *res) {
        _cleanup_close_ int fd = -EBADF;
        CredsSaved saved;
        uint64_t at = at_flags(c);
        unsigned cf = (at & AT_EACCESS) ? 0 : CREDS_REAL_IDS;
        int r;

        if (c->lookup_error)
                return res->error = c->lookup_error, 0;
        /* access() checks with the real ids (and for a real uid 0 the permitted capabilities) unless
         * AT_EACCESS, the walk included: take those on, and let the kernel use this thread's (AT_EACCESS
         * on our side). */
        r = creds_enter(c->creds, cf, &saved);
        if (r < 0)
                return res->error = -r, 0;
        r = object_open(c, at & AT_SYMLINK_NOFOLLOW, cf, &fd);
        if (r >= 0 && syscall(SYS_faccessat2, fd, "", (int) c->args[streq(c->name, "access") ? 1 : 2],
                              AT_EMPTY_PATH | AT_EACCESS) < 0)
                r = -errno;
        creds_leave(&saved);
        res->error = r < 0 ? -r : 0;
        return 0;
}

static int emulate_readlink(Call *c, EmulateResult *res) {
        _cleanup_close_ int fd = -EBADF;
        char buf[PATH_MAX];
        CredsSaved saved;
        int b = ptr_index(c->info, 0);
        uint64_t size = c->args[b + 1];
        ssize_t n = 0;
        int r;

        if (c->lookup_error)
                return res->error = c->lookup_error, 0;
        r = creds_enter(c->creds, 0, &saved);
        if (r < 0)
                return res->error = -r, 0;
        if (c->resolved[0] & PATH_RESOLVE_RESULT_PROC_SELF) {
                /* procfs' self and thread-self read as the workload's own ids, as its /proc numbers them. */
                if (streq(path_last_component(c->path), "self"))
                        n = snprintf(buf, sizeof buf, "%d", c->creds->ns_tgid);
                else
                        n = snprintf(buf, sizeof buf, "%d/task/%d", c->creds->ns_tgid, c->creds->ns_tid);
        } else {
                r = object_open(c, true, 0, &fd);
                if (r >= 0) {
                        struct stat st;

                        n = readlinkat(fd, "", buf, sizeof buf);
                        if (n < 0) {
                                r = -errno;
                                /* readlinkat(fd, "") says ENOENT for what is no symlink, readlink EINVAL */
                                if (r == -ENOENT && !c->empty_path && fstat(fd, &st) == 0 && !S_ISLNK(st.st_mode))
                                        r = -EINVAL;
                        } else if (n > 0 && buf[0] == '/' && !streq(c->s->root_path, "/")) {
                                /* A magic link of procfs reads as we see its target: as the workload sees it. */
                                struct statfs sf;
                                _cleanup_free_ char *inside = NULL;

                                if ((size_t) n < sizeof buf && fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC) {
                                        buf[n] = 0;
                                        if (path_strip_root(c->s->root_path, buf, &inside) >= 0)
                                                n = snprintf(buf, sizeof buf, "%s", inside);
                                }
                        }
                }
        }
        if (r >= 0) {
                n = MIN((uint64_t) n, size);
                r = checked_write(c, c->args[b], buf, (size_t) n);
        }
        creds_leave(&saved);
        res->error = r < 0 ? -r : 0;
        res->value = r < 0 ? 0 : n;
        return 0;
}

static int emulate_connect(Call *c, const SupervisorEvent *proto, EmulateResult *res) {
        struct sockaddr_storage addr = c->raw_addr;
        socklen_t len = c->raw_len;
        _cleanup_close_ int path_fd = -EBADF;
        int sl = arg_index(c->info, SYSCALL_ARG_SOCKLEN), sa = arg_index(c->info, SYSCALL_ARG_SOCKADDR);
        int fl, type, r;
        socklen_t tl = sizeof type;
        CredsSaved saved;
        Job *j;

        /* As __sys_connect() and move_addr_to_kernel() check, in that order. */
        if (c->sock_fd < 0)
                return res->error = EBADF, 0;
        if (getsockopt(c->sock_fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0)
                return res->error = errno, 0; /* ENOTSOCK */
        if (sl >= 0 && (int) c->args[sl] < 0)
                return res->error = EINVAL, 0;
        if (sa >= 0 && c->args[sa] == 0 && sl >= 0 && c->args[sl] > 0)
                return res->error = EFAULT, 0;

        r = creds_enter(c->creds, 0, &saved);
        if (r < 0)
                return res->error = -r, 0;
        /* A pathname AF_UNIX address is looked up by the caller's root and cwd: connect to what its walk
         * reaches inside its root, through our O_PATH fd of it, instead. What the socket layer checks
         * before it looks (the address length, the family) it checks on our address alike. */
        if (addr.ss_family == AF_UNIX && c->addr.unix_path && c->addr.unix_path[0] && c->addr.unix_path[0] != '@' &&
            len > offsetof(struct sockaddr_un, sun_path)) {
                struct sockaddr_un *un = (struct sockaddr_un *) &addr;

                if (c->lookup_error) {
                        res->error = c->lookup_error;
                        goto out;
                }
                path_fd = walk_open(c, false, O_PATH, 0, 0, 0);
                if (c->again)
                        goto out;
                if (path_fd < 0) {
                        res->error = -path_fd;
                        goto out;
                }
                memset(un->sun_path, 0, sizeof un->sun_path);
                snprintf(un->sun_path, sizeof un->sun_path, "/proc/self/fd/%d", path_fd);
                len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(un->sun_path) + 1);
        }

        fl = fcntl(c->sock_fd, F_GETFL);
        if (fl < 0) {
                res->error = errno;
                goto out;
        }
        /* A blocking socket is connected without blocking (O_NONBLOCK on its file for the instant of the
         * call), and what does not complete at once is waited for on a worker. */
        if (!(fl & O_NONBLOCK))
                (void) fcntl(c->sock_fd, F_SETFL, fl | O_NONBLOCK);
        r = connect(c->sock_fd, (struct sockaddr *) &addr, len) < 0 ? -errno : 0;
        if (!(fl & O_NONBLOCK))
                (void) fcntl(c->sock_fd, F_SETFL, fl);
        creds_leave(&saved);
        if ((fl & O_NONBLOCK) || (r != -EINPROGRESS && r != -EAGAIN)) {
                res->error = r < 0 ? -r : 0;
                return 0;
        }

        r = job_new(c, proto, EMULATE_CONNECT, &j);
        if (r < 0)
                return r;
        j->sock_fd = TAKE_FD(c->sock_fd);
        j->sock_flags = fl;
        j->addr = addr;
        j->addr_len = len;
        j->paddr = c->addr;
        if (c->addr.unix_path)
                snprintf(j->unix_path, sizeof j->unix_path, "%s", c->addr.unix_path);
        j->path_fd = TAKE_FD(path_fd); /* named in the address: must outlive the connect */
        r = supervisor_worker_start(c->s, worker_main, j);
        if (r < 0) {
                job_free(j);
                return r;
        }
        res->deferred = true;
        return 0;

out:
        creds_leave(&saved);
        return 0;
}

/* ---- directory entries: mkdir, mknod, unlink, rmdir, rename, link, symlink ---- */

static bool is_rename(const char *name) {
        return streq(name, "rename") || streq(name, "renameat") || streq(name, "renameat2");
}

/* What the kernel answers when the entry named is ".", ".." or "/": these calls never act on them. */
static int entry_kind_error(const Call *c, bool second, uint64_t flags) {
        PathLastKind k = c->last_kind[second];

        if (k == PATH_LAST_NORMAL)
                return 0;
        if (is_rename(c->name))
                return second && (flags & RENAME_NOREPLACE) ? EEXIST : EBUSY;
        if (streq(c->name, "rmdir") || (streq(c->name, "unlinkat") && (flags & AT_REMOVEDIR)))
                return k == PATH_LAST_DOT ? EINVAL : k == PATH_LAST_DOTDOT ? ENOTEMPTY : EBUSY;
        if (streq(c->name, "unlink") || streq(c->name, "unlinkat"))
                return EISDIR;
        return EEXIST; /* mkdir, mknod, symlink, the new name of a link */
}

static bool same_mount(int a, int b) {
        struct statx x, y;

        if (statx(a, "", AT_EMPTY_PATH, STATX_MNT_ID, &x) < 0 || statx(b, "", AT_EMPTY_PATH, STATX_MNT_ID, &y) < 0)
                return true;
        return x.stx_mnt_id == y.stx_mnt_id;
}

static int emulate_entry(Call *c, EmulateResult *res) {
        _cleanup_close_ int dfd = -EBADF, dfd2 = -EBADF, src = -EBADF;
        char name[NAME_MAX + 2], name2[NAME_MAX + 2], target[PATH_MAX], proc[64];
        const char *n = c->name;
        bool link = streq(n, "link") || streq(n, "linkat"), two = link || is_rename(n);
        int pi = arg_index(c->info, SYSCALL_ARG_PATH), r, e;
        uint64_t flags = 0;
        mode_t mode = 0;
        CredsSaved saved;

        if (streq(n, "unlinkat"))
                flags = c->args[2];
        else if (streq(n, "renameat2"))
                flags = c->args[4];
        else if (streq(n, "linkat"))
                flags = c->args[4];
        if (two && !c->path2)
                return -EINVAL;
        if (c->magic && !link) {
                /* The names in /proc/PID/fd are not the files: procfs creates and removes none. */
                res->error = EPERM;
                res->reason = "entries of /proc/PID/fd cannot be created, removed or renamed";
                return 0;
        }

        if (streq(n, "mkdir") || streq(n, "mkdirat") || streq(n, "mknod") || streq(n, "mknodat"))
                mode = (mode_t) c->args[pi + 1];
        if ((streq(n, "mknod") || streq(n, "mknodat")) && (S_ISCHR(mode) || S_ISBLK(mode))) {
                res->error = EPERM;
                res->reason = "device nodes are not created on a workload's behalf";
                return 0;
        }
        if (streq(n, "symlink") || streq(n, "symlinkat")) {
                /* The link's text is data, stored as read; what it names is checked when it is used. */
                r = target_read_string(c->tid, c->args[0], target, sizeof target);
                if (r >= 0)
                        r = seccomp_notif_id_valid_raw(c->s->listener, c->id);
                if (r < 0)
                        return res->error = r == -ENOMEM ? EPERM : -r, 0;
        }
        if (c->lookup_error)
                return res->error = c->lookup_error, 0;
        if (two && c->lookup_error2)
                return res->error = c->lookup_error2, 0;

        r = creds_enter(c->creds, 0, &saved);
        if (r < 0)
                return res->error = -r, 0;
        /* The parents first, as the kernel walks them before it looks at the names. */
        r = link ? 0 : entry_open(c, false, &dfd, name, sizeof name);
        if (r >= 0 && two)
                r = entry_open(c, true, &dfd2, name2, sizeof name2);
        if (c->again)
                goto out;
        if (r >= 0) {
                e = link ? 0 : entry_kind_error(c, false, flags);
                if (!e && two)
                        e = entry_kind_error(c, true, flags);
                /* Across mounts a rename is EXDEV before anything is asked of the names. */
                if (e && is_rename(n) && !same_mount(dfd, dfd2))
                        e = EXDEV;
                if (e)
                        r = -e;
        }
        if (r >= 0) {
                if (streq(n, "mkdir") || streq(n, "mkdirat"))
                        r = mkdirat(dfd, name, mode);
                else if (streq(n, "mknod") || streq(n, "mknodat"))
                        r = mknodat(dfd, name, mode, 0);
                else if (streq(n, "unlink"))
                        r = unlinkat(dfd, name, 0);
                else if (streq(n, "rmdir"))
                        r = unlinkat(dfd, name, AT_REMOVEDIR);
                else if (streq(n, "unlinkat"))
                        r = unlinkat(dfd, name, (int) flags);
                else if (is_rename(n))
                        r = (int) syscall(SYS_renameat2, dfd, name, dfd2, name2, (unsigned) flags);
                else if (streq(n, "symlink") || streq(n, "symlinkat"))
                        r = symlinkat(target, dfd, name);
                else if (link && c->empty_path && !c->magic) {
                        /* linkat(fd, "", AT_EMPTY_PATH): the file taken from the workload and judged (an
                         * O_TMPFILE included); the kernel's own rule (CAP_DAC_READ_SEARCH, under the
                         * workload's capabilities) decides. */
                        r = object_fd(c, true, &src);
                        if (r >= 0)
                                r = linkat(src, "", dfd2, name2, AT_EMPTY_PATH);
                } else if (link) {
                        /* The source is the checked object, held open: linked through our /proc fd link,
                         * which names exactly it (a symlink itself when not followed). */
                        r = object_fd(c, call_nofollow(c), &src);
                        if (r >= 0) {
                                snprintf(proc, sizeof proc, "/proc/self/fd/%d", src);
                                r = linkat(AT_FDCWD, proc, dfd2, name2, AT_SYMLINK_FOLLOW);
                        }
                } else
                        r = -EOPNOTSUPP;
                if (r == -1)
                        r = -errno;
        }
        res->error = r < 0 ? -r : 0;
out:
        creds_leave(&saved);
        return 0;
}

/* ---- objects: mode, owner, size, times, extended attributes ---- */

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif
#ifndef __NR_setxattrat
#define __NR_setxattrat 463
#endif
#ifndef __NR_removexattrat
#define __NR_removexattrat 466
#endif
#define XATTR_NAME_MAX_ 255
#define XATTR_SIZE_MAX_ 65536

struct xattr_args_ {
        uint64_t value;
        uint32_t size;
        uint32_t flags;
};

/* Times as utimensat(2) takes them, read from the workload's utime/utimes/futimesat/utimensat
 * argument; *ret_null when it passed NULL (now). */
static int read_times(Call *c, uint64_t addr, struct timespec ts[2], bool *ret_null) {
        int r;

        *ret_null = addr == 0;
        if (addr == 0)
                return 0;
        if (streq(c->name, "utime")) {
                int64_t t[2];
                r = target_read(c->tid, addr, t, sizeof t);
                if (r < 0)
                        return r;
                ts[0] = (struct timespec) { .tv_sec = t[0] };
                ts[1] = (struct timespec) { .tv_sec = t[1] };
        } else if (streq(c->name, "utimes") || streq(c->name, "futimesat")) {
                struct timeval tv[2];
                r = target_read(c->tid, addr, tv, sizeof tv);
                if (r < 0)
                        return r;
                for (int i = 0; i < 2; i++) {
                        if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000)
                                return -EINVAL;
                        ts[i].tv_sec = tv[i].tv_sec;
                        ts[i].tv_nsec = tv[i].tv_usec * 1000;
                }
        } else {
                r = target_read(c->tid, addr, ts, 2 * sizeof(struct timespec));
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool nsec_valid(long nsec) {
        return nsec == UTIME_OMIT || nsec == UTIME_NOW || (nsec >= 0 && nsec <= 999999999);
}

static bool object_is_symlink(int fd) {
        struct stat st;

        return fstat(fd, &st) == 0 && S_ISLNK(st.st_mode);
}

/* truncate(2) past the caller's RLIMIT_FSIZE: EFBIG, and SIGXFSZ to the calling thread (inode_newsize_ok()).
 * The limit is the workload's, not ours. */
static int fsize_exceeded(Call *c, int fd, uint64_t length) {
        struct stat st;
        uint64_t limit;

        if (fstat(fd, &st) < 0 || length <= (uint64_t) st.st_size)
                return 0;
        if (target_read_fsize_limit(c->creds->tgid, &limit) < 0 || length <= limit)
                return 0;
        /* Sending it takes our own right to signal (the workload may signal itself). */
        creds_restore();
        (void) syscall(SYS_tgkill, c->creds->tgid, c->tid, SIGXFSZ);
        return EFBIG;
}

static int emulate_object(Call *c, EmulateResult *res) {
        _cleanup_close_ int fd = -EBADF, wfd = -EBADF;
        _cleanup_free_ char *value = NULL;
        char xname[XATTR_NAME_MAX_ + 1], proc[64];
        const char *n = c->name;
        int pi = arg_index(c->info, SYSCALL_ARG_PATH), r;
        uint64_t flags = at_flags(c), vsize = 0;
        struct timespec ts[2] = {};
        bool xset = strstr(n, "setxattr"), xremove = strstr(n, "removexattr"), now = false;
        bool utimes = strstr(n, "utime") != NULL;
        CredsSaved saved;

        /* The data the call carries is read once, here, before the path is looked at (as the kernel
         * copies it); the call is done with our copy. */
        if (utimes) {
                r = read_times(c, c->args[pi + 1], ts, &now);
                if (r < 0)
                        return res->error = -r, 0;
                /* do_utimes(): both UTIME_OMIT is done before anything is looked at; then the times,
                 * then the flags, then the path. */
                if (!now && streq(n, "utimensat") && ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec == UTIME_OMIT)
                        return 0;
                if (!now && (!nsec_valid(ts[0].tv_nsec) || !nsec_valid(ts[1].tv_nsec)))
                        return res->error = EINVAL, 0;
                if (streq(n, "utimensat") && (flags & ~(uint64_t) (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)))
                        return res->error = EINVAL, 0;
                if (c->null_path && flags)
                        return res->error = EINVAL, 0;
        }
        if (xset || xremove) {
                r = target_read_string(c->tid, c->args[pi + 1], xname, sizeof xname);
                if (r == 0 || r == -ENAMETOOLONG)
                        return res->error = ERANGE, 0;
                if (r < 0)
                        return res->error = -r, 0;
        }
        if (xset) {
                vsize = c->args[pi + 3];
                if (vsize > XATTR_SIZE_MAX_)
                        return res->error = E2BIG, 0;
                value = malloc(MAX(vsize, 1u));
                if (!value)
                        return -ENOMEM;
                r = target_read(c->tid, c->args[pi + 2], value, (size_t) vsize);
                if (r < 0)
                        return res->error = -r, 0;
        }
        r = seccomp_notif_id_valid_raw(c->s->listener, c->id);
        if (r < 0)
                return res->error = -r, 0;
        if (c->lookup_error)
                return res->error = c->lookup_error, 0;

        r = creds_enter(c->creds, 0, &saved);
        if (r < 0)
                return res->error = -r, 0;
        /* The object, held open: what was checked is what is changed (a symlink swapped in since
         * fails the open with ELOOP). */
        r = object_open(c, call_nofollow(c), 0, &fd);
        if (c->again)
                goto out;
        if (r >= 0) {
                snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
                if (strstr(n, "chmod")) {
                        mode_t mode = (mode_t) c->args[pi + 1];

                        r = (int) syscall(__NR_fchmodat2, fd, "", mode, AT_EMPTY_PATH);
                        if (r < 0 && errno == ENOSYS) /* before Linux 6.6 */
                                r = object_is_symlink(fd) ? (errno = EOPNOTSUPP, -1) : chmod(proc, mode);
                } else if (strstr(n, "chown"))
                        r = fchownat(fd, "", (uid_t) c->args[pi + 1], (gid_t) c->args[pi + 2],
                                     AT_EMPTY_PATH);
                else if (streq(n, "truncate")) {
                        struct stat st;

                        /* Opened for writing only once known to be a regular file: opening a device or
                         * FIFO has effects truncate(2) never has. */
                        if (fstat(fd, &st) < 0)
                                r = -1;
                        else if (S_ISDIR(st.st_mode))
                                r = (errno = EISDIR, -1);
                        else if (!S_ISREG(st.st_mode))
                                r = (errno = EINVAL, -1);
                        else {
                                wfd = open(proc, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
                                if (wfd < 0)
                                        r = -1;
                                else if ((r = fsize_exceeded(c, wfd, c->args[pi + 1])) > 0)
                                        r = (errno = r, -1);
                                else
                                        r = ftruncate(wfd, (off_t) c->args[pi + 1]);
                        }
                } else if (utimes && c->null_path)
                        r = (int) syscall(SYS_utimensat, fd, NULL, now ? NULL : ts, (int) flags);
                else if (utimes)
                        r = utimensat(fd, "", now ? NULL : ts, AT_EMPTY_PATH);
                else if ((xset || xremove) && !object_is_symlink(fd)) {
                        /* The xattr calls want a file, not an O_PATH fd: our /proc link of the object
                         * names exactly it. */
                        r = xset ? setxattr(proc, xname, value, (size_t) vsize, (int) c->args[pi + 4])
                                 : removexattr(proc, xname);
                } else if (xset || xremove) {
                        /* A symlink itself (lsetxattr): no fd of it can carry the call, so it is made on
                         * its name in the checked parent directory, not followed (Linux 6.13+). */
                        _cleanup_close_ int pfd = -EBADF;
                        char lname[NAME_MAX + 2];
                        struct xattr_args_ a = {
                                .value = (uint64_t) (uintptr_t) value,
                                .size = (uint32_t) vsize,
                                .flags = (uint32_t) c->args[pi + 4],
                        };

                        r = c->empty_path || c->magic ? (errno = EPERM, -1)
                                                      : entry_open(c, false, &pfd, lname, sizeof lname);
                        if (r < 0 && r != -1)
                                r = (errno = -r, -1);
                        else if (r >= 0 && xset)
                                r = (int) syscall(__NR_setxattrat, pfd, lname, AT_SYMLINK_NOFOLLOW, xname,
                                                  &a, sizeof a);
                        else if (r >= 0)
                                r = (int) syscall(__NR_removexattrat, pfd, lname, AT_SYMLINK_NOFOLLOW,
                                                  xname);
                        if (r < 0 && errno == ENOSYS)
                                errno = EPERM;
                } else
                        r = (errno = EOPNOTSUPP, -1);
                if (r < 0)
                        r = -errno;
        }
        res->error = r < 0 ? -r : 0;
out:
        creds_leave(&saved);
        return 0;
}

int emulate_call(Call *c, const SupervisorEvent *proto, EmulateResult *ret) {
        int kind = emulate_kind(c->name), e;

        *ret = (EmulateResult) {};
        c->again = false;
        if (kind < 0 || !c->info)
                return -EOPNOTSUPP;
        if (c->arch != NATIVE_AUDIT_ARCH) {
                ret->error = EPERM;
                ret->reason = "emulation is only done for the native architecture";
                return 0;
        }
        if (!c->creds)
                return -EINVAL;
        /* What the kernel rejects before it looks at the path, in its order. */
        e = emulate_check_args(c);
        if (e) {
                ret->error = e;
                return 0;
        }
        if (kind != EMULATE_CONNECT && !c->empty_path && !c->path)
                return -EINVAL;

        switch (kind) {
        case EMULATE_OPEN:
                return emulate_open(c, proto, ret);
        case EMULATE_STAT:
        case EMULATE_STATX:
                return emulate_stat(c, kind, ret);
        case EMULATE_ACCESS:
                return emulate_access(c, ret);
        case EMULATE_READLINK:
                return emulate_readlink(c, ret);
        case EMULATE_CONNECT:
                return emulate_connect(c, proto, ret);
        case EMULATE_ENTRY:
                return emulate_entry(c, ret);
        case EMULATE_OBJECT:
                return emulate_object(c, ret);
        }
        return -EOPNOTSUPP;
}
