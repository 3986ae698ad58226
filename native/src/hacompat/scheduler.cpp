// scheduler: upstream's cluster `Usage` and the Static/Dynamic Perl binding behaviour.
#include "pvebal/hacompat.h"

#include <algorithm>

namespace pvebal::hacompat {

namespace {

std::unexpected<std::string> fail(std::string message) {
    return std::unexpected(std::move(message));
}

std::string quoted(std::string_view s) {
    return "'" + std::string(s) + "'";
}

} // namespace

scheduler::scheduler(kind k, scheduler_options opts) : kind_(k), opts_(opts) {}

status scheduler::add_node(std::string name, node_stats stats) {
    if (nodes_.contains(name)) {
        return fail("node " + quoted(name) + " already exists");
    }
    nodes_.emplace(std::move(name), node_entry{stats, {}});
    return {};
}

status scheduler::add_static_node(std::string name, std::uint64_t maxcpu, std::uint64_t maxmem) {
    return add_node(std::move(name), node_stats{0.0, maxcpu, 0, maxmem});
}

void scheduler::remove_node(std::string_view name) {
    auto node = nodes_.find(name);
    if (node == nodes_.end()) {
        return;
    }
    const std::set<std::string, std::less<>> sids = std::move(node->second.resources);
    nodes_.erase(node);
    for (const std::string &sid : sids) {
        auto res = resources_.find(sid);
        if (res == resources_.end()) {
            continue;
        }
        resource_info &info = res->second;
        if (!info.target_node) {
            // Stationary: gone with its node (a stale entry naming another node is kept).
            if (info.current_node == name) {
                resources_.erase(res);
            }
        } else if (info.current_node == name) {
            info.current_node = std::move(*info.target_node);
            info.target_node.reset();
        } else if (*info.target_node == name) {
            info.target_node.reset();
        }
    }
}

std::vector<std::string> scheduler::list_nodes() const {
    std::vector<std::string> names;
    names.reserve(nodes_.size());
    for (const auto &[name, entry] : nodes_) {
        names.push_back(name);
    }
    return names;
}

bool scheduler::contains_node(std::string_view name) const {
    return nodes_.contains(name);
}

std::optional<node_stats> scheduler::find_node(std::string_view name) const {
    auto node = nodes_.find(name);
    if (node == nodes_.end()) {
        return std::nullopt;
    }
    return node->second.stats;
}

status scheduler::add_resource(std::string sid, service_stats stats, bool running,
                               std::string current_node, std::optional<std::string> target_node) {
    return insert_resource(
        std::move(sid),
        resource_info{stats, running ? resource_state::started : resource_state::starting,
                      std::move(current_node), std::move(target_node)});
}

status scheduler::insert_resource(std::string sid, resource_info info) {
    if (resources_.contains(sid)) {
        return fail("resource " + quoted(sid) + " already exists");
    }
    if (!info.target_node) {
        auto current = nodes_.find(info.current_node);
        if (current == nodes_.end()) {
            return fail("current node for resource " + quoted(sid) + " does not exist");
        }
        current->second.resources.insert(sid);
    } else {
        if (info.current_node == *info.target_node) {
            return fail("resource " + quoted(sid) + " has the same current and target node");
        }
        auto current = nodes_.find(info.current_node);
        auto target = nodes_.find(*info.target_node);
        if (current == nodes_.end() || target == nodes_.end()) {
            return fail("nodes for resource " + quoted(sid) + " do not exist");
        }
        current->second.resources.insert(sid);
        target->second.resources.insert(sid);
    }
    resources_.emplace(std::move(sid), std::move(info));
    return {};
}

status scheduler::add_resource_usage_to_node(std::string_view node, std::string_view sid,
                                             service_stats stats) {
    auto existing = resources_.find(sid);
    if (existing == resources_.end()) {
        return insert_resource(std::string(sid), resource_info{stats, resource_state::started,
                                                               std::string(node), std::nullopt});
    }
    // Upstream takes the resource out first and, on the "already moving" error, does not put it
    // back: it is then no longer held, though both nodes still list its sid.
    resource_info old = std::move(existing->second);
    resources_.erase(existing);
    if (old.target_node) {
        return fail("resource " + quoted(sid) + " is already moving to target node " +
                    quoted(*old.target_node));
    }
    resource_info moving = old; // the second call keeps the first call's stats
    moving.target_node = std::string(node);
    if (auto added = insert_resource(std::string(sid), std::move(moving)); !added) {
        if (auto restored = insert_resource(std::string(sid), std::move(old)); !restored) {
            return restored;
        }
        return added;
    }
    return {};
}

void scheduler::remove_resource(std::string_view sid) {
    auto res = resources_.find(sid);
    if (res == resources_.end()) {
        return;
    }
    const resource_info info = std::move(res->second);
    resources_.erase(res);
    auto drop_from = [&](const std::string &name) {
        if (auto node = nodes_.find(name); node != nodes_.end()) {
            if (auto entry = node->second.resources.find(sid);
                entry != node->second.resources.end()) {
                node->second.resources.erase(entry);
            }
        }
    };
    drop_from(info.current_node);
    if (info.target_node) {
        drop_from(*info.target_node);
    }
}

std::optional<resource_info> scheduler::find_resource(std::string_view sid) const {
    auto res = resources_.find(sid);
    if (res == resources_.end()) {
        return std::nullopt;
    }
    return res->second;
}

std::vector<std::string> scheduler::node_resources(std::string_view name) const {
    auto node = nodes_.find(name);
    if (node == nodes_.end()) {
        return {};
    }
    return {node->second.resources.begin(), node->second.resources.end()};
}

aggregator scheduler::balancing_aggregator() const {
    return kind_ == kind::static_usage ? aggregator::started : aggregator::identity;
}

aggregator scheduler::start_aggregator() const {
    return kind_ == kind::static_usage ? aggregator::started : aggregator::starting_as_started;
}

cluster_snapshot scheduler::snapshot(aggregator a) const {
    std::vector<node_usage> nodes;
    nodes.reserve(nodes_.size());
    for (const auto &[name, entry] : nodes_) {
        node_stats stats = entry.stats;
        if (a != aggregator::identity) {
            for (const std::string &sid : entry.resources) {
                auto res = resources_.find(sid);
                if (res == resources_.end()) {
                    continue;
                }
                if (a == aggregator::started || res->second.state == resource_state::starting) {
                    add_started_resource(stats, res->second.stats);
                }
            }
        }
        nodes.push_back({name, stats});
    }
    return cluster_snapshot(std::move(nodes), opts_);
}

double scheduler::node_imbalance() const {
    return snapshot(balancing_aggregator()).node_imbalance();
}

outcome<std::vector<migration_candidate>>
scheduler::decompose(const std::vector<compact_candidate> &candidates) const {
    std::vector<migration_candidate> out;
    out.reserve(candidates.size());
    for (const compact_candidate &c : candidates) {
        auto leader = resources_.find(c.leader);
        if (leader == resources_.end()) {
            return fail("leader " + quoted(c.leader) + " is not present in the cluster usage");
        }
        if (leader->second.target_node) {
            return fail("leader " + quoted(c.leader) + " is non-stationary");
        }
        const std::string &leader_node = leader->second.current_node;
        if (std::find(c.resources.begin(), c.resources.end(), c.leader) == c.resources.end()) {
            return fail("leader " + quoted(c.leader) + " is not present in the resources list");
        }
        service_stats bundle;
        for (const std::string &sid : c.resources) {
            auto res = resources_.find(sid);
            if (res == resources_.end()) {
                return fail("resource " + quoted(sid) + " is not present in the cluster usage");
            }
            if (res->second.target_node) {
                return fail("resource " + quoted(sid) + " is non-stationary");
            }
            if (res->second.current_node != leader_node) {
                return fail("resource " + quoted(sid) + " is on other node than leader");
            }
            bundle = bundle + res->second.stats;
        }
        for (const std::string &target : c.nodes) {
            out.push_back({service_migration{c.leader, leader_node, target}, bundle});
        }
    }
    return out;
}

outcome<std::vector<scored_migration>>
scheduler::score_best_balancing_migrations(const std::vector<compact_candidate> &candidates,
                                           std::size_t limit) const {
    auto expanded = decompose(candidates);
    if (!expanded) {
        return std::unexpected(std::move(expanded.error()));
    }
    return snapshot(balancing_aggregator())
        .score_best_balancing_migration_candidates(*expanded, limit);
}

outcome<std::vector<scored_migration>>
scheduler::score_best_balancing_migrations_topsis(const std::vector<compact_candidate> &candidates,
                                                  std::size_t limit) const {
    auto expanded = decompose(candidates);
    if (!expanded) {
        return std::unexpected(std::move(expanded.error()));
    }
    return snapshot(balancing_aggregator())
        .score_best_balancing_migration_candidates_topsis(*expanded, limit);
}

outcome<std::vector<std::pair<std::string, double>>>
scheduler::score_nodes_to_start(const service_stats &r) const {
    return snapshot(start_aggregator()).score_nodes_to_start_resource(r);
}

} // namespace pvebal::hacompat
