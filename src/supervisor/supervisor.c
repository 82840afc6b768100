/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The supervisor object and its loop: receive a notification, then decode, decide, act, report (one file
 * each, see supervisor-internal.h). Hosted by the caller's event loop or on a dedicated thread. */
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "forgeone/path-resolve.h"
#include "forgeone/string-table.h"
#include "forgeone/syscall-table.h"
#include "supervisor-internal.h"

static const char *const supervisor_action_table[_SUPERVISOR_ACTION_MAX] = {
        [SUPERVISOR_ACTION_CONTINUE] = "continue",
        [SUPERVISOR_ACTION_EMULATE] = "emulate",
        [SUPERVISOR_ACTION_DENY] = "deny",
        [SUPERVISOR_ACTION_QUARANTINE] = "quarantine",
};

DEFINE_STRING_TABLE_LOOKUP(supervisor_action, SupervisorAction)

#define NOTIF_BUF 512

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void trust_reset(Supervisor *s, const Policy *p) {
        s->trust_cfg = p->trust;
        trust_score_init(&s->trust, &s->trust_cfg, policy_identity_trust(p, s->identity), now_usec());
}

int supervisor_new(int listener, PolicyGraph *graph, const SupervisorConfig *config, Supervisor **ret) {
        _cleanup_close_ int listener_fd = listener;
        _cleanup_(supervisor_freep) Supervisor *s = NULL;
        char proc[64], buf[PATH_MAX + 1];
        ssize_t n;
        int r;

        if (listener < 0 || !graph || !config || !ret)
                return -EINVAL;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->listener = s->root_fd = s->cgroup_fd = s->wake_fd = s->stop_fd = -EBADF;
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->workers_done, NULL);
        pthread_mutex_init(&s->hands_lock, NULL);
        pthread_cond_init(&s->hands_cond, NULL);
        creds_cache_init(&s->creds, config->creds_calls_trapped);
        s->identity = s->next_identity = config->identity;
        s->sink = config->sink;
        s->on_quarantine = config->on_quarantine;
        s->userdata = config->userdata;
        s->workload = strdup(config->workload ?: "");
        if (!s->workload)
                return -ENOMEM;

        if (seccomp_raw(SECCOMP_GET_NOTIF_SIZES, 0, &s->sizes) < 0)
                return -errno;
        if (s->sizes.seccomp_notif > NOTIF_BUF || s->sizes.seccomp_notif_resp > NOTIF_BUF)
                return -EOVERFLOW;

        if (config->root_fd >= 0)
                s->root_fd = fcntl(config->root_fd, F_DUPFD_CLOEXEC, 3);
        else
                s->root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (s->root_fd < 0)
                return -errno;
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", s->root_fd);
        n = readlink(proc, buf, sizeof buf - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        s->root_path = strdup(buf);
        if (!s->root_path)
                return -ENOMEM;

        if (config->cgroup_fd >= 0) {
                s->cgroup_fd = fcntl(config->cgroup_fd, F_DUPFD_CLOEXEC, 3);
                if (s->cgroup_fd < 0)
                        return -errno;
        }
        if (config->wake_fd >= 0) {
                s->wake_fd = fcntl(config->wake_fd, F_DUPFD_CLOEXEC, 3);
                if (s->wake_fd < 0)
                        return -errno;
        }
        s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (s->stop_fd < 0)
                return -errno;
        if (config->journal_fd >= 0) {
                r = journal_map(config->journal_fd, &s->journal);
                if (r < 0)
                        return r;
                s->counts = s->journal->counts;
        } else
                s->counts = s->own_counts;
        s->gone = &s->counts[_SUPERVISOR_ACTION_MAX];

        s->listener = TAKE_FD(listener_fd);
        /* Linux 6.6+: the target is woken on our CPU when we answer. Older kernels say EINVAL. */
        s->sync_wakeup = ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
                               (unsigned long) SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) == 0;

        s->graph = policy_graph_ref(graph);
        s->generation = config->generation ?: 1;
        trust_reset(s, policy_graph_policy(graph));
        r = supervisor_report_add_policy(s, s->generation, s->identity, graph);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

/* ---- the supervisor's own thread for hosted work ---- */

enum { HANDS_IDLE, HANDS_WORK, HANDS_DONE, HANDS_QUIT };

