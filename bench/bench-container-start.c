/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Container start for a cached image: forgeonectl's workload_start() of an image vs
 * bubblewrap with the same namespaces (user with uid 0, pid, uts, ipc, net,
 * cgroup) on the same root filesystem (the cached layer), in the same run.
 *
 *   bench-container-start [ITERATIONS]   (root; needs umoci, busybox-static, bwrap)
 *
 * Measured per iteration, from just before the fork of a fresh owner process:
 *   start->exec  until /bin/true has been exec'd (the owner records it: EOF on the launch socket)
 *   total        until the owner has exited (includes stopping, cgroup and rootfs teardown)
 * bwrap is measured end to end (its start->exec is below that). Ours includes what bwrap does not
 * do: image verification, policy compile, admission, cgroup with limits, id-mapped overlay root,
 * seccomp listener handoff and supervisor start. Prints medians and the ratio against bwrap.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <poll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "forgeone/container.h"
#include "forgeone/workload.h"
#include "forgeone/time-util.h"

#include "bench-util.h"

static char tmp[] = "/tmp/bench-container-start-XXXXXX";

/* On every exit, failures included: unmount what a failed run left under tmp, then remove it. */
static void cleanup(void) {
        char cmd[512];

        if (tmp[sizeof tmp - 2] == 'X')
                return;
        snprintf(cmd, sizeof cmd,
                 "for m in $(grep -o ' %s/[^ ]*' /proc/self/mountinfo | sort -r); do umount -l $m; done 2>/dev/null; "
                 "rm -rf %s",
                 tmp, tmp);
        (void) system(cmd);
}

typedef struct Dirs {
        char image[600], state[600], storage[600], cache[600], policy[600];
} Dirs;

/* One start of /bin/true (workload API, an image) in a fresh process; ret_timing: when each step was done. */
static int run_once(const Dirs *d, uint64_t ret_timing[static _CONTAINER_STEP_MAX]) {
        uint64_t timing[_CONTAINER_STEP_MAX] = {};
        int p[2];
        pid_t pid;
        int status;

        if (pipe(p) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                _cleanup_(policy_diagnostics_done) PolicyDiagnostics diag = {};
                char *cmd[] = { (char *) "/bin/true", NULL };
                ContainerConfig c = {
                        .image = d->image,
                        .command = cmd,
                        .priority = SCHEDULER_PRIORITY_NORMAL,
                        .state_dir = d->state,
                        .storage_dir = d->storage,
                        .layer_cache_dir = d->cache,
                };
                WorkloadResult res = {};
                ForgeError err = {};
                Workload *w = NULL;
                Policy *pol = NULL;

                close(p[0]);
                if (policy_load_file(d->policy, &pol, &diag, NULL) < 0)
                        _exit(2);
                WorkloadConfig wc = { .image = &c, .policy = pol };
                if (workload_start(&wc, &w, &err) < 0) {
                        fprintf(stderr, "workload_start: %s\n", err.message);
                        _exit(3);
                }
                for (;;) {
                        struct pollfd pf = { .fd = workload_get_pidfd(w), .events = POLLIN };
                        (void) poll(&pf, 1, -1);
                        if (workload_reap(w, &res) != 0)
                                break;
                }
                workload_free(w);
                (void) write(p[1], res.container.timing, sizeof res.container.timing);
                _exit(workload_result_exit_status(&res));
        }
        close(p[1]);
        if (read(p[0], timing, sizeof timing) != sizeof timing)
                memset(timing, 0, sizeof timing);
        close(p[0]);
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return -EIO;
        memcpy(ret_timing, timing, sizeof timing);
        return 0;
}

static int bwrap_once(const char *root) {
        pid_t pid = fork();
        int status;

        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY);
                if (null >= 0)
                        dup2(null, 2);
                execlp("bwrap", "bwrap", "--unshare-user", "--uid", "0", "--gid", "0", "--unshare-pid",
                       "--unshare-uts", "--unshare-ipc", "--unshare-net", "--unshare-cgroup", "--hostname", "bench",
                       "--ro-bind", root, "/", "--proc", "/proc", "--dev", "/dev", "--ro-bind", "/sys", "/sys",
                       "--tmpfs", "/tmp", "--die-with-parent", "/bin/true", (char *) NULL);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return -EIO;
        return 0;
}

