/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * forgeonectl policy check|compile|explain|graph: the policy author's tools.
 * Each prints for people by default and JSON with --json (stable field
 * names, one document on stdout). Exit status: 0 success, 1 failure (an
 * invalid policy, a bad argument).
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <json-c/json.h>
#include <linux/audit.h>
#include <netinet/in.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "cli-verbs.h"
#include "forgeone/arch-table.h"
#include "forgeone/log.h"
#include "forgeone/policy-compile.h"
#include "forgeone/policy-constants.h"
#include "forgeone/policy-dot.h"
#include "forgeone/policy-graph-json.h"
#include "forgeone/policy-graph.h"
#include "forgeone/policy.h"
#include "forgeone/syscall-table.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);
#define _cleanup_json_ _cleanup_(json_object_putp)

static void json_print(json_object *o) {
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static json_object *json_diagnostics(const PolicyDiagnostics *d) {
        json_object *a = json_object_new_array();

        for (size_t i = 0; i < d->n_errors; i++) {
                const PolicyError *e = &d->errors[i];
                json_object *o = json_object_new_object();

                json_object_object_add(o, "file", json_object_new_string(strempty(e->file)));
                json_object_object_add(o, "line", json_object_new_int((int) e->line));
                json_object_object_add(o, "column", json_object_new_int((int) e->column));
                json_object_object_add(o, "message", json_object_new_string(strempty(e->message)));
                json_object_array_add(a, o);
        }
        return a;
}

static void print_diagnostics(const PolicyDiagnostics *d) {
        for (size_t i = 0; i < d->n_errors; i++) {
                const PolicyError *e = &d->errors[i];

                if (e->line > 0)
                        fprintf(stderr, "%s:%u:%u: %s\n", strempty(e->file), e->line, e->column, e->message);
                else
                        fprintf(stderr, "%s: %s\n", strempty(e->file), e->message);
        }
}

/* Loads a policy, printing its diagnostics (or, with json, leaving them to the caller). */
static int load_policy(const char *path, bool json, Policy **ret) {
        _cleanup_(policy_diagnostics_done) PolicyDiagnostics diag = {};
        int r;

        r = policy_load_file(path, ret, &diag, NULL);
        if (r < 0) {
                if (json) {
                        _cleanup_json_ json_object *o = json_object_new_object();

                        json_object_object_add(o, "file", json_object_new_string(path));
                        json_object_object_add(o, "valid", json_object_new_boolean(false));
                        json_object_object_add(o, "errors", json_diagnostics(&diag));
                        json_print(o);
                } else if (diag.n_errors > 0)
                        print_diagnostics(&diag);
                else
                        log_error_errno(r, "Failed to load policy %s: %m", path);
                return r;
        }
        return 0;
}

/* --identity NAME: "*" is the anonymous identity. */
static int parse_identity(const Policy *p, const char *name, int *ret) {
        int r;

        r = policy_identity_by_name(p, name);
        if (r == -ENOENT) {
                log_error("Policy %s has no identity '%s'.", p->path, name);
                if (p->n_identities > 0) {
                        fprintf(stderr, "Identities:");
                        for (size_t i = 0; i < p->n_identities; i++)
                                fprintf(stderr, " %s", p->identities[i].name);
                        fprintf(stderr, " *\n");
                }
                return r;
        }
        if (r < 0 && r != POLICY_IDENTITY_ANY)
                return log_error_errno(r, "Invalid identity '%s': %m", name);
        *ret = r;
        return 0;
}

static const char *identity_name(const Policy *p, int identity) {
        if (identity >= 0 && (size_t) identity < p->n_identities)
                return p->identities[identity].name;
        if (identity == POLICY_COMPILE_ALL_IDENTITIES)
                return "(all)";
        return "*";
}

typedef struct PolicyArgs {
        bool json;
        const char *identity;
        const char *syscall;
        const char *path;
        const char *access;
        const char *addr;
        const char *arch;
        const char *svg;
        int trust;
        bool trust_set;
        struct {
                unsigned index;
                char *value;
        } set_args[6];
        size_t n_set_args;
} PolicyArgs;

static void help_policy(void) {
        printf("Usage: forgeonectl policy check FILE [--json]\n"
               "       forgeonectl policy compile FILE [--identity NAME] [--json]\n"
               "       forgeonectl policy explain FILE --syscall NAME [--identity NAME] [--path PATH]\n"
               "                        [--access MODES] [--addr ADDR] [--arg N=VALUE]... [--trust N]\n"
               "                        [--arch ARCH] [--json]\n"
               "       forgeonectl policy graph FILE [--identity NAME] [--svg OUT] [--json]\n"
               "\n"
               "  check     validate FILE; every error gives file:line:column and the reason\n"
               "  compile   show which syscalls the kernel decides (allow, errno, kill) and which\n"
               "            go to the supervisor, and the size of the BPF program\n"
               "  explain   evaluate one syscall against the policy and name the deciding rule\n"
               "  graph     print the policy graph as Graphviz DOT (identities -> rules -> resources);\n"
               "            --svg OUT renders it with dot(1)\n"
               "\n"
               "Options:\n"
               "  --identity NAME   workload identity ('*' for a workload matching none)\n"
               "  --syscall NAME    syscall to explain\n"
               "  --path PATH       absolute path the call uses (as the workload sees it)\n"
               "  --access MODES    comma-separated: read,write,create,delete,exec,stat,attr\n"
               "                    (default: read for path syscalls)\n"
               "  --addr ADDR       socket address: 10.0.0.1:53/udp, [::1]:443/tcp, unix:/run/x.sock\n"
               "  --arg N=VALUE     integer argument N (0-5); VALUE may be a number or a constant\n"
               "                    like O_WRONLY|O_CREAT\n"
               "  --trust N         the workload's current trust score (default: its initial score)\n"
               "  --arch ARCH       architecture (default: native)\n"
               "  --json            print JSON\n"
               "  -h, --help        show this help\n");
}

static int parse_policy_args(int argc, char *argv[], PolicyArgs *a) {
        enum {
                ARG_JSON = 0x100,
                ARG_IDENTITY,
                ARG_SYSCALL,
                ARG_PATH,
                ARG_ACCESS,
                ARG_ADDR,
                ARG_ARG,
                ARG_TRUST,
                ARG_ARCH,
                ARG_SVG
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, ARG_JSON },
                { "identity", required_argument, NULL, ARG_IDENTITY },
                { "syscall", required_argument, NULL, ARG_SYSCALL },
                { "path", required_argument, NULL, ARG_PATH },
                { "access", required_argument, NULL, ARG_ACCESS },
                { "addr", required_argument, NULL, ARG_ADDR },
                { "arg", required_argument, NULL, ARG_ARG },
                { "trust", required_argument, NULL, ARG_TRUST },
                { "arch", required_argument, NULL, ARG_ARCH },
                { "svg", required_argument, NULL, ARG_SVG },
                {},
        };
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help_policy();
                        return 0;
                case ARG_JSON:
                        a->json = true;
                        break;
                case ARG_IDENTITY:
                        a->identity = optarg;
                        break;
                case ARG_SYSCALL:
                        a->syscall = optarg;
                        break;
                case ARG_PATH:
                        a->path = optarg;
                        break;
                case ARG_ACCESS:
                        a->access = optarg;
                        break;
                case ARG_ADDR:
                        a->addr = optarg;
                        break;
                case ARG_ARCH:
                        a->arch = optarg;
                        break;
                case ARG_SVG:
                        a->svg = optarg;
                        break;
                case ARG_TRUST: {
                        char *end;
                        long v;

                        errno = 0;
                        v = strtol(optarg, &end, 10);
                        if (errno != 0 || *end || end == optarg || v < 0 || v > 1000000) {
                                log_error("Invalid --trust '%s': expected a non-negative integer.", optarg);
                                return -EINVAL;
                        }
                        a->trust = (int) v;
                        a->trust_set = true;
                        break;
                }
                case ARG_ARG: {
                        char *eq = strchr(optarg, '=');
                        char *end;
                        unsigned long n;

                        errno = 0;
                        n = eq ? strtoul(optarg, &end, 10) : 0;
                        if (!eq || errno != 0 || end != eq || eq == optarg || n > 5) {
                                log_error("Invalid --arg '%s': expected N=VALUE with N from 0 to 5.",
                                          optarg);
                                return -EINVAL;
                        }
                        if (a->n_set_args >= ELEMENTSOF(a->set_args)) {
                                log_error("Too many --arg options (at most 6).");
                                return -EINVAL;
                        }
                        a->set_args[a->n_set_args].index = (unsigned) n;
                        a->set_args[a->n_set_args].value = eq + 1;
                        a->n_set_args++;
                        break;
                }
                case '?':
                        return -EINVAL;
                default:
                        abort();
                }
        return 1;
}

