/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The policy graph evaluator: precedence, specificity, paths, networks, arguments, trust, architectures,
 * the builtin listener denial and the explanations. Simulated queries only: no syscalls are trapped. */

#include <arpa/inet.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>

#include "../src/policy/path-trie.h"
#include "forgeone/policy-compile.h"
#include "forgeone/policy-dot.h"
#include "forgeone/policy-graph.h"
#include "policy-engine-test-util.h"
#include "test-util.h"

#define R POLICY_ACCESS_READ
#define W POLICY_ACCESS_WRITE

static const char *const verdict_names[] = { "allow", "emulate", "deny", "quarantine" };

START_TEST(test_verdict_pairs) {
        /* Every pair of verdicts on one syscall: the higher wins, a tie goes to the first rule. */
        for (int a = 0; a < _POLICY_VERDICT_MAX; a++)
                for (int b = 0; b < _POLICY_VERDICT_MAX; b++) {
                        bool ea = a == POLICY_VERDICT_DENY || a == POLICY_VERDICT_QUARANTINE;
                        bool eb = b == POLICY_VERDICT_DENY || b == POLICY_VERDICT_QUARANTINE;
                        Policy *p = test_policy_loadf(
                                TEST_POLICY_HEAD
                                "'rules': [{'id': 'first', 'syscalls': ['openat'], 'action': '%s'%s},"
                                "          {'id': 'second', 'syscalls': ['openat'], 'action': '%s'%s}]}",
                                verdict_names[a], ea ? ", 'errno': 'EACCES'" : "", verdict_names[b],
                                eb ? ", 'errno': 'ENOENT'" : "");
                        _cleanup_(policy_graph_unrefp) PolicyGraph *g = NULL;
                        PolicyDecision d;
                        int win = a >= b ? a : b;
                        bool first = a >= b;

                        ck_assert_int_eq(policy_graph_new(p, &g), 0);
                        d = test_eval_path(g, NULL, "openat", "/x", R);
                        ck_assert_int_eq(d.verdict, win);
                        ck_assert_str_eq(d.rule_id, first ? "first" : "second");
                        ck_assert_int_eq(d.reason, POLICY_REASON_RULE);
                        if (win == POLICY_VERDICT_DENY || win == POLICY_VERDICT_QUARANTINE)
                                ck_assert_int_eq(d.errno_value, first ? EACCES : ENOENT);
                        else
                                ck_assert_int_eq(d.errno_value, 0);
                }
}
END_TEST

START_TEST(test_default) {
        _cleanup_(policy_graph_unrefp) PolicyGraph *g =
                test_graph("{'version': 1, 'default': {'action': 'deny', 'errno': 'ENOSYS'},"
                           " 'rules': [{'id': 'pid', 'syscalls': ['getpid'], 'action': 'allow'}]}");
        PolicyQuery q = test_query(g, NULL, 0, "getppid");
        PolicyDecision d = test_eval(g, &q);

        assert_decision(d, POLICY_VERDICT_DENY, ENOSYS, "default");
        ck_assert_int_eq(d.reason, POLICY_REASON_DEFAULT);
        ck_assert_ptr_null(d.rule);
        ck_assert(!d.used_memory);

        q = test_query(g, NULL, 0, "getpid");
        d = test_eval(g, &q);
        assert_decision(d, POLICY_VERDICT_ALLOW, 0, "pid");
        ck_assert_ptr_eq(d.rule, &policy_graph_policy(g)->rules[0]);
}
END_TEST

START_TEST(test_quarantine_default) {
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = test_graph(
                "{'version': 1, 'default': {'action': 'quarantine', 'errno': 'EPERM'}, 'rules': []}");
        PolicyQuery q = test_query(g, NULL, 0, "mount");

        assert_decision(test_eval(g, &q), POLICY_VERDICT_QUARANTINE, EPERM, "default");
}
END_TEST

START_TEST(test_named_identity_beats_any) {
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = test_graph(
                TEST_POLICY_HEAD
                "'identities': {'web': {'match': {'name': 'web-*'}}, 'db': {'match': {'name': 'db'}}},"
                "'rules': [{'id': 'any-deny', 'syscalls': ['getpid'], 'action': 'deny', 'errno': 'EACCES'},"
                "          {'id': 'web-deny', 'identity': 'web', 'syscalls': ['getpid'], 'action': 'deny',"
                "           'errno': 'ENOENT'},"
                "          {'id': 'web-allow', 'identity': 'web', 'syscalls': ['getppid'],"
                " 'action': 'allow'},"
                "          {'id': 'any-allow', 'syscalls': ['getppid'], 'action': 'allow'}]}");
        PolicyQuery q;

        /* Same verdict: the named identity's rule explains, though it comes later in the file. */
        q = test_query(g, "web", 50, "getpid");
        assert_decision(test_eval(g, &q), POLICY_VERDICT_DENY, ENOENT, "web-deny");
        q = test_query(g, "db", 50, "getpid");
        assert_decision(test_eval(g, &q), POLICY_VERDICT_DENY, EACCES, "any-deny");
        q = test_query(g, NULL, 50, "getpid");
        assert_decision(test_eval(g, &q), POLICY_VERDICT_DENY, EACCES, "any-deny");
        q = test_query(g, "web", 50, "getppid");
        assert_decision(test_eval(g, &q), POLICY_VERDICT_ALLOW, 0, "web-allow");
        q = test_query(g, "db", 50, "getppid");
        assert_decision(test_eval(g, &q), POLICY_VERDICT_ALLOW, 0, "any-allow");

        /* Identities out of range are the caller's bug. */
        q = test_query(g, NULL, 50, "getpid");
        q.identity = 2;
        PolicyDecision d;
        ck_assert_int_eq(policy_graph_eval(g, &q, &d), -EINVAL);
        q.identity = -5;
        ck_assert_int_eq(policy_graph_eval(g, &q, &d), -EINVAL);
}
END_TEST

START_TEST(test_verdict_beats_specificity) {
        /* A vague deny beats a precise allow: the verdict comes first, specificity only explains. */
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = test_graph(
                TEST_POLICY_HEAD
                "'identities': {'web': {'match': {'name': 'web'}}},"
                "'resources': {'shadow': {'type': 'path', 'paths': ['/etc/shadow'], 'access': ['read']}},"
                "'rules': [{'id': 'web-shadow', 'identity': 'web', 'syscalls': ['openat'],"
                " 'resource': 'shadow',"
                "           'action': 'allow'},"
                "          {'id': 'no-open', 'syscalls': ['openat'], 'action': 'deny',"
                " 'errno': 'EACCES'}]}");

        assert_decision(test_eval_path(g, "web", "openat", "/etc/shadow", R), POLICY_VERDICT_DENY, EACCES,
                        "no-open");
}
END_TEST

START_TEST(test_path_specificity) {
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = test_graph(
                TEST_POLICY_HEAD
                "'resources': {"
                "  'etc': {'type': 'path', 'paths': ['/etc/**'], 'access': ['all']},"
                "  'ssh': {'type': 'path', 'paths': ['/etc/ssh/**'], 'access': ['all']},"
                "  'conf': {'type': 'path', 'paths': ['/etc/*.conf'], 'access': ['all']},"
                "  'shadow': {'type': 'path', 'paths': ['/etc/shadow'], 'access': ['all']},"
                "  'shadow2': {'type': 'path', 'paths': ['/etc/shadow'], 'access': ['all']}},"
                "'rules': ["
                "  {'id': 'broad', 'syscalls': ['openat'], 'resource': 'etc', 'action': 'deny'},"
                "  {'id': 'ssh', 'syscalls': ['openat'], 'resource': 'ssh', 'action': 'deny',"
                " 'errno': 'EIO'},"
                "  {'id': 'conf', 'syscalls': ['openat'], 'resource': 'conf', 'action': 'deny',"
                " 'errno': 'ENOENT'},"
                "  {'id': 'shadow', 'syscalls': ['openat'], 'resource': 'shadow', 'action': 'deny',"
                "   'errno': 'EACCES'},"
                "  {'id': 'shadow-again', 'syscalls': ['openat'], 'resource': 'shadow2', 'action': 'deny',"
                "   'errno': 'EBUSY'},"
                "  {'id': 'bare', 'syscalls': ['openat'], 'action': 'deny', 'errno': 'ENOSPC'}]}");
        PolicyDecision d;

        /* exact beats pattern; a tie between equals goes to the first in the file */
        d = test_eval_path(g, NULL, "openat", "/etc/shadow", R);
        assert_decision(d, POLICY_VERDICT_DENY, EACCES, "shadow");
        ck_assert_str_eq(d.resource->name, "shadow");
        ck_assert(d.used_memory);
        /* longer literal prefix beats shorter */
        assert_decision(test_eval_path(g, NULL, "openat", "/etc/ssh/sshd_config", R), POLICY_VERDICT_DENY,
                        EIO, "ssh");
        // "/etc/*.conf" (prefix "/etc/") ties with "/etc/**" on literal prefix length: file order decides
        assert_decision(test_eval_path(g, NULL, "openat", "/etc/resolv.conf", R), POLICY_VERDICT_DENY, EPERM,
                        "broad");
        /* any resource beats none */
        assert_decision(test_eval_path(g, NULL, "openat", "/etc/passwd", R), POLICY_VERDICT_DENY, EPERM,
                        "broad");
        d = test_eval_path(g, NULL, "openat", "/srv/x", R);
        assert_decision(d, POLICY_VERDICT_DENY, ENOSPC, "bare");
        ck_assert_ptr_null(d.resource);
}
END_TEST

