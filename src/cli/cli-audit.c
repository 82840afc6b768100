/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * forgeonectl audit export|verify|summary: the journal's audit records for
 * auditors (forgeone.audit(7)). Reads through the sd-journal API
 * (audit-journal.h); verification and the summary are the library's
 * (audit-verify.h); this file parses options and prints.
 */
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli-verbs.h"
#include "forgeone/audit-journal.h"
#include "forgeone/audit-verify.h"
#include "forgeone/audit.h"
#include "forgeone/log.h"
#include "forgeone/trust-config.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static void help(void) {
        printf("Usage: forgeonectl audit COMMAND [OPTIONS]\n\n"
               "The audit records ForgeOne writes to the journal (see forgeone.audit(7)).\n\n"
               "Commands:\n"
               "  export    write the records as JSON lines or CSV\n"
               "  verify    recompute the hash chain: the first missing, reordered or altered record,\n"
               "            checkpoints, and each run's chain across restarts\n"
               "  summary   what each workload was allowed and denied, by rule and by path prefix\n\n"
               "Where the records come from (default: the local journal):\n"
               "  -D, --directory DIR    a journal directory (as journalctl -D)\n"
               "      --file FILE        a journal file (repeatable; as journalctl --file)\n"
               "      --input FILE       an export or fallback file (JSON lines; repeatable; - for "
               "stdin)\n\n"
               "Selection:\n"
               "  -S, --since TIME       from TIME (\"2026-05-20 10:00:00\", \"-1h\", \"@SECONDS\"; UTC)\n"
               "  -U, --until TIME       up to TIME\n"
               "      --workload ID      export, summary: one workload's records\n"
               "      --verdict V        export: allow, emulate, deny or quarantine\n"
               "      --run RUN          one run (FORGEONE_RUN)\n\n"
               "Output:\n"
               "      --format json|csv  export: JSON lines (default; every field, loadable with jq -s)\n"
               "                         or CSV (a header, one column per field)\n"
               "  -o, --output FILE      export: write to FILE instead of stdout\n"
               "      --key FILE         verify: the audit's Ed25519 public key (PEM; default\n"
               "                         " AUDIT_DEFAULT_PUBLIC_KEY " when it exists)\n"
               "      --measure-log FILE verify: the trust measurement log for PCR-anchored checkpoints\n"
               "                         (default " TRUST_DEFAULT_EVENT_LOG " when it exists)\n"
               "      --depth N          summary: path prefix components (default 2)\n"
               "      --json             verify, summary: JSON output\n"
               "  -h, --help             show this help\n\n"
               "audit verify exits 1 when a record is missing, out of order or altered, or a checkpoint\n"
               "does not verify; the first line after the runs names the first bad record.\n");
}

typedef struct Args {
        AuditSource src;
        AuditFilter filter;
        char **files, **inputs;
        size_t n_files, n_inputs;
        const char *format, *output, *key, *measure_log;
        unsigned depth;
        bool json;
} Args;

static int push(char ***l, size_t *n, const char *s) {
        char **nl = realloc(*l, (*n + 2) * sizeof(char *));

        if (!nl)
                return -ENOMEM;
        *l = nl;
        nl[(*n)++] = (char *) s;
        nl[*n] = NULL;
        return 0;
}

