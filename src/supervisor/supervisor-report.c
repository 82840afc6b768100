/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Report: every decision is counted exactly and posted to the event sink, from whichever thread made
 * it, without blocking (event-sink.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "supervisor-internal.h"

int supervisor_report_add_policy(Supervisor *s, uint64_t generation, int identity, const PolicyGraph *g) {
        const Policy *p = policy_graph_policy(g);
        ReportPolicy *e;

        e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        e->generation = generation;
        e->identity = strdup(identity >= 0 && (size_t) identity < p->n_identities
                                     ? p->identities[identity].name
                                     : "*");
        if (!e->identity) {
                free(e);
                return -ENOMEM;
        }
        snprintf(e->digest, sizeof e->digest, "%s", p->digest);
        e->next = __atomic_load_n(&s->report_policies, __ATOMIC_RELAXED);
        __atomic_store_n(&s->report_policies, e, __ATOMIC_RELEASE);
        return 0;
}

void supervisor_report_free_policies(Supervisor *s) {
        ReportPolicy *e = s->report_policies;

        while (e) {
                ReportPolicy *next = e->next;
                free(e->identity);
                free(e);
                e = next;
        }
        s->report_policies = NULL;
}

void supervisor_report(Supervisor *s, const SupervisorEvent *ev) {
        if (ev->action >= 0 && ev->action < _SUPERVISOR_ACTION_MAX)
                __atomic_fetch_add(&s->counts[ev->action], 1, __ATOMIC_RELAXED);
        if (ev->target_gone)
                __atomic_fetch_add(s->gone, 1, __ATOMIC_RELAXED);
        /* Answered (or its caller is gone): nothing left for a successor to do. */
        journal_answered(s->journal, ev->id);
        if (s->sink) {
                SupervisorEvent e = *ev;

                /* The newest entry is the common case: a walk only after a reload, for calls in flight. */
                for (const ReportPolicy *p = __atomic_load_n(&s->report_policies, __ATOMIC_ACQUIRE); p;
                     p = p->next)
                        if (p->generation == ev->generation) {
                                e.identity = p->identity;
                                e.policy_digest = p->digest[0] ? p->digest : NULL;
                                break;
                        }
                event_sink_post_decision(s->sink, s->workload, &e);
        }
}

void supervisor_wake_owner(Supervisor *s) {
        if (s->wake_fd >= 0)
                (void) eventfd_write(s->wake_fd, 1);
}

void supervisor_get_counts(Supervisor *s, SupervisorCounts *ret) {
        *ret = (SupervisorCounts) {};
        for (size_t i = 0; i < _SUPERVISOR_ACTION_MAX; i++)
                ret->decisions[i] = __atomic_load_n(&s->counts[i], __ATOMIC_RELAXED);
        ret->target_gone = __atomic_load_n(s->gone, __ATOMIC_RELAXED);
}
