/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>

#include "forgeone/arch-table.h"
#include "forgeone/policy.h"
#include "forgeone/string-table.h"
#include "forgeone/syscall-table.h"

#include "syscall-arg-widths.h"
#include "syscall-groups.h"

#ifndef O_PATH
#define O_PATH 010000000
#endif
/* The bit of its own that O_TMPFILE adds to O_DIRECTORY (glibc's __O_TMPFILE includes both). */
#define O_TMPFILE_BIT 020000000

/* Shorthands that keep the table one line per syscall. */
#define N  SYSCALL_ARG_NONE
#define I  SYSCALL_ARG_INT
#define F  SYSCALL_ARG_FD
#define D  SYSCALL_ARG_DIRFD
#define P  SYSCALL_ARG_PATH
#define P2 SYSCALL_ARG_PATH2
#define D2 SYSCALL_ARG_DIRFD2
#define OF SYSCALL_ARG_OPEN_FLAGS
#define OH SYSCALL_ARG_OPEN_HOW
#define AF SYSCALL_ARG_AT_FLAGS
#define M  SYSCALL_ARG_MODE
#define SA SYSCALL_ARG_SOCKADDR
#define SL SYSCALL_ARG_SOCKLEN
#define X  SYSCALL_ARG_PTR
#define FO SYSCALL_ARG_FD_OBJECT

#define A_READ   POLICY_ACCESS_READ
#define A_WRITE  POLICY_ACCESS_WRITE
#define A_CREATE POLICY_ACCESS_CREATE
#define A_DELETE POLICY_ACCESS_DELETE
#define A_EXEC   POLICY_ACCESS_EXEC
#define A_STAT   POLICY_ACCESS_STAT
#define A_ATTR   POLICY_ACCESS_ATTR

#define S(n, a0, a1, a2, a3, a4, a5, acc, acc2, emu)                                                       \
        {                                                                                                  \
                .name = n, .args = { a0, a1, a2, a3, a4, a5 }, .access = (acc), .access2 = (acc2),         \
                .emulable = (emu),                                                                         \
        }
#define NET(n, a0, a1, a2, a3, a4, a5, emu, form)                                                          \
        { .name = n, .args = { a0, a1, a2, a3, a4, a5 }, .emulable = (emu), .addr_form = (form) }

/* Sorted by name (bisected; a unit test checks the order). "emulable" lists
 * what the supervisor performs itself (src/supervisor/supervisor-emulate.c,
 * supervisor-fdcall.c, supervisor-send.c): opens, connect, the sends, the
 * read-only stat/access/readlink calls, and the calls that
 * create, remove or rename directory entries or change an object's mode, owner,
 * size, times or extended attributes by path. A hard link gives
 * a second name to read and write the file through, so link sources request
 * read|write: a deny rule on /etc/shadow also stops "ln /etc/shadow /tmp/x".
 * symlink's first argument is the link's text, not a path that is resolved;
 * mount's source is often not a path at all ("none", "proc"), so only its
 * target is one. Changing what a path shows (mounting over it, swapping to
 * it, accounting into it) counts as writing it. The calls that change the file
 * open as a descriptor (fchmod, fchown, fsetxattr, fremovexattr) take it as
 * their object: the supervisor takes the descriptor from the workload, judges
 * the path of the file it took and performs the call on exactly that file. */
