/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The manager: the workloads forgeoned owns, the active policy and its
 * reload, and the consumers of the event sink. See manager.h.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "forgeone/event-format.h"
#include "forgeone/fs-util.h"
#include "forgeone/log.h"
#include "forgeone/string-table.h"
#include "forgeone/syscall-table.h"
#include "forgeone/time-util.h"
#include "manager.h"

#define POLICY_MAX_SIZE (16u * 1024u * 1024u)

static const char *const log_decisions_table[_LOG_DECISIONS_MAX] = {
        [LOG_DECISIONS_NONE] = "none",
        [LOG_DECISIONS_DENIALS] = "denials",
        [LOG_DECISIONS_ALL] = "all",
};

DEFINE_STRING_TABLE_LOOKUP(log_decisions, LogDecisions)

/* ---- consumers of the event sink ---- */

/* Which decisions the log wants as records. */
static unsigned log_actions(const Manager *m) {
        switch (m->cfg.log_decisions) {
        case LOG_DECISIONS_ALL:
                return (1u << _SUPERVISOR_ACTION_MAX) - 1;
        case LOG_DECISIONS_DENIALS:
                return (1u << SUPERVISOR_ACTION_DENY) | (1u << SUPERVISOR_ACTION_QUARANTINE);
        default:
                return 0;
        }
}

static bool wanted(unsigned actions, const EventRecord *r) {
        return r->type == EVENT_DECISION && r->decision.action >= 0 && (actions & (1u << r->decision.action));
}

/* stderr, which is the journal under systemd: one line per decision asked for, and the notices. The
 * sink's consumers all see every record some consumer (the audit) asked for: each picks its own. */
static void log_consume(const EventRecord *r, void *userdata) {
        Manager *m = userdata;
        char line[8192];

        if (r->type == EVENT_NOTICE) {
                log_info("%s: %s", r->workload, strempty(r->text));
                return;
        }
        if (!wanted(log_actions(m), r))
                return;
        event_format_line(&r->decision, line, sizeof line);
        if (r->decision.action == SUPERVISOR_ACTION_QUARANTINE)
                log_warning("%s: %s", r->workload, line);
        else if (r->decision.action == SUPERVISOR_ACTION_DENY)
                log_notice("%s: %s", r->workload, line);
        else
                log_info("%s: %s", r->workload, line);
}

/* The decision log: every decision and notice as a JSON line, flushed per batch. */
static void file_consume(const EventRecord *r, void *userdata) {
        Manager *m = userdata;
        _cleanup_free_ char *j = NULL;

        if (r->type == EVENT_TICK)
                return;
        if (event_format_json(r, &j) >= 0)
                fprintf(m->decision_log, "%s\n", j);
}

static int counters_timer_arm(Manager *m);

static int on_counters_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        uint64_t c[_SUPERVISOR_ACTION_MAX];

        manager_get_counts(m, c);
        if (memcmp(c, m->counters_emitted, sizeof c) != 0) {
                memcpy(m->counters_emitted, c, sizeof c);
                m->counters_last_usec = usec;
                manager_bus_emit_counters(m);
        }
        /* Decisions that only count (no consumer wants their records) wake nobody: look again while
         * workloads run. */
        if (hashmap_size(m->workloads) > 0)
                (void) sd_event_source_set_time(s, usec + FORGEONED_COUNTERS_INTERVAL_USEC);
        return sd_event_source_set_enabled(s, hashmap_size(m->workloads) > 0 ? SD_EVENT_ONESHOT : SD_EVENT_OFF);
}

/* The D-Bus counters: after a batch, PropertiesChanged at most once per interval. */
static int counters_timer_arm(Manager *m) {
        uint64_t now, at;
        int enabled = SD_EVENT_OFF;

        if (!m->counters_timer || sd_event_now(m->event, CLOCK_MONOTONIC, &now) < 0)
                return 0;
        (void) sd_event_source_get_enabled(m->counters_timer, &enabled);
        if (enabled != SD_EVENT_OFF)
                return 0;
        at = ratelimit_next(m->counters_last_usec, FORGEONED_COUNTERS_INTERVAL_USEC, now);
        (void) sd_event_source_set_time(m->counters_timer, at);
        return sd_event_source_set_enabled(m->counters_timer, SD_EVENT_ONESHOT);
}

size_t manager_drain(Manager *m) {
        size_t n;

        if (!m->sink)
                return 0;
        /* A bounded batch: the sink's fd stays readable while more wait, so the loop serves the bus and
         * the workloads in between. */
        n = event_sink_drain_batch(m->sink, MANAGER_DRAIN_BATCH, NULL, NULL);
        if (m->decision_log)
                (void) fflush(m->decision_log);
        (void) counters_timer_arm(m);
        return n;
}

static int on_sink(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        (void) manager_drain(userdata);
        return 0;
}

static void audit_warn(const char *text, void *userdata) {
        log_warning("audit: %s", text);
}

static int audit_setup(Manager *m) {
        AuditConfig ac;
        ForgeError err = {};
        int r;

        audit_config_init(&ac);
        ac.allow = m->cfg.audit_allow;
        ac.state_dir = m->cfg.audit_dir;
        ac.key_path = m->cfg.audit_key;
        ac.warn = audit_warn;
        r = audit_new(&ac, &m->audit, &err);
        if (r < 0)
                return log_error_errno(r, "Cannot start the audit (--no-audit runs without one): %s",
                                       forge_error_message(&err, r));
        r = audit_attach(m->audit, m->sink);
        if (r < 0)
                return log_error_errno(r, "Cannot attach the audit to the event sink: %m");
        return 0;
}

/* The observer watches every workload from its first call (workload.h); off, the daemon runs without it and
 * says why (forgeonectl daemon status). After the audit: it wants every answered call as a record, outside
 * the audit's budget. */
