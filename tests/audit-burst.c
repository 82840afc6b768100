/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The workload of the audit's storm test (test-audit-live.sh): makes N calls the policy denies, as fast as
 * it can, and prints how many failed. Usage: audit-burst N PATH */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int main(int argc, char *argv[]) {
        long n, failed = 0;

        if (argc != 3)
                return 2;
        n = strtol(argv[1], NULL, 10);
        for (long i = 0; i < n; i++)
                if (mkdir(argv[2], 0700) < 0)
                        failed++;
        printf("%ld\n", failed);
        return failed == n ? 0 : 1;
}
