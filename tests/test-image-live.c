/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Live (root): an image built here with umoci from busybox, opened by DIR:TAG, unpacked into a cache,
 * mounted as an overlay rootfs, run with chroot, and torn down with no mount left. Each test runs in a
 * private mount namespace, so a failing assertion cannot leak a mount onto the host; the temp dir is
 * removed by an unchecked fixture in the parent, which runs even when a test fails.
 */

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "forgeone/layer-cache.h"
#include "forgeone/oci-image.h"
#include "forgeone/rootfs.h"
#include "image-test-util.h"
#include "test-util.h"

#define ASSERT_OK(expr)                                                                                     \
        do {                                                                                                \
                int _r = (expr);                                                                            \
                ck_assert_msg(_r >= 0, "%s: %s (%s)", #expr, strerror(-_r), err.message);                   \
        } while (0)

static char *tmp;
static char image_ref[4096];

/* The layout directory of image_ref ("DIR:busybox"). */
static const char *image_ref_dir(void) {
        static char dir[4096];
        char *colon;

        snprintf(dir, sizeof dir, "%s", image_ref);
        colon = strrchr(dir, ':');
        if (colon)
                *colon = 0;
        return dir;
}

static int run(const char *const argv[]) {
        pid_t pid = fork();
        int status;

        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (null >= 0)
                        dup2(null, STDOUT_FILENO);
                execvp(argv[0], (char *const *) argv);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) != pid)
                return -errno;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void mkfile(const char *dir, const char *rel, const char *content) {
        char p[4096];

        snprintf(p, sizeof p, "%s/%s", dir, rel);
        test_write_file(p, content, strlen(content));
}

