/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* OCI layouts without root: manifest selection, config parsing, and every way a blob can be wrong
 * (tampered, wrong size, bad digest string, missing, symlinked), each refused with a clear message. */

#include <sys/stat.h>

#include "forgeone/layer-cache.h"
#include "forgeone/oci-image.h"
#include "image-test-util.h"
#include "test-util.h"

#define ASSERT_OK(expr)                                                                                     \
        do {                                                                                                \
                int _r = (expr);                                                                            \
                ck_assert_msg(_r >= 0, "%s: %s (%s)", #expr, strerror(-_r), err.message);                   \
        } while (0)

#define ASSERT_FAILS_WITH(expr, needle)                                                                     \
        do {                                                                                                \
                int _r = (expr);                                                                            \
                ck_assert_msg(_r < 0, "%s succeeded, expected \"%s\"", #expr, needle);                      \
                ck_assert_msg(strstr(err.message, needle), "message \"%s\" lacks \"%s\"", err.message,      \
                              needle);                                                                      \
        } while (0)

/* Per-test dirs live in one per-run dir that the parent process removes (an unchecked fixture), so
 * a test that fails half-way leaves nothing behind either. */
static char *run_tmp;
static char *tmp, *layout, *cache;
static TestLayer layer;
static char *manifest_digest;

static void run_setup(void) {
        run_tmp = test_mkdtemp();
}

static void run_teardown(void) {
        test_rm_rf(run_tmp);
        free(run_tmp);
}

static void setup(void) {
        TestTar *t = test_tar_new();

        tmp = test_mkdtemp_in(run_tmp);
        ck_assert_int_ge(asprintf(&layout, "%s/layout", tmp), 0);
        ck_assert_int_ge(asprintf(&cache, "%s/cache", tmp), 0);
        test_tar_dir(t, "bin");
        test_tar_file_mode(t, "bin/hello", "#!/bin/sh\necho hello\n", 0755);
        test_tar_symlink(t, "bin/sh", "/bin/busybox");
        layer = (TestLayer) { .tar = test_tar_finish(t), .compression = OCI_COMPRESSION_GZIP };
}

static void teardown(void) {
        test_rm_rf(tmp);
        free(tmp);
        free(layout);
        free(cache);
        free(layer.tar.data);
        free(manifest_digest);
        manifest_digest = NULL;
}

static void simple_layout(const char *tag) {
        manifest_digest = test_layout_simple(layout, &layer, 1, tag);
}

static void flip_byte(const char *path, size_t at) {
        TestBuf b = test_read_file(path);

        ck_assert_uint_gt(b.size, at);
        b.data[at] ^= 0x01;
        test_write_file(path, b.data, b.size);
        free(b.data);
}

static void flip_blob(const char *digest, size_t at) {
        _cleanup_free_ char *p = test_blob_path(layout, digest);

        flip_byte(p, at);
}

static void write_index_with(const char *digest, const char *size) {
        char *desc;

        ck_assert_int_ge(asprintf(&desc,
                                  "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                                  "\"digest\":\"%s\",\"size\":%s}",
                                  digest, size),
                         0);
        test_layout_index(layout, (const char *const[]) { desc }, 1);
        free(desc);
}

static size_t blob_size(const char *digest) {
        _cleanup_free_ char *p = test_blob_path(layout, digest);
        struct stat st;

        ck_assert_int_eq(stat(p, &st), 0);
        return st.st_size;
}

START_TEST(test_open_only_and_by_tag) {
        _cleanup_(oci_image_freep) OciImage *a = NULL, *b = NULL;
        _cleanup_free_ char *ref = NULL;
        ForgeError err = {};

        simple_layout("v1");
        ASSERT_OK(oci_image_open(layout, &a, &err));
        ck_assert_str_eq(a->manifest.digest, manifest_digest);
        ck_assert_str_eq(a->tag, "v1"); /* the only manifest's own name */
        ck_assert_uint_eq(a->n_layers, 1);
        ck_assert_int_eq(a->layers[0].compression, OCI_COMPRESSION_GZIP);
        ck_assert_str_eq(a->config.os, "linux");

        ck_assert_int_ge(asprintf(&ref, "%s:v1", layout), 0);
        ASSERT_OK(oci_image_open(ref, &b, &err));
        ck_assert_str_eq(b->manifest.digest, manifest_digest);
        ck_assert_uint_eq(b->manifest.size, blob_size(manifest_digest));
}
END_TEST

START_TEST(test_reference_parse) {
        _cleanup_free_ char *dir = NULL, *tag = NULL, *colon_dir = NULL;

        ck_assert_int_eq(oci_reference_parse("/srv/img:v1", &dir, &tag), 0);
        ck_assert_str_eq(dir, "/srv/img");
        ck_assert_str_eq(tag, "v1");
        free(dir);
        free(tag);
        ck_assert_int_eq(oci_reference_parse("/srv/img", &dir, &tag), 0);
        ck_assert_str_eq(dir, "/srv/img");
        ck_assert_ptr_null(tag);
        free(dir);
        ck_assert_int_eq(oci_reference_parse("./a:b/c", &dir, &tag), 0); /* ':' inside a path, not a tag */
        ck_assert_str_eq(dir, "./a:b/c");
        ck_assert_ptr_null(tag);
        free(dir);
        dir = NULL;
        ck_assert_int_eq(oci_reference_parse("dir:", &dir, &tag), -EINVAL);
        ck_assert_int_eq(oci_reference_parse("", &dir, &tag), -EINVAL);

        /* A layout directory whose name contains ':' is taken whole. */
        ck_assert_int_ge(asprintf(&colon_dir, "%s/img:latest", tmp), 0);
        test_layout_init(colon_dir);
        ck_assert_int_eq(oci_reference_parse(colon_dir, &dir, &tag), 0);
        ck_assert_str_eq(dir, colon_dir);
        ck_assert_ptr_null(tag);
}
END_TEST

START_TEST(test_config_fields) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        ForgeError err = {};
        char *desc;

        test_layout_init(layout);
        desc = test_layout_image(
                layout, &layer, 1,
                "\"config\":{\"Env\":[\"PATH=/bin\",\"A=b c\"],\"Entrypoint\":[\"/bin/sh\",\"-c\"],"
                "\"Cmd\":[\"echo hi\"],\"WorkingDir\":\"/srv\",\"User\":\"1000:1000\","
                "\"Labels\":{\"zeta\":\"1\",\"alpha\":\"x=y\"}},",
                NULL, NULL, &manifest_digest);
        test_layout_index(layout, (const char *const[]) { desc }, 1);
        free(desc);

        ASSERT_OK(oci_image_open(layout, &image, &err));
        ck_assert_ptr_null(image->tag);
        ck_assert_str_eq(image->config.env[0], "PATH=/bin");
        ck_assert_str_eq(image->config.env[1], "A=b c");
        ck_assert_ptr_null(image->config.env[2]);
        ck_assert_str_eq(image->config.entrypoint[0], "/bin/sh");
        ck_assert_str_eq(image->config.entrypoint[1], "-c");
        ck_assert_str_eq(image->config.cmd[0], "echo hi");
        ck_assert_str_eq(image->config.working_dir, "/srv");
        ck_assert_str_eq(image->config.user, "1000:1000");
        ck_assert_str_eq(image->config.labels[0], "alpha=x=y");
        ck_assert_str_eq(image->config.labels[1], "zeta=1");
        ck_assert_ptr_null(image->config.labels[2]);
        ck_assert_str_eq(image->config.architecture, "amd64");
        ck_assert(strncmp(image->layers[0].diff_id, "sha256:", 7) == 0);
}
END_TEST

START_TEST(test_tag_not_found) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_free_ char *ref = NULL;
        ForgeError err = {};

        simple_layout("v1");
        ck_assert_int_ge(asprintf(&ref, "%s:v2", layout), 0);
        ASSERT_FAILS_WITH(oci_image_open(ref, &image, &err), "has no manifest tagged \"v2\" (tags: \"v1\")");
}
END_TEST

