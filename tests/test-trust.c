/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The trust module without a TPM: anchor and configuration parsing with their exact messages, cosign
 * simple-signing signatures (every failure mode by its own message), signing a layout, the launch
 * verifier in software mode against policy identities, the event log reader and replay, the layer tree
 * record, and the policy's signature requirements. Keys are made here with OpenSSL (the live test uses
 * the openssl CLI); each test works in its own temp dir, removed by a checked fixture.
 */

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include "forgeone/layer-tree.h"
#include "forgeone/trust-anchor.h"
#include "forgeone/trust-config.h"
#include "forgeone/trust-log.h"
#include "forgeone/trust-signature.h"
#include "forgeone/trust-verify.h"
#include "image-test-util.h"
#include "test-util.h"

static char *tmp;
static EVP_PKEY *ec_key, *ed_key, *other_key;
static char *ec_pem, *ed_pem, *other_pem;

static char *public_pem(EVP_PKEY *k) {
        BIO *b = BIO_new(BIO_s_mem());
        char *p, *s;
        long n;

        ck_assert(b && PEM_write_bio_PUBKEY(b, k) == 1);
        n = BIO_get_mem_data(b, &p);
        s = strndup(p, (size_t) n);
        BIO_free(b);
        return s;
}

static void setup(void) {
        tmp = test_mkdtemp();
        ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        ed_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        other_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        ck_assert(ec_key && ed_key && other_key);
        ec_pem = public_pem(ec_key);
        ed_pem = public_pem(ed_key);
        other_pem = public_pem(other_key);
}

static void teardown(void) {
        test_rm_rf(tmp);
        free(tmp);
        EVP_PKEY_free(ec_key);
        EVP_PKEY_free(ed_key);
        EVP_PKEY_free(other_key);
        free(ec_pem);
        free(ed_pem);
        free(other_pem);
}

/* JSON string literal of s (PEM has newlines). */
static char *json_str(const char *s) {
        TestBuf b = {};

        test_buf_append_str(&b, "\"");
        for (const char *p = s; *p; p++)
                if (*p == '\n')
                        test_buf_append_str(&b, "\\n");
                else
                        test_buf_append(&b, p, 1);
        test_buf_append_str(&b, "\"");
        return b.data;
}

/* An anchor with the EC key "release" and the Ed25519 key "edkey". */
static char *anchor_text(void) {
        _cleanup_free_ char *e = json_str(ec_pem), *d = json_str(ed_pem);
        char *s;

        ck_assert_int_ge(
                asprintf(&s,
                         "{\n  \"format\": 1,\n  \"id\": \"unit\",\n  \"keys\": [\n"
                         "    { \"id\": \"release\", \"algorithm\": \"ecdsa-p256\", \"public_key\": %s },\n"
                         "    { \"id\": \"edkey\", \"algorithm\": \"ed25519\", \"public_key\": %s }\n  ],\n"
                         "  \"metadata\": { \"owner\": \"unit tests\" }\n}\n",
                         e, d),
                0);
        return s;
}

static TrustAnchor *anchor_load(void) {
        _cleanup_free_ char *t = anchor_text();
        TrustAnchor *a = NULL;
        ForgeError err = {};

        ck_assert_msg(trust_anchor_parse(t, strlen(t), "anchor.json", &a, &err) >= 0, "%s", err.message);
        return a;
}

/* ---- the anchor ---- */

START_TEST(test_anchor_valid) {
        _cleanup_(trust_anchor_freep) TrustAnchor *a = anchor_load();
        _cleanup_free_ char *t = anchor_text();
        _cleanup_free_ unsigned char *der = NULL;
        uint8_t d[32];
        char hex[72];
        int n;

        ck_assert_str_eq(a->id, "unit");
        ck_assert_int_eq(a->n_keys, 2);
        ck_assert_int_eq(trust_anchor_key(a, "release")->algorithm, TRUST_KEY_ECDSA_P256);
        ck_assert_int_eq(trust_anchor_key(a, "edkey")->algorithm, TRUST_KEY_ED25519);
        ck_assert_ptr_null(trust_anchor_key(a, "nope"));
        ck_assert_str_eq(a->metadata, "{\"owner\":\"unit tests\"}");
        /* The identity is the file's bytes, exactly. */
        EVP_Digest(t, strlen(t), d, NULL, EVP_sha256(), NULL);
        ck_assert_mem_eq(a->digest, d, 32);
        /* The fingerprint is the SHA-256 of the DER SubjectPublicKeyInfo (openssl pkey -pubout -outform
         * DER). */
        n = i2d_PUBKEY(ec_key, &der);
        EVP_Digest(der, (size_t) n, d, NULL, EVP_sha256(), NULL);
        ck_assert_str_eq(trust_anchor_key(a, "release")->fingerprint, trust_digest_to_string(d, hex));
        ck_assert_ptr_eq(trust_anchor_key_by_pkey(a, ed_key), trust_anchor_key(a, "edkey"));
        ck_assert_ptr_null(trust_anchor_key_by_pkey(a, other_key));
}
END_TEST

static void expect_anchor_error(const char *text, const char *message) {
        TrustAnchor *a = NULL;
        ForgeError err = {};

        ck_assert_int_lt(trust_anchor_parse(text, strlen(text), "a.json", &a, &err), 0);
        ck_assert_ptr_null(a);
        ck_assert_msg(strstr(err.message, message), "for %s\nexpected \"%s\"\ngot \"%s\"", text, message,
                      err.message);
        /* A wrong file, named with its position: the daemon answers ConfigInvalid. */
        ck_assert_int_eq(err.kind, FORGE_ERROR_CONFIG_INVALID);
        ck_assert_str_eq(err.file, "a.json");
        ck_assert_str_eq(forge_error_bus_name(&err, err.error), "org.forgeone.Error.ConfigInvalid");
}

START_TEST(test_anchor_errors) {
        _cleanup_free_ char *e = json_str(ec_pem), *d = json_str(ed_pem), *t = NULL;
        EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 1024),
                 *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
        _cleanup_free_ char *rsa_pem = public_pem(rsa), *p384_pem = public_pem(p384);
        _cleanup_free_ char *r = json_str(rsa_pem), *p = json_str(p384_pem);
        char buf[8192];

        EVP_PKEY_free(rsa);
        EVP_PKEY_free(p384);
