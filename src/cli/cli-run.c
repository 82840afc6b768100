/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * forgeonectl run --local: launch a command under a policy and mediate it
 * in this process (no daemon). The workload keeps our stdin/stdout/stderr;
 * decisions are printed on stderr, one line each, by a printer thread so
 * that a slow terminal never stalls the supervisor. Exit status: the
 * workload's, 128+N when a signal N killed it, FORGEONE_EXIT_QUARANTINED
 * when it was quarantined, FORGEONE_EXIT_LAUNCH_FAILED when it could not be
 * started under the policy at all.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <linux/audit.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <dirent.h>

#include "cli-verbs.h"
#include "forgeone/cgroup.h"
#include "forgeone/filter-cache.h"
#include "forgeone/log.h"
#include "forgeone/policy-compile.h"
#include "forgeone/policy-graph.h"
#include "forgeone/policy.h"
#include "forgeone/seccomp-notify.h"
#include "forgeone/supervisor.h"

#define FORGEONE_EXIT_QUARANTINED 123
#define FORGEONE_EXIT_LAUNCH_FAILED 125
#define PRINT_QUEUE_MAX 65536

typedef struct Line {
        struct Line *next;
        char text[];
} Line;

typedef struct RunContext {
        bool quiet, json;

        pthread_mutex_t lock;
        pthread_cond_t cond;
        Line *head, *tail;
        size_t queued, dropped;
        bool printer_stop;

        Cgroup *cgroup;
        pid_t child;
        bool quarantined;
} RunContext;

/* ---- output ---- */

static void queue_line(RunContext *ctx, const char *text, size_t len) {
        Line *l = malloc(sizeof *l + len + 1);

        pthread_mutex_lock(&ctx->lock);
        if (!l || ctx->queued >= PRINT_QUEUE_MAX) {
                ctx->dropped++;
                pthread_mutex_unlock(&ctx->lock);
                free(l);
                return;
        }
        memcpy(l->text, text, len);
        l->text[len] = 0;
        l->next = NULL;
        if (ctx->tail)
                ctx->tail->next = l;
        else
                ctx->head = l;
        ctx->tail = l;
        ctx->queued++;
        pthread_cond_signal(&ctx->cond);
        pthread_mutex_unlock(&ctx->lock);
}

static void *printer(void *arg) {
        RunContext *ctx = arg;

        pthread_mutex_lock(&ctx->lock);
        for (;;) {
                while (!ctx->head && !ctx->printer_stop)
                        pthread_cond_wait(&ctx->cond, &ctx->lock);
                if (!ctx->head)
                        break;
                Line *l = ctx->head;
                ctx->head = l->next;
                if (!ctx->head)
                        ctx->tail = NULL;
                ctx->queued--;
                pthread_mutex_unlock(&ctx->lock);
                fputs(l->text, stderr);
                free(l);
                pthread_mutex_lock(&ctx->lock);
        }
        if (ctx->dropped > 0)
                fprintf(stderr, "forgeone: %zu decision lines dropped (stderr too slow)\n", ctx->dropped);
        pthread_mutex_unlock(&ctx->lock);
        return NULL;
}

static const char *errno_name(int e, char buf[static 16]) {
        const char *n = policy_errno_to_string(e);

        if (!n)
                n = strerrorname_np(e);
        if (!n) {
                snprintf(buf, 16, "%d", e);
                n = buf;
        }
        return n;
}

static const char *arch_name(uint32_t a) {
        switch (a) {
        case AUDIT_ARCH_X86_64:
                return "x86_64";
        case AUDIT_ARCH_I386:
                return "x86";
        case AUDIT_ARCH_AARCH64:
                return "aarch64";
        case AUDIT_ARCH_ARM:
                return "arm";
        default:
                return "unknown";
        }
}

static void format_addr(const PolicySockaddr *a, char *buf, size_t size) {
        char ip[INET6_ADDRSTRLEN];
        const char *proto = a->protocol == IPPROTO_TCP ? "/tcp" : a->protocol == IPPROTO_UDP ? "/udp" : "";

        switch (a->family) {
        case AF_INET:
                inet_ntop(AF_INET, a->addr, ip, sizeof ip);
                snprintf(buf, size, "%s:%u%s", ip, a->port, proto);
                break;
        case AF_INET6:
                inet_ntop(AF_INET6, a->addr, ip, sizeof ip);
                snprintf(buf, size, "[%s]:%u%s", ip, a->port, proto);
                break;
        case AF_UNIX:
                snprintf(buf, size, "unix:%s", a->unix_path ?: "");
                break;
        default:
                snprintf(buf, size, "family %d", a->family);
        }
}

