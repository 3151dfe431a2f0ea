/* Split-phase arrivals (arrive / await / is_complete / arrive_and_drop), completion actions,
 * their bad-input errors, and party identity on a counted barrier (a process that arrived and
 * was SIGKILLed breaks the generation with MUSTER_EPEERDIED). */
#define _GNU_SOURCE
#include "testutil.h"

#include <stdatomic.h>

/* Shared between the forked processes (MAP_SHARED | MAP_ANONYMOUS). */
struct shared {
    _Atomic uint32_t before[4];  /* published by each process before arriving */
    _Atomic uint32_t seen_by_action;
    _Atomic uint32_t actions;
};
static struct shared *sh;

static int count_action(void *arg) {
    struct shared *s = (struct shared *)arg;
    uint32_t sum = 0;
    for (int i = 0; i < 3; i++) {
        sum += atomic_load(&s->before[i]);
    }
    atomic_store(&s->seen_by_action, sum);
    atomic_fetch_add(&s->actions, 1);
    return 0;
}

static int failing_action(void *arg) {
    (void)arg;
    return 7;
}

/* Three processes arrive split-phase, do "other work", then await. The last arrival's action
 * sees every process's write made before it arrived. */
static void three_processes(muster_region *r) {
    muster_barrier *b = NULL;
    uint64_t t = 0;
    const int rounds = 200;
    pid_t kids[2];

    OK(muster_barrier_open(r, "split", 3, &b));
    for (int k = 0; k < 2; k++) {
        kids[k] = fork_child();
        if (kids[k] == 0) {
            muster_barrier *cb = child_barrier("split", 3);
            uint64_t ct = 0;
            OK(muster_barrier_set_action(cb, count_action, sh));
            for (int i = 1; i <= rounds; i++) {
                atomic_store(&sh->before[k + 1], (uint32_t)i);
                CHECK(muster_barrier_arrive(cb, &ct) >= 0);
                EXPECT(muster_barrier_await(cb, ct, UINT64_MAX), 0);
                /* After the release everyone's round-i write is visible. */
                for (int j = 0; j < 3; j++) {
                    CHECK(atomic_load(&sh->before[j]) >= (uint32_t)i);
                }
                CHECK(muster_barrier_is_complete(cb, ct) == 1);
                /* A second barrier round keeps anyone from starting round i+1 before all checked. */
                CHECK(muster_barrier_arrive(cb, &ct) >= 0);
                EXPECT(muster_barrier_await(cb, ct, UINT64_MAX), 0);
            }
            OK(muster_barrier_close(cb));
            _exit(0);
        }
    }
    OK(muster_barrier_set_action(b, count_action, sh));
    for (int i = 1; i <= rounds; i++) {
        atomic_store(&sh->before[0], (uint32_t)i);
        CHECK(muster_barrier_arrive(b, &t) >= 0);
        EXPECT(muster_barrier_await(b, t, UINT64_MAX), 0);
        CHECK(atomic_load(&sh->seen_by_action) >= 3u * (uint32_t)i);
        CHECK(muster_barrier_arrive(b, &t) >= 0);
        EXPECT(muster_barrier_await(b, t, UINT64_MAX), 0);
    }
    expect_child_ok(kids[0], "split 1");
    expect_child_ok(kids[1], "split 2");
    /* Exactly one action per generation: 2 generations per round. */
    CHECK(atomic_load(&sh->actions) == 2u * (uint32_t)rounds);
    OK(muster_barrier_close(b));
}