static int observer_setup(Manager *m) {
        int r;

        if (!m->cfg.observer) {
                snprintf(m->observer_off, sizeof m->observer_off,
                         "off (--no-observer, the default; --observer turns it on)");
                return 0;
        }
        r = observer_new(&(ObserverConfig){ .name = "forgeoned", .pin_root = m->cfg.observer_root }, &m->observer,
                         m->observer_off);
        if (r < 0) {
                log_notice("The observer is off: %s.", m->observer_off);
                return 0;
        }
        r = observer_attach(m->observer, m->sink);
        if (r < 0)
                return log_error_errno(r, "Cannot attach the observer to the event sink: %m");
        if (observer_get_pin_dir(m->observer))
                log_info("The observer watches the workloads; its maps are pinned in %s.",
                         observer_get_pin_dir(m->observer));
        else
                log_info("The observer watches the workloads; its maps are not pinned: %s.",
                         observer_get_pin_error(m->observer));
        /* Its timed work (kernel denials to trust and the audit, unmatched decisions) runs on the sink's ticks. */
        return event_sink_set_tick(m->sink, 1000000u);
}

int manager_observer_snapshot(Manager *m, bool syscalls, ObserverSnapshot *ret) {
        if (!m->observer)
                return -ENODATA;
        return observer_snapshot(m->observer, syscalls, ret);
}

static int consumers_setup(Manager *m) {
        unsigned ours = log_actions(m);
        int r;

        r = event_sink_new(0, &m->sink);
        if (r < 0)
                return r;
        /* Records only of what a consumer wants: the audit sets its modes, the log and the decision log
         * add theirs; everything else is counted, exactly, by the sink. */
        if (m->cfg.decision_log)
                ours = (1u << _SUPERVISOR_ACTION_MAX) - 1;
        if (m->cfg.no_audit)
                event_sink_set_record_mask(m->sink, ours);
        else {
                r = audit_setup(m);
                if (r < 0)
                        return r;
                for (int a = 0; a < _SUPERVISOR_ACTION_MAX; a++)
                        if (ours & (1u << a))
                                event_sink_set_mode(m->sink, (SupervisorAction) a, EVENT_SINK_RECORD);
        }
        r = observer_setup(m);
        if (r < 0)
                return r;
        if (m->cfg.log_decisions != LOG_DECISIONS_NONE) {
                r = event_sink_add_consumer(m->sink, log_consume, m);
                if (r < 0)
                        return r;
        }
        if (m->cfg.decision_log) {
                m->decision_log = fopen(m->cfg.decision_log, "ae");
                if (!m->decision_log)
                        return log_error_errno(-errno, "Failed to open the decision log %s: %m", m->cfg.decision_log);
                r = event_sink_add_consumer(m->sink, file_consume, m);
                if (r < 0)
                        return r;
        }

        r = sd_event_add_io(m->event, &m->sink_source, event_sink_get_fd(m->sink), EPOLLIN, on_sink, m);
        if (r < 0)
                return r;
        /* Below the bus and the workloads' ends: a storm of decisions to log never delays a call. */
        (void) sd_event_source_set_priority(m->sink_source, SD_EVENT_PRIORITY_NORMAL + 10);
        r = sd_event_add_time(m->event, &m->counters_timer, CLOCK_MONOTONIC, 0, 100 * 1000, on_counters_timer, m);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(m->counters_timer, SD_EVENT_OFF);
}

/* ---- the manager ---- */

static char *strdup_or_null(const char *s) {
        return s ? strdup(s) : NULL;
}

