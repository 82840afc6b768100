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
#include "forgeone/policy.h"
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
        uint8_t filter_digest[32]; /* SHA-256 of the kernel filter's program */
} ContainerLaunched;

/* Takes the policy, or (policy NULL) shares graph (a reference is taken). identity: a policy identity by
 * name, or NULL to resolve it. stdio: the workload's 0, 1 and 2, or NULL for the caller's. */
int container_run_launch(const ContainerConfig *c, Policy *policy, PolicyGraph *graph, const char *identity,
                         const int *stdio, EventSink *sink, ContainerRun **ret, ContainerLaunched *ret_launched,
                         ForgeError *err);
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

/* The owner's control (forgeoned), recorded as the control functions of container.h record it. */
int container_run_set_frozen(ContainerRun *r, bool frozen, ForgeError *err); /* pause, resume */
int container_run_quarantine(ContainerRun *r, const char *reason, ForgeError *err);
int container_run_release(ContainerRun *r, ForgeError *err);
/* The reason while quarantined (by an operator or the policy), else NULL. */
const char *container_run_quarantine_reason(const ContainerRun *r) _pure_;
int container_run_is_frozen(ContainerRun *r);
/* Begins a stop without waiting: records Stopping, SIGTERM to every process (SIGKILL when quarantined),
 * thaws. The caller kills what is left after its timeout (container_run_kill(SIGKILL)). */
int container_run_stop(ContainerRun *r, ForgeError *err);
/* What the policy's identities match against: name (NULL when none was given), digest, labels. */
void container_run_workload(const ContainerRun *r, PolicyWorkload *ret);
/* Its cgroup v2 directory. */
const char *container_run_cgroup_path(const ContainerRun *r) _pure_;

/* Takes over a running container whose owner handed it over (its pidfd; the record in state_dir, NULL:
 * the store's default), and records us as its owner. Its end is recorded by container_run_end(); its
 * storage, staged by the previous owner, is removed as an orphan's would be. */
int container_run_adopt(const char *state_dir, const char *id, int pidfd, ContainerRun **ret, ForgeError *err);
/* Removes a container's storage (rootfs, staged layers), mounted or not, never recursively. */
int container_storage_remove(const char *storage, ForgeError *err);
int container_run_end(ContainerRun *r, const siginfo_t *si, ContainerResult *ret);
/* Before the end was recorded (a failed start, or a caller that stops early): kills init and everything
 * in its cgroup, records Failed, cleans up. */
ContainerRun *container_run_free(ContainerRun *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(ContainerRun *, container_run_free);
