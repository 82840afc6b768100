/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The event sink's contract (event-sink.h): posts from many threads, exact counts whatever is dropped,
 * records in sequence order with their strings copied, the record mask, aggregates that account for every
 * decision not recorded, registered consumers, ticks, and escaping. */
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "forgeone/event-sink.h"
#include "test-util.h"

#define THREADS 4
#define PER_THREAD 20000

typedef struct Seen {
        uint64_t n, last_seq;
        bool ordered;
        uint64_t by_action[_SUPERVISOR_ACTION_MAX];
} Seen;

static void count(const EventRecord *r, void *userdata) {
        Seen *s = userdata;

        if (r->seq <= s->last_seq)
                s->ordered = false;
        s->last_seq = r->seq;
        s->n++;
        if (r->type == EVENT_DECISION)
                s->by_action[r->decision.action]++;
}

typedef struct Poster {
        EventSink *sink;
        int id;
} Poster;

static void *poster(void *arg) {
        Poster *p = arg;
        char path[64];

        for (int i = 0; i < PER_THREAD; i++) {
                SupervisorEvent ev = {
                        .syscall = "openat",
                        .path = path,
                        .rule_id = "rule",
                        .action = (SupervisorAction) (i % _SUPERVISOR_ACTION_MAX),
                };
                snprintf(path, sizeof path, "/tmp/%d/%d", p->id, i);
                event_sink_post_decision(p->sink, "w", &ev);
        }
        return NULL;
}

START_TEST(test_counts_exact_under_drops) {
        EventSink *sink = NULL;
        pthread_t t[THREADS];
        Poster p[THREADS];
        EventSinkCounts c;
        Seen seen = { .ordered = true };
        uint64_t posted = 0, dropped = 0;

        /* A small queue and nobody draining while they post: most records are dropped. */
        ck_assert_int_eq(event_sink_new(1000, &sink), 0);
        for (int i = 0; i < THREADS; i++) {
                p[i] = (Poster) { .sink = sink, .id = i };
                ck_assert_int_eq(pthread_create(&t[i], NULL, poster, &p[i]), 0);
        }
        for (int i = 0; i < THREADS; i++)
                pthread_join(t[i], NULL);

        event_sink_get_counts(sink, &c);
        for (int a = 0; a < _SUPERVISOR_ACTION_MAX; a++) {
                posted += c.posted[a];
                dropped += c.dropped[a];
                ck_assert_uint_eq(c.posted[a], THREADS * PER_THREAD / _SUPERVISOR_ACTION_MAX);
        }
        ck_assert_uint_eq(posted, THREADS * PER_THREAD);
        ck_assert_uint_eq(event_sink_drain(sink, count, &seen), 1000);
        ck_assert_uint_eq(dropped, posted - 1000);
        ck_assert(seen.ordered);
        event_sink_free(sink);
}
END_TEST

START_TEST(test_concurrent_drain_loses_nothing) {
        EventSink *sink = NULL;
        pthread_t t[THREADS];
        Poster p[THREADS];
        EventSinkCounts c;
        Seen seen = { .ordered = true };
        bool done = false;

        /* Room for every record: a drainer slowed by a loaded machine must not see drops here (they would
         * leave the loop below waiting for ever); drops are the test above's. */
        ck_assert_int_eq(event_sink_new((size_t) THREADS * PER_THREAD, &sink), 0);
        for (int i = 0; i < THREADS; i++) {
                p[i] = (Poster) { .sink = sink, .id = i };
                ck_assert_int_eq(pthread_create(&t[i], NULL, poster, &p[i]), 0);
        }
        /* Drain as the posters go, woken by the fd. */
        while (!done) {
                struct pollfd pf = { .fd = event_sink_get_fd(sink), .events = POLLIN };
                (void) poll(&pf, 1, 50);
                (void) event_sink_drain(sink, count, &seen);
                done = seen.n == (uint64_t) THREADS * PER_THREAD;
        }
        for (int i = 0; i < THREADS; i++)
                pthread_join(t[i], NULL);
        ck_assert_uint_eq(event_sink_drain(sink, count, &seen), 0);
        event_sink_get_counts(sink, &c);
        for (int a = 0; a < _SUPERVISOR_ACTION_MAX; a++) {
                ck_assert_uint_eq(c.dropped[a], 0);
                ck_assert_uint_eq(seen.by_action[a], c.posted[a]);
        }
        event_sink_free(sink);
}
END_TEST

