/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Live container tests (root, real namespaces, cgroups, overlayfs, seccomp):
 * a busybox image built here with umoci runs under policies/default.json.
 * Each test uses its own state, storage and layer-cache directories under
 * /tmp and checks what the kernel shows from outside: /proc/PID/status,
 * the cgroup files. Containers run in a forked owner process that drives the
 * workload API the way forgeonectl does (owner_run()), so a test can kill
 * the owner or send it SIGTERM, or run threads beside it as forgeoned does.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>

#include "test-util.h"

#include "forgeone/cgroup.h"
#include "forgeone/workload.h"
#include "forgeone/container.h"

/* base: made by main(), cleaned by main() after the suite even when a test failed (a failed test's
 * forked process skips its teardown); tmp: one directory per test under it. */
static char base[] = "/tmp/test-container-live-XXXXXX";
static char tmp[128];
static char image_ref[600], state_dir[600], storage_dir[600], cache_dir[600];
static CgroupLayout layout;

static void run_cmd(const char *fmt, ...) _printf_(1, 2);
static void run_cmd(const char *fmt, ...) {
        char cmd[4096];
        va_list ap;
        int r;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof cmd, fmt, ap);
        va_end(ap);
        r = system(cmd);
        ck_assert_msg(r == 0, "command failed (%d): %s", r, cmd);
}

static void setup(void) {
        ck_assert_int_eq(cgroup_detect_layout(NULL, &layout), 0);
        snprintf(tmp, sizeof tmp, "%s/t-XXXXXX", base);
        ck_assert_ptr_nonnull(mkdtemp(tmp));
        snprintf(image_ref, sizeof image_ref, "%s/img:latest", tmp);
        snprintf(state_dir, sizeof state_dir, "%s/state", tmp);
        snprintf(storage_dir, sizeof storage_dir, "%s/storage", tmp);
        snprintf(cache_dir, sizeof cache_dir, "%s/layers", tmp);

        /* A one-layer image: busybox and a few applets, passwd, cmd /bin/sh. */
        run_cmd("cd %s && umoci init --layout img >/dev/null && umoci new --image img:latest >/dev/null && "
                "umoci unpack --image img:latest bundle >/dev/null 2>&1 && "
                "mkdir -p bundle/rootfs/bin bundle/rootfs/etc bundle/rootfs/root && "
                "cp /bin/busybox bundle/rootfs/bin/ && "
                "for a in sh cat echo ls id hostname sleep true test grep head mkdir touch stat mount; do "
                "ln -sf busybox bundle/rootfs/bin/$a; done && "
                "printf 'root:x:0:0:root:/root:/bin/sh\\nuser:x:1000:1000::/:/bin/sh\\n' > bundle/rootfs/etc/passwd && "
                "printf 'root:x:0:\\n' > bundle/rootfs/etc/group && "
                "umoci repack --image img:latest bundle >/dev/null && "
                "umoci config --image img:latest --config.cmd /bin/sh --config.env PATH=/bin >/dev/null && "
                "rm -rf bundle",
                tmp);
}

/* Kills and removes whatever containers under dir left: thaw first, a v1-frozen task cannot die. */
static void cleanup_dir(const char *dir) {
        char cmd[4096];

        snprintf(cmd, sizeof cmd,
                 "for d in %s/state/containers/*/ %s/*/state/containers/*/; do [ -d \"$d\" ] || continue; "
                 "id=$(basename $d); for c in /sys/fs/cgroup/unified/forgeone/$id /sys/fs/cgroup/forgeone/$id; do "
                 "[ -d $c ] && echo 1 > $c/cgroup.kill; done 2>/dev/null; "
                 "[ -d /sys/fs/cgroup/freezer/forgeone/$id ] && echo THAWED > /sys/fs/cgroup/freezer/forgeone/$id/freezer.state; "
                 "sleep 0.2; for h in unified memory pids cpu cpuacct freezer; do rmdir /sys/fs/cgroup/$h/forgeone/$id; done; "
                 "rmdir /sys/fs/cgroup/forgeone/$id; done 2>/dev/null; "
                 "for m in $(grep -o ' %s/[^ ]*' /proc/self/mountinfo | sort -r); do umount -l $m; done 2>/dev/null; "
                 "rm -rf %s",
                 dir, dir, dir, dir);
        (void) system(cmd);
}

static void teardown(void) {
        cleanup_dir(tmp);
}

static bool waiting_allowed;

/* The owner's loop, as forgeonectl's: the workload's end, its owner events, SIGTERM stops the container.
 * Returns the exit status forgeonectl would, or -errno when it could not start (message in err). */
