/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * When a call the policy allowed on what the supervisor read may be left to the kernel
 * (SECCOMP_USER_NOTIF_FLAG_CONTINUE) although the kernel will read and resolve it again: execve,
 * execveat, chdir, an O_PATH open (the kernel cannot inject O_PATH descriptors), and any other call a
 * policy decides by path or address that ForgeOne cannot perform itself. It may only when nothing
 * anyone in the workload can do changes what the kernel will find:
 *
 *  1. the bytes read (path, address) lie in memory no other task shares and that cannot be written
 *     behind the task's back (target_memory_stable());
 *  2. no other task shares the task's fs (cwd, root) or descriptor table, so the directory a relative
 *     path starts from, a dirfd, an AT_EMPTY_PATH descriptor and the task's own /proc/self/{cwd,root,
 *     fd/N} links stay what was judged (target_exclusive(); a vfork parent waiting for the task is fine);
 *  3. every name the kernel will look up on the way (each component of the path, and of every symbolic
 *     link it follows) is one the workload may not rename, remove, replace or mount over under the
 *     policy, no component is another process's /proc magic link, and the path led where it was judged
 *     without a lookup error.
 *
 * forgeonectl(1) NOTES says this, and tests/attacks/test-attack-races-continued.sh tries each part.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "forgeone/path-resolve.h"
#include "forgeone/syscall-table.h"
#include "supervisor-internal.h"

/* The calls by which a workload changes what a name leads to, and the access each requests on it. */
static const struct {
        const char *name;
        unsigned access;
} entry_changers[] = {
        { "rename", POLICY_ACCESS_DELETE },    { "renameat", POLICY_ACCESS_DELETE },
        { "renameat2", POLICY_ACCESS_DELETE }, { "rename", POLICY_ACCESS_CREATE }, /* replaced by a rename */
        { "renameat", POLICY_ACCESS_CREATE },  { "renameat2", POLICY_ACCESS_CREATE },
        { "unlink", POLICY_ACCESS_DELETE },    { "unlinkat", POLICY_ACCESS_DELETE },
        { "rmdir", POLICY_ACCESS_DELETE },     { "mount", POLICY_ACCESS_WRITE },
        { "umount2", POLICY_ACCESS_WRITE },    { "move_mount", POLICY_ACCESS_WRITE },
};

typedef struct Walk {
        Call *c;
        const PolicyGraph *g;
        unsigned symlinks;
        const char *why;
} Walk;

/* May the workload rename, remove, replace or mount over this name, under the policy? At the policy's
 * maximum trust: a rule that needs more than the workload has now may match in a moment. */
static bool name_changeable(Walk *w, const char *path) {
        const Policy *p = policy_graph_policy(w->g);
        PolicyQuery q = {
                .identity = w->c->s->identity,
                .trust = p->trust.maximum,
                .arch = w->c->arch,
                .path = path,
        };

        FOREACH_ELEMENT (e, entry_changers) {
                PolicyDecision d;

                q.nr = syscall_resolve_arch(e->name, w->c->arch);
                if (q.nr < 0)
                        continue;
                q.access = e->access;
                if (policy_graph_eval(w->g, &q, &d) < 0)
                        return true;
                if (d.verdict == POLICY_VERDICT_ALLOW || d.verdict == POLICY_VERDICT_EMULATE)
                        return true;
        }
        return false;
}

/* Is this resolved name a /proc magic link (or the way to one) that is not the task's own? Its own cwd,
 * root, exe and fds cannot change once target_exclusive() holds. */
static bool foreign_magic(Walk *w, const char *path) {
        const TargetCreds *t = w->c->creds;
        char rest[PATH_MAX];
        int pid = 0, tid = 0;

        if (strncmp(path, "/proc/", 6) != 0)
                return false;
        if (sscanf(path, "/proc/%d/task/%d/%4095s", &pid, &tid, rest) == 3 ||
            sscanf(path, "/proc/%d/%4095s", &pid, rest) == 2) {
                bool magic = streq(rest, "cwd") || streq(rest, "root") || streq(rest, "exe") ||
                             strncmp(rest, "fd/", 3) == 0 || strncmp(rest, "map_files/", 10) == 0;

                if (!magic)
                        return false;
                if (strncmp(rest, "map_files/", 10) == 0)
                        return true;
                return pid != t->ns_tgid || (tid != 0 && tid != t->ns_tid && tid != t->ns_tgid);
        }
        return false;
}

