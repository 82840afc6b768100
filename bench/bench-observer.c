/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-observer: what the eBPF observer costs (forgeone.observer(7)), side by side in one invocation
 * (root needed). Workloads are started through the workload API, as forgeonectl run --local starts them.
 *
 *  supervised, observer on / off (the same policy, the same supervisor):
 *   1. a getpid loop (untrapped: the kernel filter allows it), ns per call measured inside the workload
 *   2. tar of /usr/include into a pipe, under policies/default.json (wall time)
 *  unsupervised, on the same host, observer loaded (a watched workload keeps its programs attached) / not:
 *   3. a getpid loop in this process
 *   4. tar of /usr/include run natively
 *
 * Each pair runs ROUNDS times interleaved (on, off, on, off, ...), unpinned; a ratio is the median of the
 * per-round ratios. Only ratios mean anything on a shared machine.
 *
 *   bench-observer [--rounds N] [--calls N] [--json FILE]
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "forgeone/observer.h"
#include "forgeone/policy.h"
#include "forgeone/time-util.h"
#include "forgeone/workload.h"

#include "bench-util.h"

#define MAX_ROUNDS 64

static const char *tar_script = "tar -cf - -C /usr include | cat >/dev/null";

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

typedef struct Shared {
        uint64_t calls;
        uint64_t ns;
} Shared;

static Shared *shared; /* MAP_SHARED: the workload writes its timing here */

static int getpid_loop(void *userdata) {
        uint64_t n = shared->calls, t0 = now_ns();

        for (uint64_t i = 0; i < n; i++)
                (void) syscall(SYS_getpid);
        shared->ns = now_ns() - t0;
        return 0;
}

static int idle_main(void *userdata) {
        char c;

        /* Until the benchmark closes our stdin. */
        return read(STDIN_FILENO, &c, 1) < 0;
}

static Policy *load_policy(const char *rel) {
        char path[4096];
        PolicyDiagnostics diag = {};
        Policy *p = NULL;

        snprintf(path, sizeof path, "%s/%s", getenv("FORGEONE_SOURCE_ROOT") ?: ".", rel);
        if (policy_load_file(path, &p, &diag, NULL) < 0) {
                fprintf(stderr, "bench-observer: cannot load %s\n", path);
                exit(1);
        }
        policy_diagnostics_done(&diag);
        return p;
}

/* Runs a workload to its end; returns its wall time in ns, or 0 on failure. */
static uint64_t run_workload(WorkloadConfig *wc) {
        Workload *w = NULL;
        WorkloadResult res = {};
        ForgeError err = {};
        uint64_t t0 = now_ns(), t;
        int r;

        r = workload_start(wc, &w, &err);
        if (r < 0) {
                fprintf(stderr, "bench-observer: cannot start the workload: %s\n", err.message);
                return 0;
        }
        for (;;) {
                struct pollfd p = { .fd = workload_get_pidfd(w), .events = POLLIN };
                if (poll(&p, 1, -1) < 0)
                        break;
                r = workload_reap(w, &res);
                if (r != 0)
                        break;
        }
        t = now_ns() - t0;
        workload_free(w);
        return r > 0 && res.exit_code == 0 && res.exit_signal == 0 ? t : 0;
}

static uint64_t supervised_getpid(Observer *o, EventSink *sink, uint64_t calls) {
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        WorkloadConfig wc = {
                .policy = load_policy("tests/policies/observer.json"),
                .sink = sink,
                .child_fn = getpid_loop,
                .stdio = { null, null, null },
                .stdio_set = true,
                .observer = o,
        };

        shared->calls = calls;
        shared->ns = 0;
        if (run_workload(&wc) == 0)
                shared->ns = 0;
        close(null);
        return shared->ns;
}

static uint64_t supervised_tar(Observer *o, EventSink *sink) {
        char *argv[] = { (char *) "/bin/sh", (char *) "-c", (char *) tar_script, NULL };
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        WorkloadConfig wc = {
                .argv = argv,
                .policy = load_policy("policies/default.json"),
                .sink = sink,
                .stdio = { null, null, null },
                .stdio_set = true,
                .observer = o,
        };
        uint64_t t = run_workload(&wc);

        close(null);
        return t;
}

static uint64_t host_getpid(uint64_t calls) {
        uint64_t t0 = now_ns();

        for (uint64_t i = 0; i < calls; i++)
                (void) syscall(SYS_getpid);
        return now_ns() - t0;
}