static int owner_run(const ContainerConfig *c, Policy *p, ForgeError *err) {
        Workload *w = NULL;
        WorkloadResult res = {};
        sigset_t mask;
        int sfd, r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        WorkloadConfig wc = { .image = c, .policy = p };
        r = workload_start(&wc, &w, err);
        if (r < 0)
                return r;
        sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        for (;;) {
                struct pollfd pf[3] = { { .fd = workload_get_pidfd(w), .events = POLLIN },
                                        { .fd = workload_get_fd(w), .events = POLLIN },
                                        { .fd = sfd, .events = POLLIN } };
                (void) poll(pf, 3, workload_next_timeout(w) ? 20 : -1);
                (void) workload_process(w);
                if (pf[2].revents) {
                        ContainerStore *st = NULL;
                        ForgeError cerr = {};
                        struct signalfd_siginfo ssi;

                        (void) !read(sfd, &ssi, sizeof ssi);
                        if (container_store_open(c->state_dir, &st) >= 0)
                                (void) container_stop(st, workload_get_container_id(w), 500000, &cerr);
                        container_store_free(st);
                }
                if (pf[0].revents && workload_reap(w, &res) != 0)
                        break;
        }
        workload_free(w);
        return workload_result_exit_status(&res);
}

typedef struct Owner {
        pid_t pid;
        char out[600]; /* the container's stdout+stderr */
} Owner;

/* Starts an owner process running owner_run(); its exit status is the workload's (or 200 when it could
 * not start, with the message in OUT.err). */
