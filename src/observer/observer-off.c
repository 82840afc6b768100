/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The observer in a build without BPF (-Dbpf=disabled, or libbpf, clang, bpftool or the kernel's BTF
 * missing at build time): it is off and says why; everything else works without it. See observer.h. */
#include <stdio.h>

#include "forgeone/observer.h"

#define OFF_REASON                                                                                          \
        "this build has no BPF observer (meson -Dbpf=disabled, or libbpf, clang, bpftool or the kernel's "  \
        "BTF was missing when it was built)"

int observer_new(const ObserverConfig *c, Observer **ret, char *why) {
        if (why)
                snprintf(why, OBSERVER_REASON_MAX, "%s", OFF_REASON);
        return -EOPNOTSUPP;
}

Observer *observer_free(Observer *o) {
        return NULL;
}

const char *observer_get_pin_dir(const Observer *o) {
        return NULL;
}

const char *observer_get_pin_error(const Observer *o) {
        return NULL;
}

int observer_attach(Observer *o, EventSink *s) {
        return -EOPNOTSUPP;
}

int observer_add_workload(Observer *o, const ObserverWorkload *w) {
        return -EOPNOTSUPP;
}

void observer_remove_workload(Observer *o, const char *id) {
}

void observer_sync(Observer *o) {
}

int observer_snapshot(Observer *o, bool syscalls, ObserverSnapshot *ret) {
        return -EOPNOTSUPP;
}

int observer_snapshot_pinned(const char *root, bool syscalls, ObserverSnapshot *ret) {
        return -EOPNOTSUPP;
}

void observer_get_counts(Observer *o, ObserverCounts *ret) {
        *ret = (ObserverCounts){};
}
