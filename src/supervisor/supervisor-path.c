/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The path a trapped call names, as the workload's own walk would find it.
 *
 * The fast path makes no syscall: the path is joined to the workload's cwd
 * or dirfd and judged in its lexical normal form, and the emulation then
 * walks it as given with RESOLVE_NO_SYMLINKS under the workload's
 * credentials (supervisor-emulate.c), which proves that the walk crossed no
 * symlink, i.e. that what was judged is what is reached, and leaves every
 * permission check and lookup error to the kernel. When that walk meets a
 * symlink (ELOOP), the emulation hands the call back (Call.again), it is
 * decoded again here with lookups made under the workload's credentials
 * (path-resolve.h) and decided again on the path the walk really reaches.
 *
 * Lookups up front are made where the decision needs them: an O_CREAT open
 * without O_EXCL asks the policy for what it really does, which depends on
 * whether the file is there (one O_PATH probe of the walk), and the source
 * of a link is taken as an object by its path (supervisor-emulate.c).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "forgeone/path-resolve.h"
#include "supervisor-internal.h"

/* Lookups in procfs that the kernel allows by who asks rather than by ids (path-resolve.h). */
static void proc_creds(void *userdata, PathResolveProc mode) {
        const Call *c = userdata;
        CredsSaved saved;

        switch (mode) {
        case PATH_RESOLVE_PROC_OWN:
                /* The thread group's own fd directories: open to it whatever its ids. */
                creds_restore();
                break;
        case PATH_RESOLVE_PROC_FOREIGN:
                (void) creds_enter(c->creds, CREDS_EXACT_CAPS, &saved);
                break;
        case PATH_RESOLVE_PROC_NORMAL:
        default:
                (void) creds_enter(c->creds, 0, &saved);
                break;
        }
}

/* Does deciding this path need to know what is there? */
static bool needs_lookup(const Call *c, bool second) {
        if (c->resolve_full)
                return true;
        /* Only an emulation walks the path itself and so proves the lexical path right: a call the kernel
         * carries out (execve, chdir, an O_PATH open, ...) is judged by where its path really leads. */
        if (!c->cls || !c->cls->emulable || (c->cls->is_open && (c->open_flags & O_PATH)))
                return true;
        /* openat2's RESOLVE_NO_XDEV is about the mounts from where the workload's walk starts, not from its
         * root, where the emulation's walk starts: the resolution finds out. */
        if (!second && (c->open_resolve & RESOLVE_NO_XDEV))
                return true;
        /* The source of a link is an object reached by its path (object_fd()), not walked here. */
        if (!second && c->name && (streq(c->name, "link") || streq(c->name, "linkat")))
                return true;
        return false;
}

/* Where symlinks were met lately ("/lib", "/bin" on a merged /usr, a library's .so link): a lexical walk
 * under one of these would only meet it and be decided again, so such a path is resolved right away.
 * Only a hint for the choice of the way: either way decides on where the walk really leads. Per
 * thread (the dispatching one), least recently used out. */
#define HINTS 64
#define HINT_MAX 128

typedef struct Hint {
        char prefix[HINT_MAX];
        uint64_t used;
} Hint;

static __thread Hint hints[HINTS];
static __thread uint64_t hints_clock;

static bool under_prefix(const char *path, const char *prefix) {
        size_t n = strlen(prefix);
        return n > 0 && strncmp(path, prefix, n) == 0 && (path[n] == 0 || path[n] == '/');
}

static Hint *hint_find(const char *path) {
        for (size_t i = 0; i < HINTS; i++)
                if (under_prefix(path, hints[i].prefix)) {
                        hints[i].used = ++hints_clock;
                        return &hints[i];
                }
        return NULL;
}

/* lexical: the path in its lexical form; resolved: where it led, across a symlink. Remembers the lexical
 * path up to the first component where they part when the rest of it is where it led too (a directory
 * symlink there: "/lib/x/libc.so.6" led to "/usr/lib/x/libc.so.6"), else the whole path (a symlink
 * further on, which that first difference does not locate: "/usr/share/locale/locale.alias" led to
 * "/etc/locale.alias", and "/usr" is no hint). */
