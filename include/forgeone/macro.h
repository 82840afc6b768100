/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Small language helpers shared by every module: ownership (cleanup
 * attributes, TAKE_PTR/TAKE_FD), array sizes and errno conversion.
 * Header-only; nothing here allocates or logs.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _unused_       __attribute__((unused))
#define _pure_         __attribute__((pure))
#define _const_        __attribute__((const))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_     __attribute__((noreturn))
#define _likely_(x)    (__builtin_expect(!!(x), 1))
#define _unlikely_(x)  (__builtin_expect(!!(x), 0))
#define _warn_unused_result_ __attribute__((warn_unused_result))

#define ELEMENTSOF(x)                                                                                      \
        (__builtin_choose_expr(!__builtin_types_compatible_p(typeof(x), typeof(&*(x))),                    \
                               sizeof(x) / sizeof((x)[0]), (void)0))

#define FOREACH_ELEMENT(i, array) for (typeof(&*(array)) i = (array); i < (array) + ELEMENTSOF(array); i++)

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Take ownership of a pointer or fd out of a variable that has a cleanup attribute. */
#define TAKE_PTR(p)                                                                                        \
        ({                                                                                                 \
                typeof(p) _ptr_ = (p);                                                                     \
                (p) = NULL;                                                                                \
                _ptr_;                                                                                     \
        })
#define TAKE_FD(fd)                                                                                        \
        ({                                                                                                 \
                int _fd_ = (fd);                                                                           \
                (fd) = -EBADF;                                                                             \
                _fd_;                                                                                      \
        })

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}
static inline void closep(int *fd) {
        *fd = safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* Generates a cleanup helper "<func>p" for a destructor "func" that accepts NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                            \
        static inline void func##p(type *p) {                                                              \
                if (*p)                                                                                    \
                        func(*p);                                                                          \
        }

/* Returns -errno from the last failed libc call, never 0 (so it is always an error). */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}
#define streq(a, b) (strcmp((a), (b)) == 0)

static inline const char *strempty(const char *s) {
        return s ?: "";
}

/* Strings: NULL-terminated arrays of heap strings. */
static inline char **strv_free(char **l) {
        if (l)
                for (char **i = l; *i; i++)
                        free(*i);
        free(l);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* Appends a copy of s to *l, which holds *n strings and stays NULL-terminated. */
static inline int strv_push(char ***l, size_t *n, const char *s) {
        char **x = realloc(*l, (*n + 2) * sizeof(char *));

        if (!x)
                return -ENOMEM;
        *l = x;
        x[*n] = strdup(s);
        if (!x[*n])
                return -ENOMEM;
        x[++*n] = NULL;
        return 0;
}
