/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The supervisor on the live kernel (root): a workload forked here runs
 * under the filter compiled from policies/default.json (or a test policy)
 * while this process supervises it through the library, exactly as
 * forgeonectl run --local does. Workload-side checks exit non-zero with a
 * message; supervisor-side checks look at the decisions reported.
 */
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <grp.h>
#include <limits.h>
#include <stdint.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "forgeone/policy-compile.h"
#include "forgeone/policy-graph.h"
#include "forgeone/policy.h"
#include "forgeone/seccomp-notify.h"
#include "forgeone/supervisor.h"
#include "forgeone/workload.h"
#include "../src/supervisor/supervisor-internal.h"
#include "test-util.h"

/* ---- workload-side assertions: print and exit, the parent checks the status ---- */

#define W_ASSERT(expr)                                                                                     \
        do {                                                                                               \
                if (!(expr)) {                                                                             \
                        dprintf(STDERR_FILENO, "workload: %s:%d: %s failed (errno %d %s)\n", __FILE__,     \
                                __LINE__, #expr, errno, strerrorname_np(errno) ?: "");                     \
                        _exit(1);                                                                          \
                }                                                                                          \
        } while (0)

/* ---- harness ---- */

#define MAX_EVENTS 64

typedef struct Recorded {
        char syscall[32];
        char path[256];
        char rule[64];
        SupervisorAction action;
        int error;
        bool gone;
} Recorded;

typedef struct Harness {
        Workload *w;
        EventSink *sink;
        pthread_t drainer;
        int drain_stop[2];
        pid_t child;   /* the workload's first process (our init), host pid */
        int pidfd;
        pthread_mutex_t lock;
        Recorded events[MAX_EVENTS];
        unsigned n_events, n_total, n_gone, n_quarantine;
        uid_t run_as; /* the workload drops to this uid/gid before the filter (0: stays root) */
} Harness;

/* Each test's scratch directory lives in one per run, removed by main() even when a test died. */
static char run_dir[] = "/tmp/fo-super-XXXXXX";
static char scratch[sizeof run_dir + 16];

static void on_record(const EventRecord *rec, void *userdata) {
        Harness *h = userdata;
        const SupervisorEvent *ev = &rec->decision;

        if (rec->type != EVENT_DECISION)
                return;
        pthread_mutex_lock(&h->lock);
        h->n_total++;
        if (ev->target_gone)
                h->n_gone++;
        if (ev->action == SUPERVISOR_ACTION_QUARANTINE)
                h->n_quarantine++;
        if (ev->action != SUPERVISOR_ACTION_CONTINUE && h->n_events < MAX_EVENTS) {
                Recorded *r = &h->events[h->n_events++];
                snprintf(r->syscall, sizeof r->syscall, "%s", strempty(ev->syscall));
                snprintf(r->path, sizeof r->path, "%s", strempty(ev->path));
                snprintf(r->rule, sizeof r->rule, "%s", strempty(ev->rule_id));
                r->action = ev->action;
                r->error = ev->error;
                r->gone = ev->target_gone;
        }
        pthread_mutex_unlock(&h->lock);
}

/* Records are drained as they come, so a long test never fills the sink. */
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

static void require_live(void) {
        if (geteuid() != 0)
                FO_TEST_SKIP("needs root (pidfd_getfd, process_vm_readv of other processes)");
        if (pidfd_open_raw(getpid(), 0) < 0 && errno == ENOSYS)
                FO_TEST_SKIP("kernel has no pidfd_open");
        if (seccomp_raw(SECCOMP_GET_NOTIF_SIZES, 0, &(struct seccomp_notif_sizes) {}) < 0)
                FO_TEST_SKIP("kernel has no seccomp user notification");
}

static Policy *load_policy(const char *policy_path) {
        PolicyDiagnostics diag = {};
        Policy *p = NULL;
        int r;

        r = policy_load_file(policy_path, &p, &diag, NULL);
        if (r < 0 && diag.n_errors > 0)
                ck_abort_msg("%s:%u:%u: %s", diag.errors[0].file, diag.errors[0].line, diag.errors[0].column,
                             diag.errors[0].message);
        ck_assert_int_ge(r, 0);
        policy_diagnostics_done(&diag);
        return p;
}

typedef struct ChildCall {
        void (*fn)(void *);
        void *arg;
} ChildCall;

static int child_call(void *userdata) {
        ChildCall *c = userdata;

        c->fn(c->arg);
        return 0;
}

/* Starts the workload through the workload API, as forgeonectl run --local does: its own pid and mount
 * namespaces, supervised on a dedicated thread; decisions come from the event sink. root: a directory the
 * workload is chrooted into, or NULL. */
static void start_in(Harness *h, const char *policy_path, const char *root, void (*workload)(void *), void *arg) {
        static ChildCall call;
        ForgeError err = {};
        int r;

        pthread_mutex_init(&h->lock, NULL);
        ck_assert_int_ge(event_sink_new(0, &h->sink), 0);
        ck_assert_int_eq(pipe2(h->drain_stop, O_CLOEXEC), 0);
        ck_assert_int_eq(pthread_create(&h->drainer, NULL, drain_thread, h), 0);
        call = (ChildCall) { .fn = workload, .arg = arg };
        WorkloadConfig wc = {
                .policy = load_policy(policy_path),
                .sink = h->sink,
                .child_fn = child_call,
                .child_userdata = &call,
                .root_directory = root,
                .run_as_uid = h->run_as,
                .run_as_gid = (gid_t) h->run_as,
        };
        r = workload_start(&wc, &h->w, &err);
        ck_assert_msg(r >= 0, "workload_start: %s (%s)", err.message, strerror(-r));
        h->child = workload_get_pid(h->w);
        h->pidfd = workload_get_pidfd(h->w);
}

static void start(Harness *h, const char *policy_path, void (*workload)(void *), void *arg) {
        start_in(h, policy_path, NULL, workload, arg);
}

/* Waits for the workload; returns its wait status (as the command's own). The supervisor has ended once
 * nobody uses the filter. */
static int finish(Harness *h) {
        WorkloadResult res = {};
        int r;

        for (;;) {
                struct pollfd p = { .fd = h->pidfd, .events = POLLIN };
                ck_assert_int_ge(poll(&p, 1, -1), 0);
                r = workload_reap(h->w, &res);
                ck_assert_int_ge(r, 0);
                if (r > 0)
                        break;
        }
        h->w = workload_free(h->w);
        ck_assert_int_eq(write(h->drain_stop[1], "x", 1), 1);
        ck_assert_int_eq(pthread_join(h->drainer, NULL), 0);
        close(h->drain_stop[0]);
        close(h->drain_stop[1]);
        h->sink = event_sink_free(h->sink);
        if (res.exit_signal > 0)
                return res.exit_signal; /* as W_TERMSIG sees it: 0x7f & status */
        return (res.exit_code & 0xff) << 8;
}

static const Recorded *find_event(Harness *h, const char *syscall, const char *path) {
        for (unsigned i = 0; i < h->n_events; i++)
                if (streq(h->events[i].syscall, syscall) && (!path || streq(h->events[i].path, path)))
                        return &h->events[i];
        return NULL;
}

static void ck_assert_workload_ok(int status) {
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "workload failed: status 0x%x", status);
}

static const char *default_policy(void) {
        static char p[4096];
        snprintf(p, sizeof p, "%s", fo_test_source_path("policies/default.json"));
        return p;
}

/* policies/default.json without the trust penalty: for tests that make thousands of denied calls on
 * purpose (with it, the workload would rightly be quarantined after 90). */
static const char *default_policy_no_penalty(void) {
        static char p[4096];
        json_object *o, *trust;

        o = json_object_from_file(default_policy());
        ck_assert_ptr_nonnull(o);
        ck_assert(json_object_object_get_ex(o, "trust", &trust));
        json_object_object_add(trust, "deny_penalty", json_object_new_int(0));
        snprintf(p, sizeof p, "%s/default-no-penalty.json", scratch);
        ck_assert_int_eq(json_object_to_file_ext(p, o, JSON_C_TO_STRING_PRETTY), 0);
        json_object_put(o);
        return p;
}

static void setup(void) {
        require_live();
        snprintf(scratch, sizeof scratch, "%s/t-XXXXXX", run_dir);
        ck_assert_ptr_nonnull(mkdtemp(scratch));
}

static void teardown(void) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
        (void) system(cmd);
}

static int count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int n = 0;

        if (!d)
                return -1;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n - 1;
}

/* policies/default.json with exec limited to /usr/bin and /bin by a path rule, so execve is trapped. */
static const char *exec_policy(void) {
        static char p[4096];
        json_object *o, *rules, *resources, *res, *rule, *paths, *access, *syscalls, *nrules;

        o = json_object_from_file(default_policy());
        ck_assert_ptr_nonnull(o);
        ck_assert(json_object_object_get_ex(o, "rules", &rules));
        ck_assert(json_object_object_get_ex(o, "resources", &resources));
        nrules = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(rules); i++) {
                json_object *r = json_object_array_get_idx(rules, i), *id;
                if (json_object_object_get_ex(r, "id", &id) && streq(json_object_get_string(id), "exec"))
                        continue;
                json_object_array_add(nrules, json_object_get(r));
        }
        res = json_object_new_object();
        json_object_object_add(res, "type", json_object_new_string("path"));
        paths = json_object_new_array();
        json_object_array_add(paths, json_object_new_string("/usr/bin/**"));
        json_object_array_add(paths, json_object_new_string("/bin/**"));
        json_object_object_add(res, "paths", paths);
        access = json_object_new_array();
        json_object_array_add(access, json_object_new_string("exec"));
        json_object_object_add(res, "access", access);
        json_object_object_add(resources, "system-programs", res);
        rule = json_object_new_object();
        json_object_object_add(rule, "id", json_object_new_string("exec-system"));
        syscalls = json_object_new_array();
        json_object_array_add(syscalls, json_object_new_string("@exec"));
        json_object_object_add(rule, "syscalls", syscalls);
        json_object_object_add(rule, "resource", json_object_new_string("system-programs"));
        json_object_object_add(rule, "action", json_object_new_string("allow"));
        json_object_array_add(nrules, rule);
        json_object_object_add(o, "rules", nrules);
        snprintf(p, sizeof p, "%s/exec-policy.json", scratch);
        ck_assert_int_eq(json_object_to_file_ext(p, o, JSON_C_TO_STRING_PRETTY), 0);
        json_object_put(o);
        return p;
}

/* policies/default.json with metadata calls judged by path too (stat, access, readlink): they are then
 * emulated, with results written into the workload's buffers. */
