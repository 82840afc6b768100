/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The shared file and time helpers (fs-util.h, time-util.h), on a scratch directory. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "test-util.h"

#include "forgeone/fs-util.h"
#include "forgeone/macro.h"
#include "forgeone/time-util.h"

static char tmpdir[] = "/tmp/test-fs-util-XXXXXX";

static void setup(void) {
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void) {
        char cmd[256];

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        ck_assert_int_eq(system(cmd), 0);
}

static void write_bytes(int dir_fd, const char *name, size_t n) {
        _cleanup_free_ char *data = malloc(n + 1);
        _cleanup_close_ int fd = -EBADF;

        ck_assert_ptr_nonnull(data);
        for (size_t i = 0; i < n; i++)
                data[i] = (char) ('a' + i % 26);
        fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write_all(fd, data, n), 0);
}

START_TEST(test_read_full_file_at) {
        _cleanup_close_ int dfd = open(tmpdir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        char *text = NULL, path[512];
        size_t n = 1;

        ck_assert_int_ge(dfd, 0);
        /* Empty: "" and size 0. */
        write_bytes(dfd, "empty", 0);
        ck_assert_int_eq(read_full_file_at(dfd, "empty", 16, &text, &n), 0);
        ck_assert_str_eq(text, "");
        ck_assert_uint_eq(n, 0);
        free(text);

        /* Across the buffer growth (4096, 8192, ...), up to exactly the cap. */
        write_bytes(dfd, "big", 100000);
        ck_assert_int_eq(read_full_file_at(dfd, "big", 100000, &text, &n), 0);
        ck_assert_uint_eq(n, 100000);
        ck_assert_uint_eq(strlen(text), 100000);
        ck_assert_int_eq(text[99999], 'a' + 99999 % 26);
        free(text);
        text = NULL;
        ck_assert_int_eq(read_full_file_at(dfd, "big", 99999, &text, &n), -EFBIG);
        ck_assert_ptr_null(text);
        ck_assert_int_eq(read_full_file_at(dfd, "big", 4096, &text, NULL), -EFBIG);

        /* AT_FDCWD with a full path; no symlink is followed; missing files are -ENOENT. */
        snprintf(path, sizeof path, "%s/big", tmpdir);
        ck_assert_int_eq(read_full_file_at(AT_FDCWD, path, 1 << 20, &text, NULL), 0);
        free(text);
        ck_assert_int_eq(symlinkat("big", dfd, "link"), 0);
        ck_assert_int_eq(read_full_file_at(dfd, "link", 1 << 20, &text, NULL), -ELOOP);
        ck_assert_int_eq(read_full_file_at(dfd, "missing", 1 << 20, &text, NULL), -ENOENT);
}
END_TEST

START_TEST(test_mkdir_p) {
        char path[512];
        struct stat st;

        snprintf(path, sizeof path, "%s/a/b//c", tmpdir);
        ck_assert_int_eq(mkdir_p(path, 0700), 0);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert(S_ISDIR(st.st_mode));
        ck_assert_int_eq(st.st_mode & 07777, 0700);
        /* Existing parts are fine; a file in the way is not. */
        ck_assert_int_eq(mkdir_p(path, 0700), 0);
        snprintf(path, sizeof path, "%s/a/file", tmpdir);
        int fd = creat(path, 0644);
        ck_assert_int_ge(fd, 0);
        close(fd);
        snprintf(path, sizeof path, "%s/a/file/sub", tmpdir);
        ck_assert_int_eq(mkdir_p(path, 0700), -ENOTDIR);
        ck_assert_int_eq(mkdir_p("", 0700), -EINVAL);
        ck_assert_int_eq(mkdir_p(NULL, 0700), -EINVAL);
}
END_TEST

START_TEST(test_opendir_at) {
        _cleanup_close_ int dfd = open(tmpdir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        struct dirent *de;
        DIR *d;
        int seen;

        ck_assert_int_ge(dfd, 0);
        ck_assert_int_eq(mkdirat(dfd, "sub", 0755), 0);
        write_bytes(dfd, "sub/x", 1);
        ck_assert_int_eq(symlinkat("sub", dfd, "link"), 0);

        /* dir_fd itself, twice: each stream starts at the beginning and dir_fd stays usable. */
        for (int round = 0; round < 2; round++) {
                ck_assert_int_eq(opendir_at(dfd, NULL, &d), 0);
                seen = 0;
                while ((de = readdir(d)))
                        seen += streq(de->d_name, "sub") || streq(de->d_name, "link");
                closedir(d);
                ck_assert_int_eq(seen, 2);
        }
        ck_assert_int_eq(opendir_at(dfd, "sub", &d), 0);
        seen = 0;
        while ((de = readdir(d)))
                seen += streq(de->d_name, "x");
        closedir(d);
        ck_assert_int_eq(seen, 1);
        /* Not through a symlink, not a file, not what is missing. */
        ck_assert_int_lt(opendir_at(dfd, "link", &d), 0);
        ck_assert_int_eq(opendir_at(dfd, "sub/x", &d), -ENOTDIR);
        ck_assert_int_eq(opendir_at(dfd, "missing", &d), -ENOENT);
}
END_TEST

START_TEST(test_time) {
        uint64_t t0 = time_now_usec(CLOCK_MONOTONIC), t1;
        struct timespec ts;

        time_sleep_usec(20000);
        t1 = time_now_usec(CLOCK_MONOTONIC);
        ck_assert_uint_ge(t1 - t0, 20000);
        clock_gettime(CLOCK_REALTIME, &ts);
        /* The same clock, in microseconds: read right after, it is at most a moment ahead. */
        int64_t d = (int64_t) (time_now_usec(CLOCK_REALTIME) / 1000000u) - (int64_t) ts.tv_sec;
        ck_assert_int_ge(d, 0);
        ck_assert_int_le(d, 2);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("fs-util");
        TCase *tc = tcase_create("fs-util");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_read_full_file_at);
        tcase_add_test(tc, test_mkdir_p);
        tcase_add_test(tc, test_opendir_at);
        tcase_add_test(tc, test_time);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return fo_test_run(suite());
}
