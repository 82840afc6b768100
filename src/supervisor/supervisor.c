/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The notification loop: receive, decode what the policy needs, evaluate, act, report. */
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "forgeone/path-resolve.h"
#include "forgeone/syscall-table.h"
#include "supervisor-internal.h"

static const char *const action_names[_SUPERVISOR_ACTION_MAX] = {
        [SUPERVISOR_ACTION_CONTINUE] = "continue",
        [SUPERVISOR_ACTION_EMULATE] = "emulate",
        [SUPERVISOR_ACTION_DENY] = "deny",
        [SUPERVISOR_ACTION_QUARANTINE] = "quarantine",
};

const char *supervisor_action_to_string(SupervisorAction a) {
        return a >= 0 && a < _SUPERVISOR_ACTION_MAX ? action_names[a] : NULL;
}

#define NOTIF_BUF 512

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void wake_handler(int sig) {
        (void) sig;
}

static pthread_once_t wake_once = PTHREAD_ONCE_INIT;

static void wake_install(void) {
        struct sigaction sa = { .sa_handler = wake_handler };

        /* No SA_RESTART: the point is to interrupt a blocking RECV, open() or connect(). */
        sigemptyset(&sa.sa_mask);
        (void) sigaction(SUPERVISOR_WAKE_SIGNAL, &sa, NULL);
}

static void trust_reset(Supervisor *s, const Policy *p) {
        s->trust_cfg = p->trust;
        trust_score_init(&s->trust, &s->trust_cfg, policy_identity_trust(p, s->identity), now_usec());
}

int supervisor_new(int listener, PolicyGraph *graph, const SupervisorConfig *config, Supervisor **ret) {
        _cleanup_close_ int listener_fd = listener;
        _cleanup_(supervisor_freep) Supervisor *s = NULL;
        char proc[64], buf[PATH_MAX + 1];
        ssize_t n;

        if (listener < 0 || !graph || !config || !ret)
                return -EINVAL;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->listener = s->root_fd = s->cgroup_fd = -EBADF;
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->workers_done, NULL);
        s->identity = config->identity;
        s->on_decision = config->on_decision;
        s->on_quarantine = config->on_quarantine;
        s->userdata = config->userdata;

        if (seccomp_raw(SECCOMP_GET_NOTIF_SIZES, 0, &s->sizes) < 0)
                return -errno;
        if (s->sizes.seccomp_notif > NOTIF_BUF || s->sizes.seccomp_notif_resp > NOTIF_BUF)
                return -EOVERFLOW;

        if (config->root_fd >= 0)
                s->root_fd = fcntl(config->root_fd, F_DUPFD_CLOEXEC, 3);
        else
                s->root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (s->root_fd < 0)
                return -errno;
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", s->root_fd);
        n = readlink(proc, buf, sizeof buf - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        s->root_path = strdup(buf);
        if (!s->root_path)
                return -ENOMEM;

        if (config->cgroup_fd >= 0) {
                s->cgroup_fd = fcntl(config->cgroup_fd, F_DUPFD_CLOEXEC, 3);
                if (s->cgroup_fd < 0)
                        return -errno;
        }

        s->listener = TAKE_FD(listener_fd);
        /* Linux 6.6+: the target is woken on our CPU when we answer. Older kernels say EINVAL. */
        s->sync_wakeup = ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
                               (unsigned long) SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) == 0;

        s->graph = policy_graph_ref(graph);
        s->generation = 1;
        trust_reset(s, policy_graph_policy(graph));
        pthread_once(&wake_once, wake_install);

        *ret = TAKE_PTR(s);
        return 0;
}

Supervisor *supervisor_free(Supervisor *s) {
        if (!s)
                return NULL;

        s->stop = 1;
        /* Workers block in open() or connect() at most until interrupted. */
        pthread_mutex_lock(&s->lock);
        while (s->n_workers > 0) {
                struct timespec ts;

                for (size_t i = 0; i < ELEMENTSOF(s->workers); i++)
                        if (s->worker_used[i])
                                (void) pthread_kill(s->workers[i], SUPERVISOR_WAKE_SIGNAL);
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 10 * 1000 * 1000;
                if (ts.tv_nsec >= 1000000000) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000;
                }
                (void) pthread_cond_timedwait(&s->workers_done, &s->lock, &ts);
        }
        pthread_mutex_unlock(&s->lock);

        safe_close(s->listener);
        safe_close(s->root_fd);
        safe_close(s->cgroup_fd);
        free(s->root_path);
        policy_graph_unref(s->graph);
        policy_graph_unref(s->loop_graph);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->workers_done);
        free(s);
        return NULL;
}

