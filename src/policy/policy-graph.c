/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <arpa/inet.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "entry-table.h"
#include "forgeone/arch-table.h"
#include "forgeone/policy-graph.h"
#include "forgeone/string-table.h"
#include "forgeone/syscall-table.h"
#include "path-trie.h"
#include "syscall-rule-pairs.h"

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#define X32_SYSCALL_BIT 0x40000000

/* Numbers indexed per architecture around its "read": every ABI libseccomp knows keeps its syscalls within
 * this window of it (x32 and the MIPS ABIs have bases of their own). Numbers outside are unknown. */
#define ARCH_WINDOW_BELOW_READ 64
#define ARCH_WINDOW_SIZE       1024
#define ARCH_WINDOW_MAX        (1 << 20)

enum {
        NET_V4,
        NET_V6,
        _NET_FAMILY_MAX,
};

/* The rules of one syscall class for one identity (or "*"). What every evaluation reads comes first, so a
 * query that finds nothing of its kind touches one cache line. */
typedef struct Bucket {
        bool has_memory; /* some rule here reads a path or an address */
        unsigned args_eq_mask;

        Entry *uncond; /* rules without an object, highest key first */
        size_t n_uncond;
        Entry *args; /* argument rules without an "eq" to index on: scanned, highest key first */
        size_t n_args;
        EntryTable *args_eq; /* keyed by (argument index, value): one probe per indexed argument */
        PathTrie *paths;
        EntryTable *net; /* keyed by (family, prefix length, masked address) */
        PathTrie *unix_paths;
        Entry *unix_abstract; /* "@name" patterns: scanned */
        size_t n_unix_abstract;
        Entry *connected; /* "connected" endpoints: sends without an address of their own */
        size_t n_connected;

        size_t n_net_lens[_NET_FAMILY_MAX];
        uint8_t net_lens[_NET_FAMILY_MAX][129]; /* prefix lengths present, longest first */

        /* build only */
        size_t allocated_uncond, allocated_args, allocated_unix_abstract, allocated_connected;
        EntryTableItem *args_eq_items;
        size_t n_args_eq_items, allocated_args_eq_items;
        EntryTableItem *net_items;
        size_t n_net_items, allocated_net_items;
} Bucket;

/* Syscalls named by exactly the same rules share one class: rules name groups of dozens of syscalls, and
 * the indexes are built once per group rather than once per syscall. */
typedef struct Class {
        Bucket **buckets; /* [0]: "*", [1 + i]: identity i; NULL when no rule */
        unsigned needs;
} Class;

typedef struct SyscallSlot {
        const char *name; /* NULL: no syscall has this number */
        const Class *cls; /* NULL: no rule names it */
        uint8_t widths[6]; /* SyscallArgWidth of each argument on this ABI */
} SyscallSlot;

typedef struct ArchIndex {
        uint32_t arch;
        int lo;
        size_t n;
        SyscallSlot *slots; /* numbers lo .. lo + n - 1 */
        int seccomp_nr;
        SyscallArgWidth seccomp_widths[6];
} ArchIndex;

struct PolicyGraph {
        atomic_uint n_ref;
        Policy *policy;
        Class *classes;
        size_t n_classes;
        ArchIndex *arches;
        size_t n_arches;
};

