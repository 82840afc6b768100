/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The native side of the fidelity suite. In a mount namespace of its own it mounts a fresh tmpfs
 * fixture at DIR (with a read-only mount and a second file system inside), starts the workload
 * (this program in "cases" mode, behind an optional wrapper such as forgeonectl run --local) and
 * serves its requests over a SOCK_SEQPACKET socket: build the next case's file tree, open
 * descriptors and pass them in, describe files and descriptors. Everything the driver does is
 * native, so a case's setup and observation never go through the supervisor under test; only the
 * call the case is about does.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "fidelity-cases.h"

#define UID_USER   1000
#define UID_OTHER  1001
#define GID_SHARED 1234

static const char *fixture;
static char case_dir[PATH_MAX], other_dir[PATH_MAX];
static int kept[32];
static size_t n_kept;

typedef struct Label {
        dev_t dev;
        ino_t ino;
        char name[96];
} Label;

static Label labels[256];
static size_t n_labels, n_global_labels;

static _Noreturn void die(const char *what) {
        fprintf(stderr, "fidelity driver: %s: %s\n", what, strerror(errno));
        exit(2);
}

/* dir/name into out, or die: every path here is built by us and short. */
static void join(char *out, size_t size, const char *dir, const char *name) {
        size_t a = strlen(dir), b = strlen(name);

        if (a + 1 + b + 1 > size) {
                errno = ENAMETOOLONG;
                die(dir);
        }
        memcpy(out, dir, a);
        out[a] = '/';
        memcpy(out + a + 1, name, b + 1);
}

static void keep(int fd) {
        if (n_kept < sizeof kept / sizeof kept[0])
                kept[n_kept++] = fd;
        else
                close(fd);
}

static void label_add(const char *path, const char *name) {
        struct stat st;

        if (n_labels >= sizeof labels / sizeof labels[0] || lstat(path, &st) < 0)
                return;
        labels[n_labels].dev = st.st_dev;
        labels[n_labels].ino = st.st_ino;
        /* Names are the fixture's own and short; a longer one is cut, which only makes it ambiguous. */
        size_t k = strnlen(name, sizeof labels[n_labels].name - 1);
        memcpy(labels[n_labels].name, name, k);
        labels[n_labels].name[k] = 0;
        n_labels++;
}

static const char *label_of(dev_t dev, ino_t ino) {
        for (size_t i = 0; i < n_labels; i++)
                if (labels[i].dev == dev && labels[i].ino == ino)
                        return labels[i].name;
        return "?";
}

/* Labels every entry below dir (not following symlinks) as prefix + its relative name. */
static void label_tree(const char *dir, const char *prefix) {
        DIR *d = opendir(dir);
        struct dirent *de;

        label_add(dir, prefix[0] ? prefix : ".");
        if (!d)
                return;
        while ((de = readdir(d))) {
                char p[2 * PATH_MAX], n[2 * PATH_MAX];

                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                join(p, sizeof p, dir, de->d_name);
                snprintf(n, sizeof n, "%s%s%s", prefix, prefix[0] ? "/" : "", de->d_name);
                if (de->d_type == DT_DIR)
                        label_tree(p, n);
                else
                        label_add(p, n);
        }
        closedir(d);
}

static void mkfile(const char *dir, const char *name, mode_t mode, uid_t uid, gid_t gid,
                   const char *content) {
        char p[2 * PATH_MAX];
        int fd;

        join(p, sizeof p, dir, name);
        fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                die(p);
        if (content && write(fd, content, strlen(content)) != (ssize_t) strlen(content))
                die(p);
        if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0)
                die(p);
        close(fd);
}

static void mkdir_as(const char *dir, const char *name, mode_t mode, uid_t uid, gid_t gid) {
        char p[2 * PATH_MAX];

        join(p, sizeof p, dir, name);
        if (mkdir(p, 0700) < 0 || chown(p, uid, gid) < 0 || chmod(p, mode) < 0)
                die(p);
}

static void mksymlink(const char *dir, const char *name, const char *target) {
        char p[2 * PATH_MAX];

        join(p, sizeof p, dir, name);
        if (symlink(target, p) < 0)
                die(p);
}

