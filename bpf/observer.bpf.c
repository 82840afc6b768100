/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The observer's kernel side: an independent witness of every supervised workload's syscalls, on the raw
 * syscall tracepoints. See forgeone.observer(7) for what it counts and why it can tell who decided a call.
 *
 * Which tasks: those whose pid namespace (or an ancestor of it, for nested ones) the loader registered
 * (map "pidns"). Every workload has one of its own and no task can leave it; a task of the host (level
 * 0) is turned away after two loads, before any map lookup. What a task resolved to is cached in its task
 * storage and valid while the loader's epoch is unchanged. A task is counted from the moment it runs
 * under a seccomp filter; pid 1 of a plain command's namespace is our init (its own filter), not it.
 *
 * Who decided a call: seccomp runs before the sys_enter tracepoint and skips it for a call it fails (an
 * errno from the filter, or the supervisor's answer to a notification); sys_exit always fires. So a
 * sys_exit without its sys_enter is a call that did not run in the kernel, and the workload's filter says
 * whether it could have failed it with an errno or sent it to the supervisor (the loader's bitmaps, from
 * the filter's program); where both are possible for that syscall number, the filter itself is run on the
 * call's registers, exactly as seccomp ran it.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "observer.h"

/* The kernel takes these helpers (probe reads, task storage) only from GPL-compatible programs;
 * LGPL-2.1-or-later code may be conveyed under the GPL. */
char LICENSE[] SEC("license") = "GPL";

#define SECCOMP_MODE_FILTER_ 2
#define TS_COMPAT_           0x0002

/* Classic BPF, as seccomp filters are written (uapi/linux/bpf_common.h, filter.h). */
#define C_LD   0x00
#define C_LDX  0x01
#define C_ST   0x02
#define C_STX  0x03
#define C_ALU  0x04
#define C_JMP  0x05
#define C_RET  0x06
#define C_MISC 0x07
#define C_CLASS(c) ((c) &0x07)
#define C_SIZE(c)  ((c) &0x18)
#define C_MODE(c)  ((c) &0xe0)
#define C_OP(c)    ((c) &0xf0)
#define C_SRC(c)   ((c) &0x08)
#define C_RVAL(c)  ((c) &0x18)
#define C_W   0x00
#define C_IMM 0x00
#define C_ABS 0x20
#define C_MEM 0x60
#define C_LEN 0x80
#define C_X   0x08
#define C_A   0x10

#define RET_KILL_PROCESS 0x80000000u
#define RET_ERRNO        0x00050000u
#define RET_USER_NOTIF   0x7fc00000u
#define RET_ACTION_FULL  0xffff0000u

/* Set by the loader before load. */
const volatile __u32 loader_pidns_ino = 0;   /* the loader's pid namespace (its inode) */
const volatile __u32 loader_pidns_level = 0; /* and its level: 0 for the host's */
const volatile __u32 native_arch = 0;
const volatile __u32 compat_arch = 0;

/* Written by the loader while loaded (.bss, mapped). */
__u32 epoch = 0;        /* bumped after every change of "pidns": cached task lookups are stale */
__u32 n_workloads = 0;  /* 0: nothing to look at */
__u32 sample_every = 0; /* a FO_EVENT_SAMPLE every so many counted calls (per CPU); 0: none */

struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, FO_MAX_WORKLOADS);
        __type(key, __u32);   /* pid namespace inode */
        __type(value, __u32); /* slot */
} pidns SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_ARRAY);
        __uint(max_entries, FO_MAX_WORKLOADS);
        __type(key, __u32);
        __type(value, struct fo_workload);
} workloads SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_ARRAY);
        __uint(max_entries, FO_MAX_FILTERS);
        __type(key, __u32);
        __type(value, struct fo_filter);
} filters SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
        __uint(max_entries, 65536);
        __uint(map_flags, BPF_F_NO_PREALLOC);
        __type(key, struct fo_sc_key);
        __type(value, struct fo_sc_count);
} syscalls SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
        __uint(max_entries, 16384);
        __uint(map_flags, BPF_F_NO_PREALLOC);
        __type(key, struct fo_deny_key);
        __type(value, __u64);
} kernel_denials SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __uint(max_entries, FO_MAX_WORKLOADS);
        __type(key, __u32);
        __type(value, struct fo_stats);
} stats SEC(".maps");

