/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "forgeone/layer-tree.h"
#include "forgeone/oci-digest.h"

#define BUF_SIZE (128u * 1024u)

typedef struct Link {
        dev_t dev;
        ino_t ino;
        char digest[OCI_DIGEST_STRING_MAX];
} Link;

typedef struct Walk {
        FILE *out;
        dev_t dev;
        char *buf; /* BUF_SIZE */
        Link *links;
        size_t n_links;
        ForgeError *err;
} Walk;

static void put_escaped(FILE *f, const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x21 || *p > 0x7e || *p == '\\')
                        fprintf(f, "\\x%02x", *p);
                else
                        fputc(*p, f);
}

static int hash_file(Walk *w, int dfd, const char *name, const char *path, const struct stat *st,
                     char *ret) {
        _cleanup_(oci_hasher_freep) OciHasher *h = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (st->st_nlink > 1)
                for (size_t i = 0; i < w->n_links; i++)
                        if (w->links[i].dev == st->st_dev && w->links[i].ino == st->st_ino) {
                                strcpy(ret, w->links[i].digest);
                                return 0;
                        }
        fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return forge_error_set(w->err, negative_errno(), "cannot open %s: %m", path);
        r = oci_hasher_new(OCI_DIGEST_SHA256, &h);
        if (r < 0)
                return r;
        for (;;) {
                ssize_t n = read(fd, w->buf, BUF_SIZE);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return forge_error_set(w->err, negative_errno(), "cannot read %s: %m", path);
                }
                if (n == 0)
                        break;
                r = oci_hasher_update(h, w->buf, (size_t) n);
                if (r < 0)
                        return r;
        }
        r = oci_hasher_finish(h, ret);
        if (r < 0)
                return r;
        if (st->st_nlink > 1) {
                Link *l = realloc(w->links, (w->n_links + 1) * sizeof *l);

                if (!l)
                        return -ENOMEM;
                w->links = l;
                l[w->n_links] = (Link){ .dev = st->st_dev, .ino = st->st_ino };
                strcpy(l[w->n_links++].digest, ret);
        }
        return 0;
}

static int cmp_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Extended attributes of an open file or directory, in name order. */
static int put_xattrs(Walk *w, int fd, const char *path) {
        _cleanup_free_ char *list = NULL;
        _cleanup_free_ char **names = NULL;
        ssize_t size;
        size_t n = 0;

        size = flistxattr(fd, NULL, 0);
        if (size < 0) {
                if (errno == ENOTSUP)
                        return 0;
                return forge_error_set(w->err, negative_errno(),
                                       "cannot list the extended attributes of %s: %m", path);
        }
        if (size == 0)
                return 0;
        list = malloc((size_t) size);
        if (!list)
                return -ENOMEM;
        size = flistxattr(fd, list, (size_t) size);
        if (size < 0)
                return forge_error_set(w->err, negative_errno(),
                                       "cannot list the extended attributes of %s: %m", path);
        for (ssize_t i = 0; i < size; i += (ssize_t) strlen(list + i) + 1)
                n++;
        names = calloc(n, sizeof *names);
        if (!names)
                return -ENOMEM;
        n = 0;
        for (ssize_t i = 0; i < size; i += (ssize_t) strlen(list + i) + 1)
                names[n++] = list + i;
        qsort(names, n, sizeof *names, cmp_names);
        for (size_t i = 0; i < n; i++) {
                ssize_t v = fgetxattr(fd, names[i], w->buf, BUF_SIZE);

                if (v < 0)
                        return forge_error_set(w->err, negative_errno(),
                                               "cannot read attribute %s of %s: %m", names[i], path);
                fputs(" xattr:", w->out);
                put_escaped(w->out, names[i]);
                fputc('=', w->out);
                for (ssize_t k = 0; k < v; k++)
                        fprintf(w->out, "%02x", (unsigned char) w->buf[k]);
        }
        return 0;
}

static char type_char(mode_t m) {
        return S_ISDIR(m)    ? 'd'
               : S_ISREG(m)  ? 'f'
               : S_ISLNK(m)  ? 'l'
               : S_ISCHR(m)  ? 'c'
               : S_ISBLK(m)  ? 'b'
               : S_ISFIFO(m) ? 'p'
                             : 's';
}

