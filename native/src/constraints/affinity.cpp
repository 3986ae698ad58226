// Affinity compiled once per cluster: keep-together units and keep-apart groups, from HA
// resource-affinity rules and (optionally) ProxLB tags; the HA node-affinity rule per guest.
#include "pvebal/constraints.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <optional>
#include <set>

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

// Keep-together groups are joined transitively (HA positive rules, then plb_affinity_ tags),
// keep-apart groups never are: so one together group must never hold two guests that must be
// kept apart, or no placement could honour both. HA rules win over tags (a tag is not an HA
// rule: HA enforces its rules whatever we plan) and apart wins over together (never put two
// apart guests on one node). A rule or tag group that would break this is not honoured, with a
// note, as pve-ha-manager drops conflicting rules.
affinity_groups compile_affinity(const cluster &c, const options &o, const newcomer *incoming) {
    affinity_groups a;
    // A newcomer takes the index after the guests: a member of the groups, not a guest.
    const size_t n = c.guests.size() + (incoming != nullptr ? 1 : 0);
    if (incoming != nullptr) {
        a.newcomer = static_cast<guest_id>(c.guests.size());
    }
    auto label = [&](guest_id g) {
        return g < c.guests.size() ? c.guests[g].sid() : std::string("the new guest");
    };
    a.together.assign(n, no_group);
    a.apart.assign(n, {});
    a.node_rule.assign(n, no_group);

    std::map<std::string, std::vector<guest_id>> tag_together, tag_apart;
    a.policies.reserve(n);
    for (guest_id g = 0; g < n; ++g) {
        a.policies.push_back(g < c.guests.size() ? policy_of(c, o, g)
                                                 : policy_of_tags(c, o, incoming->tags));
        const guest_policy &p = a.policies.back();
        for (const std::string &t : p.together_groups) {
            tag_together[t].push_back(g);
        }
        for (const std::string &t : p.apart_groups) {
            tag_apart[t].push_back(g);
        }
    }

    // Keep-apart groups: every HA negative rule (checked and compiled), then the tag groups
    // that do not contradict the HA positive rules and fit the cluster.
    // Keep-together components (union-find) and, per component root, how many of its guests
    // are in each keep-apart group: joining components must never make a count reach two.
    union_find uf(n);
    std::vector<bool> in_together(n, false);
    std::vector<std::map<int, int>> apart_in(n); // by root
    auto add_apart = [&](const std::string &name, const std::vector<guest_id> &members) {
        const int k = static_cast<int>(a.apart_names.size());
        a.apart_names.push_back(name);
        for (guest_id g : members) {
            a.apart[g].push_back(k);
            ++apart_in[uf.find(g)][k];
        }
    };

    for (const resource_affinity_rule &r : c.ha.resource_affinity) {
        if (!r.positive) {
            add_apart("HA rule '" + r.id + "'", r.guests);
        }
    }

    // Would joining `members` into one group put two members of a keep-apart group together?
    auto conflict = [&](const std::vector<guest_id> &members) -> std::optional<std::string> {
        std::vector<guest_id> roots;
        for (guest_id g : members) {
            roots.push_back(uf.find(g));
        }
        std::sort(roots.begin(), roots.end());
        roots.erase(std::unique(roots.begin(), roots.end()), roots.end());
        std::map<int, int> total;
        for (guest_id r : roots) {
            for (const auto &[k, count] : apart_in[r]) {
                if ((total[k] += count) < 2) {
                    continue;
                }
                std::vector<guest_id> inside; // two of them, for the message
                for (guest_id g = 0; g < n && inside.size() < 2; ++g) {
                    const std::vector<int> &ks = a.apart[g];
                    if (std::binary_search(roots.begin(), roots.end(), uf.find(g)) &&
                        std::find(ks.begin(), ks.end(), k) != ks.end()) {
                        inside.push_back(g);
                    }
                }
                return label(inside[0]) + " and " + label(inside[1]) + " must be kept apart (" +
                       a.apart_names[static_cast<size_t>(k)] + ")";
            }
        }
        return std::nullopt;
    };
    auto join = [&](const std::vector<guest_id> &members) {
        for (guest_id g : members) {
            in_together[g] = true;
            const guest_id ra = uf.find(members.front()), rb = uf.find(g);
            if (ra == rb) {
                continue;
            }
            uf.join(ra, rb);
            const guest_id root = uf.find(ra), other = root == ra ? rb : ra;
            for (const auto &[k, count] : apart_in[other]) {
                apart_in[root][k] += count;
            }
            apart_in[other].clear();
        }
    };
    for (const resource_affinity_rule &r : c.ha.resource_affinity) {
        if (!r.positive) {
            continue;
        }
        if (auto why = conflict(r.guests)) {
            a.notes.push_back("HA rule '" + r.id + "' is not honoured: " + *why);
            continue;
        }
        join(r.guests);
    }
    double largest_node = 0;
    size_t usable_nodes = 0;
    for (const node &nd : c.nodes) {
        if (nd.online) {
            largest_node =
                std::max(largest_node, usable_memory(o, nd, static_cast<double>(nd.maxmem)));
            ++usable_nodes;
        }
    }
    // A tag pair that keeps two guests both together and apart: neither is honoured (as
    // pve-ha-manager drops both sides of such a conflict between its rules).
    std::set<std::string> contradicted, contradicting;
    for (const auto &[name, members] : tag_together) {
        if (members.size() < 2) {
            continue;
        }
        for (const auto &[apart_name, apart] : tag_apart) {
            if (std::count_if(members.begin(), members.end(), [&](guest_id g) {
                    return std::find(apart.begin(), apart.end(), g) != apart.end();
                }) >= 2) {
                contradicted.insert(apart_name);
                contradicting.insert(name);
            }
        }
    }
    for (const auto &[name, members] : tag_apart) {
        if (members.size() < 2) {
            continue;
        }
        const std::string tag = "tag plb_anti_affinity_" + name;
        if (contradicted.count(name)) {
            a.notes.push_back(tag + " is not honoured: a plb_affinity_ tag keeps two of its guests "
                                    "together");
            continue;
        }
        if (members.size() > usable_nodes) {
            // Still honoured as far as it goes: no move puts two of them on one node.
            a.notes.push_back(tag + " cannot be met: it has " + std::to_string(members.size()) +
                              " guests and the cluster " + std::to_string(usable_nodes) +
                              " online nodes; no move adds a second one to a node");
        }
        // HA keeps its positive groups together whatever we plan: a tag cannot split them.
        std::map<guest_id, int> per_group;
        bool split = false;
        for (guest_id g : members) {
            split = split || (in_together[g] && ++per_group[uf.find(g)] >= 2);
        }
        if (split) {
            a.notes.push_back(tag + " is not honoured: an HA positive rule keeps two of its "
                                    "guests together");
            continue;
        }
        add_apart(tag, members);
    }
    for (const auto &[name, members] : tag_together) {
        if (members.size() < 2) {
            continue;
        }
        const std::string tag = "tag plb_affinity_" + name;
        if (contradicting.count(name)) {
            a.notes.push_back(tag +
                              " is not honoured: a plb_anti_affinity_ tag keeps two of its guests "
                              "apart");
            continue;
        }
        double need = 0;
        for (guest_id g : members) {
            need += g < c.guests.size() ? guest_demand(c.guests[g], o)[dimension::memory]
                                        : incoming->demand[dimension::memory];
        }
        if (need > largest_node) {
            a.notes.push_back(tag + " cannot be met: its guests need more memory than any node "
                                    "has usable");
        }
        if (auto why = conflict(members)) {
            a.notes.push_back(tag + " is not honoured: " + *why);
            continue;
        }
        join(members);
    }
    std::map<guest_id, int> root_group;
    for (guest_id g = 0; g < n; ++g) {
        if (!in_together[g]) {
            continue;
        }
        const guest_id root = uf.find(g);
        auto [it, fresh] = root_group.emplace(root, static_cast<int>(a.together_names.size()));
        if (fresh) {
            a.together_names.push_back("together with " + label(root));
        }
        a.together[g] = it->second;
    }

    // HA node affinity: the compiled rules give each guest at most one rule (the first by id
    // otherwise, deterministically).
    for (size_t i = 0; i < c.ha.node_affinity.size(); ++i) {
        for (guest_id g : c.ha.node_affinity[i].guests) {
            if (a.node_rule[g] == no_group) {
                a.node_rule[g] = static_cast<int>(i);
            }
        }
    }
    return a;
}

} // namespace pvebal
