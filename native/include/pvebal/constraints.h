// File: pvebal/constraints.h
//
// Hard constraints. Each is a small named check that says *why* it rejects: a guest that can
// never move (template, lock, passthrough device, ignore tag, ...) or a node a guest may not
// go to (offline, memory, affinity rules, ...). docs/constraints.md lists them.
//
// Tags (PVE tag syntax, case-insensitive):
//   pvebal-ignore         never move this guest (it still counts on its node)
//   pvebal-pin-<node>     only run on the named node(s); several pin tags form a node set
//   pvebal-priority-<N>   HA restart priority N (0..1000, higher first)
// With honor-proxlb-tags (default on) ProxLB's plb_ignore_*, plb_pin_<node>,
// plb_affinity_<group> and plb_anti_affinity_<group> mean the same as in ProxLB.
//
//   pvebal::guest_policy p = pvebal::policy_of(c, o, g);
//   for (const pvebal::rejection& r : pvebal::immovable_reasons(c, o, g)) ...
#ifndef PVEBAL_CONSTRAINTS_H_
#define PVEBAL_CONSTRAINTS_H_

#include "pvebal/load.h"
#include "pvebal/model.h"
#include "pvebal/options.h"

#include <optional>
#include <string>
#include <vector>

namespace pvebal {

struct rejection {
    std::string constraint; // short name: "memory", "offline", "template", ...
    std::string message;    // for people
    friend bool operator==(const rejection&, const rejection&) = default;
};

// What a guest's tags ask for.
struct guest_policy {
    bool ignored = false;
    std::vector<node_id> pinned;               // empty: no pin
    std::vector<std::string> unknown_pins;     // pin tags naming no node of the cluster
    int priority = 0;                          // restart priority
    std::vector<std::string> together_groups;  // tag affinity groups (keep together)
    std::vector<std::string> apart_groups;     // tag anti-affinity groups (keep apart)
};

guest_policy policy_of(const cluster& c, const options& o, guest_id g);

// Reasons a guest can never move, whatever the target (empty: movable).
std::vector<rejection> immovable_reasons(const cluster& c, const options& o, guest_id g);

// Affinity compiled from HA rules and tags, once per cluster.
struct affinity_groups {
    // Guests that must stay together (positive HA resource affinity, plb_affinity_ tags):
    // group id per guest, or -1. Members of a group on one node move as one unit.
    std::vector<int> together;
    // Keep-apart groups (negative HA resource affinity, plb_anti_affinity_ tags): for each
    // guest, the groups it belongs to; group names for messages.
    std::vector<std::vector<int>> apart;
    std::vector<std::string> apart_names;
    std::vector<std::string> together_names;
    // HA node affinity per guest: index into cluster::ha.node_affinity, or -1.
    std::vector<int> node_rule;
};

affinity_groups compile_affinity(const cluster& c, const options& o);

// The evolving state planners and the ordering work on (a plan overlay): where every guest is,
// which guests are in flight (they load both source and target), and the per-node sums the
// constraints need.
class placement_state {
public:
    placement_state(const cluster& c, const options& o, const affinity_groups& a);

    const load_view& load() const { return load_; }
    node_id node_of(guest_id g) const { return load_.placement[g]; }
    node_id target_of(guest_id g) const { return target_[g]; } // no_node when not in flight
    res assigned(node_id n) const { return assigned_[n]; }
    // Members of keep-apart group k present on node n (placed there or in flight to or from it).
    int apart_count(int k, node_id n) const { return apart_count_[static_cast<size_t>(k)][n]; }

    // A migration starts: the guest now loads both nodes.
    void begin(guest_id g, node_id to);
    // It ends: the guest leaves its source.
    void finish(guest_id g);
    // Changes what a guest demands (e.g. its configured memory once it restarts elsewhere).
    void set_demand(guest_id g, res d);
    // Both at once (final-state planning).
    void move(guest_id g, node_id to) {
        begin(g, to);
        finish(g);
    }

private:
    void add(guest_id g, node_id n, int sign);

    const cluster* c_;
    const affinity_groups* a_;
    load_view load_;
    std::vector<node_id> target_;
    std::vector<res> assigned_;
    std::vector<std::vector<int>> apart_count_;
};

// Target checks, cheap ones first (docs/constraints.md lists them). `static_target_check` needs
// no state: node status, pins, HA node affinity, the migrate precondition, storage.
std::optional<rejection> static_target_check(const cluster& c, const options& o,
                                             const affinity_groups& a, guest_id g, node_id n);
// Capacity and keep-apart against the current state, for guests `gs` arriving together at n
// (a unit). Guests already on n are not counted twice.
// With explain = false the rejection carries no message (cheap, for search loops).
std::optional<rejection> state_target_check(const cluster& c, const options& o,
                                            const affinity_groups& a, const placement_state& s,
                                            const std::vector<guest_id>& gs, node_id n,
                                            bool explain = true);

// HA node affinity as pve-ha-manager reads a rule: the priority of node n (a listed node has
// its own, every other node -1 under a non-strict rule), or nullopt when the rule excludes n.
std::optional<int> ha_node_priority(const node_affinity_rule& r, node_id n);
// The highest priority among the nodes marked usable (-2 when the rule allows none of them).
int ha_best_priority(const node_affinity_rule& r, const std::vector<bool>& usable);

// Memory a node may reach: min(memory-limit x maxmem, maxmem - memory-reserve).
double usable_memory(const options& o, double maxmem);

} // namespace pvebal

#endif