static void *hands_thread(void *arg) {
        Supervisor *s = arg;

        /* A thread of our own: it may keep the last workload's credentials between calls. */
        creds_thread_keep(true);
        pthread_mutex_lock(&s->hands_lock);
        for (;;) {
                while (s->hands_state == HANDS_IDLE || s->hands_state == HANDS_DONE)
                        (void) pthread_cond_wait(&s->hands_cond, &s->hands_lock);
                if (s->hands_state == HANDS_QUIT)
                        break;
                pthread_mutex_unlock(&s->hands_lock);
                s->hands_result = s->hands_fn(s, s->hands_arg);
                pthread_mutex_lock(&s->hands_lock);
                s->hands_state = HANDS_DONE;
                pthread_cond_broadcast(&s->hands_cond);
        }
        pthread_mutex_unlock(&s->hands_lock);
        creds_restore();
        return NULL;
}

int supervisor_on_own_thread(Supervisor *s, int (*fn)(Supervisor *s, void *arg), void *arg) {
        int r;

        pthread_mutex_lock(&s->hands_lock);
        if (!s->hands_started) {
                r = -pthread_create(&s->hands, NULL, hands_thread, s);
                if (r < 0) {
                        pthread_mutex_unlock(&s->hands_lock);
                        return r;
                }
                s->hands_started = true;
        }
        s->hands_fn = fn;
        s->hands_arg = arg;
        s->hands_state = HANDS_WORK;
        pthread_cond_broadcast(&s->hands_cond);
        while (s->hands_state != HANDS_DONE)
                (void) pthread_cond_wait(&s->hands_cond, &s->hands_lock);
        s->hands_state = HANDS_IDLE;
        r = s->hands_result;
        pthread_mutex_unlock(&s->hands_lock);
        return r;
}

static void hands_stop(Supervisor *s) {
        if (!s->hands_started)
                return;
        pthread_mutex_lock(&s->hands_lock);
        s->hands_state = HANDS_QUIT;
        pthread_cond_broadcast(&s->hands_cond);
        pthread_mutex_unlock(&s->hands_lock);
        (void) pthread_join(s->hands, NULL);
        s->hands_started = false;
}

Supervisor *supervisor_free(Supervisor *s) {
        if (!s)
                return NULL;

        /* Blocked workers wait in poll() on stop_fd too. */
        if (s->stop_fd >= 0)
                (void) eventfd_write(s->stop_fd, 1);
        if (s->thread_started && supervisor_join_thread(s, 5 * 1000000u, NULL) == -ETIMEDOUT)
                /* Still blocked in RECV: its tasks live on (a caller error). It holds no reference
                 * to anything we free but the listener, which it keeps open; leak it rather than
                 * free what it uses. */
                return NULL;
        hands_stop(s);
        pthread_mutex_lock(&s->lock);
        while (s->n_workers > 0)
                (void) pthread_cond_wait(&s->workers_done, &s->lock);
        pthread_mutex_unlock(&s->lock);

        creds_cache_done(&s->creds);
        safe_close(s->listener);
        safe_close(s->root_fd);
        safe_close(s->cgroup_fd);
        safe_close(s->wake_fd);
        safe_close(s->stop_fd);
        free(s->root_path);
        free(s->workload);
        journal_unmap(s->journal);
        policy_graph_unref(s->graph);
        policy_graph_unref(s->loop_graph);
        supervisor_report_free_policies(s);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->workers_done);
        pthread_mutex_destroy(&s->hands_lock);
        pthread_cond_destroy(&s->hands_cond);
        free(s);
        return NULL;
}

static void set_graph_locked(Supervisor *s, PolicyGraph *graph, int identity, uint64_t gen) {
        PolicyGraph *old = s->graph;

        s->graph = policy_graph_ref(graph);
        s->next_identity = identity;
        /* Before the generation is published: no decision of it is reported without its entry. */
        (void) supervisor_report_add_policy(s, gen, identity, graph);
        __atomic_store_n(&s->generation, gen, __ATOMIC_RELEASE);
        {
                /* Keep the score, but follow the new policy's limits. */
                int score = s->trust.score;
                s->identity = identity;
                trust_reset(s, policy_graph_policy(graph));
                s->trust.score = MIN(score, s->trust_cfg.maximum);
        }
        policy_graph_unref(old);
}

uint64_t supervisor_set_graph(Supervisor *s, PolicyGraph *graph) {
        uint64_t gen;

        pthread_mutex_lock(&s->lock);
        gen = s->generation + 1;
        set_graph_locked(s, graph, s->next_identity, gen);
        pthread_mutex_unlock(&s->lock);
        return gen;
}

