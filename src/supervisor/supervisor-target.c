/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the supervisor reads about a trapped task: its memory, credentials, directories and mappings,
 * and the per-thread credential switch used to act as that task. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <linux/kcmp.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "forgeone/path-resolve.h"
#include "supervisor-internal.h"

#define PAGE_SIZE_GUESS 4096u

static size_t page_size(void) {
        static size_t ps;
        if (!ps) {
                long v = sysconf(_SC_PAGESIZE);
                ps = v > 0 ? (size_t) v : PAGE_SIZE_GUESS;
        }
        return ps;
}

int target_read(pid_t tid, uint64_t addr, void *buf, size_t len) {
        struct iovec local = { .iov_base = buf, .iov_len = len };
        struct iovec remote = { .iov_base = (void *) (uintptr_t) addr, .iov_len = len };
        ssize_t n;

        if (len == 0)
                return 0;
        if (addr == 0)
                return -EFAULT;
        n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
        if (n < 0)
                return errno == ESRCH ? -ENOENT : -EFAULT;
        return (size_t) n == len ? 0 : -EFAULT;
}

int target_write(pid_t tid, uint64_t addr, const void *buf, size_t len) {
        struct iovec local = { .iov_base = (void *) buf, .iov_len = len };
        struct iovec remote = { .iov_base = (void *) (uintptr_t) addr, .iov_len = len };
        ssize_t n;

        if (len == 0)
                return 0;
        if (addr == 0)
                return -EFAULT;
        n = process_vm_writev(tid, &local, 1, &remote, 1, 0);
        if (n < 0)
                return errno == ESRCH ? -ENOENT : -EFAULT;
        return (size_t) n == len ? 0 : -EFAULT;
}

int target_pidfd(pid_t tgid, int listener, uint64_t id) {
        int pidfd = pidfd_open_raw(tgid, 0), r;

        if (pidfd < 0)
                return pidfd == -ESRCH ? -ENOENT : pidfd;
        /* Still waiting for our answer after the pidfd was made: it is the same process. */
        r = seccomp_notif_id_valid_raw(listener, id);
        if (r < 0) {
                safe_close(pidfd);
                return r;
        }
        return pidfd;
}

int target_read_string(pid_t tid, uint64_t addr, char *buf, size_t size) {
        struct iovec local[1], remote[2];
        size_t ps = page_size(), first, total = 0;
        ssize_t n;

        if (addr == 0)
                return -EFAULT;
        /* One process_vm_readv, split at the page boundary so that a string ending just before an
         * unmapped page still reads completely (the kernel stops at the first bad iovec). */
        while (total < size - 1) {
                uint64_t a = addr + total;
                size_t want = size - 1 - total;
                unsigned nr = 1;

                first = MIN(want, ps - (size_t) (a % ps));
                remote[0] = (struct iovec) { .iov_base = (void *) (uintptr_t) a, .iov_len = first };
                if (want > first) {
                        remote[1] = (struct iovec) { .iov_base = (void *) (uintptr_t) (a + first),
                                                     .iov_len = MIN(want - first, ps) };
                        nr = 2;
                }
                local[0] = (struct iovec) { .iov_base = buf + total,
                                            .iov_len = remote[0].iov_len + (nr > 1 ? remote[1].iov_len : 0) };
                n = process_vm_readv(tid, local, 1, remote, nr, 0);
                if (n <= 0)
                        return n < 0 && errno == ESRCH ? -ENOENT : -EFAULT;
                char *nul = memchr(buf + total, 0, (size_t) n);
                if (nul)
                        return (int) (nul - buf);
                total += (size_t) n;
                if ((size_t) n < local[0].iov_len)
                        return -EFAULT;
        }
        return -ENAMETOOLONG;
}

static int read_small_file(const char *path, char *buf, size_t size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        size_t total = 0;

        if (fd < 0)
                return errno == ENOENT || errno == ESRCH ? -ENOENT : -errno;
        /* procfs hands out a whole seq_file record set per read when the buffer is large enough: one
         * read that does not fill the buffer is all there is. */
        while (total < size - 1) {
                ssize_t n = read(fd, buf + total, size - 1 - total);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == ESRCH ? -ENOENT : -errno;
                }
                if (n == 0)
                        break;
                total += (size_t) n;
                if (total < (size - 1) / 2)
                        break;
        }
        buf[total] = 0;
        return (int) total;
}

