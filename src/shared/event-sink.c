/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The event sink: a bounded lock-free multi-producer queue of copied records, exact counters, a lock-free
 * table of aggregate counters, and an eventfd that wakes the one consumer. See event-sink.h for the
 * contract. */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

#include "forgeone/event-sink.h"
#include "forgeone/string-table.h"

static const char *const event_notice_kind_table[_EVENT_NOTICE_KIND_MAX] = {
        [EVENT_NOTICE_WARNING] = "warning",
        [EVENT_NOTICE_STATE] = "state",
        [EVENT_NOTICE_POLICY_LOADED] = "policy-loaded",
        [EVENT_NOTICE_POLICY_RELOAD_FAILED] = "policy-reload-failed",
        [EVENT_NOTICE_TRUST] = "trust",
        [EVENT_NOTICE_INTEGRITY] = "integrity",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(event_notice_kind, EventNoticeKind);

typedef struct Node {
        struct Node *next;
        EventRecord record;
        /* strings follow */
} Node;

/* One aggregate key and its counter. The key is written once, by the poster that claimed the empty slot,
 * and published with the state (release); from then on it is read-only until the sink is freed. */
enum {
        SLOT_EMPTY,
        SLOT_FILLING,
        SLOT_READY,
        SLOT_BROKEN, /* its key could not be stored (no memory): skipped */
};

typedef struct AggSlot {
        atomic_uint state;
        uint64_t hash;
        uint64_t generation;
        uint32_t arch;
        int nr;
        int error;
        PolicyVerdict verdict;
        SupervisorAction action;
        EventAggregateReason reason;
        char *workload; /* one allocation: workload, rule, identity, digest, syscall */
        const char *rule_id, *identity, *policy_digest, *syscall;
        atomic_uint_fast64_t count;
} AggSlot;

/* Slots a post looks at before it gives up on a key (and counts by action only). */
#define AGG_PROBES 64u

typedef struct Consumer {
        EventConsumeFn fn;
        void *userdata;
} Consumer;

struct EventSink {
        _Atomic(Node *) head;              /* newest first */
        atomic_size_t queued;
        size_t max_queued;
        atomic_uint_fast64_t seq;
        atomic_uint record_mask;
        atomic_uint aggregate_mask;
        atomic_uint budget_mask;
        _Atomic int64_t budget;
        atomic_bool wake_pending;
        int efd;
        Node *backlog; /* the drainer's: taken from head, sorted, not handed over yet */
        atomic_uint_fast64_t posted[_SUPERVISOR_ACTION_MAX];
        atomic_uint_fast64_t dropped[_SUPERVISOR_ACTION_MAX];
        atomic_uint_fast64_t observed[_SUPERVISOR_ACTION_MAX];
        atomic_uint_fast64_t notices, notices_dropped;

        AggSlot *agg; /* EVENT_SINK_AGGREGATE_SLOTS */
        atomic_uint_fast64_t agg_overflow[_SUPERVISOR_ACTION_MAX];

        Consumer consumers[EVENT_SINK_MAX_CONSUMERS];
        size_t n_consumers;

        atomic_uint_fast64_t tick_usec;
        int tick_stop_fd;
        pthread_t tick_thread;
        bool tick_started;
};

int event_sink_new(size_t max_queued, EventSink **ret) {
        EventSink *s;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (s->efd < 0) {
                int r = negative_errno();
                free(s);
                return r;
        }
        s->tick_stop_fd = -EBADF;
        /* Large and mostly untouched: calloc maps it, pages come only with the keys. */
        s->agg = calloc(EVENT_SINK_AGGREGATE_SLOTS, sizeof *s->agg);
        if (!s->agg) {
                safe_close(s->efd);
                free(s);
                return -ENOMEM;
        }
        s->max_queued = max_queued ?: EVENT_SINK_DEFAULT_MAX_QUEUED;
        atomic_init(&s->record_mask, (1u << _SUPERVISOR_ACTION_MAX) - 1);
        *ret = s;
        return 0;
}

EventSink *event_sink_free(EventSink *s) {
        Node *n;

        if (!s)
                return NULL;
        if (s->tick_started) {
                (void) eventfd_write(s->tick_stop_fd, 1);
                pthread_join(s->tick_thread, NULL);
        }
        safe_close(s->tick_stop_fd);
        for (int k = 0; k < 2; k++) {
                n = k == 0 ? atomic_exchange(&s->head, NULL) : s->backlog;
                while (n) {
                        Node *next = n->next;
                        free(n);
                        n = next;
                }
        }
        for (size_t i = 0; i < EVENT_SINK_AGGREGATE_SLOTS; i++)
                free(s->agg[i].workload);
        free(s->agg);
        safe_close(s->efd);
        free(s);
        return NULL;
}

void event_sink_set_mode(EventSink *s, SupervisorAction a, EventSinkMode m) {
        unsigned bit = 1u << a;

        if (a < 0 || a >= _SUPERVISOR_ACTION_MAX || m < 0 || m >= _EVENT_SINK_MODE_MAX)
                return;
        if (m == EVENT_SINK_RECORD)
                atomic_fetch_or(&s->record_mask, bit);
        else
                atomic_fetch_and(&s->record_mask, ~bit);
        if (m == EVENT_SINK_AGGREGATE)
                atomic_fetch_or(&s->aggregate_mask, bit);
        else
                atomic_fetch_and(&s->aggregate_mask, ~bit);
}

EventSinkMode event_sink_get_mode(EventSink *s, SupervisorAction a) {
        if (a < 0 || a >= _SUPERVISOR_ACTION_MAX)
                return _EVENT_SINK_MODE_INVALID;
        if (atomic_load(&s->record_mask) & (1u << a))
                return EVENT_SINK_RECORD;
        if (atomic_load(&s->aggregate_mask) & (1u << a))
                return EVENT_SINK_AGGREGATE;
        return EVENT_SINK_COUNT;
}

void event_sink_set_record_mask(EventSink *s, unsigned action_mask) {
        for (int a = 0; a < _SUPERVISOR_ACTION_MAX; a++)
                event_sink_set_mode(s, (SupervisorAction) a,
                                    action_mask & (1u << a) ? EVENT_SINK_RECORD : EVENT_SINK_COUNT);
}

bool event_sink_wants(EventSink *s, SupervisorAction a) {
        return s && a >= 0 && a < _SUPERVISOR_ACTION_MAX &&
               (atomic_load_explicit(&s->record_mask, memory_order_relaxed) & (1u << a));
}

int event_sink_get_fd(EventSink *s) {
        return s->efd;
}

static uint64_t realtime_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* Reserves a queue slot, or says the record must be dropped. */
static bool reserve(EventSink *s) {
        size_t q = atomic_fetch_add_explicit(&s->queued, 1, memory_order_relaxed);

        if (q < s->max_queued)
                return true;
        atomic_fetch_sub_explicit(&s->queued, 1, memory_order_relaxed);
        return false;
}

static void push(EventSink *s, Node *n) {
        Node *old = atomic_load_explicit(&s->head, memory_order_relaxed);

        do
                n->next = old;
        while (!atomic_compare_exchange_weak_explicit(&s->head, &old, n, memory_order_release,
                                                      memory_order_relaxed));
        /* One wake-up per drain: the consumer clears the flag before it takes the list. */
        if (!atomic_exchange_explicit(&s->wake_pending, true, memory_order_acq_rel))
                (void) eventfd_write(s->efd, 1);
}

/* Appends a copy of str to the node's string area; returns the copy (NULL for NULL). */
static const char *put(char **area, const char *str) {
        size_t n;
        char *p;

        if (!str)
                return NULL;
        n = strlen(str) + 1;
        p = memcpy(*area, str, n);
        *area += n;
        return p;
}

static size_t len0(const char *s) {
        return s ? strlen(s) + 1 : 0;
}

/* ---- the record budget ---- */

void event_sink_set_budget(EventSink *s, unsigned action_mask, uint64_t records) {
        atomic_store(&s->budget, (int64_t) MIN(records, (uint64_t) INT64_MAX));
        atomic_store(&s->budget_mask, action_mask);
}

unsigned event_sink_get_budget_mask(EventSink *s) {
        return atomic_load(&s->budget_mask);
}

void event_sink_exempt_budget(EventSink *s, unsigned action_mask) {
        atomic_fetch_and(&s->budget_mask, ~action_mask);
}

bool event_sink_take_budget(EventSink *s) {
        int64_t v = atomic_load_explicit(&s->budget, memory_order_relaxed);

        while (v > 0)
                if (atomic_compare_exchange_weak_explicit(&s->budget, &v, v - 1, memory_order_relaxed,
                                                          memory_order_relaxed))
                        return true;
        return false;
}

void event_sink_refill_budget(EventSink *s, uint64_t records, uint64_t max) {
        int64_t v = atomic_load(&s->budget), n;

        do
                n = (int64_t) MIN((uint64_t) MAX(v, 0) + records, MIN(max, (uint64_t) INT64_MAX));
        while (n > v && !atomic_compare_exchange_weak(&s->budget, &v, n));
}

/* ---- aggregates ---- */

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n) {
        const unsigned char *b = p;

        /* FNV-1a: short keys, no allocation, good enough spread for linear probing. */
        for (size_t i = 0; i < n; i++)
                h = (h ^ b[i]) * 1099511628211u;
        return h;
}

