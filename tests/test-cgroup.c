/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Cgroup file handling against a fake cgroup tree in a temporary directory
 * (no root, no real cgroupfs): which files are written with which values on
 * each layout, freezer and OOM parsing. The live tests check the real thing.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "test-util.h"

#include "forgeone/cgroup.h"

static char root[] = "/tmp/test-cgroup-XXXXXX";

static void setup(void) {
        ck_assert_ptr_nonnull(mkdtemp(root));
}

static void teardown(void) {
        char cmd[256];

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        ck_assert_int_eq(system(cmd), 0);
}

static void put(const char *rel, const char *content) {
        char p[512];
        FILE *f;

        snprintf(p, sizeof p, "%s/%s", root, rel);
        f = fopen(p, "we");
        ck_assert_msg(f != NULL, "cannot create %s", p);
        fputs(content, f);
        fclose(f);
}

static void mk(const char *rel) {
        char p[512];

        snprintf(p, sizeof p, "%s/%s", root, rel);
        ck_assert_int_eq(mkdir(p, 0755), 0);
}

static char *get(const char *rel) {
        static char buf[256];
        char p[512];
        FILE *f;
        size_t n;

        snprintf(p, sizeof p, "%s/%s", root, rel);
        f = fopen(p, "re");
        ck_assert_msg(f != NULL, "missing %s", p);
        n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        fclose(f);
        return buf;
}

static bool exists(const char *rel) {
        char p[512];

        snprintf(p, sizeof p, "%s/%s", root, rel);
        return access(p, F_OK) == 0;
}

START_TEST(test_names_and_format) {
        char buf[48];

        ck_assert_str_eq(cgroup_layout_to_string(CGROUP_LAYOUT_HYBRID), "hybrid");
        ck_assert_int_eq(cgroup_layout_from_string("unified"), CGROUP_LAYOUT_UNIFIED);
        ck_assert_int_eq(cgroup_layout_from_string("v1"), -EINVAL);
        cgroup_format_cpu_max(500, buf);
        ck_assert_str_eq(buf, "50000 100000");
        cgroup_format_cpu_max(2000, buf);
        ck_assert_str_eq(buf, "200000 100000");
        cgroup_format_cpu_max(0, buf);
        ck_assert_str_eq(buf, "max 100000");
}
END_TEST

START_TEST(test_detect_not_cgroupfs) {
        CgroupLayout l;

        /* A plain directory is neither layout. */
        ck_assert_int_eq(cgroup_detect_layout(root, &l), -EOPNOTSUPP);
        ck_assert_int_eq(cgroup_detect_layout("/nonexistent-cgroup-root", &l), -ENOENT);
}
END_TEST

START_TEST(test_new_rejects_bad_ids) {
        Cgroup *c = NULL;

        ck_assert_int_eq(cgroup_new(root, CGROUP_LAYOUT_UNIFIED, "../escape", &c), -EINVAL);
        ck_assert_int_eq(cgroup_new(root, CGROUP_LAYOUT_UNIFIED, "", &c), -EINVAL);
        ck_assert_int_eq(cgroup_new(root, _CGROUP_LAYOUT_INVALID, "abc", &c), -EINVAL);
        ck_assert_ptr_null(c);
}
END_TEST

static const char *const v1[] = { "memory", "pids", "cpu", "cpuacct", "freezer", "unified" };

