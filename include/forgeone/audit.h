/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The audit: every decision and workload event of an event sink as a
 * structured journald entry, hash-chained and anchored at checkpoints, so
 * an auditor can tell from the journal alone what each workload was allowed
 * and denied, under which policy, and whether anyone tampered with the
 * record (forgeone.audit(7); the record format is audit-record.h).
 *
 *   audit_new(&config, &a, &err);
 *   audit_attach(a, sink);   sets what the sink records, registers the consumer, asks for ticks
 *   ... whoever drains the sink on its fd (a printer thread, the daemon's loop) feeds the audit ...
 *   audit_free(a);           after the last drain: the rest, a stop record and a final checkpoint
 *
 * Contract:
 *  - It runs on the consumer side of the sink only, on the draining thread:
 *    the hot path posts to the sink and never waits for the journal.
 *    audit_consume() may also be called per record by a caller that drains
 *    itself (then audit_tick() from time to time, audit_flush() at the end).
 *  - Every decision is in the journal exactly once: as an entry of its own
 *    (FORGEONE_COUNT=1) or counted in an aggregate entry (FORGEONE_COUNT=N,
 *    FORGEONE_AGGREGATED says why: allows by the allow setting, sampled,
 *    beyond the rate budget, or not taken by the sink's full queue). So the
 *    sum of FORGEONE_COUNT is exact, and journald's rate limiter never
 *    drops a record silently: the budget (entries per interval) stays below
 *    its default burst, and beyond it the audit aggregates.
 *  - Denials, emulations and quarantines are always recorded; allows as the
 *    configuration says (all, sampled, or aggregated per interval).
 *  - Each entry carries the run (FORGEONE_RUN), a sequence number from 1
 *    (FORGEONE_SEQ) and the hash chain (FORGEONE_CHAIN). Every
 *    checkpoint_every entries, and every checkpoint interval while entries
 *    come, a checkpoint entry anchors the head: signed with the audit key
 *    when there is one, and extended into the trust PCR (trust_measure())
 *    when the configuration hands over a TPM. The head is kept in the state
 *    directory, so the next run's start record names it.
 *  - When journald is unreachable, entries go with the same fields to the
 *    fallback file (JSON lines, as `forgeonectl audit export` writes them)
 *    and their MESSAGE to echo_fd; config.warn hears why, once, and again
 *    once when journald is back (a degraded entry then names the records the
 *    file holds).
 *  - Like the rest of the library it does not log: warn() is its voice.
 */

#include <stdbool.h>
#include <stdint.h>

#include "forgeone/audit-record.h"
#include "forgeone/error.h"
#include "forgeone/event-sink.h"
#include "forgeone/macro.h"

typedef struct TrustTpm TrustTpm;

typedef enum AuditAllowMode {
        AUDIT_ALLOW_ALL,        /* every allowed (continued) call is an entry */
        AUDIT_ALLOW_SAMPLED,    /* one in sample_every is, the rest are counted per interval */
        AUDIT_ALLOW_AGGREGATED, /* counted per workload, syscall and rule per interval */
        _AUDIT_ALLOW_MODE_MAX,
        _AUDIT_ALLOW_MODE_INVALID = -EINVAL,
} AuditAllowMode;

const char *audit_allow_mode_to_string(AuditAllowMode m) _const_;
AuditAllowMode audit_allow_mode_from_string(const char *s) _pure_;

#define AUDIT_DEFAULT_STATE_DIR  "/var/lib/forgeone/audit"
#define AUDIT_DEFAULT_KEY        "/etc/forgeone/audit.key"
#define AUDIT_DEFAULT_PUBLIC_KEY "/etc/forgeone/audit.pub"
/* The budget of decision entries of their own is a token bucket: AUDIT_DEFAULT_RATE_BURST at once, then
 * AUDIT_DEFAULT_RATE_PER_SEC a second. journald's default rate limit is 10,000 messages per 30 s per
 * service: at most 500 + 30 x 200 = 6,500 in any 30 s stays well below, with room for the service's other
 * messages; a small burst keeps a short run's cost small too. */
#define AUDIT_DEFAULT_INTERVAL_USEC (10u * 1000000u)
#define AUDIT_DEFAULT_RATE_BURST    500u
#define AUDIT_DEFAULT_RATE_PER_SEC  200u
#define AUDIT_DEFAULT_SAMPLE_EVERY     100u
#define AUDIT_DEFAULT_CHECKPOINT_EVERY 10000u
#define AUDIT_DEFAULT_CHECKPOINT_USEC  (60u * 1000000u)

typedef void (*AuditWarnFn)(const char *text, void *userdata);

typedef struct AuditConfig {
        AuditAllowMode allow;
        unsigned sample_every;
        uint64_t interval_usec; /* aggregation interval */
        unsigned rate_burst;    /* decision entries of their own at once, at most (0: no budget) */
        unsigned rate_per_sec;  /* and this many more every second */
        uint64_t checkpoint_every;
        uint64_t checkpoint_interval_usec;
        const char *key_path;      /* Ed25519 private key (PEM); NULL: AUDIT_DEFAULT_KEY when it exists */
        const char *state_dir;     /* chain head and fallback file; NULL: AUDIT_DEFAULT_STATE_DIR */
        const char *fallback_path; /* NULL: STATE_DIR/fallback.jsonl */
        int echo_fd;               /* while falling back, each entry's MESSAGE here too; -1: none */
        TrustTpm *tpm;             /* borrowed; NULL: no PCR anchoring */
        const char *measure_log;   /* with tpm: trust-log.h's event log */
        unsigned pcr;
        bool no_journal; /* write to the fallback only (tests, systems without journald) */
        AuditWarnFn warn;
        void *userdata;
} AuditConfig;

/* The defaults above; echo_fd -1. */
void audit_config_init(AuditConfig *c);

typedef struct Audit Audit;

/* Loads the key (a missing default key means unsigned checkpoints; a named one must load), reads the last
 * head from the state directory and writes the start record. */
int audit_new(const AuditConfig *c, Audit **ret, ForgeError *err);
/* audit_flush(), a stop record with the sink's exact totals, a final checkpoint; detaches from the sink.
 * Call after the last drain. */
Audit *audit_free(Audit *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(Audit *, audit_free);

/* Sets the sink's modes (denials, quarantines and emulations recorded; allows recorded, or aggregated in
 * the sink for AUDIT_ALLOW_AGGREGATED: a consumer that wants allow records sets that after), registers
 * audit_consume() and asks for a tick every second. Before the sink's first drain. */
int audit_attach(Audit *a, EventSink *s);

/* One record (an EventConsumeFn). */
void audit_consume(const EventRecord *r, void *userdata);
/* Time-driven work: ends the interval (aggregates) and writes a checkpoint when due. */
void audit_tick(Audit *a, uint64_t now_realtime_usec);
/* Now: the sink's aggregates, this interval's aggregates, a checkpoint when anything came since the last. */
void audit_flush(Audit *a);

typedef struct AuditStats {
        uint64_t entries;    /* written, to journald or the fallback */
        uint64_t fallback;   /* of those, to the fallback file */
        uint64_t aggregates; /* aggregate entries */
        uint64_t checkpoints;
        uint64_t write_errors; /* entries neither journald nor the file took (the file failed too) */
} AuditStats;

void audit_get_stats(const Audit *a, AuditStats *ret);
/* The run's id (32 hex digits). */
const char *audit_get_run(const Audit *a) _pure_;
