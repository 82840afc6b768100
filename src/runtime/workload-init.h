/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Internal to the runtime: the child side of a plain workload
 * (workload-init.c). The process cloned into new pid, mount and IPC namespaces
 * becomes pid 1, our init: it mounts a /proc of the namespace, clones the
 * command with CLONE_PIDFD and sends that pidfd to the parent over sync_fd
 * (so the parent can take the command's listener), clears its own copy of
 * the caller's environment (the workload can read /proc/1/environ), puts
 * itself under a filter that allows only waiting, signals and exit, then
 * forwards signals
 * and reaps until the command ends, and exits, which ends the namespace.
 *
 * Everything here runs in a freshly cloned child of a possibly
 * multithreaded process: raw syscalls and the stack only, no allocation, no
 * stdio (another thread may have held a lock of the parent's at the clone).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "forgeone/policy-compile.h"
#include "forgeone/supervisor.h"
#include "forgeone/workload.h"

/* Shared (MAP_SHARED, a memfd the owner can hand over) with init; the command unmaps it before it runs
 * anything of its own. */
typedef struct WorkloadInitPage {
        int command_status; /* wait status of the command, valid once command_ended */
        int command_ended;  /* atomic */
        int setup_error;    /* positive errno of a failed setup step */
        char setup_message[256];
} WorkloadInitPage;

typedef struct WorkloadInitArgs {
        int sync_fd;                /* SOCK_SEQPACKET end: the command's pidfd goes up it */
        char **argv;
        WorkloadChildFn fn;
        void *userdata;
        const PolicyFilter *filter;
        SupervisorHandoff *handoff;
        WorkloadInitPage *page;
        const int *stdio;           /* 3 fds, or NULL */
        const char *root_directory; /* or NULL */
        uid_t uid;                  /* 0: keep */
        gid_t gid;
        char **envp;                /* or NULL: ours */
        const char *cwd;            /* or NULL */
        bool survive_owner;         /* no PR_SET_PDEATHSIG */
        bool controlling_tty;       /* the command: setsid() and fd 0 as controlling terminal */
} WorkloadInitArgs;

#define WORKLOAD_INIT_EXIT_SETUP 125

_noreturn_ void workload_init_main(const WorkloadInitArgs *a);