uint64_t supervisor_set_graph(Supervisor *s, PolicyGraph *graph) {
        PolicyGraph *old;
        uint64_t gen;

        pthread_mutex_lock(&s->lock);
        old = s->graph;
        s->graph = policy_graph_ref(graph);
        gen = s->generation + 1;
        __atomic_store_n(&s->generation, gen, __ATOMIC_RELEASE);
        {
                /* Keep the score, but follow the new policy's limits. */
                int score = s->trust.score;
                trust_reset(s, policy_graph_policy(graph));
                s->trust.score = MIN(score, s->trust_cfg.maximum);
        }
        policy_graph_unref(old);
        pthread_mutex_unlock(&s->lock);
        return gen;
}

uint64_t supervisor_get_generation(Supervisor *s) {
        uint64_t g;

        pthread_mutex_lock(&s->lock);
        g = s->generation;
        pthread_mutex_unlock(&s->lock);
        return g;
}

int supervisor_get_trust(Supervisor *s) {
        int t;

        pthread_mutex_lock(&s->lock);
        t = trust_score_current(&s->trust, &s->trust_cfg, now_usec());
        pthread_mutex_unlock(&s->lock);
        return t;
}

bool supervisor_is_quarantined(Supervisor *s) {
        bool q;

        pthread_mutex_lock(&s->lock);
        q = s->quarantined;
        pthread_mutex_unlock(&s->lock);
        return q;
}

bool supervisor_has_sync_wakeup(const Supervisor *s) {
        return s->sync_wakeup;
}

/* ---- replies ---- */

int reply_value(Supervisor *s, uint64_t id, int error, int64_t value) {
        _Alignas(8) char buf[NOTIF_BUF] = {};
        struct seccomp_notif_resp *resp = (struct seccomp_notif_resp *) buf;

        resp->id = id;
        resp->error = error ? -error : 0;
        resp->val = error ? 0 : value;
        if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0)
                return -errno;
        return 0;
}

int reply_continue(Supervisor *s, uint64_t id) {
        _Alignas(8) char buf[NOTIF_BUF] = {};
        struct seccomp_notif_resp *resp = (struct seccomp_notif_resp *) buf;

        resp->id = id;
        resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0)
                return -errno;
        return 0;
}

/* ---- workers and reporting ---- */

void supervisor_emit(Supervisor *s, SupervisorEvent *ev) {
        if (s->on_decision)
                s->on_decision(ev, s->userdata);
}

int supervisor_worker_start(Supervisor *s, void *(*fn)(void *), void *arg) {
        pthread_attr_t attr;
        size_t slot;
        int r;

        pthread_mutex_lock(&s->lock);
        for (slot = 0; slot < ELEMENTSOF(s->workers); slot++)
                if (!s->worker_used[slot])
                        break;
        if (slot >= ELEMENTSOF(s->workers)) {
                pthread_mutex_unlock(&s->lock);
                return -EAGAIN;
        }
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        s->worker_used[slot] = true;
        s->n_workers++;
        r = -pthread_create(&s->workers[slot], &attr, fn, arg);
        if (r < 0) {
                s->worker_used[slot] = false;
                s->n_workers--;
        }
        pthread_attr_destroy(&attr);
        pthread_mutex_unlock(&s->lock);
        return r;
}

void supervisor_worker_end(Supervisor *s) {
        pthread_t self = pthread_self();

        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < ELEMENTSOF(s->workers); i++)
                if (s->worker_used[i] && pthread_equal(s->workers[i], self)) {
                        s->worker_used[i] = false;
                        break;
                }
        s->n_workers--;
        pthread_cond_broadcast(&s->workers_done);
        pthread_mutex_unlock(&s->lock);
}

void call_done(Call *c) {
        free(c->path);
        free(c->path2);
        free(c->creds);
        c->sock_fd = safe_close(c->sock_fd);
        c->magic_file = safe_close(c->magic_file);
}

/* ---- decoding ---- */

static int arg_index(const SyscallInfo *info, SyscallArg kind) {
        for (int i = 0; i < 6; i++)
                if (info->args[i] == kind)
                        return i;
        return -1;
}

