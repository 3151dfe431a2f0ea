// The header compiled as C++ (c++ -std=c++11 -Wall -Wextra -Werror -pedantic) and linked: the
// extern "C" guards must give C linkage, and the API must be usable from C++ as is.
#include <muster.h>
#include <muster.h> // the include guard makes a second inclusion harmless

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

static_assert(MUSTER_OK == 0, "MUSTER_OK");
static_assert(MUSTER_EINVAL == -1 && MUSTER_EIO == -16, "stable codes");
static_assert(sizeof(muster_region_config) == 64, "config layout");

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            std::exit(1);                                                            \
        }                                                                            \
    } while (0)

int main() {
    const std::string name = "muster-cxxtest-" + std::to_string(static_cast<long>(getpid()));
    muster_region_config cfg;
    CHECK(muster_region_config_init(&cfg) == MUSTER_OK);
    cfg.max_barriers = 4;
    muster_region *region = nullptr;
    CHECK(muster_region_create(name.c_str(), &cfg, &region) == MUSTER_OK);
    muster_barrier *barrier = nullptr;
    CHECK(muster_barrier_open(region, "solo", 1, &barrier) == MUSTER_OK);
    for (int i = 0; i < 3; i++) {
        CHECK(muster_barrier_wait(barrier) == 0);
    }
    std::uint64_t generation = 0;
    CHECK(muster_barrier_generation(barrier, &generation) == MUSTER_OK && generation >= 3);
    CHECK(std::strcmp(muster_version(), MUSTER_VERSION_STRING) == 0);
    CHECK(std::strcmp(muster_strerror(MUSTER_EBROKEN), "barrier broken") == 0);
    CHECK(muster_barrier_close(barrier) == MUSTER_OK);
    CHECK(muster_region_close(region) == MUSTER_OK);
    CHECK(muster_region_unlink(name.c_str()) == MUSTER_OK);
    std::printf("header_cxx: ok (libmuster %s)\n", muster_version());
    return 0;
}