/* A unix socket file; listening (kept open until the next case) or left without a listener. */
static void mksocket(const char *dir, const char *name, bool listening, mode_t mode) {
        struct sockaddr_un un = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                die("socket");
        char p[2 * PATH_MAX];

        join(p, sizeof p, dir, name);
        if (strlen(p) >= sizeof un.sun_path) {
                errno = ENAMETOOLONG;
                die(p);
        }
        memcpy(un.sun_path, p, strlen(p) + 1);
        if (bind(fd, (struct sockaddr *) &un, sizeof un) < 0 || chmod(un.sun_path, mode) < 0)
                die(un.sun_path);
        if (listening) {
                if (listen(fd, 16) < 0)
                        die("listen");
                keep(fd);
        } else
                close(fd);
}

/* A POSIX ACL as the kernel stores it (posix_acl_xattr_header + entries). */
static void set_default_acl(const char *path) {
        struct {
                uint32_t version;
                struct {
                        uint16_t tag, perm;
                        uint32_t id;
                } e[5];
        } acl = {
                .version = 2,
                .e = {
                        { 0x01, 7, UINT32_MAX },    /* user:: rwx */
                        { 0x02, 6, UID_OTHER },     /* user:1001: rw- */
                        { 0x04, 5, UINT32_MAX },    /* group:: r-x */
                        { 0x10, 7, UINT32_MAX },    /* mask:: rwx */
                        { 0x20, 0, UINT32_MAX },    /* other:: --- */
                },
        };

        if (setxattr(path, "system.posix_acl_default", &acl, sizeof acl, 0) < 0)
                die("posix_acl_default");
}

static void build_case_tree(unsigned idx) {
        char p[2 * PATH_MAX];
        int fd;

        for (size_t i = 0; i < n_kept; i++)
                close(kept[i]);
        n_kept = 0;

        snprintf(case_dir, sizeof case_dir, "%s/c/%04u", fixture, idx);
        snprintf(other_dir, sizeof other_dir, "%s/other/%04u", fixture, idx);
        if (mkdir(case_dir, 0755) < 0 || chmod(case_dir, 0755) < 0)
                die(case_dir);
        mkfile(case_dir, "f", 0644, 0, 0, "hello\n");
        join(p, sizeof p, case_dir, "f");
        if (setxattr(p, "user.k", "v", 1, 0) < 0)
                die("user.k");
        mkfile(case_dir, "g", 0600, 0, 0, "other\n");
        mkfile(case_dir, "x", 0755, 0, 0, "#!/bin/sh\nexit 0\n");
        mkfile(case_dir, "suid", 06755, 0, 0, "s\n");
        mkdir_as(case_dir, "d", 0755, 0, 0);
        join(p, sizeof p, case_dir, "d");
        mkfile(p, "e", 0644, 0, 0, "e\n");
        mkdir_as(case_dir, "e", 0755, 0, 0);
        mksymlink(case_dir, "sf", "f");
        mksymlink(case_dir, "sd", "d");
        mksymlink(case_dir, "sn", "missing");
        mksymlink(case_dir, "sl1", "sl2");
        mksymlink(case_dir, "sl2", "sl1");
        join(p, sizeof p, case_dir, "f");
        mksymlink(case_dir, "sa", p);
        mksymlink(case_dir, "sup", "..");
        mksymlink(case_dir, "sx", "/proc/self/exe");
        /* fifo has a reader and a writer (ours), so that opening it never blocks; fifo0 has none. */
        join(p, sizeof p, case_dir, "fifo");
        if (mkfifo(p, 0644) < 0 || chmod(p, 0644) < 0)
                die(p);
        fd = open(p, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                die(p);
        keep(fd);
        join(p, sizeof p, case_dir, "fifo0");
        if (mkfifo(p, 0644) < 0 || chmod(p, 0644) < 0)
                die(p);
        mksocket(case_dir, "srv", true, 0777);
        mksocket(case_dir, "stale", false, 0755);
        mksocket(case_dir, "srv-priv", true, 0700);
        {
                /* A name a relative address can carry but an absolute one cannot (sun_path is 108 bytes):
                 * bound from inside the directory. */
                char name[91];
                int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);

                memset(name, 's', 90);
                name[90] = 0;
                if (cwd < 0 || chdir(case_dir) < 0)
                        die("chdir");
                mksocket(".", name, true, 0777);
                if (fchdir(cwd) < 0)
                        die("fchdir");
                close(cwd);
        }
        mkdir_as(case_dir, "priv", 0700, 0, 0);
        join(p, sizeof p, case_dir, "priv");
        mkfile(p, "f", 0644, 0, 0, "private\n");
        mksymlink(p, "sl", "f");
        strcat(p, "/pub");
        mkdir_as(p, "", 0777, 0, 0);
        mkfile(p, "pf", 0644, 0, 0, "pub\n");
        mkfile(p, "upf", 0644, UID_USER, UID_USER, "upub\n");
        mksymlink(p, "spf", "pf");
        strcat(p, "/deep");
        mkdir_as(p, "", 0777, 0, 0);
        mkfile(p, "df", 0644, 0, 0, "deep\n");
        mkdir_as(case_dir, "u", 0755, UID_USER, UID_USER);
        join(p, sizeof p, case_dir, "u");
        mkfile(p, "f", 0644, UID_USER, UID_USER, "user\n");
        mkfile(p, "suid", 06755, UID_USER, UID_USER, "us\n");
        mkdir_as(p, "d", 0755, UID_USER, UID_USER);
        mksymlink(p, "sf", "f");
        if (lchown(strcat(p, "/sf"), UID_USER, UID_USER) < 0)
                die("u/sf");
        mkdir_as(case_dir, "t", 01777, 0, 0);
        join(p, sizeof p, case_dir, "t");
        mkfile(p, "a", 0644, UID_USER, UID_USER, "a\n");
        mkfile(p, "b", 0666, UID_OTHER, UID_OTHER, "b\n");
        mkfile(p, "r", 0644, 0, 0, "r\n");
        mkdir_as(case_dir, "s", 02775, 0, GID_SHARED);
        join(p, sizeof p, case_dir, "s");
        mkfile(p, "f", 0664, 0, GID_SHARED, "shared\n");
        mkdir_as(case_dir, "a", 0777, 0, 0);
        join(p, sizeof p, case_dir, "a");
        set_default_acl(p);
        mkdir_as(case_dir, "w", 0777, 0, 0);
        mkdir_as(other_dir, "", 0777, 0, 0);
        mkfile(other_dir, "f", 0644, 0, 0, "far\n");

        n_labels = n_global_labels;
        label_tree(case_dir, "");
        label_tree(other_dir, "%O");
}

