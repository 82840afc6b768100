/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The policy compiler: which syscalls the kernel decides and which go to the supervisor, checked by running
 * the exported BPF in the library's interpreter against the graph evaluator, and once for real: a forked
 * child loads the filter (no_new_privs, no root needed) and sees the errnos it promises. */

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forgeone/policy-compile.h"
#include "forgeone/policy-graph.h"
#include "policy-engine-test-util.h"
#include "test-util.h"

#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif

static const PolicyCompiledSyscall *find(const PolicyFilter *f, const char *name) {
        for (size_t i = 0; i < f->n_syscalls; i++)
                if (streq(f->syscalls[i].name, name))
                        return &f->syscalls[i];
        return NULL;
}

static void assert_compiled(const PolicyFilter *f, const char *name, PolicyKernelAction action,
                            int errno_value, const char *why) {
        const PolicyCompiledSyscall *s = find(f, name);

        ck_assert_msg(s, "%s is not in the filter's list", name);
        ck_assert_msg(s->action == action, "%s: expected %s, got %s (%s)", name,
                      policy_kernel_action_to_string(action), policy_kernel_action_to_string(s->action),
                      strempty(s->why));
        if (action == POLICY_KERNEL_ERRNO)
                ck_assert_int_eq(s->errno_value, errno_value);
        if (why)
                ck_assert_msg(streq_ptr(s->why, why), "%s: expected why '%s', got '%s'", name, why,
                              strempty(s->why));
}

static uint32_t run(const PolicyFilter *f, uint32_t arch, int nr, uint64_t a0, uint64_t a1) {
        struct seccomp_data d = { .nr = nr, .arch = arch, .args = { a0, a1 } };

        return policy_filter_run(f, &d);
}

static uint32_t run_native(const PolicyFilter *f, const char *name, uint64_t a0, uint64_t a1) {
        int nr = syscall_resolve_native(name);

        ck_assert_int_ge(nr, 0);
        return run(f, seccomp_arch_native(), nr, a0, a1);
}

/* The same with the third argument (ioctl's TIOCSCTTY takes it into account). */
static uint32_t run_native3(const PolicyFilter *f, const char *name, uint64_t a0, uint64_t a1, uint64_t a2) {
        struct seccomp_data d = { .arch = seccomp_arch_native(), .args = { a0, a1, a2 } };

        d.nr = syscall_resolve_native(name);
        ck_assert_int_ge(d.nr, 0);
        return policy_filter_run(f, &d);
}

#define RET_ERRNO(e) (SECCOMP_RET_ERRNO | (uint32_t) (e))

/* Whatever the kernel decides by itself must be what the graph decides for the same registers, for every
 * identity the filter serves. copy: a second load of the policy the filter was compiled from, which the
 * graph takes over. */
static void assert_kernel_agrees_with_graph(const PolicyFilter *f, Policy *copy, int identity) {
        static const uint64_t samples[][2] = {
                { 0, 0 },
                { 1, 8 },
                { 1, 0 },
                { 2, 8 },
                { AF_UNIX, SOCK_STREAM },
                { AF_INET, SOCK_DGRAM },
                { CLONE_NEWUSER, 0 },
                { CLONE_NEWNS | CLONE_NEWUSER, 0 },
                { 0, O_WRONLY | O_CREAT },
                { 0x5412, 0x5412 },
                { UINT64_MAX, UINT64_MAX },
        };
        PolicyGraph *g = NULL;
        int first = identity == POLICY_COMPILE_ALL_IDENTITIES ? POLICY_IDENTITY_ANY : identity;
        int last = identity == POLICY_COMPILE_ALL_IDENTITIES ? (int) copy->n_identities - 1 : identity;

        ck_assert_int_eq(policy_graph_new(copy, &g), 0);

        for (size_t i = 0; i < f->n_syscalls; i++) {
                const PolicyCompiledSyscall *s = &f->syscalls[i];

                if (s->nr < 0)
                        continue;
                FOREACH_ELEMENT(a, samples) {
                        uint32_t ret = run(f, seccomp_arch_native(), s->nr, (*a)[0], (*a)[1]);
                        uint32_t action = ret & SECCOMP_RET_ACTION_FULL;

                        if (action == SECCOMP_RET_USER_NOTIF)
                                continue; /* the graph decides those, by definition */
                        ck_assert_msg(action == SECCOMP_RET_ALLOW || action == SECCOMP_RET_ERRNO,
                                      "%s: unexpected kernel action %#x", s->name, ret);
                        ck_assert_msg(s->action != POLICY_KERNEL_NOTIFY || s->conditional,
                                      "%s is listed as notify but the kernel decided %#x", s->name, ret);

                        for (int id = first; id <= last; id++) {
                                PolicyQuery q = {
                                        .identity = id,
                                        .trust = policy_identity_trust(copy, id),
                                        .arch = seccomp_arch_native(),
                                        .nr = s->nr,
                                        .args = { (*a)[0], (*a)[1] },
                                };
                                PolicyDecision d = test_eval(g, &q);

                                if (action == SECCOMP_RET_ALLOW)
                                        ck_assert_msg(
                                                d.verdict == POLICY_VERDICT_ALLOW,
                                                "%s(%#llx, %#llx) identity %d: kernel allows, graph says %s "
                                                "by %s",
                                                s->name, (unsigned long long) (*a)[0],
                                                (unsigned long long) (*a)[1], id,
                                                policy_verdict_to_string(d.verdict), d.rule_id);
                                else
                                        ck_assert_msg(
                                                d.verdict == POLICY_VERDICT_DENY &&
                                                        (uint32_t) d.errno_value == (ret & SECCOMP_RET_DATA),
                                                "%s(%#llx, %#llx) identity %d: kernel errno %u, "
                                                "graph says %s/%d by %s",
                                                s->name, (unsigned long long) (*a)[0],
                                                (unsigned long long) (*a)[1], id, ret & SECCOMP_RET_DATA,
                                                policy_verdict_to_string(d.verdict), d.errno_value,
                                                d.rule_id);
                        }
                }
        }
        policy_graph_unref(g);
}

