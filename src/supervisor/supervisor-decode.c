/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Decode: what a trapped call names, read out of the target and checked the
 * way the kernel would read it. Paths are resolved inside the workload's
 * root (path-resolve.h); every read of the target's memory is followed by
 * SECCOMP_IOCTL_NOTIF_ID_VALID before its result is trusted; the caller's
 * credentials come from the per-task cache (supervisor-creds.c).
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "forgeone/path-resolve.h"
#include "forgeone/syscall-table.h"
#include "supervisor-internal.h"

/* ---- decoding ---- */

int arg_index(const SyscallInfo *info, SyscallArg kind) {
        for (int i = 0; i < 6; i++)
                if (info->args[i] == kind)
                        return i;
        return -1;
}

int decode_creds(Call *c) {
        if (c->creds)
                return 0;
        return creds_cache_get(&c->s->creds, c->tid, &c->creds);
}

static bool name_in(const char *name, const char *const *list) {
        for (; *list; list++)
                if (streq(name, *list))
                        return true;
        return false;
}

bool call_path_is_entry(const char *name, bool second) {
        static const char *const first_entry[] = {
                "mkdir", "mkdirat", "mknod", "mknodat", "unlink", "unlinkat", "rmdir", "rename", "renameat",
                "renameat2", "symlink", "symlinkat", NULL,
        };

        if (!name)
                return false;
        if (second) /* rename targets and new link names; PATH2 of other calls (pivot_root, ...) is not */
                return streq(name, "rename") || streq(name, "renameat") || streq(name, "renameat2") ||
                       streq(name, "link") || streq(name, "linkat");
        return name_in(name, first_entry);
}

/* Does the call act on a symlink itself rather than on what it points to? */
static bool last_nofollow(const Call *c, bool second) {
        static const char *const never_follow[] = {
                "lstat", "lstat64", "oldlstat", "lchown", "lchown32", "lgetxattr", "lsetxattr",
                "llistxattr", "lremovexattr", "readlink", "readlinkat", "unlink", "unlinkat", "rmdir",
                "rename", "renameat", "renameat2", "mkdir", "mkdirat", "mknod", "mknodat", "symlink",
                "symlinkat", NULL,
        };
        int af;

        if (second) /* rename and link targets are names being created or replaced */
                return true;
        if (name_in(c->name, never_follow))
                return true;
        if (arg_index(c->info, SYSCALL_ARG_OPEN_FLAGS) >= 0 || arg_index(c->info, SYSCALL_ARG_OPEN_HOW) >= 0)
                return (c->open_flags & O_NOFOLLOW) || (c->open_flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);
        af = arg_index(c->info, SYSCALL_ARG_AT_FLAGS);
        if (streq(c->name, "link"))
                return true;
        if (streq(c->name, "linkat") || streq(c->name, "name_to_handle_at"))
                return af < 0 || !(c->args[af] & AT_SYMLINK_FOLLOW);
        return af >= 0 && (c->args[af] & AT_SYMLINK_NOFOLLOW);
}

/* ---- files named through the workload's descriptors ---- */

/*
 * A call that names its object by descriptor (AT_EMPTY_PATH, a NULL path, /proc/self/fd/N, the fd of
 * fchmod) is judged on the file itself, never on the text of /proc/TID/fd/N: a sibling thread can dup2()
 * another file onto the number between any two reads of the table. So the file is taken into the
 * supervisor's own table first (pidfd_getfd; for the cwd, an open of /proc/TID/cwd), the policy judges
 * what was taken, and the emulation acts on exactly that copy.
 */

/* Takes the file open as fd in the target (AT_FDCWD: its cwd). -EBADF when nothing is open there. */
int decode_take_file(Call *c, int fd, int *ret) {
        int k = -EBADF;

        if (fd < 0 && fd != AT_FDCWD)
                return -EBADF;
        for (int attempt = 0; attempt < 2; attempt++) {
                if (fd == AT_FDCWD) {
                        char p[64];

                        snprintf(p, sizeof p, "/proc/%d/cwd", c->tid);
                        k = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
                        k = k < 0 ? -errno : k;
                        if (k >= 0) {
                                /* Still waiting for us: the tid was that task's when we opened its cwd. */
                                int r = seccomp_notif_id_valid_raw(c->s->listener, c->id);
                                if (r < 0) {
                                        safe_close(k);
                                        return r;
                                }
                        }
                } else {
                        int pidfd = target_pidfd(c->creds->tgid, c->s->listener, c->id);

                        if (pidfd < 0)
                                return pidfd;
                        k = pidfd_getfd_raw(pidfd, fd);
                        safe_close(pidfd);
                }
                /* Taking is the supervisor's own business: a thread that kept the last workload's
                 * credentials (without CAP_SYS_PTRACE) takes them off and tries again. */
                if (k != -EPERM && k != -EACCES)
                        break;
                creds_restore();
        }
        if (k == -ESRCH)
                return -ENOENT;
        if (k < 0)
                return k;
        *ret = k;
        return 0;
}

