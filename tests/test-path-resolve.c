/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Path resolution inside a root, on a real temporary tree (no root privileges needed). */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forgeone/path-resolve.h"
#include "test-util.h"

static char tree[] = "/tmp/fo-path-XXXXXX";
static char priv[600];
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
        ck_assert_int_eq(chmod(tree, 0755), 0);
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
        mk("priv", true);
        mk("priv/f", false);
        snprintf(priv, sizeof priv, "%s/priv", tree);
        ck_assert_int_eq(chmod(priv, 0), 0); /* not even searchable by its owner */
        root_fd = open(tree, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(root_fd, 0);
}

static void teardown(void) {
        char cmd[600];
        (void) chmod(priv, 0755);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tree);
        ck_assert_int_eq(system(cmd), 0);
        close(root_fd);
}

static void check_walk(const char *base, const char *path, unsigned flags, int expect_r, const char *expect,
                       const char *expect_walk) {
        _cleanup_free_ char *out = NULL, *walk = NULL;
        int r = path_resolve_in_root(root_fd, NULL, base, path, flags, &out, &walk, NULL);

        ck_assert_msg(r == expect_r, "%s (base %s): got %d, expected %d", path, strempty(base), r, expect_r);
        if (expect)
                ck_assert_str_eq(out, expect);
        if (expect_walk)
                ck_assert_str_eq(walk, expect_walk);
}

static void check(const char *base, const char *path, unsigned flags, int expect_r, const char *expect) {
        check_walk(base, path, flags, expect_r, expect, NULL);
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
        check(NULL, "/loop1", 0, ELOOP, NULL);
        check(NULL, "/loop1/x", 0, ELOOP, NULL);
        check(NULL, "/loop1", PATH_RESOLVE_NOFOLLOW, 0, "/loop1");
        check(NULL, "/nope/x", 0, ENOENT, "/nope/x");
        check(NULL, "/nope/../etc/shadow", 0, ENOENT, "/etc/shadow");
        check(NULL, "/etc/new-file", 0, 0, "/etc/new-file");
        check(NULL, "/etc/passwd/x", 0, ENOTDIR, "/etc/passwd/x");
        /* Runs of directories are walked in one step when they cross no symlink, else one by one: the
         * same answers. */
        check(NULL, "/etc/passwd/x/y", 0, ENOTDIR, "/etc/passwd/x/y");
        check(NULL, "/usr/nope/x/y", 0, ENOENT, "/usr/nope/x/y");
        check(NULL, "/bin/../bin/true", 0, 0, "/usr/bin/true");
        check_walk(NULL, "/usr/bin/true", 0, 0, "/usr/bin/true", "/usr/bin/true");
        check_walk(NULL, "/link-rel/../usr/bin/true", 0, 0, "/usr/bin/true", "/usr/bin/true");
        /* What the last component is, is the call's own lookup to find; but with a trailing slash it must
         * be a directory that is there. */
        check_walk(NULL, "/etc/new-file", 0, 0, "/etc/new-file", "/etc/new-file");
        check_walk(NULL, "/etc/passwd/", 0, ENOTDIR, "/etc/passwd", "/etc/passwd/");
        check_walk(NULL, "/etc/x/", 0, ENOENT, "/etc/x", "/etc/x/");
        check("relative", "x", 0, -EINVAL, NULL);
}
END_TEST

START_TEST(test_long) {
        char longname[300], p[310];
        memset(longname, 'a', sizeof longname - 1);
        longname[sizeof longname - 1] = 0;
        /* A name above NAME_MAX: ENAMETOOLONG where the kernel's walk meets it. */
        check(NULL, longname, 0, 0, NULL);
        snprintf(p, sizeof p, "%s/x", longname);
        check(NULL, p, 0, ENAMETOOLONG, NULL);
}
END_TEST