static int call_creds(Call *c) {
        int r;

        if (c->creds)
                return 0;
        c->creds = malloc(sizeof *c->creds);
        if (!c->creds)
                return -ENOMEM;
        r = target_read_creds(c->tid, c->creds);
        if (r < 0) {
                free(c->creds);
                c->creds = NULL;
        }
        return r;
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

/* /proc/PID/fd/N of the workload: reopening it reaches whatever file that fd is, so take that file now
 * (later the number could name another) and let the policy judge its real path, with the access now
 * asked for. Files without a path (pipes, sockets) are judged by the /proc name. */
static int take_magic_file(Call *c, char **path) {
        char proc[64], target[PATH_MAX + 1];
        _cleanup_free_ char *inside = NULL;
        pid_t pid;
        int fd, pidfd, r;
        ssize_t n;

        if (path_parse_proc_fd(*path, &pid, &fd) < 0 || !c->creds)
                return -ENOENT;
        if (pid != c->creds->ns_tgid && pid != c->creds->ns_tid) {
                /* Another process's fd: the kernel would want ptrace rights, which we do not grant. */
                c->lookup_error = EACCES;
                return 0;
        }
        pidfd = target_pidfd(c->creds->tgid, c->s->listener, c->id);
        if (pidfd < 0)
                return pidfd;
        c->magic_file = pidfd_getfd_raw(pidfd, fd);
        safe_close(pidfd);
        if (c->magic_file < 0) {
                r = c->magic_file;
                c->magic_file = -EBADF;
                if (r != -EBADF)
                        return r;
                c->lookup_error = ENOENT;
                return 0;
        }
        c->magic = true;
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", c->magic_file);
        n = readlink(proc, target, sizeof target - 1);
        if (n <= 0)
                return 0;
        target[n] = 0;
        if (target[0] != '/' || path_strip_root(c->s->root_path, target, &inside) < 0)
                return 0; /* pipe:[..], socket:[..], or outside the root: the /proc name it is */
        free(*path);
        *path = TAKE_PTR(inside);
        return 0;
}

static int decode_path(Call *c, bool second) {
        SyscallArg pk = second ? SYSCALL_ARG_PATH2 : SYSCALL_ARG_PATH;
        SyscallArg dk = second ? SYSCALL_ARG_DIRFD2 : SYSCALL_ARG_DIRFD;
        int pi = arg_index(c->info, pk), di = arg_index(c->info, dk), af = arg_index(c->info, SYSCALL_ARG_AT_FLAGS);
        _cleanup_free_ char *base = NULL, *resolved = NULL;
        char buf[PATH_MAX];
        int n, r, dirfd;

        if (pi < 0)
                return 0;
        dirfd = di >= 0 ? (int) c->args[di] : AT_FDCWD;
        if (!second && c->args[pi] == 0 && dirfd != AT_FDCWD &&
            (streq(c->name, "utimensat") || streq(c->name, "futimesat"))) {
                /* futimens(3) is utimensat(fd, NULL, ...): the file open as fd, judged by its path. */
                c->null_path = c->empty_path = true;
                r = target_fd_path(c->tid, dirfd, c->s->root_path, &resolved);
                if (r < 0)
                        return r == -EXDEV ? -EPERM : r;
                c->path = TAKE_PTR(resolved);
                return 0;
        }
        n = target_read_string(c->tid, c->args[pi], buf, sizeof buf);
        if (n < 0)
                return n;
        r = seccomp_notif_id_valid_raw(c->s->listener, c->id);
        if (r < 0)
                return r;
        if (c->n_ptrs < ELEMENTSOF(c->ptr_addrs)) {
                c->ptr_addrs[c->n_ptrs] = c->args[pi];
                c->ptr_lens[c->n_ptrs++] = (size_t) n + 1;
        }

        if (n == 0) {
                /* "" names the dirfd itself with AT_EMPTY_PATH, and nothing (ENOENT) otherwise. */
                if (second || af < 0 || !(c->args[af] & AT_EMPTY_PATH))
                        return -ENOENT;
                c->empty_path = true;
                r = dirfd == AT_FDCWD ? target_base_path(c->tid, AT_FDCWD, c->s->root_path, &resolved)
                                      : target_fd_path(c->tid, dirfd, c->s->root_path, &resolved);
                if (r < 0)
                        return r == -EXDEV ? -EPERM : r;
                c->path = TAKE_PTR(resolved);
                return 0;
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
        if (buf[0] != '/') {
                r = target_base_path(c->tid, dirfd, c->s->root_path, &base);
                if (r == -EXDEV)
                        return -EPERM; /* its cwd or dirfd lies outside its root: refuse */
                if (r < 0)
                        return r;
        }
        PathResolveTask task = {
                .pid = c->creds ? c->creds->ns_tgid : 0,
                .tid = c->creds ? c->creds->ns_tid : 0,
                .root_path = c->s->root_path,
        };
        unsigned rflags = 0;
        r = path_resolve_in_root(c->s->root_fd, &task, base, buf,
                                 last_nofollow(c, second) ? PATH_RESOLVE_NOFOLLOW : 0, &resolved, &rflags);
        if (r < 0)
                return r;
        if (!second && (rflags & PATH_RESOLVE_RESULT_MAGIC)) {
                r = take_magic_file(c, &resolved);
                if (r < 0)
                        return r;
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

static int decode_paths(Call *c) {
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

                if (size < 24 || size > 4096)
                        return -EINVAL;
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
                r = seccomp_notif_id_valid_raw(c->s->listener, c->id);
                if (r < 0)
                        return r;
                c->open_flags = how.flags;
                c->open_mode = how.mode;
                c->open_resolve = how.resolve;
        }
        if (fi >= 0 || hi >= 0 || streq(c->name, "creat"))
                c->access = syscall_open_flags_to_access(c->open_flags);
        /* An exchange moves each entry over the other: both are removed and created. */
        if (streq(c->name, "renameat2") && (c->args[4] & RENAME_EXCHANGE))
                c->access = c->access2 = POLICY_ACCESS_DELETE | POLICY_ACCESS_CREATE;

        r = decode_path(c, false);
        if (r < 0)
                return r;
        /* O_CREAT on a file that is there creates nothing ("2>/dev/null"): ask the policy for what is
         * really done, and drop O_CREAT from the emulated open so that, should the file vanish in
         * between, the open fails instead of creating what the policy did not allow. */
        if ((fi >= 0 || hi >= 0 || streq(c->name, "creat")) && c->exists && !c->lookup_error &&
            (c->open_flags & (O_CREAT | O_EXCL)) == O_CREAT && !(c->open_flags & __O_TMPFILE)) {
                c->open_flags &= ~(uint64_t) O_CREAT;
                c->access = syscall_open_flags_to_access(c->open_flags);
        }
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
                        _cleanup_free_ char *base = NULL, *resolved = NULL;
                        char p[sizeof un->sun_path + 1];
                        int r;

                        memcpy(p, un->sun_path, MIN(n, sizeof un->sun_path));
                        p[MIN(n, sizeof un->sun_path)] = 0;
                        if (p[0] != '/') {
                                r = target_base_path(c->tid, AT_FDCWD, c->s->root_path, &base);
                                if (r < 0)
                                        return r == -EXDEV ? -EPERM : r;
                        }
                        PathResolveTask task = {
                                .pid = c->creds ? c->creds->ns_tgid : 0,
                                .tid = c->creds ? c->creds->ns_tid : 0,
                                .root_path = c->s->root_path,
                        };
                        r = path_resolve_in_root(c->s->root_fd, &task, base, p, 0, &resolved, NULL);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                c->lookup_error = r;
                        snprintf(c->unix_path, sizeof c->unix_path, "%s", resolved);
                        if (strlen(resolved) >= sizeof c->unix_path - 1)
                                return -ENAMETOOLONG;
                }
                c->addr.unix_path = c->unix_path;
                break;
        }
        default:
                break;
        }
        return 0;
}