/* Opens path inside the root without following anything, as the supervisor itself. */
static int open_in_root(Call *c, const char *path) {
        struct open_how how = {
                .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        int fd = openat2_raw(c->s->root_fd, path, &how);

        if (fd == -EACCES || fd == -EPERM) {
                creds_restore();
                fd = openat2_raw(c->s->root_fd, path, &how);
        }
        return fd;
}

/* The name the workload reaches its file open as fd_number by: /proc/PID/fd/N, or /proc/PID/cwd. */
static int taken_name(const Call *c, int fd_number, char **ret) {
        int r;

        if (fd_number == AT_FDCWD)
                r = asprintf(ret, "/proc/%d/cwd", (int) c->creds->ns_tgid);
        else
                r = asprintf(ret, "/proc/%d/fd/%d", (int) c->creds->ns_tgid, fd_number);
        return r < 0 ? -ENOMEM : 0;
}

/* What the policy judges for a file taken from the workload: its real path inside the root, checked to
 * name this very inode; for a file that has no name there (pipe, socket, anonymous inode, namespace
 * file, an O_TMPFILE or unlinked file with no link left), the name the workload reaches it by,
 * /proc/PID/fd/N (or /proc/PID/cwd). -EPERM for a file whose name is not its path in the root: moved
 * since it was opened, unlinked while it has other links, covered by a mount, or outside the root. */
static int judge_taken(Call *c, int file, int fd_number, char **ret) {
        char proc[64], target[PATH_MAX + 1];
        _cleanup_free_ char *inside = NULL;
        _cleanup_close_ int again = -EBADF;
        struct stat st, st2;
        ssize_t n;
        int r;

        if (fstat(file, &st) < 0)
                return -errno;
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", file);
        n = readlink(proc, target, sizeof target - 1);
        if (n < 0)
                return -errno;
        target[n] = 0;
        if (target[0] != '/' ||
            (st.st_nlink == 0 && n > 10 && streq(target + n - 10, " (deleted)"))) {
                r = taken_name(c, fd_number, ret);
                if (r < 0)
                        return r;
                c->nameless = true;
                return 0;
        }
        r = path_strip_root(c->s->root_path, target, &inside);
        if (r == -EXDEV)
                return -EPERM;
        if (r < 0)
                return r;
        again = open_in_root(c, inside);
        if (again < 0 || fstat(again, &st2) < 0 || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino)
                return -EPERM;
        *ret = TAKE_PTR(inside);
        return 0;
}

/* The object of the call is the file open as fd (AT_FDCWD: the cwd): take it, judge it. */
static int decode_taken(Call *c, int fd) {
        _cleanup_free_ char *judged = NULL;
        int r;

        if (!c->creds)
                return -EINVAL;
        c->empty_path = true;
        r = decode_take_file(c, fd, &c->magic_file);
        if (r < 0)
                return r;
        c->object_fd_number = fd;
        r = judge_taken(c, c->magic_file, fd, &judged);
        if (r < 0)
                return r;
        c->path = TAKE_PTR(judged);
        c->exists = true;
        c->lookup_error = 0;
        return 0;
}

/* /proc/PID/fd/N of the workload: reopening it reaches whatever file that fd is, so take that file now
 * (later the number could name another) and let the policy judge it, with the access now asked for. */
static int take_magic_file(Call *c, char **path) {
        _cleanup_free_ char *judged = NULL;
        pid_t pid;
        int fd, r;

        if (path_parse_proc_fd(*path, &pid, &fd) < 0 || !c->creds)
                return -ENOENT;
        if (pid != c->creds->ns_tgid && pid != c->creds->ns_tid) {
                /* Another process's fd: the kernel would want ptrace rights, which we do not grant. */
                c->lookup_error = EACCES;
                return 0;
        }
        r = decode_take_file(c, fd, &c->magic_file);
        if (r == -EBADF) {
                c->lookup_error = ENOENT;
                return 0;
        }
        if (r < 0)
                return r;
        c->magic = true;
        c->object_fd_number = fd;
        r = judge_taken(c, c->magic_file, fd, &judged);
        if (r == -EPERM) {
                /* A file that cannot be named in the workload's root is not reopened for it. */
                c->lookup_error = EACCES;
                return 0;
        }
        if (r < 0)
                return r;
        free(*path);
        *path = TAKE_PTR(judged);
        return 0;
}

/* Is path made of "." components only ("." , "./.", "./")? */
static bool dots_only(const char *path) {
        bool dot = false;

        for (const char *p = path; *p; p++) {
                if (*p == '.' && (p == path || p[-1] == '/') && (p[1] == '/' || p[1] == 0))
                        dot = true;
                else if (*p != '/')
                        return false;
        }
        return dot;
}

/*
 * A relative path from a directory that has no name left (removed; the cwd or dirfd): nothing can be
 * looked up in it (ENOENT), but "." is the directory itself, which the kernel acts on like any other
 * (a stat, an open, a chmod, ...; unlinkat and mkdirat refuse "." as they refuse it anywhere). The
 * directory is taken from the workload, judged as a file without a name (/proc/PID/fd/N, /proc/PID/cwd:
 * nothing else names it), and the path as given is walked from that very copy under the workload's
 * credentials (supervisor-emulate.c), so the kernel checks the search permission the lookup of "."
 * needs. Other relative paths, and calls the supervisor cannot perform: -ENOENT, as before.
 */
static int decode_removed_base(Call *c, bool second, int dirfd, const char *path) {
        _cleanup_close_ int dir = -EBADF;
        _cleanup_free_ char *name = NULL, *walk = NULL;
        struct stat st;
        int r;

        if (!c->creds || !c->cls || !c->cls->emulable || !dots_only(path))
                return -ENOENT;
        r = decode_take_file(c, dirfd, &dir);
        if (r < 0)
                return r == -EBADF ? -EBADF : -ENOENT;
        if (fstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_nlink > 0)
                return -ENOENT;
        r = taken_name(c, dirfd, &name);
        if (r < 0)
                return r;
        walk = strdup(path);
        if (!walk)
                return -ENOMEM;
        safe_close(c->base_fd[second]);
        c->base_fd[second] = TAKE_FD(dir);
        free(c->walk[second]);
        c->walk[second] = TAKE_PTR(walk);
        c->walk_base[second] = 0;
        c->resolved[second] = 0;
        if (second) {
                c->path2 = TAKE_PTR(name);
                c->lookup_error2 = 0;
        } else {
                /* Not "exists": a directory is never there for O_CREAT, which the kernel refuses
                 * (EISDIR), as supervisor-path.c's probe says too. */
                c->path = TAKE_PTR(name);
                c->lookup_error = 0;
                c->object_fd_number = dirfd;
                c->nameless = true;
        }
        return 0;
}

/* linkat(2) with AT_EMPTY_PATH from a directory descriptor (Linux 6.10, path_init()): the kernel finds
 * nothing (ENOENT) unless the caller has CAP_DAC_READ_SEARCH in the user namespace of whoever opened
 * the file, or the file was opened with the caller's very credentials (the same struct cred). That last
 * comparison cannot be made from outside the kernel (and a file the workload opened under emulation was
 * opened by the supervisor anyway): only the capability counts here, in the supervisor's own user
 * namespace, so a workload without it gets ENOENT also for a descriptor it opened itself, as on Linux
 * before 6.10 (forgeonectl(1) NOTES; tests/fidelity/exceptions). */
static bool link_empty_refused(const Call *c, int dirfd, const char *path) {
        int af = arg_index(c->info, SYSCALL_ARG_AT_FLAGS);

        return c->name && streq(c->name, "linkat") && af >= 0 && (c->args[af] & AT_EMPTY_PATH) &&
               dirfd != AT_FDCWD && path[0] != '/' && c->creds &&
               (c->creds->foreign_userns || !(c->creds->cap_eff & (1ull << CAP_DAC_READ_SEARCH)));
}

static int decode_path(Call *c, bool second) {
        SyscallArg pk = second ? SYSCALL_ARG_PATH2 : SYSCALL_ARG_PATH;
        SyscallArg dk = second ? SYSCALL_ARG_DIRFD2 : SYSCALL_ARG_DIRFD;
        int pi = arg_index(c->info, pk), di = arg_index(c->info, dk), af = arg_index(c->info, SYSCALL_ARG_AT_FLAGS);
        _cleanup_free_ char *resolved = NULL;
        char buf[PATH_MAX];
        int n, r, dirfd;

        if (pi < 0)
                return 0;
        dirfd = di >= 0 ? (int) c->args[di] : AT_FDCWD;
        if (!second && c->args[pi] == 0 && dirfd != AT_FDCWD &&
            (streq(c->name, "utimensat") || streq(c->name, "futimesat"))) {
                /* futimens(3) is utimensat(fd, NULL, ...): the file open as fd. */
                c->null_path = true;
                return decode_taken(c, dirfd);
        }
        if (!second && c->args[pi] == 0 && af >= 0 && (c->args[af] & AT_EMPTY_PATH) &&
            (streq(c->name, "statx") || streq(c->name, "newfstatat")))
                /* Linux 6.11: a NULL path with AT_EMPTY_PATH names the dirfd, as "" does. */
                return decode_taken(c, dirfd);
        /* Whether the string came from the caller (and not from a task that took its tid after it died) is
         * proved once for everything decoded: by NOTIF_ID_VALID after the last read (supervisor_handle(),
         * decode_for_emulation()). Nothing done before that is irreversible. */
        n = target_read_string(c->tid, c->args[pi], buf, sizeof buf);
        if (n < 0)
                return n;
        if (c->n_ptrs < ELEMENTSOF(c->ptr_addrs)) {
                c->ptr_addrs[c->n_ptrs] = c->args[pi];
                c->ptr_lens[c->n_ptrs++] = (size_t) n + 1;
        }

        if (!second && link_empty_refused(c, dirfd, buf)) {
                /* Before the path is looked at: the descriptor (EBADF when none), then ENOENT. What is
                 * judged is the descriptor's file, all the kernel looked at. */
                r = decode_taken(c, dirfd);
                if (r < 0)
                        return r;
                c->lookup_error = ENOENT;
                return 0;
        }
        if (n == 0) {
                /* "" names the dirfd itself with AT_EMPTY_PATH (readlinkat always takes it), and nothing
                 * (ENOENT) otherwise. */
                if (second || ((af < 0 || !(c->args[af] & AT_EMPTY_PATH)) && !streq(c->name, "readlinkat")))
                        return -ENOENT;
                return decode_taken(c, dirfd);
        }

        if (call_path_is_entry(c->name, second)) {
                /* The entry is the last name as given: "d/" is entry "d" (the slash goes to the kernel
                 * with it), "d/.." is no entry at all (the kernel refuses it), never d's parent. */
                const char *last;

                while (n > 1 && buf[n - 1] == '/') {
                        buf[--n] = 0;
                        c->trailing_slash[second] = true;
                }
                last = strrchr(buf, '/');
                last = last ? last + 1 : buf;
                c->last_kind[second] = streq(buf, "/")  ? PATH_LAST_ROOT
                                       : streq(last, ".")  ? PATH_LAST_DOT
                                       : streq(last, "..") ? PATH_LAST_DOTDOT
                                                           : PATH_LAST_NORMAL;
        }
        unsigned rflags = 0;
        r = call_resolve_path(c, second, dirfd, buf, last_nofollow(c, second), &resolved, &rflags);
        if (r == -ENOENT && buf[0] != '/')
                return decode_removed_base(c, second, dirfd, buf);
        if (r < 0)
                return r;
        if (!second && (rflags & PATH_RESOLVE_RESULT_MAGIC)) {
                int k = take_magic_file(c, &resolved);
                if (k < 0)
                        return k;
                /* It may have found the link unusable (another process's fd): that is the lookup's
                 * result. */
                if (c->lookup_error > 0)
                        r = c->lookup_error;
        }
        if (!second && (rflags & (PATH_RESOLVE_RESULT_EXISTS | PATH_RESOLVE_RESULT_MAGIC)))
                c->exists = true;
        if (!second && (rflags & (PATH_RESOLVE_RESULT_SYMLINK | PATH_RESOLVE_RESULT_MAGIC)))
                c->followed = true;
        if (second) {
                c->path2 = TAKE_PTR(resolved);
                c->lookup_error2 = r;
        } else {
                c->path = TAKE_PTR(resolved);
                c->lookup_error = r;
        }
        return 0;
}

int decode_paths(Call *c) {
        int fi = arg_index(c->info, SYSCALL_ARG_OPEN_FLAGS), hi = arg_index(c->info, SYSCALL_ARG_OPEN_HOW);
        int r;

        c->access = c->info->access;
        c->access2 = c->info->access2;
        if (streq(c->name, "creat"))
                c->open_flags = O_CREAT | O_WRONLY | O_TRUNC;
        if (fi >= 0) {
                c->open_flags = c->args[fi];
                c->open_mode = fi + 1 < 6 && c->info->args[fi + 1] == SYSCALL_ARG_MODE ? c->args[fi + 1] : 0;
        }
        if (streq(c->name, "creat"))
                c->open_mode = c->args[1];
        if (hi >= 0) {
                struct open_how how = {};
                uint64_t size = hi + 1 < 6 ? c->args[hi + 1] : 0;

                if (size < 24)
                        return -EINVAL;
                if (size > 4096)
                        return -E2BIG; /* above a page: copy_struct_from_user() */
                /* Fields past the ones we know must be zero, as the kernel requires. */
                if (size > sizeof how) {
                        char extra[4096];
                        r = target_read(c->tid, c->args[hi] + sizeof how, extra, size - sizeof how);
                        if (r < 0)
                                return r;
                        for (size_t i = 0; i < size - sizeof how; i++)
                                if (extra[i])
                                        return -E2BIG;
                }
                r = target_read(c->tid, c->args[hi], &how, MIN(size, sizeof how));
                if (r < 0)
                        return r;
                /* The flags decide the access: they must not change either before a continued call. */
                if (c->n_ptrs < ELEMENTSOF(c->ptr_addrs)) {
                        c->ptr_addrs[c->n_ptrs] = c->args[hi];
                        c->ptr_lens[c->n_ptrs++] = MIN(size, sizeof how);
                }
                c->open_flags = how.flags;
                c->open_mode = how.mode;
                c->open_resolve = how.resolve;
        }
        if (fi >= 0 || hi >= 0 || streq(c->name, "creat"))
                c->access = syscall_open_flags_to_access(c->open_flags);
        /* fchmod and friends: the object is the file open as their descriptor. */
        {
                int fo = arg_index(c->info, SYSCALL_ARG_FD_OBJECT);

                if (fo >= 0) {
                        int fd = (int) c->args[fo];

                        r = fd < 0 ? -EBADF : decode_taken(c, fd);
                        if (r < 0)
                                return r;
                        c->decoded = true;
                        return 0;
                }
        }
        /* An exchange moves each entry over the other: both are removed and created. */
        if (streq(c->name, "renameat2") && (c->args[4] & RENAME_EXCHANGE))
                c->access = c->access2 = POLICY_ACCESS_DELETE | POLICY_ACCESS_CREATE;

        r = decode_path(c, false);
        if (r < 0)
                return r;
        /* O_CREAT on a file that is there creates nothing ("2>/dev/null"): ask the policy for what is
         * really done. The emulated open then drops O_CREAT (supervisor-emulate.c) so that, should the
         * file vanish in between, it fails instead of creating what the policy did not allow. */
        if ((fi >= 0 || hi >= 0 || streq(c->name, "creat")) && c->exists && !c->lookup_error &&
            (c->open_flags & (O_CREAT | O_EXCL)) == O_CREAT && !(c->open_flags & __O_TMPFILE))
                c->access = syscall_open_flags_to_access(c->open_flags & ~(uint64_t) O_CREAT);
        r = decode_path(c, true);
        if (r < 0)
                return r;
        c->decoded = true;
        return 0;
}

static int decode_sockaddr_bytes(Call *c, const struct sockaddr_storage *ss, socklen_t len) {
        c->addr.family = ss->ss_family;
        switch (ss->ss_family) {
        case AF_INET: {
                const struct sockaddr_in *in = (const struct sockaddr_in *) ss;
                if (len < sizeof *in)
                        return -EINVAL;
                memcpy(c->addr.addr, &in->sin_addr, 4);
                c->addr.port = ntohs(in->sin_port);
                break;
        }
        case AF_INET6: {
                const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) ss;
                if (len < sizeof *in6)
                        return -EINVAL;
                memcpy(c->addr.addr, &in6->sin6_addr, 16);
                c->addr.port = ntohs(in6->sin6_port);
                break;
        }
        case AF_UNIX: {
                const struct sockaddr_un *un = (const struct sockaddr_un *) ss;
                size_t n = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;

                if (n == 0) {
                        c->unix_path[0] = 0;
                } else if (un->sun_path[0] == 0) {
                        /* Abstract: "@name"; embedded NULs shown as '@' too. */
                        c->unix_path[0] = '@';
                        for (size_t i = 1; i < n; i++)
                                c->unix_path[i] = un->sun_path[i] ?: '@';
                        c->unix_path[n] = 0;
                } else {
                        _cleanup_free_ char *resolved = NULL;
                        char p[sizeof un->sun_path + 1];
                        int r;

                        memcpy(p, un->sun_path, MIN(n, sizeof un->sun_path));
                        p[MIN(n, sizeof un->sun_path)] = 0;
                        r = call_resolve_path(c, false, AT_FDCWD, p, false, &resolved, NULL);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                c->lookup_error = r;
                        snprintf(c->unix_path, sizeof c->unix_path, "%s", resolved);
                }
                c->addr.unix_path = c->unix_path;
                break;
        }
        default:
                break;
        }
        return 0;
}

