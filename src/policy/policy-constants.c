/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <ctype.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <linux/fs.h>
#include <linux/sockios.h>

#include "forgeone/policy-constants.h"
#include "forgeone/syscall-table.h"

/* Newer than the 6.1 headers, or not in glibc's view of them. */
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif
#ifndef SECCOMP_SET_MODE_STRICT
#define SECCOMP_SET_MODE_STRICT 0
#endif
#ifndef SECCOMP_GET_ACTION_AVAIL
#define SECCOMP_GET_ACTION_AVAIL 2
#endif
#ifndef SECCOMP_GET_NOTIF_SIZES
#define SECCOMP_GET_NOTIF_SIZES 3
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#endif
#ifndef PR_GET_MDWE
#define PR_GET_MDWE 66
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef O_TMPFILE
#define O_TMPFILE (020000000 | O_DIRECTORY)
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef AT_EACCESS
#define AT_EACCESS 0x200
#endif
#ifndef SOCK_NONBLOCK
#define SOCK_NONBLOCK O_NONBLOCK
#endif
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef AF_MCTP
#define AF_MCTP 45
#endif
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

/* struct termios2 (asm/termbits.h) cannot be included beside <termios.h>, and the headers define its
 * ioctls with it: by the size it has. */
#undef TCGETS2
#undef TCSETS2
#undef TCSETSW2
#undef TCSETSF2
#define TCGETS2 _IOR('T', 0x2A, char[44])
#define TCSETS2 _IOW('T', 0x2B, char[44])
#define TCSETSW2 _IOW('T', 0x2C, char[44])
#define TCSETSF2 _IOW('T', 0x2D, char[44])
#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif

#define C(x) { #x, (uint64_t) (x) }

