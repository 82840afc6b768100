/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "forgeone/policy-compile.h"
#include "forgeone/string-table.h"
#include "syscall-rule-pairs.h"

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif

#define BUILTIN_WHY "builtin listener denial"

static const char *const policy_kernel_action_table[_POLICY_KERNEL_ACTION_MAX] = {
        [POLICY_KERNEL_ALLOW] = "allow",
        [POLICY_KERNEL_ERRNO] = "errno",
        [POLICY_KERNEL_KILL] = "kill",
        [POLICY_KERNEL_NOTIFY] = "notify",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(policy_kernel_action, PolicyKernelAction)

PolicyFilter *policy_filter_free(PolicyFilter *f) {
        if (!f)
                return NULL;
        for (size_t i = 0; i < f->n_syscalls; i++) {
                free((char *) f->syscalls[i].name);
                free((char *) f->syscalls[i].rule_id);
        }
        free(f->syscalls);
        free(f->insns);
        free(f->arches);
        free(f);
        return NULL;
}

/* What the kernel does with one syscall for one identity. */
typedef struct Plan {
        PolicyKernelAction action;
        int errno_value;
        bool conditional;       /* ALLOW/ERRNO only when argument clauses hold, else the default */
        const PolicyRule *rule; /* deciding rule; NULL for the default */
        const char *why;        /* NOTIFY */
        const uint32_t *rules;  /* the applicable rules (indices), for conditional plans */
        size_t n_rules;
} Plan;

static void plan_default(const Policy *p, Plan *ret) {
        *ret = (Plan) { .errno_value = p->default_errno };
        switch (p->default_verdict) {
        case POLICY_VERDICT_ALLOW:
                ret->action = POLICY_KERNEL_ALLOW;
                break;
        case POLICY_VERDICT_DENY:
                ret->action = POLICY_KERNEL_ERRNO;
                break;
        default:
                ret->action = POLICY_KERNEL_NOTIFY;
                ret->why = p->default_verdict == POLICY_VERDICT_QUARANTINE ? "quarantine" : "emulate";
                break;
        }
}

static bool rule_has_resource_type(const Policy *p, const PolicyRule *r, PolicyResourceType t) {
        for (size_t i = 0; i < r->n_resources; i++)
                if (p->resources[r->resources[i]].type == t)
                        return true;
        return false;
}

/* Why the supervisor must see calls this rule could decide, from the strongest reason down; NULL when
 * registers are enough. */
static const char *rule_why(const Policy *p, const PolicyRule *r, unsigned *ret_rank) {
        static const char *const reasons[] = { "quarantine", "emulate", "path resource", "network resource",
                                               "trust" };
        bool hit[ELEMENTSOF(reasons)] = {
                r->verdict == POLICY_VERDICT_QUARANTINE,
                r->verdict == POLICY_VERDICT_EMULATE,
                rule_has_resource_type(p, r, POLICY_RESOURCE_PATH),
                rule_has_resource_type(p, r, POLICY_RESOURCE_NETWORK),
                r->min_trust >= 0,
        };

        for (unsigned i = 0; i < ELEMENTSOF(reasons); i++)
                if (hit[i]) {
                        *ret_rank = i;
                        return reasons[i];
                }
        return NULL;
}

/* libseccomp ANDs the comparisons of one rule but takes one comparison per argument. */
static bool clauses_expressible(const Policy *p, const uint32_t *rules, size_t n) {
        for (size_t i = 0; i < n; i++) {
                const PolicyRule *r = &p->rules[rules[i]];

                for (size_t j = 0; j < r->n_resources; j++) {
                        const PolicyResource *res = &p->resources[r->resources[j]];
                        unsigned seen = 0;

                        if (res->type != POLICY_RESOURCE_ARGS || res->n_args > 6)
                                return false;
                        for (size_t k = 0; k < res->n_args; k++) {
                                if (res->args[k].index > 5 || (seen & (1u << res->args[k].index)))
                                        return false;
                                seen |= 1u << res->args[k].index;
                        }
                }
        }
        return true;
}

/* Rule a is the better explanation than b among rules of one verdict without objects: a named identity
 * beats "*", then file order. */
static bool rule_more_specific(const PolicyRule *a, const PolicyRule *b) {
        if ((a->identity >= 0) != (b->identity >= 0))
                return a->identity >= 0;
        return a < b;
}

static void plan_for(const Policy *p, const NamePair *pairs, size_t n_pairs, int identity, uint32_t *buf,
                     Plan *ret) {
        const PolicyRule *uncond_top = NULL, *why_rule = NULL;
        const char *why = NULL;
        unsigned why_rank = UINT32_MAX;
        PolicyVerdict top = POLICY_VERDICT_ALLOW;
        size_t n = 0;
        bool any_allow = false;

        for (size_t i = 0; i < n_pairs; i++) {
                const PolicyRule *r = &p->rules[pairs[i].rule];

                if (r->identity == POLICY_IDENTITY_ANY || r->identity == identity)
                        buf[n++] = pairs[i].rule;
        }
        if (n == 0) {
                plan_default(p, ret);
                return;
        }

        for (size_t i = 0; i < n; i++)
                top = MAX(top, p->rules[buf[i]].verdict);
        for (size_t i = 0; i < n; i++) {
                const PolicyRule *r = &p->rules[buf[i]];
                unsigned rank;
                const char *w;

                if (r->verdict == top && r->n_resources == 0 && r->min_trust < 0 &&
                    (!uncond_top || rule_more_specific(r, uncond_top)))
                        uncond_top = r;
                if (r->verdict == POLICY_VERDICT_ALLOW)
                        any_allow = true;
                w = rule_why(p, r, &rank);
                if (w && rank < why_rank) {
                        why = w;
                        why_rank = rank;
                        why_rule = r;
                }
        }

        *ret = (Plan) { .rules = buf, .n_rules = n };

        if (uncond_top) {
                /* Nothing outranks it, so every call gets its verdict whatever else matches. */
                ret->rule = uncond_top;
                switch (top) {
                case POLICY_VERDICT_ALLOW:
                        ret->action = POLICY_KERNEL_ALLOW;
                        return;
                case POLICY_VERDICT_DENY:
                        /* ... but a more specific deny explains the calls it matches, and its errno is
                         * theirs: one with an object, or one that only some trust scores enable. Other
                         * unconditional denies are less specific than uncond_top and never explain. */
                        for (size_t i = 0; i < n; i++) {
                                const PolicyRule *r = &p->rules[buf[i]];
                                unsigned rank;

                                if (r->verdict == POLICY_VERDICT_DENY &&
                                    r->errno_value != uncond_top->errno_value &&
                                    (r->n_resources > 0 ||
                                     (r->min_trust >= 0 && rule_more_specific(r, uncond_top)))) {
                                        ret->action = POLICY_KERNEL_NOTIFY;
                                        ret->why = rule_why(p, r, &rank) ?: "arguments";
                                        ret->rule = r;
                                        return;
                                }
                        }
                        ret->action = POLICY_KERNEL_ERRNO;
                        ret->errno_value = uncond_top->errno_value;
                        return;
                default:
                        ret->action = POLICY_KERNEL_NOTIFY;
                        ret->why = top == POLICY_VERDICT_QUARANTINE ? "quarantine" : "emulate";
                        return;
                }
        }

        if (why) {
                ret->action = POLICY_KERNEL_NOTIFY;
                ret->why = why;
                ret->rule = why_rule;
                return;
        }

        /* Only allow/deny rules with argument conditions decide now (an unconditional allow below a
         * conditional deny included). */
        ret->rule = &p->rules[buf[0]];
        ret->action = POLICY_KERNEL_NOTIFY;
        ret->why = "arguments";
        if (top == POLICY_VERDICT_ALLOW) {
                if (clauses_expressible(p, buf, n)) {
                        ret->action = POLICY_KERNEL_ALLOW;
                        ret->conditional = true;
                        ret->why = NULL;
                }
                return;
        }
        /* top is deny, all of them conditional */
        if (any_allow)
                return; /* which of overlapping allow and deny clauses wins is not libseccomp's to choose */
        for (size_t i = 1; i < n; i++)
                if (p->rules[buf[i]].errno_value != p->rules[buf[0]].errno_value)
                        return;
        if (clauses_expressible(p, buf, n)) {
                ret->action = POLICY_KERNEL_ERRNO;
                ret->errno_value = p->rules[buf[0]].errno_value;
                ret->conditional = true;
                ret->why = NULL;
        }
}

static bool plan_equal(const Plan *a, const Plan *b) {
        if (a->action != b->action || a->conditional != b->conditional)
                return false;
        if (a->action == POLICY_KERNEL_ERRNO && a->errno_value != b->errno_value)
                return false;
        if (a->conditional &&
            (a->n_rules != b->n_rules || memcmp(a->rules, b->rules, a->n_rules * sizeof(uint32_t)) != 0))
                return false;
        return true;
}

static uint32_t scmp_action(PolicyKernelAction a, int errno_value) {
        switch (a) {
        case POLICY_KERNEL_ALLOW:
                return SCMP_ACT_ALLOW;
        case POLICY_KERNEL_ERRNO:
                return SCMP_ACT_ERRNO((uint16_t) errno_value);
        case POLICY_KERNEL_KILL:
                return SCMP_ACT_KILL_PROCESS;
        default:
                return SCMP_ACT_NOTIFY;
        }
}

static int rule_add(scmp_filter_ctx ctx, uint32_t default_action, uint32_t action, int nr, unsigned n,
                    const struct scmp_arg_cmp *cmps) {
        /* libseccomp refuses rules that repeat the default; they would change nothing anyway. */
        if (action == default_action)
                return 0;
        return seccomp_rule_add_array(ctx, action, nr, n, cmps);
}

/* ---- argument conditions as libseccomp comparisons ----
 *
 * The kernel reads an int argument as the low 32 bits of its register, but libseccomp 2.5 compares all 64
 * bits (SCMP_CMP32 only truncates the datum) and has no comparison that ignores the high word but
 * SCMP_CMP_MASKED_EQ with a mask below 2^32. So a condition becomes an OR of alternatives, each one
 * libseccomp comparison, that together hold exactly when policy_arg_cond_test() does:
 *   eq      one masked_eq on the width's bits
 *   ne      one masked_eq per bit: some bit differs from the value's
 *   lt..ge  a range of the width's values; k < c is, for each bit i set in c, "the bits above i are c's
 *           and bit i is clear" (k > c likewise on c's clear bits); signed arguments flip the sign bit,
 *           which makes the order of two's complement numbers that of unsigned ones
 * Conditions on 64-bit unsigned arguments use libseccomp's own comparisons. A resource is an AND of
 * conditions, so its alternatives are their product; past CLAUSES_MAX for one resource (two "ne" on int
 * arguments: 32 x 32) the supervisor decides the syscall instead (why "argument width"). */

#define ALTS_MAX    64
#define CLAUSES_MAX 64

typedef struct Alt {
        bool any; /* always holds: no comparison */
        struct scmp_arg_cmp cmp;
} Alt;

static uint64_t bits_mask(unsigned bits) {
        return bits >= 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
}

static Alt alt_masked(unsigned index, uint64_t mask, uint64_t value) {
        return (Alt) {
                .cmp = { .arg = index, .op = SCMP_CMP_MASKED_EQ, .datum_a = mask, .datum_b = value },
        };
}

/* u < c (below) or u > c on the width's bits, u being the argument with the sign bit flipped when flip. */
static size_t alts_prefix(unsigned index, unsigned bits, uint64_t flip, uint64_t c, bool below, Alt *ret) {
        uint64_t wm = bits_mask(bits);
        size_t n = 0;

        for (unsigned i = 0; i < bits; i++) {
                uint64_t bit = UINT64_C(1) << i, mask = wm & ~(bit - 1), value;

                if (below ? !(c & bit) : (c & bit))
                        continue;
                value = below ? (c & mask & ~bit) : ((c & mask) | bit);
                ret[n++] = alt_masked(index, mask, value ^ (flip & mask));
        }
        return n;
}

/* The alternatives of one condition on an argument of width w: 0 means it never holds. */
static size_t cond_alternatives(const PolicyArgCond *c, SyscallArgWidth w, Alt ret[static ALTS_MAX]) {
        unsigned bits = syscall_arg_width_bits(w);
        bool sgn = syscall_arg_width_signed(w);
        uint64_t wm = bits_mask(bits), sign = UINT64_C(1) << (bits - 1), flip = sgn ? sign : 0;
        bool fits = syscall_arg_normalize(w, c->value) == c->value;
        uint64_t u;

        switch (c->op) {
        case POLICY_ARG_MASKED_EQ: {
                uint64_t mask = c->mask & wm, value = c->value & wm;

                if (value & ~mask)
                        return 0;
                if (mask == 0)
                        return ret[0] = (Alt) { .any = true }, 1;
                ret[0] = alt_masked(c->index, mask, value);
                return 1;
        }
        case POLICY_ARG_EQ:
                if (!fits)
                        return 0;
                if (bits == 64)
                        ret[0] = (Alt) { .cmp = SCMP_CMP64(c->index, SCMP_CMP_EQ, c->value) };
                else
                        ret[0] = alt_masked(c->index, wm, c->value & wm);
                return 1;
        case POLICY_ARG_NE:
                if (!fits)
                        return ret[0] = (Alt) { .any = true }, 1;
                if (bits == 64) {
                        ret[0] = (Alt) { .cmp = SCMP_CMP64(c->index, SCMP_CMP_NE, c->value) };
                        return 1;
                }
                for (unsigned i = 0; i < bits; i++) {
                        uint64_t bit = UINT64_C(1) << i;

                        ret[i] = alt_masked(c->index, bit, ~c->value & bit);
                }
                return bits;
        case POLICY_ARG_LT:
        case POLICY_ARG_LE:
        case POLICY_ARG_GT:
        case POLICY_ARG_GE:
                break;
        default:
                return 0;
        }

        if (bits == 64 && !sgn) {
                static const enum scmp_compare ops[] = {
                        [POLICY_ARG_LT] = SCMP_CMP_LT,
                        [POLICY_ARG_LE] = SCMP_CMP_LE,
                        [POLICY_ARG_GT] = SCMP_CMP_GT,
                        [POLICY_ARG_GE] = SCMP_CMP_GE,
                };

                ret[0] = (Alt) { .cmp = SCMP_CMP64(c->index, ops[c->op], c->value) };
                return 1;
        }

        /* Where the value lies against the argument's range [min, max]: below, inside (u: its place in
         * the unsigned order of the flipped bits) or above. */
        int where;
        if (sgn) {
                int64_t v = (int64_t) c->value, min = -(int64_t) (sign - 1) - 1, max = (int64_t) (sign - 1);

                where = v < min ? -1 : v > max ? 1 : 0;
        } else
                where = c->value > wm ? 1 : 0;
        u = (c->value & wm) ^ flip;

        switch (c->op) {
        case POLICY_ARG_LT: /* k < v */
                if (where < 0 || (where == 0 && u == 0))
                        return 0;
                if (where > 0)
                        return ret[0] = (Alt) { .any = true }, 1;
                return alts_prefix(c->index, bits, flip, u, true, ret);
        case POLICY_ARG_LE: /* k < v + 1 */
                if (where < 0)
                        return 0;
                if (where > 0 || u == wm)
                        return ret[0] = (Alt) { .any = true }, 1;
                return alts_prefix(c->index, bits, flip, u + 1, true, ret);
        case POLICY_ARG_GT: /* k > v */
                if (where > 0 || (where == 0 && u == wm))
                        return 0;
                if (where < 0)
                        return ret[0] = (Alt) { .any = true }, 1;
                return alts_prefix(c->index, bits, flip, u, false, ret);
        default: /* GE: k > v - 1 */
                if (where > 0)
                        return 0;
                if (where < 0 || u == 0)
                        return ret[0] = (Alt) { .any = true }, 1;
                return alts_prefix(c->index, bits, flip, u - 1, false, ret);
        }
}

/* Adds the conjunction of conds as libseccomp rules (the product of their alternatives); -E2BIG past
 * CLAUSES_MAX. */
static int emit_conds(scmp_filter_ctx ctx, uint32_t default_action, uint32_t action, int nr,
                      const SyscallArgWidth widths[static 6], const PolicyArgCond *conds, size_t n_conds) {
        Alt alts[6][ALTS_MAX];
        size_t n_alts[6], pick[6] = {}, total = 1;
        int r;

        if (n_conds > 6)
                return -EINVAL;
        for (size_t k = 0; k < n_conds; k++) {
                if (conds[k].index > 5)
                        return -EINVAL;
                n_alts[k] = cond_alternatives(&conds[k], widths[conds[k].index], alts[k]);
                if (n_alts[k] == 0)
                        return 0; /* never holds: nothing to add */
                total *= n_alts[k];
                if (total > CLAUSES_MAX)
                        return -E2BIG;
        }
        for (size_t i = 0; i < total; i++) {
                struct scmp_arg_cmp cmps[6];
                unsigned n = 0;

                for (size_t k = 0; k < n_conds; k++)
                        if (!alts[k][pick[k]].any)
                                cmps[n++] = alts[k][pick[k]].cmp;
                r = rule_add(ctx, default_action, action, nr, n, cmps);
                if (r < 0)
                        return r;
                /* next combination */
                for (size_t k = 0; k < n_conds; k++) {
                        if (++pick[k] < n_alts[k])
                                break;
                        pick[k] = 0;
                }
        }
        return 0;
}

/* seccomp(SECCOMP_SET_MODE_FILTER, flags with SECCOMP_FILTER_FLAG_NEW_LISTENER), and its complement in
 * two disjoint parts: another operation, or the flag clear. op and flags are unsigned ints. */
static const PolicyArgCond builtin_conds[] = {
        { .index = 0, .op = POLICY_ARG_EQ, .value = SECCOMP_SET_MODE_FILTER },
        { .index = 1, .op = POLICY_ARG_MASKED_EQ, .mask = SECCOMP_FILTER_FLAG_NEW_LISTENER,
          .value = SECCOMP_FILTER_FLAG_NEW_LISTENER },
};
static const PolicyArgCond builtin_other_op[] = {
        { .index = 0, .op = POLICY_ARG_NE, .value = SECCOMP_SET_MODE_FILTER },
};
static const PolicyArgCond builtin_no_listener[] = {
        { .index = 1, .op = POLICY_ARG_MASKED_EQ, .mask = SECCOMP_FILTER_FLAG_NEW_LISTENER, .value = 0 },
};

/* The widths of a syscall's arguments on an ABI; 64 bits where ForgeOne has no table (the parser refuses
 * argument conditions there, and the graph does the same). */
static void widths_for(uint32_t arch, const char *name, SyscallArgWidth ret[static 6]) {
        if (syscall_arg_widths(arch, name, ret) < 0)
                for (size_t i = 0; i < 6; i++)
                        ret[i] = SYSCALL_WIDTH_U64;
}

/* One architecture's filter under construction (libseccomp adds a rule to every architecture of a filter,
 * and the widths differ between ABIs: one filter each, merged at the end). */
typedef struct ArchCtx {
        scmp_filter_ctx ctx;
        uint32_t arch;
} ArchCtx;

static int emit_clauses(scmp_filter_ctx ctx, uint32_t arch, uint32_t default_action, const Policy *p,
                        const Plan *plan, int nr, const char *name, bool with_builtin) {
        uint32_t action = scmp_action(plan->action, plan->errno_value);
        SyscallArgWidth widths[6];
        int r;

        widths_for(arch, name, widths);
        for (size_t i = 0; i < plan->n_rules; i++) {
                const PolicyRule *rule = &p->rules[plan->rules[i]];

                for (size_t j = 0; j < rule->n_resources; j++) {
                        const PolicyResource *res = &p->resources[rule->resources[j]];

                        r = emit_conds(ctx, default_action, action, nr, widths, res->args, res->n_args);
                        if (r < 0)
                                return r;
                }
        }
        if (with_builtin) {
                r = emit_conds(ctx, default_action, action, nr, widths, builtin_conds,
                               ELEMENTSOF(builtin_conds));
                if (r < 0)
                        return r;
        }
        return 0;
}

static void seccomp_releasep(scmp_filter_ctx *ctx) {
        if (*ctx)
                seccomp_release(*ctx);
}

static int ctx_new(uint32_t arch, uint32_t default_action, scmp_filter_ctx *ret) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        int r;

        ctx = seccomp_init(default_action);
        if (!ctx)
                return -ENOMEM;
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
        if (r < 0)
                return r;
        r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
        if (r < 0)
                return r;
        /* The workload loads the filter itself after no_new_privs; the supervisor never calls
         * seccomp_load(). */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r < 0)
                return r;

        if (arch != seccomp_arch_native()) {
                r = seccomp_arch_add(ctx, arch);
                if (r < 0 && r != -EEXIST)
                        return r;
                r = seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(ctx);
        return 0;
}

