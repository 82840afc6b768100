/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pairs the supervisor's decisions with the exits the kernel side saw. See observer-internal.h. */
#include <stdlib.h>

#include "observer-internal.h"

/* Unpaired items kept per workload at most; beyond, the oldest is reported unmatched. */
#define MATCH_MAX_PENDING 4096u

typedef struct Item {
        struct Item *next;
        bool is_exit;
        unsigned age;
        uint64_t losses;
        uint32_t tid, nr;
        int64_t ret;       /* exits */
        MatchDecision d;   /* decisions */
} Item;

typedef struct Queue {
        Item *head, *tail;
        size_t n;
} Queue;

struct Matcher {
        Queue decisions, exits;
};

int matcher_new(Matcher **ret) {
        Matcher *m = calloc(1, sizeof *m);

        if (!m)
                return -ENOMEM;
        *ret = m;
        return 0;
}

static void queue_clear(Queue *q) {
        while (q->head) {
                Item *i = q->head;
                q->head = i->next;
                free(i);
        }
        q->tail = NULL;
        q->n = 0;
}

Matcher *matcher_free(Matcher *m) {
        if (!m)
                return NULL;
        queue_clear(&m->decisions);
        queue_clear(&m->exits);
        free(m);
        return NULL;
}

size_t matcher_pending(const Matcher *m) {
        return m->decisions.n + m->exits.n;
}

int64_t match_expected(const MatchDecision *d) {
        return d->error ? -(int64_t) d->error : d->value;
}

static void push(Queue *q, Item *i) {
        i->next = NULL;
        if (q->tail)
                q->tail->next = i;
        else
                q->head = i;
        q->tail = i;
        q->n++;
}

/* Takes out the oldest item of thread tid and number nr, or returns NULL. */
static Item *take(Queue *q, uint32_t tid, uint32_t nr) {
        Item *prev = NULL;

        for (Item *i = q->head; i; prev = i, i = i->next) {
                if (i->tid != tid || i->nr != nr)
                        continue;
                if (prev)
                        prev->next = i->next;
                else
                        q->head = i->next;
                if (q->tail == i)
                        q->tail = prev;
                q->n--;
                return i;
        }
        return NULL;
}

static void report_unmatched(Item *i, MatchFn fn, void *userdata) {
        MatchResult r = {
                .kind = i->is_exit ? MATCH_EXIT_UNMATCHED : MATCH_DECISION_UNMATCHED,
                .decision = i->is_exit ? NULL : &i->d,
                .tid = i->tid,
                .nr = i->nr,
                .observed = i->ret,
        };

        if (fn)
                fn(&r, userdata);
}

static void pair(const Item *d, const Item *e, MatchFn fn, void *userdata) {
        MatchResult r = {
                .decision = &d->d,
                .tid = d->tid,
                .nr = d->nr,
                .observed = e->ret,
        };

        if (d->losses != e->losses)
                r.kind = MATCH_UNVERIFIABLE;
        else
                r.kind = e->ret == match_expected(&d->d) ? MATCH_OK : MATCH_MISMATCH;
        if (fn)
                fn(&r, userdata);
}

static void bound(Queue *q, MatchFn fn, void *userdata) {
        while (q->n > MATCH_MAX_PENDING) {
                Item *i = q->head;

                q->head = i->next;
                if (!q->head)
                        q->tail = NULL;
                q->n--;
                report_unmatched(i, fn, userdata);
                free(i);
        }
}

void matcher_add_decision(Matcher *m, const MatchDecision *d, uint64_t losses, MatchFn fn, void *userdata) {
        Item *e = take(&m->exits, d->tid, d->nr), *i;

        i = calloc(1, sizeof *i);
        if (!i) {
                free(e);
                return; /* no memory: neither is checked */
        }
        *i = (Item){ .losses = losses, .tid = d->tid, .nr = d->nr, .d = *d };
        i->d.losses = losses;
        if (e) {
                pair(i, e, fn, userdata);
                free(e);
                free(i);
                return;
        }
        push(&m->decisions, i);
        bound(&m->decisions, fn, userdata);
}

void matcher_add_exit(Matcher *m, uint32_t tid, uint32_t nr, int64_t ret, uint64_t losses, MatchFn fn,
                      void *userdata) {
        Item *d = take(&m->decisions, tid, nr), *i;

        i = calloc(1, sizeof *i);
        if (!i) {
                free(d);
                return;
        }
        *i = (Item){ .is_exit = true, .losses = losses, .tid = tid, .nr = nr, .ret = ret };
        if (d) {
                pair(d, i, fn, userdata);
                free(d);
                free(i);
                return;
        }
        push(&m->exits, i);
        bound(&m->exits, fn, userdata);
}

static void age_queue(Queue *q, unsigned max_age, MatchFn fn, void *userdata) {
        Item **p = &q->head, *prev = NULL;

        while (*p) {
                Item *i = *p;

                if (++i->age < max_age) {
                        prev = i;
                        p = &i->next;
                        continue;
                }
                *p = i->next;
                if (q->tail == i)
                        q->tail = prev;
                q->n--;
                report_unmatched(i, fn, userdata);
                free(i);
        }
}

void matcher_age(Matcher *m, unsigned max_age, MatchFn fn, void *userdata) {
        age_queue(&m->decisions, max_age, fn, userdata);
        age_queue(&m->exits, max_age, fn, userdata);
}

void matcher_flush(Matcher *m, MatchFn fn, void *userdata) {
        matcher_age(m, 0, fn, userdata);
}
