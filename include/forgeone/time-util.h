/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Clock readings in microseconds and a sleep that resumes after signals:
 * the units the runtime's timeouts, records and benchmarks are kept in.
 */

#include <stdint.h>
#include <time.h>

/* clock: CLOCK_MONOTONIC for timeouts and durations, CLOCK_REALTIME for records. */
uint64_t time_now_usec(clockid_t clock);

/* Sleeps usec, resuming after interruptions by signals. */
void time_sleep_usec(uint64_t usec);
