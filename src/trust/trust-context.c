/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "forgeone/fs-util.h"
#include "forgeone/string-table.h"
#include "forgeone/trust-anchor.h"
#include "forgeone/trust-config.h"
#include "forgeone/trust-log.h"
#include "forgeone/trust-tpm.h"
#include "trust-internal.h"

#define TPM2_ALG_SHA256_ID 0x000Bu

static const char *const trust_status_table[_TRUST_STATUS_MAX] = {
        [TRUST_STATUS_VERIFIED] = "Verified",
        [TRUST_STATUS_COMPROMISED] = "Compromised",
        [TRUST_STATUS_UNKNOWN] = "Unknown",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(trust_status, TrustStatus)

const char *trust_state_to_string(const TrustState *s, char *buf, size_t size) {
        if (s->status == TRUST_STATUS_VERIFIED)
                snprintf(buf, size, "Verified");
        else
                snprintf(buf, size, "%s(%s)", trust_status_to_string(s->status), s->reason);
        return buf;
}

TrustContext *trust_context_free(TrustContext *ctx) {
        if (!ctx)
                return NULL;
        trust_config_free(ctx->config);
        trust_anchor_free(ctx->anchor);
        trust_tpm_free(ctx->tpm);
        free(ctx);
        return NULL;
}

char *trust_saved_anchor_path(const TrustContext *ctx, const uint8_t digest[32]) {
        char hex[65], *p;

        if (asprintf(&p, "%s/anchors/%s.json", ctx->config->state_dir, trust_hex(digest, hex)) < 0)
                return NULL;
        return p;
}

/* Reads the configured anchor: its digest whenever the bytes can be read, the parsed anchor when valid. */
static void load_anchor(TrustContext *ctx) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        ctx->anchor = trust_anchor_free(ctx->anchor);
        forge_error_clear(&ctx->anchor_error);
        ctx->state.anchor_read = ctx->state.anchor_loaded = false;

        r = trust_read_file(ctx->config->anchor, TRUST_ANCHOR_SIZE_MAX, &data, &size);
        if (r < 0) {
                (void) forge_error_set(&ctx->anchor_error, r, "cannot read trust anchor %s: %s",
                                       ctx->config->anchor,
                                       r == -EFBIG ? "too large to be an anchor" : strerror(-r));
                return;
        }
        if (trust_sha256(data, size, ctx->state.anchor_digest) >= 0)
                ctx->state.anchor_read = true;
        r = trust_anchor_parse(data, size, ctx->config->anchor, &ctx->anchor, &ctx->anchor_error);
        if (r < 0)
                (void) forge_error_set(&ctx->anchor_error, r, "%m"); /* when the parser said nothing */
        else
                ctx->state.anchor_loaded = true;
}

_printf_(2, 3) static int compromised(TrustState *s, const char *format, ...) {
        va_list ap;

        s->status = TRUST_STATUS_COMPROMISED;
        va_start(ap, format);
        (void) vsnprintf(s->reason, sizeof s->reason, format, ap);
        va_end(ap);
        return 0;
}

/* What differs between the enrolled anchor (our saved copy, when there is one) and the file. */
static void describe_change(TrustContext *ctx, char *buf, size_t size) {
        _cleanup_(trust_anchor_freep) TrustAnchor *old = NULL;
        _cleanup_free_ char *path = NULL, *diff = NULL;

        buf[0] = 0;
        path = trust_saved_anchor_path(ctx, ctx->state.nv_digest);
        if (!path || trust_anchor_load(path, &old, NULL) < 0 ||
            memcmp(old->digest, ctx->state.nv_digest, 32) != 0)
                return;
        if (!ctx->anchor) {
                snprintf(buf, size, "; against the enrolled copy the file is no longer a valid anchor");
                return;
        }
        if (trust_anchor_diff(old, ctx->anchor, &diff) < 0)
                return;
        snprintf(buf, size, "; against the enrolled copy: %s",
                 diff[0] ? diff : "same id, keys and metadata, other bytes");
}

