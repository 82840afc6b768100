/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The audit consumer: records to journal entries, the budget and the aggregates, the chain, checkpoints,
 * the fallback file. See audit.h. */
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "audit-internal.h"
#include "forgeone/audit.h"
#include "forgeone/fs-util.h"
#include "forgeone/string-table.h"
#include "forgeone/trust-config.h"
#include "forgeone/trust-log.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static const char *const audit_allow_mode_table[_AUDIT_ALLOW_MODE_MAX] = {
        [AUDIT_ALLOW_ALL] = "all",
        [AUDIT_ALLOW_SAMPLED] = "sampled",
        [AUDIT_ALLOW_AGGREGATED] = "aggregated",
};

DEFINE_STRING_TABLE_LOOKUP(audit_allow_mode, AuditAllowMode)

/* Retry journald this long after it failed, while entries go to the file. */
#define JOURNAL_RETRY_USEC (5u * 1000000u)
#define AGG_BUCKETS        1024u
#define MAX_WORKLOADS      4096u

typedef struct AggNode {
        struct AggNode *next;
        EventAggregate key; /* strings owned (one allocation at key.workload) */
        AuditAggregateReason reason;
        uint64_t hash;
} AggNode;

typedef struct WorkloadNode {
        struct WorkloadNode *next;
        char *workload, *identity, *digest;
        uint64_t generation;
} WorkloadNode;

struct Audit {
        AuditConfig cfg;
        char *state_dir, *fallback_path, *measure_log;
        char run[33];
        uint64_t seq;
        uint8_t chain[32];
        AuditKey *key;
        EventSink *sink;

        bool journal_down;
        uint64_t journal_retry_usec;
        uint64_t fallback_first, fallback_last; /* entries in the file since journald failed */
        char down_reason[256];
        FILE *fallback;
        bool file_failed;

        uint64_t window_start;
        uint64_t tokens;      /* the budget, in millionths of an entry */
        uint64_t tokens_usec; /* when it was last filled */
        AggNode *agg[AGG_BUCKETS];
        uint64_t sample_counter;

        uint64_t checkpoint_seq, checkpoint_usec;
        bool anchor_failed;
        uint64_t notices_dropped_seen;

        WorkloadNode *workloads;
        size_t n_workloads;

        AuditStats stats;
};

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

_printf_(2, 3) static void warn(Audit *a, const char *format, ...) {
        char text[1024];
        va_list ap;

        if (!a->cfg.warn)
                return;
        va_start(ap, format);
        vsnprintf(text, sizeof text, format, ap);
        va_end(ap);
        a->cfg.warn(text, a->cfg.userdata);
}

void audit_config_init(AuditConfig *c) {
        *c = (AuditConfig){
                .allow = AUDIT_ALLOW_AGGREGATED,
                .sample_every = AUDIT_DEFAULT_SAMPLE_EVERY,
                .interval_usec = AUDIT_DEFAULT_INTERVAL_USEC,
                .rate_burst = AUDIT_DEFAULT_RATE_BURST,
                .rate_per_sec = AUDIT_DEFAULT_RATE_PER_SEC,
                .checkpoint_every = AUDIT_DEFAULT_CHECKPOINT_EVERY,
                .checkpoint_interval_usec = AUDIT_DEFAULT_CHECKPOINT_USEC,
                .echo_fd = -1,
                .pcr = TRUST_DEFAULT_PCR,
        };
}

const char *audit_get_run(const Audit *a) {
        return a->run;
}

void audit_get_stats(const Audit *a, AuditStats *ret) {
        *ret = a->stats;
}

/* ---- writing one entry ---- */

static int write_fallback(Audit *a, const AuditEntry *e, uint64_t now) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        char ts[32];
        int r;

        if (!o)
                return -ENOMEM;
        if (!a->fallback) {
                _cleanup_close_ int fd =
                        open(a->fallback_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
                if (fd < 0)
                        return negative_errno();
                a->fallback = fdopen(fd, "a");
                if (!a->fallback)
                        return negative_errno();
                TAKE_FD(fd);
        }
        snprintf(ts, sizeof ts, "%" PRIu64, now);
        json_object_object_add(o, "__REALTIME_TIMESTAMP", json_object_new_string(ts));
        for (size_t i = 0; i < e->n_fields; i++) {
                const char *eq = strchr(e->fields[i], '=');
                char name[128];

                if (!eq || (size_t) (eq - e->fields[i]) >= sizeof name)
                        continue;
                memcpy(name, e->fields[i], (size_t) (eq - e->fields[i]));
                name[eq - e->fields[i]] = 0;
                json_object_object_add(o, name, json_object_new_string(eq + 1));
        }
        if (fprintf(a->fallback, "%s\n",
                    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE)) < 0 ||
            fflush(a->fallback) != 0) {
                r = negative_errno();
                return r;
        }
        if (a->cfg.echo_fd >= 0) {
                const char *m = audit_entry_get(e, "MESSAGE");
                (void) dprintf(a->cfg.echo_fd, "forgeone-audit: %s\n", strempty(m));
        }
        return 0;
}

