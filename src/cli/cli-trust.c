/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * forgeonectl trust status|enroll|restore|log: the TPM-backed trust anchor
 * and the measurement log (forgeone.trust(7)). status, log and enroll take
 * --json. Exit status: 0 when images may launch (status; enroll and restore
 * once done) or the log replays (log --verify), 1 otherwise.
 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli-trust.h"
#include "cli-verbs.h"
#include "forgeone/log.h"
#include "forgeone/trust-anchor.h"
#include "forgeone/trust-config.h"
#include "forgeone/trust-log.h"
#include "forgeone/trust-tpm.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

#define OWNER_AUTH_MAX 64

static void help(void) {
        printf("Usage: forgeonectl trust status [--json]\n"
               "       forgeonectl trust enroll [--force] [--owner-auth-file FILE] [--json] ANCHOR\n"
               "       forgeonectl trust restore\n"
               "       forgeonectl trust log [--verify] [--json]\n\n"
               "The trust anchor whose SHA-256 a TPM NV index holds, and the measurement log.\n\n"
               "  status     compare the anchor with the NV index: Verified, Compromised(reason) or\n"
               "             Unknown(no TPM); exit 0 when images may launch\n"
               "  enroll     install ANCHOR, write its SHA-256 to the NV index and write-lock it\n"
               "             (owner authorization); --force replaces an enrolled anchor\n"
               "  restore    put back the saved anchor whose digest the NV index holds\n"
               "  log        print the event log; --verify replays it against the PCR\n\n"
               "  --config FILE            trust configuration (default $FORGEONE_TRUST_CONFIG or\n"
               "                           /etc/forgeone/trust.json)\n"
               "  --tcti CONF              TPM to use (default from the configuration, device:/dev/tpmrm0)\n"
               "  --owner-auth-file FILE   owner hierarchy authorization (\"-\": standard input)\n"
               "  --force                  re-enrol over an enrolled anchor (needs the owner "
               "authorization)\n"
               "  --verify                 replay the log against the TPM's PCR\n"
               "  --json                   print JSON\n"
               "\nSee forgeone.trust(7), which also describes the anchor file.\n");
}

typedef struct TrustArgs {
        const char *config;
        const char *tcti;
        const char *owner_auth_file;
        bool force;
        bool verify;
        bool json;
} TrustArgs;

