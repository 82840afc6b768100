/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <stdio.h>

#include "forgeone/image-error.h"

int image_error_set(ImageError *err, int error, const char *format, ...) {
        va_list ap;

        if (err && err->message[0] == 0) {
                va_start(ap, format);
                (void) vsnprintf(err->message, sizeof err->message, format, ap);
                va_end(ap);
        }
        return error;
}

int image_error_prefix(ImageError *err, int error, const char *format, ...) {
        char prefix[256], old[IMAGE_ERROR_MAX];
        va_list ap;

        if (!err)
                return error;

        va_start(ap, format);
        (void) vsnprintf(prefix, sizeof prefix, format, ap);
        va_end(ap);

        if (err->message[0] == 0) {
                /* No inner message: the prefix and the errno text are all we know. */
                (void) snprintf(err->message, sizeof err->message, "%s%s", prefix, strerror(-error));
                return error;
        }
        /* Truncation keeps the start of the message, which holds the context. */
        memcpy(old, err->message, sizeof old);
        size_t pl = strnlen(prefix, sizeof prefix - 1);
        memcpy(err->message, prefix, pl);
        strncpy(err->message + pl, old, sizeof err->message - pl - 1);
        err->message[sizeof err->message - 1] = 0;
        return error;
}
