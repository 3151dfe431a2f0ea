/* Every error path of the C API: NULL pointers, bad names, bad configs, missing and corrupt
 * region files (written by hand into /dev/shm), capacity limits, misuse, and the diagnostics
 * functions (strerror, last error message, version). */
#define _GNU_SOURCE
#include "testutil.h"

#include <stdint.h>

#define SENTINEL_R ((muster_region *)(uintptr_t)0x5151)
#define SENTINEL_B ((muster_barrier *)(uintptr_t)0x5252)

static const int all_codes[] = {
    MUSTER_EINVAL,   MUSTER_ENAME,  MUSTER_EEXIST,  MUSTER_ENOENT,    MUSTER_EFULL,    MUSTER_ETIMEDOUT,
    MUSTER_ECANCELLED, MUSTER_EBROKEN, MUSTER_EPEERDIED, MUSTER_EMISMATCH, MUSTER_EVERSION, MUSTER_ECORRUPT,
    MUSTER_EMISUSE,  MUSTER_EPERM,  MUSTER_ENOMEM,  MUSTER_EIO,       MUSTER_EACTION,  MUSTER_EINTERNAL,
};

static char path_buf[256];
static const char *shm_path(const char *name) {
    snprintf(path_buf, sizeof path_buf, "/dev/shm/%s", name);
    return path_buf;
}

