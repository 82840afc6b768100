/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Helpers for the policy engine tests: load a policy written inline with
 * single quotes for readability, and build queries by syscall name on the
 * native architecture.
 */

#include <check.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forgeone/policy-graph.h"
#include "forgeone/policy.h"
#include "forgeone/syscall-table.h"

/* A policy header with a deny/EPERM default and a trust block; callers add the rest. */
#define TEST_POLICY_HEAD                                                                                    \
        "{'version': 1, 'name': 'test', 'default': {'action': 'deny', 'errno': 'EPERM'},"                   \
        " 'trust': {'initial': 50, 'maximum': 100, 'deny_penalty': 10, 'quarantine_below': 20,"             \
        " 'recovery_per_minute': 5},"

/* Loads JSON in which ' stands for "; fails the test with every diagnostic when it does not parse. */
static inline Policy *test_policy_load(const char *single_quoted) {
        PolicyDiagnostics diag = {};
        Policy *p = NULL;
        char *text = strdup(single_quoted);
        int r;

        ck_assert_ptr_nonnull(text);
        for (char *c = text; *c; c++)
                if (*c == '\'')
                        *c = '"';
        r = policy_load_string(text, strlen(text), "test.json", &p, &diag, NULL);
        if (r < 0) {
                for (size_t i = 0; i < diag.n_errors; i++)
                        fprintf(stderr, "%u:%u: %s\n", diag.errors[i].line, diag.errors[i].column,
                                diag.errors[i].message);
                fprintf(stderr, "policy: %s\n", text);
        }
        ck_assert_int_ge(r, 0);
        policy_diagnostics_done(&diag);
        free(text);
        return p;
}

_printf_(1, 2) static inline Policy *test_policy_loadf(const char *fmt, ...) {
        char *text = NULL;
        Policy *p;
        va_list ap;

        va_start(ap, fmt);
        ck_assert_int_ge(vasprintf(&text, fmt, ap), 0);
        va_end(ap);
        p = test_policy_load(text);
        free(text);
        return p;
}

static inline PolicyGraph *test_graph(const char *single_quoted) {
        Policy *p = test_policy_load(single_quoted);
        PolicyGraph *g = NULL;

        ck_assert_int_eq(policy_graph_new(p, &g), 0);
        return g;
}

/* A query for a syscall by name on the native architecture. */
static inline PolicyQuery test_query(const PolicyGraph *g, const char *identity, int trust,
                                     const char *syscall) {
        PolicyQuery q = {
                .identity = POLICY_IDENTITY_ANY,
                .trust = trust,
                .arch = seccomp_arch_native(),
                .nr = syscall_resolve_native(syscall),
        };

        ck_assert_msg(q.nr >= 0, "no native syscall %s", syscall);
        if (identity) {
                q.identity = policy_identity_by_name(policy_graph_policy(g), identity);
                ck_assert_msg(q.identity >= POLICY_IDENTITY_ANY, "no identity %s", identity);
        }
        return q;
}

static inline PolicyDecision test_eval(const PolicyGraph *g, const PolicyQuery *q) {
        PolicyDecision d = {};

        ck_assert_int_eq(policy_graph_eval(g, q, &d), 0);
        return d;
}

/* Evaluate a path query: shorthand for the most common test. */
static inline PolicyDecision test_eval_path(const PolicyGraph *g, const char *identity, const char *syscall,
                                            const char *path, unsigned access) {
        PolicyQuery q = test_query(g, identity, 50, syscall);

        q.path = path;
        q.access = access;
        return test_eval(g, &q);
}

#define assert_decision(d, verdict_, errno_, rule_)                                                         \
        do {                                                                                                \
                PolicyDecision _d = (d);                                                                    \
                ck_assert_msg(_d.verdict == (verdict_) && _d.errno_value == (errno_) &&                     \
                                      streq(_d.rule_id, (rule_)),                                           \
                              "expected %s/%d/%s, got %s/%d/%s", policy_verdict_to_string(verdict_),        \
                              (int) (errno_), (rule_), policy_verdict_to_string(_d.verdict),                \
                              _d.errno_value, _d.rule_id);                                                  \
        } while (0)
