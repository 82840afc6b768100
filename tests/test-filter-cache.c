/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The compiled-filter cache: a hit is byte-identical to a fresh compile; a key changes with whatever the
 * compiler reads; damaged, foreign or unsafe entries are never used and the caller still gets a filter. */

#include <fcntl.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "forgeone/filter-cache.h"
#include "forgeone/policy-graph.h"
#include "forgeone/sha256.h"
#include "policy-engine-test-util.h"
#include "test-util.h"

static char dir[] = "/tmp/test-filter-cache-XXXXXX";

static void setup(void) {
        ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
        char cmd[128];

        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        (void) system(cmd);
}

static Policy *load(const char *rel) {
        PolicyDiagnostics d = {};
        Policy *p = NULL;
        int r = policy_load_file(fo_test_source_path(rel), &p, &d, NULL);

        ck_assert_msg(r >= 0, "%s: %s", rel, d.n_errors ? d.errors[0].message : strerror(-r));
        policy_diagnostics_done(&d);
        return p;
}

static void assert_same_filter(const PolicyFilter *a, const PolicyFilter *b) {
        ck_assert_uint_eq(a->n_insns, b->n_insns);
        ck_assert(memcmp(a->insns, b->insns, a->n_insns * sizeof(struct sock_filter)) == 0);
        ck_assert_int_eq(a->default_action, b->default_action);
        ck_assert_int_eq(a->default_errno, b->default_errno);
        ck_assert_uint_eq(a->n_arches, b->n_arches);
        ck_assert(memcmp(a->arches, b->arches, a->n_arches * sizeof(uint32_t)) == 0);
        ck_assert_uint_eq(a->n_syscalls, b->n_syscalls);
        for (size_t i = 0; i < a->n_syscalls; i++) {
                const PolicyCompiledSyscall *x = &a->syscalls[i], *y = &b->syscalls[i];

                ck_assert_str_eq(x->name, y->name);
                ck_assert_int_eq(x->nr, y->nr);
                ck_assert_int_eq(x->action, y->action);
                ck_assert_int_eq(x->errno_value, y->errno_value);
                ck_assert_int_eq(x->conditional, y->conditional);
                ck_assert_str_eq(x->rule_id, y->rule_id);
                ck_assert(streq_ptr(x->why, y->why));
        }
}

static void entry_path(const uint8_t key[static FILTER_CACHE_KEY_SIZE], char *buf, size_t size) {
        int n = snprintf(buf, size, "%s/", dir);

        for (size_t i = 0; i < FILTER_CACHE_KEY_SIZE; i++)
                n += snprintf(buf + n, size - (size_t) n, "%02x", key[i]);
}

static void check_round_trip(const char *rel, int identity) {
        _cleanup_(policy_freep) Policy *p = load(rel);
        _cleanup_(policy_filter_freep) PolicyFilter *fresh = NULL, *cached = NULL, *via = NULL;
        uint8_t key[FILTER_CACHE_KEY_SIZE];

        ck_assert_int_ge(policy_compile(p, identity, &fresh), 0);
        ck_assert_int_ge(filter_cache_key(p, identity, key), 0);
        ck_assert_int_eq(filter_cache_load(dir, key, &cached), -ENOENT);
        ck_assert_int_ge(filter_cache_store(dir, key, fresh), 0);
        ck_assert_int_ge(filter_cache_load(dir, key, &cached), 0);
        assert_same_filter(fresh, cached);
        ck_assert_int_ge(filter_cache_compile(dir, p, identity, &via), 0);
        assert_same_filter(fresh, via);
}

START_TEST(test_hit_is_identical) {
        check_round_trip("policies/default.json", POLICY_IDENTITY_ANY);
        check_round_trip("policies/default.json", POLICY_COMPILE_ALL_IDENTITIES);
}
END_TEST

