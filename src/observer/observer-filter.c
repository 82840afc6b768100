/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which calls a kernel filter may fail with an errno or send to the supervisor: a walk of every path of
 * its classic BPF program with the syscall number and architecture known and everything else unknown.
 * See observer-internal.h. */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>

#include "observer-internal.h"

/* Instructions walked for one syscall number, over all paths; beyond, the answer is "anything". The
 * compiler's filters take a few dozen per number. */
#define WALK_BUDGET 65536u

typedef struct Val {
        bool known;
        uint32_t v;
} Val;

typedef struct Walk {
        const PolicyFilter *f;
        uint32_t arch;
        int nr;
        unsigned budget;
        unsigned may;
} Walk;

static unsigned of_action(uint32_t ret) {
        switch (ret & SECCOMP_RET_ACTION_FULL) {
        case SECCOMP_RET_ERRNO:
                return OBSERVER_MAY_ERRNO;
        case SECCOMP_RET_USER_NOTIF:
                return OBSERVER_MAY_NOTIFY;
        case SECCOMP_RET_ALLOW:
                return OBSERVER_MAY_ALLOW;
        default:
                return OBSERVER_MAY_OTHER;
        }
}

#define ANYTHING (OBSERVER_MAY_ERRNO | OBSERVER_MAY_NOTIFY | OBSERVER_MAY_ALLOW | OBSERVER_MAY_OTHER)

static bool alu(uint16_t code, uint32_t *a, uint32_t v) {
        switch (BPF_OP(code)) {
        case BPF_ADD: *a += v; return true;
        case BPF_SUB: *a -= v; return true;
        case BPF_MUL: *a *= v; return true;
        case BPF_DIV:
                if (!v)
                        return false;
                *a /= v;
                return true;
        case BPF_MOD:
                if (!v)
                        return false;
                *a %= v;
                return true;
        case BPF_AND: *a &= v; return true;
        case BPF_OR: *a |= v; return true;
        case BPF_XOR: *a ^= v; return true;
        case BPF_LSH: *a = v < 32 ? *a << v : 0; return true;
        case BPF_RSH: *a = v < 32 ? *a >> v : 0; return true;
        case BPF_NEG: *a = -*a; return true;
        default: return false;
        }
}

static int jump(uint16_t code, uint32_t a, uint32_t v) {
        switch (BPF_OP(code)) {
        case BPF_JEQ: return a == v;
        case BPF_JGT: return a > v;
        case BPF_JGE: return a >= v;
        case BPF_JSET: return (a & v) != 0;
        default: return -1;
        }
}