static int parse_args(int argc, char *argv[], Args *a) {
        enum {
                ARG_FILE = 0x100,
                ARG_INPUT,
                ARG_WORKLOAD,
                ARG_VERDICT,
                ARG_RUN,
                ARG_FORMAT,
                ARG_KEY,
                ARG_LOG,
                ARG_DEPTH,
                ARG_JSON
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "directory", required_argument, NULL, 'D' },
                { "file", required_argument, NULL, ARG_FILE },
                { "input", required_argument, NULL, ARG_INPUT },
                { "since", required_argument, NULL, 'S' },
                { "until", required_argument, NULL, 'U' },
                { "workload", required_argument, NULL, ARG_WORKLOAD },
                { "verdict", required_argument, NULL, ARG_VERDICT },
                { "run", required_argument, NULL, ARG_RUN },
                { "format", required_argument, NULL, ARG_FORMAT },
                { "output", required_argument, NULL, 'o' },
                { "key", required_argument, NULL, ARG_KEY },
                { "measure-log", required_argument, NULL, ARG_LOG },
                { "depth", required_argument, NULL, ARG_DEPTH },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "+hD:S:U:o:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 'D':
                        a->src.directory = optarg;
                        break;
                case ARG_FILE:
                        if (push(&a->files, &a->n_files, optarg) < 0)
                                return log_oom();
                        break;
                case ARG_INPUT:
                        if (push(&a->inputs, &a->n_inputs, optarg) < 0)
                                return log_oom();
                        break;
                case 'S':
                case 'U':
                        r = audit_parse_time(optarg,
                                             c == 'S' ? &a->filter.since_usec : &a->filter.until_usec);
                        if (r < 0)
                                return log_error_errno(
                                        r,
                                        "Cannot parse the time '%s' (use \"YYYY-MM-DD HH:MM:SS\", "
                                        "-1h or @SECONDS).",
                                        optarg);
                        break;
                case ARG_WORKLOAD:
                        a->filter.workload = optarg;
                        break;
                case ARG_VERDICT:
                        if (!streq(optarg, "allow") && !streq(optarg, "emulate") && !streq(optarg, "deny") &&
                            !streq(optarg, "quarantine"))
                                return log_error_errno(-EINVAL,
                                                       "--verdict takes allow, emulate, deny or "
                                                       "quarantine, not '%s'.",
                                                       optarg);
                        a->filter.verdict = optarg;
                        break;
                case ARG_RUN:
                        a->filter.run = optarg;
                        break;
                case ARG_FORMAT:
                        if (!streq(optarg, "json") && !streq(optarg, "csv"))
                                return log_error_errno(-EINVAL, "--format takes json or csv, not '%s'.",
                                                       optarg);
                        a->format = optarg;
                        break;
                case 'o':
                        a->output = optarg;
                        break;
                case ARG_KEY:
                        a->key = optarg;
                        break;
                case ARG_LOG:
                        a->measure_log = optarg;
                        break;
                case ARG_DEPTH: {
                        char *end;
                        unsigned long d = strtoul(optarg, &end, 10);
                        if (*end || d == 0 || d > 64)
                                return log_error_errno(-EINVAL, "--depth takes a number from 1 to 64.");
                        a->depth = (unsigned) d;
                        break;
                }
                case ARG_JSON:
                        a->json = true;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc)
                return log_error_errno(-EINVAL, "Unexpected argument '%s'; see 'forgeonectl audit --help'.",
                                       argv[optind]);
        a->src.files = a->files;
        a->src.inputs = a->inputs;
        return 1;
}

/* ---- export ---- */

typedef struct Exporter {
        FILE *out;
        bool csv;
        AuditEntry *entries; /* csv: kept until the columns are known */
        size_t n, alloc;
        uint64_t count;
} Exporter;

