/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Container lifecycle records and the state directory (in a temporary directory, no root). */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "test-util.h"

#include "forgeone/container-state.h"
#include "forgeone/container-queue.h"
#include "forgeone/container-store.h"
#include "forgeone/container.h"

START_TEST(test_state_names) {
        for (int s = 0; s < _CONTAINER_STATE_MAX; s++)
                ck_assert_int_eq(container_state_from_string(container_state_to_string(s)), s);
        ck_assert_int_eq(container_state_from_string("zombie"), -EINVAL);
        ck_assert(container_state_is_final(CONTAINER_STOPPED));
        ck_assert(container_state_is_final(CONTAINER_FAILED));
        ck_assert(!container_state_is_final(CONTAINER_QUARANTINED));
}
END_TEST

START_TEST(test_transition_table) {
        const char *why = NULL;

        ck_assert_int_eq(container_state_check_transition(CONTAINER_CREATING, CONTAINER_RUNNING, NULL), 0);
        ck_assert_int_eq(container_state_check_transition(CONTAINER_RUNNING, CONTAINER_PAUSED, NULL), 0);
        ck_assert_int_eq(container_state_check_transition(CONTAINER_PAUSED, CONTAINER_RUNNING, NULL), 0);
        ck_assert_int_eq(container_state_check_transition(CONTAINER_RUNNING, CONTAINER_QUARANTINED, NULL), 0);
        ck_assert_int_eq(container_state_check_transition(CONTAINER_QUARANTINED, CONTAINER_RUNNING, NULL), 0);
        ck_assert_int_eq(container_state_check_transition(CONTAINER_PAUSED, CONTAINER_QUARANTINED, NULL), 0);
        ck_assert_int_eq(container_state_check_transition(CONTAINER_STOPPING, CONTAINER_STOPPED, NULL), 0);
        ck_assert_int_eq(container_state_check_transition(CONTAINER_RUNNING, CONTAINER_FAILED, NULL), 0);

        ck_assert_int_eq(container_state_check_transition(CONTAINER_STOPPED, CONTAINER_RUNNING, &why), -EINVAL);
        ck_assert_str_eq(why, "the container has already exited");
        ck_assert_int_eq(container_state_check_transition(CONTAINER_FAILED, CONTAINER_STOPPING, &why), -EINVAL);
        ck_assert_int_eq(container_state_check_transition(CONTAINER_RUNNING, CONTAINER_CREATING, &why), -EINVAL);
        ck_assert_int_eq(container_state_check_transition(CONTAINER_PAUSED, CONTAINER_PAUSED, &why), -EBUSY);
        ck_assert_str_eq(why, "the container is already paused");
        ck_assert_int_eq(container_state_check_transition(CONTAINER_CREATING, CONTAINER_PAUSED, &why), -EBUSY);
        ck_assert_str_eq(why, "the container is still being created");
        ck_assert_int_eq(container_state_check_transition(CONTAINER_STOPPING, CONTAINER_RUNNING, &why), -EBUSY);
        ck_assert_int_eq(container_state_check_transition(CONTAINER_QUARANTINED, CONTAINER_PAUSED, &why), -EBUSY);
        ck_assert_ptr_nonnull(strstr(why, "release"));
        ck_assert_int_eq(container_state_check_transition(42, CONTAINER_RUNNING, &why), -EINVAL);

        /* Every pair is decided, and final states never leave. */
        for (int a = 0; a < _CONTAINER_STATE_MAX; a++)
                for (int b = 0; b < _CONTAINER_STATE_MAX; b++) {
                        int r = container_state_check_transition(a, b, &why);
                        ck_assert(r == 0 || r == -EINVAL || r == -EBUSY);
                        if (container_state_is_final(a))
                                ck_assert_int_ne(r, 0);
                }
}
END_TEST

