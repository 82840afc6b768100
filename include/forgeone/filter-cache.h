/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A cache of compiled seccomp filters. policy_compile() is a pure function of
 * what it reads from the Policy, the identity, the native architecture,
 * libseccomp's version and API level, and the compiler's own sources (the
 * compiler, the (syscall, rule) pairing, the syscall table, groups and
 * argument widths); the key is the SHA-256 of exactly those, so a hit is
 * byte-identical to a fresh compile. Entries live in a directory that must
 * belong to the caller's euid and be writable by nobody else (else the cache
 * is not used); they are written to a temporary file and renamed into place.
 *
 * An entry is used only if its HMAC-SHA256 under this host's random key
 * verifies. The key is FILTER_CACHE_SECRET_NAME in the cache directory
 * (default /var/cache/forgeone/filters/hmac-key): 32 bytes from getrandom(),
 * created 0600 with O_EXCL|O_NOFOLLOW and linked into place, and only read
 * when it is a regular file of the caller's euid, 0600 or stricter, with one
 * link. A workload that can write an entry but not read the key cannot make
 * one that loads; the shipped policies deny /var/cache/forgeone entirely.
 * Any mismatch, damage, unsafe file or I/O problem means a miss: the caller
 * compiles and the entry (or a bad key) is replaced, and a cache never makes
 * a compile fail.
 */

#include <stdint.h>

#include "forgeone/policy-compile.h"

#define FILTER_CACHE_DEFAULT_DIR "/var/cache/forgeone/filters"
#define FILTER_CACHE_SECRET_NAME "hmac-key"
#define FILTER_CACHE_KEY_SIZE    32
#define FILTER_CACHE_MAX_ENTRIES 256 /* a store beyond this removes the oldest written */

/* The key of (p, identity) on this machine and library. */
int filter_cache_key(const Policy *p, int identity, uint8_t ret_key[static FILTER_CACHE_KEY_SIZE]);

/* dir NULL: FILTER_CACHE_DEFAULT_DIR. -ENOENT: no entry; -EPERM: the directory, entry or HMAC key belongs
 * to someone else or others may write it (or read the key); -ELOOP: a symlink; -EBADMSG: a damaged or
 * forged entry, one for another key, or no HMAC key. */
int filter_cache_load(const char *dir, const uint8_t key[static FILTER_CACHE_KEY_SIZE], PolicyFilter **ret);

/* Creates dir (0700) and the HMAC key when missing, replaces a key that is not as it must be; refuses
 * (-EPERM) a directory others may write. Keeps at most FILTER_CACHE_MAX_ENTRIES entries. */
int filter_cache_store(const char *dir, const uint8_t key[static FILTER_CACHE_KEY_SIZE], const PolicyFilter *f);

/* policy_compile() through the cache in dir (NULL: the default): a valid entry is returned as is,
 * otherwise the policy is compiled and, when the directory is safe, stored. Fails only as
 * policy_compile() fails. */
int filter_cache_compile(const char *dir, const Policy *p, int identity, PolicyFilter **ret);
