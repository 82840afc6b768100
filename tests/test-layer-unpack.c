/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Layer unpacking without root: tar layers built here, malicious ones included; each refusal is checked
 * by its message and by what it left behind (nothing, in the cache). */

#include <sched.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "forgeone/layer-cache.h"
#include "forgeone/layer-unpack.h"
#include "forgeone/rootfs.h"
#include "image-test-util.h"
#include "test-util.h"

#define ASSERT_OK(expr)                                                                                     \
        do {                                                                                                \
                int _r = (expr);                                                                            \
                ck_assert_msg(_r >= 0, "%s: %s (%s)", #expr, strerror(-_r), err.message);                   \
        } while (0)

/* Per-test dirs live in one per-run dir that the parent process removes (an unchecked fixture), so
 * a test that fails half-way leaves nothing behind either. */
static char *run_tmp;
static char *tmp;
static char *dest;

static void run_setup(void) {
        run_tmp = test_mkdtemp();
}

static void run_teardown(void) {
        test_rm_rf(run_tmp);
        free(run_tmp);
}

static void setup(void) {
        tmp = test_mkdtemp_in(run_tmp);
        ck_assert_int_ge(asprintf(&dest, "%s/dest", tmp), 0);
        ck_assert_int_eq(mkdir(dest, 0755), 0);
}

static void teardown(void) {
        test_rm_rf(tmp);
        free(tmp);
        free(dest);
}

static int unpack_buf_limited(const TestBuf *tar, LayerUnpackFlags flags, const LayerUnpackLimits *limits,
                              LayerUnpackStats *stats, ForgeError *err) {
        _cleanup_free_ char *blob = NULL;
        _cleanup_close_ int fd = -EBADF, dfd = -EBADF;

        ck_assert_int_ge(asprintf(&blob, "%s/layer.tar", tmp), 0);
        test_write_file(blob, tar->data, tar->size);
        fd = open(blob, O_RDONLY | O_CLOEXEC);
        dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_ge(dfd, 0);
        return layer_unpack(fd, NULL, OCI_COMPRESSION_NONE, NULL, dfd, flags, limits, NULL, NULL, stats,
                            err);
}

static int unpack_buf(const TestBuf *tar, LayerUnpackFlags flags, LayerUnpackStats *stats, ForgeError *err) {
        return unpack_buf_limited(tar, flags, NULL, stats, err);
}

static char *path_in(const char *base, const char *rel) {
        static char buf[4096];

        snprintf(buf, sizeof buf, "%s/%s", base, rel);
        return buf;
}

/* Unpacks and expects a refusal whose message contains `needle`. */
static void expect_refused(TestTar *t, LayerUnpackFlags flags, const char *needle) {
        TestBuf tar = test_tar_finish(t);
        ForgeError err = {};
        int r;

        r = unpack_buf(&tar, flags, NULL, &err);
        ck_assert_msg(r < 0, "unpack succeeded, expected refusal containing \"%s\"", needle);
        ck_assert_msg(strstr(err.message, needle), "message \"%s\" lacks \"%s\"", err.message, needle);
        /* The layer is at fault, not the system: the daemon answers ImageInvalid. */
        ck_assert_msg(err.kind == FORGE_ERROR_IMAGE_INVALID, "\"%s\" is of kind %s", err.message,
                      forge_error_kind_to_string(err.kind));
        free(tar.data);
}

START_TEST(test_regular_content) {
        TestTar *t = test_tar_new();
        LayerUnpackStats st = {};
        ForgeError err = {};
        struct stat s1, s2;
        char target[256];
        TestBuf tar, got;
        ssize_t n;

        test_tar_dir(t, "./etc/");
        test_tar_file(t, "./etc/hostname", "box\n");
        test_tar_file_mode(t, "bin/tool", "#!/bin/sh\n", 04755); /* implicit parent "bin" */
        test_tar_symlink(t, "bin/sh", "/bin/busybox");
        test_tar_symlink(t, "etc/rel", "../bin/tool");
        test_tar_hardlink(t, "bin/tool2", "bin/tool");
        test_tar_file(t, "replaced", "old");
        test_tar_file(t, "replaced", "new");
        test_tar_entry(t, "ro", AE_IFDIR, 0555, NULL, NULL, NULL, 0);
        test_tar_file(t, "ro/inside", "x"); /* written after its parent became read-only */
        tar = test_tar_finish(t);

        ck_assert_int_eq(unpack_buf(&tar, 0, &st, &err), 0);
        ck_assert_str_eq(err.message, "");
        ck_assert_uint_eq(st.entries, 10);
        ck_assert_uint_eq(st.bytes, tar.size);

        got = test_read_file(path_in(dest, "etc/hostname"));
        ck_assert_str_eq(got.data, "box\n");
        free(got.data);
        got = test_read_file(path_in(dest, "replaced"));
        ck_assert_str_eq(got.data, "new");
        free(got.data);

        /* Absolute symlink targets are legal, stored verbatim. */
        n = readlink(path_in(dest, "bin/sh"), target, sizeof target - 1);
        ck_assert_int_gt(n, 0);
        target[n] = 0;
        ck_assert_str_eq(target, "/bin/busybox");

        /* setuid kept; hardlink shares the inode; implicit dirs are 0755, explicit modes applied. */
        ck_assert_int_eq(lstat(path_in(dest, "bin/tool"), &s1), 0);
        ck_assert_int_eq(s1.st_mode & 07777, 04755);
        ck_assert_int_eq(lstat(path_in(dest, "bin/tool2"), &s2), 0);
        ck_assert_uint_eq(s1.st_ino, s2.st_ino);
        ck_assert_int_eq(lstat(path_in(dest, "bin"), &s1), 0);
        ck_assert_int_eq(s1.st_mode & 07777, 0755);
        ck_assert_int_eq(lstat(path_in(dest, "ro"), &s1), 0);
        ck_assert_int_eq(s1.st_mode & 07777, 0555);
        ck_assert_int_eq(s1.st_mtime, 1700000000);
        ck_assert(test_exists(path_in(dest, "ro/inside")));
        free(tar.data);
}
END_TEST

START_TEST(test_traversal_dotdot) {
        TestTar *t = test_tar_new();

        test_tar_file(t, "../x", "escape");
        expect_refused(t, 0, "path contains \"..\"");
        ck_assert(!test_exists(path_in(tmp, "x")));
}
END_TEST

START_TEST(test_traversal_absolute) {
        TestTar *t = test_tar_new();

        test_tar_file(t, "/etc/x", "escape");
        expect_refused(t, 0, "absolute path");
}
END_TEST

START_TEST(test_traversal_nested_dotdot) {
        TestTar *t = test_tar_new();

        test_tar_dir(t, "a");
        test_tar_file(t, "a/../../x", "escape");
        expect_refused(t, 0, "entry \"a/../../x\": path contains \"..\"");
        ck_assert(!test_exists(path_in(tmp, "x")));
}
END_TEST

START_TEST(test_symlink_escape_root) {
        TestTar *t = test_tar_new();
        _cleanup_free_ char *link = NULL;

        /* Points at the host's /tmp when followed from outside a container: the file entry must not
         * go through it. */
        ck_assert_int_ge(asprintf(&link, "%s", tmp), 0);
        test_tar_symlink(t, "evil", link);
        test_tar_file(t, "evil/planted", "escape");
        expect_refused(t, 0, "parent \"evil\" is a symlink; refusing to write through it");
        ck_assert(!test_exists(path_in(tmp, "planted")));
}
END_TEST

START_TEST(test_symlink_escape_relative) {
        TestTar *t = test_tar_new();

        test_tar_dir(t, "a");
        test_tar_symlink(t, "a/up", "../..");
        test_tar_file(t, "a/up/planted", "escape");
        expect_refused(t, 0, "is a symlink; refusing to write through it");
        ck_assert(!test_exists(path_in(tmp, "planted")));
}
END_TEST

START_TEST(test_symlink_escape_deep) {
        TestTar *t = test_tar_new();

        /* The symlink in the middle of the path, the target directory existing on the host. */
        test_tar_symlink(t, "etc", "/");
        test_tar_dir(t, "etc/tmp");
        expect_refused(t, 0, "parent \"etc\" is a symlink");
}
END_TEST

START_TEST(test_hardlink_absolute) {
        TestTar *t = test_tar_new();

        test_tar_hardlink(t, "passwd", "/etc/passwd");
        expect_refused(t, 0, "hardlink target \"/etc/passwd\" is outside the layer (absolute path)");
        ck_assert(!test_exists(path_in(dest, "passwd")));
}
END_TEST

START_TEST(test_hardlink_dotdot) {
        TestTar *t = test_tar_new();

        test_tar_hardlink(t, "passwd", "../../../../etc/passwd");
        expect_refused(t, 0, "is outside the layer (path contains \"..\")");
}
END_TEST

START_TEST(test_hardlink_through_symlink) {
        TestTar *t = test_tar_new();

        test_tar_symlink(t, "hostetc", "/etc");
        test_tar_hardlink(t, "passwd", "hostetc/passwd");
        expect_refused(t, 0, "is a symlink; refusing to write through it");
        ck_assert(!test_exists(path_in(dest, "passwd")));
}
END_TEST

START_TEST(test_hardlink_missing) {
        TestTar *t = test_tar_new();

        test_tar_dir(t, "d");
        test_tar_hardlink(t, "x", "d/nothing");
        expect_refused(t, 0, "is not an earlier file of this layer");
}
END_TEST

START_TEST(test_device_refused) {
        TestTar *t = test_tar_new();

        test_tar_entry(t, "dev/mem", AE_IFCHR, 0600, NULL, NULL, NULL, makedev(1, 1));
        expect_refused(t, 0, "entry \"dev/mem\": device node (char 1:1) not allowed");
        ck_assert(!test_exists(path_in(dest, "dev/mem")));
}
END_TEST

START_TEST(test_block_device_refused) {
        TestTar *t = test_tar_new();

        test_tar_entry(t, "sda", AE_IFBLK, 0600, NULL, NULL, NULL, makedev(8, 0));
        expect_refused(t, 0, "device node (block 8:0) not allowed");
}
END_TEST

START_TEST(test_device_allowed) {
        TestTar *t = test_tar_new();
        ForgeError err = {};
        TestBuf tar;
        struct stat st;

        test_tar_entry(t, "null", AE_IFCHR, 0666, NULL, NULL, NULL, makedev(1, 3));
        tar = test_tar_finish(t);
        if (geteuid() != 0) {
                /* Allowed by us, refused by the kernel without CAP_MKNOD: still a clear error. */
                ck_assert_int_lt(unpack_buf(&tar, LAYER_UNPACK_ALLOW_DEVICES, NULL, &err), 0);
                ck_assert_msg(strstr(err.message, "mknod failed"), "%s", err.message);
        } else {
                ck_assert_int_eq(unpack_buf(&tar, LAYER_UNPACK_ALLOW_DEVICES, NULL, &err), 0);
                ck_assert_int_eq(lstat(path_in(dest, "null"), &st), 0);
                ck_assert(S_ISCHR(st.st_mode));
                ck_assert_uint_eq(st.st_rdev, makedev(1, 3));
        }
        free(tar.data);
}
END_TEST

START_TEST(test_whiteout_device_entry_refused) {
        TestTar *t = test_tar_new();

        test_tar_entry(t, "x", AE_IFCHR, 0, NULL, NULL, NULL, 0);
        expect_refused(t, LAYER_UNPACK_ALLOW_DEVICES, "char device 0:0 is an overlay whiteout");
}
END_TEST

START_TEST(test_corrupt_tar) {
        TestTar *t = test_tar_new();
        TestBuf tar;
        ForgeError err = {};

        test_tar_file(t, "a", "hello");
        test_tar_file(t, "b", "world");
        tar = test_tar_finish(t);
        /* The second header (after 512 header + 512 data): its mode/uid fields, so its checksum fails. */
        memset(tar.data + 1024 + 100, 'Z', 20);
        ck_assert_int_lt(unpack_buf(&tar, 0, NULL, &err), 0);
        ck_assert_msg(strstr(err.message, "corrupt tar stream"), "%s", err.message);
        free(tar.data);
}
END_TEST

START_TEST(test_unpadded_tail_accepted) {
        TestTar *t = test_tar_new();
        ForgeError err = {};
        TestBuf tar, got;
        size_t end;

        /* As umoci 0.4 "insert" writes them: the stream stops right after the last file's bytes. */
        test_tar_file(t, "a", "first");
        test_tar_file(t, "last", "tail\n");
        tar = test_tar_finish(t);
        end = 512 + 512 + 512 + 5; /* a's header and data block, last's header, 5 data bytes */
        ck_assert_uint_gt(tar.size, end);
        tar.size = end;
        ck_assert_msg(unpack_buf(&tar, 0, NULL, &err) == 0, "%s", err.message);
        got = test_read_file(path_in(dest, "last"));
        ck_assert_str_eq(got.data, "tail\n");
        free(got.data);

        /* Missing file data (not just padding) is still an error. */
        test_rm_rf(dest);
        ck_assert_int_eq(mkdir(dest, 0755), 0);
        t = test_tar_new();
        {
                char big[2000];

                memset(big, 'x', sizeof big - 1);
                big[sizeof big - 1] = 0;
                test_tar_file(t, "big", big);
        }
        free(tar.data);
        tar = test_tar_finish(t);
        tar.size = 512 + 1000;
        ck_assert_int_lt(unpack_buf(&tar, 0, NULL, &err), 0);
        ck_assert_msg(strstr(err.message, "entry \"big\": cannot read data"), "%s", err.message);

        /* Cut inside the last data block: the padding would cover it, the size check does not. */
        test_rm_rf(dest);
        ck_assert_int_eq(mkdir(dest, 0755), 0);
        forge_error_clear(&err);
        tar.size = 512 + 1990;
        ck_assert_int_lt(unpack_buf(&tar, 0, NULL, &err), 0);
        ck_assert_msg(strstr(err.message,
                             "tar stream is truncated: file data reaches byte 2511 but the stream "
                             "has 2502"),
                      "%s", err.message);
        free(tar.data);
}
END_TEST

START_TEST(test_empty_layers) {
        static const char zeros[1024];
        TestBuf tar = {};
        ForgeError err = {};
        LayerUnpackStats st = {};

        /* Only the end-of-archive blocks (Docker's "empty layer"), and nothing at all. */
        test_buf_append(&tar, zeros, sizeof zeros);
        ck_assert_msg(unpack_buf(&tar, 0, &st, &err) == 0, "%s", err.message);
        ck_assert_uint_eq(st.entries, 0);
        tar.size = 0;
        ck_assert_msg(unpack_buf(&tar, 0, &st, &err) == 0, "%s", err.message);
        ck_assert_uint_eq(st.bytes, 0);
        ck_assert_int_eq(test_count_entries(dest, NULL), 0);
        free(tar.data);
}
END_TEST

/* Mutated layers (deterministic): every outcome is either success or a refusal with a message, and
 * nothing is ever written outside the destination. */
START_TEST(test_mutated_layers) {
        TestTar *t = test_tar_new();
        TestBuf orig, tar = {};
        static const char *const made_here[] = { "dest", "layer.tar", NULL };
        unsigned seed = 12345, ok = 0, refused = 0;

        test_tar_dir(t, "etc");
        test_tar_file(t, "etc/passwd", "root:x:0:0::/:/bin/sh\n");
        test_tar_symlink(t, "etc/link", "/etc/passwd");
        test_tar_symlink(t, "up", "..");
        test_tar_hardlink(t, "etc/hard", "etc/passwd");
        test_tar_file(t, "etc/.wh.gone", "");
        test_tar_file(t, "opt/.wh..wh..opq", "");
        test_tar_file(t, "opt/data", "0123456789abcdef0123456789abcdef");
        orig = test_tar_finish(t);

        for (unsigned i = 0; i < 400; i++) {
                ForgeError err = {};
                int r;

                free(tar.data);
                tar = (TestBuf) {};
                test_buf_append(&tar, orig.data, orig.size);
                /* Flip a few bytes, mostly in headers (names, types, link names, sizes). */
                for (unsigned k = 0; k < 1 + i % 4; k++) {
                        size_t at;

                        seed = seed * 1103515245 + 12345;
                        at = (seed >> 8) % tar.size;
                        seed = seed * 1103515245 + 12345;
                        tar.data[at] = (char) (i % 3 == 0 ? '/' : i % 3 == 1 ? '.' : (seed >> 16) & 0xff);
                }
                test_rm_rf(dest);
                ck_assert_int_eq(mkdir(dest, 0755), 0);
                r = unpack_buf(&tar, 0, NULL, &err);
                if (r < 0) {
                        ck_assert_msg(err.message[0], "mutation %u: error %d without a message", i, r);
                        refused++;
                } else
                        ok++;
                /* tmp holds only what the test made: dest and the blob. */
                ck_assert_msg(test_count_entries(tmp, made_here) == 0, "mutation %u wrote outside the layer",
                              i);
        }
        ck_assert_uint_gt(refused, 0);
        ck_assert_uint_gt(ok, 0);
        free(tar.data);
        free(orig.data);
}
END_TEST

START_TEST(test_whiteout_representation) {
        TestTar *t = test_tar_new();
        LayerUnpackStats st = {};
        ForgeError err = {};
        struct stat s;
        TestBuf tar;
        char v[4];

        test_tar_dir(t, "a");
        test_tar_file(t, "a/.wh.gone", "");
        test_tar_dir(t, "o");
        test_tar_file(t, "o/.wh..wh..opq", "");
        test_tar_file(t, "o/new", "n");
        test_tar_file(t, "keep", "k");
        test_tar_file(t, ".wh.keep", ""); /* same-layer entry already hides the lower one */
        test_tar_file(t, ".wh.redo", "");
        test_tar_dir(t, "redo");                /* deleted and recreated: an opaque directory */
        test_tar_file(t, "a/.wh..wh.plnk", ""); /* aufs bookkeeping: ignored */
        tar = test_tar_finish(t);

        ck_assert_int_eq(unpack_buf(&tar, 0, &st, &err), 0);
        ck_assert_int_eq(lstat(path_in(dest, "a/gone"), &s), 0);
        ck_assert(S_ISCHR(s.st_mode) && s.st_rdev == 0);
        ck_assert(!test_exists(path_in(dest, "a/.wh.gone")));
        ck_assert(!test_exists(path_in(dest, "o/.wh..wh..opq")));
        ck_assert(!test_exists(path_in(dest, "a/.wh..wh.plnk")));
        ck_assert_int_eq(lstat(path_in(dest, "keep"), &s), 0);
        ck_assert(S_ISREG(s.st_mode));
        ck_assert_int_eq(lstat(path_in(dest, "redo"), &s), 0);
        ck_assert(S_ISDIR(s.st_mode));

        /* user.* always (unprivileged overlays), trusted.* too when root (overlays in the initial ns). */
        ck_assert_int_eq(lgetxattr(path_in(dest, "o"), "user.overlay.opaque", v, sizeof v), 1);
        ck_assert_int_eq(lgetxattr(path_in(dest, "redo"), "user.overlay.opaque", v, sizeof v), 1);
        ck_assert(st.opaque_user);
        ck_assert(st.opaque_trusted == (geteuid() == 0));
        if (geteuid() == 0)
                ck_assert_int_eq(lgetxattr(path_in(dest, "o"), "trusted.overlay.opaque", v, sizeof v), 1);
        ck_assert_uint_eq(st.whiteouts, 2); /* gone, redo (then replaced) */
        ck_assert_uint_eq(st.opaque_dirs, 2);
        free(tar.data);
}
END_TEST

/* ---- through the cache and the rootfs: whiteouts applied, nothing left behind ---- */

static char *make_layout(const TestLayer *layers, size_t n) {
        char *layout;

        ck_assert_int_ge(asprintf(&layout, "%s/layout", tmp), 0);
        free(test_layout_simple(layout, layers, n, "t"));
        return layout;
}

static void cache_expect_refused(TestTar *t, const char *needle) {
        TestLayer l = { .tar = test_tar_finish(t), .compression = OCI_COMPRESSION_GZIP };
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_(layer_cache_freep) LayerCache *c = NULL;
        _cleanup_free_ char *layout = make_layout(&l, 1), *cache = NULL;
        _cleanup_strv_free_ char **lowers = NULL;
        ForgeError err = {};

        ck_assert_int_ge(asprintf(&cache, "%s/cache", tmp), 0);
        ASSERT_OK(oci_image_open_dir(layout, "t", &image, &err));
        ASSERT_OK(layer_cache_open(cache, &c, &err));
        ck_assert_int_lt(layer_cache_unpack_image(c, image, NULL, NULL, 0, NULL, NULL, &lowers, &err), 0);
        ck_assert_msg(strstr(err.message, needle), "message \"%s\" lacks \"%s\"", err.message, needle);
        ck_assert_msg(strstr(err.message, "layer 0: "), "no layer context in \"%s\"", err.message);
        ck_assert_ptr_null(lowers);
        /* Only the lock file remains: no temp dir, no entry. */
        ck_assert_int_eq(test_count_entries(cache, (const char *const[]) { ".lock", NULL }), 0);
        free(l.tar.data);
}

/* n files of size bytes each ("f0", "f1", ...), filled with 'x'. */
static TestTar *tar_of_files(size_t n, size_t size) {
        _cleanup_free_ char *data = malloc(size + 1);
        TestTar *t = test_tar_new();

        ck_assert_ptr_nonnull(data);
        memset(data, 'x', size);
        data[size] = 0;
        for (size_t i = 0; i < n; i++) {
                char name[32];
                snprintf(name, sizeof name, "f%zu", i);
                test_tar_file(t, name, data);
        }
        return t;
}

START_TEST(test_limits_defaults) {
        LayerUnpackLimits l = layer_unpack_limits_resolve(NULL);

        ck_assert_uint_eq(l.max_layer_bytes, 16ULL << 30);
        ck_assert_uint_eq(l.max_image_bytes, 64ULL << 30);
        ck_assert_uint_eq(l.max_entries, 1000000);
        l = layer_unpack_limits_resolve(&(LayerUnpackLimits) { .max_entries = 7 });
        ck_assert_uint_eq(l.max_layer_bytes, LAYER_UNPACK_DEFAULT_MAX_LAYER_BYTES);
        ck_assert_uint_eq(l.max_image_bytes, LAYER_UNPACK_DEFAULT_MAX_IMAGE_BYTES);
        ck_assert_uint_eq(l.max_entries, 7);
}
END_TEST

START_TEST(test_limit_layer_bytes) {
        /* 64 small files: no header claims much, the stream itself passes 16 KiB. */
        TestBuf tar = test_tar_finish(tar_of_files(64, 1000));
        LayerUnpackLimits limits = { .max_layer_bytes = 16 << 10 };
        ForgeError err = {};

        ck_assert_int_eq(unpack_buf_limited(&tar, 0, &limits, NULL, &err), -EFBIG);
        ck_assert_str_eq(err.message, "layer: uncompressed layer exceeds the limit of 16 KiB per layer");
        /* Nothing was decompressed beyond the limit: at most one read buffer. */
        ck_assert_int_lt(test_count_entries(dest, NULL), 64);

        /* The same layer under a limit it fits is unpacked whole. */
        test_rm_rf(dest);
        ck_assert_int_eq(mkdir(dest, 0755), 0);
        err = (ForgeError) {};
        limits.max_layer_bytes = tar.size;
        ck_assert_msg(unpack_buf_limited(&tar, 0, &limits, NULL, &err) == 0, "%s", err.message);
        ck_assert_int_eq(test_count_entries(dest, NULL), 64);
        free(tar.data);
}
END_TEST

START_TEST(test_limit_declared_size) {
        /* A header that claims more than the budget is refused before its data is written, even though
         * the stream read so far is within the limit. */
        TestTar *t = tar_of_files(1, 100);
        _cleanup_free_ char *big = malloc((2 << 20) + 1);
        LayerUnpackLimits limits = { .max_layer_bytes = 1 << 20 };
        ForgeError err = {};
        TestBuf tar;

        ck_assert_ptr_nonnull(big);
        memset(big, 'y', 2 << 20);
        big[2 << 20] = 0;
        test_tar_file(t, "big", big);
        tar = test_tar_finish(t);
        ck_assert_int_eq(unpack_buf_limited(&tar, 0, &limits, NULL, &err), -EFBIG);
        ck_assert_str_eq(err.message, "layer: entry \"big\" declares 2097152 bytes: the layer would exceed "
                                      "the limit of 1 MiB per layer");
        ck_assert(!test_exists(path_in(dest, "big")));
        free(tar.data);
}
END_TEST

START_TEST(test_limit_entries) {
        TestBuf tar = test_tar_finish(tar_of_files(11, 1));
        LayerUnpackLimits limits = { .max_entries = 10 };
        LayerUnpackStats stats;
        ForgeError err = {};

        ck_assert_int_eq(unpack_buf_limited(&tar, 0, &limits, NULL, &err), -E2BIG);
        ck_assert_str_eq(err.message, "layer: layer has more than 10 entries, the limit per layer");
        ck_assert(!test_exists(path_in(dest, "f10")));

        /* Exactly at the limit is fine. */
        test_rm_rf(dest);
        ck_assert_int_eq(mkdir(dest, 0755), 0);
        err = (ForgeError) {};
        limits.max_entries = 11;
        ck_assert_msg(unpack_buf_limited(&tar, 0, &limits, &stats, &err) == 0, "%s", err.message);
        ck_assert_uint_eq(stats.entries, 11);
        free(tar.data);
}
END_TEST

/* A gzip bomb in small: 8 MiB of zeros compress to a few KiB; the limits hold through the cache, name
 * the layer, and leave nothing behind. */
/* Every layer of image into the cache, no verifier, no progress. */
static int unpack_all(LayerCache *c, const OciImage *image, char ***ret_lowers, ForgeError *err) {
        return layer_cache_unpack_image(c, image, NULL, NULL, 0, NULL, NULL, ret_lowers, err);
}

START_TEST(test_limit_cache_bomb) {
        _cleanup_free_ char *zeros = calloc(1, (8 << 20) + 1), *cache = NULL, *layout = NULL;
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_(layer_cache_freep) LayerCache *c = NULL;
        _cleanup_strv_free_ char **lowers = NULL;
        TestLayer l;
        TestTar *t;
        ForgeError err = {};

        ck_assert_ptr_nonnull(zeros);
        memset(zeros, '0', 8 << 20);
        t = test_tar_new();
        test_tar_file(t, "small", "s");
        test_tar_file(t, "bomb", zeros);
        l = (TestLayer) { .tar = test_tar_finish(t), .compression = OCI_COMPRESSION_GZIP };
        layout = make_layout(&l, 1);
        ck_assert_int_ge(asprintf(&cache, "%s/cache", tmp), 0);
        ASSERT_OK(oci_image_open_dir(layout, "t", &image, &err));
        ck_assert_uint_lt(image->layers[0].blob.size, 64 << 10);
        ASSERT_OK(layer_cache_open(cache, &c, &err));
        layer_cache_set_limits(c, &(LayerUnpackLimits) { .max_layer_bytes = 4 << 20 });
        ck_assert_uint_eq(layer_cache_get_limits(c)->max_entries, LAYER_UNPACK_DEFAULT_MAX_ENTRIES);
        ck_assert_int_eq(unpack_all(c, image, &lowers, &err), -EFBIG);
        ck_assert_msg(strstr(err.message, "layer 0: sha256:") &&
                              strstr(err.message, "the limit of 4 MiB per layer"),
                      "%s", err.message);
        ck_assert_ptr_null(lowers);
        ck_assert_int_eq(test_count_entries(cache, (const char *const[]) { ".lock", NULL }), 0);

        /* Under the defaults it is an ordinary layer. */
        layer_cache_set_limits(c, NULL);
        err = (ForgeError) {};
        ck_assert_msg(unpack_all(c, image, &lowers, &err) == 1, "%s",
                      err.message);
        free(l.tar.data);
}
END_TEST

START_TEST(test_limit_image_bytes) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_(layer_cache_freep) LayerCache *c = NULL;
        _cleanup_free_ char *cache = NULL, *layout = NULL, *first = NULL;
        _cleanup_strv_free_ char **lowers = NULL;
        TestLayer l[2];
        ForgeError err = {};
        const char *hex;

        /* Two layers of ~40 KiB each (tar streams); 64 KiB per image holds one, not both. */
        l[0] = (TestLayer) { test_tar_finish(tar_of_files(1, 40 << 10)), OCI_COMPRESSION_GZIP };
        l[1] = (TestLayer) { test_tar_finish(tar_of_files(2, 20 << 10)), OCI_COMPRESSION_NONE };
        ck_assert_uint_lt(l[0].tar.size, 64 << 10);
        ck_assert_uint_lt(l[1].tar.size, 64 << 10);
        layout = make_layout(l, 2);
        ck_assert_int_ge(asprintf(&cache, "%s/cache", tmp), 0);
        ASSERT_OK(oci_image_open_dir(layout, "t", &image, &err));
        ASSERT_OK(layer_cache_open(cache, &c, &err));
        layer_cache_set_limits(c, &(LayerUnpackLimits) { .max_image_bytes = 64 << 10 });
        ck_assert_int_eq(unpack_all(c, image, &lowers, &err), -EFBIG);
        ck_assert_msg(strstr(err.message, "layer 1 (sha256:") &&
                              strstr(err.message, "the image's layers exceed the limit of 64 KiB per image"),
                      "%s", err.message);
        ck_assert_ptr_null(lowers);
        /* Layer 0 fitted and stays cached (it is valid on its own); layer 1 left nothing. */
        ASSERT_OK(oci_digest_parse(image->layers[0].diff_id, &hex, &err));
        ck_assert_int_ge(asprintf(&first, "%s/%s", cache, hex), 0);
        ck_assert(test_exists(first));
        ck_assert_int_eq(test_count_entries(cache, (const char *const[]) { ".lock", hex, NULL }), 0);

        /* A warm cache counts the cached layer too: the same refusal. */
        err = (ForgeError) {};
        ck_assert_int_eq(unpack_all(c, image, &lowers, &err), -EFBIG);
        ck_assert_msg(strstr(err.message, "per image"), "%s", err.message);

        /* Reversed: layer 0 cached, a limit below its size refuses it on the hit. */
        layer_cache_set_limits(c, &(LayerUnpackLimits) { .max_image_bytes = 16 << 10 });
        err = (ForgeError) {};
        ck_assert_int_eq(unpack_all(c, image, &lowers, &err), -EFBIG);
        ck_assert_msg(strstr(err.message, "layer 0 (sha256:") && strstr(err.message, "16 KiB per image"),
                      "%s", err.message);

        layer_cache_set_limits(c, &(LayerUnpackLimits) { .max_image_bytes = 128 << 10 });
        err = (ForgeError) {};
        ck_assert_msg(unpack_all(c, image, &lowers, &err) == 1, "%s",
                      err.message);
        free(l[0].tar.data);
        free(l[1].tar.data);
}
END_TEST

