/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The event sink: where every decision and workload event goes, and where
 * its consumers (the CLI printer, the journald audit, the observer) read
 * them. One sink may serve many workloads.
 *
 * Contract:
 *  - event_sink_post_*() may be called from any thread, never blocks and
 *    never waits for a consumer. What a decision becomes is set per action
 *    (event_sink_set_mode()): a record, copied (strings included) into a
 *    bounded lock-free queue; an aggregate, one counter per workload,
 *    policy generation, syscall, rule, action and errno; or only a count.
 *    Every post first increments exact per-action counters (posted; and
 *    dropped when a wanted record could not be queued), and a record that
 *    does not fit the queue is counted in the aggregates instead, so a
 *    consumer can always account for every decision: as a record, or in an
 *    aggregate's count (event_sink_take_aggregates()).
 *  - A syscall (an eventfd write) happens only on the first post after the
 *    consumer drained: a storm costs one wake-up per drain, not per event.
 *    Aggregated decisions cause no wake-up at all. A budget of records
 *    (event_sink_set_budget()) turns a storm into aggregates at the poster.
 *  - One consumer thread drains: event_sink_get_fd() turns readable when
 *    records wait; event_sink_drain() hands them over in sequence order,
 *    first to the consumers registered with event_sink_add_consumer(), then
 *    to its own callback. Consumers with timed work ask for a TICK record
 *    at least every so often (event_sink_set_tick()): a thread of the sink
 *    posts them, so whoever drains on the fd needs no timer of its own.
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
        EVENT_NOTICE,   /* a workload's lifecycle, policy or trust changed, or a warning about it */
        EVENT_TICK,     /* nothing happened: a consumer's timer (event_sink_set_tick()) */
        _EVENT_TYPE_MAX,
        _EVENT_TYPE_INVALID = -EINVAL,
} EventType;

typedef enum EventNoticeKind {
        EVENT_NOTICE_WARNING,              /* something about the workload went wrong: the text */
        EVENT_NOTICE_STATE,                /* its lifecycle state changed: state */
        EVENT_NOTICE_POLICY_LOADED,        /* a policy generation took effect for it */
        EVENT_NOTICE_POLICY_RELOAD_FAILED, /* a reload was refused: error; generation is the one kept */
        EVENT_NOTICE_TRUST,                /* its trust score changed: trust */
        EVENT_NOTICE_INTEGRITY,            /* the observer saw the kernel return something else than the
                                            * supervisor decided: the text says what */
        _EVENT_NOTICE_KIND_MAX,
        _EVENT_NOTICE_KIND_INVALID = -EINVAL,
} EventNoticeKind;

const char *event_notice_kind_to_string(EventNoticeKind k) _const_;

/* What a notice is about, beyond its text for people. Strings may be NULL. */
typedef struct EventNotice {
        EventNoticeKind kind;
        const char *state;         /* STATE: "Running", "Stopped", "Failed", "Quarantined", ... */
        const char *policy;        /* POLICY_*: the policy's path or name */
        const char *policy_digest; /* POLICY_*: "sha256:..." of its text */
        const char *identity;      /* POLICY_LOADED: the identity the workload runs as */
        uint64_t generation;       /* POLICY_*: the generation in force after the event */
        int trust;                 /* TRUST (and STATE when known): the score */
        int error;                 /* RELOAD_FAILED: the errno */
} EventNotice;

typedef struct EventRecord {
        EventType type;
        uint64_t seq;            /* per sink, from 1; a gap means records were dropped (and aggregated) */
        uint64_t realtime_usec;  /* CLOCK_REALTIME when posted */
        const char *workload;    /* the workload's id or name ("" when none) */
        SupervisorEvent decision; /* EVENT_DECISION; its strings point into this record */
        const char *text;         /* EVENT_NOTICE: for people */
        EventNotice notice;       /* EVENT_NOTICE; its strings point into this record */
} EventRecord;

typedef struct EventSinkCounts {
        uint64_t posted[_SUPERVISOR_ACTION_MAX];  /* decisions, by action: exact */
        uint64_t dropped[_SUPERVISOR_ACTION_MAX]; /* of those asked for as records, not queued (queue full):
                                                   * they are in the aggregates */
        uint64_t observed[_SUPERVISOR_ACTION_MAX]; /* decisions of the kernel filter, counted by the observer
                                                    * (event_sink_post_observed()): exact, not in posted */
        uint64_t notices, notices_dropped;
} EventSinkCounts;

typedef struct EventSink EventSink;

#define EVENT_SINK_DEFAULT_MAX_QUEUED 65536u
/* Distinct aggregate keys held at once; beyond, a decision is aggregated by action alone. */
#define EVENT_SINK_AGGREGATE_SLOTS 4096u
#define EVENT_SINK_MAX_CONSUMERS   8u

