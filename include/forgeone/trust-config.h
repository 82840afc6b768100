/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The trust configuration, /etc/forgeone/trust.json (forgeone.trust(7)):
 *
 *   { "anchor": "/etc/forgeone/anchor.json", "tcti": "device:/dev/tpmrm0",
 *     "nv_index": "0x01BF0F01", "pcr": 23, "event_log": "/run/log/forgeone/measure.jsonl",
 *     "state_dir": "/var/lib/forgeone/trust", "require_tpm": false }
 *
 * Every member is optional; unknown members are errors (with line and
 * column), so a misspelt "require_tmp" cannot silently leave software mode
 * on. The file's bytes are kept: they are measured like the binaries.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "forgeone/trust.h"

#define TRUST_CONFIG_DEFAULT_PATH "/etc/forgeone/trust.json"
#define TRUST_DEFAULT_ANCHOR      "/etc/forgeone/anchor.json"
#define TRUST_DEFAULT_TCTI        "device:/dev/tpmrm0"
/* Owner range of the TCG handle registry (0x01800000-0x01BFFFFF), near its top: see forgeone.trust(7). */
#define TRUST_DEFAULT_NV_INDEX 0x01BF0F01u
#define TRUST_NV_OWNER_FIRST   0x01800000u
#define TRUST_NV_OWNER_LAST    0x01BFFFFFu
/* PCR 23, "application support": the one PCR nothing at boot extends; see forgeone.trust(7). */
#define TRUST_DEFAULT_PCR       23u
#define TRUST_PCR_MAX           23u
#define TRUST_DEFAULT_EVENT_LOG "/run/log/forgeone/measure.jsonl"
#define TRUST_DEFAULT_STATE_DIR "/var/lib/forgeone/trust"

struct TrustConfig {
        char *path; /* the file read; NULL when the defaults apply because none exists */
        char *data; /* its bytes (NULL with path) */
        size_t size;
        char *anchor;
        char *tcti;
        uint32_t nv_index;
        unsigned pcr;
        char *event_log;
        char *state_dir;
        bool require_tpm;
};

/* path NULL: $FORGEONE_TRUST_CONFIG if set, else TRUST_CONFIG_DEFAULT_PATH. Only the default path may be
 * missing (then every setting has its default); a file named explicitly must exist. */
int trust_config_load(const char *path, TrustConfig **ret, ForgeError *err);
/* The same from text; name is used in messages and as path. */
int trust_config_parse(const char *data, size_t size, const char *name, TrustConfig **ret, ForgeError *err);
TrustConfig *trust_config_free(TrustConfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(TrustConfig *, trust_config_free);
