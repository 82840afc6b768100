/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Running an OCI image as a mediated container, and controlling it from any
 * process.
 *
 * A container is started as a workload (workload.h) with
 * WorkloadConfig.image set to a ContainerConfig: the image is opened and
 * verified (oci-image.h), its layers unpacked into the cache
 * (layer-cache.h), the workload's policy identity resolved (name, image
 * digest, labels), the scheduler admits it (container-queue.h; waits unless
 * no_wait), the cgroup is created with the limits, and init is cloned into
 * new user (container root = host uid_base, uid_count ids, setgroups
 * denied), mount, pid, uts, ipc, cgroup and (network "none") net
 * namespaces. The layers are mounted id-mapped to that user namespace (so
 * image files owned by root are owned by container root) and the overlay
 * root (rootfs.h) on top, inside the container's own mount namespace (the
 * caller's never sees them); then /proc, a minimal /dev, a read-only /sys,
 * pivot_root. The capability bounding set is reduced to
 * CONTAINER_DEFAULT_CAPS (effective/permitted for a root workload; none for
 * another user), then the image's user, cwd and env are applied and the
 * supervisor's listener is installed last before execve(), so the setup is
 * not mediated and the workload is. The workload's owner records the
 * transitions; at the end Stopped(exit status) or Failed(reason) (Failed
 * "oom" when the memory cgroup OOM-killed init), and removes the cgroup and
 * the root filesystem.
 *
 * The control functions may be called from any process (see
 * container-store.h for the model): they lock the container, check the
 * transition, act on its cgroup and record the result.
 *
 * Errors: negative errno, and a one-line description in a ForgeError (error.h).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "forgeone/container-state.h"
#include "forgeone/container-store.h"
#include "forgeone/error.h"
#include "forgeone/layer-unpack.h"
#include "forgeone/oci-image.h"
#include "forgeone/policy.h"
#include "forgeone/scheduler.h"

/*
 * Capabilities a root workload keeps (Docker's default set minus NET_RAW, MKNOD and AUDIT_WRITE,
 * which a mediated workload has no business with): CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL,
 * SETGID, SETUID, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, SETFCAP. All are relative to the
 * container's user namespace.
 */
#define CONTAINER_DEFAULT_CAPS                                                                             \
        ((1ULL << 0) | (1ULL << 1) | (1ULL << 3) | (1ULL << 4) | (1ULL << 5) | (1ULL << 6) | (1ULL << 7) |  \
         (1ULL << 8) | (1ULL << 10) | (1ULL << 18) | (1ULL << 31))

#define CONTAINER_DEFAULT_UID_BASE 100000u
#define CONTAINER_DEFAULT_UID_COUNT 65536u
#define CONTAINER_DEFAULT_STORAGE_DIR "/var/lib/forgeone/containers"
#define CONTAINER_DEFAULT_BUDGET_FILE "/etc/forgeone/budget.json"
#define CONTAINER_DEFAULT_STOP_TIMEOUT_USEC (10u * 1000000u)

typedef enum ContainerNetwork {
        CONTAINER_NETWORK_NONE, /* own network namespace with loopback only */
        CONTAINER_NETWORK_HOST,
        _CONTAINER_NETWORK_MAX,
        _CONTAINER_NETWORK_INVALID = -EINVAL,
} ContainerNetwork;

const char *container_network_to_string(ContainerNetwork n) _const_;
ContainerNetwork container_network_from_string(const char *s) _pure_;

typedef enum ContainerNotice {
        CONTAINER_NOTICE_QUEUED,   /* waiting for admission; text says what is short */
        CONTAINER_NOTICE_ADMITTED,
        CONTAINER_NOTICE_STARTED,  /* text: the id */
        CONTAINER_NOTICE_STATE,    /* a transition was recorded; text: the status */
        CONTAINER_NOTICE_WARNING,  /* a degraded setup (e.g. no id-mapped layers) */
        _CONTAINER_NOTICE_MAX,
        _CONTAINER_NOTICE_INVALID = -EINVAL,
} ContainerNotice;

typedef void (*ContainerNoticeFn)(ContainerNotice kind, const char *text, void *userdata);

