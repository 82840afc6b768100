/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The event sink: where every decision and workload event goes, and where
 * its consumers (the CLI printer; journald audit and the observer later)
 * read them. One sink may serve many workloads.
 *
 * Contract:
 *  - event_sink_post_*() may be called from any thread, never blocks and
 *    never waits for a consumer. The record is copied (strings included)
 *    into a bounded lock-free queue, if a consumer asked for records of that
 *    action (event_sink_set_record_mask()). When the queue is full the
 *    record is dropped, but the count is never lost: every post first
 *    increments exact per-action counters (posted; and dropped when a
 *    wanted record could not be queued), so a consumer can always say how
 *    many decisions it did not see.
 *  - A syscall (an eventfd write) happens only on the first post after the
 *    consumer drained: a storm costs one wake-up per drain, not per event.
 *  - One consumer thread drains: event_sink_get_fd() turns readable when
 *    records wait; event_sink_drain() hands them over in sequence order.
 *  - Untrusted strings (paths from the workload's memory) are escaped in
 *    one place, event_escape(), by whoever prints them.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "forgeone/decision.h"
#include "forgeone/macro.h"

typedef enum EventType {
        EVENT_DECISION, /* a mediated syscall was decided */
        EVENT_NOTICE,   /* a workload's lifecycle or a warning about it, as text */
        _EVENT_TYPE_MAX,
        _EVENT_TYPE_INVALID = -EINVAL,
} EventType;

typedef struct EventRecord {
        EventType type;
        uint64_t seq;            /* per sink, from 1; a gap means records were dropped */
        uint64_t realtime_usec;  /* CLOCK_REALTIME when posted */
        const char *workload;    /* the workload's id or name ("" when none) */
        SupervisorEvent decision; /* EVENT_DECISION; its strings point into this record */
        const char *text;        /* EVENT_NOTICE */
} EventRecord;

typedef struct EventSinkCounts {
        uint64_t posted[_SUPERVISOR_ACTION_MAX];  /* decisions, by action: exact */
        uint64_t dropped[_SUPERVISOR_ACTION_MAX]; /* of those asked for as records, not queued (queue full) */
        uint64_t notices, notices_dropped;
} EventSinkCounts;

typedef struct EventSink EventSink;

#define EVENT_SINK_DEFAULT_MAX_QUEUED 65536u

/* max_queued: records waiting at most (0: EVENT_SINK_DEFAULT_MAX_QUEUED). */
int event_sink_new(size_t max_queued, EventSink **ret);
/* Frees records not drained. No poster may use the sink any more. */
EventSink *event_sink_free(EventSink *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(EventSink *, event_sink_free);

/* Which decisions become records, as a mask of 1u << SupervisorAction (default: all). Others are only
 * counted. A printer that shows denials only sets (1u << DENY) | (1u << QUARANTINE). */
void event_sink_set_record_mask(EventSink *s, unsigned action_mask);
/* Cheap check for posters that build costly data only when it will be kept. */
bool event_sink_wants(EventSink *s, SupervisorAction a);

/* Copies ev (and everything it points to). workload: the workload's id or name, or NULL. */
void event_sink_post_decision(EventSink *s, const char *workload, const SupervisorEvent *ev);
void event_sink_post_notice(EventSink *s, const char *workload, const char *text);

/* Readable (POLLIN) while records wait to be drained. Owned by the sink. */
int event_sink_get_fd(EventSink *s);

typedef void (*EventConsumeFn)(const EventRecord *r, void *userdata);
/* Hands every queued record to fn, oldest first, from the calling thread; returns how many. Only one
 * thread at a time may drain. */
size_t event_sink_drain(EventSink *s, EventConsumeFn fn, void *userdata);
/* The same for at most max records (0: no limit) of those queued now, so that a loop hosting the consumer
 * is never held by a stream of posts that outpaces it: the fd stays readable while more wait. */
size_t event_sink_drain_batch(EventSink *s, size_t max, EventConsumeFn fn, void *userdata);

void event_sink_get_counts(EventSink *s, EventSinkCounts *ret);

/* Writes s into buf (size > 2) as a double-quoted string with '"', '\\' and every byte outside
 * printable ASCII escaped (\n, \t, \xNN), truncated with "..." when it does not fit. Returns buf. */
char *event_escape(const char *s, char *buf, size_t size);
