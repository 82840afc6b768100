/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Cost of policy_graph_eval() against the size of the policy.
 *
 * Generates policies of 10, 1,000 and 10,000 rules with a realistic mix
 * (path rules with distinct prefixes over several path syscalls, argument
 * rules, network rules, unconditional rules, four identities and "*"),
 * builds their graphs, and times one fixed mix of queries (hits and misses,
 * several identities) against each in this process. Rule i is the same in
 * every policy, so the queries mean the same thing for every size; bigger
 * policies only add rules. Prints ns per evaluation and the ratio of the
 * largest to the smallest policy: the graph is indexed, so the target is
 * at most 1.5. Only ratios measured in one run are meaningful.
 *
 * The policies are built as Policy structures, not parsed: this measures
 * evaluation, not the parser.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "forgeone/policy-graph.h"
#include "forgeone/syscall-table.h"

#define N_IDENTITIES 4
#define ROUNDS       1000
#define ROUND_NS     500000ULL /* ~0.5 ms per measurement: short windows, so some miss the noise */

static const char *const path_syscalls[] = { "execve", "mkdirat",    "newfstatat",
                                             "openat", "readlinkat", "unlinkat" };
static const char *const net_syscalls[] = { "bind", "connect", "sendto" };
static const char *const plain_syscalls[] = { "getpid", "getppid", "gettid", "sched_yield", "uname" };

static void *xcalloc(size_t n, size_t size) {
        void *p = calloc(n ? n : 1, size);

        if (!p) {
                fprintf(stderr, "Out of memory.\n");
                exit(EXIT_FAILURE);
        }
        return p;
}

static char *xasprintf(const char *fmt, ...) _printf_(1, 2);
static char *xasprintf(const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0) {
                fprintf(stderr, "Out of memory.\n");
                exit(EXIT_FAILURE);
        }
        va_end(ap);
        return s;
}

static int str_compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Sorted, unique strv of n names taken round-robin from list, starting at first. */
static char **syscalls_strv(const char *const *list, size_t n_list, size_t first, size_t n) {
        char **l = xcalloc(n + 1, sizeof(char *));
        size_t k = 0;

        for (size_t i = 0; i < n; i++) {
                const char *name = list[(first + i) % n_list];
                bool dup = false;

                for (size_t j = 0; j < k; j++)
                        if (streq(l[j], name))
                                dup = true;
                if (!dup)
                        l[k++] = xasprintf("%s", name);
        }
        qsort(l, k, sizeof(char *), str_compare);
        return l;
}