typedef struct ContainerConfig {
        const char *image;   /* "DIR[:TAG]" */
        const char *name;    /* NULL: the id */
        char **labels;       /* "key=value" */
        char **command;      /* replaces the image's entrypoint + cmd when non-NULL */
        const char *hostname; /* NULL: the name */
        SchedulerPriority priority;
        uint64_t memory_bytes; /* 0: the budget's default */
        uint64_t pids;         /* 0: the budget's default */
        uint64_t cpu_millis;   /* 0: no quota */
        ContainerNetwork network;
        bool no_wait;          /* refuse instead of queueing when the budget is short */
        uid_t uid_base;        /* 0: CONTAINER_DEFAULT_UID_BASE */
        uint32_t uid_count;    /* 0: CONTAINER_DEFAULT_UID_COUNT */
        bool survive_owner;    /* init does not die with its owner: a successor adopts it (workload.h) */

        const char *state_dir;   /* NULL: container-store default */
        const char *storage_dir; /* NULL: CONTAINER_DEFAULT_STORAGE_DIR (rootfs upper/work) */
        const char *layer_cache_dir; /* NULL: the layer cache's default */
        const char *cgroup_root; /* NULL: /sys/fs/cgroup */
        const char *budget_file; /* NULL: $FORGEONE_BUDGET or CONTAINER_DEFAULT_BUDGET_FILE if present */
        LayerUnpackLimits unpack_limits; /* decompression-bomb limits for the image's layers; 0: default */

        /* Trust seam: called with the opened image before a layer byte is read (layer-cache.h). The trust
         * module's is trust_verify_image() with a TrustVerifier (trust-verify.h); NULL verifies nothing. */
        OciImageVerifyFn verify;
        void *verify_userdata;
        OciProgressFn progress;  /* unpacking/verification progress; may be NULL */
        ContainerNoticeFn notice;  /* called on the starting thread; warnings and states also go to the
                                    * workload's event sink */
        void *userdata;          /* for progress and notice */
} ContainerConfig;

typedef enum ContainerStep {
        CONTAINER_STEP_BEGIN,    /* the start was asked for */
        CONTAINER_STEP_IMAGE,    /* image opened and verified, layers in the cache */
        CONTAINER_STEP_ADMITTED, /* scheduler admitted, record created */
        CONTAINER_STEP_CGROUP,   /* cgroup created with its limits, policy compiled */
        CONTAINER_STEP_CLONED,   /* init cloned into its namespaces */
        CONTAINER_STEP_ROOTFS,   /* id maps, id-mapped layers, overlay root, cgroup v1 attach */
        CONTAINER_STEP_HANDOFF,  /* init set up and installed its filter; the listener is ours */
        CONTAINER_STEP_EXEC,     /* the supervisor runs and init has exec'd the workload */
        _CONTAINER_STEP_MAX,
        _CONTAINER_STEP_INVALID = -EINVAL,
} ContainerStep;

const char *container_step_to_string(ContainerStep s) _const_;

typedef struct ContainerResult {
        char id[13];
        ContainerState state;  /* final: Stopped or Failed */
        int exit_code;         /* -1 when killed by a signal */
        int exit_signal;
        /* CLOCK_MONOTONIC when each step of the start was done, for benchmarks (0: not reached). */
        uint64_t timing[_CONTAINER_STEP_MAX];
} ContainerResult;

/* Exit status a CLI returns for a result: the exit code, 128 + signal, or 1 for Failed. */
int container_result_exit_status(const ContainerResult *r) _pure_;

/* ---- control, from any process ---- */

int container_pause(ContainerStore *s, const char *id_or_name, ForgeError *err);
int container_resume(ContainerStore *s, const char *id_or_name, ForgeError *err);
/* Freezes and keeps everything inspectable; reason is recorded. */
int container_quarantine(ContainerStore *s, const char *id_or_name, const char *reason, ForgeError *err);
/* The same for the supervisor's quarantine callback: the task that triggered it sits in a seccomp
 * notification and can only freeze once that is answered, so the freeze is requested and recorded
 * without waiting. The caller checks within a deadline (cgroup_is_frozen()) and kills otherwise. */
int container_quarantine_request(ContainerStore *s, const char *id_or_name, const char *reason,
                                 ForgeError *err);
/* Thaws a quarantined container back to Running. */
int container_release(ContainerStore *s, const char *id_or_name, ForgeError *err);
/* SIGTERM to every process (thawing a paused or quarantined container), then after timeout_usec
 * cgroup.kill; returns when the cgroup is empty. The owner records Stopped. */
int container_stop(ContainerStore *s, const char *id_or_name, uint64_t timeout_usec, ForgeError *err);

/*
 * Removes an ended (Stopped/Failed) container: first what it left behind (processes and directories
 * in its cgroup, its storage), then its record, and appends a "removed" event. Under its lock; the
 * record stays when a leftover cannot be removed, so a retry finds it. A container that has not ended
 * is refused (-EBUSY) unless force: then it is stopped like container_stop() and removed once its owner
 * recorded the end. Returns 1 when removed (ret_removed, optional: the record as it was), 0 when there
 * was nothing to remove (a full id without a record, or removed concurrently).
 */
int container_remove(ContainerStore *s, const char *id_or_name, bool force, uint64_t timeout_usec,
                     ContainerRecord **ret_removed, ForgeError *err);
/* Removes every ended container as container_remove() does. Returns how many; ret_removed (optional)
 * gets their records, to be freed with container_record_list_free(). On a failure the others are
 * still removed and the first error is returned (with ret_removed set all the same). */
int container_prune(ContainerStore *s, ContainerRecord ***ret_removed, size_t *ret_n, ForgeError *err);

/* Containers not final whose owner died: kills what is left, removes cgroup and root filesystem,
 * records Failed("owner exited"). Returns how many were reaped. */
int container_reap_orphans(ContainerStore *s);
