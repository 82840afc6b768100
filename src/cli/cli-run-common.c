/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The owner's side of "run --local": decisions printed from the event sink, the loop around one
 * workload. See cli-run-common.h. */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli-run-common.h"
#include "forgeone/container-store.h"
#include "forgeone/container.h"
#include "forgeone/event-format.h"
#include "forgeone/log.h"
#include "forgeone/policy.h"
#include "forgeone/time-util.h"
#include "forgeone/trust-config.h"

int run_load_policy(const char *path, Policy **ret) {
        _cleanup_(policy_diagnostics_done) PolicyDiagnostics diag = {};
        int r;

        r = policy_load_file(path, ret, &diag, NULL);
        if (r < 0) {
                for (size_t i = 0; i < diag.n_errors; i++) {
                        const PolicyError *e = &diag.errors[i];
                        if (e->line > 0)
                                log_error("%s:%u:%u: %s", strempty(e->file), e->line, e->column, e->message);
                        else
                                log_error("%s: %s", strempty(e->file), e->message);
                }
                if (diag.n_errors == 0)
                        log_error_errno(r, "Failed to load policy %s: %m", path);
                return r;
        }
        return 0;
}

int run_audit_option(int c, const char *arg, RunOptions *o) {
        switch (c) {
        case ARG_RUN_NO_AUDIT:
                o->no_audit = true;
                return 1;
        case ARG_RUN_NO_OBSERVER:
                o->observer = false;
                return 1;
        case ARG_RUN_OBSERVER:
                o->observer = true;
                return 1;
        case ARG_RUN_AUDIT_ALLOW:
                o->audit_allow = audit_allow_mode_from_string(arg);
                if (o->audit_allow < 0) {
                        log_error("--audit-allow takes all, sampled or aggregated, not '%s'.", arg);
                        return -EINVAL;
                }
                return 1;
        default:
                return 0;
        }
}

/* ---- container options ---- */

int run_parse_label(const char *arg) {
        if (!strchr(arg, '=') || arg[0] == '=') {
                log_error("Invalid --label \"%s\": expected KEY=VALUE.", arg);
                return -EINVAL;
        }
        return 0;
}

int run_parse_priority(const char *arg, SchedulerPriority *ret) {
        SchedulerPriority p = scheduler_priority_from_string(arg);

        if (p < 0) {
                log_error("Invalid --priority \"%s\": critical, high, normal, low or background.", arg);
                return -EINVAL;
        }
        *ret = p;
        return 0;
}