static void mkdirs(const char *dir, const char *rel) {
        char p[4096];

        snprintf(p, sizeof p, "%s/%s", dir, rel);
        ck_assert_msg(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %m", p);
}

/* Builds TMP/img:busybox with three layers: the busybox tree, a whiteout of /etc/motd, and an opaque
 * replacement of /opt. */
static void build_image(void) {
        char root[1024], newopt[1024], layout[1024], bb[2048], tagged[1024];
        static const char *const applets[] = { "sh", "ls", "cat", "echo", "true", "id", "touch", "rm" };

        snprintf(root, sizeof root, "%s/src-root", tmp);
        snprintf(newopt, sizeof newopt, "%s/src-opt", tmp);
        snprintf(layout, sizeof layout, "%s/img", tmp);
        snprintf(tagged, sizeof tagged, "%s/img:busybox", tmp);
        ck_assert_int_eq(mkdir(root, 0755), 0);
        mkdirs(root, "bin");
        mkdirs(root, "etc");
        mkdirs(root, "tmp");
        mkdirs(root, "opt");
        mkdirs(root, "opt/old");
        mkfile(root, "opt/old/file", "old\n");
        mkfile(root, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
        mkfile(root, "etc/group", "root:x:0:\n");
        mkfile(root, "etc/motd", "to be deleted by layer 2\n");
        snprintf(bb, sizeof bb, "%s/bin/busybox", root);
        {
                TestBuf b = test_read_file("/bin/busybox");
                test_write_file(bb, b.data, b.size);
                free(b.data);
                ck_assert_int_eq(chmod(bb, 0755), 0);
        }
        FOREACH_ELEMENT(a, applets) {
                char p[4096];

                snprintf(p, sizeof p, "%s/bin/%s", root, *a);
                ck_assert_int_eq(symlink("busybox", p), 0);
        }
        ck_assert_int_eq(mkdir(newopt, 0755), 0);
        mkfile(newopt, "new", "new\n");

        ck_assert_int_eq(run((const char *const[]) { "umoci", "init", "--layout", layout, NULL }), 0);
        ck_assert_int_eq(run((const char *const[]) { "umoci", "new", "--image", tagged, NULL }), 0);
        ck_assert_int_eq(
                run((const char *const[]) { "umoci", "insert", "--image", tagged, root, "/", NULL }), 0);
        ck_assert_int_eq(run((const char *const[]) { "umoci", "insert", "--image", tagged, "--whiteout",
                                                     "/etc/motd", NULL }),
                         0);
        ck_assert_int_eq(run((const char *const[]) { "umoci", "insert", "--image", tagged, "--opaque",
                                                     newopt, "/opt", NULL }),
                         0);
        ck_assert_int_eq(
                run((const char *const[]) { "umoci", "config", "--image", tagged, "--config.entrypoint",
                                            "/bin/sh", "--config.env", "PATH=/bin", "--config.workingdir",
                                            "/tmp", "--config.label", "forgeone.test=live", NULL }),
                0);
        snprintf(image_ref, sizeof image_ref, "%s", tagged);

        /* A fourth layer the way image builders make them: unpack, change, repack (umoci writes ".wh."
         * entries for what was deleted). Tagged "repacked"; "busybox" stays as it was. */
        {
                char bundle[1024], repacked[1100], p[2048];

                snprintf(bundle, sizeof bundle, "%s/bundle", tmp);
                snprintf(repacked, sizeof repacked, "%s/img:repacked", tmp);
                ck_assert_int_eq(
                        run((const char *const[]) { "umoci", "unpack", "--image", tagged, bundle, NULL }),
                        0);
                snprintf(p, sizeof p, "%s/rootfs/etc/group", bundle);
                ck_assert_int_eq(unlink(p), 0);
                snprintf(p, sizeof p, "%s/rootfs/srv", bundle);
                ck_assert_int_eq(mkdir(p, 0755), 0);
                mkfile(bundle, "rootfs/srv/suid", "#!/bin/sh\n");
                snprintf(p, sizeof p, "%s/rootfs/srv/suid", bundle);
                ck_assert_int_eq(chmod(p, 04755), 0);
                ck_assert_int_eq(
                        run((const char *const[]) { "umoci", "repack", "--image", repacked, bundle, NULL }),
                        0);
        }
}

static void suite_setup(void) {
        tmp = test_mkdtemp();
        build_image();
}

static void suite_teardown(void) {
        test_rm_rf(tmp);
        free(tmp);
}

/* A private mount namespace for this test's process: whatever it mounts dies with it. */
static void private_mounts(void) {
        ck_assert_msg(unshare(CLONE_NEWNS) == 0, "unshare(CLONE_NEWNS): %m");
        ck_assert_msg(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0, "make / private: %m");
}

static bool mounted_at(const char *path) {
        FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[8192];
        bool found = false;

        ck_assert_ptr_nonnull(f);
        while (!found && fgets(line, sizeof line, f)) {
                char mp[4096];

                /* id parent major:minor root mountpoint ... */
                if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && streq(mp, path))
                        found = true;
        }
        fclose(f);
        return found;
}

/* Runs a shell command chrooted into the rootfs; returns its exit status. */
static int run_in(const char *rootfs, const char *script) {
        pid_t pid = fork();
        int status;

        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                if (chroot(rootfs) < 0 || chdir("/") < 0)
                        _exit(126);
                execle("/bin/sh", "sh", "-c", script, NULL, (char *const[]) { "PATH=/bin", NULL });
                _exit(127);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static char **unpack_image(const char *cache_name, OciImage **ret_image, int expect_unpacked) {
        _cleanup_(layer_cache_freep) LayerCache *c = NULL;
        char **lowers = NULL, cache[1024];
        ForgeError err = {};
        OciImage *image = NULL;
        int r;

        snprintf(cache, sizeof cache, "%s/%s", tmp, cache_name);
        ASSERT_OK(oci_image_open(image_ref, &image, &err));
        ck_assert_str_eq(image->tag, "busybox");
        ck_assert_uint_eq(image->n_layers, 3);
        ck_assert_str_eq(image->config.entrypoint[0], "/bin/sh");
        ck_assert_str_eq(image->config.working_dir, "/tmp");
        ck_assert_str_eq(image->config.labels[0], "forgeone.test=live");
        ASSERT_OK(layer_cache_open(cache, &c, &err));
        r = layer_cache_unpack_image(c, image, NULL, NULL, 0, NULL, NULL, &lowers, &err);
        ck_assert_msg(r == expect_unpacked, "unpacked %d layers, expected %d: %s", r, expect_unpacked,
                      err.message);
        *ret_image = image;
        return lowers;
}

START_TEST(test_overlay_rootfs) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_strv_free_ char **lowers = NULL;
        _cleanup_(rootfs_freep) Rootfs *rootfs = NULL;
        RootfsOptions opts = ROOTFS_OPTIONS_DEFAULT;
        char state[1024], p[4096];
        ForgeError err = {};
        struct stat st;

        private_mounts();
        lowers = unpack_image("cache-1", &image, 3);
        /* Owned as in the image: we unpacked as root. */
        snprintf(p, sizeof p, "%s/bin/busybox", lowers[0]);
        ck_assert_int_eq(lstat(p, &st), 0);
        ck_assert_int_eq(st.st_uid, 0);

        snprintf(state, sizeof state, "%s/state-overlay", tmp);
        opts.mode = ROOTFS_MODE_OVERLAY;
        ASSERT_OK(rootfs_assemble(lowers, state, &opts, &rootfs, &err));
        ck_assert_int_eq(rootfs->kind, ROOTFS_OVERLAY);
        ck_assert(mounted_at(rootfs->path));

        snprintf(p, sizeof p, "%s/bin/sh", rootfs->path);
        ck_assert_int_eq(lstat(p, &st), 0);
        ck_assert(S_ISLNK(st.st_mode));
        ck_assert_int_eq(run_in(rootfs->path, "test \"$(echo hi)\" = hi && test -x /bin/sh"), 0);
        /* Whiteout (layer 2) and opaque dir (layer 3), as overlayfs sees them. */
        ck_assert_int_eq(run_in(rootfs->path, "test ! -e /etc/motd && test -e /etc/passwd"), 0);
        ck_assert_int_eq(run_in(rootfs->path, "test -e /opt/new && test ! -e /opt/old"), 0);
        /* Writes land in the container's upper dir, never in the shared cache. */
        ck_assert_int_eq(run_in(rootfs->path, "echo x > /tmp/written && rm /etc/passwd"), 0);
        snprintf(p, sizeof p, "%s/upper/tmp/written", state);
        ck_assert(test_exists(p));
        snprintf(p, sizeof p, "%s/etc/passwd", lowers[0]);
        ck_assert(test_exists(p));

        ASSERT_OK(rootfs_teardown(state, &err));
        ck_assert(!mounted_at(rootfs->path));
        ck_assert_int_eq(test_count_entries(state, NULL), 0);
        /* Idempotent: a second "delete" finds nothing to do. */
        ASSERT_OK(rootfs_teardown(state, &err));
}
END_TEST

START_TEST(test_cached_second_container_and_copy) {
        _cleanup_(oci_image_freep) OciImage *image = NULL, *again = NULL;
        _cleanup_strv_free_ char **lowers = NULL, **lowers2 = NULL;
        _cleanup_(rootfs_freep) Rootfs *a = NULL, *b = NULL;
        RootfsOptions copy = ROOTFS_OPTIONS_DEFAULT;
        char sa[1024], sb[1024];
        ForgeError err = {};

        private_mounts();
        lowers = unpack_image("cache-2", &image, 3);
        lowers2 = unpack_image("cache-2", &again, 0); /* all three layers reused */

        snprintf(sa, sizeof sa, "%s/state-a", tmp);
        snprintf(sb, sizeof sb, "%s/state-b", tmp);
        ASSERT_OK(rootfs_assemble(lowers2, sa, NULL, &a, &err));
        ck_assert_int_eq(a->kind, ROOTFS_OVERLAY);
        copy.mode = ROOTFS_MODE_COPY;
        ASSERT_OK(rootfs_assemble(lowers2, sb, &copy, &b, &err));
        ck_assert_int_eq(b->kind, ROOTFS_COPY);
        ck_assert(!mounted_at(b->path));

        /* Same view either way. */
        ck_assert_int_eq(run_in(b->path, "test ! -e /etc/motd && test -e /opt/new && test ! -e /opt/old && "
                                         "test \"$(cat /etc/group)\" = root:x:0:"),
                         0);
        ck_assert_int_eq(run_in(a->path, "touch /only-in-a"), 0);
        ck_assert_int_eq(run_in(b->path, "test ! -e /only-in-a"), 0);

        ASSERT_OK(rootfs_teardown(sa, &err));
        ASSERT_OK(rootfs_teardown(sb, &err));
        ck_assert(!mounted_at(a->path));
        ck_assert_int_eq(test_count_entries(sa, NULL), 0);
        ck_assert_int_eq(test_count_entries(sb, NULL), 0);
}
END_TEST

START_TEST(test_teardown_busy_rootfs) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_strv_free_ char **lowers = NULL;
        _cleanup_(rootfs_freep) Rootfs *rootfs = NULL;
        _cleanup_close_ int busy = -EBADF;
        char state[1024], p[4096];
        ForgeError err = {};

        private_mounts();
        lowers = unpack_image("cache-3", &image, 3);
        snprintf(state, sizeof state, "%s/state-busy", tmp);
        ASSERT_OK(rootfs_assemble(lowers, state, NULL, &rootfs, &err));

        /* A process still holding a file open (a container not yet reaped): detached, not left mounted. */
        snprintf(p, sizeof p, "%s/etc/passwd", rootfs->path);
        busy = open(p, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(busy, 0);
        ASSERT_OK(rootfs_teardown(state, &err));
        ck_assert(!mounted_at(rootfs->path));

        /* Assembling over leftovers is refused with a clear message. */
        ck_assert_int_eq(mkdir(state, 0700) == 0 || errno == EEXIST, 1);
        ck_assert_int_eq(mkdir(rootfs->path, 0755), 0);
        ck_assert_int_lt(rootfs_assemble(lowers, state, NULL, &rootfs, &err), 0);
        ck_assert_msg(strstr(err.message, "already exists"), "%s", err.message);
}
END_TEST

static void flip_middle_byte(const char *path) {
        TestBuf b = test_read_file(path);

        b.data[b.size / 2] ^= 0x20;
        test_write_file(path, b.data, b.size);
        free(b.data);
}

static void expect_unpack_refused(const char *ref, const char *cache_name, const char *needle) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_(layer_cache_freep) LayerCache *c = NULL;
        _cleanup_strv_free_ char **lowers = NULL;
        char cache[1024];
        ForgeError err = {};

        snprintf(cache, sizeof cache, "%s/%s", tmp, cache_name);
        ASSERT_OK(oci_image_open(ref, &image, &err));
        ASSERT_OK(layer_cache_open(cache, &c, &err));
        ck_assert_int_lt(layer_cache_unpack_image(c, image, NULL, NULL, 0, NULL, NULL, &lowers, &err), 0);
        ck_assert_msg(strstr(err.message, needle), "message \"%s\" lacks \"%s\"", err.message, needle);
        ck_assert_int_eq(test_count_entries(cache, (const char *const[]) { ".lock", NULL }), 0);
}

