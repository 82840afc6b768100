/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "forgeone/container-queue.h"

static int read_text(const char *path, char **ret) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t n = 0;
        ssize_t k;
        int r;

        if (!f)
                return negative_errno();
        k = getdelim(&buf, &n, 0, f);
        if (k < 0) {
                r = ferror(f) ? -EIO : -ENODATA;
                fclose(f);
                free(buf);
                return r;
        }
        fclose(f);
        *ret = buf;
        return 0;
}

static int meminfo_total(uint64_t *ret) {
        _cleanup_free_ char *text = NULL;
        unsigned long long kb;
        const char *p;
        int r;

        r = read_text("/proc/meminfo", &text);
        if (r < 0)
                return r;
        p = strstr(text, "MemTotal:");
        if (!p || sscanf(p, "MemTotal: %llu kB", &kb) != 1)
                return -EBADMSG;
        *ret = (uint64_t) kb * 1024u;
        return 0;
}

static int pid_max(uint64_t *ret) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_text("/proc/sys/kernel/pid_max", &text);
        if (r < 0)
                return r;
        *ret = strtoull(text, NULL, 10);
        return *ret > 0 ? 0 : -EBADMSG;
}

static int budget_value(json_object *o, const char *key, bool size, const char *path, uint64_t *ret,
                        ForgeError *err) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v))
                return 0;
        if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) > 0) {
                *ret = (uint64_t) json_object_get_int64(v);
                return 0;
        }
        if (size && json_object_is_type(v, json_type_string) &&
            scheduler_parse_size(json_object_get_string(v), ret) >= 0 && *ret > 0)
                return 0;
        return forge_error_set_at(err, FORGE_ERROR_CONFIG_INVALID, -EINVAL, path, 0, 0,
                                  "\"%s\" must be a positive %s", key,
                                  size ? "size (\"512M\", \"8G\" or bytes)" : "integer");
}

int container_budget_load(const char *path, SchedulerBudget *ret, ForgeError *err) {
        _cleanup_free_ char *text = NULL;
        SchedulerBudget b;
        uint64_t mem, pm;
        json_object *o;
        bool explicit_path = path;
        int r;

        r = meminfo_total(&mem);
        if (r < 0)
                return r;
        r = pid_max(&pm);
        if (r < 0)
                return r;
        scheduler_budget_default(mem, pm, &b);

        if (!path)
                path = getenv("FORGEONE_BUDGET") ?: "/etc/forgeone/budget.json";
        r = read_text(path, &text);
        if (r == -ENOENT && !explicit_path && !getenv("FORGEONE_BUDGET")) {
                *ret = b;
                return 0;
        }
        if (r < 0)
                return forge_error_set(err, r, "cannot read %s: %m", path);

        o = json_tokener_parse(text);
        if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return forge_error_set_at(err, FORGE_ERROR_CONFIG_INVALID, -EINVAL, path, 0, 0,
                                          "not a JSON object");
        }
        r = budget_value(o, "memory", true, path, &b.memory_bytes, err);
        if (r >= 0)
                r = budget_value(o, "pids", false, path, &b.pids, err);
        /* Defaults not given follow the budget given (an eighth of it at most), so a budget smaller
         * than the host's never refuses a container that asked for nothing. */
        b.default_memory_bytes = MIN((uint64_t) 512 << 20, b.memory_bytes / 8);
        b.default_pids = MIN((uint64_t) 1024, b.pids / 8);
        if (r >= 0)
                r = budget_value(o, "default_memory", true, path, &b.default_memory_bytes, err);
        if (r >= 0)
                r = budget_value(o, "default_pids", false, path, &b.default_pids, err);
        json_object_put(o);
        if (r < 0)
                return r;
        *ret = b;
        return 0;
}

typedef struct QueueEntry {
        char *file;
        char *id; /* "<pid>-<start>" */
        char *name, *image;
        pid_t pid;
        uint64_t start;
        SchedulerEntry e;
} QueueEntry;

