#include "pvebal/load.h"

#include <algorithm>

namespace pvebal {

namespace {

// Dimensions read from the model: every row, except optional rows that are off.
per_dimension<bool> in_use(const options &o) {
    per_dimension<bool> u;
    for (const dimension_info &row : dimension_table) {
        u[row.dim] = dimension_in_use(row, o);
    }
    return u;
}

res demand_of(const guest &g, load_mode mode, const per_dimension<bool> &use) {
    res r;
    if (!g.running) {
        return r;
    }
    for (const dimension_info &row : dimension_table) {
        if (use[row.dim]) {
            r[row.dim] = row.demand(g, mode);
        }
    }
    return r;
}

} // namespace

res guest_demand(const guest &g, const options &o) {
    return demand_of(g, o.mode, in_use(o));
}

res guest_demand(const guest &g, load_mode mode) {
    options o;
    o.mode = mode;
    return guest_demand(g, o);
}

load_view make_load_view(const cluster &c, load_mode mode) {
    options o;
    o.mode = mode;
    return make_load_view(c, o);
}

load_view make_load_view(const cluster &c, const options &o) {
    const load_mode mode = o.mode;
    const per_dimension<bool> use = in_use(o);
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
        v.demand[g] = demand_of(gs, mode, use);
        if (gs.running) {
            for (const dimension_info &row : dimension_table) {
                if (use[row.dim] && row.measured) {
                    measured[gs.node][row.dim] += row.measured(gs);
                }
            }
        }
    }
    for (node_id n = 0; n < c.nodes.size(); ++n) {
        const node &ns = c.nodes[n];
        if (ns.pressure > 0) {
            v.pressure.resize(c.nodes.size(), 0.0);
            v.pressure[n] = ns.pressure;
        }
        for (const dimension_info &row : dimension_table) {
            if (!use[row.dim]) {
                continue;
            }
            v.capacity[n][row.dim] = row.capacity(ns, o);
            if (mode == load_mode::used && ns.online && row.node_used) {
                v.base[n][row.dim] = std::max(0.0, row.node_used(ns) - measured[n][row.dim]);
            }
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
