/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel filter compiled from a shipped policy, loaded for real in a forked child: the argument rules
 * hold on the values the kernel reads, whatever the workload puts in the high 32 bits of a register. */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "forgeone/policy-compile.h"
#include "test-util.h"

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif

static PolicyFilter *compile_shipped(const char *rel) {
        PolicyDiagnostics diag = {};
        _cleanup_(policy_freep) Policy *p = NULL;
        PolicyFilter *f = NULL;

        ck_assert_int_ge(policy_load_file(fo_test_source_path(rel), &p, &diag, NULL), 0);
        policy_diagnostics_done(&diag);
        ck_assert_int_eq(policy_compile(p, POLICY_COMPILE_ALL_IDENTITIES, &f), 0);
        return f;
}

/* Steps of the child, as exit codes: which one went wrong. */
enum {
        STEP_OK,
        STEP_PTY,
        STEP_LOAD,
        STEP_TIOCSTI_PASSED,
        STEP_TIOCSTI_ERRNO,
        STEP_TCGETS,
        STEP_LISTENER_PASSED,
        STEP_LISTENER_ERRNO,
        STEP_ACTION_AVAIL,
};

static int child(const PolicyFilter *f, bool seccomp_allowed) {
        struct sock_fprog prog = { .len = (unsigned short) f->n_insns, .filter = f->insns };
        struct sock_filter allow[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
        struct sock_fprog second = { .len = 1, .filter = allow };
        uint32_t action = SECCOMP_RET_ALLOW;
        struct termios tio;
        char c = 'x';
        int master, slave;
        long r;

        /* A terminal of our own to aim TIOCSTI at. */
        master = posix_openpt(O_RDWR | O_NOCTTY);
        if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
                return STEP_PTY;
        slave = open(ptsname(master), O_RDWR | O_NOCTTY);
        if (slave < 0)
                return STEP_PTY;

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
                return STEP_LOAD;

        /* The kernel reads cmd as an unsigned int: this is TIOCSTI, denied by the default (EPERM). */
        r = syscall(SYS_ioctl, slave, (unsigned long) TIOCSTI | (1UL << 32), &c);
        if (r == 0)
                return STEP_TIOCSTI_PASSED;
        if (errno != EPERM)
                return STEP_TIOCSTI_ERRNO;
        /* ... and the same high bits on an allowed request still reach the kernel, which ignores them. */
        if (syscall(SYS_ioctl, slave, (unsigned long) TCGETS | (0xffffffffUL << 32), &tio) != 0)
                return STEP_TCGETS;

        /* SECCOMP_SET_MODE_FILTER with high bits is still SECCOMP_SET_MODE_FILTER: no second listener. */
        r = syscall(SYS_seccomp, (unsigned long) SECCOMP_SET_MODE_FILTER | (1UL << 32),
                    SECCOMP_FILTER_FLAG_NEW_LISTENER, &second);
        if (r >= 0)
                return STEP_LISTENER_PASSED;
        if (errno != EPERM)
                return STEP_LISTENER_ERRNO;
        r = syscall(SYS_seccomp, (unsigned long) SECCOMP_SET_MODE_FILTER,
                    SECCOMP_FILTER_FLAG_NEW_LISTENER | (1UL << 32), &second);
        if (r >= 0)
                return STEP_LISTENER_PASSED;
        if (errno != EPERM)
                return STEP_LISTENER_ERRNO;
        /* Other operations with high bits are the operations the policy allows (default.json allows
         * seccomp). */
        if (seccomp_allowed &&
            syscall(SYS_seccomp, (unsigned long) SECCOMP_GET_ACTION_AVAIL | (1UL << 32), 0, &action) != 0)
                return STEP_ACTION_AVAIL;
        return STEP_OK;
}

START_TEST(test_high_bits_live) {
        static const char *const policies[] = { "policies/default.json", "policies/strict.json" };
        _cleanup_(policy_filter_freep) PolicyFilter *f = compile_shipped(policies[_i]);
        int status;
        pid_t pid;

        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(child(f, _i == 0));
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status), "%s: child died with signal %d", policies[_i],
                      WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        ck_assert_msg(WEXITSTATUS(status) == STEP_OK, "%s: child failed at step %d", policies[_i],
                      WEXITSTATUS(status));
}
END_TEST

static Suite *policy_filter_live_suite(void) {
        Suite *s = suite_create("policy-filter-live");
        TCase *tc = tcase_create("high-bits");

        tcase_add_loop_test(tc, test_high_bits_live, 0, 2);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return fo_test_run(policy_filter_live_suite());
}
