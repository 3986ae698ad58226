// Internal: the recovery solver behind `failover` and `capacity`. Built once per cluster, then
// asked "where do the guests of these failed nodes restart?" for many failure sets.
#ifndef PVEBAL_PLANNERS_RECOVERY_H_
#define PVEBAL_PLANNERS_RECOVERY_H_

#include "constraints/registry.h"
#include "pvebal/constraints.h"
#include "pvebal/deadline.h"
#include "pvebal/report.h"

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace pvebal::detail {

class recovery_solver {
public:
    recovery_solver(const cluster &c, const options &o, bool all_guests);
    // The same from a planner's decision context (its affinity groups are copied): the same
    // answers, without compiling the rules again. `planning` must be in planning mode, built
    // from c and o.
    recovery_solver(const cluster &c, const options &o, bool all_guests,
                    const decision_context &planning);

    // One failure scenario's answer. While it lives, the solver's overlay (state()) shows the
    // guests restarted where it says; when it ends, the overlay is back as it was.
    struct answer {
        std::vector<std::pair<guest_id, node_id>> placed; // in restart order
        std::vector<guest_id> unplaced;                   // could not restart (capacity or rules)
        res shortfall;                                    // demand of the unplaced
        bool proven = true; // false when an exhaustive search ran out of budget
        overlay::trial scope;
    };

    // Guests that need a restart when `failed` nodes fail (sorted by vmid).
    std::vector<guest_id> candidates(const std::vector<bool> &failed) const;
    // balanced: each unit to the node that keeps the survivors most balanced (failover);
    // otherwise the node with the most free memory that fits (a cheaper feasibility test for
    // capacity's many scenarios). Both fall back to the exhaustive search.
    // One answer at a time: the next solve() needs the previous one ended.
    answer solve(const std::vector<bool> &failed, long search_budget, bool balanced = true);
    // Whether some surviving node passes the static checks (pins, HA node affinity,
    // precondition) for g: if none does, only a rule change helps, not more capacity.
    bool has_allowed_node(guest_id g, const std::vector<bool> &failed) const;
    // Puts guest g on node n for every later scenario (a plan's intermediate state), with
    // `demand` as its load there when given. Not while an outcome lives. Whether g is
    // recoverable stays as its original node decided (local disks do not move in a balance).
    void relocate(guest_id g, node_id n, const res *demand = nullptr);
    // Whether `placed` (an earlier outcome's restarts, in order) is still a valid answer for
    // `failed` as the overlay stands: the same guests to restart, each passing the checks
    // where it went. Much cheaper than solve(); false says nothing (keep-together units and
    // any change fall back to solve()).
    bool still_valid(const std::vector<bool> &failed,
                     const std::vector<std::pair<guest_id, node_id>> &placed);
    // capacity's shortcut for a failure set F = base + {x}: `base` failed with every
    // recoverable guest restarted as `base_placed` says. That answer still holds without x for
    // every guest it did not send to x (x's death only takes room away on x, and the rules
    // are re-checked), so only x's guests and those sent to x need a node: placed greedily
    // (most free memory first, each checked like solve()'s). True with the whole answer for F
    // in `placed` (unless null) when everyone restarts; false says nothing (solve() decides).
    // A keep-together group is re-placed whole when x held a member or the base sent it to x
    // (its partners' majority decides its node, as in solve()). The base answer stays applied
    // (on extend()'s own arrays; the overlay never changes) between calls with the same base;
    // end_extend() (or solve()) forgets it.
    bool extend(const std::vector<node_id> &base,
                const std::vector<std::pair<guest_id, node_id>> &base_placed, node_id x,
                std::vector<std::pair<guest_id, node_id>> *placed);
    void end_extend();
    // The guard's shortcut: `placed` was a valid answer for `failed`; since then guests
    // arrived only at the nodes marked in `dirty` (or the failed nodes' guests changed). Keeps
    // every restart on a clean node (its room only grew), checks again those on dirty nodes in
    // order, drops guests no longer to restart and places the new ones greedily (most free
    // memory first). True with the new answer in `placed`; false says nothing (solve()
    // decides). Only when the caller knows no member of a keep-together group it restarts
    // moved (its partners decide the node): such a group on a dirty node is checked again as
    // one unit, on the partners' majority, as solve() forms it; a new one falls back to solve().
    // same_guests: the caller knows the failed nodes run the same guests as when `placed` was
    // found; then only the room on the dirty nodes is checked again (`placed` stays).
    bool revalidate(const std::vector<bool> &failed, const std::vector<bool> &dirty,
                    std::vector<std::pair<guest_id, node_id>> &placed, bool same_guests = false);
    // Why guest g cannot restart on each node, after solve() left it unplaced.
    std::vector<node_rejection> explain(const std::vector<bool> &failed, const answer &out,
                                        guest_id g);

    // Guests that can never be recovered (local disks or devices), with the reason.
    const std::vector<std::pair<guest_id, rejection>> &unrecoverable() const {
        return unrecoverable_;
    }
    int priority(guest_id g) const { return priority_[g]; }
    const res &demand(guest_id g) const { return demand_[g]; }
    bool needs_recovery(guest_id g) const { return needs_[g]; }
    const affinity_groups &affinity() const { return a_; }
    const overlay &state() const { return state_; }
    // The exhaustive search also stops at this deadline (as when its budget runs out).
    void set_deadline(deadline *d) { deadline_ = d; }

private:
    struct unit {
        std::vector<guest_id> guests; // each still on its (failed) node until placed
        res demand;
        int priority = 0;
        std::vector<node_id> allowed;
        double share = 0; // dominant share of the survivors' capacity (restart order)
    };
    std::vector<unit> make_units(const std::vector<bool> &failed,
                                 const std::vector<bool> &alive) const;
    // The registry's target units for this failure set (the context is a cache: it follows
    // the failure set asked about last).
    const decision_context &context_for(const std::vector<bool> &failed) const;
    void init(bool all_guests); // the constructors' common part
    bool fits(const unit &u, node_id n) const;
    // Places units [i, end) (all of them, or none), exhaustively within the budget.
    bool search(std::vector<unit> &units, size_t i, size_t end, long &budget,
                std::vector<node_id> &choice);

    const cluster &c_;
    const options &o_;
    affinity_groups a_;
    mutable decision_context ctx_;
    overlay state_;
    std::vector<bool> needs_; // HA-managed (or any running guest with all_guests)
    std::vector<bool> recoverable_;
    std::vector<int> priority_;
    std::vector<res> demand_;
    std::vector<std::vector<guest_id>> needing_by_node_;  // guests that need recovery, per node
    std::vector<std::vector<guest_id>> together_members_; // per keep-together group
    std::vector<double> usable_memory_;                   // per node (fixed for the cluster)
    std::vector<std::pair<guest_id, rejection>> unrecoverable_;
    deadline *deadline_ = nullptr;
    long steps_ = 0;
    bool base_applied_ = false;         // extend(): a base answer is applied, ...
    std::vector<node_id> base_set_;     // ... this base's
    std::vector<guest_id> base_guests_; // the guests the base answer moved
    std::vector<bool> in_base_;
    // extend() on plain arrays (no overlay journal, the overlay is never changed): the base
    // answer applied to copies of the overlay's per-node loads and configured sizes, once per
    // base; then, per call, the units to place for the last failed node (ranges of `members`)
    // and what this part added to the keep-apart counts and displaced marks (zero between
    // calls). Buffers kept between calls.
    struct lean_unit {
        std::uint32_t begin = 0, end = 0;
        node_id majority = no_node; // keep-together: its partners' node
        double memory = 0;
        int priority = INT32_MIN;
        guest_id front = 0;
        bool on_usable = false;  // a member is on a usable node (the sums below may not hold)
        bool state_only = false; // every member node_state_only (no target unit to ask)
        res demand, assigned;    // summed over the members, in order
    };
    struct lean_state {
        // The base answer: where it sent each guest (in_base_), the loads and sizes of the
        // survivors with it applied, and what it added to the keep-apart counts.
        std::vector<node_id> base_node;
        std::vector<res> base_used, base_assigned;
        std::vector<std::vector<int>> base_apart;
        std::vector<std::pair<int, node_id>> base_touched;
        std::vector<std::pair<guest_id, node_id>> base_ruled; // whose rules x may change
        std::vector<int> base_groups;                         // keep-together groups it moved
        std::vector<std::vector<guest_id>> base_to; // per node: single guests it sent there
        std::vector<node_id> base_by_free;          // every node, most free memory first
        std::vector<guest_id> members;
        std::vector<lean_unit> units;
        std::vector<std::pair<guest_id, node_id>> fresh; // the units placed, in order
        std::vector<int> groups;
        std::vector<int> count; // per node: partners there (zero between groups)
        std::vector<std::pair<double, node_id>> by_free; // (free memory, node)
        std::vector<bool> failed, displaced;
        std::vector<res> assigned_of;          // per guest: what it adds to assigned() (running)
        std::vector<char> running, state_only; // per guest (state_only: node_state_only())
        std::vector<res> used, assigned;
        std::vector<std::vector<int>> apart;
        std::vector<std::pair<int, node_id>> touched;
    };
    lean_state lean_;
    // Where guest g is with the base answer applied.
    node_id lean_node(guest_id g) const {
        return in_base_[g] ? lean_.base_node[g] : state_.node_of(g);
    }
    void apply_base(const std::vector<std::pair<guest_id, node_id>> &base_placed);
    // Per node: its recoverable guests outside keep-together groups, in extend()'s unit order,
    // and the keep-together groups of the others (built on first use; relocate() invalidates
    // them).
    std::vector<std::vector<guest_id>> singles_;
    std::vector<std::vector<int>> groups_on_;
    std::vector<std::vector<lean_unit>> single_units_; // singles_ as units
    bool singles_ready_ = false;
    void sort_singles();
    // extend()'s unit order.
    static bool unit_first(const lean_unit &a, const lean_unit &b);
    bool lean_fits(const lean_unit &u, std::span<const guest_id> gs, node_id n) const;
    void lean_move(std::span<const guest_id> gs, node_id to);
};

} // namespace pvebal::detail

#endif