static const char split_policy[] = TEST_POLICY_HEAD
        "'identities': {'web': {'match': {'name': 'web'}}},"
        "'resources': {"
        "  'etc': {'type': 'path', 'paths': ['/etc/**'], 'access': ['read']},"
        "  'tmp': {'type': 'path', 'paths': ['/tmp/**'], 'access': ['create']},"
        "  'tmp-delete': {'type': 'path', 'paths': ['/tmp/**'], 'access': ['delete']},"
        "  'dns': {'type': 'network', 'endpoints': [{'family': 'inet', 'address': '10.0.0.53/32',"
        "          'port': 53}]},"
        "  'unix-sock': {'type': 'args', 'args': [{'index': 0, 'op': 'eq', 'value': 'AF_UNIX'}]},"
        "  'inet-dgram': {'type': 'args', 'args': [{'index': 0, 'op': 'eq', 'value': 'AF_INET'},"
        "                 {'index': 1, 'op': 'eq', 'value': 'SOCK_DGRAM'}]},"
        "  'userns': {'type': 'args', 'args': [{'index': 0, 'op': 'masked_eq', 'mask': 'CLONE_NEWUSER',"
        "             'value': 'CLONE_NEWUSER'}]},"
        "  'mntns': {'type': 'args', 'args': [{'index': 0, 'op': 'masked_eq', 'mask': 'CLONE_NEWNS',"
        "            'value': 'CLONE_NEWNS'}]},"
        "  'range': {'type': 'args', 'args': [{'index': 0, 'op': 'ge', 'value': 2},"
        "            {'index': 0, 'op': 'le', 'value': 9}]}},"
        "'rules': ["
        "  {'id': 'pid', 'syscalls': ['getpid'], 'action': 'allow'},"
        "  {'id': 'no-modules', 'syscalls': ['init_module'], 'action': 'deny', 'errno': 'ENOEXEC'},"
        "  {'id': 'etc-read', 'syscalls': ['openat'], 'resource': 'etc', 'action': 'allow'},"
        "  {'id': 'dns', 'syscalls': ['connect'], 'resource': 'dns', 'action': 'allow'},"
        "  {'id': 'ppid', 'syscalls': ['getppid'], 'action': 'allow', 'min_trust': 40},"
        "  {'id': 'open-emulated', 'syscalls': ['open'], 'action': 'emulate'},"
        "  {'id': 'mounts', 'syscalls': ['mount'], 'action': 'quarantine'},"
        "  {'id': 'no-mkdir', 'syscalls': ['mkdirat'], 'action': 'deny', 'errno': 'EROFS'},"
        "  {'id': 'tmp-mkdir', 'syscalls': ['mkdirat'], 'resource': 'tmp', 'action': 'allow'},"
        "  {'id': 'no-unlink', 'syscalls': ['unlinkat'], 'action': 'deny', 'errno': 'EROFS'},"
        "  {'id': 'no-tmp-unlink', 'syscalls': ['unlinkat'], 'resource': 'tmp-delete', 'action': 'deny',"
        "   'errno': 'EACCES'},"
        "  {'id': 'sockets', 'syscalls': ['socket'], 'resources': ['unix-sock', 'inet-dgram'],"
        "   'action': 'allow'},"
        "  {'id': 'no-userns', 'syscalls': ['unshare'], 'resources': ['userns', 'mntns'], 'action': 'deny',"
        "   'errno': 'EACCES'},"
        "  {'id': 'clone', 'syscalls': ['clone'], 'action': 'allow'},"
        "  {'id': 'no-clone-userns', 'syscalls': ['clone'], 'resource': 'userns', 'action': 'deny'},"
        "  {'id': 'setns-a', 'syscalls': ['setns'], 'resource': 'userns', 'action': 'deny'},"
        "  {'id': 'setns-b', 'syscalls': ['setns'], 'resource': 'mntns', 'action': 'deny', 'errno': 'EIO'},"
        "  {'id': 'range', 'syscalls': ['personality'], 'resource': 'range', 'action': 'allow'},"
        "  {'id': 'web-uname', 'identity': 'web', 'syscalls': ['uname'], 'action': 'allow'},"
        "  {'id': 'web-time', 'identity': 'web', 'syscalls': ['time'], 'action': 'deny'},"
        "  {'id': 'cwd-first', 'syscalls': ['getcwd'], 'action': 'deny', 'errno': 'ENOENT'},"
        "  {'id': 'cwd-second', 'syscalls': ['getcwd'], 'action': 'deny', 'errno': 'EIO'},"
        "  {'id': 'any-time', 'syscalls': ['time'], 'action': 'deny'}"
        "]}";

START_TEST(test_split) {
        _cleanup_(policy_freep) Policy *p = test_policy_load(split_policy);
        _cleanup_(policy_filter_freep) PolicyFilter *f = NULL;

        ck_assert_int_eq(policy_compile(p, POLICY_COMPILE_ALL_IDENTITIES, &f), 0);
        ck_assert_int_gt(f->n_insns, 0);
        ck_assert_int_eq(f->default_action, POLICY_KERNEL_ERRNO);
        ck_assert_int_eq(f->default_errno, EPERM);

        assert_compiled(f, "getpid", POLICY_KERNEL_ALLOW, 0, NULL);
        ck_assert_str_eq(find(f, "getpid")->rule_id, "pid");
        ck_assert(!find(f, "getpid")->conditional);
        assert_compiled(f, "init_module", POLICY_KERNEL_ERRNO, ENOEXEC, NULL);
        ck_assert_str_eq(find(f, "init_module")->rule_id, "no-modules");
        assert_compiled(f, "openat", POLICY_KERNEL_NOTIFY, 0, "path resource");
        assert_compiled(f, "connect", POLICY_KERNEL_NOTIFY, 0, "network resource");
        assert_compiled(f, "getppid", POLICY_KERNEL_NOTIFY, 0, "trust");
        assert_compiled(f, "open", POLICY_KERNEL_NOTIFY, 0, "emulate");
        assert_compiled(f, "mount", POLICY_KERNEL_NOTIFY, 0, "quarantine");
        /* an unconditional deny outranks every allow: the kernel can say no by itself */
        assert_compiled(f, "mkdirat", POLICY_KERNEL_ERRNO, EROFS, NULL);
        /* ... unless a more specific deny with another errno explains some calls */
        assert_compiled(f, "unlinkat", POLICY_KERNEL_NOTIFY, 0, "path resource");
        /* allow clauses only: ALLOW with comparators, the rest falls to the default */
        assert_compiled(f, "socket", POLICY_KERNEL_ALLOW, 0, NULL);
        ck_assert(find(f, "socket")->conditional);
        /* deny clauses with one errno only */
        assert_compiled(f, "unshare", POLICY_KERNEL_ERRNO, EACCES, NULL);
        ck_assert(find(f, "unshare")->conditional);
        /* conditional deny over an allow; two errnos; two comparisons of one argument: not for libseccomp */
        assert_compiled(f, "clone", POLICY_KERNEL_NOTIFY, 0, "arguments");
        assert_compiled(f, "setns", POLICY_KERNEL_NOTIFY, 0, "arguments");
        assert_compiled(f, "personality", POLICY_KERNEL_NOTIFY, 0, "arguments");
        /* only "web" may: the filter for every identity cannot decide */
        assert_compiled(f, "uname", POLICY_KERNEL_NOTIFY, 0, "differs per identity");
        /* two unconditional denies: the first in the file explains every call, its errno is the kernel's */
        assert_compiled(f, "getcwd", POLICY_KERNEL_ERRNO, ENOENT, NULL);
        ck_assert_str_eq(find(f, "getcwd")->rule_id, "cwd-first");
        /* identical kernel actions for every identity: decided in the kernel */
        assert_compiled(f, "time", POLICY_KERNEL_ERRNO, EPERM, NULL);

        /* The program does what the list says. */
        ck_assert_uint_eq(run_native(f, "getpid", 0, 0), SECCOMP_RET_ALLOW);
        ck_assert_uint_eq(run_native(f, "init_module", 0, 0), RET_ERRNO(ENOEXEC));
        ck_assert_uint_eq(run_native(f, "openat", 0, 0), SECCOMP_RET_USER_NOTIF);
        ck_assert_uint_eq(run_native(f, "mount", 0, 0), SECCOMP_RET_USER_NOTIF);
        ck_assert_uint_eq(run_native(f, "mkdirat", 0, 0), RET_ERRNO(EROFS));
        ck_assert_uint_eq(run_native(f, "socket", AF_UNIX, SOCK_STREAM), SECCOMP_RET_ALLOW);
        ck_assert_uint_eq(run_native(f, "socket", AF_INET, SOCK_DGRAM), SECCOMP_RET_ALLOW);
        ck_assert_uint_eq(run_native(f, "socket", AF_INET, SOCK_STREAM), RET_ERRNO(EPERM));
        ck_assert_uint_eq(run_native(f, "socket", AF_INET6, SOCK_DGRAM), RET_ERRNO(EPERM));
        /* The family is an int: the kernel reads the low 32 bits, and so does the filter. */
        ck_assert_uint_eq(run_native(f, "socket", AF_UNIX | (1ULL << 32), 0), SECCOMP_RET_ALLOW);
        ck_assert_uint_eq(run_native(f, "socket", AF_INET | (0xffffULL << 48), SOCK_STREAM),
                          RET_ERRNO(EPERM));
        ck_assert_uint_eq(run_native(f, "unshare", CLONE_NEWUSER | CLONE_NEWNET, 0), RET_ERRNO(EACCES));
        ck_assert_uint_eq(run_native(f, "unshare", CLONE_NEWNS, 0), RET_ERRNO(EACCES));
        ck_assert_uint_eq(run_native(f, "unshare", CLONE_NEWNET, 0), RET_ERRNO(EPERM));
        ck_assert_uint_eq(run_native(f, "clone", 0, 0), SECCOMP_RET_USER_NOTIF);
        ck_assert_uint_eq(run_native(f, "uname", 0, 0), SECCOMP_RET_USER_NOTIF);
        ck_assert_uint_eq(run_native(f, "gettid", 0, 0), RET_ERRNO(EPERM)); /* named by no rule */

        /* sorted by name, every named syscall listed, with the builtin seccomp entry */
        for (size_t i = 1; i < f->n_syscalls; i++)
                ck_assert_int_lt(strcmp(f->syscalls[i - 1].name, f->syscalls[i].name), 0);
        ck_assert_ptr_nonnull(find(f, "seccomp"));
        /* the default's EPERM already is the builtin's answer: nothing to add */
        ck_assert_str_eq(find(f, "seccomp")->rule_id, "default");

        assert_kernel_agrees_with_graph(f, test_policy_load(split_policy), POLICY_COMPILE_ALL_IDENTITIES);
}
END_TEST