static void hint_add(const char *lexical, const char *resolved) {
        size_t i = 0, end, rest, len = strlen(resolved);
        Hint *victim = &hints[0];

        while (lexical[i] && lexical[i] == resolved[i])
                i++;
        if (!lexical[i] && (!resolved[i] || resolved[i] == '/'))
                return; /* the same path: a symlink that led back, nothing to learn */
        while (i > 0 && lexical[i - 1] != '/')
                i--;
        end = i + strcspn(lexical + i, "/");
        rest = strlen(lexical + end);
        if (rest > 0 && (rest > len || !streq(resolved + len - rest, lexical + end)))
                end += rest;
        if (end >= HINT_MAX || end <= 1)
                return;
        for (size_t k = 0; k < HINTS; k++) {
                if (strlen(hints[k].prefix) == end && strncmp(hints[k].prefix, lexical, end) == 0) {
                        hints[k].used = ++hints_clock; /* known already */
                        return;
                }
                if (!hints[k].prefix[0] && victim->prefix[0])
                        victim = &hints[k];
                else if (hints[k].prefix[0] && victim->prefix[0] && hints[k].used < victim->used)
                        victim = &hints[k];
        }
        memcpy(victim->prefix, lexical, end);
        victim->prefix[end] = 0;
        victim->used = ++hints_clock;
}

/* May the kernel's own walk resolve this path (path_resolve_by_kernel())? Where the emulation opens what
 * was judged, with RESOLVE_NO_SYMLINKS, and the call follows its last component: not an entry to create
 * or remove, not the source of a link (taken as an object), not a call the kernel carries out itself, not
 * an openat2 whose own resolve flags depend on how the walk went. */
static bool kernel_resolvable(const Call *c, bool second, unsigned flags) {
        return c->creds && c->cls && c->cls->emulable && c->name &&
               !(flags & (PATH_RESOLVE_NOFOLLOW | PATH_RESOLVE_NO_XDEV)) && !call_path_is_entry(c->name, second) &&
               !(c->cls->is_open && (c->open_flags & O_PATH)) &&
               !(c->open_resolve & (RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH | RESOLVE_IN_ROOT)) &&
               !streq(c->name, "link") && !streq(c->name, "linkat");
}

/* Only an O_CREAT open without O_EXCL does something else when the file is there; with a trailing slash
 * it fails anyway (EISDIR). */
static bool needs_probe(const Call *c, bool second, const char *path) {
        size_t n = strlen(path);

        return !second && c->cls && c->cls->is_open && (c->open_flags & (O_CREAT | O_EXCL)) == O_CREAT &&
               (c->open_flags & __O_TMPFILE) != __O_TMPFILE && n > 0 && path[n - 1] != '/';
}