static int policy_check(const char *path, const PolicyArgs *a) {
        _cleanup_(policy_freep) Policy *p = NULL;
        int r;

        r = load_policy(path, a->json, &p);
        if (r < 0)
                return 1;

        if (a->json) {
                _cleanup_json_ json_object *o = json_object_new_object();

                json_object_object_add(o, "file", json_object_new_string(path));
                json_object_object_add(o, "valid", json_object_new_boolean(true));
                json_object_object_add(o, "errors", json_object_new_array());
                json_object_object_add(o, "name", json_object_new_string(strempty(p->name)));
                json_object_object_add(o, "identities", json_object_new_int((int) p->n_identities));
                json_object_object_add(o, "resources", json_object_new_int((int) p->n_resources));
                json_object_object_add(o, "rules", json_object_new_int((int) p->n_rules));
                json_print(o);
        } else
                printf("%s: valid policy '%s': %zu identities, %zu resources, %zu rules\n", path,
                       strempty(p->name), p->n_identities, p->n_resources, p->n_rules);
        return 0;
}

static const char *arch_name(uint32_t audit_arch) {
        return arch_table_to_string(audit_arch) ?: "unknown";
}

static int policy_compile_verb(const char *path, const PolicyArgs *a) {
        _cleanup_(policy_freep) Policy *p = NULL;
        _cleanup_(policy_filter_freep) PolicyFilter *f = NULL;
        int identity = POLICY_COMPILE_ALL_IDENTITIES, r;
        size_t counts[_POLICY_KERNEL_ACTION_MAX] = {};

        r = load_policy(path, a->json, &p);
        if (r < 0)
                return 1;
        if (a->identity && parse_identity(p, a->identity, &identity) < 0)
                return 1;

        r = policy_compile(p, identity, &f);
        if (r < 0) {
                log_error_errno(r, "Failed to compile %s: %m", path);
                return 1;
        }

        for (size_t i = 0; i < f->n_syscalls; i++)
                counts[f->syscalls[i].action]++;

        if (a->json) {
                _cleanup_json_ json_object *o = json_object_new_object();
                json_object *arr = json_object_new_array(), *arches = json_object_new_array();

                json_object_object_add(o, "file", json_object_new_string(path));
                json_object_object_add(o, "identity", json_object_new_string(identity_name(p, identity)));
                for (size_t i = 0; i < f->n_arches; i++)
                        json_object_array_add(arches, json_object_new_string(arch_name(f->arches[i])));
                json_object_object_add(o, "architectures", arches);
                json_object_object_add(o, "bpf_instructions", json_object_new_int64((int64_t) f->n_insns));
                json_object_object_add(
                        o, "bpf_bytes",
                        json_object_new_int64((int64_t) (f->n_insns * sizeof(struct sock_filter))));
                json_object_object_add(
                        o, "default_action",
                        json_object_new_string(policy_kernel_action_to_string(f->default_action)));
                if (f->default_action == POLICY_KERNEL_ERRNO)
                        json_object_object_add(
                                o, "default_errno",
                                json_object_new_string(policy_errno_to_string(f->default_errno)));
                for (size_t i = 0; i < f->n_syscalls; i++) {
                        const PolicyCompiledSyscall *s = &f->syscalls[i];
                        json_object *e = json_object_new_object();

                        json_object_object_add(e, "syscall", json_object_new_string(s->name));
                        json_object_object_add(e, "nr", json_object_new_int(s->nr));
                        json_object_object_add(e, "decided_in",
                                               json_object_new_string(s->action == POLICY_KERNEL_NOTIFY
                                                                              ? "supervisor"
                                                                              : "kernel"));
                        json_object_object_add(
                                e, "action",
                                json_object_new_string(policy_kernel_action_to_string(s->action)));
                        if (s->action == POLICY_KERNEL_ERRNO)
                                json_object_object_add(
                                        e, "errno",
                                        json_object_new_string(policy_errno_to_string(s->errno_value)));
                        json_object_object_add(e, "conditional", json_object_new_boolean(s->conditional));
                        if (s->rule_id)
                                json_object_object_add(e, "rule", json_object_new_string(s->rule_id));
                        if (s->why)
                                json_object_object_add(e, "why", json_object_new_string(s->why));
                        json_object_array_add(arr, e);
                }
                json_object_object_add(o, "syscalls", arr);
                json_print(o);
                return 0;
        }

        printf("Policy %s, identity %s, architectures:", path, identity_name(p, identity));
        for (size_t i = 0; i < f->n_arches; i++)
                printf(" %s", arch_name(f->arches[i]));
        printf(" (others killed)\n\n");
        printf("%-24s %-10s %-10s %-8s %-24s %s\n", "SYSCALL", "DECIDED", "ACTION", "ERRNO", "RULE", "WHY");
        for (size_t i = 0; i < f->n_syscalls; i++) {
                const PolicyCompiledSyscall *s = &f->syscalls[i];

                printf("%-24s %-10s %-10s %-8s %-24s %s\n", s->name,
                       s->action == POLICY_KERNEL_NOTIFY ? "supervisor" : "kernel",
                       policy_kernel_action_to_string(s->action),
                       s->action == POLICY_KERNEL_ERRNO ? policy_errno_to_string(s->errno_value) : "-",
                       strempty(s->rule_id), s->conditional ? "argument conditions" : strempty(s->why));
        }
        printf("\nAny other syscall: %s", policy_kernel_action_to_string(f->default_action));
        if (f->default_action == POLICY_KERNEL_ERRNO)
                printf(" (%s)", policy_errno_to_string(f->default_errno));
        printf(" in kernel.\n");
        printf("Kernel decides %zu syscalls (%zu allow, %zu errno, %zu kill); the supervisor decides %zu.\n",
               counts[POLICY_KERNEL_ALLOW] + counts[POLICY_KERNEL_ERRNO] + counts[POLICY_KERNEL_KILL],
               counts[POLICY_KERNEL_ALLOW], counts[POLICY_KERNEL_ERRNO], counts[POLICY_KERNEL_KILL],
               counts[POLICY_KERNEL_NOTIFY]);
        printf("BPF program: %zu instructions, %zu bytes.\n", f->n_insns,
               f->n_insns * sizeof(struct sock_filter));
        return 0;
}

