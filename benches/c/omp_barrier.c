/* OpenMP baseline for muster-bench: PARTIES threads meet at `#pragma omp barrier` with the
 * runtime's default wait policy. Same steps, episode loop, phases and time-budget protocol as
 * benches/src/worker.rs (run_episodes); step 0 is a warm-up (no validation: OpenMP's barrier is
 * not in doubt).
 * Build: gcc -fopenmp -O2 -o omp_barrier omp_barrier.c                      (GCC's libgomp)
 *        clang -fopenmp -O2 -DEXPECT_LIBOMP -o libomp_barrier omp_barrier.c  (LLVM's libomp) */
#include "bench_common.h"
#include <dlfcn.h>
#include <omp.h>
#include <string.h>

#define WARM_EPISODES 500

#define MAX_REPS 64

int main(int argc, char **argv) {
    struct bench_args a;
    parse_args(argc, argv, &a);
    if (a.reps > MAX_REPS) return 2;
    /* libomp exports the __kmpc_* entry points, libgomp does not: make sure the build picked the
     * runtime this row is named after. */
    int is_libomp = dlsym(RTLD_DEFAULT, "__kmpc_barrier") != NULL;
#ifdef EXPECT_LIBOMP
    if (!is_libomp) {
        fprintf(stderr, "omp: built for libomp but not linked to it\n");
        return 4;
    }
#else
    if (is_libomp) {
        fprintf(stderr, "omp: built for libgomp but linked to libomp\n");
        return 4;
    }
#endif
    uint64_t stop[2 * MAX_REPS + 1];
    for (int i = 0; i < 2 * MAX_REPS + 1; i++) stop[i] = UINT64_MAX;
    uint64_t budget = a.budget_ticks / 2;
    int got = 0;
    omp_set_dynamic(0);
#pragma omp parallel num_threads((int)a.parties) shared(stop, got)
    {
        uint64_t id = (uint64_t)omp_get_thread_num();
        if (id == 0) got = omp_get_num_threads();
        uint64_t rng = rng_seed(a.seed, id);
        for (uint64_t rep = 0; rep < a.reps; rep++) memset(ts_area(&a, id, rep), 0, a.lat_cap * 16);
        int go = gate_enter(&a, 0);
        if (go) {
            /* Step 0: warm-up, up to WARM_EPISODES or half a repetition's budget. */
            uint64_t *st = &stop[2 * MAX_REPS];
            struct budget_check c = {0};
#pragma omp barrier
            uint64_t w0 = ticks();
            for (uint64_t e = 0; e < WARM_EPISODES && e < a.episodes; e++) {
                if (id == 0 && budget_exceeded(&c, e, w0, budget) && __atomic_load_n(st, __ATOMIC_RELAXED) == UINT64_MAX)
                    __atomic_store_n(st, e, __ATOMIC_RELEASE);
#pragma omp barrier
                if (__atomic_load_n(st, __ATOMIC_ACQUIRE) == e) break;
            }
            gate_leave(&a, 0);
        }
        for (uint64_t rep = 0; go && rep < a.reps; rep++) {
            if (!gate_enter(&a, (uint32_t)(1 + rep))) break;
            /* Phase 0: throughput. */
            uint64_t *st = &stop[2 * rep];
            struct budget_check c = {0};
#pragma omp barrier
            uint64_t cpu0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
            uint64_t t0 = ticks(), done = 0;
            for (uint64_t e = 0; e < a.episodes; e++) {
                if (a.work_max) busy(rng_next(&rng) % (a.work_max + 1));
                if (id == 0 && budget_exceeded(&c, e, t0, budget) && __atomic_load_n(st, __ATOMIC_RELAXED) == UINT64_MAX)
                    __atomic_store_n(st, e, __ATOMIC_RELEASE);
#pragma omp barrier
                done = e + 1;
                if (__atomic_load_n(st, __ATOMIC_ACQUIRE) == e) break;
            }
            uint64_t t1 = ticks();
            uint64_t cpu = cpu_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
            /* Phase 1: latency. */
            uint64_t *ts = ts_area(&a, id, rep);
            st = &stop[2 * rep + 1];
            struct budget_check c1 = {0};
#pragma omp barrier
            uint64_t l0 = ticks(), lat_done = 0;
            for (uint64_t e = 0; e < a.lat_cap; e++) {
                if (a.work_max) busy(rng_next(&rng) % (a.work_max + 1));
                uint64_t entry = ticks();
                if (id == 0 && budget_exceeded(&c1, e, l0, budget) && __atomic_load_n(st, __ATOMIC_RELAXED) == UINT64_MAX)
                    __atomic_store_n(st, e, __ATOMIC_RELEASE);
#pragma omp barrier
                uint64_t exit_ = ticks();
                ts[2 * e] = entry;
                ts[2 * e + 1] = exit_;
                lat_done = e + 1;
                if (__atomic_load_n(st, __ATOMIC_ACQUIRE) == e) break;
            }
            struct rep_result r = {done, t0, t1, cpu, lat_done};
            set_result(&a, rep, id, r);
            gate_leave(&a, (uint32_t)(1 + rep));
        }
    }
    if ((uint64_t)got != a.parties) {
        fprintf(stderr, "omp: got %d threads, wanted %llu\n", got, (unsigned long long)a.parties);
        return 3;
    }
    return 0;
}