int main(int argc, char *argv[]) {
        unsigned n = argc > 1 ? (unsigned) atoi(argv[1]) : 30;
        uint64_t *ours_exec, *ours_total, *bw, *steps[_CONTAINER_STEP_MAX] = {};
        char cmd[4096], layer[1024] = "";
        const char *src = getenv("FORGEONE_SOURCE_ROOT") ?: ".";
        Dirs d;
        FILE *f;

        if (getuid() != 0) {
                fprintf(stderr, "bench-container-start: needs root\n");
                return 77;
        }
        if (n < 3)
                n = 3;
        if (!mkdtemp(tmp))
                return 1;
        atexit(cleanup);
        snprintf(d.image, sizeof d.image, "%s/img:latest", tmp);
        snprintf(d.state, sizeof d.state, "%s/state", tmp);
        snprintf(d.storage, sizeof d.storage, "%s/storage", tmp);
        snprintf(d.cache, sizeof d.cache, "%s/layers", tmp);
        snprintf(d.policy, sizeof d.policy, "%s/policies/default.json", src);

        snprintf(cmd, sizeof cmd,
                 "cd %s && umoci init --layout img >/dev/null && umoci new --image img:latest >/dev/null && "
                 "umoci unpack --image img:latest bundle >/dev/null 2>&1 && mkdir -p bundle/rootfs/bin "
                 "bundle/rootfs/etc bundle/rootfs/tmp bundle/rootfs/proc bundle/rootfs/dev bundle/rootfs/sys && cp /bin/busybox bundle/rootfs/bin/ && "
                 "ln -s busybox bundle/rootfs/bin/sh && ln -s busybox bundle/rootfs/bin/true && "
                 "printf 'root:x:0:0:root:/root:/bin/sh\\n' > bundle/rootfs/etc/passwd && "
                 "umoci repack --image img:latest bundle >/dev/null && rm -rf bundle",
                 tmp);
        if (system(cmd) != 0) {
                fprintf(stderr, "bench-container-start: cannot build the image with umoci\n");
                return 1;
        }

        ours_exec = calloc(n, sizeof *ours_exec);
        ours_total = calloc(n, sizeof *ours_total);
        bw = calloc(n, sizeof *bw);
        if (!ours_exec || !ours_total || !bw)
                return 1;
        for (int k = 0; k < _CONTAINER_STEP_MAX; k++)
                if (!(steps[k] = calloc(n, sizeof(uint64_t))))
                        return 1;

        /* Warm up: unpack the layer into the cache once; find it for bwrap. */
        uint64_t timing[_CONTAINER_STEP_MAX];
        if (run_once(&d, timing) < 0) {
                fprintf(stderr, "bench-container-start: the warm-up container failed\n");
                return 1;
        }
        snprintf(cmd, sizeof cmd, "ls -d %s/layers/*/rootfs | head -1", tmp);
        f = popen(cmd, "r");
        if (!f || !fgets(layer, sizeof layer, f)) {
                fprintf(stderr, "bench-container-start: no cached layer\n");
                return 1;
        }
        pclose(f);
        layer[strcspn(layer, "\n")] = 0;
        if (bwrap_once(layer) < 0) {
                fprintf(stderr, "bench-container-start: bwrap failed on %s\n", layer);
                return 1;
        }

        /* Interleaved, so both see the same machine state. */
        for (unsigned i = 0; i < n; i++) {
                uint64_t t0 = time_now_usec(CLOCK_MONOTONIC);
                if (run_once(&d, timing) < 0) {
                        fprintf(stderr, "bench-container-start: run %u failed\n", i);
                        return 1;
                }
                ours_total[i] = time_now_usec(CLOCK_MONOTONIC) - t0;
                ours_exec[i] = timing[CONTAINER_STEP_EXEC] > t0 ? timing[CONTAINER_STEP_EXEC] - t0 : 0;
                /* Step k: time since the previous step (BEGIN: since the fork, incl. loading the policy). */
                for (int k = 0; k < _CONTAINER_STEP_MAX; k++) {
                        uint64_t prev = k == 0 ? t0 : timing[k - 1];
                        steps[k][i] = timing[k] > prev ? timing[k] - prev : 0;
                }

                t0 = time_now_usec(CLOCK_MONOTONIC);
                if (bwrap_once(layer) < 0)
                        return 1;
                bw[i] = time_now_usec(CLOCK_MONOTONIC) - t0;
        }

        uint64_t me = bench_median_u64(ours_exec, n), mt = bench_median_u64(ours_total, n),
                 mb = bench_median_u64(bw, n);
        printf("bench-container-start: %u iterations, medians\n", n);
        printf("  bwrap (same namespaces, same rootfs), total: %8.2f ms\n", mb / 1000.0);
        printf("  forgeone start->exec of /bin/true:         %8.2f ms   ratio %.2fx (target <= 1.5x)\n",
               me / 1000.0, (double) me / (double) mb);
        printf("  forgeone total (with teardown):            %8.2f ms   ratio %.2fx\n", mt / 1000.0,
               (double) mt / (double) mb);

        printf("  forgeone steps (median ms):");
        for (int k = 0; k < _CONTAINER_STEP_MAX; k++)
                printf(" %s %.2f", container_step_to_string(k), bench_median_u64(steps[k], n) / 1000.0);
        printf("\n");

        return 0;
}
