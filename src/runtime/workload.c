/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The workload object: the one launch path for plain commands and images, then the owner's view of a
 * running workload. See workload.h. */
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "container-run.h"
#include "forgeone/filter-cache.h"
#include "forgeone/policy-compile.h"
#include "forgeone/policy-graph.h"
#include "forgeone/seccomp-notify.h"
#include "forgeone/time-util.h"
#include "forgeone/workload.h"
#include "workload-init.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct fo_clone_args {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
                set_tid_size, cgroup;
};

struct Workload {
        char id[64];
        pid_t pid;            /* plain: our init; image: the container's init */
        int pidfd;            /* plain: ours; image: borrowed from the run */
        int command_pidfd;    /* plain: the command itself */
        int wake_fd;          /* eventfd the supervisor writes for the owner */
        Supervisor *supervisor;
        WorkloadInitPage *page; /* plain */
        ContainerRun *run;      /* image */
        bool quarantined;       /* plain: killed by a quarantine */
        bool reaped;
        bool hosted;
        EventSink *sink; /* lifecycle, policy and trust notices go here too */
        int last_trust;  /* the score last posted */
};

static unsigned workload_counter;

/* ---- notices for the sink's consumers (the audit): policy in force, state, trust ---- */

static void post_state(Workload *w, const char *state, const char *text) {
        event_sink_post_notice(
                w->sink, w->id,
                &(EventNotice){ .kind = EVENT_NOTICE_STATE,
                                .state = state,
                                .trust = w->supervisor ? supervisor_get_trust(w->supervisor) : -1 },
                text);
}

static void post_started(Workload *w, const PolicyGraph *g, int identity) {
        const Policy *p = policy_graph_policy(g);
        const char *id =
                identity >= 0 && (size_t) identity < p->n_identities ? p->identities[identity].name : "*";
        char text[1024];

        if (!w->sink)
                return;
        w->last_trust = supervisor_get_trust(w->supervisor);
        snprintf(text, sizeof text, "Policy %s (%s), generation 1, in force for identity %s.",
                 strempty(p->path), p->digest[0] ? p->digest : "no digest", id);
        event_sink_post_notice(w->sink, w->id,
                               &(EventNotice){
                                       .kind = EVENT_NOTICE_POLICY_LOADED,
                                       .policy = p->path,
                                       .policy_digest = p->digest[0] ? p->digest : NULL,
                                       .identity = id,
                                       .generation = 1,
                                       .trust = w->last_trust,
                               },
                               text);
        /* A container posts its own states (container.c); a plain command's are these. */
        if (!w->run)
                post_state(w, "Running", "Running");
}

static void post_trust(Workload *w) {
        int t;
        char text[64];

        if (!w->sink || !w->supervisor)
                return;
        t = supervisor_get_trust(w->supervisor);
        if (t == w->last_trust)
                return;
        snprintf(text, sizeof text, "Trust score %d (was %d).", t, w->last_trust);
        w->last_trust = t;
        event_sink_post_notice(w->sink, w->id, &(EventNotice){ .kind = EVENT_NOTICE_TRUST, .trust = t },
                               text);
}

const char *workload_get_id(const Workload *w) {
        return w->id;
}

pid_t workload_get_pid(const Workload *w) {
        return w->pid;
}

int workload_get_pidfd(const Workload *w) {
        return w->pidfd;
}

Supervisor *workload_get_supervisor(const Workload *w) {
        return w->supervisor;
}

const char *workload_get_container_id(const Workload *w) {
        return w->run ? container_run_id(w->run) : NULL;
}

int workload_get_fd(const Workload *w) {
        return w->wake_fd;
}

/* ---- quarantine, from the deciding thread ---- */

static void on_quarantine(const SupervisorEvent *ev, void *userdata) {
        Workload *w = userdata;

        if (w->run) {
                container_run_quarantine_request(w->run, ev);
                return;
        }
        /* A plain workload has no cgroup to freeze: it is stopped, all of it, before the quarantining call
         * is answered. The calling task and the command die before this call returns; the rest with init
         * (the kernel ends a pid namespace with its init), and until then every call they make is
         * refused. */
        __atomic_store_n(&w->quarantined, true, __ATOMIC_RELEASE);
        /* The task that made the call first: it waits for our answer, so its id is still its own. */
        (void) kill(ev->tid, SIGKILL);
        (void) syscall(SYS_pidfd_send_signal, w->command_pidfd, SIGKILL, NULL, 0);
        (void) syscall(SYS_pidfd_send_signal, w->pidfd, SIGKILL, NULL, 0);
}