#define K(id, alg, pem) "{\"id\":\"" id "\",\"algorithm\":\"" alg "\",\"public_key\":%s}"
        snprintf(buf, sizeof buf,
                 "{\"format\":1,\"id\":\"a\",\"keys\":[" K("k", "ecdsa-p256", "") "],\n\"extra\":1}", e);
        expect_anchor_error(buf, "a.json:2:1: unknown member \"extra\" in the anchor");
        snprintf(buf, sizeof buf, "{\"format\":2,\"id\":\"a\",\"keys\":[" K("k", "ecdsa-p256", "") "]}", e);
        expect_anchor_error(buf, "a.json:1:11: format must be 1, the only one this version reads");
        snprintf(buf, sizeof buf, "{\"id\":\"a\",\"keys\":[" K("k", "ecdsa-p256", "") "]}", e);
        expect_anchor_error(buf, "missing required member \"format\"");
        snprintf(buf, sizeof buf, "{\"format\":1,\"id\":\"a b\",\"keys\":[" K("k", "ecdsa-p256", "") "]}",
                 e);
        expect_anchor_error(buf, "anchor id \"a b\" must be 1..128 characters");
        snprintf(buf, sizeof buf, "{\"format\":1,\"id\":\"a\",\"keys\":[]}");
        expect_anchor_error(buf, "\"keys\" must be a non-empty array of keys");
        snprintf(buf, sizeof buf,
                 "{\"format\":1,\"id\":\"a\",\"keys\":[" K("k", "ecdsa-p256", "") "," K("k", "ed25519",
                                                                                        "") "]}",
                 e, d);
        expect_anchor_error(buf, "key id \"k\" is used twice");
        snprintf(buf, sizeof buf, "{\"format\":1,\"id\":\"a\",\"keys\":[" K("k", "ecdsa-p256", "") "]}", d);
        expect_anchor_error(buf, "key \"k\" says algorithm \"ecdsa-p256\" but its public_key is ed25519");
        snprintf(buf, sizeof buf, "{\"format\":1,\"id\":\"a\",\"keys\":[" K("k", "rsa", "") "]}", e);
        expect_anchor_error(buf, "key \"k\": algorithm \"rsa\" is not \"ecdsa-p256\" or \"ed25519\"");
        snprintf(buf, sizeof buf, "{\"format\":1,\"id\":\"a\",\"keys\":[" K("k", "ecdsa-p256", "") "]}", r);
        expect_anchor_error(buf,
                            "key \"k\": public_key is a RSA key: only ECDSA P-256 and Ed25519 are accepted");
        snprintf(buf, sizeof buf, "{\"format\":1,\"id\":\"a\",\"keys\":[" K("k", "ecdsa-p256", "") "]}", p);
        expect_anchor_error(
                buf, "public_key is an EC key on curve secp384r1: only P-256 (prime256v1) is accepted");
        snprintf(buf, sizeof buf, "{\"format\":1,\"id\":\"a\",\"keys\":[" K("k", "ecdsa-p256", "") "]}",
                 "\"hello\"");
        expect_anchor_error(buf, "public_key must hold exactly one PEM block");
        snprintf(buf, sizeof buf,
                 "{\"format\":1,\"id\":\"a\",\"keys\":[" K("k", "ecdsa-p256", "") "],\"format\":1}", e);
        expect_anchor_error(buf, "member \"/format\" is given twice");
        snprintf(buf, sizeof buf, "{\"format\":1,\"id\":\"a\",\"keys\":[" K("k", "ecdsa-p256", "") "]} x",
                 e);
        expect_anchor_error(buf, "not valid JSON (unexpected character)");
        expect_anchor_error("{\"format\":1,\n \"id\":", "a.json:2:");
        snprintf(buf, sizeof buf,
                 "{\"format\":1,\"id\":\"a\",\"keys\":[" K("k", "ecdsa-p256", "") "],\"metadata\":[]}", e);
        expect_anchor_error(buf, "\"metadata\" must be an object");
#undef K
        (void) t;
}
END_TEST

START_TEST(test_anchor_diff) {
        _cleanup_(trust_anchor_freep) TrustAnchor *a = anchor_load(), *b = NULL;
        _cleanup_free_ char *o = json_str(other_pem), *e = json_str(ec_pem), *text = NULL, *diff = NULL;
        ForgeError err = {};

        ck_assert_int_ge(asprintf(&text,
                                  "{\"format\":1,\"id\":\"unit2\",\"keys\":["
                                  "{\"id\":\"release\",\"algorithm\":\"ecdsa-p256\",\"public_key\":%s},"
                                  "{\"id\":\"evil\",\"algorithm\":\"ecdsa-p256\",\"public_key\":%s}]}",
                                  o, e),
                         0);
        ck_assert_int_ge(trust_anchor_parse(text, strlen(text), "b", &b, &err), 0);
        ck_assert_int_ge(trust_anchor_diff(a, b, &diff), 0);
        ck_assert_msg(strstr(diff, "id \"unit\" became \"unit2\"; key \"release\" replaced (sha256:"), "%s",
                      diff);
        ck_assert_msg(strstr(diff, "; key \"evil\" added; key \"edkey\" removed; metadata changed"), "%s",
                      diff);
        free(diff);
        ck_assert_int_ge(trust_anchor_diff(a, a, &diff), 0);
        ck_assert_str_eq(diff, "");
}
END_TEST

/* ---- the configuration ---- */

static void expect_config_error(const char *text, const char *message) {
        TrustConfig *c = NULL;
        ForgeError err = {};

        ck_assert_int_lt(trust_config_parse(text, strlen(text), "trust.json", &c, &err), 0);
        ck_assert_msg(strstr(err.message, message), "for %s\nexpected \"%s\"\ngot \"%s\"", text, message,
                      err.message);
        ck_assert_int_eq(err.kind, FORGE_ERROR_CONFIG_INVALID);
        ck_assert_str_eq(err.file, "trust.json");
}

