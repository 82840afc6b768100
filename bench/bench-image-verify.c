/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Image verification: `forgeonectl image verify DIR` (index, manifest and config digests, every layer
 * blob's digest and size, the trust status, and the cosign signature against the anchor) vs `sha256sum`
 * over the same blob files, in the same run: interleaved rounds (the order alternates), medians, ratio.
 *
 *   bench-image-verify [FORGECTL] [ROUNDS] [MIB]   (no root needed)
 *
 * The image is made here under $TMPDIR (default /var/tmp): MIB MiB (default 200) of random layer data
 * in 4 layers, signed with a P-256 key generated here, verified against an anchor holding its public key
 * in software mode (a TCTI device that does not exist: no TPM is part of the measurement). The page
 * cache is warmed once for both before timing. FORGECTL defaults to ../src/cli/forgeonectl beside this
 * program.
 */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forgeone/oci-digest.h"
#include "forgeone/oci-image.h"
#include "forgeone/time-util.h"
#include "forgeone/trust-signature.h"

#include "bench-util.h"

#define N_LAYERS 4

static void die(const char *what) {
        fprintf(stderr, "bench-image-verify: %s\n", what);
        exit(1);
}

static void write_file(const char *path, const void *data, size_t n) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd < 0 || write(fd, data, n) != (ssize_t) n || close(fd) < 0)
                die(path);
}

/* Writes data as blobs/sha256/<hex>; returns "sha256:<hex>". */
static char *blob(const char *layout, const void *data, size_t n) {
        char digest[OCI_DIGEST_STRING_MAX], *path;

        if (oci_digest_buffer(OCI_DIGEST_SHA256, data, n, digest) < 0 ||
            asprintf(&path, "%s/blobs/sha256/%s", layout, digest + 7) < 0)
                die("hashing");
        write_file(path, data, n);
        free(path);
        return strdup(digest);
}

static void build_image(const char *dir, size_t mib) {
        char *layout, *p, *layer_digest[N_LAYERS], *config, *manifest, *cfg_digest, *man_digest, *index;
        size_t layer_size = mib * 1024 * 1024 / N_LAYERS, cfg_len, man_len;
        unsigned char *data = malloc(layer_size);

        if (!data || asprintf(&layout, "%s/img", dir) < 0)
                die("out of memory");
        mkdir(layout, 0755);
        if (asprintf(&p, "%s/blobs", layout) < 0 || mkdir(p, 0755) < 0)
                die("mkdir blobs");
        free(p);
        if (asprintf(&p, "%s/blobs/sha256", layout) < 0 || mkdir(p, 0755) < 0)
                die("mkdir blobs/sha256");
        free(p);
        if (asprintf(&p, "%s/oci-layout", layout) < 0)
                die("out of memory");
        write_file(p, "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
        free(p);

        for (size_t i = 0; i < N_LAYERS; i++) {
                if (RAND_bytes(data, (int) layer_size) != 1)
                        die("RAND_bytes");
                layer_digest[i] = blob(layout, data, layer_size);
        }
        /* diff_ids are only checked while unpacking; verification checks the blobs. */
        if (asprintf(&config,
                     "{\"os\":\"linux\",\"architecture\":\"amd64\",\"rootfs\":{\"type\":\"layers\",\"diff_"
                     "ids\":"
                     "[\"%s\",\"%s\",\"%s\",\"%s\"]}}",
                     layer_digest[0], layer_digest[1], layer_digest[2], layer_digest[3]) < 0)
                die("out of memory");
        cfg_len = strlen(config);
        cfg_digest = blob(layout, config, cfg_len);
        if (asprintf(&manifest,
                     "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                     "\"config\":{\"mediaType\":\"application/"
                     "vnd.oci.image.config.v1+json\",\"digest\":\"%s\","
                     "\"size\":%zu},\"layers\":["
                     "{\"mediaType\":\"application/"
                     "vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%zu},"
                     "{\"mediaType\":\"application/"
                     "vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%zu},"
                     "{\"mediaType\":\"application/"
                     "vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%zu},"
                     "{\"mediaType\":\"application/"
                     "vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%zu}]}",
                     cfg_digest, cfg_len, layer_digest[0], layer_size, layer_digest[1], layer_size,
                     layer_digest[2], layer_size, layer_digest[3], layer_size) < 0)
                die("out of memory");
        man_len = strlen(manifest);
        man_digest = blob(layout, manifest, man_len);
        if (asprintf(&index,
                     "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/"
                     "vnd.oci.image.manifest.v1+json\","
                     "\"digest\":\"%s\",\"size\":%zu,\"annotations\":{\"org.opencontainers.image.ref.name\":"
                     "\"bench\"}}]}",
                     man_digest, man_len) < 0 ||
            asprintf(&p, "%s/index.json", layout) < 0)
                die("out of memory");
        write_file(p, index, strlen(index));
        free(p);
        for (size_t i = 0; i < N_LAYERS; i++)
                free(layer_digest[i]);
        free(config);
        free(manifest);
        free(cfg_digest);
        free(man_digest);
        free(index);
        free(layout);
        free(data);
}

/* A key, the image signed with it, an anchor holding it, and a software-mode trust configuration. */
static void sign_and_anchor(const char *dir) {
        EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        OciImage *image = NULL;
        ForgeError ierr = {};
        ForgeError err = {};
        BIO *b = BIO_new(BIO_s_mem());
        char *ref, *pem, *path, *text, *escaped, *e;
        long n;

        if (!key || !b || !PEM_write_bio_PUBKEY(b, key))
                die("key generation");
        n = BIO_get_mem_data(b, &pem);
        escaped = e = malloc((size_t) n * 2 + 1);
        for (long i = 0; i < n; i++)
                if (pem[i] == '\n') {
                        *e++ = '\\';
                        *e++ = 'n';
                } else
                        *e++ = pem[i];
        *e = 0;
        if (asprintf(&path, "%s/anchor.json", dir) < 0 ||
            asprintf(&text,
                     "{\"format\":1,\"id\":\"bench\",\"keys\":[{\"id\":\"bench\",\"algorithm\":\"ecdsa-"
                     "p256\","
                     "\"public_key\":\"%s\"}]}\n",
                     escaped) < 0)
                die("out of memory");
        write_file(path, text, strlen(text));
        free(text);
        if (asprintf(&text, "{\"anchor\":\"%s\",\"tcti\":\"device:%s/no-tpm\",\"state_dir\":\"%s/state\"}\n",
                     path, dir, dir) < 0)
                die("out of memory");
        free(path);
        if (asprintf(&path, "%s/trust.json", dir) < 0)
                die("out of memory");
        write_file(path, text, strlen(text));
        setenv("FORGEONE_TRUST_CONFIG", path, 1);
        free(path);
        free(text);

        if (asprintf(&ref, "%s/img:bench", dir) < 0)
                die("out of memory");
        if (oci_image_open(ref, &image, &ierr) < 0)
                die(ierr.message);
        if (trust_layout_sign(image, key, "bench", &err) < 0)
                die(err.message);
        oci_image_free(image);
        free(ref);
        free(escaped);
        BIO_free(b);
        EVP_PKEY_free(key);
}

/* Runs argv with stdout to /dev/null; returns the wall time in microseconds, dies on failure. */
static uint64_t timed(char *const argv[]) {
        uint64_t start = time_now_usec(CLOCK_MONOTONIC);
        int status;
        pid_t pid = fork();

        if (pid < 0)
                die("fork");
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

                if (null >= 0)
                        dup2(null, STDOUT_FILENO);
                execvp(argv[0], argv);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "bench-image-verify: %s failed (status %d)\n", argv[0], status);
                exit(1);
        }
        return time_now_usec(CLOCK_MONOTONIC) - start;
}

