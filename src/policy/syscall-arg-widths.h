/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The generated argument-width tables (syscall-arg-widths.c, made by
 * scripts/gen-syscall-arg-widths.py): one entry per syscall name libseccomp
 * knows on the ABI, sorted by name. Internal to src/policy/; the lookup is
 * syscall_arg_widths() in syscall-table.h.
 */

#include <stddef.h>
#include <stdint.h>

#include "forgeone/syscall-table.h"

typedef struct SyscallArgWidthEntry {
        const char *name;
        uint8_t n_args;    /* arguments the kernel reads */
        uint8_t widths[6]; /* SyscallArgWidth of each register */
} SyscallArgWidthEntry;

extern const SyscallArgWidthEntry syscall_arg_widths_x86_64[];
extern const size_t syscall_arg_widths_x86_64_n;
extern const SyscallArgWidthEntry syscall_arg_widths_i386[];
extern const size_t syscall_arg_widths_i386_n;
