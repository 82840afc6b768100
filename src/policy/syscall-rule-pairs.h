/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Every (syscall name, rule) pair of a policy, once each, sorted by name
 * with the rules of one name in file order: the shape both the graph builder and the
 * kernel compiler walk, one syscall at a time. Internal to src/policy/.
 */

#include <stddef.h>
#include <stdint.h>

#include "forgeone/policy-compile.h" /* POLICY_COMPILE_ALL_IDENTITIES */
#include "forgeone/policy.h"

typedef struct NamePair {
        const char *name; /* points into the rule's syscalls: valid while the Policy is */
        uint32_t rule;    /* index into Policy.rules */
} NamePair;

/* identity: pairs of the rules that apply to it (its own and "*"), or
 * POLICY_COMPILE_ALL_IDENTITIES (from policy-compile.h) for every rule.
 * *ret is never NULL on success, even with no pairs (caller frees). */
int syscall_rule_pairs(const Policy *p, int identity, NamePair **ret, size_t *ret_n);