static const char *stat_policy(void) {
        static char p[4096];
        json_object *o, *rules, *nrules;

        o = json_object_from_file(default_policy());
        ck_assert_ptr_nonnull(o);
        ck_assert(json_object_object_get_ex(o, "rules", &rules));
        nrules = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(rules); i++) {
                json_object *r = json_object_array_get_idx(rules, i), *id;
                if (json_object_object_get_ex(r, "id", &id) && streq(json_object_get_string(id), "metadata"))
                        continue;
                json_object_array_add(nrules, json_object_get(r));
        }
        json_object_array_add(nrules, json_tokener_parse(
                "{ \"id\": \"stat-files\", \"syscalls\": [\"@file-stat\"], \"resource\": \"everything\", \"action\": \"allow\" }"));
        json_object_array_add(nrules, json_tokener_parse(
                "{ \"id\": \"stat-scratch\", \"syscalls\": [\"@file-stat\"], \"resource\": \"scratch\", \"action\": \"allow\" }"));
        json_object_array_add(nrules, json_tokener_parse(
                "{ \"id\": \"no-stat-secrets\", \"syscalls\": [\"@file-stat\"], \"resource\": \"secrets\", \"action\": \"deny\", \"errno\": \"EACCES\" }"));
        json_object_object_add(o, "rules", nrules);
        snprintf(p, sizeof p, "%s/stat-policy.json", scratch);
        ck_assert_int_eq(json_object_to_file_ext(p, o, JSON_C_TO_STRING_PRETTY), 0);
        json_object_put(o);
        return p;
}

typedef struct StatTest {
        char link[256];
        struct stat passwd;
} StatTest;

static void workload_stat(void *arg) {
        StatTest *t = arg;
        struct stat st;
        struct statx stx;
        char buf[256] = {};
        int fd;

        W_ASSERT(stat("/etc/passwd", &st) == 0);
        W_ASSERT(st.st_ino == t->passwd.st_ino && st.st_size == t->passwd.st_size && st.st_mode == t->passwd.st_mode);
        W_ASSERT(lstat(t->link, &st) == 0 && S_ISLNK(st.st_mode));
        W_ASSERT(stat(t->link, &st) == 0 && st.st_ino == t->passwd.st_ino);
        W_ASSERT(statx(AT_FDCWD, "/etc/passwd", 0, STATX_INO | STATX_SIZE, &stx) == 0);
        W_ASSERT(stx.stx_ino == t->passwd.st_ino && stx.stx_size == (uint64_t) t->passwd.st_size);
        /* fstat() is newfstatat(fd, "", AT_EMPTY_PATH): judged by the file the fd is. */
        fd = open("/etc/passwd", O_RDONLY);
        W_ASSERT(fd >= 0 && fstat(fd, &st) == 0 && st.st_ino == t->passwd.st_ino);
        close(fd);
        W_ASSERT(readlink(t->link, buf, sizeof buf) == (ssize_t) strlen("/etc/passwd"));
        W_ASSERT(strncmp(buf, "/etc/passwd", 11) == 0);
        W_ASSERT(access("/etc/passwd", R_OK) == 0);
        errno = 0;
        W_ASSERT(access("/nonexistent", F_OK) < 0 && errno == ENOENT);
        errno = 0;
        W_ASSERT(stat("/etc/shadow", &st) < 0 && errno == EACCES);
        errno = 0;
        W_ASSERT(stat("/etc/passwd", (struct stat *) 8) < 0 && errno == EFAULT);
}

START_TEST(test_stat_emulated) {
        Harness h = {};
        StatTest *t = calloc(1, sizeof *t);
        const Recorded *e;

        ck_assert_int_eq(stat("/etc/passwd", &t->passwd), 0);
        snprintf(t->link, sizeof t->link, "%s/passwd-link", scratch);
        ck_assert_int_eq(symlink("/etc/passwd", t->link), 0);
        start(&h, stat_policy(), workload_stat, t);
        ck_assert_workload_ok(finish(&h));
        e = find_event(&h, "newfstatat", "/etc/passwd");
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(e->action, SUPERVISOR_ACTION_EMULATE);
        free(t);
}
END_TEST

/* ---- exec with a path rule: checked, continued only when race-free ---- */

static void *idle_thread(void *arg) {
        pause();
        return NULL;
}

static int run_exec(const char *path, bool threaded) {
        char buf[PATH_MAX];
        pid_t pid = fork();
        int status;

        if (pid < 0)
                return -1;
        if (pid == 0) {
                pthread_t t;
                /* The path on our stack: private anonymous memory. */
                snprintf(buf, sizeof buf, "%s", path);
                if (threaded && pthread_create(&t, NULL, idle_thread, NULL) != 0)
                        _exit(90);
                execl(buf, buf, (char *) NULL);
                _exit(errno == EPERM ? 91 : errno == EACCES ? 92 : 93);
        }
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
                return -1;
        return WEXITSTATUS(status);
}

static void workload_exec(void *arg) {
        int r;

        /* Allowed program, single-threaded, path in private memory: checked and continued. */
        r = run_exec("/bin/true", false);
        W_ASSERT(r == 0);
        /* Allowed program, but another thread shares the memory the path is in: refused (EPERM). */
        r = run_exec("/bin/true", true);
        W_ASSERT(r == 91);
        /* A program outside the allowed trees: the policy's default (EPERM). */
        W_ASSERT(access("/usr/sbin/nologin", X_OK) < 0 || run_exec("/usr/sbin/nologin", false) == 91);
        /* Through a symlink in scratch space into /bin: the kernel would follow the link again, and the
         * workload may replace it in between (issue 7): refused, whatever it leads to now. */
        char link[512];
        snprintf(link, sizeof link, "%s/true-link", (const char *) arg);
        W_ASSERT(symlink("/bin/true", link) == 0);
        W_ASSERT(run_exec(link, false) == 91);
        /* A program that is not there is answered ENOENT by the supervisor (execvp goes on searching). */
        W_ASSERT(run_exec("/usr/bin/fo-no-such-program", false) == 93);
}

START_TEST(test_exec_rules) {
        Harness h = {};
        const Recorded *e;

        start(&h, exec_policy(), workload_exec, scratch);
        ck_assert_workload_ok(finish(&h));
        e = find_event(&h, "execve", NULL);
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(e->action, SUPERVISOR_ACTION_DENY);
        ck_assert_str_eq(e->rule, "supervisor");
}
END_TEST

/* ---- the handoff works whatever the policy says about the syscalls it could have used ---- */

static void workload_hostile(void *arg) {
        int *p = arg;
        /* write is trapped by this policy, and only reached after the handoff. */
        W_ASSERT(write(p[1], "ok", 2) == 2);
}

START_TEST(test_handoff_hostile_policy) {
        Harness h = {};
        char path[512], buf[8] = {};
        int p[2];
        FILE *f;

        /* Everything denied but exiting; write, sendmsg and read go to the supervisor (trust rule). */
        snprintf(path, sizeof path, "%s/hostile.json", scratch);
        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        fputs("{ \"version\": 1, \"name\": \"hostile\", \"default\": { \"action\": \"deny\", \"errno\": \"EPERM\" },\n"
              "  \"rules\": [ { \"id\": \"exit\", \"syscalls\": [\"exit\", \"exit_group\"], \"action\": \"allow\" },\n"
              "               { \"id\": \"io-when-trusted\", \"syscalls\": [\"write\", \"sendmsg\", \"read\"],\n"
              "                 \"action\": \"allow\", \"min_trust\": 1 } ] }\n", f);
        fclose(f);
        ck_assert_int_eq(pipe(p), 0);
        start(&h, path, workload_hostile, p);
        ck_assert_workload_ok(finish(&h));
        ck_assert_int_eq(read(p[0], buf, 2), 2);
        ck_assert_str_eq(buf, "ok");
}
END_TEST

/* ---- connect: the checked address is the one connected to ---- */

typedef struct ConnectTest {
        int port;
        char unix_ok[108], unix_denied[108];
} ConnectTest;

static void workload_connect(void *arg) {
        ConnectTest *t = arg;
        struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t) t->port) };
        struct sockaddr_un un = { .sun_family = AF_UNIX };
        int s;

        /* Loopback: allowed by connect-local, performed by the supervisor on our socket. */
        in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        W_ASSERT(s >= 0);
        W_ASSERT(connect(s, (struct sockaddr *) &in, sizeof in) == 0);
        W_ASSERT(write(s, "ping", 4) == 4);
        close(s);

        /* Non-blocking: the same, with the kernel's own EINPROGRESS semantics. */
        s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        W_ASSERT(s >= 0);
        W_ASSERT(connect(s, (struct sockaddr *) &in, sizeof in) == 0 || errno == EINPROGRESS);
        close(s);

        /* Anything else: the default, EPERM, and no packet leaves. */
        in.sin_addr.s_addr = htonl(0x0a000001);
        s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        errno = 0;
        W_ASSERT(connect(s, (struct sockaddr *) &in, sizeof in) < 0 && errno == EPERM);
        close(s);

        /* A unix socket under /tmp, by a relative path from our cwd. */
        snprintf(un.sun_path, sizeof un.sun_path, "%s", strrchr(t->unix_ok, '/') + 1);
        W_ASSERT(chdir(t->unix_ok) == 0 || (errno == ENOTDIR));
        {
                char dir[108];
                snprintf(dir, sizeof dir, "%s", t->unix_ok);
                *strrchr(dir, '/') = 0;
                W_ASSERT(chdir(dir) == 0);
        }
        s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        W_ASSERT(s >= 0);
        W_ASSERT(connect(s, (struct sockaddr *) &un, sizeof un) == 0);
        close(s);

        /* One elsewhere: denied, whether or not it exists. */
        snprintf(un.sun_path, sizeof un.sun_path, "%s", t->unix_denied);
        s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        errno = 0;
        W_ASSERT(connect(s, (struct sockaddr *) &un, sizeof un) < 0 && errno == EPERM);
        close(s);
}

