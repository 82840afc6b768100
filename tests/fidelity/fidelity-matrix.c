/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The cases of the fidelity suite. Every case names one call of one syscall with its arguments (path
 * templates, descriptor tokens, flags) and the caller's credentials, umask and limits; its name is
 * built from exactly those, so two runs of the same program list the same cases in the same order.
 * See fidelity-cases.h for the templates and tokens, fidelity-driver.c for the per-case file tree.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fidelity-cases.h"

#ifndef AT_EACCESS
#define AT_EACCESS 0x200
#endif
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#define RENAME_WHITEOUT (1 << 2)
#endif
#define AT_INVALID 0x1 /* no *at flag has this bit */

Case *cases;
size_t n_cases;
static size_t cap_cases;

typedef struct Sys {
        const char *name;
        CaseFn fn;
        const char *layout; /* D fd0, E fd1, P path0, Q path1, a b c d: a[0..3] */
        bool mutating;      /* changes the file system: observe the paths afterwards */
} Sys;

static const Sys table[] = {
        { "open", fn_open, "Pab", true },
        { "openat", fn_open, "DPab", true },
        { "openat2", fn_open, "DPabcd", true },
        { "creat", fn_open, "Pb", true },
        { "stat", fn_stat, "P", false },
        { "lstat", fn_stat, "P", false },
        { "newfstatat", fn_stat, "DPa", false },
        { "statx", fn_stat, "DPab", false },
        { "access", fn_access, "Pa", false },
        { "faccessat", fn_access, "DPa", false },
        { "faccessat2", fn_access, "DPab", false },
        { "readlink", fn_readlink, "Pa", false },
        { "readlinkat", fn_readlink, "DPa", false },
        { "connect", fn_connect, "DPab", false },
        { "mkdir", fn_entry, "Pa", true },
        { "mkdirat", fn_entry, "DPa", true },
        { "mknod", fn_entry, "Pab", true },
        { "mknodat", fn_entry, "DPab", true },
        { "unlink", fn_entry, "P", true },
        { "unlinkat", fn_entry, "DPa", true },
        { "rmdir", fn_entry, "P", true },
        { "rename", fn_entry, "PQ", true },
        { "renameat", fn_entry, "DPEQ", true },
        { "renameat2", fn_entry, "DPEQa", true },
        { "link", fn_entry, "PQ", true },
        { "linkat", fn_entry, "DPEQa", true },
        { "symlink", fn_entry, "PQ", true },
        { "symlinkat", fn_entry, "PEQ", true },
        { "chmod", fn_object, "Pa", true },
        { "fchmodat", fn_object, "DPa", true },
        { "fchmodat2", fn_object, "DPab", true },
        { "chown", fn_object, "Pab", true },
        { "lchown", fn_object, "Pab", true },
        { "fchownat", fn_object, "DPabc", true },
        { "truncate", fn_object, "Pa", true },
        { "utime", fn_object, "Pa", true },
        { "utimes", fn_object, "Pa", true },
        { "utimensat", fn_object, "DPab", true },
        { "futimesat", fn_object, "DPa", true },
        { "setxattr", fn_object, "PQab", true },
        { "lsetxattr", fn_object, "PQab", true },
        { "removexattr", fn_object, "PQ", true },
        { "lremovexattr", fn_object, "PQ", true }
};

static const Sys *sys_find(const char *name) {
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
                if (!strcmp(table[i].name, name))
                        return &table[i];
        fprintf(stderr, "fidelity: no syscall %s in the table\n", name);
        abort();
}

typedef struct Val {
        uint64_t v;
        const char *s;
} Val;
#define V(x) { (uint64_t) (x), #x }

static Case *add(const char *sys) {
        const Sys *s = sys_find(sys);
        Case *c;

        if (n_cases == cap_cases) {
                cap_cases = cap_cases ? cap_cases * 2 : 1024;
                cases = realloc(cases, cap_cases * sizeof *cases);
                if (!cases)
                        abort();
        }
        c = &cases[n_cases++];
        *c = (Case) { .sys = s->name, .fn = s->fn, .umask = 022 };
        return c;
}

static void seta(Case *c, int i, Val v) {
        c->a[i] = v.v;
        c->as[i] = v.s;
}

static Case *add_p(const char *sys, const char *fd0, const char *p0) {
        Case *c = add(sys);

        c->fd[0] = fd0;
        c->p[0] = p0;
        return c;
}

static Case *add_pq(const char *sys, const char *fd0, const char *p0, const char *fd1, const char *p1) {
        Case *c = add_p(sys, fd0, p0);

        c->fd[1] = fd1;
        c->p[1] = p1;
        return c;
}

static const char *const cred_names[_CRED_MAX] = {
        [CRED_ROOT] = "root",           [CRED_USER] = "user",       [CRED_USERG] = "user+group",
        [CRED_SETUID] = "setuid",       [CRED_SETEUID] = "seteuid", [CRED_SETRESUID] = "setresuid-saved0",
        [CRED_FSUID] = "setfsuid",      [CRED_NOBODY] = "nobody",   [CRED_EXEC] = "user-exec",
        [CRED_NODAC] = "root-no-dac",   [CRED_PRIVCWD] = "user-in-private-cwd",
};

static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...) {
        va_list ap;
        int k;

        if (*len >= size - 1)
                return;
        va_start(ap, fmt);
        k = vsnprintf(buf + *len, size - *len, fmt, ap);
        va_end(ap);
        if (k > 0)
                *len = *len + (size_t) k >= size ? size - 1 : *len + (size_t) k;
}

static void append_val(char *buf, size_t size, size_t *len, const Case *c, int i) {
        if (c->as[i]) {
                for (const char *s = c->as[i]; *s; s++)
                        if (*s != ' ')
                                append(buf, size, len, "%c", *s);
        } else
                append(buf, size, len, "%#llx", (unsigned long long) c->a[i]);
}

static void name_case(Case *c) {
        const Sys *s = sys_find(c->sys);
        char buf[1024];
        size_t len = 0;
        bool first = true, shown[4] = {};

        append(buf, sizeof buf, &len, "%s(", c->sys);
        for (const char *l = s->layout; *l; l++) {
                append(buf, sizeof buf, &len, "%s", first ? "" : ", ");
                first = false;
                switch (*l) {
                case 'D':
                case 'E':
                        append(buf, sizeof buf, &len, "%s", c->fd[*l - 'D'] ?: "cwd");
                        break;
                case 'P':
                case 'Q': {
                        const char *p = c->p[*l - 'P'];
                        if (!p || p[0] == '@')
                                append(buf, sizeof buf, &len, "%s", p ? p + 1 : "NULL");
                        else
                                append(buf, sizeof buf, &len, "\"%s\"", p);
                        break;
                }
                default:
                        append_val(buf, sizeof buf, &len, c, *l - 'a');
                        shown[*l - 'a'] = true;
                }
        }
        append(buf, sizeof buf, &len, ")");
        if (c->fd[2])
                append(buf, sizeof buf, &len, " %%2=%s", c->fd[2]);
        for (int i = 0; i < 4; i++)
                if (!shown[i] && c->as[i]) {
                        append(buf, sizeof buf, &len, " ");
                        append_val(buf, sizeof buf, &len, c, i);
                }
        if (c->cred != CRED_ROOT)
                append(buf, sizeof buf, &len, " as %s", cred_names[c->cred]);
        if (c->umask != 022)
                append(buf, sizeof buf, &len, " umask=%03o", (unsigned) c->umask);
        if (c->removed_cwd)
                append(buf, sizeof buf, &len, " in removed cwd");
        if (c->limit == LIMIT_FSIZE)
                append(buf, sizeof buf, &len, " RLIMIT_FSIZE=16");
        else if (c->limit == LIMIT_NOFILE)
                append(buf, sizeof buf, &len, " RLIMIT_NOFILE=next");
        c->name = strdup(buf);
        if (!c->name)
                abort();
}

/* A path worth observing after a mutating call: relative, inside the case tree, no special token. */
static bool observable(const char *p) {
        if (!p || !p[0] || p[0] == '@' || p[0] == '/' || strstr(p, "%L") || strstr(p, "%P") ||
            strstr(p, "%E") || strstr(p, "%2") || strstr(p, "%R") || strstr(p, "..") || !strcmp(p, "."))
                return false;
        return true;
}

static void obs_add(Case *c, const char *p) {
        for (int i = 0; i < 4; i++) {
                if (c->obs[i] && !strcmp(c->obs[i], p))
                        return;
                if (!c->obs[i]) {
                        c->obs[i] = p;
                        return;
                }
        }
}

static void finish_case(Case *c) {
        const Sys *s = sys_find(c->sys);

        name_case(c);
        if (c->no_auto_obs || !s->mutating)
                return;
        if (!strcmp(c->sys, "utime") || !strcmp(c->sys, "utimes") || !strcmp(c->sys, "utimensat") ||
            !strcmp(c->sys, "futimesat"))
                c->obs_times = true;
        obs_add(c, ".");
        for (int i = 0; i < 2; i++) {
                const char *p = c->p[i];
                char *dup, *slash;

                if (!strcmp(c->sys, "symlink") && i == 0)
                        continue; /* the link's text, not a path */
                if (!strcmp(c->sys, "symlinkat") && i == 0)
                        continue;
                if ((!strcmp(c->sys, "setxattr") || !strcmp(c->sys, "lsetxattr") ||
                     !strcmp(c->sys, "removexattr") || !strcmp(c->sys, "lremovexattr")) && i == 1)
                        continue; /* the attribute's name */
                if (p && !strncmp(p, "%O/", 3)) {
                        obs_add(c, "%O");
                        continue;
                }
                if (!observable(p))
                        continue;
                /* Relative to a descriptor that is not the cwd: observe that directory's entry instead. */
                if (c->fd[i] && strcmp(c->fd[i], "cwd")) {
                        if (!strcmp(c->fd[i], "d") || !strcmp(c->fd[i], "dpath"))
                                obs_add(c, "d");
                        else if (!strcmp(c->fd[i], "udir"))
                                obs_add(c, "u");
                        else if (!strcmp(c->fd[i], "other"))
                                obs_add(c, "%O");
                        continue;
                }
                dup = strdup(p);
                while (strlen(dup) > 1 && dup[strlen(dup) - 1] == '/')
                        dup[strlen(dup) - 1] = 0;
                slash = strrchr(dup, '/');
                if (slash) {
                        char *parent = strndup(dup, (size_t) (slash - dup));
                        obs_add(c, parent);
                }
                obs_add(c, dup);
        }
}

/* ---- shared argument sets ---- */

/* Paths for calls that only look: every lookup rule the kernel has. */
static const char *const lookup_paths[] = {
        "f", "d", "sf", "sd", "sn", "sl1", "sa", "sup", "sx", "f/", "d/", "sf/", "sd/", "sn/", "sl1/",
        "missing", "missing/x", "f/x", "", "%L", "%E", "%P", "@NULL", "@BAD", "d/../f", "./f", "sd/../f",
        "d/e/..", "d/e/.", ".", "..", "/", "//", "%C/f", "%C//d///e", "%R/f", "%R/sf", "%O/f", "fifo", "srv",
        "x", "suid", "priv/f", "priv/sl", "sup/%C/f",
        "/proc/self/exe", "/proc/self/cwd", "/proc/self/cwd/", "/proc/self/root", "/proc/self/cwd/f",
        "/proc/self/cwd/sf", "/proc/self/root%C/f", "/proc/self/ns/net", "/proc/self/ns/mnt",
        "/proc/self/ns/user", "/proc/self", "/proc/thread-self", "/proc/self/fd", "/proc/self/exe/",
        "/proc/self/root/proc/self/exe", "/proc/%p/fd/0", "/proc/%p/cwd", "priv/../f", "f/../f", "e/../f"
};

/* Paths for calls that change something: as above without the objects outside the case's own tree
 * (the test program itself, the namespaces, the parents of the case directory). */
