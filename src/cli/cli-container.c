/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * forgeonectl ps | inspect | pause | resume | stop | quarantine | release | rm | prune:
 * container control from any shell while `forgeonectl run --local --image`
 * owns the container. They act on the state directory (/run/forgeone, or
 * $FORGEONE_STATE_DIR) and the container's cgroup; see container-store.h.
 * Exit status: 0 success, 1 failure (with the reason on stderr).
 */
#include <getopt.h>
#include <json-c/json.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli-verbs.h"
#include "forgeone/cgroup.h"
#include "forgeone/container-queue.h"
#include "forgeone/container.h"
#include "forgeone/log.h"

static int open_store(ContainerStore **ret) {
        int r = container_store_open(NULL, ret);

        if (r < 0)
                return log_error_errno(r, "Failed to open the state directory %s: %m",
                                       getenv("FORGEONE_STATE_DIR") ?: CONTAINER_STORE_DEFAULT_ROOT);
        /* Containers whose forgeonectl died are cleaned up and shown as failed. */
        (void) container_reap_orphans(*ret);
        return 0;
}

static void format_time(uint64_t usec, char buf[static 32]) {
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;

        if (usec == 0 || !localtime_r(&t, &tm) || strftime(buf, 32, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, 32, "-");
}

static void format_bytes(uint64_t b, char buf[static 24]) {
        if (b == 0)
                snprintf(buf, 24, "-");
        else if (b % (1ull << 30) == 0)
                snprintf(buf, 24, "%" PRIu64 "G", b >> 30);
        else if (b % (1ull << 20) == 0)
                snprintf(buf, 24, "%" PRIu64 "M", b >> 20);
        else
                snprintf(buf, 24, "%" PRIu64, b);
}

/* A JSON array printed as it goes: "[", one element per line, "]". */
static void json_array_item(bool *first, const char *text) {
        printf("%s\n%s", *first ? "" : ",", text);
        *first = false;
}

static void json_array_end(bool first) {
        printf("%s]\n", first ? "" : "\n");
}

/* The library's message when it gave one, else what was attempted; returns 1, the exit status. */
static int log_container_error(int r, const ForgeError *err, const char *verb, const char *what) {
        if (forge_error_isset(err))
                log_error("%s", err->message);
        else
                log_error_errno(r, "Failed to %s %s: %m", verb, what);
        return 1;
}

static int help_ps(void) {
        printf("Usage: forgeonectl ps [--all] [--json]\n\n"
               "List containers: those that run, and with --all also those that have exited; then the\n"
               "requests waiting for admission, in queue order (PID: their forgeonectl).\n");
        return 0;
}

int verb_ps(int argc, char *argv[]) {
        static const struct option options[] = {
                { "all", no_argument, NULL, 'a' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(container_store_freep) ContainerStore *s = NULL;
        ContainerRecord **l = NULL;
        ContainerQueued *q = NULL;
        bool all = false, json = false;
        size_t n = 0, nq = 0;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "ajh", options, NULL)) >= 0)
                switch (c) {
                case 'a':
                        all = true;
                        break;
                case 'j':
                        json = true;
                        break;
                case 'h':
                        return help_ps();
                default:
                        return 1;
                }
        if (optind < argc) {
                log_error("ps takes no arguments; see 'forgeonectl ps --help'.");
                return 1;
        }

        r = open_store(&s);
        if (r < 0)
                return 1;
        r = container_store_list(s, &l, &n);
        if (r < 0) {
                log_error_errno(r, "Failed to list containers in %s: %m", container_store_root(s));
                return 1;
        }
        /* Requests waiting for admission have no container yet; shown after the containers. */
        if (container_queue_list(s, &q, &nq) < 0)
                nq = 0;

        if (json) {
                bool first = true;
                printf("[");
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *text = NULL;
                        if (!all && container_state_is_final(l[i]->state))
                                continue;
                        if (container_record_to_json(l[i], false, &text) < 0)
                                continue;
                        json_array_item(&first, text);
                }
                for (size_t i = 0; i < nq; i++) {
                        json_object *o = json_object_new_object();
                        if (!o)
                                continue;
                        json_object_object_add(o, "state", json_object_new_string("queued"));
                        json_object_object_add(o, "position", json_object_new_int((int) i + 1));
                        json_object_object_add(o, "name", q[i].name ? json_object_new_string(q[i].name) : NULL);
                        json_object_object_add(o, "image", q[i].image ? json_object_new_string(q[i].image) : NULL);
                        json_object_object_add(o, "owner_pid", json_object_new_int(q[i].owner_pid));
                        json_object_object_add(o, "priority",
                                               json_object_new_string(strempty(scheduler_priority_to_string(q[i].priority))));
                        json_object_object_add(o, "trust", json_object_new_int(q[i].trust));
                        json_object_object_add(o, "memory_bytes", json_object_new_uint64(q[i].memory_bytes));
                        json_object_object_add(o, "pids", json_object_new_uint64(q[i].pids));
                        const int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
                        json_array_item(&first, json_object_to_json_string_ext(o, flags));
                        json_object_put(o);
                }
                json_array_end(first);
        } else {
                printf("%-12s %-20s %-32s %-8s %-10s %6s %6s %s\n", "ID", "NAME", "STATE", "PID", "PRIORITY",
                       "WEIGHT", "MEMORY", "IMAGE");
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *status = NULL;
                        char mem[24];

                        if (!all && container_state_is_final(l[i]->state))
                                continue;
                        (void) container_record_status_string(l[i], &status);
                        format_bytes(l[i]->memory_bytes, mem);
                        printf("%-12s %-20s %-32s %-8d %-10s %6u %6s %s\n", l[i]->id, strempty(l[i]->name),
                               strempty(status), (int) l[i]->pid, strempty(scheduler_priority_to_string(l[i]->priority)),
                               l[i]->cpu_weight, mem, strempty(l[i]->image));
                }
                for (size_t i = 0; i < nq; i++) {
                        char mem[24], state[48];

                        format_bytes(q[i].memory_bytes, mem);
                        snprintf(state, sizeof state, "queued (position %zu)", i + 1);
                        printf("%-12s %-20s %-32s %-8d %-10s %6s %6s %s\n", "-", q[i].name ?: "-", state,
                               (int) q[i].owner_pid, strempty(scheduler_priority_to_string(q[i].priority)), "-", mem,
                               strempty(q[i].image));
                }
        }
        container_record_list_free(l, n);
        container_queued_free(q, nq);
        return 0;
}

