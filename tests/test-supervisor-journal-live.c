/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The supervisor's journal and a successor's recovery on the live kernel
 * (root): a workload whose supervisor "dies" at the worst moments, played
 * here by taking notifications off the listener by hand, and a second
 * supervisor built on the same listener and journal, as forgeoned builds
 * one after a crash (supervisor.h, "Restarts"):
 *  - a notification written down and not answered is decided again;
 *  - one taken off the queue but never written down is found (its caller
 *    is told apart from callers still queued) and decided;
 *  - without a cgroup to look for its caller, it fails with EINTR, never
 *    passes undecided;
 *  - the counters in the journal are those of both supervisors.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "forgeone/policy-graph.h"
#include "forgeone/policy.h"
#include "forgeone/seccomp-notify.h"
#include "forgeone/supervisor.h"
#include "forgeone/workload.h"
#include "../src/supervisor/supervisor-internal.h"
#include "test-util.h"

/* getppid reaches the supervisor (a trust requirement the kernel cannot check); openat of /etc/shadow is
 * denied there with EACCES. */
static const char policy_text[] =
        "{ \"version\": 1, \"name\": \"journal\", \"default\": { \"action\": \"deny\", \"errno\": \"EPERM\" },\n"
        "  \"resources\": { \"secret\": { \"type\": \"path\", \"paths\": [ \"/etc/shadow\" ], \"access\": [ \"read\" ] } },\n"
        "  \"rules\": [ { \"id\": \"run\", \"syscalls\": [ \"@basic-io\", \"@signal\", \"@memory\", \"@thread\", \"exit\",\n"
        "                 \"exit_group\", \"getpid\", \"gettid\", \"sched_yield\" ], \"action\": \"allow\" },\n"
        "             { \"id\": \"ppid\", \"syscalls\": [ \"getppid\" ], \"action\": \"allow\", \"min_trust\": 1 },\n"
        "             { \"id\": \"no-secret\", \"syscalls\": [ \"openat\" ], \"resources\": [ \"secret\" ],\n"
        "               \"action\": \"deny\", \"errno\": \"EACCES\" } ] }\n";

static char cgroup_dir[] = "/sys/fs/cgroup/unified/fo-journal-XXXXXX";
static bool have_cgroup;

static Policy *load(void) {
        Policy *p = NULL;
        PolicyDiagnostics diag = {};

        ck_assert_int_ge(policy_load_string(policy_text, strlen(policy_text), "journal.json", &p, &diag, NULL), 0);
        policy_diagnostics_done(&diag);
        return p;
}

/* The workload: its first call is the one the predecessor "loses"; the others come after. Exit status:
 * 0 when every answer was the policy's. */
typedef struct Plan {
        int threads;  /* also make this many calls at once from other threads, queued behind */
} Plan;

static void *queued_caller(void *arg) {
        errno = 0;
        long r = syscall(SYS_getppid);
        return (void *) (intptr_t) (r > 0 ? 0 : 1);
}

static int workload(void *arg) {
        Plan *plan = arg;
        pthread_t t[8];
        int fd, bad = 0;

        /* The first call: the predecessor decides it, as it decides a command's execve. */
        if (syscall(SYS_getppid) <= 0)
                return 9;
        errno = 0;
        fd = open("/etc/shadow", O_RDONLY | O_CLOEXEC);
        if (fd >= 0 || errno != EACCES) {
                dprintf(STDERR_FILENO, "workload: open /etc/shadow: fd %d errno %d\n", fd, errno);
                return 10;
        }
        for (int i = 0; i < plan->threads; i++)
                if (pthread_create(&t[i], NULL, queued_caller, NULL) != 0)
                        return 11;
        for (int i = 0; i < plan->threads; i++) {
                void *res;
                pthread_join(t[i], &res);
                bad += res != NULL;
        }
        return bad ? 12 : 0;
}

typedef struct Run {
        Workload *w;
        int listener; /* our copy */
        int journal;
        PolicyGraph *graph;
} Run;

