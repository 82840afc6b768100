/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The event sink's contract (event-sink.h): posts from many threads, exact counts whatever is dropped,
 * records in sequence order with their strings copied, the record mask, and escaping. */
#include <poll.h>
#include <pthread.h>
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

        event_sink_post_notice(sink, "web", "Running");
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

int main(void) {
        Suite *s = suite_create("event-sink");
        TCase *tc = tcase_create("sink");

        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_counts_exact_under_drops);
        tcase_add_test(tc, test_concurrent_drain_loses_nothing);
        tcase_add_test(tc, test_strings_copied_and_mask);
        tcase_add_test(tc, test_escape);
        suite_add_tcase(s, tc);
        return fo_test_run(s);
}