static void start_argv(Owner *o, const char *name, char **argv, uint64_t memory, uint64_t pids,
                       uint64_t cpu_millis, const char *budget) {
        snprintf(o->out, sizeof o->out, "%s/%s.out", tmp, name);
        o->pid = fork();
        ck_assert_int_ge(o->pid, 0);
        if (o->pid == 0) {
                _cleanup_(policy_diagnostics_done) PolicyDiagnostics diag = {};
                ContainerConfig c = {
                        .image = image_ref,
                        .name = name,
                        .command = argv,
                        .priority = SCHEDULER_PRIORITY_HIGH,
                        .memory_bytes = memory,
                        .pids = pids,
                        .cpu_millis = cpu_millis,
                        .no_wait = !waiting_allowed,
                        .state_dir = state_dir,
                        .storage_dir = storage_dir,
                        .layer_cache_dir = cache_dir,
                        .budget_file = budget,
                };
                ForgeError err = {};
                Policy *p = NULL;
                char errfile[700];
                int fd, r;

                fd = open(o->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
                        _exit(201);
                if (policy_load_file(fo_test_source_path("policies/default.json"), &p, &diag, NULL) < 0)
                        _exit(202);
                r = owner_run(&c, p, &err);
                if (r < 0) {
                        snprintf(errfile, sizeof errfile, "%s.err", o->out);
                        FILE *f = fopen(errfile, "we");
                        if (f) {
                                fputs(err.message, f);
                                fclose(f);
                        }
                        _exit(200);
                }
                _exit(r & 0xff);
        }
}

static void start(Owner *o, const char *name, const char *script, uint64_t memory, uint64_t pids,
                  uint64_t cpu_millis, const char *budget) {
        char *cmd[] = { (char *) "/bin/sh", (char *) "-c", (char *) script, NULL };

        start_argv(o, name, cmd, memory, pids, cpu_millis, budget);
}

static int finish(Owner *o) {
        int status;

        ck_assert_int_eq(waitpid(o->pid, &status, 0), o->pid);
        ck_assert(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static char *slurp(const char *path) {
        static char buf[8192];
        FILE *f = fopen(path, "re");
        size_t n;

        buf[0] = 0;
        if (!f)
                return buf;
        n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        fclose(f);
        return buf;
}

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000 };
        nanosleep(&ts, NULL);
}

/* Waits (up to 20 s) until the container called name is in state want; returns its record. */
static ContainerRecord *wait_state(ContainerStore *s, const char *name, ContainerState want) {
        for (int i = 0; i < 2000; i++) {
                _cleanup_free_ char *id = NULL;
                ContainerRecord *r = NULL;

                if (container_store_resolve(s, name, &id) >= 0 && container_store_load(s, id, &r) >= 0) {
                        if (r->state == want)
                                return r;
                        ck_assert_msg(!container_state_is_final(r->state) || container_state_is_final(want),
                                      "container %s ended %s while waiting for %s", name,
                                      container_state_to_string(r->state), container_state_to_string(want));
                        container_record_free(r);
                }
                sleep_ms(10);
        }
        ck_abort_msg("container %s never became %s", name, container_state_to_string(want));
        return NULL;
}

static char proc_state(pid_t pid) {
        char path[64], *p;

        snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        p = strstr(slurp(path), "State:");
        ck_assert_ptr_nonnull(p);
        p += strlen("State:");
        while (*p == ' ' || *p == '\t')
                p++;
        return *p;
}

static char *cg_file(const ContainerRecord *r, const char *controller, const char *file) {
        static char path[700];

        if (layout == CGROUP_LAYOUT_UNIFIED)
                snprintf(path, sizeof path, "/sys/fs/cgroup/forgeone/%s/%s", r->id, file);
        else
                snprintf(path, sizeof path, "/sys/fs/cgroup/%s/forgeone/%s/%s", controller, r->id, file);
        return path;
}

static bool is_frozen(const ContainerRecord *r) {
        if (layout == CGROUP_LAYOUT_UNIFIED)
                return strstr(slurp(cg_file(r, "unified", "cgroup.events")), "frozen 1") != NULL;
        return strncmp(slurp(cg_file(r, "freezer", "freezer.state")), "FROZEN", 6) == 0;
}

START_TEST(test_isolation) {
        Owner o;
        char *out;

        start(&o, "iso",
              "echo pid=$$; echo host=$(hostname); id; ls /; "
              "test -e /work && echo LEAK-work; test -e /usr/bin/umoci && echo LEAK-umoci; "
              "test -e /sys/fs/cgroup/memory/process_api && echo LEAK-cgroup; "
              "stat -c 'rootowner=%u tmpmode=%a' / ; stat -c 'tmpmode=%a' /tmp; echo written > /tmp/f && cat /tmp/f",
              0, 0, 0, NULL);
        ck_assert_int_eq(finish(&o), 0);
        out = slurp(o.out);
        ck_assert_msg(strstr(out, "pid=1\n"), "not pid 1:\n%s", out);
        ck_assert_msg(strstr(out, "host=iso\n"), "hostname:\n%s", out);
        ck_assert_msg(strstr(out, "uid=0(root) gid=0(root)"), "id:\n%s", out);
        ck_assert_msg(!strstr(out, "LEAK"), "host files visible:\n%s", out);
        ck_assert_msg(strstr(out, "rootowner=0"), "root not owned by container root (id mapping):\n%s", out);
        ck_assert_msg(strstr(out, "tmpmode=1777"), "/tmp mode:\n%s", out);
        ck_assert_msg(strstr(out, "written\n"), "cannot write /tmp:\n%s", out);
}
END_TEST

START_TEST(test_lifecycle) {
        _cleanup_(container_store_freep) ContainerStore *s = NULL;
        _cleanup_(container_record_freep) ContainerRecord *r = NULL, *q = NULL;
        ForgeError err = {};
        char path[700];
        Owner o;

        start(&o, "life", "while true; do sleep 0.1; done", 64ull << 20, 50, 500, NULL);
        ck_assert_int_eq(container_store_open(state_dir, &s), 0);
        r = wait_state(s, "life", CONTAINER_RUNNING);
        ck_assert_int_gt(r->pid, 1);
        ck_assert(kill(r->pid, 0) == 0);

        /* Limits, as the kernel shows them. */
        if (layout == CGROUP_LAYOUT_UNIFIED) {
                ck_assert_str_eq(slurp(cg_file(r, "memory", "memory.max")), "67108864\n");
                ck_assert_str_eq(slurp(cg_file(r, "pids", "pids.max")), "50\n");
                ck_assert_str_eq(slurp(cg_file(r, "cpu", "cpu.max")), "50000 100000\n");
        } else {
                ck_assert_str_eq(slurp(cg_file(r, "memory", "memory.limit_in_bytes")), "67108864\n");
                ck_assert_str_eq(slurp(cg_file(r, "pids", "pids.max")), "50\n");
                ck_assert_str_eq(slurp(cg_file(r, "cpu", "cpu.cfs_quota_us")), "50000\n");
                ck_assert_str_eq(slurp(cg_file(r, "cpu", "cpu.cfs_period_us")), "100000\n");
                /* high priority, full trust: weight 400 -> 4096 shares */
                ck_assert_str_eq(slurp(cg_file(r, "cpu", "cpu.shares")), "4096\n");
        }
        snprintf(path, sizeof path, "%s", cg_file(r, "unified", "cgroup.procs"));
        ck_assert_msg(strstr(slurp(path), "\n") != NULL, "no process in %s", path);

        /* Pause: the freezer says frozen, and the task is no longer runnable. */
        ck_assert_int_eq(container_pause(s, "life", &err), 0);
        ck_assert(is_frozen(r));
        ck_assert_msg(proc_state(r->pid) != 'R', "frozen task is running");
        forge_error_clear(&err);
        ck_assert_int_eq(container_pause(s, "life", &err), -EBUSY);
        ck_assert_ptr_nonnull(strstr(err.message, "already paused"));
        ck_assert_int_eq(container_resume(s, "life", &err), 0);
        ck_assert(!is_frozen(r));
        ck_assert_int_eq(proc_state(r->pid) == 'S' || proc_state(r->pid) == 'R', 1);

        /* Quarantine freezes, keeps it inspectable, and only release ends it. */
        ck_assert_int_eq(container_quarantine(s, "life", "test says so", &err), 0);
        ck_assert(is_frozen(r));
        ck_assert(kill(r->pid, 0) == 0);
        q = wait_state(s, "life", CONTAINER_QUARANTINED);
        ck_assert_str_eq(q->reason, "test says so");
        forge_error_clear(&err);
        ck_assert_int_eq(container_resume(s, "life", &err), -EBUSY);
        ck_assert_ptr_nonnull(strstr(err.message, "release"));
        ck_assert_int_eq(container_release(s, "life", &err), 0);
        ck_assert(!is_frozen(r));

        /* Stop: sh as pid 1 ignores SIGTERM, so it is killed after the timeout; all is removed. */
        ck_assert_int_eq(container_stop(s, "life", 300000, &err), 0);
        ck_assert_int_eq(finish(&o), 128 + SIGKILL);
        container_record_free(q);
        q = wait_state(s, "life", CONTAINER_STOPPED);
        ck_assert_int_eq(q->exit_signal, SIGKILL);
        ck_assert_msg(access(cg_file(r, "memory", ""), F_OK) < 0, "cgroup left behind");
        ck_assert_msg(access(cg_file(r, "unified", ""), F_OK) < 0, "v2 cgroup left behind");
        snprintf(path, sizeof path, "%s/%s", storage_dir, r->id);
        ck_assert_msg(access(path, F_OK) < 0, "storage %s left behind", path);

        /* Every transition went to the events file. */
        snprintf(path, sizeof path, "%s/events.jsonl", state_dir);
        const char *ev = slurp(path);
        ck_assert_ptr_nonnull(strstr(ev, "\"to\":\"paused\""));
        ck_assert_ptr_nonnull(strstr(ev, "\"to\":\"quarantined\""));
        ck_assert_ptr_nonnull(strstr(ev, "\"reason\":\"test says so\""));
        ck_assert_ptr_nonnull(strstr(ev, "\"to\":\"stopping\""));
        ck_assert_ptr_nonnull(strstr(ev, "\"to\":\"stopped\""));

        /* A final container refuses everything with EINVAL. */
        ck_assert_int_eq(container_pause(s, "life", &err), -EINVAL);
}
END_TEST

START_TEST(test_oom) {
        _cleanup_(container_store_freep) ContainerStore *s = NULL;
        _cleanup_(container_record_freep) ContainerRecord *n = NULL, *h = NULL, *n2 = NULL;
        ForgeError err = {};
        Owner neighbour, hog;

        start(&neighbour, "neighbour", "while true; do sleep 0.1; done", 64ull << 20, 0, 0, NULL);
        ck_assert_int_eq(container_store_open(state_dir, &s), 0);
        n = wait_state(s, "neighbour", CONTAINER_RUNNING);

        start(&hog, "hog", "a=xxxxxxxxxxxxxxxx; while true; do a=\"$a$a\"; done", 32ull << 20, 0, 0, NULL);
        ck_assert_int_eq(finish(&hog), 128 + SIGKILL);
        h = wait_state(s, "hog", CONTAINER_FAILED);
        ck_assert_str_eq(h->reason, "oom");

        /* The neighbour is untouched. */
        n2 = wait_state(s, "neighbour", CONTAINER_RUNNING);
        ck_assert(kill(n->pid, 0) == 0);
        ck_assert_int_eq(container_stop(s, "neighbour", 200000, &err), 0);
        ck_assert_int_eq(finish(&neighbour), 128 + SIGKILL);
}
END_TEST

START_TEST(test_admission) {
        _cleanup_(container_store_freep) ContainerStore *s = NULL;
        _cleanup_(container_record_freep) ContainerRecord *r = NULL;
        ForgeError err = {};
        char budget[700], errfile[700];
        Owner a, b, c;
        FILE *f;

        snprintf(budget, sizeof budget, "%s/budget.json", tmp);
        f = fopen(budget, "we");
        ck_assert_ptr_nonnull(f);
        fputs("{ \"memory\": \"100M\", \"pids\": 1000 }\n", f);
        fclose(f);

        start(&a, "first", "while true; do sleep 0.1; done", 64ull << 20, 100, 0, budget);
        ck_assert_int_eq(container_store_open(state_dir, &s), 0);
        r = wait_state(s, "first", CONTAINER_RUNNING);

        /* Does not fit now, --no-wait: refused with the numbers. */
        start(&b, "second", "true", 64ull << 20, 100, 0, budget);
        ck_assert_int_eq(finish(&b), 200);
        snprintf(errfile, sizeof errfile, "%s.err", b.out);
        ck_assert_msg(strstr(slurp(errfile), "does not fit the host budget now"), "%s", slurp(errfile));
        ck_assert_msg(strstr(slurp(errfile), "memory"), "%s", slurp(errfile));

        /* Can never fit: refused as such. */
        start(&c, "huge", "true", 200ull << 20, 100, 0, budget);
        ck_assert_int_eq(finish(&c), 200);
        snprintf(errfile, sizeof errfile, "%s.err", c.out);
        ck_assert_msg(strstr(slurp(errfile), "exceeds the whole host budget"), "%s", slurp(errfile));

        ck_assert_int_eq(container_stop(s, "first", 200000, &err), 0);
        ck_assert_int_eq(finish(&a), 128 + SIGKILL);

        /* Now it fits. */
        start(&b, "second", "echo ran", 64ull << 20, 100, 0, budget);
        ck_assert_int_eq(finish(&b), 0);
        ck_assert_str_eq(slurp(b.out), "ran\n");
}
END_TEST

START_TEST(test_exec_failure) {
        _cleanup_(container_store_freep) ContainerStore *s = NULL;
        _cleanup_(container_record_freep) ContainerRecord *r = NULL;
        char *argv[] = { (char *) "/bin/does-not-exist", NULL };
        char errfile[700], path[700];
        Owner o;

        start_argv(&o, "broken", argv, 0, 0, 0, NULL);
        ck_assert_int_eq(finish(&o), 200);
        snprintf(errfile, sizeof errfile, "%s.err", o.out);
        ck_assert_msg(strstr(slurp(errfile), "/bin/does-not-exist"), "%s", slurp(errfile));
        ck_assert_int_eq(container_store_open(state_dir, &s), 0);
        r = wait_state(s, "broken", CONTAINER_FAILED);
        ck_assert_ptr_nonnull(strstr(r->reason, "does-not-exist"));
        /* Nothing left behind. */
        ck_assert_msg(access(cg_file(r, "memory", ""), F_OK) < 0, "cgroup left behind");
        snprintf(path, sizeof path, "%s/%s", storage_dir, r->id);
        ck_assert_msg(access(path, F_OK) < 0, "storage %s left behind", path);
}
END_TEST

START_TEST(test_policy_quarantine) {
        _cleanup_(container_store_freep) ContainerStore *s = NULL;
        _cleanup_(container_record_freep) ContainerRecord *q = NULL, *r = NULL;
        ForgeError err = {};
        char marker[700];
        Owner o;

        /* The default policy quarantines mount(2): the container is frozen, not killed. */
        snprintf(marker, sizeof marker, "%s/q.out", tmp);
        start(&o, "q", "echo before; mount -t tmpfs none /tmp; echo after-$?; while true; do sleep 0.1; done", 0, 0, 0,
              NULL);
        ck_assert_int_eq(container_store_open(state_dir, &s), 0);
        q = wait_state(s, "q", CONTAINER_QUARANTINED);
        ck_assert_ptr_nonnull(q->reason);
        ck_assert_msg(strstr(q->reason, "mount"), "reason: %s", q->reason);
        /* The freeze completes once the trapped mount() has been answered. */
        for (int i = 0; i < 500 && !is_frozen(q); i++)
                sleep_ms(10);
        ck_assert(is_frozen(q));
        ck_assert_msg(proc_state(q->pid) != 'R', "quarantined task is running");
        ck_assert(kill(q->pid, 0) == 0); /* alive and inspectable */
        ck_assert_ptr_null(strstr(slurp(marker), "after"));

        /* Released: the mount fails with EPERM and the script goes on. */
        ck_assert_int_eq(container_release(s, "q", &err), 0);
        r = wait_state(s, "q", CONTAINER_RUNNING);
        for (int i = 0; i < 500 && !strstr(slurp(marker), "after-"); i++)
                sleep_ms(10);
        ck_assert_msg(strstr(slurp(marker), "after-"), "output: %s", slurp(marker));
        ck_assert_int_eq(container_stop(s, "q", 200000, &err), 0);
        ck_assert_int_eq(finish(&o), 128 + SIGKILL);
}
END_TEST

/* The owner learns of a quarantine from the supervisor thread while it sleeps in poll(): it must check the
 * freeze then, not at its next event. Otherwise a later Ctrl-C (stop: thaw, SIGTERM) found the deadline
 * long past and the cgroup thawed, and recorded "quarantine could not freeze it" for a container that
 * had been frozen all along. */
START_TEST(test_quarantine_then_owner_stopped) {
        _cleanup_(container_store_freep) ContainerStore *s = NULL;
        _cleanup_(container_record_freep) ContainerRecord *q = NULL, *r = NULL;
        Owner o;

        start(&o, "q2", "mount -t tmpfs none /tmp; echo after-mount; while true; do sleep 0.1; done", 0, 0, 0,
              NULL);
        ck_assert_int_eq(container_store_open(state_dir, &s), 0);
        q = wait_state(s, "q2", CONTAINER_QUARANTINED);
        for (int i = 0; i < 500 && !is_frozen(q); i++)
                sleep_ms(10);
        ck_assert(is_frozen(q));

        sleep_ms(6000); /* past the owner's 5 s freeze deadline */
        ck_assert_int_eq(kill(o.pid, SIGTERM), 0);
        r = wait_state(s, "q2", CONTAINER_STOPPED);
        ck_assert_msg(!r->reason || !strstr(r->reason, "could not freeze"), "reason: %s", r->reason);
        /* Stopping a quarantined container kills it: it never ran past the quarantined call. */
        ck_assert_int_eq(finish(&o), 128 + SIGKILL);
        ck_assert_msg(!strstr(slurp(o.out), "after-mount"), "output: %s", slurp(o.out));
}
END_TEST

START_TEST(test_queue_waits) {
        _cleanup_(container_store_freep) ContainerStore *s = NULL;
        _cleanup_(container_record_freep) ContainerRecord *r = NULL;
        ForgeError err = {};
        char budget[700];
        Owner a, b;
        FILE *f;

        snprintf(budget, sizeof budget, "%s/budget.json", tmp);
        f = fopen(budget, "we");
        ck_assert_ptr_nonnull(f);
        fputs("{ \"memory\": \"100M\", \"pids\": 1000 }\n", f);
        fclose(f);

        start(&a, "holder", "while true; do sleep 0.1; done", 64ull << 20, 100, 0, budget);
        ck_assert_int_eq(container_store_open(state_dir, &s), 0);
        r = wait_state(s, "holder", CONTAINER_RUNNING);

        /* With waiting allowed, the second one queues until the first is gone. */
        waiting_allowed = true;
        start(&b, "waiter", "echo ran", 64ull << 20, 100, 0, budget);
        waiting_allowed = false;
        sleep_ms(600);
        ck_assert_int_eq(waitpid(b.pid, NULL, WNOHANG), 0); /* still waiting */
        char qdir[700];
        snprintf(qdir, sizeof qdir, "%s/queue", state_dir);
        ck_assert_msg(system(NULL) && access(qdir, F_OK) == 0, "no queue directory");

        ck_assert_int_eq(container_stop(s, "holder", 200000, &err), 0);
        ck_assert_int_eq(finish(&a), 128 + SIGKILL);
        ck_assert_int_eq(finish(&b), 0);
        ck_assert_str_eq(slurp(b.out), "ran\n");
}
END_TEST

START_TEST(test_owner_killed) {
        _cleanup_(container_store_freep) ContainerStore *s = NULL;
        _cleanup_(container_record_freep) ContainerRecord *r = NULL, *f = NULL;
        char path[700];
        Owner o;
        int status;

        start(&o, "orphan", "while true; do sleep 0.1; done", 0, 0, 0, NULL);
        ck_assert_int_eq(container_store_open(state_dir, &s), 0);
        r = wait_state(s, "orphan", CONTAINER_RUNNING);

        /* The owner dies without cleaning up: init dies with it (parent-death signal)... */
        ck_assert_int_eq(kill(o.pid, SIGKILL), 0);
        ck_assert_int_eq(waitpid(o.pid, &status, 0), o.pid);
        for (int i = 0; i < 500 && kill(r->pid, 0) == 0; i++)
                sleep_ms(10);
        ck_assert_msg(kill(r->pid, 0) < 0, "container init %d survived its owner", (int) r->pid);

        /* ...and the next reaper records it and removes what is left. */
        ck_assert_int_eq(container_reap_orphans(s), 1);
        f = wait_state(s, "orphan", CONTAINER_FAILED);
        ck_assert_str_eq(f->reason, "owner exited");
        ck_assert_msg(access(cg_file(r, "memory", ""), F_OK) < 0, "cgroup left behind");
        ck_assert_msg(access(cg_file(r, "unified", ""), F_OK) < 0, "v2 cgroup left behind");
        snprintf(path, sizeof path, "%s/%s", storage_dir, r->id);
        ck_assert_msg(access(path, F_OK) < 0, "storage %s left behind", path);
        ck_assert_int_eq(container_reap_orphans(s), 0);
}
END_TEST

START_TEST(test_image_config_and_privileges) {
        _cleanup_(container_store_freep) ContainerStore *s = NULL;
        char *out;
        Owner o;

        /* An image that runs as user 1000 in /home/u with its own env, entrypoint and cmd. */
        run_cmd("cd %s && umoci unpack --image img:latest b2 >/dev/null 2>&1 && mkdir -p b2/rootfs/home/u && "
                "umoci repack --image img:cfg b2 >/dev/null && rm -rf b2 && "
                "umoci config --image img:cfg --config.user 1000 --config.workingdir /home/u "
                "--config.env FOO=bar --config.entrypoint /bin/sh --config.entrypoint -c "
                "--config.cmd 'echo foo=$FOO uid=$(id -u) gid=$(id -g) cwd=$(pwd) home=$HOME; "
                "grep -E \"^(CapEff|CapBnd|NoNewPrivs|Seccomp):\" /proc/self/status; ls /sys/class/net' >/dev/null",
                tmp);
        snprintf(image_ref, sizeof image_ref, "%s/img:cfg", tmp);
        start_argv(&o, "cfg", NULL, 0, 0, 0, NULL);
        ck_assert_int_eq(finish(&o), 0);
        out = slurp(o.out);
        ck_assert_msg(strstr(out, "foo=bar uid=1000 gid=1000 cwd=/home/u home=/\n"), "%s", out);
        /* A non-root workload keeps no capabilities; the bounding set is the documented default. */
        ck_assert_msg(strstr(out, "CapEff:\t0000000000000000"), "%s", out);
        ck_assert_msg(strstr(out, "CapBnd:\t00000000800405fb"), "%s", out);
        ck_assert_msg(strstr(out, "NoNewPrivs:\t1"), "%s", out);
        ck_assert_msg(strstr(out, "Seccomp:\t2"), "%s", out);
        /* network none: loopback only */
        ck_assert_msg(strstr(out, "lo\n") && !strstr(out, "eth0"), "%s", out);

        /* Root keeps the default set as effective capabilities. */
        snprintf(image_ref, sizeof image_ref, "%s/img:latest", tmp);
        start(&o, "caps", "grep -E '^Cap(Eff|Prm):' /proc/self/status", 0, 0, 0, NULL);
        ck_assert_int_eq(finish(&o), 0);
        out = slurp(o.out);
        ck_assert_msg(strstr(out, "CapPrm:\t00000000800405fb") && strstr(out, "CapEff:\t00000000800405fb"), "%s", out);
}
END_TEST

static int refuse_image(const OciImage *image, void *userdata, ForgeError *err) {
        return forge_error_set_kind(err, FORGE_ERROR_UNTRUSTED, -EPERM,
                                    "image %s is not signed by the trust anchor (test verifier)",
                                    image->manifest.digest);
}

/* Runs c in a child (an owner of its own) and expects it refused with expected and a
 * message containing needle before admission: no record made, nothing left in the layer cache but its
 * lock file. bus_name (optional): the D-Bus error name the refusal maps to, the kind having travelled
 * up from where it was recorded. */
static void expect_refused_before_admission(const ContainerConfig *c, int expected, const char *needle,
                                            const char *bus_name) {
        _cleanup_(policy_diagnostics_done) PolicyDiagnostics diag = {};
        _cleanup_(container_store_freep) ContainerStore *s = NULL;
        ForgeError err = {};
        Policy *p = NULL;
        ContainerRecord **l = NULL;
        size_t n = 9, got = 0;
        char msg[FORGE_ERROR_MESSAGE_MAX + 1] = {}, layers[700];
        int pipefd[2], status;

        ck_assert_int_eq(pipe(pipefd), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                close(pipefd[0]);
                if (policy_load_file(fo_test_source_path("policies/default.json"), &p, &diag, NULL) < 0)
                        _exit(2);
                int r = owner_run(c, p, &err);
                const char *name = forge_error_bus_name(&err, r);

                (void) !write(pipefd[1], name, strlen(name));
                (void) !write(pipefd[1], "\n", 1);
                (void) !write(pipefd[1], err.message, strlen(err.message));
                _exit(r == expected ? 0 : 1);
        }
        close(pipefd[1]);
        for (ssize_t k; got < sizeof msg - 1 && (k = read(pipefd[0], msg + got, sizeof msg - 1 - got)) > 0;)
                got += (size_t) k;
        close(pipefd[0]);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", msg);
        ck_assert_msg(strstr(msg, needle), "message \"%s\" lacks \"%s\"", msg, needle);
        if (bus_name)
                ck_assert_msg(strncmp(msg, bus_name, strlen(bus_name)) == 0 && msg[strlen(bus_name)] == '\n',
                              "\"%s\" is not named %s", msg, bus_name);

        ck_assert_int_eq(container_store_open(state_dir, &s), 0);
        ck_assert_int_eq(container_store_list(s, &l, &n), 0);
        ck_assert_uint_eq(n, 0);
        container_record_list_free(l, n);
        snprintf(layers, sizeof layers, "test -z \"$(ls -A %s 2>/dev/null | grep -v '^[.]lock$')\"", cache_dir);
        ck_assert_int_eq(system(layers), 0);
}

START_TEST(test_verifier_refuses) {
        char *cmd[] = { (char *) "/bin/true", NULL };
        ContainerConfig c = {
                .image = image_ref,
                .name = "unsigned",
                .command = cmd,
                .state_dir = state_dir,
                .storage_dir = storage_dir,
                .layer_cache_dir = cache_dir,
                .verify = refuse_image,
        };

        /* Refused before a layer is read. */
        expect_refused_before_admission(&c, -EPERM, "not signed by the trust anchor",
                                        "org.forgeone.Error.Untrusted");
}
END_TEST

START_TEST(test_unpack_limits) {
        char *cmd[] = { (char *) "/bin/true", NULL };
        ContainerConfig c = {
                .image = image_ref,
                .name = "bomb",
                .command = cmd,
                .state_dir = state_dir,
                .storage_dir = storage_dir,
                .layer_cache_dir = cache_dir,
                /* The test image's layer has a handful of entries: one is a limit it cannot meet. */
                .unpack_limits = { .max_entries = 1 },
        };

        expect_refused_before_admission(&c, -E2BIG, "more than 1 entries, the limit per layer", NULL);
        expect_refused_before_admission(&c, -E2BIG, "layer 0: sha256:", NULL);
}
END_TEST

/* Threads of the owner that keep taking the locks a careless child would need after the clone: the allocator's
 * and stdio's list of streams (fopen() and fclose() link and unlink under it). */
static volatile bool hammer_stop;

static void *hammer(void *userdata) {
        while (!hammer_stop) {
                FILE *f = fopen("/dev/null", "re");
                void *p = malloc(64 + (size_t) (rand() % 4096));

                if (f)
                        fclose(f);
                free(p);
        }
        return NULL;
}

START_TEST(test_threaded_owner) {
        pid_t pid;

        /* A user of the image's passwd: init reads /etc/passwd and /etc/group between clone and exec, where
         * it once used stdio (and deadlocked on a lock a thread of the owner held at the clone). */
        run_cmd("cd %s && umoci config --image img:latest --tag user --config.user user >/dev/null", tmp);
        snprintf(image_ref, sizeof image_ref, "%s/img:user", tmp);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                pthread_t threads[4];

                alarm(50); /* a launch that hangs fails the test before the suite's timeout (60 s) */
                FOREACH_ELEMENT(t, threads)
                        if (pthread_create(t, NULL, hammer, NULL) != 0)
                                _exit(3);
                for (int i = 0; i < 12; i++) {
                        _cleanup_(policy_diagnostics_done) PolicyDiagnostics diag = {};
                        char name[32];
                        char *cmd[] = { (char *) "/bin/sh", (char *) "-c", (char *) "test \"$(id -u)\" = 1000",
                                        NULL };
                        ContainerConfig c = {
                                .image = image_ref,
                                .name = name,
                                .command = cmd,
                                .no_wait = true,
                                .state_dir = state_dir,
                                .storage_dir = storage_dir,
                                .layer_cache_dir = cache_dir,
                        };
                        ForgeError err = {};
                        Policy *p = NULL;

                        snprintf(name, sizeof name, "threaded%d", i);
                        if (policy_load_file(fo_test_source_path("policies/default.json"), &p, &diag, NULL) < 0)
                                _exit(4);
                        if (owner_run(&c, p, &err) != 0) {
                                fprintf(stderr, "launch %d: %s\n", i, err.message);
                                _exit(10 + i);
                        }
                }
                hammer_stop = true;
                FOREACH_ELEMENT(t, threads)
                        (void) pthread_join(*t, NULL);
                _exit(0);
        }
        {
                Owner o = { .pid = pid };
                ck_assert_int_eq(finish(&o), 0);
        }
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("container-live");
        TCase *tc = tcase_create("live");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_isolation);
        tcase_add_test(tc, test_lifecycle);
        tcase_add_test(tc, test_oom);
        tcase_add_test(tc, test_admission);
        tcase_add_test(tc, test_exec_failure);
        tcase_add_test(tc, test_policy_quarantine);
        tcase_add_test(tc, test_quarantine_then_owner_stopped);
        tcase_add_test(tc, test_queue_waits);
        tcase_add_test(tc, test_owner_killed);
        tcase_add_test(tc, test_image_config_and_privileges);
        tcase_add_test(tc, test_threaded_owner);
        tcase_add_test(tc, test_verifier_refuses);
        tcase_add_test(tc, test_unpack_limits);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        CgroupLayout l;

        if (getuid() != 0)
                FO_TEST_SKIP("needs root (user namespaces with id maps, cgroups, overlayfs)");
        if (access("/usr/bin/umoci", X_OK) < 0 || access("/bin/busybox", X_OK) < 0)
                FO_TEST_SKIP("needs umoci and busybox-static to build the test image");
        if (cgroup_detect_layout(NULL, &l) < 0)
                FO_TEST_SKIP("no cgroup v2 or hybrid cgroup layout on this host");
        if (!mkdtemp(base))
                FO_TEST_SKIP("cannot create a directory under /tmp");
        int r = fo_test_run(suite());
        cleanup_dir(base);
        return r;
}
