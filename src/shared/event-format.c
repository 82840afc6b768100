/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Decision records as a human line and as JSON: see event-format.h. */
#include <arpa/inet.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "forgeone/arch-table.h"
#include "forgeone/event-format.h"

const char *event_errno_name(int e, char buf[static 16]) {
        const char *n;

        if (e == 0)
                return "0";
        n = policy_errno_to_string(e);

        if (!n)
                n = strerrorname_np(e);
        if (!n) {
                snprintf(buf, 16, "%d", e);
                n = buf;
        }
        return n;
}

char *event_format_addr(const PolicySockaddr *a, char *buf, size_t size) {
        char ip[INET6_ADDRSTRLEN], esc[1024];
        const char *proto = a->protocol == IPPROTO_TCP ? "/tcp" : a->protocol == IPPROTO_UDP ? "/udp" : "";

        switch (a->family) {
        case AF_INET:
                inet_ntop(AF_INET, a->addr, ip, sizeof ip);
                snprintf(buf, size, "%s:%u%s", ip, a->port, proto);
                break;
        case AF_INET6:
                inet_ntop(AF_INET6, a->addr, ip, sizeof ip);
                snprintf(buf, size, "[%s]:%u%s", ip, a->port, proto);
                break;
        case AF_UNIX:
                snprintf(buf, size, "unix:%s", event_escape(a->unix_path ?: "", esc, sizeof esc));
                break;
        default:
                snprintf(buf, size, "family %d", a->family);
        }
        return buf;
}

static bool is_allow(const SupervisorEvent *ev) {
        return ev->action == SUPERVISOR_ACTION_CONTINUE || ev->action == SUPERVISOR_ACTION_EMULATE;
}

#define APPEND(...)                                                                                        \
        do {                                                                                               \
                if (n < size) {                                                                            \
                        int _k = snprintf(buf + n, size - n, __VA_ARGS__);                                 \
                        n += _k > 0 ? (size_t) _k : 0;                                                     \
                }                                                                                          \
        } while (0)

char *event_format_line(const SupervisorEvent *ev, char *buf, size_t size) {
        char q[4200], acc[128], addr[400], eb[16], nb[32];
        const char *verdict = ev->action == SUPERVISOR_ACTION_QUARANTINE ? "quarantine" : is_allow(ev) ? "allow" : "deny";
        const char *name = ev->syscall;
        size_t n = 0;

        if (size == 0)
                return buf;
        buf[0] = 0;
        if (!name) {
                snprintf(nb, sizeof nb, "syscall-%d", ev->nr);
                name = nb;
        }
        APPEND("%s %s", verdict, name);
        if (ev->path) {
                event_escape(ev->path, q, sizeof q);
                policy_access_to_string(ev->access, acc, sizeof acc);
                APPEND(" %s [%s]", q, acc);
        }
        if (ev->path2)
                APPEND(" %s", event_escape(ev->path2, q, sizeof q));
        if (ev->addr) {
                event_format_addr(ev->addr, addr, sizeof addr);
                APPEND(" %s", addr);
        }
        if (ev->error)
                APPEND(" -> %s", event_errno_name(ev->error, eb));
        else
                APPEND(" -> %s", ev->action == SUPERVISOR_ACTION_CONTINUE ? "continue" : "ok");
        APPEND(" (rule %s", strempty(ev->rule_id));
        if (ev->reason)
                APPEND(": %s", ev->reason);
        APPEND(")");
        return buf;
}

int event_format_json(const EventRecord *rec, char **ret) {
        const SupervisorEvent *ev = &rec->decision;
        json_object *o = json_object_new_object();
        char acc[128], addr[400], eb[16];
        const char *t;

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "workload", json_object_new_string(rec->workload));
        json_object_object_add(o, "seq", json_object_new_int64((int64_t) rec->seq));
        json_object_object_add(o, "time_usec", json_object_new_int64((int64_t) rec->realtime_usec));
        if (rec->type == EVENT_NOTICE) {
                json_object_object_add(o, "notice", json_object_new_string(strempty(rec->text)));
                goto done;
        }
        json_object_object_add(o, "pid", ev->pid > 0 ? json_object_new_int(ev->pid) : NULL);
        json_object_object_add(o, "tid", json_object_new_int(ev->tid));
        json_object_object_add(o, "arch", json_object_new_string(arch_table_to_string(ev->arch) ?: "unknown"));
        json_object_object_add(o, "nr", json_object_new_int(ev->nr));
        json_object_object_add(o, "syscall", ev->syscall ? json_object_new_string(ev->syscall) : NULL);
        json_object_object_add(o, "path", ev->path ? json_object_new_string(ev->path) : NULL);
        if (ev->path2)
                json_object_object_add(o, "path2", json_object_new_string(ev->path2));
        json_object_object_add(o, "access",
                               ev->path ? json_object_new_string(policy_access_to_string(ev->access, acc, sizeof acc))
                                        : NULL);
        if (ev->addr) {
                event_format_addr(ev->addr, addr, sizeof addr);
                json_object_object_add(o, "addr", json_object_new_string(addr));
        } else
                json_object_object_add(o, "addr", NULL);
        json_object_object_add(o, "verdict", json_object_new_string(policy_verdict_to_string(ev->verdict) ?: "unknown"));
        json_object_object_add(o, "action", json_object_new_string(supervisor_action_to_string(ev->action) ?: "unknown"));
        json_object_object_add(o, "errno", ev->error ? json_object_new_string(event_errno_name(ev->error, eb)) : NULL);
        json_object_object_add(o, "value", json_object_new_int64(ev->value));
        json_object_object_add(o, "rule", json_object_new_string(strempty(ev->rule_id)));
        json_object_object_add(o, "reason", ev->reason ? json_object_new_string(ev->reason) : NULL);
        json_object_object_add(o, "generation", json_object_new_int64((int64_t) ev->generation));
        json_object_object_add(o, "trust", json_object_new_int(ev->trust));
        json_object_object_add(o, "target_gone", json_object_new_boolean(ev->target_gone));
done:
        t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        *ret = t ? strdup(t) : NULL;
        json_object_put(o);
        return *ret ? 0 : -ENOMEM;
}