/* Whether every architecture's filter takes the plan's clauses: libseccomp has no transactions in 2.5, so
 * they are tried on scratch filters first and a refusal halfway leaves nothing behind. */
static int clauses_fit(const ArchCtx *ac, size_t n_ac, uint32_t default_action, const Policy *p,
                       const Plan *plan, int nr, const char *name, bool with_builtin) {
        for (size_t a = 0; a < n_ac; a++) {
                _cleanup_(seccomp_releasep) scmp_filter_ctx trial = NULL;
                int r;

                r = ctx_new(ac[a].arch, default_action, &trial);
                if (r < 0)
                        return r;
                r = emit_clauses(trial, ac[a].arch, default_action, p, plan, nr, name, with_builtin);
                if (r < 0)
                        return r == -ENOMEM ? r : 0;
        }
        return 1;
}

static int emit_all(const ArchCtx *ac, size_t n_ac, uint32_t default_action, const Policy *p,
                    const Plan *plan, int nr, const char *name, bool with_builtin) {
        for (size_t a = 0; a < n_ac; a++) {
                int r = emit_clauses(ac[a].ctx, ac[a].arch, default_action, p, plan, nr, name, with_builtin);

                if (r < 0)
                        return r;
        }
        return 0;
}

static bool plan_too_wide(const ArchCtx *ac, size_t n_ac, const Policy *p, const Plan *plan,
                          const char *name);