bool call_is_send(const Call *c) {
        return c->cls && c->cls->is_send;
}

int decode_addr(Call *c) {
        int sa = arg_index(c->info, SYSCALL_ARG_SOCKADDR), sl = arg_index(c->info, SYSCALL_ARG_SOCKLEN);
        int fdi = arg_index(c->info, SYSCALL_ARG_FD);
        uint64_t ptr = 0, len = 0;
        int r;

        if (sa < 0)
                return 0;

        switch (c->info->addr_form) {
        case SYSCALL_ADDR_SOCKADDR:
                ptr = c->args[sa];
                len = sl >= 0 ? c->args[sl] : 0;
                break;
        case SYSCALL_ADDR_MSGHDR:
        case SYSCALL_ADDR_MMSGHDR: {
                struct msghdr mh;
                unsigned vlen = c->info->addr_form == SYSCALL_ADDR_MMSGHDR ? (unsigned) c->args[sa + 1] : 1;
                size_t stride = c->info->addr_form == SYSCALL_ADDR_MMSGHDR ? sizeof(struct mmsghdr) : sizeof mh;

                /* Beyond 64 messages we would not look at every destination: refuse. */
                if (vlen > 64)
                        return -EPERM;
                r = target_read(c->tid, c->args[sa], &mh, sizeof mh);
                if (r < 0)
                        return r;
                /* The headers say where the address is: they must not change either. */
                if (c->n_ptrs < ELEMENTSOF(c->ptr_addrs)) {
                        c->ptr_addrs[c->n_ptrs] = c->args[sa];
                        c->ptr_lens[c->n_ptrs++] = stride * MAX(MIN(vlen, 64u), 1u);
                }
                ptr = (uint64_t) (uintptr_t) mh.msg_name;
                len = mh.msg_namelen;
                /* Every message of a sendmmsg must go where the first goes, or the decision would not
                 * cover them all. */
                for (unsigned i = 1; i < MIN(vlen, 64u); i++) {
                        struct msghdr o;
                        r = target_read(c->tid, c->args[sa] + i * stride, &o, sizeof o);
                        if (r < 0)
                                return r;
                        if ((uint64_t) (uintptr_t) o.msg_name != ptr || o.msg_namelen != len)
                                return -EPERM;
                }
                break;
        }
        default:
                return -EINVAL;
        }

        if (fdi >= 0 && c->creds && c->sock_fd < 0) {
                /* The socket itself, taken now: what it is decides the protocol, and an emulation sends
                 * or connects on exactly this one whatever the workload's table holds later. */
                int fd = (int) c->args[fdi];

                if (fd >= 0 && decode_take_file(c, fd, &c->sock_fd) < 0)
                        c->sock_fd = -EBADF;
                if (c->sock_fd >= 0) {
                        int proto = 0;
                        socklen_t pl = sizeof proto;
                        if (getsockopt(c->sock_fd, SOL_SOCKET, SO_PROTOCOL, &proto, &pl) == 0)
                                c->addr.protocol = proto;
                }
        }

        if (ptr == 0) {
                if (!call_is_send(c)) {
                        /* connect(fd, NULL, n): the kernel copies n bytes from NULL. */
                        return len > 0 ? -EFAULT : 0;
                }
                /* A send without an address of its own: to the peer the socket is connected to. */
                c->addr.family = POLICY_FAMILY_CONNECTED;
                c->have_addr = true;
                return 0;
        }
        if (len > sizeof(struct sockaddr_storage))
                return -EINVAL;
        r = target_read(c->tid, ptr, &c->raw_addr, (size_t) len);
        if (r < 0)
                return r;
        r = seccomp_notif_id_valid_raw(c->s->listener, c->id);
        if (r < 0)
                return r;
        if (c->n_ptrs < ELEMENTSOF(c->ptr_addrs)) {
                c->ptr_addrs[c->n_ptrs] = ptr;
                c->ptr_lens[c->n_ptrs++] = (size_t) len;
        }
        c->raw_len = (socklen_t) len;
        r = decode_sockaddr_bytes(c, &c->raw_addr, c->raw_len);
        if (r < 0)
                return r;
        c->have_addr = true;
        return 0;
}

