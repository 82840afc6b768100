/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Internal to the runtime: a container as workload.c drives it, in steps
 * that never wait for the workload.
 *
 *   container_run_launch()   image, admission (queues unless no_wait), cgroup, namespaces, root
 *                            filesystem, init set up; returns with the listener in our hands
 *   (workload.c starts the supervisor on it)
 *   container_run_exec()     init exec'd the workload: record Running
 *   container_run_quarantine_request()   from the supervising thread: freeze, never blocks
 *   container_run_process()  the owner's loop: record a pending quarantine, kill a workload that did
 *                            not freeze in time, follow trust into the cpu weight and the record
 *   container_run_end()      init exited: record Stopped/Failed, remove cgroup and root filesystem
 *
 * The caller's namespaces are never changed: the layers and the overlay are mounted in the child's
 * own mount namespace (CLONE_NEWNS), from a short-lived thread that joins it.
 */

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "forgeone/container.h"
#include "forgeone/policy-compile.h"
#include "forgeone/policy-graph.h"
#include "forgeone/supervisor.h"

typedef struct ContainerRun ContainerRun;

typedef struct ContainerLaunched {
        pid_t pid;           /* init, host pid */
        int pidfd;           /* borrowed: the run's */
        int listener;        /* the caller's */
        int root_fd;         /* borrowed: init's root */
        int cgroup_fd;       /* borrowed: its v2 cgroup directory */
        int identity;
        PolicyGraph *graph;  /* borrowed */
        PolicyFilter *filter; /* the caller's: the kernel filter the container runs under */
        bool creds_calls_trapped;
} ContainerLaunched;

/* Takes the policy. identity: a policy identity by name, or NULL to resolve it. */
int container_run_launch(const ContainerConfig *c, Policy *policy, const char *identity, EventSink *sink,
                         ContainerRun **ret, ContainerLaunched *ret_launched, ForgeError *err);
int container_run_exec(ContainerRun *r, ForgeError *err);
/* Schedules the supervising thread in the container's cpu group where the host allows it (hybrid
 * cgroups): a workload in a cpu group apart from its supervisor pays group scheduling on every trapped
 * call (measured +18% per trapped getppid; +5% once placed). The thread is moved back before the cgroup
 * is removed. */
void container_run_place_supervisor(ContainerRun *r, pid_t tid);
const char *container_run_id(const ContainerRun *r) _pure_;
void container_run_quarantine_request(ContainerRun *r, const SupervisorEvent *ev);
int container_run_process(ContainerRun *r, int trust);
uint64_t container_run_next_timeout(const ContainerRun *r) _pure_;
bool container_run_quarantined(const ContainerRun *r) _pure_;
/* The quarantine could not freeze it and killed it instead. */
bool container_run_quarantine_killed(const ContainerRun *r) _pure_;
int container_run_kill(ContainerRun *r, int sig);
int container_run_end(ContainerRun *r, const siginfo_t *si, ContainerResult *ret);
/* Before the end was recorded (a failed start, or a caller that stops early): kills init and everything
 * in its cgroup, records Failed, cleans up. */
ContainerRun *container_run_free(ContainerRun *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(ContainerRun *, container_run_free);