static int export_json_line(FILE *out, const AuditEntry *e) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        char ts[32];

        if (!o)
                return -ENOMEM;
        snprintf(ts, sizeof ts, "%" PRIu64, e->realtime_usec);
        json_object_object_add(o, "__REALTIME_TIMESTAMP", json_object_new_string(ts));
        if (e->cursor)
                json_object_object_add(o, "__CURSOR", json_object_new_string(e->cursor));
        for (size_t i = 0; i < e->n_fields; i++) {
                const char *eq = strchr(e->fields[i], '=');
                _cleanup_free_ char *name = eq ? strndup(e->fields[i], (size_t) (eq - e->fields[i])) : NULL;

                if (!name)
                        continue;
                json_object_object_add(o, name, json_object_new_string(eq + 1));
        }
        if (fprintf(out, "%s\n",
                    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
                return -EIO;
        return 0;
}

static int export_one(AuditEntry *e, void *userdata) {
        Exporter *x = userdata;

        x->count++;
        if (!x->csv)
                return export_json_line(x->out, e);
        if (x->n == x->alloc) {
                size_t na = x->alloc ? x->alloc * 2 : 256;
                AuditEntry *ne = realloc(x->entries, na * sizeof *ne);
                if (!ne)
                        return -ENOMEM;
                x->entries = ne;
                x->alloc = na;
        }
        x->entries[x->n++] = *e;
        *e = (AuditEntry){}; /* taken */
        return 0;
}

static void csv_cell(FILE *out, const char *s) {
        if (!s)
                return;
        if (!strpbrk(s, ",\"\r\n")) {
                fputs(s, out);
                return;
        }
        fputc('"', out);
        for (; *s; s++) {
                if (*s == '"')
                        fputc('"', out);
                fputc(*s, out);
        }
        fputc('"', out);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* One column per field name any entry has: the ones an auditor reads first, then the rest by name. */
static int write_csv(Exporter *x) {
        static const char *const first[] = {
                "__REALTIME_TIMESTAMP", "FORGEONE_TIME",     "FORGEONE_RUN",      "FORGEONE_SEQ",
                "FORGEONE_EVENT",       "FORGEONE_WORKLOAD", "FORGEONE_IDENTITY", "FORGEONE_VERDICT",
                "FORGEONE_SYSCALL",     "FORGEONE_PATH",     "FORGEONE_RULE",     "FORGEONE_ERRNO",
                "FORGEONE_COUNT",       "MESSAGE",
        };
        _cleanup_free_ char **names = NULL;
        size_t n = 0, alloc = 0;

        for (size_t i = 0; i < x->n; i++)
                for (size_t k = 0; k < x->entries[i].n_fields; k++) {
                        const char *f = x->entries[i].fields[k];
                        size_t l = strcspn(f, "=");
                        bool seen = false;

                        for (size_t j = 0; j < n && !seen; j++)
                                seen = strlen(names[j]) == l && strncmp(names[j], f, l) == 0;
                        if (seen)
                                continue;
                        if (n == alloc) {
                                char **nn = realloc(names, (alloc = alloc ? alloc * 2 : 64) * sizeof *nn);
                                if (!nn)
                                        goto oom;
                                names = nn;
                        }
                        if (!(names[n] = strndup(f, l)))
                                goto oom;
                        n++;
                }
        qsort(names, n, sizeof *names, cmp_str);

        {
                _cleanup_free_ const char **cols = calloc(n + ELEMENTSOF(first) + 1, sizeof *cols);
                size_t nc = 0;

                if (!cols)
                        goto oom;
                FOREACH_ELEMENT (f, first)
                        cols[nc++] = *f;
                for (size_t j = 0; j < n; j++) {
                        bool dup = false;
                        FOREACH_ELEMENT (f, first)
                                dup = dup || streq(*f, names[j]);
                        if (!dup)
                                cols[nc++] = names[j];
                }
                for (size_t c = 0; c < nc; c++) {
                        fputs(c ? "," : "", x->out);
                        csv_cell(x->out, cols[c]);
                }
                fputs("\r\n", x->out);
                for (size_t i = 0; i < x->n; i++) {
                        const AuditEntry *e = &x->entries[i];
                        char ts[32];

                        snprintf(ts, sizeof ts, "%" PRIu64, e->realtime_usec);
                        for (size_t c = 0; c < nc; c++) {
                                fputs(c ? "," : "", x->out);
                                csv_cell(x->out, streq(cols[c], "__REALTIME_TIMESTAMP")
                                                         ? ts
                                                         : audit_entry_get(e, cols[c]));
                        }
                        fputs("\r\n", x->out);
                }
        }
        for (size_t j = 0; j < n; j++)
                free(names[j]);
        return 0;
oom:
        for (size_t j = 0; j < n; j++)
                free(names[j]);
        return log_oom();
}

static int do_export(Args *a) {
        Exporter x = { .out = stdout, .csv = a->format && streq(a->format, "csv") };
        ForgeError err = {};
        int r;

        if (a->output) {
                x.out = fopen(a->output, "we");
                if (!x.out)
                        return log_error_errno(-errno, "Cannot write %s: %m", a->output);
        }
        r = audit_read(&a->src, &a->filter, export_one, &x, &err);
        if (r >= 0 && x.csv)
                r = write_csv(&x);
        for (size_t i = 0; i < x.n; i++)
                audit_entry_done(&x.entries[i]);
        free(x.entries);
        if (fflush(x.out) != 0 && r >= 0)
                r = log_error_errno(-EIO, "Cannot write the export: %m");
        if (x.out != stdout)
                fclose(x.out);
        if (r < 0) {
                if (forge_error_isset(&err))
                        log_error("%s", err.message);
                else if (r != -ENOMEM)
                        log_error_errno(r, "Export failed: %m");
                return 1;
        }
        if (a->output)
                log_info("%" PRIu64 " records written to %s.", x.count, a->output);
        return 0;
}

/* ---- verify ---- */

static int verify_one(AuditEntry *e, void *userdata) {
        return audit_verifier_add(userdata, e);
}

static const char *link_text(const AuditRunState *s, char *buf, size_t size) {
        switch (s->link) {
        case AUDIT_LINK_NONE:
                return "first run: no earlier head";
        case AUDIT_LINK_OK:
                snprintf(buf, size, "follows run %s at record %" PRIu64 ": ok", s->prev_run, s->prev_seq);
                return buf;
        case AUDIT_LINK_NOT_IN_RANGE:
                snprintf(buf, size, "follows run %s at record %" PRIu64 " (not among the records read)",
                         s->prev_run, s->prev_seq);
                return buf;
        case AUDIT_LINK_BROKEN:
                snprintf(buf, size, "follows run %s at record %" PRIu64 ": BROKEN", s->prev_run,
                         s->prev_seq);
                return buf;
        default:
                return "start not read";
        }
}

static void print_problem_json(json_object *arr, const AuditProblem *p) {
        json_object *o = json_object_new_object();
        char t[AUDIT_TIME_MAX];

        json_object_object_add(o, "kind", json_object_new_string(audit_problem_kind_to_string(p->kind)));
        json_object_object_add(o, "run", json_object_new_string(p->run));
        json_object_object_add(o, "seq", json_object_new_int64((int64_t) p->seq));
        json_object_object_add(
                o, "time",
                p->realtime_usec ? json_object_new_string(audit_format_time(p->realtime_usec, t)) : NULL);
        json_object_object_add(o, "cursor", p->cursor ? json_object_new_string(p->cursor) : NULL);
        json_object_object_add(o, "message", json_object_new_string(p->message));
        json_object_array_add(arr, o);
}

static int do_verify(Args *a) {
        _cleanup_(audit_verifier_freep) AuditVerifier *v = NULL;
        _cleanup_(audit_key_freep) AuditKey *key = NULL;
        const AuditVerifyResult *res;
        const char *key_path = a->key, *log_path = a->measure_log;
        ForgeError err = {};
        int r;

        if (a->filter.workload || a->filter.verdict)
                return log_error_errno(-EINVAL,
                                       "audit verify checks whole runs: --workload and --verdict do "
                                       "not apply."),
                       1;
        if (!key_path && access(AUDIT_DEFAULT_PUBLIC_KEY, F_OK) == 0)
                key_path = AUDIT_DEFAULT_PUBLIC_KEY;
        if (key_path) {
                r = audit_key_load(key_path, false, &key);
                if (r < 0)
                        return log_error_errno(r, "Cannot load the audit public key %s: %s", key_path,
                                               r == -EKEYREJECTED ? "not an Ed25519 public key in PEM"
                                                                  : "%m"),
                               1;
        }
        if (!log_path && access(TRUST_DEFAULT_EVENT_LOG, F_OK) == 0)
                log_path = TRUST_DEFAULT_EVENT_LOG;
        r = audit_verifier_new(&(AuditVerifyOptions){ .key = key,
                                                      .measure_log = log_path,
                                                      .partial = a->filter.since_usec > 0 || a->filter.run },
                               &v);
        if (r < 0)
                return log_oom(), 1;
        r = audit_read(&a->src, &a->filter, verify_one, v, &err);
        if (r >= 0)
                r = audit_verifier_finish(v, &res);
        if (r < 0) {
                if (forge_error_isset(&err))
                        log_error("%s", err.message);
                else
                        log_error_errno(r, "Verification failed: %m");
                return 1;
        }

        if (a->json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                json_object *runs = json_object_new_array(), *probs = json_object_new_array();
                char t[AUDIT_TIME_MAX], lb[256];

                json_object_object_add(o, "ok", json_object_new_boolean(res->n_problems == 0));
                json_object_object_add(o, "records", json_object_new_int64((int64_t) res->n_entries));
                json_object_object_add(o, "signatures_checked", json_object_new_boolean(key != NULL));
                for (size_t i = 0; i < res->n_runs; i++) {
                        const AuditRunState *s = &res->runs[i];
                        json_object *ro = json_object_new_object();

                        json_object_object_add(ro, "run", json_object_new_string(s->run));
                        json_object_object_add(ro, "first_seq",
                                               json_object_new_int64((int64_t) s->first_seq));
                        json_object_object_add(ro, "last_seq", json_object_new_int64((int64_t) s->last_seq));
                        json_object_object_add(ro, "records", json_object_new_int64((int64_t) s->n_records));
                        json_object_object_add(ro, "first_time",
                                               json_object_new_string(audit_format_time(s->first_usec, t)));
                        json_object_object_add(ro, "last_time",
                                               json_object_new_string(audit_format_time(s->last_usec, t)));
                        json_object_object_add(ro, "started", json_object_new_boolean(s->started));
                        json_object_object_add(ro, "stopped", json_object_new_boolean(s->stopped));
                        json_object_object_add(ro, "final_checkpoint",
                                               json_object_new_boolean(s->final_checkpoint));
                        json_object_object_add(ro, "checkpoints",
                                               json_object_new_int64((int64_t) s->checkpoints));
                        json_object_object_add(ro, "signatures_verified",
                                               json_object_new_int64((int64_t) s->signed_verified));
                        json_object_object_add(ro, "pcr_verified",
                                               json_object_new_int64((int64_t) s->pcr_verified));
                        json_object_object_add(ro, "in_fallback",
                                               json_object_new_int64((int64_t) s->in_fallback));
                        json_object_object_add(ro, "link",
                                               json_object_new_string(link_text(s, lb, sizeof lb)));
                        json_object_array_add(runs, ro);
                }
                for (size_t i = 0; i < res->n_problems; i++)
                        print_problem_json(probs, &res->problems[i]);
                json_object_object_add(o, "runs", runs);
                json_object_object_add(o, "problems", probs);
                printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                                         JSON_C_TO_STRING_NOSLASHESCAPE));
                return res->n_problems == 0 ? 0 : 1;
        }

        for (size_t i = 0; i < res->n_runs; i++) {
                const AuditRunState *s = &res->runs[i];
                char t1[AUDIT_TIME_MAX], t2[AUDIT_TIME_MAX], lb[256];

                printf("run %s: records %" PRIu64 "-%" PRIu64 " (%" PRIu64 " read), %s to %s\n", s->run,
                       s->first_seq, s->last_seq, s->n_records, audit_format_time(s->first_usec, t1),
                       audit_format_time(s->last_usec, t2));
                printf("  %s; %s; %" PRIu64 " checkpoint%s (%" PRIu64 " signature%s verified, %" PRIu64
                       " in the PCR log)%s\n",
                       s->started ? "started" : "start not read",
                       s->stopped ? "stopped cleanly"
                                  : "no stop record (still running, or it ended without closing its chain)",
                       s->checkpoints, s->checkpoints == 1 ? "" : "s", s->signed_verified,
                       s->signed_verified == 1 ? "" : "s", s->pcr_verified,
                       s->final_checkpoint ? "; the last record is a checkpoint" : "");
                if (s->in_fallback)
                        printf("  %" PRIu64
                               " records are in the fallback file (journald was unreachable); verify "
                               "them with --input\n",
                               s->in_fallback);
                printf("  chain: %s\n", link_text(s, lb, sizeof lb));
        }
        if (res->signatures_unchecked)
                printf("note: checkpoint signatures were not checked (no public key: --key FILE)\n");
        if (res->n_problems == 0) {
                printf("verify: ok: %" PRIu64 " records in %zu run%s, chains intact\n", res->n_entries,
                       res->n_runs, res->n_runs == 1 ? "" : "s");
                return 0;
        }
        for (size_t i = 0; i < res->n_problems; i++) {
                const AuditProblem *p = &res->problems[i];
                char t[AUDIT_TIME_MAX];

                if (i == 0)
                        printf("verify: FAILED: first bad record: run %s record %" PRIu64 " (%s)\n", p->run,
                               p->seq, audit_problem_kind_to_string(p->kind));
                if (i >= 20) {
                        printf("  ... and %zu more problems\n", res->n_problems - i);
                        break;
                }
                printf("  %s: %s%s%s%s%s\n", audit_problem_kind_to_string(p->kind), p->message,
                       p->realtime_usec ? " at " : "",
                       p->realtime_usec ? audit_format_time(p->realtime_usec, t) : "",
                       p->cursor ? "; cursor " : "", strempty(p->cursor));
        }
        return 1;
}