START_TEST(test_connect) {
        Harness h = {};
        ConnectTest t = {};
        struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        struct sockaddr_un un = { .sun_family = AF_UNIX };
        socklen_t len = sizeof in;
        int l, u, c;
        char buf[8] = {};

        l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(l, 0);
        ck_assert_int_eq(bind(l, (struct sockaddr *) &in, sizeof in), 0);
        ck_assert_int_eq(listen(l, 8), 0);
        ck_assert_int_eq(getsockname(l, (struct sockaddr *) &in, &len), 0);
        t.port = ntohs(in.sin_port);

        snprintf(t.unix_ok, sizeof t.unix_ok, "%s/sock", scratch);
        snprintf(un.sun_path, sizeof un.sun_path, "%s", t.unix_ok);
        u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_eq(bind(u, (struct sockaddr *) &un, sizeof un), 0);
        ck_assert_int_eq(listen(u, 8), 0);
        snprintf(t.unix_denied, sizeof t.unix_denied, "/var/lib/forgeone-test-%d.sock", getpid());

        start(&h, default_policy(), workload_connect, &t);
        c = accept(l, NULL, NULL);
        ck_assert_int_ge(c, 0);
        ck_assert_int_eq(read(c, buf, 4), 4);
        ck_assert_str_eq(buf, "ping");
        close(c);
        ck_assert_workload_ok(finish(&h));
        ck_assert_ptr_nonnull(find_event(&h, "connect", NULL));
        close(l);
        close(u);
}
END_TEST

/* ---- emulated calls run with the workload's credentials, not the supervisor's ---- */

static void workload_unprivileged(void *arg) {
        char p[512];
        struct stat st;
        int fd;

        /* Root's private file in scratch space: the policy allows reading scratch, the file system
         * does not allow us. */
        snprintf(p, sizeof p, "%s/root-only", (const char *) arg);
        errno = 0;
        W_ASSERT(open(p, O_RDONLY) < 0 && errno == EACCES);
        /* A file we create is ours, with our umask applied. */
        umask(077);
        snprintf(p, sizeof p, "%s/open-dir/mine", (const char *) arg);
        fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0666);
        W_ASSERT(fd >= 0);
        W_ASSERT(fstat(fd, &st) == 0);
        W_ASSERT(st.st_uid == 65534 && (st.st_mode & 0777) == 0600);
        close(fd);
        /* World-readable files still open. */
        fd = open("/etc/passwd", O_RDONLY);
        W_ASSERT(fd >= 0);
        close(fd);
}

/* ---- cached credentials follow every change ---- */

/* policies/default.json where the workload may change its ids (@setuid allowed, not denied). */
static const char *setuid_policy(void) {
        static char p[4096];
        json_object *o, *rules;

        o = json_object_from_file(default_policy());
        ck_assert_ptr_nonnull(o);
        ck_assert(json_object_object_get_ex(o, "rules", &rules));
        for (size_t i = 0; i < json_object_array_length(rules); i++) {
                json_object *r = json_object_array_get_idx(rules, i), *id, *sc;
                if (json_object_object_get_ex(r, "id", &id) && streq(json_object_get_string(id), "no-privileged")) {
                        sc = json_object_new_array();
                        json_object_array_add(sc, json_object_new_string("@clock"));
                        json_object_array_add(sc, json_object_new_string("@module"));
                        json_object_array_add(sc, json_object_new_string("@reboot"));
                        json_object_object_add(r, "syscalls", sc);
                }
        }
        json_object *allow = json_object_new_object(), *sc = json_object_new_array();
        json_object_object_add(allow, "id", json_object_new_string("change-ids"));
        json_object_array_add(sc, json_object_new_string("@setuid"));
        json_object_object_add(allow, "syscalls", sc);
        json_object_object_add(allow, "action", json_object_new_string("allow"));
        json_object_array_add(rules, allow);
        snprintf(p, sizeof p, "%s/setuid.json", scratch);
        ck_assert_int_eq(json_object_to_file_ext(p, o, JSON_C_TO_STRING_PRETTY), 0);
        json_object_put(o);
        return p;
}

#define CRED_GROUP 54321

static void workload_creds_refresh(void *arg) {
        const char *dir = arg;
        char grp[512], own[512];
        gid_t g = CRED_GROUP;
        int fd;

        snprintf(grp, sizeof grp, "%s/group-only", dir);
        snprintf(own, sizeof own, "%s/root-only", dir);
        /* Raw syscalls throughout: glibc would broadcast to threads of the parent that are not here. */
        fd = open(own, O_RDONLY | O_CLOEXEC);
        W_ASSERT(fd >= 0); /* root: the cache holds root */
        close(fd);
        /* fsuid nobody, and the group that may read grp. */
        (void) syscall(SYS_setfsuid, 65534);
        W_ASSERT(syscall(SYS_setgroups, 1, &g) == 0);
        fd = open(grp, O_RDONLY | O_CLOEXEC);
        W_ASSERT(fd >= 0);
        close(fd);
        errno = 0;
        W_ASSERT(open(own, O_RDONLY | O_CLOEXEC) < 0 && errno == EACCES);
        /* The group dropped: the kernel's check under the new groups refuses. */
        W_ASSERT(syscall(SYS_setgroups, 0, NULL) == 0);
        errno = 0;
        W_ASSERT(open(grp, O_RDONLY | O_CLOEXEC) < 0 && errno == EACCES);
        W_ASSERT(syscall(SYS_setgroups, 1, &g) == 0);
        fd = open(grp, O_RDONLY | O_CLOEXEC);
        W_ASSERT(fd >= 0);
        close(fd);
        /* Back to fsuid root, then every id to nobody for good. */
        (void) syscall(SYS_setfsuid, 0);
        fd = open(own, O_RDONLY | O_CLOEXEC);
        W_ASSERT(fd >= 0);
        close(fd);
        W_ASSERT(syscall(SYS_setgroups, 0, NULL) == 0);
        W_ASSERT(syscall(SYS_setresgid, 65534, 65534, 65534) == 0);
        W_ASSERT(syscall(SYS_setresuid, 65534, 65534, 65534) == 0);
        errno = 0;
        W_ASSERT(open(own, O_RDONLY | O_CLOEXEC) < 0 && errno == EACCES);
        errno = 0;
        W_ASSERT(open(grp, O_RDONLY | O_CLOEXEC) < 0 && errno == EACCES);
        /* A second thread sees the change of its own credentials only: still nobody here. */
        W_ASSERT(access(own, R_OK) < 0 && errno == EACCES);
}

START_TEST(test_creds_cache_refresh) {
        Harness h = {};
        char p[512];

        ck_assert_int_eq(chmod(run_dir, 0755), 0);
        ck_assert_int_eq(chmod(scratch, 0755), 0);
        snprintf(p, sizeof p, "%s/root-only", scratch);
        ck_assert_int_eq(close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)), 0);
        ck_assert_int_eq(chmod(p, 0600), 0);
        snprintf(p, sizeof p, "%s/group-only", scratch);
        ck_assert_int_eq(close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0640)), 0);
        ck_assert_int_eq(chown(p, 0, CRED_GROUP), 0);
        ck_assert_int_eq(chmod(p, 0640), 0);
        start(&h, setuid_policy(), workload_creds_refresh, scratch);
        ck_assert_workload_ok(finish(&h));
}
END_TEST

START_TEST(test_credentials) {
        Harness h = { .run_as = 65534 };
        char p[512];
        int fd;

        snprintf(p, sizeof p, "%s/root-only", scratch);
        fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        close(fd);
        ck_assert_int_eq(chmod(run_dir, 0755), 0);
        ck_assert_int_eq(chmod(scratch, 0755), 0);
        snprintf(p, sizeof p, "%s/open-dir", scratch);
        ck_assert_int_eq(mkdir(p, 0777), 0);
        ck_assert_int_eq(chmod(p, 0777), 0);
        start(&h, default_policy(), workload_unprivileged, scratch);
        ck_assert_workload_ok(finish(&h));
}
END_TEST

/* ---- hosted: the caller's loop dispatches; stopping needs no signal ---- */

static int workload_hosted(void *arg) {
        int *stop = arg;
        for (int i = 0; i < 200; i++) {
                int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return 1;
                close(fd);
        }
        errno = 0;
        if (open("/etc/shadow", O_RDONLY) >= 0 || errno != EACCES)
                return 2;
        /* Block until the loop stopped dispatching, in a call the kernel decides. */
        (void) read(stop[0], &(char) { 0 }, 1);
        return 0;
}

static void *chdir_root(void *arg) {
        return (void *) (intptr_t) chdir("/");
}

START_TEST(test_hosted) {
        _cleanup_(event_sink_freep) EventSink *sink = NULL;
        ForgeError err = {};
        WorkloadResult res = {};
        SupervisorCounts counts;
        Workload *w = NULL;
        int stop[2], dispatched = 0, r;

        ck_assert_int_eq(pipe(stop), 0);
        ck_assert_int_ge(event_sink_new(0, &sink), 0);
        WorkloadConfig wc = {
                .policy = load_policy(default_policy()),
                .sink = sink,
                .hosted = true,
                .child_fn = workload_hosted,
                .child_userdata = stop,
        };
        ck_assert_int_ge(workload_start(&wc, &w, &err), 0);

        /* One poll() loop, as sd-event would run it: dispatch until the 201 opens are decided. */
        while (dispatched < 201) {
                struct pollfd p = { .fd = supervisor_get_fd(workload_get_supervisor(w)), .events = POLLIN };
                ck_assert_int_eq(poll(&p, 1, 10000), 1);
                r = supervisor_dispatch(workload_get_supervisor(w));
                ck_assert_int_ge(r, 0);
                dispatched += r;
        }
        supervisor_get_counts(workload_get_supervisor(w), &counts);
        ck_assert_uint_eq(counts.decisions[SUPERVISOR_ACTION_EMULATE], 200);
        ck_assert_uint_eq(counts.decisions[SUPERVISOR_ACTION_DENY], 1);
        /* Stop dispatching: nothing to interrupt, the workload waits in a kernel-decided read. */
        ck_assert_int_eq(write(stop[1], "x", 1), 1);
        for (;;) {
                struct pollfd p = { .fd = workload_get_pidfd(w), .events = POLLIN };
                ck_assert_int_eq(poll(&p, 1, 10000), 1);
                r = workload_reap(w, &res);
                ck_assert_int_ge(r, 0);
                if (r > 0)
                        break;
        }
        ck_assert_int_eq(res.exit_code, 0);
        workload_free(w);
        close(stop[0]);
        close(stop[1]);

        /* The emulations ran on the supervisor's own thread: ours still shares its working directory
         * with the process (no unshare(CLONE_FS)) and holds its own credentials. */
        {
                char cwd[PATH_MAX], was[PATH_MAX];
                pthread_t t;
                void *tr;

                ck_assert_ptr_nonnull(getcwd(was, sizeof was));
                ck_assert_int_eq(chdir("/proc"), 0);
                ck_assert_int_eq(pthread_create(&t, NULL, chdir_root, NULL), 0);
                ck_assert_int_eq(pthread_join(t, &tr), 0);
                ck_assert_int_eq((int) (intptr_t) tr, 0);
                ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
                ck_assert_str_eq(cwd, "/");
                ck_assert_int_eq(chdir(was), 0);
                ck_assert_int_eq(setfsuid((uid_t) -1), (int) getuid());
        }
}
END_TEST

