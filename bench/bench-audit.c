/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-audit: what recording decisions in the journal costs the workload
 * (issue 11: <= 1.05 both for a trapped call's round trip and for an
 * emulated open). Root needed. Every configuration starts its workload
 * through the workload API as `forgeonectl run --local --quiet` does, with
 * an event sink drained by a consumer thread that gathers bursts as the
 * CLI's printer does; "logging on" attaches the audit (audit.h) to that
 * sink with its defaults, "off" is --no-audit. The audit writes to a real
 * systemd-journald this program starts in a mount namespace of its own
 * (tmpfs over /run/systemd, /run/log, /var/log/journal), so the host's
 * journal is never touched; without journald it says so and the audit
 * writes its fallback file.
 *
 *  1. getppid trapped and decided by the policy (a min_trust rule), CONTINUE:
 *     logging off / on (allows aggregated, the default) / on with every
 *     allowed call an entry of its own (--audit-allow all).
 *  2. openat+close emulated under policies/default.json (emulations are
 *     always recorded): off / on (entries up to the budget, then exact
 *     aggregates) / on without a budget (every emulation an entry).
 *
 * ROUNDS interleaved rounds; ratios are medians of per-round ratios. Only
 * ratios mean anything on shared machines.
 *
 *   bench-audit [--iterations N] [--json FILE]
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench-util.h"
#include "forgeone/audit.h"
#include "forgeone/policy.h"
#include "forgeone/workload.h"

#define ROUNDS 9

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* ---- the workload: this program exec'd with --workload ---- */

static int workload(const char *what, long n) {
        bool open_it = streq(what, "open");
        uint64_t t0, t1;

        for (long i = 0; i < 1000; i++) {
                if (open_it)
                        close(openat(AT_FDCWD, "/etc/passwd", O_RDONLY | O_CLOEXEC));
                else
                        (void) syscall(SYS_getppid);
        }
        t0 = now_ns();
        for (long i = 0; i < n; i++) {
                if (!open_it) {
                        (void) syscall(SYS_getppid);
                        continue;
                }
                int fd = openat(AT_FDCWD, "/etc/passwd", O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        perror("bench workload: openat");
                        return 1;
                }
                close(fd);
        }
        t1 = now_ns();
        printf("%.1f\n", (double) (t1 - t0) / (double) n);
        return 0;
}

/* ---- journald in a mount namespace of ours ---- */

static pid_t journald = -1;

static const char *start_journald(void) {
        static const char *const dirs[] = { "/run/systemd", "/run/log", "/var/log/journal" };
        struct stat st;

        if (access("/lib/systemd/systemd-journald", X_OK) < 0)
                return "no /lib/systemd/systemd-journald";
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return "cannot make a mount namespace";
        FOREACH_ELEMENT (d, dirs)
                if (stat(*d, &st) == 0 && mount("tmpfs", *d, "tmpfs", 0, "mode=0755") < 0)
                        return "cannot mount a tmpfs for journald";
        journald = fork();
        if (journald < 0)
                return "cannot fork";
        if (journald == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
                dup2(fd, STDOUT_FILENO);
                dup2(fd, STDERR_FILENO);
                execl("/lib/systemd/systemd-journald", "systemd-journald", (char *) NULL);
                _exit(127);
        }
        for (int i = 0; i < 200; i++) {
                if (access("/run/systemd/journal/socket", F_OK) == 0)
                        return NULL;
                usleep(10000);
        }
        return "journald did not create its socket";
}

static void stop_journald(void) {
        if (journald > 0) {
                kill(journald, SIGTERM);
                waitpid(journald, NULL, 0);
                journald = -1;
        }
}

/* ---- the consumer side, as forgeonectl's printer thread ---- */

typedef struct Consumer {
        EventSink *sink;
        int stop[2];
        pthread_t thread;
} Consumer;

static void *consumer_thread(void *arg) {
        Consumer *c = arg;

        for (;;) {
                struct pollfd p[2] = { { .fd = event_sink_get_fd(c->sink), .events = POLLIN },
                                       { .fd = c->stop[0], .events = POLLIN } };

                if (poll(p, 2, -1) < 0)
                        continue;
                if (p[0].revents) {
                        usleep(2000); /* let a burst gather, as the printer does */
                        (void) event_sink_drain(c->sink, NULL, NULL);
                }
                if (p[1].revents)
                        break;
        }
        (void) event_sink_drain(c->sink, NULL, NULL);
        return NULL;
}

typedef enum Logging {
        LOG_OFF,        /* --no-audit: denials recorded for the printer, nothing else */
        LOG_ON,         /* the audit with its defaults */
        LOG_ON_ALL,     /* the audit, every allowed call an entry (--audit-allow all) */
        LOG_ON_NOLIMIT, /* the audit without a budget: every record an entry */
} Logging;

typedef struct Config {
        const char *label;
        const char *what;
        Logging logging;
        bool pinned;
} Config;