START_TEST(test_path_globs) {
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = test_graph(
                TEST_POLICY_HEAD
                "'resources': {"
                "  'exact': {'type': 'path', 'paths': ['/etc/hostname'], 'access': ['read']},"
                "  'star': {'type': 'path', 'paths': ['/etc/*.conf'], 'access': ['read']},"
                "  'quest': {'type': 'path', 'paths': ['/dev/tty?'], 'access': ['read']},"
                "  'set': {'type': 'path', 'paths': ['/dev/sd[a-c]', '/dev/nvme[!1]n1'],"
                " 'access': ['read']},"
                "  'tree': {'type': 'path', 'paths': ['/usr/**'], 'access': ['read']},"
                "  'mid': {'type': 'path', 'paths': ['/home/*/.cache/**'], 'access': ['read']},"
                "  'esc': {'type': 'path', 'paths': ['/srv/lit\\\\*'], 'access': ['read']}},"
                "'rules': ["
                "  {'id': 'exact', 'syscalls': ['openat'], 'resource': 'exact', 'action': 'allow'},"
                "  {'id': 'star', 'syscalls': ['openat'], 'resource': 'star', 'action': 'allow'},"
                "  {'id': 'quest', 'syscalls': ['openat'], 'resource': 'quest', 'action': 'allow'},"
                "  {'id': 'set', 'syscalls': ['openat'], 'resource': 'set', 'action': 'allow'},"
                "  {'id': 'tree', 'syscalls': ['openat'], 'resource': 'tree', 'action': 'allow'},"
                "  {'id': 'mid', 'syscalls': ['openat'], 'resource': 'mid', 'action': 'allow'},"
                "  {'id': 'esc', 'syscalls': ['openat'], 'resource': 'esc', 'action': 'allow'}]}");
        static const struct {
                const char *path, *rule;
        } cases[] = {
                { "/etc/hostname", "exact" },
                { "/etc/hostname2", "default" },
                { "/etc/hostnam", "default" },
                { "/etc/resolv.conf", "star" },
                { "/etc/.conf", "star" },       /* '*' matches the empty string and a leading dot */
                { "/etc/a/b.conf", "default" }, /* '*' never crosses '/' */
                { "/etc/resolv.conf.bak", "default" },
                { "/dev/tty1", "quest" },
                { "/dev/tty", "default" },
                { "/dev/tty12", "default" },
                { "/dev/sda", "set" },
                { "/dev/sdc", "set" },
                { "/dev/sdd", "default" },
                { "/dev/nvme0n1", "set" },
                { "/dev/nvme1n1", "default" },
                { "/usr", "tree" }, /* "**" includes the directory itself */
                { "/usr/bin/env", "tree" },
                { "/usr/lib/x86_64-linux-gnu/libc.so.6", "tree" },
                { "/usr/", "tree" }, /* trailing and repeated slashes do not matter */
                { "//usr//bin", "tree" },
                { "/usrlocal", "default" },          /* prefix boundaries are component boundaries */
                { "/usr/../etc/shadow", "default" }, /* not normalised: matches no path resource */
                { "/usr/./bin", "default" },
                { "usr/bin", "default" }, /* relative */
                { "/home/alice/.cache/x/y", "mid" },
                { "/home/alice/.cache", "mid" },
                { "/home/.cache/x", "default" }, /* '*' needs one component */
                { "/home/a/b/.cache/x", "default" },
                { "/srv/lit*", "esc" }, /* "\*" is a literal star */
                { "/srv/litx", "default" },
        };

        FOREACH_ELEMENT(c, cases) {
                PolicyDecision d = test_eval_path(g, NULL, "openat", c->path, R);

                ck_assert_msg(streq(d.rule_id, c->rule), "%s: expected %s, got %s", c->path, c->rule,
                              d.rule_id);
                ck_assert(d.used_memory);
        }

        /* An unreadable path (NULL) matches no path resource. */
        PolicyDecision d = test_eval_path(g, NULL, "openat", NULL, R);
        assert_decision(d, POLICY_VERDICT_DENY, EPERM, "default");
        ck_assert(d.used_memory);
}
END_TEST

START_TEST(test_deep_path) {
        /* A workload controls how deep its paths go: matching must not recurse once per component. */
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = test_graph(
                TEST_POLICY_HEAD
                "'resources': {'deep': {'type': 'path', 'paths': ['/d/**'], 'access': ['read']},"
                "              'leaf': {'type': 'path', 'paths': ['/d/*/x'], 'access': ['read']}},"
                "'rules': [{'id': 'deep', 'syscalls': ['openat'], 'resource': 'deep', 'action': 'allow'},"
                "          {'id': 'leaf', 'syscalls': ['openat'], 'resource': 'leaf', 'action': 'deny'}]}");
        size_t n = 1 << 20;
        _cleanup_free_ char *path = malloc(n + 3);

        ck_assert_ptr_nonnull(path);
        strcpy(path, "/d");
        for (size_t i = 2; i + 2 <= n; i += 2)
                memcpy(path + i, "/d", 3);
        ck_assert_str_eq(test_eval_path(g, NULL, "openat", path, R).rule_id, "deep");
        ck_assert_str_eq(test_eval_path(g, NULL, "openat", "/d/y/x", R).rule_id, "leaf");
}
END_TEST

START_TEST(test_etc_boundary) {
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = test_graph(
                TEST_POLICY_HEAD
                "'resources': {'etc': {'type': 'path', 'paths': ['/etc/**'], 'access': ['read']},"
                "              'all': {'type': 'path', 'paths': ['/**'], 'access': ['read']},"
                "              'root': {'type': 'path', 'paths': ['/'], 'access': ['read']}},"
                "'rules': [{'id': 'etc', 'syscalls': ['openat'], 'resource': 'etc', 'action': 'deny'},"
                "          {'id': 'root', 'syscalls': ['openat'], 'resource': 'root', 'action': 'allow'},"
                "          {'id': 'all', 'syscalls': ['openat'], 'resource': 'all', 'action': 'allow'}]}");

        ck_assert_str_eq(test_eval_path(g, NULL, "openat", "/etcetera", R).rule_id, "all");
        ck_assert_str_eq(test_eval_path(g, NULL, "openat", "/etc", R).rule_id, "etc");
        ck_assert_str_eq(test_eval_path(g, NULL, "openat", "/etc/x", R).rule_id, "etc");
        ck_assert_str_eq(test_eval_path(g, NULL, "openat", "/", R).rule_id, "root");
        ck_assert_str_eq(test_eval_path(g, NULL, "openat", "/a/b/c/d/e/f/g", R).rule_id, "all");
}
END_TEST

START_TEST(test_access_modes) {
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = test_graph(
                TEST_POLICY_HEAD
                "'resources': {'data': {'type': 'path', 'paths': ['/data/**'], 'access': ['read', 'stat']},"
                "              'logs': {'type': 'path', 'paths': ['/data/logs/**'], 'access': ['write', "
                "'create']}},"
                "'rules': [{'id': 'read-data', 'syscalls': ['openat'], 'resource': 'data',"
                " 'action': 'allow'},"
                "          {'id': 'no-log-write', 'syscalls': ['openat'], 'resource': 'logs',"
                " 'action': 'deny',"
                "           'errno': 'EROFS'}]}");

        /* allow: the request must be a subset of what the resource grants */
        ck_assert_str_eq(test_eval_path(g, NULL, "openat", "/data/a", R).rule_id, "read-data");
        ck_assert_str_eq(test_eval_path(g, NULL, "openat", "/data/a", R | POLICY_ACCESS_STAT).rule_id,
                         "read-data");
        ck_assert_str_eq(test_eval_path(g, NULL, "openat", "/data/a", R | W).rule_id, "default");
        ck_assert_str_eq(test_eval_path(g, NULL, "openat", "/data/a", POLICY_ACCESS_EXEC).rule_id,
                         "default");
        /* deny: any overlap with what the resource forbids */
        assert_decision(test_eval_path(g, NULL, "openat", "/data/logs/x", R | W), POLICY_VERDICT_DENY, EROFS,
                        "no-log-write");
        assert_decision(test_eval_path(g, NULL, "openat", "/data/logs/x", POLICY_ACCESS_CREATE),
                        POLICY_VERDICT_DENY, EROFS, "no-log-write");
        assert_decision(test_eval_path(g, NULL, "openat", "/data/logs/x", R), POLICY_VERDICT_ALLOW, 0,
                        "read-data");
}
END_TEST

static PolicySockaddr inet(int family, const char *addr, uint16_t port, int protocol) {
        PolicySockaddr sa = { .family = family, .port = port, .protocol = protocol };

        ck_assert_int_eq(inet_pton(family, addr, sa.addr), 1);
        return sa;
}

static PolicyDecision eval_addr(const PolicyGraph *g, const PolicySockaddr *sa) {
        PolicyQuery q = test_query(g, NULL, 50, "connect");

        q.addr = sa;
        return test_eval(g, &q);
}