static void build_fixture(void) {
        char p[2 * PATH_MAX], self[PATH_MAX];
        ssize_t n;

        if (unshare(CLONE_NEWNS) < 0)
                die("unshare(CLONE_NEWNS)");
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                die("mount --make-rprivate /");
        if (mount("fidelity", fixture, "tmpfs", 0, "mode=0755") < 0)
                die(fixture);
        umask(0);
        join(p, sizeof p, fixture, "c");
        if (mkdir(p, 0755) < 0)
                die(p);
        join(p, sizeof p, fixture, "ro");
        if (mkdir(p, 0755) < 0 || mount("fidelity-ro", p, "tmpfs", 0, "mode=0755") < 0)
                die(p);
        mkfile(p, "f", 0644, 0, 0, "ro\n");
        mkdir_as(p, "d", 0755, 0, 0);
        mksymlink(p, "sf", "f");
        if (mount(NULL, p, NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0)
                die("remount read-only");
        join(p, sizeof p, fixture, "other");
        if (mkdir(p, 0755) < 0 || mount("fidelity-other", p, "tmpfs", 0, "mode=0755") < 0)
                die(p);

        n_labels = 0;
        label_add(fixture, "%D");
        join(p, sizeof p, fixture, "c");
        label_add(p, "%D/c");
        join(p, sizeof p, fixture, "ro");
        label_tree(p, "%R");
        label_add("/", "/");
        n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0) {
                self[n] = 0;
                label_add(self, "EXE");
        }
        n_global_labels = n_labels;
}

/* ---- describing files ---- */

typedef struct Buf {
        char s[FIDELITY_LINE_MAX];
        size_t n;
} Buf;

static void bprintf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(Buf *b, const char *fmt, ...) {
        va_list ap;
        int k;

        if (b->n >= sizeof b->s - 1)
                return;
        va_start(ap, fmt);
        k = vsnprintf(b->s + b->n, sizeof b->s - b->n, fmt, ap);
        va_end(ap);
        if (k > 0)
                b->n = b->n + (size_t) k >= sizeof b->s ? sizeof b->s - 1 : b->n + (size_t) k;
}

