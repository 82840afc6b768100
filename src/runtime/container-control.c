/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Control requests from any process: lock the container, check the
 * transition first (so a refused request touches nothing), act on the
 * cgroup, then record. The owner only records the end (container.c).
 */
#include <dirent.h>
#include <signal.h>
#include <sys/mount.h>
#include <stdio.h>
#include <time.h>

#include "container-run.h"
#include "forgeone/cgroup.h"
#include "forgeone/container.h"
#include "forgeone/rootfs.h"
#include "forgeone/string-table.h"
#include "forgeone/time-util.h"

#define FREEZE_TIMEOUT_USEC (5u * 1000000u)

static const char *const container_network_table[_CONTAINER_NETWORK_MAX] = {
        [CONTAINER_NETWORK_NONE] = "none",
        [CONTAINER_NETWORK_HOST] = "host",
};

DEFINE_STRING_TABLE_LOOKUP(container_network, ContainerNetwork)

static int lock_error(const char *id_or_name, int r, ForgeError *err) {
        if (r == -ENOENT)
                return forge_error_set(err, r, "no container with id or name \"%s\"", id_or_name);
        if (r == -ENOTUNIQ)
                return forge_error_set(err, r, "\"%s\" is the prefix of several container ids", id_or_name);
        if (r < 0)
                return forge_error_set(err, r, "cannot lock container \"%s\": %s", id_or_name, strerror(-r));
        return r;
}

static int lock_container(ContainerStore *s, const char *id_or_name, ContainerLock **ret, ForgeError *err) {
        int r = container_store_lock(s, id_or_name, ret);

        return r < 0 ? lock_error(id_or_name, r, err) : 0;
}

static int check(ContainerLock *l, ContainerState to, ForgeError *err) {
        const char *why = NULL;
        int r;

        r = container_state_check_transition(l->record->state, to, &why);
        if (r < 0)
                return forge_error_set(err, r, "container %s (%s) is %s: cannot make it %s: %s",
                                       l->record->id, strempty(l->record->name),
                                       container_state_to_string(l->record->state),
                                       container_state_to_string(to), why);
        if (!container_record_owner_alive(l->record))
                return forge_error_set(err, -ESRCH,
                                       "container %s: its owner (forgeonectl pid %d) has exited; "
                                       "run 'forgeonectl ps' to clean it up",
                                       l->record->id, (int) l->record->owner_pid);
        return 0;
}

static int record_cgroup(const ContainerRecord *rec, Cgroup **ret, ForgeError *err) {
        CgroupLayout layout = cgroup_layout_from_string(rec->cgroup_layout);
        int r;

        if (layout < 0)
                return forge_error_set(err, -EBADMSG, "container %s: its record names no cgroup layout",
                                       rec->id);
        r = cgroup_new(rec->cgroup_root, layout, rec->id, ret);
        if (r < 0)
                return forge_error_set(err, r, "container %s: cgroup: %s", rec->id, strerror(-r));
        return 0;
}

static int freeze_with_timeout(ContainerLock *l, bool frozen, uint64_t timeout_usec, ForgeError *err) {
        _cleanup_(cgroup_freep) Cgroup *c = NULL;
        int r;

        r = record_cgroup(l->record, &c, err);
        if (r < 0)
                return r;
        r = cgroup_set_frozen(c, frozen, timeout_usec);
        if (r == -ETIMEDOUT && timeout_usec == 0)
                return 0; /* requested; the caller checks */
        if (r < 0) {
                if (frozen)
                        (void) cgroup_set_frozen(c, false, FREEZE_TIMEOUT_USEC);
                return forge_error_set(err, r, "cannot %s cgroup %s/%s: %s", frozen ? "freeze" : "thaw",
                                       cgroup_get_root(c), cgroup_get_relative(c), strerror(-r));
        }
        return 0;
}

static int record(ContainerLock *l, ContainerState to, const char *reason, ForgeError *err) {
        int r = container_lock_transition(l, to, reason, -1, 0);

        if (r < 0)
                return forge_error_set(err, r, "container %s: cannot record state %s: %s", l->record->id,
                                       container_state_to_string(to), strerror(-r));
        return 0;
}

