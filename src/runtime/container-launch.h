/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Internal to the runtime: what the cloned init needs to set itself up
 * (container-launch.c) and how it reports a failure to the parent
 * (container.c). The child waits for one byte on sync_fd before it starts,
 * and sends one LaunchReport if a step fails; once set up it sends one byte
 * ("r") right before installing the seccomp listener; a successful execve()
 * closes its end (O_CLOEXEC), which the parent sees as EOF. The child is
 * async-signal-safe (container-launch.c): what it needs that would take an
 * allocation is prepared here, in the parent.
 */

#include <stdbool.h>
#include <sys/types.h>

#include "forgeone/container.h"
#include "forgeone/policy-compile.h"
#include "forgeone/supervisor.h"

#define LAUNCH_EXIT_SETUP 125

typedef struct LaunchReport {
        int error; /* positive errno */
        char message[512];
} LaunchReport;

typedef struct LaunchArgs {
        int sync_fd;
        const char *rootfs; /* host path of the assembled root, in the parent's mount namespace */
        const char *hostname;
        ContainerNetwork network;
        char **argv;
        char **envp;        /* the image's env with the defaults added (container.c) */
        char **home_slot;   /* NULL, or the entry of envp the child sets to HOME=<the user's home> */
        const char *cwd;
        const char *user;   /* image config "user", or NULL */
        uint32_t uid_count;
        const PolicyFilter *filter;
        SupervisorHandoff *handoff;
        bool survive_owner; /* no PR_SET_PDEATHSIG once set up: a successor takes the listener over */
        const int *stdio;   /* NULL, or the workload's 0, 1 and 2 (the caller's otherwise) */
} LaunchArgs;

#define CONTAINER_LAUNCH_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


_noreturn_ void container_launch_child(const LaunchArgs *a);