static const SyscallInfo syscall_infos[] = {
        S("access",            P,  I,  N,  N,  N,  N,  A_STAT,           0,        true),
        S("acct",              P,  N,  N,  N,  N,  N,  A_WRITE,          0,        false),
        NET("bind",            F,  SA, SL, N,  N,  N,  false, SYSCALL_ADDR_SOCKADDR),
        S("chdir",             P,  N,  N,  N,  N,  N,  A_STAT,           0,        false),
        S("chmod",             P,  M,  N,  N,  N,  N,  A_ATTR,           0,        true),
        S("chown",             P,  I,  I,  N,  N,  N,  A_ATTR,           0,        true),
        S("chown32",           P,  I,  I,  N,  N,  N,  A_ATTR,           0,        false),
        S("chroot",            P,  N,  N,  N,  N,  N,  A_STAT,           0,        false),
        NET("connect",         F,  SA, SL, N,  N,  N,  true,  SYSCALL_ADDR_SOCKADDR),
        S("creat",             P,  M,  N,  N,  N,  N,  A_CREATE | A_WRITE, 0,      true),
        S("execve",            P,  X,  X,  N,  N,  N,  A_EXEC,           0,        false),
        S("execveat",          D,  P,  X,  X,  AF, N,  A_EXEC,           0,        false),
        S("faccessat",         D,  P,  I,  N,  N,  N,  A_STAT,           0,        true),
        S("faccessat2",        D,  P,  I,  AF, N,  N,  A_STAT,           0,        true),
        S("fanotify_mark",     F,  I,  I,  D,  P,  N,  A_STAT,           0,        false),
        S("fchmod",            FO, M,  N,  N,  N,  N,  A_ATTR,           0,        true),
        S("fchmodat",          D,  P,  M,  N,  N,  N,  A_ATTR,           0,        true),
        S("fchmodat2",         D,  P,  M,  AF, N,  N,  A_ATTR,           0,        true),
        S("fchown",            FO, I,  I,  N,  N,  N,  A_ATTR,           0,        true),
        S("fchown32",          FO, I,  I,  N,  N,  N,  A_ATTR,           0,        false),
        S("fchownat",          D,  P,  I,  I,  AF, N,  A_ATTR,           0,        true),
        S("fremovexattr",      FO, X,  N,  N,  N,  N,  A_ATTR,           0,        true),
        S("fsetxattr",         FO, X,  X,  I,  I,  N,  A_ATTR,           0,        true),
        S("fspick",            D,  P,  I,  N,  N,  N,  A_ATTR,           0,        false),
        S("fstatat64",         D,  P,  X,  AF, N,  N,  A_STAT,           0,        false),
        S("futimesat",         D,  P,  X,  N,  N,  N,  A_ATTR,           0,        true),
        S("getxattr",          P,  X,  X,  I,  N,  N,  A_STAT,           0,        false),
        S("inotify_add_watch", F,  P,  I,  N,  N,  N,  A_STAT,           0,        false),
        S("lchown",            P,  I,  I,  N,  N,  N,  A_ATTR,           0,        true),
        S("lchown32",          P,  I,  I,  N,  N,  N,  A_ATTR,           0,        false),
        S("lgetxattr",         P,  X,  X,  I,  N,  N,  A_STAT,           0,        false),
        S("link",              P,  P2, N,  N,  N,  N,  A_READ | A_WRITE, A_CREATE, true),
        S("linkat",            D,  P,  D2, P2, AF, N,  A_READ | A_WRITE, A_CREATE, true),
        S("listxattr",         P,  X,  I,  N,  N,  N,  A_STAT,           0,        false),
        S("llistxattr",        P,  X,  I,  N,  N,  N,  A_STAT,           0,        false),
        S("lremovexattr",      P,  X,  N,  N,  N,  N,  A_ATTR,           0,        true),
        S("lsetxattr",         P,  X,  X,  I,  I,  N,  A_ATTR,           0,        true),
        S("lstat",             P,  X,  N,  N,  N,  N,  A_STAT,           0,        true),
        S("lstat64",           P,  X,  N,  N,  N,  N,  A_STAT,           0,        false),
        S("mkdir",             P,  M,  N,  N,  N,  N,  A_CREATE,         0,        true),
        S("mkdirat",           D,  P,  M,  N,  N,  N,  A_CREATE,         0,        true),
        S("mknod",             P,  M,  I,  N,  N,  N,  A_CREATE,         0,        true),
        S("mknodat",           D,  P,  M,  I,  N,  N,  A_CREATE,         0,        true),
        S("mount",             X,  P,  X,  I,  X,  N,  A_WRITE,          0,        false),
        S("mount_setattr",     D,  P,  AF, X,  I,  N,  A_ATTR,           0,        false),
        S("move_mount",        D,  P,  D2, P2, I,  N,  A_WRITE,          A_WRITE,  false),
        S("name_to_handle_at", D,  P,  X,  X,  AF, N,  A_STAT,           0,        false),
        S("newfstatat",        D,  P,  X,  AF, N,  N,  A_STAT,           0,        true),
        S("oldlstat",          P,  X,  N,  N,  N,  N,  A_STAT,           0,        false),
        S("oldstat",           P,  X,  N,  N,  N,  N,  A_STAT,           0,        false),
        S("open",              P,  OF, M,  N,  N,  N,  0,                0,        true),
        S("open_tree",         D,  P,  I,  N,  N,  N,  A_STAT,           0,        false),
        S("openat",            D,  P,  OF, M,  N,  N,  0,                0,        true),
        S("openat2",           D,  P,  OH, I,  N,  N,  0,                0,        true),
        S("pivot_root",        P,  P2, N,  N,  N,  N,  A_WRITE,          A_WRITE,  false),
        S("readlink",          P,  X,  I,  N,  N,  N,  A_STAT,           0,        true),
        S("readlinkat",        D,  P,  X,  I,  N,  N,  A_STAT,           0,        true),
        S("removexattr",       P,  X,  N,  N,  N,  N,  A_ATTR,           0,        true),
        S("rename",            P,  P2, N,  N,  N,  N,  A_DELETE,         A_CREATE, true),
        S("renameat",          D,  P,  D2, P2, N,  N,  A_DELETE,         A_CREATE, true),
        S("renameat2",         D,  P,  D2, P2, I,  N,  A_DELETE,         A_CREATE, true),
        S("rmdir",             P,  N,  N,  N,  N,  N,  A_DELETE,         0,        true),
        NET("sendmmsg",        F,  SA, I,  I,  N,  N,  true,  SYSCALL_ADDR_MMSGHDR),
        NET("sendmsg",         F,  SA, I,  N,  N,  N,  true,  SYSCALL_ADDR_MSGHDR),
        NET("sendto",          F,  X,  I,  I,  SA, SL, true,  SYSCALL_ADDR_SOCKADDR),
        S("setxattr",          P,  X,  X,  I,  I,  N,  A_ATTR,           0,        true),
        S("stat",              P,  X,  N,  N,  N,  N,  A_STAT,           0,        true),
        S("stat64",            P,  X,  N,  N,  N,  N,  A_STAT,           0,        false),
        S("statfs",            P,  X,  N,  N,  N,  N,  A_STAT,           0,        false),
        S("statfs64",          P,  I,  X,  N,  N,  N,  A_STAT,           0,        false),
        S("statx",             D,  P,  AF, I,  X,  N,  A_STAT,           0,        true),
        S("swapoff",           P,  N,  N,  N,  N,  N,  A_WRITE,          0,        false),
        S("swapon",            P,  I,  N,  N,  N,  N,  A_WRITE,          0,        false),
        S("symlink",           X,  P,  N,  N,  N,  N,  A_CREATE,         0,        true),
        S("symlinkat",         X,  D,  P,  N,  N,  N,  A_CREATE,         0,        true),
        S("truncate",          P,  I,  N,  N,  N,  N,  A_WRITE,          0,        true),
        S("truncate64",        P,  I,  I,  N,  N,  N,  A_WRITE,          0,        false),
        S("umount",            P,  N,  N,  N,  N,  N,  A_WRITE,          0,        false),
        S("umount2",           P,  I,  N,  N,  N,  N,  A_WRITE,          0,        false),
        S("unlink",            P,  N,  N,  N,  N,  N,  A_DELETE,         0,        true),
        S("unlinkat",          D,  P,  AF, N,  N,  N,  A_DELETE,         0,        true),
        S("uselib",            P,  N,  N,  N,  N,  N,  A_EXEC,           0,        false),
        S("utime",             P,  X,  N,  N,  N,  N,  A_ATTR,           0,        true),
        S("utimensat",         D,  P,  X,  AF, N,  N,  A_ATTR,           0,        true),
        S("utimensat_time64",  D,  P,  X,  AF, N,  N,  A_ATTR,           0,        false),
        S("utimes",            P,  X,  N,  N,  N,  N,  A_ATTR,           0,        true),
};

