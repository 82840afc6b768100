/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "forgeone/fs-util.h"
#include "trust-internal.h"

char *trust_hex(const uint8_t digest[32], char buf[static 65]) {
        for (size_t i = 0; i < 32; i++)
                snprintf(buf + 2 * i, 3, "%02x", digest[i]);
        buf[64] = 0;
        return buf;
}

char *trust_digest_to_string(const uint8_t d[static 32], char buf[static 72]) {
        char hex[65];

        snprintf(buf, 72, "sha256:%s", trust_hex(d, hex));
        return buf;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

int trust_digest_parse(const char *s, uint8_t ret[static 32]) {
        uint8_t d[32];

        if (!s || strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64)
                return -EINVAL;
        for (size_t i = 0; i < 32; i++) {
                int hi = unhex(s[7 + 2 * i]), lo = unhex(s[8 + 2 * i]);

                if (hi < 0 || lo < 0)
                        return -EINVAL;
                d[i] = (uint8_t) (hi << 4 | lo);
        }
        memcpy(ret, d, sizeof d);
        return 0;
}

int trust_sha256(const void *p, size_t n, uint8_t ret[static 32]) {
        unsigned len = 0;

        if (EVP_Digest(p, n, ret, &len, EVP_sha256(), NULL) != 1 || len != 32)
                return -EIO;
        return 0;
}

/* ---- JSON ---- */

static int check_duplicates(const char *data, size_t size, JsonPositions **ret_positions, char *why,
                            size_t why_size, size_t *ret_offset) {
        _cleanup_(json_positions_freep) JsonPositions *pos = NULL;
        const char *dup;
        size_t off = SIZE_MAX;
        int r;

        r = json_positions_scan(data, size, &pos, &off);
        if (r < 0) {
                snprintf(why, why_size, "not valid JSON");
                *ret_offset = off;
                return -EBADMSG;
        }
        dup = json_positions_duplicate(pos, 0, &off);
        if (dup) {
                snprintf(why, why_size, "member \"%s\" is given twice", dup);
                *ret_offset = off;
                return -EBADMSG;
        }
        if (ret_positions)
                *ret_positions = TAKE_PTR(pos);
        return 0;
}

int trust_json_parse(const char *data, size_t size, json_object **ret, JsonPositions **ret_positions,
                     char *why, size_t why_size, size_t *ret_offset) {
        _cleanup_(json_object_putp) json_object *j = NULL;
        struct json_tokener *tok;
        enum json_tokener_error jerr;
        size_t end;
        int r;

        *ret_offset = SIZE_MAX;
        if (size > INT_MAX) {
                snprintf(why, why_size, "too large");
                return -EBADMSG;
        }
        if (memchr(data, 0, size)) {
                snprintf(why, why_size, "contains a NUL byte");
                *ret_offset = (size_t) ((const char *) memchr(data, 0, size) - data);
                return -EBADMSG;
        }
        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        j = json_tokener_parse_ex(tok, data, (int) size);
        jerr = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (!j || jerr != json_tokener_success) {
                snprintf(why, why_size, "not valid JSON (%s)",
                         jerr == json_tokener_continue ? "unexpected end" : json_tokener_error_desc(jerr));
                *ret_offset = end;
                return -EBADMSG;
        }
        for (size_t i = end; i < size; i++)
                if (!strchr(" \t\r\n", data[i])) {
                        snprintf(why, why_size, "has bytes after the JSON value");
                        *ret_offset = i;
                        return -EBADMSG;
                }
        r = check_duplicates(data, size, ret_positions, why, why_size, ret_offset);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(j);
        return 0;
}

void trust_json_position(const JsonPositions *pos, const char *pointer, bool key, unsigned *ret_line,
                         unsigned *ret_column) {
        size_t voff = 0, koff = 0;

        *ret_line = *ret_column = 0;
        if (!pos || !pointer || json_positions_lookup(pos, pointer, &voff, &koff) < 0)
                return;
        json_positions_line_column(pos, key ? koff : voff, ret_line, ret_column);
}

int trust_config_fail(ForgeError *err, int r, const char *name, const JsonPositions *pos,
                      const char *pointer, bool key, const char *format, ...) {
        unsigned line, column;
        va_list ap;

        trust_json_position(pos, pointer, key, &line, &column);
        va_start(ap, format);
        r = forge_error_setv(err, FORGE_ERROR_CONFIG_INVALID, r, name, line, column, format, ap);
        va_end(ap);
        return r;
}

/* ---- base64 ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int trust_base64_encode(const void *p, size_t n, char **ret) {
        const uint8_t *s = p;
        char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i += 3) {
                uint32_t v = (uint32_t) s[i] << 16 | (i + 1 < n ? (uint32_t) s[i + 1] << 8 : 0) |
                             (i + 2 < n ? s[i + 2] : 0);

                *o++ = b64[v >> 18 & 63];
                *o++ = b64[v >> 12 & 63];
                *o++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
                *o++ = i + 2 < n ? b64[v & 63] : '=';
        }
        *o = 0;
        *ret = out;
        return 0;
}

int trust_base64_decode(const char *s, size_t n, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ uint8_t *out = malloc(n / 4 * 3 + 3);
        uint32_t v = 0;
        size_t k = 0, len = 0, pad = 0;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *c;

                if (strchr(" \t\r\n", s[i]) && s[i])
                        continue;
                if (s[i] == '=') {
                        pad++;
                        v <<= 6;
                        k++;
                } else {
                        if (pad || !s[i] || !(c = strchr(b64, s[i])))
                                return -EBADMSG;
                        v = v << 6 | (uint32_t) (c - b64);
                        k++;
                }
                if (k == 4) {
                        if (pad > 2)
                                return -EBADMSG;
                        out[len++] = v >> 16 & 0xff;
                        if (pad < 2)
                                out[len++] = v >> 8 & 0xff;
                        if (pad < 1)
                                out[len++] = v & 0xff;
                        k = 0;
                        v = 0;
                        if (pad)
                                pad = 3; /* nothing but whitespace may follow */
                }
        }
        if (k != 0 || len == 0)
                return -EBADMSG;
        *ret = TAKE_PTR(out);
        *ret_size = len;
        return 0;
}

