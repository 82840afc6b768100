/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The owner side of a container, in the steps workload.c drives: launch
 * (image -> admission -> cgroup -> clone -> id maps, id-mapped layers and
 * the root filesystem mounted inside the child's own mount namespace ->
 * "go" -> the listener handed over), exec (init exec'd the workload:
 * Running), process (a quarantine recorded, trust followed), end (the end
 * recorded, cgroup and root filesystem removed). See container-run.h.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "container-launch.h"
#include "container-run.h"
#include "forgeone/cgroup.h"
#include "forgeone/container-queue.h"
#include "forgeone/container.h"
#include "forgeone/filter-cache.h"
#include "forgeone/fs-util.h"
#include "forgeone/layer-cache.h"
#include "forgeone/policy-compile.h"
#include "forgeone/policy-graph.h"
#include "forgeone/rootfs.h"
#include "forgeone/sha256.h"
#include "forgeone/supervisor.h"
#include "forgeone/string-table.h"
#include "forgeone/time-util.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct fo_clone_args {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
                cgroup;
};

struct fo_mount_attr {
        uint64_t attr_set, attr_clr, propagation, userns_fd;
};

static const char *const container_step_table[_CONTAINER_STEP_MAX] = {
        [CONTAINER_STEP_BEGIN] = "begin",
        [CONTAINER_STEP_IMAGE] = "image",
        [CONTAINER_STEP_ADMITTED] = "admitted",
        [CONTAINER_STEP_CGROUP] = "cgroup",
        [CONTAINER_STEP_CLONED] = "cloned",
        [CONTAINER_STEP_ROOTFS] = "rootfs",
        [CONTAINER_STEP_HANDOFF] = "handoff",
        [CONTAINER_STEP_EXEC] = "exec",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(container_step, ContainerStep);

int container_result_exit_status(const ContainerResult *r) {
        if (r->state == CONTAINER_FAILED)
                return r->exit_signal > 0 ? 128 + r->exit_signal : 1;
        if (r->exit_signal > 0)
                return 128 + r->exit_signal;
        return r->exit_code >= 0 ? r->exit_code : 1;
}

#define QUARANTINE_FREEZE_TIMEOUT_USEC (5u * 1000000u)

struct ContainerRun {
        ContainerNoticeFn notice;
        void *userdata;
        EventSink *sink;
        ContainerStore *store;
        char id[13];
        Cgroup *cgroup;
        char *storage;          /* STORAGE/<id> */
        char **staged;          /* id-mapped layer mount points, bottom first */
        Rootfs *rootfs;
        PolicyGraph *graph;
        int identity;
        bool creds_calls_trapped;
        char *name;             /* what identities match against: the name (the id when none was given), */
        char *image_digest;     /* the image's manifest digest */
        char **labels;          /* and its labels */
        char *cgroup_v2_path;   /* its v2 directory (cgroup.kill, cgroup.events) */
        bool adopted;           /* taken over from a previous owner (container_run_adopt()) */
        pid_t pid;
        int pidfd, root_fd, cgroup_fd, sync_fd;
        uint64_t timing[_CONTAINER_STEP_MAX];
        bool recorded_end;
        pid_t supervisor_tid;      /* placed in our cpu group (hybrid), or 0 */
        char *supervisor_cpu_path; /* where it was before */
        char failure[FORGE_ERROR_MESSAGE_MAX]; /* why the start failed, for the record */

        /* Set by the quarantine request (supervising thread), handled by the owner's loop. */
        char quarantine_reason[256];
        bool quarantine_pending;         /* atomic: freeze requested, not yet recorded */
        uint64_t quarantine_deadline;    /* atomic: the cgroup must be frozen by then, else killed; 0 none */
        bool quarantine_failed;          /* atomic */
        bool quarantined;

        /* Trust -> cpu weight, followed from the owner's loop. */
        SchedulerPriority priority;
        int trust, trust_max;
        unsigned weight;
        uint64_t record_trust_usec; /* last time trust/weight went to the record (rate-limited) */
};

static void notice_state(const ContainerRun *run, ContainerNotice kind, const char *state,
                         const char *text) {
        if (run->notice)
                run->notice(kind, text, run->userdata);
        if (kind == CONTAINER_NOTICE_WARNING || kind == CONTAINER_NOTICE_STATE)
                event_sink_post_notice(run->sink, run->id,
                                       &(EventNotice){
                                               .kind = kind == CONTAINER_NOTICE_STATE ? EVENT_NOTICE_STATE
                                                                                      : EVENT_NOTICE_WARNING,
                                               .state = state,
                                               .trust = -1,
                                       },
                                       text);
}

static void notice(const ContainerRun *run, ContainerNotice kind, const char *text) {
        notice_state(run, kind, NULL, text);
}

static int write_at(pid_t pid, const char *file, const char *text) {
        char path[64];
        _cleanup_close_ int fd = -EBADF;
        size_t n = strlen(text);

        snprintf(path, sizeof path, "/proc/%d/%s", (int) pid, file);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (write(fd, text, n) != (ssize_t) n)
                return negative_errno();
        return 0;
}

static int write_id_maps(pid_t pid, uid_t base, uint32_t count) {
        char map[64];
        int r;

        snprintf(map, sizeof map, "0 %u %u\n", (unsigned) base, count);
        r = write_at(pid, "uid_map", map);
        if (r < 0)
                return r;
        /* setgroups must be denied before an unprivileged-style gid map; the container never needs it. */
        r = write_at(pid, "setgroups", "deny");
        if (r < 0)
                return r;
        return write_at(pid, "gid_map", map);
}

/*
 * Mounts each cached layer at STORAGE/<id>/lower/<i>/rootfs, id-mapped into the container's user
 * namespace: files owned by uid 0 in the cache are owned by container root, without chown-ing the
 * shared cache. layer.json is linked beside it so rootfs.c still finds the layer's xattr namespace.
 */
static int stage_idmapped_layers(ContainerRun *run, char **lowers, int userns_fd, ForgeError *err) {
        size_t n = 0;

        while (lowers[n])
                n++;
        run->staged = calloc(n + 1, sizeof(char *));
        if (!run->staged)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *dir = NULL, *meta_src = NULL, *meta_dst = NULL, *target = NULL;
                _cleanup_close_ int tree = -EBADF;
                struct fo_mount_attr attr = {
                        .attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY,
                        .userns_fd = (uint64_t) userns_fd,
                };
                int r;

                if (asprintf(&dir, "%s/lower/%zu", run->storage, i) < 0 || asprintf(&target, "%s/rootfs", dir) < 0 ||
                    asprintf(&meta_src, "%s/../layer.json", lowers[i]) < 0 ||
                    asprintf(&meta_dst, "%s/layer.json", dir) < 0)
                        return -ENOMEM;
                r = mkdir_p(target, 0700);
                if (r < 0)
                        return forge_error_set(err, r, "cannot create %s: %s", target, strerror(-r));
                (void) symlink(meta_src, meta_dst);

                tree = (int) syscall(SYS_open_tree, AT_FDCWD, lowers[i], OPEN_TREE_CLONE | O_CLOEXEC);
                if (tree < 0)
                        return forge_error_set(err, negative_errno(), "open_tree %s: %m", lowers[i]);
                if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
                        return forge_error_set(
                                err, negative_errno(),
                                "cannot id-map layer %s (file system without id-mapped mounts?): %m",
                                lowers[i]);
                if (syscall(SYS_move_mount, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                        return forge_error_set(err, negative_errno(), "cannot mount layer %s on %s: %m",
                                               lowers[i], target);
                run->staged[i] = TAKE_PTR(target);
        }
        return 0;
}

/* The mounts live in the container's mount namespace and go with it: what is left here are the
 * directories. */
static void unstage_layers(ContainerRun *run) {
        for (char **s = run->staged; s && *s; s++) {
                _cleanup_free_ char *dir = strdup(*s), *meta = NULL;
                char *slash;

                (void) umount2(*s, MNT_DETACH);
                (void) rmdir(*s);
                if (dir && (slash = strrchr(dir, '/'))) {
                        *slash = 0;
                        if (asprintf(&meta, "%s/layer.json", dir) >= 0)
                                (void) unlink(meta);
                        (void) rmdir(dir);
                }
        }
        run->staged = strv_free(run->staged);
        if (run->storage) {
                _cleanup_free_ char *lower = NULL;
                if (asprintf(&lower, "%s/lower", run->storage) >= 0)
                        (void) rmdir(lower);
        }
}

typedef struct CompileJob {
        Policy *policy; /* consumed by policy_graph_new() */
        PolicyGraph *shared; /* or a graph to share (a reference): its policy is compiled */
        int identity;
        PolicyFilter *filter;
        PolicyGraph *graph;
        int result;
        pthread_t thread;
        bool started;
} CompileJob;

static void *compile_job(void *userdata) {
        CompileJob *j = userdata;

        /* The compile is a pure function of the policy: a start with an unchanged policy reads it back. */
        j->result = filter_cache_compile(NULL, j->shared ? policy_graph_policy(j->shared) : j->policy, j->identity,
                                         &j->filter);
        if (j->result >= 0 && j->shared)
                j->graph = policy_graph_ref(j->shared);
        else if (j->result >= 0)
                j->result = policy_graph_new(TAKE_PTR(j->policy), &j->graph);
        return NULL;
}

static void compile_job_join(CompileJob *j) {
        if (j->started) {
                (void) pthread_join(j->thread, NULL);
                j->started = false;
        }
}

/* Cleanup: never return while the thread still reads the policy. */
static void compile_job_done(CompileJob *j) {
        compile_job_join(j);
        policy_free(j->policy);
        policy_graph_unref(j->shared);
        policy_filter_free(j->filter);
        policy_graph_unref(j->graph);
}

typedef struct AttachJob {
        Cgroup *cgroup;
        pid_t pid;
        bool skip_unified; /* cloned into its v2 cgroup already */
        int result;
} AttachJob;

static void *attach_job(void *userdata) {
        AttachJob *j = userdata;

        j->result = cgroup_attach(j->cgroup, j->pid, j->skip_unified);
        return NULL;
}

/* The parent's mounts for the container, made inside the container's own mount namespace: this thread
 * takes a private fs_struct and joins that namespace, so no other thread of the caller sees them, and
 * they go when the container's namespace goes. */
typedef struct MountJob {
        ContainerRun *run;
        pid_t pid;
        char **lowers;
        const char *rootfs_path;
        uid_t base;
        ForgeError *err;
        int result;
        char warning[512];
} MountJob;

static void *mount_job(void *userdata) {
        MountJob *j = userdata;
        ContainerRun *run = j->run;
        _cleanup_close_ int userns_fd = -EBADF, mntns_fd = -EBADF;
        RootfsOptions ro = ROOTFS_OPTIONS_DEFAULT;
        char nspath[64];
        int r;

        if (unshare(CLONE_FS) < 0) {
                j->result = forge_error_set(j->err, negative_errno(), "cannot take a private fs_struct: %m");
                return NULL;
        }
        snprintf(nspath, sizeof nspath, "/proc/%d/ns/mnt", (int) j->pid);
        mntns_fd = open(nspath, O_RDONLY | O_CLOEXEC);
        if (mntns_fd < 0 || setns(mntns_fd, CLONE_NEWNS) < 0) {
                j->result = forge_error_set(j->err, negative_errno(),
                                            "cannot join the container's mount namespace %s: %m", nspath);
                return NULL;
        }
        snprintf(nspath, sizeof nspath, "/proc/%d/ns/user", (int) j->pid);
        userns_fd = open(nspath, O_RDONLY | O_CLOEXEC);
        if (userns_fd < 0) {
                j->result = forge_error_set(j->err, negative_errno(), "cannot open %s: %m", nspath);
                return NULL;
        }
        r = stage_idmapped_layers(run, j->lowers, userns_fd, j->err);
        if (r < 0) {
                j->result = r;
                return NULL;
        }
        ro.root_uid = j->base;
        ro.root_gid = j->base;
        r = rootfs_assemble(run->staged, run->storage, &ro, &run->rootfs, j->err);
        if (r < 0) {
                j->result = forge_error_prefix(j->err, r, "root filesystem: ");
                return NULL;
        }
        if (run->rootfs->kind != ROOTFS_OVERLAY) {
                /* pivot_root() needs a mount point; a copied root is a plain directory. */
                if (mount(j->rootfs_path, j->rootfs_path, NULL, MS_BIND | MS_REC, NULL) < 0) {
                        j->result = forge_error_set(j->err, negative_errno(),
                                                    "cannot bind %s onto itself: %m", j->rootfs_path);
                        return NULL;
                }
                snprintf(j->warning, sizeof j->warning, "overlayfs unavailable (%s): the root filesystem is a copy",
                         strempty(run->rootfs->fallback_reason));
        }
        j->result = 0;
        return NULL;
}

static int strv_copy(char **l, char ***ret) {
        size_t n = 0;
        char **c;

        while (l && l[n])
                n++;
        c = calloc(n + 1, sizeof(char *));
        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(c[i] = strdup(l[i]))) {
                        strv_free(c);
                        return -ENOMEM;
                }
        *ret = c;
        return 0;
}

/* entrypoint + cmd, or the CLI's command (which replaces both, like `docker run --entrypoint`). */
static int build_argv(const ContainerConfig *c, char **command, const OciImageConfig *ic, char ***ret) {
        size_t n = 0, k = 0;
        char **argv;

        if (command && command[0])
                return strv_copy(command, ret);
        if (c->command && c->command[0])
                return strv_copy(c->command, ret);
        for (char **i = ic->entrypoint; i && *i; i++)
                n++;
        for (char **i = ic->cmd; i && *i; i++)
                n++;
        argv = calloc(n + 1, sizeof(char *));
        if (!argv)
                return -ENOMEM;
        for (char **i = ic->entrypoint; i && *i; i++)
                if (!(argv[k++] = strdup(*i)))
                        goto oom;
        for (char **i = ic->cmd; i && *i; i++)
                if (!(argv[k++] = strdup(*i)))
                        goto oom;
        *ret = argv;
        return 0;
oom:
        strv_free(argv);
        return -ENOMEM;
}

static const char *env_find(char **env, const char *key) {
        size_t n = strlen(key);

        for (char **e = env; e && *e; e++)
                if (strncmp(*e, key, n) == 0 && (*e)[n] == '=')
                        return *e + n + 1;
        return NULL;
}

/* The environment the child executes with: the image's, plus PATH, HOSTNAME and HOME where it sets none.
 * HOME comes from the image's /etc/passwd, which only the child reads (after pivot_root): its entry is a
 * slot the child fills in (ret_home_slot; NULL when the image sets HOME). The child cannot allocate
 * (container-launch.c), so everything else is made here. ret_env is a copy (strv_free()). */
static int launch_env(char **image_env, const char *hostname, char ***ret_env, char ***ret_home_slot) {
        _cleanup_strv_free_ char **env = NULL;
        size_t n = 0, k = 0;

        while (image_env && image_env[n])
                n++;
        env = calloc(n + 4, sizeof(char *));
        if (!env)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(env[k++] = strdup(image_env[i])))
                        return -ENOMEM;
        if (!env_find(image_env, "PATH") && !(env[k++] = strdup("PATH=" CONTAINER_LAUNCH_DEFAULT_PATH)))
                return -ENOMEM;
        if (!env_find(image_env, "HOSTNAME") && hostname) {
                if (asprintf(&env[k], "HOSTNAME=%s", hostname) < 0) {
                        env[k] = NULL;
                        return -ENOMEM;
                }
                k++;
        }
        /* The slot: NULL until the child sets it, and strv_free() stops before it in the parent. It is
         * the last entry, so nothing after it is lost. */
        *ret_home_slot = env_find(image_env, "HOME") ? NULL : &env[k];
        *ret_env = TAKE_PTR(env);
        return 0;
}

