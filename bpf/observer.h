/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the observer's kernel side (observer.bpf.c) and its loader (src/observer/) share: the ring
 * buffer's events and the keys and values of the pinned maps, nothing else. Fixed-size integers only,
 * so that `bpftool map dump` prints them with the BTF of the object.
 */

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define FO_MAX_WORKLOADS 1024u /* workload slots */
#define FO_MAX_FILTERS   64u   /* distinct kernel filters held for classification */
#define FO_MAX_INSNS     4096u /* BPF_MAXINSNS: the longest filter seccomp takes */
#define FO_NR_BITS       512u  /* native syscall numbers the per-filter bitmaps cover */
#define FO_NR_WORDS      (FO_NR_BITS / 64u)
#define FO_ID_SIZE       64u
#define FO_SLOT_NONE     0xffffffffu
#define FO_FILTER_NONE   0xffffffffu
#define FO_MAX_PID_LEVELS 8u /* pid namespace levels a task's chain is searched for a watched one */

/* The key of a per-syscall counter: a compat (i386) call has FO_NR_COMPAT in nr. */
#define FO_NR_COMPAT 0x80000000u

/* fo_workload.flags */
#define FO_WORKLOAD_ACTIVE    (1u << 0)
#define FO_WORKLOAD_SKIP_INIT (1u << 1) /* pid 1 of its namespace is ours (a plain command's init), not it */

/* One watched workload, indexed by slot (map "workloads"). The loader writes it; the kernel side reads
 * the filter slot and the bitmaps. */
struct fo_workload {
        char id[FO_ID_SIZE];
        __u32 flags;
        __u32 filter;    /* slot in "filters", or FO_FILTER_NONE */
        __u32 pidns;     /* inode of its pid namespace (the key, map "pidns") */
        __s32 trust;     /* the supervisor's score, refreshed by the loader */
        __u64 cgroup_id; /* its cgroup v2 id, 0 when it has none (shown, not a key) */
        __u64 started_ns; /* CLOCK_MONOTONIC when it was registered */
        __u64 decided[4]; /* the supervisor's exact decisions by SupervisorAction, refreshed by the loader */
        /* For each native syscall number: may the kernel filter fail it with an errno, may it send it to
         * the supervisor. A call that did not run in the kernel is classified by these alone when only one
         * is set, by running the filter (map "filters") when both are. */
        __u64 may_errno[FO_NR_WORDS];
        __u64 may_notify[FO_NR_WORDS];
};

/* A classic BPF instruction, as struct sock_filter. */
struct fo_insn {
        __u16 code;
        __u8 jt;
        __u8 jf;
        __u32 k;
};

struct fo_filter {
        __u32 n_insns;
        __u32 arch; /* AUDIT_ARCH_* of the native calls */
        struct fo_insn insns[FO_MAX_INSNS];
};

/* Map "syscalls" (per CPU): per workload and syscall. */
struct fo_sc_key {
        __u32 slot;
        __u32 nr; /* | FO_NR_COMPAT */
};

struct fo_sc_count {
        __u64 calls;         /* made: run by the kernel, failed by its filter, or answered by the supervisor */
        __u64 errors;        /* of those run by the kernel, the ones that returned an error */
        __u64 kernel_denied; /* failed by the kernel filter with an errno */
        __u64 answered;      /* answered by the supervisor (denied or emulated), not run by the kernel */
};

/* Map "kernel_denials" (per CPU): the kernel filter's denials by errno. */
struct fo_deny_key {
        __u32 slot;
        __u32 nr; /* | FO_NR_COMPAT */
        __u32 error;
        __u32 pad;
};

/* Map "stats" (per CPU), indexed by slot. */
struct fo_stats {
        __u64 other_skipped; /* not run, and not by our filter's errno or notification: another filter, ptrace */
        __u64 interrupted;   /* a notification interrupted by a signal (restarted, or failed with EINTR) */
        __u64 unclassified;  /* no filter to run (FO_MAX_FILTERS exhausted): errno or supervisor unknown */
        __u64 ring_lost;     /* exit events the ring buffer had no room for */
};

/* Map "decisions" (written by the loader, one entry per workload, rule, action and errno): the
 * supervisor's decisions as the observer matched them with what the kernel returned. */
struct fo_decision_key {
        __u32 slot;
        __u32 action; /* SupervisorAction */
        __s32 error;
        __u32 pad;
        char rule[48];
};

struct fo_decision_count {
        __u64 decided;    /* decisions posted */
        __u64 observed;   /* of those, matched with the exit the observer saw */
        __u64 mismatched; /* of those, the kernel returned something else than decided */
};

enum fo_event_type {
        FO_EVENT_ANSWERED = 1, /* a call the supervisor answered: what the task got back */
        FO_EVENT_SAMPLE = 2,   /* every sample_every-th call of a workload */
};

/* The ring buffer's one event type. */
struct fo_event {
        __u32 type;
        __u32 slot;
        __u32 tid;  /* in the loader's pid namespace (as the supervisor names it) */
        __u32 nr;   /* | FO_NR_COMPAT */
        __s64 ret;
        __u64 ktime_ns;
};
