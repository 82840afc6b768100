/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-daemon: forgeoned against baselines run side by side (root).
 *
 *  1. A trapped getppid through forgeoned (a workload started over D-Bus,
 *     its call decided by the policy graph on the workload's supervising
 *     thread in the daemon) against a bare seccomp-notify loop (blocking
 *     RECV + CONTINUE, sync wake-up on) running the same static workload
 *     (tests/daemon-hammer): ROUNDS interleaved rounds, the median of the
 *     per-round ratios. Target: <= 1.10.
 *  2. Aggregate decisions per second with 1, 8, 32 and 128 workloads
 *     hammering getppid at once (started, then released together by a
 *     file they wait for; TOTAL calls shared among them), and the ratio to
 *     1 workload: it must not collapse.
 *  3. forgeoned's RSS with 128 workloads running. Target: < 32 MiB.
 *
 * It starts its own private system-type dbus-daemon with the project's bus
 * policy and its own forgeoned (tests/policies/daemon-a.json), in a temp
 * directory and a cgroup of its own, and removes them at the end. Only the
 * ratios are meaningful on shared machines.
 *
 *   bench-daemon [--iterations N] [--rounds R] [--calls TOTAL] [--json FILE]
 * Paths come from $FORGEONE_BUILD_ROOT and $FORGEONE_SOURCE_ROOT (scripts/bench.sh sets them).
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "bench-util.h"
#include "forgeone/macro.h"
#include "forgeone/seccomp-notify.h"
#include "forgeone/time-util.h"

#define BUS_NAME "org.forgeone.Supervisor1"
#define BUS_PATH "/org/forgeone/Supervisor1"
#define BUS_IFACE "org.forgeone.Supervisor1"

static char tmpdir[] = "/tmp/fo-bench-daemon-XXXXXX";
static char cgroup_dir[256];
static char bus_address[420];
static char hammer[512], forgeoned_bin[512], policy[512], bus_policy[512];
static pid_t bus_pid = -1, daemon_pid = -1;

/* ---- the bare loop ---- */

typedef struct Bare {
        int listener;
} Bare;

