/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Act: carry a Decision out. Trust is lowered and a quarantine started
 * before the reply, so the workload never runs past the call that
 * quarantined it; then the call is continued, failed, or performed by the
 * supervisor (supervisor-emulate.c) and answered.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "forgeone/time-util.h"
#include "supervisor-internal.h"

#define NOTIF_BUF 512

int reply_value(Supervisor *s, uint64_t id, int error, int64_t value) {
        _Alignas(8) char buf[NOTIF_BUF] = {};
        struct seccomp_notif_resp *resp = (struct seccomp_notif_resp *) buf;

        if (_unlikely_(error && error == __atomic_load_n(&s->fake_from, __ATOMIC_RELAXED)))
                error = __atomic_load_n(&s->fake_to, __ATOMIC_RELAXED);
        resp->id = id;
        resp->error = error ? -error : 0;
        resp->val = error ? 0 : value;
        if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0)
                return -errno;
        return 0;
}

int reply_continue(Supervisor *s, uint64_t id) {
        _Alignas(8) char buf[NOTIF_BUF] = {};
        struct seccomp_notif_resp *resp = (struct seccomp_notif_resp *) buf;

        resp->id = id;
        resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0)
                return -errno;
        return 0;
}

int reply_fd(Supervisor *s, uint64_t id, int fd, uint64_t flags, EmulateResult *res) {
        struct seccomp_notif_addfd a = {
                .id = id,
                .srcfd = (uint32_t) fd,
                .newfd_flags = (uint32_t) (flags & O_CLOEXEC),
        };
        int r = ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a), k;

        if (r < 0)
                r = -errno;
        /* Ours closed before the workload runs on: its close(2) is then the last one (see the header). */
        safe_close(fd);
        if (r < 0) {
                if (r == -ENOENT) {
                        res->replied = res->gone = true;
                        res->error = 0;
                        return 0;
                }
                /* Could not install it (EMFILE in the target, ...): that is the call's result. */
                res->replied = false;
                res->error = -r;
                return 0;
        }
        res->value = r;
        res->replied = true;
        k = reply_value(s, id, 0, r);
        res->gone = k == -ENOENT;
        return 0;
}

static uint64_t now_usec(void) {
        return time_now_usec(CLOCK_MONOTONIC);
}

/* Trust and quarantine state: a denial by the policy costs trust, and below the threshold the
 * workload is quarantined. Returns the trust after this call. */
static int account(Supervisor *s, Decision *d, SupervisorEvent *ev, int trust, bool *ret_quarantine_now) {
        bool quarantine_now = d->action == SUPERVISOR_ACTION_QUARANTINE;

        if (!d->penalize && !quarantine_now) {
                *ret_quarantine_now = false;
                return trust;
        }
        pthread_mutex_lock(&s->lock);
        if (d->penalize) {
                trust = trust_score_penalize(&s->trust, &s->trust_cfg, now_usec());
                if (trust_score_quarantined(&s->trust, &s->trust_cfg) && !s->quarantined) {
                        quarantine_now = true;
                        d->action = SUPERVISOR_ACTION_QUARANTINE;
                        d->reason = "trust fell below the quarantine threshold";
                }
        }
        if (quarantine_now && s->quarantined)
                quarantine_now = false; /* already being stopped */
        if (quarantine_now)
                __atomic_store_n(&s->quarantined, true, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&s->lock);
        if (d->penalize || quarantine_now)
                supervisor_wake_owner(s);
        *ret_quarantine_now = quarantine_now;
        return trust;
}

