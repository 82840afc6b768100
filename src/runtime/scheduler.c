/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "forgeone/scheduler.h"
#include "forgeone/string-table.h"

static const char *const scheduler_priority_table[_SCHEDULER_PRIORITY_MAX] = {
        [SCHEDULER_PRIORITY_BACKGROUND] = "background",
        [SCHEDULER_PRIORITY_LOW] = "low",
        [SCHEDULER_PRIORITY_NORMAL] = "normal",
        [SCHEDULER_PRIORITY_HIGH] = "high",
        [SCHEDULER_PRIORITY_CRITICAL] = "critical",
};

/* Steps of more than 2x, so one priority level outweighs the whole trust range (2x). */
static const unsigned priority_base_weight[_SCHEDULER_PRIORITY_MAX] = {
        [SCHEDULER_PRIORITY_BACKGROUND] = 10,
        [SCHEDULER_PRIORITY_LOW] = 40,
        [SCHEDULER_PRIORITY_NORMAL] = 100,
        [SCHEDULER_PRIORITY_HIGH] = 400,
        [SCHEDULER_PRIORITY_CRITICAL] = 1000,
};

DEFINE_STRING_TABLE_LOOKUP(scheduler_priority, SchedulerPriority)

unsigned scheduler_cpu_weight(SchedulerPriority p, int trust, int trust_max) {
        uint64_t base, w;

        if (p < 0 || p >= _SCHEDULER_PRIORITY_MAX)
                p = SCHEDULER_PRIORITY_NORMAL;
        base = priority_base_weight[p];
        if (trust_max <= 0)
                return (unsigned) base;
        trust = MAX(0, MIN(trust, trust_max));

        w = base * (50u * (uint64_t) trust_max + 50u * (uint64_t) trust) / (100u * (uint64_t) trust_max);
        return (unsigned) MIN(MAX(w, (uint64_t) SCHEDULER_WEIGHT_MIN), (uint64_t) SCHEDULER_WEIGHT_MAX);
}

unsigned scheduler_weight_to_shares(unsigned weight) {
        uint64_t s = (uint64_t) weight * 1024u / 100u;

        return (unsigned) MIN(MAX(s, 2u), 262144u);
}

void scheduler_budget_default(uint64_t mem_total_bytes, uint64_t pid_max, SchedulerBudget *ret) {
        SchedulerBudget b = {
                .memory_bytes = mem_total_bytes / 4 * 3,
                .pids = pid_max / 2,
        };

        b.default_memory_bytes = MIN((uint64_t) 512 << 20, b.memory_bytes / 8);
        b.default_pids = MIN((uint64_t) 1024, b.pids / 8);
        *ret = b;
}

int scheduler_entry_compare(const SchedulerEntry *a, const SchedulerEntry *b) {
        if (a->priority != b->priority)
                return a->priority > b->priority ? -1 : 1;
        if (a->trust != b->trust)
                return a->trust > b->trust ? -1 : 1;
        if (a->seq != b->seq)
                return a->seq < b->seq ? -1 : 1;
        return strcmp(strempty(a->id), strempty(b->id));
}

static int entry_compare_qsort(const void *a, const void *b) {
        return scheduler_entry_compare(a, b);
}

void scheduler_sort_queue(SchedulerEntry *waiting, size_t n_waiting) {
        if (n_waiting > 1)
                qsort(waiting, n_waiting, sizeof *waiting, entry_compare_qsort);
}

static const char *const scheduler_decision_table[_SCHEDULER_DECISION_MAX] = {
        [SCHEDULER_ADMIT] = "admit",
        [SCHEDULER_WAIT] = "wait",
        [SCHEDULER_REFUSE] = "refuse",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(scheduler_decision, SchedulerDecision)

/* Saturating sums: a budget of UINT64_MAX means "unlimited" and must stay so. */
static uint64_t add_sat(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

unsigned scheduler_fits(const SchedulerBudget *b, const SchedulerEntry *running, size_t n_running,
                        const SchedulerEntry *req) {
        uint64_t mem = req->memory_bytes, pids = req->pids;
        unsigned short_mask = SCHEDULER_SHORT_NONE;

        for (size_t i = 0; i < n_running; i++) {
                mem = add_sat(mem, running[i].memory_bytes);
                pids = add_sat(pids, running[i].pids);
        }
        if (mem > b->memory_bytes)
                short_mask |= SCHEDULER_SHORT_MEMORY;
        if (pids > b->pids)
                short_mask |= SCHEDULER_SHORT_PIDS;
        return short_mask;
}

static bool entry_is(const SchedulerEntry *e, const SchedulerEntry *self) {
        return e == self || (e->id && self->id && streq(e->id, self->id));
}

SchedulerDecision scheduler_decide(const SchedulerBudget *b, const SchedulerEntry *running, size_t n_running,
                                   const SchedulerEntry *waiting, size_t n_waiting, const SchedulerEntry *self,
                                   unsigned *ret_shortage) {
        unsigned alone, now;

        alone = scheduler_fits(b, NULL, 0, self);
        if (alone != 0) {
                if (ret_shortage)
                        *ret_shortage = alone;
                return SCHEDULER_REFUSE;
        }

        now = scheduler_fits(b, running, n_running, self);
        if (ret_shortage)
                *ret_shortage = now;

        /* Strict queue order: anyone ahead of us who could ever start goes first. */
        for (size_t i = 0; i < n_waiting; i++) {
                const SchedulerEntry *w = waiting + i;

                if (entry_is(w, self))
                        continue;
                if (scheduler_fits(b, NULL, 0, w) != 0)
                        continue; /* will be refused; must not block the queue */
                if (scheduler_entry_compare(w, self) < 0)
                        return SCHEDULER_WAIT;
        }

        return now == 0 ? SCHEDULER_ADMIT : SCHEDULER_WAIT;
}

int scheduler_parse_size(const char *s, uint64_t *ret) {
        char *end;
        double v, mult = 1;

        if (!s || !*s || isspace((unsigned char) *s) || *s == '-' || *s == '+')
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s || !isfinite(v) || v < 0)
                return -EINVAL;

        switch (*end) {
        case 0:
                break;
        case 'k': case 'K':
                mult = 1024.0;
                end++;
                break;
        case 'm': case 'M':
                mult = 1024.0 * 1024;
                end++;
                break;
        case 'g': case 'G':
                mult = 1024.0 * 1024 * 1024;
                end++;
                break;
        case 't': case 'T':
                mult = 1024.0 * 1024 * 1024 * 1024;
                end++;
                break;
        default:
                return -EINVAL;
        }
        /* Accept "256M", "256MB", "256MiB" alike. */
        if (mult > 1 && (streq(end, "B") || streq(end, "iB")))
                end += strlen(end);
        if (*end)
                return -EINVAL;

        v *= mult;
        if (v >= 18446744073709551615.0)
                return -ERANGE;
        *ret = (uint64_t) v;
        return 0;
}

int scheduler_parse_cpus(const char *s, uint64_t *ret_millicpus) {
        char *end;
        double v;

        if (!s || !*s || isspace((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s || *end || !isfinite(v))
                return -EINVAL;
        if (v <= 0 || v > 1024)
                return -ERANGE;
        v = v * 1000 + 0.5; /* round to nearest without libm */
        if (v < 1)
                return -ERANGE;
        *ret_millicpus = (uint64_t) v;
        return 0;
}
