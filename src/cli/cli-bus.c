/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * forgeonectl as forgeoned's client: run, ps, inspect, pause, resume, stop,
 * quarantine, release, reload and daemon over D-Bus
 * (org.forgeone.Supervisor1). forgeonectl.c sends a verb here when the
 * daemon answers and --local was not given; see cli-bus.h.
 *
 * "run" passes the caller's stdio: when stdin and stdout are a terminal,
 * a pseudo-terminal of our own (as systemd-run --pty does) whose other
 * end becomes the workload's controlling terminal, with our terminal in
 * raw mode between them, so job control, Ctrl-C and window sizes work as
 * in a local shell; otherwise fds 0, 1 and 2 themselves.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <systemd/sd-bus.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli-bus.h"
#include "cli-run-common.h"
#include "cli-verbs.h"
#include "forgeone/container.h"
#include "forgeone/log.h"
#include "forgeone/scheduler.h"
#include "forgeone/time-util.h"
#include "forgeone/workload.h"

extern char **environ;

#define BUS_NAME "org.forgeone.Supervisor1"
#define BUS_PATH "/org/forgeone/Supervisor1"
#define BUS_IFACE "org.forgeone.Supervisor1"
#define BUS_WORKLOAD_IFACE "org.forgeone.Workload1"

static const char *bus_address;

void cli_bus_set_address(const char *address) {
        bus_address = address;
}

const char *cli_bus_get_address(void) {
        return bus_address ?: getenv("FORGEONE_BUS_ADDRESS");
}

static int bus_open(sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *a = cli_bus_get_address();
        int r;

        if (!a)
                return sd_bus_open_system(ret);
        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, a);
        if (r < 0)
                return r;
        (void) sd_bus_set_bus_client(bus, true);
        (void) sd_bus_negotiate_fds(bus, true);
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

int cli_bus_connect(sd_bus **ret, char **ret_why) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *version = NULL;
        int r;

        r = bus_open(&bus);
        if (r < 0) {
                if (asprintf(ret_why, "cannot connect to the %s bus: %s", cli_bus_get_address() ?: "system",
                             strerror(-r)) < 0)
                        *ret_why = NULL;
                return 0;
        }
        /* Activates the service where the bus can (the activation file names forgeoned.service). */
        r = sd_bus_get_property_string(bus, BUS_NAME, BUS_PATH, BUS_IFACE, "Version", &e, &version);
        if (r < 0) {
                if (sd_bus_error_has_names(&e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                           "org.freedesktop.systemd1.NoSuchUnit",
                                           "org.freedesktop.DBus.Error.Spawn.ServiceNotFound",
                                           "org.freedesktop.DBus.Error.Spawn.ChildExited", SD_BUS_ERROR_TIMEOUT,
                                           SD_BUS_ERROR_NO_REPLY)) {
                        if (asprintf(ret_why, "forgeoned is not running (%s)", e.message ?: e.name) < 0)
                                *ret_why = NULL;
                        return 0;
                }
                return log_error_errno(r, "Failed to reach forgeoned: %s", e.message ?: strerror(-r));
        }
        *ret = TAKE_PTR(bus);
        return 1;
}

static int bus_fail(int r, const sd_bus_error *e, const char *what) {
        if (e && sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED))
                log_error("%s: access denied (%s).", what, e->message ?: "by the bus policy");
        else if (e && sd_bus_error_is_set(e))
                log_error("%s: %s", what, e->message ?: e->name);
        else
                log_error_errno(r, "%s: %m", what);
        return 1;
}

/* ---- run ---- */

typedef struct RunClient {
        sd_bus *bus;
        char *id;
        bool ended;
        int status;
        /* tty mode */
        int master;
        bool tty;
        struct termios saved;
        bool saved_set;
} RunClient;

static int on_state_changed(sd_bus_message *m, void *userdata, sd_bus_error *e) {
        RunClient *c = userdata;
        const char *id, *path, *state;
        int32_t status;

        if (sd_bus_message_read(m, "sosi", &id, &path, &state, &status) < 0)
                return 0;
        if (c->id && streq(id, c->id) && streq(state, "exited")) {
                c->ended = true;
                c->status = status;
        }
        return 0;
}

static void tty_restore(RunClient *c) {
        if (c->saved_set)
                (void) tcsetattr(STDIN_FILENO, TCSADRAIN, &c->saved);
        c->saved_set = false;
}

