/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fidelity-cases: the differential fidelity suite's one program (see tests/fidelity/README.md).
 *
 *   fidelity-cases list                        the cases, "SYSCALL<TAB>NAME" per line
 *   fidelity-cases run DIR [--only N] [-- WRAPPER...]
 *                                              build a fixture at DIR in a private mount namespace and
 *                                              run every case (or case N) natively, or with the workload
 *                                              behind WRAPPER (forgeonectl run --local ... --); one line
 *                                              "NAME | RESULT" per case on stdout
 *   fidelity-cases cases DIR SOCK [N]          the workload (started by run)
 *   fidelity-cases one DIR SOCK ...            a case after it re-executed itself (internal)
 */
#include <stdio.h>
#include <string.h>

#include "fidelity-cases.h"

int main(int argc, char **argv) {
        if (argc >= 2 && !strcmp(argv[1], "list")) {
                matrix_build();
                for (size_t i = 0; i < n_cases; i++)
                        printf("%s\t%s\n", cases[i].sys, cases[i].name);
                return 0;
        }
        if (argc >= 2 && !strcmp(argv[1], "run"))
                return driver_main(argc, argv);
        if (argc >= 2 && !strcmp(argv[1], "cases"))
                return cases_main(argc, argv);
        if (argc >= 2 && !strcmp(argv[1], "one"))
                return one_main(argc, argv);
        fprintf(stderr, "usage: fidelity-cases list | run DIR [--only N] [-- WRAPPER...]\n");
        return 2;
}
