/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * forgeoned's state: the workloads it owns (a hashmap of Managed, each a
 * workload object and its event sources), the active policy and its
 * generation, the event sink and its consumers, D-Bus, and what survives
 * a restart.
 *
 *   manager.c          the workloads, the policy and reload, the consumers
 *   manager-image.c    runs of OCI images: the trust context, the image verifier, the container store
 *   manager-bus.c      the D-Bus API (vtables only: arguments in, errors out)
 *   manager-handover.c the state directory, systemd's fd store, adoption, re-exec
 *
 * Everything runs on the one sd-event loop of forgeoned.c, except each
 * workload's supervisor, which decides on a thread of its own (the
 * benchmark's choice: a blocking RECV is about 10% faster than poll() +
 * RECV) and posts to the sink without waiting for anything of this loop.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "daemon-util.h"
#include "forgeone/error.h"
#include "forgeone/audit.h"
#include "forgeone/container.h"
#include "forgeone/event-sink.h"
#include "forgeone/hashmap.h"
#include "forgeone/observer.h"
#include "forgeone/policy-graph.h"
#include "forgeone/trust-verify.h"
#include "forgeone/trust.h"
#include "forgeone/workload.h"

#define FORGEONED_BUS_NAME "org.forgeone.Supervisor1"
#define FORGEONED_BUS_PATH "/org/forgeone/Supervisor1"
#define FORGEONED_BUS_INTERFACE "org.forgeone.Supervisor1"
#define FORGEONED_BUS_WORKLOAD_INTERFACE "org.forgeone.Workload1"
#define FORGEONED_BUS_WORKLOAD_PREFIX "/org/forgeone/Supervisor1/workload"

#define FORGEONED_DEFAULT_STATE_DIR "/run/forgeone/daemon"
#define FORGEONED_DEFAULT_POLICY "/etc/forgeone/policy.json"
#define FORGEONED_DEFAULT_STOP_TIMEOUT_USEC (10u * 1000000u)
#define FORGEONED_DEFAULT_MAX_WORKLOADS 512u
#define FORGEONED_COUNTERS_INTERVAL_USEC (1000u * 1000u)
/* Records one turn of the loop hands the sink's consumers, at most. */
#define MANAGER_DRAIN_BATCH 512
#define FORGEONED_EXITED_KEEP_USEC (60u * 1000000u)

/* Exit codes of forgeoned (forgeoned(8)). */
#define FORGEONED_EXIT_CONFIG 2   /* bad options or policy */
#define FORGEONED_EXIT_BUS 3      /* cannot connect to the bus or own the name */
#define FORGEONED_EXIT_STATE 4    /* cannot use the state directory */

typedef enum LogDecisions {
        LOG_DECISIONS_NONE,
        LOG_DECISIONS_DENIALS,
        LOG_DECISIONS_ALL,
        _LOG_DECISIONS_MAX,
        _LOG_DECISIONS_INVALID = -EINVAL,
} LogDecisions;

const char *log_decisions_to_string(LogDecisions l) _const_;
LogDecisions log_decisions_from_string(const char *s) _pure_;

typedef struct ManagerConfig {
        char *policy_file;
        char *state_dir;
        char *bus_address;      /* NULL: the system bus */
        char *cgroup_parent;    /* NULL: workloads get no cgroup */
        char *decision_log;     /* JSON lines of every decision, or NULL */
        LogDecisions log_decisions;
        bool no_audit;          /* no audit records in the journal (forgeone.audit(7)) */
        bool observer;          /* the eBPF observer (forgeone.observer(7)); off by default */
        char *observer_root;    /* where its maps are pinned; NULL: OBSERVER_PIN_ROOT */
        AuditAllowMode audit_allow;
        char *audit_dir;        /* NULL: AUDIT_DEFAULT_STATE_DIR */
        char *audit_key;        /* NULL: AUDIT_DEFAULT_KEY when it exists */
        bool keep_on_stop;      /* SIGTERM leaves the workloads running, always */
        uint64_t stop_timeout_usec;
        unsigned max_workloads;
} ManagerConfig;

typedef struct Manager Manager;