/* Adds the rules of one syscall; a conditional plan libseccomp turns down becomes NOTIFY. */
/*
 * Calls that change the caller's credentials reach the supervisor whenever the kernel would let them
 * through: the supervisor caches each task's credentials and must see every change (it drops the
 * entry, then continues the call). The id-changing ones reach it also when the policy denies them, so
 * that a call that changes nothing (POSIX_SPAWN_RESETIDS' setresuid(-1, getuid(), -1)) is allowed:
 * it is no privilege change. Sorted.
 */
static const char *const credential_calls[] = {
        "capset",      "execve",      "execveat",    "setfsgid",    "setfsgid32",  "setfsuid",
        "setfsuid32",  "setgid",      "setgid32",    "setgroups",   "setgroups32", "setns",
        "setregid",    "setregid32",  "setresgid",   "setresgid32", "setresuid",   "setresuid32",
        "setreuid",    "setreuid32",  "setuid",      "setuid32",    "umask",       "unshare",
};

static bool credential_call_changes_ids(const char *name) {
        return (strncmp(name, "set", 3) == 0 && !streq(name, "setns")) || streq(name, "capset");
}

static int credential_call_index(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(credential_calls); i++)
                if (streq(credential_calls[i], name))
                        return (int) i;
        return -1;
}

