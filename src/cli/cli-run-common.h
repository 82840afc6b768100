/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What both forms of "forgeonectl run --local" share (cli-run-common.c):
 * printing decisions from the event sink on a thread of its own, so a slow
 * terminal never stalls the supervisor, and the owner's loop around one
 * workload (its end, its owner events, the signals sent to forgeonectl),
 * and the journald audit (audit.h) registered on the same sink.
 */

#include <stdbool.h>
#include <stdint.h>

#include "forgeone/audit.h"
#include "forgeone/event-sink.h"
#include "forgeone/trust.h"
#include "forgeone/workload.h"

typedef enum RunPrint {
        RUN_PRINT_ALL,     /* every decision */
        RUN_PRINT_DENIALS, /* denials and quarantines */
        RUN_PRINT_NONE,
} RunPrint;

typedef struct RunOptions {
        RunPrint print;
        bool json;
        uint64_t stop_timeout_usec; /* images: SIGTERM, then SIGKILL after this, on Ctrl-C/SIGTERM */
        const char *state_dir;      /* images: where the container records are */
        bool no_audit;              /* --no-audit: no journald records */
        AuditAllowMode audit_allow; /* --audit-allow */
        TrustContext *trust;        /* images: its TPM anchors the audit's checkpoints; NULL: none */
        bool observer;              /* --observer: the eBPF observer watches it (off by default: its
                                     * tracepoints cost every process of the host, forgeone.observer(7)) */
} RunOptions;

/* The audit options both forms take (getopt codes of their own). */
enum {
        ARG_RUN_NO_AUDIT = 0x200,
        ARG_RUN_AUDIT_ALLOW,
        ARG_RUN_NO_OBSERVER,
        ARG_RUN_OBSERVER,
};
/* clang-format off */
#define RUN_AUDIT_OPTIONS                                                                                   \
        { "no-audit", no_argument, NULL, ARG_RUN_NO_AUDIT },                                                \
        { "audit-allow", required_argument, NULL, ARG_RUN_AUDIT_ALLOW },                                    \
        { "no-observer", no_argument, NULL, ARG_RUN_NO_OBSERVER },                                          \
        { "observer", no_argument, NULL, ARG_RUN_OBSERVER }
/* clang-format on */
#define RUN_AUDIT_HELP                                                                                      \
        "  --audit-allow MODE     allowed calls in the journal: all, sampled, aggregated\n"                 \
        "                         (default; exact counts per interval); see forgeone.audit(7)\n"            \
        "  --no-audit             write no audit records to the journal\n"                                 \
        "  --observer             watch the workload with the eBPF observer (forgeone.observer(7));\n"     \
        "                         off by default (--no-observer): it slows every process of the host\n"

/* Handles an audit or observer option: 1 when c was one (o updated), 0 when not, -EINVAL (logged) for a bad
 * value. */
int run_audit_option(int c, const char *arg, RunOptions *o);

/* The container options of run --image, as forgeonectl runs them itself and as it passes them to forgeoned:
 * each validates arg the same way for both, says what is wrong on stderr and returns -EINVAL then. */
int run_parse_label(const char *arg);
int run_parse_priority(const char *arg, SchedulerPriority *ret);
int run_parse_memory(const char *arg, uint64_t *ret);
int run_parse_pids(const char *arg, uint64_t *ret);
int run_parse_cpus(const char *arg, uint64_t *ret_millis);
int run_parse_network(const char *arg, ContainerNetwork *ret);
int run_parse_hostname(const char *arg);
int run_parse_userns(const char *arg, uint32_t *ret_base, uint32_t *ret_count);
/* Seconds from 0 to 86400. */
int run_parse_stop_timeout(const char *arg, uint64_t *ret_usec);

/* Loads a policy, printing file:line:column errors. */
int run_load_policy(const char *path, Policy **ret);

/* Starts the workload of c (its sink is made here), supervises it until it ends and returns the exit
 * status forgeonectl exits with. */
int run_workload(WorkloadConfig *c, const RunOptions *o);