static uint64_t hash_str(uint64_t h, const char *s) {
        return hash_bytes(h, s ?: "", strlen(s ?: "") + 1);
}

static uint64_t agg_hash(const char *workload, const SupervisorEvent *ev, EventAggregateReason reason) {
        uint64_t h = 14695981039346656037u;
        int v[6] = { ev->nr, ev->error, ev->verdict, ev->action, (int) reason, (int) ev->arch };

        h = hash_str(h, workload);
        h = hash_str(h, ev->rule_id);
        h = hash_bytes(h, &ev->generation, sizeof ev->generation);
        return hash_bytes(h, v, sizeof v);
}

static bool agg_equal(const AggSlot *sl, uint64_t h, const char *workload, const SupervisorEvent *ev,
                      EventAggregateReason reason) {
        return sl->hash == h && sl->generation == ev->generation && sl->nr == ev->nr &&
               sl->arch == ev->arch && sl->error == ev->error && sl->verdict == ev->verdict &&
               sl->action == ev->action && sl->reason == reason &&
               streq(sl->workload, workload ?: "") && streq(sl->rule_id, ev->rule_id ?: "");
}

static bool agg_fill(AggSlot *sl, uint64_t h, const char *workload, const SupervisorEvent *ev,
                     EventAggregateReason reason) {
        const char *w = workload ?: "", *rule = ev->rule_id ?: "", *id = ev->identity ?: "",
                   *dg = ev->policy_digest ?: "", *sc = ev->syscall ?: "";
        size_t lw = strlen(w) + 1, lr = strlen(rule) + 1, li = strlen(id) + 1, ld = strlen(dg) + 1,
               ls = strlen(sc) + 1;
        char *b = malloc(lw + lr + li + ld + ls);

        if (!b)
                return false;
        sl->workload = memcpy(b, w, lw);
        sl->rule_id = memcpy(b + lw, rule, lr);
        sl->identity = memcpy(b + lw + lr, id, li);
        sl->policy_digest = memcpy(b + lw + lr + li, dg, ld);
        sl->syscall = ev->syscall ? memcpy(b + lw + lr + li + ld, sc, ls) : NULL;
        sl->hash = h;
        sl->generation = ev->generation;
        sl->arch = ev->arch;
        sl->nr = ev->nr;
        sl->error = ev->error;
        sl->verdict = ev->verdict;
        sl->action = ev->action;
        sl->reason = reason;
        return true;
}