static const char *const object_paths[] = {
        "f", "d", "sf", "sd", "sn", "sl1", "sa", "f/", "d/", "sf/", "sd/", "sn/", "missing", "missing/x",
        "f/x", "", "%L", "%E", "%P", "@NULL", "@BAD", "d/../f", "./f", "sd/../f", "d/e/..", ".",
        "%C/f", "%R/f", "%R/sf", "%O/f", "fifo", "srv", "x", "suid", "priv/f", "priv/sl",
        "/proc/self/cwd/f", "/proc/self/cwd/sf", "/proc/self/root%C/f", "priv/../f", "f/../f"
};

/* Descriptors for /proc/self/fd/N. */
static const char *const magic_fds[] = { "file", "fpath", "d", "spath", "tmpfile", "unlinked", "rmdird",
                                         "pipe", "nsnet" };
/* The same, for calls that change the object. */
static const char *const magic_fds_mut[] = { "file", "fpath", "d", "spath", "tmpfile", "unlinked", "pipe" };

typedef struct DirCase {
        const char *fd, *path;
} DirCase;

/* dirfd and relative path: every way the starting point of a lookup can be given. */
static const DirCase dir_cases[] = {
        { "d", "e" }, { "dpath", "e" }, { "d", "../f" }, { "d", "%C/f" }, { "closed", "f" },
        { "closed", "%C/f" }, { "neg", "f" }, { "file", "x" }, { "file", "." }, { "fpath", "x" },
        { "ro", "f" }, { "other", "f" }, { "root", "proc/self/exe" }, { "rmdird", "x" }, { "rmdird", "." },
        { "pipe", "x" }, { "d", "e/" }, { "dpath", ".." }, { "udir", "f" }, { "d", "" }, { "tmpfile", "x" },
        { "nsnet", "x" }
};

/* The same for calls that change the object: nothing outside the fixture (the root directory
 * descriptor names the case's own file). */
static const DirCase dir_cases_mut[] = {
        { "d", "e" },      { "dpath", "e" },   { "d", "../f" },      { "d", "%C/f" },  { "closed", "f" },
        { "closed", "%C/f" }, { "neg", "f" },  { "file", "x" },      { "file", "." },  { "fpath", "x" },
        { "ro", "f" },     { "other", "f" },   { "root", "%c/f" },   { "rmdird", "x" }, { "rmdird", "." },
        { "pipe", "x" },   { "d", "e/" },      { "dpath", ".." },    { "udir", "f" },  { "d", "" },
        { "tmpfile", "x" }, { "nsnet", "x" }
};

/* The same, naming something that does not exist yet (for calls that create). */
static const DirCase create_dir_cases[] = {
        { "d", "new" },      { "dpath", "new" }, { "d", "../new" },  { "d", "%C/new" }, { "closed", "new" },
        { "closed", "%C/new" }, { "neg", "new" }, { "file", "new" },  { "fpath", "new" }, { "ro", "new" },
        { "other", "new" },  { "rmdird", "new" }, { "pipe", "new" },  { "udir", "new" },  { "d", "" },
        { "tmpfile", "new" }
};

/* Descriptors named by AT_EMPTY_PATH with "". */
static const char *const empty_fds[] = {
        "cwd", "file", "fpath", "d", "dpath", "spath", "snpath", "tmpfile", "unlinked", "rmdird", "pipe",
        "nsnet", "fifo", "unix", "closed", "neg", "ro"
};
/* The same, for calls that change the object (no namespace files). */
static const char *const empty_fds_mut[] = {
        "cwd", "file", "fpath", "d", "dpath", "spath", "snpath", "tmpfile", "unlinked", "rmdird", "pipe",
        "fifo", "closed", "neg", "ro"
};

static const Cred nonroot_creds[] = {
        CRED_USER, CRED_USERG, CRED_SETUID, CRED_SETEUID, CRED_SETRESUID, CRED_FSUID, CRED_NOBODY, CRED_EXEC,
        CRED_NODAC
};

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define FOREACH(v, a) for (__typeof__(&(a)[0]) v = (a); v < (a) + N(a); v++)

/* ---- the open family ---- */

static const Val open_flags[] = {
        V(O_RDONLY), V(O_WRONLY), V(O_RDWR), V(O_ACCMODE), V(O_RDONLY | O_TRUNC), V(O_WRONLY | O_TRUNC),
        V(O_WRONLY | O_APPEND), V(O_RDONLY | O_CLOEXEC), V(O_RDONLY | O_NONBLOCK), V(O_RDONLY | O_DIRECTORY),
        V(O_RDONLY | O_NOFOLLOW), V(O_RDONLY | O_NOATIME), V(O_PATH), V(O_PATH | O_NOFOLLOW),
        V(O_PATH | O_DIRECTORY), V(O_WRONLY | O_CREAT), V(O_WRONLY | O_CREAT | O_EXCL),
        V(O_RDWR | O_CREAT | O_TRUNC), V(O_RDONLY | O_SYNC), V(O_WRONLY | O_DSYNC), V(O_RDONLY | O_DIRECT),
        V(O_RDONLY | O_NOCTTY), V(O_RDONLY | O_ASYNC), V(O_RDONLY | 0x80000000), V(O_RDONLY | O_LARGEFILE),
        V(O_WRONLY | O_CREAT | O_DIRECTORY), V(O_TMPFILE | O_RDWR), V(O_TMPFILE | O_WRONLY | O_EXCL),
        V(O_TMPFILE | O_RDONLY), V(O_CREAT | O_EXCL | O_NOFOLLOW), V(O_RDONLY | O_PATH | O_CLOEXEC | O_CREAT)
};

static const char *const open_paths_all_flags[] = { "f", "d", "sf", "sd", "sn", "missing", "new/", "fifo",
                                                    "%R/f" };

