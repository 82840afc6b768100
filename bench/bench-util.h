/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the benchmarks share: the median of a set of samples (each benchmark
 * reports medians against a baseline measured in the same run). Times come
 * from time_now_usec(CLOCK_MONOTONIC) (forgeone/time-util.h).
 */

#include <stdint.h>
#include <stdlib.h>

static inline int bench_cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static inline int bench_cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

/* Sorts v in place (so v[0] and v[n-1] are then the extremes); 0 for no samples. */
static inline double bench_median_double(double *v, size_t n) {
        qsort(v, n, sizeof *v, bench_cmp_double);
        return n ? v[n / 2] : 0;
}

/* Sorts v in place; 0 for no samples. */
static inline uint64_t bench_median_u64(uint64_t *v, size_t n) {
        qsort(v, n, sizeof *v, bench_cmp_u64);
        return n ? v[n / 2] : 0;
}

/* The policy of the trapped-call benchmarks: getppid is allowed only above a trust score, which the kernel
 * cannot know, so every call is sent to the supervisor, which decides from the graph and lets it CONTINUE.
 * The rest is what a benchmark's child needs to start and print, decided in the kernel. */
#define BENCH_GETPPID_POLICY                                                                                   \
        "{ \"version\": 1, \"name\": \"bench-getppid\","                                                      \
        "  \"default\": { \"action\": \"deny\", \"errno\": \"EPERM\" },"                                       \
        "  \"rules\": ["                                                                                        \
        "    { \"id\": \"program\", \"action\": \"allow\", \"syscalls\": ["                                     \
        "        \"execve\", \"brk\", \"mmap\", \"munmap\", \"mprotect\", \"arch_prctl\","                      \
        "        \"set_tid_address\", \"set_robust_list\", \"rseq\", \"prlimit64\", \"getrandom\","               \
        "        \"openat\", \"read\", \"pread64\", \"write\", \"close\", \"newfstatat\", \"fstat\","            \
        "        \"access\", \"readlink\", \"clock_gettime\", \"futex\", \"exit\", \"exit_group\" ] },"          \
        "    { \"id\": \"ppid-when-trusted\", \"syscalls\": [\"getppid\"],"                                     \
        "      \"action\": \"allow\", \"min_trust\": 10 } ] }"
