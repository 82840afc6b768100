/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forgeone/path-resolve.h"
#include "forgeone/seccomp-notify.h"

/* A growable absolute path made of components, each preceded by '/'. */
typedef struct PathBuf {
        char *s;
        size_t len, size;
} PathBuf;

static int pathbuf_set(PathBuf *b, const char *s) {
        size_t n = strlen(s);

        if (n + 1 > b->size) {
                char *t = realloc(b->s, n + 64);
                if (!t)
                        return -ENOMEM;
                b->s = t;
                b->size = n + 64;
        }
        memcpy(b->s, s, n + 1);
        b->len = n;
        return 0;
}

static int pathbuf_push(PathBuf *b, const char *c, size_t n) {
        size_t need = b->len + 1 + n + 1;

        if (need > b->size) {
                size_t sz = MAX(need, b->size * 2);
                char *t = realloc(b->s, sz);
                if (!t)
                        return -ENOMEM;
                b->s = t;
                b->size = sz;
        }
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

/* Normalise a base path: it must be absolute; ".", ".." and "//" are folded lexically (it came
 * from the kernel's own d_path, so it has no symlinks). */
static int pathbuf_set_base(PathBuf *b, const char *base) {
        int r;

        r = pathbuf_set(b, "/");
        if (r < 0)
                return r;
        if (!base)
                return 0;
        if (base[0] != '/')
                return -EINVAL;
        for (const char *p = base; *p;) {
                size_t n;

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

static int open_in_root(int root_fd, const char *path) {
        struct open_how how = {
                .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };

        return openat2_raw(root_fd, path, &how);
}

static bool all_digits(const char *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

/* cur is ".../<digits>" or ".../<digits>/task/<digits>" (a process directory of procfs)? */
static bool is_proc_task_dir(const char *cur) {
        const char *last = strrchr(cur, '/');
        const char *prev;

        if (!last || !all_digits(last + 1, strlen(last + 1)))
                return false;
        /* ".../<pid>/task/<tid>" also counts. */
        if (last - cur >= 5 && strncmp(last - 5, "/task", 5) == 0) {
                prev = last - 5;
                while (prev > cur && prev[-1] != '/')
                        prev--;
                return prev > cur && all_digits(prev, (size_t) (last - 5 - prev));
        }
        return true;
}

static bool is_proc_fd_dir(const char *cur) {
        size_t n = strlen(cur);
        _cleanup_free_ char *parent = NULL;

        if (n < 3 || strcmp(cur + n - 3, "/fd") != 0)
                return false;
        parent = strndup(cur, n - 3);
        return parent && is_proc_task_dir(parent);
}

static bool fd_on_procfs(int fd) {
        struct statfs sf;
        return fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
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

int path_resolve_in_root(int root_fd, const PathResolveTask *task, const char *base, const char *path,
                         unsigned flags, char **ret, unsigned *ret_flags) {
        unsigned result_flags = 0;
        _cleanup_free_ char *todo = NULL;
        _cleanup_close_ int cur_fd = -EBADF;
        PathBuf cur = {};
        unsigned n_links = 0;
        int fail = 0; /* errno the kernel's own lookup would stop with */
        size_t pos = 0;
        int r;

        if (root_fd < 0 || !path || !ret)
                return -EINVAL;
        if (strnlen(path, PATH_MAX) >= PATH_MAX)
                return -ENAMETOOLONG;

        /* Fast path, the common case: no symlink anywhere. Then the kernel's walk is the lexical one,
         * and a single openat2() that refuses symlinks, on the path as given (".." included: a symlink
         * before it would change where it leads), proves it. */
        if (!(flags & PATH_RESOLVE_NOFOLLOW) && path[0] && path[strlen(path) - 1] != '/' &&
            (path[0] == '/' || !base || base[0] == '/')) {
                _cleanup_free_ char *joined = NULL;
                struct open_how how = {
                        .flags = O_PATH | O_CLOEXEC,
                        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
                };
                int fd;

                if (path[0] != '/' && asprintf(&joined, "%s/%s", base ?: "/", path) < 0)
                        return -ENOMEM;
                fd = openat2_raw(root_fd, joined ?: path, &how);
                if (fd >= 0) {
                        safe_close(fd);
                        r = pathbuf_set_base(&cur, joined ?: path);
                        if (r < 0)
                                goto fail;
                        *ret = cur.s;
                        if (ret_flags)
                                *ret_flags = PATH_RESOLVE_RESULT_EXISTS;
                        return 0;
                }
        }

        todo = strdup(path);
        if (!todo)
                return -ENOMEM;

        r = pathbuf_set_base(&cur, path[0] == '/' ? "/" : base);
        if (r < 0)
                goto fail;
        /* The root itself needs no lookup. */
        cur_fd = streq(cur.s, "/") ? fcntl(root_fd, F_DUPFD_CLOEXEC, 3) : open_in_root(root_fd, cur.s);
        if (cur_fd < 0)
                fail = cur_fd == -1 ? errno : -cur_fd;

        for (;;) {
                const char *c;
                size_t n, after;
                bool last, trailing_slash;
                char target[PATH_MAX + 1];
                ssize_t k;

                pos += strspn(todo + pos, "/");
                if (!todo[pos])
                        break;
                c = todo + pos;
                n = strcspn(c, "/");
                pos += n;
                after = pos + strspn(todo + pos, "/");
                last = todo[after] == 0;
                trailing_slash = last && after > pos;

                if (n == 1 && c[0] == '.')
                        continue;
                if (n == 2 && c[0] == '.' && c[1] == '.') {
                        pathbuf_pop(&cur);
                        if (!fail) {
                                /* Reopen from the root rather than openat(".."): the path string is
                                 * what is checked, so the fd follows the string. */
                                safe_close(cur_fd);
                                cur_fd = open_in_root(root_fd, cur.s);
                                if (cur_fd < 0)
                                        fail = -cur_fd;
                        }
                        continue;
                }
                if (n > NAME_MAX) {
                        r = -ENAMETOOLONG;
                        goto fail;
                }

                char name[NAME_MAX + 1];
                memcpy(name, c, n);
                name[n] = 0;

                if (fail || (last && !trailing_slash && (flags & PATH_RESOLVE_NOFOLLOW))) {
                        r = pathbuf_push(&cur, name, n);
                        if (r < 0)
                                goto fail;
                        continue;
                }

                if ((streq(name, "self") || streq(name, "thread-self")) && fd_on_procfs(cur_fd)) {
                        /* procfs answers for the reader, and may not know us at all in the workload's
                         * pid namespace: answer for the workload. */
                        if (!task || task->pid <= 0)
                                k = -1, errno = ENOENT;
                        else if (streq(name, "self"))
                                k = snprintf(target, sizeof target, "%d", task->pid);
                        else
                                k = snprintf(target, sizeof target, "%d/task/%d", task->pid, task->tid);
                } else
                        k = readlinkat(cur_fd, name, target, sizeof target);
                if (k >= 0 && (size_t) k < sizeof target && !streq(name, "self") && !streq(name, "thread-self") &&
                    (is_proc_fd_dir(cur.s) ||
                     (is_proc_task_dir(cur.s) && (streq(name, "cwd") || streq(name, "root") || streq(name, "exe")))) &&
                    fd_on_procfs(cur_fd)) {
                        /* Magic links: their text is what the reader sees. */
                        _cleanup_free_ char *inside = NULL;

                        target[k] = 0;
                        if (is_proc_fd_dir(cur.s) && last && !trailing_slash) {
                                /* Reopened by the caller from the workload's own fd table. */
                                r = pathbuf_push(&cur, name, n);
                                if (r < 0)
                                        goto fail;
                                result_flags |= PATH_RESOLVE_RESULT_MAGIC;
                                continue;
                        }
                        if (target[0] != '/' ||
                            path_strip_root(task && task->root_path ? task->root_path : "/", target, &inside) < 0) {
                                /* pipe:[..], socket:[..], or outside the root: nothing to walk into. */
                                r = pathbuf_push(&cur, name, n);
                                if (r < 0)
                                        goto fail;
                                fail = target[0] == '/' ? EACCES : ENOTDIR;
                                continue;
                        }
                        k = snprintf(target, sizeof target, "%s", inside);
                }
                if (k >= 0) {
                        char *t;

                        if ((size_t) k >= sizeof target) {
                                r = -ENAMETOOLONG;
                                goto fail;
                        }
                        result_flags |= PATH_RESOLVE_RESULT_SYMLINK;
                        if (++n_links > PATH_RESOLVE_MAX_SYMLINKS) {
                                r = -ELOOP;
                                goto fail;
                        }
                        target[k] = 0;
                        if (k == 0) { /* an empty symlink target resolves to ENOENT */
                                fail = ENOENT;
                                r = pathbuf_push(&cur, name, n);
                                if (r < 0)
                                        goto fail;
                                continue;
                        }
                        /* Splice the target in front of what is left to resolve. */
                        if (asprintf(&t, "%s%s", target, todo + pos) < 0) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        free(todo);
                        todo = t;
                        pos = 0;
                        if (target[0] == '/') {
                                r = pathbuf_set(&cur, "/");
                                if (r < 0)
                                        goto fail;
                                safe_close(cur_fd);
                                cur_fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
                                if (cur_fd < 0)
                                        fail = errno;
                        }
                        continue;
                }

                r = pathbuf_push(&cur, name, n);
                if (r < 0)
                        goto fail;
                if (errno != EINVAL) {
                        /* A missing last component is what O_CREAT, mkdir, ... are for; anything
                         * else stops the kernel's lookup too. */
                        if (!last || trailing_slash || errno != ENOENT)
                                fail = errno;
                        continue;
                }
                if (last)
                        result_flags |= PATH_RESOLVE_RESULT_EXISTS;
                if (!last || trailing_slash) {
                        int fd = openat(cur_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        safe_close(cur_fd);
                        cur_fd = fd < 0 ? -EBADF : fd;
                        if (fd < 0)
                                fail = errno;
                }
        }

        *ret = cur.s;
        if (ret_flags)
                *ret_flags = result_flags;
        return fail;
fail:
        free(cur.s);
        return r;
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