START_TEST(test_config) {
        _cleanup_(trust_config_freep) TrustConfig *c = NULL, *d = NULL;
        ForgeError err = {};
        const char *full =
                "{\"anchor\":\"/a.json\",\"tcti\":\"swtpm:port=1\",\"nv_index\":\"0x01800001\",\"pcr\":16,"
                "\"event_log\":\"/l\",\"state_dir\":\"/s\",\"require_tpm\":true}";

        ck_assert_int_ge(trust_config_parse("{}", 2, "t", &c, &err), 0);
        ck_assert_str_eq(c->anchor, TRUST_DEFAULT_ANCHOR);
        ck_assert_str_eq(c->tcti, "device:/dev/tpmrm0");
        ck_assert_uint_eq(c->nv_index, 0x01BF0F01u);
        ck_assert_uint_eq(c->pcr, 23);
        ck_assert_str_eq(c->event_log, "/run/log/forgeone/measure.jsonl");
        ck_assert(!c->require_tpm);
        ck_assert_int_ge(trust_config_parse(full, strlen(full), "t", &d, &err), 0);
        ck_assert_str_eq(d->anchor, "/a.json");
        ck_assert_str_eq(d->tcti, "swtpm:port=1");
        ck_assert_uint_eq(d->nv_index, 0x01800001u);
        ck_assert_uint_eq(d->pcr, 16);
        ck_assert(d->require_tpm);
        ck_assert_uint_eq(d->size, strlen(full));

        expect_config_error("{\n \"require_tmp\": true}", "trust.json:2:2: unknown member \"require_tmp\"");
        {
                const char *t = "{\n \"require_tmp\": true}";
                ForgeError e = {};

                ck_assert_int_lt(trust_config_parse(t, strlen(t), "trust.json", &c, &e), 0);
                ck_assert_uint_eq(e.line, 2);
                ck_assert_uint_eq(e.column, 2);
        }
        expect_config_error("{\"nv_index\":\"0x01000001\"}",
                            "\"nv_index\" must be a hexadecimal string from \"0x01800000\" "
                            "to \"0x01BFFFFF\" (the owner range)");
        expect_config_error("{\"pcr\":24}", "trust.json:1:8: \"pcr\" must be an integer from 0 to 23");
        expect_config_error("{\"anchor\":\"etc/a.json\"}",
                            "\"anchor\" must be an absolute path without \"..\"");
        expect_config_error("{\"event_log\":\"/run/../etc/x\"}", "\"event_log\" must be an absolute path");
        expect_config_error("{\"require_tpm\":\"yes\"}", "\"require_tpm\" must be true or false");
        expect_config_error("[]", "trust.json: must be a JSON object");
        {
                _cleanup_free_ char *p = NULL;
                TrustConfig *x = NULL;

                ck_assert_int_ge(asprintf(&p, "%s/missing.json", tmp), 0);
                forge_error_clear(&err);
                ck_assert_int_eq(trust_config_load(p, &x, &err), -ENOENT);
                ck_assert_msg(strstr(err.message, "cannot read trust configuration"), "%s", err.message);
        }
}
END_TEST

/* ---- signatures ---- */

#define DIGEST                                                                                              \
        "sha256:"                                                                                           \
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define OTHER                                                                                               \
        "sha256:"                                                                                           \
        "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static TrustSignature signed_payload(EVP_PKEY *key, const char *payload) {
        TrustSignature s = { .source = strdup("test"),
                             .payload = strdup(payload),
                             .payload_size = strlen(payload) };
        ForgeError err = {};

        ck_assert_int_ge(trust_sign_data(key, payload, strlen(payload), &s.signature, &err), 0);
        s.signature_size = strlen(s.signature);
        return s;
}

static void signature_done(TrustSignature *s) {
        free(s->source);
        free(s->payload);
        free(s->signature);
}

static void expect_failure(const TrustAnchor *a, EVP_PKEY *key, const char *payload, const char *pinned,
                           char *const *allowed, TrustSignatureFailure f, int error, const char *message) {
        _cleanup_(signature_done) TrustSignature s = signed_payload(key, payload);
        TrustSignatureCheck c;

        ck_assert_int_eq(trust_signature_check(a, &s, DIGEST, pinned, allowed, &c), error);
        ck_assert_msg(c.failure == f, "failure %s, expected %s (%s)",
                      trust_signature_failure_to_string(c.failure), trust_signature_failure_to_string(f),
                      c.error.message);
        ck_assert_str_eq(c.error.message, message);
        ck_assert_int_eq(c.error.error, error);
        ck_assert_int_eq(c.error.kind, FORGE_ERROR_UNTRUSTED);
}

START_TEST(test_payload_format) {
        _cleanup_free_ char *p = NULL;
        size_t n;

        ck_assert_int_ge(trust_payload_new("registry.example/app", DIGEST, &p, &n), 0);
        ck_assert_str_eq(
                p, "{\"critical\":{\"identity\":{\"docker-reference\":\"registry.example/app\"},\"image\":{"
                   "\"docker-manifest-digest\":\"" DIGEST "\"},\"type\":\"cosign container image "
                   "signature\"},\"optional\":null}");
        ck_assert_uint_eq(n, strlen(p));
        ck_assert_str_eq(trust_signature_tag(DIGEST),
                         "sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sig");
}
END_TEST

START_TEST(test_signature_verifies) {
        _cleanup_(trust_anchor_freep) TrustAnchor *a = anchor_load();
        _cleanup_free_ char *p = NULL;
        TrustSignatureCheck c;
        size_t n;

        ck_assert_int_ge(trust_payload_new("app", DIGEST, &p, &n), 0);
        {
                _cleanup_(signature_done) TrustSignature s = signed_payload(ec_key, p);
                ck_assert_int_eq(
                        trust_signature_check(a, &s, DIGEST, "app", (char *[]){ "release", NULL }, &c), 0);
                ck_assert_str_eq(c.key->id, "release");
                ck_assert_str_eq(c.reference, "app");
                ck_assert_int_eq(c.failure, TRUST_SIGNATURE_OK);
        }
        {
                _cleanup_(signature_done) TrustSignature s = signed_payload(ed_key, p);
                ck_assert_int_eq(trust_signature_check(a, &s, DIGEST, NULL, NULL, &c), 0);
                ck_assert_str_eq(c.key->id, "edkey");
        }
        {
                /* Raw bytes, as a detached file straight from openssl may hold them; whitespace in base64.
                 */
                _cleanup_(signature_done) TrustSignature s = signed_payload(ec_key, p);
                TrustSignature raw = s;
                EVP_MD_CTX *md = EVP_MD_CTX_new();
                unsigned char sig[128];
                size_t len = sizeof sig;

                ck_assert(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, ec_key) == 1);
                ck_assert(EVP_DigestSign(md, sig, &len, (const unsigned char *) p, strlen(p)) == 1);
                EVP_MD_CTX_free(md);
                raw.signature = (char *) sig;
                raw.signature_size = len;
                raw.signature_raw = true;
                ck_assert_int_eq(trust_signature_check(a, &raw, DIGEST, NULL, NULL, &c), 0);
        }
}
END_TEST