/* Counts ev under its key. Lock-free: a poster claims an empty slot with a CAS and fills its key; others
 * that meet a slot being filled wait a moment, then look further (a duplicate key is harmless: every
 * count is handed over once, whichever slot holds it). */
static void aggregate_n(EventSink *s, const char *workload, const SupervisorEvent *ev, EventAggregateReason reason,
                        uint64_t count) {
        uint64_t h = agg_hash(workload, ev, reason);

        for (unsigned i = 0; i < AGG_PROBES; i++) {
                AggSlot *sl = &s->agg[(h + i) & (EVENT_SINK_AGGREGATE_SLOTS - 1)];
                unsigned st = atomic_load_explicit(&sl->state, memory_order_acquire);

                if (st == SLOT_EMPTY) {
                        if (atomic_compare_exchange_strong_explicit(&sl->state, &st, SLOT_FILLING,
                                                                    memory_order_acquire,
                                                                    memory_order_acquire)) {
                                if (!agg_fill(sl, h, workload, ev, reason)) {
                                        atomic_store_explicit(&sl->state, SLOT_BROKEN, memory_order_release);
                                        break;
                                }
                                atomic_fetch_add_explicit(&sl->count, count, memory_order_relaxed);
                                atomic_store_explicit(&sl->state, SLOT_READY, memory_order_release);
                                return;
                        }
                }
                for (unsigned spin = 0; st == SLOT_FILLING && spin < 1000; spin++)
                        st = atomic_load_explicit(&sl->state, memory_order_acquire);
                if (st == SLOT_READY && agg_equal(sl, h, workload, ev, reason)) {
                        atomic_fetch_add_explicit(&sl->count, count, memory_order_relaxed);
                        return;
                }
        }
        atomic_fetch_add_explicit(&s->agg_overflow[ev->action], count, memory_order_relaxed);
}

