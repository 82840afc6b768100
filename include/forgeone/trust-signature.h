/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Image signatures in the cosign "simple signing" format (forgeone.trust(7), IMAGE SIGNATURES).
 *
 * The payload is JSON:
 *   {"critical":{"identity":{"docker-reference":"REF"},
 *                "image":{"docker-manifest-digest":"sha256:..."},
 *                "type":"cosign container image signature"},
 *    "optional":null}
 * and the signature is over the payload's bytes: ECDSA P-256 over their
 * SHA-256 (DER, as `openssl dgst -sha256 -sign` writes it) or pure Ed25519
 * (`openssl pkeyutl -sign -rawin`), carried base64-encoded.
 *
 * Inside an OCI layout the signatures of the image whose manifest digest is
 * sha256:HEX are the layers of the manifest tagged "sha256-HEX.sig", each of
 * media type application/vnd.dev.cosign.simplesigning.v1+json (the payload
 * blob) with its signature in the annotation dev.cosignproject.cosign/signature.
 * Detached, they are a payload file and a signature file (base64, or the raw
 * DER/64 bytes).
 *
 * The signature is checked before a byte of the payload is parsed. Then the
 * payload must be exactly that shape: unknown members of "critical" (at any
 * depth) and of the top level are refused, as are a wrong "type", a digest
 * other than the manifest's, and a reference other than a pinned one.
 */

#include <openssl/types.h>
#include <stdbool.h>
#include <stddef.h>

#include "forgeone/oci-image.h"
#include "forgeone/trust-anchor.h"

#define TRUST_COSIGN_TYPE        "cosign container image signature"
#define TRUST_COSIGN_MEDIA_TYPE  "application/vnd.dev.cosign.simplesigning.v1+json"
#define TRUST_COSIGN_ANNOTATION  "dev.cosignproject.cosign/signature"
#define TRUST_PAYLOAD_SIZE_MAX   (64u * 1024u)
#define TRUST_SIGNATURE_SIZE_MAX 1024u

/* One signature found for an image, before verification. */
typedef struct TrustSignature {
        char *source;  /* "layout tag sha256-<hex>.sig, layer 1" or "detached FILE" */
        char *payload; /* NUL-terminated for convenience; payload_size bytes count */
        size_t payload_size;
        char *signature; /* as carried: base64 text, or raw bytes for a raw detached file */
        size_t signature_size;
        bool signature_raw; /* signature holds raw bytes, not base64 */
} TrustSignature;

void trust_signatures_free(TrustSignature *s, size_t n);

/* Verification failures, each with its own message (and errno). */
typedef enum TrustSignatureFailure {
        TRUST_SIGNATURE_OK,
        TRUST_SIGNATURE_CORRUPTED,       /* -EBADMSG: not base64, not a DER ECDSA or a 64-byte Ed25519 one */
        TRUST_SIGNATURE_WRONG_KEY,       /* -EKEYREJECTED: well formed, but no anchor key verifies it */
        TRUST_SIGNATURE_BAD_PAYLOAD,     /* -EBADMSG: signed, but not JSON of the simple signing shape */
        TRUST_SIGNATURE_WRONG_TYPE,      /* -EPROTO: critical.type is not TRUST_COSIGN_TYPE */
        TRUST_SIGNATURE_UNKNOWN_MEMBER,  /* -EPROTO: a member of "critical" (or the top) we do not know */
        TRUST_SIGNATURE_WRONG_DIGEST,    /* -ESTALE: the payload is for another manifest */
        TRUST_SIGNATURE_WRONG_REFERENCE, /* -EPERM: docker-reference is not the pinned one */
        TRUST_SIGNATURE_KEY_NOT_ALLOWED, /* -EPERM: verified, but not by a key the policy requires */
        _TRUST_SIGNATURE_FAILURE_MAX,
        _TRUST_SIGNATURE_FAILURE_INVALID = -EINVAL,
} TrustSignatureFailure;

const char *trust_signature_failure_to_string(TrustSignatureFailure f) _const_;

typedef struct TrustSignatureCheck {
        TrustSignatureFailure failure;
        ForgeError error;    /* why it failed (kind untrusted, the failure's errno); unset when it holds */
        const TrustKey *key; /* the anchor key that verified it, or NULL */
        char reference[256]; /* critical.identity.docker-reference once the payload parsed */
} TrustSignatureCheck;

/*
 * Checks one signature: against every anchor key whose kind fits, then the payload against
 * manifest_digest, then (when non-NULL) the reference against pinned_reference, then (when non-NULL)
 * the key against allowed_keys (anchor key ids). Returns 0 when it holds, else the failure's negative
 * errno; ret (required) says which failure and why in either case.
 */
int trust_signature_check(const TrustAnchor *anchor, const TrustSignature *sig, const char *manifest_digest,
                          const char *pinned_reference, char *const *allowed_keys, TrustSignatureCheck *ret);

/* The signatures stored in the image's layout (none is not an error: ret_n 0). */
int trust_layout_signatures(const OciImage *image, TrustSignature **ret, size_t *ret_n, ForgeError *err);
/* A detached pair. */
int trust_detached_signature(const char *payload_path, const char *signature_path, TrustSignature *ret,
                             ForgeError *err);

/* The payload for an image, exactly as `image sign` writes it. */
int trust_payload_new(const char *reference, const char *manifest_digest, char **ret, size_t *ret_size);
/* Signs data with an ECDSA P-256 (SHA-256, DER) or Ed25519 private key; ret is base64, NUL-terminated. */
int trust_sign_data(EVP_PKEY *key, const void *data, size_t size, char **ret, ForgeError *err);
/*
 * Signs the image in its layout: writes the payload blob, the signature manifest (keeping the other
 * signatures it has, replacing one by the same key) and its config, and points the tag
 * "sha256-<hex>.sig" in index.json at it (index.json is replaced atomically).
 */
int trust_layout_sign(const OciImage *image, EVP_PKEY *key, const char *reference, ForgeError *err);

/* "sha256-<hex>.sig" for a manifest digest. Heap string. */
char *trust_signature_tag(const char *manifest_digest);