int manager_new(const ManagerConfig *cfg, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->state_fd = -EBADF;
        m->cfg = (ManagerConfig) {
                .policy_file = strdup_or_null(cfg->policy_file),
                .state_dir = strdup(cfg->state_dir ?: FORGEONED_DEFAULT_STATE_DIR),
                .bus_address = strdup_or_null(cfg->bus_address),
                .cgroup_parent = strdup_or_null(cfg->cgroup_parent),
                .decision_log = strdup_or_null(cfg->decision_log),
                .no_audit = cfg->no_audit,
                .observer = cfg->observer,
                .observer_root = strdup_or_null(cfg->observer_root),
                .audit_allow = cfg->audit_allow,
                .audit_dir = strdup_or_null(cfg->audit_dir),
                .audit_key = strdup_or_null(cfg->audit_key),
                .log_decisions = cfg->log_decisions,
                .keep_on_stop = cfg->keep_on_stop,
                .stop_timeout_usec = cfg->stop_timeout_usec ?: FORGEONED_DEFAULT_STOP_TIMEOUT_USEC,
                .max_workloads = cfg->max_workloads ?: FORGEONED_DEFAULT_MAX_WORKLOADS,
        };
        if (!m->cfg.state_dir)
                return -ENOMEM;
        m->generation = 1;
        m->next_id = 1;
        m->fdstore = getenv("NOTIFY_SOCKET") != NULL;

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        r = hashmap_new(&m->workloads);
        if (r < 0)
                return r;
        r = consumers_setup(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        Managed *mw;

        if (!m)
                return NULL;
        HASHMAP_FOREACH (mw, m->workloads, i)
                managed_free(mw);
        hashmap_free(m->workloads);
        m->workloads = NULL;
        /* What is left goes to the consumers (the log), then their sources go. */
        while (manager_drain(m) > 0)
                ;
        m->sink_source = sd_event_source_unref(m->sink_source);
        m->counters_timer = sd_event_source_unref(m->counters_timer);
        /* After the last drain: the rest of its aggregates, a stop record, a final checkpoint. */
        m->audit = audit_free(m->audit);
        m->observer = observer_free(m->observer);
        manager_image_done(m);
        event_sink_free(m->sink);
        if (m->decision_log)
                fclose(m->decision_log);
        sd_bus_slot_unref(m->name_slot);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        policy_graph_unref(m->graph);
        free(m->policy_text);
        free(m->policy_source);
        safe_close(m->state_fd);
        free(m->cfg.policy_file);
        free(m->cfg.state_dir);
        free(m->cfg.bus_address);
        free(m->cfg.cgroup_parent);
        free(m->cfg.decision_log);
        free(m->cfg.audit_dir);
        free(m->cfg.audit_key);
        free(m->cfg.observer_root);
        free(m);
        return NULL;
}

/* ---- policy ---- */

/* Parses and builds a policy from text; nothing changes in m. */
static int policy_prepare(const char *text, size_t len, const char *name, PolicyGraph **ret, ForgeError *err) {
        _cleanup_(policy_diagnostics_done) PolicyDiagnostics diag = {};
        Policy *p = NULL;
        int r;

        r = policy_load_string(text, len, name, &p, &diag, err);
        if (r < 0)
                return forge_error_set_kind(err, FORGE_ERROR_POLICY_INVALID, r, "policy %s does not load", name);
        r = policy_graph_new(p, ret);
        if (r < 0)
                return forge_error_set(err, r, "cannot build the graph of policy %s: %m", name);
        return 0;
}

static int policy_read(const char *path, char **ret_text, size_t *ret_len, ForgeError *err) {
        int r = read_full_file_at(AT_FDCWD, path, POLICY_MAX_SIZE, ret_text, ret_len);

        if (r < 0)
                return forge_error_set_kind(err, r == -ENOENT ? FORGE_ERROR_SYSTEM : FORGE_ERROR_POLICY_INVALID, r,
                                            "cannot read policy %s: %m", path);
        return 0;
}

/* Makes text (taken) the active policy, with its graph. */
static void policy_install(Manager *m, char *text, size_t len, const char *source, PolicyGraph *graph) {
        char *s = strdup(source);

        free(m->policy_text);
        m->policy_text = text;
        m->policy_len = len;
        if (s) {
                free(m->policy_source);
                m->policy_source = s;
        }
        daemon_digest_string(text, len, m->policy_digest, sizeof m->policy_digest);
        policy_graph_unref(m->graph);
        m->graph = policy_graph_ref(graph);
}

void reload_result_done(ReloadResult *r) {
        if (r)
                r->restart_to_apply = strv_free(r->restart_to_apply);
}

/* A refused reload is audited (forgeone.audit(7), "policy reload failed") as the daemon's own notice: the
 * generation in force stays, and the record says which and why. */
static void post_reload_failed(Manager *m, const char *source, int r, const ForgeError *err) {
        char text[2048];

        if (!m->sink)
                return;
        snprintf(text, sizeof text, "Reload of %s refused, generation %" PRIu64 " (%s) stays: %s", strempty(source),
                 m->generation, m->policy_digest, forge_error_message(err, r));
        event_sink_post_notice(m->sink, "forgeoned",
                               &(EventNotice){
                                       .kind = EVENT_NOTICE_POLICY_RELOAD_FAILED,
                                       .policy = source,
                                       .policy_digest = m->policy_digest[0] ? m->policy_digest : NULL,
                                       .generation = m->generation,
                                       .error = -r,
                                       .trust = -1,
                               },
                               text);
}

int manager_reload(Manager *m, const char *path, const char *text, ReloadResult *ret, ForgeError *err) {
        _cleanup_(policy_graph_unrefp) PolicyGraph *graph = NULL;
        _cleanup_free_ char *buf = NULL;
        _cleanup_strv_free_ char **restart = NULL;
        const char *source;
        size_t len, n_restart = 0;
        uint64_t gen;
        Managed *mw;
        char status[256];
        int r;

        if (text) {
                source = path && *path ? path : "(D-Bus)";
                len = strlen(text);
                buf = strdup(text);
                if (!buf)
                        return -ENOMEM;
        } else {
                source = path && *path ? path : m->cfg.policy_file;
                if (!source)
                        return forge_error_set(err, -EINVAL, "no policy file to reload: give one");
                r = policy_read(source, &buf, &len, err);
                if (r < 0) {
                        post_reload_failed(m, source, r, err);
                        return r;
                }
        }
        (void) sd_notifyf(false, "RELOADING=1\nSTATUS=Reloading the policy from %s\nMONOTONIC_USEC=%" PRIu64, source,
                          time_now_usec(CLOCK_MONOTONIC));

        /* Everything that can fail, before anything changes: parse, build, compile for every workload. */
        r = policy_prepare(buf, len, source, &graph, err);
        if (r < 0)
                goto done;
        HASHMAP_FOREACH (mw, m->workloads, i) {
                if (!mw->w)
                        continue;
                r = workload_check_graph(mw->w, graph, err);
                if (r < 0)
                        goto done;
                if (r > 0) {
                        r = strv_push(&restart, &n_restart, mw->id);
                        if (r < 0)
                                goto done;
                }
        }

        /* The swap: every workload moves to the new generation; a notification being decided finishes on
         * the one it started with. */
        gen = m->generation + 1;
        HASHMAP_FOREACH (mw, m->workloads, i) {
                if (!mw->w)
                        continue;
                r = workload_set_graph(mw->w, graph, gen, NULL);
                if (r < 0)
                        /* Checked above: only an allocation can fail here; the workload keeps deciding on
                         * the old generation, and says so. */
                        log_warning_errno(r, "Workload %s stays on the previous policy: %m", mw->id);
                else {
                        mw->restart_to_apply = r > 0;
                        (void) manager_save_workload(mw);
                }
        }
        m->generation = gen;
        policy_install(m, TAKE_PTR(buf), len, source, graph);
        {
                /* Every policy that decides is measured (forgeone.trust(7)); a failure is reported, the swap
                 * stands (the next image launch measures it again before it runs). */
                ForgeError e = {};
                int k = manager_trust_measure_policy(m, &e);
                if (k < 0)
                        log_warning("Trust: %s", forge_error_message(&e, k));
        }
        if (path && *path && !text) {
                char *f = strdup(path);
                if (f) {
                        free(m->cfg.policy_file);
                        m->cfg.policy_file = f;
                }
        }
        (void) manager_save_policy(m);
        (void) manager_save_daemon(m);
        log_info("Policy %s is active as generation %" PRIu64 " (%s)%s%zu workload(s) must restart to apply "
                 "its kernel part.",
                 source, gen, m->policy_digest, n_restart ? "; " : "; ", n_restart);
        r = 0;
done:
        snprintf(status, sizeof status, "Policy generation %" PRIu64 ", %zu workload(s)", m->generation,
                 hashmap_size(m->workloads));
        (void) sd_notifyf(false, "READY=1\nSTATUS=%s", status);
        if (r < 0) {
                post_reload_failed(m, source, r, err);
                return r;
        }
        if (ret) {
                ret->generation = m->generation;
                snprintf(ret->digest, sizeof ret->digest, "%s", m->policy_digest);
                ret->restart_to_apply = TAKE_PTR(restart);
        }
        return 0;
}

/* ---- workloads ---- */

Managed *manager_find(Manager *m, const char *id) {
        return id ? hashmap_get(m->workloads, id) : NULL;
}

static void managed_detach_sources(Managed *mw) {
        mw->end_source = sd_event_source_disable_unref(mw->end_source);
        mw->wake_source = sd_event_source_disable_unref(mw->wake_source);
        mw->stop_timer = sd_event_source_disable_unref(mw->stop_timer);
        mw->process_timer = sd_event_source_disable_unref(mw->process_timer);
        mw->reap_timer = sd_event_source_disable_unref(mw->reap_timer);
}

Managed *managed_new(Manager *m, const char *id) {
        Managed *mw;

        if (!daemon_id_valid(id))
                return NULL;
        mw = calloc(1, sizeof *mw);
        if (!mw)
                return NULL;
        mw->m = m;
        snprintf(mw->id, sizeof mw->id, "%s", id);
        if (asprintf(&mw->object_path, "%s/%s", FORGEONED_BUS_WORKLOAD_PREFIX, id) < 0) {
                free(mw);
                return NULL;
        }
        return mw;
}

Managed *managed_free(Managed *mw) {
        if (!mw)
                return NULL;
        managed_detach_sources(mw);
        mw->gc_timer = sd_event_source_disable_unref(mw->gc_timer);
        /* Freeing a running workload kills it: one left for the next start is not freed, the process exits
         * with it (and its supervisor's thread) as it is. */
        if (!mw->m->leave_running)
                workload_free(mw->w);
        free(mw->label);
        strv_free(mw->argv);
        free(mw->object_path);
        free(mw->reason);
        free(mw->image);
        free(mw);
        return NULL;
}

void managed_get_counts(Managed *mw, SupervisorCounts *ret) {
        if (mw->w && workload_get_supervisor(mw->w))
                supervisor_get_counts(workload_get_supervisor(mw->w), ret);
        else
                *ret = mw->counts;
}

void manager_get_counts(Manager *m, uint64_t ret[static _SUPERVISOR_ACTION_MAX]) {
        Managed *mw;

        memcpy(ret, m->retired, sizeof m->retired);
        HASHMAP_FOREACH (mw, m->workloads, i) {
                SupervisorCounts c;

                if (!mw->w)
                        continue; /* its counts are retired */
                managed_get_counts(mw, &c);
                for (size_t a = 0; a < _SUPERVISOR_ACTION_MAX; a++)
                        ret[a] += c.decisions[a];
        }
}

static void managed_set_state(Managed *mw, ManagedState s) {
        if (mw->state == s)
                return;
        mw->state = s;
        if (s != MANAGED_EXITED)
                (void) manager_save_workload(mw);
        manager_bus_emit_workload_state(mw);
}

static int on_gc(sd_event_source *s, uint64_t usec, void *userdata) {
        Managed *mw = userdata;
        Manager *m = mw->m;

        manager_bus_emit_workload_removed(mw);
        (void) hashmap_remove(m->workloads, mw->id);
        managed_free(mw);
        return 0;
}

/* A stopping daemon exits once its last workload has ended. */
static void check_stopped(Manager *m) {
        Managed *mw;

        if (!m->stopping || m->leave_running)
                return;
        HASHMAP_FOREACH (mw, m->workloads, i)
                if (mw->w)
                        return;
        manager_state_clear(m);
        (void) sd_event_exit(m->event, m->exit_code);
}

static void managed_ended(Managed *mw, const WorkloadResult *res) {
        Manager *m = mw->m;
        uint64_t now;

        managed_get_counts(mw, &mw->counts);
        for (size_t a = 0; a < _SUPERVISOR_ACTION_MAX; a++)
                m->retired[a] += mw->counts.decisions[a];
        /* Counted in the daemon's record first, then its fds and journal go. */
        (void) manager_save_daemon(m);
        manager_forget_workload(mw);
        managed_detach_sources(mw);
        mw->exit_status = workload_result_exit_status(res);
        if (res->quarantined && !mw->reason)
                mw->reason = strdup("quarantined by the policy");
        mw->w = workload_free(mw->w);
        log_info("Workload %s ended with status %d%s.", mw->id, mw->exit_status,
                 res->quarantined ? " (quarantined)" : "");
        managed_set_state(mw, MANAGED_EXITED);

        /* Kept a while for clients that ask after the signal. */
        if (sd_event_now(m->event, CLOCK_MONOTONIC, &now) >= 0)
                (void) sd_event_add_time(m->event, &mw->gc_timer, CLOCK_MONOTONIC, now + FORGEONED_EXITED_KEEP_USEC,
                                         0, on_gc, mw);
        check_stopped(m);
}

static int on_workload_end(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static int on_reap_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        return on_workload_end(NULL, -1, 0, userdata);
}

static int on_workload_end(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Managed *mw = userdata;
        WorkloadResult res = {};
        uint64_t now;
        int r;

        if (!mw->w)
                return 0;
        r = workload_reap(mw->w, &res);
        if (r == 0) {
                /* Ended, but not ours to reap (taken over after a crash): its exit status shows once its
                 * parent has reaped it. Meanwhile the pidfd stays readable: look again in a moment. */
                (void) sd_event_source_set_enabled(mw->end_source, SD_EVENT_OFF);
                if (sd_event_now(mw->m->event, CLOCK_MONOTONIC, &now) >= 0) {
                        if (mw->reap_timer)
                                (void) sd_event_source_set_time(mw->reap_timer, now + 20 * 1000);
                        else
                                (void) sd_event_add_time(mw->m->event, &mw->reap_timer, CLOCK_MONOTONIC,
                                                         now + 20 * 1000, 0, on_reap_timer, mw);
                        (void) sd_event_source_set_enabled(mw->reap_timer, SD_EVENT_ONESHOT);
                }
                return 0;
        }
        if (r < 0) {
                log_warning_errno(r, "Failed to reap workload %s: %m", mw->id);
                res = (WorkloadResult) { .exit_code = -1, .exit_signal = SIGKILL };
        }
        managed_ended(mw, &res);
        return 0;
}

/* A container the policy quarantined (frozen, recorded by workload_process()): the daemon's state follows. */
static void managed_follow_quarantine(Managed *mw) {
        const char *reason = workload_get_quarantine_reason(mw->w);
        char *copy;

        if (!reason || mw->state == MANAGED_QUARANTINED || mw->state == MANAGED_STOPPING)
                return;
        copy = strdup(reason);
        if (copy) {
                free(mw->reason);
                mw->reason = copy;
        }
        log_notice("Workload %s quarantined by the policy: %s", mw->id, reason);
        managed_set_state(mw, MANAGED_QUARANTINED);
}

static int on_process_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* workload_process() wants to run by workload_next_timeout() (a quarantine must have frozen the container
 * by then, else it is killed). */
static void managed_arm_process_timer(Managed *mw) {
        uint64_t at = mw->w ? workload_next_timeout(mw->w) : 0;

        if (at == 0) {
                if (mw->process_timer)
                        (void) sd_event_source_set_enabled(mw->process_timer, SD_EVENT_OFF);
                return;
        }
        if (!mw->process_timer) {
                if (sd_event_add_time(mw->m->event, &mw->process_timer, CLOCK_MONOTONIC, at, 0, on_process_timer, mw) < 0)
                        return;
        } else
                (void) sd_event_source_set_time(mw->process_timer, at);
        (void) sd_event_source_set_enabled(mw->process_timer, SD_EVENT_ONESHOT);
}

static void managed_process(Managed *mw) {
        if (!mw->w)
                return;
        (void) workload_process(mw->w);
        managed_follow_quarantine(mw);
        managed_arm_process_timer(mw);
}

static int on_process_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        managed_process(userdata);
        return 0;
}