static ContainerRecord *sample(void) {
        ContainerRecord *r = container_record_new();

        ck_assert_ptr_nonnull(r);
        r->id = strdup("0123456789ab");
        r->name = strdup("web");
        r->image = strdup("/srv/img:v1");
        r->command = calloc(3, sizeof(char *));
        r->command[0] = strdup("/bin/sh");
        r->command[1] = strdup("-c \"quoted\"");
        r->labels = calloc(2, sizeof(char *));
        r->labels[0] = strdup("team=blue");
        r->memory_bytes = 256ull << 20;
        r->pids = 128;
        r->cpu_millis = 500;
        r->cpu_weight = 75;
        r->priority = SCHEDULER_PRIORITY_HIGH;
        r->trust = 80;
        r->trust_max = 100;
        r->pid = 4242;
        r->owner_pid = 4000;
        r->owner_start = 123456;
        r->created_usec = 1700000000000000ull;
        r->cgroup = strdup("forgeone/0123456789ab");
        return r;
}

START_TEST(test_record_transitions) {
        _cleanup_(container_record_freep) ContainerRecord *r = sample();
        _cleanup_free_ char *status = NULL;
        const ContainerTransition *t;

        ck_assert_int_eq(container_record_transition(r, CONTAINER_RUNNING, NULL, 0, 0, 10, &t), 0);
        ck_assert_int_eq(t->from, CONTAINER_CREATING);
        ck_assert_int_eq(t->to, CONTAINER_RUNNING);
        ck_assert_int_eq(container_record_transition(r, CONTAINER_QUARANTINED, "trust 10 below 20", 0, 0, 20, &t), 0);
        ck_assert_str_eq(r->reason, "trust 10 below 20");
        ck_assert_int_eq(container_record_status_string(r, &status), 0);
        ck_assert_str_eq(status, "quarantined (trust 10 below 20)");
        free(status);

        /* Refused: nothing changes. */
        ck_assert_int_eq(container_record_transition(r, CONTAINER_PAUSED, NULL, 0, 0, 30, NULL), -EBUSY);
        ck_assert_int_eq(r->state, CONTAINER_QUARANTINED);
        ck_assert_uint_eq(r->n_transitions, 2);

        ck_assert_int_eq(container_record_transition(r, CONTAINER_RUNNING, "released", 0, 0, 40, NULL), 0);
        ck_assert_ptr_null(r->reason);
        ck_assert_int_eq(container_record_transition(r, CONTAINER_STOPPED, NULL, 3, 0, 50, NULL), 0);
        ck_assert_int_eq(r->exit_code, 3);
        ck_assert_int_eq(container_record_status_string(r, &status), 0);
        ck_assert_str_eq(status, "stopped (exit 3)");
        free(status);
        status = NULL;
        ck_assert_int_eq(container_record_transition(r, CONTAINER_RUNNING, NULL, 0, 0, 60, NULL), -EINVAL);
        ck_assert_uint_eq(r->n_transitions, 4);
        ck_assert_uint_eq(r->transitions[3].realtime_usec, 50);
}
END_TEST

START_TEST(test_status_strings) {
        _cleanup_(container_record_freep) ContainerRecord *r = sample();
        _cleanup_free_ char *a = NULL, *b = NULL;

        ck_assert_int_eq(container_record_transition(r, CONTAINER_RUNNING, NULL, 0, 0, 1, NULL), 0);
        ck_assert_int_eq(container_record_transition(r, CONTAINER_FAILED, "oom", -1, 9, 2, NULL), 0);
        ck_assert_int_eq(container_record_status_string(r, &a), 0);
        ck_assert_str_eq(a, "failed (oom)");
        container_record_free(r);
        r = sample();
        ck_assert_int_eq(container_record_transition(r, CONTAINER_RUNNING, NULL, 0, 0, 1, NULL), 0);
        ck_assert_int_eq(container_record_transition(r, CONTAINER_STOPPED, NULL, -1, 15, 2, NULL), 0);
        ck_assert_int_eq(container_record_status_string(r, &b), 0);
        ck_assert_str_eq(b, "stopped (signal TERM)");
}
END_TEST

