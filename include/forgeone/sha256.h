/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * SHA-256 (FIPS 180-4) without a crypto library: for checksums on paths where
 * a process's first OpenSSL digest (provider and configuration loading, some
 * milliseconds) would cost more than the hashing itself, such as the filter
 * cache at container start. Streaming: init, update any number of times, final.
 * Not constant-time; never use it for secrets.
 */

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32

typedef struct Sha256 {
        uint32_t state[8];
        uint64_t bytes;
        uint8_t buf[64];
        size_t n_buf;
} Sha256;

void sha256_init(Sha256 *s);
void sha256_update(Sha256 *s, const void *p, size_t n);
void sha256_final(Sha256 *s, uint8_t ret[static SHA256_DIGEST_SIZE]);
void sha256_buffer(const void *p, size_t n, uint8_t ret[static SHA256_DIGEST_SIZE]);
