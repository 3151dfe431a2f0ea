/* Expanding and contracting an alting barrier: expand/contract for n = 1..8, use after contract,
 * wrong ranges, filling every slot, expansions with gaps, contraction through another handle,
 * expand while resigned; and a front-end contracting itself (JCSP contract()), which releases a
 * blocked sync partner and leaves a stale handle. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <pthread.h>
#include <stdint.h>

/* Attaches every front-end of an expansion; checks the barrier waits for them. */
static void check_expansion(muster_alting *base, uint32_t first, uint32_t n, muster_alting **fes) {
    uint32_t idx[64];
    uint32_t j;
    muster_region *r = NULL;
    EXPECT(muster_alting_expanded(base, first, idx, 64), (int)n);
    CHECK(idx[0] == first);
    open_test_region(&r);
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

int main(void) {
    muster_region *r = NULL;
    test_init("alting-expand", 120);
    OK(muster_region_create(test_region, NULL, &r));
    test_expand_contract(r);
    test_contract_self(r);
    OK(muster_region_close(r));
    printf("alting_expand_contract: ok\n");
    return 0;
}
