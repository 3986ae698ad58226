// Recovery answers carried from one failure set to the next (capacity and keep-ha-capacity):
// `extend` starts a scenario from the passing answer of its first k-1 failed nodes and places
// only what the last one changes; `still_valid` / `revalidate` decide whether an earlier answer
// holds after the placement moved. A failing scenario is always left to `solve` (recovery.cpp).
#include "recovery.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace pvebal::detail {

void recovery_solver::end_extend() {
    lean_state &w = lean_;
    for (guest_id g : base_guests_) {
        in_base_[g] = false;
    }
    for (const auto &[k, n] : w.base_touched) {
        w.base_apart[static_cast<size_t>(k)][n] = 0;
    }
    w.base_touched.clear();
    base_guests_.clear();
    base_set_.clear();
    base_applied_ = false;
}

// The base answer on extend()'s arrays, as overlay::move would apply it on top of the overlay
// (set_demand to its restart demand first): each guest arrives at its node in answer order, so
// the survivors' sums are the overlay's bit for bit. The rows of the nodes it left (failed
// nodes, which take no guest) are not kept up to date: nothing reads them.
void recovery_solver::apply_base(const std::vector<std::pair<guest_id, node_id>> &base_placed) {
    lean_state &w = lean_;
    w.base_used.assign(state_.load().used.begin(), state_.load().used.end());
    w.base_assigned.resize(c_.nodes.size());
    for (node_id n = 0; n < c_.nodes.size(); ++n) {
        w.base_assigned[n] = state_.assigned(n);
    }
    if (w.base_apart.size() != a_.apart_names.size()) {
        w.base_apart.assign(a_.apart_names.size(), std::vector<int>(c_.nodes.size(), 0));
    }
    w.base_node.resize(c_.guests.size(), no_node);
    w.base_ruled.clear();
    w.base_groups.clear();
    w.base_to.resize(c_.nodes.size());
    for (std::vector<guest_id> &to : w.base_to) {
        to.clear();
    }
    for (const auto &[g, n] : base_placed) {
        if (w.state_only[g] == 0) {
            w.base_ruled.emplace_back(g, n);
        }
        if (a_.together[g] != no_group) {
            w.base_groups.push_back(a_.together[g]);
        } else {
            w.base_to[n].push_back(g);
        }
        w.base_used[n] += demand_[g];
        if (w.running[g] != 0) {
            const res &a = w.assigned_of[g];
            w.base_assigned[n] += {1.0 * a[dimension::cpu], 1.0 * a[dimension::memory]};
        }
        for (int k : a_.apart[g]) {
            ++w.base_apart[static_cast<size_t>(k)][n];
            w.base_touched.emplace_back(k, n);
        }
        in_base_[g] = true;
        w.base_node[g] = n;
        base_guests_.push_back(g);
    }
    // The nodes by free memory, most first, ties in node order (stable); extend() drops the
    // ones its failure set makes unusable.
    w.base_by_free.resize(c_.nodes.size());
    for (node_id n = 0; n < c_.nodes.size(); ++n) {
        w.base_by_free[n] = n;
    }
    std::stable_sort(w.base_by_free.begin(), w.base_by_free.end(), [&](node_id a, node_id b) {
        return usable_memory_[a] - w.base_used[a][dimension::memory] >
               usable_memory_[b] - w.base_used[b][dimension::memory];
    });
}

bool recovery_solver::unit_first(const lean_unit &a, const lean_unit &b) {
    if (a.priority != b.priority) {
        return a.priority > b.priority;
    }
    if (a.memory != b.memory) {
        return a.memory > b.memory;
    }
    return a.front < b.front;
}

