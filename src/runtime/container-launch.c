/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The child side of a container launch: everything init does between
 * clone() and execve(). It runs in the freshly cloned process, a copy of a
 * caller that may have many threads (forgeoned's supervisors, the sink's
 * drain): any lock one of them held at the clone (the allocator's arenas,
 * stdio's list of streams, the locale) stays held here forever. So this
 * path is async-signal-safe: no malloc(), no stdio, no printf family (its
 * own formatter for the failure report), only the stack, its own copy of
 * static memory, what the parent prepared (the environment, with a slot for
 * HOME) and raw syscalls; credentials are changed with raw syscalls, since
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

/* ---- what the child may use: the stack, its own copy of static memory, raw syscalls ---- */

/* Appends s to buf (size bytes, *o used), truncating; keeps buf NUL-terminated. */
static void put_text(char *buf, size_t size, size_t *o, const char *s) {
        for (; s && *s && *o + 1 < size; s++)
                buf[(*o)++] = *s;
        buf[*o] = 0;
}

static void put_uint(char *buf, size_t size, size_t *o, unsigned long long v) {
        char d[24];
        size_t n = 0;

        do
                d[n++] = (char) ('0' + v % 10);
        while ((v /= 10) > 0);
        while (n > 0 && *o + 1 < size)
                buf[(*o)++] = d[--n];
        buf[*o] = 0;
}

static const char *error_text(int error) {
        /* No translation, no lock: a pointer into glibc's table. */
        return strerrordesc_np(error) ?: "unknown error";
}

/*
 * The formatting fail() needs, without vsnprintf() (which may allocate, and whose %m translates under a
 * lock): %s, %d, %u and %m (the errno at the call), nothing else.
 */
static void format_message(char *buf, size_t size, int saved_errno, const char *format, va_list ap) {
        size_t o = 0;

        buf[0] = 0;
        for (const char *f = format; *f && o + 1 < size; f++) {
                if (*f != '%') {
                        buf[o++] = *f;
                        buf[o] = 0;
                        continue;
                }
                switch (*++f) {
                case 's':
                        put_text(buf, size, &o, va_arg(ap, const char *) ?: "(null)");
                        break;
                case 'd': {
                        int v = va_arg(ap, int);
                        if (v < 0)
                                put_text(buf, size, &o, "-");
                        put_uint(buf, size, &o, v < 0 ? -(unsigned long long) v : (unsigned long long) v);
                        break;
                }
                case 'u':
                        put_uint(buf, size, &o, va_arg(ap, unsigned));
                        break;
                case 'm':
                        put_text(buf, size, &o, error_text(saved_errno));
                        break;
                case '%':
                        put_text(buf, size, &o, "%");
                        break;
                default:
                        return; /* not ours: stop rather than misread the arguments */
                }
        }
}

static _noreturn_ void fail(const LaunchArgs *a, int error, const char *format, ...) _printf_(3, 4);

static _noreturn_ void fail(const LaunchArgs *a, int error, const char *format, ...) {
        LaunchReport rep = { .error = error > 0 ? error : -error };
        int saved_errno = errno;
        va_list ap;

        va_start(ap, format);
        format_message(rep.message, sizeof rep.message, saved_errno, format, ap);
        va_end(ap);
        (void) send(a->sync_fd, &rep, sizeof rep, MSG_NOSIGNAL);
        _exit(LAUNCH_EXIT_SETUP);
}

/* a "/" b into buf, or fail(): a path that does not fit is refused, never truncated. */
static const char *join(const LaunchArgs *a, char *buf, size_t size, const char *x, const char *y) {
        size_t o = 0;

        put_text(buf, size, &o, x);
        put_text(buf, size, &o, "/");
        put_text(buf, size, &o, y);
        if (strlen(x) + 1 + strlen(y) >= size)
                fail(a, ENAMETOOLONG, "path too long: %s/%s", x, y);
        return buf;
}

/* Paths inside the new root are relative to the working directory, which is the root's top: the
 * host directories above it need not be searchable by container root. */

/* Makes name a directory; the rootfs is the container's, so a symlink there is refused. */
static void ensure_dir(const LaunchArgs *a, const char *name, mode_t mode) {
        struct stat st;

        if (lstat(name, &st) == 0) {
                if (!S_ISDIR(st.st_mode))
                        fail(a, ENOTDIR, "/%s in the image is not a directory", name);
                return;
        }
        if (mkdir(name, mode) < 0 && errno != EEXIST)
                fail(a, errno, "cannot create /%s in the container: %m", name);
        /* mkdir() applies the umask; /tmp must be 1777 exactly. */
        if (chmod(name, mode) < 0)
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
        char src[64], dst[64];

        ensure_dir(a, "dev", 0755);
        mount_or_fail(a, "tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=1024k");

        /* Device nodes cannot be created in a user namespace: bind the host's. */
        FOREACH_ELEMENT(n, nodes) {
                int fd;

                join(a, src, sizeof src, "/dev", *n);
                join(a, dst, sizeof dst, "dev", *n);
                fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
                if (fd < 0)
                        fail(a, errno, "cannot create %s: %m", dst);
                close(fd);
                mount_or_fail(a, src, dst, NULL, MS_BIND, NULL);
        }
        FOREACH_ELEMENT(l, links)
                if (symlink((*l)[0], join(a, dst, sizeof dst, "dev", (*l)[1])) < 0)
                        fail(a, errno, "cannot create /dev/%s: %m", (*l)[1]);

        if (mkdir("dev/pts", 0755) < 0 || mkdir("dev/shm", 01777) < 0)
                fail(a, errno, "cannot create /dev/pts or /dev/shm: %m");
        mount_or_fail(a, "devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
        mount_or_fail(a, "shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
}

static void setup_sys(const LaunchArgs *a) {
        struct fo_mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

        ensure_dir(a, "sys", 0555);
        /* A fresh sysfs needs a network namespace of our own; with the host's network, bind the host's
         * /sys read-only instead, recursively. */
        if (mount("sysfs", "sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) >= 0)
                return;
        if (errno != EPERM && errno != EACCES)
                fail(a, errno, "cannot mount sysfs on %s: %m", "sys");
        mount_or_fail(a, "/sys", "sys", NULL, MS_BIND | MS_REC, NULL);
        if (syscall(SYS_mount_setattr, AT_FDCWD, "sys", AT_RECURSIVE, &attr, sizeof attr) < 0)
                fail(a, errno, "cannot make %s read-only: %m", "sys");
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

/*
 * The image's /etc/passwd and /etc/group, line by line from a buffer of the stack: no stdio (fdopen()
 * takes a lock of the whole process), no allocation. A FIFO or device there must not hang or surprise
 * init: regular files only. Longer lines than the buffer are skipped.
 */
typedef struct LineReader {
        int fd;
        size_t start, end;
        bool eof, skipping;
        char buf[4096];
} LineReader;

static int line_reader_open(LineReader *r, const char *path) {
        struct stat st;

        r->start = r->end = 0;
        r->eof = r->skipping = false;
        r->fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (r->fd < 0)
                return -errno;
        if (fstat(r->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(r->fd);
                r->fd = -EBADF;
                return -EBADFD;
        }
        return 0;
}

static void line_reader_close(LineReader *r) {
        if (r->fd >= 0)
                close(r->fd);
        r->fd = -EBADF;
}

/* The next line without its newline, NUL-terminated inside the buffer; NULL at the end. */
static char *line_next(LineReader *r) {
        for (;;) {
                char *nl = r->end > r->start ? memchr(r->buf + r->start, '\n', r->end - r->start) : NULL;
                ssize_t k;

                if (nl || (r->eof && r->end > r->start)) {
                        char *line = r->buf + r->start;
                        bool skip = r->skipping;

                        if (!nl)
                                nl = r->buf + r->end;
                        *nl = 0;
                        r->start = (size_t) (nl - r->buf) + 1;
                        if (r->start > r->end)
                                r->start = r->end;
                        r->skipping = false;
                        if (skip)
                                continue;
                        return line;
                }
                if (r->eof)
                        return NULL;
                if (r->start > 0) {
                        memmove(r->buf, r->buf + r->start, r->end - r->start);
                        r->end -= r->start;
                        r->start = 0;
                }
                if (r->end + 1 >= sizeof r->buf) {
                        /* A line longer than the buffer: dropped up to its newline. */
                        r->start = r->end = 0;
                        r->skipping = true;
                }
                do
                        k = read(r->fd, r->buf + r->end, sizeof r->buf - 1 - r->end);
                while (k < 0 && errno == EINTR);
                if (k <= 0)
                        r->eof = true;
                else
                        r->end += (size_t) k;
        }
}

/* Splits line at ':' into at most n fields; returns how many. */
static size_t split_fields(char *line, char **fields, size_t n) {
        size_t k = 0;

        fields[k++] = line;
        for (char *p = line; *p && k < n; p++)
                if (*p == ':') {
                        *p = 0;
                        fields[k++] = p + 1;
                }
        return k;
}

static bool all_digits(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

/* A decimal id; ids beyond 2^32 - 1 become UINT32_MAX, which no mapping covers. */
static unsigned parse_id(const char *s) {
        unsigned long long v = 0;

        for (; *s >= '0' && *s <= '9'; s++) {
                v = v * 10 + (unsigned) (*s - '0');
                if (v > UINT32_MAX)
                        return UINT32_MAX;
        }
        return (unsigned) v;
}

/* Looks a name (or, with name NULL, the uid id) up in the container's /etc/passwd or /etc/group (after
 * pivot_root, so paths are the container's). Parsed by hand: NSS would load modules from the image into
 * this process. The home directory goes to ret_home (home_size bytes) when there is one. */
static int lookup_db(const char *file, const char *name, unsigned id, unsigned *ret_id, unsigned *ret_gid,
                     char *ret_home, size_t home_size) {
        LineReader r;
        char *line;
        int q = -ENOENT;

        q = line_reader_open(&r, file);
        if (q < 0)
                return q;
        q = -ENOENT;
        while ((line = line_next(&r))) {
                char *fields[7] = {};
                size_t k = split_fields(line, fields, ELEMENTSOF(fields));

                if (k < 3 || !all_digits(fields[2]))
                        continue;
                if (name ? !streq(fields[0], name) : parse_id(fields[2]) != id)
                        continue;
                if (ret_id)
                        *ret_id = parse_id(fields[2]);
                if (ret_gid && k >= 4 && all_digits(fields[3]))
                        *ret_gid = parse_id(fields[3]);
                if (ret_home && k >= 6 && fields[5][0]) {
                        size_t o = 0;
                        put_text(ret_home, home_size, &o, fields[5]);
                }
                q = 0;
                break;
        }
        line_reader_close(&r);
        return q;
}

static void resolve_user(const LaunchArgs *a, uid_t *ret_uid, gid_t *ret_gid, char *ret_home, size_t home_size) {
        char spec[256];
        char *group;
        unsigned uid = 0, gid = 0;
        bool gid_set = false;
        size_t o = 0;

        put_text(spec, sizeof spec, &o, a->user ?: "");
        if (a->user && strlen(a->user) >= sizeof spec)
                fail(a, ENAMETOOLONG, "the user \"%s\" of the image config is too long", a->user);
        group = strchr(spec, ':');
        if (group)
                *group++ = 0;
        if (spec[0] == 0)
                uid = 0;
        else if (all_digits(spec)) {
                uid = parse_id(spec);
                /* A numeric user takes its group from passwd when it has an entry there. */
                gid_set = lookup_db("/etc/passwd", NULL, uid, NULL, &gid, NULL, 0) >= 0;
        } else {
                if (lookup_db("/etc/passwd", spec, 0, &uid, &gid, ret_home, home_size) < 0)
                        fail(a, ENOENT, "user \"%s\" of the image config is not in the image's /etc/passwd", spec);
                gid_set = true;
        }
        if (!gid_set && uid != 0)
                gid = uid;
        if (group && *group) {
                if (all_digits(group))
                        gid = parse_id(group);
                else if (lookup_db("/etc/group", group, 0, &gid, NULL, NULL, 0) < 0)
                        fail(a, ENOENT, "group \"%s\" of the image config is not in the image's /etc/group", group);
        }
        if (uid >= a->uid_count || gid >= a->uid_count)
                fail(a, ERANGE, "user %u:%u is outside the container's %u mapped ids", uid, gid, a->uid_count);
        if (!ret_home[0] && uid == 0) {
                o = 0;
                put_text(ret_home, home_size, &o, "/root");
        }
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

/* The executable for name, along the image's PATH, into buf. */
static const char *find_executable(const LaunchArgs *a, const char *name, char *buf, size_t size) {
        const char *path;

        if (strchr(name, '/')) {
                if (access(name, X_OK) < 0)
                        fail(a, errno, "cannot execute %s in the container: %m", name);
                return name;
        }
        path = env_get(a->envp, "PATH") ?: CONTAINER_LAUNCH_DEFAULT_PATH;
        for (const char *p = path;;) {
                const char *colon = strchrnul(p, ':');
                size_t o = 0, len = (size_t) (colon - p);

                if (len == 0)
                        put_text(buf, size, &o, ".");
                else if (len < size) {
                        memcpy(buf, p, len);
                        o = len;
                        buf[o] = 0;
                }
                if (o > 0 && o + 1 + strlen(name) < size) {
                        put_text(buf, size, &o, "/");
                        put_text(buf, size, &o, name);
                        if (access(buf, X_OK) == 0)
                                return buf;
                }
                if (!*colon)
                        break;
                p = colon + 1;
        }
        fail(a, ENOENT, "%s: not found in the container's PATH (%s)", name, path);
}

static int last_cap(void) {
        char buf[16] = {};
        int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);

        if (fd >= 0) {
                ssize_t k = read(fd, buf, sizeof buf - 1);
                close(fd);
                if (k > 0 && buf[0] >= '0' && buf[0] <= '9')
                        return (int) parse_id(buf);
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
        /* Static: this process's own copy (a clone of the caller's memory), off the caller's stack. */
        static char home[4096], home_env[4096 + 8], exe_buf[4096];
        const char *exe;
        int rootfs_fd, tree_fd;
        char go;
        ssize_t k;
        uid_t uid;
        gid_t gid;
        int cap_last, r;
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

        resolve_user(a, &uid, &gid, home, sizeof home);
        if (a->home_slot) {
                /* The one entry of the environment only the image's /etc/passwd can tell: its slot is
                 * ready in the parent's array. */
                size_t o = 0;
                put_text(home_env, sizeof home_env, &o, "HOME=");
                put_text(home_env, sizeof home_env, &o, home[0] ? home : "/");
                *a->home_slot = home_env;
        }
        if (!a->argv || !a->argv[0])
                fail(a, EINVAL, "nothing to run: the image has no entrypoint or cmd, and no command was given");
        exe = find_executable(a, a->argv[0], exe_buf, sizeof exe_buf);

        cap_last = last_cap();
        drop_bounding_set(a, cap_last);
        if (syscall(SYS_setresgid, gid, gid, gid) < 0)
                fail(a, errno, "cannot switch to group %u: %m", (unsigned) gid);
        if (syscall(SYS_setresuid, uid, uid, uid) < 0)
                fail(a, errno, "cannot switch to user %u: %m", (unsigned) uid);
        drop_capabilities(a, uid == 0);
        if (chdir(a->cwd && *a->cwd ? a->cwd : "/") < 0)
                fail(a, errno, "cannot change to the working directory %s: %m", a->cwd);
        /* Cleared by the uid change above; the workload must not outlive its supervisor, unless the
         * supervisor hands its listener to a successor (survive_owner). */
        if (!a->survive_owner)
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                fail(a, errno, "cannot set no_new_privs: %m");

        sigemptyset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, NULL);

        if (a->stdio)
                for (int i = 0; i < 3; i++)
                        if (a->stdio[i] >= 0 && a->stdio[i] != i && dup2(a->stdio[i], i) < 0)
                                fail(a, errno, "cannot set up the standard file descriptors: %m");
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
                fail(a, r, "cannot install the seccomp listener: %s", error_text(-r));

        execve(exe, a->argv, a->envp);
        fail(a, errno, "cannot execute %s: %m", exe);
}