/* What the kernel says about a container that has not exited: frozen, memory and pids in use, OOM
 * kills. Read from its cgroup, so a quarantined container can be looked at without touching it. */
typedef struct LiveStats {
        int frozen; /* < 0: unknown */
        int64_t memory_bytes, pids, oom_kills; /* < 0: unknown */
} LiveStats;

static bool live_stats(const ContainerRecord *r, LiveStats *ret) {
        _cleanup_(cgroup_freep) Cgroup *c = NULL;
        _cleanup_free_ char *mem = NULL, *pids = NULL;
        CgroupLayout layout = cgroup_layout_from_string(r->cgroup_layout);
        uint64_t ooms;

        *ret = (LiveStats) { .frozen = -1, .memory_bytes = -1, .pids = -1, .oom_kills = -1 };
        if (container_state_is_final(r->state) || layout < 0 || cgroup_new(r->cgroup_root, layout, r->id, &c) < 0)
                return false;
        ret->frozen = cgroup_is_frozen(c);
        if (cgroup_read_attribute(c, "memory", layout == CGROUP_LAYOUT_UNIFIED ? "memory.current" : "memory.usage_in_bytes",
                                  &mem) >= 0)
                ret->memory_bytes = strtoll(mem, NULL, 10);
        if (cgroup_read_attribute(c, "pids", "pids.current", &pids) >= 0)
                ret->pids = strtoll(pids, NULL, 10);
        if (cgroup_oom_kills(c, &ooms) >= 0)
                ret->oom_kills = (int64_t) ooms;
        return true;
}

