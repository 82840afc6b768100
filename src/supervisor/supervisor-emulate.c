/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Performing a checked call on the workload's behalf. Every path is opened with openat2() inside the
 * workload's root with RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS on the path that
 * was checked, so a symlink swapped in after the check fails the call instead of redirecting it. */
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/stat.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

#ifndef PIDFD_THREAD
#define PIDFD_THREAD_FLAG O_EXCL
#else
#define PIDFD_THREAD_FLAG PIDFD_THREAD
#endif

#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#define NATIVE_AUDIT_ARCH 0
#endif

/* The flags open(2) knows (the kernel's VALID_OPEN_FLAGS). */
#define OPEN_FLAGS_VALID                                                                                    \
        ((uint64_t) (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC |     \
                     FASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC |      \
                     O_SYNC | O_PATH | __O_TMPFILE))

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

static int open_checked(Supervisor *s, const char *path, uint64_t flags, mode_t mode, uint64_t resolve) {
        struct open_how how = {
                .flags = flags | O_CLOEXEC,
                .mode = (flags & (O_CREAT | __O_TMPFILE)) ? mode : 0,
                .resolve = resolve | RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };

        return openat2_raw(s->root_fd, path, &how);
}

/* Opens path for the workload, under its credentials; or, for a /proc/PID/fd/N of the workload itself,
 * reopens the file it has open (magic_file), as the kernel would, with permissions checked anew. */
static int open_as(Supervisor *s, const char *path, int magic_file, const TargetCreds *creds, uint64_t flags,
                   mode_t mode, uint64_t resolve) {
        unsigned cf = 0;
        CredsSaved saved;
        int fd, r;

        r = creds_enter(creds, cf, &saved);
        if (r < 0)
                return r;
        for (;;) {
                if (magic_file >= 0) {
                        char p[64];

                        snprintf(p, sizeof p, "/proc/self/fd/%d", magic_file);
                        fd = open(p, (int) (flags & ~(uint64_t) (O_CREAT | O_EXCL | __O_TMPFILE)) | O_CLOEXEC);
                        fd = fd < 0 ? -errno : fd;
                } else
                        fd = open_checked(s, path, flags, mode, resolve);
                /* On procfs the capability we keep for ourselves could have opened what the target cannot:
                 * do it again with exactly the target's. */
                if (fd < 0 || !creds_procfs_guard(fd, creds, cf, &saved))
                        break;
                safe_close(fd);
                cf |= CREDS_EXACT_CAPS;
        }
        creds_leave(&saved);
        return fd;
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
        int magic_file;
        TargetCreds creds;
        EmulateKind kind;
        uint64_t flags;
        mode_t mode;
        int fifo_fd;   /* open: our non-blocking reader end, held as the kernel holds a waiting reader */
        int sock_fd;
        int path_fd;   /* AF_UNIX: the checked socket file, named in addr as /proc/self/fd/N */
        int sock_flags; /* the socket's status flags when we took it */
        struct sockaddr_storage addr;
        socklen_t addr_len;
        PolicySockaddr paddr;
        char unix_path[sizeof(((struct sockaddr_un *) 0)->sun_path) + 2];
} Job;

static void job_free(Job *j) {
        if (!j)
                return;
        free(j->path);
        safe_close(j->fifo_fd);
        safe_close(j->sock_fd);
        safe_close(j->path_fd);
        safe_close(j->magic_file);
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
        return pidfd_open_raw(j->ev.tid, PIDFD_THREAD_FLAG);
}

/* The open of a FIFO that has no partner yet: a writer waits for a reader, a reader for a writer. Opens
 * are watched with inotify on the FIFO itself; data or a hang-up also mean a writer came. */