START_TEST(test_compile_stores_then_hits) {
        _cleanup_(policy_freep) Policy *p = load("policies/default.json");
        _cleanup_(policy_filter_freep) PolicyFilter *a = NULL, *b = NULL, *fresh = NULL;
        uint8_t key[FILTER_CACHE_KEY_SIZE];
        char path[512];
        struct stat st1, st2;

        ck_assert_int_ge(filter_cache_key(p, POLICY_IDENTITY_ANY, key), 0);
        entry_path(key, path, sizeof path);
        ck_assert_int_ge(filter_cache_compile(dir, p, POLICY_IDENTITY_ANY, &a), 0);
        ck_assert_int_eq(stat(path, &st1), 0);
        ck_assert_uint_eq(st1.st_mode & 0777, 0600);
        /* The second call reads the entry: it is not written again. */
        ck_assert_int_ge(filter_cache_compile(dir, p, POLICY_IDENTITY_ANY, &b), 0);
        ck_assert_int_eq(stat(path, &st2), 0);
        ck_assert_uint_eq(st1.st_ino, st2.st_ino);
        ck_assert_int_ge(policy_compile(p, POLICY_IDENTITY_ANY, &fresh), 0);
        assert_same_filter(fresh, a);
        assert_same_filter(fresh, b);
}
END_TEST

START_TEST(test_key_follows_the_policy) {
        _cleanup_(policy_freep) Policy *p = load("policies/default.json");
        _cleanup_(policy_freep) Policy *q = load("policies/default.json");
        uint8_t k1[FILTER_CACHE_KEY_SIZE], k2[FILTER_CACHE_KEY_SIZE], k3[FILTER_CACHE_KEY_SIZE];
        char *saved;

        ck_assert_int_ge(filter_cache_key(p, POLICY_IDENTITY_ANY, k1), 0);
        ck_assert_int_ge(filter_cache_key(q, POLICY_IDENTITY_ANY, k2), 0);
        ck_assert(memcmp(k1, k2, sizeof k1) == 0);
        ck_assert_int_ge(filter_cache_key(p, POLICY_COMPILE_ALL_IDENTITIES, k3), 0);
        ck_assert(memcmp(k1, k3, sizeof k1) != 0);

        ck_assert_uint_gt(q->n_rules, 0);
        q->rules[0].errno_value++;
        ck_assert_int_ge(filter_cache_key(q, POLICY_IDENTITY_ANY, k2), 0);
        ck_assert(memcmp(k1, k2, sizeof k1) != 0);
        q->rules[0].errno_value--;

        ck_assert_ptr_nonnull(q->rules[0].syscalls);
        ck_assert_ptr_nonnull(q->rules[0].syscalls[0]);
        saved = q->rules[0].syscalls[0];
        q->rules[0].syscalls[0] = (char *) "getpid";
        ck_assert_int_ge(filter_cache_key(q, POLICY_IDENTITY_ANY, k2), 0);
        q->rules[0].syscalls[0] = saved;
        ck_assert(memcmp(k1, k2, sizeof k1) != 0 || streq(saved, "getpid"));

        q->default_errno++;
        ck_assert_int_ge(filter_cache_key(q, POLICY_IDENTITY_ANY, k2), 0);
        ck_assert(memcmp(k1, k2, sizeof k1) != 0);
}
END_TEST

static void write_file(const char *path, const void *data, size_t n) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, data, n), (ssize_t) n);
        close(fd);
}

static size_t read_file(const char *path, uint8_t *buf, size_t size) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        ck_assert_int_ge(fd, 0);
        n = read(fd, buf, size);
        ck_assert_int_gt(n, 0);
        ck_assert_uint_lt((size_t) n, size);
        close(fd);
        return (size_t) n;
}

