/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "forgeone/container-state.h"
#include "forgeone/string-table.h"

static const char *const container_state_table[_CONTAINER_STATE_MAX] = {
        [CONTAINER_CREATING] = "creating",
        [CONTAINER_RUNNING] = "running",
        [CONTAINER_PAUSED] = "paused",
        [CONTAINER_QUARANTINED] = "quarantined",
        [CONTAINER_STOPPING] = "stopping",
        [CONTAINER_STOPPED] = "stopped",
        [CONTAINER_FAILED] = "failed",
};

DEFINE_STRING_TABLE_LOOKUP(container_state, ContainerState)

bool container_state_is_final(ContainerState s) {
        return s == CONTAINER_STOPPED || s == CONTAINER_FAILED;
}

/* allowed[from][to] */
static const bool allowed[_CONTAINER_STATE_MAX][_CONTAINER_STATE_MAX] = {
        [CONTAINER_CREATING] = {
                [CONTAINER_RUNNING] = true, [CONTAINER_FAILED] = true, [CONTAINER_STOPPING] = true,
        },
        [CONTAINER_RUNNING] = {
                [CONTAINER_PAUSED] = true, [CONTAINER_QUARANTINED] = true, [CONTAINER_STOPPING] = true,
                [CONTAINER_STOPPED] = true, [CONTAINER_FAILED] = true,
        },
        [CONTAINER_PAUSED] = {
                [CONTAINER_RUNNING] = true, [CONTAINER_QUARANTINED] = true, [CONTAINER_STOPPING] = true,
                [CONTAINER_STOPPED] = true, [CONTAINER_FAILED] = true,
        },
        [CONTAINER_QUARANTINED] = {
                [CONTAINER_RUNNING] = true, [CONTAINER_STOPPING] = true, [CONTAINER_STOPPED] = true,
                [CONTAINER_FAILED] = true,
        },
        [CONTAINER_STOPPING] = {
                [CONTAINER_STOPPED] = true, [CONTAINER_FAILED] = true,
        },
};

int container_state_check_transition(ContainerState from, ContainerState to, const char **ret_why) {
        const char *why;
        int r;

        if (from < 0 || from >= _CONTAINER_STATE_MAX || to < 0 || to >= _CONTAINER_STATE_MAX) {
                why = "unknown container state";
                r = -EINVAL;
        } else if (allowed[from][to])
                return 0;
        else if (container_state_is_final(from)) {
                why = "the container has already exited";
                r = -EINVAL;
        } else if (to == CONTAINER_CREATING) {
                why = "a container is created only once";
                r = -EINVAL;
        } else if (from == to) {
                why = from == CONTAINER_PAUSED ? "the container is already paused"
                        : from == CONTAINER_QUARANTINED ? "the container is already quarantined"
                        : from == CONTAINER_STOPPING ? "the container is already stopping"
                        : "the container is already in that state";
                r = -EBUSY;
        } else if (from == CONTAINER_CREATING) {
                why = "the container is still being created";
                r = -EBUSY;
        } else if (from == CONTAINER_STOPPING) {
                why = "the container is stopping";
                r = -EBUSY;
        } else if (from == CONTAINER_QUARANTINED && to == CONTAINER_PAUSED) {
                why = "the container is quarantined (already frozen); release it first";
                r = -EBUSY;
        } else {
                why = "transition not allowed";
                r = -EINVAL;
        }

        if (ret_why)
                *ret_why = why;
        return r;
}

ContainerRecord *container_record_new(void) {
        ContainerRecord *r = calloc(1, sizeof *r);

        if (!r)
                return NULL;
        r->exit_code = -1;
        r->priority = SCHEDULER_PRIORITY_NORMAL;
        r->trust = -1;
        r->trust_max = -1;
        return r;
}

