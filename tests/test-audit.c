/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The audit without journald (no_journal: every entry goes to the fallback file, the same fields): the
 * canonical form and chain, what the records say, exact counts through the budget and every allow mode,
 * checkpoints and their signatures, the link across runs, the event sink attached, and verification
 * naming the first deleted, altered, reordered or duplicated record. The live suite does the same against
 * a real journald (test-audit-live.sh). */
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../src/audit/audit-internal.h"
#include "forgeone/audit-journal.h"
#include "forgeone/audit-verify.h"
#include "forgeone/audit.h"
#include "forgeone/event-format.h"
#include "test-util.h"

/* Every test gets a fresh directory (checked fixture, in the test's process) inside one the whole run
 * owns (unchecked fixture, in the runner), which goes away even when a test fails. */
static char top[64], dir[128];

static void run_setup(void) {
        snprintf(top, sizeof top, "/tmp/fo-test-audit-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(top));
}

static void run_teardown(void) {
        char cmd[128];

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
        (void) !system(cmd);
}

static void setup(void) {
        snprintf(dir, sizeof dir, "%s/XXXXXX", top);
        ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
}

static const char *path_in(const char *name) {
        static __thread char buf[2][256];
        static __thread int k;

        k ^= 1;
        snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
        return buf[k];
}

typedef struct Warnings {
        int n;
        char last[1024];
} Warnings;

static void on_warn(const char *text, void *userdata) {
        Warnings *w = userdata;

        w->n++;
        snprintf(w->last, sizeof w->last, "%s", text);
}

static void config(AuditConfig *c, Warnings *w) {
        audit_config_init(c);
        c->state_dir = dir;
        c->no_journal = true;
        c->warn = on_warn;
        c->userdata = w;
}

static EventRecord decision(SupervisorAction a, const char *workload, const char *path, uint64_t t) {
        return (EventRecord) {
                .type = EVENT_DECISION,
                .realtime_usec = t,
                .workload = workload,
                .decision = {
                        .id = 42,
                        .tid = 1234,
                        .pid = 1230,
                        .arch = 0xc000003e, /* AUDIT_ARCH_X86_64 */
                        .nr = 257,
                        .syscall = "openat",
                        .args = { (uint64_t) -100, 0x7ffd0000, 02000101, 0644 },
                        .path = path,
                        .access = 2,
                        .verdict = a == SUPERVISOR_ACTION_DENY ? POLICY_VERDICT_DENY : POLICY_VERDICT_ALLOW,
                        .rule_id = a == SUPERVISOR_ACTION_DENY ? "deny-secrets" : "read-files",
                        .action = a,
                        .error = a == SUPERVISOR_ACTION_DENY ? 13 : 0,
                        .value = a == SUPERVISOR_ACTION_EMULATE ? 3 : 0,
                        .generation = 1,
                        .trust = 95,
                        .identity = "web",
                        .policy_digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111",
                },
        };
}

/* ---- reading back ---- */

typedef struct Entries {
        AuditEntry *e;
        size_t n;
} Entries;

static int take(AuditEntry *e, void *userdata) {
        Entries *l = userdata;

        l->e = realloc(l->e, (l->n + 1) * sizeof *l->e);
        ck_assert_ptr_nonnull(l->e);
        l->e[l->n++] = *e;
        *e = (AuditEntry){};
        return 0;
}

static Entries read_fallback(void) {
        char *inputs[] = { (char *) path_in("fallback.jsonl"), NULL };
        Entries l = {};

        ck_assert_int_eq(audit_read(&(AuditSource){ .inputs = inputs }, NULL, take, &l, NULL), 0);
        return l;
}

static void entries_free(Entries *l) {
        for (size_t i = 0; i < l->n; i++)
                audit_entry_done(&l->e[i]);
        free(l->e);
        *l = (Entries){};
}

static uint64_t sum_counts(const Entries *l, const char *event, const char *workload) {
        uint64_t total = 0;

        for (size_t i = 0; i < l->n; i++) {
                uint64_t c = 0;
                if (!streq_ptr(audit_entry_get(&l->e[i], "FORGEONE_EVENT"), event))
                        continue;
                if (workload && !streq_ptr(audit_entry_get(&l->e[i], "FORGEONE_WORKLOAD"), workload))
                        continue;
                ck_assert_int_eq(audit_entry_get_u64(&l->e[i], "FORGEONE_COUNT", &c), 0);
                total += c;
        }
        return total;
}

static const AuditVerifyResult *verify(const Entries *l, AuditKey *key, AuditVerifier **ret) {
        const AuditVerifyResult *res;

        ck_assert_int_eq(audit_verifier_new(&(AuditVerifyOptions){ .key = key }, ret), 0);
        for (size_t i = 0; i < l->n; i++)
                ck_assert_int_eq(audit_verifier_add(*ret, &l->e[i]), 0);
        ck_assert_int_eq(audit_verifier_finish(*ret, &res), 0);
        return res;
}

static size_t index_of_seq(const Entries *l, uint64_t seq) {
        for (size_t i = 0; i < l->n; i++) {
                uint64_t s;
                if (audit_entry_get_u64(&l->e[i], "FORGEONE_SEQ", &s) == 0 && s == seq)
                        return i;
        }
        ck_abort_msg("no record %" PRIu64, seq);
        return 0;
}

/* ---- the record ---- */

START_TEST(test_canonical_form_and_chain) {
        AuditEntry a = {}, b = {};
        uint8_t da[32], db[32], c1[32], c2[32];
        char hex[65];

        /* Order does not matter, uncovered fields do not count, covered ones do. */
        ck_assert_int_eq(audit_entry_add(&a, "MESSAGE", "hello", SIZE_MAX), 0);
        ck_assert_int_eq(audit_entry_add(&a, "FORGEONE_SEQ", "1", SIZE_MAX), 0);
        ck_assert_int_eq(audit_entry_add(&a, "FORGEONE_RUN", "r", SIZE_MAX), 0);
        ck_assert_int_eq(audit_entry_add(&b, "FORGEONE_RUN", "r", SIZE_MAX), 0);
        ck_assert_int_eq(audit_entry_add(&b, "_PID", "77", SIZE_MAX), 0);
        ck_assert_int_eq(audit_entry_add(&b, "FORGEONE_CHAIN", "00", SIZE_MAX), 0);
        ck_assert_int_eq(audit_entry_add(&b, "FORGEONE_SEQ", "1", SIZE_MAX), 0);
        ck_assert_int_eq(audit_entry_add(&b, "MESSAGE", "hello", SIZE_MAX), 0);
        ck_assert_int_eq(audit_entry_digest(&a, da), 0);
        ck_assert_int_eq(audit_entry_digest(&b, db), 0);
        ck_assert_mem_eq(da, db, 32);
        /* The documented form, computed independently:
         * sha256("FORGEONE_RUN=1:r\nFORGEONE_SEQ=1:1\nMESSAGE=5:hello\n") */
        ck_assert_str_eq(audit_hex(da, 32, hex),
                         "969b8de3ba6a512ab1455afcc8b400f305dcecdd73dfa767f0bd2fe0f5c898fc");
        /* chain(1) = sha256(32 zero bytes || digest) */
        ck_assert_int_eq(audit_chain_next(NULL, &a, c1), 0);
        ck_assert_str_eq(audit_hex(c1, 32, hex),
                         "a8e7808022ac43bf95d8dfb02cd6395b799254b649f930682ff7cb330eec1e28");
        ck_assert_int_eq(audit_chain_next(c1, &a, c2), 0);
        ck_assert_mem_ne(c1, c2, 32);

        ck_assert_int_eq(audit_entry_set(&b, "MESSAGE", "hellp"), 0);
        ck_assert_int_eq(audit_entry_digest(&b, db), 0);
        ck_assert_mem_ne(da, db, 32);
        ck_assert(audit_field_covered("PRIORITY"));
        ck_assert(!audit_field_covered("FORGEONE_CHAIN"));
        ck_assert(!audit_field_covered("_HOSTNAME"));
        ck_assert_int_eq(audit_class_from_message_id(AUDIT_MESSAGE_DENIED), AUDIT_CLASS_DENIED);
        ck_assert_int_eq(audit_class_from_message_id("0123"), _AUDIT_CLASS_INVALID);
        audit_entry_done(&a);
        audit_entry_done(&b);
}
END_TEST

START_TEST(test_decision_fields) {
        EventRecord r = decision(SUPERVISOR_ACTION_DENY, "web-1", "/etc/sh\"ad\now\x1b", 1000);
        AuditEntry e = {};

        ck_assert_int_eq(audit_fields_decision(&e, &r, 0), 0);
        ck_assert_str_eq(audit_entry_get(&e, "MESSAGE_ID"), AUDIT_MESSAGE_DENIED);
        ck_assert_str_eq(audit_entry_get(&e, "PRIORITY"), "5");
        ck_assert_str_eq(audit_entry_get(&e, "FORGEONE_WORKLOAD"), "web-1");
        ck_assert_str_eq(audit_entry_get(&e, "FORGEONE_IDENTITY"), "web");
        ck_assert_str_eq(audit_entry_get(&e, "FORGEONE_SYSCALL"), "openat");
        ck_assert_str_eq(audit_entry_get(&e, "FORGEONE_ARCH"), "x86_64");
        /* Untrusted bytes escaped in every field that holds them, so no value has a newline. */
        ck_assert_str_eq(audit_entry_get(&e, "FORGEONE_PATH"), "/etc/sh\\\"ad\\now\\x1b");
        ck_assert_str_eq(audit_entry_get(&e, "FORGEONE_ARGS"),
                         "AT_FDCWD, \"/etc/sh\\\"ad\\now\\x1b\", O_WRONLY|O_CREAT|O_CLOEXEC, 0644");
        ck_assert_ptr_null(strchr(audit_entry_get(&e, "MESSAGE"), '\n'));
        ck_assert_str_eq(audit_entry_get(&e, "FORGEONE_VERDICT"), "deny");
        ck_assert_str_eq(audit_entry_get(&e, "FORGEONE_ERRNO"), "EACCES");
        ck_assert_str_eq(audit_entry_get(&e, "FORGEONE_RULE"), "deny-secrets");
        ck_assert_str_eq(audit_entry_get(&e, "FORGEONE_TRUST"), "95");
        ck_assert_str_eq(audit_entry_get(&e, "FORGEONE_POLICY_GENERATION"), "1");
        ck_assert_str_eq(audit_entry_get(&e, "FORGEONE_TARGET_PID"), "1230");
        ck_assert_str_eq(audit_entry_get(&e, "FORGEONE_COUNT"), "1");
        audit_entry_done(&e);
}
END_TEST

START_TEST(test_format_helpers) {
        PolicySockaddr in = { .family = AF_INET, .addr = { 10, 0, 0, 1 }, .port = 443, .protocol = 6 };
        char buf[256];
        uint64_t t;

        ck_assert_str_eq(event_format_addr(&in, buf, sizeof buf), "10.0.0.1:443/tcp");
        ck_assert_int_eq(audit_parse_time("2026-05-20 10:00:00", &t), 0);
        ck_assert_uint_eq(t, 1779271200000000u);
        ck_assert_int_eq(audit_parse_time("2026-05-20T10:00:00.5Z", &t), 0);
        ck_assert_uint_eq(t, 1779271200500000u);
        ck_assert_int_eq(audit_parse_time("@1779271200", &t), 0);
        ck_assert_uint_eq(t, 1779271200000000u);
        ck_assert_int_eq(audit_parse_time("-1h", &t), 0);
        ck_assert_int_eq(audit_parse_time("yesterday-ish", &t), -EINVAL);
        ck_assert_str_eq(audit_format_time(1779271200500000u, buf), "2026-05-20T10:00:00.500000Z");
        {
                _cleanup_free_ char *p1 = audit_path_prefix("/usr/lib/x86_64-linux-gnu/libc.so.6", 2),
                                    *p2 = audit_path_prefix("/etc/shadow", 2),
                                    *p3 = audit_path_prefix("/x", 2);
                ck_assert_str_eq(p1, "/usr/lib");
                ck_assert_str_eq(p2, "/etc");
                ck_assert_str_eq(p3, "/");
        }
}
END_TEST

/* ---- the consumer ---- */

START_TEST(test_budget_keeps_counts_exact) {
        Audit *a = NULL;
        AuditConfig c;
        Warnings w = {};
        Entries l;
        AuditVerifier *v = NULL;
        const AuditVerifyResult *res;

        config(&c, &w);
        c.rate_burst = 50;
        ck_assert_int_eq(audit_new(&c, &a, NULL), 0);
        ck_assert_int_eq(w.n, 0); /* no_journal: nothing to warn about */
        for (int i = 0; i < 3000; i++) {
                EventRecord r = decision(SUPERVISOR_ACTION_DENY, i % 3 ? "a" : "b", "/etc/shadow", 1000 + i);
                audit_consume(&r, a);
        }
        a = audit_free(a);

        l = read_fallback();
        /* 50 entries of their own, the rest counted, per workload exactly. */
        ck_assert_uint_eq(sum_counts(&l, "denied", "a"), 2000);
        ck_assert_uint_eq(sum_counts(&l, "denied", "b"), 1000);
        {
                size_t own = 0, agg = 0;
                for (size_t i = 0; i < l.n; i++)
                        if (streq_ptr(audit_entry_get(&l.e[i], "FORGEONE_EVENT"), "denied")) {
                                if (audit_entry_get(&l.e[i], "FORGEONE_AGGREGATED")) {
                                        ck_assert_str_eq(audit_entry_get(&l.e[i], "FORGEONE_AGGREGATED"),
                                                         "rate-limit");
                                        ck_assert_ptr_nonnull(
                                                audit_entry_get(&l.e[i], "FORGEONE_POLICY_DIGEST"));
                                        agg++;
                                } else
                                        own++;
                        }
                ck_assert_uint_eq(own, 50);
                ck_assert_uint_eq(agg, 2);
        }
        res = verify(&l, NULL, &v);
        ck_assert_uint_eq(res->n_problems, 0);
        ck_assert_uint_eq(res->n_runs, 1);
        ck_assert(res->runs[0].started && res->runs[0].stopped && res->runs[0].final_checkpoint);
        audit_verifier_free(v);
        entries_free(&l);
}
END_TEST

static void allow_mode(AuditAllowMode mode, size_t want_own, const char *why) {
        Audit *a = NULL;
        AuditConfig c;
        Warnings w = {};
        Entries l;
        size_t own = 0;

        config(&c, &w);
        c.allow = mode;
        c.sample_every = 10;
        c.rate_burst = 0; /* the allow setting alone */
        ck_assert_int_eq(audit_new(&c, &a, NULL), 0);
        for (int i = 0; i < 1000; i++) {
                EventRecord r = decision(SUPERVISOR_ACTION_CONTINUE, "a", NULL, 1000 + i);
                audit_consume(&r, a);
        }
        a = audit_free(a);
        l = read_fallback();
        ck_assert_uint_eq(sum_counts(&l, "allowed", "a"), 1000);
        for (size_t i = 0; i < l.n; i++)
                if (streq_ptr(audit_entry_get(&l.e[i], "FORGEONE_EVENT"), "allowed")) {
                        const char *agg = audit_entry_get(&l.e[i], "FORGEONE_AGGREGATED");
                        if (!agg)
                                own++;
                        else
                                ck_assert_str_eq(agg, why);
                }
        ck_assert_uint_eq(own, want_own);
        entries_free(&l);
}

START_TEST(test_allow_modes) {
        allow_mode(AUDIT_ALLOW_ALL, 1000, "");
        teardown();
        setup();
        allow_mode(AUDIT_ALLOW_SAMPLED, 100, "sampled");
        teardown();
        setup();
        allow_mode(AUDIT_ALLOW_AGGREGATED, 0, "allow-policy");
        ck_assert_int_eq(audit_allow_mode_from_string("sampled"), AUDIT_ALLOW_SAMPLED);
}
END_TEST

static void make_key(void) {
        EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        FILE *f;

        ck_assert_ptr_nonnull(k);
        f = fopen(path_in("audit.key"), "we");
        ck_assert(f && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1);
        fclose(f);
        f = fopen(path_in("audit.pub"), "we");
        ck_assert(f && PEM_write_PUBKEY(f, k) == 1);
        fclose(f);
        EVP_PKEY_free(k);
}

START_TEST(test_signed_checkpoints_and_tampering) {
        _cleanup_(audit_key_freep) AuditKey *pub = NULL;
        Audit *a = NULL;
        AuditConfig c;
        Warnings w = {};
        Entries l;
        AuditVerifier *v = NULL;
        const AuditVerifyResult *res;
        size_t i;
        uint64_t deny_seq;

        make_key();
        config(&c, &w);
        c.key_path = path_in("audit.key");
        c.checkpoint_every = 10;
        c.allow = AUDIT_ALLOW_ALL;
        ck_assert_int_eq(audit_new(&c, &a, NULL), 0);
        for (int k = 0; k < 40; k++) {
                EventRecord r = decision(k == 20 ? SUPERVISOR_ACTION_DENY : SUPERVISOR_ACTION_EMULATE, "a",
                                         k == 20 ? "/etc/shadow" : "/etc/hosts", 1000 + k);
                audit_consume(&r, a);
        }
        a = audit_free(a);
        ck_assert_int_eq(audit_key_load(path_in("audit.pub"), false, &pub), 0);

        l = read_fallback();
        res = verify(&l, pub, &v);
        ck_assert_uint_eq(res->n_problems, 0);
        ck_assert_uint_ge(res->runs[0].checkpoints, 4);
        ck_assert_uint_eq(res->runs[0].signed_verified, res->runs[0].checkpoints);
        v = audit_verifier_free(v);

        for (i = 0; i < l.n && !streq_ptr(audit_entry_get(&l.e[i], "FORGEONE_EVENT"), "denied"); i++)
                ;
        ck_assert_uint_lt(i, l.n);
        ck_assert_int_eq(audit_entry_get_u64(&l.e[i], "FORGEONE_SEQ", &deny_seq), 0);

        /* Altered: named as such. */
        ck_assert_int_eq(audit_entry_set(&l.e[i], "FORGEONE_PATH", "/etc/hosts"), 0);
        res = verify(&l, pub, &v);
        ck_assert_uint_ge(res->n_problems, 1);
        ck_assert_int_eq(res->problems[0].kind, AUDIT_PROBLEM_ALTERED);
        ck_assert_uint_eq(res->problems[0].seq, deny_seq);
        v = audit_verifier_free(v);

        /* Altered and every chain value after it recomputed, as someone without the key could: only the
         * signed checkpoint after it tells. */
        {
                uint8_t prev[32], cur[32];
                char hex[65];
                ck_assert_int_eq(
                        audit_unhex(audit_entry_get(&l.e[index_of_seq(&l, deny_seq - 1)], "FORGEONE_CHAIN"),
                                    prev, 32),
                        0);
                for (uint64_t s = deny_seq;; s++) {
                        size_t k = index_of_seq(&l, s);
                        bool is_cp = streq_ptr(audit_entry_get(&l.e[k], "FORGEONE_EVENT"), "checkpoint");
                        ck_assert_int_eq(audit_chain_next(prev, &l.e[k], cur), 0);
                        ck_assert_int_eq(audit_entry_set(&l.e[k], "FORGEONE_CHAIN", audit_hex(cur, 32, hex)),
                                         0);
                        memcpy(prev, cur, 32);
                        if (is_cp)
                                break;
                }
                res = verify(&l, pub, &v);
                ck_assert_uint_ge(res->n_problems, 1);
                ck_assert_int_eq(res->problems[0].kind, AUDIT_PROBLEM_CHECKPOINT);
                v = audit_verifier_free(v);
        }
        entries_free(&l);

        /* Deleted, reordered, duplicated: each names the record. */
        l = read_fallback();
        {
                AuditEntry gone = l.e[5];
                uint64_t s;
                ck_assert_int_eq(audit_entry_get_u64(&gone, "FORGEONE_SEQ", &s), 0);
                memmove(l.e + 5, l.e + 6, (l.n - 6) * sizeof *l.e);
                l.n--;
                res = verify(&l, pub, &v);
                ck_assert_int_eq(res->problems[0].kind, AUDIT_PROBLEM_MISSING);
                ck_assert_uint_eq(res->problems[0].seq, s);
                v = audit_verifier_free(v);
                memmove(l.e + 6, l.e + 5, (l.n - 5) * sizeof *l.e);
                l.e[5] = gone;
                l.n++;
        }
        {
                AuditEntry t = l.e[7];
                uint64_t s;
                l.e[7] = l.e[8];
                l.e[8] = t;
                ck_assert_int_eq(audit_entry_get_u64(&t, "FORGEONE_SEQ", &s), 0);
                res = verify(&l, pub, &v);
                ck_assert_int_eq(res->problems[0].kind, AUDIT_PROBLEM_REORDERED);
                ck_assert_uint_eq(res->problems[0].seq, s);
                ck_assert_uint_eq(res->n_problems, 1);
                v = audit_verifier_free(v);
                l.e[8] = l.e[7];
                l.e[7] = t;
        }
        {
                Entries d = { .e = malloc((l.n + 1) * sizeof *l.e), .n = l.n + 1 };
                memcpy(d.e, l.e, 10 * sizeof *l.e);
                d.e[10] = l.e[3];
                memcpy(d.e + 11, l.e + 10, (l.n - 10) * sizeof *l.e);
                res = verify(&d, pub, &v);
                ck_assert_int_eq(res->problems[0].kind, AUDIT_PROBLEM_DUPLICATE);
                v = audit_verifier_free(v);
                free(d.e);
        }
        /* A forged signature. */
        {
                size_t k = l.n - 1;
                ck_assert_str_eq(audit_entry_get(&l.e[k], "FORGEONE_EVENT"), "checkpoint");
                ck_assert_int_eq(audit_entry_set(&l.e[k], "FORGEONE_CHECKPOINT_TIME", "1"), 0);
                res = verify(&l, pub, &v);
                ck_assert_uint_ge(res->n_problems, 1);
                {
                        bool sig = false;
                        for (size_t p = 0; p < res->n_problems; p++)
                                sig = sig || res->problems[p].kind == AUDIT_PROBLEM_SIGNATURE;
                        ck_assert(sig);
                }
                v = audit_verifier_free(v);
        }
        entries_free(&l);
}
END_TEST

START_TEST(test_runs_link_up) {
        Audit *a = NULL;
        AuditConfig c;
        Warnings w = {};
        Entries l;
        AuditVerifier *v = NULL;
        const AuditVerifyResult *res;
        char run1[33];

        config(&c, &w);
        ck_assert_int_eq(audit_new(&c, &a, NULL), 0);
        snprintf(run1, sizeof run1, "%s", audit_get_run(a));
        a = audit_free(a);
        ck_assert_int_eq(audit_new(&c, &a, NULL), 0);
        ck_assert_str_ne(audit_get_run(a), run1);
        a = audit_free(a);

        l = read_fallback();
        res = verify(&l, NULL, &v);
        ck_assert_uint_eq(res->n_problems, 0);
        ck_assert_uint_eq(res->n_runs, 2);
        ck_assert_int_eq(res->runs[0].link, AUDIT_LINK_NONE);
        ck_assert_int_eq(res->runs[1].link, AUDIT_LINK_OK);
        ck_assert_str_eq(res->runs[1].prev_run, run1);
        v = audit_verifier_free(v);

        /* The first run's last record rewritten after the second started: the link breaks. */
        {
                size_t k = 0;
                for (size_t i = 0; i < l.n; i++)
                        if (streq_ptr(audit_entry_get(&l.e[i], "FORGEONE_RUN"), run1))
                                k = i;
                ck_assert_int_eq(
                        audit_entry_set(&l.e[k], "FORGEONE_CHAIN",
                                        "0000000000000000000000000000000000000000000000000000000000000000"),
                        0);
                res = verify(&l, NULL, &v);
                ck_assert_int_eq(res->runs[1].link, AUDIT_LINK_BROKEN);
                v = audit_verifier_free(v);
        }
        entries_free(&l);
}
END_TEST

/* ---- attached to an event sink ---- */

typedef struct Poster {
        EventSink *sink;
        SupervisorAction action;
        int n;
} Poster;

static void *poster(void *arg) {
        Poster *p = arg;

        for (int i = 0; i < p->n; i++) {
                EventRecord r = decision(p->action, "w", "/etc/shadow", 0);
                event_sink_post_decision(p->sink, "w", &r.decision);
        }
        return NULL;
}

START_TEST(test_attached_to_sink) {
        EventSink *sink = NULL;
        Audit *a = NULL;
        AuditConfig c;
        Warnings w = {};
        pthread_t t[3];
        Poster p[3];
        Entries l;
        bool done = false, joined[3] = {};

        config(&c, &w);
        ck_assert_int_eq(event_sink_new(500, &sink), 0); /* small: the queue overflows */
        ck_assert_int_eq(audit_new(&c, &a, NULL), 0);
        ck_assert_int_eq(audit_attach(a, sink), 0);
        ck_assert_int_eq(event_sink_get_mode(sink, SUPERVISOR_ACTION_CONTINUE), EVENT_SINK_AGGREGATE);
        ck_assert_int_eq(event_sink_get_mode(sink, SUPERVISOR_ACTION_EMULATE), EVENT_SINK_RECORD);
        p[0] = (Poster){ sink, SUPERVISOR_ACTION_DENY, 20000 };
        p[1] = (Poster){ sink, SUPERVISOR_ACTION_CONTINUE, 30000 };
        p[2] = (Poster){ sink, SUPERVISOR_ACTION_EMULATE, 10000 };
        /* Notices are not aggregated: this one goes in before the storm fills the queue. */
        event_sink_post_notice(sink, "w",
                               &(EventNotice){ .kind = EVENT_NOTICE_POLICY_LOADED,
                                               .policy_digest = "sha256:22",
                                               .identity = "web",
                                               .generation = 1,
                                               .policy = "/p.json" },
                               "policy");
        for (int i = 0; i < 3; i++)
                ck_assert_int_eq(pthread_create(&t[i], NULL, poster, &p[i]), 0);
        while (!done) {
                done = true;
                (void) event_sink_drain(sink, NULL, NULL);
                for (int i = 0; i < 3; i++) {
                        if (!joined[i])
                                joined[i] = pthread_tryjoin_np(t[i], NULL) == 0;
                        done = done && joined[i];
                }
                if (!done)
                        usleep(1000);
        }
        (void) event_sink_drain(sink, NULL, NULL);
        {
                /* Beyond the budget the posters counted denials and emulations themselves: of 30,000 the queue
                 * saw about the budget (500, and what the ticks add), so it could drop no more than that. */
                EventSinkCounts cnt;
                event_sink_get_counts(sink, &cnt);
                ck_assert_uint_lt(cnt.dropped[SUPERVISOR_ACTION_EMULATE] + cnt.dropped[SUPERVISOR_ACTION_DENY], 1000);
        }
        a = audit_free(a);
        event_sink_free(sink);

        l = read_fallback();
        ck_assert_uint_eq(sum_counts(&l, "denied", "w"), 20000);
        ck_assert_uint_eq(sum_counts(&l, "allowed", "w"), 30000);
        ck_assert_uint_eq(sum_counts(&l, "emulated", "w"), 10000);
        {
                bool loaded = false;
                for (size_t i = 0; i < l.n; i++)
                        if (streq_ptr(audit_entry_get(&l.e[i], "FORGEONE_EVENT"), "policy-loaded"))
                                loaded = streq_ptr(audit_entry_get(&l.e[i], "FORGEONE_POLICY_DIGEST"),
                                                   "sha256:22");
                ck_assert(loaded);
                {
                        size_t limited = 0;
                        for (size_t i = 0; i < l.n; i++)
                                limited += streq_ptr(audit_entry_get(&l.e[i], "FORGEONE_AGGREGATED"), "rate-limit");
                        ck_assert_uint_ge(limited, 2);
                }
                /* The stop record's totals are the sink's exact counts. */
                ck_assert_str_eq(audit_entry_get(&l.e[l.n - 2], "FORGEONE_TOTAL_DENY"), "20000");
        }
        entries_free(&l);
}
END_TEST

START_TEST(test_fallback_unwritable_warns_once) {
        Audit *a = NULL;
        AuditConfig c;
        Warnings w = {};
        AuditStats st;

        config(&c, &w);
        c.fallback_path = "/proc/forgeone-no-such-dir/fallback.jsonl";
        ck_assert_int_eq(audit_new(&c, &a, NULL), -ENOENT);
        ck_assert_int_eq(w.n, 1);
        ck_assert_ptr_nonnull(strstr(w.last, "Cannot write audit record 1"));
        ck_assert_ptr_null(a);

        w.n = 0;
        c.fallback_path = NULL;
        c.key_path = path_in("missing.key");
        ck_assert_int_eq(audit_new(&c, &a, NULL), -ENOENT); /* a key named explicitly must load */
        c.key_path = NULL;
        ck_assert_int_eq(audit_new(&c, &a, NULL), 0);
        audit_get_stats(a, &st);
        ck_assert_uint_eq(st.entries, 1);
        ck_assert_uint_eq(st.fallback, 1);
        audit_free(a);
}
END_TEST

int main(void) {
        Suite *s = suite_create("audit");
        TCase *tc = tcase_create("audit");

        tcase_add_unchecked_fixture(tc, run_setup, run_teardown);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_canonical_form_and_chain);
        tcase_add_test(tc, test_decision_fields);
        tcase_add_test(tc, test_format_helpers);
        tcase_add_test(tc, test_budget_keeps_counts_exact);
        tcase_add_test(tc, test_allow_modes);
        tcase_add_test(tc, test_signed_checkpoints_and_tampering);
        tcase_add_test(tc, test_runs_link_up);
        tcase_add_test(tc, test_attached_to_sink);
        tcase_add_test(tc, test_fallback_unwritable_warns_once);
        suite_add_tcase(s, tc);
        return fo_test_run(s);
}
