/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * forgeonectl run --local --image DIR[:TAG] ...: the container form of
 * "run". cli-run.c hands the whole argument vector over when it sees
 * --image; this file parses it and starts the workload in cli-run-common.c.
 * Exit status: the workload's (128 + signal when killed), 123 when it was
 * quarantined, 1 when it could not start or ended Failed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli-run-common.h"
#include "cli-trust.h"
#include "cli-verbs.h"
#include "forgeone/container.h"
#include "forgeone/log.h"

static void help(void) {
        printf("Usage: forgeonectl run --local --image DIR[:TAG] --policy FILE [OPTIONS] [-- CMD...]\n\n"
               "Run an OCI image layout as a container under a policy, supervised by this process.\n\n"
               "  --name NAME            unique name (default: the id)\n"
               "  --identity NAME        the policy identity to run as (default: resolved from the name,\n"
               "                         the image digest and the labels)\n"
               "  --label KEY=VALUE      label for policy identities (repeatable)\n"
               "  --priority P           critical, high, normal (default), low, background\n"
               "  --memory SIZE          memory limit and reservation (256M, 1G; default from the budget)\n"
               "  --pids N               pids limit and reservation (default from the budget)\n"
               "  --cpus N               CPU quota (0.5 = half a CPU; default none)\n"
               "  --network none|host    own namespace with loopback only (default), or the host's\n"
               "  --no-wait              refuse instead of queueing when the host budget is short\n"
               "  --hostname NAME        (default: the name)\n"
               "  --userns BASE:COUNT    host ids for container ids 0..COUNT-1 (default 100000:65536)\n"
               "  --budget FILE          host budget (default /etc/forgeone/budget.json if present)\n"
               "  --stop-timeout S       grace period after SIGTERM on Ctrl-C (default 10)\n"
               "  --quiet                print no decisions (default: denials and quarantines)\n"
               "  --verbose              print every decision\n"
               "  --json                 print decisions as JSON lines\n"
               RUN_AUDIT_HELP
               "\nThe image must verify against the trust anchor (a signature by one of its keys)\n"
               "unless the policy lets the workload's identity run unsigned images; see forgeone.trust(7).\n"
               "\nSee forgeonectl(1), sections CONTAINERS and SCHEDULING.\n");
}