static void gen_open(void) {
        static const char *const syss[] = { "open", "openat", "openat2" };

        /* Every flag on the common kinds of object. */
        FOREACH(s, syss)
                FOREACH(p, open_paths_all_flags)
                        FOREACH(f, open_flags) {
                                Case *c = add_p(*s, NULL, *p);
                                seta(c, 0, *f);
                                seta(c, 1, (Val) V(0644));
                                if (!strcmp(*s, "openat2") && !(f->v & (O_CREAT | __O_TMPFILE)))
                                        seta(c, 1, (Val) V(0));
                                if (!strcmp(*s, "openat2"))
                                        seta(c, 2, (Val) V(0));
                        }
        /* Every kind of path, read-only and for writing. */
        static const Val rw[] = { V(O_RDONLY), V(O_WRONLY), V(O_RDWR | O_CREAT) };
        FOREACH(s, syss)
                FOREACH(p, lookup_paths)
                        FOREACH(f, rw) {
                                if (!strcmp(*p, "sx") || !strncmp(*p, "/proc/self/exe", 14) ||
                                    !strncmp(*p, "/proc/self/root/proc", 20))
                                        if (f->v != O_RDONLY)
                                                continue; /* ETXTBSY on the test program at best */
                                Case *c = add_p(*s, NULL, *p);
                                seta(c, 0, *f);
                                seta(c, 1, (Val) V(0644));
                                if (!strcmp(*s, "openat2") && !(f->v & O_CREAT))
                                        seta(c, 1, (Val) V(0));
                                if (!strcmp(*s, "openat2"))
                                        seta(c, 2, (Val) V(0));
                        }
        /* A FIFO nobody has open: only non-blocking opens return. */
        static const Val fifo0_flags[] = { V(O_RDONLY | O_NONBLOCK), V(O_WRONLY | O_NONBLOCK),
                                           V(O_RDWR | O_NONBLOCK) };
        FOREACH(s, syss)
                FOREACH(f, fifo0_flags) {
                        Case *c = add_p(*s, NULL, "fifo0");
                        seta(c, 0, *f);
                        seta(c, 1, (Val) V(0));
                        if (!strcmp(*s, "openat2"))
                                seta(c, 2, (Val) V(0));
                }
        /* /proc/self/fd/N: reopening what the workload has open. */
        static const Val magic_flags[] = { V(O_RDONLY), V(O_WRONLY), V(O_RDWR), V(O_RDONLY | O_NOFOLLOW),
                                           V(O_PATH), V(O_RDONLY | O_DIRECTORY) };
        FOREACH(s, syss)
                FOREACH(m, magic_fds)
                        FOREACH(f, magic_flags) {
                                Case *c = add_p(*s, NULL, "/proc/self/fd/%2");
                                c->fd[2] = *m;
                                seta(c, 0, *f);
                                seta(c, 1, (Val) V(0));
                                if (!strcmp(*s, "openat2"))
                                        seta(c, 2, (Val) V(0));
                        }
        /* Directory descriptors. */
        FOREACH(d, dir_cases) {
                Case *c = add_p("openat", d->fd, d->path);
                seta(c, 0, (Val) V(O_RDONLY));
                seta(c, 1, (Val) V(0));
                c = add_p("openat2", d->fd, d->path);
                seta(c, 0, (Val) V(O_RDONLY));
                seta(c, 1, (Val) V(0));
                seta(c, 2, (Val) V(0));
        }
        FOREACH(d, create_dir_cases) {
                Case *c = add_p("openat", d->fd, d->path);
                seta(c, 0, (Val) V(O_WRONLY | O_CREAT | O_EXCL));
                seta(c, 1, (Val) V(0640));
                c = add_p("openat", d->fd, d->path);
                seta(c, 0, (Val) V(O_TMPFILE | O_RDWR));
                seta(c, 1, (Val) V(0640));
        }
        FOREACH(e, empty_fds) {
                Case *c = add_p("openat", *e, "");
                seta(c, 0, (Val) V(O_RDONLY));
                seta(c, 1, (Val) V(0));
        }
        /* Creation modes, umask, setgid directories and default ACLs. */
        static const Val modes[] = { V(0), V(0644), V(0777), V(07777), V(04755), V(02755), V(01666),
                                     V(0100644) };
        static const int umasks[] = { 0, 022, 077, 0777 };
        static const char *const where[] = { "new", "s/new", "a/new", "d/new" };
        FOREACH(w, where)
                FOREACH(m, modes)
                        FOREACH(u, umasks) {
                                Case *c = add_p("open", NULL, *w);
                                seta(c, 0, (Val) V(O_WRONLY | O_CREAT | O_EXCL));
                                seta(c, 1, *m);
                                c->umask = *u;
                        }
        static const char *const tmp_dirs[] = { ".", "s", "a", "d" };
        FOREACH(w, tmp_dirs)
                FOREACH(u, umasks) {
                        Case *c = add_p("openat", NULL, *w);
                        seta(c, 0, (Val) V(O_TMPFILE | O_RDWR));
                        seta(c, 1, (Val) V(0666));
                        c->umask = *u;
                }
        /* openat2: its own checks of struct open_how and the RESOLVE_* flags. */
        static const struct {
                const char *fd, *path;
                Val flags, mode, resolve;
                uint64_t size;
        } how[] = {
                { NULL, "f", V(O_RDONLY), V(0644), V(0), 0 },
                { NULL, "f", V(O_RDONLY), V(0), V(0), 16 },
                { NULL, "f", V(O_RDONLY), V(0), V(0), 32 },
                { NULL, "f", V(O_RDONLY), V(0), V(0), 40 },
                { NULL, "f", V(O_RDONLY), V(0), V(0), 4097 },
                { NULL, "new", V(O_WRONLY | O_CREAT), V(010644), V(0), 0 },
                { NULL, "new", V(O_WRONLY | O_CREAT), V(0177777), V(0), 0 },
                { NULL, "f", V(O_RDONLY | 0x80000000), V(0), V(0), 0 },
                { NULL, "f", V(O_RDONLY | (1ull << 40)), V(0), V(0), 0 },
                { NULL, "f", V(O_PATH | O_RDWR), V(0), V(0), 0 },
                { NULL, "f", V(O_PATH | O_CLOEXEC | O_NOFOLLOW | O_DIRECTORY), V(0), V(0), 0 },
                { NULL, "f", V(O_RDONLY), V(0), V(0x40), 0 },
                { NULL, "f", V(O_RDONLY), V(0), V(1ull << 40), 0 },
                { NULL, "sf", V(O_RDONLY), V(0), V(RESOLVE_NO_SYMLINKS), 0 },
                { NULL, "sd/e", V(O_RDONLY), V(0), V(RESOLVE_NO_SYMLINKS), 0 },
                { NULL, "d/e", V(O_RDONLY), V(0), V(RESOLVE_NO_SYMLINKS), 0 },
                { NULL, "sf", V(O_PATH | O_NOFOLLOW), V(0), V(RESOLVE_NO_SYMLINKS), 0 },
                { NULL, "sf", V(O_RDONLY), V(0), V(RESOLVE_NO_MAGICLINKS), 0 },
                { NULL, "/proc/self/exe", V(O_RDONLY), V(0), V(RESOLVE_NO_MAGICLINKS), 0 },
                { NULL, "/proc/self/exe", V(O_RDONLY), V(0), V(RESOLVE_NO_SYMLINKS), 0 },
                { NULL, "/proc/self/cwd/f", V(O_RDONLY), V(0), V(RESOLVE_NO_MAGICLINKS), 0 },
                { NULL, "/proc/self/exe", V(O_PATH | O_NOFOLLOW), V(0), V(RESOLVE_NO_MAGICLINKS), 0 },
                { "file", "/proc/self/fd/%0", V(O_RDONLY), V(0), V(RESOLVE_NO_MAGICLINKS), 0 },
                { NULL, "sx", V(O_RDONLY), V(0), V(RESOLVE_NO_MAGICLINKS), 0 },
                { NULL, "%R/f", V(O_RDONLY), V(0), V(RESOLVE_NO_XDEV), 0 },
                { NULL, "%O/f", V(O_RDONLY), V(0), V(RESOLVE_NO_XDEV), 0 },
                { NULL, "f", V(O_RDONLY), V(0), V(RESOLVE_NO_XDEV), 0 },
                { NULL, "/proc/self/exe", V(O_RDONLY), V(0), V(RESOLVE_NO_XDEV), 0 },
                { "d", "e", V(O_RDONLY), V(0), V(RESOLVE_BENEATH), 0 },
                { "d", "../f", V(O_RDONLY), V(0), V(RESOLVE_BENEATH), 0 },
                { "d", "%C/f", V(O_RDONLY), V(0), V(RESOLVE_BENEATH), 0 },
                { NULL, "sa", V(O_RDONLY), V(0), V(RESOLVE_BENEATH), 0 },
                { NULL, "sf", V(O_RDONLY), V(0), V(RESOLVE_BENEATH), 0 },
                { "d", "/e", V(O_RDONLY), V(0), V(RESOLVE_IN_ROOT), 0 },
                { "d", "../e", V(O_RDONLY), V(0), V(RESOLVE_IN_ROOT), 0 },
                { NULL, "sa", V(O_RDONLY), V(0), V(RESOLVE_IN_ROOT), 0 },
                { NULL, "f", V(O_RDONLY), V(0), V(RESOLVE_BENEATH | RESOLVE_IN_ROOT), 0 },
                { NULL, "f", V(O_RDONLY), V(0), V(RESOLVE_CACHED), 0 },
                { NULL, "new", V(O_WRONLY | O_CREAT), V(0644), V(RESOLVE_CACHED), 0 },
                { NULL, "f", V(O_WRONLY | O_TRUNC), V(0), V(RESOLVE_CACHED), 0 },
                { NULL, "sn", V(O_WRONLY | O_CREAT), V(0644), V(RESOLVE_NO_SYMLINKS), 0 },
                { NULL, "d", V(O_TMPFILE | O_RDWR), V(0600), V(RESOLVE_NO_SYMLINKS), 0 },
                { NULL, "d", V(O_TMPFILE | O_RDWR), V(07777), V(0), 0 },
                { NULL, "d", V(O_TMPFILE | O_RDWR), V(010000), V(0), 0 }
        };
        FOREACH(h, how) {
                Case *c = add_p("openat2", h->fd, h->path);
                seta(c, 0, h->flags);
                seta(c, 1, h->mode);
                seta(c, 2, h->resolve);
                if (h->size) {
                        char *s;
                        c->a[3] = h->size;
                        if (asprintf(&s, "size=%llu", (unsigned long long) h->size) < 0)
                                abort();
                        c->as[3] = s;
                }
        }
        /* creat(2). */
        static const char *const creat_paths[] = { "new", "f", "d", "sn", "sf", "sd", "sl1", "fifo", "new/",
                                                   "%R/new", "%R/f", "missing/x", "", "%L", "%E", "x",
                                                   "/proc/self/cwd/new", "s/new", "a/new", "@NULL" };
        FOREACH(p, creat_paths) {
                Case *c = add_p("creat", NULL, *p);
                seta(c, 1, (Val) V(0640));
        }
        /* Limits. */
        static const char *const limit_syss[] = { "open", "openat", "openat2", "creat" };
        FOREACH(s, limit_syss) {
                Case *c = add_p(*s, NULL, !strcmp(*s, "creat") ? "new" : "f");
                seta(c, 0, (Val) V(O_RDONLY));
                seta(c, 1, !strcmp(*s, "openat2") ? (Val) V(0) : (Val) V(0644));
                if (!strcmp(*s, "openat2"))
                        seta(c, 2, (Val) V(0));
                c->limit = LIMIT_NOFILE;
                c = add_p(*s, NULL, "f");
                seta(c, 0, (Val) V(O_WRONLY | O_APPEND));
                seta(c, 1, !strcmp(*s, "openat2") ? (Val) V(0) : (Val) V(0644));
                if (!strcmp(*s, "openat2"))
                        seta(c, 2, (Val) V(0));
                c->limit = LIMIT_FSIZE;
                if (!strcmp(*s, "creat"))
                        continue;
                /* At the descriptor limit, opens that fail otherwise or truncate (a documented exception). */
                c = add_p(*s, NULL, "missing");
                seta(c, 0, (Val) V(O_RDONLY));
                seta(c, 1, (Val) V(0));
                if (!strcmp(*s, "openat2"))
                        seta(c, 2, (Val) V(0));
                c->limit = LIMIT_NOFILE;
                c = add_p(*s, NULL, "f");
                seta(c, 0, (Val) V(O_WRONLY | O_TRUNC));
                seta(c, 1, (Val) V(0));
                if (!strcmp(*s, "openat2"))
                        seta(c, 2, (Val) V(0));
                c->limit = LIMIT_NOFILE;
        }
        /* Credentials. */
        static const struct {
                const char *path;
                Val flags, mode;
        } cred_cases[] = {
                { "f", V(O_RDONLY), V(0) },
                { "f", V(O_WRONLY), V(0) },
                { "g", V(O_RDONLY), V(0) },
                { "priv/f", V(O_RDONLY), V(0) },
                { "u/f", V(O_RDWR | O_TRUNC), V(0) },
                { "u/new", V(O_WRONLY | O_CREAT), V(0666) },
                { "w/new", V(O_RDWR | O_CREAT | O_EXCL), V(0640) },
                { "s/new", V(O_WRONLY | O_CREAT), V(02777) },
                { "a/new", V(O_WRONLY | O_CREAT), V(0666) },
                { "new", V(O_WRONLY | O_CREAT), V(0644) },
                { "t/b", V(O_WRONLY | O_CREAT), V(0644) },
                { "f", V(O_RDONLY | O_NOATIME), V(0) },
                { "u", V(O_TMPFILE | O_RDWR), V(0600) },
                { "/proc/self/exe", V(O_RDONLY), V(0) },
                { "/proc/self/cwd", V(O_RDONLY | O_DIRECTORY), V(0) },
                { "/proc/self/fd/%2", V(O_RDONLY), V(0) },
                { "/proc/self/ns/net", V(O_RDONLY), V(0) },
                { "priv/../f", V(O_RDONLY), V(0) },
                { "priv/../w/new", V(O_WRONLY | O_CREAT), V(0644) }
        };
        FOREACH(s, syss)
                FOREACH(cr, nonroot_creds)
                        FOREACH(k, cred_cases) {
                                Case *c = add_p(*s, NULL, k->path);
                                seta(c, 0, k->flags);
                                seta(c, 1, k->mode);
                                if (!strcmp(*s, "openat2"))
                                        seta(c, 2, (Val) V(0));
                                if (strstr(k->path, "%2"))
                                        c->fd[2] = "file";
                                c->cred = *cr;
                        }
        /* Written, closed and executed at once, as configure and make do. */
        {
                Case *c = add_p("openat", NULL, "prog");
                seta(c, 0, (Val) V(O_WRONLY | O_CREAT | O_TRUNC));
                seta(c, 1, (Val) V(0755));
                c->fn = fn_write_exec;
                c->a[0] = 100;
                c->as[0] = "write-close-execve-at-once-x100";
                c->as[1] = NULL;
                c->no_auto_obs = true;
        }
}

/* ---- metadata readers ---- */

static void gen_stat(void) {
        static const char *const plain[] = { "stat", "lstat" };
        static const Val at_flags[] = { V(0), V(AT_SYMLINK_NOFOLLOW), V(AT_EMPTY_PATH), V(AT_NO_AUTOMOUNT),
                                        V(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH), V(AT_INVALID),
                                        V(AT_REMOVEDIR), V(AT_STATX_FORCE_SYNC) };
        static const Val statx_flags[] = { V(0), V(AT_SYMLINK_NOFOLLOW), V(AT_EMPTY_PATH),
                                           V(AT_NO_AUTOMOUNT), V(AT_STATX_FORCE_SYNC), V(AT_STATX_DONT_SYNC),
                                           V(AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC), V(AT_INVALID),
                                           V(AT_REMOVEDIR) };
        static const Val masks[] = { V(0), V(STATX_BASIC_STATS), V(STATX_ALL), V(STATX_BTIME | STATX_MNT_ID),
                                     V(STATX__RESERVED), V(0xffffffffu) };
        static const char *const flag_paths[] = { "f", "sf", "sd", "sn", "sl1", "", "d", "/proc/self/exe",
                                                  "sx", "f/", "/proc/self/fd/%2" };

        FOREACH(s, plain) {
                FOREACH(p, lookup_paths)
                        add_p(*s, NULL, *p);
                FOREACH(m, magic_fds) {
                        Case *c = add_p(*s, NULL, "/proc/self/fd/%2");
                        c->fd[2] = *m;
                }
                Case *c = add_p(*s, NULL, "f");
                c->a[2] = 1;
                c->as[2] = "buf=BAD";
        }
        FOREACH(p, lookup_paths) {
                Case *c = add_p("newfstatat", NULL, *p);
                seta(c, 0, (Val) V(0));
                c = add_p("statx", NULL, *p);
                seta(c, 0, (Val) V(0));
                seta(c, 1, (Val) V(STATX_BASIC_STATS));
        }
        FOREACH(p, flag_paths) {
                FOREACH(f, at_flags) {
                        Case *c = add_p("newfstatat", NULL, *p);
                        seta(c, 0, *f);
                        if (strstr(*p, "%2"))
                                c->fd[2] = "file";
                }
                FOREACH(f, statx_flags) {
                        Case *c = add_p("statx", NULL, *p);
                        seta(c, 0, *f);
                        seta(c, 1, (Val) V(STATX_BASIC_STATS));
                        if (strstr(*p, "%2"))
                                c->fd[2] = "file";
                }
        }
        FOREACH(m, masks) {
                Case *c = add_p("statx", NULL, "f");
                seta(c, 0, (Val) V(0));
                seta(c, 1, *m);
        }
        FOREACH(d, dir_cases) {
                Case *c = add_p("newfstatat", d->fd, d->path);
                seta(c, 0, (Val) V(0));
                c = add_p("statx", d->fd, d->path);
                seta(c, 0, (Val) V(0));
                seta(c, 1, (Val) V(STATX_BASIC_STATS));
        }
        FOREACH(e, empty_fds) {
                static const Val ef[] = { V(AT_EMPTY_PATH), V(0), V(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) };
                FOREACH(f, ef) {
                        Case *c = add_p("newfstatat", *e, "");
                        seta(c, 0, *f);
                        c = add_p("statx", *e, "");
                        seta(c, 0, *f);
                        seta(c, 1, (Val) V(STATX_BASIC_STATS));
                }
                Case *c = add_p("statx", *e, "@NULL");
                seta(c, 0, (Val) V(AT_EMPTY_PATH));
                seta(c, 1, (Val) V(STATX_BASIC_STATS));
                c = add_p("newfstatat", *e, "@NULL");
                seta(c, 0, (Val) V(AT_EMPTY_PATH));
        }
        {
                Case *c = add_p("newfstatat", "file", "f");
                seta(c, 0, (Val) V(AT_EMPTY_PATH));
                c = add_p("newfstatat", NULL, "f");
                seta(c, 0, (Val) V(0));
                c->a[2] = 1;
                c->as[2] = "buf=BAD";
                c = add_p("statx", NULL, "f");
                seta(c, 0, (Val) V(0));
                seta(c, 1, (Val) V(STATX_BASIC_STATS));
                c->a[2] = 1;
                c->as[2] = "buf=BAD";
        }
        /* Credentials: the caller's ids, and glibc's fstat (newfstatat(fd, "", AT_EMPTY_PATH)). */
        static const char *const cred_paths[] = { "f", "priv/f", "u/f", "/proc/self/exe", "sf",
                                                  "/proc/self/fd/%2", "priv/../f", "priv/.." };
        static const char *const all[] = { "stat", "lstat", "newfstatat", "statx" };
        FOREACH(s, all)
                FOREACH(cr, nonroot_creds) {
                        FOREACH(p, cred_paths) {
                                Case *c = add_p(*s, NULL, *p);
                                if (strcmp(*s, "stat") && strcmp(*s, "lstat"))
                                        seta(c, 0, (Val) V(0));
                                if (!strcmp(*s, "statx"))
                                        seta(c, 1, (Val) V(STATX_BASIC_STATS));
                                if (strstr(*p, "%2"))
                                        c->fd[2] = "file";
                                c->cred = *cr;
                        }
                        if (!strcmp(*s, "newfstatat") || !strcmp(*s, "statx")) {
                                static const char *const fds[] = { "file", "d", "tmpfile", "cwd" };
                                FOREACH(e, fds) {
                                        Case *c = add_p(*s, *e, "");
                                        seta(c, 0, (Val) V(AT_EMPTY_PATH));
                                        if (!strcmp(*s, "statx"))
                                                seta(c, 1, (Val) V(STATX_BASIC_STATS));
                                        c->cred = *cr;
                                }
                        }
                }
}

