/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Scheduling rules: pure functions, no root. */
#include "test-util.h"

#include "forgeone/container-queue.h"
#include "forgeone/scheduler.h"

START_TEST(test_priority_names) {
        for (int p = 0; p < _SCHEDULER_PRIORITY_MAX; p++)
                ck_assert_int_eq(scheduler_priority_from_string(scheduler_priority_to_string(p)), p);
        ck_assert_int_eq(scheduler_priority_from_string("urgent"), -EINVAL);
        ck_assert_int_eq(scheduler_priority_from_string(NULL), -EINVAL);
        ck_assert_ptr_null(scheduler_priority_to_string(_SCHEDULER_PRIORITY_MAX));
        ck_assert_str_eq(scheduler_priority_to_string(SCHEDULER_PRIORITY_CRITICAL), "critical");
}
END_TEST

START_TEST(test_weight_formula) {
        /* Full trust: the priority's base weight. */
        ck_assert_uint_eq(scheduler_cpu_weight(SCHEDULER_PRIORITY_NORMAL, 100, 100), 100);
        ck_assert_uint_eq(scheduler_cpu_weight(SCHEDULER_PRIORITY_CRITICAL, 100, 100), 1000);
        ck_assert_uint_eq(scheduler_cpu_weight(SCHEDULER_PRIORITY_BACKGROUND, 100, 100), 10);
        /* Zero trust: half. */
        ck_assert_uint_eq(scheduler_cpu_weight(SCHEDULER_PRIORITY_NORMAL, 0, 100), 50);
        ck_assert_uint_eq(scheduler_cpu_weight(SCHEDULER_PRIORITY_HIGH, 0, 100), 200);
        /* Trust 50 of 100: 75%. Other maxima scale. */
        ck_assert_uint_eq(scheduler_cpu_weight(SCHEDULER_PRIORITY_NORMAL, 50, 100), 75);
        ck_assert_uint_eq(scheduler_cpu_weight(SCHEDULER_PRIORITY_NORMAL, 5, 10), 75);
        /* Clamped trust and unknown maximum. */
        ck_assert_uint_eq(scheduler_cpu_weight(SCHEDULER_PRIORITY_NORMAL, 150, 100), 100);
        ck_assert_uint_eq(scheduler_cpu_weight(SCHEDULER_PRIORITY_NORMAL, -5, 100), 50);
        ck_assert_uint_eq(scheduler_cpu_weight(SCHEDULER_PRIORITY_LOW, 3, 0), 40);
        ck_assert_uint_eq(scheduler_cpu_weight(SCHEDULER_PRIORITY_BACKGROUND, 0, 100), 5);
        ck_assert_uint_eq(scheduler_cpu_weight(_SCHEDULER_PRIORITY_INVALID, 100, 100), 100);
}
END_TEST

START_TEST(test_weight_orderings) {
        /* Within a priority, lower trust always yields; across priorities the priority wins. */
        for (int p = 0; p < _SCHEDULER_PRIORITY_MAX; p++) {
                for (int t = 0; t < 100; t++)
                        ck_assert_uint_le(scheduler_cpu_weight(p, t, 100), scheduler_cpu_weight(p, t + 1, 100));
                if (p + 1 < _SCHEDULER_PRIORITY_MAX)
                        ck_assert_uint_gt(scheduler_cpu_weight(p + 1, 0, 100), scheduler_cpu_weight(p, 99, 100));
        }
}
END_TEST

START_TEST(test_shares) {
        ck_assert_uint_eq(scheduler_weight_to_shares(100), 1024);
        ck_assert_uint_eq(scheduler_weight_to_shares(1000), 10240);
        ck_assert_uint_eq(scheduler_weight_to_shares(1), 10);
        ck_assert_uint_eq(scheduler_weight_to_shares(0), 2);
        ck_assert_uint_eq(scheduler_weight_to_shares(10000), 102400);
}
END_TEST

