#include "common.h"

#include <algorithm>
#include <map>
#include <set>

namespace pvebal::detail {

namespace {

std::string label(const cluster &c, guest_id g) {
    return (c.guests[g].type == guest_type::qemu ? "vm " : "ct ") +
           std::to_string(c.guests[g].vmid);
}

} // namespace

void order_moves(const decision_context &ctx, overlay &state, std::vector<planned_move> pending,
                 plan &out, const wave_check &check) {
    const cluster &c = ctx.c;
    const options &o = ctx.o;
    // Repairs take no relief move above cpu-limit, in flight either (docs/constraints.md).
    std::optional<decision_context> strict;
    if (std::any_of(pending.begin(), pending.end(),
                    [](const planned_move &m) { return m.repair.has_value(); })) {
        strict.emplace(ctx);
        strict->cpu_relief = false;
    }
    auto rules_for = [&](const planned_move &m) -> const decision_context & {
        return m.repair ? *strict : ctx;
    };
    int wave = 0;
    int step = 0;
    std::vector<bool> parked(c.guests.size(), false);
    while (!pending.empty()) {
        ++wave;
        std::vector<planned_move> started;
        // Moves the wave check refused in this wave, with its reason: they wait for a later one.
        std::vector<std::pair<planned_move, std::string>> held;
        while (true) {
            auto t = state.begin_trial(); // the wave, undone if the check refuses it
            started.clear();
            std::map<node_id, unsigned> per_node;
            unsigned in_wave = 0;
            for (size_t i = 0; i < pending.size();) {
                const planned_move &m = pending[i];
                const unsigned n = static_cast<unsigned>(m.guests.size());
                const bool first = started.empty();
                const bool limits_ok = first || (in_wave + n <= o.max_parallel &&
                                                 per_node[m.from] + n <= o.max_parallel_per_node &&
                                                 per_node[m.to] + n <= o.max_parallel_per_node);
                if (limits_ok && !check_state(rules_for(m), state, m.guests, m.to, false)) {
                    for (guest_id g : m.guests) {
                        state.begin(g, m.to);
                    }
                    in_wave += n;
                    per_node[m.from] += n;
                    per_node[m.to] += n;
                    started.push_back(m);
                    pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
                    continue;
                }
                ++i;
            }
            std::optional<wave_refusal> refused;
            if (check && !started.empty()) {
                refused = check(state);
            }
            if (!refused) {
                t.commit();
                break;
            }
            t.undo();
            if (refused->stop) {
                // The check could not decide: no unchecked wave starts, the plan ends here.
                pending.insert(pending.begin(), started.begin(), started.end());
                for (const auto &[m, why] : held) {
                    pending.insert(pending.begin(), m);
                }
                for (const planned_move &m : pending) {
                    for (guest_id g : m.guests) {
                        out.dropped.push_back({g, m.from, m.to, refused->reason});
                    }
                }
                out.notes.push_back(refused->reason + " (" + std::to_string(pending.size()) +
                                    " move(s) left out)");
                out.waves = wave - 1;
                return;
            }
            // Hold back the least valuable move of the wave and form it again without.
            auto least = std::min_element(
                started.begin(), started.end(),
                [](const planned_move &x, const planned_move &y) { return x.value < y.value; });
            held.emplace_back(*least, refused->reason);
            started.erase(least);
            pending.insert(pending.begin(), started.begin(), started.end());
        }
        const bool all_refused = started.empty() && !held.empty();
        if (all_refused) {
            // Every move the wave could start was refused: drop the least valuable of them.
            auto least =
                std::min_element(held.begin(), held.end(), [](const auto &x, const auto &y) {
                    return x.first.value < y.first.value;
                });
            for (guest_id g : least->first.guests) {
                out.dropped.push_back({g, least->first.from, least->first.to, least->second});
            }
            out.notes.push_back("dropped the move of " + label(c, least->first.guests.front()) +
                                ": " + least->second);
            held.erase(least);
        }
        // The held moves keep their place ahead of the rest.
        for (auto it = held.rbegin(); it != held.rend(); ++it) {
            pending.insert(pending.begin(), it->first);
        }
        if (all_refused) {
            --wave;
            continue;
        }
        if (started.empty()) {
            // Nothing can start: a cycle (A needs B's room, B needs A's) or a move that only
            // worked in the final state. First try to park a blocked move's guests elsewhere.
            bool resolved = false;
            for (size_t i = 0; i < pending.size() && !resolved; ++i) {
                planned_move &p = pending[i];
                // Parking p only helps when p's source is the target some other move waits for.
                const bool frees_needed_room =
                    std::any_of(pending.begin(), pending.end(),
                                [&](const planned_move &m) { return &m != &p && m.to == p.from; });
                if (!frees_needed_room || std::any_of(p.guests.begin(), p.guests.end(),
                                                      [&](guest_id g) { return parked[g]; })) {
                    continue;
                }
                for (node_id k = 0; k < c.nodes.size() && !resolved; ++k) {
                    if (k == p.from || k == p.to) {
                        continue;
                    }
                    const bool allowed =
                        std::all_of(p.guests.begin(), p.guests.end(),
                                    [&](guest_id g) { return !check_target(ctx, g, k, false); });
                    if (!allowed || check_state(rules_for(p), state, p.guests, k, false)) {
                        continue;
                    }
                    planned_move park = p;
                    park.to = k;
                    park.temporary = true;
                    park.reason = "temporary: frees room on " + c.nodes[p.from].name +
                                  ", moves on to " + c.nodes[p.to].name + " later";
                    for (guest_id g : p.guests) {
                        parked[g] = true;
                    }
                    p.from = k;
                    pending.insert(pending.begin(), park);
                    resolved = true;
                }
            }
            if (!resolved) {
                auto least = std::min_element(
                    pending.begin(), pending.end(),
                    [](const planned_move &x, const planned_move &y) { return x.value < y.value; });
                std::optional<rejection> why =
                    check_state(rules_for(*least), state, least->guests, least->to, true);
                for (guest_id g : least->guests) {
                    out.dropped.push_back(
                        {g, least->from, least->to,
                         "no safe order: " + (why ? why->message : std::string("blocked")) +
                             " at every step, and no node to park it"});
                }
                out.notes.push_back("dropped the move of " + label(c, least->guests.front()) +
                                    ": it cannot be ordered safely");
                pending.erase(least);
            }
            --wave;
            continue;
        }
        for (const planned_move &m : started) {
            for (guest_id g : m.guests) {
                state.finish(g);
                migration mg;
                mg.step = ++step;
                mg.wave = wave;
                mg.guest = g;
                mg.from = m.from;
                mg.to = m.to;
                mg.temporary = m.temporary;
                mg.reason = m.reason;
                mg.repair = m.repair;
                out.migrations.push_back(mg);
            }
        }
    }
    out.waves = wave;
}

void finish_plan(const cluster &before_cluster, const cluster &after_cluster, const options &o,
                 const load_view &before, const load_view &after, plan &p) {
    std::map<int, double> wave_time;
    for (migration &m : p.migrations) {
        const guest &g = before_cluster.guests[m.guest];
        m.mode = mode_for(g);
        m.with_local_disks = has_local_disks(before_cluster, m.guest);
        m.ha = before_cluster.ha.find(m.guest) != nullptr;
        m.cost = estimate_cost(before_cluster, o, m.guest, m.mode, m.with_local_disks);
        p.total.bytes += m.cost.bytes;
        p.total.seconds += m.cost.seconds;
        p.total.downtime += m.cost.downtime;
        wave_time[m.wave] = std::max(wave_time[m.wave], m.cost.seconds);
    }
    for (const auto &[w, t] : wave_time) {
        p.duration += t;
    }
    p.before = compute_metrics(before_cluster, before, o);
    p.after = compute_metrics(after_cluster, after, o);
}

// A keep-together group is movable on a node only if every member there is: an immovable
// member pins the others (they get no unit).
std::vector<unit> build_units(const decision_context &ctx, const std::vector<bool> &include) {
    const cluster &c = ctx.c;
    const options &o = ctx.o;
    const affinity_groups &a = ctx.a;
    std::map<std::pair<int, node_id>, std::vector<guest_id>> grouped;
    std::set<std::pair<int, node_id>> pinned;
    std::vector<unit> out;
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        if (a.together[g] != no_group && !immovable_reasons(ctx, g).empty()) {
            pinned.insert({a.together[g], c.guests[g].node});
        }
        if (!include[g]) {
            continue;
        }
        if (a.together[g] != no_group) {
            grouped[{a.together[g], c.guests[g].node}].push_back(g);
        } else {
            out.push_back({{g}, c.guests[g].node, {}, 0, {}, std::nullopt});
        }
    }
    // Units by their first guest (each guest is in one unit: no ties). The single guests are in
    // that order already: only the groups are sorted, then merged in.
    const auto singles = static_cast<std::ptrdiff_t>(out.size());
    for (auto &[key, members] : grouped) {
        if (!pinned.count(key)) {
            out.push_back({members, key.second, {}, 0, {}, std::nullopt});
        }
    }
    auto by_first = [](const unit &x, const unit &y) {
        return x.guests.front() < y.guests.front();
    };
    std::sort(out.begin() + singles, out.end(), by_first);
    std::inplace_merge(out.begin(), out.begin() + singles, out.end(), by_first);
    // A keep-together group split over several nodes (the rule is already broken) gathers on
    // its home: the active node with most members (lowest id on a tie), as HA sends a guest to
    // the node with most partners. The home part stays; the others may only go home.
    std::map<int, std::map<node_id, int>> members_on;
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        const node &n = c.nodes[c.guests[g].node];
        if (a.together[g] != no_group && n.online && !n.maintenance) {
            ++members_on[a.together[g]][c.guests[g].node];
        }
    }
    std::map<int, int> group_size;
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        if (a.together[g] != no_group) {
            ++group_size[a.together[g]];
        }
    }
    const load_view v = make_load_view(c, o);
    allowed_targets targets(ctx); // most guests share their allowed nodes with many others
    for (unit &u : out) {
        for (guest_id g : u.guests) {
            u.demand += v.demand[g];
            const guest &gs = c.guests[g];
            u.cost_seconds += estimate_cost(c, o, g, mode_for(gs), has_local_disks(c, g)).seconds;
        }
        std::optional<node_id> home;
        const int k = a.together[u.guests.front()];
        if (k >= 0 && static_cast<int>(u.guests.size()) < group_size[k]) {
            int best = 0;
            for (const auto &[n, count] : members_on[k]) {
                const int others = count - (n == u.node ? static_cast<int>(u.guests.size()) : 0);
                const int total = n == u.node ? count : others;
                if (others > 0 && total > best) {
                    best = total;
                    home = n;
                }
            }
            const int here = members_on[k].count(u.node) ? members_on[k][u.node] : 0;
            if (!home || (c.nodes[u.node].online && !c.nodes[u.node].maintenance && here >= best)) {
                home = u.node; // this part is the home: it stays
            }
        }
        u.home = home;
        // The nodes every member may go to (only its home for part of a split group).
        if (home) {
            const bool ok = std::all_of(u.guests.begin(), u.guests.end(), [&](guest_id g) {
                return !check_target(ctx, g, *home, false);
            });
            if (ok) {
                u.allowed.push_back(*home);
            }
            continue;
        }
        u.allowed = targets.of(u.guests.front());
        for (size_t i = 1; i < u.guests.size() && !u.allowed.empty(); ++i) {
            const std::vector<node_id> &also = targets.of(u.guests[i]);
            std::erase_if(u.allowed, [&](node_id n) {
                return !std::binary_search(also.begin(), also.end(), n);
            });
        }
    }
    return out;
}

} // namespace pvebal::detail
