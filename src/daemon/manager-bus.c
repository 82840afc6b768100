/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * forgeoned's D-Bus API (systemd/org.forgeone.Supervisor1.xml): the
 * vtables, arguments in and errors out; the work is in manager.c.
 *
 * Access: methods that change anything are privileged (sd-bus refuses
 * them with AccessDenied unless the caller has CAP_SYS_ADMIN, checked on
 * top of the bus policy, which lets only root call them); List, GetPolicy,
 * Explain and the properties are for readers (the bus policy's group).
 * Errors carry the library's error context: org.forgeone.Error.* from
 * forge_error_bus_name(), the message from the ForgeError (a policy error
 * keeps its file:line:column).
 */
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "forgeone/log.h"
#include "forgeone/time-util.h"
#include "manager.h"

#define PRIV 0
#define READER SD_BUS_VTABLE_UNPRIVILEGED

static int reply_error(sd_bus_error *e, const ForgeError *err, int r) {
        return sd_bus_error_set(e, forge_error_bus_name(err, r), forge_error_message(err, r));
}

static Managed *lookup(Manager *m, const char *id, sd_bus_error *e) {
        Managed *mw = manager_find(m, id);

        if (!mw)
                sd_bus_error_setf(e, "org.forgeone.Error.NotFound", "no workload '%s'", strempty(id));
        return mw;
}

/* ---- Supervisor1 ---- */

static int read_strv(sd_bus_message *msg, char ***ret) {
        char **l = NULL;
        const char *s;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "s");
        if (r < 0)
                return r;
        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        while ((r = sd_bus_message_read(msg, "s", &s)) > 0) {
                char **x = realloc(l, (n + 2) * sizeof(char *));
                if (!x) {
                        strv_free(l);
                        return -ENOMEM;
                }
                l = x;
                l[n] = strdup(s);
                if (!l[n]) {
                        strv_free(l);
                        return -ENOMEM;
                }
                l[++n] = NULL;
        }
        if (r < 0) {
                strv_free(l);
                return r;
        }
        r = sd_bus_message_exit_container(msg);
        if (r < 0) {
                strv_free(l);
                return r;
        }
        *ret = l;
        return 0;
}

typedef struct RunSpec {
        char *label, *identity, *cwd, *root;
        char **env;
        uint32_t uid, gid;
        int tty;
        bool user_set, group_set;
        uint64_t stop_timeout_usec;
        /* an image */
        char *image, *priority, *network, *hostname;
        char **labels;
        uint64_t memory, pids, cpu_millis;
        uint32_t uid_base, uid_count;
} RunSpec;

static void run_spec_done(RunSpec *s) {
        free(s->label);
        free(s->identity);
        free(s->cwd);
        free(s->root);
        strv_free(s->env);
        free(s->image);
        free(s->priority);
        free(s->network);
        free(s->hostname);
        strv_free(s->labels);
}

static int read_strv_variant(sd_bus_message *msg, char ***ret) {
        int r = sd_bus_message_enter_container(msg, 'v', "as");

        if (r < 0)
                return r;
        *ret = strv_free(*ret);
        r = read_strv(msg, ret);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(msg);
}