START_TEST(test_cache_refusals_leave_nothing) {
        TestTar *t;

        t = test_tar_new();
        test_tar_file(t, "ok", "fine");
        test_tar_file(t, "../x", "escape");
        cache_expect_refused(t, "path contains \"..\"");

        t = test_tar_new();
        test_tar_file(t, "/etc/x", "escape");
        cache_expect_refused(t, "absolute path");

        t = test_tar_new();
        test_tar_symlink(t, "l", "/");
        test_tar_file(t, "l/etc/x", "escape");
        cache_expect_refused(t, "is a symlink; refusing to write through it");

        t = test_tar_new();
        test_tar_hardlink(t, "h", "/etc/shadow");
        cache_expect_refused(t, "outside the layer");

        t = test_tar_new();
        test_tar_entry(t, "kmem", AE_IFCHR, 0600, NULL, NULL, NULL, makedev(1, 2));
        cache_expect_refused(t, "device node (char 1:2) not allowed");

        /* Whiteouts that name no entry of a lower layer, or reach out of the tree. */
        t = test_tar_new();
        test_tar_file(t, "etc/.wh..", "");
        cache_expect_refused(t, "entry \"etc/.wh..\": invalid whiteout name");

        t = test_tar_new();
        test_tar_file(t, ".wh.", "");
        cache_expect_refused(t, "invalid whiteout name");

        t = test_tar_new();
        test_tar_file(t, "../.wh.etc", "");
        cache_expect_refused(t, "path contains \"..\"");

        t = test_tar_new();
        test_tar_symlink(t, "host", "/");
        test_tar_file(t, "host/etc/.wh.passwd", "");
        cache_expect_refused(t, "parent \"host\" is a symlink");

        t = test_tar_new();
        test_tar_symlink(t, "host", "/etc");
        test_tar_file(t, "host/.wh..wh..opq", "");
        cache_expect_refused(t, "parent \"host\" is a symlink");
}
END_TEST