START_TEST(test_several_manifests_need_a_tag) {
        _cleanup_(oci_image_freep) OciImage *image = NULL, *second = NULL;
        _cleanup_free_ char *ref = NULL, *d2 = NULL;
        ForgeError err = {};
        char *a, *b;
        TestTar *t = test_tar_new();
        TestLayer other;

        test_tar_file(t, "other", "x");
        other = (TestLayer) { .tar = test_tar_finish(t) };
        test_layout_init(layout);
        a = test_layout_image(layout, &layer, 1, NULL, "{\"org.opencontainers.image.ref.name\":\"one\"}",
                              NULL, NULL);
        b = test_layout_image(layout, &other, 1, NULL, "{\"org.opencontainers.image.ref.name\":\"two\"}",
                              NULL, &d2);
        test_layout_index(layout, (const char *const[]) { a, b }, 2);

        ASSERT_FAILS_WITH(oci_image_open(layout, &image, &err), "choose one with DIR:TAG");
        forge_error_clear(&err);
        ck_assert_int_ge(asprintf(&ref, "%s:two", layout), 0);
        ASSERT_OK(oci_image_open(ref, &second, &err));
        ck_assert_str_eq(second->manifest.digest, d2);
        ck_assert_str_eq(second->tag, "two");
        free(a);
        free(b);
        free(other.tar.data);
}
END_TEST