ContainerRecord *container_record_free(ContainerRecord *r) {
        if (!r)
                return NULL;
        free(r->id);
        free(r->name);
        free(r->reason);
        free(r->image);
        free(r->image_digest);
        free(r->policy);
        strv_free(r->command);
        strv_free(r->labels);
        free(r->hostname);
        free(r->network);
        free(r->rootfs);
        free(r->cgroup_layout);
        free(r->cgroup);
        free(r->cgroup_root);
        for (size_t i = 0; i < r->n_transitions; i++)
                free(r->transitions[i].reason);
        free(r->transitions);
        free(r);
        return NULL;
}

int container_record_transition(ContainerRecord *r, ContainerState to, const char *reason, int exit_code,
                                int exit_signal, uint64_t now_usec, const ContainerTransition **ret_event) {
        _cleanup_free_ char *reason_copy = NULL, *reason_copy2 = NULL;
        ContainerTransition *t;
        int k;

        k = container_state_check_transition(r->state, to, NULL);
        if (k < 0)
                return k;

        if (reason) {
                reason_copy = strdup(reason);
                reason_copy2 = strdup(reason);
                if (!reason_copy || !reason_copy2)
                        return -ENOMEM;
        }
        t = realloc(r->transitions, (r->n_transitions + 1) * sizeof *t);
        if (!t)
                return -ENOMEM;
        r->transitions = t;
        t = r->transitions + r->n_transitions++;
        *t = (ContainerTransition) {
                .from = r->state,
                .to = to,
                .reason = TAKE_PTR(reason_copy),
                .exit_code = container_state_is_final(to) ? exit_code : -1,
                .exit_signal = container_state_is_final(to) ? exit_signal : 0,
                .realtime_usec = now_usec,
        };

        r->state = to;
        free(r->reason);
        /* The record's reason describes the current state only where the state has one. */
        r->reason = (to == CONTAINER_QUARANTINED || to == CONTAINER_FAILED) ? TAKE_PTR(reason_copy2) : NULL;
        if (container_state_is_final(to)) {
                r->exit_code = exit_code;
                r->exit_signal = exit_signal;
        }
        if (ret_event)
                *ret_event = t;
        return 0;
}

static const char *signal_name(int sig, char buf[static 16]) {
        const char *n = sigabbrev_np(sig);

        if (n)
                return n;
        snprintf(buf, 16, "%d", sig);
        return buf;
}

int container_record_status_string(const ContainerRecord *r, char **ret) {
        const char *s = container_state_to_string(r->state);
        char sigbuf[16];
        char *out;
        int k;

        if (!s)
                return -EINVAL;
        if (r->reason && (r->state == CONTAINER_QUARANTINED || r->state == CONTAINER_FAILED))
                k = asprintf(&out, "%s (%s)", s, r->reason);
        else if (r->state == CONTAINER_STOPPED && r->exit_signal > 0)
                k = asprintf(&out, "%s (signal %s)", s, signal_name(r->exit_signal, sigbuf));
        else if (r->state == CONTAINER_STOPPED && r->exit_code >= 0)
                k = asprintf(&out, "%s (exit %d)", s, r->exit_code);
        else
                k = asprintf(&out, "%s", s);
        if (k < 0)
                return -ENOMEM;
        *ret = out;
        return 0;
}

/* JSON */

