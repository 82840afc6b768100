/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * forgeonectl image verify|sign: image signatures against the trust anchor
 * (forgeone.trust(7), IMAGE SIGNATURES). verify checks the layout's blobs
 * (every digest and size), the trust status, every signature (in the layout
 * and any detached pair) and, with --deep, the cached layer trees. Exit
 * status: 0 when the image verifies (or was signed), 1 otherwise.
 */
#include <getopt.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli-trust.h"
#include "cli-verbs.h"
#include "forgeone/layer-cache.h"
#include "forgeone/log.h"
#include "forgeone/oci-image.h"
#include "forgeone/trust-anchor.h"
#include "forgeone/trust-config.h"
#include "forgeone/trust-signature.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free);

static void help(void) {
        printf("Usage: forgeonectl image verify [OPTIONS] DIR[:TAG]\n"
               "       forgeonectl image sign --key KEY.pem [--reference REF] [--json] DIR[:TAG]\n\n"
               "Verify an OCI image layout against the trust anchor, or sign one.\n\n"
               "  verify   every blob's digest and size, the trust status, and the image's cosign\n"
               "           signatures: one must verify with an anchor key and name this manifest\n"
               "  sign     write a cosign signature into the layout (tag sha256-<hex>.sig)\n\n"
               "  --key KEY.pem              sign: an ECDSA P-256 or Ed25519 private key (PEM, "
               "unencrypted)\n"
               "  --key ID                   verify: require a signature by this anchor key (repeatable)\n"
               "  --reference REF            sign: the docker-reference to sign for (default: the tag, else "
               "the\n"
               "                             layout directory's name); verify: require it\n"
               "  --signature FILE           verify: a detached signature (base64 or raw) ...\n"
               "  --payload FILE             ... and the payload it signs\n"
               "  --deep                     verify: also recompute the cached layer trees\n"
               "  --layer-cache DIR          the layer cache for --deep (default /var/lib/forgeone/layers)\n"
               "  --config FILE              trust configuration (default $FORGEONE_TRUST_CONFIG or\n"
               "                             /etc/forgeone/trust.json)\n"
               "  --tcti CONF                TPM to use (default from the configuration)\n"
               "  --json                     print JSON\n"
               "\nSee forgeone.trust(7) and forgeone.image(7).\n");
}

typedef struct ImageArgs {
        const char *config;
        const char *tcti;
        const char *reference;
        const char *signature;
        const char *payload;
        const char *layer_cache;
        char **keys; /* verify: anchor key ids; sign: keys[0] is the key file */
        size_t n_keys;
        bool deep;
        bool json;
} ImageArgs;

static void json_print(json_object *o) {
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static const char *default_reference(const OciImage *image, char *buf, size_t size) {
        const char *base = strrchr(image->layout_path, '/');

        if (image->tag)
                snprintf(buf, size, "%s", image->tag);
        else
                snprintf(buf, size, "%s", base && base[1] ? base + 1 : image->layout_path);
        return buf;
}

static int image_sign(const ImageArgs *a, const char *ref) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_(trust_config_freep) TrustConfig *cfg = NULL;
        _cleanup_(trust_anchor_freep) TrustAnchor *anchor = NULL;
        _cleanup_free_ char *tag = NULL;
        char refbuf[512], fp[72], known[300] = "";
        const TrustKey *k = NULL;
        ForgeError ierr = {};
        ForgeError err = {};
        int r;

        if (a->n_keys != 1) {
                log_error("image sign needs exactly one --key KEY.pem.");
                return 1;
        }
        r = trust_key_load_private(a->keys[0], &key, NULL, &err);
        if (r < 0)
                return log_error_errno(r, "%s", err.message), 1;
        r = oci_image_open(ref, &image, &ierr);
        if (r < 0)
                return log_error_errno(r, "Failed to open image %s: %s", ref, forge_error_message(&ierr, r)),
                       1;
        r = trust_layout_sign(image, key, a->reference ?: default_reference(image, refbuf, sizeof refbuf),
                              &err);
        if (r < 0)
                return log_error_errno(r, "Failed to sign %s: %s", ref, forge_error_message(&err, r)), 1;

        (void) trust_key_fingerprint(key, fp);
        /* Whether this host's anchor would accept it: a hint, not a check. */
        if (trust_config_load(a->config, &cfg, NULL) >= 0 &&
            trust_anchor_load(cfg->anchor, &anchor, NULL) >= 0 &&
            (k = trust_anchor_key_by_pkey(anchor, key)))
                snprintf(known, sizeof known, "key \"%s\" of anchor \"%s\"", k->id, anchor->id);
        tag = trust_signature_tag(image->manifest.digest);
        if (a->json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();

                json_object_object_add(o, "image", json_object_new_string(ref));
                json_object_object_add(o, "manifest", json_object_new_string(image->manifest.digest));
                json_object_object_add(
                        o, "reference",
                        json_object_new_string(a->reference
                                                       ?: default_reference(image, refbuf, sizeof refbuf)));
                json_object_object_add(o, "key_fingerprint", json_object_new_string(fp));
                json_object_object_add(o, "anchor_key", k ? json_object_new_string(k->id) : NULL);
                json_object_object_add(o, "tag", json_object_new_string(strempty(tag)));
                json_print(o);
        } else
                printf("Signed %s (manifest %s) for reference \"%s\" with key %s (%s); signature tag %s.\n",
                       ref, image->manifest.digest,
                       a->reference ?: default_reference(image, refbuf, sizeof refbuf), fp,
                       known[0] ? known : "not a key of this host's anchor", strempty(tag));
        return 0;
}

