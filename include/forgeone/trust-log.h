/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Measurements and their event log (forgeone.trust(7), MEASUREMENTS).
 *
 * A measurement is the SHA-256 of something that decides behaviour (a
 * binary, a configuration, a policy as loaded, the BPF object, the anchor,
 * an image's manifest digest). It is recorded as one JSON line
 *
 *   {"pcr":23,"digest":"sha256:...","type":"policy","name":"/etc/forgeone/web.json","time":"...Z"}
 *
 * and the PCR is extended with the SHA-256 of that line's bytes (without the
 * newline), so no field of a record can be edited and no record removed,
 * added or reordered without the replay disagreeing with the PCR. The PCR is
 * extended first, then the line appended, both under an exclusive flock on
 * the log; replay takes a shared one, so a reader never sees a record whose
 * extension is missing. The log lives in /run (it must start empty whenever
 * the PCR does, at boot).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "forgeone/trust.h"

#define TRUST_LOG_LINE_MAX 8192u

typedef enum TrustEventType {
        TRUST_EVENT_BINARY,
        TRUST_EVENT_CONFIG,
        TRUST_EVENT_POLICY,
        TRUST_EVENT_BPF,
        TRUST_EVENT_ANCHOR,
        TRUST_EVENT_IMAGE,
        TRUST_EVENT_AUDIT, /* the audit chain's head at a checkpoint (audit.h); name "audit RUN seq N" */
        _TRUST_EVENT_TYPE_MAX,
        _TRUST_EVENT_TYPE_INVALID = -EINVAL,
} TrustEventType;

const char *trust_event_type_to_string(TrustEventType t) _const_;
TrustEventType trust_event_type_from_string(const char *s) _pure_;

typedef struct TrustEvent {
        size_t line; /* 1-based line in the log */
        unsigned pcr;
        uint8_t digest[32]; /* of what was measured */
        TrustEventType type;
        char *name;
        char *time;
        uint8_t extended[32]; /* SHA-256 of the line: what went into the PCR */
} TrustEvent;

void trust_events_free(TrustEvent *events, size_t n);

/* Extends pcr with the record and appends it to log_path (created 0644, its directory 0755); returns 1.
 * Without a TPM (tpm NULL) nothing is recorded and 0 returned: a log no PCR vouches for proves nothing. */
int trust_measure(TrustTpm *tpm, const char *log_path, unsigned pcr, TrustEventType type, const char *name,
                  const uint8_t digest[static 32], ForgeError *err);
/* The same for data (hashed here). */
int trust_measure_data(TrustTpm *tpm, const char *log_path, unsigned pcr, TrustEventType type,
                       const char *name, const void *data, size_t size, ForgeError *err);

/* Reads and parses the log; a missing log is an empty one. A line that is not a record is an error
 * naming it (-EBADMSG): the log is written only by trust_measure(). */
int trust_log_read(const char *log_path, TrustEvent **ret, size_t *ret_n, ForgeError *err);

/* What the records for pcr extend a PCR that started at zero to. Returns how many records there were. */
size_t trust_log_replay(const TrustEvent *events, size_t n, unsigned pcr, uint8_t ret[static 32]);

typedef struct TrustLogCheck {
        unsigned pcr;
        size_t n_records;
        uint8_t replay[32];
        uint8_t tpm[32];
        bool match;
        /* When the whole log does not match: the number of leading records whose replay does (so the
         * records after them were added to the log without being extended), or SIZE_MAX. */
        size_t prefix_match;
} TrustLogCheck;

/*
 * Replays the log against the TPM under a shared lock: one check per PCR that the log names, and the
 * configured pcr even when the log names none (an empty log must meet an untouched PCR). ret_events
 * (optional) gets the records read under the same lock.
 */
int trust_log_verify(TrustTpm *tpm, const char *log_path, unsigned pcr, TrustLogCheck **ret, size_t *ret_n,
                     TrustEvent **ret_events, size_t *ret_n_events, ForgeError *err);
