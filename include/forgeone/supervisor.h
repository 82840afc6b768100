/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The supervisor: launches a workload under a compiled filter and decides
 * its trapped syscalls against a policy graph. It knows nothing of D-Bus,
 * journald or terminals: every decision is handed to a callback as a
 * struct, and printing or recording it is the caller's job.
 *
 * Launch, and why the listener is handed over the way it is:
 *
 *   parent                                 child (after fork/clone)
 *   supervisor_handoff_new(&h)
 *   fork ------------------------------->  ... own setup ...
 *                                          supervisor_child_install(filter, h)
 *                                            prctl(NO_NEW_PRIVS); seccomp(NEW_LISTENER, ...)
 *                                            store the listener's fd number in h, mark it ready,
 *                                            spin (no syscall) until the parent has taken it
 *   supervisor_handoff_receive(h, pidfd)
 *     waits for "ready", pidfd_getfd()s the
 *     listener, marks it taken  ---------> execve(...)
 *
 * Once the filter is in place every syscall of the child is subject to it,
 * including the sendmsg(SCM_RIGHTS) a socketpair handoff would need: a
 * policy that traps sendmsg would deadlock (nobody has the listener yet),
 * one that denies it would fail the launch. So the child makes no syscall
 * at all between seccomp() and the parent taking the fd: it publishes the
 * fd number in a MAP_SHARED page and spins on a flag there, the parent
 * copies the fd out of the child's table with pidfd_getfd(2) (which needs
 * ptrace rights over the child, as any supervisor has) and verifies that it
 * is a seccomp listener. This works whatever the policy says, and the
 * child cannot exec before the parent holds the listener (exec would close
 * the child's O_CLOEXEC copy, the last one, and every trapped call would
 * then fail with ENOSYS).
 *
 * Deciding: memory (paths, sockaddrs, open_how) is read with
 * process_vm_readv and used only after SECCOMP_IOCTL_NOTIF_ID_VALID says
 * the target still waits; paths are resolved inside the workload's root
 * (path-resolve.h). Verdicts: deny replies with the errno (and costs
 * trust; below the policy's threshold the workload is quarantined);
 * quarantine calls on_quarantine before replying, so the workload never
 * runs past that call; allow continues in the kernel only when the
 * decision used registers alone, and is otherwise emulated: open, openat,
 * openat2, creat (fd injected with ADDFD + SEND), stat/lstat/newfstatat/
 * statx, access/faccessat/faccessat2, readlink/readlinkat (results written
 * back), connect (socket taken with pidfd_getfd), sendto/sendmsg/sendmmsg
 * (sent on the taken socket to the checked address), the directory entry
 * calls, the attribute calls by path (below) and by descriptor (fchmod,
 * fchown, fsetxattr, fremovexattr) are performed by the supervisor under
 * the workload's fsuid/fsgid/groups/umask and effective capabilities
 * (per-thread credentials). A call that names its object by descriptor
 * (AT_EMPTY_PATH, a NULL path, /proc/self/fd/N, fchmod's fd) is judged on
 * the file taken from the workload's table first, and done on that file.
 * Calls that cannot be emulated (execve, chdir, O_PATH opens, mount, ...)
 * continue only when nothing anyone in the workload can do changes what the
 * kernel will find: what was read lies in memory nobody else shares or can
 * write, no other task shares the caller's cwd or fd table (but a vfork
 * parent waiting for it), and no name on the path is one the policy lets
 * the workload rename, remove or replace; else fail with EPERM (an O_PATH
 * open of a readable directory or file is then served for reading).
 *
 * What the path emulations guarantee: the object acted on is the one the
 * policy judged, whatever the workload (or anyone) changes in between.
 *  - Entry calls (mkdir/mkdirat, mknod/mknodat, unlink/unlinkat, rmdir,
 *    rename/renameat/renameat2 with its flags, link/linkat, symlink/
 *    symlinkat): the parent of the checked path is opened with
 *    openat2(root, parent, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS |
 *    RESOLVE_NO_MAGICLINKS, O_PATH | O_DIRECTORY) and the *at call is made
 *    on (that fd, last name as given): a symlink swapped into the parent
 *    path after the check fails the call (ELOOP), and the kernel does not
 *    follow the last name of these calls. ".", ".." and "/" as the entry
 *    fail as the kernel fails them; device nodes are refused (EPERM).
 *    A symlink's text is data: stored as read once, never resolved.
 *  - Object calls (chmod/fchmodat/fchmodat2, chown/lchown/fchownat,
 *    truncate, utime/utimes/utimensat/futimesat, setxattr/lsetxattr/
 *    removexattr/lremovexattr) and a hard link's source: the checked path
 *    is opened O_PATH (O_NOFOLLOW where the call does not follow) by the
 *    same resolver and the call is made on that fd (AT_EMPTY_PATH, or our
 *    /proc/self/fd link to it); truncate reopens it for writing only once
 *    it is a regular file. Times, xattr names and values are read once
 *    and the call is made with our copy. utimensat(fd, NULL) (futimens)
 *    is judged by the path of the file open as fd and done on that file.
 *  - Not guaranteed: an entry emulation acts on the directory that is at
 *    the checked path when it is opened; a directory renamed there in
 *    between by an allowed rename is that directory (the policy is about
 *    paths). Default ACLs apply as for the workload (its umask is set on
 *    our thread for the creating calls).
 *
 * Threads and loops: the supervisor can be hosted by any event loop
 * (supervisor_get_fd() turns readable when a notification waits;
 * supervisor_dispatch() then receives one without blocking and has it
 * decided and performed on the supervisor's own thread, waiting for that:
 * deciding and emulating take on the workload's credentials and a private
 * fs context, which never become the hosting thread's) or run on a
 * dedicated thread of its own that blocks in SECCOMP_IOCTL_NOTIF_RECV
 * (supervisor_start_thread(); measured about 12% faster per trapped call
 * than poll() + RECV on Linux 6.18). The dedicated thread ends by itself
 * once no task uses the filter any more (Linux 6.6+ ends a blocking RECV
 * then); on older kernels it waits in poll() on the listener and an
 * eventfd instead. Nothing here installs a signal handler or sends a
 * signal: a blocking emulation (the open of a FIFO, a connect()) runs on a
 * short-lived worker thread that waits in poll() on the object, the target's
 * pidfd and the supervisor's stop eventfd.
 *
 * Restarts: the listener is the workload's lifeline (closing its last copy makes every trapped call
 * fail with ENOSYS), so an owner that must survive its own restart keeps a copy where it survives
 * (systemd's fd store) together with the journal (SupervisorConfig.journal_fd): every notification is
 * written down there between its receipt and its report, and the counters are kept there, exactly. A
 * successor rebuilds the supervisor on the same listener and journal and calls supervisor_recover()
 * first: nothing the predecessor received is lost, nothing is let through undecided. A call the
 * predecessor had already performed (an emulation) but not yet answered is performed again.
 *
 * Reporting: every decision is posted to the configured event sink
 * (event-sink.h), from whichever thread made it, without blocking; the
 * per-workload counters below are exact whatever the sink drops.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "forgeone/decision.h"
#include "forgeone/event-sink.h"
#include "forgeone/macro.h"
#include "forgeone/policy-compile.h"
#include "forgeone/policy-graph.h"
#include "forgeone/policy.h"

/* ---- launch ---- */

typedef struct SupervisorHandoff SupervisorHandoff;

/* Parent, before fork: a shared page the child publishes the listener in. */
int supervisor_handoff_new(SupervisorHandoff **ret);
SupervisorHandoff *supervisor_handoff_free(SupervisorHandoff *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(SupervisorHandoff *, supervisor_handoff_free);

/* Child, after fork, before execve; async-signal-safe (raw syscalls, no allocation). Sets
 * PR_SET_NO_NEW_PRIVS, installs the filter with SECCOMP_FILTER_FLAG_NEW_LISTENER plus
 * WAIT_KILLABLE_RECV and TSYNC|TSYNC_ESRCH, dropping those the kernel rejects with EINVAL, and
 * waits for the parent to take the listener. Returns the child's own copy of the listener (O_CLOEXEC,
 * closed by execve; a caller that runs code under the filter without exec must close it itself) or
 * a negative errno; on failure the parent's supervisor_handoff_receive() returns the same error. */
int supervisor_child_install(const PolicyFilter *f, SupervisorHandoff *h);

/* Parent: waits (at most timeout_usec, 0 = 10 s) until the child installed its filter, takes the
 * listener with pidfd_getfd() and lets the child go on. -ESRCH if the child died first, the child's
 * error if its install failed, -ETIMEDOUT. */
int supervisor_handoff_receive(SupervisorHandoff *h, int pidfd, uint64_t timeout_usec, int *ret_listener);

/* ---- deciding ---- */

/* Called on the deciding thread when a decision quarantines the workload, before the call is answered,
 * so the workload never runs past it: it must stop (freeze or kill) the workload without waiting. */
typedef void (*SupervisorQuarantineFn)(const SupervisorEvent *ev, void *userdata);

typedef struct SupervisorConfig {
        int identity;    /* policy_identity_resolve() result, or POLICY_IDENTITY_ANY */
        int root_fd;     /* the workload's root directory (dup'd); -1: "/" */
        int cgroup_fd;   /* the workload's cgroup v2 directory (dup'd), used to find tasks sharing memory
                          * with an exec'ing task; -1: look in /proc */
        const char *workload; /* id or name in the records (copied); NULL: "" */
        EventSink *sink;      /* where decisions go; NULL: counted only */
        int wake_fd;          /* an eventfd (dup'd) written when the trust score changed or a quarantine was
                               * requested, so the workload's owner looks; -1: none */
        SupervisorQuarantineFn on_quarantine;
        void *userdata;
        /* The workload's filter traps every call that changes credentials (PolicyFilter.traps_credentials),
         * so the supervisor may cache them per task; otherwise it reads them for every call. */
        bool creds_calls_trapped;
        uint64_t generation; /* the number of graph's generation in the owner's count; 0: 1 */
        /* A file of SUPERVISOR_JOURNAL_SIZE bytes (a memfd; dup'd and mapped shared) where the
         * supervisor keeps its exact counters and every notification it received and has not answered
         * yet, for a successor (see "Restarts" above); -1: none, counters in memory. */
        int journal_fd;
} SupervisorConfig;

typedef struct Supervisor Supervisor;

/* Takes ownership of listener (closed on error too); takes a reference on graph. */
int supervisor_new(int listener, PolicyGraph *graph, const SupervisorConfig *config, Supervisor **ret);
/* Stops the dedicated thread (see supervisor_start_thread()) and the workers, closes the listener: the
 * workload's trapped calls fail with ENOSYS from then on. */
Supervisor *supervisor_free(Supervisor *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Supervisor *, supervisor_free);

/* Replaces the policy graph (reload). Notifications already being decided finish on the graph they
 * started with; returns the new generation. The trust configuration follows the new policy. */
uint64_t supervisor_set_graph(Supervisor *s, PolicyGraph *graph);
/* The same with the workload's identity in the new policy (its index may differ there) and the
 * generation number the owner counts (greater than the current one, else -ESTALE): graph, identity and
 * number change together for every notification received from then on. */
int supervisor_reload(Supervisor *s, PolicyGraph *graph, int identity, uint64_t generation);
uint64_t supervisor_get_generation(Supervisor *s);
int supervisor_get_trust(Supervisor *s);
bool supervisor_is_quarantined(Supervisor *s);
/* Denials decided elsewhere cost trust like the supervisor's own (the kernel filter's, as the observer
 * counted them): n penalties. A score that falls below the policy's threshold quarantines the workload:
 * on_quarantine is called with an event that names no task (tid 0) and reason. Any thread; returns the
 * score after. */
int supervisor_penalize(Supervisor *s, uint64_t n, const char *reason);
/* True when SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP could be enabled on the listener. */
bool supervisor_has_sync_wakeup(const Supervisor *s) _pure_;

typedef struct SupervisorCounts {
        uint64_t decisions[_SUPERVISOR_ACTION_MAX]; /* by action, exact */
        uint64_t target_gone;                        /* targets that left before their answer */
} SupervisorCounts;

void supervisor_get_counts(Supervisor *s, SupervisorCounts *ret);

/* Tests only: from now on a reply that fails a call with errno decided fails it with replied instead,
 * while the decision (the event, the records) still says decided: the lie the observer's cross-check must
 * catch (forgeone.observer(7)). 0 turns it off. */
void supervisor_test_fake_reply_errno(Supervisor *s, int decided, int replied);

/* ---- restarts ---- */

#define SUPERVISOR_JOURNAL_SIZE 16384u

/* Checks that fd is a journal of this size and layout, or gives a fresh one a valid header:
 * -EBADMSG for a file that is neither. */
int supervisor_journal_init(int fd);

typedef struct SupervisorRecovery {
        unsigned replayed;  /* received by the predecessor, still waiting, decided now */
        unsigned answered;  /* received by the predecessor and answered, only not yet struck off */
        unsigned found;     /* taken off the queue by a predecessor killed before it wrote it down */
        unsigned refused;   /* such a one whose caller could not be told apart: failed with EINTR */
        unsigned killed;    /* such a one before any was written down (no id to answer): its caller killed */
} SupervisorRecovery;

/* A successor's first step on an adopted listener, before hosting it or starting the thread: decides
 * every notification the journal holds that still waits for its answer, then looks for one the
 * predecessor took off the queue but died before writing down (the journal says when it was about to
 * receive): such a one is still pending in the kernel (SECCOMP_IOCTL_NOTIF_ID_VALID finds it a few ids
 * past the last one written down), and its caller is the one task of the workload (config.cgroup_fd)
 * still blocked in a seccomp notification that is not in the journal once the queue was drained; its
 * registers (/proc/TID/syscall) are the notification (a caller not yet asleep is looked for again, for
 * at most 0.1 s: the one wait of this module). Without a cgroup, or when the caller cannot be told
 * apart, the call fails with EINTR: never let through undecided. Ids start at a random number per
 * listener: when the lost one is the very first of the listener (for a command, its execve, which is
 * always trapped), there is no id to answer with, and its caller is killed. */
int supervisor_recover(Supervisor *s, SupervisorRecovery *ret);

/* ---- hosting ---- */

/* The listener: POLLIN when a notification waits, POLLHUP once no task uses the filter. */
int supervisor_get_fd(Supervisor *s) _pure_;
/* After POLLIN: receives and handles one notification without blocking. 1 handled, 0 nothing was waiting
 * (the target left first), -ENOTCONN no task uses the filter any more, other negative errno on failure. */
int supervisor_dispatch(Supervisor *s);

/* Starts the dedicated thread (at most one; not together with supervisor_dispatch()). */
int supervisor_start_thread(Supervisor *s);
/* The dedicated thread's tid (for placing it, e.g. in its workload's cpu group), or -ESRCH. */
pid_t supervisor_get_thread_tid(Supervisor *s);
/* Waits at most timeout_usec for the dedicated thread to end (it ends when no task uses the filter
 * any more): 0 ended (its result in ret_result, optional), -ETIMEDOUT, -ESRCH when none was started. */
int supervisor_join_thread(Supervisor *s, uint64_t timeout_usec, int *ret_result);
