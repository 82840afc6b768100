/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Layer unpacking: layer_unpack() (digest of the compressed blob and diff_id of the tar stream checked
 * in the same pass, every write through O_NOFOLLOW dirfds) vs GNU tar -xzf of the same blob, in the same
 * run, into fresh directories on the same file system. Also the cost of a cache hit.
 *
 *   bench-layer-unpack [ITERATIONS] [FILES]   (no root needed; needs GNU tar)
 *
 * The layer is generated here: FILES files (default 3000) of 0..32 KiB of half-compressible data in
 * 60 directories, with symlinks and hardlinks. Prints medians and the ratio against tar.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "forgeone/layer-cache.h"
#include "forgeone/layer-unpack.h"
#include "forgeone/oci-digest.h"
#include "forgeone/time-util.h"

#include "bench-util.h"

typedef struct Buf {
        char *data;
        size_t size, allocated;
} Buf;

static void buf_append(Buf *b, const void *p, size_t n) {
        if (b->size + n > b->allocated) {
                b->allocated = (b->size + n) * 2;
                b->data = realloc(b->data, b->allocated);
                if (!b->data)
                        abort();
        }
        memcpy(b->data + b->size, p, n);
        b->size += n;
}

static la_ssize_t write_cb(struct archive *a, void *userdata, const void *p, size_t n) {
        buf_append(userdata, p, n);
        return n;
}

static void entry(struct archive *a, const char *path, mode_t type, const char *data, size_t n,
                  const char *link, const char *hardlink) {
        struct archive_entry *e = archive_entry_new();

        archive_entry_set_pathname(e, path);
        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
        archive_entry_set_mtime(e, 1700000000, 0);
        if (link)
                archive_entry_set_symlink(e, link);
        if (hardlink)
                archive_entry_set_hardlink(e, hardlink);
        archive_entry_set_size(e, type == AE_IFREG && !hardlink ? n : 0);
        if (archive_write_header(a, e) != ARCHIVE_OK ||
            (n && !hardlink && archive_write_data(a, data, n) != (la_ssize_t) n))
                abort();
        archive_entry_free(e);
}

/* Returns the uncompressed tar in *ret_tar and the gzip blob in *ret_gz. */
static void make_layer(unsigned files, Buf *ret_tar, Buf *ret_gz) {
        struct archive *a = archive_write_new(), *z = archive_write_new();
        struct archive_entry *e;
        static char data[32768];
        unsigned seed = 42;
        char path[256], target[256];

        for (size_t i = 0; i < sizeof data; i++) /* half random, half runs: compresses about 2:1 */
        {
                seed = seed * 1103515245 + 12345;
                data[i] = (char) ((i / 64) % 2 ? (seed >> 16) & 0xff : 'a' + i % 7);
        }

        archive_write_set_format_pax_restricted(a);
        archive_write_set_bytes_in_last_block(a, 1);
        if (archive_write_open(a, ret_tar, NULL, write_cb, NULL) != ARCHIVE_OK)
                abort();
        for (unsigned d = 0; d < 60; d++) {
                snprintf(path, sizeof path, "usr/lib/d%02u/", d);
                entry(a, d == 0 ? "usr/" : path, AE_IFDIR, NULL, 0, NULL, NULL);
                if (d == 0) {
                        entry(a, "usr/lib/", AE_IFDIR, NULL, 0, NULL, NULL);
                        entry(a, path, AE_IFDIR, NULL, 0, NULL, NULL);
                }
        }
        for (unsigned i = 0; i < files; i++) {
                size_t n = (i * 7919u) % sizeof data;

                snprintf(path, sizeof path, "usr/lib/d%02u/file-%05u.so", i % 60, i);
                entry(a, path, AE_IFREG, data + (i % 97), n > sizeof data - 97 ? sizeof data - 97 : n, NULL,
                      NULL);
                if (i % 10 == 0) {
                        snprintf(target, sizeof target, "file-%05u.so", i);
                        snprintf(path, sizeof path, "usr/lib/d%02u/link-%05u", i % 60, i);
                        entry(a, path, AE_IFLNK, NULL, 0, target, NULL);
                }
                if (i % 25 == 0) {
                        snprintf(target, sizeof target, "usr/lib/d%02u/file-%05u.so", i % 60, i);
                        snprintf(path, sizeof path, "usr/lib/d%02u/hard-%05u", i % 60, i);
                        entry(a, path, AE_IFREG, NULL, 0, NULL, target);
                }
        }
        archive_write_close(a);
        archive_write_free(a);

        archive_write_set_format_raw(z);
        archive_write_add_filter_gzip(z);
        archive_write_set_bytes_in_last_block(z, 1);
        if (archive_write_open(z, ret_gz, NULL, write_cb, NULL) != ARCHIVE_OK)
                abort();
        e = archive_entry_new();
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_pathname(e, "layer");
        if (archive_write_header(z, e) != ARCHIVE_OK ||
            archive_write_data(z, ret_tar->data, ret_tar->size) != (la_ssize_t) ret_tar->size)
                abort();
        archive_entry_free(e);
        archive_write_close(z);
        archive_write_free(z);
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        if (flag == FTW_DP)
                (void) rmdir(path);
        else
                (void) unlink(path);
        return 0;
}