int decode_for_emulation(Call *c) {
        int r;

        if (!c->info)
                c->info = c->cls->info;
        if (!c->info)
                return -EINVAL;
        r = decode_creds(c);
        if (r >= 0 && !c->decoded)
                r = decode_paths(c);
        if (r >= 0 && syscall_has_sockaddr(c->name) && !c->have_addr)
                r = decode_addr(c);
        if (r >= 0)
                r = seccomp_notif_id_valid_raw(c->s->listener, c->id);
        return r;
}

static int8_t creds_change_of(const char *name) {
        static const char *const own[] = {
                "setuid", "setuid32", "setgid", "setgid32", "setreuid", "setreuid32", "setregid",
                "setregid32", "setresuid", "setresuid32", "setresgid", "setresgid32", "setfsuid",
                "setfsuid32", "setfsgid", "setfsgid32", "setgroups", "setgroups32", "capset", NULL,
        };
        static const char *const everyone[] = {
                /* umask is shared by every thread of a CLONE_FS group; exec replaces the thread group and
                 * recomputes capabilities; a new user namespace changes what capabilities mean. */
                "umask", "execve", "execveat", "unshare", "setns", NULL,
        };

        if (!name)
                return -1;
        if (name_in(name, own))
                return 1;
        if (name_in(name, everyone))
                return 0;
        return -1;
}

