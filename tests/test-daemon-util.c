/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* forgeoned's pure helpers (src/daemon/daemon-util.h): ids, fd store names, the re-exec handover string,
 * the records of the state directory (round trip and refusal of damaged ones), states, the rate limit. */
#include <string.h>

#include "daemon-util.h"
#include "test-util.h"

START_TEST(test_ids_and_fdnames) {
        char buf[64], id[33];
        WorkloadFd k;

        ck_assert(daemon_id_valid("w1"));
        ck_assert(daemon_id_valid("web_01"));
        ck_assert(!daemon_id_valid(""));
        ck_assert(!daemon_id_valid("w-1"));
        ck_assert(!daemon_id_valid("../x"));
        ck_assert(!daemon_id_valid("a234567890123456789012345678901234"));
        ck_assert_int_eq(daemon_fdname_format("w7", WORKLOAD_FD_LISTENER, buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "w7.listener");
        ck_assert_int_eq(daemon_fdname_format("w7", WORKLOAD_FD_JOURNAL, buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "w7.journal");
        ck_assert_int_eq(daemon_fdname_format("w-7", WORKLOAD_FD_ROOT, buf, sizeof buf), -EINVAL);
        ck_assert_int_eq(daemon_fdname_format("w7", WORKLOAD_FD_ROOT, buf, 5), -ENOBUFS);
        ck_assert_int_eq(daemon_fdname_parse("w12.pidfd", id, sizeof id, &k), 0);
        ck_assert_str_eq(id, "w12");
        ck_assert_int_eq(k, WORKLOAD_FD_PIDFD);
        ck_assert_int_eq(daemon_fdname_parse("stored", id, sizeof id, &k), -EINVAL);
        ck_assert_int_eq(daemon_fdname_parse("w1.bogus", id, sizeof id, &k), -EINVAL);
        ck_assert_int_eq(daemon_fdname_parse(".listener", id, sizeof id, &k), -EINVAL);
        ck_assert_int_eq(daemon_fdname_parse("a/b.listener", id, sizeof id, &k), -EINVAL);
        /* Every kind round-trips. */
        for (WorkloadFd f = 0; f < _WORKLOAD_FD_MAX; f++) {
                ck_assert_int_eq(daemon_fdname_format("x", f, buf, sizeof buf), 0);
                ck_assert_int_eq(daemon_fdname_parse(buf, id, sizeof id, &k), 0);
                ck_assert_int_eq(k, f);
        }
}
END_TEST

START_TEST(test_handover) {
        int fds[] = { 7, 12, 3 };
        char *names[] = { "w1.listener", "w1.journal", "w2.root", NULL };
        _cleanup_free_ char *s = NULL, *j = NULL;
        int *got = NULL;
        char **gn = NULL;
        size_t n = 0;

        ck_assert_int_eq(daemon_handover_format(fds, names, 3, &s), 0);
        ck_assert_str_eq(s, "7:w1.listener 12:w1.journal 3:w2.root");
        ck_assert_int_eq(daemon_handover_parse(s, &got, &gn, &n), 0);
        ck_assert_uint_eq(n, 3);
        for (size_t i = 0; i < 3; i++) {
                ck_assert_int_eq(got[i], fds[i]);
                ck_assert_str_eq(gn[i], names[i]);
        }
        ck_assert_ptr_null(gn[3]);
        ck_assert_int_eq(daemon_handover_parse("2:w1.root", &got, &gn, &n), -EINVAL);
        ck_assert_int_eq(daemon_handover_parse("x:w1.root", &got, &gn, &n), -EINVAL);
        ck_assert_int_eq(daemon_handover_parse("9:", &got, &gn, &n), -EINVAL);
        ck_assert_int_eq(daemon_handover_parse("9", &got, &gn, &n), -EINVAL);
        ck_assert_uint_eq(n, 3);
        fds[0] = 1;
        ck_assert_int_eq(daemon_handover_format(fds, names, 3, &j), -EINVAL);
        ck_assert_int_eq(daemon_fdnames_join(names, 3, &j), 0);
        ck_assert_str_eq(j, "w1.listener:w1.journal:w2.root");
        free(got);
        strv_free(gn);
}
END_TEST

START_TEST(test_workload_record) {
        char *argv[] = { "/bin/sh", "-c", "echo \"quoted\" \\ back", NULL };
        WorkloadRecord r = {
                .id = "w3",
                .label = "web",
                .argv = argv,
                .name = "sh",
                .identity = "shells",
                .cgroup_path = "/sys/fs/cgroup/x/w3",
                .pid = 4242,
                .creds_calls_trapped = true,
                .state = MANAGED_QUARANTINED,
                .reason = "suspicious",
                .started_usec = 1700000000000000ull,
                .restart_to_apply = true,
                .container_id = "0123456789ab",
                .image = "/srv/img:latest",
                .stop_timeout_usec = 2500000,
        }, back = {};
        _cleanup_free_ char *text = NULL;

        for (size_t i = 0; i < sizeof r.filter_digest; i++)
                r.filter_digest[i] = (uint8_t) (i * 7);
        ck_assert_int_eq(workload_record_to_json(&r, &text), 0);
        ck_assert_int_eq(workload_record_from_json(text, &back), 0);
        ck_assert_str_eq(back.id, "w3");
        ck_assert_str_eq(back.label, "web");
        ck_assert_str_eq(back.argv[2], argv[2]);
        ck_assert_ptr_null(back.argv[3]);
        ck_assert_str_eq(back.identity, "shells");
        ck_assert_str_eq(back.cgroup_path, r.cgroup_path);
        ck_assert_int_eq(back.pid, 4242);
        ck_assert(back.creds_calls_trapped);
        ck_assert_int_eq(back.state, MANAGED_QUARANTINED);
        ck_assert_str_eq(back.reason, "suspicious");
        ck_assert_uint_eq(back.started_usec, r.started_usec);
        ck_assert(back.restart_to_apply);
        ck_assert_mem_eq(back.filter_digest, r.filter_digest, sizeof r.filter_digest);
        ck_assert_str_eq(back.container_id, "0123456789ab");
        ck_assert_str_eq(back.image, "/srv/img:latest");
        ck_assert_uint_eq(back.stop_timeout_usec, 2500000);
        workload_record_done(&back);

        /* "*" has no name; absent optional fields stay NULL (a plain workload's container and image). */
        r.identity = r.label = r.reason = r.cgroup_path = r.container_id = r.image = NULL;
        r.stop_timeout_usec = 0;
        free(text);
        text = NULL;
        ck_assert_int_eq(workload_record_to_json(&r, &text), 0);
        ck_assert_int_eq(workload_record_from_json(text, &back), 0);
        ck_assert_ptr_null(back.identity);
        ck_assert_ptr_null(back.label);
        ck_assert_ptr_null(back.container_id);
        ck_assert_ptr_null(back.image);
        ck_assert_uint_eq(back.stop_timeout_usec, 0);
        workload_record_done(&back);

        ck_assert_int_eq(workload_record_from_json("{", &back), -EBADMSG);
        ck_assert_int_eq(workload_record_from_json("[]", &back), -EBADMSG);
        ck_assert_int_eq(workload_record_from_json("{\"id\":\"../x\",\"state\":\"running\",\"filter_digest\":\"00\"}", &back),
                         -EBADMSG);
        ck_assert_int_eq(workload_record_from_json("{\"id\":\"w1\",\"state\":\"dancing\",\"pid\":1,\"started_usec\":0,"
                                                   "\"argv\":[],\"filter_digest\":\"" "0000000000000000000000000000000000000000000000000000000000000000\"}",
                                                   &back),
                         -EBADMSG);
        r.id = "bad id";
        ck_assert_int_eq(workload_record_to_json(&r, &text), -EINVAL);
}
END_TEST

START_TEST(test_daemon_record) {
        DaemonRecord r = { .generation = 17, .next_id = 40, .policy_file = "/etc/forgeone/policy.json",
                           .policy_source = "(D-Bus)" },
                     back = {};
        _cleanup_free_ char *text = NULL;

        r.retired[SUPERVISOR_ACTION_DENY] = 5;
        r.retired[SUPERVISOR_ACTION_EMULATE] = 123456789012ull;
        ck_assert_int_eq(daemon_record_to_json(&r, &text), 0);
        ck_assert_int_eq(daemon_record_from_json(text, &back), 0);
        ck_assert_uint_eq(back.generation, 17);
        ck_assert_uint_eq(back.next_id, 40);
        ck_assert_str_eq(back.policy_file, r.policy_file);
        ck_assert_str_eq(back.policy_source, "(D-Bus)");
        ck_assert_uint_eq(back.retired[SUPERVISOR_ACTION_DENY], 5);
        ck_assert_uint_eq(back.retired[SUPERVISOR_ACTION_EMULATE], 123456789012ull);
        daemon_record_done(&back);
        ck_assert_int_eq(daemon_record_from_json("{\"generation\":0,\"next_id\":1}", &back), -EBADMSG);
        ck_assert_int_eq(daemon_record_from_json("null", &back), -EBADMSG);
}
END_TEST

START_TEST(test_states_and_ratelimit) {
        for (ManagedState s = 0; s < _MANAGED_STATE_MAX; s++)
                ck_assert_int_eq(managed_state_from_string(managed_state_to_string(s)), s);
        ck_assert_int_eq(managed_state_from_string("frozen"), -EINVAL);
        /* At most one per interval: the first at once, the next not before last + interval. */
        ck_assert_uint_eq(ratelimit_next(0, 1000, 5000), 5000);
        ck_assert_uint_eq(ratelimit_next(5000, 1000, 5200), 6000);
        ck_assert_uint_eq(ratelimit_next(5000, 1000, 7000), 7000);
}
END_TEST

int main(void) {
        Suite *s = suite_create("daemon-util");
        TCase *tc = tcase_create("util");

        tcase_add_test(tc, test_ids_and_fdnames);
        tcase_add_test(tc, test_handover);
        tcase_add_test(tc, test_workload_record);
        tcase_add_test(tc, test_daemon_record);
        tcase_add_test(tc, test_states_and_ratelimit);
        suite_add_tcase(s, tc);
        return fo_test_run(s);
}
