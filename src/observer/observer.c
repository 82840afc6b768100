/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The observer's loader (libbpf, the skeleton of bpf/observer.bpf.c): load, pin, register workloads, read
 * the counts, and the sink consumer that matches decisions with exits and takes the kernel filter's
 * denials to trust and the audit. See observer.h. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/audit.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "forgeone/hashmap.h"
#include "forgeone/observer.h"
#include "forgeone/policy.h"
#include "forgeone/sha256.h"
#include "forgeone/syscall-table.h"
#include "forgeone/time-util.h"
#include "observer-internal.h"
#include "observer.skel.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#define COMPAT_ARCH AUDIT_ARCH_I386
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#define COMPAT_ARCH 0u
#else
#error "no audit arch for this architecture"
#endif

/* Unpaired decisions and exits wait this many ticks (seconds) for their other half. */
#define MATCH_MAX_AGE 3u

/* The maps a reader of the pins needs, by their names in the object (and the pin directory). */
static const char *const pinned_maps[] = { "workloads", "pidns", "syscalls", "kernel_denials", "stats",
                                           "decisions" };

typedef struct KernelDenial {
        uint32_t nr; /* | FO_NR_COMPAT */
        uint32_t error;
        uint64_t seen; /* the total already taken */
} KernelDenial;

/* What the compiler said about one syscall number (PolicyCompiledSyscall), for naming the rule behind a
 * kernel denial. */
typedef struct KernelRule {
        int nr;
        PolicyKernelAction action;
        bool conditional;
        int errno_value;
        char *rule;
} KernelRule;

typedef struct PendingDecision {
        struct fo_decision_key key;
        struct fo_decision_count count;
} PendingDecision;

typedef struct Watched {
        char id[FO_ID_SIZE];
        uint32_t slot;
        uint32_t pidns;
        uint32_t filter;
        Supervisor *supervisor;
        Matcher *matcher;
        char *identity, *policy_digest;
        uint64_t generation;
        KernelRule *rules; /* by nr */
        size_t n_rules;
        char *default_rule;
        KernelDenial *denials;
        size_t n_denials;
        uint64_t ring_lost; /* as last read */
        PendingDecision pending[32]; /* counts for the decisions map, not yet added to it */
        size_t n_pending;
        struct fo_workload info; /* as last written */
} Watched;

typedef struct FilterSlot {
        uint8_t digest[SHA256_DIGEST_SIZE];
        unsigned refs;
        uint64_t may_errno[FO_NR_WORDS], may_notify[FO_NR_WORDS];
} FilterSlot;

struct Observer {
        pthread_mutex_t lock;
        struct observer_bpf *skel;
        struct ring_buffer *ring;
        struct bpf_link *enter, *exit;
        char *pin_dir;
        char pin_error[OBSERVER_REASON_MAX];
        char name[64];
        EventSink *sink;
        Hashmap *by_id;
        Watched *slots[FO_MAX_WORKLOADS];
        size_t n_watched;
        FilterSlot filters[FO_MAX_FILTERS];
        int ncpus;
        ObserverCounts counts;
        uint64_t samples;
};

static const char *strempty_(const char *s) {
        return s ?: "";
}

/* ---- libbpf's messages: the library does not log; the last warning says why a load failed ---- */

static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_libbpf_warning[OBSERVER_REASON_MAX];

static int libbpf_print(enum libbpf_print_level level, const char *format, va_list ap) {
        char buf[OBSERVER_REASON_MAX];
        size_t n;

        if (level != LIBBPF_WARN)
                return 0;
        vsnprintf(buf, sizeof buf, format, ap);
        n = strlen(buf);
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
                buf[--n] = 0;
        pthread_mutex_lock(&print_lock);
        snprintf(last_libbpf_warning, sizeof last_libbpf_warning, "%s", buf);
        pthread_mutex_unlock(&print_lock);
        return 0;
}

_printf_(2, 3) static int say(char *why, const char *format, ...) {
        va_list ap;

        if (!why)
                return 0;
        va_start(ap, format);
        vsnprintf(why, OBSERVER_REASON_MAX, format, ap);
        va_end(ap);
        return 0;
}

/* ---- pins ---- */

static int remove_dir_files(const char *dir) {
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d;
        struct dirent *de;

        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d)
                return -errno;
        fd = -EBADF;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
        return rmdir(dir) < 0 ? -errno : 0;
}

/* "NAME-PID": the owner's pid is what tells a stale directory from a live one. */
static pid_t owner_pid(const char *name) {
        const char *dash = strrchr(name, '-');
        char *end;
        long v;

        if (!dash || !dash[1])
                return 0;
        errno = 0;
        v = strtol(dash + 1, &end, 10);
        if (errno || *end || v <= 0 || v > INT32_MAX)
                return 0;
        return (pid_t) v;
}

static bool owner_alive(const char *name) {
        pid_t pid = owner_pid(name);

        return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* Directories owners that died without cleaning up left behind. */
static void remove_stale(const char *root) {
        _cleanup_close_ int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d;
        struct dirent *de;

        if (fd < 0)
                return;
        d = fdopendir(fd);
        if (!d)
                return;
        fd = -EBADF;
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;

                if (de->d_name[0] == '.' || owner_pid(de->d_name) == 0 || owner_alive(de->d_name))
                        continue;
                if (asprintf(&p, "%s/%s", root, de->d_name) >= 0)
                        (void) remove_dir_files(p);
        }
        closedir(d);
}

static void unpin_all(Observer *o) {
        if (!o->pin_dir)
                return;
        if (o->skel)
                FOREACH_ELEMENT (n, pinned_maps) {
                        struct bpf_map *m = bpf_object__find_map_by_name(o->skel->obj, *n);
                        _cleanup_free_ char *p = NULL;

                        if (m && asprintf(&p, "%s/%s", o->pin_dir, *n) >= 0)
                                (void) bpf_map__unpin(m, p);
                }
        (void) remove_dir_files(o->pin_dir);
        free(o->pin_dir);
        o->pin_dir = NULL;
}

