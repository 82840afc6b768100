/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The audit record: classes and their MESSAGE_IDs, entries, the canonical form and chain, checkpoint
 * signatures. See audit-record.h. */
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forgeone/audit-record.h"
#include "forgeone/sha256.h"
#include "forgeone/string-table.h"

static const char *const audit_class_table[_AUDIT_CLASS_MAX] = {
        [AUDIT_CLASS_DENIED] = "denied",
        [AUDIT_CLASS_ALLOWED] = "allowed",
        [AUDIT_CLASS_EMULATED] = "emulated",
        [AUDIT_CLASS_QUARANTINED] = "quarantined",
        [AUDIT_CLASS_POLICY_LOADED] = "policy-loaded",
        [AUDIT_CLASS_POLICY_RELOAD_FAILED] = "policy-reload-failed",
        [AUDIT_CLASS_STATE] = "state",
        [AUDIT_CLASS_TRUST] = "trust",
        [AUDIT_CLASS_WARNING] = "warning",
        [AUDIT_CLASS_STARTED] = "audit-started",
        [AUDIT_CLASS_STOPPED] = "audit-stopped",
        [AUDIT_CLASS_CHECKPOINT] = "checkpoint",
        [AUDIT_CLASS_DEGRADED] = "degraded",
        [AUDIT_CLASS_INTEGRITY] = "integrity",
};

DEFINE_STRING_TABLE_LOOKUP(audit_class, AuditClass)

static const char *const message_ids[_AUDIT_CLASS_MAX] = {
        [AUDIT_CLASS_DENIED] = AUDIT_MESSAGE_DENIED,
        [AUDIT_CLASS_ALLOWED] = AUDIT_MESSAGE_ALLOWED,
        [AUDIT_CLASS_EMULATED] = AUDIT_MESSAGE_EMULATED,
        [AUDIT_CLASS_QUARANTINED] = AUDIT_MESSAGE_QUARANTINED,
        [AUDIT_CLASS_POLICY_LOADED] = AUDIT_MESSAGE_POLICY_LOADED,
        [AUDIT_CLASS_POLICY_RELOAD_FAILED] = AUDIT_MESSAGE_POLICY_RELOAD_FAILED,
        [AUDIT_CLASS_STATE] = AUDIT_MESSAGE_STATE,
        [AUDIT_CLASS_TRUST] = AUDIT_MESSAGE_TRUST,
        [AUDIT_CLASS_WARNING] = AUDIT_MESSAGE_WARNING,
        [AUDIT_CLASS_STARTED] = AUDIT_MESSAGE_STARTED,
        [AUDIT_CLASS_STOPPED] = AUDIT_MESSAGE_STOPPED,
        [AUDIT_CLASS_CHECKPOINT] = AUDIT_MESSAGE_CHECKPOINT,
        [AUDIT_CLASS_DEGRADED] = AUDIT_MESSAGE_DEGRADED,
        [AUDIT_CLASS_INTEGRITY] = AUDIT_MESSAGE_INTEGRITY,
};

const char *audit_class_message_id(AuditClass c) {
        return c >= 0 && c < _AUDIT_CLASS_MAX ? message_ids[c] : NULL;
}

AuditClass audit_class_from_message_id(const char *id) {
        for (int c = 0; id && c < _AUDIT_CLASS_MAX; c++)
                if (streq(message_ids[c], id))
                        return (AuditClass) c;
        return _AUDIT_CLASS_INVALID;
}

AuditClass audit_class_of_action(SupervisorAction a) {
        switch (a) {
        case SUPERVISOR_ACTION_CONTINUE:
                return AUDIT_CLASS_ALLOWED;
        case SUPERVISOR_ACTION_EMULATE:
                return AUDIT_CLASS_EMULATED;
        case SUPERVISOR_ACTION_DENY:
                return AUDIT_CLASS_DENIED;
        case SUPERVISOR_ACTION_QUARANTINE:
                return AUDIT_CLASS_QUARANTINED;
        default:
                return _AUDIT_CLASS_INVALID;
        }
}

const char *audit_verdict_of_action(SupervisorAction a) {
        static const char *const v[_SUPERVISOR_ACTION_MAX] = {
                [SUPERVISOR_ACTION_CONTINUE] = "allow",
                [SUPERVISOR_ACTION_EMULATE] = "emulate",
                [SUPERVISOR_ACTION_DENY] = "deny",
                [SUPERVISOR_ACTION_QUARANTINE] = "quarantine",
        };
        return a >= 0 && a < _SUPERVISOR_ACTION_MAX ? v[a] : NULL;
}

/* ---- entries ---- */

void audit_entry_done(AuditEntry *e) {
        if (!e)
                return;
        for (size_t i = 0; i < e->n_fields; i++)
                free(e->fields[i]);
        free(e->fields);
        free(e->cursor);
        *e = (AuditEntry){};
}

