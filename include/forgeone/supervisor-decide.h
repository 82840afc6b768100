/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the supervisor does with one trapped call, as a pure function of the
 * decoded call, the policy generation and the workload's trust score: no
 * syscalls, no state, the same answer every time. The supervisor's act step
 * then carries the decision out (supervisor-act.c); this is where the rules
 * that map a policy verdict to an action live, and they are unit-tested
 * without root (tests/test-supervisor-decide.c).
 *
 * The rules:
 *  - A workload being quarantined gets EPERM for everything.
 *  - Arguments that could not be read fail the call as the kernel would
 *    (EFAULT, ENAMETOOLONG, ELOOP, ...), or with EPERM for the supervisor's
 *    own limits (ENOMEM, EIO).
 *  - allow/emulate decided on registers alone continue in the kernel, unless
 *    the verdict is emulate and the supervisor can perform the call.
 *  - allow/emulate decided on memory (a path, an address) or on a file
 *    taken from the descriptor table is performed by the supervisor with
 *    the checked arguments when it can (the only way a racing thread cannot
 *    change them after the check); otherwise it continues only if nothing
 *    anyone in the workload can do changes what the kernel will find when
 *    it looks again (Decision.requires_stable_memory: the act step checks
 *    memory, cwd and fd-table sharing and every name on the path, see
 *    supervisor-continue.c), else EPERM.
 *  - deny fails with the rule's errno (EPERM by default) and costs trust
 *    when a rule or the default made it; builtin denials do not. A
 *    credential call that changes nothing is no privilege change: it
 *    continues whatever a deny says (POSIX_SPAWN_RESETIDS' setresuid(-1,
 *    getuid(), -1)), and needs stable memory when setgroups' list or
 *    capset's data decided that.
 *  - quarantine fails with its errno and stops the workload.
 */

#include <stdbool.h>
#include <stdint.h>

#include "forgeone/decision.h"
#include "forgeone/policy-graph.h"
#include "forgeone/policy.h"

typedef struct DecideCall {
        int identity;
        uint32_t arch;
        int nr;
        const char *name;          /* NULL: a number unknown on that arch */
        uint64_t args[6];
        /* Memory arguments, when decoded: */
        bool decoded;
        const char *path, *path2;  /* resolved inside the root */
        unsigned access, access2;
        const PolicySockaddr *addr;
        int decode_error;          /* positive errno: the arguments could not be read */
        /* What the supervisor can do with this call: */
        bool emulable;             /* perform it itself (known after decoding for openat2's O_PATH) */
        bool quarantined;          /* the workload is already being stopped */
        /* Credential calls (setuid and friends, setgroups, capset): the call would leave every id, group
         * and capability of the caller as it is (from memory it read, for the last two). */
        bool creds_noop;
        bool creds_noop_from_memory;
} DecideCall;

typedef struct Decision {
        SupervisorAction action;
        PolicyVerdict verdict;
        int error;                  /* errno for DENY and QUARANTINE */
        const char *rule_id;        /* static or the graph's: valid while the graph lives */
        const char *reason;         /* static text when the supervisor overrode or explains */
        bool penalize;              /* a denial by a rule or the default: costs trust */
        bool needs_decode;          /* EMULATE, but the arguments are not decoded yet */
        bool requires_stable_memory; /* CONTINUE only if what was read cannot change */
} Decision;

/* 0, or a negative errno when the graph cannot evaluate the call (the caller denies it). */
int supervisor_decide(const PolicyGraph *g, const DecideCall *c, int trust, Decision *ret);
