/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Resolve a path the way the kernel would for a workload, but in the
 * supervisor: inside the workload's root (an O_PATH directory fd), relative
 * to a base directory given as a path inside that root, following ".." and
 * symlinks (at most 40, like the kernel) and never leaving the root: ".."
 * at the root stays at the root and absolute symlink targets restart at
 * the root. The result is an absolute, normalised, symlink-free path inside
 * the root: what the policy is evaluated against and what the emulated call
 * then opens with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS), so that a
 * symlink swapped in after the check makes the call fail instead of
 * reaching something unchecked.
 *
 * When a directory component does not exist or cannot be searched, the
 * rest is appended lexically, so the policy still sees a path, and the
 * errno the kernel's lookup stops with is returned as a positive number:
 * the caller fails the call with it instead of performing it. A missing
 * last component is not an error (O_CREAT, mkdir).
 */

#include <stdbool.h>
#include <sys/types.h>

#include "forgeone/macro.h"

typedef enum PathResolveFlags {
        PATH_RESOLVE_NOFOLLOW = 1u << 0, /* a symlink as last component is not followed (O_NOFOLLOW,
                                          * AT_SYMLINK_NOFOLLOW, unlink, rename, ...) */
} PathResolveFlags;

#define PATH_RESOLVE_MAX_SYMLINKS 40

/* procfs is resolved for the workload, not for us: "self" and "thread-self" name its own ids (as its
 * /proc instance numbers them), and the magic links fd/N, cwd, root and exe, which readlink(2)
 * describes as we see them, are mapped into the workload's root. A magic fd link as the last component
 * is not followed: the result names it ("/proc/7/fd/3") and the caller reopens that file itself. */
typedef struct PathResolveTask {
        pid_t pid, tid;        /* 0: "self" and "thread-self" fail with ENOENT */
        const char *root_path; /* the root as the supervisor sees it (NULL: "/") */
} PathResolveTask;

typedef enum PathResolveResultFlags {
        PATH_RESOLVE_RESULT_MAGIC = 1u << 0,  /* the result is a /proc/PID[/task/TID]/fd/N magic link */
        PATH_RESOLVE_RESULT_EXISTS = 1u << 1, /* the last component was seen to exist (not a symlink) */
        PATH_RESOLVE_RESULT_SYMLINK = 1u << 2, /* a symlink was followed on the way */
} PathResolveResultFlags;

/* base: absolute path inside the root of the directory relative paths start from (NULL: "/").
 * task: may be NULL (procfs links are then followed as their text says, relative to the root).
 * Returns 0 resolved, a positive errno (ENOENT, ENOTDIR, EACCES) when the lookup fails before the
 * last component, or -ELOOP, -ENAMETOOLONG, -ENOMEM, -EINVAL. ret_flags (optional): PathResolveResultFlags. */
int path_resolve_in_root(int root_fd, const PathResolveTask *task, const char *base, const char *path,
                         unsigned flags, char **ret, unsigned *ret_flags);

/* Parses "/proc/PID/fd/N" or "/proc/PID/task/TID/fd/N". */
int path_parse_proc_fd(const char *path, pid_t *ret_pid, int *ret_fd);

/* A path as seen from the supervisor (e.g. readlink of /proc/PID/cwd) made relative to the workload's
 * root as seen from the supervisor: "/" + remainder. -EXDEV when it lies outside the root. */
int path_strip_root(const char *root, const char *path, char **ret);

/* Last component of an absolute normalised path ("" for "/"), and its parent ("/" for "/x"). */
const char *path_last_component(const char *path) _pure_;
int path_parent(const char *path, char **ret);