/* Grouped by the syscalls that take them; names are unique across the table. */
static const PolicyConstant constants[] = {
        /* open(2), openat(2), fcntl(2) */
        C(O_RDONLY), C(O_WRONLY), C(O_RDWR), C(O_ACCMODE), C(O_CREAT), C(O_EXCL), C(O_NOCTTY), C(O_TRUNC),
        C(O_APPEND), C(O_NONBLOCK), C(O_DSYNC), C(O_SYNC), C(O_DIRECT), C(O_LARGEFILE), C(O_DIRECTORY),
        C(O_NOFOLLOW), C(O_NOATIME), C(O_CLOEXEC), C(O_PATH), C(O_TMPFILE), C(O_ASYNC),
        C(AT_FDCWD), C(AT_SYMLINK_NOFOLLOW), C(AT_REMOVEDIR), C(AT_SYMLINK_FOLLOW), C(AT_NO_AUTOMOUNT),
        C(AT_EMPTY_PATH), C(AT_RECURSIVE), C(AT_EACCESS),
        C(F_DUPFD), C(F_GETFD), C(F_SETFD), C(F_GETFL), C(F_SETFL), C(F_GETLK), C(F_SETLK), C(F_SETLKW),
        C(F_SETOWN), C(F_GETOWN), C(F_SETSIG), C(F_GETSIG), C(F_DUPFD_CLOEXEC), C(F_SETLEASE),
        C(F_GETLEASE), C(F_NOTIFY), C(F_SETPIPE_SZ), C(F_GETPIPE_SZ), C(F_ADD_SEALS), C(F_GET_SEALS),
        C(FD_CLOEXEC),
        C(S_IFMT), C(S_IFSOCK), C(S_IFLNK), C(S_IFREG), C(S_IFBLK), C(S_IFDIR), C(S_IFCHR), C(S_IFIFO),
        C(S_ISUID), C(S_ISGID), C(S_ISVTX), C(S_IRWXU), C(S_IRUSR), C(S_IWUSR), C(S_IXUSR), C(S_IRWXG),
        C(S_IRGRP), C(S_IWGRP), C(S_IXGRP), C(S_IRWXO), C(S_IROTH), C(S_IWOTH), C(S_IXOTH),

        /* socket(2), setsockopt(2) */
        C(AF_UNSPEC), C(AF_UNIX), C(AF_LOCAL), C(AF_INET), C(AF_INET6), C(AF_NETLINK), C(AF_PACKET),
        C(AF_KEY), C(AF_BLUETOOTH), C(AF_ALG), C(AF_VSOCK), C(AF_XDP), C(AF_CAN), C(AF_TIPC),
        C(AF_APPLETALK), C(AF_AX25), C(AF_X25), C(AF_RDS), C(AF_LLC), C(AF_MCTP),
        C(SOCK_STREAM), C(SOCK_DGRAM), C(SOCK_RAW), C(SOCK_RDM), C(SOCK_SEQPACKET), C(SOCK_PACKET),
        C(SOCK_NONBLOCK), C(SOCK_CLOEXEC),
        C(IPPROTO_IP), C(IPPROTO_ICMP), C(IPPROTO_TCP), C(IPPROTO_UDP), C(IPPROTO_IPV6), C(IPPROTO_ICMPV6),
        C(IPPROTO_RAW), C(IPPROTO_SCTP), C(IPPROTO_UDPLITE), C(IPPROTO_MPTCP),
        C(SOL_SOCKET), C(SO_REUSEADDR), C(SO_REUSEPORT), C(SO_KEEPALIVE), C(SO_BROADCAST),
        C(SO_BINDTODEVICE), C(SO_DEBUG), C(SO_MARK), C(SO_ATTACH_FILTER), C(SO_ATTACH_BPF),
        C(SO_PEERCRED), C(SO_PASSCRED), C(SO_RCVBUF), C(SO_SNDBUF), C(SO_RCVBUFFORCE), C(SO_SNDBUFFORCE),
        C(MSG_OOB), C(MSG_PEEK), C(MSG_DONTWAIT), C(MSG_NOSIGNAL), C(MSG_WAITALL), C(MSG_TRUNC),
        C(MSG_FASTOPEN), C(MSG_CONFIRM), C(MSG_EOR), C(MSG_MORE),

        /* clone(2), unshare(2), setns(2) */
        C(CLONE_VM), C(CLONE_FS), C(CLONE_FILES), C(CLONE_SIGHAND), C(CLONE_PIDFD), C(CLONE_PTRACE),
        C(CLONE_VFORK), C(CLONE_PARENT), C(CLONE_THREAD), C(CLONE_NEWNS), C(CLONE_SYSVSEM),
        C(CLONE_SETTLS), C(CLONE_PARENT_SETTID), C(CLONE_CHILD_CLEARTID), C(CLONE_DETACHED),
        C(CLONE_UNTRACED), C(CLONE_CHILD_SETTID), C(CLONE_NEWCGROUP), C(CLONE_NEWUTS), C(CLONE_NEWIPC),
        C(CLONE_NEWUSER), C(CLONE_NEWPID), C(CLONE_NEWNET), C(CLONE_IO), C(CLONE_NEWTIME),
        C(CLONE_CLEAR_SIGHAND), C(CLONE_INTO_CGROUP),

        /* mmap(2), mprotect(2), madvise(2) */
        C(PROT_NONE), C(PROT_READ), C(PROT_WRITE), C(PROT_EXEC), C(PROT_GROWSDOWN), C(PROT_GROWSUP),
        C(MAP_SHARED), C(MAP_PRIVATE), C(MAP_SHARED_VALIDATE), C(MAP_FIXED), C(MAP_ANONYMOUS),
        C(MAP_ANON), C(MAP_GROWSDOWN), C(MAP_DENYWRITE), C(MAP_EXECUTABLE), C(MAP_LOCKED),
        C(MAP_NORESERVE), C(MAP_POPULATE), C(MAP_NONBLOCK), C(MAP_STACK), C(MAP_HUGETLB), C(MAP_SYNC),
        C(MAP_FIXED_NOREPLACE),
        C(MADV_NORMAL), C(MADV_RANDOM), C(MADV_SEQUENTIAL), C(MADV_WILLNEED), C(MADV_DONTNEED),
        C(MADV_FREE), C(MADV_REMOVE), C(MADV_DONTFORK), C(MADV_DOFORK), C(MADV_MERGEABLE),
        C(MADV_HUGEPAGE), C(MADV_NOHUGEPAGE),

        /* prctl(2) */
        C(PR_SET_PDEATHSIG), C(PR_GET_PDEATHSIG), C(PR_GET_DUMPABLE), C(PR_SET_DUMPABLE),
        C(PR_GET_KEEPCAPS), C(PR_SET_KEEPCAPS), C(PR_SET_NAME), C(PR_GET_NAME), C(PR_GET_SECCOMP),
        C(PR_SET_SECCOMP), C(PR_CAPBSET_READ), C(PR_CAPBSET_DROP), C(PR_GET_SECUREBITS),
        C(PR_SET_SECUREBITS), C(PR_SET_TIMERSLACK), C(PR_GET_TIMERSLACK), C(PR_SET_MM),
        C(PR_SET_PTRACER), C(PR_SET_CHILD_SUBREAPER), C(PR_GET_CHILD_SUBREAPER), C(PR_SET_NO_NEW_PRIVS),
        C(PR_GET_NO_NEW_PRIVS), C(PR_GET_TID_ADDRESS), C(PR_SET_THP_DISABLE), C(PR_GET_THP_DISABLE),
        C(PR_CAP_AMBIENT), C(PR_SET_VMA), C(PR_SET_MDWE), C(PR_GET_MDWE),

        /* seccomp(2) */
        C(SECCOMP_MODE_DISABLED), C(SECCOMP_MODE_STRICT), C(SECCOMP_MODE_FILTER),
        C(SECCOMP_SET_MODE_STRICT), C(SECCOMP_SET_MODE_FILTER), C(SECCOMP_GET_ACTION_AVAIL),
        C(SECCOMP_GET_NOTIF_SIZES), C(SECCOMP_FILTER_FLAG_TSYNC), C(SECCOMP_FILTER_FLAG_LOG),
        C(SECCOMP_FILTER_FLAG_SPEC_ALLOW), C(SECCOMP_FILTER_FLAG_NEW_LISTENER),
        C(SECCOMP_FILTER_FLAG_TSYNC_ESRCH), C(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV),

        /* ioctl(2) on terminals, files and sockets */
        C(TCGETS), C(TCSETS), C(TCSETSW), C(TCSETSF), C(TCGETS2), C(TCSETS2), C(TCSETSW2), C(TCSETSF2),
        C(TCGETA), C(TCSETA), C(TCSETAW), C(TCSETAF), C(TCSBRK), C(TCSBRKP), C(TCXONC), C(TCFLSH),
        C(TIOCGWINSZ), C(TIOCSWINSZ), C(TIOCGPGRP), C(TIOCSPGRP), C(TIOCSCTTY), C(TIOCNOTTY), C(TIOCSTI),
        C(TIOCLINUX), C(TIOCCONS), C(TIOCGPTN), C(TIOCSPTLCK), C(TIOCGPTLCK), C(TIOCGPTPEER), C(TIOCGPKT),
        C(TIOCPKT), C(TIOCGSID), C(TIOCEXCL), C(TIOCNXCL), C(TIOCGEXCL), C(TIOCOUTQ), C(TIOCINQ),
        C(TIOCGETD), C(TIOCSETD), C(TIOCMGET), C(TIOCGLCKTRMIOS), C(TIOCSLCKTRMIOS), C(TIOCSBRK),
        C(TIOCCBRK), C(TIOCGDEV), C(TIOCVHANGUP), C(TIOCSIG),
        C(FIONREAD), C(FIONBIO), C(FIOCLEX), C(FIONCLEX), C(FIOASYNC), C(FIOQSIZE), C(FIGETBSZ),
        C(FS_IOC_GETFLAGS), C(FS_IOC_SETFLAGS), C(FS_IOC_GETVERSION), C(FS_IOC_SETVERSION),
        C(FS_IOC_FSGETXATTR), C(FS_IOC_FSSETXATTR), C(FICLONE), C(FICLONERANGE), C(FIDEDUPERANGE),
        C(FIFREEZE), C(FITHAW), C(FITRIM),
        C(SIOCGIFCONF), C(SIOCGIFFLAGS), C(SIOCSIFFLAGS), C(SIOCGIFINDEX), C(SIOCGIFNAME), C(SIOCGIFADDR),
        C(SIOCGIFDSTADDR), C(SIOCGIFBRDADDR), C(SIOCGIFNETMASK), C(SIOCGIFHWADDR), C(SIOCGIFMTU),
        C(SIOCATMARK), C(SIOCINQ), C(SIOCOUTQ),

        /* mount(2), umount2(2) */
        C(MS_RDONLY), C(MS_NOSUID), C(MS_NODEV), C(MS_NOEXEC), C(MS_SYNCHRONOUS), C(MS_REMOUNT),
        C(MS_MANDLOCK), C(MS_DIRSYNC), C(MS_NOSYMFOLLOW), C(MS_NOATIME), C(MS_NODIRATIME), C(MS_BIND),
        C(MS_MOVE), C(MS_REC), C(MS_SILENT), C(MS_PRIVATE), C(MS_SLAVE), C(MS_SHARED), C(MS_UNBINDABLE),
        C(MS_RELATIME), C(MS_STRICTATIME), C(MNT_FORCE), C(MNT_DETACH), C(MNT_EXPIRE),
        C(UMOUNT_NOFOLLOW),

        /* ptrace(2) */
        C(PTRACE_TRACEME), C(PTRACE_PEEKTEXT), C(PTRACE_PEEKDATA), C(PTRACE_POKETEXT),
        C(PTRACE_POKEDATA), C(PTRACE_CONT), C(PTRACE_KILL), C(PTRACE_ATTACH), C(PTRACE_DETACH),
        C(PTRACE_SEIZE), C(PTRACE_INTERRUPT),

        /* personality(2) */
        C(PER_LINUX), C(PER_LINUX32), C(ADDR_NO_RANDOMIZE), C(READ_IMPLIES_EXEC),

        /* kill(2), rt_sigaction(2) */
        C(SIGHUP), C(SIGINT), C(SIGQUIT), C(SIGILL), C(SIGTRAP), C(SIGABRT), C(SIGBUS), C(SIGFPE),
        C(SIGKILL), C(SIGUSR1), C(SIGSEGV), C(SIGUSR2), C(SIGPIPE), C(SIGALRM), C(SIGTERM), C(SIGCHLD),
        C(SIGCONT), C(SIGSTOP), C(SIGTSTP), C(SIGTTIN), C(SIGTTOU), C(SIGURG), C(SIGXCPU), C(SIGXFSZ),
        C(SIGVTALRM), C(SIGPROF), C(SIGWINCH), C(SIGIO), C(SIGSYS),
};