START_TEST(test_signature_failures) {
        _cleanup_(trust_anchor_freep) TrustAnchor *a = anchor_load(), *ed_only = NULL;
        _cleanup_free_ char *ok = NULL, *d = json_str(ed_pem), *ed_text = NULL;
        TrustSignatureCheck c;
        ForgeError err = {};
        size_t n;

        ck_assert_int_ge(trust_payload_new("app", DIGEST, &ok, &n), 0);

        expect_failure(a, other_key, ok, NULL, NULL, TRUST_SIGNATURE_WRONG_KEY, -EKEYREJECTED,
                       "the signature does not verify with any key of anchor \"unit\" (release, edkey): it "
                       "was made "
                       "with another key, or its bytes were altered");
        ck_assert_int_ge(
                asprintf(&ed_text,
                         "{\"format\":1,\"id\":\"ed\",\"keys\":[{\"id\":\"e\",\"algorithm\":\"ed25519\","
                         "\"public_key\":%s}]}",
                         d),
                0);
        ck_assert_int_ge(trust_anchor_parse(ed_text, strlen(ed_text), "ed", &ed_only, &err), 0);
        expect_failure(ed_only, ec_key, ok, NULL, NULL, TRUST_SIGNATURE_WRONG_KEY, -EKEYREJECTED,
                       "the signature does not verify with any key of anchor \"ed\" (e): it is an ECDSA "
                       "signature and "
                       "the anchor has no ECDSA P-256 key");

        {
                /* Corrupted: the DER sequence cut short, and text that is not base64 at all. */
                _cleanup_(signature_done) TrustSignature s = signed_payload(ec_key, ok);
                _cleanup_free_ char *shorter = NULL;
                uint8_t der[128];
                size_t len = 0;
                TrustSignature t = s;

                /* Re-encode the first 20 bytes of the DER signature. */
                {
                        BIO *b64 = BIO_new(BIO_f_base64()), *mem = BIO_new_mem_buf(s.signature, -1);
                        BIO_set_flags(b64, BIO_FLAGS_BASE64_NO_NL);
                        mem = BIO_push(b64, mem);
                        len = (size_t) BIO_read(mem, der, sizeof der);
                        BIO_free_all(mem);
                }
                ck_assert_uint_gt(len, 20);
                t.signature = (char *) der;
                t.signature_size = 20;
                t.signature_raw = true;
                ck_assert_int_eq(trust_signature_check(a, &t, DIGEST, NULL, NULL, &c), -EBADMSG);
                ck_assert_int_eq(c.failure, TRUST_SIGNATURE_CORRUPTED);
                ck_assert_str_eq(
                        c.error.message,
                        "the signature is corrupted: its 20 bytes are neither a DER ECDSA signature "
                        "nor a 64-byte Ed25519 signature");
                t.signature = (char *) "not*base64!";
                t.signature_size = strlen(t.signature);
                t.signature_raw = false;
                ck_assert_int_eq(trust_signature_check(a, &t, DIGEST, NULL, NULL, &c), -EBADMSG);
                ck_assert_str_eq(c.error.message, "the signature is corrupted: not valid base64");
                t.signature = (char *) "";
                t.signature_size = 0;
                ck_assert_int_eq(trust_signature_check(a, &t, DIGEST, NULL, NULL, &c), -EBADMSG);
                (void) shorter;
        }

        expect_failure(a, ec_key,
                       "{\"critical\":{\"identity\":{\"docker-reference\":\"app\"},\"image\":{\"docker-"
                       "manifest-digest\":"
                       "\"" OTHER "\"},\"type\":\"cosign container image signature\"},\"optional\":null}",
                       NULL, NULL, TRUST_SIGNATURE_WRONG_DIGEST, -ESTALE,
                       "the signed payload is for " OTHER ", not for this image (manifest " DIGEST ")");
        expect_failure(
                a, ec_key,
                "{\"critical\":{\"identity\":{\"docker-reference\":\"app\"},\"image\":{\"docker-manifest-"
                "digest\":"
                "\"" DIGEST "\"},\"type\":\"atomic container signature\"},\"optional\":null}",
                NULL, NULL, TRUST_SIGNATURE_WRONG_TYPE, -EPROTO,
                "the signed payload's type is \"atomic container signature\", not \"cosign container image "
                "signature\"");
        expect_failure(a, ec_key,
                       "{\"critical\":{\"identity\":{\"docker-reference\":\"app\"},\"image\":{\"docker-"
                       "manifest-digest\":"
                       "\"" DIGEST
                       "\"},\"type\":\"cosign container image signature\",\"expires\":1},\"optional\":null}",
                       NULL, NULL, TRUST_SIGNATURE_UNKNOWN_MEMBER, -EPROTO,
                       "the signed payload has an unknown critical member \"expires\": it may carry a "
                       "requirement this "
                       "verifier cannot check");
        expect_failure(
                a, ec_key,
                "{\"critical\":{\"identity\":{\"docker-reference\":\"app\",\"scope\":\"x\"},\"image\":{"
                "\"docker-manifest-digest\":\"" DIGEST "\"},\"type\":\"cosign container image signature\"}}",
                NULL, NULL, TRUST_SIGNATURE_UNKNOWN_MEMBER, -EPROTO,
                "the signed payload has an unknown critical member \"identity.scope\": it may carry a "
                "requirement "
                "this verifier cannot check");
        expect_failure(a, ec_key,
                       "{\"critical\":{\"identity\":{\"docker-reference\":\"app\"},\"image\":{\"docker-"
                       "manifest-digest\":"
                       "\"" DIGEST "\"},\"type\":\"cosign container image signature\"},\"extra\":{}}",
                       NULL, NULL, TRUST_SIGNATURE_UNKNOWN_MEMBER, -EPROTO,
                       "the signed payload has an unknown top-level member \"extra\"");
        expect_failure(a, ec_key, "{\"critical\":", NULL, NULL, TRUST_SIGNATURE_BAD_PAYLOAD, -EBADMSG,
                       "the signed payload is not valid: not valid JSON (unexpected end)");
        expect_failure(a, ec_key,
                       "{\"critical\":{\"identity\":{\"docker-reference\":\"app\"},\"image\":{\"docker-"
                       "manifest-digest\":"
                       "\"" DIGEST "\"},\"type\":\"cosign container image signature\",\"type\":\"x\"}}",
                       NULL, NULL, TRUST_SIGNATURE_BAD_PAYLOAD, -EBADMSG,
                       "the signed payload is not valid: member \"/critical/type\" is given twice");
        expect_failure(
                a, ec_key, ok, "registry.example/other", NULL, TRUST_SIGNATURE_WRONG_REFERENCE, -EPERM,
                "the signature is for reference \"app\", not the required \"registry.example/other\"");
        expect_failure(a, ec_key, ok, NULL, (char *[]){ "edkey", "spare", NULL },
                       TRUST_SIGNATURE_KEY_NOT_ALLOWED, -EPERM,
                       "signed by anchor key \"release\", but only these keys are allowed: edkey, spare");
}
END_TEST

