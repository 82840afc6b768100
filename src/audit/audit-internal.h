/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Inside the audit module: how records, aggregates and notices become entry
 * fields (audit-fields.c), shared by the consumer (audit.c) and its tests.
 * Pure functions: no I/O, no clock.
 */

#include <stddef.h>
#include <stdint.h>

#include "forgeone/audit-record.h"
#include "forgeone/event-sink.h"

/* Why decisions were counted rather than written one by one (FORGEONE_AGGREGATED). */
typedef enum AuditAggregateReason {
        AUDIT_AGGREGATE_ALLOW_POLICY, /* "allow-policy": the allow setting aggregates allowed calls */
        AUDIT_AGGREGATE_SAMPLED,      /* "sampled": allowed calls between two samples */
        AUDIT_AGGREGATE_RATE_LIMIT,   /* "rate-limit": beyond the interval's budget of entries */
        AUDIT_AGGREGATE_QUEUE_FULL,   /* "queue-full": the sink's queue could not take the record */
        AUDIT_AGGREGATE_KERNEL_FILTER, /* "kernel-filter": decided by the kernel filter, counted by the
                                        * observer (forgeone.observer(7)) */
        _AUDIT_AGGREGATE_REASON_MAX,
        _AUDIT_AGGREGATE_REASON_INVALID = -EINVAL,
} AuditAggregateReason;

const char *audit_aggregate_reason_to_string(AuditAggregateReason r) _const_;

/* What the audit knows of a workload's policy from its policy-loaded notice, for the entries of its other
 * notices (every record names identity, policy digest and generation). */
typedef struct AuditWorkloadPolicy {
        const char *identity;
        const char *policy_digest;
        uint64_t generation;
} AuditWorkloadPolicy;

/* syslog(3) priorities, without including syslog.h's macros into every user. */
enum {
        AUDIT_PRIORITY_ERR = 3,
        AUDIT_PRIORITY_WARNING = 4,
        AUDIT_PRIORITY_NOTICE = 5,
        AUDIT_PRIORITY_INFO = 6,
};

/* The arguments of a decided call, decoded as far as the syscall table describes them: fds (AT_FDCWD),
 * paths (the resolved path, escaped and quoted), open flags by name, modes in octal, addresses; the
 * rest in hex. Into buf, truncated; returns buf. */
char *audit_format_args(const SupervisorEvent *ev, char *buf, size_t size);

/* Writes s escaped as event_escape() does, without the quotes, into a heap string. */
char *audit_escape(const char *s);

/* The fields of a decision record (MESSAGE ... FORGEONE_TARGET_PID; not RUN, SEQ, CHAIN). sample_every > 0:
 * an allowed call picked as a sample. */
int audit_fields_decision(AuditEntry *e, const EventRecord *r, unsigned sample_every);
/* The fields of an aggregate entry: count decisions of key a for reason, between start and end. */
int audit_fields_aggregate(AuditEntry *e, const EventAggregate *a, AuditAggregateReason reason,
                           uint64_t start_usec, uint64_t end_usec);
/* The fields of a notice; wp (may be NULL) adds the workload's policy where the notice has none. */
int audit_fields_notice(AuditEntry *e, const EventRecord *r, const AuditWorkloadPolicy *wp);
