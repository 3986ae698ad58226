// File: hacompat/capacity_aware.h (private to the engine and the XS glue)
//
// The "capacity-aware" HA scheduler mode: the same Perl interface and return shapes as
// PVE::RS::ResourceScheduling::{Static,Dynamic} (see pvebal/hacompat.h), computed on the state
// a `hacompat::scheduler` holds, but scored with pve-balancer's own rules:
//
//   - start scoring: a node where the guest does not fit in memory never ranks above one where
//     it fits. Nodes fall into three tiers by the memory they would have in use after the start:
//     0 = within the usable memory (min(memory-limit x maxmem, maxmem - the node's reserve);
//     the reserve is pvebal::node_memory_reserve's, as for the balancer: node-memory-reserve,
//     else memory-reserve plus the ZFS ARC allowance of what the hook knows of the node),
//     1 = beyond that but within maxmem, 2 = beyond maxmem. Within a tier, nodes rank by
//     pve-balancer's objective after the start (per-resource variance plus pressure, see
//     pvebal/scoring.h). The score lies in [0.7, 1] for tier 0, [0.35, 0.65] for tier 1 and
//     [0, 0.3] for tier 2: base + 0.3 * (J_max - J) / (J_max - J_min) over the tier (0.3 when all
//     nodes of the tier are equal). Higher is better, like upstream.
//   - imbalance, on HA's scale: the coefficient of variation of the node utilisation, taken per
//     resource (CPU and memory each on its own) and pooled:
//         sqrt(sum_r w_r Var(u_r) / sum_r w_r mean(u_r)^2),   r = CPU, memory
//     (population variance over the nodes that have the resource), divided by sqrt(n - 1) when
//     the scheduler normalises like proxmox-resource-scheduling >= 2.1. It is each resource's
//     CV weighted by how much that resource is used, so an almost idle resource cannot dominate.
//     Where CPU and memory utilisation are proportional on every node, it equals upstream's
//     imbalance (the CV of their average) exactly, so HA's threshold and margin mean the same;
//     where they are not it also sees what averaging hides (a CPU-full node next to a
//     memory-full one). Nodes are taken as the balancing aggregator sees them (Static: every
//     assigned guest at its configured size; Dynamic: measured usage).
//   - balancing migrations: each (bundle, target) candidate is that imbalance after moving the
//     bundle's running usage (upstream's arithmetic: removal clamped at zero); candidates whose
//     target would end up beyond its usable memory, or whose target is unknown or the source, are
//     left out. Sorted ascending by the truncated imbalance, then sid, source and target, exactly
//     like upstream's brute force; the TOPSIS variant returns the same ranking.
//
// Validation (compact candidates) and its messages are upstream's. Nothing throws on bad
// input; numbers that are not finite rank last.
//
//   pvebal::hacompat::capacity_aware::settings cfg;            // engine defaults
//   auto scores = capacity_aware::score_nodes_to_start(sched, stats, cfg);
#ifndef PVEBAL_SRC_HACOMPAT_CAPACITY_AWARE_H_
#define PVEBAL_SRC_HACOMPAT_CAPACITY_AWARE_H_

#include "pvebal/error.h"
#include "pvebal/hacompat.h"
#include "pvebal/options.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pvebal::hacompat::capacity_aware {

// The engine options the mode uses; defaults are pvebal::options' defaults (docs/options.md).
struct settings {
    double memory_limit = 0.90;                // memory-limit
    std::uint64_t memory_reserve = 1ull << 30; // memory-reserve (bytes)
    double cpu_weight = 1.0;                   // cpu-weight
    double memory_weight = 1.0;                // memory-weight
    double pressure_threshold = 0.80;          // pressure-threshold
    double pressure_weight = 10.0;             // pressure-weight
    // Per node, its whole memory reserve (bytes), sorted by name; a node not listed keeps
    // memory_reserve.
    std::vector<std::pair<std::string, double>> node_reserves;
};

// What the HA hook knows of a node's own memory needs (docs/snapshot.md "Node details").
struct node_memory_info {
    std::string name;
    std::uint64_t zfs_pool_bytes = 0;
    std::optional<std::uint64_t> arc_max;  // zfs_arc_max, 0 already dropped
    std::optional<std::uint64_t> arc_size; // current ARC size
};

// Settings taken from the engine's option defaults.
settings default_settings();

// The settings of the given engine options (balancer.cfg, see docs/options.md).
settings settings_of(const pvebal::options &o);

// The same with per-node reserves: pvebal::node_memory_reserve of each node of `nodes` and of
// node-memory-reserve, in load mode `mode` (assigned for Static, used for Dynamic: only then
// does the current ARC size count as already used). A bad node-memory-reserve is an error.
result<settings> settings_of(const pvebal::options &o, const std::vector<node_memory_info> &nodes,
                             load_mode mode);

// The memory reserve of node `name` (bytes).
double node_reserve(const settings &cfg, std::string_view name);

// Memory a node may use for guests: min(memory_limit * maxmem, maxmem - reserve), >= 0; the
// first form takes memory_reserve, the second the node's own reserve.
double usable_memory(const settings &cfg, std::uint64_t maxmem);
double usable_memory(const settings &cfg, std::string_view name, std::uint64_t maxmem);

// 0: fits within the usable memory, 1: within maxmem only, 2: does not fit.
int memory_tier(const settings &cfg, double mem_after, std::uint64_t maxmem);
int memory_tier(const settings &cfg, std::string_view name, double mem_after, std::uint64_t maxmem);

// The objective sqrt(J) of the given nodes (every node takes part).
double objective(const std::vector<node_usage> &nodes, const settings &cfg);

// The imbalance on HA's scale (see above) of the given nodes: normalised or raw.
double ha_imbalance(const std::vector<node_usage> &nodes, const settings &cfg, bool normalize);

// ha_imbalance of the nodes as the scheduler's balancing aggregator sees them, normalised as
// the scheduler's options say.
double node_imbalance(const scheduler &s, const settings &cfg);

outcome<std::vector<scored_migration>>
score_best_balancing_migrations(const scheduler &s,
                                const std::vector<compact_candidate> &candidates, std::size_t limit,
                                const settings &cfg);

outcome<std::vector<std::pair<std::string, double>>>
score_nodes_to_start(const scheduler &s, const service_stats &r, const settings &cfg);

} // namespace pvebal::hacompat::capacity_aware

#endif