/* ---- a layout, signed and verified ---- */

static char *make_layout(const char *name, const char *content, char **ret_digest) {
        TestTar *t = test_tar_new();
        TestLayer l;
        char *layout;

        test_tar_file(t, "hello", content);
        l = (TestLayer){ .tar = test_tar_finish(t), .compression = OCI_COMPRESSION_GZIP };
        ck_assert_int_ge(asprintf(&layout, "%s/%s", tmp, name), 0);
        *ret_digest = test_layout_simple(layout, &l, 1, "v1");
        free(l.tar.data);
        return layout;
}

START_TEST(test_layout_sign) {
        _cleanup_(trust_anchor_freep) TrustAnchor *a = anchor_load();
        _cleanup_free_ char *digest = NULL, *layout = make_layout("img", "hi\n", &digest), *ref = NULL;
        _cleanup_(oci_image_freep) OciImage *image = NULL, *untagged = NULL;
        TrustSignature *s = NULL;
        TrustSignatureCheck c;
        ForgeError ierr = {};
        ForgeError err = {};
        size_t n;

        ck_assert_int_ge(asprintf(&ref, "%s:v1", layout), 0);
        ck_assert_int_ge(oci_image_open(ref, &image, &ierr), 0);
        ck_assert_int_ge(trust_layout_signatures(image, &s, &n, &err), 0);
        ck_assert_uint_eq(n, 0);
        free(s);

        ck_assert_msg(trust_layout_sign(image, ec_key, "app", &err) >= 0, "%s", err.message);
        ck_assert_msg(trust_layout_sign(image, ec_key, "app2", &err) >= 0, "%s",
                      err.message); /* replaces the first */
        ck_assert_msg(trust_layout_sign(image, ed_key, "app", &err) >= 0, "%s", err.message);
        ck_assert_int_ge(trust_layout_signatures(image, &s, &n, &err), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_int_eq(trust_signature_check(a, &s[0], digest, NULL, NULL, &c), 0);
        ck_assert_str_eq(c.key->id, "release");
        ck_assert_str_eq(c.reference, "app2");
        ck_assert_int_eq(trust_signature_check(a, &s[1], digest, NULL, NULL, &c), 0);
        ck_assert_str_eq(c.key->id, "edkey");
        ck_assert_msg(strstr(s[0].source, ".sig, layer 1"), "%s", s[0].source);
        trust_signatures_free(s, n);

        /* The signature tag does not make the layout's single image ambiguous. */
        ck_assert_msg(oci_image_open(layout, &untagged, &ierr) >= 0, "%s", ierr.message);
        ck_assert_str_eq(untagged->manifest.digest, digest);
}
END_TEST

/* ---- the launch verifier, in software mode ---- */

typedef struct Notices {
        int unsigned_count, no_tpm_count;
        char last[2048];
} Notices;

static void on_notice(TrustNotice kind, const char *identity, const char *digest, const char *text,
                      void *userdata) {
        Notices *n = userdata;

        if (kind == TRUST_NOTICE_UNSIGNED)
                n->unsigned_count++;
        else
                n->no_tpm_count++;
        snprintf(n->last, sizeof n->last, "%s", text);
}

static TrustContext *software_context(bool require_tpm) {
        _cleanup_free_ char *anchor = anchor_text(), *ap = NULL, *cp = NULL, *cfg = NULL;
        TrustContext *ctx = NULL;
        ForgeError err = {};

        ck_assert_int_ge(asprintf(&ap, "%s/anchor.json", tmp), 0);
        ck_assert_int_ge(asprintf(&cp, "%s/trust.json", tmp), 0);
        test_write_file(ap, anchor, strlen(anchor));
        ck_assert_int_ge(
                asprintf(&cfg,
                         "{\"anchor\":\"%s\",\"tcti\":\"device:%s/no-tpm\",\"event_log\":\"%s/log.jsonl\","
                         "\"state_dir\":\"%s/state\",\"require_tpm\":%s}",
                         ap, tmp, tmp, tmp, require_tpm ? "true" : "false"),
                0);
        test_write_file(cp, cfg, strlen(cfg));
        ck_assert_msg(trust_context_open(cp, NULL, &ctx, &err) >= 0, "%s", err.message);
        return ctx;
}

static const char *const policy_text =
        "{\"version\":1,\"name\":\"t\",\"default\":{\"action\":\"deny\",\"errno\":\"EPERM\"},\"identities\":"
        "{"
        "\"legacy\":{\"match\":{\"name\":\"legacy-*\"},\"allow_unsigned\":true},"
        "\"strict\":{\"match\":{\"name\":\"strict\",\"signed_by\":[\"edkey\"]}},"
        "\"pinned\":{\"match\":{\"name\":\"pinned\",\"signed_reference\":\"registry.example/app\"}}},"
        "\"rules\":[]}";

static int verify_as(TrustContext *ctx, const char *name, const OciImage *image, Notices *notices,
                     TrustVerifyResult *res, ForgeError *err) {
        _cleanup_(policy_freep) Policy *p = NULL;
        _cleanup_(trust_verifier_freep) TrustVerifier *v = NULL;
        _cleanup_(policy_diagnostics_done) PolicyDiagnostics diag = {};

        ck_assert_int_ge(policy_load_string(policy_text, strlen(policy_text), "p.json", &p, &diag, NULL), 0);
        ck_assert_int_ge(trust_verifier_new(ctx, p, name, NULL, &v), 0);
        policy_free(TAKE_PTR(p)); /* the verifier keeps its own copy of the identities */
        trust_verifier_set_notice(v, on_notice, notices);
        forge_error_clear(err);
        return trust_verifier_verify(v, image, res, err);
}

START_TEST(test_verifier_software_mode) {
        _cleanup_(trust_context_freep) TrustContext *ctx = software_context(false);
        _cleanup_free_ char *d1 = NULL, *d2 = NULL, *signed_dir = make_layout("signed", "a\n", &d1),
                            *unsigned_dir = make_layout("unsigned", "b\n", &d2), *log = NULL;
        _cleanup_(oci_image_freep) OciImage *signed_img = NULL, *unsigned_img = NULL;
        TrustVerifyResult res;
        Notices notices = {};
        ForgeError ierr = {};
        ForgeError err = {};

        ck_assert_int_eq(ctx->state.status, TRUST_STATUS_UNKNOWN);
        ck_assert_str_eq(ctx->state.reason, "no TPM");
        /* Why there is no TPM: the device is missing, or this build cannot reach any. */
        ck_assert_msg(strstr(ctx->state.detail, HAVE_TPM ? "/no-tpm: No such file or directory"
                                                         : "built without tpm2-tss"),
                      "%s", ctx->state.detail);
        ck_assert_int_eq(trust_context_launch_allowed(ctx, NULL), 0);

        ck_assert_int_ge(oci_image_open(signed_dir, &signed_img, &ierr), 0);
        ck_assert_int_ge(oci_image_open(unsigned_dir, &unsigned_img, &ierr), 0);
        ck_assert_int_ge(trust_layout_sign(signed_img, ec_key, "registry.example/app", &err), 0);

        /* An unnamed workload: identity "*", a signature by any anchor key. */
        ck_assert_int_eq(verify_as(ctx, NULL, signed_img, &notices, &res, &err), 0);
        ck_assert(res.verified);
        ck_assert_str_eq(res.identity, "*");
        ck_assert_str_eq(res.key, "release");
        ck_assert_int_eq(notices.no_tpm_count, 1);

        ck_assert_int_eq(verify_as(ctx, NULL, unsigned_img, &notices, &res, &err), -EKEYREJECTED);
        ck_assert_msg(strstr(err.message,
                             "not verified: the image has no signature (no tag sha256-<manifest hex>.sig "
                             "in "),
                      "%s", err.message);
        ck_assert_msg(strstr(err.message, "(identity \"*\"; an identity runs unsigned images only with "
                                          "\"allow_unsigned\": true)"),
                      "%s", err.message);

        /* allow_unsigned: runs, and says so through the notice. */
        ck_assert_int_eq(verify_as(ctx, "legacy-1", unsigned_img, &notices, &res, &err), 0);
        ck_assert(!res.verified && res.unsigned_allowed);
        ck_assert_int_eq(notices.unsigned_count, 1);
        ck_assert_msg(strstr(notices.last, "UNSIGNED IMAGE: running ") &&
                              strstr(notices.last, "identity \"legacy\" has \"allow_unsigned\": true"),
                      "%s", notices.last);

        /* signed_by: a signature by another anchor key is refused, not moved to another identity. */
        ck_assert_int_eq(verify_as(ctx, "strict", signed_img, &notices, &res, &err), -EKEYREJECTED);
        ck_assert_msg(strstr(err.message,
                             "signed by anchor key \"release\", but only these keys are allowed: edkey "
                             "(identity \"strict\" requires a signature)"),
                      "%s", err.message);
        ck_assert_int_ge(trust_layout_sign(signed_img, ed_key, "other/app", &err), 0);
        ck_assert_int_eq(verify_as(ctx, "strict", signed_img, &notices, &res, &err), 0);
        ck_assert_str_eq(res.key, "edkey");

        /* signed_reference: the release signature names registry.example/app, the edkey one other/app. */
        ck_assert_int_eq(verify_as(ctx, "pinned", signed_img, &notices, &res, &err), 0);
        ck_assert_str_eq(res.reference, "registry.example/app");

        /* Nothing measured without a TPM. */
        ck_assert_int_ge(asprintf(&log, "%s/log.jsonl", tmp), 0);
        ck_assert(!test_exists(log));
}
END_TEST

START_TEST(test_verifier_require_tpm) {
        _cleanup_(trust_context_freep) TrustContext *ctx = software_context(true);
        _cleanup_free_ char *d = NULL, *dir = make_layout("img", "x\n", &d);
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        TrustVerifyResult res;
        Notices notices = {};
        ForgeError ierr = {};
        ForgeError err = {};

        ck_assert_int_ge(oci_image_open(dir, &image, &ierr), 0);
        ck_assert_int_ge(trust_layout_sign(image, ec_key, "app", &err), 0);
        ck_assert_int_eq(trust_context_launch_allowed(ctx, &err), -EPERM);
        ck_assert_msg(strstr(err.message, "trust status is Unknown(no TPM) (") &&
                              strstr(err.message, ") and require_tpm is set in "),
                      "%s", err.message);
        ck_assert_int_eq(verify_as(ctx, NULL, image, &notices, &res, &err), -EPERM);
        /* The OciImageVerifyFn carries the same message into an ForgeError. */
        {
                _cleanup_(policy_freep) Policy *p = NULL;
                _cleanup_(trust_verifier_freep) TrustVerifier *v = NULL;
                _cleanup_(policy_diagnostics_done) PolicyDiagnostics diag = {};

                ck_assert_int_ge(
                        policy_load_string(policy_text, strlen(policy_text), "p.json", &p, &diag, NULL), 0);
                ck_assert_int_ge(trust_verifier_new(ctx, p, NULL, NULL, &v), 0);
                ck_assert_int_eq(trust_verify_image(image, v, &ierr), -EPERM);
                ck_assert_msg(strstr(ierr.message, "require_tpm is set"), "%s", ierr.message);
        }
}
END_TEST

/* ---- the event log ---- */

static void sha(const void *p, size_t n, uint8_t *out) {
        ck_assert(EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL) == 1);
}

