/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Resolve a path the way the kernel would for a workload, but in the
 * supervisor: inside the workload's root (an O_PATH directory fd), relative
 * to a base directory given as a path inside that root, never leaving the
 * root (".." at the root stays there, absolute symlink targets restart at
 * it). Two results:
 *
 *  - the path the policy judges: absolute, normalised, free of symlinks
 *    when the resolution looked (".", ".." and "//" folded);
 *  - the walk: the path the emulated call then opens from the root with
 *    openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS), with every "." and ".."
 *    of the path as given still in it, so that the kernel's own walk checks
 *    the search permission of every directory the workload's walk would
 *    pass through and fails where it would fail (ENOENT, ENOTDIR, EACCES,
 *    EISDIR for "new/" with O_CREAT, ...). A symlink swapped in after the
 *    decision makes that open fail instead of reaching something unjudged.
 *
 * Lexically (PATH_RESOLVE_LEXICAL, the fast path): no lookup at all. The
 * walk is the path as given, joined to the base; the judged path is its
 * lexical normal form, which is what the walk reaches exactly when it
 * crosses no symlink, and that is what the open with RESOLVE_NO_SYMLINKS
 * proves. When it meets one (ELOOP), the caller resolves again without the
 * flag and decides again. Paths under /proc, paths naming "self" or
 * "thread-self" and walks longer than PATH_MAX must be resolved: -EAGAIN.
 *
 * Resolved: the walk is made component by component with real lookups, in
 * the calling thread's credentials (the caller takes on the workload's, so
 * that every permission check is the workload's), following symlinks (at
 * most 40, like the kernel); the walk result is the resolved parent and the
 * last component as given. When a directory component cannot be looked up,
 * the rest is appended lexically, so the policy still sees a path, and the
 * errno the kernel's lookup stops with is returned as a positive number. A
 * missing last component is not an error (O_CREAT, mkdir); the last
 * component of a call that does not follow it is not looked up at all.
 */

#include <stdbool.h>
#include <sys/types.h>

#include "forgeone/macro.h"

typedef enum PathResolveFlags {
        PATH_RESOLVE_NOFOLLOW = 1u << 0, /* a symlink as last component is not followed (O_NOFOLLOW,
                                          * AT_SYMLINK_NOFOLLOW, unlink, rename, ...) */
        PATH_RESOLVE_LEXICAL = 1u << 1,  /* no lookup, or -EAGAIN: see above */
        PATH_RESOLVE_NO_XDEV = 1u << 2,  /* openat2's RESOLVE_NO_XDEV: EXDEV where the walk would cross a mount
                                          * (from where it starts), never lexical */
} PathResolveFlags;

#define PATH_RESOLVE_MAX_SYMLINKS 40

/* Lookups in procfs whose permission rules depend on who asks (see PathResolveTask.proc_creds). */
typedef enum PathResolveProc {
        PATH_RESOLVE_PROC_NORMAL,  /* the workload's credentials as the caller holds them */
        PATH_RESOLVE_PROC_OWN,     /* the supervisor's own credentials: in the task's own process directory
                                    * the kernel lets a thread group into its fd directories whatever its
                                    * ids, and the walk's start (its cwd or dirfd) it holds whatever the
                                    * directories above allow */
        PATH_RESOLVE_PROC_FOREIGN, /* in another process's directory: exactly the task's own rights */
} PathResolveProc;

/* procfs is resolved for the workload, not for us: "self" and "thread-self" name its own ids (as its
 * /proc instance numbers them), and the magic links (fd/N, cwd, root, exe, ns/..., map_files/...),
 * which readlink(2) describes as we see them, are mapped into the workload's root. A magic fd link as
 * the last component is not followed: the result names it ("/proc/7/fd/3") and the caller reopens
 * that file itself. */
typedef struct PathResolveTask {
        pid_t pid, tid;        /* 0: "self" and "thread-self" fail with ENOENT */
        const char *root_path; /* the root as the supervisor sees it (NULL: "/") */
        /* Optional: called before and after lookups in procfs that need other credentials than the
         * workload's plain ones (mode), and with PATH_RESOLVE_PROC_NORMAL to go back. */
        void (*proc_creds)(void *userdata, PathResolveProc mode);
        void *userdata;
} PathResolveTask;