int supervisor_reload(Supervisor *s, PolicyGraph *graph, int identity, uint64_t generation) {
        int r = 0;

        if (!graph)
                return -EINVAL;
        pthread_mutex_lock(&s->lock);
        if (generation <= s->generation)
                r = -ESTALE;
        else
                set_graph_locked(s, graph, identity, generation);
        pthread_mutex_unlock(&s->lock);
        return r;
}

uint64_t supervisor_get_generation(Supervisor *s) {
        return __atomic_load_n(&s->generation, __ATOMIC_ACQUIRE);
}

int supervisor_get_trust(Supervisor *s) {
        int t;

        pthread_mutex_lock(&s->lock);
        t = trust_score_current(&s->trust, &s->trust_cfg, now_usec());
        pthread_mutex_unlock(&s->lock);
        return t;
}

bool supervisor_is_quarantined(Supervisor *s) {
        return __atomic_load_n(&s->quarantined, __ATOMIC_ACQUIRE);
}

bool supervisor_has_sync_wakeup(const Supervisor *s) {
        return s->sync_wakeup;
}

int supervisor_get_fd(Supervisor *s) {
        return s->listener;
}

/* ---- workers ---- */

int supervisor_worker_start(Supervisor *s, void *(*fn)(void *), void *arg) {
        pthread_attr_t attr;
        pthread_t t;
        int r;

        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_mutex_lock(&s->lock);
        s->n_workers++;
        r = -pthread_create(&t, &attr, fn, arg);
        if (r < 0)
                s->n_workers--;
        pthread_mutex_unlock(&s->lock);
        pthread_attr_destroy(&attr);
        return r;
}

void supervisor_worker_end(Supervisor *s) {
        pthread_mutex_lock(&s->lock);
        s->n_workers--;
        pthread_cond_broadcast(&s->workers_done);
        pthread_mutex_unlock(&s->lock);
}

void call_done(Call *c) {
        free(c->path);
        free(c->path2);
        free(c->walk[0]);
        free(c->walk[1]);
        c->sock_fd = safe_close(c->sock_fd);
        c->magic_file = safe_close(c->magic_file);
        c->base_fd[0] = safe_close(c->base_fd[0]);
        c->base_fd[1] = safe_close(c->base_fd[1]);
}

/* ---- one notification ---- */

static bool call_emulable(const Call *c) {
        /* The kernel's ADDFD cannot install O_PATH files. */
        return c->cls->emulable && !(c->cls->is_open && (c->open_flags & O_PATH));
}

static void decide_input(const Call *c, int decode_error, bool quarantined, DecideCall *dc) {
        *dc = (DecideCall) {
                .identity = c->identity,
                .arch = c->arch,
                .nr = c->nr,
                .name = c->name,
                .decoded = c->decoded || c->have_addr,
                .path = c->path,
                .path2 = c->path2,
                .access = c->access,
                .access2 = c->access2,
                .addr = c->have_addr ? &c->addr : NULL,
                .decode_error = decode_error,
                .emulable = call_emulable(c),
                .quarantined = quarantined,
        };
        memcpy(dc->args, c->args, sizeof dc->args);
}