START_TEST(test_json_roundtrip) {
        _cleanup_(container_record_freep) ContainerRecord *r = sample(), *back = NULL;
        _cleanup_free_ char *text = NULL, *text2 = NULL, *line = NULL;

        ck_assert_int_eq(container_record_transition(r, CONTAINER_RUNNING, NULL, 0, 0, 1700000000123456ull, NULL), 0);
        ck_assert_int_eq(container_record_transition(r, CONTAINER_PAUSED, "pause requested", 0, 0, 1700000001000000ull, NULL), 0);
        ck_assert_int_eq(container_record_to_json(r, true, &text), 0);
        ck_assert_ptr_nonnull(strstr(text, "\"state\": \"paused\""));
        ck_assert_ptr_nonnull(strstr(text, "2023-11-14T22:13:20.123456Z"));
        ck_assert_int_eq(container_record_from_json(text, &back), 0);
        ck_assert_str_eq(back->id, r->id);
        ck_assert_str_eq(back->name, "web");
        ck_assert_int_eq(back->state, CONTAINER_PAUSED);
        ck_assert_str_eq(back->command[1], "-c \"quoted\"");
        ck_assert_str_eq(back->labels[0], "team=blue");
        ck_assert_uint_eq(back->memory_bytes, 256ull << 20);
        ck_assert_int_eq(back->priority, SCHEDULER_PRIORITY_HIGH);
        ck_assert_uint_eq(back->n_transitions, 2);
        ck_assert_str_eq(back->transitions[1].reason, "pause requested");
        ck_assert_int_eq(back->exit_code, -1);
        ck_assert_ptr_null(back->hostname);
        /* Serialising again gives the same text. */
        ck_assert_int_eq(container_record_to_json(back, true, &text2), 0);
        ck_assert_str_eq(text, text2);

        ck_assert_int_eq(container_transition_to_json(r, &r->transitions[1], &line), 0);
        ck_assert_ptr_null(strchr(line, '\n'));
        ck_assert_ptr_nonnull(strstr(line, "\"id\":\"0123456789ab\""));
        ck_assert_ptr_nonnull(strstr(line, "\"to\":\"paused\""));
}
END_TEST

START_TEST(test_json_invalid) {
        ContainerRecord *r = NULL;

        ck_assert_int_eq(container_record_from_json("not json", &r), -EBADMSG);
        ck_assert_int_eq(container_record_from_json("[]", &r), -EBADMSG);
        ck_assert_int_eq(container_record_from_json("{\"id\":\"0123456789ab\",\"state\":\"zombie\"}", &r), -EBADMSG);
        ck_assert_int_eq(container_record_from_json("{\"id\":\"../../etc\",\"state\":\"running\"}", &r), -EBADMSG);
        ck_assert_int_eq(container_record_from_json("{\"id\":\"0123456789ab\",\"state\":\"running\",\"pid\":\"x\"}", &r), -EBADMSG);
        ck_assert_ptr_null(r);
        ck_assert_int_eq(container_record_from_json("{\"id\":\"0123456789ab\",\"state\":\"running\",\"future\":1}", &r), 0);
        container_record_free(r);
}
END_TEST

START_TEST(test_names_ids) {
        ck_assert(container_name_is_valid("web-1.prod_x"));
        ck_assert(!container_name_is_valid(""));
        ck_assert(!container_name_is_valid("-x"));
        ck_assert(!container_name_is_valid("a/b"));
        ck_assert(!container_name_is_valid("a b"));
        ck_assert(container_id_is_valid("0123456789ab"));
        ck_assert(!container_id_is_valid("0123456789AB"));
        ck_assert(!container_id_is_valid("0123456789a"));
}
END_TEST

