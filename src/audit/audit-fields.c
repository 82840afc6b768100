/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Records, aggregates and notices as entry fields: what each audit record says (audit-internal.h). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "audit-internal.h"
#include "forgeone/event-format.h"
#include "forgeone/arch-table.h"
#include "forgeone/policy.h"
#include "forgeone/string-table.h"
#include "forgeone/syscall-table.h"

static const char *const audit_aggregate_reason_table[_AUDIT_AGGREGATE_REASON_MAX] = {
        [AUDIT_AGGREGATE_ALLOW_POLICY] = "allow-policy",
        [AUDIT_AGGREGATE_SAMPLED] = "sampled",
        [AUDIT_AGGREGATE_RATE_LIMIT] = "rate-limit",
        [AUDIT_AGGREGATE_QUEUE_FULL] = "queue-full",
        [AUDIT_AGGREGATE_KERNEL_FILTER] = "kernel-filter",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(audit_aggregate_reason, AuditAggregateReason)


char *audit_escape(const char *s) {
        size_t n = (s ? strlen(s) : 0) * 4 + 3;
        char *buf = malloc(n);

        if (!buf)
                return NULL;
        event_escape(s, buf, n);
        /* Drop the quotes: a field's value is the string itself. */
        n = strlen(buf);
        memmove(buf, buf + 1, n - 2);
        buf[n - 2] = 0;
        return buf;
}


/* Kernel values (the workload's ABI), composite flags first so their parts are not named twice. */
static const struct {
        const char *name;
        uint64_t bits;
} open_flags[] = {
        { "O_TMPFILE", 020200000 }, { "O_SYNC", 04010000 },     { "O_WRONLY", 01 },
        { "O_RDWR", 02 },           { "O_CREAT", 0100 },        { "O_EXCL", 0200 },
        { "O_NOCTTY", 0400 },       { "O_TRUNC", 01000 },       { "O_APPEND", 02000 },
        { "O_NONBLOCK", 04000 },    { "O_DSYNC", 010000 },      { "O_ASYNC", 020000 },
        { "O_DIRECT", 040000 },     { "O_LARGEFILE", 0100000 }, { "O_DIRECTORY", 0200000 },
        { "O_NOFOLLOW", 0400000 },  { "O_NOATIME", 01000000 },  { "O_CLOEXEC", 02000000 },
        { "O_PATH", 010000000 },
};

static int format_open_flags(uint64_t f, char *buf, size_t size) {
        size_t n = 0;
        int k;

        k = snprintf(buf, size, "%s", (f & 3) == 0 && !(f & 010000000) ? "O_RDONLY" : "");
        n = (size_t) k;
        FOREACH_ELEMENT (o, open_flags)
                if ((f & o->bits) == o->bits) {
                        k = snprintf(buf + n, n < size ? size - n : 0, "%s%s", n ? "|" : "", o->name);
                        n += (size_t) k;
                        f &= ~o->bits;
                }
        if (f)
                n += (size_t) snprintf(buf + n, n < size ? size - n : 0, "%s0x%" PRIx64, n ? "|" : "", f);
        return (int) n;
}

char *audit_format_args(const SupervisorEvent *ev, char *buf, size_t size) {
        const SyscallInfo *info = ev->syscall ? syscall_info_lookup(ev->syscall) : NULL;
        size_t n = 0;

        buf[0] = 0;
        for (int i = 0; i < 6; i++) {
                SyscallArg kind = info ? info->args[i] : SYSCALL_ARG_PTR;
                uint64_t v = ev->args[i];
                char tmp[4200], esc[4200];
                const char *path;

                if (info && kind == SYSCALL_ARG_NONE)
                        break;
                switch (kind) {
                case SYSCALL_ARG_FD:
                case SYSCALL_ARG_DIRFD:
                case SYSCALL_ARG_DIRFD2:
                        if ((int) v == AT_FDCWD)
                                snprintf(tmp, sizeof tmp, "AT_FDCWD");
                        else
                                snprintf(tmp, sizeof tmp, "%d", (int) v);
                        break;
                case SYSCALL_ARG_PATH:
                case SYSCALL_ARG_PATH2:
                        path = kind == SYSCALL_ARG_PATH ? ev->path : ev->path2;
                        if (path)
                                snprintf(tmp, sizeof tmp, "%s", event_escape(path, esc, sizeof esc));
                        else
                                snprintf(tmp, sizeof tmp, "0x%" PRIx64, v);
                        break;
                case SYSCALL_ARG_OPEN_FLAGS:
                        format_open_flags(v, tmp, sizeof tmp);
                        break;
                case SYSCALL_ARG_MODE:
                        snprintf(tmp, sizeof tmp, v & 07777 ? "0%" PRIo64 : "0", v & 07777);
                        break;
                case SYSCALL_ARG_SOCKADDR:
                        if (ev->addr)
                                event_format_addr(ev->addr, tmp, sizeof tmp);
                        else
                                snprintf(tmp, sizeof tmp, "0x%" PRIx64, v);
                        break;
                case SYSCALL_ARG_INT:
                case SYSCALL_ARG_SOCKLEN:
                        snprintf(tmp, sizeof tmp, "%" PRId64, (int64_t) v);
                        break;
                default:
                        snprintf(tmp, sizeof tmp, "0x%" PRIx64, v);
                }
                n += (size_t) snprintf(buf + n, n < size ? size - n : 0, "%s%s", i ? ", " : "", tmp);
        }
        return buf;
}

static int add_common_policy(AuditEntry *e, const char *workload, const char *identity, const char *digest,
                             uint64_t generation) {
        _cleanup_free_ char *w = audit_escape(workload);
        int r;

        if (!w)
                return -ENOMEM;
        r = audit_entry_add(e, "FORGEONE_WORKLOAD", w, SIZE_MAX);
        if (r >= 0)
                r = audit_entry_add(e, "FORGEONE_IDENTITY", identity ?: "*", SIZE_MAX);
        if (r >= 0)
                r = audit_entry_add(e, "FORGEONE_POLICY_DIGEST", digest ?: "none", SIZE_MAX);
        if (r >= 0)
                r = audit_entry_addf(e, "FORGEONE_POLICY_GENERATION", "%" PRIu64, generation);
        return r;
}

static int add_head(AuditEntry *e, AuditClass c, int priority, uint64_t time_usec) {
        int r;

        r = audit_entry_add(e, "MESSAGE_ID", audit_class_message_id(c), SIZE_MAX);
        if (r >= 0)
                r = audit_entry_addf(e, "PRIORITY", "%d", priority);
        if (r >= 0)
                r = audit_entry_add(e, "SYSLOG_IDENTIFIER", AUDIT_SYSLOG_IDENTIFIER, SIZE_MAX);
        if (r >= 0)
                r = audit_entry_add(e, "FORGEONE_EVENT", audit_class_to_string(c), SIZE_MAX);
        if (r >= 0)
                r = audit_entry_addf(e, "FORGEONE_TIME", "%" PRIu64, time_usec);
        return r;
}

static int priority_of(SupervisorAction a) {
        return a == SUPERVISOR_ACTION_QUARANTINE ? AUDIT_PRIORITY_WARNING
               : a == SUPERVISOR_ACTION_DENY     ? AUDIT_PRIORITY_NOTICE
                                                 : AUDIT_PRIORITY_INFO;
}

static const char *syscall_label(const char *name, int nr, char buf[static 32]) {
        if (name)
                return name;
        snprintf(buf, 32, "syscall-%d", nr);
        return buf;
}

int audit_fields_decision(AuditEntry *e, const EventRecord *rec, unsigned sample_every) {
        const SupervisorEvent *ev = &rec->decision;
        _cleanup_free_ char *path = NULL, *path2 = NULL, *reason = NULL, *workload = NULL;
        char args[8192], msg[12288], acc[128], addr[1100], eb[16], nb[32], q[4200], q2[4200];
        const char *name = syscall_label(ev->syscall, ev->nr, nb),
                   *verdict = audit_verdict_of_action(ev->action);
        size_t n;
        int r;

        if (!verdict)
                return -EINVAL;
        if ((ev->path && !(path = audit_escape(ev->path))) ||
            (ev->path2 && !(path2 = audit_escape(ev->path2))) ||
            (ev->reason && !(reason = audit_escape(ev->reason))) ||
            !(workload = audit_escape(rec->workload)))
                return -ENOMEM;

        /* For people: what, to what, the outcome, by which rule, for whom. */
        n = (size_t) snprintf(msg, sizeof msg, "%s %s", verdict, name);
        if (ev->path) {
                policy_access_to_string(ev->access, acc, sizeof acc);
                n += (size_t) snprintf(msg + n, sizeof msg - MIN(n, sizeof msg), " %s [%s]",
                                       event_escape(ev->path, q, sizeof q), acc);
        }
        if (ev->path2)
                n += (size_t) snprintf(msg + n, sizeof msg - MIN(n, sizeof msg), " %s",
                                       event_escape(ev->path2, q2, sizeof q2));
        if (ev->addr)
                n += (size_t) snprintf(msg + n, sizeof msg - MIN(n, sizeof msg), " %s",
                                       event_format_addr(ev->addr, addr, sizeof addr));
        n += (size_t) snprintf(msg + n, sizeof msg - MIN(n, sizeof msg), " -> %s (rule %s) workload %s",
                               ev->error                                  ? event_errno_name(ev->error, eb)
                               : ev->action == SUPERVISOR_ACTION_CONTINUE ? "continue"
                                                                          : "ok",
                               strempty(ev->rule_id), workload);
        if (sample_every > 0)
                (void) snprintf(msg + n, sizeof msg - MIN(n, sizeof msg), " (one of %u sampled)",
                                sample_every);

        r = audit_entry_add(e, "MESSAGE", msg, SIZE_MAX);
        if (r >= 0)
                r = add_head(e, audit_class_of_action(ev->action), priority_of(ev->action),
                             rec->realtime_usec);
        if (r >= 0)
                r = audit_entry_add(e, "FORGEONE_COUNT", "1", SIZE_MAX);
        if (r >= 0)
                r = add_common_policy(e, rec->workload, ev->identity, ev->policy_digest, ev->generation);
        if (r >= 0)
                r = audit_entry_add(e, "FORGEONE_SYSCALL", name, SIZE_MAX);
        if (r >= 0)
                r = audit_entry_addf(e, "FORGEONE_SYSCALL_NR", "%d", ev->nr);
        if (r >= 0)
                r = audit_entry_add(e, "FORGEONE_ARCH", arch_table_to_string(ev->arch) ?: "unknown",
                                    SIZE_MAX);
        if (r >= 0)
                r = audit_entry_add(e, "FORGEONE_ARGS", audit_format_args(ev, args, sizeof args), SIZE_MAX);
        if (r >= 0 && path)
                r = audit_entry_add(e, "FORGEONE_PATH", path, SIZE_MAX);
        if (r >= 0 && path)
                r = audit_entry_add(e, "FORGEONE_ACCESS",
                                    policy_access_to_string(ev->access, acc, sizeof acc), SIZE_MAX);
        if (r >= 0 && path2)
                r = audit_entry_add(e, "FORGEONE_PATH2", path2, SIZE_MAX);
        if (r >= 0 && ev->addr)
                r = audit_entry_add(e, "FORGEONE_ADDR", event_format_addr(ev->addr, addr, sizeof addr),
                                    SIZE_MAX);
        if (r >= 0)
                r = audit_entry_add(e, "FORGEONE_VERDICT", verdict, SIZE_MAX);
        if (r >= 0)
                r = audit_entry_add(e, "FORGEONE_ACTION", supervisor_action_to_string(ev->action), SIZE_MAX);
        if (r >= 0)
                r = audit_entry_add(e, "FORGEONE_POLICY_VERDICT",
                                    policy_verdict_to_string(ev->verdict) ?: "unknown", SIZE_MAX);
        if (r >= 0)
                r = audit_entry_add(e, "FORGEONE_ERRNO", event_errno_name(ev->error, eb), SIZE_MAX);
        if (r >= 0)
                r = audit_entry_addf(e, "FORGEONE_RESULT", "%" PRId64, ev->value);
        if (r >= 0)
                r = audit_entry_add(e, "FORGEONE_RULE", strempty(ev->rule_id), SIZE_MAX);
        if (r >= 0 && reason)
                r = audit_entry_add(e, "FORGEONE_REASON", reason, SIZE_MAX);
        if (r >= 0)
                r = audit_entry_addf(e, "FORGEONE_TRUST", "%d", ev->trust);
        if (r >= 0)
                r = audit_entry_addf(e, "FORGEONE_TARGET_PID", "%d",
                                     ev->pid > 0 ? (int) ev->pid : (int) ev->tid);
        if (r >= 0)
                r = audit_entry_addf(e, "FORGEONE_TARGET_TID", "%d", (int) ev->tid);
        if (r >= 0)
                r = audit_entry_addf(e, "FORGEONE_NOTIFICATION", "%" PRIu64, ev->id);
        if (r >= 0 && ev->target_gone)
                r = audit_entry_add(e, "FORGEONE_TARGET_GONE", "1", SIZE_MAX);
        if (r >= 0 && sample_every > 0)
                r = audit_entry_addf(e, "FORGEONE_SAMPLE_EVERY", "%u", sample_every);
        return r;
}

int audit_fields_aggregate(AuditEntry *e, const EventAggregate *a, AuditAggregateReason reason,
                           uint64_t start_usec, uint64_t end_usec) {
        const char *verdict = audit_verdict_of_action(a->action),
                   *why = audit_aggregate_reason_to_string(reason);
        _cleanup_free_ char *workload = NULL;
        char msg[1024], eb[16], nb[32];
        const char *name = a->nr >= 0 || a->syscall ? syscall_label(a->syscall, a->nr, nb) : "any syscall";
        int r;

        if (!verdict || !why)
                return -EINVAL;
        if (a->workload && !(workload = audit_escape(a->workload)))
                return -ENOMEM;
        if (a->workload)
                snprintf(msg, sizeof msg, "%" PRIu64 " x %s %s -> %s (rule %s) workload %s, aggregated (%s)",
                         a->count, verdict, name, a->error ? event_errno_name(a->error, eb) : "ok",
                         strempty(a->rule_id), workload, why);
        else
                snprintf(msg, sizeof msg,
                         "%" PRIu64 " x %s, workload unknown (too many distinct keys), aggregated (%s)",
                         a->count, verdict, why);

        r = audit_entry_add(e, "MESSAGE", msg, SIZE_MAX);
        if (r >= 0)
                r = add_head(e, audit_class_of_action(a->action), priority_of(a->action), end_usec);
        if (r >= 0)
                r = audit_entry_addf(e, "FORGEONE_COUNT", "%" PRIu64, a->count);
        if (r >= 0)
                r = audit_entry_add(e, "FORGEONE_AGGREGATED", why, SIZE_MAX);
        if (r >= 0)
                r = audit_entry_addf(e, "FORGEONE_INTERVAL_START", "%" PRIu64, start_usec);
        if (r >= 0)
                r = audit_entry_addf(e, "FORGEONE_INTERVAL_END", "%" PRIu64, end_usec);
        if (r >= 0)
                r = audit_entry_add(e, "FORGEONE_VERDICT", verdict, SIZE_MAX);
        if (r >= 0)
                r = audit_entry_add(e, "FORGEONE_ACTION", supervisor_action_to_string(a->action), SIZE_MAX);
        if (r < 0 || !a->workload)
                return r;
        r = add_common_policy(e, a->workload, a->identity, a->policy_digest, a->generation);
        if (r >= 0)
                r = audit_entry_add(e, "FORGEONE_SYSCALL", name, SIZE_MAX);
        if (r >= 0)
                r = audit_entry_addf(e, "FORGEONE_SYSCALL_NR", "%d", a->nr);
        if (r >= 0)
                r = audit_entry_add(e, "FORGEONE_ARCH", arch_table_to_string(a->arch) ?: "unknown",
                                    SIZE_MAX);
        if (r >= 0)
                r = audit_entry_add(e, "FORGEONE_POLICY_VERDICT",
                                    policy_verdict_to_string(a->verdict) ?: "unknown", SIZE_MAX);
        if (r >= 0)
                r = audit_entry_add(e, "FORGEONE_ERRNO", event_errno_name(a->error, eb), SIZE_MAX);
        if (r >= 0)
                r = audit_entry_add(e, "FORGEONE_RULE", strempty(a->rule_id), SIZE_MAX);
        return r;
}

int audit_fields_notice(AuditEntry *e, const EventRecord *rec, const AuditWorkloadPolicy *wp) {
        const EventNotice *n = &rec->notice;
        _cleanup_free_ char *text = audit_escape(rec->text), *workload = audit_escape(rec->workload),
                            *state = n->state ? audit_escape(n->state) : NULL,
                            *policy = n->policy ? audit_escape(n->policy) : NULL;
        char msg[4096], eb[16];
        AuditClass c;
        int prio = AUDIT_PRIORITY_INFO, r;

        if (!text || !workload || (n->state && !state) || (n->policy && !policy))
                return -ENOMEM;
        switch (n->kind) {
        case EVENT_NOTICE_STATE:
                c = AUDIT_CLASS_STATE;
                if (n->state && (streq(n->state, "Failed") || streq(n->state, "Quarantined")))
                        prio = AUDIT_PRIORITY_WARNING;
                break;
        case EVENT_NOTICE_POLICY_LOADED:
                c = AUDIT_CLASS_POLICY_LOADED;
                break;
        case EVENT_NOTICE_POLICY_RELOAD_FAILED:
                c = AUDIT_CLASS_POLICY_RELOAD_FAILED;
                prio = AUDIT_PRIORITY_ERR;
                break;
        case EVENT_NOTICE_TRUST:
                c = AUDIT_CLASS_TRUST;
                break;
        case EVENT_NOTICE_INTEGRITY:
                c = AUDIT_CLASS_INTEGRITY;
                prio = AUDIT_PRIORITY_ERR;
                break;
        default:
                c = AUDIT_CLASS_WARNING;
                prio = AUDIT_PRIORITY_WARNING;
        }
        snprintf(msg, sizeof msg, "workload %s: %s", workload, text);

        r = audit_entry_add(e, "MESSAGE", msg, SIZE_MAX);
        if (r >= 0)
                r = add_head(e, c, prio, rec->realtime_usec);
        if (r >= 0) {
                /* The notice's own policy (loaded, reload failed) first, else what the workload runs under.
                 */
                bool own = n->kind == EVENT_NOTICE_POLICY_LOADED ||
                           n->kind == EVENT_NOTICE_POLICY_RELOAD_FAILED;
                r = add_common_policy(e, rec->workload,
                                      own  ? n->identity ?: (wp ? wp->identity : NULL)
                                      : wp ? wp->identity
                                           : NULL,
                                      own  ? n->policy_digest
                                      : wp ? wp->policy_digest
                                           : NULL,
                                      own  ? n->generation
                                      : wp ? wp->generation
                                           : 0);
        }
        if (r >= 0 && state)
                r = audit_entry_add(e, "FORGEONE_STATE", state, SIZE_MAX);
        if (r >= 0 && policy)
                r = audit_entry_add(e, "FORGEONE_POLICY", policy, SIZE_MAX);
        if (r >= 0 && n->trust >= 0 &&
            (n->kind == EVENT_NOTICE_TRUST || n->kind == EVENT_NOTICE_STATE ||
             n->kind == EVENT_NOTICE_POLICY_LOADED))
                r = audit_entry_addf(e, "FORGEONE_TRUST", "%d", n->trust);
        if (r >= 0 && n->kind == EVENT_NOTICE_POLICY_RELOAD_FAILED)
                r = audit_entry_add(e, "FORGEONE_ERRNO", event_errno_name(n->error, eb), SIZE_MAX);
        return r;
}