/* What pause, resume, quarantine and release share once their own preconditions hold: check the
 * transition, freeze or thaw (a paused container is frozen already), record. */
static int freeze_transition(ContainerLock *l, ContainerState to, bool frozen, uint64_t timeout_usec,
                             const char *reason, ForgeError *err) {
        int r;

        r = check(l, to, err);
        if (r < 0)
                return r;
        if (!(frozen && l->record->state == CONTAINER_PAUSED)) {
                r = freeze_with_timeout(l, frozen, timeout_usec, err);
                if (r < 0)
                        return r;
        }
        return record(l, to, reason, err);
}

int container_pause(ContainerStore *s, const char *id_or_name, ForgeError *err) {
        _cleanup_(container_lock_releasep) ContainerLock *l = NULL;
        int r;

        r = lock_container(s, id_or_name, &l, err);
        if (r < 0)
                return r;
        if (l->record->state == CONTAINER_QUARANTINED)
                return forge_error_set(err, -EBUSY,
                                       "container %s is quarantined (already frozen): release it instead",
                                       l->record->id);
        return freeze_transition(l, CONTAINER_PAUSED, true, FREEZE_TIMEOUT_USEC, "pause requested", err);
}

int container_resume(ContainerStore *s, const char *id_or_name, ForgeError *err) {
        _cleanup_(container_lock_releasep) ContainerLock *l = NULL;
        int r;

        r = lock_container(s, id_or_name, &l, err);
        if (r < 0)
                return r;
        /* Resume and release both lead to Running; only release may end a quarantine. */
        if (l->record->state == CONTAINER_QUARANTINED)
                return forge_error_set(err, -EBUSY,
                                       "container %s is quarantined (%s): use 'release' to end a quarantine",
                                       l->record->id, strempty(l->record->reason));
        if (l->record->state != CONTAINER_PAUSED && !container_state_is_final(l->record->state) &&
            l->record->state != CONTAINER_STOPPING && l->record->state != CONTAINER_CREATING)
                return forge_error_set(err, -EBUSY, "container %s is %s, not paused", l->record->id,
                                       container_state_to_string(l->record->state));
        return freeze_transition(l, CONTAINER_RUNNING, false, FREEZE_TIMEOUT_USEC, "resume requested", err);
}

static int quarantine(ContainerStore *s, const char *id_or_name, const char *reason, uint64_t timeout_usec,
                      ForgeError *err) {
        _cleanup_(container_lock_releasep) ContainerLock *l = NULL;
        int r;

        if (!reason || !*reason)
                return forge_error_set(err, -EINVAL, "a quarantine needs a reason");
        r = lock_container(s, id_or_name, &l, err);
        if (r < 0)
                return r;
        return freeze_transition(l, CONTAINER_QUARANTINED, true, timeout_usec, reason, err);
}

int container_quarantine(ContainerStore *s, const char *id_or_name, const char *reason, ForgeError *err) {
        return quarantine(s, id_or_name, reason, FREEZE_TIMEOUT_USEC, err);
}

int container_quarantine_request(ContainerStore *s, const char *id_or_name, const char *reason,
                                 ForgeError *err) {
        return quarantine(s, id_or_name, reason, 0, err);
}

int container_release(ContainerStore *s, const char *id_or_name, ForgeError *err) {
        _cleanup_(container_lock_releasep) ContainerLock *l = NULL;
        int r;

        r = lock_container(s, id_or_name, &l, err);
        if (r < 0)
                return r;
        if (l->record->state != CONTAINER_QUARANTINED)
                return forge_error_set(err, container_state_is_final(l->record->state) ? -EINVAL : -EBUSY,
                                       "container %s is %s, not quarantined", l->record->id,
                                       container_state_to_string(l->record->state));
        return freeze_transition(l, CONTAINER_RUNNING, false, FREEZE_TIMEOUT_USEC, "released", err);
}