/* sd_journal_sendv() reports success when journald's socket does not exist ("fail silently if the journal
 * is not available"): an audit must know, so it looks first. */
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static int send_journal(const AuditEntry *e) {
        struct iovec iov[64];

        if (access(JOURNAL_SOCKET, F_OK) < 0)
                return errno == ENOENT ? -ENOENT : negative_errno();
        if (e->n_fields > ELEMENTSOF(iov))
                return -E2BIG;
        for (size_t i = 0; i < e->n_fields; i++)
                iov[i] = (struct iovec){ .iov_base = e->fields[i], .iov_len = strlen(e->fields[i]) };
        return sd_journal_sendv(iov, (int) e->n_fields);
}

static int emit(Audit *a, AuditEntry *e);

/* journald answered again after entries went to the file: say which, in the journal. */
static void journal_back(Audit *a) {
        AuditEntry d = {};
        uint64_t first = a->fallback_first, last = a->fallback_last;

        warn(a, "journald is reachable again; audit records %" PRIu64 "-%" PRIu64 " of run %s are in %s.",
             first, last, a->run, a->fallback_path);
        if (audit_entry_addf(&d, "MESSAGE",
                             "Audit records %" PRIu64 "-%" PRIu64
                             " are in %s (journald was unreachable: %s).",
                             first, last, a->fallback_path, a->down_reason) >= 0 &&
            audit_entry_add(&d, "MESSAGE_ID", AUDIT_MESSAGE_DEGRADED, SIZE_MAX) >= 0 &&
            audit_entry_addf(&d, "PRIORITY", "%d", AUDIT_PRIORITY_WARNING) >= 0 &&
            audit_entry_add(&d, "SYSLOG_IDENTIFIER", AUDIT_SYSLOG_IDENTIFIER, SIZE_MAX) >= 0 &&
            audit_entry_add(&d, "FORGEONE_EVENT", "degraded", SIZE_MAX) >= 0 &&
            audit_entry_addf(&d, "FORGEONE_TIME", "%" PRIu64, now_usec()) >= 0 &&
            audit_entry_add(&d, "FORGEONE_FALLBACK_FILE", a->fallback_path, SIZE_MAX) >= 0 &&
            audit_entry_addf(&d, "FORGEONE_FALLBACK_FIRST", "%" PRIu64, first) >= 0 &&
            audit_entry_addf(&d, "FORGEONE_FALLBACK_LAST", "%" PRIu64, last) >= 0)
                (void) emit(a, &d);
        audit_entry_done(&d);
}

/* Numbers, chains and writes e. Journald first; when it refuses, the fallback file (reason said once). */
static int emit(Audit *a, AuditEntry *e) {
        char hex[65], num[32];
        uint64_t now = now_usec();
        bool back = false;
        int r;

        snprintf(num, sizeof num, "%" PRIu64, a->seq + 1);
        r = audit_entry_set(e, "FORGEONE_RUN", a->run);
        if (r >= 0)
                r = audit_entry_set(e, "FORGEONE_SEQ", num);
        if (r < 0)
                return r;
        {
                uint8_t next[32];

                r = audit_chain_next(a->seq > 0 ? a->chain : NULL, e, next);
                if (r < 0)
                        return r;
                r = audit_entry_set(e, "FORGEONE_CHAIN", audit_hex(next, 32, hex));
                if (r < 0)
                        return r;
                memcpy(a->chain, next, 32);
                a->seq++;
        }

        r = -ENOTCONN;
        if (!a->cfg.no_journal && (!a->journal_down || now >= a->journal_retry_usec)) {
                r = send_journal(e);
                if (r >= 0 && a->journal_down) {
                        a->journal_down = false;
                        back = true;
                } else if (r < 0) {
                        if (!a->journal_down) {
                                snprintf(a->down_reason, sizeof a->down_reason, "%s%s",
                                         r == -ENOENT ? "no socket " JOURNAL_SOCKET ": " : "", strerror(-r));
                                warn(a,
                                     "journald is not reachable (%s): audit records go to %s from record "
                                     "%" PRIu64 " of run %s.",
                                     a->down_reason, a->fallback_path, a->seq, a->run);
                                a->journal_down = true;
                                a->fallback_first = a->seq;
                        }
                        a->journal_retry_usec = now + JOURNAL_RETRY_USEC;
                }
        } else if (a->cfg.no_journal && !a->journal_down) {
                snprintf(a->down_reason, sizeof a->down_reason, "not asked to write to journald");
                a->journal_down = true;
                a->fallback_first = a->seq;
        }
        if (r < 0) {
                int k = write_fallback(a, e, now);
                if (k < 0) {
                        a->stats.write_errors++;
                        if (!a->file_failed)
                                warn(a, "Cannot write audit record %" PRIu64 " to %s either: %s.", a->seq,
                                     a->fallback_path, strerror(-k));
                        a->file_failed = true;
                        return k;
                }
                a->fallback_last = a->seq;
                a->stats.fallback++;
        }
        a->stats.entries++;
        if (back)
                journal_back(a);
        return 0;
}

