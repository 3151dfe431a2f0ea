/* The alting C API, part 1: every error path (NULL pointers, bad names, unknown barriers, indices
 * out of range, front-ends owned by another live process or thread, enroll/resign misuse, sync
 * and expand while resigned, bad contract ranges, use after contract, handles used by the wrong
 * thread or in a forked child), each followed by normal operation; poll(0) and timed polls that
 * really wait; expand/contract for n = 1..8 (also with gaps); a front-end contracting itself
 * (JCSP contract()); the alting fields of muster_region_config. Part 2 (skip, select, channels) is alting_select.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <pthread.h>
#include <stdint.h>

#define MS 1000000ll
#define SENTINEL_F ((muster_alting *)(uintptr_t)0x5353)
#define SENTINEL_A ((muster_alt *)(uintptr_t)0x5454)
#define SENTINEL_C ((muster_channel *)(uintptr_t)0x5555)

static void open_region(muster_region **r) {
    OK(muster_region_open(test_region, r));
}

/* ---------------------------------------------------------------------------------------- */

static void test_null_pointers(muster_region *r) {
    muster_alting *f = SENTINEL_F;
    muster_alt *a = SENTINEL_A;
    muster_channel *c = SENTINEL_C;
    uint32_t u32 = 77;
    uint64_t u64 = 77;

    EXPECT(muster_alting_create(NULL, "x", 1), MUSTER_EINVAL);
    EXPECT(muster_alting_create(r, NULL, 1), MUSTER_EINVAL);
    EXPECT(muster_alting_attach(NULL, "x", 0, &f), MUSTER_EINVAL);
    EXPECT(muster_alting_attach(r, NULL, 0, &f), MUSTER_EINVAL);
    EXPECT(muster_alting_attach(r, "x", 0, NULL), MUSTER_EINVAL);
    EXPECT(muster_alting_reset(NULL, "x", 0), MUSTER_EINVAL);
    EXPECT(muster_alting_reset(r, NULL, 0), MUSTER_EINVAL);
    EXPECT(muster_alting_enroll(NULL), MUSTER_EINVAL);
    EXPECT(muster_alting_resign(NULL), MUSTER_EINVAL);
    EXPECT(muster_alting_sync(NULL), MUSTER_EINVAL);
    EXPECT(muster_alting_poll(NULL, 0), MUSTER_EINVAL);
    EXPECT(muster_alting_expand(NULL, 1, &u32), MUSTER_EINVAL);
    EXPECT(muster_alting_expanded(NULL, 1, &u32, 1), MUSTER_EINVAL);
    EXPECT(muster_alting_contract(NULL, 1, 1), MUSTER_EINVAL);
    EXPECT(muster_alting_contract_self(NULL), MUSTER_EINVAL);
    EXPECT(muster_alting_index(NULL), MUSTER_EINVAL);
    EXPECT(muster_alting_completions(NULL, &u64), MUSTER_EINVAL);
    OK(muster_alting_close(NULL));

    EXPECT(muster_alt_create(NULL), MUSTER_EINVAL);
    EXPECT(muster_alt_add_alting(NULL, NULL), MUSTER_EINVAL);
    EXPECT(muster_alt_add_channel(NULL, NULL), MUSTER_EINVAL);
    EXPECT(muster_alt_add_skip(NULL), MUSTER_EINVAL);
    EXPECT(muster_alt_select(NULL, MUSTER_SELECT_FAIR, 0), MUSTER_EINVAL);
    EXPECT(muster_alt_ticket(NULL, &u32), MUSTER_EINVAL);
    EXPECT(muster_alt_count(NULL), MUSTER_EINVAL);
    OK(muster_alt_destroy(NULL));

    EXPECT(muster_channel_open(NULL, "c", 1, 0, &c), MUSTER_EINVAL);
    EXPECT(muster_channel_open(r, NULL, 1, 0, &c), MUSTER_EINVAL);
    EXPECT(muster_channel_open(r, "c", 1, 0, NULL), MUSTER_EINVAL);
    EXPECT(muster_channel_write(NULL, 1), MUSTER_EINVAL);
    EXPECT(muster_channel_try_write(NULL, 1), MUSTER_EINVAL);
    EXPECT(muster_channel_read(NULL, 0, &u64), MUSTER_EINVAL);
    EXPECT(muster_channel_try_read(NULL, &u64), MUSTER_EINVAL);
    OK(muster_channel_close(NULL));
    CHECK(f == SENTINEL_F && a == SENTINEL_A && c == SENTINEL_C && u32 == 77 && u64 == 77);

    /* NULL out-params of live handles. */
    OK(muster_alting_create(r, "nulls", 1));
    OK(muster_alting_attach(r, "nulls", 0, &f));
    EXPECT(muster_alting_expand(f, 1, NULL), MUSTER_EINVAL);
    EXPECT(muster_alting_completions(f, NULL), MUSTER_EINVAL);
    EXPECT(muster_alting_expanded(f, 1, NULL, 1), MUSTER_EINVAL);
    OK(muster_alt_create(&a));
    EXPECT(muster_alt_add_alting(a, NULL), MUSTER_EINVAL);
    EXPECT(muster_alt_add_channel(a, NULL), MUSTER_EINVAL);
    EXPECT(muster_alt_ticket(a, NULL), MUSTER_EINVAL);
    OK(muster_channel_open(r, "nulls-ch", 1, 0, &c));
    EXPECT(muster_channel_read(c, 0, NULL), MUSTER_EINVAL);
    EXPECT(muster_channel_try_read(c, NULL), MUSTER_EINVAL);
    /* ... and then normal operation. */
    EXPECT(muster_alt_add_alting(a, f), 0);
    EXPECT(muster_alt_add_channel(a, c), 1);
    EXPECT(muster_alt_count(a), 2);
    EXPECT(muster_alt_select(a, MUSTER_SELECT_PRI, -1), 0); /* a 1-party barrier is always ready */
    OK(muster_alt_ticket(a, &u32));
    CHECK(u32 == 1);
    OK(muster_alting_completions(f, &u64));
    CHECK(u64 == 1);
    OK(muster_alt_destroy(a));
    OK(muster_channel_close(c));
    OK(muster_alting_close(f));
}