static void aggregate(EventSink *s, const char *workload, const SupervisorEvent *ev, EventAggregateReason reason) {
        aggregate_n(s, workload, ev, reason, 1);
}

void event_sink_post_observed(EventSink *s, const char *workload, const SupervisorEvent *ev, uint64_t count) {
        SupervisorAction a;

        if (!s || !ev || count == 0)
                return;
        a = ev->action;
        if (a < 0 || a >= _SUPERVISOR_ACTION_MAX)
                return;
        atomic_fetch_add_explicit(&s->observed[a], count, memory_order_relaxed);
        aggregate_n(s, workload, ev, EVENT_AGGREGATE_KERNEL_FILTER, count);
}

uint64_t event_sink_take_aggregates(EventSink *s, EventAggregateFn fn, void *userdata) {
        uint64_t total = 0;

        for (size_t i = 0; i < EVENT_SINK_AGGREGATE_SLOTS; i++) {
                AggSlot *sl = &s->agg[i];
                uint64_t c;

                if (atomic_load_explicit(&sl->state, memory_order_acquire) != SLOT_READY ||
                    atomic_load_explicit(&sl->count, memory_order_relaxed) == 0)
                        continue;
                c = atomic_exchange_explicit(&sl->count, 0, memory_order_relaxed);
                if (c == 0)
                        continue;
                total += c;
                if (fn)
                        fn(
                                &(EventAggregate){
                                        .workload = sl->workload,
                                        .identity = sl->identity,
                                        .policy_digest = sl->policy_digest[0] ? sl->policy_digest : NULL,
                                        .generation = sl->generation,
                                        .arch = sl->arch,
                                        .nr = sl->nr,
                                        .syscall = sl->syscall,
                                        .rule_id = sl->rule_id,
                                        .verdict = sl->verdict,
                                        .action = sl->action,
                                        .error = sl->error,
                                        .reason = sl->reason,
                                        .count = c,
                                },
                                userdata);
        }
        for (int a = 0; a < _SUPERVISOR_ACTION_MAX; a++) {
                uint64_t c = atomic_exchange_explicit(&s->agg_overflow[a], 0, memory_order_relaxed);

                if (c == 0)
                        continue;
                total += c;
                if (fn)
                        fn(&(EventAggregate){ .action = (SupervisorAction) a, .nr = -1, .count = c },
                           userdata);
        }
        return total;
}

