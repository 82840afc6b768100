/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What survives forgeoned: the state directory (daemon.json, policy.json,
 * workloads/<id>.json, written whole and renamed into place) and, in
 * systemd's fd store, every workload's fds (workload_get_handover_fd(),
 * named "<id>.<kind>"). On start, the fds come back through
 * sd_listen_fds_with_names() (from systemd after a crash or restart, or
 * from ourselves after a re-exec) and each workload whose record and fds
 * are there is adopted; what does not fit together is stopped rather than
 * left running undecided.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "forgeone/fs-util.h"
#include "forgeone/log.h"
#include "forgeone/time-util.h"
#include "manager.h"

#define RECORD_MAX_SIZE (1024u * 1024u)

static void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}
#define WORKLOADS_DIR "workloads"

int manager_state_open(Manager *m) {
        int r;

        r = mkdir_p(m->cfg.state_dir, 0700);
        if (r < 0)
                return r;
        m->state_fd = open(m->cfg.state_dir, O_DIRECTORY | O_CLOEXEC);
        if (m->state_fd < 0)
                return -errno;
        if (mkdirat(m->state_fd, WORKLOADS_DIR, 0700) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

/* Writes name (relative to the state directory) whole, or leaves the old one. */
static int write_atomic(Manager *m, const char *name, const char *data, size_t len) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (m->state_fd < 0)
                return -EBADF;
        if (asprintf(&tmp, "%s.tmp", name) < 0)
                return -ENOMEM;
        fd = openat(m->state_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        r = write_all(fd, data, len);
        if (r < 0) {
                (void) unlinkat(m->state_fd, tmp, 0);
                return r;
        }
        if (renameat(m->state_fd, tmp, m->state_fd, name) < 0) {
                r = -errno;
                (void) unlinkat(m->state_fd, tmp, 0);
                return r;
        }
        return 0;
}

int manager_save_daemon(Manager *m) {
        _cleanup_free_ char *text = NULL;
        DaemonRecord rec = {
                .generation = m->generation,
                .next_id = m->next_id,
                .policy_file = m->cfg.policy_file,
                .policy_source = m->policy_source,
        };
        int r;

        memcpy(rec.retired, m->retired, sizeof rec.retired);
        r = daemon_record_to_json(&rec, &text);
        if (r < 0)
                return r;
        r = write_atomic(m, "daemon.json", text, strlen(text));
        if (r < 0)
                log_warning_errno(r, "Failed to write %s/daemon.json: %m", m->cfg.state_dir);
        return r;
}

int manager_save_policy(Manager *m) {
        int r;

        if (!m->policy_text)
                return 0;
        r = write_atomic(m, "policy.json", m->policy_text, m->policy_len);
        if (r < 0)
                log_warning_errno(r, "Failed to write %s/policy.json: %m", m->cfg.state_dir);
        return r;
}

static void record_path(const char *id, char buf[static 128]) {
        snprintf(buf, 128, "%s/%s.json", WORKLOADS_DIR, id);
}

int manager_save_workload(Managed *mw) {
        _cleanup_free_ char *text = NULL;
        WorkloadState st;
        WorkloadRecord rec;
        char path[128];
        int r;

        if (!mw->w)
                return 0;
        workload_get_state(mw->w, &st);
        rec = (WorkloadRecord) {
                .id = mw->id,
                .label = mw->label,
                .argv = mw->argv,
                .name = (char *) st.name,
                .identity = (char *) st.identity,
                .cgroup_path = (char *) st.cgroup_path,
                .pid = st.pid,
                .creds_calls_trapped = st.creds_calls_trapped,
                .state = mw->state,
                .reason = mw->reason,
                .started_usec = mw->started_usec,
                .restart_to_apply = mw->restart_to_apply,
                .container_id = (char *) st.container_id,
                .image = mw->image,
                .stop_timeout_usec = mw->stop_timeout_usec,
        };
        memcpy(rec.filter_digest, st.filter_digest, sizeof rec.filter_digest);
        r = workload_record_to_json(&rec, &text);
        if (r < 0)
                return r;
        record_path(mw->id, path);
        r = write_atomic(mw->m, path, text, strlen(text));
        if (r < 0)
                log_warning_errno(r, "Failed to write the record of workload %s: %m", mw->id);
        return r;
}

void manager_fdstore_push(Managed *mw) {
        if (!mw->m->fdstore)
                return;
        for (WorkloadFd k = 0; k < _WORKLOAD_FD_MAX; k++) {
                int fd = workload_get_handover_fd(mw->w, k), r;
                char name[64], msg[128];

                if (fd < 0 || daemon_fdname_format(mw->id, k, name, sizeof name) < 0)
                        continue;
                snprintf(msg, sizeof msg, "FDSTORE=1\nFDNAME=%s", name);
                r = sd_pid_notify_with_fds(0, false, msg, &fd, 1);
                if (r <= 0)
                        log_warning_errno(r < 0 ? r : -ENOTCONN,
                                          "Failed to hand fd %s to the service manager: %m; workload %s will not "
                                          "survive a restart of forgeoned.",
                                          name, mw->id);
        }
}

void manager_forget_workload(Managed *mw) {
        char path[128];

        if (mw->m->fdstore)
                for (WorkloadFd k = 0; k < _WORKLOAD_FD_MAX; k++) {
                        char name[64], msg[128];

                        if (daemon_fdname_format(mw->id, k, name, sizeof name) < 0)
                                continue;
                        snprintf(msg, sizeof msg, "FDSTOREREMOVE=1\nFDNAME=%s", name);
                        (void) sd_notify(false, msg);
                }
        record_path(mw->id, path);
        if (mw->m->state_fd >= 0)
                (void) unlinkat(mw->m->state_fd, path, 0);
}

int manager_load_state(Manager *m, DaemonRecord *ret_record, ForgeError *err) {
        _cleanup_free_ char *text = NULL, *policy = NULL;
        _cleanup_(daemon_record_done) DaemonRecord rec = {};
        size_t len = 0;
        int r;

        r = read_full_file_at(m->state_fd, "daemon.json", RECORD_MAX_SIZE, &text, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return forge_error_set(err, r, "cannot read %s/daemon.json: %m", m->cfg.state_dir);
        r = daemon_record_from_json(text, &rec);
        if (r < 0) {
                log_warning("%s/daemon.json is damaged: starting afresh.", m->cfg.state_dir);
                return 0;
        }
        r = read_full_file_at(m->state_fd, "policy.json", 16u * 1024u * 1024u, &policy, &len);
        if (r < 0) {
                log_warning_errno(r, "No active policy in %s (%m): starting afresh.", m->cfg.state_dir);
                return 0;
        }
        r = manager_install_saved_policy(m, TAKE_PTR(policy), len, rec.policy_source ?: "policy.json", err);
        if (r < 0)
                return forge_error_prefix(err, r, "the policy the previous instance left in %s: ", m->cfg.state_dir);
        *ret_record = rec;
        rec = (DaemonRecord) {};
        return 1;
}

/* ---- adoption ---- */

typedef struct Handed {
        char id[33];
        int fds[_WORKLOAD_FD_MAX];
        bool used;
} Handed;

static void handed_close(Handed *h) {
        for (size_t k = 0; k < _WORKLOAD_FD_MAX; k++)
                h->fds[k] = safe_close(h->fds[k]);
}

/* A workload we cannot supervise any more must not run on with its calls failing (or, worse, hanging):
 * it is stopped, by its pidfd or its cgroup. */
static void stop_orphan(const char *id, int pidfd, const char *cgroup_path) {
        if (pidfd >= 0)
                (void) syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
        if (cgroup_path) {
                _cleanup_free_ char *p = NULL;
                _cleanup_close_ int fd = -EBADF;

                if (asprintf(&p, "%s/cgroup.kill", cgroup_path) >= 0 &&
                    (fd = open(p, O_WRONLY | O_CLOEXEC)) >= 0)
                        (void) !write(fd, "1", 1);
        }
        log_warning("Workload %s could not be taken over (its record or fds are missing): stopped.", id);
}

static int adopt_one(Manager *m, const WorkloadRecord *rec, Handed *h) {
        _cleanup_(managed_freep) Managed *mw = NULL;
        WorkloadAdoptConfig c = {
                .state = {
                        .id = rec->id,
                        .name = rec->name,
                        .identity = rec->identity,
                        .cgroup_path = rec->cgroup_path,
                        .pid = rec->pid,
                        .creds_calls_trapped = rec->creds_calls_trapped,
                        .container_id = rec->container_id,
                },
                .graph = m->graph,
                .generation = m->generation,
                .sink = m->sink,
                .observer = m->observer,
        };
        SupervisorRecovery rc = {};
        ForgeError err = {};
        int r;

        memcpy(c.state.filter_digest, rec->filter_digest, sizeof c.state.filter_digest);
        memcpy(c.fds, h->fds, sizeof c.fds);
        for (size_t k = 0; k < _WORKLOAD_FD_MAX; k++)
                h->fds[k] = -EBADF; /* taken */

        mw = managed_new(m, rec->id);
        if (!mw) {
                for (size_t k = 0; k < _WORKLOAD_FD_MAX; k++)
                        safe_close(c.fds[k]);
                return -ENOMEM;
        }
        mw->argv = calloc(1, sizeof(char *));
        if (!mw->argv)
                return -ENOMEM;
        if (rec->argv) {
                size_t n = 0;
                while (rec->argv[n])
                        n++;
                free(mw->argv);
                mw->argv = calloc(n + 1, sizeof(char *));
                if (!mw->argv)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        if (!(mw->argv[i] = strdup(rec->argv[i])))
                                return -ENOMEM;
        }
        if (rec->label && !(mw->label = strdup(rec->label)))
                return -ENOMEM;
        if (rec->reason && !(mw->reason = strdup(rec->reason)))
                return -ENOMEM;
        if (rec->image && !(mw->image = strdup(rec->image)))
                return -ENOMEM;
        mw->stop_timeout_usec = rec->stop_timeout_usec;
        mw->state = rec->state == MANAGED_EXITED ? MANAGED_RUNNING : rec->state;
        mw->started_usec = rec->started_usec;
        mw->restart_to_apply = rec->restart_to_apply;
        mw->adopted = true;

        r = workload_adopt(&c, &mw->w, &rc, &err);
        if (r < 0) {
                log_error("Failed to take over workload %s: %s", rec->id, forge_error_message(&err, r));
                return r;
        }
        r = managed_attach(mw);
        if (r < 0)
                return r;
        if (rc.replayed || rc.found || rc.refused)
                log_notice("Workload %s: %u call(s) the previous instance had received decided again, %u found "
                           "that it had taken but not written down, %u failed with EINTR (caller not identified).",
                           mw->id, rc.replayed, rc.found, rc.refused);
        if (mw->state == MANAGED_STOPPING) {
                ForgeError e = {};
                mw->state = MANAGED_RUNNING;
                (void) manager_stop_workload(mw, &e);
        }
        (void) manager_save_workload(mw);
        TAKE_PTR(mw);
        return 0;
}

int manager_adopt_all(Manager *m, const int *fds, char **fd_names, size_t n_fds) {
        _cleanup_free_ Handed *handed = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        size_t n_handed = 0;
        struct dirent *de;
        int adopted = 0;

        handed = calloc(MAX(n_fds, (size_t) 1), sizeof *handed);
        if (!handed)
                return -ENOMEM;
        for (size_t i = 0; i < n_fds; i++) {
                int fd = fds[i];
                char id[33];
                WorkloadFd kind;
                Handed *h = NULL;

                if (!fd_names || !fd_names[i] || daemon_fdname_parse(fd_names[i], id, sizeof id, &kind) < 0) {
                        log_warning("Closing fd %d (\"%s\") handed over: not a workload's.", fd,
                                    fd_names && fd_names[i] ? fd_names[i] : "");
                        safe_close(fd);
                        continue;
                }
                (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
                for (size_t j = 0; j < n_handed; j++)
                        if (streq(handed[j].id, id))
                                h = &handed[j];
                if (!h) {
                        h = &handed[n_handed++];
                        snprintf(h->id, sizeof h->id, "%s", id);
                        for (size_t k = 0; k < _WORKLOAD_FD_MAX; k++)
                                h->fds[k] = -EBADF;
                }
                safe_close(h->fds[kind]); /* a duplicate name: the last one counts */
                h->fds[kind] = fd;
        }

        if (opendir_at(m->state_fd, WORKLOADS_DIR, &d) >= 0)
                while ((de = readdir(d))) {
                        _cleanup_(workload_record_done) WorkloadRecord rec = {};
                        _cleanup_free_ char *text = NULL;
                        char path[128];
                        Handed *h = NULL;
                        size_t l = strlen(de->d_name);

                        if (l < 6 || !streq(de->d_name + l - 5, ".json"))
                                continue;
                        snprintf(path, sizeof path, "%s/%s", WORKLOADS_DIR, de->d_name);
                        if (read_full_file_at(m->state_fd, path, RECORD_MAX_SIZE, &text, NULL) < 0 ||
                            workload_record_from_json(text, &rec) < 0) {
                                log_warning("Removing the unreadable workload record %s.", path);
                                (void) unlinkat(m->state_fd, path, 0);
                                continue;
                        }
                        for (size_t j = 0; j < n_handed; j++)
                                if (streq(handed[j].id, rec.id))
                                        h = &handed[j];
                        if (!h || h->fds[WORKLOAD_FD_LISTENER] < 0 || h->fds[WORKLOAD_FD_PIDFD] < 0 ||
                            h->fds[WORKLOAD_FD_ROOT] < 0) {
                                stop_orphan(rec.id, h ? h->fds[WORKLOAD_FD_PIDFD] : -EBADF, rec.cgroup_path);
                                if (h) {
                                        handed_close(h);
                                        h->used = true;
                                }
                                if (rec.cgroup_path)
                                        (void) rmdir(rec.cgroup_path);
                                (void) unlinkat(m->state_fd, path, 0);
                                continue;
                        }
                        h->used = true;
                        if (adopt_one(m, &rec, h) >= 0)
                                adopted++;
                        else {
                                (void) unlinkat(m->state_fd, path, 0);
                                if (rec.cgroup_path) {
                                        stop_orphan(rec.id, -EBADF, rec.cgroup_path);
                                        (void) rmdir(rec.cgroup_path);
                                }
                        }
                }
        for (size_t j = 0; j < n_handed; j++)
                if (!handed[j].used) {
                        stop_orphan(handed[j].id, handed[j].fds[WORKLOAD_FD_PIDFD], NULL);
                        handed_close(&handed[j]);
                        /* And out of the fd store, where they were. */
                        if (m->fdstore)
                                for (WorkloadFd k = 0; k < _WORKLOAD_FD_MAX; k++) {
                                        char name[64], msg[128];
                                        if (daemon_fdname_format(handed[j].id, k, name, sizeof name) < 0)
                                                continue;
                                        snprintf(msg, sizeof msg, "FDSTOREREMOVE=1\nFDNAME=%s", name);
                                        (void) sd_notify(false, msg);
                                }
                }
        return adopted;
}

void manager_state_clear(Manager *m) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;

        if (m->state_fd < 0)
                return;
        if (opendir_at(m->state_fd, WORKLOADS_DIR, &d) >= 0)
                while ((de = readdir(d))) {
                        char path[300];
                        if (de->d_name[0] == '.')
                                continue;
                        snprintf(path, sizeof path, "%s/%s", WORKLOADS_DIR, de->d_name);
                        (void) unlinkat(m->state_fd, path, 0);
                }
        (void) unlinkat(m->state_fd, "daemon.json", 0);
        (void) unlinkat(m->state_fd, "policy.json", 0);
}

/* ---- re-exec ---- */

int manager_reexec(Manager *m, char **argv) {
        _cleanup_free_ int *fds = NULL;
        _cleanup_free_ char **names = NULL;
        _cleanup_free_ char *handover = NULL, *exe = NULL;
        size_t n = 0, cap = hashmap_size(m->workloads) * _WORKLOAD_FD_MAX + 1;
        Managed *mw;
        int r;

        exe = realpath("/proc/self/exe", NULL);
        if (!exe)
                return -errno;
        /* The binary we run may have been replaced by an upgrade: exec the path, not the old inode. */
        {
                size_t l = strlen(exe);
                if (l > 10 && streq(exe + l - 10, " (deleted)"))
                        exe[l - 10] = 0;
        }
        fds = calloc(cap, sizeof *fds);
        names = calloc(cap + 1, sizeof *names);
        if (!fds || !names)
                return -ENOMEM;

        (void) manager_save_daemon(m);
        (void) manager_save_policy(m);
        HASHMAP_FOREACH (mw, m->workloads, i) {
                if (!mw->w)
                        continue;
                (void) manager_save_workload(mw);
                for (WorkloadFd k = 0; k < _WORKLOAD_FD_MAX; k++) {
                        int fd = workload_get_handover_fd(mw->w, k);
                        char name[64];

                        if (fd < 0 || daemon_fdname_format(mw->id, k, name, sizeof name) < 0)
                                continue;
                        names[n] = strdup(name);
                        if (!names[n])
                                return -ENOMEM;
                        fds[n++] = fd;
                }
        }
        r = daemon_handover_format(fds, names, n, &handover);
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        if (r < 0)
                return r;

        while (manager_drain(m) > 0)
                ;
        /* The audit's run ends here (its stop record and final checkpoint); the new image starts the next
         * one, chained to this one's head in the state directory. */
        m->audit = audit_free(m->audit);
        if (m->bus)
                (void) sd_bus_flush(m->bus);
        log_info("Re-executing %s with its workloads' %zu fds.", exe, n);
        fflush(NULL);

        /* The fds stay where they are (the supervisors' threads use them until the exec ends them): they
         * only lose O_CLOEXEC. */
        for (size_t i = 0; i < n; i++)
                if (fcntl(fds[i], F_SETFD, 0) < 0)
                        return -errno;
        if (setenv("FORGEONED_HANDOVER", handover, 1) < 0)
                return -errno;
        execv(exe, argv);
        r = -errno;
        for (size_t i = 0; i < n; i++)
                (void) fcntl(fds[i], F_SETFD, FD_CLOEXEC);
        (void) unsetenv("FORGEONED_HANDOVER");
        return r;
}