static int decode_addr(Call *c) {
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

        if (fdi >= 0 && c->creds) {
                int pidfd = target_pidfd(c->creds->tgid, c->s->listener, c->id);
                if (pidfd >= 0) {
                        c->sock_fd = pidfd_getfd_raw(pidfd, (int) c->args[fdi]);
                        safe_close(pidfd);
                }
                if (c->sock_fd >= 0) {
                        int proto = 0;
                        socklen_t pl = sizeof proto;
                        if (getsockopt(c->sock_fd, SOL_SOCKET, SO_PROTOCOL, &proto, &pl) == 0)
                                c->addr.protocol = proto;
                }
        }

        if (ptr == 0)
                return 0; /* no address: a connected socket */
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

/* ---- deciding ---- */

static int eval_call(PolicyGraph *g, Call *c, int trust, PolicyDecision *ret) {
        PolicyQuery q = {
                .identity = c->s->identity,
                .trust = trust,
                .arch = c->arch,
                .nr = c->nr,
                .path = c->path,
                .access = c->access,
                .addr = c->have_addr ? &c->addr : NULL,
        };
        PolicyDecision d2;
        int r;

        memcpy(q.args, c->args, sizeof q.args);
        r = policy_graph_eval(g, &q, ret);
        if (r < 0 || !c->path2)
                return r;
        /* Two paths (rename, link): both must pass; the stronger verdict explains the decision. */
        q.path = c->path2;
        q.access = c->access2;
        r = policy_graph_eval(g, &q, &d2);
        if (r < 0)
                return r;
        if (d2.verdict > ret->verdict) {
                d2.used_memory = true;
                *ret = d2;
        }
        ret->used_memory = true;
        return 0;
}

static bool call_is_open(const Call *c) {
        return c->name && (streq(c->name, "open") || streq(c->name, "openat") || streq(c->name, "openat2") ||
                           streq(c->name, "creat"));
}

static bool call_is_exec(const Call *c) {
        return c->name && (streq(c->name, "execve") || streq(c->name, "execveat"));
}

int supervisor_process_one(Supervisor *s) {
        _Alignas(8) char buf[NOTIF_BUF] = {};
        struct seccomp_notif *req = (struct seccomp_notif *) buf;
        PolicyGraph *g;
        PolicyDecision d = {};
        SupervisorEvent ev = {};
        Call c = { .s = s, .sock_fd = -EBADF, .magic_file = -EBADF };
        unsigned needs;
        int trust, r;
        bool quarantine_now = false, penalize = false, quarantined;

        if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
                if (errno == EINTR)
                        return -EINTR;
                if (errno == ENOENT) {
                        /* The target left before we could receive it; or nobody uses the filter. */
                        struct pollfd p = { .fd = s->listener, .events = POLLIN };
                        if (poll(&p, 1, 0) > 0 && (p.revents & POLLHUP))
                                return -ENOTCONN;
                        return 0;
                }
                return -errno;
        }

        c.id = req->id;
        c.tid = (pid_t) req->pid;
        c.arch = req->data.arch;
        c.nr = req->data.nr;
        memcpy(c.args, req->data.args, sizeof c.args);
        c.name = syscall_name(c.arch, c.nr);

        /* The graph this notification is decided on: the loop keeps a reference to the current
         * generation and only takes the lock when a reload published a new one. A reload during this
         * call does not change g. */
        if (__atomic_load_n(&s->generation, __ATOMIC_ACQUIRE) != s->loop_generation || !s->loop_graph) {
                pthread_mutex_lock(&s->lock);
                policy_graph_unref(s->loop_graph);
                s->loop_graph = policy_graph_ref(s->graph);
                s->loop_generation = s->generation;
                pthread_mutex_unlock(&s->lock);
        }
        g = s->loop_graph;
        ev.generation = s->loop_generation;
        needs = policy_graph_needs(g, c.arch, c.nr);
        /* Argument descriptions are only needed to decode, here or for an emulation below. */
        c.info = c.name && (needs & (POLICY_NEED_PATH | POLICY_NEED_ADDR)) ? syscall_info_lookup(c.name) : NULL;
        quarantined = __atomic_load_n(&s->quarantined, __ATOMIC_ACQUIRE);
        if (needs & POLICY_NEED_TRUST) {
                pthread_mutex_lock(&s->lock);
                trust = trust_score_current(&s->trust, &s->trust_cfg, now_usec());
                pthread_mutex_unlock(&s->lock);
        } else
                trust = __atomic_load_n(&s->trust.score, __ATOMIC_RELAXED);

        ev.id = c.id;
        ev.tid = c.tid;
        ev.arch = c.arch;
        ev.nr = c.nr;
        ev.syscall = c.name;
        memcpy(ev.args, c.args, sizeof ev.args);

        if (quarantined) {
                /* The workload is being stopped: nothing more it asks for happens. */
                ev.verdict = POLICY_VERDICT_QUARANTINE;
                ev.rule_id = "supervisor";
                ev.reason = "workload quarantined";
                ev.action = SUPERVISOR_ACTION_DENY;
                ev.error = EPERM;
                goto reply;
        }

        if (c.info && (needs & (POLICY_NEED_PATH | POLICY_NEED_ADDR))) {
                r = call_creds(&c);
                if (r >= 0 && (needs & POLICY_NEED_PATH))
                        r = decode_paths(&c);
                if (r >= 0 && (needs & POLICY_NEED_ADDR))
                        r = decode_addr(&c);
                /* Everything read from /proc and its memory was about this very task only if it still
                 * waits for us now (a dead task's pid could have been recycled in between). */
                if (r >= 0)
                        r = seccomp_notif_id_valid_raw(s->listener, c.id);
                if (r < 0) {
                        /* The call cannot be evaluated: fail it the way the kernel would have
                         * (EFAULT, ENAMETOOLONG, ELOOP, ...) or, for our own limits, with EPERM. */
                        ev.verdict = POLICY_VERDICT_DENY;
                        ev.rule_id = "supervisor";
                        ev.reason = "arguments could not be decoded";
                        ev.action = SUPERVISOR_ACTION_DENY;
                        ev.error = r == -ENOMEM || r == -EIO ? EPERM : -r;
                        goto reply;
                }
        }

        r = eval_call(g, &c, trust, &d);
        if (r < 0) {
                ev.verdict = POLICY_VERDICT_DENY;
                ev.rule_id = "supervisor";
                ev.reason = "policy evaluation failed";
                ev.action = SUPERVISOR_ACTION_DENY;
                ev.error = EPERM;
                goto reply;
        }
        ev.verdict = d.verdict;
        ev.rule_id = d.rule_id;

        switch (d.verdict) {
        case POLICY_VERDICT_ALLOW:
        case POLICY_VERDICT_EMULATE:
                if (!d.used_memory && (d.verdict == POLICY_VERDICT_ALLOW || !emulate_supported(c.name))) {
                        ev.action = SUPERVISOR_ACTION_CONTINUE;
                        break;
                }
                if (!c.info && c.name)
                        c.info = syscall_info_lookup(c.name);
                if (emulate_supported(c.name) && !c.decoded && c.info) {
                        r = call_creds(&c);
                        if (r >= 0)
                                r = decode_paths(&c);
                        if (r >= 0 && syscall_has_sockaddr(c.name) && !c.have_addr)
                                r = decode_addr(&c);
                        if (r >= 0)
                                r = seccomp_notif_id_valid_raw(s->listener, c.id);
                        if (r < 0) {
                                ev.action = SUPERVISOR_ACTION_DENY;
                                ev.error = r == -ENOMEM || r == -EIO ? EPERM : -r;
                                ev.reason = "arguments could not be decoded";
                                break;
                        }
                }
                /* The kernel's ADDFD cannot install O_PATH files: such opens are handled like the
                 * calls that cannot be emulated, below. */
                if (emulate_supported(c.name) && !(call_is_open(&c) && (c.open_flags & O_PATH))) {
                        EmulateResult er;

                        r = call_creds(&c);
                        if (r < 0) {
                                ev.action = SUPERVISOR_ACTION_DENY;
                                ev.error = r == -ENOENT ? ESRCH : EPERM;
                                ev.reason = "cannot read the workload's credentials";
                                break;
                        }
                        ev.pid = c.creds->tgid;
                        ev.path = c.path;
                        ev.access = c.access;
                        ev.addr = c.have_addr ? &c.addr : NULL;
                        ev.trust = trust;
                        ev.action = SUPERVISOR_ACTION_EMULATE;
                        r = emulate_call(&c, &ev, &er);
                        if (r < 0) {
                                ev.action = SUPERVISOR_ACTION_DENY;
                                ev.error = EPERM;
                                ev.reason = "emulation failed";
                                break;
                        }
                        if (er.deferred) /* the worker replies and reports */
                                goto finish;
                        ev.error = er.error;
                        ev.value = er.value;
                        ev.reason = er.reason;
                        if (er.replied) {
                                ev.target_gone = er.gone;
                                goto report;
                        }
                        if (er.error == 0) {
                                r = reply_value(s, c.id, 0, er.value);
                                ev.target_gone = r == -ENOENT;
                                goto report;
                        }
                        break;
                }
                /* Allowed on what memory said, and not emulable: the kernel will read that memory
                 * again. Only safe when nothing else can change it in between (see man page). */
                r = call_creds(&c);
                if (r >= 0 && target_memory_stable(c.tid, s->cgroup_fd, c.ptr_addrs, c.ptr_lens, c.n_ptrs)) {
                        ev.action = SUPERVISOR_ACTION_CONTINUE;
                        break;
                }
                ev.action = SUPERVISOR_ACTION_DENY;
                ev.error = EPERM;
                ev.rule_id = "supervisor";
                ev.reason = call_is_exec(&c)
                                    ? "exec path cannot be checked race-free: its memory is shared or writable"
                                    : "not emulable, and its arguments could change after the check";
                break;

        case POLICY_VERDICT_DENY:
                ev.action = SUPERVISOR_ACTION_DENY;
                ev.error = d.errno_value ?: EPERM;
                penalize = d.reason == POLICY_REASON_RULE || d.reason == POLICY_REASON_DEFAULT;
                break;

        case POLICY_VERDICT_QUARANTINE:
        default:
                ev.action = SUPERVISOR_ACTION_QUARANTINE;
                ev.error = d.errno_value ?: EPERM;
                quarantine_now = true;
                break;
        }

reply:
        if (penalize || quarantine_now) {
                pthread_mutex_lock(&s->lock);
                if (penalize) {
                        int score = trust_score_penalize(&s->trust, &s->trust_cfg, now_usec());
                        if (trust_score_quarantined(&s->trust, &s->trust_cfg) && !s->quarantined) {
                                quarantine_now = true;
                                ev.action = SUPERVISOR_ACTION_QUARANTINE;
                                ev.reason = "trust fell below the quarantine threshold";
                        }
                        trust = score;
                }
                if (quarantine_now && s->quarantined)
                        quarantine_now = false; /* already being stopped */
                if (quarantine_now)
                        __atomic_store_n(&s->quarantined, true, __ATOMIC_RELEASE);
                pthread_mutex_unlock(&s->lock);
        }
        ev.trust = trust;
        if (!ev.pid && c.creds)
                ev.pid = c.creds->tgid;
        ev.path = c.path;
        ev.path2 = c.path2;
        ev.access = c.access;
        ev.addr = c.have_addr ? &c.addr : NULL;
        /* Stop the workload before it gets the answer, so it never runs past the call that
         * quarantined it. */
        if (quarantine_now && s->on_quarantine)
                s->on_quarantine(&ev, s->userdata);
        if (ev.action == SUPERVISOR_ACTION_CONTINUE)
                r = reply_continue(s, c.id);
        else
                r = reply_value(s, c.id, ev.error, ev.value);
        ev.target_gone = r == -ENOENT;
        goto emit;

report:
        ev.trust = trust;
        if (!ev.pid && c.creds)
                ev.pid = c.creds->tgid;
        ev.path = c.path;
        ev.path2 = c.path2;
        ev.access = c.access;
        ev.addr = c.have_addr ? &c.addr : NULL;
emit:
        supervisor_emit(s, &ev);

finish:
        call_done(&c);
        return 0;
}

