/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forgeone/json-position.h"

/* Every value in file order. Pointers live in one arena (no allocation per value) and a hash table
 * finds the last value of a pointer: loading a policy scans every file once, so the scan, not the
 * lookups, is what costs. */
typedef struct JsonPosEntry {
        uint32_t pointer; /* offset of the NUL-terminated pointer in the arena */
        uint32_t hash;
        uint32_t key_offset;
        uint32_t value_offset;
} JsonPosEntry;

typedef struct JsonDup {
        char *pointer;
        size_t key_offset;
} JsonDup;

struct JsonPositions {
        JsonPosEntry *entries; /* file order (increasing value_offset) */
        size_t n_entries, n_alloc;
        char *arena;
        size_t arena_size, arena_alloc;
        uint32_t *slots; /* open addressing, power of two: entry index + 1 of a pointer's last value; 0 free */
        size_t n_slots;
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
        char *path; /* the current value's pointer */
        size_t path_len, path_alloc;
        char *key; /* decoded member name: no allocation per key */
} Scanner;

#define MAX_DEPTH 256

JsonPositions *json_positions_free(JsonPositions *p) {
        if (!p)
                return NULL;
        free(p->entries);
        free(p->arena);
        free(p->slots);
        for (size_t i = 0; i < p->n_dups; i++)
                free(p->dups[i].pointer);
        free(p->dups);
        free(p->line_starts);
        free(p);
        return NULL;
}

static uint32_t pointer_hash(const char *s) {
        uint32_t h = 2166136261u; /* FNV-1a */

        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * 16777619u;
        return h;
}

static const char *entry_pointer(const JsonPositions *p, const JsonPosEntry *e) {
        return p->arena + e->pointer;
}

static bool grow(void **data, size_t *alloc, size_t need, size_t elem, size_t min) {
        size_t na;
        void *nd;

        if (need <= *alloc)
                return true;
        na = MAX(MAX(*alloc * 2, need), min);
        nd = realloc(*data, na * elem);
        if (!nd)
                return false;
        *data = nd;
        *alloc = na;
        return true;
}

/* Appends one reference token to the scanner's current pointer; returns the old length to restore. */
static int path_push(Scanner *s, const char *token, bool escape, size_t *ret_saved) {
        size_t n = strlen(token), extra = 0;
        char *o;

        if (escape)
                for (const char *k = token; *k; k++)
                        if (*k == '~' || *k == '/')
                                extra++;
        if (!grow((void **) &s->path, &s->path_alloc, s->path_len + 1 + n + extra + 1, 1, 256))
                return -ENOMEM;
        *ret_saved = s->path_len;
        o = s->path + s->path_len;
        *o++ = '/';
        for (const char *k = token; *k; k++) {
                if (escape && *k == '~') {
                        *o++ = '~';
                        *o++ = '0';
                } else if (escape && *k == '/') {
                        *o++ = '~';
                        *o++ = '1';
                } else
                        *o++ = *k;
        }
        *o = 0;
        s->path_len = (size_t) (o - s->path);
        return 0;
}

