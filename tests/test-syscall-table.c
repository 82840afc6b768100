/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <linux/audit.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forgeone/arch-table.h"
#include "forgeone/policy.h"
#include "forgeone/syscall-table.h"
#include "test-util.h"

#ifndef O_PATH
#define O_PATH 010000000
#endif
#ifndef O_TMPFILE
#define O_TMPFILE (020000000 | O_DIRECTORY)
#endif

static size_t strv_length(char **l) {
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

static bool strv_has(char **l, const char *s) {
        for (; l && *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}

START_TEST(test_groups_sorted_and_unique) {
        const SyscallGroup *prev = NULL, *g;

        for (size_t i = 0; (g = syscall_group_by_index(i)); i++) {
                ck_assert_msg(g->name[0] == '@', "group %s does not start with @", g->name);
                ck_assert_ptr_nonnull(g->description);
                ck_assert_ptr_nonnull(g->members[0]);
                if (prev)
                        ck_assert_msg(strcmp(prev->name, g->name) < 0, "groups not sorted: %s before %s",
                                      prev->name, g->name);
                ck_assert_ptr_eq(syscall_group_lookup(g->name), g);
                prev = g;
        }
        ck_assert_ptr_null(syscall_group_lookup("@no-such-group"));
        ck_assert_ptr_null(syscall_group_lookup("file-read"));
}
END_TEST

/* Members that only 32-bit or other ABIs have; everything else must exist on x86_64. */
static const char *const foreign_only[] = {
        "_llseek", "_newselect", "arm_fadvise64_64", "arm_sync_file_range", "bdflush", "break", "cacheflush",
        "chown32", "clock_adjtime64", "clock_getres_time64", "clock_gettime64", "clock_nanosleep_time64",
        "clock_settime64", "fadvise64_64", "fchown32", "fcntl64", "fstat64", "fstatat64", "fstatfs64", "ftime",
        "ftruncate64", "futex_time64", "getegid32", "geteuid32", "getgid32", "getgroups32", "getresgid32",
        "getresuid32", "getuid32", "gtty", "idle", "io_pgetevents_time64", "ipc", "lchown32", "lock", "lstat64",
        "mmap2", "mpx", "mq_timedreceive_time64", "mq_timedsend_time64", "nice", "oldfstat", "oldlstat",
        "oldstat", "pciconfig_iobase", "pciconfig_read", "pciconfig_write", "ppoll_time64", "prof", "profil",
        "pselect6_time64", "readdir", "recv", "recvmmsg_time64", "rt_sigtimedwait_time64",
        "s390_pci_mmio_read", "s390_pci_mmio_write", "sched_rr_get_interval_time64", "semtimedop_time64",
        "send", "sendfile64", "set_tls", "setfsgid32", "setfsuid32", "setgid32", "setgroups32", "setregid32",
        "setresgid32", "setresuid32", "setreuid32", "setuid32", "sgetmask", "sigaction", "signal",
        "sigpending", "sigprocmask", "sigreturn", "sigsuspend", "socketcall", "ssetmask", "stat64",
        "statfs64", "stime", "stty", "subpage_prot", "switch_endian", "sync_file_range2",
        "sys_debug_setcontext", "timer_gettime64", "timer_settime64", "timerfd_gettime64",
        "timerfd_settime64", "truncate64", "ugetrlimit", "ulimit", "umount", "utimensat_time64", "vm86",
        "vm86old", "waitpid", NULL,
};

static bool is_foreign_only(const char *name) {
        for (const char *const *f = foreign_only; *f; f++)
                if (streq(*f, name))
                        return true;
        return false;
}

START_TEST(test_group_members_known) {
        const SyscallGroup *g;

        for (size_t i = 0; (g = syscall_group_by_index(i)); i++)
                for (const char *const *m = g->members; *m; m++) {
                        if ((*m)[0] == '@') {
                                ck_assert_msg(syscall_group_lookup(*m), "%s names unknown group %s", g->name, *m);
                                continue;
                        }
                        ck_assert_msg(syscall_known(*m), "%s: %s is known on no architecture", g->name, *m);
                        if (is_foreign_only(*m))
                                ck_assert_msg(syscall_resolve_arch(*m, AUDIT_ARCH_X86_64) == -ENOENT,
                                              "%s is listed as foreign-only but exists on x86_64", *m);
                        else
                                ck_assert_msg(syscall_resolve_arch(*m, AUDIT_ARCH_X86_64) >= 0,
                                              "%s: %s does not exist on x86_64 and is not marked foreign-only",
                                              g->name, *m);
                }
}
END_TEST

/* Every x86_64 syscall belongs to a group, except the few a policy should name (and condition) itself. */
START_TEST(test_groups_cover_x86_64) {
        static const char *const ungrouped[] = { "ioctl", "personality", "userfaultfd", NULL };
        _cleanup_strv_free_ char **all = NULL;
        const SyscallGroup *g;

        for (size_t i = 0; (g = syscall_group_by_index(i)); i++)
                ck_assert_int_eq(syscall_expand(g->name, &all), 0);
        for (int nr = 0; nr < 1024; nr++) {
                const char *name = syscall_name(AUDIT_ARCH_X86_64, nr);
                bool listed = false;

                if (!name)
                        continue;
                for (const char *const *u = ungrouped; *u; u++)
                        listed = listed || streq(*u, name);
                if (!listed)
                        ck_assert_msg(strv_has(all, name), "x86_64 syscall %s is in no group", name);
                else
                        ck_assert_msg(!strv_has(all, name), "%s is meant to be named explicitly", name);
        }
}
END_TEST

START_TEST(test_expand) {
        _cleanup_strv_free_ char **open = NULL, **fs = NULL, **one = NULL, **none = NULL;
        const SyscallGroup *g;

        ck_assert_int_eq(syscall_expand("@file-open", &open), 0);
        ck_assert_uint_eq(strv_length(open), 4);
        ck_assert(strv_has(open, "open") && strv_has(open, "openat") && strv_has(open, "openat2") &&
                  strv_has(open, "creat"));

        /* Nested groups expand to their members' members. */
        ck_assert_int_eq(syscall_expand("@file-system", &fs), 0);
        ck_assert(strv_has(fs, "openat") && strv_has(fs, "unlinkat") && strv_has(fs, "fstat") &&
                  strv_has(fs, "getcwd") && strv_has(fs, "truncate"));
        ck_assert(!strv_has(fs, "@file-open"));

        ck_assert_int_eq(syscall_expand("getpid", &one), 0);
        ck_assert_uint_eq(strv_length(one), 1);
        ck_assert_str_eq(one[0], "getpid");

        ck_assert_int_eq(syscall_expand("@file-reed", &none), -ENOENT);
        ck_assert_int_eq(syscall_expand("opnat", &none), -EINVAL);
        ck_assert_ptr_null(none);

        /* Every group expands (no cycles, no dangling references). */
        for (size_t i = 0; (g = syscall_group_by_index(i)); i++) {
                _cleanup_strv_free_ char **l = NULL;

                ck_assert_msg(syscall_expand(g->name, &l) == 0, "%s does not expand", g->name);
                ck_assert_msg(strv_length(l) > 0, "%s is empty", g->name);
        }
}
END_TEST

START_TEST(test_info_table) {
        const SyscallInfo *prev = NULL, *info;
        size_t n = 0;

        for (size_t i = 0; (info = syscall_info_by_index(i)); i++, n++) {
                bool has_path = false, has_addr = false;

                if (prev)
                        ck_assert_msg(strcmp(prev->name, info->name) < 0, "info table not sorted at %s",
                                      info->name);
                ck_assert_msg(syscall_known(info->name), "%s is not a syscall", info->name);
                ck_assert_ptr_eq(syscall_info_lookup(info->name), info);
                for (size_t a = 0; a < 6; a++) {
                        has_path = has_path || info->args[a] == SYSCALL_ARG_PATH ||
                                   info->args[a] == SYSCALL_ARG_FD_OBJECT;
                        has_addr = has_addr || info->args[a] == SYSCALL_ARG_SOCKADDR;
                }
                ck_assert_msg(has_path || has_addr, "%s has neither path nor address", info->name);
                /* Fixed access exactly when no flags argument decides it. */
                if (has_path && !syscall_has_sockaddr(info->name)) {
                        bool flags = false;

                        for (size_t a = 0; a < 6; a++)
                                flags = flags || info->args[a] == SYSCALL_ARG_OPEN_FLAGS ||
                                        info->args[a] == SYSCALL_ARG_OPEN_HOW;
                        ck_assert_msg(flags == (info->access == 0), "%s: access and flags disagree", info->name);
                }
                prev = info;
        }
        ck_assert_uint_gt(n, 50);
        ck_assert_ptr_null(syscall_info_lookup("getpid"));
}
END_TEST

START_TEST(test_path_and_sockaddr) {
        static const char *const with_path[] = {
                "open", "openat", "openat2", "creat", "stat", "lstat", "newfstatat", "statx", "access",
                "faccessat", "faccessat2", "readlink", "readlinkat", "execve", "execveat", "mkdir", "mkdirat",
                "mknod", "mknodat", "unlink", "unlinkat", "rmdir", "rename", "renameat", "renameat2", "link",
                "linkat", "symlink", "symlinkat", "chmod", "fchmodat", "chown", "lchown", "fchownat", "truncate",
                "utime", "utimes", "utimensat", "futimesat", "chdir", "chroot", "getxattr", "lgetxattr",
                "setxattr", "lsetxattr", "listxattr", "llistxattr", "removexattr", "lremovexattr", "statfs",
                "mount", "umount2", "pivot_root", "swapon", "swapoff", "acct", "move_mount", "open_tree",
                /* the path of the file open as their descriptor */
                "fchmod", "fchown", "fsetxattr", "fremovexattr",
        };
        static const char *const with_addr[] = { "connect", "bind", "sendto", "sendmsg", "sendmmsg" };
        static const char *const emulable[] = { "open", "openat", "openat2", "creat", "connect", "unlinkat",
                                                "renameat2", "linkat", "symlinkat", "fchmodat", "utimensat",
                                                "fchmod", "fchown", "fsetxattr", "fremovexattr", "sendto",
                                                "sendmsg", "sendmmsg" };

        FOREACH_ELEMENT(n, with_path) {
                ck_assert_msg(syscall_has_path(*n), "%s should take a path", *n);
                ck_assert(!syscall_has_sockaddr(*n));
        }
        FOREACH_ELEMENT(n, with_addr) {
                ck_assert_msg(syscall_has_sockaddr(*n), "%s should take an address", *n);
                ck_assert(!syscall_has_path(*n));
        }
        FOREACH_ELEMENT(n, emulable)
                ck_assert_msg(syscall_info_lookup(*n)->emulable, "%s should be emulable", *n);
        ck_assert(!syscall_info_lookup("execve")->emulable);
        ck_assert(!syscall_info_lookup("chdir")->emulable);
        ck_assert(!syscall_info_lookup("mount")->emulable);
        ck_assert(!syscall_has_path("getpid") && !syscall_has_sockaddr("getpid"));
        ck_assert(!syscall_has_path("fstat"));
        ck_assert_int_eq(syscall_info_lookup("fchmod")->args[0], SYSCALL_ARG_FD_OBJECT);
        ck_assert_uint_eq(syscall_info_lookup("fsetxattr")->access, POLICY_ACCESS_ATTR);

        ck_assert_int_eq(syscall_info_lookup("sendmsg")->addr_form, SYSCALL_ADDR_MSGHDR);
        ck_assert_int_eq(syscall_info_lookup("sendmmsg")->addr_form, SYSCALL_ADDR_MMSGHDR);
        ck_assert_int_eq(syscall_info_lookup("connect")->addr_form, SYSCALL_ADDR_SOCKADDR);
        ck_assert_int_eq(syscall_info_lookup("sendto")->args[4], SYSCALL_ARG_SOCKADDR);

        /* rename: the source disappears, the target is created. */
        ck_assert_uint_eq(syscall_info_lookup("renameat2")->access, POLICY_ACCESS_DELETE);
        ck_assert_uint_eq(syscall_info_lookup("renameat2")->access2, POLICY_ACCESS_CREATE);
        ck_assert_int_eq(syscall_info_lookup("renameat2")->args[3], SYSCALL_ARG_PATH2);
        /* symlink's first argument is text, not a path that is resolved. */
        ck_assert_int_eq(syscall_info_lookup("symlinkat")->args[0], SYSCALL_ARG_PTR);
        ck_assert_int_eq(syscall_info_lookup("symlinkat")->args[2], SYSCALL_ARG_PATH);
        ck_assert_int_eq(syscall_info_lookup("openat")->args[2], SYSCALL_ARG_OPEN_FLAGS);
        ck_assert_int_eq(syscall_info_lookup("openat2")->args[2], SYSCALL_ARG_OPEN_HOW);
        ck_assert_uint_eq(syscall_info_lookup("execve")->access, POLICY_ACCESS_EXEC);

        ck_assert_uint_eq(syscall_possible_access("openat"),
                          POLICY_ACCESS_READ | POLICY_ACCESS_WRITE | POLICY_ACCESS_CREATE | POLICY_ACCESS_STAT);
        ck_assert_uint_eq(syscall_possible_access("rename"), POLICY_ACCESS_DELETE | POLICY_ACCESS_CREATE);
        ck_assert_uint_eq(syscall_possible_access("getpid"), 0);
}
END_TEST

START_TEST(test_open_flags_access) {
        ck_assert_uint_eq(syscall_open_flags_to_access(O_RDONLY), POLICY_ACCESS_READ);
        ck_assert_uint_eq(syscall_open_flags_to_access(O_RDONLY | O_CLOEXEC | O_DIRECTORY), POLICY_ACCESS_READ);
        ck_assert_uint_eq(syscall_open_flags_to_access(O_WRONLY), POLICY_ACCESS_WRITE);
        ck_assert_uint_eq(syscall_open_flags_to_access(O_RDWR), POLICY_ACCESS_READ | POLICY_ACCESS_WRITE);
        ck_assert_uint_eq(syscall_open_flags_to_access(O_WRONLY | O_CREAT | O_TRUNC),
                          POLICY_ACCESS_WRITE | POLICY_ACCESS_CREATE);
        ck_assert_uint_eq(syscall_open_flags_to_access(O_RDONLY | O_TRUNC), POLICY_ACCESS_READ | POLICY_ACCESS_WRITE);
        ck_assert_uint_eq(syscall_open_flags_to_access(O_WRONLY | O_APPEND), POLICY_ACCESS_WRITE);
        ck_assert_uint_eq(syscall_open_flags_to_access(O_RDONLY | O_CREAT),
                          POLICY_ACCESS_READ | POLICY_ACCESS_CREATE);
        /* O_PATH ignores the access mode and O_CREAT/O_TRUNC: it only looks. */
        ck_assert_uint_eq(syscall_open_flags_to_access(O_PATH | O_RDWR | O_CREAT), POLICY_ACCESS_STAT);
        ck_assert_uint_eq(syscall_open_flags_to_access(O_TMPFILE | O_RDWR),
                          POLICY_ACCESS_READ | POLICY_ACCESS_WRITE | POLICY_ACCESS_CREATE);
        ck_assert_uint_eq(syscall_open_flags_to_access(O_ACCMODE), POLICY_ACCESS_READ | POLICY_ACCESS_WRITE);
}
END_TEST

START_TEST(test_resolve_numbers) {
        const char *a, *b;

        ck_assert_int_eq(syscall_resolve_arch("read", AUDIT_ARCH_X86_64), 0);
        ck_assert_int_eq(syscall_resolve_arch("openat", AUDIT_ARCH_X86_64), 257);
        ck_assert_int_eq(syscall_resolve_arch("read", AUDIT_ARCH_I386), 3);
        ck_assert_int_eq(syscall_resolve_arch("read", AUDIT_ARCH_AARCH64), 63);
        ck_assert_int_eq(syscall_resolve_arch("stat64", AUDIT_ARCH_X86_64), -ENOENT);
        ck_assert_int_ge(syscall_resolve_arch("stat64", AUDIT_ARCH_I386), 0);
        ck_assert_int_eq(syscall_resolve_arch("open", AUDIT_ARCH_AARCH64), -ENOENT);
        ck_assert_int_eq(syscall_resolve_arch("opnat", AUDIT_ARCH_X86_64), -ENOENT);
        ck_assert_int_eq(syscall_resolve_native("getpid"),
                         seccomp_syscall_resolve_name_arch(seccomp_arch_native(), "getpid"));

        a = syscall_name(AUDIT_ARCH_X86_64, 257);
        b = syscall_name(AUDIT_ARCH_X86_64, 257);
        ck_assert_str_eq(a, "openat");
        ck_assert_ptr_eq(a, b); /* interned: callers may keep the pointer */
        ck_assert_str_eq(syscall_name(AUDIT_ARCH_I386, 5), "open");
        ck_assert_ptr_null(syscall_name(AUDIT_ARCH_X86_64, 100000));
        ck_assert_ptr_null(syscall_name(AUDIT_ARCH_X86_64, -1));

        ck_assert(syscall_known("stat64"));
        ck_assert(syscall_known("openat"));
        ck_assert(!syscall_known("opnat"));
        ck_assert(!syscall_known(""));
}
END_TEST

START_TEST(test_suggest) {
        ck_assert_str_eq(syscall_suggest("opnat"), "openat");
        ck_assert_str_eq(syscall_suggest("exceve"), "execve");
        ck_assert_str_eq(syscall_suggest("getpdi"), "getpid");
        ck_assert_ptr_null(syscall_suggest("completelyunrelated"));
        ck_assert_str_eq(syscall_group_suggest("@file-reed"), "@file-read");
        ck_assert_str_eq(syscall_group_suggest("@netwrok"), "@network");
        ck_assert_ptr_null(syscall_group_suggest("@xyzzy-plugh"));

        ck_assert_uint_eq(string_edit_distance("kitten", "sitting"), 3);
        ck_assert_uint_eq(string_edit_distance("", "abc"), 3);
        ck_assert_uint_eq(string_edit_distance("same", "same"), 0);
}
END_TEST

/* forgeone.policy(5) lists every group with all its members: the reference must not drift. */
START_TEST(test_man_page_lists_groups) {
        _cleanup_free_ char *text = NULL;
        const SyscallGroup *g;
        size_t size = 0;
        FILE *f;

        f = fopen(fo_test_source_path("man/forgeone.policy.5"), "re");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_gt(getdelim(&text, &size, 0, f), 0);
        fclose(f);

        for (size_t i = 0; (g = syscall_group_by_index(i)); i++) {
                char head[64];
                const char *entry, *end;

                snprintf(head, sizeof head, "\n.B %s\n", g->name);
                entry = strstr(text, head);
                ck_assert_msg(entry, "%s is not in the man page", g->name);
                entry += strlen(head);
                end = strstr(entry, "\n.TP\n") ?: strstr(entry, "\n.SH ");
                ck_assert_ptr_nonnull(end);
                for (const char *const *m = g->members; *m; m++) {
                        size_t len = strlen(*m);
                        bool found = false;

                        for (const char *p = entry; p && p < end && !found; p = strstr(p + 1, *m)) {
                                p = strstr(p, *m);
                                if (!p || p >= end)
                                        break;
                                found = (p == entry || strchr(" \n", p[-1])) && strchr(",.\n", p[len]);
                        }
                        ck_assert_msg(found, "man page entry of %s lacks %s", g->name, *m);
                }
        }
}
END_TEST

/* ... and every syscall with a path or address in its table of them. */
START_TEST(test_man_page_lists_path_syscalls) {
        _cleanup_free_ char *text = NULL;
        const char *section, *end;
        const SyscallInfo *info;
        size_t size = 0;
        FILE *f;

        f = fopen(fo_test_source_path("man/forgeone.policy.5"), "re");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_gt(getdelim(&text, &size, 0, f), 0);
        fclose(f);

        section = strstr(text, "\n.SH PATH AND ADDRESS SYSCALLS\n");
        ck_assert_ptr_nonnull(section);
        end = strstr(section + 1, "\n.SH ");
        ck_assert_ptr_nonnull(end);
        for (size_t i = 0; (info = syscall_info_by_index(i)); i++) {
                char line[64];
                const char *hit;

                snprintf(line, sizeof line, "\n%s ", info->name);
                hit = strstr(section, line);
                ck_assert_msg(hit && hit < end, "%s is not in the man page's table", info->name);
        }
}
END_TEST

/* One arch table: names round-trip, agree with libseccomp's, and cover every ABI it knows here. */
START_TEST(test_arch_table) {
        size_t n = 0;

        for (const ArchInfo *a; (a = arch_table_by_index(n)); n++) {
                ck_assert_str_eq(arch_table_to_string(a->arch), a->name);
                ck_assert_uint_eq(arch_table_from_string(a->name), a->arch);
                ck_assert_uint_eq(seccomp_arch_resolve_name(a->name), a->arch);
        }
        ck_assert_uint_ge(n, 19);
        ck_assert_str_eq(arch_table_to_string(AUDIT_ARCH_I386), "x86");
        ck_assert_ptr_null(arch_table_to_string(0x1234));
        ck_assert_uint_eq(arch_table_from_string("x86-64"), 0);
        ck_assert_uint_eq(arch_table_from_string(NULL), 0);
}
END_TEST

/* The width table: the kernel's types for the arguments policies compare most, on both ABIs; every name
 * libseccomp knows on x86_64 and i386 has an entry. */
START_TEST(test_arg_widths) {
        SyscallArgWidth w[6];

        ck_assert_int_eq(syscall_arg_widths(AUDIT_ARCH_X86_64, "ioctl", w), 0);
        ck_assert_int_eq(w[0], SYSCALL_WIDTH_U32);
        ck_assert_int_eq(w[1], SYSCALL_WIDTH_U32);
        ck_assert_int_eq(w[2], SYSCALL_WIDTH_U64);
        ck_assert_int_eq(syscall_arg_widths(AUDIT_ARCH_X86_64, "seccomp", w), 0);
        ck_assert(w[0] == SYSCALL_WIDTH_U32 && w[1] == SYSCALL_WIDTH_U32 && w[2] == SYSCALL_WIDTH_U64);
        ck_assert_int_eq(syscall_arg_widths(AUDIT_ARCH_X86_64, "socket", w), 0);
        ck_assert(w[0] == SYSCALL_WIDTH_S32 && w[1] == SYSCALL_WIDTH_S32 && w[2] == SYSCALL_WIDTH_S32);
        ck_assert_int_eq(syscall_arg_widths(AUDIT_ARCH_X86_64, "lseek", w), 0);
        ck_assert_int_eq(w[1], SYSCALL_WIDTH_S64);
        ck_assert_int_eq(syscall_arg_widths(AUDIT_ARCH_X86_64, "fchmod", w), 0);
        ck_assert_int_eq(w[1], SYSCALL_WIDTH_U16);
        ck_assert_int_eq(syscall_arg_widths(AUDIT_ARCH_X86_64, "clone", w), 0);
        ck_assert_int_eq(w[0], SYSCALL_WIDTH_U64);
        ck_assert_int_eq(syscall_arg_widths(AUDIT_ARCH_I386, "clone", w), 0);
        ck_assert_int_eq(w[0], SYSCALL_WIDTH_U32);
        ck_assert_int_eq(syscall_arg_widths(AUDIT_ARCH_I386, "lseek", w), 0);
        ck_assert_int_eq(w[1], SYSCALL_WIDTH_S32);
        ck_assert_int_eq(syscall_arg_widths(SCMP_ARCH_AARCH64, "ioctl", w), -EOPNOTSUPP);
        ck_assert_int_eq(syscall_arg_widths(AUDIT_ARCH_X86_64, "no_such_call", w), -ENOENT);

        FOREACH_ELEMENT(arch, ((const uint32_t[]) { AUDIT_ARCH_X86_64, AUDIT_ARCH_I386 }))
                for (int nr = 0; nr < 1024; nr++) {
                        char *name = seccomp_syscall_resolve_num_arch(*arch, nr);

                        if (!name)
                                continue;
                        ck_assert_msg(syscall_arg_widths(*arch, name, w) == 0, "no widths for %s on %#x",
                                      name, *arch);
                        for (size_t i = 0; *arch == AUDIT_ARCH_I386 && i < 6; i++)
                                ck_assert_uint_le(syscall_arg_width_bits(w[i]), 32);
                        free(name);
                }
        ck_assert_uint_ge(syscall_arg_widths_count(AUDIT_ARCH_X86_64), 360);
        ck_assert_uint_ge(syscall_arg_widths_count(AUDIT_ARCH_I386), 440);
        ck_assert_str_eq(syscall_arg_width_to_string(SYSCALL_WIDTH_S32), "s32");
        ck_assert_ptr_null(syscall_arg_width_to_string(_SYSCALL_WIDTH_MAX));
        ck_assert_uint_eq(syscall_arg_normalize(SYSCALL_WIDTH_S32, 0x1ffffffffULL), UINT64_MAX);
}
END_TEST

/* The string-table macro: both directions, out of range and unknown names. */
START_TEST(test_string_table) {
        for (int v = 0; v < _POLICY_VERDICT_MAX; v++)
                ck_assert_int_eq(policy_verdict_from_string(policy_verdict_to_string(v)), v);
        ck_assert_ptr_null(policy_verdict_to_string(_POLICY_VERDICT_MAX));
        ck_assert_ptr_null(policy_verdict_to_string(_POLICY_VERDICT_INVALID));
        ck_assert_int_eq(policy_verdict_from_string("alow"), -EINVAL);
        ck_assert_int_eq(policy_verdict_from_string(NULL), -EINVAL);
        ck_assert_int_eq(policy_arg_op_from_string("masked_eq"), POLICY_ARG_MASKED_EQ);
        ck_assert_str_eq(policy_resource_type_to_string(POLICY_RESOURCE_ARGS), "args");
}
END_TEST

static Suite *syscall_table_suite(void) {
        Suite *s = suite_create("syscall-table");
        TCase *tc = tcase_create("table");

        tcase_add_test(tc, test_groups_sorted_and_unique);
        tcase_add_test(tc, test_group_members_known);
        tcase_add_test(tc, test_groups_cover_x86_64);
        tcase_add_test(tc, test_expand);
        tcase_add_test(tc, test_info_table);
        tcase_add_test(tc, test_path_and_sockaddr);
        tcase_add_test(tc, test_open_flags_access);
        tcase_add_test(tc, test_resolve_numbers);
        tcase_add_test(tc, test_suggest);
        tcase_add_test(tc, test_arch_table);
        tcase_add_test(tc, test_arg_widths);
        tcase_add_test(tc, test_string_table);
        tcase_add_test(tc, test_man_page_lists_groups);
        tcase_add_test(tc, test_man_page_lists_path_syscalls);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return fo_test_run(syscall_table_suite());
}