typedef struct LayerResult {
        const char *state; /* "verified", "cache ok", "cache changed", ... */
        char message[FORGE_ERROR_MESSAGE_MAX];
        bool ok;
} LayerResult;

static int image_verify(const ImageArgs *a, const char *ref) {
        _cleanup_(trust_context_freep) TrustContext *ctx = NULL;
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_(layer_cache_freep) LayerCache *cache = NULL;
        _cleanup_free_ LayerResult *layers = NULL;
        _cleanup_free_ TrustSignatureCheck *checks = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        TrustSignature *sigs = NULL;
        size_t n_sigs = 0;
        ForgeError ierr = {};
        ForgeError err = {}, serr = {};
        char status[2048], sig_problem[FORGE_ERROR_MESSAGE_MAX] = "";
        char layers_problem[FORGE_ERROR_MESSAGE_MAX] = "";
        bool trust_ok, layers_ok = true, deep_ok = true;
        int verified = -1, r;

        cli_trust_quiet_tss();
        r = trust_context_open(a->config, a->tcti, &ctx, &err);
        if (r < 0) {
                /* A no-op when it said why. */
                (void) forge_error_set(&err, r, "Failed to open the trust context: %m");
                return log_error_errno(r, "%s", err.message), 1;
        }
        trust_ok = trust_context_launch_allowed(ctx, NULL) >= 0;
        trust_state_to_string(&ctx->state, status, sizeof status);

        r = oci_image_open(ref, &image, &ierr);
        if (r < 0)
                return log_error_errno(r, "Image %s does not verify: %s", ref,
                                       forge_error_message(&ierr, r)),
                       1;
        layers = calloc(image->n_layers ?: 1, sizeof *layers);
        if (!layers)
                return log_oom(), 1;
        r = oci_image_verify_layers(image, NULL, NULL, &ierr);
        if (r < 0) {
                layers_ok = false;
                snprintf(layers_problem, sizeof layers_problem, "%s", forge_error_message(&ierr, r));
        }

        /* Signatures: every one is checked and reported; one that holds is enough. */
        if (ctx->anchor) {
                char **allowed = NULL;

                if (a->n_keys > 0) {
                        allowed = calloc(a->n_keys + 1, sizeof *allowed);
                        if (!allowed)
                                return log_oom(), 1;
                        memcpy(allowed, a->keys, a->n_keys * sizeof *allowed);
                }
                r = trust_layout_signatures(image, &sigs, &n_sigs, &serr);
                if (r < 0)
                        snprintf(sig_problem, sizeof sig_problem, "%s", serr.message);
                if (a->signature) {
                        TrustSignature s = {}, *nl;

                        forge_error_clear(&serr);
                        r = trust_detached_signature(a->payload, a->signature, &s, &serr);
                        if (r < 0) {
                                free(allowed);
                                trust_signatures_free(sigs, n_sigs);
                                return log_error_errno(r, "%s", serr.message), 1;
                        }
                        nl = realloc(sigs, (n_sigs + 1) * sizeof *sigs);
                        if (!nl) {
                                free(allowed);
                                return log_oom(), 1;
                        }
                        sigs = nl;
                        sigs[n_sigs++] = s;
                }
                checks = calloc(n_sigs ?: 1, sizeof *checks);
                if (!checks) {
                        free(allowed);
                        trust_signatures_free(sigs, n_sigs);
                        return log_oom(), 1;
                }
                for (size_t i = 0; i < n_sigs; i++) {
                        r = trust_signature_check(ctx->anchor, &sigs[i], image->manifest.digest,
                                                  a->reference, allowed, &checks[i]);
                        if (r >= 0 && verified < 0)
                                verified = (int) i;
                }
                free(allowed);
                if (n_sigs == 0 && !sig_problem[0])
                        snprintf(sig_problem, sizeof sig_problem,
                                 "the image has no signature (no tag %s in the layout%s)",
                                 "sha256-<manifest hex>.sig", a->signature ? "" : ", no --signature given");
        } else
                snprintf(sig_problem, sizeof sig_problem, "no trust anchor: %.900s",
                         ctx->anchor_error.message);

        if (a->deep) {
                forge_error_clear(&ierr); /* it may hold the blobs' problem, reported below */
                r = layer_cache_open(a->layer_cache, &cache, &ierr);
                if (r < 0) {
                        (void) forge_error_set(&ierr, r, "Failed to open the layer cache: %m");
                        return log_error_errno(r, "%s", ierr.message), 1;
                }
                for (size_t i = 0; i < image->n_layers; i++) {
                        ForgeError lerr = {};

                        r = layer_cache_check_tree(cache, image->layers[i].diff_id, &lerr);
                        layers[i].ok = r >= 0 || r == -ENOENT;
                        layers[i].state = r >= 0          ? "unchanged"
                                          : r == -ENOENT  ? "not cached"
                                          : r == -ENODATA ? "no record"
                                                          : "changed";
                        if (r < 0 && r != -ENOENT)
                                snprintf(layers[i].message, sizeof layers[i].message, "%s", lerr.message);
                        deep_ok = deep_ok && layers[i].ok;
                }
        }

        if (a->json) {
                json_object *t = json_object_new_object(), *sl = json_object_new_array(),
                            *ll = json_object_new_array();

                o = json_object_new_object();
                json_object_object_add(o, "image", json_object_new_string(ref));
                json_object_object_add(o, "manifest", json_object_new_string(image->manifest.digest));
                json_object_object_add(t, "status",
                                       json_object_new_string(trust_status_to_string(ctx->state.status)));
                json_object_object_add(t, "state", json_object_new_string(status));
                json_object_object_add(t, "launch_allowed", json_object_new_boolean(trust_ok));
                json_object_object_add(o, "trust", t);
                json_object_object_add(o, "blobs_verified", json_object_new_boolean(layers_ok));
                json_object_object_add(o, "blobs_error",
                                       layers_problem[0] ? json_object_new_string(layers_problem) : NULL);
                for (size_t i = 0; i < image->n_layers; i++) {
                        json_object *l = json_object_new_object();

                        json_object_object_add(l, "digest",
                                               json_object_new_string(image->layers[i].blob.digest));
                        json_object_object_add(l, "diff_id",
                                               json_object_new_string(image->layers[i].diff_id));
                        json_object_object_add(l, "size",
                                               json_object_new_int64((int64_t) image->layers[i].blob.size));
                        if (a->deep) {
                                json_object_object_add(l, "cache", json_object_new_string(layers[i].state));
                                json_object_object_add(l, "cache_error",
                                                       layers[i].message[0]
                                                               ? json_object_new_string(layers[i].message)
                                                               : NULL);
                        }
                        json_object_array_add(ll, l);
                }
                json_object_object_add(o, "layers", ll);
                for (size_t i = 0; i < n_sigs; i++) {
                        json_object *s = json_object_new_object();

                        json_object_object_add(s, "source", json_object_new_string(sigs[i].source));
                        json_object_object_add(
                                s, "verified",
                                json_object_new_boolean(!forge_error_isset(&checks[i].error)));
                        json_object_object_add(
                                s, "failure",
                                !forge_error_isset(&checks[i].error)
                                        ? NULL
                                        : json_object_new_string(
                                                  trust_signature_failure_to_string(checks[i].failure)));
                        json_object_object_add(s, "error",
                                               !forge_error_isset(&checks[i].error)
                                                       ? NULL
                                                       : json_object_new_string(checks[i].error.message));
                        json_object_object_add(
                                s, "key", checks[i].key ? json_object_new_string(checks[i].key->id) : NULL);
                        json_object_object_add(
                                s, "reference",
                                checks[i].reference[0] ? json_object_new_string(checks[i].reference) : NULL);
                        json_object_array_add(sl, s);
                }
                json_object_object_add(o, "signatures", sl);
                json_object_object_add(o, "signature_error",
                                       sig_problem[0] ? json_object_new_string(sig_problem) : NULL);
                json_object_object_add(
                        o, "verified",
                        json_object_new_boolean(trust_ok && layers_ok && verified >= 0 && deep_ok));
                json_print(o);
        } else {
                printf("image:      %s\nmanifest:   %s\ntrust:      %s\n", ref, image->manifest.digest,
                       status);
                printf("blobs:      %s\n", layers_ok ? "every digest and size verified" : layers_problem);
                for (size_t i = 0; i < n_sigs; i++)
                        if (!forge_error_isset(&checks[i].error))
                                printf("signature:  %s: verified with anchor key \"%s\", reference \"%s\"\n",
                                       sigs[i].source, checks[i].key->id, checks[i].reference);
                        else
                                printf("signature:  %s: %s\n", sigs[i].source, checks[i].error.message);
                if (sig_problem[0])
                        printf("signature:  %s\n", sig_problem);
                for (size_t i = 0; a->deep && i < image->n_layers; i++)
                        printf("cache:      %s %s%s%s\n", image->layers[i].diff_id, layers[i].state,
                               layers[i].message[0] ? ": " : "", layers[i].message);
                printf("%s\n",
                       trust_ok && layers_ok && verified >= 0 && deep_ok ? "Verified" : "Not verified");
        }
        trust_signatures_free(sigs, n_sigs);

        if (!trust_ok)
                log_error("Trust status %s: no image verifies while launches are refused.", status);
        return trust_ok && layers_ok && verified >= 0 && deep_ok ? 0 : 1;
}

