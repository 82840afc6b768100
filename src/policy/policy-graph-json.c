/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

#include "forgeone/policy-compile.h"
#include "forgeone/policy-graph-json.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static bool rule_applies(const PolicyRule *r, int identity) {
        return identity == POLICY_COMPILE_ALL_IDENTITIES || r->identity == POLICY_IDENTITY_ANY ||
               r->identity == identity;
}

static json_object *strv_to_json(char **l) {
        json_object *a = json_object_new_array();

        for (char **i = l; i && *i; i++)
                json_object_array_add(a, json_object_new_string(*i));
        return a;
}

static json_object *access_to_json(unsigned mask) {
        json_object *a = json_object_new_array();

        for (unsigned bit = 0; policy_access_bit_to_string(bit); bit++)
                if (mask & (1u << bit))
                        json_object_array_add(a, json_object_new_string(policy_access_bit_to_string(bit)));
        return a;
}

static json_object *endpoint_to_json(const PolicyNetEndpoint *ep) {
        json_object *o = json_object_new_object();
        char addr[INET6_ADDRSTRLEN] = "";

        json_object_object_add(o, "family",
                               json_object_new_string(ep->family == AF_INET                   ? "inet"
                                                      : ep->family == AF_INET6                ? "inet6"
                                                      : ep->family == POLICY_FAMILY_CONNECTED ? "connected"
                                                                                              : "unix"));
        if (ep->family == POLICY_FAMILY_CONNECTED)
                return o;
        if (ep->family == AF_UNIX) {
                json_object_object_add(o, "path", json_object_new_string(strempty(ep->unix_path)));
                return o;
        }
        inet_ntop(ep->family, ep->addr, addr, sizeof addr);
        json_object_object_add(o, "address", json_object_new_string(addr));
        json_object_object_add(o, "prefixlen", json_object_new_int((int) ep->prefixlen));
        json_object_object_add(o, "port_min", json_object_new_int(ep->port_min));
        json_object_object_add(o, "port_max", json_object_new_int(ep->port_max));
        json_object_object_add(o, "protocol",
                               json_object_new_string(ep->protocol == IPPROTO_TCP   ? "tcp"
                                                      : ep->protocol == IPPROTO_UDP ? "udp"
                                                                                    : "any"));
        return o;
}

static json_object *resource_to_json(const PolicyResource *res, size_t i) {
        json_object *o = json_object_new_object(), *a;
        char id[32];

        snprintf(id, sizeof id, "resource:%zu", i);
        json_object_object_add(o, "id", json_object_new_string(id));
        json_object_object_add(o, "kind", json_object_new_string("resource"));
        json_object_object_add(o, "name", json_object_new_string(res->name));
        json_object_object_add(o, "type", json_object_new_string(policy_resource_type_to_string(res->type)));
        switch (res->type) {
        case POLICY_RESOURCE_PATH:
                json_object_object_add(o, "paths", strv_to_json(res->paths));
                json_object_object_add(o, "access", access_to_json(res->access));
                break;
        case POLICY_RESOURCE_NETWORK:
                a = json_object_new_array();
                for (size_t j = 0; j < res->n_endpoints; j++)
                        json_object_array_add(a, endpoint_to_json(&res->endpoints[j]));
                json_object_object_add(o, "endpoints", a);
                break;
        case POLICY_RESOURCE_ARGS:
                a = json_object_new_array();
                for (size_t j = 0; j < res->n_args; j++) {
                        const PolicyArgCond *c = &res->args[j];
                        json_object *ao = json_object_new_object();

                        json_object_object_add(ao, "index", json_object_new_int((int) c->index));
                        json_object_object_add(ao, "op",
                                               json_object_new_string(policy_arg_op_to_string(c->op)));
                        if (c->op == POLICY_ARG_MASKED_EQ)
                                json_object_object_add(ao, "mask", json_object_new_uint64(c->mask));
                        json_object_object_add(ao, "value", json_object_new_uint64(c->value));
                        json_object_array_add(a, ao);
                }
                json_object_object_add(o, "args", a);
                break;
        default:
                break;
        }
        return o;
}

static void add_edge(json_object *edges, const char *from, const char *to, const char *kind) {
        json_object *e = json_object_new_object();

        json_object_object_add(e, "from", json_object_new_string(from));
        json_object_object_add(e, "to", json_object_new_string(to));
        json_object_object_add(e, "kind", json_object_new_string(kind));
        json_object_array_add(edges, e);
}

