/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * JSON -> Policy. json-c parses (strictly); json-position.c supplies the
 * positions json-c does not keep. Validation never stops at the first
 * problem: every error is collected with its position and reported in file
 * order, so one run of "forgeonectl policy check" shows them all. Names a
 * user can misspell get a "did you mean" from an edit-distance search.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "forgeone/json-position.h"
#include "forgeone/arch-table.h"
#include "forgeone/policy-constants.h"
#include "forgeone/policy.h"
#include "forgeone/sha256.h"
#include "forgeone/syscall-table.h"

#define POLICY_FILE_SIZE_MAX   (64u * 1024u * 1024u)
#define POLICY_NAME_MAX        128
#define POLICY_TRUST_LIMIT     1000000
#define POLICY_ERRNO_MAX       4095
#define POLICY_PATH_DEPTH_MAX  32

typedef struct PathSeg {
        const char *key; /* NULL for an array index */
        size_t index;
} PathSeg;

typedef struct PendingError {
        unsigned line, column;
        size_t seq;
        char *message;
} PendingError;

typedef struct Ctx {
        const char *file;
        const char *text;
        size_t len;
        JsonPositions *pos;
        Policy *p;

        PathSeg segs[POLICY_PATH_DEPTH_MAX];
        unsigned depth;

        PendingError *errors;
        size_t n_errors;
        bool oom;

        /* Names declared in the file even when their definition is broken,
         * so a broken identity does not also make every rule using it "unknown". */
        bool arches_valid;
} Ctx;

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static bool strv_contains_const(const char *const *l, const char *s) {
        for (; l && *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(json_tokener *, json_tokener_free);

/* ---- paths and errors ------------------------------------------------ */

static void push_key(Ctx *c, const char *key) {
        if (c->depth < POLICY_PATH_DEPTH_MAX)
                c->segs[c->depth] = (PathSeg) { .key = key };
        c->depth++;
}

static void push_index(Ctx *c, size_t index) {
        if (c->depth < POLICY_PATH_DEPTH_MAX)
                c->segs[c->depth] = (PathSeg) { .index = index };
        c->depth++;
}

static void pop(Ctx *c) {
        c->depth--;
}

static bool key_is_plain(const char *key) {
        if (!*key)
                return false;
        for (const char *k = key; *k; k++)
                if (!isalnum((unsigned char) *k) && *k != '_' && *k != '-')
                        return false;
        return true;
}

/* "rules[3].syscalls[1]", "resources.etc.paths[0]", `identities["a.b"]`. */
static char *display_path(const Ctx *c) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        unsigned n = MIN(c->depth, (unsigned) POLICY_PATH_DEPTH_MAX);

        if (!f)
                return NULL;
        if (n == 0)
                fputs("top level", f);
        for (unsigned i = 0; i < n; i++) {
                const PathSeg *s = &c->segs[i];

                if (!s->key)
                        fprintf(f, "[%zu]", s->index);
                else if (key_is_plain(s->key))
                        fprintf(f, "%s%s", i > 0 ? "." : "", s->key);
                else
                        fprintf(f, "[\"%s\"]", s->key);
        }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* The same rendering for a JSON pointer (duplicate keys come from the scanner). */
static char *display_from_pointer(const char *ptr) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        bool first = true;

        if (!f)
                return NULL;
        while (*ptr == '/') {
                size_t len = strcspn(ptr + 1, "/");
                _cleanup_free_ char *seg = malloc(len + 1);
                char *o;
                bool digits = len > 0;

                if (!seg)
                        break;
                o = seg;
                for (size_t i = 1; i <= len; i++) {
                        if (ptr[i] == '~' && i < len && (ptr[i + 1] == '0' || ptr[i + 1] == '1')) {
                                *o++ = ptr[i + 1] == '0' ? '~' : '/';
                                i++;
                        } else
                                *o++ = ptr[i];
                }
                *o = 0;
                for (const char *k = seg; *k; k++)
                        digits = digits && isdigit((unsigned char) *k);
                if (digits)
                        fprintf(f, "[%s]", seg);
                else if (key_is_plain(seg))
                        fprintf(f, "%s%s", first ? "" : ".", seg);
                else
                        fprintf(f, "[\"%s\"]", seg);
                first = false;
                ptr += len + 1;
        }
        if (first)
                fputs("top level", f);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static char *json_pointer(const Ctx *c) {
        char *ptr = strdup("");
        unsigned n = MIN(c->depth, (unsigned) POLICY_PATH_DEPTH_MAX);

        for (unsigned i = 0; ptr && i < n; i++) {
                char *next = c->segs[i].key ? json_pointer_append_key(ptr, c->segs[i].key) :
                                              json_pointer_append_index(ptr, c->segs[i].index);
                free(ptr);
                ptr = next;
        }
        return ptr;
}

static void add_error_at_offset(Ctx *c, size_t offset, bool have_offset, char *message) {
        PendingError *ne;
        unsigned line = 0, column = 0;

        if (!message) {
                c->oom = true;
                return;
        }
        if (have_offset)
                json_positions_line_column(c->pos, offset, &line, &column);
        ne = realloc(c->errors, (c->n_errors + 1) * sizeof(PendingError));
        if (!ne) {
                free(message);
                c->oom = true;
                return;
        }
        c->errors = ne;
        c->errors[c->n_errors] = (PendingError) {
                .line = line,
                .column = column,
                .seq = c->n_errors,
                .message = message,
        };
        c->n_errors++;
}

_printf_(3, 0) static void verror(Ctx *c, bool at_key, const char *fmt, va_list ap) {
        _cleanup_free_ char *where = display_path(c), *ptr = json_pointer(c), *text = NULL;
        size_t value_offset = 0, key_offset = 0;
        unsigned depth = c->depth;
        char *msg;
        int r = -ENOENT;

        if (!where || !ptr || vasprintf(&text, fmt, ap) < 0) {
                c->oom = true;
                return;
        }

        /* A missing member is reported where its object starts: walk up
         * until the scanner knows the path. */
        while (ptr) {
                r = json_positions_lookup(c->pos, ptr, &value_offset, &key_offset);
                if (r >= 0 || depth == 0)
                        break;
                depth--;
                free(ptr);
                {
                        unsigned saved = c->depth;

                        c->depth = depth;
                        ptr = json_pointer(c);
                        c->depth = saved;
                }
                at_key = false;
        }

        if (asprintf(&msg, "%s: %s", where, text) < 0) {
                c->oom = true;
                return;
        }
        add_error_at_offset(c, at_key ? key_offset : value_offset, r >= 0, msg);
}

_printf_(2, 3) static void err(Ctx *c, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        verror(c, false, fmt, ap);
        va_end(ap);
}

_printf_(2, 3) static void err_key(Ctx *c, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        verror(c, true, fmt, ap);
        va_end(ap);
}

/* ---- typed accessors --------------------------------------------------- */

static const char *type_name(json_object *o) {
        switch (json_object_get_type(o)) {
        case json_type_null:
                return "null";
        case json_type_boolean:
                return "a boolean";
        case json_type_double:
                return "a fractional number";
        case json_type_int:
                return "an integer";
        case json_type_object:
                return "an object";
        case json_type_array:
                return "an array";
        case json_type_string:
                return "a string";
        }
        return "something else";
}

static bool expect(Ctx *c, json_object *o, json_type t) {
        static const char *const want[] = {
                [json_type_null] = "null",         [json_type_boolean] = "a boolean",
                [json_type_double] = "a number",   [json_type_int] = "an integer",
                [json_type_object] = "an object",  [json_type_array] = "an array",
                [json_type_string] = "a string",
        };

        if (json_object_is_type(o, t))
                return true;
        err(c, "expected %s, got %s", want[t], type_name(o));
        return false;
}

/* A string without embedded NULs (they would truncate what the kernel sees). */
static const char *get_string(Ctx *c, json_object *o) {
        const char *s;

        if (!expect(c, o, json_type_string))
                return NULL;
        s = json_object_get_string(o);
        if (strlen(s) != (size_t) json_object_get_string_len(o)) {
                err(c, "string contains a NUL character");
                return NULL;
        }
        return s;
}

static const char *get_nonempty_string(Ctx *c, json_object *o) {
        const char *s = get_string(c, o);

        if (s && !*s) {
                err(c, "must not be empty");
                return NULL;
        }
        return s;
}

static bool get_int_range(Ctx *c, json_object *o, int64_t min, int64_t max, int64_t *ret) {
        int64_t v;

        if (!expect(c, o, json_type_int))
                return false;
        v = json_object_get_int64(o);
        if (v == INT64_MAX && json_object_get_uint64(o) > (uint64_t) INT64_MAX)
                v = INT64_MAX; /* beyond int64: certainly out of any range here */
        if (v < min || v > max) {
                err(c, "%" PRId64 " is out of range (%" PRId64 "..%" PRId64 ")", v, min, max);
                return false;
        }
        *ret = v;
        return true;
}

static const char *suggest_from(const char *name, const char *const *candidates) {
        const char *best = NULL;
        unsigned best_d = UINT32_MAX;

        for (const char *const *k = candidates; *k; k++) {
                unsigned d = string_edit_distance(name, *k);

                if (d < best_d) {
                        best_d = d;
                        best = *k;
                }
        }
        return best_d <= MAX((unsigned) strlen(name) / 3, 1u) ? best : NULL;
}

static char *did_you_mean(const char *suggestion) {
        char *s;

        if (!suggestion)
                return strdup("");
        if (asprintf(&s, " (did you mean \"%s\"?)", suggestion) < 0)
                return NULL;
        return s;
}

/* Unknown keys are errors: a misspelt "min_trust" must not silently drop a requirement. */
static void check_keys(Ctx *c, json_object *obj, const char *const *allowed, const char *what) {
        json_object_object_foreach(obj, key, val) {
                bool ok = false;

                (void) val;
                for (const char *const *k = allowed; *k; k++)
                        if (streq(*k, key)) {
                                ok = true;
                                break;
                        }
                if (ok)
                        continue;
                {
                        _cleanup_free_ char *hint = did_you_mean(suggest_from(key, allowed));

                        push_key(c, key);
                        err_key(c, "unknown key \"%s\" in %s%s", key, what, strempty(hint));
                        pop(c);
                }
        }
}

static bool name_valid(const char *s) {
        if (!*s || strlen(s) > POLICY_NAME_MAX)
                return false;
        for (const char *k = s; *k; k++)
                if (!isalnum((unsigned char) *k) && !strchr("_.-", *k))
                        return false;
        return true;
}

static int strv_append(char ***l, size_t *n, const char *s) {
        char **nl, *d = strdup(s);

        if (!d)
                return -ENOMEM;
        nl = realloc(*l, (*n + 2) * sizeof(char *));
        if (!nl) {
                free(d);
                return -ENOMEM;
        }
        nl[(*n)++] = d;
        nl[*n] = NULL;
        *l = nl;
        return 0;
}

static int parse_errno_value(Ctx *c, json_object *o, int *ret) {
        if (json_object_is_type(o, json_type_int)) {
                int64_t v;

                if (!get_int_range(c, o, 1, POLICY_ERRNO_MAX, &v))
                        return -EINVAL;
                *ret = (int) v;
                return 0;
        }
        if (json_object_is_type(o, json_type_string)) {
                const char *s = json_object_get_string(o);
                int e = policy_errno_from_string(s);

                if (e < 0) {
                        err(c, "unknown errno name \"%s\" (use a name such as \"EPERM\" or \"EACCES\", "
                            "or a number)", s);
                        return -EINVAL;
                }
                *ret = e;
                return 0;
        }
        err(c, "expected an errno name such as \"EPERM\" or a number, got %s", type_name(o));
        return -EINVAL;
}

/* ---- glob and path patterns ------------------------------------------- */

/* Globs within one component: "*", "?", "[...]" ("[!...]" negates), "\" quotes. */
static const char *component_glob_check(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '\\') {
                        if (i + 1 >= len)
                                return "ends in a lone backslash";
                        i++;
                        continue;
                }
                if (s[i] == '[') {
                        size_t j = i + 1;

                        if (j < len && (s[j] == '!' || s[j] == '^'))
                                j++;
                        if (j < len && s[j] == ']') /* "[]...]": a leading ] is literal */
                                j++;
                        while (j < len && s[j] != ']')
                                j++;
                        if (j >= len)
                                return "has a \"[\" without a closing \"]\" in the same component";
                        i = j;
                }
        }
        return NULL;
}