START_TEST(test_network) {
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = test_graph(
                TEST_POLICY_HEAD
                "'resources': {"
                "  'dns': {'type': 'network', 'endpoints': [{'family': 'inet', 'address': '10.0.0.53/32',"
                "          'port': 53, 'protocol': 'udp'}]},"
                "  'lan': {'type': 'network', 'endpoints': [{'family': 'inet', 'address': '10.0.0.0/8'}]},"
                "  'web': {'type': 'network', 'endpoints': [{'family': 'inet', 'address': '192.168.1.0/24',"
                "          'ports': '8000-8099', 'protocol': 'tcp'}]},"
                "  'v6': {'type': 'network', 'endpoints': [{'family': 'inet6', 'address': '2001:db8::/32',"
                "         'port': 443}]},"
                "  'v6all': {'type': 'network', 'endpoints': [{'family': 'inet6', 'address': '::/0',"
                "            'port': 8443}]},"
                "  'v6host': {'type': 'network', 'endpoints': [{'family': 'inet6',"
                " 'address': '2001:db8::1/128'}]},"
                "  'any4': {'type': 'network', 'endpoints': [{'family': 'inet', 'address': '0.0.0.0/0',"
                "           'port': 443}]},"
                "  'sock': {'type': 'network', 'endpoints': [{'family': 'unix', 'path': '/run/app/*.sock'},"
                "           {'family': 'unix', 'path': '@app-*'}]}},"
                "'rules': ["
                "  {'id': 'dns', 'syscalls': ['connect'], 'resource': 'dns', 'action': 'allow'},"
                "  {'id': 'no-lan', 'syscalls': ['connect'], 'resource': 'lan', 'action': 'deny',"
                "   'errno': 'ENETUNREACH'},"
                "  {'id': 'web', 'syscalls': ['connect'], 'resource': 'web', 'action': 'allow'},"
                "  {'id': 'v6', 'syscalls': ['connect'], 'resource': 'v6', 'action': 'allow'},"
                "  {'id': 'v6all', 'syscalls': ['connect'], 'resource': 'v6all', 'action': 'allow'},"
                "  {'id': 'v6host', 'syscalls': ['connect'], 'resource': 'v6host', 'action': 'deny'},"
                "  {'id': 'https', 'syscalls': ['connect'], 'resource': 'any4', 'action': 'allow'},"
                "  {'id': 'sock', 'syscalls': ['connect'], 'resource': 'sock', 'action': 'allow'}]}");
        PolicySockaddr sa;
        PolicyDecision d;

        /* deny outranks the /32 allow: the verdict first */
        sa = inet(AF_INET, "10.0.0.53", 53, IPPROTO_UDP);
        d = eval_addr(g, &sa);
        assert_decision(d, POLICY_VERDICT_DENY, ENETUNREACH, "no-lan");
        ck_assert(d.used_memory);
        ck_assert_str_eq(d.resource->name, "lan");

        sa = inet(AF_INET, "192.168.1.7", 8000, IPPROTO_TCP);
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_ALLOW, 0, "web");
        sa = inet(AF_INET, "192.168.1.7", 8099, 0); /* protocol unknown: matches any */
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_ALLOW, 0, "web");
        sa = inet(AF_INET, "192.168.1.7", 8100, IPPROTO_TCP);
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_DENY, EPERM, "default");
        sa = inet(AF_INET, "192.168.1.7", 8000, IPPROTO_UDP);
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_DENY, EPERM, "default");
        sa = inet(AF_INET, "192.168.2.7", 8000, IPPROTO_TCP);
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_DENY, EPERM, "default");

        /* /0 matches any address of its family; the longer prefix explains when both allow */
        sa = inet(AF_INET, "203.0.113.9", 443, IPPROTO_TCP);
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_ALLOW, 0, "https");
        sa = inet(AF_INET, "192.168.1.1", 443, IPPROTO_TCP);
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_ALLOW, 0, "https");
        sa = inet(AF_INET, "203.0.113.9", 80, IPPROTO_TCP);
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_DENY, EPERM, "default");

        sa = inet(AF_INET6, "2001:db8:1::5", 443, IPPROTO_TCP);
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_ALLOW, 0, "v6");
        sa = inet(AF_INET6, "2001:db9::5", 443, IPPROTO_TCP);
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_DENY, EPERM, "default");
        sa = inet(AF_INET6, "2001:db8::1", 443, IPPROTO_TCP);
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_DENY, EPERM, "v6host");
        sa = inet(AF_INET6, "2001:db8::2", 443, IPPROTO_TCP);
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_ALLOW, 0, "v6");
        /* the family must match: an IPv6 /0-less rule never covers IPv4 */
        sa = inet(AF_INET6, "::1", 443, IPPROTO_TCP);
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_DENY, EPERM, "default");

        /* ::ffff:10.1.2.3 reaches an IPv4 host in 10/8: the IPv4 deny applies */
        sa = inet(AF_INET6, "::ffff:10.1.2.3", 443, IPPROTO_TCP);
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_DENY, ENETUNREACH, "no-lan");
        /* ... and it is that IPv4 address, nothing else: IPv4 rules allow it, IPv6 rules never match it */
        sa = inet(AF_INET6, "::ffff:203.0.113.9", 443, IPPROTO_TCP);
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_ALLOW, 0, "https");
        sa = inet(AF_INET6, "::ffff:192.0.2.1", 8443, IPPROTO_TCP);
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_DENY, EPERM, "default");
        sa = inet(AF_INET6, "2001:db9::1", 8443, IPPROTO_TCP);
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_ALLOW, 0, "v6all");

        /* unix sockets: path globs and abstract names */
        sa = (PolicySockaddr) { .family = AF_UNIX, .unix_path = "/run/app/db.sock" };
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_ALLOW, 0, "sock");
        sa = (PolicySockaddr) { .family = AF_UNIX, .unix_path = "/run/app/sub/db.sock" };
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_DENY, EPERM, "default");
        sa = (PolicySockaddr) { .family = AF_UNIX, .unix_path = "@app-control" };
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_ALLOW, 0, "sock");
        sa = (PolicySockaddr) { .family = AF_UNIX, .unix_path = "@other" };
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_DENY, EPERM, "default");
        sa = (PolicySockaddr) { .family = AF_UNIX, .unix_path = NULL };
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_DENY, EPERM, "default");

        ck_assert_uint_eq(policy_graph_needs(g, seccomp_arch_native(), syscall_resolve_native("connect")),
                          POLICY_NEED_ADDR);

        /* an address the decoder could not read matches no network resource */
        d = eval_addr(g, NULL);
        assert_decision(d, POLICY_VERDICT_DENY, EPERM, "default");
        ck_assert(d.used_memory);
}
END_TEST

/* "connected": a send without an address of its own matches it, and nothing else does. */
START_TEST(test_network_connected) {
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = test_graph(
                TEST_POLICY_HEAD
                "'resources': {"
                "  'peer': {'type': 'network', 'endpoints': [{'family': 'connected'}]},"
                "  'lo': {'type': 'network', 'endpoints': [{'family': 'inet', 'address': '127.0.0.0/8'}]}},"
                "'rules': ["
                "  {'id': 'send', 'syscalls': ['sendmsg', 'sendmmsg'], 'resources': ['peer', 'lo'],"
                "   'action': 'allow'},"
                "  {'id': 'conn', 'syscalls': ['connect'], 'resource': 'lo', 'action': 'allow'}]}");
        PolicySockaddr none = { .family = POLICY_FAMILY_CONNECTED }, far = inet(AF_INET, "192.0.2.2", 80, 0);
        PolicySockaddr unspec = { .family = AF_UNSPEC };
        PolicyQuery q = test_query(g, NULL, 50, "sendmsg");
        PolicyDecision d;

        q.addr = &none;
        d = test_eval(g, &q);
        assert_decision(d, POLICY_VERDICT_ALLOW, 0, "send");
        ck_assert_str_eq(d.resource->name, "peer");
        ck_assert(d.used_memory);
        q.addr = &far;
        assert_decision(test_eval(g, &q), POLICY_VERDICT_DENY, EPERM, "default");
        /* connect(AF_UNSPEC) is a disconnect, not a send without an address */
        q = test_query(g, NULL, 50, "connect");
        q.addr = &unspec;
        assert_decision(test_eval(g, &q), POLICY_VERDICT_DENY, EPERM, "default");
        ck_assert(policy_graph_needs(g, q.arch, test_query(g, NULL, 50, "sendmmsg").nr) & POLICY_NEED_ADDR);
}
END_TEST

/* policy_graph_allows_any_path(): allowed whatever the path only when no deny could match and something
 * allows the whole tree. */
static bool any_path(const PolicyGraph *g, int trust, const char *syscall, unsigned access) {
        PolicyQuery q = test_query(g, NULL, trust, syscall);

        return policy_graph_allows_any_path(g, POLICY_IDENTITY_ANY, trust, q.arch, q.nr, access);
}

START_TEST(test_allows_any_path) {
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = test_graph(
                TEST_POLICY_HEAD
                "'resources': {"
                "  'all': {'type': 'path', 'paths': ['/**'], 'access': ['read', 'stat']},"
                "  'tmp': {'type': 'path', 'paths': ['/tmp/**'], 'access': ['all']},"
                "  'shadow': {'type': 'path', 'paths': ['/etc/shadow'], 'access': ['read']}},"
                "'rules': ["
                "  {'id': 'open', 'syscalls': ['openat'], 'resource': 'all', 'action': 'allow'},"
                "  {'id': 'no-shadow', 'syscalls': ['openat'], 'resource': 'shadow', 'action': 'deny'},"
                "  {'id': 'exec', 'syscalls': ['execve'], 'resource': 'tmp', 'action': 'allow'},"
                "  {'id': 'chdir', 'syscalls': ['chdir'], 'action': 'allow', 'min_trust': 40},"
                "  {'id': 'stat', 'syscalls': ['stat'], 'resource': 'all', 'action': 'allow',"
                "   'min_trust': 60}]}");

        /* stat access on every path, and the deny is about reading only */
        ck_assert(any_path(g, 50, "openat", POLICY_ACCESS_STAT));
        ck_assert(!any_path(g, 50, "openat", POLICY_ACCESS_READ));
        ck_assert(!any_path(g, 50, "openat", POLICY_ACCESS_WRITE));
        /* a subtree is not every path */
        ck_assert(!any_path(g, 50, "execve", POLICY_ACCESS_EXEC));
        /* a rule without a resource covers every path, at the trust it needs */
        ck_assert(any_path(g, 50, "chdir", POLICY_ACCESS_STAT));
        ck_assert(!any_path(g, 30, "chdir", POLICY_ACCESS_STAT));
        ck_assert(!any_path(g, 50, "stat", POLICY_ACCESS_STAT));
        ck_assert(any_path(g, 70, "stat", POLICY_ACCESS_STAT));
}
END_TEST