static int pin_all(Observer *o, const char *root, char *why) {
        _cleanup_free_ char *parent = strdup(root);
        struct statfs sf;
        char *slash;
        int r;

        if (!parent)
                return -ENOMEM;
        slash = strrchr(parent, '/');
        if (slash && slash != parent)
                *slash = 0;
        if (statfs(parent, &sf) < 0 || (unsigned long) sf.f_type != BPF_FS_MAGIC)
                return say(why, "no BPF file system is mounted on %s (mount -t bpf bpf %s)", parent, parent),
                       -ENOTDIR;
        if (mkdir(root, 0755) < 0 && errno != EEXIST)
                return r = -errno, say(why, "cannot create %s: %s", root, strerror(-r)), r;
        remove_stale(root);
        if (asprintf(&o->pin_dir, "%s/%s", root, o->name) < 0)
                return -ENOMEM;
        (void) remove_dir_files(o->pin_dir); /* ours by name: whatever is there is stale */
        if (mkdir(o->pin_dir, 0755) < 0) {
                r = -errno;
                say(why, "cannot create %s: %s", o->pin_dir, strerror(-r));
                free(o->pin_dir);
                o->pin_dir = NULL;
                return r;
        }
        FOREACH_ELEMENT (n, pinned_maps) {
                struct bpf_map *m = bpf_object__find_map_by_name(o->skel->obj, *n);
                _cleanup_free_ char *p = NULL;

                if (!m)
                        return -ENOENT;
                if (asprintf(&p, "%s/%s", o->pin_dir, *n) < 0)
                        return -ENOMEM;
                r = bpf_map__pin(m, p);
                if (r < 0) {
                        say(why, "cannot pin the map %s at %s: %s", *n, p, strerror(-r));
                        return r;
                }
        }
        return 0;
}

/* ---- life ---- */

static int attach(Observer *o) {
        if (o->enter)
                return 0;
        o->enter = bpf_program__attach(o->skel->progs.fo_sys_enter);
        if (!o->enter)
                return negative_errno();
        o->exit = bpf_program__attach(o->skel->progs.fo_sys_exit);
        if (!o->exit) {
                int r = negative_errno();
                bpf_link__destroy(o->enter);
                o->enter = NULL;
                return r;
        }
        return 0;
}

static void detach(Observer *o) {
        bpf_link__destroy(o->exit);
        bpf_link__destroy(o->enter);
        o->exit = o->enter = NULL;
}

static int handle_event(void *ctx, void *data, size_t size);
static void observer_consume(const EventRecord *r, void *userdata);

/* Our pid namespace's level below the host's: the ids /proc/self/status NSpid lists, less one. */
static int pidns_level(void) {
        _cleanup_free_ char *line = NULL;
        size_t n = 0;
        FILE *f = fopen("/proc/self/status", "re");
        int level = -ENOENT;

        if (!f)
                return -errno;
        while (getline(&line, &n, f) > 0)
                if (strncmp(line, "NSpid:", 6) == 0) {
                        level = -1;
                        for (char *t = strtok(line + 6, " \t\n"); t; t = strtok(NULL, " \t\n"))
                                level++;
                        break;
                }
        fclose(f);
        return level < 0 && level != -ENOENT ? -EBADMSG : level;
}

int observer_new(const ObserverConfig *c, Observer **ret, char *why) {
        _cleanup_(observer_freep) Observer *o = NULL;
        struct stat st;
        int r;

        if (!ret)
                return -EINVAL;
        say(why, "%s", "");
        o = calloc(1, sizeof *o);
        if (!o)
                return -ENOMEM;
        pthread_mutex_init(&o->lock, NULL);
        if (c && c->name)
                snprintf(o->name, sizeof o->name, "%s-%d", c->name, (int) getpid());
        else
                snprintf(o->name, sizeof o->name, "run-%d", (int) getpid());
        r = hashmap_new(&o->by_id);
        if (r < 0)
                return r;
        o->ncpus = libbpf_num_possible_cpus();
        if (o->ncpus <= 0)
                return say(why, "cannot count the possible CPUs"), o->ncpus < 0 ? o->ncpus : -EIO;

        libbpf_set_print(libbpf_print);
        o->skel = observer_bpf__open();
        if (!o->skel) {
                r = negative_errno();
                return say(why, "cannot open the BPF object: %s", strerror(-r)), r;
        }
        if (stat("/proc/self/ns/pid", &st) < 0) {
                r = -errno;
                return say(why, "cannot stat /proc/self/ns/pid: %s", strerror(-r)), r;
        }
        o->skel->rodata->loader_pidns_ino = (uint32_t) st.st_ino;
        r = pidns_level();
        if (r < 0)
                return say(why, "cannot read the level of our pid namespace: %s", strerror(-r)), r;
        o->skel->rodata->loader_pidns_level = (uint32_t) r;
        o->skel->rodata->native_arch = NATIVE_ARCH;
        o->skel->rodata->compat_arch = COMPAT_ARCH;
        last_libbpf_warning[0] = 0;
        r = observer_bpf__load(o->skel);
        if (r < 0) {
                if (r == -EPERM || r == -EACCES)
                        say(why, "the kernel refused to load the BPF programs (%s): the observer needs CAP_BPF "
                                 "and CAP_PERFMON (run as root)",
                            strerror(-r));
                else {
                        pthread_mutex_lock(&print_lock);
                        say(why, "the kernel refused to load the BPF programs: %s%s%s", strerror(-r),
                            last_libbpf_warning[0] ? ": " : "", last_libbpf_warning);
                        pthread_mutex_unlock(&print_lock);
                }
                return r;
        }
        o->skel->bss->sample_every = c ? c->sample_every : 0;
        /* Pins are for readers elsewhere (top --local, bpftool): without them the observer still works. */
        r = pin_all(o, c && c->pin_root ? c->pin_root : OBSERVER_PIN_ROOT, o->pin_error);
        if (r < 0) {
                if (!o->pin_error[0])
                        say(o->pin_error, "cannot pin the observer's maps: %s", strerror(-r));
                unpin_all(o);
        }
        o->ring = ring_buffer__new(bpf_map__fd(o->skel->maps.events), handle_event, o, NULL);
        if (!o->ring) {
                r = negative_errno();
                return say(why, "cannot set up the ring buffer: %s", strerror(-r)), r;
        }
        *ret = TAKE_PTR(o);
        return 0;
}

