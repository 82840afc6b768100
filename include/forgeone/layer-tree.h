/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A record of an unpacked layer tree, made when the layer cache unpacks a
 * layer (layer-cache.h) and recomputed by `image verify --deep`, so that a
 * cached tree changed on disk after it was verified is found. The layer
 * blob is only read once; without this record a hit would trust whatever
 * the directory holds now.
 *
 * One line per entry, depth first, the names of a directory in byte order:
 *
 *   TYPE MODE UID:GID SIZE CONTENT PATH[ -> TARGET][ xattr:NAME=HEX...]
 *
 * TYPE is d, f, l, c, b, p or s; MODE the permission bits in octal; SIZE the
 * byte count of a file or MAJOR,MINOR of a device, else 0; CONTENT the
 * SHA-256 of a file's bytes, else "-"; PATH starts at "/" (the tree's root);
 * bytes outside 0x21..0x7e and "\" in paths and targets are written \xHH.
 * Extended attributes of files and directories are listed in name order.
 * Time stamps are not recorded: nothing a workload does depends on them.
 * The walk never follows a symlink and refuses to cross into another file
 * system.
 */

#include <stddef.h>

#include "forgeone/error.h"

/* Records the tree under root_fd; ret is NUL-terminated text of ret_size bytes. */
int layer_tree_record(int root_fd, char **ret, size_t *ret_size, ForgeError *err);

/* "/etc/passwd: changed (content); /x: added; /y: removed" for at most max differences (and "and N more"),
 * or "" when the records agree. */
int layer_tree_diff(const char *old, size_t old_size, const char *new, size_t new_size, unsigned max,
                    char **ret);