int supervisor_penalize(Supervisor *s, uint64_t n, const char *reason) {
        bool quarantine_now = false;
        int trust;

        if (n == 0)
                return supervisor_get_trust(s);
        pthread_mutex_lock(&s->lock);
        trust = trust_score_current(&s->trust, &s->trust_cfg, now_usec());
        /* One penalty each, as the supervisor's own denials; the score stops at 0. */
        for (uint64_t i = 0; i < n && (i == 0 || trust > 0); i++)
                trust = trust_score_penalize(&s->trust, &s->trust_cfg, now_usec());
        if (trust_score_quarantined(&s->trust, &s->trust_cfg) && !s->quarantined) {
                quarantine_now = true;
                __atomic_store_n(&s->quarantined, true, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&s->lock);
        if (quarantine_now && s->on_quarantine) {
                SupervisorEvent ev = {
                        .nr = -1,
                        .verdict = POLICY_VERDICT_DENY,
                        .rule_id = "kernel-filter",
                        .reason = reason ?: "trust fell below the quarantine threshold",
                        .action = SUPERVISOR_ACTION_QUARANTINE,
                        .generation = supervisor_get_generation(s),
                        .trust = trust,
                };

                s->on_quarantine(&ev, s->userdata);
        }
        supervisor_wake_owner(s);
        return trust;
}

void supervisor_test_fake_reply_errno(Supervisor *s, int decided, int replied) {
        __atomic_store_n(&s->fake_to, replied, __ATOMIC_RELAXED);
        __atomic_store_n(&s->fake_from, decided, __ATOMIC_RELAXED);
}

static void fill_event(const Call *c, SupervisorEvent *ev) {
        if (!ev->pid && c->creds)
                ev->pid = c->creds->tgid;
        ev->path = c->path;
        ev->path2 = c->path2;
        ev->access = c->access;
        /* A send without an address of its own has nothing to show: it went to the connected peer. */
        ev->addr = c->have_addr && c->addr.family != POLICY_FAMILY_CONNECTED ? &c->addr : NULL;
}

bool supervisor_act(Call *c, Decision *d, int trust, SupervisorEvent *ev) {
        Supervisor *s = c->s;
        bool quarantine_now = false;
        int r;

        ev->verdict = d->verdict;
        ev->rule_id = d->rule_id;
        ev->reason = d->reason;

        if (d->action == SUPERVISOR_ACTION_EMULATE) {
                EmulateResult er;

                r = decode_creds(c);
                if (r < 0) {
                        d->action = SUPERVISOR_ACTION_DENY;
                        d->error = r == -ENOENT ? ESRCH : EPERM;
                        ev->reason = "cannot read the workload's credentials";
                        goto reply;
                }
                ev->trust = trust;
                ev->action = SUPERVISOR_ACTION_EMULATE;
                fill_event(c, ev);
                r = c->cls->is_fdcall ? fdcall_emulate(c, &er)
                    : c->cls->is_send ? send_emulate(c, ev, &er)
                                      : emulate_call(c, ev, &er);
                if (r < 0) {
                        d->action = SUPERVISOR_ACTION_DENY;
                        d->error = EPERM;
                        ev->reason = "emulation failed";
                        goto reply;
                }
                if (er.deferred)
                        return true; /* the worker replies and reports */
                if (c->again)
                        return false; /* nothing done, nothing answered: the caller decides again */
                ev->error = er.error;
                ev->value = er.value;
                if (er.reason)
                        ev->reason = er.reason;
                if (er.replied) {
                        ev->target_gone = er.gone;
                        return false;
                }
                r = reply_value(s, c->id, er.error, er.error ? 0 : er.value);
                ev->target_gone = r == -ENOENT;
                return false;
        }

        if (d->action == SUPERVISOR_ACTION_CONTINUE && d->requires_stable_memory) {
                /* Allowed on what memory said and not emulable: continued only when nothing anyone in the
                 * workload can do changes what the kernel will find (supervisor-continue.c, forgeonectl(1)
                 * NOTES). A path that did not lead anywhere is answered as the kernel would answer it now:
                 * the kernel's own lookup could find something created since. */
                int bad = emulate_check_args(c); /* the kernel rejects bad arguments before the lookup */
                int missing = bad > 0 ? bad : c->lookup_error ?: c->lookup_error2 ?: continue_path_missing(c);
                const char *why = NULL;

                r = decode_creds(c);
                if (r >= 0 && missing) {
                        d->action = SUPERVISOR_ACTION_EMULATE;
                        ev->reason = bad > 0 ? "answered with the error of its arguments, as the kernel "
                                               "checks them first"
                                             : "answered with the lookup's error: the kernel is not let to "
                                               "look again";
                        ev->action = d->action;
                        ev->error = missing;
                        ev->trust = trust;
                        fill_event(c, ev);
                        r = reply_value(s, c->id, missing, 0);
                        ev->target_gone = r == -ENOENT;
                        return false;
                }
                why = r < 0 ? "cannot read the workload's credentials" : continue_unsafe_reason(c, trust);
                if (why && c->cls->is_open && (c->open_flags & O_PATH)) {
                        EmulateResult er;

                        if (continue_opath_substitute(c, trust, &er) >= 0) {
                                ev->action = d->action = SUPERVISOR_ACTION_EMULATE;
                                ev->reason = er.reason;
                                ev->error = er.error;
                                ev->value = er.value;
                                ev->trust = trust;
                                fill_event(c, ev);
                                if (!er.replied) {
                                        r = reply_value(s, c->id, er.error, er.error ? 0 : er.value);
                                        er.gone = r == -ENOENT;
                                }
                                ev->target_gone = er.gone;
                                return false;
                        }
                }
                if (why) {
                        d->action = SUPERVISOR_ACTION_DENY;
                        d->error = EPERM;
                        ev->rule_id = "supervisor";
                        ev->reason = why;
                }
        }

reply:
        trust = account(s, d, ev, trust, &quarantine_now);
        ev->action = d->action;
        ev->error = d->action == SUPERVISOR_ACTION_CONTINUE ? 0 : d->error;
        if (d->reason && !ev->reason)
                ev->reason = d->reason;
        ev->trust = trust;
        fill_event(c, ev);
        /* Stop the workload before it gets the answer. */
        if (quarantine_now) {
                if (s->on_quarantine)
                        s->on_quarantine(ev, s->userdata);
                /* Now that the callback recorded what it did: the owner has something to look at. */
                supervisor_wake_owner(s);
        }
        if (d->action == SUPERVISOR_ACTION_CONTINUE)
                r = reply_continue(s, c->id);
        else
                r = reply_value(s, c->id, ev->error, 0);
        ev->target_gone = r == -ENOENT;
        return false;
}
