#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Generate src/policy/syscall-arg-widths.c: how the kernel reads each
argument register of every syscall, on x86_64 and on the i386 ABI.

The x86_64 types come from the running kernel's syscall trace events
(tracefs: events/syscalls/sys_enter_*/format lists every argument's C type).
Syscalls without an event (not built into this kernel, or obsolete) and the
i386 ABI come from the tables below, written from the kernel's
SYSCALL_DEFINE / COMPAT_SYSCALL_DEFINE / ia32 wrappers. On i386 the kernel
takes the low 32 bits of every register (SC_IA32_REGS_TO_ARGS), so every
argument is at most 32 bits wide there.

The names are those libseccomp knows on each ABI (read through ctypes), so
every syscall a policy can name has an entry.

Usage: scripts/gen-syscall-arg-widths.py [TRACEFS_DIR] > src/policy/syscall-arg-widths.c
(mount -t tracefs nodev /sys/kernel/tracing if the directory is empty).
"""

import ctypes
import os
import re
import sys

AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_I386 = 0x40000003

# C type -> width code. Pointers and typedefs of pointers are unsigned long.
U64, S64, U32, S32, U16 = ("SYSCALL_WIDTH_" + w for w in ("U64", "S64", "U32", "S32", "U16"))
TYPES = {
    "unsigned long": U64, "size_t": U64, "aio_context_t": U64, "u64": U64, "__u64": U64,
    "long": S64, "off_t": S64, "loff_t": S64,
    "int": S32, "pid_t": S32, "timer_t": S32, "mqd_t": S32, "key_t": S32, "clockid_t": S32,
    "key_serial_t": S32, "rwf_t": S32, "__s32": S32,
    "unsigned int": U32, "unsigned": U32, "u32": U32, "__u32": U32, "uid_t": U32, "gid_t": U32,
    "qid_t": U32, "enum landlock_rule_type": U32,
    "umode_t": U16,
    "cap_user_header_t": U64, "cap_user_data_t": U64,
}

# tracefs event name -> the syscall's name in libseccomp's tables.
EVENT_ALIASES = {
    "newstat": "stat", "newlstat": "lstat", "newfstat": "fstat", "newuname": "uname",
    "sendfile64": "sendfile", "umount": "umount2",
}

# x86_64 syscalls with no trace event on the generating kernel, from their SYSCALL_DEFINEs.
# An empty list: the kernel reads no argument (sys_ni_syscall, removed calls).
X86_64_EXTRA = {
    "init_module": [U64, U64, U64],             # void *umod, unsigned long len, const char *uargs
    "finit_module": [S32, U64, S32],            # int fd, const char *uargs, int flags
    "delete_module": [U64, U32],                # const char *name, unsigned int flags
    "kexec_load": [U64, U64, U64, U64],         # unsigned long entry, nr_segments, segments *, flags
    "kexec_file_load": [S32, S32, U64, U64, U64],  # int kernel_fd, int initrd_fd, len, cmdline *, flags
    "map_shadow_stack": [U64, U64, U32],        # unsigned long addr, size, unsigned int flags
    "uselib": [U64],                            # const char *library
    "get_thread_area": [U64], "set_thread_area": [U64],  # struct user_desc *
    "lookup_dcookie": [],
}

# i386 syscalls whose registers do not follow the x86_64 prototype: 64-bit values split in two
# registers (ia32_* wrappers), compat entries with compat_long_t / compat_off_t, and calls only i386 has.
I386_OVERRIDES = {
    "lseek": [U32, S32, U32],                   # compat_sys_lseek(uint, compat_off_t, uint)
    "truncate": [U32, S32],                     # compat_sys_truncate(path, compat_off_t)
    "ftruncate": [U32, S32],                    # compat_sys_ftruncate(uint, compat_off_t)
    "ptrace": [S32, S32, S32, S32],             # compat_sys_ptrace(compat_long_t x4)
    "msgrcv": [S32, U32, S32, S32, S32],        # compat_sys_msgrcv(int, uptr, compat_ssize_t, compat_long_t, int)
    "io_getevents": [U32, S32, S32, U32, U32],  # sys_io_getevents_time32(u32, s32, s32, ...)
    "io_pgetevents": [U32, S32, S32, U32, U32, U32],  # compat_sys_io_pgetevents(.., compat_long_t x2, ..)
    "io_submit": [U32, S32, U32],               # compat_sys_io_submit(ctx, int nr, uptr)
    "pread64": [U32, U32, U32, U32, U32],       # ia32_pread64(fd, buf, u32 count, u32 lo, u32 hi)
    "pwrite64": [U32, U32, U32, U32, U32],
    "fadvise64": [S32, U32, U32, U32, S32],     # ia32_fadvise64(int fd, lo, hi, size_t len, int advice)
    "fadvise64_64": [S32, U32, U32, U32, U32, S32],
    "fallocate": [S32, S32, U32, U32, U32, U32],  # ia32_fallocate(int fd, int mode, lo, hi, lo, hi)
    "readahead": [S32, U32, U32, U32],          # ia32_readahead(int fd, lo, hi, size_t count)
    "sync_file_range": [S32, U32, U32, U32, U32, S32],  # ia32_sync_file_range(.., int flags)
    "truncate64": [U32, U32, U32], "ftruncate64": [U32, U32, U32],
    "_llseek": [U32, U32, U32, U32, U32],
    "sendfile": [S32, S32, U32, U32],           # compat_sys_sendfile(int, int, compat_off_t *, size)
    "mmap2": [U32] * 6, "mmap": [U32],          # old_mmap(struct mmap_arg_struct *)
    "ipc": [U32, S32, S32, U32, U32, U32],      # compat_sys_ipc(u32 call, int, int, u32, uptr, u32)
    "socketcall": [S32, U32],
    "signal": [S32, U32], "sigaction": [S32, U32, U32], "sigprocmask": [S32, U32, U32],
    "sigsuspend": [S32, S32, U32], "sigpending": [U32], "sigreturn": [],
    "sgetmask": [], "ssetmask": [S32], "nice": [S32], "waitpid": [S32, U32, S32],
    "readdir": [U32, U32, U32], "oldstat": [U32, U32], "oldlstat": [U32, U32], "oldfstat": [U32, U32],
    "stat64": [U32, U32], "lstat64": [U32, U32], "fstat64": [U32, U32], "fstatat64": [S32, U32, U32, S32],
    "statfs64": [U32, U32, U32], "fstatfs64": [U32, U32, U32],
    "fcntl64": [U32, U32, U32], "_newselect": [S32, U32, U32, U32, U32],
    "olduname": [U32], "oldolduname": [U32], "uname": [U32], "stime": [U32], "time": [U32],
    "ugetrlimit": [U32, U32], "vm86old": [U32], "vm86": [U32, U32],
    "getgroups32": [S32, U32], "setgroups32": [S32, U32],
    "get_thread_area": [U32], "set_thread_area": [U32],
    "umount": [U32], "lookup_dcookie": [],
    "bdflush": [], "break": [], "ftime": [], "gtty": [], "stty": [], "idle": [], "lock": [],
    "mpx": [], "prof": [], "profil": [], "ulimit": [],
}
# i386 names whose registers follow another syscall's (the *32 uid calls, the time64 calls).
I386_ALIASES = {
    "clock_adjtime64": "clock_adjtime", "clock_getres_time64": "clock_getres",
    "clock_gettime64": "clock_gettime", "clock_nanosleep_time64": "clock_nanosleep",
    "clock_settime64": "clock_settime", "futex_time64": "futex",
    "io_pgetevents_time64": "io_pgetevents", "mq_timedreceive_time64": "mq_timedreceive",
    "mq_timedsend_time64": "mq_timedsend", "ppoll_time64": "ppoll", "pselect6_time64": "pselect6",
    "recvmmsg_time64": "recvmmsg", "rt_sigtimedwait_time64": "rt_sigtimedwait",
    "sched_rr_get_interval_time64": "sched_rr_get_interval", "semtimedop_time64": "semtimedop",
    "timer_gettime64": "timer_gettime", "timer_settime64": "timer_settime",
    "timerfd_gettime64": "timerfd_gettime", "timerfd_settime64": "timerfd_settime",
    "utimensat_time64": "utimensat",
}


def c_type_width(t):
    t = re.sub(r"\bconst\b", "", t).strip()
    t = re.sub(r"\s+", " ", t)
    if "*" in t:
        return U64
    if t not in TYPES:
        sys.exit(f"unknown argument type {t!r}: add it to TYPES")
    return TYPES[t]


def read_events(root):
    events = {}
    d = os.path.join(root, "events", "syscalls")
    for ev in sorted(os.listdir(d)):
        if not ev.startswith("sys_enter_"):
            continue
        args = []
        with open(os.path.join(d, ev, "format")) as f:
            for line in f:
                m = re.match(r"\tfield:(.*) ([A-Za-z_0-9]+);\toffset:(\d+);", line)
                if m and int(m.group(3)) >= 16:
                    args.append(c_type_width(m.group(1)))
        name = ev[len("sys_enter_"):]
        events[EVENT_ALIASES.get(name, name)] = args
    return events


def seccomp_names(lib, arch):
    names = set()
    for nr in range(0, 1024):
        s = lib.seccomp_syscall_resolve_num_arch(arch, nr)
        if s:
            names.add(s.decode())
    return names


def i386_from_native(native):
    # Same registers as x86_64, each read as its low 32 bits: a 64-bit unsigned type becomes
    # an unsigned 32-bit register, a signed one (all listed in I386_OVERRIDES) a signed one.
    return [{U64: U32, S64: S32}.get(w, w) for w in native]


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "/sys/kernel/tracing"
    lib = ctypes.CDLL("libseccomp.so.2")
    lib.seccomp_syscall_resolve_num_arch.restype = ctypes.c_char_p
    lib.seccomp_syscall_resolve_num_arch.argtypes = [ctypes.c_uint32, ctypes.c_int]
    lib.seccomp_arch_native.restype = ctypes.c_uint32
    if lib.seccomp_arch_native() != AUDIT_ARCH_X86_64:
        sys.exit("the tables are generated on an x86_64 kernel")

    events = read_events(root)
    native = {}
    for name in sorted(seccomp_names(lib, AUDIT_ARCH_X86_64)):
        if name in events:
            native[name] = events[name]
        elif name in X86_64_EXTRA:
            native[name] = X86_64_EXTRA[name]
        else:
            native[name] = []  # sys_ni_syscall on x86_64: reads nothing
    # Syscalls this kernel has that libseccomp 2.5 has no name for still get an entry, for a newer
    # libseccomp at run time.
    for name, args in events.items():
        native.setdefault(name, args)

    i386 = {}
    for name in sorted(seccomp_names(lib, AUDIT_ARCH_I386)):
        if name in I386_OVERRIDES:
            i386[name] = I386_OVERRIDES[name]
            continue
        base = I386_ALIASES.get(name, name)
        if base.endswith("32") and base[:-2] in native and base not in native:
            base = base[:-2]  # chown32, setuid32, ...: the 32-bit uid calls
        if base in native:
            i386[name] = i386_from_native(native[base])
        else:
            i386[name] = []  # not implemented on i386 (sys_ni_syscall)

    out = sys.stdout
    out.write("/* SPDX-License-Identifier: LGPL-2.1-or-later */\n")
    out.write("/* Generated by scripts/gen-syscall-arg-widths.py from the syscall trace events of Linux "
              f"{os.uname().release.split('-')[0]}: do not edit. */\n\n")
    out.write('#include "syscall-arg-widths.h"\n\n')
    for w in ("U64", "S64", "U32", "S32", "U16"):
        out.write(f"#define {w} SYSCALL_WIDTH_{w}\n")
    out.write("\n")
    # Registers past a syscall's arguments are not read; the comparison still has a meaning: all 64
    # bits on x86_64, the low 32 on i386 (as for every i386 register).
    for var, table, pad in (("x86_64", native, U64), ("i386", i386, U32)):
        out.write(f"const SyscallArgWidthEntry syscall_arg_widths_{var}[] = {{\n")
        for name in sorted(table):
            if len(table[name]) > 6:
                sys.exit(f"{name}: more than six arguments")
            args = (table[name] + [pad] * 6)[:6]
            out.write(f'        {{ "{name}", {len(table[name])}, {{ {", ".join(a[14:] for a in args)} }} }},\n')
        out.write("};\n")
        out.write(f"const size_t syscall_arg_widths_{var}_n = sizeof(syscall_arg_widths_{var}) / "
                  f"sizeof(syscall_arg_widths_{var}[0]);\n\n")


main()
