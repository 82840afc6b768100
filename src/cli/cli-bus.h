/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * forgeonectl's client of forgeoned (cli-bus.c): connect, and each verb
 * the daemon serves. forgeonectl.c calls cli_bus_verb() when the daemon
 * answers and --local was not given, else the local verbs (and says so).
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

/* --bus-address (else $FORGEONE_BUS_ADDRESS, else the system bus). */
void cli_bus_set_address(const char *address);
const char *cli_bus_get_address(void);

/* 1 and the connection when forgeoned answers (activating it where the bus can); 0 when it cannot be
 * reached, the reason in ret_why (free it); negative errno (logged) when it answers with an error. */
int cli_bus_connect(sd_bus **ret, char **ret_why);

/* Is this a verb the daemon serves? */
bool cli_bus_serves(const char *verb);
/* Runs verb (argv[0]) through the daemon; returns forgeonectl's exit status. */
int cli_bus_verb(sd_bus *bus, int argc, char *argv[]);

typedef struct CliBusRun {
        char **argv;            /* the command; for an image, replaces its entrypoint and cmd (may be empty) */
        const char *identity;
        const char *name;
        bool no_tty;
        bool quiet;
        uint64_t stop_timeout_usec; /* 0: forgeoned's */
        /* An OCI image (absolute DIR[:TAG]) and its options, or image NULL for a plain command. */
        const char *image;
        char **labels;
        const char *priority;
        const char *network;
        const char *hostname;
        uint64_t memory_bytes, pids, cpu_millis;
        uint32_t uid_base, uid_count;
} CliBusRun;

typedef struct CliBusExplain {
        const char *syscall, *workload, *identity, *path, *access;
        int trust;
} CliBusExplain;

int cli_bus_run(sd_bus *bus, const CliBusRun *o);
int cli_bus_ps(sd_bus *bus, bool json);
int cli_bus_inspect(sd_bus *bus, const char *id, bool json);
int cli_bus_control(sd_bus *bus, const char *verb, const char *id, const char *reason);
int cli_bus_reload(sd_bus *bus, const char *file);
int cli_bus_daemon_status(sd_bus *bus);
int cli_bus_daemon_policy(sd_bus *bus);
int cli_bus_daemon_reexec(sd_bus *bus);
int cli_bus_daemon_explain(sd_bus *bus, const CliBusExplain *q);

/* cli-observe.c: top and observe (argv[0]) through forgeoned, or from the pinned maps when bus is NULL. */
int cli_observe_verb(sd_bus *bus, int argc, char *argv[]);