/* Returns true when the plan was changed. def: the default's plan, which a conditional plan falls to. */
static bool plan_credentials(const char *name, const Plan *def, Plan *plan) {
        bool may_allow = plan->action == POLICY_KERNEL_ALLOW ||
                         (plan->conditional && def->action == POLICY_KERNEL_ALLOW);
        bool may_deny = plan->action == POLICY_KERNEL_ERRNO || (plan->conditional && def->action == POLICY_KERNEL_ERRNO);

        if (credential_call_index(name) < 0)
                return false;
        if (may_allow || (may_deny && credential_call_changes_ids(name))) {
                plan->action = POLICY_KERNEL_NOTIFY;
                plan->conditional = false;
                plan->why = "credentials";
                return true;
        }
        return false;
}

static int emit_plan(const ArchCtx *ac, size_t n_ac, const Policy *p, uint32_t default_action, Plan *plan,
                     int nr, const char *name) {
        if (plan->conditional) {
                int r = clauses_fit(ac, n_ac, default_action, p, plan, nr, name, false);

                if (r < 0)
                        return r;
                if (r > 0)
                        return emit_all(ac, n_ac, default_action, p, plan, nr, name, false);
                plan->why = plan_too_wide(ac, n_ac, p, plan, name) ? "argument width" : "arguments";
                plan->action = POLICY_KERNEL_NOTIFY;
                plan->conditional = false;
        }
        for (size_t a = 0; a < n_ac; a++) {
                int r = rule_add(ac[a].ctx, default_action, scmp_action(plan->action, plan->errno_value), nr,
                                 0, NULL);

                if (r < 0)
                        return r;
        }
        return 0;
}

