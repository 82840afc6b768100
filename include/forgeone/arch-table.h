/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The one table of the syscall ABIs ForgeOne knows (every one libseccomp 2.5
 * knows): AUDIT_ARCH_* value (which libseccomp's SCMP_ARCH_* equal) and the
 * name policies, reports and logs use for it ("x86_64", "x86", "x32", ...).
 * Pure data and lookups.
 */

#include <stddef.h>
#include <stdint.h>

#include "forgeone/macro.h"

typedef struct ArchInfo {
        uint32_t arch; /* AUDIT_ARCH_* */
        const char *name;
} ArchInfo;

/* The name of an AUDIT_ARCH_* value, or NULL for one the table does not have. */
const char *arch_table_to_string(uint32_t audit_arch) _const_;
/* The AUDIT_ARCH_* value of a name, or 0 (no ABI has it) for an unknown one or NULL. */
uint32_t arch_table_from_string(const char *name) _pure_;
/* Iterate the table: index 0..n-1, NULL past the end. */
const ArchInfo *arch_table_by_index(size_t i) _const_;