/* The acceptance cases of issue 4, as root (ownership kept, trusted.* xattrs): each refused with a clear
 * message, nothing left in the cache, nothing written outside. */
START_TEST(test_refusals_as_root) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        char copy[1024], ref[1100], blob[2048], planted[1024];
        ForgeError err = {};
        TestTar *t;

        /* Tampered layer of the umoci image: same size, one byte changed. */
        snprintf(copy, sizeof copy, "%s/img-tampered", tmp);
        ck_assert_int_eq(run((const char *const[]) { "cp", "-a", image_ref_dir(), copy, NULL }), 0);
        snprintf(ref, sizeof ref, "%s:busybox", copy);
        ASSERT_OK(oci_image_open(ref, &image, &err));
        snprintf(blob, sizeof blob, "%s/blobs/sha256/%s", copy, image->layers[0].blob.digest + 7);
        flip_middle_byte(blob);
        expect_unpack_refused(ref, "cache-tampered", "layer blob: digest mismatch: expected sha256:");

        /* Wrong size: the blob is shorter than its descriptor says. */
        oci_image_free(TAKE_PTR(image));
        snprintf(copy, sizeof copy, "%s/img-short", tmp);
        ck_assert_int_eq(run((const char *const[]) { "cp", "-a", image_ref_dir(), copy, NULL }), 0);
        snprintf(ref, sizeof ref, "%s:busybox", copy);
        ASSERT_OK(oci_image_open(ref, &image, &err));
        snprintf(blob, sizeof blob, "%s/blobs/sha256/%s", copy, image->layers[1].blob.digest + 7);
        ck_assert_int_eq(truncate(blob, image->layers[1].blob.size - 3), 0);
        oci_image_free(TAKE_PTR(image));
        ck_assert_int_lt(oci_image_open(ref, &image, &err), 0);
        ck_assert_msg(strstr(err.message, "size mismatch: descriptor says"), "%s", err.message);

        /* Traversal. */
        snprintf(planted, sizeof planted, "%s/planted", tmp);
        t = test_tar_new();
        test_tar_file(t, "../../../planted", "x");
        {
                TestLayer l = { .tar = test_tar_finish(t), .compression = OCI_COMPRESSION_GZIP };
                snprintf(copy, sizeof copy, "%s/img-traversal", tmp);
                free(test_layout_simple(copy, &l, 1, "bad"));
                free(l.tar.data);
        }
        snprintf(ref, sizeof ref, "%s:bad", copy);
        expect_unpack_refused(ref, "cache-traversal", "path contains \"..\"");

        /* Absolute symlink escape: a symlink to the host's temp dir, then a file through it. */
        t = test_tar_new();
        test_tar_symlink(t, "escape", tmp);
        test_tar_file(t, "escape/planted", "x");
        {
                TestLayer l = { .tar = test_tar_finish(t), .compression = OCI_COMPRESSION_GZIP };
                snprintf(copy, sizeof copy, "%s/img-symlink", tmp);
                free(test_layout_simple(copy, &l, 1, "bad"));
                free(l.tar.data);
        }
        snprintf(ref, sizeof ref, "%s:bad", copy);
        expect_unpack_refused(ref, "cache-symlink",
                              "parent \"escape\" is a symlink; refusing to write through it");

        /* Whiteouts: through a symlink, and of "..". */
        t = test_tar_new();
        test_tar_symlink(t, "hostetc", "/etc");
        test_tar_file(t, "hostetc/.wh.passwd", "");
        {
                TestLayer l = { .tar = test_tar_finish(t), .compression = OCI_COMPRESSION_NONE };
                snprintf(copy, sizeof copy, "%s/img-whiteout", tmp);
                free(test_layout_simple(copy, &l, 1, "bad"));
                free(l.tar.data);
        }
        snprintf(ref, sizeof ref, "%s:bad", copy);
        expect_unpack_refused(ref, "cache-whiteout", "parent \"hostetc\" is a symlink");
        t = test_tar_new();
        test_tar_file(t, "etc/.wh..", "");
        {
                TestLayer l = { .tar = test_tar_finish(t), .compression = OCI_COMPRESSION_NONE };
                snprintf(copy, sizeof copy, "%s/img-whiteout2", tmp);
                free(test_layout_simple(copy, &l, 1, "bad"));
                free(l.tar.data);
        }
        snprintf(ref, sizeof ref, "%s:bad", copy);
        expect_unpack_refused(ref, "cache-whiteout2", "invalid whiteout name");

        ck_assert(!test_exists(planted));
        ck_assert(test_exists("/etc/passwd"));
}
END_TEST