static void watched_free(Watched *w) {
        if (!w)
                return;
        matcher_free(w->matcher);
        free(w->identity);
        free(w->policy_digest);
        for (size_t i = 0; i < w->n_rules; i++)
                free(w->rules[i].rule);
        free(w->rules);
        free(w->default_rule);
        free(w->denials);
        free(w);
}

Observer *observer_free(Observer *o) {
        if (!o)
                return NULL;
        if (o->sink)
                event_sink_remove_consumer(o->sink, observer_consume, o);
        if (o->skel)
                detach(o);
        ring_buffer__free(o->ring);
        for (size_t i = 0; i < FO_MAX_WORKLOADS; i++)
                watched_free(o->slots[i]);
        hashmap_free(o->by_id);
        unpin_all(o);
        observer_bpf__destroy(o->skel);
        pthread_mutex_destroy(&o->lock);
        free(o);
        return NULL;
}

const char *observer_get_pin_dir(const Observer *o) {
        return o ? o->pin_dir : NULL;
}

const char *observer_get_pin_error(const Observer *o) {
        return o && o->pin_error[0] ? o->pin_error : NULL;
}

/* ---- per-CPU values ---- */

/* buf: one value per possible CPU, each rounded up to 8 bytes. */
static int percpu_lookup(int fd, const void *key, void *buf) {
        return bpf_map_lookup_elem(fd, key, buf) < 0 ? negative_errno() : 0;
}

static size_t percpu_stride(size_t value_size) {
        return (value_size + 7) & ~(size_t) 7;
}

static void sum_sc(const void *buf, int ncpus, struct fo_sc_count *ret) {
        size_t stride = percpu_stride(sizeof *ret);

        *ret = (struct fo_sc_count){};
        for (int i = 0; i < ncpus; i++) {
                const struct fo_sc_count *v = (const void *) ((const uint8_t *) buf + (size_t) i * stride);
                ret->calls += v->calls;
                ret->errors += v->errors;
                ret->kernel_denied += v->kernel_denied;
                ret->answered += v->answered;
        }
}

static void sum_stats(const void *buf, int ncpus, struct fo_stats *ret) {
        size_t stride = percpu_stride(sizeof *ret);

        *ret = (struct fo_stats){};
        for (int i = 0; i < ncpus; i++) {
                const struct fo_stats *v = (const void *) ((const uint8_t *) buf + (size_t) i * stride);
                ret->other_skipped += v->other_skipped;
                ret->interrupted += v->interrupted;
                ret->unclassified += v->unclassified;
                ret->ring_lost += v->ring_lost;
        }
}

static uint64_t sum_u64(const void *buf, int ncpus) {
        uint64_t t = 0;

        for (int i = 0; i < ncpus; i++)
                t += ((const uint64_t *) buf)[i];
        return t;
}

static int read_stats(int fd, uint32_t slot, int ncpus, struct fo_stats *ret) {
        _cleanup_free_ void *buf = calloc((size_t) ncpus, percpu_stride(sizeof(struct fo_stats)));
        int r;

        if (!buf)
                return -ENOMEM;
        r = percpu_lookup(fd, &slot, buf);
        if (r < 0)
                return r;
        sum_stats(buf, ncpus, ret);
        return 0;
}

/* Deletes every key of map fd whose first 32 bits are slot. */
static void delete_slot_keys(int fd, size_t key_size, uint32_t slot) {
        _cleanup_free_ uint8_t *key = calloc(1, key_size), *next = calloc(1, key_size);
        bool first = true;

        if (!key || !next)
                return;
        while (bpf_map_get_next_key(fd, first ? NULL : key, next) == 0) {
                uint32_t s;

                memcpy(&s, next, sizeof s);
                if (s == slot && bpf_map_delete_elem(fd, next) == 0)
                        continue; /* key stays where it was: the next one follows it */
                memcpy(key, next, key_size);
                first = false;
        }
}

/* ---- workloads ---- */

static Watched *find_slot(Observer *o, uint32_t slot) {
        return slot < FO_MAX_WORKLOADS ? o->slots[slot] : NULL;
}

static int filter_slot_take(Observer *o, const PolicyFilter *f, uint32_t *ret) {
        uint8_t digest[SHA256_DIGEST_SIZE];
        int free_slot = -1, r;

        if (!f || f->n_insns == 0 || f->n_insns > FO_MAX_INSNS) {
                *ret = FO_FILTER_NONE;
                return 0;
        }
        sha256_buffer(f->insns, f->n_insns * sizeof f->insns[0], digest);
        for (uint32_t i = 0; i < FO_MAX_FILTERS; i++) {
                if (o->filters[i].refs > 0 && memcmp(o->filters[i].digest, digest, sizeof digest) == 0) {
                        o->filters[i].refs++;
                        *ret = i;
                        return 0;
                }
                if (o->filters[i].refs == 0 && free_slot < 0)
                        free_slot = (int) i;
        }
        if (free_slot < 0) {
                /* All taken: the workload's ambiguous calls go uncounted (stats' unclassified). */
                *ret = FO_FILTER_NONE;
                return 0;
        }
        {
                _cleanup_free_ struct fo_filter *ff = calloc(1, sizeof *ff);
                uint32_t key = (uint32_t) free_slot;
                FilterSlot *fs = &o->filters[free_slot];

                if (!ff)
                        return -ENOMEM;
                ff->n_insns = (uint32_t) f->n_insns;
                ff->arch = NATIVE_ARCH;
                for (size_t i = 0; i < f->n_insns; i++)
                        ff->insns[i] = (struct fo_insn){ f->insns[i].code, f->insns[i].jt, f->insns[i].jf,
                                                         f->insns[i].k };
                r = bpf_map_update_elem(bpf_map__fd(o->skel->maps.filters), &key, ff, BPF_ANY);
                if (r < 0)
                        return negative_errno();
                memcpy(fs->digest, digest, sizeof digest);
                observer_filter_bitmaps(f, NATIVE_ARCH, fs->may_errno, fs->may_notify);
                fs->refs = 1;
        }
        *ret = (uint32_t) free_slot;
        return 0;
}

