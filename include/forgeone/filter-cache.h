/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A cache of compiled seccomp filters. policy_compile() is a pure function of
 * what it reads from the Policy, the identity, the native architecture,
 * libseccomp's version and API level, and the compiler's own source; the key
 * is the SHA-256 of exactly those, so a hit is byte-identical to a fresh
 * compile. Entries live in a directory that must belong to the caller's euid
 * and be writable by nobody else (else the cache is not used); they are
 * written to a temporary file and renamed into place, and carry a SHA-256 of
 * their contents that is checked on every read. Any mismatch, damage or I/O
 * problem means a miss: the caller compiles, and a cache never makes a
 * compile fail.
 */

#include <stdint.h>

#include "forgeone/policy-compile.h"

#define FILTER_CACHE_DEFAULT_DIR "/var/cache/forgeone/filters"
#define FILTER_CACHE_KEY_SIZE    32
#define FILTER_CACHE_MAX_ENTRIES 256 /* a store beyond this removes the oldest written */

/* The key of (p, identity) on this machine and library. */
int filter_cache_key(const Policy *p, int identity, uint8_t ret_key[static FILTER_CACHE_KEY_SIZE]);

/* dir NULL: FILTER_CACHE_DEFAULT_DIR. -ENOENT: no entry; -EPERM: the directory or entry belongs to
 * someone else or others may write it; -EBADMSG: a damaged entry or one for another key. */
int filter_cache_load(const char *dir, const uint8_t key[static FILTER_CACHE_KEY_SIZE], PolicyFilter **ret);

/* Creates dir (0700) when missing; refuses (-EPERM) one others may write. Keeps at most
 * FILTER_CACHE_MAX_ENTRIES entries. */
int filter_cache_store(const char *dir, const uint8_t key[static FILTER_CACHE_KEY_SIZE], const PolicyFilter *f);

/* policy_compile() through the cache in dir (NULL: the default): a valid entry is returned as is,
 * otherwise the policy is compiled and, when the directory is safe, stored. Fails only as
 * policy_compile() fails. */
int filter_cache_compile(const char *dir, const Policy *p, int identity, PolicyFilter **ret);