static const char *const policy_reason_table[_POLICY_REASON_MAX] = {
        [POLICY_REASON_RULE] = "rule",
        [POLICY_REASON_DEFAULT] = "default",
        [POLICY_REASON_BAD_ARCH] = "bad-arch",
        [POLICY_REASON_UNKNOWN_SYSCALL] = "unknown-syscall",
        [POLICY_REASON_BUILTIN] = "builtin",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(policy_reason, PolicyReason)

static Bucket *bucket_free(Bucket *b) {
        if (!b)
                return NULL;
        free(b->uncond);
        free(b->args);
        free(b->args_eq_items);
        entry_table_free(b->args_eq);
        free(b->net_items);
        entry_table_free(b->net);
        path_trie_free(b->paths);
        path_trie_free(b->unix_paths);
        free(b->unix_abstract);
        free(b->connected);
        free(b);
        return NULL;
}

/* policy gives the bucket count; it is freed too only when the graph owns it. */
static void graph_free(PolicyGraph *g, const Policy *p, bool owns_policy) {

        for (size_t i = 0; i < g->n_classes; i++) {
                if (g->classes[i].buckets)
                        for (size_t j = 0; j < p->n_identities + 1; j++)
                                bucket_free(g->classes[i].buckets[j]);
                free(g->classes[i].buckets);
        }
        free(g->classes);
        for (size_t i = 0; i < g->n_arches; i++)
                free(g->arches[i].slots);
        free(g->arches);
        if (owns_policy)
                policy_free(g->policy);
        free(g);
}

PolicyGraph *policy_graph_ref(PolicyGraph *g) {
        if (g)
                atomic_fetch_add_explicit(&g->n_ref, 1, memory_order_relaxed);
        return g;
}

PolicyGraph *policy_graph_unref(PolicyGraph *g) {
        if (!g)
                return NULL;
        if (atomic_fetch_sub_explicit(&g->n_ref, 1, memory_order_acq_rel) == 1)
                graph_free(g, g->policy, true);
        return NULL;
}

const Policy *policy_graph_policy(const PolicyGraph *g) {
        return g ? g->policy : NULL;
}

/* ---- building ---- */

static void addr_mask(const uint8_t addr[16], unsigned prefixlen, uint64_t *ret_a, uint64_t *ret_b) {
        uint8_t buf[16] = {};
        unsigned full = prefixlen / 8;

        memcpy(buf, addr, full);
        if (prefixlen % 8)
                buf[full] = addr[full] & (uint8_t) (0xff << (8 - prefixlen % 8));
        memcpy(ret_a, buf, 8);
        memcpy(ret_b, buf + 8, 8);
}

static int net_family_index(int family) {
        return family == AF_INET ? NET_V4 : family == AF_INET6 ? NET_V6 : -EAFNOSUPPORT;
}

static unsigned endpoint_specificity(const PolicyNetEndpoint *ep) {
        bool port = ep->port_min != 0 || ep->port_max != UINT16_MAX;

        if (ep->family == POLICY_FAMILY_CONNECTED)
                return 0;
        if (ep->family == AF_UNIX)
                return path_pattern_specificity(ep->unix_path[0] == '@' ? ep->unix_path + 1 : ep->unix_path);
        return ep->prefixlen * 4 + (port ? 2 : 0) + (ep->protocol != 0 ? 1 : 0);
}

static int bucket_add_endpoint(Bucket *b, const Entry *base, const PolicyRule *rule, size_t rule_index,
                               const PolicyNetEndpoint *ep) {
        Entry e = *base;
        int r;

        e.endpoint = ep;
        e.key = entry_key(rule, rule_index, true, endpoint_specificity(ep));

        if (ep->family == POLICY_FAMILY_CONNECTED) {
                r = ARRAY_GROW(b->connected, b->allocated_connected, b->n_connected + 1);
                if (r < 0)
                        return r;
                b->connected[b->n_connected++] = e;
                return 0;
        }

        if (ep->family == AF_UNIX) {
                if (!ep->unix_path)
                        return -EINVAL;
                if (ep->unix_path[0] == '@') {
                        r = ARRAY_GROW(b->unix_abstract, b->allocated_unix_abstract, b->n_unix_abstract + 1);
                        if (r < 0)
                                return r;
                        b->unix_abstract[b->n_unix_abstract++] = e;
                        return 0;
                }
                if (!b->unix_paths) {
                        b->unix_paths = path_trie_new();
                        if (!b->unix_paths)
                                return -ENOMEM;
                }
                return path_trie_insert(b->unix_paths, ep->unix_path, &e);
        }

        int fi = net_family_index(ep->family);
        EntryTableItem *item;

        if (fi < 0 || ep->prefixlen > (fi == NET_V4 ? 32u : 128u) || ep->port_min > ep->port_max)
                return -EINVAL;
        r = ARRAY_GROW(b->net_items, b->allocated_net_items, b->n_net_items + 1);
        if (r < 0)
                return r;
        item = &b->net_items[b->n_net_items++];
        *item = (EntryTableItem) { .key.c = (uint32_t) fi << 8 | ep->prefixlen, .entry = e };
        addr_mask(ep->addr, ep->prefixlen, &item->key.a, &item->key.b);

        bool seen = false;
        for (size_t i = 0; i < b->n_net_lens[fi]; i++)
                if (b->net_lens[fi][i] == ep->prefixlen)
                        seen = true;
        if (!seen)
                b->net_lens[fi][b->n_net_lens[fi]++] = (uint8_t) ep->prefixlen;
        return 0;
}

static int bucket_add_args(Bucket *b, const Entry *base, const PolicyRule *rule, size_t rule_index,
                           const PolicyResource *res) {
        Entry e = *base;
        int r;

        for (size_t i = 0; i < res->n_args; i++)
                if (res->args[i].index > 5 || res->args[i].op < 0 || res->args[i].op >= _POLICY_ARG_OP_MAX)
                        return -EINVAL;
        e.key = entry_key(rule, rule_index, true, (unsigned) res->n_args);

        for (size_t i = 0; i < res->n_args; i++)
                if (res->args[i].op == POLICY_ARG_EQ) {
                        /* "eq" holds when the kernel's value of the argument (syscall_arg_normalize()) is
                         * the value: an exact key, whatever its width in each syscall of the class */
                        r = ARRAY_GROW(b->args_eq_items, b->allocated_args_eq_items, b->n_args_eq_items + 1);
                        if (r < 0)
                                return r;
                        b->args_eq_items[b->n_args_eq_items++] = (EntryTableItem) {
                                .key = { .a = res->args[i].value, .c = res->args[i].index },
                                .entry = e,
                        };
                        b->args_eq_mask |= 1u << res->args[i].index;
                        return 0;
                }

        r = ARRAY_GROW(b->args, b->allocated_args, b->n_args + 1);
        if (r < 0)
                return r;
        b->args[b->n_args++] = e;
        return 0;
}

static int bucket_add_rule(Bucket *b, const Policy *p, size_t rule_index) {
        const PolicyRule *rule = &p->rules[rule_index];
        int r;

        if (rule->n_resources == 0) {
                r = ARRAY_GROW(b->uncond, b->allocated_uncond, b->n_uncond + 1);
                if (r < 0)
                        return r;
                b->uncond[b->n_uncond++] = (Entry) {
                        .key = entry_key(rule, rule_index, false, 0),
                        .rule = rule,
                };
                return 0;
        }

        for (size_t i = 0; i < rule->n_resources; i++) {
                const PolicyResource *res;
                Entry base;

                if (rule->resources[i] < 0 || (size_t) rule->resources[i] >= p->n_resources)
                        return -EINVAL;
                res = &p->resources[rule->resources[i]];
                base = (Entry) { .rule = rule, .resource = res };

                switch (res->type) {
                case POLICY_RESOURCE_PATH:
                        if (!b->paths) {
                                b->paths = path_trie_new();
                                if (!b->paths)
                                        return -ENOMEM;
                        }
                        for (char **pat = res->paths; pat && *pat; pat++) {
                                Entry e = base;

                                e.key = entry_key(rule, rule_index, true, path_pattern_specificity(*pat));
                                r = path_trie_insert(b->paths, *pat, &e);
                                if (r < 0)
                                        return r;
                        }
                        b->has_memory = true;
                        break;
                case POLICY_RESOURCE_NETWORK:
                        for (size_t j = 0; j < res->n_endpoints; j++) {
                                r = bucket_add_endpoint(b, &base, rule, rule_index, &res->endpoints[j]);
                                if (r < 0)
                                        return r;
                        }
                        b->has_memory = true;
                        break;
                case POLICY_RESOURCE_ARGS:
                        r = bucket_add_args(b, &base, rule, rule_index, res);
                        if (r < 0)
                                return r;
                        break;
                default:
                        return -EINVAL;
                }
        }
        return 0;
}

static int u8_desc(const void *a, const void *b) {
        return (int) *(const uint8_t *) b - (int) *(const uint8_t *) a;
}

static int bucket_finalize(Bucket *b) {
        int r;

        qsort_safe(b->uncond, b->n_uncond, sizeof(Entry), entry_compare_desc);
        qsort_safe(b->args, b->n_args, sizeof(Entry), entry_compare_desc);
        qsort_safe(b->unix_abstract, b->n_unix_abstract, sizeof(Entry), entry_compare_desc);
        qsort_safe(b->connected, b->n_connected, sizeof(Entry), entry_compare_desc);
        if (b->paths)
                path_trie_finalize(b->paths);
        if (b->unix_paths)
                path_trie_finalize(b->unix_paths);

        if (b->n_args_eq_items > 0) {
                r = entry_table_build(b->args_eq_items, b->n_args_eq_items, &b->args_eq);
                if (r < 0)
                        return r;
        }
        free(b->args_eq_items);
        b->args_eq_items = NULL;

        if (b->n_net_items > 0) {
                r = entry_table_build(b->net_items, b->n_net_items, &b->net);
                if (r < 0)
                        return r;
        }
        free(b->net_items);
        b->net_items = NULL;
        for (size_t f = 0; f < _NET_FAMILY_MAX; f++)
                qsort_safe(b->net_lens[f], b->n_net_lens[f], 1, u8_desc);
        return 0;
}

typedef struct NameGroup {
        const NamePair *pairs; /* the rules naming this syscall, in file order */
        size_t n_pairs;
        size_t cls;
} NameGroup;

static int name_group_compare_rules(const void *a, const void *b) {
        const NameGroup *x = *(NameGroup *const *) a, *y = *(NameGroup *const *) b;

        for (size_t i = 0; i < MIN(x->n_pairs, y->n_pairs); i++)
                if (x->pairs[i].rule != y->pairs[i].rule)
                        return x->pairs[i].rule < y->pairs[i].rule ? -1 : 1;
        return x->n_pairs < y->n_pairs ? -1 : x->n_pairs > y->n_pairs;
}

static bool name_group_same_rules(const NameGroup *x, const NameGroup *y) {
        return name_group_compare_rules(&x, &y) == 0;
}

static int class_build(Class *c, const Policy *p, const NameGroup *ng) {
        size_t n_buckets = p->n_identities + 1;
        int r;

        c->buckets = calloc(n_buckets, sizeof(Bucket *));
        if (!c->buckets)
                return -ENOMEM;

        for (size_t i = 0; i < ng->n_pairs; i++) {
                const PolicyRule *rule = &p->rules[ng->pairs[i].rule];
                size_t bi = (size_t) (rule->identity + 1);

                if (!c->buckets[bi]) {
                        c->buckets[bi] = calloc(1, sizeof(Bucket));
                        if (!c->buckets[bi])
                                return -ENOMEM;
                }
                r = bucket_add_rule(c->buckets[bi], p, ng->pairs[i].rule);
                if (r < 0)
                        return r;
                if (rule->min_trust >= 0)
                        c->needs |= POLICY_NEED_TRUST;
        }
        for (size_t bi = 0; bi < n_buckets; bi++) {
                Bucket *b = c->buckets[bi];

                if (!b)
                        continue;
                r = bucket_finalize(b);
                if (r < 0)
                        return r;
                if (b->paths)
                        c->needs |= POLICY_NEED_PATH;
                if (b->net || b->unix_paths || b->n_unix_abstract > 0 || b->n_connected > 0)
                        c->needs |= POLICY_NEED_ADDR;
        }
        return 0;
}

static int validate_rules(const Policy *p) {
        if (p->n_rules >= UINT32_MAX)
                return -E2BIG;
        if (p->default_verdict < 0 || p->default_verdict >= _POLICY_VERDICT_MAX)
                return -EINVAL;
        for (size_t i = 0; i < p->n_rules; i++) {
                const PolicyRule *rule = &p->rules[i];

                if (rule->verdict < 0 || rule->verdict >= _POLICY_VERDICT_MAX || !rule->id)
                        return -EINVAL;
                if (rule->identity < POLICY_IDENTITY_ANY ||
                    (rule->identity >= 0 && (size_t) rule->identity >= p->n_identities))
                        return -EINVAL;
        }
        return 0;
}

static int arch_index_build(ArchIndex *ai, uint32_t arch, const NameGroup *groups, size_t n_groups,
                            NamePair *const *group_names) {
        int read_nr = syscall_resolve_arch("read", arch);
        long lo, hi;

        lo = read_nr >= ARCH_WINDOW_BELOW_READ ? read_nr - ARCH_WINDOW_BELOW_READ : 0;
        hi = lo + ARCH_WINDOW_SIZE;
        for (size_t i = 0; i < n_groups; i++) {
                int nr = syscall_resolve_arch(group_names[i]->name, arch);

                if (nr < 0)
                        continue;
                lo = MIN(lo, (long) nr);
                hi = MAX(hi, (long) nr + 1);
        }
        if (hi - lo > ARCH_WINDOW_MAX)
                return -E2BIG;

        ai->arch = arch;
        ai->lo = (int) lo;
        ai->n = (size_t) (hi - lo);
        ai->seccomp_nr = syscall_resolve_arch("seccomp", arch);
        if (syscall_arg_widths(arch, "seccomp", ai->seccomp_widths) < 0)
                for (size_t i = 0; i < 6; i++)
                        ai->seccomp_widths[i] = SYSCALL_WIDTH_U64;
        ai->slots = calloc(ai->n, sizeof(SyscallSlot));
        if (!ai->slots)
                return -ENOMEM;
        for (size_t i = 0; i < ai->n; i++) {
                SyscallSlot *slot = &ai->slots[i];
                SyscallArgWidth w[6];

                slot->name = syscall_name(arch, ai->lo + (int) i);
                /* An ABI without a table (the parser refuses argument rules for it) compares 64 bits, as
                 * the compiler does. */
                if (slot->name && syscall_arg_widths(arch, slot->name, w) >= 0)
                        for (size_t j = 0; j < 6; j++)
                                slot->widths[j] = (uint8_t) w[j];
        }
        return 0;
}

int policy_graph_new(Policy *policy, PolicyGraph **ret) {
        _cleanup_free_ NamePair *pairs = NULL;
        _cleanup_free_ NameGroup *groups = NULL;
        _cleanup_free_ NameGroup **order = NULL;
        _cleanup_free_ NamePair **group_names = NULL;
        size_t n_pairs = 0, n_groups = 0;
        PolicyGraph *g;
        int r;

        if (!policy || !ret)
                return -EINVAL;
        r = validate_rules(policy);
        if (r < 0)
                return r;

        r = syscall_rule_pairs(policy, POLICY_COMPILE_ALL_IDENTITIES, &pairs, &n_pairs);
        if (r < 0)
                return r;

        groups = calloc(MAX(n_pairs, (size_t) 1), sizeof(NameGroup));
        order = calloc(MAX(n_pairs, (size_t) 1), sizeof(NameGroup *));
        group_names = calloc(MAX(n_pairs, (size_t) 1), sizeof(NamePair *));
        if (!groups || !order || !group_names)
                return -ENOMEM;
        for (size_t i = 0; i < n_pairs;) {
                size_t j = i;

                while (j < n_pairs && streq(pairs[j].name, pairs[i].name))
                        j++;
                groups[n_groups] = (NameGroup) { .pairs = pairs + i, .n_pairs = j - i };
                group_names[n_groups] = pairs + i;
                order[n_groups] = &groups[n_groups];
                n_groups++;
                i = j;
        }
        qsort_safe(order, n_groups, sizeof(NameGroup *), name_group_compare_rules);

        g = calloc(1, sizeof(PolicyGraph));
        if (!g)
                return -ENOMEM;
        atomic_init(&g->n_ref, 1);
        g->classes = calloc(MAX(n_groups, (size_t) 1), sizeof(Class));
        g->arches = calloc(MAX(policy->n_arches, (size_t) 1), sizeof(ArchIndex));
        if (!g->classes || !g->arches) {
                r = -ENOMEM;
                goto fail;
        }
        g->policy = policy;

        for (size_t i = 0; i < n_groups; i++) {
                if (i == 0 || !name_group_same_rules(order[i - 1], order[i])) {
                        r = class_build(&g->classes[g->n_classes++], policy, order[i]);
                        if (r < 0)
                                goto fail;
                }
                order[i]->cls = g->n_classes - 1;
        }

        /* A policy that names no architecture means the native one, as for the compiler. */
        for (size_t a = 0; a < MAX(policy->n_arches, (size_t) 1); a++) {
                ArchIndex *ai = &g->arches[g->n_arches];

                r = arch_index_build(ai, policy->n_arches > 0 ? policy->arches[a] : seccomp_arch_native(),
                                     groups, n_groups, group_names);
                if (r < 0)
                        goto fail;
                g->n_arches++;
                for (size_t i = 0; i < n_groups; i++) {
                        int nr = syscall_resolve_arch(group_names[i]->name, ai->arch);

                        if (nr >= 0)
                                ai->slots[nr - ai->lo].cls = &g->classes[groups[i].cls];
                }
        }

        *ret = g;
        return 0;

fail:
        graph_free(g, policy, false); /* the caller keeps the policy when we fail */
        return r;
}

/* ---- evaluation: no allocation, no syscalls ---- */

static const ArchIndex *arch_lookup(const PolicyGraph *g, uint32_t arch, int nr) {
        /* x32 calls arrive as x86_64 with the x32 bit set: they are their own ABI. */
        if (arch == AUDIT_ARCH_X86_64 && nr >= 0 && (nr & X32_SYSCALL_BIT))
                arch = SCMP_ARCH_X32;
        for (size_t i = 0; i < g->n_arches; i++)
                if (g->arches[i].arch == arch)
                        return &g->arches[i];
        return NULL;
}

static const SyscallSlot *arch_slot(const ArchIndex *ai, int nr) {
        if (nr < ai->lo || (size_t) ((long) nr - ai->lo) >= ai->n)
                return NULL;
        return &ai->slots[nr - ai->lo];
}

static bool args_hold(const PolicyResource *res, const uint8_t widths[6], const uint64_t args[6]) {
        for (size_t i = 0; i < res->n_args; i++) {
                unsigned idx = res->args[i].index;

                if (!policy_arg_cond_test(&res->args[i], (SyscallArgWidth) widths[idx], args[idx]))
                        return false;
        }
        return true;
}

static void sorted_consider(const Entry *entries, size_t n, EvalState *s) {
        for (size_t i = 0; i < n; i++) {
                if (entries[i].key <= s->best_key)
                        break;
                eval_consider(s, &entries[i]);
        }
}

static void args_match(const Bucket *b, const uint8_t widths[6], EvalState *s) {
        const uint64_t *args = s->query->args;

        for (size_t i = 0; i < b->n_args; i++) {
                if (b->args[i].key <= s->best_key)
                        break;
                if (args_hold(b->args[i].resource, widths, args))
                        eval_consider(s, &b->args[i]);
        }
        for (unsigned idx = 0; b->args_eq && idx < 6; idx++) {
                const EntryTableKey key = {
                        .a = syscall_arg_normalize((SyscallArgWidth) widths[idx], args[idx]),
                        .c = idx,
                };
                const Entry *e;
                size_t n;

                if (!(b->args_eq_mask & (1u << idx)))
                        continue;
                e = entry_table_lookup(b->args_eq, &key, &n);
                for (size_t i = 0; i < n; i++) {
                        if (e[i].key <= s->best_key)
                                break;
                        if (args_hold(e[i].resource, widths, args))
                                eval_consider(s, &e[i]);
                }
        }
}

static bool endpoint_port_matches(const PolicyNetEndpoint *ep, const PolicySockaddr *sa) {
        return sa->port >= ep->port_min && sa->port <= ep->port_max &&
               (ep->protocol == 0 || sa->protocol == 0 || ep->protocol == sa->protocol);
}

static void net_match_family(const Bucket *b, int fi, const uint8_t addr[16], EvalState *s) {
        const PolicySockaddr *sa = s->query->addr;

        for (size_t l = 0; l < b->n_net_lens[fi]; l++) {
                unsigned len = b->net_lens[fi][l];
                EntryTableKey key = { .c = (uint32_t) fi << 8 | len };
                const Entry *e;
                size_t n;

                addr_mask(addr, len, &key.a, &key.b);
                e = entry_table_lookup(b->net, &key, &n);
                for (size_t i = 0; i < n; i++) {
                        if (e[i].key <= s->best_key)
                                break;
                        if (endpoint_port_matches(e[i].endpoint, sa))
                                eval_consider(s, &e[i]);
                }
        }
}

static bool addr_is_v4_mapped(const uint8_t a[16]) {
        static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

        return memcmp(a, prefix, sizeof prefix) == 0;
}

static void net_match(const Bucket *b, EvalState *s) {
        const PolicySockaddr *sa = s->query->addr;

        switch (sa->family) {
        case AF_INET:
                if (b->net)
                        net_match_family(b, NET_V4, sa->addr, s);
                break;
        case AF_INET6:
                if (!b->net)
                        break;
                if (addr_is_v4_mapped(sa->addr)) {
                        /* ::ffff:a.b.c.d reaches the IPv4 host a.b.c.d: it is matched as that address, or an
                         * AF_INET6 socket would walk around every IPv4 rule. */
                        uint8_t v4[16] = {};

                        memcpy(v4, sa->addr + 12, 4);
                        net_match_family(b, NET_V4, v4, s);
                } else
                        net_match_family(b, NET_V6, sa->addr, s);
                break;
        case AF_UNIX:
                if (!sa->unix_path)
                        break;
                if (sa->unix_path[0] == '@') {
                        size_t len = strlen(sa->unix_path);

                        for (size_t i = 0; i < b->n_unix_abstract; i++) {
                                const Entry *e = &b->unix_abstract[i];

                                if (e->key <= s->best_key)
                                        break;
                                if (glob_match(e->endpoint->unix_path, sa->unix_path, len))
                                        eval_consider(s, e);
                        }
                } else if (b->unix_paths && path_is_normalized(sa->unix_path))
                        path_trie_match(b->unix_paths, sa->unix_path, s);
                break;
        case POLICY_FAMILY_CONNECTED:
                sorted_consider(b->connected, b->n_connected, s);
                break;
        default:
                break;
        }
}

/* path_ok: -1 not checked yet, then whether the query's path can be matched safely. */
static void bucket_match(const Bucket *b, const SyscallSlot *slot, EvalState *s, int *path_ok,
                         bool *used_memory) {
        if (!b)
                return;
        if (b->has_memory)
                *used_memory = true;
        sorted_consider(b->uncond, b->n_uncond, s);
        if (b->n_args > 0 || b->args_eq)
                args_match(b, slot->widths, s);
        if (b->paths && s->query->path) {
                /* A path we cannot match safely ("..", relative) matches no path resource, like an
                 * unreadable one. */
                if (*path_ok < 0)
                        *path_ok = path_is_normalized(s->query->path);
                if (*path_ok)
                        path_trie_match(b->paths, s->query->path, s);
        }
        if (s->query->addr)
                net_match(b, s);
}

/* On the values the kernel reads: op and flags are unsigned ints, so seccomp(op | 1 << 32, ...) is op. */
static bool is_builtin_listener_denial(const ArchIndex *ai, const PolicyQuery *q) {
        return ai->seccomp_nr >= 0 && q->nr == ai->seccomp_nr &&
               syscall_arg_normalize(ai->seccomp_widths[0], q->args[0]) == SECCOMP_SET_MODE_FILTER &&
               (syscall_arg_normalize(ai->seccomp_widths[1], q->args[1]) & SECCOMP_FILTER_FLAG_NEW_LISTENER);
}

int policy_graph_eval(const PolicyGraph *g, const PolicyQuery *q, PolicyDecision *ret) {
        const Policy *p;
        const ArchIndex *ai;
        const SyscallSlot *slot;
        PolicyDecision d;

        if (!g || !q || !ret)
                return -EINVAL;
        p = g->policy;
        if (q->identity < POLICY_IDENTITY_ANY ||
            (q->identity >= 0 && (size_t) q->identity >= p->n_identities))
                return -EINVAL;

        d = (PolicyDecision) {
                .verdict = p->default_verdict,
                .errno_value = p->default_errno,
                .rule_id = "default",
                .reason = POLICY_REASON_DEFAULT,
        };

        ai = arch_lookup(g, q->arch, q->nr);
        if (!ai) {
                d.verdict = POLICY_VERDICT_DENY;
                d.errno_value = ENOSYS;
                d.rule_id = "bad-arch";
                d.reason = POLICY_REASON_BAD_ARCH;
                *ret = d;
                return 0;
        }

        /* Same as the kernel filter, whatever the policy says: no second listener in front of ours. */
        if (is_builtin_listener_denial(ai, q)) {
                d.verdict = POLICY_VERDICT_DENY;
                d.errno_value = EPERM;
                d.rule_id = "builtin";
                d.reason = POLICY_REASON_BUILTIN;
                *ret = d;
                return 0;
        }

        slot = arch_slot(ai, q->nr);
        if (!slot || !slot->name) {
                d.rule_id = "unknown-syscall";
                d.reason = POLICY_REASON_UNKNOWN_SYSCALL;
                *ret = d;
                return 0;
        }

        if (slot->cls) {
                EvalState s = { .query = q };
                int path_ok = -1;

                bucket_match(slot->cls->buckets[0], slot, &s, &path_ok, &d.used_memory);
                if (q->identity >= 0)
                        bucket_match(slot->cls->buckets[q->identity + 1], slot, &s, &path_ok,
                                     &d.used_memory);

                if (s.best) {
                        const PolicyRule *rule = s.best->rule;

                        d.verdict = rule->verdict;
                        d.errno_value = rule->verdict == POLICY_VERDICT_DENY ||
                                                        rule->verdict == POLICY_VERDICT_QUARANTINE
                                                ? rule->errno_value
                                                : 0;
                        d.rule = rule;
                        d.rule_id = rule->id;
                        d.reason = POLICY_REASON_RULE;
                        d.resource = s.best->resource;
                }
                if (s.blocked && s.blocked_key > s.best_key)
                        d.trust_blocked = s.blocked->rule;
        }

        *ret = d;
        return 0;
}

unsigned policy_graph_needs(const PolicyGraph *g, uint32_t arch, int nr) {
        const ArchIndex *ai;
        const SyscallSlot *slot;

        if (!g)
                return 0;
        ai = arch_lookup(g, arch, nr);
        if (!ai)
                return 0;
        slot = arch_slot(ai, nr);
        return slot && slot->cls ? slot->cls->needs : 0;
}

static bool rule_names(const PolicyRule *r, const char *name) {
        for (char **s = r->syscalls; s && *s; s++)
                if (streq(*s, name))
                        return true;
        return false;
}

bool policy_graph_allows_any_path(const PolicyGraph *g, int identity, int trust, uint32_t arch, int nr,
                                  unsigned access) {
        const Policy *p;
        const char *name;
        bool covered = false;

        if (!g || access == 0)
                return false;
        p = g->policy;
        name = syscall_name(arch, nr);
        if (!name || !arch_lookup(g, arch, nr))
                return false;
        for (size_t i = 0; i < p->n_rules; i++) {
                const PolicyRule *r = &p->rules[i];
                bool denies = r->verdict == POLICY_VERDICT_DENY || r->verdict == POLICY_VERDICT_QUARANTINE;

                if ((r->identity != POLICY_IDENTITY_ANY && r->identity != identity) || !rule_names(r, name))
                        continue;
                if (r->n_resources == 0) {
                        if (denies)
                                return false;
                        if (r->min_trust < 0 || trust >= r->min_trust)
                                covered = true;
                        continue;
                }
                for (size_t k = 0; k < r->n_resources; k++) {
                        const PolicyResource *res = &p->resources[r->resources[k]];

                        if (denies) {
                                /* A path resource denies where its access meets the request; any other
                                 * kind may match a call of this syscall too. */
                                if (res->type != POLICY_RESOURCE_PATH || (res->access & access))
                                        return false;
                                continue;
                        }
                        if (res->type != POLICY_RESOURCE_PATH || (access & ~res->access) ||
                            (r->min_trust >= 0 && trust < r->min_trust))
                                continue;
                        for (char **pat = res->paths; pat && *pat; pat++)
                                if (streq(*pat, "/**"))
                                        covered = true;
                }
        }
        return covered || p->default_verdict == POLICY_VERDICT_ALLOW ||
               p->default_verdict == POLICY_VERDICT_EMULATE;
}

/* ---- explanation ---- */

typedef struct Out {
        char *buf;
        size_t size, len;
} Out;

_printf_(2, 3) static void out_printf(Out *o, const char *fmt, ...) {
        va_list ap;
        int n;

        if (o->len + 1 >= o->size)
                return;
        va_start(ap, fmt);
        n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
        va_end(ap);
        if (n > 0)
                o->len = MIN(o->len + (size_t) n, o->size - 1);
}

/* Paths and socket names come from the workload: never let them put control characters on a terminal or
 * split a log line. */
static void out_untrusted(Out *o, const char *s) {
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;

                if (c < 0x20 || c == 0x7f || c == '\\')
                        out_printf(o, "\\x%02x", c);
                else
                        out_printf(o, "%c", c);
        }
}

