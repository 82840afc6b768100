/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "path-trie.h"

typedef struct TrieNode TrieNode;

/* Probing compares the stored hash first, so a lookup touches one slot line and then only the child that
 * really matches. */
typedef struct LiteralSlot {
        uint64_t hash;
        TrieNode *child; /* NULL: empty */
} LiteralSlot;

/* Hot fields first: a lookup step reads the first line of a node and, on a hash hit, the child's. */
struct TrieNode {
        uint64_t max_key;   /* highest key in this subtree: prune what cannot win */
        LiteralSlot *slots; /* literal children; NULL when none */
        size_t slot_mask;
        TrieNode **globs; /* glob children ("*.conf", "sd[a-z]") */
        size_t n_globs;
        TrieNode *starstar; /* "**": the rest of the pattern after zero or more components */
        Entry *entries;     /* patterns ending here, highest key first once finalized */
        size_t n_entries;

        size_t n_literals, allocated_globs, allocated_entries;
        uint64_t hash;
        size_t len;
        char component[]; /* literal or glob text; empty for the root and "**" nodes */
};

struct PathTrie {
        TrieNode *root;
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

/* Rotate-xor per byte (a short dependency chain: components are scanned on every lookup), then one
 * avalanche so the low bits used for the slot index depend on every byte. */
static inline uint64_t hash_step(uint64_t h, unsigned char c) {
        return ((h << 7) | (h >> 57)) ^ c;
}

static inline uint64_t hash_finish(uint64_t h) {
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        return h;
}

static uint64_t hash_bytes(const char *s, size_t n) {
        uint64_t h = 0;

        for (size_t i = 0; i < n; i++)
                h = hash_step(h, (unsigned char) s[i]);
        return hash_finish(h ^ n);
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
        if (!path || *path != '/')
                return false;
        /* A "." or ".." component always follows a '/': let strstr() find the candidates. */
        for (const char *p = path; (p = strstr(p, "/.")); p += 2) {
                const char *q = p + 2;

                if (*q == '.')
                        q++;
                if (*q == '/' || *q == '\0')
                        return false;
        }
        return true;
}

static void node_free(TrieNode *n) {
        if (!n)
                return;
        for (size_t i = 0; n->slots && i <= n->slot_mask; i++)
                node_free(n->slots[i].child);
        for (size_t i = 0; i < n->n_globs; i++)
                node_free(n->globs[i]);
        node_free(n->starstar);
        free(n->slots);
        free(n->globs);
        free(n->entries);
        free(n);
}

static TrieNode *node_new(const char *s, size_t len) {
        TrieNode *c = calloc(1, sizeof(TrieNode) + len + 1);

        if (!c)
                return NULL;
        memcpy(c->component, s, len);
        c->len = len;
        c->hash = hash_bytes(s, len);
        return c;
}

PathTrie *path_trie_new(void) {
        PathTrie *t = calloc(1, sizeof(PathTrie));

        if (!t)
                return NULL;
        t->root = node_new("", 0);
        if (!t->root) {
                free(t);
                return NULL;
        }
        return t;
}

PathTrie *path_trie_free(PathTrie *t) {
        if (!t)
                return NULL;
        node_free(t->root);
        free(t);
        return NULL;
}

static inline TrieNode *literal_find(const TrieNode *n, const char *s, size_t len, uint64_t hash) {
        if (!n->slots)
                return NULL;
        for (size_t i = hash & n->slot_mask;; i = (i + 1) & n->slot_mask) {
                const LiteralSlot *slot = &n->slots[i];

                if (!slot->child)
                        return NULL;
                if (slot->hash == hash && slot->child->len == len &&
                    memcmp(slot->child->component, s, len) == 0)
                        return slot->child;
        }
}

static void slot_put(LiteralSlot *slots, size_t mask, TrieNode *c) {
        size_t i = c->hash & mask;

        while (slots[i].child)
                i = (i + 1) & mask;
        slots[i] = (LiteralSlot) { .hash = c->hash, .child = c };
}

/* Keeps the load at most one half. */
static int literal_add(TrieNode *n, TrieNode *c) {
        size_t size = n->slots ? n->slot_mask + 1 : 0;

        if ((n->n_literals + 1) * 2 > size) {
                size_t new_size = MAX(size * 2, (size_t) 4);
                LiteralSlot *slots = calloc(new_size, sizeof(LiteralSlot));

                if (!slots)
                        return -ENOMEM;
                for (size_t i = 0; i < size; i++)
                        if (n->slots[i].child)
                                slot_put(slots, new_size - 1, n->slots[i].child);
                free(n->slots);
                n->slots = slots;
                n->slot_mask = new_size - 1;
        }
        slot_put(n->slots, n->slot_mask, c);
        n->n_literals++;
        return 0;
}

static int child_get(TrieNode *n, const char *s, size_t len, TrieNode **ret) {
        TrieNode *c;
        int r;

        if (len == 2 && s[0] == '*' && s[1] == '*') {
                if (!n->starstar) {
                        n->starstar = node_new("", 0);
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
        c = node_new(s, len);
        if (!c)
                return -ENOMEM;
        r = literal_add(n, c);
        if (r < 0) {
                free(c);
                return r;
        }
        *ret = c;
        return 0;
}

int path_trie_insert(PathTrie *t, const char *pattern, const Entry *e) {
        TrieNode *n = t->root;
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
                qsort_safe(n->entries, n->n_entries, sizeof(Entry), entry_compare_desc);
                m = n->entries[0].key;
        }
        for (size_t i = 0; n->slots && i <= n->slot_mask; i++)
                if (n->slots[i].child)
                        m = MAX(m, node_finalize(n->slots[i].child));
        for (size_t i = 0; i < n->n_globs; i++)
                m = MAX(m, node_finalize(n->globs[i]));
        if (n->starstar)
                m = MAX(m, node_finalize(n->starstar));
        n->max_key = m;
        return m;
}

void path_trie_finalize(PathTrie *t) {
        node_finalize(t->root);
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

/* The end of the component at p, and its hash, in one pass. */
static inline const char *component_scan(const char *p, uint64_t *ret_hash) {
        const char *start = p;
        uint64_t h = 0;

        for (; *p && *p != '/'; p++)
                h = hash_step(h, (unsigned char) *p);
        *ret_hash = hash_finish(h ^ (uint64_t) (p - start)); /* exactly hash_bytes(start, p - start) */
        return p;
}

static void node_match(const TrieNode *n, const char *p, EvalState *s);

static void starstar_match(const TrieNode *ss, const char *p, EvalState *s) {
        if (ss->max_key <= s->best_key)
                return;
        if (!ss->slots && ss->n_globs == 0 && !ss->starstar) {
                /* "**" ends the pattern: this directory and everything below. */
                entries_consider(ss, s);
                return;
        }
        /* Zero or more components, then the rest of the pattern. */
        for (;;) {
                uint64_t h;

                node_match(ss, p, s);
                while (*p == '/')
                        p++;
                if (!*p)
                        return;
                p = component_scan(p, &h);
        }
}

/* Walks literal children iteratively and recurses only into glob and "**" children, so the stack depth
 * is bounded by the patterns (policy), not by the number of components of the path (workload). */
static void node_match(const TrieNode *n, const char *p, EvalState *s) {
        for (;;) {
                const TrieNode *c;
                const char *end;
                uint64_t hash;
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
                end = component_scan(p, &hash);
                len = (size_t) (end - p);
                for (size_t i = 0; i < n->n_globs; i++)
                        if (glob_match(n->globs[i]->component, p, len))
                                node_match(n->globs[i], end, s);
                c = literal_find(n, p, len, hash);
                if (!c)
                        return;
                n = c;
                p = end;
        }
}

void path_trie_match(const PathTrie *t, const char *path, EvalState *s) {
        node_match(t->root, path, s);
}
