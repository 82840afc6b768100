/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Whose credentials an emulated call runs under, at the least cost.
 *
 * The cache: a trapped task's credentials (from /proc/TID/status, 3-12 us)
 * are kept per task, together with a pidfd of that very task taken before
 * the first read (PIDFD_THREAD; a leader first seen at its exec: its
 * process's). An entry is used only while that pidfd says the task lives, so
 * a recycled tid (pid_max may be 32768) never inherits another task's entry.
 * The workload changes its credentials only through calls that the compiled
 * filter always traps (setuid and friends, setgroups, capset, umask, exec,
 * unshare, setns: see policy-compile.h); before answering them the
 * supervisor marks the entries they may make stale, which are read again,
 * through the same pidfd, on next use (an exec: its own thread group's only).
 * Without that guarantee (a filter compiled otherwise) every call reads
 * /proc afresh.
 *
 * The switch: the supervising thread takes on the target's fsuid, fsgid,
 * groups, effective capabilities and umask for the call (in an fs_struct
 * of its own), and a thread of the supervisor's own (the dedicated loop,
 * the workers) keeps them afterwards, so consecutive calls of one workload
 * switch nothing. CAP_SYS_PTRACE stays effective throughout, and is given
 * back whenever a call dropped it: the thread reads and writes the
 * target's memory, reads its /proc and takes its fds with it, also while
 * it holds another task's ids. It matters to file operations only on
 * procfs, where the emulation redoes the call with exactly the target's
 * capabilities (creds_procfs_guard()). Leaving a workload's ids for
 * another's needs CAP_SETUID/CAP_SETGID, which the thread takes back from
 * its own permitted set first.
 */
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "supervisor-internal.h"


/* ---- the cache ---- */

static void entry_drop(CredsCacheEntry *e) {
        e->pidfd = safe_close(e->pidfd);
        e->stale = false;
}

/* A free entry, else the least recently used. */
static CredsCacheEntry *entry_victim(CredsCache *cc) {
        CredsCacheEntry *victim = &cc->entries[0];

        for (size_t i = 0; i < ELEMENTSOF(cc->entries); i++) {
                CredsCacheEntry *x = &cc->entries[i];

                if (x->pidfd < 0)
                        return x;
                if (x->last_use < victim->last_use)
                        victim = x;
        }
        return victim;
}

int creds_cache_get(CredsCache *cc, pid_t tid, const TargetCreds **ret) {
        CredsCacheEntry *e = NULL, *victim;
        _cleanup_close_ int pidfd = -EBADF;
        int r;

        if (!cc->enabled) {
                r = target_read_creds(tid, &cc->scratch);
                if (r < 0)
                        return r;
                *ret = &cc->scratch;
                return 0;
        }

        for (size_t i = 0; i < ELEMENTSOF(cc->entries); i++)
                if (cc->entries[i].pidfd >= 0 && cc->entries[i].creds.tid == tid) {
                        e = &cc->entries[i];
                        break;
                }
        if (e) {
                struct pollfd p = { .fd = e->pidfd, .events = POLLIN };
                /* Still the task the entry was made for: a live task's tid is never reused. */
                if (poll(&p, 1, 0) == 0) {
                        if (e->stale) {
                                /* It changed its credentials, or may have: read again, with the same pidfd
                                 * (taken before the first read, it still proves the task). */
                                r = target_read_creds(tid, &e->creds);
                                if (r < 0) {
                                        entry_drop(e);
                                        return r;
                                }
                                e->stale = false;
                        }
                        e->last_use = ++cc->clock;
                        *ret = &e->creds;
                        return 0;
                }
                entry_drop(e);
        }

        /* The pidfd first: if the task dies between it and the read, the entry is dropped on next use. */
        pidfd = pidfd_open_raw(tid, PIDFD_THREAD);
        if (pidfd < 0)
                return pidfd == -ESRCH ? -ENOENT : pidfd;
        victim = e ?: entry_victim(cc);
        r = target_read_creds(tid, &victim->creds);
        if (r < 0) {
                entry_drop(victim);
                return r;
        }
        safe_close(victim->pidfd);
        victim->pidfd = TAKE_FD(pidfd);
        victim->stale = false;
        victim->last_use = ++cc->clock;
        *ret = &victim->creds;
        return 0;
}

void creds_cache_forget(CredsCache *cc, pid_t tid) {
        for (size_t i = 0; i < ELEMENTSOF(cc->entries); i++)
                if (cc->entries[i].pidfd >= 0 && (tid <= 0 || cc->entries[i].creds.tid == tid))
                        cc->entries[i].stale = true;
}

void creds_cache_forget_exec(CredsCache *cc, pid_t tid) {
        CredsCacheEntry *e;
        pid_t tgid = 0;
        int pidfd;

        if (!cc->enabled)
                return; /* nothing kept */
        for (size_t i = 0; i < ELEMENTSOF(cc->entries) && tgid == 0; i++)
                if (cc->entries[i].pidfd >= 0 && cc->entries[i].creds.tid == tid)
                        tgid = cc->entries[i].creds.tgid;
        if (tgid == 0) {
                /* Not seen yet. A thread group's leader (the common case: a fresh child) is the one task a
                 * pidfd of its process can be opened for, and that pidfd proves its tid as long as the
                 * process lives: kept as the entry, to be read on first use. */
                pidfd = pidfd_open_raw(tid, 0);
                if (pidfd < 0) {
                        creds_cache_forget(cc, 0); /* its thread group is not known: everyone */
                        return;
                }
                tgid = tid;
                e = entry_victim(cc);
                safe_close(e->pidfd);
                e->pidfd = pidfd;
                e->creds = (TargetCreds) { .tid = tid, .tgid = tid };
                e->last_use = ++cc->clock;
        }
        for (size_t i = 0; i < ELEMENTSOF(cc->entries); i++)
                if (cc->entries[i].pidfd >= 0 && cc->entries[i].creds.tgid == tgid)
                        cc->entries[i].stale = true;
}

void creds_cache_init(CredsCache *cc, bool enabled) {
        *cc = (CredsCache) { .enabled = enabled };
        for (size_t i = 0; i < ELEMENTSOF(cc->entries); i++)
                cc->entries[i].pidfd = -EBADF;
}

void creds_cache_done(CredsCache *cc) {
        for (size_t i = 0; i < ELEMENTSOF(cc->entries); i++)
                entry_drop(&cc->entries[i]);
}

/* ---- the supervisor's own credentials, read once ---- */

static struct {
        bool init;
        uid_t fsuid;
        gid_t fsgid;
        gid_t groups[TARGET_MAX_GROUPS];
        int n_groups;
        struct __user_cap_data_struct caps[2];
} self_creds;

static pthread_once_t self_once = PTHREAD_ONCE_INIT;

static void self_creds_init(void) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };

        self_creds.fsuid = geteuid();
        self_creds.fsgid = getegid();
        self_creds.n_groups = getgroups(TARGET_MAX_GROUPS, self_creds.groups);
        if (self_creds.n_groups < 0)
                self_creds.n_groups = 0;
        if (syscall(SYS_capget, &h, self_creds.caps) == 0)
                self_creds.init = true;
}