START_TEST(test_log_read_replay) {
        const char *lines[] = {
                "{\"pcr\":23,\"digest\":\"" DIGEST
                "\",\"type\":\"binary\",\"name\":\"/usr/bin/forgeonectl\",\"time\":\"t1\"}",
                "{\"pcr\":23,\"digest\":\"" OTHER
                "\",\"type\":\"policy\",\"name\":\"/etc/p.json\",\"time\":\"t2\"}",
                "{\"pcr\":16,\"digest\":\"" DIGEST
                "\",\"type\":\"image\",\"name\":\"/img:v1\",\"time\":\"t3\"}",
        };
        _cleanup_free_ char *path = NULL;
        TrustEvent *ev = NULL;
        ForgeError err = {};
        TestBuf b = {};
        uint8_t v[64] = {}, replay[32];
        size_t n;

        ck_assert_int_ge(asprintf(&path, "%s/log.jsonl", tmp), 0);
        /* Missing: empty. */
        ck_assert_int_eq(trust_log_read(path, &ev, &n, &err), 0);
        ck_assert_uint_eq(n, 0);
        FOREACH_ELEMENT (l, lines) {
                test_buf_append_str(&b, *l);
                test_buf_append_str(&b, "\n");
        }
        test_write_file(path, b.data, b.size);
        ck_assert_msg(trust_log_read(path, &ev, &n, &err) >= 0, "%s", err.message);
        ck_assert_uint_eq(n, 3);
        ck_assert_int_eq(ev[1].type, TRUST_EVENT_POLICY);
        ck_assert_str_eq(ev[1].name, "/etc/p.json");
        ck_assert_uint_eq(ev[2].line, 3);

        /* PCR 23 = H(H(0 || H(line1)) || H(line2)): the lines' bytes, not only their digests. */
        sha(lines[0], strlen(lines[0]), v + 32);
        sha(v, 64, v);
        sha(lines[1], strlen(lines[1]), v + 32);
        sha(v, 64, v);
        ck_assert_uint_eq(trust_log_replay(ev, n, 23, replay), 2);
        ck_assert_mem_eq(replay, v, 32);
        ck_assert_uint_eq(trust_log_replay(ev, n, 16, replay), 1);
        ck_assert_uint_eq(trust_log_replay(ev, n, 0, replay), 0);
        ck_assert_mem_eq(replay, (uint8_t[32]){}, 32);
        trust_events_free(ev, n);

        /* An edited line that is no longer a record, an unknown member, a cut-off last line. */
        test_write_file(path, "{\"pcr\":23}\n", 11);
        ck_assert_int_eq(trust_log_read(path, &ev, &n, &err), -EBADMSG);
        ck_assert_msg(strstr(err.message, "log.jsonl:1: \"digest\" is missing or not sha256:<64 hex>"), "%s",
                      err.message);
        forge_error_clear(&err);
        free(b.data);
        b = (TestBuf){};
        test_buf_append_str(&b, lines[0]);
        test_buf_append_str(&b, "\n{\"pcr\":23,\"digest\":\"" DIGEST
                                "\",\"type\":\"image\",\"name\":\"x\",\"time\":\"t\",\"by\":1}\n");
        test_write_file(path, b.data, b.size);
        ck_assert_int_eq(trust_log_read(path, &ev, &n, &err), -EBADMSG);
        ck_assert_msg(strstr(err.message, "log.jsonl:2: unknown member \"by\" in a measurement record"),
                      "%s", err.message);
        forge_error_clear(&err);
        test_write_file(path, lines[0], strlen(lines[0]));
        ck_assert_int_eq(trust_log_read(path, &ev, &n, &err), -EBADMSG);
        ck_assert_msg(strstr(err.message, "log.jsonl:1: the last record has no newline"), "%s", err.message);
        free(b.data);

        /* Without a TPM nothing is measured. */
        ck_assert_int_eq(trust_measure_data(NULL, path, 23, TRUST_EVENT_POLICY, "p", "x", 1, &err), 0);
}
END_TEST