START_TEST(test_budget_default) {
        SchedulerBudget b;

        scheduler_budget_default(16ull << 30, 32768, &b);
        ck_assert_uint_eq(b.memory_bytes, 12ull << 30);
        ck_assert_uint_eq(b.pids, 16384);
        ck_assert_uint_eq(b.default_memory_bytes, 512ull << 20);
        ck_assert_uint_eq(b.default_pids, 1024);

        /* A small host: defaults shrink to an eighth of the budget. */
        scheduler_budget_default(1ull << 30, 4096, &b);
        ck_assert_uint_eq(b.memory_bytes, 768ull << 20);
        ck_assert_uint_eq(b.default_memory_bytes, 96ull << 20);
        ck_assert_uint_eq(b.default_pids, 256);
}
END_TEST

static const SchedulerBudget budget = { .memory_bytes = 1000, .pids = 100 };

START_TEST(test_fits) {
        SchedulerEntry running[] = {
                { .id = "a", .memory_bytes = 400, .pids = 10 },
                { .id = "b", .memory_bytes = 300, .pids = 80 },
        };
        SchedulerEntry req = { .id = "c", .memory_bytes = 300, .pids = 10 };

        ck_assert_uint_eq(scheduler_fits(&budget, running, 2, &req), 0);
        req.memory_bytes = 301;
        ck_assert_uint_eq(scheduler_fits(&budget, running, 2, &req), SCHEDULER_SHORT_MEMORY);
        req.pids = 11;
        ck_assert_uint_eq(scheduler_fits(&budget, running, 2, &req), SCHEDULER_SHORT_MEMORY | SCHEDULER_SHORT_PIDS);
        req.memory_bytes = 0;
        ck_assert_uint_eq(scheduler_fits(&budget, running, 2, &req), SCHEDULER_SHORT_PIDS);

        /* Saturation: a huge reservation never wraps around into "fits". */
        running[0].memory_bytes = UINT64_MAX;
        req.memory_bytes = 10;
        req.pids = 0;
        ck_assert_uint_eq(scheduler_fits(&budget, running, 2, &req), SCHEDULER_SHORT_MEMORY);
}
END_TEST

START_TEST(test_queue_order) {
        SchedulerEntry q[] = {
                { .id = "low-hi-trust", .priority = SCHEDULER_PRIORITY_LOW, .trust = 100, .seq = 1 },
                { .id = "normal-late", .priority = SCHEDULER_PRIORITY_NORMAL, .trust = 50, .seq = 9 },
                { .id = "normal-early", .priority = SCHEDULER_PRIORITY_NORMAL, .trust = 50, .seq = 3 },
                { .id = "critical", .priority = SCHEDULER_PRIORITY_CRITICAL, .trust = 0, .seq = 10 },
                { .id = "normal-trusted", .priority = SCHEDULER_PRIORITY_NORMAL, .trust = 90, .seq = 11 },
        };

        scheduler_sort_queue(q, ELEMENTSOF(q));
        ck_assert_str_eq(q[0].id, "critical");
        ck_assert_str_eq(q[1].id, "normal-trusted");
        ck_assert_str_eq(q[2].id, "normal-early");
        ck_assert_str_eq(q[3].id, "normal-late");
        ck_assert_str_eq(q[4].id, "low-hi-trust");
}
END_TEST

