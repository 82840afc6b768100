/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdio.h>

#include "forgeone/trust-config.h"
#include "trust-internal.h"

#define CONFIG_SIZE_MAX (64u * 1024u)

TrustConfig *trust_config_free(TrustConfig *c) {
        if (!c)
                return NULL;
        free(c->path);
        free(c->data);
        free(c->anchor);
        free(c->tcti);
        free(c->event_log);
        free(c->state_dir);
        free(c);
        return NULL;
}

static int config_new_defaults(TrustConfig **ret) {
        _cleanup_(trust_config_freep) TrustConfig *c = calloc(1, sizeof *c);

        if (!c)
                return -ENOMEM;
        c->anchor = strdup(TRUST_DEFAULT_ANCHOR);
        c->tcti = strdup(TRUST_DEFAULT_TCTI);
        c->event_log = strdup(TRUST_DEFAULT_EVENT_LOG);
        c->state_dir = strdup(TRUST_DEFAULT_STATE_DIR);
        if (!c->anchor || !c->tcti || !c->event_log || !c->state_dir)
                return -ENOMEM;
        c->nv_index = TRUST_DEFAULT_NV_INDEX;
        c->pcr = TRUST_DEFAULT_PCR;
        *ret = TAKE_PTR(c);
        return 0;
}

static int set_path(char **field, json_object *v, const char *name, const JsonPositions *pos,
                    const char *ptr, const char *key, ForgeError *err) {
        const char *s;

        if (!json_object_is_type(v, json_type_string))
                return trust_config_fail(err, -EINVAL, name, pos, ptr, false, "\"%s\" must be a string",
                                         key);
        s = json_object_get_string(v);
        if (s[0] != '/' || strstr(s, "/../") || (strlen(s) >= 3 && streq(s + strlen(s) - 3, "/..")))
                return trust_config_fail(err, -EINVAL, name, pos, ptr, false,
                                         "\"%s\" must be an absolute path without \"..\", not \"%s\"", key,
                                         s);
        free(*field);
        *field = strdup(s);
        return *field ? 0 : -ENOMEM;
}

int trust_config_parse(const char *data, size_t size, const char *name, TrustConfig **ret, ForgeError *err) {
        static const char *const keys[] = { "anchor",    "tcti",      "nv_index",    "pcr",
                                            "event_log", "state_dir", "require_tpm", NULL };
        _cleanup_(trust_config_freep) TrustConfig *c = NULL;
        _cleanup_(json_object_putp) json_object *j = NULL;
        _cleanup_(json_positions_freep) JsonPositions *pos = NULL;
        char why[256];
        size_t off;
        int r;

        r = config_new_defaults(&c);
        if (r < 0)
                return r;
        r = trust_json_parse(data, size, &j, &pos, why, sizeof why, &off);
        if (r < 0) {
                unsigned line = 0, col = 0;

                if (off != SIZE_MAX)
                        json_offset_to_line_column(data, size, off, &line, &col);
                return forge_error_set_at(err, FORGE_ERROR_CONFIG_INVALID, r, name, line, col, "%s", why);
        }
        if (!json_object_is_type(j, json_type_object))
                return trust_config_fail(err, -EINVAL, name, NULL, NULL, false, "must be a JSON object");

        json_object_object_foreach(j, key, v) {
                _cleanup_free_ char *ptr = json_pointer_append_key("", key);
                bool known = false;

                if (!ptr)
                        return -ENOMEM;
                for (const char *const *k = keys; *k; k++)
                        known = known || streq(*k, key);
                if (!known)
                        return trust_config_fail(
                                err, -EINVAL, name, pos, ptr, true,
                                "unknown member \"%s\" (known: anchor, tcti, nv_index, pcr, "
                                "event_log, state_dir, require_tpm)",
                                key);

                if (streq(key, "anchor"))
                        r = set_path(&c->anchor, v, name, pos, ptr, key, err);
                else if (streq(key, "event_log"))
                        r = set_path(&c->event_log, v, name, pos, ptr, key, err);
                else if (streq(key, "state_dir"))
                        r = set_path(&c->state_dir, v, name, pos, ptr, key, err);
                else if (streq(key, "tcti")) {
                        if (!json_object_is_type(v, json_type_string) || !*json_object_get_string(v))
                                return trust_config_fail(
                                        err, -EINVAL, name, pos, ptr, false,
                                        "\"tcti\" must be a TCTI configuration string such as "
                                        "\"device:/dev/tpmrm0\"");
                        free(c->tcti);
                        c->tcti = strdup(json_object_get_string(v));
                        r = c->tcti ? 0 : -ENOMEM;
                } else if (streq(key, "nv_index")) {
                        const char *s =
                                json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
                        char *end = NULL;
                        unsigned long x;

                        errno = 0;
                        x = strtoul(s, &end, 16);
                        if (strncmp(s, "0x", 2) != 0 || errno != 0 || !end || *end ||
                            x < TRUST_NV_OWNER_FIRST || x > TRUST_NV_OWNER_LAST)
                                return trust_config_fail(err, -EINVAL, name, pos, ptr, false,
                                                         "\"nv_index\" must be a hexadecimal string from "
                                                         "\"0x%08X\" to \"0x%08X\" (the owner range)",
                                                         TRUST_NV_OWNER_FIRST, TRUST_NV_OWNER_LAST);
                        c->nv_index = (uint32_t) x;
                } else if (streq(key, "pcr")) {
                        int64_t x;

                        if (!json_object_is_type(v, json_type_int) || (x = json_object_get_int64(v)) < 0 ||
                            x > TRUST_PCR_MAX)
                                return trust_config_fail(err, -EINVAL, name, pos, ptr, false,
                                                         "\"pcr\" must be an integer from 0 to %u",
                                                         TRUST_PCR_MAX);
                        c->pcr = (unsigned) x;
                } else if (streq(key, "require_tpm")) {
                        if (!json_object_is_type(v, json_type_boolean))
                                return trust_config_fail(err, -EINVAL, name, pos, ptr, false,
                                                         "\"require_tpm\" must be true or false");
                        c->require_tpm = json_object_get_boolean(v);
                }
                if (r < 0)
                        return r;
        }

        c->path = strdup(name);
        c->data = malloc(size + 1);
        if (!c->path || !c->data)
                return -ENOMEM;
        memcpy(c->data, data, size);
        c->data[size] = 0;
        c->size = size;
        *ret = TAKE_PTR(c);
        return 0;
}

int trust_config_load(const char *path, TrustConfig **ret, ForgeError *err) {
        _cleanup_free_ char *data = NULL;
        bool explicit = true;
        size_t size;
        int r;

        if (!path) {
                path = getenv("FORGEONE_TRUST_CONFIG");
                if (!path || !*path) {
                        path = TRUST_CONFIG_DEFAULT_PATH;
                        explicit = false;
                }
        }
        r = trust_read_file(path, CONFIG_SIZE_MAX, &data, &size);
        if (r == -ENOENT && !explicit)
                return config_new_defaults(ret);
        if (r == -EFBIG)
                return trust_config_fail(err, r, path, NULL, NULL, false,
                                         "larger than %u bytes: not a trust configuration", CONFIG_SIZE_MAX);
        if (r < 0)
                return forge_error_set(err, r, "cannot read trust configuration %s: %s", path, strerror(-r));
        return trust_config_parse(data, size, path, ret, err);
}
