/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Source positions for JSON documents. json-c's objects carry no positions,
 * so this scanner walks the raw text once and records, for every value, its
 * JSON pointer (RFC 6901: "/rules/3/syscalls/1"), the byte offset of the
 * value and of its member key, and every key that occurs twice in one
 * object. It expects text that json-c has already accepted; on anything
 * else it fails with -EINVAL rather than guess. It keeps a pointer to the
 * text (for line and column lookups), which must outlive it.
 */

#include <stddef.h>

#include "forgeone/macro.h"

typedef struct JsonPositions JsonPositions;

/* On -EINVAL, *error_offset (when given) is where the text stopped being JSON. */
int json_positions_scan(const char *text, size_t len, JsonPositions **ret, size_t *error_offset);

/* Line and column of an offset of the scanned text, in O(log lines): the
 * text given to json_positions_scan() must still exist. */
void json_positions_line_column(const JsonPositions *p, size_t offset, unsigned *ret_line,
                                unsigned *ret_column);
JsonPositions *json_positions_free(JsonPositions *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(JsonPositions *, json_positions_free);

/* Offsets of the value at pointer and of its key (the key's opening quote;
 * for array elements and the root the value's offset). With duplicate keys,
 * the last occurrence (the one json-c keeps). -ENOENT if there is none. */
int json_positions_lookup(const JsonPositions *p, const char *pointer, size_t *ret_value_offset,
                          size_t *ret_key_offset);

/* Keys given twice in one object, in file order: pointer of the repeated
 * member and offset of its second key. Members of a repeated object are not
 * reported again. Returns NULL past the end. */
const char *json_positions_duplicate(const JsonPositions *p, size_t i, size_t *ret_key_offset);

/* 1-based line and column (in characters, tabs count one) of a byte offset. */
void json_offset_to_line_column(const char *text, size_t len, size_t offset, unsigned *ret_line,
                                unsigned *ret_column);

/* Appends one reference token to a pointer, escaping '~' and '/'. Heap string or NULL. */
char *json_pointer_append_key(const char *base, const char *key);
char *json_pointer_append_index(const char *base, size_t index);
