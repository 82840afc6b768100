/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The observer on the live kernel (root): a workload started through the workload API, as forgeonectl run
 * --local starts it, makes a known number of getpid, openat (emulated by the supervisor), acct (denied by
 * the kernel filter) and mkdir (denied by the supervisor) calls; the observer's counts must equal them
 * exactly, every answered call's exit must match its decision, trust must fall for the kernel's denials
 * too, and they must reach the sink's aggregates as exact counts. A supervisor that lies (the test hook
 * replies with another errno than it decided) must be caught. Pinned maps exist while it runs and are
 * gone after, and after a failed start.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <linux/seccomp.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "forgeone/audit-record.h"
#include "forgeone/audit.h"
#include "forgeone/observer.h"
#include "forgeone/policy.h"
#include "forgeone/seccomp-notify.h"
#include "forgeone/syscall-table.h"
#include "forgeone/workload.h"
#include "test-util.h"

#define N_GETPID 1000
#define N_OPEN   20
#define N_ACCT   30
#define N_MKDIR  10
#define N_SECCOMP_OK   5 /* seccomp(2) asking what it can do: the supervisor lets it run (it needs trust) */
#define N_SECCOMP_DENY 7 /* asking for a listener: the kernel filter fails it (built in): one number, both */
#define DENIED_DIR "/tmp/fo-observer-denied"

typedef struct Harness {
        Observer *o;
        EventSink *sink;
        Workload *w;
        pthread_t drainer;
        int drain_stop[2];
        int go[2]; /* the workload's stdin: it waits for a byte before its calls */
        pthread_mutex_t lock;
        unsigned integrity_notices;
        char integrity_text[512];
        unsigned warnings;
} Harness;

static char why[OBSERVER_REASON_MAX];

static void on_record(const EventRecord *r, void *userdata) {
        Harness *h = userdata;

        if (r->type != EVENT_NOTICE)
                return;
        pthread_mutex_lock(&h->lock);
        if (r->notice.kind == EVENT_NOTICE_INTEGRITY) {
                h->integrity_notices++;
                snprintf(h->integrity_text, sizeof h->integrity_text, "%s", r->text);
        } else if (r->notice.kind == EVENT_NOTICE_WARNING)
                h->warnings++;
        pthread_mutex_unlock(&h->lock);
}

static void *drain_thread(void *arg) {
        Harness *h = arg;

        for (;;) {
                struct pollfd p[2] = { { .fd = event_sink_get_fd(h->sink), .events = POLLIN },
                                       { .fd = h->drain_stop[0], .events = POLLIN } };
                if (poll(p, 2, -1) < 0 && errno != EINTR)
                        break;
                (void) event_sink_drain(h->sink, on_record, h);
                if (p[1].revents)
                        break;
        }
        (void) event_sink_drain(h->sink, on_record, h);
        return NULL;
}

/* Pins go to a BPF file system of this test's own, in a mount namespace of its own: nothing of another run
 * (or of the host) is touched, and it goes when the test ends. */
static void private_bpffs(void) {
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                FO_TEST_SKIP("cannot make a mount namespace of its own: %m");
        if (mount("bpf", "/sys/fs/bpf", "bpf", 0, NULL) < 0)
                FO_TEST_SKIP("cannot mount a BPF file system on /sys/fs/bpf: %m");
}

static void require_live(void) {
        Observer *o = NULL;
        int r;

        if (geteuid() != 0)
                FO_TEST_SKIP("needs root (BPF tracing programs, seccomp listeners of other processes)");
        if (seccomp_raw(SECCOMP_GET_NOTIF_SIZES, 0, &(struct seccomp_notif_sizes){}) < 0)
                FO_TEST_SKIP("kernel has no seccomp user notification");
        private_bpffs();
        r = observer_new(NULL, &o, why);
        if (r == -EOPNOTSUPP)
                FO_TEST_SKIP("%s", why);
        if (r < 0 && access("/sys/kernel/btf/vmlinux", R_OK) < 0)
                FO_TEST_SKIP("the kernel has no BTF (/sys/kernel/btf/vmlinux): %s", why);
        observer_free(o);
}