START_TEST(test_identities) {
        _cleanup_(policy_freep) Policy *p = test_policy_load(split_policy);
        _cleanup_(policy_filter_freep) PolicyFilter *web = NULL, *any = NULL;
        int id = policy_identity_by_name(p, "web");
        PolicyFilter *f = NULL;

        ck_assert_int_ge(id, 0);
        ck_assert_int_eq(policy_compile(p, id, &web), 0);
        ck_assert_int_eq(policy_compile(p, POLICY_IDENTITY_ANY, &any), 0);

        assert_compiled(web, "uname", POLICY_KERNEL_ALLOW, 0, NULL);
        ck_assert_str_eq(find(web, "uname")->rule_id, "web-uname");
        ck_assert_uint_eq(run_native(web, "uname", 0, 0), SECCOMP_RET_ALLOW);
        /* the named identity's rule explains where verdicts tie */
        ck_assert_str_eq(find(web, "time")->rule_id, "web-time");
        /* a workload matching no identity never sees web's rules */
        ck_assert_ptr_null(find(any, "uname"));
        ck_assert_uint_eq(run_native(any, "uname", 0, 0), RET_ERRNO(EPERM));
        ck_assert_str_eq(find(any, "time")->rule_id, "any-time");

        assert_kernel_agrees_with_graph(web, test_policy_load(split_policy), id);
        assert_kernel_agrees_with_graph(any, test_policy_load(split_policy), POLICY_IDENTITY_ANY);

        ck_assert_int_eq(policy_compile(p, 7, &f), -EINVAL);
        ck_assert_int_eq(policy_compile(p, -3, &f), -EINVAL);
        ck_assert_ptr_null(f);
}
END_TEST

START_TEST(test_arches) {
        _cleanup_(policy_freep) Policy *native = test_policy_load(
                TEST_POLICY_HEAD "'rules': [{'id': 'pid', 'syscalls': ['getpid'], 'action': 'allow'}]}");
        _cleanup_(policy_filter_freep) PolicyFilter *f = NULL;
        uint32_t foreign =
                seccomp_arch_native() == AUDIT_ARCH_AARCH64 ? AUDIT_ARCH_X86_64 : AUDIT_ARCH_AARCH64;

        ck_assert_int_eq(policy_compile(native, POLICY_COMPILE_ALL_IDENTITIES, &f), 0);
        ck_assert_uint_eq(f->n_arches, 1);
        ck_assert_uint_eq(f->arches[0], seccomp_arch_native());
        ck_assert_uint_eq(run(f, foreign, 39, 0, 0), SECCOMP_RET_KILL_PROCESS);

        if (seccomp_arch_native() != AUDIT_ARCH_X86_64)
                return;

        /* x32 and i386 calls from an x86_64 workload are other ABIs: killed unless the policy names them */
        ck_assert_uint_eq(run(f, AUDIT_ARCH_X86_64, syscall_resolve_arch("getpid", SCMP_ARCH_X32), 0, 0),
                          SECCOMP_RET_KILL_PROCESS);
        ck_assert_uint_eq(run(f, AUDIT_ARCH_I386, syscall_resolve_arch("getpid", AUDIT_ARCH_I386), 0, 0),
                          SECCOMP_RET_KILL_PROCESS);
        ck_assert_uint_eq(run(f, AUDIT_ARCH_X86_64, syscall_resolve_arch("getpid", AUDIT_ARCH_X86_64), 0, 0),
                          SECCOMP_RET_ALLOW);
        f = policy_filter_free(f);

        _cleanup_(policy_freep) Policy *multi = test_policy_load(
                TEST_POLICY_HEAD
                "'architectures': ['x86_64', 'x86'],"
                "'rules': [{'id': 'pid', 'syscalls': ['getpid'], 'action': 'allow'},"
                "          {'id': 'sock', 'syscalls': ['socketcall'], 'action': 'deny',"
                " 'errno': 'ENOSYS'}]}");

        ck_assert_int_eq(policy_compile(multi, POLICY_COMPILE_ALL_IDENTITIES, &f), 0);
        ck_assert_uint_eq(f->n_arches, 2);
        ck_assert_uint_eq(run(f, AUDIT_ARCH_I386, syscall_resolve_arch("getpid", AUDIT_ARCH_I386), 0, 0),
                          SECCOMP_RET_ALLOW);
        ck_assert_uint_eq(run(f, AUDIT_ARCH_I386, syscall_resolve_arch("getppid", AUDIT_ARCH_I386), 0, 0),
                          RET_ERRNO(EPERM));
        /* a syscall only i386 has */
        ck_assert_uint_eq(run(f, AUDIT_ARCH_I386, syscall_resolve_arch("socketcall", AUDIT_ARCH_I386), 0, 0),
                          RET_ERRNO(ENOSYS));
        ck_assert_int_eq(find(f, "socketcall")->nr, -1);
        ck_assert_uint_eq(run(f, AUDIT_ARCH_X86_64, syscall_resolve_arch("getpid", SCMP_ARCH_X32), 0, 0),
                          SECCOMP_RET_KILL_PROCESS);
}
END_TEST

/* The policy's stance on seccomp(2) itself, with what the kernel must answer for (op, flags) pairs. */
static const struct {
        const char *rules;
        PolicyKernelAction action;
        uint32_t listener, filter,
                other; /* SET_MODE_FILTER+NEW_LISTENER, SET_MODE_FILTER, GET_ACTION_AVAIL */
} seccomp_cases[] = {
        { "", POLICY_KERNEL_ERRNO, RET_ERRNO(EPERM), RET_ERRNO(ENOSYS), RET_ERRNO(ENOSYS) },
        { "{'id': 's', 'syscalls': ['seccomp'], 'action': 'allow'}", POLICY_KERNEL_ALLOW, RET_ERRNO(EPERM),
          SECCOMP_RET_ALLOW, SECCOMP_RET_ALLOW },
        { "{'id': 's', 'syscalls': ['seccomp'], 'action': 'deny', 'errno': 'EACCES'}", POLICY_KERNEL_ERRNO,
          RET_ERRNO(EPERM), RET_ERRNO(EACCES), RET_ERRNO(EACCES) },
        { "{'id': 's', 'syscalls': ['seccomp'], 'action': 'deny', 'errno': 'EPERM'}", POLICY_KERNEL_ERRNO,
          RET_ERRNO(EPERM), RET_ERRNO(EPERM), RET_ERRNO(EPERM) },
        { "{'id': 's', 'syscalls': ['seccomp'], 'action': 'quarantine'}", POLICY_KERNEL_NOTIFY,
          RET_ERRNO(EPERM), SECCOMP_RET_USER_NOTIF, SECCOMP_RET_USER_NOTIF },
        /* allow clauses would overlap the builtin deny clause: the supervisor decides the rest */
        { "{'id': 's', 'syscalls': ['seccomp'], 'resource': 'op-filter', 'action': 'allow'}",
          POLICY_KERNEL_NOTIFY, RET_ERRNO(EPERM), SECCOMP_RET_USER_NOTIF, SECCOMP_RET_USER_NOTIF },
        /* deny clauses with EPERM: the builtin is one more clause */
        { "{'id': 's', 'syscalls': ['seccomp'], 'resource': 'op-avail', 'action': 'deny'}",
          POLICY_KERNEL_ERRNO, RET_ERRNO(EPERM), RET_ERRNO(ENOSYS), RET_ERRNO(EPERM) },
};

