/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "forgeone/layer-unpack.h"
#include "forgeone/oci-digest.h"
#include "image-util.h"

#define BUF_SIZE (128u * 1024)
#define PROGRESS_STEP (256u * 1024)
#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_META_PREFIX ".wh..wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"

typedef struct DirFixup {
        char *path; /* normalised, relative to the layer root; "" is the root */
        mode_t mode;
        uid_t uid;
        gid_t gid;
        struct timespec mtime;
        bool has_owner, has_mtime;
} DirFixup;

typedef struct Unpack {
        int blob_fd;
        const OciDescriptor *blob;
        OciHasher *blob_hasher;
        OciHasher *diff_hasher;
        struct archive *inner; /* raw format + decompression filter over blob_fd */
        struct archive *outer; /* tar over the inner's data */
        char *blob_buf, *tar_buf;
        bool blob_eof, inner_eof;
        uint64_t blob_bytes;
        size_t synthetic_left; /* zero bytes still to supply after the end of the tar stream */
        uint64_t data_end;     /* where the furthest file data ends in the tar stream */
        LayerUnpackLimits limits;
        int limit_error;       /* -EFBIG/-E2BIG once a limit was passed: nothing more is decompressed */
        int io_error;
        uint64_t last_progress;
        OciProgressFn progress;
        void *userdata;

        int root_fd;
        LayerUnpackFlags flags;
        bool as_root;
        const char *entry; /* current entry's name, for messages */
        DirFixup *fixups;
        size_t n_fixups;
        LayerUnpackStats stats;
        ForgeError *err;
} Unpack;

static void unpack_done(Unpack *u) {
        oci_hasher_free(u->blob_hasher);
        oci_hasher_free(u->diff_hasher);
        if (u->outer)
                archive_read_free(u->outer);
        if (u->inner)
                archive_read_free(u->inner);
        free(u->blob_buf);
        free(u->tar_buf);
        for (size_t i = 0; i < u->n_fixups; i++)
                free(u->fixups[i].path);
        free(u->fixups);
}

LayerUnpackLimits layer_unpack_limits_resolve(const LayerUnpackLimits *limits) {
        LayerUnpackLimits l = limits ? *limits : (LayerUnpackLimits) {};

        if (l.max_layer_bytes == 0)
                l.max_layer_bytes = LAYER_UNPACK_DEFAULT_MAX_LAYER_BYTES;
        if (l.max_image_bytes == 0)
                l.max_image_bytes = LAYER_UNPACK_DEFAULT_MAX_IMAGE_BYTES;
        if (l.max_entries == 0)
                l.max_entries = LAYER_UNPACK_DEFAULT_MAX_ENTRIES;
        return l;
}

/* ---- reading: blob fd -> (hash) -> decompress -> (hash) -> tar ---- */

static la_ssize_t blob_read_cb(struct archive *a, void *userdata, const void **ret_buf) {
        Unpack *u = userdata;
        ssize_t n;

        n = read(u->blob_fd, u->blob_buf, BUF_SIZE);
        if (n < 0) {
                u->io_error = negative_errno();
                archive_set_error(a, errno, "read of layer blob failed");
                return -1;
        }
        if (n == 0) {
                u->blob_eof = true;
                return 0;
        }
        u->blob_bytes += n;
        if (u->blob_hasher) {
                if (oci_hasher_update(u->blob_hasher, u->blob_buf, n) < 0) {
                        u->io_error = -EIO;
                        archive_set_error(a, EIO, "hashing failed");
                        return -1;
                }
                /* The size was checked at open; a file that grows under us is cut off here. */
                if (oci_hasher_bytes(u->blob_hasher) > u->blob->size) {
                        u->io_error = -EBADMSG;
                        archive_set_error(a, EBADMSG, "layer blob is longer than its descriptor says");
                        return -1;
                }
                if (u->progress && oci_hasher_bytes(u->blob_hasher) - u->last_progress >= PROGRESS_STEP) {
                        u->last_progress = oci_hasher_bytes(u->blob_hasher);
                        u->progress(OCI_PROGRESS_UNPACK, u->blob->digest, u->last_progress, u->blob->size,
                                    u->userdata);
                }
        }
        *ret_buf = u->blob_buf;
        return n;
}