static int tty_setup(RunClient *c, int *ret_slave) {
        struct termios raw;
        struct winsize ws;
        int slave;

        c->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (c->master < 0)
                return -errno;
        if (grantpt(c->master) < 0 || unlockpt(c->master) < 0)
                return -errno;
        slave = open(ptsname(c->master), O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return -errno;
        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                (void) ioctl(c->master, TIOCSWINSZ, &ws);
        if (tcgetattr(STDIN_FILENO, &c->saved) == 0) {
                /* The workload's terminal starts as ours was; ours passes bytes through untouched. */
                (void) tcsetattr(slave, TCSANOW, &c->saved);
                raw = c->saved;
                cfmakeraw(&raw);
                c->saved_set = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
        }
        *ret_slave = slave;
        return 0;
}

static bool copy_once(int from, int to) {
        char buf[4096];
        ssize_t n = read(from, buf, sizeof buf);

        if (n <= 0)
                return n < 0 && (errno == EAGAIN || errno == EINTR);
        for (ssize_t o = 0; o < n;) {
                ssize_t k = write(to, buf + o, (size_t) (n - o));
                if (k < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return false;
                }
                o += k;
        }
        return true;
}

static void forward_signal(RunClient *c, int sig) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

        if (c->id)
                (void) sd_bus_call_method(c->bus, BUS_NAME, BUS_PATH, BUS_IFACE, "Kill", &e, NULL, "si", c->id,
                                          (int32_t) sig);
}

static int append_strv_entry(sd_bus_message *m, const char *key, char **l) {
        int r = sd_bus_message_open_container(m, 'e', "sv");

        if (r >= 0)
                r = sd_bus_message_append(m, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, l);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

/* An image's options: its config sets the environment, the working directory and the user. */
static int append_image_spec(sd_bus_message *m, const CliBusRun *o) {
        int r = sd_bus_message_append(m, "{sv}", "Image", "s", o->image);

        if (r >= 0 && o->labels && o->labels[0])
                r = append_strv_entry(m, "Labels", o->labels);
        if (r >= 0 && o->priority)
                r = sd_bus_message_append(m, "{sv}", "Priority", "s", o->priority);
        if (r >= 0 && o->network)
                r = sd_bus_message_append(m, "{sv}", "Network", "s", o->network);
        if (r >= 0 && o->hostname)
                r = sd_bus_message_append(m, "{sv}", "Hostname", "s", o->hostname);
        if (r >= 0 && o->memory_bytes)
                r = sd_bus_message_append(m, "{sv}", "MemoryBytes", "t", o->memory_bytes);
        if (r >= 0 && o->pids)
                r = sd_bus_message_append(m, "{sv}", "Pids", "t", o->pids);
        if (r >= 0 && o->cpu_millis)
                r = sd_bus_message_append(m, "{sv}", "CPUMillis", "t", o->cpu_millis);
        if (r >= 0 && o->uid_count) {
                r = sd_bus_message_append(m, "{sv}", "UIDBase", "u", o->uid_base);
                if (r >= 0)
                        r = sd_bus_message_append(m, "{sv}", "UIDCount", "u", o->uid_count);
        }
        return r;
}

static int append_spec(sd_bus_message *m, const CliBusRun *o, bool tty) {
        char cwd[4096];
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && o->identity)
                r = sd_bus_message_append(m, "{sv}", "Identity", "s", o->identity);
        if (r >= 0 && o->name)
                r = sd_bus_message_append(m, "{sv}", "Name", "s", o->name);
        if (r >= 0 && o->stop_timeout_usec)
                r = sd_bus_message_append(m, "{sv}", "StopTimeoutUSec", "t", o->stop_timeout_usec);
        if (o->image) {
                if (r >= 0)
                        r = append_image_spec(m, o);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                return r;
        }
        if (r >= 0 && getcwd(cwd, sizeof cwd))
                r = sd_bus_message_append(m, "{sv}", "WorkingDirectory", "s", cwd);
        if (r >= 0 && tty)
                r = sd_bus_message_append(m, "{sv}", "Tty", "b", 1);
        if (r >= 0)
                r = append_strv_entry(m, "Environment", environ);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

int cli_bus_run(sd_bus *bus, const CliBusRun *o) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_close_ int slave = -EBADF, sigfd = -EBADF;
        RunClient c = { .bus = bus, .master = -EBADF, .status = FORGEONE_EXIT_LAUNCH_FAILED };
        const char *id, *path;
        sigset_t mask;
        int r, fds[3] = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO };
        bool stdin_open = true;

        c.tty = !o->no_tty && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
        r = sd_bus_match_signal(bus, &slot, BUS_NAME, BUS_PATH, BUS_IFACE, "WorkloadStateChanged", on_state_changed, &c);
        if (r < 0)
                return bus_fail(r, NULL, "Failed to watch the workload"), FORGEONE_EXIT_LAUNCH_FAILED;
        if (c.tty) {
                r = tty_setup(&c, &slave);
                if (r < 0) {
                        tty_restore(&c);
                        log_error_errno(r, "Failed to set up a terminal for the workload: %m");
                        safe_close(c.master);
                        return FORGEONE_EXIT_LAUNCH_FAILED;
                }
                fds[0] = fds[1] = fds[2] = slave;
        }

        /* Signals become Kill calls: blocked before the workload exists, so none is lost. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGQUIT);
        sigaddset(&mask, SIGWINCH);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

        r = sd_bus_message_new_method_call(bus, &call, BUS_NAME, BUS_PATH, BUS_IFACE, "Run");
        if (r >= 0)
                r = append_spec(call, o, c.tty);
        if (r >= 0)
                r = sd_bus_message_append_strv(call, o->argv);
        if (r >= 0)
                r = sd_bus_message_append(call, "hhh", fds[0], fds[1], fds[2]);
        if (r >= 0)
                r = sd_bus_call(bus, call, 0, &e, &reply);
        if (r >= 0)
                r = sd_bus_message_read(reply, "so", &id, &path);
        if (r < 0) {
                tty_restore(&c);
                safe_close(c.master);
                bus_fail(r, &e, "Failed to start the workload");
                return FORGEONE_EXIT_LAUNCH_FAILED;
        }
        c.id = strdup(id);
        slave = safe_close(slave);
        if (!o->quiet && !c.tty)
                log_info("%s %s runs under forgeoned (its decisions are in forgeoned's log).",
                         o->image ? "Container" : "Workload", id);

        while (!c.ended) {
                struct pollfd p[4] = {
                        { .fd = sd_bus_get_fd(bus), .events = (short) sd_bus_get_events(bus) },
                        { .fd = sigfd, .events = POLLIN },
                        { .fd = c.tty && stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
                        { .fd = c.tty ? c.master : -1, .events = POLLIN },
                };
                uint64_t until = 0;
                int timeout = -1;

                for (;;) {
                        r = sd_bus_process(bus, NULL);
                        if (r <= 0)
                                break;
                }
                if (r < 0) {
                        log_error_errno(r, "Lost the connection to forgeoned: %m");
                        break;
                }
                if (c.ended)
                        break;
                if (sd_bus_get_timeout(bus, &until) > 0 && until != UINT64_MAX) {
                        uint64_t now = time_now_usec(CLOCK_MONOTONIC);
                        timeout = until <= now ? 0 : (int) MIN((until - now) / 1000 + 1, 60000u);
                }
                p[0].events = (short) sd_bus_get_events(bus);
                if (poll(p, ELEMENTSOF(p), timeout) < 0 && errno != EINTR)
                        break;
                if (p[1].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        while (read(sigfd, &si, sizeof si) == sizeof si) {
                                if (si.ssi_signo == SIGWINCH) {
                                        struct winsize ws;
                                        if (c.tty && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                                                (void) ioctl(c.master, TIOCSWINSZ, &ws);
                                } else
                                        forward_signal(&c, (int) si.ssi_signo);
                        }
                }
                if (p[2].revents & (POLLIN | POLLHUP))
                        if (!copy_once(STDIN_FILENO, c.master))
                                stdin_open = false;
                if (p[3].revents & (POLLIN | POLLHUP))
                        (void) copy_once(c.master, STDOUT_FILENO);
        }
        if (c.tty) {
                /* What the workload wrote last: until the terminal says there is nothing more. */
                int fl = fcntl(c.master, F_GETFL);
                (void) fcntl(c.master, F_SETFL, fl | O_NONBLOCK);
                while (copy_once(c.master, STDOUT_FILENO)) {
                        struct pollfd p = { .fd = c.master, .events = POLLIN };
                        if (poll(&p, 1, 50) <= 0)
                                break;
                }
                tty_restore(&c);
                safe_close(c.master);
        }
        free(c.id);
        return c.ended ? c.status : 1;
}

