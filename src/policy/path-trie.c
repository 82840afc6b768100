/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "path-trie.h"

/* Below this many literal children a linear scan beats hashing. */
#define LITERAL_HASH_MIN 8

typedef struct TrieNode TrieNode;

struct TrieNode {
        char *component; /* literal or glob text; NULL for the root and "**" nodes */
        size_t len;
        uint64_t hash;

        TrieNode **literals;
        size_t n_literals, allocated_literals;
        uint32_t *slots; /* open addressing over literals: index + 1, 0 = empty */
        size_t n_slots;  /* power of two, or 0 */

        TrieNode **globs;
        size_t n_globs, allocated_globs;

        TrieNode *starstar; /* "**": the rest of the pattern after zero or more components */

        Entry *entries; /* patterns ending here, highest key first once finalized */
        size_t n_entries, allocated_entries;

        uint64_t max_key; /* highest key in this subtree: prune what cannot win */
};

struct PathTrie {
        TrieNode root;
};

int array_grow(void **array, size_t *allocated, size_t need, size_t elem_size) {
        size_t n;
        void *p;

        if (need <= *allocated)
                return 0;
        n = MAX(need, MAX(*allocated * 2, (size_t) 4));
        if (n > SIZE_MAX / elem_size)
                return -ENOMEM;
        p = realloc(*array, n * elem_size);
        if (!p)
                return -ENOMEM;
        *array = p;
        *allocated = n;
        return 0;
}

int entry_compare_desc(const void *a, const void *b) {
        const Entry *x = a, *y = b;

        return x->key < y->key ? 1 : x->key > y->key ? -1 : 0;
}

static uint64_t hash_bytes(const char *s, size_t n) {
        uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

        for (size_t i = 0; i < n; i++) {
                h ^= (unsigned char) s[i];
                h *= 0x100000001b3ULL;
        }
        return h;
}

static bool class_match(const char *name, size_t len, unsigned char c) {
        /* ASCII only, on purpose: a policy must not mean different things in different locales. */
        bool upper = c >= 'A' && c <= 'Z', lower = c >= 'a' && c <= 'z', digit = c >= '0' && c <= '9';
        bool alpha = upper || lower, print = c >= 0x20 && c < 0x7f;

#define IS(x) (len == strlen(x) && memcmp(name, x, len) == 0)
        if (IS("alpha"))
                return alpha;
        if (IS("digit"))
                return digit;
        if (IS("alnum"))
                return alpha || digit;
        if (IS("upper"))
                return upper;
        if (IS("lower"))
                return lower;
        if (IS("xdigit"))
                return digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (IS("space"))
                return c == ' ' || (c >= '\t' && c <= '\r');
        if (IS("blank"))
                return c == ' ' || c == '\t';
        if (IS("punct"))
                return print && c != ' ' && !alpha && !digit;
        if (IS("print"))
                return print;
        if (IS("graph"))
                return print && c != ' ';
        if (IS("cntrl"))
                return c < 0x20 || c == 0x7f;
#undef IS
        return false;
}

/* p points at '['. Returns the pattern position after the bracket expression, or NULL if it is not
 * terminated (then '[' is an ordinary character, as in fnmatch). */
static const char *bracket_match(const char *p, unsigned char c, bool *ret_matched) {
        const char *q = p + 1;
        bool negate = false, matched = false, first = true;

        if (*q == '!' || *q == '^') {
                negate = true;
                q++;
        }
        for (;;) {
                unsigned char lo, hi;

                if (*q == '\0')
                        return NULL;
                if (*q == ']' && !first) {
                        q++;
                        break;
                }
                first = false;
                if (q[0] == '[' && q[1] == ':') {
                        const char *end = strstr(q + 2, ":]");

                        if (end) {
                                if (class_match(q + 2, (size_t) (end - (q + 2)), c))
                                        matched = true;
                                q = end + 2;
                                continue;
                        }
                }
                if (q[0] == '\\' && q[1])
                        q++;
                lo = hi = (unsigned char) *q++;
                if (q[0] == '-' && q[1] && q[1] != ']') {
                        q++;
                        if (q[0] == '\\' && q[1])
                                q++;
                        hi = (unsigned char) *q++;
                }
                if (c >= lo && c <= hi)
                        matched = true;
        }
        *ret_matched = matched != negate;
        return q;
}