static uint64_t self_effective(void) {
        return self_creds.caps[0].effective | ((uint64_t) self_creds.caps[1].effective << 32);
}

/* ---- what this thread currently holds ---- */

typedef struct ThreadCreds {
        bool switched;     /* not the supervisor's own */
        bool fs_private;   /* unshare(CLONE_FS) done: umask is ours to set */
        bool exact;        /* CAP_SYS_PTRACE dropped for a procfs object (creds_procfs_guard()) */
        uid_t fsuid;
        gid_t fsgid;
        mode_t umask;
        uint64_t cap_eff;
        size_t n_groups;
        gid_t groups[TARGET_MAX_GROUPS];
} ThreadCreds;

static __thread ThreadCreds thread_creds;
static __thread bool thread_keeps_creds;

#define PTRACE_CAP (1ull << CAP_SYS_PTRACE)
#define DAC_SEARCH_CAP (1ull << CAP_DAC_READ_SEARCH)
#define SETID_CAPS ((1ull << CAP_SETUID) | (1ull << CAP_SETGID))

void creds_thread_keep(bool keep) {
        thread_keeps_creds = keep;
}

static int capset_effective(uint64_t eff) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2];

        memcpy(d, self_creds.caps, sizeof d);
        d[0].effective = (uint32_t) eff & d[0].permitted;
        d[1].effective = (uint32_t) (eff >> 32) & d[1].permitted;
        return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

