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

#include <errno.h>
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
        SYSCALL_ARG_FD_OBJECT,  /* a file descriptor whose open file is the call's object (fchmod,
                                 * fsetxattr): path resources match the path of that file */
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

/* True if the syscall has a PATH/PATH2 (or an FD_OBJECT, whose file's path is judged) or a SOCKADDR
 * argument. */
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

/* How the kernel reads one argument register of one syscall on one ABI: the
 * C type of its parameter. A comparison in a policy is made on the value the
 * kernel sees, so bits above the width never matter (ioctl(fd, TIOCSTI | 1 << 32)
 * is TIOCSTI to the kernel) and signed arguments compare as signed numbers. */
typedef enum SyscallArgWidth {
        SYSCALL_WIDTH_U64, /* unsigned long, size_t, pointers: all 64 bits */
        SYSCALL_WIDTH_S64, /* long, off_t, loff_t: all 64 bits, signed */
        SYSCALL_WIDTH_U32, /* unsigned int, u32, uid_t: the low 32 bits */
        SYSCALL_WIDTH_S32, /* int, pid_t, clockid_t: the low 32 bits, signed */
        SYSCALL_WIDTH_U16, /* umode_t: the low 16 bits */
        _SYSCALL_WIDTH_MAX,
        _SYSCALL_WIDTH_INVALID = -EINVAL,
} SyscallArgWidth;

const char *syscall_arg_width_to_string(SyscallArgWidth w) _const_; /* "u32", "s64", ... */
unsigned syscall_arg_width_bits(SyscallArgWidth w) _const_;
bool syscall_arg_width_signed(SyscallArgWidth w) _const_;
/* The value the kernel sees in a register: the low bits, zero- or sign-extended to 64 bits. */
uint64_t syscall_arg_normalize(SyscallArgWidth w, uint64_t raw) _const_;

/* True when ForgeOne knows the argument widths of this AUDIT_ARCH_* (x86_64 and i386). */
bool syscall_arg_widths_known(uint32_t audit_arch) _const_;
/* The width of every argument register of a syscall on an ABI. -EOPNOTSUPP: no table for the
 * architecture; -ENOENT: a name the table does not have. */
int syscall_arg_widths(uint32_t audit_arch, const char *name, SyscallArgWidth ret[static 6]);
/* Number of entries of an ABI's table (0 when unknown), for tests and reports. */
size_t syscall_arg_widths_count(uint32_t audit_arch) _const_;

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