void supervisor_handle(Supervisor *s, const struct seccomp_notif *req) {
        Call c = { .s = s, .sock_fd = -EBADF, .magic_file = -EBADF, .base_fd = { -EBADF, -EBADF } };
        SyscallClass cls_buf;
        SupervisorEvent ev = {};
        Decision d;
        DecideCall dc;
        PolicyGraph *g;
        unsigned needs;
        int trust, r = 0;
        bool quarantined;
        pid_t forget;

        c.id = req->id;
        c.tid = (pid_t) req->pid;
        c.arch = req->data.arch;
        c.nr = req->data.nr;
        memcpy(c.args, req->data.args, sizeof c.args);
        c.cls = syscall_class_get(c.arch, c.nr, &cls_buf);
        c.name = c.cls->name;

        /* The graph this notification is decided on: the dispatching thread keeps a reference to the
         * current generation and only takes the lock when a reload published a new one. A reload during
         * this call does not change g. */
        if (__atomic_load_n(&s->generation, __ATOMIC_ACQUIRE) != s->loop_generation || !s->loop_graph) {
                pthread_mutex_lock(&s->lock);
                policy_graph_unref(s->loop_graph);
                s->loop_graph = policy_graph_ref(s->graph);
                s->loop_generation = s->generation;
                s->loop_identity = s->next_identity;
                pthread_mutex_unlock(&s->lock);
        }
        g = s->loop_graph;
        c.identity = s->loop_identity;
        needs = policy_graph_needs(g, c.arch, c.nr);
        quarantined = __atomic_load_n(&s->quarantined, __ATOMIC_ACQUIRE);
        if ((needs & POLICY_NEED_TRUST) &&
            __atomic_load_n(&s->trust.score, __ATOMIC_ACQUIRE) < __atomic_load_n(&s->trust_cfg.maximum, __ATOMIC_RELAXED)) {
                /* Below the maximum the score recovers with time: computed under the lock. At the maximum
                 * nothing can be added, and it is what the plain read below gives. */
                pthread_mutex_lock(&s->lock);
                trust = trust_score_current(&s->trust, &s->trust_cfg, now_usec());
                pthread_mutex_unlock(&s->lock);
        } else
                trust = __atomic_load_n(&s->trust.score, __ATOMIC_RELAXED);

        /* A call that may change the caller's credentials makes what the cache holds stale. */
        forget = decode_creds_change(&c);
        if (forget == 0 && c.name && (streq(c.name, "execve") || streq(c.name, "execveat")))
                creds_cache_forget_exec(&s->creds, c.tid);
        else if (forget >= 0)
                creds_cache_forget(&s->creds, forget);

        ev = (SupervisorEvent) {
                .id = c.id,
                .tid = c.tid,
                .arch = c.arch,
                .nr = c.nr,
                .syscall = c.name,
                .generation = s->loop_generation,
                .trust = trust,
        };
        memcpy(ev.args, c.args, sizeof ev.args);

        /* Decode what the policy needs: argument descriptions, then memory. */
        if (!quarantined && (needs & (POLICY_NEED_PATH | POLICY_NEED_ADDR))) {
                c.info = c.cls->info;
                if (c.info) {
                        r = decode_creds(&c);
                        if (r >= 0 && (needs & POLICY_NEED_PATH))
                                r = decode_paths(&c);
                        if (r >= 0 && (needs & POLICY_NEED_ADDR))
                                r = decode_addr(&c);
                        /* Everything read from /proc and its memory was about this very task only if it
                         * still waits for us now (a dead task's pid could have been recycled). */
                        if (r >= 0)
                                r = seccomp_notif_id_valid_raw(s->listener, c.id);
                }
        }
        if (!c.info && c.cls->emulable)
                c.info = c.cls->info;
        if (c.info && !c.decoded && arg_index(c.info, SYSCALL_ARG_OPEN_FLAGS) >= 0)
                c.open_flags = c.args[arg_index(c.info, SYSCALL_ARG_OPEN_FLAGS)];

        /* Arguments that could not be read: a call the kernel rejects for its flags before it reads them
         * fails with that, as it would. */
        if (r < 0 && c.info && c.cls->emulable) {
                int e = emulate_check_args(&c);
                if (e > 0)
                        r = -e;
        }
        decide_input(&c, r < 0 ? -r : 0, quarantined, &dc);
        (void) supervisor_decide(g, &dc, trust, &d);
        if (d.verdict == POLICY_VERDICT_DENY && d.action == SUPERVISOR_ACTION_DENY && forget >= 0 && !quarantined) {
                /* A credential call the policy denies: allowed after all when it changes nothing. */
                bool noop, memory;
                if (decode_creds_noop(&c, &noop, &memory) >= 0 && noop) {
                        dc.creds_noop = true;
                        dc.creds_noop_from_memory = memory;
                        (void) supervisor_decide(g, &dc, trust, &d);
                }
        }
        if (d.needs_decode) {
                /* Allowed on registers, performed by us: it needs the arguments after all. */
                r = decode_for_emulation(&c);
                decide_input(&c, r < 0 ? -r : 0, quarantined, &dc);
                (void) supervisor_decide(g, &dc, trust, &d);
        }

        SupervisorEvent proto = ev;
        bool taken = supervisor_act(&c, &d, trust, &ev);
        if (!taken && c.again) {
                /* The emulation met a symlink on the path decided lexically and did nothing: decide again
                 * on where the workload's walk really leads (supervisor-path.c). Once. */
                ev = proto;
                r = call_resolve_again(&c);
                decide_input(&c, r < 0 ? -r : 0, quarantined, &dc);
                (void) supervisor_decide(g, &dc, trust, &d);
                taken = supervisor_act(&c, &d, trust, &ev);
        }
        if (!taken)
                supervisor_report(s, &ev);
        call_done(&c);
}

