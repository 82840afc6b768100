/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "forgeone/fs-util.h"
#include "forgeone/string-table.h"
#include "forgeone/trust-config.h"
#include "forgeone/trust-log.h"
#include "forgeone/trust-tpm.h"
#include "trust-internal.h"

#define LOG_SIZE_MAX (1024u * 1024u * 1024u)

static const char *const trust_event_type_table[_TRUST_EVENT_TYPE_MAX] = {
        [TRUST_EVENT_BINARY] = "binary", [TRUST_EVENT_CONFIG] = "config", [TRUST_EVENT_POLICY] = "policy",
        [TRUST_EVENT_BPF] = "bpf",       [TRUST_EVENT_ANCHOR] = "anchor", [TRUST_EVENT_IMAGE] = "image",
        [TRUST_EVENT_AUDIT] = "audit",
};

DEFINE_STRING_TABLE_LOOKUP(trust_event_type, TrustEventType)

void trust_events_free(TrustEvent *events, size_t n) {
        for (size_t i = 0; events && i < n; i++) {
                free(events[i].name);
                free(events[i].time);
        }
        free(events);
}

static int log_dir_create(const char *log_path) {
        _cleanup_free_ char *dir = strdup(log_path);
        char *slash;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash || slash == dir)
                return 0;
        *slash = 0;
        return mkdir_p(dir, 0755);
}

static int format_record(unsigned pcr, TrustEventType type, const char *name, const uint8_t digest[32],
                         char **ret) {
        _cleanup_(json_object_putp) json_object *j = json_object_new_object();
        char d[72], when[64];
        struct timespec ts;
        struct tm tm;
        const char *s;

        if (!j)
                return -ENOMEM;
        if (clock_gettime(CLOCK_REALTIME, &ts) < 0 || !gmtime_r(&ts.tv_sec, &tm))
                return negative_errno();
        snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);
        if (json_object_object_add(j, "pcr", json_object_new_int((int) pcr)) < 0 ||
            json_object_object_add(j, "digest", json_object_new_string(trust_digest_to_string(digest, d))) <
                    0 ||
            json_object_object_add(j, "type", json_object_new_string(trust_event_type_to_string(type))) <
                    0 ||
            json_object_object_add(j, "name", json_object_new_string(name)) < 0 ||
            json_object_object_add(j, "time", json_object_new_string(when)) < 0)
                return -ENOMEM;
        s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int trust_measure(TrustTpm *tpm, const char *log_path, unsigned pcr, TrustEventType type, const char *name,
                  const uint8_t digest[static 32], ForgeError *err) {
        _cleanup_free_ char *line = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint8_t extended[32];
        size_t len;
        int r;

        if (!tpm)
                return 0;
        if (type < 0 || type >= _TRUST_EVENT_TYPE_MAX || pcr > TRUST_PCR_MAX || !name)
                return -EINVAL;
        r = format_record(pcr, type, name, digest, &line);
        if (r < 0)
                return forge_error_set(err, r, "cannot format the measurement of %s: %s", name,
                                       strerror(-r));
        len = strlen(line);
        if (len + 1 > TRUST_LOG_LINE_MAX)
                return forge_error_set(err, -ENAMETOOLONG,
                                       "the measurement record of %.80s... is longer than %u "
                                       "bytes",
                                       name, TRUST_LOG_LINE_MAX);

        r = log_dir_create(log_path);
        if (r < 0)
                return forge_error_set(err, r, "cannot create the directory of the event log %s: %s",
                                       log_path, strerror(-r));
        fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
        if (fd < 0)
                return forge_error_set(err, negative_errno(), "cannot open the event log %s: %m", log_path);
        if (flock(fd, LOCK_EX) < 0)
                return forge_error_set(err, negative_errno(), "cannot lock the event log %s: %m", log_path);

        r = trust_sha256(line, len, extended);
        if (r < 0)
                return forge_error_set(err, r, "cannot hash the measurement record");
        r = trust_tpm_pcr_extend(tpm, pcr, extended, err);
        if (r < 0)
                return forge_error_prefix(err, r, "measuring %s %s: ", trust_event_type_to_string(type),
                                          name);
        line[len] = '\n';
        r = write_all(fd, line, len + 1);
        if (r >= 0 && fdatasync(fd) < 0)
                r = negative_errno();
        if (r < 0)
                return forge_error_set(
                        err, r,
                        "PCR %u was extended but the record could not be appended to %s (%s): the "
                        "log no longer replays and reports Compromised until the next boot",
                        pcr, log_path, strerror(-r));
        return 1;
}

