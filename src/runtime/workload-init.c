/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The child side of a plain workload: our init (pid 1 of the workload's pid namespace) and the command it
 * starts. See workload-init.h for the contract; raw syscalls and the stack only. */
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forgeone/seccomp-notify.h"
#include "workload-init.h"

#if defined(__x86_64__)
#define INIT_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define INIT_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "no audit arch for this architecture"
#endif

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

struct fo_clone_args {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
                set_tid_size, cgroup;
};

static void copy_text(char *dst, size_t size, const char *a, const char *b) {
        size_t o = 0;

        for (const char *s = a; s && *s && o + 1 < size; s++)
                dst[o++] = *s;
        for (const char *s = b; s && *s && o + 1 < size; s++)
                dst[o++] = *s;
        dst[o] = 0;
}

static _noreturn_ void fail(const WorkloadInitArgs *a, int error, const char *what, const char *detail) {
        a->page->setup_error = error > 0 ? error : -error;
        copy_text(a->page->setup_message, sizeof a->page->setup_message, what, detail);
        _exit(WORKLOAD_INIT_EXIT_SETUP);
}

/* Sends the command's pidfd up to the parent (SCM_RIGHTS). */
static int send_fd(int sock, int fd) {
        char dummy = 'p';
        struct iovec iov = { .iov_base = &dummy, .iov_len = 1 };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } u = {};
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = u.buf,
                .msg_controllen = sizeof u.buf,
        };
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
        return sendmsg(sock, &mh, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

/* Init may wait, forward signals and exit; nothing else, even if someone takes control of it. */
static int install_init_filter(void) {
#define ALLOW(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
        struct sock_filter insns[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, INIT_AUDIT_ARCH, 1, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                ALLOW(__NR_wait4),
                ALLOW(__NR_waitid),
                ALLOW(__NR_kill),
                ALLOW(__NR_rt_sigtimedwait),
                ALLOW(__NR_rt_sigprocmask),
                ALLOW(__NR_rt_sigreturn),
                ALLOW(__NR_restart_syscall),
                ALLOW(__NR_exit),
                ALLOW(__NR_exit_group),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        };
#undef ALLOW
        struct sock_fprog prog = { .len = ELEMENTSOF(insns), .filter = insns };

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        return seccomp_raw(SECCOMP_SET_MODE_FILTER, 0, &prog) < 0 ? -errno : 0;
}

/* From the bounding, ambient, inheritable, permitted and effective sets; errno set on failure. */
static int drop_ptrace_capability(void) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = {};

        if (prctl(PR_CAPBSET_DROP, CAP_SYS_PTRACE, 0, 0, 0) < 0 && errno != EINVAL)
                return -1;
        (void) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_SYS_PTRACE, 0, 0);
        if (syscall(SYS_capget, &h, d) < 0)
                return -1;
        for (int i = 0; i < 2; i++) {
                uint32_t bit = CAP_SYS_PTRACE / 32 == i ? 1u << (CAP_SYS_PTRACE % 32) : 0;
                d[i].effective &= ~bit;
                d[i].permitted &= ~bit;
                d[i].inheritable &= ~bit;
        }
        return (int) syscall(SYS_capset, &h, d);
}

