/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/stat.h>

#include "forgeone/path-resolve.h"
#include "forgeone/seccomp-notify.h"

#define PROC_ROOT_INO 1

/* ---- path strings ---- */

/* A growable absolute path made of components, each preceded by '/'. */
typedef struct PathBuf {
        char *s;
        size_t len, size;
} PathBuf;

static int pathbuf_reserve(PathBuf *b, size_t need) {
        if (need > b->size) {
                size_t sz = MAX(need, b->size * 2);
                char *t = realloc(b->s, sz);
                if (!t)
                        return -ENOMEM;
                b->s = t;
                b->size = sz;
        }
        return 0;
}

static int pathbuf_set(PathBuf *b, const char *s) {
        size_t n = strlen(s);
        int r = pathbuf_reserve(b, n + 64);

        if (r < 0)
                return r;
        memcpy(b->s, s, n + 1);
        b->len = n;
        return 0;
}

static int pathbuf_push(PathBuf *b, const char *c, size_t n) {
        int r = pathbuf_reserve(b, b->len + 1 + n + 1);

        if (r < 0)
                return r;
        if (b->len == 1) /* "/" */
                b->len = 0;
        b->s[b->len++] = '/';
        memcpy(b->s + b->len, c, n);
        b->len += n;
        b->s[b->len] = 0;
        return 0;
}

static void pathbuf_pop(PathBuf *b) {
        char *slash;

        if (b->len <= 1)
                return;
        slash = strrchr(b->s, '/');
        b->len = slash == b->s ? 1 : (size_t) (slash - b->s);
        b->s[b->len] = 0;
}

/* Appends the components of s to b lexically: "." dropped, ".." pops, "//" folded. */
static int pathbuf_fold(PathBuf *b, const char *s) {
        for (const char *p = s; *p;) {
                size_t n;
                int r;

                p += strspn(p, "/");
                n = strcspn(p, "/");
                if (n == 0)
                        break;
                if (n == 1 && p[0] == '.')
                        ;
                else if (n == 2 && p[0] == '.' && p[1] == '.')
                        pathbuf_pop(b);
                else {
                        r = pathbuf_push(b, p, n);
                        if (r < 0)
                                return r;
                }
                p += n;
        }
        return 0;
}

int path_normalize(const char *path, char **ret) {
        PathBuf b = {};
        int r;

        if (!path || path[0] != '/')
                return -EINVAL;
        r = pathbuf_set(&b, "/");
        if (r >= 0)
                r = pathbuf_fold(&b, path);
        if (r < 0) {
                free(b.s);
                return r;
        }
        *ret = b.s;
        return 0;
}

static bool has_component(const char *path, const char *name) {
        size_t k = strlen(name);

        for (const char *p = path; *p;) {
                size_t n;

                p += strspn(p, "/");
                n = strcspn(p, "/");
                if (n == k && strncmp(p, name, k) == 0)
                        return true;
                p += n;
        }
        return false;
}

static bool under(const char *path, const char *dir) {
        size_t n = strlen(dir);
        return strncmp(path, dir, n) == 0 && (path[n] == 0 || path[n] == '/');
}

int path_openat2(int dirfd, const char *path, const struct open_how *how) {
        int fd;

        for (unsigned i = 0;; i++) {
                fd = openat2_raw(dirfd, path, how);
                if (fd != -EAGAIN || (how->resolve & RESOLVE_CACHED) || i >= 64)
                        return fd;
        }
}

/* ---- the lexical fast path ---- */

static int resolve_lexical(const char *base, const char *path, char **ret, char **ret_walk) {
        _cleanup_free_ char *walk = NULL, *judged = NULL;
        int r;

        if (path[0] == '/')
                walk = strdup(path);
        else if (asprintf(&walk, "%s/%s", base ?: "/", path) < 0)
                walk = NULL;
        if (!walk)
                return -ENOMEM;
        /* Longer than the kernel takes in one string: only a walk in steps can do it. */
        if (strlen(walk) >= PATH_MAX)
                return -EAGAIN;
        r = path_normalize(walk, &judged);
        if (r < 0)
                return r;
        /* procfs answers for whoever reads it: resolved with the workload in mind, never lexically. */
        if (under(judged, "/proc") || has_component(walk, "self") || has_component(walk, "thread-self"))
                return -EAGAIN;
        *ret = TAKE_PTR(judged);
        if (ret_walk)
                *ret_walk = TAKE_PTR(walk);
        return 0;
}