static int read_string_variant(sd_bus_message *msg, char **ret) {
        const char *s;
        int r = sd_bus_message_read(msg, "v", "s", &s);

        if (r < 0)
                return r;
        free(*ret);
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int read_run_spec(sd_bus_message *msg, RunSpec *spec, sd_bus_error *e) {
        const char *key;
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                if (streq(key, "Name"))
                        r = read_string_variant(msg, &spec->label);
                else if (streq(key, "Identity"))
                        r = read_string_variant(msg, &spec->identity);
                else if (streq(key, "WorkingDirectory"))
                        r = read_string_variant(msg, &spec->cwd);
                else if (streq(key, "RootDirectory"))
                        r = read_string_variant(msg, &spec->root);
                else if (streq(key, "User")) {
                        r = sd_bus_message_read(msg, "v", "u", &spec->uid);
                        spec->user_set = true;
                } else if (streq(key, "Group")) {
                        r = sd_bus_message_read(msg, "v", "u", &spec->gid);
                        spec->group_set = true;
                } else if (streq(key, "Tty"))
                        r = sd_bus_message_read(msg, "v", "b", &spec->tty);
                else if (streq(key, "Environment"))
                        r = read_strv_variant(msg, &spec->env);
                else if (streq(key, "StopTimeoutUSec"))
                        r = sd_bus_message_read(msg, "v", "t", &spec->stop_timeout_usec);
                else if (streq(key, "Image"))
                        r = read_string_variant(msg, &spec->image);
                else if (streq(key, "Labels"))
                        r = read_strv_variant(msg, &spec->labels);
                else if (streq(key, "Priority"))
                        r = read_string_variant(msg, &spec->priority);
                else if (streq(key, "Network"))
                        r = read_string_variant(msg, &spec->network);
                else if (streq(key, "Hostname"))
                        r = read_string_variant(msg, &spec->hostname);
                else if (streq(key, "MemoryBytes"))
                        r = sd_bus_message_read(msg, "v", "t", &spec->memory);
                else if (streq(key, "Pids"))
                        r = sd_bus_message_read(msg, "v", "t", &spec->pids);
                else if (streq(key, "CPUMillis"))
                        r = sd_bus_message_read(msg, "v", "t", &spec->cpu_millis);
                else if (streq(key, "UIDBase"))
                        r = sd_bus_message_read(msg, "v", "u", &spec->uid_base);
                else if (streq(key, "UIDCount"))
                        r = sd_bus_message_read(msg, "v", "u", &spec->uid_count);
                else
                        return sd_bus_error_setf(e, "org.forgeone.Error.InvalidArgument", "unknown Run option '%s'",
                                                 key);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(msg);
}

#define INVALID(...) sd_bus_error_setf(e, "org.forgeone.Error.InvalidArgument", __VA_ARGS__)

/* An image's options into c (strings borrowed from spec). */
static int image_config(const RunSpec *spec, ContainerConfig *c, sd_bus_error *e) {
        *c = (ContainerConfig) {
                .image = spec->image,
                .labels = spec->labels,
                .priority = SCHEDULER_PRIORITY_NORMAL,
                .network = CONTAINER_NETWORK_NONE,
                .hostname = spec->hostname,
                .memory_bytes = spec->memory,
                .pids = spec->pids,
                .cpu_millis = spec->cpu_millis,
                .uid_base = spec->uid_base,
                .uid_count = spec->uid_count,
        };
        /* The image's config sets what a plain command gets from its caller. */
        if (spec->cwd || spec->root || spec->env || spec->user_set || spec->group_set || spec->tty)
                return INVALID("WorkingDirectory, RootDirectory, Environment, User, Group and Tty are for plain "
                               "commands: an image's config sets them");
        if (!spec->image[0] || (spec->image[0] != '/'))
                return INVALID("Image must be an absolute DIR[:TAG] (an OCI image layout): '%s'", spec->image);
        if (spec->priority && (c->priority = scheduler_priority_from_string(spec->priority)) < 0)
                return INVALID("invalid Priority '%s': critical, high, normal, low or background", spec->priority);
        if (spec->network && (c->network = container_network_from_string(spec->network)) < 0)
                return INVALID("invalid Network '%s': none or host", spec->network);
        if (spec->hostname && (strlen(spec->hostname) == 0 || strlen(spec->hostname) > 63))
                return INVALID("invalid Hostname '%s': 1 to 63 characters", spec->hostname);
        if (spec->memory != 0 && spec->memory < (4u << 20))
                return INVALID("MemoryBytes must be at least 4 MiB");
        if (spec->pids > (1ull << 22))
                return INVALID("Pids must be at most 4194304");
        if ((spec->uid_base == 0) != (spec->uid_count == 0) || (uint64_t) spec->uid_base + spec->uid_count > UINT32_MAX)
                return INVALID("UIDBase and UIDCount go together: host ids for container ids 0..COUNT-1");
        for (char **l = spec->labels; l && *l; l++)
                if (!strchr(*l, '=') || **l == '=')
                        return INVALID("invalid label '%s': expected KEY=VALUE", *l);
        return 0;
}

static int method_run(sd_bus_message *msg, void *userdata, sd_bus_error *e) {
        Manager *m = userdata;
        _cleanup_(run_spec_done) RunSpec spec = {};
        _cleanup_strv_free_ char **argv = NULL;
        RunRequest req = {};
        ForgeError err = {};
        ContainerConfig cc;
        Managed *mw = NULL;
        int fds[3], r;

        r = read_run_spec(msg, &spec, e);
        if (r < 0 || sd_bus_error_is_set(e))
                return r;
        r = read_strv(msg, &argv);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "hhh", &fds[0], &fds[1], &fds[2]);
        if (r < 0)
                return r;
        if (spec.image) {
                r = image_config(&spec, &cc, e);
                if (r < 0)
                        return r;
        } else if (!argv[0])
                return sd_bus_error_set(e, "org.forgeone.Error.InvalidArgument", "no command to run");
        else if (spec.labels || spec.priority || spec.network || spec.hostname || spec.memory || spec.pids ||
                 spec.cpu_millis || spec.uid_base || spec.uid_count)
                return INVALID("Labels, Priority, Network, Hostname, MemoryBytes, Pids, CPUMillis, UIDBase and "
                               "UIDCount are for images");

        req = (RunRequest) {
                .argv = argv,
                .envp = spec.env,
                .label = spec.label,
                .identity = spec.identity,
                .working_directory = spec.cwd,
                .root_directory = spec.root,
                .stdio = { fds[0], fds[1], fds[2] },
                .stdio_set = true,
                .tty = spec.tty,
                .uid = spec.uid,
                .gid = spec.gid,
                .image = spec.image ? &cc : NULL,
                .stop_timeout_usec = spec.stop_timeout_usec,
        };
        r = manager_run(m, &req, &mw, &err);
        if (r < 0)
                return reply_error(e, &err, r);
        return sd_bus_reply_method_return(msg, "so", mw->id, mw->object_path);
}