START_TEST(test_whiteouts_merged_copy) {
        TestLayer l[2] = {};
        TestTar *t;
        _cleanup_free_ char *layout = NULL, *cache = NULL, *state = NULL;
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_(layer_cache_freep) LayerCache *c = NULL;
        _cleanup_strv_free_ char **lowers = NULL;
        _cleanup_(rootfs_freep) Rootfs *rootfs = NULL;
        RootfsOptions opts = ROOTFS_OPTIONS_DEFAULT;
        ForgeError err = {};
        TestBuf got;
        struct stat st;

        t = test_tar_new();
        test_tar_dir(t, "a");
        test_tar_file(t, "a/file1", "one");
        test_tar_file(t, "a/file2", "two");
        test_tar_dir(t, "d");
        test_tar_file(t, "d/x", "x");
        test_tar_dir(t, "d/sub");
        test_tar_file(t, "d/sub/y", "y");
        test_tar_dir(t, "gone");
        test_tar_file(t, "gone/inner", "i");
        test_tar_file(t, "f", "file becomes dir");
        test_tar_hardlink(t, "a/file2-link", "a/file2");
        l[0] = (TestLayer) { .tar = test_tar_finish(t), .compression = OCI_COMPRESSION_GZIP };

        t = test_tar_new();
        test_tar_dir(t, "a");
        test_tar_file(t, "a/.wh.file1", "");
        test_tar_dir(t, "d");
        test_tar_file(t, "d/.wh..wh..opq", "");
        test_tar_file(t, "d/z", "z");
        test_tar_file(t, ".wh.gone", "");
        test_tar_dir(t, "f");
        test_tar_file(t, "f/in", "in");
        l[1] = (TestLayer) { .tar = test_tar_finish(t), .compression = OCI_COMPRESSION_NONE };

        layout = make_layout(l, 2);
        ck_assert_int_ge(asprintf(&cache, "%s/cache", tmp), 0);
        ck_assert_int_ge(asprintf(&state, "%s/state", tmp), 0);
        ASSERT_OK(oci_image_open(layout, &image, &err));
        ASSERT_OK(layer_cache_open(cache, &c, &err));
        ck_assert_int_eq(layer_cache_unpack_image(c, image, NULL, NULL, 0, NULL, NULL, &lowers, &err), 2);

        opts.mode = ROOTFS_MODE_COPY;
        ck_assert_msg(rootfs_assemble(lowers, state, &opts, &rootfs, &err) == 0, "%s", err.message);
        ck_assert_int_eq(rootfs->kind, ROOTFS_COPY);
        ck_assert_ptr_null(rootfs->fallback_reason);

        ck_assert(!test_exists(path_in(rootfs->path, "a/file1")));
        got = test_read_file(path_in(rootfs->path, "a/file2"));
        ck_assert_str_eq(got.data, "two");
        free(got.data);
        ck_assert(!test_exists(path_in(rootfs->path, "d/x")));
        ck_assert(!test_exists(path_in(rootfs->path, "d/sub")));
        ck_assert(test_exists(path_in(rootfs->path, "d/z")));
        ck_assert(!test_exists(path_in(rootfs->path, "gone")));
        ck_assert_int_eq(lstat(path_in(rootfs->path, "f"), &st), 0);
        ck_assert(S_ISDIR(st.st_mode));
        ck_assert(test_exists(path_in(rootfs->path, "f/in")));
        /* Hardlinks of a layer stay hardlinks in the copy. */
        {
                struct stat a, b;

                ck_assert_int_eq(lstat(path_in(rootfs->path, "a/file2"), &a), 0);
                ck_assert_int_eq(lstat(path_in(rootfs->path, "a/file2-link"), &b), 0);
                ck_assert_uint_eq(a.st_ino, b.st_ino);
                ck_assert_uint_eq(a.st_nlink, 2);
        }
        /* No whiteout markers leak into the merged view. */
        ck_assert(!test_exists(path_in(rootfs->path, "a/.wh.file1")));

        ASSERT_OK(rootfs_teardown(state, &err));
        ck_assert(!test_exists(rootfs->path));
        ck_assert_int_eq(test_count_entries(state, NULL), 0);
        /* The cache is untouched by a container's teardown. */
        ck_assert(test_exists(path_in(lowers[0], "a/file1")));
        free(l[0].tar.data);
        free(l[1].tar.data);
}
END_TEST

