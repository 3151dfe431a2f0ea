/* The alting fields of muster_region_config: their defaults, bad values (too many front-ends per
 * barrier, a nonzero reserved word), and each cap enforced (front-ends per barrier, alting
 * barriers, channels, channel capacity, agents: one agent means another thread cannot use
 * alting objects while this one holds handles, and can once they are closed). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <pthread.h>
#include <stdint.h>

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
    test_init("alting-config", 120);
    test_config(); /* makes its own region, with a config */
    printf("alting_config: ok\n");
    return 0;
}
