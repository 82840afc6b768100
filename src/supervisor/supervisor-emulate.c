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
#include <unistd.h>

#include "forgeone/path-resolve.h"
#include "forgeone/syscall-table.h"
#include "supervisor-internal.h"

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
} EmulateKind;

static const struct {
        const char *name;
        EmulateKind kind;
} emulated[] = {
        { "access", EMULATE_ACCESS },       { "connect", EMULATE_CONNECT },   { "creat", EMULATE_OPEN },
        { "faccessat", EMULATE_ACCESS },    { "faccessat2", EMULATE_ACCESS }, { "lstat", EMULATE_STAT },
        { "newfstatat", EMULATE_STAT },     { "open", EMULATE_OPEN },         { "openat", EMULATE_OPEN },
        { "openat2", EMULATE_OPEN },        { "readlink", EMULATE_READLINK }, { "readlinkat", EMULATE_READLINK },
        { "stat", EMULATE_STAT },           { "statx", EMULATE_STATX },
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

static int arg_index(const SyscallInfo *info, SyscallArg kind) {
        for (int i = 0; i < 6; i++)
                if (info->args[i] == kind)
                        return i;
        return -1;
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
        CredsSaved saved;
        int fd, r;

        r = creds_enter(creds, false, &saved);
        if (r < 0)
                return r;
        if (magic_file >= 0) {
                char p[64];

                snprintf(p, sizeof p, "/proc/self/fd/%d", magic_file);
                fd = open(p, (int) (flags & ~(uint64_t) (O_CREAT | O_EXCL | __O_TMPFILE)) | O_CLOEXEC);
                fd = fd < 0 ? -errno : fd;
        } else
                fd = open_checked(s, path, flags, mode, resolve);
        creds_leave(&saved);
        return fd;
}

/* ---- worker threads for calls that may block ---- */

typedef struct Job {
        Supervisor *s;
        SupervisorEvent ev; /* prototype of the report; path copied below */
        char *path;
        int magic_file;
        TargetCreds creds;
        bool use_creds;
        EmulateKind kind;
        uint64_t flags;
        mode_t mode;
        int sock_fd;
        int path_fd; /* AF_UNIX: the checked socket file, named in addr as /proc/self/fd/N */
        struct sockaddr_storage addr;
        socklen_t addr_len;
        PolicySockaddr paddr;
        char unix_path[sizeof(((struct sockaddr_un *) 0)->sun_path) + 2];
} Job;

static void job_free(Job *j) {
        if (!j)
                return;
        free(j->path);
        safe_close(j->sock_fd);
        safe_close(j->path_fd);
        safe_close(j->magic_file);
        free(j);
}

static int inject_fd(Supervisor *s, uint64_t id, int fd, uint64_t flags, EmulateResult *res) {
        struct seccomp_notif_addfd a = {
                .id = id,
                .flags = SECCOMP_ADDFD_FLAG_SEND,
                .srcfd = (uint32_t) fd,
                .newfd_flags = (uint32_t) (flags & O_CLOEXEC),
        };
        int r = ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a);

        res->replied = true;
        if (r < 0) {
                if (errno == ENOENT) {
                        res->gone = true;
                        res->error = 0;
                        return 0;
                }
                /* Could not install it (EMFILE in the target, ...): that is the call's result. */
                res->replied = false;
                res->error = errno;
                return 0;
        }
        res->value = r;
        return 0;
}

static void *open_worker(void *arg) {
        Job *j = arg;
        Supervisor *s = j->s;
        EmulateResult res = {};
        int fd, r;

        fd = open_as(s, j->path, j->magic_file, &j->creds, j->flags, j->mode, 0);

        if (fd < 0)
                res.error = -fd;
        else {
                (void) inject_fd(s, j->ev.id, fd, j->flags, &res);
                safe_close(fd);
        }
        if (!res.replied) {
                r = reply_value(s, j->ev.id, res.error, 0);
                res.gone = r == -ENOENT;
        }
        j->ev.path = j->path;
        j->ev.error = res.error;
        j->ev.value = res.error ? 0 : res.value;
        j->ev.target_gone = res.gone;
        supervisor_emit(s, &j->ev);
        job_free(j);
        supervisor_worker_end(s);
        return NULL;
}