enum {
        C_PPID_OFF_PIN,
        C_PPID_ON_PIN,
        C_PPID_OFF,
        C_PPID_ON,
        C_PPID_ON_ALL,
        C_OPEN_OFF_PIN,
        C_OPEN_ON_PIN,
        C_OPEN_OFF,
        C_OPEN_ON,
        C_OPEN_ON_NOLIMIT,
        _C_MAX,
};

static const Config configs[_C_MAX] = {
        [C_PPID_OFF_PIN] = { "getppid trapped, logging off, pinned", "getppid", LOG_OFF, true },
        [C_PPID_ON_PIN] = { "getppid trapped, logging on, pinned", "getppid", LOG_ON, true },
        [C_PPID_OFF] = { "getppid trapped, logging off", "getppid", LOG_OFF },
        [C_PPID_ON] = { "getppid trapped, logging on (allows aggregated)", "getppid", LOG_ON },
        [C_PPID_ON_ALL] = { "getppid trapped, logging on, every allow an entry", "getppid", LOG_ON_ALL },
        [C_OPEN_OFF_PIN] = { "openat+close emulated, logging off, pinned", "open", LOG_OFF, true },
        [C_OPEN_ON_PIN] = { "openat+close emulated, logging on, pinned", "open", LOG_ON, true },
        [C_OPEN_OFF] = { "openat+close emulated, logging off", "open", LOG_OFF },
        [C_OPEN_ON] = { "openat+close emulated, logging on", "open", LOG_ON },
        [C_OPEN_ON_NOLIMIT] = { "openat+close emulated, logging on, no budget", "open", LOG_ON_NOLIMIT },
};

/* Pinned: workload, supervising thread and consumer on CPU 0 (journald where the scheduler puts it), so
 * the comparison is not blurred by which vCPU wakes up how fast; unpinned as users run it. */
static const struct {
        const char *label;
        int num, den;
        double target;
} ratios[] = {
        { "trapped call round trip: on / off (pinned)", C_PPID_ON_PIN, C_PPID_OFF_PIN, 1.05 },
        { "emulated open: on / off (pinned)", C_OPEN_ON_PIN, C_OPEN_OFF_PIN, 1.05 },
        { "trapped call round trip: on / off (unpinned)", C_PPID_ON, C_PPID_OFF, 1.05 },
        { "emulated open: on / off (unpinned)", C_OPEN_ON, C_OPEN_OFF, 1.05 },
        { "trapped call, every allow an entry / off", C_PPID_ON_ALL, C_PPID_OFF, 0 },
        { "emulated open, every emulation an entry / off", C_OPEN_ON_NOLIMIT, C_OPEN_OFF, 0 },
};

static void pin(bool on) {
        cpu_set_t set;

        CPU_ZERO(&set);
        if (on)
                CPU_SET(0, &set);
        else
                for (int i = 0; i < CPU_SETSIZE && i < sysconf(_SC_NPROCESSORS_CONF); i++)
                        CPU_SET(i, &set);
        (void) sched_setaffinity(0, sizeof set, &set);
}

typedef struct Setup {
        const char *self, *getppid_policy, *open_policy, *state_dir;
        uint64_t entries; /* written by the audits, all runs */
} Setup;

static Policy *load(const char *text, const char *path) {
        Policy *p = NULL;
        int r = text ? policy_load_string(text, strlen(text), "bench", &p, NULL, NULL)
                     : policy_load_file(path, &p, NULL, NULL);
        return r < 0 ? NULL : p;
}