START_TEST(test_network_specificity) {
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = test_graph(
                TEST_POLICY_HEAD
                "'resources': {"
                "  'wide': {'type': 'network', 'endpoints': [{'family': 'inet', 'address': '10.0.0.0/8'}]},"
                "  'narrow': {'type': 'network', 'endpoints': [{'family': 'inet',"
                " 'address': '10.1.0.0/16'}]},"
                "  'port': {'type': 'network', 'endpoints': [{'family': 'inet', 'address': '10.1.0.0/16',"
                "           'port': 22}]}},"
                "'rules': ["
                "  {'id': 'wide', 'syscalls': ['connect'], 'resource': 'wide', 'action': 'deny'},"
                "  {'id': 'narrow', 'syscalls': ['connect'], 'resource': 'narrow', 'action': 'deny', "
                "'errno': 'EIO'},"
                "  {'id': 'port', 'syscalls': ['connect'], 'resource': 'port', 'action': 'deny',"
                " 'errno': 'EBUSY'}]}");
        PolicySockaddr sa;

        sa = inet(AF_INET, "10.2.0.1", 22, IPPROTO_TCP);
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_DENY, EPERM, "wide");
        sa = inet(AF_INET, "10.1.0.1", 80, IPPROTO_TCP);
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_DENY, EIO, "narrow");
        sa = inet(AF_INET, "10.1.0.1", 22, IPPROTO_TCP);
        assert_decision(eval_addr(g, &sa), POLICY_VERDICT_DENY, EBUSY, "port");
}
END_TEST

static PolicyDecision eval_args(const PolicyGraph *g, const char *syscall, uint64_t a0, uint64_t a1,
                                uint64_t a2) {
        PolicyQuery q = test_query(g, NULL, 50, syscall);

        q.args[0] = a0;
        q.args[1] = a1;
        q.args[2] = a2;
        return test_eval(g, &q);
}

START_TEST(test_args_ops) {
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = test_graph(
                TEST_POLICY_HEAD
                "'resources': {"
                "  'eq': {'type': 'args', 'args': [{'index': 0, 'op': 'eq', 'value': 7}]},"
                "  'ne': {'type': 'args', 'args': [{'index': 0, 'op': 'ne', 'value': 7}]},"
                "  'lt': {'type': 'args', 'args': [{'index': 0, 'op': 'lt', 'value': 7}]},"
                "  'le': {'type': 'args', 'args': [{'index': 0, 'op': 'le', 'value': 7}]},"
                "  'gt': {'type': 'args', 'args': [{'index': 0, 'op': 'gt', 'value': 7}]},"
                "  'ge': {'type': 'args', 'args': [{'index': 0, 'op': 'ge', 'value': 7}]},"
                "  'masked': {'type': 'args', 'args': [{'index': 1, 'op': 'masked_eq', 'mask': 'O_ACCMODE',"
                "             'value': 'O_WRONLY'}]},"
                "  'big': {'type': 'args', 'args': [{'index': 2, 'op': 'eq', 'value': '0x100000000'}]},"
                "  'low': {'type': 'args', 'args': [{'index': 2, 'op': 'eq', 'value': 0}]}},"
                "'rules': ["
                "  {'id': 'eq', 'syscalls': ['getpid'], 'resource': 'eq', 'action': 'allow'},"
                "  {'id': 'ne', 'syscalls': ['getppid'], 'resource': 'ne', 'action': 'allow'},"
                "  {'id': 'lt', 'syscalls': ['getuid'], 'resource': 'lt', 'action': 'allow'},"
                "  {'id': 'le', 'syscalls': ['getgid'], 'resource': 'le', 'action': 'allow'},"
                "  {'id': 'gt', 'syscalls': ['geteuid'], 'resource': 'gt', 'action': 'allow'},"
                "  {'id': 'ge', 'syscalls': ['getegid'], 'resource': 'ge', 'action': 'allow'},"
                "  {'id': 'masked', 'syscalls': ['gettid'], 'resource': 'masked', 'action': 'allow'},"
                "  {'id': 'big', 'syscalls': ['sched_yield'], 'resource': 'big', 'action': 'allow'},"
                "  {'id': 'low', 'syscalls': ['sched_yield'], 'resource': 'low', 'action': 'deny'}]}");
        static const struct {
                const char *syscall;
                uint64_t a0, a1, a2;
                const char *rule;
        } cases[] = {
                { "getpid", 7, 0, 0, "eq" },
                { "getpid", 8, 0, 0, "default" },
                { "getpid", 7 | (1ULL << 32), 0, 0, "default" }, /* all 64 bits count */
                { "getppid", 8, 0, 0, "ne" },
                { "getppid", 7, 0, 0, "default" },
                { "getuid", 6, 0, 0, "lt" },
                { "getuid", 7, 0, 0, "default" },
                { "getuid", UINT64_MAX, 0, 0, "default" }, /* comparisons are unsigned */
                { "getgid", 7, 0, 0, "le" },
                { "getgid", 8, 0, 0, "default" },
                { "geteuid", 8, 0, 0, "gt" },
                { "geteuid", 7, 0, 0, "default" },
                { "geteuid", UINT64_MAX, 0, 0, "gt" },
                { "getegid", 7, 0, 0, "ge" },
                { "getegid", 6, 0, 0, "default" },
                { "gettid", 0, O_WRONLY, 0, "masked" },
                { "gettid", 0, O_WRONLY | O_CREAT | O_TRUNC, 0, "masked" },
                { "gettid", 0, O_RDWR, 0, "default" },
                { "gettid", 0, O_RDONLY, 0, "default" },
                { "sched_yield", 0, 0, 1ULL << 32, "big" },
                { "sched_yield", 0, 0, 0, "low" },
                { "sched_yield", 0, 0, 1, "default" },
        };

        FOREACH_ELEMENT(c, cases) {
                PolicyDecision d = eval_args(g, c->syscall, c->a0, c->a1, c->a2);

                ck_assert_msg(streq(d.rule_id, c->rule), "%s(%#llx, %#llx, %#llx): expected %s, got %s",
                              c->syscall, (unsigned long long) c->a0, (unsigned long long) c->a1,
                              (unsigned long long) c->a2, c->rule, d.rule_id);
                ck_assert(!d.used_memory);
        }
}
END_TEST

START_TEST(test_args_specificity) {
        /* Several conditions beat one; all of them must hold. Also exercises the "eq" index with many rules
         * of one syscall and a scanned rule without "eq". */
        _cleanup_free_ char *resources = NULL, *rules = NULL;
        size_t rs = 0, ls = 0;
        FILE *fr = open_memstream(&resources, &rs), *fl = open_memstream(&rules, &ls);

        ck_assert_ptr_nonnull(fr);
        ck_assert_ptr_nonnull(fl);
        for (int i = 0; i < 300; i++) {
                fprintf(fr, "'ioc%d': {'type': 'args', 'args': [{'index': 1, 'op': 'eq', 'value': %d}]},", i,
                        0x5400 + i);
                fprintf(fl,
                        "{'id': 'ioc%d', 'syscalls': ['ioctl'], 'resource': 'ioc%d', 'action': 'allow'},", i,
                        i);
        }
        fprintf(fr, "'tiocsti': {'type': 'args', 'args': [{'index': 1, 'op': 'eq', 'value': 'TIOCSTI'},"
                    "            {'index': 0, 'op': 'lt', 'value': 3}]},"
                    "'stdio': {'type': 'args', 'args': [{'index': 0, 'op': 'le', 'value': 2}]}");
        fprintf(fl, "{'id': 'stdio-deny', 'syscalls': ['ioctl'], 'resource': 'stdio', 'action': 'deny',"
                    " 'errno': 'ENOTTY'},"
                    "{'id': 'tiocsti', 'syscalls': ['ioctl'], 'resource': 'tiocsti', 'action': 'deny',"
                    " 'errno': 'EIO'}");
        ck_assert_int_eq(fclose(fr), 0);
        ck_assert_int_eq(fclose(fl), 0);

        Policy *p =
                test_policy_loadf(TEST_POLICY_HEAD "'resources': {%s}, 'rules': [%s]}", resources, rules);
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = NULL;

        ck_assert_int_eq(policy_graph_new(p, &g), 0);
        for (int i = 0; i < 300; i++) {
                char id[16];

                snprintf(id, sizeof id, "ioc%d", i);
                assert_decision(eval_args(g, "ioctl", 5, 0x5400 + i, 0), POLICY_VERDICT_ALLOW, 0, id);
        }
        assert_decision(eval_args(g, "ioctl", 5, 0x5400 + 300, 0), POLICY_VERDICT_DENY, EPERM, "default");
        /* TIOCSTI is 0x5412, allowed by ioc18 on fd 5; both denies match on fd 0 and the one with two
         * conditions explains */
        assert_decision(eval_args(g, "ioctl", 5, 0x5412, 0), POLICY_VERDICT_ALLOW, 0, "ioc18");
        assert_decision(eval_args(g, "ioctl", 0, 0x5412, 0), POLICY_VERDICT_DENY, EIO, "tiocsti");
        assert_decision(eval_args(g, "ioctl", 0, 0x5401, 0), POLICY_VERDICT_DENY, ENOTTY, "stdio-deny");
}
END_TEST