/* "10.0.0.1:53/udp", "[::1]:443/tcp", "10.0.0.1/udp" (port 0), "unix:/run/x.sock", "unix:@abstract". */
static int parse_addr(const char *s, PolicySockaddr *ret, char **ret_unix) {
        _cleanup_free_ char *copy = strdup(s);
        PolicySockaddr a = { .protocol = 0 };
        char *host, *port = NULL, *proto;

        if (!copy)
                return -ENOMEM;

        if (strncmp(s, "unix:", 5) == 0) {
                char *u = strdup(s + 5);
                if (!u)
                        return -ENOMEM;
                if (!*u) {
                        free(u);
                        return -EINVAL;
                }
                a.family = AF_UNIX;
                *ret_unix = u;
                a.unix_path = u;
                *ret = a;
                return 0;
        }

        proto = strrchr(copy, '/');
        if (proto) {
                *proto++ = 0;
                if (streq(proto, "tcp"))
                        a.protocol = IPPROTO_TCP;
                else if (streq(proto, "udp"))
                        a.protocol = IPPROTO_UDP;
                else
                        return -EINVAL;
        }

        host = copy;
        if (*host == '[') {
                char *close_bracket = strchr(host, ']');
                if (!close_bracket)
                        return -EINVAL;
                *close_bracket = 0;
                host++;
                if (close_bracket[1] == ':')
                        port = close_bracket + 2;
                else if (close_bracket[1] != 0)
                        return -EINVAL;
        } else {
                char *colon = strrchr(host, ':');
                if (colon && strchr(host, ':') == colon) {
                        *colon = 0;
                        port = colon + 1;
                }
        }

        if (inet_pton(AF_INET, host, a.addr) == 1)
                a.family = AF_INET;
        else if (inet_pton(AF_INET6, host, a.addr) == 1)
                a.family = AF_INET6;
        else
                return -EINVAL;

        if (port) {
                char *end;
                unsigned long v;

                errno = 0;
                v = strtoul(port, &end, 10);
                if (errno != 0 || *end || end == port || v > 65535)
                        return -EINVAL;
                a.port = (uint16_t) v;
        }

        *ret = a;
        return 0;
}