/* ---- the kernel's own walk ---- */

int path_resolve_by_kernel(int root_fd, const char *root_path, const char *base, const char *path, char **ret) {
        struct open_how how = {
                .flags = O_PATH | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
        };
        _cleanup_free_ char *joined = NULL;
        _cleanup_close_ int fd = -EBADF;
        char proc[64], target[PATH_MAX + 1];
        ssize_t n;

        if (root_fd < 0 || !path || !ret || (base && base[0] != '/'))
                return -EINVAL;
        if (path[0] != '/' && base && !streq(base, "/") && asprintf(&joined, "%s/%s", base, path) < 0)
                return -ENOMEM;
        if (strlen(joined ?: path) >= PATH_MAX)
                return -ENAMETOOLONG;
        fd = path_openat2(root_fd, joined ?: path, &how);
        if (fd < 0)
                return fd;
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        n = readlink(proc, target, sizeof target);
        if (n < 0)
                return -errno;
        if ((size_t) n >= sizeof target)
                return -ENAMETOOLONG;
        target[n] = 0;
        /* Removed since (or a name that ends so: the resolution in steps tells them apart). */
        if (target[0] != '/' || (n > 10 && streq(target + n - 10, " (deleted)")))
                return -ESTALE;
        return path_strip_root(root_path ?: "/", target, ret);
}

/* ---- the walk in steps ---- */

typedef enum ProcPlace {
        PROC_NONE,
        PROC_ROOT,   /* a procfs root */
        PROC_PID,    /* /proc/PID or /proc/PID/task/TID */
        PROC_PID_FD, /* .../fd */
        PROC_PID_FDINFO,
        PROC_PID_NS,   /* .../ns */
        PROC_PID_MAPS, /* .../map_files */
        PROC_PID_DEEP, /* deeper in a process directory */
        PROC_OTHER,    /* anywhere else in procfs */
} ProcPlace;

typedef struct Walker {
        int root_fd;
        const PathResolveTask *task;
        PathBuf cur; /* the directory reached, inside the root */
        int cur_fd;
        char *proc_root; /* cur.s of the last procfs root entered */
        unsigned n_links;
        unsigned result;
        PathResolveProc creds; /* what task->proc_creds was last asked for */
        bool no_xdev;
        uint64_t mnt_id; /* PATH_RESOLVE_NO_XDEV: the mount the walk started on */
} Walker;