static la_ssize_t tar_read_cb(struct archive *a, void *userdata, const void **ret_buf) {
        Unpack *u = userdata;
        la_ssize_t n;

        if (!u->inner_eof) {
                n = archive_read_data(u->inner, u->tar_buf, BUF_SIZE);
                if (n < 0) {
                        archive_set_error(a, archive_errno(u->inner) ?: EIO, "%s",
                                          archive_error_string(u->inner) ?: "decompression failed");
                        return -1;
                }
                if (n > 0) {
                        if ((uint64_t) n > u->limits.max_layer_bytes - u->stats.bytes) {
                                char limit[32];
                                u->limit_error = forge_error_set(
                                        u->err, -EFBIG,
                                        "%s: uncompressed layer exceeds the limit of %s per layer",
                                        u->blob ? u->blob->digest : "layer",
                                        image_format_size(u->limits.max_layer_bytes, limit));
                                archive_set_error(a, EFBIG, "uncompressed layer exceeds the limit");
                                return -1;
                        }
                        if (u->diff_hasher && oci_hasher_update(u->diff_hasher, u->tar_buf, n) < 0) {
                                archive_set_error(a, EIO, "hashing failed");
                                return -1;
                        }
                        u->stats.bytes += n;
                        *ret_buf = u->tar_buf;
                        return n;
                }
                u->inner_eof = true;
                /* Some writers (umoci 0.4 "insert") end the stream right after the last file's data,
                 * without its block padding and the end-of-archive blocks; Go's reader accepts that,
                 * libarchive does not. Supply the zeros up to the next block boundary, no more; they
                 * are never hashed (the diff_id covers exactly what the image has), and the caller
                 * checks that no file's data reached into them (Unpack.data_end). */
                u->synthetic_left = (512 - u->stats.bytes % 512) % 512;
        }
        if (u->synthetic_left == 0)
                return 0;
        n = MIN(u->synthetic_left, (size_t) BUF_SIZE);
        memset(u->tar_buf, 0, n);
        u->synthetic_left -= n;
        *ret_buf = u->tar_buf;
        return n;
}

/* Reads what the tar reader left (end-of-archive padding, compressor trailer) so the digests cover the
 * whole stream. When decompression itself failed, the rest of the blob is still hashed so that a
 * tampered blob is reported as such. Bounded by the blob's size (+1 to notice a longer file). */
static int drain(Unpack *u) {
        const void *p;
        bool inner_ok = true;

        /* Past a limit the rest is not decompressed (that is what the limit is for); the compressed blob,
         * bounded by its verified size, is still hashed below. */
        while (!u->inner_eof && !u->limit_error)
                if (tar_read_cb(u->outer, u, &p) < 0) {
                        inner_ok = false;
                        break;
                }
        while (!u->blob_eof) {
                ssize_t n;

                if (u->blob_hasher && oci_hasher_bytes(u->blob_hasher) > u->blob->size)
                        break;
                n = read(u->blob_fd, u->blob_buf, BUF_SIZE);
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        break;
                if (u->blob_hasher && oci_hasher_update(u->blob_hasher, u->blob_buf, n) < 0)
                        return -EIO;
        }
        return inner_ok ? 0 : -EBADMSG;
}

/* ---- paths ---- */

/* Normalises a tar path: drops "." components, leading "./" and duplicate or trailing slashes; refuses
 * absolute paths and "..". Returns "" for the root. */
static int path_normalize(const char *raw, char **ret, const char **ret_why) {
        _cleanup_free_ char *out = NULL;
        size_t len = 0;
        const char *p = raw;

        if (!raw || !*raw) {
                *ret_why = "empty path";
                return -EINVAL;
        }
        if (*raw == '/') {
                /* umoci writes the layer root as "/": it names no file outside, so it is the root entry.
                 * Every other absolute name is refused rather than silently re-rooted. */
                if (raw[strspn(raw, "/.")] == 0 && !strstr(raw, "..")) {
                        *ret = strdup("");
                        return *ret ? 0 : -ENOMEM;
                }
                *ret_why = "absolute path";
                return -EINVAL;
        }
        if (strlen(raw) >= PATH_MAX) {
                *ret_why = "path too long";
                return -ENAMETOOLONG;
        }

        out = malloc(strlen(raw) + 1);
        if (!out)
                return -ENOMEM;

        while (*p) {
                size_t n = strcspn(p, "/");

                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        *ret_why = "path contains \"..\"";
                        return -EINVAL;
                }
                if (n > 0 && !(n == 1 && p[0] == '.')) {
                        if (len > 0)
                                out[len++] = '/';
                        memcpy(out + len, p, n);
                        len += n;
                }
                p += n;
                while (*p == '/')
                        p++;
        }
        out[len] = 0;
        *ret = TAKE_PTR(out);
        return 0;
}

static bool is_whiteout_dev(int dir_fd, const char *name) {
        struct stat st;

        return fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode) &&
               st.st_rdev == 0;
}

