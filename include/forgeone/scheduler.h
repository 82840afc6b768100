/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Scheduling rules of the container runtime, as pure functions (no I/O, no
 * clock): priority and trust -> cpu weight, request -> reservation, and
 * admission of a request against a host budget given the reservations of
 * the containers that already run and the queue of those that wait. The
 * state-dir side (who runs, who waits, the queue lock) lives in
 * container-queue.c; the cgroup side in cgroup.c. The rules are documented
 * in forgeonectl(1), section SCHEDULING.
 *
 * CPU weight (cgroup v2 cpu.weight, 1..10000, 100 = the kernel default):
 *         weight = base(priority) * (50 * max + 50 * trust) / (100 * max)
 * with base = 1000 critical, 400 high, 100 normal, 40 low, 10 background,
 * trust clamped to 0..max (max = the policy's trust maximum). A fully
 * trusted workload gets its priority's base, an untrusted one half of it,
 * so under contention the lower trust yields first within a priority,
 * while a priority step (x2.5 or more) outweighs any trust difference. v1 cpu.shares = weight * 1024 / 100 (1024 = default).
 *
 * Admission: a request fits when the sum of the running reservations plus
 * its own stays within the budget for memory and for pids. Waiting requests
 * are ordered by priority (critical first), then trust (higher first), then
 * arrival; only the first waiting request that fits may start, so a large
 * important request is not starved by a stream of small ones (no backfill).
 * A request larger than the whole budget can never start and is refused.
 */

#include <stdint.h>

#include "forgeone/macro.h"

typedef enum SchedulerPriority {
        SCHEDULER_PRIORITY_BACKGROUND,
        SCHEDULER_PRIORITY_LOW,
        SCHEDULER_PRIORITY_NORMAL,
        SCHEDULER_PRIORITY_HIGH,
        SCHEDULER_PRIORITY_CRITICAL,
        _SCHEDULER_PRIORITY_MAX,
        _SCHEDULER_PRIORITY_INVALID = -EINVAL,
} SchedulerPriority;

const char *scheduler_priority_to_string(SchedulerPriority p) _const_;
SchedulerPriority scheduler_priority_from_string(const char *s) _pure_;

#define SCHEDULER_WEIGHT_MIN 1u
#define SCHEDULER_WEIGHT_MAX 10000u
#define SCHEDULER_WEIGHT_DEFAULT 100u

/* cpu.weight for a priority and a trust score in 0..trust_max (trust_max <= 0: full trust). */
unsigned scheduler_cpu_weight(SchedulerPriority p, int trust, int trust_max) _const_;
/* cgroup v1 cpu.shares for a v2 weight (2..262144). */
unsigned scheduler_weight_to_shares(unsigned weight) _const_;

typedef struct SchedulerBudget {
        uint64_t memory_bytes; /* total memory the containers may reserve */
        uint64_t pids;         /* total pids */
        uint64_t default_memory_bytes; /* reservation and limit of a request without --memory */
        uint64_t default_pids;         /* reservation and limit of a request without --pids */
} SchedulerBudget;

/* Default budget: 75% of MemTotal and 50% of pid_max, defaults 512 MiB (at most an eighth of the
 * budget) and 1024 pids (at most an eighth of the budget). */
void scheduler_budget_default(uint64_t mem_total_bytes, uint64_t pid_max, SchedulerBudget *ret);

/* What one container holds (running) or asks for (waiting). */
typedef struct SchedulerEntry {
        const char *id;
        SchedulerPriority priority;
        int trust;          /* 0..100 style score; compared only */
        uint64_t seq;       /* arrival order: lower arrived first */
        uint64_t memory_bytes;
        uint64_t pids;
} SchedulerEntry;

/* Ordering of the wait queue: < 0 when a goes before b. */
int scheduler_entry_compare(const SchedulerEntry *a, const SchedulerEntry *b) _pure_;

typedef enum SchedulerDecision {
        SCHEDULER_ADMIT,   /* start now */
        SCHEDULER_WAIT,    /* does not fit now, or others go first */
        SCHEDULER_REFUSE,  /* can never fit the budget */
        _SCHEDULER_DECISION_MAX,
        _SCHEDULER_DECISION_INVALID = -EINVAL,
} SchedulerDecision;

const char *scheduler_decision_to_string(SchedulerDecision d) _const_;

typedef enum SchedulerShortage {
        SCHEDULER_SHORT_NONE   = 0,
        SCHEDULER_SHORT_MEMORY = 1u << 0,
        SCHEDULER_SHORT_PIDS   = 1u << 1,
} SchedulerShortage;

/* Whether req fits on top of running[]; returns a SchedulerShortage mask (0 = fits). */
unsigned scheduler_fits(const SchedulerBudget *b, const SchedulerEntry *running, size_t n_running,
                        const SchedulerEntry *req) _pure_;

/*
 * Decides for request "self" (which must also be one of waiting[], identified by pointer or by id)
 * given the running reservations and all waiting requests. ret_shortage (optional): what is short.
 */
SchedulerDecision scheduler_decide(const SchedulerBudget *b, const SchedulerEntry *running, size_t n_running,
                                   const SchedulerEntry *waiting, size_t n_waiting, const SchedulerEntry *self,
                                   unsigned *ret_shortage);

/* Sorts waiting[] into queue order. */
void scheduler_sort_queue(SchedulerEntry *waiting, size_t n_waiting);

/* "256M", "1G", "1048576", "512k", "1.5G" (binary units) -> bytes. -EINVAL on syntax, -ERANGE on overflow. */
int scheduler_parse_size(const char *s, uint64_t *ret);
/* "0.5", "2" -> CPUs as millicpus (500, 2000); 0 < value <= 1024 CPUs. */
int scheduler_parse_cpus(const char *s, uint64_t *ret_millicpus);
