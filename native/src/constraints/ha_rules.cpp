// HA rules, checked and compiled as pve-ha-manager does (see ha_rules.h). The checks run on the
// same rule set and only collect errors; the blamed rules are dropped together afterwards, then
// the transforms run in upstream's order (ResourceAffinity's merge and implicit negatives, then
// the global implicit node affinity). Hash iteration in upstream is replaced by id order; where
// upstream's result does not depend on that order (every check sorts its conflicts) ours is the
// same, elsewhere it is deterministic.
#include "constraints/ha_rules.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <set>

namespace pvebal::detail {

namespace {

// Resources are interned as integers in sid string order, so "lowest resource id" (upstream's
// string comparison) is the smallest integer. A rule's resources are a sorted vector.
using sid_list = std::vector<int>;

struct rule {
    ha_rule_type type = ha_rule_type::node_affinity;
    sid_list sids;
    std::map<std::string, int> nodes; // node affinity: name -> priority
    bool strict = false;
    bool positive = true;
};

using rule_map = std::map<std::string, rule>; // by id

sid_list intersect(const sid_list &a, const sid_list &b) {
    sid_list out;
    std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
    return out;
}

void unite(sid_list &into, const sid_list &more) {
    sid_list out;
    std::set_union(into.begin(), into.end(), more.begin(), more.end(), std::back_inserter(out));
    into = std::move(out);
}

std::vector<std::string> ids_of(const rule_map &rules, ha_rule_type t, int positive = -1) {
    std::vector<std::string> out;
    for (const auto &[id, r] : rules) {
        if (r.type == t && (positive < 0 || r.positive == (positive == 1))) {
            out.push_back(id);
        }
    }
    return out;
}

// Which of `ids` contain each resource (ids in the given order): upstream loops over every
// pair of rules; looking the pairs up by resource gives the same pairs, fast.
std::map<int, std::vector<std::string>> by_resource(const rule_map &rules,
                                                    const std::vector<std::string> &ids) {
    std::map<int, std::vector<std::string>> out;
    for (const std::string &id : ids) {
        for (int s : rules.at(id).sids) {
            out[s].push_back(id);
        }
    }
    return out;
}

// The rules of `index` that share a resource with `sids`, sorted by id.
std::vector<std::string> paired(const std::map<int, std::vector<std::string>> &index,
                                const sid_list &sids) {
    std::set<std::string> out;
    for (int s : sids) {
        if (auto it = index.find(s); it != index.end()) {
            out.insert(it->second.begin(), it->second.end());
        }
    }
    return {out.begin(), out.end()};
}

// Rules/Helpers.pm find_disjoint_rules_resource_sets: rules sorted by their lowest resource id
// (string order, ties by rule id), each joined to the first set it overlaps. Greedy like
// upstream: a rule that bridges two earlier sets joins only the first.
struct disjoint_set {
    std::vector<std::string> ruleids;
    sid_list sids;
};

std::vector<disjoint_set> find_disjoint_sets(const rule_map &rules,
                                             const std::vector<std::string> &ids) {
    std::vector<std::string> sorted = ids; // already by id
    std::stable_sort(sorted.begin(), sorted.end(), [&](const std::string &a, const std::string &b) {
        const sid_list &sa = rules.at(a).sids;
        const sid_list &sb = rules.at(b).sids;
        const int la = sa.empty() ? -1 : sa.front();
        const int lb = sb.empty() ? -1 : sb.front();
        return la < lb;
    });
    std::vector<disjoint_set> out;
    std::map<int, size_t> first_set; // resource -> lowest set index holding it
    for (const std::string &id : sorted) {
        const sid_list &s = rules.at(id).sids;
        size_t found = SIZE_MAX;
        for (int x : s) {
            if (auto it = first_set.find(x); it != first_set.end()) {
                found = std::min(found, it->second);
            }
        }
        if (found == SIZE_MAX) {
            found = out.size();
            out.push_back({{id}, s});
        } else {
            out[found].ruleids.push_back(id);
            unite(out[found].sids, s);
        }
        for (int x : s) {
            auto [it, fresh] = first_set.emplace(x, found);
            if (!fresh) {
                it->second = std::min(it->second, found);
            }
        }
    }
    return out;
}

// A conflict as upstream lists it: (type tag, rule id), sorted by both.
using conflict = std::pair<std::string, std::string>;

void sort_conflicts(std::vector<conflict> &v) {
    std::sort(v.begin(), v.end());
}

using errors = std::map<std::string, std::vector<std::string>>; // rule id -> messages

// --- checks, in upstream's registration order --------------------------------------------

// Rules/NodeAffinity.pm check_single_resource_reference
void check_single_resource_reference(const rule_map &rules, const std::vector<std::string> &names,
                                     errors &err) {
    std::vector<conflict> conflicts;
    for (const auto &[sid, ids] : by_resource(rules, ids_of(rules, ha_rule_type::node_affinity))) {
        if (ids.size() < 2) {
            continue;
        }
        for (const std::string &id : ids) {
            conflicts.emplace_back(id, names[static_cast<size_t>(sid)]);
        }
    }
    sort_conflicts(conflicts);
    for (const auto &[id, sid] : conflicts) {
        err[id].push_back("resource '" + sid + "' is already used in another node affinity rule");
    }
}

// Rules/ResourceAffinity.pm check_resource_affinity_resources_count
void check_resources_count(const rule_map &rules, errors &err) {
    for (const std::string &id : ids_of(rules, ha_rule_type::resource_affinity)) {
        if (rules.at(id).sids.size() < 2) {
            err[id].push_back("rule is ineffective as there are less than two resources");
        }
    }
}

// Rules/ResourceAffinity.pm check_negative_resource_affinity_resources_count
void check_negative_count(const rule_map &rules, size_t nodes, errors &err) {
    for (const std::string &id : ids_of(rules, ha_rule_type::resource_affinity, 0)) {
        if (rules.at(id).sids.size() > nodes) {
            err[id].push_back("rule defines more resources than available nodes");
        }
    }
}

// Rules/ResourceAffinity.pm check_inter_resource_affinity_rules_consistency
void check_inter_consistency(const rule_map &rules, errors &err) {
    std::vector<conflict> conflicts;
    const auto negatives = by_resource(rules, ids_of(rules, ha_rule_type::resource_affinity, 0));
    for (const disjoint_set &e :
         find_disjoint_sets(rules, ids_of(rules, ha_rule_type::resource_affinity, 1))) {
        std::map<std::string, int> common; // negative rule -> shared resources
        for (int s : e.sids) {
            if (auto it = negatives.find(s); it != negatives.end()) {
                for (const std::string &neg : it->second) {
                    ++common[neg];
                }
            }
        }
        for (const auto &[neg, n] : common) {
            if (n < 2) {
                continue;
            }
            conflicts.emplace_back("negative", neg);
            for (const std::string &pos : e.ruleids) {
                conflicts.emplace_back("positive", pos);
            }
        }
    }
    sort_conflicts(conflicts);
    for (const auto &[type, id] : conflicts) {
        err[id].push_back(type == "positive"
                              ? "rule shares two or more resources with a negative resource "
                                "affinity rule"
                              : "rule shares two or more resources with a positive resource "
                                "affinity rule");
    }
}

bool has_multiple_priorities(const rule &r) {
    std::optional<int> first;
    for (const auto &[node, prio] : r.nodes) {
        if (!first) {
            first = prio;
        } else if (*first != prio) {
            return true;
        }
    }
    return false;
}

// Rules.pm check_single_priority_node_affinity_in_resource_affinity_rules
void check_single_priority(const rule_map &rules, errors &err) {
    std::vector<conflict> conflicts;
    const auto node_rules = by_resource(rules, ids_of(rules, ha_rule_type::node_affinity));
    for (const std::string &ra : ids_of(rules, ha_rule_type::resource_affinity)) {
        const std::vector<std::string> pairs = paired(node_rules, rules.at(ra).sids);
        const bool has_conflicts = std::any_of(pairs.begin(), pairs.end(), [&](const auto &na) {
            return has_multiple_priorities(rules.at(na));
        });
        if (has_conflicts) {
            conflicts.emplace_back("resource-affinity", ra);
            for (const std::string &na : pairs) {
                conflicts.emplace_back("node-affinity", na);
            }
        }
    }
    sort_conflicts(conflicts);
    for (const auto &[type, id] : conflicts) {
        err[id].push_back(type == "node-affinity"
                              ? "resources are in a resource affinity rule and cannot be in a "
                                "node affinity rule with multiple priorities"
                              : "resources are in node affinity rules with multiple priorities");
    }
}

// Rules.pm check_single_node_affinity_per_positive_resource_affinity_rule
void check_single_node_affinity_per_positive(const rule_map &rules, errors &err) {
    std::vector<conflict> conflicts;
    const auto node_rules = by_resource(rules, ids_of(rules, ha_rule_type::node_affinity));
    for (const disjoint_set &e :
         find_disjoint_sets(rules, ids_of(rules, ha_rule_type::resource_affinity, 1))) {
        const std::vector<std::string> pairs = paired(node_rules, e.sids);
        if (pairs.size() > 1) {
            for (const std::string &pos : e.ruleids) {
                conflicts.emplace_back("positive", pos);
            }
            for (const std::string &na : pairs) {
                conflicts.emplace_back("node-affinity", na);
            }
        }
    }
    sort_conflicts(conflicts);
    for (const auto &[type, id] : conflicts) {
        err[id].push_back(type == "positive"
                              ? "resources are in multiple node affinity rules"
                              : "at least one resource is in a positive resource affinity rule "
                                "and there are other resources in at least one other node "
                                "affinity rule already");
    }
}

// Rules.pm check_negative_resource_affinity_node_affinity_consistency
void check_negative_node_affinity(const rule_map &rules, errors &err) {
    std::vector<conflict> conflicts;
    const auto node_rules = by_resource(rules, ids_of(rules, ha_rule_type::node_affinity));
    for (const std::string &neg : ids_of(rules, ha_rule_type::resource_affinity, 0)) {
        std::set<std::string> allowed_nodes;
        sid_list located;
        const std::vector<std::string> pairs = paired(node_rules, rules.at(neg).sids);
        for (const std::string &na : pairs) {
            const rule &r = rules.at(na);
            unite(located, intersect(rules.at(neg).sids, r.sids));
            for (const auto &[node, prio] : r.nodes) {
                allowed_nodes.insert(node);
            }
        }
        if (allowed_nodes.size() < located.size()) {
            conflicts.emplace_back("negative", neg);
            for (const std::string &na : pairs) {
                conflicts.emplace_back("node-affinity", na);
            }
        }
    }
    sort_conflicts(conflicts);
    for (const auto &[type, id] : conflicts) {
        err[id].push_back(type == "negative"
                              ? "two or more resources are restricted to less nodes than "
                                "available to the resources"
                              : "at least one resource is in a negative resource affinity rule "
                                "and this rule would restrict these to less nodes than "
                                "available to the resources");
    }
}

// --- transforms ---------------------------------------------------------------------------

// ResourceAffinity.pm merge_connected_positive_resource_affinity_rules
void merge_connected_positive(rule_map &rules) {
    for (const disjoint_set &e :
         find_disjoint_sets(rules, ids_of(rules, ha_rule_type::resource_affinity, 1))) {
        if (e.ruleids.size() < 2) {
            continue;
        }
        std::string id = "_merged";
        for (const std::string &r : e.ruleids) {
            id += "-" + r;
            rules.erase(r);
        }
        rule merged;
        merged.type = ha_rule_type::resource_affinity;
        merged.positive = true;
        merged.sids = e.sids;
        rules[id] = std::move(merged);
    }
}

// ResourceAffinity.pm create_implicit_negative_resource_affinity_rules
void create_implicit_negative(rule_map &rules, const std::vector<std::string> &names) {
    const auto negatives = by_resource(rules, ids_of(rules, ha_rule_type::resource_affinity, 0));
    std::vector<std::pair<std::string, rule>> added;
    for (const std::string &pos : ids_of(rules, ha_rule_type::resource_affinity, 1)) {
        const sid_list &members = rules.at(pos).sids;
        std::map<int, std::set<int>> separated_from; // csid -> members kept apart from it
        for (int sid : members) {
            auto it = negatives.find(sid);
            if (it == negatives.end()) {
                continue;
            }
            for (const std::string &neg : it->second) {
                for (int csid : rules.at(neg).sids) {
                    if (csid != sid) {
                        separated_from[csid].insert(sid);
                    }
                }
            }
        }
        for (const auto &[csid, apart] : separated_from) {
            for (int sid : members) {
                if (apart.count(sid)) {
                    continue;
                }
                rule r;
                r.type = ha_rule_type::resource_affinity;
                r.positive = false;
                r.sids = sid == csid ? sid_list{sid}
                                     : sid_list{std::min(sid, csid), std::max(sid, csid)};
                added.emplace_back("_implicit-negative-" + pos + "-" +
                                       names[static_cast<size_t>(sid)] + "-" +
                                       names[static_cast<size_t>(csid)],
                                   std::move(r));
            }
        }
    }
    for (auto &[id, r] : added) {
        rules[id] = std::move(r);
    }
}

// Rules.pm create_implicit_positive_resource_affinity_node_affinity_rules: the first node
// affinity rule (by id) that shares a resource with the positive rule takes all its resources.
void create_implicit_positive_node_affinity(rule_map &rules) {
    auto node_rules = by_resource(rules, ids_of(rules, ha_rule_type::node_affinity));
    for (const std::string &pos : ids_of(rules, ha_rule_type::resource_affinity, 1)) {
        const sid_list members = rules.at(pos).sids;
        const std::vector<std::string> pairs = paired(node_rules, members);
        if (pairs.empty()) {
            continue;
        }
        rule &r = rules.at(pairs.front());
        for (int s : members) {
            if (!std::binary_search(r.sids.begin(), r.sids.end(), s)) {
                node_rules[s].push_back(pairs.front());
            }
        }
        unite(r.sids, members);
    }
}

} // namespace

void compile_ha_rules(cluster &c, std::vector<ha_rule_input> in) {
    std::set<std::string> all_sids;
    for (const ha_rule_input &r : in) {
        all_sids.insert(r.sids.begin(), r.sids.end());
    }
    const std::vector<std::string> names(all_sids.begin(), all_sids.end()); // sorted
    auto intern = [&](const std::string &sid) {
        return static_cast<int>(std::lower_bound(names.begin(), names.end(), sid) - names.begin());
    };
    rule_map rules;
    for (ha_rule_input &r : in) {
        rule x;
        x.type = r.type;
        for (const std::string &sid : r.sids) {
            x.sids.push_back(intern(sid));
        }
        std::sort(x.sids.begin(), x.sids.end());
        x.sids.erase(std::unique(x.sids.begin(), x.sids.end()), x.sids.end());
        for (const auto &[node, prio] : r.nodes) {
            x.nodes[node] = prio;
        }
        x.strict = r.strict;
        x.positive = r.positive;
        rules[r.id] = std::move(x);
    }

    errors err;
    check_single_resource_reference(rules, names, err);
    check_resources_count(rules, err);
    check_negative_count(rules, c.nodes.size(), err);
    check_inter_consistency(rules, err);
    check_single_priority(rules, err);
    check_single_node_affinity_per_positive(rules, err);
    check_negative_node_affinity(rules, err);
    for (const auto &[id, messages] : err) {
        for (const std::string &m : messages) {
            c.ha.dropped.push_back("Drop rule '" + id + "', because " + m + ".");
        }
        rules.erase(id);
    }

    merge_connected_positive(rules);
    create_implicit_negative(rules, names);
    create_implicit_positive_node_affinity(rules);

    // The compiled set on the guests and nodes of this cluster.
    // The guest whose sid() is exactly `sid` (guests are sorted by vmid: no map of every sid).
    auto guest_of = [&](const std::string &sid) -> std::optional<guest_id> {
        std::uint32_t vmid = 0;
        const char *end = sid.data() + sid.size();
        if (sid.size() < 4 || std::from_chars(sid.data() + 3, end, vmid).ptr != end) {
            return std::nullopt;
        }
        auto g = c.find_guest(vmid);
        if (!g || c.guests[*g].sid() != sid) {
            return std::nullopt;
        }
        return g;
    };
    auto guests_of = [&](const sid_list &sids) {
        std::vector<guest_id> out;
        for (int s : sids) {
            if (auto g = guest_of(names[static_cast<size_t>(s)])) {
                out.push_back(*g);
            }
        }
        std::sort(out.begin(), out.end());
        return out;
    };
    c.ha.node_affinity.clear();
    c.ha.resource_affinity.clear();
    for (const auto &[id, r] : rules) {
        std::vector<guest_id> gs = guests_of(r.sids);
        if (r.type == ha_rule_type::node_affinity) {
            if (gs.empty()) {
                continue;
            }
            node_affinity_rule na;
            na.id = id;
            na.guests = std::move(gs);
            na.strict = r.strict;
            for (const auto &[name, prio] : r.nodes) {
                if (auto n = c.find_node(name)) {
                    na.nodes.emplace_back(*n, prio);
                }
            }
            std::sort(na.nodes.begin(), na.nodes.end());
            c.ha.node_affinity.push_back(std::move(na));
        } else if (gs.size() >= 2) {
            c.ha.resource_affinity.push_back({id, std::move(gs), r.positive});
        }
    }
}

} // namespace pvebal::detail