START_TEST(test_builtin_listener_denial) {
        Policy *p = test_policy_loadf(
                "{'version': 1, 'default': {'action': 'deny', 'errno': 'ENOSYS'},"
                " 'resources': {'op-filter': {'type': 'args', 'args': [{'index': 0, 'op': 'eq',"
                " 'value': 1}]},"
                "               'op-avail': {'type': 'args', 'args': [{'index': 0, 'op': 'eq',"
                " 'value': 2}]}},"
                " 'rules': [%s]}",
                seccomp_cases[_i].rules);
        _cleanup_(policy_filter_freep) PolicyFilter *f = NULL;
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = NULL;
        const PolicyCompiledSyscall *s;
        PolicyQuery q;
        PolicyDecision d;

        ck_assert_int_eq(policy_compile(p, POLICY_COMPILE_ALL_IDENTITIES, &f), 0);
        s = find(f, "seccomp");
        ck_assert_ptr_nonnull(s);
        ck_assert_msg(s->action == seccomp_cases[_i].action, "case %d: %s", _i,
                      policy_kernel_action_to_string(s->action));
        ck_assert_str_eq(s->rule_id, streq(seccomp_cases[_i].rules, "") ? "builtin" : "s");
        ck_assert_uint_eq(
                run_native(f, "seccomp", SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER),
                seccomp_cases[_i].listener);
        ck_assert_uint_eq(run_native(f, "seccomp", SECCOMP_SET_MODE_FILTER,
                                     SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_TSYNC),
                          seccomp_cases[_i].listener);
        ck_assert_uint_eq(run_native(f, "seccomp", SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC),
                          seccomp_cases[_i].filter);
        ck_assert_uint_eq(
                run_native(f, "seccomp", SECCOMP_GET_ACTION_AVAIL, SECCOMP_FILTER_FLAG_NEW_LISTENER),
                seccomp_cases[_i].other);

        /* user space applies the same builtin, whatever reaches it */
        ck_assert_int_eq(policy_graph_new(p, &g), 0);
        q = test_query(g, NULL, 50, "seccomp");
        q.args[0] = SECCOMP_SET_MODE_FILTER;
        q.args[1] = SECCOMP_FILTER_FLAG_NEW_LISTENER;
        d = test_eval(g, &q);
        assert_decision(d, POLICY_VERDICT_DENY, EPERM, "builtin");
}
END_TEST

START_TEST(test_real_load) {
        /* The filter loads for real in a child and the kernel answers as compiled. No root: no_new_privs. */
        _cleanup_(policy_freep) Policy *p = test_policy_load(
                "{'version': 1, 'default': {'action': 'deny', 'errno': 'EACCES'},"
                " 'rules': [{'id': 'basics', 'syscalls': ['@default'], 'action': 'allow'},"
                "           {'id': 'no-ppid', 'syscalls': ['getppid'], 'action': 'deny',"
                " 'errno': 'ENOTSUP'},"
                "           {'id': 'seccomp', 'syscalls': ['seccomp'], 'action': 'allow'}]}");
        _cleanup_(policy_filter_freep) PolicyFilter *f = NULL;
        pid_t pid;
        int status;

        ck_assert_int_eq(policy_compile(p, POLICY_COMPILE_ALL_IDENTITIES, &f), 0);

        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                struct sock_fprog prog = { .len = (unsigned short) f->n_insns, .filter = f->insns };
                struct sock_filter allow_all[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
                struct sock_fprog second = { .len = 1, .filter = allow_all };
                uint32_t action = SECCOMP_RET_ALLOW;
                struct utsname u;

                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                        _exit(2);
                if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
                        _exit(3);
                /* allowed by rule */
                if (syscall(SYS_getpid) <= 0)
                        _exit(4);
                /* denied by rule, with its errno */
                if (syscall(SYS_getppid) != -1 || errno != ENOTSUP)
                        _exit(5);
                /* named by no rule: the default */
                if (syscall(SYS_uname, &u) != -1 || errno != EACCES)
                        _exit(6);
                /* the policy allows seccomp, the builtin still refuses a listener */
                if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
                            &second) != -1 ||
                    errno != EPERM)
                        _exit(7);
                /* ... and lets the rest through */
                if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) != 0)
                        _exit(8);
                if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &second) != 0)
                        _exit(9);
                _exit(0);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status), "child died with signal %d",
                      WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        ck_assert_msg(WEXITSTATUS(status) == 0, "child failed at step %d", WEXITSTATUS(status));
}
END_TEST

START_TEST(test_quarantine_default) {
        _cleanup_(policy_freep) Policy *p =
                test_policy_load("{'version': 1, 'default': {'action': 'quarantine', 'errno': 'EPERM'},"
                                 " 'rules': [{'id': 'pid', 'syscalls': ['getpid'], 'action': 'allow'}]}");
        _cleanup_(policy_filter_freep) PolicyFilter *f = NULL;

        ck_assert_int_eq(policy_compile(p, POLICY_COMPILE_ALL_IDENTITIES, &f), 0);
        ck_assert_int_eq(f->default_action, POLICY_KERNEL_NOTIFY);
        ck_assert_uint_eq(run_native(f, "getpid", 0, 0), SECCOMP_RET_ALLOW);
        ck_assert_uint_eq(run_native(f, "uname", 0, 0), SECCOMP_RET_USER_NOTIF);
        ck_assert_uint_eq(
                run_native(f, "seccomp", SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER),
                RET_ERRNO(EPERM));
        ck_assert_uint_eq(run_native(f, "seccomp", SECCOMP_SET_MODE_FILTER, 0), SECCOMP_RET_USER_NOTIF);
}
END_TEST

START_TEST(test_filter_run) {
        /* The interpreter itself, on hand-written programs. */
        struct sock_filter prog[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 7, 0, 3),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
                BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xf0),
                BPF_STMT(BPF_RET | BPF_A, 0),
                BPF_STMT(BPF_LDX | BPF_IMM, 3),
                BPF_STMT(BPF_MISC | BPF_TXA, 0),
                BPF_STMT(BPF_ST, 2),
                BPF_STMT(BPF_LD | BPF_MEM, 2),
                BPF_JUMP(BPF_JMP | BPF_JSET | BPF_X, 0, 1, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        PolicyFilter f = { .insns = prog, .n_insns = ELEMENTSOF(prog) };
        struct sock_filter bad[] = { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 1000) };
        PolicyFilter fb = { .insns = bad, .n_insns = ELEMENTSOF(bad) };

        ck_assert_uint_eq(run(&f, 0, 7, 0x1234, 0), 0x30);
        ck_assert_uint_eq(run(&f, 0, 8, 0, 0), SECCOMP_RET_ALLOW);
        ck_assert_uint_eq(run(&fb, 0, 8, 0, 0), SECCOMP_RET_KILL_PROCESS);
        ck_assert_uint_eq(policy_filter_run(NULL, NULL), SECCOMP_RET_KILL_PROCESS);
}
END_TEST

/* ---- random argument policies: the compiler's clauses against the graph ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void) {
        /* xorshift64*: deterministic, so a failure reproduces */
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * 0x2545f4914f6cdd1dULL;
}

static char *xstrdup(const char *s) {
        char *d = strdup(s);

        ck_assert_ptr_nonnull(d);
        return d;
}

