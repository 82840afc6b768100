/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A workload's trust score: starts at its identity's initial score, drops by
 * the policy's penalty for each denial the supervisor decides, recovers at
 * a fixed rate per minute without denials (never above the maximum), and
 * asks for quarantine once it falls below the threshold. Pure arithmetic on
 * a caller-supplied monotonic clock (microseconds), so it is tested without
 * waiting.
 */

#include <stdbool.h>
#include <stdint.h>

#include "forgeone/policy.h"

typedef struct TrustScore {
        int score;
        uint64_t last_usec; /* last time recovery was applied */
        uint64_t residual_usec; /* time already counted toward the next recovery point */
} TrustScore;

void trust_score_init(TrustScore *t, const PolicyTrust *cfg, int initial, uint64_t now_usec);
/* Applies recovery up to now and returns the score. */
int trust_score_current(TrustScore *t, const PolicyTrust *cfg, uint64_t now_usec);
/* Records a denial; returns the new score. */
int trust_score_penalize(TrustScore *t, const PolicyTrust *cfg, uint64_t now_usec);
bool trust_score_quarantined(const TrustScore *t, const PolicyTrust *cfg) _pure_;