/* The loader's: the supervisor's decisions as matched with what the kernel returned (bpftool shows them). */
struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, 65536);
        __uint(map_flags, BPF_F_NO_PREALLOC);
        __type(key, struct fo_decision_key);
        __type(value, struct fo_decision_count);
} decisions SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_RINGBUF);
        __uint(max_entries, 1u << 20);
} events SEC(".maps");

enum {
        TASK_IDLE,
        TASK_ENTERED,            /* in a call the kernel runs, counted */
        TASK_ENTERED_UNFILTERED, /* in a call made before the task was under a filter: not counted */
};

struct fo_task {
        __u32 slot;
        __u32 epoch;
        __u32 state;
        __s32 nr;
};

struct {
        __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
        __uint(map_flags, BPF_F_NO_PREALLOC);
        __type(key, int);
        __type(value, struct fo_task);
} tasks SEC(".maps");

/* The filter interpreter's state: one per CPU (a tracepoint program does not nest on its CPU). */
struct fo_interp {
        __u32 a, x;
        __u32 mem[16];
        __u32 data[16]; /* struct seccomp_data, in 32-bit words */
        __u32 pc;
        __u32 ret;
        __u32 filter;
        __u32 samples;
};

struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, struct fo_interp);
} scratch SEC(".maps");

static __always_inline __u32 lookup_pidns(struct pid *pid, unsigned int level, __u32 *ret_nr) {
        for (unsigned int i = 1; i <= FO_MAX_PID_LEVELS; i++) {
                struct upid up;
                __u32 inum, *slot;

                if (i > level)
                        break;
                if (bpf_probe_read_kernel(&up, sizeof up, &pid->numbers[i]) < 0)
                        break;
                inum = BPF_CORE_READ(up.ns, ns.inum);
                slot = bpf_map_lookup_elem(&pidns, &inum);
                if (slot) {
                        *ret_nr = (__u32) up.nr;
                        return *slot;
                }
        }
        return FO_SLOT_NONE;
}

/* The task's watched workload (its storage, with the slot), or NULL. *ret_created: its storage was made
 * now (this event is the first the observer sees of it). */