int verb_image(int argc, char *argv[]) {
        enum {
                ARG_CONFIG = 0x100,
                ARG_TCTI,
                ARG_KEY,
                ARG_REFERENCE,
                ARG_SIGNATURE,
                ARG_PAYLOAD,
                ARG_DEEP,
                ARG_LAYER_CACHE,
                ARG_JSON,
        };
        static const struct option options[] = {
                { "config", required_argument, NULL, ARG_CONFIG },
                { "tcti", required_argument, NULL, ARG_TCTI },
                { "key", required_argument, NULL, ARG_KEY },
                { "reference", required_argument, NULL, ARG_REFERENCE },
                { "signature", required_argument, NULL, ARG_SIGNATURE },
                { "payload", required_argument, NULL, ARG_PAYLOAD },
                { "deep", no_argument, NULL, ARG_DEEP },
                { "layer-cache", required_argument, NULL, ARG_LAYER_CACHE },
                { "json", no_argument, NULL, ARG_JSON },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_free_ char **keys = NULL;
        ImageArgs a = {};
        const char *sub;
        int c;

        if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
                help();
                return argc < 2 ? 1 : 0;
        }
        sub = argv[1];
        optind = 0;
        while ((c = getopt_long(argc - 1, argv + 1, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_CONFIG:
                        a.config = optarg;
                        break;
                case ARG_TCTI:
                        a.tcti = optarg;
                        break;
                case ARG_KEY: {
                        char **nk = realloc(keys, (a.n_keys + 2) * sizeof *keys);

                        if (!nk)
                                return log_oom(), 1;
                        keys = nk;
                        keys[a.n_keys++] = optarg;
                        keys[a.n_keys] = NULL;
                        a.keys = keys;
                        break;
                }
                case ARG_REFERENCE:
                        a.reference = optarg;
                        break;
                case ARG_SIGNATURE:
                        a.signature = optarg;
                        break;
                case ARG_PAYLOAD:
                        a.payload = optarg;
                        break;
                case ARG_DEEP:
                        a.deep = true;
                        break;
                case ARG_LAYER_CACHE:
                        a.layer_cache = optarg;
                        break;
                case ARG_JSON:
                        a.json = true;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        return 1;
                }
        if (argc - 1 - optind != 1) {
                log_error("image %s needs exactly one DIR[:TAG]; see 'forgeonectl image --help'.", sub);
                return 1;
        }
        if (!a.signature != !a.payload) {
                log_error("--signature and --payload go together: a detached signature and the payload it "
                          "signs.");
                return 1;
        }
        if (streq(sub, "verify"))
                return image_verify(&a, argv[1 + optind]);
        if (streq(sub, "sign")) {
                if (a.signature || a.deep || a.layer_cache) {
                        log_error("--signature, --payload, --deep and --layer-cache are options of 'image "
                                  "verify'.");
                        return 1;
                }
                return image_sign(&a, argv[1 + optind]);
        }
        log_error("Unknown image command '%s'; expected verify or sign.", sub);
        return 1;
}