static int recv_one(Supervisor *s, struct seccomp_notif *req) {
        journal_receiving(s->journal);
        if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
                struct pollfd p = { .fd = s->listener, .events = POLLIN };

                if (errno == EINTR)
                        return -EINTR;
                if (errno != ENOENT)
                        return -errno;
                /* The target left before we could receive it; or nobody uses the filter. */
                if (poll(&p, 1, 0) > 0 && (p.revents & POLLHUP))
                        return -ENOTCONN;
                return 0;
        }
        journal_received(s->journal, req, s->sizes.seccomp_notif);
        return 1;
}

static int dispatch_on_own_thread(Supervisor *s, void *userdata) {
        _Alignas(8) char buf[NOTIF_BUF] = {};

        return supervisor_dispatch_one(s, (struct seccomp_notif *) buf);
}

int supervisor_dispatch(Supervisor *s) {
        return supervisor_on_own_thread(s, dispatch_on_own_thread, NULL);
}

int supervisor_dispatch_one(Supervisor *s, struct seccomp_notif *req) {
        struct pollfd p = { .fd = s->listener, .events = POLLIN };
        int r;

        /* RECV blocks when nothing waits: look first (a target may have left since the loop saw POLLIN). */
        r = poll(&p, 1, 0);
        if (r < 0)
                return errno == EINTR ? 0 : -errno;
        if (r == 0)
                return 0;
        if (!(p.revents & POLLIN))
                return (p.revents & POLLHUP) ? -ENOTCONN : 0;
        r = recv_one(s, req);
        if (r <= 0)
                return r == -EINTR ? 0 : r;
        supervisor_handle(s, req);
        return 1;
}

/* ---- the dedicated thread ---- */

static void *loop_thread(void *arg) {
        Supervisor *s = arg;
        _Alignas(8) char buf[NOTIF_BUF];
        struct seccomp_notif *req = (struct seccomp_notif *) buf;
        int r;

        /* A thread of our own: it may keep the last workload's credentials between calls. */
        creds_thread_keep(true);
        __atomic_store_n(&s->thread_tid, (pid_t) syscall(SYS_gettid), __ATOMIC_RELEASE);
        for (;;) {
                if (!s->sync_wakeup) {
                        /* Before Linux 6.6 a blocking RECV does not end when the last task leaves: wait
                         * in poll() where stop_fd can end it too. */
                        struct pollfd p[2] = { { .fd = s->listener, .events = POLLIN },
                                               { .fd = s->stop_fd, .events = POLLIN } };
                        if (poll(p, 2, -1) < 0 && errno != EINTR) {
                                r = -errno;
                                break;
                        }
                        if (p[1].revents || (p[0].revents & POLLHUP)) {
                                r = 0;
                                break;
                        }
                        if (!(p[0].revents & POLLIN))
                                continue;
                }
                memset(req, 0, sizeof *req);
                r = recv_one(s, req);
                if (r == -EINTR || r == 0)
                        continue;
                if (r < 0) {
                        if (r == -ENOTCONN)
                                r = 0;
                        break;
                }
                supervisor_handle(s, req);
        }
        creds_restore();
        s->thread_result = r;
        __atomic_store_n(&s->thread_done, true, __ATOMIC_RELEASE);
        return NULL;
}

int supervisor_start_thread(Supervisor *s) {
        int r;

        if (s->thread_started)
                return -EBUSY;
        r = -pthread_create(&s->thread, NULL, loop_thread, s);
        if (r < 0)
                return r;
        s->thread_started = true;
        return 0;
}

pid_t supervisor_get_thread_tid(Supervisor *s) {
        if (!s->thread_started)
                return -ESRCH;
        /* It publishes its tid first thing: a few microseconds after the start at most. */
        for (unsigned i = 0; i < 100000; i++) {
                pid_t t = __atomic_load_n(&s->thread_tid, __ATOMIC_ACQUIRE);
                if (t > 0)
                        return t;
                sched_yield();
        }
        return -ESRCH;
}

int supervisor_join_thread(Supervisor *s, uint64_t timeout_usec, int *ret_result) {
        struct timespec ts;

        if (!s->thread_started)
                return -ESRCH;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += (time_t) (timeout_usec / 1000000u);
        ts.tv_nsec += (long) (timeout_usec % 1000000u) * 1000;
        if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
        }
        if (pthread_timedjoin_np(s->thread, NULL, &ts) != 0)
                return -ETIMEDOUT;
        s->thread_started = false;
        if (ret_result)
                *ret_result = s->thread_result;
        return 0;
}