static int info_cmp(const void *key, const void *elem) {
        return strcmp(key, ((const SyscallInfo *) elem)->name);
}

const SyscallInfo *syscall_info_lookup(const char *name) {
        if (!name)
                return NULL;
        return bsearch(name, syscall_infos, ELEMENTSOF(syscall_infos), sizeof(syscall_infos[0]), info_cmp);
}

const SyscallInfo *syscall_info_by_index(size_t i) {
        return i < ELEMENTSOF(syscall_infos) ? &syscall_infos[i] : NULL;
}

static bool info_has_arg(const SyscallInfo *info, SyscallArg kind) {
        if (!info)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(info->args); i++)
                if (info->args[i] == kind)
                        return true;
        return false;
}

bool syscall_has_path(const char *name) {
        const SyscallInfo *info = syscall_info_lookup(name);

        return info_has_arg(info, SYSCALL_ARG_PATH) || info_has_arg(info, SYSCALL_ARG_PATH2) ||
               info_has_arg(info, SYSCALL_ARG_FD_OBJECT);
}

bool syscall_has_sockaddr(const char *name) {
        return info_has_arg(syscall_info_lookup(name), SYSCALL_ARG_SOCKADDR);
}

unsigned syscall_possible_access(const char *name) {
        const SyscallInfo *info = syscall_info_lookup(name);
        unsigned mask;

        if (!info)
                return 0;
        mask = info->access | info->access2;
        if (info_has_arg(info, SYSCALL_ARG_OPEN_FLAGS) || info_has_arg(info, SYSCALL_ARG_OPEN_HOW))
                mask |= POLICY_ACCESS_READ | POLICY_ACCESS_WRITE | POLICY_ACCESS_CREATE | POLICY_ACCESS_STAT;
        return mask;
}

