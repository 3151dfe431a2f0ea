/* Shared helpers of the C client tests (tests/ffi_clients.rs compiles and runs them). */
#ifndef MUSTER_TESTUTIL_H
#define MUSTER_TESTUTIL_H

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <muster.h>

/* A region name unique to this test program and process. */
static char test_region[128];
static pid_t test_owner;
static unsigned test_alarm;

static inline void test_cleanup(void) {
    if (test_region[0] != '\0' && getpid() == test_owner) {
        (void)muster_region_unlink(test_region);
    }
}

static inline void test_fail_report(const char *file, int line, const char *expr, int rc, int want) {
    char msg[256];
    msg[0] = '\0';
    (void)muster_last_error_message(msg, sizeof msg);
    fprintf(stderr, "%s:%d: %s returned %d (%s; last error: %s), want %d (%s)\n", file, line, expr, rc,
            muster_strerror(rc), msg, want, muster_strerror(want));
}

/* Fails the test (exit 1) if `cond` is false. */
#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

/* Fails the test unless `expr` returns exactly `want`. */
#define EXPECT(expr, want)                                             \
    do {                                                               \
        int rc_ = (expr);                                              \
        if (rc_ != (want)) {                                           \
            test_fail_report(__FILE__, __LINE__, #expr, rc_, (want));  \
            exit(1);                                                   \
        }                                                              \
    } while (0)

#define OK(expr) EXPECT(expr, MUSTER_OK)

/* Sets up the watchdog (the process, and each child from fork_child, dies by SIGALRM after
 * `seconds`), the unique region name
 * and the unlink-at-exit. */
static inline void test_init(const char *tag, unsigned seconds) {
    test_alarm = seconds;
    alarm(seconds);
    test_owner = getpid();
    snprintf(test_region, sizeof test_region, "muster-ctest-%s-%ld", tag, (long)getpid());
    (void)muster_region_unlink(test_region);
    atexit(test_cleanup);
}

/* CLOCK_MONOTONIC in nanoseconds (the clock Muster's deadlines use). */
static inline int64_t now_ns(void) {
    struct timespec ts;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static inline void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Polls until `expr` is true (checking every millisecond); fails after ~20 s. */
#define WAIT_FOR(expr)                                                               \
    do {                                                                             \
        int n_ = 0;                                                                  \
        while (!(expr)) {                                                            \
            if (++n_ > 20000) {                                                      \
                fprintf(stderr, "%s:%d: timed out waiting for %s\n", __FILE__, __LINE__, #expr); \
                exit(1);                                                             \
            }                                                                        \
            sleep_ms(1);                                                             \
        }                                                                            \
    } while (0)

/* Waits for child `pid` and fails unless it exited with status 0. */
static inline void expect_child_ok(pid_t pid, const char *what) {
    int status = 0;
    pid_t r;
    do {
        r = waitpid(pid, &status, 0);
    } while (r < 0 && errno == EINTR);
    if (r != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "child %s (pid %ld) failed: status 0x%x\n", what, (long)pid, status);
        exit(1);
    }
}

/* Forks (flushing stdio first). The child's exit does not unlink the parent's region. The child
 * must not use the parent's handles: it opens the region again. */
static inline pid_t fork_child(void) {
    pid_t pid;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        alarm(test_alarm); /* the watchdog is not inherited across fork */
    }
    return pid;
}

/* Opens the test region (again: a forked child must not use the parent's handles). */
static inline void open_test_region(muster_region **r) {
    OK(muster_region_open(test_region, r));
}

/* In a forked child: opens the test region again and the barrier `name` in it (the child must
 * not use the parent's handles). */
static inline muster_barrier *child_barrier(const char *name, uint32_t parties) {
    muster_region *cr = NULL;
    muster_barrier *cb = NULL;
    OK(muster_region_open(test_region, &cr));
    OK(muster_barrier_open(cr, name, parties, &cb));
    OK(muster_region_close(cr));
    return cb;
}

#endif /* MUSTER_TESTUTIL_H */
