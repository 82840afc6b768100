/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <ctype.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>

#include "forgeone/string-table.h"
#include "forgeone/trust-anchor.h"
#include "trust-internal.h"

#define NAME_MAX_LEN 128

static const char *const trust_key_algorithm_table[_TRUST_KEY_ALGORITHM_MAX] = {
        [TRUST_KEY_ECDSA_P256] = "ecdsa-p256",
        [TRUST_KEY_ED25519] = "ed25519",
};

DEFINE_STRING_TABLE_LOOKUP(trust_key_algorithm, TrustKeyAlgorithm)

DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free);

/* The most recent OpenSSL error as text (and the queue cleared, so it cannot leak into another message). */
static const char *openssl_error(char *buf, size_t size) {
        unsigned long e = ERR_peek_last_error();

        if (e == 0)
                snprintf(buf, size, "no further detail from OpenSSL");
        else
                ERR_error_string_n(e, buf, size);
        ERR_clear_error();
        return buf;
}

/* Which of our two kinds a key is; -EOPNOTSUPP (with a reason) for anything else. */
static int key_kind(const EVP_PKEY *pkey, TrustKeyAlgorithm *ret, char *why, size_t why_size) {
        char group[64] = "";
        size_t len = 0;

        if (EVP_PKEY_is_a(pkey, "ED25519")) {
                *ret = TRUST_KEY_ED25519;
                return 0;
        }
        if (EVP_PKEY_is_a(pkey, "EC")) {
                if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                                   &len) != 1 ||
                    !streq(group, "prime256v1")) {
                        ERR_clear_error();
                        snprintf(why, why_size, "an EC key on curve %s: only P-256 (prime256v1) is accepted",
                                 group[0] ? group : "(unknown)");
                        return -EOPNOTSUPP;
                }
                *ret = TRUST_KEY_ECDSA_P256;
                return 0;
        }
        snprintf(why, why_size, "a %s key: only ECDSA P-256 and Ed25519 are accepted",
                 EVP_PKEY_get0_type_name(pkey) ?: "unknown");
        return -EOPNOTSUPP;
}

int trust_key_fingerprint(const EVP_PKEY *pkey, char ret[static 72]) {
        _cleanup_free_ unsigned char *der = NULL;
        uint8_t d[32];
        int n;

        n = i2d_PUBKEY(pkey, &der);
        if (n <= 0) {
                ERR_clear_error();
                return -EIO;
        }
        if (trust_sha256(der, (size_t) n, d) < 0)
                return -EIO;
        trust_digest_to_string(d, ret);
        return 0;
}

static size_t count_substr(const char *s, size_t n, const char *needle) {
        size_t c = 0, k = strlen(needle);

        for (size_t i = 0; i + k <= n; i++)
                if (memcmp(s + i, needle, k) == 0)
                        c++;
        return c;
}

int trust_key_parse_public(const char *pem, size_t size, EVP_PKEY **ret, TrustKeyAlgorithm *ret_algorithm,
                           ForgeError *err) {
        _cleanup_(BIO_freep) BIO *bio = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        TrustKeyAlgorithm a;
        char why[256];
        int r;

        if (count_substr(pem, size, "-----BEGIN ") != 1)
                return forge_error_set(err, -EINVAL,
                                       "must hold exactly one PEM block "
                                       "(\"-----BEGIN PUBLIC KEY-----\" ... \"-----END PUBLIC KEY-----\")");
        if (count_substr(pem, size, "-----BEGIN PUBLIC KEY-----") != 1)
                return forge_error_set(err, -EINVAL,
                                       "is not a PEM public key (expected \"-----BEGIN PUBLIC "
                                       "KEY-----\"; `openssl pkey -in KEY.pem -pubout` writes one)");
        bio = BIO_new_mem_buf(pem, (int) size);
        if (!bio)
                return -ENOMEM;
        pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        if (!pkey)
                return forge_error_set(err, -EINVAL, "is not a valid PEM public key: %s",
                                       openssl_error(why, sizeof why));
        r = key_kind(pkey, &a, why, sizeof why);
        if (r < 0)
                return forge_error_set(err, r, "is %s", why);
        *ret = TAKE_PTR(pkey);
        if (ret_algorithm)
                *ret_algorithm = a;
        return 0;
}

static int refuse_passphrase(char *buf, int size, int rwflag, void *u) {
        return -1;
}