START_TEST(test_trust) {
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = test_graph(
                TEST_POLICY_HEAD
                "'resources': {'etc': {'type': 'path', 'paths': ['/etc/**'], 'access': ['read']}},"
                "'rules': [{'id': 'etc-read', 'syscalls': ['openat'], 'resource': 'etc', 'action': 'allow',"
                "           'min_trust': 50},"
                "          {'id': 'pid', 'syscalls': ['getpid'], 'action': 'allow', 'min_trust': 80},"
                "          {'id': 'pid-low', 'syscalls': ['getpid'], 'action': 'allow', 'min_trust': 10},"
                "          {'id': 'ppid-trusted', 'syscalls': ['getppid'], 'action': 'allow',"
                " 'min_trust': 90},"
                "          {'id': 'ppid-deny', 'syscalls': ['getppid'], 'action': 'deny',"
                " 'errno': 'EACCES'}]}");
        PolicyQuery q;
        PolicyDecision d;
        char buf[512];

        q = test_query(g, NULL, 50, "openat");
        q.path = "/etc/hosts";
        q.access = R;
        d = test_eval(g, &q);
        assert_decision(d, POLICY_VERDICT_ALLOW, 0, "etc-read");
        ck_assert_ptr_null(d.trust_blocked);

        q.trust = 30;
        d = test_eval(g, &q);
        assert_decision(d, POLICY_VERDICT_DENY, EPERM, "default");
        ck_assert_ptr_nonnull(d.trust_blocked);
        ck_assert_str_eq(d.trust_blocked->id, "etc-read");
        ck_assert_str_eq(
                policy_decision_explain(g, &q, &d, buf, sizeof buf),
                "deny (EPERM) by default: no rule for openat matched /etc/hosts [read]; rule etc-read needs "
                "trust >= 50, workload has 30");

        /* the rule that would have matched is reported only where the rest matched too */
        q.path = "/srv/x";
        d = test_eval(g, &q);
        ck_assert_ptr_null(d.trust_blocked);

        /* the highest-precedence blocked rule is reported when a lesser one decides */
        q = test_query(g, NULL, 20, "getpid");
        d = test_eval(g, &q);
        assert_decision(d, POLICY_VERDICT_ALLOW, 0, "pid-low");
        ck_assert_str_eq(d.trust_blocked->id, "pid");
        q.trust = 5;
        d = test_eval(g, &q);
        assert_decision(d, POLICY_VERDICT_DENY, EPERM, "default");
        ck_assert_str_eq(d.trust_blocked->id, "pid");
        q.trust = 80; /* min_trust is inclusive */
        d = test_eval(g, &q);
        assert_decision(d, POLICY_VERDICT_ALLOW, 0, "pid");
        ck_assert_ptr_null(d.trust_blocked);

        /* a blocked rule that could not have changed the decision is not reported */
        q = test_query(g, NULL, 10, "getppid");
        d = test_eval(g, &q);
        assert_decision(d, POLICY_VERDICT_DENY, EACCES, "ppid-deny");
        ck_assert_ptr_null(d.trust_blocked);

        ck_assert_uint_eq(policy_graph_needs(g, seccomp_arch_native(), syscall_resolve_native("openat")),
                          POLICY_NEED_PATH | POLICY_NEED_TRUST);
        ck_assert_uint_eq(policy_graph_needs(g, seccomp_arch_native(), syscall_resolve_native("getpid")),
                          POLICY_NEED_TRUST);
        ck_assert_uint_eq(policy_graph_needs(g, seccomp_arch_native(), syscall_resolve_native("uname")), 0);
}
END_TEST

START_TEST(test_groups) {
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = test_graph(
                TEST_POLICY_HEAD
                "'rules': [{'id': 'mounts', 'syscalls': ['@mount'], 'action': 'quarantine'},"
                "          {'id': 'basics', 'syscalls': ['@default', 'uname'], 'action': 'allow'},"
                "          {'id': 'no-pid', 'syscalls': ['getpid'], 'action': 'deny', 'errno': 'ESRCH'}]}");
        const SyscallGroup *mount = syscall_group_lookup("@mount");
        PolicyQuery q;

        ck_assert_ptr_nonnull(mount);
        for (const char *const *m = mount->members; *m; m++) {
                if (syscall_resolve_native(*m) < 0)
                        continue;
                q = test_query(g, NULL, 50, *m);
                assert_decision(test_eval(g, &q), POLICY_VERDICT_QUARANTINE, EPERM, "mounts");
        }
        q = test_query(g, NULL, 50, "exit_group");
        assert_decision(test_eval(g, &q), POLICY_VERDICT_ALLOW, 0, "basics");
        q = test_query(g, NULL, 50, "uname");
        assert_decision(test_eval(g, &q), POLICY_VERDICT_ALLOW, 0, "basics");
        /* a member of the group named again by a deny rule: the deny wins */
        q = test_query(g, NULL, 50, "getpid");
        assert_decision(test_eval(g, &q), POLICY_VERDICT_DENY, ESRCH, "no-pid");
        /* not in any group used */
        q = test_query(g, NULL, 50, "ptrace");
        assert_decision(test_eval(g, &q), POLICY_VERDICT_DENY, EPERM, "default");
}
END_TEST

START_TEST(test_bad_arch_and_unknown) {
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = test_graph(
                TEST_POLICY_HEAD "'rules': [{'id': 'pid', 'syscalls': ['getpid'], 'action': 'allow'}]}");
        PolicyQuery q = test_query(g, NULL, 50, "getpid");
        PolicyDecision d;
        char buf[512];

        q.arch = seccomp_arch_native() == AUDIT_ARCH_AARCH64 ? AUDIT_ARCH_X86_64 : AUDIT_ARCH_AARCH64;
        d = test_eval(g, &q);
        assert_decision(d, POLICY_VERDICT_DENY, ENOSYS, "bad-arch");
        ck_assert_int_eq(d.reason, POLICY_REASON_BAD_ARCH);
        ck_assert_ptr_nonnull(
                strstr(policy_decision_explain(g, &q, &d, buf, sizeof buf), "kills the process"));
        ck_assert_uint_eq(policy_graph_needs(g, q.arch, q.nr), 0);

        if (seccomp_arch_native() == AUDIT_ARCH_X86_64) {
                /* x32 numbers on the x86_64 arch are another ABI, not in this policy */
                q = test_query(g, NULL, 50, "getpid");
                q.nr = syscall_resolve_arch("getpid", SCMP_ARCH_X32);
                ck_assert_int_ge(q.nr, 0x40000000);
                d = test_eval(g, &q);
                ck_assert_int_eq(d.reason, POLICY_REASON_BAD_ARCH);
        }

        q = test_query(g, NULL, 50, "getpid");
        q.nr = 4000; /* no syscall has this number on x86_64 or aarch64 */
        d = test_eval(g, &q);
        assert_decision(d, POLICY_VERDICT_DENY, EPERM, "unknown-syscall");
        ck_assert_int_eq(d.reason, POLICY_REASON_UNKNOWN_SYSCALL);
        ck_assert_str_eq(policy_decision_explain(g, &q, &d, buf, sizeof buf),
                         seccomp_arch_native() == AUDIT_ARCH_X86_64
                                 ? "deny (EPERM) by default: syscall 4000 is unknown on x86_64"
                                 : "deny (EPERM) by default: syscall 4000 is unknown on aarch64");
        q.nr = -1;
        ck_assert_int_eq(test_eval(g, &q).reason, POLICY_REASON_UNKNOWN_SYSCALL);
}
END_TEST

START_TEST(test_x32_policy) {
        if (seccomp_arch_native() != AUDIT_ARCH_X86_64)
                return; /* x32 exists only beside x86_64: nothing to test elsewhere */

        _cleanup_(policy_graph_unrefp) PolicyGraph *g = test_graph(
                TEST_POLICY_HEAD "'architectures': ['x86_64', 'x32', 'x86'],"
                                 "'rules': [{'id': 'pid', 'syscalls': ['getpid'], 'action': 'allow'}]}");
        PolicyQuery q = test_query(g, NULL, 50, "getpid");

        q.nr = syscall_resolve_arch("getpid", SCMP_ARCH_X32);
        assert_decision(test_eval(g, &q), POLICY_VERDICT_ALLOW, 0, "pid");
        q.arch = AUDIT_ARCH_I386;
        q.nr = syscall_resolve_arch("getpid", AUDIT_ARCH_I386);
        assert_decision(test_eval(g, &q), POLICY_VERDICT_ALLOW, 0, "pid");
        q.nr = syscall_resolve_arch("getppid", AUDIT_ARCH_I386);
        assert_decision(test_eval(g, &q), POLICY_VERDICT_DENY, EPERM, "default");
}
END_TEST

START_TEST(test_builtin_listener) {
        _cleanup_(policy_graph_unrefp) PolicyGraph *g =
                test_graph(TEST_POLICY_HEAD
                           "'rules': [{'id': 'seccomp', 'syscalls': ['seccomp'], 'action': 'allow'}]}");
        PolicyQuery q = test_query(g, NULL, 50, "seccomp");
        PolicyDecision d;
        char buf[512];

        q.args[0] = SECCOMP_SET_MODE_FILTER;
        q.args[1] = SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_TSYNC;
        d = test_eval(g, &q);
        assert_decision(d, POLICY_VERDICT_DENY, EPERM, "builtin");
        ck_assert_int_eq(d.reason, POLICY_REASON_BUILTIN);
        ck_assert_str_eq(policy_decision_explain(g, &q, &d, buf, sizeof buf),
                         "deny (EPERM) by builtin: seccomp(SECCOMP_SET_MODE_FILTER) with "
                         "SECCOMP_FILTER_FLAG_NEW_LISTENER is never allowed");

        q.args[1] = SECCOMP_FILTER_FLAG_TSYNC;
        assert_decision(test_eval(g, &q), POLICY_VERDICT_ALLOW, 0, "seccomp");
        q.args[0] = SECCOMP_GET_ACTION_AVAIL;
        q.args[1] = SECCOMP_FILTER_FLAG_NEW_LISTENER;
        assert_decision(test_eval(g, &q), POLICY_VERDICT_ALLOW, 0, "seccomp");
}
END_TEST

