/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * forgeoned: the ForgeOne service. Arguments, the service manager's
 * protocol (READY=1, STATUS=, RELOADING=1, STOPPING=1, the watchdog, the
 * fd store) and the loop; the state is the manager's (manager.h). See
 * forgeoned(8).
 */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "forgeone/log.h"
#include "manager.h"

static void help(void) {
        printf("Usage: forgeoned [OPTIONS]\n\n"
               "The ForgeOne service: runs workloads under the policy and decides their trapped syscalls,\n"
               "driven over D-Bus (org.forgeone.Supervisor1) by forgeonectl.\n\n"
               "  --policy FILE          the policy (default %s)\n"
               "  --state-dir DIR        what survives a restart (default %s)\n"
               "  --cgroup DIR|none      cgroup v2 directory the workloads get their cgroups in\n"
               "                         (default: 'workloads' below forgeoned's own cgroup)\n"
               "  --log-decisions all|denials|none\n"
               "                         decisions logged on stderr/the journal (default denials)\n"
               "  --decision-log FILE    append every decision to FILE as a JSON line\n"
               "  --audit-allow MODE     allowed calls in the journal's audit: all, sampled,\n"
               "                         aggregated (default; exact counts per interval)\n"
               "  --no-audit             write no audit records (forgeone.audit(7))\n"
               "  --observer             watch the workloads with the eBPF observer (forgeone.observer(7));\n"
               "                         off by default (--no-observer): it slows every process of the host\n"
               "  --observer-root DIR    pin the observer's maps below DIR, on a BPF file system\n"
               "                         (default %s)\n"
               "  --keep-on-stop         SIGTERM leaves the workloads running for the next start\n"
               "                         (default: only when systemd restarts forgeoned)\n"
               "  --stop-timeout SEC     SIGTERM, then SIGKILL after SEC when stopping a workload (10)\n"
               "  --max-workloads N      refuse to run more (default %u)\n"
               "  --bus-address ADDRESS  connect to this bus instead of the system bus (tests)\n"
               "  -h, --help             show this help\n"
               "  --version              show the version\n",
               FORGEONED_DEFAULT_POLICY, FORGEONED_DEFAULT_STATE_DIR, OBSERVER_PIN_ROOT,
               FORGEONED_DEFAULT_MAX_WORKLOADS);
}

/* Our own cgroup v2 directory, with "/workloads" appended. */
static int default_cgroup(char **ret) {
        _cleanup_free_ char *line = NULL;
        size_t n = 0;
        FILE *f = fopen("/proc/self/cgroup", "re");
        const char *mnt;

        if (!f)
                return -errno;
        while (getline(&line, &n, f) > 0)
                if (strncmp(line, "0::", 3) == 0)
                        break;
        fclose(f);
        if (!line || strncmp(line, "0::", 3) != 0)
                return -ENOENT;
        line[strcspn(line, "\n")] = 0;
        /* Hybrid hosts have cgroup v2 at /sys/fs/cgroup/unified. */
        mnt = access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0 ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup";
        if (asprintf(ret, "%s%s%s/workloads", mnt, streq(line + 3, "/") ? "" : "", streq(line + 3, "/") ? "" : line + 3) < 0)
                return -ENOMEM;
        return 0;
}

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        manager_begin_stop(userdata);
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        _cleanup_(reload_result_done) ReloadResult res = {};
        ForgeError err = {};
        int r;

        r = manager_reload(m, NULL, NULL, &res, &err);
        if (r < 0)
                log_error("Reload refused, the previous policy stays active: %s", forge_error_message(&err, r));
        else
                manager_bus_emit_policy_reloaded(m, &res);
        return 0;
}

