/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <openssl/evp.h>
#include <stdio.h>

#include "forgeone/oci-digest.h"

struct OciHasher {
        EVP_MD_CTX *ctx;
        OciDigestAlgorithm alg;
        uint64_t bytes;
};

static const struct {
        const char *prefix;
        size_t hex_len;
} algorithms[_OCI_DIGEST_ALGORITHM_MAX] = {
        [OCI_DIGEST_SHA256] = { "sha256:", 64 },
        [OCI_DIGEST_SHA512] = { "sha512:", 128 },
};

int oci_digest_parse(const char *s, const char **ret_hex, ForgeError *err) {
        if (!s)
                return forge_error_set(err, -EINVAL, "missing digest");

        for (OciDigestAlgorithm a = 0; a < _OCI_DIGEST_ALGORITHM_MAX; a++) {
                size_t pl = strlen(algorithms[a].prefix), n;
                const char *hex;

                if (strncmp(s, algorithms[a].prefix, pl) != 0)
                        continue;

                hex = s + pl;
                n = strlen(hex);
                if (n != algorithms[a].hex_len)
                        return forge_error_set(err, -EINVAL,
                                               "invalid digest \"%.80s\": %zu hex digits, expected %zu", s,
                                               n, algorithms[a].hex_len);
                for (size_t i = 0; i < n; i++) {
                        char c = hex[i];

                        if (c >= 'A' && c <= 'F')
                                return forge_error_set(
                                        err, -EINVAL,
                                        "invalid digest \"%.80s\": uppercase hex is not allowed", s);
                        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                                return forge_error_set(err, -EINVAL,
                                                       "invalid digest \"%.80s\": non-hex character at %zu",
                                                       s, pl + i);
                }
                if (ret_hex)
                        *ret_hex = hex;
                return a;
        }

        return forge_error_set(err, -EINVAL, "invalid digest \"%.80s\": algorithm must be sha256 or sha512",
                               s);
}

int oci_hasher_new(OciDigestAlgorithm alg, OciHasher **ret) {
        OciHasher *h;

        if (alg < 0 || alg >= _OCI_DIGEST_ALGORITHM_MAX)
                return -EINVAL;

        h = calloc(1, sizeof *h);
        if (!h)
                return -ENOMEM;
        h->alg = alg;
        h->ctx = EVP_MD_CTX_new();
        if (!h->ctx ||
            EVP_DigestInit_ex(h->ctx, alg == OCI_DIGEST_SHA256 ? EVP_sha256() : EVP_sha512(), NULL) != 1) {
                oci_hasher_free(h);
                return -ENOMEM;
        }
        *ret = h;
        return 0;
}

OciHasher *oci_hasher_free(OciHasher *h) {
        if (!h)
                return NULL;
        EVP_MD_CTX_free(h->ctx);
        free(h);
        return NULL;
}

int oci_hasher_update(OciHasher *h, const void *p, size_t n) {
        if (n == 0)
                return 0;
        if (EVP_DigestUpdate(h->ctx, p, n) != 1)
                return -EIO;
        h->bytes += n;
        return 0;
}

uint64_t oci_hasher_bytes(const OciHasher *h) {
        return h->bytes;
}

int oci_hasher_finish(OciHasher *h, char buf[static OCI_DIGEST_STRING_MAX]) {
        static const char hexdigits[] = "0123456789abcdef";
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len = 0;
        size_t pl;

        if (EVP_DigestFinal_ex(h->ctx, md, &len) != 1)
                return -EIO;

        pl = strlen(algorithms[h->alg].prefix);
        memcpy(buf, algorithms[h->alg].prefix, pl);
        for (unsigned i = 0; i < len; i++) {
                buf[pl + 2 * i] = hexdigits[md[i] >> 4];
                buf[pl + 2 * i + 1] = hexdigits[md[i] & 15];
        }
        buf[pl + 2 * len] = 0;
        return 0;
}

int oci_digest_buffer(OciDigestAlgorithm alg, const void *p, size_t n,
                      char buf[static OCI_DIGEST_STRING_MAX]) {
        _cleanup_(oci_hasher_freep) OciHasher *h = NULL;
        int r;

        r = oci_hasher_new(alg, &h);
        if (r < 0)
                return r;
        r = oci_hasher_update(h, p, n);
        if (r < 0)
                return r;
        return oci_hasher_finish(h, buf);
}
