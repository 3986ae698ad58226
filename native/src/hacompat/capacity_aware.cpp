// capacity_aware: pve-balancer's scoring behind the upstream HA scheduler interface.
#include "capacity_aware.h"

#include "pvebal/constraints.h"
#include "pvebal/io.h"
#include "pvebal/load.h"
#include "pvebal/options.h"
#include "pvebal/scoring.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pvebal::hacompat::capacity_aware {

namespace {

// Score bands per memory tier: [base, base + width]. The gaps keep tiers strictly apart, so a
// name tie-break in HA can never lift a node over a better tier.
constexpr double tier_base[3] = {0.7, 0.35, 0.0};
constexpr double tier_width = 0.3;

pvebal::options engine_options(const settings &cfg) {
    pvebal::options o;
    o.cpu_weight = cfg.cpu_weight;
    o.memory_weight = cfg.memory_weight;
    o.pressure_threshold = cfg.pressure_threshold;
    o.pressure_weight = cfg.pressure_weight;
    return o;
}

load_view view_of(const std::vector<node_usage> &nodes) {
    load_view v;
    v.mode = load_mode::used;
    v.capacity.reserve(nodes.size());
    v.used.reserve(nodes.size());
    for (const node_usage &n : nodes) {
        v.capacity.push_back(
            res_of(static_cast<double>(n.stats.maxcpu), static_cast<double>(n.stats.maxmem)));
        v.used.push_back(res_of(n.stats.cpu, static_cast<double>(n.stats.mem)));
    }
    v.base = v.used;
    return v;
}

objective_state state_of(const std::vector<node_usage> &nodes, const settings &cfg) {
    return objective_state(std::vector<bool>(nodes.size(), true), view_of(nodes),
                           engine_options(cfg));
}

double finite_or_inf(double x) {
    return std::isfinite(x) ? x : std::numeric_limits<double>::infinity();
}

} // namespace

settings default_settings() {
    return settings_of(pvebal::options{});
}

settings settings_of(const pvebal::options &o) {
    settings cfg;
    cfg.memory_limit = o.memory_limit;
    cfg.memory_reserve = o.memory_reserve;
    cfg.cpu_weight = o.cpu_weight;
    cfg.memory_weight = o.memory_weight;
    cfg.pressure_threshold = o.pressure_threshold;
    cfg.pressure_weight = o.pressure_weight;
    return cfg;
}

result<settings> settings_of(const pvebal::options &o, const std::vector<node_memory_info> &nodes,
                             load_mode mode) {
    auto explicit_reserves = parse_node_memory_reserve(o.node_memory_reserve);
    if (!explicit_reserves) {
        return std::unexpected(std::move(explicit_reserves.error()));
    }
    pvebal::options mode_options = o;
    mode_options.mode = mode;
    // One pvebal::node per name the hook or node-memory-reserve knows; the reserve itself is
    // node_memory_reserve's, the balancer's rule.
    std::vector<pvebal::node> known;
    auto entry = [&](const std::string &name) -> pvebal::node & {
        for (pvebal::node &nd : known) {
            if (nd.name == name) {
                return nd;
            }
        }
        pvebal::node &nd = known.emplace_back();
        nd.name = name;
        return nd;
    };
    for (const node_memory_info &info : nodes) {
        pvebal::node &nd = entry(info.name);
        nd.zfs_pool_bytes = info.zfs_pool_bytes;
        nd.arc_max = info.arc_max;
        nd.arc_size = info.arc_size;
    }
    for (const auto &[name, bytes] : *explicit_reserves) {
        entry(name).memory_reserve = bytes;
    }
    settings cfg = settings_of(o);
    for (const pvebal::node &nd : known) {
        cfg.node_reserves.emplace_back(nd.name, node_memory_reserve(mode_options, nd));
    }
    std::sort(cfg.node_reserves.begin(), cfg.node_reserves.end());
    return cfg;
}

double node_reserve(const settings &cfg, std::string_view name) {
    auto it = std::lower_bound(
        cfg.node_reserves.begin(), cfg.node_reserves.end(), name,
        [](const std::pair<std::string, double> &e, std::string_view n) { return e.first < n; });
    if (it != cfg.node_reserves.end() && it->first == name) {
        return it->second;
    }
    return static_cast<double>(cfg.memory_reserve);
}