static void check_copy(const EventRecord *r, void *userdata) {
        int *n = userdata;

        ck_assert_int_eq(r->type, EVENT_DECISION);
        ck_assert_str_eq(r->workload, "web");
        ck_assert_str_eq(r->decision.path, "/etc/shadow");
        ck_assert_str_eq(r->decision.path2, "/tmp/x");
        ck_assert_str_eq(r->decision.rule_id, "deny-secrets");
        ck_assert_str_eq(r->decision.syscall, "renameat2");
        ck_assert_ptr_nonnull(r->decision.addr);
        ck_assert_str_eq(r->decision.addr->unix_path, "/run/sock");
        ck_assert_int_eq(r->decision.addr->port, 80);
        ck_assert_uint_gt(r->realtime_usec, 0);
        (*n)++;
}

START_TEST(test_strings_copied_and_mask) {
        EventSink *sink = NULL;
        char path[] = "/etc/shadow", path2[] = "/tmp/x", rule[] = "deny-secrets", un[] = "/run/sock";
        PolicySockaddr addr = { .family = 1, .port = 80, .unix_path = un };
        SupervisorEvent ev = {
                .syscall = "renameat2",
                .path = path,
                .path2 = path2,
                .rule_id = rule,
                .addr = &addr,
                .action = SUPERVISOR_ACTION_DENY,
        };
        EventSinkCounts c;
        int n = 0;

        ck_assert_int_eq(event_sink_new(0, &sink), 0);
        event_sink_post_decision(sink, "web", &ev);
        /* The poster's buffers may change right after: the record has its own copies. */
        memset(path, 'X', sizeof path - 1);
        memset(rule, 'X', sizeof rule - 1);
        memset(un, 'X', sizeof un - 1);
        ck_assert_uint_eq(event_sink_drain(sink, check_copy, &n), 1);
        ck_assert_int_eq(n, 1);

        /* Only denials wanted: an allowed call is counted, not recorded, and not called dropped. */
        event_sink_set_record_mask(sink, 1u << SUPERVISOR_ACTION_DENY);
        ck_assert(!event_sink_wants(sink, SUPERVISOR_ACTION_CONTINUE));
        ck_assert(event_sink_wants(sink, SUPERVISOR_ACTION_DENY));
        ev.action = SUPERVISOR_ACTION_CONTINUE;
        event_sink_post_decision(sink, "web", &ev);
        ck_assert_uint_eq(event_sink_drain(sink, NULL, NULL), 0);
        event_sink_get_counts(sink, &c);
        ck_assert_uint_eq(c.posted[SUPERVISOR_ACTION_CONTINUE], 1);
        ck_assert_uint_eq(c.dropped[SUPERVISOR_ACTION_CONTINUE], 0);

        event_sink_post_notice(sink, "web",
                               &(EventNotice){ .kind = EVENT_NOTICE_STATE, .state = "Running", .trust = 90 },
                               "Running");
        event_sink_get_counts(sink, &c);
        ck_assert_uint_eq(c.notices, 1);
        ck_assert_uint_eq(event_sink_drain(sink, NULL, NULL), 1);
        event_sink_free(sink);
}
END_TEST

START_TEST(test_escape) {
        char buf[64];

        ck_assert_str_eq(event_escape("/tmp/a b", buf, sizeof buf), "\"/tmp/a b\"");
        ck_assert_str_eq(event_escape("q\"\\", buf, sizeof buf), "\"q\\\"\\\\\"");
        ck_assert_str_eq(event_escape("a\nb\t\x1b[31m\xff", buf, sizeof buf), "\"a\\nb\\t\\x1b[31m\\xff\"");
        ck_assert_str_eq(event_escape(NULL, buf, sizeof buf), "\"\"");
        /* Truncated, but always quoted and terminated. */
        ck_assert_str_eq(event_escape("0123456789abcdef", buf, 12), "\"012345...\"");
        ck_assert_uint_le(strlen(event_escape("\x01\x02\x03\x04\x05\x06", buf, 12)), 11);
        ck_assert(buf[0] == '"' && buf[strlen(buf) - 1] == '"');
}
END_TEST