static void print_record(const ContainerRecord *r) {
        _cleanup_free_ char *status = NULL;
        char t[32], mem[24];

        (void) container_record_status_string(r, &status);
        printf("ID:         %s\n", r->id);
        printf("Name:       %s\n", strempty(r->name));
        printf("State:      %s\n", strempty(status));
        printf("PID:        %d (owner forgeonectl %d%s)\n", (int) r->pid, (int) r->owner_pid,
               container_state_is_final(r->state) || container_record_owner_alive(r) ? "" : ", gone");
        printf("Image:      %s\n", strempty(r->image));
        printf("Digest:     %s\n", strempty(r->image_digest));
        printf("Policy:     %s\n", strempty(r->policy));
        printf("Command:   ");
        for (char **a = r->command; a && *a; a++)
                printf(" %s", *a);
        printf("\nLabels:    ");
        for (char **a = r->labels; a && *a; a++)
                printf(" %s", *a);
        printf("\nHostname:   %s\n", strempty(r->hostname));
        printf("Network:    %s\n", strempty(r->network));
        printf("User NS:    0 -> host %u (%u ids)\n", (unsigned) r->uid_base, r->uid_count);
        format_bytes(r->memory_bytes, mem);
        printf("Priority:   %s, trust %d/%d, cpu weight %u\n", strempty(scheduler_priority_to_string(r->priority)),
               r->trust, r->trust_max, r->cpu_weight);
        printf("Limits:     memory %s, pids %" PRIu64 ", cpus %s", mem, r->pids, r->cpu_millis ? "" : "unlimited");
        if (r->cpu_millis)
                printf("%" PRIu64 ".%03" PRIu64, r->cpu_millis / 1000, r->cpu_millis % 1000);
        printf("\nCgroup:     %s/%s (%s)\n", strempty(r->cgroup_root), strempty(r->cgroup), strempty(r->cgroup_layout));
        printf("Storage:    %s\n", strempty(r->rootfs));
        LiveStats live;
        if (live_stats(r, &live))
                printf("Now:        %s, memory %" PRIi64 " bytes, %" PRIi64 " pids, %" PRIi64 " OOM kills\n",
                       live.frozen > 0 ? "frozen" : live.frozen == 0 ? "not frozen" : "freezer unknown",
                       live.memory_bytes, live.pids, live.oom_kills);
        format_time(r->created_usec, t);
        printf("Created:    %s\n", t);
        printf("Transitions:\n");
        for (size_t i = 0; i < r->n_transitions; i++) {
                const ContainerTransition *x = r->transitions + i;
                format_time(x->realtime_usec, t);
                printf("  %s.%06u  %-11s -> %-11s %s\n", t, (unsigned) (x->realtime_usec % 1000000),
                       container_state_to_string(x->from), container_state_to_string(x->to), strempty(x->reason));
        }
}

int verb_inspect(int argc, char *argv[]) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(container_store_freep) ContainerStore *s = NULL;
        _cleanup_(container_record_freep) ContainerRecord *rec = NULL;
        _cleanup_free_ char *id = NULL;
        bool json = false;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "jh", options, NULL)) >= 0)
                switch (c) {
                case 'j':
                        json = true;
                        break;
                case 'h':
                        printf("Usage: forgeonectl inspect [--json] ID|NAME\n\n"
                               "Show a container's record: state, limits, cgroup, transitions.\n");
                        return 0;
                default:
                        return 1;
                }
        if (optind + 1 != argc) {
                log_error("inspect takes one container id or name; see 'forgeonectl inspect --help'.");
                return 1;
        }
        r = open_store(&s);
        if (r < 0)
                return 1;
        r = container_store_resolve(s, argv[optind], &id);
        if (r == -ENOTUNIQ) {
                log_error("\"%s\" is the prefix of several container ids.", argv[optind]);
                return 1;
        }
        if (r < 0) {
                log_error("No container with id or name \"%s\".", argv[optind]);
                return 1;
        }
        r = container_store_load(s, id, &rec);
        if (r < 0) {
                log_error_errno(r, "Failed to read the state of container %s: %m", id);
                return 1;
        }
        if (json) {
                _cleanup_free_ char *text = NULL;
                json_object *o;
                LiveStats live;

                if (container_record_to_json(rec, false, &text) < 0 || !(o = json_tokener_parse(text)))
                        return log_oom(), 1;
                /* "live": what the cgroup says now; null once the container has exited. */
                if (live_stats(rec, &live)) {
                        json_object *l = json_object_new_object();
                        json_object_object_add(l, "frozen", live.frozen < 0 ? NULL : json_object_new_boolean(live.frozen));
                        json_object_object_add(l, "memory_bytes",
                                               live.memory_bytes < 0 ? NULL : json_object_new_int64(live.memory_bytes));
                        json_object_object_add(l, "pids", live.pids < 0 ? NULL : json_object_new_int64(live.pids));
                        json_object_object_add(l, "oom_kills", live.oom_kills < 0 ? NULL : json_object_new_int64(live.oom_kills));
                        json_object_object_add(o, "live", l);
                } else
                        json_object_object_add(o, "live", NULL);
                puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o);
        } else
                print_record(rec);
        return 0;
}