/* Untrusted strings are printed quoted, with anything unprintable escaped. */
static void quote(const char *s, char *buf, size_t size) {
        size_t o = 0;

        buf[o++] = '"';
        for (; *s && o + 6 < size; s++) {
                unsigned char ch = (unsigned char) *s;
                if (ch == '"' || ch == '\\') {
                        buf[o++] = '\\';
                        buf[o++] = (char) ch;
                } else if (ch < 0x20 || ch >= 0x7f)
                        o += (size_t) snprintf(buf + o, size - o, "\\x%02x", ch);
                else
                        buf[o++] = (char) ch;
        }
        buf[o++] = '"';
        buf[o] = 0;
}

static bool event_is_allow(const SupervisorEvent *ev) {
        return ev->action == SUPERVISOR_ACTION_CONTINUE || ev->action == SUPERVISOR_ACTION_EMULATE;
}

static void print_human(RunContext *ctx, const SupervisorEvent *ev) {
        char line[8192], q[4200], q2[4200], acc[128], addr[256], eb[16], nb[32];
        const char *verdict = ev->action == SUPERVISOR_ACTION_QUARANTINE ? "quarantine"
                              : event_is_allow(ev)                        ? "allow"
                                                                          : "deny";
        const char *name = ev->syscall;
        int n;

        if (!name) {
                snprintf(nb, sizeof nb, "syscall-%d", ev->nr);
                name = nb;
        }
        n = snprintf(line, sizeof line, "forgeone: %s %s", verdict, name);
        if (ev->path) {
                quote(ev->path, q, sizeof q);
                policy_access_to_string(ev->access, acc, sizeof acc);
                n += snprintf(line + n, sizeof line - n, " %s [%s]", q, acc);
        }
        if (ev->path2) {
                quote(ev->path2, q2, sizeof q2);
                n += snprintf(line + n, sizeof line - n, " %s", q2);
        }
        if (ev->addr) {
                format_addr(ev->addr, addr, sizeof addr);
                n += snprintf(line + n, sizeof line - n, " %s", addr);
        }
        if (ev->error)
                n += snprintf(line + n, sizeof line - n, " -> %s", errno_name(ev->error, eb));
        else
                n += snprintf(line + n, sizeof line - n, " -> %s",
                              ev->action == SUPERVISOR_ACTION_CONTINUE ? "continue" : "ok");
        n += snprintf(line + n, sizeof line - n, " (rule %s", strempty(ev->rule_id));
        if (ev->reason)
                n += snprintf(line + n, sizeof line - n, ": %s", ev->reason);
        n += snprintf(line + n, sizeof line - n, ")\n");
        queue_line(ctx, line, (size_t) MIN(n, (int) sizeof line - 1));
}

static void print_json(RunContext *ctx, const SupervisorEvent *ev) {
        json_object *o = json_object_new_object();
        char acc[128], addr[256], eb[16];
        const char *s;

        /* pid is only looked up for calls whose arguments were read: null otherwise. */
        json_object_object_add(o, "pid", ev->pid > 0 ? json_object_new_int(ev->pid) : NULL);
        json_object_object_add(o, "tid", json_object_new_int(ev->tid));
        json_object_object_add(o, "arch", json_object_new_string(arch_name(ev->arch)));
        json_object_object_add(o, "nr", json_object_new_int(ev->nr));
        json_object_object_add(o, "syscall", ev->syscall ? json_object_new_string(ev->syscall) : NULL);
        json_object_object_add(o, "path", ev->path ? json_object_new_string(ev->path) : NULL);
        if (ev->path2)
                json_object_object_add(o, "path2", json_object_new_string(ev->path2));
        json_object_object_add(o, "access",
                               ev->path ? json_object_new_string(policy_access_to_string(ev->access, acc, sizeof acc))
                                        : NULL);
        if (ev->addr) {
                format_addr(ev->addr, addr, sizeof addr);
                json_object_object_add(o, "addr", json_object_new_string(addr));
        } else
                json_object_object_add(o, "addr", NULL);
        json_object_object_add(o, "verdict", json_object_new_string(policy_verdict_to_string(ev->verdict) ?: "unknown"));
        json_object_object_add(o, "action", json_object_new_string(supervisor_action_to_string(ev->action)));
        json_object_object_add(o, "errno", ev->error ? json_object_new_string(errno_name(ev->error, eb)) : NULL);
        json_object_object_add(o, "value", json_object_new_int64(ev->value));
        json_object_object_add(o, "rule", json_object_new_string(strempty(ev->rule_id)));
        json_object_object_add(o, "reason", ev->reason ? json_object_new_string(ev->reason) : NULL);
        json_object_object_add(o, "generation", json_object_new_int64((int64_t) ev->generation));
        json_object_object_add(o, "trust", json_object_new_int(ev->trust));
        json_object_object_add(o, "target_gone", json_object_new_boolean(ev->target_gone));

        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        {
                size_t n = strlen(s);
                char *line = malloc(n + 2);
                if (line) {
                        memcpy(line, s, n);
                        line[n] = '\n';
                        queue_line(ctx, line, n + 1);
                        free(line);
                }
        }
        json_object_put(o);
}