typedef enum PathResolveResultFlags {
        PATH_RESOLVE_RESULT_MAGIC = 1u << 0,     /* the result is a /proc/PID[/task/TID]/fd/N magic link of
                                                  * the task, not followed */
        PATH_RESOLVE_RESULT_EXISTS = 1u << 1,    /* the last component was seen to exist (not a symlink) */
        PATH_RESOLVE_RESULT_SYMLINK = 1u << 2,   /* a symlink was followed on the way */
        PATH_RESOLVE_RESULT_LEXICAL = 1u << 3,   /* not looked up (PATH_RESOLVE_LEXICAL) */
        PATH_RESOLVE_RESULT_MAGICLINK = 1u << 4, /* a magic link of procfs was followed on the way, or is
                                                  * the result (MAGIC, MAGIC_LAST) */
        PATH_RESOLVE_RESULT_MAGIC_LAST = 1u << 5, /* the last component is a magic link whose text is no path
                                                  * (ns/net, ...): the call opens it, following it */
        PATH_RESOLVE_RESULT_PROC_SELF = 1u << 6, /* the result is procfs' "self" or "thread-self" link itself */
        PATH_RESOLVE_RESULT_PROC_OWN_FD = 1u << 7, /* the walk enters the task's own fd or fdinfo directory,
                                                    * which the kernel lets a thread group into whatever its ids */
        PATH_RESOLVE_RESULT_PROC_FOREIGN = 1u << 8, /* the result lies in another process's /proc directory */
        PATH_RESOLVE_RESULT_PROC_OWN = 1u << 9,  /* the result lies in the task's own /proc directory, where
                                                  * the ptrace checks always let it in */
        PATH_RESOLVE_RESULT_LAST_FAILED = 1u << 10, /* the lookup failed on the last component (following it,
                                                     * or for its trailing slash) */
} PathResolveResultFlags;

/* base: absolute path inside the root of the directory relative paths start from (NULL: "/").
 * task: may be NULL (procfs links are then followed as their text says, relative to the root).
 * Returns 0 resolved, a positive errno (ENOENT, ENOTDIR, EACCES, ELOOP, ENAMETOOLONG) when the lookup
 * fails, or -ENOMEM, -EINVAL. ret: the judged path; ret_walk (optional): the walk (see above);
 * ret_flags (optional): PathResolveResultFlags. */
int path_resolve_in_root(int root_fd, const PathResolveTask *task, const char *base, const char *path,
                         unsigned flags, char **ret, char **ret_walk, unsigned *ret_flags);

/*
 * The same judgment in two syscalls, where the kernel's own walk can give it: an openat2(O_PATH) of
 * path (from base, inside the root) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
 * which follows every symlink as the workload's walk does (the caller holds the workload's credentials,
 * so every search permission is its own), then the name of what it reached, from readlink of
 * /proc/self/fd/N (the kernel's d_path: no symlink, ".", ".." or "//" in it), made relative to the root.
 * That name is the judged path and, free of symlinks, also the walk: what the emulated call opens with
 * RESOLVE_NO_SYMLINKS is what was judged, as on the lexical path. The last component is followed.
 * Never in procfs, whose "self" and magic links answer for the reader (RESOLVE_NO_XDEV keeps the walk
 * on the root's own mount, RESOLVE_NO_MAGICLINKS off magic links), nor across any other mount.
 * Returns 0, or a negative errno when the kernel's walk cannot answer so (the object is missing, a
 * search is refused, a mount or magic link is in the way (EXDEV, ELOOP), its name is no longer its path
 * (ESTALE), it lies outside root_path (EXDEV)): the caller then resolves in steps (path_resolve_in_root()),
 * which gives the kernel's error and a path for the policy. root_path: the root as the caller sees it
 * (readlink of root_fd; NULL: "/"). */
int path_resolve_by_kernel(int root_fd, const char *root_path, const char *base, const char *path, char **ret);

struct open_how;
/* openat2(2) that retries the EAGAIN with which RESOLVE_IN_ROOT and RESOLVE_BENEATH answer a ".." when a
 * rename or mount anywhere in the system raced with the walk (it could not prove that ".." stayed
 * inside): a walk as given keeps its "..", and the workload's own walk has no such failure. Not retried
 * with RESOLVE_CACHED, whose EAGAIN is the answer. Returns the fd or a negative errno. */
int path_openat2(int dirfd, const char *path, const struct open_how *how);

/* The lexical normal form of an absolute path: ".", ".." (at "/" it stays) and "//" folded, no trailing
 * slash. */
int path_normalize(const char *path, char **ret);

/* Parses "/proc/PID/fd/N" or "/proc/PID/task/TID/fd/N". */
int path_parse_proc_fd(const char *path, pid_t *ret_pid, int *ret_fd);

/* A path as seen from the supervisor (e.g. readlink of /proc/PID/cwd) made relative to the workload's
 * root as seen from the supervisor: "/" + remainder. -EXDEV when it lies outside the root. */
int path_strip_root(const char *root, const char *path, char **ret);

/* Last component of an absolute normalised path ("" for "/"), and its parent ("/" for "/x"). */
const char *path_last_component(const char *path) _pure_;
int path_parent(const char *path, char **ret);
