/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Reading the audit back: ForgeOne's records from the journal through the
 * sd-journal API (the local journal, a journal directory or journal files;
 * no private log store), or from files written by `forgeonectl audit
 * export --format json` and by the audit's fallback (JSON lines with the
 * same fields, the shape of `journalctl -o json`). Entries come in the
 * journal's order; nothing here judges them (audit-verify.h does).
 */

#include <stdbool.h>
#include <stdint.h>

#include "forgeone/audit-record.h"
#include "forgeone/error.h"

typedef struct AuditSource {
        const char *directory; /* a journal directory (journalctl -D); NULL: the local journal */
        char **files;          /* journal files (journalctl --file); NULL-terminated, or NULL */
        char **inputs;         /* export/fallback JSON-lines files instead of the journal; or NULL */
} AuditSource;

typedef struct AuditFilter {
        uint64_t since_usec, until_usec; /* journal time; 0: open */
        const char *workload;            /* FORGEONE_WORKLOAD, or NULL */
        const char *verdict;             /* FORGEONE_VERDICT (allow, emulate, deny, quarantine), or NULL */
        const char *run;                 /* FORGEONE_RUN, or NULL */
} AuditFilter;

/* Called per entry in order; it may take the entry's contents (then leave *e empty). A negative return
 * stops the reading and is returned. */
typedef int (*AuditEntryFn)(AuditEntry *e, void *userdata);

/* Every record of a ForgeOne MESSAGE_ID that passes the filter. Entries carry all the journal's fields
 * of the entry (journald's trusted ones too), realtime_usec and the cursor. */
int audit_read(const AuditSource *src, const AuditFilter *f, AuditEntryFn fn, void *userdata,
               ForgeError *err);

/* Parses "2026-05-20 10:00:00", "2026-05-20T10:00:00Z", "2026-05-20", "@SECONDS", or "-1h", "-30min",
 * "-2d" (relative to now), as UTC unless it names its zone; into usec since the epoch. */
int audit_parse_time(const char *s, uint64_t *ret);
#define AUDIT_TIME_MAX 64
/* "2026-05-20T10:00:00.123456Z" into buf. */
char *audit_format_time(uint64_t usec, char buf[static AUDIT_TIME_MAX]);
