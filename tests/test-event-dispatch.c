/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The consumer list of an event sink (event-dispatch.h): the sink records the union of what consumers
 * want, each consumer gets what it asked for in order, flushes after each drain, removal. */
#include <string.h>

#include "forgeone/event-dispatch.h"
#include "test-util.h"

typedef struct Got {
        unsigned decisions[_SUPERVISOR_ACTION_MAX];
        unsigned notices, flushes;
        uint64_t last_seq;
        bool ordered;
} Got;

static void consume(const EventRecord *r, void *userdata) {
        Got *g = userdata;

        if (r->seq <= g->last_seq)
                g->ordered = false;
        g->last_seq = r->seq;
        if (r->type == EVENT_NOTICE)
                g->notices++;
        else
                g->decisions[r->decision.action]++;
}

static void flush(void *userdata) {
        ((Got *) userdata)->flushes++;
}

static void post(EventSink *sink, SupervisorAction a) {
        SupervisorEvent ev = { .syscall = "getppid", .rule_id = "r", .action = a };
        event_sink_post_decision(sink, "w1", &ev);
}

START_TEST(test_consumers_get_what_they_asked_for) {
        EventSink *sink = NULL;
        EventDispatch *d = NULL;
        Got all = { .ordered = true }, denials = { .ordered = true }, counter = { .ordered = true };
        EventSinkCounts c;

        ck_assert_int_eq(event_sink_new(0, &sink), 0);
        ck_assert_int_eq(event_dispatch_new(sink, &d), 0);
        /* Nobody registered: everything is only counted. */
        post(sink, SUPERVISOR_ACTION_CONTINUE);
        ck_assert_uint_eq(event_dispatch_drain(d), 0);

        ck_assert_int_eq(event_dispatch_add(d, &(EventConsumer) { .name = "log", .actions = EVENT_ACTIONS_DENIALS,
                                                                   .consume = consume, .flush = flush,
                                                                   .userdata = &denials }),
                         0);
        ck_assert_int_eq(event_dispatch_add(d, &(EventConsumer) { .name = "file", .actions = EVENT_ACTIONS_ALL,
                                                                   .notices = true, .consume = consume,
                                                                   .userdata = &all }),
                         0);
        ck_assert_int_eq(event_dispatch_add(d, &(EventConsumer) { .name = "counters", .flush = flush,
                                                                   .userdata = &counter }),
                         0);
        ck_assert_int_eq(event_dispatch_add(d, &(EventConsumer) { .name = "log", .consume = consume }), -EEXIST);
        ck_assert_uint_eq(event_dispatch_count(d), 3);

        for (int i = 0; i < 100; i++)
                post(sink, (SupervisorAction) (i % _SUPERVISOR_ACTION_MAX));
        event_sink_post_notice(sink, "w1", "Running");
        ck_assert_uint_eq(event_dispatch_drain(d), 101);
        ck_assert_uint_eq(all.decisions[SUPERVISOR_ACTION_CONTINUE] + all.decisions[SUPERVISOR_ACTION_EMULATE] +
                                  all.decisions[SUPERVISOR_ACTION_DENY] + all.decisions[SUPERVISOR_ACTION_QUARANTINE],
                          100);
        ck_assert_uint_eq(all.notices, 1);
        ck_assert(all.ordered);
        ck_assert_uint_eq(denials.decisions[SUPERVISOR_ACTION_DENY], 25);
        ck_assert_uint_eq(denials.decisions[SUPERVISOR_ACTION_QUARANTINE], 25);
        ck_assert_uint_eq(denials.decisions[SUPERVISOR_ACTION_CONTINUE], 0);
        ck_assert_uint_eq(denials.notices, 0);
        ck_assert_uint_eq(denials.flushes, 1);
        ck_assert_uint_eq(counter.flushes, 1);

        /* Without the consumer that wanted everything, allowed calls are only counted again. */
        ck_assert_int_eq(event_dispatch_remove(d, "file"), 0);
        ck_assert_int_eq(event_dispatch_remove(d, "file"), -ENOENT);
        post(sink, SUPERVISOR_ACTION_CONTINUE);
        post(sink, SUPERVISOR_ACTION_DENY);
        ck_assert_uint_eq(event_dispatch_drain(d), 1);
        ck_assert_uint_eq(denials.decisions[SUPERVISOR_ACTION_DENY], 26);
        ck_assert_int_eq(event_dispatch_set_actions(d, "counters", 1u << SUPERVISOR_ACTION_CONTINUE), 0);
        post(sink, SUPERVISOR_ACTION_CONTINUE);
        ck_assert_uint_eq(event_dispatch_drain(d), 1);
        event_sink_get_counts(sink, &c);
        ck_assert_uint_eq(c.posted[SUPERVISOR_ACTION_CONTINUE], 1 + 25 + 2);
        ck_assert_uint_eq(c.dropped[SUPERVISOR_ACTION_CONTINUE], 0);

        event_dispatch_free(d);
        event_sink_free(sink);
}
END_TEST

int main(void) {
        Suite *s = suite_create("event-dispatch");
        TCase *tc = tcase_create("dispatch");

        tcase_add_test(tc, test_consumers_get_what_they_asked_for);
        suite_add_tcase(s, tc);
        return fo_test_run(s);
}