/* True when a resource of the plan takes more libseccomp rules than CLAUSES_MAX on some architecture,
 * compared on the values the kernel reads: why a conditional plan went to the supervisor. */
static bool plan_too_wide(const ArchCtx *ac, size_t n_ac, const Policy *p, const Plan *plan,
                          const char *name) {
        for (size_t a = 0; a < n_ac; a++) {
                SyscallArgWidth widths[6];

                widths_for(ac[a].arch, name, widths);
                for (size_t i = 0; i < plan->n_rules; i++) {
                        const PolicyRule *rule = &p->rules[plan->rules[i]];

                        for (size_t j = 0; j < rule->n_resources; j++) {
                                const PolicyResource *res = &p->resources[rule->resources[j]];
                                size_t product = 1;
                                Alt alts[ALTS_MAX];

                                for (size_t k = 0; k < res->n_args && res->args[k].index <= 5; k++)
                                        product *= cond_alternatives(&res->args[k],
                                                                     widths[res->args[k].index], alts);
                                if (product > CLAUSES_MAX)
                                        return true;
                        }
                }
        }
        return false;
}

/* seccomp(SECCOMP_SET_MODE_FILTER, NEW_LISTENER) fails with EPERM, and every other seccomp call gets what
 * the policy says. The builtin clause and its complement are disjoint, so libseccomp's tree decides them
 * exactly. */