int trust_key_load_private(const char *path, EVP_PKEY **ret, TrustKeyAlgorithm *ret_algorithm,
                           ForgeError *err) {
        _cleanup_free_ char *data = NULL;
        _cleanup_(BIO_freep) BIO *bio = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        TrustKeyAlgorithm a;
        char why[256];
        size_t size;
        int r;

        r = trust_read_file(path, 64 * 1024, &data, &size);
        if (r < 0)
                return forge_error_set(err, r, "cannot read key %s: %s", path, strerror(-r));
        if (count_substr(data, size, "ENCRYPTED") > 0)
                return forge_error_set(
                        err, -EOPNOTSUPP,
                        "key %s is encrypted: give an unencrypted PEM key (openssl pkey -in %s "
                        "-out PLAIN.pem asks for the passphrase once)",
                        path, path);
        bio = BIO_new_mem_buf(data, (int) size);
        if (!bio)
                return -ENOMEM;
        pkey = PEM_read_bio_PrivateKey(bio, NULL, refuse_passphrase, NULL);
        if (!pkey)
                return forge_error_set(err, -EINVAL, "%s is not a PEM private key: %s", path,
                                       openssl_error(why, sizeof why));
        r = key_kind(pkey, &a, why, sizeof why);
        if (r < 0)
                return forge_error_set(err, r, "key %s is %s", path, why);
        *ret = TAKE_PTR(pkey);
        if (ret_algorithm)
                *ret_algorithm = a;
        return 0;
}

/* ---- the anchor file ---- */

TrustAnchor *trust_anchor_free(TrustAnchor *a) {
        if (!a)
                return NULL;
        for (size_t i = 0; i < a->n_keys; i++) {
                free(a->keys[i].id);
                EVP_PKEY_free(a->keys[i].pkey);
        }
        free(a->keys);
        free(a->path);
        free(a->id);
        free(a->metadata);
        free(a->data);
        free(a);
        return NULL;
}

static bool name_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > NAME_MAX_LEN)
                return false;
        for (const char *c = s; *c; c++)
                if (!isalnum((unsigned char) *c) && !strchr("_.-", *c))
                        return false;
        return true;
}

typedef struct Ctx {
        const char *name;
        const JsonPositions *pos;
        ForgeError *err;
} Ctx;

/* "FILE:LINE:COL: " for the value at pointer (key: at its member name). */
_printf_(5, 6) static int fail(Ctx *c, int error, const char *pointer, bool key, const char *format, ...) {
        unsigned line, column;
        va_list ap;

        trust_json_position(c->pos, pointer, key, &line, &column);
        va_start(ap, format);
        error = forge_error_setv(c->err, FORGE_ERROR_CONFIG_INVALID, error, c->name, line, column, format,
                                 ap);
        va_end(ap);
        return error;
}

static int check_members(Ctx *c, json_object *o, const char *pointer, const char *what,
                         const char *const *known) {
        json_object_object_foreach(o, key, v) {
                bool ok = false;

                (void) v;
                for (const char *const *k = known; *k; k++)
                        ok = ok || streq(*k, key);
                if (!ok) {
                        _cleanup_free_ char *p = json_pointer_append_key(pointer, key);
                        return fail(c, -EINVAL, p, true, "unknown member \"%s\" in %s", key, what);
                }
        }
        return 0;
}

static int get_string_member(Ctx *c, json_object *o, const char *pointer, const char *key, bool required,
                             const char **ret) {
        _cleanup_free_ char *p = json_pointer_append_key(pointer, key);
        json_object *v;

        if (!p)
                return -ENOMEM;
        if (!json_object_object_get_ex(o, key, &v)) {
                if (required)
                        return fail(c, -EINVAL, pointer, false, "missing required member \"%s\"", key);
                *ret = NULL;
                return 0;
        }
        if (!json_object_is_type(v, json_type_string))
                return fail(c, -EINVAL, p, false, "\"%s\" must be a string", key);
        *ret = json_object_get_string(v);
        return 0;
}

