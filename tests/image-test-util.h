/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Builders for the image tests: tar layers written with libarchive's writer
 * (including malformed and malicious ones, which is why names are passed
 * through unchanged), gzip/zstd compression, and complete OCI layouts with
 * correct digests that a test can then tamper with.
 */

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "forgeone/oci-digest.h"
#include "forgeone/oci-image.h"

typedef struct TestBuf {
        char *data;
        size_t size, allocated;
} TestBuf;

static inline void test_buf_append(TestBuf *b, const void *p, size_t n) {
        if (b->size + n + 1 > b->allocated) {
                b->allocated = (b->size + n + 1) * 2;
                b->data = realloc(b->data, b->allocated);
                if (!b->data)
                        abort();
        }
        memcpy(b->data + b->size, p, n);
        b->size += n;
        b->data[b->size] = 0;
}

static inline void test_buf_append_str(TestBuf *b, const char *s) {
        test_buf_append(b, s, strlen(s));
}

static inline la_ssize_t test_buf_write_cb(struct archive *a, void *userdata, const void *p, size_t n) {
        test_buf_append(userdata, p, n);
        return n;
}

/* ---- tar layers ---- */

typedef struct TestTar {
        struct archive *a;
        TestBuf out;
} TestTar;

static inline TestTar *test_tar_new(void) {
        TestTar *t = calloc(1, sizeof *t);

        t->a = archive_write_new();
        archive_write_set_format_pax_restricted(t->a);
        archive_write_set_bytes_in_last_block(t->a, 1);
        if (archive_write_open(t->a, &t->out, NULL, test_buf_write_cb, NULL) != ARCHIVE_OK)
                abort();
        return t;
}

static inline void test_tar_entry(TestTar *t, const char *path, mode_t type, mode_t perm, const char *data,
                                  const char *link, const char *hardlink, dev_t rdev) {
        struct archive_entry *e = archive_entry_new();
        size_t n = data ? strlen(data) : 0;

        archive_entry_set_pathname(e, path);
        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, perm);
        archive_entry_set_mtime(e, 1700000000, 0);
        archive_entry_set_uid(e, 0);
        archive_entry_set_gid(e, 0);
        if (link)
                archive_entry_set_symlink(e, link);
        if (hardlink)
                archive_entry_set_hardlink(e, hardlink);
        if (rdev)
                archive_entry_set_rdev(e, rdev);
        archive_entry_set_size(e, type == AE_IFREG && !hardlink ? n : 0);
        if (archive_write_header(t->a, e) < ARCHIVE_WARN) {
                fprintf(stderr, "tar header %s: %s\n", path, archive_error_string(t->a));
                abort();
        }
        if (n && !hardlink && archive_write_data(t->a, data, n) != (la_ssize_t) n)
                abort();
        archive_entry_free(e);
}

#define test_tar_file(t, path, data) test_tar_entry(t, path, AE_IFREG, 0644, data, NULL, NULL, 0)
#define test_tar_file_mode(t, path, data, m) test_tar_entry(t, path, AE_IFREG, m, data, NULL, NULL, 0)
#define test_tar_dir(t, path) test_tar_entry(t, path, AE_IFDIR, 0755, NULL, NULL, NULL, 0)
#define test_tar_symlink(t, path, target) test_tar_entry(t, path, AE_IFLNK, 0777, NULL, target, NULL, 0)
#define test_tar_hardlink(t, path, target) test_tar_entry(t, path, AE_IFREG, 0644, NULL, NULL, target, 0)

/* Returns the finished tar; the builder is freed. */
static inline TestBuf test_tar_finish(TestTar *t) {
        TestBuf b;

        archive_write_close(t->a);
        archive_write_free(t->a);
        b = t->out;
        free(t);
        return b;
}

/* Compresses with libarchive's raw writer and the given filter. */
static inline TestBuf test_compress(const TestBuf *in, OciCompression c) {
        struct archive *a;
        struct archive_entry *e;
        TestBuf out = {};

        if (c == OCI_COMPRESSION_NONE) {
                test_buf_append(&out, in->data, in->size);
                return out;
        }
        a = archive_write_new();
        archive_write_set_format_raw(a);
        if ((c == OCI_COMPRESSION_GZIP ? archive_write_add_filter_gzip(a)
                                       : archive_write_add_filter_zstd(a)) != ARCHIVE_OK)
                abort();
        archive_write_set_bytes_in_last_block(a, 1);
        if (archive_write_open(a, &out, NULL, test_buf_write_cb, NULL) != ARCHIVE_OK)
                abort();
        e = archive_entry_new();
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_pathname(e, "data");
        if (archive_write_header(a, e) != ARCHIVE_OK)
                abort();
        if (in->size && archive_write_data(a, in->data, in->size) != (la_ssize_t) in->size)
                abort();
        archive_entry_free(e);
        archive_write_close(a);
        archive_write_free(a);
        return out;
}