/* Values near the edges of every width: signs, the 16- and 32-bit boundaries, all ones. */
static uint64_t edge_value(void) {
        static const uint64_t edges[] = {
                0,          1,          2,          3,          0x7fff,     0x8000,     0xffff,
                0x10000,    0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 1ULL << 32, INT64_MAX,
                1ULL << 63, (uint64_t) -2, UINT64_MAX, 0xffffffff80000000ULL,
        };

        return rng() % 2 ? rng() % 4 : edges[rng() % ELEMENTSOF(edges)];
}

/* An argument as a workload passes it: a value the rules care about, with anything in the high bits
 * (which the kernel does not read for an int). */
static uint64_t wide_arg(void) {
        uint64_t v = edge_value(), high;

        switch (rng() % 4) {
        case 0:
                return v;
        case 1:
                high = UINT64_MAX << 32;
                break;
        default:
                high = rng() << 32;
                break;
        }
        return (v & 0xffffffff) | high;
}

/* Rules over some syscalls (three with small argument domains unless wide, so random calls hit their
 * clauses often; with wide, any value near the edges of a width). */
static Policy *random_policy_of(unsigned n_identities, unsigned n_rules, const char *const *names,
                                size_t n_names, bool wide) {
        Policy *p = calloc(1, sizeof(Policy));

        ck_assert_ptr_nonnull(p);
        p->name = xstrdup("random");
        p->default_verdict = POLICY_VERDICT_DENY;
        p->default_errno = EPERM;
        p->trust = (PolicyTrust) { .initial = 50, .maximum = 100 };
        p->identities = calloc(n_identities + 1, sizeof(PolicyIdentity));
        p->resources = calloc(n_rules + 1, sizeof(PolicyResource));
        p->rules = calloc(n_rules + 1, sizeof(PolicyRule));
        ck_assert(p->identities && p->resources && p->rules);
        for (unsigned i = 0; i < n_identities; i++) {
                char name[16];

                snprintf(name, sizeof name, "id%u", i);
                p->identities[p->n_identities++] =
                        (PolicyIdentity) { .name = xstrdup(name), .trust_initial = -1 };
        }
        for (unsigned i = 0; i < n_rules; i++) {
                PolicyRule *r = &p->rules[p->n_rules++];
                char id[16];
                unsigned v = (unsigned) (rng() % 10);

                snprintf(id, sizeof id, "r%u", i);
                *r = (PolicyRule) {
                        .id = xstrdup(id),
                        .identity = n_identities > 0 && rng() % 3 == 0 ? (int) (rng() % n_identities)
                                                                       : POLICY_IDENTITY_ANY,
                        .verdict = v < 5   ? POLICY_VERDICT_ALLOW
                                   : v < 9 ? POLICY_VERDICT_DENY
                                           : POLICY_VERDICT_QUARANTINE,
                        .errno_value = rng() % 2 ? EACCES : EPERM,
                        .min_trust = rng() % 8 == 0 ? 40 : -1,
                };
                r->syscalls = calloc(2, sizeof(char *));
                ck_assert_ptr_nonnull(r->syscalls);
                r->syscalls[0] = xstrdup(names[rng() % n_names]);
                if (rng() % 4 == 0)
                        continue; /* no object */

                PolicyResource *res = &p->resources[p->n_resources];
                char rname[16];
                unsigned n_args = 1 + (unsigned) (rng() % 2);

                snprintf(rname, sizeof rname, "a%u", i);
                *res = (PolicyResource) { .name = xstrdup(rname), .type = POLICY_RESOURCE_ARGS };
                res->args = calloc(n_args, sizeof(PolicyArgCond));
                ck_assert_ptr_nonnull(res->args);
                for (unsigned k = 0; k < n_args; k++) {
                        PolicyArgCond *c = &res->args[res->n_args++];

                        *c = (PolicyArgCond) {
                                .index = (unsigned) (rng() % 2),
                                .op = (PolicyArgOp) (rng() % _POLICY_ARG_OP_MAX),
                                .value = wide ? edge_value() : rng() % 4,
                        };
                        if (c->op == POLICY_ARG_MASKED_EQ) {
                                c->mask = wide ? edge_value() | (rng() % 2 ? 0x80000000 : 0) : 1 + rng() % 3;
                                c->value &= c->mask;
                        }
                }
                r->resources = calloc(1, sizeof(int));
                ck_assert_ptr_nonnull(r->resources);
                r->resources[r->n_resources++] = (int) p->n_resources++;
        }
        return p;
}

static Policy *random_policy(unsigned n_identities, unsigned n_rules) {
        static const char *const names[] = { "getpid", "getppid", "gettid" };

        return random_policy_of(n_identities, n_rules, names, ELEMENTSOF(names), false);
}

static Policy *policy_clone_random(uint64_t seed, unsigned n_identities, unsigned n_rules) {
        rng_state = seed;
        return random_policy(n_identities, n_rules);
}

/* One call on the grid: the kernel's answer against the graph's for every identity the filter serves.
 * Returns whether the kernel decided alone. */
static bool check_call_arch(const PolicyFilter *f, const PolicyGraph *g, int filter_id,
                            unsigned n_identities, uint32_t arch, const char *name, uint64_t a0, uint64_t a1,
                            uint64_t seed) {
        int nr = syscall_resolve_arch(name, arch);
        uint32_t ret = run(f, arch, nr, a0, a1), action = ret & SECCOMP_RET_ACTION_FULL;
        int first = filter_id == POLICY_COMPILE_ALL_IDENTITIES ? POLICY_IDENTITY_ANY : filter_id;
        int last = filter_id == POLICY_COMPILE_ALL_IDENTITIES ? (int) n_identities - 1 : filter_id;

        if (action == SECCOMP_RET_USER_NOTIF)
                return false;
        for (int who = first; who <= last; who++) {
                PolicyQuery q = test_query(g, NULL, 50, name);
                PolicyDecision d;
                bool same;

                q.identity = who;
                q.arch = arch;
                q.nr = nr;
                q.args[0] = a0;
                q.args[1] = a1;
                d = test_eval(g, &q);
                if (action == SECCOMP_RET_ALLOW)
                        same = d.verdict == POLICY_VERDICT_ALLOW;
                else
                        same = d.verdict == POLICY_VERDICT_DENY &&
                               (uint32_t) d.errno_value == (ret & SECCOMP_RET_DATA);
                ck_assert_msg(same,
                              "seed %#llx filter %d identity %d arch %#x: %s(%#llx, %#llx): "
                              "kernel %#x, graph %s/%d by %s",
                              (unsigned long long) seed, filter_id, who, arch, name, (unsigned long long) a0,
                              (unsigned long long) a1, ret, policy_verdict_to_string(d.verdict),
                              d.errno_value, d.rule_id);
        }
        return true;
}

static bool check_call(const PolicyFilter *f, const PolicyGraph *g, int filter_id, unsigned n_identities,
                       const char *name, uint64_t a0, uint64_t a1, uint64_t seed) {
        return check_call_arch(f, g, filter_id, n_identities, seccomp_arch_native(), name, a0, a1, seed);
}

START_TEST(test_random_args_agree) {
        static const char *const names[] = { "getpid", "getppid", "gettid" };
        unsigned kernel_decided = 0, notified = 0;

        for (unsigned round = 0; round < 300; round++) {
                uint64_t seed = 0x1234567ULL + round * 7919;
                unsigned n_identities = round % 3, n_rules = 1 + round % 6;
                _cleanup_(policy_freep) Policy *p = policy_clone_random(seed, n_identities, n_rules);
                _cleanup_(policy_graph_unrefp) PolicyGraph *g = NULL;

                ck_assert_int_eq(policy_graph_new(policy_clone_random(seed, n_identities, n_rules), &g), 0);
                for (int id = POLICY_COMPILE_ALL_IDENTITIES; id < (int) n_identities; id++) {
                        _cleanup_(policy_filter_freep) PolicyFilter *f = NULL;

                        ck_assert_int_eq(policy_compile(p, id, &f), 0);
                        FOREACH_ELEMENT(name, names)
                                for (uint64_t a0 = 0; a0 < 5; a0++)
                                        for (uint64_t a1 = 0; a1 < 5; a1++) {
                                                if (check_call(f, g, id, n_identities, *name, a0, a1, seed))
                                                        kernel_decided++;
                                                else
                                                        notified++;
                                        }
                }
        }
        /* both paths were exercised */
        ck_assert_uint_gt(kernel_decided, 1000);
        ck_assert_uint_gt(notified, 1000);
}
END_TEST