static int parse_key(Ctx *c, json_object *o, size_t i, TrustAnchor *a) {
        static const char *const known[] = { "id", "algorithm", "public_key", "description", NULL };
        _cleanup_free_ char *ptr = NULL;
        const char *id, *alg, *pem;
        TrustKey *k = &a->keys[a->n_keys];
        TrustKeyAlgorithm expected, actual;
        ForgeError kerr = {};
        int r;

        if (asprintf(&ptr, "/keys/%zu", i) < 0)
                return -ENOMEM;
        if (!json_object_is_type(o, json_type_object))
                return fail(c, -EINVAL, ptr, false, "keys[%zu] must be an object", i);
        r = check_members(c, o, ptr, "a key", known);
        if (r < 0)
                return r;
        if ((r = get_string_member(c, o, ptr, "id", true, &id)) < 0 ||
            (r = get_string_member(c, o, ptr, "algorithm", true, &alg)) < 0 ||
            (r = get_string_member(c, o, ptr, "public_key", true, &pem)) < 0)
                return r;
        {
                _cleanup_free_ char *p = json_pointer_append_key(ptr, "id");

                if (!name_valid(id))
                        return fail(c, -EINVAL, p, false,
                                    "key id \"%s\" must be 1..%d characters of A-Z a-z 0-9 _ . -", id,
                                    NAME_MAX_LEN);
                for (size_t j = 0; j < a->n_keys; j++)
                        if (streq(a->keys[j].id, id))
                                return fail(c, -EINVAL, p, false, "key id \"%s\" is used twice", id);
        }
        expected = trust_key_algorithm_from_string(alg);
        if (expected < 0) {
                _cleanup_free_ char *p = json_pointer_append_key(ptr, "algorithm");
                return fail(c, -EINVAL, p, false,
                            "key \"%s\": algorithm \"%s\" is not \"ecdsa-p256\" or \"ed25519\"", id, alg);
        }
        r = trust_key_parse_public(pem, strlen(pem), &k->pkey, &actual, &kerr);
        if (r < 0) {
                _cleanup_free_ char *p = json_pointer_append_key(ptr, "public_key");
                return fail(c, r, p, false, "key \"%s\": public_key %s", id, kerr.message);
        }
        k->id = strdup(id);
        k->algorithm = actual;
        a->n_keys++;
        if (!k->id)
                return -ENOMEM;
        if (actual != expected) {
                _cleanup_free_ char *p = json_pointer_append_key(ptr, "algorithm");
                return fail(c, -EINVAL, p, false,
                            "key \"%s\" says algorithm \"%s\" but its public_key is %s", id, alg,
                            trust_key_algorithm_to_string(actual));
        }
        r = trust_key_fingerprint(k->pkey, k->fingerprint);
        if (r < 0)
                return fail(c, r, ptr, false, "key \"%s\": cannot encode the public key", id);
        return 0;
}

int trust_anchor_parse(const char *data, size_t size, const char *name, TrustAnchor **ret, ForgeError *err) {
        static const char *const known[] = { "format", "id", "keys", "metadata", NULL };
        _cleanup_(trust_anchor_freep) TrustAnchor *a = NULL;
        _cleanup_(json_object_putp) json_object *j = NULL;
        _cleanup_(json_positions_freep) JsonPositions *pos = NULL;
        json_object *v, *keys;
        const char *id;
        char why[256];
        size_t off, n;
        Ctx c = { .name = name, .err = err };
        int r;

        if (size > TRUST_ANCHOR_SIZE_MAX)
                return fail(&c, -EFBIG, NULL, false, "larger than %u bytes: not a trust anchor",
                            TRUST_ANCHOR_SIZE_MAX);
        r = trust_json_parse(data, size, &j, &pos, why, sizeof why, &off);
        if (r < 0) {
                unsigned line = 0, col = 0;

                if (off != SIZE_MAX)
                        json_offset_to_line_column(data, size, off, &line, &col);
                return forge_error_set_at(err, FORGE_ERROR_CONFIG_INVALID, r, name, line, col, "%s", why);
        }
        c.pos = pos;
        if (!json_object_is_type(j, json_type_object))
                return fail(&c, -EINVAL, "", false, "a trust anchor is a JSON object");
        r = check_members(&c, j, "", "the anchor", known);
        if (r < 0)
                return r;

        if (!json_object_object_get_ex(j, "format", &v))
                return fail(&c, -EINVAL, "", false, "missing required member \"format\" (%d)",
                            TRUST_ANCHOR_FORMAT);
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) != TRUST_ANCHOR_FORMAT)
                return fail(&c, -EINVAL, "/format", false,
                            "format must be %d, the only one this version reads", TRUST_ANCHOR_FORMAT);

        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        r = get_string_member(&c, j, "", "id", true, &id);
        if (r < 0)
                return r;
        if (!name_valid(id))
                return fail(&c, -EINVAL, "/id", false,
                            "anchor id \"%s\" must be 1..%d characters of A-Z a-z 0-9 _ . -", id,
                            NAME_MAX_LEN);
        a->id = strdup(id);
        if (!a->id)
                return -ENOMEM;

        if (!json_object_object_get_ex(j, "keys", &keys))
                return fail(&c, -EINVAL, "", false, "missing required member \"keys\"");
        if (!json_object_is_type(keys, json_type_array) || (n = json_object_array_length(keys)) == 0)
                return fail(&c, -EINVAL, "/keys", false, "\"keys\" must be a non-empty array of keys");
        a->keys = calloc(n, sizeof *a->keys);
        if (!a->keys)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = parse_key(&c, json_object_array_get_idx(keys, i), i, a);
                if (r < 0)
                        return r;
        }

        if (json_object_object_get_ex(j, "metadata", &v)) {
                if (!json_object_is_type(v, json_type_object))
                        return fail(&c, -EINVAL, "/metadata", false, "\"metadata\" must be an object");
                a->metadata = strdup(json_object_to_json_string_ext(
                        v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
                if (!a->metadata)
                        return -ENOMEM;
        }

        a->path = strdup(name);
        a->data = malloc(size + 1);
        if (!a->path || !a->data)
                return -ENOMEM;
        memcpy(a->data, data, size);
        a->data[size] = 0;
        a->size = size;
        r = trust_sha256(data, size, a->digest);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(a);
        return 0;
}

int trust_anchor_load(const char *path, TrustAnchor **ret, ForgeError *err) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        r = trust_read_file(path, TRUST_ANCHOR_SIZE_MAX, &data, &size);
        if (r == -EFBIG)
                return trust_config_fail(err, r, path, NULL, NULL, false,
                                         "larger than %u bytes: not a trust anchor", TRUST_ANCHOR_SIZE_MAX);
        if (r < 0)
                return forge_error_set(err, r, "cannot read trust anchor %s: %s", path, strerror(-r));
        return trust_anchor_parse(data, size, path, ret, err);
}

