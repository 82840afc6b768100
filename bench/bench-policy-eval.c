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
} Query;

static int nr_of(const char *name) {
        int nr = syscall_resolve_native(name);

        if (nr < 0) {
                fprintf(stderr, "Syscall %s does not exist on this architecture.\n", name);
                exit(EXIT_FAILURE);
        }
        return nr;
}

/* The fixed mix: hits on rules 0..9 (present in every policy) and misses, over identities and "*". */
static size_t make_queries(Query *qs) {
        static const struct {
                const char *syscall, *path;
        } paths[] = {
                { "openat", "/srv/d0/www/index.html" },              /* rule 0 */
                { "mkdirat", "/data/t1/app.log" },                   /* rule 1, glob */
                { "newfstatat", "/etc/app2.conf" },                  /* rule 2, exact */
                { "openat", "/srv/d3/a/b/c/d/e" },                   /* rule 3 */
                { "readlinkat", "/data/t4/archive/2024/01/x" },      /* rule 4 */
                { "openat", "/srv/nowhere/x" },                      /* miss under a busy directory */
                { "openat", "/usr/lib/x86_64-linux-gnu/libc.so.6" }, /* miss, deep */
                { "execve", "/usr/bin/env" },                        /* miss */
                { "unlinkat", "/data/t1/app.txt" },                  /* glob miss */
                { "newfstatat", "/etc/app999999.conf" },             /* literal miss in a large directory */
        };
        size_t n = 0;

        for (int id = POLICY_IDENTITY_ANY; id < N_IDENTITIES; id++) {
                FOREACH_ELEMENT(pq, paths)
                        qs[n++].q = (PolicyQuery) {
                                .identity = id,
                                .trust = 50,
                                .arch = seccomp_arch_native(),
                                .nr = nr_of(pq->syscall),
                                .path = pq->path,
                                .access = POLICY_ACCESS_READ,
                        };
                /* arguments: hit rule 6 (ioctl/fcntl, request 0x10006), rule 7, a miss */
                for (uint64_t req = 0x10006; req <= 0x10008; req++)
                        qs[n++].q = (PolicyQuery) {
                                .identity = id,
                                .trust = 50,
                                .arch = seccomp_arch_native(),
                                .nr = nr_of("ioctl"),
                                .args = { 1, req },
                        };
                qs[n++].q = (PolicyQuery) {
                        .identity = id,
                        .trust = 50,
                        .arch = seccomp_arch_native(),
                        .nr = nr_of("fcntl"),
                        .args = { 5, 0x10007 },
                };
                /* networks: rule 8 (10.0.8.0/24 port 1008 tcp), a near miss, IPv6 */
                for (int k = 0; k < 3; k++) {
                        Query *x = &qs[n++];

                        x->sa = (PolicySockaddr) { .family = k < 2 ? AF_INET : AF_INET6,
                                                  .port = 1008,
                                                  .protocol = IPPROTO_TCP };
                        if (k == 0)
                                inet_pton(AF_INET, "10.0.8.77", x->sa.addr);
                        else if (k == 1)
                                inet_pton(AF_INET, "10.0.9.77", x->sa.addr);
                        else
                                inet_pton(AF_INET6, "2001:db8:0:9::1", x->sa.addr);
                        x->q = (PolicyQuery) {
                                .identity = id,
                                .trust = 50,
                                .arch = seccomp_arch_native(),
                                .nr = nr_of("connect"),
                        };
                }
                /* plain syscalls: a rule-decided one and one only the default decides */
                qs[n++].q = (PolicyQuery) { .identity = id,
                                           .trust = 50,
                                           .arch = seccomp_arch_native(),
                                           .nr = nr_of(plain_syscalls[9 % ELEMENTSOF(plain_syscalls)]) };
                qs[n++].q = (PolicyQuery) {
                        .identity = id, .trust = 50, .arch = seccomp_arch_native(), .nr = nr_of("getcwd")
                };
        }
        for (size_t i = 0; i < n; i++)
                if (qs[i].sa.family != 0)
                        qs[i].q.addr = &qs[i].sa;
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
        Query qs[256] = {};
        size_t n_queries = make_queries(qs);
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
