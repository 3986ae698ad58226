// Node stat arithmetic, the imbalance measure and cluster_snapshot (upstream's Scheduler).
#include "float_ops.h"
#include "pvebal/hacompat.h"

#include <algorithm>
#include <cmath>

namespace pvebal::hacompat {

service_stats operator+(const service_stats &a, const service_stats &b) {
    return {a.cpu + b.cpu, a.maxcpu + b.maxcpu, a.mem + b.mem, a.maxmem + b.maxmem};
}

service_stats static_service_stats(double maxcpu, std::uint64_t maxmem) {
    return {maxcpu, maxcpu, maxmem, maxmem};
}

double cpu_load(const node_stats &n) {
    return n.cpu / static_cast<double>(n.maxcpu);
}

double mem_load(const node_stats &n) {
    return static_cast<double>(n.mem) / static_cast<double>(n.maxmem);
}

double node_load(const node_stats &n) {
    return (cpu_load(n) + mem_load(n)) / 2.0;
}

void add_started_resource(node_stats &n, const service_stats &r) {
    // A resource without CPU limit may use the whole node.
    double cpu = r.maxcpu == 0.0 ? static_cast<double>(n.maxcpu) : r.maxcpu;
    n.cpu += cpu;
    n.mem += r.maxmem;
}

void add_running_resource(node_stats &n, const service_stats &r) {
    n.cpu += r.cpu;
    n.mem += r.mem;
}

void remove_running_resource(node_stats &n, const service_stats &r) {
    n.cpu = std::fmax(0.0, n.cpu - r.cpu);
    n.mem = n.mem > r.mem ? n.mem - r.mem : 0;
}

double truncate_imbalance(double raw_imbalance) {
    // 15 = significant decimal digits an f64 always carries (Rust's f64::DIGITS).
    constexpr double factor = 1e15;
    return std::trunc(factor * raw_imbalance) / factor;
}

scored_migration scored_migration::make(service_migration m, double raw_imbalance) {
    return {std::move(m), truncate_imbalance(raw_imbalance)};
}

std::strong_ordering compare(const scored_migration &a, const scored_migration &b) {
    auto by_imbalance =
        detail::total_order_key(a.imbalance) <=> detail::total_order_key(b.imbalance);
    if (by_imbalance != 0) {
        return by_imbalance;
    }
    return a.mig <=> b.mig;
}

namespace {

// Coefficient of variation of `loads` (population standard deviation over mean).
double imbalance_of(const std::vector<double> &loads, bool normalize) {
    const std::size_t count = loads.size();
    if (normalize && count < 2) {
        return 0.0;
    }
    double sum = -0.0;
    for (double load : loads) {
        sum += load;
    }
    if (sum == 0.0) { // also covers no nodes at all
        return 0.0;
    }
    const double mean = sum / static_cast<double>(count);
    double squared_diff_sum = 0.0;
    for (double load : loads) {
        squared_diff_sum = detail::add_square(squared_diff_sum, load - mean);
    }
    const double sd = std::sqrt(squared_diff_sum / static_cast<double>(count));
    const double cv = sd / mean;
    if (!normalize) {
        return cv;
    }
    // The CV of n values in [0, inf) peaks at sqrt(n - 1): all load on one node.
    return cv / std::sqrt(static_cast<double>(count - 1));
}

node_stats after_migration(const node_usage &node, const migration_candidate &c) {
    node_stats s = node.stats;
    if (node.name == c.mig.source_node) {
        remove_running_resource(s, c.stats);
    } else if (node.name == c.mig.target_node) {
        add_running_resource(s, c.stats);
    }
    return s;
}

std::vector<std::vector<double>> to_matrix(const std::vector<pve_alternative> &alternatives) {
    std::vector<std::vector<double>> matrix;
    matrix.reserve(alternatives.size());
    for (const pve_alternative &a : alternatives) {
        matrix.push_back({a.average_cpu, a.highest_cpu, a.average_memory, a.highest_memory});
    }
    return matrix;
}

} // namespace

cluster_snapshot::cluster_snapshot(std::vector<node_usage> nodes, scheduler_options opts)
    : nodes_(std::move(nodes)), opts_(opts) {}

double cluster_snapshot::node_imbalance() const {
    std::vector<double> loads;
    loads.reserve(nodes_.size());
    for (const node_usage &n : nodes_) {
        loads.push_back(node_load(n.stats));
    }
    return imbalance_of(loads, opts_.normalize_imbalance);
}

double cluster_snapshot::node_imbalance_with(const migration_candidate &c) const {
    std::vector<double> loads;
    loads.reserve(nodes_.size());
    for (const node_usage &n : nodes_) {
        loads.push_back(node_load(after_migration(n, c)));
    }
    return imbalance_of(loads, opts_.normalize_imbalance);
}

pve_alternative
cluster_snapshot::alternative_with(const std::function<node_stats(const node_usage &)> &f) const {
    const auto count = static_cast<double>(nodes_.size());
    double highest_cpu = 0.0;
    double squares_cpu = 0.0;
    double highest_mem = 0.0;
    double squares_mem = 0.0;
    for (const node_usage &node : nodes_) {
        const node_stats s = f(node);
        const double cpu = cpu_load(s);
        highest_cpu = std::fmax(highest_cpu, cpu);
        squares_cpu = detail::add_square(squares_cpu, cpu);
        const double mem = mem_load(s);
        highest_mem = std::fmax(highest_mem, mem);
        squares_mem = detail::add_square(squares_mem, mem);
    }
    // The +1 keeps tiny loads from looking like large relative differences.
    return {
        1.0 + std::sqrt(squares_cpu / count),
        1.0 + highest_cpu,
        1.0 + std::sqrt(squares_mem / count),
        1.0 + highest_mem,
    };
}

std::vector<pve_alternative> cluster_snapshot::start_alternatives(const service_stats &r) const {
    std::vector<pve_alternative> out;
    out.reserve(nodes_.size());
    for (const node_usage &candidate : nodes_) {
        out.push_back(alternative_with([&](const node_usage &node) {
            node_stats s = node.stats;
            if (node.name == candidate.name) {
                add_started_resource(s, r);
            }
            return s;
        }));
    }
    return out;
}

std::vector<pve_alternative>
cluster_snapshot::migration_alternatives(const std::vector<migration_candidate> &candidates) const {
    std::vector<pve_alternative> out;
    out.reserve(candidates.size());
    for (const migration_candidate &c : candidates) {
        out.push_back(
            alternative_with([&](const node_usage &node) { return after_migration(node, c); }));
    }
    return out;
}

std::vector<scored_migration> cluster_snapshot::score_best_balancing_migration_candidates(
    const std::vector<migration_candidate> &candidates, std::size_t limit) const {
    std::vector<scored_migration> scored;
    scored.reserve(candidates.size());
    for (const migration_candidate &c : candidates) {
        scored.push_back(scored_migration::make(c.mig, node_imbalance_with(c)));
    }
    // Elements comparing equal are identical, so the sort needs no stability.
    const std::size_t keep = std::min(limit, scored.size());
    std::partial_sort(
        scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(keep), scored.end(),
        [](const scored_migration &a, const scored_migration &b) { return compare(a, b) < 0; });
    scored.resize(keep);
    return scored;
}

outcome<std::vector<scored_migration>>
cluster_snapshot::score_best_balancing_migration_candidates_topsis(
    const std::vector<migration_candidate> &candidates, std::size_t limit) const {
    auto order =
        topsis::rank_alternatives(to_matrix(migration_alternatives(candidates)), pve_criteria());
    if (!order) {
        return std::unexpected(std::move(order.error()));
    }
    std::vector<scored_migration> out;
    for (std::size_t i = 0; i < order->size() && out.size() < limit; ++i) {
        const migration_candidate &c = candidates[(*order)[i]];
        out.push_back(scored_migration::make(c.mig, node_imbalance_with(c)));
    }
    return out;
}

outcome<std::vector<std::pair<std::string, double>>>
cluster_snapshot::score_nodes_to_start_resource(const service_stats &r) const {
    auto scores = topsis::score_alternatives(to_matrix(start_alternatives(r)), pve_criteria());
    if (!scores) {
        return std::unexpected(std::move(scores.error()));
    }
    std::vector<std::pair<std::string, double>> out;
    out.reserve(nodes_.size());
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        out.emplace_back(nodes_[i].name, (*scores)[i]);
    }
    return out;
}

} // namespace pvebal::hacompat
