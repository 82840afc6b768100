/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * forgeoned's pure helpers (no syscalls, no bus), unit-tested in
 * tests/test-daemon-util.c: workload ids, the names of the fds kept in
 * systemd's fd store, the records persisted under the state directory,
 * the workload states the API reports, and the rate limit of
 * PropertiesChanged.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "forgeone/macro.h"
#include "forgeone/workload.h"

/* [A-Za-z0-9_]{1,32}: usable as a D-Bus object path component and a file name. */
bool daemon_id_valid(const char *id) _pure_;

/* The fd store names a workload's fds "<id>.<kind>" (kind: workload_fd_to_string()). */
int daemon_fdname_format(const char *id, WorkloadFd kind, char *buf, size_t size);
/* -EINVAL for a name that is not a workload fd's. ret_id: at least 33 bytes. */
int daemon_fdname_parse(const char *name, char *ret_id, size_t id_size, WorkloadFd *ret_kind);
/* Joins names with ':' for LISTEN_FDNAMES; -EINVAL for a name that holds ':' or is empty. */
int daemon_fdnames_join(char *const *names, size_t n, char **ret);

/* $FORGEONED_HANDOVER, how forgeoned hands its fds to itself across a re-exec without moving them (its
 * supervisors' threads use them until the exec): "FD:NAME FD:NAME ...". */
int daemon_handover_format(const int *fds, char *const *names, size_t n, char **ret);
/* Appends what s names to fds/names (n entries so far; both arrays grown, names NULL-terminated). -EINVAL for a
 * malformed entry or an fd below 3. */
int daemon_handover_parse(const char *s, int **fds, char ***names, size_t *n);

typedef enum ManagedState {
        MANAGED_RUNNING,
        MANAGED_PAUSED,
        MANAGED_QUARANTINED,
        MANAGED_STOPPING,
        MANAGED_EXITED,
        _MANAGED_STATE_MAX,
        _MANAGED_STATE_INVALID = -EINVAL,
} ManagedState;

/* "running", "paused", "quarantined", "stopping", "exited". */
const char *managed_state_to_string(ManagedState s) _const_;
ManagedState managed_state_from_string(const char *s) _pure_;

/* What the state directory keeps of a workload (workloads/<id>.json), besides its fds. */
typedef struct WorkloadRecord {
        char *id;
        char *label;          /* the name the caller gave, or NULL */
        char **argv;
        char *name;           /* WorkloadState.name */
        char *identity;       /* WorkloadState.identity; NULL: "*" */
        char *cgroup_path;
        pid_t pid;
        bool creds_calls_trapped;
        uint8_t filter_digest[32];
        ManagedState state;
        char *reason;         /* why it was quarantined, or NULL */
        uint64_t started_usec; /* CLOCK_REALTIME */
        bool restart_to_apply;
        char *container_id;   /* images: the container's record (WorkloadState.container_id), else NULL */
        char *image;          /* images: the reference it was run from */
        uint64_t stop_timeout_usec; /* its own stop timeout, or 0: the daemon's */
} WorkloadRecord;

void workload_record_done(WorkloadRecord *r);
int workload_record_to_json(const WorkloadRecord *r, char **ret);
/* -EBADMSG for text that is not a record. */
int workload_record_from_json(const char *text, WorkloadRecord *ret);

/* What the state directory keeps of the daemon (daemon.json); the active policy's text is policy.json. */
typedef struct DaemonRecord {
        uint64_t generation;
        uint64_t next_id;
        char *policy_file;    /* where a reload without a file reads from */
        char *policy_source;  /* where the active policy (policy.json) came from */
        uint64_t retired[_SUPERVISOR_ACTION_MAX]; /* decisions of workloads that have ended */
} DaemonRecord;

void daemon_record_done(DaemonRecord *r);
int daemon_record_to_json(const DaemonRecord *r, char **ret);
int daemon_record_from_json(const char *text, DaemonRecord *ret);

/* At most one event per interval: when the next may be emitted, given the last one and now. */
static inline uint64_t ratelimit_next(uint64_t last_usec, uint64_t interval_usec, uint64_t now_usec) {
        return last_usec == 0 || now_usec >= last_usec + interval_usec ? now_usec : last_usec + interval_usec;
}

/* "sha256:<hex>" of a buffer into buf (at least 72 bytes). */
char *daemon_digest_string(const void *p, size_t n, char *buf, size_t size);
