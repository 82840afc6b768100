/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Symbolic constants a policy may use for integer syscall arguments
 * ("O_WRONLY", "AF_INET", "CLONE_NEWUSER", "TIOCSTI", ...), and the small
 * expression syntax of argument values: integers in decimal, 0x hex or
 * leading-0 octal, names from the table, and "A|B|0x10" combinations.
 * Values are those of the architecture ForgeOne was built for.
 */

#include <stddef.h>
#include <stdint.h>

#include "forgeone/macro.h"

typedef struct PolicyConstant {
        const char *name;
        uint64_t value;
} PolicyConstant;

/* Value of one symbolic name, or -ENOENT. */
int policy_constant_lookup(const char *name, uint64_t *ret);

/* Iterate the table: index 0..n-1, NULL past the end (for documentation). */
const PolicyConstant *policy_constant_by_index(size_t i) _const_;

/* Closest known name to a misspelled one, or NULL. */
const char *policy_constant_suggest(const char *name);

/* Parses "O_WRONLY|O_CREAT", "0x10", "0755", "-100". On failure returns
 * -EINVAL (syntax; empty operand, trailing garbage, overflow) or -ENOENT
 * (unknown name), and points *bad_token, when given, at a heap copy of the
 * offending operand (caller frees). */
int policy_constant_parse(const char *expr, uint64_t *ret, char **bad_token);