/* In a fresh user namespace (root mapped to root, as a runtime maps its container): overlayfs only reads
 * user.overlay.* there, so the rootfs must be mounted with "userxattr" and still hide what the opaque /opt
 * hides. Runs in a child; the message comes back through a pipe. */
static int assemble_in_userns(char *const *lowers, const char *state, char *msg, size_t msg_size) {
        int p[2], status;
        pid_t pid;
        ssize_t n;

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                _cleanup_(rootfs_freep) Rootfs *rootfs = NULL;
                ForgeError err = {};
                char m[2048];
                int code = 0;

                close(p[0]);
                if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                        _exit(10);
                test_write_file("/proc/self/setgroups", "deny", 4);
                test_write_file("/proc/self/uid_map", "0 0 1", 5);
                test_write_file("/proc/self/gid_map", "0 0 1", 5);
                if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                        _exit(11);
                if (rootfs_assemble(lowers, state, NULL, &rootfs, &err) < 0) {
                        snprintf(m, sizeof m, "%s", err.message);
                        code = 1;
                } else if (rootfs->kind != ROOTFS_OVERLAY) {
                        snprintf(m, sizeof m, "fell back to a copy: %s", strempty(rootfs->fallback_reason));
                        code = 2;
                } else if (run_in(rootfs->path,
                                  "test -e /opt/new && test ! -e /opt/old && test ! -e /etc/motd && "
                                  "test \"$(echo ok)\" = ok") != 0) {
                        snprintf(m, sizeof m, "merged view is wrong inside the user namespace");
                        code = 3;
                } else if (rootfs_teardown(state, &err) < 0) {
                        snprintf(m, sizeof m, "teardown: %s", err.message);
                        code = 4;
                } else
                        snprintf(m, sizeof m, "ok");
                (void) !write(p[1], m, strlen(m));
                _exit(code);
        }
        close(p[1]);
        n = read(p[0], msg, msg_size - 1);
        msg[n > 0 ? n : 0] = 0;
        close(p[0]);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        return WEXITSTATUS(status);
}