static void bquote(Buf *b, const void *data, size_t n) {
        const unsigned char *s = data;

        bprintf(b, "\"");
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '\n')
                        bprintf(b, "\\n");
                else if (s[i] == '"' || s[i] == '\\')
                        bprintf(b, "\\%c", s[i]);
                else if (s[i] < 0x20 || s[i] >= 0x7f || s[i] == '|')
                        bprintf(b, "\\x%02x", s[i]);
                else
                        bprintf(b, "%c", s[i]);
        }
        bprintf(b, "\"");
}

static uint64_t fnv1a(const void *data, size_t n) {
        const unsigned char *s = data;
        uint64_t h = 1469598103934665603ull;

        for (size_t i = 0; i < n; i++) {
                h ^= s[i];
                h *= 1099511628211ull;
        }
        return h;
}

static const char *type_name(mode_t m) {
        switch (m & S_IFMT) {
        case S_IFREG:
                return "reg";
        case S_IFDIR:
                return "dir";
        case S_IFLNK:
                return "lnk";
        case S_IFIFO:
                return "fifo";
        case S_IFSOCK:
                return "sock";
        case S_IFCHR:
                return "chr";
        case S_IFBLK:
                return "blk";
        default:
                return "unknown";
        }
}

static void describe_time(Buf *b, const char *k, const struct timespec *t) {
        time_t now = time(NULL);

        if (t->tv_sec > now - 600 && t->tv_sec < now + 60)
                bprintf(b, " %s=recent", k);
        else
                bprintf(b, " %s=%lld.%09ld", k, (long long) t->tv_sec, t->tv_nsec);
}