/* Every op on arguments of every width, with random high bits: the kernel filter (BPF run here) and the
 * graph decide alike, on x86_64 and on the i386 ABI, where every register is 32 bits. */
static const char *const width_names[] = {
        "socket", /* int, int */
        "fchmod", /* unsigned int, umode_t */
        "lseek",  /* unsigned int, off_t */
        "munmap", /* unsigned long, size_t */
        "ioctl",  /* unsigned int, unsigned int */
};

static Policy *policy_clone_wide(uint64_t seed, unsigned n_identities, unsigned n_rules, bool i386) {
        Policy *p;

        rng_state = seed;
        p = random_policy_of(n_identities, n_rules, width_names, ELEMENTSOF(width_names), true);
        if (i386) {
                p->arches = calloc(2, sizeof(uint32_t));
                ck_assert_ptr_nonnull(p->arches);
                p->arches[p->n_arches++] = AUDIT_ARCH_X86_64;
                p->arches[p->n_arches++] = AUDIT_ARCH_I386;
        }
        return p;
}

START_TEST(test_random_widths_agree) {
        unsigned kernel_decided = 0, notified = 0;
        bool i386 = _i == 1;

        if (i386 && seccomp_arch_native() != AUDIT_ARCH_X86_64)
                return;
        for (unsigned round = 0; round < 300; round++) {
                uint64_t seed = 0x5eed0000ULL + round * 104729;
                unsigned n_identities = round % 2, n_rules = 1 + round % 5;
                _cleanup_(policy_freep) Policy *p = policy_clone_wide(seed, n_identities, n_rules, i386);
                _cleanup_(policy_graph_unrefp) PolicyGraph *g = NULL;
                _cleanup_(policy_filter_freep) PolicyFilter *f = NULL;

                ck_assert_int_eq(policy_graph_new(policy_clone_wide(seed, n_identities, n_rules, i386), &g),
                                 0);
                ck_assert_int_eq(policy_compile(p, POLICY_COMPILE_ALL_IDENTITIES, &f), 0);
                rng_state = seed ^ 0xa5a5a5a5ULL;
                FOREACH_ELEMENT(name, width_names)
                        for (unsigned k = 0; k < 200; k++) {
                                uint32_t arch = i386 && k % 2 ? AUDIT_ARCH_I386 : AUDIT_ARCH_X86_64;
                                uint64_t a0 = wide_arg(), a1 = wide_arg();

                                if (check_call_arch(f, g, POLICY_COMPILE_ALL_IDENTITIES, n_identities, arch,
                                                    *name, a0, a1, seed))
                                        kernel_decided++;
                                else
                                        notified++;
                        }
        }
        ck_assert_uint_gt(kernel_decided, 10000);
        ck_assert_uint_gt(notified, 1000);
}
END_TEST

START_TEST(test_no_arches_means_native) {
        _cleanup_(policy_freep) Policy *p = policy_clone_random(42, 0, 0);
        _cleanup_(policy_filter_freep) PolicyFilter *f = NULL;
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = NULL;
        PolicyQuery q;

        ck_assert_uint_eq(p->n_arches, 0);
        ck_assert_int_eq(policy_compile(p, POLICY_COMPILE_ALL_IDENTITIES, &f), 0);
        ck_assert_uint_eq(f->n_arches, 1);
        ck_assert_uint_eq(f->arches[0], seccomp_arch_native());
        ck_assert_uint_eq(run_native(f, "getpid", 0, 0), RET_ERRNO(EPERM));
        ck_assert_int_eq(policy_graph_new(policy_clone_random(42, 0, 0), &g), 0);
        q = test_query(g, NULL, 50, "getpid");
        assert_decision(test_eval(g, &q), POLICY_VERDICT_DENY, EPERM, "default");
}
END_TEST

START_TEST(test_filter_size) {
        /* 4,000 ioctl requests on given fds as argument clauses make a program longer than the kernel takes:
         * those calls go to the supervisor instead, and the rest stays in the kernel. */
        _cleanup_free_ char *resources = NULL, *rules = NULL;
        size_t rs = 0, ls = 0;
        FILE *fr = open_memstream(&resources, &rs), *fl = open_memstream(&rules, &ls);
        _cleanup_(policy_filter_freep) PolicyFilter *f = NULL;

        ck_assert_ptr_nonnull(fr);
        ck_assert_ptr_nonnull(fl);
        for (int i = 0; i < 4000; i++) {
                fprintf(fr,
                        "'req%d': {'type': 'args', 'args': [{'index': 1, 'op': 'eq', 'value': %d},"
                        " {'index': 0, 'op': 'eq', 'value': %d}]},",
                        i, 0x1000 + i, i % 50);
                fprintf(fl,
                        "{'id': 'req%d', 'syscalls': ['ioctl'], 'resource': 'req%d', 'action': 'allow'},", i,
                        i);
        }
        fprintf(fr, "'fd0': {'type': 'args', 'args': [{'index': 0, 'op': 'eq', 'value': 0}]}");
        fprintf(fl, "{'id': 'fd0', 'syscalls': ['fcntl'], 'resource': 'fd0', 'action': 'allow'},"
                    "{'id': 'pid', 'syscalls': ['getpid'], 'action': 'allow'}");
        ck_assert_int_eq(fclose(fr), 0);
        ck_assert_int_eq(fclose(fl), 0);

        _cleanup_(policy_freep) Policy *p =
                test_policy_loadf(TEST_POLICY_HEAD "'resources': {%s}, 'rules': [%s]}", resources, rules);

        ck_assert_int_eq(policy_compile(p, POLICY_COMPILE_ALL_IDENTITIES, &f), 0);
        ck_assert_uint_le(f->n_insns, BPF_MAXINSNS);
        assert_compiled(f, "ioctl", POLICY_KERNEL_NOTIFY, 0, "filter size");
        assert_compiled(f, "fcntl", POLICY_KERNEL_NOTIFY, 0, "filter size");
        assert_compiled(f, "getpid", POLICY_KERNEL_ALLOW, 0, NULL);
        ck_assert_uint_eq(run_native(f, "ioctl", 1, 0x1005), SECCOMP_RET_USER_NOTIF);
        ck_assert_uint_eq(run_native(f, "getpid", 0, 0), SECCOMP_RET_ALLOW);
        ck_assert_uint_eq(
                run_native(f, "seccomp", SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER),
                RET_ERRNO(EPERM));
}
END_TEST

START_TEST(test_foreign_only) {
        /* A policy for i386 binaries only: native calls are the foreign ABI now. */
        _cleanup_(policy_freep) Policy *p = NULL;
        _cleanup_(policy_filter_freep) PolicyFilter *f = NULL;
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = NULL;
        const char *text =
                TEST_POLICY_HEAD "'architectures': ['x86'],"
                                 "'rules': [{'id': 'pid', 'syscalls': ['getpid'], 'action': 'allow'}]}";
        PolicyQuery q;

        if (seccomp_arch_native() != AUDIT_ARCH_X86_64)
                return; /* the test names x86 explicitly */
        p = test_policy_load(text);
        ck_assert_int_eq(policy_compile(p, POLICY_COMPILE_ALL_IDENTITIES, &f), 0);
        ck_assert_uint_eq(run(f, AUDIT_ARCH_X86_64, syscall_resolve_arch("getpid", AUDIT_ARCH_X86_64), 0, 0),
                          SECCOMP_RET_KILL_PROCESS);
        ck_assert_uint_eq(run(f, AUDIT_ARCH_I386, syscall_resolve_arch("getpid", AUDIT_ARCH_I386), 0, 0),
                          SECCOMP_RET_ALLOW);

        ck_assert_int_eq(policy_graph_new(test_policy_load(text), &g), 0);
        q = test_query(g, NULL, 50, "getpid");
        ck_assert_int_eq(test_eval(g, &q).reason, POLICY_REASON_BAD_ARCH);
        q.arch = AUDIT_ARCH_I386;
        q.nr = syscall_resolve_arch("getpid", AUDIT_ARCH_I386);
        assert_decision(test_eval(g, &q), POLICY_VERDICT_ALLOW, 0, "pid");
}
END_TEST

