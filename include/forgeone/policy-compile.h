/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The policy compiler: splits a policy into the kernel part and the
 * user-space part. Whatever can be decided from the syscall number and
 * integer arguments, identically for every identity the filter serves,
 * becomes a BPF ALLOW / ERRNO / KILL in the seccomp filter (libseccomp,
 * binary tree, optimize level 2). Anything that needs memory contents,
 * trust, a quarantine or a reloadable decision becomes USER_NOTIF and is
 * decided by the policy graph in the supervisor.
 *
 * Built in, whatever the policy says: every call that changes credentials
 * reaches the supervisor whenever the kernel would let it through (and the
 * id-changing ones also when the policy denies them, so that one that
 * changes nothing can be allowed); seccomp(SECCOMP_SET_MODE_FILTER) with
 * SECCOMP_FILTER_FLAG_NEW_LISTENER fails with EPERM (a workload may not
 * install a listener that would see calls before ours), and architectures
 * the policy does not name are killed.
 */

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stdint.h>

#include "forgeone/policy.h"

#define POLICY_COMPILE_ALL_IDENTITIES (-2) /* one filter valid for every identity */

typedef enum PolicyKernelAction {
        POLICY_KERNEL_ALLOW,
        POLICY_KERNEL_ERRNO,
        POLICY_KERNEL_KILL,
        POLICY_KERNEL_NOTIFY,
        _POLICY_KERNEL_ACTION_MAX,
        _POLICY_KERNEL_ACTION_INVALID = -EINVAL,
} PolicyKernelAction;

const char *policy_kernel_action_to_string(PolicyKernelAction a) _const_;

typedef struct PolicyCompiledSyscall {
        const char *name;
        int nr;                    /* native number */
        PolicyKernelAction action; /* for NOTIFY, see why */
        int errno_value;           /* ERRNO */
        bool conditional;          /* the kernel action depends on argument comparisons */
        const char *rule_id;       /* the rule that decided in kernel, or "default" / "builtin" */
        const char *why;           /* NOTIFY: "path resource", "trust", "quarantine", ... (static) */
} PolicyCompiledSyscall;

typedef struct PolicyFilter {
        struct sock_filter *insns; /* the BPF program, ready for seccomp(2) */
        size_t n_insns;
        PolicyCompiledSyscall *syscalls; /* every syscall some rule names, sorted by name */
        size_t n_syscalls;
        PolicyKernelAction default_action; /* for syscalls no rule names */
        int default_errno;
        uint32_t *arches; /* AUDIT_ARCH_* accepted */
        size_t n_arches;
        /* Every call that changes credentials (setuid and friends, setgroups, capset, umask, exec,
         * unshare, setns) reaches the supervisor whenever it could succeed: always true for a filter
         * from policy_compile() (why "credentials"), so the supervisor may cache credentials per task. */
        bool traps_credentials;
} PolicyFilter;

/* identity: an index, POLICY_IDENTITY_ANY (a workload matching no identity)
 * or POLICY_COMPILE_ALL_IDENTITIES. A program longer than the kernel takes
 * (BPF_MAXINSNS) is compiled again with argument-conditional syscalls sent
 * to the supervisor (why "filter size"); -E2BIG if it is still too long. */
int policy_compile(const Policy *p, int identity, PolicyFilter **ret);
PolicyFilter *policy_filter_free(PolicyFilter *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(PolicyFilter *, policy_filter_free);

/* Runs the filter's BPF program on one syscall as the kernel would and
 * returns its SECCOMP_RET_* value (no syscalls): for tests and for tools
 * that show what the kernel decides for given registers. */
uint32_t policy_filter_run(const PolicyFilter *f, const struct seccomp_data *data);
