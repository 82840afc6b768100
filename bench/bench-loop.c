/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A static program for benchmark images: N getppid calls, then the ns per call on stdout. A second
 * argument waits that many milliseconds first (so the benchmark can place its supervisor). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char *argv[]) {
        long n = argc > 1 ? atol(argv[1]) : 100000;
        struct timespec a, b, pause = { .tv_sec = 0, .tv_nsec = argc > 2 ? atol(argv[2]) * 1000000L : 0 };

        if (pause.tv_nsec > 0)
                nanosleep(&pause, NULL);
        for (long i = 0; i < 1000; i++)
                (void) syscall(SYS_getppid);
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (long i = 0; i < n; i++)
                (void) syscall(SYS_getppid);
        clock_gettime(CLOCK_MONOTONIC, &b);
        printf("%.1f\n", ((double) (b.tv_sec - a.tv_sec) * 1e9 + (double) (b.tv_nsec - a.tv_nsec)) / (double) n);
        return 0;
}