/* The walk keeps the path as given, so that the emulated call's own walk checks every directory. */
START_TEST(test_walk) {
        unsigned flags = 0;
        _cleanup_free_ char *out = NULL, *walk = NULL;

        /* Lexically: no lookup at all, the walk is the path as given from the base. */
        check_walk("/usr/bin", "../../etc/./passwd", PATH_RESOLVE_LEXICAL, 0, "/etc/passwd",
                   "/usr/bin/../../etc/./passwd");
        check_walk(NULL, "/priv/../etc//passwd", PATH_RESOLVE_LEXICAL, 0, "/etc/passwd", "/priv/../etc//passwd");
        check_walk(NULL, "/link-rel/shadow", PATH_RESOLVE_LEXICAL, 0, "/link-rel/shadow", "/link-rel/shadow");
        ck_assert_int_eq(path_resolve_in_root(root_fd, NULL, NULL, "/etc", PATH_RESOLVE_LEXICAL, &out, &walk, &flags), 0);
        ck_assert_uint_eq(flags, PATH_RESOLVE_RESULT_LEXICAL);
        /* procfs is never walked lexically: it answers for whoever reads it. */
        free(out);
        out = NULL;
        ck_assert_int_eq(path_resolve_in_root(root_fd, NULL, NULL, "/proc/cpuinfo", PATH_RESOLVE_LEXICAL, &out, NULL,
                                              &flags), -EAGAIN);
        ck_assert_int_eq(path_resolve_in_root(root_fd, NULL, "/etc", "self/x", PATH_RESOLVE_LEXICAL, &out, NULL,
                                              &flags), -EAGAIN);

        /* Resolved: the resolved parent and the last component as given. */
        check_walk(NULL, "/link-rel/shadow", 0, 0, "/etc/shadow", "/etc/shadow");
        check_walk(NULL, "/link-rel/..", 0, 0, "/", "/etc/..");
        check_walk(NULL, "/link-rel/.", 0, 0, "/etc", "/etc/.");
        check_walk(NULL, "/dir/../etc/passwd", 0, 0, "/etc/passwd", "/etc/passwd");
        check_walk(NULL, "/link-abs", PATH_RESOLVE_NOFOLLOW, 0, "/link-abs", "/link-abs");
        check_walk(NULL, "/link-abs", 0, 0, "/etc/passwd", "/etc/passwd");
}
END_TEST

/* The lookups are made with the caller's credentials: ".." does not skip the search permission of the
 * directory before it. Root is made an unprivileged user in a child for that. */
START_TEST(test_permissions) {
        pid_t pid = fork();
        int status;

        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                _cleanup_free_ char *out = NULL, *walk = NULL;
                int r;

                if (geteuid() == 0 && (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setresgid, 65534, 65534, 65534) < 0 ||
                                       syscall(SYS_setresuid, 65534, 65534, 65534) < 0))
                        _exit(10);
                r = path_resolve_in_root(root_fd, NULL, NULL, "/priv/../etc/passwd", 0, &out, &walk, NULL);
                if (r != EACCES || !streq(out, "/etc/passwd"))
                        _exit(11);
                r = path_resolve_in_root(root_fd, NULL, NULL, "/priv/f", 0, &out, &walk, NULL);
                if (r != 0) /* the last component is the call's to look up */
                        _exit(12);
                r = path_resolve_in_root(root_fd, NULL, NULL, "/priv/f/x", 0, &out, &walk, NULL);
                if (r != EACCES)
                        _exit(13);
                /* Lexically nothing is looked up: the emulated call's walk finds EACCES itself. */
                r = path_resolve_in_root(root_fd, NULL, NULL, "/priv/../etc/passwd", PATH_RESOLVE_LEXICAL, &out,
                                         &walk, NULL);
                if (r != 0 || !streq(walk, "/priv/../etc/passwd"))
                        _exit(14);
                /* The kernel's own walk searches with the caller's credentials too. */
                free(out);
                out = NULL;
                if (path_resolve_by_kernel(root_fd, tree, NULL, "/priv/../etc/passwd", &out) != -EACCES)
                        _exit(15);
                if (path_resolve_by_kernel(root_fd, tree, NULL, "/priv/f", &out) != -EACCES)
                        _exit(16);
                _exit(0);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
}
END_TEST

/* The kernel's own walk names what it reached: where it can answer, the same judged path as the walk in
 * steps; where it cannot (missing, a loop, outside the tree), an error and the caller walks in steps. */
