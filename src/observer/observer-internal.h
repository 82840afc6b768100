/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Internal to the observer: the pure parts, tested without BPF.
 *
 *   observer-filter.c  which syscall numbers a kernel filter may fail with an errno or send to the
 *                      supervisor (the kernel side's bitmaps)
 *   observer-match.c   pairs the supervisor's decisions with the exits the kernel side saw
 *   observer.c         the loader (libbpf): load, pin, register, read, the sink consumer
 *   observer-off.c     the same API in a build without BPF: says why it is off
 */

#include <stdbool.h>
#include <stdint.h>

#include "forgeone/decision.h"
#include "forgeone/policy-compile.h"
#include "../../bpf/observer.h"

/* ---- observer-filter.c ---- */

#define OBSERVER_MAY_ERRNO  (1u << 0)
#define OBSERVER_MAY_NOTIFY (1u << 1)
#define OBSERVER_MAY_ALLOW  (1u << 2)
#define OBSERVER_MAY_OTHER  (1u << 3) /* kill, trap, trace, log */

/* What the filter may return for native syscall nr on arch, whatever the other registers hold: a mask of
 * OBSERVER_MAY_*. Explores every path the registers can take (the arguments and instruction pointer are
 * unknown, number and architecture are not); a filter too tangled to explore says it may do anything. */
unsigned observer_filter_may(const PolicyFilter *f, uint32_t arch, int nr);

/* The kernel side's bitmaps for the native numbers below FO_NR_BITS. */
void observer_filter_bitmaps(const PolicyFilter *f, uint32_t arch, uint64_t may_errno[static FO_NR_WORDS],
                             uint64_t may_notify[static FO_NR_WORDS]);

/* ---- observer-match.c ---- */

typedef struct MatchDecision {
        uint32_t tid;
        uint32_t nr; /* | FO_NR_COMPAT */
        SupervisorAction action;
        int error;
        int64_t value;
        char rule[48];
        char syscall[32];
        uint64_t losses; /* the loss count when it was seen (see Matcher) */
} MatchDecision;

typedef enum MatchKind {
        MATCH_OK,                 /* the kernel returned what was decided */
        MATCH_MISMATCH,           /* it returned something else: an integrity alert */
        MATCH_UNVERIFIABLE,       /* paired, but records or exits were lost meanwhile: not checked */
        MATCH_DECISION_UNMATCHED, /* no exit came in time */
        MATCH_EXIT_UNMATCHED,     /* no decision came in time */
} MatchKind;

typedef struct MatchResult {
        MatchKind kind;
        const MatchDecision *decision; /* NULL for MATCH_EXIT_UNMATCHED */
        uint32_t tid, nr;
        int64_t observed; /* what the task got back (not for MATCH_DECISION_UNMATCHED) */
} MatchResult;

typedef void (*MatchFn)(const MatchResult *r, void *userdata);

/* One workload's unpaired decisions and exits. Pairs by thread and syscall number, oldest first (a thread
 * makes one call at a time, and both streams are in order per thread). Losses (records the sink dropped,
 * exits the ring buffer had no room for) are counted by the caller; a pair either side of which was seen
 * at another loss count is MATCH_UNVERIFIABLE, never an alert. */
typedef struct Matcher Matcher;

int matcher_new(Matcher **ret);
Matcher *matcher_free(Matcher *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Matcher *, matcher_free);

/* Expected value of a decision: what the kernel must return to the task. */
int64_t match_expected(const MatchDecision *d) _pure_;

void matcher_add_decision(Matcher *m, const MatchDecision *d, uint64_t losses, MatchFn fn, void *userdata);
void matcher_add_exit(Matcher *m, uint32_t tid, uint32_t nr, int64_t ret, uint64_t losses, MatchFn fn,
                      void *userdata);
/* One tick: what waited max_age ticks or more is reported unmatched and forgotten. */
void matcher_age(Matcher *m, unsigned max_age, MatchFn fn, void *userdata);
/* Everything still waiting is reported unmatched and forgotten. */
void matcher_flush(Matcher *m, MatchFn fn, void *userdata);
size_t matcher_pending(const Matcher *m) _pure_;