void recovery_solver::sort_singles() {
    singles_.assign(c_.nodes.size(), {});
    groups_on_.assign(c_.nodes.size(), {});
    for (node_id n = 0; n < c_.nodes.size(); ++n) {
        for (guest_id g : needing_by_node_[n]) {
            if (recoverable_[g] && a_.together[g] == no_group) {
                singles_[n].push_back(g);
            } else if (recoverable_[g]) {
                groups_on_[n].push_back(a_.together[g]);
            }
        }
        // extend()'s unit order for single guests (their priority, memory and id).
        std::sort(singles_[n].begin(), singles_[n].end(), [&](guest_id a, guest_id b) {
            if (priority_[a] != priority_[b]) {
                return priority_[a] > priority_[b];
            }
            const double ma = demand_[a][dimension::memory], mb = demand_[b][dimension::memory];
            if (ma != mb) {
                return ma > mb;
            }
            return a < b;
        });
    }
    // Their units, as extend() would build them (the sums from zero; x, their node, is failed).
    single_units_.assign(c_.nodes.size(), {});
    for (node_id n = 0; n < c_.nodes.size(); ++n) {
        for (guest_id g : singles_[n]) {
            lean_unit u;
            u.front = g;
            u.memory += demand_[g][dimension::memory];
            u.priority = std::max(u.priority, priority_[g]);
            u.demand += demand_[g];
            u.assigned += lean_.assigned_of[g];
            u.state_only = lean_.state_only[g] != 0;
            single_units_[n].push_back(u);
        }
    }
    singles_ready_ = true;
}