static void gen_access(void) {
        static const Val modes[] = { V(F_OK), V(R_OK), V(W_OK), V(X_OK), V(R_OK | W_OK | X_OK), V(8) };
        static const char *const paths[] = { "f", "d", "x", "sf", "sn", "sl1", "%R/f", "%R/d", "fifo", "g",
                                             "suid", "priv/f", "", "@NULL", "f/", "missing",
                                             "/proc/self/exe", "/proc/self/fd/%2", "/proc/self/ns/net" };
        static const Val flags2[] = { V(0), V(AT_EACCESS), V(AT_SYMLINK_NOFOLLOW), V(AT_EMPTY_PATH),
                                      V(AT_EACCESS | AT_SYMLINK_NOFOLLOW), V(AT_INVALID), V(AT_REMOVEDIR) };
        static const char *const syss[] = { "access", "faccessat", "faccessat2" };

        FOREACH(s, syss)
                FOREACH(p, paths)
                        FOREACH(m, modes) {
                                Case *c = add_p(*s, NULL, *p);
                                seta(c, 0, *m);
                                if (!strcmp(*s, "faccessat2"))
                                        seta(c, 1, (Val) V(0));
                                if (strstr(*p, "%2"))
                                        c->fd[2] = "file";
                        }
        FOREACH(p, lookup_paths) {
                Case *c = add_p("access", NULL, *p);
                seta(c, 0, (Val) V(R_OK));
        }
        static const char *const flag_paths[] = { "f", "sf", "sn", "sl1", "", "x", "/proc/self/exe" };
        FOREACH(p, flag_paths)
                FOREACH(f, flags2) {
                        Case *c = add_p("faccessat2", NULL, *p);
                        seta(c, 0, (Val) V(R_OK));
                        seta(c, 1, *f);
                }
        FOREACH(d, dir_cases) {
                Case *c = add_p("faccessat", d->fd, d->path);
                seta(c, 0, (Val) V(R_OK));
                c = add_p("faccessat2", d->fd, d->path);
                seta(c, 0, (Val) V(R_OK));
                seta(c, 1, (Val) V(0));
        }
        FOREACH(e, empty_fds) {
                Case *c = add_p("faccessat2", *e, "");
                seta(c, 0, (Val) V(R_OK));
                seta(c, 1, (Val) V(AT_EMPTY_PATH));
                c = add_p("faccessat2", *e, "");
                seta(c, 0, (Val) V(W_OK));
                seta(c, 1, (Val) V(AT_EMPTY_PATH | AT_EACCESS));
                c = add_p("faccessat", *e, "");
                seta(c, 0, (Val) V(R_OK));
        }
        static const struct {
                const char *path;
                Val mode;
        } cred_cases[] = {
                { "f", V(R_OK) }, { "f", V(W_OK) }, { "priv/f", V(R_OK) }, { "u/f", V(W_OK) },
                { "x", V(X_OK) }, { "g", V(R_OK) }, { "s/f", V(W_OK) }, { "/proc/self/exe", V(X_OK) },
                { "priv/../f", V(R_OK) }
        };
        FOREACH(s, syss)
                FOREACH(cr, nonroot_creds)
                        FOREACH(k, cred_cases) {
                                Case *c = add_p(*s, NULL, k->path);
                                seta(c, 0, k->mode);
                                if (!strcmp(*s, "faccessat2"))
                                        seta(c, 1, (Val) V(0));
                                c->cred = *cr;
                                if (!strcmp(*s, "faccessat2")) {
                                        c = add_p(*s, NULL, k->path);
                                        seta(c, 0, k->mode);
                                        seta(c, 1, (Val) V(AT_EACCESS));
                                        c->cred = *cr;
                                }
                        }
}

static void gen_readlink(void) {
        static const Val sizes[] = { V(1), V(2), V(0), V(-1), V(0x7fffffff) };
        static const char *const syss[] = { "readlink", "readlinkat" };

        FOREACH(s, syss) {
                FOREACH(p, lookup_paths) {
                        Case *c = add_p(*s, NULL, *p);
                        seta(c, 0, (Val) V(4096));
                }
                FOREACH(m, magic_fds) {
                        Case *c = add_p(*s, NULL, "/proc/self/fd/%2");
                        seta(c, 0, (Val) V(4096));
                        c->fd[2] = *m;
                }
                static const char *const size_paths[] = { "sf", "/proc/self/exe" };
                FOREACH(p, size_paths)
                        FOREACH(z, sizes) {
                                Case *c = add_p(*s, NULL, *p);
                                seta(c, 0, *z);
                        }
                Case *c = add_p(*s, NULL, "sf");
                seta(c, 0, (Val) V(4096));
                c->a[2] = 1;
                c->as[2] = "buf=BAD";
                FOREACH(cr, nonroot_creds) {
                        static const char *const cred_paths[] = { "sf", "priv/sl", "/proc/self/exe",
                                                                  "/proc/self/cwd", "/proc/self/fd/%2", "f",
                                                                  "priv/../sf" };
                        FOREACH(p, cred_paths) {
                                c = add_p(*s, NULL, *p);
                                seta(c, 0, (Val) V(4096));
                                c->cred = *cr;
                                if (strstr(*p, "%2"))
                                        c->fd[2] = "file";
                        }
                }
        }
        static const DirCase link_dir_cases[] = {
                { "d", "../sf" }, { "dpath", "../sf" }, { "closed", "sf" }, { "closed", "%C/sf" },
                { "neg", "sf" }, { "file", "x" }, { "ro", "sf" }, { "rmdird", "x" }, { "d", "e" },
                { "udir", "sf" }, { "root", "proc/self/exe" }
        };
        FOREACH(d, link_dir_cases) {
                Case *c = add_p("readlinkat", d->fd, d->path);
                seta(c, 0, (Val) V(4096));
        }
        FOREACH(e, empty_fds) {
                Case *c = add_p("readlinkat", *e, "");
                seta(c, 0, (Val) V(4096));
                c = add_p("readlinkat", *e, "@NULL");
                seta(c, 0, (Val) V(4096));
        }
}

static void gen_connect(void) {
        static const Val kinds[] = { V(0), V(1), V(4) };
        static const char *const kind_names[] = { "unix-stream", "unix-dgram", "unix-stream-nonblock" };
        static const char *const paths[] = { "srv", "stale", "srv-priv", "f", "d", "sf", "sn", "sl1",
                                             "missing", "f/x", "fifo", "%C/srv", "/proc/self/cwd/srv", "",
                                             "srv/", "@fidelity-no-such-socket", "%R/f", "%L", "%S",
                                             "d/../%S" };

        FOREACH(p, paths)
                for (size_t k = 0; k < N(kinds); k++) {
                        Case *c = add_p("connect", NULL, *p);
                        c->a[0] = kinds[k].v;
                        c->as[0] = kind_names[k];
                        c->as[1] = "addr";
                }
        static const struct {
                uint64_t kind;
                const char *name;
        } inet[] = { { 2, "inet-stream-listening" }, { 3, "inet-stream-not-listening" },
                     { 5, "inet6-stream-listening" } };
        FOREACH(i, inet) {
                Case *c = add_p("connect", NULL, "@NULL");
                c->p[0] = NULL;
                c->a[0] = i->kind;
                c->as[0] = i->name;
                c->as[1] = "addr";
                c = add_p("connect", NULL, NULL);
                c->a[0] = i->kind;
                c->as[0] = i->name;
                c->a[1] = 3;
                c->as[1] = "AF_UNSPEC";
        }
        static const struct {
                uint64_t form;
                const char *name;
        } forms[] = { { 1, "addrlen=3" }, { 2, "addrlen=sizeof(sockaddr_storage)+1" }, { 3, "AF_UNSPEC" },
                      { 4, "addr=NULL" }, { 5, "sun_path-without-NUL" } };
        FOREACH(f, forms) {
                Case *c = add_p("connect", NULL, "srv");
                c->a[0] = 0;
                c->as[0] = "unix-stream";
                c->a[1] = f->form;
                c->as[1] = f->name;
        }
        static const char *const sock_fds[] = { "file", "closed", "neg", "unix", "pipe" };
        FOREACH(s, sock_fds) {
                Case *c = add_p("connect", *s, "srv");
                c->as[0] = "given-fd";
                c->as[1] = "addr";
        }
        FOREACH(cr, nonroot_creds) {
                static const char *const cred_paths[] = { "srv", "srv-priv", "priv/../srv", "%S" };
                FOREACH(p, cred_paths) {
                        Case *c = add_p("connect", NULL, *p);
                        c->as[0] = "unix-stream";
                        c->as[1] = "addr";
                        c->cred = *cr;
                }
        }
}

/* ---- directory entries ---- */

static const char *const create_paths[] = {
        "new", "new/", "new//", "f", "d", "sn", "sd", "sf", "sl1", "sn/", "missing/x", "f/x", "", "%L", "%E",
        "%P", ".", "..", "/", "d/.", "d/..", "d/new", "sd/new", "%R/new", "%R/f", "%O/new",
        "/proc/self/cwd/new", "/proc/self/fd/%2/new", "@NULL", "@BAD", "priv/new", "fifo/new", "sup/new"
};

