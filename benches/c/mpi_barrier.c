/* Open MPI baseline for muster-bench: PARTIES ranks (mpirun -np PARTIES) meet at MPI_Barrier.
 * Same steps, episode loop and phases as benches/src/worker.rs, but the time budget is applied
 * up front: at the start of each repetition rank 0 times a short probe and broadcasts how many
 * episodes fit the budget (MPI gives no ordering guarantee for plain stores to a shared file, so
 * the in-loop stop flag is not used).
 * Build: mpicc -O2 -o mpi_barrier mpi_barrier.c */
#include "bench_common.h"
#include <mpi.h>
#include <string.h>

/* Every rank runs PROBE episodes (the same count: no early exit in MPI); rank 0 times them and
 * broadcasts how many episodes fit half a repetition's budget (at least 1, at most EPISODES). */
#define PROBE 32
static unsigned long long fit_episodes(struct bench_args *a, int rank, uint64_t *rng) {
    uint64_t probe = a->episodes < PROBE ? a->episodes : PROBE;
    uint64_t w0 = ticks();
    for (uint64_t i = 0; i < probe; i++) {
        if (a->work_max) busy(rng_next(rng) % (a->work_max + 1));
        MPI_Barrier(MPI_COMM_WORLD);
    }
    uint64_t per = (ticks() - w0) / (probe ? probe : 1) + 1;
    unsigned long long n = a->episodes;
    uint64_t fit = a->budget_ticks / 2 / per;
    if (rank == 0 && fit < n) n = fit > 0 ? fit : 1;
    MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
    return n;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    struct bench_args a;
    parse_args(argc, argv, &a);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if ((uint64_t)size != a.parties) {
        if (rank == 0) fprintf(stderr, "mpi: %d ranks, wanted %llu\n", size, (unsigned long long)a.parties);
        MPI_Abort(MPI_COMM_WORLD, 3);
    }
    uint64_t id = (uint64_t)rank;
    uint64_t rng = rng_seed(a.seed, id);
    for (uint64_t rep = 0; rep < a.reps; rep++) memset(ts_area(&a, id, rep), 0, a.lat_cap * 16);

    /* Step 0 (warm-up and probe). A quit is seen by every rank alike (the gate word stays). */
    if (!gate_enter(&a, 0)) {
        MPI_Finalize();
        return 0;
    }
    /* Step 0: warm-up (connections, caches). */
    uint64_t warm = a.episodes < 200 ? a.episodes : 200;
    MPI_Barrier(MPI_COMM_WORLD);
    for (uint64_t i = 0; i < warm; i++) MPI_Barrier(MPI_COMM_WORLD);
    gate_leave(&a, 0);

    for (uint64_t rep = 0; rep < a.reps; rep++) {
        if (!gate_enter(&a, (uint32_t)(1 + rep))) break;
        /* Rank 0 times a short probe and decides how many episodes per phase fit half a
         * repetition's budget; done per repetition, since the machine's load (hogs, other
         * systems' leftovers) can change between them. */
        unsigned long long n = fit_episodes(&a, rank, &rng);
        unsigned long long nl = n < a.lat_cap ? n : a.lat_cap;
        MPI_Barrier(MPI_COMM_WORLD);
        uint64_t cpu0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
        uint64_t t0 = ticks();
        for (uint64_t e = 0; e < n; e++) {
            if (a.work_max) busy(rng_next(&rng) % (a.work_max + 1));
            MPI_Barrier(MPI_COMM_WORLD);
        }
        uint64_t t1 = ticks();
        uint64_t cpu = cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
        uint64_t *ts = ts_area(&a, id, rep);
        MPI_Barrier(MPI_COMM_WORLD);
        for (uint64_t e = 0; e < nl; e++) {
            if (a.work_max) busy(rng_next(&rng) % (a.work_max + 1));
            uint64_t entry = ticks();
            MPI_Barrier(MPI_COMM_WORLD);
            uint64_t exit_ = ticks();
            ts[2 * e] = entry;
            ts[2 * e + 1] = exit_;
        }
        struct rep_result r = {n, t0, t1, cpu, nl};
        set_result(&a, rep, id, r);
        gate_leave(&a, (uint32_t)(1 + rep));
    }
    MPI_Finalize();
    return 0;
}