/* ---------------------------------------------------------------------------------------- */

static void test_names(muster_region *r) {
    muster_alting *f = SENTINEL_F;
    muster_channel *c = SENTINEL_C;
    muster_barrier *plain = NULL;
    char long_name[80];

    memset(long_name, 'n', 65);
    long_name[65] = '\0';
    EXPECT(muster_alting_create(r, "", 2), MUSTER_ENAME);
    EXPECT(muster_alting_create(r, long_name, 2), MUSTER_ENAME);
    EXPECT(muster_alting_create(r, "tab\there", 2), MUSTER_ENAME);
    EXPECT(muster_alting_create(r, "\xff\xfe", 2), MUSTER_ENAME);
    EXPECT(muster_alting_attach(r, "", 0, &f), MUSTER_ENAME);
    EXPECT(muster_channel_open(r, "", 1, 0, &c), MUSTER_ENAME);
    EXPECT(muster_alting_reset(r, "\x01", 0), MUSTER_ENAME);
    /* Unknown names. */
    EXPECT(muster_alting_attach(r, "no such barrier", 0, &f), MUSTER_ENOENT);
    EXPECT(muster_alting_reset(r, "no such barrier", 0), MUSTER_ENOENT);
    /* Bad sizes and duplicates. */
    EXPECT(muster_alting_create(r, "sizes", 0), MUSTER_EINVAL);
    EXPECT(muster_alting_create(r, "sizes", 33), MUSTER_EFULL); /* default: 32 per barrier */
    OK(muster_alting_create(r, "sizes", 32));
    EXPECT(muster_alting_create(r, "sizes", 2), MUSTER_EEXIST);
    /* Names of another kind. */
    OK(muster_barrier_open(r, "plain", 2, &plain));
    EXPECT(muster_alting_create(r, "plain", 2), MUSTER_EEXIST);
    EXPECT(muster_alting_attach(r, "plain", 0, &f), MUSTER_EMISMATCH);
    EXPECT(muster_channel_open(r, "plain", 1, 0, &c), MUSTER_EMISMATCH);
    EXPECT(muster_channel_open(r, "sizes", 1, 0, &c), MUSTER_EMISMATCH);
    OK(muster_channel_open(r, "a channel", 1, 0, &c));
    EXPECT(muster_alting_attach(r, "a channel", 0, &f), MUSTER_EMISMATCH);
    CHECK(f == SENTINEL_F);
    OK(muster_channel_close(c));
    OK(muster_barrier_close(plain));
    /* Normal operation: names with spaces and UTF-8. */
    OK(muster_alting_create(r, "Phase 1 \xc3\xa9t\xc3\xa9", 1));
    OK(muster_alting_attach(r, "Phase 1 \xc3\xa9t\xc3\xa9", 0, &f));
    EXPECT(muster_alting_index(f), 0);
    EXPECT(muster_alting_poll(f, 0), 1);
    OK(muster_alting_close(f));
}

