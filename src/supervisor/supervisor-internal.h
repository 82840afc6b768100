/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Shared by the supervisor's files. One notification passes through four
 * steps, each in a file of its own:
 *   decode  (supervisor-decode.c)  read and check the arguments: paths,
 *                                   addresses, the caller's credentials
 *   decide  (supervisor-decide.c)  a pure function: decoded call, policy
 *                                   generation, trust -> Decision
 *   act     (supervisor-act.c)     trust and quarantine state, then
 *                                   continue / deny / emulate, the reply
 *   report  (supervisor-report.c)  counters and the event sink
 * supervisor.c owns the object and the loop; supervisor-emulate.c performs
 * calls for the workload; supervisor-target.c reads a target's memory and
 * /proc state; supervisor-creds.c caches and takes on its credentials.
 */

#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "forgeone/seccomp-notify.h"
#include "forgeone/supervisor-decide.h"
#include "forgeone/supervisor.h"

/* The ABI the supervisor emulates and takes descriptors for (other ABIs' calls are decided, not
 * performed). */
#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#define NATIVE_AUDIT_ARCH 0
#endif

/* Linux 6.9: a pidfd of one thread (not of its thread group); the uapi value is O_EXCL. */
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
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
        pid_t tid;             /* the task these were read for */
        pid_t tgid;
        pid_t ns_tgid, ns_tid; /* as its own pid namespace numbers them (its /proc) */
        unsigned threads;
        uid_t ruid, euid, suid, fsuid;
        gid_t rgid, egid, sgid, fsgid;
        gid_t groups[TARGET_MAX_GROUPS];
        size_t n_groups;
        mode_t umask;
        uint64_t cap_eff, cap_prm, cap_inh;
        bool foreign_userns; /* in another user namespace than the supervisor */
} TargetCreds;

int target_read_creds(pid_t tid, TargetCreds *ret);

/* The soft RLIMIT_FSIZE of process pid (RLIM_INFINITY as UINT64_MAX). */
int target_read_fsize_limit(pid_t pid, uint64_t *ret);

/* The directory relative paths of this call start from, as a path inside root_path: the task's cwd
 * for AT_FDCWD, else the directory open as dirfd in the task. -EBADF when dirfd is not open (or
 * negative), -ENOTDIR when it is no directory with a path (a pipe, a socket, a removed file), -ENOENT
 * for a removed directory. */
int target_base_path(pid_t tid, int dirfd, const char *root_path, char **ret);
/* The path of the file open as fd in the task, inside root_path. */
int target_fd_path(pid_t tid, int fd, const char *root_path, char **ret);

/* True when no other task shares the task's memory, fs (cwd, root, umask) or descriptor table, but for
 * one that waits in a memory-sharing vfork for this very task (and so cannot run before its exec or exit):
 * nothing another task does can change what the task's own call will find there. */
bool target_exclusive(pid_t tid, int cgroup_fd);
/* True when the bytes [addr, addr+len) of the task cannot change between our read and the kernel's
 * own: target_exclusive() holds and they lie in a private anonymous mapping or a read-only mapping of
 * its own running executable. */
bool target_memory_stable(pid_t tid, int cgroup_fd, const uint64_t *addrs, const size_t *lens, size_t n);

/* ---- credentials (supervisor-creds.c) ---- */

#define CREDS_CACHE_SIZE 32

typedef struct CredsCacheEntry {
        int pidfd;            /* of creds.tid, taken before its credentials were first read: PIDFD_THREAD, or
                               * its process's for a leader first seen at its exec; -EBADF: free */
        bool stale;           /* creds must be read again (through the same pidfd) before use */
        uint64_t last_use;
        TargetCreds creds;
} CredsCacheEntry;

typedef struct CredsCache {
        bool enabled;         /* the filter traps every credential-changing call */
        uint64_t clock;
        CredsCacheEntry entries[CREDS_CACHE_SIZE];
        TargetCreds scratch;  /* disabled: read afresh each time */
} CredsCache;

void creds_cache_init(CredsCache *cc, bool enabled);
void creds_cache_done(CredsCache *cc);
/* The credentials of task tid, valid until the next call on this cache. -ENOENT: the task is gone. */
int creds_cache_get(CredsCache *cc, pid_t tid, const TargetCreds **ret);
/* Before answering a call that may change credentials: the entry of tid (0: all) is read again on next use
 * (its pidfd kept: the task it proves is the same). */