static int append_workload(sd_bus_message *reply, Managed *mw) {
        _cleanup_free_ char *cmd = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&cmd, &len);

        if (!f)
                return -ENOMEM;
        for (char **a = mw->argv; a && *a; a++)
                fprintf(f, "%s%s", a == mw->argv ? "" : " ", *a);
        if (fclose(f) != 0)
                return -ENOMEM;
        /* One line per workload in a listing: the command's own line breaks and controls become spaces. */
        for (char *c = cmd; c && *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        *c = ' ';
        return sd_bus_message_append(reply, "(sssuso)", mw->id, strempty(mw->label),
                                     managed_state_to_string(mw->state),
                                     mw->w ? (uint32_t) workload_get_pid(mw->w) : 0u, strempty(cmd), mw->object_path);
}

static int method_list(sd_bus_message *msg, void *userdata, sd_bus_error *e) {
        Manager *m = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Managed *mw;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sssuso)");
        if (r < 0)
                return r;
        HASHMAP_FOREACH (mw, m->workloads, i) {
                r = append_workload(reply, mw);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

typedef int (*WorkloadOp)(Managed *mw, ForgeError *err);

static int workload_op(sd_bus_message *msg, Manager *m, const char *id, WorkloadOp op, sd_bus_error *e) {
        ForgeError err = {};
        Managed *mw = lookup(m, id, e);
        int r;

        if (!mw)
                return -ENOENT;
        r = op(mw, &err);
        if (r < 0)
                return reply_error(e, &err, r);
        return sd_bus_reply_method_return(msg, NULL);
}

static int op_on_id(sd_bus_message *msg, void *userdata, sd_bus_error *e, WorkloadOp op) {
        const char *id;
        int r = sd_bus_message_read(msg, "s", &id);

        if (r < 0)
                return r;
        return workload_op(msg, userdata, id, op, e);
}

static int method_stop(sd_bus_message *msg, void *userdata, sd_bus_error *e) {
        return op_on_id(msg, userdata, e, manager_stop_workload);
}

static int method_pause(sd_bus_message *msg, void *userdata, sd_bus_error *e) {
        return op_on_id(msg, userdata, e, manager_pause);
}

static int method_resume(sd_bus_message *msg, void *userdata, sd_bus_error *e) {
        return op_on_id(msg, userdata, e, manager_resume);
}

static int method_release(sd_bus_message *msg, void *userdata, sd_bus_error *e) {
        return op_on_id(msg, userdata, e, manager_release);
}

static int do_quarantine(sd_bus_message *msg, Managed *mw, const char *reason, sd_bus_error *e) {
        ForgeError err = {};
        int r = manager_quarantine(mw, reason, &err);

        if (r < 0)
                return reply_error(e, &err, r);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_quarantine(sd_bus_message *msg, void *userdata, sd_bus_error *e) {
        const char *id, *reason;
        Managed *mw;
        int r = sd_bus_message_read(msg, "ss", &id, &reason);

        if (r < 0)
                return r;
        mw = lookup(userdata, id, e);
        return mw ? do_quarantine(msg, mw, reason, e) : -ENOENT;
}

static int do_kill(sd_bus_message *msg, Managed *mw, int sig, sd_bus_error *e) {
        ForgeError err = {};
        int r = manager_kill(mw, sig, &err);

        if (r < 0)
                return reply_error(e, &err, r);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_kill(sd_bus_message *msg, void *userdata, sd_bus_error *e) {
        const char *id;
        int32_t sig;
        Managed *mw;
        int r = sd_bus_message_read(msg, "si", &id, &sig);

        if (r < 0)
                return r;
        mw = lookup(userdata, id, e);
        return mw ? do_kill(msg, mw, sig, e) : -ENOENT;
}

static int method_reload(sd_bus_message *msg, void *userdata, sd_bus_error *e) {
        Manager *m = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(reload_result_done) ReloadResult res = {};
        const char *path, *text;
        ForgeError err = {};
        int r;

        r = sd_bus_message_read(msg, "ss", &path, &text);
        if (r < 0)
                return r;
        /* A text with a path is that file's content, read by the caller (the daemon may not see its files):
         * the path names it in errors and in PolicySource. */
        r = manager_reload(m, *path ? path : NULL, *text ? text : NULL, &res, &err);
        if (r < 0) {
                log_warning("Reload refused, the previous policy stays active: %s", forge_error_message(&err, r));
                return reply_error(e, &err, r);
        }
        manager_bus_emit_policy_reloaded(m, &res);
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "ts", res.generation, res.digest);
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(reply, res.restart_to_apply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_policy(sd_bus_message *msg, void *userdata, sd_bus_error *e) {
        Manager *m = userdata;

        return sd_bus_reply_method_return(msg, "ssst", strempty(m->policy_source), strempty(m->policy_text),
                                          m->policy_digest, m->generation);
}

static int method_explain(sd_bus_message *msg, void *userdata, sd_bus_error *e) {
        Manager *m = userdata;
        _cleanup_free_ char *syscall_name = NULL, *identity = NULL, *workload = NULL, *path = NULL, *access = NULL,
                            *arch = NULL;
        ExplainQuery q = { .trust = -1 };
        ExplainResult res;
        ForgeError err = {};
        const char *key;
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                if (streq(key, "Syscall"))
                        r = read_string_variant(msg, &syscall_name);
                else if (streq(key, "Identity"))
                        r = read_string_variant(msg, &identity);
                else if (streq(key, "Workload"))
                        r = read_string_variant(msg, &workload);
                else if (streq(key, "Path"))
                        r = read_string_variant(msg, &path);
                else if (streq(key, "Access"))
                        r = read_string_variant(msg, &access);
                else if (streq(key, "Arch"))
                        r = read_string_variant(msg, &arch);
                else if (streq(key, "Trust"))
                        r = sd_bus_message_read(msg, "v", "i", &q.trust);
                else if (streq(key, "Args")) {
                        const void *p;
                        size_t n;
                        r = sd_bus_message_enter_container(msg, 'v', "at");
                        if (r >= 0)
                                r = sd_bus_message_read_array(msg, 't', &p, &n);
                        if (r >= 0)
                                memcpy(q.args, p, MIN(n, sizeof q.args));
                        if (r >= 0)
                                r = sd_bus_message_exit_container(msg);
                } else
                        return sd_bus_error_setf(e, "org.forgeone.Error.InvalidArgument", "unknown Explain key '%s'", key);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;
        q.syscall = syscall_name;
        q.identity = identity;
        q.workload = workload;
        q.path = path;
        q.access = access;
        q.arch = arch;
        r = manager_explain(m, &q, &res, &err);
        if (r < 0)
                return reply_error(e, &err, r);
        return sd_bus_reply_method_return(msg, "ssssis", res.verdict, res.error, res.rule, res.identity, res.trust,
                                          res.text);
}

/* ---- the observer (forgeone.observer(7)) ---- */

/* One workload's counts: id, trust, calls, errors, kernel denials, answered, the supervisor's decisions by
 * action (continue, emulate, deny, quarantine), matched, mismatched. */
#define OBSERVED_SIGNATURE "(sitttttttttt)"

static int append_observed(sd_bus_message *reply, const ObserverWorkloadInfo *wi) {
        return sd_bus_message_append(reply, OBSERVED_SIGNATURE, wi->id, wi->trust, wi->calls, wi->errors,
                                     wi->kernel_denied, wi->answered, wi->supervisor[SUPERVISOR_ACTION_CONTINUE],
                                     wi->supervisor[SUPERVISOR_ACTION_EMULATE],
                                     wi->supervisor[SUPERVISOR_ACTION_DENY],
                                     wi->supervisor[SUPERVISOR_ACTION_QUARANTINE], wi->matched, wi->mismatched);
}

static const char *observer_status(Manager *m) {
        if (!m->observer)
                return m->observer_off;
        return observer_get_pin_dir(m->observer) ?: "on, not pinned";
}

static int method_top(sd_bus_message *msg, void *userdata, sd_bus_error *e) {
        Manager *m = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(observer_snapshot_done) ObserverSnapshot s = { .time_ns = time_now_usec(CLOCK_MONOTONIC) * 1000u };
        int r;

        if (m->observer) {
                r = manager_observer_snapshot(m, false, &s);
                if (r < 0)
                        return sd_bus_error_set_errnof(e, -r, "Cannot read the observer's maps: %s", strerror(-r));
        }
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "bst", m->observer != NULL, observer_status(m), s.time_ns);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', OBSERVED_SIGNATURE);
        for (size_t i = 0; r >= 0 && i < s.n_workloads; i++)
                r = append_observed(reply, &s.workloads[i]);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_observe(sd_bus_message *msg, void *userdata, sd_bus_error *e) {
        Manager *m = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(observer_snapshot_done) ObserverSnapshot s = {};
        const ObserverWorkloadInfo *wi;
        const char *id;
        int r;

        r = sd_bus_message_read(msg, "s", &id);
        if (r < 0)
                return r;
        if (!m->observer)
                return sd_bus_error_setf(e, "org.forgeone.Error.ObserverOff", "The observer is off: %s",
                                         m->observer_off);
        r = manager_observer_snapshot(m, true, &s);
        if (r < 0)
                return sd_bus_error_set_errnof(e, -r, "Cannot read the observer's maps: %s", strerror(-r));
        wi = observer_snapshot_find(&s, id);
        if (!wi) {
                if (!lookup(m, id, e))
                        return -ENOENT;
                return sd_bus_error_setf(e, "org.forgeone.Error.NotFound",
                                         "the observer does not watch workload '%s' (it has ended, or it runs "
                                         "unwatched: see its notices)", id);
        }
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "t", s.time_ns);
        if (r >= 0)
                r = append_observed(reply, wi);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ubtttt)");
        for (size_t i = 0; r >= 0 && i < wi->n_syscalls; i++) {
                const ObserverSyscall *sc = &wi->syscalls[i];
                r = sd_bus_message_append(reply, "(ubtttt)", sc->nr, (int) sc->compat, sc->calls, sc->errors,
                                          sc->kernel_denied, sc->answered);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int property_observer(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *e) {
        Manager *m = userdata;

        if (streq(property, "ObserverActive"))
                return sd_bus_message_append(reply, "b", m->observer != NULL);
        return sd_bus_message_append(reply, "s", observer_status(m));
}

/* Computed when asked (forgeone.trust(7)): the anchor is read again and compared with the TPM. */
static int property_trust(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *e) {
        Manager *m = userdata;
        ForgeError err = {};
        char buf[2048];
        int r;

        r = manager_trust_refresh(m, &err);
        if (r < 0)
                snprintf(m->trust_error, sizeof m->trust_error, "%s", forge_error_message(&err, r));
        else
                m->trust_error[0] = 0;
        return sd_bus_message_append(reply, "s", manager_trust_status(m, buf, sizeof buf));
}

static char **saved_argv;

void manager_bus_set_argv(char **argv) {
        saved_argv = argv;
}

static int method_reexecute(sd_bus_message *msg, void *userdata, sd_bus_error *e) {
        Manager *m = userdata;
        int r;

        /* The answer first: the connection goes with the exec. */
        r = sd_bus_reply_method_return(msg, NULL);
        if (r < 0)
                return r;
        (void) sd_bus_flush(m->bus);
        r = manager_reexec(m, saved_argv);
        /* Only on failure; the fds may have been moved already: exit, the service manager restarts us with
         * the fd store. */
        log_error_errno(r, "Failed to re-execute: %m");
        m->exit_code = 1;
        m->leave_running = true;
        (void) sd_event_exit(m->event, 1);
        return 0;
}

static int property_counter(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *e) {
        Manager *m = userdata;
        uint64_t c[_SUPERVISOR_ACTION_MAX];
        SupervisorAction a = streq(property, "DecisionsContinued") ? SUPERVISOR_ACTION_CONTINUE
                             : streq(property, "DecisionsEmulated")  ? SUPERVISOR_ACTION_EMULATE
                             : streq(property, "DecisionsDenied")    ? SUPERVISOR_ACTION_DENY
                                                                     : SUPERVISOR_ACTION_QUARANTINE;

        manager_get_counts(m, c);
        return sd_bus_message_append(reply, "t", c[a]);
}

static int property_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *e) {
        return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

static int property_digest(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *e) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", m->policy_digest);
}

static int property_source(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *e) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", strempty(m->policy_source));
}

static int property_generation(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *e) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "t", m->generation);
}

