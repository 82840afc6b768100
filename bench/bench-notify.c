/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-notify: what a trapped syscall costs under ForgeOne, against
 * baselines measured in the same run (root needed). ForgeOne is started
 * through the workload API exactly as `forgeonectl run --local` starts it
 * (workload_start(): its own pid and mount namespaces, the dedicated
 * supervising thread, an event sink that records denials as --quiet does).
 *
 *  1. getppid trapped to user space and decided by the policy (a min_trust
 *     rule, so the kernel cannot decide it) against a bare seccomp-notify
 *     loop (blocking RECV + CONTINUE, sync wake-up on), and the bare loop
 *     with poll() before RECV (what an event loop costs).
 *  2. openat+close of a regular file emulated under policies/default.json
 *     against the floor: a minimal emulating supervisor written here that
 *     does only RECV, one process_vm_readv, ID_VALID, openat2 with
 *     RESOLVE_IN_ROOT on a cached root fd, and ADDFD with SEND. For a root
 *     and a non-root (nobody) workload; and against no filter and strace.
 *
 * "pinned": the whole run (workload, supervising threads) on CPU 0; else
 * the scheduler places them, as users run it. Each configuration runs
 * ROUNDS times interleaved; ratios are medians of per-round ratios.
 * Only ratios are meaningful on shared machines.
 *
 *   bench-notify [--iterations N] [--policy default.json] [--file PATH] [--json FILE]
 */
#include <fcntl.h>
#include <grp.h>
#include <getopt.h>
#include <linux/openat2.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "forgeone/policy.h"
#include "forgeone/seccomp-notify.h"
#include "forgeone/supervisor.h"
#include "forgeone/workload.h"

#include "bench-util.h"

#define ROUNDS 9
#define NOBODY 65534

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* ---- the workload side: this program exec'd with --workload ---- */