void creds_cache_forget(CredsCache *cc, pid_t tid);
/* Before an exec by tid: the same for its thread group, whose credentials the exec recomputes for the
 * caller, whose other threads end, and whose leader's tid the caller may take (a pidfd of that tid then
 * names the caller: the entry read again is the caller's); no other task's change. Everyone's when its
 * thread group is not known. */
void creds_cache_forget_exec(CredsCache *cc, pid_t tid);

typedef enum CredsFlags {
        CREDS_REAL_IDS = 1u << 0,   /* the real uid/gid instead of the fs ids (access(2)) */
        CREDS_EXACT_CAPS = 1u << 1, /* without the CAP_SYS_PTRACE the thread keeps for itself */
} CredsFlags;

typedef struct CredsSaved {
        bool keep; /* the thread keeps what it switched to (its own threads only) */
} CredsSaved;

/* Takes on the target's fs ids, groups and effective capabilities on this thread (changing only what
 * differs from what it holds), plus CAP_SYS_PTRACE unless CREDS_EXACT_CAPS. */
int creds_enter(const TargetCreds *t, unsigned flags, CredsSaved *saved);
/* Back to the supervisor's own credentials, unless the thread keeps them (creds_thread_keep()). */
void creds_leave(CredsSaved *saved);
void creds_restore(void);
/* After an object that needed exactly the target's capabilities (CREDS_EXACT_CAPS): CAP_SYS_PTRACE back, to
 * write the results into the target. creds_leave() does it too. */
void creds_ptrace_back(void);
/* Raises (on) or drops again CAP_DAC_READ_SEARCH for a read of the supervisor's own: a target that changed
 * its ids without exec has its /proc/PID/fd owned by root, and this thread may hold another's ids. */
int creds_search_override(bool on);
/* For threads the supervisor owns: keep the last workload's credentials between calls. */
void creds_thread_keep(bool keep);
/* fd was opened under creds_enter(t, flags) without CREDS_EXACT_CAPS: when it lies on procfs, where the
 * kept CAP_SYS_PTRACE could open what the target could not, switches to the exact capabilities and
 * returns true: the caller closes fd and does the call again. */
bool creds_procfs_guard(int fd, const struct stat *st, const TargetCreds *t, unsigned flags, CredsSaved *saved);

/* ---- the supervisor ---- */

struct Supervisor {
        int listener;
        int root_fd;
        char *root_path; /* root_fd as the supervisor sees it, to make /proc paths root-relative */
        int cgroup_fd;
        int identity;
        char *workload;
        EventSink *sink;
        int wake_fd;
        SupervisorQuarantineFn on_quarantine;
        void *userdata;
        bool sync_wakeup;
        struct seccomp_notif_sizes sizes;

        pthread_mutex_t lock; /* graph, generation, trust, quarantined, n_workers */
        PolicyGraph *graph;
        uint64_t generation;
        PolicyTrust trust_cfg;
        TrustScore trust;
        bool quarantined;

        /* Tests only (supervisor_test_fake_reply_errno()): a reply failing with fake_from fails with
         * fake_to instead, while the decision still says fake_from. */
        int fake_from, fake_to;

        int next_identity;  /* the identity for graph, from a reload; published with generation */

        /* Owned by the one dispatching thread: its reference to the current graph, and the cache of
         * its targets' credentials. */
        PolicyGraph *loop_graph;
        uint64_t loop_generation;
        int loop_identity;
        CredsCache creds;

        struct ReportPolicy *report_policies; /* atomic head (supervisor-report.c) */
        /* Exact counters (atomic): in the journal when there is one, else in own_counts. */
        uint64_t *counts;   /* [_SUPERVISOR_ACTION_MAX] */
        uint64_t *gone;
        uint64_t own_counts[_SUPERVISOR_ACTION_MAX + 1];
        struct SupervisorJournal *journal; /* mapped, or NULL */

        pthread_cond_t workers_done;
        unsigned n_workers;
        int stop_fd; /* eventfd, readable once the supervisor is freed: blocked workers give up */

        /* The supervisor's own thread for work its owner hosts (supervisor_dispatch(), recovery): the
         * decisions and emulations take on a workload's credentials and a private fs context, which must
         * never be its owner's thread's (supervisor_on_own_thread()). */
        pthread_t hands;
        bool hands_started;
        pthread_mutex_t hands_lock;
        pthread_cond_t hands_cond;
        int hands_state; /* HANDS_IDLE, HANDS_WORK, HANDS_DONE, HANDS_QUIT */
        int (*hands_fn)(Supervisor *s, void *arg);
        void *hands_arg;
        int hands_result;