static void run_start(Run *run, Plan *plan, bool cgroup) {
        ForgeError err = {};
        WorkloadConfig wc = {
                .policy = load(),
                .hosted = true, /* nobody dispatches: we play the supervisors by hand */
                .child_fn = workload,
                .child_userdata = plan,
                .journal = true,
                .survive_owner = true,
                .cgroup_parent = cgroup ? cgroup_dir : NULL,
        };
        int r = workload_start(&wc, &run->w, &err);

        if (r < 0)
                ck_abort_msg("workload_start: %s", forge_error_message(&err, r));
        run->listener = fcntl(workload_get_handover_fd(run->w, WORKLOAD_FD_LISTENER), F_DUPFD_CLOEXEC, 3);
        run->journal = workload_get_handover_fd(run->w, WORKLOAD_FD_JOURNAL);
        ck_assert_int_ge(run->listener, 0);
        ck_assert_int_ge(run->journal, 0);
        ck_assert_int_ge(policy_graph_new(load(), &run->graph), 0);
}

/* The predecessor: takes the next notification off the queue. written: also writes it down, as a live
 * supervisor does before deciding. */
static uint64_t predecessor_takes(Run *run, bool written) {
        _Alignas(8) char buf[512] = {};
        struct seccomp_notif *req = (struct seccomp_notif *) buf;
        SupervisorJournal *j = NULL;
        struct pollfd p = { .fd = run->listener, .events = POLLIN };
        struct seccomp_notif_sizes sizes;

        ck_assert_int_eq(seccomp_raw(SECCOMP_GET_NOTIF_SIZES, 0, &sizes), 0);
        ck_assert_int_eq(journal_map(run->journal, &j), 0);
        ck_assert_int_eq(poll(&p, 1, 10000), 1);
        journal_receiving(j);
        ck_assert_int_eq(ioctl(run->listener, SECCOMP_IOCTL_NOTIF_RECV, req), 0);
        if (written)
                journal_received(j, req, sizes.seccomp_notif);
        /* ... and dies: nothing is answered. */
        journal_unmap(j);
        return req->id;
}

/* The predecessor at work: takes a notification, writes it down, answers (CONTINUE) and strikes it off. */
static void predecessor_answers(Run *run) {
        _Alignas(8) char buf[512] = {}, rbuf[512] = {};
        struct seccomp_notif *req = (struct seccomp_notif *) buf;
        struct seccomp_notif_resp *resp = (struct seccomp_notif_resp *) rbuf;
        SupervisorJournal *j = NULL;
        struct pollfd p = { .fd = run->listener, .events = POLLIN };
        struct seccomp_notif_sizes sizes;

        ck_assert_int_eq(seccomp_raw(SECCOMP_GET_NOTIF_SIZES, 0, &sizes), 0);
        ck_assert_int_eq(journal_map(run->journal, &j), 0);
        ck_assert_int_eq(poll(&p, 1, 10000), 1);
        journal_receiving(j);
        ck_assert_int_eq(ioctl(run->listener, SECCOMP_IOCTL_NOTIF_RECV, req), 0);
        journal_received(j, req, sizes.seccomp_notif);
        resp->id = req->id;
        resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        ck_assert_int_eq(ioctl(run->listener, SECCOMP_IOCTL_NOTIF_SEND, resp), 0);
        journal_answered(j, req->id);
        journal_unmap(j);
}

static Supervisor *successor(Run *run, bool cgroup) {
        SupervisorConfig sc = {
                .identity = POLICY_IDENTITY_ANY,
                .root_fd = -1,
                .cgroup_fd = cgroup ? workload_get_handover_fd(run->w, WORKLOAD_FD_CGROUP) : -1,
                .wake_fd = -1,
                .journal_fd = run->journal,
                .workload = "journal-test",
        };
        Supervisor *s = NULL;

        ck_assert_int_ge(supervisor_new(fcntl(run->listener, F_DUPFD_CLOEXEC, 3), run->graph, &sc, &s), 0);
        return s;
}

/* Dispatches s until the workload ended; its exit code. */
static int finish(Run *run, Supervisor *s) {
        WorkloadResult res = {};

        for (;;) {
                struct pollfd p[2] = { { .fd = supervisor_get_fd(s), .events = POLLIN },
                                       { .fd = workload_get_pidfd(run->w), .events = POLLIN } };
                ck_assert_int_ge(poll(p, 2, 10000), 1);
                if (p[0].revents & POLLIN)
                        (void) supervisor_dispatch(s);
                if (p[1].revents) {
                        int r = workload_reap(run->w, &res);
                        ck_assert_int_ge(r, 0);
                        if (r > 0)
                                break;
                }
        }
        return res.exit_code;
}