/* Makes this thread hold exactly (uid, gid, groups, eff); only what differs is changed. */
static int thread_switch(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups, uint64_t eff) {
        ThreadCreds *tc = &thread_creds;
        bool groups_differ, ids_differ;
        int r;

        if (!tc->switched) {
                tc->fsuid = self_creds.fsuid;
                tc->fsgid = self_creds.fsgid;
                tc->cap_eff = self_effective();
                tc->n_groups = (size_t) self_creds.n_groups;
                memcpy(tc->groups, self_creds.groups, tc->n_groups * sizeof(gid_t));
        }
        groups_differ = tc->n_groups != n_groups || memcmp(tc->groups, groups, n_groups * sizeof(gid_t)) != 0;
        ids_differ = groups_differ || tc->fsgid != gid || tc->fsuid != uid;
        tc->switched = true;
        /* The ids of a workload without CAP_SETUID/CAP_SETGID cannot be left without them: take ours back
         * first (capset may raise what is permitted). */
        if (ids_differ && (tc->cap_eff & SETID_CAPS) != (self_effective() & SETID_CAPS)) {
                r = capset_effective(self_effective());
                if (r < 0)
                        goto fail;
                tc->cap_eff = self_effective();
        }
        /* Raw syscalls throughout: glibc's wrappers would change every thread of the process. */
        if (groups_differ) {
                if (syscall(SYS_setgroups, n_groups, groups) < 0) {
                        r = -errno;
                        goto fail;
                }
                tc->n_groups = n_groups;
                memcpy(tc->groups, groups, n_groups * sizeof(gid_t));
        }
        if (tc->fsgid != gid) {
                (void) syscall(SYS_setfsgid, gid);
                if ((gid_t) syscall(SYS_setfsgid, -1) != gid) {
                        r = -EPERM;
                        goto fail;
                }
                tc->fsgid = gid;
        }
        if (tc->fsuid != uid) {
                /* Leaving fsuid 0 clears the fs capabilities, coming back to it raises them: what the
                 * effective set is now is for the capset below to settle. */
                (void) syscall(SYS_setfsuid, uid);
                if ((uid_t) syscall(SYS_setfsuid, -1) != uid) {
                        r = -EPERM;
                        goto fail;
                }
                tc->fsuid = uid;
                tc->cap_eff = ~eff;
        }
        if (tc->cap_eff != eff) {
                r = capset_effective(eff);
                if (r < 0)
                        goto fail;
                tc->cap_eff = eff;
        }
        tc->switched = !(uid == self_creds.fsuid && gid == self_creds.fsgid && eff == self_effective() &&
                         n_groups == (size_t) self_creds.n_groups &&
                         memcmp(groups, self_creds.groups, n_groups * sizeof(gid_t)) == 0);
        return 0;

fail:
        /* Unknown state: go back to our own completely. */
        tc->fsuid = (uid_t) -1;
        creds_restore();
        return r;
}