        pthread_t thread;
        pid_t thread_tid;   /* atomic: published by the thread when it starts */
        bool thread_started;
        bool thread_done; /* atomic */
        int thread_result;
};

/* What the supervisor needs to know about a syscall before looking at its arguments, from a table
 * built once for the native ABI (the hot path does no name comparisons). */
typedef struct SyscallClass {
        const char *name;          /* NULL: no name on that ABI */
        const SyscallInfo *info;   /* its argument description, or NULL */
        bool emulable;             /* emulate_supported() */
        bool is_open;              /* open, openat, openat2, creat */
        bool is_fdcall;            /* fdcall_supported(): performed by supervisor-fdcall.c */
        bool is_send;              /* send_supported(): performed by supervisor-send.c */
        int8_t creds_change;       /* -1 none, 0 every task of the workload, 1 the calling task */
} SyscallClass;

const SyscallClass *syscall_class_get(uint32_t arch, int nr, SyscallClass *buf);

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
        int identity;         /* the workload's identity in the graph deciding this call */
        uint64_t id;
        pid_t tid;
        uint32_t arch;
        int nr;
        uint64_t args[6];
        const char *name;
        const SyscallInfo *info;
        const SyscallClass *cls;

        bool decoded;
        char *path, *path2;   /* judged: absolute, normalised, inside the root (path-resolve.h) */
        char *walk[2];        /* what the emulation walks for path and path2 (path-resolve.h) */
        size_t walk_base[2];  /* length of the cwd or dirfd path walk[] starts with (relative paths), or 0 */
        unsigned resolved[2]; /* PathResolveResultFlags of path and path2 */
        bool resolve_full;    /* resolve with lookups, not lexically (supervisor-path.c) */
        bool again;           /* the emulation met a symlink on a lexical walk: decide again */
        int lookup_error, lookup_error2; /* positive errno of the path lookups */
        unsigned access, access2;
        uint64_t open_flags, open_mode, open_resolve;
        bool empty_path;      /* AT_EMPTY_PATH with "" (a NULL path, an fd object): the object is
                               * magic_file */
        bool magic;           /* a /proc/PID/fd/N of the workload: reopen magic_file */
        /* The file the call names through the workload's descriptor table or its cwd (a /proc/PID/fd/N of
         * its own, AT_EMPTY_PATH, a NULL path, the fd of fchmod and friends), taken from it while deciding
         * (pidfd_getfd): what is judged and what the emulation acts on. path is its real path inside the
         * root, checked to name this very file, or "/proc/PID/fd/N" for a file with no name (nameless). */
        int magic_file;
        /* A relative path of only "." components from a directory that has no name left (a removed cwd
         * or dirfd; second: path2's): that directory, taken from the workload like magic_file, is what
         * walk[] (the path as given) starts from, instead of the root; path is the name the workload
         * reaches it by (/proc/PID/fd/N, /proc/PID/cwd). -EBADF otherwise. */
        int base_fd[2];
        struct stat open_st;  /* the file walk_open() opened last (supervisor-emulate.c) */
        bool open_st_valid;
        bool nameless;
        int object_fd_number; /* the workload's number for magic_file; AT_FDCWD for its cwd */
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
        char unix_path[PATH_MAX]; /* judged: a relative sun_path is resolved from the cwd, and may be longer */
        int sock_fd;          /* connect: the target's socket, taken with pidfd_getfd */

        const TargetCreds *creds; /* read on demand (the dispatching thread's cache; workers copy) */
        uint64_t ptr_addrs[3]; /* what was read from its memory: paths, msghdr, address */
        size_t ptr_lens[3];
        size_t n_ptrs;
} Call;

void call_done(Call *c);

/* ---- decode (supervisor-decode.c) ---- */


int arg_index(const SyscallInfo *info, SyscallArg kind) _pure_;
/* The caller's credentials, from the cache. */
int decode_creds(Call *c);
/* Paths (and open flags), then the socket address, as the syscall's table entry says. */
int decode_paths(Call *c);
int decode_addr(Call *c);
/* Takes the file open as fd in the target (AT_FDCWD: its cwd) into our own table, with the supervisor's
 * own credentials: from then on no change to the target's table or cwd can swap it. -EBADF: nothing
 * open there. */