static void rm_rf(const char *path) {
        (void) nftw(path, rm_cb, 64, FTW_DEPTH | FTW_PHYS);
}

static int run_tar(const char *blob, const char *dir) {
        pid_t pid = fork();
        int status;

        if (pid < 0)
                return -1;
        if (pid == 0) {
                execlp("tar", "tar", "-xzf", blob, "-C", dir, NULL);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
                return -1;
        return WEXITSTATUS(status);
}

int main(int argc, char **argv) {
        unsigned iterations = argc > 1 ? (unsigned) atoi(argv[1]) : 5,
                 files = argc > 2 ? (unsigned) atoi(argv[2]) : 3000;
        char tmp[] = "/var/tmp/forgeone-bench-layer-XXXXXX", blob[256], dir[256], cache_dir[256];
        char digest[OCI_DIGEST_STRING_MAX], diff_id[OCI_DIGEST_STRING_MAX];
        uint64_t *t_tar, *t_ours, t0, t_hit;
        Buf tar = {}, gz = {};
        FILE *f;
        int r = 0;

        if (iterations == 0 || files == 0) {
                fprintf(stderr, "usage: %s [ITERATIONS] [FILES]\n", argv[0]);
                return EXIT_FAILURE;
        }
        if (!mkdtemp(tmp)) {
                perror("mkdtemp");
                return EXIT_FAILURE;
        }
        make_layer(files, &tar, &gz);
        if (oci_digest_buffer(OCI_DIGEST_SHA256, gz.data, gz.size, digest) < 0 ||
            oci_digest_buffer(OCI_DIGEST_SHA256, tar.data, tar.size, diff_id) < 0)
                abort();
        snprintf(blob, sizeof blob, "%s/layer.tar.gz", tmp);
        f = fopen(blob, "we");
        if (!f || fwrite(gz.data, 1, gz.size, f) != gz.size || fclose(f) != 0) {
                perror(blob);
                return EXIT_FAILURE;
        }
        printf("layer: %u files, %.1f MiB tar, %.1f MiB gzip\n", files, tar.size / 1048576.0,
               gz.size / 1048576.0);

        t_tar = calloc(iterations, sizeof *t_tar);
        t_ours = calloc(iterations, sizeof *t_ours);
        for (unsigned i = 0; i < iterations && r == 0; i++) {
                OciDescriptor d = { .media_type = (char *) "application/vnd.oci.image.layer.v1.tar+gzip",
                                    .digest = digest,
                                    .size = gz.size };
                ForgeError err = {};
                int fd, dfd;

                /* Alternate the order so neither always runs with the warmer cache. */
                for (unsigned k = 0; k < 2; k++) {
                        bool ours = (i + k) % 2;

                        snprintf(dir, sizeof dir, "%s/out", tmp);
                        rm_rf(dir);
                        if (mkdir(dir, 0755) < 0)
                                abort();
                        if (!ours) {
                                t0 = time_now_usec(CLOCK_MONOTONIC);
                                r = run_tar(blob, dir);
                                t_tar[i] = time_now_usec(CLOCK_MONOTONIC) - t0;
                                if (r != 0)
                                        fprintf(stderr, "tar failed (%d)\n", r);
                                continue;
                        }
                        fd = open(blob, O_RDONLY | O_CLOEXEC);
                        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        t0 = time_now_usec(CLOCK_MONOTONIC);
                        r = layer_unpack(fd, &d, OCI_COMPRESSION_GZIP, diff_id, dfd, 0, NULL, NULL, NULL,
                                         NULL, &err);
                        t_ours[i] = time_now_usec(CLOCK_MONOTONIC) - t0;
                        close(fd);
                        close(dfd);
                        if (r < 0)
                                fprintf(stderr, "layer_unpack: %s\n", err.message);
                }
        }

        /* A cache hit: what a second container start pays for this layer. */
        {
                char layout[300], ref[300];
                ForgeError err = {};
                LayerCache *c = NULL;
                OciImage *image = NULL;

                snprintf(layout, sizeof layout, "%s/layout", tmp);
                snprintf(cache_dir, sizeof cache_dir, "%s/cache", tmp);
                /* A one-layer layout around the same blob. */
                {
                        char p[2048], cfg[1024], man[1024], cfg_d[OCI_DIGEST_STRING_MAX],
                                man_d[OCI_DIGEST_STRING_MAX];
                        int n;

                        snprintf(p, sizeof p, "mkdir -p %s/blobs/sha256 && cp %s %s/blobs/sha256/%s", layout,
                                 blob, layout, digest + 7);
                        if (system(p) != 0)
                                abort();
                        n = snprintf(
                                cfg, sizeof cfg,
                                "{\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
                                diff_id);
                        oci_digest_buffer(OCI_DIGEST_SHA256, cfg, n, cfg_d);
                        snprintf(p, sizeof p, "%s/blobs/sha256/%s", layout, cfg_d + 7);
                        f = fopen(p, "we");
                        fwrite(cfg, 1, n, f);
                        fclose(f);
                        n = snprintf(man, sizeof man,
                                     "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
                                     "vnd.oci.image.config.v1+json\","
                                     "\"digest\":\"%s\",\"size\":%d},\"layers\":[{\"mediaType\":"
                                     "\"application/vnd.oci.image.layer.v1.tar+gzip\","
                                     "\"digest\":\"%s\",\"size\":%zu}]}",
                                     cfg_d, (int) strlen(cfg), digest, gz.size);
                        oci_digest_buffer(OCI_DIGEST_SHA256, man, n, man_d);
                        snprintf(p, sizeof p, "%s/blobs/sha256/%s", layout, man_d + 7);
                        f = fopen(p, "we");
                        fwrite(man, 1, n, f);
                        fclose(f);
                        snprintf(p, sizeof p, "%s/oci-layout", layout);
                        f = fopen(p, "we");
                        fputs("{\"imageLayoutVersion\":\"1.0.0\"}", f);
                        fclose(f);
                        snprintf(p, sizeof p, "%s/index.json", layout);
                        f = fopen(p, "we");
                        fprintf(f,
                                "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/"
                                "vnd.oci.image.manifest.v1+json\","
                                "\"digest\":\"%s\",\"size\":%d}]}",
                                man_d, n);
                        fclose(f);
                }
                snprintf(ref, sizeof ref, "%s", layout);
                if (oci_image_open(ref, &image, &err) < 0 || layer_cache_open(cache_dir, &c, &err) < 0 ||
                    layer_cache_unpack_image(c, image, NULL, NULL, 0, NULL, NULL, NULL, &err) != 1) {
                        fprintf(stderr, "cache: %s\n", err.message);
                        r = -1;
                } else {
                        oci_image_free(image);
                        image = NULL;
                        t0 = time_now_usec(CLOCK_MONOTONIC);
                        if (oci_image_open(ref, &image, &err) < 0 ||
                            layer_cache_unpack_image(c, image, NULL, NULL, 0, NULL, NULL, NULL, &err) != 0)
                                r = -1;
                        t_hit = time_now_usec(CLOCK_MONOTONIC) - t0;
                }
                oci_image_free(image);
                layer_cache_free(c);
        }

        if (r == 0) {
                uint64_t mt = bench_median_u64(t_tar, iterations), mo = bench_median_u64(t_ours, iterations);

                printf("tar -xzf (no verification)          median %8.2f ms\n", mt / 1000.0);
                printf("layer_unpack (digest+diff_id, safe)  median %8.2f ms   ratio %.2fx tar\n",
                       mo / 1000.0, mt ? (double) mo / mt : 0);
                printf("cached: open image + cache hit              %8.3f ms   ratio %.4fx tar\n",
                       t_hit / 1000.0, mt ? (double) t_hit / mt : 0);
        }
        rm_rf(tmp);
        free(t_tar);
        free(t_ours);
        free(tar.data);
        free(gz.data);
        return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