static void on_decision(const SupervisorEvent *ev, void *userdata) {
        RunContext *ctx = userdata;

        if (ctx->quiet && event_is_allow(ev))
                return;
        if (ctx->json)
                print_json(ctx, ev);
        else {
                print_human(ctx, ev);
                if (ev->action == SUPERVISOR_ACTION_QUARANTINE && ctx->quarantined) {
                        static const char line[] = "forgeone: workload quarantined: stopped\n";
                        queue_line(ctx, line, sizeof line - 1);
                }
        }
}

/* ---- stopping the workload ---- */

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

/* Without a cgroup: we are the workload's subreaper, so everything it started is a descendant. */
static void kill_descendants(pid_t root) {
        bool found;

        do {
                _cleanup_(closedirp) DIR *d = opendir("/proc");
                struct dirent *de;

                found = false;
                if (!d)
                        return;
                while ((de = readdir(d))) {
                        char p[300], buf[512];
                        pid_t pid, ppid;
                        FILE *f;

                        if (de->d_name[0] < '0' || de->d_name[0] > '9')
                                continue;
                        snprintf(p, sizeof p, "/proc/%s/stat", de->d_name);
                        f = fopen(p, "re");
                        if (!f)
                                continue;
                        if (!fgets(buf, sizeof buf, f)) {
                                fclose(f);
                                continue;
                        }
                        fclose(f);
                        char *rp = strrchr(buf, ')');
                        if (!rp || sscanf(rp + 2, "%*c %d", &ppid) != 1)
                                continue;
                        pid = (pid_t) atoi(de->d_name);
                        if (ppid == getpid() || pid == root) {
                                if (kill(pid, SIGKILL) == 0 && pid != root)
                                        found = true;
                        }
                }
                /* Reap what we adopted so the next pass does not see it again. */
                while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
                        ;
        } while (found);
}

static void stop_workload(RunContext *ctx) {
        if (ctx->cgroup && cgroup_kill_all(ctx->cgroup, 5 * 1000000u) >= 0)
                return;
        kill_descendants(ctx->child);
}

/* Called before the quarantining call is answered: the workload never runs past it. The decision
 * line follows (on_decision). */
static void on_quarantine(const SupervisorEvent *ev, void *userdata) {
        RunContext *ctx = userdata;

        ctx->quarantined = true;
        stop_workload(ctx);
}

/* A forgeonectl that was killed (SIGKILL, a crash) could not remove its cgroup: remove the empty ones
 * whose forgeonectl is gone. */
static void remove_stale_cgroups(CgroupLayout layout) {
        static const char *const parents[] = { "/sys/fs/cgroup/unified/" CGROUP_PARENT, "/sys/fs/cgroup/" CGROUP_PARENT };
        FOREACH_ELEMENT(parent, parents) {
                _cleanup_(closedirp) DIR *d = opendir(*parent);
                struct dirent *de;

                if (!d)
                        continue;
                while ((de = readdir(d))) {
                        _cleanup_(cgroup_freep) Cgroup *c = NULL;
                        char *end;
                        long pid;

                        if (strncmp(de->d_name, "run-", 4) != 0)
                                continue;
                        pid = strtol(de->d_name + 4, &end, 10);
                        if (*end || pid <= 0 || pid == getpid() || kill((pid_t) pid, 0) == 0 || errno != ESRCH)
                                continue;
                        if (cgroup_new(NULL, layout, de->d_name, &c) >= 0 && cgroup_is_empty(c) > 0)
                                (void) cgroup_remove(c);
                }
                break;
        }
}

