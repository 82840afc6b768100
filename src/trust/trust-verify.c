/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "forgeone/trust-anchor.h"
#include "forgeone/trust-config.h"
#include "forgeone/trust-log.h"
#include "forgeone/trust-verify.h"
#include "trust-internal.h"

typedef struct Detached {
        char *payload;
        char *signature;
} Detached;

struct TrustVerifier {
        TrustContext *ctx;
        Policy identities; /* only n_identities and identities are set: a copy, for policy_identity_resolve()
                            */
        char *name;
        char **labels;
        bool identity_forced;
        int forced_identity; /* an index, or POLICY_IDENTITY_ANY */
        Detached *detached;
        size_t n_detached;
        bool measure;
        TrustNoticeFn notice;
        void *userdata;
};

static int strv_copy_n(char *const *l, char ***ret) {
        _cleanup_strv_free_ char **c = NULL;
        size_t n = 0;

        *ret = NULL;
        if (!l)
                return 0;
        while (l[n])
                n++;
        c = calloc(n + 1, sizeof *c);
        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(c[i] = strdup(l[i])))
                        return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

static int strdup_null(const char *s, char **ret) {
        *ret = NULL;
        if (!s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int identity_copy(const PolicyIdentity *from, PolicyIdentity *to) {
        *to = (PolicyIdentity){
                .trust_initial = from->trust_initial,
                .allow_unsigned = from->allow_unsigned,
                .line = from->line,
                .column = from->column,
        };
        if (strdup_null(from->name, &to->name) < 0 || strdup_null(from->match_name, &to->match_name) < 0 ||
            strdup_null(from->match_digest, &to->match_digest) < 0 ||
            strdup_null(from->match_signed_reference, &to->match_signed_reference) < 0 ||
            strv_copy_n(from->match_labels, &to->match_labels) < 0 ||
            strv_copy_n(from->match_signed_by, &to->match_signed_by) < 0)
                return -ENOMEM;
        return 0;
}

static void identities_done(Policy *p) {
        for (size_t i = 0; i < p->n_identities; i++) {
                PolicyIdentity *id = &p->identities[i];

                free(id->name);
                free(id->match_name);
                free(id->match_digest);
                free(id->match_signed_reference);
                strv_free(id->match_labels);
                strv_free(id->match_signed_by);
        }
        free(p->identities);
        p->identities = NULL;
        p->n_identities = 0;
}

int trust_verifier_set_identity(TrustVerifier *v, const char *identity) {
        int i = policy_identity_by_name(&v->identities, identity);

        if (i == -ENOENT)
                return -ENOENT;
        v->forced_identity = i;
        v->identity_forced = true;
        return 0;
}

TrustVerifier *trust_verifier_free(TrustVerifier *v) {
        if (!v)
                return NULL;
        identities_done(&v->identities);
        free(v->name);
        strv_free(v->labels);
        for (size_t i = 0; i < v->n_detached; i++) {
                free(v->detached[i].payload);
                free(v->detached[i].signature);
        }
        free(v->detached);
        free(v);
        return NULL;
}

int trust_verifier_new(TrustContext *ctx, const Policy *policy, const char *name, char *const *labels,
                       TrustVerifier **ret) {
        _cleanup_(trust_verifier_freep) TrustVerifier *v = calloc(1, sizeof *v);

        if (!v)
                return -ENOMEM;
        v->ctx = ctx;
        v->measure = true;
        if (policy && policy->n_identities > 0) {
                v->identities.identities = calloc(policy->n_identities, sizeof(PolicyIdentity));
                if (!v->identities.identities)
                        return -ENOMEM;
                for (size_t i = 0; i < policy->n_identities; i++) {
                        v->identities.n_identities++;
                        if (identity_copy(&policy->identities[i], &v->identities.identities[i]) < 0)
                                return -ENOMEM;
                }
        }
        if (strdup_null(name, &v->name) < 0 || strv_copy_n(labels, &v->labels) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(v);
        return 0;
}

void trust_verifier_set_notice(TrustVerifier *v, TrustNoticeFn fn, void *userdata) {
        v->notice = fn;
        v->userdata = userdata;
}

void trust_verifier_set_measure(TrustVerifier *v, bool measure) {
        v->measure = measure;
}

int trust_verifier_add_detached(TrustVerifier *v, const char *payload_path, const char *signature_path,
                                ForgeError *err) {
        Detached *d = realloc(v->detached, (v->n_detached + 1) * sizeof *d);

        if (!d)
                return -ENOMEM;
        v->detached = d;
        d = &v->detached[v->n_detached];
        *d = (Detached){ .payload = strdup(payload_path), .signature = strdup(signature_path) };
        if (!d->payload || !d->signature) {
                free(d->payload);
                free(d->signature);
                return -ENOMEM;
        }
        v->n_detached++;
        return 0;
}

static void append_message(char *buf, size_t size, const char *format, ...) _printf_(3, 4);
static void append_message(char *buf, size_t size, const char *format, ...) {
        size_t len = strlen(buf);
        va_list ap;

        if (len >= size - 1)
                return;
        va_start(ap, format);
        (void) vsnprintf(buf + len, size - len, format, ap);
        va_end(ap);
}

static void notify(TrustVerifier *v, TrustNotice kind, const char *identity, const char *digest,
                   const char *format, ...) _printf_(5, 6);
static void notify(TrustVerifier *v, TrustNotice kind, const char *identity, const char *digest,
                   const char *format, ...) {
        char text[FORGE_ERROR_MESSAGE_MAX + 256];
        va_list ap;

        if (!v->notice)
                return;
        va_start(ap, format);
        (void) vsnprintf(text, sizeof text, format, ap);
        va_end(ap);
        v->notice(kind, identity, digest, text, v->userdata);
}

/* "/abs/layout:tag": what an auditor reading the log can find again. */
static const char *image_name(const OciImage *image, char *buf, size_t size) {
        _cleanup_free_ char *abs = realpath(image->layout_path, NULL);

        snprintf(buf, size, "%s%s%s", abs ?: image->layout_path, image->tag ? ":" : "",
                 strempty(image->tag));
        return buf;
}

static int measure_image(TrustVerifier *v, const OciImage *image, ForgeError *err) {
        uint8_t d[32];
        char name[4096];

        if (!v->measure || !v->ctx->tpm)
                return 0;
        if (trust_digest_parse(image->manifest.digest, d) < 0)
                return forge_error_set(err, -EINVAL, "image %s: only sha256 manifests are measured",
                                       image->manifest.digest);
        return trust_measure(v->ctx->tpm, v->ctx->config->event_log, v->ctx->config->pcr, TRUST_EVENT_IMAGE,
                             image_name(image, name, sizeof name), d, err);
}

int trust_verifier_verify(TrustVerifier *v, const OciImage *image, TrustVerifyResult *ret, ForgeError *err) {
        PolicyWorkload w = { .name = v->name, .image_digest = image->manifest.digest, .labels = v->labels };
        const PolicyIdentity *id = NULL;
        TrustSignature *sigs = NULL;
        TrustVerifyResult res = {};
        ForgeError serr = {};
        size_t n = 0;
        int identity, r;

        r = trust_context_launch_allowed(v->ctx, err);
        if (r < 0)
                return r;

        identity = v->identity_forced ? v->forced_identity : policy_identity_resolve(&v->identities, &w);
        if (identity >= 0) {
                id = &v->identities.identities[identity];
                snprintf(res.identity, sizeof res.identity, "%s", id->name);
        } else
                snprintf(res.identity, sizeof res.identity, "*");

        if (!v->ctx->anchor)
                snprintf(res.message, sizeof res.message, "no trust anchor: %.900s",
                         v->ctx->anchor_error.message);
        else {
                r = trust_layout_signatures(image, &sigs, &n, &serr);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        append_message(res.message, sizeof res.message, "%s", serr.message);
                for (size_t i = 0; i < v->n_detached; i++) {
                        TrustSignature s = {}, *nl;

                        forge_error_clear(&serr);
                        r = trust_detached_signature(v->detached[i].payload, v->detached[i].signature, &s,
                                                     &serr);
                        if (r < 0) {
                                trust_signatures_free(sigs, n);
                                return forge_error_propagate(err, &serr, r);
                        }
                        nl = realloc(sigs, (n + 1) * sizeof *sigs);
                        if (!nl) {
                                free(s.source);
                                free(s.payload);
                                free(s.signature);
                                trust_signatures_free(sigs, n);
                                return -ENOMEM;
                        }
                        sigs = nl;
                        sigs[n++] = s;
                }
                if (n == 0 && !res.message[0])
                        snprintf(res.message, sizeof res.message,
                                 "the image has no signature (no tag %s in %s/index.json, no detached "
                                 "signature)",
                                 "sha256-<manifest hex>.sig", image->layout_path);
                for (size_t i = 0; i < n; i++) {
                        TrustSignatureCheck c;

                        r = trust_signature_check(v->ctx->anchor, &sigs[i], image->manifest.digest,
                                                  id ? id->match_signed_reference : NULL,
                                                  id ? id->match_signed_by : NULL, &c);
                        if (r == -ENOMEM) {
                                trust_signatures_free(sigs, n);
                                return r;
                        }
                        if (r >= 0) {
                                res.verified = true;
                                snprintf(res.key, sizeof res.key, "%s", c.key->id);
                                snprintf(res.reference, sizeof res.reference, "%s", c.reference);
                                break;
                        }
                        append_message(res.message, sizeof res.message, "%s%s: %s",
                                       res.message[0] ? "; " : "", sigs[i].source, c.error.message);
                }
        }
        trust_signatures_free(sigs, n);

        if (!res.verified) {
                if (!id || !id->allow_unsigned) {
                        if (ret)
                                *ret = res;
                        return forge_error_set_kind(err, FORGE_ERROR_UNTRUSTED, -EKEYREJECTED,
                                                    "not verified: %s (identity \"%s\"%s)", res.message,
                                                    res.identity,
                                                    id && (id->match_signed_by || id->match_signed_reference)
                                                            ? " requires a signature"
                                                            : "; an identity runs unsigned images only with "
                                                              "\"allow_unsigned\": true");
                }
                res.unsigned_allowed = true;
                notify(v, TRUST_NOTICE_UNSIGNED, res.identity, image->manifest.digest,
                       "UNSIGNED IMAGE: running %s (%s) without a verified signature because identity "
                       "\"%s\" has "
                       "\"allow_unsigned\": true; why it is not verified: %s",
                       image->layout_path, image->manifest.digest, res.identity, res.message);
        } else if (!v->ctx->tpm)
                notify(v, TRUST_NOTICE_NO_TPM, res.identity, image->manifest.digest,
                       "image %s verified with key \"%s\" of an anchor no TPM vouches for (Unknown(no TPM))",
                       image->manifest.digest, res.key);

        r = measure_image(v, image, err);
        if (r < 0)
                return r;
        if (ret)
                *ret = res;
        return 0;
}

int trust_verify_image(const OciImage *image, void *userdata, ForgeError *err) {
        return trust_verifier_verify(userdata, image, NULL, err);
}
