/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What both forms of "forgeonectl run --local" share (cli-run-common.c):
 * printing decisions from the event sink on a thread of its own, so a slow
 * terminal never stalls the supervisor, and the owner's loop around one
 * workload (its end, its owner events, the signals sent to forgeonectl).
 */

#include <stdbool.h>
#include <stdint.h>

#include "forgeone/event-sink.h"
#include "forgeone/workload.h"

typedef enum RunPrint {
        RUN_PRINT_ALL,     /* every decision */
        RUN_PRINT_DENIALS, /* denials and quarantines */
        RUN_PRINT_NONE,
} RunPrint;

typedef struct RunOptions {
        RunPrint print;
        bool json;
        uint64_t stop_timeout_usec; /* images: SIGTERM, then SIGKILL after this, on Ctrl-C/SIGTERM */
        const char *state_dir;      /* images: where the container records are */
} RunOptions;

/* Loads a policy, printing file:line:column errors. */
int run_load_policy(const char *path, Policy **ret);

/* Starts the workload of c (its sink is made here), supervises it until it ends and returns the exit
 * status forgeonectl exits with. */
int run_workload(WorkloadConfig *c, const RunOptions *o);
