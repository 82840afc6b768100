/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The runtime's state directory (default /run/forgeone), shared by every
 * forgeonectl process until the daemon owns it:
 *
 *   ROOT/containers/<id>/state.json  the ContainerRecord; replaced atomically (write + rename),
 *                                    so readers (ps, inspect) need no lock
 *   ROOT/containers/<id>/lock        flock()ed by whoever changes the container's state
 *   ROOT/containers/<id>/final       exists once the container is Stopped or Failed
 *   ROOT/events.jsonl                append-only: one JSON line per state transition, for the
 *                                    daemon and the audit log
 *   ROOT/store.lock                  flock()ed while creating containers (unique names) and by
 *                                    the scheduler while it admits (see container-queue.h)
 *
 * Control model: the forgeonectl that runs a container ("owner", its pid and
 * start time are in the record) waits for the container's exit. Control
 * requests from other processes act directly on the container's cgroup
 * (freeze, thaw, signal, kill) while holding its lock, and record the
 * transition; the owner records Stopped/Failed when init exits. No socket is
 * involved, so a control request works even while the owner is busy, and a
 * container whose owner died is detected by the owner's pid and start time.
 *
 * Locks are taken in the order store.lock, then a container's lock.
 */

#include <stdbool.h>
#include <stdint.h>

#include "forgeone/container-state.h"

#define CONTAINER_STORE_DEFAULT_ROOT "/run/forgeone"

typedef struct ContainerStore ContainerStore;

/* Called after every recorded transition (also written to events.jsonl). */
typedef void (*ContainerEventFn)(const ContainerRecord *r, const ContainerTransition *t, void *userdata);

/* Opens (creating) ROOT; NULL means the default (or $FORGEONE_STATE_DIR when set). */
int container_store_open(const char *root, ContainerStore **ret);
ContainerStore *container_store_free(ContainerStore *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(ContainerStore *, container_store_free);

const char *container_store_root(const ContainerStore *s) _pure_;
void container_store_set_event_callback(ContainerStore *s, ContainerEventFn fn, void *userdata);

/* Blocking exclusive lock on ROOT/store.lock; returns the fd to close to unlock. */
int container_store_lock_global(ContainerStore *s);

/* A container whose lock is held, with its record as read under the lock. */
typedef struct ContainerLock {
        ContainerStore *store; /* borrowed */
        int dir_fd;
        int lock_fd;
        ContainerRecord *record;
} ContainerLock;

ContainerLock *container_lock_release(ContainerLock *l); /* unlocks and frees */
DEFINE_TRIVIAL_CLEANUP_FUNC(ContainerLock *, container_lock_release);

/*
 * Creates the directory of a new container, locked, from r (taken over on success): assigns a fresh
 * random id, uses it as the name when r->name is NULL, records Creating. The caller holds store.lock.
 * -EEXIST: the name belongs to a container that has not exited (a final one is removed).
 */
int container_store_create(ContainerStore *s, ContainerRecord *r, ContainerLock **ret);

/* Finds a container by id, unique id prefix (>= 3 digits) or name. -ENOENT, or -ENOTUNIQ for an
 * ambiguous prefix. */
int container_store_resolve(ContainerStore *s, const char *id_or_name, char **ret_id);
/* Resolves and locks (blocking). */
int container_store_lock(ContainerStore *s, const char *id_or_name, ContainerLock **ret);
/* The same, but -EWOULDBLOCK instead of waiting for another holder. */
int container_store_trylock(ContainerStore *s, const char *id_or_name, ContainerLock **ret);
/* Reads a record without the lock (state.json is replaced atomically). */
int container_store_load(ContainerStore *s, const char *id, ContainerRecord **ret);
/* All records, sorted by creation time; unreadable entries are skipped. */
int container_store_list(ContainerStore *s, ContainerRecord ***ret, size_t *ret_n);
/* Only those not yet Stopped/Failed. Exited containers carry a "final" marker file beside their record,
 * so admission and reaping do not parse the records of every container that ever ran. */
int container_store_list_active(ContainerStore *s, ContainerRecord ***ret, size_t *ret_n);
void container_record_list_free(ContainerRecord **l, size_t n);
/* Removes a container's directory. The container must be final, or its lock held by the caller. */
int container_store_remove(ContainerStore *s, const char *id);

/* Removes a final container's directory while its lock is held, and appends a "removed" line with
 * reason to events.jsonl. -EBUSY unless Stopped/Failed. Whoever waited for the lock then finds the
 * record gone (-ESTALE). l stays to be released by the caller. */
int container_lock_remove(ContainerLock *l, const char *reason);

/* Writes the (modified) record. */
int container_lock_save(ContainerLock *l);
/* Checks and applies a transition, saves, appends the event and calls the callback. */
int container_lock_transition(ContainerLock *l, ContainerState to, const char *reason, int exit_code,
                              int exit_signal);

/* Start time of a process (clock ticks since boot, /proc/PID/stat field 22). */
int container_process_start_time(pid_t pid, uint64_t *ret);
/* Whether the record's owner process still exists (same pid and start time). */
bool container_record_owner_alive(const ContainerRecord *r);

uint64_t container_now_usec(void); /* CLOCK_REALTIME */
