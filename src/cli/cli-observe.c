/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * forgeonectl top and forgeonectl observe: what the eBPF observer sees (forgeone.observer(7)). Through
 * forgeoned (its Top and Observe methods) or, with --local, from the maps every `run --local` and forgeoned
 * pin below $FORGEONE_OBSERVER_ROOT (default /sys/fs/bpf/forgeone). Both sources become an
 * ObserverSnapshot; printing is the same.
 */
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli-bus.h"
#include "cli-verbs.h"
#include "forgeone/log.h"
#include "forgeone/observer.h"
#include "forgeone/syscall-table.h"
#include "forgeone/time-util.h"

#define BUS_NAME  "org.forgeone.Supervisor1"
#define BUS_PATH  "/org/forgeone/Supervisor1"
#define BUS_IFACE "org.forgeone.Supervisor1"
#define OBSERVED_SIGNATURE "(sitttttttttt)"

#if defined(__x86_64__)
#define NATIVE_ARCH 0xc000003eu /* AUDIT_ARCH_X86_64 */
#define COMPAT_ARCH 0x40000003u /* AUDIT_ARCH_I386 */
#else
#define NATIVE_ARCH 0xc00000b7u /* AUDIT_ARCH_AARCH64 */
#define COMPAT_ARCH 0u
#endif

typedef struct Source {
        sd_bus *bus; /* NULL: the pins (--local) */
        bool active;
        char status[512];
} Source;

static const char *pin_root(void) {
        return getenv("FORGEONE_OBSERVER_ROOT") ?: OBSERVER_PIN_ROOT;
}

static int bus_fail(int r, const sd_bus_error *e, const char *what) {
        if (e && sd_bus_error_is_set(e))
                log_error("%s: %s", what, e->message);
        else
                log_error("%s: %s", what, strerror(-r));
        return r < 0 ? r : -EIO;
}

static int read_observed(sd_bus_message *m, ObserverWorkloadInfo *wi) {
        const char *id;
        int r;

        *wi = (ObserverWorkloadInfo){};
        r = sd_bus_message_read(m, OBSERVED_SIGNATURE, &id, &wi->trust, &wi->calls, &wi->errors,
                                &wi->kernel_denied, &wi->answered, &wi->supervisor[SUPERVISOR_ACTION_CONTINUE],
                                &wi->supervisor[SUPERVISOR_ACTION_EMULATE], &wi->supervisor[SUPERVISOR_ACTION_DENY],
                                &wi->supervisor[SUPERVISOR_ACTION_QUARANTINE], &wi->matched, &wi->mismatched);
        if (r <= 0)
                return r;
        snprintf(wi->id, sizeof wi->id, "%s", id);
        snprintf(wi->owner, sizeof wi->owner, "forgeoned");
        return 1;
}

static int push(ObserverSnapshot *s, const ObserverWorkloadInfo *wi) {
        ObserverWorkloadInfo *n = reallocarray(s->workloads, s->n_workloads + 1, sizeof *n);

        if (!n)
                return -ENOMEM;
        s->workloads = n;
        s->workloads[s->n_workloads++] = *wi;
        return 0;
}

/* Every watched workload; -ENOENT (said) when there is nothing to read. */
static int take(Source *src, ObserverSnapshot *ret) {
        int r;

        *ret = (ObserverSnapshot){};
        if (!src->bus) {
                r = observer_snapshot_pinned(pin_root(), false, ret);
                src->active = r >= 0;
                if (r == -ENOENT || r == -ENOTDIR)
                        snprintf(src->status, sizeof src->status,
                                 "no observer is running here: nothing pinned below %s", pin_root());
                else if (r == -EOPNOTSUPP)
                        snprintf(src->status, sizeof src->status,
                                 "this build has no BPF observer (meson -Dbpf=disabled)");
                else if (r < 0)
                        snprintf(src->status, sizeof src->status, "cannot read the maps pinned below %s: %s",
                                 pin_root(), strerror(-r));
                else
                        snprintf(src->status, sizeof src->status, "pinned below %s", pin_root());
                if (r < 0) {
                        *ret = (ObserverSnapshot){ .time_ns = time_now_usec(CLOCK_MONOTONIC) * 1000u };
                        if (r != -ENOENT && r != -ENOTDIR && r != -EOPNOTSUPP)
                                log_error("%s.", src->status);
                        return r == -ENOENT || r == -ENOTDIR || r == -EOPNOTSUPP ? 0 : r;
                }
                return 0;
        }
        {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                const char *status;
                int active;

                r = sd_bus_call_method(src->bus, BUS_NAME, BUS_PATH, BUS_IFACE, "Top", &e, &reply, NULL);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "bst", &active, &status, &ret->time_ns);
                if (r >= 0)
                        r = sd_bus_message_enter_container(reply, 'a', OBSERVED_SIGNATURE);
                while (r >= 0) {
                        ObserverWorkloadInfo wi;

                        r = read_observed(reply, &wi);
                        if (r <= 0)
                                break;
                        r = push(ret, &wi);
                }
                if (r < 0) {
                        observer_snapshot_done(ret);
                        return bus_fail(r, &e, "Failed to ask forgeoned what the observer sees");
                }
                src->active = active;
                snprintf(src->status, sizeof src->status, "%s", status);
        }
        return 0;
}

