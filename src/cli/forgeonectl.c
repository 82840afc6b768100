/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * forgeonectl: the ForgeOne command line. Dispatches to one function per
 * verb (cli-*.c); each verb parses its own options and prints its own help.
 * The verbs forgeoned serves go to it when it answers (cli-bus.c), unless
 * --local is given; when it cannot be reached they run here, and say so.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli-bus.h"
#include "cli-verbs.h"
#include "forgeone/log.h"

typedef struct Verb {
        const char *name;
        int (*run)(int argc, char *argv[]);
        const char *summary;
} Verb;

static const Verb verbs[] = {
        { "policy", verb_policy, "check, compile, explain or draw a policy" },
        { "run", verb_run, "run a workload (a command or an OCI image) under a policy" },
        { "ps", verb_ps, "list workloads (forgeoned's, or --local containers)" },
        { "inspect", verb_inspect, "show one workload's or container's state, limits and history" },
        { "pause", verb_pause, "freeze a workload or container" },
        { "resume", verb_resume, "thaw a paused workload or container" },
        { "stop", verb_stop, "stop a workload or container (SIGTERM, then kill after a timeout)" },
        { "quarantine", verb_quarantine, "freeze a workload or container and mark it quarantined" },
        { "release", verb_release, "thaw a quarantined workload or container back to running" },
        { "reload", verb_reload, "make a policy forgeoned's active one (parsed and compiled first)" },
        { "daemon", verb_daemon, "forgeoned: status, active policy, re-execute, explain a decision" },
        { "rm", verb_rm, "remove exited containers (--force: stop them first)" },
        { "prune", verb_prune, "remove every exited container" },
        { "image", verb_image, "verify an image against the trust anchor, or sign one" },
        { "trust", verb_trust, "the TPM-backed trust anchor and the measurement log" },
        { "audit", verb_audit, "export and verify the audit records in the journal" },
        { "top", verb_top, "live syscall rates, denials and trust of the workloads (eBPF observer)" },
        { "observe", verb_observe, "one workload's syscalls as the eBPF observer counts them" },
};

static void help(void) {
        printf("Usage: forgeonectl [--help] [--version] [--local] [--bus-address ADDRESS] VERB [ARGS...]\n\n"
               "Mediate a workload's syscalls against a zero-trust policy.\n\n"
               "  --local                run here, without forgeoned (also an option of each verb)\n"
               "  --bus-address ADDRESS  reach forgeoned on this bus (default: the system bus)\n\n"
               "Verbs:\n");
        FOREACH_ELEMENT (v, verbs)
                printf("  %-12s %s\n", v->name, v->summary);
        printf("\nrun, ps, inspect, pause, resume, stop, quarantine, release, reload, daemon, top and observe\n"
               "go to forgeoned when it runs; with --local, or when it cannot be reached, they act here (run\n"
               "supervises in this process; top and observe read the observer's pinned maps). See\n"
               "'forgeonectl VERB --help' and forgeonectl(1), forgeoned(8), forgeone.policy(5),\n"
               "forgeone.image(7), forgeone.trust(7), forgeone.audit(7), forgeone.observer(7).\n");
}

/* Options before "--" (or the end): is --local among them? */
static int find_local(int argc, char *argv[]) {
        for (int i = 1; i < argc && !streq(argv[i], "--"); i++)
                if (streq(argv[i], "--local"))
                        return i;
        return -1;
}

static bool has_option(int argc, char *argv[], const char *name) {
        size_t n = strlen(name);

        for (int i = 1; i < argc && !streq(argv[i], "--"); i++)
                if (streq(argv[i], name) || (strncmp(argv[i], name, n) == 0 && argv[i][n] == '='))
                        return true;
        return false;
}

/* A verb the daemon serves, run here: run gets --local, the container verbs do not know it. */
static int run_local(const Verb *v, int argc, char *argv[]) {
        int at = find_local(argc, argv);
        _cleanup_free_ char **copy = calloc((size_t) argc + 2, sizeof(char *));
        int n = 0;

        if (!copy)
                return log_oom(), 1;
        for (int i = 0; i < argc; i++)
                if (i != at)
                        copy[n++] = argv[i];
        if (streq(v->name, "run")) {
                memmove(copy + 2, copy + 1, (size_t) (n - 1) * sizeof(char *));
                copy[1] = (char *) "--local";
                n++;
        }
        copy[n] = NULL;
        return v->run(n, copy);
}

static int dispatch(const Verb *v, int argc, char *argv[], bool local) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *why = NULL;
        int r;

        if (!cli_bus_serves(v->name))
                return v->run(argc, argv);
        local = local || find_local(argc, argv) >= 0;
        if (!local && streq(v->name, "run") && has_option(argc, argv, "--policy")) {
                log_notice("forgeonectl: --policy: running in this process (--local); forgeoned runs its workloads "
                           "under its active policy (forgeonectl reload FILE changes it).");
                local = true;
        }
        if (!local && streq(v->name, "run") && has_option(argc, argv, "--budget")) {
                log_notice("forgeonectl: --budget: running in this process (--local); forgeoned admits containers "
                           "against its own host budget.");
                local = true;
        }
        if (local)
                return run_local(v, argc, argv);
        if (argc > 1 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
                /* Help needs no daemon: the service's own verbs print theirs without one. */
                if (streq(v->name, "daemon") || streq(v->name, "reload"))
                        return cli_bus_verb(NULL, argc, argv);
                return run_local(v, argc, argv);
        }

        r = cli_bus_connect(&bus, &why);
        if (r < 0)
                return 1;
        if (r > 0)
                return cli_bus_verb(bus, argc, argv);
        if (streq(v->name, "reload") || streq(v->name, "daemon")) {
                log_error("forgeonectl %s needs forgeoned: %s.", v->name, strempty(why));
                return 1;
        }
        log_notice("forgeonectl: %s; running --local.", strempty(why));
        return run_local(v, argc, argv);
}

int main(int argc, char *argv[]) {
        bool local = false;

        log_set_program("forgeonectl");

        /* Options before the verb. */
        while (argc >= 2 && argv[1][0] == '-') {
                if (streq(argv[1], "--help") || streq(argv[1], "-h")) {
                        help();
                        return 0;
                }
                if (streq(argv[1], "--version")) {
                        printf("forgeonectl %s\n", PACKAGE_VERSION);
                        return 0;
                }
                if (streq(argv[1], "--local"))
                        local = true;
                else if (strncmp(argv[1], "--bus-address=", 14) == 0)
                        cli_bus_set_address(argv[1] + 14);
                else if (streq(argv[1], "--bus-address") && argc >= 3) {
                        cli_bus_set_address(argv[2]);
                        argc--;
                        argv++;
                } else {
                        log_error("Unknown option '%s'; see 'forgeonectl --help'.", argv[1]);
                        return 1;
                }
                argc--;
                argv++;
        }
        if (argc < 2) {
                help();
                return 1;
        }
        if (streq(argv[1], "help")) {
                help();
                return 0;
        }

        FOREACH_ELEMENT (v, verbs)
                if (streq(v->name, argv[1]))
                        return dispatch(v, argc - 1, argv + 1, local);

        log_error("Unknown verb '%s'; see 'forgeonectl --help'.", argv[1]);
        return 1;
}