static uint64_t host_tar(void) {
        uint64_t t0 = now_ns();
        pid_t pid = fork();
        int status;

        if (pid < 0)
                return 0;
        if (pid == 0) {
                execl("/bin/sh", "/bin/sh", "-c", tar_script, (char *) NULL);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return 0;
        return now_ns() - t0;
}

/* The observer's consumer side, as in run --local: a thread drains the sink it is attached to. */
typedef struct Drainer {
        EventSink *sink;
        int stop[2];
        pthread_t thread;
} Drainer;

static void *drain_thread(void *arg) {
        Drainer *d = arg;

        for (;;) {
                struct pollfd p[2] = { { .fd = event_sink_get_fd(d->sink), .events = POLLIN },
                                       { .fd = d->stop[0], .events = POLLIN } };
                if (poll(p, 2, -1) < 0 && errno != EINTR)
                        break;
                /* As run --local's printer: a burst gathers, one drain per burst. */
                time_sleep_usec(2000);
                (void) event_sink_drain(d->sink, NULL, NULL);
                if (p[1].revents)
                        break;
        }
        return NULL;
}

typedef struct Pair {
        const char *label;
        const char *unit;
        double on[MAX_ROUNDS], off[MAX_ROUNDS], ratio[MAX_ROUNDS];
        double target;
} Pair;

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "rounds", required_argument, NULL, 'r' },
                { "calls", required_argument, NULL, 'n' },
                { "json", required_argument, NULL, 'j' },
                {},
        };
        char why[OBSERVER_REASON_MAX];
        const char *json_path = NULL;
        int rounds = 9, c, r = 1, go[2] = { -1, -1 }, null = -1;
        uint64_t calls = 2000000;
        Observer *o = NULL;
        EventSink *sink = NULL, *sink_on = NULL;
        Drainer drainer = { .stop = { -1, -1 } };
        bool draining = false;
        Workload *idle = NULL;
        Pair p[4] = {
                { .label = "getpid loop, supervised", .unit = "ns/call", .target = 1.05 },
                { .label = "tar /usr/include, supervised", .unit = "s", .target = 1.05 },
                { .label = "getpid loop, unsupervised", .unit = "ns/call", .target = 1.01 },
                { .label = "tar /usr/include, unsupervised", .unit = "s", .target = 1.01 },
        };
        FILE *jf = NULL;

        while ((c = getopt_long(argc, argv, "r:n:j:", options, NULL)) >= 0)
                switch (c) {
                case 'r':
                        rounds = MIN(MAX(1, atoi(optarg)), MAX_ROUNDS);
                        break;
                case 'n':
                        calls = strtoull(optarg, NULL, 10) ?: calls;
                        break;
                case 'j':
                        json_path = optarg;
                        break;
                default:
                        return 2;
                }
        if (geteuid() != 0) {
                fprintf(stderr, "bench-observer: needs root (BPF programs, workloads).\n");
                return 77;
        }
        shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (shared == MAP_FAILED)
                return 1;
        if (observer_new(&(ObserverConfig){ .name = "bench" }, &o, why) < 0) {
                fprintf(stderr, "bench-observer: the observer cannot run here: %s\n", why);
                return 77;
        }
        /* Off: decisions are counted only, nothing is queued. On: the observer's consumer gets every answered
         * call as a record, drained by a thread of its own, with the sink's ticks. */
        if (event_sink_new(0, &sink) < 0 || event_sink_new(0, &sink_on) < 0)
                goto finish;
        event_sink_set_record_mask(sink, 0);
        event_sink_set_record_mask(sink_on, 0);
        if (observer_attach(o, sink_on) < 0 || pipe2(drainer.stop, O_CLOEXEC) < 0)
                goto finish;
        drainer.sink = sink_on;

        /* An idle workload for the unsupervised pairs: watched, it keeps the programs attached. */
        null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (pipe2(go, O_CLOEXEC) < 0)
                goto finish;
        {
                ForgeError err = {};
                WorkloadConfig wc = {
                        .policy = load_policy("tests/policies/observer.json"),
                        .sink = sink,
                        .child_fn = idle_main,
                        .stdio = { go[0], null, null },
                        .stdio_set = true,
                };
                if (workload_start(&wc, &idle, &err) < 0) {
                        fprintf(stderr, "bench-observer: cannot start the idle workload: %s\n", err.message);
                        goto finish;
                }
        }

        if (event_sink_set_tick(sink_on, 1000000u) < 0 || pthread_create(&drainer.thread, NULL, drain_thread,
                                                                         &drainer) != 0)
                goto fail;
        draining = true;
        /* Warm the page cache, the filter cache and the programs once. */
        if (!supervised_tar(o, sink_on) || !host_tar() || !supervised_getpid(o, sink_on, calls / 10))
                goto fail;
        for (int round = 0; round < rounds; round++) {
                uint64_t a, b;

                a = supervised_getpid(o, sink_on, calls);
                b = supervised_getpid(NULL, sink, calls);
                if (!a || !b)
                        goto fail;
                p[0].on[round] = (double) a / (double) calls;
                p[0].off[round] = (double) b / (double) calls;

                a = supervised_tar(o, sink_on);
                b = supervised_tar(NULL, sink);
                if (!a || !b)
                        goto fail;
                p[1].on[round] = (double) a / 1e9;
                p[1].off[round] = (double) b / 1e9;

                if (observer_add_workload(o, &(ObserverWorkload){ .id = "bench-idle", .pid = workload_get_pid(idle),
                                                                   .skip_init = true, .cgroup_fd = -1 }) < 0)
                        goto fail;
                a = host_getpid(calls);
                b = host_tar();
                observer_remove_workload(o, "bench-idle");
                if (!b)
                        goto fail;
                p[2].on[round] = (double) a / (double) calls;
                p[3].on[round] = (double) b / 1e9;
                /* Nothing watched: the programs are detached, as if the observer were not loaded. */
                a = host_getpid(calls);
                b = host_tar();
                if (!b)
                        goto fail;
                p[2].off[round] = (double) a / (double) calls;
                p[3].off[round] = (double) b / 1e9;
                for (int k = 0; k < 4; k++)
                        p[k].ratio[round] = p[k].on[round] / p[k].off[round];
        }

        printf("%-32s %12s %12s %8s %8s %8s\n", "observer on / off", "on", "off", "ratio", "min", "max");
        jf = json_path ? fopen(json_path, "we") : NULL;
        if (jf)
                fprintf(jf, "[\n");
        for (int k = 0; k < 4; k++) {
                double on = bench_median_double(p[k].on, (size_t) rounds),
                       off = bench_median_double(p[k].off, (size_t) rounds),
                       ratio = bench_median_double(p[k].ratio, (size_t) rounds);

                printf("%-32s %9.3f %-2s %9.3f %-2s %8.3f %8.3f %8.3f   (target <= %.2f)\n", p[k].label, on,
                       p[k].unit, off, p[k].unit, ratio, p[k].ratio[0], p[k].ratio[rounds - 1], p[k].target);
                if (jf)
                        fprintf(jf,
                                "  { \"benchmark\": \"observer\", \"ratio\": \"%s, observer on / off\", "
                                "\"median\": %.3f, \"min\": %.3f, \"max\": %.3f, \"target\": %.2f }%s\n",
                                p[k].label, ratio, p[k].ratio[0], p[k].ratio[rounds - 1], p[k].target,
                                k == 3 ? "" : ",");
        }
        if (jf) {
                fprintf(jf, "]\n");
                fclose(jf);
        }
        printf("(%d interleaved rounds, unpinned; %" PRIu64 " getpid calls per loop; supervised: the workload "
               "API under tests/policies/observer.json (getpid) and policies/default.json (tar); unsupervised: "
               "this process and a native tar while a watched idle workload keeps the programs attached)\n",
               rounds, calls);
        r = 0;
        goto finish;
fail:
        fprintf(stderr, "bench-observer: a run failed\n");
finish:
        if (go[1] >= 0)
                close(go[1]);
        if (idle) {
                WorkloadResult res;
                struct pollfd pf = { .fd = workload_get_pidfd(idle), .events = POLLIN };
                (void) poll(&pf, 1, 5000);
                (void) workload_reap(idle, &res);
                workload_free(idle);
        }
        if (go[0] >= 0)
                close(go[0]);
        if (null >= 0)
                close(null);
        if (draining) {
                (void) !write(drainer.stop[1], "x", 1);
                (void) pthread_join(drainer.thread, NULL);
        }
        if (drainer.stop[0] >= 0) {
                close(drainer.stop[0]);
                close(drainer.stop[1]);
        }
        observer_free(o);
        event_sink_free(sink_on);
        event_sink_free(sink);
        return r;
}