static int on_workload_wake(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        managed_process(userdata);
        return 0;
}

int managed_attach(Managed *mw) {
        Manager *m = mw->m;
        int r;

        r = sd_event_add_io(m->event, &mw->end_source, workload_get_pidfd(mw->w), EPOLLIN, on_workload_end, mw);
        if (r < 0)
                return r;
        r = sd_event_add_io(m->event, &mw->wake_source, workload_get_fd(mw->w), EPOLLIN, on_workload_wake, mw);
        if (r < 0)
                return r;
        r = hashmap_put(m->workloads, mw->id, mw);
        if (r < 0)
                return r;
        (void) counters_timer_arm(m);
        return 0;
}

static int strv_copy_all(char **l, char ***ret) {
        size_t n = 0;
        char **c = calloc(1, sizeof(char *));

        if (!c)
                return -ENOMEM;
        for (char **a = l; a && *a; a++)
                if (strv_push(&c, &n, *a) < 0) {
                        strv_free(c);
                        return -ENOMEM;
                }
        *ret = c;
        return 0;
}

static void image_notice(ContainerNotice kind, const char *text, void *userdata) {
        /* States and warnings go to the sink as well (the audit, the decision log); the log gets the rest. */
        if (kind == CONTAINER_NOTICE_ADMITTED)
                log_info("Container %s admitted.", strempty(text));
        else if (kind == CONTAINER_NOTICE_QUEUED)
                log_info("Container waits for admission: %s", strempty(text));
}