bool recovery_solver::extend(const std::vector<node_id> &base,
                             const std::vector<std::pair<guest_id, node_id>> &base_placed,
                             node_id x, std::vector<std::pair<guest_id, node_id>> *placed) {
    lean_state &w = lean_;
    std::vector<bool> &failed = w.failed;
    failed.assign(c_.nodes.size(), false);
    for (node_id n : base) {
        failed[n] = true;
    }
    failed[x] = true;
    const decision_context &ctx = context_for(failed);
    if (w.displaced.size() != c_.guests.size()) { // what never changes per guest, once
        w.displaced.assign(c_.guests.size(), false);
        w.assigned_of.assign(c_.guests.size(), res{});
        w.running.assign(c_.guests.size(), 0);
        w.state_only.assign(c_.guests.size(), 0);
        for (guest_id g = 0; g < c_.guests.size(); ++g) {
            const guest &gg = c_.guests[g];
            if (gg.running) {
                w.assigned_of[g] = {gg.maxcpu, static_cast<double>(gg.maxmem)};
                w.running[g] = 1;
            }
            w.state_only[g] = ctx.node_state_only(g) ? 1 : 0; // the registry's per-guest precheck
        }
    }
    in_base_.resize(c_.guests.size(), false);
    if (!base_applied_ || base_set_ != base) {
        end_extend();
        apply_base(base_placed);
        base_set_ = base;
        base_applied_ = true;
    }
    for (const auto &[g, n] : w.base_ruled) {
        if (n != x && check_target(ctx, g, n, false)) {
            return false; // x's death changed which nodes its rule allows
        }
    }
    // Home: where a guest was before the base answer moved it (only those count as partners).
    auto home_on = [&](guest_id h, node_id n) { return !in_base_[h] && state_.node_of(h) == n; };
    // x's part on plain arrays (lean_): the units as ranges of w.members, the per-node loads
    // and configured sizes those of the base (the base answer applied). Every guest moved here
    // demands demand_[g] (x's guests would get it by set_demand, which only changes x's own
    // row, unused), and each move adds and subtracts in the overlay's order, so the numbers are
    // the overlay's bit for bit.
    w.members.clear();
    w.units.clear();
    if (w.apart.size() != a_.apart_names.size()) {
        w.apart.assign(a_.apart_names.size(), std::vector<int>(c_.nodes.size(), 0));
    }
    struct reset_scratch { // displaced marks and keep-apart counts back to zero on every return
        lean_state &w;
        ~reset_scratch() {
            for (guest_id g : w.members) {
                w.displaced[g] = false;
            }
            for (const auto &[k, n] : w.touched) {
                w.apart[static_cast<size_t>(k)][n] = 0;
            }
            w.touched.clear();
        }
    } reset{w};
    auto add_unit = [&](node_id majority) {
        lean_unit u;
        u.begin = u.end = static_cast<std::uint32_t>(w.members.size());
        u.majority = majority;
        w.units.push_back(u);
    };
    auto add_member = [&](guest_id g) {
        w.members.push_back(g);
        w.displaced[g] = true;
        ++w.units.back().end;
    };
    // Keep-together groups with a guest to restart: re-placed whole when x held a member (the
    // partners' majority changes) or the base answer sent them to x; else their node stands.
    std::vector<int> &groups = w.groups;
    groups.clear();
    groups.assign(w.base_groups.begin(), w.base_groups.end());
    if (!singles_ready_) {
        sort_singles();
    }
    groups.insert(groups.end(), groups_on_[x].begin(), groups_on_[x].end());
    std::sort(groups.begin(), groups.end());
    groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
    for (int k : groups) {
        const std::vector<guest_id> &members = together_members_[static_cast<size_t>(k)];
        const bool hit = std::any_of(members.begin(), members.end(), [&](guest_id h) {
            return home_on(h, x) || (in_base_[h] && w.base_node[h] == x);
        });
        if (!hit) {
            continue;
        }
        add_unit(no_node);
        w.count.resize(c_.nodes.size(), 0);
        for (guest_id h : members) {
            const node_id at = lean_node(h);
            if (in_base_[h] || (home_on(h, x) && needs_[h] && recoverable_[h])) {
                add_member(h);
            } else if (!in_base_[h] && at != no_node && ctx.usable(at)) {
                ++w.count[at];
            }
        }
        // The node with most partners (the lowest id on a tie), as solve() counts them.
        int top = 0;
        for (guest_id h : members) {
            const node_id at = lean_node(h);
            if (at != no_node && (w.count[at] > top || (w.count[at] == top && top > 0 &&
                                                        at < w.units.back().majority))) {
                top = w.count[at];
                w.units.back().majority = at;
            }
        }
        for (guest_id h : members) {
            if (lean_node(h) != no_node) {
                w.count[lean_node(h)] = 0;
            }
        }
        if (w.units.back().begin == w.units.back().end) {
            w.units.pop_back();
        }
    }
    for (guest_id g : w.base_to[x]) {
        add_unit(no_node);
        add_member(g);
    }
    for (lean_unit &u : w.units) {
        u.front = w.members[u.begin];
        u.on_usable = false;
        u.state_only = true;
        for (std::uint32_t i = u.begin; i < u.end; ++i) {
            const guest_id g = w.members[i];
            u.memory += demand_[g][dimension::memory];
            u.priority = std::max(u.priority, priority_[g]);
            u.demand += demand_[g]; // as check_state sums the arrivals, in member order
            u.assigned += w.assigned_of[g];
            const node_id at = lean_node(g);
            u.on_usable = u.on_usable || (at != no_node && ctx.usable(at));
            u.state_only = u.state_only && w.state_only[g] != 0;
        }
    }
    // Highest priority, then largest memory first (then by id): the hardest to fit while
    // there is most room. x's own single guests are in that order already, as units built
    // once per node (single_units_): only the few units above are sorted, and the two lists
    // are merged as they are placed.
    std::sort(w.units.begin(), w.units.end(), unit_first);
    w.used.assign(w.base_used.begin(), w.base_used.end());
    w.assigned.assign(w.base_assigned.begin(), w.base_assigned.end());
    // The survivors by free memory, most first (ties in node order): the base's order without
    // x, as the loads are the base's until the first unit is placed. Each with its free
    // memory, kept next to it.
    std::vector<std::pair<double, node_id>> &by_free = w.by_free;
    by_free.clear();
    auto free_mem = [&](node_id n) { return usable_memory_[n] - w.used[n][dimension::memory]; };
    for (node_id n : w.base_by_free) {
        if (ctx.usable(n)) {
            by_free.emplace_back(free_mem(n), n);
        }
    }
    auto place = [&](const lean_unit &u, std::span<const guest_id> gs) {
        auto it = by_free.begin();
        for (; it != by_free.end(); ++it) {
            const node_id n = it->second;
            if (u.majority != no_node && n != u.majority) {
                continue;
            }
            const bool allowed = u.state_only || std::all_of(gs.begin(), gs.end(), [&](guest_id g) {
                                     return w.state_only[g] != 0 || !check_target(ctx, g, n, false);
                                 });
            if (allowed && lean_fits(u, gs, n)) {
                break;
            }
        }
        if (it == by_free.end()) {
            return false;
        }
        const node_id best = it->second;
        lean_move(gs, best);
        // Only `best` lost memory (and, for a unit with a member on a survivor, that node
        // gained some: every value is read again, the order stays): moved down past every
        // node right after it with more free memory.
        if (u.on_usable) {
            for (auto &[free, n] : by_free) {
                free = free_mem(n);
            }
        }
        it->first = free_mem(best);
        auto stop = it + 1;
        while (stop != by_free.end() && stop->first > it->first) {
            ++stop;
        }
        const std::pair<double, node_id> moved = *it; // shifted in one pass, not swapped
        std::move(it + 1, stop, it);
        *(stop - 1) = moved;
        for (guest_id g : gs) {
            w.fresh.emplace_back(g, best);
        }
        return true;
    };
    w.fresh.clear();
    const std::vector<guest_id> &singles = singles_[x];
    const std::vector<lean_unit> &single_units = single_units_[x];
    for (size_t i = 0, j = 0; i < w.units.size() || j < singles.size();) {
        const bool single =
            i == w.units.size() || (j < singles.size() && unit_first(single_units[j], w.units[i]));
        const bool ok =
            single
                ? place(single_units[j], std::span<const guest_id>(&singles[j], 1))
                : place(w.units[i], std::span<const guest_id>(w.members.data() + w.units[i].begin,
                                                              w.units[i].end - w.units[i].begin));
        if (!ok) {
            return false;
        }
        ++(single ? j : i);
    }
    if (placed == nullptr) {
        return true;
    }
    placed->clear();
    for (const auto &[g, n] : base_placed) {
        if (!w.displaced[g]) {
            placed->emplace_back(g, n);
        }
    }
    placed->insert(placed->end(), w.fresh.begin(), w.fresh.end());
    return true;
}