/* ---------------------------------------------------------------------------------------- */

static void test_indices_and_membership(muster_region *r) {
    muster_alting *f = SENTINEL_F, *g = NULL;
    uint64_t done = 0;
    uint32_t first = 0;

    OK(muster_alting_create(r, "idx", 2));
    EXPECT(muster_alting_attach(r, "idx", 32, &f), MUSTER_EINVAL);         /* >= max per barrier */
    EXPECT(muster_alting_attach(r, "idx", 0xffffffffu, &f), MUSTER_EINVAL);
    EXPECT(muster_alting_attach(r, "idx", 2, &f), MUSTER_EMISUSE);         /* not in use */
    EXPECT(muster_alting_reset(r, "idx", 40), MUSTER_EINVAL);
    EXPECT(muster_alting_reset(r, "idx", 5), MUSTER_EMISUSE);
    CHECK(f == SENTINEL_F);
    OK(muster_alting_attach(r, "idx", 1, &f));
    EXPECT(muster_alting_index(f), 1);

    /* Enroll while enrolled; resign while resigned; sync/poll/expand while resigned. */
    EXPECT(muster_alting_enroll(f), MUSTER_EMISUSE);
    OK(muster_alting_resign(f));
    EXPECT(muster_alting_resign(f), MUSTER_EMISUSE);
    EXPECT(muster_alting_sync(f), MUSTER_EMISUSE);
    EXPECT(muster_alting_poll(f, 0), MUSTER_EMISUSE);
    EXPECT(muster_alting_expand(f, 1, &first), MUSTER_EMISUSE);
    /* Front-end 0 is the only enrolled one: it fires alone. */
    OK(muster_alting_attach(r, "idx", 0, &g));
    EXPECT(muster_alting_poll(g, 0), 1);
    OK(muster_alting_sync(g));
    OK(muster_alting_completions(g, &done));
    CHECK(done == 2);
    /* Normal operation again: enroll, and now both are needed. */
    OK(muster_alting_enroll(f));
    EXPECT(muster_alting_poll(g, 0), 0);
    /* A resigned front-end is recycled by reset (enrolled again). */
    OK(muster_alting_resign(f));
    EXPECT(muster_alting_poll(g, 0), 1);
    OK(muster_alting_reset(r, "idx", 1));
    EXPECT(muster_alting_poll(g, 0), 0);
    EXPECT(muster_alting_enroll(f), MUSTER_EMISUSE); /* reset enrolled it */
    OK(muster_alting_close(f));
    OK(muster_alting_close(g));
}

/* ---------------------------------------------------------------------------------------- */

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
        open_region(&cr);
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

/* ---------------------------------------------------------------------------------------- */

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
        open_region(&cr);
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

/* ---------------------------------------------------------------------------------------- */

/* Attaches every front-end of an expansion; checks the barrier waits for them. */
static void check_expansion(muster_alting *base, uint32_t first, uint32_t n, muster_alting **fes) {
    uint32_t idx[64];
    uint32_t j;
    muster_region *r = NULL;
    EXPECT(muster_alting_expanded(base, first, idx, 64), (int)n);
    CHECK(idx[0] == first);
    open_region(&r);
    for (j = 0; j < n; j++) {
        CHECK(j == 0 || idx[j] > idx[j - 1]);
        OK(muster_alting_attach(r, "grow", idx[j], &fes[j]));
        EXPECT(muster_alting_index(fes[j]), (int)idx[j]);
    }
    OK(muster_region_close(r)); /* the front-ends keep it mapped */
    EXPECT(muster_alting_poll(base, 0), 0);
}

