/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Unpacks one layer tarball into an empty directory, safely, with libarchive
 * as the reader and our own writer: every write goes through dirfds opened
 * component by component with O_NOFOLLOW, so no entry can be written through
 * a symlink (a symlink entry followed by a file "through" it fails), no path
 * may be absolute or contain "..", and hardlinks must name an earlier entry of
 * the same layer. Symlink targets are stored as they are (absolute targets are
 * legal: they resolve inside the container's root at runtime).
 *
 * The compressed stream is hashed against the blob descriptor (digest and
 * size) and the uncompressed stream against the diff_id, in the same pass.
 * On any mismatch the function fails; the caller (layer-cache.c) throws the
 * directory away, so nothing unverified is ever used.
 *
 * Representation, chosen for overlayfs: ".wh.NAME" becomes a whiteout (char
 * device 0:0, which the kernel lets anyone create); ".wh..wh..opq" sets
 * trusted.overlay.opaque=y on its directory, for overlays mounted in the
 * initial user namespace, and user.overlay.opaque=y, for overlays mounted
 * with "userxattr" inside a user namespace, where trusted.* is invisible
 * (unprivileged callers can only set the latter). The stats say which.
 * Devices are refused unless LAYER_UNPACK_ALLOW_DEVICES. Modes are kept
 * including setuid/setgid bits: the runtime sets no_new_privs, which makes
 * them inert inside the container, and dropping them would break images
 * that a later privileged use expects. Ownership is kept when running as
 * root (the record says so), else files belong to the caller. Extended
 * attributes other than user.* and security.capability are not applied.
 */

#include <stdbool.h>
#include <stdint.h>

#include "forgeone/error.h"
#include "forgeone/oci-image.h"

typedef enum LayerUnpackFlags {
        LAYER_UNPACK_ALLOW_DEVICES = 1u << 0,
} LayerUnpackFlags;

/*
 * Decompression-bomb limits: a small compressed blob may expand to an unbounded tar stream, or to
 * millions of tiny files. The uncompressed tar stream of a layer and the number of its entries are
 * counted as they are read, and the unpack stops at once when a limit is passed (-EFBIG for bytes,
 * -E2BIG for entries), with a message naming the layer and the limit; a file whose header alone
 * declares more than the bytes left is refused before a byte of it is written. The per-image limit
 * is applied by the layer cache (layer-cache.h) to the sum over the image's layers. 0 in a field
 * means its default.
 */
#define LAYER_UNPACK_DEFAULT_MAX_LAYER_BYTES (16ULL << 30)
#define LAYER_UNPACK_DEFAULT_MAX_IMAGE_BYTES (64ULL << 30)
#define LAYER_UNPACK_DEFAULT_MAX_ENTRIES 1000000ULL

typedef struct LayerUnpackLimits {
        uint64_t max_layer_bytes; /* uncompressed tar stream of one layer */
        uint64_t max_image_bytes; /* uncompressed tar streams of all layers of one image together */
        uint64_t max_entries;     /* tar entries of one layer */
} LayerUnpackLimits;

/* Copies limits (NULL: none given) with every 0 replaced by its default. */
LayerUnpackLimits layer_unpack_limits_resolve(const LayerUnpackLimits *limits) _pure_;

typedef struct LayerUnpackStats {
        uint64_t entries;
        uint64_t bytes; /* uncompressed tar stream length */
        uint64_t whiteouts;
        uint64_t opaque_dirs;
        bool ownership_preserved; /* running as root: uid/gid from the tar */
        bool opaque_trusted; /* every opaque dir carries trusted.overlay.opaque (true if there are none) */
        bool opaque_user;    /* every opaque dir carries user.overlay.opaque (true if there are none) */
} LayerUnpackStats;

/*
 * blob_fd: the layer blob, read from its current offset. blob may be NULL to skip the compressed
 * check (then compression must be given); diff_id may be NULL to skip the uncompressed check.
 * dest_fd: an empty directory. Messages name the layer by its blob digest. limits: NULL for the
 * defaults; max_image_bytes is not used here. On failure dest_fd holds what was written so far: the
 * caller removes it (layer-cache.c does).
 */
int layer_unpack(int blob_fd, const OciDescriptor *blob, OciCompression compression, const char *diff_id,
                 int dest_fd, LayerUnpackFlags flags, const LayerUnpackLimits *limits,
                 OciProgressFn progress, void *userdata, LayerUnpackStats *ret_stats, ForgeError *err);
