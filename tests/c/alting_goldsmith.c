/* Goldsmith's challenge through the C API, across three forked processes: P offers the alting
 * barriers a and b, Q offers b and c, R offers c and a, each looping muster_alt_select(FAIR) with
 * a timeout until a shared stop flag is set. Every event is logged as (barrier, ticket) in a
 * MAP_SHARED page; the parent checks that both parties of every barrier saw the same tickets
 * 1, 2, ..., n, that no barrier starved and prints events/s. Starving is judged by liveness, not by
 * shares of a fixed run: the processes go on until every barrier fired at least EVENTS / 20 times
 * (three busy processes on two CPUs: the two sharing a CPU meet only while the third is off it, so
 * the scheduler decides how long that takes); a log that fills up first means starvation.
 *
 * Usage: alting_goldsmith [EVENTS]   (default 50000: stops once a process logged EVENTS events and
 * every barrier fired EVENTS / 20 times) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <stdint.h>

#define PROCS 3
#define SELECT_TIMEOUT_NS 50000000ll /* 50 ms: lets a process notice the stop flag */

static const char *const barrier_names[3] = {"a", "b", "c"};
/* (barrier, front-end index) offered by P, Q, R. */
static const uint32_t offers[PROCS][2][2] = {{{0, 0}, {1, 0}}, {{1, 1}, {2, 0}}, {{2, 1}, {0, 1}}};

/* shared.stop once done: bit p = both of process p's barriers fired often enough, bit 3 = some
 * process logged `rounds` events. */
#define ALL_DONE 0xfu

struct shared {
    uint32_t stop;
    volatile uint32_t ready;
    uint32_t count[PROCS];
    uint64_t elapsed_ns[PROCS];
    /* log[p][k] = barrier << 24 | ticket, stride entries per process, follows the struct. */
};

static void party(struct shared *sh, uint32_t *log, size_t stride, int me, uint32_t rounds, uint32_t min_per_barrier) {
    muster_region *r = NULL;
    muster_alting *fe[2] = {NULL, NULL};
    muster_alt *alt = NULL;
    uint32_t n = 0, ticket = 0, last[2] = {0, 0};
    int64_t t0;
    int g, i;

    /* Handles do not cross fork: this process opens the region itself. */
    OK(muster_region_open(test_region, &r));
    OK(muster_alt_create(&alt));
    for (i = 0; i < 2; i++) {
        OK(muster_alting_attach(r, barrier_names[offers[me][i][0]], offers[me][i][1], &fe[i]));
        EXPECT(muster_alt_add_alting(alt, fe[i]), i);
    }
    __atomic_add_fetch(&sh->ready, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&sh->ready, __ATOMIC_SEQ_CST) < PROCS) {
        sleep_ms(1);
    }
    t0 = now_ns();
    while (__atomic_load_n(&sh->stop, __ATOMIC_SEQ_CST) != ALL_DONE) {
        g = muster_alt_select(alt, MUSTER_SELECT_FAIR, SELECT_TIMEOUT_NS);
        if (g == MUSTER_ETIMEDOUT) {
            continue;
        }
        CHECK(g == 0 || g == 1);
        OK(muster_alt_ticket(alt, &ticket));
        CHECK(ticket > 0 && ticket < (1u << 24));
        if (n >= stride) {
            fprintf(stderr, "process %d: log full before every barrier fired %u times (%u, %u)\n", me,
                    min_per_barrier, last[0], last[1]);
            exit(1);
        }
        log[(size_t)me * stride + n] = (offers[me][g][0] << 24) | ticket;
        n++;
        __atomic_store_n(&sh->count[me], n, __ATOMIC_SEQ_CST);
        last[g] = ticket;
        if (last[0] >= min_per_barrier && last[1] >= min_per_barrier) {
            __atomic_fetch_or(&sh->stop, 1u << me, __ATOMIC_SEQ_CST);
        }
        if (n >= rounds) {
            __atomic_fetch_or(&sh->stop, 1u << 3, __ATOMIC_SEQ_CST);
        }
    }
    sh->elapsed_ns[me] = (uint64_t)(now_ns() - t0);
    OK(muster_alt_destroy(alt));
    OK(muster_alting_close(fe[0]));
    OK(muster_alting_close(fe[1]));
    OK(muster_region_close(r));
}

