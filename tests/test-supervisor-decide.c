/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * decide(): policy verdict -> supervisor action, without root, without a
 * kernel: every rule of supervisor-decide.h on a small policy graph built
 * here.
 */
#include <linux/audit.h>
#include <string.h>
#include <sys/socket.h>

#include "forgeone/policy-graph.h"
#include "forgeone/policy.h"
#include "forgeone/supervisor-decide.h"
#include "forgeone/syscall-table.h"
#include "test-util.h"

static const char policy_text[] =
        "{ \"version\": 1, \"name\": \"decide\", \"default\": { \"action\": \"deny\", \"errno\": \"EPERM\" },"
        "  \"resources\": {"
        "    \"tmp\": { \"type\": \"path\", \"paths\": [\"/tmp/**\"], \"access\": [\"all\"] },"
        "    \"etc\": { \"type\": \"path\", \"paths\": [\"/etc/**\"], \"access\": [\"read\", \"stat\"] },"
        "    \"secret\": { \"type\": \"path\", \"paths\": [\"/etc/shadow\"], \"access\": [\"all\"] },"
        "    \"peer\": { \"type\": \"network\", \"endpoints\": [ { \"family\": \"connected\" } ] },"
        "    \"local\": { \"type\": \"network\","
        "               \"endpoints\": [ { \"family\": \"inet\", \"address\": \"127.0.0.0/8\" } ] } },"
        "  \"rules\": ["
        "    { \"id\": \"ppid\", \"syscalls\": [\"getppid\"], \"action\": \"allow\" },"
        "    { \"id\": \"unlink\", \"syscalls\": [\"unlink\"], \"action\": \"emulate\" },"
        "    { \"id\": \"open-tmp\", \"syscalls\": [\"openat\", \"rename\", \"chdir\"], \"resource\": \"tmp\","
        "      \"action\": \"allow\" },"
        "    { \"id\": \"open-etc\", \"syscalls\": [\"openat\"], \"resource\": \"etc\", \"action\": \"allow\" },"
        "    { \"id\": \"no-secret\", \"syscalls\": [\"openat\"], \"resource\": \"secret\", \"action\": \"deny\","
        "      \"errno\": \"EACCES\" },"
        "    { \"id\": \"no-kill\", \"syscalls\": [\"kill\"], \"action\": \"deny\", \"errno\": \"ESRCH\" },"
        "    { \"id\": \"mount\", \"syscalls\": [\"mount\"], \"action\": \"quarantine\" },"
        "    { \"id\": \"send\", \"syscalls\": [\"sendmsg\"], \"resources\": [\"peer\", \"local\"],"
        "      \"action\": \"allow\" },"
        "    { \"id\": \"fd-attr\", \"syscalls\": [\"fchmod\"], \"resource\": \"tmp\","
        "      \"action\": \"allow\" } ] }";

static PolicyGraph *graph;

static void setup(void) {
        PolicyDiagnostics diag = {};
        Policy *p = NULL;

        ck_assert_int_ge(policy_load_string(policy_text, strlen(policy_text), "decide", &p, &diag, NULL), 0);
        policy_diagnostics_done(&diag);
        ck_assert_int_ge(policy_graph_new(p, &graph), 0);
}

static void teardown(void) {
        graph = policy_graph_unref(graph);
}

static DecideCall call(const char *name) {
        DecideCall c = {
                .identity = POLICY_IDENTITY_ANY,
                .arch = AUDIT_ARCH_X86_64,
                .nr = syscall_resolve_native(name),
                .name = name,
        };
        ck_assert_int_ge(c.nr, 0);
        return c;
}

static Decision decide(const DecideCall *c, int trust) {
        Decision d;

        ck_assert_int_eq(supervisor_decide(graph, c, trust, &d), 0);
        return d;
}

START_TEST(test_registers_only) {
        DecideCall c = call("getppid");
        Decision d = decide(&c, 100);

        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_CONTINUE);
        ck_assert_int_eq(d.verdict, POLICY_VERDICT_ALLOW);
        ck_assert_str_eq(d.rule_id, "ppid");
        ck_assert(!d.requires_stable_memory && !d.penalize && !d.needs_decode);
}
END_TEST

