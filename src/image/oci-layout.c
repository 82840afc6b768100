/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "forgeone/oci-digest.h"
#include "forgeone/oci-image.h"
#include "forgeone/string-table.h"

#include "image-util.h"

/* Indexes, manifests and configs are small; a bigger one is a mistake or an attack. */
#define METADATA_MAX (16u * 1024 * 1024)
#define INDEX_DEPTH_MAX 4
#define PROGRESS_STEP (256u * 1024)
#define BUF_SIZE (128u * 1024)

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define REF_NAME "org.opencontainers.image.ref.name"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static const char *const oci_compression_table[_OCI_COMPRESSION_MAX] = {
        [OCI_COMPRESSION_NONE] = "none",
        [OCI_COMPRESSION_GZIP] = "gzip",
        [OCI_COMPRESSION_ZSTD] = "zstd",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(oci_compression, OciCompression)

int oci_compression_from_media_type(const char *mt) {
        static const struct {
                const char *media_type;
                OciCompression c;
        } table[] = {
                { "application/vnd.oci.image.layer.v1.tar", OCI_COMPRESSION_NONE },
                { "application/vnd.oci.image.layer.v1.tar+gzip", OCI_COMPRESSION_GZIP },
                { "application/vnd.oci.image.layer.v1.tar+zstd", OCI_COMPRESSION_ZSTD },
                { "application/vnd.docker.image.rootfs.diff.tar", OCI_COMPRESSION_NONE },
                { "application/vnd.docker.image.rootfs.diff.tar.gzip", OCI_COMPRESSION_GZIP },
                { "application/vnd.docker.image.rootfs.diff.tar.zstd", OCI_COMPRESSION_ZSTD },
        };

        if (!mt)
                return -EOPNOTSUPP;
        FOREACH_ELEMENT(t, table)
                if (streq(mt, t->media_type))
                        return t->c;
        return -EOPNOTSUPP;
}

static const char *const oci_progress_phase_table[_OCI_PROGRESS_PHASE_MAX] = {
        [OCI_PROGRESS_VERIFY] = "verify",
        [OCI_PROGRESS_UNPACK] = "unpack",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(oci_progress_phase, OciProgressPhase)

static bool is_layout_dir(const char *dir) {
        _cleanup_free_ char *p = NULL;
        struct stat st;

        if (asprintf(&p, "%s/oci-layout", dir) < 0)
                return false;
        return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int oci_reference_parse(const char *ref, char **ret_dir, char **ret_tag) {
        _cleanup_free_ char *dir = NULL, *tag = NULL;
        const char *colon;

        if (!ref || !*ref)
                return -EINVAL;

        colon = strrchr(ref, ':');
        if (!colon || is_layout_dir(ref) || strchr(colon + 1, '/')) {
                dir = strdup(ref);
                if (!dir)
                        return -ENOMEM;
        } else {
                if (colon == ref || colon[1] == 0)
                        return -EINVAL;
                dir = strndup(ref, colon - ref);
                tag = strdup(colon + 1);
                if (!dir || !tag)
                        return -ENOMEM;
        }

        *ret_dir = TAKE_PTR(dir);
        *ret_tag = TAKE_PTR(tag);
        return 0;
}

static void descriptor_done(OciDescriptor *d) {
        free(d->media_type);
        free(d->digest);
        *d = (OciDescriptor) {};
}

OciImage *oci_image_free(OciImage *image) {
        if (!image)
                return NULL;
        free(image->layout_path);
        free(image->tag);
        descriptor_done(&image->manifest);
        descriptor_done(&image->config_blob);
        free(image->config.os);
        free(image->config.architecture);
        strv_free(image->config.env);
        strv_free(image->config.entrypoint);
        strv_free(image->config.cmd);
        free(image->config.working_dir);
        free(image->config.user);
        strv_free(image->config.labels);
        for (size_t i = 0; i < image->n_layers; i++) {
                descriptor_done(&image->layers[i].blob);
                free(image->layers[i].diff_id);
        }
        free(image->layers);
        safe_close(image->blobs_fd);
        free(image);
        return NULL;
}

/* Reads a small JSON file of the layout itself (not a blob): no symlinks, regular file. */
static int read_layout_file(int dir_fd, const char *name, json_object **ret, ForgeError *err) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        json_object *j;
        size_t done = 0;

        fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return forge_error_set(err, negative_errno(), "cannot open %s: %m", name);
        if (fstat(fd, &st) < 0)
                return forge_error_set(err, negative_errno(), "cannot stat %s: %m", name);
        if (!S_ISREG(st.st_mode))
                return image_invalid(err, -EBADMSG, "%s is not a regular file", name);
        if ((uint64_t) st.st_size > METADATA_MAX)
                return image_invalid(err, -EFBIG, "%s is too large (%jd bytes, limit %u)", name,
                                     (intmax_t) st.st_size, METADATA_MAX);

        buf = malloc(st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        while (done < (size_t) st.st_size) {
                ssize_t n = read(fd, buf + done, st.st_size - done);
                if (n < 0)
                        return forge_error_set(err, negative_errno(), "cannot read %s: %m", name);
                if (n == 0)
                        break;
                done += n;
        }
        buf[done] = 0;

        j = json_tokener_parse(buf);
        if (!j)
                return image_invalid(err, -EBADMSG, "%s is not valid JSON", name);
        *ret = j;
        return 0;
}

static int open_blob_at(int blobs_fd, const OciDescriptor *d, ForgeError *err) {
        _cleanup_close_ int alg_fd = -EBADF, fd = -EBADF;
        const char *hex;
        struct stat st;
        int alg;

        alg = oci_digest_parse(d->digest, &hex, err);
        if (alg < 0)
                return alg;

        alg_fd = openat(blobs_fd, alg == OCI_DIGEST_SHA256 ? "sha256" : "sha512",
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (alg_fd < 0)
                return forge_error_set(err, negative_errno(), "blob %s: cannot open its blobs directory: %m",
                                       d->digest);
        fd = openat(alg_fd, hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) {
                if (errno == ENOENT)
                        return image_invalid(err, -ENOENT, "blob %s is missing from the layout", d->digest);
                if (errno == ELOOP)
                        return image_invalid(err, -ELOOP, "blob %s is a symlink, refusing it", d->digest);
                return forge_error_set(err, negative_errno(), "cannot open blob %s: %m", d->digest);
        }
        if (fstat(fd, &st) < 0)
                return forge_error_set(err, negative_errno(), "cannot stat blob %s: %m", d->digest);
        if (!S_ISREG(st.st_mode))
                return image_invalid(err, -EBADMSG, "blob %s is not a regular file", d->digest);
        if ((uint64_t) st.st_size != d->size)
                return image_invalid(err, -EBADMSG,
                                     "blob %s: size mismatch: descriptor says %" PRIu64
                                     " bytes, file has %jd",
                                     d->digest, d->size, (intmax_t) st.st_size);
        /* Blocking reads from here on; O_NONBLOCK only guarded the open against FIFOs. */
        if (fcntl(fd, F_SETFL, O_RDONLY) < 0)
                return forge_error_set(err, negative_errno(), "blob %s: fcntl: %m", d->digest);
        return TAKE_FD(fd);
}

int oci_image_open_blob(const OciImage *image, const OciDescriptor *d, ForgeError *err) {
        return open_blob_at(image->blobs_fd, d, err);
}

/* Reads a metadata blob completely and checks size and digest before anyone parses it. */
static int read_blob_json(int blobs_fd, const OciDescriptor *d, const char *what, json_object **ret,
                          ForgeError *err) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        char actual[OCI_DIGEST_STRING_MAX];
        size_t done = 0;
        json_object *j;
        int alg, r;

        if (d->size > METADATA_MAX)
                return image_invalid(err, -EFBIG, "%s blob %s is too large (%" PRIu64 " bytes, limit %u)",
                                     what, d->digest, d->size, METADATA_MAX);

        fd = open_blob_at(blobs_fd, d, err);
        if (fd < 0)
                return forge_error_prefix(err, fd, "%s: ", what);

        buf = malloc(d->size + 1);
        if (!buf)
                return -ENOMEM;
        while (done < d->size) {
                ssize_t n = read(fd, buf + done, d->size - done);
                if (n < 0)
                        return forge_error_set(err, negative_errno(), "%s blob %s: read failed: %m", what,
                                               d->digest);
                if (n == 0)
                        return image_invalid(err, -EBADMSG,
                                             "%s blob %s: truncated at %zu of %" PRIu64 " bytes", what,
                                             d->digest, done, d->size);
                done += n;
        }
        buf[done] = 0;

        alg = oci_digest_parse(d->digest, NULL, err);
        if (alg < 0)
                return alg;
        r = oci_digest_buffer(alg, buf, done, actual);
        if (r < 0)
                return forge_error_set(err, r, "%s blob %s: hashing failed", what, d->digest);
        if (!streq(actual, d->digest))
                return image_invalid(err, -EBADMSG, "%s blob: digest mismatch: expected %s, actual %s", what,
                                     d->digest, actual);

        j = json_tokener_parse(buf);
        if (!j || !json_object_is_type(j, json_type_object)) {
                json_object_put(j);
                return image_invalid(err, -EBADMSG, "%s blob %s is not a JSON object", what, d->digest);
        }
        *ret = j;
        return 0;
}

static const char *json_get_string(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static int descriptor_parse(json_object *o, const char *what, OciDescriptor *ret, ForgeError *err) {
        _cleanup_free_ char *mt = NULL, *digest = NULL;
        const char *s;
        json_object *v;
        int64_t size;
        int r;

        if (!json_object_is_type(o, json_type_object))
                return image_invalid(err, -EBADMSG, "%s: descriptor is not an object", what);

        s = json_get_string(o, "digest");
        if (!s)
                return image_invalid(err, -EBADMSG, "%s: descriptor has no digest", what);
        r = oci_digest_parse(s, NULL, err);
        if (r < 0)
                return forge_error_prefix(err, r, "%s: ", what);
        digest = strdup(s);

        if (!json_object_object_get_ex(o, "size", &v) || !json_object_is_type(v, json_type_int))
                return image_invalid(err, -EBADMSG, "%s %s: descriptor has no integer size", what, s);
        errno = 0;
        size = json_object_get_int64(v);
        if (size < 0 || errno != 0)
                return image_invalid(err, -EBADMSG, "%s %s: invalid size", what, s);

        s = json_get_string(o, "mediaType");
        if (s)
                mt = strdup(s);
        if (!digest || (s && !mt))
                return -ENOMEM;

        *ret = (OciDescriptor) { .media_type = TAKE_PTR(mt), .digest = TAKE_PTR(digest), .size = size };
        return 0;
}

static const char *host_architecture(void) {
        static const struct {
                const char *machine, *goarch;
        } table[] = {
                { "x86_64", "amd64" },    { "aarch64", "arm64" },   { "i686", "386" },
                { "armv7l", "arm" },      { "ppc64le", "ppc64le" }, { "s390x", "s390x" },
                { "riscv64", "riscv64" },
        };
        struct utsname u;

        if (uname(&u) == 0)
                FOREACH_ELEMENT(t, table)
                        if (streq(u.machine, t->machine))
                                return t->goarch;
        return "amd64";
}

static bool platform_matches(json_object *entry) {
        json_object *p;

        if (!json_object_object_get_ex(entry, "platform", &p))
                return false;
        return streq_ptr(json_get_string(p, "os"), "linux") &&
               streq_ptr(json_get_string(p, "architecture"), host_architecture());
}

static bool is_index_type(const char *mt) {
        return streq_ptr(mt, MT_OCI_INDEX) || streq_ptr(mt, MT_DOCKER_LIST);
}

/* Tags cosign gives its signatures, attestations and SBOMs of an image ("sha256-<hex>.sig"): they name
 * artifacts about an image, never an image to run, so "the only manifest" does not count them. */
static bool is_cosign_artifact_tag(const char *name) {
        size_t n = name ? strlen(name) : 0;

        if (n < 7 + 64 + 4 || strncmp(name, "sha256-", 7) != 0)
                return false;
        for (size_t i = 7; i < 7 + 64; i++)
                if (!strchr("0123456789abcdef", name[i]) || !name[i])
                        return false;
        return streq(name + 71, ".sig") || streq(name + 71, ".att") || streq(name + 71, ".sbom");
}

/*
 * Picks one entry of an index's "manifests": those tagged `tag` (top level only) or all but cosign's
 * artifacts (top level only); then, if
 * several remain, the one for linux/<host arch>. Follows nested indexes. Returns the manifest descriptor.
 */
static int select_manifest(int blobs_fd, json_object *index, const char *what, const char *tag,
                           unsigned depth, OciDescriptor *ret, char **ret_tag, ForgeError *err) {
        json_object *manifests, *chosen = NULL;
        _cleanup_free_ json_object **cand = NULL;
        size_t n, n_cand = 0, n_platform = 0;
        OciDescriptor d = {};
        int r;

        if (depth > INDEX_DEPTH_MAX)
                return image_invalid(err, -ELOOP, "image indexes nested deeper than %d levels",
                                     INDEX_DEPTH_MAX);

        if (!json_object_object_get_ex(index, "manifests", &manifests) ||
            !json_object_is_type(manifests, json_type_array))
                return image_invalid(err, -EBADMSG, "%s has no \"manifests\" array", what);
        n = json_object_array_length(manifests);
        if (n == 0)
                return image_invalid(err, -ENOENT, "%s lists no manifests", what);

        cand = calloc(n, sizeof *cand);
        if (!cand)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(manifests, i), *ann;
                const char *name = NULL;

                if (json_object_object_get_ex(e, "annotations", &ann))
                        name = json_get_string(ann, REF_NAME);
                if (tag && !streq_ptr(name, tag))
                        continue;
                if (!tag && depth == 0 && is_cosign_artifact_tag(name))
                        continue;
                cand[n_cand++] = e;
        }

        if (n_cand == 0 && !tag)
                return forge_error_set(err, -ENOENT,
                                       "%s lists only cosign signatures and attestations, no image", what);
        if (n_cand == 0) {
                char names[512] = "";
                size_t len = 0;

                for (size_t i = 0; i < n && len < sizeof names - 1; i++) {
                        json_object *e = json_object_array_get_idx(manifests, i), *ann;
                        const char *name = NULL;

                        if (json_object_object_get_ex(e, "annotations", &ann))
                                name = json_get_string(ann, REF_NAME);
                        if (name)
                                len += snprintf(names + len, sizeof names - len, "%s\"%s\"", len ? ", " : "",
                                                name);
                }
                return forge_error_set(err, -ENOENT, "%s has no manifest tagged \"%s\" (tags: %s)", what,
                                       tag, len ? names : "none");
        }

        if (n_cand == 1)
                chosen = cand[0];
        else {
                for (size_t i = 0; i < n_cand; i++)
                        if (platform_matches(cand[i])) {
                                if (!chosen)
                                        chosen = cand[i];
                                n_platform++;
                        }
                if (n_platform != 1)
                        return forge_error_set(
                                err, -ENOENT,
                                "%s lists %zu manifests%s%s%s and %zu for linux/%s: choose one with "
                                "DIR:TAG",
                                what, n_cand, tag ? " tagged \"" : "", strempty(tag), tag ? "\"" : "",
                                n_platform, host_architecture());
        }

        r = descriptor_parse(chosen, what, &d, err);
        if (r < 0)
                return r;

        if (ret_tag && depth == 0) {
                json_object *ann;
                const char *name = NULL;

                if (json_object_object_get_ex(chosen, "annotations", &ann))
                        name = json_get_string(ann, REF_NAME);
                if (name) {
                        *ret_tag = strdup(name);
                        if (!*ret_tag) {
                                descriptor_done(&d);
                                return -ENOMEM;
                        }
                }
        }

        if (is_index_type(d.media_type)) {
                _cleanup_(json_object_putp) json_object *nested = NULL;
                _cleanup_free_ char *nested_what = NULL;

                r = read_blob_json(blobs_fd, &d, "image index", &nested, err);
                if (r >= 0 && asprintf(&nested_what, "image index %s", d.digest) < 0)
                        r = -ENOMEM;
                descriptor_done(&d);
                if (r < 0)
                        return r;
                /* Tags name entries of the top-level index only; below it the platform decides. */
                return select_manifest(blobs_fd, nested, nested_what, NULL, depth + 1, ret, NULL, err);
        }

        *ret = d;
        return 0;
}

static int json_strv(json_object *o, const char *key, const char *what, char ***ret, ForgeError *err) {
        _cleanup_strv_free_ char **l = NULL;
        json_object *a;
        size_t n;

        if (!json_object_object_get_ex(o, key, &a) || json_object_is_type(a, json_type_null)) {
                *ret = NULL;
                return 0;
        }
        if (!json_object_is_type(a, json_type_array))
                return image_invalid(err, -EBADMSG, "%s: \"%s\" is not an array", what, key);

        n = json_object_array_length(a);
        l = calloc(n + 1, sizeof *l);
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);

                if (!json_object_is_type(e, json_type_string))
                        return image_invalid(err, -EBADMSG, "%s: \"%s\"[%zu] is not a string", what, key, i);
                l[i] = strdup(json_object_get_string(e));
                if (!l[i])
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int json_strdup(json_object *o, const char *key, char **ret) {
        const char *s = json_get_string(o, key);

        *ret = NULL;
        if (!s || !*s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int parse_config(json_object *j, OciImage *image, ForgeError *err) {
        OciImageConfig *c = &image->config;
        json_object *cfg, *rootfs, *labels;
        _cleanup_strv_free_ char **diff_ids = NULL;
        size_t n = 0;
        int r;

        r = json_strdup(j, "os", &c->os);
        if (r < 0)
                return r;
        r = json_strdup(j, "architecture", &c->architecture);
        if (r < 0)
                return r;
        if (c->os && !streq(c->os, "linux"))
                return forge_error_set(err, -EOPNOTSUPP, "image config %s is for os \"%s\", not linux",
                                       image->config_blob.digest, c->os);

        if (json_object_object_get_ex(j, "config", &cfg) && json_object_is_type(cfg, json_type_object)) {
                if ((r = json_strv(cfg, "Env", "image config", &c->env, err)) < 0 ||
                    (r = json_strv(cfg, "Entrypoint", "image config", &c->entrypoint, err)) < 0 ||
                    (r = json_strv(cfg, "Cmd", "image config", &c->cmd, err)) < 0 ||
                    (r = json_strdup(cfg, "WorkingDir", &c->working_dir)) < 0 ||
                    (r = json_strdup(cfg, "User", &c->user)) < 0)
                        return r;

                if (json_object_object_get_ex(cfg, "Labels", &labels) &&
                    json_object_is_type(labels, json_type_object)) {
                        size_t k = 0, nl = json_object_object_length(labels);

                        c->labels = calloc(nl + 1, sizeof *c->labels);
                        if (!c->labels)
                                return -ENOMEM;
                        json_object_object_foreach(labels, key, val) {
                                if (!json_object_is_type(val, json_type_string))
                                        return image_invalid(err, -EBADMSG,
                                                             "image config: label \"%s\" is not a string",
                                                             key);
                                if (asprintf(&c->labels[k], "%s=%s", key, json_object_get_string(val)) < 0) {
                                        c->labels[k] = NULL;
                                        return -ENOMEM;
                                }
                                k++;
                        }
                        qsort(c->labels, k, sizeof *c->labels, cmp_str);
                }
        }

        if (!json_object_object_get_ex(j, "rootfs", &rootfs) ||
            !streq_ptr(json_get_string(rootfs, "type"), "layers"))
                return image_invalid(err, -EBADMSG, "image config %s: rootfs.type is not \"layers\"",
                                     image->config_blob.digest);
        r = json_strv(rootfs, "diff_ids", "image config rootfs", &diff_ids, err);
        if (r < 0)
                return r;
        while (diff_ids && diff_ids[n])
                n++;
        if (n != image->n_layers)
                return image_invalid(err, -EBADMSG,
                                     "image config %s lists %zu diff_ids but the manifest has %zu layers",
                                     image->config_blob.digest, n, image->n_layers);
        for (size_t i = 0; i < n; i++) {
                r = oci_digest_parse(diff_ids[i], NULL, err);
                if (r < 0)
                        return forge_error_prefix(err, r, "image config diff_ids[%zu]: ", i);
                image->layers[i].diff_id = TAKE_PTR(diff_ids[i]);
        }
        return 0;
}

static int parse_manifest(json_object *m, OciImage *image, ForgeError *err) {
        json_object *cfg, *layers, *v;
        const char *mt;
        int r;

        if (!json_object_object_get_ex(m, "schemaVersion", &v) || json_object_get_int(v) != 2)
                return image_invalid(err, -EBADMSG, "manifest %s: schemaVersion is not 2",
                                     image->manifest.digest);
        mt = json_get_string(m, "mediaType");
        if (mt && !streq(mt, MT_OCI_MANIFEST) && !streq(mt, MT_DOCKER_MANIFEST))
                return forge_error_set(err, -EOPNOTSUPP, "manifest %s has unsupported media type \"%s\"",
                                       image->manifest.digest, mt);

        if (!json_object_object_get_ex(m, "config", &cfg))
                return image_invalid(err, -EBADMSG, "manifest %s has no config", image->manifest.digest);
        r = descriptor_parse(cfg, "manifest config", &image->config_blob, err);
        if (r < 0)
                return r;
        if (image->config_blob.media_type && !streq(image->config_blob.media_type, MT_OCI_CONFIG) &&
            !streq(image->config_blob.media_type, MT_DOCKER_CONFIG))
                return forge_error_set(err, -EOPNOTSUPP,
                                       "manifest %s: config media type \"%s\" is not an image "
                                       "config",
                                       image->manifest.digest, image->config_blob.media_type);

        if (!json_object_object_get_ex(m, "layers", &layers) ||
            !json_object_is_type(layers, json_type_array))
                return image_invalid(err, -EBADMSG, "manifest %s has no layers array",
                                     image->manifest.digest);
        image->n_layers = json_object_array_length(layers);
        image->layers = calloc(image->n_layers ?: 1, sizeof *image->layers);
        if (!image->layers)
                return -ENOMEM;

        for (size_t i = 0; i < image->n_layers; i++) {
                OciLayer *l = &image->layers[i];
                char what[64];

                snprintf(what, sizeof what, "manifest layer %zu", i);
                r = descriptor_parse(json_object_array_get_idx(layers, i), what, &l->blob, err);
                if (r < 0)
                        return r;
                r = oci_compression_from_media_type(l->blob.media_type);
                if (r < 0)
                        return forge_error_set(err, r, "layer %zu (%s): unsupported media type \"%s\"", i,
                                               l->blob.digest, strempty(l->blob.media_type));
                l->compression = r;
        }
        return 0;
}

int oci_image_open_dir(const char *dir, const char *tag, OciImage **ret, ForgeError *err) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_(json_object_putp) json_object *layout = NULL, *index = NULL, *manifest = NULL,
                                                *config = NULL;
        _cleanup_close_ int dir_fd = -EBADF;
        int r;

        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return forge_error_set(err, negative_errno(), "cannot open image layout %s: %m", dir);

        r = read_layout_file(dir_fd, "oci-layout", &layout, err);
        if (r < 0)
                return forge_error_prefix(err, r, "%s is not an OCI image layout: ", dir);
        if (!streq_ptr(json_get_string(layout, "imageLayoutVersion"), "1.0.0"))
                return forge_error_set(err, -EOPNOTSUPP,
                                       "%s/oci-layout: imageLayoutVersion is not \"1.0.0\"", dir);

        r = read_layout_file(dir_fd, "index.json", &index, err);
        if (r < 0)
                return forge_error_prefix(err, r, "%s: ", dir);

        image = calloc(1, sizeof *image);
        if (!image)
                return -ENOMEM;
        image->blobs_fd = -EBADF;
        image->layout_path = strdup(dir);
        if (!image->layout_path)
                return -ENOMEM;

        image->blobs_fd = openat(dir_fd, "blobs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (image->blobs_fd < 0)
                return forge_error_set(err, negative_errno(), "%s/blobs: cannot open: %m", dir);

        r = select_manifest(image->blobs_fd, index, "index.json", tag, 0, &image->manifest, &image->tag,
                            err);
        if (r < 0)
                return forge_error_prefix(err, r, "%s: ", dir);
        if (tag && !image->tag && !(image->tag = strdup(tag)))
                return -ENOMEM;

        r = read_blob_json(image->blobs_fd, &image->manifest, "manifest", &manifest, err);
        if (r < 0)
                return forge_error_prefix(err, r, "%s: ", dir);
        r = parse_manifest(manifest, image, err);
        if (r < 0)
                return forge_error_prefix(err, r, "%s: ", dir);

        r = read_blob_json(image->blobs_fd, &image->config_blob, "config", &config, err);
        if (r < 0)
                return forge_error_prefix(err, r, "%s: ", dir);
        r = parse_config(config, image, err);
        if (r < 0)
                return forge_error_prefix(err, r, "%s: ", dir);

        /* Layers are hashed when unpacked; their presence and size are checked now so a broken
         * layout fails before anything is done with it. */
        for (size_t i = 0; i < image->n_layers; i++) {
                _cleanup_close_ int fd = open_blob_at(image->blobs_fd, &image->layers[i].blob, err);
                if (fd < 0)
                        return forge_error_prefix(err, fd, "%s: layer %zu: ", dir, i);
        }

        *ret = TAKE_PTR(image);
        return 0;
}

int oci_image_open(const char *ref, OciImage **ret, ForgeError *err) {
        _cleanup_free_ char *dir = NULL, *tag = NULL;
        int r;

        r = oci_reference_parse(ref, &dir, &tag);
        if (r < 0)
                return forge_error_set(err, r, "invalid image reference \"%s\" (expected DIR[:TAG])",
                                       strempty(ref));
        return oci_image_open_dir(dir, tag, ret, err);
}

int oci_image_verify_layers(const OciImage *image, OciProgressFn progress, void *userdata, ForgeError *err) {
        _cleanup_free_ char *buf = malloc(BUF_SIZE);

        if (!buf)
                return -ENOMEM;
        for (size_t i = 0; i < image->n_layers; i++) {
                const OciDescriptor *d = &image->layers[i].blob;
                _cleanup_(oci_hasher_freep) OciHasher *h = NULL;
                _cleanup_close_ int fd = -EBADF;
                char actual[OCI_DIGEST_STRING_MAX];
                uint64_t last = 0;
                int alg, r;

                fd = open_blob_at(image->blobs_fd, d, err);
                if (fd < 0)
                        return forge_error_prefix(err, fd, "layer %zu: ", i);
                alg = oci_digest_parse(d->digest, NULL, err);
                if (alg < 0)
                        return alg;
                r = oci_hasher_new(alg, &h);
                if (r < 0)
                        return r;

                for (;;) {
                        ssize_t n = read(fd, buf, BUF_SIZE);
                        if (n < 0)
                                return forge_error_set(err, negative_errno(), "layer %zu blob %s: read: %m",
                                                       i, d->digest);
                        if (n == 0)
                                break;
                        r = oci_hasher_update(h, buf, n);
                        if (r < 0)
                                return r;
                        if (progress && oci_hasher_bytes(h) - last >= PROGRESS_STEP) {
                                last = oci_hasher_bytes(h);
                                progress(OCI_PROGRESS_VERIFY, d->digest, last, d->size, userdata);
                        }
                }
                if (oci_hasher_bytes(h) != d->size)
                        return image_invalid(err, -EBADMSG,
                                             "layer %zu blob %s: size mismatch: descriptor says %" PRIu64
                                             " bytes, read %" PRIu64,
                                             i, d->digest, d->size, oci_hasher_bytes(h));
                r = oci_hasher_finish(h, actual);
                if (r < 0)
                        return r;
                if (progress)
                        progress(OCI_PROGRESS_VERIFY, d->digest, d->size, d->size, userdata);
                if (!streq(actual, d->digest))
                        return image_invalid(err, -EBADMSG,
                                             "layer %zu blob: digest mismatch: expected %s, actual %s", i,
                                             d->digest, actual);
        }
        return 0;
}
