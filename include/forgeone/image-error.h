/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Error context for the image code (OCI layout, layer unpacking, rootfs).
 * Functions still return a negative errno; when they are given an ImageError
 * they also describe the failure in one line a user can act on: which blob,
 * expected vs. actual digest or size, which tar entry and why. The buffer is
 * caller-owned (usually on the stack) so reporting never allocates. The
 * first message set wins: the innermost cause is kept as it travels up.
 */

#include "forgeone/macro.h"

#define IMAGE_ERROR_MAX 1024

typedef struct ImageError {
        char message[IMAGE_ERROR_MAX]; /* "" when nothing was recorded */
} ImageError;

/* Records the message (if err is non-NULL and empty) and returns error, which must be negative. */
int image_error_set(ImageError *err, int error, const char *format, ...) _printf_(3, 4);

/* Prefixes context to an already recorded message ("layer 2: " + message). Returns error. */
int image_error_prefix(ImageError *err, int error, const char *format, ...) _printf_(3, 4);

static inline void image_error_clear(ImageError *err) {
        if (err)
                err->message[0] = 0;
}
