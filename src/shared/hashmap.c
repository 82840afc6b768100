/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A chained hash table of string keys (FNV-1a), doubled when the load passes 1. See hashmap.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forgeone/hashmap.h"

typedef struct Entry {
        struct Entry *next;
        const char *key;
        void *value;
        uint64_t hash;
} Entry;

struct Hashmap {
        Entry **buckets;
        size_t n_buckets;
        size_t size;
};

static uint64_t hash_string(const char *s) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

int hashmap_new(Hashmap **ret) {
        Hashmap *h = calloc(1, sizeof *h);

        if (!h)
                return -ENOMEM;
        h->n_buckets = 16;
        h->buckets = calloc(h->n_buckets, sizeof *h->buckets);
        if (!h->buckets) {
                free(h);
                return -ENOMEM;
        }
        *ret = h;
        return 0;
}

Hashmap *hashmap_free(Hashmap *h) {
        if (!h)
                return NULL;
        for (size_t i = 0; i < h->n_buckets; i++)
                for (Entry *e = h->buckets[i], *n; e; e = n) {
                        n = e->next;
                        free(e);
                }
        free(h->buckets);
        free(h);
        return NULL;
}

static Entry **find(const Hashmap *h, const char *key, uint64_t hash) {
        Entry **at = &h->buckets[hash & (h->n_buckets - 1)];

        for (; *at; at = &(*at)->next)
                if ((*at)->hash == hash && streq((*at)->key, key))
                        return at;
        return at;
}

static void grow(Hashmap *h) {
        size_t n = h->n_buckets * 2;
        Entry **b = calloc(n, sizeof *b);

        if (!b)
                return; /* a longer chain is still correct */
        for (size_t i = 0; i < h->n_buckets; i++)
                for (Entry *e = h->buckets[i], *next; e; e = next) {
                        next = e->next;
                        e->next = b[e->hash & (n - 1)];
                        b[e->hash & (n - 1)] = e;
                }
        free(h->buckets);
        h->buckets = b;
        h->n_buckets = n;
}

int hashmap_put(Hashmap *h, const char *key, void *value) {
        uint64_t hash;
        Entry **at, *e;

        if (!h || !key)
                return -EINVAL;
        hash = hash_string(key);
        at = find(h, key, hash);
        if (*at)
                return -EEXIST;
        e = malloc(sizeof *e);
        if (!e)
                return -ENOMEM;
        *e = (Entry) { .key = key, .value = value, .hash = hash };
        *at = e;
        if (++h->size > h->n_buckets)
                grow(h);
        return 0;
}

void *hashmap_get(const Hashmap *h, const char *key) {
        Entry **at;

        if (!h || !key)
                return NULL;
        at = find(h, key, hash_string(key));
        return *at ? (*at)->value : NULL;
}

void *hashmap_remove(Hashmap *h, const char *key) {
        Entry **at, *e;
        void *v;

        if (!h || !key)
                return NULL;
        at = find(h, key, hash_string(key));
        if (!*at)
                return NULL;
        e = *at;
        *at = e->next;
        v = e->value;
        free(e);
        h->size--;
        return v;
}

size_t hashmap_size(const Hashmap *h) {
        return h ? h->size : 0;
}

bool hashmap_iterate(const Hashmap *h, HashmapIter *i, void **ret_value, const char **ret_key) {
        Entry *e = i->next;

        if (!h)
                return false;
        while (!e && i->bucket < h->n_buckets)
                e = h->buckets[i->bucket++];
        if (!e)
                return false;
        /* The next one is found before the caller may remove this one. */
        i->next = e->next;
        if (ret_value)
                *ret_value = e->value;
        if (ret_key)
                *ret_key = e->key;
        return true;
}