unsigned syscall_open_flags_to_access(uint64_t flags) {
        unsigned mask = 0;

        /* O_PATH ignores every flag but O_DIRECTORY, O_NOFOLLOW and O_CLOEXEC:
         * the fd can only be used to look at the file. */
        if (flags & O_PATH)
                return POLICY_ACCESS_STAT;

        switch (flags & O_ACCMODE) {
        case O_RDONLY:
                mask |= POLICY_ACCESS_READ;
                break;
        case O_WRONLY:
                mask |= POLICY_ACCESS_WRITE;
                break;
        default: /* O_RDWR, and 3, which Linux treats as "check both" */
                mask |= POLICY_ACCESS_READ | POLICY_ACCESS_WRITE;
                break;
        }
        if (flags & (O_TRUNC | O_APPEND))
                mask |= POLICY_ACCESS_WRITE;
        if (flags & O_CREAT)
                mask |= POLICY_ACCESS_CREATE;
        /* O_TMPFILE creates an unnamed file in the directory given as path. */
        if (flags & O_TMPFILE_BIT)
                mask |= POLICY_ACCESS_CREATE | POLICY_ACCESS_WRITE;
        return mask;
}

static int group_cmp(const void *key, const void *elem) {
        return strcmp(key, ((const SyscallGroup *) elem)->name);
}

