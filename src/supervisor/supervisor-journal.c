/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The journal: notifications received and not yet answered, and the exact counters, in a shared mapping
 * of a file the owner keeps beyond its own life (systemd's fd store), so that a successor on the same
 * listener loses nothing (supervisor_recover()). See supervisor.h, "Restarts".
 *
 * Writing down costs one store before RECV, a copy of the notification after it, and one store after
 * the report: no syscall. A process killed at any instruction leaves the journal consistent: a slot is
 * HELD only once its copy is complete, and "receiving" stays set from before RECV until the received
 * notification is HELD, so the one window the journal cannot cover (the kernel handed a notification
 * over, the process died before writing it down) is known to the successor, which looks for it.
 */
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "supervisor-internal.h"

#define JOURNAL_MAGIC UINT64_C(0x4c4e524a31454f46) /* "FOE1JRNL" */
#define JOURNAL_VERSION 1u
/* How far past the last id written down a lost notification may lie: ids are given out in order, one
 * per trapped call, and those in between are calls interrupted while queued. */
#define JOURNAL_PROBE_IDS 4096u

_Static_assert(sizeof(SupervisorJournal) <= SUPERVISOR_JOURNAL_SIZE, "journal does not fit");

static bool journal_valid(const SupervisorJournal *j) {
        return j->magic == JOURNAL_MAGIC && j->version == JOURNAL_VERSION && j->notif_size <= JOURNAL_NOTIF_MAX;
}

int supervisor_journal_init(int fd) {
        struct seccomp_notif_sizes sizes;
        SupervisorJournal *j;
        struct stat st;
        int r = 0;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;
        if (st.st_size == 0 && ftruncate(fd, SUPERVISOR_JOURNAL_SIZE) < 0)
                return -errno;
        else if (st.st_size != 0 && st.st_size != SUPERVISOR_JOURNAL_SIZE)
                return -EBADMSG;
        if (seccomp_raw(SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
                return -errno;
        if (sizes.seccomp_notif > JOURNAL_NOTIF_MAX)
                return -EOVERFLOW;
        j = mmap(NULL, SUPERVISOR_JOURNAL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (j == MAP_FAILED)
                return -errno;
        if (j->magic == 0) {
                memset(j, 0, sizeof *j);
                j->version = JOURNAL_VERSION;
                j->notif_size = sizes.seccomp_notif;
                __atomic_store_n(&j->magic, JOURNAL_MAGIC, __ATOMIC_RELEASE);
        } else if (!journal_valid(j) || j->notif_size != sizes.seccomp_notif)
                r = -EBADMSG;
        (void) munmap(j, SUPERVISOR_JOURNAL_SIZE);
        return r;
}

int journal_map(int fd, SupervisorJournal **ret) {
        SupervisorJournal *j;
        int r;

        r = supervisor_journal_init(fd);
        if (r < 0)
                return r;
        j = mmap(NULL, SUPERVISOR_JOURNAL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (j == MAP_FAILED)
                return -errno;
        *ret = j;
        return 0;
}

void journal_unmap(SupervisorJournal *j) {
        if (j)
                (void) munmap(j, SUPERVISOR_JOURNAL_SIZE);
}

void journal_receiving(SupervisorJournal *j) {
        if (j)
                __atomic_store_n(&j->receiving, 1, __ATOMIC_SEQ_CST);
}

static JournalSlot *journal_take_slot(SupervisorJournal *j) {
        for (size_t i = 0; i < JOURNAL_SLOTS; i++) {
                uint64_t expected = JOURNAL_FREE;

                if (__atomic_compare_exchange_n(&j->slots[i].state, &expected, JOURNAL_WRITING, false,
                                                __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
                        return &j->slots[i];
        }
        return NULL;
}

void journal_received(SupervisorJournal *j, const struct seccomp_notif *req, size_t size) {
        JournalSlot *slot;

        if (!j)
                return;
        /* Full (more calls waiting in blocking emulations than slots): this one is not written down and
         * the "receiving" mark stays. If the process dies before answering it, the successor finds it only
         * if it was the last one received: the journal covers JOURNAL_SLOTS calls at a time. */
        slot = journal_take_slot(j);
        if (!slot)
                return;
        memcpy(slot->notif, req, MIN(size, (size_t) JOURNAL_NOTIF_MAX));
        slot->id = req->id;
        __atomic_store_n(&slot->state, JOURNAL_HELD, __ATOMIC_RELEASE);
        __atomic_store_n(&j->last_id, req->id, __ATOMIC_RELEASE);
        __atomic_store_n(&j->receiving, 0, __ATOMIC_RELEASE);
}

void journal_answered(SupervisorJournal *j, uint64_t id) {
        if (!j)
                return;
        for (size_t i = 0; i < JOURNAL_SLOTS; i++)
                if (__atomic_load_n(&j->slots[i].state, __ATOMIC_ACQUIRE) == JOURNAL_HELD && j->slots[i].id == id) {
                        __atomic_store_n(&j->slots[i].state, JOURNAL_FREE, __ATOMIC_RELEASE);
                        return;
                }
}

/* ---- recovery ---- */

static bool id_valid(Supervisor *s, uint64_t id) {
        return seccomp_notif_id_valid_raw(s->listener, id) >= 0;
}

/* Is task tid blocked waiting for a seccomp notification's answer (queued or received)? */
static bool task_in_notification(pid_t tid) {
        char p[64], buf[128];
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;

        snprintf(p, sizeof p, "/proc/%d/wchan", (int) tid);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        n = read(fd, buf, sizeof buf - 1);
        if (n <= 0)
                return false;
        buf[n] = 0;
        return strncmp(buf, "seccomp_do_user_notif", 21) == 0;
}

#define MAX_CANDIDATES 4096

/* Tasks of the workload's cgroup blocked in a seccomp notification; ret_threads: all its threads. */
static int candidates_scan(Supervisor *s, pid_t *tids, size_t *n, size_t *ret_threads) {
        _cleanup_close_ int fd = -EBADF;
        FILE *f;
        long t;

        *n = 0;
        fd = openat(s->cgroup_fd, "cgroup.threads", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        f = fdopen(fd, "re");
        if (!f)
                return -errno;
        fd = -EBADF;
        *ret_threads = 0;
        while (fscanf(f, "%ld", &t) == 1) {
                (*ret_threads)++;
                if (*n < MAX_CANDIDATES && task_in_notification((pid_t) t))
                        tids[(*n)++] = (pid_t) t;
        }
        fclose(f);
        return 0;
}

static void candidates_remove(pid_t *tids, size_t *n, pid_t tid) {
        for (size_t i = 0; i < *n; i++)
                if (tids[i] == tid) {
                        tids[i] = tids[--*n];
                        return;
                }
}

/* The registers of a task blocked in a syscall: "nr arg0 ... arg5 sp pc" (/proc/TID/syscall). */
static int task_syscall(pid_t tid, struct seccomp_notif *req) {
        char p[64];
        unsigned long long a[8];
        long nr;
        FILE *f;
        int k;

        snprintf(p, sizeof p, "/proc/%d/syscall", (int) tid);
        f = fopen(p, "re");
        if (!f)
                return -errno;
        k = fscanf(f, "%ld %llx %llx %llx %llx %llx %llx %llx %llx", &nr, &a[0], &a[1], &a[2], &a[3], &a[4], &a[5],
                   &a[6], &a[7]);
        fclose(f);
        if (k != 9 || nr < 0)
                return -ESRCH;
        req->pid = (uint32_t) tid;
        req->data.nr = (int) nr;
        req->data.arch = seccomp_arch_native(); /* libseccomp's tokens are the AUDIT_ARCH values */
        req->data.instruction_pointer = a[7];
        for (size_t i = 0; i < 6; i++)
                req->data.args[i] = a[i];
        return 0;
}

/* Receives and decides the notifications queued now (the dispatching thread does not run yet); their
 * callers are answered, not the one looked for. A task has one notification at a time, and one it makes
 * after its answer queues behind all that were there: after as many as the workload has threads, every
 * notification of the snapshot is received, whatever keeps coming. */
static void drain(Supervisor *s, pid_t *tids, size_t *n, pid_t *answered, size_t *n_answered, size_t max) {
        for (size_t k = 0; k < max; k++) {
                _Alignas(8) char buf[512] = {};
                struct seccomp_notif *req = (struct seccomp_notif *) buf;
                int r = supervisor_dispatch_one(s, req);

                if (r <= 0)
                        return;
                candidates_remove(tids, n, (pid_t) req->pid);
                if (*n_answered < MAX_CANDIDATES)
                        answered[(*n_answered)++] = (pid_t) req->pid;
        }
}

static void kill_task(pid_t tid) {
        (void) syscall(SYS_tgkill, tid, tid, SIGKILL); /* tgkill with tgid == tid fails for a thread: */
        (void) syscall(SYS_tkill, tid, SIGKILL);        /* the thread's death kills its process */
}

static int recover(Supervisor *s, void *userdata) {
        SupervisorRecovery *ret = userdata;
        SupervisorJournal *j = s->journal;
        SupervisorRecovery rec = {};
        _cleanup_free_ pid_t *tids = NULL, *replayed = NULL, *answered = NULL;
        size_t n = 0, n_replayed = 0, n_answered = 0;
        uint64_t lost = 0, last;
        bool have_lost = false, receiving;

        if (!j) {
                if (ret)
                        *ret = rec;
                return 0;
        }
        replayed = calloc(JOURNAL_SLOTS, sizeof *replayed);
        if (!replayed)
                return -ENOMEM;
        receiving = __atomic_load_n(&j->receiving, __ATOMIC_ACQUIRE);
        last = __atomic_load_n(&j->last_id, __ATOMIC_ACQUIRE);

        /* 1. What the predecessor wrote down: decided again if it still waits. */
        for (size_t i = 0; i < JOURNAL_SLOTS; i++) {
                JournalSlot *slot = &j->slots[i];
                uint64_t st = __atomic_load_n(&slot->state, __ATOMIC_ACQUIRE);
                _Alignas(8) unsigned char copy[JOURNAL_NOTIF_MAX];

                if (st == JOURNAL_WRITING) {
                        /* Died while copying: the copy is not to be trusted, the receipt was not
                         * complete, so "receiving" is still set and the search below finds it. */
                        __atomic_store_n(&slot->state, JOURNAL_FREE, __ATOMIC_RELEASE);
                        continue;
                }
                if (st != JOURNAL_HELD)
                        continue;
                if (!id_valid(s, slot->id)) {
                        __atomic_store_n(&slot->state, JOURNAL_FREE, __ATOMIC_RELEASE);
                        rec.answered++;
                        continue;
                }
                memcpy(copy, slot->notif, sizeof copy);
                replayed[n_replayed++] = (pid_t) ((const struct seccomp_notif *) copy)->pid;
                /* The report strikes the slot off. */
                supervisor_handle(s, (const struct seccomp_notif *) copy);
                rec.replayed++;
        }
        if (!receiving)
                goto done;

        /* 2. One taken off the queue and not written down: still pending in the kernel, a few ids past the
         * last one written down (ids are given out in order, from a random start per listener: before the
         * first one is written down there is nothing to count from). */
        if (last != 0)
                for (uint64_t k = 1; k <= JOURNAL_PROBE_IDS && !have_lost; k++)
                        if (id_valid(s, last + k)) {
                                lost = last + k;
                                have_lost = true;
                        }
        if (last != 0 && !have_lost)
                goto done; /* it was answered, or its caller is gone */

        /* Its caller: blocked in a seccomp notification in the workload's cgroup, and not among those
         * still queued (received and decided now) or decided again above. A caller whose notification was
         * taken may not be asleep yet when we first look: look again, briefly. */
        tids = calloc(MAX_CANDIDATES, sizeof *tids);
        answered = calloc(MAX_CANDIDATES, sizeof *answered);
        if (tids && answered && s->cgroup_fd >= 0) {
                memcpy(answered, replayed, n_replayed * sizeof *replayed);
                n_answered = n_replayed;
                for (unsigned attempt = 0; attempt < 50; attempt++) {
                        if (attempt > 0)
                                (void) usleep(2000);
                        size_t threads = 0;

                        if (candidates_scan(s, tids, &n, &threads) < 0) {
                                n = 0;
                                break;
                        }
                        for (size_t i = 0; i < n_answered; i++)
                                candidates_remove(tids, &n, answered[i]);
                        drain(s, tids, &n, answered, &n_answered, threads + 16);
                        for (size_t i = 0; i < n;)
                                if (!task_in_notification(tids[i]))
                                        tids[i] = tids[--n];
                                else
                                        i++;
                        if (n > 0)
                                break;
                }
        } else
                n = 0;

        if (have_lost && n == 1 && policy_graph_policy(s->graph)->n_arches == 1 && id_valid(s, lost)) {
                /* The registers do not say which ABI a call was made on: only where the policy admits the
                 * native one alone are they the notification. */
                _Alignas(8) char buf[512] = {};
                struct seccomp_notif *req = (struct seccomp_notif *) buf;

                if (task_syscall(tids[0], req) >= 0) {
                        req->id = lost;
                        journal_received(j, req, s->sizes.seccomp_notif);
                        supervisor_handle(s, req);
                        rec.found++;
                        goto done;
                }
        }
        if (have_lost && id_valid(s, lost)) {
                SupervisorEvent ev = {
                        .id = lost,
                        .verdict = POLICY_VERDICT_DENY,
                        .rule_id = "supervisor",
                        .reason = "received by a supervisor that died; its caller could not be identified",
                        .action = SUPERVISOR_ACTION_DENY,
                        .error = EINTR,
                        .generation = s->generation,
                };
                int r = reply_value(s, lost, EINTR, 0);
                ev.target_gone = r == -ENOENT;
                supervisor_report(s, &ev);
                rec.refused++;
        } else if (!have_lost)
                /* No id to answer with: a caller that can never be answered is killed rather than left
                 * waiting for ever. */
                for (size_t i = 0; i < n; i++) {
                        kill_task(tids[i]);
                        rec.killed++;
                }
done:
        __atomic_store_n(&j->receiving, 0, __ATOMIC_RELEASE);
        if (ret)
                *ret = rec;
        return (int) (rec.replayed + rec.found + rec.refused + rec.killed);
}

int supervisor_recover(Supervisor *s, SupervisorRecovery *ret) {
        /* What it decides again is decided as any call is: on the supervisor's own thread. */
        return supervisor_on_own_thread(s, recover, ret);
}