int policy_path_pattern_validate(const char *pattern, const char **ret_why) {
        const char *why = NULL, *p;

        if (!pattern || pattern[0] != '/')
                why = "must be absolute (start with \"/\")";
        else if (streq(pattern, "/"))
                why = NULL;
        else if (pattern[strlen(pattern) - 1] == '/')
                why = "must not end in \"/\" (write \"/dir/**\" for everything below a directory)";
        else
                for (p = pattern + 1; *p && !why;) {
                        size_t len = strcspn(p, "/");
                        bool last = p[len] == 0;

                        if (len == 0)
                                why = "contains \"//\"";
                        else if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
                                why = "contains a \".\" or \"..\" component (write the normalised path)";
                        else if (len == 2 && p[0] == '*' && p[1] == '*') {
                                if (!last)
                                        why = "has \"**\" before the last component (\"**\" matches whole "
                                              "subtrees, only at the end)";
                        } else if (memmem(p, len, "**", 2))
                                why = "has \"**\" inside a component (\"**\" must be a whole component)";
                        else
                                why = component_glob_check(p, len);
                        p += len + (last ? 0 : 1);
                }

        if (why) {
                if (ret_why)
                        *ret_why = why;
                return -EINVAL;
        }
        return 0;
}

/* ---- top-level pieces -------------------------------------------------- */

static void parse_default(Ctx *c, json_object *o) {
        static const char *const keys[] = { "action", "errno", "description", NULL };
        json_object *a, *e;

        if (!expect(c, o, json_type_object))
                return;
        check_keys(c, o, keys, "default");

        if (!json_object_object_get_ex(o, "action", &a))
                err(c, "missing required key \"action\" (\"deny\" or \"quarantine\")");
        else {
                const char *s;

                push_key(c, "action");
                s = get_string(c, a);
                if (s) {
                        PolicyVerdict v = policy_verdict_from_string(s);

                        if (v == POLICY_VERDICT_DENY || v == POLICY_VERDICT_QUARANTINE)
                                c->p->default_verdict = v;
                        else if (v >= 0)
                                err(c, "default action \"%s\" is not allowed: a policy is zero trust, its "
                                    "default is \"deny\" or \"quarantine\"; allow what is needed with rules",
                                    s);
                        else
                                err(c, "unknown default action \"%s\" (expected \"deny\" or "
                                    "\"quarantine\")", s);
                }
                pop(c);
        }

        if (json_object_object_get_ex(o, "errno", &e)) {
                push_key(c, "errno");
                (void) parse_errno_value(c, e, &c->p->default_errno);
                pop(c);
        }

        if (json_object_object_get_ex(o, "description", &e)) {
                push_key(c, "description");
                (void) get_string(c, e);
                pop(c);
        }
}

static void parse_architectures(Ctx *c, json_object *o) {
        uint32_t native = seccomp_arch_native();
        size_t n;

        if (!expect(c, o, json_type_array))
                return;
        n = json_object_array_length(o);
        if (n == 0) {
                err(c, "must name at least one architecture (\"native\" for the machine's own)");
                return;
        }

        free(c->p->arches);
        c->p->arches = calloc(n, sizeof(uint32_t));
        c->p->n_arches = 0;
        if (!c->p->arches) {
                c->oom = true;
                return;
        }

        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(o, i);
                const char *s;
                uint32_t a;
                bool dup = false;

                push_index(c, i);
                s = get_string(c, e);
                if (!s) {
                        pop(c);
                        c->arches_valid = false;
                        continue;
                }
                a = streq(s, "native") ? native : arch_table_from_string(s);
                if (a == 0) {
                        const char *names[32] = { "native" }; /* and the table's, NULL-terminated */

                        for (size_t j = 0; arch_table_by_index(j) && j + 2 < ELEMENTSOF(names); j++)
                                names[j + 1] = arch_table_by_index(j)->name;
                        _cleanup_free_ char *hint = did_you_mean(suggest_from(s, names));

                        err(c, "unknown architecture \"%s\"%s", s, strempty(hint));
                        c->arches_valid = false;
                        pop(c);
                        continue;
                }
                for (size_t j = 0; j < c->p->n_arches; j++)
                        dup = dup || c->p->arches[j] == a;
                if (dup)
                        err(c, "architecture \"%s\" is listed twice", s);
                else
                        c->p->arches[c->p->n_arches++] = a;
                pop(c);
        }

        /* The native ABI first: the compiler and the supervisor look there first. */
        for (size_t j = 1; j < c->p->n_arches; j++)
                if (c->p->arches[j] == native) {
                        memmove(c->p->arches + 1, c->p->arches, j * sizeof(uint32_t));
                        c->p->arches[0] = native;
                        break;
                }
}

static void parse_trust(Ctx *c, json_object *o) {
        static const char *const keys[] = {
                "initial", "maximum", "deny_penalty", "quarantine_below", "recovery_per_minute", NULL,
        };
        PolicyTrust *t = &c->p->trust;
        json_object *v;
        int64_t x;
        bool have_max = false, have_init = false, have_q = false;

        if (!expect(c, o, json_type_object))
                return;
        check_keys(c, o, keys, "trust");

#define TRUST_FIELD(key, field, min, flag)                                                                 \
        if (json_object_object_get_ex(o, key, &v)) {                                                       \
                push_key(c, key);                                                                          \
                if (get_int_range(c, v, min, POLICY_TRUST_LIMIT, &x)) {                                    \
                        t->field = (int) x;                                                                \
                        flag;                                                                              \
                }                                                                                          \
                pop(c);                                                                                    \
        }

        TRUST_FIELD("maximum", maximum, 1, have_max = true);
        TRUST_FIELD("initial", initial, 0, have_init = true);
        TRUST_FIELD("quarantine_below", quarantine_below, 0, have_q = true);
        TRUST_FIELD("deny_penalty", deny_penalty, 0, (void) 0);
        TRUST_FIELD("recovery_per_minute", recovery_per_minute, 0, (void) 0);
#undef TRUST_FIELD

        /* Only "maximum" given: workloads start at the top. */
        if (have_max && !have_init)
                t->initial = t->maximum;

        if (t->initial > t->maximum) {
                push_key(c, have_init ? "initial" : "maximum");
                err(c, "initial trust %d is above the maximum %d", t->initial, t->maximum);
                pop(c);
        }
        if (t->quarantine_below > t->initial) {
                push_key(c, have_q ? "quarantine_below" : "initial");
                err(c, "quarantine_below %d is above the initial trust %d: every workload would start "
                    "quarantined", t->quarantine_below, t->initial);
                pop(c);
        }
        if (json_object_object_get_ex(o, "deny_penalty", &v) && t->deny_penalty > t->maximum) {
                push_key(c, "deny_penalty");
                err(c, "deny_penalty %d is above the maximum trust %d", t->deny_penalty, t->maximum);
                pop(c);
        }
        if (json_object_object_get_ex(o, "recovery_per_minute", &v) && t->recovery_per_minute > t->maximum) {
                push_key(c, "recovery_per_minute");
                err(c, "recovery_per_minute %d is above the maximum trust %d", t->recovery_per_minute,
                    t->maximum);
                pop(c);
        }
}

static bool digest_valid(const char *s) {
        if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64)
                return false;
        for (const char *k = s + 7; *k; k++)
                if (!isdigit((unsigned char) *k) && !(*k >= 'a' && *k <= 'f'))
                        return false;
        return true;
}

/* "signed_by" (a key id or a list of them) and "signed_reference": requirements on the image's signature
 * that the trust module checks; they are not criteria, so they do not count as one. */
static void parse_identity_signature(Ctx *c, json_object *o, PolicyIdentity *id) {
        json_object *v;

        if (json_object_object_get_ex(o, "signed_by", &v)) {
                size_t n = 0,
                       count = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 1;

                push_key(c, "signed_by");
                if (json_object_is_type(v, json_type_array) && count == 0)
                        err(c, "is empty: name at least one anchor key id, or leave \"signed_by\" out");
                for (size_t i = 0; i < count; i++) {
                        json_object *e = json_object_is_type(v, json_type_array)
                                                 ? json_object_array_get_idx(v, i)
                                                 : v;
                        const char *s;

                        if (e != v)
                                push_index(c, i);
                        s = get_nonempty_string(c, e);
                        if (s && !name_valid(s))
                                err(c, "anchor key id \"%s\" must be 1..%d characters of A-Z a-z 0-9 _ . -",
                                    s, POLICY_NAME_MAX);
                        else if (s && strv_append(&id->match_signed_by, &n, s) < 0)
                                c->oom = true;
                        if (e != v)
                                pop(c);
                }
                pop(c);
        }
        if (json_object_object_get_ex(o, "signed_reference", &v)) {
                const char *s;

                push_key(c, "signed_reference");
                s = get_nonempty_string(c, v);
                if (s && !(id->match_signed_reference = strdup(s)))
                        c->oom = true;
                pop(c);
        }
}

