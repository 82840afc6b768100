/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "forgeone/filter-cache.h"
#include "forgeone/fs-util.h"
#include "forgeone/sha256.h"

#include "runtime/policy-compile-source-hash.h"

#define ENTRY_MAGIC    "FOFLTC2\n"
#define ENTRY_SIZE_MAX (16u * 1024u * 1024u)
#define SECRET_SIZE    32

/* The reasons policy_compile() gives for NOTIFY; an entry names them by index so a loaded filter points
 * at static strings, as a compiled one does. A reason missing here is simply not cached. */
static const char *const whys[] = {
        "quarantine", "emulate",   "path resource",        "network resource",        "trust",
        "arguments",  "filter size", "differs per identity", "builtin listener denial", "argument width",
        "credentials",
};

/* ---- the key ---------------------------------------------------------------- */

static void md_u64(Sha256 *md, uint64_t v) {
        sha256_update(md, &v, sizeof v);
}

static void md_str(Sha256 *md, const char *s) {
        size_t n = s ? strlen(s) : SIZE_MAX;

        /* Length first, so no two sequences of strings hash the same bytes; NULL differs from "". */
        md_u64(md, n);
        if (s)
                sha256_update(md, s, n);
}

/* ---- authenticity ------------------------------------------------------------
 *
 * An entry is trusted only with an HMAC-SHA256 (RFC 2104) under a random key of this host, kept in the
 * cache directory (FILTER_CACHE_SECRET_NAME, 0600, owned by the euid using the cache, one link): whoever
 * can write an entry but not read that key cannot make one that loads. The project's SHA-256 has no
 * secret-dependent branches or table lookups, and the tag is compared in constant time. */

static void hmac_sha256(const uint8_t secret[static SECRET_SIZE], const void *p, size_t n,
                        uint8_t ret[static SHA256_DIGEST_SIZE]) {
        uint8_t pad[64], inner[SHA256_DIGEST_SIZE];
        Sha256 md;

        for (size_t i = 0; i < sizeof pad; i++)
                pad[i] = (uint8_t) ((i < SECRET_SIZE ? secret[i] : 0) ^ 0x36);
        sha256_init(&md);
        sha256_update(&md, pad, sizeof pad);
        sha256_update(&md, p, n);
        sha256_final(&md, inner);
        for (size_t i = 0; i < sizeof pad; i++)
                pad[i] = (uint8_t) ((i < SECRET_SIZE ? secret[i] : 0) ^ 0x5c);
        sha256_init(&md);
        sha256_update(&md, pad, sizeof pad);
        sha256_update(&md, inner, sizeof inner);
        sha256_final(&md, ret);
        explicit_bzero(pad, sizeof pad);
        explicit_bzero(&md, sizeof md);
}

static bool tags_equal(const uint8_t *a, const uint8_t *b, size_t n) {
        uint8_t d = 0;

        for (size_t i = 0; i < n; i++)
                d |= a[i] ^ b[i];
        return d == 0;
}

/* The key file as it must be: a regular file of SECRET_SIZE bytes, ours, 0600 or stricter, one name.
 * -ENOENT when missing, -EPERM (or -ELOOP for a symlink) when it is anything else. */
static int secret_read(int dfd, uint8_t ret[static SECRET_SIZE]) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        ssize_t k;

        fd = openat(dfd, FILTER_CACHE_SECRET_NAME,
                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0077) || st.st_nlink != 1 ||
            st.st_size != SECRET_SIZE)
                return -EPERM;
        k = pread(fd, ret, SECRET_SIZE, 0);
        if (k < 0)
                return negative_errno();
        return k == SECRET_SIZE ? 0 : -EPERM;
}

/* A new key, created under a temporary name with O_EXCL and linked into place: never through a symlink,
 * never over a key another process made meanwhile (that one is used). */