int decode_take_file(Call *c, int fd, int *ret);
/* sendto, sendmsg, sendmmsg: their address, when they carry one, is a destination. */
bool call_is_send(const Call *c) _pure_;
/* Everything the call's emulation needs; then checks the target still waits. */
int decode_for_emulation(Call *c);
/* Would this credential call (setuid and friends, setgroups, capset) leave every id, group and capability
 * of the caller as it is? ret_memory: the answer rests on memory it read (setgroups' list, capset's
 * data), which must then not change before the kernel reads it. -EOPNOTSUPP for other calls. */
int decode_creds_noop(Call *c, bool *ret_noop, bool *ret_memory);
/* Does this call (trapped whatever the policy says) change the caller's credentials, so that cached
 * ones must be dropped first? Returns the tid to forget, 0 for all, -1 for none. */
pid_t decode_creds_change(const Call *c);

/* ---- paths (supervisor-path.c) ---- */

/* The path a call names, as the workload's own walk would find it (path-resolve.h): from its cwd or
 * dirfd, lexically when the emulation can verify that walk itself, else with lookups under its
 * credentials. Sets c->walk[second] and c->resolved[second]; returns 0, the positive errno the lookup
 * stops with, or a negative errno when the arguments cannot be read (EBADF, ENOTDIR: a relative path on
 * a descriptor that is no directory, ...). */
int call_resolve_path(Call *c, bool second, int dirfd, const char *path, bool nofollow, char **ret,
                      unsigned *ret_flags);
/* After the emulation met a symlink on a lexical walk (c->again): decode the call again with lookups,
 * for it to be decided again on what the workload's walk really reaches. */
int call_resolve_again(Call *c);

/* ---- act (supervisor-act.c) ---- */

/* Reply helpers: 0, or -ENOENT when the target no longer waits (normal). */
int reply_continue(Supervisor *s, uint64_t id);
int reply_value(Supervisor *s, uint64_t id, int error, int64_t value);
/* Injects fd as the call's result (ADDFD), closes it, and only then answers (SEND): the workload must not
 * run on while a copy of ours is open (a file it wrote and closed could not be executed: ETXTBSY). Two
 * ioctls rather than ADDFD|SEND for that, and since Linux 6.6 only SEND wakes the target on our CPU
 * (ADDFD|SEND wakes it plainly, and unpinned the pair drifts apart); with WAIT_KILLABLE_RECV nothing but
 * its death comes between the two. Takes fd. res->value the number in the target. */
typedef struct EmulateResult EmulateResult;
int reply_fd(Supervisor *s, uint64_t id, int fd, uint64_t flags, EmulateResult *res);

/* Applies d (trust, quarantine, continue/deny/emulate, the reply) and fills ev. Returns true when a
 * worker thread took the call over (it replies and reports). */
bool supervisor_act(Call *c, Decision *d, int trust, SupervisorEvent *ev);

/* ---- journal (supervisor-journal.c) ---- */

/* What is written down between the receipt of a notification and its report: see supervisor.h. */
#define JOURNAL_SLOTS 64
#define JOURNAL_NOTIF_MAX 128

typedef struct JournalSlot {
        uint64_t state; /* atomic: JOURNAL_FREE, JOURNAL_WRITING, JOURNAL_HELD */
        uint64_t id;
        _Alignas(8) unsigned char notif[JOURNAL_NOTIF_MAX];
} JournalSlot;

enum { JOURNAL_FREE, JOURNAL_WRITING, JOURNAL_HELD };

typedef struct SupervisorJournal {
        uint64_t magic;
        uint32_t version;
        uint32_t notif_size;
        uint64_t counts[_SUPERVISOR_ACTION_MAX + 1]; /* the last one: targets gone */
        uint64_t receiving; /* atomic: the dispatcher is in RECV or has not yet written down what it got */
        uint64_t last_id;   /* the last notification id written down */
        JournalSlot slots[JOURNAL_SLOTS];
} SupervisorJournal;

int journal_map(int fd, SupervisorJournal **ret);
void journal_unmap(SupervisorJournal *j);
/* Around RECV on the dispatching thread. */
void journal_receiving(SupervisorJournal *j);
void journal_received(SupervisorJournal *j, const struct seccomp_notif *req, size_t size);
/* After the report of notification id, from any thread. */
void journal_answered(SupervisorJournal *j, uint64_t id);

