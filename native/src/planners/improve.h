// Internal: the improvement phase of balance. After the greedy search, a local search over
// whole plans: take one planned move back (its unit returns home) and put the best other move,
// or another target for a planned one, in its place, while that lowers the objective net of
// migration cost; within the same migration budget.
#ifndef PVEBAL_PLANNERS_IMPROVE_H_
#define PVEBAL_PLANNERS_IMPROVE_H_

#include "common.h"

#include "pvebal/deadline.h"

#include <functional>
#include <utility>
#include <vector>

namespace pvebal::detail {

struct plan_search {
    const decision_context &ctx;
    overlay &state;                     // the plan's final placement, with the objective tracked
    std::vector<unit> &units;           // unit.node: where the unit is in `state`
    const std::vector<node_id> &origin; // where each unit started
    const std::vector<bool> &fixed;     // units whose planned move stays as it is (repairs)
    unsigned max_migrations;
    double active_nodes;
    deadline &dl;
    // Whether the state after these (unit, target) moves may be kept (keep-ha-capacity).
    std::function<bool(const std::vector<std::pair<size_t, node_id>> &)> accept;
    // Where the units stood when the large-neighbourhood search last gave up (1,000 rounds
    // without a kept change); it does not start again from there. Kept across the passes of
    // one plan by the caller; null: no memory.
    std::vector<node_id> *lns_gave_up_at = nullptr;
};

// One accepted change: unit `out` went home (or moved on, when out == in), unit `in` to `to`.
struct plan_change {
    size_t out = 0;
    size_t in = 0;
    node_id to = 0;
    double gain = 0; // objective lowered
};

std::vector<plan_change> improve_plan(plan_search &s);

} // namespace pvebal::detail

#endif