static int compute_state(TrustContext *ctx) {
        TrustState *s = &ctx->state;
        ForgeError terr = {};
        TrustNvInfo info;
        char a[72], b[72], attrs[256], want[256], change[512];
        uint32_t index = ctx->config->nv_index;
        int r;

        s->nv_defined = s->nv_read = s->saved_copy = s->owner_auth_known = false;
        s->reason[0] = 0;
        if (!ctx->tpm) {
                s->status = TRUST_STATUS_UNKNOWN;
                snprintf(s->reason, sizeof s->reason, "no TPM");
                return 0;
        }
        s->detail[0] = 0;
        s->status = TRUST_STATUS_VERIFIED;
        if (trust_tpm_owner_auth_set(ctx->tpm, &s->owner_auth_set, NULL) >= 0)
                s->owner_auth_known = true;

        r = trust_tpm_nv_info(ctx->tpm, index, &info, &terr);
        if (r == -ENOENT)
                return compromised(
                        s,
                        "NV index 0x%08X is not defined: the anchor was never enrolled or the index "
                        "was removed",
                        index);
        if (r < 0)
                return compromised(s, "cannot read NV index 0x%08X: %s", index, terr.message);
        s->nv_defined = true;
        s->nv_attributes = info.attributes;
        if ((info.attributes & ~TRUST_NV_STATE_BITS) != TRUST_NV_ATTRIBUTES || info.size != TRUST_NV_SIZE ||
            info.name_alg != TPM2_ALG_SHA256_ID)
                return compromised(
                        s,
                        "NV index 0x%08X is defined with attributes %s, size %u, name algorithm 0x%04x; "
                        "enrolment defines %s, size %u, sha256",
                        index, trust_nv_attributes_to_string(info.attributes, attrs, sizeof attrs),
                        (unsigned) info.size, (unsigned) info.name_alg,
                        trust_nv_attributes_to_string(TRUST_NV_ATTRIBUTES, want, sizeof want),
                        TRUST_NV_SIZE);
        if (!(info.attributes & TRUST_TPMA_NV_WRITTEN))
                return compromised(s, "NV index 0x%08X was defined but never written", index);
        if (!(info.attributes & TRUST_TPMA_NV_WRITELOCKED))
                return compromised(
                        s, "NV index 0x%08X is not write-locked: the digest it holds could be rewritten",
                        index);
        r = trust_tpm_nv_read(ctx->tpm, index, s->nv_digest, &terr);
        if (r < 0)
                return compromised(s, "cannot read NV index 0x%08X: %s", index, terr.message);
        s->nv_read = true;
        {
                _cleanup_free_ char *saved = trust_saved_anchor_path(ctx, s->nv_digest);
                s->saved_copy = saved && access(saved, R_OK) == 0;
        }
        trust_digest_to_string(s->nv_digest, b);
        if (!s->anchor_read)
                return compromised(s, "%s; the TPM holds %s", ctx->anchor_error.message, b);
        if (memcmp(s->anchor_digest, s->nv_digest, 32) != 0) {
                describe_change(ctx, change, sizeof change);
                return compromised(s, "anchor %s has digest %s, the TPM holds %s%s", ctx->config->anchor,
                                   trust_digest_to_string(s->anchor_digest, a), b, change);
        }
        if (!ctx->anchor)
                return compromised(s, "the anchor matches the TPM but is not valid: %s",
                                   ctx->anchor_error.message);
        return 0;
}

int trust_context_refresh(TrustContext *ctx, ForgeError *err) {
        load_anchor(ctx);
        return compute_state(ctx);
}

