/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "forgeone/policy-compile.h"
#include "forgeone/policy-dot.h"

#define SYSCALLS_SHOWN 4 /* more than this: the first few and "+N more" */
#define PATTERNS_SHOWN 6

static const struct {
        const char *fill, *line;
} verdict_colour[_POLICY_VERDICT_MAX] = {
        [POLICY_VERDICT_ALLOW] = { "#c8e6c9", "#2e7d32" },      /* green */
        [POLICY_VERDICT_EMULATE] = { "#bbdefb", "#1565c0" },    /* blue */
        [POLICY_VERDICT_DENY] = { "#ffe0b2", "#ef6c00" },       /* orange */
        [POLICY_VERDICT_QUARANTINE] = { "#ffcdd2", "#c62828" }, /* red */
};

/* A label under construction: DOT escString text, lines separated by "\n". */
typedef struct Label {
        char *text;
        size_t len, allocated;
        bool oom;
} Label;

static void label_raw(Label *l, const char *s, size_t n) {
        if (l->oom)
                return;
        if (l->len + n + 1 > l->allocated) {
                size_t size = MAX(l->allocated * 2, l->len + n + 64);
                char *t = realloc(l->text, size);

                if (!t) {
                        l->oom = true;
                        return;
                }
                l->text = t;
                l->allocated = size;
        }
        memcpy(l->text + l->len, s, n);
        l->len += n;
        l->text[l->len] = '\0';
}

/* Text from the policy: quotes and backslashes escaped, control characters never reach the file. */
static void label_text(Label *l, const char *s) {
        for (; s && *s; s++) {
                unsigned char c = (unsigned char) *s;

                if (c == '"' || c == '\\') {
                        char esc[2] = { '\\', (char) c };

                        label_raw(l, esc, 2);
                } else if (c < 0x20 || c == 0x7f)
                        label_raw(l, "?", 1);
                else
                        label_raw(l, (const char *) s, 1);
        }
}

