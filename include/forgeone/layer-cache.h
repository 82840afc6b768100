/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Content-addressed cache of unpacked layers: DIR/<diff_id hex>/rootfs is the
 * layer tree (an overlayfs lower dir) and DIR/<hex>/layer.json records how it
 * was made (blob digest, ownership preserved or not, opaque xattr namespace).
 * Default DIR is /var/lib/forgeone/layers.
 *
 * Each layer is unpacked once: a hit is a rename()d directory, so readers
 * never see a half-written layer. Writers unpack into DIR/.tmp-<hex>-XXXXXX
 * under an exclusive flock on DIR/.lock (concurrent processes wait, then
 * reuse), and remove the temp dir on any failure. A cache entry is trusted
 * because it was verified against its diff_id when it was made, and the
 * diff_id is covered by the (verified) config digest; a hit therefore does
 * not re-read the layer blob. Stale temp dirs of crashed writers are removed
 * by the next writer.
 *
 * Because a hit is trusted on sight, each entry also records its tree as
 * unpacked (DIR/<hex>/tree, layer-tree.h, whose SHA-256 is layer.json's
 * "tree_digest"); layer_cache_check_tree() recomputes it to find an entry
 * changed on disk since (`image verify --deep`; a daemon on first use of an
 * entry after it starts).
 */

#include <stdbool.h>

#include "forgeone/error.h"
#include "forgeone/layer-unpack.h"
#include "forgeone/oci-image.h"

#define LAYER_CACHE_DEFAULT_DIR "/var/lib/forgeone/layers"

typedef struct LayerCache LayerCache;

/* Opens (creating, mode 0700) the cache directory; dir NULL means the default. Refused (-EPERM) unless
 * the directory belongs to the caller and is not writable by group or others. */
int layer_cache_open(const char *dir, LayerCache **ret, ForgeError *err);
LayerCache *layer_cache_free(LayerCache *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(LayerCache *, layer_cache_free);

const char *layer_cache_dir(const LayerCache *c);

/* Decompression-bomb limits for the layers this cache unpacks (layer-unpack.h); NULL or 0 fields: the
 * defaults, which a new cache has. max_image_bytes caps the sum over an image's layers in
 * layer_cache_unpack_image(), counting the layers found in the cache with the size recorded when they
 * were unpacked (so a warm cache accepts exactly what a cold one does). */
void layer_cache_set_limits(LayerCache *c, const LayerUnpackLimits *limits);
const LayerUnpackLimits *layer_cache_get_limits(const LayerCache *c) _pure_;

/* Ensures layer i of image is in the cache. ret_path (optional): its rootfs dir. ret_hit: reused. */
int layer_cache_ensure(LayerCache *c, const OciImage *image, size_t i, LayerUnpackFlags flags,
                       OciProgressFn progress, void *userdata, char **ret_path, bool *ret_hit,
                       ForgeError *err);

/*
 * Calls verify (if non-NULL) with the image, then ensures every layer. Returns a strv of the
 * layers' rootfs dirs, bottom layer first, in ret_lowers. Returns the number of layers
 * that were unpacked (not reused).
 */
int layer_cache_unpack_image(LayerCache *c, const OciImage *image, OciImageVerifyFn verify,
                             void *verify_userdata, LayerUnpackFlags flags, OciProgressFn progress,
                             void *userdata, char ***ret_lowers, ForgeError *err);

/* Recomputes the tree record of the entry for diff_id and compares it with the one made at unpack time.
 * 0: unchanged. -ENOENT: not in the cache. -ENODATA: an entry made before trees were recorded. -EBADMSG:
 * changed (the message names up to five paths and what changed about them, or says the record itself was
 * edited). */
int layer_cache_check_tree(LayerCache *c, const char *diff_id, ForgeError *err);

/* Removes one entry (by diff_id); -ENOENT if absent. Callers make sure no rootfs uses it. */
int layer_cache_remove(LayerCache *c, const char *diff_id, ForgeError *err);
