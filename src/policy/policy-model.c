/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forgeone/policy.h"
#include "forgeone/string-table.h"

static const char *const policy_verdict_table[_POLICY_VERDICT_MAX] = {
        [POLICY_VERDICT_ALLOW] = "allow",
        [POLICY_VERDICT_EMULATE] = "emulate",
        [POLICY_VERDICT_DENY] = "deny",
        [POLICY_VERDICT_QUARANTINE] = "quarantine",
};

DEFINE_STRING_TABLE_LOOKUP(policy_verdict, PolicyVerdict)

static const char *const access_table[] = {
        "read", "write", "create", "delete", "exec", "stat", "attr",
};

const char *policy_access_bit_to_string(unsigned bit) {
        return bit < ELEMENTSOF(access_table) ? access_table[bit] : NULL;
}

int policy_access_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        for (unsigned i = 0; i < ELEMENTSOF(access_table); i++)
                if (streq(access_table[i], s))
                        return (int) (1u << i);
        return -EINVAL;
}

char *policy_access_to_string(unsigned mask, char *buf, size_t size) {
        size_t used = 0;

        if (!buf || size == 0)
                return buf;
        buf[0] = 0;
        for (unsigned i = 0; i < ELEMENTSOF(access_table); i++) {
                int n;

                if (!(mask & (1u << i)))
                        continue;
                n = snprintf(buf + used, size - used, "%s%s", used > 0 ? "," : "", access_table[i]);
                if (n < 0 || (size_t) n >= size - used) {
                        buf[used] = 0; /* whole names only */
                        break;
                }
                used += (size_t) n;
        }
        if (used == 0)
                snprintf(buf, size, "none");
        return buf;
}

static const char *const policy_arg_op_table[_POLICY_ARG_OP_MAX] = {
        [POLICY_ARG_EQ] = "eq",
        [POLICY_ARG_NE] = "ne",
        [POLICY_ARG_LT] = "lt",
        [POLICY_ARG_LE] = "le",
        [POLICY_ARG_GT] = "gt",
        [POLICY_ARG_GE] = "ge",
        [POLICY_ARG_MASKED_EQ] = "masked_eq",
};

DEFINE_STRING_TABLE_LOOKUP(policy_arg_op, PolicyArgOp)

static uint64_t width_mask(SyscallArgWidth w) {
        unsigned bits = syscall_arg_width_bits(w);

        return bits >= 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
}

/* The kernel filter compiled from the same condition (policy-compile.c) decides exactly this. */
bool policy_arg_cond_test(const PolicyArgCond *c, SyscallArgWidth w, uint64_t arg) {
        uint64_t k = syscall_arg_normalize(w, arg);
        bool s = syscall_arg_width_signed(w);

        if (!c)
                return false;
        switch (c->op) {
        case POLICY_ARG_EQ:
                return k == c->value;
        case POLICY_ARG_NE:
                return k != c->value;
        case POLICY_ARG_LT:
                return s ? (int64_t) k < (int64_t) c->value : k < c->value;
        case POLICY_ARG_LE:
                return s ? (int64_t) k <= (int64_t) c->value : k <= c->value;
        case POLICY_ARG_GT:
                return s ? (int64_t) k > (int64_t) c->value : k > c->value;
        case POLICY_ARG_GE:
                return s ? (int64_t) k >= (int64_t) c->value : k >= c->value;
        case POLICY_ARG_MASKED_EQ:
                return (k & c->mask & width_mask(w)) == (c->value & width_mask(w));
        default:
                return false;
        }
}

/* A number of the argument's type: as written, it is what syscall_arg_normalize() makes of it. */
static bool number_fits(uint64_t v, SyscallArgWidth w) {
        return syscall_arg_normalize(w, v) == v;
}

/* A bit pattern of the width: unsigned, or for a signed argument also negative within its range. */
static bool pattern_fits(uint64_t v, SyscallArgWidth w) {
        return (v & ~width_mask(w)) == 0 || (syscall_arg_width_signed(w) && number_fits(v, w));
}

bool policy_arg_cond_fits(const PolicyArgCond *c, SyscallArgWidth w) {
        if (!c)
                return false;
        if (c->op == POLICY_ARG_MASKED_EQ)
                return pattern_fits(c->mask, w) && pattern_fits(c->value, w);
        return number_fits(c->value, w);
}

static const char *const policy_resource_type_table[_POLICY_RESOURCE_TYPE_MAX] = {
        [POLICY_RESOURCE_PATH] = "path",
        [POLICY_RESOURCE_NETWORK] = "network",
        [POLICY_RESOURCE_ARGS] = "args",
};

DEFINE_STRING_TABLE_LOOKUP(policy_resource_type, PolicyResourceType)

void policy_diagnostics_done(PolicyDiagnostics *d) {
        if (!d)
                return;
        for (size_t i = 0; i < d->n_errors; i++) {
                free(d->errors[i].file);
                free(d->errors[i].message);
        }
        free(d->errors);
        *d = (PolicyDiagnostics) {};
}

static void resource_done(PolicyResource *r) {
        free(r->name);
        strv_free(r->paths);
        for (size_t i = 0; i < r->n_endpoints; i++)
                free(r->endpoints[i].unix_path);
        free(r->endpoints);
        free(r->args);
        free(r->description);
}