/* ---- the default policy: reads, secrets, writes, symlinks ---- */

static void workload_files(void *arg) {
        char p[512], buf[64];
        int fd;

        /* Allowed read, emulated: the fd works and O_CLOEXEC is honoured either way. */
        fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
        W_ASSERT(fd >= 0);
        W_ASSERT(read(fd, buf, sizeof buf) > 0);
        W_ASSERT(fcntl(fd, F_GETFD) == FD_CLOEXEC);
        close(fd);
        fd = open("/etc/passwd", O_RDONLY);
        W_ASSERT(fd >= 0);
        W_ASSERT(fcntl(fd, F_GETFD) == 0);
        close(fd);

        /* O_PATH, and flags open(2) ignores, as without ForgeOne. */
        fd = open("/etc", O_PATH | O_DIRECTORY | O_NONBLOCK | O_RDONLY);
        W_ASSERT(fd >= 0);
        W_ASSERT((fcntl(fd, F_GETFL) & O_PATH) == O_PATH);
        close(fd);
        fd = (int) syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY | O_CLOEXEC | (1 << 30));
        W_ASSERT(fd >= 0);
        close(fd);

        /* Reopening an fd through /proc/self/fd is judged by the file it is: /etc/passwd may be read,
         * not written, however it is named. */
        fd = open("/etc/passwd", O_RDONLY);
        W_ASSERT(fd >= 0);
        snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
        int fd2 = open(p, O_RDONLY);
        W_ASSERT(fd2 >= 0);
        close(fd2);
        errno = 0;
        W_ASSERT(open(p, O_WRONLY | O_APPEND) < 0 && errno == EPERM);
        snprintf(p, sizeof p, "/proc/%d/fd/%d", getpid(), fd);
        errno = 0;
        W_ASSERT(open(p, O_RDWR) < 0 && errno == EPERM);
        close(fd);
        /* Another process's fds are not ours to reopen. */
        errno = 0;
        W_ASSERT(open("/proc/1/fd/0", O_RDONLY) < 0 && errno == EACCES);

        /* Secrets: EACCES from rule deny-secrets, by every spelling. */
        errno = 0;
        W_ASSERT(open("/etc/shadow", O_RDONLY) < 0 && errno == EACCES);
        W_ASSERT(chdir("/etc") == 0);
        errno = 0;
        W_ASSERT(openat(AT_FDCWD, "./shadow", O_RDONLY) < 0 && errno == EACCES);
        errno = 0;
        W_ASSERT(open("../../etc/../etc//shadow", O_RDONLY) < 0 && errno == EACCES);
        int dfd = open("/etc", O_RDONLY | O_DIRECTORY);
        W_ASSERT(dfd >= 0);
        errno = 0;
        W_ASSERT(openat(dfd, "shadow", O_RDONLY) < 0 && errno == EACCES);
        struct open_how how = { .flags = O_RDONLY };
        errno = 0;
        W_ASSERT(syscall(SYS_openat2, dfd, "shadow", &how, sizeof how) < 0 && errno == EACCES);
        /* openat2's own RESOLVE_NO_SYMLINKS is honoured. */
        how.resolve = RESOLVE_NO_SYMLINKS;
        fd = (int) syscall(SYS_openat2, dfd, "passwd", &how, sizeof how);
        W_ASSERT(fd >= 0);
        close(fd);
        snprintf(p, sizeof p, "%s/link-to-passwd", (const char *) arg);
        W_ASSERT(symlink("/etc/passwd", p) == 0);
        errno = 0;
        W_ASSERT(syscall(SYS_openat2, AT_FDCWD, p, &how, sizeof how) < 0 && errno == ELOOP);
        how.resolve = 0;
        fd = (int) syscall(SYS_openat2, AT_FDCWD, p, &how, sizeof how);
        W_ASSERT(fd >= 0);
        close(fd);
        close(dfd);

        /* Writes: scratch space yes (with the umask applied), /etc no. */
        snprintf(p, sizeof p, "%s/out", (const char *) arg);
        umask(027);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        W_ASSERT(fd >= 0);
        W_ASSERT(write(fd, "hello\n", 6) == 6);
        struct stat st;
        W_ASSERT(fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0640);
        close(fd);
        errno = 0;
        W_ASSERT(open("/etc/forgeone-must-not-exist", O_WRONLY | O_CREAT, 0644) < 0 && errno == EPERM);
        /* O_CREAT of something that exists creates nothing: "2>/dev/null" is a write, allowed. */
        fd = open("/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0666);
        W_ASSERT(fd >= 0);
        close(fd);
        errno = 0;
        W_ASSERT(open("/etc/passwd", O_WRONLY | O_APPEND) < 0 && errno == EPERM);

        /* A symlink in the allowed tree pointing at a secret is judged by its target. */
        snprintf(p, sizeof p, "%s/link-to-shadow", (const char *) arg);
        W_ASSERT(symlink("/etc/shadow", p) == 0);
        errno = 0;
        W_ASSERT(open(p, O_RDONLY) < 0 && errno == EACCES);
        /* ... and with O_NOFOLLOW the link itself is not opened either (ELOOP, as without ForgeOne). */
        errno = 0;
        W_ASSERT(open(p, O_RDONLY | O_NOFOLLOW) < 0 && errno == ELOOP);

        /* Missing files fail as usual. */
        errno = 0;
        W_ASSERT(open("/nonexistent/file", O_RDONLY) < 0 && errno == ENOENT);
}

START_TEST(test_default_files) {
        Harness h = {};
        const Recorded *e;
        char p[512];

        start(&h, default_policy(), workload_files, scratch);
        ck_assert_workload_ok(finish(&h));

        e = find_event(&h, "openat", "/etc/shadow");
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(e->action, SUPERVISOR_ACTION_DENY);
        ck_assert_int_eq(e->error, EACCES);
        ck_assert_str_eq(e->rule, "deny-secrets");
        e = find_event(&h, "openat", "/etc/forgeone-must-not-exist");
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(e->action, SUPERVISOR_ACTION_DENY);
        ck_assert_int_eq(access("/etc/forgeone-must-not-exist", F_OK), -1);
        snprintf(p, sizeof p, "%s/out", scratch);
        e = find_event(&h, "openat", p);
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(e->action, SUPERVISOR_ACTION_EMULATE);
        ck_assert_int_eq(e->error, 0);
}
END_TEST

/* ---- a root of its own: symlinks cannot leave it ---- */

static void workload_root(void *arg) {
        char buf[64] = {};
        int fd;

        /* /tmp/escape -> /../../../../etc/hostname-test: resolved inside the root, never on the host. */
        fd = open("/tmp/escape", O_RDONLY);
        W_ASSERT(fd >= 0);
        W_ASSERT(read(fd, buf, sizeof buf - 1) > 0);
        W_ASSERT(streq(buf, "inside\n"));
        close(fd);
        /* The same through a relative link with many "..". */
        fd = open("/tmp/escape-rel", O_RDONLY);
        W_ASSERT(fd >= 0);
        close(fd);
        /* A secret of the root is still a secret. */
        errno = 0;
        W_ASSERT(open("/tmp/to-shadow", O_RDONLY) < 0 && errno == EACCES);
}

START_TEST(test_symlink_stays_in_root) {
        Harness h = {};
        char p[512], cmd[1024];

        snprintf(cmd, sizeof cmd,
                 "set -e; cd '%s'; mkdir -p root/etc root/tmp; echo inside > root/etc/hostname-test; "
                 "echo secret > root/etc/shadow; ln -s /../../../../etc/hostname-test root/tmp/escape; "
                 "ln -s ../../../../../../etc/hostname-test root/tmp/escape-rel; ln -s /etc/shadow root/tmp/to-shadow",
                 scratch);
        ck_assert_int_eq(system(cmd), 0);
        snprintf(p, sizeof p, "%s/root", scratch);
        start_in(&h, default_policy(), p, workload_root, NULL);
        ck_assert_workload_ok(finish(&h));
        ck_assert_ptr_nonnull(find_event(&h, "openat", "/etc/shadow"));
}
END_TEST

/* ---- mount quarantines ---- */

static void workload_mount(void *arg) {
        (void) mount("none", "/mnt", "tmpfs", 0, NULL);
        /* Quarantine kills us; reaching this line is a failure. */
        _exit(42);
}

START_TEST(test_mount_quarantines) {
        Harness h = {};
        const Recorded *e;
        int status;

        start(&h, default_policy(), workload_mount, NULL);
        status = finish(&h);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status 0x%x", status);
        ck_assert_uint_eq(h.n_quarantine, 1);
        e = find_event(&h, "mount", NULL);
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(e->action, SUPERVISOR_ACTION_QUARANTINE);
        ck_assert_str_eq(e->rule, "mount-quarantines");
}
END_TEST

/* ---- trust: repeated denials quarantine ---- */

static void workload_denials(void *arg) {
        for (int i = 0; i < 1000; i++)
                (void) open("/etc/shadow", O_RDONLY);
        _exit(42);
}

START_TEST(test_trust_quarantine) {
        Harness h = {};
        int status;

        /* default.json: trust starts at 100, each denial costs 1, below 10 is quarantine. */
        start(&h, default_policy(), workload_denials, NULL);
        status = finish(&h);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status 0x%x", status);
        ck_assert_uint_eq(h.n_quarantine, 1);
        ck_assert_uint_le(h.n_total, 95);
}
END_TEST

/* ---- the race: a path flipped under an openat ---- */

#define RACE_ATTEMPTS 100000

typedef struct Race {
        char buf[256];
        char allowed[256];
        volatile int stop;
} Race;

static void *flipper(void *arg) {
        Race *r = arg;

        while (!r->stop) {
                strcpy(r->buf, "/etc/shadow");
                strcpy(r->buf, r->allowed);
        }
        return NULL;
}