static void *connect_worker(void *arg) {
        Job *j = arg;
        Supervisor *s = j->s;
        CredsSaved saved = {};
        int r = 0, error = 0;

        if (j->use_creds)
                r = creds_enter(&j->creds, false, &saved);
        if (r < 0)
                error = -r;
        else if (connect(j->sock_fd, (struct sockaddr *) &j->addr, j->addr_len) < 0)
                error = errno;
        creds_leave(&saved);

        r = reply_value(s, j->ev.id, error, 0);
        if (j->unix_path[0])
                j->paddr.unix_path = j->unix_path;
        j->ev.addr = &j->paddr;
        j->ev.error = error;
        j->ev.target_gone = r == -ENOENT;
        supervisor_emit(s, &j->ev);
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
        j->sock_fd = j->path_fd = j->magic_file = -EBADF;
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
        if (c->creds) {
                j->creds = *c->creds;
                j->use_creds = true;
        }
        *ret = j;
        return 0;
}

/* ---- the calls ---- */

static int emulate_open(Call *c, const SupervisorEvent *proto, EmulateResult *res) {
        Supervisor *s = c->s;
        uint64_t flags = c->open_flags;
        mode_t mode = (mode_t) (c->open_mode & 07777) & ~c->creds->umask;
        struct stat st;
        int fd, r;

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

        /* O_NONBLOCK keeps this thread from hanging in the open of a FIFO or device; regular files and
         * directories then get the workload's own flags back, anything else is redone on a worker.
         * O_PATH opens nothing that could block. */
        fd = open_as(s, c->path, c->magic ? c->magic_file : -EBADF, c->creds, (flags & O_PATH) ? flags : flags | O_NONBLOCK, mode,
                     c->open_resolve & (RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS));
        if (fd == -ENXIO && !(flags & O_NONBLOCK))
                goto worker; /* a FIFO without a reader yet: the workload's open waits for one */
        if (fd < 0) {
                res->error = -fd;
                return 0;
        }
        if ((flags & (O_PATH | O_NONBLOCK)) ||
            (fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))) {
                if (!(flags & (O_NONBLOCK | O_PATH)))
                        /* F_SETFL sets exactly these status flags: the workload's, without O_NONBLOCK. */
                        (void) fcntl(fd, F_SETFL, (int) (flags & (O_APPEND | O_ASYNC | O_DIRECT | O_NOATIME)));
                r = inject_fd(s, c->id, fd, flags, res);
                safe_close(fd);
                return r;
        }
        safe_close(fd);

worker:;
        Job *j;
        r = job_new(c, proto, EMULATE_OPEN, &j);
        if (r < 0)
                return r;
        j->flags = flags;
        j->mode = mode;
        r = supervisor_worker_start(s, open_worker, j);
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
        int af = arg_index(c->info, SYSCALL_ARG_AT_FLAGS);

        if (streq(c->name, "lstat") || streq(c->name, "readlink") || streq(c->name, "readlinkat"))
                return true;
        return af >= 0 && (c->args[af] & AT_SYMLINK_NOFOLLOW);
}

static int emulate_stat(Call *c, EmulateKind kind, EmulateResult *res) {
        _cleanup_close_ int fd = -EBADF;
        CredsSaved saved;
        int r, buf;

        buf = kind == EMULATE_STATX ? ptr_index(c->info, 0) : ptr_index(c->info, 0);
        if (buf < 0)
                return -EINVAL;

        r = creds_enter(c->creds, false, &saved);
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
        r = creds_enter(c->creds, !eaccess, &saved);
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
        r = creds_enter(c->creds, false, &saved);
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
        if (fl >= 0 && (fl & O_NONBLOCK)) {
                CredsSaved saved;

                r = creds_enter(c->creds, false, &saved);
                if (r >= 0 && connect(c->sock_fd, (struct sockaddr *) &addr, len) < 0)
                        r = -errno;
                creds_leave(&saved);
                res->error = r < 0 ? -r : 0;
                return 0;
        }

        r = job_new(c, proto, EMULATE_CONNECT, &j);
        if (r < 0)
                return r;
        j->sock_fd = TAKE_FD(c->sock_fd);
        j->addr = addr;
        j->addr_len = len;
        j->paddr = c->addr;
        if (c->addr.unix_path)
                snprintf(j->unix_path, sizeof j->unix_path, "%s", c->addr.unix_path);
        j->path_fd = TAKE_FD(path_fd); /* named in the address: must outlive the connect */
        r = supervisor_worker_start(c->s, connect_worker, j);
        if (r < 0) {
                job_free(j);
                return r;
        }
        res->deferred = true;
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
        }
        return -EOPNOTSUPP;
}