static bool all_digits(const char *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

/* Where in procfs the directory cur is, and for process directories whose. */
static ProcPlace proc_place(const Walker *w, pid_t *ret_pid) {
        const char *p, *c;
        size_t n;
        pid_t pid;

        if (!w->proc_root || !under(w->cur.s, w->proc_root))
                return PROC_NONE;
        p = w->cur.s + (streq(w->proc_root, "/") ? 0 : strlen(w->proc_root));
        if (!*p || streq(p, "/"))
                return PROC_ROOT;
        c = p + 1;
        n = strcspn(c, "/");
        if (!all_digits(c, n))
                return PROC_OTHER;
        pid = (pid_t) strtol(c, NULL, 10);
        c += n;
        if (strncmp(c, "/task/", 6) == 0) {
                n = strcspn(c + 6, "/");
                if (!all_digits(c + 6, n))
                        return PROC_OTHER;
                c += 6 + n;
        }
        *ret_pid = pid;
        if (!*c)
                return PROC_PID;
        if (streq(c, "/fd"))
                return PROC_PID_FD;
        if (streq(c, "/fdinfo"))
                return PROC_PID_FDINFO;
        if (streq(c, "/ns"))
                return PROC_PID_NS;
        if (streq(c, "/map_files"))
                return PROC_PID_MAPS;
        return PROC_PID_DEEP;
}

static bool in_pid_dir(ProcPlace p) {
        return p >= PROC_PID && p <= PROC_PID_DEEP;
}

static bool own_pid(const Walker *w, pid_t pid) {
        return w->task && w->task->pid > 0 && (pid == w->task->pid || pid == w->task->tid);
}

static void walker_creds(Walker *w, PathResolveProc mode) {
        if (!w->task || !w->task->proc_creds || w->creds == mode)
                return;
        w->task->proc_creds(w->task->userdata, mode);
        w->creds = mode;
}

/* The credentials a lookup of an entry in cur needs (see PathResolveProc). */
static PathResolveProc lookup_creds(const Walker *w) {
        pid_t pid = 0;

        switch (proc_place(w, &pid)) {
        case PROC_PID_FD:
        case PROC_PID_FDINFO:
                return own_pid(w, pid) ? PATH_RESOLVE_PROC_OWN : PATH_RESOLVE_PROC_NORMAL;
        default:
                return PATH_RESOLVE_PROC_NORMAL;
        }
}

/* Entered a new directory: is it a procfs root? */
static int walker_check_proc_root(Walker *w, const struct stat *st) {
        struct statfs sf;

        if (st->st_ino != PROC_ROOT_INO || fstatfs(w->cur_fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
                return 0;
        free(w->proc_root);
        w->proc_root = strdup(w->cur.s);
        return w->proc_root ? 0 : -ENOMEM;
}

static void walker_set_fd(Walker *w, int fd) {
        safe_close(w->cur_fd);
        w->cur_fd = fd;
}

static int mount_id(int fd, uint64_t *ret) {
        struct statx stx;

        if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0)
                return -errno;
        if (!(stx.stx_mask & STATX_MNT_ID))
                return -EOPNOTSUPP;
        *ret = stx.stx_mnt_id;
        return 0;
}

/* PATH_RESOLVE_NO_XDEV: is fd on the mount the walk started on? */
static bool walker_same_mount(const Walker *w, int fd) {
        uint64_t id = 0;

        return !w->no_xdev || fd < 0 || (mount_id(fd, &id) >= 0 && id == w->mnt_id);
}

/* Looks name up in cur (exec permission on cur, as every step of the kernel's walk). Returns an O_PATH fd of
 * it (not followed) and its stat, or a negative errno. A directory is expected on the way: found, one
 * syscall (its stat then only says that it is one, unless it could be procfs' root, named "proc" where
 * the workload's procfs is mounted); else, or anything else, it is looked at. */
static int lookup(Walker *w, const char *name, bool dir_expected, struct stat *ret_st) {
        int fd;

        walker_creds(w, lookup_creds(w));
        if (dir_expected && !w->no_xdev && !streq(name, "proc")) {
                fd = openat(w->cur_fd, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
                if (fd >= 0) {
                        *ret_st = (struct stat){ .st_mode = S_IFDIR };
                        return fd;
                }
                if (errno != ENOTDIR)
                        return -errno;
        }
        fd = openat(w->cur_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, ret_st) < 0) {
                int r = -errno;
                safe_close(fd);
                return r;
        }
        return fd;
}

/* The text of the symlink open as fd (name in cur), for the workload: magic links are read with the
 * rights the workload would have (see PathResolveProc). */
static ssize_t read_link(Walker *w, int fd, bool foreign, char *buf, size_t size) {
        ssize_t k;

        walker_creds(w, foreign ? PATH_RESOLVE_PROC_FOREIGN : lookup_creds(w));
        k = readlinkat(fd, "", buf, size);
        return k < 0 ? -errno : k;
}

int path_resolve_in_root(int root_fd, const PathResolveTask *task, const char *base, const char *path,
                         unsigned flags, char **ret, char **ret_walk, unsigned *ret_flags) {
        _cleanup_free_ char *todo = NULL;
        Walker w = { .root_fd = root_fd, .task = task, .cur_fd = -EBADF };
        PathBuf walk = {};
        int fail = 0; /* errno the kernel's own lookup would stop with */
        bool on_last =
                false; /* following the last component (a symlink), or looking up its trailing slash */
        size_t pos = 0;
        int r;

        if (root_fd < 0 || !path || !ret)
                return -EINVAL;
        if (base && base[0] != '/')
                return -EINVAL;
        if (strnlen(path, PATH_MAX) >= PATH_MAX)
                return ENAMETOOLONG;

        if (flags & PATH_RESOLVE_LEXICAL) {
                r = resolve_lexical(base, path, ret, ret_walk);
                if (r >= 0 && ret_flags)
                        *ret_flags = PATH_RESOLVE_RESULT_LEXICAL;
                return r;
        }

        todo = strdup(path);
        if (!todo)
                return -ENOMEM;
        r = pathbuf_set(&w.cur, "/");
        if (r >= 0 && path[0] != '/' && base)
                r = pathbuf_fold(&w.cur, base);
        if (r < 0)
                goto finish;
        if (streq(w.cur.s, "/"))
                w.cur_fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
        else {
                /* Where the workload's walk starts: its cwd or dirfd, which it holds whatever the
                 * directories above it allow. */
                struct open_how how = {
                        .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
                };
                walker_creds(&w, PATH_RESOLVE_PROC_OWN);
                w.cur_fd = path_openat2(root_fd, w.cur.s, &how);
                walker_creds(&w, PATH_RESOLVE_PROC_NORMAL);
                if (w.cur_fd < 0)
                        errno = -w.cur_fd;
        }
        if (w.cur_fd < 0)
                fail = errno;
        else {
                struct stat st;
                /* The root is no procfs: its fstat is saved. */
                if (!streq(w.cur.s, "/") && fstat(w.cur_fd, &st) == 0) {
                        r = walker_check_proc_root(&w, &st);
                        if (r < 0)
                                goto finish;
                }
                if (flags & PATH_RESOLVE_NO_XDEV) {
                        w.no_xdev = true;
                        if (mount_id(w.cur_fd, &w.mnt_id) < 0)
                                w.no_xdev = false;
                }
        }

        for (;;) {
                const char *c;
                size_t n, after;
                bool last, trailing;
                char name[NAME_MAX + 1], target[PATH_MAX + 1];
                ssize_t k = -1;
                struct stat st;
                int fd;
                pid_t pid = 0;
                ProcPlace place;

                pos += strspn(todo + pos, "/");
                if (!todo[pos]) {
                        /* Nothing (left) to walk: "/", "", or a symlink to "/". The walk ends at cur. */
                        r = pathbuf_set(&walk, w.cur.s);
                        if (r < 0)
                                goto finish;
                        if (!fail)
                                w.result |= PATH_RESOLVE_RESULT_EXISTS;
                        break;
                }
                c = todo + pos;
                n = strcspn(c, "/");
                pos += n;
                after = pos + strspn(todo + pos, "/");
                last = todo[after] == 0;
                trailing = last && after > pos;

                if (fail) {
                        /* The kernel stopped before: the rest is only for the policy to see. */
                        r = pathbuf_set(&walk, w.cur.s);
                        if (r >= 0)
                                r = pathbuf_fold(&walk, c);
                        if (r < 0)
                                goto finish;
                        break;
                }

                if (!last && !w.no_xdev && proc_place(&w, &pid) == PROC_NONE) {
                        /* A run of directories up to the last component, without ".", ".." or "proc": one
                         * openat2() that refuses symlinks walks it when none is there (the common case;
                         * component by component, as below, otherwise). */
                        size_t len = strlen(c), ls;
                        char run[PATH_MAX];

                        while (len > 1 && c[len - 1] == '/')
                                len--;
                        ls = len;
                        while (ls > 0 && c[ls - 1] != '/')
                                ls--;
                        if (ls > 1 && ls < sizeof run) {
                                memcpy(run, c, ls - 1);
                                run[ls - 1] = 0;
                                if (!has_component(run, ".") && !has_component(run, "..") &&
                                    !has_component(run, "proc")) {
                                        struct open_how how = {
                                                .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                                                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
                                                           RESOLVE_NO_MAGICLINKS,
                                        };

                                        walker_creds(&w, PATH_RESOLVE_PROC_NORMAL);
                                        fd = path_openat2(w.cur_fd, run, &how);
                                        if (fd >= 0) {
                                                walker_set_fd(&w, fd);
                                                r = pathbuf_fold(&w.cur, run);
                                                if (r < 0)
                                                        goto finish;
                                                pos = (size_t) (c - todo) + ls;
                                                continue;
                                        }
                                }
                        }
                }

                if (last) {
                        /* The last component is the call's: the walk is the resolved parent and the
                         * last component as given (unless it is a symlink the call follows). */
                        r = pathbuf_set(&walk, w.cur.s);
                        if (r >= 0) {
                                size_t tail = strlen(c);
                                r = pathbuf_reserve(&walk, walk.len + 1 + tail + 1);
                                if (r >= 0) {
                                        if (walk.len > 1)
                                                walk.s[walk.len++] = '/';
                                        memcpy(walk.s + walk.len, c, tail + 1);
                                        walk.len += tail;
                                }
                        }
                        if (r < 0)
                                goto finish;
                }

                if (n == 1 && c[0] == '.') {
                        if (last)
                                break;
                        /* Still a lookup: search permission on cur. */
                        fd = openat(w.cur_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
                        if (fd < 0) {
                                fail = errno;
                                pos -= n;
                        } else
                                walker_set_fd(&w, fd);
                        continue;
                }
                if (n == 2 && c[0] == '.' && c[1] == '.') {
                        if (last)
                                break;
                        /* At the root ".." stays there (the workload's root is its "/"). */
                        fd = openat(w.cur_fd, streq(w.cur.s, "/") ? "." : "..",
                                    O_PATH | O_DIRECTORY | O_CLOEXEC);
                        if (fd < 0) {
                                fail = errno;
                                pos -= n;
                        } else {
                                walker_set_fd(&w, fd);
                                pathbuf_pop(&w.cur);
                                if (!walker_same_mount(&w, fd)) {
                                        fail = EXDEV;
                                        pos += strspn(todo + pos, "/"); /* ".." itself was walked */
                                }
                        }
                        continue;
                }
                if (n > NAME_MAX) {
                        if (last)
                                break; /* the call's own lookup says ENAMETOOLONG */
                        fail = ENAMETOOLONG;
                        pos -= n; /* appended lexically above */
                        continue;
                }
                memcpy(name, c, n);
                name[n] = 0;

                place = proc_place(&w, &pid);
                if (place == PROC_ROOT && (streq(name, "self") || streq(name, "thread-self"))) {
                        /* procfs answers for the reader, and may not know us at all in the workload's pid
                         * namespace: answer for the workload. */
                        if (last && !trailing && (flags & PATH_RESOLVE_NOFOLLOW)) {
                                w.result |= PATH_RESOLVE_RESULT_PROC_SELF | PATH_RESOLVE_RESULT_EXISTS;
                                break;
                        }
                        if (!task || task->pid <= 0) {
                                fail = ENOENT;
                                if (last)
                                        break;
                                pos -= n;
                                continue;
                        }
                        if (streq(name, "self"))
                                k = snprintf(target, sizeof target, "%d", task->pid);
                        else
                                k = snprintf(target, sizeof target, "%d/task/%d", task->pid, task->tid);
                        goto splice;
                }

                if (last) {
                        /* The call's own lookup of its last component needs what this one needs. */
                        if (lookup_creds(&w) == PATH_RESOLVE_PROC_OWN)
                                w.result |= PATH_RESOLVE_RESULT_PROC_OWN_FD;
                        if (in_pid_dir(place))
                                w.result |= own_pid(&w, pid) ? PATH_RESOLVE_RESULT_PROC_OWN
                                                             : PATH_RESOLVE_RESULT_PROC_FOREIGN;
                }
                if (last && !trailing && (flags & PATH_RESOLVE_NOFOLLOW) && !w.no_xdev)
                        break; /* not followed, not looked up: the call itself does that */

                if ((place == PROC_NONE || place == PROC_ROOT || place == PROC_OTHER) && !w.no_xdev &&
                    !streq(name, "proc")) {
                        /* Outside process directories a symlink is an ordinary one: one syscall says what
                         * a component is, openat(O_DIRECTORY) where a directory is expected, else
                         * readlinkat(), which says EINVAL for what is no symlink. */
                        int e;

                        walker_creds(&w, PATH_RESOLVE_PROC_NORMAL);
                        if (!last || trailing) {
                                fd = openat(w.cur_fd, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
                                if (fd >= 0) {
                                        walker_set_fd(&w, fd);
                                        r = pathbuf_push(&w.cur, name, n);
                                        if (r < 0)
                                                goto finish;
                                        if (last) {
                                                w.result |= PATH_RESOLVE_RESULT_EXISTS;
                                                break;
                                        }
                                        continue;
                                }
                                e = errno;
                        } else
                                e = ENOTDIR;
                        if (e == ENOTDIR) {
                                k = readlinkat(w.cur_fd, name, target, sizeof target);
                                if (k >= 0)
                                        goto splice;
                                e = errno;
                                if (e == EINVAL) { /* there, and no symlink */
                                        if (last && !trailing) {
                                                w.result |= PATH_RESOLVE_RESULT_EXISTS;
                                                break;
                                        }
                                        e = ENOTDIR;
                                }
                        }
                        /* Missing or not to be searched: as for lookup() below. */
                        if (last && !trailing)
                                break;
                        if (last)
                                on_last = true;
                        fail = e;
                        if (last)
                                break;
                        pos -= n;
                        continue;
                }

                fd = lookup(&w, name, !last || trailing, &st);
                if (fd < 0) {
                        /* What the last component is (missing: what O_CREAT and mkdir are for) is the
                         * call's to find out: its own lookup of it gives the kernel's answer. With a
                         * trailing slash it must be a directory that is there. */
                        if (last && trailing) {
                                on_last = true;
                                fail = -fd;
                        }
                        if (last)
                                break;
                        fail = -fd;
                        pos -= n;
                        continue;
                }

                if (S_ISLNK(st.st_mode) && last && !trailing && (flags & PATH_RESOLVE_NOFOLLOW)) {
                        safe_close(fd); /* looked up only for PATH_RESOLVE_NO_XDEV: not followed */
                        break;
                }
                if (!S_ISLNK(st.st_mode) && !walker_same_mount(&w, fd)) {
                        safe_close(fd);
                        if (last)
                                on_last = true;
                        fail = EXDEV;
                        if (last)
                                break;
                        pos -= n;
                        continue;
                }
                if (!S_ISLNK(st.st_mode)) {
                        if (last) {
                                safe_close(fd);
                                if (trailing && !S_ISDIR(st.st_mode)) {
                                        on_last = true;
                                        fail = ENOTDIR;
                                } else
                                        w.result |= PATH_RESOLVE_RESULT_EXISTS;
                                break;
                        }
                        if (!S_ISDIR(st.st_mode)) {
                                safe_close(fd);
                                fail = ENOTDIR;
                                pos -= n;
                                continue;
                        }
                        walker_set_fd(&w, fd);
                        r = pathbuf_push(&w.cur, name, n);
                        if (r < 0)
                                goto finish;
                        if ((streq(name, "fd") || streq(name, "fdinfo")) && place == PROC_PID &&
                            own_pid(&w, pid))
                                w.result |= PATH_RESOLVE_RESULT_PROC_OWN_FD;
                        r = walker_check_proc_root(&w, &st);
                        if (r < 0)
                                goto finish;
                        continue;
                }

                /* A symlink, followed. */
                if ((place == PROC_PID &&
                     (streq(name, "exe") || streq(name, "cwd") || streq(name, "root"))) ||
                    place == PROC_PID_FD || place == PROC_PID_NS || place == PROC_PID_MAPS) {
                        /* A magic link: its text is what the reader sees. */
                        _cleanup_free_ char *inside = NULL;

                        w.result |= PATH_RESOLVE_RESULT_MAGICLINK;
                        k = read_link(&w, fd, !own_pid(&w, pid), target, sizeof target);
                        safe_close(fd);
                        if (k < 0 || (size_t) k >= sizeof target) {
                                fail = k < 0 ? (int) -k : ENAMETOOLONG;
                                if (last)
                                        break;
                                pos -= n;
                                continue;
                        }
                        target[k] = 0;
                        if (place == PROC_PID_FD && last && !trailing) {
                                /* Reopened by the caller from the workload's own fd table. */
                                w.result |= PATH_RESOLVE_RESULT_MAGIC;
                                break;
                        }
                        if (target[0] != '/' || (k > 10 && streq(target + k - 10, " (deleted)"))) {
                                /* pipe:[..], net:[..], a removed file: nothing to walk into. */
                                if (last && !trailing && place == PROC_PID_NS) {
                                        w.result |=
                                                PATH_RESOLVE_RESULT_MAGIC_LAST | PATH_RESOLVE_RESULT_EXISTS;
                                        break;
                                }
                                fail = target[0] == '/' ? ENOENT : ENOTDIR;
                                if (last)
                                        break;
                                pos -= n;
                                continue;
                        }
                        if (path_strip_root(task && task->root_path ? task->root_path : "/", target,
                                            &inside) < 0) {
                                /* Outside the workload's root: not its to reach. */
                                fail = EACCES;
                                if (last)
                                        break;
                                pos -= n;
                                continue;
                        }
                        k = snprintf(target, sizeof target, "%s", inside);
                } else {
                        k = read_link(&w, fd, false, target, sizeof target);
                        safe_close(fd);
                        if (k < 0) {
                                fail = (int) -k;
                                if (last)
                                        break;
                                pos -= n;
                                continue;
                        }
                }

        splice:
                if (k < 0 || (size_t) k >= sizeof target) {
                        fail = ENAMETOOLONG;
                        if (last)
                                break;
                        pos -= n;
                        continue;
                }
                target[k] = 0;
                w.result |= PATH_RESOLVE_RESULT_SYMLINK;
                if (last)
                        on_last = true;
                if (++w.n_links > PATH_RESOLVE_MAX_SYMLINKS) {
                        fail = ELOOP;
                        if (last)
                                break;
                        pos -= n;
                        continue;
                }
                if (k == 0) { /* an empty symlink target resolves to ENOENT */
                        fail = ENOENT;
                        if (last)
                                break;
                        pos -= n;
                        continue;
                }
                /* Splice the target in front of what is left to walk. */
                {
                        char *t;

                        if (asprintf(&t, "%s%s", target, todo + pos) < 0) {
                                r = -ENOMEM;
                                goto finish;
                        }
                        free(todo);
                        todo = t;
                        pos = 0;
                }
                if (target[0] == '/') {
                        r = pathbuf_set(&w.cur, "/");
                        if (r < 0)
                                goto finish;
                        walker_set_fd(&w, fcntl(root_fd, F_DUPFD_CLOEXEC, 3));
                        if (w.cur_fd < 0)
                                fail = errno;
                        else if (!walker_same_mount(&w, w.cur_fd))
                                fail = EXDEV;
                }
        }

        if (ret_walk) {
                *ret_walk = strdup(walk.s);
                if (!*ret_walk) {
                        r = -ENOMEM;
                        goto finish;
                }
        }
        r = path_normalize(walk.s, ret);
        if (r < 0) {
                if (ret_walk)
                        *ret_walk = (free(*ret_walk), NULL);
                goto finish;
        }
        if (fail && on_last)
                w.result |= PATH_RESOLVE_RESULT_LAST_FAILED;
        if (ret_flags)
                *ret_flags = w.result;
        r = fail;

finish:
        walker_creds(&w, PATH_RESOLVE_PROC_NORMAL);
        safe_close(w.cur_fd);
        free(w.cur.s);
        free(w.proc_root);
        free(walk.s);
        return r;
}

int path_parse_proc_fd(const char *path, pid_t *ret_pid, int *ret_fd) {
        int pid, tid, fd, n = 0;

        if (sscanf(path, "/proc/%d/fd/%d%n", &pid, &fd, &n) == 2 && path[n] == 0)
                ;
        else if (sscanf(path, "/proc/%d/task/%d/fd/%d%n", &pid, &tid, &fd, &n) == 3 && path[n] == 0)
                ;
        else
                return -EINVAL;
        if (pid <= 0 || fd < 0)
                return -EINVAL;
        *ret_pid = pid;
        *ret_fd = fd;
        return 0;
}

int path_strip_root(const char *root, const char *path, char **ret) {
        size_t n;
        char *s;

        if (!root || !path || root[0] != '/' || path[0] != '/')
                return -EINVAL;
        n = strlen(root);
        while (n > 1 && root[n - 1] == '/')
                n--;
        if (n == 1)
                s = strdup(path);
        else if (strncmp(root, path, n) == 0 && path[n] == 0)
                s = strdup("/");
        else if (strncmp(root, path, n) == 0 && path[n] == '/')
                s = strdup(path + n);
        else
                return -EXDEV;
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

const char *path_last_component(const char *path) {
        const char *slash = strrchr(path, '/');
        return slash ? slash + 1 : path;
}

int path_parent(const char *path, char **ret) {
        const char *slash = strrchr(path, '/');
        char *s;

        if (!slash)
                return -EINVAL;
        s = slash == path ? strdup("/") : strndup(path, slash - path);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}