static const ObserverWorkloadInfo *previous(const ObserverSnapshot *s, const ObserverWorkloadInfo *wi) {
        for (size_t i = 0; s && i < s->n_workloads; i++)
                if (streq(s->workloads[i].id, wi->id) && streq(s->workloads[i].owner, wi->owner))
                        return &s->workloads[i];
        return NULL;
}

/* Calls per second since the previous reading (none: -1). */
static double rate(const ObserverSnapshot *prev, const ObserverSnapshot *now, const ObserverWorkloadInfo *wi) {
        const ObserverWorkloadInfo *p = previous(prev, wi);

        if (!p || now->time_ns <= prev->time_ns || wi->calls < p->calls)
                return -1;
        return (double) (wi->calls - p->calls) * 1e9 / (double) (now->time_ns - prev->time_ns);
}

static uint64_t supervisor_denied(const ObserverWorkloadInfo *wi) {
        return wi->supervisor[SUPERVISOR_ACTION_DENY] + wi->supervisor[SUPERVISOR_ACTION_QUARANTINE];
}

static json_object *workload_json(const ObserverWorkloadInfo *wi, double r) {
        json_object *o = json_object_new_object(), *d = json_object_new_object();

        json_object_object_add(o, "id", json_object_new_string(wi->id));
        json_object_object_add(o, "owner", json_object_new_string(wi->owner));
        json_object_object_add(o, "trust", wi->trust >= 0 ? json_object_new_int(wi->trust) : NULL);
        json_object_object_add(o, "calls", json_object_new_uint64(wi->calls));
        json_object_object_add(o, "calls_per_sec", r >= 0 ? json_object_new_double(r) : NULL);
        json_object_object_add(o, "errors", json_object_new_uint64(wi->errors));
        json_object_object_add(o, "kernel_denied", json_object_new_uint64(wi->kernel_denied));
        json_object_object_add(o, "supervisor_denied", json_object_new_uint64(supervisor_denied(wi)));
        json_object_object_add(o, "answered", json_object_new_uint64(wi->answered));
        for (int a = 0; a < _SUPERVISOR_ACTION_MAX; a++)
                json_object_object_add(d, supervisor_action_to_string((SupervisorAction) a),
                                       json_object_new_uint64(wi->supervisor[a]));
        json_object_object_add(o, "decisions", d);
        json_object_object_add(o, "matched", json_object_new_uint64(wi->matched));
        json_object_object_add(o, "mismatched", json_object_new_uint64(wi->mismatched));
        return o;
}