static void gen_mkdir_mknod(void) {
        static const Val mkdir_modes[] = { V(0777), V(0), V(07777), V(01777), V(02755), V(0100755) };
        static const int umasks[] = { 0, 022, 077 };
        static const char *const where[] = { "new", "s/new", "a/new", "t/new" };

        FOREACH(p, create_paths) {
                Case *c = add_p("mkdir", NULL, *p);
                seta(c, 0, (Val) V(0755));
                if (strstr(*p, "%2"))
                        c->fd[2] = "d";
                c = add_p("mkdirat", NULL, *p);
                seta(c, 0, (Val) V(0755));
                if (strstr(*p, "%2"))
                        c->fd[2] = "d";
        }
        FOREACH(w, where)
                FOREACH(m, mkdir_modes)
                        FOREACH(u, umasks) {
                                Case *c = add_p("mkdir", NULL, *w);
                                seta(c, 0, *m);
                                c->umask = *u;
                        }
        FOREACH(d, create_dir_cases) {
                Case *c = add_p("mkdirat", d->fd, d->path);
                seta(c, 0, (Val) V(0755));
        }

        static const struct {
                Val mode, dev;
        } nodes[] = {
                { V(S_IFREG | 0644), V(0) }, { V(0), V(0) },           { V(0644), V(0) },
                { V(S_IFIFO | 0666), V(0) }, { V(S_IFSOCK | 0644), V(0) }, { V(S_IFCHR | 0644), V(0x103) },
                { V(S_IFBLK | 0600), V(0x700) }, { V(S_IFCHR | 0600), V(0) }, { V(S_IFDIR | 0755), V(0) },
                { V(0170000 | 0644), V(0) }, { V(S_IFREG | 07777), V(0) }, { V(S_IFIFO | 02777), V(0) }
        };
        static const char *const node_paths[] = { "new", "f", "sn", "new/", "%R/new", "missing/x", "", "%L",
                                                  "s/new", "a/new", "d/new", "/proc/self/cwd/new", "@NULL" };
        static const char *const syss[] = { "mknod", "mknodat" };
        FOREACH(s, syss)
                FOREACH(p, node_paths)
                        FOREACH(n, nodes) {
                                /* Every kind of node where it can be made; the first four elsewhere. */
                                if (strcmp(*p, "new") && n - nodes >= 4)
                                        continue;
                                Case *c = add_p(*s, NULL, *p);
                                seta(c, 0, n->mode);
                                seta(c, 1, n->dev);
                        }
        FOREACH(u, umasks) {
                Case *c = add_p("mknod", NULL, "new");
                seta(c, 0, (Val) V(S_IFREG | 0666));
                seta(c, 1, (Val) V(0));
                c->umask = *u;
                c = add_p("mknod", NULL, "a/new");
                seta(c, 0, (Val) V(S_IFIFO | 0666));
                seta(c, 1, (Val) V(0));
                c->umask = *u;
        }
        FOREACH(d, create_dir_cases) {
                Case *c = add_p("mknodat", d->fd, d->path);
                seta(c, 0, (Val) V(S_IFIFO | 0644));
                seta(c, 1, (Val) V(0));
        }
        FOREACH(cr, nonroot_creds) {
                static const char *const dirs[] = { "new", "u/new", "w/new", "s/new", "priv/new", "a/new",
                                                    "t/new", "priv/../w/new" };
                FOREACH(p, dirs) {
                        Case *c = add_p("mkdir", NULL, *p);
                        seta(c, 0, (Val) V(02777));
                        c->cred = *cr;
                        c = add_p("mknod", NULL, *p);
                        seta(c, 0, (Val) V(S_IFIFO | 0666));
                        seta(c, 1, (Val) V(0));
                        c->cred = *cr;
                }
                Case *c = add_p("mknod", NULL, "w/null");
                seta(c, 0, (Val) V(S_IFCHR | 0666));
                seta(c, 1, (Val) V(0x103));
                c->cred = *cr;
                c = add_p("mkdirat", "udir", "new");
                seta(c, 0, (Val) V(0755));
                c->cred = *cr;
        }
}

static void gen_unlink_rmdir(void) {
        static const char *const paths[] = {
                "f", "d", "e", "sf", "sd", "sn", "sl1", "missing", "f/", "d/", "e/", "e//", "sf/", "sd/",
                "sn/", "", "%L", "%P", ".", "..", "/", "%R/f", "%R/d", "%R", "%O", "%O/f", "fifo", "srv",
                "priv/f", "t/a", "d/e", "d/../f", "d/..", "e/.", "sup", "@NULL", "@BAD", "/proc/self/cwd/f",
                "/proc/self/cwd", "/proc/self/fd/%2", "/proc/self/fd/%2/e", "%C", "%C/e"
        };
        static const Val uflags[] = { V(0), V(AT_REMOVEDIR), V(AT_INVALID), V(AT_REMOVEDIR | AT_INVALID),
                                      V(AT_SYMLINK_NOFOLLOW) };

        FOREACH(p, paths) {
                Case *c = add_p("unlink", NULL, *p);
                if (strstr(*p, "%2"))
                        c->fd[2] = strstr(*p, "%2/") ? "d" : "file";
                c = add_p("rmdir", NULL, *p);
                if (strstr(*p, "%2"))
                        c->fd[2] = strstr(*p, "%2/") ? "d" : "file";
                FOREACH(f, uflags) {
                        if (f - uflags > 1 && strcmp(*p, "f") && strcmp(*p, "e"))
                                continue;
                        c = add_p("unlinkat", NULL, *p);
                        seta(c, 0, *f);
                        if (strstr(*p, "%2"))
                                c->fd[2] = strstr(*p, "%2/") ? "d" : "file";
                }
        }
        FOREACH(d, dir_cases_mut) {
                Case *c = add_p("unlinkat", d->fd, d->path);
                seta(c, 0, (Val) V(0));
                c = add_p("unlinkat", d->fd, d->path);
                seta(c, 0, (Val) V(AT_REMOVEDIR));
        }
        FOREACH(cr, nonroot_creds) {
                static const char *const upaths[] = { "t/a", "t/b", "t/r", "u/f", "f", "priv/f", "w",
                                                      "priv/../t/a" };
                FOREACH(p, upaths) {
                        Case *c = add_p("unlink", NULL, *p);
                        c->cred = *cr;
                }
                static const char *const dpaths[] = { "u/d", "e", "t" };
                FOREACH(p, dpaths) {
                        Case *c = add_p("rmdir", NULL, *p);
                        c->cred = *cr;
                }
        }
}

static void gen_rename(void) {
        static const struct {
                const char *from, *to;
        } pairs[] = {
                { "f", "new" }, { "f", "g" }, { "f", "d" }, { "d", "f" }, { "d", "e" }, { "e", "d" },
                { "d", "d/sub" }, { "f", "f" }, { "sf", "new" }, { "sn", "new" }, { "missing", "new" },
                { "f", "%O/f" }, { "f", "%R/new" }, { "%R/f", "new" }, { "f/", "new" }, { "d/", "new/" },
                { "f", "new/" }, { "e", "new/" }, { ".", "new" }, { "f", "." }, { "..", "new" },
                { "f", ".." }, { "/", "new" }, { "f", "%L" }, { "%L", "new" }, { "", "new" }, { "f", "" },
                { "f", "missing/x" }, { "f", "f/x" }, { "sd/e", "new" }, { "d/e", "sd/new" },
                { "fifo", "new" }, { "f", "sn" }, { "sl1", "new" }, { "f", "sl1" }, { "@NULL", "new" },
                { "f", "@NULL" }, { "f", "/proc/self/cwd/new" }, { "/proc/self/fd/%2", "new" },
                { "d", "sd" }, { "t/a", "t/c" }, { "sd", "e" }, { "d/e", "d/e" }, { "f", "sf" },
                { "e", "d/e" }, { "x", "suid" }
        };
        static const Val flags2[] = { V(0), V(RENAME_NOREPLACE), V(RENAME_EXCHANGE), V(RENAME_WHITEOUT),
                                      V(RENAME_EXCHANGE | RENAME_NOREPLACE),
                                      V(RENAME_EXCHANGE | RENAME_WHITEOUT), V(0x8) };
        static const struct {
                const char *from, *to;
        } flag_pairs[] = { { "f", "g" }, { "f", "new" }, { "f", "d" }, { "d", "e" }, { "sf", "sn" },
                           { "f", "missing" }, { "e", "d/e" } };
        static const char *const syss[] = { "rename", "renameat", "renameat2" };

        FOREACH(s, syss)
                FOREACH(p, pairs) {
                        Case *c = add_pq(*s, NULL, p->from, NULL, p->to);
                        if (!strcmp(*s, "renameat2"))
                                seta(c, 0, (Val) V(0));
                        if (strstr(p->from, "%2"))
                                c->fd[2] = "file";
                }
        FOREACH(p, flag_pairs)
                FOREACH(f, flags2) {
                        Case *c = add_pq("renameat2", NULL, p->from, NULL, p->to);
                        seta(c, 0, *f);
                }
        static const struct {
                const char *fd0, *p0, *fd1, *p1;
        } dirs[] = {
                { "d", "e", "d", "e2" }, { "dpath", "e", "cwd", "new" }, { "closed", "f", "cwd", "new" },
                { "cwd", "f", "closed", "new" }, { "closed", "%C/f", "closed", "%C/new" },
                { "file", "x", "cwd", "new" }, { "cwd", "f", "file", "new" }, { "cwd", "f", "other", "new" },
                { "cwd", "f", "ro", "new" }, { "rmdird", "x", "cwd", "new" },
                { "cwd", "f", "rmdird", "new" }, { "neg", "f", "cwd", "new" }, { "cwd", "f", "d", "../new" },
                { "d", "", "cwd", "new" }, { "udir", "f", "udir", "g" }, { "cwd", "f", "tmpfile", "new" }
        };
        FOREACH(d, dirs) {
                Case *c = add_pq("renameat", d->fd0, d->p0, d->fd1, d->p1);
                c = add_pq("renameat2", d->fd0, d->p0, d->fd1, d->p1);
                seta(c, 0, (Val) V(0));
        }
        FOREACH(cr, nonroot_creds) {
                static const struct {
                        const char *from, *to;
                } up[] = { { "t/a", "t/c" }, { "t/b", "t/c" }, { "u/f", "u/g" }, { "u/f", "w/x" },
                           { "f", "w/x" }, { "t/a", "t/b" }, { "u/d", "w/d" } };
                FOREACH(p, up) {
                        Case *c = add_pq("rename", NULL, p->from, NULL, p->to);
                        c->cred = *cr;
                }
                Case *c = add_pq("renameat2", NULL, "t/a", NULL, "t/b");
                seta(c, 0, (Val) V(RENAME_EXCHANGE));
                c->cred = *cr;
        }
}

