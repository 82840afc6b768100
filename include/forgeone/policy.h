/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The policy model: what a policy file (format version 1, see
 * forgeone.policy(5)) says, after parsing and validation, with every name
 * resolved. Loading never makes a decision; src/policy/policy-graph.c turns
 * a Policy into an evaluator and src/policy/policy-compile.c into a kernel
 * filter. Nothing here makes syscalls except reading the file.
 *
 * Errors: functions return >= 0 on success and a negative errno on failure.
 * Parse and validation failures return -EINVAL. The loaders describe the
 * first problem in a ForgeError (error.h) of kind policy-invalid, with file,
 * line and column, which is all a caller reporting one error needs (the
 * daemon's PolicyInvalid reply); tools that show every problem (`policy
 * check`) also pass a PolicyDiagnostics, which lists them all.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "forgeone/error.h"
#include "forgeone/macro.h"
#include "forgeone/syscall-table.h"

#define POLICY_FORMAT_VERSION 1

/* Verdicts in increasing precedence: when rules of different verdicts match,
 * the highest wins (quarantine > deny > emulate > allow > default). */
typedef enum PolicyVerdict {
        POLICY_VERDICT_ALLOW,
        POLICY_VERDICT_EMULATE,
        POLICY_VERDICT_DENY,
        POLICY_VERDICT_QUARANTINE,
        _POLICY_VERDICT_MAX,
        _POLICY_VERDICT_INVALID = -EINVAL,
} PolicyVerdict;

const char *policy_verdict_to_string(PolicyVerdict v) _const_;
PolicyVerdict policy_verdict_from_string(const char *s) _pure_;

/* Access modes of path resources; a syscall's request is a mask of these. */
typedef enum PolicyAccess {
        POLICY_ACCESS_READ   = 1u << 0, /* open for reading, list a directory */
        POLICY_ACCESS_WRITE  = 1u << 1, /* open for writing, truncate */
        POLICY_ACCESS_CREATE = 1u << 2, /* O_CREAT, mkdir, mknod, symlink/link/rename target */
        POLICY_ACCESS_DELETE = 1u << 3, /* unlink, rmdir, rename source */
        POLICY_ACCESS_EXEC   = 1u << 4, /* execve, execveat */
        POLICY_ACCESS_STAT   = 1u << 5, /* stat, access, readlink, getxattr */
        POLICY_ACCESS_ATTR   = 1u << 6, /* chmod, chown, utimes, setxattr */
        POLICY_ACCESS_ALL    = (1u << 7) - 1,
} PolicyAccess;

/* Access names in bit order ("read", "write", ...); NULL past the end. */
const char *policy_access_bit_to_string(unsigned bit) _const_;
int policy_access_from_string(const char *s) _pure_; /* one name -> bit, or -EINVAL */
/* "read,write" style rendering into buf; returns buf. */
char *policy_access_to_string(unsigned mask, char *buf, size_t size);

typedef enum PolicyArgOp {
        POLICY_ARG_EQ,
        POLICY_ARG_NE,
        POLICY_ARG_LT,
        POLICY_ARG_LE,
        POLICY_ARG_GT,
        POLICY_ARG_GE,
        POLICY_ARG_MASKED_EQ, /* (arg & mask) == value */
        _POLICY_ARG_OP_MAX,
        _POLICY_ARG_OP_INVALID = -EINVAL,
} PolicyArgOp;

const char *policy_arg_op_to_string(PolicyArgOp op) _const_;
PolicyArgOp policy_arg_op_from_string(const char *s) _pure_;

/* A condition on one argument register. value and mask are the numbers the
 * policy wrote, as 64-bit two's complement (-1 is all ones). */
typedef struct PolicyArgCond {
        unsigned index; /* 0..5 */
        PolicyArgOp op;
        uint64_t mask; /* POLICY_ARG_MASKED_EQ only */
        uint64_t value;
} PolicyArgCond;

/* True when the argument, as the kernel reads a register of width w (see
 * syscall_arg_widths()), satisfies the condition: the bits above the width
 * are ignored, eq/ne/lt/le/gt/ge compare the kernel's value with value as
 * signed numbers for a signed width and as unsigned ones otherwise, and
 * masked_eq compares (arg & mask) with value on the width's bits. */
bool policy_arg_cond_test(const PolicyArgCond *c, SyscallArgWidth w, uint64_t arg) _pure_;

/* Whether the condition's numbers are in range for an argument of width w:
 * for eq..ge the value must be a number of the argument's type (-1 is not
 * an unsigned int, 4294967295 is not an int); for masked_eq mask and value
 * are bit patterns of the width (negative only for a signed argument). */
bool policy_arg_cond_fits(const PolicyArgCond *c, SyscallArgWidth w) _pure_;

/* The "connected" endpoint family: a send (sendto, sendmsg, sendmmsg) that carries no address of its own
 * goes to the peer its socket is connected to, which connect(2) or accept(2) decided. */
#define POLICY_FAMILY_CONNECTED (-1)

/* One network endpoint pattern of a "network" resource. */
typedef struct PolicyNetEndpoint {
        int family;          /* AF_INET, AF_INET6, AF_UNIX or POLICY_FAMILY_CONNECTED */
        uint8_t addr[16];    /* network byte order; AF_INET uses the first 4 */
        unsigned prefixlen;  /* 0 = any address of the family */
        uint16_t port_min;   /* host byte order; 0..65535 = any port */
        uint16_t port_max;
        int protocol;        /* IPPROTO_TCP, IPPROTO_UDP, or 0 for any */
        char *unix_path;     /* AF_UNIX: glob pattern; "@name" for the abstract namespace */
} PolicyNetEndpoint;

typedef enum PolicyResourceType {
        POLICY_RESOURCE_PATH,
        POLICY_RESOURCE_NETWORK,
        POLICY_RESOURCE_ARGS,
        _POLICY_RESOURCE_TYPE_MAX,
        _POLICY_RESOURCE_TYPE_INVALID = -EINVAL,
} PolicyResourceType;

const char *policy_resource_type_to_string(PolicyResourceType t) _const_;
PolicyResourceType policy_resource_type_from_string(const char *s) _pure_;

typedef struct PolicyResource {
        char *name;
        PolicyResourceType type;
        unsigned line, column; /* where it is defined */

        /* POLICY_RESOURCE_PATH: normalised absolute patterns (an exact path,
         * globs inside one component, or a whole last component of two stars
         * for a subtree; see forgeone.policy(5)), and the access modes they
         * grant or deny. */
        char **paths; /* strv */
        unsigned access;

        /* POLICY_RESOURCE_NETWORK */
        PolicyNetEndpoint *endpoints;
        size_t n_endpoints;

        /* POLICY_RESOURCE_ARGS: all conditions must hold */
        PolicyArgCond *args;
        size_t n_args;

        char *description; /* the file's "description", or NULL */
} PolicyResource;

#define POLICY_IDENTITY_ANY (-1) /* "*": rules for every workload; a workload matching no identity */

typedef struct PolicyIdentity {
        char *name;
        char *match_name;   /* glob on the workload name; NULL = any */
        char *match_digest; /* "sha256:<64 lowercase hex>"; NULL = any */
        char **match_labels; /* strv of "key=value", all must be present; NULL = any */
        /* Requirements on the image's signature, checked by the trust module's verifier (trust-verify.h),
         * not criteria: a workload that matches the others is refused, never moved to another identity. */
        char **match_signed_by;       /* strv of anchor key ids, one of which must have signed; NULL = any */
        char *match_signed_reference; /* the docker-reference the signature must name; NULL = any */
        bool allow_unsigned;          /* may run an image without a verified signature (logged loudly) */
        int trust_initial;  /* -1: the policy's trust.initial */
        unsigned line, column;
        char *description;  /* or NULL */
} PolicyIdentity;

typedef struct PolicyRule {
        char *id;
        int identity; /* index into Policy.identities, or POLICY_IDENTITY_ANY */
        char **syscalls; /* strv of syscall names after group expansion, sorted, unique */
        int *resources;  /* indices into Policy.resources; the rule matches if any matches */
        size_t n_resources; /* 0: the rule has no object and matches every call of its syscalls */
        PolicyVerdict verdict;
        int errno_value; /* DENY and QUARANTINE: errno the call fails with */
        int min_trust;   /* -1: no requirement */
        unsigned line, column;
        char *description; /* or NULL */
} PolicyRule;

typedef struct PolicyTrust {
        int initial;             /* score a workload starts with (0..maximum) */
        int maximum;             /* recovery never goes above this */
        int deny_penalty;        /* subtracted for each denial the supervisor decides */
        int quarantine_below;    /* a score below this quarantines the workload */
        int recovery_per_minute; /* points regained per minute without denials */
} PolicyTrust;

typedef struct Policy {
        char *path; /* file it was loaded from, or the name given to policy_load_string() */
        char *name;
        char digest[7 + 64 + 1]; /* "sha256:<hex>" of the text it was loaded from; "" when built in code */
        char *description;
        PolicyVerdict default_verdict; /* DENY (zero trust) unless the file says otherwise */
        int default_errno;
        uint32_t *arches; /* AUDIT_ARCH_* values the filter accepts; the native one first */
        size_t n_arches;
        PolicyTrust trust;
        PolicyIdentity *identities;
        size_t n_identities;
        PolicyResource *resources;
        size_t n_resources;
        PolicyRule *rules;
        size_t n_rules;
} Policy;

/*
 * Every problem of a policy that did not load, in file order, for tools that print them all. A list of
 * its own rather than of ForgeErrors: a policy can have thousands of problems, each of any length, and
 * ForgeError is a fixed-size value meant to travel up the stack. The first entry is what the loader's
 * ForgeError says (with "(and N more errors)" when there are more).
 */
typedef struct PolicyError {
        char *file;
        unsigned line, column; /* 1-based; 0 when not tied to a position */
        char *message;
} PolicyError;

typedef struct PolicyDiagnostics {
        PolicyError *errors;
        size_t n_errors;
} PolicyDiagnostics;

void policy_diagnostics_done(PolicyDiagnostics *d);

/* diag and err are optional; diag gets the problems appended. */
int policy_load_file(const char *path, Policy **ret, PolicyDiagnostics *diag, ForgeError *err);
int policy_load_string(const char *text, size_t len, const char *name, Policy **ret, PolicyDiagnostics *diag,
                       ForgeError *err);

Policy *policy_free(Policy *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Policy *, policy_free);

/* Index of the identity called name, POLICY_IDENTITY_ANY for "*", or -ENOENT. */
int policy_identity_by_name(const Policy *p, const char *name);

/* A workload's facts, as the runtime knows them at launch. */
typedef struct PolicyWorkload {
        const char *name;
        const char *image_digest; /* "sha256:..." or NULL */
        char **labels;            /* strv "key=value" or NULL */
} PolicyWorkload;

/* True when every criterion the identity names holds for the workload. */
bool policy_identity_matches(const PolicyIdentity *id, const PolicyWorkload *w) _pure_;

/* The first identity (file order) whose match holds, or POLICY_IDENTITY_ANY. */
int policy_identity_resolve(const Policy *p, const PolicyWorkload *w);

/* Initial trust score for a workload of this identity. */
int policy_identity_trust(const Policy *p, int identity);

int policy_resource_by_name(const Policy *p, const char *name);

/* Checks a path pattern of a path resource (absolute, normalised, globs
 * within one component, "**" only as the whole last component). 0, or
 * -EINVAL with a static explanation in *ret_why. */
int policy_path_pattern_validate(const char *pattern, const char **ret_why);

/* errno names as policies spell them ("EPERM", "EACCES", ...): name -> value
 * or -EINVAL; value -> name or NULL for numbers without a name. */
int policy_errno_from_string(const char *s) _pure_;
const char *policy_errno_to_string(int e) _const_;