// check_state()'s recovery rows (memory, cpu, vcpu and memory ratios, keep apart; no cpu
// relief and no storage space in recovery) on extend()'s arrays, for unit u (its guests gs)
// arriving at n. The arrivals summed as check_state sums them: guests already on n do not
// count, so the unit's sums hold unless a member is on a usable node.
bool recovery_solver::lean_fits(const lean_unit &u, std::span<const guest_id> gs, node_id n) const {
    const lean_state &w = lean_;
    res demand = u.demand, assigned = u.assigned;
    if (u.on_usable) {
        demand = assigned = res{};
        for (guest_id g : gs) {
            if (lean_node(g) != n) {
                demand += demand_[g];
                assigned += w.assigned_of[g];
            }
        }
    }
    const res &cap = state_.load().capacity[n];
    const double mem = demand[dimension::memory], cpu = demand[dimension::cpu];
    if ((mem > 0 && w.used[n][dimension::memory] + mem > usable_memory_[n]) ||
        (cpu > 0 && w.used[n][dimension::cpu] + cpu > o_.cpu_limit * cap[dimension::cpu])) {
        return false;
    }
    if (o_.max_vcpu_ratio && assigned[dimension::cpu] > 0 &&
        w.assigned[n][dimension::cpu] + assigned[dimension::cpu] >
            *o_.max_vcpu_ratio * cap[dimension::cpu]) {
        return false;
    }
    if (o_.max_memory_ratio && assigned[dimension::memory] > 0 &&
        w.assigned[n][dimension::memory] + assigned[dimension::memory] >
            *o_.max_memory_ratio * cap[dimension::memory]) {
        return false;
    }
    for (guest_id g : gs) {
        if (lean_node(g) == n) {
            continue;
        }
        for (int k : a_.apart[g]) {
            const auto i = static_cast<size_t>(k);
            if (state_.apart_count(k, n) + w.base_apart[i][n] + w.apart[i][n] > 0) {
                return false;
            }
        }
    }
    return true;
}