/* ---- ps, inspect ---- */

int cli_bus_ps(sd_bus *bus, bool json) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        json_object *a = json ? json_object_new_array() : NULL;
        const char *id, *label, *state, *cmd, *path;
        uint32_t pid;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_IFACE, "List", &e, &reply, NULL);
        if (r < 0)
                return bus_fail(r, &e, "Failed to list the workloads");
        r = sd_bus_message_enter_container(reply, 'a', "(sssuso)");
        if (r < 0)
                return bus_fail(r, NULL, "Bad reply");
        if (!json)
                printf("%-8s %-16s %-12s %8s  %s\n", "ID", "NAME", "STATE", "PID", "COMMAND");
        while ((r = sd_bus_message_read(reply, "(sssuso)", &id, &label, &state, &pid, &cmd, &path)) > 0) {
                if (json) {
                        json_object *o = json_object_new_object();
                        json_object_object_add(o, "id", json_object_new_string(id));
                        json_object_object_add(o, "name", json_object_new_string(label));
                        json_object_object_add(o, "state", json_object_new_string(state));
                        json_object_object_add(o, "pid", json_object_new_int64(pid));
                        json_object_object_add(o, "command", json_object_new_string(cmd));
                        json_object_object_add(o, "path", json_object_new_string(path));
                        json_object_array_add(a, o);
                } else
                        printf("%-8s %-16s %-12s %8" PRIu32 "  %s\n", id, *label ? label : "-", state, pid, cmd);
        }
        if (json) {
                puts(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(a);
        }
        return r < 0 ? bus_fail(r, NULL, "Bad reply") : 0;
}

