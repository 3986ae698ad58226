// File: pvebal/hacompat.h
//
// Upstream-compatible scheduler for pve-ha-manager ("compatible" mode).
//
// pve-ha-manager's static and dynamic CRS modes score nodes through the Perl packages
// PVE::RS::ResourceScheduling::Static and ::Dynamic (Rust, proxmox-perl-rs), which sit on the
// crate proxmox-resource-scheduling (proxmox-rs). This header re-implements, in plain C++, what
// those two layers compute, so that an XS module can stand in for the Perl packages and give the
// HA manager the very same numbers: TOPSIS start scores, the load imbalance, and the ranked
// balancing migrations (brute force and TOPSIS), including tie-breaks and error messages.
// docs/dev/upstream-crs.md lists the upstream files and commits this follows.
//
// Layers:
//   - `cluster_snapshot` is upstream's `Scheduler`: a list of nodes with their stats, and the
//     scoring functions. Nodes are scored in the order given.
//   - `scheduler` is upstream's `Usage` plus the Perl binding: nodes, resources and their
//     placement, validation, and the aggregation into a snapshot. Its node order is by name
//     (upstream iterates a hash map, i.e. in no fixed order; see the doc for what that means).
//   - `topsis` is the generic TOPSIS ranking the two above use.
//
// Nothing here throws on bad input: every fallible call returns `std::expected` holding the
// message upstream would have died with (without trailing newline), so the XS glue can
// `croak` it. Not thread-safe: the glue serialises access (upstream holds a mutex).
//
// Perl method (Static | Dynamic)                  C++
//   new                                              scheduler(kind::static_usage | dynamic_usage)
//   add_node(n, maxcpu, maxmem) | add_node(n, {..})  add_static_node | add_node
//   remove_node, list_nodes, contains_node           the same names
//   add_service | add_resource(sid, {stats, running, current-node, target-node})
//                                                    add_resource (Static: static_resource_stats)
//   add_service_usage_to_node (Static, deprecated)   add_resource_usage_to_node
//   remove_service_usage | remove_resource           remove_resource
//   calculate_node_imbalance                         node_imbalance
//   score_best_balancing_migration_candidates[_topsis]({leader, resources, nodes}..., limit)
//                                                    score_best_balancing_migrations[_topsis];
//                                                    each -> {migration => {sid, source-node,
//                                                    target-node}, imbalance}
//   score_nodes_to_start_service | _resource         score_nodes_to_start -> [[node, score]...]
//
// Build note: the numbers are only bit-identical to upstream under strict IEEE evaluation; the
// sources refuse -ffast-math and guard against FMA contraction themselves.
//
// Example (what PVE::HA::Usage::Dynamic does during one round):
//
//   using namespace pvebal::hacompat;
//   scheduler s(kind::dynamic_usage);
//   s.add_node("node1", {.cpu = 4.0, .maxcpu = 24, .mem = 16ull << 30, .maxmem = 32ull << 30});
//   s.add_node("node2", {.cpu = 0.0, .maxcpu = 24, .mem = 0, .maxmem = 32ull << 30});
//   resource_stats vm{.cpu = 1.0, .maxcpu = 2.0, .mem = 4ull << 30, .maxmem = 8ull << 30};
//   if (auto r = s.add_resource("vm:101", vm, /*running=*/true, "node1"); !r) {
//       log(r.error()); // e.g. "current node for resource 'vm:101' does not exist"
//   }
//   double imbalance = s.node_imbalance();
//   auto best = s.score_best_balancing_migrations({{"vm:101", {"vm:101"}, {"node2"}}}, 1);
//   if (best && !best->empty()) {
//       // (*best)[0].mig.target_node == "node2", (*best)[0].imbalance: expected imbalance
//   }
#ifndef PVEBAL_HACOMPAT_H_
#define PVEBAL_HACOMPAT_H_

#include <compare>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pvebal::hacompat {

// Error type of every fallible call: the message upstream would report.
template <class T> using outcome = std::expected<T, std::string>;
using status = outcome<void>;

// Which Perl package is emulated. It only selects the aggregators (see `aggregator`).
enum class kind {
    static_usage,  // PVE::RS::ResourceScheduling::Static
    dynamic_usage, // PVE::RS::ResourceScheduling::Dynamic
};

// The scheduler's construction flags (named apart from the engine's pvebal::options).
struct scheduler_options {
    // true (upstream >= 2.1.0): the coefficient of variation is divided by its maximum,
    // sqrt(n - 1), so the imbalance lies in [0, 1]; fewer than two nodes give 0.
    // false (upstream 2.0.x, what pve-ha-manager 5.2.0's simulator logs expect): raw CV.
    bool normalize_imbalance = true;
};

// Usage of a resource (guest); upstream's ResourceStats (named apart from the engine's
// resource_stats, the metrics summary). Upstream: cpu, maxcpu as f64; mem, maxmem as usize.
struct service_stats {
    double cpu = 0.0;         // CPU cores in use
    double maxcpu = 0.0;      // assigned CPUs or CPU limit; 0 means "no limit" (see below)
    std::uint64_t mem = 0;    // bytes in use
    std::uint64_t maxmem = 0; // bytes assigned
};