START_TEST(test_nested_index_prefers_linux_amd64) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_free_ char *amd = NULL, *ref = NULL;
        ForgeError err = {};
        char *arm_desc, *amd_desc, *nested, *nested_digest, *top;
        TestTar *t = test_tar_new();
        TestLayer other;

        test_tar_file(t, "arm", "x");
        other = (TestLayer) { .tar = test_tar_finish(t) };
        test_layout_init(layout);
        arm_desc = test_layout_image(layout, &other, 1, NULL, NULL,
                                     "{\"os\":\"linux\",\"architecture\":\"arm64\"}", NULL);
        amd_desc = test_layout_image(layout, &layer, 1, NULL, NULL,
                                     "{\"os\":\"linux\",\"architecture\":\"amd64\"}", &amd);
        ck_assert_int_ge(
                asprintf(&nested,
                         "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
                         "\"manifests\":[%s,%s]}",
                         arm_desc, amd_desc),
                0);
        nested_digest = test_layout_blob(layout, nested, strlen(nested));
        ck_assert_int_ge(
                asprintf(&top,
                         "{\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"digest\":\"%s\","
                         "\"size\":%zu,\"annotations\":{\"org.opencontainers.image.ref.name\":\"multi\"}}",
                         nested_digest, strlen(nested)),
                0);
        test_layout_index(layout, (const char *const[]) { top }, 1);

        ck_assert_int_ge(asprintf(&ref, "%s:multi", layout), 0);
        ASSERT_OK(oci_image_open(ref, &image, &err));
        ck_assert_str_eq(image->manifest.digest, amd); /* assumes an amd64 host, as this project targets */
        ck_assert_str_eq(image->tag, "multi");

        /* The nested index blob is verified like any other. */
        oci_image_free(TAKE_PTR(image));
        flip_blob(nested_digest, 10);
        ASSERT_FAILS_WITH(oci_image_open(ref, &image, &err), "image index blob: digest mismatch: expected");

        free(arm_desc);
        free(amd_desc);
        free(nested);
        free(nested_digest);
        free(top);
        free(other.tar.data);
}
END_TEST

