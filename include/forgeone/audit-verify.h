/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Checking the audit trail (forgeone.audit(7), VERIFICATION): entries are
 * added in the order the journal holds them (audit-journal.h); finishing
 * recomputes each run's chain (audit-record.h) and says
 *
 *  - which record is the first bad one: missing (a gap in FORGEONE_SEQ no
 *    degraded record explains), out of order, duplicated, or altered (its
 *    fields do not give its FORGEONE_CHAIN; or a signed checkpoint names
 *    another head than the records give);
 *  - what each run's chain looks like: its records, whether it started and
 *    stopped cleanly, its checkpoints (signed and verified with the public
 *    key, PCR-anchored and found in the measurement log), and whether its
 *    start names the head the previous run left.
 *
 * A chain proves order and completeness against anyone who cannot also
 * recompute it; records rewritten together with every chain value after
 * them are found only by a signed (or PCR-anchored) checkpoint after them.
 * Pure computation: no I/O but the optional measurement log.
 */

#include <stdbool.h>
#include <stdint.h>

#include "forgeone/audit-record.h"
#include "forgeone/macro.h"

typedef enum AuditProblemKind {
        AUDIT_PROBLEM_MALFORMED,  /* not a ForgeOne record: no run, sequence number or chain */
        AUDIT_PROBLEM_MISSING,    /* records of a run are not there (deleted) */
        AUDIT_PROBLEM_REORDERED,  /* a record is not where its sequence number puts it */
        AUDIT_PROBLEM_DUPLICATE,  /* the same sequence number twice */
        AUDIT_PROBLEM_ALTERED,    /* its fields do not give its chain value */
        AUDIT_PROBLEM_CHECKPOINT, /* a checkpoint names another head than the records give */
        AUDIT_PROBLEM_SIGNATURE,  /* a checkpoint's signature does not verify */
        AUDIT_PROBLEM_ANCHOR,     /* a PCR-anchored checkpoint disagrees with the measurement log */
        AUDIT_PROBLEM_LINK,       /* a run's start names a head the previous run's records do not have */
        _AUDIT_PROBLEM_KIND_MAX,
        _AUDIT_PROBLEM_KIND_INVALID = -EINVAL,
} AuditProblemKind;

const char *audit_problem_kind_to_string(AuditProblemKind k) _const_;

typedef struct AuditProblem {
        AuditProblemKind kind;
        char run[33];
        uint64_t seq;           /* the record named */
        uint64_t realtime_usec; /* of the entry at fault, 0 when it is missing */
        char *cursor;           /* of the entry at fault (or the one after a gap) */
        char *message;
} AuditProblem;

typedef enum AuditLink {
        AUDIT_LINK_NONE,         /* the run's start names no earlier head (the first run) */
        AUDIT_LINK_OK,           /* it names a record of an earlier run, and that record has that chain */
        AUDIT_LINK_NOT_IN_RANGE, /* it names a run whose record is not among those read */
        AUDIT_LINK_BROKEN,       /* the named record has another chain value (a problem) */
        AUDIT_LINK_UNKNOWN,      /* the run's start record was not read (--since) */
        _AUDIT_LINK_MAX,
} AuditLink;

typedef struct AuditRunState {
        char run[33];
        uint64_t first_seq, last_seq, n_records;
        uint64_t first_usec, last_usec;
        bool started;          /* its start record (seq 1) was read */
        bool stopped;          /* its stop record was read */
        bool final_checkpoint; /* a checkpoint covers its last record */
        uint64_t checkpoints, signed_verified, pcr_verified;
        uint64_t last_checkpoint_seq;
        AuditLink link;
        char prev_run[33];
        uint64_t prev_seq;
        uint64_t in_fallback; /* records a degraded record says are in the fallback file, not read */
} AuditRunState;

typedef struct AuditVerifier AuditVerifier;

typedef struct AuditVerifyOptions {
        AuditKey *key;           /* the public key checkpoints are checked with; NULL: not checked */
        const char *measure_log; /* trust-log.h event log for PCR-anchored checkpoints; NULL: not checked */
        bool partial; /* only records from some time on were read (--since): a run may begin earlier */
} AuditVerifyOptions;

int audit_verifier_new(const AuditVerifyOptions *o, AuditVerifier **ret);
AuditVerifier *audit_verifier_free(AuditVerifier *v);
DEFINE_TRIVIAL_CLEANUP_FUNC(AuditVerifier *, audit_verifier_free);

/* In the order read. */
int audit_verifier_add(AuditVerifier *v, const AuditEntry *e);

typedef struct AuditVerifyResult {
        AuditProblem
                *problems; /* in the order of the records they name; problems[0] is the first bad record */
        size_t n_problems;
        AuditRunState *runs; /* in the order their first record was read */
        size_t n_runs;
        uint64_t n_entries;
        bool signatures_unchecked; /* signed checkpoints were read but no key was given */
} AuditVerifyResult;

/* Computes the result (owned by the verifier, valid until it is freed). */
int audit_verifier_finish(AuditVerifier *v, const AuditVerifyResult **ret);

/* ---- summary: what each workload was allowed and denied ---- */

typedef struct AuditSummaryRow {
        char *workload;
        char *key;      /* the rule, or the path prefix */
        char *verdict;  /* allow, emulate, deny, quarantine */
        uint64_t count; /* decisions (FORGEONE_COUNT summed) */
} AuditSummaryRow;

typedef struct AuditSummary {
        AuditSummaryRow *by_rule, *by_path, *by_verdict; /* by_verdict: key "" */
        size_t n_by_rule, n_by_path, n_by_verdict;
        uint64_t aggregated_no_path; /* decisions counted in aggregates (they carry no path) */
        unsigned path_depth;
} AuditSummary;

/* path_depth: components of a path's directory kept as its prefix (0: 2). */
int audit_summary_new(unsigned path_depth, AuditSummary **ret);
AuditSummary *audit_summary_free(AuditSummary *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(AuditSummary *, audit_summary_free);
/* Decision records only; others are ignored. */
int audit_summary_add(AuditSummary *s, const AuditEntry *e);
/* Sorts the rows by workload, then count (largest first). The last step: no adding after it. */
void audit_summary_sort(AuditSummary *s);
/* "/usr/lib/x86_64-linux-gnu/libc.so.6", depth 2 -> "/usr/lib"; "/etc/shadow" -> "/etc". Heap string. */
char *audit_path_prefix(const char *path, unsigned depth);