static int workload(const char *what, long n, const char *file) {
        bool open_it = !streq(what, "getppid");
        uint64_t t0, t1;

        /* Warm up (and let the supervisor's first-call costs pass). */
        for (long i = 0; i < 1000; i++) {
                if (open_it)
                        close(openat(AT_FDCWD, file, O_RDONLY | O_CLOEXEC));
                else
                        (void) syscall(SYS_getppid);
        }
        t0 = now_ns();
        for (long i = 0; i < n; i++) {
                if (!open_it) {
                        (void) syscall(SYS_getppid);
                        continue;
                }
                int fd = openat(AT_FDCWD, file, O_RDONLY | O_CLOEXEC);
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

/* ---- the baselines: a bare loop and the emulating floor ---- */

typedef enum Mode {
        MODE_NONE,       /* no filter */
        MODE_BARE,       /* bare notify loop, blocking RECV, CONTINUE */
        MODE_BARE_POLL,  /* the same with poll() before RECV */
        MODE_FLOOR,      /* minimal emulating supervisor for openat */
        MODE_FORGEONE,   /* workload_start() */
        MODE_STRACE,     /* strace -f -e trace=openat */
} Mode;

typedef struct Loop {
        int listener;
        bool poll;
        bool emulate;
        int root_fd;
} Loop;

static void *baseline_loop(void *arg) {
        Loop *b = arg;
        _Alignas(8) char req_buf[512], resp_buf[512];
        struct seccomp_notif *req = (struct seccomp_notif *) req_buf;
        struct seccomp_notif_resp *resp = (struct seccomp_notif_resp *) resp_buf;

        for (;;) {
                if (b->poll) {
                        struct pollfd p = { .fd = b->listener, .events = POLLIN };
                        if (poll(&p, 1, -1) < 0)
                                continue;
                        if (p.revents & POLLHUP)
                                break;
                }
                memset(req, 0, sizeof *req);
                if (ioctl(b->listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
                        struct pollfd p = { .fd = b->listener, .events = POLLIN };
                        if (errno == EINTR)
                                continue;
                        if (poll(&p, 1, 0) > 0 && (p.revents & POLLHUP))
                                break;
                        continue;
                }
                memset(resp, 0, sizeof *resp);
                resp->id = req->id;
                if (!b->emulate || req->data.nr != SYS_openat) {
                        resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
                        (void) ioctl(b->listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
                        continue;
                }
                /* The floor: the least an emulating supervisor can do for a race-free open. */
                char path[256] = {};
                struct iovec local = { .iov_base = path, .iov_len = sizeof path - 1 };
                struct iovec remote = { .iov_base = (void *) (uintptr_t) req->data.args[1], .iov_len = sizeof path - 1 };
                struct open_how how = {
                        .flags = O_RDONLY | O_CLOEXEC,
                        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
                };
                (void) process_vm_readv(req->pid, &local, 1, &remote, 1, 0);
                if (seccomp_notif_id_valid_raw(b->listener, req->id) < 0)
                        continue;
                int fd = openat2_raw(b->root_fd, path, &how);
                if (fd == -ELOOP) {
                        /* The loader's paths through /lib: not what is measured, let the kernel do it. */
                        resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
                        (void) ioctl(b->listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
                        continue;
                }
                if (fd < 0) {
                        resp->error = fd;
                        (void) ioctl(b->listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
                        continue;
                }
                struct seccomp_notif_addfd a = {
                        .id = req->id,
                        .flags = SECCOMP_ADDFD_FLAG_SEND,
                        .srcfd = (uint32_t) fd,
                        .newfd_flags = O_CLOEXEC,
                };
                (void) ioctl(b->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a);
                close(fd);
        }
        return NULL;
}

/* The baselines' filter: getppid (and openat, for the floor) to user space, everything else allowed. */
static int baseline_filter(bool with_openat, PolicyFilter *ret) {
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        int r;

        if (!ctx)
                return -ENOMEM;
        r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(getppid), 0);
        if (r >= 0 && with_openat)
                r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(openat), 0);
        if (r >= 0) {
                char path[] = "/tmp/fo-bench-bpf-XXXXXX";
                int fd = mkstemp(path);
                if (fd < 0)
                        r = -errno;
                else {
                        unlink(path);
                        r = seccomp_export_bpf(ctx, fd);
                        if (r >= 0) {
                                off_t size = lseek(fd, 0, SEEK_END);
                                ret->insns = malloc((size_t) size);
                                ret->n_insns = (size_t) size / sizeof(struct sock_filter);
                                if (!ret->insns || pread(fd, ret->insns, (size_t) size, 0) != size)
                                        r = -EIO;
                        }
                        close(fd);
                }
        }
        seccomp_release(ctx);
        return r < 0 ? r : 0;
}

typedef struct Setup {
        const char *self;
        const char *getppid_policy; /* text */
        const char *open_policy;    /* path */
        PolicyFilter bare, floor;
        EventSink *sink; /* as forgeonectl --quiet: denials only become records */
} Setup;

static Policy *load(const char *text, const char *path) {
        PolicyDiagnostics diag = {};
        Policy *p = NULL;
        int r;

        r = text ? policy_load_string(text, strlen(text), "bench", &p, &diag, NULL)
                 : policy_load_file(path, &p, &diag, NULL);
        for (size_t i = 0; i < diag.n_errors; i++)
                fprintf(stderr, "%s:%u:%u: %s\n", strempty(diag.errors[i].file), diag.errors[i].line,
                        diag.errors[i].column, diag.errors[i].message);
        policy_diagnostics_done(&diag);
        return r < 0 ? NULL : p;
}

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

/* ForgeOne through the workload API, exactly as forgeonectl run --local starts it. */
static double run_forgeone(Setup *st, const char *what, long n, const char *file, bool nobody) {
        char nbuf[32], out[64] = {};
        char *argv[] = { (char *) st->self, (char *) "--workload", (char *) what, nbuf, (char *) file, NULL };
        ForgeError err = {};
        WorkloadResult res = {};
        Workload *w = NULL;
        int pipefd[2];
        ssize_t k;

        snprintf(nbuf, sizeof nbuf, "%ld", n);
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -1;
        WorkloadConfig wc = {
                .argv = argv,
                .policy = streq(what, "getppid") ? load(st->getppid_policy, NULL) : load(NULL, st->open_policy),
                .sink = st->sink,
                .stdio = { STDIN_FILENO, pipefd[1], STDERR_FILENO },
                .stdio_set = true,
                .run_as_uid = nobody ? NOBODY : 0,
                .run_as_gid = nobody ? NOBODY : 0,
        };
        if (!wc.policy || workload_start(&wc, &w, &err) < 0) {
                fprintf(stderr, "bench-notify: %s\n", err.message);
                close(pipefd[0]);
                close(pipefd[1]);
                return -1;
        }
        close(pipefd[1]);
        k = read(pipefd[0], out, sizeof out - 1);
        close(pipefd[0]);
        for (;;) {
                struct pollfd p = { .fd = workload_get_pidfd(w), .events = POLLIN };
                if (poll(&p, 1, -1) < 0 && errno != EINTR)
                        break;
                if (workload_reap(w, &res) != 0)
                        break;
        }
        workload_free(w);
        (void) event_sink_drain(st->sink, NULL, NULL);
        if (k <= 0 || res.exit_code != 0)
                return -1;
        return strtod(out, NULL);
}

/* A baseline: the workload forked here, the listener taken with the library's handoff (the same
 * primitive ForgeOne uses), served by baseline_loop() on a thread. */
static double run_baseline(Setup *st, Mode mode, const char *what, long n, const char *file, bool nobody) {
        char nbuf[32], out[64] = {};
        int pipefd[2];
        SupervisorHandoff *ho = NULL;
        pid_t pid;
        int listener = -1, pidfd, status;
        pthread_t thread;
        Loop loop = { .root_fd = -1 };
        bool supervised = mode == MODE_BARE || mode == MODE_BARE_POLL || mode == MODE_FLOOR;

        snprintf(nbuf, sizeof nbuf, "%ld", n);
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -1;
        if (supervised && supervisor_handoff_new(&ho) < 0)
                return -1;

        pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                dup2(pipefd[1], STDOUT_FILENO);
                if (nobody && (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
                               setresuid(NOBODY, NOBODY, NOBODY) < 0))
                        _exit(4);
                if (supervised && supervisor_child_install(mode == MODE_FLOOR ? &st->floor : &st->bare, ho) < 0)
                        _exit(2);
                if (mode == MODE_STRACE)
                        execlp("strace", "strace", "-f", "-e", "trace=openat", "-o", "/dev/null", st->self,
                               "--workload", what, nbuf, file, (char *) NULL);
                else
                        execl(st->self, st->self, "--workload", what, nbuf, file, (char *) NULL);
                _exit(127);
        }
        close(pipefd[1]);

        pidfd = pidfd_open_raw(pid, 0);
        if (supervised) {
                if (pidfd < 0 || supervisor_handoff_receive(ho, pidfd, 0, &listener) < 0) {
                        kill(pid, SIGKILL);
                        waitpid(pid, NULL, 0);
                        return -1;
                }
                loop.listener = listener;
                loop.poll = mode == MODE_BARE_POLL;
                loop.emulate = mode == MODE_FLOOR;
                loop.root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
                (void) ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, (unsigned long) SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
                pthread_create(&thread, NULL, baseline_loop, &loop);
        }

        ssize_t k = read(pipefd[0], out, sizeof out - 1);
        close(pipefd[0]);
        waitpid(pid, &status, 0);
        if (supervised) {
                pthread_join(thread, NULL);
                close(listener);
                close(loop.root_fd);
                supervisor_handoff_free(ho);
        }
        if (pidfd >= 0)
                close(pidfd);
        if (k <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return -1;
        return strtod(out, NULL);
}

typedef struct Config {
        const char *label;
        Mode mode;
        const char *what;
        bool pinned, nobody;
} Config;

enum {
        C_PPID_NONE,
        C_PPID_BARE,
        C_PPID_BARE_POLL,
        C_PPID_FORGEONE,
        C_PPID_BARE_PIN,
        C_PPID_FORGEONE_PIN,
        C_OPEN_NONE,
        C_OPEN_FLOOR_PIN,
        C_OPEN_FLOOR,
        C_OPEN_FORGEONE_PIN,
        C_OPEN_FORGEONE,
        C_OPEN_FLOOR_NOBODY_PIN,
        C_OPEN_FORGEONE_NOBODY_PIN,
        C_OPEN_FORGEONE_NOBODY,
        C_OPEN_STRACE,
        _C_MAX,
};

static const Config configs[_C_MAX] = {
        [C_PPID_NONE] = { "getppid, no filter", MODE_NONE, "getppid" },
        [C_PPID_BARE] = { "getppid, bare notify loop (blocking RECV)", MODE_BARE, "getppid" },
        [C_PPID_BARE_POLL] = { "getppid, bare notify loop (poll + RECV)", MODE_BARE_POLL, "getppid" },
        [C_PPID_FORGEONE] = { "getppid, ForgeOne (policy decides, CONTINUE)", MODE_FORGEONE, "getppid" },
        [C_PPID_BARE_PIN] = { "getppid, bare notify loop, pinned", MODE_BARE, "getppid", true },
        [C_PPID_FORGEONE_PIN] = { "getppid, ForgeOne, pinned", MODE_FORGEONE, "getppid", true },
        [C_OPEN_NONE] = { "openat+close, no filter", MODE_NONE, "open" },
        [C_OPEN_FLOOR_PIN] = { "openat+close, floor, pinned", MODE_FLOOR, "open", true },
        [C_OPEN_FLOOR] = { "openat+close, floor", MODE_FLOOR, "open" },
        [C_OPEN_FORGEONE_PIN] = { "openat+close, ForgeOne default.json, pinned", MODE_FORGEONE, "open", true },
        [C_OPEN_FORGEONE] = { "openat+close, ForgeOne default.json", MODE_FORGEONE, "open" },
        [C_OPEN_FLOOR_NOBODY_PIN] = { "openat+close, floor, nobody, pinned", MODE_FLOOR, "open", true, true },
        [C_OPEN_FORGEONE_NOBODY_PIN] = { "openat+close, ForgeOne, nobody, pinned", MODE_FORGEONE, "open", true, true },
        [C_OPEN_FORGEONE_NOBODY] = { "openat+close, ForgeOne, nobody", MODE_FORGEONE, "open", false, true },
        [C_OPEN_STRACE] = { "openat+close, strace -f -e trace=openat", MODE_STRACE, "open" },
};

static const struct {
        const char *label;
        int num, den;
        double target; /* 0: reported only */
} ratios[] = {
        { "trapped getppid: ForgeOne / bare loop (unpinned)", C_PPID_FORGEONE, C_PPID_BARE, 1.10 },
        { "trapped getppid: ForgeOne / bare loop (pinned)", C_PPID_FORGEONE_PIN, C_PPID_BARE_PIN, 1.10 },
        { "bare poll+RECV / bare blocking RECV", C_PPID_BARE_POLL, C_PPID_BARE, 0 },
        { "emulated open, root: ForgeOne / floor (both pinned)", C_OPEN_FORGEONE_PIN, C_OPEN_FLOOR_PIN, 1.20 },
        { "emulated open, root: ForgeOne unpinned / floor pinned", C_OPEN_FORGEONE, C_OPEN_FLOOR_PIN, 1.50 },
        { "emulated open, nobody: ForgeOne / floor (both pinned)", C_OPEN_FORGEONE_NOBODY_PIN, C_OPEN_FLOOR_NOBODY_PIN,
          1.20 },
        { "emulated open, nobody: ForgeOne unpinned / floor pinned", C_OPEN_FORGEONE_NOBODY, C_OPEN_FLOOR_NOBODY_PIN,
          1.50 },
        { "emulated open: floor unpinned / floor pinned", C_OPEN_FLOOR, C_OPEN_FLOOR_PIN, 0 },
        { "emulated open: ForgeOne unpinned / no filter", C_OPEN_FORGEONE, C_OPEN_NONE, 0 },
        { "strace -f / ForgeOne (ptrace, deciding nothing)", C_OPEN_STRACE, C_OPEN_FORGEONE, 0 },
};

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "iterations", required_argument, NULL, 'n' },
                { "policy", required_argument, NULL, 'p' },
                { "file", required_argument, NULL, 'f' },
                { "json", required_argument, NULL, 'j' },
                {},
        };
        const char *policy_path = NULL, *file = "/etc/passwd", *json_path = NULL;
        long n = 100000;
        int c;
        Setup st = { .getppid_policy = BENCH_GETPPID_POLICY };
        char self[4096];
        double results[_C_MAX][ROUNDS], med[_C_MAX];
        ssize_t k;

        if (argc >= 5 && streq(argv[1], "--workload"))
                return workload(argv[2], strtol(argv[3], NULL, 10), argv[4]);

        while ((c = getopt_long(argc, argv, "n:p:f:j:", options, NULL)) >= 0)
                switch (c) {
                case 'n':
                        n = strtol(optarg, NULL, 10);
                        break;
                case 'p':
                        policy_path = optarg;
                        break;
                case 'f':
                        file = optarg;
                        break;
                case 'j':
                        json_path = optarg;
                        break;
                default:
                        return 2;
                }
        if (!policy_path) {
                const char *root = getenv("FORGEONE_SOURCE_ROOT");
                static char p[4096];
                snprintf(p, sizeof p, "%s/policies/default.json", root ?: ".");
                policy_path = p;
        }
        st.open_policy = policy_path;
        if (geteuid() != 0) {
                fprintf(stderr, "bench-notify: needs root (pidfd_getfd, process_vm_readv).\n");
                return 77;
        }
        k = readlink("/proc/self/exe", self, sizeof self - 1);
        if (k < 0)
                return 1;
        self[k] = 0;
        st.self = self;
        /* The workload runs as nobody in some configurations: it must be able to exec this program. */
        if (access(self, R_OK | X_OK) < 0)
                return 1;

        if (baseline_filter(false, &st.bare) < 0 || baseline_filter(true, &st.floor) < 0 ||
            event_sink_new(0, &st.sink) < 0) {
                fprintf(stderr, "bench-notify: cannot build the baseline filters.\n");
                return 1;
        }
        event_sink_set_record_mask(st.sink, (1u << SUPERVISOR_ACTION_DENY) | (1u << SUPERVISOR_ACTION_QUARANTINE));

        for (int round = 0; round < ROUNDS; round++)
                for (int i = 0; i < _C_MAX; i++) {
                        const Config *cf = &configs[i];
                        long iters = cf->mode == MODE_STRACE ? n / 4 : n;

                        pin(cf->pinned);
                        results[i][round] = cf->mode == MODE_FORGEONE
                                                    ? run_forgeone(&st, cf->what, iters, file, cf->nobody)
                                                    : run_baseline(&st, cf->mode, cf->what, iters, file, cf->nobody);
                        pin(false);
                        if (results[i][round] < 0) {
                                fprintf(stderr, "bench-notify: %s failed.\n", cf->label);
                                return 1;
                        }
                }

        printf("%-52s %12s %12s\n", "configuration", "ns/call med", "ns/call min");
        for (int i = 0; i < _C_MAX; i++) {
                double copy[ROUNDS], mn = results[i][0];
                for (int round = 0; round < ROUNDS; round++)
                        mn = MIN(mn, results[i][round]);
                memcpy(copy, results[i], sizeof copy);
                med[i] = bench_median_double(copy, ROUNDS);
                printf("%-52s %12.0f %12.0f\n", configs[i].label, med[i], mn);
        }
        printf("\n%-58s %8s %8s %8s\n", "ratio (median of per-round ratios)", "median", "min", "max");

        FILE *jf = json_path ? fopen(json_path, "we") : NULL;
        if (jf)
                fprintf(jf, "[\n");
        for (size_t q = 0; q < ELEMENTSOF(ratios); q++) {
                double r[ROUNDS], lo, hi, m;
                for (int round = 0; round < ROUNDS; round++)
                        r[round] = results[ratios[q].num][round] / results[ratios[q].den][round];
                m = bench_median_double(r, ROUNDS); /* sorts r */
                lo = r[0];
                hi = r[ROUNDS - 1];
                printf("%-58s %8.2f %8.2f %8.2f", ratios[q].label, m, lo, hi);
                if (ratios[q].target > 0)
                        printf("   (target <= %.2f)", ratios[q].target);
                printf("\n");
                if (jf)
                        fprintf(jf, "  { \"benchmark\": \"notify\", \"ratio\": \"%s\", \"median\": %.3f, \"min\": %.3f, "
                                    "\"max\": %.3f, \"target\": %.2f }%s\n",
                                ratios[q].label, m, lo, hi, ratios[q].target, q + 1 < ELEMENTSOF(ratios) ? "," : "");
        }
        if (jf) {
                fprintf(jf, "]\n");
                fclose(jf);
        }
        printf("(%ld iterations; %d interleaved rounds; strace runs a quarter of the iterations)\n", n, ROUNDS);

        event_sink_free(st.sink);
        free(st.bare.insns);
        free(st.floor.insns);
        return 0;
}
