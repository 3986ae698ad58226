// Internal: the constraint registry. Every hard constraint is one unit with an enum name, a
// kind (guest, target or state), the planners it applies to and one function that decides and,
// when asked, explains. Every planner (balance, evacuate, failover, capacity, place, the
// ordering) asks through the three entry points below, which run the units in the documented
// cheap-first order of `units()`. Adding a constraint: add its enum value and name in
// pvebal/constraints.h, one unit function and one row in registry.cpp, and its tests
// (docs/development.md walks through the replication unit as the example).
//
//   detail::decision_context ctx(c, o, a);           // once per decision
//   if (auto why = detail::check_target(ctx, g, n))  // pins, HA node affinity, storage, ...
//       ...
//   if (!detail::check_state(ctx, state, unit, n, false)) ...  // memory, CPU, anti-affinity
#ifndef PVEBAL_CONSTRAINTS_REGISTRY_H_
#define PVEBAL_CONSTRAINTS_REGISTRY_H_

#include "pvebal/constraints.h"
#include "pvebal/overlay.h"

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

namespace pvebal::detail {

// What is computed once per decision and read by every unit: the guests' tag policies, which
// nodes can take guests, and each HA node-affinity rule's best priority among them.
class decision_context {
public:
    decision_context(const cluster &c, const options &o, const affinity_groups &a);
    // A copy of `other` for an owner of its own copy of other.a (a solver that keeps the
    // planner's affinity groups): the same answers, without computing them again. cpu_relief
    // starts true, as in a new context (the planner may switch its own while this is copied).
    decision_context(const decision_context &other, const affinity_groups &a);

    const cluster &c;
    const options &o;
    const affinity_groups &a;

    const guest_policy &policy(guest_id g) const { return a.policies[g]; }
    // HA failback of the guest's resource (true when not HA-managed).
    bool failback(guest_id g) const { return failback_[g]; }
    // No pin, HA node affinity, precondition or mapped device: in recovery, only the node's
    // state can reject a node for this guest (the target units that remain).
    bool node_state_only(guest_id g) const;
    // The registry's per-guest precheck: bit i set when target unit i (registry order) may
    // reject g on some node. Node-state units (offline, maintenance, failed) have no bit.
    std::uint32_t concerned(guest_id g) const { return concerned_[g]; }
    // Bits of the target units that apply in planning (false) or in recovery (true).
    static std::uint32_t mode_units(bool recovery);
    // Online, not in maintenance and (in recovery) not failed.
    bool usable(node_id n) const { return usable_[n]; }
    const std::vector<bool> &usable_nodes() const { return usable_; }
    // Recovery (failover, capacity): the failed nodes are gone too, HA chooses among the
    // survivors and the migrate-only units (storage, replication, current node) do not apply.
    void set_failed(const std::vector<bool> &failed);
    bool recovery() const { return recovery_; }
    bool failed(node_id n) const { return !failed_.empty() && failed_[n]; }
    // Priority of node n in HA node-affinity rule r (ha_node_priority), no_priority: excluded.
    static constexpr int no_priority = INT32_MIN;
    int rule_priority(size_t r, node_id n) const { return rule_priority_[r][n]; }
    // Highest priority of HA node-affinity rule r among the usable nodes (none_usable_priority:
    // none allowed).
    int rule_best(size_t r) const { return rule_best_[r]; }
    // Relief moves (docs/constraints.md): a unit may go above cpu-limit when the move lowers
    // the hotter of its two nodes' CPU. Off while repairs are planned (a repair worsens nothing).
    bool cpu_relief = true;

private:
    void refresh();