const TrustKey *trust_anchor_key(const TrustAnchor *a, const char *id) {
        for (size_t i = 0; a && id && i < a->n_keys; i++)
                if (streq(a->keys[i].id, id))
                        return &a->keys[i];
        return NULL;
}

const TrustKey *trust_anchor_key_by_pkey(const TrustAnchor *a, const EVP_PKEY *pkey) {
        for (size_t i = 0; a && pkey && i < a->n_keys; i++)
                if (EVP_PKEY_eq(a->keys[i].pkey, pkey) == 1)
                        return &a->keys[i];
        ERR_clear_error();
        return NULL;
}

static int append(char **s, size_t *len, const char *format, ...) _printf_(3, 4);
static int append(char **s, size_t *len, const char *format, ...) {
        char buf[512], *n;
        va_list ap;
        int k;

        va_start(ap, format);
        k = vsnprintf(buf, sizeof buf, format, ap);
        va_end(ap);
        if (k < 0)
                return -EIO;
        k = MIN(k, (int) sizeof buf - 1);
        n = realloc(*s, *len + (*len ? 2 : 0) + (size_t) k + 1);
        if (!n)
                return -ENOMEM;
        if (*len) {
                memcpy(n + *len, "; ", 2);
                *len += 2;
        }
        memcpy(n + *len, buf, (size_t) k + 1);
        *len += (size_t) k;
        *s = n;
        return 0;
}

int trust_anchor_diff(const TrustAnchor *old, const TrustAnchor *new, char **ret) {
        _cleanup_free_ char *s = NULL;
        size_t len = 0;
        int r = 0;

        if (!streq(old->id, new->id))
                r = append(&s, &len, "id \"%s\" became \"%s\"", old->id, new->id);
        for (size_t i = 0; r >= 0 && i < new->n_keys; i++) {
                const TrustKey *o = trust_anchor_key(old, new->keys[i].id);

                if (!o)
                        r = append(&s, &len, "key \"%s\" added", new->keys[i].id);
                else if (!streq(o->fingerprint, new->keys[i].fingerprint))
                        r = append(&s, &len, "key \"%s\" replaced (%s, was %s)", new->keys[i].id,
                                   new->keys[i].fingerprint, o->fingerprint);
        }
        for (size_t i = 0; r >= 0 && i < old->n_keys; i++)
                if (!trust_anchor_key(new, old->keys[i].id))
                        r = append(&s, &len, "key \"%s\" removed", old->keys[i].id);
        if (r >= 0 && !streq_ptr(old->metadata, new->metadata))
                r = append(&s, &len, "metadata changed");
        if (r < 0)
                return r;
        if (!s && !(s = strdup("")))
                return -ENOMEM;
        *ret = TAKE_PTR(s);
        return 0;
}