static int record_transition(ContainerRun *run, ContainerState to, const char *reason, int code, int sig) {
        _cleanup_(container_lock_releasep) ContainerLock *l = NULL;
        int r;

        r = container_store_lock(run->store, run->id, &l);
        if (r < 0)
                return r;
        return container_lock_transition(l, to, reason, code, sig);
}

static void cleanup_run(ContainerRun *run) {
        if (run->supervisor_tid > 0 && run->cgroup) {
                /* A live thread keeps a v1 cgroup busy: back where it came from, first. */
                (void) cgroup_move_thread_cpu_to(run->cgroup, run->supervisor_cpu_path, run->supervisor_tid);
                run->supervisor_tid = 0;
        }
        if (run->cgroup) {
                (void) cgroup_kill_all(run->cgroup, 5u * 1000000u);
                (void) cgroup_remove(run->cgroup);
        }
        if (run->storage && run->adopted)
                /* Its layers were staged by a previous owner: what is there is removed, as for an orphan. */
                (void) container_storage_remove(run->storage, NULL);
        else if (run->storage) {
                (void) rootfs_teardown(run->storage, NULL);
                unstage_layers(run);
                (void) rmdir(run->storage);
        }
}

static void store_event(const ContainerRecord *r, const ContainerTransition *t, void *userdata) {
        ContainerRun *run = userdata;
        _cleanup_free_ char *status = NULL;

        if (container_record_status_string(r, &status) >= 0)
                notice_state(run, CONTAINER_NOTICE_STATE, container_state_to_string(r->state), status);
}

