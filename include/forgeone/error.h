/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The library's one error context. Fallible functions return a negative
 * errno; given a ForgeError they also say, in one line a user can act on,
 * what failed and why (which blob, which key, which container, which line
 * of which file).
 *
 *  - The first message recorded wins: the innermost cause is kept, and each
 *    caller on the way up puts its context in front with
 *    forge_error_prefix() (crun's style), so the line reads outermost first:
 *    "image busybox: blob sha256:...: digest mismatch: expected ..., actual ...".
 *  - The buffer is the caller's (usually on the stack) and of fixed size:
 *    recording never allocates and never fails; a long message is cut at the
 *    end, where the innermost detail is.
 *  - `return forge_error_set(err, r, "cannot open %s: %m", path);` works:
 *    %m prints r's text whatever errno holds, and r comes back (a
 *    non-negative r is recorded and returned as -EIO, so a return through
 *    these functions never reads as success).
 *  - err may be NULL everywhere; the functions then only return r.
 *  - forge_error_prefix() puts context in front of whatever is recorded, so
 *    a caller that goes on after a failure (a loop that reports the first of
 *    several, a step whose failure is tolerated) gives that call a ForgeError
 *    of its own, then hands it on with forge_error_propagate() or drops it.
 *  - The kind says what is at fault when the errno alone does not: a policy,
 *    another configuration file, an image, or a refusal by the trust module.
 *    forge_error_bus_name() turns kind and errno into the D-Bus error name the
 *    daemon replies with (the table is at its declaration below), so
 *        sd_bus_error_set(e, forge_error_bus_name(&err, r), forge_error_message(&err, r));
 *    is the whole conversion. The library does not link sd-bus.
 *
 * Errors that point into a file (a policy, trust.json, an anchor) carry file,
 * line and column as fields for programs, and the same position at the start
 * of the message ("policy.json:3:7: unknown syscall ...") for people, so
 * printing the message is always enough.
 *
 * Lists of errors are not error contexts. A policy that does not load
 * describes every problem in PolicyDiagnostics (policy.h), structured and of
 * any length, for the tools that print them all (`policy check`, its --json);
 * the loader's ForgeError carries the first problem, so a caller that reports
 * one error (the daemon, a launch) needs nothing else. Keeping the list a
 * type of its own keeps this one a fixed-size value that never allocates.
 * Pure validators that explain a refusal with a static sentence fragment
 * (`const char **ret_why`) are not error contexts either: their callers put
 * the fragment into a message of their own.
 */

#include <stdarg.h>
#include <stdbool.h>

#include "forgeone/macro.h"

#define FORGE_ERROR_MESSAGE_MAX 1024
#define FORGE_ERROR_FILE_MAX    512

typedef enum ForgeErrorKind {
        FORGE_ERROR_SYSTEM,         /* nothing beyond the errno: it decides the D-Bus name */
        FORGE_ERROR_POLICY_INVALID, /* a policy does not parse or validate */
        FORGE_ERROR_CONFIG_INVALID, /* another configuration file: trust.json, the anchor, the budget */
        FORGE_ERROR_IMAGE_INVALID,  /* an image's layout, a blob's digest or size, a layer entry */
        FORGE_ERROR_UNTRUSTED,      /* the trust module refuses: no valid signature, launches forbidden */
        _FORGE_ERROR_KIND_MAX,
        _FORGE_ERROR_KIND_INVALID = -EINVAL,
} ForgeErrorKind;

/* "system", "policy-invalid", "config-invalid", "image-invalid", "untrusted". */
const char *forge_error_kind_to_string(ForgeErrorKind k) _const_;
ForgeErrorKind forge_error_kind_from_string(const char *s) _pure_;

typedef struct ForgeError {
        int error;                             /* negative errno of the first failure; 0: none recorded */
        ForgeErrorKind kind;
        unsigned line, column;                 /* 1-based position in file; 0 when not tied to a line */
        char file[FORGE_ERROR_FILE_MAX];       /* "" when not tied to a file; a longer name is cut */
        char message[FORGE_ERROR_MESSAGE_MAX]; /* "" when nothing was recorded */
} ForgeError;

/* Records the message (when err is non-NULL and nothing is recorded yet) and returns r. */
int forge_error_set(ForgeError *err, int r, const char *format, ...) _printf_(3, 4);
/* The same with a kind other than FORGE_ERROR_SYSTEM. */
int forge_error_set_kind(ForgeError *err, ForgeErrorKind kind, int r, const char *format, ...)
        _printf_(4, 5);
/* The same for a position in a file: the message starts "file:line:column: ", "file:line: " when column
 * is 0, "file: " when line is 0. */
int forge_error_set_at(ForgeError *err, ForgeErrorKind kind, int r, const char *file, unsigned line,
                       unsigned column, const char *format, ...) _printf_(7, 8);
/* All of the above, for wrappers of their own (file NULL: no position). */
int forge_error_setv(ForgeError *err, ForgeErrorKind kind, int r, const char *file, unsigned line,
                     unsigned column, const char *format, va_list ap) _printf_(7, 0);

/* Puts context in front of the recorded message ("layer 2: " + message); with nothing recorded yet it
 * records the context followed by r's text. Kind, errno and position stay those of the cause. Returns r. */
int forge_error_prefix(ForgeError *err, int r, const char *format, ...) _printf_(3, 4);

/* Hands a cause recorded in a ForgeError of the callee's own (one kept apart because the caller may ignore
 * it) to err: all of it, kind and position included, or r's text when from holds nothing. Returns r. */
int forge_error_propagate(ForgeError *err, const ForgeError *from, int r);

static inline bool forge_error_isset(const ForgeError *err) {
        return err && err->error != 0;
}

void forge_error_clear(ForgeError *err);

/* What to print for a failure that returned r: the recorded message, else r's text. */
const char *forge_error_message(const ForgeError *err, int r);

/*
 * The D-Bus error name for a failure that returned r, from the recorded kind and errno (r's when
 * nothing was recorded). A kind other than FORGE_ERROR_SYSTEM names itself:
 *
 *   FORGE_ERROR_POLICY_INVALID   org.forgeone.Error.PolicyInvalid
 *   FORGE_ERROR_CONFIG_INVALID   org.forgeone.Error.ConfigInvalid
 *   FORGE_ERROR_IMAGE_INVALID    org.forgeone.Error.ImageInvalid
 *   FORGE_ERROR_UNTRUSTED        org.forgeone.Error.Untrusted
 *
 * otherwise the errno decides:
 *
 *   ENOENT ESRCH ENXIO ENODEV                org.forgeone.Error.NotFound
 *   EPERM EACCES                             org.forgeone.Error.PermissionDenied
 *   EBUSY EAGAIN EALREADY EINPROGRESS EXFULL org.forgeone.Error.Busy
 *   EEXIST                                   org.forgeone.Error.Exists
 *   EINVAL ERANGE E2BIG ENAMETOOLONG EFBIG   org.forgeone.Error.InvalidArgument
 *   EOPNOTSUPP ENOSYS EPROTONOSUPPORT        org.forgeone.Error.NotSupported
 *   ETIMEDOUT                                org.forgeone.Error.Timeout
 *   ENOMEM ENOSPC EDQUOT EMFILE ENFILE       org.forgeone.Error.NoResources
 *   anything else                            org.forgeone.Error.Failed
 */
const char *forge_error_bus_name(const ForgeError *err, int r) _pure_;
