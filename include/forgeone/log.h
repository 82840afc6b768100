/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Logging for the programs (forgeonectl, forgeoned): one line per message on
 * stderr, prefixed with the program name. Library code does not log; it
 * returns a negative errno and the caller logs once:
 *
 *         return log_error_errno(r, "Failed to load policy %s: %m", path);
 *
 * log_*_errno() return the (negative) error they were given, and set errno
 * from it first so that %m prints its text.
 */

#include <stdarg.h>

#include "forgeone/macro.h"

typedef enum LogLevel {
        LOG_LEVEL_ERR,
        LOG_LEVEL_WARNING,
        LOG_LEVEL_NOTICE,
        LOG_LEVEL_INFO,
        LOG_LEVEL_DEBUG,
} LogLevel;

void log_set_program(const char *name);
void log_set_max_level(LogLevel level);
LogLevel log_get_max_level(void) _pure_;

int log_internal(LogLevel level, int error, const char *format, ...) _printf_(3, 4);

#define log_error(...)   log_internal(LOG_LEVEL_ERR, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_LEVEL_WARNING, 0, __VA_ARGS__)
#define log_notice(...)  log_internal(LOG_LEVEL_NOTICE, 0, __VA_ARGS__)
#define log_info(...)    log_internal(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...)   log_internal(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)

#define log_error_errno(error, ...)   log_internal(LOG_LEVEL_ERR, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_internal(LOG_LEVEL_WARNING, (error), __VA_ARGS__)
#define log_debug_errno(error, ...)   log_internal(LOG_LEVEL_DEBUG, (error), __VA_ARGS__)

/* For allocation failures in programs. */
#define log_oom() log_internal(LOG_LEVEL_ERR, -ENOMEM, "Out of memory.")
