/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A container's lifecycle as data: the states, the transition table, and
 * the record that `forgeonectl ps/inspect` show (state.json). Pure: no I/O
 * here (container-store.h persists records and appends the events).
 *
 *   Creating -> Running | Failed | Stopping
 *   Running -> Paused | Quarantined | Stopping | Stopped | Failed
 *   Paused -> Running (resume) | Quarantined | Stopping | Stopped | Failed
 *   Quarantined -> Running (release) | Stopping | Stopped | Failed
 *   Stopping -> Stopped | Failed
 *   Stopped, Failed: final.
 *
 * A refused transition returns -EINVAL when it can never happen (out of a
 * final state, back to Creating) and -EBUSY when the container is in a state
 * that excludes it for now (pausing while Creating or Stopping, pausing a
 * quarantined container, pausing what is already paused); the ret_why text
 * says which, in words a user can act on.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "forgeone/macro.h"
#include "forgeone/scheduler.h"

typedef enum ContainerState {
        CONTAINER_CREATING,
        CONTAINER_RUNNING,
        CONTAINER_PAUSED,
        CONTAINER_QUARANTINED,
        CONTAINER_STOPPING,
        CONTAINER_STOPPED,
        CONTAINER_FAILED,
        _CONTAINER_STATE_MAX,
        _CONTAINER_STATE_INVALID = -EINVAL,
} ContainerState;

const char *container_state_to_string(ContainerState s) _const_;
ContainerState container_state_from_string(const char *s) _pure_;
/* Stopped or Failed: nothing runs and nothing can happen any more. */
bool container_state_is_final(ContainerState s) _const_;

/* 0 if from -> to is allowed; else -EINVAL or -EBUSY (see above) and a static explanation. */
int container_state_check_transition(ContainerState from, ContainerState to, const char **ret_why);

typedef struct ContainerTransition {
        ContainerState from, to;
        char *reason;         /* Quarantined/Failed reason, or the cause ("pause requested"), may be NULL */
        int exit_code;        /* Stopped/Failed: exit code, or -1 */
        int exit_signal;      /* Stopped/Failed: terminating signal, or 0 */
        uint64_t realtime_usec;
} ContainerTransition;

typedef struct ContainerRecord {
        char *id;   /* 12 lowercase hex digits */
        char *name; /* unique among the containers in the store */
        ContainerState state;
        char *reason;         /* why Quarantined or Failed; NULL otherwise */
        int exit_code;        /* -1 unless Stopped/Failed after the init process exited */
        int exit_signal;

        pid_t pid;            /* container init as seen from the host; 0 before it exists */
        pid_t owner_pid;      /* the forgeonectl that runs it */
        uint64_t owner_start; /* its start time (clock ticks after boot, /proc/PID/stat field 22) */

        char *image;          /* "DIR[:TAG]" as given */
        char *image_digest;   /* manifest digest */
        char *policy;         /* policy file */
        char **command;       /* what was executed (strv) */
        char **labels;        /* "key=value" (strv) */
        char *hostname;
        char *network;        /* "none" or "host" */
        char *rootfs;         /* host path of the root filesystem's state directory */
        uid_t uid_base;       /* container uid 0 is host uid_base; uid_count ids mapped */
        uint32_t uid_count;

        SchedulerPriority priority;
        int trust, trust_max;
        uint64_t memory_bytes; /* limit and reservation */
        uint64_t pids;
        uint64_t cpu_millis;   /* 0: no quota */
        unsigned cpu_weight;
        char *cgroup_layout;   /* "unified" or "hybrid" */
        char *cgroup;          /* relative cgroup path, e.g. "forgeone/<id>" */
        char *cgroup_root;     /* "/sys/fs/cgroup" unless configured otherwise */

        uint64_t seq;          /* arrival order for the scheduler */
        uint64_t created_usec; /* CLOCK_REALTIME */
        ContainerTransition *transitions;
        size_t n_transitions;
} ContainerRecord;

ContainerRecord *container_record_new(void);
ContainerRecord *container_record_free(ContainerRecord *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(ContainerRecord *, container_record_free);

/*
 * Checks and applies a transition at now_usec: updates state, reason, exit status and appends to
 * r->transitions. On refusal r is unchanged. ret_event (optional) receives a copy of the new entry
 * that stays valid until r is freed.
 */
int container_record_transition(ContainerRecord *r, ContainerState to, const char *reason, int exit_code,
                                int exit_signal, uint64_t now_usec, const ContainerTransition **ret_event);

/* "running", "quarantined (trust below threshold)", "stopped (exit 0)", "failed (oom)". */
int container_record_status_string(const ContainerRecord *r, char **ret);

/* JSON text of state.json (pretty or compact), and back. Unknown fields are ignored on reading. */
int container_record_to_json(const ContainerRecord *r, bool pretty, char **ret);
int container_record_from_json(const char *text, ContainerRecord **ret);
/* One line of the events file for transition t of record r (compact JSON, no newline). */
int container_transition_to_json(const ContainerRecord *r, const ContainerTransition *t, char **ret);

/* The events.jsonl line recording that r's record was removed (forgeonectl rm/prune): "event": "removed",
 * the state it ended in, reason, time, id and name (compact JSON, no newline). */
int container_removal_to_json(const ContainerRecord *r, const char *reason, uint64_t realtime_usec,
                              char **ret);

/* Validates a container name: 1..63 of [A-Za-z0-9_.-], starting with an alphanumeric. */
bool container_name_is_valid(const char *name) _pure_;
/* 12 lowercase hex digits. */
bool container_id_is_valid(const char *id) _pure_;