static int property_n_workloads(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *e) {
        Manager *m = userdata;
        Managed *mw;
        uint32_t n = 0;

        HASHMAP_FOREACH (mw, m->workloads, i)
                n += mw->w != NULL;
        return sd_bus_message_append(reply, "u", n);
}

static const sd_bus_vtable supervisor_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PolicyDigest", "s", property_digest, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PolicyGeneration", "t", property_generation, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PolicySource", "s", property_source, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NWorkloads", "u", property_n_workloads, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DecisionsContinued", "t", property_counter, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DecisionsEmulated", "t", property_counter, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DecisionsDenied", "t", property_counter, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DecisionsQuarantined", "t", property_counter, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Run", SD_BUS_ARGS("a{sv}", spec, "as", argv, "h", stdin_fd, "h", stdout_fd, "h",
                                                   stderr_fd),
                                SD_BUS_RESULT("s", id, "o", path), method_run, PRIV),
        SD_BUS_METHOD_WITH_ARGS("List", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sssuso)", workloads), method_list, READER),
        SD_BUS_METHOD_WITH_ARGS("Stop", SD_BUS_ARGS("s", id), SD_BUS_NO_RESULT, method_stop, PRIV),
        SD_BUS_METHOD_WITH_ARGS("Pause", SD_BUS_ARGS("s", id), SD_BUS_NO_RESULT, method_pause, PRIV),
        SD_BUS_METHOD_WITH_ARGS("Resume", SD_BUS_ARGS("s", id), SD_BUS_NO_RESULT, method_resume, PRIV),
        SD_BUS_METHOD_WITH_ARGS("Quarantine", SD_BUS_ARGS("s", id, "s", reason), SD_BUS_NO_RESULT, method_quarantine,
                                PRIV),
        SD_BUS_METHOD_WITH_ARGS("Release", SD_BUS_ARGS("s", id), SD_BUS_NO_RESULT, method_release, PRIV),
        SD_BUS_METHOD_WITH_ARGS("Kill", SD_BUS_ARGS("s", id, "i", signal), SD_BUS_NO_RESULT, method_kill, PRIV),
        SD_BUS_METHOD_WITH_ARGS("ReloadPolicy", SD_BUS_ARGS("s", path, "s", text),
                                SD_BUS_RESULT("t", generation, "s", digest, "as", restart_to_apply), method_reload,
                                PRIV),
        SD_BUS_METHOD_WITH_ARGS("GetPolicy", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("s", source, "s", text, "s", digest, "t", generation), method_get_policy,
                                READER),
        SD_BUS_METHOD_WITH_ARGS("Explain", SD_BUS_ARGS("a{sv}", query),
                                SD_BUS_RESULT("s", verdict, "s", errno_name, "s", rule, "s", identity, "i", trust, "s",
                                              explanation),
                                method_explain, READER),
        SD_BUS_METHOD_WITH_ARGS("Reexecute", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_reexecute, PRIV),
        SD_BUS_PROPERTY("TrustStatus", "s", property_trust, 0, 0),
        SD_BUS_PROPERTY("ObserverActive", "b", property_observer, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ObserverStatus", "s", property_observer, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("Top", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("b", active, "s", status, "t", monotonic_ns,
                                              "a" OBSERVED_SIGNATURE, workloads),
                                method_top, READER),
        SD_BUS_METHOD_WITH_ARGS("Observe", SD_BUS_ARGS("s", id),
                                SD_BUS_RESULT("t", monotonic_ns, OBSERVED_SIGNATURE, workload, "a(ubtttt)", syscalls),
                                method_observe, READER),
        SD_BUS_SIGNAL_WITH_ARGS("PolicyReloaded", SD_BUS_ARGS("t", generation, "s", digest, "as", restart_to_apply), 0),
        SD_BUS_SIGNAL_WITH_ARGS("WorkloadStateChanged",
                                SD_BUS_ARGS("s", id, "o", path, "s", state, "i", exit_status), 0),
        SD_BUS_SIGNAL_WITH_ARGS("WorkloadRemoved", SD_BUS_ARGS("s", id, "o", path), 0),
        SD_BUS_VTABLE_END,
};