static int parse_access_list(const char *s, unsigned *ret) {
        _cleanup_free_ char *copy = strdup(s);
        unsigned mask = 0;
        char *saveptr = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *w = strtok_r(copy, ",", &saveptr); w; w = strtok_r(NULL, ",", &saveptr)) {
                int bit = policy_access_from_string(w);
                if (bit < 0)
                        return -EINVAL;
                mask |= (unsigned) bit;
        }
        if (mask == 0)
                return -EINVAL;
        *ret = mask;
        return 0;
}

static int policy_explain(const char *path, const PolicyArgs *a) {
        _cleanup_(policy_graph_unrefp) PolicyGraph *g = NULL;
        _cleanup_(policy_filter_freep) PolicyFilter *f = NULL;
        _cleanup_free_ char *unix_path = NULL;
        Policy *p = NULL;
        PolicySockaddr addr = {};
        PolicyQuery q = { .identity = POLICY_IDENTITY_ANY };
        PolicyDecision d = {};
        const PolicyCompiledSyscall *compiled = NULL;
        const char *decided_in;
        char explanation[1024], accessbuf[128];
        int r;

        if (!a->syscall) {
                log_error("policy explain needs --syscall NAME.");
                return 1;
        }

        r = load_policy(path, a->json, &p);
        if (r < 0)
                return 1;
        r = policy_graph_new(p, &g);
        if (r < 0) {
                policy_free(p);
                log_error_errno(r, "Failed to build the policy graph of %s: %m", path);
                return 1;
        }

        if (a->identity && parse_identity(p, a->identity, &q.identity) < 0)
                return 1;

        if (a->arch) {
                uint32_t token = seccomp_arch_resolve_name(a->arch);
                if (token == 0) {
                        log_error("Unknown architecture '%s'.", a->arch);
                        return 1;
                }
                q.arch = token; /* libseccomp's arch tokens are the AUDIT_ARCH values */
        } else
                q.arch = seccomp_arch_native();

        q.nr = syscall_resolve_arch(a->syscall, q.arch);
        if (q.nr < 0) {
                const char *hint = syscall_suggest(a->syscall);

                if (hint)
                        log_error("Unknown syscall '%s' on %s (did you mean '%s'?).", a->syscall,
                                  arch_name(q.arch), hint);
                else
                        log_error("Unknown syscall '%s' on %s.", a->syscall, arch_name(q.arch));
                return 1;
        }

        q.trust = a->trust_set ? a->trust : policy_identity_trust(p, q.identity);

        for (size_t i = 0; i < a->n_set_args; i++) {
                uint64_t v;

                r = policy_constant_parse(a->set_args[i].value, &v, NULL);
                if (r < 0) {
                        log_error("Invalid value '%s' for --arg %u: expected a number or a constant such as "
                                  "O_WRONLY|O_CREAT.",
                                  a->set_args[i].value, a->set_args[i].index);
                        return 1;
                }
                q.args[a->set_args[i].index] = v;
        }

        if (a->path) {
                if (a->path[0] != '/') {
                        log_error("--path must be absolute (as the workload sees it): '%s'.", a->path);
                        return 1;
                }
                q.path = a->path;
                if (!syscall_has_path(a->syscall))
                        log_warning("Syscall '%s' takes no path; --path is ignored by its rules.",
                                    a->syscall);
        }
        if (a->access) {
                if (parse_access_list(a->access, &q.access) < 0) {
                        log_error("Invalid --access '%s': expected a comma-separated list of read, write, "
                                  "create, delete, exec, stat, attr.",
                                  a->access);
                        return 1;
                }
        } else if (q.path) {
                const SyscallInfo *info = syscall_info_lookup(a->syscall);
                bool has_flags = false;

                q.access = info && info->access ? info->access : POLICY_ACCESS_READ;
                if (info)
                        for (size_t i = 0; i < 6; i++)
                                if (info->args[i] == SYSCALL_ARG_OPEN_FLAGS) {
                                        q.access = syscall_open_flags_to_access(q.args[i]);
                                        has_flags = true;
                                }
                if (!has_flags && q.access == 0)
                        q.access = POLICY_ACCESS_READ;
        }
        if (a->addr) {
                if (parse_addr(a->addr, &addr, &unix_path) < 0) {
                        log_error("Invalid --addr '%s': expected ADDRESS:PORT/PROTO (10.0.0.1:53/udp, "
                                  "[::1]:443/tcp) or unix:PATH.",
                                  a->addr);
                        return 1;
                }
                q.addr = &addr;
        }

        r = policy_graph_eval(g, &q, &d);
        if (r < 0) {
                log_error_errno(r, "Failed to evaluate %s: %m", a->syscall);
                return 1;
        }
        policy_decision_explain(g, &q, &d, explanation, sizeof explanation);

        /* Where the decision is made at run time: the kernel filter for this identity, or the supervisor. */
        r = policy_compile(p, q.identity, &f);
        if (r < 0) {
                log_error_errno(r, "Failed to compile %s: %m", path);
                return 1;
        }
        for (size_t i = 0; i < f->n_syscalls; i++)
                if (streq(f->syscalls[i].name, a->syscall))
                        compiled = &f->syscalls[i];
        if (d.reason == POLICY_REASON_BAD_ARCH)
                decided_in = "kernel";
        else if (compiled)
                decided_in = compiled->action == POLICY_KERNEL_NOTIFY ? "supervisor" : "kernel";
        else
                decided_in = f->default_action == POLICY_KERNEL_NOTIFY ? "supervisor" : "kernel";

        policy_access_to_string(q.access, accessbuf, sizeof accessbuf);

        if (a->json) {
                _cleanup_json_ json_object *o = json_object_new_object();

                json_object_object_add(o, "file", json_object_new_string(path));
                json_object_object_add(o, "identity", json_object_new_string(identity_name(p, q.identity)));
                json_object_object_add(o, "trust", json_object_new_int(q.trust));
                json_object_object_add(o, "arch", json_object_new_string(arch_name(q.arch)));
                json_object_object_add(o, "syscall", json_object_new_string(a->syscall));
                json_object_object_add(o, "nr", json_object_new_int(q.nr));
                if (q.path) {
                        json_object_object_add(o, "path", json_object_new_string(q.path));
                        json_object_object_add(o, "access", json_object_new_string(accessbuf));
                }
                if (a->addr)
                        json_object_object_add(o, "addr", json_object_new_string(a->addr));
                json_object_object_add(o, "verdict",
                                       json_object_new_string(policy_verdict_to_string(d.verdict)));
                if (d.verdict == POLICY_VERDICT_DENY || d.verdict == POLICY_VERDICT_QUARANTINE)
                        json_object_object_add(
                                o, "errno", json_object_new_string(policy_errno_to_string(d.errno_value)));
                json_object_object_add(o, "rule", json_object_new_string(strempty(d.rule_id)));
                json_object_object_add(o, "reason",
                                       json_object_new_string(policy_reason_to_string(d.reason)));
                if (d.resource)
                        json_object_object_add(o, "resource", json_object_new_string(d.resource->name));
                if (d.trust_blocked)
                        json_object_object_add(o, "trust_blocked_rule",
                                               json_object_new_string(d.trust_blocked->id));
                json_object_object_add(o, "used_memory", json_object_new_boolean(d.used_memory));
                json_object_object_add(o, "decided_in", json_object_new_string(decided_in));
                json_object_object_add(o, "explanation", json_object_new_string(explanation));
                json_print(o);
        } else {
                printf("%s\n", explanation);
                printf("identity %s, trust %d, decided in the %s\n", identity_name(p, q.identity), q.trust,
                       decided_in);
        }
        return 0;
}