static void filter_slot_put(Observer *o, uint32_t slot) {
        if (slot < FO_MAX_FILTERS && o->filters[slot].refs > 0)
                o->filters[slot].refs--;
}

static int copy_rules(Watched *w, const PolicyFilter *f) {
        if (!f)
                return 0;
        w->rules = calloc(f->n_syscalls ?: 1, sizeof *w->rules);
        if (!w->rules)
                return -ENOMEM;
        for (size_t i = 0; i < f->n_syscalls; i++) {
                const PolicyCompiledSyscall *cs = &f->syscalls[i];

                w->rules[w->n_rules] = (KernelRule){
                        .nr = cs->nr,
                        .action = cs->action,
                        .conditional = cs->conditional,
                        .errno_value = cs->errno_value,
                        .rule = strdup(strempty_(cs->rule_id)),
                };
                if (!w->rules[w->n_rules].rule)
                        return -ENOMEM;
                w->n_rules++;
        }
        w->default_rule = strdup(f->default_action == POLICY_KERNEL_ERRNO ? "default" : "kernel-filter");
        return w->default_rule ? 0 : -ENOMEM;
}

/* The rule behind a denial the kernel filter made with error: the syscall's own deny rule; the default when
 * the syscall falls to it (no rule, or a conditional one that did not match); the built-in one of a call
 * otherwise sent to the supervisor (seccomp asking for a listener). "kernel-filter" when unknown. */
static const char *rule_of(const Watched *w, uint32_t nrkey, uint32_t error) {
        if (nrkey & FO_NR_COMPAT)
                return "kernel-filter";
        for (size_t i = 0; i < w->n_rules; i++) {
                const KernelRule *k = &w->rules[i];

                if ((uint32_t) k->nr != nrkey)
                        continue;
                switch (k->action) {
                case POLICY_KERNEL_ERRNO:
                        if (!k->conditional || (uint32_t) k->errno_value == error)
                                return k->rule;
                        return w->default_rule ?: "kernel-filter";
                case POLICY_KERNEL_ALLOW:
                        return w->default_rule ?: "kernel-filter";
                default:
                        return "builtin";
                }
        }
        return w->default_rule ?: "kernel-filter";
}

static void write_info(Observer *o, Watched *w) {
        (void) bpf_map_update_elem(bpf_map__fd(o->skel->maps.workloads), &w->slot, &w->info, BPF_ANY);
}

static void bump_epoch(Observer *o) {
        __atomic_add_fetch(&o->skel->bss->epoch, 1, __ATOMIC_SEQ_CST);
}

int observer_add_workload(Observer *o, const ObserverWorkload *c) {
        _cleanup_free_ char *nspath = NULL;
        Watched *w = NULL;
        struct stat st;
        uint32_t slot = FO_SLOT_NONE;
        int r;

        if (!o || !c || !c->id || strlen(c->id) >= FO_ID_SIZE || c->pid <= 0)
                return -EINVAL;
        if (asprintf(&nspath, "/proc/%d/ns/pid", (int) c->pid) < 0)
                return -ENOMEM;
        if (stat(nspath, &st) < 0)
                return -errno;

        pthread_mutex_lock(&o->lock);
        if (hashmap_get(o->by_id, c->id)) {
                r = -EEXIST;
                goto fail;
        }
        for (uint32_t i = 0; i < FO_MAX_WORKLOADS; i++)
                if (!o->slots[i]) {
                        slot = i;
                        break;
                }
        if (slot == FO_SLOT_NONE) {
                r = -ENOSPC;
                goto fail;
        }
        w = calloc(1, sizeof *w);
        if (!w) {
                r = -ENOMEM;
                goto fail;
        }
        snprintf(w->id, sizeof w->id, "%s", c->id);
        w->slot = slot;
        w->pidns = (uint32_t) st.st_ino;
        w->supervisor = c->supervisor;
        w->generation = c->generation;
        w->filter = FO_FILTER_NONE;
        r = matcher_new(&w->matcher);
        if (r < 0)
                goto fail;
        if ((c->identity && !(w->identity = strdup(c->identity))) ||
            (c->policy_digest && !(w->policy_digest = strdup(c->policy_digest)))) {
                r = -ENOMEM;
                goto fail;
        }
        r = copy_rules(w, c->filter);
        if (r < 0)
                goto fail;
        r = filter_slot_take(o, c->filter, &w->filter);
        if (r < 0)
                goto fail;

        memcpy(w->info.id, w->id, sizeof w->info.id);
        w->info.flags = FO_WORKLOAD_ACTIVE | (c->skip_init ? FO_WORKLOAD_SKIP_INIT : 0);
        w->info.filter = w->filter;
        w->info.pidns = w->pidns;
        w->info.trust = c->supervisor ? supervisor_get_trust(c->supervisor) : -1;
        w->info.started_ns = time_now_usec(CLOCK_MONOTONIC) * 1000u;
        if (c->cgroup_fd >= 0 && fstat(c->cgroup_fd, &st) >= 0)
                w->info.cgroup_id = st.st_ino;
        if (w->filter != FO_FILTER_NONE) {
                memcpy(w->info.may_errno, o->filters[w->filter].may_errno, sizeof w->info.may_errno);
                memcpy(w->info.may_notify, o->filters[w->filter].may_notify, sizeof w->info.may_notify);
        } else {
                /* Without the filter, only its table: both possible everywhere (the calls go unclassified). */
                memset(w->info.may_errno, 0xff, sizeof w->info.may_errno);
                memset(w->info.may_notify, 0xff, sizeof w->info.may_notify);
        }
        /* A slot's counters start from zero (its last user's were deleted when it left). */
        {
                _cleanup_free_ void *zero = calloc((size_t) o->ncpus, percpu_stride(sizeof(struct fo_stats)));
                if (!zero) {
                        r = -ENOMEM;
                        goto fail_filter;
                }
                if (bpf_map_update_elem(bpf_map__fd(o->skel->maps.stats), &slot, zero, BPF_ANY) < 0) {
                        r = negative_errno();
                        goto fail_filter;
                }
        }
        if (bpf_map_update_elem(bpf_map__fd(o->skel->maps.workloads), &slot, &w->info, BPF_ANY) < 0) {
                r = negative_errno();
                goto fail_filter;
        }
        if (bpf_map_update_elem(bpf_map__fd(o->skel->maps.pidns), &w->pidns, &slot, BPF_NOEXIST) < 0) {
                r = negative_errno();
                goto fail_info;
        }
        r = hashmap_put(o->by_id, w->id, w);
        if (r < 0)
                goto fail_pidns;
        o->slots[slot] = w;
        o->n_watched++;
        o->counts.workloads = o->n_watched;
        __atomic_store_n(&o->skel->bss->n_workloads, (uint32_t) o->n_watched, __ATOMIC_SEQ_CST);
        bump_epoch(o);
        r = attach(o);
        if (r < 0) {
                o->slots[slot] = NULL;
                (void) hashmap_remove(o->by_id, w->id);
                o->n_watched--;
                o->counts.workloads = o->n_watched;
                __atomic_store_n(&o->skel->bss->n_workloads, (uint32_t) o->n_watched, __ATOMIC_SEQ_CST);
                goto fail_pidns;
        }
        pthread_mutex_unlock(&o->lock);
        return 0;

fail_pidns:
        (void) bpf_map_delete_elem(bpf_map__fd(o->skel->maps.pidns), &w->pidns);
        bump_epoch(o);
fail_info:
        w->info = (struct fo_workload){};
        write_info(o, w);
fail_filter:
        filter_slot_put(o, w->filter);
fail:
        pthread_mutex_unlock(&o->lock);
        watched_free(w);
        return r;
}