/* ---- Workload1 ---- */

static int find_workload(sd_bus *bus, const char *path, const char *interface, void *userdata, void **ret,
                         sd_bus_error *e) {
        Manager *m = userdata;
        _cleanup_free_ char *id = NULL;
        Managed *mw;
        int r;

        r = sd_bus_path_decode(path, FORGEONED_BUS_WORKLOAD_PREFIX, &id);
        if (r <= 0)
                return r;
        mw = manager_find(m, id);
        if (!mw)
                return 0;
        *ret = mw;
        return 1;
}

static int enumerate_workloads(sd_bus *bus, const char *prefix, void *userdata, char ***ret, sd_bus_error *e) {
        Manager *m = userdata;
        char **l = calloc(hashmap_size(m->workloads) + 1, sizeof(char *));
        size_t n = 0;
        Managed *mw;

        if (!l)
                return -ENOMEM;
        HASHMAP_FOREACH (mw, m->workloads, i) {
                l[n] = strdup(mw->object_path);
                if (!l[n]) {
                        strv_free(l);
                        return -ENOMEM;
                }
                n++;
        }
        *ret = l;
        return 0;
}

#define WORKLOAD_PROPERTY(fn, type, expr)                                                                   \
        static int fn(sd_bus *bus, const char *path, const char *interface, const char *property,          \
                      sd_bus_message *reply, void *userdata, sd_bus_error *e) {                             \
                Managed *mw = userdata;                                                                     \
                return sd_bus_message_append(reply, type, expr);                                            \
        }