static void test_expand_contract(muster_region *r) {
    muster_alting *base = NULL, *fes[64];
    uint32_t first = 0, first2 = 0, n, j, idx[8];
    int rc;

    OK(muster_alting_create(r, "grow", 1));
    OK(muster_alting_attach(r, "grow", 0, &base));
    EXPECT(muster_alting_poll(base, 0), 1);
    for (n = 1; n <= 8; n++) {
        OK(muster_alting_expand(base, n, &first));
        CHECK(first == 1);
        check_expansion(base, first, n, fes);
        /* The others do not offer: nobody's poll fires. */
        for (j = 0; j < n; j++) {
            EXPECT(muster_alting_poll(fes[j], 0), 0);
        }
        OK(muster_alting_contract(base, first, n));
        EXPECT(muster_alting_poll(base, 0), 1);
        /* Use after contract. */
        EXPECT(muster_alting_sync(fes[0]), MUSTER_EMISUSE);
        EXPECT(muster_alting_poll(fes[n - 1], 0), MUSTER_EMISUSE);
        EXPECT(muster_alting_resign(fes[0]), MUSTER_EMISUSE);
        EXPECT(muster_alting_expand(fes[0], 1, &first2), MUSTER_EMISUSE);
        EXPECT(muster_alting_contract(base, first, n), MUSTER_EMISUSE); /* twice */
        EXPECT(muster_alting_expanded(base, first, idx, 8), MUSTER_EINVAL); /* forgotten */
        for (j = 0; j < n; j++) {
            OK(muster_alting_close(fes[j]));
        }
    }

    /* Wrong ranges. */
    OK(muster_alting_expand(base, 3, &first));
    CHECK(first == 1);
    EXPECT(muster_alting_contract(base, first, 0), MUSTER_EINVAL);
    EXPECT(muster_alting_contract(base, first, 2), MUSTER_EMISUSE);       /* part of it */
    EXPECT(muster_alting_contract(base, first + 1, 3), MUSTER_EMISUSE);   /* shifted */
    EXPECT(muster_alting_contract(base, 0, 1), MUSTER_EMISUSE);           /* its own front-end */
    EXPECT(muster_alting_contract(base, 0, 4), MUSTER_EMISUSE);           /* including its own */
    EXPECT(muster_alting_contract(base, 32, 2), MUSTER_EINVAL);           /* beyond 32 */
    EXPECT(muster_alting_contract(base, 0xfffffffeu, 4), MUSTER_EINVAL);  /* overflows */
    EXPECT(muster_alting_expand(base, 0, &first2), MUSTER_EINVAL);
    EXPECT(muster_alting_expand(base, 40, &first2), MUSTER_EFULL);        /* nothing added */
    EXPECT(muster_alting_expand(base, 29, &first2), MUSTER_EFULL);        /* 28 slots are free */
    CHECK(first2 == 0);
    OK(muster_alting_expand(base, 28, &first2));                         /* all of them */
    CHECK(first2 == 4);
    EXPECT(muster_alting_expand(base, 1, &first2), MUSTER_EFULL);
    OK(muster_alting_contract(base, 4, 28));
    OK(muster_alting_contract(base, first, 3)); /* normal operation */
    EXPECT(muster_alting_poll(base, 0), 1);

    /* Gaps: expansions {1,2} and {3,4}; contract the first; the next expansion of 3 is {1,2,5}. */
    OK(muster_alting_expand(base, 2, &first));
    OK(muster_alting_expand(base, 2, &first2));
    CHECK(first == 1 && first2 == 3);
    OK(muster_alting_contract(base, first, 2));
    OK(muster_alting_expand(base, 3, &first));
    CHECK(first == 1);
    EXPECT(muster_alting_expanded(base, first, idx, 8), 3);
    CHECK(idx[0] == 1 && idx[1] == 2 && idx[2] == 5);
    EXPECT(muster_alting_expanded(base, first, idx, 1), 3); /* counts beyond capacity */
    EXPECT(muster_alting_expanded(base, first, NULL, 0), 3);
    check_expansion(base, first, 3, fes);
    EXPECT(muster_alting_contract(base, 1, 2), MUSTER_EMISUSE); /* not the whole expansion */
    OK(muster_alting_contract(base, 1, 3));                      /* exactly {1,2,5} */
    for (j = 0; j < 3; j++) {
        EXPECT(muster_alting_poll(fes[j], 0), MUSTER_EMISUSE);
        OK(muster_alting_close(fes[j]));
    }
    /* A contiguous expansion made through another handle is contracted by its range. */
    {
        muster_alting *other = NULL;
        OK(muster_alting_attach(r, "grow", 0, &other)); /* a second handle on front-end 0 */
        OK(muster_alting_contract(other, first2, 2));
        OK(muster_alting_close(other));
    }
    EXPECT(muster_alting_poll(base, 0), 1);
    /* Expand while resigned is misuse; after enrolling it works. */
    OK(muster_alting_resign(base));
    EXPECT(muster_alting_expand(base, 1, &first), MUSTER_EMISUSE);
    OK(muster_alting_enroll(base));
    OK(muster_alting_expand(base, 1, &first));
    rc = muster_alting_contract(base, first, 1);
    EXPECT(rc, MUSTER_OK);
    OK(muster_alting_close(base));
}

