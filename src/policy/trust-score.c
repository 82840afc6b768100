/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "forgeone/trust-score.h"

#define USEC_PER_MINUTE UINT64_C(60000000)

static int clamp_score(int64_t v, int maximum) {
        if (v < 0)
                return 0;
        if (v > maximum)
                return maximum;
        return (int) v;
}

void trust_score_init(TrustScore *t, const PolicyTrust *cfg, int initial, uint64_t now_usec) {
        *t = (TrustScore) {
                .score = clamp_score(initial, MAX(cfg->maximum, 0)),
                .last_usec = now_usec,
        };
}

static void recover(TrustScore *t, const PolicyTrust *cfg, uint64_t now_usec) {
        int maximum = MAX(cfg->maximum, 0);
        uint64_t elapsed, minutes;

        if (now_usec <= t->last_usec)
                return; /* a clock that does not advance recovers nothing */
        elapsed = now_usec - t->last_usec + t->residual_usec;
        t->last_usec = now_usec;

        if (cfg->recovery_per_minute <= 0 || t->score >= maximum) {
                /* Time spent at the maximum (or without recovery) is not banked for later. */
                t->residual_usec = 0;
                t->score = clamp_score(t->score, maximum);
                return;
        }

        minutes = elapsed / USEC_PER_MINUTE;
        t->residual_usec = elapsed % USEC_PER_MINUTE;
        /* Compare in minutes first so the product below cannot overflow. */
        if (minutes >= (uint64_t) (maximum - t->score) / (uint64_t) cfg->recovery_per_minute + 1)
                t->score = maximum;
        else
                t->score = clamp_score((int64_t) t->score + (int64_t) minutes * cfg->recovery_per_minute,
                                       maximum);
        if (t->score >= maximum)
                t->residual_usec = 0;
}

int trust_score_current(TrustScore *t, const PolicyTrust *cfg, uint64_t now_usec) {
        recover(t, cfg, now_usec);
        return t->score;
}

int trust_score_penalize(TrustScore *t, const PolicyTrust *cfg, uint64_t now_usec) {
        recover(t, cfg, now_usec);
        t->score = clamp_score((int64_t) t->score - MAX(cfg->deny_penalty, 0), MAX(cfg->maximum, 0));
        /* Recovery counts minutes without denials: the clock starts again at this one. */
        t->residual_usec = 0;
        return t->score;
}

bool trust_score_quarantined(const TrustScore *t, const PolicyTrust *cfg) {
        return t->score < cfg->quarantine_below;
}