/* Checks the logs; returns the number of events (the smaller of the two parties' counts per
 * barrier, since a process may stop right after its partner logged the last event). */
static uint64_t check_logs(const struct shared *sh, const uint32_t *log, size_t stride, uint32_t min_per_barrier) {
    uint64_t per[3], total = 0, elapsed = 0;
    int b, p, i;

    for (b = 0; b < 3; b++) {
        uint32_t seen[2] = {0, 0};
        int side = 0;
        for (p = 0; p < PROCS; p++) {
            uint32_t k, next = 1;
            int offered = offers[p][0][0] == (uint32_t)b || offers[p][1][0] == (uint32_t)b;
            if (!offered) {
                continue;
            }
            for (k = 0; k < sh->count[p]; k++) {
                uint32_t w = log[(size_t)p * stride + k];
                if (w >> 24 != (uint32_t)b) {
                    continue;
                }
                if ((w & 0xffffff) != next) {
                    fprintf(stderr, "barrier %s: process %d logged ticket %u, expected %u\n", barrier_names[b], p,
                            w & 0xffffff, next);
                    exit(1);
                }
                next++;
            }
            seen[side++] = next - 1;
        }
        CHECK(side == 2);
        if (seen[0] > seen[1] + 1 || seen[1] > seen[0] + 1) {
            fprintf(stderr, "barrier %s: the parties saw %u and %u events\n", barrier_names[b], seen[0], seen[1]);
            exit(1);
        }
        per[b] = seen[0] < seen[1] ? seen[0] : seen[1];
        total += per[b];
    }
    for (i = 0; i < PROCS; i++) {
        elapsed = sh->elapsed_ns[i] > elapsed ? sh->elapsed_ns[i] : elapsed;
    }
    for (b = 0; b < 3; b++) {
        if (per[b] + 1 < min_per_barrier) {
            fprintf(stderr, "barrier %s starved: %llu of %llu events\n", barrier_names[b],
                    (unsigned long long)per[b], (unsigned long long)total);
            exit(1);
        }
    }
    printf("alting_goldsmith: %llu events in %.3f s = %.0f events/s through the C API; a %llu, b %llu, c %llu\n",
           (unsigned long long)total, (double)elapsed / 1e9, (double)total / ((double)elapsed / 1e9),
           (unsigned long long)per[0], (unsigned long long)per[1], (unsigned long long)per[2]);
    return total;
}

int main(int argc, char **argv) {
    uint32_t rounds = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 50000u;
    uint32_t min_per_barrier = rounds / 20;
    size_t stride = 4 * (size_t)rounds + 16, bytes;
    muster_region *r = NULL;
    struct shared *sh;
    uint32_t *log;
    pid_t pids[PROCS];
    int p;

    CHECK(rounds > 0 && rounds < (1u << 24));
    test_init("goldsmith", 110);
    bytes = sizeof(struct shared) + (size_t)PROCS * stride * sizeof(uint32_t);
    sh = (struct shared *)mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(sh != MAP_FAILED);
    memset(sh, 0, sizeof *sh);
    log = (uint32_t *)(void *)(sh + 1);

    OK(muster_region_create(test_region, NULL, &r));
    for (p = 0; p < 3; p++) {
        OK(muster_alting_create(r, barrier_names[p], 2));
    }
    for (p = 0; p < PROCS; p++) {
        pids[p] = fork_child();
        if (pids[p] == 0) {
            party(sh, log, stride, p, rounds, min_per_barrier);
            exit(0);
        }
    }
    for (p = 0; p < PROCS; p++) {
        expect_child_ok(pids[p], "goldsmith party");
    }
    CHECK(check_logs(sh, log, stride, min_per_barrier) + 2 >= rounds);
    OK(muster_region_close(r));
    CHECK(munmap(sh, bytes) == 0);
    return 0;
}
