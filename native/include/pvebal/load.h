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

#include "pvebal/model.h"
#include "pvebal/options.h"

#include <vector>

namespace pvebal {

// A two-resource vector: CPU in cores, memory in bytes.
struct res {
    double cpu = 0;
    double mem = 0;

    res &operator+=(const res &o) {
        cpu += o.cpu;
        mem += o.mem;
        return *this;
    }
    res &operator-=(const res &o) {
        cpu -= o.cpu;
        mem -= o.mem;
        return *this;
    }
    friend res operator+(res a, const res &b) { return a += b; }
    friend res operator-(res a, const res &b) { return a -= b; }
    friend bool operator==(const res &, const res &) = default;
};

// Demand of one guest in the given mode (zero for guests that do not run).
res guest_demand(const guest &g, load_mode mode);

struct load_view {
    load_mode mode = load_mode::used;
    std::vector<res> capacity;      // per node: maxcpu, maxmem
    std::vector<res> base;          // per node: usage not attributed to any guest
    std::vector<res> demand;        // per guest
    std::vector<node_id> placement; // per guest
    std::vector<res> used;          // per node: base + demand of the guests placed there
    std::vector<double> pressure;   // per node: PSI, 0..1 (node::pressure); empty: none

    double cpu_util(node_id n) const {
        return capacity[n].cpu > 0 ? used[n].cpu / capacity[n].cpu : 0;
    }
    double mem_util(node_id n) const {
        return capacity[n].mem > 0 ? used[n].mem / capacity[n].mem : 0;
    }

    // Moves a guest's demand to another node.
    void move(guest_id g, node_id to);
};

load_view make_load_view(const cluster &c, load_mode mode);

} // namespace pvebal

#endif