/* ---- state across runs ---- */

static char *state_file(const Audit *a) {
        char *p;
        return asprintf(&p, "%s/chain", a->state_dir) < 0 ? NULL : p;
}

/* "run=RUN seq=N chain=HEX" of the last head any run saved here. */
static int read_head(Audit *a, char run[static 33], uint64_t *seq, char chain[static 65]) {
        _cleanup_free_ char *path = state_file(a);
        char line[256];
        FILE *f;
        int ok;

        if (!path)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        (void) flock(fileno(f), LOCK_SH);
        ok = fgets(line, sizeof line, f) &&
             sscanf(line, "run=%32s seq=%" SCNu64 " chain=%64s", run, seq, chain) == 3;
        fclose(f);
        return ok ? 0 : -EBADMSG;
}

static int save_head(Audit *a) {
        _cleanup_free_ char *path = state_file(a);
        _cleanup_close_ int fd = -EBADF;
        char line[256], hex[65];
        int n;

        if (!path)
                return -ENOMEM;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return negative_errno();
        if (flock(fd, LOCK_EX) < 0)
                return negative_errno();
        n = snprintf(line, sizeof line, "run=%s seq=%" PRIu64 " chain=%s\n", a->run, a->seq,
                     audit_hex(a->chain, 32, hex));
        if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t) n, 0) != n)
                return negative_errno();
        return 0;
}

/* ---- checkpoints ---- */

static void checkpoint(Audit *a, const char *why) {
        _cleanup_free_ char *msg = NULL, *sig = NULL;
        AuditEntry e = {};
        char hex[65];
        uint64_t now = now_usec(), seq = a->seq;
        bool tpm = false;
        int r;

        if (seq == 0)
                return;
        audit_hex(a->chain, 32, hex);
        if (a->key) {
                msg = audit_checkpoint_message(a->run, seq, hex, now);
                if (!msg || audit_key_sign(a->key, msg, &sig) < 0)
                        warn(a, "Cannot sign audit checkpoint %" PRIu64 " of run %s.", seq, a->run);
        }
        if (a->cfg.tpm) {
                ForgeError err = {};
                char name[96];

                snprintf(name, sizeof name, "audit %s seq %" PRIu64, a->run, seq);
                r = trust_measure(a->cfg.tpm, a->measure_log, a->cfg.pcr, TRUST_EVENT_AUDIT, name, a->chain,
                                  &err);
                tpm = r > 0;
                if (r < 0 && !a->anchor_failed) {
                        warn(a, "Cannot extend PCR %u with the audit chain: %s", a->cfg.pcr, err.message);
                        a->anchor_failed = true;
                }
        }

        r = audit_entry_addf(&e, "MESSAGE",
                             "Audit checkpoint: run %s, record %" PRIu64 ", chain %s (%s%s%s%s).", a->run,
                             seq, hex, sig ? "signed" : "not signed", tpm ? ", PCR " : "",
                             tpm ? "extended" : "", why ? why : "");
        if (r >= 0)
                r = audit_entry_add(&e, "MESSAGE_ID", AUDIT_MESSAGE_CHECKPOINT, SIZE_MAX);
        if (r >= 0)
                r = audit_entry_addf(&e, "PRIORITY", "%d", AUDIT_PRIORITY_INFO);
        if (r >= 0)
                r = audit_entry_add(&e, "SYSLOG_IDENTIFIER", AUDIT_SYSLOG_IDENTIFIER, SIZE_MAX);
        if (r >= 0)
                r = audit_entry_add(&e, "FORGEONE_EVENT", "checkpoint", SIZE_MAX);
        if (r >= 0)
                r = audit_entry_addf(&e, "FORGEONE_TIME", "%" PRIu64, now);
        if (r >= 0)
                r = audit_entry_addf(&e, "FORGEONE_CHECKPOINT_SEQ", "%" PRIu64, seq);
        if (r >= 0)
                r = audit_entry_add(&e, "FORGEONE_CHECKPOINT_CHAIN", hex, SIZE_MAX);
        if (r >= 0)
                r = audit_entry_addf(&e, "FORGEONE_CHECKPOINT_TIME", "%" PRIu64, now);
        if (r >= 0)
                r = audit_entry_add(&e, "FORGEONE_ANCHOR",
                                    sig && tpm ? "ed25519+tpm-pcr"
                                    : sig      ? "ed25519"
                                    : tpm      ? "tpm-pcr"
                                               : "none",
                                    SIZE_MAX);
        if (r >= 0 && sig)
                r = audit_entry_add(&e, "FORGEONE_KEY_ID", audit_key_id(a->key), SIZE_MAX);
        if (r >= 0 && sig)
                r = audit_entry_add(&e, "FORGEONE_SIGNATURE", sig, SIZE_MAX);
        if (r >= 0 && tpm)
                r = audit_entry_addf(&e, "FORGEONE_PCR", "%u", a->cfg.pcr);
        if (r >= 0 && tpm)
                r = audit_entry_add(&e, "FORGEONE_MEASURE_LOG", a->measure_log, SIZE_MAX);
        if (r >= 0 && emit(a, &e) >= 0)
                a->stats.checkpoints++;
        audit_entry_done(&e);
        a->checkpoint_seq = a->seq;
        a->checkpoint_usec = now;
        (void) save_head(a);
}