/* AUTO mode where overlayfs cannot be mounted (an unprivileged process, or a user namespace that does not
 * own its mount namespace): a copy, and the reason is reported. Runs in a child that gives up its
 * privileges, so the test means the same as root and as a user. */
START_TEST(test_auto_falls_back_to_copy) {
        TestTar *t;
        TestLayer l[2] = {};
        _cleanup_free_ char *layout = NULL, *cache = NULL, *state = NULL;
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_(layer_cache_freep) LayerCache *c = NULL;
        _cleanup_strv_free_ char **lowers = NULL;
        ForgeError err = {};
        int p[2], status;
        char msg[2048];
        ssize_t n;
        pid_t pid;

        t = test_tar_new();
        test_tar_file(t, "etc/motd", "hello");
        test_tar_file(t, "opt/old", "old");
        l[0] = (TestLayer) { .tar = test_tar_finish(t) };
        t = test_tar_new();
        test_tar_file(t, "etc/.wh.motd", "");
        test_tar_file(t, "opt/.wh..wh..opq", "");
        test_tar_file(t, "opt/new", "new");
        l[1] = (TestLayer) { .tar = test_tar_finish(t) };
        layout = make_layout(l, 2);
        ck_assert_int_ge(asprintf(&cache, "%s/cache", tmp), 0);
        ck_assert_int_ge(asprintf(&state, "%s/state", tmp), 0);
        ASSERT_OK(oci_image_open(layout, &image, &err));
        ASSERT_OK(layer_cache_open(cache, &c, &err));
        ck_assert_int_eq(layer_cache_unpack_image(c, image, NULL, NULL, 0, NULL, NULL, &lowers, &err), 2);

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                _cleanup_(rootfs_freep) Rootfs *rootfs = NULL;
                int code = 0;

                /* Capabilities only in a new user namespace; the mount namespace stays the host's. */
                (void) unshare(CLONE_NEWUSER);
                if (rootfs_assemble(lowers, state, NULL, &rootfs, &err) < 0) {
                        snprintf(msg, sizeof msg, "assemble: %s", err.message);
                        code = 1;
                } else if (rootfs->kind != ROOTFS_COPY || !rootfs->fallback_reason) {
                        snprintf(msg, sizeof msg, "kind %s without a reason",
                                 rootfs_kind_to_string(rootfs->kind));
                        code = 2;
                } else if (test_exists(path_in(rootfs->path, "etc/motd")) ||
                           test_exists(path_in(rootfs->path, "opt/old")) ||
                           !test_exists(path_in(rootfs->path, "opt/new"))) {
                        snprintf(msg, sizeof msg, "wrong merged view");
                        code = 3;
                } else {
                        snprintf(msg, sizeof msg, "%s", rootfs->fallback_reason);
                        if (rootfs_teardown(state, &err) < 0) {
                                snprintf(msg, sizeof msg, "teardown: %s", err.message);
                                code = 4;
                        }
                }
                (void) !write(p[1], msg, strlen(msg));
                _exit(code);
        }
        close(p[1]);
        n = read(p[0], msg, sizeof msg - 1);
        msg[n > 0 ? n : 0] = 0;
        close(p[0]);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", msg);
        ck_assert_msg(strstr(msg, "overlay") && strstr(msg, "Operation not permitted"), "reason: %s", msg);
        ck_assert_int_eq(test_count_entries(state, NULL), 0);
        free(l[0].tar.data);
        free(l[1].tar.data);
}
END_TEST