/* ---- aggregates ---- */

typedef struct AggSeen {
        uint64_t total, by_workload[THREADS], full, unattributed;
        bool keys_ok;
} AggSeen;

static void agg_count(const EventAggregate *a, void *userdata) {
        AggSeen *s = userdata;

        s->total += a->count;
        if (!a->workload) {
                s->unattributed += a->count;
                return;
        }
        if (a->reason == EVENT_AGGREGATE_QUEUE_FULL)
                s->full += a->count;
        /* Every key names what the records would have: workload, rule, syscall, policy. */
        if (strncmp(a->workload, "w", 1) != 0 || !streq(a->rule_id, "rule") ||
            !streq_ptr(a->syscall, "openat") || !streq_ptr(a->policy_digest, "sha256:00") ||
            !streq(a->identity, "web") || a->generation != 3)
                s->keys_ok = false;
        else
                s->by_workload[a->workload[1] - '0'] += a->count;
}

typedef struct AggPoster {
        EventSink *sink;
        int id;
        SupervisorAction action;
} AggPoster;

static void *agg_poster(void *arg) {
        AggPoster *p = arg;
        char workload[8];

        snprintf(workload, sizeof workload, "w%d", p->id);
        for (int i = 0; i < PER_THREAD; i++) {
                SupervisorEvent ev = {
                        .syscall = "openat",
                        .nr = i % 7, /* seven keys per workload */
                        .rule_id = "rule",
                        .identity = "web",
                        .policy_digest = "sha256:00",
                        .generation = 3,
                        .action = p->action,
                };
                event_sink_post_decision(p->sink, workload, &ev);
        }
        return NULL;
}

START_TEST(test_aggregate_mode_exact) {
        EventSink *sink = NULL;
        pthread_t t[THREADS];
        AggPoster p[THREADS];
        AggSeen seen = { .keys_ok = true };
        EventSinkCounts c;

        ck_assert_int_eq(event_sink_new(0, &sink), 0);
        event_sink_set_mode(sink, SUPERVISOR_ACTION_CONTINUE, EVENT_SINK_AGGREGATE);
        ck_assert_int_eq(event_sink_get_mode(sink, SUPERVISOR_ACTION_CONTINUE), EVENT_SINK_AGGREGATE);
        ck_assert_int_eq(event_sink_get_mode(sink, SUPERVISOR_ACTION_DENY), EVENT_SINK_RECORD);
        ck_assert(!event_sink_wants(sink, SUPERVISOR_ACTION_CONTINUE));
        for (int i = 0; i < THREADS; i++) {
                p[i] = (AggPoster){ .sink = sink, .id = i, .action = SUPERVISOR_ACTION_CONTINUE };
                ck_assert_int_eq(pthread_create(&t[i], NULL, agg_poster, &p[i]), 0);
        }
        /* Take while they post: every count is handed over exactly once. */
        for (int k = 0; k < 50; k++)
                (void) event_sink_take_aggregates(sink, agg_count, &seen);
        for (int i = 0; i < THREADS; i++)
                pthread_join(t[i], NULL);
        (void) event_sink_take_aggregates(sink, agg_count, &seen);
        ck_assert(seen.keys_ok);
        ck_assert_uint_eq(seen.total, THREADS * PER_THREAD);
        ck_assert_uint_eq(seen.unattributed, 0);
        ck_assert_uint_eq(seen.full, 0);
        for (int i = 0; i < THREADS; i++)
                ck_assert_uint_eq(seen.by_workload[i], PER_THREAD);
        /* Nothing was queued, nothing woke the consumer, nothing is left. */
        ck_assert_uint_eq(event_sink_drain(sink, NULL, NULL), 0);
        ck_assert_uint_eq(event_sink_take_aggregates(sink, NULL, NULL), 0);
        event_sink_get_counts(sink, &c);
        ck_assert_uint_eq(c.posted[SUPERVISOR_ACTION_CONTINUE], THREADS * PER_THREAD);
        ck_assert_uint_eq(c.dropped[SUPERVISOR_ACTION_CONTINUE], 0);
        event_sink_free(sink);
}
END_TEST