static void parse_identity_match(Ctx *c, json_object *o, PolicyIdentity *id) {
        static const char *const keys[] = { "name",      "labels",           "image_digest",
                                            "signed_by", "signed_reference", NULL };
        json_object *v;
        bool any = false;

        if (!expect(c, o, json_type_object))
                return;
        check_keys(c, o, keys, "an identity match");

        if (json_object_object_get_ex(o, "name", &v)) {
                const char *s, *why;

                any = true;
                push_key(c, "name");
                s = get_nonempty_string(c, v);
                if (s && (why = component_glob_check(s, strlen(s))))
                        err(c, "name pattern \"%s\" %s", s, why);
                else if (s && !(id->match_name = strdup(s)))
                        c->oom = true;
                pop(c);
        }

        if (json_object_object_get_ex(o, "image_digest", &v)) {
                const char *s;

                any = true;
                push_key(c, "image_digest");
                s = get_string(c, v);
                if (s && !digest_valid(s))
                        err(c, "\"%s\" is not an image digest: expected \"sha256:\" and 64 lowercase "
                            "hex digits", s);
                else if (s && !(id->match_digest = strdup(s)))
                        c->oom = true;
                pop(c);
        }

        if (json_object_object_get_ex(o, "labels", &v)) {
                size_t n = 0;

                any = true;
                push_key(c, "labels");
                if (expect(c, v, json_type_object)) {
                        if (json_object_object_length(v) == 0)
                                err(c, "is empty: name at least one label, or leave \"labels\" out");
                        json_object_object_foreach(v, lkey, lval) {
                                const char *s;
                                _cleanup_free_ char *kv = NULL;

                                push_key(c, lkey);
                                if (!*lkey || strchr(lkey, '='))
                                        err_key(c, "label key \"%s\" must be non-empty and contain no "
                                                "\"=\"", lkey);
                                s = get_string(c, lval);
                                if (s && *lkey && !strchr(lkey, '=')) {
                                        if (asprintf(&kv, "%s=%s", lkey, s) < 0 ||
                                            strv_append(&id->match_labels, &n, kv) < 0)
                                                c->oom = true;
                                }
                                pop(c);
                        }
                }
                pop(c);
        }

        parse_identity_signature(c, o, id);

        if (!any)
                err(c, "names no criterion: give \"name\", \"labels\" or \"image_digest\" (the "
                    "identity \"*\" already stands for every workload)");
}

static void parse_identities(Ctx *c, json_object *o) {
        static const char *const keys[] = { "match", "trust", "allow_unsigned", "description", NULL };
        size_t n;

        if (!expect(c, o, json_type_object))
                return;
        n = (size_t) json_object_object_length(o);
        c->p->identities = calloc(MAX(n, (size_t) 1), sizeof(PolicyIdentity));
        if (!c->p->identities) {
                c->oom = true;
                return;
        }

        json_object_object_foreach(o, name, def) {
                PolicyIdentity *id = &c->p->identities[c->p->n_identities++];
                json_object *v;
                size_t off = 0;

                *id = (PolicyIdentity) { .trust_initial = -1 };
                id->name = strdup(name);
                if (!id->name)
                        c->oom = true;

                push_key(c, name);
                {
                        _cleanup_free_ char *ptr = json_pointer(c);

                        if (ptr && json_positions_lookup(c->pos, ptr, NULL, &off) >= 0)
                                json_positions_line_column(c->pos, off, &id->line, &id->column);
                }
                if (streq(name, "*"))
                        err_key(c, "\"*\" is reserved for \"any workload\" and cannot be defined");
                else if (!name_valid(name))
                        err_key(c, "identity name \"%s\" must be 1..%d characters of A-Z a-z 0-9 _ . -",
                                name, POLICY_NAME_MAX);

                if (expect(c, def, json_type_object)) {
                        check_keys(c, def, keys, "an identity");
                        if (json_object_object_get_ex(def, "match", &v)) {
                                push_key(c, "match");
                                parse_identity_match(c, v, id);
                                pop(c);
                        } else
                                err(c, "missing required key \"match\"");

                        if (json_object_object_get_ex(def, "trust", &v)) {
                                int64_t x;

                                push_key(c, "trust");
                                if (get_int_range(c, v, 0, c->p->trust.maximum, &x)) {
                                        if (x < c->p->trust.quarantine_below)
                                                err(c, "initial trust %" PRId64 " is below "
                                                    "trust.quarantine_below (%d): the workload would start "
                                                    "quarantined", x, c->p->trust.quarantine_below);
                                        else
                                                id->trust_initial = (int) x;
                                }
                                pop(c);
                        }
                        if (json_object_object_get_ex(def, "description", &v)) {
                                const char *d;

                                push_key(c, "description");
                                d = get_string(c, v);
                                if (d && !(id->description = strdup(d)))
                                        c->oom = true;
                                pop(c);
                        }
                        if (json_object_object_get_ex(def, "allow_unsigned", &v)) {
                                push_key(c, "allow_unsigned");
                                if (expect(c, v, json_type_boolean))
                                        id->allow_unsigned = json_object_get_boolean(v);
                                if (id->allow_unsigned &&
                                    (id->match_signed_by || id->match_signed_reference))
                                        err(c, "contradicts match.%s: an identity either requires a "
                                            "signature or allows none",
                                            id->match_signed_by ? "signed_by" : "signed_reference");
                                pop(c);
                        }
                }
                pop(c);
        }
}

/* ---- resources --------------------------------------------------------- */

static void parse_path_resource(Ctx *c, json_object *def, PolicyResource *r) {
        json_object *v;
        size_t n_paths = 0;

        if (!json_object_object_get_ex(def, "paths", &v))
                err(c, "missing required key \"paths\" (absolute path patterns)");
        else {
                push_key(c, "paths");
                if (expect(c, v, json_type_array)) {
                        size_t n = json_object_array_length(v);

                        if (n == 0)
                                err(c, "is empty: a path resource needs at least one pattern");
                        for (size_t i = 0; i < n; i++) {
                                const char *s, *why = NULL;

                                push_index(c, i);
                                s = get_string(c, json_object_array_get_idx(v, i));
                                if (s && policy_path_pattern_validate(s, &why) < 0)
                                        err(c, "path pattern \"%s\" %s", s, why);
                                else if (s && strv_append(&r->paths, &n_paths, s) < 0)
                                        c->oom = true;
                                pop(c);
                        }
                }
                pop(c);
        }

        if (!json_object_object_get_ex(def, "access", &v))
                err(c, "missing required key \"access\" (read, write, create, delete, exec, stat, attr "
                    "or all)");
        else {
                push_key(c, "access");
                if (expect(c, v, json_type_array)) {
                        size_t n = json_object_array_length(v);

                        if (n == 0)
                                err(c, "is empty: name the access modes this resource covers");
                        for (size_t i = 0; i < n; i++) {
                                static const char *const names[] = {
                                        "read", "write", "create", "delete", "exec", "stat", "attr", "all",
                                        NULL,
                                };
                                const char *s;

                                push_index(c, i);
                                s = get_string(c, json_object_array_get_idx(v, i));
                                if (s) {
                                        int bit = streq(s, "all") ? (int) POLICY_ACCESS_ALL :
                                                                    policy_access_from_string(s);

                                        if (bit < 0) {
                                                _cleanup_free_ char *hint =
                                                        did_you_mean(suggest_from(s, names));

                                                err(c, "unknown access mode \"%s\"%s", s, strempty(hint));
                                        } else
                                                r->access |= (unsigned) bit;
                                }
                                pop(c);
                        }
                }
                pop(c);
        }
}

