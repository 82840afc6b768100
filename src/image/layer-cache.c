/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "forgeone/fs-util.h"
#include "forgeone/layer-cache.h"
#include "forgeone/layer-tree.h"
#include "forgeone/oci-digest.h"
#include "image-util.h"

#define TMP_PREFIX ".tmp-"
#define LOCK_NAME ".lock"
#define META_NAME "layer.json"
#define TREE_NAME "tree"
#define TREE_SIZE_MAX (1024u * 1024u * 1024u)

struct LayerCache {
        char *dir;
        int dir_fd;
        LayerUnpackLimits limits; /* resolved: no zeros */
};

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

int layer_cache_open(const char *dir, LayerCache **ret, ForgeError *err) {
        _cleanup_free_ LayerCache *c = NULL;
        struct stat st;
        int r;

        dir = dir ?: LAYER_CACHE_DEFAULT_DIR;
        r = mkdir_p(dir, 0700);
        if (r < 0)
                return forge_error_set(err, r, "cannot create layer cache %s: %s", dir, strerror(-r));

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (c->dir_fd < 0)
                return forge_error_set(err, negative_errno(), "cannot open layer cache %s: %m", dir);
        /* Entries are trusted on sight (see layer-cache.h), so nobody else may be able to plant one. */
        if (fstat(c->dir_fd, &st) < 0) {
                r = forge_error_set(err, negative_errno(), "cannot stat layer cache %s: %m", dir);
                safe_close(c->dir_fd);
                return r;
        }
        if (st.st_uid != geteuid() || (st.st_mode & 0022)) {
                safe_close(c->dir_fd);
                return forge_error_set(err, -EPERM,
                                       "layer cache %s is owned by uid %u with mode %04o: it must belong to "
                                       "uid %u and not be writable by group or others",
                                       dir, (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777),
                                       (unsigned) geteuid());
        }
        c->limits = layer_unpack_limits_resolve(NULL);
        c->dir = strdup(dir);
        if (!c->dir) {
                safe_close(c->dir_fd);
                return -ENOMEM;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

LayerCache *layer_cache_free(LayerCache *c) {
        if (!c)
                return NULL;
        safe_close(c->dir_fd);
        free(c->dir);
        free(c);
        return NULL;
}

const char *layer_cache_dir(const LayerCache *c) {
        return c->dir;
}

void layer_cache_set_limits(LayerCache *c, const LayerUnpackLimits *limits) {
        c->limits = layer_unpack_limits_resolve(limits);
}

const LayerUnpackLimits *layer_cache_get_limits(const LayerCache *c) {
        return &c->limits;
}

/* The uncompressed size recorded when an entry was made; 0 when unknown (an entry made before the
 * size was recorded counts as nothing rather than failing an image that was accepted then). */
static uint64_t entry_tar_bytes(LayerCache *c, const char *name) {
        _cleanup_(json_object_putp) json_object *j = NULL;
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        char buf[16384];
        json_object *v;
        ssize_t n;

        dfd = openat(c->dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return 0;
        fd = openat(dfd, META_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return 0;
        n = read(fd, buf, sizeof buf - 1);
        if (n <= 0)
                return 0;
        buf[n] = 0;
        j = json_tokener_parse(buf);
        if (!j || !json_object_object_get_ex(j, "tar_bytes", &v) || !json_object_is_type(v, json_type_int))
                return 0;
        return (uint64_t) MAX(json_object_get_int64(v), 0);
}

/* An entry is complete once renamed into place; layer.json is written before the rename. */
static bool entry_exists(LayerCache *c, const char *name) {
        _cleanup_close_ int fd = openat(c->dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;

        return fd >= 0 && fstatat(fd, META_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
               fstatat(fd, "rootfs", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static int lock_cache(LayerCache *c, ForgeError *err) {
        _cleanup_close_ int fd = -EBADF;

        fd = openat(c->dir_fd, LOCK_NAME, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return forge_error_set(err, negative_errno(), "layer cache %s: cannot open lock file: %m",
                                       c->dir);
        if (flock(fd, LOCK_EX) < 0)
                return forge_error_set(err, negative_errno(), "layer cache %s: cannot lock: %m", c->dir);
        return TAKE_FD(fd);
}

/* Under the lock nobody else is unpacking, so every temp dir belongs to a writer that died. */
static void remove_stale_temps(LayerCache *c) {
        struct dirent *de;
        DIR *d;

        if (opendir_at(c->dir_fd, NULL, &d) < 0)
                return;
        while ((de = readdir(d)))
                if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0)
                        (void) image_rm_rf_at(c->dir_fd, de->d_name);
        closedir(d);
}

static int write_meta(int fd, const OciLayer *l, const LayerUnpackStats *st, const char *tree_digest) {
        _cleanup_(json_object_putp) json_object *j = json_object_new_object();
        const char *s;

        if (!j)
                return -ENOMEM;
        json_object_object_add(j, "diff_id", json_object_new_string(l->diff_id));
        json_object_object_add(j, "blob", json_object_new_string(l->blob.digest));
        json_object_object_add(j, "blob_size", json_object_new_int64(l->blob.size));
        json_object_object_add(j, "compression",
                               json_object_new_string(oci_compression_to_string(l->compression)));
        json_object_object_add(j, "entries", json_object_new_int64(st->entries));
        json_object_object_add(j, "tar_bytes", json_object_new_int64(st->bytes));
        json_object_object_add(j, "whiteouts", json_object_new_int64(st->whiteouts));
        json_object_object_add(j, "opaque_dirs", json_object_new_int64(st->opaque_dirs));
        /* Ownership as in the image only when unpacked as root; a user-namespace runtime must know. */
        json_object_object_add(j, "ownership",
                               json_object_new_string(st->ownership_preserved ? "preserved" : "unpacker"));
        json_object_object_add(j, "unpacker_uid", json_object_new_int64(geteuid()));
        /* Which overlayfs mounts can honour this layer's opaque dirs (see rootfs.c). */
        json_object_object_add(j, "opaque_xattr",
                               json_object_new_string(st->opaque_trusted && st->opaque_user ? "both"
                                                      : st->opaque_trusted                  ? "trusted"
                                                                                            : "user"));
        json_object_object_add(j, "created", json_object_new_int64(time(NULL)));
        /* The tree as unpacked (layer-tree.h): a later change on disk is found against it. */
        json_object_object_add(j, "tree_digest", json_object_new_string(tree_digest));

        s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY);
        if (!s)
                return -ENOMEM;
        return image_write_file_at(fd, META_NAME, s, strlen(s), 0644);
}

static int unpack_locked(LayerCache *c, const OciImage *image, size_t i, const char *name,
                         LayerUnpackFlags flags, uint64_t max_bytes, OciProgressFn progress, void *userdata,
                         uint64_t *ret_bytes, ForgeError *err) {
        LayerUnpackLimits limits = c->limits;
        const OciLayer *l = &image->layers[i];
        _cleanup_close_ int tmp_fd = -EBADF, root_fd = -EBADF, blob_fd = -EBADF;
        _cleanup_free_ char *tmp_path = NULL;
        const char *tmp_name;
        LayerUnpackStats stats;
        char tree_digest[OCI_DIGEST_STRING_MAX];
        int r;

        if (asprintf(&tmp_path, "%s/" TMP_PREFIX "%s-XXXXXX", c->dir, name) < 0)
                return -ENOMEM;
        if (!mkdtemp(tmp_path))
                return forge_error_set(err, negative_errno(), "layer cache: cannot create %s: %m", tmp_path);
        tmp_name = strrchr(tmp_path, '/') + 1;

        tmp_fd = openat(c->dir_fd, tmp_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (tmp_fd < 0) {
                r = forge_error_set(err, negative_errno(), "layer cache: cannot open %s: %m", tmp_path);
                goto fail;
        }
        if (mkdirat(tmp_fd, "rootfs", 0755) < 0 ||
            (root_fd = openat(tmp_fd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
                r = forge_error_set(err, negative_errno(), "layer cache: cannot create %s/rootfs: %m",
                                    tmp_path);
                goto fail;
        }

        blob_fd = oci_image_open_blob(image, &l->blob, err);
        if (blob_fd < 0) {
                r = blob_fd;
                goto fail;
        }

        limits.max_layer_bytes = max_bytes;
        r = layer_unpack(blob_fd, &l->blob, l->compression, l->diff_id, root_fd, flags, &limits, progress,
                         userdata, &stats, err);
        if (r < 0)
                goto fail;

        {
                _cleanup_free_ char *tree = NULL;
                size_t tree_size;

                r = layer_tree_record(root_fd, &tree, &tree_size, err);
                if (r < 0) {
                        r = forge_error_prefix(err, r, "layer cache: cannot record the unpacked tree: ");
                        goto fail;
                }
                r = oci_digest_buffer(OCI_DIGEST_SHA256, tree, tree_size, tree_digest);
                if (r >= 0)
                        r = image_write_file_at(tmp_fd, TREE_NAME, tree, tree_size, 0644);
                if (r < 0) {
                        r = forge_error_set(err, r, "layer cache: cannot write %s/%s: %s", tmp_path,
                                            TREE_NAME, strerror(-r));
                        goto fail;
                }
        }
        r = write_meta(tmp_fd, l, &stats, tree_digest);
        if (r < 0) {
                r = forge_error_set(err, r, "layer cache: cannot write %s/%s: %s", tmp_path, META_NAME,
                                    strerror(-r));
                goto fail;
        }
        /* The rename publishes the entry; the data must be on disk before anyone can see it. */
        if (syncfs(tmp_fd) < 0) {
                r = forge_error_set(err, negative_errno(), "layer cache: sync failed: %m");
                goto fail;
        }
        if (renameat(c->dir_fd, tmp_name, c->dir_fd, name) < 0) {
                r = forge_error_set(err, negative_errno(), "layer cache: cannot rename %s into place: %m",
                                    tmp_path);
                goto fail;
        }
        (void) fsync(c->dir_fd);
        *ret_bytes = stats.bytes;
        return 0;

fail:
        (void) image_rm_rf_at(c->dir_fd, tmp_name);
        return r;
}

/* image_bytes: what the image's layers below this one hold; the image limit caps this layer at what is
 * left of it. ret_bytes: the layer's uncompressed size. */
static int ensure(LayerCache *c, const OciImage *image, size_t i, LayerUnpackFlags flags,
                  uint64_t image_bytes, OciProgressFn progress, void *userdata, char **ret_path,
                  bool *ret_hit, uint64_t *ret_bytes, ForgeError *err) {
        _cleanup_close_ int lock_fd = -EBADF;
        _cleanup_free_ char *path = NULL;
        uint64_t left = c->limits.max_image_bytes - MIN(image_bytes, c->limits.max_image_bytes), bytes = 0;
        uint64_t max_bytes = MIN(c->limits.max_layer_bytes, left);
        char limit[32], below[32];
        const char *hex;
        bool hit = true;
        int r;

        if (i >= image->n_layers)
                return -EINVAL;
        r = oci_digest_parse(image->layers[i].diff_id, &hex, err);
        if (r < 0)
                return r;

        if (!entry_exists(c, hex)) {
                lock_fd = lock_cache(c, err);
                if (lock_fd < 0)
                        return lock_fd;
                /* Someone may have finished it while we waited for the lock. */
                if (!entry_exists(c, hex)) {
                        struct stat st;

                        remove_stale_temps(c);
                        /* An incomplete entry (a crash between mkdir and rename cannot make one, but a
                         * hand edit can) is rebuilt rather than trusted. */
                        if (fstatat(c->dir_fd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                                r = image_rm_rf_at(c->dir_fd, hex);
                                if (r < 0)
                                        return forge_error_set(err, r,
                                                               "layer cache: cannot remove incomplete "
                                                               "entry %s/%s: %s",
                                                               c->dir, hex, strerror(-r));
                        }
                        r = unpack_locked(c, image, i, hex, flags, max_bytes, progress, userdata, &bytes,
                                          err);
                        if (r == -EFBIG && max_bytes < c->limits.max_layer_bytes) {
                                /* The image's limit, not the layer's, was reached: say so. */
                                forge_error_clear(err);
                                return forge_error_set(err, r,
                                                       "layer %zu (%s): the image's layers exceed the limit "
                                                       "of %s per image (%s in the layers below it)",
                                                       i, image->layers[i].blob.digest,
                                                       image_format_size(c->limits.max_image_bytes, limit),
                                                       image_format_size(image_bytes, below));
                        }
                        if (r < 0)
                                return forge_error_prefix(err, r, "layer %zu: ", i);
                        hit = false;
                }
        }
        if (hit) {
                /* Checked when it was unpacked, perhaps for another image: it still counts for this one. */
                bytes = entry_tar_bytes(c, hex);
                if (bytes > left)
                        return forge_error_set(err, -EFBIG,
                                               "layer %zu (%s): the image's layers exceed the limit of %s "
                                               "per image (%s in the layers below it, %s in this one)",
                                               i, image->layers[i].blob.digest,
                                               image_format_size(c->limits.max_image_bytes, limit),
                                               image_format_size(image_bytes, below),
                                               image_format_size(bytes, (char[32]) {}));
        }

        if (ret_path && asprintf(&path, "%s/%s/rootfs", c->dir, hex) < 0)
                return -ENOMEM;
        if (ret_path)
                *ret_path = TAKE_PTR(path);
        if (ret_hit)
                *ret_hit = hit;
        if (ret_bytes)
                *ret_bytes = bytes;
        return 0;
}

int layer_cache_ensure(LayerCache *c, const OciImage *image, size_t i, LayerUnpackFlags flags,
                       OciProgressFn progress, void *userdata, char **ret_path, bool *ret_hit,
                       ForgeError *err) {
        return ensure(c, image, i, flags, 0, progress, userdata, ret_path, ret_hit, NULL, err);
}

int layer_cache_unpack_image(LayerCache *c, const OciImage *image, OciImageVerifyFn verify,
                             void *verify_userdata, LayerUnpackFlags flags, OciProgressFn progress,
                             void *userdata, char ***ret_lowers, ForgeError *err) {
        _cleanup_strv_free_ char **lowers = NULL;
        uint64_t image_bytes = 0;
        int r, unpacked = 0;

        if (verify) {
                r = verify(image, verify_userdata, err);
                if (r < 0)
                        return forge_error_prefix(err, r,
                                                  "image %s refused by verifier: ", image->manifest.digest);
        }

        lowers = calloc(image->n_layers + 1, sizeof *lowers);
        if (!lowers)
                return -ENOMEM;
        for (size_t i = 0; i < image->n_layers; i++) {
                uint64_t bytes = 0;
                bool hit = false;

                r = ensure(c, image, i, flags, image_bytes, progress, userdata, &lowers[i], &hit, &bytes,
                           err);
                if (r < 0)
                        return r;
                unpacked += !hit;
                image_bytes += bytes;
        }

        if (ret_lowers)
                *ret_lowers = TAKE_PTR(lowers);
        return unpacked;
}

int layer_cache_remove(LayerCache *c, const char *diff_id, ForgeError *err) {
        _cleanup_close_ int lock_fd = -EBADF;
        const char *hex;
        struct stat st;
        int r;

        r = oci_digest_parse(diff_id, &hex, err);
        if (r < 0)
                return r;
        lock_fd = lock_cache(c, err);
        if (lock_fd < 0)
                return lock_fd;
        if (fstatat(c->dir_fd, hex, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return forge_error_set(err, negative_errno(), "layer cache: no entry %s: %m", diff_id);
        r = image_rm_rf_at(c->dir_fd, hex);
        if (r < 0)
                return forge_error_set(err, r, "layer cache: cannot remove %s/%s: %s", c->dir, hex,
                                       strerror(-r));
        return 0;
}

int layer_cache_check_tree(LayerCache *c, const char *diff_id, ForgeError *err) {
        _cleanup_(json_object_putp) json_object *meta = NULL;
        _cleanup_free_ char *meta_text = NULL, *recorded = NULL, *now = NULL, *diff = NULL;
        _cleanup_close_ int dfd = -EBADF, root_fd = -EBADF;
        char actual[OCI_DIGEST_STRING_MAX];
        size_t recorded_size, now_size;
        const char *hex, *want = NULL;
        json_object *v;
        int r;

        r = oci_digest_parse(diff_id, &hex, err);
        if (r < 0)
                return r;
        if (!entry_exists(c, hex))
                return forge_error_set(err, -ENOENT, "layer %s is not in the cache %s", diff_id, c->dir);
        dfd = openat(c->dir_fd, hex, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return forge_error_set(err, negative_errno(), "cannot open %s/%s: %m", c->dir, hex);
        r = read_full_file_at(dfd, META_NAME, 1024 * 1024, &meta_text, NULL);
        if (r < 0)
                return forge_error_set(err, r, "cannot read %s/%s/%s: %s", c->dir, hex, META_NAME,
                                       strerror(-r));
        meta = json_tokener_parse(meta_text);
        if (meta && json_object_object_get_ex(meta, "tree_digest", &v) &&
            json_object_is_type(v, json_type_string))
                want = json_object_get_string(v);
        if (!want)
                return forge_error_set(
                        err, -ENODATA,
                        "%s/%s has no record of its tree (it was unpacked before ForgeOne kept one): "
                        "remove the directory so that the next run unpacks the layer again",
                        c->dir, hex);

        r = read_full_file_at(dfd, TREE_NAME, TREE_SIZE_MAX, &recorded, &recorded_size);
        if (r < 0)
                return forge_error_set(err, r, "cannot read the tree record %s/%s/%s: %s", c->dir, hex,
                                       TREE_NAME, strerror(-r));
        r = oci_digest_buffer(OCI_DIGEST_SHA256, recorded, recorded_size, actual);
        if (r < 0)
                return r;
        if (!streq(actual, want))
                return forge_error_set(
                        err, -EBADMSG,
                        "the tree record %s/%s/%s was changed: %s says %s, the file hashes to %s", c->dir,
                        hex, TREE_NAME, META_NAME, want, actual);

        root_fd = openat(dfd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (root_fd < 0)
                return forge_error_set(err, negative_errno(), "cannot open %s/%s/rootfs: %m", c->dir, hex);
        r = layer_tree_record(root_fd, &now, &now_size, err);
        if (r < 0)
                return forge_error_prefix(err, r, "layer %s: ", diff_id);
        if (now_size == recorded_size && memcmp(now, recorded, now_size) == 0)
                return 0;
        r = layer_tree_diff(recorded, recorded_size, now, now_size, 5, &diff);
        if (r < 0)
                return r;
        return image_invalid(err, -EBADMSG, "the cached tree of layer %s (%s/%s/rootfs) changed on disk: %s",
                             diff_id, c->dir, hex, diff);
}