/* ---- the layer tree record ---- */

START_TEST(test_layer_tree) {
        _cleanup_free_ char *root = NULL, *a = NULL, *b = NULL, *diff = NULL, *p = NULL;
        _cleanup_close_ int fd = -EBADF;
        ForgeError err = {};
        size_t na, nb;

        ck_assert_int_ge(asprintf(&root, "%s/tree", tmp), 0);
        ck_assert_int_eq(mkdir(root, 0755), 0);
        ck_assert_int_ge(asprintf(&p, "%s/etc", root), 0);
        ck_assert_int_eq(mkdir(p, 0755), 0);
        free(p);
        ck_assert_int_ge(asprintf(&p, "%s/etc/passwd", root), 0);
        test_write_file(p, "root:x:0:0::/:/bin/sh\n", 22);
        free(p);
        ck_assert_int_ge(asprintf(&p, "%s/etc/link", root), 0);
        ck_assert_int_eq(symlink("passwd", p), 0);
        free(p);
        ck_assert_int_ge(asprintf(&p, "%s/odd name\n", root), 0);
        test_write_file(p, "", 0);
        free(p);
        fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_ge(layer_tree_record(fd, &a, &na, &err), 0);
        ck_assert_msg(strstr(a, "d 0755 ") == a, "%s", a);
        ck_assert_msg(strstr(a, " /etc/link -> passwd\n"), "%s", a);
        ck_assert_msg(strstr(a, " /odd\\x20name\\x0a\n"), "%s", a);
        ck_assert_int_ge(layer_tree_diff(a, na, a, na, 5, &diff), 0);
        ck_assert_str_eq(diff, "");
        free(diff);

        /* Same size, other bytes; a mode; a file added and one removed. */
        ck_assert_int_ge(asprintf(&p, "%s/etc/passwd", root), 0);
        test_write_file(p, "root:x:0:0::/:/bin/zz\n", 22);
        ck_assert_int_eq(chmod(p, 0600), 0);
        free(p);
        ck_assert_int_ge(asprintf(&p, "%s/etc/shadow", root), 0);
        test_write_file(p, "x", 1);
        free(p);
        ck_assert_int_ge(asprintf(&p, "%s/etc/link", root), 0);
        ck_assert_int_eq(unlink(p), 0);
        ck_assert_int_ge(layer_tree_record(fd, &b, &nb, &err), 0);
        ck_assert_int_ge(layer_tree_diff(a, na, b, nb, 5, &diff), 0);
        ck_assert_str_eq(diff,
                         "/etc/link: removed; /etc/passwd: changed (mode, content); /etc/shadow: added");
        free(diff);
        ck_assert_int_ge(layer_tree_diff(a, na, b, nb, 1, &diff), 0);
        ck_assert_str_eq(diff, "/etc/link: removed; and 2 more");
}
END_TEST