static int walk(Walk *w, const char *base, const char *raw, bool follow_last);

/* The names the kernel looks up for raw (relative to base, an absolute path inside the root): each
 * component as reached (its parent resolved, itself not followed), then, for a symbolic link it follows,
 * the names of the link's text. Sets w->why and returns 0 when one of them could change. */
static int walk(Walk *w, const char *base, const char *raw, bool follow_last) {
        Call *c = w->c;
        PathResolveTask task = {
                .pid = c->creds->ns_tgid,
                .tid = c->creds->ns_tid,
                .root_path = c->s->root_path,
        };
        size_t len = strlen(raw), i = 0;
        char prefix[PATH_MAX];

        if (len >= sizeof prefix)
                return -ENAMETOOLONG;
        while (i < len && !w->why) {
                _cleanup_free_ char *entry = NULL;
                _cleanup_close_ int fd = -EBADF;
                struct stat st;
                size_t start;
                bool last;
                int r;

                while (i < len && raw[i] == '/')
                        i++;
                if (i >= len)
                        break;
                start = i;
                while (i < len && raw[i] != '/')
                        i++;
                memcpy(prefix, raw, i);
                prefix[i] = 0;
                last = raw[i + strspn(raw + i, "/")] == 0;
                if (i - start == 1 && raw[start] == '.')
                        continue;

                r = path_resolve_in_root(c->s->root_fd, &task, base, prefix, PATH_RESOLVE_NOFOLLOW, &entry,
                                         NULL, NULL);
                if (r != 0) {
                        w->why = "a directory on its path could not be looked up";
                        return r < 0 ? r : 0;
                }
                if (foreign_magic(w, entry)) {
                        w->why = "its path goes through another process's /proc link";
                        return 0;
                }
                if (name_changeable(w, entry)) {
                        w->why = "a name on its path is one the workload may rename, remove or replace";
                        return 0;
                }
                if (last && !follow_last)
                        break;
                /* procfs's own links (self, thread-self, the magic ones) were checked above and are mapped
                 * by the resolver for the next prefix; a symbolic link elsewhere is followed by its text. */
                if (strncmp(entry, "/proc/", 6) == 0 || streq(entry, "/proc"))
                        continue;
                {
                        struct open_how how = {
                                .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
                                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
                        };
                        fd = openat2_raw(c->s->root_fd, entry, &how);
                }
                if (fd < 0 || fstat(fd, &st) < 0) {
                        w->why = "a name on its path vanished while it was checked";
                        return 0;
                }
                if (S_ISLNK(st.st_mode)) {
                        _cleanup_free_ char *parent = NULL;
                        char text[PATH_MAX];
                        ssize_t n = readlinkat(fd, "", text, sizeof text - 1);

                        if (n < 0 || ++w->symlinks > PATH_RESOLVE_MAX_SYMLINKS) {
                                w->why = "a symbolic link on its path could not be followed";
                                return 0;
                        }
                        text[n] = 0;
                        r = path_parent(entry, &parent);
                        if (r < 0)
                                return r;
                        r = walk(w, parent, text, true);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* The task's cwd (dirfd AT_FDCWD) or dirfd now, and whether base names that very directory. */
static bool base_is(Call *c, int dirfd, const char *base) {
        _cleanup_close_ int now = -EBADF, named = -EBADF;
        struct stat a, b;
        struct open_how how = {
                .flags = O_PATH | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };

        if (decode_take_file(c, dirfd, &now) < 0)
                return false;
        named = openat2_raw(c->s->root_fd, base, &how);
        return named >= 0 && fstat(now, &a) == 0 && fstat(named, &b) == 0 && a.st_dev == b.st_dev &&
               a.st_ino == b.st_ino;
}

/* The path argument as the workload passed it (second: PATH2), re-read: it cannot have changed since the
 * decode step when target_memory_stable() holds, which is checked first. */
static int path_walk(Walk *w, bool second, bool follow_last) {
        Call *c = w->c;
        SyscallArg pk = second ? SYSCALL_ARG_PATH2 : SYSCALL_ARG_PATH;
        SyscallArg dk = second ? SYSCALL_ARG_DIRFD2 : SYSCALL_ARG_DIRFD;
        int pi = arg_index(c->info, pk), di = arg_index(c->info, dk), dirfd, n;
        _cleanup_free_ char *base = NULL;
        char raw[PATH_MAX];

        if (pi < 0)
                return 0;
        dirfd = di >= 0 ? (int) c->args[di] : AT_FDCWD;
        n = target_read_string(c->tid, c->args[pi], raw, sizeof raw);
        if (n < 0)
                return n;
        if (n == 0)
                return 0; /* "": the descriptor itself, taken and judged (decode_taken()) */
        if (raw[0] != '/') {
                int r = target_base_path(c->tid, dirfd, c->s->root_path, &base);

                if (r < 0 || !base_is(c, dirfd, base)) {
                        w->why = "the directory its relative path starts from cannot be named in its root";
                        return 0;
                }
                /* The directory is held by the task (fs and descriptor table not shared): names above it
                 * are never looked up again, only those of the path itself. */
        }
        return walk(w, base ?: "/", raw, follow_last);
}

const char *continue_unsafe_reason(Call *c, int trust) {
        Walk w = { .c = c, .g = c->s->loop_graph };
        int r;

        if (!c->creds || !c->info || !w.g)
                return "the call could not be looked at again";
        /* Allowed with this access on every path: whatever the kernel's own lookup finds is allowed.
         * Only openat2's flags, read from memory, must still be what was judged. */
        if (c->decoded && !c->have_addr &&
            policy_graph_allows_any_path(w.g, c->s->identity, trust, c->arch, c->nr,
                                         c->access | c->access2)) {
                if (c->info && arg_index(c->info, SYSCALL_ARG_OPEN_HOW) >= 0 && c->n_ptrs > 0 &&
                    !target_memory_stable(c->tid, c->s->cgroup_fd, c->ptr_addrs, c->ptr_lens, c->n_ptrs))
                        return "its open_how lies in memory that could change after the check";
                return NULL;
        }
        if (!target_exclusive(c->tid, c->s->cgroup_fd))
                return "another task shares its memory, working directory or descriptor table";
        if (c->n_ptrs > 0 &&
            !target_memory_stable(c->tid, c->s->cgroup_fd, c->ptr_addrs, c->ptr_lens, c->n_ptrs))
                return "its arguments lie in memory that could change after the check";
        if (c->decoded && arg_index(c->info, SYSCALL_ARG_PATH) >= 0) {
                /* Which calls follow a symbolic link as last component: all but the O_NOFOLLOW and
                 * AT_SYMLINK_NOFOLLOW forms (an exec follows, a chdir follows). */
                int af = arg_index(c->info, SYSCALL_ARG_AT_FLAGS);
                bool follow =
                        !(c->open_flags & O_NOFOLLOW) && !(af >= 0 && (c->args[af] & AT_SYMLINK_NOFOLLOW));

                r = path_walk(&w, false, follow);
                if (r >= 0 && !w.why && arg_index(c->info, SYSCALL_ARG_PATH2) >= 0)
                        r = path_walk(&w, true, false);
                if (r < 0 && !w.why)
                        w.why = "its path could not be looked at again";
        }
        if (!w.why && c->have_addr && c->addr.family == AF_UNIX && c->addr.unix_path &&
            c->addr.unix_path[0] != '@') {
                /* bind, or a send a policy lets the kernel make: the socket path is looked up again. */
                const struct sockaddr_un *un = (const struct sockaddr_un *) &c->raw_addr;
                size_t n = c->raw_len > offsetof(struct sockaddr_un, sun_path)
                                   ? c->raw_len - offsetof(struct sockaddr_un, sun_path)
                                   : 0;
                char raw[sizeof un->sun_path + 1];
                _cleanup_free_ char *base = NULL;

                memcpy(raw, un->sun_path, MIN(n, sizeof un->sun_path));
                raw[MIN(n, sizeof un->sun_path)] = 0;
                if (raw[0] != '/' && (target_base_path(c->tid, AT_FDCWD, c->s->root_path, &base) < 0 ||
                                      !base_is(c, AT_FDCWD, base)))
                        w.why = "the directory its socket path starts from cannot be named in its root";
                else if (walk(&w, base ?: "/", raw, false) < 0 && !w.why)
                        w.why = "its socket path could not be looked at again";
        }
        if (!w.why && seccomp_notif_id_valid_raw(c->s->listener, c->id) < 0)
                w.why = "the task left";
        return w.why;
}

int continue_opath_substitute(Call *c, int trust, EmulateResult *res) {
        PolicyQuery q = {
                .identity = c->s->identity,
                .trust = trust,
                .arch = c->arch,
                .nr = c->nr,
                .path = c->path,
                .access = POLICY_ACCESS_READ,
        };
        _cleanup_close_ int opath = -EBADF, fd = -EBADF;
        PolicyDecision d;
        CredsSaved saved;
        struct stat st;
        char proc[64];
        int r;

        *res = (EmulateResult){};
        if (!c->path || !c->creds || !c->s->loop_graph || c->lookup_error)
                return -EOPNOTSUPP;
        memcpy(q.args, c->args, sizeof q.args);
        /* A descriptor for reading is more than O_PATH asked for: only where reading is allowed too. */
        if (policy_graph_eval(c->s->loop_graph, &q, &d) < 0 ||
            (d.verdict != POLICY_VERDICT_ALLOW && d.verdict != POLICY_VERDICT_EMULATE))
                return -EOPNOTSUPP;

        r = creds_enter(c->creds, 0, &saved);
        if (r < 0)
                return -EOPNOTSUPP;
        if (c->magic_file >= 0)
                opath = fcntl(c->magic_file, F_DUPFD_CLOEXEC, 3);
        else if (c->base_fd[0] >= 0 && c->walk[0]) {
                /* "." of a directory without a name, from our copy of it (supervisor-decode.c). */
                struct open_how how = {
                        .flags = O_PATH | O_CLOEXEC | (c->open_flags & (O_NOFOLLOW | O_DIRECTORY)),
                        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
                };
                opath = openat2_raw(c->base_fd[0], c->walk[0], &how);
        } else {
                struct open_how how = {
                        .flags = O_PATH | O_CLOEXEC | (c->open_flags & (O_NOFOLLOW | O_DIRECTORY)),
                        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
                };
                opath = openat2_raw(c->s->root_fd, c->path, &how);
        }
        /* A symbolic link itself (O_NOFOLLOW): no descriptor but an O_PATH one can be had of it, and none
         * can be handed over. The call is not supported here: EOPNOTSUPP, which is also what glibc's
         * fchmodat(AT_SYMLINK_NOFOLLOW) and its callers (tar) expect for a link. */
        if (opath >= 0 && fstat(opath, &st) == 0 && S_ISLNK(st.st_mode)) {
                creds_leave(&saved);
                res->error = EOPNOTSUPP;
                res->reason =
                        "an O_PATH descriptor of a symbolic link in a directory the workload may change "
                        "cannot be handed over race-free";
                return 0;
        }
        /* Only what opening for reading does nothing to: no FIFO, device, socket or symlink. */
        if (opath >= 0 && fstat(opath, &st) == 0 && (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
                res->reason = "O_PATH open through names the workload may change: opened by the supervisor, "
                              "for reading";
                snprintf(proc, sizeof proc, "/proc/self/fd/%d", opath);
                fd = open(proc, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
                                        (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
                if (fd >= 0 && creds_procfs_guard(fd, NULL, c->creds, 0, &saved)) {
                        safe_close(fd);
                        fd = open(proc, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
                                                (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
                }
        }
        creds_leave(&saved);
        if (opath < 0 && opath != -EACCES && opath != -EPERM) {
                /* The object is not there (any more): the kernel's answer, without looking again. */
                res->error = -opath;
                return 0;
        }
        if (fd < 0)
                return -EOPNOTSUPP;
        (void) fcntl(fd, F_SETFL, 0);
        return reply_fd(c->s, c->id, fd, c->open_flags, res);
}

int continue_path_missing(Call *c) {
        struct open_how how = {
                .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        int fd;

        if (!c->decoded || !c->path || c->exists || c->empty_path || c->magic || !c->info ||
            arg_index(c->info, SYSCALL_ARG_PATH) < 0)
                return 0;
        fd = openat2_raw(c->s->root_fd, c->path, &how);
        if (fd == -EACCES || fd == -EPERM) {
                creds_restore();
                fd = openat2_raw(c->s->root_fd, c->path, &how);
        }
        if (fd == -ENOENT)
                return ENOENT;
        safe_close(fd);
        return 0;
}
