/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "forgeone/fs-util.h"
#include "forgeone/macro.h"
#include "image-util.h"

static int rm_children(int fd, dev_t dev, unsigned depth) {
        DIR *d;
        struct dirent *de;
        int r;

        if (depth > 4096)
                return -ELOOP;
        r = opendir_at(fd, NULL, &d);
        if (r < 0)
                return r;

        while ((errno = 0, de = readdir(d))) {
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue;
                        r = negative_errno();
                        break;
                }
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int sub = -EBADF;

                        if (st.st_dev != dev) {
                                r = -EBUSY;
                                break;
                        }
                        sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0 && errno == EACCES) {
                                (void) fchmodat(dirfd(d), de->d_name, 0700, 0);
                                sub = openat(dirfd(d), de->d_name,
                                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        }
                        if (sub < 0) {
                                r = negative_errno();
                                break;
                        }
                        if ((st.st_mode & 0700) != 0700)
                                (void) fchmod(sub, 0700);
                        r = rm_children(sub, dev, depth + 1);
                        if (r < 0)
                                break;
                        if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0) {
                                r = negative_errno();
                                break;
                        }
                } else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
                        r = negative_errno();
                        break;
                }
        }
        if (r == 0 && errno != 0)
                r = negative_errno();
        closedir(d);
        return r;
}

int image_rm_rf_at(int dir_fd, const char *name) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st, parent;
        int r;

        if (fstat(dir_fd, &parent) < 0)
                return negative_errno();
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (!S_ISDIR(st.st_mode))
                return unlinkat(dir_fd, name, 0) < 0 ? negative_errno() : 0;
        if (st.st_dev != parent.st_dev)
                return -EBUSY; /* a mount point: unmount first */

        fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == EACCES) {
                (void) fchmodat(dir_fd, name, 0700, 0);
                fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0)
                return negative_errno();
        if ((st.st_mode & 0700) != 0700)
                (void) fchmod(fd, 0700);
        r = rm_children(fd, st.st_dev, 0);
        if (r < 0)
                return r;
        if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0)
                return negative_errno();
        return 0;
}

int image_write_file_at(int dir_fd, const char *name, const char *data, size_t size, mode_t mode) {
        _cleanup_close_ int fd = -EBADF;

        fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0)
                return negative_errno();
        for (size_t done = 0; done < size;) {
                ssize_t n = write(fd, data + done, size - done);
                if (n < 0)
                        return negative_errno();
                done += n;
        }
        if (fsync(fd) < 0)
                return negative_errno();
        return 0;
}

const char *image_format_size(uint64_t bytes, char buf[static 32]) {
        static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
        const char *unit = NULL;
        uint64_t v = bytes;

        for (size_t i = 0; i < ELEMENTSOF(units) && v >= 1024 && v % 1024 == 0; i++) {
                v /= 1024;
                unit = units[i];
        }
        if (unit)
                snprintf(buf, 32, "%" PRIu64 " %s", v, unit);
        else
                snprintf(buf, 32, "%" PRIu64 " bytes", bytes);
        return buf;
}