WORKLOAD_PROPERTY(wp_id, "s", mw->id)
WORKLOAD_PROPERTY(wp_label, "s", strempty(mw->label))
WORKLOAD_PROPERTY(wp_state, "s", managed_state_to_string(mw->state))
WORKLOAD_PROPERTY(wp_pid, "u", mw->w ? (uint32_t) workload_get_pid(mw->w) : 0u)
WORKLOAD_PROPERTY(wp_reason, "s", strempty(mw->reason))
WORKLOAD_PROPERTY(wp_image, "s", strempty(mw->image))
WORKLOAD_PROPERTY(wp_exit_status, "i", mw->state == MANAGED_EXITED ? mw->exit_status : -1)
WORKLOAD_PROPERTY(wp_started, "t", mw->started_usec)
WORKLOAD_PROPERTY(wp_restart, "b", (int) mw->restart_to_apply)
WORKLOAD_PROPERTY(wp_generation, "t",
                  mw->w && workload_get_supervisor(mw->w) ? supervisor_get_generation(workload_get_supervisor(mw->w))
                                                          : (uint64_t) 0)
WORKLOAD_PROPERTY(wp_trust, "i",
                  mw->w && workload_get_supervisor(mw->w) ? supervisor_get_trust(workload_get_supervisor(mw->w)) : -1)