static _noreturn_ void run_command(const WorkloadInitArgs *a) {
        sigset_t none;
        int r;

        /* Only init keeps the page: what the command could write there is not its to write. */
        (void) munmap(a->page, sizeof *a->page);
        if (!a->survive_owner)
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (!a->fn)
                /* Exactly 0, 1 and 2 cross the exec. */
                (void) syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);
        /* Never CAP_SYS_PTRACE, whatever it runs as: init, our pid 1 beside it, is not dumpable and holds a
         * copy of the caller's memory, which only that capability could read (/proc/1/mem, environ, fd). */
        if (drop_ptrace_capability() < 0) {
                dprintf(STDERR_FILENO, "forgeone: cannot drop CAP_SYS_PTRACE: %s\n", strerrordesc_np(errno));
                _exit(WORKLOAD_INIT_EXIT_SETUP);
        }
        /* Init made itself undumpable before cloning us; the command is an ordinary process again (exec
         * would do the same), which its supervisor reads as such without needing CAP_SYS_PTRACE. */
        (void) prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
        if (a->uid != 0 || a->gid != 0) {
                /* Raw syscalls: glibc's wrappers would wait for the threads of the parent we were cloned
                 * from, which are not here. */
                if (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setresgid, a->gid, a->gid, a->gid) < 0 ||
                    syscall(SYS_setresuid, a->uid, a->uid, a->uid) < 0) {
                        dprintf(STDERR_FILENO, "forgeone: cannot switch to uid %u: %s\n", (unsigned) a->uid,
                                strerrordesc_np(errno));
                        _exit(WORKLOAD_INIT_EXIT_SETUP);
                }
                if (!a->survive_owner)
                        (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        }
        if (a->controlling_tty && isatty(STDIN_FILENO)) {
                /* A session of its own, led by the command, with the terminal it was given: job control
                 * and the terminal's signals work as in a login shell. */
                if (setsid() < 0 || ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0) {
                        dprintf(STDERR_FILENO, "forgeone: cannot take the terminal: %s\n", strerrordesc_np(errno));
                        _exit(WORKLOAD_INIT_EXIT_SETUP);
                }
        }
        if (a->cwd && chdir(a->cwd) < 0) {
                dprintf(STDERR_FILENO, "forgeone: cannot change to %s: %s\n", a->cwd, strerrordesc_np(errno));
                _exit(WORKLOAD_INIT_EXIT_SETUP);
        }
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);

        r = supervisor_child_install(a->filter, a->handoff);
        if (r < 0) {
                dprintf(STDERR_FILENO, "forgeone: cannot install the seccomp filter: %s\n", strerrordesc_np(-r));
                _exit(WORKLOAD_INIT_EXIT_SETUP);
        }
        if (a->fn)
                _exit(a->fn(a->userdata));
        if (a->envp)
                execvpe(a->argv[0], a->argv, a->envp);
        else
                execvp(a->argv[0], a->argv);
        dprintf(STDERR_FILENO, "forgeone: cannot execute %s: %s\n", a->argv[0], strerrordesc_np(errno));
        _exit(errno == ENOENT ? 127 : 126);
}

/* Our environment strings are the caller's (we are its clone), and /proc/1/environ shows them to the
 * workload: procfs lets a process of the same uid read the environment of one that is not dumpable
 * (PTRACE_MODE_READ; seen on Linux 6.18, where /proc/1/mem and fd/ are refused). The command has its own
 * copy; ours is cleared where the kernel looks: [env_start, env_end) of /proc/self/stat (shrinking the
 * range with PR_SET_MM is refused here, EPERM, even to root). */
static void clear_own_environment(void) {
        char buf[2048];
        unsigned long long start = 0, end = 0;
        const char *p = NULL;
        int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC), field = 2;
        ssize_t n;

        if (fd < 0)
                return;
        n = read(fd, buf, sizeof buf - 1);
        (void) close(fd);
        if (n <= 0)
                return;
        buf[n] = 0;
        /* After the comm's closing parenthesis the fields are separated by single spaces. */
        for (ssize_t i = n - 1; i >= 0; i--)
                if (buf[i] == ')') {
                        p = buf + i + 1;
                        break;
                }
        for (; p && *p && field < 51; p++)
                if (*p == ' ') {
                        field++;
                        if (field == 50)
                                start = strtoull(p + 1, NULL, 10);
                        else if (field == 51)
                                end = strtoull(p + 1, NULL, 10);
                }
        if (start && end > start && end - start < (64u << 20))
                memset((void *) (uintptr_t) start, 0, (size_t) (end - start));
}

