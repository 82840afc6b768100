/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Path patterns of the policy graph, stored in a trie over path components
 * so that matching a path costs one step per component whatever the number
 * of patterns. Literal components sit in a hash per node, glob components
 * ("*.conf", "sd[a-z]") in a short list, "**" (zero or more components) in
 * a child of its own. Matching is byte-wise and locale-independent, never
 * allocates, and prunes subtrees that cannot beat the best entry so far.
 */

#include <stdbool.h>
#include <stddef.h>

#include "policy-graph-internal.h"

typedef struct PathTrie PathTrie;

PathTrie *path_trie_new(void);
PathTrie *path_trie_free(PathTrie *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(PathTrie *, path_trie_free);

/* pattern: absolute, components separated by '/'. The entry is copied. */
int path_trie_insert(PathTrie *t, const char *pattern, const Entry *e);
/* Sorts entries and computes pruning bounds; call once after the inserts. */
void path_trie_finalize(PathTrie *t);

/* Considers every entry whose pattern matches path (which must pass
 * path_is_normalized()) and whose access fits the query. */
void path_trie_match(const PathTrie *t, const char *path, EvalState *s);

/* Specificity of a pattern: exact paths beat any pattern, then the longer
 * literal prefix wins. */
unsigned path_pattern_specificity(const char *pattern) _pure_;

/* Absolute, without "." or ".." components: a path we can match safely. */
bool path_is_normalized(const char *path) _pure_;

/* Shell-style match of one string: '*', '?', '[a-z]', '[!x]', '[[:digit:]]'
 * and '\' escapes, byte-wise ('/' is an ordinary character here). */
bool glob_match(const char *pattern, const char *s, size_t n) _pure_;
bool glob_is_pattern(const char *s, size_t n) _pure_;
