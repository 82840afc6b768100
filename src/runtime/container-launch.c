/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The child side of a container launch: everything init does between
 * clone() and execve(). It runs in the freshly cloned process (no threads,
 * its own copy of the parent's memory), so it may allocate (the caller
 * clones from a thread that holds no lock, and the allocator's per-thread
 * arena is that thread's); credentials are changed with raw syscalls, since
 * glibc's wrappers would wait for threads of the parent that are not here.
 * It never returns. Failures are sent to the parent as a LaunchReport on the sync
 * socket, naming the step and the path, then the child exits.
 */
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container-launch.h"
#include "forgeone/container.h"
#include "forgeone/supervisor.h"

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

struct fo_mount_attr {
        uint64_t attr_set, attr_clr, propagation, userns_fd;
};

static _noreturn_ void fail(const LaunchArgs *a, int error, const char *format, ...) _printf_(3, 4);

static _noreturn_ void fail(const LaunchArgs *a, int error, const char *format, ...) {
        LaunchReport rep = { .error = error > 0 ? error : -error };
        va_list ap;

        va_start(ap, format);
        vsnprintf(rep.message, sizeof rep.message, format, ap);
        va_end(ap);
        (void) send(a->sync_fd, &rep, sizeof rep, MSG_NOSIGNAL);
        _exit(LAUNCH_EXIT_SETUP);
}

static char *join(const char *a, const char *b) {
        char *p;

        if (asprintf(&p, "%s/%s", a, b) < 0)
                return NULL;
        return p;
}

/* Paths inside the new root are relative to the working directory, which is the root's top: the
 * host directories above it need not be searchable by container root. */
static char *in_root(const char *name) {
        return strdup(name);
}

/* Makes R/name a directory; the rootfs is the container's, so a symlink there is refused. */
static void ensure_dir(const LaunchArgs *a, const char *name, mode_t mode) {
        _cleanup_free_ char *p = in_root(name);
        struct stat st;

        if (!p)
                fail(a, ENOMEM, "out of memory");
        if (lstat(p, &st) == 0) {
                if (!S_ISDIR(st.st_mode))
                        fail(a, ENOTDIR, "/%s in the image is not a directory", name);
                return;
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                fail(a, errno, "cannot create /%s in the container: %m", name);
        /* mkdir() applies the umask; /tmp must be 1777 exactly. */
        if (chmod(p, mode) < 0)
                fail(a, errno, "cannot set the mode of /%s in the container: %m", name);
}

static void mount_or_fail(const LaunchArgs *a, const char *src, const char *target, const char *type,
                          unsigned long flags, const char *data) {
        if (mount(src, target, type, flags, data) < 0)
                fail(a, errno, "cannot mount %s on %s: %m", type ?: src, target);
}

static void setup_dev(const LaunchArgs *a) {
        static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
        static const char *const links[][2] = {
                { "/proc/self/fd", "fd" },   { "/proc/self/fd/0", "stdin" },
                { "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
                { "pts/ptmx", "ptmx" },
        };
        _cleanup_free_ char *dev = in_root("dev");

        if (!dev)
                fail(a, ENOMEM, "out of memory");
        ensure_dir(a, "dev", 0755);
        mount_or_fail(a, "tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=1024k");

        /* Device nodes cannot be created in a user namespace: bind the host's. */
        FOREACH_ELEMENT(n, nodes) {
                _cleanup_free_ char *src = join("/dev", *n), *dst = join(dev, *n);
                int fd;

                if (!src || !dst)
                        fail(a, ENOMEM, "out of memory");
                fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
                if (fd < 0)
                        fail(a, errno, "cannot create %s: %m", dst);
                close(fd);
                mount_or_fail(a, src, dst, NULL, MS_BIND, NULL);
        }
        FOREACH_ELEMENT(l, links) {
                _cleanup_free_ char *dst = join(dev, (*l)[1]);
                if (!dst || symlink((*l)[0], dst) < 0)
                        fail(a, dst ? errno : ENOMEM, "cannot create /dev/%s: %m", (*l)[1]);
        }

        _cleanup_free_ char *pts = join(dev, "pts"), *shm = join(dev, "shm");
        if (!pts || !shm)
                fail(a, ENOMEM, "out of memory");
        if (mkdir(pts, 0755) < 0 || mkdir(shm, 01777) < 0)
                fail(a, errno, "cannot create /dev/pts or /dev/shm: %m");
        mount_or_fail(a, "devpts", pts, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
        mount_or_fail(a, "shm", shm, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
}

static void setup_sys(const LaunchArgs *a) {
        _cleanup_free_ char *sys = in_root("sys");
        struct fo_mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

        if (!sys)
                fail(a, ENOMEM, "out of memory");
        ensure_dir(a, "sys", 0555);
        /* A fresh sysfs needs a network namespace of our own; with the host's network, bind the host's
         * /sys read-only instead, recursively. */
        if (mount("sysfs", sys, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) >= 0)
                return;
        if (errno != EPERM && errno != EACCES)
                fail(a, errno, "cannot mount sysfs on %s: %m", sys);
        mount_or_fail(a, "/sys", sys, NULL, MS_BIND | MS_REC, NULL);
        if (syscall(SYS_mount_setattr, AT_FDCWD, sys, AT_RECURSIVE, &attr, sizeof attr) < 0)
                fail(a, errno, "cannot make %s read-only: %m", sys);
}

static void loopback_up(const LaunchArgs *a) {
        struct ifreq ifr = {};
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                fail(a, errno, "cannot open a socket to bring up lo: %m");
        strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                fail(a, errno, "cannot read the flags of lo: %m");
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                fail(a, errno, "cannot bring up lo: %m");
}

/* The image's own files: a FIFO or device there must not hang or surprise init. Regular files only. */
static FILE *open_image_file(const char *path) {
        struct stat st;
        FILE *f;
        int fd;

        fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                errno = EBADFD;
                return NULL;
        }
        f = fdopen(fd, "r");
        if (!f)
                close(fd);
        return f;
}

/* Looks a name up in the container's /etc/passwd or /etc/group (after pivot_root, so paths are the
 * container's). Parsed by hand: NSS would load modules from the image into this process. */
static int lookup_db(const char *file, const char *name, unsigned *ret_id, unsigned *ret_gid, char **ret_home) {
        _cleanup_free_ char *line = NULL;
        size_t n = 0;
        FILE *f = open_image_file(file);
        int r = -ENOENT;

        if (!f)
                return -errno;
        while (getline(&line, &n, f) > 0) {
                char *fields[7] = {};
                char *p = line;
                size_t k = 0;

                line[strcspn(line, "\n")] = 0;
                for (char *tok = strsep(&p, ":"); tok && k < ELEMENTSOF(fields); tok = strsep(&p, ":"))
                        fields[k++] = tok;
                if (k < 3 || !streq(fields[0], name))
                        continue;
                *ret_id = (unsigned) strtoul(fields[2], NULL, 10);
                if (ret_gid && k >= 4)
                        *ret_gid = (unsigned) strtoul(fields[3], NULL, 10);
                if (ret_home && k >= 6 && fields[5][0])
                        *ret_home = strdup(fields[5]);
                r = 0;
                break;
        }
        fclose(f);
        return r;
}

static bool all_digits(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

static void resolve_user(const LaunchArgs *a, uid_t *ret_uid, gid_t *ret_gid, char **ret_home) {
        _cleanup_free_ char *spec = strdup(a->user ?: "");
        char *group;
        unsigned uid = 0, gid = 0;
        bool gid_set = false;

        if (!spec)
                fail(a, ENOMEM, "out of memory");
        group = strchr(spec, ':');
        if (group)
                *group++ = 0;
        if (spec[0] == 0)
                uid = 0;
        else if (all_digits(spec)) {
                uid = (unsigned) strtoul(spec, NULL, 10);
                /* A numeric user takes its group from passwd when it has an entry there. */
                FILE *f = open_image_file("/etc/passwd");
                if (f) {
                        _cleanup_free_ char *line = NULL;
                        size_t n = 0;
                        while (getline(&line, &n, f) > 0) {
                                unsigned u, g;
                                if (sscanf(line, "%*[^:]:%*[^:]:%u:%u:", &u, &g) == 2 && u == uid) {
                                        gid = g;
                                        gid_set = true;
                                        break;
                                }
                        }
                        fclose(f);
                }
        } else {
                if (lookup_db("/etc/passwd", spec, &uid, &gid, ret_home) < 0)
                        fail(a, ENOENT, "user \"%s\" of the image config is not in the image's /etc/passwd", spec);
                gid_set = true;
        }
        if (!gid_set && uid != 0)
                gid = uid;
        if (group && *group) {
                if (all_digits(group))
                        gid = (unsigned) strtoul(group, NULL, 10);
                else if (lookup_db("/etc/group", group, &gid, NULL, NULL) < 0)
                        fail(a, ENOENT, "group \"%s\" of the image config is not in the image's /etc/group", group);
        }
        if (uid >= a->uid_count || gid >= a->uid_count)
                fail(a, ERANGE, "user %u:%u is outside the container's %u mapped ids", uid, gid, a->uid_count);
        if (!*ret_home && uid == 0)
                *ret_home = strdup("/root");
        *ret_uid = uid;
        *ret_gid = gid;
}

static const char *env_get(char **env, const char *key) {
        size_t n = strlen(key);

        for (char **e = env; e && *e; e++)
                if (strncmp(*e, key, n) == 0 && (*e)[n] == '=')
                        return *e + n + 1;
        return NULL;
}

static char *find_executable(const LaunchArgs *a, const char *name) {
        const char *path;
        _cleanup_free_ char *copy = NULL;

        if (strchr(name, '/')) {
                if (access(name, X_OK) < 0)
                        fail(a, errno, "cannot execute %s in the container: %m", name);
                return strdup(name);
        }
        path = env_get(a->envp, "PATH") ?: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        copy = strdup(path);
        if (!copy)
                fail(a, ENOMEM, "out of memory");
        for (char *p = copy, *dir; (dir = strsep(&p, ":"));) {
                _cleanup_free_ char *full = join(*dir ? dir : ".", name);
                if (full && access(full, X_OK) == 0)
                        return TAKE_PTR(full);
        }
        fail(a, ENOENT, "%s: not found in the container's PATH (%s)", name, path);
}

static char **env_with_defaults(const LaunchArgs *a, const char *home) {
        size_t n = 0, k = 0;
        char **env;

        while (a->envp && a->envp[n])
                n++;
        env = calloc(n + 4, sizeof(char *));
        if (!env)
                fail(a, ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++)
                env[k++] = a->envp[i];
        if (!env_get(a->envp, "PATH"))
                env[k++] = (char *) "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        if (!env_get(a->envp, "HOSTNAME") && a->hostname && asprintf(&env[k], "HOSTNAME=%s", a->hostname) >= 0)
                k++;
        if (!env_get(a->envp, "HOME") && asprintf(&env[k], "HOME=%s", home ?: "/") >= 0)
                k++;
        env[k] = NULL;
        return env;
}

static int last_cap(void) {
        char buf[16] = {};
        int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);

        if (fd >= 0) {
                ssize_t k = read(fd, buf, sizeof buf - 1);
                close(fd);
                if (k > 0)
                        return atoi(buf);
        }
        return 40;
}

static void drop_capabilities(const LaunchArgs *a, bool root) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = {};
        uint64_t keep = root ? CONTAINER_DEFAULT_CAPS : 0;

        d[0].effective = d[0].permitted = d[0].inheritable = (uint32_t) keep;
        d[1].effective = d[1].permitted = d[1].inheritable = (uint32_t) (keep >> 32);
        if (syscall(SYS_capset, &h, d) < 0)
                fail(a, errno, "capset: %m");
}

static void drop_bounding_set(const LaunchArgs *a, int cap_last) {
        for (int c = 0; c <= cap_last; c++) {
                if (CONTAINER_DEFAULT_CAPS & (1ULL << c))
                        continue;
                if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
                        fail(a, errno, "cannot drop capability %d from the bounding set: %m", c);
        }
        (void) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

_noreturn_ void container_launch_child(const LaunchArgs *a) {
        _cleanup_free_ char *home = NULL, *exe = NULL;
        _cleanup_close_ int rootfs_fd = -EBADF, tree_fd = -EBADF;
        char go;
        ssize_t k;
        uid_t uid;
        gid_t gid;
        int cap_last, r;
        char **env;
        sigset_t all;

        /* Handlers inherited from the owner (its test harness, its libraries) must not run in init
         * before exec: a SIGTERM from "stop" during creation would run the owner's code here. */
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) signal(sig, SIG_DFL);
        /* The parent writes the id maps, assembles the rootfs and joins us to the cgroup meanwhile. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        do
                k = recv(a->sync_fd, &go, 1, 0);
        while (k < 0 && errno == EINTR);
        if (k != 1)
                _exit(LAUNCH_EXIT_SETUP); /* the parent gave up */

        /* Still the host's uid 0 here: owner of the (mode 0700) directories above the root, so this
         * open works where container root would be refused. Everything after is relative to it. */
        rootfs_fd = open(a->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfs_fd < 0 || fchdir(rootfs_fd) < 0)
                fail(a, errno, "cannot enter the root filesystem %s: %m", a->rootfs);
        if (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0)
                fail(a, errno, "cannot become root in the user namespace: %m");
        /* The cgroup namespace now, after the parent moved us: the container's cgroup is its "/". */
        if (unshare(CLONE_NEWNS | CLONE_NEWCGROUP) < 0)
                fail(a, errno, "cannot create mount and cgroup namespaces: %m");
        mount_or_fail(a, NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);

        /* The root we inherited is a locked mount in this namespace, which pivot_root() refuses: put an
         * unlocked clone of it on top and step into that (a plain bind would leave us underneath). */
        tree_fd = (int) syscall(SYS_open_tree, AT_FDCWD, ".", OPEN_TREE_CLONE | AT_RECURSIVE | O_CLOEXEC);
        if (tree_fd < 0)
                fail(a, errno, "cannot clone the root mount %s: %m", a->rootfs);
        if (syscall(SYS_move_mount, tree_fd, "", AT_FDCWD, ".", MOVE_MOUNT_F_EMPTY_PATH) < 0)
                fail(a, errno, "cannot mount the root clone on %s: %m", a->rootfs);
        if (fchdir(tree_fd) < 0)
                fail(a, errno, "cannot enter the root clone: %m");

        ensure_dir(a, "proc", 0555);
        mount_or_fail(a, "proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        setup_dev(a);
        setup_sys(a);
        ensure_dir(a, "tmp", 01777);

        if (a->hostname && sethostname(a->hostname, strlen(a->hostname)) < 0)
                fail(a, errno, "cannot set the hostname to \"%s\": %m", a->hostname);
        if (a->network == CONTAINER_NETWORK_NONE)
                loopback_up(a);

        if (syscall(SYS_pivot_root, ".", ".") < 0)
                fail(a, errno, "pivot_root into %s: %m", a->rootfs);
        /* The old root is stacked under the new one at "/": detach it. */
        if (umount2(".", MNT_DETACH) < 0)
                fail(a, errno, "cannot detach the old root: %m");
        if (chdir("/") < 0)
                fail(a, errno, "chdir /: %m");

        resolve_user(a, &uid, &gid, &home);
        env = env_with_defaults(a, home);
        if (!a->argv || !a->argv[0])
                fail(a, EINVAL, "nothing to run: the image has no entrypoint or cmd, and no command was given");
        exe = find_executable(a, a->argv[0]);
        if (!exe)
                fail(a, ENOMEM, "out of memory");

        cap_last = last_cap();
        drop_bounding_set(a, cap_last);
        if (syscall(SYS_setresgid, gid, gid, gid) < 0)
                fail(a, errno, "cannot switch to group %u: %m", (unsigned) gid);
        if (syscall(SYS_setresuid, uid, uid, uid) < 0)
                fail(a, errno, "cannot switch to user %u: %m", (unsigned) uid);
        drop_capabilities(a, uid == 0);
        if (chdir(a->cwd && *a->cwd ? a->cwd : "/") < 0)
                fail(a, errno, "cannot change to the working directory %s: %m", a->cwd);
        /* Cleared by the uid change above; the workload must not outlive its supervisor. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                fail(a, errno, "cannot set no_new_privs: %m");

        sigemptyset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, NULL);

        /* Exactly 0, 1 and 2 cross the exec: whatever else the caller had open (a directory of the host, a
         * file it appends to) stays outside. The sync socket is O_CLOEXEC already and still needed. */
        if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) < 0)
                fail(a, errno, "cannot mark the caller's descriptors close-on-exec: %m");

        /* Tell the parent the setup is done, so it waits for the listener from now on (a message, not a
         * poll: the install itself takes microseconds). The last unmediated syscall. */
        if (send(a->sync_fd, "r", 1, MSG_NOSIGNAL) != 1)
                _exit(LAUNCH_EXIT_SETUP);

        /* Last: from here on every syscall is mediated, including the execve(). */
        r = supervisor_child_install(a->filter, a->handoff);
        if (r < 0)
                fail(a, r, "cannot install the seccomp listener: %s", strerror(-r));

        execve(exe, a->argv, env);
        fail(a, errno, "cannot execute %s: %m", exe);
}