/* Marks an opaque directory for both ways of mounting overlayfs (see layer-unpack.h); fails only if
 * neither namespace can be written. */
static int set_opaque(Unpack *u, int dir_fd) {
        bool trusted = false, user = false;
        int r = 0;

        if (u->as_root) {
                if (fsetxattr(dir_fd, "trusted.overlay.opaque", "y", 1, 0) >= 0)
                        trusted = true;
                else
                        r = negative_errno();
        }
        if (fsetxattr(dir_fd, "user.overlay.opaque", "y", 1, 0) >= 0)
                user = true;
        else if (r == 0)
                r = negative_errno();

        if (!trusted && !user)
                return r;
        u->stats.opaque_trusted = u->stats.opaque_trusted && trusted;
        u->stats.opaque_user = u->stats.opaque_user && user;
        return 0;
}

/*
 * Opens directory `path` below the root, one component at a time with O_NOFOLLOW, so that no
 * symlink (whatever it points to) is ever traversed. Missing components are created if `create`.
 */
static int open_dir_beneath(Unpack *u, const char *path, bool create, const char **ret_why, char **ret_bad) {
        _cleanup_close_ int fd = -EBADF;
        const char *p = path;

        fd = fcntl(u->root_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return negative_errno();

        while (*p) {
                size_t n = strcspn(p, "/");
                _cleanup_free_ char *comp = strndup(p, n);
                int nfd;

                if (!comp)
                        return -ENOMEM;

                nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (nfd < 0 && errno == ENOTDIR && create && is_whiteout_dev(fd, comp)) {
                        /* ".wh.x" then "x/...": a new directory replacing a deleted one hides the old
                         * contents, which is what an opaque directory means. */
                        if (unlinkat(fd, comp, 0) < 0 || mkdirat(fd, comp, 0700) < 0)
                                return negative_errno();
                        nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (nfd >= 0 && set_opaque(u, nfd) < 0) {
                                safe_close(nfd);
                                return negative_errno();
                        }
                        u->stats.opaque_dirs++;
                } else if (nfd < 0 && errno == ENOENT && create) {
                        if (mkdirat(fd, comp, 0700) < 0 && errno != EEXIST)
                                return negative_errno();
                        nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                }
                if (nfd < 0) {
                        int e = negative_errno();
                        struct stat st;

                        *ret_bad = strndup(path, p + n - path);
                        if (fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
                                *ret_why = "is a symlink; refusing to write through it";
                                return -ELOOP;
                        }
                        *ret_why = e == -ENOTDIR  ? "is not a directory"
                                   : e == -ENOENT ? "does not exist"
                                                  : NULL;
                        return e;
                }
                safe_close(fd);
                fd = nfd;
                p += n;
                while (*p == '/')
                        p++;
        }
        return TAKE_FD(fd);
}

/* Splits "a/b/c" into parent "a/b" and name "c" (parent "" for "c"). */
static int path_split(const char *path, char **ret_parent, const char **ret_name) {
        const char *slash = strrchr(path, '/');

        *ret_parent = slash ? strndup(path, slash - path) : strdup("");
        if (!*ret_parent)
                return -ENOMEM;
        *ret_name = slash ? slash + 1 : path;
        return 0;
}

/* "entry "NAME": CONTEXT: DETAIL" where DETAIL defaults to the errno text. */
static int entry_error_kind(Unpack *u, ForgeErrorKind kind, int r, const char *context, const char *detail) {
        if (r >= 0)
                r = -EIO;
        return forge_error_set_kind(u->err, kind, r, "entry \"%s\": %s%s%s", u->entry, strempty(context),
                                    context ? ": " : "", detail ?: strerror(-r));
}

/* A call on the entry failed. */
static int entry_error(Unpack *u, int r, const char *context, const char *detail) {
        return entry_error_kind(u, FORGE_ERROR_SYSTEM, r, context, detail);
}

/* The entry itself is refused: it leaves the layer, is corrupt, or is of a kind a layer must not carry. */
static int entry_invalid(Unpack *u, int r, const char *detail) {
        return entry_error_kind(u, FORGE_ERROR_IMAGE_INVALID, r, NULL, detail);
}

static int open_parent(Unpack *u, const char *path, bool create, char **ret_parent_path,
                       const char **ret_name) {
        _cleanup_free_ char *parent = NULL, *bad = NULL;
        const char *why = NULL;
        int r, fd;

        r = path_split(path, &parent, ret_name);
        if (r < 0)
                return r;
        fd = open_dir_beneath(u, parent, create, &why, &bad);
        if (fd < 0) {
                char detail[PATH_MAX + 128];

                snprintf(detail, sizeof detail, "parent \"%s\" %s", strempty(bad), why ?: strerror(-fd));
                return why ? entry_invalid(u, fd, detail) : entry_error(u, fd, NULL, detail);
        }
        if (ret_parent_path)
                *ret_parent_path = TAKE_PTR(parent);
        return fd;
}

/* Makes room for a new non-directory entry: a later tar entry replaces an earlier one. */
static int remove_existing(Unpack *u, int dir_fd, const char *name) {
        struct stat st;

        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : entry_error(u, negative_errno(), NULL, NULL);
        if (S_ISDIR(st.st_mode)) {
                if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0)
                        return entry_error(u, negative_errno(), NULL,
                                           "replaces a non-empty directory of the same layer");
                return 0;
        }
        if (unlinkat(dir_fd, name, 0) < 0)
                return entry_error(u, negative_errno(), "cannot replace earlier entry", NULL);
        return 0;
}

