/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The workload object: the one launch path for plain commands and images, then the owner's view of a
 * running workload. See workload.h. */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "container-run.h"
#include "forgeone/filter-cache.h"
#include "forgeone/sha256.h"
#include "forgeone/string-table.h"
#include "forgeone/policy-compile.h"
#include "forgeone/policy-graph.h"
#include "forgeone/seccomp-notify.h"
#include "forgeone/time-util.h"
#include "forgeone/workload.h"
#include "workload-init.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

struct fo_clone_args {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
                set_tid_size, cgroup;
};

struct Workload {
        char id[64];
        char *name;           /* what identities match against */
        char *identity;       /* its identity's name, NULL for "*" */
        pid_t pid;            /* plain: our init; image: the container's init */
        int pidfd;            /* plain: ours; image: borrowed from the run */
        int command_pidfd;    /* plain: the command itself */
        int wake_fd;          /* eventfd the supervisor writes for the owner */
        int root_fd;          /* plain: a copy of what the supervisor resolves in, for a successor */
        int page_fd;          /* plain: the memfd behind page */
        int cgroup_fd;        /* plain: its own cgroup v2 directory, or -EBADF */
        int journal_fd;       /* the supervisor's journal, or -EBADF */
        char *cgroup_path;
        Supervisor *supervisor;
        WorkloadInitPage *page; /* plain */
        ContainerRun *run;      /* image */
        uint8_t filter_digest[SHA256_DIGEST_SIZE];
        bool creds_calls_trapped;
        bool quarantined;       /* plain: killed by a quarantine */
        bool reaped;
        bool hosted;
        EventSink *sink; /* lifecycle, policy and trust notices go here too */
        int last_trust;  /* the score last posted */
        Observer *observer; /* watching it, or NULL */
        bool adopted;           /* maybe not our child: its end is seen on the pidfd, its status on the page
                                 * (plain) or in the pidfd's exit information (images) */
        uint64_t end_seen_usec; /* adopted, not our child: when its end was first seen, not yet reaped */
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

/* The policy now in force for the workload: at its start, after a reload, after an adoption. */
static void post_policy(Workload *w, const PolicyGraph *g, int identity, uint64_t generation) {
        const Policy *p = policy_graph_policy(g);
        const char *id =
                identity >= 0 && (size_t) identity < p->n_identities ? p->identities[identity].name : "*";
        char text[1024];

        if (!w->sink)
                return;
        w->last_trust = w->supervisor ? supervisor_get_trust(w->supervisor) : -1;
        snprintf(text, sizeof text, "Policy %s (%s), generation %" PRIu64 ", in force for identity %s.",
                 strempty(p->path), p->digest[0] ? p->digest : "no digest", generation, id);
        event_sink_post_notice(w->sink, w->id,
                               &(EventNotice){
                                       .kind = EVENT_NOTICE_POLICY_LOADED,
                                       .policy = p->path,
                                       .policy_digest = p->digest[0] ? p->digest : NULL,
                                       .identity = id,
                                       .generation = generation,
                                       .trust = w->last_trust,
                               },
                               text);
}

static void post_started(Workload *w, const PolicyGraph *g, int identity, uint64_t generation) {
        if (!w->sink)
                return;
        post_policy(w, g, identity, generation);
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

static void cgroup_remove_workload(Workload *w);
static int cgroup_write(Workload *w, const char *file, const char *value);

static const char *const workload_fd_table[_WORKLOAD_FD_MAX] = {
        [WORKLOAD_FD_LISTENER] = "listener", [WORKLOAD_FD_PIDFD] = "pidfd", [WORKLOAD_FD_COMMAND] = "command",
        [WORKLOAD_FD_ROOT] = "root",         [WORKLOAD_FD_PAGE] = "page",   [WORKLOAD_FD_CGROUP] = "cgroup",
        [WORKLOAD_FD_JOURNAL] = "journal",
};

DEFINE_STRING_TABLE_LOOKUP(workload_fd, WorkloadFd)

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
         * is answered. Init first: the kernel ends a pid namespace with its init, sending SIGKILL to every
         * task in it before init's pidfd turns readable; waiting for that (briefly, on this deciding
         * thread, which the workload waits for anyway) means no task of the workload runs another
         * instruction once this returns. Killing the caller first would wake its parent, which could run
         * on (an untrapped write) before its own SIGKILL landed. */
        __atomic_store_n(&w->quarantined, true, __ATOMIC_RELEASE);
        (void) syscall(SYS_pidfd_send_signal, w->pidfd, SIGKILL, NULL, 0);
        (void) syscall(SYS_pidfd_send_signal, w->command_pidfd, SIGKILL, NULL, 0);
        /* The task that made the call: it waits for our answer, so its id is still its own. A quarantine
         * that trust decided outside a call (supervisor_penalize(), the observer's kernel-filter denials)
         * names no task. */
        if (ev->tid > 0)
                (void) kill(ev->tid, SIGKILL);
        if (w->pidfd >= 0) {
                struct pollfd p = { .fd = w->pidfd, .events = POLLIN };
                (void) poll(&p, 1, 5000);
        }
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

static void filter_digest(const PolicyFilter *f, uint8_t ret[static SHA256_DIGEST_SIZE]) {
        sha256_buffer(f->insns, f->n_insns * sizeof f->insns[0], ret);
}

/* The identity of a workload called name: by its configured name, else resolved from name. */
static int identity_lookup(const Policy *policy, const char *identity, const char *name, ForgeError *err) {
        int i;

        if (identity) {
                i = policy_identity_by_name(policy, identity);
                if (i < 0 && i != POLICY_IDENTITY_ANY)
                        return forge_error_set(err, -ENOENT, "policy %s has no identity '%s'",
                                               strempty(policy->path), identity);
                return i;
        }
        return policy_identity_resolve(policy, &(PolicyWorkload) { .name = name });
}

static int set_identity_name(Workload *w, const Policy *policy, int identity) {
        free(w->identity);
        w->identity = NULL;
        if (identity >= 0 && (size_t) identity < policy->n_identities) {
                w->identity = strdup(policy->identities[identity].name);
                if (!w->identity)
                        return -ENOMEM;
        }
        return 0;
}

static int cgroup_create_workload(Workload *w, const char *parent, ForgeError *err) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/%s", parent, w->id) < 0)
                return -ENOMEM;
        if (mkdir(path, 0755) < 0)
                return forge_error_set(err, -errno, "cannot create the workload's cgroup %s: %m", path);
        w->cgroup_path = TAKE_PTR(path);
        w->cgroup_fd = open(w->cgroup_path, O_DIRECTORY | O_CLOEXEC);
        if (w->cgroup_fd < 0)
                return forge_error_set(err, -errno, "cannot open the workload's cgroup %s: %m", w->cgroup_path);
        return 0;
}

