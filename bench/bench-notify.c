/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-notify: what a trapped syscall costs under ForgeOne, against
 * baselines measured in the same run (root needed).
 *
 *  1. getppid trapped to user space and decided by the policy (a min_trust
 *     rule, so the kernel cannot decide it): ForgeOne's supervisor vs a bare
 *     seccomp-notify loop (blocking RECV + CONTINUE, sync wake-up on), same
 *     process layout (supervisor thread in the parent, workload a child that
 *     exec'd this program). Also the bare loop with poll() before RECV,
 *     which is what an event loop integration costs.
 *  2. openat+close of a regular file: no filter, ForgeOne emulating the open
 *     under policies/default.json, and strace -f -e trace=openat (ptrace).
 *
 * Each configuration runs ROUNDS times interleaved; the median is reported.
 * Only ratios are meaningful on shared machines.
 *
 *   bench-notify [--iterations N] [--policy default.json] [--file PATH]
 */
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "forgeone/policy-compile.h"
#include "forgeone/policy-graph.h"
#include "forgeone/policy.h"
#include "forgeone/seccomp-notify.h"
#include "forgeone/supervisor.h"
#include "forgeone/workload.h"

#define ROUNDS 9

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* ---- the workload side: this program exec'd with --workload ---- */

static int workload(const char *what, long n, const char *file) {
        uint64_t t0, t1;

        /* Warm up (and let the supervisor's first-call costs pass). */
        for (long i = 0; i < 1000; i++)
                (void) syscall(SYS_getppid);
        if (streq(what, "getppid")) {
                t0 = now_ns();
                for (long i = 0; i < n; i++)
                        (void) syscall(SYS_getppid);
                t1 = now_ns();
        } else {
                t0 = now_ns();
                for (long i = 0; i < n; i++) {
                        int fd = openat(AT_FDCWD, file, O_RDONLY | O_CLOEXEC);
                        if (fd < 0) {
                                perror("bench workload: openat");
                                return 1;
                        }
                        close(fd);
                }
                t1 = now_ns();
        }
        printf("%.1f\n", (double) (t1 - t0) / (double) n);
        return 0;
}

/* ---- the supervisor side ---- */

typedef enum Mode {
        MODE_NONE,       /* no filter */
        MODE_BARE,       /* bare notify loop, blocking RECV */
        MODE_BARE_POLL,  /* bare notify loop, poll() then RECV */
        MODE_FORGEONE,   /* the supervisor */
        MODE_STRACE,     /* strace -f -e trace=openat */
} Mode;

typedef struct Bare {
        int listener;
        bool poll;
} Bare;

static void *bare_loop(void *arg) {
        Bare *b = arg;
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
                resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
                (void) ioctl(b->listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
        }
        return NULL;
}

/* Builds the filter the bare loop installs: getppid to user space, everything else allowed. */
static int bare_filter(PolicyFilter *ret) {
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        int r;

        if (!ctx)
                return -ENOMEM;
        r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(getppid), 0);
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
        const char *policy_text; /* the ForgeOne policy of this configuration: text or file */
        const char *policy_path;
        PolicyFilter bare;
        EventSink *sink; /* as forgeonectl --quiet: denials only become records */
} Setup;

static Policy *setup_policy(const Setup *st) {
        PolicyDiagnostics diag = {};
        Policy *p = NULL;
        int r;

        r = st->policy_text
                    ? policy_load_string(st->policy_text, strlen(st->policy_text), "bench", &p, &diag, NULL)
                    : policy_load_file(st->policy_path, &p, &diag, NULL);
        for (size_t i = 0; i < diag.n_errors; i++)
                fprintf(stderr, "%s:%u:%u: %s\n", strempty(diag.errors[i].file), diag.errors[i].line,
                        diag.errors[i].column, diag.errors[i].message);
        policy_diagnostics_done(&diag);
        return r < 0 ? NULL : p;
}

