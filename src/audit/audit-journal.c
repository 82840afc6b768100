/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading the audit back from the journal (sd-journal) or from exported JSON lines. See audit-journal.h. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "forgeone/audit-journal.h"
#include "forgeone/time-util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static bool ours(const AuditEntry *e) {
        return audit_class_from_message_id(audit_entry_get(e, "MESSAGE_ID")) >= 0;
}

static bool passes(const AuditEntry *e, const AuditFilter *f) {
        if (!f)
                return true;
        if (f->since_usec && e->realtime_usec && e->realtime_usec < f->since_usec)
                return false;
        if (f->until_usec && e->realtime_usec && e->realtime_usec > f->until_usec)
                return false;
        if (f->workload && !streq_ptr(audit_entry_get(e, "FORGEONE_WORKLOAD"), f->workload))
                return false;
        if (f->verdict && !streq_ptr(audit_entry_get(e, "FORGEONE_VERDICT"), f->verdict))
                return false;
        if (f->run && !streq_ptr(audit_entry_get(e, "FORGEONE_RUN"), f->run))
                return false;
        return true;
}

static int add_match(sd_journal *j, const char *name, const char *value) {
        _cleanup_free_ char *m = NULL;

        if (asprintf(&m, "%s=%s", name, value) < 0)
                return -ENOMEM;
        return sd_journal_add_match(j, m, 0);
}

static int read_journal(const AuditSource *src, const AuditFilter *f, AuditEntryFn fn, void *userdata,
                        ForgeError *err) {
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        int r;

        if (src && src->files)
                r = sd_journal_open_files(&j, (const char **) src->files, 0);
        else if (src && src->directory)
                r = sd_journal_open_directory(&j, src->directory, 0);
        else
                r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
        if (r < 0)
                return forge_error_set(err, r, "cannot open the journal%s%s: %m",
                                       src && src->directory ? " in " : "",
                                       src && src->directory ? src->directory : "");
        (void) sd_journal_set_data_threshold(j, 0);

        /* Different fields AND, the same field OR: (one of our MESSAGE_IDs) and the filter's fields. */
        for (int c = 0; c < _AUDIT_CLASS_MAX; c++) {
                r = add_match(j, "MESSAGE_ID", audit_class_message_id((AuditClass) c));
                if (r < 0)
                        return forge_error_set(err, r, "cannot match journal entries: %m");
        }
        if (f && f->workload && (r = add_match(j, "FORGEONE_WORKLOAD", f->workload)) < 0)
                return forge_error_set(err, r, "cannot match journal entries: %m");
        if (f && f->verdict && (r = add_match(j, "FORGEONE_VERDICT", f->verdict)) < 0)
                return forge_error_set(err, r, "cannot match journal entries: %m");
        if (f && f->run && (r = add_match(j, "FORGEONE_RUN", f->run)) < 0)
                return forge_error_set(err, r, "cannot match journal entries: %m");

        r = f && f->since_usec ? sd_journal_seek_realtime_usec(j, f->since_usec) : sd_journal_seek_head(j);
        if (r < 0)
                return forge_error_set(err, r, "cannot seek in the journal: %m");

        for (;;) {
                AuditEntry e = {};
                const void *data;
                size_t len;

                r = sd_journal_next(j);
                if (r < 0)
                        return forge_error_set(err, r, "cannot read the journal: %m");
                if (r == 0)
                        return 0;
                r = sd_journal_get_realtime_usec(j, &e.realtime_usec);
                if (r < 0)
                        return forge_error_set(err, r, "cannot read an entry's time: %m");
                if (f && f->until_usec && e.realtime_usec > f->until_usec)
                        return 0;
                (void) sd_journal_get_cursor(j, &e.cursor);
                sd_journal_restart_data(j);
                while ((r = sd_journal_enumerate_data(j, &data, &len)) > 0) {
                        const char *eq = memchr(data, '=', len);
                        char name[256];

                        if (!eq || (size_t) (eq - (const char *) data) >= sizeof name)
                                continue;
                        memcpy(name, data, (size_t) (eq - (const char *) data));
                        name[eq - (const char *) data] = 0;
                        r = audit_entry_add(&e, name, eq + 1, len - (size_t) (eq - (const char *) data) - 1);
                        if (r < 0)
                                break;
                }
                if (r < 0) {
                        audit_entry_done(&e);
                        return forge_error_set(err, r, "cannot read an entry's fields: %m");
                }
                r = passes(&e, f) ? fn(&e, userdata) : 0;
                audit_entry_done(&e);
                if (r < 0)
                        return r;
        }
}