static int secret_create(int dfd, uint8_t ret[static SECRET_SIZE]) {
        uint8_t secret[SECRET_SIZE];
        char tmp[64];
        int fd, r;

        if (getrandom(secret, sizeof secret, 0) != (ssize_t) sizeof secret)
                return -EIO;
        snprintf(tmp, sizeof tmp, ".%s.%d.tmp", FILTER_CACHE_SECRET_NAME, (int) gettid());
        (void) unlinkat(dfd, tmp, 0);
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return negative_errno();
        r = fchmod(fd, 0600) < 0 ? negative_errno() : write_all(fd, secret, sizeof secret);
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        safe_close(fd);
        if (r >= 0 && linkat(dfd, tmp, dfd, FILTER_CACHE_SECRET_NAME, 0) < 0)
                r = errno == EEXIST ? 1 : negative_errno();
        (void) unlinkat(dfd, tmp, 0);
        if (r < 0) {
                explicit_bzero(secret, sizeof secret);
                return r;
        }
        if (r > 0) {
                explicit_bzero(secret, sizeof secret);
                return secret_read(dfd, ret); /* another process's, made in between */
        }
        memcpy(ret, secret, sizeof secret);
        explicit_bzero(secret, sizeof secret);
        return 0;
}

/* For a store: the key, made when missing and replaced when it is not as it must be (which also
 * invalidates every entry made under it). */
static int secret_get_or_make(int dfd, uint8_t ret[static SECRET_SIZE]) {
        int r = secret_read(dfd, ret);

        if (r >= 0 || (r != -ENOENT && r != -EPERM && r != -ELOOP))
                return r;
        if (r != -ENOENT && unlinkat(dfd, FILTER_CACHE_SECRET_NAME, 0) < 0 && errno != ENOENT)
                return negative_errno();
        return secret_create(dfd, ret);
}

int filter_cache_key(const Policy *p, int identity, uint8_t ret_key[static FILTER_CACHE_KEY_SIZE]) {
        const struct scmp_version *v = seccomp_version();
        Sha256 ctx, *md = &ctx;

        if (!p || !ret_key)
                return -EINVAL;
        /* Not OpenSSL: a process's first EVP digest loads providers and configuration, a few ms. */
        sha256_init(md);

        md_str(md, "forgeone filter cache 2");
        md_str(md, PACKAGE_VERSION);
        /* The compiler and everything it reads besides the Policy: the (syscall, rule) pairing, the syscall
         * table, groups and argument widths (see src/runtime/meson.build). */
        md_str(md, POLICY_COMPILER_SOURCES_SHA256);
        md_u64(md, v ? v->major : 0);
        md_u64(md, v ? v->minor : 0);
        md_u64(md, v ? v->micro : 0);
        md_u64(md, seccomp_api_get());
        md_u64(md, seccomp_arch_native());
        md_u64(md, (uint64_t) (int64_t) identity);

        /* Everything policy_compile() reads, in the order it has in the Policy (rule order decides). */
        md_u64(md, (uint64_t) (int64_t) p->default_verdict);
        md_u64(md, (uint64_t) (int64_t) p->default_errno);
        md_u64(md, p->n_arches);
        for (size_t i = 0; i < p->n_arches; i++)
                md_u64(md, p->arches[i]);
        md_u64(md, p->n_identities);
        md_u64(md, p->n_resources);
        for (size_t i = 0; i < p->n_resources; i++) {
                const PolicyResource *res = &p->resources[i];

                md_u64(md, (uint64_t) (int64_t) res->type);
                md_u64(md, res->n_args);
                for (size_t k = 0; k < res->n_args; k++) {
                        md_u64(md, res->args[k].index);
                        md_u64(md, (uint64_t) (int64_t) res->args[k].op);
                        md_u64(md, res->args[k].mask);
                        md_u64(md, res->args[k].value);
                }
        }
        md_u64(md, p->n_rules);
        for (size_t i = 0; i < p->n_rules; i++) {
                const PolicyRule *rule = &p->rules[i];
                size_t n = 0;

                md_str(md, rule->id);
                md_u64(md, (uint64_t) (int64_t) rule->identity);
                md_u64(md, (uint64_t) (int64_t) rule->verdict);
                md_u64(md, (uint64_t) (int64_t) rule->errno_value);
                md_u64(md, (uint64_t) (int64_t) rule->min_trust);
                md_u64(md, rule->n_resources);
                for (size_t j = 0; j < rule->n_resources; j++)
                        md_u64(md, (uint64_t) (int64_t) rule->resources[j]);
                for (char **s = rule->syscalls; s && *s; s++)
                        n++;
                md_u64(md, n);
                for (char **s = rule->syscalls; s && *s; s++)
                        md_str(md, *s);
        }

        sha256_final(md, ret_key);
        return 0;
}