/* ---- plain commands ---- */

static int recv_fd(int sock, int *ret) {
        char dummy;
        struct iovec iov = { .iov_base = &dummy, .iov_len = 1 };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } u;
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = u.buf,
                .msg_controllen = sizeof u.buf,
        };
        struct cmsghdr *c;
        ssize_t n;

        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -ESRCH;
        c = CMSG_FIRSTHDR(&mh);
        if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
                return -EBADMSG;
        memcpy(ret, CMSG_DATA(c), sizeof(int));
        return 0;
}

static int start_plain(Workload *w, const WorkloadConfig *c, Policy *policy_arg, int *ret_listener,
                       PolicyGraph **ret_graph, int *ret_identity, bool *ret_trapped, ForgeError *err) {
        _cleanup_(policy_freep) Policy *policy = policy_arg;
        _cleanup_(policy_filter_freep) PolicyFilter *filter = NULL;
        _cleanup_(policy_graph_unrefp) PolicyGraph *graph = NULL;
        _cleanup_(supervisor_handoff_freep) SupervisorHandoff *handoff = NULL;
        _cleanup_close_ int parent_end = -EBADF, child_end = -EBADF;
        WorkloadInitArgs ia;
        struct fo_clone_args ca = {};
        int identity, sp[2], r, listener;
        pid_t pid;

        if ((!c->argv || !c->argv[0]) && !c->child_fn)
                return forge_error_set(err, -EINVAL, "no command to run");

        if (c->identity) {
                identity = policy_identity_by_name(policy, c->identity);
                if (identity < 0)
                        return forge_error_set(err, -ENOENT, "policy %s has no identity '%s'",
                                               strempty(policy->path), c->identity);
        } else {
                const char *base = c->argv && c->argv[0] ? strrchr(c->argv[0], '/') : NULL;
                PolicyWorkload pw = { .name = base ? base + 1 : c->argv ? c->argv[0] : NULL };
                identity = policy_identity_resolve(policy, &pw);
        }
        r = filter_cache_compile(NULL, policy, identity, &filter);
        if (r < 0)
                return forge_error_set(err, r, "cannot compile policy %s into a seccomp filter: %m",
                                       strempty(policy->path));
        r = policy_graph_new(TAKE_PTR(policy), &graph);
        if (r < 0)
                return forge_error_set(err, r, "cannot build the policy graph: %m");

        r = supervisor_handoff_new(&handoff);
        if (r < 0)
                return forge_error_set(err, r, "cannot set up the listener handoff: %m");
        w->page = mmap(NULL, sizeof *w->page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (w->page == MAP_FAILED) {
                w->page = NULL;
                return forge_error_set(err, -errno, "cannot map the init page: %m");
        }
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
                return forge_error_set(err, -errno, "cannot create a socket pair: %m");
        parent_end = sp[0];
        child_end = sp[1];

        ia = (WorkloadInitArgs) {
                .sync_fd = child_end,
                .argv = c->argv,
                .fn = c->child_fn,
                .userdata = c->child_userdata,
                .filter = filter,
                .handoff = handoff,
                .page = w->page,
                .stdio = c->stdio_set ? c->stdio : NULL,
                .root_directory = c->root_directory,
                .uid = c->run_as_uid,
                .gid = c->run_as_gid,
        };
        /* Its own pid, mount and IPC namespaces: nothing of the host is reachable by pid from inside, nor a
         * SysV shared memory segment, message queue or semaphore of a host process (a root workload would
         * pass their permission checks). */
        ca.flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_PIDFD;
        ca.pidfd = (uint64_t) (uintptr_t) &w->pidfd;
        ca.exit_signal = SIGCHLD;
        pid = (pid_t) syscall(SYS_clone3, &ca, sizeof ca);
        if (pid < 0) {
                r = -errno;
                return forge_error_set(err, r, "cannot create the workload's pid and mount namespaces: %s",
                                       r == -EPERM ? "running a workload needs root (CAP_SYS_ADMIN)"
                                                   : strerror(-r));
        }
        if (pid == 0) {
                safe_close(parent_end);
                workload_init_main(&ia);
        }
        w->pid = pid;
        child_end = safe_close(child_end);

        if (send(parent_end, "g", 1, MSG_NOSIGNAL) != 1)
                return forge_error_set(err, -errno, "cannot start the workload: %m");
        r = recv_fd(parent_end, &w->command_pidfd);
        if (r < 0) {
                if (w->page->setup_error)
                        return forge_error_set(err, -w->page->setup_error, "%s", w->page->setup_message);
                return forge_error_set(err, r, "the workload's init did not start the command: %m");
        }
        r = supervisor_handoff_receive(handoff, w->command_pidfd, 0, &listener);
        if (r < 0)
                return forge_error_set(err, r, "cannot take the workload's seccomp listener: %m");

        *ret_listener = listener;
        *ret_graph = TAKE_PTR(graph);
        *ret_identity = identity;
        *ret_trapped = filter->traps_credentials;
        return 0;
}

int workload_start(const WorkloadConfig *c, Workload **ret, ForgeError *err) {
        _cleanup_(workload_freep) Workload *w = NULL;
        _cleanup_(policy_graph_unrefp) PolicyGraph *graph_ref = NULL;
        PolicyGraph *graph = NULL;
        SupervisorConfig sc;
        ContainerLaunched cl = {};
        _cleanup_close_ int root_fd = -EBADF;
        int listener = -EBADF, identity = POLICY_IDENTITY_ANY, r;
        bool trapped = false;

        if (!c || !c->policy || !ret) {
                if (c)
                        policy_free(c->policy);
                return -EINVAL;
        }

        w = calloc(1, sizeof *w);
        if (!w) {
                policy_free(c->policy);
                return -ENOMEM;
        }
        w->pidfd = w->command_pidfd = w->wake_fd = -EBADF;
        w->hosted = c->hosted;
        w->sink = c->sink;
        w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->wake_fd < 0) {
                policy_free(c->policy);
                return forge_error_set(err, -errno, "cannot create an eventfd: %m");
        }

        if (c->image) {
                ContainerConfig cc = *c->image;

                if (c->argv && c->argv[0])
                        cc.command = c->argv;
                r = container_run_launch(&cc, c->policy, c->identity, c->sink, &w->run, &cl, err);
                if (r < 0)
                        return forge_error_set(err, r, "%m"); /* when the container said nothing */
                w->pid = cl.pid;
                w->pidfd = fcntl(cl.pidfd, F_DUPFD_CLOEXEC, 3);
                if (w->pidfd < 0)
                        return forge_error_set(err, -errno, "cannot duplicate the container's pidfd: %m");
                snprintf(w->id, sizeof w->id, "%s", container_run_id(w->run));
                listener = cl.listener;
                graph = cl.graph;
                identity = cl.identity;
                trapped = cl.creds_calls_trapped;
                root_fd = fcntl(cl.root_fd, F_DUPFD_CLOEXEC, 3);
                if (root_fd < 0) {
                        safe_close(listener);
                        return forge_error_set(err, -errno, "cannot duplicate the container's root: %m");
                }
        } else {
                char p[64];

                r = start_plain(w, c, c->policy, &listener, &graph_ref, &identity, &trapped, err);
                if (r < 0)
                        return r;
                graph = graph_ref;
                snprintf(w->id, sizeof w->id, "run-%d-%u", (int) getpid(),
                         __atomic_add_fetch(&workload_counter, 1, __ATOMIC_RELAXED));
                /* Paths are resolved in its mount namespace, /proc included. */
                snprintf(p, sizeof p, "/proc/%d/root", (int) w->pid);
                root_fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (root_fd < 0) {
                        safe_close(listener);
                        return forge_error_set(err, -errno, "cannot open the workload's root %s: %m", p);
                }
        }

        sc = (SupervisorConfig) {
                .identity = identity,
                .root_fd = root_fd,
                .cgroup_fd = c->image ? cl.cgroup_fd : -1,
                .workload = w->id,
                .sink = c->sink,
                .wake_fd = w->wake_fd,
                .on_quarantine = on_quarantine,
                .userdata = w,
                .creds_calls_trapped = trapped,
        };
        r = supervisor_new(listener, graph, &sc, &w->supervisor);
        if (r < 0)
                return forge_error_set(err, r, "cannot start supervising the workload: %m");
        post_started(w, graph, identity);
        if (!c->hosted) {
                r = supervisor_start_thread(w->supervisor);
                if (r < 0)
                        return forge_error_set(err, r, "cannot start the supervisor thread: %m");
                if (w->run)
                        container_run_place_supervisor(w->run, supervisor_get_thread_tid(w->supervisor));
        }
        if (w->run) {
                r = container_run_exec(w->run, err);
                if (r < 0)
                        return forge_error_set(err, r, "%m"); /* when the container said nothing */
        }
        *ret = TAKE_PTR(w);
        return 0;
}

