/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The seccomp user-notification kernel interface as ForgeOne uses it: the
 * constants that the Linux 6.1 headers of the build machine lack, and thin
 * raw-syscall wrappers (glibc has none for seccomp(2), pidfd_open(2),
 * pidfd_getfd(2), openat2(2)). The wrappers return >= 0 or a negative errno
 * and never touch anything but their arguments.
 */

#include <errno.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef SECCOMP_ADDFD_FLAG_SEND
#define SECCOMP_ADDFD_FLAG_SEND (1UL << 1)
#endif
/* Linux 6.6: the supervisor asks the kernel to wake the target on the CPU
 * that answered, which halves the round trip when both ping-pong. */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif
#ifndef __NR_openat2
#define __NR_openat2 437
#endif
#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif

static inline int seccomp_raw(unsigned op, unsigned long flags, void *arg) {
        long r = syscall(__NR_seccomp, op, flags, arg);
        return r < 0 ? -errno : (int) r;
}

static inline int pidfd_open_raw(pid_t pid, unsigned flags) {
        long r = syscall(__NR_pidfd_open, pid, flags);
        return r < 0 ? -errno : (int) r;
}

static inline int pidfd_getfd_raw(int pidfd, int targetfd) {
        long r = syscall(__NR_pidfd_getfd, pidfd, targetfd, 0);
        return r < 0 ? -errno : (int) r;
}

static inline int openat2_raw(int dirfd, const char *path, const struct open_how *how) {
        long r = syscall(__NR_openat2, dirfd, path, how, sizeof *how);
        return r < 0 ? -errno : (int) r;
}

/* NOTIF_ID_VALID: 0 while the target still waits for this notification,
 * -ENOENT once it was interrupted or died (what was read may be stale). */
static inline int seccomp_notif_id_valid_raw(int listener, uint64_t id) {
        return ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0 ? -errno : 0;
}