START_TEST(test_damaged_entry_is_ignored) {
        _cleanup_(policy_freep) Policy *p = load("policies/default.json");
        _cleanup_(policy_filter_freep) PolicyFilter *fresh = NULL, *got = NULL, *again = NULL;
        static uint8_t buf[1 << 20];
        uint8_t key[FILTER_CACHE_KEY_SIZE];
        char path[512];
        size_t n;

        ck_assert_int_ge(policy_compile(p, POLICY_IDENTITY_ANY, &fresh), 0);
        ck_assert_int_ge(filter_cache_key(p, POLICY_IDENTITY_ANY, key), 0);
        ck_assert_int_ge(filter_cache_store(dir, key, fresh), 0);
        entry_path(key, path, sizeof path);
        n = read_file(path, buf, sizeof buf);

        /* One flipped bit anywhere: in the program, in a name, in the checksum itself. */
        for (size_t at = 0; at < n; at += n / 7 + 1) {
                buf[at] ^= 0x10;
                write_file(path, buf, n);
                ck_assert_int_eq(filter_cache_load(dir, key, &got), -EBADMSG);
                buf[at] ^= 0x10;
        }
        /* Cut short. */
        write_file(path, buf, n - 5);
        ck_assert_int_eq(filter_cache_load(dir, key, &got), -EBADMSG);
        write_file(path, buf, 3);
        ck_assert_int_eq(filter_cache_load(dir, key, &got), -EBADMSG);

        /* filter_cache_compile() compiles instead, and repairs the entry. */
        buf[n / 2] ^= 1;
        write_file(path, buf, n);
        ck_assert_int_ge(filter_cache_compile(dir, p, POLICY_IDENTITY_ANY, &got), 0);
        assert_same_filter(fresh, got);
        ck_assert_int_ge(filter_cache_load(dir, key, &again), 0);
        assert_same_filter(fresh, again);
}
END_TEST

START_TEST(test_foreign_entry_is_ignored) {
        _cleanup_(policy_freep) Policy *p = load("policies/default.json");
        _cleanup_(policy_filter_freep) PolicyFilter *any = NULL, *all = NULL, *got = NULL;
        uint8_t k_any[FILTER_CACHE_KEY_SIZE], k_all[FILTER_CACHE_KEY_SIZE];
        static uint8_t buf[1 << 20];
        char p_any[512], p_all[512];
        size_t n;

        ck_assert_int_ge(policy_compile(p, POLICY_IDENTITY_ANY, &any), 0);
        ck_assert_int_ge(policy_compile(p, POLICY_COMPILE_ALL_IDENTITIES, &all), 0);
        ck_assert_int_ge(filter_cache_key(p, POLICY_IDENTITY_ANY, k_any), 0);
        ck_assert_int_ge(filter_cache_key(p, POLICY_COMPILE_ALL_IDENTITIES, k_all), 0);
        ck_assert_int_ge(filter_cache_store(dir, k_all, all), 0);
        entry_path(k_any, p_any, sizeof p_any);
        entry_path(k_all, p_all, sizeof p_all);

        /* A valid entry under another key's name (copied, renamed by mistake) is not this key's. */
        n = read_file(p_all, buf, sizeof buf);
        write_file(p_any, buf, n);
        ck_assert_int_eq(filter_cache_load(dir, k_any, &got), -EBADMSG);
        ck_assert_int_ge(filter_cache_compile(dir, p, POLICY_IDENTITY_ANY, &got), 0);
        assert_same_filter(any, got);
}
END_TEST