static void describe_acl(Buf *b, const char *k, const unsigned char *v, ssize_t n) {
        static const struct {
                uint16_t tag;
                const char *name;
        } tags[] = { { 1, "u" }, { 2, "u" }, { 4, "g" }, { 8, "g" }, { 0x10, "m" }, { 0x20, "o" } };

        bprintf(b, " %s=", k);
        if (n < 4) {
                bprintf(b, "bad");
                return;
        }
        for (ssize_t off = 4; off + 8 <= n; off += 8) {
                uint16_t tag, perm;
                uint32_t id;
                const char *name = "?";

                memcpy(&tag, v + off, 2);
                memcpy(&perm, v + off + 2, 2);
                memcpy(&id, v + off + 4, 4);
                for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
                        if (tags[i].tag == tag)
                                name = tags[i].name;
                if (tag == 2 || tag == 8)
                        bprintf(b, "%s%s:%u:%o", off > 4 ? "," : "", name, id, perm);
                else
                        bprintf(b, "%s%s::%o", off > 4 ? "," : "", name, perm);
        }
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Extended attributes of the object open as fd (not a symlink), sorted by name. */
static void describe_xattrs(Buf *b, int fd) {
        char proc[64], names[4096], *list[64];
        ssize_t n;
        size_t k = 0;

        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        n = listxattr(proc, names, sizeof names);
        if (n <= 0)
                return;
        for (char *s = names; s < names + n && k < 64; s += strlen(s) + 1)
                list[k++] = s;
        qsort(list, k, sizeof list[0], cmp_str);
        for (size_t i = 0; i < k; i++) {
                unsigned char v[1024];
                ssize_t vn = getxattr(proc, list[i], v, sizeof v);

                if (!strncmp(list[i], "system.posix_acl_", 17)) {
                        describe_acl(b, list[i] + 17, v, vn);
                        continue;
                }
                bprintf(b, " x:%s=", list[i]);
                if (vn < 0)
                        bprintf(b, "%s", errno_name(errno));
                else
                        bquote(b, v, (size_t) vn);
        }
}

/* One canonical description of the object open as fd (O_PATH or not): nothing that differs between
 * two runs on identical fixtures (no inode numbers, devices or times unless asked). */
static void describe(Buf *b, int fd, bool times) {
        struct stat st;
        char proc[64];

        if (fstat(fd, &st) < 0) {
                bprintf(b, "fstat:%s", errno_name(errno));
                return;
        }
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        bprintf(b, "%s %04o %u:%u n=%lu id=%s", type_name(st.st_mode), (unsigned) (st.st_mode & 07777),
                (unsigned) st.st_uid, (unsigned) st.st_gid, (unsigned long) st.st_nlink,
                label_of(st.st_dev, st.st_ino));
        if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
                bprintf(b, " rdev=%u:%u", major(st.st_rdev), minor(st.st_rdev));
        if (S_ISREG(st.st_mode)) {
                int rfd = open(proc, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
                static char data[1 << 20];
                ssize_t n = rfd < 0 ? -1 : pread(rfd, data, sizeof data, 0);

                if (n < 0)
                        bprintf(b, " s=%lld c=%s", (long long) st.st_size, errno_name(errno));
                else if (n <= 24) {
                        bprintf(b, " c=");
                        bquote(b, data, (size_t) n);
                } else
                        bprintf(b, " s=%lld h=%016llx", (long long) st.st_size,
                                (unsigned long long) fnv1a(data, (size_t) n));
                if (rfd >= 0)
                        close(rfd);
        } else if (S_ISLNK(st.st_mode)) {
                char t[PATH_MAX];
                ssize_t n = readlinkat(fd, "", t, sizeof t);

                bprintf(b, " ->");
                if (n < 0)
                        bprintf(b, "%s", errno_name(errno));
                else
                        bquote(b, t, (size_t) n);
        } else if (S_ISDIR(st.st_mode)) {
                int dfd = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
                char *list[256];
                size_t k = 0;
                struct dirent *de;

                struct statfs sf;

                if (fstatfs(fd, &sf) == 0 && (sf.f_type == PROC_SUPER_MAGIC)) {
                        /* Process directories list what the process has: not the file system's. */
                        bprintf(b, " [procfs]");
                        if (d)
                                closedir(d);
                } else if (!d) {
                        bprintf(b, " [%s]", errno_name(errno));
                        if (dfd >= 0)
                                close(dfd);
                } else {
                        while ((de = readdir(d)) && k < 256)
                                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                                        list[k++] = strdup(de->d_name);
                        closedir(d);
                        qsort(list, k, sizeof list[0], cmp_str);
                        bprintf(b, " [");
                        for (size_t i = 0; i < k; i++) {
                                bprintf(b, "%s%s", i ? "," : "", list[i]);
                                free(list[i]);
                        }
                        bprintf(b, "]");
                }
        }
        if (!S_ISLNK(st.st_mode))
                describe_xattrs(b, fd);
        if (times) {
                describe_time(b, "at", &st.st_atim);
                describe_time(b, "mt", &st.st_mtim);
        }
}

/* The process whose request is being served, as our pid namespace numbers it (SCM_CREDENTIALS): its
 * namespaces are "ours" (a workload under forgeonectl has pid and mount namespaces of its own). */
static pid_t peer_pid;

/* A path or link text as it reads in any run: the fixture as %D, process ids as PID, pipe and socket
 * inode numbers as #, namespaces compared with the asking process's own. */
static void bprint_normalized(Buf *b, const char *t) {
        size_t dl = strlen(fixture);
        char type[32], own[64], proc[64];
        unsigned long long ino;
        ssize_t n;
        int k = 0;

        if (!strncmp(t, fixture, dl) && (t[dl] == '/' || !t[dl])) {
                /* An O_TMPFILE is named "#<inode number>" by the kernel. */
                const char *hash = strstr(t + dl, "/#");

                if (hash && hash[2] >= '0' && hash[2] <= '9')
                        bprintf(b, "%%D%.*s/#INO%s", (int) (hash - t - dl), t + dl,
                                hash + 2 + strspn(hash + 2, "0123456789"));
                else
                        bprintf(b, "%%D%s", t + dl);
                return;
        }
        if (!strncmp(t, "pipe:[", 6) || !strncmp(t, "socket:[", 8)) {
                bprintf(b, "%.*s[#]", (int) (strchr(t, '[') - t), t);
                return;
        }
        if (sscanf(t, "%31[a-z_]:[%llu]%n", type, &ino, &k) == 2 && !t[k]) {
                if (peer_pid > 0)
                        snprintf(proc, sizeof proc, "/proc/%d/ns/%s", (int) peer_pid, type);
                else
                        snprintf(proc, sizeof proc, "/proc/self/ns/%s", type);
                n = readlink(proc, own, sizeof own - 1);
                own[n > 0 ? n : 0] = 0;
                bprintf(b, "%s:[%s]", type, !strcmp(own, t) ? "ours" : "other");
                return;
        }
        if (!strncmp(t, "/proc/", 6) && t[6] >= '0' && t[6] <= '9') {
                const char *r = t + 6 + strspn(t + 6, "0123456789");

                if (!strncmp(r, "/task/", 6))
                        r = r + 6 + strspn(r + 6, "0123456789"), bprintf(b, "/proc/PID/task/TID%s", r);
                else
                        bprintf(b, "/proc/PID%s", r);
                return;
        }
        bprintf(b, "%s", t);
}

/* ---- descriptors handed to cases ---- */

/* path as the asking process sees it: through its root, in its own mount namespace. A descriptor
 * opened in ours would name our copy of the mounts, which a workload in a mount namespace of its own
 * (forgeonectl's) could never have opened, and which the kernel refuses to link from into its own
 * (EXDEV): the driver's descriptors are the workload's own kind. */
static const char *in_peer(char *out, size_t size, const char *path) {
        char tmp[2 * PATH_MAX];

        if (peer_pid <= 0)
                return path;
        if ((size_t) snprintf(tmp, sizeof tmp, "/proc/%d/root%s", (int) peer_pid, path) >= size) {
                errno = ENAMETOOLONG;
                die(path);
        }
        memcpy(out, tmp, strlen(tmp) + 1);
        return out;
}

static int open_token(const char *tok) {
        char p[2 * PATH_MAX], q[2 * PATH_MAX];
        int fd, pfd[2];

#define IN_CASE(rel) (join(q, sizeof q, case_dir, rel), in_peer(p, sizeof p, q))
        if (!strcmp(tok, "d"))
                return open(IN_CASE("d"), O_RDONLY | O_DIRECTORY);
        if (!strcmp(tok, "dpath"))
                return open(IN_CASE("d"), O_PATH | O_DIRECTORY);
        if (!strcmp(tok, "udir"))
                return open(IN_CASE("u"), O_RDONLY | O_DIRECTORY);
        if (!strcmp(tok, "file"))
                return open(IN_CASE("f"), O_RDONLY);
        if (!strcmp(tok, "fpath"))
                return open(IN_CASE("f"), O_PATH);
        if (!strcmp(tok, "ufile"))
                return open(IN_CASE("u/f"), O_RDONLY);
        if (!strcmp(tok, "spath"))
                return open(IN_CASE("sf"), O_PATH | O_NOFOLLOW);
        if (!strcmp(tok, "snpath"))
                return open(IN_CASE("sn"), O_PATH | O_NOFOLLOW);
        if (!strcmp(tok, "fifo"))
                return open(IN_CASE("fifo"), O_RDONLY | O_NONBLOCK);
        if (!strcmp(tok, "tmpfile") || !strcmp(tok, "tmpfile-excl") || !strcmp(tok, "utmpfile")) {
                int flags = O_TMPFILE | O_RDWR | (!strcmp(tok, "tmpfile-excl") ? O_EXCL : 0);

                fd = open(IN_CASE(!strcmp(tok, "utmpfile") ? "u" : "d"), flags, 0640);
                if (fd >= 0 && !strcmp(tok, "utmpfile") && fchown(fd, UID_USER, UID_USER) < 0)
                        die("fchown tmpfile");
                if (fd >= 0 && write(fd, "tmp\n", 4) != 4)
                        die("write tmpfile");
                return fd;
        }
        if (!strcmp(tok, "unlinked")) {
                fd = open(IN_CASE("g"), O_RDWR);
                if (fd >= 0 && unlink(p) < 0)
                        die("unlink g");
                return fd;
        }
        if (!strcmp(tok, "rmdird")) {
                fd = open(IN_CASE("e"), O_RDONLY | O_DIRECTORY);
                if (fd >= 0 && rmdir(p) < 0)
                        die("rmdir e");
                return fd;
        }
        if (!strcmp(tok, "rmdirp")) {
                /* A removed directory that only its owner (root) may search. */
                if (mkdir(IN_CASE("ep"), 0700) < 0 || chmod(p, 0700) < 0)
                        die("mkdir ep");
                fd = open(p, O_RDONLY | O_DIRECTORY);
                if (fd >= 0 && rmdir(p) < 0)
                        die("rmdir ep");
                return fd;
        }
        if (!strcmp(tok, "ro")) {
                join(q, sizeof q, fixture, "ro");
                return open(in_peer(p, sizeof p, q), O_RDONLY | O_DIRECTORY);
        }
        if (!strcmp(tok, "other"))
                return open(in_peer(p, sizeof p, other_dir), O_RDONLY | O_DIRECTORY);
        if (!strcmp(tok, "root"))
                return open(in_peer(p, sizeof p, "/"), O_RDONLY | O_DIRECTORY);
        if (!strcmp(tok, "nsnet"))
                return open("/proc/self/ns/net", O_RDONLY);
        if (!strcmp(tok, "pipe")) {
                if (pipe(pfd) < 0)
                        return -1;
                keep(pfd[1]);
                return pfd[0];
        }
        if (!strcmp(tok, "unix"))
                return socket(AF_UNIX, SOCK_STREAM, 0);
        errno = EINVAL;
        return -1;
#undef IN_CASE
}

/* ---- the request loop ---- */

static char reply_tag[64];

static int send_reply(int sock, const char *text, int fd) {
        static char s[FIDELITY_LINE_MAX + 64];
        struct iovec iov;

        snprintf(s, sizeof s, "%s%s", reply_tag, text);
        iov = (struct iovec) { .iov_base = s, .iov_len = strlen(s) };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } u = {};
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (fd >= 0) {
                mh.msg_control = u.buf;
                mh.msg_controllen = sizeof u.buf;
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof fd);
        }
        return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static void serve(int sock) {
        static char req[PATH_MAX * 2 + 128];
        static Buf b;

        for (;;) {
                union {
                        struct cmsghdr h;
                        char buf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))];
                } u;
                struct iovec iov = { .iov_base = req, .iov_len = sizeof req - 1 };
                struct msghdr mh = { .msg_iov = &iov,
                                     .msg_iovlen = 1,
                                     .msg_control = u.buf,
                                     .msg_controllen = sizeof u.buf };
                int rfd = -1;
                ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return;
                req[n] = 0;
                /* "TAG:request": the reply repeats the tag (see driver_request()). */
                {
                        char *colon = strchr(req, ':');
                        size_t tl = colon ? (size_t) (colon - req) + 1 : 0;

                        if (tl >= sizeof reply_tag)
                                tl = 0;
                        memcpy(reply_tag, req, tl);
                        reply_tag[tl] = 0;
                        memmove(req, req + tl, (size_t) n - tl + 1);
                }
                peer_pid = 0;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                                memcpy(&rfd, CMSG_DATA(c), sizeof rfd);
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                                struct ucred uc;
                                memcpy(&uc, CMSG_DATA(c), sizeof uc);
                                peer_pid = uc.pid;
                        }
                }
                b.n = 0;
                b.s[0] = 0;

                if (!strncmp(req, "prep ", 5)) {
                        build_case_tree((unsigned) strtoul(req + 5, NULL, 10));
                        (void) send_reply(sock, "ok", -1);
                } else if (!strncmp(req, "fd ", 3)) {
                        int fd = open_token(req + 3);

                        if (fd < 0) {
                                bprintf(&b, "err %s", errno_name(errno));
                                (void) send_reply(sock, b.s, -1);
                        } else {
                                (void) send_reply(sock, "ok", fd);
                                close(fd);
                        }
                } else if (!strncmp(req, "obs ", 4)) {
                        /* "obs FLAGS PATH": FLAGS has f (follow) and t (times), or is "-". */
                        char *flags = req + 4, *path = strchr(flags, ' '), p[PATH_MAX * 2];
                        int fd;

                        if (!path) {
                                (void) send_reply(sock, "bad request", -1);
                                continue;
                        }
                        *path++ = 0;
                        if (path[0] == '/')
                                snprintf(p, sizeof p, "%s", path);
                        else
                                join(p, sizeof p, case_dir, path);
                        fd = open(p, O_PATH | O_CLOEXEC | (strchr(flags, 'f') ? 0 : O_NOFOLLOW));
                        if (fd < 0)
                                bprintf(&b, "%s", errno_name(errno));
                        else {
                                struct stat st;

                                describe(&b, fd, strchr(flags, 't'));
                                close(fd);
                                /* A symlink: what it leads to as well, since most calls follow it. */
                                if (lstat(p, &st) == 0 && S_ISLNK(st.st_mode)) {
                                        fd = open(p, O_PATH | O_CLOEXEC);
                                        bprintf(&b, " => ");
                                        if (fd < 0)
                                                bprintf(&b, "%s", errno_name(errno));
                                        else {
                                                describe(&b, fd, strchr(flags, 't'));
                                                close(fd);
                                        }
                                }
                        }
                        (void) send_reply(sock, b.s, -1);
                } else if (!strncmp(req, "obsfd", 5)) {
                        char proc[64], target[PATH_MAX];
                        ssize_t k;

                        if (rfd < 0) {
                                (void) send_reply(sock, "no fd", -1);
                                continue;
                        }
                        describe(&b, rfd, strstr(req, " t"));
                        snprintf(proc, sizeof proc, "/proc/self/fd/%d", rfd);
                        k = readlink(proc, target, sizeof target - 1);
                        if (k > 0) {
                                target[k] = 0;
                                bprintf(&b, " at=");
                                bprint_normalized(&b, target);
                        }
                        (void) send_reply(sock, b.s, -1);
                } else if (!strncmp(req, "norm ", 5)) {
                        bprint_normalized(&b, req + 5);
                        (void) send_reply(sock, b.s, -1);
                } else if (!strncmp(req, "label ", 6)) {
                        unsigned long long dev, ino;

                        if (sscanf(req + 6, "%llu %llu", &dev, &ino) != 2)
                                bprintf(&b, "bad");
                        else
                                bprintf(&b, "%s", label_of((dev_t) dev, (ino_t) ino));
                        (void) send_reply(sock, b.s, -1);
                } else
                        (void) send_reply(sock, "bad request", -1);
                if (rfd >= 0)
                        close(rfd);
        }
}

