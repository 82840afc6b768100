/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What forgeoned adds to a run of an OCI image, against the same trust
 * anchor "forgeonectl run --local --image" uses (forgeone.trust(7)): the
 * trust context (opened at start, its status read again at each image run
 * and on demand over D-Bus: a Compromised host launches nothing), the
 * measurements (forgeoned's binary, the trust configuration and the anchor
 * once; the active policy at its load and every reload, once per digest)
 * and the verifier
 * of each launch, built on the active policy's identities. An image that
 * runs on an identity's allow_unsigned is logged loudly, with its own
 * MESSAGE_ID, as the CLI logs it. Also the container store, where the
 * containers' records are (the runtime's state directory).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "forgeone/fs-util.h"
#include "forgeone/log.h"
#include "forgeone/trust-log.h"
#include "forgeone/trust-anchor.h"
#include "forgeone/trust-config.h"
#include "manager.h"

/* journalctl MESSAGE_ID=... finds every unsigned launch (the same id as forgeonectl's). */
#define MESSAGE_ID_UNSIGNED "adcd173ca23042a181d7778d6bb64668"

static void on_trust_notice(TrustNotice kind, const char *identity, const char *image_digest, const char *text,
                            void *userdata) {
        if (kind == TRUST_NOTICE_UNSIGNED) {
                log_warning("%s", text);
                (void) sd_journal_send("MESSAGE=%s", text, "MESSAGE_ID=" MESSAGE_ID_UNSIGNED, "PRIORITY=4",
                                       "FORGEONE_IDENTITY=%s", identity, "FORGEONE_IMAGE_DIGEST=%s", image_digest,
                                       NULL);
        } else
                log_notice("%s", text);
}

int manager_trust_refresh(Manager *m, ForgeError *err) {
        _cleanup_(trust_context_freep) TrustContext *ctx = NULL;
        int r;

        if (m->trust)
                return trust_context_refresh(m->trust, err);
        /* tpm2-tss logs its own errors to stderr; ours say the same with context. */
        (void) setenv("TSS2_LOG", "all+none", 0);
        r = trust_context_open(NULL, NULL, &ctx, err);
        if (r < 0)
                return forge_error_prefix(err, r, "cannot open the trust configuration: ");
        /* forgeoned itself, its trust configuration and the anchor: what vouches for the launches to come. */
        r = trust_measure_self(ctx, err);
        if (r < 0)
                return forge_error_prefix(err, r, "cannot measure forgeoned: ");
        m->trust = TAKE_PTR(ctx);
        return 0;
}

int manager_trust_measure_policy(Manager *m, ForgeError *err) {
        int r;

        if (!m->trust || !m->policy_text || streq(m->trust_policy_digest, m->policy_digest))
                return 0;
        /* What is measured is the text the daemon parsed. */
        r = trust_measure_data(m->trust->tpm, m->trust->config->event_log, m->trust->config->pcr,
                               TRUST_EVENT_POLICY, strempty(m->policy_source), m->policy_text, m->policy_len,
                               err);
        if (r < 0)
                return forge_error_prefix(err, r, "cannot measure policy %s: ", strempty(m->policy_source));
        snprintf(m->trust_policy_digest, sizeof m->trust_policy_digest, "%s", m->policy_digest);
        return 0;
}

const char *manager_trust_status(Manager *m, char *buf, size_t size) {
        if (!m->trust) {
                snprintf(buf, size, "Unknown(%s)", m->trust_error[0] ? m->trust_error : "not opened");
                return buf;
        }
        return trust_state_to_string(&m->trust->state, buf, size);
}

int manager_image_verifier(Manager *m, ContainerConfig *c, const char *identity, TrustVerifier **ret,
                           ForgeError *err) {
        _cleanup_(trust_verifier_freep) TrustVerifier *v = NULL;
        int r;

        r = manager_trust_refresh(m, err);
        if (r < 0)
                return r;
        r = trust_context_launch_allowed(m->trust, err);
        if (r < 0)
                return forge_error_prefix(err, r, "refusing to run %s: ", c->image);
        /* The policy the image is verified and run under (measured at load and reload; again here when that
         * failed). */
        r = manager_trust_measure_policy(m, err);
        if (r < 0)
                return r;
        r = trust_verifier_new(m->trust, policy_graph_policy(m->graph), c->name, c->labels, &v);
        if (r < 0)
                return forge_error_set(err, r, "cannot set up the image verifier: %m");
        trust_verifier_set_notice(v, on_trust_notice, NULL);
        if (identity) {
                r = trust_verifier_set_identity(v, identity);
                if (r < 0)
                        return forge_error_set(err, r, "the active policy has no identity '%s'", identity);
        }
        c->verify = trust_verify_image;
        c->verify_userdata = v;
        *ret = TAKE_PTR(v);
        return 0;
}

int manager_containers(Manager *m, ContainerStore **ret) {
        int r;

        if (!m->containers) {
                r = container_store_open(NULL, &m->containers);
                if (r < 0)
                        return r;
        }
        *ret = m->containers;
        return 0;
}

void manager_reap_orphan_containers(Manager *m) {
        ContainerStore *s;
        int r;

        if (manager_containers(m, &s) < 0)
                return;
        r = container_reap_orphans(s);
        if (r > 0)
                log_notice("%d container(s) whose owner had exited were stopped and recorded Failed.", r);
}

void manager_image_done(Manager *m) {
        m->trust = trust_context_free(m->trust);
        m->containers = container_store_free(m->containers);
}
