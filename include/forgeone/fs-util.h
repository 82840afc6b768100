/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Small file helpers shared by the runtime and the image code: whole-file
 * reads with a size cap, writes that survive short writes and EINTR, and
 * mkdir -p. They never follow a symlink in the last component of a file
 * they read, never log, and return a negative errno on failure.
 */

#include <dirent.h>
#include <stddef.h>
#include <sys/types.h>

/* Reads dir_fd/name (dir_fd may be AT_FDCWD) into a NUL-terminated buffer; "" for an empty file.
 * -EFBIG when the file holds more than max_size bytes. ret_size (optional): its length. */
int read_full_file_at(int dir_fd, const char *name, size_t max_size, char **ret, size_t *ret_size);

/* The same from an open file, from its current position to its end. */
int read_full_fd(int fd, size_t max_size, char **ret, size_t *ret_size);

/* write() until all n bytes are written, retrying on EINTR. */
int write_all(int fd, const void *p, size_t n);

/* A directory stream on dir_fd/name, or (name NULL) on dir_fd itself through a descriptor of its own, so
 * that dir_fd stays open and its position untouched. A symlink as name is refused (-ENOTDIR/-ELOOP). */
int opendir_at(int dir_fd, const char *name, DIR **ret);

/* Like mkdir -p: creates path and its missing parents with mode; existing ones are fine. -EINVAL for
 * an empty path. */
int mkdir_p(const char *path, mode_t mode);