START_TEST(test_tampered_config) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        ForgeError err = {};

        simple_layout(NULL);
        ASSERT_OK(oci_image_open(layout, &image, &err));
        flip_blob(image->config_blob.digest, 5);
        oci_image_free(TAKE_PTR(image));
        ASSERT_FAILS_WITH(oci_image_open(layout, &image, &err),
                          "config blob: digest mismatch: expected sha256:");
        ck_assert_msg(strstr(err.message, ", actual sha256:"), "%s", err.message);
}
END_TEST

START_TEST(test_tampered_manifest) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        ForgeError err = {};

        simple_layout(NULL);
        flip_blob(manifest_digest, 3);
        ASSERT_FAILS_WITH(oci_image_open(layout, &image, &err), "manifest blob: digest mismatch: expected");
        ck_assert_int_eq(err.error, -EBADMSG);
        ck_assert_int_eq(err.kind, FORGE_ERROR_IMAGE_INVALID);
        ck_assert_str_eq(forge_error_bus_name(&err, err.error), "org.forgeone.Error.ImageInvalid");
}
END_TEST

START_TEST(test_tampered_layer) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_(layer_cache_freep) LayerCache *c = NULL;
        ForgeError err = {};

        simple_layout(NULL);
        ASSERT_OK(oci_image_open(layout, &image, &err));
        /* Inside the compressed data: same size, different content. */
        flip_blob(image->layers[0].blob.digest, image->layers[0].blob.size / 2);

        ASSERT_FAILS_WITH(oci_image_verify_layers(image, NULL, NULL, &err), "layer 0 blob: digest mismatch");
        forge_error_clear(&err);
        ASSERT_OK(layer_cache_open(cache, &c, &err));
        ASSERT_FAILS_WITH(layer_cache_unpack_image(c, image, NULL, NULL, 0, NULL, NULL, NULL, &err),
                          "layer blob: digest mismatch: expected");
        ck_assert_int_eq(test_count_entries(cache, (const char *const[]) { ".lock", NULL }), 0);
}
END_TEST

START_TEST(test_layer_wrong_size) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_free_ char *p = NULL;
        ForgeError err = {};
        TestBuf b;

        simple_layout(NULL);
        ASSERT_OK(oci_image_open(layout, &image, &err));
        p = test_blob_path(layout, image->layers[0].blob.digest);
        b = test_read_file(p);
        test_write_file(p, b.data, b.size - 1);
        oci_image_free(TAKE_PTR(image));
        ASSERT_FAILS_WITH(oci_image_open(layout, &image, &err), "size mismatch: descriptor says");
        ck_assert_msg(strstr(err.message, "layer 0"), "%s", err.message);
        free(b.data);
}
END_TEST

START_TEST(test_descriptor_wrong_size) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        ForgeError err = {};
        char size[32];

        simple_layout(NULL);
        snprintf(size, sizeof size, "%zu", blob_size(manifest_digest) + 1);
        write_index_with(manifest_digest, size);
        ASSERT_FAILS_WITH(oci_image_open(layout, &image, &err), "size mismatch: descriptor says");
        forge_error_clear(&err);
        write_index_with(manifest_digest, "-1");
        ASSERT_FAILS_WITH(oci_image_open(layout, &image, &err), "invalid size");
        forge_error_clear(&err);
        write_index_with(manifest_digest, "\"12\"");
        ASSERT_FAILS_WITH(oci_image_open(layout, &image, &err), "no integer size");
}
END_TEST