/* ---- files ---- */

static inline char *test_mkdtemp_in(const char *parent) {
        char *p;

        if (!parent)
                parent = getenv("TMPDIR") ?: "/tmp";
        if (asprintf(&p, "%s/forgeone-image-test-XXXXXX", parent) < 0 || !mkdtemp(p))
                abort();
        return p;
}

static inline char *test_mkdtemp(void) {
        return test_mkdtemp_in(NULL);
}

static inline int test_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        if (flag == FTW_DP || flag == FTW_D)
                (void) rmdir(path);
        else
                (void) unlink(path);
        return 0;
}

static inline int test_chmod_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        if (flag == FTW_D || flag == FTW_DNR)
                (void) chmod(path, 0700);
        return 0;
}

static inline void test_rm_rf(const char *path) {
        if (!path)
                return;
        (void) nftw(path, test_chmod_cb, 64, FTW_PHYS);
        (void) nftw(path, test_rm_cb, 64, FTW_DEPTH | FTW_PHYS);
}

static inline void test_write_file(const char *path, const void *data, size_t n) {
        FILE *f = fopen(path, "we");

        if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
                fprintf(stderr, "cannot write %s\n", path);
                abort();
        }
}

static inline TestBuf test_read_file(const char *path) {
        TestBuf b = {};
        char buf[4096];
        size_t n;
        FILE *f = fopen(path, "re");

        if (!f)
                abort();
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
                test_buf_append(&b, buf, n);
        fclose(f);
        return b;
}

/* Number of entries in dir other than ".", ".." and names in `ignore` (NULL-terminated, may be NULL). */
static inline int test_count_entries(const char *dir, const char *const *ignore) {
        DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;

        if (!d)
                return -1;
        while ((de = readdir(d))) {
                bool skip = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");

                for (const char *const *i = ignore; !skip && i && *i; i++)
                        skip = !strcmp(de->d_name, *i);
                n += !skip;
        }
        closedir(d);
        return n;
}

static inline bool test_exists(const char *path) {
        struct stat st;

        return lstat(path, &st) == 0;
}

/* ---- OCI layouts ---- */

/* Writes data as a blob of the layout; returns "sha256:<hex>" (static storage per call site is not
 * needed: the caller gets a heap string). */
static inline char *test_layout_blob(const char *layout, const void *data, size_t n) {
        char digest[OCI_DIGEST_STRING_MAX], *path;

        if (oci_digest_buffer(OCI_DIGEST_SHA256, data, n, digest) < 0)
                abort();
        if (asprintf(&path, "%s/blobs/sha256/%s", layout, digest + 7) < 0)
                abort();
        test_write_file(path, data, n);
        free(path);
        return strdup(digest);
}

static inline char *test_blob_path(const char *layout, const char *digest) {
        char *p;

        if (asprintf(&p, "%s/blobs/sha256/%s", layout, digest + 7) < 0)
                abort();
        return p;
}