static int policy_graph_verb(const char *path, const PolicyArgs *a) {
        _cleanup_(policy_freep) Policy *p = NULL;
        int identity = POLICY_COMPILE_ALL_IDENTITIES, r;

        r = load_policy(path, a->json, &p);
        if (r < 0)
                return 1;
        if (a->identity && parse_identity(p, a->identity, &identity) < 0)
                return 1;

        if (a->json) {
                _cleanup_json_ json_object *o = NULL;

                r = policy_to_json_graph(p, identity, &o);
                if (r < 0) {
                        log_error_errno(r, "Failed to build the graph of %s: %m", path);
                        return 1;
                }
                json_print(o);
                return 0;
        }

        if (a->svg) {
                _cleanup_free_ char *dot_text = NULL;
                size_t dot_size = 0;
                FILE *mem = open_memstream(&dot_text, &dot_size);
                FILE *pipe;
                int status;
                char cmd[4096];

                if (!mem)
                        return log_oom(), 1;
                r = policy_to_dot(p, identity, mem);
                fclose(mem);
                if (r < 0) {
                        log_error_errno(r, "Failed to draw %s: %m", path);
                        return 1;
                }
                if (system("command -v dot >/dev/null 2>&1") != 0) {
                        log_error("Graphviz 'dot' is not installed (apt-get install graphviz); "
                                  "without --svg the DOT text is printed instead.");
                        return 1;
                }
                if (strchr(a->svg, '\'')) {
                        log_error("Refusing an output path containing a quote: %s", a->svg);
                        return 1;
                }
                snprintf(cmd, sizeof cmd, "dot -Tsvg -o '%s'", a->svg);
                pipe = popen(cmd, "w");
                if (!pipe) {
                        log_error_errno(negative_errno(), "Failed to run dot: %m");
                        return 1;
                }
                fwrite(dot_text, 1, dot_size, pipe);
                status = pclose(pipe);
                if (status != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                        log_error("dot failed to render %s.", a->svg);
                        return 1;
                }
                printf("Wrote %s\n", a->svg);
                return 0;
        }

        r = policy_to_dot(p, identity, stdout);
        if (r < 0) {
                log_error_errno(r, "Failed to draw %s: %m", path);
                return 1;
        }
        return 0;
}

int verb_policy(int argc, char *argv[]) {
        PolicyArgs a = {};
        const char *sub, *file;
        int r;

        if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
                help_policy();
                return argc < 2 ? 1 : 0;
        }
        sub = argv[1];

        r = parse_policy_args(argc - 1, argv + 1, &a);
        if (r <= 0)
                return r < 0 ? 1 : 0;

        if (optind + 1 != argc - 1) {
                log_error("policy %s needs exactly one FILE; see 'forgeonectl policy --help'.", sub);
                return 1;
        }
        file = argv[1 + optind];

        if (streq(sub, "check"))
                return policy_check(file, &a);
        if (streq(sub, "compile"))
                return policy_compile_verb(file, &a);
        if (streq(sub, "explain"))
                return policy_explain(file, &a);
        if (streq(sub, "graph"))
                return policy_graph_verb(file, &a);

        log_error("Unknown policy command '%s'; expected check, compile, explain or graph.", sub);
        return 1;
}