static int add(json_object *o, const char *key, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int add_str(json_object *o, const char *key, const char *s) {
        if (!s) /* a NULL value is JSON null */
                return json_object_object_add(o, key, NULL) < 0 ? -ENOMEM : 0;
        return add(o, key, json_object_new_string(s));
}

static int add_strv(json_object *o, const char *key, char **l) {
        json_object *a = json_object_new_array();
        int k;

        if (!a)
                return -ENOMEM;
        for (char **i = l; i && *i; i++) {
                json_object *s = json_object_new_string(*i);
                if (!s || json_object_array_add(a, s) < 0) {
                        json_object_put(s);
                        json_object_put(a);
                        return -ENOMEM;
                }
        }
        k = add(o, key, a);
        return k;
}

static int add_labels(json_object *o, const char *key, char **l) {
        json_object *m = json_object_new_object();

        if (!m)
                return -ENOMEM;
        for (char **i = l; i && *i; i++) {
                const char *eq = strchr(*i, '=');
                _cleanup_free_ char *k = strndup(*i, eq ? (size_t) (eq - *i) : strlen(*i));
                if (!k || add(m, k, json_object_new_string(eq ? eq + 1 : "")) < 0) {
                        json_object_put(m);
                        return -ENOMEM;
                }
        }
        return add(o, key, m);
}

/* "realtime_usec" and the same instant as UTC text ("time"), as every events.jsonl line carries them. */
static int add_time(json_object *o, uint64_t realtime_usec) {
        char buf[64];
        time_t secs = (time_t) (realtime_usec / 1000000);
        struct tm tm;

        if (!gmtime_r(&secs, &tm))
                memset(&tm, 0, sizeof tm);
        snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned) (realtime_usec % 1000000));
        if (add(o, "realtime_usec", json_object_new_uint64(realtime_usec)) < 0 ||
            add_str(o, "time", buf) < 0)
                return -ENOMEM;
        return 0;
}

