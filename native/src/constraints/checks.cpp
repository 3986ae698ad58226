// Target checks. Each returns the first reason a node is rejected, cheap checks first:
// node state, pins, HA node affinity, migrate precondition, storage (static); then capacity and
// keep-apart against the evolving state.
#include "pvebal/constraints.h"

#include <algorithm>
#include <cstdio>

namespace pvebal {

namespace {

std::string gib_text(double bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f GiB", bytes / (1024.0 * 1024 * 1024));
    return buf;
}

std::string fraction_text(double f) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", f * 100);
    return buf;
}

// HA's view of a node-affinity rule: the allowed nodes and the highest priority class among
// the active ones (non-strict rules let every other node in at priority -1).
bool ha_node_allowed(const cluster& c, const node_affinity_rule& r, bool failback, node_id n) {
    const std::optional<int> p = ha_node_priority(r, n);
    if (!p || !failback) {
        return p.has_value();
    }
    std::vector<bool> active(c.nodes.size());
    for (node_id x = 0; x < c.nodes.size(); ++x) {
        active[x] = c.nodes[x].online && !c.nodes[x].maintenance;
    }
    return *p >= ha_best_priority(r, active);
}

std::string storage_of_volid(const std::string& volid) { return volid.substr(0, volid.find(':')); }

std::optional<rejection> storage_check(const cluster& c, const options& o, const guest& g, node_id n) {
    const node& src = c.nodes[g.node];
    const node& dst = c.nodes[n];
    auto needs = [&](const std::string& storage, const std::string& what) -> std::optional<rejection> {
        const storage_info* s = src.find_storage(storage);
        if (s != nullptr && s->shared) {
            return std::nullopt;
        }
        if (s == nullptr && src.storages.empty()) {
            return std::nullopt; // the snapshot says nothing about storage: cannot tell
        }
        if (const storage_info* t = dst.find_storage(storage); t != nullptr && t->available) {
            return std::nullopt;
        }
        for (const auto& [from, to] : o.storage_map) {
            if (from == storage) {
                if (const storage_info* t = dst.find_storage(to); t != nullptr && t->available) {
                    return std::nullopt;
                }
            }
        }
        return rejection{"storage", what + " is on local storage '" + storage +
                                        "', which " + dst.name + " does not have (storage-map can map it)"};
    };
    for (const guest_disk& d : g.disks) {
        if (auto r = needs(d.storage, "disk " + d.key)) {
            return r;
        }
    }
    for (const std::string& v : g.local_disk_volids) {
        if (auto r = needs(storage_of_volid(v), "disk " + v)) {
            return r;
        }
    }
    return std::nullopt;
}

} // namespace

std::optional<int> ha_node_priority(const node_affinity_rule& r, node_id n) {
    for (const auto& [node, prio] : r.nodes) {
        if (node == n) {
            return prio;
        }
    }
    return r.strict ? std::nullopt : std::optional<int>(-1);
}

int ha_best_priority(const node_affinity_rule& r, const std::vector<bool>& usable) {
    int best = -2;
    for (node_id x = 0; x < usable.size(); ++x) {
        if (usable[x]) {
            if (auto p = ha_node_priority(r, x)) {
                best = std::max(best, *p);
            }
        }
    }
    return best;
}

double usable_memory(const options& o, double maxmem) {
    return std::max(0.0, std::min(maxmem * o.memory_limit, maxmem - static_cast<double>(o.memory_reserve)));
}