START_TEST(test_decide) {
        SchedulerEntry running[] = { { .id = "r", .memory_bytes = 600, .pids = 10 } };
        SchedulerEntry waiting[] = {
                { .id = "big-high", .priority = SCHEDULER_PRIORITY_HIGH, .memory_bytes = 500, .pids = 1, .seq = 2 },
                { .id = "small-low", .priority = SCHEDULER_PRIORITY_LOW, .memory_bytes = 100, .pids = 1, .seq = 1 },
                { .id = "impossible", .priority = SCHEDULER_PRIORITY_CRITICAL, .memory_bytes = 5000, .pids = 1 },
        };
        unsigned shortage = 99;

        /* The big high-priority one waits for memory... */
        ck_assert_int_eq(scheduler_decide(&budget, running, 1, waiting, 3, &waiting[0], &shortage), SCHEDULER_WAIT);
        ck_assert_uint_eq(shortage, SCHEDULER_SHORT_MEMORY);
        /* ...and the small one would fit but must not overtake it (no backfill). */
        ck_assert_int_eq(scheduler_decide(&budget, running, 1, waiting, 3, &waiting[1], &shortage), SCHEDULER_WAIT);
        ck_assert_uint_eq(shortage, 0);
        /* Larger than the whole budget: refused, and it does not block the queue. */
        ck_assert_int_eq(scheduler_decide(&budget, running, 1, waiting, 3, &waiting[2], &shortage), SCHEDULER_REFUSE);
        ck_assert_uint_eq(shortage, SCHEDULER_SHORT_MEMORY);

        /* Once the running one is gone, the head is admitted; then the small one follows. */
        ck_assert_int_eq(scheduler_decide(&budget, NULL, 0, waiting, 3, &waiting[0], NULL), SCHEDULER_ADMIT);
        ck_assert_int_eq(scheduler_decide(&budget, waiting, 1, waiting + 1, 2, &waiting[1], NULL), SCHEDULER_ADMIT);

        /* Self identified by id rather than pointer. */
        SchedulerEntry copy = waiting[0];
        ck_assert_int_eq(scheduler_decide(&budget, NULL, 0, waiting, 3, &copy, NULL), SCHEDULER_ADMIT);
        ck_assert_str_eq(scheduler_decision_to_string(SCHEDULER_REFUSE), "refuse");
}
END_TEST

START_TEST(test_parse_size) {
        uint64_t v;

        ck_assert_int_eq(scheduler_parse_size("256M", &v), 0);
        ck_assert_uint_eq(v, 256ull << 20);
        ck_assert_int_eq(scheduler_parse_size("1G", &v), 0);
        ck_assert_uint_eq(v, 1ull << 30);
        ck_assert_int_eq(scheduler_parse_size("1.5k", &v), 0);
        ck_assert_uint_eq(v, 1536);
        ck_assert_int_eq(scheduler_parse_size("4096", &v), 0);
        ck_assert_uint_eq(v, 4096);
        ck_assert_int_eq(scheduler_parse_size("64MiB", &v), 0);
        ck_assert_uint_eq(v, 64ull << 20);
        ck_assert_int_eq(scheduler_parse_size("", &v), -EINVAL);
        ck_assert_int_eq(scheduler_parse_size("-1M", &v), -EINVAL);
        ck_assert_int_eq(scheduler_parse_size("12X", &v), -EINVAL);
        ck_assert_int_eq(scheduler_parse_size("12MM", &v), -EINVAL);
        ck_assert_int_eq(scheduler_parse_size(" 1M", &v), -EINVAL);
        ck_assert_int_eq(scheduler_parse_size("99999999T", &v), -ERANGE);
}
END_TEST

START_TEST(test_parse_cpus) {
        uint64_t v;

        ck_assert_int_eq(scheduler_parse_cpus("0.5", &v), 0);
        ck_assert_uint_eq(v, 500);
        ck_assert_int_eq(scheduler_parse_cpus("2", &v), 0);
        ck_assert_uint_eq(v, 2000);
        ck_assert_int_eq(scheduler_parse_cpus("0.0015", &v), 0);
        ck_assert_uint_eq(v, 2);
        ck_assert_int_eq(scheduler_parse_cpus("0", &v), -ERANGE);
        ck_assert_int_eq(scheduler_parse_cpus("0.0001", &v), -ERANGE);
        ck_assert_int_eq(scheduler_parse_cpus("2000", &v), -ERANGE);
        ck_assert_int_eq(scheduler_parse_cpus("half", &v), -EINVAL);
        ck_assert_int_eq(scheduler_parse_cpus("1c", &v), -EINVAL);
}
END_TEST

