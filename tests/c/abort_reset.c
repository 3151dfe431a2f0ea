/* abort and reset, locally and across processes, and a member process that dies while the
 * others wait (MUSTER_EPEERDIED with the dead peer's pid). */
#define _GNU_SOURCE
#include "testutil.h"

#include <stdint.h>

static void local(muster_region *r) {
    muster_barrier *b = NULL;
    uint64_t g0 = 0, g1 = 0;

    OK(muster_barrier_open(r, "local", 1, &b));
    OK(muster_barrier_generation(b, &g0));
    OK(muster_barrier_abort(b));
    CHECK(muster_barrier_broken(b) == 1);
    OK(muster_barrier_abort(b)); /* idempotent */
    EXPECT(muster_barrier_wait(b), MUSTER_EBROKEN);
    EXPECT(muster_barrier_wait_timeout(b, 1000000), MUSTER_EBROKEN);
    OK(muster_barrier_reset(b));
    CHECK(muster_barrier_broken(b) == 0);
    OK(muster_barrier_generation(b, &g1));
    CHECK(g1 != g0);
    EXPECT(muster_barrier_wait(b), 0);
    OK(muster_barrier_reset(b)); /* resetting an idle, healthy barrier is harmless */
    EXPECT(muster_barrier_wait(b), 0);
    OK(muster_barrier_close(b));
}

/* A child waits at a 2-party barrier; the parent breaks the generation with `op`. */
static void remote(muster_region *r, const char *name, int (*op)(muster_barrier *)) {
    muster_barrier *b = NULL;
    pid_t pid;
    int i;

    OK(muster_barrier_open(r, name, 2, &b));
    pid = fork_child();
    if (pid == 0) {
        muster_barrier *cb = child_barrier(name, 2);
        int rc = muster_barrier_wait(cb);
        if (rc != MUSTER_EBROKEN) {
            fprintf(stderr, "child: wait returned %d, want EBROKEN\n", rc);
            exit(1);
        }
        /* After reset: a healthy barrier again, 50 full generations with the parent. */
        while (muster_barrier_broken(cb) == 1) {
            sleep_ms(1);
        }
        for (i = 0; i < 50; i++) {
            rc = muster_barrier_wait(cb);
            if (rc != 0 && rc != 1) {
                fprintf(stderr, "child: wait %d returned %d\n", i, rc);
                exit(1);
            }
        }
        exit(0);
    }
    WAIT_FOR(muster_barrier_waiting(b) == 1);
    OK(op(b));
    if (op == muster_barrier_abort) {
        CHECK(muster_barrier_broken(b) == 1);
        EXPECT(muster_barrier_wait(b), MUSTER_EBROKEN);
        OK(muster_barrier_reset(b));
    }
    CHECK(muster_barrier_broken(b) == 0);
    CHECK(muster_barrier_waiting(b) == 0);
    for (i = 0; i < 50; i++) {
        int rc = muster_barrier_wait(b);
        CHECK(rc == 0 || rc == 1);
    }
    expect_child_ok(pid, name);
    OK(muster_barrier_close(b));
}

/* A member process dies (SIGKILL) without arriving: the waiting member gets EPEERDIED with the
 * dead pid, the barrier stays broken until reset, and the dead member is no longer counted. */
static void peer_death(muster_region *r) {
    muster_barrier *m = NULL, *go = NULL;
    pid_t pid;
    int status = 0;

    OK(muster_barrier_open(r, "crew", 0, &m));
    OK(muster_barrier_open(r, "crew-go", 2, &go));
    OK(muster_barrier_enroll(m));
    pid = fork_child();
    if (pid == 0) {
        muster_barrier *cm = child_barrier("crew", 0);
        muster_barrier *cgo = child_barrier("crew-go", 2);
        OK(muster_barrier_enroll(cm));
        CHECK(muster_barrier_wait(cgo) >= 0);
        for (;;) {
            pause(); /* killed by the parent */
        }
    }
    CHECK(muster_barrier_wait(go) >= 0);
    CHECK(muster_barrier_parties(m) == 2);
    CHECK(kill(pid, SIGKILL) == 0);
    EXPECT(muster_barrier_wait(m), MUSTER_EPEERDIED);
    CHECK(muster_last_peer_pid() == (int)pid);
    CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status));
    CHECK(muster_barrier_broken(m) == 1);
    EXPECT(muster_barrier_wait(m), MUSTER_EPEERDIED);
    OK(muster_barrier_reset(m));
    CHECK(muster_barrier_parties(m) == 1);
    CHECK(muster_barrier_is_member(m) == 1);
    EXPECT(muster_barrier_wait(m), 0);
    OK(muster_barrier_close(go));
    OK(muster_barrier_close(m));
}

int main(void) {
    muster_region *r = NULL;
    test_init("abort", 110);
    OK(muster_region_create(test_region, NULL, &r));
    local(r);
    remote(r, "aborted", muster_barrier_abort);
    remote(r, "reset", muster_barrier_reset);
    peer_death(r);
    OK(muster_region_close(r));
    printf("abort_reset: ok\n");
    return 0;
}