static int workload_main(void *userdata) {
        char c;
        int fail = 0;

        /* Wait until the test is ready (the test hook set, for the lie). */
        if (read(STDIN_FILENO, &c, 1) != 1)
                return 10;
        for (int i = 0; i < N_GETPID; i++)
                (void) syscall(SYS_getpid);
        for (int i = 0; i < N_OPEN; i++) {
                int fd = (int) syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        fail = 11;
                else
                        (void) syscall(SYS_close, fd);
        }
        for (int i = 0; i < N_SECCOMP_OK; i++) {
                uint32_t action = SECCOMP_RET_ERRNO;
                if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) != 0)
                        fail = 14;
        }
        for (int i = 0; i < N_SECCOMP_DENY; i++)
                if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, NULL) != -1 ||
                    errno != EPERM)
                        fail = 15;
        for (int i = 0; i < N_ACCT; i++)
                if (syscall(SYS_acct, NULL) != -1 || errno != EPERM)
                        fail = 12;
        for (int i = 0; i < N_MKDIR; i++)
                if (syscall(SYS_mkdir, DENIED_DIR, 0700) != -1 || (errno != EACCES && errno != EPERM))
                        fail = 13;
        return fail;
}

static Policy *load_policy(void) {
        PolicyDiagnostics diag = {};
        Policy *p = NULL;
        int r;

        r = policy_load_file(fo_test_source_path("tests/policies/observer.json"), &p, &diag, NULL);
        if (r < 0 && diag.n_errors > 0)
                ck_abort_msg("%s:%u:%u: %s", diag.errors[0].file, diag.errors[0].line, diag.errors[0].column,
                             diag.errors[0].message);
        ck_assert_int_ge(r, 0);
        policy_diagnostics_done(&diag);
        return p;
}