START_TEST(test_bad_digest_strings) {
        static const struct {
                const char *digest, *needle;
        } cases[] = {
                { "sha256:ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
                  "uppercase hex" },
                { "sha256:abc", "3 hex digits, expected 64" },
                { "sha256:zzzdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
                  "non-hex character" },
                { "sha256:../../../../../../etc/passwd", "hex digits, expected 64" },
                { "sha256:./23456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                  "non-hex character" },
                { "md5:0123456789abcdef0123456789abcdef", "algorithm must be sha256 or sha512" },
                { "SHA256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                  "algorithm must be" },
                { "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "algorithm must be" },
        };

        simple_layout(NULL);
        FOREACH_ELEMENT(c, cases) {
                _cleanup_(oci_image_freep) OciImage *image = NULL;
                ForgeError err = {};

                write_index_with(c->digest, "100");
                ASSERT_FAILS_WITH(oci_image_open(layout, &image, &err), c->needle);
        }
}
END_TEST

START_TEST(test_digest_parse) {
        const char *hex;
        ForgeError err = {};
        char d[OCI_DIGEST_STRING_MAX];

        ck_assert_int_eq(oci_digest_buffer(OCI_DIGEST_SHA256, "", 0, d), 0);
        ck_assert_str_eq(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        ck_assert_int_eq(oci_digest_parse(d, &hex, &err), OCI_DIGEST_SHA256);
        ck_assert_str_eq(hex, d + 7);
        ck_assert_int_eq(oci_digest_buffer(OCI_DIGEST_SHA512, "", 0, d), 0);
        ck_assert_int_eq(strlen(d), 7 + 128);
        ck_assert_int_eq(oci_digest_parse(d, NULL, &err), OCI_DIGEST_SHA512);
        ck_assert_int_eq(oci_digest_parse("sha256:", NULL, &err), -EINVAL);
}
END_TEST

START_TEST(test_sha512_manifest) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_free_ char *p = NULL, *dir = NULL, *blob = NULL;
        char d[OCI_DIGEST_STRING_MAX], size[32];
        ForgeError err = {};
        TestBuf b;

        simple_layout(NULL);
        p = test_blob_path(layout, manifest_digest);
        b = test_read_file(p);
        ck_assert_int_eq(oci_digest_buffer(OCI_DIGEST_SHA512, b.data, b.size, d), 0);
        ck_assert_int_ge(asprintf(&dir, "%s/blobs/sha512", layout), 0);
        ck_assert_int_eq(mkdir(dir, 0755), 0);
        ck_assert_int_ge(asprintf(&blob, "%s/%s", dir, d + 7), 0);
        test_write_file(blob, b.data, b.size);
        snprintf(size, sizeof size, "%zu", b.size);
        write_index_with(d, size);

        ASSERT_OK(oci_image_open(layout, &image, &err));
        ck_assert_str_eq(image->manifest.digest, d);
        oci_image_free(TAKE_PTR(image));

        /* Verified like sha256 ones. */
        flip_byte(blob, 7);
        ASSERT_FAILS_WITH(oci_image_open(layout, &image, &err),
                          "manifest blob: digest mismatch: expected sha512:");
        free(b.data);
}
END_TEST

START_TEST(test_missing_blob) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_free_ char *p = NULL;
        ForgeError err = {};

        simple_layout(NULL);
        ASSERT_OK(oci_image_open(layout, &image, &err));
        p = test_blob_path(layout, image->layers[0].blob.digest);
        ck_assert_int_eq(unlink(p), 0);
        oci_image_free(TAKE_PTR(image));
        ASSERT_FAILS_WITH(oci_image_open(layout, &image, &err), "is missing from the layout");
}
END_TEST

START_TEST(test_symlinked_blob) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_free_ char *p = NULL, *moved = NULL;
        ForgeError err = {};

        simple_layout(NULL);
        p = test_blob_path(layout, manifest_digest);
        ck_assert_int_ge(asprintf(&moved, "%s/elsewhere", tmp), 0);
        ck_assert_int_eq(rename(p, moved), 0);
        ck_assert_int_eq(symlink(moved, p), 0);
        ASSERT_FAILS_WITH(oci_image_open(layout, &image, &err), "is a symlink, refusing it");
}
END_TEST

START_TEST(test_not_a_layout) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_free_ char *p = NULL;
        ForgeError err = {};

        ASSERT_FAILS_WITH(oci_image_open(tmp, &image, &err),
                          "is not an OCI image layout: cannot open oci-layout");
        forge_error_clear(&err);
        simple_layout(NULL);
        ck_assert_int_ge(asprintf(&p, "%s/oci-layout", layout), 0);
        test_write_file(p, "{\"imageLayoutVersion\":\"2.0.0\"}", 30);
        ASSERT_FAILS_WITH(oci_image_open(layout, &image, &err), "imageLayoutVersion is not \"1.0.0\"");
}
END_TEST