static void out_errno(Out *o, int e) {
        const char *name = policy_errno_to_string(e);

        if (name)
                out_printf(o, " (%s)", name);
        else
                out_printf(o, " (errno %d)", e);
}

static void out_addr(Out *o, const PolicySockaddr *sa) {
        char text[INET6_ADDRSTRLEN];

        switch (sa->family) {
        case AF_INET:
                inet_ntop(AF_INET, sa->addr, text, sizeof text);
                out_printf(o, "%s:%u", text, sa->port);
                break;
        case AF_INET6:
                inet_ntop(AF_INET6, sa->addr, text, sizeof text);
                out_printf(o, "[%s]:%u", text, sa->port);
                break;
        case AF_UNIX:
                out_printf(o, "unix:");
                out_untrusted(o, strempty(sa->unix_path));
                return;
        case POLICY_FAMILY_CONNECTED:
                out_printf(o, "no address (the connected peer)");
                return;
        default:
                out_printf(o, "address of family %d", sa->family);
                return;
        }
        if (sa->protocol == IPPROTO_TCP)
                out_printf(o, "/tcp");
        else if (sa->protocol == IPPROTO_UDP)
                out_printf(o, "/udp");
}

static void out_path_access(Out *o, const PolicyQuery *q) {
        char access[128];

        out_untrusted(o, q->path);
        out_printf(o, " [%s]", policy_access_to_string(q->access, access, sizeof access));
}