const SyscallGroup *syscall_group_lookup(const char *name) {
        if (!name)
                return NULL;
        return bsearch(name, syscall_groups, ELEMENTSOF(syscall_groups), sizeof(syscall_groups[0]),
                       group_cmp);
}

const SyscallGroup *syscall_group_by_index(size_t i) {
        return i < ELEMENTSOF(syscall_groups) ? &syscall_groups[i] : NULL;
}

bool syscall_known(const char *name) {
        size_t i = 0;

        if (!name || !*name)
                return false;
        /* On any architecture libseccomp knows. */
        for (const ArchInfo *a; (a = arch_table_by_index(i)); i++)
                if (seccomp_syscall_resolve_name_arch(a->arch, name) >= 0)
                        return true;
        return false;
}

static int strv_push_dup(char ***l, const char *s) {
        size_t n = 0;
        char **nl, *d;

        if (*l)
                while ((*l)[n])
                        n++;
        d = strdup(s);
        if (!d)
                return -ENOMEM;
        nl = realloc(*l, (n + 2) * sizeof(char *));
        if (!nl) {
                free(d);
                return -ENOMEM;
        }
        nl[n] = d;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

static int expand_internal(const char *name, char ***names, unsigned depth) {
        const SyscallGroup *g;
        int r;

        if (name[0] != '@') {
                if (!syscall_known(name))
                        return -EINVAL;
                return strv_push_dup(names, name);
        }

        g = syscall_group_lookup(name);
        if (!g)
                return -ENOENT;
        if (depth > 8) /* groups nest two levels deep; more is a cycle in the table */
                return -ELOOP;
        for (const char *const *m = g->members; *m; m++) {
                r = expand_internal(*m, names, depth + 1);
                /* A member no architecture knows (libseccomp older than the
                 * table) is simply not part of the group here. */
                if (r == -EINVAL)
                        continue;
                if (r < 0)
                        return r;
        }
        return 0;
}

int syscall_expand(const char *name_or_group, char ***names) {
        if (!name_or_group || !names)
                return -EINVAL;
        return expand_internal(name_or_group, names, 0);
}

static int resolve_raw(const char *name, uint32_t audit_arch) {
        int nr;

        if (!name)
                return -ENOENT;
        nr = seccomp_syscall_resolve_name_arch(audit_arch, name);
        /* Negative numbers other than -1 are libseccomp's pseudo-syscalls:
         * names that the architecture has no number for (multiplexed or absent). */
        return nr < 0 ? -ENOENT : nr;
}

int syscall_resolve_native(const char *name) {
        return resolve_raw(name, seccomp_arch_native());
}

int syscall_resolve_arch(const char *name, uint32_t audit_arch) {
        return resolve_raw(name, audit_arch);
}

/* Names are interned once and never freed, so syscall_name() can hand out
 * stable pointers. The native architecture also gets a direct number ->
 * name array: the supervisor asks for it on every notification. */
#define NATIVE_TABLE_SIZE 1024u
#define X32_SYSCALL_BIT   0x40000000u

static pthread_mutex_t intern_lock = PTHREAD_MUTEX_INITIALIZER;
static char **interned;
static size_t n_interned, n_interned_alloc;

static int str_ptr_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Called with intern_lock held. Takes ownership of s. */
static const char *intern_locked(char *s) {
        char **found, **nl;
        size_t pos;

        found = n_interned > 0 ? bsearch(&s, interned, n_interned, sizeof(char *), str_ptr_cmp) : NULL;
        if (found) {
                free(s);
                return *found;
        }
        if (n_interned == n_interned_alloc) {
                size_t na = MAX(n_interned_alloc * 2, (size_t) 512);

                nl = realloc(interned, na * sizeof(char *));
                if (!nl) {
                        free(s);
                        return NULL;
                }
                interned = nl;
                n_interned_alloc = na;
        }
        for (pos = n_interned; pos > 0 && strcmp(interned[pos - 1], s) > 0; pos--)
                ;
        memmove(interned + pos + 1, interned + pos, (n_interned - pos) * sizeof(char *));
        interned[pos] = s;
        n_interned++;
        return s;
}

static const char *name_uncached(uint32_t audit_arch, int nr) {
        const char *ret;
        char *s;

        if (nr < 0)
                return NULL;
        s = seccomp_syscall_resolve_num_arch(audit_arch, nr);
        if (!s)
                return NULL;
        pthread_mutex_lock(&intern_lock);
        ret = intern_locked(s);
        pthread_mutex_unlock(&intern_lock);
        return ret;
}

static pthread_once_t native_once = PTHREAD_ONCE_INIT;
static const char *native_names[NATIVE_TABLE_SIZE];
static uint32_t native_arch;

static void native_table_init(void) {
        native_arch = seccomp_arch_native();
        for (unsigned i = 0; i < NATIVE_TABLE_SIZE; i++) {
                int nr = (int) i;

                if (native_arch == SCMP_ARCH_X32)
                        nr |= (int) X32_SYSCALL_BIT;
                native_names[i] = name_uncached(native_arch, nr);
        }
}

const char *syscall_name(uint32_t audit_arch, int nr) {
        pthread_once(&native_once, native_table_init);
        if (audit_arch == native_arch) {
                unsigned idx = (unsigned) nr;

                if (audit_arch == SCMP_ARCH_X32)
                        idx &= ~X32_SYSCALL_BIT;
                if (nr >= 0 && idx < NATIVE_TABLE_SIZE)
                        return native_names[idx];
        }
        return name_uncached(audit_arch, nr);
}

/* Candidates for "did you mean": the names of the common architectures. */
static pthread_once_t all_names_once = PTHREAD_ONCE_INIT;

static void all_names_init(void) {
        static const struct {
                uint32_t arch;
                int base;
        } sets[] = {
                { SCMP_ARCH_X86_64, 0 }, { SCMP_ARCH_X86, 0 },      { SCMP_ARCH_AARCH64, 0 },
                { SCMP_ARCH_ARM, 0 },    { SCMP_ARCH_PPC64LE, 0 },  { SCMP_ARCH_S390X, 0 },
                { SCMP_ARCH_RISCV64, 0 }, { SCMP_ARCH_MIPS, 4000 },
        };

        FOREACH_ELEMENT(set, sets)
                for (int i = 0; i < (int) NATIVE_TABLE_SIZE; i++)
                        (void) name_uncached(set->arch, set->base + i);
}

/* Optimal string alignment distance: Levenshtein plus adjacent
 * transpositions, the most common typo ("wbe" for "web"). */
unsigned string_edit_distance(const char *a, const char *b) {
        unsigned rows[3][64], *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
        size_t la = strlen(a), lb = strlen(b);

        if (la >= ELEMENTSOF(rows[0]) || lb >= ELEMENTSOF(rows[0]))
                return 255;
        for (size_t j = 0; j <= lb; j++)
                prev[j] = (unsigned) j;
        for (size_t i = 1; i <= la; i++) {
                unsigned *t;

                cur[0] = (unsigned) i;
                for (size_t j = 1; j <= lb; j++) {
                        unsigned sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
                        unsigned del = prev[j] + 1, ins = cur[j - 1] + 1;

                        cur[j] = MIN(sub, MIN(del, ins));
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                                cur[j] = MIN(cur[j], prev2[j - 2] + 1);
                }
                t = prev2;
                prev2 = prev;
                prev = cur;
                cur = t;
        }
        return MIN(prev[lb], 255u);
}

/* Close enough to be a typo: at most a third of the word, at least one edit. */
static unsigned suggest_limit(const char *name) {
        return MAX((unsigned) strlen(name) / 3, 1u);
}

const char *syscall_suggest(const char *name) {
        const char *best = NULL;
        unsigned best_d = UINT32_MAX, limit;

        if (!name || !*name)
                return NULL;
        pthread_once(&all_names_once, all_names_init);
        limit = suggest_limit(name);

        pthread_mutex_lock(&intern_lock);
        for (size_t i = 0; i < n_interned; i++) {
                unsigned d = string_edit_distance(name, interned[i]);

                if (d < best_d) {
                        best_d = d;
                        best = interned[i];
                }
        }
        pthread_mutex_unlock(&intern_lock);
        return best_d <= limit ? best : NULL;
}

const char *syscall_group_suggest(const char *name) {
        const char *best = NULL;
        unsigned best_d = UINT32_MAX;

        if (!name || !*name)
                return NULL;
        FOREACH_ELEMENT(g, syscall_groups) {
                unsigned d = string_edit_distance(name, g->name);

                if (d < best_d) {
                        best_d = d;
                        best = g->name;
                }
        }
        return best_d <= suggest_limit(name) ? best : NULL;
}

/* ---- argument widths ---- */

static const char *const syscall_arg_width_table[_SYSCALL_WIDTH_MAX] = {
        [SYSCALL_WIDTH_U64] = "u64", [SYSCALL_WIDTH_S64] = "s64", [SYSCALL_WIDTH_U32] = "u32",
        [SYSCALL_WIDTH_S32] = "s32", [SYSCALL_WIDTH_U16] = "u16",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(syscall_arg_width, SyscallArgWidth)

unsigned syscall_arg_width_bits(SyscallArgWidth w) {
        switch (w) {
        case SYSCALL_WIDTH_U32:
        case SYSCALL_WIDTH_S32:
                return 32;
        case SYSCALL_WIDTH_U16:
                return 16;
        default:
                return 64;
        }
}

bool syscall_arg_width_signed(SyscallArgWidth w) {
        return w == SYSCALL_WIDTH_S64 || w == SYSCALL_WIDTH_S32;
}

uint64_t syscall_arg_normalize(SyscallArgWidth w, uint64_t raw) {
        switch (w) {
        case SYSCALL_WIDTH_U32:
                return (uint32_t) raw;
        case SYSCALL_WIDTH_S32:
                return (uint64_t) (int64_t) (int32_t) (uint32_t) raw;
        case SYSCALL_WIDTH_U16:
                return (uint16_t) raw;
        default:
                return raw;
        }
}

static const SyscallArgWidthEntry *width_table(uint32_t audit_arch, size_t *ret_n) {
        switch (audit_arch) {
        case SCMP_ARCH_X86_64:
                *ret_n = syscall_arg_widths_x86_64_n;
                return syscall_arg_widths_x86_64;
        case SCMP_ARCH_X86:
                *ret_n = syscall_arg_widths_i386_n;
                return syscall_arg_widths_i386;
        default:
                *ret_n = 0;
                return NULL;
        }
}

bool syscall_arg_widths_known(uint32_t audit_arch) {
        size_t n;

        return width_table(audit_arch, &n) != NULL;
}

size_t syscall_arg_widths_count(uint32_t audit_arch) {
        size_t n;

        (void) width_table(audit_arch, &n);
        return n;
}

static int width_entry_cmp(const void *key, const void *elem) {
        return strcmp(key, ((const SyscallArgWidthEntry *) elem)->name);
}

int syscall_arg_widths(uint32_t audit_arch, const char *name, SyscallArgWidth ret[static 6]) {
        const SyscallArgWidthEntry *table, *e;
        size_t n;

        table = width_table(audit_arch, &n);
        if (!table)
                return -EOPNOTSUPP;
        if (!name)
                return -ENOENT;
        e = bsearch(name, table, n, sizeof(table[0]), width_entry_cmp);
        if (!e)
                return -ENOENT;
        for (size_t i = 0; i < 6; i++)
                ret[i] = (SyscallArgWidth) e->widths[i];
        return 0;
}