/* ---- the policy's signature requirements ---- */

START_TEST(test_policy_signature_fields) {
        _cleanup_(policy_freep) Policy *p = NULL;
        _cleanup_(policy_diagnostics_done) PolicyDiagnostics diag = {};
        const char *bad = "{\"version\":1,\"name\":\"t\",\"default\":{\"action\":\"deny\"},\"identities\":{"
                          "\"a\":{\"match\":{\"name\":\"a\",\"signed_by\":\"k\"},\"allow_unsigned\":true},"
                          "\"b\":{\"match\":{\"name\":\"b\",\"signed_by\":[]}},"
                          "\"c\":{\"match\":{\"name\":\"c\",\"signed_by\":[\"bad id\"]}},"
                          "\"d\":{\"match\":{\"signed_by\":\"k\"}},"
                          "\"e\":{\"match\":{\"name\":\"e\"},\"allow_unsigned\":\"yes\"}},\"rules\":[]}";
        bool found[5] = {};

        ck_assert_int_ge(policy_load_string(policy_text, strlen(policy_text), "p.json", &p, &diag, NULL), 0);
        ck_assert(p->identities[0].allow_unsigned);
        ck_assert_ptr_null(p->identities[0].match_signed_by);
        ck_assert_str_eq(p->identities[1].match_signed_by[0], "edkey");
        ck_assert_ptr_null(p->identities[1].match_signed_by[1]);
        ck_assert_str_eq(p->identities[2].match_signed_reference, "registry.example/app");
        ck_assert(!p->identities[2].allow_unsigned);

        ck_assert_int_eq(policy_load_string(bad, strlen(bad), "bad.json", &p, &diag, NULL), -EINVAL);
        for (size_t i = 0; i < diag.n_errors; i++) {
                const char *m = diag.errors[i].message;

                found[0] |= !!strstr(
                        m, "contradicts match.signed_by: an identity either requires a signature or allows "
                           "none");
                found[1] |= !!strstr(m, "is empty: name at least one anchor key id");
                found[2] |= !!strstr(m, "anchor key id \"bad id\" must be 1..");
                found[3] |= !!strstr(m, "names no criterion");
                found[4] |= !!strstr(m, "expected a boolean");
        }
        for (size_t i = 0; i < ELEMENTSOF(found); i++)
                ck_assert_msg(found[i], "diagnostic %zu missing", i);
}
END_TEST

/* The names the trust module writes (anchor files, the event log, status and image verify output). */
START_TEST(test_string_tables) {
        for (TrustKeyAlgorithm a = 0; a < _TRUST_KEY_ALGORITHM_MAX; a++)
                ck_assert_int_eq(trust_key_algorithm_from_string(trust_key_algorithm_to_string(a)), a);
        ck_assert_str_eq(trust_key_algorithm_to_string(TRUST_KEY_ED25519), "ed25519");
        ck_assert_int_eq(trust_key_algorithm_from_string("rsa"), -EINVAL);
        ck_assert_int_eq(trust_key_algorithm_from_string(NULL), -EINVAL);
        ck_assert_ptr_null(trust_key_algorithm_to_string(_TRUST_KEY_ALGORITHM_MAX));

        for (TrustEventType t = 0; t < _TRUST_EVENT_TYPE_MAX; t++)
                ck_assert_int_eq(trust_event_type_from_string(trust_event_type_to_string(t)), t);
        ck_assert_str_eq(trust_event_type_to_string(TRUST_EVENT_IMAGE), "image");
        ck_assert_int_eq(trust_event_type_from_string("kernel"), -EINVAL);

        ck_assert_str_eq(trust_status_to_string(TRUST_STATUS_COMPROMISED), "Compromised");
        ck_assert_ptr_null(trust_status_to_string(_TRUST_STATUS_MAX));
        ck_assert_ptr_null(trust_status_to_string(-1));
        ck_assert_str_eq(trust_signature_failure_to_string(TRUST_SIGNATURE_KEY_NOT_ALLOWED),
                         "key-not-allowed");
        for (TrustSignatureFailure f = 0; f < _TRUST_SIGNATURE_FAILURE_MAX; f++)
                ck_assert_ptr_nonnull(trust_signature_failure_to_string(f));
}
END_TEST

static Suite *trust_suite(void) {
        Suite *s = suite_create("trust");
        TCase *tc = tcase_create("trust");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_string_tables);
        tcase_add_test(tc, test_anchor_valid);
        tcase_add_test(tc, test_anchor_errors);
        tcase_add_test(tc, test_anchor_diff);
        tcase_add_test(tc, test_config);
        tcase_add_test(tc, test_payload_format);
        tcase_add_test(tc, test_signature_verifies);
        tcase_add_test(tc, test_signature_failures);
        tcase_add_test(tc, test_layout_sign);
        tcase_add_test(tc, test_verifier_software_mode);
        tcase_add_test(tc, test_verifier_require_tpm);
        tcase_add_test(tc, test_log_read_replay);
        tcase_add_test(tc, test_layer_tree);
        tcase_add_test(tc, test_policy_signature_fields);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return fo_test_run(trust_suite());
}