/* ---- launch ---- */

static void *supervise(void *arg) {
        Supervisor *s = arg;
        intptr_t r = supervisor_run(s);
        return (void *) r;
}

static int load_policy(const char *path, Policy **ret) {
        _cleanup_(policy_diagnostics_done) PolicyDiagnostics diag = {};
        int r;

        r = policy_load_file(path, ret, &diag);
        if (r < 0) {
                for (size_t i = 0; i < diag.n_errors; i++) {
                        const PolicyError *e = &diag.errors[i];
                        if (e->line > 0)
                                fprintf(stderr, "%s:%u:%u: %s\n", strempty(e->file), e->line, e->column, e->message);
                        else
                                fprintf(stderr, "%s: %s\n", strempty(e->file), e->message);
                }
                return log_error_errno(r, "Failed to load policy %s: %m", path);
        }
        return 0;
}

static void help(void) {
        printf("Usage: forgeonectl run --local --policy FILE [OPTIONS] -- COMMAND [ARGS...]\n\n"
               "Run COMMAND under the policy, mediated by this process (no daemon).\n\n"
               "  --local            supervise in this process (required until the daemon exists)\n"
               "  --policy FILE      the policy (see forgeone.policy(5))\n"
               "  --identity NAME    the policy identity to run as (default: resolved from the\n"
               "                     command's name, else the policy's \"*\" rules)\n"
               "  --quiet            print denials and quarantines only, not allowed calls\n"
               "  --json             print decisions as JSON lines\n"
               "  -h, --help         show this help\n\n"
               "When COMMAND exits, whatever it left running is stopped too.\n\n"
               "One line per decision on stderr, e.g.\n"
               "  forgeone: deny openat \"/etc/shadow\" [read] -> EACCES (rule deny-secrets)\n\n"
               "Exit status: the command's; 128+N if signal N killed it; %d if it was quarantined;\n"
               "%d if it could not be started under the policy.\n",
               FORGEONE_EXIT_QUARANTINED, FORGEONE_EXIT_LAUNCH_FAILED);
}

static int exit_status_of(const siginfo_t *si) {
        if (si->si_code == CLD_EXITED)
                return si->si_status;
        return 128 + si->si_status;
}

