/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "forgeone/log.h"

static const char *program = "forgeone";
static LogLevel max_level = LOG_LEVEL_INFO;

void log_set_program(const char *name) {
        program = name;
}

void log_set_max_level(LogLevel level) {
        max_level = level;
}

LogLevel log_get_max_level(void) {
        return max_level;
}

int log_internal(LogLevel level, int error, const char *format, ...) {
        int saved = errno;
        va_list ap;

        if (error > 0)
                error = -error;
        if (level > max_level)
                return error;

        /* %m in the format prints the error we were given, not whatever errno happens to hold. */
        errno = error < 0 ? -error : saved;
        flockfile(stderr);
        fprintf(stderr, "%s: ", program);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        funlockfile(stderr);
        errno = saved;
        return error;
}