/* ---- what the kernel side saw, taken: exits, matches, kernel denials ---- */

typedef struct MatchCtx {
        Observer *o;
        Watched *w;
} MatchCtx;

static void syscall_label(uint32_t nrkey, char *buf, size_t size) {
        const char *n = syscall_name(nrkey & FO_NR_COMPAT ? COMPAT_ARCH : NATIVE_ARCH,
                                     (int) (nrkey & ~FO_NR_COMPAT));

        if (n)
                snprintf(buf, size, "%s", n);
        else
                snprintf(buf, size, "syscall-%u", nrkey & ~FO_NR_COMPAT);
}

/* Adds the pending counts of w's decisions to the map; they wait in user space between ticks, so that a
 * storm of decisions costs the draining thread no system call each. */
static void decisions_flush(Observer *o, Watched *w) {
        int fd = bpf_map__fd(o->skel->maps.decisions);

        for (size_t i = 0; i < w->n_pending; i++) {
                PendingDecision *p = &w->pending[i];
                struct fo_decision_count v = {};

                (void) bpf_map_lookup_elem(fd, &p->key, &v);
                v.decided += p->count.decided;
                v.observed += p->count.observed;
                v.mismatched += p->count.mismatched;
                (void) bpf_map_update_elem(fd, &p->key, &v, BPF_ANY);
        }
        w->n_pending = 0;
}

static void decision_count(Observer *o, Watched *w, SupervisorAction action, int error, const char *rule,
                           int decided, int observed, int mismatched) {
        struct fo_decision_key k = { .slot = w->slot, .action = (uint32_t) action, .error = error };
        PendingDecision *p = NULL;

        snprintf(k.rule, sizeof k.rule, "%s", strempty_(rule));
        for (size_t i = 0; i < w->n_pending; i++)
                if (memcmp(&w->pending[i].key, &k, sizeof k) == 0) {
                        p = &w->pending[i];
                        break;
                }
        if (!p) {
                if (w->n_pending >= ELEMENTSOF(w->pending))
                        decisions_flush(o, w);
                p = &w->pending[w->n_pending++];
                *p = (PendingDecision){ .key = k };
        }
        p->count.decided += (uint64_t) decided;
        p->count.observed += (uint64_t) observed;
        p->count.mismatched += (uint64_t) mismatched;
}

static void on_match(const MatchResult *m, void *userdata) {
        MatchCtx *ctx = userdata;
        Observer *o = ctx->o;
        Watched *w = ctx->w;
        const MatchDecision *d = m->decision;

        switch (m->kind) {
        case MATCH_OK:
                o->counts.matched++;
                decision_count(o, w, d->action, d->error, d->rule, 0, 1, 0);
                break;
        case MATCH_MISMATCH: {
                struct fo_stats st;
                char text[512], eb[16], ob[16];
                const char *en = d->error ? policy_errno_to_string(d->error) : NULL;
                int64_t got = m->observed;

                /* A ring buffer that lost an exit since we last looked could have paired the wrong two. */
                if (read_stats(bpf_map__fd(o->skel->maps.stats), w->slot, o->ncpus, &st) >= 0 &&
                    st.ring_lost != w->ring_lost) {
                        w->ring_lost = st.ring_lost;
                        o->counts.unverifiable++;
                        break;
                }
                o->counts.mismatched++;
                decision_count(o, w, d->action, d->error, d->rule, 0, 1, 1);
                if (!en) {
                        snprintf(eb, sizeof eb, "%d", d->error);
                        en = eb;
                }
                if (got < 0 && got >= -4095) {
                        const char *on = policy_errno_to_string((int) -got);
                        if (!on) {
                                snprintf(ob, sizeof ob, "%" PRId64, -got);
                                on = ob;
                        }
                        snprintf(text, sizeof text,
                                 "Integrity alert: the supervisor decided %s %s -> %s (rule %s) for thread %u, "
                                 "the kernel returned -%s to it.",
                                 supervisor_action_to_string(d->action), d->syscall,
                                 d->error ? en : "ok", d->rule, m->tid, on);
                } else
                        snprintf(text, sizeof text,
                                 "Integrity alert: the supervisor decided %s %s -> %s (rule %s) for thread %u, "
                                 "the kernel returned %" PRId64 " to it.",
                                 supervisor_action_to_string(d->action), d->syscall,
                                 d->error ? en : "ok", d->rule, m->tid, got);
                event_sink_post_notice(o->sink, w->id, &(EventNotice){ .kind = EVENT_NOTICE_INTEGRITY, .trust = -1 },
                                       text);
                break;
        }
        case MATCH_UNVERIFIABLE:
                o->counts.unverifiable++;
                break;
        case MATCH_DECISION_UNMATCHED:
                o->counts.unmatched_decisions++;
                break;
        case MATCH_EXIT_UNMATCHED:
                o->counts.unmatched_exits++;
                break;
        }
}