static void queue_wait(unsigned shortage, const char *text, void *userdata) {
        notice(userdata, CONTAINER_NOTICE_QUEUED, text);
}

/* Whether choosing the policy identity needs the image digest. */
static bool policy_needs_digest(const Policy *p) {
        for (size_t i = 0; i < p->n_identities; i++)
                if (p->identities[i].match_digest)
                        return true;
        return false;
}

/* Resolves the workload's identity and trust, then builds the kernel filter and the graph on a thread
 * (joined before we clone). Takes the policy, or a reference to graph when it is non-NULL. */
static int start_compile(CompileJob *job, Policy **policy, PolicyGraph *graph, const ContainerConfig *c,
                         const char *identity, const char *digest, int *ret_identity, int *ret_trust,
                         int *ret_trust_max, char **ret_path, ForgeError *err) {
        PolicyWorkload w = { .name = c->name, .image_digest = digest, .labels = c->labels };
        const Policy *p = graph ? policy_graph_policy(graph) : *policy;

        if (p->path && !(*ret_path = strdup(p->path)))
                return -ENOMEM;
        if (identity) {
                *ret_identity = policy_identity_by_name(p, identity);
                if (*ret_identity < 0)
                        return forge_error_set(err, -ENOENT, "policy %s has no identity \"%s\"",
                                               strempty(p->path), identity);
        } else
                *ret_identity = policy_identity_resolve(p, &w);
        *ret_trust = policy_identity_trust(p, *ret_identity);
        *ret_trust_max = p->trust.maximum;
        job->identity = *ret_identity;
        if (graph)
                job->shared = policy_graph_ref(graph);
        else
                job->policy = TAKE_PTR(*policy);
        job->started = pthread_create(&job->thread, NULL, compile_job, job) == 0;
        if (!job->started)
                compile_job(job);
        return 0;
}

const char *container_run_id(const ContainerRun *r) {
        return r->id;
}

uint64_t container_run_next_timeout(const ContainerRun *r) {
        return __atomic_load_n(&r->quarantine_deadline, __ATOMIC_ACQUIRE);
}

bool container_run_quarantined(const ContainerRun *r) {
        return r->quarantined || __atomic_load_n(&r->quarantine_pending, __ATOMIC_ACQUIRE);
}

bool container_run_quarantine_killed(const ContainerRun *r) {
        return __atomic_load_n(&r->quarantine_failed, __ATOMIC_ACQUIRE);
}