static int add_fixup(Unpack *u, const char *path, struct archive_entry *e) {
        DirFixup *f, *n;

        n = reallocarray(u->fixups, u->n_fixups + 1, sizeof *u->fixups);
        if (!n)
                return -ENOMEM;
        u->fixups = n;
        f = &u->fixups[u->n_fixups];
        *f = (DirFixup) {
                .path = strdup(path),
                .mode = archive_entry_perm(e) & 07777,
                .uid = archive_entry_uid(e),
                .gid = archive_entry_gid(e),
                .has_owner = true,
                .has_mtime = archive_entry_mtime_is_set(e),
                .mtime = { archive_entry_mtime(e), archive_entry_mtime_nsec(e) },
        };
        if (!f->path)
                return -ENOMEM;
        u->n_fixups++;
        return 0;
}

/* Extended attributes from PAX headers: only the ones that cannot change how the kernel or overlayfs
 * treat the file, or whose meaning is the image's own (file capabilities, as root only). */
static int apply_xattrs(Unpack *u, int fd, struct archive_entry *e) {
        const char *name;
        const void *value;
        size_t size;

        archive_entry_xattr_reset(e);
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
                bool ok = strncmp(name, "user.", 5) == 0 ? strncmp(name, "user.overlay.", 13) != 0
                                                         : u->as_root && streq(name, "security.capability");
                if (!ok)
                        continue;
                if (fsetxattr(fd, name, value, size, 0) < 0 && errno != ENOTSUP)
                        return entry_error(u, negative_errno(), "cannot set xattr", NULL);
        }
        return 0;
}

static int write_data(Unpack *u, int fd, struct archive_entry *e) {
        const void *buf;
        size_t size;
        la_int64_t offset;
        int r;

        for (;;) {
                r = archive_read_data_block(u->outer, &buf, &size, &offset);
                if (r == ARCHIVE_EOF)
                        break;
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                        return entry_error_kind(u, FORGE_ERROR_IMAGE_INVALID, -EBADMSG, "cannot read data",
                                                archive_error_string(u->outer));
                for (size_t done = 0; done < size;) {
                        ssize_t n = pwrite(fd, (const char *) buf + done, size - done, offset + done);
                        if (n < 0)
                                return entry_error(u, negative_errno(), "write failed", NULL);
                        done += n;
                }
        }
        /* Sparse files end in a hole that no data block covers. */
        if (archive_entry_size_is_set(e) && ftruncate(fd, archive_entry_size(e)) < 0)
                return entry_error(u, negative_errno(), "truncate failed", NULL);
        return 0;
}