typedef struct Managed {
        Manager *m;
        char id[33];
        char *label;
        char **argv;
        char *object_path;
        char *image;            /* an image's reference; NULL for a plain command */
        uint64_t stop_timeout_usec; /* 0: the daemon's */
        Workload *w;            /* NULL once it has ended */
        sd_event_source *end_source, *wake_source, *stop_timer, *gc_timer;
        sd_event_source *process_timer; /* workload_next_timeout() */
        sd_event_source *reap_timer;     /* its end was seen, its exit status is not there yet */
        ManagedState state;
        char *reason;
        uint64_t started_usec;
        int exit_status;        /* once exited */
        bool restart_to_apply;
        bool adopted;
        SupervisorCounts counts; /* once exited: the final ones */
} Managed;

struct Manager {
        ManagerConfig cfg;
        sd_event *event;
        sd_bus *bus;
        sd_bus_slot *name_slot;
        Hashmap *workloads;     /* id -> Managed */

        PolicyGraph *graph;
        char *policy_text;
        size_t policy_len;
        char *policy_source;    /* the file the active policy came from, or "(D-Bus)" */
        char policy_digest[80];
        uint64_t generation;
        uint64_t next_id;

        EventSink *sink;
        Audit *audit;           /* the journald audit, a consumer of sink; NULL with no_audit */
        Observer *observer;     /* the eBPF observer, a consumer of sink; NULL when off: */
        char observer_off[OBSERVER_REASON_MAX]; /* why */
        sd_event_source *sink_source, *counters_timer;
        uint64_t counters_last_usec;
        uint64_t counters_emitted[_SUPERVISOR_ACTION_MAX];
        uint64_t retired[_SUPERVISOR_ACTION_MAX];
        FILE *decision_log;

        TrustContext *trust;    /* opened at start (or at the first image run when that failed), refreshed
                                 * at each image run and on demand */
        char trust_error[256];  /* why there is no trust context */
        char trust_policy_digest[80]; /* the policy last measured */
        ContainerStore *containers; /* the container records (the runtime's state directory) */

        int state_fd;           /* the state directory */
        bool fdstore;           /* a service manager keeps our fds (NOTIFY_SOCKET) */
        bool stopping;
        bool leave_running;
        int exit_code;
};

