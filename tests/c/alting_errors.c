/* The alting C API's error paths, each followed by normal operation: NULL pointers (handles and
 * out-params, which stay untouched on failure), bad and unknown names, names of another kind, bad
 * sizes and duplicates, indices out of range or not in use, enroll/resign misuse, and sync, poll
 * and expand while resigned. Owners are alting_owners.c; expand/contract is
 * alting_expand_contract.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <stdint.h>

#define SENTINEL_F ((muster_alting *)(uintptr_t)0x5353)
#define SENTINEL_A ((muster_alt *)(uintptr_t)0x5454)
#define SENTINEL_C ((muster_channel *)(uintptr_t)0x5555)

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

int main(void) {
    muster_region *r = NULL;
    test_init("alting-errors", 120);
    OK(muster_region_create(test_region, NULL, &r));
    test_null_pointers(r);
    test_names(r);
    test_indices_and_membership(r);
    OK(muster_region_close(r));
    printf("alting_errors: ok\n");
    return 0;
}