static void class_fill(uint32_t arch, int nr, SyscallClass *ret) {
        const char *name = syscall_name(arch, nr);

        *ret = (SyscallClass) {
                .name = name,
                .info = name ? syscall_info_lookup(name) : NULL,
                .emulable = name &&
                            (emulate_supported(name) || fdcall_supported(name) || send_supported(name)),
                .is_fdcall = fdcall_supported(name),
                .is_send = send_supported(name),
                .is_open = name && (streq(name, "open") || streq(name, "openat") || streq(name, "openat2") ||
                                    streq(name, "creat")),
                .creds_change = creds_change_of(name),
        };
}

#define CLASS_TABLE_SIZE 1024
static SyscallClass class_table[CLASS_TABLE_SIZE];
static uint32_t class_table_arch;
static pthread_once_t class_once = PTHREAD_ONCE_INIT;

static void class_table_init(void) {
#if defined(__x86_64__)
        class_table_arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
        class_table_arch = AUDIT_ARCH_AARCH64;
#endif
        for (int nr = 0; nr < CLASS_TABLE_SIZE; nr++)
                class_fill(class_table_arch, nr, &class_table[nr]);
}

const SyscallClass *syscall_class_get(uint32_t arch, int nr, SyscallClass *buf) {
        pthread_once(&class_once, class_table_init);
        if (arch == class_table_arch && nr >= 0 && nr < CLASS_TABLE_SIZE)
                return &class_table[nr];
        class_fill(arch, nr, buf);
        return buf;
}

