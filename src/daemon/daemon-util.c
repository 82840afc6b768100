/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* forgeoned's pure helpers: see daemon-util.h. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon-util.h"
#include "forgeone/sha256.h"
#include "forgeone/string-table.h"

bool daemon_id_valid(const char *id) {
        size_t n = 0;

        if (!id)
                return false;
        for (const char *p = id; *p; p++, n++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
                        return false;
        return n >= 1 && n <= 32;
}

int daemon_fdname_format(const char *id, WorkloadFd kind, char *buf, size_t size) {
        const char *k = workload_fd_to_string(kind);
        int n;

        if (!daemon_id_valid(id) || !k)
                return -EINVAL;
        n = snprintf(buf, size, "%s.%s", id, k);
        return n < 0 || (size_t) n >= size ? -ENOBUFS : 0;
}

int daemon_fdname_parse(const char *name, char *ret_id, size_t id_size, WorkloadFd *ret_kind) {
        const char *dot = name ? strrchr(name, '.') : NULL;
        size_t n;
        WorkloadFd k;

        if (!dot)
                return -EINVAL;
        n = (size_t) (dot - name);
        if (n == 0 || n >= id_size)
                return -EINVAL;
        k = workload_fd_from_string(dot + 1);
        if (k < 0)
                return -EINVAL;
        memcpy(ret_id, name, n);
        ret_id[n] = 0;
        if (!daemon_id_valid(ret_id))
                return -EINVAL;
        *ret_kind = k;
        return 0;
}

int daemon_fdnames_join(char *const *names, size_t n, char **ret) {
        size_t len = 1;
        char *s, *p;

        for (size_t i = 0; i < n; i++) {
                if (!names[i] || !names[i][0] || strchr(names[i], ':'))
                        return -EINVAL;
                len += strlen(names[i]) + 1;
        }
        s = p = malloc(len);
        if (!s)
                return -ENOMEM;
        *p = 0;
        for (size_t i = 0; i < n; i++)
                p += sprintf(p, "%s%s", i ? ":" : "", names[i]);
        *ret = s;
        return 0;
}

int daemon_handover_format(const int *fds, char *const *names, size_t n, char **ret) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (fds[i] < 3 || !names[i] || !names[i][0] || strpbrk(names[i], ": ")) {
                        fclose(f);
                        free(buf);
                        return -EINVAL;
                }
                fprintf(f, "%s%d:%s", i ? " " : "", fds[i], names[i]);
        }
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

int daemon_handover_parse(const char *s, int **fds, char ***names, size_t *n) {
        const char *p = s;

        while (p && *p) {
                const char *sp = strchr(p, ' '), *colon = strchr(p, ':');
                size_t len = sp ? (size_t) (sp - p) : strlen(p);
                char *end, **nn;
                int *nf;
                long fd;

                if (!colon || colon >= p + len || colon == p + len - 1)
                        return -EINVAL;
                fd = strtol(p, &end, 10);
                if (end != colon || fd < 3 || fd > INT32_MAX)
                        return -EINVAL;
                nf = realloc(*fds, (*n + 1) * sizeof *nf);
                if (!nf)
                        return -ENOMEM;
                *fds = nf;
                nn = realloc(*names, (*n + 2) * sizeof *nn);
                if (!nn)
                        return -ENOMEM;
                *names = nn;
                nn[*n] = strndup(colon + 1, (size_t) (p + len - colon - 1));
                if (!nn[*n])
                        return -ENOMEM;
                nf[*n] = (int) fd;
                nn[++*n] = NULL;
                p = sp ? sp + 1 : NULL;
        }
        return 0;
}

static const char *const managed_state_table[_MANAGED_STATE_MAX] = {
        [MANAGED_RUNNING] = "running",         [MANAGED_PAUSED] = "paused",  [MANAGED_QUARANTINED] = "quarantined",
        [MANAGED_STOPPING] = "stopping",       [MANAGED_EXITED] = "exited",
};

DEFINE_STRING_TABLE_LOOKUP(managed_state, ManagedState)

char *daemon_digest_string(const void *p, size_t n, char *buf, size_t size) {
        uint8_t d[SHA256_DIGEST_SIZE];
        size_t o;

        sha256_buffer(p, n, d);
        o = (size_t) snprintf(buf, size, "sha256:");
        for (size_t i = 0; i < sizeof d && o + 2 < size; i++)
                o += (size_t) snprintf(buf + o, size - o, "%02x", d[i]);
        return buf;
}

