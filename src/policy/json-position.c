/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forgeone/json-position.h"

typedef struct JsonPosEntry {
        char *pointer;
        size_t key_offset;
        size_t value_offset;
} JsonPosEntry;

typedef struct JsonDup {
        char *pointer;
        size_t key_offset;
} JsonDup;

struct JsonPositions {
        JsonPosEntry *entries; /* sorted by (pointer, value_offset) after the scan */
        size_t n_entries, n_alloc;
        JsonDup *dups; /* file order */
        size_t n_dups;
        const char *text;
        size_t len;
        size_t *line_starts; /* offset of the first byte of each line */
        size_t n_lines;
};

typedef struct Scanner {
        const char *text;
        size_t len, pos;
        JsonPositions *out;
} Scanner;

#define MAX_DEPTH 256

JsonPositions *json_positions_free(JsonPositions *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_entries; i++)
                free(p->entries[i].pointer);
        free(p->entries);
        for (size_t i = 0; i < p->n_dups; i++)
                free(p->dups[i].pointer);
        free(p->dups);
        free(p->line_starts);
        free(p);
        return NULL;
}

char *json_pointer_append_key(const char *base, const char *key) {
        size_t bl = strlen(base), extra = 0;
        char *s, *o;

        for (const char *k = key; *k; k++)
                if (*k == '~' || *k == '/')
                        extra++;
        s = malloc(bl + 1 + strlen(key) + extra + 1);
        if (!s)
                return NULL;
        memcpy(s, base, bl);
        o = s + bl;
        *o++ = '/';
        for (const char *k = key; *k; k++) {
                if (*k == '~') {
                        *o++ = '~';
                        *o++ = '0';
                } else if (*k == '/') {
                        *o++ = '~';
                        *o++ = '1';
                } else
                        *o++ = *k;
        }
        *o = 0;
        return s;
}

char *json_pointer_append_index(const char *base, size_t index) {
        char *s;

        if (asprintf(&s, "%s/%zu", base, index) < 0)
                return NULL;
        return s;
}

static int add_entry(Scanner *s, char *pointer, size_t key_offset, size_t value_offset) {
        JsonPositions *p = s->out;

        if (p->n_entries == p->n_alloc) {
                size_t na = MAX(p->n_alloc * 2, (size_t) 64);
                JsonPosEntry *ne = realloc(p->entries, na * sizeof(JsonPosEntry));

                if (!ne) {
                        free(pointer);
                        return -ENOMEM;
                }
                p->entries = ne;
                p->n_alloc = na;
        }
        p->entries[p->n_entries++] = (JsonPosEntry) {
                .pointer = pointer,
                .key_offset = key_offset,
                .value_offset = value_offset,
        };
        return 0;
}

static void skip_ws(Scanner *s) {
        while (s->pos < s->len && strchr(" \t\r\n", s->text[s->pos]) && s->text[s->pos])
                s->pos++;
}