/* JCSP contract(): a front-end leaves for good. Its sync partner, blocked in another thread, is
 * released by the contraction itself; misuse (resigned, twice) changes nothing. */
static void *sync_in_thread(void *p) {
    muster_alting *f = NULL;
    intptr_t rc = muster_alting_attach((muster_region *)p, "leave", 2, &f);
    rc = rc == MUSTER_OK ? muster_alting_sync(f) : rc;
    (void)muster_alting_close(f); /* NULL if the attach failed: a no-op */
    return (void *)rc;
}

static void test_contract_self(muster_region *r) {
    muster_alting *base = NULL, *a = NULL, *again = NULL;
    muster_alt *alt = NULL;
    uint32_t first = 0, reused = 0;
    uint64_t done = 0;
    pthread_t th;
    void *res = NULL;

    OK(muster_alting_create(r, "leave", 1));
    OK(muster_alting_attach(r, "leave", 0, &base));
    OK(muster_alting_expand(base, 2, &first));
    CHECK(first == 1);
    OK(muster_alting_attach(r, "leave", 1, &a));
    OK(muster_alt_create(&alt));
    EXPECT(muster_alt_add_alting(alt, a), 0);
    OK(muster_alting_resign(a));
    EXPECT(muster_alting_contract_self(a), MUSTER_EMISUSE); /* resigned: nothing changes */
    OK(muster_alting_enroll(a));                             /* so it was still resigned */
    /* Front-end 2 syncs in another thread; with base resigned only a holds it up. */
    OK(muster_alting_resign(base));
    CHECK(pthread_create(&th, NULL, sync_in_thread, r) == 0);
    sleep_ms(20);
    OK(muster_alting_contract_self(a)); /* completes the barrier: the thread's sync returns */
    CHECK(pthread_join(th, &res) == 0);
    CHECK((intptr_t)res == MUSTER_OK);
    OK(muster_alting_enroll(base));
    OK(muster_alting_completions(base, &done));
    CHECK(done == 1);
    /* Use after contract_self, on the handle and through the Alternative it was added to. */
    EXPECT(muster_alting_contract_self(a), MUSTER_EMISUSE);
    EXPECT(muster_alting_sync(a), MUSTER_EMISUSE);
    EXPECT(muster_alting_enroll(a), MUSTER_EMISUSE);
    EXPECT(muster_alt_select(alt, MUSTER_SELECT_FAIR, 0), MUSTER_EMISUSE);
    EXPECT(muster_alting_attach(r, "leave", 1, &again), MUSTER_EMISUSE);
    /* The expansion {1, 2} lost a member: it cannot be contracted as a whole any more. */
    EXPECT(muster_alting_contract(base, first, 2), MUSTER_EMISUSE);
    /* Index 1 is handed out again; the old handle stays stale. */
    OK(muster_alting_expand(base, 1, &reused));
    CHECK(reused == 1);
    EXPECT(muster_alting_sync(a), MUSTER_EMISUSE);
    OK(muster_alting_attach(r, "leave", 1, &again));
    OK(muster_alting_contract_self(again));
    OK(muster_alting_close(again));
    /* Front-end 2 (unowned now) leaves too; base alone fires. */
    OK(muster_alting_attach(r, "leave", 2, &again));
    OK(muster_alting_contract_self(again));
    EXPECT(muster_alting_poll(base, 0), 1);
    OK(muster_alt_destroy(alt));
    OK(muster_alting_close(again));
    OK(muster_alting_close(a)); /* a stale handle still closes */
    OK(muster_alting_close(base));
}

