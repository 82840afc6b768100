/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "forgeone/fs-util.h"
#include "forgeone/rootfs.h"
#include "forgeone/string-table.h"
#include "image-util.h"

#define COPY_BUF (128u * 1024)

/* What a rootfs puts into its state directory, and all that teardown removes. */
static const char *const state_parts[] = { "rootfs", "upper", "work" };

static const char *const rootfs_kind_table[_ROOTFS_KIND_MAX] = {
        [ROOTFS_OVERLAY] = "overlay",
        [ROOTFS_COPY] = "copy",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(rootfs_kind, RootfsKind)

Rootfs *rootfs_free(Rootfs *r) {
        if (!r)
                return NULL;
        free(r->state_dir);
        free(r->path);
        free(r->fallback_reason);
        free(r);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

/* How a lower layer marks its opaque directories, from its layer.json next to the tree (layer cache
 * entries have one; other directories are taken as they are). */
typedef struct LowerInfo {
        bool known;
        bool has_opaque;
        bool trusted, user;
} LowerInfo;

static int lower_info(const char *lower, LowerInfo *ret) {
        _cleanup_free_ char *meta = NULL;
        _cleanup_(json_object_putp) json_object *j = NULL;
        json_object *v, *n;
        const char *x;

        *ret = (LowerInfo) { .trusted = true, .user = true };
        if (asprintf(&meta, "%s/../layer.json", lower) < 0)
                return -ENOMEM;
        j = json_object_from_file(meta);
        if (!j || !json_object_object_get_ex(j, "opaque_xattr", &v))
                return 0;
        x = json_object_get_string(v);
        ret->known = true;
        /* Entries written before "opaque_dirs" existed are assumed to have some. */
        ret->has_opaque = !json_object_object_get_ex(j, "opaque_dirs", &n) || json_object_get_int64(n) > 0;
        ret->trusted = streq_ptr(x, "trusted") || streq_ptr(x, "both");
        ret->user = streq_ptr(x, "user") || streq_ptr(x, "both");
        return 0;
}

/* trusted.* xattrs are only visible to overlayfs mounted from the initial user namespace. */
static bool in_initial_userns(void) {
        unsigned long a, b, c;
        FILE *f = fopen("/proc/self/uid_map", "re");
        bool init;

        if (!f)
                return true;
        init = fscanf(f, "%lu %lu %lu", &a, &b, &c) == 3 && a == 0 && b == 0 && c == 4294967295UL;
        fclose(f);
        return init;
}

/*
 * Decides how the lowers' opaque dirs can be honoured: sets *ret_userxattr for overlayfs, or returns
 * -EOPNOTSUPP (err says why) when overlayfs cannot show them but a copy can, or -EPERM when nothing we
 * can do here would: a wrong merged view is never produced silently.
 */
static int opaque_mode(char *const *lowers, size_t n, bool *ret_userxattr, ForgeError *err) {
        bool all_trusted = true, all_user = true, init = in_initial_userns();

        for (size_t i = 0; i < n; i++) {
                LowerInfo li;
                int r = lower_info(lowers[i], &li);

                if (r < 0)
                        return r;
                if (!li.known || !li.has_opaque)
                        continue;
                if (!init && !li.user)
                        return forge_error_set(
                                err, -EPERM,
                                "layer %s marks its opaque directories only with "
                                "trusted.overlay.opaque, which cannot be read inside a user "
                                "namespace; remove it from the layer cache and unpack it again",
                                lowers[i]);
                all_trusted = all_trusted && li.trusted;
                all_user = all_user && li.user;
        }
        if (!init || !all_trusted) {
                if (!all_user)
                        return forge_error_set(
                                err, -EOPNOTSUPP,
                                "layers mark opaque directories in different xattr namespaces "
                                "(trusted. and user.), which one overlay mount cannot read "
                                "together");
                *ret_userxattr = true;
                return 0;
        }
        *ret_userxattr = false;
        return 0;
}

/* Reads the messages overlayfs left in the fs context, for the error text. */
static void fs_context_messages(int fd, char *buf, size_t size) {
        size_t len = 0;

        buf[0] = 0;
        for (;;) {
                char line[512];
                ssize_t n = read(fd, line, sizeof line - 1);

                if (n <= 0)
                        break;
                line[n] = 0;
                len += snprintf(buf + len, size - len, "%s%s", len ? "; " : "", line);
                if (len >= size)
                        break;
        }
}

static int mount_overlay(char *const *lowers, size_t n, const char *upper, const char *work,
                         const char *target, bool userxattr, ForgeError *err) {
        _cleanup_close_ int fs_fd = -EBADF, mnt_fd = -EBADF;
        char msgs[512];

        fs_fd = fsopen("overlay", FSOPEN_CLOEXEC);
        if (fs_fd < 0)
                return forge_error_set(err, negative_errno(), "fsopen(overlay): %m");
        /* lowerdir+ (Linux 6.8) takes one path per call: no escaping, no page-size limit on the list. */
        for (size_t i = n; i > 0; i--)
                if (fsconfig(fs_fd, FSCONFIG_SET_STRING, "lowerdir+", lowers[i - 1], 0) < 0) {
                        int e = negative_errno();
                        fs_context_messages(fs_fd, msgs, sizeof msgs);
                        return forge_error_set(err, e, "overlay lower %s: %m%s%s", lowers[i - 1],
                                               msgs[0] ? ": " : "", msgs);
                }
        if (fsconfig(fs_fd, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
            fsconfig(fs_fd, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
            (userxattr && fsconfig(fs_fd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0) ||
            /* The upper dir dies with the container, so it need not survive a crash: skipping the syncs
             * makes unmounting cheap (a sync of the whole upper file system otherwise). */
            (fsconfig(fs_fd, FSCONFIG_SET_FLAG, "volatile", NULL, 0) < 0 && errno != EINVAL) ||
            fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
                int e = negative_errno();
                fs_context_messages(fs_fd, msgs, sizeof msgs);
                return forge_error_set(err, e, "overlay mount: %m%s%s", msgs[0] ? ": " : "", msgs);
        }
        mnt_fd = fsmount(fs_fd, FSMOUNT_CLOEXEC, 0);
        if (mnt_fd < 0)
                return forge_error_set(err, negative_errno(), "fsmount(overlay): %m");
        if (move_mount(mnt_fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return forge_error_set(err, negative_errno(), "move_mount to %s: %m", target);
        return 0;
}

/* ---- copy fallback: flatten the layers, applying whiteouts and opaque dirs ---- */

static bool is_opaque(int dir_fd) {
        char v[4];
        ssize_t n;

        n = fgetxattr(dir_fd, "trusted.overlay.opaque", v, sizeof v);
        if (n == 1 && v[0] == 'y')
                return true;
        n = fgetxattr(dir_fd, "user.overlay.opaque", v, sizeof v);
        return n == 1 && v[0] == 'y';
}

static int copy_meta(int dst_dir, const char *name, int fd, const struct stat *st, bool preserve_owner) {
        struct timespec ts[2] = { st->st_atim, st->st_mtim };
        bool link = S_ISLNK(st->st_mode);

        if (preserve_owner &&
            (fd >= 0 ? fchown(fd, st->st_uid, st->st_gid)
                     : fchownat(dst_dir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW)) < 0)
                return negative_errno();
        if (!link && (fd >= 0 ? fchmod(fd, st->st_mode & 07777)
                              : fchmodat(dst_dir, name, st->st_mode & 07777, 0)) < 0)
                return negative_errno();
        if ((fd >= 0 ? futimens(fd, ts) : utimensat(dst_dir, name, ts, AT_SYMLINK_NOFOLLOW)) < 0)
                return negative_errno();
        return 0;
}

static int copy_file(int src_dir, int dst_dir, const char *name, const struct stat *st,
                     bool preserve_owner) {
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        _cleanup_free_ char *buf = NULL;

        in = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0)
                return negative_errno();
        out = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
                return negative_errno();

        /* A reflink costs nothing where the file system can share extents. */
        if (ioctl(out, FICLONE, in) < 0) {
                off_t left = st->st_size;

                while (left > 0) {
                        ssize_t n = copy_file_range(in, NULL, out, NULL, left, 0);
                        if (n < 0 &&
                            (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS))
                                break;
                        if (n < 0)
                                return negative_errno();
                        if (n == 0)
                                break;
                        left -= n;
                }
                if (left > 0) {
                        buf = malloc(COPY_BUF);
                        if (!buf)
                                return -ENOMEM;
                        for (;;) {
                                ssize_t n = read(in, buf, COPY_BUF);
                                if (n < 0)
                                        return negative_errno();
                                if (n == 0)
                                        break;
                                for (ssize_t done = 0; done < n;) {
                                        ssize_t w = write(out, buf + done, n - done);
                                        if (w < 0)
                                                return negative_errno();
                                        done += w;
                                }
                        }
                }
        }
        return copy_meta(dst_dir, name, out, st, preserve_owner);
}

/* Hardlinked files of one layer stay hardlinked in the copy: remembered by the first copy's directory fd
 * (so no path is walked again) and name, for up to LINKS_MAX inodes; past that, separate copies. */
#define LINKS_MAX 256

typedef struct CopyLink {
        dev_t dev;
        ino_t ino;
        int dir_fd;
        char *name;
} CopyLink;

typedef struct CopyCtx {
        bool preserve_owner;
        ForgeError *err;
        CopyLink links[LINKS_MAX];
        size_t n_links;
} CopyCtx;

static void copy_links_done(CopyCtx *ctx) {
        for (size_t i = 0; i < ctx->n_links; i++) {
                safe_close(ctx->links[i].dir_fd);
                free(ctx->links[i].name);
        }
        ctx->n_links = 0;
}

static bool link_known(CopyCtx *ctx, const struct stat *st, int dst, const char *name, int *ret) {
        for (size_t i = 0; i < ctx->n_links; i++) {
                CopyLink *l = &ctx->links[i];

                if (l->dev != st->st_dev || l->ino != st->st_ino)
                        continue;
                *ret = linkat(l->dir_fd, l->name, dst, name, 0) < 0 ? negative_errno() : 0;
                return true;
        }
        return false;
}

static void link_remember(CopyCtx *ctx, const struct stat *st, int dst, const char *name) {
        CopyLink *l;

        if (ctx->n_links >= LINKS_MAX)
                return;
        l = &ctx->links[ctx->n_links];
        l->dir_fd = fcntl(dst, F_DUPFD_CLOEXEC, 3);
        l->name = strdup(name);
        if (l->dir_fd < 0 || !l->name) {
                safe_close(l->dir_fd);
                free(l->name);
                return;
        }
        l->dev = st->st_dev;
        l->ino = st->st_ino;
        ctx->n_links++;
}

static int copy_tree(CopyCtx *ctx, int src, int dst, unsigned depth, const char *rel);

static int copy_entry(CopyCtx *ctx, int src, int dst, const char *name, unsigned depth, const char *rel) {
        bool preserve_owner = ctx->preserve_owner;
        _cleanup_free_ char *path = NULL;
        struct stat st, dst_st;
        bool exists;
        int r;

        if (asprintf(&path, "%s%s%s", rel, *rel ? "/" : "", name) < 0)
                return -ENOMEM;

        if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                goto fail_errno;
        exists = fstatat(dst, name, &dst_st, AT_SYMLINK_NOFOLLOW) == 0;

        if (S_ISCHR(st.st_mode) && st.st_rdev == 0) {
                /* Whiteout: the name is gone from the merged view. */
                r = image_rm_rf_at(dst, name);
                if (r < 0)
                        goto fail;
                return 0;
        }

        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int sfd = -EBADF, dfd = -EBADF;

                sfd = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sfd < 0)
                        goto fail_errno;
                /* Merge into an existing dir unless this layer's dir is opaque; replace anything else. */
                if (exists && (!S_ISDIR(dst_st.st_mode) || is_opaque(sfd))) {
                        r = image_rm_rf_at(dst, name);
                        if (r < 0)
                                goto fail;
                        exists = false;
                }
                if (!exists && mkdirat(dst, name, 0700) < 0)
                        goto fail_errno;
                dfd = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (dfd < 0)
                        goto fail_errno;
                /* Owner-writable while we fill it; the real mode is applied afterwards. */
                (void) fchmod(dfd, 0700);
                r = copy_tree(ctx, sfd, dfd, depth + 1, path);
                if (r < 0)
                        return r;
                r = copy_meta(dst, name, dfd, &st, preserve_owner);
                if (r < 0)
                        goto fail;
                return 0;
        }

        if (exists) {
                r = image_rm_rf_at(dst, name);
                if (r < 0)
                        goto fail;
        }

        if (S_ISREG(st.st_mode) && st.st_nlink > 1 && link_known(ctx, &st, dst, name, &r))
                ; /* linked to the copy of an earlier name of the same file */
        else if (S_ISREG(st.st_mode)) {
                r = copy_file(src, dst, name, &st, preserve_owner);
                if (r >= 0 && st.st_nlink > 1)
                        link_remember(ctx, &st, dst, name);
        }
        else if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX + 1];
                ssize_t n = readlinkat(src, name, target, PATH_MAX);

                if (n < 0)
                        goto fail_errno;
                target[n] = 0;
                if (symlinkat(target, dst, name) < 0)
                        goto fail_errno;
                r = copy_meta(dst, name, -EBADF, &st, preserve_owner);
        } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
                /* Devices only exist in a layer if the unpacker was told to allow them. */
                if (mknodat(dst, name, st.st_mode, st.st_rdev) < 0)
                        goto fail_errno;
                r = copy_meta(dst, name, -EBADF, &st, preserve_owner);
        } else
                r = -EOPNOTSUPP;
        if (r < 0)
                goto fail;
        return 0;

fail_errno:
        r = negative_errno();
fail:
        return forge_error_set(ctx->err, r, "copying \"%s\": %m", path);
}

static int copy_tree(CopyCtx *ctx, int src, int dst, unsigned depth, const char *rel) {
        struct dirent *de;
        DIR *d;
        int r;

        if (depth > 1024)
                return -ELOOP;
        r = opendir_at(src, NULL, &d);
        if (r < 0)
                return r;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                r = copy_entry(ctx, dirfd(d), dst, de->d_name, depth, rel);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

static int assemble_copy(char *const *lowers, size_t n, int state_fd, const RootfsOptions *opts,
                         ForgeError *err) {
        _cleanup_close_ int root_fd = -EBADF;
        bool preserve_owner = geteuid() == 0;
        struct stat st;
        int r;

        if (mkdirat(state_fd, "rootfs", 0755) < 0 ||
            (root_fd = openat(state_fd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                return forge_error_set(err, negative_errno(), "cannot create rootfs directory: %m");
        for (size_t i = 0; i < n; i++) {
                _cleanup_close_ int lower_fd = open(lowers[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);

                if (lower_fd < 0)
                        return forge_error_set(err, negative_errno(), "cannot open layer %s: %m", lowers[i]);
                CopyCtx *ctx = calloc(1, sizeof *ctx);

                if (!ctx)
                        return -ENOMEM;
                *ctx = (CopyCtx) { .preserve_owner = preserve_owner, .err = err };
                r = copy_tree(ctx, lower_fd, root_fd, 0, "");
                copy_links_done(ctx);
                free(ctx);
                if (r < 0)
                        return forge_error_prefix(err, r, "layer %s: ", lowers[i]);
                /* The top layer's root decides the mode of "/". */
                if (fstat(lower_fd, &st) == 0)
                        (void) fchmod(root_fd, st.st_mode & 07777);
        }
        if ((opts->root_uid != (uid_t) -1 || opts->root_gid != (gid_t) -1) &&
            fchown(root_fd, opts->root_uid, opts->root_gid) < 0)
                return forge_error_set(err, negative_errno(), "cannot chown rootfs: %m");
        return 0;
}

static int assemble_overlay(char *const *lowers, size_t n, const char *state_dir, int state_fd,
                            const RootfsOptions *opts, bool userxattr, ForgeError *err) {
        _cleanup_free_ char *upper = NULL, *work = NULL, *target = NULL;

        if (asprintf(&upper, "%s/upper", state_dir) < 0 || asprintf(&work, "%s/work", state_dir) < 0 ||
            asprintf(&target, "%s/rootfs", state_dir) < 0)
                return -ENOMEM;

        if (mkdirat(state_fd, "upper", 0755) < 0 || mkdirat(state_fd, "work", 0700) < 0 ||
            mkdirat(state_fd, "rootfs", 0755) < 0)
                return forge_error_set(err, negative_errno(), "cannot create overlay directories in %s: %m",
                                       state_dir);
        if ((opts->root_uid != (uid_t) -1 || opts->root_gid != (gid_t) -1) &&
            fchownat(state_fd, "upper", opts->root_uid, opts->root_gid, AT_SYMLINK_NOFOLLOW) < 0)
                return forge_error_set(err, negative_errno(), "cannot chown %s: %m", upper);

        return mount_overlay(lowers, n, upper, work, target, userxattr, err);
}

static void remove_parts(int state_fd) {
        (void) image_rm_rf_at(state_fd, "rootfs");
        (void) image_rm_rf_at(state_fd, "upper");
        (void) image_rm_rf_at(state_fd, "work");
}

int rootfs_assemble(char *const *lowers, const char *state_dir, const RootfsOptions *opts, Rootfs **ret,
                    ForgeError *err) {
        RootfsOptions defaults = ROOTFS_OPTIONS_DEFAULT;
        _cleanup_(rootfs_freep) Rootfs *rootfs = NULL;
        _cleanup_close_ int state_fd = -EBADF;
        ForgeError overlay_err = {}; /* why not overlayfs: an error, or the reason to fall back to a copy */
        bool userxattr = false, overlay_ok;
        size_t n = 0;
        int r;

        opts = opts ?: &defaults;
        while (lowers && lowers[n])
                n++;
        if (n == 0)
                return forge_error_set(err, -EINVAL, "rootfs %s: the image has no layers", state_dir);
        if (opts->mode < 0 || opts->mode >= _ROOTFS_MODE_MAX)
                return -EINVAL;

        r = mkdir_p(state_dir, 0700);
        if (r < 0)
                return forge_error_set(err, r, "cannot create state directory %s: %s", state_dir,
                                       strerror(-r));
        state_fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (state_fd < 0)
                return forge_error_set(err, negative_errno(), "cannot open state directory %s: %m",
                                       state_dir);
        FOREACH_ELEMENT(name, state_parts) {
                struct stat st;

                if (fstatat(state_fd, *name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                        return forge_error_set(err, -EEXIST,
                                               "%s/%s already exists (tear the old rootfs down first)",
                                               state_dir, *name);
        }

        rootfs = calloc(1, sizeof *rootfs);
        if (!rootfs)
                return -ENOMEM;
        rootfs->state_dir = strdup(state_dir);
        if (!rootfs->state_dir || asprintf(&rootfs->path, "%s/rootfs", state_dir) < 0)
                return -ENOMEM;

        r = opaque_mode(lowers, n, &userxattr, &overlay_err);
        if (r == -EPERM || r == -ENOMEM)
                return forge_error_set(err, r, "rootfs %s: %s", state_dir,
                                       forge_error_message(&overlay_err, r));
        overlay_ok = r >= 0;

        if (opts->mode != ROOTFS_MODE_COPY) {
                r = overlay_ok ? assemble_overlay(lowers, n, state_dir, state_fd, opts, userxattr,
                                                  &overlay_err)
                               : -EOPNOTSUPP;
                if (r >= 0) {
                        rootfs->kind = ROOTFS_OVERLAY;
                        *ret = TAKE_PTR(rootfs);
                        return 0;
                }
                remove_parts(state_fd);
                if (opts->mode == ROOTFS_MODE_OVERLAY)
                        return forge_error_set(err, r, "rootfs %s: %s", state_dir,
                                               forge_error_message(&overlay_err, r));
                rootfs->fallback_reason = strdup(forge_error_message(&overlay_err, r));
                if (!rootfs->fallback_reason)
                        return -ENOMEM;
        }

        r = assemble_copy(lowers, n, state_fd, opts, err);
        if (r < 0) {
                remove_parts(state_fd);
                return forge_error_prefix(err, r, "rootfs %s (copy): ", state_dir);
        }
        rootfs->kind = ROOTFS_COPY;
        *ret = TAKE_PTR(rootfs);
        return 0;
}

static int is_mount_root(int dir_fd, const char *name) {
        struct statx sx;

        if (statx(dir_fd, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (!(sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
                return -EOPNOTSUPP;
        return !!(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

int rootfs_teardown(const char *state_dir, ForgeError *err) {
        _cleanup_close_ int state_fd = -EBADF;
        _cleanup_free_ char *target = NULL;
        int r;

        state_fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (state_fd < 0) {
                if (errno == ENOENT)
                        return 0;
                return forge_error_set(err, negative_errno(), "cannot open state directory %s: %m",
                                       state_dir);
        }
        if (asprintf(&target, "%s/rootfs", state_dir) < 0)
                return -ENOMEM;

        /* Several mounts may be stacked on it (a retried assemble, a runtime bind mount). */
        for (unsigned i = 0; i < 16; i++) {
                r = is_mount_root(state_fd, "rootfs");
                if (r < 0)
                        return forge_error_set(err, r, "cannot tell whether %s is mounted: %s", target,
                                               strerror(-r));
                if (r == 0)
                        break;
                if (umount2(target, UMOUNT_NOFOLLOW) < 0) {
                        if (errno != EBUSY)
                                return forge_error_set(err, negative_errno(), "cannot unmount %s: %m",
                                                       target);
                        /* Still in use by a process that has not exited yet: detach, the kernel frees it
                         * when the last user goes. */
                        if (umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
                                return forge_error_set(err, negative_errno(), "cannot detach %s: %m",
                                                       target);
                }
        }

        FOREACH_ELEMENT(name, state_parts) {
                r = image_rm_rf_at(state_fd, *name);
                if (r < 0)
                        return forge_error_set(err, r, "cannot remove %s/%s: %s", state_dir, *name,
                                               strerror(-r));
        }
        return 0;
}