START_TEST(test_unsafe_directory_is_not_used) {
        _cleanup_(policy_freep) Policy *p = load("policies/default.json");
        _cleanup_(policy_filter_freep) PolicyFilter *fresh = NULL, *got = NULL;
        uint8_t key[FILTER_CACHE_KEY_SIZE];
        char path[512], link[600];

        ck_assert_int_ge(policy_compile(p, POLICY_IDENTITY_ANY, &fresh), 0);
        ck_assert_int_ge(filter_cache_key(p, POLICY_IDENTITY_ANY, key), 0);
        ck_assert_int_ge(filter_cache_store(dir, key, fresh), 0);

        /* Others may write the directory: neither read nor written, but the compile still works. */
        ck_assert_int_eq(chmod(dir, 0770), 0);
        ck_assert_int_eq(filter_cache_load(dir, key, &got), -EPERM);
        ck_assert_int_eq(filter_cache_store(dir, key, fresh), -EPERM);
        ck_assert_int_ge(filter_cache_compile(dir, p, POLICY_IDENTITY_ANY, &got), 0);
        assert_same_filter(fresh, got);
        got = policy_filter_free(got);
        ck_assert_int_eq(chmod(dir, 0700), 0);

        /* An entry others may write. */
        entry_path(key, path, sizeof path);
        ck_assert_int_eq(chmod(path, 0622), 0);
        ck_assert_int_eq(filter_cache_load(dir, key, &got), -EPERM);
        ck_assert_int_eq(chmod(path, 0600), 0);
        ck_assert_int_ge(filter_cache_load(dir, key, &got), 0);
        got = policy_filter_free(got);

        /* The directory given through a symlink is not followed. */
        snprintf(link, sizeof link, "%s/link", dir);
        ck_assert_int_eq(symlink(dir, link), 0);
        ck_assert_int_lt(filter_cache_load(link, key, &got), 0);
        ck_assert_ptr_null(got);
}
END_TEST

/* ---- forgery: what a workload that can write the cache could try ---- */

static void secret_path(char *buf, size_t size) {
        snprintf(buf, size, "%s/%s", dir, FILTER_CACHE_SECRET_NAME);
}

/* Replaces the last 32 bytes (the tag) by an HMAC-SHA256 of the rest under secret, computed by OpenSSL
 * (an independent implementation), or by a plain SHA-256 when secret is NULL. */
static void retag(uint8_t *buf, size_t n, const uint8_t *secret) {
        unsigned len = 0;

        if (secret)
                ck_assert_ptr_nonnull(HMAC(EVP_sha256(), secret, 32, buf, n - 32, buf + n - 32, &len));
        else
                ck_assert_int_eq(EVP_Digest(buf, n - 32, buf + n - 32, &len, EVP_sha256(), NULL), 1);
        ck_assert_uint_eq(len, 32);
}

/* The instruction that returns the default action: what a forger would turn into ALLOW. */
static size_t last_ret_k(const uint8_t *buf, size_t n, uint32_t want) {
        for (size_t at = n - 36; at >= 8; at--) {
                uint32_t k;

                memcpy(&k, buf + at, 4);
                if (k == want)
                        return at;
        }
        ck_abort_msg("no instruction returns %#x", want);
        return 0;
}

START_TEST(test_forged_entry_is_ignored) {
        _cleanup_(policy_freep) Policy *p = load("policies/default.json");
        _cleanup_(policy_filter_freep) PolicyFilter *fresh = NULL, *got = NULL;
        static uint8_t buf[1 << 20];
        uint8_t key[FILTER_CACHE_KEY_SIZE], secret[33], wrong[32];
        char path[512], spath[512];
        uint32_t allow = SECCOMP_RET_ALLOW;
        size_t n, at;

        ck_assert_int_ge(policy_compile(p, POLICY_IDENTITY_ANY, &fresh), 0);
        ck_assert_int_ge(filter_cache_key(p, POLICY_IDENTITY_ANY, key), 0);
        ck_assert_int_ge(filter_cache_store(dir, key, fresh), 0);
        entry_path(key, path, sizeof path);
        secret_path(spath, sizeof spath);
        ck_assert_uint_eq(read_file(spath, secret, sizeof secret), 32);
        n = read_file(path, buf, sizeof buf);

        /* The entry's tag is an HMAC-SHA256 under the host's key. */
        memcpy(wrong, buf + n - 32, 32);
        retag(buf, n, secret);
        ck_assert(memcmp(wrong, buf + n - 32, 32) == 0);

        /* Every default "EPERM" return turned into ALLOW: a filter that allows everything. */
        at = last_ret_k(buf, n, SECCOMP_RET_ERRNO | EPERM);
        memcpy(buf + at, &allow, 4);

        /* ... with the checksum recomputed as it was before keys (unkeyed SHA-256) */
        retag(buf, n, NULL);
        write_file(path, buf, n);
        ck_assert_int_eq(filter_cache_load(dir, key, &got), -EBADMSG);
        /* ... with an HMAC under a key of the forger's own */
        memset(wrong, 0x42, sizeof wrong);
        retag(buf, n, wrong);
        write_file(path, buf, n);
        ck_assert_int_eq(filter_cache_load(dir, key, &got), -EBADMSG);
        /* ... the same under the host's key does load: the key is the only thing standing in the way. */
        retag(buf, n, secret);
        write_file(path, buf, n);
        ck_assert_int_ge(filter_cache_load(dir, key, &got), 0);
        got = policy_filter_free(got);

        /* A forged entry is a miss for filter_cache_compile(), which replaces it with the real one. */
        retag(buf, n, wrong);
        write_file(path, buf, n);
        ck_assert_int_ge(filter_cache_compile(dir, p, POLICY_IDENTITY_ANY, &got), 0);
        assert_same_filter(fresh, got);
        got = policy_filter_free(got);
        ck_assert_int_ge(filter_cache_load(dir, key, &got), 0);
        assert_same_filter(fresh, got);
}
END_TEST

