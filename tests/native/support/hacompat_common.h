// Shared by the tests of the upstream-compatible scheduler (hacompat_test.cpp,
// hacompat_crs_test.cpp).
#ifndef PVEBAL_TESTS_SUPPORT_HACOMPAT_COMMON_H_
#define PVEBAL_TESTS_SUPPORT_HACOMPAT_COMMON_H_

#include "pvebal/hacompat.h"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace pvebal::hacompat::test {

inline constexpr std::uint64_t MiB = 1024ull * 1024;
inline constexpr std::uint64_t GiB = 1024 * MiB;

// pve-ha-manager 5.2.0's simulator logs predate the normalised imbalance.
inline const scheduler_options raw_cv{.normalize_imbalance = false};

// The imbalance as HA's log line prints it (Perl sprintf "%.2f").
inline std::string two_decimals(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    return buf;
}

inline void require_ok(const status &s) {
    BOOST_REQUIRE_MESSAGE(s.has_value(), (s.has_value() ? std::string() : s.error()));
}

using names = std::vector<std::string>;

} // namespace pvebal::hacompat::test

#endif