static int read_input(const char *path, const AuditFilter *f, AuditEntryFn fn, void *userdata,
                      ForgeError *err) {
        _cleanup_free_ char *line = NULL;
        size_t alloc = 0, lineno = 0;
        FILE *in;
        ssize_t n;
        int r = 0;

        in = streq(path, "-") ? stdin : fopen(path, "re");
        if (!in)
                return forge_error_set(err, negative_errno(), "cannot open %s: %m", path);
        while ((n = getline(&line, &alloc, in)) >= 0) {
                _cleanup_(json_object_putp) json_object *o = NULL;
                AuditEntry e = {};

                lineno++;
                if (n <= 1)
                        continue;
                o = json_tokener_parse(line);
                if (!o || !json_object_is_type(o, json_type_object)) {
                        r = forge_error_set(err, -EBADMSG,
                                            "%s:%zu: not a JSON object (expected JSON lines, as "
                                            "audit export --format json writes)",
                                            path, lineno);
                        break;
                }
                json_object_object_foreach(o, key, val) {
                        if (streq(key, "__REALTIME_TIMESTAMP")) {
                                e.realtime_usec = strtoull(json_object_get_string(val) ?: "0", NULL, 10);
                                continue;
                        }
                        if (streq(key, "__CURSOR")) {
                                free(e.cursor);
                                e.cursor = strdup(json_object_get_string(val) ?: "");
                                continue;
                        }
                        /* journalctl -o json writes repeated fields as arrays and binary ones as byte
                         * arrays: neither is ever one of ours. */
                        if (!json_object_is_type(val, json_type_string))
                                continue;
                        r = audit_entry_add(&e, key, json_object_get_string(val),
                                            (size_t) json_object_get_string_len(val));
                        if (r < 0)
                                break;
                }
                if (r >= 0 && !e.cursor && asprintf(&e.cursor, "%s:%zu", path, lineno) < 0)
                        r = -ENOMEM;
                if (r >= 0 && ours(&e) && passes(&e, f))
                        r = fn(&e, userdata);
                audit_entry_done(&e);
                if (r < 0)
                        break;
        }
        if (in != stdin)
                fclose(in);
        return r;
}

int audit_read(const AuditSource *src, const AuditFilter *f, AuditEntryFn fn, void *userdata,
               ForgeError *err) {
        int r;

        if (!src || !src->inputs)
                return read_journal(src, f, fn, userdata, err);
        for (char **p = src->inputs; *p; p++) {
                r = read_input(*p, f, fn, userdata, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- time ---- */

int audit_parse_time(const char *s, uint64_t *ret) {
        static const char *const formats[] = {
                "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d",
        };
        char *end;

        if (!s || !*s)
                return -EINVAL;
        if (s[0] == '@') {
                double secs = strtod(s + 1, &end);
                if (end == s + 1 || *end || secs < 0)
                        return -EINVAL;
                *ret = (uint64_t) (secs * 1e6);
                return 0;
        }
        if (s[0] == '-') {
                static const struct {
                        const char *unit;
                        uint64_t usec;
                } units[] = {
                        { "s", 1000000u },    { "sec", 1000000u },  { "m", 60000000u },
                        { "min", 60000000u }, { "h", 3600000000u }, { "d", 86400000000u },
                };
                unsigned long long n = strtoull(s + 1, &end, 10);
                uint64_t now = time_now_usec(CLOCK_REALTIME);

                if (end == s + 1)
                        return -EINVAL;
                FOREACH_ELEMENT (u, units)
                        if (streq(end, u->unit)) {
                                if (n * u->usec > now)
                                        return -ERANGE;
                                *ret = now - n * u->usec;
                                return 0;
                        }
                return -EINVAL;
        }
        FOREACH_ELEMENT (fmt, formats) {
                struct tm tm = {};
                unsigned long usec = 0;
                time_t t;

                end = strptime(s, *fmt, &tm);
                if (!end)
                        continue;
                if (*end == '.') {
                        char frac[7] = "000000";
                        size_t k = 0;
                        for (end++; *end >= '0' && *end <= '9'; end++)
                                if (k < 6)
                                        frac[k++] = *end;
                        usec = strtoul(frac, NULL, 10);
                }
                if (*end == 'Z')
                        end++;
                if (*end)
                        continue;
                t = timegm(&tm);
                if (t < 0)
                        return -ERANGE;
                *ret = (uint64_t) t * 1000000u + usec;
                return 0;
        }
        return -EINVAL;
}

char *audit_format_time(uint64_t usec, char buf[static AUDIT_TIME_MAX]) {
        time_t t = (time_t) (usec / 1000000u);
        struct tm tm;

        if (!gmtime_r(&t, &tm)) {
                snprintf(buf, AUDIT_TIME_MAX, "@%" PRIu64, usec / 1000000u);
                return buf;
        }
        snprintf(buf, AUDIT_TIME_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned) (usec % 1000000u));
        return buf;
}