static void print_top(const Source *src, const ObserverSnapshot *prev, const ObserverSnapshot *now, bool json,
                      bool clear) {
        if (json) {
                json_object *o = json_object_new_object(), *ob = json_object_new_object(),
                            *l = json_object_new_array();

                json_object_object_add(ob, "active", json_object_new_boolean(src->active));
                json_object_object_add(ob, "status", json_object_new_string(src->status));
                json_object_object_add(o, "observer", ob);
                json_object_object_add(o, "time_ns", json_object_new_uint64(now->time_ns));
                for (size_t i = 0; i < now->n_workloads; i++)
                        json_object_array_add(l, workload_json(&now->workloads[i],
                                                               rate(prev, now, &now->workloads[i])));
                json_object_object_add(o, "workloads", l);
                printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
                json_object_put(o);
                fflush(stdout);
                return;
        }
        if (clear)
                fputs("\033[H\033[2J", stdout);
        printf("forgeone top: %zu workload%s watched; observer %s: %s\n\n", now->n_workloads,
               now->n_workloads == 1 ? "" : "s", src->active ? "on" : "off", src->status);
        printf("%-20s %-18s %5s %10s %12s %9s %9s %9s %9s %6s\n", "ID", "OWNER", "TRUST", "CALLS/S", "CALLS",
               "ERRORS", "K-DENIED", "S-DENIED", "ANSWERED", "ALERTS");
        for (size_t i = 0; i < now->n_workloads; i++) {
                const ObserverWorkloadInfo *wi = &now->workloads[i];
                double r = rate(prev, now, wi);
                char rb[32], tb[16];

                if (r >= 0)
                        snprintf(rb, sizeof rb, "%.0f", r);
                else
                        snprintf(rb, sizeof rb, "-");
                if (wi->trust >= 0)
                        snprintf(tb, sizeof tb, "%d", wi->trust);
                else
                        snprintf(tb, sizeof tb, "-");
                printf("%-20.20s %-18.18s %5s %10s %12" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64
                       " %6" PRIu64 "\n",
                       wi->id, wi->owner, tb, rb, wi->calls, wi->errors, wi->kernel_denied, supervisor_denied(wi),
                       wi->answered, wi->mismatched);
        }
        fflush(stdout);
}

static void top_help(void) {
        printf("Usage: forgeonectl top [--once] [--json] [--interval SEC] [--iterations N] [--local]\n\n"
               "Live per-workload syscall rates, errors, denials (by the kernel filter and by the\n"
               "supervisor), trust and integrity alerts, as the eBPF observer sees them, refreshed\n"
               "every interval like top(1); see forgeone.observer(7).\n\n"
               "  --once             print one reading (rates over one interval) and exit\n"
               "  --json             one JSON object per reading\n"
               "  --interval SEC     between readings (default 1)\n"
               "  --iterations N     stop after N readings (default: until interrupted)\n"
               "  --local            read the maps pinned by every run --local and forgeoned here\n"
               "                     ($FORGEONE_OBSERVER_ROOT, default " OBSERVER_PIN_ROOT ")\n"
               "  -h, --help         show this help\n");
}

static int parse_seconds(const char *s, uint64_t *ret) {
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno || *end || v <= 0 || v > 3600)
                return -EINVAL;
        *ret = (uint64_t) (v * 1e6);
        return 0;
}

static int run_top(sd_bus *bus, int argc, char *argv[]) {
        enum { ARG_ONCE = 0x100, ARG_JSON, ARG_INTERVAL, ARG_ITERATIONS, ARG_LOCAL };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "once", no_argument, NULL, ARG_ONCE },
                { "json", no_argument, NULL, ARG_JSON },
                { "interval", required_argument, NULL, ARG_INTERVAL },
                { "iterations", required_argument, NULL, ARG_ITERATIONS },
                { "local", no_argument, NULL, ARG_LOCAL },
                {},
        };
        _cleanup_(observer_snapshot_done) ObserverSnapshot prev = {};
        Source src = { .bus = bus };
        uint64_t interval = 1000000u;
        long iterations = 0;
        bool once = false, json = false, clear;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        top_help();
                        return 0;
                case ARG_ONCE:
                        once = true;
                        break;
                case ARG_JSON:
                        json = true;
                        break;
                case ARG_INTERVAL:
                        if (parse_seconds(optarg, &interval) < 0) {
                                log_error("--interval takes seconds (0 < SEC <= 3600), not '%s'.", optarg);
                                return 1;
                        }
                        break;
                case ARG_ITERATIONS:
                        iterations = strtol(optarg, NULL, 10);
                        if (iterations <= 0) {
                                log_error("--iterations takes a positive number, not '%s'.", optarg);
                                return 1;
                        }
                        break;
                case ARG_LOCAL:
                        src.bus = NULL;
                        break;
                default:
                        return 1;
                }
        if (optind < argc) {
                log_error("top takes no arguments; see 'forgeonectl top --help'.");
                return 1;
        }
        if (once)
                iterations = 1;
        clear = !json && !once && isatty(STDOUT_FILENO);

        /* A first reading, so that the first one printed has rates. */
        r = take(&src, &prev);
        if (r < 0)
                return 1;
        for (long n = 0; iterations == 0 || n < iterations; n++) {
                _cleanup_(observer_snapshot_done) ObserverSnapshot now = {};

                time_sleep_usec(interval);
                r = take(&src, &now);
                if (r < 0)
                        return 1;
                print_top(&src, &prev, &now, json, clear);
                observer_snapshot_done(&prev);
                prev = now;
                now = (ObserverSnapshot){};
        }
        return src.active ? 0 : 1;
}