int trust_context_open(const char *config_path, const char *tcti, TrustContext **ret, ForgeError *err) {
        _cleanup_(trust_context_freep) TrustContext *ctx = NULL;
        ForgeError terr = {};
        int r;

        ctx = calloc(1, sizeof *ctx);
        if (!ctx)
                return -ENOMEM;
        r = trust_config_load(config_path, &ctx->config, err);
        if (r < 0)
                return r;
        if (tcti) {
                char *t = strdup(tcti);
                if (!t)
                        return -ENOMEM;
                free(ctx->config->tcti);
                ctx->config->tcti = t;
        }
        r = trust_tpm_open(ctx->config->tcti, &ctx->tpm, &terr);
        if (r == -ENODEV)
                snprintf(ctx->state.detail, sizeof ctx->state.detail, "%s", terr.message);
        else if (r < 0)
                return forge_error_propagate(err, &terr, r);
        r = trust_context_refresh(ctx, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(ctx);
        return 0;
}

#define SELF_BYTES_MAX (256u * 1024u * 1024u)

int trust_measure_self(TrustContext *ctx, ForgeError *err) {
        _cleanup_free_ char *data = NULL;
        _cleanup_close_ int fd = -EBADF;
        char exe[4096];
        size_t size = 0;
        ssize_t n;
        int r;

        if (!ctx->tpm)
                return 0;
        n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n < 0)
                return forge_error_set(err, -errno, "cannot find our own binary to measure it: %m");
        exe[n] = 0;
        /* The running image itself: /proc/self/exe is a magic link, opened as such (not by its path, which
         * could name another file by now). */
        fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        r = fd < 0 ? -errno : read_full_fd(fd, SELF_BYTES_MAX, &data, &size);
        if (r < 0)
                return forge_error_set(err, r, "cannot read our own binary %s to measure it: %m", exe);
        r = trust_measure_data(ctx->tpm, ctx->config->event_log, ctx->config->pcr, TRUST_EVENT_BINARY, exe, data,
                               size, err);
        if (r >= 0 && ctx->config->data)
                r = trust_measure_data(ctx->tpm, ctx->config->event_log, ctx->config->pcr, TRUST_EVENT_CONFIG,
                                       ctx->config->path, ctx->config->data, ctx->config->size, err);
        if (r >= 0 && ctx->anchor)
                r = trust_measure_data(ctx->tpm, ctx->config->event_log, ctx->config->pcr, TRUST_EVENT_ANCHOR,
                                       ctx->anchor->path, ctx->anchor->data, ctx->anchor->size, err);
        return r;
}

int trust_context_launch_allowed(const TrustContext *ctx, ForgeError *err) {
        char s[1024];

        if (ctx->state.status == TRUST_STATUS_COMPROMISED)
                return forge_error_set_kind(
                        err, FORGE_ERROR_UNTRUSTED, -EPERM,
                        "trust status is %s: no image launches until it is Verified again "
                        "(see forgeone.trust(7), RECOVERY)",
                        trust_state_to_string(&ctx->state, s, sizeof s));
        if (ctx->state.status == TRUST_STATUS_UNKNOWN && ctx->config->require_tpm)
                return forge_error_set_kind(
                        err, FORGE_ERROR_UNTRUSTED, -EPERM,
                        "trust status is Unknown(no TPM) (%s) and require_tpm is set in %s",
                        ctx->state.detail, strempty(ctx->config->path));
        return 0;
}

static int save_copy(TrustContext *ctx, const TrustAnchor *a, ForgeError *err) {
        _cleanup_free_ char *dir = NULL, *path = NULL;
        int r;

        if (asprintf(&dir, "%s/anchors", ctx->config->state_dir) < 0 ||
            !(path = trust_saved_anchor_path(ctx, a->digest)))
                return -ENOMEM;
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return forge_error_set(err, r, "cannot create %s: %s", dir, strerror(-r));
        r = trust_write_file_atomic(path, a->data, a->size, 0644);
        if (r < 0)
                return forge_error_set(err, r, "cannot keep a copy of the anchor in %s: %s", path,
                                       strerror(-r));
        return 0;
}

static int install_anchor(TrustContext *ctx, const TrustAnchor *a, ForgeError *err) {
        _cleanup_free_ char *dir = strdup(ctx->config->anchor);
        char *slash;
        int r;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = 0;
                r = mkdir_p(dir, 0755);
                if (r < 0)
                        return forge_error_set(err, r, "cannot create %s: %s", dir, strerror(-r));
        }
        r = trust_write_file_atomic(ctx->config->anchor, a->data, a->size, 0644);
        if (r < 0)
                return forge_error_set(err, r, "cannot install the anchor at %s: %s", ctx->config->anchor,
                                       strerror(-r));
        return 0;
}