int audit_entry_add(AuditEntry *e, const char *name, const char *value, size_t len) {
        size_t ln = strlen(name);
        char *f;

        if (!value)
                return 0;
        if (len == SIZE_MAX)
                len = strlen(value);
        if (e->n_fields == e->n_alloc) {
                size_t n = e->n_alloc ? e->n_alloc * 2 : 32;
                char **nf = realloc(e->fields, n * sizeof *nf);
                if (!nf)
                        return -ENOMEM;
                e->fields = nf;
                e->n_alloc = n;
        }
        f = malloc(ln + 1 + len + 1);
        if (!f)
                return -ENOMEM;
        memcpy(f, name, ln);
        f[ln] = '=';
        memcpy(f + ln + 1, value, len);
        f[ln + 1 + len] = 0;
        e->fields[e->n_fields++] = f;
        return 0;
}

int audit_entry_addf(AuditEntry *e, const char *name, const char *format, ...) {
        _cleanup_free_ char *v = NULL;
        va_list ap;
        int k;

        va_start(ap, format);
        k = vasprintf(&v, format, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        return audit_entry_add(e, name, v, (size_t) k);
}

static char *find(const AuditEntry *e, const char *name, size_t *ret_index) {
        size_t ln = strlen(name);

        for (size_t i = 0; i < e->n_fields; i++)
                if (strncmp(e->fields[i], name, ln) == 0 && e->fields[i][ln] == '=') {
                        if (ret_index)
                                *ret_index = i;
                        return e->fields[i] + ln + 1;
                }
        return NULL;
}

int audit_entry_set(AuditEntry *e, const char *name, const char *value) {
        size_t i;

        if (find(e, name, &i)) {
                char *f;
                if (asprintf(&f, "%s=%s", name, value) < 0)
                        return -ENOMEM;
                free(e->fields[i]);
                e->fields[i] = f;
                return 0;
        }
        return audit_entry_add(e, name, value, SIZE_MAX);
}

const char *audit_entry_get(const AuditEntry *e, const char *name) {
        return find(e, name, NULL);
}

int audit_entry_get_u64(const AuditEntry *e, const char *name, uint64_t *ret) {
        const char *v = audit_entry_get(e, name);
        char *end;
        unsigned long long x;

        if (!v)
                return -ENOENT;
        if (*v < '0' || *v > '9')
                return -EINVAL;
        errno = 0;
        x = strtoull(v, &end, 10);
        if (errno || *end)
                return -EINVAL;
        *ret = x;
        return 0;
}

/* ---- canonical form and chain ---- */

bool audit_field_covered(const char *name) {
        if (strncmp(name, "FORGEONE_", 9) == 0)
                return !streq(name, "FORGEONE_CHAIN");
        return streq(name, "MESSAGE") || streq(name, "MESSAGE_ID") || streq(name, "PRIORITY") ||
               streq(name, "SYSLOG_IDENTIFIER");
}

static size_t name_len(const char *field) {
        const char *eq = strchr(field, '=');
        return eq ? (size_t) (eq - field) : strlen(field);
}

static int cmp_field(const void *a, const void *b) {
        const char *x = *(const char *const *) a, *y = *(const char *const *) b;
        size_t lx = name_len(x), ly = name_len(y);
        int c = memcmp(x, y, MIN(lx, ly));

        if (c != 0)
                return c;
        if (lx != ly)
                return lx < ly ? -1 : 1;
        /* Same name twice (a forged entry): order by value, so the form stays a function of the set. */
        return strcmp(x + lx, y + ly);
}

static EVP_MD *sha256_md;

static void fetch_sha256(void) {
        sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int audit_entry_digest(const AuditEntry *e, uint8_t ret[static 32]) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        _cleanup_free_ const char **sorted = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, size = 0, len = 0;

        sorted = malloc((e->n_fields ?: 1) * sizeof *sorted);
        if (!sorted)
                return -ENOMEM;
        for (size_t i = 0; i < e->n_fields; i++) {
                size_t ln = name_len(e->fields[i]);
                char name[128];

                if (ln >= sizeof name)
                        continue;
                memcpy(name, e->fields[i], ln);
                name[ln] = 0;
                if (audit_field_covered(name)) {
                        sorted[n++] = e->fields[i];
                        size += strlen(e->fields[i]) + 32;
                }
        }
        qsort(sorted, n, sizeof *sorted, cmp_field);
        buf = malloc(size + 1);
        if (!buf)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                size_t ln = name_len(sorted[i]);
                const char *v = sorted[i][ln] ? sorted[i] + ln + 1 : "";
                size_t lv = strlen(v);

                memcpy(buf + len, sorted[i], ln);
                len += ln;
                len += (size_t) snprintf(buf + len, size + 1 - len, "=%zu:", lv);
                memcpy(buf + len, v, lv);
                len += lv;
                buf[len++] = '\n';
        }
        /* The consumer hashes every entry it writes: OpenSSL's SHA-256 (SHA-NI where there is one) is about
         * four times as fast as the portable one, and the provider is fetched once. */
        pthread_once(&once, fetch_sha256);
        if (sha256_md) {
                unsigned int k = 32;
                if (EVP_Digest(buf, len, ret, &k, sha256_md, NULL) != 1 || k != 32)
                        return -EIO;
        } else
                sha256_buffer(buf, len, ret);
        return 0;
}