static int hex4(const char *p, unsigned *ret) {
        unsigned v = 0;

        for (int i = 0; i < 4; i++) {
                char c = p[i];

                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= (unsigned) (c - '0');
                else if (c >= 'a' && c <= 'f')
                        v |= (unsigned) (c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        v |= (unsigned) (c - 'A' + 10);
                else
                        return -EINVAL;
        }
        *ret = v;
        return 0;
}

static size_t utf8_put(char *o, unsigned cp) {
        if (cp < 0x80) {
                o[0] = (char) cp;
                return 1;
        }
        if (cp < 0x800) {
                o[0] = (char) (0xc0 | (cp >> 6));
                o[1] = (char) (0x80 | (cp & 0x3f));
                return 2;
        }
        if (cp < 0x10000) {
                o[0] = (char) (0xe0 | (cp >> 12));
                o[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
                o[2] = (char) (0x80 | (cp & 0x3f));
                return 3;
        }
        o[0] = (char) (0xf0 | (cp >> 18));
        o[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
        o[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
        o[3] = (char) (0x80 | (cp & 0x3f));
        return 4;
}

/* At the opening quote. With ret, returns the decoded string (as json-c decodes it). */
static int scan_string(Scanner *s, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t start, o = 0;

        if (s->pos >= s->len || s->text[s->pos] != '"')
                return -EINVAL;
        start = ++s->pos;

        /* Decoding never makes a string longer than its escaped form. */
        if (ret) {
                buf = malloc(s->len - start + 1);
                if (!buf)
                        return -ENOMEM;
        }

        while (s->pos < s->len) {
                char c = s->text[s->pos];

                if (c == '"') {
                        s->pos++;
                        if (ret) {
                                buf[o] = 0;
                                *ret = TAKE_PTR(buf);
                        }
                        return 0;
                }
                if (c != '\\') {
                        if (buf)
                                buf[o++] = c;
                        s->pos++;
                        continue;
                }
                if (s->pos + 1 >= s->len)
                        return -EINVAL;
                c = s->text[s->pos + 1];
                s->pos += 2;
                if (c == 'u') {
                        unsigned cp, lo;

                        if (s->pos + 4 > s->len || hex4(s->text + s->pos, &cp) < 0)
                                return -EINVAL;
                        s->pos += 4;
                        if (cp >= 0xd800 && cp < 0xdc00 && s->pos + 6 <= s->len && s->text[s->pos] == '\\' &&
                            s->text[s->pos + 1] == 'u' && hex4(s->text + s->pos + 2, &lo) >= 0 &&
                            lo >= 0xdc00 && lo < 0xe000) {
                                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                                s->pos += 6;
                        }
                        if (buf)
                                o += utf8_put(buf + o, cp);
                        continue;
                }
                if (!strchr("\"\\/bfnrt", c) || c == 0)
                        return -EINVAL;
                if (buf) {
                        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";

                        buf[o++] = to[strchr(from, c) - from];
                }
        }
        return -EINVAL;
}

static int scan_value(Scanner *s, const char *pointer, size_t key_offset, unsigned depth);

static int scan_object(Scanner *s, const char *pointer, unsigned depth) {
        s->pos++; /* '{' */
        skip_ws(s);
        if (s->pos < s->len && s->text[s->pos] == '}') {
                s->pos++;
                return 0;
        }
        for (;;) {
                _cleanup_free_ char *key = NULL, *child = NULL;
                size_t key_offset;
                int r;

                skip_ws(s);
                key_offset = s->pos;
                r = scan_string(s, &key);
                if (r < 0)
                        return r;
                skip_ws(s);
                if (s->pos >= s->len || s->text[s->pos] != ':')
                        return -EINVAL;
                s->pos++;
                child = json_pointer_append_key(pointer, key);
                if (!child)
                        return -ENOMEM;
                r = scan_value(s, child, key_offset, depth + 1);
                if (r < 0)
                        return r;
                skip_ws(s);
                if (s->pos >= s->len)
                        return -EINVAL;
                if (s->text[s->pos] == ',') {
                        s->pos++;
                        continue;
                }
                if (s->text[s->pos] == '}') {
                        s->pos++;
                        return 0;
                }
                return -EINVAL;
        }
}

static int scan_array(Scanner *s, const char *pointer, unsigned depth) {
        s->pos++; /* '[' */
        skip_ws(s);
        if (s->pos < s->len && s->text[s->pos] == ']') {
                s->pos++;
                return 0;
        }
        for (size_t i = 0;; i++) {
                _cleanup_free_ char *child = json_pointer_append_index(pointer, i);
                int r;

                if (!child)
                        return -ENOMEM;
                skip_ws(s);
                r = scan_value(s, child, SIZE_MAX, depth + 1);
                if (r < 0)
                        return r;
                skip_ws(s);
                if (s->pos >= s->len)
                        return -EINVAL;
                if (s->text[s->pos] == ',') {
                        s->pos++;
                        continue;
                }
                if (s->text[s->pos] == ']') {
                        s->pos++;
                        return 0;
                }
                return -EINVAL;
        }
}

static int scan_value(Scanner *s, const char *pointer, size_t key_offset, unsigned depth) {
        size_t value_offset;
        char *copy;
        int r;

        if (depth > MAX_DEPTH)
                return -EINVAL;
        skip_ws(s);
        if (s->pos >= s->len)
                return -EINVAL;
        value_offset = s->pos;

        copy = strdup(pointer);
        if (!copy)
                return -ENOMEM;
        r = add_entry(s, copy, key_offset == SIZE_MAX ? value_offset : key_offset, value_offset);
        if (r < 0)
                return r;

        switch (s->text[s->pos]) {
        case '{':
                return scan_object(s, pointer, depth);
        case '[':
                return scan_array(s, pointer, depth);
        case '"':
                return scan_string(s, NULL);
        default: {
                /* Numbers and the three literals; json-c has checked the details,
                 * but also takes extensions (single quotes, NaN) we refuse here. */
                size_t n;

                while (s->pos < s->len && s->text[s->pos] && !strchr(",]} \t\r\n", s->text[s->pos]))
                        s->pos++;
                n = s->pos - value_offset;
                if ((n == 4 && memcmp(s->text + value_offset, "true", 4) == 0) ||
                    (n == 5 && memcmp(s->text + value_offset, "false", 5) == 0) ||
                    (n == 4 && memcmp(s->text + value_offset, "null", 4) == 0))
                        return 0;
                if (n == 0 || !strchr("-0123456789", s->text[value_offset]))
                        goto bad;
                for (size_t i = value_offset; i < s->pos; i++)
                        if (!strchr("0123456789+-.eE", s->text[i]))
                                goto bad;
                return 0;
        bad:
                s->pos = value_offset;
                return -EINVAL;
        }
        }
}

static int entry_cmp(const void *a, const void *b) {
        const JsonPosEntry *x = a, *y = b;
        int c = strcmp(x->pointer, y->pointer);

        if (c != 0)
                return c;
        return x->value_offset < y->value_offset ? -1 : x->value_offset > y->value_offset;
}

static int dup_cmp_offset(const void *a, const void *b) {
        const JsonDup *x = a, *y = b;

        return x->key_offset < y->key_offset ? -1 : x->key_offset > y->key_offset;
}

static int dup_cmp_pointer(const void *key, const void *elem) {
        return strcmp(key, ((const JsonDup *) elem)->pointer);
}

/* dups is sorted by pointer (it is collected from the sorted entries). */
static bool pointer_in_dups(const JsonDup *dups, size_t n, const char *pointer) {
        return bsearch(pointer, dups, n, sizeof(JsonDup), dup_cmp_pointer) != NULL;
}

/* A member of an object that is itself a repeated member is not a separate mistake. */
static bool ancestor_duplicated(const JsonDup *dups, size_t n, const char *pointer) {
        _cleanup_free_ char *copy = strdup(pointer);
        char *slash;

        if (!copy)
                return false;
        while ((slash = strrchr(copy, '/'))) {
                *slash = 0;
                if (pointer_in_dups(dups, n, copy))
                        return true;
        }
        return false;
}

static int collect_duplicates(JsonPositions *p) {
        JsonDup *all = NULL;
        size_t n_all = 0;

        for (size_t i = 1; i < p->n_entries; i++) {
                JsonDup *na;

                if (!streq(p->entries[i - 1].pointer, p->entries[i].pointer))
                        continue;
                na = realloc(all, (n_all + 1) * sizeof(JsonDup));
                if (!na)
                        goto oom;
                all = na;
                all[n_all].pointer = strdup(p->entries[i].pointer);
                if (!all[n_all].pointer)
                        goto oom;
                all[n_all++].key_offset = p->entries[i].key_offset;
        }

        /* Keep only the topmost repeated members. */
        p->dups = calloc(MAX(n_all, (size_t) 1), sizeof(JsonDup));
        if (!p->dups)
                goto oom;
        for (size_t i = 0; i < n_all; i++)
                if (!ancestor_duplicated(all, n_all, all[i].pointer))
                        p->dups[p->n_dups++] = (JsonDup) { .pointer = strdup(all[i].pointer),
                                                           .key_offset = all[i].key_offset };
        for (size_t i = 0; i < n_all; i++)
                free(all[i].pointer);
        free(all);
        for (size_t i = 0; i < p->n_dups; i++)
                if (!p->dups[i].pointer)
                        return -ENOMEM;
        qsort(p->dups, p->n_dups, sizeof(JsonDup), dup_cmp_offset);
        return 0;

oom:
        for (size_t i = 0; i < n_all; i++)
                free(all[i].pointer);
        free(all);
        return -ENOMEM;
}

int json_positions_scan(const char *text, size_t len, JsonPositions **ret, size_t *error_offset) {
        _cleanup_(json_positions_freep) JsonPositions *p = NULL;
        Scanner s;
        int r;

        if (!text || !ret)
                return -EINVAL;
        p = calloc(1, sizeof(JsonPositions));
        if (!p)
                return -ENOMEM;
        s = (Scanner) { .text = text, .len = len, .out = p };

        r = scan_value(&s, "", SIZE_MAX, 0);
        if (r >= 0) {
                skip_ws(&s);
                if (s.pos != s.len)
                        r = -EINVAL;
        }
        if (r < 0) {
                if (r == -EINVAL && error_offset)
                        *error_offset = MIN(s.pos, len);
                return r;
        }

        qsort(p->entries, p->n_entries, sizeof(JsonPosEntry), entry_cmp);
        r = collect_duplicates(p);
        if (r < 0)
                return r;

        p->text = text;
        p->len = len;
        p->n_lines = 1;
        for (const char *nl = text; (nl = memchr(nl, '\n', len - (size_t) (nl - text))); nl++)
                p->n_lines++;
        p->line_starts = malloc(p->n_lines * sizeof(size_t));
        if (!p->line_starts)
                return -ENOMEM;
        p->line_starts[0] = 0;
        for (size_t i = 0, k = 1; i < len; i++)
                if (text[i] == '\n')
                        p->line_starts[k++] = i + 1;

        *ret = TAKE_PTR(p);
        return 0;
}

int json_positions_lookup(const JsonPositions *p, const char *pointer, size_t *ret_value_offset,
                          size_t *ret_key_offset) {
        size_t lo = 0, hi, found = SIZE_MAX;

        if (!p || !pointer)
                return -ENOENT;
        hi = p->n_entries;
        /* The last entry with this pointer: the occurrence json-c keeps. */
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(p->entries[mid].pointer, pointer);

                if (c <= 0) {
                        if (c == 0)
                                found = mid;
                        lo = mid + 1;
                } else
                        hi = mid;
        }
        if (found == SIZE_MAX)
                return -ENOENT;
        if (ret_value_offset)
                *ret_value_offset = p->entries[found].value_offset;
        if (ret_key_offset)
                *ret_key_offset = p->entries[found].key_offset;
        return 0;
}

const char *json_positions_duplicate(const JsonPositions *p, size_t i, size_t *ret_key_offset) {
        if (!p || i >= p->n_dups)
                return NULL;
        if (ret_key_offset)
                *ret_key_offset = p->dups[i].key_offset;
        return p->dups[i].pointer;
}

void json_positions_line_column(const JsonPositions *p, size_t offset, unsigned *ret_line,
                                unsigned *ret_column) {
        size_t lo = 0, hi, line;
        unsigned column = 1;

        offset = MIN(offset, p->len);
        hi = p->n_lines;
        /* The last line start <= offset. */
        while (hi - lo > 1) {
                size_t mid = lo + (hi - lo) / 2;

                if (p->line_starts[mid] <= offset)
                        lo = mid;
                else
                        hi = mid;
        }
        line = lo;
        for (size_t i = p->line_starts[line]; i < offset; i++)
                if (((unsigned char) p->text[i] & 0xc0) != 0x80)
                        column++;
        if (ret_line)
                *ret_line = (unsigned) (line + 1);
        if (ret_column)
                *ret_column = column;
}

void json_offset_to_line_column(const char *text, size_t len, size_t offset, unsigned *ret_line,
                                unsigned *ret_column) {
        unsigned line = 1, column = 1;

        offset = MIN(offset, len);
        for (size_t i = 0; i < offset; i++) {
                unsigned char c = (unsigned char) text[i];

                if (c == '\n') {
                        line++;
                        column = 1;
                } else if ((c & 0xc0) != 0x80) /* count characters, not UTF-8 continuation bytes */
                        column++;
        }
        if (ret_line)
                *ret_line = line;
        if (ret_column)
                *ret_column = column;
}