static void path_pop(Scanner *s, size_t saved) {
        s->path_len = saved;
        s->path[saved] = 0;
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

static int add_entry(Scanner *s, size_t key_offset, size_t value_offset) {
        JsonPositions *p = s->out;
        size_t n = s->path_len + 1;

        if (!grow((void **) &p->entries, &p->n_alloc, p->n_entries + 1, sizeof(JsonPosEntry), 64) ||
            !grow((void **) &p->arena, &p->arena_alloc, p->arena_size + n, 1, 4096))
                return -ENOMEM;
        if (p->arena_size + n > UINT32_MAX)
                return -EFBIG;
        memcpy(p->arena + p->arena_size, s->path, n);
        p->entries[p->n_entries++] = (JsonPosEntry) {
                .pointer = (uint32_t) p->arena_size,
                .key_offset = (uint32_t) key_offset,
                .value_offset = (uint32_t) value_offset,
        };
        p->arena_size += n;
        return 0;
}

static bool is_ws(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void skip_ws(Scanner *s) {
        while (s->pos < s->len && is_ws(s->text[s->pos]))
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

/* At the opening quote. With decode, leaves the decoded string (as json-c decodes it) in s->key, which
 * holds the longest string of the text: decoding never makes a string longer than its escaped form. */
static int scan_string(Scanner *s, bool decode) {
        char *buf = decode ? s->key : NULL;
        size_t o = 0;

        if (s->pos >= s->len || s->text[s->pos] != '"')
                return -EINVAL;
        s->pos++;

        while (s->pos < s->len) {
                char c = s->text[s->pos];

                if (c == '"') {
                        s->pos++;
                        if (buf)
                                buf[o] = 0;
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

static int scan_value(Scanner *s, size_t key_offset, unsigned depth);

/* After an object member or array element: 1 at ',' (another follows), 0 at the closing character,
 * -EINVAL at anything else. */
static int scan_member_end(Scanner *s, char close) {
        skip_ws(s);
        if (s->pos >= s->len)
                return -EINVAL;
        if (s->text[s->pos] == ',') {
                s->pos++;
                return 1;
        }
        if (s->text[s->pos] == close) {
                s->pos++;
                return 0;
        }
        return -EINVAL;
}

static int scan_object(Scanner *s, unsigned depth) {
        s->pos++; /* '{' */
        skip_ws(s);
        if (s->pos < s->len && s->text[s->pos] == '}') {
                s->pos++;
                return 0;
        }
        for (;;) {
                size_t key_offset, saved;
                int r;

                skip_ws(s);
                key_offset = s->pos;
                r = scan_string(s, true);
                if (r < 0)
                        return r;
                skip_ws(s);
                if (s->pos >= s->len || s->text[s->pos] != ':')
                        return -EINVAL;
                s->pos++;
                r = path_push(s, s->key, true, &saved);
                if (r < 0)
                        return r;
                r = scan_value(s, key_offset, depth + 1);
                if (r < 0)
                        return r;
                path_pop(s, saved);
                r = scan_member_end(s, '}');
                if (r <= 0)
                        return r;
        }
}

static int scan_array(Scanner *s, unsigned depth) {
        s->pos++; /* '[' */
        skip_ws(s);
        if (s->pos < s->len && s->text[s->pos] == ']') {
                s->pos++;
                return 0;
        }
        for (size_t i = 0;; i++) {
                char index[24], *d = index + sizeof index - 1;
                size_t saved;
                int r;

                *d = 0;
                for (size_t v = i; d == index + sizeof index - 1 || v > 0; v /= 10)
                        *--d = (char) ('0' + v % 10);
                r = path_push(s, d, false, &saved);
                if (r < 0)
                        return r;
                skip_ws(s);
                r = scan_value(s, SIZE_MAX, depth + 1);
                if (r < 0)
                        return r;
                path_pop(s, saved);
                r = scan_member_end(s, ']');
                if (r <= 0)
                        return r;
        }
}

static int scan_value(Scanner *s, size_t key_offset, unsigned depth) {
        size_t value_offset;
        int r;

        if (depth > MAX_DEPTH)
                return -EINVAL;
        skip_ws(s);
        if (s->pos >= s->len)
                return -EINVAL;
        value_offset = s->pos;

        r = add_entry(s, key_offset == SIZE_MAX ? value_offset : key_offset, value_offset);
        if (r < 0)
                return r;

        switch (s->text[s->pos]) {
        case '{':
                return scan_object(s, depth);
        case '[':
                return scan_array(s, depth);
        case '"':
                return scan_string(s, false);
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

static int dup_cmp_offset(const void *a, const void *b) {
        const JsonDup *x = a, *y = b;

        return x->key_offset < y->key_offset ? -1 : x->key_offset > y->key_offset;
}

static int dup_cmp_pointer_sort(const void *a, const void *b) {
        return strcmp(((const JsonDup *) a)->pointer, ((const JsonDup *) b)->pointer);
}

static int dup_cmp_pointer(const void *key, const void *elem) {
        return strcmp(key, ((const JsonDup *) elem)->pointer);
}

/* sorted: the repeated pointers, sorted by pointer. */
static bool pointer_in_dups(const JsonDup *sorted, size_t n, const char *pointer) {
        return bsearch(pointer, sorted, n, sizeof(JsonDup), dup_cmp_pointer) != NULL;
}

/* A member of an object that is itself a repeated member is not a separate mistake. */
static bool ancestor_duplicated(const JsonDup *sorted, size_t n, const char *pointer) {
        _cleanup_free_ char *copy = strdup(pointer);
        char *slash;

        if (!copy)
                return false;
        while ((slash = strrchr(copy, '/'))) {
                *slash = 0;
                if (pointer_in_dups(sorted, n, copy))
                        return true;
        }
        return false;
}

static void dups_free(JsonDup *d, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(d[i].pointer);
        free(d);
}

/* Indexes every pointer's last value; a pointer seen before is a repeated key somewhere on its path. Only
 * the topmost repeated members are reported, each occurrence after the first, in file order. */
static int index_entries(JsonPositions *p) {
        JsonDup *all = NULL;
        size_t n_all = 0, n_all_alloc = 0;
        uint32_t mask;

        p->n_slots = 64;
        while (p->n_slots < 2 * p->n_entries)
                p->n_slots *= 2;
        p->slots = calloc(p->n_slots, sizeof(uint32_t));
        if (!p->slots)
                return -ENOMEM;
        mask = (uint32_t) p->n_slots - 1;

        for (size_t i = 0; i < p->n_entries; i++) {
                JsonPosEntry *e = &p->entries[i];
                const char *ptr = entry_pointer(p, e);
                uint32_t h;

                e->hash = pointer_hash(ptr);
                for (h = e->hash & mask; p->slots[h] != 0; h = (h + 1) & mask) {
                        const JsonPosEntry *o = &p->entries[p->slots[h] - 1];

                        if (o->hash == e->hash && streq(entry_pointer(p, o), ptr))
                                break;
                }
                if (p->slots[h] != 0) {
                        if (!grow((void **) &all, &n_all_alloc, n_all + 1, sizeof(JsonDup), 8))
                                goto oom;
                        all[n_all].pointer = strdup(ptr);
                        if (!all[n_all].pointer)
                                goto oom;
                        all[n_all++].key_offset = e->key_offset;
                }
                p->slots[h] = (uint32_t) i + 1; /* the last value wins: the one json-c keeps */
        }
        if (n_all == 0)
                return 0;

        qsort(all, n_all, sizeof(JsonDup), dup_cmp_pointer_sort);
        p->dups = calloc(n_all, sizeof(JsonDup));
        if (!p->dups)
                goto oom;
        for (size_t i = 0; i < n_all; i++)
                if (!ancestor_duplicated(all, n_all, all[i].pointer)) {
                        p->dups[p->n_dups] = (JsonDup) { .pointer = strdup(all[i].pointer),
                                                         .key_offset = all[i].key_offset };
                        if (!p->dups[p->n_dups++].pointer)
                                goto oom;
                }
        dups_free(all, n_all);
        qsort(p->dups, p->n_dups, sizeof(JsonDup), dup_cmp_offset);
        return 0;

oom:
        dups_free(all, n_all);
        return -ENOMEM;
}

int json_positions_scan(const char *text, size_t len, JsonPositions **ret, size_t *error_offset) {
        _cleanup_(json_positions_freep) JsonPositions *p = NULL;
        _cleanup_free_ char *path = NULL, *key = NULL;
        size_t k = 1;
        Scanner s;
        int r;

        if (!text || !ret)
                return -EINVAL;
        if (len >= UINT32_MAX) /* offsets are 32 bits: entries stay small, for fewer pages to touch */
                return -EFBIG;
        p = calloc(1, sizeof(JsonPositions));
        key = malloc(len + 1);
        path = calloc(1, 256);
        if (!p || !key || !path)
                return -ENOMEM;
        /* Every value but the first follows one of these: sized once, the arrays are never copied to a
         * larger place as they fill (pages of a first allocation are touched only as far as used). */
        for (size_t i = 0; i < len; i++)
                p->n_alloc += text[i] == ':' || text[i] == ',' || text[i] == '[';
        p->n_alloc++;
        p->entries = malloc(p->n_alloc * sizeof(JsonPosEntry));
        p->arena_alloc = MAX(MIN(2 * len, (size_t) 16 << 20), (size_t) 4096);
        p->arena = malloc(p->arena_alloc);
        if (!p->entries || !p->arena)
                return -ENOMEM;
        s = (Scanner) { .text = text, .len = len, .out = p, .path = path, .path_alloc = 256, .key = key };

        r = scan_value(&s, SIZE_MAX, 0);
        path = s.path; /* path_push() may have moved it */
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

        r = index_entries(p);
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
        for (const char *nl = text; (nl = memchr(nl, '\n', len - (size_t) (nl - text))); nl++) {
                p->line_starts[k++] = (size_t) (nl - text) + 1;
        }

        *ret = TAKE_PTR(p);
        return 0;
}

int json_positions_lookup(const JsonPositions *p, const char *pointer, size_t *ret_value_offset,
                          size_t *ret_key_offset) {
        const JsonPosEntry *found = NULL;
        uint32_t hash, mask;

        if (!p || !pointer || p->n_slots == 0)
                return -ENOENT;
        hash = pointer_hash(pointer);
        mask = (uint32_t) p->n_slots - 1;
        for (uint32_t h = hash & mask; p->slots[h] != 0; h = (h + 1) & mask) {
                const JsonPosEntry *e = &p->entries[p->slots[h] - 1];

                if (e->hash == hash && streq(entry_pointer(p, e), pointer)) {
                        found = e;
                        break;
                }
        }
        if (!found)
                return -ENOENT;
        if (ret_value_offset)
                *ret_value_offset = found->value_offset;
        if (ret_key_offset)
                *ret_key_offset = found->key_offset;
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
