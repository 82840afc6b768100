/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The event sink: a bounded lock-free multi-producer queue of copied records, exact counters, and an
 * eventfd that wakes the one consumer. See event-sink.h for the contract. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

#include "forgeone/event-sink.h"

typedef struct Node {
        struct Node *next;
        EventRecord record;
        /* strings follow */
} Node;

struct EventSink {
        _Atomic(Node *) head;              /* newest first */
        atomic_size_t queued;
        size_t max_queued;
        atomic_uint_fast64_t seq;
        atomic_uint record_mask;
        atomic_bool wake_pending;
        int efd;
        Node *backlog; /* the drainer's: taken from head, sorted, not handed over yet */
        atomic_uint_fast64_t posted[_SUPERVISOR_ACTION_MAX];
        atomic_uint_fast64_t dropped[_SUPERVISOR_ACTION_MAX];
        atomic_uint_fast64_t notices, notices_dropped;
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
        s->max_queued = max_queued ?: EVENT_SINK_DEFAULT_MAX_QUEUED;
        atomic_init(&s->record_mask, (1u << _SUPERVISOR_ACTION_MAX) - 1);
        *ret = s;
        return 0;
}

EventSink *event_sink_free(EventSink *s) {
        Node *n;

        if (!s)
                return NULL;
        for (int k = 0; k < 2; k++) {
                n = k == 0 ? atomic_exchange(&s->head, NULL) : s->backlog;
                while (n) {
                        Node *next = n->next;
                        free(n);
                        n = next;
                }
        }
        safe_close(s->efd);
        free(s);
        return NULL;
}

void event_sink_set_record_mask(EventSink *s, unsigned action_mask) {
        atomic_store(&s->record_mask, action_mask);
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

void event_sink_post_decision(EventSink *s, const char *workload, const SupervisorEvent *ev) {
        SupervisorAction a = ev->action;
        const char *unix_path = ev->addr ? ev->addr->unix_path : NULL;
        size_t extra;
        Node *n;
        char *area;

        if (!s || a < 0 || a >= _SUPERVISOR_ACTION_MAX)
                return;
        atomic_fetch_add_explicit(&s->posted[a], 1, memory_order_relaxed);
        if (!(atomic_load_explicit(&s->record_mask, memory_order_relaxed) & (1u << a)))
                return; /* counted, and nobody asked for the record */
        if (!reserve(s)) {
                atomic_fetch_add_explicit(&s->dropped[a], 1, memory_order_relaxed);
                return;
        }

        extra = len0(workload) + len0(ev->path) + len0(ev->path2) + len0(ev->rule_id) + len0(ev->reason) +
                len0(ev->syscall) + len0(unix_path) + (ev->addr ? sizeof(PolicySockaddr) + 8 : 0);
        n = malloc(sizeof *n + extra);
        if (!n) {
                atomic_fetch_sub_explicit(&s->queued, 1, memory_order_relaxed);
                atomic_fetch_add_explicit(&s->dropped[a], 1, memory_order_relaxed);
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
        push(s, n);
}

void event_sink_post_notice(EventSink *s, const char *workload, const char *text) {
        Node *n;
        char *area;

        if (!s)
                return;
        atomic_fetch_add_explicit(&s->notices, 1, memory_order_relaxed);
        if (!reserve(s)) {
                atomic_fetch_add_explicit(&s->notices_dropped, 1, memory_order_relaxed);
                return;
        }
        n = malloc(sizeof *n + len0(workload ?: "") + len0(text ?: ""));
        if (!n) {
                atomic_fetch_sub_explicit(&s->queued, 1, memory_order_relaxed);
                atomic_fetch_add_explicit(&s->notices_dropped, 1, memory_order_relaxed);
                return;
        }
        area = (char *) (n + 1);
        n->record = (EventRecord) {
                .type = EVENT_NOTICE,
                .seq = atomic_fetch_add_explicit(&s->seq, 1, memory_order_relaxed) + 1,
                .realtime_usec = realtime_usec(),
        };
        n->record.workload = put(&area, workload ?: "");
        n->record.text = put(&area, text ?: "");
        push(s, n);
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