// overlay::move(gs, to) on the arrays: each guest arrives at `to`, then leaves its node.
void recovery_solver::lean_move(std::span<const guest_id> gs, node_id to) {
    lean_state &w = lean_;
    auto add = [&](guest_id g, node_id n, int sign) {
        if (w.running[g] != 0) {
            const double s = sign;
            const res &a = w.assigned_of[g];
            w.assigned[n] += {s * a[dimension::cpu], s * a[dimension::memory]};
        }
        for (int k : a_.apart[g]) {
            w.apart[static_cast<size_t>(k)][n] += sign;
            w.touched.emplace_back(k, n);
        }
    };
    for (guest_id g : gs) {
        const node_id from = lean_node(g);
        w.used[to] += demand_[g];
        add(g, to, +1);
        // A failed node's row is never read again (it takes no guest): left as it is.
        if (from != no_node && ctx_.usable(from)) {
            w.used[from] -= demand_[g];
            add(g, from, -1);
        }
    }
}

bool recovery_solver::still_valid(const std::vector<bool> &failed,
                                  const std::vector<std::pair<guest_id, node_id>> &placed) {
    end_extend();
    std::vector<guest_id> want, have;
    for (guest_id g : candidates(failed)) {
        if (recoverable_[g]) {
            want.push_back(g);
        }
    }
    for (const auto &[g, n] : placed) {
        have.push_back(g);
    }
    std::sort(have.begin(), have.end());
    if (want != have) {
        return false;
    }
    const decision_context &ctx = context_for(failed);
    auto t = state_.begin_trial(); // undone on return
    for (guest_id g : want) {
        state_.set_demand(g, demand_[g]);
    }
    for (const auto &[g, n] : placed) {
        // Positive affinity follows the partners' majority: only solve() knows it.
        if (a_.together[g] >= 0 || check_target(ctx, g, n, false) ||
            check_state(ctx, state_, {g}, n, false)) {
            return false;
        }
        state_.move(g, n);
    }
    return true;
}

