/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A workload: one mediated process tree, started from a plain command or an
 * OCI image, and the object that owns it: its pidfd, its seccomp listener
 * (held by its supervisor), its namespaces, and for an image its cgroup,
 * container record and root filesystem. It is the one launch path of the
 * library: forgeonectl run --local (both forms), the tests and the
 * benchmarks all start workloads here.
 *
 *   workload_start(&config, &w, &err);   returns once the workload runs
 *   owner's loop:
 *     workload_get_pidfd(w)   readable once the workload has ended -> workload_reap()
 *     workload_get_fd(w)      readable when the owner must look (trust changed, a quarantine is
 *                             pending) -> workload_process(); so is a timeout from
 *                             workload_next_timeout()
 *   workload_reap(w, &result); workload_free(w);
 *
 * The library handles no signals, never waits for the workload and never
 * changes its caller's namespaces (the one wait: admission of an image when
 * the caller asks to queue rather than fail, ContainerConfig.no_wait).
 * Decisions go to the configured event sink (event-sink.h), from the
 * supervising thread, never blocking it.
 *
 * What a plain command gets: new pid, mount and IPC namespaces (so it cannot
 * signal, limit, trace or read the memory of its supervisor, another
 * workload or any host process, all of which are invisible to it, nor
 * reach their SysV IPC objects), a /proc
 * of its own, and the host's file system otherwise; never CAP_SYS_PTRACE
 * (not in its bounding set either), which alone could open the memory,
 * environment or descriptors of init below. Its pid 1 is a small
 * init of ours, itself under a seccomp filter that allows only waiting,
 * signals and exit: it forwards SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 to the
 * command, reaps orphans, and ends with the command, taking everything the
 * command left behind with it (the kernel kills a pid namespace with its
 * init). A plain workload gets no cgroup, so it shares the cpu group of its
 * supervising thread: group scheduling between the two costs about 40% per
 * trapped call. An image gets what container.h describes.
 *
 * Both get exactly the file descriptors 0, 1 and 2 of the caller (or the
 * ones configured): every other descriptor is closed before the filter is
 * installed.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "forgeone/container.h"
#include "forgeone/error.h"
#include "forgeone/event-sink.h"
#include "forgeone/macro.h"
#include "forgeone/policy.h"
#include "forgeone/supervisor.h"

typedef struct Workload Workload;

/* Tests and benchmarks: run this in the workload process, under the filter, instead of exec'ing a
 * command; the process exits with its return value. */
typedef int (*WorkloadChildFn)(void *userdata);

typedef struct WorkloadConfig {
        char **argv;                 /* the command (PATH is searched); with an image it replaces the
                                      * entrypoint and cmd when non-NULL */
        const ContainerConfig *image; /* NULL: a plain command on the host's file system */
        Policy *policy;              /* taken over, also on failure */
        const char *identity;        /* policy identity by name; NULL: resolved from the command's name
                                      * (and, for an image, its digest and labels) */
        EventSink *sink;             /* where decisions and notices go; may be NULL */
        int stdio[3];                /* the workload's 0, 1, 2; ignored unless stdio_set */
        bool stdio_set;
        bool hosted;                 /* the caller dispatches supervisor_get_fd(); else a dedicated thread */
        WorkloadChildFn child_fn;    /* plain workloads only: instead of argv */
        void *child_userdata;
        const char *root_directory;  /* plain workloads: chroot() here in the workload's own mount
                                      * namespace (after its /proc is mounted); NULL: the host's "/" */
        uid_t run_as_uid;            /* plain workloads: drop to this uid/gid (and no groups) before the
                                      * filter; 0: keep the caller's */
        gid_t run_as_gid;
} WorkloadConfig;

typedef struct WorkloadResult {
        bool quarantined;  /* a quarantine ended it (a plain command; a container that did not freeze) */
        int exit_code;   /* -1 when killed by a signal */
        int exit_signal; /* 0 when it exited */
        ContainerResult container; /* images: the container's final record */
} WorkloadResult;

/* err (optional) always says why it failed, with the kind of the cause (an invalid policy or image, an
 * untrusted image) for the daemon's D-Bus error name. */
int workload_start(const WorkloadConfig *c, Workload **ret, ForgeError *err);
/* Kills what is left (SIGKILL), stops the supervisor, removes what the workload owned. */
Workload *workload_free(Workload *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(Workload *, workload_free);

/* The workload's id: the container id for images, "run-<pid>-<n>" for plain commands. */
const char *workload_get_id(const Workload *w) _pure_;
/* Its first process (our init for a plain command, the container's init for an image), host pid. */
pid_t workload_get_pid(const Workload *w) _pure_;
int workload_get_pidfd(const Workload *w) _pure_;
Supervisor *workload_get_supervisor(const Workload *w) _pure_;
/* Images: the id of the container record. NULL for plain commands. */
const char *workload_get_container_id(const Workload *w) _pure_;

int workload_get_fd(const Workload *w) _pure_;
/* Timeout in usec (CLOCK_MONOTONIC, absolute) by which workload_process() wants to run; 0: none. */
uint64_t workload_next_timeout(const Workload *w);
/* Follows trust into the cgroup's cpu weight and the record, checks a pending quarantine froze the
 * workload in time (kills it otherwise). Never blocks. */
int workload_process(Workload *w);

/* Sends sig to the workload (its first process; for a plain command our init forwards SIGTERM,
 * SIGHUP, SIGUSR1, SIGUSR2 to the command). SIGKILL kills everything. */
int workload_kill(Workload *w, int sig);

/* After the pidfd turned readable: 1 and the result when the workload has ended (everything it
 * left is killed, its record says Stopped/Failed, its supervisor has stopped), 0 when not yet. */
int workload_reap(Workload *w, WorkloadResult *ret);

/* Exit status a CLI returns: the exit code, 128 + signal; FORGEONE_EXIT_QUARANTINED when quarantined. */
#define FORGEONE_EXIT_QUARANTINED 123
#define FORGEONE_EXIT_LAUNCH_FAILED 125
int workload_result_exit_status(const WorkloadResult *r) _pure_;