// Field-wise sum (integers wrap like upstream's release build).
service_stats operator+(const service_stats &a, const service_stats &b);

// What the Static package makes of its {maxcpu, maxmem}: cpu = maxcpu, mem = maxmem.
service_stats static_service_stats(double maxcpu, std::uint64_t maxmem);

// Usage of a node. Upstream: cpu as f64; maxcpu, mem, maxmem as usize.
struct node_stats {
    double cpu = 0.0;         // CPU cores in use
    std::uint64_t maxcpu = 0; // CPU cores
    std::uint64_t mem = 0;    // bytes in use
    std::uint64_t maxmem = 0; // bytes
};

double cpu_load(const node_stats &n);  // cpu / maxcpu
double mem_load(const node_stats &n);  // mem / maxmem
double node_load(const node_stats &n); // (cpu_load + mem_load) / 2

// As if the resource were started on the node: cpu += maxcpu (a maxcpu of 0 counts as the
// node's maxcpu), mem += maxmem.
void add_started_resource(node_stats &n, const service_stats &r);
// As if the resource ran on the node: cpu += cpu, mem += mem.
void add_running_resource(node_stats &n, const service_stats &r);
// As if the resource stopped running there: subtract cpu and mem, clamped at 0.
void remove_running_resource(node_stats &n, const service_stats &r);

struct node_usage {
    std::string name;
    node_stats stats;
};

// A possible migration of a (leading) resource; upstream's Migration (named apart from the
// engine's plan step, pvebal::migration). Ordered by sid, then source, then target
// (byte-wise), like upstream's derived ordering.
struct service_migration {
    std::string sid;
    std::string source_node;
    std::string target_node;

    friend auto operator<=>(const service_migration &, const service_migration &) = default;
    friend bool operator==(const service_migration &, const service_migration &) = default;
};

// Migration plus the stats that move with it (the sum over the leader's bundle).
struct migration_candidate {
    service_migration mig;
    service_stats stats;
};

// A migration with the imbalance expected after it. The imbalance is truncated to 15
// significant decimals (trunc(x * 1e15) / 1e15) when made, so values that only differ in
// rounding noise compare equal and the migration decides.
struct scored_migration {
    service_migration mig;
    double imbalance = 0.0;

    static scored_migration make(service_migration m, double raw_imbalance);
};

double truncate_imbalance(double raw_imbalance);

// Upstream's total order: imbalance by IEEE total order, then the migration.
std::strong_ordering compare(const scored_migration &a, const scored_migration &b);
inline bool operator<(const scored_migration &a, const scored_migration &b) {
    return compare(a, b) < 0;
}
inline bool operator==(const scored_migration &a, const scored_migration &b) {
    return compare(a, b) == 0;
}

// Compact candidate as HA passes it: the bundle's leader, every sid of the bundle (leader
// included) and the nodes it may go to.
struct compact_candidate {
    std::string leader;
    std::vector<std::string> resources;
    std::vector<std::string> nodes;
};

namespace topsis {

// A criterion; a negative weight means "smaller is better".
struct criterion {
    std::string name;
    double weight = 0.0;
};

// Closeness of each alternative (row) to the ideal one, in [0, 1], higher is better. Every row
// must have one value per criterion. Errors: no weight, a non-finite normalised weight or
// value, a non-finite score (upstream's messages), or a row of the wrong width.
outcome<std::vector<double>> score_alternatives(std::vector<std::vector<double>> matrix,
                                                const std::vector<criterion> &criteria);
// Row indices by descending score; equal scores keep their input order.
outcome<std::vector<std::size_t>> rank_alternatives(std::vector<std::vector<double>> matrix,
                                                    const std::vector<criterion> &criteria);

} // namespace topsis

// The four criteria HA ranks with, each computed over all nodes of a hypothetical cluster and
// each offset by +1 so tiny loads do not look like large relative differences.
struct pve_alternative {
    double average_cpu = 0.0;    // 1 + RMS of cpu_load    (weight -1)
    double highest_cpu = 0.0;    // 1 + max of cpu_load    (weight -2)
    double average_memory = 0.0; // 1 + RMS of mem_load    (weight -5)
    double highest_memory = 0.0; // 1 + max of mem_load    (weight -10)
};
const std::vector<topsis::criterion> &pve_criteria();

// Upstream's `Scheduler`: a fixed list of nodes.
class cluster_snapshot {
public:
    explicit cluster_snapshot(std::vector<node_usage> nodes, scheduler_options opts = {});

    const std::vector<node_usage> &nodes() const { return nodes_; }
    const scheduler_options &opts() const { return opts_; }

    // Coefficient of variation of node_load over the nodes (see options); 0 without load.
    double node_imbalance() const;
    // The same, after moving `c.stats` as running usage from its source to its target.
    double node_imbalance_with(const migration_candidate &c) const;