static int workload_path(const char *id, char **ret) {
        char *p = NULL;
        int r = sd_bus_path_encode("/org/forgeone/Supervisor1/workload", id, &p);

        if (r < 0)
                return r;
        *ret = p;
        return 0;
}

static int print_properties(sd_bus *bus, const char *path, const char *iface, bool json, const char *what) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        json_object *o = json ? json_object_new_object() : NULL;
        const char *name;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll", &e, &reply, "s",
                               iface);
        if (r < 0) {
                json_object_put(o);
                if (sd_bus_error_has_name(&e, SD_BUS_ERROR_UNKNOWN_OBJECT))
                        log_error("No workload '%s'.", what);
                else
                        bus_fail(r, &e, "Failed to read the properties");
                return 1;
        }
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *contents;
                char type;
                char buf[256] = "";
                json_object *v = NULL;

                if ((r = sd_bus_message_read(reply, "s", &name)) < 0 ||
                    (r = sd_bus_message_peek_type(reply, &type, &contents)) < 0 ||
                    (r = sd_bus_message_enter_container(reply, 'v', contents)) < 0)
                        break;
                if (streq(contents, "s")) {
                        const char *s;
                        r = sd_bus_message_read(reply, "s", &s);
                        snprintf(buf, sizeof buf, "%s", s);
                        v = json_object_new_string(s);
                } else if (streq(contents, "u") || streq(contents, "i") || streq(contents, "t") || streq(contents, "b")) {
                        union {
                                uint32_t u;
                                int32_t i;
                                uint64_t t;
                                int b;
                        } x = {};
                        r = sd_bus_message_read_basic(reply, contents[0], &x);
                        if (contents[0] == 'u')
                                snprintf(buf, sizeof buf, "%" PRIu32, x.u), v = json_object_new_int64(x.u);
                        else if (contents[0] == 'i')
                                snprintf(buf, sizeof buf, "%" PRIi32, x.i), v = json_object_new_int(x.i);
                        else if (contents[0] == 't')
                                snprintf(buf, sizeof buf, "%" PRIu64, x.t), v = json_object_new_int64((int64_t) x.t);
                        else
                                snprintf(buf, sizeof buf, "%s", x.b ? "yes" : "no"), v = json_object_new_boolean(x.b);
                } else if (streq(contents, "as")) {
                        char **l = NULL;
                        size_t n = 0;
                        r = sd_bus_message_read_strv(reply, &l);
                        v = json_object_new_array();
                        for (char **s = l; s && *s; s++) {
                                n += (size_t) snprintf(buf + MIN(n, sizeof buf - 1), sizeof buf - MIN(n, sizeof buf - 1),
                                                       "%s%s", s == l ? "" : " ", *s);
                                json_object_array_add(v, json_object_new_string(*s));
                        }
                        strv_free(l);
                } else if (streq(contents, "a{st}")) {
                        const char *k;
                        uint64_t t;
                        size_t n = 0;
                        v = json_object_new_object();
                        r = sd_bus_message_enter_container(reply, 'a', "{st}");
                        while (r >= 0 && (r = sd_bus_message_read(reply, "{st}", &k, &t)) > 0) {
                                n += (size_t) snprintf(buf + MIN(n, sizeof buf - 1), sizeof buf - MIN(n, sizeof buf - 1),
                                                       "%s%s=%" PRIu64, n ? " " : "", k, t);
                                json_object_object_add(v, k, json_object_new_int64((int64_t) t));
                        }
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                } else
                        r = sd_bus_message_skip(reply, contents);
                if (r < 0)
                        break;
                r = sd_bus_message_exit_container(reply);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (json)
                        json_object_object_add(o, name, v);
                else {
                        json_object_put(v);
                        printf("%18s: %s\n", name, buf);
                }
        }
        if (json) {
                puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o);
        }
        return r < 0 ? bus_fail(r, NULL, "Bad reply") : 0;
}

int cli_bus_inspect(sd_bus *bus, const char *id, bool json) {
        _cleanup_free_ char *path = NULL;
        int r = workload_path(id, &path);

        if (r < 0)
                return bus_fail(r, NULL, "Invalid workload id");
        return print_properties(bus, path, BUS_WORKLOAD_IFACE, json, id);
}

/* ---- control ---- */