static int emit_seccomp(const ArchCtx *ac, size_t n_ac, const Policy *p, uint32_t default_action, Plan *plan,
                        int nr) {
        const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
        uint32_t action;
        int r;

        if (plan->conditional) {
                if (plan->action == POLICY_KERNEL_ERRNO && plan->errno_value == EPERM) {
                        /* Same action: the builtin is one more clause of the policy's own. */
                        r = clauses_fit(ac, n_ac, default_action, p, plan, nr, "seccomp", true);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                return emit_all(ac, n_ac, default_action, p, plan, nr, "seccomp", true);
                }
                /* Overlapping clauses of different actions: the supervisor decides, after the builtin. */
                plan->action = POLICY_KERNEL_NOTIFY;
                plan->conditional = false;
                plan->why = "arguments";
        }

        action = scmp_action(plan->action, plan->errno_value);
        for (size_t a = 0; a < n_ac; a++) {
                SyscallArgWidth widths[6];

                if (action == eperm) {
                        r = rule_add(ac[a].ctx, default_action, action, nr, 0, NULL);
                        if (r < 0)
                                return r;
                        continue;
                }
                widths_for(ac[a].arch, "seccomp", widths);
                r = emit_conds(ac[a].ctx, default_action, eperm, nr, widths, builtin_conds,
                               ELEMENTSOF(builtin_conds));
                if (r < 0)
                        return r;
                r = emit_conds(ac[a].ctx, default_action, action, nr, widths, builtin_other_op,
                               ELEMENTSOF(builtin_other_op));
                if (r < 0)
                        return r;
                r = emit_conds(ac[a].ctx, default_action, action, nr, widths, builtin_no_listener,
                               ELEMENTSOF(builtin_no_listener));
                if (r < 0)
                        return r;
        }
        if (action != eperm) {
                plan->conditional = true;
                if (!plan->why)
                        plan->why = BUILTIN_WHY;
        }
        return 0;
}

static int export_bpf(scmp_filter_ctx ctx, struct sock_filter **ret, size_t *ret_n) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ struct sock_filter *insns = NULL;
        size_t size, done = 0;
        off_t end;
        int r;

        fd = memfd_create("forgeone-filter", MFD_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return r;
        end = lseek(fd, 0, SEEK_END);
        if (end < 0)
                return negative_errno();
        size = (size_t) end;
        if (size == 0 || size % sizeof(struct sock_filter) != 0)
                return -EIO;
        insns = malloc(size);
        if (!insns)
                return -ENOMEM;
        while (done < size) {
                ssize_t k = pread(fd, (uint8_t *) insns + done, size - done, (off_t) done);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        return -EIO;
                done += (size_t) k;
        }
        *ret_n = size / sizeof(struct sock_filter);
        *ret = TAKE_PTR(insns);
        return 0;
}

static int compiled_syscall_compare(const void *a, const void *b) {
        return strcmp(((const PolicyCompiledSyscall *) a)->name, ((const PolicyCompiledSyscall *) b)->name);
}

static int compiled_add(PolicyFilter *f, const char *name, int nr, const Plan *plan,
                        const char *fallback_id) {
        PolicyCompiledSyscall *s = &f->syscalls[f->n_syscalls];

        *s = (PolicyCompiledSyscall) {
                .nr = nr >= 0 ? nr : -1,
                .action = plan->action,
                .errno_value = plan->action == POLICY_KERNEL_ERRNO ? plan->errno_value : 0,
                .conditional = plan->conditional,
                .why = plan->action == POLICY_KERNEL_NOTIFY || plan->conditional ? plan->why : NULL,
        };
        s->name = strdup(name);
        s->rule_id = strdup(plan->rule ? plan->rule->id : fallback_id);
        if (!s->name || !s->rule_id) {
                free((char *) s->name);
                free((char *) s->rule_id);
                return -ENOMEM;
        }
        f->n_syscalls++;
        return 0;
}

/* The plan every identity the filter serves agrees on, or NOTIFY. */
static void plan_for_identities(const Policy *p, const NamePair *pairs, size_t n_pairs, int identity,
                                uint32_t *buf, uint32_t *buf2, Plan *ret) {
        Plan other;

        plan_for(p, pairs, n_pairs,
                 identity == POLICY_COMPILE_ALL_IDENTITIES ? POLICY_IDENTITY_ANY : identity, buf, ret);
        if (identity != POLICY_COMPILE_ALL_IDENTITIES)
                return;
        for (size_t i = 0; i < p->n_identities; i++) {
                plan_for(p, pairs, n_pairs, (int) i, buf2, &other);
                if (plan_equal(ret, &other))
                        continue;
                if (ret->action == POLICY_KERNEL_NOTIFY && other.action == POLICY_KERNEL_NOTIFY)
                        continue; /* the supervisor decides for both anyway */
                if (!ret->rule)
                        ret->rule = other.rule;
                ret->action = POLICY_KERNEL_NOTIFY;
                ret->conditional = false;
                ret->why = "differs per identity";
                return;
        }
}

static void arch_ctxs_free(ArchCtx *ac, size_t n) {
        for (size_t i = 0; ac && i < n; i++)
                if (ac[i].ctx)
                        seccomp_release(ac[i].ctx);
        free(ac);
}