pid_t decode_creds_change(const Call *c) {
        switch (c->cls->creds_change) {
        case 1:
                return c->tid;
        case 0:
                return 0;
        default:
                return -1;
        }
}

/* ---- credential calls that change nothing ---- */

#define CAP_SETGID_BIT (1ull << 6)
#define CAP_SETUID_BIT (1ull << 7)

typedef struct Ids {
        uint32_t r, e, s, fs;
} Ids;

static bool ids_equal(const Ids *a, const Ids *b) {
        return a->r == b->r && a->e == b->e && a->s == b->s && a->fs == b->fs;
}

/* The ids the kernel would set, per kernel/sys.c, for the id family of one call. */
static int ids_after(const char *base, const uint64_t *args, const Ids *old, bool capable, Ids *ret) {
        uint32_t a = (uint32_t) args[0], b = (uint32_t) args[1], c = (uint32_t) args[2];
        const uint32_t keep = (uint32_t) -1;

        *ret = *old;
        if (streq(base, "set")) {
                if (capable)
                        *ret = (Ids) { a, a, a, a };
                else if (a == old->r || a == old->s)
                        ret->e = ret->fs = a;
                else
                        return -EPERM;
        } else if (streq(base, "setre")) {
                if (a != keep)
                        ret->r = a;
                if (b != keep)
                        ret->e = b;
                if (a != keep || (b != keep && b != old->r))
                        ret->s = ret->e;
                ret->fs = ret->e;
        } else if (streq(base, "setres")) {
                if (a != keep)
                        ret->r = a;
                if (b != keep)
                        ret->e = b;
                if (c != keep)
                        ret->s = c;
                ret->fs = ret->e;
        } else if (streq(base, "setfs")) {
                if (a != keep)
                        ret->fs = a;
        } else
                return -EOPNOTSUPP;
        return 0;
}

