/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A container's root filesystem under its state directory STATE:
 *   STATE/rootfs  the merged tree the runtime pivot_root()s into
 *   STATE/upper   writable layer, STATE/work overlayfs work dir
 * Overlay: read-only cached layers as lowers (top layer first) plus the
 * per-container upper. When overlayfs cannot be mounted (no permission, no
 * support, mixed opaque xattr namespaces) and the mode is AUTO, the layers
 * are flattened into STATE/rootfs by copying, applying whiteouts and opaque
 * dirs; Rootfs.kind and Rootfs.fallback_reason say which was used and why.
 *
 * The overlay is mounted "volatile" (no syncs: the upper dies with the
 * container), which makes teardown ~1 ms instead of a sync of the upper file
 * system. The copy keeps modes, times, (as root) owners and hardlinks within
 * a layer (the first 256 linked inodes of each); the top layer's root decides
 * the mode of "/".
 *
 * Opaque directories: in the initial user namespace the overlay reads
 * trusted.overlay.opaque; inside a user namespace it is mounted "userxattr"
 * and reads user.overlay.opaque. Cache entries record which they carry
 * (layer.json, found as LOWER/../layer.json); a layer that cannot be shown
 * correctly where we are is refused with -EPERM, never shown wrongly.
 * Lowers that are not cache entries (e.g. id-mapped mounts of them) are
 * taken as they are.
 *
 * The mount is made in the caller's mount namespace; the runtime creates the
 * container's namespaces afterwards and pivot_root()s into STATE/rootfs.
 * rootfs_teardown() needs only STATE, so "stop" from another process works
 * after a crash: it unmounts and removes rootfs, upper and work.
 */

#include <sys/types.h>

#include "forgeone/error.h"
#include "forgeone/macro.h"

typedef enum RootfsKind {
        ROOTFS_OVERLAY,
        ROOTFS_COPY,
        _ROOTFS_KIND_MAX,
        _ROOTFS_KIND_INVALID = -EINVAL,
} RootfsKind;

typedef enum RootfsMode {
        ROOTFS_MODE_AUTO,    /* overlay, else copy */
        ROOTFS_MODE_OVERLAY, /* overlay or fail */
        ROOTFS_MODE_COPY,    /* always copy */
        _ROOTFS_MODE_MAX,
        _ROOTFS_MODE_INVALID = -EINVAL,
} RootfsMode;

const char *rootfs_kind_to_string(RootfsKind k) _const_;

typedef struct RootfsOptions {
        RootfsMode mode;
        /* Owner given to the upper dir's root (overlay) or the copy's top dir, so that a container
         * root mapped to an unprivileged host id can write to "/". (uid_t) -1: leave as is. */
        uid_t root_uid;
        gid_t root_gid;
} RootfsOptions;

#define ROOTFS_OPTIONS_DEFAULT                                                                              \
        ((RootfsOptions) { .mode = ROOTFS_MODE_AUTO, .root_uid = (uid_t) -1, .root_gid = (gid_t) -1 })

typedef struct Rootfs {
        char *state_dir;
        char *path; /* STATE/rootfs */
        RootfsKind kind;
        char *fallback_reason; /* why not overlay, when kind is COPY under AUTO; else NULL */
} Rootfs;

/* lowers: layer dirs bottom first (as layer_cache_unpack_image() returns them), n >= 1.
 * STATE is created if missing; STATE/rootfs, upper and work must not exist yet. */
int rootfs_assemble(char *const *lowers, const char *state_dir, const RootfsOptions *opts, Rootfs **ret,
                    ForgeError *err);

/* Unmounts STATE/rootfs if mounted and removes rootfs, upper, work (not STATE itself). Idempotent. */
int rootfs_teardown(const char *state_dir, ForgeError *err);

Rootfs *rootfs_free(Rootfs *r); /* frees memory only; does not tear down */
DEFINE_TRIVIAL_CLEANUP_FUNC(Rootfs *, rootfs_free);