/* Walks from pc with the given state; adds what every path returns to w->may. */
static void walk(Walk *w, size_t pc, Val a, Val x, Val mem[static BPF_MEMWORDS]) {
        Val m[BPF_MEMWORDS];

        memcpy(m, mem, sizeof m);
        for (; pc < w->f->n_insns; pc++) {
                const struct sock_filter *i = &w->f->insns[pc];
                Val v;

                if (w->budget == 0 || w->may == ANYTHING) {
                        w->may = ANYTHING;
                        return;
                }
                w->budget--;
                v = BPF_SRC(i->code) == BPF_X ? x : (Val){ true, i->k };

                switch (BPF_CLASS(i->code)) {
                case BPF_LD:
                        if (i->code == (BPF_LD | BPF_W | BPF_ABS)) {
                                if (i->k == offsetof(struct seccomp_data, nr))
                                        a = (Val){ true, (uint32_t) w->nr };
                                else if (i->k == offsetof(struct seccomp_data, arch))
                                        a = (Val){ true, w->arch };
                                else if (i->k % 4 == 0 && i->k <= sizeof(struct seccomp_data) - 4)
                                        a = (Val){ false, 0 };
                                else {
                                        w->may |= OBSERVER_MAY_OTHER;
                                        return;
                                }
                        } else if (i->code == (BPF_LD | BPF_W | BPF_LEN))
                                a = (Val){ true, sizeof(struct seccomp_data) };
                        else if (i->code == (BPF_LD | BPF_IMM))
                                a = (Val){ true, i->k };
                        else if (i->code == (BPF_LD | BPF_MEM) && i->k < BPF_MEMWORDS)
                                a = m[i->k];
                        else {
                                w->may |= OBSERVER_MAY_OTHER;
                                return;
                        }
                        break;
                case BPF_LDX:
                        if (i->code == (BPF_LDX | BPF_W | BPF_LEN))
                                x = (Val){ true, sizeof(struct seccomp_data) };
                        else if (i->code == (BPF_LDX | BPF_IMM))
                                x = (Val){ true, i->k };
                        else if (i->code == (BPF_LDX | BPF_MEM) && i->k < BPF_MEMWORDS)
                                x = m[i->k];
                        else {
                                w->may |= OBSERVER_MAY_OTHER;
                                return;
                        }
                        break;
                case BPF_ST:
                case BPF_STX:
                        if (i->k >= BPF_MEMWORDS) {
                                w->may |= OBSERVER_MAY_OTHER;
                                return;
                        }
                        m[i->k] = BPF_CLASS(i->code) == BPF_ST ? a : x;
                        break;
                case BPF_ALU:
                        if (!a.known || !v.known) {
                                /* Division by an unknown zero would end the program: that path too. */
                                if ((BPF_OP(i->code) == BPF_DIV || BPF_OP(i->code) == BPF_MOD) &&
                                    (!v.known || v.v == 0))
                                        w->may |= OBSERVER_MAY_OTHER;
                                a = (Val){ false, 0 };
                        } else if (!alu(i->code, &a.v, v.v)) {
                                w->may |= OBSERVER_MAY_OTHER;
                                return;
                        }
                        break;
                case BPF_JMP: {
                        int t;

                        if (BPF_OP(i->code) == BPF_JA) {
                                pc += i->k;
                                break;
                        }
                        if (a.known && v.known) {
                                t = jump(i->code, a.v, v.v);
                                if (t < 0) {
                                        w->may |= OBSERVER_MAY_OTHER;
                                        return;
                                }
                                pc += t ? i->jt : i->jf;
                                break;
                        }
                        /* Either way: the true branch here, the false one by going on. */
                        walk(w, pc + 1 + i->jt, a, x, m);
                        pc += i->jf;
                        break;
                }
                case BPF_RET:
                        if (BPF_RVAL(i->code) == BPF_A && !a.known)
                                w->may = ANYTHING;
                        else
                                w->may |= of_action(BPF_RVAL(i->code) == BPF_A ? a.v : i->k);
                        return;
                case BPF_MISC:
                        if (BPF_MISCOP(i->code) == BPF_TAX)
                                x = a;
                        else
                                a = x;
                        break;
                default:
                        w->may |= OBSERVER_MAY_OTHER;
                        return;
                }
        }
        w->may |= OBSERVER_MAY_OTHER; /* fell off the end */
}

unsigned observer_filter_may(const PolicyFilter *f, uint32_t arch, int nr) {
        Val mem[BPF_MEMWORDS] = {};
        Walk w = { .f = f, .arch = arch, .nr = nr, .budget = WALK_BUDGET };

        if (!f || f->n_insns == 0)
                return ANYTHING;
        walk(&w, 0, (Val){ true, 0 }, (Val){ true, 0 }, mem);
        return w.may;
}

void observer_filter_bitmaps(const PolicyFilter *f, uint32_t arch, uint64_t may_errno[static FO_NR_WORDS],
                             uint64_t may_notify[static FO_NR_WORDS]) {
        memset(may_errno, 0, FO_NR_WORDS * sizeof(uint64_t));
        memset(may_notify, 0, FO_NR_WORDS * sizeof(uint64_t));
        for (unsigned nr = 0; nr < FO_NR_BITS; nr++) {
                unsigned may = observer_filter_may(f, arch, (int) nr);

                if (may & (OBSERVER_MAY_ERRNO | OBSERVER_MAY_OTHER))
                        may_errno[nr / 64] |= UINT64_C(1) << (nr % 64);
                if (may & (OBSERVER_MAY_NOTIFY | OBSERVER_MAY_OTHER))
                        may_notify[nr / 64] |= UINT64_C(1) << (nr % 64);
        }
}
