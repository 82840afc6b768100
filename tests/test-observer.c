/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The observer's pure parts, without BPF: which calls a compiled filter may fail with an errno or send to
 * the supervisor (checked against the filter itself, run on many registers), and the pairing of decisions
 * with exits.
 */
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/observer/observer-internal.h"
#include "forgeone/policy-compile.h"
#include "forgeone/policy.h"
#include "forgeone/syscall-table.h"
#include "test-util.h"

#if defined(__x86_64__)
#define NATIVE AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE AUDIT_ARCH_AARCH64
#endif

static PolicyFilter *compile_file(const char *rel) {
        PolicyDiagnostics diag = {};
        PolicyFilter *f = NULL;
        Policy *p = NULL;

        ck_assert_int_ge(policy_load_file(fo_test_source_path(rel), &p, &diag, NULL), 0);
        policy_diagnostics_done(&diag);
        ck_assert_int_ge(policy_compile(p, POLICY_IDENTITY_ANY, &f), 0);
        policy_free(p);
        return f;
}

static unsigned may_of(uint32_t ret) {
        switch (ret & SECCOMP_RET_ACTION_FULL) {
        case SECCOMP_RET_ERRNO:
                return OBSERVER_MAY_ERRNO;
        case SECCOMP_RET_USER_NOTIF:
                return OBSERVER_MAY_NOTIFY;
        case SECCOMP_RET_ALLOW:
                return OBSERVER_MAY_ALLOW;
        default:
                return OBSERVER_MAY_OTHER;
        }
}

/* Whatever the arguments, the filter returns only what the walk said it may: checked on every native
 * number with arguments the compiler's conditions care about (0, small values, flags, all ones) and random
 * ones. */
static void check_sound(const char *rel) {
        PolicyFilter *f = compile_file(rel);
        const uint64_t interesting[] = { 0, 1, 2, 3, 0x10, 0x40, 0x80, 0x200, 0x1000, 0x80000, 0x10000000,
                                         0xffffffffu, UINT64_MAX, 0x5401, 0x8 };
        unsigned seed = 1, both = 0;

        for (int nr = 0; nr < (int) FO_NR_BITS; nr++) {
                unsigned may = observer_filter_may(f, NATIVE, nr);

                ck_assert_msg(may != 0, "nr %d: the walk found no return", nr);
                if ((may & OBSERVER_MAY_ERRNO) && (may & OBSERVER_MAY_NOTIFY))
                        both++;
                for (unsigned round = 0; round < 64; round++) {
                        struct seccomp_data d = { .nr = nr, .arch = NATIVE, .instruction_pointer = 0x401000 };
                        uint32_t ret;

                        for (int a = 0; a < 6; a++)
                                d.args[a] = round < ELEMENTSOF(interesting)
                                                    ? interesting[(round + (unsigned) a) % ELEMENTSOF(interesting)]
                                                    : ((uint64_t) rand_r(&seed) << 32) | (uint64_t) rand_r(&seed);
                        ret = policy_filter_run(f, &d);
                        ck_assert_msg(may & may_of(ret), "%s: nr %d returns 0x%x, the walk said 0x%x", rel, nr,
                                      ret, may);
                }
        }
        policy_filter_free(f);
}

START_TEST(test_filter_may_sound) {
        check_sound("policies/default.json");
        check_sound("policies/strict.json");
        check_sound("policies/web-service.json");
        check_sound("tests/policies/observer.json");
}
END_TEST

START_TEST(test_filter_may_exact) {
        PolicyFilter *f = compile_file("tests/policies/observer.json");
        uint64_t me[FO_NR_WORDS], mn[FO_NR_WORDS];
        int getpid_nr = syscall_resolve_native("getpid"), acct_nr = syscall_resolve_native("acct"),
            mkdir_nr = syscall_resolve_native("mkdir"), seccomp_nr = syscall_resolve_native("seccomp");

        /* Allowed in the kernel, whatever the arguments: neither. */
        ck_assert_uint_eq(observer_filter_may(f, NATIVE, getpid_nr), OBSERVER_MAY_ALLOW);
        /* The default: an errno. */
        ck_assert_uint_eq(observer_filter_may(f, NATIVE, acct_nr), OBSERVER_MAY_ERRNO);
        /* A path rule: the supervisor. */
        ck_assert_uint_eq(observer_filter_may(f, NATIVE, mkdir_nr), OBSERVER_MAY_NOTIFY);
        /* A listener refused in the kernel, anything else to the supervisor: both, by the arguments. */
        ck_assert_uint_eq(observer_filter_may(f, NATIVE, seccomp_nr), OBSERVER_MAY_ERRNO | OBSERVER_MAY_NOTIFY);
        /* A foreign architecture is killed. */
        ck_assert_uint_eq(observer_filter_may(f, 0x12345678u, getpid_nr), OBSERVER_MAY_OTHER);

        observer_filter_bitmaps(f, NATIVE, me, mn);
        ck_assert(!(me[getpid_nr / 64] >> (getpid_nr % 64) & 1) && !(mn[getpid_nr / 64] >> (getpid_nr % 64) & 1));
        ck_assert((me[acct_nr / 64] >> (acct_nr % 64) & 1) && !(mn[acct_nr / 64] >> (acct_nr % 64) & 1));
        ck_assert(!(me[mkdir_nr / 64] >> (mkdir_nr % 64) & 1) && (mn[mkdir_nr / 64] >> (mkdir_nr % 64) & 1));
        ck_assert((me[seccomp_nr / 64] >> (seccomp_nr % 64) & 1) && (mn[seccomp_nr / 64] >> (seccomp_nr % 64) & 1));
        policy_filter_free(f);
}
END_TEST