static void run_done(Run *run, Supervisor *s) {
        supervisor_free(s);
        workload_free(run->w);
        policy_graph_unref(run->graph);
        safe_close(run->listener);
}

START_TEST(test_written_down_is_decided_again) {
        Plan plan = { .threads = 2 };
        SupervisorRecovery rec;
        SupervisorCounts c;
        Supervisor *s;
        Run run = {};
        uint64_t id;

        run_start(&run, &plan, have_cgroup);
        predecessor_answers(&run);
        id = predecessor_takes(&run, true);
        ck_assert_int_eq(seccomp_notif_id_valid_raw(run.listener, id), 0); /* still waits */
        s = successor(&run, have_cgroup);
        ck_assert_int_ge(supervisor_recover(s, &rec), 1);
        ck_assert_uint_eq(rec.replayed, 1);
        ck_assert_uint_eq(rec.found, 0);
        ck_assert_uint_eq(rec.refused, 0);
        ck_assert_int_eq(finish(&run, s), 0);
        supervisor_get_counts(s, &c);
        ck_assert_uint_eq(c.decisions[SUPERVISOR_ACTION_DENY], 1);
        ck_assert_uint_eq(c.decisions[SUPERVISOR_ACTION_CONTINUE], 2);
        run_done(&run, s);
}
END_TEST

START_TEST(test_lost_in_receive_is_found) {
        Plan plan = { .threads = 0 };
        SupervisorRecovery rec;
        SupervisorCounts c;
        Supervisor *s;
        Run run = {};

        if (!have_cgroup)
                return; /* reported by main() */
        run_start(&run, &plan, true);
        predecessor_answers(&run);
        (void) predecessor_takes(&run, false);
        s = successor(&run, true);
        ck_assert_int_ge(supervisor_recover(s, &rec), 1);
        ck_assert_uint_eq(rec.replayed, 0);
        ck_assert_uint_eq(rec.found, 1);
        ck_assert_uint_eq(rec.refused, 0);
        ck_assert_int_eq(finish(&run, s), 0);
        supervisor_get_counts(s, &c);
        ck_assert_uint_eq(c.decisions[SUPERVISOR_ACTION_DENY], 1);
        run_done(&run, s);
}
END_TEST

/* The caller lost in RECV is told apart from others that queued behind it meanwhile. */
static int workload_crowd(void *arg) {
        int *go = arg, fd;
        pthread_t t[4];
        int bad = 0;

        if (syscall(SYS_getppid) <= 0)
                return 9;
        /* Four threads trap and wait queued... */
        for (int i = 0; i < 4; i++)
                if (pthread_create(&t[i], NULL, queued_caller, NULL) != 0)
                        return 11;
        (void) go;
        /* ... then the main thread's open, which the predecessor takes (it takes the oldest; the test
         * takes four getppids first as written-down ones). */
        errno = 0;
        fd = open("/etc/shadow", O_RDONLY | O_CLOEXEC);
        if (fd >= 0 || errno != EACCES)
                return 10;
        for (int i = 0; i < 4; i++) {
                void *res;
                pthread_join(t[i], &res);
                bad += res != NULL;
        }
        return bad ? 12 : 0;
}

START_TEST(test_lost_among_queued) {
        SupervisorRecovery rec;
        SupervisorCounts c;
        Supervisor *s;
        Run run = {};
        ForgeError err = {};
        int dummy = 0;
        WorkloadConfig wc = {
                .policy = load(),
                .hosted = true,
                .child_fn = workload_crowd,
                .child_userdata = &dummy,
                .journal = true,
                .survive_owner = true,
                .cgroup_parent = cgroup_dir,
        };

        if (!have_cgroup)
                return;
        ck_assert_int_ge(workload_start(&wc, &run.w, &err), 0);
        run.listener = fcntl(workload_get_handover_fd(run.w, WORKLOAD_FD_LISTENER), F_DUPFD_CLOEXEC, 3);
        run.journal = workload_get_handover_fd(run.w, WORKLOAD_FD_JOURNAL);
        ck_assert_int_ge(policy_graph_new(load(), &run.graph), 0);
        predecessor_answers(&run);
        /* Two written down, one lost, the rest queued: whichever calls they are. */
        (void) predecessor_takes(&run, true);
        (void) predecessor_takes(&run, true);
        (void) predecessor_takes(&run, false);
        s = successor(&run, true);
        ck_assert_int_ge(supervisor_recover(s, &rec), 1);
        ck_assert_uint_eq(rec.replayed, 2);
        ck_assert_uint_eq(rec.found, 1);
        ck_assert_uint_eq(rec.refused, 0);
        ck_assert_int_eq(finish(&run, s), 0);
        supervisor_get_counts(s, &c);
        ck_assert_uint_eq(c.decisions[SUPERVISOR_ACTION_DENY] + c.decisions[SUPERVISOR_ACTION_CONTINUE], 5);
        run_done(&run, s);
}
END_TEST