static void *bare_loop(void *arg) {
        Bare *b = arg;
        _Alignas(8) char req_buf[512], resp_buf[512];
        struct seccomp_notif *req = (struct seccomp_notif *) req_buf;
        struct seccomp_notif_resp *resp = (struct seccomp_notif_resp *) resp_buf;

        for (;;) {
                memset(req, 0, sizeof *req);
                if (ioctl(b->listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
                        struct pollfd p = { .fd = b->listener, .events = POLLIN };
                        if (errno == EINTR)
                                continue;
                        if (poll(&p, 1, 0) > 0 && (p.revents & POLLHUP))
                                break;
                        if (errno != ENOENT)
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

static double parse_ns(const char *out) {
        const char *p = strstr(out, "ns_per_call=");
        return p ? strtod(p + 12, NULL) : -1;
}

/* The same workload under a filter that sends getppid to a minimal loop of ours. */
static double run_bare(long n) {
        struct sock_filter insns[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { .len = ELEMENTSOF(insns), .filter = insns };
        int sync_up[2], sync_down[2], out[2], child_listener, pidfd;
        char nbuf[32], buf[256] = {};
        Bare b;
        pthread_t t;
        pid_t pid;
        ssize_t k;

        snprintf(nbuf, sizeof nbuf, "%ld", n);
        if (pipe2(sync_up, O_CLOEXEC) < 0 || pipe2(sync_down, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
                return -1;
        pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                char go;
                int l;

                dup2(out[1], STDOUT_FILENO);
                (void) prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                l = seccomp_raw(SECCOMP_SET_MODE_FILTER,
                                SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog);
                if (write(sync_up[1], &l, sizeof l) != sizeof l || read(sync_down[0], &go, 1) != 1)
                        _exit(1);
                execl(hammer, hammer, "getppid", nbuf, (char *) NULL);
                _exit(127);
        }
        close(out[1]);
        if (read(sync_up[0], &child_listener, sizeof child_listener) != sizeof child_listener || child_listener < 0)
                return -1;
        pidfd = pidfd_open_raw(pid, 0);
        b.listener = (int) syscall(__NR_pidfd_getfd, pidfd, child_listener, 0);
        close(pidfd);
        if (b.listener < 0)
                return -1;
        (void) ioctl(b.listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, (unsigned long) SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
        pthread_create(&t, NULL, bare_loop, &b);
        (void) !write(sync_down[1], "g", 1);
        k = read(out[0], buf, sizeof buf - 1);
        (void) k;
        waitpid(pid, NULL, 0);
        pthread_join(t, NULL);
        close(b.listener);
        close(out[0]);
        close(sync_up[0]);
        close(sync_up[1]);
        close(sync_down[0]);
        close(sync_down[1]);
        return parse_ns(buf);
}

/* ---- forgeoned ---- */

static int bus_open(sd_bus **ret) {
        sd_bus *bus = NULL;
        int r = sd_bus_new(&bus);

        if (r >= 0)
                r = sd_bus_set_address(bus, bus_address);
        if (r >= 0) {
                (void) sd_bus_set_bus_client(bus, true);
                (void) sd_bus_negotiate_fds(bus, true);
                r = sd_bus_start(bus);
        }
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

/* Starts a workload through forgeoned's Run; its stdout into fd out. Returns 0 and the id. */
static int run_workload(sd_bus *bus, char **argv, int out, char ret_id[static 64]) {
        sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *id, *path;
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC), r;

        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, BUS_PATH, BUS_IFACE, "Run");
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 0);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, argv);
        if (r >= 0)
                r = sd_bus_message_append(m, "hhh", devnull, out, devnull);
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, &e, &reply);
        if (r >= 0)
                r = sd_bus_message_read(reply, "so", &id, &path);
        if (r >= 0)
                snprintf(ret_id, 64, "%s", id);
        else
                fprintf(stderr, "bench-daemon: Run: %s\n", e.message ?: strerror(-r));
        sd_bus_error_free(&e);
        sd_bus_message_unref(m);
        sd_bus_message_unref(reply);
        close(devnull);
        return r < 0 ? r : 0;
}

static double run_daemon(sd_bus *bus, long n) {
        char nbuf[32], id[64], buf[256] = {};
        char *argv[] = { hammer, (char *) "getppid", nbuf, NULL };
        int out[2];
        size_t o = 0;
        ssize_t k;

        snprintf(nbuf, sizeof nbuf, "%ld", n);
        if (pipe2(out, O_CLOEXEC) < 0)
                return -1;
        if (run_workload(bus, argv, out[1], id) < 0)
                return -1;
        close(out[1]);
        while (o < sizeof buf - 1 && (k = read(out[0], buf + o, sizeof buf - 1 - o)) > 0)
                o += (size_t) k;
        close(out[0]);
        return parse_ns(buf);
}

static uint32_t n_workloads(sd_bus *bus) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        uint32_t v = 0;

        (void) sd_bus_get_property_trivial(bus, BUS_NAME, BUS_PATH, BUS_IFACE, "NWorkloads", &e, 'u', &v);
        sd_bus_error_free(&e);
        return v;
}

static long rss_kib(pid_t pid) {
        char p[64], line[256];
        long v = -1;
        FILE *f;

        snprintf(p, sizeof p, "/proc/%d/status", (int) pid);
        f = fopen(p, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof line, f))
                if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
                        break;
        fclose(f);
        return v;
}

/* N workloads hammering at once, released together: decisions per second (their calls over the time from
 * the first start to the last end), and forgeoned's largest RSS meanwhile. */
static double aggregate(sd_bus *bus, unsigned n, long total, long *ret_rss) {
        char ids[128][64], start[400], nbuf[32];
        char *argv[] = { hammer, (char *) "getppid", nbuf, start, NULL };
        int fds[128];
        char out[128][256];
        size_t len[128] = {};
        unsigned open_n = 0;
        long rss = -1;
        uint64_t t0 = UINT64_MAX, t1 = 0, calls = 0;

        snprintf(nbuf, sizeof nbuf, "%ld", MAX(total / (long) n, 2000L));
        snprintf(start, sizeof start, "%s/start-%u", tmpdir, n);
        for (unsigned i = 0; i < n; i++) {
                int p[2];
                if (pipe2(p, O_CLOEXEC) < 0 || run_workload(bus, argv, p[1], ids[i]) < 0) {
                        n = i;
                        break;
                }
                close(p[1]);
                fds[i] = p[0];
                open_n++;
        }
        while (n_workloads(bus) < n)
                time_sleep_usec(10000);
        rss = rss_kib(daemon_pid);
        close(open(start, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
        while (open_n > 0) {
                struct pollfd p[128];
                for (unsigned i = 0; i < n; i++)
                        p[i] = (struct pollfd) { .fd = fds[i], .events = POLLIN };
                if (poll(p, n, 100) < 0 && errno != EINTR)
                        break;
                rss = MAX(rss, rss_kib(daemon_pid));
                for (unsigned i = 0; i < n; i++) {
                        ssize_t k;
                        if (fds[i] < 0 || !p[i].revents)
                                continue;
                        k = read(fds[i], out[i] + len[i], sizeof out[i] - 1 - len[i]);
                        if (k > 0) {
                                len[i] += (size_t) k;
                                continue;
                        }
                        close(fds[i]);
                        fds[i] = -1;
                        open_n--;
                        out[i][len[i]] = 0;
                }
        }
        for (unsigned i = 0; i < n; i++) {
                unsigned long long c = 0, a = 0, b = 0;
                const char *x = strstr(out[i], "calls="), *y = strstr(out[i], "t0="), *z = strstr(out[i], "t1=");
                if (!x || !y || !z)
                        continue;
                c = strtoull(x + 6, NULL, 10);
                a = strtoull(y + 3, NULL, 10);
                b = strtoull(z + 3, NULL, 10);
                calls += c;
                t0 = MIN(t0, (uint64_t) a);
                t1 = MAX(t1, (uint64_t) b);
        }
        while (n_workloads(bus) > 0)
                time_sleep_usec(20000);
        if (ret_rss)
                *ret_rss = rss;
        return t1 > t0 ? (double) calls / ((double) (t1 - t0) / 1e9) : 0;
}

/* ---- setting up and tearing down ---- */

static void cleanup(void) {
        char cmd[600];

        if (daemon_pid > 0) {
                kill(daemon_pid, SIGTERM);
                waitpid(daemon_pid, NULL, 0);
        }
        if (bus_pid > 0)
                kill(bus_pid, SIGTERM);
        if (cgroup_dir[0])
                (void) rmdir(cgroup_dir);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        (void) !system(cmd);
}

static int setup(void) {
        char conf[512], pidfile[512], sock[300];
        FILE *f;
        sd_bus *bus = NULL;

        if (!mkdtemp(tmpdir))
                return -errno;
        snprintf(sock, sizeof sock, "%s/bus.sock", tmpdir);
        snprintf(bus_address, sizeof bus_address, "unix:path=%s", sock);
        snprintf(conf, sizeof conf, "%s/bus.conf", tmpdir);
        f = fopen(conf, "we");
        if (!f)
                return -errno;
        fprintf(f,
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
                " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
                "<busconfig><type>system</type><listen>%s</listen><auth>EXTERNAL</auth>\n"
                "<policy context=\"default\"><allow user=\"*\"/><deny own=\"*\"/><deny send_type=\"method_call\"/>\n"
                "<allow send_type=\"signal\"/><allow send_requested_reply=\"true\" send_type=\"method_return\"/>\n"
                "<allow send_requested_reply=\"true\" send_type=\"error\"/><allow receive_type=\"method_call\"/>\n"
                "<allow receive_type=\"method_return\"/><allow receive_type=\"error\"/><allow receive_type=\"signal\"/>\n"
                "<allow send_destination=\"org.freedesktop.DBus\" send_interface=\"org.freedesktop.DBus\"/></policy>\n"
                "<include>%s</include></busconfig>\n",
                bus_address, bus_policy);
        fclose(f);
        snprintf(pidfile, sizeof pidfile, "%s/bus.pid", tmpdir);
        {
                char cmd[1200];
                snprintf(cmd, sizeof cmd, "dbus-daemon --config-file='%s' --fork --print-pid=3 3>'%s' 2>/dev/null", conf,
                         pidfile);
                if (system(cmd) != 0)
                        return -EIO;
                f = fopen(pidfile, "re");
                if (!f || fscanf(f, "%d", &bus_pid) != 1)
                        return -EIO;
                fclose(f);
        }
        snprintf(cgroup_dir, sizeof cgroup_dir, "%s/fo-bench-daemon-%d",
                 access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0 ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup",
                 (int) getpid());
        if (mkdir(cgroup_dir, 0755) < 0)
                cgroup_dir[0] = 0;

        daemon_pid = fork();
        if (daemon_pid == 0) {
                char a1[480], a2[600], a3[600], a4[300];
                int fd = open("/dev/null", O_WRONLY);
                dup2(fd, STDERR_FILENO);
                snprintf(a1, sizeof a1, "--bus-address=%s", bus_address);
                snprintf(a2, sizeof a2, "--policy=%s", policy);
                snprintf(a3, sizeof a3, "--state-dir=%s/state", tmpdir);
                snprintf(a4, sizeof a4, "--cgroup=%s", cgroup_dir[0] ? cgroup_dir : "none");
                execl(forgeoned_bin, forgeoned_bin, a1, a2, a3, a4, "--log-decisions=none", (char *) NULL);
                _exit(127);
        }
        for (int i = 0; i < 200; i++) {
                if (bus_open(&bus) >= 0) {
                        sd_bus_error e = SD_BUS_ERROR_NULL;
                        char *v = NULL;
                        int r = sd_bus_get_property_string(bus, BUS_NAME, BUS_PATH, BUS_IFACE, "Version", &e, &v);
                        sd_bus_error_free(&e);
                        free(v);
                        sd_bus_flush_close_unref(bus);
                        if (r >= 0)
                                return 0;
                }
                time_sleep_usec(50000);
        }
        return -ETIMEDOUT;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "iterations", required_argument, NULL, 'i' },
                { "rounds", required_argument, NULL, 'r' },
                { "calls", required_argument, NULL, 'w' },
                { "json", required_argument, NULL, 'j' },
                {},
        };
        const char *build = getenv("FORGEONE_BUILD_ROOT"), *src = getenv("FORGEONE_SOURCE_ROOT"), *json = NULL;
        long iterations = 50000;
        int rounds = 7, c;
        long total = 400000;
        double bare[32], through[32], ratios[32], rate[4] = {};
        static const unsigned counts[] = { 1, 8, 32, 128 };
        long rss = -1;
        sd_bus *bus = NULL;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'i':
                        iterations = atol(optarg);
                        break;
                case 'r':
                        rounds = MIN(atoi(optarg), 32);
                        break;
                case 'w':
                        total = atol(optarg);
                        break;
                case 'j':
                        json = optarg;
                        break;
                default:
                        return 2;
                }
        if (geteuid() != 0) {
                fprintf(stderr, "bench-daemon: needs root\n");
                return 1;
        }
        if (!build || !src) {
                fprintf(stderr, "bench-daemon: set FORGEONE_BUILD_ROOT and FORGEONE_SOURCE_ROOT (scripts/bench.sh does)\n");
                return 1;
        }
        snprintf(hammer, sizeof hammer, "%s/tests/daemon-hammer", build);
        snprintf(forgeoned_bin, sizeof forgeoned_bin, "%s/src/daemon/forgeoned", build);
        snprintf(policy, sizeof policy, "%s/tests/policies/daemon-a.json", src);
        snprintf(bus_policy, sizeof bus_policy, "%s/systemd/org.forgeone.Supervisor1.conf", src);
        atexit(cleanup);
        signal(SIGINT, exit);
        signal(SIGTERM, exit);
        if (setup() < 0 || bus_open(&bus) < 0) {
                fprintf(stderr, "bench-daemon: cannot start dbus-daemon and forgeoned\n");
                return 1;
        }

        /* 1. One workload: the round trip through forgeoned against the bare loop, interleaved. */
        (void) run_bare(2000);
        (void) run_daemon(bus, 2000);
        for (int i = 0; i < rounds; i++) {
                bare[i] = run_bare(iterations);
                through[i] = run_daemon(bus, iterations);
                ratios[i] = bare[i] > 0 && through[i] > 0 ? through[i] / bare[i] : 0;
        }
        {
                double mb = bench_median_double(bare, (size_t) rounds), md = bench_median_double(through, (size_t) rounds),
                       mr = bench_median_double(ratios, (size_t) rounds);
                printf("trapped getppid, %ld iterations, %d interleaved rounds (medians):\n", iterations, rounds);
                printf("  bare seccomp-notify loop (blocking RECV, sync wake-up)   %8.0f ns/call   1.00\n", mb);
                printf("  through forgeoned (policy graph, workload started over D-Bus) %8.0f ns/call   %.2f  (target <= 1.10)\n",
                       md, mr);
                /* 2 and 3. Many workloads at once. */
                printf("aggregate decisions per second (%ld trapped getppid shared by the workloads, released together):\n",
                       total);
                for (size_t k = 0; k < ELEMENTSOF(counts); k++) {
                        long r = -1;
                        rate[k] = aggregate(bus, counts[k], total, &r);
                        if (counts[k] == 128)
                                rss = r;
                        printf("  %3u workload(s)   %9.0f decisions/s   %.2f of 1 workload\n", counts[k], rate[k],
                               rate[0] > 0 ? rate[k] / rate[0] : 0);
                }
                printf("forgeoned RSS with 128 workloads running: %.1f MiB (target < 32 MiB)\n", (double) rss / 1024.0);
                if (json) {
                        FILE *f = fopen(json, "we");
                        if (f) {
                                fprintf(f,
                                        "{\"daemon\": {\"bare_ns\": %.0f, \"daemon_ns\": %.0f, \"ratio\": %.3f,"
                                        " \"decisions_per_s\": {\"1\": %.0f, \"8\": %.0f, \"32\": %.0f, \"128\": %.0f},"
                                        " \"rss_kib_128\": %ld}}\n",
                                        mb, md, mr, rate[0], rate[1], rate[2], rate[3], rss);
                                fclose(f);
                        }
                }
        }
        sd_bus_flush_close_unref(bus);
        return 0;
}
