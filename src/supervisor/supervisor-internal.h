/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Shared by the supervisor's files: reading a target's memory and /proc
 * state (supervisor-target.c), acting on its behalf (supervisor-emulate.c)
 * and the notification loop (supervisor.c).
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/types.h>

#include "forgeone/seccomp-notify.h"
#include "forgeone/supervisor.h"
#include "forgeone/syscall-table.h"
#include "forgeone/trust-score.h"

/* ---- the target ---- */

int target_read(pid_t tid, uint64_t addr, void *buf, size_t len);
/* A NUL-terminated string of at most size-1 bytes: its length, -EFAULT, -ENAMETOOLONG. */
int target_read_string(pid_t tid, uint64_t addr, char *buf, size_t size);
int target_write(pid_t tid, uint64_t addr, const void *buf, size_t len);
/* A pidfd of the target's process, checked to be the one that waits for notification id (so that a
 * recycled pid can never hand us someone else's fds). */
int target_pidfd(pid_t tgid, int listener, uint64_t id);

#define TARGET_MAX_GROUPS 256

typedef struct TargetCreds {
        pid_t tgid;
        pid_t ns_tgid, ns_tid; /* as its own pid namespace numbers them (its /proc) */
        unsigned threads;
        uid_t ruid, fsuid;
        gid_t rgid, fsgid;
        gid_t groups[TARGET_MAX_GROUPS];
        size_t n_groups;
        mode_t umask;
        uint64_t cap_eff;
        bool foreign_userns; /* in another user namespace than the supervisor */
} TargetCreds;

int target_read_creds(pid_t tid, TargetCreds *ret);

/* The directory relative paths of this call start from, as a path inside root_path: the task's cwd
 * for AT_FDCWD, else the directory open as dirfd in the task. */
int target_base_path(pid_t tid, int dirfd, const char *root_path, char **ret);
/* The path of the file open as fd in the task, inside root_path. */
int target_fd_path(pid_t tid, int fd, const char *root_path, char **ret);

/* True when the bytes [addr, addr+len) of the task cannot change between our read and the kernel's
 * own: no other task shares its memory (except a vfork parent waiting for it) and they lie in a
 * private anonymous mapping or a read-only mapping of its own running executable. */
bool target_memory_stable(pid_t tid, int cgroup_fd, const uint64_t *addrs, const size_t *lens, size_t n);

/* ---- per-thread credentials for emulated calls ---- */

typedef struct CredsSaved {
        bool changed;
        uid_t fsuid;
        gid_t fsgid;
} CredsSaved;

int creds_enter(const TargetCreds *t, bool use_real_ids, CredsSaved *saved);
void creds_leave(CredsSaved *saved);

/* ---- the supervisor ---- */

struct Supervisor {
        int listener;
        int root_fd;
        char *root_path; /* root_fd as the supervisor sees it, to make /proc paths root-relative */
        int cgroup_fd;
        int identity;
        SupervisorEventFn on_decision, on_quarantine;
        void *userdata;
        bool sync_wakeup;
        struct seccomp_notif_sizes sizes;

        pthread_mutex_t lock; /* graph, generation, trust, quarantined, workers */
        PolicyGraph *graph;
        uint64_t generation;
        PolicyTrust trust_cfg;
        TrustScore trust;
        bool quarantined;
        /* Owned by the thread in supervisor_process_one(): its reference to the current graph. */
        PolicyGraph *loop_graph;
        uint64_t loop_generation;

        pthread_cond_t workers_done;
        unsigned n_workers;
        pthread_t workers[64];
        bool worker_used[64];

        volatile sig_atomic_t stop;
        bool running;
        pthread_t run_thread;
};

typedef enum PathLastKind {
        PATH_LAST_NORMAL,
        PATH_LAST_DOT,
        PATH_LAST_DOTDOT,
        PATH_LAST_ROOT,
} PathLastKind;

/* Does this path argument of the call name a directory entry to create, remove or rename (rather than
 * an object to look at or change)? second: PATH2. */
bool call_path_is_entry(const char *name, bool second) _pure_;

/* A trapped call being decided. */
typedef struct Call {
        Supervisor *s;
        uint64_t id;
        pid_t tid;
        uint32_t arch;
        int nr;
        uint64_t args[6];
        const char *name;
        const SyscallInfo *info;

        bool decoded;
        char *path, *path2;   /* resolved, inside the root */
        int lookup_error, lookup_error2; /* positive errno of the path lookups */
        unsigned access, access2;
        uint64_t open_flags, open_mode, open_resolve;
        bool empty_path;      /* AT_EMPTY_PATH with "": the object is the dirfd itself */
        bool magic;           /* a /proc/PID/fd/N of the workload: reopen magic_file */
        int magic_file;       /* that file, taken from the workload; path is its real path if it has one */
        bool exists;          /* the last component of path was there when resolved */
        bool followed;        /* resolving path followed a symlink */
        bool null_path;       /* utimensat/futimesat with a NULL path: the call acts on the dirfd's file */
        /* Entry calls (mkdir, unlink, rename, ...): how the path as given ended, per path. The kernel
         * refuses ".", ".." and "/" as the entry to create or remove, and a trailing slash is handed
         * on to it with the name. */
        PathLastKind last_kind[2];
        bool trailing_slash[2];

        bool have_addr;
        struct sockaddr_storage raw_addr;
        socklen_t raw_len;
        PolicySockaddr addr;
        char unix_path[sizeof(((struct sockaddr_un *) 0)->sun_path) + 2];
        int sock_fd;          /* connect: the target's socket, taken with pidfd_getfd */

        TargetCreds *creds;   /* read on demand */
        uint64_t ptr_addrs[3]; /* what was read from its memory: paths, msghdr, address */
        size_t ptr_lens[3];
        size_t n_ptrs;
} Call;

void call_done(Call *c);

/* Reply helpers: 0, or -ENOENT when the target no longer waits (normal). */
int reply_continue(Supervisor *s, uint64_t id);
int reply_value(Supervisor *s, uint64_t id, int error, int64_t value);

typedef struct EmulateResult {
        int error;      /* errno of the call, 0 on success */
        int64_t value;  /* its return value */
        bool replied;   /* the reply was already sent (ADDFD with SEND) */
        bool gone;      /* the target was gone when replying */
        bool deferred;  /* handed to a worker thread, which replies and reports */
        const char *reason;
} EmulateResult;

bool emulate_supported(const char *name) _pure_;
/* Performs the decoded call c under the target's credentials. */
int emulate_call(Call *c, const SupervisorEvent *proto, EmulateResult *ret);

/* Reporting from worker threads. */
void supervisor_emit(Supervisor *s, SupervisorEvent *ev);
int supervisor_worker_start(Supervisor *s, void *(*fn)(void *), void *arg);
void supervisor_worker_end(Supervisor *s);
