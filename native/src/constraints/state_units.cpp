// State units: whether arriving guests fit a node in the current placement (capacity, ratios,
// keep-apart groups).
#include "constraints/units.h"

#include <algorithm>

namespace pvebal::detail::unit_fns {

opt_rejection s_memory(const decision_context &ctx, const overlay &s, const arrival &in, node_id n,
                       bool explain) {
    if (in.demand[dimension::memory] <= 0) {
        return std::nullopt;
    }
    const double usable = usable_memory(ctx.o, s.load().capacity[n][dimension::memory]);
    const double used = s.load().used[n][dimension::memory];
    if (used + in.demand[dimension::memory] <= usable) {
        return std::nullopt;
    }
    return explain
               ? rejection{constraint::memory, "needs " + gib_text(in.demand[dimension::memory]) +
                                                   ", " + ctx.c.nodes[n].name + " has " +
                                                   gib_text(std::max(0.0, usable - used)) +
                                                   " usable (memory-limit, memory-reserve)"}
               : quiet(constraint::memory);
}

opt_rejection s_cpu(const decision_context &ctx, const overlay &s, const arrival &in, node_id n,
                    bool explain) {
    const double cap = s.load().capacity[n][dimension::cpu];
    const double used = s.load().used[n][dimension::cpu];
    if (in.demand[dimension::cpu] <= 0 ||
        used + in.demand[dimension::cpu] <= ctx.o.cpu_limit * cap) {
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
            *ratio * s.load().capacity[n][dimension::cpu]) {
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
            *ratio * s.load().capacity[n][dimension::memory]) {
        return std::nullopt;
    }
    return explain ? rejection{constraint::memory_ratio,
                               ctx.c.nodes[n].name + " would have more assigned memory than "
                                                     "max-memory-ratio allows"}
                   : quiet(constraint::memory_ratio);
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