static const char *const shipped[] = { "policies/default.json", "policies/strict.json",
                                       "policies/web-service.json" };

static Policy *load_shipped(const char *rel) {
        PolicyDiagnostics diag = {};
        Policy *p = NULL;
        int r = policy_load_file(fo_test_source_path(rel), &p, &diag, NULL);

        for (size_t i = 0; i < diag.n_errors; i++)
                fprintf(stderr, "%s:%u:%u: %s\n", rel, diag.errors[i].line, diag.errors[i].column,
                        diag.errors[i].message);
        policy_diagnostics_done(&diag);
        ck_assert_msg(r >= 0, "%s does not load", rel);
        return p;
}

START_TEST(test_shipped_agree) {
        /* For every shipped policy and every filter it can be compiled to: what the kernel decides alone is
         * what the graph decides; foreign ABIs die; the builtin holds. */
        _cleanup_(policy_freep) Policy *p = load_shipped(shipped[_i]);
        uint32_t foreign =
                seccomp_arch_native() == AUDIT_ARCH_AARCH64 ? AUDIT_ARCH_X86_64 : AUDIT_ARCH_AARCH64;

        for (int id = POLICY_COMPILE_ALL_IDENTITIES; id < (int) p->n_identities; id++) {
                _cleanup_(policy_filter_freep) PolicyFilter *f = NULL;

                ck_assert_int_eq(policy_compile(p, id, &f), 0);
                ck_assert_int_gt(f->n_insns, 0);
                ck_assert_int_eq(f->default_action, POLICY_KERNEL_ERRNO);
                ck_assert_uint_eq(run(f, foreign, 1, 0, 0), SECCOMP_RET_KILL_PROCESS);
                if (seccomp_arch_native() == AUDIT_ARCH_X86_64)
                        ck_assert_uint_eq(run(f, AUDIT_ARCH_X86_64, 0x40000000 | 39, 0, 0),
                                          SECCOMP_RET_KILL_PROCESS);
                ck_assert_uint_eq(
                        run_native(f, "seccomp", SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER),
                        RET_ERRNO(EPERM));
                for (size_t i = 1; i < f->n_syscalls; i++)
                        ck_assert_int_lt(strcmp(f->syscalls[i - 1].name, f->syscalls[i].name), 0);
                assert_kernel_agrees_with_graph(f, load_shipped(shipped[_i]), id);
        }
}
END_TEST

/* The two ways around the policy that 64-bit comparisons left open (issue 7, class 1): the kernel reads
 * ioctl's request and seccomp's operation as unsigned ints, so high bits must not change the answer. The
 * kernel filter and the graph both see through them. */
START_TEST(test_shipped_high_bits) { /* default.json, strict.json, web-service.json */
        _cleanup_(policy_freep) Policy *p = load_shipped(shipped[_i]);
        _cleanup_(policy_filter_freep) PolicyFilter *f = NULL;
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = NULL;
        static const uint64_t highs[] = { 0, 1ULL << 32, 0xffffffffULL << 32, 0x8000000000000000ULL };

        ck_assert_int_eq(policy_compile(p, POLICY_COMPILE_ALL_IDENTITIES, &f), 0);
        ck_assert_int_eq(policy_graph_new(load_shipped(shipped[_i]), &g), 0);
        FOREACH_ELEMENT(high, highs) {
                PolicyQuery q = test_query(g, NULL, 100, "ioctl");
                uint32_t ret;

                ret = run_native(f, "ioctl", 0, TIOCSTI | *high);
                ck_assert_msg(ret != SECCOMP_RET_ALLOW, "%s: ioctl(TIOCSTI | %#llx) allowed", shipped[_i],
                              (unsigned long long) *high);
                q.args[1] = TIOCSTI | *high;
                ck_assert_int_ne(test_eval(g, &q).verdict, POLICY_VERDICT_ALLOW);

                ck_assert_uint_eq(run_native(f, "ioctl", 0, TCGETS | *high), SECCOMP_RET_ALLOW);
                q.args[1] = TCGETS | *high;
                ck_assert_int_eq(test_eval(g, &q).verdict, POLICY_VERDICT_ALLOW);

                q = test_query(g, NULL, 100, "seccomp");
                ck_assert_uint_eq(run_native(f, "seccomp", SECCOMP_SET_MODE_FILTER | *high,
                                             SECCOMP_FILTER_FLAG_NEW_LISTENER),
                                  RET_ERRNO(EPERM));
                ck_assert_uint_eq(run_native(f, "seccomp", SECCOMP_SET_MODE_FILTER,
                                             SECCOMP_FILTER_FLAG_NEW_LISTENER | *high),
                                  RET_ERRNO(EPERM));
                q.args[0] = SECCOMP_SET_MODE_FILTER | *high;
                q.args[1] = SECCOMP_FILTER_FLAG_NEW_LISTENER;
                ck_assert_str_eq(test_eval(g, &q).rule_id, "builtin");
        }
}
END_TEST

/* A condition whose alternatives do not fit the filter: the supervisor decides, and says why. */
START_TEST(test_width_too_wide) {
        _cleanup_(policy_freep) Policy *p = test_policy_load(
                TEST_POLICY_HEAD
                "'resources': {'two-ne': {'type': 'args', 'args': [{'index': 0, 'op': 'ne', 'value': 1},"
                "                                                   {'index': 1, 'op': 'ne', 'value': 2}]}},"
                "'rules': [{'id': 'sock', 'syscalls': ['socket'], 'resource': 'two-ne',"
                "           'action': 'allow'}]}");
        _cleanup_(policy_filter_freep) PolicyFilter *f = NULL;

        ck_assert_int_eq(policy_compile(p, POLICY_COMPILE_ALL_IDENTITIES, &f), 0);
        assert_compiled(f, "socket", POLICY_KERNEL_NOTIFY, 0, "argument width");
        ck_assert_uint_eq(run_native(f, "socket", 3, 4), SECCOMP_RET_USER_NOTIF);
}
END_TEST

