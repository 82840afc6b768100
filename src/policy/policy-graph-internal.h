/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Internals of the policy graph shared by its index structures (path trie,
 * keyed entry tables) and the evaluator. An Entry is one way a rule can
 * apply: the rule alone, or the rule through one of its resources (one
 * path pattern, one network endpoint, one argument set). Every entry carries
 * a precedence key computed at build time, so choosing the deciding rule is
 * a single integer comparison and sorted lists can stop early.
 */

#include <stdbool.h>
#include <stdlib.h>
#include <stdint.h>

#include "forgeone/policy-graph.h"
#include "forgeone/policy.h"

/* Key layout, most significant first: verdict (2 bits), named identity (1),
 * has a resource (1), resource specificity (20), then the inverted rule index
 * so that the earlier rule wins a tie. A real key is never 0. */
#define ENTRY_KEY_SPEC_MAX ((1u << 20) - 1)

typedef struct Entry {
        uint64_t key;
        const PolicyRule *rule;
        const PolicyResource *resource;    /* NULL: the rule has no object */
        const PolicyNetEndpoint *endpoint; /* network entries only */
} Entry;

static inline uint64_t entry_key(const PolicyRule *rule, size_t rule_index, bool has_resource,
                                 unsigned spec) {
        return (uint64_t) rule->verdict << 62 | (uint64_t) (rule->identity >= 0) << 61 |
               (uint64_t) has_resource << 60 | (uint64_t) MIN(spec, ENTRY_KEY_SPEC_MAX) << 40 |
               (uint64_t) (UINT32_MAX - (uint32_t) rule_index);
}

/* Highest key first. */
int entry_compare_desc(const void *a, const void *b);

/* qsort() whose array may be NULL when empty (glibc declares it nonnull). */
static inline void qsort_safe(void *base, size_t n, size_t size,
                              int (*compare)(const void *, const void *)) {
        if (n > 1)
                qsort(base, n, size, compare);
}

/* The running state of one evaluation: lives on the caller's stack. */
typedef struct EvalState {
        const PolicyQuery *query;
        const Entry *best;
        uint64_t best_key; /* 0: nothing yet */
        const Entry *blocked;
        uint64_t blocked_key;
} EvalState;

static inline void eval_consider(EvalState *s, const Entry *e) {
        if (e->key <= s->best_key)
                return;
        if (e->rule->min_trust >= 0 && s->query->trust < e->rule->min_trust) {
                if (e->key > s->blocked_key) {
                        s->blocked = e;
                        s->blocked_key = e->key;
                }
                return;
        }
        s->best = e;
        s->best_key = e->key;
}

/* Path access: allow/emulate grant a set of modes, so the request must lie
 * inside it; deny/quarantine forbid a set, so touching any of it matches. */
static inline bool entry_access_matches(const Entry *e, unsigned access) {
        if (!e->resource || e->resource->type != POLICY_RESOURCE_PATH)
                return true;
        if (e->rule->verdict == POLICY_VERDICT_ALLOW || e->rule->verdict == POLICY_VERDICT_EMULATE)
                return (access & ~e->resource->access) == 0;
        return (access & e->resource->access) != 0;
}

/* Appends to a growable array; *allocated counts elements. */
int array_grow(void **array, size_t *allocated, size_t need, size_t elem_size);
#define ARRAY_GROW(array, allocated, need)                                                                  \
        array_grow((void **) &(array), &(allocated), (need), sizeof(*(array)))