/* ---- records ---- */

void event_sink_post_decision(EventSink *s, const char *workload, const SupervisorEvent *ev) {
        SupervisorAction a = ev->action;
        const char *unix_path = ev->addr ? ev->addr->unix_path : NULL;
        size_t extra;
        Node *n;
        char *area;

        if (!s || a < 0 || a >= _SUPERVISOR_ACTION_MAX)
                return;
        atomic_fetch_add_explicit(&s->posted[a], 1, memory_order_relaxed);
        if (!(atomic_load_explicit(&s->record_mask, memory_order_relaxed) & (1u << a))) {
                if (atomic_load_explicit(&s->aggregate_mask, memory_order_relaxed) & (1u << a))
                        aggregate(s, workload, ev, EVENT_AGGREGATE_MODE);
                return; /* counted, and nobody asked for the record */
        }
        if ((atomic_load_explicit(&s->budget_mask, memory_order_relaxed) & (1u << a)) && !event_sink_take_budget(s)) {
                aggregate(s, workload, ev, EVENT_AGGREGATE_BUDGET);
                return; /* counted, and the consumer would only have counted it */
        }
        if (!reserve(s)) {
                atomic_fetch_add_explicit(&s->dropped[a], 1, memory_order_relaxed);
                aggregate(s, workload, ev, EVENT_AGGREGATE_QUEUE_FULL);
                return;
        }

        extra = len0(workload) + len0(ev->path) + len0(ev->path2) + len0(ev->rule_id) + len0(ev->reason) +
                len0(ev->syscall) + len0(ev->identity) + len0(ev->policy_digest) + len0(unix_path) +
                (ev->addr ? sizeof(PolicySockaddr) + 8 : 0);
        n = malloc(sizeof *n + extra);
        if (!n) {
                atomic_fetch_sub_explicit(&s->queued, 1, memory_order_relaxed);
                atomic_fetch_add_explicit(&s->dropped[a], 1, memory_order_relaxed);
                aggregate(s, workload, ev, EVENT_AGGREGATE_QUEUE_FULL);
                return;
        }
        area = (char *) (n + 1);
        n->record = (EventRecord) {
                .type = EVENT_DECISION,
                .seq = atomic_fetch_add_explicit(&s->seq, 1, memory_order_relaxed) + 1,
                .realtime_usec = realtime_usec(),
                .decision = *ev,
        };
        if (ev->addr) {
                /* Aligned copy of the address first, its unix path with the strings. */
                PolicySockaddr *sa = (PolicySockaddr *) (((uintptr_t) area + 7) & ~(uintptr_t) 7);
                *sa = *ev->addr;
                area = (char *) (sa + 1);
                sa->unix_path = put(&area, unix_path);
                n->record.decision.addr = sa;
        }
        n->record.workload = put(&area, workload ?: "");
        n->record.decision.path = put(&area, ev->path);
        n->record.decision.path2 = put(&area, ev->path2);
        n->record.decision.rule_id = put(&area, ev->rule_id);
        n->record.decision.reason = put(&area, ev->reason);
        n->record.decision.syscall = put(&area, ev->syscall);
        n->record.decision.identity = put(&area, ev->identity);
        n->record.decision.policy_digest = put(&area, ev->policy_digest);
        push(s, n);
}

