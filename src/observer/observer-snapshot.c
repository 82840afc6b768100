/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Snapshots of what the observer saw: the parts that need no BPF. See observer.h. */
#include <stdlib.h>

#include "forgeone/observer.h"

void observer_snapshot_done(ObserverSnapshot *s) {
        if (!s)
                return;
        for (size_t i = 0; i < s->n_workloads; i++)
                free(s->workloads[i].syscalls);
        free(s->workloads);
        *s = (ObserverSnapshot){};
}

const ObserverWorkloadInfo *observer_snapshot_find(const ObserverSnapshot *s, const char *id) {
        for (size_t i = 0; s && id && i < s->n_workloads; i++)
                if (streq(s->workloads[i].id, id))
                        return &s->workloads[i];
        return NULL;
}
