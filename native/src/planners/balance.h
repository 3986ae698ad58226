// Internal: the balance planner's search state (balance.cpp: the greedy search and the
// plan; balance_improve.cpp: the improvement phase on it and keep-ha-capacity).
#ifndef PVEBAL_PLANNERS_BALANCE_H_
#define PVEBAL_PLANNERS_BALANCE_H_

#include "common.h"
#include "ha_guard.h"

#include "pvebal/deadline.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace pvebal::detail {

// A candidate step of the search: one unit move, a swap of two, or a chain of two.
struct candidate {
    double score = 0; // gain - cost penalty (objective units)
    double gain = 0;
    double seconds = 0;
    std::vector<std::pair<size_t, node_id>> moves; // (unit index, target), in execution intent
    std::string kind;

    // Better: higher score; then cheaper; then lower unit index; then lower node id.
    bool better_than(const candidate &o) const {
        constexpr double eps = 1e-12; // float noise is not a preference
        if (std::fabs(score - o.score) > eps) {
            return score > o.score;
        }
        if (std::fabs(seconds - o.seconds) > eps) {
            return seconds < o.seconds;
        }
        return moves < o.moves;
    }
};

class balancer {
public:
    // Guests from which run() builds keep-ha-capacity's guard on a second thread while it builds
    // the units (below, one thread is fast enough). Tests lower it to check that path.
    static constexpr size_t early_guard_default = 1000;

    balancer(const cluster &c, const options &o, size_t early_guard_from = early_guard_default)
        : early_guard_from_(early_guard_from), c_(c), o_(o), a_(compile_affinity(c, o)),
          ctx_(c, o, a_), state_(c, o, a_, active_nodes(c)), obj_(state_.objective()),
          deadline_(o.deadline) {
        const std::vector<bool> active = active_nodes(c);
        active_ = std::max<double>(
            1, static_cast<double>(std::count(active.begin(), active.end(), true)));
    }

    plan run();

private:
    bool fits(const unit &u, node_id n) const {
        return !check_state(ctx_, state_, u.guests, n, false);
    }
    // Thresholds are relative to the current objective and per active node: one move on a
    // 64-node cluster gains about 1/16 of what the same move gains on 4 nodes, and must still
    // qualify when it is worth it.
    // Below the threshold (where the improvement phase may still exchange planned moves) the
    // threshold is the scale: gains keep a floor and do not shrink to noise.
    double scale() const { return std::max(obj_.value(), o_.threshold); }
    double min_gain() const { return o_.min_improvement * scale() / active_; }
    double cost_penalty(double seconds) const {
        return o_.cost_weight * scale() / active_ * seconds / 60.0;
    }
    void greedy(unsigned limit);
    void improve();
    void consider_single(candidate &best);
    void consider_pairs(candidate &best);
    std::vector<node_id> hot_nodes(bool hottest, size_t k) const;
    void apply(const candidate &cand);

    size_t early_guard_from_;
    const cluster &c_;
    const options &o_;
    affinity_groups a_;
    decision_context ctx_;
    overlay state_;              // placement, loads and the objective, changed together
    const objective_state &obj_; // state_'s objective
    std::vector<unit> units_;
    std::vector<node_id> origin_; // where each unit starts
    std::vector<bool> moved_;
    std::vector<planned_move> chosen_;
    unsigned migrations_ = 0;
    double active_ = 1; // active nodes (at least 1)
    // keep-ha-capacity: candidates whose final state it refused, never proposed again.
    std::unique_ptr<ha_guard> guard_;
    std::set<std::vector<std::pair<size_t, node_id>>> refused_;
    bool refused(const std::vector<std::pair<size_t, node_id>> &moves) const {
        return !refused_.empty() && refused_.count(moves) > 0;
    }
    bool guard_accepts(const candidate &cand);
    std::optional<size_t> temporaries(const std::vector<std::pair<size_t, node_id>> &changes) const;
    deadline deadline_;
};

} // namespace pvebal::detail

#endif