static bool same_file(const char *a, const char *b) {
        struct stat sa, sb;

        return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int trust_context_enroll(TrustContext *ctx, const char *path, const void *owner_auth, size_t owner_auth_size,
                         bool force, ForgeError *err) {
        _cleanup_(trust_anchor_freep) TrustAnchor *a = NULL;
        uint32_t index = ctx->config->nv_index;
        TrustNvInfo info;
        uint8_t held[32];
        char d[72];
        bool written = false;
        int r;

        r = trust_anchor_load(path, &a, err);
        if (r < 0)
                return r;
        if (!ctx->tpm && ctx->config->require_tpm)
                return forge_error_set(err, -ENODEV,
                                       "no TPM (%s) and require_tpm is set in %s: nothing to enrol into",
                                       ctx->state.detail, strempty(ctx->config->path));
        r = save_copy(ctx, a, err);
        if (r < 0)
                return r;

        if (ctx->tpm) {
                r = trust_tpm_nv_info(ctx->tpm, index, &info, err);
                if (r >= 0) {
                        bool same = (info.attributes & ~TRUST_NV_STATE_BITS) == TRUST_NV_ATTRIBUTES &&
                                    (info.attributes & TRUST_TPMA_NV_WRITELOCKED) &&
                                    trust_tpm_nv_read(ctx->tpm, index, held, NULL) >= 0 &&
                                    memcmp(held, a->digest, 32) == 0;

                        if (!force && !same)
                                return forge_error_set(
                                        err, -EEXIST,
                                        "NV index 0x%08X is already defined and does not hold %s with "
                                        "the expected attributes; re-enrol with --force and the "
                                        "owner authorization",
                                        index, trust_digest_to_string(a->digest, d));
                        if (force) {
                                r = trust_tpm_nv_undefine(ctx->tpm, index, owner_auth, owner_auth_size, err);
                                if (r < 0)
                                        return r;
                        }
                        written = !force; /* already enrolled with exactly this anchor */
                } else if (r != -ENOENT)
                        return r;
                forge_error_clear(err);
                if (!written) {
                        r = trust_tpm_nv_define_write_lock(ctx->tpm, index, a->digest, owner_auth,
                                                           owner_auth_size, err);
                        if (r < 0)
                                return r;
                }
        }

        if (!same_file(path, ctx->config->anchor)) {
                r = install_anchor(ctx, a, err);
                if (r < 0)
                        return r;
        }
        r = trust_context_refresh(ctx, err);
        if (r < 0)
                return r;
        r = trust_measure_data(ctx->tpm, ctx->config->event_log, ctx->config->pcr, TRUST_EVENT_ANCHOR,
                               ctx->config->anchor, a->data, a->size, err);
        if (r < 0)
                return r;
        return written ? 0 : 1;
}

int trust_context_restore(TrustContext *ctx, ForgeError *err) {
        _cleanup_(trust_anchor_freep) TrustAnchor *a = NULL;
        _cleanup_free_ char *path = NULL;
        uint8_t held[32];
        char d[72];
        int r;

        if (!ctx->tpm)
                return forge_error_set(err, -ENODEV,
                                       "no TPM (%s): nothing says which saved anchor is the good one",
                                       ctx->state.detail);
        r = trust_tpm_nv_read(ctx->tpm, ctx->config->nv_index, held, err);
        if (r == -ENOENT)
                return forge_error_prefix(err, r, "nothing to restore against: ");
        if (r < 0)
                return r;
        path = trust_saved_anchor_path(ctx, held);
        if (!path)
                return -ENOMEM;
        r = trust_anchor_load(path, &a, err);
        if (r == -ENOENT) {
                forge_error_clear(err);
                return forge_error_set(
                        err, -ENOENT,
                        "no saved anchor has the digest the TPM holds (%s): %s does not exist; "
                        "restore the file from a backup, or re-enrol with --force",
                        trust_digest_to_string(held, d), path);
        }
        if (r < 0)
                return r;
        if (memcmp(a->digest, held, 32) != 0)
                return forge_error_set(
                        err, -EBADMSG,
                        "the saved anchor %s does not have the digest its name says: it "
                        "was changed; restore the file from a backup, or re-enrol with --force",
                        path);
        r = install_anchor(ctx, a, err);
        if (r < 0)
                return r;
        return trust_context_refresh(ctx, err);
}
