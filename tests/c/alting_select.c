/* The alting C API's selects and channels: skip guards, select modes and timeouts (never
 * early), misuse of guards (a barrier twice, guards of different region handles), and channels:
 * write/read, try_write/try_read, timeouts, overwriting, channel guards in a select, values from
 * another process. The rest of the alting API: alting_errors.c, alting_owners.c, alting_poll.c,
 * alting_expand_contract.c, alting_config.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <stdint.h>

#define MS 1000000ll
#define SENTINEL_C ((muster_channel *)(uintptr_t)0x5555)

static void test_skip_and_select(muster_region *r) {
    muster_alt *a = NULL, *b = NULL;
    muster_alting *f = NULL;
    uint32_t ticket = 99;
    int64_t t0, waited;
    int64_t timeouts[] = {0, 1000, 100000, 1 * MS, 3 * MS};
    size_t i;
    int k;

    /* No guards. */
    OK(muster_alt_create(&a));
    EXPECT(muster_alt_select(a, MUSTER_SELECT_FAIR, -1), MUSTER_EINVAL);
    EXPECT(muster_alt_select(a, 7, 0), MUSTER_EINVAL);
    EXPECT(muster_alt_select(a, -1, 0), MUSTER_EINVAL);
    t0 = now_ns();
    EXPECT(muster_alt_select(a, MUSTER_SELECT_FAIR, 2 * MS), MUSTER_ETIMEDOUT);
    CHECK(now_ns() - t0 >= 2 * MS);
    /* Skip only (not bound to a region yet). */
    EXPECT(muster_alt_add_skip(a), 0);
    EXPECT(muster_alt_add_skip(a), 1);
    EXPECT(muster_alt_select(a, MUSTER_SELECT_FAIR, -1), 0);
    EXPECT(muster_alt_select(a, MUSTER_SELECT_FAIR, -1), 1);
    EXPECT(muster_alt_select(a, MUSTER_SELECT_FAIR, -1), 0);
    EXPECT(muster_alt_select(a, MUSTER_SELECT_PRI, -1), 0);
    k = muster_alt_select(a, MUSTER_SELECT_ARBITRARY, -1);
    CHECK(k == 0 || k == 1);
    OK(muster_alt_ticket(a, &ticket));
    CHECK(ticket == 0);
    /* A barrier guard that is not ready (its other party is absent) after the skips. */
    OK(muster_alting_create(r, "sel", 2));
    OK(muster_alting_attach(r, "sel", 0, &f));
    EXPECT(muster_alt_add_alting(a, f), 2);
    EXPECT(muster_alt_count(a), 3);
    EXPECT(muster_alt_select(a, MUSTER_SELECT_PRI, -1), 0);
    EXPECT(muster_alt_select(a, MUSTER_SELECT_FAIR, 0), 1);
    k = muster_alt_select(a, MUSTER_SELECT_ARBITRARY, -1);
    CHECK(k == 0 || k == 1);
    OK(muster_alt_destroy(a));

    /* Barrier first, then skip: the skip fires (the barrier is not ready). */
    OK(muster_alt_create(&a));
    EXPECT(muster_alt_add_alting(a, f), 0);
    EXPECT(muster_alt_add_skip(a), 1);
    EXPECT(muster_alt_select(a, MUSTER_SELECT_PRI, 5 * MS), 1);
    EXPECT(muster_alt_select(a, MUSTER_SELECT_FAIR, -1), 1);
    OK(muster_alt_ticket(a, &ticket));
    CHECK(ticket == 0);
    OK(muster_alt_destroy(a));

    /* Select timeouts are never early. */
    OK(muster_alt_create(&a));
    EXPECT(muster_alt_add_alting(a, f), 0);
    for (k = 0; k < 4; k++) {
        for (i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++) {
            t0 = now_ns();
            EXPECT(muster_alt_select(a, k % 2 ? MUSTER_SELECT_FAIR : MUSTER_SELECT_PRI, timeouts[i]),
                   MUSTER_ETIMEDOUT);
            waited = now_ns() - t0;
            if (waited < timeouts[i]) {
                fprintf(stderr, "select(%lld ns) timed out after %lld ns\n", (long long)timeouts[i],
                        (long long)waited);
                exit(1);
            }
        }
    }
    /* The same barrier twice in one select is misuse. */
    EXPECT(muster_alt_add_alting(a, f), 1);
    EXPECT(muster_alt_select(a, MUSTER_SELECT_FAIR, 0), MUSTER_EMISUSE);
    OK(muster_alt_destroy(a));

    /* Guards of different region handles do not mix. */
    {
        muster_region *r2 = NULL;
        muster_channel *c2 = NULL;
        open_test_region(&r2);
        OK(muster_channel_open(r2, "sel-ch", 1, 0, &c2));
        OK(muster_alt_create(&b));
        EXPECT(muster_alt_add_alting(b, f), 0);
        EXPECT(muster_alt_add_channel(b, c2), MUSTER_EMISUSE);
        EXPECT(muster_alt_count(b), 1);
        OK(muster_alt_destroy(b));
        OK(muster_channel_close(c2));
        OK(muster_region_close(r2));
    }
    OK(muster_alting_close(f));
}

/* ---------------------------------------------------------------------------------------- */