/* ---- the entry format -------------------------------------------------------- */

typedef struct Buf {
        uint8_t *data;
        size_t size, alloc;
        bool oom;
} Buf;

static void buf_put(Buf *b, const void *p, size_t n) {
        if (b->oom)
                return;
        if (b->size + n > b->alloc) {
                size_t na = MAX(b->alloc * 2, b->size + n + 4096);
                uint8_t *nd = realloc(b->data, na);

                if (!nd) {
                        b->oom = true;
                        return;
                }
                b->data = nd;
                b->alloc = na;
        }
        memcpy(b->data + b->size, p, n);
        b->size += n;
}

static void buf_u32(Buf *b, uint32_t v) {
        buf_put(b, &v, sizeof v);
}

static void buf_str(Buf *b, const char *s) {
        size_t n = strlen(s);

        buf_u32(b, (uint32_t) n);
        buf_put(b, s, n);
}

static int why_index(const char *why) {
        if (!why)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(whys); i++)
                if (streq(whys[i], why))
                        return (int) i + 1;
        return -EOPNOTSUPP;
}

static int entry_serialize(const uint8_t key[static FILTER_CACHE_KEY_SIZE],
                           const uint8_t secret[static SECRET_SIZE], const PolicyFilter *f, Buf *b) {
        uint8_t tag[SHA256_DIGEST_SIZE];

        buf_put(b, ENTRY_MAGIC, strlen(ENTRY_MAGIC));
        buf_put(b, key, FILTER_CACHE_KEY_SIZE);
        buf_u32(b, (uint32_t) f->default_action);
        buf_u32(b, (uint32_t) f->default_errno);
        buf_u32(b, (uint32_t) f->n_arches);
        for (size_t i = 0; i < f->n_arches; i++)
                buf_u32(b, f->arches[i]);
        buf_u32(b, (uint32_t) f->n_insns);
        for (size_t i = 0; i < f->n_insns; i++) {
                buf_u32(b, ((uint32_t) f->insns[i].code << 16) | ((uint32_t) f->insns[i].jt << 8) | f->insns[i].jf);
                buf_u32(b, f->insns[i].k);
        }
        buf_u32(b, (uint32_t) f->n_syscalls);
        for (size_t i = 0; i < f->n_syscalls; i++) {
                const PolicyCompiledSyscall *s = &f->syscalls[i];
                int w = why_index(s->why);

                if (w < 0 || !s->name || !s->rule_id)
                        return -EOPNOTSUPP;
                buf_u32(b, (uint32_t) s->nr);
                buf_u32(b, (uint32_t) s->action);
                buf_u32(b, (uint32_t) s->errno_value);
                buf_u32(b, (uint32_t) s->conditional);
                buf_u32(b, (uint32_t) w);
                buf_str(b, s->name);
                buf_str(b, s->rule_id);
        }
        if (b->oom)
                return -ENOMEM;
        hmac_sha256(secret, b->data, b->size, tag);
        buf_put(b, tag, sizeof tag);
        return b->oom ? -ENOMEM : 0;
}