/* ---- files ---- */

int trust_read_file(const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        return trust_read_fd(fd, max, ret, ret_size);
}

int trust_read_fd(int fd, size_t max, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t n = 0;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uint64_t) st.st_size > max)
                return -EFBIG;
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        while (n < (size_t) st.st_size) {
                ssize_t k = read(fd, buf + n, (size_t) st.st_size - n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = n;
        return 0;
}

int trust_write_file_atomic_at(int dir_fd, const char *name, const void *data, size_t size, mode_t mode) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (asprintf(&tmp, ".#%s.%d.tmp", name, (int) getpid()) < 0)
                return -ENOMEM;
        (void) unlinkat(dir_fd, tmp, 0);
        fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return negative_errno();
        r = write_all(fd, data, size);
        if (r >= 0 && fchmod(fd, mode) < 0)
                r = negative_errno();
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        if (r >= 0 && renameat(dir_fd, tmp, dir_fd, name) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlinkat(dir_fd, tmp, 0);
                return r;
        }
        (void) fsync(dir_fd);
        return 0;
}

int trust_write_file_atomic(const char *path, const void *data, size_t size, mode_t mode) {
        _cleanup_free_ char *dir = strdup(path);
        _cleanup_close_ int dfd = -EBADF;
        char *slash;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (slash == dir)
                slash[1] = 0;
        else if (slash)
                *slash = 0;
        else
                strcpy(dir, ".");
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();
        return trust_write_file_atomic_at(dfd, strrchr(path, '/') ? strrchr(path, '/') + 1 : path, data,
                                          size, mode);
}