static void check_kernel(const char *base, const char *path, int expect_r, const char *expect) {
        _cleanup_free_ char *out = NULL, *stepped = NULL;
        int r = path_resolve_by_kernel(root_fd, tree, base, path, &out);

        ck_assert_msg(r == expect_r, "%s (base %s): got %d, expected %d", path, strempty(base), r, expect_r);
        if (r < 0)
                return;
        ck_assert_str_eq(out, expect);
        ck_assert_int_eq(path_resolve_in_root(root_fd, NULL, base, path, 0, &stepped, NULL, NULL), 0);
        ck_assert_str_eq(out, stepped);
}

START_TEST(test_kernel) {
        check_kernel(NULL, "/etc/passwd", 0, "/etc/passwd");
        check_kernel(NULL, "//etc/./passwd", 0, "/etc/passwd");
        check_kernel(NULL, "/bin/true", 0, "/usr/bin/true");
        check_kernel(NULL, "/link-abs", 0, "/etc/passwd");
        check_kernel(NULL, "/link-rel/shadow", 0, "/etc/shadow");
        check_kernel(NULL, "/link-rel/..", 0, "/");
        check_kernel(NULL, "/link-rel/", 0, "/etc");
        check_kernel(NULL, "/dir/up", 0, "/etc/shadow"); /* ".." above the root stays at it */
        check_kernel(NULL, "/../../../etc/shadow", 0, "/etc/shadow");
        check_kernel(NULL, "/bin/../bin/true", 0, "/usr/bin/true");
        check_kernel(NULL, "/", 0, "/");
        check_kernel("/dir", "up", 0, "/etc/shadow");
        check_kernel("/usr/bin", "../../bin/true", 0, "/usr/bin/true");
        check_kernel("/usr", "bin", 0, "/usr/bin");
        check_kernel("/", "link-abs", 0, "/etc/passwd");
        /* What it cannot answer. */
        check_kernel(NULL, "/escape", -ENOENT, NULL);
        check_kernel(NULL, "/bin/../etc/passwd", -ENOENT, NULL);
        check_kernel(NULL, "/nope", -ENOENT, NULL);
        check_kernel(NULL, "/loop1", -ELOOP, NULL);
        check_kernel(NULL, "/etc/passwd/", -ENOTDIR, NULL);
        check_kernel("relative", "x", -EINVAL, NULL);
        /* Outside the root as the caller names it. */
        {
                _cleanup_free_ char *out = NULL;
                ck_assert_int_eq(path_resolve_by_kernel(root_fd, "/nowhere", NULL, "/etc/passwd", &out), -EXDEV);
        }
}
END_TEST

/* Magic links are not followed, nor mounts crossed: procfs (its "self" answers for the reader). */
START_TEST(test_kernel_proc) {
        _cleanup_close_ int proc_root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *out = NULL;
        int r;

        ck_assert_int_ge(proc_root, 0);
        ck_assert_int_eq(path_resolve_by_kernel(proc_root, "/", NULL, "/proc/self/cwd", &out), -EXDEV);
        ck_assert_int_eq(path_resolve_by_kernel(proc_root, "/", NULL, "/proc/version", &out), -EXDEV);
        /* From inside procfs: the magic link itself is refused. */
        {
                _cleanup_close_ int pfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
                ck_assert_int_ge(pfd, 0);
                r = path_resolve_by_kernel(pfd, "/proc", NULL, "self/cwd", &out);
                ck_assert_int_eq(r, -ELOOP);
        }
}
END_TEST

START_TEST(test_normalize) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        ck_assert_int_eq(path_normalize("/a/./b//../c/", &a), 0);
        ck_assert_str_eq(a, "/a/c");
        ck_assert_int_eq(path_normalize("/../..", &b), 0);
        ck_assert_str_eq(b, "/");
        ck_assert_int_eq(path_normalize("///", &c), 0);
        ck_assert_str_eq(c, "/");
        ck_assert_int_eq(path_normalize("a/b", &c), -EINVAL);
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
        tcase_add_test(tc, test_walk);
        tcase_add_test(tc, test_permissions);
        tcase_add_test(tc, test_kernel);
        tcase_add_test(tc, test_kernel_proc);
        suite_add_tcase(s, tc);

        tc = tcase_create("strings");
        tcase_add_test(tc, test_strip_root);
        tcase_add_test(tc, test_components);
        tcase_add_test(tc, test_normalize);
        suite_add_tcase(s, tc);
        return fo_test_run(s);
}