static inline void test_layout_init(const char *layout) {
        char *p;

        mkdir(layout, 0755);
        if (asprintf(&p, "%s/blobs", layout) < 0)
                abort();
        mkdir(p, 0755);
        free(p);
        if (asprintf(&p, "%s/blobs/sha256", layout) < 0)
                abort();
        mkdir(p, 0755);
        free(p);
        if (asprintf(&p, "%s/oci-layout", layout) < 0)
                abort();
        test_write_file(p, "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
        free(p);
}

typedef struct TestLayer {
        TestBuf tar; /* uncompressed */
        OciCompression compression;
        const char *media_type; /* NULL: the OCI type for the compression */
        const char *diff_id;    /* NULL: the right one */
} TestLayer;

static inline const char *test_media_type(OciCompression c) {
        return c == OCI_COMPRESSION_GZIP   ? "application/vnd.oci.image.layer.v1.tar+gzip"
               : c == OCI_COMPRESSION_ZSTD ? "application/vnd.oci.image.layer.v1.tar+zstd"
                                           : "application/vnd.oci.image.layer.v1.tar";
}

/* Writes config and manifest blobs for the layers; returns the manifest's descriptor JSON (heap) to put
 * into an index, with `annotations` (a JSON object text or NULL) and `platform` (or NULL). */
static inline char *test_layout_image(const char *layout, const TestLayer *layers, size_t n,
                                      const char *config_extra, const char *annotations,
                                      const char *platform, char **ret_manifest_digest) {
        TestBuf config = {}, manifest = {};
        char *cfg_digest, *man_digest, *desc, diff[OCI_DIGEST_STRING_MAX], line[1024];

        test_buf_append_str(&config, "{\"os\":\"linux\",\"architecture\":\"amd64\",");
        if (config_extra)
                test_buf_append(&config, config_extra, strlen(config_extra));
        test_buf_append_str(&config, "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[");
        test_buf_append_str(
                &manifest,
                "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",");

        /* Compressed once: gzip headers carry a time stamp, so a second run may differ. */
        char(*digests)[OCI_DIGEST_STRING_MAX] = calloc(n ?: 1, sizeof *digests);
        size_t *sizes = calloc(n ?: 1, sizeof *sizes);
        for (size_t i = 0; i < n; i++) {
                TestBuf blob = test_compress(&layers[i].tar, layers[i].compression);
                char *d = test_layout_blob(layout, blob.data, blob.size);

                snprintf(digests[i], sizeof digests[i], "%s", d);
                sizes[i] = blob.size;
                if (oci_digest_buffer(OCI_DIGEST_SHA256, layers[i].tar.data, layers[i].tar.size, diff) < 0)
                        abort();
                snprintf(line, sizeof line, "%s\"%s\"", i ? "," : "", layers[i].diff_id ?: diff);
                test_buf_append(&config, line, strlen(line));
                free(blob.data);
                free(d);
        }
        test_buf_append_str(&config, "]}}");
        cfg_digest = test_layout_blob(layout, config.data, config.size);

        snprintf(line, sizeof line,
                 "\"config\":{\"mediaType\":\"application/"
                 "vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%zu},"
                 "\"layers\":[",
                 cfg_digest, config.size);
        test_buf_append(&manifest, line, strlen(line));
        for (size_t i = 0; i < n; i++) {
                snprintf(line, sizeof line, "%s{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}",
                         i ? "," : "", layers[i].media_type ?: test_media_type(layers[i].compression),
                         digests[i], sizes[i]);
                test_buf_append(&manifest, line, strlen(line));
        }
        free(digests);
        free(sizes);
        test_buf_append_str(&manifest, "]}");
        man_digest = test_layout_blob(layout, manifest.data, manifest.size);

        if (asprintf(&desc,
                     "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\","
                     "\"size\":%zu%s%s%s%s}",
                     man_digest, manifest.size, annotations ? ",\"annotations\":" : "", annotations ?: "",
                     platform ? ",\"platform\":" : "", platform ?: "") < 0)
                abort();
        if (ret_manifest_digest)
                *ret_manifest_digest = man_digest;
        else
                free(man_digest);
        free(config.data);
        free(manifest.data);
        free(cfg_digest);
        return desc;
}

/* Writes index.json with the given descriptor JSON texts. */
static inline void test_layout_index(const char *layout, const char *const *descs, size_t n) {
        TestBuf b = {};
        char *p;

        test_buf_append_str(&b, "{\"schemaVersion\":2,\"manifests\":[");
        for (size_t i = 0; i < n; i++) {
                if (i)
                        test_buf_append_str(&b, ",");
                test_buf_append(&b, descs[i], strlen(descs[i]));
        }
        test_buf_append_str(&b, "]}");
        if (asprintf(&p, "%s/index.json", layout) < 0)
                abort();
        test_write_file(p, b.data, b.size);
        free(p);
        free(b.data);
}

/* One-call layout: the layers as one image tagged `tag` (NULL: untagged). Returns the manifest digest. */
static inline char *test_layout_simple(const char *layout, const TestLayer *layers, size_t n,
                                       const char *tag) {
        char *digest, *desc, ann[256];

        test_layout_init(layout);
        if (tag)
                snprintf(ann, sizeof ann, "{\"org.opencontainers.image.ref.name\":\"%s\"}", tag);
        desc = test_layout_image(layout, layers, n, NULL, tag ? ann : NULL, NULL, &digest);
        test_layout_index(layout, (const char *const[]) { desc }, 1);
        free(desc);
        return digest;
}