int trust_measure_data(TrustTpm *tpm, const char *log_path, unsigned pcr, TrustEventType type,
                       const char *name, const void *data, size_t size, ForgeError *err) {
        uint8_t d[32];
        int r;

        if (!tpm)
                return 0;
        r = trust_sha256(data, size, d);
        if (r < 0)
                return forge_error_set(err, r, "cannot hash %s", name);
        return trust_measure(tpm, log_path, pcr, type, name, d, err);
}

/* ---- reading ---- */

/* A line of the event log that is not a record: "LOG:LINE: text", -EBADMSG. */
_printf_(4, 5) static int record_invalid(ForgeError *err, const char *log_path, size_t lineno,
                                         const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = forge_error_setv(err, FORGE_ERROR_SYSTEM, -EBADMSG, log_path, (unsigned) lineno, 0, format, ap);
        va_end(ap);
        return r;
}

static int parse_line(const char *log_path, size_t lineno, const char *line, size_t len, TrustEvent *ev,
                      ForgeError *err) {
        static const char *const known[] = { "pcr", "digest", "type", "name", "time", NULL };
        _cleanup_(json_object_putp) json_object *j = NULL;
        json_object *v;
        char why[256];
        size_t off;
        int64_t pcr;
        int r;

        r = trust_json_parse(line, len, &j, NULL, why, sizeof why, &off);
        if (r < 0)
                return record_invalid(err, log_path, lineno, "not a measurement record: %s", why);
        if (!json_object_is_type(j, json_type_object))
                return record_invalid(err, log_path, lineno, "not a measurement record: not an object");
        json_object_object_foreach(j, key, val) {
                bool ok = false;

                (void) val;
                for (const char *const *k = known; *k; k++)
                        ok = ok || streq(*k, key);
                if (!ok)
                        return record_invalid(err, log_path, lineno,
                                              "unknown member \"%s\" in a measurement record", key);
        }
        if (!json_object_object_get_ex(j, "pcr", &v) || !json_object_is_type(v, json_type_int) ||
            (pcr = json_object_get_int64(v)) < 0 || pcr > TRUST_PCR_MAX)
                return record_invalid(err, log_path, lineno, "\"pcr\" is missing or not 0..%u",
                                      TRUST_PCR_MAX);
        ev->pcr = (unsigned) pcr;
        if (!json_object_object_get_ex(j, "digest", &v) || !json_object_is_type(v, json_type_string) ||
            trust_digest_parse(json_object_get_string(v), ev->digest) < 0)
                return record_invalid(err, log_path, lineno, "\"digest\" is missing or not sha256:<64 hex>");
        if (!json_object_object_get_ex(j, "type", &v) || !json_object_is_type(v, json_type_string) ||
            (ev->type = trust_event_type_from_string(json_object_get_string(v))) < 0)
                return record_invalid(err, log_path, lineno, "\"type\" is missing or unknown");
        if (!json_object_object_get_ex(j, "name", &v) || !json_object_is_type(v, json_type_string))
                return record_invalid(err, log_path, lineno, "\"name\" is missing");
        ev->name = strdup(json_object_get_string(v));
        if (!json_object_object_get_ex(j, "time", &v) || !json_object_is_type(v, json_type_string))
                return record_invalid(err, log_path, lineno, "\"time\" is missing");
        ev->time = strdup(json_object_get_string(v));
        if (!ev->name || !ev->time)
                return -ENOMEM;
        ev->line = lineno;
        return trust_sha256(line, len, ev->extended);
}

static int read_fd(int fd, const char *log_path, TrustEvent **ret, size_t *ret_n, ForgeError *err) {
        _cleanup_free_ char *data = NULL;
        TrustEvent *events = NULL;
        size_t size, n = 0, cap = 0, lineno = 0;
        int r;

        r = trust_read_fd(fd, LOG_SIZE_MAX, &data, &size);
        if (r < 0)
                return forge_error_set(err, r, "cannot read the event log %s: %s", log_path, strerror(-r));

        for (size_t pos = 0; pos < size;) {
                const char *nl = memchr(data + pos, '\n', size - pos);
                size_t len;

                lineno++;
                if (!nl) {
                        trust_events_free(events, n);
                        return record_invalid(err, log_path, lineno,
                                              "the last record has no newline: a write was cut short or "
                                              "the file was edited");
                }
                len = (size_t) (nl - (data + pos));
                if (n == cap) {
                        TrustEvent *e = realloc(events, (cap = cap ? cap * 2 : 64) * sizeof *events);
                        if (!e) {
                                trust_events_free(events, n);
                                return -ENOMEM;
                        }
                        events = e;
                }
                events[n] = (TrustEvent){};
                r = parse_line(log_path, lineno, data + pos, len, &events[n], err);
                n++;
                if (r < 0) {
                        trust_events_free(events, n);
                        return r;
                }
                pos += len + 1;
        }
        *ret = events;
        *ret_n = n;
        return 0;
}