START_TEST(test_overlay_in_user_namespace) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_strv_free_ char **lowers = NULL;
        _cleanup_free_ char *edited = NULL;
        char state[1024], meta[4096], msg[2048];
        TestBuf b;
        char *x;

        private_mounts();
        lowers = unpack_image("cache-userns", &image, 3);
        snprintf(state, sizeof state, "%s/state-userns", tmp);
        ck_assert_msg(assemble_in_userns(lowers, state, msg, sizeof msg) == 0, "%s", msg);
        ck_assert_str_eq(msg, "ok");

        /* A cache entry that marks opaque dirs for trusted.* only (as older unpackers did) cannot be shown
         * correctly there: refused, never a wrong view. */
        snprintf(meta, sizeof meta, "%s/../layer.json", lowers[2]);
        b = test_read_file(meta);
        x = strstr(b.data, "\"opaque_xattr\":\"both\"");
        ck_assert_ptr_nonnull(x);
        ck_assert_int_ge(asprintf(&edited, "%.*s\"opaque_xattr\":\"trusted\"%s", (int) (x - b.data), b.data,
                                  x + strlen("\"opaque_xattr\":\"both\"")),
                         0);
        test_write_file(meta, edited, strlen(edited));
        free(b.data);
        ck_assert_int_eq(assemble_in_userns(lowers, state, msg, sizeof msg), 1);
        ck_assert_msg(
                strstr(msg, "marks its opaque directories only with trusted.overlay.opaque, which cannot be "
                            "read inside a user namespace"),
                "%s", msg);
        ck_assert_int_eq(test_count_entries(state, NULL), 0);
}
END_TEST