int run_parse_memory(const char *arg, uint64_t *ret) {
        uint64_t v;

        if (scheduler_parse_size(arg, &v) < 0 || v < (4u << 20)) {
                log_error("Invalid --memory \"%s\": a size of at least 4M (\"256M\", \"1G\").", arg);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

int run_parse_pids(const char *arg, uint64_t *ret) {
        char *end;
        unsigned long long v = strtoull(arg, &end, 10);

        if (*end || end == arg || v < 1 || v > (1ull << 22)) {
                log_error("Invalid --pids \"%s\": a number from 1 to 4194304.", arg);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

int run_parse_cpus(const char *arg, uint64_t *ret_millis) {
        if (scheduler_parse_cpus(arg, ret_millis) < 0) {
                log_error("Invalid --cpus \"%s\": a number of CPUs above 0.001 (\"0.5\", \"2\").", arg);
                return -EINVAL;
        }
        return 0;
}

int run_parse_network(const char *arg, ContainerNetwork *ret) {
        ContainerNetwork n = container_network_from_string(arg);

        if (n < 0) {
                log_error("Invalid --network \"%s\": none or host.", arg);
                return -EINVAL;
        }
        *ret = n;
        return 0;
}

int run_parse_hostname(const char *arg) {
        if (strlen(arg) == 0 || strlen(arg) > 63) {
                log_error("Invalid --hostname \"%s\": 1 to 63 characters.", arg);
                return -EINVAL;
        }
        return 0;
}

int run_parse_userns(const char *arg, uint32_t *ret_base, uint32_t *ret_count) {
        unsigned base, count;
        char tail;

        if (sscanf(arg, "%u:%u%c", &base, &count, &tail) != 2 || base == 0 || count < 1 ||
            (uint64_t) base + count > UINT32_MAX) {
                log_error("Invalid --userns \"%s\": BASE:COUNT with BASE > 0 (e.g. 100000:65536).", arg);
                return -EINVAL;
        }
        *ret_base = base;
        *ret_count = count;
        return 0;
}

int run_parse_stop_timeout(const char *arg, uint64_t *ret_usec) {
        char *end;
        double v = strtod(arg, &end);

        if (*end || end == arg || v < 0 || v > 86400) {
                log_error("Invalid --stop-timeout \"%s\": seconds from 0 to 86400.", arg);
                return -EINVAL;
        }
        *ret_usec = (uint64_t) (v * 1e6);
        return 0;
}

/* ---- the audit ---- */

static void audit_warn(const char *text, void *userdata) {
        log_warning("audit: %s", text);
}

static int start_audit(const RunOptions *o, Audit **ret) {
        AuditConfig ac;
        ForgeError err = {};
        int r;

        audit_config_init(&ac);
        ac.allow = o->audit_allow;
        ac.state_dir = getenv("FORGEONE_AUDIT_DIR");
        ac.key_path = getenv("FORGEONE_AUDIT_KEY");
        ac.warn = audit_warn;
        if (o->trust && o->trust->tpm) {
                ac.tpm = o->trust->tpm;
                ac.measure_log = o->trust->config->event_log;
                ac.pcr = o->trust->config->pcr;
        }
        r = audit_new(&ac, ret, &err);
        if (r < 0)
                return log_error_errno(r, "Cannot start the audit (use --no-audit to run without one): %s",
                                       forge_error_isset(&err) ? err.message : "%m");
        return 0;
}

/* ---- printing decisions ---- */

typedef struct Printer {
        EventSink *sink;
        bool json;
        RunPrint print;
        int stop_fd[2];
        pthread_t thread;
        bool started;
} Printer;

/* The line and the JSON are event-format.h's, as forgeoned writes them; untrusted strings escaped there. */
static void print_human(const SupervisorEvent *ev) {
        char line[8192];

        fprintf(stderr, "forgeone: %s\n", event_format_line(ev, line, sizeof line));
        if (ev->action == SUPERVISOR_ACTION_QUARANTINE)
                fputs("forgeone: workload quarantined: stopped\n", stderr);
}

static void print_json(const EventRecord *rec) {
        _cleanup_free_ char *j = NULL;

        if (event_format_json(rec, &j) >= 0)
                fprintf(stderr, "%s\n", j);
}

static void consume(const EventRecord *rec, void *userdata) {
        Printer *p = userdata;

        if (rec->type != EVENT_DECISION)
                return; /* notices are printed where they happen (on_notice) */
        /* The sink also records what the audit wants (emulations, with --quiet): not all of it is ours. */
        if (p->print == RUN_PRINT_NONE ||
            (p->print == RUN_PRINT_DENIALS && rec->decision.action != SUPERVISOR_ACTION_DENY &&
             rec->decision.action != SUPERVISOR_ACTION_QUARANTINE))
                return;
        if (p->json)
                print_json(rec);
        else
                print_human(&rec->decision);
}

static void *printer_thread(void *arg) {
        Printer *p = arg;

        for (;;) {
                struct pollfd pf[2] = { { .fd = event_sink_get_fd(p->sink), .events = POLLIN },
                                        { .fd = p->stop_fd[0], .events = POLLIN } };

                if (poll(pf, 2, -1) < 0 && errno != EINTR)
                        break;
                if (pf[0].revents) {
                        /* Let a burst gather: one write to the terminal per batch, not per decision. */
                        time_sleep_usec(2000);
                        (void) event_sink_drain(p->sink, consume, p);
                        fflush(stderr);
                }
                if (pf[1].revents)
                        break;
        }
        (void) event_sink_drain(p->sink, consume, p);
        fflush(stderr);
        return NULL;
}

/* ---- notices of a container start ---- */

typedef struct Ui {
        bool quiet;
        bool tty;
} Ui;

static void on_notice(ContainerNotice kind, const char *text, void *userdata) {
        Ui *ui = userdata;

        switch (kind) {
        case CONTAINER_NOTICE_QUEUED:
                log_notice("Waiting for admission: %s", text);
                break;
        case CONTAINER_NOTICE_STARTED:
                if (!ui->quiet)
                        log_info("Container %s started.", text);
                break;
        case CONTAINER_NOTICE_STATE:
                if (!ui->quiet)
                        log_info("Container state: %s", text);
                break;
        case CONTAINER_NOTICE_WARNING:
                log_warning("%s", text);
                break;
        default:
                break;
        }
}

static void on_progress(OciProgressPhase phase, const char *digest, uint64_t done, uint64_t total, void *userdata) {
        Ui *ui = userdata;

        if (!ui->tty)
                return;
        fprintf(stderr, "\r%s %.19s %3u%%", oci_progress_phase_to_string(phase), strempty(digest),
                total ? (unsigned) (done * 100 / total) : 100u);
        if (done >= total)
                fputc('\n', stderr);
}

/* ---- the loop ---- */

static void stop_container(Workload *w, const RunOptions *o) {
        _cleanup_(container_store_freep) ContainerStore *store = NULL;
        ForgeError err = {};

        if (container_store_open(o->state_dir, &store) < 0 ||
            container_stop(store, workload_get_container_id(w),
                           o->stop_timeout_usec ?: CONTAINER_DEFAULT_STOP_TIMEOUT_USEC, &err) < 0) {
                if (forge_error_isset(&err))
                        log_warning("%s", err.message);
                (void) workload_kill(w, SIGKILL);
        }
}

/* ---- the observer ---- */

/* The observer for this run, or NULL (off: said why, once). Its maps go where top --local finds them:
 * $FORGEONE_OBSERVER_ROOT, else /sys/fs/bpf/forgeone. */
static Observer *start_observer(const RunOptions *o) {
        Observer *obs = NULL;
        char why[OBSERVER_REASON_MAX];
        int r;

        if (!o->observer)
                return NULL;
        r = observer_new(&(ObserverConfig){ .name = "run", .pin_root = getenv("FORGEONE_OBSERVER_ROOT") }, &obs,
                         why);
        if (r < 0) {
                log_notice("forgeone: the observer is off: %s.", why);
                return NULL;
        }
        if (!observer_get_pin_dir(obs))
                log_debug("forgeone: the observer's maps are not pinned: %s.", observer_get_pin_error(obs));
        return obs;
}

int run_workload(WorkloadConfig *c, const RunOptions *o) {
        _cleanup_(event_sink_freep) EventSink *sink = NULL;
        _cleanup_(observer_freep) Observer *observer = NULL; /* freed before the sink it consumes */
        _cleanup_(audit_freep) Audit *audit = NULL;
        _cleanup_(workload_freep) Workload *w = NULL;
        _cleanup_close_ int sigfd = -EBADF;
        Printer printer = { .json = o->json, .print = o->print, .stop_fd = { -1, -1 } };
        ContainerConfig image;
        ForgeError err = {};
        WorkloadResult res = {};
        Ui ui = { .quiet = o->print == RUN_PRINT_NONE, .tty = isatty(STDERR_FILENO) };
        sigset_t mask;
        int r, status = FORGEONE_EXIT_LAUNCH_FAILED;

        r = event_sink_new(0, &sink);
        if (r < 0) {
                policy_free(c->policy);
                return log_error_errno(r, "Failed to create the event sink: %m"), status;
        }
        if (!o->no_audit) {
                /* Before the start, so a workload never runs unaudited; until the audit is attached the sink
                 * keeps a record of every decision (its default), so none escapes it. */
                if (start_audit(o, &audit) < 0) {
                        policy_free(c->policy);
                        return status;
                }
        } else
                event_sink_set_record_mask(
                        sink, o->print == RUN_PRINT_ALL ? (1u << _SUPERVISOR_ACTION_MAX) - 1
                              : o->print == RUN_PRINT_DENIALS
                                      ? (1u << SUPERVISOR_ACTION_DENY) | (1u << SUPERVISOR_ACTION_QUARANTINE)
                                      : 0);
        /* Loaded and attached to the sink before the start: it watches the workload from its first call. */
        observer = start_observer(o);
        if (observer) {
                r = observer_attach(observer, sink);
                if (r < 0) {
                        log_notice("forgeone: the observer is off: cannot attach it to the event sink: %s.",
                                   strerror(-r));
                        observer = observer_free(observer);
                }
        }
        c->observer = observer;
        c->sink = sink;
        if (c->image) {
                image = *c->image;
                image.notice = on_notice;
                image.progress = on_progress;
                image.userdata = &ui;
                c->image = &image;
        }

        /* Signals to forgeonectl: SIGTERM and SIGHUP are passed on (a container is stopped); Ctrl-C reaches
         * the workload from the terminal directly. Blocked before the start, so none is lost. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGQUIT);
        pthread_sigmask(SIG_BLOCK, &mask, NULL);
        fflush(NULL);

        r = workload_start(c, &w, &err);
        if (r < 0) {
                if (forge_error_isset(&err))
                        log_error("%s", err.message);
                else
                        log_error_errno(r, "Failed to start the workload: %m");
                return c->image ? 1 : status;
        }

        /* The audit's tick thread and the printer start after the workload: no thread of ours runs while it
         * is cloned. */
        if (audit) {
                r = audit_attach(audit, sink);
                if (r < 0)
                        log_warning_errno(r, "Cannot attach the audit to the event sink: %m");
                /* The printer shows every decision it prints, budget or not (the audit aggregates what is
                 * beyond its budget on its side then). */
                if (o->print == RUN_PRINT_ALL) {
                        event_sink_set_mode(sink, SUPERVISOR_ACTION_CONTINUE, EVENT_SINK_RECORD);
                        event_sink_exempt_budget(sink, (1u << _SUPERVISOR_ACTION_MAX) - 1);
                } else if (o->print == RUN_PRINT_DENIALS)
                        event_sink_exempt_budget(sink, (1u << SUPERVISOR_ACTION_DENY) |
                                                               (1u << SUPERVISOR_ACTION_QUARANTINE));
                /* The observer matches every answered call with its record (the audit still budgets its
                 * entries on its side). */
                if (observer)
                        event_sink_exempt_budget(sink, OBSERVER_RECORDED_ACTIONS);
        }
        /* The observer's work is timed by the sink's ticks (the audit asks for them too). */
        if (observer)
                (void) event_sink_set_tick(sink, 1000000u);
        if (pipe2(printer.stop_fd, O_CLOEXEC) >= 0) {
                printer.sink = sink;
                printer.started = pthread_create(&printer.thread, NULL, printer_thread, &printer) == 0;
        }

        sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        for (;;) {
                struct pollfd p[3] = { { .fd = workload_get_pidfd(w), .events = POLLIN },
                                       { .fd = workload_get_fd(w), .events = POLLIN },
                                       { .fd = sigfd, .events = POLLIN } };
                uint64_t deadline = workload_next_timeout(w), now = time_now_usec(CLOCK_MONOTONIC);
                int timeout = deadline == 0 ? -1 : deadline <= now ? 0 : (int) MIN((deadline - now) / 1000 + 1, 60000u);

                if (poll(p, ELEMENTSOF(p), timeout) < 0 && errno != EINTR)
                        break;
                if (p[1].revents || (deadline && time_now_usec(CLOCK_MONOTONIC) >= deadline))
                        (void) workload_process(w);
                if (p[2].revents & POLLIN) {
                        struct signalfd_siginfo ssi;

                        while (read(sigfd, &ssi, sizeof ssi) == sizeof ssi) {
                                if (c->image && (ssi.ssi_signo == SIGTERM || ssi.ssi_signo == SIGINT ||
                                                 ssi.ssi_signo == SIGHUP))
                                        stop_container(w, o);
                                else if (ssi.ssi_signo == SIGTERM || ssi.ssi_signo == SIGHUP)
                                        (void) workload_kill(w, (int) ssi.ssi_signo);
                        }
                }
                if (p[0].revents) {
                        r = workload_reap(w, &res);
                        if (r != 0)
                                break;
                }
        }
        if (r > 0) {
                status = workload_result_exit_status(&res);
                if (c->image && res.container.state == CONTAINER_FAILED && !res.quarantined)
                        log_error("Container %s failed.", res.container.id);
        } else
                log_error_errno(r, "Failed to wait for the workload: %m");

        w = workload_free(w);
        if (printer.started) {
                (void) !write(printer.stop_fd[1], "x", 1);
                pthread_join(printer.thread, NULL);
        }
        safe_close(printer.stop_fd[0]);
        safe_close(printer.stop_fd[1]);
        if (!printer.started)
                (void) event_sink_drain(sink, NULL, NULL); /* the audit's records, when nobody printed */
        audit = audit_free(audit); /* the rest of its aggregates, a stop record, a final checkpoint */
        {
                EventSinkCounts counts;
                uint64_t dropped = 0;

                event_sink_get_counts(sink, &counts);
                for (size_t i = 0; i < _SUPERVISOR_ACTION_MAX; i++)
                        if (o->print == RUN_PRINT_ALL || i == SUPERVISOR_ACTION_DENY || i == SUPERVISOR_ACTION_QUARANTINE)
                                dropped += counts.dropped[i];
                if (o->print != RUN_PRINT_NONE && dropped > 0)
                        log_warning("%" PRIu64 " decisions were not printed (the output was too slow); "
                                    "the counts are exact.", dropped);
        }
        return status;
}