/* The container runs where the image's config says, as its init: the loop never waits for admission (a run
 * that does not fit the host budget is refused), and the launch (image, layers, verification) is done on
 * the loop. */
static int manager_run_image(Manager *m, const RunRequest *req, Managed **ret, ForgeError *err) {
        _cleanup_(managed_freep) Managed *mw = NULL;
        _cleanup_(trust_verifier_freep) TrustVerifier *verifier = NULL;
        _cleanup_(workload_freep) Workload *w = NULL;
        ContainerConfig cc = *req->image;
        ContainerStore *store;
        WorkloadConfig wc;
        int r;

        if (req->label && !container_name_is_valid(req->label))
                return forge_error_set(err, -EINVAL,
                                       "invalid container name \"%s\": 1-63 of A-Z a-z 0-9 _ . -, starting with a "
                                       "letter or digit",
                                       req->label);
        cc.name = req->label;
        cc.no_wait = true;
        cc.notice = image_notice;
        cc.userdata = m;
        r = manager_image_verifier(m, &cc, req->identity, &verifier, err);
        if (r < 0)
                return r;
        wc = (WorkloadConfig) {
                .argv = req->argv && req->argv[0] ? req->argv : NULL,
                .image = &cc,
                .graph = m->graph,
                .generation = m->generation,
                .identity = req->identity,
                .sink = m->sink,
                .stdio_set = req->stdio_set,
                /* Its listener survives us only in a service manager's fd store (or our own re-exec, which
                 * keeps this process): without one, a container dies with us rather than run on with its
                 * trapped calls failing (ENOSYS). */
                .survive_owner = m->fdstore,
                .journal = true,
        };
        memcpy(wc.stdio, req->stdio, sizeof wc.stdio);
        r = workload_start(&wc, &w, err);
        if (r < 0)
                return r;

        mw = managed_new(m, workload_get_id(w));
        if (!mw)
                return -ENOMEM;
        mw->w = TAKE_PTR(w);
        mw->image = strdup(cc.image);
        if (!mw->image)
                return -ENOMEM;
        mw->stop_timeout_usec = req->stop_timeout_usec;
        /* Name and command as the container's record has them (the id when unnamed; entrypoint and cmd
         * when no command was given). */
        {
                _cleanup_(container_record_freep) ContainerRecord *rec = NULL;

                if (manager_containers(m, &store) >= 0 &&
                    container_store_load(store, workload_get_container_id(mw->w), &rec) >= 0) {
                        mw->label = rec->name ? strdup(rec->name) : NULL;
                        r = strv_copy_all(rec->command, &mw->argv);
                } else
                        r = strv_copy_all(req->argv, &mw->argv);
                if (r < 0)
                        return r;
        }
        mw->started_usec = time_now_usec(CLOCK_REALTIME);
        mw->state = MANAGED_RUNNING;
        r = managed_attach(mw);
        if (r < 0)
                return forge_error_set(err, r, "cannot watch workload %s: %m", mw->id);
        manager_fdstore_push(mw);
        (void) manager_save_workload(mw);
        log_info("Workload %s started (pid %d): image %s%s%s", mw->id, (int) workload_get_pid(mw->w), mw->image,
                 mw->argv[0] ? ", " : "", strempty(mw->argv[0]));
        manager_bus_emit_workload_state(mw);
        *ret = TAKE_PTR(mw);
        return 0;
}