START_TEST(test_umoci_repack) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_(layer_cache_freep) LayerCache *c = NULL;
        _cleanup_strv_free_ char **lowers = NULL;
        _cleanup_(rootfs_freep) Rootfs *rootfs = NULL;
        char ref[4200], cache[1024], state[1024], p[4096];
        ForgeError err = {};
        struct stat st;

        private_mounts();
        snprintf(ref, sizeof ref, "%s:repacked", image_ref_dir());
        snprintf(cache, sizeof cache, "%s/cache-repack", tmp);
        snprintf(state, sizeof state, "%s/state-repack", tmp);
        ASSERT_OK(oci_image_open(ref, &image, &err));
        ck_assert_uint_eq(image->n_layers, 4);
        ck_assert_str_eq(image->tag, "repacked");
        ASSERT_OK(layer_cache_open(cache, &c, &err));
        ck_assert_int_eq(layer_cache_unpack_image(c, image, NULL, NULL, 0, NULL, NULL, &lowers, &err), 4);
        ASSERT_OK(rootfs_assemble(lowers, state, NULL, &rootfs, &err));
        ck_assert_int_eq(rootfs->kind, ROOTFS_OVERLAY);

        ck_assert_int_eq(
                run_in(rootfs->path, "test ! -e /etc/group && test -e /etc/passwd && test -e /opt/new"), 0);
        /* setuid kept (inert under no_new_privs), owner root as in the image. */
        snprintf(p, sizeof p, "%s/srv/suid", rootfs->path);
        ck_assert_int_eq(lstat(p, &st), 0);
        ck_assert_int_eq(st.st_mode & 07777, 04755);
        ck_assert_int_eq(st.st_uid, 0);

        ASSERT_OK(rootfs_teardown(state, &err));
        ck_assert(!mounted_at(rootfs->path));
}
END_TEST

static Suite *image_live_suite(void) {
        Suite *s = suite_create("image-live");
        TCase *tc = tcase_create("umoci-busybox");

        tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_overlay_rootfs);
        tcase_add_test(tc, test_cached_second_container_and_copy);
        tcase_add_test(tc, test_teardown_busy_rootfs);
        tcase_add_test(tc, test_refusals_as_root);
        tcase_add_test(tc, test_overlay_in_user_namespace);
        tcase_add_test(tc, test_umoci_repack);
        suite_add_tcase(s, tc);
        return s;
}

static bool have_overlay(void) {
        FILE *f = fopen("/proc/filesystems", "re");
        char line[256];
        bool found = false;

        if (!f)
                return false;
        while (!found && fgets(line, sizeof line, f))
                found = strstr(line, "\toverlay\n") != NULL;
        fclose(f);
        return found;
}

int main(void) {
        if (geteuid() != 0)
                FO_TEST_SKIP("needs root (mounts overlayfs, chroots)");
        if (access("/bin/busybox", X_OK) < 0)
                FO_TEST_SKIP("/bin/busybox not installed (busybox-static)");
        if (run((const char *const[]) { "umoci", "--version", NULL }) != 0)
                FO_TEST_SKIP("umoci not installed");
        if (!have_overlay())
                FO_TEST_SKIP("kernel has no overlayfs");
        return fo_test_run(image_live_suite());
}
