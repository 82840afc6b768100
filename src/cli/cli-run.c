/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * forgeonectl run --local: launch a command under a policy and mediate it
 * in this process (no daemon). The workload keeps our stdin/stdout/stderr
 * and nothing else; decisions are printed on stderr, one line each. Exit
 * status: the workload's, 128+N when a signal N killed it,
 * FORGEONE_EXIT_QUARANTINED when it was quarantined,
 * FORGEONE_EXIT_LAUNCH_FAILED when it could not be started under the policy.
 * The container form (--image) is parsed in cli-run-image.c; both run in
 * cli-run-common.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli-run-common.h"
#include "cli-verbs.h"
#include "forgeone/log.h"

static void help(void) {
        printf("Usage: forgeonectl run --local --policy FILE [OPTIONS] -- COMMAND [ARGS...]\n\n"
               "Run COMMAND under the policy, mediated by this process (no daemon).\n\n"
               "  --local            supervise in this process (required until the daemon exists)\n"
               "  --policy FILE      the policy (see forgeone.policy(5))\n"
               "  --identity NAME    the policy identity to run as (default: resolved from the\n"
               "                     command's name, else the policy's \"*\" rules)\n"
               "  --quiet            print denials and quarantines only, not allowed calls\n"
               "  --json             print decisions as JSON lines\n"
               "  --audit-allow MODE allowed calls in the journal: all, sampled, aggregated\n"
               "                     (default; exact counts per interval); see forgeone.audit(7)\n"
               "  --no-audit         write no audit records to the journal\n"
               "  --observer         watch the workload with the eBPF observer (forgeone.observer(7));\n"
               "                     off by default (--no-observer): it slows every process of the host\n"
               "  -h, --help         show this help\n\n"
               "COMMAND runs in pid and mount namespaces of its own, with a /proc of its own, the\n"
               "host's file system otherwise, and file descriptors 0, 1 and 2 only. When it exits,\n"
               "whatever it left running is stopped too.\n\n"
               "Every decision also goes to the journal as an audit record (forgeone.audit(7)).\n"
               "One line per decision on stderr, e.g.\n"
               "  forgeone: deny openat \"/etc/shadow\" [read] -> EACCES (rule deny-secrets)\n\n"
               "Exit status: the command's; 128+N if signal N killed it; %d if it was quarantined;\n"
               "%d if it could not be started under the policy.\n",
               FORGEONE_EXIT_QUARANTINED, FORGEONE_EXIT_LAUNCH_FAILED);
}

int verb_run(int argc, char *argv[]) {
        enum { ARG_LOCAL = 0x100, ARG_POLICY, ARG_IDENTITY, ARG_QUIET, ARG_JSON };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "local", no_argument, NULL, ARG_LOCAL },
                { "policy", required_argument, NULL, ARG_POLICY },
                { "identity", required_argument, NULL, ARG_IDENTITY },
                { "quiet", no_argument, NULL, ARG_QUIET },
                { "json", no_argument, NULL, ARG_JSON },
                RUN_AUDIT_OPTIONS,
                {},
        };
        const char *policy_path = NULL;
        RunOptions o = { .print = RUN_PRINT_ALL, .audit_allow = AUDIT_ALLOW_AGGREGATED };
        WorkloadConfig wc = {};
        bool local = false;
        int c;

        /* Containers have their own options: cli-run-image.c takes the whole command line. */
        for (int i = 1; i < argc && !streq(argv[i], "--"); i++)
                if (streq(argv[i], "--image") || strncmp(argv[i], "--image=", 8) == 0)
                        return verb_run_image(argc, argv);

        optind = 0;
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_LOCAL:
                        local = true;
                        break;
                case ARG_POLICY:
                        policy_path = optarg;
                        break;
                case ARG_IDENTITY:
                        wc.identity = optarg;
                        break;
                case ARG_QUIET:
                        o.print = RUN_PRINT_DENIALS;
                        break;
                case ARG_JSON:
                        o.json = true;
                        break;
                default:
                        if (run_audit_option(c, optarg, &o) <= 0)
                                return 1;
                }

        if (!local) {
                log_error("forgeonectl run needs --local: workloads are supervised by this process until "
                          "the daemon exists.");
                return 1;
        }
        if (!policy_path) {
                log_error("forgeonectl run needs --policy FILE.");
                return 1;
        }
        if (optind >= argc) {
                log_error("forgeonectl run needs a command after the options (forgeonectl run --local "
                          "--policy FILE -- COMMAND...).");
                return 1;
        }
        if (run_load_policy(policy_path, &wc.policy) < 0)
                return 1;
        wc.argv = argv + optind;
        return run_workload(&wc, &o);
}