int manager_run(Manager *m, const RunRequest *req, Managed **ret, ForgeError *err) {
        _cleanup_(managed_freep) Managed *mw = NULL;
        WorkloadConfig wc;
        char id[33];
        int r;

        if (m->stopping)
                return forge_error_set(err, -ESHUTDOWN, "forgeoned is stopping");
        if (hashmap_size(m->workloads) >= m->cfg.max_workloads)
                return forge_error_set(err, -EXFULL, "forgeoned runs %zu workloads, its maximum",
                                       hashmap_size(m->workloads));
        if (req->image)
                return manager_run_image(m, req, ret, err);
        if (!req->argv || !req->argv[0])
                return forge_error_set(err, -EINVAL, "no command to run");
        snprintf(id, sizeof id, "w%" PRIu64, m->next_id++);
        (void) manager_save_daemon(m);
        mw = managed_new(m, id);
        if (!mw)
                return -ENOMEM;
        if (req->label) {
                mw->label = strdup(req->label);
                if (!mw->label)
                        return -ENOMEM;
        }
        r = strv_copy_all(req->argv, &mw->argv);
        if (r < 0)
                return r;
        mw->stop_timeout_usec = req->stop_timeout_usec;

        wc = (WorkloadConfig) {
                .argv = req->argv,
                .graph = m->graph,
                .generation = m->generation,
                .identity = req->identity,
                .sink = m->sink,
                .stdio_set = req->stdio_set,
                .root_directory = req->root_directory,
                .run_as_uid = req->uid,
                .run_as_gid = req->gid,
                .id = id,
                /* As a container's: it survives us only where a service manager's fd store keeps its
                 * listener (a re-exec keeps this process); without one it ends with us rather than run on
                 * with its trapped calls failing (ENOSYS). */
                .survive_owner = m->fdstore,
                .journal = true,
                .controlling_tty = req->tty,
                .cgroup_parent = m->cfg.cgroup_parent,
                .envp = req->envp,
                .working_directory = req->working_directory,
                .observer = m->observer,
        };
        memcpy(wc.stdio, req->stdio, sizeof wc.stdio);
        r = workload_start(&wc, &mw->w, err);
        if (r < 0)
                return r;
        mw->started_usec = time_now_usec(CLOCK_REALTIME);
        mw->state = MANAGED_RUNNING;
        r = managed_attach(mw);
        if (r < 0)
                return forge_error_set(err, r, "cannot watch workload %s: %m", id);
        /* Before anything else can fail: the fds where they survive us, then the record. */
        manager_fdstore_push(mw);
        (void) manager_save_workload(mw);
        log_info("Workload %s started (pid %d): %s", mw->id, (int) workload_get_pid(mw->w), mw->argv[0]);
        manager_bus_emit_workload_state(mw);
        *ret = TAKE_PTR(mw);
        return 0;
}

static int on_stop_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Managed *mw = userdata;

        if (mw->w) {
                log_notice("Workload %s did not stop in time: killed.", mw->id);
                (void) workload_kill(mw->w, SIGKILL);
        }
        return 0;
}

static int require_live(Managed *mw, ForgeError *err) {
        if (!mw->w)
                return forge_error_set(err, -ESRCH, "workload %s has ended", mw->id);
        return 0;
}

int manager_stop_workload(Managed *mw, ForgeError *err) {
        Manager *m = mw->m;
        uint64_t now;
        int r;

        r = require_live(mw, err);
        if (r < 0)
                return r;
        if (mw->state == MANAGED_STOPPING)
                return 0;
        if (mw->image) {
                /* Every process gets SIGTERM (SIGKILL when quarantined), recorded as the container's stop. */
                r = workload_stop(mw->w, err);
                if (r < 0)
                        return r;
        } else if (mw->state == MANAGED_QUARANTINED) {
                /* Never thawed: it ends frozen. */
                r = workload_kill(mw->w, SIGKILL);
                if (r < 0)
                        return forge_error_set(err, r, "cannot kill workload %s: %m", mw->id);
                managed_set_state(mw, MANAGED_STOPPING);
                return 0;
        } else {
                if (mw->state == MANAGED_PAUSED)
                        (void) workload_set_frozen(mw->w, false);
                r = workload_kill(mw->w, SIGTERM);
                if (r < 0)
                        return forge_error_set(err, r, "cannot stop workload %s: %m", mw->id);
        }
        if (sd_event_now(m->event, CLOCK_MONOTONIC, &now) >= 0)
                (void) sd_event_add_time(m->event, &mw->stop_timer, CLOCK_MONOTONIC,
                                         now + (mw->stop_timeout_usec ?: m->cfg.stop_timeout_usec), 0,
                                         on_stop_timeout, mw);
        managed_set_state(mw, MANAGED_STOPPING);
        return 0;
}