int container_stop(ContainerStore *s, const char *id_or_name, uint64_t timeout_usec, ForgeError *err) {
        _cleanup_(container_lock_releasep) ContainerLock *l = NULL;
        _cleanup_(cgroup_freep) Cgroup *c = NULL;
        _cleanup_free_ char *id = NULL;
        uint64_t deadline;
        bool quarantined;
        int r;

        r = lock_container(s, id_or_name, &l, err);
        if (r < 0)
                return r;
        r = check(l, CONTAINER_STOPPING, err);
        if (r < 0)
                return r;
        r = record_cgroup(l->record, &c, err);
        if (r < 0)
                return r;
        quarantined = l->record->state == CONTAINER_QUARANTINED;
        r = record(l, CONTAINER_STOPPING, quarantined ? "stop requested (quarantined: killed)" : "stop requested",
                   err);
        if (r < 0)
                return r;
        id = strdup(l->record->id);
        if (!id)
                return -ENOMEM;

        /* Signal first, then thaw: a frozen task receives the signal as soon as it runs again. A quarantined
         * workload gets no grace period: with SIGKILL pending it dies before running another instruction,
         * where SIGTERM would let it run (and its handlers, or a shell's next command) after the thaw. */
        (void) cgroup_signal_all(c, quarantined ? SIGKILL : SIGTERM);
        (void) cgroup_set_frozen(c, false, FREEZE_TIMEOUT_USEC);
        /* The owner needs the lock to record Stopped. */
        l = container_lock_release(l);

        deadline = time_now_usec(CLOCK_MONOTONIC) + timeout_usec;
        for (;;) {
                r = cgroup_is_empty(c);
                if (r != 0)
                        break;
                if (time_now_usec(CLOCK_MONOTONIC) >= deadline) {
                        r = cgroup_kill_all(c, 5u * 1000000u);
                        /* Gone meanwhile: the last process exited and the owner removed the cgroup. */
                        if (r < 0 && r != -ENOENT && r != -ENODEV)
                                return forge_error_set(
                                        err, r, "container %s: processes left after SIGKILL in %s/%s: %s",
                                        id, cgroup_get_root(c), cgroup_get_relative(c), strerror(-r));
                        break;
                }
                time_sleep_usec(20000);
        }
        return 0;
}

/*
 * Removes a dead owner's storage: the rootfs parts (rootfs.h) and our id-mapped layer mount points.
 * Never recursive: a mount point still attached somewhere must not lead a delete into the shared
 * layer cache, so each known entry is unmounted (detached) and then rmdir()ed or unlink()ed.
 */
int container_storage_remove(const char *storage, ForgeError *err) {
        _cleanup_free_ char *lower = NULL;
        DIR *d;
        int r;

        r = rootfs_teardown(storage, err);
        if (r < 0)
                return forge_error_prefix(err, r, "cannot remove the root filesystem in %s: ", storage);
        if (asprintf(&lower, "%s/lower", storage) < 0)
                return -ENOMEM;
        d = opendir(lower);
        if (d) {
                struct dirent *de;
                while ((de = readdir(d))) {
                        _cleanup_free_ char *root = NULL, *meta = NULL, *dir = NULL;
                        if (de->d_name[0] == '.')
                                continue;
                        if (asprintf(&dir, "%s/%s", lower, de->d_name) < 0 ||
                            asprintf(&root, "%s/rootfs", dir) < 0 || asprintf(&meta, "%s/layer.json", dir) < 0)
                                break;
                        (void) umount2(root, MNT_DETACH | UMOUNT_NOFOLLOW);
                        (void) rmdir(root);
                        (void) unlink(meta);
                        (void) rmdir(dir);
                }
                closedir(d);
        }
        (void) rmdir(lower);
        if (rmdir(storage) < 0 && errno != ENOENT)
                return forge_error_set(err, negative_errno(), "cannot remove the storage directory %s: %m",
                                       storage);
        return 0;
}