static const char *status_field(const char *status, const char *key) {
        size_t k = strlen(key);

        for (const char *p = status; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (strncmp(p, key, k) == 0 && p[k] == ':')
                        return p + k + 1;
        return NULL;
}

static struct stat self_userns;
static pthread_once_t self_userns_once = PTHREAD_ONCE_INIT;

static void self_userns_init(void) {
        (void) stat("/proc/self/ns/user", &self_userns);
}

int target_read_creds(pid_t tid, TargetCreds *ret) {
        char path[64], status[4096];
        const char *f;
        unsigned long u[4], g[4];
        struct stat a, b;
        int r;

        snprintf(path, sizeof path, "/proc/%d/status", tid);
        r = read_small_file(path, status, sizeof status);
        if (r < 0)
                return r;

        *ret = (TargetCreds) { .tid = tid };
        f = status_field(status, "Tgid");
        if (!f || sscanf(f, "%d", &ret->tgid) != 1)
                return -EIO;
        /* The innermost (last) entry is the id in the task's own pid namespace. */
        f = status_field(status, "NStgid");
        ret->ns_tgid = ret->tgid;
        if (f) {
                const char *e = strchr(f, '\n') ?: f + strlen(f), *q = e;
                while (q > f && q[-1] != '\t' && q[-1] != ' ')
                        q--;
                ret->ns_tgid = (pid_t) strtol(q, NULL, 10);
        }
        f = status_field(status, "NSpid");
        ret->ns_tid = tid;
        if (f) {
                const char *e = strchr(f, '\n') ?: f + strlen(f), *q = e;
                while (q > f && q[-1] != '\t' && q[-1] != ' ')
                        q--;
                ret->ns_tid = (pid_t) strtol(q, NULL, 10);
        }
        f = status_field(status, "Threads");
        if (!f || sscanf(f, "%u", &ret->threads) != 1)
                return -EIO;
        f = status_field(status, "Uid");
        if (!f || sscanf(f, "%lu %lu %lu %lu", &u[0], &u[1], &u[2], &u[3]) != 4)
                return -EIO;
        f = status_field(status, "Gid");
        if (!f || sscanf(f, "%lu %lu %lu %lu", &g[0], &g[1], &g[2], &g[3]) != 4)
                return -EIO;
        ret->ruid = (uid_t) u[0];
        ret->euid = (uid_t) u[1];
        ret->suid = (uid_t) u[2];
        ret->fsuid = (uid_t) u[3];
        ret->rgid = (gid_t) g[0];
        ret->egid = (gid_t) g[1];
        ret->sgid = (gid_t) g[2];
        ret->fsgid = (gid_t) g[3];
        f = status_field(status, "Umask");
        if (f) {
                unsigned m;
                if (sscanf(f, "%o", &m) == 1)
                        ret->umask = (mode_t) m;
        }
        f = status_field(status, "CapEff");
        if (!f || sscanf(f, "%" SCNx64, &ret->cap_eff) != 1)
                return -EIO;
        f = status_field(status, "CapPrm");
        if (!f || sscanf(f, "%" SCNx64, &ret->cap_prm) != 1)
                return -EIO;
        f = status_field(status, "CapInh");
        if (!f || sscanf(f, "%" SCNx64, &ret->cap_inh) != 1)
                return -EIO;
        f = status_field(status, "Groups");
        if (f) {
                const char *end = strchr(f, '\n');
                char *e;

                for (const char *p = f; p < (end ?: f + strlen(f));) {
                        unsigned long v = strtoul(p, &e, 10);
                        if (e == p)
                                break;
                        if (ret->n_groups >= TARGET_MAX_GROUPS)
                                return -E2BIG;
                        ret->groups[ret->n_groups++] = (gid_t) v;
                        p = e;
                }
        }

        /* Which user namespace only matters for what its capabilities mean: none, nothing to ask. */
        if (ret->cap_eff == 0)
                return 0;
        snprintf(path, sizeof path, "/proc/%d/ns/user", tid);
        if (stat(path, &a) < 0)
                return errno == ENOENT || errno == ESRCH ? -ENOENT : -errno;
        pthread_once(&self_userns_once, self_userns_init);
        b = self_userns;
        ret->foreign_userns = a.st_ino != b.st_ino || a.st_dev != b.st_dev;
        return 0;
}

static int readlink_proc(const char *path, char **ret) {
        char buf[PATH_MAX + 1];
        ssize_t n = readlink(path, buf, sizeof buf - 1);
        char *s;

        if (n < 0)
                return errno == ENOENT || errno == ESRCH ? -ENOENT : -errno;
        buf[n] = 0;
        s = strdup(buf);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* The path of what /proc/TID/cwd or /proc/TID/fd/N names, inside root_path. As a directory relative paths
 * start from, what has none is no directory (ENOTDIR), or a removed one (ENOENT). */
static int proc_path_in_root(const char *proc, const char *root_path, bool as_dir, char **ret) {
        _cleanup_free_ char *p = NULL;
        size_t n;
        int r;

        r = readlink_proc(proc, &p);
        if (r == -EACCES) {
                /* Ours to read, whichever workload's ids this thread holds (see creds_search_override()). */
                if (creds_search_override(true) >= 0) {
                        r = readlink_proc(proc, &p);
                        (void) creds_search_override(false);
                }
        }
        if (r == -ENOENT && !strstr(proc, "/cwd"))
                return -EBADF; /* no such descriptor */
        if (r < 0)
                return r;
        n = strlen(p);
        if (p[0] != '/')
                return as_dir ? -ENOTDIR : -ENOENT; /* pipe:[..], socket:[..], net:[..], anon_inode:.. */
        if (n > 10 && streq(p + n - 10, " (deleted)")) {
                struct stat st;

                /* Removed: a directory (lookups in it find nothing) or a file. */
                if (!as_dir)
                        return -ENOENT;
                return stat(proc, &st) == 0 && !S_ISDIR(st.st_mode) ? -ENOTDIR : -ENOENT;
        }
        return path_strip_root(root_path, p, ret);
}

int target_base_path(pid_t tid, int dirfd, const char *root_path, char **ret) {
        char proc[64];

        if (dirfd == AT_FDCWD)
                snprintf(proc, sizeof proc, "/proc/%d/cwd", tid);
        else if (dirfd < 0)
                return -EBADF;
        else
                snprintf(proc, sizeof proc, "/proc/%d/fd/%d", tid, dirfd);
        return proc_path_in_root(proc, root_path, true, ret);
}

int target_fd_path(pid_t tid, int fd, const char *root_path, char **ret) {
        char proc[64];

        if (fd < 0)
                return -EBADF;
        snprintf(proc, sizeof proc, "/proc/%d/fd/%d", tid, fd);
        return proc_path_in_root(proc, root_path, false, ret);
}

int target_read_fsize_limit(pid_t pid, uint64_t *ret) {
        char path[64], buf[4096];
        const char *f;
        int r;

        /* prlimit(2) of another process wants its ids or CAP_SYS_RESOURCE; /proc/PID/limits anyone may
         * read. */
        snprintf(path, sizeof path, "/proc/%d/limits", pid);
        r = read_small_file(path, buf, sizeof buf);
        if (r < 0)
                return r;
        f = strstr(buf, "\nMax file size");
        if (!f)
                return -EIO;
        f += strlen("\nMax file size");
        f += strspn(f, " ");
        if (strncmp(f, "unlimited", 9) == 0)
                *ret = UINT64_MAX;
        else if (sscanf(f, "%" SCNu64, ret) != 1)
                return -EIO;
        return 0;
}

/* Is task t blocked in a vfork whose child shares its memory (vfork(), or clone/clone3 with CLONE_VM and
 * CLONE_VFORK)? Such a task cannot run before that child execs or exits. A clone(CLONE_VFORK) without
 * CLONE_VM waits for a child with memory of its own, which may exit at any moment: that one is not. */
static bool task_in_vfork_vm(pid_t t) {
        char path[64], buf[256];
        long nr;
        unsigned long long a0;

        snprintf(path, sizeof path, "/proc/%d/syscall", t);
        if (read_small_file(path, buf, sizeof buf) < 0)
                return false;
        if (sscanf(buf, "%ld 0x%llx", &nr, &a0) != 2)
                return false;
#ifdef __NR_vfork
        if (nr == __NR_vfork)
                return true;
#endif
#if defined(__x86_64__) || defined(__i386__) || defined(__aarch64__)
        /* clone's first argument is the flags on these architectures. */
        if (nr == __NR_clone)
                return (a0 & (CLONE_VFORK | CLONE_VM)) == (CLONE_VFORK | CLONE_VM);
#endif
#ifdef __NR_clone3
        if (nr == __NR_clone3) {
                uint64_t flags;
                if (target_read(t, a0, &flags, sizeof flags) == 0)
                        return (flags & (CLONE_VFORK | CLONE_VM)) == (CLONE_VFORK | CLONE_VM);
        }
#endif
        return false;
}

/* How often task t gave up the CPU of its own accord: unchanged between two reads, it never ran. */
static int task_voluntary_switches(pid_t t, unsigned long long *ret) {
        char path[64], status[4096];
        const char *f;
        int r;

        snprintf(path, sizeof path, "/proc/%d/status", t);
        r = read_small_file(path, status, sizeof status);
        if (r < 0)
                return r;
        f = status_field(status, "voluntary_ctxt_switches");
        if (!f || sscanf(f, "%llu", ret) != 1)
                return -EIO;
        return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

static bool shares_with(pid_t tid, pid_t t) {
        /* kcmp answers 0 for the same object; it fails for a task that is gone (which shares nothing). */
        return syscall(SYS_kcmp, tid, t, KCMP_VM, 0, 0) == 0 ||
               syscall(SYS_kcmp, tid, t, KCMP_FS, 0, 0) == 0 ||
               syscall(SYS_kcmp, tid, t, KCMP_FILES, 0, 0) == 0;
}

/* The tasks other than tid that share its memory, fs (cwd, root) or descriptor table: how many (capped
 * at 2), and the first one. Every task is a candidate: those of the workload's cgroup when there is one,
 * else every task of the system (the workload's pid namespace is no bound: a child of a nested one still
 * shares). -errno when the list cannot be read. */
static int sharers(pid_t tid, int cgroup_fd, pid_t *ret_first) {
        _cleanup_free_ char *list = NULL;
        size_t size = 1 << 16;
        int n = 0;

        if (cgroup_fd >= 0) {
                _cleanup_close_ int fd = openat(cgroup_fd, "cgroup.threads", O_RDONLY | O_CLOEXEC);
                ssize_t k, total = 0;

                list = malloc(size);
                if (!list)
                        return -ENOMEM;
                if (fd < 0)
                        return -errno;
                while ((k = read(fd, list + total, size - 1 - total)) > 0)
                        total += k;
                if (k < 0 || (size_t) total >= size - 1)
                        return -EIO;
                list[total] = 0;
                for (char *p = list, *e; *p; p = e) {
                        long t = strtol(p, &e, 10);
                        if (e == p)
                                break;
                        if (t != tid && shares_with(tid, (pid_t) t) && n++ == 0)
                                *ret_first = (pid_t) t;
                        if (n > 1)
                                return n;
                }
                return n;
        }

        _cleanup_(closedirp) DIR *proc = opendir("/proc");
        struct dirent *de;

        if (!proc)
                return -errno;
        while ((de = readdir(proc))) {
                char tpath[300];
                _cleanup_(closedirp) DIR *tasks = NULL;
                struct dirent *te;

                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                snprintf(tpath, sizeof tpath, "/proc/%s/task", de->d_name);
                tasks = opendir(tpath);
                if (!tasks)
                        continue;
                while ((te = readdir(tasks))) {
                        long t = strtol(te->d_name, NULL, 10);
                        if (t > 0 && t != tid && shares_with(tid, (pid_t) t) && n++ == 0)
                                *ret_first = (pid_t) t;
                        if (n > 1)
                                return n;
                }
        }
        return n;
}

bool target_exclusive(pid_t tid, int cgroup_fd) {
        unsigned long long before, after;
        pid_t t = 0, again = 0;
        int n;

        n = sharers(tid, cgroup_fd, &t);
        if (n == 0)
                return true;
        if (n != 1)
                return false;
        /* One other task: fine only as a vfork parent waiting for tid itself, which it is when it waits in
         * a vfork that shares memory and no third task shares any of it (the vfork child is a sharer, and
         * tid is the only one). It must not have run in between our looks: its count of voluntary
         * switches brackets the second enumeration. */
        if (task_voluntary_switches(t, &before) < 0 || !task_in_vfork_vm(t))
                return false;
        n = sharers(tid, cgroup_fd, &again);
        if (n != 1 || again != t)
                return false;
        return task_in_vfork_vm(t) && task_voluntary_switches(t, &after) == 0 && after == before;
}

bool target_memory_stable(pid_t tid, int cgroup_fd, const uint64_t *addrs, const size_t *lens, size_t n) {
        _cleanup_free_ char *exe = NULL, *maps = NULL;
        char path[64];
        size_t size = 1 << 20;
        FILE *f;

        if (!target_exclusive(tid, cgroup_fd))
                return false;

        snprintf(path, sizeof path, "/proc/%d/exe", tid);
        (void) readlink_proc(path, &exe);

        snprintf(path, sizeof path, "/proc/%d/maps", tid);
        f = fopen(path, "re");
        if (!f)
                return false;
        maps = malloc(size);
        if (!maps) {
                fclose(f);
                return false;
        }

        bool ok = true;
        for (size_t i = 0; ok && i < n; i++) {
                uint64_t lo = addrs[i], hi = addrs[i] + lens[i];
                bool covered = false;

                rewind(f);
                while (fgets(maps, (int) size, f)) {
                        unsigned long long start, end;
                        char perms[8];
                        int consumed = 0;

                        if (sscanf(maps, "%llx-%llx %7s %*s %*s %*s %n", &start, &end, perms, &consumed) < 3)
                                continue;
                        if (lo < start || lo >= end)
                                continue;
                        char *name = consumed > 0 ? maps + consumed : (char *) "";
                        name[strcspn(name, "\n")] = 0;
                        bool anon = name[0] == 0 || streq(name, "[heap]") || streq(name, "[stack]");
                        /* A running executable cannot be written (ETXTBSY), so a read-only private
                         * mapping of it is as stable as anonymous memory. */
                        bool own_text = exe && streq(name, exe) && perms[1] != 'w';
                        if (perms[3] != 'p' || !(anon || own_text) || hi > end)
                                break;
                        covered = true;
                        break;
                }
                ok = covered;
        }
        fclose(f);
        return ok;
}