START_TEST(test_diff_id_mismatch) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_(layer_cache_freep) LayerCache *c = NULL;
        ForgeError err = {};

        layer.diff_id = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        simple_layout(NULL);
        ASSERT_OK(oci_image_open(layout, &image, &err));
        ASSERT_OK(layer_cache_open(cache, &c, &err));
        ASSERT_FAILS_WITH(layer_cache_unpack_image(c, image, NULL, NULL, 0, NULL, NULL, NULL, &err),
                          "uncompressed layer does not match the config's diff_id: expected sha256:0000");
        ck_assert_int_eq(test_count_entries(cache, (const char *const[]) { ".lock", NULL }), 0);
}
END_TEST

START_TEST(test_compression_mismatch) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_(layer_cache_freep) LayerCache *c = NULL;
        ForgeError err = {};

        layer.compression = OCI_COMPRESSION_NONE;
        layer.media_type = "application/vnd.oci.image.layer.v1.tar+gzip";
        simple_layout(NULL);
        ASSERT_OK(oci_image_open(layout, &image, &err));
        ASSERT_OK(layer_cache_open(cache, &c, &err));
        ASSERT_FAILS_WITH(layer_cache_unpack_image(c, image, NULL, NULL, 0, NULL, NULL, NULL, &err),
                          "media type says gzip compression");
        ck_assert_int_eq(test_count_entries(cache, (const char *const[]) { ".lock", NULL }), 0);
}
END_TEST

START_TEST(test_unsupported_media_type) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        ForgeError err = {};

        layer.media_type = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
        simple_layout(NULL);
        ASSERT_FAILS_WITH(oci_image_open(layout, &image, &err), "unsupported media type");
}
END_TEST

static void unpack_and_check(void) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_(layer_cache_freep) LayerCache *c = NULL;
        _cleanup_strv_free_ char **lowers = NULL;
        _cleanup_free_ char *p = NULL;
        ForgeError err = {};
        TestBuf b;

        ASSERT_OK(oci_image_open(layout, &image, &err));
        ASSERT_OK(layer_cache_open(cache, &c, &err));
        ck_assert_int_eq(layer_cache_unpack_image(c, image, NULL, NULL, 0, NULL, NULL, &lowers, &err), 1);
        ck_assert_int_ge(asprintf(&p, "%s/bin/hello", lowers[0]), 0);
        b = test_read_file(p);
        ck_assert_str_eq(b.data, "#!/bin/sh\necho hello\n");
        free(b.data);
}

START_TEST(test_docker_media_types) {
        layer.media_type = "application/vnd.docker.image.rootfs.diff.tar.gzip";
        simple_layout(NULL);
        unpack_and_check();
}
END_TEST

START_TEST(test_zstd_layer) {
        layer.compression = OCI_COMPRESSION_ZSTD;
        simple_layout(NULL);
        unpack_and_check();
}
END_TEST

START_TEST(test_plain_layer) {
        layer.compression = OCI_COMPRESSION_NONE;
        simple_layout(NULL);
        unpack_and_check();
}
END_TEST

static int refuse_all(const OciImage *image, void *userdata, ForgeError *err) {
        char **seen = userdata;

        *seen = strdup(image->manifest.digest);
        return forge_error_set(err, -EPERM, "signature of %s does not verify against the anchor",
                               image->manifest.digest);
}

