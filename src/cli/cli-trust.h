/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the CLI's verbs share about trust (cli-trust-launch.c): measuring
 * forgeonectl and what it loads, and setting up the image verifier of a
 * launch. The functions log their failures; callers only return 1.
 */

#include "forgeone/container.h"
#include "forgeone/policy.h"
#include "forgeone/trust.h"

typedef struct CliTrustLaunch CliTrustLaunch;

/* Sets TSS2_LOG=all+none unless the user set it: our messages carry tpm2-tss's with context. */
void cli_trust_quiet_tss(void);

/* Measures forgeonectl itself, the trust configuration (when a file was read) and the anchor. */
int cli_trust_measure_self(TrustContext *ctx);

/* Reads the policy once, measures those bytes and parses them. Diagnostics as policy_load_file(). */
int cli_trust_load_policy(TrustContext *ctx, const char *path, Policy **ret, PolicyDiagnostics *diag);

/* Refuses (logging why) when the trust status forbids launches; measures as above. */
int cli_trust_launch_begin(ContainerConfig *cfg, CliTrustLaunch **ret);
/* cli_trust_load_policy(), then the verifier for this policy's identities goes into cfg->verify. */
int cli_trust_launch_load_policy(CliTrustLaunch *t, const char *path, Policy **ret, PolicyDiagnostics *diag);
/* The identity the workload runs as, when chosen explicitly (--identity): verified as that one. */
int cli_trust_launch_set_identity(CliTrustLaunch *t, const char *identity);
/* The trust context of the launch (its TPM anchors the audit too). */
TrustContext *cli_trust_launch_context(CliTrustLaunch *t);
CliTrustLaunch *cli_trust_launch_free(CliTrustLaunch *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(CliTrustLaunch *, cli_trust_launch_free);
