/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The list of an event sink's consumers and the drain that feeds them. See event-dispatch.h. */
#include <stdlib.h>
#include <string.h>

#include "forgeone/event-dispatch.h"

typedef struct Consumer {
        EventConsumer c;
        char *name;
} Consumer;

struct EventDispatch {
        EventSink *sink;
        Consumer *consumers;
        size_t n;
};

int event_dispatch_new(EventSink *sink, EventDispatch **ret) {
        EventDispatch *d;

        if (!sink || !ret)
                return -EINVAL;
        d = calloc(1, sizeof *d);
        if (!d)
                return -ENOMEM;
        d->sink = sink;
        event_sink_set_record_mask(sink, 0);
        *ret = d;
        return 0;
}

EventDispatch *event_dispatch_free(EventDispatch *d) {
        if (!d)
                return NULL;
        for (size_t i = 0; i < d->n; i++)
                free(d->consumers[i].name);
        free(d->consumers);
        free(d);
        return NULL;
}

static void update_mask(EventDispatch *d) {
        unsigned mask = 0;

        for (size_t i = 0; i < d->n; i++)
                mask |= d->consumers[i].c.actions;
        event_sink_set_record_mask(d->sink, mask & EVENT_ACTIONS_ALL);
}

static Consumer *find(EventDispatch *d, const char *name) {
        for (size_t i = 0; i < d->n; i++)
                if (streq(d->consumers[i].name, name))
                        return &d->consumers[i];
        return NULL;
}

int event_dispatch_add(EventDispatch *d, const EventConsumer *c) {
        Consumer *n;
        char *name;

        if (!d || !c || !c->name)
                return -EINVAL;
        if (find(d, c->name))
                return -EEXIST;
        name = strdup(c->name);
        if (!name)
                return -ENOMEM;
        n = realloc(d->consumers, (d->n + 1) * sizeof *n);
        if (!n) {
                free(name);
                return -ENOMEM;
        }
        d->consumers = n;
        d->consumers[d->n] = (Consumer) { .c = *c, .name = name };
        d->consumers[d->n].c.name = name;
        d->n++;
        update_mask(d);
        return 0;
}

int event_dispatch_remove(EventDispatch *d, const char *name) {
        Consumer *c = d && name ? find(d, name) : NULL;

        if (!c)
                return -ENOENT;
        free(c->name);
        memmove(c, c + 1, (size_t) (d->consumers + d->n - (c + 1)) * sizeof *c);
        d->n--;
        update_mask(d);
        return 0;
}

int event_dispatch_set_actions(EventDispatch *d, const char *name, unsigned actions) {
        Consumer *c = d && name ? find(d, name) : NULL;

        if (!c)
                return -ENOENT;
        c->c.actions = actions;
        update_mask(d);
        return 0;
}

size_t event_dispatch_count(const EventDispatch *d) {
        return d ? d->n : 0;
}

static void deliver(const EventRecord *r, void *userdata) {
        EventDispatch *d = userdata;

        for (size_t i = 0; i < d->n; i++) {
                const EventConsumer *c = &d->consumers[i].c;

                if (!c->consume)
                        continue;
                if (r->type == EVENT_NOTICE ? !c->notices
                                            : !(r->decision.action >= 0 && (c->actions & (1u << r->decision.action))))
                        continue;
                c->consume(r, c->userdata);
        }
}

size_t event_dispatch_drain(EventDispatch *d) {
        size_t n = event_sink_drain_batch(d->sink, EVENT_DISPATCH_BATCH, deliver, d);

        for (size_t i = 0; i < d->n; i++)
                if (d->consumers[i].c.flush)
                        d->consumers[i].c.flush(d->consumers[i].c.userdata);
        return n;
}