int cli_bus_control(sd_bus *bus, const char *verb, const char *id, const char *reason) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *method = streq(verb, "pause")        ? "Pause"
                             : streq(verb, "resume")     ? "Resume"
                             : streq(verb, "stop")       ? "Stop"
                             : streq(verb, "quarantine") ? "Quarantine"
                                                         : "Release";
        int r;

        if (streq(method, "Quarantine"))
                r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_IFACE, method, &e, NULL, "ss", id, strempty(reason));
        else
                r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_IFACE, method, &e, NULL, "s", id);
        if (r < 0) {
                char what[64];
                snprintf(what, sizeof what, "Failed to %s %s", verb, id);
                return bus_fail(r, &e, what);
        }
        return 0;
}

/* ---- reload, daemon ---- */

int cli_bus_reload(sd_bus *bus, const char *file) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *text = NULL, *abs = NULL;
        char **restart = NULL;
        const char *digest;
        uint64_t gen;
        int r;

        if (file) {
                /* Sent as text, named by its path: the daemon may not see the caller's files. */
                FILE *f = fopen(file, "re");
                size_t len = 0;

                if (!f)
                        return log_error_errno(-errno, "Failed to open %s: %m", file), 1;
                r = getdelim(&text, &len, '\0', f) < 0 && ferror(f) ? -EIO : 0;
                fclose(f);
                if (r < 0 || !text)
                        return log_error("Failed to read %s.", file), 1;
                abs = realpath(file, NULL);
        }
        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_IFACE, "ReloadPolicy", &e, &reply, "ss",
                               file ? (abs ?: file) : "", file ? text : "");
        if (r < 0)
                return bus_fail(r, &e, "The policy was not reloaded; the active one stays");
        r = sd_bus_message_read(reply, "ts", &gen, &digest);
        if (r >= 0)
                r = sd_bus_message_read_strv(reply, &restart);
        if (r < 0)
                return bus_fail(r, NULL, "Bad reply");
        printf("policy generation %" PRIu64 " active (%s)\n", gen, digest);
        if (restart && restart[0]) {
                printf("restart to apply (their kernel filter differs from the new policy's):");
                for (char **s = restart; *s; s++)
                        printf(" %s", *s);
                printf("\n");
        }
        strv_free(restart);
        return 0;
}

int cli_bus_daemon_status(sd_bus *bus) {
        return print_properties(bus, BUS_PATH, BUS_IFACE, false, "forgeoned");
}

int cli_bus_daemon_policy(sd_bus *bus) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *source, *text, *digest;
        uint64_t gen;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_IFACE, "GetPolicy", &e, &reply, NULL);
        if (r >= 0)
                r = sd_bus_message_read(reply, "ssst", &source, &text, &digest, &gen);
        if (r < 0)
                return bus_fail(r, &e, "Failed to get the policy");
        fputs(text, stdout);
        fprintf(stderr, "forgeonectl: generation %" PRIu64 " from %s (%s)\n", gen, source, digest);
        return 0;
}

int cli_bus_daemon_reexec(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_IFACE, "Reexecute", &e, NULL, NULL);
        if (r < 0)
                return bus_fail(r, &e, "Failed to re-execute forgeoned");
        /* Back once the new instance owns the name again. */
        for (unsigned i = 0; i < 200; i++) {
                _cleanup_(sd_bus_flush_close_unrefp) sd_bus *b = NULL;
                _cleanup_(sd_bus_error_free) sd_bus_error e2 = SD_BUS_ERROR_NULL;
                _cleanup_free_ char *v = NULL;

                if (bus_open(&b) >= 0 && sd_bus_get_property_string(b, BUS_NAME, BUS_PATH, BUS_IFACE, "Version", &e2, &v) >= 0) {
                        printf("forgeoned %s re-executed\n", v);
                        return 0;
                }
                (void) usleep(50 * 1000);
        }
        log_error("forgeoned did not come back after re-executing.");
        return 1;
}

int cli_bus_daemon_explain(sd_bus *bus, const CliBusExplain *q) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *verdict, *err, *rule, *identity, *text;
        int32_t trust;
        int r;

        r = sd_bus_message_new_method_call(bus, &call, BUS_NAME, BUS_PATH, BUS_IFACE, "Explain");
        if (r >= 0)
                r = sd_bus_message_open_container(call, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(call, "{sv}", "Syscall", "s", q->syscall);
        if (r >= 0 && q->workload)
                r = sd_bus_message_append(call, "{sv}", "Workload", "s", q->workload);
        if (r >= 0 && q->identity)
                r = sd_bus_message_append(call, "{sv}", "Identity", "s", q->identity);
        if (r >= 0 && q->path)
                r = sd_bus_message_append(call, "{sv}", "Path", "s", q->path);
        if (r >= 0 && q->access)
                r = sd_bus_message_append(call, "{sv}", "Access", "s", q->access);
        if (r >= 0 && q->trust >= 0)
                r = sd_bus_message_append(call, "{sv}", "Trust", "i", (int32_t) q->trust);
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        if (r >= 0)
                r = sd_bus_call(bus, call, 0, &e, &reply);
        if (r >= 0)
                r = sd_bus_message_read(reply, "ssssis", &verdict, &err, &rule, &identity, &trust, &text);
        if (r < 0)
                return bus_fail(r, &e, "Failed to explain");
        printf("%s\nidentity %s, trust %d, against forgeoned's active policy\n", text, identity, trust);
        return 0;
}