START_TEST(test_entry_replaced_by_symlink) {
        _cleanup_(policy_freep) Policy *p = load("policies/default.json");
        _cleanup_(policy_filter_freep) PolicyFilter *fresh = NULL, *got = NULL;
        uint8_t key[FILTER_CACHE_KEY_SIZE], other[FILTER_CACHE_KEY_SIZE];
        char path[512], target[512];
        struct stat st;

        ck_assert_int_ge(policy_compile(p, POLICY_IDENTITY_ANY, &fresh), 0);
        ck_assert_int_ge(filter_cache_key(p, POLICY_IDENTITY_ANY, key), 0);
        ck_assert_int_ge(filter_cache_key(p, POLICY_COMPILE_ALL_IDENTITIES, other), 0);
        ck_assert_int_ge(filter_cache_store(dir, other, fresh), 0);
        entry_path(key, path, sizeof path);
        entry_path(other, target, sizeof target);

        /* A symlink to a valid entry of this very cache is still not followed, and compiling replaces it
         * with a file (the target is left alone). */
        ck_assert_int_eq(symlink(target, path), 0);
        ck_assert_int_eq(filter_cache_load(dir, key, &got), -ELOOP);
        ck_assert_int_ge(filter_cache_compile(dir, p, POLICY_IDENTITY_ANY, &got), 0);
        ck_assert_int_eq(lstat(path, &st), 0);
        ck_assert(S_ISREG(st.st_mode));
        ck_assert_int_eq(lstat(target, &st), 0);
        ck_assert(S_ISREG(st.st_mode));
}
END_TEST

START_TEST(test_entry_of_another_owner) {
        _cleanup_(policy_freep) Policy *p = load("policies/default.json");
        _cleanup_(policy_filter_freep) PolicyFilter *fresh = NULL, *got = NULL;
        uint8_t key[FILTER_CACHE_KEY_SIZE];
        char path[512];
        struct stat st;

        if (geteuid() != 0)
                return; /* only root gives files away; the mode half is in test_unsafe_directory_is_not_used */
        ck_assert_int_ge(policy_compile(p, POLICY_IDENTITY_ANY, &fresh), 0);
        ck_assert_int_ge(filter_cache_key(p, POLICY_IDENTITY_ANY, key), 0);
        ck_assert_int_ge(filter_cache_store(dir, key, fresh), 0);
        entry_path(key, path, sizeof path);
        ck_assert_int_eq(chown(path, 65534, 65534), 0);
        ck_assert_int_eq(filter_cache_load(dir, key, &got), -EPERM);
        ck_assert_int_ge(filter_cache_compile(dir, p, POLICY_IDENTITY_ANY, &got), 0);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_uint_eq(st.st_uid, 0);
}
END_TEST