void event_sink_post_notice(EventSink *s, const char *workload, const EventNotice *notice,
                            const char *text) {
        EventNotice nt = notice ? *notice : (EventNotice){ .kind = EVENT_NOTICE_WARNING };
        Node *n;
        char *area;

        if (!s)
                return;
        atomic_fetch_add_explicit(&s->notices, 1, memory_order_relaxed);
        if (!reserve(s)) {
                atomic_fetch_add_explicit(&s->notices_dropped, 1, memory_order_relaxed);
                return;
        }
        n = malloc(sizeof *n + len0(workload ?: "") + len0(text ?: "") + len0(nt.state) + len0(nt.policy) +
                   len0(nt.policy_digest) + len0(nt.identity));
        if (!n) {
                atomic_fetch_sub_explicit(&s->queued, 1, memory_order_relaxed);
                atomic_fetch_add_explicit(&s->notices_dropped, 1, memory_order_relaxed);
                return;
        }
        area = (char *) (n + 1);
        n->record = (EventRecord){
                .type = EVENT_NOTICE,
                .seq = atomic_fetch_add_explicit(&s->seq, 1, memory_order_relaxed) + 1,
                .realtime_usec = realtime_usec(),
                .notice = nt,
        };
        n->record.workload = put(&area, workload ?: "");
        n->record.text = put(&area, text ?: "");
        n->record.notice.state = put(&area, nt.state);
        n->record.notice.policy = put(&area, nt.policy);
        n->record.notice.policy_digest = put(&area, nt.policy_digest);
        n->record.notice.identity = put(&area, nt.identity);
        push(s, n);
}

/* A tick that does not fit is not needed: the consumer has records to wake up for. */
static void post_tick(EventSink *s) {
        Node *n;

        if (!reserve(s))
                return;
        n = malloc(sizeof *n);
        if (!n) {
                atomic_fetch_sub_explicit(&s->queued, 1, memory_order_relaxed);
                return;
        }
        n->record = (EventRecord){
                .type = EVENT_TICK,
                .seq = atomic_fetch_add_explicit(&s->seq, 1, memory_order_relaxed) + 1,
                .realtime_usec = realtime_usec(),
                .workload = "",
        };
        push(s, n);
}

static void *tick_thread(void *arg) {
        EventSink *s = arg;

        for (;;) {
                struct pollfd p = { .fd = s->tick_stop_fd, .events = POLLIN };
                uint64_t usec = atomic_load(&s->tick_usec);
                int r = poll(&p, 1, (int) MIN(usec / 1000 ?: 1, (uint64_t) INT32_MAX));

                if (r > 0)
                        return NULL;
                if (r == 0)
                        post_tick(s);
        }
}

int event_sink_set_tick(EventSink *s, uint64_t interval_usec) {
        uint64_t cur;

        if (interval_usec == 0)
                return 0;
        cur = atomic_load(&s->tick_usec);
        while ((cur == 0 || interval_usec < cur) &&
               !atomic_compare_exchange_weak(&s->tick_usec, &cur, interval_usec))
                ;
        if (s->tick_started)
                return 0;
        s->tick_stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (s->tick_stop_fd < 0)
                return negative_errno();
        if (pthread_create(&s->tick_thread, NULL, tick_thread, s) != 0) {
                s->tick_stop_fd = safe_close(s->tick_stop_fd);
                return -EAGAIN;
        }
        s->tick_started = true;
        return 0;
}

int event_sink_add_consumer(EventSink *s, EventConsumeFn fn, void *userdata) {
        if (!s || !fn)
                return -EINVAL;
        if (s->n_consumers >= EVENT_SINK_MAX_CONSUMERS)
                return -ENOSPC;
        s->consumers[s->n_consumers++] = (Consumer){ fn, userdata };
        return 0;
}

void event_sink_remove_consumer(EventSink *s, EventConsumeFn fn, void *userdata) {
        for (size_t i = 0; s && i < s->n_consumers; i++)
                if (s->consumers[i].fn == fn && s->consumers[i].userdata == userdata) {
                        memmove(s->consumers + i, s->consumers + i + 1,
                                (s->n_consumers - i - 1) * sizeof *s->consumers);
                        s->n_consumers--;
                        return;
                }
}

