/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What an audit record is, for the writer (audit.h) and the readers
 * (audit-journal.h, audit-verify.h) alike: its MESSAGE_IDs, its fields,
 * the canonical form the hash chain is computed over, and checkpoint
 * signatures (forgeone.audit(7)).
 *
 * An entry is a list of "NAME=value" fields, as journald stores them. The
 * fields the chain covers are MESSAGE, MESSAGE_ID, PRIORITY,
 * SYSLOG_IDENTIFIER and every FORGEONE_* field but FORGEONE_CHAIN; nothing
 * journald adds (_PID, __REALTIME_TIMESTAMP, ...) is covered, the event's
 * own time is (FORGEONE_TIME).
 *
 * Canonical form: the covered fields sorted by name (bytewise), each as
 *
 *     NAME '=' decimal length of the value ':' value '\n'
 *
 * and the chain of a run (FORGEONE_RUN) is
 *
 *     FORGEONE_CHAIN(1) = SHA-256(32 zero bytes || SHA-256(canonical(1)))
 *     FORGEONE_CHAIN(n) = SHA-256(FORGEONE_CHAIN(n-1) || SHA-256(canonical(n)))
 *
 * over the 32-byte values, written as 64 lowercase hex digits; n is
 * FORGEONE_SEQ. The first record of a run (audit started) names the head
 * the previous run left (FORGEONE_PREV_RUN, _PREV_SEQ, _PREV_CHAIN), so
 * runs link up across restarts. A checkpoint record signs
 *
 *     "forgeone-audit-checkpoint-v1\nrun=RUN\nseq=N\nchain=HEX\ntime=USEC\n"
 *
 * (the head after record N) with Ed25519; its FORGEONE_KEY_ID is the
 * SHA-256 of the public key's DER SubjectPublicKeyInfo, in hex.
 *
 * Values written by ForgeOne never hold a newline or a NUL: strings from
 * the workload are escaped (event_escape() without the quotes).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "forgeone/decision.h"
#include "forgeone/macro.h"

/* One MESSAGE_ID per event class; the catalog (forgeone.catalog) explains each. Never change them. */
#define AUDIT_MESSAGE_DENIED               "e06ee242e5a74645afaf58a68082b0c1"
#define AUDIT_MESSAGE_ALLOWED              "ecc7274fb5ce49fc82f1a78ad5d2f9a8"
#define AUDIT_MESSAGE_EMULATED             "aa83f3abbd9a46668aaf6d648d07f0a8"
#define AUDIT_MESSAGE_QUARANTINED          "efe8866a6e594ec8907063f3859f736b"
#define AUDIT_MESSAGE_POLICY_LOADED        "764cb60d82b74b719173a8793714b138"
#define AUDIT_MESSAGE_POLICY_RELOAD_FAILED "ca20ef6ed8c045ef9d1ff17c78622d16"
#define AUDIT_MESSAGE_STATE                "a7c5fa47b3c34b08b6bcd522db3c46c7"
#define AUDIT_MESSAGE_TRUST                "d9c4a9cd51eb44aab166b7ee1244d0ff"
#define AUDIT_MESSAGE_WARNING              "1e14435e53824a80a1ce6fa2967f8597"
#define AUDIT_MESSAGE_STARTED              "757e0a33eb0a4b4797f0123fbc4244e0"
#define AUDIT_MESSAGE_STOPPED              "260fb53c90de49b08ee23b81ef6ab74c"
#define AUDIT_MESSAGE_CHECKPOINT           "9775c6f8a58d4f90a43da8f6f1f94dad"
#define AUDIT_MESSAGE_DEGRADED             "c75343227d204a2fa6dbd368da80d85d"
#define AUDIT_MESSAGE_INTEGRITY            "3f0c9a1e7d2b4c58a6e1b9d47f25c803"

#define AUDIT_SYSLOG_IDENTIFIER "forgeone-audit"
#define AUDIT_CHECKPOINT_DOMAIN "forgeone-audit-checkpoint-v1"