START_TEST(test_run_helpers) {
        ContainerResult r = { .state = CONTAINER_STOPPED, .exit_code = 7 };
        ForgeError err = {};

        ck_assert_int_eq(container_network_from_string("none"), CONTAINER_NETWORK_NONE);
        ck_assert_int_eq(container_network_from_string("host"), CONTAINER_NETWORK_HOST);
        ck_assert_int_eq(container_network_from_string("bridge"), -EINVAL);
        ck_assert_str_eq(container_network_to_string(CONTAINER_NETWORK_HOST), "host");

        /* Exit status for the CLI: the workload's, 128 + signal, 1 for Failed without a signal. */
        ck_assert_int_eq(container_result_exit_status(&r), 7);
        r = (ContainerResult) { .state = CONTAINER_STOPPED, .exit_code = -1, .exit_signal = 15 };
        ck_assert_int_eq(container_result_exit_status(&r), 143);
        r = (ContainerResult) { .state = CONTAINER_FAILED, .exit_code = -1, .exit_signal = 9 };
        ck_assert_int_eq(container_result_exit_status(&r), 137);
        r = (ContainerResult) { .state = CONTAINER_FAILED, .exit_code = 0 };
        ck_assert_int_eq(container_result_exit_status(&r), 1);

        for (int i = 0; i < _CONTAINER_STEP_MAX; i++)
                ck_assert_ptr_nonnull(container_step_to_string(i));
        ck_assert_ptr_null(container_step_to_string(_CONTAINER_STEP_MAX));

        /* The first message wins: the innermost cause is kept as it travels up. */
        ck_assert_int_eq(forge_error_set(&err, -ENOENT, "inner %d", 1), -ENOENT);
        ck_assert_int_eq(forge_error_set(&err, -EIO, "outer"), -EIO);
        ck_assert_str_eq(err.message, "inner 1");
        ck_assert_int_eq(forge_error_set(NULL, -EPERM, "nowhere"), -EPERM);
}
END_TEST

static char tmpdir[] = "/tmp/test-container-state-XXXXXX";

