/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The policy graph: the in-memory evaluator that decides trapped syscalls.
 *
 *   (identity, trust, arch, syscall nr, decoded args) -> (verdict, errno, rule, reason)
 *
 * Built once per policy generation and then read-only, so any number of
 * threads may evaluate concurrently; reload swaps in a new graph and drops
 * the old one when its last in-flight notification has finished (refcount).
 * Lookups are indexed by syscall, path rules sit in a component trie and
 * network rules in a prefix trie: the cost does not grow with the number
 * of rules in the common cases. No allocation, no syscalls on the eval path.
 */

#include <stdbool.h>
#include <stdint.h>

#include "forgeone/policy.h"

typedef struct PolicyGraph PolicyGraph;

/* Takes ownership of the policy (freed with the last reference). */
int policy_graph_new(Policy *policy, PolicyGraph **ret);
PolicyGraph *policy_graph_ref(PolicyGraph *g);
PolicyGraph *policy_graph_unref(PolicyGraph *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(PolicyGraph *, policy_graph_unref);

const Policy *policy_graph_policy(const PolicyGraph *g) _pure_;

/* A decoded socket address. */
typedef struct PolicySockaddr {
        int family;            /* AF_INET, AF_INET6, AF_UNIX; POLICY_FAMILY_CONNECTED for a send without
                                * an address of its own */
        uint8_t addr[16];      /* network byte order */
        uint16_t port;         /* host byte order */
        int protocol;          /* IPPROTO_TCP, IPPROTO_UDP, or 0 when unknown */
        const char *unix_path; /* AF_UNIX: path, or "@name" for abstract */
} PolicySockaddr;

typedef struct PolicyQuery {
        int identity;     /* from policy_identity_resolve(), or POLICY_IDENTITY_ANY */
        int trust;        /* the workload's current score */
        uint32_t arch;    /* AUDIT_ARCH_* from the notification */
        int nr;           /* syscall number on that arch */
        uint64_t args[6];
        const char *path; /* the object path, absolute and fully resolved inside the
                           * workload's root; NULL when the call has none */
        unsigned access;  /* PolicyAccess mask requested on path */
        const PolicySockaddr *addr; /* decoded address, or NULL */
} PolicyQuery;

typedef enum PolicyReason {
        POLICY_REASON_RULE,            /* a rule matched and decided */
        POLICY_REASON_DEFAULT,         /* no rule matched: the policy default */
        POLICY_REASON_BAD_ARCH,        /* arch not in the policy's architectures */
        POLICY_REASON_UNKNOWN_SYSCALL, /* number with no name on that arch */
        POLICY_REASON_BUILTIN,         /* seccomp(SET_MODE_FILTER, NEW_LISTENER): always EPERM */
        _POLICY_REASON_MAX,
        _POLICY_REASON_INVALID = -EINVAL,
} PolicyReason;

const char *policy_reason_to_string(PolicyReason r) _const_;

typedef struct PolicyDecision {
        PolicyVerdict verdict;
        int errno_value;           /* DENY/QUARANTINE (and the default): the call's errno */
        const PolicyRule *rule;    /* NULL when not decided by a rule */
        const char *rule_id;       /* rule->id, or "default", "bad-arch", "unknown-syscall", "builtin" */
        PolicyReason reason;
        const PolicyResource *resource; /* the resource that matched, or NULL */
        /* The highest-precedence rule that would have matched but for its
         * min_trust, so the caller can say "needed trust 50, had 30". Only
         * set when that rule would have outranked the decision. */
        const PolicyRule *trust_blocked;
        /* The decision read memory contents (path or address): the caller
         * must emulate or deny, never CONTINUE (TOCTOU). */
        bool used_memory;
} PolicyDecision;

/* BAD_ARCH decisions are deny/ENOSYS: the kernel filter kills the process
 * for such calls, and so should a caller that ever sees one. -EINVAL for an
 * identity out of range. */
int policy_graph_eval(const PolicyGraph *g, const PolicyQuery *q, PolicyDecision *ret);

/* What the supervisor must decode before evaluating this syscall. */
typedef enum PolicyNeed {
        POLICY_NEED_PATH  = 1u << 0, /* some rule of this syscall has a path resource */
        POLICY_NEED_ADDR  = 1u << 1, /* ... a network resource */
        POLICY_NEED_TRUST = 1u << 2, /* ... a min_trust */
} PolicyNeed;

unsigned policy_graph_needs(const PolicyGraph *g, uint32_t arch, int nr) _pure_;

/* True when the policy allows (or emulates) this syscall with this access for the identity at this trust
 * whatever path it names: no deny or quarantine rule could match it on any path, and a rule without a
 * resource or with the root's whole-tree pattern granting that access does. Then no change to what a path
 * leads to can change the decision (the supervisor may let the kernel look the path up again, see
 * forgeonectl(1)). */
bool policy_graph_allows_any_path(const PolicyGraph *g, int identity, int trust, uint32_t arch, int nr,
                                  unsigned access) _pure_;

/* One line, human readable: "deny (EACCES) by rule deny-shadow: /etc/shadow matches
 * resource shadow [read]", "deny (EPERM) by default: no rule for openat matched
 * /srv/x [write]", "...; rule etc-read needs trust >= 50, workload has 30".
 * Workload-controlled bytes are escaped. Writes into buf (truncating), returns buf. */
char *policy_decision_explain(const PolicyGraph *g, const PolicyQuery *q, const PolicyDecision *d, char *buf,
                              size_t size);
