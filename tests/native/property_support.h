// What the planner property tests share: the cluster generator and the reference checker of
// tests/native/planner_property_test.cpp, behind three functions (so that the checker stays
// one, written from the documented rules, not from the engine's code).
#ifndef PVEBAL_TESTS_PROPERTY_SUPPORT_H_
#define PVEBAL_TESTS_PROPERTY_SUPPORT_H_

#include "pvebal/io.h"
#include "pvebal/report.h"

#include <cstdint>
#include <string>
#include <vector>

namespace pvebal::test::property {

// A generated cluster (nodes, guests, tags, HA rules, options) as snapshot JSON; the same seed
// gives the same text.
std::string generate_snapshot(std::uint32_t seed);
// Reads and binds a snapshot; throws with the reader's message when it is rejected.
snapshot load_snapshot(const std::string &text);
// Replays a balance plan wave by wave against the reference rules; the errors found (empty: the
// plan is safe). Plans with repair moves are not held to "never worse" or the threshold.
std::vector<std::string> check_balance_plan(const snapshot &s, const plan &p);

} // namespace pvebal::test::property

#endif