static int put_entry(Walk *w, int dfd, const char *name, const char *path, const struct stat *st,
                     int self_fd) {
        char digest[OCI_DIGEST_STRING_MAX] = "-", size[64] = "0";
        int r;

        if (S_ISREG(st->st_mode)) {
                r = hash_file(w, dfd, name, path, st, digest);
                if (r < 0)
                        return r;
                snprintf(size, sizeof size, "%" PRIu64, (uint64_t) st->st_size);
        } else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
                snprintf(size, sizeof size, "%u,%u", major(st->st_rdev), minor(st->st_rdev));
        fprintf(w->out, "%c %04o %u:%u %s %s ", type_char(st->st_mode), (unsigned) (st->st_mode & 07777),
                (unsigned) st->st_uid, (unsigned) st->st_gid, size, streq(digest, "-") ? "-" : digest + 7);
        put_escaped(w->out, path);
        if (S_ISLNK(st->st_mode)) {
                ssize_t n = readlinkat(dfd, name, w->buf, BUF_SIZE - 1);

                if (n < 0)
                        return forge_error_set(w->err, negative_errno(), "cannot read symlink %s: %m", path);
                w->buf[n] = 0;
                fputs(" -> ", w->out);
                put_escaped(w->out, w->buf);
        }
        if (S_ISDIR(st->st_mode) || S_ISREG(st->st_mode)) {
                _cleanup_close_ int fd = -EBADF;

                if (self_fd < 0) {
                        fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
                        if (fd < 0)
                                return forge_error_set(w->err, negative_errno(), "cannot open %s: %m", path);
                        self_fd = fd;
                }
                r = put_xattrs(w, self_fd, path);
                if (r < 0)
                        return r;
        }
        fputc('\n', w->out);
        return 0;
}

static int walk_dir(Walk *w, int fd, const char *path) {
        _cleanup_free_ char **names = NULL;
        struct dirent *de;
        size_t n = 0, cap = 0;
        DIR *d;
        int r = 0;

        {
                int dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

                if (dup_fd < 0 || !(d = fdopendir(dup_fd))) {
                        r = forge_error_set(w->err, negative_errno(), "cannot list %s: %m", path);
                        safe_close(dup_fd);
                        return r;
                }
        }
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (n == cap) {
                        char **nn = realloc(names, (cap = cap ? cap * 2 : 32) * sizeof *names);
                        if (!nn) {
                                r = -ENOMEM;
                                break;
                        }
                        names = nn;
                }
                if (!(names[n] = strdup(de->d_name))) {
                        r = -ENOMEM;
                        break;
                }
                n++;
        }
        closedir(d);
        if (r >= 0)
                qsort(names, n, sizeof *names, cmp_names);

        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *child = NULL;
                struct stat st;

                if (asprintf(&child, "%s%s%s", path, streq(path, "/") ? "" : "/", names[i]) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = forge_error_set(w->err, negative_errno(), "cannot stat %s: %m", child);
                        break;
                }
                if (st.st_dev != w->dev) {
                        r = forge_error_set(w->err, -EBUSY,
                                            "%s is on another file system (a mount over the cache?)", child);
                        break;
                }
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int cfd =
                                openat(fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

                        if (cfd < 0) {
                                r = forge_error_set(w->err, negative_errno(), "cannot open %s: %m", child);
                                break;
                        }
                        r = put_entry(w, fd, names[i], child, &st, cfd);
                        if (r >= 0)
                                r = walk_dir(w, cfd, child);
                } else
                        r = put_entry(w, fd, names[i], child, &st, -EBADF);
        }
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        return r;
}

