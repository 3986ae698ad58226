#include "pvebal/load.h"

#include <algorithm>

namespace pvebal {

res guest_demand(const guest &g, load_mode mode) {
    if (!g.running) {
        return {};
    }
    if (mode == load_mode::assigned) {
        return {g.maxcpu, static_cast<double>(g.maxmem)};
    }
    double cpu = std::min(g.cpu_avg.value_or(g.cpu), 1.0) * g.maxcpu;
    // Host-side memory is what the guest costs its node; the guest's own view is a fallback.
    std::uint64_t mem = g.mem_avg.value_or(g.memhost > 0 ? g.memhost : g.mem);
    return {cpu, static_cast<double>(mem)};
}

load_view make_load_view(const cluster &c, load_mode mode) {
    load_view v;
    v.mode = mode;
    v.capacity.resize(c.nodes.size());
    v.base.resize(c.nodes.size());
    v.used.resize(c.nodes.size());
    v.demand.resize(c.guests.size());
    v.placement.resize(c.guests.size());

    // What the guests account for, as the node measured it (instantaneous values, so the
    // overhead is node minus guests at the same instant; RRD averages only change demand).
    std::vector<res> measured(c.nodes.size());
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        const guest &gs = c.guests[g];
        v.placement[g] = gs.node;
        v.demand[g] = guest_demand(gs, mode);
        if (gs.running) {
            measured[gs.node] += {std::min(gs.cpu, 1.0) * gs.maxcpu,
                                  static_cast<double>(gs.memhost > 0 ? gs.memhost : gs.mem)};
        }
    }
    for (node_id n = 0; n < c.nodes.size(); ++n) {
        const node &ns = c.nodes[n];
        v.capacity[n] = {ns.maxcpu, static_cast<double>(ns.maxmem)};
        if (ns.pressure > 0) {
            v.pressure.resize(c.nodes.size(), 0.0);
            v.pressure[n] = ns.pressure;
        }
        if (mode == load_mode::used && ns.online) {
            v.base[n] = {std::max(0.0, ns.cpu * ns.maxcpu - measured[n].cpu),
                         std::max(0.0, static_cast<double>(ns.mem) - measured[n].mem)};
        }
        v.used[n] = v.base[n];
    }
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        v.used[v.placement[g]] += v.demand[g];
    }
    return v;
}

void load_view::move(guest_id g, node_id to) {
    used[placement[g]] -= demand[g];
    placement[g] = to;
    used[to] += demand[g];
}

} // namespace pvebal