static void identity_done(PolicyIdentity *i) {
        free(i->name);
        free(i->match_name);
        free(i->match_digest);
        strv_free(i->match_labels);
        strv_free(i->match_signed_by);
        free(i->match_signed_reference);
        free(i->description);
}

static void rule_done(PolicyRule *r) {
        free(r->id);
        strv_free(r->syscalls);
        free(r->resources);
        free(r->description);
}

Policy *policy_free(Policy *p) {
        if (!p)
                return NULL;
        free(p->path);
        free(p->name);
        free(p->description);
        free(p->arches);
        for (size_t i = 0; i < p->n_identities; i++)
                identity_done(&p->identities[i]);
        free(p->identities);
        for (size_t i = 0; i < p->n_resources; i++)
                resource_done(&p->resources[i]);
        free(p->resources);
        for (size_t i = 0; i < p->n_rules; i++)
                rule_done(&p->rules[i]);
        free(p->rules);
        free(p);
        return NULL;
}

int policy_identity_by_name(const Policy *p, const char *name) {
        if (!p || !name)
                return -ENOENT;
        if (streq(name, "*"))
                return POLICY_IDENTITY_ANY;
        for (size_t i = 0; i < p->n_identities; i++)
                if (streq(p->identities[i].name, name))
                        return (int) i;
        return -ENOENT;
}

int policy_resource_by_name(const Policy *p, const char *name) {
        if (!p || !name)
                return -ENOENT;
        for (size_t i = 0; i < p->n_resources; i++)
                if (streq(p->resources[i].name, name))
                        return (int) i;
        return -ENOENT;
}

static bool labels_contain(char **labels, const char *want) {
        if (!labels)
                return false;
        for (char **l = labels; *l; l++)
                if (streq(*l, want))
                        return true;
        return false;
}

bool policy_identity_matches(const PolicyIdentity *id, const PolicyWorkload *w) {
        if (!id || !w)
                return false;
        if (id->match_name && (!w->name || fnmatch(id->match_name, w->name, 0) != 0))
                return false;
        if (id->match_digest && !streq_ptr(id->match_digest, w->image_digest))
                return false;
        if (id->match_labels)
                for (char **l = id->match_labels; *l; l++)
                        if (!labels_contain(w->labels, *l))
                                return false;
        return true;
}

int policy_identity_resolve(const Policy *p, const PolicyWorkload *w) {
        if (!p || !w)
                return POLICY_IDENTITY_ANY;
        for (size_t i = 0; i < p->n_identities; i++)
                if (policy_identity_matches(&p->identities[i], w))
                        return (int) i;
        return POLICY_IDENTITY_ANY;
}

int policy_identity_trust(const Policy *p, int identity) {
        if (!p)
                return 0;
        if (identity >= 0 && (size_t) identity < p->n_identities &&
            p->identities[identity].trust_initial >= 0)
                return p->identities[identity].trust_initial;
        return p->trust.initial;
}

#define E(x) { #x, x }

/* The errnos a denied syscall plausibly fails with, plus the rest of the
 * common ones so "errno": "ENOTSUP" style choices work. */
static const struct {
        const char *name;
        int value;
} errno_table[] = {
        E(EPERM),   E(ENOENT),  E(ESRCH),     E(EINTR),     E(EIO),       E(ENXIO),      E(E2BIG),
        E(ENOEXEC), E(EBADF),   E(ECHILD),    E(EAGAIN),    E(ENOMEM),    E(EACCES),     E(EFAULT),
        E(EBUSY),   E(EEXIST),  E(EXDEV),     E(ENODEV),    E(ENOTDIR),   E(EISDIR),     E(EINVAL),
        E(ENFILE),  E(EMFILE),  E(ENOTTY),    E(ETXTBSY),   E(EFBIG),     E(ENOSPC),     E(ESPIPE),
        E(EROFS),   E(EMLINK),  E(EPIPE),     E(ERANGE),    E(ENAMETOOLONG), E(ENOSYS),  E(ENOTEMPTY),
        E(ELOOP),   E(ENODATA), E(ENOTSOCK),  E(EMSGSIZE),  E(EPROTOTYPE), E(ENOPROTOOPT),
        E(EPROTONOSUPPORT), E(EOPNOTSUPP), E(EAFNOSUPPORT), E(EADDRINUSE), E(EADDRNOTAVAIL),
        E(ENETDOWN), E(ENETUNREACH), E(ECONNABORTED), E(ECONNRESET), E(ENOBUFS), E(EISCONN),
        E(ENOTCONN), E(ETIMEDOUT), E(ECONNREFUSED), E(EHOSTUNREACH), E(EALREADY), E(EINPROGRESS),
        E(EDQUOT),  E(EDEADLK),  E(ECANCELED), E(EOWNERDEAD), E(ENOKEY),  E(EKEYREJECTED),
};

int policy_errno_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(errno_table); i++)
                if (streq(errno_table[i].name, s))
                        return errno_table[i].value;
        /* Aliases glibc defines to the same numbers. */
        if (streq(s, "EWOULDBLOCK"))
                return EWOULDBLOCK;
        if (streq(s, "ENOTSUP"))
                return ENOTSUP;
        return -EINVAL;
}

const char *policy_errno_to_string(int e) {
        for (size_t i = 0; i < ELEMENTSOF(errno_table); i++)
                if (errno_table[i].value == e)
                        return errno_table[i].name;
        return NULL;
}