/* Rule i, the same in every generated policy. */
static void make_rule(Policy *p, size_t i) {
        PolicyRule *rule = &p->rules[p->n_rules++];
        PolicyResource *res = NULL;
        unsigned kind = i % 10;

        *rule = (PolicyRule) {
                .id = xasprintf("rule-%zu", i),
                .identity = i % (N_IDENTITIES + 1) == N_IDENTITIES ? POLICY_IDENTITY_ANY
                                                                   : (int) (i % (N_IDENTITIES + 1)),
                .verdict = i % 7 == 3 ? POLICY_VERDICT_DENY : POLICY_VERDICT_ALLOW,
                .errno_value = EACCES,
                .min_trust = i % 11 == 5 ? 40 : -1,
        };

        if (kind < 6) {
                /* Paths: distinct prefixes, three shapes. */
                res = &p->resources[p->n_resources];
                *res = (PolicyResource) { .type = POLICY_RESOURCE_PATH, .access = POLICY_ACCESS_ALL };
                res->paths = xcalloc(3, sizeof(char *));
                switch (i % 3) {
                case 0:
                        res->paths[0] = xasprintf("/srv/d%zu/**", i);
                        break;
                case 1:
                        res->paths[0] = xasprintf("/data/t%zu/*.log", i);
                        res->paths[1] = xasprintf("/data/t%zu/archive/**", i);
                        break;
                default:
                        res->paths[0] = xasprintf("/etc/app%zu.conf", i);
                        break;
                }
                rule->syscalls = syscalls_strv(path_syscalls, ELEMENTSOF(path_syscalls), i, 2 + i % 3);
        } else if (kind < 8) {
                /* Arguments: ioctl requests and fcntl commands, one "eq" each, some with a second condition.
                 */
                res = &p->resources[p->n_resources];
                *res = (PolicyResource) { .type = POLICY_RESOURCE_ARGS };
                res->args = xcalloc(2, sizeof(PolicyArgCond));
                res->args[res->n_args++] =
                        (PolicyArgCond) { .index = 1, .op = POLICY_ARG_EQ, .value = 0x10000 + i };
                if (i % 4 == 0)
                        res->args[res->n_args++] =
                                (PolicyArgCond) { .index = 0, .op = POLICY_ARG_LT, .value = 3 };
                rule->syscalls = syscalls_strv((const char *const[]) { "fcntl", "ioctl" }, 2, i, 1 + i % 2);
        } else if (kind < 9) {
                /* Networks: a /24 per rule, a port, v4 and v6. */
                PolicyNetEndpoint *ep;

                res = &p->resources[p->n_resources];
                *res = (PolicyResource) { .type = POLICY_RESOURCE_NETWORK };
                ep = res->endpoints = xcalloc(1, sizeof(PolicyNetEndpoint));
                res->n_endpoints = 1;
                if (i % 2 == 0) {
                        *ep = (PolicyNetEndpoint) { .family = AF_INET,
                                                   .prefixlen = 24,
                                                   .protocol = IPPROTO_TCP,
                                                   .port_min = (uint16_t) (1000 + i % 500),
                                                   .port_max = (uint16_t) (1000 + i % 500) };
                        ep->addr[0] = 10;
                        ep->addr[1] = (uint8_t) (i >> 8);
                        ep->addr[2] = (uint8_t) i;
                } else {
                        *ep = (PolicyNetEndpoint) { .family = AF_INET6,
                                                   .prefixlen = 64,
                                                   .port_max = UINT16_MAX };
                        ep->addr[0] = 0x20;
                        ep->addr[1] = 0x01;
                        ep->addr[2] = 0x0d;
                        ep->addr[3] = 0xb8;
                        ep->addr[4] = (uint8_t) (i >> 8);
                        ep->addr[5] = (uint8_t) i;
                }
                rule->syscalls = syscalls_strv(net_syscalls, ELEMENTSOF(net_syscalls), i, 1 + i % 3);
        } else
                rule->syscalls = syscalls_strv(plain_syscalls, ELEMENTSOF(plain_syscalls), i, 1);

        if (res) {
                res->name = xasprintf("res-%zu", i);
                rule->resources = xcalloc(1, sizeof(int));
                rule->resources[0] = (int) p->n_resources++;
                rule->n_resources = 1;
        }
}

static Policy *make_policy(size_t n_rules) {
        Policy *p = xcalloc(1, sizeof(Policy));

        p->name = xasprintf("bench-%zu", n_rules);
        p->default_verdict = POLICY_VERDICT_DENY;
        p->default_errno = EPERM;
        p->arches = xcalloc(1, sizeof(uint32_t));
        p->arches[0] = seccomp_arch_native();
        p->n_arches = 1;
        p->trust =
                (PolicyTrust) { .initial = 50, .maximum = 100, .deny_penalty = 10, .quarantine_below = 20 };
        p->identities = xcalloc(N_IDENTITIES, sizeof(PolicyIdentity));
        for (size_t i = 0; i < N_IDENTITIES; i++)
                p->identities[p->n_identities++] = (PolicyIdentity) {
                        .name = xasprintf("svc%zu", i),
                        .match_name = xasprintf("svc%zu-*", i),
                        .trust_initial = -1,
                };
        p->resources = xcalloc(n_rules, sizeof(PolicyResource));
        p->rules = xcalloc(n_rules, sizeof(PolicyRule));
        for (size_t i = 0; i < n_rules; i++)
                make_rule(p, i);
        return p;
}

typedef struct Query {
        PolicyQuery q;
        PolicySockaddr sa;
        char path[128];
} Query;

static int nr_of(const char *name) {
        int nr = syscall_resolve_native(name);

        if (nr < 0) {
                fprintf(stderr, "Syscall %s does not exist on this architecture.\n", name);
                exit(EXIT_FAILURE);
        }
        return nr;
}

static PolicyQuery plain_query(int identity, const char *syscall) {
        return (PolicyQuery) {
                .identity = identity,
                .trust = 50,
                .arch = seccomp_arch_native(),
                .nr = nr_of(syscall),
        };
}

typedef enum Variant {
        VARIANT_HIT,       /* the rule decides the call */
        VARIANT_OTHER_HIT, /* another object the rule covers: deeper path, other host, other fd */
        VARIANT_MISS,      /* the object changed just enough that the rule no longer matches */
} Variant;