START_TEST(test_explain) {
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = test_graph(
                TEST_POLICY_HEAD
                "'resources': {'shadow': {'type': 'path', 'paths': ['/etc/shadow'], 'access': ['read', "
                "'write']},"
                "              'dns': {'type': 'network', 'endpoints': [{'family': 'inet',"
                "                      'address': '10.0.0.0/8', 'port': 53}]},"
                "              'userns': {'type': 'args', 'args': [{'index': 0, 'op': 'masked_eq',"
                "                         'mask': 'CLONE_NEWUSER', 'value': 'CLONE_NEWUSER'}]}},"
                "'rules': [{'id': 'no-shadow', 'syscalls': ['openat'], 'resource': 'shadow',"
                " 'action': 'deny',"
                "           'errno': 'EACCES'},"
                "          {'id': 'dns', 'syscalls': ['connect'], 'resource': 'dns', 'action': 'allow'},"
                "          {'id': 'no-userns', 'syscalls': ['unshare'], 'resource': 'userns',"
                " 'action': 'deny'},"
                "          {'id': 'pid', 'syscalls': ['getpid'], 'action': 'allow'}]}");
        PolicySockaddr sa = inet(AF_INET, "10.0.0.1", 53, IPPROTO_UDP);
        PolicyQuery q;
        PolicyDecision d;
        char buf[512], tiny[12];

        q = test_query(g, NULL, 50, "openat");
        q.path = "/etc/shadow";
        q.access = R;
        d = test_eval(g, &q);
        ck_assert_str_eq(policy_decision_explain(g, &q, &d, buf, sizeof buf),
                         "deny (EACCES) by rule no-shadow: /etc/shadow matches resource shadow [read]");

        q.path = "/srv/x";
        q.access = W;
        d = test_eval(g, &q);
        ck_assert_str_eq(policy_decision_explain(g, &q, &d, buf, sizeof buf),
                         "deny (EPERM) by default: no rule for openat matched /srv/x [write]");

        /* workload-controlled bytes never reach the line raw */
        q.path = "/srv/evil\n\033[2J";
        d = test_eval(g, &q);
        ck_assert_str_eq(
                policy_decision_explain(g, &q, &d, buf, sizeof buf),
                "deny (EPERM) by default: no rule for openat matched /srv/evil\\x0a\\x1b[2J [write]");

        q = test_query(g, NULL, 50, "connect");
        q.addr = &sa;
        d = test_eval(g, &q);
        ck_assert_str_eq(policy_decision_explain(g, &q, &d, buf, sizeof buf),
                         "allow by rule dns: 10.0.0.1:53/udp matches resource dns");

        q = test_query(g, NULL, 50, "unshare");
        q.args[0] = CLONE_NEWUSER | CLONE_NEWNS;
        d = test_eval(g, &q);
        ck_assert_str_eq(policy_decision_explain(g, &q, &d, buf, sizeof buf),
                         "deny (EPERM) by rule no-userns: arguments match resource userns");

        q = test_query(g, NULL, 50, "getpid");
        d = test_eval(g, &q);
        ck_assert_str_eq(policy_decision_explain(g, &q, &d, buf, sizeof buf), "allow by rule pid");

        /* truncation keeps a terminated string */
        ck_assert_str_eq(policy_decision_explain(g, &q, &d, tiny, sizeof tiny), "allow by ru");
}
END_TEST

START_TEST(test_many_rules) {
        /* 3,000 path rules with distinct prefixes over a few syscalls: every hit and miss is right. */
        FILE *fr, *fl;
        _cleanup_free_ char *resources = NULL, *rules = NULL;
        size_t rs = 0, ls = 0;
        const char *syscalls[] = { "openat", "mkdirat", "unlinkat", "execve" };

        fr = open_memstream(&resources, &rs);
        fl = open_memstream(&rules, &ls);
        for (int i = 0; i < 3000; i++) {
                fprintf(fr,
                        "%s'r%d': {'type': 'path', 'paths': ['/srv/app%d/**', '/opt/t%d/f*.txt'], "
                        "'access': ['all']}",
                        i ? "," : "", i, i, i);
                fprintf(fl, "%s{'id': 'r%d', 'syscalls': ['%s'], 'resource': 'r%d', 'action': '%s'}",
                        i ? "," : "", i, syscalls[i % 4], i, i % 3 == 0 ? "deny" : "allow");
        }
        ck_assert_int_eq(fclose(fr), 0);
        ck_assert_int_eq(fclose(fl), 0);

        Policy *p =
                test_policy_loadf(TEST_POLICY_HEAD "'resources': {%s}, 'rules': [%s]}", resources, rules);
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = NULL;

        ck_assert_int_eq(policy_graph_new(p, &g), 0);
        for (int i = 0; i < 3000; i += 7) {
                char path[64], id[16];
                PolicyDecision d;

                snprintf(id, sizeof id, "r%d", i);
                snprintf(path, sizeof path, "/srv/app%d/data/x", i);
                d = test_eval_path(g, NULL, syscalls[i % 4], path, POLICY_ACCESS_EXEC);
                ck_assert_str_eq(d.rule_id, id);
                ck_assert_int_eq(d.verdict, i % 3 == 0 ? POLICY_VERDICT_DENY : POLICY_VERDICT_ALLOW);
                snprintf(path, sizeof path, "/opt/t%d/f1.txt", i);
                ck_assert_str_eq(test_eval_path(g, NULL, syscalls[i % 4], path, R).rule_id, id);
                snprintf(path, sizeof path, "/opt/t%d/g1.txt", i);
                ck_assert_str_eq(test_eval_path(g, NULL, syscalls[i % 4], path, R).rule_id, "default");
                /* the same path under another syscall is not this rule's */
                snprintf(path, sizeof path, "/srv/app%d/data/x", i);
                ck_assert_str_ne(test_eval_path(g, NULL, syscalls[(i + 1) % 4], path, R).rule_id, id);
        }
}
END_TEST

typedef struct ThreadArg {
        PolicyGraph *g;
        int failures;
} ThreadArg;

static void *eval_thread(void *userdata) {
        ThreadArg *a = userdata;

        for (int i = 0; i < 20000; i++) {
                PolicyQuery q = {
                        .identity = POLICY_IDENTITY_ANY,
                        .trust = 50,
                        .arch = seccomp_arch_native(),
                        .nr = syscall_resolve_native("openat"),
                        .path = i % 2 ? "/etc/shadow" : "/etc/hosts",
                        .access = R,
                };
                PolicyDecision d;

                if (policy_graph_eval(a->g, &q, &d) < 0 || !streq(d.rule_id, i % 2 ? "no-shadow" : "etc"))
                        a->failures++;
        }
        policy_graph_unref(a->g);
        return NULL;
}

START_TEST(test_threads_and_refs) {
        PolicyGraph *g = test_graph(
                TEST_POLICY_HEAD
                "'resources': {'etc': {'type': 'path', 'paths': ['/etc/**'], 'access': ['read']},"
                "              'shadow': {'type': 'path', 'paths': ['/etc/shadow'], 'access': ['read']}},"
                "'rules': [{'id': 'etc', 'syscalls': ['openat'], 'resource': 'etc', 'action': 'allow'},"
                "          {'id': 'no-shadow', 'syscalls': ['openat'], 'resource': 'shadow',"
                " 'action': 'deny'}]}");
        ThreadArg args[4];
        pthread_t t[4];

        for (int i = 0; i < 4; i++) {
                args[i] = (ThreadArg) { .g = policy_graph_ref(g) };
                ck_assert_int_eq(pthread_create(&t[i], NULL, eval_thread, &args[i]), 0);
        }
        /* the creator's reference goes first: the threads keep the graph alive */
        ck_assert_ptr_null(policy_graph_unref(g));
        for (int i = 0; i < 4; i++) {
                ck_assert_int_eq(pthread_join(t[i], NULL), 0);
                ck_assert_int_eq(args[i].failures, 0);
        }
        ck_assert_ptr_null(policy_graph_unref(NULL));
}
END_TEST

START_TEST(test_hand_built) {
        /* A policy built in code, not parsed: no architectures (the native one), a syscall named twice by
         * one rule, an args resource without conditions (always holds), an address family no rule knows. */
        Policy *p = calloc(1, sizeof(Policy));
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = NULL;
        PolicySockaddr packet = { .family = AF_PACKET };
        PolicyQuery q;

        ck_assert_ptr_nonnull(p);
        p->default_verdict = POLICY_VERDICT_DENY;
        p->default_errno = ENOSYS;
        p->resources = calloc(1, sizeof(PolicyResource));
        p->rules = calloc(2, sizeof(PolicyRule));
        ck_assert(p->resources && p->rules);
        p->resources[p->n_resources++] = (PolicyResource) {
                .name = strdup("always"),
                .type = POLICY_RESOURCE_ARGS,
        };
        p->rules[p->n_rules++] = (PolicyRule) {
                .id = strdup("twice"), .identity = POLICY_IDENTITY_ANY, .verdict = POLICY_VERDICT_ALLOW,
                .min_trust = -1, .syscalls = calloc(3, sizeof(char *)),
        };
        p->rules[0].syscalls[0] = strdup("getpid");
        p->rules[0].syscalls[1] = strdup("getpid");
        p->rules[p->n_rules++] = (PolicyRule) {
                .id = strdup("args"), .identity = POLICY_IDENTITY_ANY, .verdict = POLICY_VERDICT_DENY,
                .errno_value = EACCES, .min_trust = -1, .syscalls = calloc(3, sizeof(char *)),
                .resources = calloc(1, sizeof(int)), .n_resources = 1,
        };
        p->rules[1].syscalls[0] = strdup("getppid");
        p->rules[1].syscalls[1] = strdup("connect");
        ck_assert_int_eq(policy_graph_new(p, &g), 0);

        q = test_query(g, NULL, 0, "getpid");
        assert_decision(test_eval(g, &q), POLICY_VERDICT_ALLOW, 0, "twice");
        q = test_query(g, NULL, 0, "getppid");
        assert_decision(test_eval(g, &q), POLICY_VERDICT_DENY, EACCES, "args");
        q = test_query(g, NULL, 0, "connect");
        q.addr = &packet;
        assert_decision(test_eval(g, &q), POLICY_VERDICT_DENY, EACCES, "args");
        q = test_query(g, NULL, 0, "uname");
        assert_decision(test_eval(g, &q), POLICY_VERDICT_DENY, ENOSYS, "default");
}
END_TEST