static json_object *transition_object(const ContainerTransition *t) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;

        if (add_str(o, "from", container_state_to_string(t->from)) < 0 ||
            add_str(o, "to", container_state_to_string(t->to)) < 0 || add_str(o, "reason", t->reason) < 0 ||
            add(o, "exit_code", json_object_new_int(t->exit_code)) < 0 ||
            add(o, "exit_signal", json_object_new_int(t->exit_signal)) < 0 ||
            add_time(o, t->realtime_usec) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

/* state.json's fields in the order they are written; one table serves writing and reading. */
typedef enum FieldKind {
        FIELD_STRING,   /* char * */
        FIELD_INT,      /* int, pid_t */
        FIELD_UINT32,   /* uid_t, uint32_t, unsigned */
        FIELD_UINT64,
        FIELD_STATE,    /* required */
        FIELD_STATUS,   /* written for readers of the file, computed, never read back */
        FIELD_STRV,
        FIELD_LABELS,   /* "key=value" strv as a JSON object */
        FIELD_PRIORITY,
} FieldKind;

typedef struct RecordField {
        const char *key;
        FieldKind kind;
        size_t offset;
} RecordField;

#define F(key, kind, member) { key, kind, offsetof(ContainerRecord, member) }
static const RecordField record_fields[] = {
        F("id", FIELD_STRING, id),
        F("name", FIELD_STRING, name),
        F("state", FIELD_STATE, state),
        F("status", FIELD_STATUS, state),
        F("reason", FIELD_STRING, reason),
        F("exit_code", FIELD_INT, exit_code),
        F("exit_signal", FIELD_INT, exit_signal),
        F("pid", FIELD_INT, pid),
        F("owner_pid", FIELD_INT, owner_pid),
        F("owner_start", FIELD_UINT64, owner_start),
        F("image", FIELD_STRING, image),
        F("image_digest", FIELD_STRING, image_digest),
        F("policy", FIELD_STRING, policy),
        F("command", FIELD_STRV, command),
        F("labels", FIELD_LABELS, labels),
        F("hostname", FIELD_STRING, hostname),
        F("network", FIELD_STRING, network),
        F("rootfs", FIELD_STRING, rootfs),
        F("uid_base", FIELD_UINT32, uid_base),
        F("uid_count", FIELD_UINT32, uid_count),
        F("priority", FIELD_PRIORITY, priority),
        F("trust", FIELD_INT, trust),
        F("trust_max", FIELD_INT, trust_max),
        F("memory_bytes", FIELD_UINT64, memory_bytes),
        F("pids", FIELD_UINT64, pids),
        F("cpu_millis", FIELD_UINT64, cpu_millis),
        F("cpu_weight", FIELD_UINT32, cpu_weight),
        F("cgroup_layout", FIELD_STRING, cgroup_layout),
        F("cgroup", FIELD_STRING, cgroup),
        F("cgroup_root", FIELD_STRING, cgroup_root),
        F("seq", FIELD_UINT64, seq),
        F("created_usec", FIELD_UINT64, created_usec),
};
#undef F

/* The members the table names have these types; a changed type must change its kind too. */
_Static_assert(sizeof(pid_t) == sizeof(int) && sizeof(uid_t) == sizeof(uint32_t) &&
                       sizeof(unsigned) == sizeof(uint32_t) && sizeof(ContainerState) == sizeof(int) &&
                       sizeof(SchedulerPriority) == sizeof(int),
               "record field kinds");

#define FIELD_PTR(r, f, type) ((type *) ((char *) (r) + (f)->offset))
#define FIELD_CPTR(r, f, type) ((type const *) ((const char *) (r) + (f)->offset))

static int add_field(json_object *o, const ContainerRecord *r, const RecordField *f, const char *status) {
        switch (f->kind) {
        case FIELD_STRING:
                return add_str(o, f->key, *FIELD_CPTR(r, f, char *));
        case FIELD_INT:
                return add(o, f->key, json_object_new_int(*FIELD_CPTR(r, f, int)));
        case FIELD_UINT32:
                return add(o, f->key, json_object_new_uint64(*FIELD_CPTR(r, f, uint32_t)));
        case FIELD_UINT64:
                return add(o, f->key, json_object_new_uint64(*FIELD_CPTR(r, f, uint64_t)));
        case FIELD_STATE:
                return add_str(o, f->key, container_state_to_string(r->state));
        case FIELD_STATUS:
                return add_str(o, f->key, status);
        case FIELD_STRV:
                return add_strv(o, f->key, *FIELD_CPTR(r, f, char **));
        case FIELD_LABELS:
                return add_labels(o, f->key, *FIELD_CPTR(r, f, char **));
        case FIELD_PRIORITY:
                return add_str(o, f->key, scheduler_priority_to_string(r->priority));
        }
        return -EINVAL;
}

static json_object *record_object(const ContainerRecord *r) {
        json_object *o = json_object_new_object(), *tr;
        _cleanup_free_ char *status = NULL;

        if (!o)
                return NULL;
        if (container_record_status_string(r, &status) < 0)
                goto fail;
        for (size_t i = 0; i < ELEMENTSOF(record_fields); i++)
                if (add_field(o, r, record_fields + i, status) < 0)
                        goto fail;

        tr = json_object_new_array();
        if (add(o, "transitions", tr) < 0)
                goto fail;
        for (size_t i = 0; i < r->n_transitions; i++) {
                json_object *t = transition_object(r->transitions + i);
                if (!t || json_object_array_add(tr, t) < 0) {
                        json_object_put(t);
                        goto fail;
                }
        }
        return o;
fail:
        json_object_put(o);
        return NULL;
}

static int to_text(json_object *o, int flags, char **ret) {
        const char *s;
        char *copy;

        if (!o)
                return -ENOMEM;
        s = json_object_to_json_string_ext(o, flags | JSON_C_TO_STRING_NOSLASHESCAPE);
        copy = s ? strdup(s) : NULL;
        json_object_put(o);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

int container_record_to_json(const ContainerRecord *r, bool pretty, char **ret) {
        return to_text(record_object(r), pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
                                                : JSON_C_TO_STRING_PLAIN,
                       ret);
}

int container_transition_to_json(const ContainerRecord *r, const ContainerTransition *t, char **ret) {
        json_object *o = transition_object(t);

        if (!o)
                return -ENOMEM;
        if (add_str(o, "id", r->id) < 0 || add_str(o, "name", r->name) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        return to_text(o, JSON_C_TO_STRING_PLAIN, ret);
}

int container_removal_to_json(const ContainerRecord *r, const char *reason, uint64_t realtime_usec,
                              char **ret) {
        json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        if (add_str(o, "event", "removed") < 0 ||
            add_str(o, "state", container_state_to_string(r->state)) < 0 ||
            add_str(o, "reason", reason) < 0 || add_time(o, realtime_usec) < 0 ||
            add_str(o, "id", r->id) < 0 || add_str(o, "name", r->name) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        return to_text(o, JSON_C_TO_STRING_PLAIN, ret);
}

/* Reading. Missing keys keep the defaults; wrong types are an error (the file is ours). */

static int get_str(json_object *o, const char *key, char **ret) {
        json_object *v;
        char *s;

        if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
                return 0;
        if (!json_object_is_type(v, json_type_string))
                return -EBADMSG;
        s = strdup(json_object_get_string(v));
        if (!s)
                return -ENOMEM;
        free(*ret);
        *ret = s;
        return 0;
}

/* 1 and the value if key holds an integer, 0 if it is missing, -EBADMSG for another type. */
static int get_number(json_object *o, const char *key, json_object **ret) {
        if (!json_object_object_get_ex(o, key, ret))
                return 0;
        return json_object_is_type(*ret, json_type_int) ? 1 : -EBADMSG;
}

static int get_int(json_object *o, const char *key, int64_t *ret) {
        json_object *v;
        int k = get_number(o, key, &v);

        if (k > 0)
                *ret = json_object_get_int64(v);
        return MIN(k, 0);
}

static int get_uint(json_object *o, const char *key, uint64_t *ret) {
        json_object *v;
        int k = get_number(o, key, &v);

        if (k > 0)
                *ret = json_object_get_uint64(v);
        return MIN(k, 0);
}

static int strv_push_take(char ***l, size_t *n, char *s) {
        char **nl = realloc(*l, (*n + 2) * sizeof(char *));

        if (!nl) {
                free(s);
                return -ENOMEM;
        }
        nl[(*n)++] = s;
        nl[*n] = NULL;
        *l = nl;
        return 0;
}

static int get_strv(json_object *o, const char *key, char ***ret) {
        json_object *v;
        char **l = NULL;
        size_t n = 0;

        if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
                return 0;
        if (!json_object_is_type(v, json_type_array))
                return -EBADMSG;
        for (size_t i = 0; i < json_object_array_length(v); i++) {
                json_object *e = json_object_array_get_idx(v, i);
                char *s;
                if (!json_object_is_type(e, json_type_string)) {
                        strv_free(l);
                        return -EBADMSG;
                }
                s = strdup(json_object_get_string(e));
                if (!s || strv_push_take(&l, &n, s) < 0) {
                        strv_free(l);
                        return -ENOMEM;
                }
        }
        strv_free(*ret);
        *ret = l;
        return 0;
}

static int get_labels(json_object *o, const char *key, char ***ret) {
        json_object *v;
        char **l = NULL;
        size_t n = 0;

        if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
                return 0;
        if (!json_object_is_type(v, json_type_object))
                return -EBADMSG;
        json_object_object_foreach(v, k, val) {
                char *s;
                if (!json_object_is_type(val, json_type_string) ||
                    asprintf(&s, "%s=%s", k, json_object_get_string(val)) < 0 || strv_push_take(&l, &n, s) < 0) {
                        strv_free(l);
                        return -EBADMSG;
                }
        }
        strv_free(*ret);
        *ret = l;
        return 0;
}

static int get_state(json_object *o, const char *key, ContainerState *ret) {
        _cleanup_free_ char *s = NULL;
        ContainerState st;
        int k;

        k = get_str(o, key, &s);
        if (k < 0)
                return k;
        if (!s)
                return -EBADMSG;
        st = container_state_from_string(s);
        if (st < 0)
                return -EBADMSG;
        *ret = st;
        return 0;
}

/* Missing keys keep the value r has; prio receives the priority's name, converted by the caller. */
static int get_field(json_object *o, ContainerRecord *r, const RecordField *f, char **prio) {
        int64_t i64;
        uint64_t u64;
        int k;

        switch (f->kind) {
        case FIELD_STRING:
                return get_str(o, f->key, FIELD_PTR(r, f, char *));
        case FIELD_INT:
                i64 = *FIELD_PTR(r, f, int);
                k = get_int(o, f->key, &i64);
                *FIELD_PTR(r, f, int) = (int) i64;
                return k;
        case FIELD_UINT32:
                u64 = *FIELD_PTR(r, f, uint32_t);
                k = get_uint(o, f->key, &u64);
                *FIELD_PTR(r, f, uint32_t) = (uint32_t) u64;
                return k;
        case FIELD_UINT64:
                return get_uint(o, f->key, FIELD_PTR(r, f, uint64_t));
        case FIELD_STATE:
                return get_state(o, f->key, &r->state);
        case FIELD_STATUS:
                return 0;
        case FIELD_STRV:
                return get_strv(o, f->key, FIELD_PTR(r, f, char **));
        case FIELD_LABELS:
                return get_labels(o, f->key, FIELD_PTR(r, f, char **));
        case FIELD_PRIORITY:
                return get_str(o, f->key, prio);
        }
        return -EINVAL;
}

int container_record_from_json(const char *text, ContainerRecord **ret) {
        _cleanup_(container_record_freep) ContainerRecord *r = NULL;
        _cleanup_free_ char *prio = NULL;
        json_object *o, *tr;
        int64_t i64;
        int k = 0;

        o = json_tokener_parse(text);
        if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return -EBADMSG;
        }
        r = container_record_new();
        if (!r) {
                json_object_put(o);
                return -ENOMEM;
        }

        for (size_t i = 0; k >= 0 && i < ELEMENTSOF(record_fields); i++)
                k = get_field(o, r, record_fields + i, &prio);

        if (k >= 0 && prio) {
                r->priority = scheduler_priority_from_string(prio);
                if (r->priority < 0)
                        k = -EBADMSG;
        }
        if (k >= 0 && (!r->id || !container_id_is_valid(r->id)))
                k = -EBADMSG;

        if (k >= 0 && json_object_object_get_ex(o, "transitions", &tr)) {
                size_t n = json_object_is_type(tr, json_type_array) ? json_object_array_length(tr) : 0;

                if (!json_object_is_type(tr, json_type_array))
                        k = -EBADMSG;
                else if (n > 0) {
                        r->transitions = calloc(n, sizeof *r->transitions);
                        if (!r->transitions)
                                k = -ENOMEM;
                }
                for (size_t i = 0; k >= 0 && i < n; i++) {
                        json_object *t = json_object_array_get_idx(tr, i);
                        ContainerTransition *x = r->transitions + i;

                        r->n_transitions++;
                        x->exit_code = -1;
                        if (!json_object_is_type(t, json_type_object)) {
                                k = -EBADMSG;
                                break;
                        }
                        k = get_state(t, "from", &x->from);
                        if (k >= 0)
                                k = get_state(t, "to", &x->to);
                        if (k >= 0)
                                k = get_str(t, "reason", &x->reason);
                        i64 = x->exit_code;
                        if (k >= 0)
                                k = get_int(t, "exit_code", &i64);
                        x->exit_code = (int) i64;
                        i64 = x->exit_signal;
                        if (k >= 0)
                                k = get_int(t, "exit_signal", &i64);
                        x->exit_signal = (int) i64;
                        if (k >= 0)
                                k = get_uint(t, "realtime_usec", &x->realtime_usec);
                }
        }

        json_object_put(o);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}

bool container_name_is_valid(const char *name) {
        size_t n;

        if (!name)
                return false;
        n = strlen(name);
        if (n < 1 || n > 63 || !isalnum((unsigned char) name[0]))
                return false;
        for (const char *p = name; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("_.-", *p))
                        return false;
        return true;
}

bool container_id_is_valid(const char *id) {
        if (!id || strlen(id) != 12)
                return false;
        for (const char *p = id; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}
