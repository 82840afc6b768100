/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * forgeonectl: the ForgeOne command line. Dispatches to one function per
 * verb (cli-*.c); each verb parses its own options and prints its own help.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

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
        { "ps", verb_ps, "list containers" },
        { "inspect", verb_inspect, "show one container's state, limits and history" },
        { "pause", verb_pause, "freeze a container" },
        { "resume", verb_resume, "thaw a paused container" },
        { "stop", verb_stop, "stop a container (SIGTERM, then kill after a timeout)" },
        { "quarantine", verb_quarantine, "freeze a container and mark it quarantined" },
        { "release", verb_release, "thaw a quarantined container back to running" },
        { "rm", verb_rm, "remove exited containers (--force: stop them first)" },
        { "prune", verb_prune, "remove every exited container" },
        { "image", verb_image, "verify an image against the trust anchor, or sign one" },
        { "trust", verb_trust, "the TPM-backed trust anchor and the measurement log" },
        { "audit", verb_audit, "export and verify the audit records in the journal" },
};

static void help(void) {
        printf("Usage: forgeonectl [--help] [--version] VERB [ARGS...]\n\n"
               "Mediate a workload's syscalls against a zero-trust policy.\n\n"
               "Verbs:\n");
        FOREACH_ELEMENT (v, verbs)
                printf("  %-12s %s\n", v->name, v->summary);
        printf("\nSee 'forgeonectl VERB --help' and forgeonectl(1), forgeone.policy(5), forgeone.image(7),\n"
               "forgeone.trust(7), forgeone.audit(7).\n");
}

int main(int argc, char *argv[]) {
        log_set_program("forgeonectl");

        if (argc < 2) {
                help();
                return 1;
        }
        if (streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
                help();
                return 0;
        }
        if (streq(argv[1], "--version")) {
                printf("forgeonectl %s\n", PACKAGE_VERSION);
                return 0;
        }

        FOREACH_ELEMENT (v, verbs)
                if (streq(v->name, argv[1]))
                        return v->run(argc - 1, argv + 1);

        log_error("Unknown verb '%s'; see 'forgeonectl --help'.", argv[1]);
        return 1;
}