int layer_tree_record(int root_fd, char **ret, size_t *ret_size, ForgeError *err) {
        _cleanup_free_ char *buf = NULL, *out = NULL;
        size_t size = 0;
        struct stat st;
        Walk w = { .err = err };
        int r;

        if (fstat(root_fd, &st) < 0)
                return forge_error_set(err, negative_errno(), "cannot stat the layer tree: %m");
        buf = malloc(BUF_SIZE);
        w.out = open_memstream(&out, &size);
        if (!buf || !w.out) {
                if (w.out)
                        fclose(w.out);
                return -ENOMEM;
        }
        w.buf = buf;
        w.dev = st.st_dev;
        r = put_entry(&w, root_fd, ".", "/", &st, root_fd);
        if (r >= 0)
                r = walk_dir(&w, root_fd, "/");
        free(w.links);
        if (fclose(w.out) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(out);
        *ret_size = size;
        return 0;
}

/* ---- comparing records ---- */

typedef struct Line {
        const char *path; /* within the line */
        size_t path_len;
        const char *line;
        size_t len;
} Line;

static int split(const char *s, size_t size, Line **ret, size_t *ret_n) {
        Line *l = NULL;
        size_t n = 0, cap = 0;

        for (size_t pos = 0; pos < size;) {
                const char *nl = memchr(s + pos, '\n', size - pos), *p = s + pos, *end;
                size_t len = nl ? (size_t) (nl - p) : size - pos;
                unsigned fields = 0;

                if (n == cap) {
                        Line *nn = realloc(l, (cap = cap ? cap * 2 : 256) * sizeof *l);
                        if (!nn) {
                                free(l);
                                return -ENOMEM;
                        }
                        l = nn;
                }
                l[n] = (Line){ .line = p, .len = len };
                /* The path is the sixth space-separated field. */
                for (size_t i = 0; i < len && fields < 5; i++)
                        if (p[i] == ' ' && ++fields == 5)
                                l[n].path = p + i + 1;
                if (!l[n].path)
                        l[n].path = p + len;
                end = memchr(l[n].path, ' ', (size_t) (p + len - l[n].path));
                l[n].path_len = (size_t) ((end ?: p + len) - l[n].path);
                n++;
                pos += len + 1;
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

static int cmp_line_path(const void *a, const void *b) {
        const Line *x = a, *y = b;
        int c = memcmp(x->path, y->path, MIN(x->path_len, y->path_len));

        return c ? c : (x->path_len > y->path_len) - (x->path_len < y->path_len);
}

/* Which fields differ between two lines of the same path. */
static const char *what_changed(const Line *a, const Line *b, char *buf, size_t size) {
        const char *names[] = { "type", "mode", "owner", "size", "content" };
        const char *pa = a->line, *pb = b->line;
        size_t len = 0;

        buf[0] = 0;
        for (unsigned f = 0; f < 5; f++) {
                const char *ea = memchr(pa, ' ', a->len - (size_t) (pa - a->line)),
                           *eb = memchr(pb, ' ', b->len - (size_t) (pb - b->line));

                if (!ea || !eb)
                        break;
                if (ea - pa != eb - pb || memcmp(pa, pb, (size_t) (ea - pa)) != 0)
                        len += (size_t) snprintf(buf + len, size - len, "%s%s", len ? ", " : "", names[f]);
                pa = ea + 1;
                pb = eb + 1;
        }
        {
                size_t ra = a->len - (size_t) (pa - a->line), rb = b->len - (size_t) (pb - b->line);

                if ((ra != rb || memcmp(pa, pb, ra) != 0) && len < size)
                        snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
                                 "link target or attributes");
        }
        return buf;
}

int layer_tree_diff(const char *old, size_t old_size, const char *new, size_t new_size, unsigned max,
                    char **ret) {
        _cleanup_free_ Line *a = NULL, *b = NULL;
        size_t na, nb, i = 0, j = 0;
        unsigned shown = 0, more = 0;
        char *out = NULL;
        size_t out_size = 0;
        FILE *f;
        int r;

        r = split(old, old_size, &a, &na);
        if (r < 0)
                return r;
        r = split(new, new_size, &b, &nb);
        if (r < 0)
                return r;
        qsort(a, na, sizeof *a, cmp_line_path);
        qsort(b, nb, sizeof *b, cmp_line_path);
        f = open_memstream(&out, &out_size);
        if (!f)
                return -ENOMEM;
        while (i < na || j < nb) {
                int c = i >= na ? 1 : j >= nb ? -1 : cmp_line_path(&a[i], &b[j]);
                char why[128];

                if (c == 0 && a[i].len == b[j].len && memcmp(a[i].line, b[j].line, a[i].len) == 0) {
                        i++;
                        j++;
                        continue;
                }
                if (shown >= max) {
                        more++;
                        if (c <= 0)
                                i++;
                        if (c >= 0)
                                j++;
                        continue;
                }
                fprintf(f, "%s", shown ? "; " : "");
                if (c < 0) {
                        fprintf(f, "%.*s: removed", (int) a[i].path_len, a[i].path);
                        i++;
                } else if (c > 0) {
                        fprintf(f, "%.*s: added", (int) b[j].path_len, b[j].path);
                        j++;
                } else {
                        fprintf(f, "%.*s: changed (%s)", (int) a[i].path_len, a[i].path,
                                what_changed(&a[i], &b[j], why, sizeof why));
                        i++;
                        j++;
                }
                shown++;
        }
        if (more)
                fprintf(f, "; and %u more", more);
        if (fclose(f) != 0) {
                free(out);
                return -ENOMEM;
        }
        *ret = out;
        return 0;
}