int policy_constant_lookup(const char *name, uint64_t *ret) {
        if (!name)
                return -ENOENT;
        FOREACH_ELEMENT(c, constants)
                if (streq(c->name, name)) {
                        if (ret)
                                *ret = c->value;
                        return 0;
                }
        return -ENOENT;
}

const PolicyConstant *policy_constant_by_index(size_t i) {
        return i < ELEMENTSOF(constants) ? &constants[i] : NULL;
}

const char *policy_constant_suggest(const char *name) {
        const char *best = NULL;
        unsigned best_d = UINT32_MAX;

        if (!name || !*name)
                return NULL;
        FOREACH_ELEMENT(c, constants) {
                unsigned d = string_edit_distance(name, c->name);

                if (d < best_d) {
                        best_d = d;
                        best = c->name;
                }
        }
        return best_d <= MAX((unsigned) strlen(name) / 3, 1u) ? best : NULL;
}

/* One operand: a number in C notation (optionally negative) or a name. */
static int parse_operand(const char *s, size_t len, uint64_t *ret) {
        char buf[64], *end;
        bool negative = false;
        uint64_t v;
        const char *p;

        if (len == 0 || len >= sizeof buf)
                return -EINVAL;
        memcpy(buf, s, len);
        buf[len] = 0;

        if (isalpha((unsigned char) buf[0]) || buf[0] == '_') {
                for (p = buf; *p; p++)
                        if (!isalnum((unsigned char) *p) && *p != '_')
                                return -EINVAL;
                return policy_constant_lookup(buf, ret);
        }

        p = buf;
        if (*p == '-') {
                negative = true;
                p++;
        }
        if (!isdigit((unsigned char) *p))
                return -EINVAL;
        errno = 0;
        v = strtoull(p, &end, 0); /* 0x hex, leading-0 octal, decimal */
        if (errno != 0 || *end != 0)
                return -EINVAL;
        if (negative) {
                if (v > (uint64_t) INT64_MAX + 1)
                        return -EINVAL;
                v = 0 - v; /* two's complement, as the kernel sees a negative int */
        }
        *ret = v;
        return 0;
}

int policy_constant_parse(const char *expr, uint64_t *ret, char **bad_token) {
        uint64_t acc = 0;
        const char *p;

        if (!expr)
                return -EINVAL;

        p = expr;
        for (;;) {
                const char *start, *end;
                uint64_t v = 0;
                int r;

                while (*p == ' ' || *p == '\t')
                        p++;
                start = p;
                while (*p && *p != '|' && *p != ' ' && *p != '\t')
                        p++;
                end = p;
                while (*p == ' ' || *p == '\t')
                        p++;
                if (*p && *p != '|') /* "A B": two operands without an operator */
                        end = p + strcspn(p, "|");

                r = parse_operand(start, (size_t) (end - start), &v);
                if (r < 0) {
                        if (bad_token)
                                *bad_token = strndup(start, (size_t) (end - start));
                        return r;
                }
                acc |= v;

                p = end;
                while (*p == ' ' || *p == '\t')
                        p++;
                if (*p == 0)
                        break;
                p++; /* the '|' */
        }

        *ret = acc;
        return 0;
}
