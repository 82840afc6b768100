/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "forgeone/time-util.h"

uint64_t time_now_usec(clockid_t clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

void time_sleep_usec(uint64_t usec) {
        struct timespec ts = {
                .tv_sec = (time_t) (usec / 1000000u),
                .tv_nsec = (long) (usec % 1000000u) * 1000,
        };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}
