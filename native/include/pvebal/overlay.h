// File: pvebal/overlay.h
//
// The overlay: the one evolving state every planner and the ordering work on. It owns where
// every guest is (a placement value: not placed, on a node, or moving between two), the per-node
// loads and configured sizes, the keep-apart counters the constraints read, and, for planners
// that score, the objective's accumulators. Every change goes through it, so the loads and the
// objective cannot drift apart.
//
// Trial moves are scoped: a trial records every change made while it lives and puts each value
// back exactly (bit for bit) when it ends, unless committed. Trials nest.
//
//   pvebal::overlay ov(c, o, a, pvebal::active_nodes(c));  // with the objective
//   {
//       auto t = ov.trial();
//       ov.move(unit_guests, n);                  // loads, counters and objective follow
//       double j = ov.objective().j_after(...);   // evaluate on top of the trial move
//   }                                             // undone here
#ifndef PVEBAL_OVERLAY_H_
#define PVEBAL_OVERLAY_H_

#include "pvebal/constraints.h"
#include "pvebal/load.h"
#include "pvebal/scoring.h"

#include <optional>
#include <vector>

namespace pvebal {

// Where a guest is in the overlay.
struct placement {
    node_id node = no_node;   // no_node: not placed (a guest about to be created or started)
    node_id target = no_node; // set while it migrates: it loads both nodes
    bool placed() const { return node != no_node; }
    bool moving() const { return target != no_node; }
    friend bool operator==(const placement &, const placement &) = default;
};

class overlay {
public:
    // Every guest on its node of the model; no objective.
    overlay(const cluster &c, const options &o, const affinity_groups &a);
    // ... and the objective over the given active nodes.
    overlay(const cluster &c, const options &o, const affinity_groups &a, std::vector<bool> active);
    overlay(const overlay &) = delete;
    overlay &operator=(const overlay &) = delete;

    const load_view &load() const { return load_; }
    placement where(guest_id g) const { return {load_.placement[g], target_[g]}; }
    node_id node_of(guest_id g) const { return load_.placement[g]; }
    node_id target_of(guest_id g) const { return target_[g]; } // no_node when not in flight
    res assigned(node_id n) const { return assigned_[n]; }
    // Members of keep-apart group k present on node n (placed there or in flight to or from it).
    int apart_count(int k, node_id n) const { return apart_count_[static_cast<size_t>(k)][n]; }
    // Local volumes of guest g that move with it (local_footprint), bytes per storage id.
    const std::vector<std::pair<std::string, double>> &footprint(guest_id g) const {
        return footprint_[g];
    }
    // Bytes the changes so far added to storage `slot` (index into node n's storages) of node n:
    // local disks copied there, minus those freed when their guest left (negative then).
    double storage_added(node_id n, size_t slot) const { return storage_added_[n][slot]; }
    // The slot on node n that guest g's volumes on `storage` use there (its own storage on its
    // node, else target_storage), or -1.
    long storage_slot(guest_id g, node_id n, const std::string &storage) const;

    // The objective over the active nodes, following every change (track_objective first).
    bool scores() const { return obj_.has_value(); }
    const objective_state &objective() const { return *obj_; }
    // (Re)builds the objective from the current loads over `active` nodes.
    void track_objective(std::vector<bool> active);
    void drop_objective();

    // A migration starts: the guest now loads both nodes.
    void begin(guest_id g, node_id to);
    // It ends: the guest leaves its source.
    void finish(guest_id g);
    // Both at once (final-state planning).
    void move(guest_id g, node_id to);
    // A unit of guests to one node, as one shift of their summed demand for the objective.
    void move(const std::vector<guest_id> &gs, node_id to);
    // Takes a guest off its node: it loads nothing and counts in no keep-apart group.
    void unplace(guest_id g);
    // Changes what a guest demands (e.g. its configured memory once it restarts elsewhere).
    void set_demand(guest_id g, res d);

    // A scope whose changes are undone when it ends, unless committed.
    class [[nodiscard]] trial {
    public:
        trial(trial &&other) noexcept;
        trial &operator=(trial &&) = delete;
        trial(const trial &) = delete;
        ~trial() { undo(); }
        // Keep the changes (an enclosing trial can still undo them).
        void commit();
        // Undo now (idempotent).
        void undo();

    private:
        friend class overlay;
        trial(overlay *ov, size_t mark) : ov_(ov), mark_(mark) {}
        overlay *ov_;
        size_t mark_;
    };
    trial begin_trial();

private:
    struct change {
        enum class what : unsigned char {
            used,
            assigned,
            placement,
            demand,
            apart,
            util,
            totals,
            storage
        };
        what kind;
        size_t index;  // node, guest or keep-apart group
        size_t index2; // node (apart), storage slot (storage)
        res value;
        node_id node, target;
        int count; // keep-apart count; objective generation for util and totals
        objective_state::node_row row;
        objective_state::totals_t totals;
    };
    void add(guest_id g, node_id n, int sign);
    void begin_loads(guest_id g, node_id to);
    void finish_loads(guest_id g);
    void save_used(node_id n);
    void save_placement(guest_id g);
    void save_objective(node_id a, node_id b);
    void shift(node_id from, node_id to, const res &d);
    void rollback(size_t mark);
    bool journaling() const { return open_trials_ > 0; }

    const cluster *c_;
    const affinity_groups *a_;
    load_view load_;
    std::vector<node_id> target_;
    std::vector<res> assigned_;
    std::vector<std::vector<int>> apart_count_;
    std::vector<std::vector<std::pair<std::string, double>>> footprint_;
    std::vector<std::vector<double>> storage_added_;
    std::optional<objective_state> obj_;
    const options *opts_;
    std::vector<change> journal_;
    int open_trials_ = 0;
    int obj_generation_ = 0;
};

} // namespace pvebal

#endif
