/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What ForgeOne knows about syscalls, independent of any policy: named
 * groups ("@file-read", "@network", ...), which arguments of a syscall
 * carry a path, a directory fd, open flags or a socket address, and which
 * access modes a path syscall requests. Pure data and lookups: the policy
 * parser uses it to expand and validate rules, the supervisor to decode a
 * trapped call. Syscall numbers come from libseccomp's tables.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "forgeone/macro.h"

typedef enum SyscallArg {
        SYSCALL_ARG_NONE,
        SYSCALL_ARG_INT,        /* plain integer */
        SYSCALL_ARG_FD,         /* a file descriptor (not a directory base) */
        SYSCALL_ARG_DIRFD,      /* base for the following path argument (AT_FDCWD allowed) */
        SYSCALL_ARG_PATH,       /* NUL-terminated path in the target's memory */
        SYSCALL_ARG_PATH2,      /* second path (rename/link target), with its own DIRFD2 */
        SYSCALL_ARG_DIRFD2,
        SYSCALL_ARG_OPEN_FLAGS, /* O_* flags: access derives from them */
        SYSCALL_ARG_OPEN_HOW,   /* struct open_how * (openat2) */
        SYSCALL_ARG_AT_FLAGS,   /* AT_* flags (AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH, AT_REMOVEDIR) */
        SYSCALL_ARG_MODE,
        SYSCALL_ARG_SOCKADDR,   /* struct sockaddr * */
        SYSCALL_ARG_SOCKLEN,    /* its length (value) */
        SYSCALL_ARG_PTR,        /* other pointer: not read */
        _SYSCALL_ARG_MAX,
} SyscallArg;

/* How a SOCKADDR argument carries its address. */
typedef enum SyscallAddrForm {
        SYSCALL_ADDR_SOCKADDR, /* struct sockaddr *, its length in the SOCKLEN argument */
        SYSCALL_ADDR_MSGHDR,   /* struct msghdr *: the address is msg_name / msg_namelen */
        SYSCALL_ADDR_MMSGHDR,  /* struct mmsghdr[], count in the next argument: one address per message */
        _SYSCALL_ADDR_FORM_MAX,
} SyscallAddrForm;

typedef struct SyscallInfo {
        const char *name;
        SyscallArg args[6];
        /* Access requested on PATH when no OPEN_FLAGS/OPEN_HOW argument
         * refines it; access2 for PATH2. 0 for syscalls without paths. */
        unsigned access;
        unsigned access2;
        bool emulable; /* the supervisor can perform it on the workload's behalf */
        SyscallAddrForm addr_form; /* meaningful when an argument is SYSCALL_ARG_SOCKADDR */
} SyscallInfo;

/* Description of a syscall that takes paths, fds of interest or addresses;
 * NULL for syscalls whose arguments are all plain integers. */
const SyscallInfo *syscall_info_lookup(const char *name) _pure_;
/* Iterate the descriptions (sorted by name): index 0..n-1, NULL past the end. */
const SyscallInfo *syscall_info_by_index(size_t i) _const_;

/* True if the syscall has a PATH/PATH2 or SOCKADDR argument. */
bool syscall_has_path(const char *name) _pure_;
bool syscall_has_sockaddr(const char *name) _pure_;

/* Every access mask a call of this syscall can request on one of its paths,
 * OR-ed together (open flags contribute read|write|create|stat); 0 without paths. */
unsigned syscall_possible_access(const char *name) _pure_;

/* Access mask for open(2)-style flags: O_RDONLY -> read, O_WRONLY/O_RDWR ->
 * read/write, O_CREAT -> create, O_TRUNC -> write, O_PATH -> stat. */
unsigned syscall_open_flags_to_access(uint64_t flags) _const_;

typedef struct SyscallGroup {
        const char *name;        /* "@file-read" */
        const char *description; /* one line */
        const char *const *members; /* NULL-terminated: syscall names or other "@groups" */
} SyscallGroup;

const SyscallGroup *syscall_group_lookup(const char *name) _pure_;
/* Iterate groups: index 0..n-1, NULL past the end. */
const SyscallGroup *syscall_group_by_index(size_t i) _const_;

/* Expand a name or "@group" into *names (strv, appended, unsorted).
 * -ENOENT: unknown group; -EINVAL: unknown syscall for every architecture. */
int syscall_expand(const char *name_or_group, char ***names);

/* Native syscall number via libseccomp, or -ENOENT if the native
 * architecture has no such syscall. */
int syscall_resolve_native(const char *name);
/* Number on a given AUDIT_ARCH_*, or -ENOENT. */
int syscall_resolve_arch(const char *name, uint32_t audit_arch);
/* Name for a number on an AUDIT_ARCH_*, or NULL. Returned string is static. */
const char *syscall_name(uint32_t audit_arch, int nr);

/* True if some architecture libseccomp knows has a syscall of this name. */
bool syscall_known(const char *name);

/* The closest known syscall name to a misspelled one (for "did you mean"),
 * or NULL when nothing is close. */
const char *syscall_suggest(const char *name);
/* The same for "@group" names. */
const char *syscall_group_suggest(const char *name);

/* Edit distance (Levenshtein) between two short strings, capped at 255. */
unsigned string_edit_distance(const char *a, const char *b) _pure_;