START_TEST(test_emulate_verdict) {
        DecideCall c = call("unlink");
        Decision d;

        /* emulate on registers, and (say) we could not perform it: the kernel does. */
        d = decide(&c, 100);
        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_CONTINUE);
        ck_assert_int_eq(d.verdict, POLICY_VERDICT_EMULATE);
        /* A call we can perform is performed, once its arguments are read. */
        c.emulable = true;
        d = decide(&c, 100);
        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_EMULATE);
        ck_assert(d.needs_decode);
        c.decoded = true;
        d = decide(&c, 100);
        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_EMULATE);
        ck_assert(!d.needs_decode);
}
END_TEST

START_TEST(test_memory_allow_is_emulated_or_needs_stability) {
        DecideCall c = call("openat");
        Decision d;

        c.decoded = true;
        c.path = "/etc/hostname";
        c.access = POLICY_ACCESS_READ;
        c.emulable = true;
        d = decide(&c, 100);
        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_EMULATE);
        ck_assert_str_eq(d.rule_id, "open-etc");

        /* openat2 with O_PATH cannot be injected: continued only on stable memory. */
        c.emulable = false;
        d = decide(&c, 100);
        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_CONTINUE);
        ck_assert(d.requires_stable_memory);

        c = call("chdir");
        c.decoded = true;
        c.path = "/tmp/x";
        c.access = POLICY_ACCESS_STAT;
        d = decide(&c, 100);
        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_CONTINUE);
        ck_assert(d.requires_stable_memory);
}
END_TEST

START_TEST(test_denials) {
        DecideCall c = call("openat");
        Decision d;

        c.decoded = c.emulable = true;
        c.path = "/etc/shadow";
        c.access = POLICY_ACCESS_READ;
        d = decide(&c, 100);
        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_DENY);
        ck_assert_int_eq(d.error, EACCES);
        ck_assert_str_eq(d.rule_id, "no-secret");
        ck_assert(d.penalize);

        /* Writing /etc: no rule allows it, the default denies with EPERM and costs trust. */
        c.path = "/etc/passwd";
        c.access = POLICY_ACCESS_WRITE;
        d = decide(&c, 100);
        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_DENY);
        ck_assert_int_eq(d.error, EPERM);
        ck_assert_str_eq(d.rule_id, "default");
        ck_assert(d.penalize);

        c = call("kill");
        d = decide(&c, 100);
        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_DENY);
        ck_assert_int_eq(d.error, ESRCH);
}
END_TEST

START_TEST(test_builtin_denial_costs_nothing) {
        DecideCall c = call("seccomp");
        Decision d;

        c.args[0] = 1 /* SECCOMP_SET_MODE_FILTER */;
        c.args[1] = 1u << 3 /* SECCOMP_FILTER_FLAG_NEW_LISTENER */;
        d = decide(&c, 100);
        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_DENY);
        ck_assert_str_eq(d.rule_id, "builtin");
        ck_assert(!d.penalize);
}
END_TEST

START_TEST(test_quarantine) {
        DecideCall c = call("mount");
        Decision d = decide(&c, 100);

        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_QUARANTINE);
        ck_assert_int_eq(d.error, EPERM);

        /* Once quarantined, everything fails, even what the policy allows. */
        c = call("getppid");
        c.quarantined = true;
        d = decide(&c, 100);
        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_DENY);
        ck_assert_int_eq(d.verdict, POLICY_VERDICT_QUARANTINE);
        ck_assert_int_eq(d.error, EPERM);
        ck_assert(!d.penalize);
}
END_TEST

START_TEST(test_decode_errors) {
        DecideCall c = call("openat");
        Decision d;

        c.decode_error = ENAMETOOLONG;
        d = decide(&c, 100);
        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_DENY);
        ck_assert_int_eq(d.error, ENAMETOOLONG);
        ck_assert_str_eq(d.rule_id, "supervisor");
        ck_assert(!d.penalize);
        /* Our own limits are not the workload's errors. */
        c.decode_error = ENOMEM;
        d = decide(&c, 100);
        ck_assert_int_eq(d.error, EPERM);
        c.decode_error = EIO;
        d = decide(&c, 100);
        ck_assert_int_eq(d.error, EPERM);
}
END_TEST

