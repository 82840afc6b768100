/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Enum <-> string conversions from one table, in the style of systemd's
 * DEFINE_STRING_TABLE_LOOKUP. For an enum whose values are 0..N-1 and a
 * table `static const char *const NAME_table[N] = { [VALUE] = "text", ... }`:
 *
 *   DEFINE_STRING_TABLE_LOOKUP(NAME, Type)
 *
 * defines `const char *NAME_to_string(Type)` (NULL when out of range or
 * unnamed) and `Type NAME_from_string(const char *)` (-EINVAL for NULL or
 * an unknown name). The _TO_STRING / _FROM_STRING variants define one of
 * the two; the PRIVATE_ variants make them static.
 */

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "forgeone/macro.h"

#define _DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type, scope)                                           \
        scope const char *name##_to_string(type i) {                                                      \
                if ((long) i < 0 || (size_t) i >= ELEMENTSOF(name##_table))                              \
                        return NULL;                                                                       \
                return name##_table[i];                                                                    \
        }

#define _DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type, scope)                                         \
        scope type name##_from_string(const char *s) {                                                    \
                if (!s)                                                                                    \
                        return (type) -EINVAL;                                                             \
                for (size_t i = 0; i < ELEMENTSOF(name##_table); i++)                                      \
                        if (name##_table[i] && strcmp(name##_table[i], s) == 0)                            \
                                return (type) i;                                                           \
                return (type) -EINVAL;                                                                     \
        }

#define DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type) _DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type, )
#define DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type)                                                 \
        _DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type, )
#define DEFINE_STRING_TABLE_LOOKUP(name, type)                                                             \
        DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type)                                                   \
        DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type)

#define DEFINE_PRIVATE_STRING_TABLE_LOOKUP_TO_STRING(name, type)                                           \
        _DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type, static)
#define DEFINE_PRIVATE_STRING_TABLE_LOOKUP_FROM_STRING(name, type)                                         \
        _DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type, static)
#define DEFINE_PRIVATE_STRING_TABLE_LOOKUP(name, type)                                                     \
        DEFINE_PRIVATE_STRING_TABLE_LOOKUP_TO_STRING(name, type)                                           \
        DEFINE_PRIVATE_STRING_TABLE_LOOKUP_FROM_STRING(name, type)