int container_run_launch(const ContainerConfig *c, Policy *policy_arg, PolicyGraph *graph,
                         const char *identity_name, const int *stdio, EventSink *sink, ContainerRun **ret,
                         ContainerLaunched *ret_launched, ForgeError *err) {
        _cleanup_(policy_freep) Policy *policy = policy_arg;
        _cleanup_(oci_image_freep) OciImage *image = NULL;
        _cleanup_(layer_cache_freep) LayerCache *cache = NULL;
        _cleanup_(policy_filter_freep) PolicyFilter *filter = NULL;
        _cleanup_(container_record_freep) ContainerRecord *rec = NULL;
        _cleanup_(container_lock_releasep) ContainerLock *lock = NULL;
        _cleanup_(supervisor_handoff_freep) SupervisorHandoff *handoff = NULL;
        _cleanup_(container_run_freep) ContainerRun *run = NULL;
        _cleanup_strv_free_ char **lowers = NULL, **argv = NULL, **env = NULL;
        char **home_slot = NULL;
        _cleanup_free_ char *failed_file = NULL, *rootfs_path = NULL, *policy_path_copy = NULL;
        _cleanup_close_ int sync_child = -EBADF;
        _cleanup_(compile_job_done) CompileJob compile = {};
        SchedulerBudget budget;
        CgroupLayout layout;
        CgroupLimits limits;
        LaunchArgs la;
        LaunchReport rep;
        uid_t base = c->uid_base ?: CONTAINER_DEFAULT_UID_BASE;
        uint32_t count = c->uid_count ?: CONTAINER_DEFAULT_UID_COUNT;
        int identity = POLICY_IDENTITY_ANY, trust = -1, trust_max = -1, r, listener = -EBADF;
        pid_t pid;
        ssize_t k;
        pthread_t attach_thread, mount_thread;
        bool attach_started = false, compiling = false, into_cgroup = true;
        AttachJob job = {};
        MountJob mj = {};
        const Policy *pol = graph ? policy_graph_policy(graph) : policy;

        if (!c->image || !pol)
                return forge_error_set(err, -EINVAL, "an image and a policy are required");
        if (c->name && !container_name_is_valid(c->name))
                return forge_error_set(err, -EINVAL,
                                       "invalid container name \"%s\": 1-63 of A-Z a-z 0-9 _ . -, starting "
                                       "with a letter or digit",
                                       c->name);
        if (c->network < 0 || c->network >= _CONTAINER_NETWORK_MAX)
                return forge_error_set(err, -EINVAL, "invalid network mode");

        run = calloc(1, sizeof *run);
        if (!run)
                return -ENOMEM;
        run->pidfd = run->root_fd = run->cgroup_fd = run->sync_fd = -EBADF;
        run->notice = c->notice;
        run->userdata = c->userdata;
        run->sink = sink;
        run->timing[CONTAINER_STEP_BEGIN] = time_now_usec(CLOCK_MONOTONIC);

        /* The policy compile is the longest step of a start: begin it as early as the identity is
         * known. Without identities that match on the image digest, that is before the image is read. */
        if (!identity_name && !policy_needs_digest(pol)) {
                r = start_compile(&compile, &policy, graph, c, NULL, NULL, &identity, &trust, &trust_max,
                                  &policy_path_copy, err);
                if (r < 0)
                        return r;
                compiling = true;
        }

        /* 1. The image: verified as it is read, layers unpacked once into the cache. */
        r = oci_image_open(c->image, &image, err);
        if (r < 0)
                return forge_error_prefix(err, r, "image %s: ", c->image);
        if (!compiling) {
                r = start_compile(&compile, &policy, graph, c, identity_name, image->manifest.digest, &identity,
                                  &trust, &trust_max, &policy_path_copy, err);
                if (r < 0)
                        return r;
        }
        r = layer_cache_open(c->layer_cache_dir, &cache, err);
        if (r < 0)
                return forge_error_prefix(err, r, "layer cache: ");
        layer_cache_set_limits(cache, &c->unpack_limits);
        r = layer_cache_unpack_image(cache, image, c->verify, c->verify_userdata, 0, c->progress,
                                     c->userdata, &lowers, err);
        if (r < 0)
                return forge_error_prefix(err, r, "image %s: ", c->image);
        r = build_argv(c, NULL, &image->config, &argv);
        if (r < 0)
                return forge_error_set(err, r, "out of memory");
        if (!argv[0])
                return forge_error_set(err, -EINVAL,
                                       "image %s has no entrypoint or cmd; give a command after \"--\"",
                                       c->image);

        run->timing[CONTAINER_STEP_IMAGE] = time_now_usec(CLOCK_MONOTONIC);
        /* 2. Admission. */
        r = container_budget_load(c->budget_file, &budget, err);
        if (r < 0)
                return forge_error_prefix(err, r, "host budget: ");
        r = container_store_open(c->state_dir, &run->store);
        if (r < 0)
                return forge_error_set(err, r, "cannot open the state directory %s: %s",
                                       c->state_dir ?: CONTAINER_STORE_DEFAULT_ROOT, strerror(-r));
        /* No orphan reaping here (it walks every record): admission already ignores containers whose
         * owner is gone, and ps/inspect/control reap them. */
        container_store_set_event_callback(run->store, store_event, run);

        rec = container_record_new();
        if (!rec)
                return -ENOMEM;
        rec->name = c->name ? strdup(c->name) : NULL;
        rec->image = strdup(c->image);
        rec->image_digest = strdup(image->manifest.digest);
        rec->policy = policy_path_copy ? strdup(policy_path_copy) : NULL;
        rec->network = strdup(container_network_to_string(c->network));
        if ((c->name && !rec->name) || !rec->image || !rec->image_digest || !rec->network ||
            strv_copy(argv, &rec->command) < 0 || strv_copy(c->labels, &rec->labels) < 0)
                return -ENOMEM;
        rec->priority = c->priority;
        rec->trust = trust;
        rec->trust_max = trust_max;
        rec->memory_bytes = c->memory_bytes ?: budget.default_memory_bytes;
        rec->pids = c->pids ?: budget.default_pids;
        rec->cpu_millis = c->cpu_millis;
        rec->cpu_weight = scheduler_cpu_weight(c->priority, trust, trust_max);
        rec->uid_base = base;
        rec->uid_count = count;
        rec->owner_pid = getpid();
        r = container_process_start_time(getpid(), &rec->owner_start);
        if (r < 0)
                return forge_error_set(err, r, "cannot read our own start time: %s", strerror(-r));

        r = container_queue_admit(run->store, &budget, rec, c->no_wait, queue_wait, run, &lock, err);
        if (r == -EEXIST)
                return forge_error_set(err, r, "a container named \"%s\" is already running", c->name);
        if (r < 0)
                return forge_error_set(err, r, "%m"); /* when admission said nothing */
        TAKE_PTR(rec); /* the lock's record now */
        run->priority = lock->record->priority;
        run->trust = lock->record->trust;
        run->trust_max = lock->record->trust_max;
        run->weight = lock->record->cpu_weight;
        memcpy(run->id, lock->record->id, sizeof run->id);
        /* What identities match against, for a reload of a shared graph (the name as given: none when the
         * record's is the id). */
        if ((c->name && !(run->name = strdup(c->name))) || !(run->image_digest = strdup(image->manifest.digest)) ||
            strv_copy(c->labels, &run->labels) < 0) {
                r = -ENOMEM;
                goto fail_locked;
        }
        notice(run, CONTAINER_NOTICE_ADMITTED, run->id);

        run->timing[CONTAINER_STEP_ADMITTED] = time_now_usec(CLOCK_MONOTONIC);
        /* From here on, a failure records Failed and cleans up (container_run_free()). */
        r = cgroup_detect_layout(c->cgroup_root, &layout);
        if (r < 0) {
                forge_error_set(err, r, "unsupported cgroup setup under %s: %s",
                                c->cgroup_root ?: CGROUP_DEFAULT_ROOT,
                                r == -EOPNOTSUPP ? "neither cgroup v2 nor a hybrid v1+v2 layout"
                                                 : strerror(-r));
                goto fail_locked;
        }
        r = cgroup_new(c->cgroup_root, layout, run->id, &run->cgroup);
        if (r < 0)
                goto fail_locked;
        r = cgroup_controller_path(run->cgroup, "unified", &run->cgroup_v2_path);
        if (r < 0)
                goto fail_locked;
        if (asprintf(&run->storage, "%s/%s", c->storage_dir ?: CONTAINER_DEFAULT_STORAGE_DIR, run->id) < 0) {
                run->storage = NULL;
                r = -ENOMEM;
                goto fail_locked;
        }
        lock->record->cgroup_layout = strdup(cgroup_layout_to_string(layout));
        lock->record->cgroup = strdup(cgroup_get_relative(run->cgroup));
        lock->record->cgroup_root = strdup(cgroup_get_root(run->cgroup));
        lock->record->rootfs = strdup(run->storage);
        lock->record->hostname = strdup(c->hostname ?: lock->record->name);
        if (!lock->record->cgroup_layout || !lock->record->cgroup || !lock->record->cgroup_root ||
            !lock->record->rootfs || !lock->record->hostname) {
                r = -ENOMEM;
                goto fail_locked;
        }
        r = container_lock_save(lock);
        if (r < 0)
                goto fail_locked;

        r = cgroup_create(run->cgroup);
        if (r < 0) {
                forge_error_set(err, r, "cannot create cgroup %s under %s: %s",
                                cgroup_get_relative(run->cgroup), cgroup_get_root(run->cgroup),
                                strerror(-r));
                goto fail_locked;
        }
        limits = (CgroupLimits) {
                .memory_bytes = lock->record->memory_bytes,
                .pids = lock->record->pids,
                .cpu_millis = lock->record->cpu_millis,
                .cpu_weight = lock->record->cpu_weight,
        };
        r = cgroup_apply_limits(run->cgroup, &limits, &failed_file);
        if (r < 0) {
                forge_error_set(err, r, "cannot set limit %s: %s", strempty(failed_file), strerror(-r));
                goto fail_locked;
        }

        compile_job_join(&compile);
        if (compile.result < 0) {
                r = forge_error_set(err, compile.result, "cannot compile policy %s: %s",
                                    strempty(policy_path_copy), strerror(-compile.result));
                goto fail_locked;
        }
        filter = TAKE_PTR(compile.filter);
        run->graph = TAKE_PTR(compile.graph);
        run->identity = identity;
        run->creds_calls_trapped = filter->traps_credentials;

        run->timing[CONTAINER_STEP_CGROUP] = time_now_usec(CLOCK_MONOTONIC);
        /* Nobody else may hold the container's lock across the clone: the child would inherit it. */
        char hostname[64];
        snprintf(hostname, sizeof hostname, "%s", lock->record->hostname);
        lock = container_lock_release(lock);

        /* 0711: init opens its root by path while it is still the host's uid 0, so 0700 would do; 0711
         * keeps the directory searchable should that order ever change, without letting anyone list it. */
        r = mkdir_p(run->storage, 0711);
        if (r < 0) {
                forge_error_set(err, r, "cannot create %s: %s", run->storage, strerror(-r));
                goto fail;
        }
        r = supervisor_handoff_new(&handoff);
        if (r < 0)
                goto fail;
        int sp[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
                r = negative_errno();
                goto fail;
        }
        run->sync_fd = sp[0];
        sync_child = sp[1];

        /* 3. Clone init into its namespaces; it waits for "go". */
        if (asprintf(&rootfs_path, "%s/rootfs", run->storage) < 0) {
                rootfs_path = NULL;
                r = -ENOMEM;
                goto fail;
        }
        r = launch_env(image->config.env, hostname, &env, &home_slot);
        if (r < 0)
                goto fail;
        la = (LaunchArgs) {
                .sync_fd = sync_child,
                .rootfs = rootfs_path,
                .hostname = hostname,
                .network = c->network,
                .argv = argv,
                .envp = env,
                .home_slot = home_slot,
                .cwd = image->config.working_dir,
                .user = image->config.user,
                .uid_count = count,
                .filter = filter,
                .handoff = handoff,
                .survive_owner = c->survive_owner,
                .stdio = stdio,
        };
        run->cgroup_fd = cgroup_open_unified(run->cgroup);
        if (run->cgroup_fd < 0) {
                r = forge_error_set(err, run->cgroup_fd, "cannot open the v2 cgroup of %s: %s", run->id,
                                    strerror(-run->cgroup_fd));
                goto fail;
        }
        /* Born in its v2 cgroup (no migration); the v1 hierarchies of a hybrid host follow below. Its
         * own mount namespace from the start: ours never sees its mounts. */
        struct fo_clone_args ca = {
                .flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_PIDFD |
                         CLONE_INTO_CGROUP | (c->network == CONTAINER_NETWORK_NONE ? CLONE_NEWNET : 0),
                .pidfd = (uint64_t) (uintptr_t) &run->pidfd,
                .exit_signal = SIGCHLD,
                .cgroup = (uint64_t) run->cgroup_fd,
        };
        pid = (pid_t) syscall(SYS_clone3, &ca, sizeof ca);
        if (pid < 0 && errno == ENOSYS) {
                /* systemd's RestrictNamespaces= fails clone3() with ENOSYS (it cannot look into its
                 * arguments): clone() then, and init joins its v2 cgroup with the others below, before it
                 * goes on. */
                into_cgroup = false;
                pid = (pid_t) syscall(SYS_clone, (unsigned long) (ca.flags & ~CLONE_INTO_CGROUP) | SIGCHLD, NULL,
                                      &run->pidfd, NULL, NULL);
        }
        if (pid < 0) {
                r = negative_errno();
                forge_error_set(err, r, "cannot create the container's namespaces (clone3): %m");
                goto fail;
        }
        if (pid == 0) {
                safe_close(run->sync_fd);
                container_launch_child(&la);
        }
        run->pid = pid;
        sync_child = safe_close(sync_child);

        run->timing[CONTAINER_STEP_CLONED] = time_now_usec(CLOCK_MONOTONIC);
        /* 4. Parent side of the setup, while init waits. */
        r = write_id_maps(pid, base, count);
        if (r < 0) {
                forge_error_set(err, r, "cannot write the id maps of pid %d (%u:%u): %s", (int) pid,
                                (unsigned) base, count, strerror(-r));
                goto fail;
        }
        /* v1 migrations wait for RCU grace periods (~0.3 ms each): overlap them with the mounts. */
        job = (AttachJob) { .cgroup = run->cgroup, .pid = pid, .skip_unified = into_cgroup };
        attach_started = pthread_create(&attach_thread, NULL, attach_job, &job) == 0;
        if (!attach_started)
                attach_job(&job);
        mj = (MountJob) { .run = run, .pid = pid, .lowers = lowers, .rootfs_path = rootfs_path, .base = base, .err = err };
        r = -pthread_create(&mount_thread, NULL, mount_job, &mj);
        if (r < 0) {
                forge_error_set(err, r, "cannot start the mount thread: %s", strerror(-r));
                goto fail;
        }
        (void) pthread_join(mount_thread, NULL);
        if (mj.result < 0) {
                r = mj.result;
                goto fail;
        }
        if (mj.warning[0])
                notice(run, CONTAINER_NOTICE_WARNING, mj.warning);
        if (attach_started) {
                (void) pthread_join(attach_thread, NULL);
                attach_started = false;
        }
        if (job.result < 0) {
                r = forge_error_set(err, job.result, "cannot move pid %d into cgroup %s: %s", (int) pid,
                                    cgroup_get_relative(run->cgroup), strerror(-job.result));
                goto fail;
        }

        run->timing[CONTAINER_STEP_ROOTFS] = time_now_usec(CLOCK_MONOTONIC);
        if (send(run->sync_fd, "g", 1, MSG_NOSIGNAL) != 1) {
                r = negative_errno();
                goto fail;
        }

        /* 5. The child sets itself up, says so, installs the listener last; take it. */
        do
                k = recv(run->sync_fd, &rep, sizeof rep, 0);
        while (k < 0 && errno == EINTR);
        if (k == (ssize_t) sizeof rep) {
                r = forge_error_set(err, -rep.error, "container setup failed: %s", rep.message);
                goto fail;
        }
        if (k != 1) {
                r = forge_error_set(err, -ESRCH, "the container's init died during setup");
                goto fail;
        }
        r = supervisor_handoff_receive(handoff, run->pidfd, 0, &listener);
        if (r < 0) {
                k = recv(run->sync_fd, &rep, sizeof rep, MSG_DONTWAIT);
                if (k == (ssize_t) sizeof rep)
                        forge_error_set(err, -rep.error, "container setup failed: %s", rep.message);
                else
                        forge_error_set(err, r, "the container's seccomp listener could not be taken: %s",
                                        strerror(-r));
                r = k == (ssize_t) sizeof rep ? -rep.error : r;
                goto fail;
        }
        run->timing[CONTAINER_STEP_HANDOFF] = time_now_usec(CLOCK_MONOTONIC);
        {
                char p[64];
                snprintf(p, sizeof p, "/proc/%d/root", (int) pid);
                run->root_fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (run->root_fd < 0) {
                        r = forge_error_set(err, negative_errno(), "cannot open %s: %m", p);
                        safe_close(listener);
                        goto fail;
                }
        }

        *ret_launched = (ContainerLaunched) {
                .pid = pid,
                .pidfd = run->pidfd,
                .listener = listener,
                .root_fd = run->root_fd,
                .cgroup_fd = run->cgroup_fd,
                .identity = identity,
                .graph = run->graph,
                .creds_calls_trapped = run->creds_calls_trapped,
        };
        sha256_buffer(filter->insns, filter->n_insns * sizeof filter->insns[0], ret_launched->filter_digest);
        ret_launched->filter = TAKE_PTR(filter);
        *ret = TAKE_PTR(run);
        return 0;

fail:
        if (attach_started)
                (void) pthread_join(attach_thread, NULL);
        (void) forge_error_set(err, r, "cannot start the container: %m"); /* when nothing said why */
        snprintf(run->failure, sizeof run->failure, "%s", forge_error_message(err, r));
        return r; /* container_run_free() kills, records Failed and cleans up */

fail_locked:
        if (run->cgroup)
                (void) cgroup_remove(run->cgroup);
        run->cgroup = cgroup_free(run->cgroup);
        (void) forge_error_set(err, r, "cannot prepare the container: %m"); /* when nothing said why */
        (void) container_lock_transition(lock, CONTAINER_FAILED, forge_error_message(err, r), -1, 0);
        lock = container_lock_release(lock);
        run->recorded_end = true;
        return r;
}

