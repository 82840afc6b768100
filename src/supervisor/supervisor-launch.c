/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The listener handoff from a freshly forked child to its supervisor; see supervisor.h for why the
 * child makes no syscall between installing the filter and the parent taking the listener. */
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>

#include "forgeone/seccomp-notify.h"
#include "forgeone/supervisor.h"

enum {
        HANDOFF_PENDING,
        HANDOFF_INSTALLED, /* child: listener fd published */
        HANDOFF_FAILED,    /* child: install failed, error published */
        HANDOFF_TAKEN,     /* parent: got it, the child may go on */
        HANDOFF_ABORTED,   /* parent: gave up, the child must not run unsupervised */
};

struct SupervisorHandoff {
        int state;
        int listener; /* fd number in the child */
        int error;    /* positive errno of a failed install */
};

/* Upper bound of the child's wait, in pause iterations (minutes on any CPU): only reached when the
 * parent died during the handoff. */
#define HANDOFF_SPIN_MAX (1ull << 33)

int supervisor_handoff_new(SupervisorHandoff **ret) {
        SupervisorHandoff *h;

        h = mmap(NULL, sizeof *h, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (h == MAP_FAILED)
                return -errno;
        h->state = HANDOFF_PENDING;
        h->listener = -1;
        *ret = h;
        return 0;
}

SupervisorHandoff *supervisor_handoff_free(SupervisorHandoff *h) {
        if (h)
                (void) munmap(h, sizeof *h);
        return NULL;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ __volatile__("yield" ::: "memory");
#endif
}

int supervisor_child_install(const PolicyFilter *f, SupervisorHandoff *h) {
        static const unsigned long flag_sets[] = {
                SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV |
                        SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_TSYNC_ESRCH,
                SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
                SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_TSYNC |
                        SECCOMP_FILTER_FLAG_TSYNC_ESRCH,
                SECCOMP_FILTER_FLAG_NEW_LISTENER,
        };
        struct sock_fprog prog;
        int fd = -EINVAL, state;

        if (!f || !h || !f->insns || f->n_insns == 0 || f->n_insns > BPF_MAXINSNS)
                fd = -EINVAL;
        else if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                fd = -errno;
        else {
                prog = (struct sock_fprog) { .len = (unsigned short) f->n_insns, .filter = f->insns };
                FOREACH_ELEMENT(flags, flag_sets) {
                        fd = seccomp_raw(SECCOMP_SET_MODE_FILTER, *flags, &prog);
                        if (fd != -EINVAL)
                                break;
                }
        }

        if (fd < 0) {
                h->error = -fd;
                __atomic_store_n(&h->state, HANDOFF_FAILED, __ATOMIC_RELEASE);
                return fd;
        }

        /* From here on every syscall is filtered: publish and spin, nothing else. */
        h->listener = fd;
        __atomic_store_n(&h->state, HANDOFF_INSTALLED, __ATOMIC_RELEASE);
        for (uint64_t i = 0;; i++) {
                state = __atomic_load_n(&h->state, __ATOMIC_ACQUIRE);
                if (state != HANDOFF_INSTALLED)
                        break;
                if (i > HANDOFF_SPIN_MAX)
                        __builtin_trap();
                cpu_relax();
        }
        if (state != HANDOFF_TAKEN)
                /* The parent could not take the listener: running on would leave every trapped call
                 * without an answer. Die without a syscall the filter could intercept. */
                __builtin_trap();
        return fd;
}

static bool fd_is_seccomp_listener(int fd) {
        char p[64], target[64];
        ssize_t n;

        snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
        n = readlink(p, target, sizeof target - 1);
        if (n < 0)
                return false;
        target[n] = 0;
        return streq(target, "anon_inode:seccomp notify");
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

int supervisor_handoff_receive(SupervisorHandoff *h, int pidfd, uint64_t timeout_usec, int *ret_listener) {
        uint64_t deadline;
        int state, fd;

        if (!h || pidfd < 0 || !ret_listener)
                return -EINVAL;

        deadline = now_usec() + (timeout_usec ?: 10 * 1000000u);
        for (unsigned i = 0;; i++) {
                struct pollfd p = { .fd = pidfd, .events = POLLIN };

                state = __atomic_load_n(&h->state, __ATOMIC_ACQUIRE);
                if (state == HANDOFF_INSTALLED)
                        break;
                if (state == HANDOFF_FAILED)
                        return -(h->error ?: EIO);
                if (now_usec() > deadline)
                        return -ETIMEDOUT;
                /* The install takes microseconds: yield first, then sleep in the pidfd, which also
                 * tells us when the child died before installing. */
                if (i < 200) {
                        sched_yield();
                        continue;
                }
                if (poll(&p, 1, 1) > 0 && (p.revents & (POLLIN | POLLHUP))) {
                        /* It may have published a failure just before exiting. */
                        if (__atomic_load_n(&h->state, __ATOMIC_ACQUIRE) == HANDOFF_FAILED)
                                return -(h->error ?: EIO);
                        return -ESRCH;
                }
        }

        fd = pidfd_getfd_raw(pidfd, h->listener);
        if (fd >= 0 && !fd_is_seccomp_listener(fd)) {
                safe_close(fd);
                fd = -EBADFD;
        }
        if (fd < 0) {
                __atomic_store_n(&h->state, HANDOFF_ABORTED, __ATOMIC_RELEASE);
                return fd;
        }
        /* With close-on-exec set, a listener we pass on (e.g. to the daemon's fd store) never leaks into
         * a program we start. */
        (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
        __atomic_store_n(&h->state, HANDOFF_TAKEN, __ATOMIC_RELEASE);
        *ret_listener = fd;
        return 0;
}