void audit_chain_combine(const uint8_t prev[32], const uint8_t digest[static 32], uint8_t ret[static 32]) {
        static const uint8_t zero[32];
        Sha256 md;

        sha256_init(&md);
        sha256_update(&md, prev ?: zero, 32);
        sha256_update(&md, digest, 32);
        sha256_final(&md, ret);
}

int audit_chain_next(const uint8_t prev[32], const AuditEntry *e, uint8_t ret[static 32]) {
        uint8_t d[32];
        int r;

        r = audit_entry_digest(e, d);
        if (r < 0)
                return r;
        audit_chain_combine(prev, d, ret);
        return 0;
}

char *audit_hex(const uint8_t *p, size_t n, char *buf) {
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                buf[2 * i] = digits[p[i] >> 4];
                buf[2 * i + 1] = digits[p[i] & 15];
        }
        buf[2 * n] = 0;
        return buf;
}

static int unhex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int audit_unhex(const char *s, uint8_t *ret, size_t n) {
        if (!s || strlen(s) != 2 * n)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                int hi = unhex_digit(s[2 * i]), lo = unhex_digit(s[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                ret[i] = (uint8_t) (hi << 4 | lo);
        }
        return 0;
}

/* ---- checkpoint signatures ---- */

struct AuditKey {
        EVP_PKEY *pkey;
        char id[65];
};

AuditKey *audit_key_free(AuditKey *k) {
        if (!k)
                return NULL;
        EVP_PKEY_free(k->pkey);
        free(k);
        return NULL;
}

int audit_key_load(const char *path, bool private_key, AuditKey **ret) {
        _cleanup_(audit_key_freep) AuditKey *k = NULL;
        unsigned char *der = NULL;
        uint8_t md[32];
        FILE *f;
        int n;

        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        k = calloc(1, sizeof *k);
        if (!k) {
                fclose(f);
                return -ENOMEM;
        }
        k->pkey = private_key ? PEM_read_PrivateKey(f, NULL, NULL, NULL)
                              : PEM_read_PUBKEY(f, NULL, NULL, NULL);
        fclose(f);
        if (!k->pkey || EVP_PKEY_get_base_id(k->pkey) != EVP_PKEY_ED25519)
                return -EKEYREJECTED;
        n = i2d_PUBKEY(k->pkey, &der);
        if (n <= 0)
                return -EKEYREJECTED;
        sha256_buffer(der, (size_t) n, md);
        OPENSSL_free(der);
        audit_hex(md, sizeof md, k->id);
        *ret = TAKE_PTR(k);
        return 0;
}

const char *audit_key_id(const AuditKey *k) {
        return k->id;
}

char *audit_checkpoint_message(const char *run, uint64_t seq, const char *chain_hex, uint64_t time_usec) {
        char *m;

        if (asprintf(&m, "%s\nrun=%s\nseq=%" PRIu64 "\nchain=%s\ntime=%" PRIu64 "\n",
                     AUDIT_CHECKPOINT_DOMAIN, run, seq, chain_hex, time_usec) < 0)
                return NULL;
        return m;
}

int audit_key_sign(AuditKey *k, const char *message, char **ret) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned char sig[64];
        size_t n = sizeof sig;
        char *b64;
        int ok;

        if (!ctx)
                return -ENOMEM;
        ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
             EVP_DigestSign(ctx, sig, &n, (const unsigned char *) message, strlen(message)) == 1;
        EVP_MD_CTX_free(ctx);
        if (!ok)
                return -EIO;
        b64 = malloc(4 * ((n + 2) / 3) + 1);
        if (!b64)
                return -ENOMEM;
        EVP_EncodeBlock((unsigned char *) b64, sig, (int) n);
        *ret = b64;
        return 0;
}

int audit_key_verify(AuditKey *k, const char *message, const char *sig_b64) {
        unsigned char sig[96];
        EVP_MD_CTX *ctx;
        size_t l = sig_b64 ? strlen(sig_b64) : 0;
        int n, ok;

        /* 64 bytes are 88 base64 characters with their padding. */
        if (l != 88)
                return -EBADMSG;
        n = EVP_DecodeBlock(sig, (const unsigned char *) sig_b64, (int) l);
        if (n != 66)
                return -EBADMSG;
        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
             EVP_DigestVerify(ctx, sig, 64, (const unsigned char *) message, strlen(message)) == 1;
        EVP_MD_CTX_free(ctx);
        return ok ? 0 : -EBADMSG;
}