int container_run_exec(ContainerRun *run, ForgeError *err) {
        LaunchReport rep;
        ssize_t k;
        int r;

        /* EOF: execve() closed the child's end. A report: the exec failed. */
        do
                k = recv(run->sync_fd, &rep, sizeof rep, 0);
        while (k < 0 && errno == EINTR);
        run->timing[CONTAINER_STEP_EXEC] = time_now_usec(CLOCK_MONOTONIC);
        run->sync_fd = safe_close(run->sync_fd);
        if (k == (ssize_t) sizeof rep)
                return forge_error_set(err, -rep.error, "container: %s", rep.message);

        {
                _cleanup_(container_lock_releasep) ContainerLock *l = NULL;
                r = container_store_lock(run->store, run->id, &l);
                if (r >= 0) {
                        l->record->pid = run->pid;
                        /* A stop that came in during creation stands: its caller kills after the timeout. */
                        if (l->record->state == CONTAINER_STOPPING)
                                r = container_lock_save(l);
                        else
                                r = container_lock_transition(l, CONTAINER_RUNNING, NULL, -1, 0);
                }
                if (r < 0)
                        notice(run, CONTAINER_NOTICE_WARNING, "cannot record the running state");
        }
        notice(run, CONTAINER_NOTICE_STARTED, run->id);
        return 0;
}