static void start(Harness *h) {
        ForgeError err = {};
        int devnull, r;

        pthread_mutex_init(&h->lock, NULL);
        ck_assert_msg(observer_new(NULL, &h->o, why) >= 0, "observer_new: %s", why);
        ck_assert_int_ge(event_sink_new(0, &h->sink), 0);
        ck_assert_int_ge(observer_attach(h->o, h->sink), 0);
        ck_assert_int_eq(pipe2(h->go, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(h->drain_stop, O_CLOEXEC), 0);
        devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
        ck_assert_int_ge(devnull, 0);
        WorkloadConfig wc = {
                .policy = load_policy(),
                .sink = h->sink,
                .child_fn = workload_main,
                .stdio = { h->go[0], devnull, STDERR_FILENO },
                .stdio_set = true,
                .observer = h->o,
        };
        r = workload_start(&wc, &h->w, &err);
        ck_assert_msg(r >= 0, "workload_start: %s (%s)", err.message, strerror(-r));
        close(devnull);
        close(h->go[0]);
        ck_assert_int_eq(pthread_create(&h->drainer, NULL, drain_thread, h), 0);
}

/* Lets the workload go and waits for its end; returns its exit code. The workload object stays (its
 * counts are the observer's until workload_free()). */
static int run_to_end(Harness *h) {
        WorkloadResult res = {};
        int r;

        ck_assert_int_eq(write(h->go[1], "g", 1), 1);
        close(h->go[1]);
        for (;;) {
                struct pollfd p = { .fd = workload_get_pidfd(h->w), .events = POLLIN };
                ck_assert_int_ge(poll(&p, 1, -1), 0);
                r = workload_reap(h->w, &res);
                ck_assert_int_ge(r, 0);
                if (r > 0)
                        break;
        }
        /* Every record drained (the drainer ends with a last drain), then the exits matched. */
        ck_assert_int_eq(write(h->drain_stop[1], "x", 1), 1);
        ck_assert_int_eq(pthread_join(h->drainer, NULL), 0);
        (void) event_sink_drain(h->sink, on_record, h);
        observer_sync(h->o);
        return res.exit_signal ? 128 + res.exit_signal : res.exit_code;
}

/* The workload's end (its last counts reach the sink) and the observer's, the sink kept (an audit reads
 * it last). */
static void finish_keep_sink(Harness *h) {
        h->w = workload_free(h->w);
        (void) event_sink_drain(h->sink, on_record, h);
        h->o = observer_free(h->o);
        close(h->drain_stop[0]);
        close(h->drain_stop[1]);
}

static void finish(Harness *h) {
        h->w = workload_free(h->w);
        (void) event_sink_drain(h->sink, on_record, h);
        h->o = observer_free(h->o);
        h->sink = event_sink_free(h->sink);
        close(h->drain_stop[0]);
        close(h->drain_stop[1]);
}

static const ObserverSyscall *find_syscall(const ObserverWorkloadInfo *wi, const char *name) {
        int nr = syscall_resolve_native(name);

        for (size_t i = 0; i < wi->n_syscalls; i++)
                if (!wi->syscalls[i].compat && (int) wi->syscalls[i].nr == nr)
                        return &wi->syscalls[i];
        return NULL;
}

typedef struct KernelAggregate {
        uint64_t count;
        int error;
        char rule[64];
} KernelAggregate;

static void take_aggregate(const EventAggregate *a, void *userdata) {
        KernelAggregate *k = userdata;

        if (a->reason != EVENT_AGGREGATE_KERNEL_FILTER || !a->syscall || !streq(a->syscall, "acct"))
                return;
        k->count += a->count;
        k->error = a->error;
        snprintf(k->rule, sizeof k->rule, "%s", a->rule_id);
}

START_TEST(test_exact_counts) {
        Harness h = {};
        ObserverSnapshot s = {};
        ObserverCounts c;
        KernelAggregate ka = {};
        const ObserverWorkloadInfo *wi;
        const ObserverSyscall *sc;

        start(&h);
        ck_assert_int_eq(run_to_end(&h), 0);

        ck_assert_int_ge(observer_snapshot(h.o, true, &s), 0);
        wi = observer_snapshot_find(&s, workload_get_id(h.w));
        ck_assert_ptr_nonnull(wi);
        sc = find_syscall(wi, "getpid");
        ck_assert_ptr_nonnull(sc);
        ck_assert_uint_eq(sc->calls, N_GETPID);
        ck_assert_uint_eq(sc->kernel_denied, 0);
        sc = find_syscall(wi, "openat");
        ck_assert_ptr_nonnull(sc);
        ck_assert_uint_eq(sc->calls, N_OPEN);
        ck_assert_uint_eq(sc->answered, N_OPEN); /* emulated: the supervisor injected each fd */
        sc = find_syscall(wi, "acct");
        ck_assert_ptr_nonnull(sc);
        ck_assert_uint_eq(sc->calls, N_ACCT);
        ck_assert_uint_eq(sc->kernel_denied, N_ACCT);
        ck_assert_uint_eq(sc->answered, 0);
        sc = find_syscall(wi, "seccomp");
        ck_assert_ptr_nonnull(sc);
        ck_assert_uint_eq(sc->calls, N_SECCOMP_OK + N_SECCOMP_DENY);
        ck_assert_uint_eq(sc->kernel_denied, N_SECCOMP_DENY); /* told apart by running the filter */
        ck_assert_uint_eq(sc->answered, 0);                    /* the others ran: continued */
        sc = find_syscall(wi, "mkdir");
        ck_assert_ptr_nonnull(sc);
        ck_assert_uint_eq(sc->calls, N_MKDIR);
        ck_assert_uint_eq(sc->answered, N_MKDIR);
        ck_assert_uint_eq(sc->kernel_denied, 0);
        ck_assert_uint_eq(wi->unclassified, 0);
        ck_assert_uint_eq(wi->ring_lost, 0);
        ck_assert_uint_eq(wi->mismatched, 0);
        /* Every answered call was matched with its decision: the opens' fds, the mkdirs' EACCES. */
        ck_assert_uint_ge(wi->matched, N_OPEN + N_MKDIR);
        observer_snapshot_done(&s);

        observer_get_counts(h.o, &c);
        ck_assert_uint_eq(c.mismatched, 0);
        ck_assert_uint_eq(c.unverifiable, 0);
        ck_assert_uint_eq(c.unmatched_exits, 0);
        ck_assert_uint_eq(c.kernel_denied, N_ACCT + N_SECCOMP_DENY);
        ck_assert_uint_eq(h.integrity_notices, 0);

        /* Trust fell by one point for each denial, the supervisor's and the kernel filter's, but for the
         * built-in ones (a listener asked for), which cost nothing in the supervisor either. */
        ck_assert_int_eq(supervisor_get_trust(workload_get_supervisor(h.w)), 100 - N_MKDIR - N_ACCT);

        /* The kernel's denials reached the sink's aggregates (the audit's) as one exact count. */
        (void) event_sink_take_aggregates(h.sink, take_aggregate, &ka);
        ck_assert_uint_eq(ka.count, N_ACCT);
        ck_assert_int_eq(ka.error, EPERM);
        ck_assert_str_eq(ka.rule, "default");
        {
                EventSinkCounts ec;
                event_sink_get_counts(h.sink, &ec);
                ck_assert_uint_eq(ec.observed[SUPERVISOR_ACTION_DENY], N_ACCT + N_SECCOMP_DENY);
        }
        finish(&h);
}
END_TEST

START_TEST(test_faked_mismatch) {
        Harness h = {};
        ObserverCounts c;

        start(&h);
        /* The supervisor decides EACCES for the mkdirs, and replies EPERM: the lie to catch. */
        supervisor_test_fake_reply_errno(workload_get_supervisor(h.w), EACCES, EPERM);
        ck_assert_int_eq(run_to_end(&h), 0);
        observer_get_counts(h.o, &c);
        ck_assert_uint_eq(c.mismatched, N_MKDIR);
        ck_assert_uint_eq(c.unverifiable, 0);
        (void) event_sink_drain(h.sink, on_record, &h);
        ck_assert_uint_eq(h.integrity_notices, N_MKDIR);
        ck_assert_msg(strstr(h.integrity_text, "mkdir") && strstr(h.integrity_text, "EACCES") &&
                              strstr(h.integrity_text, "EPERM"),
                      "integrity notice: %s", h.integrity_text);
        finish(&h);
}
END_TEST

/* The audit (its fallback file: no journald here) gets the kernel's denials as one exact aggregate, the
 * integrity alerts as entries of their own, and the total in its stop record. */
START_TEST(test_audit) {
        char dir[] = "/tmp/fo-observer-audit-XXXXXX", path[600], cmd[700], *line = NULL;
        Harness h = {};
        AuditConfig ac;
        Audit *audit = NULL;
        ForgeError err = {};
        uint64_t acct = 0, stop_total = 0;
        unsigned integrity = 0;
        size_t n = 0;
        FILE *f;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        audit_config_init(&ac);
        ac.no_journal = true;
        ac.state_dir = dir;
        ac.key_path = NULL;
        ck_assert_msg(audit_new(&ac, &audit, &err) >= 0, "audit_new: %s", err.message);
        start(&h);
        ck_assert_int_ge(audit_attach(audit, h.sink), 0);
        /* The audit budgets its entries: the observer needs every answered call as a record all the same. */
        event_sink_exempt_budget(h.sink, OBSERVER_RECORDED_ACTIONS);
        supervisor_test_fake_reply_errno(workload_get_supervisor(h.w), EACCES, EPERM);
        ck_assert_int_eq(run_to_end(&h), 0);
        finish_keep_sink(&h);
        audit = audit_free(audit);
        h.sink = event_sink_free(h.sink);

        snprintf(path, sizeof path, "%s/fallback.jsonl", dir);
        f = fopen(path, "re");
        ck_assert_ptr_nonnull(f);
        while (getline(&line, &n, f) > 0) {
                json_object *o = json_tokener_parse(line), *v;

                ck_assert_ptr_nonnull(o);
                if (json_object_object_get_ex(o, "FORGEONE_AGGREGATED", &v) &&
                    streq(json_object_get_string(v), "kernel-filter") &&
                    json_object_object_get_ex(o, "FORGEONE_SYSCALL", &v) && streq(json_object_get_string(v), "acct")) {
                        ck_assert(json_object_object_get_ex(o, "FORGEONE_RULE", &v));
                        ck_assert_str_eq(json_object_get_string(v), "default");
                        ck_assert(json_object_object_get_ex(o, "FORGEONE_ERRNO", &v));
                        ck_assert_str_eq(json_object_get_string(v), "EPERM");
                        ck_assert(json_object_object_get_ex(o, "FORGEONE_COUNT", &v));
                        acct += strtoull(json_object_get_string(v), NULL, 10);
                }
                if (json_object_object_get_ex(o, "MESSAGE_ID", &v) &&
                    streq(json_object_get_string(v), AUDIT_MESSAGE_INTEGRITY))
                        integrity++;
                if (json_object_object_get_ex(o, "FORGEONE_TOTAL_KERNEL_FILTER_DENIED", &v))
                        stop_total = strtoull(json_object_get_string(v), NULL, 10);
                json_object_put(o);
        }
        free(line);
        fclose(f);
        ck_assert_uint_eq(acct, N_ACCT);
        ck_assert_uint_eq(integrity, N_MKDIR);
        ck_assert_uint_eq(stop_total, N_ACCT + N_SECCOMP_DENY);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(test_pins) {
        Harness h = {};
        char dir[512], path[600];
        struct stat st;

        start(&h);
        snprintf(dir, sizeof dir, "%s", observer_get_pin_dir(h.o));
        ck_assert_msg(strncmp(dir, OBSERVER_PIN_ROOT "/run-", strlen(OBSERVER_PIN_ROOT "/run-")) == 0, "%s", dir);
        FOREACH_ELEMENT (n, ((const char *[]){ "workloads", "pidns", "syscalls", "kernel_denials", "stats",
                                               "decisions" })) {
                snprintf(path, sizeof path, "%s/%s", dir, *n);
                ck_assert_msg(stat(path, &st) == 0, "%s: %m", path);
        }
        /* What top --local reads: the pins, found by owner. */
        {
                ObserverSnapshot s = {};
                ck_assert_int_ge(observer_snapshot_pinned(NULL, false, &s), 0);
                ck_assert_ptr_nonnull(observer_snapshot_find(&s, workload_get_id(h.w)));
                observer_snapshot_done(&s);
        }
        ck_assert_int_eq(run_to_end(&h), 0);
        finish(&h);
        ck_assert_int_eq(stat(dir, &st), -1);
        ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_pins_removed_on_failure) {
        /* A pin root in a BPF file system that the first pin fails in (a file where the map's pin goes):
         * the observer works unpinned, says why, and leaves nothing of its own behind. */
        char root[] = "/sys/fs/bpf/fo-observer-root", path[600];
        Observer *o = NULL;
        struct stat st;
        int fd;

        (void) rmdir(root);
        ck_assert_int_eq(mkdir(root, 0700), 0);
        snprintf(path, sizeof path, "%s/run-%d", root, (int) getpid());
        /* The directory's name is ours: a stale one is removed, so make pinning fail another way. */
        ck_assert_int_ge(observer_new(&(ObserverConfig){ .pin_root = "/sys/fs/bpf/fo-observer-root/no/such" }, &o,
                                      why), 0);
        ck_assert_ptr_null(observer_get_pin_dir(o));
        ck_assert_ptr_nonnull(observer_get_pin_error(o));
        o = observer_free(o);

        /* Pinned, then unpinned: the directory goes with the observer. */
        ck_assert_int_ge(observer_new(&(ObserverConfig){ .pin_root = root }, &o, why), 0);
        ck_assert_str_eq(observer_get_pin_dir(o), path);
        ck_assert_int_eq(stat(path, &st), 0);
        o = observer_free(o);
        ck_assert_int_eq(stat(path, &st), -1);

        /* A stale directory of a dead owner is removed by the next observer. */
        snprintf(path, sizeof path, "%s/run-999999999", root);
        ck_assert_int_eq(mkdir(path, 0700), 0);
        ck_assert_int_ge(observer_new(&(ObserverConfig){ .pin_root = root }, &o, why), 0);
        ck_assert_int_eq(stat(path, &st), -1);
        o = observer_free(o);
        fd = rmdir(root);
        ck_assert_int_eq(fd, 0); /* empty: nothing else was left either */
}
END_TEST

static Suite *observer_live_suite(void) {
        Suite *s = suite_create("observer-live");
        TCase *tc = tcase_create("live");

        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_exact_counts);
        tcase_add_test(tc, test_faked_mismatch);
        tcase_add_test(tc, test_audit);
        tcase_add_test(tc, test_pins);
        tcase_add_test(tc, test_pins_removed_on_failure);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        require_live();
        return fo_test_run(observer_live_suite());
}