static int groups_noop(Call *c, bool *ret) {
        uint64_t n = (uint32_t) c->args[0];
        gid_t want[TARGET_MAX_GROUPS], have[TARGET_MAX_GROUPS];
        size_t k = 0;
        int r;

        if (n > TARGET_MAX_GROUPS) {
                *ret = false;
                return 0;
        }
        r = target_read(c->tid, c->args[1], want, n * sizeof(gid_t));
        if (r < 0)
                return r;
        if (n > 0 && c->n_ptrs < ELEMENTSOF(c->ptr_addrs)) {
                c->ptr_addrs[c->n_ptrs] = c->args[1];
                c->ptr_lens[c->n_ptrs++] = n * sizeof(gid_t);
        }
        /* The kernel keeps the list sorted and as given (duplicates included): compare as sets of
         * sorted values, which is what the task's groups are. */
        for (size_t i = 0; i < n; i++) {
                size_t j = k;
                while (j > 0 && have[j - 1] > want[i]) {
                        have[j] = have[j - 1];
                        j--;
                }
                have[j] = want[i];
                k++;
        }
        *ret = k == c->creds->n_groups && memcmp(have, c->creds->groups, k * sizeof(gid_t)) == 0;
        return 0;
}

static int capset_noop(Call *c, bool *ret) {
        struct {
                uint32_t version;
                int pid;
        } hdr;
        struct {
                uint32_t effective, permitted, inheritable;
        } data[2];
        uint64_t eff, prm, inh;
        int r;

        r = target_read(c->tid, c->args[0], &hdr, sizeof hdr);
        if (r < 0)
                return r;
        /* _LINUX_CAPABILITY_VERSION_3 only, and the caller itself. */
        if (hdr.version != 0x20080522 || (hdr.pid != 0 && hdr.pid != c->creds->ns_tid)) {
                *ret = false;
                return 0;
        }
        r = target_read(c->tid, c->args[1], data, sizeof data);
        if (r < 0)
                return r;
        if (c->n_ptrs + 2 <= ELEMENTSOF(c->ptr_addrs)) {
                c->ptr_addrs[c->n_ptrs] = c->args[0];
                c->ptr_lens[c->n_ptrs++] = sizeof hdr;
                c->ptr_addrs[c->n_ptrs] = c->args[1];
                c->ptr_lens[c->n_ptrs++] = sizeof data;
        }
        eff = data[0].effective | ((uint64_t) data[1].effective << 32);
        prm = data[0].permitted | ((uint64_t) data[1].permitted << 32);
        inh = data[0].inheritable | ((uint64_t) data[1].inheritable << 32);
        *ret = eff == c->creds->cap_eff && prm == c->creds->cap_prm && inh == c->creds->cap_inh;
        return 0;
}