bool glob_match(const char *pattern, const char *s, size_t n) {
        const char *p = pattern, *star_p = NULL;
        size_t i = 0, star_i = 0;

        /* Greedy with backtracking to the last '*': linear for the patterns policies use. */
        while (i < n) {
                if (*p == '*') {
                        while (*p == '*')
                                p++;
                        star_p = p;
                        star_i = i;
                        continue;
                }
                if (*p) {
                        const char *next = NULL;
                        bool ok = false;

                        if (*p == '?') {
                                ok = true;
                                next = p + 1;
                        } else if (*p == '[')
                                next = bracket_match(p, (unsigned char) s[i], &ok);

                        if (!next) {
                                const char *lit = p[0] == '\\' && p[1] ? p + 1 : p;

                                ok = *lit == s[i];
                                next = lit + 1;
                        }
                        if (ok) {
                                p = next;
                                i++;
                                continue;
                        }
                }
                if (!star_p)
                        return false;
                p = star_p;
                i = ++star_i;
        }
        while (*p == '*')
                p++;
        return *p == '\0';
}

bool glob_is_pattern(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (strchr("*?[\\", s[i]) && s[i] != '\0')
                        return true;
        return false;
}

unsigned path_pattern_specificity(const char *pattern) {
        const unsigned exact_bit = 1u << 19, len_max = exact_bit - 1;
        size_t prefix = strcspn(pattern, "*?[\\");

        if (pattern[prefix] == '\0')
                return exact_bit | (unsigned) MIN(prefix, (size_t) len_max);
        return (unsigned) MIN(prefix, (size_t) len_max);
}

bool path_is_normalized(const char *path) {
        const char *p = path;

        if (!path || *p != '/')
                return false;
        for (;;) {
                const char *end;
                size_t len;

                while (*p == '/')
                        p++;
                if (!*p)
                        return true;
                end = strchrnul(p, '/');
                len = (size_t) (end - p);
                if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                p = end;
        }
}

static void node_done(TrieNode *n) {
        for (size_t i = 0; i < n->n_literals; i++) {
                node_done(n->literals[i]);
                free(n->literals[i]);
        }
        for (size_t i = 0; i < n->n_globs; i++) {
                node_done(n->globs[i]);
                free(n->globs[i]);
        }
        if (n->starstar) {
                node_done(n->starstar);
                free(n->starstar);
        }
        free(n->component);
        free(n->literals);
        free(n->slots);
        free(n->globs);
        free(n->entries);
}

PathTrie *path_trie_new(void) {
        return calloc(1, sizeof(PathTrie));
}

PathTrie *path_trie_free(PathTrie *t) {
        if (!t)
                return NULL;
        node_done(&t->root);
        free(t);
        return NULL;
}

static TrieNode *literal_find(const TrieNode *n, const char *s, size_t len, uint64_t hash) {
        if (n->n_slots > 0) {
                size_t mask = n->n_slots - 1;

                for (size_t i = hash & mask;; i = (i + 1) & mask) {
                        uint32_t slot = n->slots[i];
                        TrieNode *c;

                        if (slot == 0)
                                return NULL;
                        c = n->literals[slot - 1];
                        if (c->hash == hash && c->len == len && memcmp(c->component, s, len) == 0)
                                return c;
                }
        }
        for (size_t i = 0; i < n->n_literals; i++) {
                TrieNode *c = n->literals[i];

                if (c->len == len && memcmp(c->component, s, len) == 0)
                        return c;
        }
        return NULL;
}

static int literal_rehash(TrieNode *n) {
        size_t size = 16, mask;
        uint32_t *slots;

        while (size < n->n_literals * 2)
                size *= 2;
        slots = calloc(size, sizeof(uint32_t));
        if (!slots)
                return -ENOMEM;
        mask = size - 1;
        for (size_t j = 0; j < n->n_literals; j++) {
                size_t i = n->literals[j]->hash & mask;

                while (slots[i] != 0)
                        i = (i + 1) & mask;
                slots[i] = (uint32_t) j + 1;
        }
        free(n->slots);
        n->slots = slots;
        n->n_slots = size;
        return 0;
}

static TrieNode *node_new(const char *s, size_t len) {
        TrieNode *c = calloc(1, sizeof(TrieNode));

        if (!c)
                return NULL;
        if (s) {
                c->component = strndup(s, len);
                if (!c->component) {
                        free(c);
                        return NULL;
                }
                c->len = len;
                c->hash = hash_bytes(s, len);
        }
        return c;
}

