/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <stdio.h>

#include "forgeone/error.h"
#include "forgeone/string-table.h"

static const char *const forge_error_kind_table[_FORGE_ERROR_KIND_MAX] = {
        [FORGE_ERROR_SYSTEM] = "system",
        [FORGE_ERROR_POLICY_INVALID] = "policy-invalid",
        [FORGE_ERROR_CONFIG_INVALID] = "config-invalid",
        [FORGE_ERROR_IMAGE_INVALID] = "image-invalid",
        [FORGE_ERROR_UNTRUSTED] = "untrusted",
};

DEFINE_STRING_TABLE_LOOKUP(forge_error_kind, ForgeErrorKind)

/* A failure is negative: a positive errno is negated, 0 (a caller's bug) becomes -EIO. */
static int failure(int r) {
        return r < 0 ? r : r > 0 ? -r : -EIO;
}

/* vsnprintf with errno set to r's, so that %m prints r's text; errno is left as it was. */
_printf_(4, 0) static void format_errno(char *buf, size_t size, int r, const char *format, va_list ap) {
        int saved = errno;

        errno = -r;
        (void) vsnprintf(buf, size, format, ap);
        errno = saved;
}

int forge_error_setv(ForgeError *err, ForgeErrorKind kind, int r, const char *file, unsigned line,
                     unsigned column, const char *format, va_list ap) {
        size_t n = 0;

        r = failure(r);
        if (!err || forge_error_isset(err))
                return r;

        *err = (ForgeError) {
                .error = r,
                .kind = kind,
        };
        if (file) {
                (void) snprintf(err->file, sizeof err->file, "%s", file);
                err->line = line;
                err->column = line > 0 ? column : 0;
                if (line > 0 && column > 0)
                        (void) snprintf(err->message, sizeof err->message, "%s:%u:%u: ", file, line, column);
                else if (line > 0)
                        (void) snprintf(err->message, sizeof err->message, "%s:%u: ", file, line);
                else
                        (void) snprintf(err->message, sizeof err->message, "%s: ", file);
                n = strlen(err->message);
        }
        if (n < sizeof err->message - 1)
                format_errno(err->message + n, sizeof err->message - n, r, format, ap);
        return r;
}

int forge_error_set(ForgeError *err, int r, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        r = forge_error_setv(err, FORGE_ERROR_SYSTEM, r, NULL, 0, 0, format, ap);
        va_end(ap);
        return r;
}

int forge_error_set_kind(ForgeError *err, ForgeErrorKind kind, int r, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        r = forge_error_setv(err, kind, r, NULL, 0, 0, format, ap);
        va_end(ap);
        return r;
}

int forge_error_set_at(ForgeError *err, ForgeErrorKind kind, int r, const char *file, unsigned line,
                       unsigned column, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        r = forge_error_setv(err, kind, r, file, line, column, format, ap);
        va_end(ap);
        return r;
}

int forge_error_prefix(ForgeError *err, int r, const char *format, ...) {
        char prefix[FORGE_ERROR_MESSAGE_MAX];
        size_t pl, ml;
        va_list ap;

        r = failure(r);
        if (!err)
                return r;

        va_start(ap, format);
        format_errno(prefix, sizeof prefix, r, format, ap);
        va_end(ap);

        if (!forge_error_isset(err)) {
                /* No cause was recorded: the context and the errno's text are all there is. */
                *err = (ForgeError) {
                        .error = r,
                        .kind = FORGE_ERROR_SYSTEM,
                };
                (void) snprintf(err->message, sizeof err->message, "%s%s", prefix, strerror(-r));
                return r;
        }

        /* Shift the message right and put the prefix in front; what falls off is the end of the cause. */
        pl = MIN(strlen(prefix), sizeof err->message - 1);
        ml = MIN(strlen(err->message), sizeof err->message - 1 - pl);
        memmove(err->message + pl, err->message, ml);
        memcpy(err->message, prefix, pl);
        err->message[pl + ml] = 0;
        return r;
}

int forge_error_propagate(ForgeError *err, const ForgeError *from, int r) {
        r = failure(r);
        if (!err || forge_error_isset(err))
                return r;
        if (!forge_error_isset(from))
                return forge_error_set(err, r, "%m");
        *err = *from;
        return r;
}

void forge_error_clear(ForgeError *err) {
        if (!err)
                return;
        err->error = 0;
        err->kind = FORGE_ERROR_SYSTEM;
        err->line = err->column = 0;
        err->file[0] = 0;
        err->message[0] = 0;
}

const char *forge_error_message(const ForgeError *err, int r) {
        if (forge_error_isset(err) && err->message[0])
                return err->message;
        return strerror(-failure(r));
}

const char *forge_error_bus_name(const ForgeError *err, int r) {
        ForgeErrorKind kind = forge_error_isset(err) ? err->kind : FORGE_ERROR_SYSTEM;
        int e = -failure(forge_error_isset(err) ? err->error : r);

        switch (kind) {
        case FORGE_ERROR_POLICY_INVALID:
                return "org.forgeone.Error.PolicyInvalid";
        case FORGE_ERROR_CONFIG_INVALID:
                return "org.forgeone.Error.ConfigInvalid";
        case FORGE_ERROR_IMAGE_INVALID:
                return "org.forgeone.Error.ImageInvalid";
        case FORGE_ERROR_UNTRUSTED:
                return "org.forgeone.Error.Untrusted";
        default:
                break;
        }

        switch (e) {
        case ENOENT:
        case ESRCH:
        case ENXIO:
        case ENODEV:
                return "org.forgeone.Error.NotFound";
        case EPERM:
        case EACCES:
                return "org.forgeone.Error.PermissionDenied";
        case EBUSY:
        case EAGAIN:
        case EALREADY:
        case EINPROGRESS:
        case EXFULL:
                return "org.forgeone.Error.Busy";
        case EEXIST:
                return "org.forgeone.Error.Exists";
        case EINVAL:
        case ERANGE:
        case E2BIG:
        case ENAMETOOLONG:
        case EFBIG:
                return "org.forgeone.Error.InvalidArgument";
        case EOPNOTSUPP:
        case ENOSYS:
        case EPROTONOSUPPORT:
                return "org.forgeone.Error.NotSupported";
        case ETIMEDOUT:
                return "org.forgeone.Error.Timeout";
        case ENOMEM:
        case ENOSPC:
        case EDQUOT:
        case EMFILE:
        case ENFILE:
                return "org.forgeone.Error.NoResources";
        default:
                return "org.forgeone.Error.Failed";
        }
}
