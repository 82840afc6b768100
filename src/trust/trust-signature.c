/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <inttypes.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>

#include "forgeone/oci-digest.h"
#include "forgeone/string-table.h"
#include "forgeone/trust-signature.h"
#include "trust-internal.h"

#define REF_NAME          "org.opencontainers.image.ref.name"
#define MT_OCI_MANIFEST   "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG     "application/vnd.oci.image.config.v1+json"
#define INDEX_SIZE_MAX    (16u * 1024u * 1024u)
#define MANIFEST_SIZE_MAX (4u * 1024u * 1024u)

static const char *const trust_signature_failure_table[_TRUST_SIGNATURE_FAILURE_MAX] = {
        [TRUST_SIGNATURE_OK] = "ok",
        [TRUST_SIGNATURE_CORRUPTED] = "corrupted",
        [TRUST_SIGNATURE_WRONG_KEY] = "wrong-key",
        [TRUST_SIGNATURE_BAD_PAYLOAD] = "bad-payload",
        [TRUST_SIGNATURE_WRONG_TYPE] = "wrong-type",
        [TRUST_SIGNATURE_UNKNOWN_MEMBER] = "unknown-member",
        [TRUST_SIGNATURE_WRONG_DIGEST] = "wrong-digest",
        [TRUST_SIGNATURE_WRONG_REFERENCE] = "wrong-reference",
        [TRUST_SIGNATURE_KEY_NOT_ALLOWED] = "key-not-allowed",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(trust_signature_failure, TrustSignatureFailure)

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MD_CTX *, EVP_MD_CTX_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(ECDSA_SIG *, ECDSA_SIG_free);

void trust_signatures_free(TrustSignature *s, size_t n) {
        for (size_t i = 0; s && i < n; i++) {
                free(s[i].source);
                free(s[i].payload);
                free(s[i].signature);
        }
        free(s);
}

char *trust_signature_tag(const char *manifest_digest) {
        char *t;

        if (!manifest_digest || strncmp(manifest_digest, "sha256:", 7) != 0)
                return NULL;
        if (asprintf(&t, "sha256-%s.sig", manifest_digest + 7) < 0)
                return NULL;
        return t;
}

/* ---- payloads ---- */

int trust_payload_new(const char *reference, const char *manifest_digest, char **ret, size_t *ret_size) {
        _cleanup_(json_object_putp) json_object *top = json_object_new_object();
        json_object *critical = json_object_new_object(), *identity = json_object_new_object(),
                    *image = json_object_new_object();
        const char *s;

        if (!top || !critical || !identity || !image) {
                json_object_put(critical);
                json_object_put(identity);
                json_object_put(image);
                return -ENOMEM;
        }
        json_object_object_add(identity, "docker-reference", json_object_new_string(reference));
        json_object_object_add(image, "docker-manifest-digest", json_object_new_string(manifest_digest));
        json_object_object_add(critical, "identity", identity);
        json_object_object_add(critical, "image", image);
        json_object_object_add(critical, "type", json_object_new_string(TRUST_COSIGN_TYPE));
        json_object_object_add(top, "critical", critical);
        json_object_object_add(top, "optional", NULL);
        s = json_object_to_json_string_ext(top, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s || !(*ret = strdup(s)))
                return -ENOMEM;
        *ret_size = strlen(*ret);
        return 0;
}

/* ---- signing and verifying ---- */

static const EVP_MD *key_md(const EVP_PKEY *key) {
        /* Ed25519 signs the message itself (no separate digest); ECDSA signs its SHA-256. */
        return EVP_PKEY_is_a(key, "ED25519") ? NULL : EVP_sha256();
}

int trust_sign_data(EVP_PKEY *key, const void *data, size_t size, char **ret, ForgeError *err) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
        _cleanup_free_ unsigned char *sig = NULL;
        size_t len = 0;

        if (!md)
                return -ENOMEM;
        if (EVP_DigestSignInit(md, NULL, key_md(key), NULL, key) != 1 ||
            EVP_DigestSign(md, NULL, &len, data, size) != 1 || !(sig = malloc(len)) ||
            EVP_DigestSign(md, sig, &len, data, size) != 1) {
                char buf[256];

                ERR_error_string_n(ERR_peek_last_error(), buf, sizeof buf);
                ERR_clear_error();
                return forge_error_set(err, -EIO, "signing failed: %s", buf);
        }
        return trust_base64_encode(sig, len, ret);
}