void container_run_place_supervisor(ContainerRun *run, pid_t tid) {
        _cleanup_free_ char *path = NULL;

        if (tid <= 0 || !run->cgroup || cgroup_get_layout(run->cgroup) != CGROUP_LAYOUT_HYBRID)
                return;
        if (cgroup_thread_cpu_path(run->cgroup, tid, &path) < 0)
                return;
        if (cgroup_attach_thread_cpu(run->cgroup, tid) < 0)
                return;
        free(run->supervisor_cpu_path);
        run->supervisor_cpu_path = TAKE_PTR(path);
        run->supervisor_tid = tid;
}

void container_run_quarantine_request(ContainerRun *run, const SupervisorEvent *ev) {
        int r;

        if (ev->reason)
                snprintf(run->quarantine_reason, sizeof run->quarantine_reason, "%s (%s, rule %s)", ev->reason,
                         strempty(ev->syscall), strempty(ev->rule_id));
        else
                snprintf(run->quarantine_reason, sizeof run->quarantine_reason, "policy: %s by rule %s, trust %d",
                         strempty(ev->syscall), strempty(ev->rule_id), ev->trust);
        /* Freeze instead of kill: the container stays inspectable until someone decides. The calling task
         * freezes only after this notification is answered: the owner's loop checks the result in time,
         * and records the state (no lock, no state file here on the deciding thread). */
        r = cgroup_set_frozen(run->cgroup, true, 0);
        if (r < 0 && r != -ETIMEDOUT) {
                /* Could not freeze: never leave a quarantined workload running. */
                __atomic_store_n(&run->quarantine_failed, true, __ATOMIC_RELEASE);
                (void) cgroup_signal_all(run->cgroup, SIGKILL);
                return;
        }
        __atomic_store_n(&run->quarantine_deadline, time_now_usec(CLOCK_MONOTONIC) + QUARANTINE_FREEZE_TIMEOUT_USEC,
                         __ATOMIC_RELEASE);
        __atomic_store_n(&run->quarantine_pending, true, __ATOMIC_RELEASE);
}