int main(int argc, char *argv[]) {
        enum {
                ARG_POLICY = 0x100,
                ARG_STATE_DIR,
                ARG_CGROUP,
                ARG_LOG_DECISIONS,
                ARG_DECISION_LOG,
                ARG_AUDIT_ALLOW,
                ARG_NO_AUDIT,
                ARG_NO_OBSERVER,
                ARG_OBSERVER,
                ARG_OBSERVER_ROOT,
                ARG_KEEP_ON_STOP,
                ARG_STOP_TIMEOUT,
                ARG_MAX_WORKLOADS,
                ARG_BUS_ADDRESS,
                ARG_VERSION,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "policy", required_argument, NULL, ARG_POLICY },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "cgroup", required_argument, NULL, ARG_CGROUP },
                { "log-decisions", required_argument, NULL, ARG_LOG_DECISIONS },
                { "decision-log", required_argument, NULL, ARG_DECISION_LOG },
                { "audit-allow", required_argument, NULL, ARG_AUDIT_ALLOW },
                { "no-audit", no_argument, NULL, ARG_NO_AUDIT },
                { "no-observer", no_argument, NULL, ARG_NO_OBSERVER },
                { "observer", no_argument, NULL, ARG_OBSERVER },
                { "observer-root", required_argument, NULL, ARG_OBSERVER_ROOT },
                { "keep-on-stop", no_argument, NULL, ARG_KEEP_ON_STOP },
                { "stop-timeout", required_argument, NULL, ARG_STOP_TIMEOUT },
                { "max-workloads", required_argument, NULL, ARG_MAX_WORKLOADS },
                { "bus-address", required_argument, NULL, ARG_BUS_ADDRESS },
                {},
        };
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_free_ char *cgroup = NULL;
        ManagerConfig cfg = {
                .log_decisions = LOG_DECISIONS_DENIALS,
                .audit_allow = AUDIT_ALLOW_AGGREGATED,
                .audit_dir = getenv("FORGEONE_AUDIT_DIR"),
                .audit_key = getenv("FORGEONE_AUDIT_KEY"),
        };
        bool cgroup_set = false;
        char **fd_names = NULL;
        _cleanup_free_ int *handed = NULL;
        size_t n_handed;
        int n_fds, c, r;
        sigset_t mask;

        log_set_program("forgeoned");
        manager_bus_set_argv(argv);
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("forgeoned %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_POLICY:
                        cfg.policy_file = optarg;
                        break;
                case ARG_STATE_DIR:
                        cfg.state_dir = optarg;
                        break;
                case ARG_CGROUP:
                        cgroup_set = true;
                        cfg.cgroup_parent = streq(optarg, "none") ? NULL : optarg;
                        break;
                case ARG_LOG_DECISIONS:
                        cfg.log_decisions = log_decisions_from_string(optarg);
                        if (cfg.log_decisions < 0) {
                                log_error("--log-decisions takes all, denials or none.");
                                return FORGEONED_EXIT_CONFIG;
                        }
                        break;
                case ARG_DECISION_LOG:
                        cfg.decision_log = optarg;
                        break;
                case ARG_AUDIT_ALLOW:
                        cfg.audit_allow = audit_allow_mode_from_string(optarg);
                        if (cfg.audit_allow < 0) {
                                log_error("--audit-allow takes all, sampled or aggregated, not '%s'.", optarg);
                                return FORGEONED_EXIT_CONFIG;
                        }
                        break;
                case ARG_NO_AUDIT:
                        cfg.no_audit = true;
                        break;
                case ARG_NO_OBSERVER:
                        cfg.observer = false;
                        break;
                case ARG_OBSERVER:
                        cfg.observer = true;
                        break;
                case ARG_OBSERVER_ROOT:
                        cfg.observer_root = optarg;
                        break;
                case ARG_KEEP_ON_STOP:
                        cfg.keep_on_stop = true;
                        break;
                case ARG_STOP_TIMEOUT: {
                        char *end;
                        double sec = strtod(optarg, &end);
                        if (*end || sec <= 0 || sec > 3600) {
                                log_error("--stop-timeout takes seconds (0 < SEC <= 3600).");
                                return FORGEONED_EXIT_CONFIG;
                        }
                        cfg.stop_timeout_usec = (uint64_t) (sec * 1e6);
                        break;
                }
                case ARG_MAX_WORKLOADS:
                        cfg.max_workloads = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case ARG_BUS_ADDRESS:
                        cfg.bus_address = optarg;
                        break;
                default:
                        return FORGEONED_EXIT_CONFIG;
                }
        if (optind < argc) {
                log_error("forgeoned takes no arguments; see --help.");
                return FORGEONED_EXIT_CONFIG;
        }
        if (!cfg.policy_file && access(FORGEONED_DEFAULT_POLICY, F_OK) == 0)
                cfg.policy_file = FORGEONED_DEFAULT_POLICY;
        if (!cfg.policy_file && access(FORGEONE_POLICY_DIR "/default.json", F_OK) == 0)
                cfg.policy_file = FORGEONE_POLICY_DIR "/default.json";
        if (!cgroup_set) {
                r = default_cgroup(&cgroup);
                if (r >= 0 && (mkdir(cgroup, 0755) >= 0 || errno == EEXIST))
                        cfg.cgroup_parent = cgroup;
                else
                        log_warning("No cgroup for the workloads (%s): pause and quarantine need one.",
                                    cgroup ?: "no cgroup v2");
        }

        /* Signals arrive through the loop; blocked before anything else starts a thread. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        (void) signal(SIGPIPE, SIG_IGN);

        r = manager_new(&cfg, &m);
        if (r < 0) {
                log_error_errno(r, "Failed to set up: %m");
                return FORGEONED_EXIT_CONFIG;
        }
        (void) sd_event_add_signal(m->event, NULL, SIGTERM, on_sigterm, m);
        (void) sd_event_add_signal(m->event, NULL, SIGINT, on_sigterm, m);
        (void) sd_event_add_signal(m->event, NULL, SIGHUP, on_sighup, m);
        /* WATCHDOG_USEC/WATCHDOG_PID: pinged from the loop, so a stuck loop is noticed. */
        (void) sd_event_set_watchdog(m->event, true);

        /* What a predecessor handed over: systemd's fd store (LISTEN_FDS), our own re-exec (its variable). */
        n_fds = sd_listen_fds_with_names(true, &fd_names);
        if (n_fds < 0) {
                log_warning_errno(n_fds, "Failed to take the fds handed over: %m");
                n_fds = 0;
        }
        n_handed = (size_t) n_fds;
        handed = calloc(n_handed + 1, sizeof *handed);
        if (!handed)
                return log_oom(), FORGEONED_EXIT_CONFIG;
        for (size_t i = 0; i < n_handed; i++)
                handed[i] = SD_LISTEN_FDS_START + (int) i;
        if (!fd_names)
                fd_names = calloc(n_handed + 1, sizeof *fd_names);
        if (getenv("FORGEONED_HANDOVER")) {
                r = daemon_handover_parse(getenv("FORGEONED_HANDOVER"), &handed, &fd_names, &n_handed);
                if (r < 0)
                        log_warning_errno(r, "Failed to read $FORGEONED_HANDOVER: %m");
                (void) unsetenv("FORGEONED_HANDOVER");
        }
        for (size_t i = 0; i < n_handed; i++)
                (void) fcntl(handed[i], F_SETFD, FD_CLOEXEC);
        {
                ForgeError err = {};
                r = manager_startup(m, handed, fd_names, n_handed, &err);
                strv_free(fd_names);
                if (r < 0) {
                        log_error("%s", forge_error_message(&err, r));
                        (void) sd_notifyf(false, "STATUS=Failed: %s", forge_error_message(&err, r));
                        return err.kind == FORGE_ERROR_SYSTEM && r != -EINVAL && r != -ENOENT ? FORGEONED_EXIT_STATE
                                                                                          : FORGEONED_EXIT_CONFIG;
                }
        }
        r = manager_bus_setup(m);
        if (r < 0)
                return FORGEONED_EXIT_BUS;

        (void) sd_notifyf(false, "READY=1\nSTATUS=Policy generation %" PRIu64 ", %zu workload(s)", m->generation,
                          hashmap_size(m->workloads));
        log_info("Ready: policy %s (%s), generation %" PRIu64 ".", strempty(m->policy_source), m->policy_digest,
                 m->generation);

        r = sd_event_loop(m->event);
        if (r < 0) {
                log_error_errno(r, "Event loop failed: %m");
                return 1;
        }
        if (m->leave_running) {
                /* Leave every object as it is: freeing a workload kills it. Nothing else to clean. */
                fflush(NULL);
                _exit(r);
        }
        return r;
}
