/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "forgeone/policy-compile.h"
#include "syscall-rule-pairs.h"

static int name_pair_compare(const void *a, const void *b) {
        const NamePair *x = a, *y = b;
        int c = strcmp(x->name, y->name);

        if (c != 0)
                return c;
        return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static bool rule_applies(const PolicyRule *rule, int identity) {
        return identity == POLICY_COMPILE_ALL_IDENTITIES || rule->identity == POLICY_IDENTITY_ANY ||
               rule->identity == identity;
}

int syscall_rule_pairs(const Policy *p, int identity, NamePair **ret, size_t *ret_n) {
        NamePair *pairs;
        size_t n = 0;

        for (size_t i = 0; i < p->n_rules; i++)
                if (rule_applies(&p->rules[i], identity))
                        for (char **s = p->rules[i].syscalls; s && *s; s++)
                                n++;

        pairs = calloc(MAX(n, (size_t) 1), sizeof(NamePair));
        if (!pairs)
                return -ENOMEM;
        n = 0;
        for (size_t i = 0; i < p->n_rules; i++)
                if (rule_applies(&p->rules[i], identity))
                        for (char **s = p->rules[i].syscalls; s && *s; s++)
                                pairs[n++] = (NamePair) { .name = *s, .rule = (uint32_t) i };
        if (n > 1) {
                size_t w = 1;

                qsort(pairs, n, sizeof(NamePair), name_pair_compare);
                /* A rule naming a syscall twice (directly and through a group) counts once. Sorted by
                 * (name, rule), the repeats are neighbours. */
                for (size_t k = 1; k < n; k++)
                        if (pairs[k].rule != pairs[w - 1].rule || !streq(pairs[k].name, pairs[w - 1].name))
                                pairs[w++] = pairs[k];
                n = w;
        }

        *ret = pairs;
        *ret_n = n;
        return 0;
}