static int start_plain(Workload *w, const WorkloadConfig *c, Policy *policy_arg, int *ret_listener,
                       PolicyGraph **ret_graph, int *ret_identity, bool *ret_trapped, PolicyFilter **ret_filter,
                       ForgeError *err) {
        _cleanup_(policy_freep) Policy *policy_owned = policy_arg;
        _cleanup_(policy_filter_freep) PolicyFilter *filter = NULL;
        _cleanup_(policy_graph_unrefp) PolicyGraph *graph = NULL;
        _cleanup_(supervisor_handoff_freep) SupervisorHandoff *handoff = NULL;
        _cleanup_close_ int parent_end = -EBADF, child_end = -EBADF;
        const Policy *policy;
        WorkloadInitArgs ia;
        struct fo_clone_args ca = {};
        int identity, sp[2], r, listener;
        bool into_cgroup = false;
        pid_t pid;

        if ((!c->argv || !c->argv[0]) && !c->child_fn)
                return forge_error_set(err, -EINVAL, "no command to run");

        if (c->graph) {
                graph = policy_graph_ref(c->graph);
                policy = policy_graph_policy(graph);
        } else
                policy = policy_owned;
        {
                const char *base = c->argv && c->argv[0] ? strrchr(c->argv[0], '/') : NULL;
                w->name = strdup(base ? base + 1 : c->argv && c->argv[0] ? c->argv[0] : "");
                if (!w->name)
                        return -ENOMEM;
        }
        identity = identity_lookup(policy, c->identity, w->name, err);
        if (identity < 0 && identity != POLICY_IDENTITY_ANY)
                return identity;
        r = set_identity_name(w, policy, identity);
        if (r < 0)
                return r;
        r = filter_cache_compile(NULL, policy, identity, &filter);
        if (r < 0)
                return forge_error_set(err, r, "cannot compile policy %s into a seccomp filter: %m",
                                       strempty(policy->path));
        filter_digest(filter, w->filter_digest);
        if (!graph) {
                r = policy_graph_new(TAKE_PTR(policy_owned), &graph);
                if (r < 0)
                        return forge_error_set(err, r, "cannot build the policy graph: %m");
        }

        r = supervisor_handoff_new(&handoff);
        if (r < 0)
                return forge_error_set(err, r, "cannot set up the listener handoff: %m");
        /* A memfd rather than anonymous memory: an owner's successor maps it again. */
        w->page_fd = memfd_create("forgeone-init-page", MFD_CLOEXEC);
        if (w->page_fd < 0)
                return forge_error_set(err, -errno, "cannot create the init page: %m");
        if (ftruncate(w->page_fd, sizeof *w->page) < 0)
                return forge_error_set(err, -errno, "cannot size the init page: %m");
        w->page = mmap(NULL, sizeof *w->page, PROT_READ | PROT_WRITE, MAP_SHARED, w->page_fd, 0);
        if (w->page == MAP_FAILED) {
                w->page = NULL;
                return forge_error_set(err, -errno, "cannot map the init page: %m");
        }
        if (c->cgroup_parent) {
                r = cgroup_create_workload(w, c->cgroup_parent, err);
                if (r < 0)
                        return r;
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
                .envp = c->envp,
                .cwd = c->working_directory,
                .survive_owner = c->survive_owner,
                .controlling_tty = c->controlling_tty,
        };
        /* Its own pid, mount and IPC namespaces: nothing of the host is reachable by pid from inside, nor a
         * SysV shared memory segment, message queue or semaphore of a host process (a root workload would
         * pass their permission checks). */
        ca.flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_PIDFD;
        ca.pidfd = (uint64_t) (uintptr_t) &w->pidfd;
        ca.exit_signal = SIGCHLD;
        if (w->cgroup_fd >= 0) {
                ca.flags |= CLONE_INTO_CGROUP;
                ca.cgroup = (uint64_t) w->cgroup_fd;
        }
        pid = (pid_t) syscall(SYS_clone3, &ca, sizeof ca);
        if (pid < 0 && errno == ENOSYS) {
                /* systemd's RestrictNamespaces= fails clone3() with ENOSYS (it cannot look into its
                 * arguments): clone() then, and the cgroup joined before init goes on. */
                into_cgroup = w->cgroup_fd >= 0;
                pid = (pid_t) syscall(SYS_clone,
                                      (unsigned long) (CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_PIDFD |
                                                       SIGCHLD),
                                      NULL, &w->pidfd, NULL, NULL);
        }
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
        if (into_cgroup) {
                char n[32];

                snprintf(n, sizeof n, "%d", (int) pid);
                r = cgroup_write(w, "cgroup.procs", n);
                if (r < 0)
                        return forge_error_set(err, r, "cannot move the workload into its cgroup %s: %m",
                                               w->cgroup_path);
        }

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
        *ret_filter = TAKE_PTR(filter);
        return 0;
}

