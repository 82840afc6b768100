/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Report: every decision is counted exactly and posted to the event sink, from whichever thread made
 * it, without blocking (event-sink.h). */
#include <sys/eventfd.h>

#include "supervisor-internal.h"

void supervisor_report(Supervisor *s, const SupervisorEvent *ev) {
        if (ev->action >= 0 && ev->action < _SUPERVISOR_ACTION_MAX)
                __atomic_fetch_add(&s->counts[ev->action], 1, __ATOMIC_RELAXED);
        if (ev->target_gone)
                __atomic_fetch_add(s->gone, 1, __ATOMIC_RELAXED);
        /* Answered (or its caller is gone): nothing left for a successor to do. */
        journal_answered(s->journal, ev->id);
        if (s->sink)
                event_sink_post_decision(s->sink, s->workload, ev);
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
