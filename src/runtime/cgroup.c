/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

#include "forgeone/cgroup.h"
#include "forgeone/fs-util.h"
#include "forgeone/string-table.h"
#include "forgeone/time-util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

/* Hierarchies of a hybrid host that a container joins; "unified" is the v2 mount. */
static const char *const hybrid_hierarchies[] = { "memory", "pids", "cpu", "cpuacct", "freezer", "unified" };

struct Cgroup {
        CgroupLayout layout;
        char *root;
        char *relative; /* forgeone/<id> */
};

static const char *const cgroup_layout_table[_CGROUP_LAYOUT_MAX] = {
        [CGROUP_LAYOUT_UNIFIED] = "unified",
        [CGROUP_LAYOUT_HYBRID] = "hybrid",
};

DEFINE_STRING_TABLE_LOOKUP(cgroup_layout, CgroupLayout)

int cgroup_detect_layout(const char *root, CgroupLayout *ret) {
        _cleanup_free_ char *unified = NULL;
        struct statfs fs;

        root = root ?: CGROUP_DEFAULT_ROOT;
        if (statfs(root, &fs) < 0)
                return negative_errno();
        if ((uint64_t) fs.f_type == CGROUP2_SUPER_MAGIC) {
                *ret = CGROUP_LAYOUT_UNIFIED;
                return 0;
        }
        if ((uint64_t) fs.f_type != TMPFS_MAGIC)
                return -EOPNOTSUPP;
        if (asprintf(&unified, "%s/unified", root) < 0)
                return -ENOMEM;
        if (statfs(unified, &fs) < 0)
                return errno == ENOENT ? -EOPNOTSUPP : negative_errno();
        if ((uint64_t) fs.f_type != CGROUP2_SUPER_MAGIC)
                return -EOPNOTSUPP; /* pure v1: no cgroup.kill, no v2 freezer */
        *ret = CGROUP_LAYOUT_HYBRID;
        return 0;
}

void cgroup_format_cpu_max(uint64_t cpu_millis, char buf[static 48]) {
        if (cpu_millis == 0)
                snprintf(buf, 48, "max %u", CGROUP_CPU_PERIOD_USEC);
        else
                snprintf(buf, 48, "%" PRIu64 " %u", cpu_millis * CGROUP_CPU_PERIOD_USEC / 1000u,
                         CGROUP_CPU_PERIOD_USEC);
}

