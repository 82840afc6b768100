/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Consumers of an event sink (event-sink.h). A sink has one draining
 * thread; this is the list of consumers that thread hands each record to:
 * the daemon's log and D-Bus counters, journald audit, the observer's
 * cross-check. Registering one is one call:
 *
 *         event_dispatch_add(d, &(EventConsumer) { .name = "audit", .actions = ..., .consume = fn });
 *
 * The sink records exactly the decisions some consumer asked for (the
 * union of their masks becomes the sink's record mask); the others are
 * only counted, exactly, by the sink. Notices go to consumers that ask for
 * them. Consumers run on the draining thread, one after another, in the
 * order they were added; each gets the records in sequence order and a
 * flush after every batch. A consumer must not block for long: the sink
 * drops records (never counts) while its queue is full.
 *
 * Not thread-safe: add, remove and drain from the draining thread.
 */

#include <stdbool.h>
#include <stddef.h>

#include "forgeone/event-sink.h"
#include "forgeone/macro.h"

#define EVENT_ACTIONS_ALL ((1u << _SUPERVISOR_ACTION_MAX) - 1)
#define EVENT_ACTIONS_DENIALS ((1u << SUPERVISOR_ACTION_DENY) | (1u << SUPERVISOR_ACTION_QUARANTINE))

typedef struct EventConsumer {
        const char *name;       /* unique in the list (copied) */
        unsigned actions;       /* decisions wanted as records: mask of 1u << SupervisorAction */
        bool notices;           /* notices too */
        void (*consume)(const EventRecord *r, void *userdata); /* may be NULL: flush only */
        void (*flush)(void *userdata);                         /* after each batch (may be NULL) */
        void *userdata;
} EventConsumer;

typedef struct EventDispatch EventDispatch;

int event_dispatch_new(EventSink *sink, EventDispatch **ret);
EventDispatch *event_dispatch_free(EventDispatch *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(EventDispatch *, event_dispatch_free);

/* Copies c; -EEXIST when a consumer of that name is registered. The sink's record mask follows. */
int event_dispatch_add(EventDispatch *d, const EventConsumer *c);
/* -ENOENT when there is none of that name. */
int event_dispatch_remove(EventDispatch *d, const char *name);
/* Changes what a registered consumer asks for. */
int event_dispatch_set_actions(EventDispatch *d, const char *name, unsigned actions);
size_t event_dispatch_count(const EventDispatch *d) _pure_;

#define EVENT_DISPATCH_BATCH 512

/* Drains a batch of what the sink holds (at most EVENT_DISPATCH_BATCH records: the sink's fd stays
 * readable while more wait, so the loop that calls this does other work in between): every record to
 * each consumer that asked for it, then each consumer's flush. Returns how many records were drained. */
size_t event_dispatch_drain(EventDispatch *d);
