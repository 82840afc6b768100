/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * File system helpers private to the image code. All work relative to
 * directory fds, never follow symlinks and never cross mount points: they
 * run over trees whose contents came from untrusted images.
 */

#include <stdint.h>
#include <sys/types.h>

#include "forgeone/error.h"

/* The image itself is at fault (its layout, a blob, a layer entry), not the system reading it: records
 * the message with FORGE_ERROR_IMAGE_INVALID and returns r. */
#define image_invalid(err, r, ...) forge_error_set_kind((err), FORGE_ERROR_IMAGE_INVALID, (r), __VA_ARGS__)

/* Removes dir_fd/name recursively. Makes read-only directories writable first (so an unprivileged
 * caller can remove what it unpacked); refuses (-EBUSY) to descend into another file system. */
int image_rm_rf_at(int dir_fd, const char *name);

/* Writes a whole file atomically enough for our use: create, write, fsync. */
int image_write_file_at(int dir_fd, const char *name, const char *data, size_t size, mode_t mode);

/* "16 GiB" for a whole number of KiB/MiB/GiB/TiB, else "N bytes"; for messages about size limits. */
const char *image_format_size(uint64_t bytes, char buf[static 32]);