static void queue_entries_free(QueueEntry *l, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(l[i].file);
                free(l[i].id);
                free(l[i].name);
                free(l[i].image);
        }
        free(l);
}

static int queue_dir(ContainerStore *s, char **ret) {
        char *p;

        if (asprintf(&p, "%s/queue", container_store_root(s)) < 0)
                return -ENOMEM;
        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
                int r = negative_errno();
                free(p);
                return r;
        }
        *ret = p;
        return 0;
}

static int read_queue(const char *dir, QueueEntry **ret, size_t *ret_n) {
        QueueEntry *l = NULL;
        size_t n = 0;
        struct dirent *de;
        DIR *d = opendir(dir);

        if (!d)
                return negative_errno();
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *text = NULL;
                json_object *o, *v;
                QueueEntry q = {};
                uint64_t start;
                int pid;

                size_t len = strlen(de->d_name);
                if (len < 6 || !streq(de->d_name + len - 5, ".json") ||
                    sscanf(de->d_name, "%d-%" SCNu64, &pid, &q.start) != 2)
                        continue;
                if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
                        break;
                /* Entries of processes that are gone (crashed while waiting) are dropped. */
                if (container_process_start_time(pid, &start) < 0 || start != q.start) {
                        (void) unlink(path);
                        continue;
                }
                if (read_text(path, &text) < 0)
                        continue;
                o = json_tokener_parse(text);
                if (!o)
                        continue;
                q.pid = pid;
                if (json_object_object_get_ex(o, "priority", &v))
                        q.e.priority = MIN(MAX(json_object_get_int(v), 0), _SCHEDULER_PRIORITY_MAX - 1);
                if (json_object_object_get_ex(o, "name", &v) && json_object_is_type(v, json_type_string))
                        q.name = strdup(json_object_get_string(v));
                if (json_object_object_get_ex(o, "image", &v) && json_object_is_type(v, json_type_string))
                        q.image = strdup(json_object_get_string(v));
                if (json_object_object_get_ex(o, "trust", &v))
                        q.e.trust = json_object_get_int(v);
                if (json_object_object_get_ex(o, "seq", &v))
                        q.e.seq = json_object_get_uint64(v);
                if (json_object_object_get_ex(o, "memory", &v))
                        q.e.memory_bytes = json_object_get_uint64(v);
                if (json_object_object_get_ex(o, "pids", &v))
                        q.e.pids = json_object_get_uint64(v);
                json_object_put(o);
                q.file = TAKE_PTR(path);
                q.id = strndup(de->d_name, strlen(de->d_name) - 5);
                QueueEntry *nl = realloc(l, (n + 1) * sizeof *l);
                if (nl)
                        l = nl;
                if (!nl || !q.id) {
                        free(q.file);
                        free(q.id);
                        free(q.name);
                        free(q.image);
                        break;
                }
                l = nl;
                q.e.id = q.id;
                l[n++] = q;
        }
        closedir(d);
        *ret = l;
        *ret_n = n;
        return 0;
}