/* A call to rule r's first syscall with an object derived from its resource, made by identity. */
static void query_for_rule(const PolicyRule *r, const PolicyResource *res, int identity, Variant v,
                           Query *x) {
        bool miss = v == VARIANT_MISS, other = v == VARIANT_OTHER_HIT;

        *x = (Query) { .q = plain_query(identity, r->syscalls[0]) };
        if (!res)
                return;

        switch (res->type) {
        case POLICY_RESOURCE_PATH: {
                size_t n = 0;

                /* a "**" component becomes "a/b/c", a "*" inside one becomes "x" */
                for (const char *c = res->paths[0]; *c && n + 8 < sizeof x->path; c++) {
                        if (c[0] == '*' && c[1] == '*') {
                                n += (size_t) snprintf(x->path + n, sizeof x->path - n,
                                                       other ? "a/b/c/d/e" : "a/b/c");
                                c++;
                        } else if (c[0] == '*')
                                x->path[n++] = other ? 'y' : 'x';
                        else
                                x->path[n++] = *c;
                        /* a miss differs in the second component: a sibling in a busy directory */
                        if (miss && c[1] == '/' && memchr(x->path + 1, '/', n - 1) == NULL)
                                x->path[n++] = 'z';
                }
                x->path[n] = '\0';
                x->q.path = x->path;
                x->q.access = POLICY_ACCESS_READ;
                break;
        }
        case POLICY_RESOURCE_ARGS:
                x->q.args[0] = other ? 2 : 1;
                x->q.args[1] = res->args[0].value + (miss ? 0x100000 : 0);
                break;
        case POLICY_RESOURCE_NETWORK: {
                const PolicyNetEndpoint *ep = &res->endpoints[0];

                x->sa = (PolicySockaddr) {
                        .family = ep->family,
                        .port = ep->port_min,
                        .protocol = ep->protocol ?: IPPROTO_TCP,
                };
                memcpy(x->sa.addr, ep->addr, sizeof x->sa.addr);
                x->sa.addr[ep->family == AF_INET ? 3 : 15] = other ? 78 : 77; /* a host inside the prefix */
                if (miss)
                        x->sa.addr[ep->prefixlen / 8 - 1] ^= 1; /* the neighbouring network */
                x->q.addr = &x->sa;
                break;
        }
        default:
                break;
        }
}

/* The fixed mix, derived from rules 0..9, which every generated policy has: for each, two calls it decides,
 * the call by a workload no identity matches, and a near miss; plus, for every identity, a deep path no
 * rule covers, a literal miss in a large directory and a syscall no rule names. */