static void json_print(json_object *o) {
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static json_object *json_string_or_null(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

static json_object *json_digest(bool have, const uint8_t d[32]) {
        char buf[72];

        if (!have)
                return NULL;
        trust_digest_to_string(d, buf);
        return json_object_new_string(buf);
}

static int open_context(const TrustArgs *a, TrustContext **ret) {
        ForgeError err = {};
        int r;

        cli_trust_quiet_tss();
        r = trust_context_open(a->config, a->tcti, ret, &err);
        if (r < 0) {
                /* A no-op when it said why. */
                (void) forge_error_set(&err, r, "Failed to open the trust context: %m");
                return log_error_errno(r, "%s", err.message);
        }
        return 0;
}

static json_object *status_json(const TrustContext *ctx) {
        const TrustState *s = &ctx->state;
        json_object *o = json_object_new_object(), *anchor = json_object_new_object(),
                    *tpm = json_object_new_object();
        char buf[2048], attrs[256], index[16];

        json_object_object_add(o, "status", json_object_new_string(trust_status_to_string(s->status)));
        json_object_object_add(
                o, "reason", s->status == TRUST_STATUS_VERIFIED ? NULL : json_object_new_string(s->reason));
        json_object_object_add(o, "state",
                               json_object_new_string(trust_state_to_string(s, buf, sizeof buf)));
        json_object_object_add(o, "launch_allowed",
                               json_object_new_boolean(trust_context_launch_allowed(ctx, NULL) >= 0));
        json_object_object_add(o, "require_tpm", json_object_new_boolean(ctx->config->require_tpm));
        json_object_object_add(o, "config", json_string_or_null(ctx->config->path));

        json_object_object_add(anchor, "path", json_object_new_string(ctx->config->anchor));
        json_object_object_add(anchor, "digest", json_digest(s->anchor_read, s->anchor_digest));
        json_object_object_add(anchor, "valid", json_object_new_boolean(s->anchor_loaded));
        json_object_object_add(anchor, "error",
                               forge_error_isset(&ctx->anchor_error)
                                       ? json_object_new_string(ctx->anchor_error.message)
                                       : NULL);
        if (ctx->anchor) {
                json_object *keys = json_object_new_array();

                json_object_object_add(anchor, "id", json_object_new_string(ctx->anchor->id));
                for (size_t i = 0; i < ctx->anchor->n_keys; i++) {
                        json_object *k = json_object_new_object();

                        json_object_object_add(k, "id", json_object_new_string(ctx->anchor->keys[i].id));
                        json_object_object_add(k, "algorithm",
                                               json_object_new_string(trust_key_algorithm_to_string(
                                                       ctx->anchor->keys[i].algorithm)));
                        json_object_object_add(k, "fingerprint",
                                               json_object_new_string(ctx->anchor->keys[i].fingerprint));
                        json_object_array_add(keys, k);
                }
                json_object_object_add(anchor, "keys", keys);
        }
        json_object_object_add(o, "anchor", anchor);

        snprintf(index, sizeof index, "0x%08X", ctx->config->nv_index);
        json_object_object_add(tpm, "present", json_object_new_boolean(ctx->tpm != NULL));
        json_object_object_add(tpm, "tcti", json_object_new_string(ctx->config->tcti));
        json_object_object_add(tpm, "detail", ctx->tpm ? NULL : json_object_new_string(s->detail));
        json_object_object_add(tpm, "nv_index", json_object_new_string(index));
        json_object_object_add(tpm, "nv_defined", json_object_new_boolean(s->nv_defined));
        json_object_object_add(tpm, "nv_attributes",
                               s->nv_defined ? json_object_new_string(trust_nv_attributes_to_string(
                                                       s->nv_attributes, attrs, sizeof attrs))
                                             : NULL);
        json_object_object_add(tpm, "nv_digest", json_digest(s->nv_read, s->nv_digest));
        json_object_object_add(tpm, "owner_auth_set",
                               s->owner_auth_known ? json_object_new_boolean(s->owner_auth_set) : NULL);
        json_object_object_add(tpm, "saved_copy", json_object_new_boolean(s->saved_copy));
        json_object_object_add(o, "tpm", tpm);
        json_object_object_add(o, "pcr", json_object_new_int((int) ctx->config->pcr));
        json_object_object_add(o, "event_log", json_object_new_string(ctx->config->event_log));
        return o;
}

static void status_text(const TrustContext *ctx) {
        const TrustState *s = &ctx->state;
        char buf[2048], d[72], attrs[256];

        printf("%s\n", trust_state_to_string(s, buf, sizeof buf));
        printf("  anchor:      %s", ctx->config->anchor);
        if (ctx->anchor)
                printf(" (id %s, %zu key%s)", ctx->anchor->id, ctx->anchor->n_keys,
                       ctx->anchor->n_keys == 1 ? "" : "s");
        printf("\n");
        if (s->anchor_read)
                printf("  digest:      %s\n", trust_digest_to_string(s->anchor_digest, d));
        if (forge_error_isset(&ctx->anchor_error))
                printf("  problem:     %s\n", ctx->anchor_error.message);
        for (size_t i = 0; ctx->anchor && i < ctx->anchor->n_keys; i++)
                printf("  key:         %s %s %s\n", ctx->anchor->keys[i].id,
                       trust_key_algorithm_to_string(ctx->anchor->keys[i].algorithm),
                       ctx->anchor->keys[i].fingerprint);
        if (!ctx->tpm) {
                printf("  TPM:         none (%s)\n", s->detail);
                printf("  require_tpm: %s%s%s%s\n",
                       ctx->config->require_tpm ? "yes: no image launches" : "no (software mode)",
                       ctx->config->path ? " (configuration " : " (no configuration file",
                       ctx->config->path ? ctx->config->path : "", ")");
                return;
        }
        printf("  TPM:         %s\n", ctx->config->tcti);
        printf("  NV index:    0x%08X", ctx->config->nv_index);
        if (s->nv_defined)
                printf(" (%s)", trust_nv_attributes_to_string(s->nv_attributes, attrs, sizeof attrs));
        else
                printf(" (not defined)");
        printf("\n");
        if (s->nv_read)
                printf("  NV digest:   %s\n", trust_digest_to_string(s->nv_digest, d));
        if (s->owner_auth_known)
                printf("  owner auth:  %s\n",
                       s->owner_auth_set ? "set" : "EMPTY: anyone with access to the TPM can re-enrol");
        printf("  PCR:         %u, event log %s\n", ctx->config->pcr, ctx->config->event_log);
        if (s->status == TRUST_STATUS_COMPROMISED)
                printf("  recovery:    %s\n",
                       s->saved_copy
                               ? "'forgeonectl trust restore' puts back the enrolled anchor (a saved copy "
                                 "matches "
                                 "the TPM), or the owner re-enrols with 'forgeonectl trust enroll --force'"
                               : "restore the enrolled anchor file from a backup, or the owner re-enrols "
                                 "with "
                                 "'forgeonectl trust enroll --force'");
}

static int trust_status_verb(const TrustArgs *a) {
        _cleanup_(trust_context_freep) TrustContext *ctx = NULL;

        if (open_context(a, &ctx) < 0)
                return 1;
        if (a->json) {
                _cleanup_(json_object_putp) json_object *o = status_json(ctx);
                json_print(o);
        } else
                status_text(ctx);
        return trust_context_launch_allowed(ctx, NULL) >= 0 ? 0 : 1;
}

static int read_owner_auth(const char *path, char *buf, size_t *ret_size) {
        FILE *f = streq(path, "-") ? stdin : fopen(path, "re");
        size_t n;

        if (!f)
                return log_error_errno(errno, "Failed to open the owner authorization file %s: %m", path);
        n = fread(buf, 1, OWNER_AUTH_MAX + 2, f);
        if (f != stdin)
                fclose(f);
        if (n > 0 && buf[n - 1] == '\n')
                n--;
        if (n > OWNER_AUTH_MAX)
                return log_error_errno(EINVAL, "The owner authorization in %s is longer than %d bytes.",
                                       path, OWNER_AUTH_MAX);
        *ret_size = n;
        return 0;
}

static int trust_enroll_verb(const TrustArgs *a, const char *anchor) {
        _cleanup_(trust_context_freep) TrustContext *ctx = NULL;
        char auth[OWNER_AUTH_MAX + 2] = "", d[72], buf[2048];
        size_t auth_size = 0;
        ForgeError err = {};
        int r;

        if (a->owner_auth_file && read_owner_auth(a->owner_auth_file, auth, &auth_size) < 0)
                return 1;
        if (open_context(a, &ctx) < 0)
                return 1;
        r = trust_context_enroll(ctx, anchor, auth, auth_size, a->force, &err);
        explicit_bzero(auth, sizeof auth);
        if (r < 0) {
                log_error_errno(r, "Failed to enrol %s: %s", anchor, forge_error_message(&err, r));
                return 1;
        }
        if (a->json) {
                _cleanup_(json_object_putp) json_object *o = status_json(ctx);

                json_object_object_add(o, "enrolled", json_object_new_string(anchor));
                json_object_object_add(o, "written", json_object_new_boolean(r > 0));
                json_print(o);
        } else if (!ctx->tpm) {
                log_warning("No TPM (%s): %s is installed as the anchor, but nothing protects it (software "
                            "mode).",
                            ctx->state.detail, ctx->config->anchor);
                printf("%s\n", trust_state_to_string(&ctx->state, buf, sizeof buf));
        } else {
                printf("%s %s (%s) %s NV index 0x%08X, write-locked; installed as %s.\n",
                       r > 0 ? "Enrolled" : "Already enrolled:", anchor,
                       ctx->anchor ? trust_digest_to_string(ctx->anchor->digest, d) : "?",
                       r > 0 ? "into" : "in", ctx->config->nv_index, ctx->config->anchor);
                printf("%s\n", trust_state_to_string(&ctx->state, buf, sizeof buf));
                if (ctx->state.owner_auth_known && !ctx->state.owner_auth_set)
                        log_warning("The owner hierarchy has no authorization value: anyone with access to "
                                    "the TPM can "
                                    "re-enrol another anchor. Set one: tpm2_changeauth -c owner.");
        }
        return ctx->state.status == TRUST_STATUS_VERIFIED ||
                               (!ctx->tpm && trust_context_launch_allowed(ctx, NULL) >= 0)
                       ? 0
                       : 1;
}

static int trust_restore_verb(const TrustArgs *a) {
        _cleanup_(trust_context_freep) TrustContext *ctx = NULL;
        ForgeError err = {};
        char buf[2048];
        int r;

        if (open_context(a, &ctx) < 0)
                return 1;
        r = trust_context_restore(ctx, &err);
        if (r < 0) {
                log_error_errno(r, "Failed to restore the anchor: %s", forge_error_message(&err, r));
                return 1;
        }
        printf("Restored %s from the saved copy the TPM vouches for.\n%s\n", ctx->config->anchor,
               trust_state_to_string(&ctx->state, buf, sizeof buf));
        return ctx->state.status == TRUST_STATUS_VERIFIED ? 0 : 1;
}

static json_object *event_json(const TrustEvent *e) {
        json_object *o = json_object_new_object();
        char d[72];

        json_object_object_add(o, "line", json_object_new_int64((int64_t) e->line));
        json_object_object_add(o, "pcr", json_object_new_int((int) e->pcr));
        json_object_object_add(o, "digest", json_object_new_string(trust_digest_to_string(e->digest, d)));
        json_object_object_add(o, "type", json_object_new_string(trust_event_type_to_string(e->type)));
        json_object_object_add(o, "name", json_object_new_string(e->name));
        json_object_object_add(o, "time", json_object_new_string(e->time));
        return o;
}

/* "Compromised(...)" text for a failed check. */
static void check_reason(const TrustLogCheck *c, const TrustEvent *ev, size_t n, char *buf, size_t size) {
        char r[72], t[72];

        trust_digest_to_string(c->replay, r);
        trust_digest_to_string(c->tpm, t);
        if (c->prefix_match != SIZE_MAX) {
                size_t k = 0, first = 0;

                for (size_t i = 0; i < n; i++)
                        if (ev[i].pcr == c->pcr && ++k == c->prefix_match + 1) {
                                first = ev[i].line;
                                break;
                        }
                snprintf(buf, size,
                         "PCR %u holds %s, which only the first %zu of its %zu records replay to: the "
                         "records from "
                         "line %zu on were added to the log without being measured",
                         c->pcr, t, c->prefix_match, c->n_records, first);
        } else
                snprintf(buf, size,
                         "PCR %u holds %s but its %zu records replay to %s: a record was removed, edited or "
                         "reordered, or the PCR was extended by something else",
                         c->pcr, t, c->n_records, r);
}

static int trust_log_verb(const TrustArgs *a) {
        _cleanup_(trust_context_freep) TrustContext *ctx = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ TrustLogCheck *checks = NULL;
        TrustEvent *ev = NULL;
        size_t n = 0, n_checks = 0;
        ForgeError err = {};
        char reason[2048] = "", d[72];
        const char *status = "Verified";
        int r, ret = 0;

        if (open_context(a, &ctx) < 0)
                return 1;
        if (a->verify && ctx->tpm) {
                r = trust_log_verify(ctx->tpm, ctx->config->event_log, ctx->config->pcr, &checks, &n_checks,
                                     &ev, &n, &err);
                if (r == -EBADMSG) {
                        /* A line that is not a record is an edit: report it, and still print nothing else.
                         */
                        status = "Compromised";
                        snprintf(reason, sizeof reason, "%s", forge_error_message(&err, r));
                } else if (r < 0) {
                        log_error_errno(r, "Failed to verify the event log: %s",
                                        forge_error_message(&err, r));
                        return 1;
                }
                for (size_t i = 0; i < n_checks; i++)
                        if (!checks[i].match) {
                                status = "Compromised";
                                check_reason(&checks[i], ev, n, reason, sizeof reason);
                                break;
                        }
        } else {
                r = trust_log_read(ctx->config->event_log, &ev, &n, &err);
                if (r < 0) {
                        if (!a->verify) {
                                log_error_errno(r, "%s", forge_error_message(&err, r));
                                return 1;
                        }
                }
                if (a->verify) {
                        status = "Unknown";
                        snprintf(reason, sizeof reason, "no TPM");
                }
        }

        if (a->json) {
                json_object *records = json_object_new_array();

                o = json_object_new_object();
                json_object_object_add(o, "log", json_object_new_string(ctx->config->event_log));
                for (size_t i = 0; i < n; i++)
                        json_object_array_add(records, event_json(&ev[i]));
                json_object_object_add(o, "records", records);
                if (a->verify) {
                        json_object *v = json_object_new_object(), *pcrs = json_object_new_array();

                        json_object_object_add(v, "status", json_object_new_string(status));
                        json_object_object_add(v, "reason",
                                               reason[0] ? json_object_new_string(reason) : NULL);
                        for (size_t i = 0; i < n_checks; i++) {
                                json_object *p = json_object_new_object();

                                json_object_object_add(p, "pcr", json_object_new_int((int) checks[i].pcr));
                                json_object_object_add(p, "records",
                                                       json_object_new_int64((int64_t) checks[i].n_records));
                                json_object_object_add(p, "replay", json_digest(true, checks[i].replay));
                                json_object_object_add(p, "tpm", json_digest(true, checks[i].tpm));
                                json_object_object_add(p, "match", json_object_new_boolean(checks[i].match));
                                json_object_array_add(pcrs, p);
                        }
                        json_object_object_add(v, "pcrs", pcrs);
                        json_object_object_add(o, "verify", v);
                }
                json_print(o);
        } else {
                if (n == 0 && !reason[0])
                        printf("(the event log %s has no records)\n", ctx->config->event_log);
                for (size_t i = 0; i < n; i++)
                        printf("%4zu  pcr %-2u  %s  %-7s %s  %s\n", ev[i].line, ev[i].pcr, ev[i].time,
                               trust_event_type_to_string(ev[i].type),
                               trust_digest_to_string(ev[i].digest, d), ev[i].name);
                if (a->verify) {
                        for (size_t i = 0; i < n_checks; i++) {
                                char t[72];

                                printf("PCR %u: %zu records replay to %s; the TPM holds %s\n", checks[i].pcr,
                                       checks[i].n_records, trust_digest_to_string(checks[i].replay, d),
                                       trust_digest_to_string(checks[i].tpm, t));
                        }
                        if (streq(status, "Verified"))
                                printf("Verified\n");
                        else
                                printf("%s(%s)\n", status, reason);
                }
        }
        if (a->verify && !streq(status, "Verified"))
                ret = 1;
        trust_events_free(ev, n);
        return ret;
}

int verb_trust(int argc, char *argv[]) {
        enum { ARG_CONFIG = 0x100, ARG_TCTI, ARG_OWNER_AUTH_FILE, ARG_FORCE, ARG_VERIFY, ARG_JSON };
        static const struct option options[] = {
                { "config", required_argument, NULL, ARG_CONFIG },
                { "tcti", required_argument, NULL, ARG_TCTI },
                { "owner-auth-file", required_argument, NULL, ARG_OWNER_AUTH_FILE },
                { "force", no_argument, NULL, ARG_FORCE },
                { "verify", no_argument, NULL, ARG_VERIFY },
                { "json", no_argument, NULL, ARG_JSON },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        TrustArgs a = {};
        const char *sub;
        int c, nargs;

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
                case ARG_OWNER_AUTH_FILE:
                        a.owner_auth_file = optarg;
                        break;
                case ARG_FORCE:
                        a.force = true;
                        break;
                case ARG_VERIFY:
                        a.verify = true;
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
        nargs = argc - 1 - optind;

        if (streq(sub, "enroll")) {
                if (nargs != 1) {
                        log_error("trust enroll needs exactly one ANCHOR file; see 'forgeonectl trust "
                                  "--help'.");
                        return 1;
                }
                return trust_enroll_verb(&a, argv[1 + optind]);
        }
        if (nargs != 0) {
                log_error("trust %s takes no arguments; see 'forgeonectl trust --help'.", sub);
                return 1;
        }
        if ((a.force || a.owner_auth_file) && !streq(sub, "enroll")) {
                log_error("--force and --owner-auth-file are options of 'trust enroll'.");
                return 1;
        }
        if (a.verify && !streq(sub, "log")) {
                log_error("--verify is an option of 'trust log'.");
                return 1;
        }
        if (streq(sub, "status"))
                return trust_status_verb(&a);
        if (streq(sub, "restore"))
                return trust_restore_verb(&a);
        if (streq(sub, "log"))
                return trust_log_verb(&a);
        log_error("Unknown trust command '%s'; expected status, enroll, restore or log.", sub);
        return 1;
}
