/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The policy as a Graphviz graph, for reviewers: identities -> rules ->
 * resources, each rule coloured by its verdict (allow green, emulate blue,
 * deny orange, quarantine red) and labelled with its id, its syscalls
 * (abbreviated when many) and its minimum trust, plus the default verdict.
 * The output is plain DOT that `dot -Tsvg` renders.
 */

#include <stdio.h>

#include "forgeone/policy.h"

/* identity: an index, POLICY_IDENTITY_ANY ("*" rules only) or
 * POLICY_COMPILE_ALL_IDENTITIES (from policy-compile.h: the whole policy).
 * -EINVAL for another identity, -EIO when writing fails. */
int policy_to_dot(const Policy *p, int identity, FILE *out);