/* fidelity-cases run DIR [--only N] [-- WRAPPER...] */
int driver_main(int argc, char **argv) {
        char self[PATH_MAX], sockstr[16];
        const char *only = NULL;
        int sv[2], wrap = -1, status;
        ssize_t n;
        pid_t pid;

        if (argc < 3) {
                fprintf(stderr, "usage: fidelity-cases run DIR [--only N] [-- WRAPPER...]\n");
                return 2;
        }
        fixture = argv[2];
        for (int i = 3; i < argc; i++) {
                if (!strcmp(argv[i], "--only") && i + 1 < argc)
                        only = argv[++i];
                else if (!strcmp(argv[i], "--")) {
                        wrap = i + 1;
                        break;
                }
        }
        n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n < 0)
                die("/proc/self/exe");
        self[n] = 0;

        build_fixture();
        if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
                die("socketpair");
        /* Every request carries its sender's pid, translated into our pid namespace. */
        if (setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &(int) { 1 }, sizeof(int)) < 0)
                die("SO_PASSCRED");
        (void) fcntl(sv[0], F_SETFD, FD_CLOEXEC);
        snprintf(sockstr, sizeof sockstr, "0");
        fflush(NULL);

        pid = fork();
        if (pid < 0)
                die("fork");
        if (pid == 0) {
                char *args[64];
                size_t k = 0;

                /* The socket is the workload's standard input: a workload gets exactly 0, 1 and 2 of
                 * its caller (workload.h), whatever else is open. */
                if (dup2(sv[1], 0) < 0)
                        die("dup2");
                close(sv[1]);
                close(sv[0]);
                if (wrap > 0)
                        for (int i = wrap; i < argc && k < 50; i++)
                                args[k++] = argv[i];
                args[k++] = self;
                args[k++] = (char *) "cases";
                args[k++] = (char *) fixture;
                args[k++] = sockstr;
                if (only)
                        args[k++] = (char *) only;
                args[k] = NULL;
                execvp(args[0], args);
                fprintf(stderr, "fidelity driver: exec %s: %s\n", args[0], strerror(errno));
                _exit(127);
        }
        close(sv[1]);
        serve(sv[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        die("waitpid");
        for (size_t i = 0; i < n_kept; i++)
                close(kept[i]);
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        fprintf(stderr, "fidelity driver: workload killed by signal %d\n", WTERMSIG(status));
        return 128 + WTERMSIG(status);
}