int creds_enter(const TargetCreds *t, unsigned flags, CredsSaved *saved) {
        uint64_t want;
        uid_t uid = (flags & CREDS_REAL_IDS) ? t->ruid : t->fsuid;
        gid_t gid = (flags & CREDS_REAL_IDS) ? t->rgid : t->fsgid;
        int r;

        pthread_once(&self_once, self_creds_init);
        *saved = (CredsSaved) { .keep = thread_keeps_creds };
        if (!self_creds.init)
                return -EPERM;

        /* The umask is per fs_struct: give this thread its own, and the target's umask in it, so that
         * the creating calls get the mode the kernel would give them (a default ACL of the directory
         * replaces the umask, as for the workload). */
        if (!thread_creds.fs_private) {
                if (unshare(CLONE_FS) < 0)
                        return -errno;
                umask(0);
                thread_creds.umask = 0;
                thread_creds.fs_private = true;
        }
        if (thread_creds.umask != (t->umask & 0777)) {
                umask(t->umask & 0777);
                thread_creds.umask = t->umask & 0777;
        }

        if (flags & CREDS_REAL_IDS)
                /* access(2) without AT_EACCESS (access_override_creds()): the real ids, and the permitted
                 * capabilities when the real uid is 0, none otherwise. */
                want = t->ruid == 0 ? t->cap_prm : 0;
        else
                want = t->cap_eff;
        if (t->foreign_userns)
                want = 0; /* its capabilities mean nothing over our files */
        if (!(flags & CREDS_EXACT_CAPS))
                want |= self_effective() & PTRACE_CAP;
        want &= self_effective();

        r = thread_switch(uid, gid, t->groups, t->n_groups, want);
        if (r >= 0)
                thread_creds.exact = (flags & CREDS_EXACT_CAPS) && (self_effective() & PTRACE_CAP);
        return r;
}

void creds_leave(CredsSaved *saved) {
        ThreadCreds *tc = &thread_creds;

        if (!saved->keep) {
                creds_restore();
                return;
        }
        /* Kept between calls, but always with CAP_SYS_PTRACE: the next call reads its target's memory
         * and /proc before it takes on the target's credentials. */
        (void) tc;
        creds_ptrace_back();
}

int creds_search_override(bool on) {
        ThreadCreds *tc = &thread_creds;
        uint64_t want;
        int r;

        if (!tc->switched)
                return 0;
        want = on ? tc->cap_eff | (self_effective() & DAC_SEARCH_CAP) : tc->cap_eff;
        r = capset_effective(want);
        if (r < 0)
                creds_restore();
        return r;
}

void creds_ptrace_back(void) {
        ThreadCreds *tc = &thread_creds;

        if (tc->exact && tc->switched) {
                if (capset_effective(tc->cap_eff | PTRACE_CAP) >= 0)
                        tc->cap_eff |= PTRACE_CAP;
                else
                        creds_restore();
        }
        tc->exact = false;
}

void creds_restore(void) {
        ThreadCreds *tc = &thread_creds;

        tc->exact = false;
        if (!tc->switched)
                return;
        (void) capset_effective(self_effective());
        (void) syscall(SYS_setfsuid, self_creds.fsuid);
        (void) syscall(SYS_setfsgid, self_creds.fsgid);
        (void) syscall(SYS_setgroups, (size_t) self_creds.n_groups, self_creds.groups);
        /* setfsuid back to 0 does not give the fs capabilities back: the capset above came first only
         * for the non-fs ones; set them all again now that fsuid is ours. */
        (void) capset_effective(self_effective());
        tc->switched = false;
}

bool creds_procfs_guard(int fd, const struct stat *st, const TargetCreds *t, unsigned flags, CredsSaved *saved) {
        struct statfs sf;

        if (flags & CREDS_EXACT_CAPS)
                return false;
        /* Only a capability the target lacks makes a difference. */
        if ((t->cap_eff & PTRACE_CAP) && !t->foreign_userns)
                return false;
        /* procfs has an anonymous device (major 0), as tmpfs and overlayfs do; a block device's file system
         * is not procfs, and its files need no fstatfs() (one syscall less per emulated open). */
        if (st && major(st->st_dev) != 0)
                return false;
        if (fstatfs(fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
                return false;
        return creds_enter(t, flags | CREDS_EXACT_CAPS, saved) >= 0;
}