static int verify_with(const TrustKey *k, const uint8_t *sig, size_t sig_size, const void *data,
                       size_t size) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
        int r;

        if (!md)
                return -ENOMEM;
        if (EVP_DigestVerifyInit(md, NULL, key_md(k->pkey), NULL, k->pkey) != 1) {
                ERR_clear_error();
                return -EIO;
        }
        r = EVP_DigestVerify(md, sig, sig_size, data, size);
        ERR_clear_error();
        return r == 1 ? 1 : 0;
}

/* A strict DER ECDSA-Sig-Value: it decodes, uses every byte, and re-encodes to the same bytes. */
static bool is_der_ecdsa(const uint8_t *sig, size_t n) {
        _cleanup_(ECDSA_SIG_freep) ECDSA_SIG *s = NULL;
        _cleanup_free_ unsigned char *again = NULL;
        const unsigned char *p = sig;
        int len;

        s = d2i_ECDSA_SIG(NULL, &p, (long) n);
        ERR_clear_error();
        if (!s || p != sig + n)
                return false;
        len = i2d_ECDSA_SIG(s, &again);
        return len == (int) n && memcmp(again, sig, n) == 0;
}

_printf_(3, 4) static int fail(TrustSignatureCheck *c, TrustSignatureFailure f, const char *format, ...) {
        static const int errors[_TRUST_SIGNATURE_FAILURE_MAX] = {
                [TRUST_SIGNATURE_CORRUPTED] = -EBADMSG,     [TRUST_SIGNATURE_WRONG_KEY] = -EKEYREJECTED,
                [TRUST_SIGNATURE_BAD_PAYLOAD] = -EBADMSG,   [TRUST_SIGNATURE_WRONG_TYPE] = -EPROTO,
                [TRUST_SIGNATURE_UNKNOWN_MEMBER] = -EPROTO, [TRUST_SIGNATURE_WRONG_DIGEST] = -ESTALE,
                [TRUST_SIGNATURE_WRONG_REFERENCE] = -EPERM, [TRUST_SIGNATURE_KEY_NOT_ALLOWED] = -EPERM,
        };
        va_list ap;
        int r;

        c->failure = f;
        forge_error_clear(&c->error);
        va_start(ap, format);
        r = forge_error_setv(&c->error, FORGE_ERROR_UNTRUSTED, errors[f], NULL, 0, 0, format, ap);
        va_end(ap);
        return r;
}

static const char *unknown_member(json_object *o, const char *const *known) {
        json_object_object_foreach(o, key, v) {
                bool ok = false;

                (void) v;
                for (const char *const *k = known; *k; k++)
                        ok = ok || streq(*k, key);
                if (!ok)
                        return key;
        }
        return NULL;
}

