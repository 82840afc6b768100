/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* decide(): policy verdict -> supervisor action, a pure function (see supervisor-decide.h). */
#include <string.h>

#include "forgeone/supervisor-decide.h"

/* Two paths (rename, link): both must pass; the stronger verdict explains the decision. */
static int eval(const PolicyGraph *g, const DecideCall *c, int trust, PolicyDecision *ret) {
        PolicyQuery q = {
                .identity = c->identity,
                .trust = trust,
                .arch = c->arch,
                .nr = c->nr,
                .path = c->decoded ? c->path : NULL,
                .access = c->access,
                .addr = c->decoded ? c->addr : NULL,
        };
        PolicyDecision d2;
        int r;

        memcpy(q.args, c->args, sizeof q.args);
        r = policy_graph_eval(g, &q, ret);
        if (r < 0 || !c->decoded || !c->path2)
                return r;
        q.path = c->path2;
        q.access = c->access2;
        r = policy_graph_eval(g, &q, &d2);
        if (r < 0)
                return r;
        if (d2.verdict > ret->verdict)
                *ret = d2;
        ret->used_memory = true;
        return 0;
}

int supervisor_decide(const PolicyGraph *g, const DecideCall *c, int trust, Decision *ret) {
        PolicyDecision pd = {};
        int r;

        if (c->quarantined) {
                *ret = (Decision) {
                        .action = SUPERVISOR_ACTION_DENY,
                        .verdict = POLICY_VERDICT_QUARANTINE,
                        .error = EPERM,
                        .rule_id = "supervisor",
                        .reason = "workload quarantined",
                };
                return 0;
        }
        if (c->decode_error > 0) {
                *ret = (Decision) {
                        .action = SUPERVISOR_ACTION_DENY,
                        .verdict = POLICY_VERDICT_DENY,
                        .error = c->decode_error == ENOMEM || c->decode_error == EIO ? EPERM : c->decode_error,
                        .rule_id = "supervisor",
                        .reason = "arguments could not be decoded",
                };
                return 0;
        }

        r = eval(g, c, trust, &pd);
        if (r < 0) {
                *ret = (Decision) {
                        .action = SUPERVISOR_ACTION_DENY,
                        .verdict = POLICY_VERDICT_DENY,
                        .error = EPERM,
                        .rule_id = "supervisor",
                        .reason = "policy evaluation failed",
                };
                return r;
        }

        *ret = (Decision) { .verdict = pd.verdict, .rule_id = pd.rule_id };
        switch (pd.verdict) {
        case POLICY_VERDICT_ALLOW:
        case POLICY_VERDICT_EMULATE:
                if (!pd.used_memory && (pd.verdict == POLICY_VERDICT_ALLOW || !c->emulable)) {
                        ret->action = SUPERVISOR_ACTION_CONTINUE;
                        break;
                }
                if (c->emulable) {
                        ret->action = SUPERVISOR_ACTION_EMULATE;
                        ret->needs_decode = !c->decoded;
                        break;
                }
                /* Allowed on what memory said, and not emulable: the kernel will read that memory again. */
                ret->action = SUPERVISOR_ACTION_CONTINUE;
                ret->requires_stable_memory = true;
                break;

        case POLICY_VERDICT_DENY:
                if (c->creds_noop) {
                        ret->action = SUPERVISOR_ACTION_CONTINUE;
                        ret->reason = "changes no credential";
                        ret->requires_stable_memory = c->creds_noop_from_memory;
                        break;
                }
                ret->action = SUPERVISOR_ACTION_DENY;
                ret->error = pd.errno_value ?: EPERM;
                ret->penalize = pd.reason == POLICY_REASON_RULE || pd.reason == POLICY_REASON_DEFAULT;
                break;

        case POLICY_VERDICT_QUARANTINE:
        default:
                ret->action = SUPERVISOR_ACTION_QUARANTINE;
                ret->error = pd.errno_value ?: EPERM;
                break;
        }
        return 0;
}