static void count_workloads(const EventRecord *r, void *userdata) {
        AggSeen *s = userdata;

        if (r->type != EVENT_DECISION)
                return;
        s->total++;
        s->by_workload[r->workload[1] - '0']++;
}

START_TEST(test_queue_full_aggregated_per_workload) {
        EventSink *sink = NULL;
        pthread_t t[THREADS];
        AggPoster p[THREADS];
        AggSeen records = {}, aggs = { .keys_ok = true };
        EventSinkCounts c;

        /* A denial storm into a small queue nobody drains: what does not fit is counted per key. */
        ck_assert_int_eq(event_sink_new(100, &sink), 0);
        for (int i = 0; i < THREADS; i++) {
                p[i] = (AggPoster){ .sink = sink, .id = i, .action = SUPERVISOR_ACTION_DENY };
                ck_assert_int_eq(pthread_create(&t[i], NULL, agg_poster, &p[i]), 0);
        }
        for (int i = 0; i < THREADS; i++)
                pthread_join(t[i], NULL);
        ck_assert_uint_eq(event_sink_drain(sink, count_workloads, &records), 100);
        (void) event_sink_take_aggregates(sink, agg_count, &aggs);
        ck_assert(aggs.keys_ok);
        ck_assert_uint_eq(aggs.full, THREADS * PER_THREAD - 100);
        event_sink_get_counts(sink, &c);
        ck_assert_uint_eq(c.dropped[SUPERVISOR_ACTION_DENY], THREADS * PER_THREAD - 100);
        for (int i = 0; i < THREADS; i++)
                ck_assert_uint_eq(records.by_workload[i] + aggs.by_workload[i], PER_THREAD);
        event_sink_free(sink);
}
END_TEST

START_TEST(test_aggregate_table_full_counts_by_action) {
        EventSink *sink = NULL;
        AggSeen seen = { .keys_ok = true };
        char w[32];
        uint64_t n = EVENT_SINK_AGGREGATE_SLOTS * 2;

        ck_assert_int_eq(event_sink_new(0, &sink), 0);
        event_sink_set_mode(sink, SUPERVISOR_ACTION_EMULATE, EVENT_SINK_AGGREGATE);
        for (uint64_t i = 0; i < n; i++) {
                SupervisorEvent ev = { .rule_id = "rule", .action = SUPERVISOR_ACTION_EMULATE };
                snprintf(w, sizeof w, "x%" PRIu64, i);
                event_sink_post_decision(sink, w, &ev);
        }
        (void) event_sink_take_aggregates(sink, agg_count, &seen);
        /* More keys than slots: the rest by action alone, the total still exact. */
        ck_assert_uint_eq(seen.total, n);
        ck_assert_uint_ge(seen.unattributed, n - EVENT_SINK_AGGREGATE_SLOTS);
        event_sink_free(sink);
}
END_TEST

typedef struct Both {
        int registered, own, ticks;
        const char *state;
        int trust;
        EventNoticeKind kind;
} Both;

static void registered(const EventRecord *r, void *userdata) {
        Both *b = userdata;

        if (r->type == EVENT_TICK) {
                b->ticks++;
                return;
        }
        b->registered++;
        if (r->type == EVENT_NOTICE) {
                b->kind = r->notice.kind;
                b->state = r->notice.state ? strdup(r->notice.state) : NULL;
                b->trust = r->notice.trust;
        }
}

static void own(const EventRecord *r, void *userdata) {
        Both *b = userdata;

        /* Registered consumers first: they have seen this record already. */
        ck_assert_int_eq(b->registered + b->ticks, b->own + 1);
        b->own++;
}

