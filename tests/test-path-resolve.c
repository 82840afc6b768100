/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Path resolution inside a root, on a real temporary tree (no root privileges needed). */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "forgeone/path-resolve.h"
#include "test-util.h"

static char tree[] = "/tmp/fo-path-XXXXXX";
static int root_fd = -EBADF;

static void mk(const char *rel, bool dir) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", tree, rel);
        if (dir)
                ck_assert_int_eq(mkdir(p, 0755), 0);
        else {
                int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
                ck_assert_int_ge(fd, 0);
                close(fd);
        }
}

static void ln(const char *target, const char *rel) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", tree, rel);
        ck_assert_int_eq(symlink(target, p), 0);
}

static void setup(void) {
        ck_assert_ptr_nonnull(mkdtemp(tree));
        mk("etc", true);
        mk("etc/shadow", false);
        mk("etc/passwd", false);
        mk("usr", true);
        mk("usr/bin", true);
        mk("usr/bin/true", false);
        mk("dir", true);
        ln("/etc/passwd", "link-abs");
        ln("../etc", "link-rel");
        ln("../../../../etc/shadow", "dir/up");
        ln("loop2", "loop1");
        ln("loop1", "loop2");
        ln("usr/bin", "bin");
        ln("/../../../../tmp", "escape");
        root_fd = open(tree, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(root_fd, 0);
}

static void teardown(void) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tree);
        ck_assert_int_eq(system(cmd), 0);
        close(root_fd);
}

static void check(const char *base, const char *path, unsigned flags, int expect_r, const char *expect) {
        _cleanup_free_ char *out = NULL;
        int r = path_resolve_in_root(root_fd, NULL, base, path, flags, &out, NULL);

        ck_assert_msg(r == expect_r, "%s (base %s): got %d, expected %d", path, strempty(base), r, expect_r);
        if (expect)
                ck_assert_str_eq(out, expect);
}

START_TEST(test_plain) {
        check(NULL, "/etc/shadow", 0, 0, "/etc/shadow");
        check(NULL, "//etc/./shadow", 0, 0, "/etc/shadow");
        check("/etc", "shadow", 0, 0, "/etc/shadow");
        check("/etc", "./passwd", 0, 0, "/etc/passwd");
        check(NULL, "/", 0, 0, "/");
        check(NULL, "/..", 0, 0, "/");
        check("/usr/bin", "../../../../../etc/passwd", 0, 0, "/etc/passwd");
        check("/usr/bin", "", 0, 0, "/usr/bin");
}
END_TEST

START_TEST(test_symlinks) {
        check(NULL, "/link-abs", 0, 0, "/etc/passwd");
        check(NULL, "/link-abs", PATH_RESOLVE_NOFOLLOW, 0, "/link-abs");
        check(NULL, "/link-rel/shadow", 0, 0, "/etc/shadow");
        check(NULL, "/link-rel/shadow", PATH_RESOLVE_NOFOLLOW, 0, "/etc/shadow");
        check(NULL, "/dir/up", 0, 0, "/etc/shadow");
        check("/dir", "up", 0, 0, "/etc/shadow");
        check(NULL, "/bin/true", 0, 0, "/usr/bin/true");
        check(NULL, "/bin/../etc/passwd", 0, ENOENT, "/usr/etc/passwd");
        /* A trailing slash forces following even with NOFOLLOW. */
        check(NULL, "/link-rel/", PATH_RESOLVE_NOFOLLOW, 0, "/etc");
}
END_TEST

START_TEST(test_escape) {
        /* Absolute targets and ".." restart at / stay in the root: /tmp of the tree, which is missing. */
        check(NULL, "/escape", 0, 0, "/tmp");
        check(NULL, "/escape/x", 0, ENOENT, "/tmp/x");
        check(NULL, "/../../../etc/shadow", 0, 0, "/etc/shadow");
}
END_TEST

START_TEST(test_errors) {
        check(NULL, "/loop1", 0, -ELOOP, NULL);
        check(NULL, "/loop1", PATH_RESOLVE_NOFOLLOW, 0, "/loop1");
        check(NULL, "/nope/x", 0, ENOENT, "/nope/x");
        check(NULL, "/nope/../etc/shadow", 0, ENOENT, "/etc/shadow");
        check(NULL, "/etc/new-file", 0, 0, "/etc/new-file");
        check(NULL, "/etc/passwd/x", 0, ENOTDIR, "/etc/passwd/x");
        check("relative", "x", 0, -EINVAL, NULL);
}
END_TEST

START_TEST(test_long) {
        char longname[300];
        memset(longname, 'a', sizeof longname - 1);
        longname[sizeof longname - 1] = 0;
        check(NULL, longname, 0, -ENAMETOOLONG, NULL);
}
END_TEST

START_TEST(test_strip_root) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

        ck_assert_int_eq(path_strip_root("/", "/etc/x", &a), 0);
        ck_assert_str_eq(a, "/etc/x");
        ck_assert_int_eq(path_strip_root("/srv/root/", "/srv/root/etc", &b), 0);
        ck_assert_str_eq(b, "/etc");
        ck_assert_int_eq(path_strip_root("/srv/root", "/srv/root", &c), 0);
        ck_assert_str_eq(c, "/");
        ck_assert_int_eq(path_strip_root("/srv/root", "/srv/rootfs/etc", &d), -EXDEV);
        ck_assert_int_eq(path_strip_root("/srv/root", "/etc", &d), -EXDEV);
}
END_TEST

START_TEST(test_components) {
        _cleanup_free_ char *p1 = NULL, *p2 = NULL;

        ck_assert_str_eq(path_last_component("/etc/shadow"), "shadow");
        ck_assert_str_eq(path_last_component("/"), "");
        ck_assert_int_eq(path_parent("/etc/shadow", &p1), 0);
        ck_assert_str_eq(p1, "/etc");
        ck_assert_int_eq(path_parent("/etc", &p2), 0);
        ck_assert_str_eq(p2, "/");
}
END_TEST

int main(void) {
        Suite *s = suite_create("path-resolve");
        TCase *tc = tcase_create("resolve");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_plain);
        tcase_add_test(tc, test_symlinks);
        tcase_add_test(tc, test_escape);
        tcase_add_test(tc, test_errors);
        tcase_add_test(tc, test_long);
        suite_add_tcase(s, tc);

        tc = tcase_create("strings");
        tcase_add_test(tc, test_strip_root);
        tcase_add_test(tc, test_components);
        suite_add_tcase(s, tc);
        return fo_test_run(s);
}