/* ---- aggregates ---- */

static uint64_t hash_str(uint64_t h, const char *s) {
        for (const unsigned char *p = (const unsigned char *) (s ?: ""); *p; p++)
                h = (h ^ *p) * 1099511628211u;
        return (h ^ 0xff) * 1099511628211u;
}

static uint64_t agg_hash(const EventAggregate *k, AuditAggregateReason reason) {
        uint64_t h = 14695981039346656037u;
        uint64_t v[8] = { (uint64_t) k->nr,     k->arch,
                          (uint64_t) k->error,  (uint64_t) k->verdict,
                          (uint64_t) k->action, (uint64_t) reason,
                          k->generation,        k->workload ? 1 : 0 };

        h = hash_str(h, k->workload);
        h = hash_str(h, k->rule_id);
        for (size_t i = 0; i < ELEMENTSOF(v); i++)
                h = (h ^ v[i]) * 1099511628211u;
        return h;
}

static bool agg_equal(const AggNode *n, uint64_t h, const EventAggregate *k, AuditAggregateReason reason) {
        return n->hash == h && n->reason == reason && n->key.nr == k->nr && n->key.arch == k->arch &&
               n->key.error == k->error && n->key.verdict == k->verdict && n->key.action == k->action &&
               n->key.generation == k->generation && !n->key.workload == !k->workload &&
               streq_ptr(n->key.workload, k->workload) &&
               streq(strempty(n->key.rule_id), strempty(k->rule_id));
}

static void agg_add(Audit *a, const EventAggregate *k, AuditAggregateReason reason) {
        uint64_t h = agg_hash(k, reason);
        AggNode **b = &a->agg[h % AGG_BUCKETS], *n;
        const char *s[5] = { k->workload, k->rule_id, k->identity, k->policy_digest, k->syscall };
        size_t len[5], total = 0;
        char *p;

        for (n = *b; n; n = n->next)
                if (agg_equal(n, h, k, reason)) {
                        n->key.count += k->count;
                        return;
                }
        for (size_t i = 0; i < 5; i++)
                total += len[i] = s[i] ? strlen(s[i]) + 1 : 0;
        n = malloc(sizeof *n + total);
        if (!n) {
                /* Keep the count, if not the key: by action alone, which the table always has room for. */
                if (k->workload) {
                        EventAggregate coarse = { .action = k->action, .nr = -1, .count = k->count };
                        agg_add(a, &coarse, reason);
                }
                return;
        }
        *n = (AggNode){ .key = *k, .reason = reason, .hash = h, .next = *b };
        p = (char *) (n + 1);
        {
                const char **dst[5] = { &n->key.workload, &n->key.rule_id, &n->key.identity,
                                        &n->key.policy_digest, &n->key.syscall };
                for (size_t i = 0; i < 5; i++) {
                        *dst[i] = s[i] ? memcpy(p, s[i], len[i]) : NULL;
                        p += len[i];
                }
        }
        *b = n;
}

static void agg_from_record(Audit *a, const EventRecord *r, AuditAggregateReason reason) {
        const SupervisorEvent *ev = &r->decision;

        agg_add(a,
                &(EventAggregate){
                        .workload = r->workload,
                        .identity = ev->identity,
                        .policy_digest = ev->policy_digest,
                        .generation = ev->generation,
                        .arch = ev->arch,
                        .nr = ev->nr,
                        .syscall = ev->syscall,
                        .rule_id = ev->rule_id,
                        .verdict = ev->verdict,
                        .action = ev->action,
                        .error = ev->error,
                        .count = 1,
                },
                reason);
}

static void take_sink_aggregate(const EventAggregate *k, void *userdata) {
        Audit *a = userdata;

        agg_add(a, k,
                k->reason == EVENT_AGGREGATE_KERNEL_FILTER ? AUDIT_AGGREGATE_KERNEL_FILTER
                : k->reason == EVENT_AGGREGATE_BUDGET     ? AUDIT_AGGREGATE_RATE_LIMIT
                : k->reason == EVENT_AGGREGATE_QUEUE_FULL ? AUDIT_AGGREGATE_QUEUE_FULL
                                                          : AUDIT_AGGREGATE_ALLOW_POLICY);
}

