/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>

#include "entry-table.h"

typedef struct Slot {
        EntryTableKey key;
        uint32_t start, count; /* count 0: empty slot */
} Slot;

struct EntryTable {
        Slot *slots;
        size_t mask;
        Entry *entries;
};

static int key_compare(const EntryTableKey *x, const EntryTableKey *y) {
        if (x->c != y->c)
                return x->c < y->c ? -1 : 1;
        if (x->a != y->a)
                return x->a < y->a ? -1 : 1;
        if (x->b != y->b)
                return x->b < y->b ? -1 : 1;
        return 0;
}

static int item_compare(const void *a, const void *b) {
        const EntryTableItem *x = a, *y = b;
        int r = key_compare(&x->key, &y->key);

        return r != 0 ? r : entry_compare_desc(&x->entry, &y->entry);
}

static size_t key_hash(const EntryTableKey *k) {
        uint64_t h = k->a * 0x9e3779b97f4a7c15ULL;

        h ^= (k->b + 0x632be59bd9b4e019ULL) * 0xc2b2ae3d27d4eb4fULL;
        h ^= (uint64_t) k->c * 0x165667b19e3779f9ULL;
        h ^= h >> 29;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 32;
        return (size_t) h;
}

EntryTable *entry_table_free(EntryTable *t) {
        if (!t)
                return NULL;
        free(t->slots);
        free(t->entries);
        free(t);
        return NULL;
}

int entry_table_build(EntryTableItem *items, size_t n_items, EntryTable **ret) {
        _cleanup_(entry_table_freep) EntryTable *t = NULL;
        size_t n_keys = 0, size = 8;

        if (n_items >= UINT32_MAX)
                return -E2BIG;

        qsort_safe(items, n_items, sizeof(EntryTableItem), item_compare);
        for (size_t i = 0; i < n_items; i++)
                if (i == 0 || key_compare(&items[i - 1].key, &items[i].key) != 0)
                        n_keys++;
        while (size < n_keys * 2)
                size *= 2;

        t = calloc(1, sizeof(EntryTable));
        if (!t)
                return -ENOMEM;
        t->slots = calloc(size, sizeof(Slot));
        t->entries = calloc(MAX(n_items, (size_t) 1), sizeof(Entry));
        if (!t->slots || !t->entries)
                return -ENOMEM;
        t->mask = size - 1;

        for (size_t i = 0; i < n_items;) {
                size_t j = i, s;

                while (j < n_items && key_compare(&items[i].key, &items[j].key) == 0) {
                        t->entries[j] = items[j].entry;
                        j++;
                }
                for (s = key_hash(&items[i].key) & t->mask; t->slots[s].count > 0; s = (s + 1) & t->mask)
                        ;
                t->slots[s] =
                        (Slot) { .key = items[i].key, .start = (uint32_t) i, .count = (uint32_t) (j - i) };
                i = j;
        }

        *ret = TAKE_PTR(t);
        return 0;
}

const Entry *entry_table_lookup(const EntryTable *t, const EntryTableKey *key, size_t *ret_n) {
        for (size_t s = key_hash(key) & t->mask; t->slots[s].count > 0; s = (s + 1) & t->mask) {
                const Slot *slot = &t->slots[s];

                if (slot->key.a == key->a && slot->key.b == key->b && slot->key.c == key->c) {
                        *ret_n = slot->count;
                        return t->entries + slot->start;
                }
        }
        *ret_n = 0;
        return NULL;
}
