/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * OCI image layouts (image-spec v1: "oci-layout" with imageLayoutVersion
 * 1.0.0, "index.json", "blobs/<alg>/<hex>"), as written by umoci, skopeo
 * copy oci:DIR and buildah push oci:DIR. Docker schema-2 manifests and
 * manifest lists inside such a layout are accepted too.
 *
 * oci_image_open() selects a manifest ("DIR:TAG" by the annotation
 * org.opencontainers.image.ref.name, or the only one; nested indexes are
 * followed; linux/amd64 preferred when an index lists several platforms),
 * and checks every blob on that path (indexes, manifest, config) against
 * its descriptor's digest and size before parsing it. Layer blobs are big:
 * their existence and size are checked at open, their digest (and the
 * config's diff_id of the uncompressed stream) while they are unpacked
 * (layer-cache.h), or all at once with oci_image_verify_layers().
 * Blob files are opened with openat(O_NOFOLLOW) under blobs/<alg>/ and must
 * be regular files.
 *
 * SIGNATURES: oci_image_open() does not judge trust. Its caller passes
 * the image to a verifier (OciImageVerifyFn; the trust module's is
 * trust_verify_image(), trust-verify.h, which checks the signatures of
 * image->manifest.digest against the TPM-backed anchor) through
 * layer_cache_unpack_image(), which calls it before a single layer byte is
 * read. The manifest digest covers the config and
 * every layer digest, so verifying it verifies the whole image.
 *
 * Nothing here prints; long operations report through OciProgressFn.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "forgeone/error.h"
#include "forgeone/macro.h"

typedef enum OciCompression {
        OCI_COMPRESSION_NONE,
        OCI_COMPRESSION_GZIP,
        OCI_COMPRESSION_ZSTD,
        _OCI_COMPRESSION_MAX,
        _OCI_COMPRESSION_INVALID = -EINVAL,
} OciCompression;

const char *oci_compression_to_string(OciCompression c) _const_;
/* Layer media type (OCI or Docker) -> compression; -EOPNOTSUPP for unknown or non-distributable types. */
int oci_compression_from_media_type(const char *media_type);

typedef struct OciDescriptor {
        char *media_type;
        char *digest; /* validated "sha256:<64 lowercase hex>" */
        uint64_t size;
} OciDescriptor;

typedef struct OciLayer {
        OciDescriptor blob;
        OciCompression compression;
        char *diff_id; /* digest of the uncompressed tar, from the config's rootfs.diff_ids */
} OciLayer;

typedef struct OciImageConfig {
        char *os;
        char *architecture;
        char **env;        /* strv "KEY=value", may be NULL */
        char **entrypoint; /* strv, may be NULL */
        char **cmd;        /* strv, may be NULL */
        char *working_dir; /* NULL when unset */
        char *user;        /* NULL when unset ("uid", "uid:gid", "name", ...) */
        char **labels;     /* strv "key=value", sorted, may be NULL */
} OciImageConfig;

typedef struct OciImage {
        char *layout_path; /* the layout directory */
        char *tag; /* the reference asked for, or the ref.name annotation of the only manifest, or NULL */
        OciDescriptor manifest; /* manifest.digest is the image's identity ("sha256:...") */
        OciDescriptor config_blob;
        OciImageConfig config;
        OciLayer *layers; /* bottom (first applied) first */
        size_t n_layers;
        int blobs_fd; /* O_DIRECTORY fd of the layout's blobs/ (owned) */
} OciImage;

typedef enum OciProgressPhase {
        OCI_PROGRESS_VERIFY, /* hashing a blob without unpacking it */
        OCI_PROGRESS_UNPACK, /* unpacking a layer (bytes of the compressed blob) */
        _OCI_PROGRESS_PHASE_MAX,
        _OCI_PROGRESS_PHASE_INVALID = -EINVAL,
} OciProgressPhase;

const char *oci_progress_phase_to_string(OciProgressPhase p) _const_;

/* Called at most every 256 KiB and once at the end (done == total) of each blob. */
typedef void (*OciProgressFn)(OciProgressPhase phase, const char *digest, uint64_t done, uint64_t total,
                              void *userdata);

/* Trust seam: return >= 0 to allow the image, a negative errno (and a message in err) to refuse it. */
typedef int (*OciImageVerifyFn)(const OciImage *image, void *userdata, ForgeError *err);

/* Splits "DIR[:TAG]". A DIR that itself exists with an oci-layout file wins over splitting at the
 * last ':' (so "/srv/img:v1" with no such dir means DIR=/srv/img TAG=v1). */
int oci_reference_parse(const char *ref, char **ret_dir, char **ret_tag);

/* Opens "DIR[:TAG]"; see above for what is checked. */
int oci_image_open(const char *ref, OciImage **ret, ForgeError *err);
/* Same with the tag given separately (NULL: the only manifest). */
int oci_image_open_dir(const char *dir, const char *tag, OciImage **ret, ForgeError *err);

OciImage *oci_image_free(OciImage *image);
DEFINE_TRIVIAL_CLEANUP_FUNC(OciImage *, oci_image_free);

/* Hashes every layer blob (digest and size) without unpacking. */
int oci_image_verify_layers(const OciImage *image, OciProgressFn progress, void *userdata, ForgeError *err);

/* Opens blobs/<alg>/<hex> of a validated digest: O_NOFOLLOW, regular file, size must equal expected_size. */
int oci_image_open_blob(const OciImage *image, const OciDescriptor *d, ForgeError *err);
