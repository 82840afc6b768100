/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The library's error context (error.h): recording, context on the way up, positions, D-Bus names. */
#include <errno.h>
#include <string.h>

#include "test-util.h"

#include "forgeone/error.h"

static int inner(ForgeError *err) {
        return forge_error_set(err, -ENOENT, "blob %s: cannot open: %m", "sha256:ab");
}

static int middle(ForgeError *err) {
        int r = inner(err);

        return forge_error_prefix(err, r, "layer %d: ", 2);
}

START_TEST(test_set_first_wins) {
        ForgeError err = {};

        ck_assert(!forge_error_isset(&err));
        ck_assert_int_eq(forge_error_set(&err, -EBADMSG, "first %d", 1), -EBADMSG);
        ck_assert(forge_error_isset(&err));
        ck_assert_int_eq(forge_error_set(&err, -ENOENT, "second"), -ENOENT);
        ck_assert_str_eq(err.message, "first 1");
        ck_assert_int_eq(err.error, -EBADMSG);
        ck_assert_int_eq(err.kind, FORGE_ERROR_SYSTEM);
        ck_assert_str_eq(err.file, "");
        ck_assert_uint_eq(err.line, 0);

        forge_error_clear(&err);
        ck_assert(!forge_error_isset(&err));
        ck_assert_str_eq(err.message, "");
        ck_assert_int_eq(forge_error_set(&err, -ENOENT, "second"), -ENOENT);
        ck_assert_str_eq(err.message, "second");

        /* NULL: only r comes back. */
        ck_assert_int_eq(forge_error_set(NULL, -EIO, "x"), -EIO);
        ck_assert_int_eq(forge_error_prefix(NULL, -EIO, "x"), -EIO);
        forge_error_clear(NULL);
}
END_TEST

START_TEST(test_percent_m_is_r) {
        ForgeError err = {};

        /* %m prints r's text, not whatever errno holds, and errno is left alone. */
        errno = EAGAIN;
        ck_assert_int_eq(forge_error_set(&err, -ENOENT, "cannot open %s: %m", "x"), -ENOENT);
        ck_assert_int_eq(errno, EAGAIN);
        ck_assert_str_eq(err.message, "cannot open x: No such file or directory");
}
END_TEST

START_TEST(test_never_success) {
        ForgeError err = {};

        /* A positive errno is negated; 0 (a bug in the caller) still returns a failure. */
        ck_assert_int_eq(forge_error_set(&err, EPERM, "p"), -EPERM);
        ck_assert_int_eq(err.error, -EPERM);
        forge_error_clear(&err);
        ck_assert_int_eq(forge_error_set(&err, 0, "zero"), -EIO);
        ck_assert_int_eq(err.error, -EIO);
        ck_assert(forge_error_isset(&err));
}
END_TEST

START_TEST(test_prefix_travels_up) {
        ForgeError err = {};

        ck_assert_int_eq(middle(&err), -ENOENT);
        ck_assert_int_eq(forge_error_prefix(&err, -ENOENT, "image %s: ", "busybox"), -ENOENT);
        ck_assert_str_eq(err.message,
                         "image busybox: layer 2: blob sha256:ab: cannot open: No such file or directory");
        ck_assert_int_eq(err.error, -ENOENT);

        /* Nothing recorded below: the context and r's text. */
        forge_error_clear(&err);
        ck_assert_int_eq(forge_error_prefix(&err, -EACCES, "cannot read %s: ", "f"), -EACCES);
        ck_assert_str_eq(err.message, "cannot read f: Permission denied");
        ck_assert_int_eq(err.error, -EACCES);
}
END_TEST

START_TEST(test_prefix_keeps_kind_and_position) {
        ForgeError err = {};

        forge_error_set_at(&err, FORGE_ERROR_POLICY_INVALID, -EINVAL, "p.json", 3, 7,
                           "unknown syscall \"%s\"", "opnat");
        forge_error_prefix(&err, -EINVAL, "workload %s: ", "w");
        ck_assert_str_eq(err.message, "workload w: p.json:3:7: unknown syscall \"opnat\"");
        ck_assert_int_eq(err.kind, FORGE_ERROR_POLICY_INVALID);
        ck_assert_str_eq(err.file, "p.json");
        ck_assert_uint_eq(err.line, 3);
        ck_assert_uint_eq(err.column, 7);
}
END_TEST