static void workload_race(void *arg) {
        Race *r = arg;
        struct stat allowed, shadow, st;
        pthread_t t;
        unsigned opened = 0, denied = 0;

        W_ASSERT(stat(r->allowed, &allowed) == 0);
        W_ASSERT(stat("/etc/shadow", &shadow) == 0);
        strcpy(r->buf, r->allowed);
        W_ASSERT(pthread_create(&t, NULL, flipper, r) == 0);
        for (unsigned i = 0; i < RACE_ATTEMPTS; i++) {
                int fd = openat(AT_FDCWD, r->buf, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        /* Denied as the secret, or a torn read of the buffer (ENOENT). */
                        W_ASSERT(errno == EACCES || errno == ENOENT);
                        denied++;
                        continue;
                }
                W_ASSERT(fstat(fd, &st) == 0);
                W_ASSERT(!(st.st_ino == shadow.st_ino && st.st_dev == shadow.st_dev));
                W_ASSERT(st.st_ino == allowed.st_ino);
                close(fd);
                opened++;
        }
        r->stop = 1;
        pthread_join(t, NULL);
        dprintf(STDERR_FILENO, "race: %u opened the allowed file, %u refused, shadow never\n", opened, denied);
        W_ASSERT(opened > 0);
}

START_TEST(test_race) {
        Harness h = {};
        Race *r = calloc(1, sizeof *r);

        snprintf(r->allowed, sizeof r->allowed, "%s/allowed-file", scratch);
        ck_assert_int_eq(close(open(r->allowed, O_CREAT | O_WRONLY | O_CLOEXEC, 0644)), 0);
        start(&h, default_policy_no_penalty(), workload_race, r);
        ck_assert_workload_ok(finish(&h));
        ck_assert_uint_ge(h.n_total, RACE_ATTEMPTS);
        free(r);
}
END_TEST

/* ---- directory entries and attributes by path: emulated in scratch space, denied elsewhere ---- */

/* A directory outside scratch space and the workspace, with a file the workload must not touch; one per
 * test inside one per run, which main() removes even when a test died. */
static char outside_run[] = "/var/lib/fo-emul-XXXXXX";
static char outside[sizeof outside_run + 16];

typedef struct Victim {
        struct stat st;
        char content[64];
} Victim;

static void outside_create(void) {
        char p[512];
        int fd;

        snprintf(outside, sizeof outside, "%s/t-XXXXXX", outside_run);
        ck_assert_ptr_nonnull(mkdtemp(outside));
        ck_assert_int_eq(chmod(outside, 0755), 0);
        snprintf(p, sizeof p, "%s/victim", outside);
        fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "victim\n", 7), 7);
        close(fd);
}

static void outside_remove(void) {
        char cmd[128];

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", outside);
        (void) system(cmd);
}

static void victim_read(Victim *v) {
        char p[512];
        int fd;

        snprintf(p, sizeof p, "%s/victim", outside);
        ck_assert_int_eq(lstat(p, &v->st), 0);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        memset(v->content, 0, sizeof v->content);
        ck_assert_int_ge(read(fd, v->content, sizeof v->content - 1), 0);
        close(fd);
}

/* The victim is still there, the same inode, with the same name, mode, owner, size, times, links. */
static void ck_assert_victim_unchanged(const Victim *before) {
        Victim now;

        victim_read(&now);
        ck_assert_uint_eq(now.st.st_ino, before->st.st_ino);
        ck_assert_uint_eq(now.st.st_mode, before->st.st_mode);
        ck_assert_uint_eq(now.st.st_uid, before->st.st_uid);
        ck_assert_uint_eq(now.st.st_gid, before->st.st_gid);
        ck_assert_uint_eq(now.st.st_nlink, before->st.st_nlink);
        ck_assert_int_eq(now.st.st_size, before->st.st_size);
        ck_assert_int_eq(now.st.st_mtim.tv_sec, before->st.st_mtim.tv_sec);
        ck_assert_int_eq(now.st.st_mtim.tv_nsec, before->st.st_mtim.tv_nsec);
        ck_assert_str_eq(now.content, before->content);
}

#define W_DENIED(call) W_ASSERT((errno = 0, (call) < 0 && errno == EPERM))

