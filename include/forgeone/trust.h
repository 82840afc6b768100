/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The trust module: what decides whether an image may run, anchored in a
 * TPM (see forgeone.trust(7)).
 *
 *   trust-config.h     /etc/forgeone/trust.json: anchor path, TCTI, NV index, PCR, event log, require_tpm
 *   trust-anchor.h     the anchor file: an id, public keys (ECDSA P-256, Ed25519), metadata
 *   trust-tpm.h        tpm2-tss ESAPI: the anchor's NV index, PCR extend and read
 *   trust-log.h        measurements: extend the PCR and append a JSON-lines event record; replay
 *   trust-signature.h  cosign "simple signing" payloads and signatures, in a layout or detached
 *   trust-verify.h     the image verifier that container_run() calls before a layer is read
 *
 * This header holds what they share: the trust context, which loads the
 * configuration and the anchor once, opens the TPM (or finds there is
 * none), and computes the status:
 *
 *   Verified            the anchor file's SHA-256 equals the write-locked NV index
 *   Compromised(reason) anything else while a TPM is present: no image launches
 *   Unknown(no TPM)     software mode: the anchor file is trusted as it is; fatal with require_tpm
 *
 * Like the rest of the library nothing here logs, prompts or exits; every
 * function returns a negative errno and, given a ForgeError (error.h), one
 * line that names the file, index or key concerned and what to do about it:
 * of kind config-invalid for a wrong trust.json or anchor (with the file,
 * line and column), untrusted when an image or a launch is refused. TSS2
 * and OpenSSL error conventions are converted at the boundary.
 */

#include <stdbool.h>
#include <stdint.h>

#include "forgeone/error.h"
#include "forgeone/macro.h"

typedef struct TrustConfig TrustConfig;
typedef struct TrustAnchor TrustAnchor;
typedef struct TrustTpm TrustTpm;

typedef enum TrustStatus {
        TRUST_STATUS_VERIFIED,
        TRUST_STATUS_COMPROMISED,
        TRUST_STATUS_UNKNOWN,
        _TRUST_STATUS_MAX,
        _TRUST_STATUS_INVALID = -EINVAL,
} TrustStatus;

const char *trust_status_to_string(TrustStatus s) _const_;

typedef struct TrustState {
        TrustStatus status;
        char reason[1536];            /* Compromised: what differs; Unknown: "no TPM" */
        char detail[FORGE_ERROR_MESSAGE_MAX]; /* Unknown: why there is no TPM (the TCTI's error); else "" */
        bool anchor_loaded;           /* the anchor file was read and is valid */
        uint8_t anchor_digest[32];    /* SHA-256 of the anchor file's bytes (when it could be read) */
        bool anchor_read;
        bool nv_defined;
        uint32_t nv_attributes; /* as the TPM reports them, WRITTEN/WRITELOCKED included */
        bool nv_read;
        uint8_t nv_digest[32];
        bool owner_auth_known, owner_auth_set; /* TPM2_PT_PERMANENT ownerAuthSet */
        bool saved_copy; /* a saved anchor with the NV digest exists (trust_context_restore()) */
} TrustState;

/* "Verified", "Compromised(reason)" or "Unknown(no TPM)" into buf. */
const char *trust_state_to_string(const TrustState *s, char *buf, size_t size);

typedef struct TrustContext {
        TrustConfig *config;
        TrustAnchor *anchor;     /* NULL when the anchor file is missing or invalid: */
        ForgeError anchor_error; /* then why */
        TrustTpm *tpm; /* NULL: no TPM (software mode) */
        TrustState state;
} TrustContext;

/*
 * Loads the configuration (path NULL: $FORGEONE_TRUST_CONFIG, else /etc/forgeone/trust.json, whose
 * absence means the defaults), opens the TPM through the configured TCTI (tcti non-NULL overrides it),
 * loads the anchor and computes the status. Fails only when the configuration is invalid or the TPM
 * answers with an error other than "not there"; a missing anchor, a missing TPM and every mismatch are
 * reported in ctx->state.
 */
int trust_context_open(const char *config_path, const char *tcti, TrustContext **ret, ForgeError *err);
TrustContext *trust_context_free(TrustContext *ctx);
DEFINE_TRIVIAL_CLEANUP_FUNC(TrustContext *, trust_context_free);

/* Reloads the anchor and recomputes the status (for a daemon, on demand). */
int trust_context_refresh(TrustContext *ctx, ForgeError *err);

/* Measures the running program (its binary, read through /proc/self/exe), the trust configuration and
 * the anchor into the configured PCR and event log: what vouches for the launches to come. Nothing to do
 * without a TPM. */
int trust_measure_self(TrustContext *ctx, ForgeError *err);

/* 0 when images may launch (Verified; Unknown without require_tpm); -EPERM with the reason otherwise. */
int trust_context_launch_allowed(const TrustContext *ctx, ForgeError *err);

/*
 * Enrols the anchor file at path: validates it, keeps a copy in the state directory (the
 * last-known-good anchor), defines the NV index with the owner's authorization, writes the anchor's
 * SHA-256, write-locks it, installs the file at the configured anchor path (when path is another file)
 * and recomputes the status. An index that is already defined is refused (-EEXIST) unless force, which
 * undefines it first (owner authorization again). Without a TPM the anchor is installed and kept, the
 * status stays Unknown; with require_tpm that is refused.
 */
int trust_context_enroll(TrustContext *ctx, const char *path, const void *owner_auth, size_t owner_auth_size,
                         bool force, ForgeError *err);

/* Puts back the saved anchor whose digest the NV index holds (atomically) and recomputes the status.
 * -ENOENT when no saved copy matches; -ENODEV without a TPM (nothing says which copy is good). */
int trust_context_restore(TrustContext *ctx, ForgeError *err);

/* Path of the saved copy of an anchor with this digest: STATE_DIR/anchors/<hex>.json. Heap string. */
char *trust_saved_anchor_path(const TrustContext *ctx, const uint8_t digest[32]);

/* Lowercase hex of 32 bytes into buf (65 bytes). */
char *trust_hex(const uint8_t digest[32], char buf[static 65]);
/* "sha256:<hex>" into buf (72 bytes). */
char *trust_digest_to_string(const uint8_t digest[static 32], char buf[static 72]);
