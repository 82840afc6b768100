/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * OCI content digests: "sha256:" followed by exactly 64 lowercase hex digits
 * (or "sha512:" + 128). Anything else is rejected before it can become a
 * file name: uppercase, wrong length, other algorithms, separators. Hashing
 * is streaming (OpenSSL EVP) so large blobs never sit in memory.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "forgeone/error.h"
#include "forgeone/macro.h"

typedef enum OciDigestAlgorithm {
        OCI_DIGEST_SHA256,
        OCI_DIGEST_SHA512,
        _OCI_DIGEST_ALGORITHM_MAX,
        _OCI_DIGEST_ALGORITHM_INVALID = -EINVAL,
} OciDigestAlgorithm;

#define OCI_DIGEST_STRING_MAX (sizeof("sha512:") + 128)

/* Validates a digest string. On success returns the algorithm and, if ret_hex
 * is given, points it at the hex part inside s. -EINVAL (with a reason in err) otherwise. */
int oci_digest_parse(const char *s, const char **ret_hex, ForgeError *err);

typedef struct OciHasher OciHasher;

int oci_hasher_new(OciDigestAlgorithm alg, OciHasher **ret);
OciHasher *oci_hasher_free(OciHasher *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(OciHasher *, oci_hasher_free);
int oci_hasher_update(OciHasher *h, const void *p, size_t n);
uint64_t oci_hasher_bytes(const OciHasher *h);
/* Finishes and writes "sha256:<hex>" into buf (OCI_DIGEST_STRING_MAX bytes). */
int oci_hasher_finish(OciHasher *h, char buf[static OCI_DIGEST_STRING_MAX]);

/* Digest of a buffer, as "alg:<hex>". */
int oci_digest_buffer(OciDigestAlgorithm alg, const void *p, size_t n,
                      char buf[static OCI_DIGEST_STRING_MAX]);
