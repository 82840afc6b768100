/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The trust score: pure arithmetic on a caller-supplied clock, so minutes pass instantly. */

#include "forgeone/trust-score.h"
#include "test-util.h"

#define MINUTE UINT64_C(60000000)
#define T0     UINT64_C(1000000000) /* an arbitrary monotonic start */

static const PolicyTrust cfg = {
        .initial = 80,
        .maximum = 100,
        .deny_penalty = 15,
        .quarantine_below = 30,
        .recovery_per_minute = 2,
};

START_TEST(test_init_clamps) {
        TrustScore t;

        trust_score_init(&t, &cfg, 80, T0);
        ck_assert_int_eq(t.score, 80);
        ck_assert_uint_eq(t.last_usec, T0);
        ck_assert_uint_eq(t.residual_usec, 0);
        trust_score_init(&t, &cfg, 250, T0);
        ck_assert_int_eq(t.score, 100);
        trust_score_init(&t, &cfg, -4, T0);
        ck_assert_int_eq(t.score, 0);
        ck_assert(trust_score_quarantined(&t, &cfg));
}
END_TEST

START_TEST(test_penalty_and_threshold) {
        TrustScore t;

        trust_score_init(&t, &cfg, 60, T0);
        ck_assert_int_eq(trust_score_penalize(&t, &cfg, T0), 45);
        ck_assert(!trust_score_quarantined(&t, &cfg));
        ck_assert_int_eq(trust_score_penalize(&t, &cfg, T0), 30);
        ck_assert(!trust_score_quarantined(&t, &cfg)); /* "below" the threshold: 30 is not below 30 */
        ck_assert_int_eq(trust_score_penalize(&t, &cfg, T0), 15);
        ck_assert(trust_score_quarantined(&t, &cfg));
        ck_assert_int_eq(trust_score_penalize(&t, &cfg, T0), 0);
        ck_assert_int_eq(trust_score_penalize(&t, &cfg, T0), 0); /* never negative */
}
END_TEST

START_TEST(test_recovery_with_residual) {
        TrustScore t;

        trust_score_init(&t, &cfg, 50, T0);
        /* 59 s: no full minute yet */
        ck_assert_int_eq(trust_score_current(&t, &cfg, T0 + 59 * 1000000), 50);
        ck_assert_uint_eq(t.residual_usec, 59 * 1000000);
        /* 1 s more completes the minute that had been counted so far */
        ck_assert_int_eq(trust_score_current(&t, &cfg, T0 + MINUTE), 52);
        ck_assert_uint_eq(t.residual_usec, 0);
        /* 2.5 minutes: two points per minute for two minutes, the half carried */
        ck_assert_int_eq(trust_score_current(&t, &cfg, T0 + MINUTE + 5 * MINUTE / 2), 56);
        ck_assert_uint_eq(t.residual_usec, MINUTE / 2);
        ck_assert_int_eq(trust_score_current(&t, &cfg, T0 + 4 * MINUTE), 58);
        /* asking twice at the same time changes nothing */
        ck_assert_int_eq(trust_score_current(&t, &cfg, T0 + 4 * MINUTE), 58);
        /* a clock that goes backwards recovers nothing and breaks nothing */
        ck_assert_int_eq(trust_score_current(&t, &cfg, T0), 58);
        ck_assert_int_eq(trust_score_current(&t, &cfg, T0 + 5 * MINUTE), 60);
}
END_TEST

START_TEST(test_recovery_caps_and_does_not_bank) {
        TrustScore t;

        trust_score_init(&t, &cfg, 97, T0);
        ck_assert_int_eq(trust_score_current(&t, &cfg, T0 + 10 * MINUTE), 100);
        /* hours at the maximum are not saved up against later denials */
        ck_assert_int_eq(trust_score_current(&t, &cfg, T0 + 600 * MINUTE + MINUTE / 2), 100);
        ck_assert_int_eq(trust_score_penalize(&t, &cfg, T0 + 600 * MINUTE + MINUTE / 2), 85);
        ck_assert_int_eq(trust_score_current(&t, &cfg, T0 + 601 * MINUTE), 85);
        ck_assert_int_eq(trust_score_current(&t, &cfg, T0 + 601 * MINUTE + MINUTE / 2), 87);

        /* years of elapsed time do not overflow */
        ck_assert_int_eq(trust_score_penalize(&t, &cfg, T0 + 602 * MINUTE), 72);
        ck_assert_int_eq(trust_score_current(&t, &cfg, UINT64_MAX - 1), 100);
}
END_TEST

START_TEST(test_denial_restarts_the_minute) {
        TrustScore t;

        trust_score_init(&t, &cfg, 50, T0);
        /* 50 s without denials, then one: the next point needs a full minute from the denial */
        ck_assert_int_eq(trust_score_penalize(&t, &cfg, T0 + 50 * 1000000), 35);
        ck_assert_int_eq(trust_score_current(&t, &cfg, T0 + MINUTE + 20 * 1000000), 35);
        ck_assert_int_eq(trust_score_current(&t, &cfg, T0 + MINUTE + 50 * 1000000), 37);
}
END_TEST

START_TEST(test_no_recovery) {
        const PolicyTrust none = {
                .initial = 40, .maximum = 100, .deny_penalty = 40, .quarantine_below = 1
        };
        TrustScore t;

        trust_score_init(&t, &none, none.initial, T0);
        ck_assert_int_eq(trust_score_penalize(&t, &none, T0), 0);
        ck_assert(trust_score_quarantined(&t, &none));
        ck_assert_int_eq(trust_score_current(&t, &none, T0 + 1000 * MINUTE), 0);
        ck_assert(trust_score_quarantined(&t, &none));
}
END_TEST

static Suite *trust_score_suite(void) {
        Suite *s = suite_create("trust-score");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_init_clamps);
        tcase_add_test(tc, test_penalty_and_threshold);
        tcase_add_test(tc, test_recovery_with_residual);
        tcase_add_test(tc, test_recovery_caps_and_does_not_bank);
        tcase_add_test(tc, test_denial_restarts_the_minute);
        tcase_add_test(tc, test_no_recovery);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return fo_test_run(trust_score_suite());
}