static int parse_timeout(const char *arg, uint64_t *ret) {
        char *end;
        double v = strtod(arg, &end);

        if (*end || end == arg || !(v >= 0 && v <= 86400))
                return -EINVAL;
        *ret = (uint64_t) (v * 1e6);
        return 0;
}

typedef enum Control {
        CONTROL_PAUSE,
        CONTROL_RESUME,
        CONTROL_STOP,
        CONTROL_QUARANTINE,
        CONTROL_RELEASE,
} Control;

static int control(int argc, char *argv[], Control what) {
        static const struct option options[] = {
                { "timeout", required_argument, NULL, 't' },
                { "reason", required_argument, NULL, 'r' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        static const char *const usage[] = {
                [CONTROL_PAUSE] = "pause ID|NAME\n\nFreeze every process of the container (cgroup freezer).",
                [CONTROL_RESUME] = "resume ID|NAME\n\nThaw a paused container.",
                [CONTROL_STOP] = "stop [--timeout SECONDS] ID|NAME\n\n"
                                 "Send SIGTERM to every process, and kill what is left after the timeout (default 10).",
                [CONTROL_QUARANTINE] = "quarantine --reason TEXT ID|NAME\n\n"
                                       "Freeze the container and record why; it stays inspectable until released.",
                [CONTROL_RELEASE] = "release ID|NAME\n\nThaw a quarantined container back to running.",
        };
        _cleanup_(container_store_freep) ContainerStore *s = NULL;
        uint64_t timeout = CONTAINER_DEFAULT_STOP_TIMEOUT_USEC;
        const char *reason = NULL;
        ForgeError err = {};
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "t:r:h", options, NULL)) >= 0)
                switch (c) {
                case 't':
                        if (what != CONTROL_STOP || parse_timeout(optarg, &timeout) < 0) {
                                log_error("Invalid --timeout \"%s\": seconds between 0 and 86400 (stop only).", optarg);
                                return 1;
                        }
                        break;
                case 'r':
                        if (what != CONTROL_QUARANTINE) {
                                log_error("--reason applies to quarantine only.");
                                return 1;
                        }
                        reason = optarg;
                        break;
                case 'h':
                        printf("Usage: forgeonectl %s\n", usage[what]);
                        return 0;
                default:
                        return 1;
                }
        if (optind + 1 != argc) {
                log_error("%s takes one container id or name; see 'forgeonectl %s --help'.", argv[0], argv[0]);
                return 1;
        }
        if (what == CONTROL_QUARANTINE && (!reason || !*reason)) {
                log_error("quarantine needs --reason TEXT: it is recorded for the audit.");
                return 1;
        }

        r = open_store(&s);
        if (r < 0)
                return 1;
        switch (what) {
        case CONTROL_PAUSE:
                r = container_pause(s, argv[optind], &err);
                break;
        case CONTROL_RESUME:
                r = container_resume(s, argv[optind], &err);
                break;
        case CONTROL_STOP:
                r = container_stop(s, argv[optind], timeout, &err);
                break;
        case CONTROL_QUARANTINE:
                r = container_quarantine(s, argv[optind], reason, &err);
                break;
        case CONTROL_RELEASE:
                r = container_release(s, argv[optind], &err);
                break;
        }
        if (r < 0)
                return log_container_error(r, &err, argv[0], argv[optind]);
        return 0;
}

int verb_pause(int argc, char *argv[]) {
        return control(argc, argv, CONTROL_PAUSE);
}

