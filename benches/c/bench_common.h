/* Shared by the C helpers of muster-bench: the tick clock, CPU time, the work generator and loop,
 * and the control-file layout. Must match benches/src/clock.rs and benches/src/ctl.rs; the harness
 * passes the layout offsets on the command line.
 *
 * Command line of every helper:
 *   HELPER CTL_PATH PARTIES REPS EPISODES BUDGET_TICKS WORK_MAX_ITERS SEED RESULTS_OFF TS_OFF MAX_N
 *          LAT_CAP GATE_OFF DONE_OFF
 *
 * Steps (see benches/src/ctl.rs and gate.rs): step 0 is validation / warm-up, step 1 + r is
 * repetition r; before step s every thread / rank waits (futex) until the gate word exceeds s,
 * after it adds one to the done word and wakes the harness when done reaches PARTIES * (s + 1).
 * A gate of UINT32_MAX means leave.
 */
#ifndef MUSTER_BENCH_COMMON_H
#define MUSTER_BENCH_COMMON_H

#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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
    uint64_t lat_cap, gate_off, done_off;
    unsigned char *base;
    pid_t parent;
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
    if (argc != 14) {
        fprintf(stderr,
                "usage: %s CTL_PATH PARTIES REPS EPISODES BUDGET_TICKS WORK_MAX SEED RESULTS_OFF TS_OFF MAX_N "
                "LAT_CAP GATE_OFF DONE_OFF\n",
                argv[0]);
        exit(2);
    }
    a->path = argv[1];
    uint64_t *f[] = {&a->parties, &a->reps, &a->episodes, &a->budget_ticks, &a->work_max, &a->seed,
                     &a->results_off, &a->ts_off, &a->max_n, &a->lat_cap, &a->gate_off, &a->done_off};
    for (int i = 0; i < 12; i++) *f[i] = strtoull(argv[i + 2], NULL, 10);
    a->parent = getppid();
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
    uint64_t need = a->ts_off + a->parties * a->reps * a->lat_cap * 16;
    if (a->lat_cap > a->episodes || a->gate_off + 4 > a->results_off || a->done_off + 4 > a->results_off) {
        fprintf(stderr, "bad layout arguments\n");
        exit(2);
    }
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
    return (uint64_t *)(a->base + a->ts_off + ((worker * a->reps + rep) * a->lat_cap) * 16);
}

static inline uint32_t *gate_word(struct bench_args *a) { return (uint32_t *)(a->base + a->gate_off); }
static inline uint32_t *done_word(struct bench_args *a) { return (uint32_t *)(a->base + a->done_off); }

/* Waits until step `step` may run; 0: leave (the harness said quit). Exits if our parent is gone. */
static int gate_enter(struct bench_args *a, uint32_t step) {
    uint32_t *g = gate_word(a);
    for (;;) {
        uint32_t v = __atomic_load_n(g, __ATOMIC_ACQUIRE);
        if (v == UINT32_MAX) return 0;
        if (getppid() != a->parent) _exit(3); /* every thread must leave alike: leave at once */
        if (v > step) return 1;
        struct timespec ts = {0, 200 * 1000 * 1000};
        syscall(SYS_futex, g, FUTEX_WAIT, v, &ts, NULL, 0);
    }
}

static void gate_leave(struct bench_args *a, uint32_t step) {
    uint32_t *d = done_word(a);
    uint32_t now = __atomic_add_fetch(d, 1, __ATOMIC_ACQ_REL);
    if (now == (uint32_t)a->parties * (step + 1)) syscall(SYS_futex, d, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

static inline void set_result(struct bench_args *a, uint64_t rep, uint64_t worker, struct rep_result r) {
    struct rep_result *t = (struct rep_result *)(a->base + a->results_off);
    t[rep * a->max_n + worker] = r;
}

#endif