/* await's timeout changes nothing; tickets are checked; actions that fail break the barrier. */
static void local(muster_region *r) {
    muster_barrier *b = NULL, *other = NULL, *m = NULL, *one = NULL;
    uint64_t t = 0, t2 = 0, told = 0;
    int64_t t0;

    OK(muster_barrier_open(r, "local2", 2, &b));
    OK(muster_barrier_open(r, "other", 2, &other));
    EXPECT(muster_barrier_arrive(b, NULL), MUSTER_EINVAL);
    EXPECT(muster_barrier_arrive(b, &t), 0);
    CHECK(muster_barrier_is_complete(b, t) == 0);
    t0 = now_ns();
    EXPECT(muster_barrier_await(b, t, 20000000), MUSTER_ETIMEDOUT);
    CHECK(now_ns() - t0 >= 20000000);
    CHECK(muster_barrier_broken(b) == 0);   /* nothing changed */
    CHECK(muster_barrier_waiting(b) == 1);  /* the arrival stands */
    EXPECT(muster_barrier_await(other, t, 0), MUSTER_EINVAL);     /* another barrier's ticket */
    EXPECT(muster_barrier_is_complete(other, t), MUSTER_EINVAL);
    EXPECT(muster_barrier_await(b, t + 5, 0), MUSTER_EINVAL);     /* from the future */
    EXPECT(muster_barrier_await(b, 12345, 0), MUSTER_EINVAL);     /* garbage */
    EXPECT(muster_barrier_arrive(b, &t2), 1);                      /* completes it */
    CHECK(t2 == t);
    OK(muster_barrier_await(b, t, 0));
    OK(muster_barrier_await(b, t, UINT64_MAX));                    /* completed: at once */
    CHECK(muster_barrier_is_complete(b, t) == 1);
    told = t;

    /* A failing action breaks the generation for all, with MUSTER_EACTION. */
    OK(muster_barrier_set_action(b, failing_action, NULL));
    EXPECT(muster_barrier_arrive(b, &t), 0);
    CHECK(t != told);
    EXPECT(muster_barrier_arrive(b, &t2), MUSTER_EACTION);
    CHECK(muster_barrier_broken(b) == 1);
    EXPECT(muster_barrier_await(b, t, 0), MUSTER_EACTION);
    EXPECT(muster_barrier_is_complete(b, t), MUSTER_EACTION);
    OK(muster_barrier_set_action(b, NULL, NULL));
    OK(muster_barrier_reset(b));
    OK(muster_barrier_await(b, told, 0)); /* an old completed ticket stays completed */

    /* arrive_and_drop on a counted barrier: parties - 1 from the next generation. */
    OK(muster_barrier_open(r, "drop3", 3, &one));
    EXPECT(muster_barrier_arrive(one, &t), 0);
    EXPECT(muster_barrier_arrive_and_drop(other), MUSTER_OK + 1); /* 2-party "other": index 1 */
    {
        muster_barrier *d = NULL;
        OK(muster_barrier_open(r, "drop3", 3, &d));
        EXPECT(muster_barrier_arrive_and_drop(d), 2); /* a dropper takes the highest index */
        EXPECT(muster_barrier_await(d, t, 0), MUSTER_EMISUSE); /* dropped out */
        EXPECT(muster_barrier_arrive(d, &t2), MUSTER_EMISUSE);
        OK(muster_barrier_close(d));
    }
    CHECK(muster_barrier_parties(one) == 2);
    EXPECT(muster_barrier_arrive(one, &t2), 1); /* completes: 0 (one), 2 (dropper), 1 */
    OK(muster_barrier_await(one, t, 0));
    OK(muster_barrier_close(one));

    /* Members: arriving twice in one generation is misuse; await needs a member. */
    OK(muster_barrier_open(r, "members", 0, &m));
    EXPECT(muster_barrier_arrive(m, &t), MUSTER_EMISUSE);
    OK(muster_barrier_enroll(m));
    {
        muster_barrier *m2 = NULL;
        OK(muster_barrier_open(r, "members", 0, &m2));
        OK(muster_barrier_enroll(m2));
        EXPECT(muster_barrier_arrive(m, &t), 0);
        EXPECT(muster_barrier_arrive(m, &t2), MUSTER_EMISUSE);
        EXPECT(muster_barrier_resign(m), MUSTER_EMISUSE); /* arrival pending */
        EXPECT(muster_barrier_await(m2, t, 0), MUSTER_ETIMEDOUT);
        EXPECT(muster_barrier_arrive_and_drop(m2), 1);     /* completes the generation, resigns */
        CHECK(muster_barrier_is_member(m2) == 0);
        EXPECT(muster_barrier_await(m2, t, 0), MUSTER_EMISUSE);
        OK(muster_barrier_await(m, t, 0));
        CHECK(muster_barrier_parties(m) == 1);
        EXPECT(muster_barrier_wait(m), 0); /* alone now */
        OK(muster_barrier_close(m2));
    }
    OK(muster_barrier_close(m));
    OK(muster_barrier_close(other));
    OK(muster_barrier_close(b));
}

/* A process that arrived at a counted barrier and died breaks it for the waiters. */
static void counted_peer_death(muster_region *r) {
    muster_barrier *b = NULL;
    uint64_t t = 0;
    int status = 0;
    pid_t pid;

    OK(muster_barrier_open(r, "counted-death", 3, &b));
    pid = fork_child();
    if (pid == 0) {
        muster_barrier *cb = child_barrier("counted-death", 3);
        uint64_t ct = 0;
        CHECK(muster_barrier_arrive(cb, &ct) >= 0);
        for (;;) {
            pause(); /* killed by the parent */
        }
    }
    WAIT_FOR(muster_barrier_waiting(b) == 1);
    CHECK(muster_barrier_arrive(b, &t) >= 0);
    CHECK(kill(pid, SIGKILL) == 0);
    EXPECT(muster_barrier_await(b, t, 30000000000ull), MUSTER_EPEERDIED);
    CHECK(muster_last_peer_pid() == (int)pid);
    CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status));
    OK(muster_barrier_close(b));
}

int main(void) {
    muster_region *r = NULL;
    test_init("split", 110);
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(sh != MAP_FAILED);
    memset((void *)sh, 0, sizeof *sh);
    OK(muster_region_create(test_region, NULL, &r));
    local(r);
    three_processes(r);
    counted_peer_death(r);
    OK(muster_region_close(r));
    printf("split_phase: ok\n");
    return 0;
}