bool recovery_solver::revalidate(const std::vector<bool> &failed, const std::vector<bool> &dirty,
                                 std::vector<std::pair<guest_id, node_id>> &placed,
                                 bool same_guests) {
    end_extend();
    if (same_guests) {
        // The same restarts, and check_target's answers stand (they do not depend on loads):
        // only the room on the dirty nodes is checked again. check_state reads the context's
        // mode (recovery), not which nodes failed, so the context is not switched.
        auto t = state_.begin_trial(); // undone on return
        std::vector<guest_id> arriving;
        for (const auto &[g, n] : placed) {
            if (!dirty[n] || state_.node_of(g) == n) {
                continue; // not looked at, or moved in with its keep-together unit
            }
            arriving.assign(1, g);
            if (const int k = a_.together[g]; k != no_group) {
                arriving.clear(); // the unit solve() formed: every member it restarts, at once
                for (const auto &[h, m] : placed) {
                    if (a_.together[h] == k) {
                        if (m != n) {
                            return false;
                        }
                        arriving.push_back(h);
                    }
                }
            }
            for (guest_id h : arriving) {
                state_.set_demand(h, demand_[h]);
            }
            if (check_state(ctx_, state_, arriving, n, false)) {
                return false;
            }
            state_.move(arriving, n);
        }
        return true;
    }
    std::vector<guest_id> want;
    for (guest_id g : candidates(failed)) {
        if (recoverable_[g]) {
            want.push_back(g); // sorted
        }
    }
    size_t still = 0;
    for (const auto &[g, n] : placed) {
        still += std::binary_search(want.begin(), want.end(), g) ? 1 : 0;
    }
    // Without new guests to place, only the dirty nodes are looked at: only the restarts
    // there need to be in the overlay. A kept restart is checked for room only: check_target
    // answered for the same failed nodes and the same node, and loads do not change it.
    const bool extras = still < want.size();
    auto t = state_.begin_trial(); // undone on return
    std::vector<bool> done(c_.guests.size(), false);
    std::vector<std::pair<guest_id, node_id>> kept;
    std::vector<guest_id> arriving;
    auto wanted = [&](guest_id g) { return std::binary_search(want.begin(), want.end(), g); };
    auto alive = [&](node_id n) {
        return c_.nodes[n].online && !c_.nodes[n].maintenance && !failed[n];
    };
    for (const auto &[g, n] : placed) {
        if (!wanted(g)) {
            continue; // no longer on a failed node
        }
        done[g] = true;
        kept.emplace_back(g, n);
        if ((!extras && !dirty[n]) || state_.node_of(g) == n) {
            continue; // not looked at, or moved in with its keep-together unit
        }
        arriving.assign(1, g);
        if (const int k = a_.together[g]; k != no_group && dirty[n]) {
            // The unit as solve() forms it: every recovering member, on the partners' majority
            // (as make_units counts it) when one survives; checked at once.
            std::map<node_id, int> count;
            arriving.clear();
            for (guest_id h : together_members_[static_cast<size_t>(k)]) {
                if (wanted(h)) {
                    arriving.push_back(h);
                } else if (alive(state_.node_of(h))) {
                    ++count[state_.node_of(h)];
                }
            }
            int top = 0;
            std::optional<node_id> majority;
            for (const auto &[m, c] : count) {
                if (c > top) {
                    top = c;
                    majority = m;
                }
            }
            const bool same_node = std::all_of(arriving.begin(), arriving.end(), [&](guest_id h) {
                return std::any_of(placed.begin(), placed.end(),
                                   [&](const auto &x) { return x.first == h && x.second == n; });
            });
            if (!same_node || (majority && *majority != n)) {
                return false;
            }
        }
        for (guest_id h : arriving) {
            state_.set_demand(h, demand_[h]);
        }
        if (dirty[n] && check_state(ctx_, state_, arriving, n, false)) {
            return false;
        }
        state_.move(arriving, n);
    }
    std::vector<guest_id> extra;
    for (guest_id g : want) {
        if (!done[g]) {
            if (a_.together[g] != no_group) {
                return false;
            }
            state_.set_demand(g, demand_[g]);
            extra.push_back(g);
        }
    }
    std::sort(extra.begin(), extra.end(), [&](guest_id a, guest_id b) {
        if (priority_[a] != priority_[b]) {
            return priority_[a] > priority_[b];
        }
        if (demand_[a][dimension::memory] != demand_[b][dimension::memory]) {
            return demand_[a][dimension::memory] > demand_[b][dimension::memory];
        }
        return a < b;
    });
    // Only new guests to place ask check_target: the context follows the failure set then.
    const decision_context &ctx = extra.empty() ? ctx_ : context_for(failed);
    std::vector<guest_id> one(1);
    for (guest_id g : extra) {
        one[0] = g;
        node_id best = no_node;
        double best_free = 0;
        for (node_id n = 0; n < c_.nodes.size(); ++n) {
            if (!ctx.usable(n)) {
                continue;
            }
            const double free = usable_memory_[n] - state_.load().used[n][dimension::memory];
            if ((best == no_node || free > best_free) &&
                (ctx.node_state_only(g) || !check_target(ctx, g, n, false)) &&
                !check_state(ctx, state_, one, n, false)) {
                best = n;
                best_free = free;
            }
        }
        if (best == no_node) {
            return false;
        }
        state_.move(g, best);
        kept.emplace_back(g, best);
    }
    placed = std::move(kept);
    return true;
}

} // namespace pvebal::detail
