/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The observer: an independent in-kernel witness of every supervised workload's syscalls
 * (forgeone.observer(7)). The kernel side (bpf/observer.bpf.c) counts each workload's calls per
 * syscall on the raw syscall tracepoints, tells the calls its kernel filter failed from the ones the
 * supervisor answered, and hands the supervisor-answered ones' exit values to user space; this module
 * loads it, keeps its maps pinned, registers workloads and turns what it sees into counts, cross-checks,
 * trust and audit records.
 *
 *   observer_new(&config, &o, &why)    loads the object, pins its maps in /sys/fs/bpf/forgeone/NAME/
 *   observer_attach(o, sink)           the sink consumer: decisions are matched with the exits seen;
 *                                      on every TICK the kernel filter's denials cost trust and go to
 *                                      the sink's aggregates (the audit writes them as exact counts)
 *   workload_start(.observer = o)      registers the workload before its command runs (workload.h);
 *                                      workload_free() removes it
 *   observer_snapshot(o, ...)          what top and observe show
 *   observer_free(o)                   detaches, unpins, removes the directory
 *
 * Contract:
 *  - Like the rest of the library: no logging, no signals, no waiting, no threads of its own. The
 *    consumer runs on the sink's draining thread; the other calls may come from any one thread, a
 *    mutex orders them with the consumer.
 *  - The tracepoint programs are attached only while at least one workload is registered: with none,
 *    the host's syscalls pay nothing at all.
 *  - Which tasks: a workload is keyed by its pid namespace (every workload has one of its own, and no
 *    task can leave it); a task is counted from the moment it runs under a seccomp filter.
 *  - Maps are pinned in PIN_ROOT/NAME-PID while the observer lives and removed by observer_free() and
 *    when pinning fails half-way (the observer then works unpinned and says why); directories that
 *    owners which died left behind are removed. PIN_ROOT's parent must be a BPF file system.
 *  - Without BPF (built with -Dbpf=disabled, no CAP_BPF, no BTF) observer_new() fails with a reason and
 *    everything else works without it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "forgeone/event-sink.h"
#include "forgeone/macro.h"
#include "forgeone/policy-compile.h"
#include "forgeone/supervisor.h"

#define OBSERVER_PIN_ROOT "/sys/fs/bpf/forgeone"
#define OBSERVER_REASON_MAX 256

typedef struct Observer Observer;

typedef struct ObserverConfig {
        const char *name;     /* the pin directory's name is NAME-PID; NULL: "run" */
        const char *pin_root; /* NULL: OBSERVER_PIN_ROOT */
        unsigned sample_every; /* a sampled event every so many calls per CPU; 0: none */
} ObserverConfig;

/* why (optional, OBSERVER_REASON_MAX) says why the observer is off on failure: "built without BPF",
 * "needs CAP_BPF and CAP_PERFMON (run as root)", the kernel's refusal, ... */
int observer_new(const ObserverConfig *c, Observer **ret, char *why);
/* Detaches from the sink (before the sink is freed), detaches the programs, unpins. */
Observer *observer_free(Observer *o);
DEFINE_TRIVIAL_CLEANUP_FUNC(Observer *, observer_free);

/* Where its maps are pinned (a directory), or NULL; then why not. */
const char *observer_get_pin_dir(const Observer *o) _pure_;
const char *observer_get_pin_error(const Observer *o) _pure_;

/* The actions the observer needs every record of (1u << SupervisorAction): the answered calls. */
#define OBSERVER_RECORDED_ACTIONS                                                                          \
        ((1u << SUPERVISOR_ACTION_DENY) | (1u << SUPERVISOR_ACTION_EMULATE) | (1u << SUPERVISOR_ACTION_QUARANTINE))

/* Sets what the sink records (OBSERVER_RECORDED_ACTIONS as records, exempt from the budget, so each can be
 * matched) and registers the consumer. Before the sink's first drain; a consumer attached later that sets a
 * budget again (the audit) must exempt them again. The owner makes sure the sink ticks
 * (event_sink_set_tick()), as the audit does. */