static int set_frozen(Managed *mw, bool frozen, ForgeError *err) {
        int r = workload_set_frozen(mw->w, frozen);

        if (r == -EOPNOTSUPP)
                return forge_error_set(err, r, "workload %s has no cgroup to freeze (forgeoned runs without --cgroup)",
                                       mw->id);
        if (r < 0)
                return forge_error_set(err, r, "cannot %s workload %s: %m", frozen ? "freeze" : "thaw", mw->id);
        return 0;
}

static int transition(Managed *mw, ManagedState from, ManagedState to, bool frozen, ForgeError *err) {
        int r = require_live(mw, err);

        if (r < 0)
                return r;
        if (mw->state != from)
                return forge_error_set(err, -EBUSY, "workload %s is %s, not %s", mw->id,
                                       managed_state_to_string(mw->state), managed_state_to_string(from));
        r = set_frozen(mw, frozen, err);
        if (r < 0)
                return r;
        managed_set_state(mw, to);
        return 0;
}

int manager_pause(Managed *mw, ForgeError *err) {
        return transition(mw, MANAGED_RUNNING, MANAGED_PAUSED, true, err);
}

int manager_resume(Managed *mw, ForgeError *err) {
        return transition(mw, MANAGED_PAUSED, MANAGED_RUNNING, false, err);
}

int manager_quarantine(Managed *mw, const char *reason, ForgeError *err) {
        int r = require_live(mw, err);

        if (r < 0)
                return r;
        if (mw->state != MANAGED_RUNNING && mw->state != MANAGED_PAUSED)
                return forge_error_set(err, -EBUSY, "workload %s is %s", mw->id, managed_state_to_string(mw->state));
        r = mw->image ? workload_quarantine(mw->w, reason && *reason ? reason : "quarantined by an operator", err)
                      : set_frozen(mw, true, err);
        if (r < 0)
                return r;
        free(mw->reason);
        mw->reason = strdup(reason && *reason ? reason : "quarantined by an operator");
        log_notice("Workload %s quarantined: %s", mw->id, strempty(mw->reason));
        managed_set_state(mw, MANAGED_QUARANTINED);
        return 0;
}

int manager_release(Managed *mw, ForgeError *err) {
        int r;

        if (mw->image && mw->w) {
                /* A quarantine the policy requested is the daemon's state once recorded: look first. */
                managed_process(mw);
                if (mw->state != MANAGED_QUARANTINED)
                        return forge_error_set(err, -EBUSY, "workload %s is %s, not quarantined", mw->id,
                                               managed_state_to_string(mw->state));
                r = workload_release(mw->w, err);
                if (r >= 0)
                        managed_set_state(mw, MANAGED_RUNNING);
        } else
                r = transition(mw, MANAGED_QUARANTINED, MANAGED_RUNNING, false, err);
        if (r >= 0) {
                free(mw->reason);
                mw->reason = NULL;
                (void) manager_save_workload(mw);
        }
        return r;
}

int manager_kill(Managed *mw, int sig, ForgeError *err) {
        int r = require_live(mw, err);

        if (r < 0)
                return r;
        if (sig <= 0 || sig >= _NSIG)
                return forge_error_set(err, -EINVAL, "invalid signal %d", sig);
        r = workload_kill(mw->w, sig);
        if (r < 0)
                return forge_error_set(err, r, "cannot signal workload %s: %m", mw->id);
        return 0;
}

/* ---- explain ---- */

static int parse_access(const char *s, unsigned *ret) {
        _cleanup_free_ char *copy = strdup(s);
        unsigned mask = 0;
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                int b = policy_access_from_string(t);
                if (b < 0)
                        return -EINVAL;
                mask |= (unsigned) b;
        }
        if (!mask)
                return -EINVAL;
        *ret = mask;
        return 0;
}

int manager_explain(Manager *m, const ExplainQuery *eq, ExplainResult *ret, ForgeError *err) {
        const Policy *p = policy_graph_policy(m->graph);
        PolicyQuery q = { .identity = POLICY_IDENTITY_ANY };
        PolicyDecision d = {};
        const SyscallInfo *info;
        int r;

        if (!eq->syscall)
                return forge_error_set(err, -EINVAL, "Syscall is required");
        if (eq->workload) {
                Managed *mw = manager_find(m, eq->workload);
                WorkloadState st;

                if (!mw || !mw->w)
                        return forge_error_set(err, -ENOENT, "no running workload '%s'", eq->workload);
                workload_get_state(mw->w, &st);
                q.identity = st.identity ? policy_identity_by_name(p, st.identity) : POLICY_IDENTITY_ANY;
                q.trust = supervisor_get_trust(workload_get_supervisor(mw->w));
        } else if (eq->identity && !streq(eq->identity, "*")) {
                q.identity = policy_identity_by_name(p, eq->identity);
                if (q.identity < 0)
                        return forge_error_set(err, -ENOENT, "the active policy has no identity '%s'", eq->identity);
        }
        if (!eq->workload)
                q.trust = policy_identity_trust(p, q.identity);
        if (eq->trust >= 0)
                q.trust = eq->trust;
        if (eq->arch) {
                q.arch = seccomp_arch_resolve_name(eq->arch);
                if (q.arch == 0)
                        return forge_error_set(err, -EINVAL, "unknown architecture '%s'", eq->arch);
        } else
                q.arch = seccomp_arch_native();
        q.nr = syscall_resolve_arch(eq->syscall, q.arch);
        if (q.nr < 0)
                return forge_error_set(err, -EINVAL, "unknown syscall '%s'", eq->syscall);
        memcpy(q.args, eq->args, sizeof q.args);
        if (eq->path && *eq->path) {
                if (eq->path[0] != '/')
                        return forge_error_set(err, -EINVAL, "the path must be absolute: '%s'", eq->path);
                q.path = eq->path;
        }
        info = syscall_info_lookup(eq->syscall);
        if (eq->access && *eq->access) {
                if (parse_access(eq->access, &q.access) < 0)
                        return forge_error_set(err, -EINVAL, "invalid access '%s'", eq->access);
        } else if (q.path) {
                q.access = info && info->access ? info->access : POLICY_ACCESS_READ;
                if (info)
                        for (size_t i = 0; i < 6; i++)
                                if (info->args[i] == SYSCALL_ARG_OPEN_FLAGS)
                                        q.access = syscall_open_flags_to_access(q.args[i]);
                if (q.access == 0)
                        q.access = POLICY_ACCESS_READ;
        }
        r = policy_graph_eval(m->graph, &q, &d);
        if (r < 0)
                return forge_error_set(err, r, "cannot evaluate %s: %m", eq->syscall);
        *ret = (ExplainResult) { .trust = q.trust };
        snprintf(ret->verdict, sizeof ret->verdict, "%s", policy_verdict_to_string(d.verdict) ?: "unknown");
        if (d.verdict == POLICY_VERDICT_DENY || d.verdict == POLICY_VERDICT_QUARANTINE)
                snprintf(ret->error, sizeof ret->error, "%s", strempty(policy_errno_to_string(d.errno_value)));
        snprintf(ret->rule, sizeof ret->rule, "%s", strempty(d.rule_id));
        snprintf(ret->identity, sizeof ret->identity, "%s",
                 q.identity >= 0 ? p->identities[q.identity].name : "*");
        policy_decision_explain(m->graph, &q, &d, ret->text, sizeof ret->text);
        return 0;
}