static size_t make_queries(Query *qs, size_t size) {
        _cleanup_(policy_freep) Policy *p = make_policy(10);
        size_t n = 0;

        for (size_t k = 0; k < p->n_rules; k++) {
                const PolicyRule *r = &p->rules[k];
                const PolicyResource *res = r->n_resources > 0 ? &p->resources[r->resources[0]] : NULL;
                int id = r->identity >= 0 ? r->identity : (int) (k % N_IDENTITIES);

                if (n + 4 > size)
                        break;
                query_for_rule(r, res, id, VARIANT_HIT, &qs[n++]);
                query_for_rule(r, res, r->identity >= 0 ? id : (id + 1) % N_IDENTITIES, VARIANT_OTHER_HIT,
                               &qs[n++]);
                if (r->identity >= 0)
                        query_for_rule(r, res, POLICY_IDENTITY_ANY, VARIANT_HIT, &qs[n++]);
                if (res)
                        query_for_rule(r, res, id, VARIANT_MISS, &qs[n++]);
        }
        for (int id = POLICY_IDENTITY_ANY; id < N_IDENTITIES && n + 3 <= size; id++) {
                qs[n].q = plain_query(id, "openat");
                snprintf(qs[n].path, sizeof qs[n].path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
                qs[n].q.path = qs[n].path;
                qs[n++].q.access = POLICY_ACCESS_READ;
                qs[n].q = plain_query(id, "newfstatat");
                snprintf(qs[n].path, sizeof qs[n].path, "/etc/app999999.conf");
                qs[n].q.path = qs[n].path;
                qs[n++].q.access = POLICY_ACCESS_READ;
                qs[n++].q = plain_query(id, "getcwd");
        }
        /* Query is copied into the array after its address was taken: point every query at its own copy. */
        for (size_t i = 0; i < n; i++) {
                if (qs[i].q.path)
                        qs[i].q.path = qs[i].path;
                if (qs[i].q.addr)
                        qs[i].q.addr = &qs[i].sa;
        }
        return n;
}

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

typedef struct Result {
        size_t n_rules;
        PolicyGraph *graph;
        double build_ms;
        uint64_t best_ns;
        size_t n_rule_decisions, n_default;
} Result;

static int build(size_t n_rules, const Query *qs, size_t n_queries, Result *ret) {
        Policy *p = make_policy(n_rules);
        uint64_t t0;
        int r;

        *ret = (Result) { .n_rules = n_rules, .best_ns = UINT64_MAX };
        t0 = now_ns();
        r = policy_graph_new(p, &ret->graph);
        if (r < 0) {
                policy_free(p);
                fprintf(stderr, "Failed to build the graph of %zu rules: %s\n", n_rules, strerror(-r));
                return r;
        }
        ret->build_ms = (double) (now_ns() - t0) / 1e6;

        for (size_t i = 0; i < n_queries; i++) {
                PolicyDecision d;

                r = policy_graph_eval(ret->graph, &qs[i].q, &d);
                if (r < 0) {
                        fprintf(stderr, "Failed to evaluate query %zu: %s\n", i, strerror(-r));
                        return r;
                }
                if (d.reason == POLICY_REASON_RULE)
                        ret->n_rule_decisions++;
                else
                        ret->n_default++;
        }
        return 0;
}

static double ns_per_eval(const Result *r, uint64_t iterations, size_t n_queries) {
        return (double) r->best_ns / (double) (iterations * n_queries);
}

static uint64_t measure(const PolicyGraph *g, const Query *qs, size_t n_queries, uint64_t iterations) {
        static volatile unsigned sink;
        uint64_t t0 = now_ns();

        for (uint64_t it = 0; it < iterations; it++)
                for (size_t i = 0; i < n_queries; i++) {
                        PolicyDecision d;

                        (void) policy_graph_eval(g, &qs[i].q, &d);
                        sink += (unsigned) d.verdict;
                }
        return now_ns() - t0;
}

int main(void) {
        static const size_t sizes[] = { 10, 1000, 10000 };
        static Query qs[128];
        size_t n_queries = make_queries(qs, ELEMENTSOF(qs));
        Result results[ELEMENTSOF(sizes)] = {};
        uint64_t iterations = 1;
        int r = EXIT_FAILURE;

        for (size_t i = 0; i < ELEMENTSOF(sizes); i++)
                if (build(sizes[i], qs, n_queries, &results[i]) < 0)
                        goto finish;
        for (size_t i = 1; i < ELEMENTSOF(sizes); i++)
                if (results[i].n_rule_decisions != results[0].n_rule_decisions) {
                        /* Rule i is the same in every policy: the queries must decide the same way. */
                        fprintf(stderr, "The %zu-rule policy decides the queries differently.\n", sizes[i]);
                        goto finish;
                }

        /* Rounds alternate between the sizes, so a busy moment of the machine hits all of them; the best
         * round of each counts. */
        while (measure(results[0].graph, qs, n_queries, iterations) < ROUND_NS)
                iterations *= 2;
        for (int round = 0; round < ROUNDS; round++)
                for (size_t i = 0; i < ELEMENTSOF(sizes); i++)
                        results[i].best_ns = MIN(results[i].best_ns,
                                                 measure(results[i].graph, qs, n_queries, iterations));

        printf("policy_graph_eval: %zu queries per pass (hits and misses, %d identities and \"*\"), "
               "best of %d alternating rounds\n\n",
               n_queries, N_IDENTITIES, ROUNDS);
        printf("%8s  %10s  %10s  %13s\n", "rules", "build ms", "ns/eval", "rule/default");
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++)
                printf("%8zu  %10.1f  %10.1f  %6zu/%-6zu\n", results[i].n_rules, results[i].build_ms,
                       ns_per_eval(&results[i], iterations, n_queries), results[i].n_rule_decisions,
                       results[i].n_default);
        printf("\nratio 1,000/10:  %.2f\n", ns_per_eval(&results[1], iterations, n_queries) /
                                                    ns_per_eval(&results[0], iterations, n_queries));
        printf("ratio 10,000/10: %.2f (target <= 1.5)\n",
               ns_per_eval(&results[2], iterations, n_queries) /
                       ns_per_eval(&results[0], iterations, n_queries));
        r = EXIT_SUCCESS;

finish:
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++)
                policy_graph_unref(results[i].graph);
        return r;
}