typedef struct Reader {
        const uint8_t *p;
        size_t left;
        bool bad;
} Reader;

static uint32_t rd_u32(Reader *r) {
        uint32_t v = 0;

        if (r->left < sizeof v) {
                r->bad = true;
                return 0;
        }
        memcpy(&v, r->p, sizeof v);
        r->p += sizeof v;
        r->left -= sizeof v;
        return v;
}

static char *rd_str(Reader *r) {
        uint32_t n = rd_u32(r);
        char *s;

        if (r->bad || n > r->left || memchr(r->p, 0, n)) {
                r->bad = true;
                return NULL;
        }
        s = strndup((const char *) r->p, n);
        if (!s) {
                r->bad = true;
                return NULL;
        }
        r->p += n;
        r->left -= n;
        return s;
}

/* A count of items of at least min_size bytes each that the rest of the entry can hold. */
static uint32_t rd_count(Reader *r, size_t min_size) {
        uint32_t n = rd_u32(r);

        if (r->bad || (size_t) n > r->left / min_size) {
                r->bad = true;
                return 0;
        }
        return n;
}

static int entry_parse(const uint8_t *data, size_t size, const uint8_t key[static FILTER_CACHE_KEY_SIZE],
                       const uint8_t secret[static SECRET_SIZE], PolicyFilter **ret) {
        _cleanup_(policy_filter_freep) PolicyFilter *f = NULL;
        size_t magic = strlen(ENTRY_MAGIC);
        uint8_t sum[SHA256_DIGEST_SIZE];
        Reader rd;
        uint32_t n;

        if (size < magic + FILTER_CACHE_KEY_SIZE + sizeof sum)
                return -EBADMSG;
        /* Authenticity first: nothing of an entry this host did not write is parsed. */
        hmac_sha256(secret, data, size - sizeof sum, sum);
        if (!tags_equal(sum, data + size - sizeof sum, sizeof sum))
                return -EBADMSG;
        if (memcmp(data, ENTRY_MAGIC, magic) != 0 || memcmp(data + magic, key, FILTER_CACHE_KEY_SIZE) != 0)
                return -EBADMSG;
        rd = (Reader) { .p = data + magic + FILTER_CACHE_KEY_SIZE,
                        .left = size - magic - FILTER_CACHE_KEY_SIZE - sizeof sum };

        f = calloc(1, sizeof(PolicyFilter));
        if (f)
                /* The entry's key covers the compiler's sources: it came from this very compiler. */
                f->traps_credentials = true;
        if (!f)
                return -ENOMEM;
        f->default_action = (PolicyKernelAction) rd_u32(&rd);
        f->default_errno = (int) rd_u32(&rd);
        n = rd_count(&rd, 4);
        f->arches = calloc(MAX(n, 1u), sizeof(uint32_t));
        if (!f->arches)
                return -ENOMEM;
        for (f->n_arches = 0; f->n_arches < n; f->n_arches++)
                f->arches[f->n_arches] = rd_u32(&rd);
        n = rd_count(&rd, 8);
        if (n == 0 || n > BPF_MAXINSNS)
                return -EBADMSG;
        f->insns = calloc(n, sizeof(struct sock_filter));
        if (!f->insns)
                return -ENOMEM;
        for (f->n_insns = 0; f->n_insns < n; f->n_insns++) {
                uint32_t w = rd_u32(&rd);

                f->insns[f->n_insns] = (struct sock_filter) {
                        .code = (uint16_t) (w >> 16),
                        .jt = (uint8_t) (w >> 8),
                        .jf = (uint8_t) w,
                        .k = rd_u32(&rd),
                };
        }
        n = rd_count(&rd, 7 * 4);
        f->syscalls = calloc(MAX(n, 1u), sizeof(PolicyCompiledSyscall));
        if (!f->syscalls)
                return -ENOMEM;
        for (uint32_t i = 0; i < n && !rd.bad; i++) {
                PolicyCompiledSyscall *s = &f->syscalls[f->n_syscalls];
                uint32_t w;

                s->nr = (int) rd_u32(&rd);
                s->action = (PolicyKernelAction) rd_u32(&rd);
                s->errno_value = (int) rd_u32(&rd);
                s->conditional = rd_u32(&rd) != 0;
                w = rd_u32(&rd);
                if (w > ELEMENTSOF(whys) || s->action < 0 || s->action >= _POLICY_KERNEL_ACTION_MAX) {
                        rd.bad = true;
                        break;
                }
                s->why = w == 0 ? NULL : whys[w - 1];
                s->name = rd_str(&rd);
                s->rule_id = rd_str(&rd);
                if (s->name || s->rule_id)
                        f->n_syscalls++; /* so that policy_filter_free() frees what was read */
                if (!s->name || !s->rule_id)
                        rd.bad = true;
        }
        if (rd.bad || rd.left != 0 || f->default_action < 0 || f->default_action >= _POLICY_KERNEL_ACTION_MAX)
                return -EBADMSG;
        *ret = TAKE_PTR(f);
        return 0;
}