uint64_t workload_next_timeout(const Workload *w) {
        return w->run ? container_run_next_timeout(w->run) : 0;
}

int workload_process(Workload *w) {
        eventfd_t v;

        (void) eventfd_read(w->wake_fd, &v);
        post_trust(w);
        if (w->run)
                return container_run_process(w->run, w->supervisor ? supervisor_get_trust(w->supervisor) : -1);
        return 0;
}

int workload_kill(Workload *w, int sig) {
        if (w->reaped)
                return -ESRCH;
        if (w->run)
                return container_run_kill(w->run, sig);
        return syscall(SYS_pidfd_send_signal, w->pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

int workload_reap(Workload *w, WorkloadResult *ret) {
        siginfo_t si = {};
        int r;

        if (w->reaped)
                return -ESRCH;
        if (waitid((idtype_t) P_PIDFD, (id_t) w->pidfd, &si, WEXITED | WNOHANG) < 0)
                return -errno;
        if (si.si_pid == 0)
                return 0;
        w->reaped = true;

        *ret = (WorkloadResult) { .exit_code = -1 };
        if (w->run) {
                /* Whatever init left is killed and the supervisor stops once no task uses the filter. */
                r = container_run_end(w->run, &si, &ret->container);
                ret->exit_code = ret->container.exit_code;
                ret->exit_signal = ret->container.exit_signal;
                /* A container is frozen by a quarantine, and may be released: it ended quarantined only when
                 * the quarantine had to kill it. */
                ret->quarantined = container_run_quarantine_killed(w->run);
                (void) r;
        } else {
                /* Init mirrors the command; the page has its exact status. */
                if (__atomic_load_n(&w->page->command_ended, __ATOMIC_ACQUIRE)) {
                        int st = w->page->command_status;
                        if (WIFEXITED(st))
                                ret->exit_code = WEXITSTATUS(st);
                        else
                                ret->exit_signal = WTERMSIG(st);
                } else if (si.si_code == CLD_EXITED)
                        ret->exit_code = si.si_status;
                else
                        ret->exit_signal = si.si_status;
                ret->quarantined = __atomic_load_n(&w->quarantined, __ATOMIC_ACQUIRE) ||
                                   (w->supervisor && supervisor_is_quarantined(w->supervisor));
                if (w->sink) {
                        char text[64];

                        post_trust(w);
                        if (ret->quarantined)
                                snprintf(text, sizeof text, "Quarantined (killed)");
                        else if (ret->exit_signal > 0)
                                snprintf(text, sizeof text, "Stopped (signal %d)", ret->exit_signal);
                        else
                                snprintf(text, sizeof text, "Stopped (exit %d)", ret->exit_code);
                        post_state(w, ret->quarantined ? "Quarantined" : "Stopped", text);
                }
        }
        /* Everything is gone now: the dedicated thread's RECV has ended or will in a moment. */
        if (w->supervisor && !w->hosted)
                (void) supervisor_join_thread(w->supervisor, 5u * 1000000u, NULL);
        return 1;
}

Workload *workload_free(Workload *w) {
        if (!w)
                return NULL;
        if (!w->reaped) {
                WorkloadResult res;

                (void) workload_kill(w, SIGKILL);
                if (w->pidfd >= 0) {
                        siginfo_t si = {};
                        (void) waitid((idtype_t) P_PIDFD, (id_t) w->pidfd, &si, WEXITED | __WNOTHREAD | WNOWAIT);
                        (void) workload_reap(w, &res);
                }
        }
        supervisor_free(w->supervisor);
        container_run_free(w->run);
        if (w->page)
                (void) munmap(w->page, sizeof *w->page);
        safe_close(w->pidfd);
        safe_close(w->command_pidfd);
        safe_close(w->wake_fd);
        free(w);
        return NULL;
}

int workload_result_exit_status(const WorkloadResult *r) {
        if (r->quarantined)
                return FORGEONE_EXIT_QUARANTINED;
        if (r->container.state == CONTAINER_FAILED && r->container.id[0])
                return container_result_exit_status(&r->container);
        if (r->exit_signal > 0)
                return 128 + r->exit_signal;
        return r->exit_code >= 0 ? r->exit_code : 1;
}