/* ---------------------------------------------------------------------------------------- */

static void *attach_in_thread(void *p) {
    muster_region *r = (muster_region *)p;
    muster_alting *f = NULL;
    intptr_t rc = muster_alting_attach(r, "caps", 1, &f);
    if (rc == MUSTER_OK) {
        (void)muster_alting_close(f);
    }
    return (void *)rc;
}

static void test_config(void) {
    char name[160];
    muster_region_config cfg;
    muster_region *r = NULL;
    muster_alting *f = NULL;
    muster_channel *c = NULL;
    uint32_t first = 0;
    pthread_t th;
    void *res = NULL;

    snprintf(name, sizeof name, "%s-caps", test_region);
    (void)muster_region_unlink(name);
    OK(muster_region_config_init(&cfg));
    CHECK(cfg.max_agents == 256 && cfg.max_alting_barriers == 256 && cfg.max_frontends_per_barrier == 32);
    CHECK(cfg.max_channels == 256 && cfg.max_channel_capacity == 64);
    cfg.max_frontends_per_barrier = 65;
    EXPECT(muster_region_create(name, &cfg, &r), MUSTER_EINVAL);
    cfg.max_frontends_per_barrier = 4;
    cfg.max_channel_capacity = 2;
    cfg.max_alting_barriers = 1;
    cfg.max_channels = 1;
    cfg.max_agents = 1;
    cfg.reserved[1] = 1; /* the last reserved word */
    EXPECT(muster_region_create(name, &cfg, &r), MUSTER_EINVAL);
    cfg.reserved[1] = 0;
    OK(muster_region_create(name, &cfg, &r));
    EXPECT(muster_alting_create(r, "caps", 5), MUSTER_EFULL);
    OK(muster_alting_create(r, "caps", 2));
    EXPECT(muster_alting_create(r, "caps2", 1), MUSTER_EFULL); /* one alting barrier */
    EXPECT(muster_channel_open(r, "ch", 3, 0, &c), MUSTER_EINVAL);
    OK(muster_channel_open(r, "ch", 2, 0, &c));
    OK(muster_alting_attach(r, "caps", 0, &f));
    OK(muster_alting_expand(f, 2, &first));
    EXPECT(muster_alting_expand(f, 1, &first), MUSTER_EFULL);
    OK(muster_alting_contract(f, first, 2));
    /* One agent: another thread cannot use alting objects while this one holds handles. */
    CHECK(pthread_create(&th, NULL, attach_in_thread, r) == 0);
    CHECK(pthread_join(th, &res) == 0);
    CHECK((intptr_t)res == MUSTER_EFULL);
    OK(muster_alting_close(f));
    OK(muster_channel_close(c));
    /* ... and can once this thread's last handle is closed. */
    CHECK(pthread_create(&th, NULL, attach_in_thread, r) == 0);
    CHECK(pthread_join(th, &res) == 0);
    CHECK((intptr_t)res == MUSTER_OK);
    OK(muster_region_close(r));
    OK(muster_region_unlink(name));
}

int main(void) {
    muster_region *r = NULL;
    test_init("alting-api", 120);
    OK(muster_region_create(test_region, NULL, &r));
    test_null_pointers(r);
    test_names(r);
    test_indices_and_membership(r);
    test_owner_process(r);
    test_owner_thread(r);
    test_poll(r);
    test_expand_contract(r);
    test_contract_self(r);
    test_config();
    OK(muster_region_close(r));
    printf("alting_api: ok\n");
    return 0;
}
