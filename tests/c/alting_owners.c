/* Who may use an alting front-end: one owned by a live process (a forked child) or by a live
 * thread cannot be attached until its owner is gone or closes it; handles used by the wrong
 * thread (or in a forked child) are misuse and stay usable by their own thread. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <pthread.h>
#include <stdint.h>

#define SENTINEL_F ((muster_alting *)(uintptr_t)0x5353)

/* Front-end 0 of "owned" is owned by a live child: attach fails until the child is gone. */
static void test_owner_process(muster_region *r) {
    int to_child[2], to_parent[2];
    char ch = 0;
    muster_alting *f = SENTINEL_F;
    pid_t pid;

    OK(muster_alting_create(r, "owned", 2));
    CHECK(pipe(to_child) == 0 && pipe(to_parent) == 0);
    pid = fork_child();
    if (pid == 0) {
        muster_region *cr = NULL;
        muster_alting *cf = NULL;
        /* The parent's handles are not ours: the region must be opened again. */
        EXPECT(muster_alting_attach(r, "owned", 1, &cf), MUSTER_EMISUSE);
        open_test_region(&cr);
        OK(muster_alting_attach(cr, "owned", 0, &cf));
        CHECK(write(to_parent[1], "a", 1) == 1);
        CHECK(read(to_child[0], &ch, 1) == 1);
        _exit(0); /* dies owning front-end 0 */
    }
    CHECK(read(to_parent[0], &ch, 1) == 1);
    EXPECT(muster_alting_attach(r, "owned", 0, &f), MUSTER_EMISUSE);
    CHECK(f == SENTINEL_F);
    OK(muster_alting_attach(r, "owned", 1, &f)); /* another index is fine */
    OK(muster_alting_close(f));
    CHECK(write(to_child[1], "b", 1) == 1);
    expect_child_ok(pid, "owner");
    /* The owner is dead: its front-end (still enrolled) can be taken over. */
    OK(muster_alting_attach(r, "owned", 0, &f));
    EXPECT(muster_alting_poll(f, 0), 0); /* front-end 1 is enrolled and not offering */
    OK(muster_alting_close(f));
    close(to_child[0]);
    close(to_child[1]);
    close(to_parent[0]);
    close(to_parent[1]);
}

/* ---------------------------------------------------------------------------------------- */

struct thread_arg {
    muster_region *r;
    muster_alting *f;   /* the main thread's */
    muster_alt *a;      /* the main thread's */
    muster_channel *c;  /* the main thread's */
    int phase;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static void set_phase(struct thread_arg *t, int p) {
    CHECK(pthread_mutex_lock(&t->mu) == 0);
    t->phase = p;
    CHECK(pthread_cond_broadcast(&t->cv) == 0);
    CHECK(pthread_mutex_unlock(&t->mu) == 0);
}

static void await_phase(struct thread_arg *t, int p) {
    CHECK(pthread_mutex_lock(&t->mu) == 0);
    while (t->phase < p) {
        CHECK(pthread_cond_wait(&t->cv, &t->mu) == 0);
    }
    CHECK(pthread_mutex_unlock(&t->mu) == 0);
}

static void *other_thread(void *p) {
    struct thread_arg *t = (struct thread_arg *)p;
    muster_alting *mine = NULL;
    uint64_t v = 0;
    /* The main thread's handles are not this thread's. */
    EXPECT(muster_alting_sync(t->f), MUSTER_EMISUSE);
    EXPECT(muster_alting_poll(t->f, 0), MUSTER_EMISUSE);
    EXPECT(muster_alting_index(t->f), MUSTER_EMISUSE);
    EXPECT(muster_alting_close(t->f), MUSTER_EMISUSE); /* and it stays open */
    EXPECT(muster_alt_add_skip(t->a), MUSTER_EMISUSE);
    EXPECT(muster_alt_select(t->a, MUSTER_SELECT_FAIR, 0), MUSTER_EMISUSE);
    EXPECT(muster_alt_destroy(t->a), MUSTER_EMISUSE);
    EXPECT(muster_channel_write(t->c, 1), MUSTER_EMISUSE);
    EXPECT(muster_channel_try_read(t->c, &v), MUSTER_EMISUSE);
    EXPECT(muster_channel_close(t->c), MUSTER_EMISUSE);
    /* Own front-end 0 of "thr" while the main thread tries to attach it. */
    OK(muster_alting_attach(t->r, "thr", 0, &mine));
    set_phase(t, 1);
    await_phase(t, 2);
    OK(muster_alting_close(mine)); /* gives up ownership (this thread's last alting handle) */
    set_phase(t, 3);
    return NULL;
}

static void test_owner_thread(muster_region *r) {
    struct thread_arg t;
    pthread_t th;
    muster_alting *f = SENTINEL_F, *mine = NULL;
    uint64_t v = 0;

    OK(muster_alting_create(r, "thr", 2));
    memset(&t, 0, sizeof t);
    t.r = r;
    CHECK(pthread_mutex_init(&t.mu, NULL) == 0 && pthread_cond_init(&t.cv, NULL) == 0);
    OK(muster_alting_attach(r, "thr", 1, &mine));
    OK(muster_alt_create(&t.a));
    OK(muster_channel_open(r, "thr-ch", 2, 0, &t.c));
    t.f = mine;
    CHECK(pthread_create(&th, NULL, other_thread, &t) == 0);
    await_phase(&t, 1);
    EXPECT(muster_alting_attach(r, "thr", 0, &f), MUSTER_EMISUSE); /* owned by a live thread */
    CHECK(f == SENTINEL_F);
    set_phase(&t, 2);
    await_phase(&t, 3);
    CHECK(pthread_join(th, NULL) == 0);
    /* Normal operation: the handles still work here, and front-end 0 is free again. */
    OK(muster_alting_attach(r, "thr", 0, &f));
    EXPECT(muster_alt_add_alting(t.a, f), 0);
    EXPECT(muster_alt_select(t.a, MUSTER_SELECT_FAIR, 0), MUSTER_ETIMEDOUT); /* `mine` is not offering */
    EXPECT(muster_alting_poll(mine, 0), 0);
    OK(muster_channel_write(t.c, 5));
    EXPECT(muster_channel_try_read(t.c, &v), 1);
    CHECK(v == 5);
    OK(muster_alt_destroy(t.a));
    OK(muster_channel_close(t.c));
    OK(muster_alting_close(f));
    OK(muster_alting_close(mine));
    CHECK(pthread_mutex_destroy(&t.mu) == 0 && pthread_cond_destroy(&t.cv) == 0);
}

int main(void) {
    muster_region *r = NULL;
    test_init("alting-owners", 120);
    OK(muster_region_create(test_region, NULL, &r));
    test_owner_process(r);
    test_owner_thread(r);
    OK(muster_region_close(r));
    printf("alting_owners: ok\n");
    return 0;
}