START_TEST(test_two_paths) {
        DecideCall c = call("rename");
        Decision d;

        c.decoded = c.emulable = true;
        c.path = "/tmp/a";
        c.access = POLICY_ACCESS_DELETE;
        c.path2 = "/tmp/b";
        c.access2 = POLICY_ACCESS_CREATE;
        d = decide(&c, 100);
        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_EMULATE);
        /* Either path denied: the stronger verdict decides. */
        c.path2 = "/etc/b";
        d = decide(&c, 100);
        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_DENY);
        c.path = "/etc/a";
        c.path2 = "/tmp/b";
        d = decide(&c, 100);
        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_DENY);
}
END_TEST

START_TEST(test_credential_noop) {
        DecideCall c = call("setresuid");
        Decision d;

        d = decide(&c, 100);
        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_DENY);
        ck_assert(d.penalize);
        /* A call that changes nothing is no privilege change. */
        c.creds_noop = true;
        d = decide(&c, 100);
        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_CONTINUE);
        ck_assert(!d.penalize);
        ck_assert(!d.requires_stable_memory);
        ck_assert_str_eq(d.reason, "changes no credential");
        /* setgroups/capset decided from memory: only if that memory cannot change. */
        c = call("setgroups");
        c.creds_noop = c.creds_noop_from_memory = true;
        d = decide(&c, 100);
        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_CONTINUE);
        ck_assert(d.requires_stable_memory);
        /* A quarantine verdict is not a denial: no exception there. */
        c = call("mount");
        c.creds_noop = true;
        d = decide(&c, 100);
        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_QUARANTINE);
}
END_TEST

/* A send's destination is in memory: the connected peer and allowed addresses are sent by the supervisor,
 * anything else is the default's. */
START_TEST(test_send_destinations) {
        DecideCall c = call("sendmsg");
        PolicySockaddr peer = { .family = POLICY_FAMILY_CONNECTED };
        PolicySockaddr lo = { .family = AF_INET, .addr = { 127, 0, 0, 1 }, .port = 80 };
        PolicySockaddr far = { .family = AF_INET, .addr = { 192, 0, 2, 2 }, .port = 80 };
        Decision d;

        c.decoded = c.emulable = true;
        c.addr = &peer;
        d = decide(&c, 100);
        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_EMULATE);
        ck_assert_str_eq(d.rule_id, "send");
        c.addr = &lo;
        ck_assert_int_eq(decide(&c, 100).action, SUPERVISOR_ACTION_EMULATE);
        c.addr = &far;
        d = decide(&c, 100);
        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_DENY);
        ck_assert_str_eq(d.rule_id, "default");
        ck_assert(d.penalize);
}
END_TEST

/* fchmod is judged by the path of the file its descriptor refers to, and performed by the supervisor. */
START_TEST(test_fd_object) {
        DecideCall c = call("fchmod");
        Decision d;

        c.decoded = c.emulable = true;
        c.path = "/tmp/f";
        c.access = POLICY_ACCESS_ATTR;
        d = decide(&c, 100);
        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_EMULATE);
        ck_assert_str_eq(d.rule_id, "fd-attr");
        c.path = "/etc/passwd";
        d = decide(&c, 100);
        ck_assert_int_eq(d.action, SUPERVISOR_ACTION_DENY);
        ck_assert_int_eq(d.error, EPERM);
}
END_TEST

START_TEST(test_pure) {
        DecideCall c = call("openat");
        Decision a, b;

        c.decoded = c.emulable = true;
        c.path = "/tmp/x";
        c.access = POLICY_ACCESS_WRITE | POLICY_ACCESS_CREATE;
        a = decide(&c, 100);
        for (int i = 0; i < 1000; i++) {
                b = decide(&c, 100);
                ck_assert(memcmp(&a, &b, sizeof a) == 0);
        }
}
END_TEST

int main(void) {
        Suite *s = suite_create("supervisor-decide");
        TCase *tc = tcase_create("decide");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_registers_only);
        tcase_add_test(tc, test_emulate_verdict);
        tcase_add_test(tc, test_memory_allow_is_emulated_or_needs_stability);
        tcase_add_test(tc, test_denials);
        tcase_add_test(tc, test_builtin_denial_costs_nothing);
        tcase_add_test(tc, test_quarantine);
        tcase_add_test(tc, test_decode_errors);
        tcase_add_test(tc, test_two_paths);
        tcase_add_test(tc, test_credential_noop);
        tcase_add_test(tc, test_send_destinations);
        tcase_add_test(tc, test_fd_object);
        tcase_add_test(tc, test_pure);
        suite_add_tcase(s, tc);
        return fo_test_run(s);
}