int container_reap_orphans(ContainerStore *s) {
        ContainerRecord **all = NULL;
        size_t n = 0;
        int r, count = 0;

        r = container_store_list_active(s, &all, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_(container_lock_releasep) ContainerLock *l = NULL;
                _cleanup_(cgroup_freep) Cgroup *c = NULL;

                if (container_state_is_final(all[i]->state) || container_record_owner_alive(all[i]))
                        continue;
                if (container_store_lock(s, all[i]->id, &l) < 0)
                        continue;
                /* Re-check under the lock: the owner may have finished meanwhile. */
                if (container_state_is_final(l->record->state) || container_record_owner_alive(l->record))
                        continue;
                if (record_cgroup(l->record, &c, NULL) >= 0) {
                        (void) cgroup_kill_all(c, 5u * 1000000u);
                        (void) cgroup_remove(c);
                }
                if (l->record->rootfs)
                        (void) container_storage_remove(l->record->rootfs, NULL);
                if (container_lock_transition(l, CONTAINER_FAILED, "owner exited", -1, 0) >= 0)
                        count++;
        }
        container_record_list_free(all, n);
        return count;
}

/* What an ended container may have left behind when its owner died or failed half-way: processes and
 * directories in its cgroup, its storage. The record stays until these are gone, so a retry finds them. */