static __always_inline struct fo_task *watched_task(struct task_struct *task, bool *ret_created) {
        struct fo_task *t;
        struct pid *pid;
        unsigned int level;
        __u32 e, slot, nr_in_ns = 0;

        if (!n_workloads)
                return NULL;
        pid = task->thread_pid;
        level = pid->level;
        if (level == 0)
                return NULL;
        e = epoch;
        t = bpf_task_storage_get(&tasks, task, 0, 0);
        if (t && t->epoch == e)
                return t->slot == FO_SLOT_NONE ? NULL : t;
        slot = lookup_pidns(pid, level, &nr_in_ns);
        if (slot != FO_SLOT_NONE && nr_in_ns == 1) {
                struct fo_workload *w = bpf_map_lookup_elem(&workloads, &slot);

                if (w && (w->flags & FO_WORKLOAD_SKIP_INIT))
                        slot = FO_SLOT_NONE;
        }
        if (!t) {
                t = bpf_task_storage_get(&tasks, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
                if (!t)
                        return NULL;
                if (ret_created)
                        *ret_created = true;
        }
        t->slot = slot;
        t->epoch = e;
        return slot == FO_SLOT_NONE ? NULL : t;
}

static __always_inline bool is_compat(struct task_struct *task) {
        return compat_arch && (task->thread_info.status & TS_COMPAT_);
}

static __always_inline struct fo_sc_count *sc_get(__u32 slot, __u32 nr) {
        struct fo_sc_key k = { .slot = slot, .nr = nr };
        struct fo_sc_count *c = bpf_map_lookup_elem(&syscalls, &k), zero = {};

        if (c)
                return c;
        (void) bpf_map_update_elem(&syscalls, &k, &zero, BPF_NOEXIST);
        return bpf_map_lookup_elem(&syscalls, &k);
}

static __always_inline struct fo_stats *stats_get(__u32 slot) {
        return bpf_map_lookup_elem(&stats, &slot);
}

static __always_inline bool is_restart(long ret) {
        /* ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ENOIOCTLCMD, ERESTART_RESTARTBLOCK: never seen by
         * the task; the call is restarted or fails with EINTR. */
        return ret <= -512 && ret >= -516;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(fo_sys_enter, struct pt_regs *regs, long id) {
        struct task_struct *task = bpf_get_current_task_btf();
        struct fo_sc_count *c;
        struct fo_task *t;

        t = watched_task(task, NULL);
        if (!t)
                return 0;
        if (task->seccomp.mode != SECCOMP_MODE_FILTER_) {
                t->state = TASK_ENTERED_UNFILTERED;
                return 0;
        }
        t->state = TASK_ENTERED;
        t->nr = (__s32) id;
        c = sc_get(t->slot, (__u32) id | (is_compat(task) ? FO_NR_COMPAT : 0));
        if (c)
                c->calls++;
        else {
                struct fo_stats *s = stats_get(t->slot);
                if (s)
                        s->unclassified++;
        }
        return 0;
}

/* ---- running the workload's filter on a call ---- */

static long interp_step(__u32 index, void *ctx) {
        __u32 zero = 0, pc, v;
        struct fo_interp *st = bpf_map_lookup_elem(&scratch, &zero);
        struct fo_filter *f;
        struct fo_insn in;

        if (!st)
                return 1;
        f = bpf_map_lookup_elem(&filters, &st->filter);
        pc = st->pc;
        if (!f || pc >= f->n_insns || pc >= FO_MAX_INSNS) {
                st->ret = RET_KILL_PROCESS; /* fell off the end: seccomp takes no such program */
                return 1;
        }
        in = f->insns[pc & (FO_MAX_INSNS - 1)];
        st->pc = pc + 1;
        v = C_SRC(in.code) == C_X ? st->x : in.k;

        switch (C_CLASS(in.code)) {
        case C_LD:
                if (in.code == (C_LD | C_W | C_ABS)) {
                        __u32 word = in.k >> 2;

                        if ((in.k & 3) || in.k >= 64)
                                goto kill;
                        barrier_var(word); /* the verifier must see the mask, not the compiler's merge */
                        st->a = st->data[word & 15];
                } else if (in.code == (C_LD | C_W | C_LEN))
                        st->a = 64;
                else if (in.code == (C_LD | C_IMM))
                        st->a = in.k;
                else if (in.code == (C_LD | C_MEM))
                        st->a = st->mem[in.k & 15];
                else
                        goto kill;
                return 0;
        case C_LDX:
                if (in.code == (C_LDX | C_W | C_LEN))
                        st->x = 64;
                else if (in.code == (C_LDX | C_IMM))
                        st->x = in.k;
                else if (in.code == (C_LDX | C_MEM))
                        st->x = st->mem[in.k & 15];
                else
                        goto kill;
                return 0;
        case C_ST:
                st->mem[in.k & 15] = st->a;
                return 0;
        case C_STX:
                st->mem[in.k & 15] = st->x;
                return 0;
        case C_ALU:
                switch (C_OP(in.code)) {
                case 0x00: st->a += v; break;
                case 0x10: st->a -= v; break;
                case 0x20: st->a *= v; break;
                case 0x30:
                        if (!v)
                                goto kill;
                        st->a /= v;
                        break;
                case 0x90:
                        if (!v)
                                goto kill;
                        st->a %= v;
                        break;
                case 0x50: st->a &= v; break;
                case 0x40: st->a |= v; break;
                case 0xa0: st->a ^= v; break;
                case 0x60: st->a = v < 32 ? st->a << v : 0; break;
                case 0x70: st->a = v < 32 ? st->a >> v : 0; break;
                case 0x80: st->a = -st->a; break;
                default: goto kill;
                }
                return 0;
        case C_JMP: {
                bool taken;

                switch (C_OP(in.code)) {
                case 0x00: /* JA */
                        st->pc = pc + 1 + in.k;
                        return 0;
                case 0x10: taken = st->a == v; break;
                case 0x20: taken = st->a > v; break;
                case 0x30: taken = st->a >= v; break;
                case 0x40: taken = (st->a & v) != 0; break;
                default: goto kill;
                }
                st->pc = pc + 1 + (taken ? in.jt : in.jf);
                return 0;
        }
        case C_RET:
                st->ret = C_RVAL(in.code) == C_A ? st->a : in.k;
                return 1;
        case C_MISC:
                if (in.code & 0xf8) /* TXA */
                        st->a = st->x;
                else /* TAX */
                        st->x = st->a;
                return 0;
        default:
                goto kill;
        }
kill:
        st->ret = RET_KILL_PROCESS;
        return 1;
}

/* The filter's SECCOMP_RET_* for this call, or 0 when it cannot be run. */
static __always_inline __u32 run_filter(__u32 filter, struct pt_regs *regs, __s32 nr, bool compat) {
        __u32 zero = 0;
        struct fo_interp *st = bpf_map_lookup_elem(&scratch, &zero);
        __u64 args[6];

        if (!st)
                return 0;
        if (compat) {
                args[0] = (__u32) regs->bx;
                args[1] = (__u32) regs->cx;
                args[2] = (__u32) regs->dx;
                args[3] = (__u32) regs->si;
                args[4] = (__u32) regs->di;
                args[5] = (__u32) regs->bp;
        } else {
                args[0] = regs->di;
                args[1] = regs->si;
                args[2] = regs->dx;
                args[3] = regs->r10;
                args[4] = regs->r8;
                args[5] = regs->r9;
        }
        st->data[0] = (__u32) nr;
        st->data[1] = compat ? compat_arch : native_arch;
        st->data[2] = (__u32) regs->ip;
        st->data[3] = (__u32) (regs->ip >> 32);
        for (int i = 0; i < 6; i++) {
                st->data[4 + 2 * i] = (__u32) args[i];
                st->data[5 + 2 * i] = (__u32) (args[i] >> 32);
        }
        st->a = st->x = 0;
        for (int i = 0; i < 16; i++)
                st->mem[i] = 0;
        st->pc = 0;
        st->ret = RET_KILL_PROCESS;
        st->filter = filter;
        bpf_loop(FO_MAX_INSNS, interp_step, NULL, 0);
        return st->ret;
}

static __always_inline bool bit(const __u64 *words, __u32 nr) {
        return (words[(nr / 64) & (FO_NR_WORDS - 1)] >> (nr % 64)) & 1;
}

/* The current thread's id as the loader (and so the supervisor) sees it: its number at the level of the
 * loader's pid namespace, an ancestor of the workload's. 0 when that is not one of its namespaces. */
static __always_inline __u32 tid_in_loader_ns(void) {
        struct task_struct *task = bpf_get_current_task_btf();
        struct pid *pid = task->thread_pid;
        unsigned int level = loader_pidns_level;
        struct upid up;

        if (level > pid->level || level >= FO_MAX_PID_LEVELS)
                return 0;
        if (bpf_probe_read_kernel(&up, sizeof up, &pid->numbers[level]) < 0)
                return 0;
        if (BPF_CORE_READ(up.ns, ns.inum) != loader_pidns_ino)
                return 0;
        return (__u32) up.nr;
}

static __always_inline void emit(__u32 type, __u32 slot, __u32 nr, long ret) {
        struct fo_event *e;
        __u32 tid;

        e = bpf_ringbuf_reserve(&events, sizeof *e, 0);
        if (!e) {
                struct fo_stats *s = stats_get(slot);
                if (s)
                        s->ring_lost++;
                return;
        }
        tid = tid_in_loader_ns();
        e->type = type;
        e->slot = slot;
        e->tid = tid;
        e->nr = nr;
        e->ret = ret;
        e->ktime_ns = bpf_ktime_get_ns();
        /* No wake-up: the consumer takes the ring on every decision and tick, it never waits on it. */
        bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

static __always_inline void sample(__u32 slot, __u32 nr, long ret) {
        __u32 zero = 0, every = sample_every;
        struct fo_interp *st;

        if (!every)
                return;
        st = bpf_map_lookup_elem(&scratch, &zero);
        if (!st || ++st->samples < every)
                return;
        st->samples = 0;
        emit(FO_EVENT_SAMPLE, slot, nr, ret);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(fo_sys_exit, struct pt_regs *regs, long ret) {
        struct task_struct *task = bpf_get_current_task_btf();
        struct fo_workload *w;
        struct fo_sc_count *c;
        struct fo_stats *s;
        struct fo_task *t;
        bool created = false, compat, may_errno, may_notify;
        __u32 state, slot, nrkey;
        __s32 nr;

        t = watched_task(task, &created);
        if (!t)
                return 0;
        state = t->state;
        t->state = TASK_IDLE;
        slot = t->slot;
        if (created || state == TASK_ENTERED_UNFILTERED)
                return 0; /* its call began before we looked, or before its filter */
        compat = is_compat(task);

        if (state == TASK_ENTERED) {
                /* Run by the kernel (and counted at entry). rt_sigreturn's exit shows no number. */
                nr = t->nr;
                nrkey = (__u32) nr | (compat ? FO_NR_COMPAT : 0);
                if (ret < 0 && ret >= -4095 && !is_restart(ret) && (__s32) regs->orig_ax == nr) {
                        c = sc_get(slot, nrkey);
                        if (c)
                                c->errors++;
                }
                sample(slot, nrkey, ret);
                return 0;
        }

        /* Not run by the kernel. */
        if (task->seccomp.mode != SECCOMP_MODE_FILTER_)
                return 0;
        nr = (__s32) regs->orig_ax;
        nrkey = (__u32) nr | (compat ? FO_NR_COMPAT : 0);
        s = stats_get(slot);
        if (is_restart(ret)) {
                /* A notification a signal interrupted: the call is made again or fails with EINTR. */
                if (s)
                        s->interrupted++;
                return 0;
        }
        w = bpf_map_lookup_elem(&workloads, &slot);
        if (!w)
                return 0;
        if (!compat && nr >= 0 && (__u32) nr < FO_NR_BITS) {
                may_errno = bit(w->may_errno, (__u32) nr);
                may_notify = bit(w->may_notify, (__u32) nr);
        } else
                may_errno = may_notify = true;
        if (may_errno && may_notify) {
                __u32 action;

                if (w->filter == FO_FILTER_NONE) {
                        if (s)
                                s->unclassified++;
                        return 0;
                }
                action = run_filter(w->filter, regs, nr, compat) & RET_ACTION_FULL;
                may_errno = action == RET_ERRNO;
                may_notify = action == RET_USER_NOTIF;
        }

        c = sc_get(slot, nrkey);
        if (c)
                c->calls++;
        if (may_errno) {
                struct fo_deny_key k = { .slot = slot, .nr = nrkey, .error = (__u32) -ret };
                __u64 *n, one = 1;

                if (c)
                        c->kernel_denied++;
                n = bpf_map_lookup_elem(&kernel_denials, &k);
                if (n)
                        (*n)++;
                else if (bpf_map_update_elem(&kernel_denials, &k, &one, BPF_NOEXIST) < 0) {
                        n = bpf_map_lookup_elem(&kernel_denials, &k);
                        if (n)
                                (*n)++;
                }
        } else if (may_notify) {
                if (c)
                        c->answered++;
                emit(FO_EVENT_ANSWERED, slot, nrkey, ret);
        } else if (s)
                s->other_skipped++;
        sample(slot, nrkey, ret);
        return 0;
}