int verb_resume(int argc, char *argv[]) {
        return control(argc, argv, CONTROL_RESUME);
}

int verb_stop(int argc, char *argv[]) {
        return control(argc, argv, CONTROL_STOP);
}

int verb_quarantine(int argc, char *argv[]) {
        return control(argc, argv, CONTROL_QUARANTINE);
}

int verb_release(int argc, char *argv[]) {
        return control(argc, argv, CONTROL_RELEASE);
}

static void print_removed(const ContainerRecord *rec) {
        _cleanup_free_ char *status = NULL;

        (void) container_record_status_string(rec, &status);
        printf("%-12s %-20s %s\n", rec->id, strempty(rec->name), strempty(status));
}

int verb_rm(int argc, char *argv[]) {
        static const struct option options[] = {
                { "force", no_argument, NULL, 'f' },
                { "timeout", required_argument, NULL, 't' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(container_store_freep) ContainerStore *s = NULL;
        uint64_t timeout = CONTAINER_DEFAULT_STOP_TIMEOUT_USEC;
        bool force = false;
        int c, r, ret = 0;

        optind = 0;
        while ((c = getopt_long(argc, argv, "ft:h", options, NULL)) >= 0)
                switch (c) {
                case 'f':
                        force = true;
                        break;
                case 't':
                        if (parse_timeout(optarg, &timeout) < 0) {
                                log_error("Invalid --timeout \"%s\": seconds between 0 and 86400.", optarg);
                                return 1;
                        }
                        break;
                case 'h':
                        printf("Usage: forgeonectl rm [--force [--timeout SECONDS]] ID|NAME...\n\n"
                               "Remove the records of containers that have exited, and whatever they\n"
                               "left behind (cgroup, storage). A container that runs, is paused or\n"
                               "quarantined is refused unless --force: it is then stopped first (SIGTERM,\n"
                               "then killed after the timeout, default 10). Prints each removed\n"
                               "container.\n");
                        return 0;
                default:
                        return 1;
                }
        if (optind >= argc) {
                log_error("rm takes one or more container ids or names; see 'forgeonectl rm --help'.");
                return 1;
        }
        r = open_store(&s);
        if (r < 0)
                return 1;
        for (int i = optind; i < argc; i++) {
                _cleanup_(container_record_freep) ContainerRecord *rec = NULL;
                ForgeError err = {};

                r = container_remove(s, argv[i], force, timeout, &rec, &err);
                if (r < 0)
                        ret = log_container_error(r, &err, "remove container", argv[i]);
                else if (r == 0)
                        printf("%-12s already removed\n", argv[i]);
                else
                        print_removed(rec);
        }
        return ret;
}

int verb_prune(int argc, char *argv[]) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(container_store_freep) ContainerStore *s = NULL;
        ContainerRecord **l = NULL;
        ForgeError err = {};
        bool json = false;
        size_t n = 0;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "jh", options, NULL)) >= 0)
                switch (c) {
                case 'j':
                        json = true;
                        break;
                case 'h':
                        printf("Usage: forgeonectl prune [--json]\n\n"
                               "Remove every container that has exited (stopped or failed): its record and\n"
                               "whatever it left behind. Prints what was removed (--json: their\n"
                               "records).\n");
                        return 0;
                default:
                        return 1;
                }
        if (optind < argc) {
                log_error("prune takes no arguments; see 'forgeonectl prune --help'.");
                return 1;
        }
        r = open_store(&s);
        if (r < 0)
                return 1;
        r = container_prune(s, &l, &n, &err);
        if (json) {
                bool first = true;
                printf("[");
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *text = NULL;
                        if (container_record_to_json(l[i], false, &text) < 0) {
                                log_oom();
                                r = -ENOMEM;
                                continue;
                        }
                        json_array_item(&first, text);
                }
                json_array_end(first);
        } else {
                for (size_t i = 0; i < n; i++)
                        print_removed(l[i]);
                printf("Removed %zu exited container%s.\n", n, n == 1 ? "" : "s");
        }
        container_record_list_free(l, n);
        if (r < 0)
                return log_container_error(r, &err, "remove", "exited containers");
        return 0;
}
