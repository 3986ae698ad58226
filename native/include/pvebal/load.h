// File: pvebal/load.h
//
// How guests load nodes, as arithmetic on the model. A node's usage is its own overhead (what
// the node reports minus what its guests account for) plus the demand of the guests placed on
// it, so moving a guest moves exactly its demand. In `assigned` mode there is no overhead and a
// running guest demands its vCPUs and configured memory, as Proxmox's static CRS counts it.
//
//   pvebal::load_view v = pvebal::make_load_view(c, opts.mode);
//   v.move(g, target);  // v.used now reflects the guest on target
#ifndef PVEBAL_LOAD_H_
#define PVEBAL_LOAD_H_

#include "pvebal/dimensions.h"
#include "pvebal/model.h"
#include "pvebal/options.h"

#include <vector>

namespace pvebal {

// Demand of one guest in the given mode (zero for guests that do not run).
res guest_demand(const guest &g, load_mode mode);
// The same with every option that decides demand (an optional dimension that is off: 0).
res guest_demand(const guest &g, const options &o);

struct load_view {
    load_mode mode = load_mode::used;
    std::vector<res> capacity;      // per node (0 in a dimension that is off)
    std::vector<res> base;          // per node: usage not attributed to any guest
    std::vector<res> demand;        // per guest
    std::vector<node_id> placement; // per guest
    std::vector<res> used;          // per node: base + demand of the guests placed there
    std::vector<double> pressure;   // per node: PSI, 0..1 (node::pressure); empty: none

    // Utilisation of node n in one dimension (0 without capacity).
    double util(node_id n, dimension d) const {
        return capacity[n][d] > 0 ? used[n][d] / capacity[n][d] : 0;
    }
    res util(node_id n) const {
        res u;
        for (const dimension_info &row : dimension_table) {
            u[row.dim] = util(n, row.dim);
        }
        return u;
    }

    // Moves a guest's demand to another node.
    void move(guest_id g, node_id to);
};

// Optional dimensions that are off (weight 0) have zero capacity and demand everywhere, so they
// change nothing. The `mode` form uses the default options in that mode.
load_view make_load_view(const cluster &c, const options &o);
load_view make_load_view(const cluster &c, load_mode mode);

} // namespace pvebal

#endif
