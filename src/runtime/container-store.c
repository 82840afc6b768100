/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "forgeone/container-store.h"
#include "forgeone/fs-util.h"
#include "forgeone/time-util.h"

struct ContainerStore {
        char *root;
        int root_fd;
        int containers_fd;
        ContainerEventFn event_fn;
        void *event_userdata;
};

uint64_t container_now_usec(void) {
        return time_now_usec(CLOCK_REALTIME);
}

static int mkdir_if_missing(int dirfd, const char *name, mode_t mode) {
        if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

int container_store_open(const char *root, ContainerStore **ret) {
        ContainerStore *s;
        int r;

        if (!root)
                root = getenv("FORGEONE_STATE_DIR") ?: CONTAINER_STORE_DEFAULT_ROOT;
        if (root[0] != '/')
                return -EINVAL;

        /* Usually there already: create the path only when it is not. */
        if (access(root, F_OK) < 0) {
                r = mkdir_p(root, 0755);
                if (r < 0)
                        return r;
        }

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->root_fd = s->containers_fd = -EBADF;
        s->root = strdup(root);
        if (!s->root) {
                container_store_free(s);
                return -ENOMEM;
        }
        s->root_fd = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (s->root_fd < 0)
                goto fail;
        if (mkdir_if_missing(s->root_fd, "containers", 0755) < 0)
                goto fail;
        s->containers_fd = openat(s->root_fd, "containers", O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (s->containers_fd < 0)
                goto fail;
        *ret = s;
        return 0;
fail:
        r = negative_errno();
        container_store_free(s);
        return r;
}

ContainerStore *container_store_free(ContainerStore *s) {
        if (!s)
                return NULL;
        safe_close(s->root_fd);
        safe_close(s->containers_fd);
        free(s->root);
        free(s);
        return NULL;
}

const char *container_store_root(const ContainerStore *s) {
        return s->root;
}

void container_store_set_event_callback(ContainerStore *s, ContainerEventFn fn, void *userdata) {
        s->event_fn = fn;
        s->event_userdata = userdata;
}

static int lock_file_at_full(int dirfd, const char *name, bool block) {
        _cleanup_close_ int fd = -EBADF;

        fd = openat(dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return negative_errno();
        while (flock(fd, LOCK_EX | (block ? 0 : LOCK_NB)) < 0)
                if (errno != EINTR)
                        return negative_errno();
        return TAKE_FD(fd);
}

static int lock_file_at(int dirfd, const char *name) {
        return lock_file_at_full(dirfd, name, true);
}

int container_store_lock_global(ContainerStore *s) {
        return lock_file_at(s->root_fd, "store.lock");
}

ContainerLock *container_lock_release(ContainerLock *l) {
        if (!l)
                return NULL;
        safe_close(l->lock_fd); /* closing the last fd releases the flock */
        safe_close(l->dir_fd);
        container_record_free(l->record);
        free(l);
        return NULL;
}

static int read_all_at(int dirfd, const char *name, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t n;
        int r;

        r = read_full_file_at(dirfd, name, 16u << 20, &buf, &n);
        if (r < 0)
                return r;
        if (n == 0)
                return -ENODATA; /* being written right now */
        *ret = TAKE_PTR(buf);
        return 0;
}

static int save_record(int dir_fd, const ContainerRecord *rec) {
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = container_record_to_json(rec, true, &text);
        if (r < 0)
                return r;
        fd = openat(dir_fd, "state.json.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return negative_errno();
        r = write_all(fd, text, strlen(text));
        if (r >= 0)
                r = write_all(fd, "\n", 1);
        if (r < 0) {
                (void) unlinkat(dir_fd, "state.json.tmp", 0);
                return r;
        }
        /* No fsync: /run is volatile by design, a reader needs only the atomic rename. */
        if (renameat(dir_fd, "state.json.tmp", dir_fd, "state.json") < 0) {
                r = negative_errno();
                (void) unlinkat(dir_fd, "state.json.tmp", 0);
                return r;
        }
        return 0;
}

int container_lock_save(ContainerLock *l) {
        return save_record(l->dir_fd, l->record);
}

static int load_record_at(int dir_fd, ContainerRecord **ret) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_all_at(dir_fd, "state.json", &text);
        if (r < 0)
                return r;
        return container_record_from_json(text, ret);
}

int container_store_load(ContainerStore *s, const char *id, ContainerRecord **ret) {
        _cleanup_close_ int dfd = -EBADF;

        if (!container_id_is_valid(id))
                return -EINVAL;
        dfd = openat(s->containers_fd, id, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0)
                return negative_errno();
        return load_record_at(dfd, ret);
}

void container_record_list_free(ContainerRecord **l, size_t n) {
        for (size_t i = 0; l && i < n; i++)
                container_record_free(l[i]);
        free(l);
}

static int record_compare(const void *a, const void *b) {
        const ContainerRecord *x = *(ContainerRecord *const *) a, *y = *(ContainerRecord *const *) b;

        if (x->created_usec != y->created_usec)
                return x->created_usec < y->created_usec ? -1 : 1;
        return strcmp(x->id, y->id);
}

static int list(ContainerStore *s, bool active_only, ContainerRecord ***ret, size_t *ret_n) {
        ContainerRecord **l = NULL;
        size_t n = 0;
        DIR *d;
        struct dirent *de;
        int r;

        r = opendir_at(s->containers_fd, NULL, &d);
        if (r < 0)
                return r;
        while ((de = readdir(d))) {
                ContainerRecord *rec = NULL, **nl;

                if (!container_id_is_valid(de->d_name))
                        continue;
                if (active_only) {
                        char marker[sizeof de->d_name + 8];
                        snprintf(marker, sizeof marker, "%s/final", de->d_name);
                        if (faccessat(s->containers_fd, marker, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                                continue;
                }
                /* A directory without a readable record is being created or removed right now. */
                if (container_store_load(s, de->d_name, &rec) < 0)
                        continue;
                if (container_state_is_final(rec->state)) {
                        char marker[sizeof de->d_name + 8];
                        /* A final record without its marker (written before markers existed, or the owner
                         * died between the two writes): mark it, so later listings skip it cheaply. */
                        snprintf(marker, sizeof marker, "%s/final", de->d_name);
                        safe_close(openat(s->containers_fd, marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
                        if (active_only) {
                                container_record_free(rec);
                                continue;
                        }
                }
                nl = realloc(l, (n + 1) * sizeof *l);
                if (!nl) {
                        container_record_free(rec);
                        container_record_list_free(l, n);
                        closedir(d);
                        return -ENOMEM;
                }
                l = nl;
                l[n++] = rec;
        }
        closedir(d);
        if (n > 1)
                qsort(l, n, sizeof *l, record_compare);
        *ret = l;
        *ret_n = n;
        return 0;
}

int container_store_list(ContainerStore *s, ContainerRecord ***ret, size_t *ret_n) {
        return list(s, false, ret, ret_n);
}

int container_store_list_active(ContainerStore *s, ContainerRecord ***ret, size_t *ret_n) {
        return list(s, true, ret, ret_n);
}

int container_store_resolve(ContainerStore *s, const char *id_or_name, char **ret_id) {
        ContainerRecord **l = NULL;
        size_t n = 0, prefix_matches = 0;
        const char *found = NULL, *by_prefix = NULL;
        size_t len;
        char *id;
        int r;

        if (!id_or_name || !*id_or_name)
                return -EINVAL;
        /* A full id needs no listing: the owner locks its container this way on every transition. */
        if (container_id_is_valid(id_or_name) &&
            faccessat(s->containers_fd, id_or_name, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
                id = strdup(id_or_name);
                if (!id)
                        return -ENOMEM;
                *ret_id = id;
                return 0;
        }
        r = container_store_list(s, &l, &n);
        if (r < 0)
                return r;

        len = strlen(id_or_name);
        for (size_t i = 0; i < n && !found; i++) {
                if (streq(l[i]->id, id_or_name))
                        found = l[i]->id;
                else if (streq_ptr(l[i]->name, id_or_name) && !container_state_is_final(l[i]->state))
                        found = l[i]->id;
        }
        /* A name of exited containers only: the most recent one. */
        for (size_t i = n; i > 0 && !found; i--)
                if (streq_ptr(l[i - 1]->name, id_or_name))
                        found = l[i - 1]->id;
        if (!found && len >= 3)
                for (size_t i = 0; i < n; i++)
                        if (strncmp(l[i]->id, id_or_name, len) == 0) {
                                by_prefix = l[i]->id;
                                prefix_matches++;
                        }
        if (!found && prefix_matches == 1)
                found = by_prefix;

        if (!found) {
                container_record_list_free(l, n);
                return prefix_matches > 1 ? -ENOTUNIQ : -ENOENT;
        }
        id = strdup(found);
        container_record_list_free(l, n);
        if (!id)
                return -ENOMEM;
        *ret_id = id;
        return 0;
}

static int lock_dir_full(ContainerStore *s, const char *id, bool block, ContainerLock **ret) {
        ContainerLock *l;
        int r;

        l = calloc(1, sizeof *l);
        if (!l)
                return -ENOMEM;
        l->store = s;
        l->lock_fd = -EBADF;
        l->dir_fd = openat(s->containers_fd, id, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (l->dir_fd < 0) {
                r = negative_errno();
                goto fail;
        }
        r = lock_file_at_full(l->dir_fd, "lock", block);
        if (r < 0)
                goto fail;
        l->lock_fd = r;
        *ret = l;
        return 0;
fail:
        container_lock_release(l);
        return r;
}

static int lock_dir(ContainerStore *s, const char *id, ContainerLock **ret) {
        return lock_dir_full(s, id, true, ret);
}

static int store_lock(ContainerStore *s, const char *id_or_name, bool block, ContainerLock **ret) {
        _cleanup_(container_lock_releasep) ContainerLock *l = NULL;
        _cleanup_free_ char *id = NULL;
        int r;

        r = container_store_resolve(s, id_or_name, &id);
        if (r < 0)
                return r;
        r = lock_dir_full(s, id, block, &l);
        if (r < 0)
                return r;
        r = load_record_at(l->dir_fd, &l->record);
        if (r < 0)
                return r == -ENOENT ? -ESTALE : r; /* removed while we waited for the lock */
        *ret = TAKE_PTR(l);
        return 0;
}

int container_store_lock(ContainerStore *s, const char *id_or_name, ContainerLock **ret) {
        return store_lock(s, id_or_name, true, ret);
}

int container_store_trylock(ContainerStore *s, const char *id_or_name, ContainerLock **ret) {
        return store_lock(s, id_or_name, false, ret);
}

static int remove_tree_at(int parent_fd, const char *name) {
        DIR *d;
        struct dirent *de;
        int r;

        r = opendir_at(parent_fd, name, &d);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) < 0) {
                        if (errno == EISDIR || errno == EPERM) {
                                int k = remove_tree_at(dirfd(d), de->d_name);
                                if (k < 0 && r >= 0)
                                        r = k;
                        } else if (errno != ENOENT && r >= 0)
                                r = negative_errno();
                }
        }
        closedir(d);
        if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r >= 0)
                r = negative_errno();
        return r;
}

int container_store_remove(ContainerStore *s, const char *id) {
        if (!container_id_is_valid(id))
                return -EINVAL;
        return remove_tree_at(s->containers_fd, id);
}

static int new_id(char ret[static 13]) {
        uint8_t b[6];

        if (getrandom(b, sizeof b, 0) != (ssize_t) sizeof b)
                return negative_errno();
        for (size_t i = 0; i < sizeof b; i++)
                snprintf(ret + 2 * i, 3, "%02x", b[i]);
        return 0;
}

int container_store_create(ContainerStore *s, ContainerRecord *rec, ContainerLock **ret) {
        _cleanup_(container_lock_releasep) ContainerLock *l = NULL;
        ContainerRecord **all = NULL;
        size_t n = 0;
        char id[13];
        int r;

        if (rec->name && !container_name_is_valid(rec->name))
                return -EINVAL;

        /* Names are unique among containers that have not exited (whose owner lives); an exited
         * container keeps its record, and "inspect NAME" then means the most recent one. */
        if (rec->name) {
                r = container_store_list_active(s, &all, &n);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++)
                        if (streq_ptr(all[i]->name, rec->name) && !container_state_is_final(all[i]->state) &&
                            container_record_owner_alive(all[i])) {
                                container_record_list_free(all, n);
                                return -EEXIST;
                        }
                container_record_list_free(all, n);
        }

        for (unsigned attempt = 0;; attempt++) {
                r = new_id(id);
                if (r < 0)
                        return r;
                if (mkdirat(s->containers_fd, id, 0755) >= 0)
                        break;
                if (errno != EEXIST || attempt > 16)
                        return negative_errno();
        }

        r = lock_dir(s, id, &l);
        if (r < 0) {
                (void) container_store_remove(s, id);
                return r;
        }
        free(rec->id);
        rec->id = strdup(id);
        if (!rec->id || (!rec->name && !(rec->name = strdup(id)))) {
                (void) container_store_remove(s, id);
                return -ENOMEM;
        }
        rec->state = CONTAINER_CREATING;
        if (rec->created_usec == 0)
                rec->created_usec = container_now_usec();
        l->record = rec;
        r = container_lock_save(l);
        if (r < 0) {
                l->record = NULL;
                (void) container_store_remove(s, id);
                return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* line: taken over. */
static void append_event_line(ContainerStore *s, char *line) {
        _cleanup_free_ char *l = line;
        _cleanup_close_ int fd = -EBADF;
        size_t n;

        fd = openat(s->root_fd, "events.jsonl", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return;
        /* One write() per line: O_APPEND keeps concurrent writers' lines whole. */
        n = strlen(l);
        l[n] = '\n';
        (void) write(fd, l, n + 1);
        l[n] = 0;
}

static void append_event(ContainerStore *s, const ContainerRecord *rec, const ContainerTransition *t) {
        char *line = NULL;

        if (container_transition_to_json(rec, t, &line) >= 0)
                append_event_line(s, line);
}

int container_lock_remove(ContainerLock *l, const char *reason) {
        char *line = NULL;
        int r;

        if (!container_state_is_final(l->record->state))
                return -EBUSY;
        r = container_store_remove(l->store, l->record->id);
        if (r < 0)
                return r;
        if (container_removal_to_json(l->record, reason, container_now_usec(), &line) >= 0)
                append_event_line(l->store, line);
        return 0;
}

int container_lock_transition(ContainerLock *l, ContainerState to, const char *reason, int exit_code,
                              int exit_signal) {
        const ContainerTransition *t;
        int r;

        r = container_record_transition(l->record, to, reason, exit_code, exit_signal, container_now_usec(), &t);
        if (r < 0)
                return r;
        r = container_lock_save(l);
        if (r < 0)
                return r;
        if (container_state_is_final(to)) {
                int fd = openat(l->dir_fd, "final", O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
                safe_close(fd);
        }
        append_event(l->store, l->record, t);
        if (l->store->event_fn)
                l->store->event_fn(l->record, t, l->store->event_userdata);
        return 0;
}

int container_process_start_time(pid_t pid, uint64_t *ret) {
        char path[64], buf[1024], *p;
        _cleanup_close_ int fd = -EBADF;
        unsigned long long start;
        ssize_t k;

        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        k = read(fd, buf, sizeof buf - 1);
        if (k < 0)
                return negative_errno();
        buf[k] = 0;
        /* comm may contain spaces and parentheses: fields start after the last ')'. */
        p = strrchr(buf, ')');
        if (!p)
                return -EBADMSG;
        p++;
        /* After ')' come fields 3 (state) .. 22 (starttime): skip 19 fields. */
        for (int i = 0; i < 19; i++) {
                p = strchr(p + 1, ' ');
                if (!p)
                        return -EBADMSG;
        }
        if (sscanf(p, " %llu", &start) != 1)
                return -EBADMSG;
        *ret = start;
        return 0;
}

bool container_record_owner_alive(const ContainerRecord *r) {
        uint64_t start;

        if (r->owner_pid <= 0)
                return false;
        if (container_process_start_time(r->owner_pid, &start) < 0)
                return false;
        return start == r->owner_start;
}
