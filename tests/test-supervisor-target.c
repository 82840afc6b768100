/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The supervisor's view of a target, tested on this very process (no root
 * needed: process_vm_readv, kcmp and /proc of one's own process are
 * allowed), and the listener handoff with a hand-made filter on a child.
 */
#include <fcntl.h>
#include <linux/filter.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../src/supervisor/supervisor-internal.h"
#include "forgeone/path-resolve.h"
#include "test-util.h"

static size_t ps;
static char *pages; /* two pages: read-write, then PROT_NONE */

static void setup(void) {
        ps = (size_t) sysconf(_SC_PAGESIZE);
        pages = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ck_assert_ptr_ne(pages, MAP_FAILED);
        ck_assert_int_eq(mprotect(pages + ps, ps, PROT_NONE), 0);
}

static void teardown(void) {
        munmap(pages, 2 * ps);
}

START_TEST(test_read_string) {
        char buf[4096];
        char *end = pages + ps;

        /* A string whose NUL is the last byte before an unmapped page reads completely. */
        memcpy(end - 6, "hello", 6);
        ck_assert_int_eq(target_read_string(getpid(), (uint64_t) (uintptr_t) (end - 6), buf, sizeof buf), 5);
        ck_assert_str_eq(buf, "hello");
        /* One that runs into the unmapped page is a fault, as for the kernel. */
        memcpy(end - 5, "hello", 5);
        ck_assert_int_eq(target_read_string(getpid(), (uint64_t) (uintptr_t) (end - 5), buf, sizeof buf), -EFAULT);
        /* No NUL within the limit. */
        memset(pages, 'a', ps);
        ck_assert_int_eq(target_read_string(getpid(), (uint64_t) (uintptr_t) pages, buf, 100), -ENAMETOOLONG);
        ck_assert_int_eq(target_read_string(getpid(), 0, buf, sizeof buf), -EFAULT);
        /* The empty string. */
        pages[10] = 0;
        ck_assert_int_eq(target_read_string(getpid(), (uint64_t) (uintptr_t) (pages + 10), buf, sizeof buf), 0);
}
END_TEST

START_TEST(test_read_write) {
        uint64_t v = 0x1122334455667788ull, w = 0;

        ck_assert_int_eq(target_read(getpid(), (uint64_t) (uintptr_t) &v, &w, sizeof w), 0);
        ck_assert_uint_eq(w, v);
        w = 42;
        ck_assert_int_eq(target_write(getpid(), (uint64_t) (uintptr_t) &v, &w, sizeof w), 0);
        ck_assert_uint_eq(v, 42);
        ck_assert_int_eq(target_read(getpid(), (uint64_t) (uintptr_t) (pages + ps), &w, sizeof w), -EFAULT);
        ck_assert_int_eq(target_write(getpid(), (uint64_t) (uintptr_t) (pages + ps - 4), &w, sizeof w), -EFAULT);
}
END_TEST

START_TEST(test_creds) {
        TargetCreds c;
        mode_t old = umask(027);

        ck_assert_int_eq(target_read_creds(getpid(), &c), 0);
        umask(old);
        ck_assert_int_eq(c.tgid, getpid());
        ck_assert_int_eq(c.ns_tgid, getpid());
        ck_assert_uint_eq(c.threads, 1);
        ck_assert_uint_eq(c.fsuid, geteuid());
        ck_assert_uint_eq(c.ruid, getuid());
        ck_assert_uint_eq(c.fsgid, getegid());
        ck_assert_uint_eq(c.umask, 027);
        ck_assert(!c.foreign_userns);
        ck_assert_int_eq(target_read_creds(0x3fffffff, &c), -ENOENT);
}
END_TEST