int cgroup_new(const char *root, CgroupLayout layout, const char *id, Cgroup **ret) {
        Cgroup *c;

        if (layout < 0 || layout >= _CGROUP_LAYOUT_MAX || !id || !*id || strchr(id, '/') || id[0] == '.')
                return -EINVAL;
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->layout = layout;
        c->root = strdup(root ?: CGROUP_DEFAULT_ROOT);
        if (!c->root || asprintf(&c->relative, "%s/%s", CGROUP_PARENT, id) < 0) {
                c->relative = NULL;
                cgroup_free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

Cgroup *cgroup_free(Cgroup *c) {
        if (!c)
                return NULL;
        free(c->root);
        free(c->relative);
        free(c);
        return NULL;
}

CgroupLayout cgroup_get_layout(const Cgroup *c) {
        return c->layout;
}

const char *cgroup_get_root(const Cgroup *c) {
        return c->root;
}

const char *cgroup_get_relative(const Cgroup *c) {
        return c->relative;
}

int cgroup_controller_path(const Cgroup *c, const char *controller, char **ret) {
        char *p;
        int k;

        if (c->layout == CGROUP_LAYOUT_UNIFIED)
                k = asprintf(&p, "%s/%s", c->root, c->relative);
        else {
                bool known = false;
                FOREACH_ELEMENT(h, hybrid_hierarchies)
                        if (streq(*h, controller))
                                known = true;
                if (!known)
                        return -EOPNOTSUPP;
                k = asprintf(&p, "%s/%s/%s", c->root, controller, c->relative);
        }
        if (k < 0)
                return -ENOMEM;
        *ret = p;
        return 0;
}

static int write_file(const char *dir, const char *file, const char *value) {
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t n = strlen(value);
        ssize_t k;

        if (asprintf(&p, "%s/%s", dir, file) < 0)
                return -ENOMEM;
        fd = open(p, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | (strncmp(dir, "/sys/", 5) == 0 ? 0 : O_TRUNC));
        if (fd < 0)
                return negative_errno();
        k = write(fd, value, n);
        if (k < 0)
                return negative_errno();
        return (size_t) k == n ? 0 : -EIO;
}

static int read_file(const char *dir, const char *file, char **ret) {
        _cleanup_free_ char *p = NULL, *buf = NULL;
        size_t n;
        int r;

        if (asprintf(&p, "%s/%s", dir, file) < 0)
                return -ENOMEM;
        r = read_full_file_at(AT_FDCWD, p, 4u << 20, &buf, &n);
        if (r < 0)
                return r;
        while (n > 0 && buf[n - 1] == '\n')
                buf[--n] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

int cgroup_read_attribute(const Cgroup *c, const char *controller, const char *file, char **ret) {
        _cleanup_free_ char *dir = NULL;
        int r;

        r = cgroup_controller_path(c, controller, &dir);
        if (r < 0)
                return r;
        return read_file(dir, file, ret);
}

/* Value of "key N" in a flat-keyed file such as memory.events or cgroup.events. */
static int keyed_value(const char *text, const char *key, uint64_t *ret) {
        size_t kl = strlen(key);

        for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                unsigned long long v;
                if (strncmp(l, key, kl) == 0 && l[kl] == ' ' && sscanf(l + kl + 1, "%llu", &v) == 1) {
                        *ret = v;
                        return 0;
                }
        }
        return -ENOENT;
}

static int mkdir_one(const char *path) {
        if (mkdir(path, 0755) < 0)
                return negative_errno();
        return 0;
}

/* Enables the controllers a container needs in dir's children, as far as dir offers them. */
static void enable_controllers(const char *dir) {
        _cleanup_free_ char *avail = NULL;
        static const char *const want[] = { "memory", "pids", "cpu" };

        if (read_file(dir, "cgroup.controllers", &avail) < 0)
                return;
        FOREACH_ELEMENT(w, want) {
                char word[32];
                bool present = false;

                for (const char *p = avail; *p;) {
                        size_t n = strcspn(p, " ");
                        if (n == strlen(*w) && strncmp(p, *w, n) == 0)
                                present = true;
                        p += n;
                        p += strspn(p, " ");
                }
                if (!present)
                        continue;
                snprintf(word, sizeof word, "+%s", *w);
                /* Failures surface when the limit file is missing in apply_limits, with its name. */
                (void) write_file(dir, "cgroup.subtree_control", word);
        }
}

int cgroup_create(Cgroup *c) {
        _cleanup_free_ char *parent = NULL, *self = NULL;
        int r;

        if (c->layout == CGROUP_LAYOUT_UNIFIED) {
                if (asprintf(&parent, "%s/%s", c->root, CGROUP_PARENT) < 0 ||
                    asprintf(&self, "%s/%s", c->root, c->relative) < 0)
                        return -ENOMEM;
                enable_controllers(c->root);
                r = mkdir_one(parent);
                if (r < 0 && r != -EEXIST)
                        return r;
                enable_controllers(parent);
                return mkdir_one(self);
        }

        FOREACH_ELEMENT(h, hybrid_hierarchies) {
                _cleanup_free_ char *hroot = NULL, *p = NULL, *s = NULL;
                struct stat st;

                if (asprintf(&hroot, "%s/%s", c->root, *h) < 0 || asprintf(&p, "%s/%s", hroot, CGROUP_PARENT) < 0 ||
                    asprintf(&s, "%s/%s", hroot, c->relative) < 0)
                        return -ENOMEM;
                if (stat(hroot, &st) < 0) {
                        /* A limit controller this host lacks is reported when its limit is set. */
                        if (errno == ENOENT && !streq(*h, "unified") && !streq(*h, "freezer"))
                                continue;
                        return negative_errno();
                }
                r = mkdir_one(p);
                if (r < 0 && r != -EEXIST)
                        return r;
                r = mkdir_one(s);
                /* cpu and cpuacct may be one hierarchy under two names. */
                if (r == -EEXIST && streq(*h, "cpuacct"))
                        continue;
                if (r < 0)
                        return r;
        }
        return 0;
}

static int apply_one(const char *dir, const char *file, const char *value, bool optional, char **ret_failed_file) {
        int r = write_file(dir, file, value);

        if (r == -ENOENT && optional)
                return 0;
        if (r < 0 && ret_failed_file && !*ret_failed_file)
                (void) asprintf(ret_failed_file, "%s/%s", dir, file);
        return r;
}

/* One limit file to write; optional ones may be missing on this host (no swap accounting, ...). */
typedef struct LimitWrite {
        const char *dir, *file;
        char value[48];
        bool optional;
} LimitWrite;

static void _printf_(6, 7) limit_write(LimitWrite *w, size_t *n, const char *dir, const char *file,
                                        bool optional, const char *format, ...) {
        va_list ap;

        w[*n] = (LimitWrite) { .dir = dir, .file = file, .optional = optional };
        va_start(ap, format);
        vsnprintf(w[*n].value, sizeof w[*n].value, format, ap);
        va_end(ap);
        (*n)++;
}

int cgroup_apply_limits(Cgroup *c, const CgroupLimits *l, char **ret_failed_file) {
        _cleanup_free_ char *mem = NULL, *pids = NULL, *cpu = NULL;
        LimitWrite w[8];
        size_t n = 0;
        int r;

        if (ret_failed_file)
                *ret_failed_file = NULL;
        if ((r = cgroup_controller_path(c, "memory", &mem)) < 0 || (r = cgroup_controller_path(c, "pids", &pids)) < 0 ||
            (r = cgroup_controller_path(c, "cpu", &cpu)) < 0)
                return r;

        if (c->layout == CGROUP_LAYOUT_UNIFIED) {
                if (l->memory_bytes > 0) {
                        limit_write(w, &n, mem, "memory.max", false, "%" PRIu64, l->memory_bytes);
                        /* No swap: the limit is what the container gets; absent without swap accounting. */
                        limit_write(w, &n, mem, "memory.swap.max", true, "0");
                        /* An OOM kill takes the whole container, not one arbitrary process of it. */
                        limit_write(w, &n, mem, "memory.oom.group", true, "1");
                }
                if (l->pids > 0)
                        limit_write(w, &n, pids, "pids.max", false, "%" PRIu64, l->pids);
                if (l->cpu_millis > 0) {
                        char cpu_max[48];
                        cgroup_format_cpu_max(l->cpu_millis, cpu_max);
                        limit_write(w, &n, cpu, "cpu.max", false, "%s", cpu_max);
                }
                if (l->cpu_weight > 0)
                        limit_write(w, &n, cpu, "cpu.weight", false, "%u",
                                    MIN(MAX(l->cpu_weight, 1u), 10000u));
        } else {
                if (l->memory_bytes > 0) {
                        /* limit_in_bytes first: memsw must never be below it. */
                        limit_write(w, &n, mem, "memory.limit_in_bytes", false, "%" PRIu64, l->memory_bytes);
                        limit_write(w, &n, mem, "memory.memsw.limit_in_bytes", true, "%" PRIu64,
                                    l->memory_bytes);
                        limit_write(w, &n, mem, "memory.swappiness", true, "0");
                }
                if (l->pids > 0)
                        limit_write(w, &n, pids, "pids.max", false, "%" PRIu64, l->pids);
                if (l->cpu_millis > 0) {
                        limit_write(w, &n, cpu, "cpu.cfs_period_us", false, "%u", CGROUP_CPU_PERIOD_USEC);
                        limit_write(w, &n, cpu, "cpu.cfs_quota_us", false, "%" PRIu64,
                                    l->cpu_millis * CGROUP_CPU_PERIOD_USEC / 1000u);
                }
                if (l->cpu_weight > 0)
                        limit_write(w, &n, cpu, "cpu.shares", false, "%u",
                                    (unsigned) MIN(MAX((uint64_t) l->cpu_weight * 1024u / 100u, 2u),
                                                   262144u));
        }

        assert(n <= ELEMENTSOF(w));
        for (size_t i = 0; i < n; i++) {
                r = apply_one(w[i].dir, w[i].file, w[i].value, w[i].optional, ret_failed_file);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cgroup_set_cpu_weight(Cgroup *c, unsigned weight) {
        CgroupLimits l = { .cpu_weight = weight };

        if (weight == 0)
                return -EINVAL;
        return cgroup_apply_limits(c, &l, NULL);
}

int cgroup_open_unified(const Cgroup *c) {
        _cleanup_free_ char *dir = NULL;
        int fd, r;

        r = cgroup_controller_path(c, "unified", &dir);
        if (r < 0)
                return r;
        fd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        return fd < 0 ? negative_errno() : fd;
}

int cgroup_attach(Cgroup *c, pid_t pid, bool skip_unified) {
        char buf[32];
        int r;

        snprintf(buf, sizeof buf, "%d", (int) pid);
        if (c->layout == CGROUP_LAYOUT_UNIFIED) {
                if (skip_unified)
                        return 0;
                _cleanup_free_ char *dir = NULL;
                r = cgroup_controller_path(c, "unified", &dir);
                if (r < 0)
                        return r;
                return write_file(dir, "cgroup.procs", buf);
        }
        FOREACH_ELEMENT(h, hybrid_hierarchies) {
                _cleanup_free_ char *dir = NULL;
                if (skip_unified && streq(*h, "unified"))
                        continue;
                r = cgroup_controller_path(c, *h, &dir);
                if (r < 0)
                        return r;
                r = write_file(dir, "cgroup.procs", buf);
                if (r == -ENOENT && !streq(*h, "unified") && !streq(*h, "freezer"))
                        continue; /* controller not on this host; its limit, if asked for, already failed */
                if (r < 0)
                        return r;
        }
        return 0;
}

static const char *const cpu_hierarchies[] = { "cpu", "cpuacct" };

int cgroup_attach_thread_cpu(Cgroup *c, pid_t tid) {
        char buf[32];
        int r;

        if (c->layout != CGROUP_LAYOUT_HYBRID)
                return -EOPNOTSUPP;
        snprintf(buf, sizeof buf, "%d", (int) tid);
        FOREACH_ELEMENT(h, cpu_hierarchies) {
                _cleanup_free_ char *dir = NULL;
                r = cgroup_controller_path(c, *h, &dir);
                if (r < 0)
                        return r;
                r = write_file(dir, "tasks", buf);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return r;
        }
        return 0;
}

int cgroup_thread_cpu_path(const Cgroup *c, pid_t tid, char **ret_path) {
        char path[64], line[1024];
        FILE *f;

        snprintf(path, sizeof path, "/proc/self/task/%d/cgroup", (int) tid);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        /* "N:cpu,cpuacct:/path" (v1) */
        while (fgets(line, sizeof line, f)) {
                char *ctl = strchr(line, ':'), *rel;
                if (!ctl || !(rel = strchr(ctl + 1, ':')))
                        continue;
                *rel++ = 0;
                rel[strcspn(rel, "\n")] = 0;
                for (char *tok = strtok(ctl + 1, ","); tok; tok = strtok(NULL, ","))
                        if (streq(tok, "cpu")) {
                                fclose(f);
                                *ret_path = strdup(rel);
                                return *ret_path ? 0 : -ENOMEM;
                        }
        }
        fclose(f);
        return -ENOENT;
}

int cgroup_move_thread_cpu_to(const Cgroup *c, const char *path, pid_t tid) {
        char buf[32];
        int r = 0;

        snprintf(buf, sizeof buf, "%d", (int) tid);
        FOREACH_ELEMENT(h, cpu_hierarchies) {
                _cleanup_free_ char *dir = NULL;
                int k;

                if (asprintf(&dir, "%s/%s%s", c->root, *h, path) < 0)
                        return -ENOMEM;
                k = write_file(dir, "tasks", buf);
                if (k < 0 && k != -ENOENT && r == 0)
                        r = k;
        }
        return r;
}

int cgroup_is_frozen(Cgroup *c) {
        _cleanup_free_ char *dir = NULL, *text = NULL;
        uint64_t v;
        int r;

        if (c->layout == CGROUP_LAYOUT_UNIFIED) {
                r = cgroup_controller_path(c, "unified", &dir);
                if (r < 0)
                        return r;
                r = read_file(dir, "cgroup.events", &text);
                if (r < 0)
                        return r;
                r = keyed_value(text, "frozen", &v);
                if (r < 0)
                        return -EOPNOTSUPP;
                return v == 1;
        }
        r = cgroup_controller_path(c, "freezer", &dir);
        if (r < 0)
                return r;
        r = read_file(dir, "freezer.state", &text);
        if (r < 0)
                return r;
        return streq(text, "FROZEN");
}

int cgroup_set_frozen(Cgroup *c, bool frozen, uint64_t timeout_usec) {
        _cleanup_free_ char *dir = NULL;
        uint64_t deadline;
        int r;

        if (c->layout == CGROUP_LAYOUT_UNIFIED) {
                r = cgroup_controller_path(c, "unified", &dir);
                if (r < 0)
                        return r;
                r = write_file(dir, "cgroup.freeze", frozen ? "1" : "0");
        } else {
                r = cgroup_controller_path(c, "freezer", &dir);
                if (r < 0)
                        return r;
                r = write_file(dir, "freezer.state", frozen ? "FROZEN" : "THAWED");
        }
        if (r < 0)
                return r;

        /* Freezing completes asynchronously (v2 "frozen 1" in cgroup.events; v1 FREEZING -> FROZEN). */
        deadline = time_now_usec(CLOCK_MONOTONIC) + timeout_usec;
        for (uint64_t delay = 100;; delay = MIN(delay * 2, (uint64_t) 10000)) {
                r = cgroup_is_frozen(c);
                if (r < 0)
                        return r;
                if (r == frozen)
                        return 0;
                if (time_now_usec(CLOCK_MONOTONIC) >= deadline)
                        return -ETIMEDOUT;
                if (c->layout == CGROUP_LAYOUT_HYBRID && frozen) /* v1 retries the freeze on write */
                        (void) write_file(dir, "freezer.state", "FROZEN");
                time_sleep_usec(delay);
        }
}

static int read_pids(Cgroup *c, pid_t **ret, size_t *ret_n) {
        _cleanup_free_ char *dir = NULL, *text = NULL;
        pid_t *l = NULL;
        size_t n = 0;
        int r;

        r = cgroup_controller_path(c, "unified", &dir);
        if (r < 0)
                return r;
        r = read_file(dir, "cgroup.procs", &text);
        if (r < 0)
                return r;
        for (char *p = text; *p;) {
                char *end;
                long v = strtol(p, &end, 10);
                if (end == p)
                        break;
                if (v > 0) {
                        pid_t *nl = realloc(l, (n + 1) * sizeof *l);
                        if (!nl) {
                                free(l);
                                return -ENOMEM;
                        }
                        l = nl;
                        l[n++] = (pid_t) v;
                }
                p = end;
                while (*p == '\n')
                        p++;
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

int cgroup_signal_all(Cgroup *c, int sig) {
        _cleanup_free_ pid_t *l = NULL;
        size_t n = 0;
        int r, count = 0;

        r = read_pids(c, &l, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (kill(l[i], sig) >= 0)
                        count++;
        return count;
}

int cgroup_is_empty(Cgroup *c) {
        _cleanup_free_ pid_t *l = NULL;
        size_t n = 0;
        int r;

        r = read_pids(c, &l, &n);
        if (r == -ENOENT)
                return 1;
        if (r < 0)
                return r;
        return n == 0;
}

int cgroup_kill_all(Cgroup *c, uint64_t timeout_usec) {
        _cleanup_free_ char *dir = NULL;
        uint64_t deadline = time_now_usec(CLOCK_MONOTONIC) + timeout_usec;
        bool have_kill;
        int r;

        r = cgroup_controller_path(c, "unified", &dir);
        if (r < 0)
                return r;
        r = write_file(dir, "cgroup.kill", "1");
        if (r == -ENOENT)
                return 0; /* the cgroup is gone: nothing left to kill */
        have_kill = r >= 0;

        for (uint64_t delay = 200;; delay = MIN(delay * 2, (uint64_t) 20000)) {
                if (!have_kill)
                        (void) cgroup_signal_all(c, SIGKILL);
                /* v1-frozen tasks take a SIGKILL only once thawed. */
                if (c->layout == CGROUP_LAYOUT_HYBRID)
                        (void) cgroup_set_frozen(c, false, 0);
                r = cgroup_is_empty(c);
                if (r != 0)
                        return r < 0 ? r : 0;
                if (time_now_usec(CLOCK_MONOTONIC) >= deadline)
                        return -ETIMEDOUT;
                time_sleep_usec(delay);
        }
}

int cgroup_oom_kills(Cgroup *c, uint64_t *ret) {
        _cleanup_free_ char *text = NULL;
        int r;

        if (c->layout == CGROUP_LAYOUT_UNIFIED)
                r = cgroup_read_attribute(c, "memory", "memory.events", &text);
        else
                r = cgroup_read_attribute(c, "memory", "memory.oom_control", &text);
        if (r < 0)
                return r;
        r = keyed_value(text, "oom_kill", ret);
        return r == -ENOENT ? -EOPNOTSUPP : r;
}

static int rmdir_retry(const char *path) {
        for (unsigned i = 0;; i++) {
                if (rmdir(path) >= 0 || errno == ENOENT)
                        return 0;
                if (errno != EBUSY || i >= 50)
                        return negative_errno();
                time_sleep_usec(2000); /* exiting tasks leave the cgroup asynchronously */
        }
}

int cgroup_remove(Cgroup *c) {
        int r = 0;

        if (c->layout == CGROUP_LAYOUT_UNIFIED) {
                _cleanup_free_ char *dir = NULL;
                r = cgroup_controller_path(c, "unified", &dir);
                if (r < 0)
                        return r;
                return rmdir_retry(dir);
        }
        FOREACH_ELEMENT(h, hybrid_hierarchies) {
                _cleanup_free_ char *dir = NULL;
                int k = cgroup_controller_path(c, *h, &dir);
                if (k >= 0)
                        k = rmdir_retry(dir);
                if (k < 0 && r >= 0)
                        r = k;
        }
        return r;
}