/* ---- verbs: options in, calls out ---- */

static const char *const served[] = { "run",        "ps",      "inspect", "pause",  "resume", "stop",
                                      "quarantine", "release", "reload",  "daemon", "top",    "observe" };

bool cli_bus_serves(const char *verb) {
        FOREACH_ELEMENT (v, served)
                if (streq(*v, verb))
                        return true;
        return false;
}

static void bus_run_help(void) {
        printf("Usage: forgeonectl run [--identity NAME] [--name NAME] [--stop-timeout S] [--no-tty] [--quiet]\n"
               "                       -- COMMAND [ARGS...]\n"
               "       forgeonectl run --image DIR[:TAG] [--name NAME] [--identity NAME] [--label KEY=VALUE]...\n"
               "                       [--priority P] [--memory SIZE] [--pids N] [--cpus N] [--network none|host]\n"
               "                       [--hostname NAME] [--userns BASE:COUNT] [--stop-timeout S] [--no-tty]\n"
               "                       [--quiet] [-- COMMAND [ARGS...]]\n\n"
               "Run COMMAND, or the OCI image as a container, under forgeoned's active policy, with this\n"
               "terminal (or stdin, stdout and stderr). The image is verified against forgeoned's trust\n"
               "anchor; forgeoned refuses (rather than queues) a container the host budget has no room for.\n"
               "--stop-timeout: the grace period of a stop before SIGKILL (default: forgeoned's).\n"
               "forgeonectl run --local --help shows the embedded mode.\n");
}

/* "DIR[:TAG]" as forgeoned sees it: absolute (it runs elsewhere, in its own working directory). */
static int absolute_image(const char *ref, char **ret) {
        char cwd[4096];

        if (ref[0] == '/')
                return (*ret = strdup(ref)) ? 0 : -ENOMEM;
        if (!getcwd(cwd, sizeof cwd))
                return -errno;
        return asprintf(ret, "%s/%s", streq(cwd, "/") ? "" : cwd, ref) < 0 ? -ENOMEM : 0;
}