/* ---- observe ---- */

static int observe_one(Source *src, const char *id, ObserverSnapshot *ret, const ObserverWorkloadInfo **ret_wi) {
        int r;

        *ret = (ObserverSnapshot){};
        if (!src->bus) {
                const char *dash = strrchr(id, '@');
                _cleanup_free_ char *bare = dash ? strndup(id, (size_t) (dash - id)) : NULL;

                r = observer_snapshot_pinned(pin_root(), true, ret);
                if (r < 0) {
                        log_error("No observer readings here (%s): %s.", pin_root(),
                                  r == -ENOENT ? "nothing is pinned" : strerror(-r));
                        return r;
                }
                /* An id may be given as ID@OWNER where two owners watch workloads of the same name. */
                for (size_t i = 0; i < ret->n_workloads; i++)
                        if (streq(ret->workloads[i].id, bare ?: id) &&
                            (!dash || streq(ret->workloads[i].owner, dash + 1))) {
                                *ret_wi = &ret->workloads[i];
                                return 0;
                        }
                log_error("The observer watches no workload '%s' here.", id);
                observer_snapshot_done(ret);
                return -ENOENT;
        }
        {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                ObserverWorkloadInfo wi;

                r = sd_bus_call_method(src->bus, BUS_NAME, BUS_PATH, BUS_IFACE, "Observe", &e, &reply, "s", id);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "t", &ret->time_ns);
                if (r >= 0)
                        r = read_observed(reply, &wi);
                if (r >= 0)
                        r = sd_bus_message_enter_container(reply, 'a', "(ubtttt)");
                while (r >= 0) {
                        ObserverSyscall sc = {}, *n;
                        int compat;

                        r = sd_bus_message_read(reply, "(ubtttt)", &sc.nr, &compat, &sc.calls, &sc.errors,
                                                &sc.kernel_denied, &sc.answered);
                        if (r <= 0)
                                break;
                        sc.compat = compat;
                        n = reallocarray(wi.syscalls, wi.n_syscalls + 1, sizeof *n);
                        if (!n) {
                                r = -ENOMEM;
                                break;
                        }
                        wi.syscalls = n;
                        wi.syscalls[wi.n_syscalls++] = sc;
                }
                if (r >= 0)
                        r = push(ret, &wi);
                if (r < 0) {
                        free(wi.syscalls);
                        observer_snapshot_done(ret);
                        return bus_fail(r, &e, "Failed to ask forgeoned what the observer sees");
                }
                *ret_wi = &ret->workloads[0];
        }
        return 0;
}

static int cmp_calls(const void *a, const void *b) {
        const ObserverSyscall *x = a, *y = b;

        return x->calls < y->calls ? 1 : x->calls > y->calls ? -1 : (x->nr > y->nr) - (x->nr < y->nr);
}

static const char *syscall_label(const ObserverSyscall *sc, char buf[static 48]) {
        const char *n = syscall_name(sc->compat ? COMPAT_ARCH : NATIVE_ARCH, (int) sc->nr);

        if (n && !sc->compat)
                return n;
        if (n)
                snprintf(buf, 48, "%s (i386)", n);
        else
                snprintf(buf, 48, "syscall-%u%s", sc->nr, sc->compat ? " (i386)" : "");
        return buf;
}

static void observe_help(void) {
        printf("Usage: forgeonectl observe [--syscalls] [--json] [--local] ID\n\n"
               "One workload as the eBPF observer sees it: its calls, errors, the kernel filter's and\n"
               "the supervisor's denials, trust, decisions matched with what the kernel returned and\n"
               "integrity alerts; see forgeone.observer(7).\n\n"
               "  --syscalls         per-syscall counts too (calls, errors, kernel denials, answered)\n"
               "  --json             as one JSON object\n"
               "  --local            read the pinned maps here; ID may be ID@OWNER\n"
               "  -h, --help         show this help\n");
}