/* Losses that make a pairing uncertain: decision records the sink dropped, exits the ring buffer lost. */
static uint64_t losses(Observer *o, const Watched *w) {
        EventSinkCounts c = {};

        if (o->sink)
                event_sink_get_counts(o->sink, &c);
        return c.dropped[SUPERVISOR_ACTION_DENY] + c.dropped[SUPERVISOR_ACTION_EMULATE] + w->ring_lost;
}

static int handle_event(void *ctx, void *data, size_t size) {
        Observer *o = ctx;
        const struct fo_event *e = data;
        Watched *w;

        if (size < sizeof *e)
                return 0;
        w = find_slot(o, e->slot);
        if (!w)
                return 0;
        if (e->type == FO_EVENT_SAMPLE) {
                o->samples++;
                return 0;
        }
        if (e->type == FO_EVENT_ANSWERED)
                matcher_add_exit(w->matcher, e->tid, e->nr, e->ret, losses(o, w), on_match,
                                 &(MatchCtx){ o, w });
        return 0;
}

static void post_kernel_denial(Observer *o, Watched *w, uint32_t nrkey, uint32_t error, uint64_t n) {
        char name[64];
        const char *rule = rule_of(w, nrkey, error);
        SupervisorEvent ev = {
                .arch = nrkey & FO_NR_COMPAT ? COMPAT_ARCH : NATIVE_ARCH,
                .nr = (int) (nrkey & ~FO_NR_COMPAT),
                .verdict = POLICY_VERDICT_DENY,
                .rule_id = rule,
                .action = SUPERVISOR_ACTION_DENY,
                .error = (int) error,
                .generation = w->generation,
                .identity = w->identity ?: "*",
                .policy_digest = w->policy_digest,
                .trust = -1,
        };

        syscall_label(nrkey, name, sizeof name);
        ev.syscall = name;
        o->counts.kernel_denied += n;
        event_sink_post_observed(o->sink, w->id, &ev, n);
        /* As the supervisor's own: denials by a rule or the default cost trust, built-in ones do not. */
        if (w->supervisor && !streq(rule, "builtin"))
                (void) supervisor_penalize(w->supervisor, n, "trust fell below the quarantine threshold "
                                                             "(denials by the kernel filter)");
}

static void take_kernel_denials(Observer *o) {
        int fd = bpf_map__fd(o->skel->maps.kernel_denials);
        struct fo_deny_key key, next;
        _cleanup_free_ uint64_t *buf = calloc((size_t) o->ncpus, sizeof(uint64_t));
        bool first = true;

        if (!buf)
                return;
        while (bpf_map_get_next_key(fd, first ? NULL : &key, &next) == 0) {
                Watched *w = find_slot(o, next.slot);
                KernelDenial *kd = NULL;
                uint64_t total;

                key = next;
                first = false;
                if (!w || percpu_lookup(fd, &next, buf) < 0)
                        continue;
                total = sum_u64(buf, o->ncpus);
                for (size_t i = 0; i < w->n_denials; i++)
                        if (w->denials[i].nr == next.nr && w->denials[i].error == next.error) {
                                kd = &w->denials[i];
                                break;
                        }
                if (!kd) {
                        KernelDenial *n = reallocarray(w->denials, w->n_denials + 1, sizeof *n);
                        if (!n)
                                continue;
                        w->denials = n;
                        kd = &w->denials[w->n_denials++];
                        *kd = (KernelDenial){ .nr = next.nr, .error = next.error };
                }
                if (total > kd->seen) {
                        post_kernel_denial(o, w, next.nr, next.error, total - kd->seen);
                        kd->seen = total;
                }
        }
}

/* The supervisor's score and exact counts into the workload's entry, where readers of the pins see them. */
static void refresh_info(Observer *o, Watched *w) {
        struct fo_stats st;
        SupervisorCounts sc;
        bool changed = false;
        int trust;

        decisions_flush(o, w);
        if (read_stats(bpf_map__fd(o->skel->maps.stats), w->slot, o->ncpus, &st) >= 0)
                w->ring_lost = st.ring_lost;
        if (!w->supervisor)
                return;
        trust = supervisor_get_trust(w->supervisor);
        if (trust != w->info.trust) {
                w->info.trust = trust;
                changed = true;
        }
        supervisor_get_counts(w->supervisor, &sc);
        for (size_t i = 0; i < _SUPERVISOR_ACTION_MAX && i < ELEMENTSOF(w->info.decided); i++)
                if (w->info.decided[i] != sc.decisions[i]) {
                        w->info.decided[i] = sc.decisions[i];
                        changed = true;
                }
        if (changed)
                write_info(o, w);
}

/* Everything but aging; under the lock. */
static void take_locked(Observer *o) {
        (void) ring_buffer__consume(o->ring);
        take_kernel_denials(o);
        for (size_t i = 0; i < FO_MAX_WORKLOADS; i++)
                if (o->slots[i])
                        refresh_info(o, o->slots[i]);
}

static void tick_locked(Observer *o) {
        take_locked(o);
        for (size_t i = 0; i < FO_MAX_WORKLOADS; i++)
                if (o->slots[i])
                        matcher_age(o->slots[i]->matcher, MATCH_MAX_AGE, on_match,
                                    &(MatchCtx){ o, o->slots[i] });
}

void observer_sync(Observer *o) {
        if (!o)
                return;
        pthread_mutex_lock(&o->lock);
        take_locked(o);
        pthread_mutex_unlock(&o->lock);
}