static void maybe_checkpoint(Audit *a) {
        if (a->cfg.checkpoint_every > 0 && a->seq - a->checkpoint_seq >= a->cfg.checkpoint_every)
                checkpoint(a, "");
}

/* The interval ends: one entry per aggregate key, then a fresh budget. */
static void end_window(Audit *a, uint64_t now) {
        if (a->sink)
                (void) event_sink_take_aggregates(a->sink, take_sink_aggregate, a);
        for (size_t i = 0; i < AGG_BUCKETS; i++) {
                AggNode *n = a->agg[i];

                a->agg[i] = NULL;
                while (n) {
                        AggNode *next = n->next;
                        AuditEntry e = {};

                        if (audit_fields_aggregate(&e, &n->key, n->reason, a->window_start, now) >= 0 &&
                            emit(a, &e) >= 0)
                                a->stats.aggregates++;
                        audit_entry_done(&e);
                        free(n);
                        n = next;
                        maybe_checkpoint(a);
                }
        }
        a->window_start = now;
}

/* Takes one entry from the budget: a token bucket, filled by the records' own clock; attached to a sink,
 * the sink's budget, which the posters take from too (one budget for all). */
static bool budget_take(Audit *a, SupervisorAction action, uint64_t now) {
        uint64_t cap = (uint64_t) a->cfg.rate_burst * 1000000u;

        if (a->cfg.rate_burst == 0)
                return true;
        if (a->sink)
                /* A record of a budgeted action has its entry already: the poster took it. */
                return (event_sink_get_budget_mask(a->sink) & (1u << action)) || event_sink_take_budget(a->sink);
        if (now > a->tokens_usec)
                a->tokens = MIN(cap, a->tokens + (now - a->tokens_usec) * a->cfg.rate_per_sec);
        a->tokens_usec = now;
        if (a->tokens < 1000000u)
                return false;
        a->tokens -= 1000000u;
        return true;
}

static void check_window(Audit *a, uint64_t now) {
        if (now >= a->window_start + a->cfg.interval_usec || now < a->window_start)
                end_window(a, now);
}

/* ---- workloads' policies, for their notices ---- */

static WorkloadNode *workload_find(Audit *a, const char *w) {
        for (WorkloadNode *n = a->workloads; n; n = n->next)
                if (streq(n->workload, w))
                        return n;
        return NULL;
}

static void workload_free_node(WorkloadNode *n) {
        free(n->workload);
        free(n->identity);
        free(n->digest);
        free(n);
}

static void workload_forget(Audit *a, const char *w) {
        for (WorkloadNode **p = &a->workloads; *p; p = &(*p)->next)
                if (streq((*p)->workload, w)) {
                        WorkloadNode *n = *p;
                        *p = n->next;
                        workload_free_node(n);
                        a->n_workloads--;
                        return;
                }
}

static void workload_learn(Audit *a, const EventRecord *r) {
        WorkloadNode *n = workload_find(a, r->workload);

        if (!n) {
                if (a->n_workloads >= MAX_WORKLOADS)
                        return;
                n = calloc(1, sizeof *n);
                if (!n || !(n->workload = strdup(r->workload))) {
                        free(n);
                        return;
                }
                n->next = a->workloads;
                a->workloads = n;
                a->n_workloads++;
        }
        free(n->identity);
        free(n->digest);
        n->identity = r->notice.identity ? strdup(r->notice.identity) : NULL;
        n->digest = r->notice.policy_digest ? strdup(r->notice.policy_digest) : NULL;
        n->generation = r->notice.generation;
}

/* ---- consuming ---- */

static void consume_decision(Audit *a, const EventRecord *r) {
        const SupervisorEvent *ev = &r->decision;
        unsigned sample = 0;
        AuditEntry e = {};

        if (ev->action == SUPERVISOR_ACTION_CONTINUE) {
                if (a->cfg.allow == AUDIT_ALLOW_AGGREGATED)
                        return agg_from_record(a, r, AUDIT_AGGREGATE_ALLOW_POLICY);
                if (a->cfg.allow == AUDIT_ALLOW_SAMPLED) {
                        unsigned every = a->cfg.sample_every ?: 1;
                        if (a->sample_counter++ % every != 0)
                                return agg_from_record(a, r, AUDIT_AGGREGATE_SAMPLED);
                        sample = every;
                }
        }
        /* Beyond the interval's budget, journald's rate limiter would drop entries silently: count them. */
        if (ev->action != SUPERVISOR_ACTION_QUARANTINE && !budget_take(a, ev->action, r->realtime_usec))
                return agg_from_record(a, r, AUDIT_AGGREGATE_RATE_LIMIT);
        if (audit_fields_decision(&e, r, sample) >= 0)
                (void) emit(a, &e);
        else
                agg_from_record(a, r, AUDIT_AGGREGATE_QUEUE_FULL);
        audit_entry_done(&e);
}

