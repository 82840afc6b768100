/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The cgroup v2 paths (freeze via cgroup.freeze + cgroup.events, kill via
 * cgroup.kill, CLONE_INTO_CGROUP-style attach, removal) on the live kernel:
 * on /sys/fs/cgroup when it is cgroup2, else on the v2 hierarchy of a hybrid
 * host (/sys/fs/cgroup/unified, which has no controllers but freezes and
 * kills). Root only; the processes are our own forks.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>

#include "test-util.h"

#include "forgeone/cgroup.h"

static const char *v2_root(void) {
        CgroupLayout l;

        if (cgroup_detect_layout("/sys/fs/cgroup", &l) >= 0 && l == CGROUP_LAYOUT_UNIFIED)
                return "/sys/fs/cgroup";
        if (cgroup_detect_layout("/sys/fs/cgroup/unified", &l) >= 0 && l == CGROUP_LAYOUT_UNIFIED)
                return "/sys/fs/cgroup/unified";
        return NULL;
}

static char proc_state(pid_t pid) {
        char path[64], buf[4096], *p;
        FILE *f;
        size_t n;

        snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        ck_assert_ptr_nonnull(f);
        n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        fclose(f);
        p = strstr(buf, "State:");
        ck_assert_ptr_nonnull(p);
        p += 6;
        while (*p == ' ' || *p == '\t')
                p++;
        return *p;
}

static pid_t spin_child(void) {
        int p[2];
        char c;
        pid_t pid;

        ck_assert_int_eq(pipe(p), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                /* Check's SIGTERM handler would take the whole test's process group down with it. */
                signal(SIGTERM, SIG_DFL);
                (void) write(p[1], "r", 1);
                for (;;)
                        __asm__ __volatile__("" ::: "memory"); /* busy: 'R' unless frozen */
        }
        /* Signal it only once the handler is reset. */
        ck_assert_int_eq(read(p[0], &c, 1), 1);
        close(p[0]);
        close(p[1]);
        return pid;
}

START_TEST(test_v2_freeze_kill) {
        _cleanup_(cgroup_freep) Cgroup *c = NULL;
        _cleanup_free_ char *events = NULL;
        char id[32];
        pid_t a, b;
        int status;

        snprintf(id, sizeof id, "test%08xk", (unsigned) getppid()); /* main() removes test<its pid>* */
        ck_assert_int_eq(cgroup_new(v2_root(), CGROUP_LAYOUT_UNIFIED, id, &c), 0);
        ck_assert_int_eq(cgroup_create(c), 0);

        a = spin_child();
        b = spin_child();
        ck_assert_int_eq(cgroup_attach(c, a, false), 0);
        ck_assert_int_eq(cgroup_attach(c, b, false), 0);
        ck_assert_int_eq(cgroup_is_empty(c), 0);

        ck_assert_int_eq(cgroup_set_frozen(c, true, 5000000), 0);
        ck_assert_int_eq(cgroup_is_frozen(c), 1);
        ck_assert_int_eq(cgroup_read_attribute(c, "unified", "cgroup.events", &events), 0);
        ck_assert_ptr_nonnull(strstr(events, "frozen 1"));
        /* A frozen busy loop is not running. */
        ck_assert_int_ne(proc_state(a), 'R');
        ck_assert_int_ne(proc_state(b), 'R');

        ck_assert_int_eq(cgroup_set_frozen(c, false, 5000000), 0);
        ck_assert_int_eq(cgroup_is_frozen(c), 0);

        /* Kill reaches frozen tasks too. */
        ck_assert_int_eq(cgroup_set_frozen(c, true, 5000000), 0);
        ck_assert_int_eq(cgroup_kill_all(c, 5000000), 0);
        ck_assert_int_eq(waitpid(a, &status, 0), a);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        ck_assert_int_eq(waitpid(b, &status, 0), b);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        ck_assert_int_eq(cgroup_is_empty(c), 1);

        ck_assert_int_eq(cgroup_remove(c), 0);
        ck_assert_int_eq(cgroup_remove(c), 0);
}
END_TEST

START_TEST(test_v2_signal_all) {
        _cleanup_(cgroup_freep) Cgroup *c = NULL;
        char id[32];
        pid_t a;
        int status;

        snprintf(id, sizeof id, "test%08xs", (unsigned) getppid());
        ck_assert_int_eq(cgroup_new(v2_root(), CGROUP_LAYOUT_UNIFIED, id, &c), 0);
        ck_assert_int_eq(cgroup_create(c), 0);
        a = spin_child();
        ck_assert_int_eq(cgroup_attach(c, a, false), 0);
        ck_assert_int_eq(cgroup_signal_all(c, SIGTERM), 1);
        ck_assert_int_eq(waitpid(a, &status, 0), a);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
        ck_assert_int_eq(cgroup_remove(c), 0);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("cgroup-live");
        TCase *tc = tcase_create("v2");

        tcase_add_test(tc, test_v2_freeze_kill);
        tcase_add_test(tc, test_v2_signal_all);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        if (getuid() != 0)
                FO_TEST_SKIP("needs root to create cgroups");
        if (!v2_root())
                FO_TEST_SKIP("no cgroup v2 hierarchy on this host");
        int r = fo_test_run(suite());

        /* A failed test leaves its cgroup (the forked test skips its own cleanup): kill and remove. */
        char cmd[512];
        snprintf(cmd, sizeof cmd,
                 "for c in %s/forgeone/test%08x*; do [ -d \"$c\" ] || continue; echo 1 > $c/cgroup.kill; "
                 "sleep 0.1; rmdir $c; done 2>/dev/null; true",
                 v2_root(), (unsigned) getpid());
        (void) system(cmd);
        return r;
}