static void open_job(Job *j) {
        Supervisor *s = j->s;
        EmulateResult res = {};
        _cleanup_close_ int pidfd = job_target_pidfd(j), ifd = -EBADF, opath = -EBADF;
        bool reader = (j->flags & O_ACCMODE) == O_RDONLY;
        char proc[64];
        int fd = -EBADF, r;

        opath = j->magic_file >= 0 ? fcntl(j->magic_file, F_DUPFD_CLOEXEC, 3)
                                   : open_as(s, j->path, -EBADF, &j->creds, O_PATH, 0, 0);
        if (opath < 0) {
                res.error = opath == -1 ? errno : -opath;
                goto done;
        }
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", opath);
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
                fd = open_as(s, NULL, opath, &j->creds, j->flags | O_NONBLOCK, 0, 0);
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
        safe_close(fd);
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
        j->sock_fd = j->path_fd = j->magic_file = j->fifo_fd = -EBADF;
        if (c->magic_file >= 0) {
                j->magic_file = fcntl(c->magic_file, F_DUPFD_CLOEXEC, 3);
                if (j->magic_file < 0) {
                        int r = -errno;
                        job_free(j);
                        return r;
                }
        }
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

/* ---- the calls ---- */

static int emulate_open(Call *c, const SupervisorEvent *proto, EmulateResult *res) {
        Supervisor *s = c->s;
        uint64_t flags = c->open_flags;
        mode_t mode = (mode_t) (c->open_mode & 07777) & ~c->creds->umask;
        struct stat st;
        int fd, r, fifo = -EBADF;

        /* RESOLVE_* flags of the workload's own openat2 change what the path means (BENEATH, IN_ROOT
         * relative to its dirfd); they are not emulated, so refuse rather than guess. */
        if (c->open_resolve &
            ~(uint64_t) (RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV | RESOLVE_CACHED)) {
                res->error = EPERM;
                res->reason = "openat2 RESOLVE_BENEATH and RESOLVE_IN_ROOT are not emulated";
                return 0;
        }
        /* The path was resolved already: what the workload forbade it is checked here. */
        if ((c->magic && (c->open_resolve & (RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS))) ||
            (c->followed && (c->open_resolve & RESOLVE_NO_SYMLINKS))) {
                res->error = ELOOP;
                return 0;
        }

        /* open() and openat() ignore flags they do not know and, with O_PATH, all but three; the
         * openat2() we emulate them with refuses such combinations, so pass on only what the kernel
         * would have honoured. openat2()'s own callers get its strictness. */
        if (!streq(c->name, "openat2")) {
                flags &= OPEN_FLAGS_VALID;
                if (flags & O_PATH)
                        flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
        }

        /* O_NONBLOCK keeps this thread from hanging in the open of a FIFO or device; what is not a
         * FIFO then gets the workload's own status flags back (a device that would block in open, a
         * serial line without carrier, returns at once: see forgeonectl(1) NOTES). A FIFO without its
         * partner is waited for on a worker. O_PATH opens nothing that could block. */
        fd = open_as(s, c->path, c->magic ? c->magic_file : -EBADF, c->creds, (flags & O_PATH) ? flags : flags | O_NONBLOCK, mode,
                     c->open_resolve & (RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS));
        if (fd == -ENXIO && !(flags & O_NONBLOCK)) {
                fifo = -EBADF;
                goto worker; /* a FIFO without a reader yet: the workload's open waits for one */
        }
        if (fd < 0) {
                res->error = -fd;
                return 0;
        }
        if (!(flags & (O_PATH | O_NONBLOCK))) {
                if ((flags & O_ACCMODE) == O_RDONLY && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) {
                        fifo = fd; /* a reader waits for a writer */
                        goto worker;
                }
                /* F_SETFL sets exactly these status flags: the workload's, without O_NONBLOCK. */
                (void) fcntl(fd, F_SETFL, (int) (flags & (O_APPEND | O_ASYNC | O_DIRECT | O_NOATIME)));
        }
        r = reply_fd(s, c->id, fd, flags, res);
        safe_close(fd);
        return r;

worker:;
        Job *j;
        r = job_new(c, proto, EMULATE_OPEN, &j);
        if (r < 0) {
                safe_close(fifo);
                return r;
        }
        j->flags = flags;
        j->mode = mode;
        j->fifo_fd = fifo;
        r = supervisor_worker_start(s, worker_main, j);
        if (r < 0) {
                job_free(j);
                return r;
        }
        res->deferred = true;
        return 0;
}

/* The object of a stat/access/readlink: an O_PATH fd of the checked path, or of the dirfd itself
 * for AT_EMPTY_PATH. */
static int object_fd(Call *c, bool nofollow, int *ret) {
        int fd;

        if (c->magic && c->magic_file >= 0) {
                /* /proc/PID/fd/N of the workload: the file it has open. */
                fd = fcntl(c->magic_file, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return -errno;
                *ret = fd;
                return 0;
        }
        if (c->empty_path) {
                int dfd = arg_index(c->info, SYSCALL_ARG_DIRFD);
                int pidfd, target = dfd >= 0 ? (int) c->args[dfd] : AT_FDCWD;

                if (target == AT_FDCWD) {
                        char p[64];
                        snprintf(p, sizeof p, "/proc/%d/cwd", c->tid);
                        fd = open(p, O_PATH | O_CLOEXEC);
                        fd = fd < 0 ? -errno : fd;
                } else {
                        pidfd = target_pidfd(c->creds->tgid, c->s->listener, c->id);
                        if (pidfd < 0)
                                return pidfd;
                        fd = pidfd_getfd_raw(pidfd, target);
                        safe_close(pidfd);
                }
        } else {
                struct open_how how = {
                        .flags = O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0),
                        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
                };
                fd = openat2_raw(c->s->root_fd, c->path, &how);
        }
        if (fd < 0)
                return fd;
        /* What is done with a procfs object (readlink of /proc/PID/exe, ...) is checked against the
         * caller's ptrace rights: from here on this thread holds exactly the target's capabilities. */
        {
                CredsSaved tmp;
                (void) creds_procfs_guard(fd, c->creds, 0, &tmp);
        }
        *ret = fd;
        return 0;
}

/* Results written into the target only while it still waits for us: its tid cannot have been
 * recycled for another process then. */
static int checked_write(Call *c, uint64_t addr, const void *buf, size_t len) {
        int r = seccomp_notif_id_valid_raw(c->s->listener, c->id);

        if (r < 0)
                return r;
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
        int r, buf;

        buf = kind == EMULATE_STATX ? ptr_index(c->info, 0) : ptr_index(c->info, 0);
        if (buf < 0)
                return -EINVAL;

        r = creds_enter(c->creds, 0, &saved);
        if (r < 0) {
                res->error = -r;
                return 0;
        }
        r = object_fd(c, call_nofollow(c), &fd);
        if (r >= 0) {
                if (kind == EMULATE_STATX) {
                        struct statx stx;
                        int af = arg_index(c->info, SYSCALL_ARG_AT_FLAGS);
                        unsigned sync = af >= 0 ? (unsigned) c->args[af] & AT_STATX_SYNC_TYPE : 0;
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
        int mode_idx, af, r;
        uint64_t atflags = 0;
        bool eaccess;

        /* access(path, mode), faccessat(dirfd, path, mode), faccessat2(dirfd, path, mode, flags) */
        mode_idx = streq(c->name, "access") ? 1 : 2;
        af = arg_index(c->info, SYSCALL_ARG_AT_FLAGS);
        if (af >= 0)
                atflags = c->args[af];
        eaccess = atflags & AT_EACCESS;

        /* access() checks with the real ids unless AT_EACCESS: take on those, and let the kernel use
         * this thread's fs ids (AT_EACCESS on our side). */
        r = creds_enter(c->creds, eaccess ? 0 : CREDS_REAL_IDS, &saved);
        if (r < 0) {
                res->error = -r;
                return 0;
        }
        r = object_fd(c, atflags & AT_SYMLINK_NOFOLLOW, &fd);
        if (r >= 0 && syscall(SYS_faccessat2, fd, "", (int) c->args[mode_idx], AT_EMPTY_PATH | AT_EACCESS) < 0)
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

        if ((int64_t) size <= 0) {
                res->error = EINVAL;
                return 0;
        }
        r = creds_enter(c->creds, 0, &saved);
        if (r < 0) {
                res->error = -r;
                return 0;
        }
        r = object_fd(c, true, &fd);
        if (r >= 0) {
                n = readlinkat(fd, "", buf, sizeof buf);
                if (n < 0)
                        r = -errno;
        }
        creds_leave(&saved);
        if (r >= 0) {
                n = MIN((uint64_t) n, size);
                r = checked_write(c, c->args[b], buf, (size_t) n);
        }
        res->error = r < 0 ? -r : 0;
        res->value = r < 0 ? 0 : n;
        return 0;
}

static int emulate_connect(Call *c, const SupervisorEvent *proto, EmulateResult *res) {
        struct sockaddr_storage addr = c->raw_addr;
        socklen_t len = c->raw_len;
        _cleanup_close_ int path_fd = -EBADF;
        int fl, r;
        Job *j;

        if (c->sock_fd < 0) {
                res->error = EBADF;
                return 0;
        }
        /* A pathname AF_UNIX address is looked up by the caller's root and cwd: connect to the checked
         * path inside the workload's root through our O_PATH fd of it instead. */
        if (addr.ss_family == AF_UNIX && c->addr.unix_path && c->addr.unix_path[0] != '@') {
                struct sockaddr_un *un = (struct sockaddr_un *) &addr;
                struct open_how how = {
                        .flags = O_PATH | O_CLOEXEC,
                        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
                };

                path_fd = openat2_raw(c->s->root_fd, c->addr.unix_path, &how);
                if (path_fd < 0) {
                        res->error = -path_fd;
                        return 0;
                }
                memset(un->sun_path, 0, sizeof un->sun_path);
                snprintf(un->sun_path, sizeof un->sun_path, "/proc/self/fd/%d", path_fd);
                len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(un->sun_path) + 1);
        }

        fl = fcntl(c->sock_fd, F_GETFL);
        if (fl < 0) {
                res->error = errno;
                return 0;
        }
        {
                CredsSaved saved;

                /* A blocking socket is connected without blocking (O_NONBLOCK on its file for the
                 * instant of the call), and what does not complete at once is waited for on a worker. */
                r = creds_enter(c->creds, 0, &saved);
                if (r >= 0) {
                        if (!(fl & O_NONBLOCK))
                                (void) fcntl(c->sock_fd, F_SETFL, fl | O_NONBLOCK);
                        r = connect(c->sock_fd, (struct sockaddr *) &addr, len) < 0 ? -errno : 0;
                        if (!(fl & O_NONBLOCK))
                                (void) fcntl(c->sock_fd, F_SETFL, fl);
                }
                creds_leave(&saved);
        }
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
}

/* ---- directory entries: mkdir, mknod, unlink, rmdir, rename, link, symlink ---- */

/* The directory the entry lives in, opened on the checked path with no symlink followed (one swapped
 * in since the check fails the call with ELOOP), and the entry's name in it, with the trailing slash
 * the workload gave. The *at call on (fd, name) then cannot reach anywhere else: the kernel does not
 * follow the last component of these calls, and a name holds no "/" but that trailing one. */
static int entry_open(Call *c, bool second, int *ret_fd, char *ret_name, size_t size) {
        const char *path = second ? c->path2 : c->path, *last;
        _cleanup_free_ char *parent = NULL;
        struct open_how how = {
                .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        int fd, r;

        if (!path)
                return -EINVAL;
        last = path_last_component(path);
        if (!last[0] || strchr(last, '/'))
                return -EINVAL;
        if (strlen(last) > NAME_MAX)
                return -ENAMETOOLONG;
        r = path_parent(path, &parent);
        if (r < 0)
                return r;
        fd = openat2_raw(c->s->root_fd, parent, &how);
        if (fd < 0)
                return fd;
        snprintf(ret_name, size, "%s%s", last, c->trailing_slash[second] ? "/" : "");
        *ret_fd = fd;
        return 0;
}

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

static int emulate_entry(Call *c, EmulateResult *res) {
        _cleanup_close_ int dfd = -EBADF, dfd2 = -EBADF, src = -EBADF;
        char name[NAME_MAX + 2], name2[NAME_MAX + 2], target[PATH_MAX], proc[64];
        const char *n = c->name;
        bool link = streq(n, "link") || streq(n, "linkat"), two = link || is_rename(n);
        int pi = arg_index(c->info, SYSCALL_ARG_PATH), r, e;
        uint64_t flags = 0;
        mode_t mode = 0;
        CredsSaved saved;

        /* Flags are checked first, as the kernel does. */
        if (streq(n, "unlinkat")) {
                flags = c->args[2];
                if (flags & ~(uint64_t) AT_REMOVEDIR)
                        return res->error = EINVAL, 0;
        } else if (streq(n, "renameat2")) {
                flags = c->args[4];
                if ((flags & ~(uint64_t) (RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) ||
                    ((flags & RENAME_EXCHANGE) && (flags & (RENAME_NOREPLACE | RENAME_WHITEOUT))))
                        return res->error = EINVAL, 0;
        } else if (streq(n, "linkat")) {
                flags = c->args[4];
                if (flags & ~(uint64_t) (AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
                        return res->error = EINVAL, 0;
        }
        if (two && !c->path2)
                return -EINVAL;
        if (two && c->lookup_error2)
                return res->error = c->lookup_error2, 0;
        if (c->magic && !link) {
                /* The names in /proc/PID/fd are not the files: procfs creates and removes none. */
                res->error = EPERM;
                res->reason = "entries of /proc/PID/fd cannot be created, removed or renamed";
                return 0;
        }
        e = link ? 0 : entry_kind_error(c, false, flags);
        if (!e && two)
                e = entry_kind_error(c, true, flags);
        if (e)
                return res->error = e, 0;

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

        r = creds_enter(c->creds, 0, &saved);
        if (r < 0)
                return res->error = -r, 0;
        /* This thread's umask (its own fs_struct, see creds_enter) is the workload's for the creating
         * calls, so that a default ACL of the directory overrides it as it would for the workload. */
        umask(c->creds->umask & 0777);
        r = link ? 0 : entry_open(c, false, &dfd, name, sizeof name);
        if (r >= 0 && two)
                r = entry_open(c, true, &dfd2, name2, sizeof name2);
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
                        /* linkat(fd, "", AT_EMPTY_PATH): the kernel's own rule (CAP_DAC_READ_SEARCH,
                         * under the workload's capabilities) decides. */
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
        umask(0);
        creds_leave(&saved);
        res->error = r < 0 ? -r : 0;
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

static bool object_is_symlink(int fd) {
        struct stat st;

        return fstat(fd, &st) == 0 && S_ISLNK(st.st_mode);
}

static int emulate_object(Call *c, EmulateResult *res) {
        _cleanup_close_ int fd = -EBADF, wfd = -EBADF;
        _cleanup_free_ char *value = NULL;
        char xname[XATTR_NAME_MAX_ + 1], proc[64];
        const char *n = c->name;
        int pi = arg_index(c->info, SYSCALL_ARG_PATH), af = arg_index(c->info, SYSCALL_ARG_AT_FLAGS), r;
        uint64_t flags = af >= 0 ? c->args[af] : 0, vsize = 0;
        struct timespec ts[2] = {};
        bool xset = strstr(n, "setxattr"), xremove = strstr(n, "removexattr"), now = false;
        bool utimes = strstr(n, "utime") != NULL;
        CredsSaved saved;

        if ((streq(n, "fchmodat2") || streq(n, "fchownat") || streq(n, "utimensat")) &&
            (flags & ~(uint64_t) (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)))
                return res->error = EINVAL, 0;
        if (c->null_path && (flags & AT_SYMLINK_NOFOLLOW))
                return res->error = EINVAL, 0;
        if (streq(n, "truncate") && (int64_t) c->args[pi + 1] < 0)
                return res->error = EINVAL, 0;

        /* The data the call carries is read once, here; the call is done with our copy. */
        if (utimes) {
                r = read_times(c, c->args[pi + 1], ts, &now);
                if (r < 0)
                        return res->error = -r, 0;
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

        r = creds_enter(c->creds, 0, &saved);
        if (r < 0)
                return res->error = -r, 0;
        /* The object, held open: what was checked is what is changed (a symlink swapped in since
         * fails the open with ELOOP). */
        r = object_fd(c, call_nofollow(c), &fd);
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
                                r = wfd < 0 ? -1 : ftruncate(wfd, (off_t) c->args[pi + 1]);
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
        creds_leave(&saved);
        res->error = r < 0 ? -r : 0;
        return 0;
}

int emulate_call(Call *c, const SupervisorEvent *proto, EmulateResult *ret) {
        int kind = emulate_kind(c->name);

        *ret = (EmulateResult) {};
        if (kind < 0 || !c->info)
                return -EOPNOTSUPP;
        if (c->arch != NATIVE_AUDIT_ARCH) {
                ret->error = EPERM;
                ret->reason = "emulation is only done for the native architecture";
                return 0;
        }
        if (!c->creds)
                return -EINVAL;
        if (kind != EMULATE_CONNECT && !c->empty_path && !c->path)
                return -EINVAL;
        if (kind != EMULATE_CONNECT && c->lookup_error) {
                ret->error = c->lookup_error;
                return 0;
        }

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
