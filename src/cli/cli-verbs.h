/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The verbs of forgeonectl, one function each: argv[0] is the verb itself,
 * the return value is the process exit status (0 success, 1 failure, or the
 * workload's status for "run"). forgeonectl.c only dispatches.
 */

/* cli-policy.c */
int verb_policy(int argc, char *argv[]);

/* cli-run.c */
int verb_run(int argc, char *argv[]);

/* cli-container.c: container control from any shell */
int verb_ps(int argc, char *argv[]);
int verb_inspect(int argc, char *argv[]);
int verb_pause(int argc, char *argv[]);
int verb_resume(int argc, char *argv[]);
int verb_stop(int argc, char *argv[]);
int verb_quarantine(int argc, char *argv[]);
int verb_release(int argc, char *argv[]);
int verb_rm(int argc, char *argv[]);
int verb_prune(int argc, char *argv[]);

/* cli-trust.c: the trust anchor and the measurement log */
int verb_trust(int argc, char *argv[]);

/* cli-audit.c: the journal's audit records: export, verify, summary */
int verb_audit(int argc, char *argv[]);

/* cli-image.c: image signatures */
int verb_image(int argc, char *argv[]);

/* cli-observe.c: what the eBPF observer sees, from the pinned maps here (through forgeoned: cli-bus.c). */
int verb_top(int argc, char *argv[]);
int verb_observe(int argc, char *argv[]);

/* cli-bus.c serves these through forgeoned; without it they only say so. */
int verb_reload(int argc, char *argv[]);
int verb_daemon(int argc, char *argv[]);

/* cli-run-image.c: "run --local --image DIR[:TAG] ...": verb_run() hands the whole argv over (argv[0] is
 * "run") when --image is among the options. */
int verb_run_image(int argc, char *argv[]);
