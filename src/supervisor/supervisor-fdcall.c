/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Calls that change the file open as one of the workload's descriptors (fchmod, fchown, fsetxattr,
 * fremovexattr), performed by the supervisor: the decode step took the file into our own table and the
 * policy judged the path of what it took (supervisor-decode.c); here the call is made on exactly that
 * copy, under the workload's credentials, with the arguments read once. The kernel's own checks apply
 * as they would to the workload: an O_PATH descriptor fails with EBADF, ownership and capabilities are
 * the workload's.
 */
#include <fcntl.h>
#include <linux/audit.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "supervisor-internal.h"

#define XATTR_NAME_MAX_ 255
#define XATTR_SIZE_MAX_ 65536

bool fdcall_supported(const char *name) {
        return name && (streq(name, "fchmod") || streq(name, "fchown") || streq(name, "fsetxattr") ||
                        streq(name, "fremovexattr"));
}

static int read_xattr_name(Call *c, uint64_t addr, char name[static XATTR_NAME_MAX_ + 1]) {
        int r = target_read_string(c->tid, addr, name, XATTR_NAME_MAX_ + 1);

        if (r == 0 || r == -ENAMETOOLONG)
                return -ERANGE;
        return r < 0 ? r : 0;
}

int fdcall_emulate(Call *c, EmulateResult *res) {
        _cleanup_free_ char *value = NULL;
        char xname[XATTR_NAME_MAX_ + 1];
        uint64_t vsize = 0;
        CredsSaved saved;
        int r;

        *res = (EmulateResult){};
        if (!c->creds || c->magic_file < 0)
                return -EINVAL;
        if (c->arch != NATIVE_AUDIT_ARCH) {
                res->error = EPERM;
                res->reason = "emulation is only done for the native architecture";
                return 0;
        }
        if (c->lookup_error) {
                res->error = c->lookup_error;
                return 0;
        }

        /* What the call carries is read once, here, before anything is changed. */
        if (streq(c->name, "fsetxattr") || streq(c->name, "fremovexattr")) {
                r = read_xattr_name(c, c->args[1], xname);
                if (r < 0)
                        return res->error = r == -ENOMEM ? EPERM : -r, 0;
        }
        if (streq(c->name, "fsetxattr")) {
                vsize = c->args[3];
                if (vsize > XATTR_SIZE_MAX_)
                        return res->error = E2BIG, 0;
                value = malloc(MAX(vsize, 1u));
                if (!value)
                        return -ENOMEM;
                r = target_read(c->tid, c->args[2], value, (size_t) vsize);
                if (r < 0)
                        return res->error = -r, 0;
        }
        r = seccomp_notif_id_valid_raw(c->s->listener, c->id);
        if (r < 0)
                return res->error = -r, 0;

        r = creds_enter(c->creds, 0, &saved);
        if (r < 0)
                return res->error = -r, 0;
        if (streq(c->name, "fchmod"))
                r = fchmod(c->magic_file, (mode_t) c->args[1]);
        else if (streq(c->name, "fchown"))
                r = fchown(c->magic_file, (uid_t) c->args[1], (gid_t) c->args[2]);
        else if (streq(c->name, "fsetxattr"))
                r = fsetxattr(c->magic_file, xname, value, (size_t) vsize, (int) c->args[4]);
        else if (streq(c->name, "fremovexattr"))
                r = fremovexattr(c->magic_file, xname);
        else
                r = (errno = EOPNOTSUPP, -1);
        if (r < 0)
                r = -errno;
        creds_leave(&saved);
        res->error = r < 0 ? -r : 0;
        return 0;
}
