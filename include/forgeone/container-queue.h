/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Admission control over the state directory: the I/O half of scheduler.h.
 * A request is admitted (its container record created, in Creating) while
 * ROOT/store.lock is held, so the sum of reservations never exceeds the
 * budget however many forgeonectl processes start at once. Running
 * reservations are the memory/pids of every container that is not final
 * and whose owner lives. A request that must wait writes
 * ROOT/queue/<pid>-<starttime>.json (priority, trust, arrival, reservation)
 * and re-checks every 200 ms; entries of dead processes are ignored and
 * removed. The budget comes from a JSON file
 *     { "memory": "8G", "pids": 4096, "default_memory": "512M", "default_pids": 1024 }
 * (every key optional; sizes as strings with K/M/G/T or plain numbers),
 * else from scheduler_budget_default() over /proc/meminfo and pid_max.
 */

#include <stdbool.h>

#include "forgeone/container-store.h"
#include "forgeone/error.h"
#include "forgeone/scheduler.h"

/* Loads the budget: path if non-NULL (must exist), else the default file if it exists, else the
 * host defaults. err: what is wrong with the file (kind config-invalid when its contents are). */
int container_budget_load(const char *path, SchedulerBudget *ret, ForgeError *err);

typedef void (*ContainerQueueWaitFn)(unsigned shortage, const char *text, void *userdata);

/*
 * Admits rec (its priority, trust, memory_bytes, pids are the request) and creates its container
 * (container_store_create(); rec is taken over on success). Waits in the queue unless no_wait.
 * -EXFULL: no_wait and it does not fit now; -E2BIG: it can never fit the budget; -EEXIST: name taken.
 * err: described for the first two. on_wait: called once when it starts waiting.
 */
int container_queue_admit(ContainerStore *s, const SchedulerBudget *b, ContainerRecord *rec, bool no_wait,
                          ContainerQueueWaitFn on_wait, void *userdata, ContainerLock **ret,
                          ForgeError *err);

/* A request waiting for admission, as `ps` shows it. */
typedef struct ContainerQueued {
        pid_t owner_pid;
        char *name;  /* NULL when none was given */
        char *image;
        SchedulerPriority priority;
        int trust;
        uint64_t seq;
        uint64_t memory_bytes;
        uint64_t pids;
} ContainerQueued;

/* The waiting requests in queue order (first = next to start when it fits). */
int container_queue_list(ContainerStore *s, ContainerQueued **ret, size_t *ret_n);
void container_queued_free(ContainerQueued *l, size_t n);