static int apply_owner_mode_time(Unpack *u, int dir_fd, const char *name, int fd, struct archive_entry *e,
                                 bool is_link) {
        struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };

        if (u->as_root) {
                int r = fd >= 0 ? fchown(fd, archive_entry_uid(e), archive_entry_gid(e))
                                : fchownat(dir_fd, name, archive_entry_uid(e), archive_entry_gid(e),
                                           AT_SYMLINK_NOFOLLOW);
                if (r < 0)
                        return entry_error(u, negative_errno(), "chown failed", NULL);
        }
        /* After chown, which clears set-id bits. */
        if (!is_link) {
                int r = fd >= 0 ? fchmod(fd, archive_entry_perm(e) & 07777)
                                : fchmodat(dir_fd, name, archive_entry_perm(e) & 07777, 0);
                if (r < 0)
                        return entry_error(u, negative_errno(), "chmod failed", NULL);
        }
        if (archive_entry_mtime_is_set(e)) {
                ts[1] = (struct timespec) { archive_entry_mtime(e), archive_entry_mtime_nsec(e) };
                ts[0] = ts[1];
                if (fd >= 0 ? futimens(fd, ts) < 0 : utimensat(dir_fd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                        return entry_error(u, negative_errno(), "setting times failed", NULL);
        }
        return 0;
}

static int extract_whiteout(Unpack *u, int dir_fd, const char *name) {
        const char *target = name + strlen(WHITEOUT_PREFIX);
        struct stat st;

        if (streq(name, WHITEOUT_OPAQUE)) {
                int r = set_opaque(u, dir_fd);
                if (r < 0)
                        return entry_error(u, r, "cannot mark directory opaque", NULL);
                u->stats.opaque_dirs++;
                return 0;
        }
        if (strncmp(name, WHITEOUT_META_PREFIX, strlen(WHITEOUT_META_PREFIX)) == 0)
                return 0; /* aufs bookkeeping (.wh..wh.plnk etc.), meaningless here */
        if (!*target || streq(target, ".") || streq(target, ".."))
                return entry_invalid(u, -EINVAL, "invalid whiteout name");

        /* An entry of this same layer already hides the lower one. */
        if (fstatat(dir_fd, target, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return 0;
        if (mknodat(dir_fd, target, S_IFCHR | 0000, makedev(0, 0)) < 0)
                return entry_error(u, negative_errno(), "cannot create whiteout", NULL);
        u->stats.whiteouts++;
        return 0;
}

static int extract_entry(Unpack *u, struct archive_entry *e) {
        _cleanup_free_ char *path = NULL, *parent_path = NULL;
        _cleanup_close_ int dir_fd = -EBADF, fd = -EBADF;
        const char *why = NULL, *name, *hardlink;
        mode_t type = archive_entry_filetype(e);
        int r;

        u->entry = archive_entry_pathname(e) ?: "(unnamed)";
        r = path_normalize(archive_entry_pathname(e), &path, &why);
        if (r < 0)
                return why ? entry_invalid(u, r, why) : entry_error(u, r, NULL, NULL);

        if (streq(path, "")) {
                /* The layer root itself ("./"): only its metadata matters. */
                if (type != AE_IFDIR)
                        return entry_invalid(u, -EINVAL, "layer root is not a directory");
                return add_fixup(u, "", e);
        }

        dir_fd = open_parent(u, path, true, &parent_path, &name);
        if (dir_fd < 0)
                return dir_fd;

        if (strncmp(name, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0)
                return extract_whiteout(u, dir_fd, name);

        hardlink = archive_entry_hardlink(e);
        if (hardlink) {
                _cleanup_free_ char *target = NULL;
                _cleanup_close_ int target_dir = -EBADF;
                const char *target_name;
                char detail[PATH_MAX + 64];
                struct stat st;

                r = path_normalize(hardlink, &target, &why);
                if (r < 0) {
                        snprintf(detail, sizeof detail, "hardlink target \"%s\" is outside the layer (%s)",
                                 hardlink, why);
                        return entry_invalid(u, -EXDEV, detail);
                }
                target_dir = open_parent(u, target, false, NULL, &target_name);
                if (target_dir < 0)
                        return forge_error_prefix(u->err, target_dir, "hardlink target \"%s\": ", hardlink);
                if (fstatat(target_dir, target_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode) ||
                    (S_ISCHR(st.st_mode) && st.st_rdev == 0)) {
                        snprintf(detail, sizeof detail,
                                 "hardlink target \"%s\" is not an earlier file of this layer", hardlink);
                        return entry_invalid(u, -EXDEV, detail);
                }
                r = remove_existing(u, dir_fd, name);
                if (r < 0)
                        return r;
                if (linkat(target_dir, target_name, dir_fd, name, 0) < 0)
                        return entry_error(u, negative_errno(), "hardlink failed", NULL);
                return 0;
        }

        switch (type) {

        case AE_IFDIR: {
                struct stat st;

                if (mkdirat(dir_fd, name, 0700) < 0) {
                        if (errno != EEXIST)
                                return entry_error(u, negative_errno(), "mkdir failed", NULL);
                        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                                return entry_error(u, negative_errno(), NULL, NULL);
                        if (!S_ISDIR(st.st_mode)) {
                                bool was_whiteout = S_ISCHR(st.st_mode) && st.st_rdev == 0;

                                if (unlinkat(dir_fd, name, 0) < 0 || mkdirat(dir_fd, name, 0700) < 0)
                                        return entry_error(u, negative_errno(), NULL, NULL);
                                if (was_whiteout) {
                                        _cleanup_close_ int d =
                                                openat(dir_fd, name,
                                                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                                        if (d < 0 || set_opaque(u, d) < 0)
                                                return entry_error(u, negative_errno(), NULL, NULL);
                                        u->stats.opaque_dirs++;
                                }
                        }
                }
                return add_fixup(u, path, e);
        }

        case AE_IFREG:
                r = remove_existing(u, dir_fd, name);
                if (r < 0)
                        return r;
                fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0)
                        return entry_error(u, negative_errno(), "create failed", NULL);
                r = write_data(u, fd, e);
                if (r < 0)
                        return r;
                r = apply_xattrs(u, fd, e);
                if (r < 0)
                        return r;
                return apply_owner_mode_time(u, dir_fd, name, fd, e, false);

        case AE_IFLNK: {
                const char *target = archive_entry_symlink(e);

                if (!target || !*target)
                        return entry_invalid(u, -EINVAL, "symlink without a target");
                r = remove_existing(u, dir_fd, name);
                if (r < 0)
                        return r;
                /* Stored verbatim: it is only ever resolved inside the container's root. */
                if (symlinkat(target, dir_fd, name) < 0)
                        return entry_error(u, negative_errno(), "symlink failed", NULL);
                return apply_owner_mode_time(u, dir_fd, name, -EBADF, e, true);
        }

        case AE_IFCHR:
        case AE_IFBLK: {
                char detail[128];

                if (type == AE_IFCHR && archive_entry_rdev(e) == 0)
                        return entry_invalid(
                                u, -EPERM,
                                "char device 0:0 is an overlay whiteout; layers must use .wh. files");
                if (!(u->flags & LAYER_UNPACK_ALLOW_DEVICES)) {
                        snprintf(detail, sizeof detail, "device node (%s %u:%u) not allowed",
                                 type == AE_IFCHR ? "char" : "block", (unsigned) archive_entry_rdevmajor(e),
                                 (unsigned) archive_entry_rdevminor(e));
                        return entry_invalid(u, -EPERM, detail);
                }
                r = remove_existing(u, dir_fd, name);
                if (r < 0)
                        return r;
                if (mknodat(dir_fd, name, type | (archive_entry_perm(e) & 07777), archive_entry_rdev(e)) < 0)
                        return entry_error(u, negative_errno(), "mknod failed", NULL);
                return apply_owner_mode_time(u, dir_fd, name, -EBADF, e, false);
        }

        case AE_IFIFO:
                r = remove_existing(u, dir_fd, name);
                if (r < 0)
                        return r;
                if (mknodat(dir_fd, name, S_IFIFO | (archive_entry_perm(e) & 07777), 0) < 0)
                        return entry_error(u, negative_errno(), "mkfifo failed", NULL);
                return apply_owner_mode_time(u, dir_fd, name, -EBADF, e, false);

        default:
                return entry_invalid(u, -EOPNOTSUPP, "unsupported file type");
        }
}

static int apply_fixups(Unpack *u) {
        for (size_t i = 0; i < u->n_fixups; i++) {
                DirFixup *f = &u->fixups[i];
                _cleanup_free_ char *bad = NULL;
                _cleanup_close_ int fd = -EBADF;
                const char *why = NULL;

                fd = open_dir_beneath(u, f->path, false, &why, &bad);
                if (fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP)
                        continue; /* replaced by a later entry */
                if (fd < 0)
                        return forge_error_set(u->err, fd, "directory \"%s\": %s", f->path,
                                               why ?: strerror(-fd));
                if (u->as_root && f->has_owner && fchown(fd, f->uid, f->gid) < 0)
                        return forge_error_set(u->err, negative_errno(), "directory \"%s\": chown: %m",
                                               f->path);
                if (fchmod(fd, f->mode) < 0)
                        return forge_error_set(u->err, negative_errno(), "directory \"%s\": chmod: %m",
                                               f->path);
                if (f->has_mtime) {
                        struct timespec ts[2] = { f->mtime, f->mtime };
                        if (futimens(fd, ts) < 0)
                                return forge_error_set(u->err, negative_errno(),
                                                       "directory \"%s\": utimes: %m", f->path);
                }
        }
        return 0;
}

/* Directories created implicitly (no entry of their own) get the conventional 0755. */
static int fix_implicit_dirs(int dir_fd, unsigned depth) {
        _cleanup_close_ int fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (fd < 0)
                return negative_errno();
        if (depth > 256)
                return -ELOOP;
        d = fdopendir(fd);
        if (!d)
                return negative_errno();
        TAKE_FD(fd);
        while ((de = readdir(d))) {
                struct stat st;
                _cleanup_close_ int sub = -EBADF;

                if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0 || fstat(sub, &st) < 0) {
                        r = negative_errno();
                        break;
                }
                if ((st.st_mode & 07777) == 0700 && fchmod(sub, 0755) < 0) {
                        r = negative_errno();
                        break;
                }
                r = fix_implicit_dirs(sub, depth + 1);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

int layer_unpack(int blob_fd, const OciDescriptor *blob, OciCompression compression, const char *diff_id,
                 int dest_fd, LayerUnpackFlags flags, const LayerUnpackLimits *limits,
                 OciProgressFn progress, void *userdata, LayerUnpackStats *ret_stats, ForgeError *err) {
        _cleanup_(unpack_done) Unpack u = {
                .blob_fd = blob_fd,
                .blob = blob,
                .root_fd = dest_fd,
                .flags = flags,
                .limits = layer_unpack_limits_resolve(limits),
                .as_root = geteuid() == 0,
                .progress = progress,
                .userdata = userdata,
                .err = err,
        };
        struct archive_entry *e;
        char actual[OCI_DIGEST_STRING_MAX];
        const char *what = blob ? blob->digest : "layer";
        int r, r2, alg, filter = ARCHIVE_FILTER_NONE;

        u.stats.ownership_preserved = u.as_root;
        u.stats.opaque_trusted = u.stats.opaque_user = true;

        if (blob) {
                alg = oci_digest_parse(blob->digest, NULL, err);
                if (alg < 0)
                        return alg;
                r = oci_hasher_new(alg, &u.blob_hasher);
                if (r < 0)
                        return r;
        }
        if (diff_id) {
                alg = oci_digest_parse(diff_id, NULL, err);
                if (alg < 0)
                        return forge_error_prefix(err, alg, "diff_id: ");
                r = oci_hasher_new(alg, &u.diff_hasher);
                if (r < 0)
                        return r;
        }

        u.blob_buf = malloc(BUF_SIZE);
        u.tar_buf = malloc(BUF_SIZE);
        u.inner = archive_read_new();
        u.outer = archive_read_new();
        if (!u.blob_buf || !u.tar_buf || !u.inner || !u.outer)
                return -ENOMEM;

        archive_read_support_format_raw(u.inner);
        switch (compression) {
        case OCI_COMPRESSION_NONE:
                break;
        case OCI_COMPRESSION_GZIP:
                archive_read_support_filter_gzip(u.inner);
                filter = ARCHIVE_FILTER_GZIP;
                break;
        case OCI_COMPRESSION_ZSTD:
                if (archive_read_support_filter_zstd(u.inner) != ARCHIVE_OK)
                        return forge_error_set(err, -EOPNOTSUPP, "%s: this libarchive cannot read zstd",
                                               what);
                filter = ARCHIVE_FILTER_ZSTD;
                break;
        default:
                return forge_error_set(err, -EINVAL, "%s: unknown compression", what);
        }

        if (archive_read_open(u.inner, &u, NULL, blob_read_cb, NULL) != ARCHIVE_OK ||
            archive_read_next_header(u.inner, &e) != ARCHIVE_OK) {
                /* A zero-byte uncompressed layer is an empty tar stream to Go's reader (and so to the
                 * tools that write such layers); the digests below still have to match. */
                if (compression == OCI_COMPRESSION_NONE && u.blob_eof && u.blob_bytes == 0 && !u.io_error) {
                        r = 0;
                        u.inner_eof = true;
                        goto check_digest;
                }
                r = u.io_error ?: -EBADMSG;
                goto check_digest;
        }
        if (archive_filter_code(u.inner, 0) != filter) {
                r = image_invalid(err, -EBADMSG, "%s: media type says %s compression, the blob is %s", what,
                                  oci_compression_to_string(compression),
                                  archive_filter_name(u.inner, 0) ?: "something else");
                goto check_digest;
        }

        archive_read_support_format_tar(u.outer);
        if (archive_read_open(u.outer, &u, NULL, tar_read_cb, NULL) != ARCHIVE_OK) {
                r = image_invalid(err, -EBADMSG, "%s: not a tar archive: %s", what,
                                  archive_error_string(u.outer) ?: "unknown error");
                goto check_digest;
        }

        for (;;) {
                r = archive_read_next_header(u.outer, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
                        if (u.limit_error) {
                                r = u.limit_error;
                                goto check_digest;
                        }
                        r = image_invalid(err, -EBADMSG,
                                          "%s: corrupt tar stream after %" PRIu64 " entries: %s", what,
                                          u.stats.entries, archive_error_string(u.outer) ?: "unknown");
                        goto check_digest;
                }
                u.stats.entries++;
                if (u.stats.entries > u.limits.max_entries) {
                        r = forge_error_set(err, -E2BIG,
                                            "%s: layer has more than %" PRIu64
                                            " entries, the limit per layer",
                                            what, u.limits.max_entries);
                        u.limit_error = r;
                        goto check_digest;
                }
                /* A header whose data would end past the limit is refused before any of it is written (the
                 * stream count would stop it later, after writing up to the limit). The tar reader's
                 * position is where the data starts. */
                uint64_t pos = MIN((uint64_t) archive_filter_bytes(u.outer, 0), u.limits.max_layer_bytes);
                if (archive_entry_size(e) > 0 &&
                    (uint64_t) archive_entry_size(e) > u.limits.max_layer_bytes - pos) {
                        char limit[32];
                        r = forge_error_set(err, -EFBIG,
                                            "%s: entry \"%s\" declares %" PRIi64
                                            " bytes: the layer would exceed the limit of %s per layer",
                                            what, archive_entry_pathname(e) ?: "?",
                                            (int64_t) archive_entry_size(e),
                                            image_format_size(u.limits.max_layer_bytes, limit));
                        u.limit_error = r;
                        goto check_digest;
                }
                if (archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e) &&
                    archive_entry_sparse_count(e) == 0 && archive_entry_size(e) > 0)
                        u.data_end = MAX(u.data_end, (uint64_t) archive_filter_bytes(u.outer, 0) +
                                                             (uint64_t) archive_entry_size(e));
                r = extract_entry(&u, e);
                if (r < 0) {
                        if (u.limit_error)
                                r = u.limit_error; /* the message names the layer already */
                        else
                                forge_error_prefix(err, r, "%s: ", what);
                        goto check_digest;
                }
        }

        if (u.data_end > u.stats.bytes) {
                r = image_invalid(err, -EBADMSG,
                                  "%s: tar stream is truncated: file data reaches byte %" PRIu64
                                  " but the stream has %" PRIu64,
                                  what, u.data_end, u.stats.bytes);
                goto check_digest;
        }
        r = 0;

check_digest:
        if (r < 0 && u.limit_error)
                r = u.limit_error;
        /* Even when extraction failed, a tampered blob is the better explanation: report it instead. */
        r2 = drain(&u);
        if (r >= 0 && r2 < 0)
                r = r2;
        if (r < 0 && !forge_error_isset(err))
                forge_error_set(err, r, "%s: cannot decompress or read the layer: %s", what,
                                archive_error_string(u.inner) ?: strerror(-r));
        if (u.blob_hasher) {
                if (oci_hasher_bytes(u.blob_hasher) != blob->size) {
                        forge_error_clear(err);
                        return image_invalid(err, -EBADMSG,
                                             "blob %s: size mismatch: descriptor says %" PRIu64
                                             " bytes, read %" PRIu64,
                                             what, blob->size, oci_hasher_bytes(u.blob_hasher));
                }
                if (oci_hasher_finish(u.blob_hasher, actual) < 0)
                        return forge_error_set(err, -EIO, "%s: hashing failed", what);
                if (!streq(actual, blob->digest)) {
                        forge_error_clear(err);
                        return image_invalid(err, -EBADMSG,
                                             "layer blob: digest mismatch: expected %s, actual %s",
                                             blob->digest, actual);
                }
        }
        if (r < 0)
                return r;
        if (u.diff_hasher) {
                if (oci_hasher_finish(u.diff_hasher, actual) < 0)
                        return forge_error_set(err, -EIO, "%s: hashing failed", what);
                if (!streq(actual, diff_id))
                        return forge_error_set(
                                err, -EBADMSG,
                                "%s: uncompressed layer does not match the config's diff_id: expected "
                                "%s, actual %s",
                                what, diff_id, actual);
        }

        r = fix_implicit_dirs(dest_fd, 0);
        if (r < 0)
                return forge_error_set(err, r, "%s: setting directory modes failed: %s", what, strerror(-r));
        r = apply_fixups(&u);
        if (r < 0)
                return forge_error_prefix(err, r, "%s: ", what);

        if (progress && blob)
                progress(OCI_PROGRESS_UNPACK, blob->digest, blob->size, blob->size, userdata);
        if (ret_stats)
                *ret_stats = u.stats;
        return 0;
}