/* supervisor.c: decides one received notification (decode, decide, act, report). */
void supervisor_handle(Supervisor *s, const struct seccomp_notif *req);
/* Receives one notification into req (written down in the journal) and handles it, without blocking, on
 * the calling thread, which must be one of the supervisor's own (supervisor_dispatch() runs it on its own
 * thread for a hosting loop). */
int supervisor_dispatch_one(Supervisor *s, struct seccomp_notif *req);

/* Runs fn(s, arg) on the supervisor's own thread (started on first use) and returns its result once it
 * has run: the calling thread's credentials and fs context stay its own. Not from fn itself. */
int supervisor_on_own_thread(Supervisor *s, int (*fn)(Supervisor *s, void *arg), void *arg);

/* ---- report (supervisor-report.c) ---- */

/* What the records say about the policy of one generation (its identity and digest): one per generation,
 * newest first, kept for the supervisor's life, so a decision that finishes on an older generation after a
 * reload still names its own policy. Read without a lock; added under s->lock. */
typedef struct ReportPolicy {
        struct ReportPolicy *next;
        uint64_t generation;
        char *identity;
        char digest[7 + 64 + 1];
} ReportPolicy;

/* Adds generation's entry (under s->lock); -ENOMEM leaves that generation's records without a digest. */
int supervisor_report_add_policy(Supervisor *s, uint64_t generation, int identity, const PolicyGraph *g);
void supervisor_report_free_policies(Supervisor *s);

/* Counts ev and posts it to the sink, with its generation's identity and policy digest; from any thread. */
void supervisor_report(Supervisor *s, const SupervisorEvent *ev);
void supervisor_wake_owner(Supervisor *s);


struct EmulateResult {
        int error;      /* errno of the call, 0 on success */
        int64_t value;  /* its return value */
        bool replied;   /* the reply was already sent (ADDFD with SEND) */
        bool gone;      /* the target was gone when replying */
        bool deferred;  /* handed to a worker thread, which replies and reports */
        bool canceled;  /* a worker stopped by supervisor_free() before it could answer */
        const char *reason;
};

bool emulate_supported(const char *name) _pure_;
/* What the kernel answers for this call from its registers (and openat2's open_how) before it looks its
 * path up, or 0. Also before a path that could not be read fails the call: the kernel defers that error
 * to the lookup. */
int emulate_check_args(const Call *c);
/* Performs the decoded call c under the target's credentials. */
int emulate_call(Call *c, const SupervisorEvent *proto, EmulateResult *ret);

/* ---- continued calls (supervisor-continue.c) ---- */

/* A call allowed on what was read, which the supervisor cannot perform: NULL when the kernel may do it
 * (SECCOMP_USER_NOTIF_FLAG_CONTINUE) because nothing anyone in the workload can do changes what it will
 * find; else why not. On the dispatching thread (it looks at s->loop_graph). */
const char *continue_unsafe_reason(Call *c, int trust);
/* ENOENT when the call's path names nothing (not even a symlink) in the root now: the supervisor answers
 * so itself, since the kernel's own lookup could find something created in between. Else 0. */
int continue_path_missing(Call *c);
/* An O_PATH open that cannot be continued, of a directory or a regular file the policy also lets the
 * workload read: opened by the supervisor (RESOLVE_NO_SYMLINKS, on the checked path) and answered with a
 * descriptor for reading (ADDFD cannot install O_PATH files); of a symbolic link itself: EOPNOTSUPP.
 * -EOPNOTSUPP (as a return value) when it does not apply. */
int continue_opath_substitute(Call *c, int trust, EmulateResult *ret);

/* ---- calls on the workload's descriptors (supervisor-fdcall.c) ---- */

/* fchmod, fchown, fsetxattr, fremovexattr: performed on the file the decode step took (magic_file). */
bool fdcall_supported(const char *name) _pure_;
int fdcall_emulate(Call *c, EmulateResult *ret);

/* ---- sends with a destination (supervisor-send.c) ---- */

/* sendto, sendmsg, sendmmsg: sent by the supervisor on the socket taken from the workload (sock_fd), to
 * the checked address (or the connected peer), with the data and control read once. */
bool send_supported(const char *name) _pure_;
int send_emulate(Call *c, const SupervisorEvent *proto, EmulateResult *ret);

/* Worker threads for emulations that may block: counted so that supervisor_free() waits for them; they
 * wait in poll() on s->stop_fd too. */
int supervisor_worker_start(Supervisor *s, void *(*fn)(void *), void *arg);
void supervisor_worker_end(Supervisor *s);