static char budget_path[64];

static void write_budget(const char *text) {
        int fd;

        strcpy(budget_path, "/tmp/test-scheduler-budget-XXXXXX");
        fd = mkstemp(budget_path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
}

START_TEST(test_budget_file) {
        ForgeError error = {};
        SchedulerBudget b;

        write_budget("{ \"memory\": \"8G\", \"pids\": 4096, \"default_memory\": 268435456, \"default_pids\": 64 }");
        ck_assert_int_eq(container_budget_load(budget_path, &b, &error), 0);
        ck_assert(!forge_error_isset(&error));
        ck_assert_uint_eq(b.memory_bytes, 8ull << 30);
        ck_assert_uint_eq(b.pids, 4096);
        ck_assert_uint_eq(b.default_memory_bytes, 256ull << 20);
        ck_assert_uint_eq(b.default_pids, 64);
        unlink(budget_path);
}
END_TEST

START_TEST(test_budget_partial) {
        SchedulerBudget b, d;

        /* Keys left out keep the host defaults. */
        write_budget("{ \"pids\": 100 }");
        ck_assert_int_eq(container_budget_load(budget_path, &b, NULL), 0);
        ck_assert_uint_eq(b.pids, 100);
        ck_assert_uint_eq(b.default_pids, 12); /* follows the smaller budget */
        unlink(budget_path);
        write_budget("{}");
        ck_assert_int_eq(container_budget_load(budget_path, &d, NULL), 0);
        ck_assert_uint_eq(b.memory_bytes, d.memory_bytes);
        ck_assert_uint_gt(d.memory_bytes, 0);
        ck_assert_uint_gt(d.pids, 0);
        unlink(budget_path);
}
END_TEST

START_TEST(test_budget_errors) {
        ForgeError e1 = {}, e2 = {}, e3 = {};
        SchedulerBudget b;

        write_budget("{ \"memory\": \"lots\" }");
        ck_assert_int_eq(container_budget_load(budget_path, &b, &e1), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e1.message, budget_path));
        ck_assert_ptr_nonnull(strstr(e1.message, "\"memory\""));
        ck_assert_int_eq(e1.kind, FORGE_ERROR_CONFIG_INVALID);
        ck_assert_str_eq(e1.file, budget_path);
        unlink(budget_path);

        write_budget("[1, 2]");
        ck_assert_int_eq(container_budget_load(budget_path, &b, &e2), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e2.message, "not a JSON object"));
        unlink(budget_path);

        ck_assert_int_eq(container_budget_load("/nonexistent/budget.json", &b, &e3), -ENOENT);
        ck_assert_ptr_nonnull(strstr(e3.message, "/nonexistent/budget.json"));
        ck_assert_str_eq(forge_error_bus_name(&e3, -ENOENT), "org.forgeone.Error.NotFound");
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("scheduler");
        TCase *tc = tcase_create("rules");

        tcase_add_test(tc, test_priority_names);
        tcase_add_test(tc, test_weight_formula);
        tcase_add_test(tc, test_weight_orderings);
        tcase_add_test(tc, test_shares);
        tcase_add_test(tc, test_budget_default);
        tcase_add_test(tc, test_fits);
        tcase_add_test(tc, test_queue_order);
        tcase_add_test(tc, test_decide);
        tcase_add_test(tc, test_parse_size);
        tcase_add_test(tc, test_parse_cpus);
        suite_add_tcase(s, tc);

        TCase *tb = tcase_create("budget-file");
        tcase_add_test(tb, test_budget_file);
        tcase_add_test(tb, test_budget_partial);
        tcase_add_test(tb, test_budget_errors);
        suite_add_tcase(s, tb);
        return s;
}

int main(void) {
        return fo_test_run(suite());
}
