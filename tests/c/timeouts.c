/* Timed waits: a timed-out non-member breaks the barrier (for waiters in other processes too);
 * a timed-out member is resigned (ETIMEDOUT, then ECANCELLED until it enrolls again) and the
 * others carry on without it. */
#define _GNU_SOURCE
#include "testutil.h"

#include <stdint.h>

#define MS 1000000ull

static void non_member_timeouts(muster_region *r) {
    muster_barrier *b = NULL, *one = NULL, *three = NULL;
    pid_t pid;

    OK(muster_barrier_open(r, "nm", 2, &b));
    /* Alone at a 2-party barrier: times out and breaks it. */
    EXPECT(muster_barrier_wait_timeout(b, 30 * MS), MUSTER_ETIMEDOUT);
    CHECK(muster_barrier_broken(b) == 1);
    EXPECT(muster_barrier_wait_timeout(b, 30 * MS), MUSTER_EBROKEN);
    EXPECT(muster_barrier_wait(b), MUSTER_EBROKEN);
    OK(muster_barrier_reset(b));
    CHECK(muster_barrier_broken(b) == 0);
    /* A zero timeout is a poll: it times out unless it completes the generation. */
    EXPECT(muster_barrier_wait_timeout(b, 0), MUSTER_ETIMEDOUT);
    OK(muster_barrier_reset(b));
    OK(muster_barrier_open(r, "one", 1, &one));
    EXPECT(muster_barrier_wait_timeout(one, 0), 0);
    EXPECT(muster_barrier_wait_timeout(one, UINT64_MAX), 0); /* forever, but completes at once */

    /* A waiter in another process sees the break caused by our timeout. */
    OK(muster_barrier_open(r, "three", 3, &three));
    pid = fork_child();
    if (pid == 0) {
        muster_barrier *cb = child_barrier("three", 3);
        int rc = muster_barrier_wait(cb);
        OK(muster_barrier_close(cb));
        exit(rc == MUSTER_EBROKEN ? 0 : 1);
    }
    WAIT_FOR(muster_barrier_waiting(three) == 1);
    EXPECT(muster_barrier_wait_timeout(three, 50 * MS), MUSTER_ETIMEDOUT);
    expect_child_ok(pid, "broken by a non-member timeout");
    CHECK(muster_barrier_broken(three) == 1);
    OK(muster_barrier_reset(three));

    /* A timed wait that completes in time succeeds with a distinct index. */
    pid = fork_child();
    if (pid == 0) {
        muster_barrier *cb = child_barrier("nm", 2);
        int rc = muster_barrier_wait_timeout(cb, 20000 * MS);
        OK(muster_barrier_close(cb));
        exit(rc == 0 || rc == 1 ? 10 + rc : 1);
    }
    {
        int idx = muster_barrier_wait_timeout(b, 20000 * MS);
        int status = 0;
        CHECK(idx == 0 || idx == 1);
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 10 + (1 - idx));
    }
    OK(muster_barrier_close(three));
    OK(muster_barrier_close(one));
    OK(muster_barrier_close(b));
}

static void member_timeouts(muster_region *r) {
    muster_barrier *a = NULL, *b = NULL;
    pid_t pid;
    int idx;

    OK(muster_barrier_open(r, "m", 0, &a));
    OK(muster_barrier_open(r, "m", 0, &b));
    OK(muster_barrier_enroll(a));
    OK(muster_barrier_enroll(b));
    CHECK(muster_barrier_parties(a) == 2);

    /* a times out (b never arrives): a is resigned, the barrier is not broken. */
    EXPECT(muster_barrier_wait_timeout(a, 30 * MS), MUSTER_ETIMEDOUT);
    CHECK(muster_barrier_is_member(a) == 0);
    CHECK(muster_barrier_broken(a) == 0);
    CHECK(muster_barrier_parties(a) == 1);
    EXPECT(muster_barrier_wait(a), MUSTER_ECANCELLED);
    EXPECT(muster_barrier_wait_timeout(a, 0), MUSTER_ECANCELLED);
    EXPECT(muster_barrier_resign(a), MUSTER_EMISUSE);
    /* b is the only member now and passes alone. */
    EXPECT(muster_barrier_wait(b), 0);
    /* a enrolls again. */
    OK(muster_barrier_enroll(a));
    CHECK(muster_barrier_is_member(a) == 1);
    CHECK(muster_barrier_parties(a) == 2);

    /* With a member c in another process waiting: a times out, and b completes the generation
     * with c (a's withdrawal does not break it). */
    pid = fork_child();
    if (pid == 0) {
        muster_region *cr = NULL;
        muster_barrier *c = NULL;
        muster_barrier *go = NULL;
        int rc;
        open_test_region(&cr);
        OK(muster_barrier_open(cr, "m", 0, &c));
        OK(muster_barrier_open(cr, "m-go", 2, &go));
        OK(muster_barrier_enroll(c));
        CHECK(muster_barrier_wait(go) >= 0);
        rc = muster_barrier_wait(c);
        OK(muster_barrier_close(c));
        exit(rc == 0 ? 0 : 1);
    }
    {
        muster_barrier *go = NULL;
        OK(muster_barrier_open(r, "m-go", 2, &go));
        CHECK(muster_barrier_wait(go) >= 0);
        OK(muster_barrier_close(go));
    }
    CHECK(muster_barrier_parties(a) == 3);
    WAIT_FOR(muster_barrier_waiting(a) == 1);
    EXPECT(muster_barrier_wait_timeout(a, 30 * MS), MUSTER_ETIMEDOUT);
    CHECK(muster_barrier_parties(a) == 2);
    CHECK(muster_barrier_waiting(a) == 1);
    CHECK(muster_barrier_broken(a) == 0);
    idx = muster_barrier_wait(b);
    CHECK(idx == 1); /* c arrived first */
    expect_child_ok(pid, "member peer");
    CHECK(muster_barrier_parties(b) == 1);

    OK(muster_barrier_close(a));
    OK(muster_barrier_close(b));
}

int main(void) {
    muster_region *r = NULL;
    test_init("timeouts", 110);
    OK(muster_region_create(test_region, NULL, &r));
    non_member_timeouts(r);
    member_timeouts(r);
    OK(muster_region_close(r));
    printf("timeouts: ok\n");
    return 0;
}