static void gen_link(void) {
        static const struct {
                const char *from, *to;
        } pairs[] = {
                { "f", "new" }, { "f", "g" }, { "d", "new" }, { "sf", "new" }, { "sn", "new" },
                { "sl1", "new" }, { "missing", "new" }, { "f", "%O/new" }, { "f", "%R/new" },
                { "%R/f", "new" }, { "f", "new/" }, { "f/", "new" }, { "f", "d/" }, { "f", "sn" },
                { "fifo", "new" }, { "srv", "new" }, { "f", "%L" }, { "", "new" }, { "f", "" },
                { "@NULL", "new" }, { "f", "@NULL" }, { "/proc/self/fd/%2", "new" },
                { "/proc/self/exe", "new" }, { "sx", "new" }, { "f", "missing/x" }, { "d/e", "d/e2" },
                { "f", "/proc/self/cwd/new" }, { "priv/f", "new" }, { "suid", "new" }, { "sd/e", "new" },
                { "f", "sd/new" }, { "/proc/self/cwd/f", "new" }
        };
        static const Val lflags[] = { V(0), V(AT_SYMLINK_FOLLOW), V(AT_EMPTY_PATH),
                                      V(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH), V(AT_INVALID),
                                      V(AT_SYMLINK_NOFOLLOW) };
        static const char *const flag_paths[] = { "sf", "sn", "f", "sx", "/proc/self/fd/%2" };
        static const char *const syss[] = { "link", "linkat" };

        FOREACH(s, syss)
                FOREACH(p, pairs) {
                        Case *c = add_pq(*s, NULL, p->from, NULL, p->to);
                        if (!strcmp(*s, "linkat"))
                                seta(c, 0, (Val) V(0));
                        if (strstr(p->from, "%2"))
                                c->fd[2] = "file";
                }
        FOREACH(p, flag_paths)
                FOREACH(f, lflags) {
                        Case *c = add_pq("linkat", NULL, *p, NULL, "new");
                        seta(c, 0, *f);
                        if (strstr(*p, "%2"))
                                c->fd[2] = "file";
                }
        /* The classic way to give an O_TMPFILE a name, and its AT_EMPTY_PATH twin. */
        FOREACH(m, magic_fds_mut) {
                Case *c = add_pq("linkat", NULL, "/proc/self/fd/%2", NULL, "new");
                seta(c, 0, (Val) V(AT_SYMLINK_FOLLOW));
                c->fd[2] = *m;
                c = add_pq("linkat", NULL, "/proc/self/fd/%2", NULL, "new");
                seta(c, 0, (Val) V(0));
                c->fd[2] = *m;
        }
        static const char *const tmp_fds[] = { "tmpfile", "tmpfile-excl", "unlinked" };
        FOREACH(t, tmp_fds) {
                Case *c = add_pq("linkat", NULL, "/proc/self/fd/%2", NULL, "new");
                seta(c, 0, (Val) V(AT_SYMLINK_FOLLOW));
                c->fd[2] = *t;
        }
        FOREACH(e, empty_fds_mut) {
                Case *c = add_pq("linkat", *e, "", NULL, "new");
                seta(c, 0, (Val) V(AT_EMPTY_PATH));
                c = add_pq("linkat", *e, "", NULL, "new");
                seta(c, 0, (Val) V(0));
        }
        {
                Case *c = add_pq("linkat", "tmpfile-excl", "", NULL, "new");
                seta(c, 0, (Val) V(AT_EMPTY_PATH));
        }
        static const struct {
                const char *fd0, *p0, *fd1, *p1;
        } dirs[] = {
                { "d", "e", "cwd", "new" }, { "dpath", "e", "cwd", "new" }, { "closed", "f", "cwd", "new" },
                { "cwd", "f", "d", "new" }, { "cwd", "f", "closed", "new" }, { "cwd", "f", "other", "new" },
                { "cwd", "f", "rmdird", "new" }, { "file", "x", "cwd", "new" },
                { "cwd", "f", "udir", "new" }, { "neg", "f", "cwd", "new" }, { "cwd", "f", "ro", "new" }
        };
        FOREACH(d, dirs) {
                Case *c = add_pq("linkat", d->fd0, d->p0, d->fd1, d->p1);
                seta(c, 0, (Val) V(0));
        }
        FOREACH(cr, nonroot_creds) {
                static const struct {
                        const char *from, *to;
                } up[] = { { "f", "w/new" }, { "u/f", "u/new" }, { "t/b", "w/new" }, { "g", "w/new" },
                           { "u/sf", "u/new" }, { "priv/f", "w/new" } };
                FOREACH(p, up) {
                        Case *c = add_pq("link", NULL, p->from, NULL, p->to);
                        c->cred = *cr;
                }
                Case *c = add_pq("linkat", "utmpfile", "", "udir", "new");
                seta(c, 0, (Val) V(AT_EMPTY_PATH));
                c->cred = *cr;
                c = add_pq("linkat", NULL, "/proc/self/fd/%2", "udir", "new");
                seta(c, 0, (Val) V(AT_SYMLINK_FOLLOW));
                c->fd[2] = "utmpfile";
                c->cred = *cr;
        }
}

static void gen_symlink(void) {
        static const struct {
                const char *target, *path;
        } pairs[] = {
                { "f", "new" }, { "any/thing", "new" }, { "x", "f" }, { "x", "d" }, { "x", "sn" },
                { "x", "new/" }, { "", "new" }, { "x", "" }, { "%L", "new" }, { "%P", "new" }, { "x", "%L" },
                { "x", "%R/new" }, { "x", "missing/x" }, { "x", "f/x" }, { "x", "." }, { "@NULL", "new" },
                { "x", "@NULL" }, { "/abs/target", "new" }, { "x", "%O/new" }, { "x", "/proc/self/cwd/new" },
                { "x", "d/new" }, { "x", "sd/new" }, { "x", "priv/new" }, { "x", "sn/" },
                { "x", "/proc/self/fd/%2/new" }, { "%E", "new" }, { "x", "%E" }
        };

        FOREACH(p, pairs) {
                Case *c = add_pq("symlink", NULL, p->target, NULL, p->path);
                if (strstr(p->path, "%2"))
                        c->fd[2] = "d";
                c = add_pq("symlinkat", NULL, p->target, NULL, p->path);
                if (strstr(p->path, "%2"))
                        c->fd[2] = "d";
        }
        FOREACH(d, create_dir_cases)
                add_pq("symlinkat", NULL, "x", d->fd, d->path);
        FOREACH(cr, nonroot_creds) {
                static const char *const up[] = { "u/new", "new", "w/new", "s/new", "t/new", "priv/new" };
                FOREACH(p, up) {
                        Case *c = add_pq("symlink", NULL, "x", NULL, *p);
                        c->cred = *cr;
                }
        }
}

/* ---- attributes by path ---- */

