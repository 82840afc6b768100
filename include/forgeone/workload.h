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
 * command, and SIGINT and SIGQUIT when sent by a process (not the ones a
 * terminal sends the whole process group, which the command gets itself),
 * reaps orphans, and ends with the command, taking everything the
 * command left behind with it (the kernel kills a pid namespace with its
 * init). A plain workload gets no cgroup, so it shares the cpu group of its
 * supervising thread: group scheduling between the two costs about 40% per
 * trapped call. An image gets what container.h describes.
 *
 * Both get exactly the file descriptors 0, 1 and 2 of the caller (or the
 * ones configured): every other descriptor is closed before the filter is
 * installed.
 *
 * Owners that outlive themselves (forgeoned): by default a workload dies
 * with the thread that started it (PR_SET_PDEATHSIG), which is right for a
 * CLI. With survive_owner it does not: the owner keeps copies of the
 * workload's file descriptors (workload_get_handover_fd(): the listener,
 * pidfds, root, init's status page, cgroup and the supervisor's journal)
 * where they survive it (systemd's fd store), persists workload_get_state(),
 * and its successor rebuilds the object with workload_adopt(). While no
 * owner runs, the workload runs on until its next trapped call, which waits
 * in the kernel for the successor's answer (supervisor.h, "Restarts").
 * An image with survive_owner (forgeoned) hands over its listener, pidfd, root, v2 cgroup and journal;
 * its record stays in the container store, and the successor becomes its owner there.
 * A plain command given cgroup_parent gets a cgroup v2 of its own there
 * (cloned into it): it can then be frozen (workload_set_frozen()) and a
 * successor can find a call its predecessor died deciding.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "forgeone/container.h"
#include "forgeone/error.h"
#include "forgeone/event-sink.h"
#include "forgeone/macro.h"
#include "forgeone/observer.h"
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
        const char *id;              /* plain workloads: the id; NULL: "run-<pid>-<n>" */
        PolicyGraph *graph;          /* instead of policy: a graph to share (a reference is taken); the kernel
                                      * filter is compiled from its policy */
        uint64_t generation;         /* the graph's generation number in the owner's count; 0: 1 */
        bool survive_owner;          /* do not die with the owner (see above) */
        bool journal;                /* keep the supervisor's journal (supervisor.h), for a successor */
        bool controlling_tty;        /* plain workloads: the command gets a session of its own with its fd 0
                                      * (a terminal) as controlling terminal, for job control */
        const char *cgroup_parent;   /* plain workloads: a cgroup v2 directory to create the workload's own
                                      * cgroup in, named after its id; NULL: none */
        char **envp;                 /* plain workloads: the command's environment; NULL: the caller's */
        const char *working_directory; /* plain workloads: inside its root; NULL: the caller's (or "/"
                                        * with root_directory) */
        Observer *observer;          /* watches it from before its command runs until workload_free() (a
                                      * workload it cannot watch runs unwatched, with a warning notice);
                                      * NULL: none */
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

/* Freezes or thaws every process of the workload. Plain workloads with a cgroup: does not wait for the
 * kernel to finish (workload_is_frozen()); -EOPNOTSUPP without a cgroup. Images: as container_pause() and
 * container_resume() do it (waits for the freezer, records Paused or Running in the container's record;
 * -EBUSY when quarantined). */
int workload_set_frozen(Workload *w, bool frozen);
/* 1 frozen, 0 not (or not completely yet), negative errno. */
int workload_is_frozen(Workload *w);
/* An owner's quarantine: frozen and kept. Images: recorded Quarantined(reason) as container_quarantine()
 * does; plain workloads: workload_set_frozen(). release thaws it back to running. */
int workload_quarantine(Workload *w, const char *reason, ForgeError *err);
int workload_release(Workload *w, ForgeError *err);
/* Images: the reason while the container is quarantined (by an owner, or by the policy once
 * workload_process() recorded it); NULL otherwise, and always for plain workloads (a policy's quarantine
 * ends them). */
const char *workload_get_quarantine_reason(const Workload *w) _pure_;
/* Images: begins a stop without waiting, as container_stop() does (records Stopping, SIGTERM to every
 * process, SIGKILL when quarantined, thaws); the owner kills what is left after its timeout
 * (workload_kill(SIGKILL)). -EOPNOTSUPP for plain workloads (workload_kill()). */
int workload_stop(Workload *w, ForgeError *err);

/* Moves the workload to a new policy generation: its identity is looked up by name in the new policy
 * (resolved again from its name when the policy has no such identity any more) and the supervisor
 * switches graph, identity and generation at once (supervisor_reload()). Returns 1 when the kernel
 * filter compiled from the new policy differs from the one the workload runs under (that part applies
 * only once it is restarted), 0 when it does not. */
int workload_set_graph(Workload *w, PolicyGraph *graph, uint64_t generation, ForgeError *err);
/* The same answer without the switch: what a reload checks for every workload before it swaps any. */
int workload_check_graph(Workload *w, PolicyGraph *graph, ForgeError *err);

/* ---- handing a workload over to a successor ---- */

typedef enum WorkloadFd {
        WORKLOAD_FD_LISTENER, /* the seccomp listener: without it every trapped call fails with ENOSYS */
        WORKLOAD_FD_PIDFD,    /* init (the first process) */
        WORKLOAD_FD_COMMAND,  /* plain: the command */
        WORKLOAD_FD_ROOT,     /* the root paths are resolved in */
        WORKLOAD_FD_PAGE,     /* plain: init's status page, where it leaves the command's exit status */
        WORKLOAD_FD_CGROUP,   /* its cgroup v2 directory, when it has one */
        WORKLOAD_FD_JOURNAL,  /* the supervisor's journal, with WorkloadConfig.journal */
        _WORKLOAD_FD_MAX,
        _WORKLOAD_FD_INVALID = -EINVAL,
} WorkloadFd;

/* "listener", "pidfd", "command", "root", "page", "cgroup", "journal". */
const char *workload_fd_to_string(WorkloadFd f) _const_;
WorkloadFd workload_fd_from_string(const char *s) _pure_;

/* The workload's own copy (owned by w; dup it to keep it), or -EBADF where it has none. */
int workload_get_handover_fd(const Workload *w, WorkloadFd f);

/* What a successor needs besides the fds; the strings are w's. */
typedef struct WorkloadState {
        const char *id;
        const char *name;          /* what identities match against (the command's name) */
        const char *identity;      /* its identity's name in the policy; NULL: "*" */
        const char *cgroup_path;   /* its cgroup (an image's v2 directory), or NULL */
        const char *container_id;  /* images: the container's record; NULL for plain commands */
        pid_t pid;                 /* init's host pid (the pidfd is what counts) */
        bool creds_calls_trapped;
        uint8_t filter_digest[32]; /* SHA-256 of the kernel filter's program */
} WorkloadState;

void workload_get_state(const Workload *w, WorkloadState *ret);

typedef struct WorkloadAdoptConfig {
        WorkloadState state;
        int fds[_WORKLOAD_FD_MAX]; /* taken over, also on failure; -1 where there is none. The listener,
                                    * the pidfd and the root are required. */
        PolicyGraph *graph;        /* the policy to decide with from now on (a reference is taken) */
        uint64_t generation;
        EventSink *sink;
        bool hosted;
        Observer *observer;        /* as WorkloadConfig's; it counts from the adoption on */
        const char *container_state_dir; /* images: the container store holding its record (NULL: default) */
} WorkloadAdoptConfig;

/* Rebuilds a running workload from what its previous owner handed over and recovers what that owner
 * left undecided (supervisor_recover(); ret_recovery optional). An image (state.container_id) is taken
 * over in its container record too (container_run_adopt: we become its owner). When the workload is
 * still our child (a re-exec), its exit status is exact. Otherwise its end shows as its pidfd turning
 * readable: a plain command's status comes from init's status page (a workload whose init was killed
 * reports that signal, SIGKILL when the page says nothing); an image's from its pidfd's exit
 * information once its new parent (the service manager, a subreaper) has reaped it (Linux 6.15;
 * workload_reap() says "not yet" for up to 2 s meanwhile), else it reports SIGKILL. */
int workload_adopt(const WorkloadAdoptConfig *c, Workload **ret, SupervisorRecovery *ret_recovery, ForgeError *err);

/* Exit status a CLI returns: the exit code, 128 + signal; FORGEONE_EXIT_QUARANTINED when quarantined. */
#define FORGEONE_EXIT_QUARANTINED 123
#define FORGEONE_EXIT_LAUNCH_FAILED 125
int workload_result_exit_status(const WorkloadResult *r) _pure_;