/* Lower trust, lower weight: under contention a workload that collects denials yields first. The cgroup
 * follows every change; the record at most once a second. */
static void follow_trust(ContainerRun *run, int trust) {
        unsigned w;
        uint64_t now;

        if (trust == run->trust)
                return;
        run->trust = trust;
        w = scheduler_cpu_weight(run->priority, trust, run->trust_max);
        if (w != run->weight && cgroup_set_cpu_weight(run->cgroup, w) >= 0)
                run->weight = w;

        now = time_now_usec(CLOCK_MONOTONIC);
        if (now - run->record_trust_usec >= 1000000u) {
                _cleanup_(container_lock_releasep) ContainerLock *l = NULL;

                if (container_store_trylock(run->store, run->id, &l) >= 0) {
                        run->record_trust_usec = now;
                        l->record->trust = run->trust;
                        l->record->cpu_weight = run->weight;
                        (void) container_lock_save(l);
                }
        }
}

int container_run_process(ContainerRun *run, int trust) {
        uint64_t deadline;
        char msg[320];

        if (trust >= 0)
                follow_trust(run, trust);
        if (__atomic_load_n(&run->quarantine_failed, __ATOMIC_ACQUIRE))
                return 0;
        if (__atomic_exchange_n(&run->quarantine_pending, false, __ATOMIC_ACQ_REL)) {
                ForgeError err = {};

                run->quarantined = true;
                if (container_quarantine_request(run->store, run->id, run->quarantine_reason, &err) < 0 &&
                    forge_error_isset(&err))
                        notice(run, CONTAINER_NOTICE_WARNING, err.message);
        }
        deadline = __atomic_load_n(&run->quarantine_deadline, __ATOMIC_ACQUIRE);
        if (deadline == 0)
                return 0;
        if (cgroup_is_frozen(run->cgroup) > 0) {
                __atomic_store_n(&run->quarantine_deadline, 0, __ATOMIC_RELEASE);
                return 0;
        }
        if (time_now_usec(CLOCK_MONOTONIC) < deadline)
                return 0;
        __atomic_store_n(&run->quarantine_deadline, 0, __ATOMIC_RELEASE);
        __atomic_store_n(&run->quarantine_failed, true, __ATOMIC_RELEASE);
        snprintf(msg, sizeof msg, "container %s did not freeze within %u s of its quarantine: killing it", run->id,
                 QUARANTINE_FREEZE_TIMEOUT_USEC / 1000000u);
        notice(run, CONTAINER_NOTICE_WARNING, msg);
        return cgroup_signal_all(run->cgroup, SIGKILL);
}

int container_run_kill(ContainerRun *run, int sig) {
        if (sig == SIGKILL && run->cgroup)
                return cgroup_signal_all(run->cgroup, SIGKILL);
        if (run->pidfd < 0)
                return -ESRCH;
        return syscall(SYS_pidfd_send_signal, run->pidfd, sig, NULL, 0) < 0 ? negative_errno() : 0;
}

/* The final state after init exited with si. ret (optional): state and exit status as recorded, taken
 * under the lock: once it is released, "forgeonectl rm --force" may remove the record at any moment. */
int container_run_end(ContainerRun *run, const siginfo_t *si, ContainerResult *ret) {
        _cleanup_(container_lock_releasep) ContainerLock *l = NULL;
        uint64_t ooms = 0;
        int code = -1, sig = 0, r;
        bool oom;

        if (si->si_code == CLD_EXITED)
                code = si->si_status;
        else
                sig = si->si_status;
        /* Init killed by the OOM killer, or a shell init reporting its OOM-killed child (128 + 9). */
        oom = cgroup_oom_kills(run->cgroup, &ooms) >= 0 && ooms > 0 && (sig == SIGKILL || code == 128 + SIGKILL);

        cleanup_run(run);
        run->recorded_end = true;

        r = container_store_lock(run->store, run->id, &l);
        if (r >= 0) {
                /* The trust the workload ended with (the record follows it at most once a second). */
                l->record->trust = run->trust;
                l->record->cpu_weight = run->weight;
                /* A SIGKILL from a stop is the stop's, even if some process was OOM-killed earlier. */
                if (oom && l->record->state != CONTAINER_STOPPING)
                        r = container_lock_transition(l, CONTAINER_FAILED, "oom", code, sig);
                else if (__atomic_load_n(&run->quarantine_failed, __ATOMIC_ACQUIRE))
                        r = container_lock_transition(l, CONTAINER_FAILED, "quarantine could not freeze it; killed",
                                                      code, sig);
                else if (l->record->state == CONTAINER_CREATING)
                        r = container_lock_transition(l, CONTAINER_FAILED, "init exited during setup", code, sig);
                else
                        r = container_lock_transition(l, CONTAINER_STOPPED, NULL, code, sig);
        }
        if (ret) {
                _cleanup_(container_record_freep) ContainerRecord *fin = NULL;

                *ret = (ContainerResult) { .state = CONTAINER_STOPPED, .exit_code = code, .exit_signal = sig };
                if (r >= 0) {
                        ret->state = l->record->state;
                        ret->exit_code = l->record->exit_code;
                        ret->exit_signal = l->record->exit_signal;
                } else if (container_store_load(run->store, run->id, &fin) >= 0) {
                        /* Not recorded by us (e.g. the record was already final): what the record says. */
                        ret->state = fin->state;
                        ret->exit_code = fin->exit_code;
                        ret->exit_signal = fin->exit_signal;
                }
                memcpy(ret->id, run->id, sizeof ret->id);
                memcpy(ret->timing, run->timing, sizeof run->timing);
        }
        return r;
}

/* ---- the owner's control (forgeoned): what the control functions of container.h do, for our own run ---- */

int container_run_set_frozen(ContainerRun *run, bool frozen, ForgeError *err) {
        return frozen ? container_pause(run->store, run->id, err) : container_resume(run->store, run->id, err);
}

int container_run_quarantine(ContainerRun *run, const char *reason, ForgeError *err) {
        int r = container_quarantine(run->store, run->id, reason, err);

        if (r >= 0) {
                snprintf(run->quarantine_reason, sizeof run->quarantine_reason, "%s", reason);
                run->quarantined = true;
        }
        return r;
}

int container_run_release(ContainerRun *run, ForgeError *err) {
        int r;

        /* A quarantine the policy requested and the loop has not recorded yet is recorded first. */
        (void) container_run_process(run, -1);
        r = container_release(run->store, run->id, err);
        if (r >= 0) {
                run->quarantined = false;
                run->quarantine_reason[0] = 0;
        }
        return r;
}