std::optional<rejection> static_target_check(const cluster& c, const options& o,
                                             const affinity_groups& a, guest_id g, node_id n) {
    const guest& gs = c.guests[g];
    const node& nd = c.nodes[n];
    if (!nd.online) {
        return rejection{"offline", "node " + nd.name + " is offline"};
    }
    if (nd.maintenance) {
        return rejection{"maintenance", "node " + nd.name + " is in maintenance"};
    }
    const guest_policy p = policy_of(c, o, g);
    if (!p.pinned.empty() && !std::binary_search(p.pinned.begin(), p.pinned.end(), n)) {
        std::string to;
        for (node_id x : p.pinned) {
            to += (to.empty() ? "" : ", ") + c.nodes[x].name;
        }
        return rejection{"pin", "pinned by tag to " + to + ", not " + nd.name};
    }
    if (a.node_rule[g] >= 0) {
        const node_affinity_rule& r = c.ha.node_affinity[static_cast<size_t>(a.node_rule[g])];
        const ha_resource* hr = c.ha.find(g);
        const bool failback = hr == nullptr || hr->failback;
        if (!ha_node_allowed(c, r, failback, n)) {
            return rejection{"ha-node-affinity",
                             std::string("HA node affinity rule '") + r.id + "' " +
                                 (r.strict ? "does not allow " : "prefers other nodes than ") + nd.name};
        }
    }
    for (const blocked_target& b : gs.blocked_targets) {
        if (b.node == nd.name) {
            return rejection{"precondition",
                             "migrate precondition does not allow " + nd.name + ": " + b.reason};
        }
    }
    if (auto r = storage_check(c, o, gs, n)) {
        return r;
    }
    if (gs.node == n) { // last, so callers that place a stopped guest see the other reasons
        return rejection{"current-node", "the guest is already on " + nd.name};
    }
    return std::nullopt;
}

std::optional<rejection> state_target_check(const cluster& c, const options& o,
                                            const affinity_groups& a, const placement_state& s,
                                            const std::vector<guest_id>& gs, node_id n,
                                            bool explain) {
    const load_view& v = s.load();
    res add, add_assigned;
    for (guest_id g : gs) {
        if (s.node_of(g) == n || s.target_of(g) == n) {
            continue;
        }
        add += v.demand[g];
        if (c.guests[g].running) {
            add_assigned += {c.guests[g].maxcpu, static_cast<double>(c.guests[g].maxmem)};
        }
    }
    const res cap = v.capacity[n];
    const res used = v.used[n];
    const std::string& name = c.nodes[n].name;
    if (add.mem > 0) {
        const double usable = usable_memory(o, cap.mem);
        if (used.mem + add.mem > usable) {
            return !explain ? rejection{"memory", {}} : rejection{"memory", "needs " + gib_text(add.mem) + ", " + name + " has " +
                                           gib_text(std::max(0.0, usable - used.mem)) +
                                           " usable (memory-limit, memory-reserve)"};
        }
    }
    if (add.cpu > 0 && used.cpu + add.cpu > o.cpu_limit * cap.cpu) {
        return !explain ? rejection{"cpu", {}} : rejection{"cpu", name + " would reach " + fraction_text((used.cpu + add.cpu) / cap.cpu) +
                                    " CPU, above cpu-limit " + fraction_text(o.cpu_limit)};
    }
    const res assigned = s.assigned(n);
    if (o.max_vcpu_ratio && add_assigned.cpu > 0 &&
        assigned.cpu + add_assigned.cpu > *o.max_vcpu_ratio * cap.cpu) {
        return !explain ? rejection{"vcpu-ratio", {}} : rejection{"vcpu-ratio", name + " would have more assigned vCPUs than max-vcpu-ratio allows"};
    }
    if (o.max_memory_ratio && add_assigned.mem > 0 &&
        assigned.mem + add_assigned.mem > *o.max_memory_ratio * cap.mem) {
        return !explain ? rejection{"memory-ratio", {}} : rejection{"memory-ratio", name + " would have more assigned memory than max-memory-ratio allows"};
    }
    for (guest_id g : gs) {
        if (s.node_of(g) == n || s.target_of(g) == n) {
            continue;
        }
        for (int k : a.apart[g]) {
            if (s.apart_count(k, n) > 0) {
                return !explain ? rejection{"anti-affinity", {}} : rejection{"anti-affinity", a.apart_names[static_cast<size_t>(k)] +
                                                      " keeps it apart from a guest on " + name};
            }
        }
    }
    return std::nullopt;
}

} // namespace pvebal