static Workload *workload_new(bool hosted) {
        Workload *w = calloc(1, sizeof *w);

        if (!w)
                return NULL;
        w->pidfd = w->command_pidfd = w->wake_fd = w->root_fd = w->page_fd = w->cgroup_fd = w->journal_fd = -EBADF;
        w->hosted = hosted;
        return w;
}

static int journal_create(Workload *w, ForgeError *err) {
        int r;

        w->journal_fd = memfd_create("forgeone-journal", MFD_CLOEXEC);
        if (w->journal_fd < 0)
                return forge_error_set(err, -errno, "cannot create the supervisor's journal: %m");
        r = supervisor_journal_init(w->journal_fd);
        if (r < 0)
                return forge_error_set(err, r, "cannot set up the supervisor's journal: %m");
        return 0;
}

/* Has the observer watch w from now on; a workload it cannot watch runs, and its notices say why. */
static void observe(Workload *w, Observer *o, const PolicyFilter *f, const PolicyGraph *g, uint64_t generation,
                    int cgroup_fd) {
        const Policy *p = policy_graph_policy(g);
        int r;

        if (!o)
                return;
        r = observer_add_workload(o, &(ObserverWorkload){
                                             .id = w->id,
                                             .pid = w->pid,
                                             .skip_init = !w->run, /* a plain command's pid 1 is our init */
                                             .filter = f,
                                             .supervisor = w->supervisor,
                                             .cgroup_fd = cgroup_fd,
                                             .identity = w->identity ?: "*",
                                             .policy_digest = p->digest[0] ? p->digest : NULL,
                                             .generation = generation ?: 1,
                                     });
        if (r < 0) {
                char text[256];

                snprintf(text, sizeof text, "The observer cannot watch this workload: %s.", strerror(-r));
                event_sink_post_notice(w->sink, w->id, NULL, text);
                return;
        }
        w->observer = o;
}

