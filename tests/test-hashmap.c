/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The string-keyed map (hashmap.h): put, get, remove, growth, iteration with removal of the current entry. */
#include <stdio.h>
#include <string.h>

#include "forgeone/hashmap.h"
#include "test-util.h"

#define N 1000

START_TEST(test_put_get_remove) {
        Hashmap *h = NULL;
        static char keys[N][16];
        int values[N];

        ck_assert_int_eq(hashmap_new(&h), 0);
        for (int i = 0; i < N; i++) {
                snprintf(keys[i], sizeof keys[i], "w%d", i);
                values[i] = i;
                ck_assert_int_eq(hashmap_put(h, keys[i], &values[i]), 0);
        }
        ck_assert_uint_eq(hashmap_size(h), N);
        ck_assert_int_eq(hashmap_put(h, "w7", &values[0]), -EEXIST);
        for (int i = 0; i < N; i++)
                ck_assert_ptr_eq(hashmap_get(h, keys[i]), &values[i]);
        ck_assert_ptr_null(hashmap_get(h, "w1000"));
        ck_assert_ptr_null(hashmap_get(h, ""));
        for (int i = 0; i < N; i += 2)
                ck_assert_ptr_eq(hashmap_remove(h, keys[i]), &values[i]);
        ck_assert_ptr_null(hashmap_remove(h, keys[0]));
        ck_assert_uint_eq(hashmap_size(h), N / 2);
        for (int i = 0; i < N; i++)
                ck_assert_ptr_eq(hashmap_get(h, keys[i]), i % 2 ? &values[i] : NULL);
        hashmap_free(h);
}
END_TEST

START_TEST(test_iterate_and_remove) {
        Hashmap *h = NULL;
        static char keys[N][16];
        int values[N], *v, seen[N] = {};
        size_t n = 0;

        ck_assert_int_eq(hashmap_new(&h), 0);
        for (int i = 0; i < N; i++) {
                snprintf(keys[i], sizeof keys[i], "k-%d", i);
                values[i] = i;
                ck_assert_int_eq(hashmap_put(h, keys[i], &values[i]), 0);
        }
        /* Every entry once; removing the current one does not disturb the walk. */
        HASHMAP_FOREACH (v, h, i) {
                seen[*v]++;
                n++;
                if (*v % 3 == 0)
                        ck_assert_ptr_eq(hashmap_remove(h, keys[*v]), v);
        }
        ck_assert_uint_eq(n, N);
        for (int i = 0; i < N; i++)
                ck_assert_int_eq(seen[i], 1);
        ck_assert_uint_eq(hashmap_size(h), N - (N + 2) / 3);
        hashmap_free(h);
        ck_assert_ptr_null(hashmap_free(NULL));
}
END_TEST

int main(void) {
        Suite *s = suite_create("hashmap");
        TCase *tc = tcase_create("hashmap");

        tcase_add_test(tc, test_put_get_remove);
        tcase_add_test(tc, test_iterate_and_remove);
        suite_add_tcase(s, tc);
        return fo_test_run(s);
}