int verb_run_image(int argc, char *argv[]) {
        enum {
                ARG_LOCAL = 0x100,
                ARG_IMAGE,
                ARG_POLICY,
                ARG_NAME,
                ARG_LABEL,
                ARG_PRIORITY,
                ARG_MEMORY,
                ARG_PIDS,
                ARG_CPUS,
                ARG_NETWORK,
                ARG_NO_WAIT,
                ARG_HOSTNAME,
                ARG_USERNS,
                ARG_BUDGET,
                ARG_STOP_TIMEOUT,
                ARG_QUIET,
                ARG_VERBOSE,
                ARG_JSON,
                ARG_IDENTITY,
        };
        static const struct option options[] = {
                { "local", no_argument, NULL, ARG_LOCAL },
                { "image", required_argument, NULL, ARG_IMAGE },
                { "policy", required_argument, NULL, ARG_POLICY },
                { "name", required_argument, NULL, ARG_NAME },
                { "label", required_argument, NULL, ARG_LABEL },
                { "priority", required_argument, NULL, ARG_PRIORITY },
                { "memory", required_argument, NULL, ARG_MEMORY },
                { "pids", required_argument, NULL, ARG_PIDS },
                { "cpus", required_argument, NULL, ARG_CPUS },
                { "network", required_argument, NULL, ARG_NETWORK },
                { "no-wait", no_argument, NULL, ARG_NO_WAIT },
                { "hostname", required_argument, NULL, ARG_HOSTNAME },
                { "userns", required_argument, NULL, ARG_USERNS },
                { "budget", required_argument, NULL, ARG_BUDGET },
                { "stop-timeout", required_argument, NULL, ARG_STOP_TIMEOUT },
                { "quiet", no_argument, NULL, ARG_QUIET },
                { "verbose", no_argument, NULL, ARG_VERBOSE },
                { "json", no_argument, NULL, ARG_JSON },
                { "identity", required_argument, NULL, ARG_IDENTITY },
                { "help", no_argument, NULL, 'h' },
                RUN_AUDIT_OPTIONS,
                {},
        };
        _cleanup_strv_free_ char **labels = NULL, **command = NULL;
        _cleanup_(policy_diagnostics_done) PolicyDiagnostics diag = {};
        _cleanup_(cli_trust_launch_freep) CliTrustLaunch *trust = NULL;
        const char *policy_path = NULL;
        ContainerConfig cfg = { .priority = SCHEDULER_PRIORITY_NORMAL, .network = CONTAINER_NETWORK_NONE };
        RunOptions o = { .print = RUN_PRINT_DENIALS, .audit_allow = AUDIT_ALLOW_AGGREGATED };
        WorkloadConfig wc = {};
        size_t n_labels = 0, n_cmd = 0;
        int c, r;

        optind = 0;
        /* "+": stop at the first non-option, so the command's own options stay its own. */
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case ARG_LOCAL:
                        break;
                case ARG_IMAGE:
                        cfg.image = optarg;
                        break;
                case ARG_POLICY:
                        policy_path = optarg;
                        break;
                case ARG_NAME:
                        if (!container_name_is_valid(optarg)) {
                                log_error("Invalid --name \"%s\": 1-63 of A-Z a-z 0-9 _ . -, starting with a letter "
                                          "or digit.", optarg);
                                return 1;
                        }
                        cfg.name = optarg;
                        break;
                case ARG_LABEL:
                        if (run_parse_label(optarg) < 0)
                                return 1;
                        if (strv_push(&labels, &n_labels, optarg) < 0)
                                return log_oom(), 1;
                        break;
                case ARG_PRIORITY:
                        if (run_parse_priority(optarg, &cfg.priority) < 0)
                                return 1;
                        break;
                case ARG_MEMORY:
                        if (run_parse_memory(optarg, &cfg.memory_bytes) < 0)
                                return 1;
                        break;
                case ARG_PIDS:
                        if (run_parse_pids(optarg, &cfg.pids) < 0)
                                return 1;
                        break;
                case ARG_CPUS:
                        if (run_parse_cpus(optarg, &cfg.cpu_millis) < 0)
                                return 1;
                        break;
                case ARG_NETWORK:
                        if (run_parse_network(optarg, &cfg.network) < 0)
                                return 1;
                        break;
                case ARG_NO_WAIT:
                        cfg.no_wait = true;
                        break;
                case ARG_HOSTNAME:
                        if (run_parse_hostname(optarg) < 0)
                                return 1;
                        cfg.hostname = optarg;
                        break;
                case ARG_USERNS: {
                        uint32_t base, count;
                        if (run_parse_userns(optarg, &base, &count) < 0)
                                return 1;
                        cfg.uid_base = base;
                        cfg.uid_count = count;
                        break;
                }
                case ARG_BUDGET:
                        cfg.budget_file = optarg;
                        break;
                case ARG_STOP_TIMEOUT:
                        if (run_parse_stop_timeout(optarg, &o.stop_timeout_usec) < 0)
                                return 1;
                        break;
                case ARG_QUIET:
                        o.print = RUN_PRINT_NONE;
                        break;
                case ARG_VERBOSE:
                        o.print = RUN_PRINT_ALL;
                        break;
                case ARG_JSON:
                        o.json = true;
                        break;
                case ARG_IDENTITY:
                        wc.identity = optarg;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        if (run_audit_option(c, optarg, &o) <= 0)
                                return 1;
                }

        if (!cfg.image) {
                log_error("run --local --image needs --image DIR[:TAG].");
                return 1;
        }
        if (!policy_path) {
                log_error("run needs --policy FILE: a workload is never run unmediated.");
                return 1;
        }
        for (int i = optind; i < argc; i++)
                if (strv_push(&command, &n_cmd, argv[i]) < 0)
                        return log_oom(), 1;
        cfg.labels = labels;
        cfg.command = command;

        if (cli_trust_launch_begin(&cfg, &trust) < 0)
                return 1;
        r = cli_trust_launch_load_policy(trust, policy_path, &wc.policy, &diag);
        if (r < 0) {
                for (size_t i = 0; i < diag.n_errors; i++)
                        log_error("%s:%u:%u: %s", strempty(diag.errors[i].file), diag.errors[i].line,
                                  diag.errors[i].column, diag.errors[i].message);
                if (diag.n_errors == 0)
                        log_error_errno(r, "Failed to load policy %s: %m", policy_path);
                return 1;
        }
        if (wc.identity && cli_trust_launch_set_identity(trust, wc.identity) < 0) {
                wc.policy = policy_free(wc.policy);
                return 1;
        }
        wc.image = &cfg;
        o.trust = cli_trust_launch_context(trust);
        return run_workload(&wc, &o);
}