/* ---- JSON records ---- */

static void hex_encode(const uint8_t *p, size_t n, char *out) {
        for (size_t i = 0; i < n; i++)
                sprintf(out + 2 * i, "%02x", p[i]);
}

static int hex_decode(const char *s, uint8_t *out, size_t n) {
        if (!s || strlen(s) != 2 * n)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                unsigned v;
                if (sscanf(s + 2 * i, "%2x", &v) != 1)
                        return -EINVAL;
                out[i] = (uint8_t) v;
        }
        return 0;
}

static void add_string(json_object *o, const char *key, const char *v) {
        if (v)
                json_object_object_add(o, key, json_object_new_string(v));
}

static int to_text(json_object *o, char **ret) {
        const char *t;
        char *s;

        if (!o)
                return -ENOMEM;
        t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        s = t ? strdup(t) : NULL;
        json_object_put(o);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

void workload_record_done(WorkloadRecord *r) {
        if (!r)
                return;
        free(r->id);
        free(r->label);
        strv_free(r->argv);
        free(r->name);
        free(r->identity);
        free(r->cgroup_path);
        free(r->reason);
        free(r->container_id);
        free(r->image);
        *r = (WorkloadRecord) {};
}

int workload_record_to_json(const WorkloadRecord *r, char **ret) {
        json_object *o = json_object_new_object(), *a = json_object_new_array();
        char hex[65];

        if (!o || !a || !daemon_id_valid(r->id)) {
                json_object_put(o);
                json_object_put(a);
                return !o || !a ? -ENOMEM : -EINVAL;
        }
        add_string(o, "id", r->id);
        add_string(o, "label", r->label);
        for (char **p = r->argv; p && *p; p++)
                json_object_array_add(a, json_object_new_string(*p));
        json_object_object_add(o, "argv", a);
        add_string(o, "name", r->name);
        add_string(o, "identity", r->identity);
        add_string(o, "cgroup", r->cgroup_path);
        json_object_object_add(o, "pid", json_object_new_int(r->pid));
        json_object_object_add(o, "creds_calls_trapped", json_object_new_boolean(r->creds_calls_trapped));
        hex_encode(r->filter_digest, sizeof r->filter_digest, hex);
        json_object_object_add(o, "filter_digest", json_object_new_string(hex));
        add_string(o, "state", managed_state_to_string(r->state));
        add_string(o, "reason", r->reason);
        json_object_object_add(o, "started_usec", json_object_new_int64((int64_t) r->started_usec));
        json_object_object_add(o, "restart_to_apply", json_object_new_boolean(r->restart_to_apply));
        add_string(o, "container_id", r->container_id);
        add_string(o, "image", r->image);
        json_object_object_add(o, "stop_timeout_usec", json_object_new_int64((int64_t) r->stop_timeout_usec));
        return to_text(o, ret);
}

static int get_string(json_object *o, const char *key, bool required, char **ret) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
                *ret = NULL;
                return required ? -EBADMSG : 0;
        }
        if (!json_object_is_type(v, json_type_string))
                return -EBADMSG;
        *ret = strdup(json_object_get_string(v));
        return *ret ? 0 : -ENOMEM;
}

static int get_int64(json_object *o, const char *key, int64_t *ret) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return -EBADMSG;
        *ret = json_object_get_int64(v);
        return 0;
}

static bool get_bool(json_object *o, const char *key) {
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_boolean) &&
               json_object_get_boolean(v);
}