static int run_observe(sd_bus *bus, int argc, char *argv[]) {
        enum { ARG_SYSCALLS = 0x100, ARG_JSON, ARG_LOCAL };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "syscalls", no_argument, NULL, ARG_SYSCALLS },
                { "json", no_argument, NULL, ARG_JSON },
                { "local", no_argument, NULL, ARG_LOCAL },
                {},
        };
        _cleanup_(observer_snapshot_done) ObserverSnapshot s = {};
        const ObserverWorkloadInfo *wi = NULL;
        Source src = { .bus = bus };
        bool syscalls = false, json = false;
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        observe_help();
                        return 0;
                case ARG_SYSCALLS:
                        syscalls = true;
                        break;
                case ARG_JSON:
                        json = true;
                        break;
                case ARG_LOCAL:
                        src.bus = NULL;
                        break;
                default:
                        return 1;
                }
        if (optind + 1 != argc) {
                log_error("observe takes one workload id; see 'forgeonectl observe --help'.");
                return 1;
        }
        if (observe_one(&src, argv[optind], &s, &wi) < 0)
                return 1;
        /* By calls, most first. */
        qsort(((ObserverWorkloadInfo *) wi)->syscalls, wi->n_syscalls, sizeof(ObserverSyscall), cmp_calls);

        if (json) {
                json_object *o = workload_json(wi, -1), *l = json_object_new_array();

                json_object_object_del(o, "calls_per_sec");
                json_object_object_add(o, "time_ns", json_object_new_uint64(s.time_ns));
                if (syscalls) {
                        for (size_t i = 0; i < wi->n_syscalls; i++) {
                                const ObserverSyscall *sc = &wi->syscalls[i];
                                json_object *x = json_object_new_object();
                                const char *n = syscall_name(sc->compat ? COMPAT_ARCH : NATIVE_ARCH, (int) sc->nr);

                                json_object_object_add(x, "syscall", n ? json_object_new_string(n) : NULL);
                                json_object_object_add(x, "nr", json_object_new_int((int) sc->nr));
                                json_object_object_add(x, "abi",
                                                       json_object_new_string(sc->compat ? "i386" : "native"));
                                json_object_object_add(x, "calls", json_object_new_uint64(sc->calls));
                                json_object_object_add(x, "errors", json_object_new_uint64(sc->errors));
                                json_object_object_add(x, "kernel_denied", json_object_new_uint64(sc->kernel_denied));
                                json_object_object_add(x, "answered", json_object_new_uint64(sc->answered));
                                json_object_array_add(l, x);
                        }
                        json_object_object_add(o, "syscalls", l);
                } else
                        json_object_put(l);
                printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
                json_object_put(o);
                return 0;
        }

        printf("workload %s (%s)\n", wi->id, wi->owner);
        if (wi->trust >= 0)
                printf("  trust:              %d\n", wi->trust);
        printf("  calls:              %" PRIu64 " (%" PRIu64 " returned an error)\n", wi->calls, wi->errors);
        printf("  denied by kernel:   %" PRIu64 "\n", wi->kernel_denied);
        printf("  supervisor:         %" PRIu64 " continued, %" PRIu64 " emulated, %" PRIu64 " denied, %" PRIu64
               " quarantined\n",
               wi->supervisor[SUPERVISOR_ACTION_CONTINUE], wi->supervisor[SUPERVISOR_ACTION_EMULATE],
               wi->supervisor[SUPERVISOR_ACTION_DENY], wi->supervisor[SUPERVISOR_ACTION_QUARANTINE]);
        printf("  answered (not run): %" PRIu64 ", %" PRIu64 " matched with their decision\n", wi->answered,
               wi->matched);
        printf("  integrity alerts:   %" PRIu64 "\n", wi->mismatched);
        if (syscalls) {
                printf("\n  %-24s %12s %9s %9s %9s\n", "SYSCALL", "CALLS", "ERRORS", "K-DENIED", "ANSWERED");
                for (size_t i = 0; i < wi->n_syscalls; i++) {
                        const ObserverSyscall *sc = &wi->syscalls[i];
                        char b[48];

                        printf("  %-24s %12" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64 "\n", syscall_label(sc, b),
                               sc->calls, sc->errors, sc->kernel_denied, sc->answered);
                }
        }
        return 0;
}

/* ---- entry points ---- */

int cli_observe_verb(sd_bus *bus, int argc, char *argv[]) {
        if (streq(argv[0], "top"))
                return run_top(bus, argc, argv);
        return run_observe(bus, argc, argv);
}

int verb_top(int argc, char *argv[]) {
        return run_top(NULL, argc, argv);
}

int verb_observe(int argc, char *argv[]) {
        return run_observe(NULL, argc, argv);
}