/* max_queued: records waiting at most (0: EVENT_SINK_DEFAULT_MAX_QUEUED). */
int event_sink_new(size_t max_queued, EventSink **ret);
/* Stops the tick thread, frees records not drained. No poster may use the sink any more. */
EventSink *event_sink_free(EventSink *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(EventSink *, event_sink_free);

typedef enum EventSinkMode {
        EVENT_SINK_COUNT,     /* counted per action only */
        EVENT_SINK_AGGREGATE, /* counted per key (EventAggregate): event_sink_take_aggregates() */
        EVENT_SINK_RECORD,    /* a record each; one the queue cannot take is aggregated instead */
        _EVENT_SINK_MODE_MAX,
        _EVENT_SINK_MODE_INVALID = -EINVAL,
} EventSinkMode;

/* What decisions of action a become (default: records for all). Set before posts begin, or accept that
 * posts racing with the change follow either mode. */
void event_sink_set_mode(EventSink *s, SupervisorAction a, EventSinkMode m);
EventSinkMode event_sink_get_mode(EventSink *s, SupervisorAction a);
/* Records for the actions in action_mask (1u << SupervisorAction), counts only for the others. */
void event_sink_set_record_mask(EventSink *s, unsigned action_mask);
/* Cheap check for posters that build costly data only when it will be kept as a record. */
bool event_sink_wants(EventSink *s, SupervisorAction a);

/* Copies ev (and everything it points to). workload: the workload's id or name, or NULL. */
void event_sink_post_decision(EventSink *s, const char *workload, const SupervisorEvent *ev);
/* Decisions the kernel filter made, as the observer counted them (observer.h): count of them, counted in
 * the aggregates only (EVENT_AGGREGATE_KERNEL_FILTER), never as records, and in the counts' observed. */
void event_sink_post_observed(EventSink *s, const char *workload, const SupervisorEvent *ev, uint64_t count);
/* Copies n (may be NULL: a warning) and text. */
void event_sink_post_notice(EventSink *s, const char *workload, const EventNotice *n, const char *text);

/* Readable (POLLIN) while records wait to be drained. Owned by the sink. */
int event_sink_get_fd(EventSink *s);

typedef void (*EventConsumeFn)(const EventRecord *r, void *userdata);
/* Registers a consumer every drain hands each record to, before its own callback (at most
 * EVENT_SINK_MAX_CONSUMERS; -ENOSPC). Not while a drain runs. */
int event_sink_add_consumer(EventSink *s, EventConsumeFn fn, void *userdata);
/* Removes it again (no-op when it is not registered). Not while a drain runs. */
void event_sink_remove_consumer(EventSink *s, EventConsumeFn fn, void *userdata);
/* Hands every queued record to the registered consumers and fn (may be NULL), oldest first, from the
 * calling thread; returns how many. Only one thread at a time may drain. */
size_t event_sink_drain(EventSink *s, EventConsumeFn fn, void *userdata);
/* The same for at most max records (0: no limit) of those queued now, so that a loop hosting the consumer
 * is never held by a stream of posts that outpaces it: the fd stays readable while more wait. */
size_t event_sink_drain_batch(EventSink *s, size_t max, EventConsumeFn fn, void *userdata);

/* A budget of records, shared by the actions in action_mask: a record of them takes one, and with none
 * left the decision is aggregated (EVENT_AGGREGATE_BUDGET) without reaching the queue, so a consumer that
 * would only count it costs the poster nothing. The consumer refills it; it may also take from it for
 * records it decides about itself, so one budget holds for all. A consumer that wants every record of an
 * action takes that action out of the mask. Default: no budget. */
void event_sink_set_budget(EventSink *s, unsigned action_mask, uint64_t records);
unsigned event_sink_get_budget_mask(EventSink *s);
/* Takes actions out of the budget's mask: a consumer wants every record of them. */
void event_sink_exempt_budget(EventSink *s, unsigned action_mask);
/* Takes one record from the budget; false when it is spent. Any thread. */
bool event_sink_take_budget(EventSink *s);
/* Adds records, up to max in all. */
void event_sink_refill_budget(EventSink *s, uint64_t records, uint64_t max);

/* A TICK record at least every interval_usec (the smallest interval asked for wins), posted by a thread
 * the sink starts now. 0 changes nothing. */
int event_sink_set_tick(EventSink *s, uint64_t interval_usec);

typedef enum EventAggregateReason {
        EVENT_AGGREGATE_MODE,       /* the action's mode is EVENT_SINK_AGGREGATE */
        EVENT_AGGREGATE_QUEUE_FULL, /* the record queue could not take it */
        EVENT_AGGREGATE_BUDGET,     /* the record budget was spent (event_sink_set_budget()) */
        EVENT_AGGREGATE_KERNEL_FILTER, /* decided in the kernel filter, counted by the observer */
        _EVENT_AGGREGATE_REASON_MAX,
} EventAggregateReason;

/* One aggregate: decisions that were counted, not recorded. Strings are valid during the callback. */
typedef struct EventAggregate {
        const char *workload; /* NULL: the key table was full, only action and count are known */
        const char *identity; /* as the decisions' SupervisorEvent had them */
        const char *policy_digest;
        uint64_t generation;
        uint32_t arch;
        int nr;
        const char *syscall; /* or NULL */
        const char *rule_id;
        PolicyVerdict verdict;
        SupervisorAction action;
        int error;
        EventAggregateReason reason; /* why it was counted rather than recorded */
        uint64_t count;  /* since the last take; > 0 */
} EventAggregate;

typedef void (*EventAggregateFn)(const EventAggregate *a, void *userdata);
/* Hands over every aggregate counted since the last take and resets it; exact: a count is handed over
 * once. Returns the number of decisions handed over. One thread at a time (the draining one). */
uint64_t event_sink_take_aggregates(EventSink *s, EventAggregateFn fn, void *userdata);

void event_sink_get_counts(EventSink *s, EventSinkCounts *ret);

/* Writes s into buf (size > 2) as a double-quoted string with '"', '\\' and every byte outside
 * printable ASCII escaped (\n, \t, \xNN), truncated with "..." when it does not fit. Returns buf. */
char *event_escape(const char *s, char *buf, size_t size);