static void test_channels(muster_region *r) {
    muster_channel *c = SENTINEL_C, *o = NULL;
    muster_alting *f = NULL;
    muster_alt *a = NULL;
    uint64_t v = 0, i;
    int64_t t0;
    pid_t pid;

    EXPECT(muster_channel_open(r, "ch", 0, 0, &c), MUSTER_EINVAL);
    EXPECT(muster_channel_open(r, "ch", 65, 0, &c), MUSTER_EINVAL); /* default max 64 */
    EXPECT(muster_channel_open(r, "ch", 4, 4, &c), MUSTER_EINVAL); /* no such flag */
    EXPECT(muster_channel_open(r, "ch", 4, 0x80000000u, &c), MUSTER_EINVAL);
    CHECK(c == SENTINEL_C);
    OK(muster_channel_open(r, "ch", 4, 0, &c));
    for (i = 1; i <= 4; i++) {
        OK(muster_channel_write(c, i * 100));
    }
    EXPECT(muster_channel_try_write(c, 999), 0);
    for (i = 1; i <= 4; i++) {
        v = 0;
        OK(muster_channel_read(c, -1, &v));
        CHECK(v == i * 100);
    }
    v = 12345;
    EXPECT(muster_channel_try_read(c, &v), 0);
    CHECK(v == 12345);
    t0 = now_ns();
    EXPECT(muster_channel_read(c, 1 * MS, &v), MUSTER_ETIMEDOUT);
    CHECK(now_ns() - t0 >= 1 * MS && v == 12345);
    EXPECT(muster_channel_try_write(c, 7), 1);
    EXPECT(muster_channel_try_read(c, &v), 1);
    CHECK(v == 7);
    OK(muster_channel_write(c, UINT64_MAX));
    OK(muster_channel_read(c, 0, &v));
    CHECK(v == UINT64_MAX);

    /* Overwriting: the oldest value goes. */
    OK(muster_channel_open(r, "ow", 2, MUSTER_CHANNEL_OVERWRITE, &o));
    OK(muster_channel_write(o, 1));
    OK(muster_channel_write(o, 2));
    OK(muster_channel_write(o, 3));
    OK(muster_channel_read(o, -1, &v));
    CHECK(v == 2);
    OK(muster_channel_read(o, -1, &v));
    CHECK(v == 3);
    OK(muster_channel_close(o));

    /* As a guard, beside a barrier that is not ready. */
    OK(muster_alting_create(r, "chsel", 2));
    OK(muster_alting_attach(r, "chsel", 0, &f));
    OK(muster_alt_create(&a));
    EXPECT(muster_alt_add_alting(a, f), 0);
    EXPECT(muster_alt_add_channel(a, c), 1);
    EXPECT(muster_alt_select(a, MUSTER_SELECT_FAIR, 1 * MS), MUSTER_ETIMEDOUT);
    OK(muster_channel_write(c, 42));
    EXPECT(muster_alt_select(a, MUSTER_SELECT_FAIR, 1000 * MS), 1);
    EXPECT(muster_channel_try_read(c, &v), 1);
    CHECK(v == 42);
    EXPECT(muster_alt_select(a, MUSTER_SELECT_PRI, 0), MUSTER_ETIMEDOUT);

    /* Values from another process wake the select. */
    pid = fork_child();
    if (pid == 0) {
        muster_region *cr = NULL;
        muster_channel *cc = NULL;
        open_test_region(&cr);
        OK(muster_channel_open(cr, "ch", 4, 0, &cc));
        for (i = 1; i <= 100; i++) {
            OK(muster_channel_write(cc, i));
            if (i % 10 == 0) {
                sleep_ms(1);
            }
        }
        OK(muster_channel_close(cc));
        OK(muster_region_close(cr));
        exit(0);
    }
    for (i = 1; i <= 100; i++) {
        EXPECT(muster_alt_select(a, MUSTER_SELECT_FAIR, 30000 * MS), 1);
        EXPECT(muster_channel_try_read(c, &v), 1);
        CHECK(v == i);
    }
    expect_child_ok(pid, "channel writer");
    OK(muster_alt_destroy(a));
    OK(muster_alting_close(f));
    OK(muster_channel_close(c));
}

/* A one-to-one channel: the first writer owns the writing end; a writer in another process is
 * refused while that one lives, and reading works as usual. */
static void test_one_to_one(muster_region *r) {
    muster_channel *c = NULL;
    uint64_t v = 0;
    pid_t pid;
    OK(muster_channel_open(r, "one", 2, MUSTER_CHANNEL_ONE_TO_ONE, &c));
    OK(muster_channel_write(c, 7));
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        muster_region *cr = NULL;
        muster_channel *cc = NULL;
        OK(muster_region_open(test_region, &cr));
        OK(muster_channel_open(cr, "one", 2, MUSTER_CHANNEL_ONE_TO_ONE, &cc));
        EXPECT(muster_channel_write(cc, 8), MUSTER_EMISUSE);
        OK(muster_channel_close(cc));
        OK(muster_region_close(cr));
        exit(0);
    }
    expect_child_ok(pid, "second writer of a one-to-one channel");
    OK(muster_channel_write(c, 9));
    OK(muster_channel_read(c, -1, &v));
    CHECK(v == 7);
    OK(muster_channel_read(c, -1, &v));
    CHECK(v == 9);
    OK(muster_channel_close(c));
}

int main(void) {
    muster_region *r = NULL;
    test_init("alting-select", 120);
    OK(muster_region_create(test_region, NULL, &r));
    test_skip_and_select(r);
    test_channels(r);
    test_one_to_one(r);
    OK(muster_region_close(r));
    printf("alting_select: ok\n");
    return 0;
}