namespace {

double usable_with(const settings &cfg, double reserve, std::uint64_t maxmem) {
    const double total = static_cast<double>(maxmem);
    const double by_limit = cfg.memory_limit * total;
    return std::max(0.0, std::min(by_limit, total - reserve));
}

int tier_with(double usable, double mem_after, std::uint64_t maxmem) {
    if (maxmem > 0 && mem_after <= usable) {
        return 0;
    }
    if (maxmem > 0 && mem_after <= static_cast<double>(maxmem)) {
        return 1;
    }
    return 2;
}

} // namespace

double usable_memory(const settings &cfg, std::uint64_t maxmem) {
    return usable_with(cfg, static_cast<double>(cfg.memory_reserve), maxmem);
}

double usable_memory(const settings &cfg, std::string_view name, std::uint64_t maxmem) {
    return usable_with(cfg, node_reserve(cfg, name), maxmem);
}

int memory_tier(const settings &cfg, std::string_view name, double mem_after,
                std::uint64_t maxmem) {
    return tier_with(usable_memory(cfg, name, maxmem), mem_after, maxmem);
}

int memory_tier(const settings &cfg, double mem_after, std::uint64_t maxmem) {
    if (maxmem > 0 && mem_after <= usable_memory(cfg, maxmem)) {
        return 0;
    }
    if (maxmem > 0 && mem_after <= static_cast<double>(maxmem)) {
        return 1;
    }
    return 2;
}

double objective(const std::vector<node_usage> &nodes, const settings &cfg) {
    if (nodes.empty()) {
        return 0.0;
    }
    return state_of(nodes, cfg).value();
}

double ha_imbalance(const std::vector<node_usage> &nodes, const settings &cfg, bool normalize) {
    // Per resource: the variance and the squared mean of its utilisation over the nodes that
    // have that resource (a node without CPUs or memory has no utilisation and must not make
    // the result NaN: HA would read NaN as "above every threshold").
    struct moments {
        double variance = 0.0;
        double mean_squared = 0.0;
    };
    auto moments_of = [&](auto capacity_of, auto used_of) {
        std::vector<double> u;
        u.reserve(nodes.size());
        for (const node_usage &n : nodes) {
            const double cap = capacity_of(n.stats);
            const double used = used_of(n.stats);
            if (cap > 0.0 && std::isfinite(used / cap)) {
                u.push_back(used / cap);
            }
        }
        moments m;
        if (u.empty()) {
            return m;
        }
        const double count = static_cast<double>(u.size());
        double sum = 0.0;
        for (double x : u) {
            sum += x;
        }
        const double mean = sum / count;
        double sq = 0.0;
        for (double x : u) {
            sq += (x - mean) * (x - mean);
        }
        m.variance = sq / count;
        if (normalize) {
            // upstream >= 2.1 divides the CV by its maximum, sqrt(n - 1)
            m.variance = u.size() < 2 ? 0.0 : m.variance / (count - 1.0);
        }
        m.mean_squared = mean * mean;
        return m;
    };
    const moments cpu =
        moments_of([](const node_stats &s) { return static_cast<double>(s.maxcpu); },
                   [](const node_stats &s) { return s.cpu; });
    const moments mem =
        moments_of([](const node_stats &s) { return static_cast<double>(s.maxmem); },
                   [](const node_stats &s) { return static_cast<double>(s.mem); });
    // sqrt(sum_r w_r Var_r / sum_r w_r mean_r^2): the per-resource coefficients of variation,
    // each weighted by how much its resource is used (w_r mean_r^2), so an almost idle resource
    // cannot dominate with large relative differences of tiny loads.
    const double scale = cfg.cpu_weight * cpu.mean_squared + cfg.memory_weight * mem.mean_squared;
    if (!(scale > 0.0)) {
        return 0.0;
    }
    const double v =
        std::sqrt((cfg.cpu_weight * cpu.variance + cfg.memory_weight * mem.variance) / scale);
    return std::isfinite(v) ? v : 0.0;
}

