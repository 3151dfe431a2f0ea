/* muster_alting_poll: poll(0) does not wait, timed polls really wait their whole timeout when the
 * barrier cannot fire, a long poll fires once the other party syncs from a forked child (where
 * the parent's handle is misuse). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <stdint.h>

#define MS 1000000ll

static void test_poll(muster_region *r) {
    muster_alting *f = NULL;
    int64_t t0, waited;
    int i;
    pid_t pid;

    OK(muster_alting_create(r, "poll", 2));
    OK(muster_alting_attach(r, "poll", 0, &f));
    EXPECT(muster_alting_poll(f, 0), 0);
    for (i = 0; i < 5; i++) {
        t0 = now_ns();
        EXPECT(muster_alting_poll(f, 1 * MS), 0);
        waited = now_ns() - t0;
        if (waited < 1 * MS) {
            fprintf(stderr, "poll(1 ms) returned after %lld ns\n", (long long)waited);
            exit(1);
        }
    }
    t0 = now_ns();
    EXPECT(muster_alting_poll(f, 20 * MS), 0);
    CHECK(now_ns() - t0 >= 20 * MS);
    /* Normal operation: the other party syncs from a child; a long poll fires. */
    pid = fork_child();
    if (pid == 0) {
        muster_region *cr = NULL;
        muster_alting *cf = NULL;
        /* The parent's front-end handle is not the child's. */
        EXPECT(muster_alting_poll(f, 0), MUSTER_EMISUSE);
        EXPECT(muster_alting_index(f), MUSTER_EMISUSE);
        OK(muster_alting_close(f)); /* a no-op in the child */
        open_test_region(&cr);
        OK(muster_alting_attach(cr, "poll", 1, &cf));
        OK(muster_alting_sync(cf));
        OK(muster_alting_sync(cf));
        OK(muster_alting_close(cf));
        OK(muster_region_close(cr));
        exit(0);
    }
    EXPECT(muster_alting_poll(f, 30000 * MS), 1);
    OK(muster_alting_sync(f));
    expect_child_ok(pid, "poll partner");
    OK(muster_alting_close(f));
}

int main(void) {
    muster_region *r = NULL;
    test_init("alting-poll", 120);
    OK(muster_region_create(test_region, NULL, &r));
    test_poll(r);
    OK(muster_region_close(r));
    printf("alting_poll: ok\n");
    return 0;
}