int verb_run(int argc, char *argv[]) {
        enum { ARG_LOCAL = 0x100, ARG_POLICY, ARG_IDENTITY, ARG_QUIET, ARG_JSON };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "local", no_argument, NULL, ARG_LOCAL },
                { "policy", required_argument, NULL, ARG_POLICY },
                { "identity", required_argument, NULL, ARG_IDENTITY },
                { "quiet", no_argument, NULL, ARG_QUIET },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        const char *policy_path = NULL, *identity_name = NULL;
        bool local = false;
        RunContext ctx = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .child = -1 };
        _cleanup_(policy_freep) Policy *policy = NULL;
        _cleanup_(policy_filter_freep) PolicyFilter *filter = NULL;
        _cleanup_(policy_graph_unrefp) PolicyGraph *graph = NULL;
        _cleanup_(supervisor_handoff_freep) SupervisorHandoff *handoff = NULL;
        _cleanup_(supervisor_freep) Supervisor *sup = NULL;
        _cleanup_close_ int pidfd = -EBADF, sigfd = -EBADF, cgroup_fd = -EBADF;
        int go[2] = { -1, -1 };
        int identity, listener, r, c, status = FORGEONE_EXIT_LAUNCH_FAILED;
        pthread_t sup_thread, print_thread;
        bool sup_started = false;
        sigset_t mask, oldmask;
        siginfo_t si = {};

        /* Containers have their own options: cli-run-image.c takes the whole command line. */
        for (int i = 1; i < argc && !streq(argv[i], "--"); i++)
                if (streq(argv[i], "--image") || strncmp(argv[i], "--image=", 8) == 0)
                        return verb_run_image(argc, argv);

        optind = 0;
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_LOCAL:
                        local = true;
                        break;
                case ARG_POLICY:
                        policy_path = optarg;
                        break;
                case ARG_IDENTITY:
                        identity_name = optarg;
                        break;
                case ARG_QUIET:
                        ctx.quiet = true;
                        break;
                case ARG_JSON:
                        ctx.json = true;
                        break;
                default:
                        return 1;
                }

        if (!local) {
                log_error("forgeonectl run needs --local: workloads are supervised by this process until "
                          "the daemon exists.");
                return 1;
        }
        if (!policy_path) {
                log_error("forgeonectl run needs --policy FILE.");
                return 1;
        }
        if (optind >= argc) {
                log_error("forgeonectl run needs a command after the options (forgeonectl run --local "
                          "--policy FILE -- COMMAND...).");
                return 1;
        }
        char **cmd = argv + optind;

        r = load_policy(policy_path, &policy);
        if (r < 0)
                return 1;

        if (identity_name) {
                identity = policy_identity_by_name(policy, identity_name);
                if (identity == -ENOENT) {
                        log_error("Policy %s has no identity '%s'.", policy_path, identity_name);
                        return 1;
                }
        } else {
                const char *base = strrchr(cmd[0], '/');
                PolicyWorkload w = { .name = base ? base + 1 : cmd[0] };
                identity = policy_identity_resolve(policy, &w);
        }

        r = filter_cache_compile(NULL, policy, identity, &filter);
        if (r < 0) {
                log_error_errno(r, "Failed to compile policy %s into a seccomp filter: %m", policy_path);
                return 1;
        }
        r = policy_graph_new(TAKE_PTR(policy), &graph);
        if (r < 0) {
                log_error_errno(r, "Failed to build the policy graph of %s: %m", policy_path);
                return 1;
        }

        /* A cgroup of its own lets us kill everything the workload started; without one (no cgroup v2
         * here, or no permission) we fall back to being its subreaper and walking /proc. */
        {
                CgroupLayout layout;
                char id[64];

                snprintf(id, sizeof id, "run-%d", getpid());
                if (cgroup_detect_layout(NULL, &layout) >= 0) {
                        remove_stale_cgroups(layout);
                        if (cgroup_new(NULL, layout, id, &ctx.cgroup) >= 0 && cgroup_create(ctx.cgroup) < 0)
                                ctx.cgroup = cgroup_free(ctx.cgroup);
                }
                if (ctx.cgroup) {
                        _cleanup_free_ char *p = NULL;
                        if (cgroup_controller_path(ctx.cgroup, "unified", &p) >= 0)
                                cgroup_fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
                }
        }
        (void) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

        r = supervisor_handoff_new(&handoff);
        if (r < 0) {
                log_error_errno(r, "Failed to set up the listener handoff: %m");
                goto finish;
        }
        if (pipe2(go, O_CLOEXEC) < 0) {
                log_error_errno(-errno, "Failed to create a pipe: %m");
                goto finish;
        }

        /* Signals to the workload's controlling terminal reach it directly; SIGTERM and SIGHUP sent to us
         * are passed on. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGQUIT);
        sigaddset(&mask, SIGCHLD);
        pthread_sigmask(SIG_BLOCK, &mask, &oldmask);
        fflush(NULL);

        ctx.child = fork();
        if (ctx.child < 0) {
                log_error_errno(-errno, "Failed to fork: %m");
                goto finish;
        }
        if (ctx.child == 0) {
                char x;

                pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
                close(go[1]);
                /* The workload must not outlive a supervisor that was killed: nothing would answer. */
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
                if (read(go[0], &x, 1) != 1)
                        _exit(FORGEONE_EXIT_LAUNCH_FAILED);
                close(go[0]);
                r = supervisor_child_install(filter, handoff);
                if (r < 0) {
                        dprintf(STDERR_FILENO, "forgeonectl: Failed to install the seccomp filter: %s\n",
                                strerror(-r));
                        _exit(FORGEONE_EXIT_LAUNCH_FAILED);
                }
                execvp(cmd[0], cmd);
                dprintf(STDERR_FILENO, "forgeonectl: Failed to execute %s: %s\n", cmd[0], strerror(errno));
                _exit(errno == ENOENT ? 127 : 126);
        }
        close(go[0]);
        go[0] = -1;

        pidfd = pidfd_open_raw(ctx.child, 0);
        if (pidfd < 0) {
                log_error_errno(pidfd, "Failed to open a pidfd for the workload: %m");
                goto kill_child;
        }
        if (ctx.cgroup) {
                r = cgroup_attach(ctx.cgroup, ctx.child, false);
                if (r < 0) {
                        log_debug_errno(r, "Failed to move the workload into its cgroup, killing by process "
                                           "tree instead: %m");
                        (void) cgroup_remove(ctx.cgroup);
                        ctx.cgroup = cgroup_free(ctx.cgroup);
                        cgroup_fd = safe_close(cgroup_fd);
                }
        }
        if (write(go[1], "g", 1) != 1) {
                log_error_errno(-errno, "Failed to start the workload: %m");
                goto kill_child;
        }
        close(go[1]);
        go[1] = -1;

        r = supervisor_handoff_receive(handoff, pidfd, 0, &listener);
        if (r < 0) {
                log_error_errno(r, "Failed to take the workload's seccomp listener: %m");
                goto kill_child;
        }

        {
                SupervisorConfig config = {
                        .identity = identity,
                        .root_fd = -1,
                        .cgroup_fd = cgroup_fd,
                        .on_decision = on_decision,
                        .on_quarantine = on_quarantine,
                        .userdata = &ctx,
                };
                r = supervisor_new(listener, graph, &config, &sup);
                if (r < 0) {
                        log_error_errno(r, "Failed to start supervising the workload: %m");
                        goto kill_child;
                }
        }

        r = -pthread_create(&print_thread, NULL, printer, &ctx);
        if (r < 0) {
                log_error_errno(r, "Failed to start the printer thread: %m");
                goto kill_child;
        }
        r = -pthread_create(&sup_thread, NULL, supervise, sup);
        if (r < 0) {
                log_error_errno(r, "Failed to start the supervisor thread: %m");
                (void) kill(ctx.child, SIGKILL);
                (void) waitpid(ctx.child, NULL, 0);
                stop_workload(&ctx);
                status = FORGEONE_EXIT_LAUNCH_FAILED;
                goto stop_printer;
        }
        sup_started = true;

        sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
        for (;;) {
                struct pollfd p[2] = { { .fd = pidfd, .events = POLLIN }, { .fd = sigfd, .events = POLLIN } };

                if (poll(p, sigfd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
                        break;
                if (p[0].revents)
                        break;
                if (sigfd >= 0 && (p[1].revents & POLLIN)) {
                        struct signalfd_siginfo ssi;
                        if (read(sigfd, &ssi, sizeof ssi) == sizeof ssi &&
                            (ssi.ssi_signo == SIGTERM || ssi.ssi_signo == SIGHUP))
                                (void) kill(ctx.child, (int) ssi.ssi_signo);
                }
        }
        if (waitid(P_PID, (id_t) ctx.child, &si, WEXITED) < 0) {
                log_error_errno(-errno, "Failed to wait for the workload: %m");
                status = FORGEONE_EXIT_LAUNCH_FAILED;
        } else
                status = exit_status_of(&si);
        ctx.child = -1;

        /* Whatever the workload left running goes with it; then nothing uses the filter any more and the
         * supervisor thread returns by itself. */
        stop_workload(&ctx);
        {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_sec += 5;
                if (pthread_timedjoin_np(sup_thread, NULL, &ts) != 0) {
                        for (int i = 0; i < 100; i++) {
                                supervisor_stop(sup);
                                clock_gettime(CLOCK_REALTIME, &ts);
                                ts.tv_nsec += 50 * 1000 * 1000;
                                if (ts.tv_nsec >= 1000000000) {
                                        ts.tv_sec++;
                                        ts.tv_nsec -= 1000000000;
                                }
                                if (pthread_timedjoin_np(sup_thread, NULL, &ts) == 0)
                                        break;
                        }
                }
        }
        sup_started = false;
        if (supervisor_is_quarantined(sup) || ctx.quarantined)
                status = FORGEONE_EXIT_QUARANTINED;

stop_printer:
        pthread_mutex_lock(&ctx.lock);
        ctx.printer_stop = true;
        pthread_cond_signal(&ctx.cond);
        pthread_mutex_unlock(&ctx.lock);
        pthread_join(print_thread, NULL);
        goto finish;

kill_child:
        if (ctx.child > 0) {
                (void) kill(ctx.child, SIGKILL);
                (void) waitpid(ctx.child, NULL, 0);
                ctx.child = -1;
        }
        stop_workload(&ctx);
        status = FORGEONE_EXIT_LAUNCH_FAILED;

finish:
        if (sup_started) {
                supervisor_stop(sup);
                pthread_join(sup_thread, NULL);
        }
        safe_close(go[0]);
        safe_close(go[1]);
        if (ctx.cgroup) {
                (void) cgroup_remove(ctx.cgroup);
                ctx.cgroup = cgroup_free(ctx.cgroup);
        }
        return status;
}