static int child_get(TrieNode *n, const char *s, size_t len, TrieNode **ret) {
        TrieNode *c;
        int r;

        if (len == 2 && s[0] == '*' && s[1] == '*') {
                if (!n->starstar) {
                        n->starstar = node_new(NULL, 0);
                        if (!n->starstar)
                                return -ENOMEM;
                }
                *ret = n->starstar;
                return 0;
        }

        if (glob_is_pattern(s, len)) {
                for (size_t i = 0; i < n->n_globs; i++)
                        if (n->globs[i]->len == len && memcmp(n->globs[i]->component, s, len) == 0) {
                                *ret = n->globs[i];
                                return 0;
                        }
                r = ARRAY_GROW(n->globs, n->allocated_globs, n->n_globs + 1);
                if (r < 0)
                        return r;
                c = node_new(s, len);
                if (!c)
                        return -ENOMEM;
                n->globs[n->n_globs++] = c;
                *ret = c;
                return 0;
        }

        c = literal_find(n, s, len, hash_bytes(s, len));
        if (c) {
                *ret = c;
                return 0;
        }
        if (n->n_literals >= UINT32_MAX - 1)
                return -E2BIG;
        r = ARRAY_GROW(n->literals, n->allocated_literals, n->n_literals + 1);
        if (r < 0)
                return r;
        c = node_new(s, len);
        if (!c)
                return -ENOMEM;
        n->literals[n->n_literals++] = c;
        if (n->n_literals > LITERAL_HASH_MIN && n->n_literals * 2 > n->n_slots) {
                r = literal_rehash(n);
                if (r < 0)
                        return r;
        } else if (n->n_slots > 0) {
                size_t mask = n->n_slots - 1, i = c->hash & mask;

                while (n->slots[i] != 0)
                        i = (i + 1) & mask;
                n->slots[i] = (uint32_t) n->n_literals;
        }
        *ret = c;
        return 0;
}

int path_trie_insert(PathTrie *t, const char *pattern, const Entry *e) {
        TrieNode *n = &t->root;
        const char *p = pattern;
        int r;

        if (!pattern || *pattern != '/')
                return -EINVAL;
        for (;;) {
                const char *end;

                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                end = strchrnul(p, '/');
                r = child_get(n, p, (size_t) (end - p), &n);
                if (r < 0)
                        return r;
                p = end;
        }
        r = ARRAY_GROW(n->entries, n->allocated_entries, n->n_entries + 1);
        if (r < 0)
                return r;
        n->entries[n->n_entries++] = *e;
        return 0;
}

static uint64_t node_finalize(TrieNode *n) {
        uint64_t m = 0;

        if (n->n_entries > 0) {
                qsort(n->entries, n->n_entries, sizeof(Entry), entry_compare_desc);
                m = n->entries[0].key;
        }
        for (size_t i = 0; i < n->n_literals; i++)
                m = MAX(m, node_finalize(n->literals[i]));
        for (size_t i = 0; i < n->n_globs; i++)
                m = MAX(m, node_finalize(n->globs[i]));
        if (n->starstar)
                m = MAX(m, node_finalize(n->starstar));
        n->max_key = m;
        return m;
}

void path_trie_finalize(PathTrie *t) {
        node_finalize(&t->root);
}

static void entries_consider(const TrieNode *n, EvalState *s) {
        for (size_t i = 0; i < n->n_entries; i++) {
                const Entry *e = &n->entries[i];

                if (e->key <= s->best_key)
                        break; /* sorted: nothing further can win */
                if (entry_access_matches(e, s->query->access))
                        eval_consider(s, e);
        }
}

static void node_match(const TrieNode *n, const char *p, EvalState *s);

static void starstar_match(const TrieNode *ss, const char *p, EvalState *s) {
        if (ss->max_key <= s->best_key)
                return;
        if (ss->n_literals == 0 && ss->n_globs == 0 && !ss->starstar) {
                /* "**" ends the pattern: this directory and everything below. */
                entries_consider(ss, s);
                return;
        }
        /* Zero or more components, then the rest of the pattern. */
        for (;;) {
                node_match(ss, p, s);
                while (*p == '/')
                        p++;
                if (!*p)
                        return;
                p = strchrnul(p, '/');
        }
}

static void node_match(const TrieNode *n, const char *p, EvalState *s) {
        const TrieNode *c;
        const char *end;
        size_t len;

        if (n->max_key <= s->best_key)
                return;
        while (*p == '/')
                p++;
        if (n->starstar)
                starstar_match(n->starstar, p, s);
        if (!*p) {
                entries_consider(n, s);
                return;
        }
        end = strchrnul(p, '/');
        len = (size_t) (end - p);
        c = literal_find(n, p, len, n->n_slots > 0 ? hash_bytes(p, len) : 0);
        if (c)
                node_match(c, end, s);
        for (size_t i = 0; i < n->n_globs; i++)
                if (glob_match(n->globs[i]->component, p, len))
                        node_match(n->globs[i], end, s);
}

void path_trie_match(const PathTrie *t, const char *path, EvalState *s) {
        node_match(&t->root, path, s);
}
