// File: pvebal/report.h
//
// What the engine answers: plain result types produced by the planners and rendered by io
// (JSON as docs/plan-format.md, or text). Nothing here knows JSON.
#ifndef PVEBAL_REPORT_H_
#define PVEBAL_REPORT_H_

#include "pvebal/constraints.h"
#include "pvebal/error.h"
#include "pvebal/load.h"
#include "pvebal/model.h"
#include "pvebal/options.h"
#include "pvebal/scoring.h"

#include <optional>
#include <string>
#include <vector>

namespace pvebal {

struct warning {
    std::string kind;              // overloaded, immovable, offline-guests, ha-rule, ...
    std::optional<node_id> node;   // the node it is about, if any
    std::optional<guest_id> guest; // the guest it is about, if any
    std::string message;
    std::vector<rejection> reasons; // for immovable guests
};

struct score_report {
    load_view load;
    metrics m;
    std::vector<warning> warnings;
};

score_report make_score_report(const cluster &c, const options &o);

// --- plans -----------------------------------------------------------------------------------

enum class migration_mode : std::uint8_t {
    online,  // live migration of a running VM
    offline, // a stopped guest
    restart, // a running container: shut down, move, start
};

struct migration_cost {
    double bytes = 0;    // transferred: memory pre-copy rounds plus local disks
    double seconds = 0;  // estimated duration
    double downtime = 0; // estimated guest downtime
};

struct migration {
    int step = 0; // execution order, from 1
    int wave = 0; // moves of one wave may run in parallel
    guest_id guest = 0;
    node_id from = 0;
    node_id to = 0;
    migration_mode mode = migration_mode::online;
    bool with_local_disks = false;
    bool ha = false;        // HA-managed: executed through the HA manager
    bool temporary = false; // a parking move that breaks a cycle; the guest moves on later
    migration_cost cost;
    std::string reason;
    std::optional<constraint> repair; // a repair move: the broken rule or limit it restores
};

struct node_rejection {
    std::optional<node_id> node; // none: about the guest itself
    rejection why;
};

struct unplaced_guest {
    guest_id guest = 0;
    std::vector<node_rejection> reasons;
};

struct dropped_move {
    guest_id guest = 0;
    node_id from = 0;
    node_id to = 0;
    std::string reason;
};

enum class plan_kind : std::uint8_t { balance, evacuate, failover };

// The name plans show as "kind" (docs/plan-format.md): "balance", "evacuate", "failover".
const char *plan_kind_name(plan_kind k);

struct plan {
    plan_kind kind = plan_kind::balance;
    std::vector<migration> migrations;
    std::vector<unplaced_guest> unplaced;
    std::vector<dropped_move> dropped;
    std::vector<std::string> notes;
    std::vector<node_id> drained; // evacuate: the nodes drained; failover: the failed nodes
    metrics before;
    metrics after;
    migration_cost total;
    double duration = 0; // estimated wall time: per wave, the longest migration
    int waves = 0;
};

// Migration cost of one guest with the given mode (docs/algorithms.md, "Migration cost").
migration_cost estimate_cost(const cluster &c, const options &o, guest_id g, migration_mode mode,
                             bool with_local_disks);
migration_mode mode_for(const guest &g);
bool has_local_disks(const cluster &c, guest_id g);

// Balance: up to max-migrations moves that lower the objective, ordered and safe.
plan plan_balance(const cluster &c, const options &o);

// Evacuate: move every guest off `nodes`; what cannot move is in `unplaced` with reasons.
plan plan_evacuate(const cluster &c, const options &o, const std::vector<node_id> &nodes);

// --- HA planning ---------------------------------------------------------------------------

// Failover: where the HA guests of the failed nodes restart (all guests with all_guests).
// Capacity-aware bin packing in restart-priority order, rule-aware as pve-ha-manager.
plan plan_failover(const cluster &c, const options &o, const std::vector<node_id> &failed,
                   bool all_guests);

struct failure_scenario {
    std::vector<node_id> failed;
    int unplaced = 0;             // guests that could not restart
    int rule_blocked = 0;         // of which no surviving node is allowed (pins, strict HA rules)
    res shortfall;                // demand of the others: what more capacity would fix
    std::vector<guest_id> guests; // which (only for the reported worst scenario)
};

struct node_headroom {
    node_id node = 0;
    double cpu = 0;       // cores until cpu-limit
    double memory = 0;    // bytes until the usable memory
    double ha_memory = 0; // memory of the HA guests it runs
};

struct capacity_report {
    int nodes = 0;     // active nodes considered
    int ha_guests = 0; // guests that need a restart somewhere
    std::vector<guest_id>
        unrecoverable;   // local disks or devices: no failure of their node is survivable
    int tolerated = 0;   // failures the cluster absorbs (lower bound when !exact)
    int upper_bound = 0; // failures it certainly does not absorb beyond this
    bool exact = true;   // every scenario up to the answer was checked
    std::string method;
    long scenarios_checked = 0;
    std::optional<failure_scenario> worst; // the worst scenario at tolerated + 1 failures
    int target = 1;                        // --target-failures
    bool target_met = false;
    res reserve_needed; // max shortfall over the target's scenarios
    std::optional<failure_scenario> worst_at_target;
    std::vector<node_headroom> headroom;
};

// threads: workers for the failure scenarios (1 or 2; the answer is the same, merged in
// scenario order).
capacity_report plan_capacity(const cluster &c, const options &o, int target_failures,
                              bool all_guests, long max_scenarios, int threads = 1);

// Place: ranked nodes for a guest that is about to start (or a new one).
struct placement_request {
    std::optional<guest_id> guest; // an existing guest
    res demand;                    // a new guest: cores and bytes
    std::vector<std::string> tags; // pin / anti-affinity tags for a new guest
    std::vector<guest_id> apart_from;
};

struct ranked_node {
    node_id node = 0;
    bool fits = false;
    double objective_after = 0;
    double score = 0;             // 0..100, higher is better
    std::optional<rejection> why; // for nodes that do not fit
    // keep-ha-capacity: placing it here would leave the HA guests unable to survive the node
    // failures they survive now (ranked after every node that keeps it, scored below 50).
    std::optional<std::string> lowers_ha_capacity;
};

struct placement_answer {
    res demand;
    std::vector<ranked_node> nodes; // fitting nodes best first, then the rest by name
};

result<placement_answer> plan_place(const cluster &c, const options &o, const placement_request &r);

} // namespace pvebal

#endif