START_TEST(test_reason_names) {
        ck_assert_str_eq(policy_reason_to_string(POLICY_REASON_RULE), "rule");
        ck_assert_str_eq(policy_reason_to_string(POLICY_REASON_DEFAULT), "default");
        ck_assert_str_eq(policy_reason_to_string(POLICY_REASON_BAD_ARCH), "bad-arch");
        ck_assert_str_eq(policy_reason_to_string(POLICY_REASON_UNKNOWN_SYSCALL), "unknown-syscall");
        ck_assert_str_eq(policy_reason_to_string(POLICY_REASON_BUILTIN), "builtin");
        ck_assert_ptr_null(policy_reason_to_string(_POLICY_REASON_MAX));
        ck_assert_ptr_null(policy_reason_to_string(_POLICY_REASON_INVALID));
        ck_assert_ptr_null(policy_graph_policy(NULL));
        ck_assert_uint_eq(policy_graph_needs(NULL, 0, 0), 0);
}
END_TEST

START_TEST(test_glob_match) {
        static const struct {
                const char *pattern, *s;
                bool match;
        } cases[] = {
                { "abc", "abc", true },
                { "abc", "abd", false },
                { "a*", "a", true },
                { "*c", "abc", true },
                { "a*c", "abxyzc", true },
                { "a*c", "abxyzd", false },
                { "*a*b*", "xaxxbx", true },
                { "*a*b*", "xbxxax", false },
                { "a?c", "abc", true },
                { "a?c", "ac", false },
                { "[abc]", "b", true },
                { "[abc]", "d", false },
                { "[a-c]x", "bx", true },
                { "[!a-c]", "b", false },
                { "[^a-c]", "d", true },
                { "[]]", "]", true },
                { "[!]]", "a", true },
                { "\\*", "*", true },
                { "\\*", "a", false },
                { "[[:digit:]]x", "7x", true },
                { "[[:digit:]]x", "ax", false },
                { "[[:upper:][:digit:]]", "Q", true },
                { "[", "[", true },
                { "a[b", "a[b", true },
                { "**", "anything", true },
                { "", "", true },
                { "", "a", false },
                { "*", "", true },
                { "?", "", false },
                { "a\\", "a\\", true },
        };

        FOREACH_ELEMENT(c, cases)
                ck_assert_msg(glob_match(c->pattern, c->s, strlen(c->s)) == c->match, "'%s' on '%s'",
                              c->pattern, c->s);
        /* length-delimited: the matcher never reads past n */
        ck_assert(glob_match("ab", "abc", 2));
        ck_assert(!glob_match("abc", "abc", 2));

        ck_assert(path_is_normalized("/"));
        ck_assert(path_is_normalized("/a/b"));
        ck_assert(path_is_normalized("/a/.b/..c"));
        ck_assert(!path_is_normalized("/a/../b"));
        ck_assert(!path_is_normalized("/a/."));
        ck_assert(!path_is_normalized("a"));
        ck_assert(!path_is_normalized(""));
        ck_assert(!path_is_normalized(NULL));
}
END_TEST

/* ---- random path policies against a brute-force matcher built on fnmatch(3) ---- */

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rng(void) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return rng_state;
}

static const char *const pattern_parts[] = { "a", "b", "c", "ab", "*", "?", "[ab]", "a*", "*b" };
static const char *const path_parts[] = { "a", "b", "c", "ab", "ba", "abc", "bb" };

static char *random_pattern(void) {
        char buf[128] = "";
        unsigned depth = 1 + (unsigned) (rng() % 3);

        for (unsigned i = 0; i < depth; i++) {
                strcat(buf, "/");
                strcat(buf, pattern_parts[rng() % ELEMENTSOF(pattern_parts)]);
        }
        if (rng() % 4 == 0)
                strcat(buf, "/**");
        return strdup(buf);
}

/* The reference: component by component with fnmatch(), "**" (last) matching zero or more components. */
static bool reference_match(const char *pattern, const char *path) {
        char pat[128], pth[128], *ps[16], *qs[16], *save = NULL;
        size_t np = 0, nq = 0;

        snprintf(pat, sizeof pat, "%s", pattern);
        snprintf(pth, sizeof pth, "%s", path);
        for (char *t = strtok_r(pat, "/", &save); t; t = strtok_r(NULL, "/", &save))
                ps[np++] = t;
        for (char *t = strtok_r(pth, "/", &save); t; t = strtok_r(NULL, "/", &save))
                qs[nq++] = t;
        for (size_t i = 0; i < np; i++) {
                if (streq(ps[i], "**"))
                        return true; /* last by construction */
                if (i >= nq || fnmatch(ps[i], qs[i], 0) != 0)
                        return false;
        }
        return np == nq;
}

START_TEST(test_glob_vs_fnmatch) {
        /* The byte-wise matcher agrees with fnmatch(3) in the C locale on random patterns and names. */
        static const char *const atoms[] = { "a", "b", ".", "*", "?", "[ab]", "[!a]", "[^b]", "[a-b]", "\\*",
                                             "[[:alpha:]]", "[]a]" };
        static const char names[] = "ab.*]";

        for (unsigned i = 0; i < 20000; i++) {
                char pattern[64] = "", name[16] = "";
                unsigned np = 1 + (unsigned) (rng() % 5), nn = (unsigned) (rng() % 7);

                for (unsigned k = 0; k < np; k++)
                        strcat(pattern, atoms[rng() % ELEMENTSOF(atoms)]);
                for (unsigned k = 0; k < nn; k++)
                        name[k] = names[rng() % (sizeof names - 1)];
                ck_assert_msg(glob_match(pattern, name, strlen(name)) == (fnmatch(pattern, name, 0) == 0),
                              "'%s' on '%s': glob_match %d, fnmatch %d", pattern, name,
                              glob_match(pattern, name, strlen(name)), fnmatch(pattern, name, 0) == 0);
        }
}
END_TEST

START_TEST(test_random_paths) {
        static const unsigned accesses[] = { POLICY_ACCESS_READ, POLICY_ACCESS_WRITE,
                                             POLICY_ACCESS_READ | POLICY_ACCESS_WRITE };
        unsigned matched = 0;

        for (unsigned round = 0; round < 200; round++) {
                unsigned n_rules = 1 + (unsigned) (rng() % 12);
                Policy *p = calloc(1, sizeof(Policy));
                _cleanup_(policy_graph_unrefp) PolicyGraph *g = NULL;

                ck_assert_ptr_nonnull(p);
                p->default_verdict = POLICY_VERDICT_DENY;
                p->default_errno = EPERM;
                p->resources = calloc(n_rules, sizeof(PolicyResource));
                p->rules = calloc(n_rules, sizeof(PolicyRule));
                ck_assert(p->resources && p->rules);
                for (unsigned i = 0; i < n_rules; i++) {
                        PolicyResource *res = &p->resources[p->n_resources++];
                        PolicyRule *r = &p->rules[p->n_rules++];
                        char name[16];

                        snprintf(name, sizeof name, "r%u", i);
                        *res = (PolicyResource) {
                                .name = strdup(name),
                                .type = POLICY_RESOURCE_PATH,
                                .access = accesses[rng() % 3],
                        };
                        res->paths = calloc(3, sizeof(char *));
                        res->paths[0] = random_pattern();
                        if (rng() % 3 == 0)
                                res->paths[1] = random_pattern();
                        *r = (PolicyRule) {
                                .id = strdup(name),
                                .identity = POLICY_IDENTITY_ANY,
                                .verdict = (PolicyVerdict) (rng() % _POLICY_VERDICT_MAX),
                                .errno_value = EACCES,
                                .min_trust = -1,
                        };
                        r->syscalls = calloc(2, sizeof(char *));
                        r->syscalls[0] = strdup("openat");
                        r->resources = calloc(1, sizeof(int));
                        r->resources[0] = (int) i;
                        r->n_resources = 1;
                }
                ck_assert_int_eq(policy_graph_new(p, &g), 0);

                for (unsigned k = 0; k < 40; k++) {
                        char path[128] = "";
                        unsigned depth = (unsigned) (rng() % 5), access = accesses[rng() % 3];
                        int best = -1;
                        PolicyDecision d;

                        for (unsigned i = 0; i < depth; i++) {
                                strcat(path, "/");
                                strcat(path, path_parts[rng() % ELEMENTSOF(path_parts)]);
                        }
                        if (depth == 0)
                                strcpy(path, "/");

                        /* highest verdict among matching rules, by brute force */
                        for (unsigned i = 0; i < p->n_rules; i++) {
                                const PolicyRule *r = &p->rules[i];
                                const PolicyResource *res = &p->resources[i];
                                bool m = false, permit = r->verdict <= POLICY_VERDICT_EMULATE;

                                for (char **pat = res->paths; *pat; pat++)
                                        m = m || reference_match(*pat, path);
                                if (m &&
                                    (permit ? (access & ~res->access) == 0 : (access & res->access) != 0) &&
                                    (best < 0 || (int) r->verdict > best))
                                        best = (int) r->verdict;
                        }

                        d = test_eval_path(g, NULL, "openat", path, access);
                        if (best < 0)
                                ck_assert_msg(d.reason == POLICY_REASON_DEFAULT, "round %u: %s matched %s",
                                              round, path, d.rule_id);
                        else {
                                matched++;
                                ck_assert_msg(d.reason == POLICY_REASON_RULE && (int) d.verdict == best,
                                              "round %u: %s: expected %s, got %s by %s", round, path,
                                              policy_verdict_to_string(best),
                                              policy_verdict_to_string(d.verdict), d.rule_id);
                                /* the deciding rule really matches */
                                bool m = false;
                                for (char **pat = d.resource->paths; *pat; pat++)
                                        m = m || reference_match(*pat, path);
                                ck_assert(m);
                        }
                }
        }
        ck_assert_uint_gt(matched, 500);
}
END_TEST