START_TEST(test_cache_dir_must_be_private) {
        _cleanup_(layer_cache_freep) LayerCache *c = NULL;
        _cleanup_free_ char *cache = NULL;
        ForgeError err = {};

        ck_assert_int_ge(asprintf(&cache, "%s/shared-cache", tmp), 0);
        ck_assert_int_eq(mkdir(cache, 0777), 0);
        ck_assert_int_eq(chmod(cache, 0777), 0);
        ck_assert_int_eq(layer_cache_open(cache, &c, &err), -EPERM);
        ck_assert_msg(strstr(err.message, "not be writable by group or others"), "%s", err.message);
        ck_assert_int_eq(chmod(cache, 0755), 0);
        forge_error_clear(&err);
        ASSERT_OK(layer_cache_open(cache, &c, &err));
}
END_TEST

static void count_progress(OciProgressPhase phase, const char *digest, uint64_t done, uint64_t total,
                           void *userdata) {
        unsigned *calls = userdata;

        ck_assert_int_eq(phase, OCI_PROGRESS_UNPACK);
        ck_assert_uint_le(done, total);
        if (done == total)
                calls[1]++;
        calls[0]++;
}

START_TEST(test_cache_reuse) {
        TestTar *t = test_tar_new();
        TestLayer l;
        _cleanup_free_ char *layout = NULL, *cache = NULL, *p1 = NULL, *p2 = NULL;
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_(layer_cache_freep) LayerCache *c = NULL;
        ForgeError err = {};
        unsigned calls[2] = {};
        struct stat a, b;
        bool hit = true;

        test_tar_file(t, "hello", "world");
        l = (TestLayer) { .tar = test_tar_finish(t), .compression = OCI_COMPRESSION_GZIP };
        layout = make_layout(&l, 1);
        ck_assert_int_ge(asprintf(&cache, "%s/cache", tmp), 0);
        ASSERT_OK(oci_image_open_dir(layout, NULL, &image, &err));
        ASSERT_OK(layer_cache_open(cache, &c, &err));

        ASSERT_OK(layer_cache_ensure(c, image, 0, 0, count_progress, calls, &p1, &hit, &err));
        ck_assert(!hit);
        ck_assert_uint_eq(calls[1], 1);
        ck_assert_int_eq(lstat(path_in(p1, "hello"), &a), 0);

        /* Second time: a hit, same files, no progress (nothing read). */
        ASSERT_OK(layer_cache_ensure(c, image, 0, 0, count_progress, calls, &p2, &hit, &err));
        ck_assert(hit);
        ck_assert_str_eq(p1, p2);
        ck_assert_uint_eq(calls[1], 1);
        ck_assert_int_eq(lstat(path_in(p2, "hello"), &b), 0);
        ck_assert_uint_eq(a.st_ino, b.st_ino);

        /* Whole-image call reports 0 layers unpacked. */
        ck_assert_int_eq(layer_cache_unpack_image(c, image, NULL, NULL, 0, NULL, NULL, NULL, &err), 0);

        /* The entry records how it was made; removing it makes the next call unpack again. */
        ck_assert(test_exists(path_in(cache, image->layers[0].diff_id + 7)));
        ASSERT_OK(layer_cache_remove(c, image->layers[0].diff_id, &err));
        ck_assert_int_eq(layer_cache_unpack_image(c, image, NULL, NULL, 0, NULL, NULL, NULL, &err), 1);
        free(l.tar.data);
}
END_TEST

