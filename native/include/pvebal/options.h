// File: pvebal/options.h
//
// Every tunable of the engine, with its default. The same keys (kebab-case) are accepted in a
// snapshot's "options" object, in a --config file and as CLI flags; docs/options.md lists them.
// Precedence: defaults < snapshot "options" < --config FILE < command-line flags.
#ifndef PVEBAL_OPTIONS_H_
#define PVEBAL_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pvebal {

inline constexpr std::uint64_t gib = 1024ull * 1024 * 1024;

// How a guest loads a node.
enum class load_mode : std::uint8_t {
    used,     // measured usage: guest cpu x vCPUs, guest memory (RRD averages when given)
    assigned, // configured size: vCPUs and maxmem of running guests ("static" in PVE CRS terms)
};

// Which broken rules and limits `plan` repairs first (docs/constraints.md, "Repair first"); one
// flag per kind, named as the constraint; all on by default but cpu (CPU contention is soft:
// the balance search and relief moves handle a hot node).
struct repair_kinds {
    bool affinity = true;         // a keep-together group split over nodes
    bool anti_affinity = true;    // keep-apart guests on one node
    bool pin = true;              // a guest off its pin tags
    bool ha_node_affinity = true; // a guest on a node its strict HA node affinity excludes
    bool memory = true;           // a node above its usable memory
    bool cpu = false;             // a node above cpu-limit
    bool vcpu_ratio = true;       // a node above max-vcpu-ratio
    bool memory_ratio = true;     // a node above max-memory-ratio
    friend bool operator==(const repair_kinds &, const repair_kinds &) = default;
};

struct options {
    // --- scoring -------------------------------------------------------------------------
    load_mode mode = load_mode::used;
    double cpu_weight = 1.0;
    double memory_weight = 1.0;
    double disk_io_weight = 0.0;   // 0: disk I/O is not a dimension (pvebal/dimensions.h)
    double disk_io_capacity = 0.0; // bytes/s of disk I/O one node sustains (needed with a weight)
    double pressure_threshold = 0.80; // utilisation above which a node adds a penalty
    double pressure_weight = 10.0;    // weight of that penalty relative to the variance
    double psi_weight = 0.5;          // weight of load left on nodes under PSI pressure
    double psi_threshold = 0.05;      // PSI share of time stalled below which it is ignored

    // --- hard limits (no plan may pass through a state beyond them) -----------------------
    double cpu_limit = 0.90;                // fraction of a node's threads a target may reach
    double memory_limit = 0.90;             // fraction of a node's memory a target may reach
    std::uint64_t memory_reserve = 1 * gib; // the system's share, kept free on every node
    std::string node_memory_reserve;        // "node:size,...": a node's whole reserve (bound
                                            // to the nodes by bind_options)
    std::optional<double> max_vcpu_ratio;   // assigned vCPUs / threads (overcommit), unset = off
    std::optional<double> max_memory_ratio; // assigned memory / node memory, unset = off
    bool allow_container_restart = false;   // containers only move by restart migration
    bool honor_proxlb_tags = true;          // plb_ignore_*, plb_pin_*, plb_(anti_)affinity_*
    std::vector<std::string> maintenance_nodes;                   // drained like HA maintenance
    std::vector<std::pair<std::string, std::string>> storage_map; // local storage src -> target
    double storage_limit = 0.95; // fraction of a target storage local disks moved there may fill

    // --- balance -------------------------------------------------------------------------
    unsigned max_migrations = 10;
    double threshold = 0.02;       // plan nothing when the objective is already at or below
    double min_improvement = 0.02; // each move lowers the objective by this share / active nodes
    double cost_weight = 0.04;     // and by this share / active nodes more per migration minute
    repair_kinds repair;           // broken rules restored first, whatever the threshold
    bool improve_plan = true;      // the improvement phase after the greedy search

    // --- migration cost model ------------------------------------------------------------
    double bandwidth = 1.0 * gib;                   // bytes/s available to one migration
    double max_downtime = 0.1;                      // s, QEMU's default downtime-limit
    double restart_downtime = 30.0;                 // s, container shutdown + start
    double dirty_rate_per_cpu = 64.0 * 1024 * 1024; // bytes/s dirtied per busy vCPU

    // --- ordering ------------------------------------------------------------------------
    unsigned max_parallel = 4;          // migrations at once in the cluster
    unsigned max_parallel_per_node = 2; // migrations at once touching one node

    // --- HA ------------------------------------------------------------------------------
    int default_priority = 0; // restart priority of guests without a priority tag
    // Node failures the HA guests must still survive after every wave of a balance or evacuate
    // plan (N+k-safe waves). Unset: as many as they survive now, at most capacity_target.
    std::optional<int> keep_ha_capacity;
    int capacity_target = 1; // balancer.cfg's capacity-target (the daemon's N+k goal)

    // --- time bound ----------------------------------------------------------------------
    double deadline = 10.0; // s a command may search before it returns its best so far; 0: none

    friend bool operator==(const options &, const options &) = default;
};

} // namespace pvebal

#endif