START_TEST(test_paths) {
        _cleanup_free_ char *cwd = NULL, *fdp = NULL;
        char here[4096];
        int fd;

        ck_assert_ptr_nonnull(getcwd(here, sizeof here));
        ck_assert_int_eq(target_base_path(getpid(), AT_FDCWD, "/", &cwd), 0);
        ck_assert_str_eq(cwd, here);
        fd = open("/etc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(target_fd_path(getpid(), fd, "/", &fdp), 0);
        ck_assert_str_eq(fdp, "/etc");
        free(TAKE_PTR(fdp));
        /* Outside the root it claims: refused. */
        ck_assert_int_eq(target_fd_path(getpid(), fd, "/usr", &fdp), -EXDEV);
        close(fd);
        ck_assert_int_eq(target_fd_path(getpid(), 9999, "/", &fdp), -EBADF);
        ck_assert_int_eq(target_base_path(getpid(), 9999, "/", &fdp), -EBADF);
        ck_assert_int_eq(target_base_path(getpid(), -42, "/", &fdp), -EBADF);
        {
                /* A relative path on what is no directory with a path: ENOTDIR, as the kernel's walk. */
                int p[2];
                ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
                ck_assert_int_eq(target_base_path(getpid(), p[0], "/", &fdp), -ENOTDIR);
                close(p[0]);
                close(p[1]);
        }
}
END_TEST

static void *sleeper(void *arg) {
        pause();
        return NULL;
}

START_TEST(test_memory_stable) {
        char stack[64] = "/bin/true";
        static const char *literal = "/bin/true";
        char *heap = strdup("/bin/true");
        char *shared = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        uint64_t a;
        size_t n = 10;
        pthread_t t;

        ck_assert_ptr_ne(shared, MAP_FAILED);
        strcpy(shared, "/bin/true");

        a = (uint64_t) (uintptr_t) stack;
        ck_assert(target_memory_stable(getpid(), -1, &a, &n, 1));
        a = (uint64_t) (uintptr_t) heap;
        ck_assert(target_memory_stable(getpid(), -1, &a, &n, 1));
        /* Our own executable's read-only data cannot change while we run it (ETXTBSY). */
        a = (uint64_t) (uintptr_t) literal;
        ck_assert(target_memory_stable(getpid(), -1, &a, &n, 1));
        /* Shared memory can be written by another process at any time. */
        a = (uint64_t) (uintptr_t) shared;
        ck_assert(!target_memory_stable(getpid(), -1, &a, &n, 1));
        /* Straddling into an unmapped page is not covered. */
        a = (uint64_t) (uintptr_t) (pages + ps - 4);
        ck_assert(!target_memory_stable(getpid(), -1, &a, &n, 1));

        /* A second thread shares all of it. */
        ck_assert_int_eq(pthread_create(&t, NULL, sleeper, NULL), 0);
        a = (uint64_t) (uintptr_t) stack;
        ck_assert(!target_memory_stable(getpid(), -1, &a, &n, 1));
        free(heap);
        munmap(shared, ps);
}
END_TEST

/* ---- who else could change what a call will find: target_exclusive() ---- */

static volatile int vfork_verdict = -1;

static int vfork_child_checks(void *arg) {
        /* A CLONE_VM|CLONE_VFORK child: its parent waits for it, so it alone can use what they share. */
        vfork_verdict = target_exclusive((pid_t) syscall(SYS_gettid), -1);
        return 0;
}

static int child_sleeps(void *arg) {
        usleep(300000);
        return 0;
}

static void *vfork_no_vm(void *arg) {
        /* Blocked in clone(CLONE_VFORK) without CLONE_VM: its child has memory of its own and may exit at
         * any moment, after which this thread writes what it shares with the main thread. */
        static char stack[65536];
        pid_t c = clone(child_sleeps, stack + sizeof stack, CLONE_VFORK | SIGCHLD, NULL);
        if (c > 0)
                (void) waitpid(c, NULL, 0);
        return NULL;
}

START_TEST(test_exclusive) {
        static char stack[65536];
        pthread_t t;
        pid_t c;

        ck_assert(target_exclusive(getpid(), -1));

        c = clone(vfork_child_checks, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
        ck_assert_int_gt(c, 0);
        ck_assert_int_eq(waitpid(c, NULL, 0), c);
        ck_assert_int_eq(vfork_verdict, 1);

        /* A child sharing only the fd table or only the fs (cwd) is another task that can change them. */
        c = fork();
        ck_assert_int_ge(c, 0);
        if (c == 0) {
                pid_t me = getpid(), g;
                static char stack2[65536];

                g = clone(child_sleeps, stack2 + sizeof stack2, CLONE_FILES | SIGCHLD, NULL);
                bool shared = g > 0 && !target_exclusive(me, -1);
                if (g > 0)
                        (void) waitpid(g, NULL, 0);
                _exit(shared ? 0 : 1);
        }
        {
                int st;
                ck_assert_int_eq(waitpid(c, &st, 0), c);
                ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        }

        ck_assert_int_eq(pthread_create(&t, NULL, vfork_no_vm, NULL), 0);
        usleep(100000);
        ck_assert(!target_exclusive((pid_t) syscall(SYS_gettid), -1));
        ck_assert_int_eq(pthread_join(t, NULL), 0);
}
END_TEST

START_TEST(test_proc_fd_parse) {
        pid_t pid;
        int fd;

        ck_assert_int_eq(path_parse_proc_fd("/proc/12/fd/3", &pid, &fd), 0);
        ck_assert_int_eq(pid, 12);
        ck_assert_int_eq(fd, 3);
        ck_assert_int_eq(path_parse_proc_fd("/proc/12/task/13/fd/0", &pid, &fd), 0);
        ck_assert_int_eq(pid, 12);
        ck_assert_int_eq(fd, 0);
        ck_assert_int_eq(path_parse_proc_fd("/proc/12/fd/3/x", &pid, &fd), -EINVAL);
        ck_assert_int_eq(path_parse_proc_fd("/proc/self/fd/3", &pid, &fd), -EINVAL);
        ck_assert_int_eq(path_parse_proc_fd("/tmp/12/fd/3", &pid, &fd), -EINVAL);
}
END_TEST

/* /proc/self resolved for a given task, not for the supervisor. */
START_TEST(test_proc_self) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
        int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        PathResolveTask task = { .pid = getppid(), .tid = getppid(), .root_path = "/" };
        unsigned flags = 0;
        char expect[64];
        int fd;

        ck_assert_int_ge(root, 0);
        ck_assert_int_eq(path_resolve_in_root(root, &task, NULL, "/proc/self/status", 0, &a, NULL, NULL), 0);
        snprintf(expect, sizeof expect, "/proc/%d/status", getppid());
        ck_assert_str_eq(a, expect);

        /* A magic fd link is not followed: the caller reopens the file from the task's table. */
        fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
        task.pid = task.tid = getpid();
        snprintf(expect, sizeof expect, "/proc/%d/fd/%d", getpid(), fd);
        ck_assert_int_eq(path_resolve_in_root(root, &task, NULL, expect, 0, &b, NULL, &flags), 0);
        ck_assert_str_eq(b, expect);
        ck_assert(flags & PATH_RESOLVE_RESULT_MAGIC);
        /* cwd is followed into the workload's root. */
        ck_assert_int_eq(chdir("/etc"), 0);
        ck_assert_int_eq(path_resolve_in_root(root, &task, NULL, "/proc/self/cwd/passwd", 0, &c, NULL, &flags), 0);
        ck_assert_str_eq(c, "/etc/passwd");
        ck_assert_uint_eq(flags, PATH_RESOLVE_RESULT_EXISTS | PATH_RESOLVE_RESULT_SYMLINK | PATH_RESOLVE_RESULT_MAGICLINK);
        close(fd);
        close(root);
}
END_TEST

/* The handoff, with a filter that traps write(2) (a policy could trap anything): the child never needs
 * a syscall to hand the listener over. */
START_TEST(test_handoff) {
        struct sock_filter insns[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_write, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        PolicyFilter f = { .insns = insns, .n_insns = ELEMENTSOF(insns) };
        SupervisorHandoff *h = NULL;
        struct seccomp_notif_sizes sizes;
        _Alignas(8) char buf[512] = {};
        struct seccomp_notif *req = (struct seccomp_notif *) buf;
        struct seccomp_notif_resp resp = {};
        int p[2], pidfd, listener, status;
        pid_t pid;

        if (seccomp_raw(SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
                return; /* no user notification on this kernel: the live tests say so */
        ck_assert_int_eq(pipe(p), 0);
        ck_assert_int_ge(supervisor_handoff_new(&h), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                if (supervisor_child_install(&f, h) < 0)
                        _exit(3);
                /* Trapped: answered with 7 by the parent below. */
                _exit(write(p[1], "x", 1) == 7 ? 0 : 4);
        }
        pidfd = pidfd_open_raw(pid, 0);
        ck_assert_int_ge(pidfd, 0);
        ck_assert_int_eq(supervisor_handoff_receive(h, pidfd, 0, &listener), 0);
        ck_assert_int_eq(fcntl(listener, F_GETFD), FD_CLOEXEC);
        ck_assert_int_eq(ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req), 0);
        ck_assert_int_eq(req->data.nr, __NR_write);
        resp.id = req->id;
        resp.val = 7;
        ck_assert_int_eq(ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp), 0);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        close(listener);
        close(pidfd);
        supervisor_handoff_free(h);
}
END_TEST

/* A filter the kernel refuses: the child's error reaches the parent. */
START_TEST(test_handoff_failure) {
        struct sock_filter bad[] = { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4096) };
        PolicyFilter f = { .insns = bad, .n_insns = 1 };
        SupervisorHandoff *h = NULL;
        int pidfd, listener = -1, status;
        pid_t pid;

        ck_assert_int_ge(supervisor_handoff_new(&h), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(supervisor_child_install(&f, h) < 0 ? 0 : 1);
        pidfd = pidfd_open_raw(pid, 0);
        ck_assert_int_ge(pidfd, 0);
        ck_assert_int_eq(supervisor_handoff_receive(h, pidfd, 0, &listener), -EINVAL);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        close(pidfd);
        supervisor_handoff_free(h);

        /* And a child that dies before installing anything. */
        ck_assert_int_ge(supervisor_handoff_new(&h), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(0);
        pidfd = pidfd_open_raw(pid, 0);
        ck_assert_int_eq(supervisor_handoff_receive(h, pidfd, 0, &listener), -ESRCH);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        close(pidfd);
        supervisor_handoff_free(h);
}
END_TEST

START_TEST(test_action_names) {
        ck_assert_str_eq(supervisor_action_to_string(SUPERVISOR_ACTION_CONTINUE), "continue");
        ck_assert_str_eq(supervisor_action_to_string(SUPERVISOR_ACTION_EMULATE), "emulate");
        ck_assert_str_eq(supervisor_action_to_string(SUPERVISOR_ACTION_DENY), "deny");
        ck_assert_str_eq(supervisor_action_to_string(SUPERVISOR_ACTION_QUARANTINE), "quarantine");
        ck_assert_ptr_null(supervisor_action_to_string(_SUPERVISOR_ACTION_MAX));
        ck_assert(emulate_supported("openat"));
        ck_assert(emulate_supported("connect"));
        ck_assert(!emulate_supported("execve"));
        ck_assert(!emulate_supported(NULL));
}
END_TEST

int main(void) {
        Suite *s = suite_create("supervisor-target");
        TCase *tc = tcase_create("memory");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_read_string);
        tcase_add_test(tc, test_read_write);
        tcase_add_test(tc, test_memory_stable);
        tcase_add_test(tc, test_exclusive);
        suite_add_tcase(s, tc);

        tc = tcase_create("proc");
        tcase_add_test(tc, test_creds);
        tcase_add_test(tc, test_paths);
        tcase_add_test(tc, test_proc_fd_parse);
        tcase_add_test(tc, test_proc_self);
        suite_add_tcase(s, tc);

        tc = tcase_create("handoff");
        tcase_add_test(tc, test_handoff);
        tcase_add_test(tc, test_handoff_failure);
        tcase_add_test(tc, test_action_names);
        suite_add_tcase(s, tc);
        return fo_test_run(s);
}
