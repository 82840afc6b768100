/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The trust anchor file (forgeone.trust(7), THE ANCHOR FILE): JSON with a format version,
 * an id, one or more public keys and free-form metadata:
 *
 *   { "format": 1, "id": "acme-prod",
 *     "keys": [ { "id": "release", "algorithm": "ecdsa-p256",
 *                 "public_key": "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n" } ],
 *     "metadata": { "owner": "security team" } }
 *
 * Its identity is the SHA-256 of the file's bytes exactly as stored: that is
 * what the TPM NV index holds, so `sha256sum` and `tpm2_nvread` can check
 * ForgeOne's claim without ForgeOne. Parsing is strict: unknown members,
 * duplicate keys or ids, a key whose type is not the algorithm it claims,
 * and keys other than ECDSA P-256 and Ed25519 are errors with line and
 * column.
 */

#include <openssl/types.h>
#include <stddef.h>
#include <stdint.h>

#include "forgeone/trust.h"

#define TRUST_ANCHOR_FORMAT   1
#define TRUST_ANCHOR_SIZE_MAX (1024u * 1024u)

typedef enum TrustKeyAlgorithm {
        TRUST_KEY_ECDSA_P256, /* ECDSA over SHA-256 of the message, DER signature */
        TRUST_KEY_ED25519,    /* pure Ed25519 over the message, 64-byte signature */
        _TRUST_KEY_ALGORITHM_MAX,
        _TRUST_KEY_ALGORITHM_INVALID = -EINVAL,
} TrustKeyAlgorithm;

const char *trust_key_algorithm_to_string(TrustKeyAlgorithm a) _const_;
TrustKeyAlgorithm trust_key_algorithm_from_string(const char *s) _pure_;

typedef struct TrustKey {
        char *id;
        TrustKeyAlgorithm algorithm;
        EVP_PKEY *pkey;
        char fingerprint[72]; /* "sha256:" + hex of the DER SubjectPublicKeyInfo */
} TrustKey;

struct TrustAnchor {
        char *path;
        char *id;
        TrustKey *keys;
        size_t n_keys;
        char *metadata; /* the "metadata" object as compact JSON, or NULL */
        char *data;     /* the file's bytes */
        size_t size;
        uint8_t digest[32]; /* SHA-256 of data */
};

int trust_anchor_load(const char *path, TrustAnchor **ret, ForgeError *err);
/* name: for messages, and kept as path. */
int trust_anchor_parse(const char *data, size_t size, const char *name, TrustAnchor **ret, ForgeError *err);
TrustAnchor *trust_anchor_free(TrustAnchor *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(TrustAnchor *, trust_anchor_free);

const TrustKey *trust_anchor_key(const TrustAnchor *a, const char *id) _pure_;
/* The anchor's key with the same public key as pkey, or NULL. */
const TrustKey *trust_anchor_key_by_pkey(const TrustAnchor *a, const EVP_PKEY *pkey);

/* "id a -> b; key \"x\" added; key \"y\" replaced; metadata changed", or "" when they agree on all of it. */
int trust_anchor_diff(const TrustAnchor *old, const TrustAnchor *new, char **ret);

/* Loads a public key (PEM SubjectPublicKeyInfo) and checks it is ECDSA P-256 or Ed25519. */
int trust_key_parse_public(const char *pem, size_t size, EVP_PKEY **ret, TrustKeyAlgorithm *ret_algorithm,
                           ForgeError *err);
/* Loads an unencrypted PEM private key of the same two kinds (an encrypted one is refused, never prompted).
 */
int trust_key_load_private(const char *path, EVP_PKEY **ret, TrustKeyAlgorithm *ret_algorithm,
                           ForgeError *err);
/* "sha256:<hex>" of the DER SubjectPublicKeyInfo of a public or private key. */
int trust_key_fingerprint(const EVP_PKEY *pkey, char ret[static 72]);
