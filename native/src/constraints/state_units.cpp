// State units: whether arriving guests fit a node in the current placement (capacity, ratios,
// keep-apart groups).
#include "constraints/units.h"

#include <algorithm>

namespace pvebal::detail::unit_fns {

// Each limit in one place: what a node may hold (arrival checks and held checks read these).
double limit_of(const decision_context &ctx, const overlay &s, constraint k, node_id n) {
    const res cap = s.load().capacity[n];
    switch (k) {
    case constraint::memory:
        return usable_memory(ctx.o, ctx.c.nodes[n], cap[dimension::memory]);
    case constraint::cpu:
        return ctx.o.cpu_limit * cap[dimension::cpu];
    case constraint::vcpu_ratio:
        return ctx.o.max_vcpu_ratio ? *ctx.o.max_vcpu_ratio * cap[dimension::cpu] : 0;
    case constraint::memory_ratio:
        return ctx.o.max_memory_ratio ? *ctx.o.max_memory_ratio * cap[dimension::memory] : 0;
    default:
        return 0;
    }
}

// What a node holds against that limit now: used memory and CPU, assigned vCPUs and memory.
double held_of(const overlay &s, constraint k, node_id n) {
    switch (k) {
    case constraint::memory:
        return s.load().used[n][dimension::memory];
    case constraint::cpu:
        return s.load().used[n][dimension::cpu];
    case constraint::vcpu_ratio:
        return s.assigned(n)[dimension::cpu];
    case constraint::memory_ratio:
        return s.assigned(n)[dimension::memory];
    default:
        return 0;
    }
}

bool limit_set(const decision_context &ctx, constraint k) {
    return (k != constraint::vcpu_ratio || ctx.o.max_vcpu_ratio) &&
           (k != constraint::memory_ratio || ctx.o.max_memory_ratio);
}

opt_rejection s_memory(const decision_context &ctx, const overlay &s, const arrival &in, node_id n,
                       bool explain) {
    if (in.demand[dimension::memory] <= 0) {
        return std::nullopt;
    }
    const double usable = limit_of(ctx, s, constraint::memory, n);
    const double used = s.load().used[n][dimension::memory];
    if (used + in.demand[dimension::memory] <= usable) {
        return std::nullopt;
    }
    if (!explain) {
        return quiet(constraint::memory);
    }
    // Name what sets this node's reserve (node_memory_reserve).
    const node &nd = ctx.c.nodes[n];
    const char *limits =
        nd.memory_reserve ? "memory-limit, node-memory-reserve"
        : node_memory_reserve(ctx.o, nd) != static_cast<double>(ctx.o.memory_reserve)
            ? "memory-limit, memory-reserve, ZFS ARC"
            : "memory-limit, memory-reserve";
    return rejection{constraint::memory,
                     "needs " + gib_text(in.demand[dimension::memory]) + ", " + nd.name + " has " +
                         gib_text(std::max(0.0, usable - used)) + " usable (" + limits + ")"};
}

// A relief move (docs/constraints.md, "Relief moves"): CPU contention is soft, so a unit may go
// to a node above cpu-limit when the move strictly lowers the hotter of the two nodes' CPU
// utilisation. Judged on the move's result: the source as if the unit had left, the target
// with it (a guest in flight loads both for memory, which stays hard, but its CPU runs on one).
bool cpu_relief(const decision_context &ctx, const overlay &s, const arrival &in, node_id n) {
    if (!ctx.cpu_relief || ctx.recovery() || in.guests == nullptr) {
        return false;
    }
    node_id from = no_node;
    for (guest_id g : *in.guests) {
        if (s.node_of(g) == n || s.target_of(g) == n) {
            continue;
        }
        if (from != no_node && s.node_of(g) != from) {
            return false; // one source (a unit sits on one node)
        }
        from = s.node_of(g);
    }
    const load_view &v = s.load();
    if (from == no_node || from == n || v.capacity[from][dimension::cpu] <= 0 ||
        v.capacity[n][dimension::cpu] <= 0) {
        return false;
    }
    const double before = std::max(v.used[from][dimension::cpu] / v.capacity[from][dimension::cpu],
                                   v.used[n][dimension::cpu] / v.capacity[n][dimension::cpu]);
    const double after = std::max((v.used[from][dimension::cpu] - in.demand[dimension::cpu]) /
                                      v.capacity[from][dimension::cpu],
                                  (v.used[n][dimension::cpu] + in.demand[dimension::cpu]) /
                                      v.capacity[n][dimension::cpu]);
    return after < before;
}

opt_rejection s_cpu(const decision_context &ctx, const overlay &s, const arrival &in, node_id n,
                    bool explain) {
    const double cap = s.load().capacity[n][dimension::cpu];
    const double used = s.load().used[n][dimension::cpu];
    if (in.demand[dimension::cpu] <= 0 ||
        used + in.demand[dimension::cpu] <= limit_of(ctx, s, constraint::cpu, n) ||
        cpu_relief(ctx, s, in, n)) {
        return std::nullopt;
    }
    return explain ? rejection{constraint::cpu,
                               ctx.c.nodes[n].name + " would reach " +
                                   fraction_text((used + in.demand[dimension::cpu]) / cap) +
                                   " CPU, above cpu-limit " + fraction_text(ctx.o.cpu_limit)}
                   : quiet(constraint::cpu);
}

opt_rejection s_vcpu_ratio(const decision_context &ctx, const overlay &s, const arrival &in,
                           node_id n, bool explain) {
    const std::optional<double> &ratio = ctx.o.max_vcpu_ratio;
    if (!ratio || in.assigned[dimension::cpu] <= 0 ||
        s.assigned(n)[dimension::cpu] + in.assigned[dimension::cpu] <=
            limit_of(ctx, s, constraint::vcpu_ratio, n)) {
        return std::nullopt;
    }
    return explain ? rejection{constraint::vcpu_ratio, ctx.c.nodes[n].name +
                                                           " would have more assigned vCPUs than "
                                                           "max-vcpu-ratio allows"}
                   : quiet(constraint::vcpu_ratio);
}

opt_rejection s_memory_ratio(const decision_context &ctx, const overlay &s, const arrival &in,
                             node_id n, bool explain) {
    const std::optional<double> &ratio = ctx.o.max_memory_ratio;
    if (!ratio || in.assigned[dimension::memory] <= 0 ||
        s.assigned(n)[dimension::memory] + in.assigned[dimension::memory] <=
            limit_of(ctx, s, constraint::memory_ratio, n)) {
        return std::nullopt;
    }
    return explain ? rejection{constraint::memory_ratio,
                               ctx.c.nodes[n].name + " would have more assigned memory than "
                                                     "max-memory-ratio allows"}
                   : quiet(constraint::memory_ratio);
}

// Local disks are copied to the target's storage (qemu-server storage migration), so the
// target storage needs their configured size free, after what earlier moves of the plan copied
// there or freed (the overlay counts it). A storage without a size (no maxdisk) is not judged.
opt_rejection s_storage_space(const decision_context &ctx, const overlay &s, const arrival &in,
                              node_id n, bool explain) {
    std::vector<guest_id> one;
    const std::vector<guest_id> *gs = in.guests;
    if (gs == nullptr) {
        if (!in.self) {
            return std::nullopt;
        }
        one.push_back(*in.self);
        gs = &one;
    }
    std::vector<std::pair<size_t, double>> need; // (slot, bytes), few
    for (guest_id g : *gs) {
        if (s.footprint(g).empty() || s.node_of(g) == n || s.target_of(g) == n) {
            continue;
        }
        for (const auto &[storage, bytes] : s.footprint(g)) {
            const long slot = s.storage_slot(g, n, storage);
            if (slot < 0 || bytes <= 0) {
                continue; // no storage there: the storage target unit decides
            }
            auto it = std::find_if(need.begin(), need.end(), [&](const auto &p) {
                return p.first == static_cast<size_t>(slot);
            });
            if (it == need.end()) {
                need.emplace_back(static_cast<size_t>(slot), bytes);
            } else {
                it->second += bytes;
            }
        }
    }
    const node &nd = ctx.c.nodes[n];
    for (const auto &[slot, bytes] : need) {
        const storage_info &st = nd.storages[slot];
        if (st.total == 0) {
            continue;
        }
        const double total = static_cast<double>(st.total);
        const double used = static_cast<double>(st.used) + s.storage_added(n, slot);
        if (used + bytes <= ctx.o.storage_limit * total) {
            continue;
        }
        return explain ? rejection{constraint::storage_space,
                                   "local disks need " + gib_text(bytes) + " on storage '" +
                                       st.name + "' of " + nd.name + ", which has " +
                                       gib_text(std::max(0.0, ctx.o.storage_limit * total - used)) +
                                       " free below storage-limit " +
                                       fraction_text(ctx.o.storage_limit)}
                       : quiet(constraint::storage_space);
    }
    return std::nullopt;
}

opt_rejection s_anti_affinity(const decision_context &ctx, const overlay &s, const arrival &in,
                              node_id n, bool explain) {
    auto reject = [&](int k) -> opt_rejection {
        return explain ? rejection{constraint::anti_affinity,
                                   ctx.a.apart_names[static_cast<size_t>(k)] +
                                       " keeps it apart from a guest on " + ctx.c.nodes[n].name}
                       : quiet(constraint::anti_affinity);
    };
    if (in.guests != nullptr) {
        // A unit arriving: each member not already there must find no partner there.
        for (guest_id g : *in.guests) {
            if (s.node_of(g) == n || s.target_of(g) == n) {
                continue;
            }
            for (int k : ctx.a.apart[g]) {
                if (s.apart_count(k, n) > 0) {
                    return reject(k);
                }
            }
        }
        return std::nullopt;
    }
    const bool self_here = in.self && (s.node_of(*in.self) == n || s.target_of(*in.self) == n);
    for (int k : in.apart) {
        bool self_counted = false;
        if (self_here) {
            const std::vector<int> &own = ctx.a.apart[*in.self];
            self_counted = std::find(own.begin(), own.end(), k) != own.end();
        }
        if (s.apart_count(k, n) - (self_counted ? 1 : 0) > 0) {
            return reject(k);
        }
    }
    return std::nullopt;
}

} // namespace pvebal::detail::unit_fns