int decode_creds_noop(Call *c, bool *ret_noop, bool *ret_memory) {
        char base[16];
        size_t n = c->name ? strlen(c->name) : 0;
        bool gid;
        Ids old, now;
        int r;

        *ret_noop = *ret_memory = false;
        if (!c->name || c->arch != AUDIT_ARCH_X86_64)
                return -EOPNOTSUPP; /* the 16-bit id calls of 32-bit ABIs are not looked into */
        if (!streq(c->name, "setgroups") && !streq(c->name, "capset") &&
            (strncmp(c->name, "set", 3) != 0 || n < 6 ||
             (!streq(c->name + n - 3, "uid") && !streq(c->name + n - 3, "gid"))))
                return -EOPNOTSUPP;
        r = decode_creds(c);
        if (r < 0)
                return r;
        if (streq(c->name, "setgroups")) {
                *ret_memory = true;
                r = groups_noop(c, ret_noop);
        } else if (streq(c->name, "capset")) {
                *ret_memory = true;
                r = capset_noop(c, ret_noop);
        } else {
                gid = streq(c->name + n - 3, "gid");
                snprintf(base, sizeof base, "%.*s", (int) (n - 3), c->name);
                old = gid ? (Ids) { c->creds->rgid, c->creds->egid, c->creds->sgid, c->creds->fsgid }
                          : (Ids) { c->creds->ruid, c->creds->euid, c->creds->suid, c->creds->fsuid };
                r = ids_after(base, c->args, &old, !c->creds->foreign_userns &&
                                      (c->creds->cap_eff & (gid ? CAP_SETGID_BIT : CAP_SETUID_BIT)), &now);
                if (r == -EOPNOTSUPP)
                        return r;
                *ret_noop = r >= 0 && ids_equal(&old, &now);
                r = 0;
        }
        if (r >= 0 && *ret_memory)
                r = seccomp_notif_id_valid_raw(c->s->listener, c->id);
        return r;
}