/* The key file: missing, readable by others, a symlink, a second name, another owner's. Each makes every
 * entry a miss; the next store makes a new key, which invalidates the entries made under the old one. */
START_TEST(test_unsafe_secret) {
        _cleanup_(policy_freep) Policy *p = load("policies/default.json");
        _cleanup_(policy_filter_freep) PolicyFilter *fresh = NULL, *got = NULL;
        uint8_t key[FILTER_CACHE_KEY_SIZE], s1[33], s2[33];
        char spath[512], elsewhere[512];
        struct stat st;

        ck_assert_int_ge(policy_compile(p, POLICY_IDENTITY_ANY, &fresh), 0);
        ck_assert_int_ge(filter_cache_key(p, POLICY_IDENTITY_ANY, key), 0);
        ck_assert_int_ge(filter_cache_store(dir, key, fresh), 0);
        secret_path(spath, sizeof spath);
        ck_assert_int_eq(lstat(spath, &st), 0);
        ck_assert(S_ISREG(st.st_mode));
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        ck_assert_uint_eq(st.st_size, 32);
        ck_assert_uint_eq(read_file(spath, s1, sizeof s1), 32);

        ck_assert_int_eq(chmod(spath, 0644), 0);
        ck_assert_int_eq(filter_cache_load(dir, key, &got), -EPERM);
        /* the store replaces the key it cannot trust */
        ck_assert_int_ge(filter_cache_store(dir, key, fresh), 0);
        ck_assert_int_eq(lstat(spath, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        ck_assert_uint_eq(read_file(spath, s2, sizeof s2), 32);
        ck_assert(memcmp(s1, s2, 32) != 0);
        ck_assert_int_ge(filter_cache_load(dir, key, &got), 0);
        got = policy_filter_free(got);

        /* a second name for the key (a hard link a workload could read through) */
        snprintf(elsewhere, sizeof elsewhere, "%s/copy", dir);
        ck_assert_int_eq(link(spath, elsewhere), 0);
        ck_assert_int_eq(filter_cache_load(dir, key, &got), -EPERM);
        ck_assert_int_eq(unlink(elsewhere), 0);
        ck_assert_int_ge(filter_cache_load(dir, key, &got), 0);
        got = policy_filter_free(got);

        /* a symlink to a key the forger wrote */
        write_file(elsewhere, s1, 32);
        ck_assert_int_eq(unlink(spath), 0);
        ck_assert_int_eq(symlink(elsewhere, spath), 0);
        ck_assert_int_eq(filter_cache_load(dir, key, &got), -ELOOP);
        ck_assert_int_ge(filter_cache_compile(dir, p, POLICY_IDENTITY_ANY, &got), 0);
        assert_same_filter(fresh, got);
        got = policy_filter_free(got);
        ck_assert_int_eq(lstat(spath, &st), 0);
        ck_assert(S_ISREG(st.st_mode));

        /* no key: the entries are no one's */
        ck_assert_int_eq(unlink(spath), 0);
        ck_assert_int_eq(filter_cache_load(dir, key, &got), -EBADMSG);

        if (geteuid() == 0) {
                ck_assert_int_ge(filter_cache_store(dir, key, fresh), 0);
                ck_assert_int_eq(chown(spath, 65534, 65534), 0);
                ck_assert_int_eq(filter_cache_load(dir, key, &got), -EPERM);
        }
}
END_TEST

/* Every shipped policy keeps workloads away from the cache and its key, for reading and for writing. */
START_TEST(test_shipped_policies_deny_the_cache) {
        static const char *const shipped[] = { "policies/default.json", "policies/strict.json",
                                               "policies/web-service.json" };
        static const char *const paths[] = {
                FILTER_CACHE_DEFAULT_DIR "/" FILTER_CACHE_SECRET_NAME,
                FILTER_CACHE_DEFAULT_DIR "/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                FILTER_CACHE_DEFAULT_DIR,
        };
        static const unsigned accesses[] = { POLICY_ACCESS_READ, POLICY_ACCESS_WRITE,
                                             POLICY_ACCESS_WRITE | POLICY_ACCESS_CREATE };
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = NULL;

        ck_assert_int_eq(policy_graph_new(load(shipped[_i]), &g), 0);
        FOREACH_ELEMENT(path, paths)
                FOREACH_ELEMENT(access, accesses) {
                        PolicyQuery q = test_query(g, NULL, 100, "openat");
                        PolicyDecision d;

                        q.path = *path;
                        q.access = *access;
                        d = test_eval(g, &q);
                        ck_assert_msg(d.verdict == POLICY_VERDICT_DENY, "%s: openat %s [%#x] is %s by %s",
                                      shipped[_i], *path, *access, policy_verdict_to_string(d.verdict),
                                      d.rule_id);
                }
}
END_TEST

START_TEST(test_store_creates_the_directory) {
        _cleanup_(policy_freep) Policy *p = load("policies/default.json");
        _cleanup_(policy_filter_freep) PolicyFilter *got = NULL;
        char sub[512];
        struct stat st;

        snprintf(sub, sizeof sub, "%s/a/filters", dir);
        ck_assert_int_ge(filter_cache_compile(sub, p, POLICY_IDENTITY_ANY, &got), 0);
        ck_assert_int_eq(stat(sub, &st), 0);
        ck_assert(S_ISDIR(st.st_mode));
        ck_assert_uint_eq(st.st_mode & 0777, 0700);
}
END_TEST

static void hex(const uint8_t d[static SHA256_DIGEST_SIZE], char out[static 2 * SHA256_DIGEST_SIZE + 1]) {
        for (size_t i = 0; i < SHA256_DIGEST_SIZE; i++)
                sprintf(out + 2 * i, "%02x", d[i]);
}

/* The entries' checksum and the key: FIPS 180-4 vectors, then OpenSSL on every length around the block
 * and padding boundaries, fed in pieces of every size. */
START_TEST(test_sha256) {
        static const struct {
                const char *in, *out;
        } vectors[] = {
                { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
                { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
                { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
        };
        static uint8_t data[300];
        uint8_t d[SHA256_DIGEST_SIZE], o[SHA256_DIGEST_SIZE];
        char h[2 * SHA256_DIGEST_SIZE + 1];
        Sha256 s;

        FOREACH_ELEMENT(v, vectors) {
                sha256_buffer(v->in, strlen(v->in), d);
                hex(d, h);
                ck_assert_str_eq(h, v->out);
        }
        sha256_init(&s);
        for (int i = 0; i < 1000000; i += 1000) {
                char a[1000];

                memset(a, 'a', sizeof a);
                sha256_update(&s, a, sizeof a);
        }
        sha256_final(&s, d);
        hex(d, h);
        ck_assert_str_eq(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

        for (size_t i = 0; i < sizeof data; i++)
                data[i] = (uint8_t) (i * 131 + 7);
        for (size_t n = 0; n < sizeof data; n++) {
                unsigned len = 0;

                ck_assert_int_eq(EVP_Digest(data, n, o, &len, EVP_sha256(), NULL), 1);
                for (size_t piece = 1; piece <= 65; piece += 16) {
                        sha256_init(&s);
                        for (size_t at = 0; at < n; at += piece)
                                sha256_update(&s, data + at, MIN(piece, n - at));
                        sha256_final(&s, d);
                        ck_assert_msg(memcmp(d, o, sizeof d) == 0, "length %zu, pieces of %zu", n, piece);
                }
        }
}
END_TEST

/* A temporary file a crashed writer left (same thread id, reused) does not stop the store, and goes. */
START_TEST(test_stale_temporary_file) {
        _cleanup_(policy_freep) Policy *p = load("policies/default.json");
        _cleanup_(policy_filter_freep) PolicyFilter *fresh = NULL, *got = NULL;
        uint8_t key[FILTER_CACHE_KEY_SIZE];
        char path[512], tmp[600];
        const char *name;

        ck_assert_int_ge(policy_compile(p, POLICY_IDENTITY_ANY, &fresh), 0);
        ck_assert_int_ge(filter_cache_key(p, POLICY_IDENTITY_ANY, key), 0);
        entry_path(key, path, sizeof path);
        name = strrchr(path, '/') + 1;
        snprintf(tmp, sizeof tmp, "%s/.%s.%d.tmp", dir, name, (int) gettid());
        write_file(tmp, "junk", 4);
        ck_assert_int_ge(filter_cache_store(dir, key, fresh), 0);
        ck_assert_int_ne(access(tmp, F_OK), 0);
        ck_assert_int_ge(filter_cache_load(dir, key, &got), 0);
        assert_same_filter(fresh, got);
}
END_TEST

static size_t count_entries(void) {
        char cmd[256];
        FILE *f;
        size_t n = 0;

        snprintf(cmd, sizeof cmd, "ls %s | grep -c '^[0-9a-f]\\{64\\}$'", dir);
        f = popen(cmd, "r");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fscanf(f, "%zu", &n), 1);
        pclose(f);
        return n;
}

/* Bounded: the entry written longest ago goes when a store goes past the limit. */
START_TEST(test_pruned_to_the_limit) {
        _cleanup_(policy_freep) Policy *p = load("policies/default.json");
        _cleanup_(policy_filter_freep) PolicyFilter *fresh = NULL, *got = NULL;
        uint8_t key[FILTER_CACHE_KEY_SIZE] = {}, old[FILTER_CACHE_KEY_SIZE];
        const struct timespec ancient[2] = { { .tv_sec = 1 }, { .tv_sec = 1 } };
        char path[512];

        ck_assert_int_ge(policy_compile(p, POLICY_IDENTITY_ANY, &fresh), 0);
        for (unsigned i = 0; i < FILTER_CACHE_MAX_ENTRIES; i++) {
                key[0] = (uint8_t) i;
                key[1] = (uint8_t) (i >> 8);
                ck_assert_int_ge(filter_cache_store(dir, key, fresh), 0);
        }
        ck_assert_uint_eq(count_entries(), FILTER_CACHE_MAX_ENTRIES);

        memset(old, 0, sizeof old);
        old[0] = 5;
        entry_path(old, path, sizeof path);
        ck_assert_int_eq(utimensat(AT_FDCWD, path, ancient, 0), 0);
        key[0] = 0xff;
        key[1] = 0xff;
        ck_assert_int_ge(filter_cache_store(dir, key, fresh), 0);
        ck_assert_uint_eq(count_entries(), FILTER_CACHE_MAX_ENTRIES);
        ck_assert_int_ne(access(path, F_OK), 0);
        ck_assert_int_ge(filter_cache_load(dir, key, &got), 0);
        assert_same_filter(fresh, got);
}
END_TEST

static Suite *filter_cache_suite(void) {
        Suite *s = suite_create("filter-cache");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_hit_is_identical);
        tcase_add_test(tc, test_compile_stores_then_hits);
        tcase_add_test(tc, test_key_follows_the_policy);
        tcase_add_test(tc, test_damaged_entry_is_ignored);
        tcase_add_test(tc, test_foreign_entry_is_ignored);
        tcase_add_test(tc, test_unsafe_directory_is_not_used);
        tcase_add_test(tc, test_forged_entry_is_ignored);
        tcase_add_test(tc, test_entry_replaced_by_symlink);
        tcase_add_test(tc, test_entry_of_another_owner);
        tcase_add_test(tc, test_unsafe_secret);
        tcase_add_loop_test(tc, test_shipped_policies_deny_the_cache, 0, 3);
        tcase_add_test(tc, test_store_creates_the_directory);
        tcase_add_test(tc, test_stale_temporary_file);
        tcase_add_test(tc, test_pruned_to_the_limit);
        suite_add_tcase(s, tc);
        tc = tcase_create("sha256");
        tcase_add_test(tc, test_sha256);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return fo_test_run(filter_cache_suite());
}