static int accept_all(const OciImage *image, void *userdata, ForgeError *err) {
        (*(int *) userdata)++;
        return 0;
}

START_TEST(test_verifier_seam) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_(layer_cache_freep) LayerCache *c = NULL;
        _cleanup_free_ char *seen = NULL;
        ForgeError err = {};
        int calls = 0;

        simple_layout(NULL);
        ASSERT_OK(oci_image_open(layout, &image, &err));
        ASSERT_OK(layer_cache_open(cache, &c, &err));
        ASSERT_FAILS_WITH(layer_cache_unpack_image(c, image, refuse_all, &seen, 0, NULL, NULL, NULL, &err),
                          "refused by verifier: signature of sha256:");
        ck_assert_str_eq(seen, manifest_digest);
        /* Refused before a single layer was touched. */
        ck_assert_int_eq(test_count_entries(cache, NULL), 0);

        forge_error_clear(&err);
        ck_assert_int_eq(layer_cache_unpack_image(c, image, accept_all, &calls, 0, NULL, NULL, NULL, &err),
                         1);
        ck_assert_int_eq(calls, 1);
}
END_TEST

static void record_progress(OciProgressPhase phase, const char *digest, uint64_t done, uint64_t total,
                            void *userdata) {
        uint64_t *last = userdata;

        ck_assert_int_eq(phase, OCI_PROGRESS_VERIFY);
        ck_assert_uint_ge(done, *last);
        ck_assert_uint_le(done, total);
        *last = done;
}

START_TEST(test_verify_layers_progress) {
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        ForgeError err = {};
        uint64_t last = 0;

        simple_layout(NULL);
        ASSERT_OK(oci_image_open(layout, &image, &err));
        ASSERT_OK(oci_image_verify_layers(image, record_progress, &last, &err));
        ck_assert_uint_eq(last, image->layers[0].blob.size);
}
END_TEST

static Suite *oci_image_suite(void) {
        Suite *s = suite_create("oci-image");
        TCase *tc = tcase_create("layout");

        tcase_add_unchecked_fixture(tc, run_setup, run_teardown);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_open_only_and_by_tag);
        tcase_add_test(tc, test_reference_parse);
        tcase_add_test(tc, test_config_fields);
        tcase_add_test(tc, test_tag_not_found);
        tcase_add_test(tc, test_several_manifests_need_a_tag);
        tcase_add_test(tc, test_nested_index_prefers_linux_amd64);
        tcase_add_test(tc, test_digest_parse);
        tcase_add_test(tc, test_not_a_layout);
        tcase_add_test(tc, test_unsupported_media_type);
        suite_add_tcase(s, tc);

        tc = tcase_create("blobs");
        tcase_add_unchecked_fixture(tc, run_setup, run_teardown);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_tampered_config);
        tcase_add_test(tc, test_tampered_manifest);
        tcase_add_test(tc, test_tampered_layer);
        tcase_add_test(tc, test_layer_wrong_size);
        tcase_add_test(tc, test_descriptor_wrong_size);
        tcase_add_test(tc, test_bad_digest_strings);
        tcase_add_test(tc, test_missing_blob);
        tcase_add_test(tc, test_sha512_manifest);
        tcase_add_test(tc, test_symlinked_blob);
        tcase_add_test(tc, test_diff_id_mismatch);
        tcase_add_test(tc, test_compression_mismatch);
        tcase_add_test(tc, test_verify_layers_progress);
        suite_add_tcase(s, tc);

        tc = tcase_create("unpack");
        tcase_add_unchecked_fixture(tc, run_setup, run_teardown);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_docker_media_types);
        tcase_add_test(tc, test_zstd_layer);
        tcase_add_test(tc, test_plain_layer);
        tcase_add_test(tc, test_verifier_seam);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return fo_test_run(oci_image_suite());
}