/* ---- the directory ------------------------------------------------------------ */

/* Ours alone: an entry others could write could be a filter that allows anything. */
static int check_owned(int fd, mode_t type) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        if ((st.st_mode & S_IFMT) != type)
                return -EPERM;
        if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
                return -EPERM;
        return 0;
}

static int open_dir(const char *dir, bool create, int *ret) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && create) {
                r = mkdir_p(dir, 0700);
                if (r < 0)
                        return r;
                fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0)
                return negative_errno();
        r = check_owned(fd, S_IFDIR);
        if (r < 0)
                return r;
        *ret = TAKE_FD(fd);
        return 0;
}

static void key_to_name(const uint8_t key[static FILTER_CACHE_KEY_SIZE], char name[static 2 * FILTER_CACHE_KEY_SIZE + 1]) {
        static const char hex[] = "0123456789abcdef";

        for (size_t i = 0; i < FILTER_CACHE_KEY_SIZE; i++) {
                name[2 * i] = hex[key[i] >> 4];
                name[2 * i + 1] = hex[key[i] & 15];
        }
        name[2 * FILTER_CACHE_KEY_SIZE] = 0;
}

int filter_cache_load(const char *dir, const uint8_t key[static FILTER_CACHE_KEY_SIZE], PolicyFilter **ret) {
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        _cleanup_free_ uint8_t *data = NULL;
        char name[2 * FILTER_CACHE_KEY_SIZE + 1];
        uint8_t secret[SECRET_SIZE];
        struct stat st;
        size_t done = 0;
        int r;

        if (!key || !ret)
                return -EINVAL;
        r = open_dir(dir ?: FILTER_CACHE_DEFAULT_DIR, false, &dfd);
        if (r < 0)
                return r;
        key_to_name(key, name);
        fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        r = check_owned(fd, S_IFREG);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (st.st_size <= 0 || (uint64_t) st.st_size > ENTRY_SIZE_MAX)
                return -EBADMSG;
        data = malloc((size_t) st.st_size);
        if (!data)
                return -ENOMEM;
        while (done < (size_t) st.st_size) {
                ssize_t k = read(fd, data + done, (size_t) st.st_size - done);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        return -EBADMSG; /* shorter than fstat said: being replaced, or damaged */
                done += (size_t) k;
        }
        r = secret_read(dfd, secret);
        if (r < 0)
                return r == -ENOENT ? -EBADMSG : r; /* entries without their key are no one's */
        r = entry_parse(data, done, key, secret, ret);
        explicit_bzero(secret, sizeof secret);
        return r;
}

typedef struct Aged {
        char name[2 * FILTER_CACHE_KEY_SIZE + 1];
        struct timespec mtime;
} Aged;