START_TEST(test_cache_concurrent) {
        TestTar *t = test_tar_new();
        TestLayer l;
        _cleanup_free_ char *layout = NULL, *cache = NULL;
        int misses = 0;
        pid_t pids[4];

        for (int i = 0; i < 200; i++) {
                char name[32];

                snprintf(name, sizeof name, "f%d", i);
                test_tar_file(t, name, "some content to make the layer take a moment");
        }
        l = (TestLayer) { .tar = test_tar_finish(t), .compression = OCI_COMPRESSION_GZIP };
        layout = make_layout(&l, 1);
        ck_assert_int_ge(asprintf(&cache, "%s/cache", tmp), 0);

        for (size_t i = 0; i < ELEMENTSOF(pids); i++) {
                pids[i] = fork();
                ck_assert_int_ge(pids[i], 0);
                if (pids[i] == 0) {
                        OciImage *image = NULL;
                        LayerCache *c = NULL;
                        ForgeError err = {};
                        bool hit;

                        if (oci_image_open_dir(layout, NULL, &image, &err) < 0 ||
                            layer_cache_open(cache, &c, &err) < 0 ||
                            layer_cache_ensure(c, image, 0, 0, NULL, NULL, NULL, &hit, &err) < 0)
                                _exit(2);
                        _exit(hit ? 0 : 1);
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(pids); i++) {
                int status;

                ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
                ck_assert(WIFEXITED(status));
                ck_assert_int_ne(WEXITSTATUS(status), 2);
                misses += WEXITSTATUS(status);
        }
        ck_assert_int_eq(misses, 1);
        ck_assert_int_eq(test_count_entries(cache, (const char *const[]) { ".lock", NULL }), 1);
        free(l.tar.data);
}
END_TEST

START_TEST(test_stale_temp_removed) {
        TestTar *t = test_tar_new();
        TestLayer l;
        _cleanup_free_ char *layout = NULL, *cache = NULL, *stale = NULL;
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_(layer_cache_freep) LayerCache *c = NULL;
        ForgeError err = {};

        test_tar_file(t, "a", "b");
        l = (TestLayer) { .tar = test_tar_finish(t) };
        layout = make_layout(&l, 1);
        ck_assert_int_ge(asprintf(&cache, "%s/cache", tmp), 0);
        ASSERT_OK(layer_cache_open(cache, &c, &err));
        /* What a writer killed mid-unpack leaves. */
        ck_assert_int_ge(asprintf(&stale, "%s/.tmp-deadbeef-XXXXXX", cache), 0);
        ck_assert_ptr_nonnull(mkdtemp(stale));
        ASSERT_OK(oci_image_open_dir(layout, NULL, &image, &err));
        ck_assert_int_eq(layer_cache_unpack_image(c, image, NULL, NULL, 0, NULL, NULL, NULL, &err), 1);
        ck_assert(!test_exists(stale));
        free(l.tar.data);
}
END_TEST

static Suite *layer_unpack_suite(void) {
        Suite *s = suite_create("layer-unpack");
        TCase *tc = tcase_create("unpack");

        tcase_add_unchecked_fixture(tc, run_setup, run_teardown);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_regular_content);
        tcase_add_test(tc, test_traversal_dotdot);
        tcase_add_test(tc, test_traversal_absolute);
        tcase_add_test(tc, test_traversal_nested_dotdot);
        tcase_add_test(tc, test_symlink_escape_root);
        tcase_add_test(tc, test_symlink_escape_relative);
        tcase_add_test(tc, test_symlink_escape_deep);
        tcase_add_test(tc, test_hardlink_absolute);
        tcase_add_test(tc, test_hardlink_dotdot);
        tcase_add_test(tc, test_hardlink_through_symlink);
        tcase_add_test(tc, test_hardlink_missing);
        tcase_add_test(tc, test_device_refused);
        tcase_add_test(tc, test_block_device_refused);
        tcase_add_test(tc, test_device_allowed);
        tcase_add_test(tc, test_whiteout_device_entry_refused);
        tcase_add_test(tc, test_corrupt_tar);
        tcase_add_test(tc, test_unpadded_tail_accepted);
        tcase_add_test(tc, test_empty_layers);
        tcase_add_test(tc, test_mutated_layers);
        tcase_add_test(tc, test_whiteout_representation);
        tcase_add_test(tc, test_limits_defaults);
        tcase_add_test(tc, test_limit_layer_bytes);
        tcase_add_test(tc, test_limit_declared_size);
        tcase_add_test(tc, test_limit_entries);
        suite_add_tcase(s, tc);

        tc = tcase_create("cache");
        tcase_add_unchecked_fixture(tc, run_setup, run_teardown);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_cache_refusals_leave_nothing);
        tcase_add_test(tc, test_limit_cache_bomb);
        tcase_add_test(tc, test_limit_image_bytes);
        tcase_add_test(tc, test_whiteouts_merged_copy);
        tcase_add_test(tc, test_auto_falls_back_to_copy);
        tcase_add_test(tc, test_cache_reuse);
        tcase_add_test(tc, test_cache_concurrent);
        tcase_add_test(tc, test_stale_temp_removed);
        tcase_add_test(tc, test_cache_dir_must_be_private);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return fo_test_run(layer_unpack_suite());
}