START_TEST(test_lost_without_cgroup_fails_with_eintr) {
        Plan plan = { .threads = 0 };
        SupervisorRecovery rec;
        Supervisor *s;
        Run run = {};

        run_start(&run, &plan, false);
        predecessor_answers(&run);
        (void) predecessor_takes(&run, false);
        s = successor(&run, false);
        ck_assert_int_ge(supervisor_recover(s, &rec), 1);
        ck_assert_uint_eq(rec.found, 0);
        ck_assert_uint_eq(rec.refused, 1);
        /* The open failed with EINTR, not EACCES: the workload says so (10), and nothing was let through. */
        ck_assert_int_eq(finish(&run, s), 10);
        run_done(&run, s);
}
END_TEST

/* The very first notification lost: no id to answer with; its caller is killed, not left hanging. */
START_TEST(test_first_lost_is_killed) {
        Plan plan = { .threads = 0 };
        SupervisorRecovery rec;
        Supervisor *s;
        Run run = {};
        WorkloadResult res = {};

        if (!have_cgroup)
                return;
        run_start(&run, &plan, true);
        (void) predecessor_takes(&run, false);
        s = successor(&run, true);
        ck_assert_int_ge(supervisor_recover(s, &rec), 1);
        ck_assert_uint_eq(rec.killed, 1);
        for (;;) {
                struct pollfd p = { .fd = workload_get_pidfd(run.w), .events = POLLIN };
                ck_assert_int_eq(poll(&p, 1, 10000), 1);
                if (workload_reap(run.w, &res) > 0)
                        break;
        }
        ck_assert_int_eq(res.exit_signal, SIGKILL);
        run_done(&run, s);
}
END_TEST

int main(void) {
        Suite *s = suite_create("supervisor-journal-live");
        TCase *tc = tcase_create("journal");
        int status;

        if (geteuid() != 0)
                FO_TEST_SKIP("needs root (seccomp listeners, pid namespaces, cgroups)");
        if (access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) < 0)
                memcpy(cgroup_dir, "/sys/fs/cgroup/fo-journal-XXXXXX", sizeof "/sys/fs/cgroup/fo-journal-XXXXXX");
        have_cgroup = mkdtemp(cgroup_dir) != NULL;
        if (!have_cgroup)
                fprintf(stderr, "# no cgroup v2 directory to create (%m): the recovery that needs one is not run\n");

        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_written_down_is_decided_again);
        tcase_add_test(tc, test_lost_in_receive_is_found);
        tcase_add_test(tc, test_lost_among_queued);
        tcase_add_test(tc, test_lost_without_cgroup_fails_with_eintr);
        tcase_add_test(tc, test_first_lost_is_killed);
        suite_add_tcase(s, tc);
        status = fo_test_run(s);
        if (have_cgroup) {
                /* A failed test leaves its workload (it survives its owner): killed with its cgroup. */
                DIR *d = opendir(cgroup_dir);
                struct dirent *de;

                while (d && (de = readdir(d)))
                        if (de->d_type == DT_DIR && de->d_name[0] != '.') {
                                char p[512];
                                int fd;

                                snprintf(p, sizeof p, "%s/%s/cgroup.kill", cgroup_dir, de->d_name);
                                fd = open(p, O_WRONLY | O_CLOEXEC);
                                if (fd >= 0) {
                                        (void) !write(fd, "1", 1);
                                        close(fd);
                                }
                                snprintf(p, sizeof p, "%s/%s", cgroup_dir, de->d_name);
                                for (int i = 0; i < 100 && rmdir(p) < 0 && errno == EBUSY; i++)
                                        usleep(10000);
                        }
                if (d)
                        closedir(d);
                (void) rmdir(cgroup_dir);
        }
        return status;
}