/* At most max records, oldest first: from the backlog, which takes what is queued when it is empty. The
 * fd is made readable again while records remain. */
static size_t drain_batch(EventSink *s, size_t max, EventConsumeFn fn, void *userdata) {
        size_t total = 0;

        if (!s->backlog) {
                eventfd_t v;
                Node *list;

                (void) eventfd_read(s->efd, &v);
                atomic_store_explicit(&s->wake_pending, false, memory_order_release);
                list = atomic_exchange_explicit(&s->head, NULL, memory_order_acquire);
                /* Newest first, and producers interleave: insertion-sort by sequence. The list is
                 * nearly reversed, so prepending is the common case. */
                while (list) {
                        Node *n = list, **at = &s->backlog;
                        list = n->next;
                        while (*at && (*at)->record.seq < n->record.seq)
                                at = &(*at)->next;
                        n->next = *at;
                        *at = n;
                }
        }
        while (s->backlog && total < max) {
                Node *n = s->backlog;
                s->backlog = n->next;
                for (size_t i = 0; i < s->n_consumers; i++)
                        s->consumers[i].fn(&n->record, s->consumers[i].userdata);
                if (fn)
                        fn(&n->record, userdata);
                free(n);
                atomic_fetch_sub_explicit(&s->queued, 1, memory_order_relaxed);
                total++;
        }
        if (s->backlog)
                (void) eventfd_write(s->efd, 1);
        return total;
}

size_t event_sink_drain(EventSink *s, EventConsumeFn fn, void *userdata) {
        size_t total = 0, k;

        while ((k = drain_batch(s, SIZE_MAX, fn, userdata)) > 0)
                total += k;
        return total;
}

size_t event_sink_drain_batch(EventSink *s, size_t max, EventConsumeFn fn, void *userdata) {
        return drain_batch(s, max ?: SIZE_MAX, fn, userdata);
}

void event_sink_get_counts(EventSink *s, EventSinkCounts *ret) {
        *ret = (EventSinkCounts) {};
        for (size_t i = 0; i < _SUPERVISOR_ACTION_MAX; i++) {
                ret->posted[i] = atomic_load(&s->posted[i]);
                ret->dropped[i] = atomic_load(&s->dropped[i]);
                ret->observed[i] = atomic_load(&s->observed[i]);
        }
        ret->notices = atomic_load(&s->notices);
        ret->notices_dropped = atomic_load(&s->notices_dropped);
}

char *event_escape(const char *s, char *buf, size_t size) {
        size_t o = 0;

        if (size < 3) {
                if (size)
                        buf[0] = 0;
                return buf;
        }
        buf[o++] = '"';
        for (; s && *s; s++) {
                unsigned char ch = (unsigned char) *s;
                char esc[5];
                size_t k;

                if (ch == '"' || ch == '\\')
                        k = (size_t) snprintf(esc, sizeof esc, "\\%c", ch);
                else if (ch == '\n')
                        k = (size_t) snprintf(esc, sizeof esc, "\\n");
                else if (ch == '\t')
                        k = (size_t) snprintf(esc, sizeof esc, "\\t");
                else if (ch < 0x20 || ch >= 0x7f)
                        k = (size_t) snprintf(esc, sizeof esc, "\\x%02x", ch);
                else {
                        esc[0] = (char) ch;
                        k = 1;
                }
                /* Room for this, the closing quote and the NUL; else end with "...". */
                if (o + k + 2 > size) {
                        if (size >= 6) {
                                o = MIN(o, size - 5);
                                memcpy(buf + o, "...", 3);
                                o += 3;
                        }
                        break;
                }
                memcpy(buf + o, esc, k);
                o += k;
        }
        buf[MIN(o, size - 2)] = '"';
        buf[MIN(o + 1, size - 1)] = 0;
        return buf;
}