int workload_start(const WorkloadConfig *c, Workload **ret, ForgeError *err) {
        _cleanup_(workload_freep) Workload *w = NULL;
        _cleanup_(policy_graph_unrefp) PolicyGraph *graph_ref = NULL;
        _cleanup_(policy_filter_freep) PolicyFilter *filter = NULL;
        PolicyGraph *graph = NULL;
        SupervisorConfig sc;
        ContainerLaunched cl = {};
        _cleanup_close_ int root_fd = -EBADF;
        int listener = -EBADF, identity = POLICY_IDENTITY_ANY, r;
        bool trapped = false;

        if (!c || (!c->policy && !c->graph) || !ret) {
                if (c)
                        policy_free(c->policy);
                return -EINVAL;
        }

        w = workload_new(c->hosted);
        if (!w) {
                policy_free(c->policy);
                return -ENOMEM;
        }
        w->sink = c->sink;
        w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->wake_fd < 0) {
                policy_free(c->policy);
                return forge_error_set(err, -errno, "cannot create an eventfd: %m");
        }
        if (c->journal) {
                r = journal_create(w, err);
                if (r < 0) {
                        policy_free(c->policy);
                        return r;
                }
        }

        if (c->image) {
                ContainerConfig cc = *c->image;
                Policy *policy = c->policy;

                if (c->argv && c->argv[0])
                        cc.command = c->argv;
                cc.survive_owner = cc.survive_owner || c->survive_owner;
                if (c->graph)
                        policy = policy_free(policy); /* the graph's is the one */
                r = container_run_launch(&cc, policy, c->graph, c->identity, c->stdio_set ? c->stdio : NULL,
                                         c->sink, &w->run, &cl, err);
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
                filter = TAKE_PTR(cl.filter);
                memcpy(w->filter_digest, cl.filter_digest, sizeof w->filter_digest);
                w->name = strdup(cc.name ?: w->id);
                r = w->name ? set_identity_name(w, policy_graph_policy(graph), identity) : -ENOMEM;
                if (r < 0) {
                        safe_close(listener);
                        return r;
                }
                root_fd = fcntl(cl.root_fd, F_DUPFD_CLOEXEC, 3);
                /* For a successor: the root and the v2 cgroup, as fds the fd store takes (not O_PATH). */
                w->root_fd = root_fd >= 0 ? openat(cl.root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -EBADF;
                w->cgroup_fd = w->root_fd >= 0 ? fcntl(cl.cgroup_fd, F_DUPFD_CLOEXEC, 3) : -EBADF;
                if (root_fd < 0 || w->root_fd < 0 || w->cgroup_fd < 0) {
                        safe_close(listener);
                        return forge_error_set(err, -errno, "cannot duplicate the container's root or cgroup: %m");
                }
        } else {
                char p[64];

                if (c->id) {
                        if (strlen(c->id) >= sizeof w->id || strchr(c->id, '/')) {
                                policy_free(c->policy);
                                return forge_error_set(err, -EINVAL, "invalid workload id '%s'", c->id);
                        }
                        snprintf(w->id, sizeof w->id, "%s", c->id);
                } else
                        snprintf(w->id, sizeof w->id, "run-%d-%u", (int) getpid(),
                                 __atomic_add_fetch(&workload_counter, 1, __ATOMIC_RELAXED));
                r = start_plain(w, c, c->policy, &listener, &graph_ref, &identity, &trapped, &filter, err);
                if (r < 0)
                        return r;
                graph = graph_ref;
                /* Paths are resolved in its mount namespace, /proc included. Not O_PATH: systemd's fd
                 * store refuses what epoll refuses (EBADF), and this fd goes there. */
                snprintf(p, sizeof p, "/proc/%d/root", (int) w->pid);
                root_fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (root_fd < 0) {
                        safe_close(listener);
                        return forge_error_set(err, -errno, "cannot open the workload's root %s: %m", p);
                }
        }

        sc = (SupervisorConfig) {
                .identity = identity,
                .root_fd = root_fd,
                .cgroup_fd = c->image ? cl.cgroup_fd : w->cgroup_fd,
                .workload = w->id,
                .sink = c->sink,
                .wake_fd = w->wake_fd,
                .on_quarantine = on_quarantine,
                .userdata = w,
                .creds_calls_trapped = trapped,
                .generation = c->generation,
                .journal_fd = w->journal_fd,
        };
        w->creds_calls_trapped = trapped;
        r = supervisor_new(listener, graph, &sc, &w->supervisor);
        if (r < 0)
                return forge_error_set(err, r, "cannot start supervising the workload: %m");
        post_started(w, graph, identity, c->generation ?: 1);
        /* Before the supervisor answers anything: the command's first call under its filter waits for it. */
        observe(w, c->observer, filter, graph, c->generation, c->image ? cl.cgroup_fd : w->cgroup_fd);
        if (!c->image)
                w->root_fd = TAKE_FD(root_fd);
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

/* The exit information of a process that is not our child, from its pidfd (PIDFD_GET_INFO with
 * PIDFD_INFO_EXIT, Linux 6.15): there once its parent (the service manager, a subreaper) has reaped it.
 * -ENODATA while it has not, -EOPNOTSUPP on an older kernel. */
struct fo_pidfd_info {
        uint64_t mask, cgroupid;
        uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
        int32_t exit_code;
};
#define FO_PIDFD_GET_INFO _IOWR(0xFF, 11, struct fo_pidfd_info)
#define FO_PIDFD_INFO_EXIT (1ULL << 3)

static int pidfd_exit_status(int pidfd, siginfo_t *si) {
        struct fo_pidfd_info info = { .mask = FO_PIDFD_INFO_EXIT };

        if (ioctl(pidfd, FO_PIDFD_GET_INFO, &info) < 0)
                return errno == ENOTTY || errno == EINVAL ? -EOPNOTSUPP : -errno;
        if (!(info.mask & FO_PIDFD_INFO_EXIT))
                return -ENODATA;
        if (WIFEXITED(info.exit_code)) {
                si->si_code = CLD_EXITED;
                si->si_status = WEXITSTATUS(info.exit_code);
        } else {
                si->si_code = CLD_KILLED;
                si->si_status = WTERMSIG(info.exit_code);
        }
        return 0;
}

/* How long an adopted workload that is not our child may stay unreaped by its parent before its exit
 * status is given up on (reported as SIGKILL). */
#define ADOPTED_EXIT_INFO_WAIT_USEC (2u * 1000000u)

int workload_reap(Workload *w, WorkloadResult *ret) {
        siginfo_t si = {};
        int r;

        if (w->reaped)
                return -ESRCH;
        if (w->adopted && waitid((idtype_t) P_PIDFD, (id_t) w->pidfd, &si, WEXITED | WNOHANG) >= 0) {
                /* Still our child (a re-exec keeps the process): its exact status. */
                if (si.si_pid == 0)
                        return 0;
        } else if (w->adopted) {
                /* Not our child: the pidfd turns readable at its end, someone else reaps it. */
                struct pollfd p = { .fd = w->pidfd, .events = POLLIN };

                if (errno != ECHILD)
                        return -errno;
                if (poll(&p, 1, 0) < 0)
                        return -errno;
                if (!(p.revents & (POLLIN | POLLHUP)))
                        return 0;
                si.si_pid = w->pid;
                r = pidfd_exit_status(w->pidfd, &si);
                if (r == -ENODATA) {
                        uint64_t now = time_now_usec(CLOCK_MONOTONIC);

                        if (w->end_seen_usec == 0)
                                w->end_seen_usec = now;
                        if (now - w->end_seen_usec < ADOPTED_EXIT_INFO_WAIT_USEC)
                                return 0; /* its parent has not reaped it yet: ask again */
                }
                if (r < 0) {
                        si.si_code = CLD_KILLED;
                        si.si_status = SIGKILL;
                }
        } else {
                if (waitid((idtype_t) P_PIDFD, (id_t) w->pidfd, &si, WEXITED | WNOHANG) < 0)
                        return -errno;
                if (si.si_pid == 0)
                        return 0;
        }
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
        cgroup_remove_workload(w);
        return 1;
}

Workload *workload_free(Workload *w) {
        if (!w)
                return NULL;
        if (!w->reaped) {
                WorkloadResult res;

                (void) workload_kill(w, SIGKILL);
                if (w->pidfd >= 0) {
                        if (w->adopted) {
                                struct pollfd p = { .fd = w->pidfd, .events = POLLIN };
                                (void) poll(&p, 1, 5000);
                        } else {
                                siginfo_t si = {};
                                (void) waitid((idtype_t) P_PIDFD, (id_t) w->pidfd, &si,
                                              WEXITED | __WNOTHREAD | WNOWAIT);
                        }
                        (void) workload_reap(w, &res);
                }
        }
        /* Ended: the observer takes its last counts while the supervisor still answers for its trust. */
        if (w->observer)
                observer_remove_workload(w->observer, w->id);
        supervisor_free(w->supervisor);
        container_run_free(w->run);
        cgroup_remove_workload(w);
        if (w->page)
                (void) munmap(w->page, sizeof *w->page);
        safe_close(w->pidfd);
        safe_close(w->command_pidfd);
        safe_close(w->wake_fd);
        safe_close(w->root_fd);
        safe_close(w->page_fd);
        safe_close(w->cgroup_fd);
        safe_close(w->journal_fd);
        free(w->cgroup_path);
        free(w->name);
        free(w->identity);
        free(w);
        return NULL;
}

/* ---- cgroup (plain workloads) ---- */

static int cgroup_write(Workload *w, const char *file, const char *value) {
        _cleanup_close_ int fd = -EBADF;
        size_t n = strlen(value);

        if (w->cgroup_fd < 0)
                return -EOPNOTSUPP;
        fd = openat(w->cgroup_fd, file, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, value, n) != (ssize_t) n)
                return -errno;
        return 0;
}