int policy_to_json_graph(const Policy *p, int identity, json_object **ret) {
        _cleanup_(json_object_putp) json_object *root = NULL;
        json_object *nodes, *edges, *o;
        bool *resource_used = NULL;
        char from[32], to[32];

        if (identity != POLICY_COMPILE_ALL_IDENTITIES && identity != POLICY_IDENTITY_ANY &&
            (identity < 0 || (size_t) identity >= p->n_identities))
                return -EINVAL;

        root = json_object_new_object();
        nodes = json_object_new_array();
        edges = json_object_new_array();
        if (!root || !nodes || !edges) {
                json_object_put(nodes);
                json_object_put(edges);
                return -ENOMEM;
        }
        json_object_object_add(root, "nodes", nodes);
        json_object_object_add(root, "edges", edges);
        json_object_object_add(root, "policy", json_object_new_string(strempty(p->name)));

        o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_string("identity:*"));
        json_object_object_add(o, "kind", json_object_new_string("identity"));
        json_object_object_add(o, "name", json_object_new_string("*"));
        json_object_array_add(nodes, o);

        for (size_t i = 0; i < p->n_identities; i++) {
                const PolicyIdentity *id = &p->identities[i];

                if (identity != POLICY_COMPILE_ALL_IDENTITIES && (int) i != identity)
                        continue;
                o = json_object_new_object();
                snprintf(from, sizeof from, "identity:%zu", i);
                json_object_object_add(o, "id", json_object_new_string(from));
                json_object_object_add(o, "kind", json_object_new_string("identity"));
                json_object_object_add(o, "name", json_object_new_string(id->name));
                if (id->match_name)
                        json_object_object_add(o, "match_name", json_object_new_string(id->match_name));
                if (id->match_digest)
                        json_object_object_add(o, "match_digest", json_object_new_string(id->match_digest));
                if (id->match_labels)
                        json_object_object_add(o, "match_labels", strv_to_json(id->match_labels));
                json_object_object_add(o, "trust", json_object_new_int(policy_identity_trust(p, (int) i)));
                json_object_array_add(nodes, o);
                add_edge(edges, from, "default", "default");
        }

        o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_string("default"));
        json_object_object_add(o, "kind", json_object_new_string("default"));
        json_object_object_add(o, "verdict",
                               json_object_new_string(policy_verdict_to_string(p->default_verdict)));
        json_object_object_add(o, "errno",
                               json_object_new_string(strempty(policy_errno_to_string(p->default_errno))));
        json_object_array_add(nodes, o);
        add_edge(edges, "identity:*", "default", "default");

        resource_used = calloc(p->n_resources + 1, sizeof(bool));
        if (!resource_used)
                return -ENOMEM;

        for (size_t i = 0; i < p->n_rules; i++) {
                const PolicyRule *r = &p->rules[i];

                if (!rule_applies(r, identity))
                        continue;
                o = json_object_new_object();
                snprintf(to, sizeof to, "rule:%zu", i);
                json_object_object_add(o, "id", json_object_new_string(to));
                json_object_object_add(o, "kind", json_object_new_string("rule"));
                json_object_object_add(o, "name", json_object_new_string(r->id));
                json_object_object_add(o, "verdict",
                                       json_object_new_string(policy_verdict_to_string(r->verdict)));
                if (r->verdict == POLICY_VERDICT_DENY || r->verdict == POLICY_VERDICT_QUARANTINE)
                        json_object_object_add(
                                o, "errno",
                                json_object_new_string(strempty(policy_errno_to_string(r->errno_value))));
                json_object_object_add(o, "syscalls", strv_to_json(r->syscalls));
                if (r->min_trust >= 0)
                        json_object_object_add(o, "min_trust", json_object_new_int(r->min_trust));
                json_object_object_add(o, "line", json_object_new_int((int) r->line));
                json_object_array_add(nodes, o);

                if (r->identity == POLICY_IDENTITY_ANY)
                        snprintf(from, sizeof from, "identity:*");
                else
                        snprintf(from, sizeof from, "identity:%d", r->identity);
                add_edge(edges, from, to, "subject");

                for (size_t j = 0; j < r->n_resources; j++) {
                        char res[32];

                        snprintf(res, sizeof res, "resource:%d", r->resources[j]);
                        add_edge(edges, to, res, "object");
                        resource_used[r->resources[j]] = true;
                }
        }

        for (size_t i = 0; i < p->n_resources; i++)
                if (resource_used[i])
                        json_object_array_add(nodes, resource_to_json(&p->resources[i], i));
        free(resource_used);

        *ret = TAKE_PTR(root);
        return 0;
}