typedef enum AuditClass {
        AUDIT_CLASS_DENIED,
        AUDIT_CLASS_ALLOWED,
        AUDIT_CLASS_EMULATED,
        AUDIT_CLASS_QUARANTINED,
        AUDIT_CLASS_POLICY_LOADED,
        AUDIT_CLASS_POLICY_RELOAD_FAILED,
        AUDIT_CLASS_STATE,
        AUDIT_CLASS_TRUST,
        AUDIT_CLASS_WARNING,
        AUDIT_CLASS_STARTED,
        AUDIT_CLASS_STOPPED,
        AUDIT_CLASS_CHECKPOINT,
        AUDIT_CLASS_DEGRADED,
        AUDIT_CLASS_INTEGRITY, /* the observer saw the kernel return something else than decided */
        _AUDIT_CLASS_MAX,
        _AUDIT_CLASS_INVALID = -EINVAL,
} AuditClass;

/* "denied", "allowed", ... "degraded" (the names forgeone.audit(7) uses). */
const char *audit_class_to_string(AuditClass c) _const_;
AuditClass audit_class_from_string(const char *s) _pure_;
const char *audit_class_message_id(AuditClass c) _const_;
AuditClass audit_class_from_message_id(const char *id) _pure_;
/* The class of a decision's outcome. */
AuditClass audit_class_of_action(SupervisorAction a) _const_;
/* What FORGEONE_VERDICT says for an action: "allow", "emulate", "deny", "quarantine". */
const char *audit_verdict_of_action(SupervisorAction a) _const_;

/* ---- entries ---- */

typedef struct AuditEntry {
        char **fields; /* "NAME=value", owned */
        size_t n_fields, n_alloc;
        uint64_t realtime_usec; /* when journald received it (readers), 0 when unknown */
        char *cursor;           /* the journal's cursor, or "file:LINE" for an export file; NULL */
} AuditEntry;

void audit_entry_done(AuditEntry *e);
/* Appends NAME=value (value of len bytes; SIZE_MAX: strlen). */
int audit_entry_add(AuditEntry *e, const char *name, const char *value, size_t len);
int audit_entry_addf(AuditEntry *e, const char *name, const char *format, ...) _printf_(3, 4);
/* Replaces the value of name, or appends it. */
int audit_entry_set(AuditEntry *e, const char *name, const char *value);
/* The value of the first field called name, or NULL. */
const char *audit_entry_get(const AuditEntry *e, const char *name) _pure_;
/* Its value as a number; ret untouched and -ENOENT/-EINVAL when missing or not one. */
int audit_entry_get_u64(const AuditEntry *e, const char *name, uint64_t *ret);

/* Whether the chain covers a field of this name (see above). */
bool audit_field_covered(const char *name) _pure_;

/* SHA-256 of the entry's canonical form. */
int audit_entry_digest(const AuditEntry *e, uint8_t ret[static 32]);
/* The chain value after e, given the previous one (NULL for the first record of a run). */
int audit_chain_next(const uint8_t prev[32], const AuditEntry *e, uint8_t ret[static 32]);
void audit_chain_combine(const uint8_t prev[32], const uint8_t digest[static 32], uint8_t ret[static 32]);

char *audit_hex(const uint8_t *p, size_t n, char *buf); /* buf of 2n+1 */
int audit_unhex(const char *s, uint8_t *ret, size_t n); /* exactly 2n hex digits */

/* ---- checkpoint signatures (Ed25519, OpenSSL) ---- */

typedef struct AuditKey AuditKey;

/* A PEM private key (for signing) or public key (for verifying). -ENOENT when the file does not exist,
 * -EKEYREJECTED when it is not an Ed25519 key. */
int audit_key_load(const char *path, bool private_key, AuditKey **ret);
AuditKey *audit_key_free(AuditKey *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(AuditKey *, audit_key_free);
/* Hex SHA-256 of the public key's DER SubjectPublicKeyInfo (65 bytes). */
const char *audit_key_id(const AuditKey *k) _pure_;

/* The signed message of a checkpoint (see above), heap string. */
char *audit_checkpoint_message(const char *run, uint64_t seq, const char *chain_hex, uint64_t time_usec);
/* Base64 signature of the message into *ret (heap). */
int audit_key_sign(AuditKey *k, const char *message, char **ret);
/* 0 when sig_b64 is k's signature of message, -EBADMSG otherwise. */
int audit_key_verify(AuditKey *k, const char *message, const char *sig_b64);
