/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sendto, sendmsg and sendmmsg, performed by the supervisor. Their destination lives in the workload's
 * memory (msg_name; MSG_FASTOPEN connects with it) and the socket in its descriptor table, both of which
 * another task can change after any check. So once the policy allowed the call on what the decode step
 * read (the destination, or none: the connected peer), the supervisor sends itself: on the socket it
 * took from the workload (pidfd_getfd), to the checked address (a unix socket path through an O_PATH
 * descriptor of the checked file, named /proc/self/fd/N), with the data and control messages read once.
 *
 * As the kernel would for the workload: SCM_RIGHTS carries the workload's own descriptors (taken from
 * its table as they are when read); a blocking socket blocks (on a worker thread that waits in poll() on
 * the socket, the target and the supervisor's stop eventfd, within SO_SNDTIMEO), a stream socket sends
 * everything it was given; EPIPE raises SIGPIPE in the calling thread unless MSG_NOSIGNAL; sendmmsg
 * stores each message's length and returns how many went.
 *
 * What differs from the workload's own send, and is documented in forgeonectl(1): SCM_CREDENTIALS is
 * refused (EPERM: the kernel would attach and check the supervisor's credentials), a receiver that asks
 * for the sender's credentials (SO_PASSCRED) sees the supervisor's, and at most SEND_MAX_BYTES are sent
 * per call (a stream socket returns a short count beyond, a datagram fails with EMSGSIZE).
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "forgeone/path-resolve.h"
#include "supervisor-internal.h"

#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif
#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif

#define SEND_MAX_BYTES   (4u << 20)
#define SEND_MAX_CONTROL 65536u
#define SEND_MAX_IOV     1024u /* UIO_MAXIOV */
#define SEND_MAX_MSGS    64u   /* what decode_addr() looks at */
#define SEND_MAX_FDS     253u  /* SCM_MAX_FD */

bool send_supported(const char *name) {
        return name && (streq(name, "sendto") || streq(name, "sendmsg") || streq(name, "sendmmsg"));
}

typedef struct SendMsg {
        char *data;
        size_t len, sent;
        char *control;
        size_t controllen;
        int fds[SEND_MAX_FDS];
        size_t n_fds;
        uint64_t user_hdr; /* the workload's struct mmsghdr, for msg_len */
} SendMsg;

typedef struct SendJob {
        Supervisor *s;
        SupervisorEvent ev;
        TargetCreds creds;
        int sock_fd;
        int path_fd; /* AF_UNIX destination by path: the checked file, named as /proc/self/fd/N */
        struct sockaddr_storage addr;
        socklen_t addr_len;
        bool has_name;
        PolicySockaddr paddr;
        char unix_path[sizeof(((struct sockaddr_un *) 0)->sun_path) + 2];
        char *path;
        int flags;
        bool blocking, stream, mmsg;
        SendMsg msgs[SEND_MAX_MSGS];
        size_t n_msgs, done;
} SendJob;

static void send_job_free(SendJob *j) {
        if (!j)
                return;
        for (size_t i = 0; i < j->n_msgs; i++) {
                free(j->msgs[i].data);
                free(j->msgs[i].control);
                for (size_t k = 0; k < j->msgs[i].n_fds; k++)
                        safe_close(j->msgs[i].fds[k]);
        }
        safe_close(j->sock_fd);
        safe_close(j->path_fd);
        free(j->path);
        free(j);
}

/* The data of iovecs in the target, read once into one buffer; a stream socket takes at most
 * SEND_MAX_BYTES per call. Positive errno for the workload. */
static int read_iov(Call *c, SendJob *j, uint64_t iov_addr, uint64_t iovlen, SendMsg *m) {
        _cleanup_free_ struct iovec *iov = NULL;
        size_t total = 0, at = 0;

        if (iovlen > SEND_MAX_IOV)
                return EMSGSIZE;
        if (iovlen > 0) {
                iov = calloc(iovlen, sizeof *iov);
                if (!iov)
                        return ENOMEM;
                if (target_read(c->tid, iov_addr, iov, iovlen * sizeof *iov) < 0)
                        return EFAULT;
        }
        for (size_t i = 0; i < iovlen; i++) {
                if (iov[i].iov_len > SSIZE_MAX || total + iov[i].iov_len > SSIZE_MAX)
                        return EINVAL;
                total += iov[i].iov_len;
        }
        if (total > SEND_MAX_BYTES) {
                if (!j->stream)
                        return EMSGSIZE;
                total = SEND_MAX_BYTES;
        }
        m->data = malloc(MAX(total, 1u));
        if (!m->data)
                return ENOMEM;
        for (size_t i = 0; i < iovlen && at < total; i++) {
                size_t n = MIN(iov[i].iov_len, total - at);

                if (n > 0 &&
                    target_read(c->tid, (uint64_t) (uintptr_t) iov[i].iov_base, m->data + at, n) < 0)
                        return EFAULT;
                at += n;
        }
        m->len = total;
        return 0;
}

/* Control messages: the workload's SCM_RIGHTS descriptors are taken into our table and passed in its
 * place; SCM_CREDENTIALS and SCM_PIDFD would carry the supervisor's identity: refused. */
static int read_control(Call *c, uint64_t addr, uint64_t len, SendMsg *m, const char **reason) {
        struct msghdr mh;

        if (len == 0)
                return 0;
        if (len > SEND_MAX_CONTROL)
                return ENOBUFS;
        m->control = malloc(len);
        if (!m->control)
                return ENOMEM;
        if (target_read(c->tid, addr, m->control, len) < 0)
                return EFAULT;
        m->controllen = len;
        mh = (struct msghdr){ .msg_control = m->control, .msg_controllen = len };
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
                if (cm->cmsg_len < CMSG_LEN(0) || (char *) cm + cm->cmsg_len > m->control + m->controllen)
                        return EINVAL;
                if (cm->cmsg_level != SOL_SOCKET)
                        continue;
                if (cm->cmsg_type == SCM_CREDENTIALS || cm->cmsg_type == SCM_PIDFD) {
                        *reason = "credentials in a control message are not sent on the workload's behalf";
                        return EPERM;
                }
                if (cm->cmsg_type == SCM_RIGHTS) {
                        size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        int *fds = (int *) CMSG_DATA(cm);

                        for (size_t k = 0; k < n; k++) {
                                int theirs, ours, r;

                                if (m->n_fds >= ELEMENTSOF(m->fds))
                                        return EINVAL;
                                memcpy(&theirs, fds + k, sizeof theirs);
                                r = theirs < 0 ? -EBADF : decode_take_file(c, theirs, &ours);
                                if (r < 0)
                                        return r == -ENOMEM ? ENOMEM : EBADF;
                                m->fds[m->n_fds++] = ours;
                                memcpy(fds + k, &ours, sizeof ours);
                        }
                }
        }
        return 0;
}

/* The messages of the call, as the kernel would copy them. Positive errno for the workload. */
static int read_messages(Call *c, SendJob *j, const char **reason) {
        int r;

        if (streq(c->name, "sendto")) {
                j->n_msgs = 1;
                struct iovec one = { .iov_base = (void *) (uintptr_t) c->args[1],
                                     .iov_len = (size_t) c->args[2] };
                SendMsg *m = &j->msgs[0];

                if (one.iov_len > SSIZE_MAX)
                        return EINVAL;
                if (one.iov_len > SEND_MAX_BYTES) {
                        if (!j->stream)
                                return EMSGSIZE;
                        one.iov_len = SEND_MAX_BYTES;
                }
                m->data = malloc(MAX(one.iov_len, 1u));
                if (!m->data)
                        return ENOMEM;
                m->len = one.iov_len;
                if (m->len > 0 &&
                    target_read(c->tid, (uint64_t) (uintptr_t) one.iov_base, m->data, m->len) < 0)
                        return EFAULT;
                return 0;
        }

        size_t vlen = j->mmsg ? MIN((unsigned) c->args[2], 1024u) : 1;
        size_t stride = j->mmsg ? sizeof(struct mmsghdr) : sizeof(struct msghdr);

        if (vlen > SEND_MAX_MSGS)
                return EPERM; /* decode_addr() refused it already */
        j->n_msgs = vlen;
        for (size_t i = 0; i < vlen; i++) {
                struct msghdr mh;
                uint64_t at = c->args[1] + i * stride;

                if (target_read(c->tid, at, &mh, sizeof mh) < 0)
                        return EFAULT;
                j->msgs[i].user_hdr = at;
                r = read_iov(c, j, (uint64_t) (uintptr_t) mh.msg_iov, mh.msg_iovlen, &j->msgs[i]);
                if (r == 0)
                        r = read_control(c, (uint64_t) (uintptr_t) mh.msg_control, mh.msg_controllen,
                                         &j->msgs[i], reason);
                if (r > 0)
                        return r;
        }
        return 0;
}

/* One non-blocking try at the messages not sent yet. 0 when everything went, -EAGAIN when the socket is
 * full, another negative errno on failure; j->done and each message's sent count follow progress. */
static int send_some(SendJob *j) {
        CredsSaved saved;
        int r = creds_enter(&j->creds, 0, &saved);

        if (r < 0)
                return r;
        while (j->done < j->n_msgs) {
                SendMsg *m = &j->msgs[j->done];
                struct iovec iov = { .iov_base = m->data + m->sent, .iov_len = m->len - m->sent };
                struct msghdr mh = {
                        .msg_name = j->has_name ? &j->addr : NULL,
                        .msg_namelen = j->has_name ? j->addr_len : 0,
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        /* Control messages go with the first bytes of their message only. */
                        .msg_control = m->sent == 0 ? m->control : NULL,
                        .msg_controllen = m->sent == 0 ? m->controllen : 0,
                };
                ssize_t n = sendmsg(j->sock_fd, &mh, j->flags | MSG_NOSIGNAL | MSG_DONTWAIT);

                if (n < 0) {
                        r = -errno;
                        break;
                }
                m->sent += (size_t) n;
                /* A blocking stream send returns once all of it is queued; anything else is one try. */
                if (j->stream && j->blocking && m->sent < m->len)
                        continue;
                j->done++;
        }
        creds_leave(&saved);
        return j->done < j->n_msgs ? (r < 0 ? r : -EAGAIN) : 0;
}

/* The reply: sendmmsg's msg_len fields, SIGPIPE, the value. */
static void send_finish(SendJob *j, int error, EmulateResult *res) {
        Supervisor *s = j->s;

        res->error = 0;
        if (j->mmsg) {
                for (size_t i = 0; i < j->done; i++) {
                        unsigned len = (unsigned) j->msgs[i].sent;

                        if (seccomp_notif_id_valid_raw(s->listener, j->ev.id) < 0 ||
                            target_write(j->ev.tid, j->msgs[i].user_hdr + offsetof(struct mmsghdr, msg_len),
                                         &len, sizeof len) < 0)
                                break;
                }
                res->value = (int64_t) j->done;
                if (j->done == 0)
                        res->error = error ?: EAGAIN;
        } else if (j->done == 1 || j->msgs[0].sent > 0)
                res->value = (int64_t) j->msgs[0].sent;
        else
                res->error = error ?: EAGAIN;
        /* The kernel raises SIGPIPE in the sender when a stream's peer is gone, unless told not to. */
        if (res->error == EPIPE && !(j->flags & MSG_NOSIGNAL) &&
            seccomp_notif_id_valid_raw(s->listener, j->ev.id) == 0)
                (void) syscall(SYS_tgkill, j->creds.tgid, j->ev.tid, SIGPIPE);
}

static void *send_worker(void *arg) {
        SendJob *j = arg;
        Supervisor *s = j->s;
        EmulateResult res = {};
        _cleanup_close_ int pidfd = pidfd_open_raw(j->ev.tid, PIDFD_THREAD);
        struct timeval tv = {};
        socklen_t tl = sizeof tv;
        int64_t timeout_ms = -1;
        int r = -EAGAIN;

        creds_thread_keep(true);
        if (getsockopt(j->sock_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &tl) == 0 && (tv.tv_sec || tv.tv_usec))
                timeout_ms = (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;
        while (r == -EAGAIN) {
                struct pollfd p[3] = {
                        { .fd = j->sock_fd, .events = POLLOUT },
                        { .fd = pidfd, .events = POLLIN },
                        { .fd = s->stop_fd, .events = POLLIN },
                };
                int k;

                do
                        k = poll(p, ELEMENTSOF(p), (int) MIN(timeout_ms, (int64_t) INT32_MAX));
                while (k < 0 && errno == EINTR);
                if (k < 0 || p[1].revents || p[2].revents) {
                        res.replied = res.gone = true;
                        break;
                }
                if (k == 0) /* SO_SNDTIMEO: what went, or EAGAIN */
                        break;
                r = send_some(j);
        }
        if (!res.replied) {
                send_finish(j, r < 0 ? -r : 0, &res);
                int k = reply_value(s, j->ev.id, res.error, res.error ? 0 : res.value);
                res.gone = k == -ENOENT;
        }
        j->ev.path = j->path;
        j->ev.addr = j->has_name ? &j->paddr : NULL;
        j->ev.error = res.error;
        j->ev.value = res.error ? 0 : res.value;
        j->ev.target_gone = res.gone;
        supervisor_report(s, &j->ev);
        send_job_free(j);
        supervisor_worker_end(s);
        return NULL;
}

int send_emulate(Call *c, const SupervisorEvent *proto, EmulateResult *res) {
        SendJob *j;
        const char *reason = NULL;
        int fl, type = 0, r;
        socklen_t tl = sizeof type;

        *res = (EmulateResult){};
        if (!c->creds)
                return -EINVAL;
        if (c->arch != NATIVE_AUDIT_ARCH) {
                /* struct msghdr and friends are read in the native layout only. */
                res->error = EPERM;
                res->reason = "emulation is only done for the native architecture";
                return 0;
        }
        if (c->sock_fd < 0) {
                res->error = EBADF;
                return 0;
        }
        if (getsockopt(c->sock_fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0) {
                res->error = errno; /* ENOTSOCK */
                return 0;
        }
        fl = fcntl(c->sock_fd, F_GETFL);
        if (fl < 0) {
                res->error = errno;
                return 0;
        }

        j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        j->s = c->s;
        j->ev = *proto;
        j->ev.action = SUPERVISOR_ACTION_EMULATE;
        j->ev.path = j->ev.path2 = NULL;
        j->ev.addr = NULL;
        j->creds = *c->creds;
        j->sock_fd = j->path_fd = -EBADF;
        j->mmsg = streq(c->name, "sendmmsg");
        j->flags = (int) (streq(c->name, "sendto") ? c->args[3] : j->mmsg ? c->args[3] : c->args[2]);
        j->stream = type == SOCK_STREAM;
        j->blocking = !(fl & O_NONBLOCK) && !(j->flags & MSG_DONTWAIT);

        r = read_messages(c, j, &reason);
        if (r > 0) {
                res->error = r;
                res->reason = reason;
                send_job_free(j);
                return 0;
        }
        r = seccomp_notif_id_valid_raw(c->s->listener, c->id);
        if (r < 0) {
                res->replied = res->gone = true;
                send_job_free(j);
                return 0;
        }

        if (c->have_addr && c->addr.family != POLICY_FAMILY_CONNECTED) {
                j->has_name = true;
                j->addr = c->raw_addr;
                j->addr_len = c->raw_len;
                j->paddr = c->addr;
                if (c->addr.unix_path)
                        snprintf(j->unix_path, sizeof j->unix_path, "%s", c->addr.unix_path);
                j->paddr.unix_path = c->addr.unix_path ? j->unix_path : NULL;
                if (c->addr.family == AF_UNIX && c->addr.unix_path && c->addr.unix_path[0] == '/') {
                        /* A path is looked up by the sender's root and cwd: send to the checked file
                         * through our descriptor of it instead, opened as the workload would look it up. */
                        struct sockaddr_un *un = (struct sockaddr_un *) &j->addr;
                        struct open_how how = {
                                .flags = O_PATH | O_CLOEXEC,
                                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
                        };
                        CredsSaved saved;

                        r = creds_enter(c->creds, 0, &saved);
                        if (r >= 0)
                                j->path_fd = openat2_raw(c->s->root_fd, c->addr.unix_path, &how);
                        creds_leave(&saved);
                        if (r < 0 || j->path_fd < 0) {
                                res->error = r < 0 ? -r : -j->path_fd;
                                send_job_free(j);
                                return 0;
                        }
                        memset(un->sun_path, 0, sizeof un->sun_path);
                        snprintf(un->sun_path, sizeof un->sun_path, "/proc/self/fd/%d", j->path_fd);
                        j->addr_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) +
                                                   strlen(un->sun_path) + 1);
                }
        }
        j->sock_fd = TAKE_FD(c->sock_fd);

        r = send_some(j);
        if (r == -EAGAIN && j->blocking) {
                if (c->path) {
                        j->path = strdup(c->path);
                        if (!j->path) {
                                send_job_free(j);
                                return -ENOMEM;
                        }
                }
                r = supervisor_worker_start(c->s, send_worker, j);
                if (r < 0) {
                        send_job_free(j);
                        return r;
                }
                res->deferred = true;
                return 0;
        }
        {
                EmulateResult er = {};

                send_finish(j, r < 0 ? -r : 0, &er);
                res->error = er.error;
                res->value = er.value;
        }
        send_job_free(j);
        return 0;
}
