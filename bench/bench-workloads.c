/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-workloads: real work under policies/default.json through
 * forgeonectl run --local (the product's own path, as users run it) against
 * the same work run natively, side by side in one invocation (root needed).
 *
 *  1. xargs cat over 3,000 files (file-heavy: one emulated open per file)
 *  2. make -j2 of a small C project (16 sources including system headers,
 *     a generated header, a link; every compiler open is mediated)
 *
 * Each configuration runs ROUNDS times interleaved, unpinned; the ratio is
 * the median of per-round ratios. Only ratios are meaningful on shared
 * machines.
 *
 *   bench-workloads [--forgeonectl PATH] [--policy FILE] [--rounds N] [--json FILE] [--compare PATH]
 *
 * --compare PATH: another forgeonectl (a build of another commit) measured in the same interleaved
 * rounds, so that a change is judged against its base under the same load.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "forgeone/macro.h"

#include "bench-util.h"

#define N_FILES 3000
#define N_SOURCES 16

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");

        if (!f)
                return -errno;
        fputs(text, f);
        return fclose(f) == 0 ? 0 : -errno;
}

static int setup(const char *dir) {
        char p[512], text[4096];

        snprintf(p, sizeof p, "%s/files", dir);
        if (mkdir(p, 0755) < 0)
                return -errno;
        for (int i = 0; i < N_FILES; i++) {
                int n = snprintf(text, sizeof text, "/* header %d */\n#pragma once\n", i);
                for (int k = 0; k < 20; k++)
                        n += snprintf(text + n, sizeof text - (size_t) n, "#define VALUE_%d_%d %d\n", i, k, i * k);
                snprintf(p, sizeof p, "%s/files/h%04d.h", dir, i);
                if (write_file(p, text) < 0)
                        return -errno;
        }

        snprintf(p, sizeof p, "%s/proj", dir);
        if (mkdir(p, 0755) < 0)
                return -errno;
        for (int i = 0; i < N_SOURCES; i++) {
                snprintf(text, sizeof text,
                         "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include \"gen.h\"\n"
                         "int f%d(int x);\nint f%d(int x) { char b[32]; snprintf(b, sizeof b, \"%%d\", x); "
                         "return (int) strlen(b) + GEN_BASE + %d; }\n",
                         i, i, i);
                snprintf(p, sizeof p, "%s/proj/s%02d.c", dir, i);
                if (write_file(p, text) < 0)
                        return -errno;
        }
        {
                int n = snprintf(text, sizeof text, "#include <stdio.h>\n");
                for (int i = 0; i < N_SOURCES; i++)
                        n += snprintf(text + n, sizeof text - (size_t) n, "int f%d(int x);\n", i);
                n += snprintf(text + n, sizeof text - (size_t) n, "int main(void) { int s = 0;\n");
                for (int i = 0; i < N_SOURCES; i++)
                        n += snprintf(text + n, sizeof text - (size_t) n, "s += f%d(%d);\n", i, i);
                snprintf(text + n, sizeof text - (size_t) n, "printf(\"%%d\\n\", s); return 0; }\n");
                snprintf(p, sizeof p, "%s/proj/main.c", dir);
                if (write_file(p, text) < 0)
                        return -errno;
        }
        snprintf(p, sizeof p, "%s/proj/Makefile", dir);
        return write_file(p,
                          "SRCS := $(wildcard s*.c) main.c\n"
                          "OBJS := $(SRCS:.c=.o)\n"
                          "prog: $(OBJS)\n\tgcc -o $@ $(OBJS)\n\t./prog >/dev/null\n"
                          "%.o: %.c gen.h\n\tgcc -O1 -c -o $@ $<\n"
                          "gen.h:\n\techo '#define GEN_BASE 7' > $@\n"
                          "clean:\n\trm -f prog *.o gen.h\n");
}