static void workload_entries(void *arg) {
        const char *s = arg;
        char v[512], o[512], p[512], q[512], buf[256];
        struct timespec ts[2] = { { .tv_sec = 1000000000 }, { .tv_sec = 1234567890, .tv_nsec = 5000 } };
        struct stat st, st2;
        int fd, dfd;

        /* Outside scratch space: every way of changing the victim or its directory is refused. */
        snprintf(v, sizeof v, "%s/victim", outside);
        snprintf(p, sizeof p, "%s/moved", s);
        W_DENIED(unlink(v));
        W_DENIED(unlinkat(AT_FDCWD, v, 0));
        W_DENIED(rename(v, p));
        W_DENIED(syscall(SYS_renameat2, AT_FDCWD, v, AT_FDCWD, p, RENAME_NOREPLACE));
        snprintf(q, sizeof q, "%s/other", s);
        fd = open(q, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        W_ASSERT(fd >= 0);
        close(fd);
        W_DENIED(rename(q, v));                                               /* replacing it */
        W_DENIED(syscall(SYS_renameat2, AT_FDCWD, q, AT_FDCWD, v, RENAME_EXCHANGE));
        W_DENIED(chmod(v, 0777));
        W_DENIED(fchmodat(AT_FDCWD, v, 0777, 0));
        W_DENIED(chown(v, 1, 1));
        W_DENIED(lchown(v, 1, 1));
        W_DENIED(truncate(v, 0));
        W_DENIED(utimensat(AT_FDCWD, v, ts, 0));
        W_DENIED(utimes(v, NULL));
        W_DENIED(setxattr(v, "user.forgeone", "x", 1, 0));
        W_DENIED(removexattr(v, "user.forgeone"));
        snprintf(p, sizeof p, "%s/hardlink", s);
        W_DENIED(link(v, p));                                                  /* a second name to write */
        snprintf(o, sizeof o, "%s/new", outside);
        W_DENIED(link(q, o));
        W_DENIED(symlink("/tmp", o));
        W_DENIED(mkdir(o, 0755));
        W_DENIED(mknod(o, S_IFIFO | 0644, 0));
        W_DENIED(rmdir(outside));
        dfd = open(outside, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        W_ASSERT(dfd >= 0);
        W_DENIED(unlinkat(dfd, "victim", 0));
        W_DENIED(renameat(dfd, "victim", dfd, "renamed"));
        W_DENIED(fchownat(dfd, "victim", 1, 1, AT_SYMLINK_NOFOLLOW));
        close(dfd);
        /* ... and through a symlink in scratch space pointing at it: judged by what it reaches. */
        snprintf(p, sizeof p, "%s/to-outside", s);
        W_ASSERT(symlink(outside, p) == 0);
        snprintf(p, sizeof p, "%s/to-outside/victim", s);
        W_DENIED(unlink(p));
        W_DENIED(chmod(p, 0777));

        /* In scratch space: done, with the workload's umask, owner and link text. */
        umask(027);
        snprintf(p, sizeof p, "%s/dir", s);
        W_ASSERT(mkdir(p, 0777) == 0);
        W_ASSERT(stat(p, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0750);
        snprintf(p, sizeof p, "%s/dir2/", s); /* a trailing slash names the directory to create */
        W_ASSERT(mkdir(p, 0700) == 0);
        errno = 0;
        W_ASSERT(mkdir(p, 0700) < 0 && errno == EEXIST);
        snprintf(p, sizeof p, "%s/dir/..", s);
        errno = 0;
        W_ASSERT(rmdir(p) < 0 && errno == ENOTEMPTY); /* never dir's parent */
        snprintf(p, sizeof p, "%s/dir/.", s);
        errno = 0;
        W_ASSERT(rmdir(p) < 0 && errno == EINVAL);
        snprintf(p, sizeof p, "%s/fifo", s);
        W_ASSERT(mknod(p, S_IFIFO | 0666, 0) == 0);
        W_ASSERT(lstat(p, &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 0777) == 0640);
        snprintf(p, sizeof p, "%s/null", s);
        W_DENIED(mknod(p, S_IFCHR | 0666, makedev(1, 3)));
        W_ASSERT(lstat(p, &st) < 0 && errno == ENOENT);

        snprintf(p, sizeof p, "%s/file", s);
        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
        W_ASSERT(fd >= 0);
        W_ASSERT(write(fd, "0123456789", 10) == 10);
        W_ASSERT(chmod(p, 0604) == 0);
        W_ASSERT(stat(p, &st) == 0 && (st.st_mode & 07777) == 0604);
        W_ASSERT(syscall(SYS_fchmodat, AT_FDCWD, p, 0640) == 0);
        W_ASSERT(chown(p, 1234, 4321) == 0);
        W_ASSERT(stat(p, &st) == 0 && st.st_uid == 1234 && st.st_gid == 4321);
        W_ASSERT(truncate(p, 4) == 0);
        W_ASSERT(stat(p, &st) == 0 && st.st_size == 4);
        W_ASSERT(utimensat(AT_FDCWD, p, ts, 0) == 0);
        W_ASSERT(stat(p, &st) == 0 && st.st_mtim.tv_sec == 1234567890 && st.st_mtim.tv_nsec == 5000 &&
                 st.st_atim.tv_sec == 1000000000);
        W_ASSERT(futimens(fd, NULL) == 0); /* utimensat(fd, NULL, ...): the open file */
        W_ASSERT(stat(p, &st) == 0 && st.st_mtim.tv_sec > 1234567890);
        struct timeval tv[2] = { { .tv_sec = 7 }, { .tv_sec = 8, .tv_usec = 9 } };
        W_ASSERT(utimes(p, tv) == 0);
        W_ASSERT(stat(p, &st) == 0 && st.st_mtim.tv_sec == 8 && st.st_mtim.tv_nsec == 9000);
        tv[1].tv_usec = 1000000;
        errno = 0;
        W_ASSERT(utimes(p, tv) < 0 && errno == EINVAL);
        close(fd);
        if (setxattr(p, "user.forgeone", "value", 5, XATTR_CREATE) == 0) {
                W_ASSERT(getxattr(p, "user.forgeone", buf, sizeof buf) == 5 && memcmp(buf, "value", 5) == 0);
                errno = 0;
                W_ASSERT(setxattr(p, "user.forgeone", "v", 1, XATTR_CREATE) < 0 && errno == EEXIST);
                W_ASSERT(removexattr(p, "user.forgeone") == 0);
                errno = 0;
                W_ASSERT(getxattr(p, "user.forgeone", buf, sizeof buf) < 0 && errno == ENODATA);
        } else
                W_ASSERT(errno == EOPNOTSUPP); /* a file system without user xattrs */

        /* Links: the text of a symlink is stored as given; hard links share the inode. */
        snprintf(q, sizeof q, "%s/sym", s);
        W_ASSERT(symlink("../not/resolved/..//x", q) == 0);
        ssize_t n = readlink(q, buf, sizeof buf);
        W_ASSERT(n == 21 && memcmp(buf, "../not/resolved/..//x", 21) == 0);
        W_ASSERT(lchown(q, 55, 66) == 0); /* the link itself, not what it names */
        W_ASSERT(lstat(q, &st) == 0 && st.st_uid == 55);
        W_ASSERT(stat(p, &st) == 0 && st.st_uid == 1234);
        errno = 0;
        W_ASSERT(chown(q, 1, 1) < 0 && errno == ENOENT); /* followed: nothing there */
        snprintf(o, sizeof o, "%s/hard", s);
        W_ASSERT(link(p, o) == 0);
        W_ASSERT(stat(p, &st) == 0 && stat(o, &st2) == 0 && st.st_ino == st2.st_ino && st.st_nlink == 2);
        snprintf(buf, sizeof buf, "%s/hard-sym", s);
        W_ASSERT(linkat(AT_FDCWD, q, AT_FDCWD, buf, 0) == 0); /* a hard link to the symlink itself */
        W_ASSERT(lstat(buf, &st2) == 0 && S_ISLNK(st2.st_mode));
        W_ASSERT(unlink(buf) == 0);

        /* Renames, with renameat2's flags. */
        errno = 0;
        W_ASSERT(syscall(SYS_renameat2, AT_FDCWD, o, AT_FDCWD, q, RENAME_NOREPLACE) < 0 && errno == EEXIST);
        W_ASSERT(syscall(SYS_renameat2, AT_FDCWD, o, AT_FDCWD, q, RENAME_EXCHANGE) == 0);
        W_ASSERT(lstat(o, &st2) == 0 && S_ISLNK(st2.st_mode));
        W_ASSERT(lstat(q, &st2) == 0 && st2.st_ino == st.st_ino);
        snprintf(buf, sizeof buf, "%s/dir/renamed", s);
        W_ASSERT(rename(q, buf) == 0);
        W_ASSERT(lstat(buf, &st2) == 0 && st2.st_ino == st.st_ino);
        errno = 0;
        W_ASSERT(syscall(SYS_renameat2, AT_FDCWD, o, AT_FDCWD, buf, 1u << 7) < 0 && errno == EINVAL);

        /* Removal. */
        snprintf(q, sizeof q, "%s/dir", s);
        errno = 0;
        W_ASSERT(rmdir(q) < 0 && errno == ENOTEMPTY);
        errno = 0;
        W_ASSERT(unlink(q) < 0 && errno == EISDIR);
        W_ASSERT(unlink(buf) == 0);
        W_ASSERT(unlinkat(AT_FDCWD, q, AT_REMOVEDIR) == 0);
        W_ASSERT(lstat(q, &st) < 0 && errno == ENOENT);
        errno = 0;
        W_ASSERT(unlink(q) < 0 && errno == ENOENT);
        W_ASSERT(unlink(o) == 0 && unlink(p) == 0);
}

START_TEST(test_entries_default) {
        Harness h = {};
        const Recorded *e;
        Victim before;
        char p[512];

        outside_create();
        victim_read(&before);
        start(&h, default_policy_no_penalty(), workload_entries, scratch);
        ck_assert_workload_ok(finish(&h));
        ck_assert_victim_unchanged(&before);
        snprintf(p, sizeof p, "%s/new", outside);
        ck_assert_int_eq(access(p, F_OK), -1);

        snprintf(p, sizeof p, "%s/victim", outside);
        e = find_event(&h, "unlink", p);
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(e->action, SUPERVISOR_ACTION_DENY);
        ck_assert_str_eq(e->rule, "default");
        snprintf(p, sizeof p, "%s/dir", scratch);
        e = find_event(&h, "mkdir", p);
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(e->action, SUPERVISOR_ACTION_EMULATE);
        ck_assert_str_eq(e->rule, "directories");
        ck_assert_int_eq(e->error, 0);
        outside_remove();
}
END_TEST

/* The same calls as an unprivileged user: the file system's own permissions still apply. */
static void workload_entries_user(void *arg) {
        const char *s = arg;
        char p[512];
        struct stat st;

        snprintf(p, sizeof p, "%s/root-owned", s);
        W_ASSERT(lstat(p, &st) == 0 && st.st_uid == 0);
        errno = 0;
        W_ASSERT(chmod(p, 0666) < 0 && errno == EPERM);
        errno = 0;
        W_ASSERT(chown(p, 65534, 65534) < 0 && errno == EPERM);
        errno = 0;
        W_ASSERT(truncate(p, 0) < 0 && errno == EACCES);
        snprintf(p, sizeof p, "%s/closed/sub", s);
        errno = 0;
        W_ASSERT(mkdir(p, 0755) < 0 && errno == EACCES);
        snprintf(p, sizeof p, "%s/open/mine", s);
        W_ASSERT(mkdir(p, 0755) == 0);
        W_ASSERT(lstat(p, &st) == 0 && st.st_uid == 65534 && st.st_gid == 65534);
        W_ASSERT(rmdir(p) == 0);
}

START_TEST(test_entries_credentials) {
        Harness h = { .run_as = 65534 };
        char p[512];

        snprintf(p, sizeof p, "%s/root-owned", scratch);
        ck_assert_int_eq(close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)), 0);
        snprintf(p, sizeof p, "%s/closed", scratch);
        ck_assert_int_eq(mkdir(p, 0755), 0);
        snprintf(p, sizeof p, "%s/open", scratch);
        ck_assert_int_eq(mkdir(p, 0777), 0);
        ck_assert_int_eq(chmod(p, 0777), 0);
        ck_assert_int_eq(chmod(scratch, 0755), 0);
        start(&h, default_policy(), workload_entries_user, scratch);
        ck_assert_workload_ok(finish(&h));
        snprintf(p, sizeof p, "%s/root-owned", scratch);
        struct stat st;
        ck_assert_int_eq(stat(p, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0644);
}
END_TEST

/* In a root of its own: entries are made inside it, whatever ".." and symlinks say. */
static void workload_entries_root(void *arg) {
        const char *tag = arg;
        char p[512], q[512];
        struct stat st;

        /* /tmp/up -> ../../../../.. : still the root, so this is the root's /tmp. */
        snprintf(p, sizeof p, "/tmp/up/tmp/%s", tag);
        W_ASSERT(mkdir(p, 0755) == 0);
        snprintf(p, sizeof p, "/tmp/up/tmp/%s/file", tag);
        W_ASSERT(close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) == 0);
        snprintf(p, sizeof p, "/../../tmp/%s/file", tag);
        snprintf(q, sizeof q, "/tmp/%s-renamed", tag);
        W_ASSERT(rename(p, q) == 0);
        W_ASSERT(chmod(q, 0600) == 0);
        /* The kernel's own lookup sees the same root: the workload is chrooted into it. */
        W_ASSERT(lstat(q, &st) == 0 && (st.st_mode & 07777) == 0600);
        /* The root's /etc is not scratch space: denied, through the escaping link too. */
        W_DENIED(unlink("/tmp/up/etc/passwd"));
        W_DENIED(unlink("/tmp/esc/passwd"));
        W_DENIED(chmod("/tmp/esc/passwd", 0777));
}

START_TEST(test_entries_in_root) {
        Harness h = {};
        char p[600], cmd[1200], tag[32];
        struct stat st;

        snprintf(tag, sizeof tag, "fo-root-%d", getpid());
        snprintf(cmd, sizeof cmd,
                 "set -e; cd '%s'; mkdir -p root/etc root/tmp; echo inside > root/etc/passwd; "
                 "ln -s ../../../../.. root/tmp/up; ln -s /../../etc root/tmp/esc",
                 scratch);
        ck_assert_int_eq(system(cmd), 0);
        snprintf(p, sizeof p, "%s/root", scratch);
        start_in(&h, default_policy(), p, workload_entries_root, tag);
        ck_assert_workload_ok(finish(&h));

        /* Everything happened inside the root, nothing on the host. */
        snprintf(p, sizeof p, "%s/root/tmp/%s", scratch, tag);
        ck_assert_int_eq(stat(p, &st), 0);
        ck_assert(S_ISDIR(st.st_mode));
        snprintf(p, sizeof p, "/tmp/%s", tag);
        ck_assert_int_eq(lstat(p, &st), -1);
        snprintf(p, sizeof p, "%s/root/tmp/%s-renamed", scratch, tag);
        ck_assert_int_eq(stat(p, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        snprintf(p, sizeof p, "%s/root/etc/passwd", scratch);
        ck_assert_int_eq(stat(p, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0644);
        ck_assert_ptr_nonnull(find_event(&h, "unlink", "/etc/passwd"));
}
END_TEST

/* Secrets inside the workspace (~/.ssh): not replaced, removed, linked to or changed. */
static char home_run[] = "/home/fo-emul-XXXXXX";

static void workload_secret_changes(void *arg) {
        const char *s = arg;
        char key[512], ak[512], p[512];
        int fd;

        snprintf(key, sizeof key, "%s/.ssh/id_ed25519", home_run);
        snprintf(ak, sizeof ak, "%s/.ssh/authorized_keys", home_run);
        snprintf(p, sizeof p, "%s/key-copy", s);
        errno = 0;
        W_ASSERT(link(key, p) < 0 && errno == EACCES); /* a second name to read it by */
        errno = 0;
        W_ASSERT(open(key, O_RDONLY) < 0 && errno == EACCES);
        snprintf(p, sizeof p, "%s/mykey", s);
        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        W_ASSERT(fd >= 0);
        close(fd);
        errno = 0;
        W_ASSERT(rename(p, ak) < 0 && errno == EACCES); /* replacing authorized_keys */
        errno = 0;
        W_ASSERT(unlink(key) < 0 && errno == EACCES);
        errno = 0;
        W_ASSERT(chmod(key, 0644) < 0 && errno == EACCES);
        /* The rest of the home directory is workspace. */
        snprintf(p, sizeof p, "%s/notes", home_run);
        W_ASSERT(mkdir(p, 0755) == 0 && rmdir(p) == 0);
}

START_TEST(test_secret_changes) {
        Harness h = {};
        char p[600];
        struct stat before, after;

        snprintf(p, sizeof p, "%s/.ssh", home_run);
        ck_assert_int_eq(mkdir(p, 0700), 0);
        snprintf(p, sizeof p, "%s/.ssh/id_ed25519", home_run);
        ck_assert_int_eq(close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)), 0);
        ck_assert_int_eq(stat(p, &before), 0);
        snprintf(p, sizeof p, "%s/.ssh/authorized_keys", home_run);
        ck_assert_int_eq(close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)), 0);

        start(&h, default_policy(), workload_secret_changes, scratch);
        ck_assert_workload_ok(finish(&h));
        snprintf(p, sizeof p, "%s/.ssh/id_ed25519", home_run);
        ck_assert_int_eq(stat(p, &after), 0);
        ck_assert_uint_eq(after.st_ino, before.st_ino);
        ck_assert_uint_eq(after.st_nlink, 1);
        ck_assert_uint_eq(after.st_mode, before.st_mode);
        snprintf(p, sizeof p, "%s/.ssh/authorized_keys", home_run);
        ck_assert_int_eq(stat(p, &after), 0);
        ck_assert_int_eq(after.st_size, 0);
        snprintf(p, sizeof p, "%s/.ssh/id_ed25519", home_run);
        ck_assert_ptr_nonnull(find_event(&h, "link", p));
        ck_assert_str_eq(find_event(&h, "link", p)->rule, "deny-secret-changes");
        snprintf(p, sizeof p, "rm -rf '%s/.ssh'", home_run);
        ck_assert_int_eq(system(p), 0);
}
END_TEST