int observer_attach(Observer *o, EventSink *s);

typedef struct ObserverWorkload {
        const char *id;
        pid_t pid;                 /* a process of the workload: its pid namespace is the key */
        bool skip_init;            /* pid 1 of that namespace is our init, not the workload's */
        const PolicyFilter *filter; /* the kernel filter it runs under (copied) */
        Supervisor *supervisor;    /* borrowed until observer_remove_workload(): trust, counts; or NULL */
        int cgroup_fd;             /* its cgroup v2 directory (shown), or -1 */
        /* What the kernel filter was compiled from, for the audit's aggregates of its denials: */
        const char *identity;
        const char *policy_digest;
        uint64_t generation;
} ObserverWorkload;

/* Registers a workload; attaches the programs when it is the first. -EEXIST for an id or pid namespace
 * already registered, -ENOSPC when every slot is taken. */
int observer_add_workload(Observer *o, const ObserverWorkload *w);
/* Takes its last counts (its kernel denials reach the sink), forgets it; detaches the programs when it
 * was the last. No-op for an unknown id. */
void observer_remove_workload(Observer *o, const char *id);

/* Now rather than at the next tick: the exits in the ring buffer, matching, the kernel's denials (trust,
 * the sink's aggregates). On the draining thread, or while nobody drains. */
void observer_sync(Observer *o);

/* ---- what it saw ---- */

typedef struct ObserverSyscall {
        uint32_t nr;   /* native number, or the i386 one with compat */
        bool compat;
        uint64_t calls, errors, kernel_denied, answered;
} ObserverSyscall;

typedef struct ObserverWorkloadInfo {
        char id[64];
        char owner[64]; /* the pin directory's name */
        uint32_t pidns;
        uint64_t cgroup_id;
        int trust;
        uint64_t started_ns; /* CLOCK_MONOTONIC */
        /* Sums over its syscalls: */
        uint64_t calls, errors, kernel_denied, answered;
        uint64_t other_skipped, interrupted, unclassified, ring_lost;
        /* The supervisor's exact counts, by action (as the loader last copied them): */
        uint64_t supervisor[_SUPERVISOR_ACTION_MAX];
        /* Decisions the observer matched with what the kernel returned: */
        uint64_t matched, mismatched;
        ObserverSyscall *syscalls; /* with syscalls only: by number */
        size_t n_syscalls;
} ObserverWorkloadInfo;

typedef struct ObserverSnapshot {
        uint64_t time_ns; /* CLOCK_MONOTONIC when taken */
        ObserverWorkloadInfo *workloads;
        size_t n_workloads;
} ObserverSnapshot;

void observer_snapshot_done(ObserverSnapshot *s);
/* This observer's workloads. */
int observer_snapshot(Observer *o, bool syscalls, ObserverSnapshot *ret);
/* Every owner's, from the pinned maps under root (NULL: OBSERVER_PIN_ROOT): what `top --local` shows.
 * -ENOENT when there are none. */
int observer_snapshot_pinned(const char *root, bool syscalls, ObserverSnapshot *ret);
const ObserverWorkloadInfo *observer_snapshot_find(const ObserverSnapshot *s, const char *id) _pure_;

typedef struct ObserverCounts {
        uint64_t workloads;     /* registered now */
        uint64_t matched;       /* decisions matched with their exit */
        uint64_t mismatched;    /* integrity alerts: the kernel returned something else than decided */
        uint64_t unmatched_decisions; /* no exit seen in time (the task died, the ring was full) */
        uint64_t unmatched_exits;     /* no decision record seen in time (the sink dropped it) */
        uint64_t unverifiable;  /* pairs not checked because a record or an exit was lost around them */
        uint64_t kernel_denied; /* kernel filter denials taken (to trust and the sink) */
} ObserverCounts;

void observer_get_counts(Observer *o, ObserverCounts *ret);