static int compile_once(const Policy *p, int identity, bool compact, PolicyFilter **ret) {
        _cleanup_(policy_filter_freep) PolicyFilter *f = NULL;
        ArchCtx *ac = NULL;
        size_t n_ac = 0;
        _cleanup_free_ NamePair *pairs = NULL;
        _cleanup_free_ uint32_t *buf = NULL, *buf2 = NULL;
        size_t n_pairs = 0, n_all_pairs = 0, n_names = 0;
        uint32_t default_action;
        Plan def;
        bool seccomp_done = false, named_credentials[ELEMENTSOF(credential_calls)] = {};
        int r;

        if (!p || !ret)
                return -EINVAL;
        if (identity != POLICY_COMPILE_ALL_IDENTITIES && identity != POLICY_IDENTITY_ANY &&
            (identity < 0 || (size_t) identity >= p->n_identities))
                return -EINVAL;
        if (p->default_verdict < 0 || p->default_verdict >= _POLICY_VERDICT_MAX)
                return -EINVAL;
        for (size_t i = 0; i < p->n_rules; i++) {
                const PolicyRule *rule = &p->rules[i];

                if (rule->verdict < 0 || rule->verdict >= _POLICY_VERDICT_MAX || !rule->id)
                        return -EINVAL;
                for (size_t j = 0; j < rule->n_resources; j++)
                        if (rule->resources[j] < 0 || (size_t) rule->resources[j] >= p->n_resources)
                                return -EINVAL;
                for (char **s = rule->syscalls; s && *s; s++)
                        n_all_pairs++;
        }

        /* Every (syscall, rule) pair, grouped by syscall in name order, rules in file order. */
        r = syscall_rule_pairs(p, identity, &pairs, &n_pairs);
        if (r < 0)
                return r;
        /* Scratch for one syscall's rules, for this identity or any other (plan_for_identities()). */
        buf = calloc(MAX(n_all_pairs, (size_t) 1), sizeof(uint32_t));
        buf2 = calloc(MAX(n_all_pairs, (size_t) 1), sizeof(uint32_t));
        if (!buf || !buf2)
                return -ENOMEM;
        for (size_t i = 0; i < n_pairs; i++)
                if (i == 0 || !streq(pairs[i - 1].name, pairs[i].name))
                        n_names++;

        f = calloc(1, sizeof(PolicyFilter));
        if (!f)
                return -ENOMEM;
        f->syscalls = calloc(n_names + 1 + ELEMENTSOF(credential_calls), sizeof(PolicyCompiledSyscall));
        f->arches = calloc(MAX(p->n_arches, (size_t) 1), sizeof(uint32_t));
        if (!f->syscalls || !f->arches)
                return -ENOMEM;
        if (p->n_arches > 0) {
                memcpy(f->arches, p->arches, p->n_arches * sizeof(uint32_t));
                f->n_arches = p->n_arches;
        } else {
                f->arches[0] = seccomp_arch_native();
                f->n_arches = 1;
        }

        plan_default(p, &def);
        f->default_action = def.action;
        f->default_errno = def.action == POLICY_KERNEL_ERRNO ? def.errno_value : 0;
        default_action = scmp_action(def.action, def.errno_value);

        /* The native architecture's filter first when the policy has it: the others merge into it. */
        ac = calloc(f->n_arches, sizeof(ArchCtx));
        if (!ac)
                return -ENOMEM;
        for (size_t a = 0; a < f->n_arches; a++) {
                bool dup = false;

                for (size_t b = 0; b < n_ac; b++)
                        dup = dup || ac[b].arch == f->arches[a];
                if (dup)
                        continue;
                ac[n_ac].arch = f->arches[a];
                r = ctx_new(f->arches[a], default_action, &ac[n_ac].ctx);
                if (r < 0)
                        goto finish;
                n_ac++;
        }

        for (size_t i = 0; i < n_pairs;) {
                size_t j = i;
                Plan plan;
                int nr;

                while (j < n_pairs && streq(pairs[j].name, pairs[i].name))
                        j++;

                plan_for_identities(p, pairs + i, j - i, identity, buf, buf2, &plan);
                if (compact && plan.conditional) {
                        /* Argument clauses are what makes a program long: the supervisor decides those
                         * calls. */
                        plan.action = POLICY_KERNEL_NOTIFY;
                        plan.conditional = false;
                        plan.why = "filter size";
                }
                if (plan_credentials(pairs[i].name, &def, &plan))
                        named_credentials[credential_call_index(pairs[i].name)] = true;
                else if (credential_call_index(pairs[i].name) >= 0)
                        named_credentials[credential_call_index(pairs[i].name)] = true;
                nr = seccomp_syscall_resolve_name(pairs[i].name);
                if (nr == __NR_SCMP_ERROR)
                        r = 0; /* no number on any architecture libseccomp knows: nothing can call it */
                else if (streq(pairs[i].name, "seccomp")) {
                        r = emit_seccomp(ac, n_ac, p, default_action, &plan, nr);
                        seccomp_done = true;
                } else
                        r = emit_plan(ac, n_ac, p, default_action, &plan, nr, pairs[i].name);
                if (r < 0)
                        goto finish;
                r = compiled_add(f, pairs[i].name, nr, &plan, "default");
                if (r < 0)
                        goto finish;
                i = j;
        }

        /* The credential calls no rule names: the default decides, and may need the supervisor. */
        for (size_t k = 0; k < ELEMENTSOF(credential_calls); k++) {
                Plan plan = def;
                int nr;

                if (named_credentials[k] || !plan_credentials(credential_calls[k], &def, &plan))
                        continue;
                nr = seccomp_syscall_resolve_name(credential_calls[k]);
                if (nr == __NR_SCMP_ERROR)
                        continue;
                r = emit_plan(ac, n_ac, p, default_action, &plan, nr, credential_calls[k]);
                if (r < 0)
                        goto finish;
                r = compiled_add(f, credential_calls[k], nr, &plan, "default");
                if (r < 0)
                        goto finish;
        }
        qsort(f->syscalls, f->n_syscalls, sizeof(PolicyCompiledSyscall), compiled_syscall_compare);
        f->traps_credentials = true;

        if (!seccomp_done) {
                Plan plan = def;
                int nr = seccomp_syscall_resolve_name("seccomp");

                r = emit_seccomp(ac, n_ac, p, default_action, &plan, nr);
                if (r < 0)
                        goto finish;
                r = compiled_add(f, "seccomp", nr, &plan, plan.conditional ? "builtin" : "default");
                if (r < 0)
                        goto finish;
                qsort(f->syscalls, f->n_syscalls, sizeof(PolicyCompiledSyscall), compiled_syscall_compare);
        }

        /* seccomp_merge() releases the source filter when it succeeds. */
        for (; n_ac > 1; n_ac--) {
                r = seccomp_merge(ac[0].ctx, ac[n_ac - 1].ctx);
                if (r < 0)
                        goto finish;
                ac[n_ac - 1].ctx = NULL;
        }
        r = export_bpf(ac[0].ctx, &f->insns, &f->n_insns);
        if (r < 0)
                goto finish;

        *ret = TAKE_PTR(f);
        r = 0;
finish:
        arch_ctxs_free(ac, n_ac);
        return r;
}