/* Runs argv (through forgeonectl when ctl is set); returns seconds or < 0. */
static double run(const char *ctl, const char *policy, const char *script) {
        double t0 = now_s();
        pid_t pid = fork();
        int status;

        if (pid < 0)
                return -1;
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (null >= 0) {
                        dup2(null, STDOUT_FILENO);
                        dup2(null, STDERR_FILENO);
                }
                if (ctl)
                        execl(ctl, ctl, "run", "--local", "--quiet", "--policy", policy, "--", "/bin/sh", "-c", script,
                              (char *) NULL);
                else
                        execl("/bin/sh", "/bin/sh", "-c", script, (char *) NULL);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return -1;
        return now_s() - t0;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "forgeonectl", required_argument, NULL, 'c' },
                { "policy", required_argument, NULL, 'p' },
                { "rounds", required_argument, NULL, 'r' },
                { "json", required_argument, NULL, 'j' },
                { "compare", required_argument, NULL, 'C' },
                {},
        };
        char dir[] = "/tmp/fo-bench-wl-XXXXXX", ctl_buf[4096], pol_buf[4096], cat[1024], make[1024], clean[1024],
             rm[600];
        const char *ctl = NULL, *policy = NULL, *json_path = NULL, *other = NULL;
        int rounds = 5, c, r = 1;

        while ((c = getopt_long(argc, argv, "c:p:r:j:C:", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        ctl = optarg;
                        break;
                case 'p':
                        policy = optarg;
                        break;
                case 'r':
                        rounds = MAX(1, atoi(optarg));
                        break;
                case 'j':
                        json_path = optarg;
                        break;
                case 'C':
                        other = optarg;
                        break;
                default:
                        return 2;
                }
        if (geteuid() != 0) {
                fprintf(stderr, "bench-workloads: needs root (forgeonectl run --local).\n");
                return 77;
        }
        if (!ctl) {
                snprintf(ctl_buf, sizeof ctl_buf, "%s/src/cli/forgeonectl", getenv("FORGEONE_BUILD_ROOT") ?: "build");
                ctl = ctl_buf;
        }
        if (!policy) {
                snprintf(pol_buf, sizeof pol_buf, "%s/policies/default.json", getenv("FORGEONE_SOURCE_ROOT") ?: ".");
                policy = pol_buf;
        }
        if (!mkdtemp(dir) || chmod(dir, 0755) < 0 || setup(dir) < 0) {
                fprintf(stderr, "bench-workloads: cannot set up %s: %m\n", dir);
                return 1;
        }
        snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
        snprintf(cat, sizeof cat, "find '%s/files' -type f -name '*.h' | xargs cat >/dev/null", dir);
        snprintf(make, sizeof make, "make -s -j2 -C '%s/proj'", dir);
        snprintf(clean, sizeof clean, "make -s -C '%s/proj' clean", dir);

        static const char *const labels[] = { "xargs cat, 3,000 files", "make -j2, 17 sources" };
        static const double targets[] = { 1.6, 1.05 };
        double nat[2][64], fo[2][64], ratio[2][64], fo2[2][64], ratio2[2][64];
        rounds = MIN(rounds, 64);
        /* Warm the page cache and the filter cache once. */
        if (run(NULL, NULL, cat) < 0 || run(ctl, policy, "true") < 0 || (other && run(other, policy, "true") < 0)) {
                fprintf(stderr, "bench-workloads: the workloads do not run\n");
                goto finish;
        }
        for (int round = 0; round < rounds; round++)
                for (int w = 0; w < 2; w++) {
                        const char *script = w == 0 ? cat : make;
                        if (w == 1 && run(NULL, NULL, clean) < 0)
                                goto fail;
                        nat[w][round] = run(NULL, NULL, script);
                        if (w == 1 && run(NULL, NULL, clean) < 0)
                                goto fail;
                        fo[w][round] = run(ctl, policy, script);
                        if (nat[w][round] < 0 || fo[w][round] < 0)
                                goto fail;
                        ratio[w][round] = fo[w][round] / nat[w][round];
                        if (!other)
                                continue;
                        if (w == 1 && run(NULL, NULL, clean) < 0)
                                goto fail;
                        fo2[w][round] = run(other, policy, script);
                        if (fo2[w][round] < 0)
                                goto fail;
                        ratio2[w][round] = fo2[w][round] / nat[w][round];
                }

        printf("%-28s %10s %10s %8s %8s %8s\n", "workload", "native s", "ForgeOne s", "ratio", "min", "max");
        FILE *jf = json_path ? fopen(json_path, "we") : NULL;
        if (jf)
                fprintf(jf, "[\n");
        for (int w = 0; w < 2; w++) {
                (void) bench_median_double(nat[w], (size_t) rounds);
                (void) bench_median_double(fo[w], (size_t) rounds);
                (void) bench_median_double(ratio[w], (size_t) rounds);
                printf("%-28s %10.3f %10.3f %8.2f %8.2f %8.2f   (target <= %.2f)\n", labels[w], nat[w][rounds / 2],
                       fo[w][rounds / 2], ratio[w][rounds / 2], ratio[w][0], ratio[w][rounds - 1], targets[w]);
                if (jf)
                        fprintf(jf, "  { \"benchmark\": \"workloads\", \"ratio\": \"%s under default.json / native\", "
                                    "\"median\": %.3f, \"min\": %.3f, \"max\": %.3f, \"target\": %.2f }%s\n",
                                labels[w], ratio[w][rounds / 2], ratio[w][0], ratio[w][rounds - 1], targets[w],
                                w == 0 ? "," : "");
        }
        if (other)
                for (int w = 0; w < 2; w++) {
                        (void) bench_median_double(fo2[w], (size_t) rounds);
                        (void) bench_median_double(ratio2[w], (size_t) rounds);
                        printf("%-28s %10.3f %10.3f %8.2f %8.2f %8.2f   (--compare %s)\n", labels[w],
                               nat[w][rounds / 2], fo2[w][rounds / 2], ratio2[w][rounds / 2], ratio2[w][0],
                               ratio2[w][rounds - 1], other);
                }
        if (jf) {
                fprintf(jf, "]\n");
                fclose(jf);
        }
        printf("(%d interleaved rounds, unpinned; forgeonectl run --local --quiet --policy %s)\n", rounds, policy);
        r = 0;
        goto finish;
fail:
        fprintf(stderr, "bench-workloads: a run failed\n");
finish:
        (void) !system(rm);
        return r;
}