static void consume_notice(Audit *a, const EventRecord *r) {
        WorkloadNode *w;
        AuditWorkloadPolicy wp = {};
        AuditEntry e = {};

        if (r->notice.kind == EVENT_NOTICE_POLICY_LOADED)
                workload_learn(a, r);
        w = workload_find(a, r->workload);
        if (w)
                wp = (AuditWorkloadPolicy){ w->identity, w->digest, w->generation };
        if (audit_fields_notice(&e, r, w ? &wp : NULL) >= 0)
                (void) emit(a, &e);
        audit_entry_done(&e);
        if (r->notice.kind == EVENT_NOTICE_STATE && r->notice.state &&
            (streq(r->notice.state, "Stopped") || streq(r->notice.state, "Failed")))
                workload_forget(a, r->workload);
}

/* Notices are not aggregated: when the sink's queue lost some, say how many. */
static void check_lost_notices(Audit *a) {
        EventSinkCounts c;
        AuditEntry e = {};
        uint64_t lost;

        if (!a->sink)
                return;
        event_sink_get_counts(a->sink, &c);
        if (c.notices_dropped <= a->notices_dropped_seen)
                return;
        lost = c.notices_dropped - a->notices_dropped_seen;
        a->notices_dropped_seen = c.notices_dropped;
        if (audit_entry_addf(&e, "MESSAGE",
                             "%" PRIu64 " workload notices were lost: the event queue was full.",
                             lost) >= 0 &&
            audit_entry_add(&e, "MESSAGE_ID", AUDIT_MESSAGE_DEGRADED, SIZE_MAX) >= 0 &&
            audit_entry_addf(&e, "PRIORITY", "%d", AUDIT_PRIORITY_WARNING) >= 0 &&
            audit_entry_add(&e, "SYSLOG_IDENTIFIER", AUDIT_SYSLOG_IDENTIFIER, SIZE_MAX) >= 0 &&
            audit_entry_add(&e, "FORGEONE_EVENT", "degraded", SIZE_MAX) >= 0 &&
            audit_entry_addf(&e, "FORGEONE_TIME", "%" PRIu64, now_usec()) >= 0 &&
            audit_entry_addf(&e, "FORGEONE_LOST_NOTICES", "%" PRIu64, lost) >= 0)
                (void) emit(a, &e);
        audit_entry_done(&e);
}

void audit_tick(Audit *a, uint64_t now) {
        if (a->sink && a->cfg.rate_burst > 0 && now > a->tokens_usec) {
                uint64_t add = (now - a->tokens_usec) * a->cfg.rate_per_sec; /* millionths */

                event_sink_refill_budget(a->sink, add / 1000000u, a->cfg.rate_burst);
                a->tokens_usec = now - (add % 1000000u) / MAX(a->cfg.rate_per_sec, 1u);
        }
        check_window(a, now);
        check_lost_notices(a);
        if (a->seq > a->checkpoint_seq && now >= a->checkpoint_usec + a->cfg.checkpoint_interval_usec)
                checkpoint(a, "");
}

void audit_consume(const EventRecord *r, void *userdata) {
        Audit *a = userdata;

        switch (r->type) {
        case EVENT_DECISION:
                check_window(a, r->realtime_usec);
                consume_decision(a, r);
                break;
        case EVENT_NOTICE:
                check_window(a, r->realtime_usec);
                consume_notice(a, r);
                break;
        case EVENT_TICK:
                audit_tick(a, now_usec());
                return;
        default:
                return;
        }
        maybe_checkpoint(a);
}

void audit_flush(Audit *a) {
        end_window(a, now_usec());
        check_lost_notices(a);
        if (a->seq > a->checkpoint_seq)
                checkpoint(a, "");
}

/* ---- life ---- */

