/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A workload for forgeoned's live tests and benchmark (static, so that its
 * startup makes a handful of syscalls): makes N trapped calls and prints
 * what they returned, one line:
 *   calls=N ok=A eacces=B eperm=C eintr=D enosys=E other=F ns_per_call=T
 *
 *   daemon-hammer getppid N [START]  getppid (trapped by a min_trust rule); with START, first waits until
 *                                that file exists (a benchmark's barrier)
 *   daemon-hammer open PATH N    openat(PATH, O_RDONLY), closed when it succeeds
 *   daemon-hammer getppid-forever [PAUSE_US]  until SIGTERM, then the line; PAUSE_US between calls
 *                                leaves the machine to others (a 2-CPU test machine shared by 16 threads)
 * Exit status 0 unless a call failed in a way no policy answers with (ENOSYS: no supervisor; other).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig) {
        stop = 1;
}

static unsigned long long now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (unsigned long long) ts.tv_sec * 1000000000ull + (unsigned long long) ts.tv_nsec;
}

int main(int argc, char *argv[]) {
        unsigned long long calls = 0, ok = 0, eacces = 0, eperm = 0, eintr = 0, enosys = 0, other = 0, n, t0, t1;
        bool forever = argc >= 2 && strcmp(argv[1], "getppid-forever") == 0;
        long pause_us = forever && argc == 3 ? strtol(argv[2], NULL, 10) : 0;
        bool open_mode = argc == 4 && strcmp(argv[1], "open") == 0;
        const char *path = open_mode ? argv[2] : NULL;
        /* SA_RESTART: the SIGTERM that ends it must not fail a call still queued for the supervisor (EINTR). */
        struct sigaction sa = { .sa_handler = on_term, .sa_flags = SA_RESTART };

        const char *start_file = argc == 4 && strcmp(argv[1], "getppid") == 0 ? argv[3] : NULL;

        if (!forever && !open_mode && !((argc == 3 || start_file) && strcmp(argv[1], "getppid") == 0)) {
                fprintf(stderr, "usage: daemon-hammer getppid N | open PATH N | getppid-forever [PAUSE_US]\n");
                return 2;
        }
        n = forever ? ~0ull : strtoull(argv[start_file ? 2 : argc - 1], NULL, 10);
        while (start_file && access(start_file, F_OK) < 0 && !stop) {
                struct timespec ts = { .tv_nsec = 1000000 };
                nanosleep(&ts, NULL);
        }
        sigaction(SIGTERM, &sa, NULL);
        t0 = now_ns();
        for (calls = 0; calls < n && !stop; calls++) {
                long r;
                if (open_mode) {
                        r = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
                        if (r >= 0)
                                close((int) r);
                } else
                        r = syscall(SYS_getppid);
                if (pause_us > 0) {
                        struct timespec ts = { .tv_nsec = pause_us * 1000 };
                        nanosleep(&ts, NULL);
                }
                if (r >= 0)
                        ok++;
                else if (errno == EACCES)
                        eacces++;
                else if (errno == EPERM)
                        eperm++;
                else if (errno == EINTR)
                        eintr++;
                else if (errno == ENOSYS)
                        enosys++;
                else
                        other++;
        }
        t1 = now_ns();
        printf("calls=%llu ok=%llu eacces=%llu eperm=%llu eintr=%llu enosys=%llu other=%llu ns_per_call=%llu t0=%llu "
               "t1=%llu\n",
               calls, ok, eacces, eperm, eintr, enosys, other, calls ? (t1 - t0) / calls : 0, t0, t1);
        fflush(stdout);
        return enosys || other ? 1 : 0;
}