START_TEST(test_filter_may_tangled) {
        /* A return of A loaded from an argument: anything. */
        struct sock_filter insns[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
                BPF_STMT(BPF_RET | BPF_A, 0),
        };
        PolicyFilter f = { .insns = insns, .n_insns = ELEMENTSOF(insns) };

        ck_assert_uint_eq(observer_filter_may(&f, NATIVE, 0),
                          OBSERVER_MAY_ERRNO | OBSERVER_MAY_NOTIFY | OBSERVER_MAY_ALLOW | OBSERVER_MAY_OTHER);
        ck_assert_uint_eq(observer_filter_may(NULL, NATIVE, 0),
                          OBSERVER_MAY_ERRNO | OBSERVER_MAY_NOTIFY | OBSERVER_MAY_ALLOW | OBSERVER_MAY_OTHER);
}
END_TEST

/* ---- the matcher ---- */

typedef struct Seen {
        unsigned kinds[5];
        int64_t last_observed;
} Seen;

static void on_match(const MatchResult *r, void *userdata) {
        Seen *s = userdata;

        s->kinds[r->kind]++;
        s->last_observed = r->observed;
}

static MatchDecision decision(uint32_t tid, uint32_t nr, SupervisorAction a, int error, int64_t value) {
        MatchDecision d = { .tid = tid, .nr = nr, .action = a, .error = error, .value = value };

        snprintf(d.rule, sizeof d.rule, "r");
        snprintf(d.syscall, sizeof d.syscall, "s");
        return d;
}

START_TEST(test_match_pairs_either_order) {
        Matcher *m;
        Seen s = {};
        MatchDecision d;

        ck_assert_int_ge(matcher_new(&m), 0);
        /* Decision first, then its exit. */
        d = decision(10, 83, SUPERVISOR_ACTION_DENY, 13, 0);
        matcher_add_decision(m, &d, 0, on_match, &s);
        ck_assert_uint_eq(matcher_pending(m), 1);
        matcher_add_exit(m, 10, 83, -13, 0, on_match, &s);
        ck_assert_uint_eq(s.kinds[MATCH_OK], 1);
        /* Exit first (the task ran on before the record was drained), then the decision: an emulated open's
         * fd. */
        matcher_add_exit(m, 11, 257, 5, 0, on_match, &s);
        d = decision(11, 257, SUPERVISOR_ACTION_EMULATE, 0, 5);
        matcher_add_decision(m, &d, 0, on_match, &s);
        ck_assert_uint_eq(s.kinds[MATCH_OK], 2);
        ck_assert_uint_eq(matcher_pending(m), 0);
        matcher_free(m);
}
END_TEST

START_TEST(test_match_mismatch) {
        Matcher *m;
        Seen s = {};
        MatchDecision d = decision(10, 83, SUPERVISOR_ACTION_DENY, 13, 0);

        ck_assert_int_ge(matcher_new(&m), 0);
        matcher_add_decision(m, &d, 0, on_match, &s);
        matcher_add_exit(m, 10, 83, -1, 0, on_match, &s);
        ck_assert_uint_eq(s.kinds[MATCH_MISMATCH], 1);
        ck_assert_int_eq(s.last_observed, -1);
        /* An injected fd other than the one the call returned. */
        d = decision(10, 257, SUPERVISOR_ACTION_EMULATE, 0, 7);
        matcher_add_decision(m, &d, 0, on_match, &s);
        matcher_add_exit(m, 10, 257, 8, 0, on_match, &s);
        ck_assert_uint_eq(s.kinds[MATCH_MISMATCH], 2);
        matcher_free(m);
}
END_TEST