const char *container_run_quarantine_reason(const ContainerRun *run) {
        if (!run->quarantined || container_run_quarantine_killed(run))
                return NULL;
        return run->quarantine_reason[0] ? run->quarantine_reason : "quarantined";
}

int container_run_is_frozen(ContainerRun *run) {
        return cgroup_is_frozen(run->cgroup);
}

int container_run_stop(ContainerRun *run, ForgeError *err) {
        _cleanup_(container_lock_releasep) ContainerLock *l = NULL;
        const char *why = NULL;
        bool quarantined;
        int r;

        r = container_store_lock(run->store, run->id, &l);
        if (r < 0)
                return forge_error_set(err, r, "cannot lock container %s: %m", run->id);
        if (l->record->state == CONTAINER_STOPPING)
                return 0;
        r = container_state_check_transition(l->record->state, CONTAINER_STOPPING, &why);
        if (r < 0)
                return forge_error_set(err, r, "container %s is %s: cannot stop it: %s", run->id,
                                       container_state_to_string(l->record->state), strempty(why));
        quarantined = l->record->state == CONTAINER_QUARANTINED;
        r = container_lock_transition(l, CONTAINER_STOPPING,
                                      quarantined ? "stop requested (quarantined: killed)" : "stop requested", -1, 0);
        if (r < 0)
                return forge_error_set(err, r, "container %s: cannot record the stop: %m", run->id);
        /* As container_stop(): signal, then thaw; a quarantined workload gets no grace period. The owner's
         * timer kills what is left after its timeout; the end is recorded when init is reaped. */
        (void) cgroup_signal_all(run->cgroup, quarantined ? SIGKILL : SIGTERM);
        (void) cgroup_set_frozen(run->cgroup, false, 0);
        return 0;
}

void container_run_workload(const ContainerRun *run, PolicyWorkload *ret) {
        *ret = (PolicyWorkload) { .name = run->name, .image_digest = run->image_digest, .labels = run->labels };
}

const char *container_run_cgroup_path(const ContainerRun *run) {
        return run->cgroup_v2_path;
}

int container_run_adopt(const char *state_dir, const char *id, int pidfd, ContainerRun **ret, ForgeError *err) {
        _cleanup_(container_run_freep) ContainerRun *run = NULL;
        _cleanup_(container_lock_releasep) ContainerLock *l = NULL;
        CgroupLayout layout;
        int r;

        run = calloc(1, sizeof *run);
        if (!run)
                return -ENOMEM;
        run->pidfd = run->root_fd = run->cgroup_fd = run->sync_fd = -EBADF;
        /* Until the record is ours, freeing it must not record anything. */
        run->recorded_end = true;
        run->adopted = true;
        r = container_store_open(state_dir, &run->store);
        if (r < 0)
                return forge_error_set(err, r, "cannot open the container state directory %s: %m",
                                       state_dir ?: CONTAINER_STORE_DEFAULT_ROOT);
        r = container_store_lock(run->store, id, &l);
        if (r < 0)
                return forge_error_set(err, r, "container %s: cannot lock its record: %m", id);
        if (container_state_is_final(l->record->state) || l->record->state == CONTAINER_CREATING)
                return forge_error_set(err, -ESTALE, "container %s is %s: nothing to take over", id,
                                       container_state_to_string(l->record->state));
        layout = cgroup_layout_from_string(l->record->cgroup_layout);
        if (layout < 0 || !l->record->cgroup_root || !l->record->rootfs)
                return forge_error_set(err, -EBADMSG, "container %s: its record names no cgroup or storage", id);
        r = cgroup_new(l->record->cgroup_root, layout, l->record->id, &run->cgroup);
        if (r < 0)
                return forge_error_set(err, r, "container %s: cgroup: %m", id);
        r = cgroup_controller_path(run->cgroup, "unified", &run->cgroup_v2_path);
        if (r < 0)
                return r;
        memcpy(run->id, l->record->id, sizeof run->id);
        run->storage = strdup(l->record->rootfs);
        run->image_digest = l->record->image_digest ? strdup(l->record->image_digest) : NULL;
        if (!run->storage || (l->record->image_digest && !run->image_digest) ||
            strv_copy(l->record->labels, &run->labels) < 0)
                return -ENOMEM;
        if (l->record->name && !streq(l->record->name, l->record->id) && !(run->name = strdup(l->record->name)))
                return -ENOMEM;
        run->pid = l->record->pid;
        run->priority = l->record->priority;
        run->trust = l->record->trust;
        run->trust_max = l->record->trust_max;
        run->weight = l->record->cpu_weight;
        if (l->record->state == CONTAINER_QUARANTINED) {
                run->quarantined = true;
                snprintf(run->quarantine_reason, sizeof run->quarantine_reason, "%s", strempty(l->record->reason));
        }
        run->pidfd = fcntl(pidfd, F_DUPFD_CLOEXEC, 3);
        if (run->pidfd < 0)
                return forge_error_set(err, negative_errno(), "cannot duplicate the pidfd of container %s: %m", id);

        /* Ours now: control from other processes checks the owner, and a dead owner's containers are
         * reaped by whoever lists them. */
        l->record->owner_pid = getpid();
        r = container_process_start_time(getpid(), &l->record->owner_start);
        if (r >= 0)
                r = container_lock_save(l);
        if (r < 0)
                return forge_error_set(err, r, "container %s: cannot record its new owner: %m", id);
        l = container_lock_release(l);
        container_store_set_event_callback(run->store, store_event, run);
        run->recorded_end = false;
        *ret = TAKE_PTR(run);
        return 0;
}

ContainerRun *container_run_free(ContainerRun *run) {
        if (!run)
                return NULL;
        if (!run->recorded_end) {
                siginfo_t si = {};

                if (run->pidfd >= 0) {
                        (void) syscall(SYS_pidfd_send_signal, run->pidfd, SIGKILL, NULL, 0);
                        (void) waitid((idtype_t) P_PIDFD, (id_t) run->pidfd, &si, WEXITED);
                }
                cleanup_run(run);
                if (run->store && run->id[0])
                        (void) record_transition(run, CONTAINER_FAILED,
                                                 run->failure[0] ? run->failure : "the container could not be started",
                                                 -1, 0);
        }
        rootfs_free(run->rootfs);
        cgroup_free(run->cgroup);
        strv_free(run->staged);
        free(run->storage);
        free(run->name);
        free(run->image_digest);
        strv_free(run->labels);
        free(run->cgroup_v2_path);
        free(run->supervisor_cpu_path);
        policy_graph_unref(run->graph);
        container_store_free(run->store);
        safe_close(run->pidfd);
        safe_close(run->root_fd);
        safe_close(run->cgroup_fd);
        safe_close(run->sync_fd);
        free(run);
        return NULL;
}