_noreturn_ void workload_init_main(const WorkloadInitArgs *a) {
        struct fo_clone_args ca = {};
        sigset_t all;
        int pidfd = -1, r;
        pid_t command;
        char go;
        ssize_t k;

        /* Handlers inherited from the caller must not run here. All signals are taken synchronously. */
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) signal(sig, SIG_DFL);
        sigfillset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, NULL);
        /* If the caller dies, we die, and with us the namespace. "go" closes the race with its death.
         * Unless the owner hands us over to its successor. */
        if (!a->survive_owner)
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        do
                k = recv(a->sync_fd, &go, 1, 0);
        while (k < 0 && errno == EINTR);
        if (k != 1)
                _exit(WORKLOAD_INIT_EXIT_SETUP);

        /* Our mounts stay ours: the namespace is a copy of the caller's, propagation included. */
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                fail(a, errno, "cannot make / a slave mount: ", strerrordesc_np(errno));
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                fail(a, errno, "cannot mount /proc for the workload's pid namespace: ", strerrordesc_np(errno));
        if (a->root_directory && (chroot(a->root_directory) < 0 || chdir("/") < 0))
                fail(a, errno, "cannot change the workload's root: ", strerrordesc_np(errno));
        if (a->stdio)
                for (int i = 0; i < 3; i++)
                        if (a->stdio[i] >= 0 && a->stdio[i] != i && dup2(a->stdio[i], i) < 0)
                                fail(a, errno, "cannot set up the standard file descriptors: ", strerrordesc_np(errno));
        /* The command must not be able to read our memory or take our fds. */
        (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

        ca.flags = CLONE_PIDFD;
        ca.pidfd = (uint64_t) (uintptr_t) &pidfd;
        ca.exit_signal = SIGCHLD;
        command = (pid_t) syscall(SYS_clone3, &ca, sizeof ca);
        if (command < 0 && errno == ENOSYS) /* systemd's RestrictNamespaces= refuses clone3() so */
                command = (pid_t) syscall(SYS_clone, (unsigned long) (CLONE_PIDFD | SIGCHLD), NULL, &pidfd, NULL, NULL);
        if (command < 0)
                fail(a, errno, "cannot start the command: ", strerrordesc_np(errno));
        if (command == 0)
                run_command(a);

        clear_own_environment();
        r = send_fd(a->sync_fd, pidfd);
        if (r < 0) {
                (void) kill(command, SIGKILL);
                fail(a, r, "cannot hand the command to the supervisor: ", strerrordesc_np(-r));
        }
        (void) close(pidfd);
        (void) close(a->sync_fd);
        (void) syscall(SYS_close_range, 3u, ~0u, 0u);

        r = install_init_filter();
        if (r < 0) {
                (void) kill(command, SIGKILL);
                fail(a, r, "cannot install init's filter: ", strerrordesc_np(-r));
        }

        for (;;) {
                siginfo_t si;
                int sig = (int) syscall(SYS_rt_sigtimedwait, &all, &si, NULL, _NSIG / 8);

                if (sig == SIGCHLD) {
                        for (;;) {
                                int status;
                                pid_t p = (pid_t) syscall(SYS_wait4, -1, &status, WNOHANG | __WALL, NULL);

                                if (p <= 0)
                                        break;
                                if (p != command)
                                        continue; /* an orphan it left: reaped */
                                a->page->command_status = status;
                                __atomic_store_n(&a->page->command_ended, 1, __ATOMIC_RELEASE);
                                /* Our exit ends the namespace: the kernel kills what is left. */
                                syscall(SYS_exit_group,
                                        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
                        }
                } else if (sig == SIGTERM || sig == SIGHUP || sig == SIGUSR1 || sig == SIGUSR2)
                        (void) kill(command, sig);
                else if ((sig == SIGINT || sig == SIGQUIT) && si.si_code <= 0)
                        /* Sent by a process (forgeonectl passing on its Ctrl-C); a terminal's goes to the
                         * whole foreground process group, the command included (SI_KERNEL). */
                        (void) kill(command, sig);
        }
}