/* ---- summary ---- */

static int summary_one(AuditEntry *e, void *userdata) {
        return audit_summary_add(userdata, e);
}

static void print_rows(const char *title, const AuditSummaryRow *rows, size_t n, const char *workload) {
        bool any = false;

        for (size_t i = 0; i < n; i++) {
                if (!streq(rows[i].workload, workload))
                        continue;
                if (!any)
                        printf("  %s:\n", title);
                any = true;
                printf("    %-10s %12" PRIu64 "  %s\n", rows[i].verdict, rows[i].count, rows[i].key);
        }
}

static json_object *rows_json(const AuditSummaryRow *rows, size_t n, const char *workload,
                              const char *keyname) {
        json_object *arr = json_object_new_array();

        for (size_t i = 0; i < n; i++) {
                json_object *o;

                if (!streq(rows[i].workload, workload))
                        continue;
                o = json_object_new_object();
                json_object_object_add(o, "verdict", json_object_new_string(rows[i].verdict));
                if (keyname)
                        json_object_object_add(o, keyname, json_object_new_string(rows[i].key));
                json_object_object_add(o, "count", json_object_new_int64((int64_t) rows[i].count));
                json_object_array_add(arr, o);
        }
        return arr;
}

static int do_summary(Args *a) {
        _cleanup_(audit_summary_freep) AuditSummary *s = NULL;
        ForgeError err = {};
        int r;

        if (a->filter.verdict)
                return log_error_errno(-EINVAL,
                                       "audit summary shows every verdict: --verdict does not apply."),
                       1;
        if (audit_summary_new(a->depth, &s) < 0)
                return log_oom(), 1;
        r = audit_read(&a->src, &a->filter, summary_one, s, &err);
        if (r < 0) {
                if (forge_error_isset(&err))
                        log_error("%s", err.message);
                else
                        log_error_errno(r, "Summary failed: %m");
                return 1;
        }
        audit_summary_sort(s);

        if (a->json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                json_object *ws = json_object_new_object();

                for (size_t i = 0; i < s->n_by_verdict; i++) {
                        const char *w = s->by_verdict[i].workload;
                        json_object *wo;

                        if (json_object_object_get_ex(ws, w, NULL))
                                continue;
                        wo = json_object_new_object();
                        json_object_object_add(wo, "verdicts",
                                               rows_json(s->by_verdict, s->n_by_verdict, w, NULL));
                        json_object_object_add(wo, "rules", rows_json(s->by_rule, s->n_by_rule, w, "rule"));
                        json_object_object_add(wo, "paths",
                                               rows_json(s->by_path, s->n_by_path, w, "prefix"));
                        json_object_object_add(ws, w, wo);
                }
                json_object_object_add(o, "workloads", ws);
                json_object_object_add(o, "aggregated_without_path",
                                       json_object_new_int64((int64_t) s->aggregated_no_path));
                printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                                         JSON_C_TO_STRING_NOSLASHESCAPE));
                return 0;
        }
        if (s->n_by_verdict == 0) {
                printf("No decisions recorded%s.\n", a->filter.workload ? " for this workload" : "");
                return 0;
        }
        for (size_t i = 0; i < s->n_by_verdict; i++) {
                const char *w = s->by_verdict[i].workload;

                if (i > 0 && streq(s->by_verdict[i - 1].workload, w))
                        continue;
                printf("workload %s\n", w);
                print_rows("decisions", s->by_verdict, s->n_by_verdict, w);
                print_rows("by rule", s->by_rule, s->n_by_rule, w);
                print_rows("by path prefix (records with a path)", s->by_path, s->n_by_path, w);
        }
        if (s->aggregated_no_path)
                printf("\n%" PRIu64
                       " decisions were counted in aggregate records, which carry no path: they are in "
                       "the rule totals only.\n",
                       s->aggregated_no_path);
        return 0;
}

int verb_audit(int argc, char *argv[]) {
        Args a = {};
        const char *cmd;
        int r;

        if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
                help();
                return argc < 2 ? 1 : 0;
        }
        cmd = argv[1];
        if (!streq(cmd, "export") && !streq(cmd, "verify") && !streq(cmd, "summary")) {
                log_error("Unknown audit command '%s'; see 'forgeonectl audit --help'.", cmd);
                return 1;
        }
        r = parse_args(argc - 1, argv + 1, &a);
        if (r <= 0) {
                free(a.files);
                free(a.inputs);
                return r < 0 ? 1 : 0;
        }
        if (a.src.inputs && (a.src.files || a.src.directory)) {
                log_error("--input reads exported records; it does not combine with --file or --directory.");
                r = 1;
        } else if (streq(cmd, "export"))
                r = do_export(&a);
        else if (streq(cmd, "verify"))
                r = do_verify(&a);
        else
                r = do_summary(&a);
        free(a.files);
        free(a.inputs);
        return r;
}