void observer_remove_workload(Observer *o, const char *id) {
        Watched *w;

        if (!o || !id)
                return;
        pthread_mutex_lock(&o->lock);
        w = hashmap_get(o->by_id, id);
        if (!w) {
                pthread_mutex_unlock(&o->lock);
                return;
        }
        /* Its last exits and kernel denials first; whatever is left unpaired stays so. */
        take_locked(o);
        matcher_flush(w->matcher, on_match, &(MatchCtx){ o, w });
        w->n_pending = 0; /* its decision counts go with its slot */

        (void) bpf_map_delete_elem(bpf_map__fd(o->skel->maps.pidns), &w->pidns);
        w->info = (struct fo_workload){};
        write_info(o, w);
        bump_epoch(o);
        delete_slot_keys(bpf_map__fd(o->skel->maps.syscalls), sizeof(struct fo_sc_key), w->slot);
        delete_slot_keys(bpf_map__fd(o->skel->maps.kernel_denials), sizeof(struct fo_deny_key), w->slot);
        delete_slot_keys(bpf_map__fd(o->skel->maps.decisions), sizeof(struct fo_decision_key), w->slot);
        filter_slot_put(o, w->filter);
        (void) hashmap_remove(o->by_id, w->id);
        o->slots[w->slot] = NULL;
        o->n_watched--;
        o->counts.workloads = o->n_watched;
        __atomic_store_n(&o->skel->bss->n_workloads, (uint32_t) o->n_watched, __ATOMIC_SEQ_CST);
        if (o->n_watched == 0)
                detach(o);
        pthread_mutex_unlock(&o->lock);
        watched_free(w);
}

/* ---- the sink consumer ---- */

static void consume_decision(Observer *o, const EventRecord *r) {
        const SupervisorEvent *ev = &r->decision;
        Watched *w = hashmap_get(o->by_id, r->workload);
        MatchDecision d;

        if (!w)
                return;
        decision_count(o, w, ev->action, ev->error, ev->rule_id, 1, 0, 0);
        /* What was answered, not run by the kernel: its exit value is the decision's. A quarantine stops the
         * task before it gets its answer; a target that left never got it. */
        if ((ev->action != SUPERVISOR_ACTION_DENY && ev->action != SUPERVISOR_ACTION_EMULATE) || ev->target_gone ||
            ev->tid <= 0)
                return;
        d = (MatchDecision){
                .tid = (uint32_t) ev->tid,
                .nr = (uint32_t) ev->nr | (ev->arch == NATIVE_ARCH ? 0 : FO_NR_COMPAT),
                .action = ev->action,
                .error = ev->error,
                .value = ev->value,
        };
        snprintf(d.rule, sizeof d.rule, "%s", strempty_(ev->rule_id));
        if (ev->syscall)
                snprintf(d.syscall, sizeof d.syscall, "%s", ev->syscall);
        else
                syscall_label(d.nr, d.syscall, sizeof d.syscall);
        /* The exits the ring holds now first, so that a pair is made as soon as both halves are here. */
        (void) ring_buffer__consume(o->ring);
        matcher_add_decision(w->matcher, &d, losses(o, w), on_match, &(MatchCtx){ o, w });
}

static void observer_consume(const EventRecord *r, void *userdata) {
        Observer *o = userdata;

        pthread_mutex_lock(&o->lock);
        if (r->type == EVENT_DECISION)
                consume_decision(o, r);
        else if (r->type == EVENT_TICK)
                tick_locked(o);
        pthread_mutex_unlock(&o->lock);
}

int observer_attach(Observer *o, EventSink *s) {
        unsigned answered = OBSERVER_RECORDED_ACTIONS;
        int r;

        if (!o || !s || o->sink)
                return -EINVAL;
        /* Every answered call as a record (a budget would turn some into counts, which cannot be paired). */
        for (int a = 0; a < _SUPERVISOR_ACTION_MAX; a++)
                if (answered & (1u << a))
                        event_sink_set_mode(s, (SupervisorAction) a, EVENT_SINK_RECORD);
        event_sink_exempt_budget(s, answered);
        r = event_sink_add_consumer(s, observer_consume, o);
        if (r < 0)
                return r;
        o->sink = s;
        return 0;
}

void observer_get_counts(Observer *o, ObserverCounts *ret) {
        pthread_mutex_lock(&o->lock);
        *ret = o->counts;
        pthread_mutex_unlock(&o->lock);
}

/* ---- snapshots ---- */

typedef struct MapFds {
        int workloads, syscalls, stats, decisions;
} MapFds;

static int info_add_syscall(ObserverWorkloadInfo *wi, uint32_t nrkey, const struct fo_sc_count *c) {
        ObserverSyscall *n = reallocarray(wi->syscalls, wi->n_syscalls + 1, sizeof *n);

        if (!n)
                return -ENOMEM;
        wi->syscalls = n;
        wi->syscalls[wi->n_syscalls++] = (ObserverSyscall){
                .nr = nrkey & ~FO_NR_COMPAT,
                .compat = nrkey & FO_NR_COMPAT,
                .calls = c->calls,
                .errors = c->errors,
                .kernel_denied = c->kernel_denied,
                .answered = c->answered,
        };
        return 0;
}

static int cmp_syscall(const void *a, const void *b) {
        const ObserverSyscall *x = a, *y = b;

        if (x->compat != y->compat)
                return x->compat ? 1 : -1;
        return x->nr < y->nr ? -1 : x->nr > y->nr;
}

