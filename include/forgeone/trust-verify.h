/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The image verifier for launches: an OciImageVerifyFn (oci-image.h) that
 * container_run() calls through ContainerConfig.verify before a layer byte
 * is read.
 *
 * It refuses every image while the trust status forbids launches
 * (Compromised, or Unknown with require_tpm). Otherwise it resolves the
 * workload's policy identity exactly as container_run() does (name, labels,
 * manifest digest; from a copy of the identities, since the policy itself
 * moves into the compiler), and accepts the image when one of its
 * signatures (in the layout, or a detached pair given here) verifies with an
 * anchor key, names this manifest, carries the identity's pinned reference
 * (match.signed_reference) and comes from one of the identity's keys
 * (match.signed_by) when it names any. An identity with "allow_unsigned"
 * runs an image without such a signature; the verifier then reports it
 * through the notice callback, which the caller must log loudly. An
 * accepted image's manifest digest is measured (trust-log.h) before the
 * verifier returns.
 */

#include "forgeone/oci-image.h"
#include "forgeone/policy.h"
#include "forgeone/trust-signature.h"
#include "forgeone/trust.h"

typedef struct TrustVerifier TrustVerifier;

typedef enum TrustNotice {
        TRUST_NOTICE_UNSIGNED, /* an identity's allow_unsigned let an unverified image run */
        TRUST_NOTICE_NO_TPM,   /* verified against an anchor no TPM vouches for (software mode) */
        _TRUST_NOTICE_MAX,
        _TRUST_NOTICE_INVALID = -EINVAL,
} TrustNotice;

typedef void (*TrustNoticeFn)(TrustNotice kind, const char *identity, const char *image_digest,
                              const char *text, void *userdata);

typedef struct TrustVerifyResult {
        bool verified;         /* a signature holds */
        bool unsigned_allowed; /* ran on an identity's allow_unsigned instead */
        char identity[130];    /* the resolved identity's name, or "*" */
        char key[130];         /* the anchor key id that verified it */
        char reference[256];
        char message[FORGE_ERROR_MESSAGE_MAX]; /* every signature's failure, when none held */
} TrustVerifyResult;

/*
 * ctx is borrowed and must outlive the verifier. policy: only its identities are copied. name and
 * labels: the workload's, as given to container_run() (NULL name: unnamed).
 */
int trust_verifier_new(TrustContext *ctx, const Policy *policy, const char *name, char *const *labels,
                       TrustVerifier **ret);
TrustVerifier *trust_verifier_free(TrustVerifier *v);
DEFINE_TRIVIAL_CLEANUP_FUNC(TrustVerifier *, trust_verifier_free);

void trust_verifier_set_notice(TrustVerifier *v, TrustNoticeFn fn, void *userdata);
/* A detached payload and signature pair to consider besides the layout's (paths are copied). */
int trust_verifier_add_detached(TrustVerifier *v, const char *payload_path, const char *signature_path,
                                ForgeError *err);
/* The workload runs as this policy identity (an explicit choice, e.g. forgeonectl run --identity):
 * its requirements are checked rather than the identity resolved from name, digest and labels.
 * -ENOENT when the policy has no such identity. */
int trust_verifier_set_identity(TrustVerifier *v, const char *identity);
/* Whether to measure accepted images (default true). */
void trust_verifier_set_measure(TrustVerifier *v, bool measure);

/* Verifies (and measures, see above). ret (optional) says what held or why nothing did. */
int trust_verifier_verify(TrustVerifier *v, const OciImage *image, TrustVerifyResult *ret, ForgeError *err);

/* The OciImageVerifyFn: userdata is a TrustVerifier. */
int trust_verify_image(const OciImage *image, void *userdata, ForgeError *err);
