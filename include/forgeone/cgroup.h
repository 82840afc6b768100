/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One cgroup per container, on either layout:
 *   unified: ROOT/forgeone/<id> on cgroup v2 (memory, pids, cpu controllers enabled in ROOT and
 *            ROOT/forgeone; freeze via cgroup.freeze, stop via cgroup.kill)
 *   hybrid:  v1 controllers ROOT/{memory,pids,cpu,cpuacct,freezer}/forgeone/<id> for limits and the
 *            freezer, plus ROOT/unified/forgeone/<id> on v2 for cgroup.kill and grouping
 * ROOT is /sys/fs/cgroup; tests point it at a plain directory (the layout is then given, not
 * detected) to check the files written. The layout is detected once, by statfs() magic.
 * Library code: no logging; errors are negative errno, and the file that failed is reported via
 * the optional ret_failed_file parameters where users need it.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "forgeone/macro.h"

#define CGROUP_DEFAULT_ROOT "/sys/fs/cgroup"
#define CGROUP_PARENT "forgeone"

typedef enum CgroupLayout {
        CGROUP_LAYOUT_UNIFIED,
        CGROUP_LAYOUT_HYBRID,
        _CGROUP_LAYOUT_MAX,
        _CGROUP_LAYOUT_INVALID = -EINVAL,
} CgroupLayout;

const char *cgroup_layout_to_string(CgroupLayout l) _const_;
CgroupLayout cgroup_layout_from_string(const char *s) _pure_;

/* Detects the layout under root (NULL: /sys/fs/cgroup). -EOPNOTSUPP for a pure v1 host (no v2 at all). */
int cgroup_detect_layout(const char *root, CgroupLayout *ret);

typedef struct CgroupLimits {
        uint64_t memory_bytes; /* 0: unlimited */
        uint64_t pids;         /* 0: unlimited */
        uint64_t cpu_millis;   /* 0: no quota; 500 = half a CPU */
        unsigned cpu_weight;   /* 1..10000; 0: leave the default */
} CgroupLimits;

#define CGROUP_CPU_PERIOD_USEC 100000u

/* "50000 100000" for 500 millicpus; "max 100000" for 0. */
void cgroup_format_cpu_max(uint64_t cpu_millis, char buf[static 48]);

typedef struct Cgroup Cgroup;

/* Describes the cgroup of container id; touches nothing. root NULL: /sys/fs/cgroup. */
int cgroup_new(const char *root, CgroupLayout layout, const char *id, Cgroup **ret);
Cgroup *cgroup_free(Cgroup *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Cgroup *, cgroup_free);

CgroupLayout cgroup_get_layout(const Cgroup *c) _pure_;
const char *cgroup_get_root(const Cgroup *c) _pure_;
/* "forgeone/<id>" */
const char *cgroup_get_relative(const Cgroup *c) _pure_;
/* Directory holding "controller"'s files: the v2 dir for any controller on unified; on hybrid the v1
 * dir for "memory", "pids", "cpu", "cpuacct", "freezer" and the v2 dir for "unified". */
int cgroup_controller_path(const Cgroup *c, const char *controller, char **ret);

/* Creates the directories (and on unified enables the controllers on the way). -EEXIST if taken. */
int cgroup_create(Cgroup *c);
/* Writes the limits; swap is turned off where a memory limit is set. */
int cgroup_apply_limits(Cgroup *c, const CgroupLimits *l, char **ret_failed_file);
/* Sets the cpu weight alone (v2 cpu.weight, v1 cpu.shares), e.g. when the workload's trust changed. */
int cgroup_set_cpu_weight(Cgroup *c, unsigned weight);
/* Moves a process into every hierarchy of the cgroup; with skip_unified, into the v1 hierarchies only
 * (for a process cloned with CLONE_INTO_CGROUP into the v2 one). */
int cgroup_attach(Cgroup *c, pid_t pid, bool skip_unified);
/* Hybrid hosts only (v1 cpu and cpuacct allow single threads): moves thread tid into this cgroup's cpu
 * group, so that it is scheduled in the same group as the workload it serves. -EOPNOTSUPP on cgroup v2
 * (a thread of a domain cgroup cannot move alone). */
int cgroup_attach_thread_cpu(Cgroup *c, pid_t tid);
/* Moves thread tid back to the cpu group it was in before (ret_path of cgroup_thread_cpu_path()). */
int cgroup_thread_cpu_path(const Cgroup *c, pid_t tid, char **ret_path);
int cgroup_move_thread_cpu_to(const Cgroup *c, const char *path, pid_t tid);
/* O_DIRECTORY fd of the cgroup's v2 directory, for CLONE_INTO_CGROUP and the supervisor. */
int cgroup_open_unified(const Cgroup *c);

/* Freezes or thaws, and waits (up to timeout_usec) until the kernel reports it done. -ETIMEDOUT. */
int cgroup_set_frozen(Cgroup *c, bool frozen, uint64_t timeout_usec);
/* Whether the freezer reports the cgroup frozen. */
int cgroup_is_frozen(Cgroup *c);

/* Sends sig to every process of the cgroup; returns how many were signalled. */
int cgroup_signal_all(Cgroup *c, int sig);
/* Kills every process (cgroup.kill where available) and thaws so frozen ones die; waits up to
 * timeout_usec for the cgroup to be empty. */
int cgroup_kill_all(Cgroup *c, uint64_t timeout_usec);
/* 1 if no process is left, 0 if some are. */
int cgroup_is_empty(Cgroup *c);
/* Number of OOM kills recorded in the cgroup (memory.events oom_kill / memory.oom_control oom_kill). */
int cgroup_oom_kills(Cgroup *c, uint64_t *ret);
/* Reads one attribute file of a controller, trailing newline removed. */
int cgroup_read_attribute(const Cgroup *c, const char *controller, const char *file, char **ret);

/* Removes the directories (processes must be gone; retries briefly while the kernel still reports
 * them busy). Idempotent. The shared forgeone/ parent stays: removing it would race with creation. */
int cgroup_remove(Cgroup *c);