START_TEST(test_hybrid_files) {
        _cleanup_(cgroup_freep) Cgroup *c = NULL;
        _cleanup_free_ char *path = NULL, *failed = NULL;
        CgroupLimits lim = { .memory_bytes = 256ull << 20, .pids = 128, .cpu_millis = 500, .cpu_weight = 50 };
        char rel[256];
        uint64_t oom = 0;

        FOREACH_ELEMENT(h, v1)
                mk(*h);
        ck_assert_int_eq(cgroup_new(root, CGROUP_LAYOUT_HYBRID, "c0ffee000001", &c), 0);
        ck_assert_str_eq(cgroup_get_relative(c), "forgeone/c0ffee000001");
        ck_assert_int_eq(cgroup_create(c), 0);
        FOREACH_ELEMENT(h, v1) {
                snprintf(rel, sizeof rel, "%s/forgeone/c0ffee000001", *h);
                ck_assert_msg(exists(rel), "%s not created", rel);
        }
        ck_assert_int_eq(cgroup_create(c), -EEXIST);

        ck_assert_int_eq(cgroup_controller_path(c, "memory", &path), 0);
        ck_assert_ptr_nonnull(strstr(path, "/memory/forgeone/c0ffee000001"));

        /* The kernel would provide these files; the fake tree needs them made. */
        put("memory/forgeone/c0ffee000001/memory.limit_in_bytes", "");
        put("memory/forgeone/c0ffee000001/memory.memsw.limit_in_bytes", "");
        put("memory/forgeone/c0ffee000001/memory.swappiness", "");
        put("pids/forgeone/c0ffee000001/pids.max", "");
        put("cpu/forgeone/c0ffee000001/cpu.cfs_period_us", "");
        put("cpu/forgeone/c0ffee000001/cpu.cfs_quota_us", "");
        put("cpu/forgeone/c0ffee000001/cpu.shares", "");
        ck_assert_int_eq(cgroup_apply_limits(c, &lim, &failed), 0);
        ck_assert_ptr_null(failed);
        ck_assert_str_eq(get("memory/forgeone/c0ffee000001/memory.limit_in_bytes"), "268435456");
        ck_assert_str_eq(get("memory/forgeone/c0ffee000001/memory.memsw.limit_in_bytes"), "268435456");
        ck_assert_str_eq(get("memory/forgeone/c0ffee000001/memory.swappiness"), "0");
        ck_assert_str_eq(get("pids/forgeone/c0ffee000001/pids.max"), "128");
        ck_assert_str_eq(get("cpu/forgeone/c0ffee000001/cpu.cfs_period_us"), "100000");
        ck_assert_str_eq(get("cpu/forgeone/c0ffee000001/cpu.cfs_quota_us"), "50000");
        ck_assert_str_eq(get("cpu/forgeone/c0ffee000001/cpu.shares"), "512");
        /* The weight alone, as when trust changes: only cpu.shares is written. */
        put("pids/forgeone/c0ffee000001/pids.max", "untouched");
        ck_assert_int_eq(cgroup_set_cpu_weight(c, 75), 0);
        ck_assert_str_eq(get("cpu/forgeone/c0ffee000001/cpu.shares"), "768");
        ck_assert_str_eq(get("pids/forgeone/c0ffee000001/pids.max"), "untouched");
        ck_assert_int_eq(cgroup_set_cpu_weight(c, 0), -EINVAL);

        /* A missing required file is an error naming the file. */
        ck_assert_int_eq(unlink(strcat(strcpy(rel, root), "/pids/forgeone/c0ffee000001/pids.max")), 0);
        ck_assert_int_eq(cgroup_apply_limits(c, &lim, &failed), -ENOENT);
        ck_assert_ptr_nonnull(failed);
        ck_assert_ptr_nonnull(strstr(failed, "pids/forgeone/c0ffee000001/pids.max"));

        /* Attach writes the pid to every hierarchy. */
        FOREACH_ELEMENT(h, v1) {
                snprintf(rel, sizeof rel, "%s/forgeone/c0ffee000001/cgroup.procs", *h);
                put(rel, "");
        }
        ck_assert_int_eq(cgroup_attach(c, 4321, false), 0);
        ck_assert_str_eq(get("freezer/forgeone/c0ffee000001/cgroup.procs"), "4321");
        ck_assert_str_eq(get("unified/forgeone/c0ffee000001/cgroup.procs"), "4321");
        /* After CLONE_INTO_CGROUP only the v1 hierarchies are written. */
        put("unified/forgeone/c0ffee000001/cgroup.procs", "");
        ck_assert_int_eq(cgroup_attach(c, 99, true), 0);
        ck_assert_str_eq(get("memory/forgeone/c0ffee000001/cgroup.procs"), "99");
        ck_assert_str_eq(get("unified/forgeone/c0ffee000001/cgroup.procs"), "");
        int fd = cgroup_open_unified(c);
        ck_assert_int_ge(fd, 0);
        close(fd);

        /* v1 freezer. */
        put("freezer/forgeone/c0ffee000001/freezer.state", "THAWED\n");
        ck_assert_int_eq(cgroup_is_frozen(c), 0);
        ck_assert_int_eq(cgroup_set_frozen(c, true, 100000), 0);
        ck_assert_str_eq(get("freezer/forgeone/c0ffee000001/freezer.state"), "FROZEN");
        ck_assert_int_eq(cgroup_is_frozen(c), 1);
        ck_assert_int_eq(cgroup_set_frozen(c, false, 100000), 0);
        ck_assert_str_eq(get("freezer/forgeone/c0ffee000001/freezer.state"), "THAWED");

        /* OOM kills from memory.oom_control. */
        put("memory/forgeone/c0ffee000001/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
        ck_assert_int_eq(cgroup_oom_kills(c, &oom), 0);
        ck_assert_uint_eq(oom, 3);
        put("memory/forgeone/c0ffee000001/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n");
        ck_assert_int_eq(cgroup_oom_kills(c, &oom), -EOPNOTSUPP);
}
END_TEST

START_TEST(test_unified_files) {
        _cleanup_(cgroup_freep) Cgroup *c = NULL;
        CgroupLimits lim = { .memory_bytes = 1ull << 30, .pids = 64, .cpu_millis = 1500, .cpu_weight = 250 };
        uint64_t oom = 0;

        put("cgroup.controllers", "cpuset cpu io memory pids");
        put("cgroup.subtree_control", "");
        ck_assert_int_eq(cgroup_new(root, CGROUP_LAYOUT_UNIFIED, "c0ffee000002", &c), 0);
        ck_assert_int_eq(cgroup_create(c), 0);
        ck_assert(exists("forgeone/c0ffee000002"));
        /* Each controller is enabled by its own write; the fake file keeps the last one. */
        ck_assert_str_eq(get("cgroup.subtree_control"), "+cpu");

        put("forgeone/c0ffee000002/memory.max", "");
        put("forgeone/c0ffee000002/memory.oom.group", "0");
        put("forgeone/c0ffee000002/pids.max", "");
        put("forgeone/c0ffee000002/cpu.max", "");
        put("forgeone/c0ffee000002/cpu.weight", "");
        /* memory.swap.max absent (no swap accounting): tolerated. */
        ck_assert_int_eq(cgroup_apply_limits(c, &lim, NULL), 0);
        ck_assert_str_eq(get("forgeone/c0ffee000002/memory.max"), "1073741824");
        ck_assert_str_eq(get("forgeone/c0ffee000002/pids.max"), "64");
        ck_assert_str_eq(get("forgeone/c0ffee000002/memory.oom.group"), "1");
        ck_assert_str_eq(get("forgeone/c0ffee000002/cpu.max"), "150000 100000");
        ck_assert_str_eq(get("forgeone/c0ffee000002/cpu.weight"), "250");
        ck_assert_int_eq(cgroup_set_cpu_weight(c, 40), 0);
        ck_assert_str_eq(get("forgeone/c0ffee000002/cpu.weight"), "40");
        ck_assert_str_eq(get("forgeone/c0ffee000002/memory.max"), "1073741824");

        /* v2 freezer waits for cgroup.events to say frozen. */
        put("forgeone/c0ffee000002/cgroup.freeze", "");
        put("forgeone/c0ffee000002/cgroup.events", "populated 1\nfrozen 0\n");
        ck_assert_int_eq(cgroup_set_frozen(c, true, 20000), -ETIMEDOUT);
        ck_assert_str_eq(get("forgeone/c0ffee000002/cgroup.freeze"), "1");
        put("forgeone/c0ffee000002/cgroup.events", "populated 1\nfrozen 1\n");
        ck_assert_int_eq(cgroup_set_frozen(c, true, 20000), 0);
        ck_assert_int_eq(cgroup_is_frozen(c), 1);

        put("forgeone/c0ffee000002/memory.events", "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\noom_group_kill 0\n");
        ck_assert_int_eq(cgroup_oom_kills(c, &oom), 0);
        ck_assert_uint_eq(oom, 1);

        /* Remove: the fake dir still has files, so rmdir fails with ENOTEMPTY; emptied, it goes. */
        ck_assert_int_eq(cgroup_remove(c), -ENOTEMPTY);
}
END_TEST

START_TEST(test_signal_and_empty) {
        _cleanup_(cgroup_freep) Cgroup *c = NULL;
        char buf[64];
        int status;
        pid_t pid;

        mk("forgeone");
        ck_assert_int_eq(cgroup_new(root, CGROUP_LAYOUT_UNIFIED, "c0ffee000003", &c), 0);
        mk("forgeone/c0ffee000003");
        put("forgeone/c0ffee000003/cgroup.procs", "");
        ck_assert_int_eq(cgroup_is_empty(c), 1);

        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                pause();
                _exit(0);
        }
        snprintf(buf, sizeof buf, "%d\n", (int) pid);
        put("forgeone/c0ffee000003/cgroup.procs", buf);
        ck_assert_int_eq(cgroup_is_empty(c), 0);
        ck_assert_int_eq(cgroup_signal_all(c, SIGKILL), 1);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

        /* Once gone, the directory disappears too. */
        put("forgeone/c0ffee000003/cgroup.procs", "");
        snprintf(buf, sizeof buf, "%s/forgeone/c0ffee000003/cgroup.procs", root);
        ck_assert_int_eq(unlink(buf), 0);
        ck_assert_int_eq(cgroup_is_empty(c), 1);
        ck_assert_int_eq(cgroup_remove(c), 0);
        ck_assert(!exists("forgeone/c0ffee000003"));
        ck_assert_int_eq(cgroup_remove(c), 0);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("cgroup");
        TCase *tc = tcase_create("fake-tree");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_names_and_format);
        tcase_add_test(tc, test_detect_not_cgroupfs);
        tcase_add_test(tc, test_new_rejects_bad_ids);
        tcase_add_test(tc, test_hybrid_files);
        tcase_add_test(tc, test_unified_files);
        tcase_add_test(tc, test_signal_and_empty);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return fo_test_run(suite());
}
