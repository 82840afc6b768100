/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The policy graph as JSON for scripts: the same nodes and edges that
 * policy_to_dot() draws (identities -> rules -> resources, plus the default
 * verdict), with stable node ids ("identity:*", "identity:N", "rule:N",
 * "resource:N", "default") and each node's facts as fields.
 */

#include <json-c/json.h>

#include "forgeone/policy.h"

/* identity: an index, POLICY_IDENTITY_ANY or POLICY_COMPILE_ALL_IDENTITIES.
 * -EINVAL for another identity, -ENOMEM. */
int policy_to_json_graph(const Policy *p, int identity, json_object **ret);