/* Writes `len` bytes of `data` as the region file `name`. */
static void write_region_file(const char *name, const void *data, size_t len) {
    int fd = open(shm_path(name), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    CHECK(len == 0 || write(fd, data, len) == (ssize_t)len);
    CHECK(close(fd) == 0);
}

static void test_diagnostics(void) {
    size_t i, j;
    char buf[128];
    int n;

    /* Stable values. */
    for (i = 0; i < 17; i++) {
        CHECK(all_codes[i] == -(int)i - 1);
    }
    CHECK(MUSTER_OK == 0);
    /* A distinct, non-empty static message for every code; something sensible for others. */
    for (i = 0; i < sizeof all_codes / sizeof all_codes[0]; i++) {
        const char *s = muster_strerror(all_codes[i]);
        CHECK(s != NULL && s[0] != '\0');
        CHECK(strcmp(s, "unknown error code") != 0);
        for (j = 0; j < i; j++) {
            CHECK(strcmp(s, muster_strerror(all_codes[j])) != 0);
        }
    }
    CHECK(strcmp(muster_strerror(MUSTER_OK), "success") == 0);
    CHECK(strcmp(muster_strerror(-31), "unknown error code") == 0);
    CHECK(strcmp(muster_strerror(-1000), "unknown error code") == 0);
    CHECK(strcmp(muster_strerror((int)0x80000000u), "unknown error code") == 0);
    CHECK(muster_strerror(7) != NULL);

    /* Version: header macros == library == what the test was built for. */
    CHECK(strcmp(muster_version(), MUSTER_VERSION_STRING) == 0);
#ifdef EXPECTED_VERSION
    CHECK(strcmp(muster_version(), EXPECTED_VERSION) == 0);
#endif
    snprintf(buf, sizeof buf, "%d.%d.%d", MUSTER_VERSION_MAJOR, MUSTER_VERSION_MINOR, MUSTER_VERSION_PATCH);
    CHECK(strcmp(buf, MUSTER_VERSION_STRING) == 0);
    CHECK(MUSTER_VERSION_NUMBER ==
          MUSTER_VERSION_MAJOR * 10000 + MUSTER_VERSION_MINOR * 100 + MUSTER_VERSION_PATCH);

    /* Last error message. */
    EXPECT(muster_region_open(NULL, NULL), MUSTER_EINVAL);
    n = muster_last_error_message(NULL, 0);
    CHECK(n > 0);
    EXPECT(muster_last_error_message(NULL, 10), MUSTER_EINVAL);
    memset(buf, 'x', sizeof buf);
    CHECK(muster_last_error_message(buf, 4) == n);
    CHECK(buf[3] == '\0' && strlen(buf) == 3);
    CHECK(muster_last_error_message(buf, sizeof buf) == n);
    CHECK((int)strlen(buf) == n);
    CHECK(muster_last_peer_pid() == 0);
}

static void test_null_pointers(void) {
    muster_region *r = SENTINEL_R;
    muster_region *real = NULL;
    muster_barrier *b = SENTINEL_B;
    muster_barrier *rb = NULL;
    muster_region_config cfg;
    uint64_t gen = 77;

    EXPECT(muster_region_config_init(NULL), MUSTER_EINVAL);
    EXPECT(muster_region_create(NULL, NULL, &r), MUSTER_EINVAL);
    EXPECT(muster_region_create(test_region, NULL, NULL), MUSTER_EINVAL);
    EXPECT(muster_region_open(NULL, &r), MUSTER_EINVAL);
    EXPECT(muster_region_open(test_region, NULL), MUSTER_EINVAL);
    EXPECT(muster_region_open_or_create(NULL, NULL, &r), MUSTER_EINVAL);
    EXPECT(muster_region_open_or_create(test_region, NULL, NULL), MUSTER_EINVAL);
    EXPECT(muster_region_unlink(NULL), MUSTER_EINVAL);
    CHECK(r == SENTINEL_R); /* out-params untouched on failure */
    OK(muster_region_close(NULL));
    OK(muster_barrier_close(NULL));

    OK(muster_region_config_init(&cfg));
    OK(muster_region_create(test_region, &cfg, &real));
    EXPECT(muster_barrier_open(NULL, "b", 2, &b), MUSTER_EINVAL);
    EXPECT(muster_barrier_open(real, NULL, 2, &b), MUSTER_EINVAL);
    EXPECT(muster_barrier_open(real, "b", 2, NULL), MUSTER_EINVAL);
    CHECK(b == SENTINEL_B);
    EXPECT(muster_barrier_enroll(NULL), MUSTER_EINVAL);
    EXPECT(muster_barrier_resign(NULL), MUSTER_EINVAL);
    EXPECT(muster_barrier_wait(NULL), MUSTER_EINVAL);
    EXPECT(muster_barrier_wait_timeout(NULL, 1000), MUSTER_EINVAL);
    EXPECT(muster_barrier_abort(NULL), MUSTER_EINVAL);
    EXPECT(muster_barrier_reset(NULL), MUSTER_EINVAL);
    EXPECT(muster_barrier_parties(NULL), MUSTER_EINVAL);
    EXPECT(muster_barrier_waiting(NULL), MUSTER_EINVAL);
    EXPECT(muster_barrier_broken(NULL), MUSTER_EINVAL);
    EXPECT(muster_barrier_is_member(NULL), MUSTER_EINVAL);
    EXPECT(muster_barrier_generation(NULL, &gen), MUSTER_EINVAL);
    OK(muster_barrier_open(real, "b", 2, &rb));
    EXPECT(muster_barrier_generation(rb, NULL), MUSTER_EINVAL);
    CHECK(gen == 77);
    OK(muster_barrier_generation(rb, &gen));
    CHECK(gen != 77);
    OK(muster_barrier_close(rb));
    OK(muster_region_close(real));
    OK(muster_region_unlink(test_region));
}

static void test_names(void) {
    static const char *bad_regions[] = {
        "", ".hidden", "a/b", "..", "a b", "tab\t", "\xff\xfe", "caf\xc3\xa9",
        "x123456789012345678901234567890123456789012345678901234567890123456789",
    };
    static const char *bad_barriers[] = {
        "", "line\nbreak", "bell\a", "\xff\xfe", "\xc3",
        "x123456789012345678901234567890123456789012345678901234567890123456789",
    };
    char longest[65];
    muster_region *r = SENTINEL_R;
    muster_barrier *b = SENTINEL_B;
    size_t i;

    for (i = 0; i < sizeof bad_regions / sizeof bad_regions[0]; i++) {
        EXPECT(muster_region_create(bad_regions[i], NULL, &r), MUSTER_ENAME);
        EXPECT(muster_region_open(bad_regions[i], &r), MUSTER_ENAME);
        EXPECT(muster_region_open_or_create(bad_regions[i], NULL, &r), MUSTER_ENAME);
        EXPECT(muster_region_unlink(bad_regions[i]), MUSTER_ENAME);
    }
    CHECK(r == SENTINEL_R);

    OK(muster_region_create(test_region, NULL, &r));
    for (i = 0; i < sizeof bad_barriers / sizeof bad_barriers[0]; i++) {
        EXPECT(muster_barrier_open(r, bad_barriers[i], 2, &b), MUSTER_ENAME);
    }
    CHECK(b == SENTINEL_B);
    /* Good names: spaces and UTF-8 in barrier names, 64 bytes. */
    memset(longest, 'n', 64);
    longest[64] = '\0';
    OK(muster_barrier_open(r, "Phase 1", 2, &b));
    OK(muster_barrier_close(b));
    OK(muster_barrier_open(r, "\xc3\xbc-bahn", 2, &b));
    OK(muster_barrier_close(b));
    OK(muster_barrier_open(r, longest, 2, &b));
    OK(muster_barrier_close(b));
    OK(muster_region_close(r));
    OK(muster_region_unlink(test_region));
}

static void test_configs(void) {
    muster_region_config cfg;
    muster_region *r = SENTINEL_R;

    OK(muster_region_config_init(&cfg));
    CHECK(cfg.size == sizeof cfg);
    CHECK(cfg.max_barriers > 0 && cfg.max_processes > 0 && cfg.mode == 0600);

    cfg.size = 0;
    EXPECT(muster_region_create(test_region, &cfg, &r), MUSTER_EINVAL);
    OK(muster_region_config_init(&cfg));
    cfg.reserved[0] = 1;
    EXPECT(muster_region_create(test_region, &cfg, &r), MUSTER_EINVAL);
    OK(muster_region_config_init(&cfg));
    cfg.max_barriers = 70000;
    EXPECT(muster_region_create(test_region, &cfg, &r), MUSTER_EINVAL);
    OK(muster_region_config_init(&cfg));
    cfg.max_processes = 5000;
    EXPECT(muster_region_create(test_region, &cfg, &r), MUSTER_EINVAL);
    OK(muster_region_config_init(&cfg));
    cfg.mode = 0400;
    EXPECT(muster_region_create(test_region, &cfg, &r), MUSTER_EINVAL);
    cfg.mode = 010600;
    EXPECT(muster_region_create(test_region, &cfg, &r), MUSTER_EINVAL);
    CHECK(r == SENTINEL_R);
    EXPECT(muster_region_open(test_region, &r), MUSTER_ENOENT); /* nothing was created */

    /* Zeroed fields take the defaults. */
    memset(&cfg, 0, sizeof cfg);
    cfg.size = sizeof cfg;
    cfg.mode = 0660;
    OK(muster_region_create(test_region, &cfg, &r));
    OK(muster_region_close(r));
    OK(muster_region_unlink(test_region));
}

static void test_lifecycle_errors(void) {
    muster_region *r = NULL, *r2 = NULL, *r3 = SENTINEL_R;

    EXPECT(muster_region_open(test_region, &r3), MUSTER_ENOENT);
    EXPECT(muster_region_unlink(test_region), MUSTER_ENOENT);
    CHECK(r3 == SENTINEL_R);
    OK(muster_region_create(test_region, NULL, &r));
    EXPECT(muster_region_create(test_region, NULL, &r3), MUSTER_EEXIST);
    CHECK(r3 == SENTINEL_R);
    OK(muster_region_open_or_create(test_region, NULL, &r2));
    OK(muster_region_close(r2));
    OK(muster_region_open(test_region, &r2));
    OK(muster_region_close(r2));
    OK(muster_region_unlink(test_region));
    EXPECT(muster_region_open(test_region, &r3), MUSTER_ENOENT);
    /* open_or_create creates when missing. */
    OK(muster_region_open_or_create(test_region, NULL, &r2));
    OK(muster_region_close(r2));
    OK(muster_region_close(r)); /* the unlinked region still closes cleanly */
    OK(muster_region_unlink(test_region));
}

static void test_corrupt_files(void) {
    unsigned char page[8192] = {0};
    muster_region *r = SENTINEL_R;
    muster_region *good = NULL;
    uint32_t v;

    /* Empty, truncated and garbage files. */
    write_region_file(test_region, page, 0);
    EXPECT(muster_region_open(test_region, &r), MUSTER_ECORRUPT);
    memset(page, 0xab, sizeof page);
    write_region_file(test_region, page, 100);
    EXPECT(muster_region_open(test_region, &r), MUSTER_ECORRUPT);
    write_region_file(test_region, page, sizeof page);
    EXPECT(muster_region_open(test_region, &r), MUSTER_ECORRUPT);
    EXPECT(muster_region_open_or_create(test_region, NULL, &r), MUSTER_ECORRUPT);
    /* Creating over a corrupt file is still EEXIST. */
    EXPECT(muster_region_create(test_region, NULL, &r), MUSTER_EEXIST);

    /* A Muster header of another layout version: magic "MUSTER\0\1", layout_version 99 at
     * offset 8, ready = 1 at offset 24. */
    memset(page, 0, sizeof page);
    memcpy(page, "MUSTER\0\1", 8);
    v = 99;
    memcpy(page + 8, &v, 4);
    v = 1;
    memcpy(page + 24, &v, 4);
    write_region_file(test_region, page, sizeof page);
    EXPECT(muster_region_open(test_region, &r), MUSTER_EVERSION);
    CHECK(r == SENTINEL_R);
    OK(muster_region_unlink(test_region));

    /* A real region, then truncated behind libmuster's back. */
    OK(muster_region_create(test_region, NULL, &good));
    OK(muster_region_close(good));
    CHECK(truncate(shm_path(test_region), 4096) == 0);
    EXPECT(muster_region_open(test_region, &r), MUSTER_ECORRUPT);
    /* ... or with its capacity fields overwritten (max_barriers at offset 32). */
    OK(muster_region_unlink(test_region));
    OK(muster_region_create(test_region, NULL, &good));
    OK(muster_region_close(good));
    {
        int fd = open(shm_path(test_region), O_WRONLY);
        v = 0xffffffffu;
        CHECK(fd >= 0);
        CHECK(pwrite(fd, &v, 4, 32) == 4);
        CHECK(close(fd) == 0);
    }
    EXPECT(muster_region_open(test_region, &r), MUSTER_ECORRUPT);
    CHECK(r == SENTINEL_R);
    OK(muster_region_unlink(test_region));

    /* A region file this user may not open (only meaningful when not root). */
    if (geteuid() != 0) {
        write_region_file(test_region, page, sizeof page);
        CHECK(chmod(shm_path(test_region), 0) == 0);
        EXPECT(muster_region_open(test_region, &r), MUSTER_EPERM);
        OK(muster_region_unlink(test_region));
    }
}

static void test_capacity(void) {
    muster_region_config cfg;
    muster_region *r = NULL, *r2 = SENTINEL_R;
    muster_barrier *a = NULL, *b = NULL, *c = SENTINEL_B;

    OK(muster_region_config_init(&cfg));
    cfg.max_barriers = 2;
    cfg.max_processes = 1;
    OK(muster_region_create(test_region, &cfg, &r));
    OK(muster_barrier_open(r, "one", 1, &a));
    OK(muster_barrier_open(r, "two", 0, &b));
    EXPECT(muster_barrier_open(r, "three", 1, &c), MUSTER_EFULL);
    CHECK(c == SENTINEL_B);
    /* Reopening an existing name needs no new slot. */
    OK(muster_barrier_open(r, "one", 1, &c));
    OK(muster_barrier_close(c));
    /* Every region handle takes a process slot. */
    EXPECT(muster_region_open(test_region, &r2), MUSTER_EFULL);
    CHECK(r2 == SENTINEL_R);
    OK(muster_barrier_close(a));
    OK(muster_barrier_close(b));
    OK(muster_region_close(r));
    OK(muster_region_open(test_region, &r2)); /* the slot is free again */
    OK(muster_region_close(r2));
    OK(muster_region_unlink(test_region));
}

static void test_misuse(void) {
    muster_region *r = NULL;
    muster_barrier *counted = NULL, *m = NULL, *m2 = NULL, *x = SENTINEL_B;
    uint64_t g0 = 0, g1 = 0;
    pid_t pid;

    OK(muster_region_create(test_region, NULL, &r));
    OK(muster_barrier_open(r, "counted", 2, &counted));
    EXPECT(muster_barrier_open(r, "counted", 3, &x), MUSTER_EMISMATCH);
    EXPECT(muster_barrier_open(r, "counted", 0, &x), MUSTER_EMISMATCH);
    EXPECT(muster_barrier_open(r, "big", 40000, &x), MUSTER_EINVAL);
    CHECK(x == SENTINEL_B);
    CHECK(muster_barrier_parties(counted) == 2);
    CHECK(muster_barrier_waiting(counted) == 0);
    CHECK(muster_barrier_broken(counted) == 0);
    CHECK(muster_barrier_is_member(counted) == 0);
    EXPECT(muster_barrier_resign(counted), MUSTER_EMISUSE);

    OK(muster_barrier_open(r, "members", 0, &m));
    EXPECT(muster_barrier_open(r, "members", 1, &x), MUSTER_EMISMATCH);
    CHECK(muster_barrier_parties(m) == 0);
    EXPECT(muster_barrier_wait(m), MUSTER_EMISUSE);             /* not a member */
    EXPECT(muster_barrier_wait_timeout(m, 1000), MUSTER_EMISUSE);
    EXPECT(muster_barrier_resign(m), MUSTER_EMISUSE);           /* not a member */
    OK(muster_barrier_enroll(m));
    EXPECT(muster_barrier_enroll(m), MUSTER_EMISUSE);           /* twice */
    CHECK(muster_barrier_is_member(m) == 1);
    CHECK(muster_barrier_parties(m) == 1);
    /* A lone member passes straight through; index 0 each time. */
    OK(muster_barrier_generation(m, &g0));
    EXPECT(muster_barrier_wait(m), 0);
    EXPECT(muster_barrier_wait_timeout(m, 0), 0);
    OK(muster_barrier_generation(m, &g1));
    CHECK(g1 == g0 + 2);
    /* Two members in one process (two handles). */
    OK(muster_barrier_open(r, "members", 0, &m2));
    OK(muster_barrier_enroll(m2));
    CHECK(muster_barrier_parties(m) == 2);
    OK(muster_barrier_resign(m2));
    CHECK(muster_barrier_parties(m) == 1);
    EXPECT(muster_barrier_resign(m2), MUSTER_EMISUSE);
    EXPECT(muster_barrier_wait(m2), MUSTER_ECANCELLED); /* resigned: cancelled until it enrolls */
    OK(muster_barrier_enroll(m2));
    OK(muster_barrier_close(m2)); /* closing a member resigns it */
    CHECK(muster_barrier_parties(m) == 1);

    /* A handle inherited across fork must not be used in the child. */
    pid = fork_child();
    if (pid == 0) {
        _exit(muster_barrier_enroll(counted) == MUSTER_EMISUSE ? 0 : 1);
    }
    expect_child_ok(pid, "fork misuse");
    CHECK(muster_barrier_parties(m) == 1);
    CHECK(muster_barrier_waiting(m) == 0);

    OK(muster_barrier_close(m));
    OK(muster_barrier_close(counted));
    OK(muster_region_close(r));
    OK(muster_region_unlink(test_region));
}

int main(void) {
    test_init("errors", 110);
    test_diagnostics();
    test_null_pointers();
    test_names();
    test_configs();
    test_lifecycle_errors();
    test_corrupt_files();
    test_capacity();
    test_misuse();
    printf("errors: ok\n");
    return 0;
}