static int verb_bus_run(sd_bus *bus, int argc, char *argv[]) {
        enum {
                ARG_IDENTITY = 0x100,
                ARG_NAME,
                ARG_NO_TTY,
                ARG_QUIET,
                ARG_JSON,
                ARG_VERBOSE,
                ARG_STOP_TIMEOUT,
                ARG_IMAGE,
                ARG_LABEL,
                ARG_PRIORITY,
                ARG_MEMORY,
                ARG_PIDS,
                ARG_CPUS,
                ARG_NETWORK,
                ARG_NO_WAIT,
                ARG_HOSTNAME,
                ARG_USERNS,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "identity", required_argument, NULL, ARG_IDENTITY },
                { "name", required_argument, NULL, ARG_NAME },
                { "no-tty", no_argument, NULL, ARG_NO_TTY },
                { "quiet", no_argument, NULL, ARG_QUIET },
                { "json", no_argument, NULL, ARG_JSON },
                { "verbose", no_argument, NULL, ARG_VERBOSE },
                { "stop-timeout", required_argument, NULL, ARG_STOP_TIMEOUT },
                { "image", required_argument, NULL, ARG_IMAGE },
                { "label", required_argument, NULL, ARG_LABEL },
                { "priority", required_argument, NULL, ARG_PRIORITY },
                { "memory", required_argument, NULL, ARG_MEMORY },
                { "pids", required_argument, NULL, ARG_PIDS },
                { "cpus", required_argument, NULL, ARG_CPUS },
                { "network", required_argument, NULL, ARG_NETWORK },
                { "no-wait", no_argument, NULL, ARG_NO_WAIT },
                { "hostname", required_argument, NULL, ARG_HOSTNAME },
                { "userns", required_argument, NULL, ARG_USERNS },
                {},
        };
        _cleanup_strv_free_ char **labels = NULL;
        _cleanup_free_ char *image = NULL;
        size_t n_labels = 0;
        bool image_only = false;
        CliBusRun o = {};
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        bus_run_help();
                        return 0;
                case ARG_IDENTITY:
                        o.identity = optarg;
                        break;
                case ARG_NAME:
                        o.name = optarg;
                        break;
                case ARG_NO_TTY:
                        o.no_tty = true;
                        break;
                case ARG_QUIET:
                        o.quiet = true;
                        break;
                case ARG_JSON:
                case ARG_VERBOSE:
                        break; /* decisions are forgeoned's to log */
                case ARG_STOP_TIMEOUT:
                        if (run_parse_stop_timeout(optarg, &o.stop_timeout_usec) < 0)
                                return 1;
                        o.stop_timeout_usec = MAX(o.stop_timeout_usec, (uint64_t) 1); /* 0: forgeoned's */
                        break;
                case ARG_IMAGE:
                        free(image);
                        image = NULL;
                        if (absolute_image(optarg, &image) < 0)
                                return log_oom(), 1;
                        break;
                case ARG_LABEL:
                        if (run_parse_label(optarg) < 0)
                                return 1;
                        if (strv_push(&labels, &n_labels, optarg) < 0)
                                return log_oom(), 1;
                        image_only = true;
                        break;
                case ARG_PRIORITY: {
                        SchedulerPriority p;
                        if (run_parse_priority(optarg, &p) < 0)
                                return 1;
                        o.priority = optarg;
                        image_only = true;
                        break;
                }
                case ARG_MEMORY:
                        if (run_parse_memory(optarg, &o.memory_bytes) < 0)
                                return 1;
                        image_only = true;
                        break;
                case ARG_PIDS:
                        if (run_parse_pids(optarg, &o.pids) < 0)
                                return 1;
                        image_only = true;
                        break;
                case ARG_CPUS:
                        if (run_parse_cpus(optarg, &o.cpu_millis) < 0)
                                return 1;
                        image_only = true;
                        break;
                case ARG_NETWORK: {
                        ContainerNetwork n;
                        if (run_parse_network(optarg, &n) < 0)
                                return 1;
                        o.network = optarg;
                        image_only = true;
                        break;
                }
                case ARG_NO_WAIT:
                        image_only = true;
                        break; /* forgeoned never queues: a container without room is refused */
                case ARG_HOSTNAME:
                        if (run_parse_hostname(optarg) < 0)
                                return 1;
                        o.hostname = optarg;
                        image_only = true;
                        break;
                case ARG_USERNS:
                        if (run_parse_userns(optarg, &o.uid_base, &o.uid_count) < 0)
                                return 1;
                        image_only = true;
                        break;
                default:
                        return 1;
                }
        if (image_only && !image) {
                log_error("--label, --priority, --memory, --pids, --cpus, --network, --no-wait, --hostname and "
                          "--userns are options of run --image.");
                return 1;
        }
        if (image && o.name && !container_name_is_valid(o.name)) {
                log_error("Invalid --name \"%s\": 1-63 of A-Z a-z 0-9 _ . -, starting with a letter or digit.", o.name);
                return 1;
        }
        if (!image && optind >= argc) {
                log_error("forgeonectl run needs a command after the options (forgeonectl run -- COMMAND...).");
                return 1;
        }
        o.argv = argv + optind;
        o.image = image;
        o.labels = labels;
        return cli_bus_run(bus, &o);
}

static int one_id(int argc, char *argv[], const char *usage, const char **ret_id, const char **ret_reason, bool *ret_json) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "reason", required_argument, NULL, 'r' },
                { "json", no_argument, NULL, 'j' },
                { "timeout", required_argument, NULL, 't' },
                {},
        };
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "hr:jt:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        printf("Usage: forgeonectl %s\n", usage);
                        return 0;
                case 'r':
                        if (!ret_reason) {
                                log_error("--reason applies to quarantine only.");
                                return -EINVAL;
                        }
                        *ret_reason = optarg;
                        break;
                case 'j':
                        if (!ret_json) {
                                log_error("--json applies to ps and inspect.");
                                return -EINVAL;
                        }
                        *ret_json = true;
                        break;
                case 't':
                        log_error("--timeout applies to --local; forgeoned stops its workloads with its own "
                                  "--stop-timeout.");
                        return -EINVAL;
                default:
                        return -EINVAL;
                }
        if (optind + 1 != argc) {
                log_error("%s takes one workload id; see 'forgeonectl %s --help'.", argv[0], argv[0]);
                return -EINVAL;
        }
        *ret_id = argv[optind];
        return 1;
}

