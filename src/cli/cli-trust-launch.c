/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The trust part of "run --local --image": before anything is launched the
 * trust status must allow launches; forgeonectl itself, its trust
 * configuration, the anchor and the policy (the bytes that are parsed, read
 * once) are measured; and the image verifier is set on the container's
 * configuration, where container_run() calls it before a layer is read. An
 * image that runs on an identity's allow_unsigned is reported loudly: on
 * stderr and to the journal with its own MESSAGE_ID.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "cli-trust.h"
#include "forgeone/fs-util.h"
#include "forgeone/log.h"
#include "forgeone/trust-anchor.h"
#include "forgeone/trust-config.h"
#include "forgeone/trust-log.h"
#include "forgeone/trust-verify.h"

/* The policy parser's own limit: a bigger file is left to policy_load_file() to refuse. */
#define POLICY_BYTES_MAX (64u * 1024u * 1024u)
/* journalctl MESSAGE_ID=... finds every unsigned launch. */
#define MESSAGE_ID_UNSIGNED "adcd173ca23042a181d7778d6bb64668"

struct CliTrustLaunch {
        TrustContext *ctx;
        TrustVerifier *verifier;
        ContainerConfig *cfg;
};

TrustContext *cli_trust_launch_context(CliTrustLaunch *t) {
        return t ? t->ctx : NULL;
}

CliTrustLaunch *cli_trust_launch_free(CliTrustLaunch *t) {
        if (!t)
                return NULL;
        trust_verifier_free(t->verifier);
        trust_context_free(t->ctx);
        free(t);
        return NULL;
}

void cli_trust_quiet_tss(void) {
        /* tpm2-tss logs its own errors to stderr; ours say the same with context. TSS2_LOG set by the user
         * wins (debugging). */
        (void) setenv("TSS2_LOG", "all+none", 0);
}


int cli_trust_measure_self(TrustContext *ctx) {
        ForgeError err = {};
        int r = trust_measure_self(ctx, &err);

        if (r < 0)
                return log_error_errno(r, "Failed to measure: %s", forge_error_message(&err, r));
        return 0;
}

int cli_trust_load_policy(TrustContext *ctx, const char *path, Policy **ret, PolicyDiagnostics *diag) {
        _cleanup_free_ char *data = NULL, *abs = NULL;
        _cleanup_close_ int fd = -EBADF;
        ForgeError err = {};
        size_t size = 0;
        int r;

        /* One read: what is measured is exactly what is parsed. Any failure to read is left to
         * policy_load_file(), which describes it in the diagnostics like every other policy error. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || read_full_fd(fd, POLICY_BYTES_MAX, &data, &size) < 0)
                return policy_load_file(path, ret, diag, NULL);
        abs = realpath(path, NULL);
        r = trust_measure_data(ctx->tpm, ctx->config->event_log, ctx->config->pcr, TRUST_EVENT_POLICY,
                               abs ?: path, data, size, &err);
        if (r < 0) {
                log_error("Failed to measure policy %s: %s", path, forge_error_message(&err, r));
                return r;
        }
        return policy_load_string(data, size, path, ret, diag, NULL);
}

static void on_notice(TrustNotice kind, const char *identity, const char *image_digest, const char *text,
                      void *userdata) {
        if (kind == TRUST_NOTICE_UNSIGNED) {
                log_warning("%s", text);
                (void) sd_journal_send("MESSAGE=%s", text, "MESSAGE_ID=" MESSAGE_ID_UNSIGNED, "PRIORITY=4",
                                       "FORGEONE_IDENTITY=%s", identity, "FORGEONE_IMAGE_DIGEST=%s",
                                       image_digest, NULL);
        } else
                log_notice("%s", text);
}

int cli_trust_launch_begin(ContainerConfig *cfg, CliTrustLaunch **ret) {
        _cleanup_(cli_trust_launch_freep) CliTrustLaunch *t = calloc(1, sizeof *t);
        ForgeError err = {};
        int r;

        if (!t)
                return log_oom();
        cli_trust_quiet_tss();
        r = trust_context_open(NULL, NULL, &t->ctx, &err);
        if (r < 0)
                return log_error_errno(r, "Failed to open the trust configuration: %s",
                                       forge_error_message(&err, r));
        r = trust_context_launch_allowed(t->ctx, &err);
        if (r < 0)
                return log_error_errno(r, "Refusing to run %s: %s", cfg->image, err.message);
        r = cli_trust_measure_self(t->ctx);
        if (r < 0)
                return r;
        t->cfg = cfg;
        *ret = TAKE_PTR(t);
        return 0;
}

int cli_trust_launch_set_identity(CliTrustLaunch *t, const char *identity) {
        int r = trust_verifier_set_identity(t->verifier, identity);

        if (r < 0)
                log_error("The policy has no identity \"%s\".", identity);
        return r;
}

int cli_trust_launch_load_policy(CliTrustLaunch *t, const char *path, Policy **ret,
                                 PolicyDiagnostics *diag) {
        int r;

        r = cli_trust_load_policy(t->ctx, path, ret, diag);
        if (r < 0)
                return r;
        r = trust_verifier_new(t->ctx, *ret, t->cfg->name, t->cfg->labels, &t->verifier);
        if (r < 0) {
                *ret = policy_free(*ret);
                return log_oom();
        }
        trust_verifier_set_notice(t->verifier, on_notice, NULL);
        t->cfg->verify = trust_verify_image;
        t->cfg->verify_userdata = t->verifier;
        return 0;
}