START_TEST(test_match_by_thread_and_number) {
        Matcher *m;
        Seen s = {};
        MatchDecision d1 = decision(10, 83, SUPERVISOR_ACTION_DENY, 13, 0),
                      d2 = decision(20, 83, SUPERVISOR_ACTION_DENY, 1, 0),
                      d3 = decision(10, 257, SUPERVISOR_ACTION_EMULATE, 0, 3);

        ck_assert_int_ge(matcher_new(&m), 0);
        matcher_add_decision(m, &d1, 0, on_match, &s);
        matcher_add_decision(m, &d2, 0, on_match, &s);
        matcher_add_decision(m, &d3, 0, on_match, &s);
        /* Interleaved threads: each exit finds its own thread's decision. */
        matcher_add_exit(m, 20, 83, -1, 0, on_match, &s);
        matcher_add_exit(m, 10, 257, 3, 0, on_match, &s);
        matcher_add_exit(m, 10, 83, -13, 0, on_match, &s);
        ck_assert_uint_eq(s.kinds[MATCH_OK], 3);
        ck_assert_uint_eq(s.kinds[MATCH_MISMATCH], 0);
        matcher_free(m);
}
END_TEST

START_TEST(test_match_losses_unverifiable) {
        Matcher *m;
        Seen s = {};
        MatchDecision d = decision(10, 83, SUPERVISOR_ACTION_DENY, 13, 0);

        ck_assert_int_ge(matcher_new(&m), 0);
        /* A record was lost between the two halves: a wrong pair is possible, so no alert. */
        matcher_add_exit(m, 10, 83, -1, 4, on_match, &s);
        matcher_add_decision(m, &d, 5, on_match, &s);
        ck_assert_uint_eq(s.kinds[MATCH_UNVERIFIABLE], 1);
        ck_assert_uint_eq(s.kinds[MATCH_MISMATCH], 0);
        matcher_free(m);
}
END_TEST

START_TEST(test_match_age_and_flush) {
        Matcher *m;
        Seen s = {};
        MatchDecision d = decision(10, 83, SUPERVISOR_ACTION_DENY, 13, 0);

        ck_assert_int_ge(matcher_new(&m), 0);
        matcher_add_decision(m, &d, 0, on_match, &s);
        matcher_add_exit(m, 11, 83, -1, 0, on_match, &s);
        matcher_age(m, 3, on_match, &s);
        matcher_age(m, 3, on_match, &s);
        ck_assert_uint_eq(matcher_pending(m), 2);
        matcher_age(m, 3, on_match, &s);
        ck_assert_uint_eq(matcher_pending(m), 0);
        ck_assert_uint_eq(s.kinds[MATCH_DECISION_UNMATCHED], 1);
        ck_assert_uint_eq(s.kinds[MATCH_EXIT_UNMATCHED], 1);

        matcher_add_decision(m, &d, 0, on_match, &s);
        matcher_flush(m, on_match, &s);
        ck_assert_uint_eq(s.kinds[MATCH_DECISION_UNMATCHED], 2);
        ck_assert_uint_eq(matcher_pending(m), 0);
        matcher_free(m);
}
END_TEST

START_TEST(test_match_bounded) {
        Matcher *m;
        Seen s = {};

        ck_assert_int_ge(matcher_new(&m), 0);
        for (uint32_t i = 0; i < 5000; i++)
                matcher_add_exit(m, i, 83, -1, 0, on_match, &s);
        ck_assert_uint_eq(matcher_pending(m), 4096);
        ck_assert_uint_eq(s.kinds[MATCH_EXIT_UNMATCHED], 5000 - 4096);
        matcher_free(m);
}
END_TEST

static Suite *observer_suite(void) {
        Suite *s = suite_create("observer");
        TCase *tc = tcase_create("filter");

        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_filter_may_sound);
        tcase_add_test(tc, test_filter_may_exact);
        tcase_add_test(tc, test_filter_may_tangled);
        suite_add_tcase(s, tc);
        tc = tcase_create("match");
        tcase_add_test(tc, test_match_pairs_either_order);
        tcase_add_test(tc, test_match_mismatch);
        tcase_add_test(tc, test_match_by_thread_and_number);
        tcase_add_test(tc, test_match_losses_unverifiable);
        tcase_add_test(tc, test_match_age_and_flush);
        tcase_add_test(tc, test_match_bounded);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return fo_test_run(observer_suite());
}