static int wp_command(sd_bus *bus, const char *path, const char *interface, const char *property,
                      sd_bus_message *reply, void *userdata, sd_bus_error *e) {
        Managed *mw = userdata;
        return sd_bus_message_append_strv(reply, mw->argv);
}

static int wp_identity(sd_bus *bus, const char *path, const char *interface, const char *property,
                       sd_bus_message *reply, void *userdata, sd_bus_error *e) {
        Managed *mw = userdata;
        WorkloadState st = {};

        if (mw->w)
                workload_get_state(mw->w, &st);
        return sd_bus_message_append(reply, "s", st.identity ?: "*");
}

static int wp_decisions(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *e) {
        Managed *mw = userdata;
        SupervisorCounts c;
        int r;

        managed_get_counts(mw, &c);
        r = sd_bus_message_open_container(reply, 'a', "{st}");
        for (size_t a = 0; r >= 0 && a < _SUPERVISOR_ACTION_MAX; a++)
                r = sd_bus_message_append(reply, "{st}", supervisor_action_to_string((SupervisorAction) a),
                                          c.decisions[a]);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int wmethod_stop(sd_bus_message *msg, void *userdata, sd_bus_error *e) {
        Managed *mw = userdata;
        return workload_op(msg, mw->m, mw->id, manager_stop_workload, e);
}

static int wmethod_pause(sd_bus_message *msg, void *userdata, sd_bus_error *e) {
        Managed *mw = userdata;
        return workload_op(msg, mw->m, mw->id, manager_pause, e);
}

static int wmethod_resume(sd_bus_message *msg, void *userdata, sd_bus_error *e) {
        Managed *mw = userdata;
        return workload_op(msg, mw->m, mw->id, manager_resume, e);
}

static int wmethod_release(sd_bus_message *msg, void *userdata, sd_bus_error *e) {
        Managed *mw = userdata;
        return workload_op(msg, mw->m, mw->id, manager_release, e);
}

static int wmethod_quarantine(sd_bus_message *msg, void *userdata, sd_bus_error *e) {
        const char *reason;
        int r = sd_bus_message_read(msg, "s", &reason);

        if (r < 0)
                return r;
        return do_quarantine(msg, userdata, reason, e);
}

static int wmethod_kill(sd_bus_message *msg, void *userdata, sd_bus_error *e) {
        int32_t sig;
        int r = sd_bus_message_read(msg, "i", &sig);

        if (r < 0)
                return r;
        return do_kill(msg, userdata, sig, e);
}

static const sd_bus_vtable workload_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "s", wp_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Name", "s", wp_label, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Command", "as", wp_command, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Image", "s", wp_image, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", wp_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Pid", "u", wp_pid, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Identity", "s", wp_identity, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("Reason", "s", wp_reason, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ExitStatus", "i", wp_exit_status, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("StartedUSec", "t", wp_started, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("RestartToApply", "b", wp_restart, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("PolicyGeneration", "t", wp_generation, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("Trust", "i", wp_trust, 0, 0),
        SD_BUS_PROPERTY("Decisions", "a{st}", wp_decisions, 0, 0),
        SD_BUS_METHOD("Stop", NULL, NULL, wmethod_stop, PRIV),
        SD_BUS_METHOD("Pause", NULL, NULL, wmethod_pause, PRIV),
        SD_BUS_METHOD("Resume", NULL, NULL, wmethod_resume, PRIV),
        SD_BUS_METHOD_WITH_ARGS("Quarantine", SD_BUS_ARGS("s", reason), SD_BUS_NO_RESULT, wmethod_quarantine, PRIV),
        SD_BUS_METHOD("Release", NULL, NULL, wmethod_release, PRIV),
        SD_BUS_METHOD_WITH_ARGS("Kill", SD_BUS_ARGS("i", signal), SD_BUS_NO_RESULT, wmethod_kill, PRIV),
        SD_BUS_VTABLE_END,
};

/* ---- setup and signals ---- */

int manager_bus_setup(Manager *m) {
        int r;

        if (m->cfg.bus_address) {
                r = sd_bus_new(&m->bus);
                if (r < 0)
                        return r;
                r = sd_bus_set_address(m->bus, m->cfg.bus_address);
                if (r < 0)
                        return r;
                (void) sd_bus_set_bus_client(m->bus, true);
                (void) sd_bus_negotiate_fds(m->bus, true);
                r = sd_bus_start(m->bus);
        } else
                r = sd_bus_open_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the %s bus: %m",
                                       m->cfg.bus_address ? m->cfg.bus_address : "system");
        r = sd_bus_add_object_vtable(m->bus, NULL, FORGEONED_BUS_PATH, FORGEONED_BUS_INTERFACE, supervisor_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the D-Bus object: %m");
        r = sd_bus_add_fallback_vtable(m->bus, NULL, FORGEONED_BUS_WORKLOAD_PREFIX, FORGEONED_BUS_WORKLOAD_INTERFACE,
                                       workload_vtable, find_workload, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the workload objects: %m");
        r = sd_bus_add_node_enumerator(m->bus, NULL, FORGEONED_BUS_WORKLOAD_PREFIX, enumerate_workloads, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the workload enumerator: %m");
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
        r = sd_bus_request_name(m->bus, FORGEONED_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to own the name %s: %m", FORGEONED_BUS_NAME);
        return 0;
}

void manager_bus_emit_workload_state(Managed *mw) {
        Manager *m = mw->m;

        if (!m->bus)
                return;
        (void) sd_bus_emit_signal(m->bus, FORGEONED_BUS_PATH, FORGEONED_BUS_INTERFACE, "WorkloadStateChanged", "sosi",
                                  mw->id, mw->object_path, managed_state_to_string(mw->state),
                                  mw->state == MANAGED_EXITED ? mw->exit_status : -1);
        (void) sd_bus_emit_properties_changed(m->bus, mw->object_path, FORGEONED_BUS_WORKLOAD_INTERFACE, "State",
                                              "Reason", "ExitStatus", "Pid", NULL);
        (void) sd_bus_emit_properties_changed(m->bus, FORGEONED_BUS_PATH, FORGEONED_BUS_INTERFACE, "NWorkloads", NULL);
}

void manager_bus_emit_workload_removed(Managed *mw) {
        if (mw->m->bus)
                (void) sd_bus_emit_signal(mw->m->bus, FORGEONED_BUS_PATH, FORGEONED_BUS_INTERFACE, "WorkloadRemoved",
                                          "so", mw->id, mw->object_path);
}

void manager_bus_emit_policy_reloaded(Manager *m, const ReloadResult *res) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *sig = NULL;

        if (!m->bus)
                return;
        if (sd_bus_message_new_signal(m->bus, &sig, FORGEONED_BUS_PATH, FORGEONED_BUS_INTERFACE, "PolicyReloaded") >= 0 &&
            sd_bus_message_append(sig, "ts", res->generation, res->digest) >= 0 &&
            sd_bus_message_append_strv(sig, res->restart_to_apply) >= 0)
                (void) sd_bus_send(m->bus, sig, NULL);
        (void) sd_bus_emit_properties_changed(m->bus, FORGEONED_BUS_PATH, FORGEONED_BUS_INTERFACE, "PolicyDigest",
                                              "PolicyGeneration", "PolicySource", NULL);
}

void manager_bus_emit_counters(Manager *m) {
        if (m->bus)
                (void) sd_bus_emit_properties_changed(m->bus, FORGEONED_BUS_PATH, FORGEONED_BUS_INTERFACE,
                                                      "DecisionsContinued", "DecisionsEmulated", "DecisionsDenied",
                                                      "DecisionsQuarantined", NULL);
}

bool manager_bus_restart_pending(Manager *m) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *type = NULL;
        const char *unit, *job;
        uint32_t id;

        /* Only systemd on the system bus knows; a private bus (tests) has no service manager. */
        if (!m->bus || m->cfg.bus_address || sd_booted() <= 0)
                return false;
        if (sd_bus_call_method(m->bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "GetUnitByPID", &e, &reply, "u",
                               (uint32_t) getpid()) < 0 ||
            sd_bus_message_read(reply, "o", &unit) < 0)
                return false;
        {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *jr = NULL;
                _cleanup_free_ char *unit_path = strdup(unit);

                if (!unit_path ||
                    sd_bus_get_property(m->bus, "org.freedesktop.systemd1", unit_path, "org.freedesktop.systemd1.Unit",
                                        "Job", &e, &jr, "(uo)") < 0 ||
                    sd_bus_message_read(jr, "(uo)", &id, &job) < 0 || id == 0)
                        return false;
                if (sd_bus_get_property_string(m->bus, "org.freedesktop.systemd1", job, "org.freedesktop.systemd1.Job",
                                               "JobType", &e, &type) < 0)
                        return false;
        }
        log_info("systemd's job for this unit: %s.", type);
        return streq(type, "restart") || streq(type, "try-restart") || streq(type, "reload-or-restart");
}