_printf_(2, 3) static void label_printf(Label *l, const char *fmt, ...) {
        char buf[256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        label_text(l, buf);
}

static void label_newline(Label *l) {
        label_raw(l, "\\n", 2);
}

static void errno_text(Label *l, int e) {
        const char *name = policy_errno_to_string(e);

        if (name)
                label_printf(l, " (%s)", name);
        else
                label_printf(l, " (errno %d)", e);
}

static bool rule_shown(const PolicyRule *r, int identity) {
        return identity == POLICY_COMPILE_ALL_IDENTITIES || r->identity == POLICY_IDENTITY_ANY ||
               r->identity == identity;
}

static void identity_label(Label *l, const Policy *p, int i) {
        const PolicyIdentity *id = &p->identities[i];

        label_text(l, id->name);
        if (id->match_name) {
                label_newline(l);
                label_printf(l, "name %s", id->match_name);
        }
        if (id->match_digest) {
                label_newline(l);
                /* sha256:<64 hex> is unreadable in a box: the first 12 digits identify it. */
                label_printf(l, "digest %.19s...", id->match_digest);
        }
        for (char **lb = id->match_labels; lb && *lb; lb++) {
                label_newline(l);
                label_printf(l, "label %s", *lb);
        }
        label_newline(l);
        label_printf(l, "trust %d", id->trust_initial >= 0 ? id->trust_initial : p->trust.initial);
}

static void rule_label(Label *l, const PolicyRule *r) {
        size_t n = 0;

        for (char **s = r->syscalls; s && *s; s++)
                n++;
        label_text(l, r->id);
        label_newline(l);
        label_text(l, policy_verdict_to_string(r->verdict));
        if (r->verdict == POLICY_VERDICT_DENY || r->verdict == POLICY_VERDICT_QUARANTINE)
                errno_text(l, r->errno_value);
        label_newline(l);
        for (size_t i = 0; i < n && i < (n > SYSCALLS_SHOWN ? SYSCALLS_SHOWN - 1 : n); i++) {
                if (i > 0)
                        label_text(l, ", ");
                label_text(l, r->syscalls[i]);
        }
        if (n > SYSCALLS_SHOWN)
                label_printf(l, " +%zu more", n - (SYSCALLS_SHOWN - 1));
        if (r->min_trust >= 0) {
                label_newline(l);
                label_printf(l, "min_trust %d", r->min_trust);
        }
}

static void endpoint_text(Label *l, const PolicyNetEndpoint *ep) {
        char text[INET6_ADDRSTRLEN] = "";

        if (ep->family == AF_UNIX) {
                label_text(l, "unix:");
                label_text(l, ep->unix_path);
                return;
        }
        if (ep->family == POLICY_FAMILY_CONNECTED) {
                label_text(l, "the connected peer");
                return;
        }
        if (ep->prefixlen == 0)
                label_text(l, ep->family == AF_INET6 ? "any IPv6" : "any IPv4");
        else {
                inet_ntop(ep->family, ep->addr, text, sizeof text);
                label_printf(l, "%s/%u", text, ep->prefixlen);
        }
        if (ep->port_min == ep->port_max)
                label_printf(l, " port %u", ep->port_min);
        else if (ep->port_min != 0 || ep->port_max != UINT16_MAX)
                label_printf(l, " ports %u-%u", ep->port_min, ep->port_max);
        if (ep->protocol == IPPROTO_TCP)
                label_text(l, " tcp");
        else if (ep->protocol == IPPROTO_UDP)
                label_text(l, " udp");
}

static const char *arg_op_symbol(PolicyArgOp op) {
        static const char *const symbols[_POLICY_ARG_OP_MAX] = {
                [POLICY_ARG_EQ] = "==", [POLICY_ARG_NE] = "!=", [POLICY_ARG_LT] = "<",
                [POLICY_ARG_LE] = "<=", [POLICY_ARG_GT] = ">",  [POLICY_ARG_GE] = ">=",
        };

        return op >= 0 && op < _POLICY_ARG_OP_MAX && symbols[op] ? symbols[op] : "?";
}

static void resource_label(Label *l, const PolicyResource *res) {
        char access[128];
        size_t n = 0;

        label_text(l, res->name);
        label_printf(l, " (%s)", policy_resource_type_to_string(res->type));
        switch (res->type) {
        case POLICY_RESOURCE_PATH:
                for (char **pat = res->paths; pat && *pat; pat++, n++)
                        if (n < PATTERNS_SHOWN) {
                                label_newline(l);
                                label_text(l, *pat);
                        }
                if (n > PATTERNS_SHOWN) {
                        label_newline(l);
                        label_printf(l, "+%zu more", n - PATTERNS_SHOWN);
                }
                label_newline(l);
                label_printf(l, "[%s]", policy_access_to_string(res->access, access, sizeof access));
                break;
        case POLICY_RESOURCE_NETWORK:
                for (size_t i = 0; i < res->n_endpoints; i++)
                        if (i < PATTERNS_SHOWN) {
                                label_newline(l);
                                endpoint_text(l, &res->endpoints[i]);
                        }
                if (res->n_endpoints > PATTERNS_SHOWN) {
                        label_newline(l);
                        label_printf(l, "+%zu more", res->n_endpoints - PATTERNS_SHOWN);
                }
                break;
        case POLICY_RESOURCE_ARGS:
                for (size_t i = 0; i < res->n_args; i++) {
                        const PolicyArgCond *c = &res->args[i];

                        label_newline(l);
                        if (c->op == POLICY_ARG_MASKED_EQ)
                                label_printf(l, "arg%u & 0x%llx == 0x%llx", c->index,
                                             (unsigned long long) c->mask, (unsigned long long) c->value);
                        else
                                label_printf(l, "arg%u %s 0x%llx", c->index, arg_op_symbol(c->op),
                                             (unsigned long long) c->value);
                }
                break;
        default:
                break;
        }
}

/* tooltip: the element's description, shown when hovering over it in the SVG; NULL for none. */
static bool emit_node(FILE *out, const char *id, const char *attrs, Label *l, const char *tooltip) {
        Label t = {};
        bool oom;

        if (tooltip)
                label_text(&t, tooltip);
        oom = l->oom || t.oom;
        fprintf(out, "  \"%s\" [%s, label=\"%s\"", id, attrs, l->text ?: "");
        if (t.text)
                fprintf(out, ", tooltip=\"%s\"", t.text);
        fprintf(out, "];\n");
        free(l->text);
        free(t.text);
        *l = (Label) {};
        return !oom;
}

int policy_to_dot(const Policy *p, int identity, FILE *out) {
        _cleanup_free_ bool *resource_used = NULL;
        Label l = {};
        char id[64], attrs[256];
        bool oom = false;

        if (!p || !out)
                return -EINVAL;
        if (identity != POLICY_COMPILE_ALL_IDENTITIES && identity != POLICY_IDENTITY_ANY &&
            (identity < 0 || (size_t) identity >= p->n_identities))
                return -EINVAL;
        if (p->default_verdict < 0 || p->default_verdict >= _POLICY_VERDICT_MAX)
                return -EINVAL;
        for (size_t i = 0; i < p->n_rules; i++)
                if (p->rules[i].verdict < 0 || p->rules[i].verdict >= _POLICY_VERDICT_MAX)
                        return -EINVAL;

        resource_used = calloc(MAX(p->n_resources, (size_t) 1), sizeof(bool));
        if (!resource_used)
                return -ENOMEM;

        label_text(&l, p->name ?: p->path ?: "policy");
        label_newline(&l);
        label_text(&l, "default: ");
        label_text(&l, policy_verdict_to_string(p->default_verdict));
        if (p->default_verdict == POLICY_VERDICT_DENY || p->default_verdict == POLICY_VERDICT_QUARANTINE)
                errno_text(&l, p->default_errno);
        fprintf(out, "digraph policy {\n");
        fprintf(out, "  graph [rankdir=LR, labelloc=t, fontname=\"Helvetica\", label=\"%s\"];\n",
                l.text ?: "");
        fprintf(out, "  node [fontname=\"Helvetica\", fontsize=10];\n");
        fprintf(out, "  edge [color=\"#616161\", fontname=\"Helvetica\", fontsize=9];\n");
        oom = oom || l.oom;
        free(l.text);
        l = (Label) {};

        /* Subjects */
        label_text(&l, "*");
        label_newline(&l);
        label_text(&l, "any workload");
        oom = !emit_node(out, "identity:*", "shape=ellipse, style=filled, fillcolor=\"#eeeeee\"", &l,
                         "rules for every workload, and for workloads no identity matches") || oom;
        for (size_t i = 0; i < p->n_identities; i++) {
                if (identity != POLICY_COMPILE_ALL_IDENTITIES && (int) i != identity)
                        continue;
                identity_label(&l, p, (int) i);
                oom = oom || l.oom;
                snprintf(id, sizeof id, "identity:%zu", i);
                oom = !emit_node(out, id, "shape=ellipse, style=filled, fillcolor=\"#eeeeee\"", &l,
                                 p->identities[i].description) || oom;
        }

        /* The default catches what no rule matches, for every subject shown. */
        label_text(&l, "default");
        label_newline(&l);
        label_text(&l, policy_verdict_to_string(p->default_verdict));
        if (p->default_verdict == POLICY_VERDICT_DENY || p->default_verdict == POLICY_VERDICT_QUARANTINE)
                errno_text(&l, p->default_errno);
        oom = oom || l.oom;
        snprintf(attrs, sizeof attrs, "shape=octagon, style=filled, fillcolor=\"%s\", color=\"%s\"",
                 verdict_colour[p->default_verdict].fill, verdict_colour[p->default_verdict].line);
        oom = !emit_node(out, "default", attrs, &l, "what no rule matches") || oom;

        /* Edges: subject -> rule -> objects */
        for (size_t i = 0; i < p->n_rules; i++) {
                const PolicyRule *r = &p->rules[i];

                if (!rule_shown(r, identity))
                        continue;
                rule_label(&l, r);
                oom = oom || l.oom;
                snprintf(id, sizeof id, "rule:%zu", i);
                snprintf(attrs, sizeof attrs,
                         "shape=box, style=\"rounded,filled\", fillcolor=\"%s\", color=\"%s\"",
                         verdict_colour[r->verdict].fill, verdict_colour[r->verdict].line);
                oom = !emit_node(out, id, attrs, &l, r->description) || oom;

                if (r->identity == POLICY_IDENTITY_ANY)
                        fprintf(out, "  \"identity:*\" -> \"rule:%zu\";\n", i);
                else
                        fprintf(out, "  \"identity:%d\" -> \"rule:%zu\";\n", r->identity, i);
                for (size_t j = 0; j < r->n_resources; j++) {
                        if (r->resources[j] < 0 || (size_t) r->resources[j] >= p->n_resources)
                                return -EINVAL;
                        resource_used[r->resources[j]] = true;
                        fprintf(out, "  \"rule:%zu\" -> \"resource:%d\" [color=\"%s\"];\n", i,
                                r->resources[j], verdict_colour[r->verdict].line);
                }
        }

        for (size_t i = 0; i < p->n_resources; i++) {
                const PolicyResource *res = &p->resources[i];

                if (!resource_used[i])
                        continue;
                resource_label(&l, res);
                oom = oom || l.oom;
                snprintf(id, sizeof id, "resource:%zu", i);
                oom = !emit_node(out, id,
                                 res->type == POLICY_RESOURCE_PATH      ? "shape=folder"
                                 : res->type == POLICY_RESOURCE_NETWORK ? "shape=component"
                                                                        : "shape=note",
                                 &l, res->description) ||
                      oom;
        }

        fprintf(out, "  \"identity:*\" -> \"default\" [style=dashed, label=\"no rule matched\"];\n");
        for (size_t i = 0; i < p->n_identities; i++)
                if (identity == POLICY_COMPILE_ALL_IDENTITIES || (int) i == identity)
                        fprintf(out, "  \"identity:%zu\" -> \"default\" [style=dashed];\n", i);
        fprintf(out, "}\n");

        if (oom)
                return -ENOMEM;
        if (fflush(out) != 0 || ferror(out))
                return -EIO;
        return 0;
}
