// Affinity compiled once per cluster: keep-together units and keep-apart groups, from HA
// resource-affinity rules and (optionally) ProxLB tags; the HA node-affinity rule per guest.
#include "pvebal/constraints.h"

#include <algorithm>
#include <map>
#include <numeric>

namespace pvebal {

namespace {

struct union_find {
    std::vector<guest_id> parent;
    explicit union_find(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0u); }
    guest_id find(guest_id x) {
        while (parent[x] != x) {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        return x;
    }
    void join(guest_id a, guest_id b) {
        a = find(a);
        b = find(b);
        if (a != b) {
            parent[std::max(a, b)] = std::min(a, b); // smallest id is the root: deterministic
        }
    }
};

} // namespace

affinity_groups compile_affinity(const cluster &c, const options &o) {
    affinity_groups a;
    const size_t n = c.guests.size();
    a.together.assign(n, -1);
    a.apart.assign(n, {});
    a.node_rule.assign(n, -1);

    union_find uf(n);
    std::vector<bool> in_together(n, false);
    for (const resource_affinity_rule &r : c.ha.resource_affinity) {
        if (!r.positive) {
            continue;
        }
        for (guest_id g : r.guests) {
            in_together[g] = true;
            uf.join(r.guests.front(), g);
        }
    }
    std::map<std::string, std::vector<guest_id>> tag_together, tag_apart;
    for (guest_id g = 0; g < n; ++g) {
        const guest_policy p = policy_of(c, o, g);
        for (const std::string &t : p.together_groups) {
            tag_together[t].push_back(g);
        }
        for (const std::string &t : p.apart_groups) {
            tag_apart[t].push_back(g);
        }
    }
    for (const auto &[name, members] : tag_together) {
        if (members.size() < 2) {
            continue;
        }
        for (guest_id g : members) {
            in_together[g] = true;
            uf.join(members.front(), g);
        }
    }
    std::map<guest_id, int> root_group;
    for (guest_id g = 0; g < n; ++g) {
        if (!in_together[g]) {
            continue;
        }
        const guest_id root = uf.find(g);
        auto [it, fresh] = root_group.emplace(root, static_cast<int>(a.together_names.size()));
        if (fresh) {
            a.together_names.push_back("together with " + c.guests[root].sid());
        }
        a.together[g] = it->second;
    }

    auto add_apart = [&](const std::string &name, const std::vector<guest_id> &members) {
        const int k = static_cast<int>(a.apart_names.size());
        a.apart_names.push_back(name);
        for (guest_id g : members) {
            a.apart[g].push_back(k);
        }
    };
    for (const resource_affinity_rule &r : c.ha.resource_affinity) {
        if (!r.positive) {
            add_apart("HA rule '" + r.id + "'", r.guests);
        }
    }
    for (const auto &[name, members] : tag_apart) {
        if (members.size() >= 2) {
            add_apart("tag plb_anti_affinity_" + name, members);
        }
    }

    // A guest in several node-affinity rules makes pve-ha-manager drop every one of those rules
    // ("resource is already used in another node affinity rule"): none applies, whatever the
    // order of the rules.
    std::vector<int> rules_of(n, 0);
    for (const node_affinity_rule &r : c.ha.node_affinity) {
        for (guest_id g : r.guests) {
            ++rules_of[g];
        }
    }
    for (size_t i = 0; i < c.ha.node_affinity.size(); ++i) {
        const std::vector<guest_id> &gs = c.ha.node_affinity[i].guests;
        if (std::any_of(gs.begin(), gs.end(), [&](guest_id g) { return rules_of[g] > 1; })) {
            continue;
        }
        for (guest_id g : gs) {
            a.node_rule[g] = static_cast<int>(i);
        }
    }
    return a;
}

} // namespace pvebal