int policy_compile(const Policy *p, int identity, PolicyFilter **ret) {
        _cleanup_(policy_filter_freep) PolicyFilter *f = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        r = compile_once(p, identity, false, &f);
        if (r < 0)
                return r;
        if (f->n_insns > BPF_MAXINSNS) {
                /* The kernel refuses longer programs. */
                f = policy_filter_free(f);
                r = compile_once(p, identity, true, &f);
                if (r < 0)
                        return r;
                if (f->n_insns > BPF_MAXINSNS)
                        return -E2BIG;
        }
        *ret = TAKE_PTR(f);
        return 0;
}

/* ---- a classic BPF interpreter, as the kernel runs seccomp filters ---- */

static bool bpf_jump(const struct sock_filter *i, uint32_t a, uint32_t x) {
        uint32_t v = BPF_SRC(i->code) == BPF_X ? x : i->k;

        switch (BPF_OP(i->code)) {
        case BPF_JEQ:
                return a == v;
        case BPF_JGT:
                return a > v;
        case BPF_JGE:
                return a >= v;
        case BPF_JSET:
                return (a & v) != 0;
        default:
                return false;
        }
}

static bool bpf_alu(const struct sock_filter *i, uint32_t *a, uint32_t x) {
        uint32_t v = BPF_SRC(i->code) == BPF_X ? x : i->k;

        switch (BPF_OP(i->code)) {
        case BPF_ADD:
                *a += v;
                return true;
        case BPF_SUB:
                *a -= v;
                return true;
        case BPF_MUL:
                *a *= v;
                return true;
        case BPF_DIV:
                if (v == 0)
                        return false;
                *a /= v;
                return true;
        case BPF_MOD:
                if (v == 0)
                        return false;
                *a %= v;
                return true;
        case BPF_AND:
                *a &= v;
                return true;
        case BPF_OR:
                *a |= v;
                return true;
        case BPF_XOR:
                *a ^= v;
                return true;
        case BPF_LSH:
                *a = v < 32 ? *a << v : 0;
                return true;
        case BPF_RSH:
                *a = v < 32 ? *a >> v : 0;
                return true;
        case BPF_NEG:
                *a = -*a;
                return true;
        default:
                return false;
        }
}

uint32_t policy_filter_run(const PolicyFilter *f, const struct seccomp_data *data) {
        uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {};

        if (!f || !data)
                return SECCOMP_RET_KILL_PROCESS;

        for (size_t pc = 0; pc < f->n_insns; pc++) {
                const struct sock_filter *i = &f->insns[pc];

                switch (BPF_CLASS(i->code)) {
                case BPF_LD:
                        if (i->code == (BPF_LD | BPF_W | BPF_ABS)) {
                                if (i->k % 4 != 0 || i->k > sizeof(*data) - 4)
                                        return SECCOMP_RET_KILL_PROCESS;
                                memcpy(&a, (const uint8_t *) data + i->k, 4);
                        } else if (i->code == (BPF_LD | BPF_W | BPF_LEN))
                                a = sizeof(*data);
                        else if (i->code == (BPF_LD | BPF_IMM))
                                a = i->k;
                        else if (i->code == (BPF_LD | BPF_MEM) && i->k < BPF_MEMWORDS)
                                a = mem[i->k];
                        else
                                return SECCOMP_RET_KILL_PROCESS;
                        break;
                case BPF_LDX:
                        if (i->code == (BPF_LDX | BPF_W | BPF_LEN))
                                x = sizeof(*data);
                        else if (i->code == (BPF_LDX | BPF_IMM))
                                x = i->k;
                        else if (i->code == (BPF_LDX | BPF_MEM) && i->k < BPF_MEMWORDS)
                                x = mem[i->k];
                        else
                                return SECCOMP_RET_KILL_PROCESS;
                        break;
                case BPF_ST:
                case BPF_STX:
                        if (i->k >= BPF_MEMWORDS)
                                return SECCOMP_RET_KILL_PROCESS;
                        mem[i->k] = BPF_CLASS(i->code) == BPF_ST ? a : x;
                        break;
                case BPF_ALU:
                        if (!bpf_alu(i, &a, x))
                                return SECCOMP_RET_KILL_PROCESS;
                        break;
                case BPF_JMP:
                        if (BPF_OP(i->code) == BPF_JA)
                                pc += i->k;
                        else
                                pc += bpf_jump(i, a, x) ? i->jt : i->jf;
                        break;
                case BPF_RET:
                        return BPF_RVAL(i->code) == BPF_A ? a : i->k;
                case BPF_MISC:
                        if (BPF_MISCOP(i->code) == BPF_TAX)
                                x = a;
                        else
                                a = x;
                        break;
                default:
                        return SECCOMP_RET_KILL_PROCESS;
                }
        }
        return SECCOMP_RET_KILL_PROCESS; /* fell off the end: the kernel rejects such programs */
}
