/* A program that only uses the region and barrier API, run on several simulated hosts at once
 * (ffi/tests/cluster.rs starts it; libmuster built with the `cluster` feature): its membership
 * barrier spans the hosts because the region is opened with a cluster, given either in the
 * config (`cluster_endpoints`, `host_id`, `lease_ms`) or by the environment (`MUSTER_CLUSTER`,
 * `MUSTER_HOST_ID`) with a NULL config. Nothing in the wait loop knows about hosts.
 *
 * usage: cluster REGION GENS INDEX TOTAL PROGRESS_FILE fields ENDPOINTS HOST_ID
 *        cluster REGION GENS INDEX TOTAL PROGRESS_FILE env
 *
 * Phase invariant, checked through PROGRESS_FILE (TOTAL shared 64-bit counters, one per
 * process, on every simulated host): before waiting in generation g a process stores g in its
 * counter; after the wait returns every counter must be g or g + 1 (everyone arrived at g;
 * nobody can be past g + 1 before this process arrives there).
 * Odd generations use muster_barrier_wait, even ones muster_barrier_arrive + _await.
 * Everyone prints "ready" once enrolled and waits for "go" on stdin before the first wait.
 * Prints "ok GENS" and exits 0 on success. */
#define _GNU_SOURCE
#include "testutil.h"

static uint64_t *map_progress(const char *path, long total) {
    int fd = open(path, O_RDWR | O_CREAT, 0600);
    void *p;
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, (off_t)(total * 8)) == 0);
    p = mmap(NULL, (size_t)(total * 8), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    close(fd);
    return (uint64_t *)p;
}

int main(int argc, char **argv) {
    muster_region_config cfg;
    muster_region *r = NULL;
    muster_barrier *b = NULL;
    muster_barrier *counted = NULL;
    uint64_t *progress;
    uint64_t ticket = 0;
    long gens, index, total, g, i;
    int env_mode;

    alarm(120);
    CHECK(argc >= 7);
    gens = atol(argv[2]);
    index = atol(argv[3]);
    total = atol(argv[4]);
    CHECK(gens > 0 && total > 0 && index >= 0 && index < total);
    env_mode = strcmp(argv[6], "env") == 0;
    progress = map_progress(argv[5], total);

    if (env_mode) {
        OK(muster_region_open_or_create(argv[1], NULL, &r));
    } else {
        CHECK(argc == 9);
        OK(muster_region_config_init(&cfg));
        /* Malformed cluster fields are refused before anything is created. */
        cfg.cluster_endpoints = "no-port-here";
        EXPECT(muster_region_open_or_create(argv[1], &cfg, &r), MUSTER_EINVAL);
        cfg.cluster_endpoints = argv[7];
        cfg.host_id = "bad/host";
        EXPECT(muster_region_open_or_create(argv[1], &cfg, &r), MUSTER_EINVAL);
        cfg.host_id = argv[8];
        cfg.lease_ms = 2000;
        OK(muster_region_open_or_create(argv[1], &cfg, &r));
    }

    /* Counted barriers do not span hosts; a cluster region says so instead of staying local. */
    EXPECT(muster_barrier_open(r, "counted", 2, &counted), MUSTER_EINVAL);
    OK(muster_barrier_open(r, "phase", 0, &b));
    OK(muster_region_close(r));
    OK(muster_barrier_enroll(b));
    EXPECT(muster_barrier_is_member(b), 1);
    EXPECT(muster_barrier_is_complete(b, 1), MUSTER_EMISUSE);
    printf("ready\n");
    fflush(stdout);
    /* Everyone enrolls before anyone waits (the driver writes "go" once all are ready): a member
     * alone in the barrier would otherwise complete generations by itself. */
    {
        char line[16];
        CHECK(fgets(line, sizeof line, stdin) != NULL && strncmp(line, "go", 2) == 0);
    }

    for (g = 1; g <= gens; g++) {
        int rc;
        __atomic_store_n(&progress[index], (uint64_t)g, __ATOMIC_SEQ_CST);
        if (g % 2 == 0) {
            /* Even generations in split phase: arrive, then await. */
            rc = muster_barrier_arrive(b, &ticket);
            if (rc >= 0 && g == 2) {
                uint64_t other = 0;
                EXPECT(muster_barrier_arrive(b, &other), MUSTER_EMISUSE); /* one pending arrival */
                EXPECT(muster_barrier_await(b, ticket ^ 1, 0), MUSTER_EINVAL);
            }
            if (rc >= 0) {
                rc = muster_barrier_await(b, ticket, UINT64_MAX);
            }
        } else {
            rc = muster_barrier_wait(b);
        }
        if (rc < 0) {
            test_fail_report(__FILE__, __LINE__, "wait or arrive/await", rc, 0);
            return 1;
        }
        for (i = 0; i < total; i++) {
            uint64_t v = __atomic_load_n(&progress[i], __ATOMIC_SEQ_CST);
            if (v != (uint64_t)g && v != (uint64_t)g + 1) {
                fprintf(stderr, "process %ld passed generation %ld while process %ld is at %llu\n", index, g, i,
                        (unsigned long long)v);
                return 1;
            }
        }
    }
    EXPECT(muster_barrier_broken(b), 0);
    OK(muster_barrier_resign(b));
    EXPECT(muster_barrier_is_member(b), 0);
    EXPECT(muster_barrier_wait(b), MUSTER_ECANCELLED);
    OK(muster_barrier_close(b));
    printf("ok %ld\n", gens);
    return 0;
}