static int start_record(Audit *a) {
        char prev_run[33] = "", prev_chain[65] = "";
        uint64_t prev_seq = 0;
        AuditEntry e = {};
        bool linked = read_head(a, prev_run, &prev_seq, prev_chain) >= 0;
        int r;

        if (linked)
                r = audit_entry_addf(&e, "MESSAGE",
                                     "Audit started: run %s, continuing from run %s at record %" PRIu64 ".",
                                     a->run, prev_run, prev_seq);
        else
                r = audit_entry_addf(&e, "MESSAGE", "Audit started: run %s, no earlier run recorded in %s.",
                                     a->run, a->state_dir);
        if (r >= 0)
                r = audit_entry_add(&e, "MESSAGE_ID", AUDIT_MESSAGE_STARTED, SIZE_MAX);
        if (r >= 0)
                r = audit_entry_addf(&e, "PRIORITY", "%d", AUDIT_PRIORITY_INFO);
        if (r >= 0)
                r = audit_entry_add(&e, "SYSLOG_IDENTIFIER", AUDIT_SYSLOG_IDENTIFIER, SIZE_MAX);
        if (r >= 0)
                r = audit_entry_add(&e, "FORGEONE_EVENT", "audit-started", SIZE_MAX);
        if (r >= 0)
                r = audit_entry_addf(&e, "FORGEONE_TIME", "%" PRIu64, now_usec());
        if (r >= 0 && linked)
                r = audit_entry_add(&e, "FORGEONE_PREV_RUN", prev_run, SIZE_MAX);
        if (r >= 0 && linked)
                r = audit_entry_addf(&e, "FORGEONE_PREV_SEQ", "%" PRIu64, prev_seq);
        if (r >= 0 && linked)
                r = audit_entry_add(&e, "FORGEONE_PREV_CHAIN", prev_chain, SIZE_MAX);
        if (r >= 0)
                r = audit_entry_add(&e, "FORGEONE_ALLOW_MODE", audit_allow_mode_to_string(a->cfg.allow),
                                    SIZE_MAX);
        if (r >= 0)
                r = audit_entry_addf(&e, "FORGEONE_RATE_BURST", "%u", a->cfg.rate_burst);
        if (r >= 0)
                r = audit_entry_addf(&e, "FORGEONE_RATE_PER_SEC", "%u", a->cfg.rate_per_sec);
        if (r >= 0)
                r = audit_entry_addf(&e, "FORGEONE_INTERVAL_USEC", "%" PRIu64, a->cfg.interval_usec);
        if (r >= 0 && a->key)
                r = audit_entry_add(&e, "FORGEONE_KEY_ID", audit_key_id(a->key), SIZE_MAX);
        if (r >= 0)
                r = emit(a, &e);
        audit_entry_done(&e);
        return r;
}

int audit_new(const AuditConfig *c, Audit **ret, ForgeError *err) {
        _cleanup_(audit_freep) Audit *a = NULL;
        uint8_t id[16];
        const char *key_path;
        int r;

        if (!c || !ret || c->allow < 0 || c->allow >= _AUDIT_ALLOW_MODE_MAX)
                return forge_error_set(err, -EINVAL, "invalid audit configuration");
        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        a->cfg = *c;
        a->cfg.interval_usec = c->interval_usec ?: AUDIT_DEFAULT_INTERVAL_USEC;
        a->cfg.checkpoint_interval_usec = c->checkpoint_interval_usec ?: AUDIT_DEFAULT_CHECKPOINT_USEC;
        a->state_dir = strdup(c->state_dir ?: AUDIT_DEFAULT_STATE_DIR);
        if (!a->state_dir)
                return -ENOMEM;
        if (c->fallback_path)
                a->fallback_path = strdup(c->fallback_path);
        else if (asprintf(&a->fallback_path, "%s/fallback.jsonl", a->state_dir) < 0)
                a->fallback_path = NULL;
        if (!a->fallback_path)
                return -ENOMEM;
        if (c->tpm && !(a->measure_log = strdup(c->measure_log ?: TRUST_DEFAULT_EVENT_LOG)))
                return -ENOMEM;
        a->cfg.state_dir = a->cfg.fallback_path = a->cfg.key_path = a->cfg.measure_log = NULL;

        r = mkdir_p(a->state_dir, 0700);
        if (r < 0)
                return forge_error_set(err, r, "cannot create the audit state directory %s: %m",
                                       a->state_dir);

        key_path = c->key_path ?: AUDIT_DEFAULT_KEY;
        r = audit_key_load(key_path, true, &a->key);
        if (r == -ENOENT && !c->key_path)
                a->key = NULL; /* no key provisioned: checkpoints are not signed (and say so) */
        else if (r == -EKEYREJECTED)
                return forge_error_set(err, r, "audit key %s is not an Ed25519 private key in PEM",
                                       key_path);
        else if (r < 0)
                return forge_error_set(err, r, "cannot read the audit key %s: %m", key_path);

        if (getrandom(id, sizeof id, 0) != sizeof id)
                return forge_error_set(err, negative_errno(), "cannot make an audit run id: %m");
        audit_hex(id, sizeof id, a->run);
        a->window_start = now_usec();
        a->checkpoint_usec = a->window_start;
        a->tokens = (uint64_t) a->cfg.rate_burst * 1000000u;
        a->tokens_usec = a->window_start;

        r = start_record(a);
        if (r < 0)
                return forge_error_set(err, r, "cannot write the audit start record: %m");
        *ret = TAKE_PTR(a);
        return 0;
}