START_TEST(test_set_at) {
        ForgeError err = {};

        ck_assert_int_eq(forge_error_set_at(&err, FORGE_ERROR_POLICY_INVALID, -ENOENT, "/p.json", 0, 5,
                                            "cannot open: %m"),
                         -ENOENT);
        ck_assert_str_eq(err.message, "/p.json: cannot open: No such file or directory");
        ck_assert_str_eq(err.file, "/p.json");
        ck_assert_uint_eq(err.line, 0);
        ck_assert_uint_eq(err.column, 0);

        /* A line without a column, as in a line-based log. */
        forge_error_clear(&err);
        forge_error_set_at(&err, FORGE_ERROR_SYSTEM, -EBADMSG, "events.log", 12, 0, "not a record");
        ck_assert_str_eq(err.message, "events.log:12: not a record");
        ck_assert_uint_eq(err.line, 12);

        /* No file: no position. */
        forge_error_clear(&err);
        forge_error_set_at(&err, FORGE_ERROR_CONFIG_INVALID, -EINVAL, NULL, 3, 4, "bad");
        ck_assert_str_eq(err.message, "bad");
        ck_assert_uint_eq(err.line, 0);
        ck_assert_int_eq(err.kind, FORGE_ERROR_CONFIG_INVALID);
}
END_TEST

START_TEST(test_truncation) {
        ForgeError err = {};
        char big[2 * FORGE_ERROR_MESSAGE_MAX];

        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = 0;
        forge_error_set(&err, -EIO, "cause %s", big);
        ck_assert_uint_eq(strlen(err.message), FORGE_ERROR_MESSAGE_MAX - 1);
        /* The context stays whole; the end of the cause falls off. */
        forge_error_prefix(&err, -EIO, "context: ");
        ck_assert_uint_eq(strlen(err.message), FORGE_ERROR_MESSAGE_MAX - 1);
        ck_assert(strncmp(err.message, "context: cause xxx", 18) == 0);

        /* A prefix longer than the buffer leaves a cut prefix. */
        forge_error_prefix(&err, -EIO, "%s", big);
        ck_assert_uint_eq(strlen(err.message), FORGE_ERROR_MESSAGE_MAX - 1);

        /* A file name longer than the field is cut in the field, whole in the message as far as it fits. */
        forge_error_clear(&err);
        forge_error_set_at(&err, FORGE_ERROR_CONFIG_INVALID, -EINVAL, big, 1, 1, "bad");
        ck_assert_uint_eq(strlen(err.file), FORGE_ERROR_FILE_MAX - 1);
        ck_assert_uint_eq(strlen(err.message), FORGE_ERROR_MESSAGE_MAX - 1);
}
END_TEST

START_TEST(test_propagate) {
        ForgeError err = {}, local = {};

        forge_error_set_at(&local, FORGE_ERROR_CONFIG_INVALID, -EINVAL, "a.json", 2, 1, "unknown member");
        ck_assert_int_eq(forge_error_propagate(&err, &local, -EINVAL), -EINVAL);
        ck_assert_str_eq(err.message, "a.json:2:1: unknown member");
        ck_assert_int_eq(err.kind, FORGE_ERROR_CONFIG_INVALID);
        ck_assert_uint_eq(err.line, 2);

        /* The first cause stays. */
        forge_error_clear(&local);
        forge_error_set(&local, -EIO, "other");
        forge_error_propagate(&err, &local, -EIO);
        ck_assert_str_eq(err.message, "a.json:2:1: unknown member");

        /* Nothing to hand over: r's text. */
        forge_error_clear(&err);
        forge_error_clear(&local);
        ck_assert_int_eq(forge_error_propagate(&err, &local, -ENOENT), -ENOENT);
        ck_assert_str_eq(err.message, "No such file or directory");
        ck_assert_int_eq(forge_error_propagate(NULL, &local, -ENOENT), -ENOENT);
        forge_error_clear(&err);
        ck_assert_int_eq(forge_error_propagate(&err, NULL, -EPERM), -EPERM);
        ck_assert_int_eq(err.error, -EPERM);
}
END_TEST