    // Every candidate scored by node_imbalance_with, ascending by `compare`, at most `limit`.
    // Candidates are not checked against the nodes.
    std::vector<scored_migration>
    score_best_balancing_migration_candidates(const std::vector<migration_candidate> &candidates,
                                              std::size_t limit) const;
    // Candidates ranked by TOPSIS over the post-migration clusters (stable on ties), the first
    // `limit` reported with their node_imbalance_with. Errors come from TOPSIS, even for
    // limit 0.
    outcome<std::vector<scored_migration>> score_best_balancing_migration_candidates_topsis(
        const std::vector<migration_candidate> &candidates, std::size_t limit) const;
    // (node, score) per node in snapshot order, score in [0, 1], higher is better: TOPSIS over
    // the clusters in which the resource was started on that node.
    outcome<std::vector<std::pair<std::string, double>>>
    score_nodes_to_start_resource(const service_stats &r) const;

    // The TOPSIS rows behind the two functions above (exposed for tests and diagnostics).
    std::vector<pve_alternative> start_alternatives(const service_stats &r) const;
    std::vector<pve_alternative>
    migration_alternatives(const std::vector<migration_candidate> &candidates) const;

private:
    pve_alternative alternative_with(const std::function<node_stats(const node_usage &)> &f) const;

    std::vector<node_usage> nodes_;
    scheduler_options opts_;
};

// How a `scheduler` turns its nodes and resources into a snapshot.
enum class aggregator {
    identity,            // node stats as given (Dynamic: imbalance and balancing)
    started,             // every resource assigned to the node added as started (Static: all)
    starting_as_started, // only resources not yet running added as started (Dynamic: start)
};

enum class resource_state { stopped, starting, started };

// A resource as the scheduler holds it. `target_node` set means it is moving and counts on
// both nodes.
struct resource_info {
    service_stats stats;
    resource_state state = resource_state::started;
    std::string current_node;
    std::optional<std::string> target_node;
};

// Upstream's `Usage` behind the Static/Dynamic Perl package interface.
class scheduler {
public:
    explicit scheduler(kind k, scheduler_options opts = {});

    kind usage_kind() const { return kind_; }
    const scheduler_options &opts() const { return opts_; }

    // Fails with "node '<name>' already exists".
    status add_node(std::string name, node_stats stats);
    // Static package's add_node(name, maxcpu, maxmem): cpu and mem start at 0.
    status add_static_node(std::string name, std::uint64_t maxcpu, std::uint64_t maxmem);
    // Unknown names are ignored. Resources that were only on this node are dropped; moving
    // ones stay on their other node.
    void remove_node(std::string_view name);
    std::vector<std::string> list_nodes() const; // sorted by name
    bool contains_node(std::string_view name) const;
    std::optional<node_stats> find_node(std::string_view name) const;

    // Static add_service / Dynamic add_resource. `running` false means starting. Fails (and
    // changes nothing) on a duplicate sid, an unknown node, or current == target.
    status add_resource(std::string sid, service_stats stats, bool running,
                        std::string current_node,
                        std::optional<std::string> target_node = std::nullopt);
    // Static package's deprecated add_service_usage_to_node: the first call places `sid`
    // (started) on `node`; the next one, without a removal in between, makes it move to
    // `node` and ignores `stats`; a third one fails.
    status add_resource_usage_to_node(std::string_view node, std::string_view sid,
                                      service_stats stats);
    // Unknown sids are ignored.
    void remove_resource(std::string_view sid);
    std::optional<resource_info> find_resource(std::string_view sid) const;
    // The sids a node accounts for (sorted); may name resources no longer held, as upstream's
    // per-node sets can after a failed add_resource_usage_to_node.
    std::vector<std::string> node_resources(std::string_view node) const;

    // Aggregators the Perl package uses for this kind.
    aggregator balancing_aggregator() const; // imbalance and balancing migrations
    aggregator start_aggregator() const;     // start scores
    cluster_snapshot snapshot(aggregator a) const;

    // Static calculate_node_imbalance / Dynamic calculate_node_imbalance.
    double node_imbalance() const;
    // Expands compact candidates into one candidate per target node, with the bundle's summed
    // stats; validates leader and members (see the doc for the messages).
    outcome<std::vector<migration_candidate>>
    decompose(const std::vector<compact_candidate> &candidates) const;
    outcome<std::vector<scored_migration>>
    score_best_balancing_migrations(const std::vector<compact_candidate> &candidates,
                                    std::size_t limit) const;
    outcome<std::vector<scored_migration>>
    score_best_balancing_migrations_topsis(const std::vector<compact_candidate> &candidates,
                                           std::size_t limit) const;
    // Static score_nodes_to_start_service / Dynamic score_nodes_to_start_resource; nodes in
    // name order (HA turns the list into a hash).
    outcome<std::vector<std::pair<std::string, double>>>
    score_nodes_to_start(const service_stats &r) const;

private:
    struct node_entry {
        node_stats stats;
        std::set<std::string, std::less<>> resources;
    };

    status insert_resource(std::string sid, resource_info info);

    kind kind_;
    scheduler_options opts_;
    std::map<std::string, node_entry, std::less<>> nodes_;
    std::map<std::string, resource_info, std::less<>> resources_;
};

} // namespace pvebal::hacompat

#endif