static int rm_rf(const char *dir) {
        char *cmd;
        int r;

        if (asprintf(&cmd, "rm -rf '%s'", dir) < 0)
                return -ENOMEM;
        r = system(cmd);
        free(cmd);
        return r;
}

int main(int argc, char *argv[]) {
        char ctl_default[4096], exe[4096], *dir, *ref, **sum_argv;
        const char *ctl = argc > 1 ? argv[1] : NULL, *tmpdir = getenv("TMPDIR") ?: "/var/tmp";
        unsigned rounds = argc > 2 ? (unsigned) atoi(argv[2]) : 9;
        size_t mib = argc > 3 ? (size_t) atoi(argv[3]) : 200, n_blobs = 0;
        uint64_t *a, *b, ma, mb;
        struct dirent *de;
        char *blobs_dir;
        DIR *d;

        if (!ctl) {
                ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);

                if (k < 0)
                        die("cannot find forgeonectl: give its path");
                exe[k] = 0;
                snprintf(ctl_default, sizeof ctl_default, "%s/../src/cli/forgeonectl", dirname(exe));
                ctl = ctl_default;
        }
        if (rounds < 1 || mib < 4)
                die("usage: bench-image-verify [FORGECTL] [ROUNDS >= 1] [MIB >= 4]");
        if (asprintf(&dir, "%s/bench-image-verify-XXXXXX", tmpdir) < 0 || !mkdtemp(dir))
                die("cannot create a temp dir");
        build_image(dir, mib);
        sign_and_anchor(dir);

        /* sha256sum over every blob of the layout: layers, config, manifest and the signature's. */
        if (asprintf(&blobs_dir, "%s/img/blobs/sha256", dir) < 0 || !(d = opendir(blobs_dir)))
                die("cannot list the blobs");
        sum_argv = calloc(64, sizeof *sum_argv);
        sum_argv[n_blobs++] = (char *) "sha256sum";
        while ((de = readdir(d)) && n_blobs < 62)
                if (de->d_name[0] != '.' &&
                    asprintf(&sum_argv[n_blobs++], "%s/%s", blobs_dir, de->d_name) < 0)
                        die("out of memory");
        closedir(d);
        if (asprintf(&ref, "%s/img:bench", dir) < 0)
                die("out of memory");
        char *verify_argv[] = { (char *) ctl, (char *) "image", (char *) "verify", ref, NULL };

        a = calloc(rounds, sizeof *a);
        b = calloc(rounds, sizeof *b);
        (void) timed(verify_argv); /* warm the page cache and check it verifies */
        (void) timed(sum_argv);
        for (unsigned i = 0; i < rounds; i++) {
                if (i % 2) {
                        b[i] = timed(sum_argv);
                        a[i] = timed(verify_argv);
                } else {
                        a[i] = timed(verify_argv);
                        b[i] = timed(sum_argv);
                }
        }
        ma = bench_median_u64(a, rounds);
        mb = bench_median_u64(b, rounds);
        printf("image of %zu MiB in %d layers (%zu blobs), %u interleaved rounds, medians:\n", mib, N_LAYERS,
               n_blobs - 1, rounds);
        printf("  forgeonectl image verify (digests + signature): %8.1f ms\n", ma / 1000.0);
        printf("  sha256sum over the same blobs:                 %8.1f ms\n", mb / 1000.0);
        printf("  ratio: %.2f (target <= 1.2)\n", (double) ma / (double) mb);

        (void) rm_rf(dir);
        for (size_t i = 1; i < n_blobs; i++)
                free(sum_argv[i]);
        free(sum_argv);
        free(blobs_dir);
        free(ref);
        free(dir);
        free(a);
        free(b);
        return 0;
}