int manager_new(const ManagerConfig *cfg, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Starts: adopts what a predecessor handed over (fds and their names, taken) with the
 * policy it had, else loads the configured policy. */
int manager_startup(Manager *m, const int *fds, char **fd_names, size_t n_fds, ForgeError *err);

Managed *manager_find(Manager *m, const char *id);

typedef struct RunRequest {
        char **argv;
        char **envp;
        const char *label;
        const char *identity;
        const char *working_directory;
        const char *root_directory;
        int stdio[3];
        bool stdio_set;
        bool tty;
        uid_t uid;
        gid_t gid;
        const ContainerConfig *image; /* an OCI image (its reference, name, labels, limits), or NULL */
        uint64_t stop_timeout_usec;   /* 0: the daemon's */
} RunRequest;

int manager_run(Manager *m, const RunRequest *req, Managed **ret, ForgeError *err);
int manager_stop_workload(Managed *mw, ForgeError *err);
int manager_pause(Managed *mw, ForgeError *err);
int manager_resume(Managed *mw, ForgeError *err);
int manager_quarantine(Managed *mw, const char *reason, ForgeError *err);
int manager_release(Managed *mw, ForgeError *err);
int manager_kill(Managed *mw, int sig, ForgeError *err);

typedef struct ReloadResult {
        uint64_t generation;
        char digest[80];
        char **restart_to_apply; /* ids whose kernel filter differs from the new policy's */
} ReloadResult;

void reload_result_done(ReloadResult *r);
/* From text when non-NULL (path, when given, names it), else from the file path, else from the configured
 * file (the one the daemon started with, or the last path it read itself). Parses and compiles fully
 * before the swap: on any error nothing changes and err says why (file:line:column for a policy). */
int manager_reload(Manager *m, const char *path, const char *text, ReloadResult *ret, ForgeError *err);

typedef struct ExplainQuery {
        const char *syscall;
        const char *identity;  /* or NULL */
        const char *workload;  /* its identity and trust, or NULL */
        const char *path;
        const char *access;    /* "read,write", or NULL: from the syscall */
        const char *arch;      /* or NULL: native */
        int trust;             /* -1: the identity's initial (or the workload's current) */
        uint64_t args[6];
} ExplainQuery;

typedef struct ExplainResult {
        char verdict[32];
        char error[32];
        char rule[128];
        char identity[128];
        int trust;
        char text[1024];
} ExplainResult;

int manager_explain(Manager *m, const ExplainQuery *q, ExplainResult *ret, ForgeError *err);

/* Decisions since the first start of the daemon's state: ended workloads' plus live ones', exact. */
void manager_get_counts(Manager *m, uint64_t ret[static _SUPERVISOR_ACTION_MAX]);
/* Hands a batch of the sink's records to its consumers (the log, the decision log, the audit), then
 * flushes the decision log and arms the counters' signal; returns how many. */
size_t manager_drain(Manager *m);
void managed_get_counts(Managed *mw, SupervisorCounts *ret);

/* SIGTERM: stops the workloads (or leaves them running for the next start, see forgeoned(8)); the loop
 * exits once done. */
void manager_begin_stop(Manager *m);

/* The observer's view of the live workloads (observer.h); -ENODATA when it is off (m->observer_off says
 * why). */
int manager_observer_snapshot(Manager *m, bool syscalls, ObserverSnapshot *ret);

/* ---- manager-image.c ---- */

/* The verifier of one image launch under the active policy (trust status checked, forgeoned and the
 * policy measured); sets c->verify. identity: the one chosen explicitly, or NULL. */
int manager_image_verifier(Manager *m, ContainerConfig *c, const char *identity, TrustVerifier **ret,
                           ForgeError *err);
/* Opens the trust context (measuring forgeoned, its trust configuration and the anchor) or refreshes its
 * status. */
int manager_trust_refresh(Manager *m, ForgeError *err);
/* Measures the active policy's text when it has not been (a load, a reload). */
int manager_trust_measure_policy(Manager *m, ForgeError *err);
/* "Verified", "Compromised(reason)", "Unknown(no TPM)"; "Unknown(why it could not be opened)". */
const char *manager_trust_status(Manager *m, char *buf, size_t size);
/* The container store, opened once. */
int manager_containers(Manager *m, ContainerStore **ret);
/* Containers whose owner died (a previous instance's that could not be taken over, a crashed
 * forgeonectl's): killed, cleaned up, recorded Failed("owner exited"). */
void manager_reap_orphan_containers(Manager *m);
void manager_image_done(Manager *m);

/* ---- manager-bus.c ---- */

int manager_bus_setup(Manager *m);
/* The command line Reexecute runs again. */
void manager_bus_set_argv(char **argv);
void manager_bus_emit_workload_state(Managed *mw);
void manager_bus_emit_workload_removed(Managed *mw);
void manager_bus_emit_policy_reloaded(Manager *m, const ReloadResult *r);
void manager_bus_emit_counters(Manager *m);
/* systemd is restarting us (its job for our unit is a restart): workloads are left for the next start. */
bool manager_bus_restart_pending(Manager *m);

/* ---- manager-handover.c ---- */

int manager_state_open(Manager *m);
int manager_save_daemon(Manager *m);
int manager_save_policy(Manager *m);
int manager_save_workload(Managed *mw);
void manager_forget_workload(Managed *mw);  /* state file and fd store entries */
void manager_fdstore_push(Managed *mw);
/* Loads daemon.json and policy.json when a predecessor left them: 1 loaded, 0 none. */
int manager_load_state(Manager *m, DaemonRecord *ret_record, ForgeError *err);
/* Adopts the workloads whose records and fds were handed over; closes the rest. */
int manager_adopt_all(Manager *m, const int *fds, char **fd_names, size_t n_fds);
/* Removes the state directory's files (a clean stop). */
void manager_state_clear(Manager *m);
/* Re-executes forgeoned in place with every workload's fds, where they are ($FORGEONED_HANDOVER: moving
 * them would pull them from under the supervisors' threads until the exec). Returns only on failure. */
int manager_reexec(Manager *m, char **argv);

/* ---- manager.c, for the handover ---- */

/* Makes text (taken, also on failure) the active policy, as a predecessor left it. */
int manager_install_saved_policy(Manager *m, char *text, size_t len, const char *source, ForgeError *err);

Managed *managed_new(Manager *m, const char *id);
int managed_attach(Managed *mw); /* event sources, hashmap */
Managed *managed_free(Managed *mw);
DEFINE_TRIVIAL_CLEANUP_FUNC(Managed *, managed_free);