    std::vector<bool> failback_;
    std::vector<std::uint32_t> concerned_;
    std::vector<std::vector<int>> rule_priority_;
    std::vector<std::vector<node_id>> rule_order_; // per rule: nodes with a priority, highest first
    std::vector<bool> failed_;
    std::vector<bool> usable_;
    std::vector<int> rule_best_;
    bool recovery_ = false;
};

enum class unit_kind : std::uint8_t {
    guest,  // the guest never migrates, whatever the target
    target, // the node is not allowed for the guest (no state needed)
    state,  // the node has no room, or keep-apart partners, in the current placement
};

// Demand arriving at a node: a unit of guests, or a guest that is about to start (place).
struct arrival {
    res demand;             // load it adds (used mode: measured; assigned mode: configured)
    res assigned;           // configured vCPUs and memory it adds (ratio limits)
    std::vector<int> apart; // keep-apart groups it joins (place: a guest not yet placed)
    // Or the arriving guests, whose own keep-apart groups count (check_state: no allocation).
    const std::vector<guest_id> *guests = nullptr;
    std::optional<guest_id> self; // place: the guest itself, if it may be counted on n already
};

struct unit_info {
    constraint name;
    unit_kind kind;
    bool planning; // applies to migrations (balance, evacuate, place, ordering)
    bool recovery; // applies to HA recovery (failover, capacity)
    const char *summary;
};

// Every unit, in the order the checks run (cheap first within each kind).
std::span<const unit_info> units();

// Reasons a guest can never migrate (empty: movable). Recovery has its own (recovery.cpp).
std::vector<rejection> immovable_reasons(const decision_context &ctx, guest_id g);
// First target unit that rejects node n for guest g. explain = false: no message (search loops).
std::optional<rejection> check_target(const decision_context &ctx, guest_id g, node_id n,
                                      bool explain = true);
// { n : !check_target(ctx, g, n, false) } (ascending) for many guests: computed once per class
// of guests whose answers are provably equal. A class is keyed by every input check_target reads
// for the guest: the units that concern it in ctx's mode, and the guest's fields those units
// read (the current node; the HA node-affinity rule and failback). Guests concerned by any other
// unit are computed on their own. Valid while ctx does not change (set_failed).
class allowed_targets {
public:
    explicit allowed_targets(const decision_context &ctx) : ctx_(ctx) {}
    // The reference is valid until the next call.
    const std::vector<node_id> &of(guest_id g);

private:
    struct key {
        std::uint32_t run;
        node_id node;
        int rule;
        bool failback;
        auto operator<=>(const key &) const = default;
    };
    const decision_context &ctx_;
    std::map<key, std::vector<node_id>> classes_;
    std::vector<node_id> own_;
};

// The same for the newcomer of ctx.a (place: a guest not created yet), with the target units
// that concern a guest without a record (node state, pins by its tags).
std::optional<rejection> check_newcomer_target(const decision_context &ctx, node_id n,
                                               bool explain = true);
// First state unit that rejects the guests `gs` arriving together at n. Guests already on n (or
// in flight to it) are not counted twice.
std::optional<rejection> check_state(const decision_context &ctx, const overlay &s,
                                     const std::vector<guest_id> &gs, node_id n,
                                     bool explain = true);
std::optional<rejection> check_arrival(const decision_context &ctx, const overlay &s,
                                       const arrival &in, node_id n, bool explain = true);

// A hard rule or limit the placement breaks now (`score` reports it, `plan` repairs it first).
// Kinds: affinity (a keep-together group split over nodes), anti-affinity (keep-apart guests on
// one node), pin and ha-node-affinity (a guest on a node its pin tags or a strict HA rule do not
// allow), memory, cpu, vcpu-ratio and memory-ratio (a node above the limit). Only usable nodes
// count: an offline node is failover's matter, a node in maintenance evacuate's.
struct violation {
    constraint kind = constraint::memory;
    std::optional<node_id> node;  // the node (limits, anti-affinity)
    std::vector<guest_id> guests; // the guests that break it (sorted)
    int group = -1;               // affinity: together group; anti-affinity: apart group
    double excess = 0;            // limits: how far above (bytes, cores, vCPUs)
    std::string message;
};

// Every violation of the placement `s`, in a stable order: guest rules (pin, ha-node-affinity)
// by guest, then groups (affinity, anti-affinity) by group and node, then node limits (memory,
// memory-ratio, vcpu-ratio, cpu) by node. Each is decided by the unit that checks arrivals.
std::vector<violation> find_violations(const decision_context &ctx, const overlay &s);
// How much of limit k the guests `gs` hold where they are (what leaving gives back).
double limit_share(const decision_context &ctx, const overlay &s, constraint k,
                   const std::vector<guest_id> &gs);

} // namespace pvebal::detail

#endif