static void cgroup_remove_workload(Workload *w) {
        if (!w->cgroup_path)
                return;
        /* Its last tasks leave the cgroup as they exit; a busy one stays for the next try (free). */
        if (rmdir(w->cgroup_path) >= 0 || errno == ENOENT) {
                free(w->cgroup_path);
                w->cgroup_path = NULL;
        }
}

int workload_set_frozen(Workload *w, bool frozen) {
        int r;

        if (w->reaped)
                return -ESRCH;
        if (w->run)
                return container_run_set_frozen(w->run, frozen, NULL);
        if (w->cgroup_fd < 0)
                return -EOPNOTSUPP;
        r = cgroup_write(w, "cgroup.freeze", frozen ? "1" : "0");
        if (r >= 0 && w->sink)
                post_state(w, frozen ? "Paused" : "Running", frozen ? "Paused" : "Resumed");
        return r;
}

int workload_is_frozen(Workload *w) {
        _cleanup_close_ int fd = -EBADF;
        char buf[512];
        const char *p;
        ssize_t n;

        if (w->run)
                return container_run_is_frozen(w->run);
        if (w->cgroup_fd < 0)
                return -EOPNOTSUPP;
        fd = openat(w->cgroup_fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof buf - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        p = strstr(buf, "frozen ");
        return p && p[7] == '1';
}

int workload_quarantine(Workload *w, const char *reason, ForgeError *err) {
        int r;

        if (w->reaped)
                return forge_error_set(err, -ESRCH, "workload %s has ended", w->id);
        if (w->run)
                return container_run_quarantine(w->run, reason, err);
        r = workload_set_frozen(w, true);
        if (r < 0)
                return forge_error_set(err, r, "cannot freeze workload %s: %m", w->id);
        return 0;
}

int workload_release(Workload *w, ForgeError *err) {
        int r;

        if (w->reaped)
                return forge_error_set(err, -ESRCH, "workload %s has ended", w->id);
        if (w->run)
                return container_run_release(w->run, err);
        r = workload_set_frozen(w, false);
        if (r < 0)
                return forge_error_set(err, r, "cannot thaw workload %s: %m", w->id);
        return 0;
}

const char *workload_get_quarantine_reason(const Workload *w) {
        return w->run && !w->reaped ? container_run_quarantine_reason(w->run) : NULL;
}

int workload_stop(Workload *w, ForgeError *err) {
        if (w->reaped)
                return forge_error_set(err, -ESRCH, "workload %s has ended", w->id);
        if (!w->run)
                return forge_error_set(err, -EOPNOTSUPP, "workload %s is not a container", w->id);
        return container_run_stop(w->run, err);
}

/* ---- reload ---- */

/* The workload's identity in graph's policy, and whether its kernel filter would differ there. */
static int graph_prepare(Workload *w, PolicyGraph *graph, int *ret_identity, ForgeError *err) {
        _cleanup_(policy_filter_freep) PolicyFilter *filter = NULL;
        const Policy *policy = policy_graph_policy(graph);
        uint8_t digest[SHA256_DIGEST_SIZE];
        int identity, r;

        if (!w->supervisor)
                return forge_error_set(err, -EOPNOTSUPP, "workload %s cannot change its policy", w->id);
        identity = w->identity ? policy_identity_by_name(policy, w->identity) : POLICY_IDENTITY_ANY;
        if (identity < 0 && identity != POLICY_IDENTITY_ANY) {
                PolicyWorkload pw = { .name = w->name };

                /* A container is matched by its name as given, its image's digest and its labels. */
                if (w->run)
                        container_run_workload(w->run, &pw);
                identity = policy_identity_resolve(policy, &pw);
        }
        r = filter_cache_compile(NULL, policy, identity, &filter);
        if (r < 0)
                return forge_error_set(err, r, "cannot compile the new policy for workload %s: %m", w->id);
        filter_digest(filter, digest);
        *ret_identity = identity;
        return memcmp(digest, w->filter_digest, sizeof digest) != 0;
}

int workload_check_graph(Workload *w, PolicyGraph *graph, ForgeError *err) {
        int identity = POLICY_IDENTITY_ANY;

        return graph_prepare(w, graph, &identity, err);
}

int workload_set_graph(Workload *w, PolicyGraph *graph, uint64_t generation, ForgeError *err) {
        const Policy *policy = policy_graph_policy(graph);
        int identity = POLICY_IDENTITY_ANY, differs, r;

        differs = graph_prepare(w, graph, &identity, err);
        if (differs < 0)
                return differs;
        r = supervisor_reload(w->supervisor, graph, identity, generation);
        if (r < 0)
                return forge_error_set(err, r, "cannot move workload %s to generation %" PRIu64 ": %m", w->id,
                                       generation);
        r = set_identity_name(w, policy, identity);
        if (r < 0)
                return r;
        post_policy(w, graph, identity, generation);
        return differs;
}

/* ---- handover ---- */

int workload_get_handover_fd(const Workload *w, WorkloadFd f) {
        switch (f) {
        case WORKLOAD_FD_LISTENER:
                return w->supervisor ? supervisor_get_fd(w->supervisor) : -EBADF;
        case WORKLOAD_FD_PIDFD:
                return w->pidfd;
        case WORKLOAD_FD_COMMAND:
                return w->command_pidfd;
        case WORKLOAD_FD_ROOT:
                return w->root_fd;
        case WORKLOAD_FD_PAGE:
                return w->page_fd;
        case WORKLOAD_FD_CGROUP:
                return w->cgroup_fd;
        case WORKLOAD_FD_JOURNAL:
                return w->journal_fd;
        default:
                return -EBADF;
        }
}

void workload_get_state(const Workload *w, WorkloadState *ret) {
        *ret = (WorkloadState) {
                .id = w->id,
                .name = w->name,
                .identity = w->identity,
                .cgroup_path = w->run ? container_run_cgroup_path(w->run) : w->cgroup_path,
                .container_id = w->run ? container_run_id(w->run) : NULL,
                .pid = w->pid,
                .creds_calls_trapped = w->creds_calls_trapped,
        };
        memcpy(ret->filter_digest, w->filter_digest, sizeof ret->filter_digest);
}

int workload_adopt(const WorkloadAdoptConfig *c, Workload **ret, SupervisorRecovery *ret_recovery, ForgeError *err) {
        _cleanup_(workload_freep) Workload *w = NULL;
        int fds[_WORKLOAD_FD_MAX], identity, r;
        const Policy *policy;
        SupervisorConfig sc;

        for (size_t i = 0; i < _WORKLOAD_FD_MAX; i++)
                fds[i] = c ? c->fds[i] : -EBADF;
        if (!c || !ret || !c->graph || !c->state.id || fds[WORKLOAD_FD_LISTENER] < 0 || fds[WORKLOAD_FD_PIDFD] < 0 ||
            fds[WORKLOAD_FD_ROOT] < 0 || strlen(c->state.id) >= sizeof w->id) {
                for (size_t i = 0; i < _WORKLOAD_FD_MAX; i++)
                        safe_close(fds[i]);
                return -EINVAL;
        }

        w = workload_new(c->hosted);
        if (!w) {
                for (size_t i = 0; i < _WORKLOAD_FD_MAX; i++)
                        safe_close(fds[i]);
                return -ENOMEM;
        }
        w->adopted = true;
        w->sink = c->sink;
        snprintf(w->id, sizeof w->id, "%s", c->state.id);
        w->pid = c->state.pid;
        w->pidfd = fds[WORKLOAD_FD_PIDFD];
        w->command_pidfd = fds[WORKLOAD_FD_COMMAND];
        w->root_fd = fds[WORKLOAD_FD_ROOT];
        w->page_fd = fds[WORKLOAD_FD_PAGE];
        w->cgroup_fd = fds[WORKLOAD_FD_CGROUP];
        w->journal_fd = fds[WORKLOAD_FD_JOURNAL];
        w->creds_calls_trapped = c->state.creds_calls_trapped;
        memcpy(w->filter_digest, c->state.filter_digest, sizeof w->filter_digest);
        w->name = strdup(strempty(c->state.name));
        if (!w->name) {
                safe_close(fds[WORKLOAD_FD_LISTENER]);
                return -ENOMEM;
        }
        if (c->state.cgroup_path && !c->state.container_id) {
                w->cgroup_path = strdup(c->state.cgroup_path);
                if (!w->cgroup_path) {
                        safe_close(fds[WORKLOAD_FD_LISTENER]);
                        return -ENOMEM;
                }
        }
        w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->wake_fd < 0) {
                safe_close(fds[WORKLOAD_FD_LISTENER]);
                return forge_error_set(err, -errno, "cannot create an eventfd: %m");
        }
        if (w->page_fd >= 0) {
                w->page = mmap(NULL, sizeof *w->page, PROT_READ | PROT_WRITE, MAP_SHARED, w->page_fd, 0);
                if (w->page == MAP_FAILED) {
                        w->page = NULL;
                        safe_close(fds[WORKLOAD_FD_LISTENER]);
                        return forge_error_set(err, -errno, "cannot map the init page of %s: %m", w->id);
                }
        }

        if (c->state.container_id) {
                /* Its record, its cgroup and its storage: ours from now on. */
                r = container_run_adopt(c->container_state_dir, c->state.container_id, w->pidfd, &w->run, err);
                if (r < 0) {
                        safe_close(fds[WORKLOAD_FD_LISTENER]);
                        return forge_error_set(err, r, "cannot take over container %s: %m", c->state.container_id);
                }
        }

        policy = policy_graph_policy(c->graph);
        identity = c->state.identity ? policy_identity_by_name(policy, c->state.identity) : POLICY_IDENTITY_ANY;
        if (identity < 0 && identity != POLICY_IDENTITY_ANY) {
                PolicyWorkload pw = { .name = w->name };

                if (w->run)
                        container_run_workload(w->run, &pw);
                identity = policy_identity_resolve(policy, &pw);
        }
        r = set_identity_name(w, policy, identity);
        if (r < 0) {
                safe_close(fds[WORKLOAD_FD_LISTENER]);
                return r;
        }

        sc = (SupervisorConfig) {
                .identity = identity,
                .root_fd = w->root_fd,
                .cgroup_fd = w->cgroup_fd,
                .workload = w->id,
                .sink = c->sink,
                .wake_fd = w->wake_fd,
                .on_quarantine = on_quarantine,
                .userdata = w,
                .creds_calls_trapped = w->creds_calls_trapped,
                .generation = c->generation,
                .journal_fd = w->journal_fd,
        };
        r = supervisor_new(fds[WORKLOAD_FD_LISTENER], c->graph, &sc, &w->supervisor);
        if (r < 0)
                return forge_error_set(err, r, "cannot supervise the adopted workload %s: %m", w->id);
        r = supervisor_recover(w->supervisor, ret_recovery);
        if (r < 0)
                return forge_error_set(err, r, "cannot recover the calls workload %s was left with: %m", w->id);
        if (w->sink) {
                post_policy(w, c->graph, identity, c->generation ?: 1);
                post_state(w, "Adopted", "Adopted by a new supervisor");
        }
        if (c->observer) {
                /* The filter it runs under, if the policy in hand still compiles to it (its digest says). */
                _cleanup_(policy_filter_freep) PolicyFilter *f = NULL;
                uint8_t digest[SHA256_DIGEST_SIZE];

                if (filter_cache_compile(NULL, policy, identity, &f) >= 0) {
                        filter_digest(f, digest);
                        if (memcmp(digest, w->filter_digest, sizeof digest) != 0)
                                f = policy_filter_free(f);
                }
                observe(w, c->observer, f, c->graph, c->generation, w->cgroup_fd);
        }
        if (!c->hosted) {
                r = supervisor_start_thread(w->supervisor);
                if (r < 0)
                        return forge_error_set(err, r, "cannot start the supervisor thread: %m");
        }
        *ret = TAKE_PTR(w);
        return 0;
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
