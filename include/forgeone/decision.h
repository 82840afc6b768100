/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What a decided syscall looks like to everyone outside the supervisor: the
 * action taken and the record of one decision. The supervisor fills it, the
 * event sink (event-sink.h) carries it to its consumers (the CLI printer,
 * journald audit, the observer's cross-check). Plain data, no functions but
 * the action's name.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "forgeone/macro.h"
#include "forgeone/policy-graph.h"
#include "forgeone/policy.h"

typedef enum SupervisorAction {
        SUPERVISOR_ACTION_CONTINUE,   /* the kernel performs the call (registers-only decision) */
        SUPERVISOR_ACTION_EMULATE,    /* the supervisor performed it with the checked arguments */
        SUPERVISOR_ACTION_DENY,       /* failed with errno */
        SUPERVISOR_ACTION_QUARANTINE, /* failed with errno, and the workload is being stopped */
        _SUPERVISOR_ACTION_MAX,
        _SUPERVISOR_ACTION_INVALID = -EINVAL,
} SupervisorAction;

const char *supervisor_action_to_string(SupervisorAction a) _const_;
SupervisorAction supervisor_action_from_string(const char *s) _pure_;

/* One decided notification. Pointers are valid while the record that carries it lives. */
typedef struct SupervisorEvent {
        uint64_t id;          /* the notification's cookie */
        pid_t tid;            /* the calling task, in the supervisor's pid namespace */
        pid_t pid;            /* its thread group, or 0 when not looked up (registers-only decisions) */
        uint32_t arch;        /* AUDIT_ARCH_* */
        int nr;
        const char *syscall;  /* name, or NULL for a number unknown on that arch */
        uint64_t args[6];
        const char *path;     /* resolved path inside the workload's root, or NULL */
        const char *path2;    /* second path (rename, link targets), or NULL */
        unsigned access;      /* PolicyAccess mask requested on path */
        const PolicySockaddr *addr; /* decoded address, or NULL */
        PolicyVerdict verdict;
        const char *rule_id;  /* rule, "default", "builtin", ... or "supervisor" when the supervisor
                               * itself refused (unreadable memory, not emulable safely) */
        const char *reason;   /* why the supervisor overrode the policy or what it explains, else NULL */
        SupervisorAction action;
        int error;            /* errno the call returned (0: success) */
        int64_t value;        /* return value on success (emulated calls; 0 for CONTINUE) */
        uint64_t generation;  /* policy generation that decided */
        /* Set by the report (supervisor-report.c) from the generation's policy: */
        const char *identity;      /* the policy identity the workload runs as ("*" for none) */
        const char *policy_digest; /* "sha256:..." of that generation's policy text, or NULL */
        int trust;            /* the workload's trust after this decision */
        bool target_gone;     /* the target was interrupted or died before the reply (ENOENT) */
} SupervisorEvent;