static void store_setup(void) {
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void store_teardown(void) {
        char cmd[256];

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        ck_assert_int_eq(system(cmd), 0);
}

static int n_events;
static ContainerState last_event;

static void on_event(const ContainerRecord *r, const ContainerTransition *t, void *userdata) {
        n_events++;
        last_event = t->to;
        ck_assert_ptr_eq(userdata, &n_events);
}

static ContainerRecord *own_record(const char *name) {
        ContainerRecord *r = container_record_new();

        ck_assert_ptr_nonnull(r);
        r->name = name ? strdup(name) : NULL;
        r->owner_pid = getpid();
        ck_assert_int_eq(container_process_start_time(getpid(), &r->owner_start), 0);
        return r;
}

START_TEST(test_store_lifecycle) {
        _cleanup_(container_store_freep) ContainerStore *s = NULL;
        _cleanup_(container_lock_releasep) ContainerLock *l = NULL, *l2 = NULL;
        _cleanup_free_ char *id = NULL, *resolved = NULL, *events = NULL;
        ContainerRecord **all = NULL, *rec = NULL;
        size_t n = 0;
        char path[512];
        FILE *f;

        ck_assert_int_eq(container_store_open(tmpdir, &s), 0);
        container_store_set_event_callback(s, on_event, &n_events);
        ck_assert_int_eq(container_store_create(s, own_record("web"), &l), 0);
        ck_assert(container_id_is_valid(l->record->id));
        ck_assert_int_eq(l->record->state, CONTAINER_CREATING);
        id = strdup(l->record->id);

        ck_assert_int_eq(container_lock_transition(l, CONTAINER_RUNNING, NULL, 0, 0), 0);
        ck_assert_int_eq(container_lock_transition(l, CONTAINER_PAUSED, "pause requested", 0, 0), 0);
        ck_assert_int_eq(container_lock_transition(l, CONTAINER_PAUSED, NULL, 0, 0), -EBUSY);
        ck_assert_int_eq(n_events, 2);
        ck_assert_int_eq(last_event, CONTAINER_PAUSED);
        l = container_lock_release(l);

        /* Another reader sees the saved state without the lock; names and prefixes resolve. */
        ck_assert_int_eq(container_store_load(s, id, &rec), 0);
        ck_assert_int_eq(rec->state, CONTAINER_PAUSED);
        container_record_free(rec);
        ck_assert_int_eq(container_store_resolve(s, "web", &resolved), 0);
        ck_assert_str_eq(resolved, id);
        free(resolved);
        resolved = NULL;
        char prefix[5] = { id[0], id[1], id[2], id[3], 0 };
        ck_assert_int_eq(container_store_resolve(s, prefix, &resolved), 0);
        ck_assert_str_eq(resolved, id);
        ck_assert_int_eq(container_store_resolve(s, "nope", &resolved), -ENOENT);

        /* Names are unique while the container lives. */
        ck_assert_int_eq(container_store_create(s, own_record("web"), &l2), -EEXIST);
        ck_assert_int_eq(container_store_create(s, own_record("bad/name"), &l2), -EINVAL);

        /* The events file has one line per transition. */
        snprintf(path, sizeof path, "%s/events.jsonl", tmpdir);
        f = fopen(path, "re");
        ck_assert_ptr_nonnull(f);
        char line[1024];
        int lines = 0;
        while (fgets(line, sizeof line, f)) {
                lines++;
                ck_assert_ptr_nonnull(strstr(line, id));
        }
        fclose(f);
        ck_assert_int_eq(lines, 2);

        /* After it exits, the name can be reused; the exited record stays, marked final, and the name
         * means the live one. */
        ck_assert_int_eq(container_store_lock(s, "web", &l), 0);
        ck_assert_int_eq(container_lock_transition(l, CONTAINER_STOPPING, NULL, 0, 0), 0);
        ck_assert_int_eq(container_lock_transition(l, CONTAINER_STOPPED, NULL, 0, 15), 0);
        l = container_lock_release(l);
        snprintf(path, sizeof path, "%s/containers/%s/final", tmpdir, id);
        ck_assert_int_eq(access(path, F_OK), 0);
        ck_assert_int_eq(container_store_create(s, own_record("web"), &l2), 0);
        ck_assert_str_ne(l2->record->id, id);
        ck_assert_int_eq(container_store_list(s, &all, &n), 0);
        ck_assert_uint_eq(n, 2);
        container_record_list_free(all, n);
        ck_assert_int_eq(container_store_list_active(s, &all, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(all[0]->id, l2->record->id);
        container_record_list_free(all, n);
        free(resolved);
        resolved = NULL;
        ck_assert_int_eq(container_store_resolve(s, "web", &resolved), 0);
        ck_assert_str_eq(resolved, l2->record->id);

        /* A second, unnamed container gets its id as name. */
        ck_assert_int_eq(container_store_create(s, own_record(NULL), &l), 0);
        ck_assert_str_eq(l->record->name, l->record->id);
        ck_assert_int_eq(container_store_list(s, &all, &n), 0);
        ck_assert_uint_eq(n, 3);
        container_record_list_free(all, n);
        ck_assert_int_eq(container_store_remove(s, l->record->id), 0);
        ck_assert_int_eq(container_store_list(s, &all, &n), 0);
        ck_assert_uint_eq(n, 2);
        container_record_list_free(all, n);
}
END_TEST

START_TEST(test_store_owner_liveness) {
        _cleanup_(container_store_freep) ContainerStore *s = NULL;
        _cleanup_(container_lock_releasep) ContainerLock *l = NULL, *l2 = NULL;
        pid_t pid;

        ck_assert_int_eq(container_store_open(tmpdir, &s), 0);
        ck_assert_int_eq(container_store_create(s, own_record("job"), &l), 0);
        ck_assert(container_record_owner_alive(l->record));

        /* An owner that has exited: its name is free again even though the record says Creating. */
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(0);
        ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
        l->record->owner_pid = pid;
        ck_assert(!container_record_owner_alive(l->record));
        ck_assert_int_eq(container_lock_save(l), 0);
        l = container_lock_release(l);
        ck_assert_int_eq(container_store_create(s, own_record("job"), &l2), 0);
}
END_TEST

START_TEST(test_store_lock_excludes) {
        _cleanup_(container_store_freep) ContainerStore *s = NULL;
        _cleanup_(container_lock_releasep) ContainerLock *l = NULL;
        int p[2], status;
        pid_t pid;
        char c;

        ck_assert_int_eq(container_store_open(tmpdir, &s), 0);
        ck_assert_int_eq(container_store_create(s, own_record("locked"), &l), 0);
        ck_assert_int_eq(pipe(p), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                ContainerLock *cl = NULL;
                close(p[0]);
                close(l->lock_fd); /* our inherited copy of the parent's lock */
                if (container_store_trylock(s, "locked", &cl) != -EWOULDBLOCK)
                        _exit(4);
                /* Blocks until the parent releases, then sees the parent's transition. */
                if (container_store_lock(s, "locked", &cl) < 0)
                        _exit(2);
                (void) write(p[1], "x", 1);
                _exit(cl->record->state == CONTAINER_RUNNING ? 0 : 3);
        }
        close(p[1]);
        usleep(100 * 1000);
        ck_assert_int_eq(container_lock_transition(l, CONTAINER_RUNNING, NULL, 0, 0), 0);
        /* The child cannot have the lock yet. */
        ck_assert_int_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
        ck_assert_int_eq(read(p[0], &c, 1), -1);
        l = container_lock_release(l);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 0);
        close(p[0]);
}
END_TEST

static ContainerRecord *request(const char *name, uint64_t memory, SchedulerPriority prio) {
        ContainerRecord *r = own_record(name);

        r->memory_bytes = memory;
        r->pids = 10;
        r->priority = prio;
        r->trust = 50;
        r->image = strdup("img:latest");
        return r;
}

START_TEST(test_queue_admission) {
        _cleanup_(container_store_freep) ContainerStore *s = NULL;
        _cleanup_(container_lock_releasep) ContainerLock *a = NULL, *b = NULL;
        ForgeError e1 = {}, e2 = {};
        SchedulerBudget budget = { .memory_bytes = 100, .pids = 100 };
        ContainerRecord *rec;
        ContainerQueued *q = NULL;
        size_t nq = 0;
        int status;
        pid_t pid;

        ck_assert_int_eq(container_store_open(tmpdir, &s), 0);
        ck_assert_int_eq(container_queue_admit(s, &budget, request("a", 60, SCHEDULER_PRIORITY_NORMAL), true, NULL,
                                               NULL, &a, NULL), 0);
        ck_assert_int_eq(a->record->state, CONTAINER_CREATING);
        ck_assert_uint_gt(a->record->seq, 0);
        a = container_lock_release(a);

        /* Does not fit now: refused at once with --no-wait, with the numbers. */
        rec = request("b", 60, SCHEDULER_PRIORITY_NORMAL);
        ck_assert_int_eq(container_queue_admit(s, &budget, rec, true, NULL, NULL, &b, &e1), -EXFULL);
        container_record_free(rec);
        ck_assert_ptr_nonnull(strstr(e1.message, "does not fit the host budget now"));
        ck_assert_ptr_nonnull(strstr(e1.message, "memory"));
        ck_assert_str_eq(forge_error_bus_name(&e1, -EXFULL), "org.forgeone.Error.Busy");
        /* Can never fit. */
        rec = request("c", 200, SCHEDULER_PRIORITY_CRITICAL);
        ck_assert_int_eq(container_queue_admit(s, &budget, rec, false, NULL, NULL, &b, &e2), -E2BIG);
        container_record_free(rec);
        ck_assert_ptr_nonnull(strstr(e2.message, "exceeds the whole host budget"));

        /* A waiter queues (visible to ps) until "a" exits. */
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                ContainerLock *l = NULL;
                ContainerRecord *w = request("waiter", 60, SCHEDULER_PRIORITY_HIGH);
                w->owner_pid = getpid();
                if (container_process_start_time(getpid(), &w->owner_start) < 0)
                        _exit(3);
                _exit(container_queue_admit(s, &budget, w, false, NULL, NULL, &l, NULL) == 0 ? 0 : 1);
        }
        for (int i = 0; i < 300 && nq == 0; i++) {
                container_queued_free(q, nq);
                q = NULL;
                nq = 0;
                ck_assert_int_eq(container_queue_list(s, &q, &nq), 0);
                if (nq == 0)
                        usleep(10000);
        }
        ck_assert_uint_eq(nq, 1);
        ck_assert_str_eq(q[0].name, "waiter");
        ck_assert_int_eq(q[0].owner_pid, pid);
        ck_assert_int_eq(q[0].priority, SCHEDULER_PRIORITY_HIGH);
        container_queued_free(q, nq);
        ck_assert_int_eq(waitpid(pid, &status, WNOHANG), 0);

        ck_assert_int_eq(container_store_lock(s, "a", &a), 0);
        ck_assert_int_eq(container_lock_transition(a, CONTAINER_FAILED, "test", -1, 0), 0);
        a = container_lock_release(a);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        ck_assert_int_eq(container_queue_list(s, &q, &nq), 0);
        ck_assert_uint_eq(nq, 0);
        container_queued_free(q, nq);
}
END_TEST

static void make_path(const char *storage, const char *rel, bool dir) {
        char path[512];

        snprintf(path, sizeof path, "%s/%s%s", tmpdir, storage, rel);
        if (dir)
                ck_assert_int_eq(mkdir(path, 0755), 0);
        else {
                int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
                ck_assert_int_ge(fd, 0);
                close(fd);
        }
}

static char *last_line(const char *path) {
        char line[2048], *last = NULL;
        FILE *f = fopen(path, "re");

        ck_assert_ptr_nonnull(f);
        while (fgets(line, sizeof line, f)) {
                free(last);
                last = strdup(line);
        }
        fclose(f);
        ck_assert_ptr_nonnull(last);
        return last;
}

/* A container in state "to" owned by this process; its storage, when given, has an upper with a file
 * and a staged layer directory, as a crashed owner leaves them. */
static char *make_container(ContainerStore *s, const char *name, ContainerState to, const char *storage) {
        _cleanup_(container_lock_releasep) ContainerLock *l = NULL;
        ContainerRecord *rec = own_record(name);
        char path[512];

        if (storage) {
                snprintf(path, sizeof path, "%s/%s", tmpdir, storage);
                rec->rootfs = strdup(path);
                make_path(storage, "", true);
                make_path(storage, "/upper", true);
                make_path(storage, "/upper/written", false);
                make_path(storage, "/work", true);
                make_path(storage, "/lower", true);
                make_path(storage, "/lower/0", true);
                make_path(storage, "/lower/0/layer.json", false);
        }
        ck_assert_int_eq(container_store_create(s, rec, &l), 0);
        ck_assert_int_eq(container_lock_transition(l, CONTAINER_RUNNING, NULL, -1, 0), 0);
        if (to != CONTAINER_RUNNING)
                ck_assert_int_eq(container_lock_transition(l, to, to == CONTAINER_FAILED ? "oom" : NULL, 0, 0),
                                 0);
        return strdup(l->record->id);
}

START_TEST(test_removal_json) {
        _cleanup_(container_record_freep) ContainerRecord *r = container_record_new();
        _cleanup_free_ char *text = NULL;

        r->id = strdup("0123456789ab");
        r->name = strdup("web");
        r->state = CONTAINER_FAILED;
        ck_assert_int_eq(container_removal_to_json(r, "prune", 1700000000123456ull, &text), 0);
        ck_assert_str_eq(text, "{\"event\":\"removed\",\"state\":\"failed\",\"reason\":\"prune\","
                               "\"realtime_usec\":1700000000123456,\"time\":\"2023-11-14T22:13:20.123456Z\","
                               "\"id\":\"0123456789ab\",\"name\":\"web\"}");
}
END_TEST

START_TEST(test_store_remove_prune) {
        _cleanup_(container_store_freep) ContainerStore *s = NULL;
        _cleanup_(container_lock_releasep) ContainerLock *l = NULL;
        _cleanup_(container_record_freep) ContainerRecord *rec = NULL;
        _cleanup_free_ char *live = NULL, *done = NULL, *failed = NULL, *line = NULL;
        ContainerRecord **removed = NULL;
        ForgeError err = {};
        size_t n = 0;
        char path[512];

        ck_assert_int_eq(container_store_open(tmpdir, &s), 0);
        live = make_container(s, "live", CONTAINER_RUNNING, NULL);
        done = make_container(s, "done", CONTAINER_STOPPED, "storage-done");
        failed = make_container(s, "failed", CONTAINER_FAILED, "storage-failed");

        /* A container that has not exited is refused, and untouched. */
        ck_assert_int_eq(container_remove(s, "live", false, 0, &rec, &err), -EBUSY);
        ck_assert_ptr_nonnull(strstr(err.message, "is running: stop it first, or use 'rm --force'"));
        ck_assert_ptr_null(rec);
        snprintf(path, sizeof path, "%s/containers/%s/state.json", tmpdir, live);
        ck_assert_int_eq(access(path, F_OK), 0);
        ck_assert_int_eq(container_store_lock(s, "live", &l), 0);
        ck_assert_int_eq(container_lock_remove(l, "rm"), -EBUSY);
        l = container_lock_release(l);

        /* An exited one goes with its storage, and the removal is an event. */
        ck_assert_int_eq(container_remove(s, "done", false, 0, &rec, &err), 1);
        ck_assert_str_eq(rec->id, done);
        ck_assert_int_eq(rec->state, CONTAINER_STOPPED);
        snprintf(path, sizeof path, "%s/containers/%s", tmpdir, done);
        ck_assert_int_eq(access(path, F_OK), -1);
        snprintf(path, sizeof path, "%s/storage-done", tmpdir);
        ck_assert_int_eq(access(path, F_OK), -1);
        snprintf(path, sizeof path, "%s/events.jsonl", tmpdir);
        line = last_line(path);
        ck_assert_ptr_nonnull(strstr(line, "\"event\":\"removed\",\"state\":\"stopped\",\"reason\":\"rm\""));
        ck_assert_ptr_nonnull(strstr(line, done));

        /* Idempotent: its full id again is nothing to do; an unknown name is an error. */
        rec = container_record_free(rec);
        ck_assert_int_eq(container_remove(s, done, false, 0, &rec, NULL), 0);
        ck_assert_ptr_null(rec);
        err = (ForgeError){};
        ck_assert_int_eq(container_remove(s, "nosuch", false, 0, &rec, &err), -ENOENT);
        ck_assert_str_eq(err.message, "no container with id or name \"nosuch\"");

        /* prune takes every exited container and nothing else. */
        ck_assert_int_eq(container_prune(s, &removed, &n, NULL), 1);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(removed[0]->id, failed);
        ck_assert_str_eq(removed[0]->reason, "oom");
        container_record_list_free(removed, n);
        snprintf(path, sizeof path, "%s/storage-failed", tmpdir);
        ck_assert_int_eq(access(path, F_OK), -1);
        free(line);
        snprintf(path, sizeof path, "%s/events.jsonl", tmpdir);
        line = last_line(path);
        ck_assert_ptr_nonnull(strstr(line, "\"state\":\"failed\",\"reason\":\"prune\""));
        ck_assert_int_eq(container_prune(s, &removed, &n, NULL), 0);
        ck_assert_uint_eq(n, 0);
        container_record_list_free(removed, n);
        ck_assert_int_eq(container_store_list(s, &removed, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(removed[0]->id, live);
        container_record_list_free(removed, n);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("container-state");
        TCase *tc = tcase_create("record");
        TCase *ts = tcase_create("store");

        tcase_add_test(tc, test_state_names);
        tcase_add_test(tc, test_transition_table);
        tcase_add_test(tc, test_record_transitions);
        tcase_add_test(tc, test_status_strings);
        tcase_add_test(tc, test_json_roundtrip);
        tcase_add_test(tc, test_json_invalid);
        tcase_add_test(tc, test_names_ids);
        tcase_add_test(tc, test_run_helpers);
        tcase_add_test(tc, test_removal_json);
        suite_add_tcase(s, tc);

        tcase_add_checked_fixture(ts, store_setup, store_teardown);
        tcase_add_test(ts, test_store_lifecycle);
        tcase_add_test(ts, test_store_owner_liveness);
        tcase_add_test(ts, test_store_lock_excludes);
        tcase_add_test(ts, test_queue_admission);
        tcase_add_test(ts, test_store_remove_prune);
        suite_add_tcase(s, ts);
        return s;
}

int main(void) {
        return fo_test_run(suite());
}