static int open_log_shared(const char *log_path, int *ret_fd, ForgeError *err) {
        _cleanup_close_ int fd = -EBADF;

        fd = open(log_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT) {
                        *ret_fd = -EBADF;
                        return 0;
                }
                return forge_error_set(err, negative_errno(), "cannot open the event log %s: %m", log_path);
        }
        if (flock(fd, LOCK_SH) < 0)
                return forge_error_set(err, negative_errno(), "cannot lock the event log %s: %m", log_path);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int trust_log_read(const char *log_path, TrustEvent **ret, size_t *ret_n, ForgeError *err) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = open_log_shared(log_path, &fd, err);
        if (r < 0)
                return r;
        if (fd < 0) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        return read_fd(fd, log_path, ret, ret_n, err);
}

size_t trust_log_replay(const TrustEvent *events, size_t n, unsigned pcr, uint8_t ret[static 32]) {
        uint8_t v[64];
        size_t k = 0;

        memset(v, 0, 32);
        for (size_t i = 0; i < n; i++) {
                if (events[i].pcr != pcr)
                        continue;
                memcpy(v + 32, events[i].extended, 32);
                (void) trust_sha256(v, 64, v);
                k++;
        }
        memcpy(ret, v, 32);
        return k;
}

int trust_log_verify(TrustTpm *tpm, const char *log_path, unsigned pcr, TrustLogCheck **ret, size_t *ret_n,
                     TrustEvent **ret_events, size_t *ret_n_events, ForgeError *err) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ TrustLogCheck *checks = NULL;
        TrustEvent *events = NULL;
        size_t n = 0, n_checks = 0;
        bool seen[TRUST_PCR_MAX + 1] = {};
        int r;

        if (!tpm)
                return forge_error_set(err, -ENODEV,
                                       "no TPM: there is no PCR to replay the event log against");
        if (pcr > TRUST_PCR_MAX)
                return -EINVAL;
        r = open_log_shared(log_path, &fd, err);
        if (r < 0)
                return r;
        if (fd >= 0) {
                r = read_fd(fd, log_path, &events, &n, err);
                if (r < 0)
                        return r;
        }

        seen[pcr] = true;
        for (size_t i = 0; i < n; i++)
                seen[events[i].pcr] = true;
        checks = calloc(TRUST_PCR_MAX + 1, sizeof *checks);
        if (!checks) {
                trust_events_free(events, n);
                return -ENOMEM;
        }
        for (unsigned p = 0; p <= TRUST_PCR_MAX; p++) {
                TrustLogCheck *c;

                if (!seen[p])
                        continue;
                c = &checks[n_checks++];
                c->pcr = p;
                c->n_records = trust_log_replay(events, n, p, c->replay);
                r = trust_tpm_pcr_read(tpm, p, c->tpm, err);
                if (r < 0) {
                        trust_events_free(events, n);
                        return r;
                }
                c->match = memcmp(c->replay, c->tpm, 32) == 0;
                c->prefix_match = SIZE_MAX;
                if (!c->match) {
                        /* Does a prefix of this PCR's records replay? Then the rest was never extended. */
                        uint8_t v[64];
                        size_t k = 0;

                        memset(v, 0, 32);
                        if (memcmp(v, c->tpm, 32) == 0)
                                c->prefix_match = 0;
                        for (size_t i = 0; i < n && c->prefix_match == SIZE_MAX; i++) {
                                if (events[i].pcr != p)
                                        continue;
                                memcpy(v + 32, events[i].extended, 32);
                                (void) trust_sha256(v, 64, v);
                                k++;
                                if (k < c->n_records && memcmp(v, c->tpm, 32) == 0)
                                        c->prefix_match = k;
                        }
                }
        }
        *ret = TAKE_PTR(checks);
        *ret_n = n_checks;
        if (ret_events) {
                *ret_events = events;
                *ret_n_events = n;
        } else
                trust_events_free(events, n);
        return 0;
}