/* ---- start and stop ---- */

/* The trust anchor's status at start (forgeone.trust(7)): logged, never fatal here (a Compromised or
 * unreadable trust configuration refuses image launches, not the daemon), and the active policy measured. */
static void manager_trust_start(Manager *m) {
        ForgeError e = {};
        char buf[2048];
        int r;

        r = manager_trust_refresh(m, &e);
        if (r < 0) {
                snprintf(m->trust_error, sizeof m->trust_error, "%s", forge_error_message(&e, r));
                log_warning("Trust: %s; images will not launch until it is fixed.", m->trust_error);
                return;
        }
        m->trust_error[0] = 0;
        manager_trust_status(m, buf, sizeof buf);
        if (m->trust->state.status == TRUST_STATUS_COMPROMISED)
                log_error("Trust: %s: no image launches.", buf);
        else
                log_info("Trust: %s.", buf);
        e = (ForgeError){};
        r = manager_trust_measure_policy(m, &e);
        if (r < 0)
                log_warning("Trust: %s", forge_error_message(&e, r));
}

int manager_startup(Manager *m, const int *fds, char **fd_names, size_t n_fds, ForgeError *err) {
        _cleanup_(policy_graph_unrefp) PolicyGraph *graph = NULL;
        _cleanup_(daemon_record_done) DaemonRecord rec = {};
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        r = manager_state_open(m);
        if (r < 0)
                return forge_error_set(err, r, "cannot use the state directory %s: %m", m->cfg.state_dir);

        r = manager_load_state(m, &rec, err);
        if (r < 0)
                return r;
        if (r > 0) {
                /* A predecessor's state: its policy stays active (a restart is no reload). */
                m->generation = rec.generation;
                m->next_id = rec.next_id;
                memcpy(m->retired, rec.retired, sizeof m->retired);
                memcpy(m->counters_emitted, rec.retired, sizeof m->retired);
                if (!m->cfg.policy_file && rec.policy_file)
                        m->cfg.policy_file = strdup(rec.policy_file);
        } else {
                const char *file = m->cfg.policy_file;

                if (!file)
                        return forge_error_set(err, -EINVAL, "no policy: give --policy FILE");
                r = policy_read(file, &text, &len, err);
                if (r < 0)
                        return r;
                r = policy_prepare(text, len, file, &graph, err);
                if (r < 0)
                        return r;
                policy_install(m, TAKE_PTR(text), len, file, graph);
                (void) manager_save_policy(m);
        }
        (void) manager_save_daemon(m);
        manager_trust_start(m);

        r = manager_adopt_all(m, fds, fd_names, n_fds);
        if (r > 0)
                log_info("Adopted %d workload(s) from the previous instance.", r);
        /* After the adoption (which made us the owner of the containers taken over): what a previous
         * instance left that could not be taken over is not left running. */
        manager_reap_orphan_containers(m);
        return 0;
}

int manager_install_saved_policy(Manager *m, char *text, size_t len, const char *source, ForgeError *err) {
        _cleanup_(policy_graph_unrefp) PolicyGraph *graph = NULL;
        int r;

        r = policy_prepare(text, len, source, &graph, err);
        if (r < 0) {
                free(text);
                return r;
        }
        policy_install(m, text, len, source, graph);
        return 0;
}

void manager_begin_stop(Manager *m) {
        Managed *mw;
        size_t live = 0;

        if (m->stopping)
                return;
        m->stopping = true;
        m->leave_running = m->cfg.keep_on_stop || manager_bus_restart_pending(m);
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Stopping");
        if (m->leave_running) {
                /* Everything needed to take them over is in the fd store and the state directory. */
                log_info("Leaving %zu workload(s) running for the next start.", hashmap_size(m->workloads));
                (void) manager_save_daemon(m);
                (void) sd_event_exit(m->event, 0);
                return;
        }
        HASHMAP_FOREACH (mw, m->workloads, i) {
                ForgeError err = {};

                if (!mw->w)
                        continue;
                live++;
                if (manager_stop_workload(mw, &err) < 0)
                        log_warning("%s", forge_error_message(&err, -EIO));
        }
        if (live > 0)
                log_info("Stopping %zu workload(s).", live);
        check_stopped(m);
}