static int parse_port_range(const char *s, uint16_t *ret_min, uint16_t *ret_max) {
        unsigned long lo, hi;
        char *end;

        if (!isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        lo = strtoul(s, &end, 10);
        if (errno != 0 || lo > 65535)
                return -ERANGE;
        if (*end == 0)
                hi = lo;
        else if (*end == '-' && isdigit((unsigned char) end[1])) {
                hi = strtoul(end + 1, &end, 10);
                if (errno != 0 || hi > 65535)
                        return -ERANGE;
                if (*end != 0)
                        return -EINVAL;
        } else
                return -EINVAL;
        if (lo > hi)
                return -EDOM;
        *ret_min = (uint16_t) lo;
        *ret_max = (uint16_t) hi;
        return 0;
}

static void parse_address(Ctx *c, const char *s, PolicyNetEndpoint *ep) {
        char buf[INET6_ADDRSTRLEN + 8];
        const char *slash = strchr(s, '/');
        unsigned bits = ep->family == AF_INET ? 32 : 128, prefix = bits;
        size_t alen = slash ? (size_t) (slash - s) : strlen(s);
        const char *fam = ep->family == AF_INET ? "inet" : "inet6";

        if (alen >= sizeof buf) {
                err(c, "\"%s\" is not an %s address", s, fam);
                return;
        }
        memcpy(buf, s, alen);
        buf[alen] = 0;
        if (inet_pton(ep->family, buf, ep->addr) != 1) {
                if (inet_pton(ep->family == AF_INET ? AF_INET6 : AF_INET, buf, ep->addr) == 1)
                        err(c, "\"%s\" is an %s address, but the endpoint's family is \"%s\"", buf,
                            ep->family == AF_INET ? "inet6" : "inet", fam);
                else
                        err(c, "\"%s\" is not an %s address", buf, fam);
                memset(ep->addr, 0, sizeof ep->addr);
                return;
        }
        if (slash) {
                char *end;
                unsigned long v;

                errno = 0;
                v = strtoul(slash + 1, &end, 10);
                if (!isdigit((unsigned char) slash[1]) || *end != 0 || errno != 0 || v > bits) {
                        err(c, "prefix length \"%s\" must be a number 0..%u", slash + 1, bits);
                        return;
                }
                prefix = (unsigned) v;
        }

        /* Host bits beyond the prefix are almost always a typo for another network. */
        for (unsigned b = prefix; b < bits; b++)
                if (ep->addr[b / 8] & (0x80u >> (b % 8))) {
                        err(c, "\"%s\" has bits set beyond the /%u prefix (host part of the address)", s,
                            prefix);
                        return;
                }
        ep->prefixlen = prefix;
}

static void parse_endpoint(Ctx *c, json_object *o, PolicyNetEndpoint *ep) {
        static const char *const inet_keys[] = { "family", "address", "port", "ports", "protocol", NULL };
        static const char *const unix_keys[] = { "family", "path", NULL };
        static const char *const all_keys[] = {
                "family", "address", "port", "ports", "protocol", "path", NULL,
        };
        json_object *v;
        const char *fam = NULL;

        *ep = (PolicyNetEndpoint) { .port_min = 0, .port_max = 65535 };
        if (!expect(c, o, json_type_object))
                return;

        if (!json_object_object_get_ex(o, "family", &v)) {
                check_keys(c, o, all_keys, "a network endpoint");
                err(c, "missing required key \"family\" (\"inet\", \"inet6\", \"unix\" or \"connected\")");
                return;
        }
        push_key(c, "family");
        fam = get_string(c, v);
        if (fam) {
                if (streq(fam, "inet"))
                        ep->family = AF_INET;
                else if (streq(fam, "inet6"))
                        ep->family = AF_INET6;
                else if (streq(fam, "unix"))
                        ep->family = AF_UNIX;
                else if (streq(fam, "connected"))
                        ep->family = POLICY_FAMILY_CONNECTED;
                else
                        err(c, "unknown address family \"%s\" (expected \"inet\", \"inet6\", \"unix\" or "
                            "\"connected\")", fam);
        }
        pop(c);
        if (ep->family == 0) {
                check_keys(c, o, all_keys, "a network endpoint");
                return;
        }
        if (ep->family == POLICY_FAMILY_CONNECTED) {
                /* A send without an address of its own: nothing else to say about it. */
                json_object_object_foreach(o, key, val) {
                        (void) val;
                        if (strv_contains_const(all_keys, key) && !streq(key, "family")) {
                                push_key(c, key);
                                err_key(c,
                                        "\"%s\" is not valid for a \"connected\" endpoint "
                                        "(it has no address)",
                                        key);
                                pop(c);
                        }
                }
                check_keys(c, o, all_keys, "a network endpoint");
                return;
        }

        if (ep->family == AF_UNIX) {
                json_object_object_foreach(o, key, val) {
                        (void) val;
                        if (strv_contains_const(all_keys, key) && !strv_contains_const(unix_keys, key)) {
                                push_key(c, key);
                                err_key(c, "\"%s\" is not valid for a unix endpoint (only \"path\")", key);
                                pop(c);
                        }
                }
                check_keys(c, o, all_keys, "a network endpoint");
                if (!json_object_object_get_ex(o, "path", &v)) {
                        err(c, "missing required key \"path\" (socket path pattern, or \"@name\" for an "
                            "abstract socket)");
                        return;
                }
                push_key(c, "path");
                {
                        const char *s = get_nonempty_string(c, v), *why = NULL;

                        if (s && s[0] == '@') {
                                if (!s[1])
                                        err(c, "abstract socket name after \"@\" is empty");
                                else if ((why = component_glob_check(s + 1, strlen(s + 1))))
                                        err(c, "abstract socket pattern \"%s\" %s", s, why);
                        } else if (s && policy_path_pattern_validate(s, &why) < 0)
                                err(c, "socket path pattern \"%s\" %s", s, why);
                        if (s && !why && !(ep->unix_path = strdup(s)))
                                c->oom = true;
                }
                pop(c);
                return;
        }

        json_object_object_foreach(o, key, val) {
                (void) val;
                if (strv_contains_const(all_keys, key) && !strv_contains_const(inet_keys, key)) {
                        push_key(c, key);
                        err_key(c, "\"%s\" is only valid for a unix endpoint", key);
                        pop(c);
                }
        }
        check_keys(c, o, all_keys, "a network endpoint");

        if (json_object_object_get_ex(o, "address", &v)) {
                const char *s;

                push_key(c, "address");
                s = get_nonempty_string(c, v);
                if (s)
                        parse_address(c, s, ep);
                pop(c);
        }

        if (json_object_object_get_ex(o, "port", &v)) {
                int64_t x;

                push_key(c, "port");
                if (json_object_object_get_ex(o, "ports", NULL))
                        err_key(c, "give either \"port\" or \"ports\", not both");
                else if (get_int_range(c, v, 0, 65535, &x))
                        ep->port_min = ep->port_max = (uint16_t) x;
                pop(c);
        } else if (json_object_object_get_ex(o, "ports", &v)) {
                push_key(c, "ports");
                if (json_object_is_type(v, json_type_int)) {
                        int64_t x;

                        if (get_int_range(c, v, 0, 65535, &x))
                                ep->port_min = ep->port_max = (uint16_t) x;
                } else {
                        const char *s = get_string(c, v);

                        if (s) {
                                int r = parse_port_range(s, &ep->port_min, &ep->port_max);

                                if (r == -ERANGE)
                                        err(c, "port range \"%s\" is outside 0..65535", s);
                                else if (r == -EDOM)
                                        err(c, "port range \"%s\" is empty: the first port is above the "
                                            "last", s);
                                else if (r < 0)
                                        err(c, "\"%s\" is not a port range (expected \"LOW-HIGH\", e.g. "
                                            "\"1024-65535\")", s);
                        }
                }
                pop(c);
        }

        if (json_object_object_get_ex(o, "protocol", &v)) {
                const char *s;

                push_key(c, "protocol");
                s = get_string(c, v);
                if (s) {
                        if (streq(s, "tcp"))
                                ep->protocol = IPPROTO_TCP;
                        else if (streq(s, "udp"))
                                ep->protocol = IPPROTO_UDP;
                        else if (!streq(s, "any"))
                                err(c, "unknown protocol \"%s\" (expected \"tcp\", \"udp\" or \"any\")", s);
                }
                pop(c);
        }
}

static bool parse_arg_value(Ctx *c, json_object *o, uint64_t *ret) {
        if (json_object_is_type(o, json_type_int)) {
                _cleanup_free_ char *ptr = json_pointer(c);
                int64_t v = json_object_get_int64(o);
                size_t off;

                /* json-c saturates numbers beyond 64 bits; the raw text tells. */
                if (ptr && json_positions_lookup(c->pos, ptr, &off, NULL) >= 0) {
                        const char *t = c->text + off;

                        errno = 0;
                        if (*t == '-')
                                (void) strtoll(t, NULL, 10);
                        else
                                (void) strtoull(t, NULL, 10);
                        if (errno == ERANGE) {
                                err(c, "%.*s does not fit in 64 bits", (int) strspn(t, "-0123456789"), t);
                                return false;
                        }
                }
                *ret = v < 0 ? (uint64_t) v : json_object_get_uint64(o);
                return true;
        }
        if (json_object_is_type(o, json_type_string)) {
                _cleanup_free_ char *bad = NULL;
                const char *s = json_object_get_string(o);
                int r = policy_constant_parse(s, ret, &bad);

                if (r == -ENOENT) {
                        _cleanup_free_ char *hint = did_you_mean(policy_constant_suggest(bad));

                        err(c, "unknown constant \"%s\"%s", strempty(bad), strempty(hint));
                        return false;
                }
                if (r < 0) {
                        if (bad && *bad)
                                err(c, "\"%s\" is neither a number nor a constant name (in \"%s\")", bad, s);
                        else
                                err(c, "\"%s\" is not a value: expected a number, a constant such as "
                                    "\"O_WRONLY\", or names joined by \"|\"", s);
                        return false;
                }
                return true;
        }
        err(c, "expected an integer or a constant such as \"O_WRONLY\", got %s", type_name(o));
        return false;
}

static void parse_arg_cond(Ctx *c, json_object *o, PolicyArgCond *a) {
        static const char *const keys[] = { "index", "op", "value", "mask", NULL };
        json_object *v;
        bool have_mask = false, have_value = false;

        *a = (PolicyArgCond) { .op = POLICY_ARG_EQ };
        if (!expect(c, o, json_type_object))
                return;
        check_keys(c, o, keys, "an argument condition");

        if (!json_object_object_get_ex(o, "index", &v))
                err(c, "missing required key \"index\" (argument number 0..5)");
        else {
                int64_t x;

                push_key(c, "index");
                if (get_int_range(c, v, 0, 5, &x))
                        a->index = (unsigned) x;
                pop(c);
        }

        if (!json_object_object_get_ex(o, "op", &v))
                err(c, "missing required key \"op\" (eq, ne, lt, le, gt, ge or masked_eq)");
        else {
                const char *s;

                push_key(c, "op");
                s = get_string(c, v);
                if (s) {
                        PolicyArgOp op = policy_arg_op_from_string(s);

                        if (op < 0) {
                                static const char *const ops[] = { "eq", "ne", "lt", "le", "gt", "ge",
                                                                   "masked_eq", NULL };
                                _cleanup_free_ char *hint = did_you_mean(suggest_from(s, ops));

                                err(c, "unknown comparison \"%s\"%s", s, strempty(hint));
                        } else
                                a->op = op;
                }
                pop(c);
        }

        if (!json_object_object_get_ex(o, "value", &v))
                err(c, "missing required key \"value\"");
        else {
                push_key(c, "value");
                have_value = parse_arg_value(c, v, &a->value);
                pop(c);
        }

        if (json_object_object_get_ex(o, "mask", &v)) {
                push_key(c, "mask");
                if (a->op != POLICY_ARG_MASKED_EQ)
                        err_key(c, "\"mask\" is only valid with \"op\": \"masked_eq\"");
                else
                        have_mask = parse_arg_value(c, v, &a->mask);
                pop(c);
        } else if (a->op == POLICY_ARG_MASKED_EQ)
                err(c, "missing required key \"mask\" for \"masked_eq\"");

        if (have_mask && have_value && (a->value & ~a->mask)) {
                push_key(c, "value");
                err(c, "value 0x%" PRIx64 " has bits outside the mask 0x%" PRIx64 ": the condition can "
                    "never hold", a->value, a->mask);
                pop(c);
        }
}

static void parse_resources(Ctx *c, json_object *o) {
        static const char *const all_keys[] = {
                "type", "description", "paths", "access", "endpoints", "args", NULL,
        };
        static const char *const type_keys[_POLICY_RESOURCE_TYPE_MAX][3] = {
                [POLICY_RESOURCE_PATH] = { "paths", "access", NULL },
                [POLICY_RESOURCE_NETWORK] = { "endpoints", NULL },
                [POLICY_RESOURCE_ARGS] = { "args", NULL },
        };
        size_t n;

        if (!expect(c, o, json_type_object))
                return;
        n = (size_t) json_object_object_length(o);
        c->p->resources = calloc(MAX(n, (size_t) 1), sizeof(PolicyResource));
        if (!c->p->resources) {
                c->oom = true;
                return;
        }

        json_object_object_foreach(o, name, def) {
                PolicyResource *r = &c->p->resources[c->p->n_resources++];
                json_object *v;
                size_t off = 0;

                *r = (PolicyResource) { .type = _POLICY_RESOURCE_TYPE_INVALID };
                r->name = strdup(name);
                if (!r->name)
                        c->oom = true;

                push_key(c, name);
                {
                        _cleanup_free_ char *ptr = json_pointer(c);

                        if (ptr && json_positions_lookup(c->pos, ptr, NULL, &off) >= 0)
                                json_positions_line_column(c->pos, off, &r->line, &r->column);
                }
                if (!name_valid(name))
                        err_key(c, "resource name \"%s\" must be 1..%d characters of A-Z a-z 0-9 _ . -",
                                name, POLICY_NAME_MAX);

                if (!expect(c, def, json_type_object)) {
                        pop(c);
                        continue;
                }
                check_keys(c, def, all_keys, "a resource");

                if (!json_object_object_get_ex(def, "type", &v)) {
                        err(c, "missing required key \"type\" (\"path\", \"network\" or \"args\")");
                        pop(c);
                        continue;
                }
                push_key(c, "type");
                {
                        const char *s = get_string(c, v);

                        if (s) {
                                r->type = policy_resource_type_from_string(s);
                                if (r->type < 0)
                                        err(c, "unknown resource type \"%s\" (expected \"path\", "
                                            "\"network\" or \"args\")", s);
                        }
                }
                pop(c);
                if (r->type < 0) {
                        pop(c);
                        continue;
                }

                /* Keys that belong to another type are a mistake worth naming precisely. */
                json_object_object_foreach(def, key, val) {
                        (void) val;
                        if (streq(key, "type") || streq(key, "description") ||
                            !strv_contains_const(all_keys, key) ||
                            strv_contains_const(type_keys[r->type], key))
                                continue;
                        push_key(c, key);
                        err_key(c, "\"%s\" is not valid for a resource of type \"%s\"", key,
                                policy_resource_type_to_string(r->type));
                        pop(c);
                }

                if (json_object_object_get_ex(def, "description", &v)) {
                        const char *d;

                        push_key(c, "description");
                        d = get_string(c, v);
                        if (d && !(r->description = strdup(d)))
                                c->oom = true;
                        pop(c);
                }

                switch (r->type) {
                case POLICY_RESOURCE_PATH:
                        parse_path_resource(c, def, r);
                        break;

                case POLICY_RESOURCE_NETWORK:
                        if (!json_object_object_get_ex(def, "endpoints", &v)) {
                                err(c, "missing required key \"endpoints\"");
                                break;
                        }
                        push_key(c, "endpoints");
                        if (expect(c, v, json_type_array)) {
                                size_t ne = json_object_array_length(v);

                                if (ne == 0)
                                        err(c, "is empty: a network resource needs at least one endpoint");
                                r->endpoints = calloc(MAX(ne, (size_t) 1), sizeof(PolicyNetEndpoint));
                                if (!r->endpoints)
                                        c->oom = true;
                                for (size_t i = 0; r->endpoints && i < ne; i++) {
                                        push_index(c, i);
                                        parse_endpoint(c, json_object_array_get_idx(v, i), &r->endpoints[i]);
                                        r->n_endpoints++;
                                        pop(c);
                                }
                        }
                        pop(c);
                        break;

                case POLICY_RESOURCE_ARGS:
                        if (!json_object_object_get_ex(def, "args", &v)) {
                                err(c, "missing required key \"args\"");
                                break;
                        }
                        push_key(c, "args");
                        if (expect(c, v, json_type_array)) {
                                size_t na = json_object_array_length(v);

                                if (na == 0)
                                        err(c, "is empty: an args resource needs at least one condition");
                                r->args = calloc(MAX(na, (size_t) 1), sizeof(PolicyArgCond));
                                if (!r->args)
                                        c->oom = true;
                                for (size_t i = 0; r->args && i < na; i++) {
                                        push_index(c, i);
                                        parse_arg_cond(c, json_object_array_get_idx(v, i), &r->args[i]);
                                        r->n_args++;
                                        pop(c);
                                }
                        }
                        pop(c);
                        break;

                default:
                        break;
                }
                pop(c);
        }
}

/* ---- rules --------------------------------------------------------------- */

typedef struct Expanded {
        const char *name; /* static (a group member) or the rule's own string in the document */
        size_t origin; /* index in the rule's "syscalls" array that brought it in */
        bool from_group;
} Expanded;

typedef struct ExpandedList {
        Expanded *items;
        size_t n, alloc;
} ExpandedList;

static int expanded_cmp(const void *a, const void *b) {
        const Expanded *x = a, *y = b;
        int r = strcmp(x->name, y->name);

        if (r != 0)
                return r;
        return x->origin < y->origin ? -1 : x->origin > y->origin;
}

static const char *arch_label(uint32_t a) {
        return arch_table_to_string(a) ?: "unknown";
}

static bool on_policy_arches(const Policy *p, const char *name) {
        for (size_t i = 0; i < p->n_arches; i++)
                if (syscall_resolve_arch(name, p->arches[i]) >= 0)
                        return true;
        return false;
}

static char *arches_label(const Policy *p) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        for (size_t i = 0; i < p->n_arches; i++)
                fprintf(f, "%s%s", i > 0 ? ", " : "", arch_label(p->arches[i]));
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static bool expanded_push(Ctx *c, ExpandedList *l, const char *name, size_t origin, bool from_group) {
        if (l->n == l->alloc) {
                size_t na = MAX(l->alloc * 2, (size_t) 64);
                Expanded *ni = realloc(l->items, na * sizeof(Expanded));

                if (!ni) {
                        c->oom = true;
                        return false;
                }
                l->items = ni;
                l->alloc = na;
        }
        l->items[l->n++] = (Expanded) { .name = name, .origin = origin, .from_group = from_group };
        return true;
}

/* The members of a group, straight from the static table (as syscall_expand() walks it, without copying
 * a name): with valid architectures one lookup per member on the policy's architectures, which also
 * proves libseccomp knows it; a member only a foreign ABI has is not part of this policy. */
static int expand_group(Ctx *c, const SyscallGroup *g, size_t origin, ExpandedList *l, unsigned depth) {
        if (depth > 8) /* groups nest two levels deep; more is a cycle in the table */
                return -ELOOP;
        for (const char *const *m = g->members; *m; m++) {
                if ((*m)[0] == '@') {
                        const SyscallGroup *sub = syscall_group_lookup(*m);
                        int r;

                        if (!sub)
                                return -ENOENT;
                        r = expand_group(c, sub, origin, l, depth + 1);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (c->arches_valid ? !on_policy_arches(c->p, *m) : !syscall_known(*m))
                        continue;
                if (!expanded_push(c, l, *m, origin, true))
                        return -ENOMEM;
        }
        return 0;
}

/* Expands one element of "syscalls" (s stays owned by the document) and appends to *l. */
static void expand_syscall_entry(Ctx *c, const char *s, size_t origin, ExpandedList *l) {
        size_t before = l->n;
        int r;

        if (s[0] == '@') {
                const SyscallGroup *g = syscall_group_lookup(s);

                if (!g) {
                        _cleanup_free_ char *hint = did_you_mean(syscall_group_suggest(s));

                        err(c, "unknown syscall group \"%s\"%s", s, strempty(hint));
                        return;
                }
                r = expand_group(c, g, origin, l, 1);
                if (r < 0) {
                        l->n = before;
                        if (r != -ENOMEM)
                                err(c, "cannot expand \"%s\": %s", s, strerror(-r));
                        return;
                }
                if (l->n == before && !c->oom) {
                        _cleanup_free_ char *label = arches_label(c->p);

                        err(c, "group \"%s\" has no syscall that exists on %s", s, strempty(label));
                }
                return;
        }

        if (!syscall_known(s)) {
                _cleanup_free_ char *hint = did_you_mean(syscall_suggest(s));

                err(c, "unknown syscall \"%s\"%s", s, strempty(hint));
                return;
        }
        if (c->arches_valid && !on_policy_arches(c->p, s)) {
                _cleanup_free_ char *label = arches_label(c->p);

                err(c, "syscall \"%s\" does not exist on %s (add the architecture that has it to "
                    "\"architectures\")", s, strempty(label));
                return;
        }
        (void) expanded_push(c, l, s, origin, false);
}

typedef struct NameIndex {
        const char *name;
        int index;
} NameIndex;

static int name_index_cmp(const void *a, const void *b) {
        return strcmp(((const NameIndex *) a)->name, ((const NameIndex *) b)->name);
}

static int name_index_find(const NameIndex *idx, size_t n, const char *name) {
        NameIndex key = { .name = name };
        const NameIndex *f = bsearch(&key, idx, n, sizeof(NameIndex), name_index_cmp);

        return f ? f->index : -ENOENT;
}

typedef struct RuleCtx {
        NameIndex *resources; /* sorted by name */
        size_t n_resources;
} RuleCtx;

/* Reports at rules[i].syscalls[origin]: the element that brought the syscall in. */
_printf_(3, 4) static void err_syscall(Ctx *c, size_t origin, const char *fmt, ...) {
        va_list ap;

        push_key(c, "syscalls");
        push_index(c, origin);
        va_start(ap, fmt);
        verror(c, false, fmt, ap);
        va_end(ap);
        pop(c);
        pop(c);
}

static bool verdict_denies(PolicyVerdict v) {
        return v == POLICY_VERDICT_DENY || v == POLICY_VERDICT_QUARANTINE;
}

static bool rule_can_match(const PolicyRule *rule, const char *syscall, unsigned access) {
        const SyscallInfo *info = syscall_info_lookup(syscall);
        unsigned possible = syscall_possible_access(syscall);

        if (verdict_denies(rule->verdict))
                return (possible & access) != 0; /* deny matches when the request intersects */
        if (possible != (info->access | info->access2)) /* open flags: read, write or O_PATH alone */
                return (access & (POLICY_ACCESS_READ | POLICY_ACCESS_WRITE | POLICY_ACCESS_STAT)) != 0;
        return (info->access && (info->access & ~access) == 0) || /* allow: request within the grant */
               (info->access2 && (info->access2 & ~access) == 0);
}

/* A syscall named explicitly that the resources' access can never match is
 * an error; so is a group none of whose members can match. A group that
 * matches partly is fine: "@file-open" on a read-only resource simply never
 * allows creat. */
static void check_rule_access(Ctx *c, const PolicyRule *rule, const Expanded *list, size_t n,
                              unsigned access) {
        for (size_t i = 0; i < n; i++) {
                char want[96], have[96];
                bool explicit_never = !list[i].from_group && !rule_can_match(rule, list[i].name, access);
                bool group_never = list[i].from_group;

                if (!explicit_never && !list[i].from_group)
                        continue;
                if (list[i].from_group) {
                        for (size_t j = 0; j < n && group_never; j++)
                                if (list[j].origin == list[i].origin &&
                                    rule_can_match(rule, list[j].name, access))
                                        group_never = false;
                        /* Report a group once: at its first member in the sorted list. */
                        for (size_t j = 0; j < i && group_never; j++)
                                if (list[j].origin == list[i].origin)
                                        group_never = false;
                        if (!group_never)
                                continue;
                }
                policy_access_to_string(syscall_possible_access(list[i].name), want, sizeof want);
                policy_access_to_string(access, have, sizeof have);
                if (explicit_never)
                        err_syscall(c, list[i].origin,
                                    "%s rule can never match syscall \"%s\": it requests %s, the rule's "
                                    "resources cover only %s", policy_verdict_to_string(rule->verdict),
                                    list[i].name, want, have);
                else
                        err_syscall(c, list[i].origin,
                                    "%s rule can never match any syscall of this group: the rule's "
                                    "resources cover only %s", policy_verdict_to_string(rule->verdict),
                                    have);
                return;
        }
}

/* A rule's resources must fit its syscalls, or the rule silently never
 * matches some of them (and an allow rule that never matches is a deny the
 * author did not intend; a deny rule that never matches is worse). */
/* Reports at a resource's argument condition (its "value" or "mask"), from wherever the check runs, and
 * once however many rules use the resource. */
_printf_(5, 6) static void err_arg_cond(Ctx *c, const PolicyResource *res, size_t i, const char *key,
                                        const char *fmt, ...) {
        PathSeg saved[POLICY_PATH_DEPTH_MAX];
        unsigned depth = c->depth;
        size_t before = c->n_errors;
        va_list ap;

        memcpy(saved, c->segs, sizeof saved);
        c->depth = 0;
        push_key(c, "resources");
        push_key(c, res->name);
        push_key(c, "args");
        push_index(c, i);
        push_key(c, key);
        va_start(ap, fmt);
        verror(c, false, fmt, ap);
        va_end(ap);
        memcpy(c->segs, saved, sizeof saved);
        c->depth = depth;

        if (c->n_errors != before + 1)
                return;
        for (size_t j = 0; j < before; j++) {
                PendingError *e = &c->errors[j], *last = &c->errors[before];

                if (e->line == last->line && e->column == last->column && streq(e->message, last->message)) {
                        free(last->message);
                        c->n_errors--;
                        return;
                }
        }
}

static const char *width_type_name(SyscallArgWidth w) {
        static const char *const names[_SYSCALL_WIDTH_MAX] = {
                [SYSCALL_WIDTH_U64] = "an unsigned 64-bit value, 0..18446744073709551615",
                [SYSCALL_WIDTH_S64] = "a signed 64-bit value",
                [SYSCALL_WIDTH_U32] = "an unsigned int, 0..4294967295",
                [SYSCALL_WIDTH_S32] = "an int, -2147483648..2147483647",
                [SYSCALL_WIDTH_U16] = "a 16-bit mode, 0..65535",
        };

        return w >= 0 && w < _SYSCALL_WIDTH_MAX ? names[w] : "unknown";
}

static void format_number(char buf[static 32], uint64_t v) {
        if ((int64_t) v < 0)
                snprintf(buf, 32, "%" PRId64, (int64_t) v);
        else
                snprintf(buf, 32, "%" PRIu64, v);
}

/* Reports condition i of res when its numbers do not fit the argument on that ABI; true when it did. */
static bool check_arg_cond_width(Ctx *c, const PolicyResource *res, size_t i, const char *syscall,
                                 uint32_t arch) {
        const PolicyArgCond *cond = &res->args[i];
        SyscallArgWidth w[6];
        const char *what;
        char num[32];

        if (cond->index > 5 || syscall_arg_widths(arch, syscall, w) < 0 ||
            policy_arg_cond_fits(cond, w[cond->index]))
                return false;
        what = cond->op == POLICY_ARG_MASKED_EQ &&
                               !policy_arg_cond_fits(&(PolicyArgCond) { .op = cond->op, .mask = cond->mask },
                                                     w[cond->index])
                       ? "mask"
                       : "value";
        format_number(num, streq(what, "mask") ? cond->mask : cond->value);
        err_arg_cond(c, res, i, what,
                     "%s %s does not fit argument %u of %s on %s, %s (the kernel reads no more)", what, num,
                     cond->index, syscall, arch_label(arch), width_type_name(w[cond->index]));
        return true;
}

/* Every condition of an args resource must be in range for the argument it compares, in every syscall
 * of the rule on every architecture of the policy: the kernel filter and the supervisor compare what the
 * kernel reads (see forgeone.policy(5)). */
static void check_rule_arg_widths(Ctx *c, const PolicyRule *rule, const Expanded *list, size_t n,
                                  const char *res_key) {
        const Policy *p = c->p;

        for (size_t a = 0; a < p->n_arches; a++)
                if (!syscall_arg_widths_known(p->arches[a])) {
                        push_key(c, res_key);
                        err(c, "argument conditions compare what the kernel reads, and ForgeOne knows the "
                            "argument widths of x86_64 and x86 only, not of %s",
                            arch_label(p->arches[a]));
                        pop(c);
                        return;
                }

        for (size_t r = 0; r < rule->n_resources; r++) {
                const PolicyResource *res = &p->resources[rule->resources[r]];

                for (size_t i = 0; i < res->n_args; i++) {
                        bool reported = false;

                        for (size_t k = 0; k < n && !reported; k++)
                                for (size_t a = 0; a < p->n_arches && !reported; a++)
                                        reported = check_arg_cond_width(c, res, i, list[k].name,
                                                                        p->arches[a]);
                }
        }
}

static void check_rule_objects(Ctx *c, const PolicyRule *rule, const Expanded *list, size_t n,
                               const char *res_key) {
        const Policy *p = c->p;
        PolicyResourceType type = _POLICY_RESOURCE_TYPE_INVALID;
        unsigned access = 0;
        const char *first_name = NULL;

        if (rule->verdict == POLICY_VERDICT_EMULATE)
                for (size_t i = 0; i < n; i++) {
                        const SyscallInfo *info = syscall_info_lookup(list[i].name);

                        if (!info || !info->emulable) {
                                err_syscall(c, list[i].origin,
                                            "syscall \"%s\" cannot be emulated (the supervisor performs "
                                            "only the open, stat, access, readlink, connect, send, "
                                            "directory entry and attribute families)",
                                            list[i].name);
                                return;
                        }
                }
        if (rule->n_resources == 0)
                return;

        for (size_t i = 0; i < rule->n_resources; i++) {
                const PolicyResource *r = &p->resources[rule->resources[i]];

                if (r->type < 0)
                        return; /* already reported where it is defined */
                if (type >= 0 && r->type != type) {
                        push_key(c, res_key);
                        err(c, "resources \"%s\" (%s) and \"%s\" (%s) are of different types; a rule's "
                            "resources must all be path, all network or all args resources", first_name,
                            policy_resource_type_to_string(type), r->name,
                            policy_resource_type_to_string(r->type));
                        pop(c);
                        return;
                }
                type = r->type;
                first_name = r->name;
                access |= r->access;
        }

        if (type == POLICY_RESOURCE_PATH || type == POLICY_RESOURCE_NETWORK) {
                bool (*takes)(const char *) =
                        type == POLICY_RESOURCE_PATH ? syscall_has_path : syscall_has_sockaddr;
                const char *what = type == POLICY_RESOURCE_PATH ? "a path" : "a socket address";
                size_t bad = SIZE_MAX, n_bad = 0;

                for (size_t i = 0; i < n; i++)
                        if (!takes(list[i].name)) {
                                if (bad == SIZE_MAX)
                                        bad = i;
                                n_bad++;
                        }
                if (n_bad == n && n > 0) {
                        push_key(c, res_key);
                        err(c, "none of the rule's syscalls takes %s, so %s resource \"%s\" can never match",
                            what, policy_resource_type_to_string(type), first_name);
                        pop(c);
                        return;
                }
                if (bad != SIZE_MAX) {
                        err_syscall(c, list[bad].origin,
                                    "syscall \"%s\" takes no %s, but the rule's resource \"%s\" is a %s "
                                    "resource (%zu of the rule's syscalls take none; put them in a rule "
                                    "without this resource)", list[bad].name, what + 2, first_name,
                                    policy_resource_type_to_string(type), n_bad);
                        return;
                }
        }

        if (type == POLICY_RESOURCE_PATH)
                check_rule_access(c, rule, list, n, access);
        if (type == POLICY_RESOURCE_ARGS)
                check_rule_arg_widths(c, rule, list, n, res_key);
}

static int parse_rule_resource_name(Ctx *c, const RuleCtx *rc, json_object *v) {
        const char *s = get_nonempty_string(c, v);
        int idx;

        if (!s)
                return -EINVAL;
        idx = name_index_find(rc->resources, rc->n_resources, s);
        if (idx < 0) {
                const char **names = calloc(rc->n_resources + 1, sizeof(char *));
                _cleanup_free_ char *hint = NULL;

                for (size_t i = 0; names && i < rc->n_resources; i++)
                        names[i] = rc->resources[i].name;
                hint = names ? did_you_mean(suggest_from(s, names)) : NULL;
                free(names);
                err(c, "unknown resource \"%s\"%s", s, strempty(hint));
                return -ENOENT;
        }
        return idx;
}

static void parse_rule(Ctx *c, const RuleCtx *rc, json_object *o, PolicyRule *rule) {
        static const char *const keys[] = {
                "id", "description", "identity", "syscalls", "resource", "resources", "action", "errno",
                "min_trust", NULL,
        };
        json_object *v, *res_single = NULL, *res_multi = NULL;
        ExpandedList expanded = {};
        Expanded *list;
        size_t n_list;
        bool syscalls_ok = false, verdict_ok = false, resources_ok = true;

        *rule = (PolicyRule) {
                .identity = POLICY_IDENTITY_ANY,
                .min_trust = -1,
                .verdict = _POLICY_VERDICT_INVALID,
        };
        {
                _cleanup_free_ char *ptr = json_pointer(c);
                size_t off = 0;

                if (ptr && json_positions_lookup(c->pos, ptr, &off, NULL) >= 0)
                        json_positions_line_column(c->pos, off, &rule->line, &rule->column);
        }
        if (!expect(c, o, json_type_object))
                return;
        check_keys(c, o, keys, "a rule");

        if (!json_object_object_get_ex(o, "id", &v))
                err(c, "missing required key \"id\" (the rule's name in every log record)");
        else {
                const char *s;

                push_key(c, "id");
                s = get_nonempty_string(c, v);
                if (s) {
                        if (!name_valid(s))
                                err(c, "rule id \"%s\" must be 1..%d characters of A-Z a-z 0-9 _ . -", s,
                                    POLICY_NAME_MAX);
                        else if (streq(s, "default") || streq(s, "builtin") || streq(s, "bad-arch") ||
                                 streq(s, "unknown-syscall"))
                                err(c, "rule id \"%s\" is reserved for decisions not made by a rule", s);
                        rule->id = strdup(s);
                        if (!rule->id)
                                c->oom = true;
                }
                pop(c);
        }

        if (json_object_object_get_ex(o, "description", &v)) {
                const char *d;

                push_key(c, "description");
                d = get_string(c, v);
                if (d && !(rule->description = strdup(d)))
                        c->oom = true;
                pop(c);
        }

        if (json_object_object_get_ex(o, "identity", &v)) {
                const char *s;

                push_key(c, "identity");
                s = get_nonempty_string(c, v);
                if (s) {
                        int idx = policy_identity_by_name(c->p, s);

                        if (idx == -ENOENT) {
                                const char **names = calloc(c->p->n_identities + 2, sizeof(char *));
                                _cleanup_free_ char *hint = NULL;

                                for (size_t i = 0; names && i < c->p->n_identities; i++)
                                        names[i] = c->p->identities[i].name;
                                hint = names ? did_you_mean(suggest_from(s, names)) : NULL;
                                free(names);
                                err(c, "unknown identity \"%s\"%s", s, strempty(hint));
                        } else
                                rule->identity = idx;
                }
                pop(c);
        }

        if (!json_object_object_get_ex(o, "action", &v))
                err(c, "missing required key \"action\" (allow, deny, emulate or quarantine)");
        else {
                const char *s;

                push_key(c, "action");
                s = get_string(c, v);
                if (s) {
                        rule->verdict = policy_verdict_from_string(s);
                        if (rule->verdict < 0) {
                                static const char *const verdicts[] = {
                                        "allow", "deny", "emulate", "quarantine", NULL,
                                };
                                _cleanup_free_ char *hint = did_you_mean(suggest_from(s, verdicts));

                                err(c, "unknown action \"%s\"%s", s, strempty(hint));
                        } else
                                verdict_ok = true;
                }
                pop(c);
        }

        if (json_object_object_get_ex(o, "errno", &v)) {
                push_key(c, "errno");
                if (verdict_ok && !verdict_denies(rule->verdict))
                        err_key(c, "\"errno\" is only valid for \"deny\" and \"quarantine\" rules");
                else
                        (void) parse_errno_value(c, v, &rule->errno_value);
                pop(c);
        } else if (verdict_ok && verdict_denies(rule->verdict))
                rule->errno_value = EPERM;

        if (json_object_object_get_ex(o, "min_trust", &v)) {
                int64_t x;

                push_key(c, "min_trust");
                /* On a deny rule, a trust requirement would stop the denial once trust drops:
                 * misbehaving would be rewarded. */
                if (verdict_ok && verdict_denies(rule->verdict))
                        err_key(c, "\"min_trust\" is only valid for \"allow\" and \"emulate\" rules: on a "
                                "%s rule it would stop applying when the workload's trust drops",
                                policy_verdict_to_string(rule->verdict));
                else if (get_int_range(c, v, 0, c->p->trust.maximum, &x))
                        rule->min_trust = (int) x;
                pop(c);
        }

        if (!json_object_object_get_ex(o, "syscalls", &v))
                err(c, "missing required key \"syscalls\" (names and \"@groups\")");
        else {
                push_key(c, "syscalls");
                if (expect(c, v, json_type_array)) {
                        size_t n = json_object_array_length(v);

                        syscalls_ok = true;
                        if (n == 0) {
                                err(c, "is empty: a rule needs at least one syscall or \"@group\"");
                                syscalls_ok = false;
                        }
                        for (size_t i = 0; i < n; i++) {
                                const char *s;
                                size_t before = expanded.n;

                                push_index(c, i);
                                s = get_nonempty_string(c, json_object_array_get_idx(v, i));
                                if (s)
                                        expand_syscall_entry(c, s, i, &expanded);
                                if (!s || (expanded.n == before && s[0] != '@'))
                                        syscalls_ok = false;
                                pop(c);
                        }
                }
                pop(c);
        }

        (void) json_object_object_get_ex(o, "resource", &res_single);
        (void) json_object_object_get_ex(o, "resources", &res_multi);
        if (res_single && res_multi) {
                push_key(c, "resources");
                err_key(c, "give either \"resource\" or \"resources\", not both");
                pop(c);
                resources_ok = false;
        } else if (res_single) {
                int idx;

                push_key(c, "resource");
                idx = parse_rule_resource_name(c, rc, res_single);
                pop(c);
                if (idx >= 0) {
                        rule->resources = calloc(1, sizeof(int));
                        if (!rule->resources)
                                c->oom = true;
                        else {
                                rule->resources[0] = idx;
                                rule->n_resources = 1;
                        }
                } else
                        resources_ok = false;
        } else if (res_multi) {
                push_key(c, "resources");
                if (!expect(c, res_multi, json_type_array))
                        resources_ok = false;
                else {
                        size_t n = json_object_array_length(res_multi);

                        if (n == 0) {
                                err(c, "is empty: leave \"resources\" out for a rule that matches every "
                                    "call");
                                resources_ok = false;
                        }
                        rule->resources = calloc(MAX(n, (size_t) 1), sizeof(int));
                        if (!rule->resources)
                                c->oom = true;
                        for (size_t i = 0; rule->resources && i < n; i++) {
                                int idx;
                                bool dup = false;

                                push_index(c, i);
                                idx = parse_rule_resource_name(c, rc,
                                                               json_object_array_get_idx(res_multi, i));
                                if (idx < 0)
                                        resources_ok = false;
                                else {
                                        for (size_t j = 0; j < rule->n_resources; j++)
                                                dup = dup || rule->resources[j] == idx;
                                        if (dup)
                                                err(c, "resource \"%s\" is listed twice",
                                                    c->p->resources[idx].name);
                                        else
                                                rule->resources[rule->n_resources++] = idx;
                                }
                                pop(c);
                        }
                }
                pop(c);
        }

        /* Sorted, unique syscall names. */
        list = expanded.items;
        n_list = expanded.n;
        if (n_list > 0) {
                size_t k = 0;

                qsort(list, n_list, sizeof(Expanded), expanded_cmp);
                for (size_t i = 0; i < n_list; i++) {
                        if (k > 0 && streq(list[k - 1].name, list[i].name))
                                continue;
                        list[k++] = list[i];
                }
                n_list = k;

                rule->syscalls = calloc(n_list + 1, sizeof(char *));
                if (!rule->syscalls)
                        c->oom = true;
                for (size_t i = 0; rule->syscalls && i < n_list; i++) {
                        rule->syscalls[i] = strdup(list[i].name);
                        if (!rule->syscalls[i]) {
                                c->oom = true;
                                break;
                        }
                }
        }

        if (syscalls_ok && verdict_ok && resources_ok && n_list > 0)
                check_rule_objects(c, rule, list, n_list, res_single ? "resource" : "resources");

        free(list);
}

static int rule_id_cmp(const void *a, const void *b) {
        const NameIndex *x = a, *y = b;
        int r = strcmp(x->name, y->name);

        return r != 0 ? r : x->index - y->index;
}

static void parse_rules(Ctx *c, json_object *o) {
        _cleanup_free_ NameIndex *res_index = NULL, *ids = NULL;
        RuleCtx rc = {};
        size_t n, n_ids = 0;

        if (!expect(c, o, json_type_array))
                return;
        n = json_object_array_length(o);

        res_index = calloc(MAX(c->p->n_resources, (size_t) 1), sizeof(NameIndex));
        c->p->rules = calloc(MAX(n, (size_t) 1), sizeof(PolicyRule));
        ids = calloc(MAX(n, (size_t) 1), sizeof(NameIndex));
        if (!res_index || !c->p->rules || !ids) {
                c->oom = true;
                return;
        }
        for (size_t i = 0; i < c->p->n_resources; i++)
                res_index[i] = (NameIndex) { .name = c->p->resources[i].name ?: "", .index = (int) i };
        qsort(res_index, c->p->n_resources, sizeof(NameIndex), name_index_cmp);
        rc = (RuleCtx) { .resources = res_index, .n_resources = c->p->n_resources };

        for (size_t i = 0; i < n && !c->oom; i++) {
                PolicyRule *rule = &c->p->rules[c->p->n_rules++];

                push_index(c, i);
                parse_rule(c, &rc, json_object_array_get_idx(o, i), rule);
                pop(c);
                if (rule->id)
                        ids[n_ids++] = (NameIndex) { .name = rule->id, .index = (int) i };
        }

        /* Unique ids: every log record names the rule that decided. */
        qsort(ids, n_ids, sizeof(NameIndex), rule_id_cmp);
        for (size_t i = 1; i < n_ids; i++)
                if (streq(ids[i - 1].name, ids[i].name)) {
                        push_index(c, (size_t) ids[i].index);
                        push_key(c, "id");
                        err(c, "rule id \"%s\" is already used by rules[%d]", ids[i].name, ids[i - 1].index);
                        pop(c);
                        pop(c);
                }
}

/* ---- the document -------------------------------------------------------- */

static void parse_document(Ctx *c, json_object *root) {
        static const char *const keys[] = {
                "version", "name", "description", "default", "architectures", "trust", "identities",
                "resources", "rules", NULL,
        };
        json_object *v;

        if (!expect(c, root, json_type_object))
                return;
        check_keys(c, root, keys, "the policy");

        if (!json_object_object_get_ex(root, "version", &v))
                err(c, "missing required key \"version\" (this is format version %d)",
                    POLICY_FORMAT_VERSION);
        else {
                int64_t x;

                push_key(c, "version");
                if (expect(c, v, json_type_int)) {
                        x = json_object_get_int64(v);
                        if (x != POLICY_FORMAT_VERSION)
                                err(c, "unsupported format version %" PRId64 " (this ForgeOne reads "
                                    "version %d)", x, POLICY_FORMAT_VERSION);
                }
                pop(c);
        }

        if (json_object_object_get_ex(root, "name", &v)) {
                const char *s;

                push_key(c, "name");
                s = get_nonempty_string(c, v);
                if (s) {
                        free(c->p->name);
                        c->p->name = strdup(s);
                        if (!c->p->name)
                                c->oom = true;
                }
                pop(c);
        }

        if (json_object_object_get_ex(root, "description", &v)) {
                const char *s;

                push_key(c, "description");
                s = get_string(c, v);
                if (s && !(c->p->description = strdup(s)))
                        c->oom = true;
                pop(c);
        }

        if (!json_object_object_get_ex(root, "default", &v))
                err(c, "missing required key \"default\" (e.g. { \"action\": \"deny\", \"errno\": "
                    "\"EPERM\" })");
        else {
                push_key(c, "default");
                parse_default(c, v);
                pop(c);
        }

        if (json_object_object_get_ex(root, "architectures", &v)) {
                push_key(c, "architectures");
                parse_architectures(c, v);
                pop(c);
        }

        /* Before identities and rules, whose trust numbers are checked against it. */
        if (json_object_object_get_ex(root, "trust", &v)) {
                push_key(c, "trust");
                parse_trust(c, v);
                pop(c);
        }

        if (json_object_object_get_ex(root, "identities", &v)) {
                push_key(c, "identities");
                parse_identities(c, v);
                pop(c);
        }

        if (json_object_object_get_ex(root, "resources", &v)) {
                push_key(c, "resources");
                parse_resources(c, v);
                pop(c);
        }

        if (!json_object_object_get_ex(root, "rules", &v))
                err(c, "missing required key \"rules\" (an empty array denies everything)");
        else {
                push_key(c, "rules");
                parse_rules(c, v);
                pop(c);
        }
}

static int pending_cmp(const void *a, const void *b) {
        const PendingError *x = a, *y = b;

        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        if (x->column != y->column)
                return x->column < y->column ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int diag_add(PolicyDiagnostics *d, const char *file, unsigned line, unsigned column, char *message) {
        PolicyError *ne;

        if (!d) {
                free(message);
                return 0;
        }
        ne = realloc(d->errors, (d->n_errors + 1) * sizeof(PolicyError));
        if (!ne) {
                free(message);
                return -ENOMEM;
        }
        d->errors = ne;
        d->errors[d->n_errors] = (PolicyError) {
                .file = strdup(file),
                .line = line,
                .column = column,
                .message = message,
        };
        if (!d->errors[d->n_errors].file) {
                free(message);
                return -ENOMEM;
        }
        d->n_errors++;
        return 0;
}

_printf_(5, 6) static int diag_addf(PolicyDiagnostics *d, const char *file, unsigned line, unsigned column,
                                    const char *fmt, ...) {
        va_list ap;
        char *m;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return diag_add(d, file, line, column, m);
}

static char *default_name(const char *file) {
        const char *base = strrchr(file, '/');
        size_t len;

        base = base ? base + 1 : file;
        len = strlen(base);
        if (len > 5 && streq(base + len - 5, ".json"))
                len -= 5;
        return len > 0 ? strndup(base, len) : strdup("policy");
}

/* json-c's strict mode reports text after the document as an "unexpected
 * character"; say what it is when the text before it is a whole document. */
static bool document_ends_before(const char *text, size_t end) {
        _cleanup_(json_tokener_freep) json_tokener *tok = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;

        if (end == 0 || end > INT32_MAX)
                return false;
        tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
        if (!tok)
                return false;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        o = json_tokener_parse_ex(tok, text, (int) end);
        return o && json_tokener_get_error(tok) == json_tokener_success;
}

static int load_string(const char *text, size_t len, const char *name, Policy **ret,
                       PolicyDiagnostics *diag) {
        _cleanup_(json_tokener_freep) json_tokener *tok = NULL;
        _cleanup_(json_object_putp) json_object *root = NULL;
        _cleanup_(json_positions_freep) JsonPositions *pos = NULL;
        _cleanup_(policy_freep) Policy *p = NULL;
        enum json_tokener_error jerr;
        const char *file = name ?: "<string>";
        const char *nul;
        unsigned line, column;
        Ctx c;
        int r;

        if (!text || !ret)
                return -EINVAL;

        /* json-c stops at a NUL byte; the policy must not hide text behind one. */
        nul = memchr(text, 0, len);
        if (nul) {
                json_offset_to_line_column(text, len, (size_t) (nul - text), &line, &column);
                r = diag_addf(diag, file, line, column, "file contains a NUL byte");
                return r < 0 ? r : -EINVAL;
        }
        if (len > INT32_MAX)
                return -EFBIG;

        tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        root = json_tokener_parse_ex(tok, text, (int) len);
        jerr = json_tokener_get_error(tok);
        if (jerr == json_tokener_continue || (jerr == json_tokener_success && !root && len == 0)) {
                json_offset_to_line_column(text, len, len, &line, &column);
                r = diag_addf(diag, file, line, column, "unexpected end of file (JSON document incomplete)");
                return r < 0 ? r : -EINVAL;
        }
        if (jerr != json_tokener_success) {
                size_t end = json_tokener_get_parse_end(tok);

                json_offset_to_line_column(text, len, end, &line, &column);
                r = diag_addf(diag, file, line, column, "JSON syntax error: %s",
                              document_ends_before(text, end) ?
                                      "unexpected text after the end of the document" :
                                      json_tokener_error_desc(jerr));
                return r < 0 ? r : -EINVAL;
        }
        {
                size_t end = json_tokener_get_parse_end(tok);

                while (end < len && strchr(" \t\r\n", text[end]))
                        end++;
                if (end < len) {
                        json_offset_to_line_column(text, len, end, &line, &column);
                        r = diag_addf(diag, file, line, column,
                                      "JSON syntax error: unexpected text after the end of the document");
                        return r < 0 ? r : -EINVAL;
                }
        }

        /* json-c's strict mode still takes a few extensions (single-quoted
         * strings); the scanner does not, and says where. */
        {
                size_t bad = 0;

                r = json_positions_scan(text, len, &pos, &bad);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        json_offset_to_line_column(text, len, bad, &line, &column);
                        r = diag_addf(diag, file, line, column,
                                      "JSON syntax error: not standard JSON here (strings and keys take "
                                      "double quotes)");
                        return r < 0 ? r : -EINVAL;
                }
        }

        p = calloc(1, sizeof(Policy));
        if (!p)
                return -ENOMEM;
        p->path = strdup(file);
        p->name = default_name(file);
        p->arches = calloc(1, sizeof(uint32_t));
        if (!p->path || !p->name || !p->arches)
                return -ENOMEM;
        {
                /* What an auditor compares with `sha256sum FILE`: the bytes as read. */
                uint8_t md[SHA256_DIGEST_SIZE];

                sha256_buffer(text, len, md);
                memcpy(p->digest, "sha256:", 7);
                for (size_t i = 0; i < sizeof md; i++)
                        snprintf(p->digest + 7 + 2 * i, 3, "%02x", md[i]);
        }
        p->arches[0] = seccomp_arch_native();
        p->n_arches = 1;
        p->default_verdict = POLICY_VERDICT_DENY;
        p->default_errno = EPERM;
        p->trust = (PolicyTrust) {
                .initial = 100,
                .maximum = 100,
                .deny_penalty = 5,
                .quarantine_below = 20,
                .recovery_per_minute = 1,
        };

        c = (Ctx) {
                .file = file,
                .text = text,
                .len = len,
                .pos = pos,
                .p = p,
                .arches_valid = true,
        };

        /* Repeated keys first: json-c silently keeps the last one. */
        for (size_t i = 0;; i++) {
                size_t off;
                const char *ptr = json_positions_duplicate(pos, i, &off);
                _cleanup_free_ char *where = NULL;
                char *m;

                if (!ptr)
                        break;
                where = display_from_pointer(ptr);
                if (!where || asprintf(&m, "%s: duplicate key (JSON keeps only the last one; remove or "
                                       "merge the other)", where) < 0) {
                        c.oom = true;
                        break;
                }
                add_error_at_offset(&c, off, true, m);
        }

        parse_document(&c, root);

        r = c.oom ? -ENOMEM : 0;
        if (c.n_errors > 0)
                qsort(c.errors, c.n_errors, sizeof(PendingError), pending_cmp);
        for (size_t i = 0; i < c.n_errors; i++) {
                if (r >= 0)
                        r = diag_add(diag, file, c.errors[i].line, c.errors[i].column, c.errors[i].message);
                else
                        free(c.errors[i].message);
        }
        if (r < 0) {
                free(c.errors);
                return r;
        }
        if (c.n_errors > 0) {
                free(c.errors);
                return -EINVAL;
        }
        free(c.errors);

        *ret = TAKE_PTR(p);
        return 0;
}

static int load_file(const char *path, Policy **ret, PolicyDiagnostics *diag) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        size_t n = 0;
        int r;

        if (!path || !ret)
                return -EINVAL;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = negative_errno();
                (void) diag_addf(diag, path, 0, 0, "cannot open: %s", strerror(-r));
                return r;
        }
        if (fstat(fd, &st) < 0) {
                r = negative_errno();
                (void) diag_addf(diag, path, 0, 0, "cannot stat: %s", strerror(-r));
                return r;
        }
        if (S_ISDIR(st.st_mode)) {
                (void) diag_addf(diag, path, 0, 0, "is a directory, not a policy file");
                return -EISDIR;
        }
        if (st.st_size > (off_t) POLICY_FILE_SIZE_MAX) {
                (void) diag_addf(diag, path, 0, 0, "is larger than %u MiB", POLICY_FILE_SIZE_MAX >> 20);
                return -EFBIG;
        }

        /* Read to EOF rather than trusting st_size (pipes, /proc, files that grow). */
        for (size_t alloc = 0;;) {
                ssize_t k;

                if (n == alloc) {
                        char *nb;

                        alloc = alloc ? alloc * 2 : 64 * 1024;
                        if (alloc > POLICY_FILE_SIZE_MAX + 1)
                                alloc = POLICY_FILE_SIZE_MAX + 1;
                        if (n == alloc) {
                                (void) diag_addf(diag, path, 0, 0, "is larger than %u MiB",
                                                 POLICY_FILE_SIZE_MAX >> 20);
                                return -EFBIG;
                        }
                        nb = realloc(buf, alloc);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                }
                k = read(fd, buf + n, alloc - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        (void) diag_addf(diag, path, 0, 0, "cannot read: %s", strerror(-r));
                        return r;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }

        return load_string(buf ?: "", n, path, ret, diag);
}

/* The first problem of those the load added to diag (from index first) becomes err; the list goes to the
 * caller's diag, or away when it has none. */
static int load_finish(int r, const char *name, PolicyDiagnostics *diag, size_t first, bool own,
                       ForgeError *err) {
        if (r < 0 && diag->n_errors > first) {
                const PolicyError *e = &diag->errors[first];
                size_t more = diag->n_errors - first - 1;
                /* What is wrong is the policy; what could not be read is the system's business. */
                ForgeErrorKind kind =
                        r == -EINVAL || r == -EFBIG ? FORGE_ERROR_POLICY_INVALID : FORGE_ERROR_SYSTEM;

                if (more > 0)
                        (void) forge_error_set_at(err, kind, r, e->file, e->line, e->column,
                                                  "%s (and %zu more error%s)", e->message, more,
                                                  more == 1 ? "" : "s");
                else
                        (void) forge_error_set_at(err, kind, r, e->file, e->line, e->column, "%s",
                                                  e->message);
        } else if (r < 0)
                (void) forge_error_set(err, r, "cannot load policy %s: %m", strempty(name));
        if (own)
                policy_diagnostics_done(diag);
        return r;
}

int policy_load_string(const char *text, size_t len, const char *name, Policy **ret, PolicyDiagnostics *diag,
                       ForgeError *err) {
        PolicyDiagnostics local = {};
        PolicyDiagnostics *d = diag ?: &local;
        size_t first = d->n_errors;

        return load_finish(load_string(text, len, name, ret, d), name ?: "<string>", d, first, !diag, err);
}

int policy_load_file(const char *path, Policy **ret, PolicyDiagnostics *diag, ForgeError *err) {
        PolicyDiagnostics local = {};
        PolicyDiagnostics *d = diag ?: &local;
        size_t first = d->n_errors;

        return load_finish(load_file(path, ret, d), path, d, first, !diag, err);
}