int audit_attach(Audit *a, EventSink *s) {
        int r;

        if (!a || !s || a->sink)
                return -EINVAL;
        event_sink_set_mode(s, SUPERVISOR_ACTION_DENY, EVENT_SINK_RECORD);
        event_sink_set_mode(s, SUPERVISOR_ACTION_QUARANTINE, EVENT_SINK_RECORD);
        event_sink_set_mode(s, SUPERVISOR_ACTION_EMULATE, EVENT_SINK_RECORD);
        /* Aggregated allows never leave the poster's thread as records: one counter each. */
        event_sink_set_mode(s, SUPERVISOR_ACTION_CONTINUE,
                            a->cfg.allow == AUDIT_ALLOW_AGGREGATED ? EVENT_SINK_AGGREGATE
                                                                   : EVENT_SINK_RECORD);
        /* The budget at the posters: beyond it, denials and emulations are counted where they happen and
         * never queued. Quarantines are always entries of their own. */
        if (a->cfg.rate_burst > 0)
                event_sink_set_budget(s,
                                      (1u << SUPERVISOR_ACTION_DENY) | (1u << SUPERVISOR_ACTION_EMULATE) |
                                              (a->cfg.allow == AUDIT_ALLOW_ALL ? 1u << SUPERVISOR_ACTION_CONTINUE
                                                                               : 0),
                                      a->cfg.rate_burst);
        r = event_sink_add_consumer(s, audit_consume, a);
        if (r < 0)
                return r;
        a->sink = s;
        a->tokens_usec = now_usec();
        {
                EventSinkCounts c;
                event_sink_get_counts(s, &c);
                a->notices_dropped_seen = c.notices_dropped;
        }
        return event_sink_set_tick(s, 1000000u);
}

static void stop_record(Audit *a) {
        EventSinkCounts c = {};
        AuditEntry e = {};
        int r;

        if (a->sink)
                event_sink_get_counts(a->sink, &c);
        r = audit_entry_addf(&e, "MESSAGE",
                             "Audit stopped: run %s, %" PRIu64 " records; decisions: %" PRIu64
                             " allowed, %" PRIu64 " emulated, %" PRIu64 " denied, %" PRIu64 " quarantined.",
                             a->run, a->seq + 1, c.posted[SUPERVISOR_ACTION_CONTINUE],
                             c.posted[SUPERVISOR_ACTION_EMULATE], c.posted[SUPERVISOR_ACTION_DENY],
                             c.posted[SUPERVISOR_ACTION_QUARANTINE]);
        if (r >= 0)
                r = audit_entry_add(&e, "MESSAGE_ID", AUDIT_MESSAGE_STOPPED, SIZE_MAX);
        if (r >= 0)
                r = audit_entry_addf(&e, "PRIORITY", "%d", AUDIT_PRIORITY_INFO);
        if (r >= 0)
                r = audit_entry_add(&e, "SYSLOG_IDENTIFIER", AUDIT_SYSLOG_IDENTIFIER, SIZE_MAX);
        if (r >= 0)
                r = audit_entry_add(&e, "FORGEONE_EVENT", "audit-stopped", SIZE_MAX);
        if (r >= 0)
                r = audit_entry_addf(&e, "FORGEONE_TIME", "%" PRIu64, now_usec());
        for (int i = 0; r >= 0 && a->sink && i < _SUPERVISOR_ACTION_MAX; i++) {
                char name[64];
                snprintf(name, sizeof name, "FORGEONE_TOTAL_%s",
                         audit_verdict_of_action((SupervisorAction) i));
                for (char *p = name; *p; p++)
                        *p = (char) (*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
                r = audit_entry_addf(&e, name, "%" PRIu64, c.posted[i]);
        }
        /* The kernel filter's denials the observer counted (forgeone.observer(7)), not among the above. */
        if (r >= 0 && c.observed[SUPERVISOR_ACTION_DENY] > 0)
                r = audit_entry_addf(&e, "FORGEONE_TOTAL_KERNEL_FILTER_DENIED", "%" PRIu64,
                                     c.observed[SUPERVISOR_ACTION_DENY]);
        if (r >= 0)
                (void) emit(a, &e);
        audit_entry_done(&e);
}

Audit *audit_free(Audit *a) {
        if (!a)
                return NULL;
        if (a->seq > 0) {
                end_window(a, now_usec());
                check_lost_notices(a);
                stop_record(a);
                checkpoint(a, ", final");
        }
        if (a->sink)
                event_sink_remove_consumer(a->sink, audit_consume, a);
        for (size_t i = 0; i < AGG_BUCKETS; i++)
                while (a->agg[i]) {
                        AggNode *n = a->agg[i];
                        a->agg[i] = n->next;
                        free(n);
                }
        while (a->workloads) {
                WorkloadNode *n = a->workloads;
                a->workloads = n->next;
                workload_free_node(n);
        }
        if (a->fallback)
                fclose(a->fallback);
        audit_key_free(a->key);
        free(a->state_dir);
        free(a->fallback_path);
        free(a->measure_log);
        free(a);
        return NULL;
}