double node_imbalance(const scheduler &s, const settings &cfg) {
    return ha_imbalance(s.snapshot(s.balancing_aggregator()).nodes(), cfg,
                        s.opts().normalize_imbalance);
}

outcome<std::vector<scored_migration>>
score_best_balancing_migrations(const scheduler &s,
                                const std::vector<compact_candidate> &candidates, std::size_t limit,
                                const settings &cfg) {
    auto expanded = s.decompose(candidates);
    if (!expanded) {
        return std::unexpected(std::move(expanded.error()));
    }
    const cluster_snapshot snap = s.snapshot(s.balancing_aggregator());
    const std::vector<node_usage> &nodes = snap.nodes();
    auto index_of = [&](const std::string &name) -> node_id {
        for (node_id i = 0; i < nodes.size(); ++i) {
            if (nodes[i].name == name) {
                return i;
            }
        }
        return no_node;
    };
    const bool normalize = s.opts().normalize_imbalance;

    std::vector<scored_migration> scored;
    scored.reserve(expanded->size());
    std::vector<node_usage> after;
    for (const migration_candidate &c : *expanded) {
        const node_id from = index_of(c.mig.source_node);
        const node_id to = index_of(c.mig.target_node);
        if (from == no_node || to == no_node || from == to) {
            continue;
        }
        const node_stats &target = nodes[to].stats;
        const double mem_after = static_cast<double>(target.mem) + static_cast<double>(c.stats.mem);
        if (memory_tier(cfg, nodes[to].name, mem_after, target.maxmem) != 0) {
            continue; // never propose a move that overfills the target
        }
        // The same arithmetic as upstream's candidate scoring: the bundle's running usage
        // leaves the source (clamped at zero) and arrives on the target.
        after = nodes;
        remove_running_resource(after[from].stats, c.stats);
        add_running_resource(after[to].stats, c.stats);
        scored.push_back(scored_migration::make(c.mig, ha_imbalance(after, cfg, normalize)));
    }
    const std::size_t keep = std::min(limit, scored.size());
    std::partial_sort(
        scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(keep), scored.end(),
        [](const scored_migration &a, const scored_migration &b) { return compare(a, b) < 0; });
    scored.resize(keep);
    return scored;
}

outcome<std::vector<std::pair<std::string, double>>>
score_nodes_to_start(const scheduler &s, const service_stats &r, const settings &cfg) {
    const cluster_snapshot snap = s.snapshot(s.start_aggregator());
    const std::vector<node_usage> &nodes = snap.nodes();
    const objective_state base = state_of(nodes, cfg);

    std::vector<int> tier(nodes.size());
    std::vector<double> j(nodes.size());
    for (node_id n = 0; n < nodes.size(); ++n) {
        const node_stats &st = nodes[n].stats;
        // A guest without CPU limit may use the whole node (as upstream counts it).
        const double cpu = r.maxcpu == 0.0 ? static_cast<double>(st.maxcpu) : r.maxcpu;
        const double mem = static_cast<double>(r.maxmem);
        tier[n] = memory_tier(cfg, nodes[n].name, static_cast<double>(st.mem) + mem, st.maxmem);
        j[n] = finite_or_inf(base.j_after(no_node, n, res_of(cpu, mem)));
    }

    std::vector<std::pair<std::string, double>> out;
    out.reserve(nodes.size());
    for (node_id n = 0; n < nodes.size(); ++n) {
        double lo = std::numeric_limits<double>::infinity();
        double hi = -std::numeric_limits<double>::infinity();
        for (node_id m = 0; m < nodes.size(); ++m) {
            if (tier[m] == tier[n] && std::isfinite(j[m])) {
                lo = std::min(lo, j[m]);
                hi = std::max(hi, j[m]);
            }
        }
        double within = 0.0; // non-finite objectives rank last in their tier
        if (std::isfinite(j[n])) {
            within = hi > lo ? (hi - j[n]) / (hi - lo) : 1.0;
        }
        out.emplace_back(nodes[n].name, tier_base[tier[n]] + tier_width * within);
    }
    return out;
}

} // namespace pvebal::hacompat::capacity_aware
