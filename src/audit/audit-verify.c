/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Checking the audit trail: gaps, order, the chain, checkpoints, links between runs; and the per-workload
 * summary. See audit-verify.h. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forgeone/audit-verify.h"
#include "forgeone/string-table.h"
#include "forgeone/trust-log.h"

static const char *const audit_problem_kind_table[_AUDIT_PROBLEM_KIND_MAX] = {
        [AUDIT_PROBLEM_MALFORMED] = "malformed",     [AUDIT_PROBLEM_MISSING] = "missing",
        [AUDIT_PROBLEM_REORDERED] = "reordered",     [AUDIT_PROBLEM_DUPLICATE] = "duplicate",
        [AUDIT_PROBLEM_ALTERED] = "altered",         [AUDIT_PROBLEM_CHECKPOINT] = "checkpoint-mismatch",
        [AUDIT_PROBLEM_SIGNATURE] = "bad-signature", [AUDIT_PROBLEM_ANCHOR] = "anchor-mismatch",
        [AUDIT_PROBLEM_LINK] = "broken-link",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(audit_problem_kind, AuditProblemKind)

typedef struct Rec {
        uint64_t seq, pos, realtime;
        uint8_t digest[32], chain[32];
        char *cursor;
        AuditClass cls;
} Rec;

typedef struct Checkpoint {
        uint64_t own_seq, seq, time, pos, realtime;
        uint8_t chain[32];
        bool chain_valid, pcr;
        char *signature, *key_id, *cursor;
} Checkpoint;

typedef struct Range {
        uint64_t first, last;
} Range;

typedef struct Run {
        char run[33];
        Rec *recs;
        size_t n_recs, alloc_recs;
        Checkpoint *cps;
        size_t n_cps, alloc_cps;
        Range *fallback;
        size_t n_fallback;
        bool has_prev;
        char prev_run[33];
        uint64_t prev_seq;
        uint8_t prev_chain[32];
        bool stopped;
} Run;

typedef struct Problem {
        AuditProblem p;
        uint64_t pos;
} Problem;

struct AuditVerifier {
        AuditVerifyOptions o;
        Run *runs;
        size_t n_runs;
        uint64_t pos;
        Problem *problems;
        size_t n_problems;
        bool finished;
        bool signed_seen;
        AuditVerifyResult result;
};

int audit_verifier_new(const AuditVerifyOptions *o, AuditVerifier **ret) {
        AuditVerifier *v = calloc(1, sizeof *v);

        if (!v)
                return -ENOMEM;
        if (o)
                v->o = *o;
        *ret = v;
        return 0;
}

AuditVerifier *audit_verifier_free(AuditVerifier *v) {
        if (!v)
                return NULL;
        for (size_t i = 0; i < v->n_runs; i++) {
                Run *r = &v->runs[i];
                for (size_t k = 0; k < r->n_recs; k++)
                        free(r->recs[k].cursor);
                for (size_t k = 0; k < r->n_cps; k++) {
                        free(r->cps[k].signature);
                        free(r->cps[k].key_id);
                        free(r->cps[k].cursor);
                }
                free(r->recs);
                free(r->cps);
                free(r->fallback);
        }
        free(v->runs);
        for (size_t i = 0; i < v->n_problems; i++) {
                free(v->problems[i].p.cursor);
                free(v->problems[i].p.message);
        }
        free(v->problems);
        free(v->result.problems);
        free(v->result.runs);
        free(v);
        return NULL;
}

_printf_(7, 8) static int problem(AuditVerifier *v, AuditProblemKind kind, const char *run, uint64_t seq,
                                  uint64_t pos, const Rec *at, const char *format, ...) {
        Problem *np, *p;
        va_list ap;
        int k;

        np = realloc(v->problems, (v->n_problems + 1) * sizeof *np);
        if (!np)
                return -ENOMEM;
        v->problems = np;
        p = &np[v->n_problems];
        *p = (Problem){ .p = { .kind = kind, .seq = seq }, .pos = pos };
        snprintf(p->p.run, sizeof p->p.run, "%s", strempty(run));
        if (at) {
                p->p.realtime_usec = at->realtime;
                p->p.cursor = at->cursor ? strdup(at->cursor) : NULL;
        }
        va_start(ap, format);
        k = vasprintf(&p->p.message, format, ap);
        va_end(ap);
        if (k < 0) {
                free(p->p.cursor);
                return -ENOMEM;
        }
        v->n_problems++;
        return 0;
}

static Run *find_run(AuditVerifier *v, const char *run) {
        for (size_t i = v->n_runs; i > 0; i--)
                if (streq(v->runs[i - 1].run, run))
                        return &v->runs[i - 1];
        return NULL;
}

static int grow(void **p, size_t *alloc, size_t n, size_t size) {
        void *np;
        size_t na;

        if (n < *alloc)
                return 0;
        na = *alloc ? *alloc * 2 : 64;
        np = realloc(*p, na * size);
        if (!np)
                return -ENOMEM;
        *p = np;
        *alloc = na;
        return 0;
}

int audit_verifier_add(AuditVerifier *v, const AuditEntry *e) {
        const char *run = audit_entry_get(e, "FORGEONE_RUN"), *chain = audit_entry_get(e, "FORGEONE_CHAIN");
        uint64_t seq, pos = v->pos++;
        Run *r;
        Rec *rec;
        int k;

        if (v->finished)
                return -EBUSY;
        if (!run || strlen(run) != 32 || audit_entry_get_u64(e, "FORGEONE_SEQ", &seq) < 0 || seq == 0 ||
            !chain) {
                Rec at = { .realtime = e->realtime_usec, .cursor = e->cursor };
                return problem(
                        v, AUDIT_PROBLEM_MALFORMED, run, 0, pos, &at,
                        "an entry with a ForgeOne MESSAGE_ID has no valid FORGEONE_RUN, FORGEONE_SEQ or "
                        "FORGEONE_CHAIN (forged, or not written by ForgeOne)");
        }
        r = find_run(v, run);
        if (!r) {
                Run *nr = realloc(v->runs, (v->n_runs + 1) * sizeof *nr);
                if (!nr)
                        return -ENOMEM;
                v->runs = nr;
                r = &nr[v->n_runs++];
                *r = (Run){};
                snprintf(r->run, sizeof r->run, "%s", run);
        }
        k = grow((void **) &r->recs, &r->alloc_recs, r->n_recs, sizeof *r->recs);
        if (k < 0)
                return k;
        rec = &r->recs[r->n_recs];
        *rec = (Rec){ .seq = seq,
                      .pos = pos,
                      .realtime = e->realtime_usec,
                      .cls = audit_class_from_message_id(audit_entry_get(e, "MESSAGE_ID")) };
        k = audit_entry_digest(e, rec->digest);
        if (k < 0)
                return k;
        if (audit_unhex(chain, rec->chain, 32) < 0)
                memset(rec->chain, 0, sizeof rec->chain); /* never matches a SHA-256 in practice: altered */
        if (e->cursor && !(rec->cursor = strdup(e->cursor)))
                return -ENOMEM;
        r->n_recs++;

        if (rec->cls == AUDIT_CLASS_STARTED && seq == 1) {
                const char *pr = audit_entry_get(e, "FORGEONE_PREV_RUN"),
                           *pc = audit_entry_get(e, "FORGEONE_PREV_CHAIN");
                if (pr && pc && audit_entry_get_u64(e, "FORGEONE_PREV_SEQ", &r->prev_seq) >= 0 &&
                    audit_unhex(pc, r->prev_chain, 32) >= 0) {
                        r->has_prev = true;
                        snprintf(r->prev_run, sizeof r->prev_run, "%s", pr);
                }
        } else if (rec->cls == AUDIT_CLASS_STOPPED)
                r->stopped = true;
        else if (rec->cls == AUDIT_CLASS_DEGRADED) {
                Range rg;
                if (audit_entry_get_u64(e, "FORGEONE_FALLBACK_FIRST", &rg.first) >= 0 &&
                    audit_entry_get_u64(e, "FORGEONE_FALLBACK_LAST", &rg.last) >= 0) {
                        Range *nf = realloc(r->fallback, (r->n_fallback + 1) * sizeof *nf);
                        if (!nf)
                                return -ENOMEM;
                        r->fallback = nf;
                        r->fallback[r->n_fallback++] = rg;
                }
        } else if (rec->cls == AUDIT_CLASS_CHECKPOINT) {
                Checkpoint *cp;
                const char *sig = audit_entry_get(e, "FORGEONE_SIGNATURE"),
                           *kid = audit_entry_get(e, "FORGEONE_KEY_ID");

                k = grow((void **) &r->cps, &r->alloc_cps, r->n_cps, sizeof *r->cps);
                if (k < 0)
                        return k;
                cp = &r->cps[r->n_cps];
                *cp = (Checkpoint){ .own_seq = seq, .pos = pos, .realtime = e->realtime_usec };
                cp->chain_valid =
                        audit_entry_get_u64(e, "FORGEONE_CHECKPOINT_SEQ", &cp->seq) >= 0 &&
                        audit_entry_get_u64(e, "FORGEONE_CHECKPOINT_TIME", &cp->time) >= 0 &&
                        audit_unhex(audit_entry_get(e, "FORGEONE_CHECKPOINT_CHAIN"), cp->chain, 32) >= 0;
                cp->pcr = audit_entry_get(e, "FORGEONE_PCR") != NULL;
                if ((sig && !(cp->signature = strdup(sig))) || (kid && !(cp->key_id = strdup(kid))) ||
                    (e->cursor && !(cp->cursor = strdup(e->cursor))))
                        return -ENOMEM;
                if (sig)
                        v->signed_seen = true;
                r->n_cps++;
        }
        return 0;
}

static int cmp_rec_seq(const void *a, const void *b) {
        const Rec *x = *(const Rec *const *) a, *y = *(const Rec *const *) b;

        if (x->seq != y->seq)
                return x->seq < y->seq ? -1 : 1;
        return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* The first record (in read order) with this sequence number among the sorted ones, or NULL. */
static const Rec *by_seq(Rec **sorted, size_t n, uint64_t seq) {
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (sorted[mid]->seq < seq)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < n && sorted[lo]->seq == seq ? sorted[lo] : NULL;
}

static bool in_fallback(const Run *r, uint64_t first, uint64_t last) {
        for (size_t i = 0; i < r->n_fallback; i++)
                if (r->fallback[i].first <= first && last <= r->fallback[i].last)
                        return true;
        return false;
}

static int check_run(AuditVerifier *v, Run *r, AuditRunState *st, const TrustEvent *events,
                     size_t n_events) {
        _cleanup_free_ Rec **sorted = malloc((r->n_recs ?: 1) * sizeof *sorted);
        _cleanup_free_ bool *reported = NULL;
        char hex[65];
        uint64_t last;
        int k;

        if (!sorted)
                return -ENOMEM;
        for (size_t i = 0; i < r->n_recs; i++)
                sorted[i] = &r->recs[i];
        qsort(sorted, r->n_recs, sizeof *sorted, cmp_rec_seq);

        *st = (AuditRunState){ .first_seq = sorted[0]->seq,
                               .last_seq = sorted[r->n_recs - 1]->seq,
                               .n_records = r->n_recs,
                               .first_usec = r->recs[0].realtime,
                               .last_usec = r->recs[r->n_recs - 1].realtime,
                               .stopped = r->stopped };
        snprintf(st->run, sizeof st->run, "%s", r->run);
        st->started = sorted[0]->seq == 1 && sorted[0]->cls == AUDIT_CLASS_STARTED;

        /* Order and completeness, in the order the journal holds the records. */
        reported = calloc(r->n_recs, sizeof *reported);
        if (!reported)
                return -ENOMEM;
        last = r->recs[0].seq -
               1; /* a run that begins before what was read (--since) starts where it is read */
        if (r->recs[0].seq > 1 && !v->o.partial && r->recs[0].cls != AUDIT_CLASS_STARTED) {
                if (in_fallback(r, 1, r->recs[0].seq - 1))
                        st->in_fallback += r->recs[0].seq - 1;
                else {
                        k = problem(v, AUDIT_PROBLEM_MISSING, r->run, 1, r->recs[0].pos, &r->recs[0],
                                    "records 1-%" PRIu64
                                    " of run %s are missing: the first one read is %" PRIu64,
                                    r->recs[0].seq - 1, r->run, r->recs[0].seq);
                        if (k < 0)
                                return k;
                }
        }
        for (size_t i = 0; i < r->n_recs; i++) {
                const Rec *c = &r->recs[i];

                if (c->seq == last + 1) {
                        last = c->seq;
                        continue;
                }
                if (c->seq <= last) {
                        bool dup = false, already = false;
                        for (size_t j = 0; j < i; j++)
                                if (r->recs[j].seq == c->seq)
                                        dup = true;
                        for (size_t j = 0; j < i; j++)
                                if (r->recs[j].seq == c->seq && reported[j])
                                        already = true;
                        if (dup)
                                k = problem(v, AUDIT_PROBLEM_DUPLICATE, r->run, c->seq, c->pos, c,
                                            "record %" PRIu64 " of run %s appears twice", c->seq, r->run);
                        else if (!reported[i])
                                k = problem(v, AUDIT_PROBLEM_REORDERED, r->run, c->seq, c->pos, c,
                                            "record %" PRIu64
                                            " of run %s is out of order: it comes after record %" PRIu64,
                                            c->seq, r->run, last);
                        else
                                k = 0;
                        (void) already;
                        if (k < 0)
                                return k;
                        continue;
                }
                /* A jump: the records in between come later (reordered) or not at all (missing). */
                {
                        size_t later = SIZE_MAX;

                        for (size_t j = i + 1; j < r->n_recs && later == SIZE_MAX; j++)
                                if (r->recs[j].seq == last + 1)
                                        later = j;
                        if (later != SIZE_MAX) {
                                reported[later] = true;
                                k = problem(v, AUDIT_PROBLEM_REORDERED, r->run, last + 1, c->pos,
                                            &r->recs[later],
                                            "record %" PRIu64 " of run %s is out of order: record %" PRIu64
                                            " comes before it",
                                            last + 1, r->run, c->seq);
                        } else if (in_fallback(r, last + 1, c->seq - 1)) {
                                st->in_fallback += c->seq - 1 - last;
                                k = 0;
                        } else if (c->seq - 1 == last + 1)
                                k = problem(v, AUDIT_PROBLEM_MISSING, r->run, last + 1, c->pos, c,
                                            "record %" PRIu64
                                            " of run %s is missing (deleted): record %" PRIu64
                                            " follows record %" PRIu64,
                                            last + 1, r->run, c->seq, last);
                        else
                                k = problem(v, AUDIT_PROBLEM_MISSING, r->run, last + 1, c->pos, c,
                                            "records %" PRIu64 "-%" PRIu64
                                            " of run %s are missing (deleted): record %" PRIu64
                                            " follows record %" PRIu64,
                                            last + 1, c->seq - 1, r->run, c->seq, last);
                        if (k < 0)
                                return k;
                        last = c->seq;
                }
        }

        /* The chain: each record's value from its predecessor's and its own fields. */
        for (size_t i = 0; i < r->n_recs; i++) {
                const Rec *c = sorted[i], *prev;
                uint8_t want[32];

                if (i > 0 && sorted[i - 1]->seq == c->seq)
                        continue; /* a duplicate: reported above */
                prev = c->seq > 1 ? by_seq(sorted, r->n_recs, c->seq - 1) : NULL;
                if (c->seq > 1 && !prev)
                        continue; /* after a gap (or before what was read) the chain resumes here */
                audit_chain_combine(prev ? prev->chain : NULL, c->digest, want);
                if (memcmp(want, c->chain, 32) != 0) {
                        k = problem(v, AUDIT_PROBLEM_ALTERED, r->run, c->seq, c->pos, c,
                                    "record %" PRIu64 " of run %s was altered: its fields do not give its "
                                    "FORGEONE_CHAIN (expected %s)",
                                    c->seq, r->run, audit_hex(want, 32, hex));
                        if (k < 0)
                                return k;
                }
        }

        /* Checkpoints: the head they name, their signature, their PCR measurement. */
        for (size_t i = 0; i < r->n_cps; i++) {
                Checkpoint *cp = &r->cps[i];
                const Rec *own = by_seq(sorted, r->n_recs, cp->own_seq), *at;
                char *msg;

                st->checkpoints++;
                if (!cp->chain_valid) {
                        k = problem(v, AUDIT_PROBLEM_CHECKPOINT, r->run, cp->own_seq, cp->pos, own,
                                    "checkpoint record %" PRIu64 " of run %s names no valid head",
                                    cp->own_seq, r->run);
                        if (k < 0)
                                return k;
                        continue;
                }
                st->last_checkpoint_seq = MAX(st->last_checkpoint_seq, cp->seq);
                if (cp->seq + 1 == cp->own_seq && cp->own_seq == st->last_seq)
                        st->final_checkpoint = true;
                at = by_seq(sorted, r->n_recs, cp->seq);
                if (at && memcmp(at->chain, cp->chain, 32) != 0) {
                        k = problem(v, AUDIT_PROBLEM_CHECKPOINT, r->run, cp->seq, at->pos, at,
                                    "checkpoint record %" PRIu64
                                    " of run %s names chain %s for record %" PRIu64
                                    ", the records give %s: records up to %" PRIu64 " were rewritten",
                                    cp->own_seq, r->run, audit_hex(cp->chain, 32, hex), cp->seq,
                                    audit_hex(at->chain, 32, (char[65]){}), cp->seq);
                        if (k < 0)
                                return k;
                }
                if (cp->signature && v->o.key) {
                        if (!streq_ptr(cp->key_id, audit_key_id(v->o.key)))
                                k = problem(v, AUDIT_PROBLEM_SIGNATURE, r->run, cp->own_seq, cp->pos, own,
                                            "checkpoint record %" PRIu64
                                            " of run %s is signed by key %s, not by the "
                                            "given key %s",
                                            cp->own_seq, r->run, strempty(cp->key_id),
                                            audit_key_id(v->o.key));
                        else {
                                msg = audit_checkpoint_message(r->run, cp->seq,
                                                               audit_hex(cp->chain, 32, hex), cp->time);
                                if (!msg)
                                        return -ENOMEM;
                                k = audit_key_verify(v->o.key, msg, cp->signature);
                                free(msg);
                                if (k == -ENOMEM)
                                        return k;
                                if (k < 0)
                                        k = problem(v, AUDIT_PROBLEM_SIGNATURE, r->run, cp->own_seq, cp->pos,
                                                    own,
                                                    "checkpoint record %" PRIu64
                                                    " of run %s: the signature does not "
                                                    "verify (the checkpoint was altered or forged)",
                                                    cp->own_seq, r->run);
                                else
                                        st->signed_verified++;
                        }
                        if (k < 0)
                                return k;
                }
                if (cp->pcr && events) {
                        char name[96];
                        const TrustEvent *found = NULL;

                        snprintf(name, sizeof name, "audit %s seq %" PRIu64, r->run, cp->seq);
                        for (size_t j = 0; j < n_events && !found; j++)
                                if (events[j].type == TRUST_EVENT_AUDIT && streq_ptr(events[j].name, name))
                                        found = &events[j];
                        if (!found)
                                k = problem(v, AUDIT_PROBLEM_ANCHOR, r->run, cp->own_seq, cp->pos, own,
                                            "checkpoint record %" PRIu64
                                            " of run %s says it extended the PCR, but "
                                            "the measurement log has no \"%s\"",
                                            cp->own_seq, r->run, name);
                        else if (memcmp(found->digest, cp->chain, 32) != 0)
                                k = problem(v, AUDIT_PROBLEM_ANCHOR, r->run, cp->own_seq, cp->pos, own,
                                            "checkpoint record %" PRIu64
                                            " of run %s names another head than the "
                                            "measurement log's line %zu",
                                            cp->own_seq, r->run, found->line);
                        else {
                                st->pcr_verified++;
                                k = 0;
                        }
                        if (k < 0)
                                return k;
                }
        }
        return 0;
}

static void check_link(AuditVerifier *v, Run *r, AuditRunState *st) {
        Run *p;
        const Rec *at = NULL;

        if (!st->started) {
                st->link = AUDIT_LINK_UNKNOWN;
                return;
        }
        if (!r->has_prev) {
                st->link = AUDIT_LINK_NONE;
                return;
        }
        snprintf(st->prev_run, sizeof st->prev_run, "%s", r->prev_run);
        st->prev_seq = r->prev_seq;
        p = find_run(v, r->prev_run);
        for (size_t i = 0; p && i < p->n_recs && !at; i++)
                if (p->recs[i].seq == r->prev_seq)
                        at = &p->recs[i];
        if (!at) {
                st->link = AUDIT_LINK_NOT_IN_RANGE;
                return;
        }
        if (memcmp(at->chain, r->prev_chain, 32) == 0) {
                st->link = AUDIT_LINK_OK;
                return;
        }
        st->link = AUDIT_LINK_BROKEN;
        (void) problem(v, AUDIT_PROBLEM_LINK, r->run, 1, r->recs[0].pos, &r->recs[0],
                       "run %s starts from record %" PRIu64
                       " of run %s, but that record has another chain value "
                       "(altered after this run started)",
                       r->run, r->prev_seq, r->prev_run);
}

static int cmp_problem(const void *a, const void *b) {
        const Problem *x = a, *y = b;

        if (x->pos != y->pos)
                return x->pos < y->pos ? -1 : 1;
        return x->p.seq < y->p.seq ? -1 : x->p.seq > y->p.seq;
}

int audit_verifier_finish(AuditVerifier *v, const AuditVerifyResult **ret) {
        TrustEvent *events = NULL;
        size_t n_events = 0;
        int k = 0;

        if (v->finished) {
                *ret = &v->result;
                return 0;
        }
        v->finished = true;
        if (v->o.measure_log && trust_log_read(v->o.measure_log, &events, &n_events, NULL) < 0) {
                events = NULL;
                n_events = 0;
        }
        v->result.runs = calloc(v->n_runs ?: 1, sizeof *v->result.runs);
        if (!v->result.runs) {
                trust_events_free(events, n_events);
                return -ENOMEM;
        }
        for (size_t i = 0; i < v->n_runs && k >= 0; i++)
                k = check_run(v, &v->runs[i], &v->result.runs[i], events, n_events);
        trust_events_free(events, n_events);
        if (k < 0)
                return k;
        for (size_t i = 0; i < v->n_runs; i++)
                check_link(v, &v->runs[i], &v->result.runs[i]);
        v->result.n_runs = v->n_runs;
        v->result.n_entries = v->pos;
        v->result.signatures_unchecked = v->signed_seen && !v->o.key;

        qsort(v->problems, v->n_problems, sizeof *v->problems, cmp_problem);
        v->result.problems = calloc(v->n_problems ?: 1, sizeof *v->result.problems);
        if (!v->result.problems)
                return -ENOMEM;
        for (size_t i = 0; i < v->n_problems; i++)
                v->result.problems[i] = v->problems[i].p; /* strings stay owned by v->problems */
        v->result.n_problems = v->n_problems;
        *ret = &v->result;
        return 0;
}

/* ---- summary ---- */

#define SUMMARY_BUCKETS 4096u

typedef struct Cell {
        struct Cell *next;
        int table; /* 0 rule, 1 path, 2 verdict */
        AuditSummaryRow row;
} Cell;

typedef struct SummaryIndex {
        Cell *b[SUMMARY_BUCKETS];
} SummaryIndex;

int audit_summary_new(unsigned path_depth, AuditSummary **ret) {
        AuditSummary *s = calloc(1, sizeof *s + sizeof(SummaryIndex));

        if (!s)
                return -ENOMEM;
        s->path_depth = path_depth ?: 2;
        *ret = s;
        return 0;
}

static SummaryIndex *index_of(AuditSummary *s) {
        return (SummaryIndex *) (s + 1);
}

static void rows_free(AuditSummaryRow *rows, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(rows[i].workload);
                free(rows[i].key);
                free(rows[i].verdict);
        }
        free(rows);
}

AuditSummary *audit_summary_free(AuditSummary *s) {
        SummaryIndex *ix;

        if (!s)
                return NULL;
        ix = index_of(s);
        for (size_t i = 0; i < SUMMARY_BUCKETS; i++)
                while (ix->b[i]) {
                        Cell *c = ix->b[i];
                        ix->b[i] = c->next;
                        free(c);
                }
        rows_free(s->by_rule, s->n_by_rule);
        rows_free(s->by_path, s->n_by_path);
        rows_free(s->by_verdict, s->n_by_verdict);
        free(s);
        return NULL;
}

char *audit_path_prefix(const char *path, unsigned depth) {
        const char *end = path, *last_slash = strrchr(path, '/');
        unsigned n = 0;

        if (!last_slash || last_slash == path)
                return strdup("/");
        /* The directory part, at most depth components of it. */
        for (const char *p = path + 1; p <= last_slash; p++)
                if (*p == '/' || p == last_slash) {
                        end = p;
                        if (++n >= depth)
                                break;
                }
        return strndup(path, (size_t) (end - path));
}

static int bump(AuditSummary *s, int table, const char *workload, const char *key, const char *verdict,
                uint64_t count) {
        SummaryIndex *ix = index_of(s);
        AuditSummaryRow **rows = table == 0 ? &s->by_rule : table == 1 ? &s->by_path : &s->by_verdict;
        size_t *n = table == 0 ? &s->n_by_rule : table == 1 ? &s->n_by_path : &s->n_by_verdict;
        uint64_t h = 14695981039346656037u ^ (uint64_t) table;
        Cell *c;

        for (const char *parts[3] = { workload, key, verdict }, **p = parts; p < parts + 3; p++) {
                for (const unsigned char *q = (const unsigned char *) *p; *q; q++)
                        h = (h ^ *q) * 1099511628211u;
                h = (h ^ 0xff) * 1099511628211u;
        }
        for (c = ix->b[h % SUMMARY_BUCKETS]; c; c = c->next)
                if (c->table == table && streq(c->row.workload, workload) && streq(c->row.key, key) &&
                    streq(c->row.verdict, verdict)) {
                        /* rows may have moved (realloc): the cell keeps the index in row.count's place */
                        (*rows)[c->row.count].count += count;
                        return 0;
                }
        {
                AuditSummaryRow *nr = realloc(*rows, (*n + 1) * sizeof *nr);
                if (!nr)
                        return -ENOMEM;
                *rows = nr;
        }
        c = malloc(sizeof *c);
        if (!c)
                return -ENOMEM;
        (*rows)[*n] = (AuditSummaryRow){ strdup(workload), strdup(key), strdup(verdict), count };
        if (!(*rows)[*n].workload || !(*rows)[*n].key || !(*rows)[*n].verdict) {
                free(c);
                free((*rows)[*n].workload);
                free((*rows)[*n].key);
                free((*rows)[*n].verdict);
                return -ENOMEM;
        }
        /* The cell's strings point at the row's; its count holds the row's index. */
        c->table = table;
        c->row = (AuditSummaryRow){ (*rows)[*n].workload, (*rows)[*n].key, (*rows)[*n].verdict, *n };
        c->next = ix->b[h % SUMMARY_BUCKETS];
        ix->b[h % SUMMARY_BUCKETS] = c;
        (*n)++;
        return 0;
}

int audit_summary_add(AuditSummary *s, const AuditEntry *e) {
        AuditClass c = audit_class_from_message_id(audit_entry_get(e, "MESSAGE_ID"));
        const char *workload = audit_entry_get(e, "FORGEONE_WORKLOAD") ?: "(unknown)",
                   *verdict = audit_entry_get(e, "FORGEONE_VERDICT"),
                   *rule = audit_entry_get(e, "FORGEONE_RULE"), *path = audit_entry_get(e, "FORGEONE_PATH");
        uint64_t count = 1;
        int r;

        if (c != AUDIT_CLASS_DENIED && c != AUDIT_CLASS_ALLOWED && c != AUDIT_CLASS_EMULATED &&
            c != AUDIT_CLASS_QUARANTINED)
                return 0;
        if (!verdict)
                return 0;
        (void) audit_entry_get_u64(e, "FORGEONE_COUNT", &count);
        r = bump(s, 2, workload, "", verdict, count);
        if (r >= 0)
                r = bump(s, 0, workload, rule ?: "(unknown)", verdict, count);
        if (r < 0)
                return r;
        if (path) {
                _cleanup_free_ char *prefix = audit_path_prefix(path, s->path_depth);
                if (!prefix)
                        return -ENOMEM;
                return bump(s, 1, workload, prefix, verdict, count);
        }
        if (audit_entry_get(e, "FORGEONE_AGGREGATED"))
                s->aggregated_no_path += count;
        return 0;
}

static int cmp_row(const void *a, const void *b) {
        const AuditSummaryRow *x = a, *y = b;
        int c = strcmp(x->workload, y->workload);

        if (c != 0)
                return c;
        if (x->count != y->count)
                return x->count > y->count ? -1 : 1;
        c = strcmp(x->verdict, y->verdict);
        return c ? c : strcmp(x->key, y->key);
}

void audit_summary_sort(AuditSummary *s) {
        SummaryIndex *ix = index_of(s);

        /* The index points into the rows by position: drop it, sorting is the last step. */
        for (size_t i = 0; i < SUMMARY_BUCKETS; i++)
                while (ix->b[i]) {
                        Cell *c = ix->b[i];
                        ix->b[i] = c->next;
                        free(c);
                }
        qsort(s->by_rule, s->n_by_rule, sizeof *s->by_rule, cmp_row);
        qsort(s->by_path, s->n_by_path, sizeof *s->by_path, cmp_row);
        qsort(s->by_verdict, s->n_by_verdict, sizeof *s->by_verdict, cmp_row);
}