static int remove_leftovers(const ContainerRecord *rec, ForgeError *err) {
        int r;

        if (rec->cgroup_layout && rec->cgroup) {
                _cleanup_(cgroup_freep) Cgroup *c = NULL;

                r = record_cgroup(rec, &c, err);
                if (r < 0)
                        return r;
                if (cgroup_is_empty(c) == 0) {
                        r = cgroup_kill_all(c, 5u * 1000000u);
                        if (r < 0)
                                return forge_error_set(err, r,
                                                       "container %s: cannot kill the processes left in "
                                                       "%s/%s: %s",
                                                       rec->id, cgroup_get_root(c), cgroup_get_relative(c),
                                                       strerror(-r));
                }
                r = cgroup_remove(c);
                if (r < 0)
                        return forge_error_set(err, r, "container %s: cannot remove cgroup %s/%s: %s",
                                               rec->id, cgroup_get_root(c), cgroup_get_relative(c),
                                               strerror(-r));
        }
        if (rec->rootfs) {
                r = container_storage_remove(rec->rootfs, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int remove_locked(ContainerLock *l, const char *reason, ContainerRecord **ret_removed,
                         ForgeError *err) {
        int r;

        r = remove_leftovers(l->record, err);
        if (r < 0)
                return r;
        r = container_lock_remove(l, reason);
        if (r < 0)
                return forge_error_set(
                        err, r, "container %s: cannot remove its record in %s/containers/%s: %s",
                        l->record->id, container_store_root(l->store), l->record->id, strerror(-r));
        if (ret_removed)
                *ret_removed = TAKE_PTR(l->record);
        return 0;
}

/* Waits until the owner has recorded the end of a container being stopped; an owner that dies meanwhile
 * is reaped (Failed "owner exited"). */
static int wait_final(ContainerStore *s, const char *id, uint64_t timeout_usec, ForgeError *err) {
        uint64_t deadline = time_now_usec(CLOCK_MONOTONIC) + timeout_usec;

        for (;;) {
                _cleanup_(container_record_freep) ContainerRecord *rec = NULL;
                int r = container_store_load(s, id, &rec);

                if (r == -ENOENT)
                        return 0; /* removed by someone else meanwhile */
                if (r < 0)
                        return forge_error_set(err, r, "container %s: cannot read its record: %s", id,
                                               strerror(-r));
                if (container_state_is_final(rec->state))
                        return 0;
                if (!container_record_owner_alive(rec))
                        (void) container_reap_orphans(s);
                else if (time_now_usec(CLOCK_MONOTONIC) >= deadline)
                        return forge_error_set(err, -ETIMEDOUT,
                                               "container %s is still %s: its owner (forgeonectl pid "
                                               "%d) has not recorded its end",
                                               id, container_state_to_string(rec->state),
                                               (int) rec->owner_pid);
                time_sleep_usec(20000);
        }
}

static void kill_leftovers(ContainerStore *s, const char *id) {
        _cleanup_(container_record_freep) ContainerRecord *rec = NULL;
        _cleanup_(cgroup_freep) Cgroup *c = NULL;

        if (container_store_load(s, id, &rec) >= 0 && record_cgroup(rec, &c, NULL) >= 0)
                (void) cgroup_kill_all(c, 5u * 1000000u);
}

int container_remove(ContainerStore *s, const char *id_or_name, bool force, uint64_t timeout_usec,
                     ContainerRecord **ret_removed, ForgeError *err) {
        _cleanup_(container_lock_releasep) ContainerLock *l = NULL;
        _cleanup_free_ char *id = NULL;
        int r;

        r = container_store_lock(s, id_or_name, &l);
        /* Removed by a concurrent rm while we waited for the lock, or by an earlier one: nothing to do. */
        if (r == -ESTALE || (r == -ENOENT && container_id_is_valid(id_or_name)))
                return 0;
        if (r < 0)
                return lock_error(id_or_name, r, err);
        if (!container_state_is_final(l->record->state)) {
                if (!force)
                        return forge_error_set(err, -EBUSY,
                                               "container %s (%s) is %s: stop it first, or use "
                                               "'rm --force'",
                                               l->record->id, strempty(l->record->name),
                                               container_state_to_string(l->record->state));
                id = strdup(l->record->id);
                if (!id)
                        return -ENOMEM;
                /* The owner needs the lock to record the end. */
                l = container_lock_release(l);
                r = container_stop(s, id, timeout_usec, err);
                /* Already stopping (-EBUSY), ended meanwhile (-EINVAL), owner gone (-ESRCH, reaped below):
                 * what counts is that it ends. */
                if (r < 0 && r != -EBUSY && r != -EINVAL && r != -ESRCH)
                        return r;
                forge_error_clear(err);
                /* Someone else's stop is under way, and its caller may have gone before the kill: it gets
                 * the timeout, then what is left is killed here. */
                if (r == -EBUSY && wait_final(s, id, timeout_usec, NULL) == -ETIMEDOUT)
                        kill_leftovers(s, id);
                r = wait_final(s, id, 10u * 1000000u, err);
                if (r < 0)
                        return r;
                r = container_store_lock(s, id, &l);
                if (r == -ESTALE || r == -ENOENT)
                        return 0;
                if (r < 0)
                        return forge_error_set(err, r, "cannot lock container %s: %s", id, strerror(-r));
                if (!container_state_is_final(l->record->state))
                        return forge_error_set(err, -EBUSY, "container %s became %s again", id,
                                               container_state_to_string(l->record->state));
        }
        r = remove_locked(l, force ? "rm --force" : "rm", ret_removed, err);
        if (r < 0)
                return r;
        return 1;
}

int container_prune(ContainerStore *s, ContainerRecord ***ret_removed, size_t *ret_n, ForgeError *err) {
        ContainerRecord **all = NULL, **removed = NULL;
        size_t n = 0, n_removed = 0;
        int r, first_error = 0;

        r = container_store_list(s, &all, &n);
        if (r < 0)
                return forge_error_set(err, r, "cannot list the containers in %s: %s",
                                       container_store_root(s), strerror(-r));
        removed = calloc(n + 1, sizeof *removed);
        if (!removed) {
                container_record_list_free(all, n);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_(container_lock_releasep) ContainerLock *l = NULL;
                ContainerRecord *rec = NULL;
                ForgeError e = {}; /* each its own: context is put in front of what is recorded */

                if (!container_state_is_final(all[i]->state))
                        continue;
                r = container_store_lock(s, all[i]->id, &l);
                if (r == -ESTALE || r == -ENOENT)
                        continue; /* removed concurrently */
                if (r < 0) {
                        r = forge_error_set(err, r, "cannot lock container %s: %s", all[i]->id,
                                            strerror(-r));
                        if (first_error == 0)
                                first_error = r;
                        continue;
                }
                r = remove_locked(l, "prune", &rec, &e);
                if (r < 0) {
                        if (first_error == 0)
                                first_error = forge_error_propagate(err, &e, r);
                        continue;
                }
                removed[n_removed++] = rec;
        }
        container_record_list_free(all, n);
        if (ret_removed) {
                *ret_removed = removed;
                *ret_n = n_removed;
        } else
                container_record_list_free(removed, n_removed);
        return first_error < 0 ? first_error : (int) n_removed;
}
