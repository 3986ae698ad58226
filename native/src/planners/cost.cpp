// Migration cost model (docs/algorithms.md, "Migration cost"):
//  - running VM, live: iterative pre-copy (Clark et al. 2005; Liu et al. 2011). Round 0 sends
//    the memory in use M, round i the pages dirtied meanwhile, M*rho^i with rho = D/B; it stops
//    when the rest fits the downtime limit or after 30 rounds. Local disks are mirrored first.
//  - stopped guest: only local disks are copied, no downtime.
//  - running container: restart migration; downtime = restart time + local disk copy.
#include "pvebal/report.h"

#include <algorithm>
#include <cmath>

namespace pvebal {

namespace {

constexpr double setup_seconds = 3.0; // task start, target preparation, final handover
constexpr int max_rounds = 30;

double local_disk_bytes(const cluster &c, const guest &g) {
    const node &src = c.nodes[g.node];
    double bytes = 0;
    bool unknown_size = false;
    for (const guest_disk &d : g.disks) {
        const storage_info *s = src.find_storage(d.storage);
        if (d.cdrom || (s != nullptr && s->shared) || (s == nullptr && src.storages.empty())) {
            continue;
        }
        bytes += static_cast<double>(d.size);
        unknown_size = unknown_size || d.size == 0;
    }
    if (g.disks.empty() && !g.local_disk_volids.empty()) {
        unknown_size = true;
    }
    if (unknown_size && bytes == 0) {
        bytes = static_cast<double>(g.maxdisk);
    }
    return bytes;
}

} // namespace

const char *plan_kind_name(plan_kind k) {
    switch (k) {
    case plan_kind::balance:
        return "balance";
    case plan_kind::evacuate:
        return "evacuate";
    case plan_kind::failover:
        return "failover";
    }
    return "balance";
}

bool has_local_disks(const cluster &c, guest_id g) {
    return local_disk_bytes(c, c.guests[g]) > 0 || !c.guests[g].local_disk_volids.empty();
}

migration_mode mode_for(const guest &g) {
    if (!g.running) {
        return migration_mode::offline;
    }
    return g.type == guest_type::lxc ? migration_mode::restart : migration_mode::online;
}

migration_cost estimate_cost(const cluster &c, const options &o, guest_id g, migration_mode mode,
                             bool with_local_disks) {
    const guest &gs = c.guests[g];
    const double b = o.bandwidth;
    const double disk = with_local_disks ? local_disk_bytes(c, gs) : 0;
    migration_cost cost;
    cost.bytes = disk;
    cost.seconds = setup_seconds + disk / b;
    if (mode == migration_mode::offline) {
        return cost;
    }
    if (mode == migration_mode::restart) {
        cost.downtime = o.restart_downtime + disk / b;
        cost.seconds += o.restart_downtime;
        return cost;
    }
    // Live pre-copy of memory in use (zero pages cost next to nothing).
    const double m =
        static_cast<double>(gs.memhost > 0 ? gs.memhost : std::max(gs.mem, gs.maxmem / 8));
    const double dirty =
        std::min(gs.cpu_avg.value_or(gs.cpu), 1.0) * gs.maxcpu * o.dirty_rate_per_cpu;
    // Above ~0.9 QEMU's auto-converge throttles the guest until it converges.
    const double rho = std::min(dirty / b, 0.9);
    double rest = m;
    double sent = 0;
    int round = 0;
    while (round < max_rounds) {
        sent += rest;
        rest *= rho;
        ++round;
        if (rest <= b * o.max_downtime) {
            break;
        }
    }
    sent += rest; // the stop-and-copy phase
    cost.bytes += sent;
    cost.seconds += sent / b;
    cost.downtime = rest / b + 0.02; // plus device state handover
    return cost;
}

} // namespace pvebal
