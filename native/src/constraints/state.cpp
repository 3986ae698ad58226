#include "pvebal/constraints.h"

namespace pvebal {

placement_state::placement_state(const cluster &c, const options &o, const affinity_groups &a)
    : c_(&c), a_(&a), load_(make_load_view(c, o.mode)), target_(c.guests.size(), no_node),
      assigned_(c.nodes.size()),
      apart_count_(a.apart_names.size(), std::vector<int>(c.nodes.size(), 0)) {
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        add(g, c.guests[g].node, +1);
    }
}

void placement_state::add(guest_id g, node_id n, int sign) {
    const guest &gs = c_->guests[g];
    if (gs.running) {
        const double s = sign;
        assigned_[n] += {s * gs.maxcpu, s * static_cast<double>(gs.maxmem)};
    }
    for (int k : a_->apart[g]) {
        apart_count_[static_cast<size_t>(k)][n] += sign;
    }
}

void placement_state::set_demand(guest_id g, res d) {
    load_.used[load_.placement[g]] += d - load_.demand[g];
    if (target_[g] != no_node) {
        load_.used[target_[g]] += d - load_.demand[g];
    }
    load_.demand[g] = d;
}

void placement_state::begin(guest_id g, node_id to) {
    target_[g] = to;
    load_.used[to] += load_.demand[g];
    add(g, to, +1);
}

void placement_state::finish(guest_id g) {
    const node_id from = load_.placement[g];
    const node_id to = target_[g];
    load_.used[from] -= load_.demand[g];
    add(g, from, -1);
    load_.placement[g] = to;
    target_[g] = no_node;
}

} // namespace pvebal
