// The `score` answer: metrics of the current placement and what deserves attention.
#include "constraints/registry.h"
#include "pvebal/report.h"

#include <cstdio>

namespace pvebal {

namespace {

std::string percent(double f) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", f * 100);
    return buf;
}

} // namespace

score_report make_score_report(const cluster &c, const options &o) {
    score_report r;
    r.load = make_load_view(c, o.mode);
    r.m = compute_metrics(c, r.load, o);
    const affinity_groups a = compile_affinity(c, o);
    const detail::decision_context ctx(c, o, a);

    for (node_id n = 0; n < c.nodes.size(); ++n) {
        const node_metrics &nm = r.m.nodes[n];
        const node &ns = c.nodes[n];
        if (!ns.online) {
            if (nm.guests > 0) {
                r.warnings.push_back(
                    {"offline-node",
                     n,
                     std::nullopt,
                     "node is offline and still holds " + std::to_string(nm.guests) + " guest(s)",
                     {}});
            }
            continue;
        }
        if (ns.maintenance && nm.guests > 0) {
            r.warnings.push_back({"maintenance-node",
                                  n,
                                  std::nullopt,
                                  "node is in maintenance and still holds " +
                                      std::to_string(nm.guests) + " guest(s)",
                                  {}});
        }
        if (nm.cpu_util > o.cpu_limit) {
            r.warnings.push_back(
                {"overloaded",
                 n,
                 std::nullopt,
                 "CPU at " + percent(nm.cpu_util) + ", above the limit of " + percent(o.cpu_limit),
                 {}});
        }
        const double mem_cap = nm.capacity.mem;
        const double usable = usable_memory(o, c.nodes[n], mem_cap);
        if (nm.used.mem > usable) {
            r.warnings.push_back({"overloaded",
                                  n,
                                  std::nullopt,
                                  "memory at " + percent(nm.mem_util) + ", above the limit of " +
                                      percent(mem_cap > 0 ? std::max(0.0, usable) / mem_cap : 0) +
                                      " (memory-limit and memory-reserve)",
                                  {}});
        }
    }
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        std::vector<rejection> why = detail::immovable_reasons(ctx, g);
        if (!why.empty()) {
            r.warnings.push_back(
                {"immovable", std::nullopt, g, "guest can never be moved", std::move(why)});
        }
        const guest_policy &p = ctx.policy(g);
        for (const std::string &t : p.unknown_pins) {
            r.warnings.push_back({"unknown-pin",
                                  std::nullopt,
                                  g,
                                  "tag " + t + " names no node of this cluster",
                                  {}});
        }
    }
    for (const std::string &d : c.ha.dropped) {
        r.warnings.push_back({"ha-rule", std::nullopt, std::nullopt, d, {}});
    }
    for (const std::string &d : a.notes) {
        r.warnings.push_back({"affinity-conflict", std::nullopt, std::nullopt, d, {}});
    }
    return r;
}

} // namespace pvebal
