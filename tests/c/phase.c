/* Multi-process phase test: PROCS forked processes meet at one barrier GENERATIONS times.
 *
 *   phase [counted|member] [procs] [generations]
 *
 * Checks, per generation: arrival indices are distinct and exactly one is 0 (the leader); after
 * a wait for generation g returns, every peer has published progress >= g (it arrived) and
 * <= g + 1 (it cannot have passed the next generation without us) - the memory-ordering
 * guarantee across processes; the barrier's generation advanced by exactly GENERATIONS. */
#define _GNU_SOURCE
#include "testutil.h"

#include <stdint.h>

#define MAX_PROCS 64

struct shared {
    uint64_t progress[MAX_PROCS]; /* written by its owner before each arrival */
    uint64_t payload[MAX_PROCS];  /* plain (non-atomic) data published through the barrier */
    uint32_t errors;
    /* then: per generation, a bitmask of arrival indices and a leader count */
};

/* Generation g of process me: publishes progress g, waits, and checks the arrival index (in
 * range, not given twice; a leader is counted) and that every peer published progress g or
 * g + 1. Returns 0, or 1 after saying what was wrong. */
static int generation(int me, int g, int procs, muster_barrier *barrier, struct shared *sh, uint64_t *masks,
                      uint32_t *leaders) {
    int idx, j;
    uint64_t bit, old;
    __atomic_store_n(&sh->progress[me], (uint64_t)g, __ATOMIC_RELAXED);
    idx = muster_barrier_wait(barrier);
    if (idx < 0 || idx >= procs) {
        fprintf(stderr, "proc %d gen %d: wait returned %d (%s)\n", me, g, idx, muster_strerror(idx));
        return 1;
    }
    bit = (uint64_t)1 << idx;
    old = __atomic_fetch_or(&masks[g], bit, __ATOMIC_RELAXED);
    if (old & bit) {
        fprintf(stderr, "proc %d gen %d: index %d given twice\n", me, g, idx);
        return 1;
    }
    if (idx == 0) {
        __atomic_fetch_add(&leaders[g], 1u, __ATOMIC_RELAXED);
    }
    for (j = 0; j < procs; j++) {
        uint64_t p = __atomic_load_n(&sh->progress[j], __ATOMIC_RELAXED);
        if (p < (uint64_t)g || p > (uint64_t)g + 1) {
            fprintf(stderr, "proc %d gen %d: peer %d published progress %llu\n", me, g, j,
                    (unsigned long long)p);
            return 1;
        }
    }
    return 0;
}

static int child(int me, int procs, int generations, int member, struct shared *sh, uint64_t *masks,
                 uint32_t *leaders) {
    muster_region *region = NULL;
    muster_barrier *barrier = NULL;
    muster_barrier *start = NULL;
    int g, j;

    OK(muster_region_open(test_region, &region));
    OK(muster_barrier_open(region, "phase", member ? 0 : (uint32_t)procs, &barrier));
    if (member) {
        /* Everyone enrolls before anyone waits on the membership barrier. */
        OK(muster_barrier_open(region, "start", (uint32_t)procs, &start));
        OK(muster_barrier_enroll(barrier));
        CHECK(muster_barrier_is_member(barrier) == 1);
        CHECK(muster_barrier_wait(start) >= 0);
        CHECK(muster_barrier_parties(barrier) == procs);
    }
    OK(muster_region_close(region)); /* the barrier handle keeps the mapping */

    for (g = 0; g < generations; g++) {
        sh->payload[me] = (uint64_t)g * 1000003u + (uint64_t)me;
        if (generation(me, g, procs, barrier, sh, masks, leaders) != 0) {
            return 1;
        }
        /* The peers' plain writes before generation g are visible; the second barrier keeps them
         * from overwriting payload before everyone has read it. */
        for (j = 0; j < procs; j++) {
            if (sh->payload[j] != (uint64_t)g * 1000003u + (uint64_t)j) {
                fprintf(stderr, "proc %d gen %d: peer %d payload not visible\n", me, g, j);
                return 1;
            }
        }
        g++;
        if (g == generations) {
            break;
        }
        /* Odd generations: no payload check (it would race with the next even write). */
        if (generation(me, g, procs, barrier, sh, masks, leaders) != 0) {
            return 1;
        }
    }
    OK(muster_barrier_close(barrier));
    OK(muster_barrier_close(start));
    return 0;
}

int main(int argc, char **argv) {
    int member = argc > 1 && strcmp(argv[1], "member") == 0;
    int procs = argc > 2 ? atoi(argv[2]) : 8;
    int generations = argc > 3 ? atoi(argv[3]) : 10000;
    muster_region *region = NULL;
    muster_barrier *barrier = NULL;
    muster_region_config cfg;
    uint64_t gen_before = 0, gen_after = 0;
    size_t bytes;
    struct shared *sh;
    uint64_t *masks;
    uint32_t *leaders;
    pid_t pids[MAX_PROCS];
    int i, g;

    CHECK(procs >= 1 && procs <= MAX_PROCS && generations >= 1);
    test_init(member ? "phase-member" : "phase-counted", 110);

    bytes = sizeof(struct shared) + (size_t)generations * (sizeof(uint64_t) + sizeof(uint32_t));
    sh = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(sh != MAP_FAILED);
    masks = (uint64_t *)(sh + 1);
    leaders = (uint32_t *)(masks + generations);

    OK(muster_region_config_init(&cfg));
    cfg.max_barriers = 8;
    cfg.max_processes = (uint32_t)procs + 4;
    OK(muster_region_create(test_region, &cfg, &region));
    OK(muster_barrier_open(region, "phase", member ? 0 : (uint32_t)procs, &barrier));
    OK(muster_barrier_generation(barrier, &gen_before));
    OK(muster_barrier_close(barrier));
    OK(muster_region_close(region));

    for (i = 0; i < procs; i++) {
        pids[i] = fork_child();
        if (pids[i] == 0) {
            exit(child(i, procs, generations, member, sh, masks, leaders));
        }
    }
    for (i = 0; i < procs; i++) {
        expect_child_ok(pids[i], "phase worker");
    }

    for (g = 0; g < generations; g++) {
        uint64_t want = procs == 64 ? ~(uint64_t)0 : (((uint64_t)1 << procs) - 1);
        if (leaders[g] != 1 || masks[g] != want) {
            fprintf(stderr, "generation %d: %u leaders, index mask 0x%llx\n", g, leaders[g],
                    (unsigned long long)masks[g]);
            return 1;
        }
    }
    OK(muster_region_open(test_region, &region));
    OK(muster_barrier_open(region, "phase", member ? 0 : (uint32_t)procs, &barrier));
    OK(muster_barrier_generation(barrier, &gen_after));
    CHECK(gen_after - gen_before == (uint64_t)generations);
    CHECK(muster_barrier_broken(barrier) == 0);
    CHECK(muster_barrier_waiting(barrier) == 0);
    if (member) {
        CHECK(muster_barrier_parties(barrier) == 0); /* everyone resigned by closing */
    }
    OK(muster_barrier_close(barrier));
    OK(muster_region_close(region));
    printf("phase %s: %d processes x %d generations ok\n", member ? "member" : "counted", procs, generations);
    return 0;
}