static int aged_cmp(const void *a, const void *b) {
        const Aged *x = a, *y = b;

        if (x->mtime.tv_sec != y->mtime.tv_sec)
                return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
        if (x->mtime.tv_nsec != y->mtime.tv_nsec)
                return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
        return strcmp(x->name, y->name);
}

static bool is_entry_name(const char *s) {
        size_t n = 0;

        for (; s[n]; n++)
                if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
                        return false;
        return n == 2 * FILTER_CACHE_KEY_SIZE;
}

/* Keeps the directory bounded (every policy change adds entries): beyond max, the oldest written go. */
static int prune(int dfd, size_t max) {
        _cleanup_free_ Aged *all = NULL;
        size_t n = 0, n_alloc = 0;
        struct dirent *de;
        DIR *d;
        int fd;

        fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -ENOMEM;
        }
        while ((de = readdir(d))) {
                struct stat st;

                if (!is_entry_name(de->d_name) || fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISREG(st.st_mode))
                        continue;
                if (n == n_alloc) {
                        size_t na = MAX(n_alloc * 2, (size_t) 64);
                        Aged *nl = realloc(all, na * sizeof(Aged));

                        if (!nl) {
                                closedir(d);
                                return -ENOMEM;
                        }
                        all = nl;
                        n_alloc = na;
                }
                memcpy(all[n].name, de->d_name, sizeof all[n].name);
                all[n++].mtime = st.st_mtim;
        }
        closedir(d);
        if (n <= max)
                return 0;
        qsort(all, n, sizeof(Aged), aged_cmp);
        for (size_t i = 0; i < n - max; i++)
                (void) unlinkat(dfd, all[i].name, 0);
        return 0;
}

int filter_cache_store(const char *dir, const uint8_t key[static FILTER_CACHE_KEY_SIZE], const PolicyFilter *f) {
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        _cleanup_free_ uint8_t *data = NULL;
        char name[2 * FILTER_CACHE_KEY_SIZE + 1], tmp[sizeof name + 32];
        uint8_t secret[SECRET_SIZE];
        Buf b = {};
        int r;

        if (!key || !f)
                return -EINVAL;
        r = open_dir(dir ?: FILTER_CACHE_DEFAULT_DIR, true, &dfd);
        if (r < 0)
                return r;
        r = secret_get_or_make(dfd, secret);
        if (r < 0)
                return r;
        r = entry_serialize(key, secret, f, &b);
        explicit_bzero(secret, sizeof secret);
        data = b.data;
        if (r < 0)
                return r;
        key_to_name(key, name);
        /* Named by the thread: no live thread shares it, so one left by a crash can go. */
        snprintf(tmp, sizeof tmp, ".%s.%d.tmp", name, (int) gettid());
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno == EEXIST && unlinkat(dfd, tmp, 0) >= 0)
                fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return negative_errno();
        r = write_all(fd, data, b.size);
        if (r < 0)
                goto fail;
        /* A reader sees the old entry, none, or all of this one: never a part (and a torn write after a
         * crash fails its checksum). */
        if (renameat(dfd, tmp, dfd, name) < 0) {
                r = negative_errno();
                goto fail;
        }
        (void) prune(dfd, FILTER_CACHE_MAX_ENTRIES);
        return 0;
fail:
        (void) unlinkat(dfd, tmp, 0);
        return r;
}

int filter_cache_compile(const char *dir, const Policy *p, int identity, PolicyFilter **ret) {
        uint8_t key[FILTER_CACHE_KEY_SIZE];
        PolicyFilter *f = NULL;
        int r;

        if (!p || !ret)
                return -EINVAL;
        if (filter_cache_key(p, identity, key) < 0)
                return policy_compile(p, identity, ret);
        if (filter_cache_load(dir, key, &f) >= 0) {
                *ret = f;
                return 0;
        }
        r = policy_compile(p, identity, &f);
        if (r < 0)
                return r;
        (void) filter_cache_store(dir, key, f);
        *ret = f;
        return 0;
}