/* Reads every active workload of one owner's maps into s. */
static int snapshot_maps(const MapFds *m, const char *owner, int ncpus, bool syscalls, ObserverSnapshot *s) {
        _cleanup_free_ void *buf = calloc((size_t) ncpus, percpu_stride(sizeof(struct fo_sc_count)) +
                                                                  percpu_stride(sizeof(struct fo_stats)));
        size_t first = s->n_workloads;
        int32_t index_of[FO_MAX_WORKLOADS];
        int r;

        if (!buf)
                return -ENOMEM;
        for (uint32_t slot = 0; slot < FO_MAX_WORKLOADS; slot++) {
                struct fo_workload fw;
                struct fo_stats st = {};
                ObserverWorkloadInfo *n, *wi;

                index_of[slot] = -1;
                if (bpf_map_lookup_elem(m->workloads, &slot, &fw) < 0 || !(fw.flags & FO_WORKLOAD_ACTIVE))
                        continue;
                n = reallocarray(s->workloads, s->n_workloads + 1, sizeof *n);
                if (!n)
                        return -ENOMEM;
                s->workloads = n;
                wi = &s->workloads[s->n_workloads];
                *wi = (ObserverWorkloadInfo){
                        .pidns = fw.pidns,
                        .cgroup_id = fw.cgroup_id,
                        .trust = fw.trust,
                        .started_ns = fw.started_ns,
                };
                for (size_t i = 0; i < _SUPERVISOR_ACTION_MAX && i < ELEMENTSOF(fw.decided); i++)
                        wi->supervisor[i] = fw.decided[i];
                memcpy(wi->id, fw.id, sizeof wi->id);
                wi->id[sizeof wi->id - 1] = 0;
                snprintf(wi->owner, sizeof wi->owner, "%s", owner);
                if (percpu_lookup(m->stats, &slot, buf) >= 0)
                        sum_stats(buf, ncpus, &st);
                wi->other_skipped = st.other_skipped;
                wi->interrupted = st.interrupted;
                wi->unclassified = st.unclassified;
                wi->ring_lost = st.ring_lost;
                index_of[slot] = (int32_t) s->n_workloads;
                s->n_workloads++;
        }
        {
                struct fo_sc_key key, next;
                bool start = true;

                while (bpf_map_get_next_key(m->syscalls, start ? NULL : &key, &next) == 0) {
                        struct fo_sc_count c;
                        ObserverWorkloadInfo *wi;

                        key = next;
                        start = false;
                        if (next.slot >= FO_MAX_WORKLOADS || index_of[next.slot] < 0)
                                continue;
                        if (percpu_lookup(m->syscalls, &next, buf) < 0)
                                continue;
                        sum_sc(buf, ncpus, &c);
                        wi = &s->workloads[index_of[next.slot]];
                        wi->calls += c.calls;
                        wi->errors += c.errors;
                        wi->kernel_denied += c.kernel_denied;
                        wi->answered += c.answered;
                        if (syscalls) {
                                r = info_add_syscall(wi, next.nr, &c);
                                if (r < 0)
                                        return r;
                        }
                }
        }
        {
                struct fo_decision_key key, next;
                bool start = true;

                while (bpf_map_get_next_key(m->decisions, start ? NULL : &key, &next) == 0) {
                        struct fo_decision_count c;
                        ObserverWorkloadInfo *wi;

                        key = next;
                        start = false;
                        if (next.slot >= FO_MAX_WORKLOADS || index_of[next.slot] < 0 ||
                            bpf_map_lookup_elem(m->decisions, &next, &c) < 0)
                                continue;
                        wi = &s->workloads[index_of[next.slot]];
                        wi->matched += c.observed - c.mismatched;
                        wi->mismatched += c.mismatched;
                }
        }
        for (size_t i = first; i < s->n_workloads; i++)
                if (s->workloads[i].syscalls)
                        qsort(s->workloads[i].syscalls, s->workloads[i].n_syscalls, sizeof(ObserverSyscall),
                              cmp_syscall);
        return 0;
}

int observer_snapshot(Observer *o, bool syscalls, ObserverSnapshot *ret) {
        ObserverSnapshot s = { .time_ns = time_now_usec(CLOCK_MONOTONIC) * 1000u };
        MapFds m;
        int r;

        if (!o || !ret)
                return -EINVAL;
        m = (MapFds){ bpf_map__fd(o->skel->maps.workloads), bpf_map__fd(o->skel->maps.syscalls),
                      bpf_map__fd(o->skel->maps.stats), bpf_map__fd(o->skel->maps.decisions) };
        pthread_mutex_lock(&o->lock);
        for (size_t i = 0; i < FO_MAX_WORKLOADS; i++)
                if (o->slots[i])
                        refresh_info(o, o->slots[i]);
        r = snapshot_maps(&m, o->name, o->ncpus, syscalls, &s);
        pthread_mutex_unlock(&o->lock);
        if (r < 0) {
                observer_snapshot_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

int observer_snapshot_pinned(const char *root, bool syscalls, ObserverSnapshot *ret) {
        _cleanup_close_ int fd = -EBADF;
        ObserverSnapshot s = { .time_ns = time_now_usec(CLOCK_MONOTONIC) * 1000u };
        int ncpus = libbpf_num_possible_cpus(), r = 0;
        bool found = false;
        DIR *d;
        struct dirent *de;

        if (!ret)
                return -EINVAL;
        if (ncpus <= 0)
                return ncpus < 0 ? ncpus : -EIO;
        root = root ?: OBSERVER_PIN_ROOT;
        fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d)
                return -errno;
        fd = -EBADF;
        while ((de = readdir(d))) {
                int fds[4] = { -EBADF, -EBADF, -EBADF, -EBADF };
                const char *names[4] = { "workloads", "syscalls", "stats", "decisions" };
                bool ok = true;

                if (de->d_name[0] == '.' || !owner_alive(de->d_name))
                        continue;
                for (size_t i = 0; i < 4 && ok; i++) {
                        _cleanup_free_ char *p = NULL;

                        if (asprintf(&p, "%s/%s/%s", root, de->d_name, names[i]) < 0) {
                                ok = false;
                                r = -ENOMEM;
                                break;
                        }
                        fds[i] = bpf_obj_get(p);
                        if (fds[i] < 0) {
                                if (r == 0)
                                        r = negative_errno();
                                ok = false;
                        }
                }
                if (ok) {
                        int k = snapshot_maps(&(MapFds){ fds[0], fds[1], fds[2], fds[3] }, de->d_name, ncpus,
                                              syscalls, &s);
                        if (k < 0 && r == 0)
                                r = k;
                        else
                                found = true;
                }
                for (size_t i = 0; i < 4; i++)
                        safe_close(fds[i]);
        }
        closedir(d);
        if (!found) {
                observer_snapshot_done(&s);
                return r < 0 ? r : -ENOENT;
        }
        *ret = s;
        return 0;
}
