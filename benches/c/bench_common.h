/* Shared by the C helpers of muster-bench: the tick clock, CPU time, the work generator and loop,
 * and the control-file layout. Must match benches/src/clock.rs and benches/src/ctl.rs; the harness
 * passes the layout offsets on the command line.
 *
 * Command line of every helper:
 *   HELPER CTL_PATH PARTIES REPS EPISODES BUDGET_TICKS WORK_MAX_ITERS SEED RESULTS_OFF TS_OFF MAX_N
 */
#ifndef MUSTER_BENCH_COMMON_H
#define MUSTER_BENCH_COMMON_H

#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

/* One worker's repetition: throughput phase (episodes, t0, t1, cpu_ns) and latency phase. */
struct rep_result {
    uint64_t episodes, t0, t1, cpu_ns, lat_episodes;
};

struct bench_args {
    const char *path;
    uint64_t parties, reps, episodes, budget_ticks, work_max, seed, results_off, ts_off, max_n;
    unsigned char *base;
};

/* lfence first: a timestamp after a spin loop must not be read before the load that ended it. */
static inline uint64_t ticks(void) {
#if defined(__x86_64__)
    _mm_lfence();
    return __rdtsc();
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
#endif
}

/* CPU time of this thread (CLOCK_THREAD_CPUTIME_ID) or process (CLOCK_PROCESS_CPUTIME_ID). */
static inline uint64_t cpu_ns(clockid_t which) {
    struct timespec ts;
    clock_gettime(which, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Worker 0's time-budget check, about every 20 us of run time (see BudgetCheck in worker.rs). */
struct budget_check {
    uint64_t next;
};

static inline int budget_exceeded(struct budget_check *c, uint64_t e, uint64_t t0, uint64_t budget) {
    if (e < c->next) return 0;
    if (e == 0) {
        c->next = 1;
        return 0;
    }
    uint64_t el = ticks() - t0;
    if (el > budget) return 1;
    uint64_t per = el / e;
    uint64_t stride = 60000 / (per ? per : 1);
    c->next = e + (stride < 1 ? 1 : stride > 64 ? 64 : stride);
    return 0;
}

static inline uint64_t rng_seed(uint64_t seed, uint64_t id) {
    return (seed ^ ((id + 1) * 0x9E3779B97F4A7C15ull)) | 1;
}

static inline uint64_t rng_next(uint64_t *s) {
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static __attribute__((noinline)) uint64_t busy(uint64_t iters) {
    uint64_t x = iters;
    for (uint64_t i = 0; i < iters; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        __asm__ volatile("" : "+r"(x));
    }
    return x;
}

static void parse_args(int argc, char **argv, struct bench_args *a) {
    if (argc != 11) {
        fprintf(stderr, "usage: %s CTL_PATH PARTIES REPS EPISODES BUDGET_TICKS WORK_MAX SEED RESULTS_OFF TS_OFF MAX_N\n",
                argv[0]);
        exit(2);
    }
    a->path = argv[1];
    uint64_t *f[] = {&a->parties, &a->reps, &a->episodes, &a->budget_ticks, &a->work_max,
                     &a->seed, &a->results_off, &a->ts_off, &a->max_n};
    for (int i = 0; i < 9; i++) *f[i] = strtoull(argv[i + 2], NULL, 10);
    int fd = open(a->path, O_RDWR);
    if (fd < 0) {
        perror("open control file");
        exit(2);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        perror("fstat");
        exit(2);
    }
    uint64_t need = a->ts_off + a->parties * a->reps * a->episodes * 16;
    if ((uint64_t)st.st_size < need) {
        fprintf(stderr, "control file too small\n");
        exit(2);
    }
    void *p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    close(fd);
    a->base = p;
}

static inline uint64_t *ts_area(struct bench_args *a, uint64_t worker, uint64_t rep) {
    return (uint64_t *)(a->base + a->ts_off + ((worker * a->reps + rep) * a->episodes) * 16);
}

static inline void set_result(struct bench_args *a, uint64_t rep, uint64_t worker, struct rep_result r) {
    struct rep_result *t = (struct rep_result *)(a->base + a->results_off);
    t[rep * a->max_n + worker] = r;
}

#endif