/* ---- the race: a path flipped under a rename ---- */

#define ENTRY_RACE_ATTEMPTS 20000

static void *entry_flipper(void *arg) {
        Race *r = arg;
        char denied[256];

        snprintf(denied, sizeof denied, "%s/victim", outside);
        while (!r->stop) {
                strcpy(r->buf, denied);
                strcpy(r->buf, r->allowed);
        }
        return NULL;
}

static void workload_entry_race(void *arg) {
        Race *r = arg;
        char dst[300];
        struct stat st;
        pthread_t t;
        unsigned renamed = 0, refused = 0;
        int fd;

        snprintf(dst, sizeof dst, "%s.moved", r->allowed);
        strcpy(r->buf, r->allowed);
        W_ASSERT(pthread_create(&t, NULL, entry_flipper, r) == 0);
        for (unsigned i = 0; i < ENTRY_RACE_ATTEMPTS; i++) {
                if (syscall(SYS_renameat2, AT_FDCWD, r->buf, AT_FDCWD, dst, 0) < 0) {
                        /* Denied as the victim, or a torn read of the buffer (ENOENT). */
                        W_ASSERT(errno == EPERM || errno == ENOENT);
                        refused++;
                        continue;
                }
                /* What was moved is the allowed file: it holds no "victim". */
                fd = open(dst, O_RDONLY | O_CLOEXEC);
                W_ASSERT(fd >= 0);
                W_ASSERT(fstat(fd, &st) == 0 && st.st_size == 0);
                close(fd);
                W_ASSERT(rename(dst, r->allowed) == 0);
                renamed++;
        }
        r->stop = 1;
        pthread_join(t, NULL);
        dprintf(STDERR_FILENO, "entry race: %u renamed the allowed file, %u refused, victim never\n",
                renamed, refused);
        W_ASSERT(renamed > 0);
}

START_TEST(test_entry_race) {
        Harness h = {};
        Race *r = calloc(1, sizeof *r);
        Victim before;

        outside_create();
        victim_read(&before);
        snprintf(r->allowed, sizeof r->allowed, "%s/allowed-file", scratch);
        ck_assert_int_eq(close(open(r->allowed, O_CREAT | O_WRONLY | O_CLOEXEC, 0644)), 0);
        start(&h, default_policy_no_penalty(), workload_entry_race, r);
        ck_assert_workload_ok(finish(&h));
        ck_assert_uint_ge(h.n_total, ENTRY_RACE_ATTEMPTS);
        ck_assert_victim_unchanged(&before);
        free(r);
        outside_remove();
}
END_TEST

/* ---- a directory swapped for a symlink to outside, by someone the filter does not see ---- */

#define SWAP_ATTEMPTS 20000

typedef struct Swap {
        char dir[512], alt[512];
        volatile int stop;
        unsigned swaps;
} Swap;

/* The test process itself (not under the filter) exchanges dir, a real directory, with alt, a symlink to
 * the outside directory, as fast as it can: between the supervisor's check of a path through dir and
 * its call, dir may have become the symlink. */
static void *swapper(void *arg) {
        Swap *w = arg;

        while (!w->stop)
                if (syscall(SYS_renameat2, AT_FDCWD, w->dir, AT_FDCWD, w->alt, RENAME_EXCHANGE) == 0)
                        w->swaps++;
        return NULL;
}

static void workload_swap(void *arg) {
        const char *s = arg;
        char p[512], moved[512];
        unsigned done = 0, refused = 0, eloop = 0;
        int fd;

        snprintf(p, sizeof p, "%s/dir/victim", s);
        snprintf(moved, sizeof moved, "%s/moved", s);
        for (unsigned i = 0; i < SWAP_ATTEMPTS; i++) {
                int r;

                switch (i % 4) {
                case 0:
                        r = unlink(p);
                        break;
                case 1:
                        r = rename(p, moved);
                        if (r == 0)
                                W_ASSERT(unlink(moved) == 0);
                        break;
                case 2:
                        r = chmod(p, 0600);
                        break;
                default:
                        r = truncate(p, 0);
                        break;
                }
                if (r < 0) {
                        /* Outside (EPERM), the symlink swapped in after the check (ELOOP), or while
                         * the path was being resolved (ENOTDIR: seen as a directory, then opened as
                         * one and found a symlink), or the file moved away in between (ENOENT). */
                        W_ASSERT(errno == EPERM || errno == ELOOP || errno == ENOTDIR || errno == ENOENT);
                        if (errno == ELOOP)
                                eloop++;
                        refused++;
                } else
                        done++;
                /* Put a file back into whichever directory dir is now (through the symlink: refused). */
                fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
                if (fd >= 0)
                        close(fd);
        }
        dprintf(STDERR_FILENO,
                "swap: %u done in scratch space, %u refused (%u with ELOOP: swapped after the check), "
                "the outside victim never\n",
                done, refused, eloop);
}

START_TEST(test_entry_symlink_swap) {
        Harness h = {};
        Swap *w = calloc(1, sizeof *w);
        pthread_t t;
        Victim before;
        char p[600];

        outside_create();
        victim_read(&before);
        snprintf(w->dir, sizeof w->dir, "%s/dir", scratch);
        snprintf(w->alt, sizeof w->alt, "%s/alt", scratch);
        ck_assert_int_eq(mkdir(w->dir, 0755), 0);
        ck_assert_int_eq(symlink(outside, w->alt), 0);
        snprintf(p, sizeof p, "%s/victim", w->dir);
        ck_assert_int_eq(close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)), 0);

        start(&h, default_policy_no_penalty(), workload_swap, scratch);
        ck_assert_int_eq(pthread_create(&t, NULL, swapper, w), 0);
        ck_assert_workload_ok(finish(&h));
        w->stop = 1;
        ck_assert_int_eq(pthread_join(t, NULL), 0);
        fprintf(stderr, "swap: %u exchanges\n", w->swaps);
        ck_assert_uint_gt(w->swaps, 0);
        ck_assert_victim_unchanged(&before);
        free(w);
        outside_remove();
}
END_TEST

/* ---- killed in the middle of a trapped call ---- */

static void workload_fifo(void *arg) {
        /* Blocks: the supervisor's worker waits in open() for a writer. */
        (void) open((const char *) arg, O_RDONLY);
        _exit(9);
}

START_TEST(test_killed_mid_syscall) {
        Harness h = {};
        char fifo[512];
        int before, status, w;

        snprintf(fifo, sizeof fifo, "%s/fifo", scratch);
        ck_assert_int_eq(mkfifo(fifo, 0600), 0);
        before = count_fds();
        start(&h, default_policy(), workload_fifo, fifo);

        /* Wait until the supervisor's worker waits on the workload's behalf: it holds the FIFO open as the
         * waiting reader (as the kernel holds the blocked open's reader), then kill the workload. */
        for (bool parked = false; !parked;) {
                DIR *d = opendir("/proc/self/fd");
                struct dirent *de;

                while (d && (de = readdir(d))) {
                        char p[300], target[600] = {};

                        snprintf(p, sizeof p, "/proc/self/fd/%s", de->d_name);
                        if (readlink(p, target, sizeof target - 1) > 0 && streq(target, fifo))
                                parked = true;
                }
                if (d)
                        closedir(d);
                if (!parked)
                        usleep(10000);
        }
        ck_assert_int_eq(kill(h.child, SIGKILL), 0);
        /* Wait until it is really gone (the pidfd turns readable), then let a writer come: the worker's
         * open completes with nowhere to go, and the fd it holds must not leak. */
        {
                struct pollfd pfd = { .fd = h.pidfd, .events = POLLIN };
                ck_assert_int_eq(poll(&pfd, 1, 10000), 1);
        }
        w = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        status = finish(&h);
        if (w >= 0)
                close(w);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        ck_assert_uint_ge(h.n_gone, 1);
        ck_assert_int_eq(count_fds(), before);
}
END_TEST

/* ---- many threads ---- */

#define MT_THREADS 8
#define MT_ROUNDS 2000