/* ForgeOne through the workload API, exactly as forgeonectl run --local starts it. */
static double run_forgeone(Setup *st, const char *what, long n, const char *file) {
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
                .policy = setup_policy(st),
                .sink = st->sink,
                .stdio = { STDIN_FILENO, pipefd[1], STDERR_FILENO },
                .stdio_set = true,
        };
        if (!wc.policy || workload_start(&wc, &w, &err) < 0) {
                fprintf(stderr, "bench-notify: %s\n", err.message);
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
        if (k <= 0 || res.exit_code != 0)
                return -1;
        return strtod(out, NULL);
}

/* Runs one workload ("getppid" or "open") under a mode; returns ns per iteration or < 0. */
static double run_once(Setup *st, Mode mode, const char *what, long n, const char *file) {
        char nbuf[32], out[64] = {};
        int pipefd[2];
        SupervisorHandoff *ho = NULL;
        pid_t pid;
        int listener = -1, pidfd, status;
        pthread_t thread;
        Bare bare = {};
        bool supervised = mode == MODE_BARE || mode == MODE_BARE_POLL;

        if (mode == MODE_FORGEONE)
                return run_forgeone(st, what, n, file);

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
                if (supervised) {
                        if (supervisor_child_install(&st->bare, ho) < 0)
                                _exit(2);
                }
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
                bare.listener = listener;
                bare.poll = mode == MODE_BARE_POLL;
                (void) ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
                             (unsigned long) SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
                pthread_create(&thread, NULL, bare_loop, &bare);
        }

        ssize_t k = read(pipefd[0], out, sizeof out - 1);
        close(pipefd[0]);
        waitpid(pid, &status, 0);
        if (supervised) {
                pthread_join(thread, NULL);
                close(listener);
                supervisor_handoff_free(ho);
        }
        if (pidfd >= 0)
                close(pidfd);
        if (k <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return -1;
        return strtod(out, NULL);
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

static double median(double *v, int n) {
        qsort(v, (size_t) n, sizeof *v, cmp_double);
        return v[n / 2];
}

int main(int argc, char *argv[]) {
        /* getppid is allowed only above a trust score: the kernel cannot know the score, so every call is
         * sent to the supervisor, which decides from the graph and lets it CONTINUE. The rest is what
         * this program needs to start and print, decided in the kernel. */
        static const char getppid_policy[] =
                "{ \"version\": 1, \"name\": \"bench-getppid\","
                "  \"default\": { \"action\": \"deny\", \"errno\": \"EPERM\" },"
                "  \"rules\": ["
                "    { \"id\": \"program\", \"action\": \"allow\", \"syscalls\": ["
                "        \"execve\", \"brk\", \"mmap\", \"munmap\", \"mprotect\", \"arch_prctl\","
                "        \"set_tid_address\", \"set_robust_list\", \"rseq\", \"prlimit64\", \"getrandom\","
                "        \"openat\", \"read\", \"pread64\", \"write\", \"close\", \"newfstatat\", \"fstat\","
                "        \"access\", \"readlink\", \"clock_gettime\", \"futex\", \"exit\", \"exit_group\" ] },"
                "    { \"id\": \"ppid-when-trusted\", \"syscalls\": [\"getppid\"],"
                "      \"action\": \"allow\", \"min_trust\": 10 } ] }";
        static const struct option options[] = {
                { "iterations", required_argument, NULL, 'n' },
                { "policy", required_argument, NULL, 'p' },
                { "file", required_argument, NULL, 'f' },
                {},
        };
        const char *policy_path = NULL, *file = "/etc/passwd";
        long n = 100000;
        int c;
        Setup st = {};
        char self[4096];
        ssize_t k;

        if (argc >= 5 && streq(argv[1], "--workload"))
                return workload(argv[2], strtol(argv[3], NULL, 10), argv[4]);

        while ((c = getopt_long(argc, argv, "n:p:f:", options, NULL)) >= 0)
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
                default:
                        return 2;
                }
        if (!policy_path) {
                const char *root = getenv("FORGEONE_SOURCE_ROOT");
                static char p[4096];
                snprintf(p, sizeof p, "%s/policies/default.json", root ?: ".");
                policy_path = p;
        }
        if (geteuid() != 0) {
                fprintf(stderr, "bench-notify: needs root (pidfd_getfd, process_vm_readv).\n");
                return 77;
        }
        k = readlink("/proc/self/exe", self, sizeof self - 1);
        if (k < 0)
                return 1;
        self[k] = 0;
        st.self = self;

        if (bare_filter(&st.bare) < 0 || event_sink_new(0, &st.sink) < 0) {
                fprintf(stderr, "bench-notify: cannot build the bare filter.\n");
                return 1;
        }
        event_sink_set_record_mask(st.sink, (1u << SUPERVISOR_ACTION_DENY) | (1u << SUPERVISOR_ACTION_QUARANTINE));

        static const struct {
                const char *label;
                Mode mode;
                const char *what;
                bool open_policy;
        } configs[] = {
                { "getppid, no filter", MODE_NONE, "getppid", false },
                { "getppid, bare notify loop (blocking RECV)", MODE_BARE, "getppid", false },
                { "getppid, bare notify loop (poll + RECV)", MODE_BARE_POLL, "getppid", false },
                { "getppid, ForgeOne (policy decides, CONTINUE)", MODE_FORGEONE, "getppid", false },
                { "openat+close, no filter", MODE_NONE, "open", true },
                { "openat+close, ForgeOne default.json (emulated)", MODE_FORGEONE, "open", true },
                { "openat+close, strace -f -e trace=openat", MODE_STRACE, "open", true },
        };
        double results[ELEMENTSOF(configs)][ROUNDS], med[ELEMENTSOF(configs)];

        for (int round = 0; round < ROUNDS; round++)
                for (size_t i = 0; i < ELEMENTSOF(configs); i++) {
                        st.policy_text = configs[i].open_policy ? NULL : getppid_policy;
                        st.policy_path = policy_path;
                        (void) event_sink_drain(st.sink, NULL, NULL);
                        long iters = configs[i].mode == MODE_STRACE ? n / 4 : n;
                        results[i][round] = run_once(&st, configs[i].mode, configs[i].what, iters, file);
                        if (results[i][round] < 0) {
                                fprintf(stderr, "bench-notify: %s failed.\n", configs[i].label);
                                return 1;
                        }
                }

        /* Ratios are taken within each round (the configurations of a round run back to back, so they
         * share the machine's load at that moment), then the median over the rounds. */
        static const struct {
                const char *label;
                size_t num, den;
                const char *note;
        } ratios[] = {
                { "ForgeOne getppid / bare notify loop", 3, 1, "   (target <= 1.10)" },
                { "bare poll+RECV / bare blocking RECV", 2, 1, "" },
                { "ForgeOne openat+close / no filter", 5, 4, "" },
                { "ForgeOne openat+close / strace", 5, 6, "" },
        };
        double mins[ELEMENTSOF(configs)];

        for (size_t i = 0; i < ELEMENTSOF(configs); i++) {
                mins[i] = results[i][0];
                for (int round = 1; round < ROUNDS; round++)
                        mins[i] = MIN(mins[i], results[i][round]);
        }
        printf("%-50s %12s %12s\n", "configuration", "ns/call med", "ns/call min");
        for (size_t i = 0; i < ELEMENTSOF(configs); i++) {
                double copy[ROUNDS];
                memcpy(copy, results[i], sizeof copy);
                med[i] = median(copy, ROUNDS);
                printf("%-50s %12.0f %12.0f\n", configs[i].label, med[i], mins[i]);
        }
        printf("\n");
        FOREACH_ELEMENT(q, ratios) {
                double r[ROUNDS];
                for (int round = 0; round < ROUNDS; round++)
                        r[round] = results[q->num][round] / results[q->den][round];
                printf("%-50s %12.2f%s\n", q->label, median(r, ROUNDS), q->note);
        }
        printf("(%ld iterations; %d interleaved rounds; ratios are medians of per-round ratios; strace runs a "
               "quarter of the iterations)\n",
               n, ROUNDS);

        event_sink_free(st.sink);
        free(st.bare.insns);
        return 0;
}