static void gen_chmod(void) {
        static const Val modes[] = { V(0), V(0600), V(07777), V(0100644), V(01644), V(0170777), V(04755),
                                     V(02755) };
        static const Val flags2[] = { V(0), V(AT_SYMLINK_NOFOLLOW), V(AT_EMPTY_PATH), V(AT_INVALID),
                                      V(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH), V(AT_REMOVEDIR) };
        static const char *const flag_paths[] = { "f", "sf", "sn", "d", "", "sl1" };
        static const char *const syss[] = { "chmod", "fchmodat", "fchmodat2" };

        FOREACH(s, syss) {
                FOREACH(p, object_paths) {
                        Case *c = add_p(*s, NULL, *p);
                        seta(c, 0, (Val) V(0600));
                        if (!strcmp(*s, "fchmodat2"))
                                seta(c, 1, (Val) V(0));
                }
                FOREACH(m, magic_fds_mut) {
                        Case *c = add_p(*s, NULL, "/proc/self/fd/%2");
                        seta(c, 0, (Val) V(0600));
                        if (!strcmp(*s, "fchmodat2"))
                                seta(c, 1, (Val) V(0));
                        c->fd[2] = *m;
                }
                FOREACH(m, modes) {
                        Case *c = add_p(*s, NULL, "f");
                        seta(c, 0, *m);
                        if (!strcmp(*s, "fchmodat2"))
                                seta(c, 1, (Val) V(0));
                        c = add_p(*s, NULL, "d");
                        seta(c, 0, *m);
                        if (!strcmp(*s, "fchmodat2"))
                                seta(c, 1, (Val) V(0));
                }
        }
        FOREACH(p, flag_paths)
                FOREACH(f, flags2) {
                        Case *c = add_p("fchmodat2", NULL, *p);
                        seta(c, 0, (Val) V(0600));
                        seta(c, 1, *f);
                }
        FOREACH(d, dir_cases_mut) {
                Case *c = add_p("fchmodat", d->fd, d->path);
                seta(c, 0, (Val) V(0600));
                c = add_p("fchmodat2", d->fd, d->path);
                seta(c, 0, (Val) V(0600));
                seta(c, 1, (Val) V(0));
        }
        FOREACH(e, empty_fds_mut) {
                Case *c = add_p("fchmodat2", *e, "");
                seta(c, 0, (Val) V(0600));
                seta(c, 1, (Val) V(AT_EMPTY_PATH));
                c = add_p("fchmodat2", *e, "");
                seta(c, 0, (Val) V(0600));
                seta(c, 1, (Val) V(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
                c = add_p("fchmodat", *e, "");
                seta(c, 0, (Val) V(0600));
        }
        FOREACH(s, syss)
                FOREACH(cr, nonroot_creds) {
                        static const struct {
                                const char *path;
                                Val mode;
                        } up[] = { { "u/f", V(0600) }, { "f", V(0600) }, { "u/f", V(02755) },
                                   { "u/suid", V(06711) }, { "u/d", V(03777) }, { "s/f", V(0664) },
                                   { "u/sf", V(0600) }, { "priv/../u/f", V(0600) } };
                        FOREACH(p, up) {
                                Case *c = add_p(*s, NULL, p->path);
                                seta(c, 0, p->mode);
                                if (!strcmp(*s, "fchmodat2"))
                                        seta(c, 1, (Val) V(0));
                                c->cred = *cr;
                        }
                        if (!strcmp(*s, "fchmodat2")) {
                                Case *c = add_p(*s, "utmpfile", "");
                                seta(c, 0, (Val) V(0600));
                                seta(c, 1, (Val) V(AT_EMPTY_PATH));
                                c->cred = *cr;
                        }
                }
}

static void gen_chown(void) {
        static const struct {
                Val uid, gid;
        } ids[] = { { V(1000), V(1000) }, { V(-1), V(-1) }, { V(-1), V(1234) }, { V(1000), V(-1) },
                    { V(0), V(0) }, { V(0xfffffffe), V(-1) } };
        static const Val flags3[] = { V(0), V(AT_SYMLINK_NOFOLLOW), V(AT_EMPTY_PATH), V(AT_INVALID),
                                      V(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) };
        static const char *const flag_paths[] = { "f", "sf", "sn", "", "suid" };
        static const char *const syss[] = { "chown", "lchown", "fchownat" };

        FOREACH(s, syss) {
                FOREACH(p, object_paths) {
                        Case *c = add_p(*s, NULL, *p);
                        seta(c, 0, (Val) V(1000));
                        seta(c, 1, (Val) V(1000));
                        if (!strcmp(*s, "fchownat"))
                                seta(c, 2, (Val) V(0));
                }
                FOREACH(m, magic_fds_mut) {
                        Case *c = add_p(*s, NULL, "/proc/self/fd/%2");
                        seta(c, 0, (Val) V(1000));
                        seta(c, 1, (Val) V(1000));
                        if (!strcmp(*s, "fchownat"))
                                seta(c, 2, (Val) V(0));
                        c->fd[2] = *m;
                }
                static const char *const id_paths[] = { "f", "suid", "x", "d" };
                FOREACH(p, id_paths)
                        FOREACH(i, ids) {
                                Case *c = add_p(*s, NULL, *p);
                                seta(c, 0, i->uid);
                                seta(c, 1, i->gid);
                                if (!strcmp(*s, "fchownat"))
                                        seta(c, 2, (Val) V(0));
                        }
        }
        FOREACH(p, flag_paths)
                FOREACH(f, flags3) {
                        Case *c = add_p("fchownat", NULL, *p);
                        seta(c, 0, (Val) V(1000));
                        seta(c, 1, (Val) V(-1));
                        seta(c, 2, *f);
                }
        FOREACH(d, dir_cases_mut) {
                Case *c = add_p("fchownat", d->fd, d->path);
                seta(c, 0, (Val) V(1000));
                seta(c, 1, (Val) V(-1));
                seta(c, 2, (Val) V(0));
        }
        FOREACH(e, empty_fds_mut) {
                Case *c = add_p("fchownat", *e, "");
                seta(c, 0, (Val) V(1000));
                seta(c, 1, (Val) V(-1));
                seta(c, 2, (Val) V(AT_EMPTY_PATH));
                c = add_p("fchownat", *e, "");
                seta(c, 0, (Val) V(1000));
                seta(c, 1, (Val) V(-1));
                seta(c, 2, (Val) V(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
        }
        FOREACH(s, syss)
                FOREACH(cr, nonroot_creds) {
                        static const struct {
                                const char *path;
                                Val uid, gid;
                        } up[] = { { "u/f", V(-1), V(1234) }, { "u/f", V(1001), V(-1) },
                                   { "u/f", V(1000), V(1000) }, { "u/suid", V(-1), V(1000) },
                                   { "f", V(1000), V(1000) }, { "u/sf", V(-1), V(1000) },
                                   { "s/f", V(-1), V(1000) } };
                        FOREACH(p, up) {
                                Case *c = add_p(*s, NULL, p->path);
                                seta(c, 0, p->uid);
                                seta(c, 1, p->gid);
                                if (!strcmp(*s, "fchownat"))
                                        seta(c, 2, (Val) V(0));
                                c->cred = *cr;
                        }
                        if (!strcmp(*s, "fchownat")) {
                                Case *c = add_p(*s, "utmpfile", "");
                                seta(c, 0, (Val) V(-1));
                                seta(c, 1, (Val) V(1000));
                                seta(c, 2, (Val) V(AT_EMPTY_PATH));
                                c->cred = *cr;
                        }
                }
}

static void gen_truncate(void) {
        static const Val lengths[] = { V(0), V(3), V(100), V(-1), V(1ll << 62), V(16), V(17) };

        FOREACH(p, object_paths) {
                Case *c = add_p("truncate", NULL, *p);
                seta(c, 0, (Val) V(2));
        }
        FOREACH(m, magic_fds_mut) {
                Case *c = add_p("truncate", NULL, "/proc/self/fd/%2");
                seta(c, 0, (Val) V(2));
                c->fd[2] = *m;
        }
        FOREACH(l, lengths) {
                Case *c = add_p("truncate", NULL, "f");
                seta(c, 0, *l);
                c = add_p("truncate", NULL, "f");
                seta(c, 0, *l);
                c->limit = LIMIT_FSIZE;
        }
        FOREACH(cr, nonroot_creds) {
                static const char *const up[] = { "u/f", "f", "t/b", "g", "/proc/self/fd/%2", "priv/../t/b"
                                                };
                FOREACH(p, up) {
                        Case *c = add_p("truncate", NULL, *p);
                        seta(c, 0, (Val) V(1));
                        c->cred = *cr;
                        if (strstr(*p, "%2"))
                                c->fd[2] = "ufile";
                }
                Case *c = add_p("truncate", NULL, "u/f");
                seta(c, 0, (Val) V(100));
                c->cred = *cr;
                c->limit = LIMIT_FSIZE;
        }
}

static void gen_utimes(void) {
        static const Val kinds_ts[] = { V(0), V(1), V(2), V(3), V(4) };
        static const char *const kind_names[] = { "NULL", "fixed", "{UTIME_NOW,UTIME_OMIT}", "bad-nsec",
                                                  "{UTIME_OMIT,UTIME_OMIT}" };
        static const char *const syss[] = { "utime", "utimes", "utimensat", "futimesat" };
        static const Val uflags[] = { V(0), V(AT_SYMLINK_NOFOLLOW), V(AT_EMPTY_PATH), V(AT_INVALID),
                                      V(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) };

        FOREACH(s, syss) {
                size_t nk = !strcmp(*s, "utime") ? 2 : !strcmp(*s, "utimensat") ? 5 : 4;
                FOREACH(p, object_paths) {
                        Case *c = add_p(*s, NULL, *p);
                        c->a[0] = 1;
                        c->as[0] = "fixed";
                        if (!strcmp(*s, "utimensat"))
                                seta(c, 1, (Val) V(0));
                }
                static const char *const kpaths[] = { "f", "sf", "d" };
                FOREACH(p, kpaths)
                        for (size_t k = 0; k < nk; k++) {
                                if (k == 1)
                                        continue; /* above */
                                Case *c = add_p(*s, NULL, *p);
                                c->a[0] = kinds_ts[k].v;
                                c->as[0] = kind_names[k];
                                if (!strcmp(*s, "utimensat"))
                                        seta(c, 1, (Val) V(0));
                        }
                FOREACH(m, magic_fds_mut) {
                        Case *c = add_p(*s, NULL, "/proc/self/fd/%2");
                        c->a[0] = 1;
                        c->as[0] = "fixed";
                        if (!strcmp(*s, "utimensat"))
                                seta(c, 1, (Val) V(0));
                        c->fd[2] = *m;
                }
        }
        static const char *const flag_paths[] = { "f", "sf", "sn", "" };
        FOREACH(p, flag_paths)
                FOREACH(f, uflags) {
                        Case *c = add_p("utimensat", NULL, *p);
                        c->a[0] = 1;
                        c->as[0] = "fixed";
                        seta(c, 1, *f);
                }
        /* futimens(3) and futimes(3): a NULL path acts on the descriptor. */
        static const char *const null_fds[] = { "file", "fpath", "cwd", "tmpfile", "unlinked", "d", "pipe",
                                                "closed", "spath" };
        FOREACH(e, null_fds) {
                Case *c = add_p("utimensat", *e, "@NULL");
                c->a[0] = 1;
                c->as[0] = "fixed";
                seta(c, 1, (Val) V(0));
                c = add_p("utimensat", *e, "@NULL");
                c->a[0] = 0;
                c->as[0] = "NULL";
                seta(c, 1, (Val) V(0));
                c = add_p("futimesat", *e, "@NULL");
                c->a[0] = 1;
                c->as[0] = "fixed";
        }
        {
                Case *c = add_p("utimensat", "file", "@NULL");
                c->a[0] = 1;
                c->as[0] = "fixed";
                seta(c, 1, (Val) V(AT_SYMLINK_NOFOLLOW));
        }
        FOREACH(e, empty_fds_mut) {
                Case *c = add_p("utimensat", *e, "");
                c->a[0] = 1;
                c->as[0] = "fixed";
                seta(c, 1, (Val) V(AT_EMPTY_PATH));
        }
        FOREACH(d, dir_cases_mut) {
                Case *c = add_p("utimensat", d->fd, d->path);
                c->a[0] = 1;
                c->as[0] = "fixed";
                seta(c, 1, (Val) V(0));
                c = add_p("futimesat", d->fd, d->path);
                c->a[0] = 1;
                c->as[0] = "fixed";
        }
        FOREACH(s, syss)
                FOREACH(cr, nonroot_creds) {
                        static const char *const up[] = { "u/f", "t/b", "f", "u/sf" };
                        FOREACH(p, up)
                                for (int k = 0; k < 2; k++) {
                                        Case *c = add_p(*s, NULL, *p);
                                        c->a[0] = kinds_ts[k].v;
                                        c->as[0] = kind_names[k];
                                        if (!strcmp(*s, "utimensat"))
                                                seta(c, 1, (Val) V(0));
                                        c->cred = *cr;
                                }
                        if (!strcmp(*s, "utimensat")) {
                                Case *c = add_p(*s, "ufile", "@NULL");
                                c->a[0] = 1;
                                c->as[0] = "fixed";
                                seta(c, 1, (Val) V(0));
                                c->cred = *cr;
                        }
                }
}

static void gen_xattr(void) {
        static const struct {
                const char *name;
                Val size, flags;
        } sets[] = {
                { "user.n", V(1), V(0) }, { "user.k", V(1), V(XATTR_CREATE) },
                { "user.none", V(1), V(XATTR_REPLACE) }, { "user.k", V(1), V(XATTR_REPLACE) },
                { "user.n", V(1), V(4) }, { "user.n", V(1), V(XATTR_CREATE | XATTR_REPLACE) },
                { "", V(1), V(0) }, { "%X", V(1), V(0) }, { "bogus", V(1), V(0) },
                { "trusted.n", V(1), V(0) }, { "security.n", V(1), V(0) }, { "user.n", V(0), V(0) },
                { "user.n", V(65537), V(0) }, { "user.n", V(65536), V(0) },
                { "system.posix_acl_access", V(1), V(0) }, { "@NULL", V(1), V(0) }, { "user.", V(1), V(0) }
        };
        static const char *const set_syss[] = { "setxattr", "lsetxattr" };
        static const char *const rm_syss[] = { "removexattr", "lremovexattr" };

        FOREACH(s, set_syss) {
                FOREACH(x, sets) {
                        Case *c = add_pq(*s, NULL, "f", NULL, x->name);
                        seta(c, 0, x->size);
                        seta(c, 1, x->flags);
                }
                FOREACH(p, object_paths) {
                        Case *c = add_pq(*s, NULL, *p, NULL, "user.n");
                        seta(c, 0, (Val) V(1));
                        seta(c, 1, (Val) V(0));
                }
                FOREACH(m, magic_fds_mut) {
                        Case *c = add_pq(*s, NULL, "/proc/self/fd/%2", NULL, "user.n");
                        seta(c, 0, (Val) V(1));
                        seta(c, 1, (Val) V(0));
                        c->fd[2] = *m;
                }
                Case *c = add_pq(*s, NULL, "sf", NULL, "trusted.n");
                seta(c, 0, (Val) V(1));
                seta(c, 1, (Val) V(0));
        }
        FOREACH(s, rm_syss) {
                static const char *const names[] = { "user.k", "user.none", "", "%X", "bogus", "@NULL",
                                                     "trusted.none" };
                FOREACH(n, names)
                        add_pq(*s, NULL, "f", NULL, *n);
                FOREACH(p, object_paths)
                        add_pq(*s, NULL, *p, NULL, "user.k");
                FOREACH(m, magic_fds_mut) {
                        Case *c = add_pq(*s, NULL, "/proc/self/fd/%2", NULL, "user.k");
                        c->fd[2] = *m;
                }
        }
        static const char *const all[] = { "setxattr", "lsetxattr", "removexattr", "lremovexattr" };
        FOREACH(s, all)
                FOREACH(cr, nonroot_creds) {
                        static const struct {
                                const char *path, *name;
                        } up[] = { { "u/f", "user.n" }, { "f", "user.n" }, { "t/b", "user.n" },
                                   { "u/f", "trusted.n" }, { "f", "user.k" }, { "u/sf", "user.n" } };
                        FOREACH(p, up) {
                                Case *c = add_pq(*s, NULL, p->path, NULL, p->name);
                                if (strstr(*s, "set")) {
                                        seta(c, 0, (Val) V(1));
                                        seta(c, 1, (Val) V(0));
                                }
                                c->cred = *cr;
                        }
                }
}

static int cmp_case(const void *a, const void *b) {
        size_t i = *(const size_t *) a, j = *(const size_t *) b;
        int r = strcmp(cases[i].name, cases[j].name);

        return r ? r : (i > j) - (i < j);
}

/* Working below a directory it may not search (in priv/pub/deep, see the driver): the kernel walks relative
 * paths from the cwd, which the process holds whatever the directories above allow, and ".." climbs
 * through directories it may search. */
static void gen_private_cwd(void) {
        static const struct {
                const char *sys, *p, *q;
                Val a0, a1;
                const char *obs;
        } k[] = {
                { "open", "df", NULL, V(O_RDONLY), V(0), NULL },
                { "open", "./df", NULL, V(O_RDONLY), V(0), NULL },
                { "open", "../pf", NULL, V(O_RDONLY), V(0), NULL },
                { "open", "../deep/../spf", NULL, V(O_RDONLY), V(0), NULL },
                { "open", "../../f", NULL, V(O_RDONLY), V(0), NULL },
                { "open", "../new", NULL, V(O_WRONLY | O_CREAT), V(0644), "priv/pub/new" },
                { "openat", "../upf", NULL, V(O_WRONLY | O_TRUNC), V(0), "priv/pub/upf" },
                { "stat", "df", NULL, V(0), V(0), NULL },
                { "stat", "..", NULL, V(0), V(0), NULL },
                { "lstat", "../spf", NULL, V(0), V(0), NULL },
                { "access", "../pf", NULL, V(R_OK), V(0), NULL },
                { "readlink", "../spf", NULL, V(4096), V(0), NULL },
                { "readlink", "df", NULL, V(4096), V(0), NULL },
                { "mkdir", "nd", NULL, V(0755), V(0), "priv/pub/deep/nd" },
                { "mkdir", "../nd", NULL, V(0755), V(0), "priv/pub/nd" },
                { "unlink", "../upf", NULL, V(0), V(0), "priv/pub/upf" },
                { "rename", "../upf", "upf2", V(0), V(0), "priv/pub" },
                { "chmod", "../upf", NULL, V(0600), V(0), "priv/pub/upf" },
                { "truncate", "../upf", NULL, V(1), V(0), "priv/pub/upf" },
        };

        FOREACH(e, k) {
                Case *c = e->q ? add_pq(e->sys, NULL, e->p, NULL, e->q) : add_p(e->sys, NULL, e->p);
                const Sys *s = sys_find(e->sys);

                for (int i = 0, j = 0; s->layout[i]; i++)
                        if (s->layout[i] >= 'a' && s->layout[i] <= 'd') {
                                seta(c, s->layout[i] - 'a', j == 0 ? e->a0 : e->a1);
                                j++;
                        }
                c->cred = CRED_PRIVCWD;
                c->no_auto_obs = true;
                c->obs[0] = e->obs;
        }
}

/* Sets the case's values in the order its syscall's layout lists them (a, b, c, d). */
static void set_vals(Case *c, const Val *v, size_t n) {
        const Sys *s = sys_find(c->sys);

        for (size_t i = 0, j = 0; s->layout[i] && j < n; i++)
                if (s->layout[i] >= 'a' && s->layout[i] <= 'd')
                        seta(c, s->layout[i] - 'a', v[j++]);
}

/* A directory removed while it is held (a dirfd, the cwd): nothing is found in it, but "." is the
 * directory itself, which every call acts on as on any other; its search permission is still needed to
 * look "." up. */
static void gen_removed_dir(void) {
        static const struct {
                const char *sys, *fd0, *p0, *fd1, *p1;
                Val v[3];
                Cred cred;
        } k[] = {
                { "openat", "rmdird", "./.", NULL, NULL, { V(O_RDONLY), V(0) } },
                { "openat", "rmdird", "./", NULL, NULL, { V(O_RDONLY | O_DIRECTORY), V(0) } },
                { "openat", "rmdird", ".", NULL, NULL, { V(O_WRONLY), V(0) } },
                { "openat", "rmdird", ".", NULL, NULL, { V(O_RDWR | O_CREAT), V(0644) } },
                { "openat", "rmdird", ".", NULL, NULL, { V(O_WRONLY | O_CREAT | O_EXCL), V(0644) } },
                { "openat", "rmdird", ".", NULL, NULL, { V(O_TMPFILE | O_RDWR), V(0644) } },
                { "openat", "rmdird", ".", NULL, NULL, { V(O_PATH), V(0) } },
                { "openat", "rmdird", "./x", NULL, NULL, { V(O_RDONLY), V(0) } },
                { "openat", "rmdird", "..", NULL, NULL, { V(O_RDONLY), V(0) } },
                { "newfstatat", "rmdird", "./", NULL, NULL, { V(0) } },
                { "faccessat2", "rmdird", ".", NULL, NULL, { V(W_OK), V(AT_EACCESS) } },
                { "readlinkat", "rmdird", ".", NULL, NULL, { V(4096) } },
                { "mkdirat", "rmdird", ".", NULL, NULL, { V(0755) } },
                { "mknodat", "rmdird", ".", NULL, NULL, { V(S_IFIFO | 0644), V(0) } },
                { "symlinkat", NULL, "x", "rmdird", ".", { { 0, NULL } } },
                { "unlinkat", "rmdird", "./", NULL, NULL, { V(AT_REMOVEDIR) } },
                { "renameat", "rmdird", ".", NULL, "new", { { 0, NULL } } },
                { "renameat", NULL, "f", "rmdird", ".", { { 0, NULL } } },
                { "renameat2", NULL, "f", "rmdird", ".", { V(RENAME_NOREPLACE) } },
                { "linkat", NULL, "f", "rmdird", ".", { V(0) } },
                { "linkat", "rmdird", ".", NULL, "new", { V(0) } },
                { "linkat", "rmdird", ".", NULL, "new", { V(AT_SYMLINK_FOLLOW) } },
                { "linkat", "rmdird", ".", NULL, "new", { V(AT_EMPTY_PATH) } },
                { "linkat", "rmdird", ".", NULL, "new", { V(AT_EMPTY_PATH) }, CRED_USER },
                { "fchmodat", "rmdird", "./.", NULL, NULL, { V(0700) } },
                { "fchmodat", "rmdird", ".", NULL, NULL, { V(0700) }, CRED_USER },
                { "fchownat", "rmdird", ".", NULL, NULL, { V(1000), V(-1), V(0) }, CRED_USER },
                { "utimensat", "rmdird", ".", NULL, NULL, { { 1, "fixed" }, V(AT_SYMLINK_NOFOLLOW) } },
                { "newfstatat", "rmdird", ".", NULL, NULL, { V(0) }, CRED_USER },
                /* Private: "." needs the search permission the caller lacks, "" (AT_EMPTY_PATH) does not. */
                { "newfstatat", "rmdirp", ".", NULL, NULL, { V(0) } },
                { "newfstatat", "rmdirp", ".", NULL, NULL, { V(0) }, CRED_USER },
                { "newfstatat", "rmdirp", "", NULL, NULL, { V(AT_EMPTY_PATH) }, CRED_USER },
                { "statx", "rmdirp", ".", NULL, NULL, { V(0), V(STATX_BASIC_STATS) }, CRED_NOBODY },
                { "openat", "rmdirp", ".", NULL, NULL, { V(O_RDONLY), V(0) }, CRED_USER },
                { "openat", "rmdirp", ".", NULL, NULL, { V(O_PATH), V(0) }, CRED_USER },
                { "faccessat", "rmdirp", ".", NULL, NULL, { V(R_OK) }, CRED_USER },
                { "readlinkat", "rmdirp", ".", NULL, NULL, { V(4096) }, CRED_USER },
                { "unlinkat", "rmdirp", ".", NULL, NULL, { V(0) }, CRED_USER },
                { "mkdirat", "rmdirp", ".", NULL, NULL, { V(0755) }, CRED_USER },
                { "fchmodat", "rmdirp", ".", NULL, NULL, { V(0600) }, CRED_USER },
                { "utimensat", "rmdirp", ".", NULL, NULL, { { 0, "NULL" }, V(0) }, CRED_USER },
                { "linkat", "rmdirp", ".", NULL, "new", { V(0) }, CRED_USER },
                /* A name in it: ENOENT, which the kernel answers only after the checks of the other path
                 * (a documented exception). */
                { "renameat", "rmdird", "x", "other", "new", { { 0, NULL } } },
                { "linkat", "other", "f", "rmdird", "new", { V(0) } },
        };
        static const struct {
                const char *sys, *p0, *p1;
                Val v[3];
                Cred cred;
        } cwd[] = {
                { "open", ".", NULL, { V(O_RDONLY), V(0) } },
                { "open", "./", NULL, { V(O_RDONLY | O_DIRECTORY), V(0) } },
                { "open", ".", NULL, { V(O_WRONLY | O_CREAT), V(0644) } },
                { "open", "x", NULL, { V(O_RDONLY), V(0) } },
                { "open", "new", NULL, { V(O_WRONLY | O_CREAT), V(0644) } },
                { "open", "..", NULL, { V(O_RDONLY), V(0) } },
                { "stat", ".", NULL, { { 0, NULL } } },
                { "lstat", "./.", NULL, { { 0, NULL } } },
                { "stat", ".", NULL, { { 0, NULL } }, CRED_USER },
                { "statx", ".", NULL, { V(0), V(STATX_BASIC_STATS) } },
                { "access", ".", NULL, { V(R_OK) } },
                { "access", ".", NULL, { V(W_OK) }, CRED_USER },
                { "readlink", ".", NULL, { V(4096) } },
                { "mkdir", ".", NULL, { V(0755) } },
                { "mkdir", "new", NULL, { V(0755) } },
                { "rmdir", ".", NULL, { { 0, NULL } } },
                { "unlink", ".", NULL, { { 0, NULL } } },
                { "chmod", ".", NULL, { V(0700) } },
                { "chmod", ".", NULL, { V(0700) }, CRED_USER },
                { "chown", ".", NULL, { V(1000), V(1000) } },
                { "utimes", ".", NULL, { { 1, "fixed" } } },
                { "truncate", ".", NULL, { V(0) } },
                { "setxattr", ".", "user.k", { V(1), V(0) } },
                { "link", ".", "%C/new", { { 0, NULL } } },
                { "rename", "%C/f", ".", { { 0, NULL } } },
        };

        FOREACH(e, k) {
                Case *c = add_pq(e->sys, e->fd0, e->p0, e->fd1, e->p1);
                size_t n = 0;

                while (n < 3 && e->v[n].s)
                        n++;
                set_vals(c, e->v, n);
                c->cred = e->cred;
        }
        FOREACH(e, cwd) {
                Case *c = e->p1 ? add_pq(e->sys, NULL, e->p0, NULL, e->p1) : add_p(e->sys, NULL, e->p0);
                size_t n = 0;

                while (n < 3 && e->v[n].s)
                        n++;
                set_vals(c, e->v, n);
                c->cred = e->cred;
                c->removed_cwd = true;
        }
        /* linkat(2) with AT_EMPTY_PATH from a directory descriptor needs CAP_DAC_READ_SEARCH, or a file
         * opened with the caller's very credentials (Linux 6.10): without the capability, a descriptor the
         * driver opened gives ENOENT, from the cwd or by an absolute path it is not asked. */
        static const struct {
                const char *fd0, *p0, *fd1, *p1;
        } emp[] = {
                { "udir", "f", "udir", "new" },       { "file", "x", "cwd", "new" },
                { "closed", "f", "cwd", "new" },      { "cwd", "u/f", "udir", "new" },
                { "udir", "%C/u/f", "udir", "new" },  { "own-utmpfile", "", "udir", "new" },
                { "own-udir", "f", "udir", "new" },
        };
        static const Cred emp_creds[] = { CRED_ROOT, CRED_USER, CRED_SETEUID, CRED_EXEC, CRED_NODAC };
        FOREACH(e, emp)
                FOREACH(cr, emp_creds) {
                        if (*cr == CRED_NODAC && !strcmp(e->fd0, "own-utmpfile"))
                                continue; /* it may not create one in u */
                        Case *c = add_pq("linkat", e->fd0, e->p0, e->fd1, e->p1);
                        seta(c, 0, (Val) V(AT_EMPTY_PATH));
                        c->cred = *cr;
                }
        FOREACH(cr, emp_creds) {
                if (*cr == CRED_NODAC)
                        continue;
                Case *c = add_pq("linkat", NULL, "/proc/self/fd/%2", "udir", "new");
                seta(c, 0, (Val) V(AT_SYMLINK_FOLLOW));
                c->fd[2] = "own-utmpfile";
                c->cred = *cr;
        }
}

void matrix_build(void) {
        if (cases)
                return;
        gen_open();
        gen_stat();
        gen_access();
        gen_readlink();
        gen_connect();
        gen_mkdir_mknod();
        gen_unlink_rmdir();
        gen_rename();
        gen_link();
        gen_symlink();
        gen_chmod();
        gen_chown();
        gen_truncate();
        gen_utimes();
        gen_xattr();
        gen_private_cwd();
        gen_removed_dir();

        for (size_t i = 0; i < n_cases; i++)
                finish_case(&cases[i]);
        /* Names are the keys the runner compares by. The generators overlap (a path of a shared list
         * that a syscall's own list names again): the first case of a name stays. */
        size_t *order = malloc(n_cases * sizeof *order), k = 0;
        bool *drop = calloc(n_cases, sizeof *drop);
        if (!order || !drop)
                abort();
        for (size_t i = 0; i < n_cases; i++)
                order[i] = i;
        qsort(order, n_cases, sizeof *order, cmp_case);
        for (size_t i = 1; i < n_cases; i++)
                if (!strcmp(cases[order[i - 1]].name, cases[order[i]].name))
                        drop[order[i]] = true; /* equal names sort by index: the later one */
        for (size_t i = 0; i < n_cases; i++) {
                if (drop[i]) {
                        free(cases[i].name);
                        continue;
                }
                cases[k++] = cases[i];
        }
        n_cases = k;
        free(order);
        free(drop);
}
