/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Internal to the runtime: what the cloned init needs to set itself up
 * (container-launch.c) and how it reports a failure to the parent
 * (container.c). The child waits for one byte on sync_fd before it starts,
 * and sends one LaunchReport if a step fails; once set up it sends one byte
 * ("r") right before installing the seccomp listener; a successful execve()
 * closes its end (O_CLOEXEC), which the parent sees as EOF.
 */

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
        char **envp;        /* the image's env; defaults are added */
        const char *cwd;
        const char *user;   /* image config "user", or NULL */
        uint32_t uid_count;
        const PolicyFilter *filter;
        SupervisorHandoff *handoff;
} LaunchArgs;

_noreturn_ void container_launch_child(const LaunchArgs *a);
