/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The differential fidelity suite: one program that runs a matrix of path syscalls natively or under
 * forgeonectl and prints one canonical line per case (see tests/fidelity/README.md).
 *
 * Three parts share this header:
 *   fidelity-driver.c  the native side: a private mount namespace with a fresh fixture, an observer
 *                      that describes files and hands out descriptors without any mediation, and the
 *                      workload (the same program in "cases" mode, wrapped or not);
 *   fidelity-run.c     the workload side: one forked child per case, credentials, limits, the call
 *                      itself with raw syscall(2), and the result line;
 *   fidelity-matrix.c  the cases.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FIDELITY_LINE_MAX 16384

typedef enum Cred {
        CRED_ROOT,      /* as started: root with every capability */
        CRED_USER,      /* setgroups([]), setresgid(1000), setresuid(1000) */
        CRED_USERG,     /* the same, with supplementary group 1234 (the setgid directory's group) */
        CRED_SETUID,    /* setgid(1000), setgroups([]), setuid(1000): the classic daemon drop */
        CRED_SETEUID,   /* setresuid(-1, 1000, -1) only: real and saved uid stay 0, groups stay */
        CRED_SETRESUID, /* setresgid(1000, 1000, 0), setresuid(1000, 1000, 0): saved ids stay 0 */
        CRED_FSUID,     /* setfsuid(1000) only */
        CRED_NOBODY,    /* 65534:65534, no groups */
        CRED_EXEC,      /* as CRED_USER, then execve() of itself: dumpable again, a fresh process image */
        CRED_NODAC,     /* root without CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER */
        CRED_PRIVCWD,   /* as CRED_USER, working in priv/pub/deep: directories it may use below one it may not
                         * search */
        _CRED_MAX,
} Cred;

typedef enum Limit {
        LIMIT_NONE,
        LIMIT_FSIZE,  /* RLIMIT_FSIZE 16 bytes (SIGXFSZ ignored) */
        LIMIT_NOFILE, /* RLIMIT_NOFILE at the lowest free descriptor: the next one fails */
} Limit;

typedef struct Case Case;
typedef struct Ctx Ctx;
typedef void (*CaseFn)(const Case *c, Ctx *x);

/* Descriptor slots: tokens the driver opens natively and passes in (see fidelity-driver.c), or
 * "cwd" (AT_FDCWD), "closed" (a number that is not open), "neg" (-42), or "own-utmpfile" and "own-udir",
 * which the case opens itself with its own credentials (an O_TMPFILE in u, the directory u). Slot 2 is
 * only used in paths (%2 is its number, for /proc/self/fd/%2). */
#define CASE_FDS 3

struct Case {
        char *name;
        const char *sys;
        CaseFn fn;
        const char *fd[CASE_FDS];
        const char *p[2]; /* path templates: %C case dir (%c: without the leading /), %O its other-mount dir,
                           * %R the read-only mount, %L a 256-byte name, %E a 255-byte name, %P a path above
                           * PATH_MAX, %0 %1 %2 descriptor numbers; "@NULL" and "@BAD" pointers */
        uint64_t a[4];
        const char *as[4]; /* how a[i] is shown in the name */
        Cred cred;
        int umask;
        Limit limit;
        const char *obs[4]; /* observed afterwards by the driver, natively */
        bool obs_times;     /* observations include atime and mtime */
        bool no_auto_obs;
        bool removed_cwd;   /* the case works in a directory removed since (the driver's "rmdird") */
};

struct Ctx {
        int sock; /* to the driver */
        int fd[CASE_FDS];
        char *p[2];      /* expanded paths; NULL for "@NULL" */
        const char *dir; /* the fixture */
        unsigned index;
        char *out;
        size_t out_len;
};

/* fidelity-matrix.c */
void matrix_build(void);
extern Case *cases;
extern size_t n_cases;

/* fidelity-run.c: helpers for the case functions */
void out(Ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void out_ret(Ctx *x, long r, int e);
void out_bytes(Ctx *x, const char *label, const void *buf, size_t n);
void out_obs_path(Ctx *x, const char *label, const char *path, bool follow, bool times);
void out_obs_fd(Ctx *x, const char *label, int fd, bool times);
void out_label(Ctx *x, uint64_t dev, uint64_t ino);
int driver_request(Ctx *x, const char *req, int send_fd, char *reply, size_t size, int *ret_fd);
const char *errno_name(int e);
int cases_main(int argc, char **argv);
int one_main(int argc, char **argv);

/* fidelity-run.c: the case functions */
void fn_open(const Case *c, Ctx *x);
void fn_stat(const Case *c, Ctx *x);
void fn_access(const Case *c, Ctx *x);
void fn_readlink(const Case *c, Ctx *x);
void fn_connect(const Case *c, Ctx *x);
void fn_entry(const Case *c, Ctx *x);
void fn_object(const Case *c, Ctx *x);
void fn_write_exec(const Case *c, Ctx *x);

/* fidelity-driver.c */
int driver_main(int argc, char **argv);
