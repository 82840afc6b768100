/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Shared by the Check tests: run a suite in fork mode with TAP on stdout
 * (meson reads it with protocol 'tap'), find files of the source tree, and
 * skip (exit 77) with a reason when a live feature is missing.
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

/* Runs the suite; returns the process exit status for main(). */
static inline int fo_test_run(Suite *s) {
        SRunner *sr = srunner_create(s);
        int failed;

        srunner_set_fork_status(sr, CK_FORK);
        srunner_set_tap(sr, "-");
        srunner_run_all(sr, CK_SILENT);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Path of a file relative to the source root (FORGEONE_SOURCE_ROOT is set by meson). */
static inline const char *fo_test_source_path(const char *rel) {
        static __thread char buf[4096];
        const char *root = getenv("FORGEONE_SOURCE_ROOT");

        snprintf(buf, sizeof buf, "%s/%s", root ?: ".", rel);
        return buf;
}

#define FO_TEST_SKIP(...)                                                                                  \
        do {                                                                                               \
                printf("1..0 # SKIP ");                                                                    \
                printf(__VA_ARGS__);                                                                       \
                printf("\n");                                                                              \
                exit(77);                                                                                  \
        } while (0)
