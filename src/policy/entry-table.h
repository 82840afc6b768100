/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A static hash from a small fixed-size key to a list of entries, built
 * once and then only read. The policy graph keys network endpoints by
 * (family, prefix length, masked address) and argument rules by (argument
 * index, value they require with "eq"), so a lookup costs one probe per
 * distinct prefix length or argument, not one per rule.
 */

#include <stddef.h>
#include <stdint.h>

#include "policy-graph-internal.h"

typedef struct EntryTableKey {
        uint64_t a, b;
        uint32_t c;
} EntryTableKey;

typedef struct EntryTableItem {
        EntryTableKey key;
        Entry entry;
} EntryTableItem;

typedef struct EntryTable EntryTable;

/* Sorts items in place; each key's entries come back highest key first. */
int entry_table_build(EntryTableItem *items, size_t n_items, EntryTable **ret);
EntryTable *entry_table_free(EntryTable *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(EntryTable *, entry_table_free);

/* The entries stored under key, or NULL (and *ret_n = 0). */
const Entry *entry_table_lookup(const EntryTable *t, const EntryTableKey *key, size_t *ret_n);