static int write_queue_entry(const char *path, const SchedulerEntry *e, const ContainerRecord *rec) {
        _cleanup_free_ char *tmp = NULL;
        json_object *o = json_object_new_object();
        FILE *f;

        if (!o || asprintf(&tmp, "%s.tmp", path) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        json_object_object_add(o, "priority", json_object_new_int((int) e->priority));
        json_object_object_add(o, "trust", json_object_new_int(e->trust));
        json_object_object_add(o, "seq", json_object_new_uint64(e->seq));
        json_object_object_add(o, "memory", json_object_new_uint64(e->memory_bytes));
        json_object_object_add(o, "pids", json_object_new_uint64(e->pids));
        if (rec->name)
                json_object_object_add(o, "name", json_object_new_string(rec->name));
        if (rec->image)
                json_object_object_add(o, "image", json_object_new_string(rec->image));
        f = fopen(tmp, "we");
        if (!f) {
                json_object_put(o);
                return negative_errno();
        }
        fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        if (fclose(f) != 0 || rename(tmp, path) < 0) {
                int r = negative_errno();
                (void) unlink(tmp);
                return r;
        }
        return 0;
}

static int running_entries(ContainerStore *s, SchedulerEntry **ret, size_t *ret_n, ContainerRecord ***ret_records,
                           size_t *ret_nrec) {
        ContainerRecord **all = NULL;
        SchedulerEntry *l;
        size_t n = 0, k = 0;
        int r;

        r = container_store_list_active(s, &all, &n);
        if (r < 0)
                return r;
        l = calloc(n + 1, sizeof *l);
        if (!l) {
                container_record_list_free(all, n);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                if (container_state_is_final(all[i]->state) || !container_record_owner_alive(all[i]))
                        continue;
                l[k++] = (SchedulerEntry) {
                        .id = all[i]->id,
                        .priority = all[i]->priority,
                        .trust = all[i]->trust,
                        .seq = all[i]->seq,
                        .memory_bytes = all[i]->memory_bytes,
                        .pids = all[i]->pids,
                };
        }
        *ret = l;
        *ret_n = k;
        *ret_records = all;
        *ret_nrec = n;
        return 0;
}

static void describe(const SchedulerBudget *b, const SchedulerEntry *running, size_t n_running,
                     const SchedulerEntry *self, unsigned shortage, char **ret) {
        uint64_t mem = 0, pids = 0;

        for (size_t i = 0; i < n_running; i++) {
                mem += running[i].memory_bytes;
                pids += running[i].pids;
        }
        if (shortage == 0) {
                (void) asprintf(ret, "containers of higher priority or trust are waiting before it");
                return;
        }
        (void) asprintf(ret,
                        "%s%s%s: it asks for %" PRIu64 " MiB and %" PRIu64 " pids; %zu running container(s) hold "
                        "%" PRIu64 " MiB and %" PRIu64 " pids of a budget of %" PRIu64 " MiB and %" PRIu64 " pids",
                        shortage & SCHEDULER_SHORT_MEMORY ? "memory" : "",
                        shortage == (SCHEDULER_SHORT_MEMORY | SCHEDULER_SHORT_PIDS) ? " and " : "",
                        shortage & SCHEDULER_SHORT_PIDS ? "pids" : "", self->memory_bytes >> 20, self->pids,
                        n_running, mem >> 20, pids, b->memory_bytes >> 20, b->pids);
}

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int container_queue_admit(ContainerStore *s, const SchedulerBudget *b, ContainerRecord *rec, bool no_wait,
                          ContainerQueueWaitFn on_wait, void *userdata, ContainerLock **ret,
                          ForgeError *err) {
        _cleanup_free_ char *qdir = NULL, *qpath = NULL;
        struct timespec ts;
        SchedulerEntry self;
        uint64_t start;
        bool waiting = false, queued = false;
        int r;

        r = queue_dir(s, &qdir);
        if (r < 0)
                return r;
        r = container_process_start_time(getpid(), &start);
        if (r < 0)
                return r;
        if (asprintf(&qpath, "%s/%d-%" PRIu64 ".json", qdir, (int) getpid(), start) < 0)
                return -ENOMEM;

        clock_gettime(CLOCK_REALTIME, &ts);
        rec->seq = (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
        self = (SchedulerEntry) {
                .priority = rec->priority,
                .trust = rec->trust,
                .seq = rec->seq,
                .memory_bytes = rec->memory_bytes,
                .pids = rec->pids,
        };

        for (;;) {
                _cleanup_close_ int glock = -EBADF;
                _cleanup_free_ SchedulerEntry *running = NULL, *waiting_l = NULL;
                _cleanup_free_ char *my_id = NULL;
                ContainerRecord **records = NULL;
                QueueEntry *q = NULL;
                size_t n_running = 0, n_records = 0, n_q = 0;
                SchedulerDecision d;
                unsigned shortage = 0;

                glock = container_store_lock_global(s);
                if (glock < 0)
                        return glock;
                r = running_entries(s, &running, &n_running, &records, &n_records);
                if (r < 0)
                        goto fail;
                r = read_queue(qdir, &q, &n_q);
                if (r < 0) {
                        container_record_list_free(records, n_records);
                        goto fail;
                }
                waiting_l = calloc(n_q + 1, sizeof *waiting_l);
                if (asprintf(&my_id, "%d-%" PRIu64, (int) getpid(), start) < 0 || !waiting_l) {
                        container_record_list_free(records, n_records);
                        queue_entries_free(q, n_q);
                        r = -ENOMEM;
                        goto fail;
                }
                for (size_t i = 0; i < n_q; i++)
                        waiting_l[i] = q[i].e;
                self.id = my_id;

                d = scheduler_decide(b, running, n_running, waiting_l, n_q, &self, &shortage);
                if (d != SCHEDULER_ADMIT && (d == SCHEDULER_REFUSE || no_wait) && err) {
                        _cleanup_free_ char *why = NULL;
                        describe(b, running, n_running, &self, shortage, &why);
                        (void) forge_error_set(err, d == SCHEDULER_REFUSE ? -E2BIG : -EXFULL, "%s: %s",
                                               d == SCHEDULER_REFUSE
                                                       ? "the request exceeds the whole host budget"
                                                       : "the request does not fit the host budget now",
                                               why ?: "");
                } else if (d == SCHEDULER_WAIT && !waiting && on_wait) {
                        _cleanup_free_ char *why = NULL;
                        describe(b, running, n_running, &self, shortage, &why);
                        on_wait(shortage, why ?: "", userdata);
                }
                container_record_list_free(records, n_records);
                queue_entries_free(q, n_q);
                self.id = NULL;

                if (d == SCHEDULER_ADMIT) {
                        r = container_store_create(s, rec, ret);
                        (void) unlink(qpath);
                        return r;
                }
                if (d == SCHEDULER_REFUSE) {
                        (void) unlink(qpath);
                        return -E2BIG;
                }
                if (no_wait) {
                        (void) unlink(qpath);
                        return -EXFULL;
                }
                /* Our entry is written only once we wait: an admission at the first try costs no queue I/O. */
                if (!queued) {
                        r = write_queue_entry(qpath, &self, rec);
                        if (r < 0)
                                return r;
                        queued = true;
                }
                waiting = true;
                glock = safe_close(glock);
                sleep_ms(200);
                continue;
        fail:
                (void) unlink(qpath);
                return r;
        }
}

static int queued_compare(const void *a, const void *b) {
        const ContainerQueued *x = a, *y = b;
        SchedulerEntry ex = { .priority = x->priority, .trust = x->trust, .seq = x->seq },
                       ey = { .priority = y->priority, .trust = y->trust, .seq = y->seq };

        return scheduler_entry_compare(&ex, &ey);
}

int container_queue_list(ContainerStore *s, ContainerQueued **ret, size_t *ret_n) {
        _cleanup_free_ char *qdir = NULL;
        QueueEntry *q = NULL;
        ContainerQueued *l;
        size_t n = 0;
        int r;

        r = queue_dir(s, &qdir);
        if (r < 0)
                return r;
        r = read_queue(qdir, &q, &n);
        if (r < 0)
                return r;
        l = calloc(n + 1, sizeof *l);
        if (!l) {
                queue_entries_free(q, n);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                l[i] = (ContainerQueued) {
                        .owner_pid = q[i].pid,
                        .name = TAKE_PTR(q[i].name),
                        .image = TAKE_PTR(q[i].image),
                        .priority = q[i].e.priority,
                        .trust = q[i].e.trust,
                        .seq = q[i].e.seq,
                        .memory_bytes = q[i].e.memory_bytes,
                        .pids = q[i].e.pids,
                };
        }
        queue_entries_free(q, n);
        if (n > 1)
                qsort(l, n, sizeof *l, queued_compare);
        *ret = l;
        *ret_n = n;
        return 0;
}

void container_queued_free(ContainerQueued *l, size_t n) {
        for (size_t i = 0; l && i < n; i++) {
                free(l[i].name);
                free(l[i].image);
        }
        free(l);
}