static double run(Setup *st, const Config *cf, long n) {
        char nbuf[32], out[64] = {};
        char *argv[] = { (char *) st->self, (char *) "--workload", (char *) cf->what, nbuf, NULL };
        Consumer c = { .stop = { -1, -1 } };
        Audit *audit = NULL;
        ForgeError err = {};
        WorkloadResult res = {};
        Workload *w = NULL;
        int pipefd[2];
        ssize_t k;

        snprintf(nbuf, sizeof nbuf, "%ld", n);
        if (event_sink_new(0, &c.sink) < 0 || pipe2(pipefd, O_CLOEXEC) < 0 || pipe2(c.stop, O_CLOEXEC) < 0)
                return -1;
        if (cf->logging == LOG_OFF)
                event_sink_set_record_mask(c.sink,
                                           (1u << SUPERVISOR_ACTION_DENY) | (1u << SUPERVISOR_ACTION_QUARANTINE));
        else {
                AuditConfig ac;

                audit_config_init(&ac);
                ac.state_dir = st->state_dir;
                if (cf->logging == LOG_ON_ALL)
                        ac.allow = AUDIT_ALLOW_ALL;
                if (cf->logging == LOG_ON_NOLIMIT)
                        ac.rate_burst = 0;
                if (audit_new(&ac, &audit, &err) < 0) {
                        fprintf(stderr, "bench-audit: %s\n", err.message);
                        return -1;
                }
        }
        WorkloadConfig wc = {
                .argv = argv,
                .policy = streq(cf->what, "getppid") ? load(st->getppid_policy, NULL) : load(NULL, st->open_policy),
                .sink = c.sink,
                .stdio = { STDIN_FILENO, pipefd[1], STDERR_FILENO },
                .stdio_set = true,
        };
        if (!wc.policy || workload_start(&wc, &w, &err) < 0) {
                fprintf(stderr, "bench-audit: %s\n", err.message);
                return -1;
        }
        if (audit)
                (void) audit_attach(audit, c.sink);
        pthread_create(&c.thread, NULL, consumer_thread, &c);
        close(pipefd[1]);
        k = read(pipefd[0], out, sizeof out - 1);
        close(pipefd[0]);
        for (;;) {
                struct pollfd p = { .fd = workload_get_pidfd(w), .events = POLLIN };
                if (poll(&p, 1, -1) < 0)
                        continue;
                if (workload_reap(w, &res) != 0)
                        break;
        }
        workload_free(w);
        (void) !write(c.stop[1], "x", 1);
        pthread_join(c.thread, NULL);
        if (audit) {
                AuditStats s;
                audit_get_stats(audit, &s);
                st->entries += s.entries;
                audit_free(audit);
        }
        event_sink_free(c.sink);
        close(c.stop[0]);
        close(c.stop[1]);
        if (k <= 0 || res.exit_code != 0)
                return -1;
        return strtod(out, NULL);
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "iterations", required_argument, NULL, 'n' },
                { "json", required_argument, NULL, 'j' },
                {},
        };
        char self[4096], policy[4096], state[] = "/tmp/fo-bench-audit-XXXXXX", cmd[128];
        double results[_C_MAX][ROUNDS];
        const char *json_path = NULL, *why;
        long n = 50000;
        Setup st = { .getppid_policy = BENCH_GETPPID_POLICY };
        ssize_t k;
        int c;

        if (argc >= 4 && streq(argv[1], "--workload"))
                return workload(argv[2], strtol(argv[3], NULL, 10));
        while ((c = getopt_long(argc, argv, "n:j:", options, NULL)) >= 0)
                switch (c) {
                case 'n':
                        n = strtol(optarg, NULL, 10);
                        break;
                case 'j':
                        json_path = optarg;
                        break;
                default:
                        return 2;
                }
        if (geteuid() != 0) {
                fprintf(stderr, "bench-audit: needs root.\n");
                return 77;
        }
        k = readlink("/proc/self/exe", self, sizeof self - 1);
        if (k < 0 || !mkdtemp(state))
                return 1;
        self[k] = 0;
        st.self = self;
        st.state_dir = state;
        snprintf(policy, sizeof policy, "%s/policies/default.json", getenv("FORGEONE_SOURCE_ROOT") ?: ".");
        st.open_policy = policy;

        why = start_journald();
        if (why)
                printf("(journald: %s; the audit writes its fallback file)\n", why);

        for (int round = 0; round < ROUNDS; round++)
                for (int i = 0; i < _C_MAX; i++) {
                        pin(configs[i].pinned);
                        results[i][round] = run(&st, &configs[i], n);
                        pin(false);
                        if (results[i][round] < 0) {
                                fprintf(stderr, "bench-audit: %s failed.\n", configs[i].label);
                                stop_journald();
                                return 1;
                        }
                }
        stop_journald();
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", state);
        (void) !system(cmd);

        printf("%-52s %12s %12s\n", "configuration", "ns/call med", "ns/call min");
        for (int i = 0; i < _C_MAX; i++) {
                double copy[ROUNDS], mn = results[i][0];
                for (int r = 0; r < ROUNDS; r++)
                        mn = MIN(mn, results[i][r]);
                memcpy(copy, results[i], sizeof copy);
                printf("%-52s %12.0f %12.0f\n", configs[i].label, bench_median_double(copy, ROUNDS), mn);
        }
        printf("\n%-50s %8s %8s %8s\n", "ratio (median of per-round ratios)", "median", "min", "max");
        FILE *jf = json_path ? fopen(json_path, "we") : NULL;
        if (jf)
                fprintf(jf, "[\n");
        for (size_t q = 0; q < ELEMENTSOF(ratios); q++) {
                double r[ROUNDS], m;
                for (int round = 0; round < ROUNDS; round++)
                        r[round] = results[ratios[q].num][round] / results[ratios[q].den][round];
                m = bench_median_double(r, ROUNDS);
                printf("%-50s %8.3f %8.3f %8.3f", ratios[q].label, m, r[0], r[ROUNDS - 1]);
                if (ratios[q].target > 0)
                        printf("   (target <= %.2f)", ratios[q].target);
                printf("\n");
                if (jf)
                        fprintf(jf,
                                "  { \"benchmark\": \"audit\", \"ratio\": \"%s\", \"median\": %.3f, \"min\": %.3f, "
                                "\"max\": %.3f, \"target\": %.2f }%s\n",
                                ratios[q].label, m, r[0], r[ROUNDS - 1], ratios[q].target,
                                q + 1 < ELEMENTSOF(ratios) ? "," : "");
        }
        if (jf) {
                fprintf(jf, "]\n");
                fclose(jf);
        }
        printf("(%ld iterations; %d interleaved rounds; %s; %" PRIu64 " audit entries written in all)\n", n, ROUNDS,
               why ? "no journald" : "a private systemd-journald", st.entries);
        return 0;
}