static const char dot_policy[] =
        "{'version': 1, 'name': 'say \\\"hi\\\"', 'default': {'action': 'deny', 'errno': 'EPERM'},"
        " 'trust': {'initial': 50, 'maximum': 100, 'deny_penalty': 10, 'quarantine_below': 20},"
        "'identities': {'web': {'match': {'name': 'web-*', 'labels': {'tier': 'front'}}, 'trust': 70},"
        "               'db': {'match': {'name': 'db'}}},"
        "'resources': {"
        "  'etc': {'type': 'path', 'paths': ['/etc/**', '/usr/share/**'], 'access': ['read', 'stat']},"
        "  'dns': {'type': 'network', 'endpoints': [{'family': 'inet', 'address': '10.0.0.53/32',"
        " 'port': 53,"
        "          'protocol': 'udp'}, {'family': 'unix', 'path': '/run/nscd/socket'}]},"
        "  'userns': {'type': 'args', 'args': [{'index': 0, 'op': 'masked_eq', 'mask': 'CLONE_NEWUSER',"
        "             'value': 'CLONE_NEWUSER'}, {'index': 1, 'op': 'ge', 'value': 16}]},"
        "  'unused': {'type': 'path', 'paths': ['/nowhere'], 'access': ['read']}},"
        "'rules': ["
        "  {'id': 'etc-read', 'identity': 'web', 'syscalls': ['@file-open'], 'resource': 'etc',"
        " 'action': 'allow',"
        "   'min_trust': 50},"
        "  {'id': 'dns', 'identity': 'db', 'syscalls': ['connect'], 'resource': 'dns', 'action': 'emulate'},"
        "  {'id': 'no-userns', 'syscalls': ['unshare'], 'resource': 'userns', 'action': 'deny',"
        " 'errno': 'EACCES', 'description': 'no \\\"new\\\" user namespaces'},"
        "  {'id': 'mounts', 'syscalls': ['@mount'], 'action': 'quarantine'}]}";

static char *dot_of(const Policy *p, int identity) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(policy_to_dot(p, identity, f), 0);
        ck_assert_int_eq(fclose(f), 0);
        return text;
}

START_TEST(test_dot_structure) {
        _cleanup_(policy_freep) Policy *p = test_policy_load(dot_policy);
        _cleanup_free_ char *all = dot_of(p, POLICY_COMPILE_ALL_IDENTITIES);
        _cleanup_free_ char *web = dot_of(p, policy_identity_by_name(p, "web"));
        _cleanup_free_ char *any = dot_of(p, POLICY_IDENTITY_ANY);
        int depth = 0;

        ck_assert(strncmp(all, "digraph policy {\n", 17) == 0);
        ck_assert(strlen(all) > 2 && streq(all + strlen(all) - 2, "}\n"));
        /* braces balance outside quoted strings, and quotes pair up */
        for (const char *c = all; *c; c++) {
                if (*c == '"') {
                        for (c++; *c && *c != '"'; c++)
                                if (*c == '\\' && c[1])
                                        c++;
                        ck_assert_msg(*c == '"', "unterminated string");
                } else if (*c == '{')
                        depth++;
                else if (*c == '}')
                        depth--;
                ck_assert_int_ge(depth, 0);
        }
        ck_assert_int_eq(depth, 0);

        /* the file's name with its quotes escaped, and the default */
        ck_assert_ptr_nonnull(strstr(all, "label=\"say \\\"hi\\\"\\ndefault: deny (EPERM)\""));
        ck_assert_ptr_nonnull(strstr(all, "\"default\" [shape=octagon"));
        /* identities -> rules -> resources, coloured by verdict */
        ck_assert_ptr_nonnull(strstr(all, "\"identity:*\" -> \"rule:2\""));
        ck_assert_ptr_nonnull(strstr(all, "\"rule:0\" -> \"resource:0\""));
        ck_assert_ptr_nonnull(
                strstr(all, "fillcolor=\"#c8e6c9\", color=\"#2e7d32\", label=\"etc-read\\nallow\\n"));
        ck_assert_ptr_nonnull(
                strstr(all, "fillcolor=\"#bbdefb\", color=\"#1565c0\", label=\"dns\\nemulate"));
        ck_assert_ptr_nonnull(strstr(all, "label=\"no-userns\\ndeny (EACCES)\\nunshare\""));
        ck_assert_ptr_nonnull(strstr(
                all, "fillcolor=\"#ffcdd2\", color=\"#c62828\", label=\"mounts\\nquarantine (EPERM)"));
        ck_assert_ptr_nonnull(strstr(all, "\\nmin_trust 50\""));
        ck_assert_ptr_nonnull(strstr(all, " more")); /* @mount abbreviated */
        ck_assert_ptr_nonnull(strstr(all, "/etc/**\\n/usr/share/**\\n[read,stat]"));
        ck_assert_ptr_nonnull(strstr(all, "10.0.0.53/32 port 53 udp\\nunix:/run/nscd/socket"));
        ck_assert_ptr_nonnull(strstr(all, "arg0 & 0x10000000 == 0x10000000\\narg1 >= 0x10\""));
        ck_assert_ptr_nonnull(strstr(all, "\\nlabel tier=front\\n"));
        ck_assert_ptr_nonnull(strstr(all, "trust 70"));
        ck_assert_ptr_null(strstr(all, "nowhere")); /* resources no shown rule uses are left out */
        /* descriptions become tooltips, escaped like labels */
        ck_assert_ptr_nonnull(strstr(all, "label=\"no-userns\\ndeny (EACCES)\\nunshare\", "
                                          "tooltip=\"no \\\"new\\\" user namespaces\"];"));

        /* one identity: its rules and "*" rules only */
        ck_assert_ptr_nonnull(strstr(web, "etc-read"));
        ck_assert_ptr_null(strstr(web, "label=\"dns"));
        ck_assert_ptr_nonnull(strstr(web, "no-userns"));
        ck_assert_ptr_null(strstr(any, "etc-read"));
        ck_assert_ptr_nonnull(strstr(any, "mounts"));

        FILE *f = fopen("/dev/null", "we");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(policy_to_dot(p, 5, f), -EINVAL);
        fclose(f);
}
END_TEST

START_TEST(test_dot_renders) {
        _cleanup_(policy_freep) Policy *p = test_policy_load(dot_policy);
        _cleanup_free_ char *text = dot_of(p, POLICY_COMPILE_ALL_IDENTITIES);
        char dir[] = "/tmp/forgeone-dot-XXXXXX", in[64], out[64], cmd[256], head[256] = "";
        FILE *f;
        int r;

        if (access("/usr/bin/dot", X_OK) < 0) {
                /* Graphviz is optional: the structure test above still checks the text. */
                fprintf(stderr, "dot not installed, rendering not checked\n");
                return;
        }
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(in, sizeof in, "%s/p.dot", dir);
        snprintf(out, sizeof out, "%s/p.svg", dir);
        f = fopen(in, "we");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_ge(fputs(text, f), 0);
        ck_assert_int_eq(fclose(f), 0);
        snprintf(cmd, sizeof cmd, "/usr/bin/dot -Tsvg '%s' -o '%s' 2>&1", in, out);
        r = system(cmd);
        f = fopen(out, "re");
        if (f) {
                size_t n = fread(head, 1, sizeof head - 1, f);

                head[n] = '\0';
                fclose(f);
        }
        unlink(in);
        unlink(out);
        rmdir(dir);
        ck_assert_int_eq(r, 0);
        ck_assert_ptr_nonnull(strstr(head, "<svg") ?: strstr(head, "<?xml"));
}
END_TEST

static Suite *policy_graph_suite(void) {
        Suite *s = suite_create("policy-graph");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_verdict_pairs);
        tcase_add_test(tc, test_default);
        tcase_add_test(tc, test_quarantine_default);
        tcase_add_test(tc, test_named_identity_beats_any);
        tcase_add_test(tc, test_verdict_beats_specificity);
        tcase_add_test(tc, test_path_specificity);
        tcase_add_test(tc, test_path_globs);
        tcase_add_test(tc, test_etc_boundary);
        tcase_add_test(tc, test_deep_path);
        tcase_add_test(tc, test_access_modes);
        tcase_add_test(tc, test_network);
        tcase_add_test(tc, test_network_connected);
        tcase_add_test(tc, test_allows_any_path);
        tcase_add_test(tc, test_network_specificity);
        tcase_add_test(tc, test_args_ops);
        tcase_add_test(tc, test_args_specificity);
        tcase_add_test(tc, test_trust);
        tcase_add_test(tc, test_groups);
        tcase_add_test(tc, test_bad_arch_and_unknown);
        tcase_add_test(tc, test_x32_policy);
        tcase_add_test(tc, test_builtin_listener);
        tcase_add_test(tc, test_explain);
        tcase_add_test(tc, test_many_rules);
        tcase_add_test(tc, test_threads_and_refs);
        tcase_add_test(tc, test_reason_names);
        tcase_add_test(tc, test_hand_built);
        tcase_add_test(tc, test_glob_match);
        tcase_add_test(tc, test_random_paths);
        tcase_add_test(tc, test_glob_vs_fnmatch);
        suite_add_tcase(s, tc);

        tc = tcase_create("dot");
        tcase_add_test(tc, test_dot_structure);
        tcase_add_test(tc, test_dot_renders);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return fo_test_run(policy_graph_suite());
}