int workload_record_from_json(const char *text, WorkloadRecord *ret) {
        _cleanup_(workload_record_done) WorkloadRecord r = {};
        json_object *o = json_tokener_parse(text), *a, *v;
        _cleanup_free_ char *state = NULL, *digest = NULL;
        int64_t i;
        int k;

        if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return -EBADMSG;
        }
        if ((k = get_string(o, "id", true, &r.id)) < 0 || (k = get_string(o, "label", false, &r.label)) < 0 ||
            (k = get_string(o, "name", false, &r.name)) < 0 || (k = get_string(o, "identity", false, &r.identity)) < 0 ||
            (k = get_string(o, "cgroup", false, &r.cgroup_path)) < 0 || (k = get_string(o, "state", true, &state)) < 0 ||
            (k = get_string(o, "reason", false, &r.reason)) < 0 ||
            (k = get_string(o, "container_id", false, &r.container_id)) < 0 ||
            (k = get_string(o, "image", false, &r.image)) < 0 ||
            (k = get_string(o, "filter_digest", true, &digest)) < 0)
                goto fail;
        k = -EBADMSG;
        if (!daemon_id_valid(r.id) || hex_decode(digest, r.filter_digest, sizeof r.filter_digest) < 0)
                goto fail;
        r.state = managed_state_from_string(state);
        if (r.state < 0)
                goto fail;
        if (get_int64(o, "pid", &i) < 0 || i <= 0 || i > INT32_MAX)
                goto fail;
        r.pid = (pid_t) i;
        if (get_int64(o, "started_usec", &i) < 0 || i < 0)
                goto fail;
        r.started_usec = (uint64_t) i;
        if (get_int64(o, "stop_timeout_usec", &i) >= 0 && i > 0)
                r.stop_timeout_usec = (uint64_t) i;
        r.creds_calls_trapped = get_bool(o, "creds_calls_trapped");
        r.restart_to_apply = get_bool(o, "restart_to_apply");
        if (!json_object_object_get_ex(o, "argv", &a) || !json_object_is_type(a, json_type_array))
                goto fail;
        r.argv = calloc(json_object_array_length(a) + 1, sizeof(char *));
        if (!r.argv) {
                k = -ENOMEM;
                goto fail;
        }
        for (size_t n = 0; n < json_object_array_length(a); n++) {
                v = json_object_array_get_idx(a, n);
                if (!json_object_is_type(v, json_type_string))
                        goto fail;
                r.argv[n] = strdup(json_object_get_string(v));
                if (!r.argv[n]) {
                        k = -ENOMEM;
                        goto fail;
                }
        }
        json_object_put(o);
        *ret = r;
        r = (WorkloadRecord) {};
        return 0;
fail:
        json_object_put(o);
        return k;
}

void daemon_record_done(DaemonRecord *r) {
        if (!r)
                return;
        free(r->policy_file);
        free(r->policy_source);
        *r = (DaemonRecord) {};
}

int daemon_record_to_json(const DaemonRecord *r, char **ret) {
        json_object *o = json_object_new_object(), *c = json_object_new_object();

        if (!o || !c) {
                json_object_put(o);
                json_object_put(c);
                return -ENOMEM;
        }
        json_object_object_add(o, "generation", json_object_new_int64((int64_t) r->generation));
        json_object_object_add(o, "next_id", json_object_new_int64((int64_t) r->next_id));
        add_string(o, "policy_file", r->policy_file);
        add_string(o, "policy_source", r->policy_source);
        for (size_t i = 0; i < _SUPERVISOR_ACTION_MAX; i++)
                json_object_object_add(c, supervisor_action_to_string((SupervisorAction) i),
                                       json_object_new_int64((int64_t) r->retired[i]));
        json_object_object_add(o, "retired", c);
        return to_text(o, ret);
}

int daemon_record_from_json(const char *text, DaemonRecord *ret) {
        _cleanup_(daemon_record_done) DaemonRecord r = {};
        json_object *o = json_tokener_parse(text), *c;
        int64_t i;
        int k = -EBADMSG;

        if (!o || !json_object_is_type(o, json_type_object))
                goto fail;
        if (get_int64(o, "generation", &i) < 0 || i < 1)
                goto fail;
        r.generation = (uint64_t) i;
        if (get_int64(o, "next_id", &i) < 0 || i < 1)
                goto fail;
        r.next_id = (uint64_t) i;
        if ((k = get_string(o, "policy_file", false, &r.policy_file)) < 0 ||
            (k = get_string(o, "policy_source", false, &r.policy_source)) < 0)
                goto fail;
        k = -EBADMSG;
        if (json_object_object_get_ex(o, "retired", &c)) {
                if (!json_object_is_type(c, json_type_object))
                        goto fail;
                for (size_t a = 0; a < _SUPERVISOR_ACTION_MAX; a++)
                        if (get_int64(c, supervisor_action_to_string((SupervisorAction) a), &i) >= 0 && i >= 0)
                                r.retired[a] = (uint64_t) i;
        }
        json_object_put(o);
        *ret = r;
        r = (DaemonRecord) {};
        return 0;
fail:
        json_object_put(o);
        return k;
}