int supervisor_run(Supervisor *s) {
        __atomic_store_n(&s->run_thread, pthread_self(), __ATOMIC_RELEASE);
        __atomic_store_n(&s->running, true, __ATOMIC_RELEASE);
        while (!s->stop) {
                int r = supervisor_process_one(s);

                if (r == -EINTR || r >= 0)
                        continue;
                __atomic_store_n(&s->running, false, __ATOMIC_RELEASE);
                return r == -ENOTCONN ? 0 : r;
        }
        __atomic_store_n(&s->running, false, __ATOMIC_RELEASE);
        return 0;
}

void supervisor_stop(Supervisor *s) {
        s->stop = 1;
        if (!__atomic_load_n(&s->running, __ATOMIC_ACQUIRE) ||
            pthread_equal(__atomic_load_n(&s->run_thread, __ATOMIC_ACQUIRE), pthread_self()))
                return;
        /* A signal that lands between the loop's check of the flag and its next RECV is lost: repeat
         * until the loop has noticed (bounded, in case it is stuck in a callback). */
        for (unsigned i = 0; i < 5000 && __atomic_load_n(&s->running, __ATOMIC_ACQUIRE); i++) {
                (void) pthread_kill(s->run_thread, SUPERVISOR_WAKE_SIGNAL);
                (void) usleep(1000);
        }
}