static void *mt_thread(void *arg) {
        const char *allowed = arg;

        for (int i = 0; i < MT_ROUNDS; i++) {
                int fd = open(allowed, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return (void *) 1;
                close(fd);
                errno = 0;
                if (open("/etc/shadow", O_RDONLY) >= 0 || errno != EACCES)
                        return (void *) 2;
        }
        return NULL;
}

static void workload_threads(void *arg) {
        pthread_t t[MT_THREADS];

        for (int i = 0; i < MT_THREADS; i++)
                W_ASSERT(pthread_create(&t[i], NULL, mt_thread, arg) == 0);
        for (int i = 0; i < MT_THREADS; i++) {
                void *ret;
                W_ASSERT(pthread_join(t[i], &ret) == 0);
                W_ASSERT(ret == NULL);
        }
        /* A forked child inherits the filter and is mediated the same way. */
        pid_t pid = fork();
        W_ASSERT(pid >= 0);
        if (pid == 0) {
                errno = 0;
                if (open("/etc/shadow", O_RDONLY) >= 0 || errno != EACCES)
                        _exit(1);
                _exit(0);
        }
        int status;
        W_ASSERT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

START_TEST(test_multithreaded) {
        Harness h = {};
        char allowed[512];

        snprintf(allowed, sizeof allowed, "%s/allowed-file", scratch);
        ck_assert_int_eq(close(open(allowed, O_CREAT | O_WRONLY | O_CLOEXEC, 0644)), 0);
        start(&h, default_policy_no_penalty(), workload_threads, allowed);
        ck_assert_workload_ok(finish(&h));
        ck_assert_uint_ge(h.n_total, MT_THREADS * MT_ROUNDS * 2 + 1);
}
END_TEST

/* ---- signals during trapped calls ---- */

#define SIG_ROUNDS 20000

static volatile sig_atomic_t handled;

static void on_usr1(int sig) {
        handled++;
}

typedef struct SigTest {
        const char *allowed;
        bool restart;
        pid_t tid;
        volatile int stop;
} SigTest;

static void *signaller(void *arg) {
        SigTest *t = arg;

        while (!t->stop) {
                (void) syscall(SYS_tgkill, getpid(), t->tid, SIGUSR1);
                usleep(20);
        }
        return NULL;
}

static void workload_signals(void *arg) {
        SigTest *t = arg;
        struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = t->restart ? SA_RESTART : 0 };
        unsigned eintr = 0, ok = 0;
        pthread_t th;
        int base;

        sigemptyset(&sa.sa_mask);
        W_ASSERT(sigaction(SIGUSR1, &sa, NULL) == 0);
        t->tid = (pid_t) syscall(SYS_gettid);
        base = count_fds();
        W_ASSERT(pthread_create(&th, NULL, signaller, t) == 0);
        for (int i = 0; i < SIG_ROUNDS; i++) {
                int fd = open(t->allowed, O_RDONLY | O_CLOEXEC);
                if (fd >= 0) {
                        close(fd);
                        ok++;
                        continue;
                }
                /* SA_RESTART: the call is restarted, never EINTR. Without it, EINTR is the only
                 * other outcome, and nothing was opened behind our back. */
                W_ASSERT(!t->restart && errno == EINTR);
                eintr++;
        }
        t->stop = 1;
        W_ASSERT(pthread_join(th, NULL) == 0);
        W_ASSERT(handled > 0);
        W_ASSERT(count_fds() == base);
        dprintf(STDERR_FILENO, "signals (%s): %u opens, %u EINTR, %d handled\n",
                t->restart ? "SA_RESTART" : "no SA_RESTART", ok, eintr, (int) handled);
}

static void signal_test(bool restart) {
        Harness h = {};
        char allowed[512];
        SigTest t = { .allowed = allowed, .restart = restart };

        snprintf(allowed, sizeof allowed, "%s/allowed-file", scratch);
        ck_assert_int_eq(close(open(allowed, O_CREAT | O_WRONLY | O_CLOEXEC, 0644)), 0);
        start(&h, default_policy_no_penalty(), workload_signals, &t);
        ck_assert_workload_ok(finish(&h));
}

START_TEST(test_signals_restart) {
        signal_test(true);
}
END_TEST

START_TEST(test_signals_eintr) {
        signal_test(false);
}
END_TEST

/* ---- the supervisor dies: trapped calls fail with ENOSYS, never pass ---- */

static void workload_orphaned(void *arg) {
        int *pipes = arg;
        char x;
        int fd;

        /* Supervised: works. */
        fd = open("/etc/passwd", O_RDONLY);
        W_ASSERT(fd >= 0);
        close(fd);
        W_ASSERT(write(pipes[1], "1", 1) == 1);
        /* Wait until the parent has killed the supervisor. */
        W_ASSERT(read(pipes[2], &x, 1) == 1);
        errno = 0;
        W_ASSERT(open("/etc/passwd", O_RDONLY) < 0 && errno == ENOSYS);
        errno = 0;
        W_ASSERT(open("/etc/shadow", O_RDONLY) < 0 && errno == ENOSYS);
        /* What the kernel decides on its own still works. */
        W_ASSERT(getpid() > 0);
}

START_TEST(test_supervisor_dies) {
        PolicyFilter *filter = NULL;
        PolicyGraph *graph = NULL;
        SupervisorHandoff *ho = NULL;
        int p1[2], p2[2], arg[3], listener, status;
        pid_t child, sup;
        char x;

        {
                Policy *pol = load_policy(default_policy());
                ck_assert_int_ge(policy_compile(pol, POLICY_IDENTITY_ANY, &filter), 0);
                ck_assert_int_ge(policy_graph_new(pol, &graph), 0);
        }
        ck_assert_int_eq(pipe(p1), 0);
        ck_assert_int_eq(pipe(p2), 0);
        arg[0] = p1[0];
        arg[1] = p1[1];
        arg[2] = p2[0];
        ck_assert_int_ge(supervisor_handoff_new(&ho), 0);

        child = fork();
        ck_assert_int_ge(child, 0);
        if (child == 0) {
                int l = supervisor_child_install(filter, ho);
                if (l < 0)
                        _exit(3);
                close(l);
                workload_orphaned(arg);
                _exit(0);
        }
        int pidfd = pidfd_open_raw(child, 0);
        ck_assert_int_ge(pidfd, 0);
        ck_assert_int_ge(supervisor_handoff_receive(ho, pidfd, 0, &listener), 0);

        /* The supervisor is a process of its own, holding the only copy of the listener. */
        sup = fork();
        ck_assert_int_ge(sup, 0);
        if (sup == 0) {
                Supervisor *s = NULL;
                SupervisorConfig cfg = { .identity = POLICY_IDENTITY_ANY, .root_fd = -1, .cgroup_fd = -1,
                                         .wake_fd = -1, .journal_fd = -1 };
                if (supervisor_new(listener, graph, &cfg, &s) < 0 || supervisor_start_thread(s) < 0)
                        _exit(1);
                for (;;)
                        pause();
        }
        close(listener);

        ck_assert_int_eq(read(p1[0], &x, 1), 1);
        ck_assert_int_eq(kill(sup, SIGKILL), 0);
        ck_assert_int_eq(waitpid(sup, NULL, 0), sup);
        ck_assert_int_eq(write(p2[1], "2", 1), 1);
        ck_assert_int_eq(waitpid(child, &status, 0), child);
        ck_assert_workload_ok(status);
        close(pidfd);
        supervisor_handoff_free(ho);
        policy_graph_unref(graph);
        policy_filter_free(filter);
}
END_TEST

/* ---- reload: a new graph generation decides from then on ---- */

static void workload_reload(void *arg) {
        int *pipes = arg;
        char x;
        int fd;

        fd = open("/etc/passwd", O_RDONLY);
        W_ASSERT(fd >= 0);
        close(fd);
        W_ASSERT(write(pipes[1], "1", 1) == 1);
        W_ASSERT(read(pipes[2], &x, 1) == 1);
        errno = 0;
        W_ASSERT(open("/etc/passwd", O_RDONLY) < 0 && errno == EPERM);
}

START_TEST(test_reload) {
        Harness h = {};
        PolicyDiagnostics diag = {};
        Policy *p = NULL;
        PolicyGraph *g2 = NULL;
        int p1[2], p2[2], arg[3];
        char x;
        const char *strict =
                "{ \"version\": 1, \"name\": \"deny-open\", \"default\": { \"action\": \"deny\", \"errno\": \"EPERM\" },"
                "  \"resources\": { \"all\": { \"type\": \"path\", \"paths\": [\"/**\"], \"access\": [\"all\"] } },"
                "  \"rules\": [ { \"id\": \"no-files\", \"syscalls\": [\"@file-open\"], \"resource\": \"all\","
                "                 \"action\": \"deny\", \"errno\": \"EPERM\" } ] }";

        ck_assert_int_eq(pipe(p1), 0);
        ck_assert_int_eq(pipe(p2), 0);
        arg[0] = p1[0];
        arg[1] = p1[1];
        arg[2] = p2[0];
        start(&h, default_policy(), workload_reload, arg);
        ck_assert_int_eq(read(p1[0], &x, 1), 1);
        ck_assert_int_ge(policy_load_string(strict, strlen(strict), "deny-open", &p, &diag, NULL), 0);
        ck_assert_int_ge(policy_graph_new(p, &g2), 0);
        ck_assert_uint_eq(supervisor_set_graph(workload_get_supervisor(h.w), g2), 2);
        policy_graph_unref(g2);
        ck_assert_int_eq(write(p2[1], "2", 1), 1);
        ck_assert_workload_ok(finish(&h));
        ck_assert_str_eq(h.events[h.n_events - 1].rule, "no-files");
}
END_TEST

int main(void) {
        Suite *s = suite_create("supervisor-live");
        TCase *tc = tcase_create("default-policy");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_default_files);
        tcase_add_test(tc, test_symlink_stays_in_root);
        tcase_add_test(tc, test_mount_quarantines);
        tcase_add_test(tc, test_trust_quarantine);
        tcase_add_test(tc, test_race);
        tcase_add_test(tc, test_killed_mid_syscall);
        tcase_add_test(tc, test_multithreaded);
        tcase_add_test(tc, test_signals_restart);
        tcase_add_test(tc, test_signals_eintr);
        tcase_add_test(tc, test_supervisor_dies);
        tcase_add_test(tc, test_reload);
        tcase_add_test(tc, test_exec_rules);
        tcase_add_test(tc, test_connect);
        tcase_add_test(tc, test_hosted);
        tcase_add_test(tc, test_credentials);
        tcase_add_test(tc, test_creds_cache_refresh);
        tcase_add_test(tc, test_stat_emulated);
        tcase_add_test(tc, test_handoff_hostile_policy);
        tcase_add_test(tc, test_entries_default);
        tcase_add_test(tc, test_entries_credentials);
        tcase_add_test(tc, test_entries_in_root);
        tcase_add_test(tc, test_secret_changes);
        tcase_add_test(tc, test_entry_race);
        tcase_add_test(tc, test_entry_symlink_swap);
        suite_add_tcase(s, tc);

        /* Skip the whole program (exit 77) rather than fail each test when the machine cannot run it. */
        if (geteuid() != 0)
                FO_TEST_SKIP("needs root (pidfd_getfd, process_vm_readv of other processes)");
        if (!mkdtemp(run_dir)) {
                printf("Bail out! cannot create %s: %s\n", run_dir, strerror(errno));
                return EXIT_FAILURE;
        }
        if (!mkdtemp(outside_run) || chmod(outside_run, 0755) < 0) {
                printf("Bail out! cannot create %s: %s\n", outside_run, strerror(errno));
                return EXIT_FAILURE;
        }
        if (!mkdtemp(home_run)) {
                printf("Bail out! cannot create %s: %s\n", home_run, strerror(errno));
                return EXIT_FAILURE;
        }
        int r = fo_test_run(s);
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", run_dir);
        if (system(cmd) != 0)
                fprintf(stderr, "could not remove %s\n", run_dir);
        snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", outside_run, home_run);
        if (system(cmd) != 0)
                fprintf(stderr, "could not remove %s and %s\n", outside_run, home_run);
        return r;
}