START_TEST(test_default_policy_split) {
        _cleanup_(policy_freep) Policy *p = load_shipped("policies/default.json");
        _cleanup_(policy_filter_freep) PolicyFilter *f = NULL;

        ck_assert_int_eq(policy_compile(p, POLICY_COMPILE_ALL_IDENTITIES, &f), 0);
        assert_compiled(f, "mount", POLICY_KERNEL_NOTIFY, 0, "quarantine");
        assert_compiled(f, "getpid", POLICY_KERNEL_ALLOW, 0, NULL);
        assert_compiled(f, "openat", POLICY_KERNEL_NOTIFY, 0, "path resource");
        assert_compiled(f, "connect", POLICY_KERNEL_NOTIFY, 0, "network resource");
        /* changing entries and attributes by path: only in scratch space and the workspace, decided and
         * done by the supervisor; on open files (fchmod, fchown) too, by the path of the file (issue 7) */
        assert_compiled(f, "unlinkat", POLICY_KERNEL_NOTIFY, 0, "path resource");
        assert_compiled(f, "renameat2", POLICY_KERNEL_NOTIFY, 0, "path resource");
        assert_compiled(f, "fchmodat", POLICY_KERNEL_NOTIFY, 0, "path resource");
        assert_compiled(f, "truncate", POLICY_KERNEL_NOTIFY, 0, "path resource");
        assert_compiled(f, "fchmod", POLICY_KERNEL_NOTIFY, 0, "path resource");
        assert_compiled(f, "fsetxattr", POLICY_KERNEL_NOTIFY, 0, "path resource");
        /* sendmsg and sendmmsg carry their destination in memory: the supervisor decides them */
        assert_compiled(f, "sendmsg", POLICY_KERNEL_NOTIFY, 0, "network resource");
        assert_compiled(f, "sendmmsg", POLICY_KERNEL_NOTIFY, 0, "network resource");
        assert_compiled(f, "init_module", POLICY_KERNEL_ERRNO, EPERM, NULL);
        assert_compiled(f, "ptrace", POLICY_KERNEL_ERRNO, EPERM, NULL);
        assert_compiled(f, "clone", POLICY_KERNEL_ALLOW, 0, NULL);
        ck_assert(find(f, "clone")->conditional);
        ck_assert_ptr_null(find(f, "clone")->why);

        ck_assert_uint_eq(run_native(f, "getpid", 0, 0), SECCOMP_RET_ALLOW);
        ck_assert_uint_eq(run_native(f, "mount", 0, 0), SECCOMP_RET_USER_NOTIF);
        ck_assert_uint_eq(run_native(f, "openat", 0, 0), SECCOMP_RET_USER_NOTIF);
        ck_assert_uint_eq(run_native(f, "init_module", 0, 0), RET_ERRNO(EPERM));
        /* fork and threads stay in the kernel, a new user namespace falls to the default */
        ck_assert_uint_eq(run_native(f, "clone", SIGCHLD, 0), SECCOMP_RET_ALLOW);
        ck_assert_uint_eq(run_native(f, "clone", CLONE_VM | CLONE_THREAD | CLONE_SIGHAND, 0),
                          SECCOMP_RET_ALLOW);
        ck_assert_uint_eq(run_native(f, "clone", CLONE_NEWUSER | SIGCHLD, 0), RET_ERRNO(EPERM));
        /* ... and so does every other namespace clone(2) could create (issue 7, class 1) */
        ck_assert_uint_eq(run_native(f, "clone", CLONE_NEWNET | SIGCHLD, 0), RET_ERRNO(EPERM));
        ck_assert_uint_eq(run_native(f, "clone", CLONE_NEWPID | SIGCHLD, 0), RET_ERRNO(EPERM));
        ck_assert_uint_eq(run_native(f, "clone", CLONE_NEWNS | SIGCHLD, 0), RET_ERRNO(EPERM));
        ck_assert_uint_eq(run_native(f, "clone", CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD, 0),
                          RET_ERRNO(EPERM));
        ck_assert_uint_eq(run_native(f, "clone", CLONE_NEWCGROUP | SIGCHLD, 0), RET_ERRNO(EPERM));
        /* ioctl by request: terminal queries yes; injecting, stealing a terminal, file flags no */
        ck_assert_uint_eq(run_native(f, "ioctl", 0, TCGETS), SECCOMP_RET_ALLOW);
        ck_assert_uint_eq(run_native(f, "ioctl", 0, TIOCSTI), RET_ERRNO(EPERM));
        ck_assert_uint_eq(run_native(f, "ioctl", 0, TIOCLINUX), RET_ERRNO(EPERM));
        ck_assert_uint_eq(run_native3(f, "ioctl", 0, TIOCSCTTY, 0), SECCOMP_RET_ALLOW);
        ck_assert_uint_eq(run_native3(f, "ioctl", 0, TIOCSCTTY, 1), RET_ERRNO(EPERM));
        ck_assert_uint_eq(run_native(f, "ioctl", 3, FS_IOC_SETFLAGS), RET_ERRNO(EPERM));
        ck_assert_uint_eq(run_native(f, "socket", AF_UNIX, SOCK_STREAM), SECCOMP_RET_ALLOW);
}
END_TEST

START_TEST(test_strict_policy_split) {
        _cleanup_(policy_freep) Policy *p = load_shipped("policies/strict.json");
        _cleanup_(policy_filter_freep) PolicyFilter *f = NULL;

        ck_assert_int_eq(policy_compile(p, POLICY_COMPILE_ALL_IDENTITIES, &f), 0);
        assert_compiled(f, "socket", POLICY_KERNEL_ERRNO, EACCES, NULL);
        assert_compiled(f, "ptrace", POLICY_KERNEL_NOTIFY, 0, "quarantine");
        assert_compiled(f, "openat", POLICY_KERNEL_NOTIFY, 0, "path resource");
        assert_compiled(f, "getpid", POLICY_KERNEL_ALLOW, 0, NULL);
        /* the whole seccomp syscall quarantines, except what the builtin refuses in the kernel */
        assert_compiled(f, "seccomp", POLICY_KERNEL_NOTIFY, 0, "quarantine");
        ck_assert_uint_eq(run_native(f, "seccomp", SECCOMP_SET_MODE_FILTER, 0), SECCOMP_RET_USER_NOTIF);
        ck_assert_uint_eq(run_native(f, "socket", AF_INET, SOCK_STREAM), RET_ERRNO(EACCES));
}
END_TEST

START_TEST(test_web_policy_split) {
        _cleanup_(policy_freep) Policy *p = load_shipped("policies/web-service.json");
        _cleanup_(policy_filter_freep) PolicyFilter *all = NULL, *web = NULL, *other = NULL;
        int id = policy_identity_by_name(p, "web");

        ck_assert_int_ge(id, 0);
        ck_assert_int_eq(policy_compile(p, POLICY_COMPILE_ALL_IDENTITIES, &all), 0);
        ck_assert_int_eq(policy_compile(p, id, &web), 0);
        ck_assert_int_eq(policy_compile(p, POLICY_IDENTITY_ANY, &other), 0);

        /* only web may start the server: the shared filter cannot decide execve in the kernel */
        assert_compiled(all, "execve", POLICY_KERNEL_NOTIFY, 0, "differs per identity");
        assert_compiled(web, "execve", POLICY_KERNEL_NOTIFY, 0, "quarantine");
        ck_assert_ptr_null(find(other, "execve"));
        ck_assert_uint_eq(run_native(other, "execve", 0, 0), RET_ERRNO(EPERM));
        /* the metadata service quarantines: connect always goes to the supervisor */
        assert_compiled(other, "connect", POLICY_KERNEL_NOTIFY, 0, "quarantine");
        assert_compiled(web, "bind", POLICY_KERNEL_NOTIFY, 0, "network resource");
        ck_assert_ptr_null(find(other, "bind"));
        assert_compiled(all, "getpid", POLICY_KERNEL_ALLOW, 0, NULL);
}
END_TEST

static Suite *policy_compile_suite(void) {
        Suite *s = suite_create("policy-compile");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_split);
        tcase_add_test(tc, test_identities);
        tcase_add_test(tc, test_arches);
        tcase_add_loop_test(tc, test_builtin_listener_denial, 0, ELEMENTSOF(seccomp_cases));
        tcase_add_test(tc, test_real_load);
        tcase_add_test(tc, test_quarantine_default);
        tcase_add_test(tc, test_filter_run);
        tcase_add_test(tc, test_random_args_agree);
        tcase_add_loop_test(tc, test_random_widths_agree, 0, 2);
        tcase_add_test(tc, test_width_too_wide);
        tcase_add_test(tc, test_no_arches_means_native);
        tcase_add_test(tc, test_filter_size);
        tcase_add_test(tc, test_foreign_only);
        suite_add_tcase(s, tc);

        tc = tcase_create("shipped");
        tcase_add_loop_test(tc, test_shipped_agree, 0, ELEMENTSOF(shipped));
        tcase_add_loop_test(tc, test_shipped_high_bits, 0, 3);
        tcase_add_test(tc, test_default_policy_split);
        tcase_add_test(tc, test_strict_policy_split);
        tcase_add_test(tc, test_web_policy_split);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return fo_test_run(policy_compile_suite());
}
