/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Helpers private to the trust module: strict JSON (no trailing bytes, no
 * duplicate keys), base64, SHA-256 through OpenSSL, and atomic file writes.
 */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "forgeone/json-position.h"
#include "forgeone/trust.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

/*
 * Parses data as one JSON value with nothing but whitespace after it and no key twice in an object.
 * On failure returns -EBADMSG and, in ret_why (static or in buf), the reason and, when known, the byte
 * offset in *ret_offset (SIZE_MAX when none). ret_positions (optional) gets the positions for messages.
 */
int trust_json_parse(const char *data, size_t size, json_object **ret, JsonPositions **ret_positions,
                     char *why, size_t why_size, size_t *ret_offset);

/* 1-based line and column of a JSON pointer's value (or of its key, when key is true); 0 and 0 when
 * unknown. */
void trust_json_position(const JsonPositions *pos, const char *pointer, bool key, unsigned *ret_line,
                         unsigned *ret_column);

/* A configuration file (trust.json, an anchor) is wrong at pointer (key: at its member name): records
 * "NAME:LINE:COLUMN: text", or "NAME: text" where the position is unknown, of kind config-invalid.
 * Returns r. */
int trust_config_fail(ForgeError *err, int r, const char *name, const JsonPositions *pos,
                      const char *pointer, bool key, const char *format, ...) _printf_(7, 8);

/* Strict base64 (RFC 4648, padding required, whitespace ignored). -EBADMSG on anything else. */
int trust_base64_decode(const char *s, size_t n, uint8_t **ret, size_t *ret_size);
int trust_base64_encode(const void *p, size_t n, char **ret);

int trust_sha256(const void *p, size_t n, uint8_t ret[static 32]);
/* Parses "sha256:<64 lowercase hex>" into bytes. */
int trust_digest_parse(const char *s, uint8_t ret[static 32]);

/* Writes data to path through a temp file in the same directory, fsync and rename. */
int trust_write_file_atomic(const char *path, const void *data, size_t size, mode_t mode);
/* The same relative to a directory fd. */
int trust_write_file_atomic_at(int dir_fd, const char *name, const void *data, size_t size, mode_t mode);

/* Reads a whole regular file (not following a symlink in the last component) of at most max bytes. */
int trust_read_file(const char *path, size_t max, char **ret, size_t *ret_size);
/* The same from an open fd (from its current position; a regular file). */
int trust_read_fd(int fd, size_t max, char **ret, size_t *ret_size);