static const char *string_member(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static int check_payload(TrustSignatureCheck *c, const char *payload, size_t size,
                         const char *manifest_digest, const char *pinned_reference) {
        static const char *const top_known[] = { "critical", "optional", NULL };
        static const char *const critical_known[] = { "identity", "image", "type", NULL };
        static const char *const identity_known[] = { "docker-reference", NULL };
        static const char *const image_known[] = { "docker-manifest-digest", NULL };
        _cleanup_(json_object_putp) json_object *j = NULL;
        json_object *critical, *identity, *image, *v;
        const char *s, *type, *digest, *ref;
        uint8_t d[32];
        char why[256];
        size_t off;

        if (trust_json_parse(payload, size, &j, NULL, why, sizeof why, &off) < 0)
                return fail(c, TRUST_SIGNATURE_BAD_PAYLOAD, "the signed payload is not valid: %s", why);
        if (!json_object_is_type(j, json_type_object))
                return fail(c, TRUST_SIGNATURE_BAD_PAYLOAD, "the signed payload is not a JSON object");
        if ((s = unknown_member(j, top_known)))
                return fail(c, TRUST_SIGNATURE_UNKNOWN_MEMBER,
                            "the signed payload has an unknown top-level member "
                            "\"%s\"",
                            s);
        if (json_object_object_get_ex(j, "optional", &v) && !json_object_is_type(v, json_type_null) &&
            !json_object_is_type(v, json_type_object))
                return fail(c, TRUST_SIGNATURE_BAD_PAYLOAD,
                            "the signed payload's \"optional\" is neither an object "
                            "nor null");
        if (!json_object_object_get_ex(j, "critical", &critical) ||
            !json_object_is_type(critical, json_type_object))
                return fail(c, TRUST_SIGNATURE_BAD_PAYLOAD, "the signed payload has no \"critical\" object");
        if ((s = unknown_member(critical, critical_known)))
                return fail(c, TRUST_SIGNATURE_UNKNOWN_MEMBER,
                            "the signed payload has an unknown critical member \"%s\": it may carry a "
                            "requirement "
                            "this verifier cannot check",
                            s);
        type = string_member(critical, "type");
        if (!type)
                return fail(c, TRUST_SIGNATURE_BAD_PAYLOAD,
                            "the signed payload has no critical.type string");
        if (!streq(type, TRUST_COSIGN_TYPE))
                return fail(c, TRUST_SIGNATURE_WRONG_TYPE,
                            "the signed payload's type is \"%.100s\", not \"%s\"", type, TRUST_COSIGN_TYPE);
        if (!json_object_object_get_ex(critical, "image", &image) ||
            !json_object_is_type(image, json_type_object))
                return fail(c, TRUST_SIGNATURE_BAD_PAYLOAD,
                            "the signed payload has no critical.image object");
        if ((s = unknown_member(image, image_known)))
                return fail(c, TRUST_SIGNATURE_UNKNOWN_MEMBER,
                            "the signed payload has an unknown critical member \"image.%s\": it may carry a "
                            "requirement this verifier cannot check",
                            s);
        if (!json_object_object_get_ex(critical, "identity", &identity) ||
            !json_object_is_type(identity, json_type_object))
                return fail(c, TRUST_SIGNATURE_BAD_PAYLOAD,
                            "the signed payload has no critical.identity object");
        if ((s = unknown_member(identity, identity_known)))
                return fail(
                        c, TRUST_SIGNATURE_UNKNOWN_MEMBER,
                        "the signed payload has an unknown critical member \"identity.%s\": it may carry a "
                        "requirement this verifier cannot check",
                        s);
        digest = string_member(image, "docker-manifest-digest");
        if (!digest || trust_digest_parse(digest, d) < 0)
                return fail(c, TRUST_SIGNATURE_BAD_PAYLOAD,
                            "the signed payload's critical.image.docker-manifest-digest "
                            "is not sha256:<64 lowercase hex>");
        ref = string_member(identity, "docker-reference");
        if (!ref)
                return fail(c, TRUST_SIGNATURE_BAD_PAYLOAD,
                            "the signed payload has no "
                            "critical.identity.docker-reference string");
        snprintf(c->reference, sizeof c->reference, "%s", ref);
        if (!streq(digest, manifest_digest))
                return fail(c, TRUST_SIGNATURE_WRONG_DIGEST,
                            "the signed payload is for %s, not for this image (manifest "
                            "%s)",
                            digest, manifest_digest);
        if (pinned_reference && !streq(ref, pinned_reference))
                return fail(c, TRUST_SIGNATURE_WRONG_REFERENCE,
                            "the signature is for reference \"%.100s\", not the "
                            "required \"%.100s\"",
                            ref, pinned_reference);
        return 0;
}

int trust_signature_check(const TrustAnchor *anchor, const TrustSignature *sig, const char *manifest_digest,
                          const char *pinned_reference, char *const *allowed_keys,
                          TrustSignatureCheck *ret) {
        _cleanup_free_ uint8_t *decoded = NULL;
        const uint8_t *bytes;
        size_t n;
        bool der, ed, fits = false;
        char keys[256] = "";
        int r;

        *ret = (TrustSignatureCheck){};
        if (sig->signature_raw) {
                bytes = (const uint8_t *) sig->signature;
                n = sig->signature_size;
        } else {
                r = trust_base64_decode(sig->signature, sig->signature_size, &decoded, &n);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return fail(ret, TRUST_SIGNATURE_CORRUPTED,
                                    "the signature is corrupted: not valid base64");
                bytes = decoded;
        }
        der = is_der_ecdsa(bytes, n);
        ed = n == 64;
        if (!der && !ed)
                return fail(ret, TRUST_SIGNATURE_CORRUPTED,
                            "the signature is corrupted: its %zu bytes are neither a DER ECDSA signature "
                            "nor a 64-byte "
                            "Ed25519 signature",
                            n);

        for (size_t i = 0; i < anchor->n_keys; i++) {
                const TrustKey *k = &anchor->keys[i];
                size_t len = strlen(keys);

                snprintf(keys + len, sizeof keys - len, "%s%s", len ? ", " : "", k->id);
                if (!((der && k->algorithm == TRUST_KEY_ECDSA_P256) ||
                      (ed && k->algorithm == TRUST_KEY_ED25519)))
                        continue;
                fits = true;
                r = verify_with(k, bytes, n, sig->payload, sig->payload_size);
                if (r < 0)
                        return r;
                if (r > 0) {
                        ret->key = k;
                        break;
                }
        }
        if (!ret->key)
                return fail(ret, TRUST_SIGNATURE_WRONG_KEY,
                            "the signature does not verify with any key of anchor \"%s\" (%s)%s", anchor->id,
                            keys,
                            fits  ? ": it was made with another key, or its bytes were altered"
                            : der ? ": it is an ECDSA signature and the anchor has no ECDSA P-256 key"
                                  : ": it is an Ed25519 signature and the anchor has no Ed25519 key");

        /* Only now is the payload worth parsing: its signer is one we trust. */
        r = check_payload(ret, sig->payload, sig->payload_size, manifest_digest, pinned_reference);
        if (r < 0)
                return r;

        if (allowed_keys) {
                bool ok = false;
                char want[256] = "";

                for (char *const *k = allowed_keys; *k; k++) {
                        size_t len = strlen(want);

                        ok = ok || streq(*k, ret->key->id);
                        snprintf(want + len, sizeof want - len, "%s%s", len ? ", " : "", *k);
                }
                if (!ok)
                        return fail(ret, TRUST_SIGNATURE_KEY_NOT_ALLOWED,
                                    "signed by anchor key \"%s\", but only these keys are allowed: %s",
                                    ret->key->id, want);
        }
        return 0;
}

/* ---- the layout ---- */

/* Reads a small blob completely and checks its digest. */
static int read_blob(const OciImage *image, const char *digest, uint64_t size, size_t max, const char *what,
                     char **ret, ForgeError *err) {
        OciDescriptor d = { .digest = (char *) digest, .size = size };
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        char actual[OCI_DIGEST_STRING_MAX];
        size_t done = 0;
        int r;

        if (size > max)
                return forge_error_set(err, -EFBIG, "%s %s is %" PRIu64 " bytes, more than %zu", what,
                                       digest, size, max);
        fd = oci_image_open_blob(image, &d, err);
        if (fd < 0)
                return forge_error_prefix(err, fd, "%s: ", what);
        buf = malloc(size + 1);
        if (!buf)
                return -ENOMEM;
        while (done < size) {
                ssize_t k = read(fd, buf + done, size - done);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return forge_error_set(err, k < 0 ? negative_errno() : -EBADMSG,
                                               "%s %s: cannot read it", what, digest);
                done += (size_t) k;
        }
        buf[done] = 0;
        r = oci_digest_buffer(OCI_DIGEST_SHA256, buf, done, actual);
        if (r < 0)
                return r;
        if (!streq(actual, digest))
                return forge_error_set(err, -EBADMSG, "%s: digest mismatch: expected %s, actual %s", what,
                                       digest, actual);
        *ret = TAKE_PTR(buf);
        return 0;
}

static int read_index(const OciImage *image, int *ret_dir_fd, json_object **ret, ForgeError *err) {
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        _cleanup_free_ char *data = NULL;
        json_object *j;
        size_t size;
        int r;

        dfd = open(image->layout_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return forge_error_set(err, negative_errno(), "cannot open layout %s: %m",
                                       image->layout_path);
        fd = openat(dfd, "index.json", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return forge_error_set(err, negative_errno(), "cannot open %s/index.json: %m",
                                       image->layout_path);
        r = trust_read_fd(fd, INDEX_SIZE_MAX, &data, &size);
        if (r < 0)
                return forge_error_set(err, r, "cannot read %s/index.json: %s", image->layout_path,
                                       strerror(-r));
        j = json_tokener_parse(data);
        if (!j || !json_object_is_type(j, json_type_object)) {
                json_object_put(j);
                return forge_error_set(err, -EBADMSG, "%s/index.json is not a JSON object",
                                       image->layout_path);
        }
        *ret = j;
        if (ret_dir_fd)
                *ret_dir_fd = TAKE_FD(dfd);
        return 0;
}

static const char *entry_ref_name(json_object *e) {
        json_object *ann;

        if (!json_object_object_get_ex(e, "annotations", &ann) ||
            !json_object_is_type(ann, json_type_object))
                return NULL;
        return string_member(ann, REF_NAME);
}

static int descriptor_fields(json_object *o, const char **ret_digest, uint64_t *ret_size) {
        json_object *v;
        const char *d = string_member(o, "digest");
        int64_t size;

        if (!d || oci_digest_parse(d, NULL, NULL) != OCI_DIGEST_SHA256)
                return -EBADMSG;
        if (!json_object_object_get_ex(o, "size", &v) || !json_object_is_type(v, json_type_int) ||
            (size = json_object_get_int64(v)) < 0)
                return -EBADMSG;
        *ret_digest = d;
        *ret_size = (uint64_t) size;
        return 0;
}

static int push_signature(TrustSignature **l, size_t *n, TrustSignature *s) {
        TrustSignature *nl = realloc(*l, (*n + 1) * sizeof **l);

        if (!nl)
                return -ENOMEM;
        *l = nl;
        nl[(*n)++] = *s;
        *s = (TrustSignature){};
        return 0;
}

static void signature_done(TrustSignature *s) {
        free(s->source);
        free(s->payload);
        free(s->signature);
        *s = (TrustSignature){};
}

static int manifest_signatures(const OciImage *image, const char *tag, const char *digest, uint64_t size,
                               TrustSignature **l, size_t *n, ForgeError *err) {
        _cleanup_(json_object_putp) json_object *m = NULL;
        _cleanup_free_ char *data = NULL, *what = NULL;
        json_object *layers;
        int r;

        if (asprintf(&what, "signature manifest (tag %s)", tag) < 0)
                return -ENOMEM;
        r = read_blob(image, digest, size, MANIFEST_SIZE_MAX, what, &data, err);
        if (r < 0)
                return r;
        m = json_tokener_parse(data);
        if (!m || !json_object_object_get_ex(m, "layers", &layers) ||
            !json_object_is_type(layers, json_type_array))
                return forge_error_set(err, -EBADMSG, "%s %s has no \"layers\" array", what, digest);

        for (size_t i = 0; i < json_object_array_length(layers); i++) {
                json_object *layer = json_object_array_get_idx(layers, i), *ann;
                _cleanup_(signature_done) TrustSignature s = {};
                const char *ld, *sig;
                uint64_t lsize;

                if (!streq_ptr(string_member(layer, "mediaType"), TRUST_COSIGN_MEDIA_TYPE))
                        continue;
                if (descriptor_fields(layer, &ld, &lsize) < 0)
                        return forge_error_set(err, -EBADMSG,
                                               "%s %s: layer %zu is not a valid sha256 descriptor", what,
                                               digest, i + 1);
                if (asprintf(&s.source, "layout tag %s, layer %zu", tag, i + 1) < 0)
                        return -ENOMEM;
                r = read_blob(image, ld, lsize, TRUST_PAYLOAD_SIZE_MAX, "signature payload", &s.payload,
                              err);
                if (r < 0)
                        return forge_error_prefix(err, r, "%s: ", s.source);
                s.payload_size = (size_t) lsize;
                sig = NULL;
                if (json_object_object_get_ex(layer, "annotations", &ann))
                        sig = string_member(ann, TRUST_COSIGN_ANNOTATION);
                if (!sig)
                        sig = ""; /* reported as a corrupted signature, with the others still considered */
                if (strlen(sig) > TRUST_SIGNATURE_SIZE_MAX * 2)
                        return forge_error_set(err, -EFBIG, "%s: the signature annotation is too long",
                                               s.source);
                s.signature = strdup(sig);
                if (!s.signature)
                        return -ENOMEM;
                s.signature_size = strlen(sig);
                r = push_signature(l, n, &s);
                if (r < 0)
                        return r;
        }
        return 0;
}

int trust_layout_signatures(const OciImage *image, TrustSignature **ret, size_t *ret_n, ForgeError *err) {
        _cleanup_(json_object_putp) json_object *index = NULL;
        _cleanup_free_ char *tag = trust_signature_tag(image->manifest.digest);
        TrustSignature *l = NULL;
        json_object *manifests;
        size_t n = 0;
        int r;

        if (!tag)
                return forge_error_set(err, -EOPNOTSUPP,
                                       "image %s: only sha256 manifests can carry signatures",
                                       image->manifest.digest);
        r = read_index(image, NULL, &index, err);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(index, "manifests", &manifests) ||
            !json_object_is_type(manifests, json_type_array))
                return forge_error_set(err, -EBADMSG, "%s/index.json has no \"manifests\" array",
                                       image->layout_path);
        for (size_t i = 0; i < json_object_array_length(manifests); i++) {
                json_object *e = json_object_array_get_idx(manifests, i);
                const char *d;
                uint64_t size;

                if (!streq_ptr(entry_ref_name(e), tag))
                        continue;
                if (descriptor_fields(e, &d, &size) < 0) {
                        trust_signatures_free(l, n);
                        return forge_error_set(err, -EBADMSG,
                                               "%s/index.json: the entry tagged %s is not a valid "
                                               "sha256 descriptor",
                                               image->layout_path, tag);
                }
                r = manifest_signatures(image, tag, d, size, &l, &n, err);
                if (r < 0) {
                        trust_signatures_free(l, n);
                        return r;
                }
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

static bool looks_base64(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!s[i] ||
                    !strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \t\r\n",
                            s[i]))
                        return false;
        return true;
}

int trust_detached_signature(const char *payload_path, const char *signature_path, TrustSignature *ret,
                             ForgeError *err) {
        _cleanup_(signature_done) TrustSignature s = {};
        int r;

        r = trust_read_file(payload_path, TRUST_PAYLOAD_SIZE_MAX, &s.payload, &s.payload_size);
        if (r < 0)
                return forge_error_set(err, r, "cannot read signature payload %s: %s", payload_path,
                                       r == -EFBIG ? "larger than a payload can be" : strerror(-r));
        r = trust_read_file(signature_path, TRUST_SIGNATURE_SIZE_MAX * 2, &s.signature, &s.signature_size);
        if (r < 0)
                return forge_error_set(err, r, "cannot read signature %s: %s", signature_path,
                                       r == -EFBIG ? "larger than a signature can be" : strerror(-r));
        s.signature_raw = !looks_base64(s.signature, s.signature_size);
        if (asprintf(&s.source, "detached %s", signature_path) < 0)
                return -ENOMEM;
        *ret = s;
        s = (TrustSignature){};
        return 0;
}

/* ---- signing a layout ---- */

static int write_blob(int sha_fd, const void *data, size_t size, char ret[static OCI_DIGEST_STRING_MAX],
                      ForgeError *err) {
        int r;

        r = oci_digest_buffer(OCI_DIGEST_SHA256, data, size, ret);
        if (r < 0)
                return r;
        if (faccessat(sha_fd, ret + 7, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return 0; /* content-addressed: it is there already */
        r = trust_write_file_atomic_at(sha_fd, ret + 7, data, size, 0644);
        if (r < 0)
                return forge_error_set(err, r, "cannot write blob %s: %s", ret, strerror(-r));
        return 0;
}

static json_object *descriptor_new(const char *media_type, const char *digest, size_t size) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "mediaType", json_object_new_string(media_type));
        json_object_object_add(o, "digest", json_object_new_string(digest));
        json_object_object_add(o, "size", json_object_new_int64((int64_t) size));
        return o;
}

static const char *to_string(json_object *o) {
        return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

int trust_layout_sign(const OciImage *image, EVP_PKEY *key, const char *reference, ForgeError *err) {
        _cleanup_free_ char *payload = NULL, *sig = NULL, *tag = trust_signature_tag(image->manifest.digest);
        _cleanup_(json_object_putp) json_object *index = NULL, *config = NULL, *manifest = NULL;
        _cleanup_close_ int layout_fd = -EBADF, sha_fd = -EBADF;
        TrustSignature *old = NULL;
        size_t n_old = 0, payload_size;
        char digest[OCI_DIGEST_STRING_MAX], cfg_digest[OCI_DIGEST_STRING_MAX],
                man_digest[OCI_DIGEST_STRING_MAX];
        json_object *layers, *diff_ids, *rootfs, *manifests, *kept, *d, *ann;
        TrustKey self = { .id = (char *) "signer", .pkey = key };
        const char *s;
        int r;

        if (!tag)
                return forge_error_set(err, -EOPNOTSUPP, "image %s: only sha256 manifests can be signed",
                                       image->manifest.digest);
        r = trust_payload_new(reference, image->manifest.digest, &payload, &payload_size);
        if (r < 0)
                return r;
        r = trust_sign_data(key, payload, payload_size, &sig, err);
        if (r < 0)
                return r;

        r = trust_layout_signatures(image, &old, &n_old, err);
        if (r < 0)
                return forge_error_prefix(err, r, "cannot read the image's present signatures: ");
        sha_fd = openat(image->blobs_fd, "sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sha_fd < 0) {
                trust_signatures_free(old, n_old);
                return forge_error_set(err, negative_errno(), "cannot open %s/blobs/sha256: %m",
                                       image->layout_path);
        }

        layers = json_object_new_array();
        diff_ids = json_object_new_array();
        manifest = json_object_new_object();
        config = json_object_new_object();
        if (!layers || !diff_ids || !manifest || !config) {
                json_object_put(layers);
                json_object_put(diff_ids);
                trust_signatures_free(old, n_old);
                return -ENOMEM;
        }
        /* The other signers' signatures stay; an older one by this key is replaced. */
        self.algorithm = EVP_PKEY_is_a(key, "ED25519") ? TRUST_KEY_ED25519 : TRUST_KEY_ECDSA_P256;
        for (size_t i = 0; i <= n_old; i++) {
                const char *p = i < n_old ? old[i].payload : payload;
                size_t psize = i < n_old ? old[i].payload_size : payload_size;
                const char *sg = i < n_old ? old[i].signature : sig;

                if (i < n_old) {
                        TrustAnchor one = { .id = (char *) "signer", .keys = &self, .n_keys = 1 };
                        TrustSignatureCheck c;

                        /* c.key is set once the signature verified with our key, whatever the payload says.
                         */
                        if (trust_signature_check(&one, &old[i], image->manifest.digest, NULL, NULL, &c) >=
                                    0 ||
                            c.key)
                                continue;
                }
                r = write_blob(sha_fd, p, psize, digest, err);
                if (r < 0)
                        break;
                d = descriptor_new(TRUST_COSIGN_MEDIA_TYPE, digest, psize);
                ann = json_object_new_object();
                if (!d || !ann) {
                        json_object_put(d);
                        json_object_put(ann);
                        r = -ENOMEM;
                        break;
                }
                json_object_object_add(ann, TRUST_COSIGN_ANNOTATION, json_object_new_string(sg));
                json_object_object_add(d, "annotations", ann);
                json_object_array_add(layers, d);
                json_object_array_add(diff_ids, json_object_new_string(digest));
        }
        trust_signatures_free(old, n_old);
        if (r < 0) {
                json_object_put(layers);
                json_object_put(diff_ids);
                return r;
        }

        /* The config cosign writes: empty, with the payloads as its layers. */
        rootfs = json_object_new_object();
        json_object_object_add(config, "architecture", json_object_new_string(""));
        json_object_object_add(config, "config", json_object_new_object());
        json_object_object_add(config, "created", json_object_new_string("0001-01-01T00:00:00Z"));
        json_object_object_add(config, "os", json_object_new_string(""));
        json_object_object_add(rootfs, "type", json_object_new_string("layers"));
        json_object_object_add(rootfs, "diff_ids", diff_ids);
        json_object_object_add(config, "rootfs", rootfs);
        s = to_string(config);
        if (!s) {
                json_object_put(layers);
                return -ENOMEM;
        }
        r = write_blob(sha_fd, s, strlen(s), cfg_digest, err);
        if (r < 0) {
                json_object_put(layers);
                return r;
        }

        json_object_object_add(manifest, "schemaVersion", json_object_new_int(2));
        json_object_object_add(manifest, "mediaType", json_object_new_string(MT_OCI_MANIFEST));
        json_object_object_add(manifest, "config", descriptor_new(MT_OCI_CONFIG, cfg_digest, strlen(s)));
        json_object_object_add(manifest, "layers", layers);
        s = to_string(manifest);
        if (!s)
                return -ENOMEM;
        payload_size = strlen(s);
        r = write_blob(sha_fd, s, payload_size, man_digest, err);
        if (r < 0)
                return r;

        /* index.json: every entry but the old signature tag, then the new one. */
        r = read_index(image, &layout_fd, &index, err);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(index, "manifests", &manifests) ||
            !json_object_is_type(manifests, json_type_array))
                return forge_error_set(err, -EBADMSG, "%s/index.json has no \"manifests\" array",
                                       image->layout_path);
        kept = json_object_new_array();
        if (!kept)
                return -ENOMEM;
        for (size_t i = 0; i < json_object_array_length(manifests); i++) {
                json_object *e = json_object_array_get_idx(manifests, i);

                if (!streq_ptr(entry_ref_name(e), tag))
                        json_object_array_add(kept, json_object_get(e));
        }
        d = descriptor_new(MT_OCI_MANIFEST, man_digest, payload_size);
        ann = json_object_new_object();
        if (!d || !ann) {
                json_object_put(d);
                json_object_put(ann);
                json_object_put(kept);
                return -ENOMEM;
        }
        json_object_object_add(ann, REF_NAME, json_object_new_string(tag));
        json_object_object_add(d, "annotations", ann);
        json_object_array_add(kept, d);
        json_object_object_add(index, "manifests", kept);
        s = to_string(index);
        if (!s)
                return -ENOMEM;
        r = trust_write_file_atomic_at(layout_fd, "index.json", s, strlen(s), 0644);
        if (r < 0)
                return forge_error_set(err, r, "cannot write %s/index.json: %s", image->layout_path,
                                       strerror(-r));
        return 0;
}