int call_resolve_path(Call *c, bool second, int dirfd, const char *path, bool nofollow, char **ret,
                      unsigned *ret_flags) {
        _cleanup_free_ char *base = NULL, *judged = NULL, *walk = NULL, *lexical = NULL;
        Hint *hint = NULL;
        unsigned flags = (nofollow ? PATH_RESOLVE_NOFOLLOW : 0) |
                         (!second && (c->open_resolve & RESOLVE_NO_XDEV) ? PATH_RESOLVE_NO_XDEV : 0),
                 rflags = 0;
        bool lookups = needs_lookup(c, second), entered = false;
        CredsSaved saved;
        int r;

        if (path[0] != '/') {
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
                .proc_creds = c->creds ? proc_creds : NULL,
                .userdata = c,
        };

        if (!lookups) {
                r = path_resolve_in_root(c->s->root_fd, &task, base, path, flags | PATH_RESOLVE_LEXICAL, &judged,
                                         &walk, &rflags);
                if (r == -EAGAIN)
                        lookups = true; /* procfs, "self", longer than PATH_MAX */
                else if (r < 0)
                        return r;
                else if ((hint = hint_find(judged)))
                        lookups = true;
                else if (needs_probe(c, second, path) && c->creds) {
                        /* Is it there? Only a walk that crosses no symlink answers that here; one that
                         * does is resolved with lookups. */
                        struct open_how how = {
                                .flags = O_PATH | O_CLOEXEC,
                                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
                        };
                        int fd;

                        r = creds_enter(c->creds, 0, &saved);
                        if (r < 0)
                                return r;
                        fd = path_openat2(c->s->root_fd, walk, &how);
                        creds_leave(&saved);
                        if (fd >= 0) {
                                struct stat st;

                                /* A directory is not "there" for O_CREAT: the kernel refuses it (EISDIR). */
                                if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
                                        rflags |= PATH_RESOLVE_RESULT_EXISTS;
                                safe_close(fd);
                        } else if (fd == -ELOOP)
                                lookups = true;
                }
                if (!lookups)
                        goto done;
                lexical = TAKE_PTR(judged);
                free(walk);
                walk = NULL;
                rflags = 0;
        } else if (c->resolve_full) {
                /* Decided again after a lexical walk met a symlink: learn where (its lexical form, unless
                 * it must be resolved anyway: procfs, "self"). */
                _cleanup_free_ char *w = NULL;
                (void) path_resolve_in_root(c->s->root_fd, &task, base, path, flags | PATH_RESOLVE_LEXICAL,
                                            &lexical, &w, NULL);
        }

        if (c->creds) {
                r = creds_enter(c->creds, 0, &saved);
                if (r < 0)
                        return r;
                entered = true;
        }
        r = -EOPNOTSUPP;
        if (lexical && kernel_resolvable(c, second, flags)) {
                r = path_resolve_by_kernel(c->s->root_fd, c->s->root_path, base, path, &judged);
                if (r >= 0) {
                        walk = strdup(judged);
                        if (!walk)
                                r = -ENOMEM;
                        /* A symlink was crossed where the name differs from the path as given (the way
                         * here says one was met, or is hinted): only the hints and the workload's own
                         * RESOLVE_NO_SYMLINKS care, and that is never resolved so. */
                        rflags = PATH_RESOLVE_RESULT_EXISTS |
                                 (streq(lexical, judged) ? 0 : PATH_RESOLVE_RESULT_SYMLINK);
                }
        }
        if (r < 0 && r != -ENOMEM) {
                free(judged);
                judged = NULL;
                r = path_resolve_in_root(c->s->root_fd, &task, base, path, flags, &judged, &walk, &rflags);
        }
        if (entered)
                creds_leave(&saved);
        if (r < 0)
                return r;
        if (lexical && r == 0 && (rflags & (PATH_RESOLVE_RESULT_SYMLINK | PATH_RESOLVE_RESULT_MAGICLINK)))
                hint_add(lexical, judged);
        else if (hint && !(rflags & (PATH_RESOLVE_RESULT_SYMLINK | PATH_RESOLVE_RESULT_MAGICLINK)))
                hint->prefix[0] = 0; /* no symlink there any more */

done:
        /* Where the walk starts at the workload's cwd or dirfd (or, resolved, at a directory above it that
         * the resolution reached with the workload's credentials): from there the emulation can walk it as
         * the kernel does, without the directories above (supervisor-emulate.c). */
        c->walk_base[second] = 0;
        if (base && walk)
                for (size_t n = strlen(base); n > 1; n--)
                        if (base[n] == 0 || base[n] == '/') {
                                if (strncmp(walk, base, n) == 0 && walk[n] == '/') {
                                        c->walk_base[second] = n;
                                        break;
                                }
                                if (rflags & PATH_RESOLVE_RESULT_LEXICAL)
                                        break; /* a lexical walk starts with the base itself */
                        }
        free(c->walk[second]);
        c->walk[second] = TAKE_PTR(walk);
        c->resolved[second] = rflags;
        *ret = TAKE_PTR(judged);
        if (ret_flags)
                *ret_flags = rflags;
        return r;
}

int call_resolve_again(Call *c) {
        free(c->path);
        free(c->path2);
        c->path = c->path2 = NULL;
        for (size_t i = 0; i < 2; i++) {
                free(c->walk[i]);
                c->walk[i] = NULL;
                c->resolved[i] = 0;
                c->walk_base[i] = 0;
                c->last_kind[i] = PATH_LAST_NORMAL;
                c->trailing_slash[i] = false;
        }
        c->lookup_error = c->lookup_error2 = 0;
        c->magic = c->exists = c->followed = c->null_path = c->empty_path = false;
        c->magic_file = safe_close(c->magic_file);
        c->base_fd[0] = safe_close(c->base_fd[0]);
        c->base_fd[1] = safe_close(c->base_fd[1]);
        c->sock_fd = safe_close(c->sock_fd);
        c->have_addr = false;
        c->n_ptrs = 0;
        c->decoded = false;
        c->again = false;
        c->resolve_full = true;
        return decode_for_emulation(c);
}