static int verb_bus_daemon(sd_bus *bus, int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "syscall", required_argument, NULL, 's' },
                { "workload", required_argument, NULL, 'w' },
                { "identity", required_argument, NULL, 'i' },
                { "path", required_argument, NULL, 'p' },
                { "access", required_argument, NULL, 'a' },
                { "trust", required_argument, NULL, 't' },
                {},
        };
        CliBusExplain q = { .trust = -1 };
        const char *sub;
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        printf("Usage: forgeonectl daemon status\n"
                               "       forgeonectl daemon policy\n"
                               "       forgeonectl daemon reexec\n"
                               "       forgeonectl daemon explain --syscall NAME [--workload ID | --identity NAME]\n"
                               "                                  [--path PATH] [--access MODES] [--trust N]\n\n"
                               "  status    forgeoned's version, active policy, workloads and decision counters\n"
                               "  policy    print the active policy\n"
                               "  reexec    re-execute forgeoned in place (an upgrade): every workload is kept\n"
                               "  explain   evaluate one syscall against the active policy\n");
                        return 0;
                case 's':
                        q.syscall = optarg;
                        break;
                case 'w':
                        q.workload = optarg;
                        break;
                case 'i':
                        q.identity = optarg;
                        break;
                case 'p':
                        q.path = optarg;
                        break;
                case 'a':
                        q.access = optarg;
                        break;
                case 't':
                        q.trust = atoi(optarg);
                        break;
                default:
                        return 1;
                }
        if (optind + 1 != argc) {
                log_error("daemon takes one of status, policy, reexec, explain; see 'forgeonectl daemon --help'.");
                return 1;
        }
        sub = argv[optind];
        if (streq(sub, "status"))
                return cli_bus_daemon_status(bus);
        if (streq(sub, "policy"))
                return cli_bus_daemon_policy(bus);
        if (streq(sub, "reexec"))
                return cli_bus_daemon_reexec(bus);
        if (streq(sub, "explain")) {
                if (!q.syscall) {
                        log_error("daemon explain needs --syscall NAME.");
                        return 1;
                }
                return cli_bus_daemon_explain(bus, &q);
        }
        log_error("Unknown daemon command '%s'; expected status, policy, reexec or explain.", sub);
        return 1;
}

int cli_bus_verb(sd_bus *bus, int argc, char *argv[]) {
        const char *verb = argv[0], *id = NULL, *reason = NULL;
        bool json = false;
        int r;

        if (streq(verb, "run"))
                return verb_bus_run(bus, argc, argv);
        if (streq(verb, "daemon"))
                return verb_bus_daemon(bus, argc, argv);
        if (streq(verb, "top") || streq(verb, "observe"))
                return cli_observe_verb(bus, argc, argv);
        if (streq(verb, "reload")) {
                if (argc > 2 || (argc == 2 && (streq(argv[1], "--help") || streq(argv[1], "-h")))) {
                        printf("Usage: forgeonectl reload [FILE]\n\n"
                               "Make FILE (or forgeoned's policy file, read again) the active policy. It is parsed\n"
                               "and compiled first: on any error the active policy stays and the error is shown.\n"
                               "Workloads whose kernel filter would differ are listed: restart them to apply it.\n");
                        return argc == 2 ? 0 : 1;
                }
                return cli_bus_reload(bus, argc == 2 ? argv[1] : NULL);
        }
        if (streq(verb, "ps")) {
                for (int i = 1; i < argc; i++) {
                        if (streq(argv[i], "--json"))
                                json = true;
                        else if (streq(argv[i], "--help") || streq(argv[i], "-h")) {
                                printf("Usage: forgeonectl ps [--json]\n\nList forgeoned's workloads (those that "
                                       "ended stay listed for a minute).\n");
                                return 0;
                        } else if (!streq(argv[i], "--all")) {
                                log_error("ps takes --json (and --all); see 'forgeonectl ps --help'.");
                                return 1;
                        }
                }
                return cli_bus_ps(bus, json);
        }
        if (streq(verb, "inspect")) {
                r = one_id(argc, argv, "inspect [--json] ID", &id, NULL, &json);
                return r <= 0 ? -r != 0 : cli_bus_inspect(bus, id, json);
        }
        if (streq(verb, "quarantine")) {
                r = one_id(argc, argv, "quarantine --reason TEXT ID", &id, &reason, NULL);
                if (r <= 0)
                        return r < 0;
                if (!reason || !*reason) {
                        log_error("quarantine needs --reason TEXT: it is recorded for the audit.");
                        return 1;
                }
                return cli_bus_control(bus, verb, id, reason);
        }
        {
                char usage[64];
                snprintf(usage, sizeof usage, "%s ID", verb);
                r = one_id(argc, argv, usage, &id, NULL, NULL);
                if (r <= 0)
                        return r < 0;
                return cli_bus_control(bus, verb, id, NULL);
        }
}

/* Reached only with --local: these have no embedded form. */
int verb_reload(int argc, char *argv[]) {
        log_error("forgeonectl reload changes forgeoned's policy; with --local, each run takes --policy FILE.");
        return 1;
}

int verb_daemon(int argc, char *argv[]) {
        log_error("forgeonectl daemon talks to forgeoned; it has no --local form.");
        return 1;
}