START_TEST(test_message) {
        ForgeError err = {};

        ck_assert_str_eq(forge_error_message(&err, -ENOENT), "No such file or directory");
        ck_assert_str_eq(forge_error_message(NULL, -EPERM), "Operation not permitted");
        forge_error_set(&err, -EBADMSG, "bad blob");
        ck_assert_str_eq(forge_error_message(&err, -ENOENT), "bad blob");
}
END_TEST

START_TEST(test_bus_name) {
        ForgeError err = {};
        static const struct {
                int r;
                const char *name;
        } by_errno[] = {
                { -ENOENT, "org.forgeone.Error.NotFound" },
                { -ESRCH, "org.forgeone.Error.NotFound" },
                { -ENODEV, "org.forgeone.Error.NotFound" },
                { -EPERM, "org.forgeone.Error.PermissionDenied" },
                { -EACCES, "org.forgeone.Error.PermissionDenied" },
                { -EBUSY, "org.forgeone.Error.Busy" },
                { -EXFULL, "org.forgeone.Error.Busy" },
                { -EEXIST, "org.forgeone.Error.Exists" },
                { -EINVAL, "org.forgeone.Error.InvalidArgument" },
                { -E2BIG, "org.forgeone.Error.InvalidArgument" },
                { -EOPNOTSUPP, "org.forgeone.Error.NotSupported" },
                { -ETIMEDOUT, "org.forgeone.Error.Timeout" },
                { -ENOMEM, "org.forgeone.Error.NoResources" },
                { -EBADMSG, "org.forgeone.Error.Failed" },
                { -EIO, "org.forgeone.Error.Failed" },
        };

        /* Nothing recorded: r decides. */
        for (size_t i = 0; i < ELEMENTSOF(by_errno); i++)
                ck_assert_str_eq(forge_error_bus_name(&err, by_errno[i].r), by_errno[i].name);
        ck_assert_str_eq(forge_error_bus_name(NULL, -EBUSY), "org.forgeone.Error.Busy");

        /* Recorded: its errno decides over r. */
        forge_error_set(&err, -ENOENT, "no such container");
        ck_assert_str_eq(forge_error_bus_name(&err, -EIO), "org.forgeone.Error.NotFound");

        /* A kind names itself whatever the errno. */
        static const struct {
                ForgeErrorKind kind;
                const char *name;
        } by_kind[] = {
                { FORGE_ERROR_POLICY_INVALID, "org.forgeone.Error.PolicyInvalid" },
                { FORGE_ERROR_CONFIG_INVALID, "org.forgeone.Error.ConfigInvalid" },
                { FORGE_ERROR_IMAGE_INVALID, "org.forgeone.Error.ImageInvalid" },
                { FORGE_ERROR_UNTRUSTED, "org.forgeone.Error.Untrusted" },
        };
        for (size_t i = 0; i < ELEMENTSOF(by_kind); i++) {
                forge_error_clear(&err);
                forge_error_set_kind(&err, by_kind[i].kind, -EPERM, "refused");
                ck_assert_str_eq(forge_error_bus_name(&err, -EPERM), by_kind[i].name);
        }
}
END_TEST

START_TEST(test_kind_strings) {
        for (ForgeErrorKind k = 0; k < _FORGE_ERROR_KIND_MAX; k++) {
                const char *s = forge_error_kind_to_string(k);

                ck_assert_ptr_nonnull(s);
                ck_assert_int_eq(forge_error_kind_from_string(s), k);
        }
        ck_assert_str_eq(forge_error_kind_to_string(FORGE_ERROR_IMAGE_INVALID), "image-invalid");
        ck_assert_int_eq(forge_error_kind_from_string("nonsense"), -EINVAL);
        ck_assert_ptr_null(forge_error_kind_to_string(_FORGE_ERROR_KIND_MAX));
}
END_TEST

static Suite *error_suite(void) {
        Suite *s = suite_create("error");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_set_first_wins);
        tcase_add_test(tc, test_percent_m_is_r);
        tcase_add_test(tc, test_never_success);
        tcase_add_test(tc, test_prefix_travels_up);
        tcase_add_test(tc, test_prefix_keeps_kind_and_position);
        tcase_add_test(tc, test_set_at);
        tcase_add_test(tc, test_truncation);
        tcase_add_test(tc, test_propagate);
        tcase_add_test(tc, test_message);
        tcase_add_test(tc, test_bus_name);
        tcase_add_test(tc, test_kind_strings);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return fo_test_run(error_suite());
}