static const char *query_syscall_name(const PolicyGraph *g, const PolicyQuery *q) {
        const ArchIndex *ai = arch_lookup(g, q->arch, q->nr);
        const SyscallSlot *slot = ai ? arch_slot(ai, q->nr) : NULL;

        return slot ? slot->name : NULL;
}

char *policy_decision_explain(const PolicyGraph *g, const PolicyQuery *q, const PolicyDecision *d, char *buf,
                              size_t size) {
        Out o = { .buf = buf, .size = size };
        const char *name;

        if (!buf || size == 0)
                return buf;
        buf[0] = '\0';
        if (!g || !q || !d)
                return buf;

        name = query_syscall_name(g, q);
        out_printf(&o, "%s", strempty(policy_verdict_to_string(d->verdict)));
        if (d->verdict == POLICY_VERDICT_DENY || d->verdict == POLICY_VERDICT_QUARANTINE)
                out_errno(&o, d->errno_value);

        switch (d->reason) {
        case POLICY_REASON_RULE:
                out_printf(&o, " by rule %s", strempty(d->rule_id));
                if (!d->resource)
                        break;
                switch (d->resource->type) {
                case POLICY_RESOURCE_PATH: {
                        char access[128];

                        out_printf(&o, ": ");
                        out_untrusted(&o, strempty(q->path));
                        out_printf(&o, " matches resource %s [%s]", d->resource->name,
                                   policy_access_to_string(q->access, access, sizeof access));
                        break;
                }
                case POLICY_RESOURCE_NETWORK:
                        out_printf(&o, ": ");
                        out_addr(&o, q->addr);
                        out_printf(&o, " matches resource %s", d->resource->name);
                        break;
                case POLICY_RESOURCE_ARGS:
                        out_printf(&o, ": arguments match resource %s", d->resource->name);
                        break;
                default:
                        break;
                }
                break;
        case POLICY_REASON_DEFAULT:
                if (name)
                        out_printf(&o, " by default: no rule for %s matched", name);
                else
                        out_printf(&o, " by default: no rule for syscall %d matched", q->nr);
                if (q->path) {
                        out_printf(&o, " ");
                        out_path_access(&o, q);
                }
                if (q->addr) {
                        out_printf(&o, " ");
                        out_addr(&o, q->addr);
                }
                break;
        case POLICY_REASON_BAD_ARCH: {
                const char *arch = arch_table_to_string(q->arch);

                out_printf(&o,
                           " by bad-arch: architecture %s (0x%08x) is not in the policy; the kernel filter "
                           "kills the process",
                           arch ?: "unknown", q->arch);
                break;
        }
        case POLICY_REASON_UNKNOWN_SYSCALL: {
                const char *arch = arch_table_to_string(q->arch);

                out_printf(&o, " by default: syscall %d is unknown on %s", q->nr,
                           arch ?: "this architecture");
                break;
        }
        case POLICY_REASON_BUILTIN:
                out_printf(&o, " by builtin: seccomp(SECCOMP_SET_MODE_FILTER) with "
                               "SECCOMP_FILTER_FLAG_NEW_LISTENER is never allowed");
                break;
        default:
                break;
        }

        if (d->trust_blocked)
                out_printf(&o, "; rule %s needs trust >= %d, workload has %d", d->trust_blocked->id,
                           d->trust_blocked->min_trust, q->trust);
        return buf;
}
