/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A map from strings to pointers (the daemon's workloads by id). Keys are
 * not copied: a key must live as long as its entry (it is usually a field
 * of the value). Values are the caller's. Removing the entry an iteration
 * is at is allowed; other changes during an iteration are not. Not
 * thread-safe.
 */

#include <stdbool.h>
#include <stddef.h>

#include "forgeone/macro.h"

typedef struct Hashmap Hashmap;

typedef struct HashmapIter {
        size_t bucket;
        void *next;
} HashmapIter;

#define HASHMAP_ITER_INIT ((HashmapIter) { .bucket = 0, .next = NULL })

int hashmap_new(Hashmap **ret);
/* Frees the map, not the values. */
Hashmap *hashmap_free(Hashmap *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(Hashmap *, hashmap_free);

/* -EEXIST when key is there already. */
int hashmap_put(Hashmap *h, const char *key, void *value);
void *hashmap_get(const Hashmap *h, const char *key);
/* The value removed, or NULL. */
void *hashmap_remove(Hashmap *h, const char *key);
size_t hashmap_size(const Hashmap *h) _pure_;

/* true and the next entry, in no particular order; false at the end. */
bool hashmap_iterate(const Hashmap *h, HashmapIter *i, void **ret_value, const char **ret_key);

#define HASHMAP_FOREACH(v, h, i) for (HashmapIter i = HASHMAP_ITER_INIT; hashmap_iterate((h), &i, (void **) &(v), NULL);)