START_TEST(test_consumers_and_ticks) {
        EventSink *sink = NULL;
        SupervisorEvent ev = { .action = SUPERVISOR_ACTION_DENY };
        Both b = {};
        char state[] = "Quarantined";

        ck_assert_int_eq(event_sink_new(0, &sink), 0);
        ck_assert_int_eq(event_sink_add_consumer(sink, registered, &b), 0);
        event_sink_post_decision(sink, "w", &ev);
        event_sink_post_notice(sink, "w",
                               &(EventNotice){ .kind = EVENT_NOTICE_STATE, .state = state, .trust = 7 },
                               "Quarantined (trust)");
        memset(state, 'X', sizeof state - 1);
        ck_assert_uint_eq(event_sink_drain(sink, own, &b), 2);
        ck_assert_int_eq(b.registered, 2);
        ck_assert_int_eq(b.own, 2);
        ck_assert_int_eq(b.kind, EVENT_NOTICE_STATE);
        ck_assert_str_eq(b.state, "Quarantined");
        ck_assert_int_eq(b.trust, 7);
        free((char *) b.state);

        /* Ticks arrive through the fd like records, without anyone posting. */
        ck_assert_int_eq(event_sink_set_tick(sink, 20000), 0);
        while (b.ticks < 3) {
                struct pollfd pf = { .fd = event_sink_get_fd(sink), .events = POLLIN };
                ck_assert_int_eq(poll(&pf, 1, 10000), 1);
                (void) event_sink_drain(sink, NULL, NULL);
        }
        event_sink_remove_consumer(sink, registered, &b);
        event_sink_post_decision(sink, "w", &ev);
        ck_assert_uint_ge(event_sink_drain(sink, NULL, NULL), 1);
        ck_assert_int_eq(b.registered, 2);
        ck_assert_str_eq(event_notice_kind_to_string(EVENT_NOTICE_POLICY_RELOAD_FAILED),
                         "policy-reload-failed");
        event_sink_free(sink);
}
END_TEST

/* A bounded drain leaves the rest queued, in order, and the fd readable while any waits: a loop that
 * hosts the consumers serves other sources in between and comes back. */
START_TEST(test_drain_batch_bounded) {
        EventSink *sink = NULL;
        Seen reg = { .ordered = true }, own = { .ordered = true };
        struct pollfd p;

        ck_assert_int_eq(event_sink_new(0, &sink), 0);
        ck_assert_int_eq(event_sink_add_consumer(sink, count, &reg), 0);
        for (int i = 0; i < 10; i++)
                event_sink_post_decision(sink, "w",
                                         &(SupervisorEvent){ .syscall = "openat",
                                                             .action = SUPERVISOR_ACTION_DENY });
        ck_assert_uint_eq(event_sink_drain_batch(sink, 3, count, &own), 3);
        ck_assert_uint_eq(reg.n, 3);
        ck_assert_uint_eq(own.n, 3);
        p = (struct pollfd){ .fd = event_sink_get_fd(sink), .events = POLLIN };
        ck_assert_int_eq(poll(&p, 1, 0), 1);
        /* Posts after the batch was taken come after what is left of it. */
        event_sink_post_decision(sink, "w",
                                 &(SupervisorEvent){ .syscall = "close", .action = SUPERVISOR_ACTION_EMULATE });
        ck_assert_uint_eq(event_sink_drain_batch(sink, 100, count, &own), 7);
        ck_assert_uint_eq(event_sink_drain_batch(sink, 100, count, &own), 1);
        ck_assert_uint_eq(own.by_action[SUPERVISOR_ACTION_EMULATE], 1);
        ck_assert(own.ordered);
        ck_assert(reg.ordered);
        ck_assert_uint_eq(reg.n, 11);
        ck_assert_uint_eq(event_sink_drain_batch(sink, 100, count, &own), 0);
        ck_assert_int_eq(poll(&p, 1, 0), 0);
        event_sink_remove_consumer(sink, count, &reg);
        event_sink_free(sink);
}
END_TEST

int main(void) {
        Suite *s = suite_create("event-sink");
        TCase *tc = tcase_create("sink");

        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_counts_exact_under_drops);
        tcase_add_test(tc, test_concurrent_drain_loses_nothing);
        tcase_add_test(tc, test_strings_copied_and_mask);
        tcase_add_test(tc, test_escape);
        tcase_add_test(tc, test_aggregate_mode_exact);
        tcase_add_test(tc, test_queue_full_aggregated_per_workload);
        tcase_add_test(tc, test_aggregate_table_full_counts_by_action);
        tcase_add_test(tc, test_consumers_and_ticks);
        tcase_add_test(tc, test_drain_batch_bounded);
        suite_add_tcase(s, tc);
        return fo_test_run(s);
}
