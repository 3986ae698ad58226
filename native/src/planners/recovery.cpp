// Recovery placement: bin packing in restart-priority order (largest first within a priority),
// each unit to the node that keeps the survivors most balanced; when that greedy pass leaves a
// guest out, an exhaustive depth-first search (best-fit node order, bounded by a budget) looks
// for an assignment that restarts everyone. Rules as pve-ha-manager applies them on recovery:
// the node-affinity rule's highest-priority class among the survivors, negative resource
// affinity removes nodes, positive affinity sends a guest to the node with most partners.
#include "recovery.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace pvebal::detail {

recovery_solver::recovery_solver(const cluster &c, const options &o, bool all_guests)
    : c_(c), o_(o), a_(compile_affinity(c, o)), ctx_(c, o, a_), state_(c, o, a_),
      needs_(c.guests.size(), false), recoverable_(c.guests.size(), true),
      priority_(c.guests.size(), 0), demand_(c.guests.size()) {
    init(all_guests);
}

recovery_solver::recovery_solver(const cluster &c, const options &o, bool all_guests,
                                 const decision_context &planning)
    : c_(c), o_(o), a_(planning.a), ctx_(planning, a_), state_(c, o, a_),
      needs_(c.guests.size(), false), recoverable_(c.guests.size(), true),
      priority_(c.guests.size(), 0), demand_(c.guests.size()) {
    init(all_guests);
}

void recovery_solver::init(bool all_guests) {
    const cluster &c = c_;
    const options &o = o_;
    ctx_.set_failed(std::vector<bool>(c.nodes.size(), false));
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        const guest &gs = c.guests[g];
        priority_[g] = ctx_.policy(g).priority;
        // HA-managed: as its requested state says; otherwise (--all-guests, also for disabled or
        // ignored HA resources) as it runs now.
        const bool managed = c.ha.recovered(g);
        const bool started =
            managed ? c.ha.find(g)->state == ha_request_state::started : gs.running;
        needs_[g] = managed || (all_guests && gs.running && !gs.is_template);
        // A restarted guest claims its configured memory; CPU as the load mode counts it.
        const res now = state_.load().demand[g];
        const double cpu = started ? (gs.running ? now[dimension::cpu]
                                                 : (o.mode == load_mode::assigned ? gs.maxcpu : 0))
                                   : 0;
        res d = now; // other dimensions as the guest demands them now
        d[dimension::cpu] = cpu;
        d[dimension::memory] = static_cast<double>(gs.maxmem);
        demand_[g] = started ? d : res{};
        if (!needs_[g]) {
            continue;
        }
        if (!gs.local_resources.empty()) {
            recoverable_[g] = false;
            unrecoverable_.push_back({g,
                                      {constraint::local_resource,
                                       "uses host-local devices (" + gs.local_resources.front() +
                                           "), it cannot restart on another node"}});
            continue;
        }
        const node &src = c.nodes[gs.node];
        for (const guest_disk &disk : gs.disks) {
            const storage_info *s = src.find_storage(disk.storage);
            if (!disk.cdrom && s != nullptr && !s->shared) {
                recoverable_[g] = false;
                unrecoverable_.push_back({g,
                                          {constraint::local_storage,
                                           "disk " + disk.key + " is on local storage '" +
                                               disk.storage + "' and is lost with its node"}});
                break;
            }
        }
        if (recoverable_[g] && !gs.local_disk_volids.empty()) {
            recoverable_[g] = false;
            unrecoverable_.push_back(
                {g,
                 {constraint::local_storage, "has local disks (" + gs.local_disk_volids.front() +
                                                 ") that are lost with its node"}});
        }
    }
    needing_by_node_.resize(c.nodes.size());
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        if (needs_[g]) {
            needing_by_node_[c.guests[g].node].push_back(g);
        }
        if (a_.together[g] != no_group) {
            const auto k = static_cast<size_t>(a_.together[g]);
            if (together_members_.size() <= k) {
                together_members_.resize(k + 1);
            }
            together_members_[k].push_back(g);
        }
    }
    usable_memory_.resize(c.nodes.size());
    for (node_id n = 0; n < c.nodes.size(); ++n) {
        usable_memory_[n] =
            usable_memory(o, c.nodes[n], state_.load().capacity[n][dimension::memory]);
    }
}

std::vector<guest_id> recovery_solver::candidates(const std::vector<bool> &failed) const {
    std::vector<guest_id> out;
    for (node_id n = 0; n < c_.nodes.size(); ++n) {
        if (failed[n]) {
            out.insert(out.end(), needing_by_node_[n].begin(), needing_by_node_[n].end());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

void recovery_solver::relocate(guest_id g, node_id n, const res *demand) {
    end_extend();
    singles_ready_ = false; // the guests per node change
    const node_id from = state_.node_of(g);
    if (demand != nullptr) {
        state_.set_demand(g, *demand);
    }
    if (from == n) {
        return;
    }
    if (n == no_node) {
        state_.unplace(g);
    } else {
        state_.move(g, n);
    }
    if (needs_[g]) {
        if (from != no_node) {
            auto &list = needing_by_node_[from];
            list.erase(std::remove(list.begin(), list.end(), g), list.end());
        }
        if (n != no_node) {
            needing_by_node_[n].push_back(g); // candidates() sorts
        }
    }
}

const decision_context &recovery_solver::context_for(const std::vector<bool> &failed) const {
    for (node_id n = 0; n < c_.nodes.size(); ++n) {
        if (ctx_.failed(n) != static_cast<bool>(failed[n])) {
            ctx_.set_failed(failed);
            break;
        }
    }
    return ctx_;
}

std::vector<recovery_solver::unit>
recovery_solver::make_units(const std::vector<bool> &failed, const std::vector<bool> &alive) const {
    // A keep-together group is one unit, even when its members come from several failed nodes:
    // pve-ha-manager sends each recovering member to where its partners went.
    std::map<int, std::vector<guest_id>> grouped;
    std::vector<unit> units;
    for (guest_id g : candidates(failed)) {
        if (!recoverable_[g]) {
            continue;
        }
        if (a_.together[g] != no_group) {
            grouped[a_.together[g]].push_back(g);
        } else {
            units.push_back({{g}, {}, 0, {}});
        }
    }
    for (auto &[key, members] : grouped) {
        units.push_back({members, {}, 0, {}});
    }
    const decision_context &ctx = context_for(failed);
    std::vector<node_id> alive_nodes;
    for (node_id n = 0; n < c_.nodes.size(); ++n) {
        if (ctx.usable(n)) {
            alive_nodes.push_back(n);
        }
    }
    for (unit &u : units) {
        u.priority = INT32_MIN;
        for (guest_id g : u.guests) {
            u.demand += demand_[g];
            u.priority = std::max(u.priority, priority_[g]);
        }
        // Positive affinity: partners already on a survivor pull the unit to their node.
        std::optional<node_id> majority;
        if (a_.together[u.guests.front()] != no_group) {
            std::map<node_id, int> count;
            for (guest_id h :
                 together_members_[static_cast<size_t>(a_.together[u.guests.front()])]) {
                if (alive[state_.node_of(h)]) {
                    ++count[state_.node_of(h)];
                }
            }
            int top = 0;
            for (const auto &[n, k] : count) {
                if (k > top) {
                    top = k;
                    majority = n;
                }
            }
        }
        // In recovery, a guest that only node state can reject may go to every usable node
        // (check_target's own shortcut, without asking it per node).
        if (!majority && std::all_of(u.guests.begin(), u.guests.end(),
                                     [&](guest_id g) { return ctx.node_state_only(g); })) {
            u.allowed = alive_nodes;
            continue;
        }
        for (node_id n = 0; n < c_.nodes.size(); ++n) {
            if (majority && n != *majority) {
                continue;
            }
            const bool ok = std::all_of(u.guests.begin(), u.guests.end(), [&](guest_id g) {
                return !check_target(ctx, g, n, false);
            });
            if (ok) {
                u.allowed.push_back(n);
            }
        }
    }
    const load_view &v = state_.load();
    res total;
    for (node_id n = 0; n < c_.nodes.size(); ++n) {
        if (alive[n]) {
            total += v.capacity[n];
        }
    }
    for (unit &u : units) {
        u.share = dominant_share(u.demand, total);
    }
    std::stable_sort(units.begin(), units.end(), [&](const unit &x, const unit &y) {
        if (x.priority != y.priority) {
            return x.priority > y.priority;
        }
        if (x.share != y.share) {
            return x.share > y.share;
        }
        return x.guests.front() < y.guests.front();
    });
    return units;
}

bool recovery_solver::fits(const unit &u, node_id n) const {
    return !check_state(ctx_, state_, u.guests, n, false);
}

bool recovery_solver::search(std::vector<unit> &units, size_t i, size_t end, long &budget,
                             std::vector<node_id> &choice) {
    if (i == end) {
        return true;
    }
    if (--budget < 0) {
        return false;
    }
    // The clock every 1024 steps: cheap, and the budget stays the only limit when time is left.
    if (deadline_ != nullptr && (++steps_ & 1023) == 0 && deadline_->expired()) {
        budget = -1;
        return false;
    }
    unit &u = units[i];
    // Best fit: the node with the least usable memory left after placing, first.
    std::vector<std::pair<double, node_id>> order;
    for (node_id n : u.allowed) {
        if (fits(u, n)) {
            const res used = state_.load().used[n];
            order.emplace_back(
                usable_memory_[n] - used[dimension::memory] - u.demand[dimension::memory], n);
        }
    }
    std::sort(order.begin(), order.end());
    for (const auto &[slack, n] : order) {
        auto t = state_.begin_trial(); // undone unless the rest is placed too
        state_.move(u.guests, n);
        choice[i] = n;
        if (search(units, i + 1, end, budget, choice)) {
            t.commit();
            return true;
        }
        if (budget < 0) {
            return false;
        }
    }
    return false;
}

recovery_solver::answer recovery_solver::solve(const std::vector<bool> &failed, long search_budget,
                                               bool balanced) {
    end_extend();
    std::vector<bool> alive(c_.nodes.size());
    for (node_id n = 0; n < c_.nodes.size(); ++n) {
        alive[n] = c_.nodes[n].online && !c_.nodes[n].maintenance && !failed[n];
    }
    answer out{{}, {}, {}, true, state_.begin_trial()};
    const std::vector<guest_id> cands = candidates(failed);
    for (guest_id g : cands) {
        state_.set_demand(g, demand_[g]);
    }
    std::vector<unit> units = make_units(failed, alive);

    std::vector<node_id> choice(units.size(), no_node);
    auto place = [&](size_t i, node_id n) {
        state_.move(units[i].guests, n);
        choice[i] = n;
    };
    // The fast pass over units [from, size), on top of what is placed already.
    auto fast_pass = [&](size_t from) {
        if (balanced) {
            state_.track_objective(alive); // follows the placements below
        }
        // Survivors by free usable memory, most first (fast mode keeps this order up to date).
        std::vector<node_id> by_free;
        auto free_mem = [&](node_id n) {
            return usable_memory_[n] - state_.load().used[n][dimension::memory];
        };
        for (node_id n = 0; n < c_.nodes.size(); ++n) {
            if (alive[n]) {
                by_free.push_back(n);
            }
        }
        std::stable_sort(by_free.begin(), by_free.end(),
                         [&](node_id x, node_id y) { return free_mem(x) > free_mem(y); });
        for (size_t i = from; i < units.size(); ++i) {
            const unit &u = units[i];
            node_id best = no_node;
            if (balanced) {
                double best_j = 0;
                for (node_id n : u.allowed) {
                    if (!fits(u, n)) {
                        continue;
                    }
                    const double j = state_.objective().j_after(no_node, n, u.demand);
                    if (best == no_node || j < best_j - 1e-15) {
                        best = n;
                        best_j = j;
                    }
                }
            } else {
                for (node_id n : by_free) {
                    if (std::binary_search(u.allowed.begin(), u.allowed.end(), n) && fits(u, n)) {
                        best = n;
                        break;
                    }
                }
            }
            if (best != no_node) {
                place(i, best);
                if (!balanced) {
                    // Only `best` lost memory: move it down to its place.
                    auto it = std::find(by_free.begin(), by_free.end(), best);
                    while (it + 1 != by_free.end() && free_mem(*(it + 1)) > free_mem(*it)) {
                        std::iter_swap(it, it + 1);
                        ++it;
                    }
                }
            }
        }
    };
    auto fast_scope = state_.begin_trial();
    fast_pass(0);
    state_.drop_objective();
    const bool all_placed =
        std::all_of(choice.begin(), choice.end(), [](node_id n) { return n != no_node; });
    // A necessary condition first: what must restart cannot exceed the survivors' free memory
    // (or CPU) in total. When it does, the search for everyone cannot succeed (proven so); the
    // search for whole priority classes below still runs.
    bool hopeless = false;
    if (!all_placed) {
        res need, free_total;
        for (size_t i = 0; i < units.size(); ++i) {
            need += units[i].demand;
            if (choice[i] != no_node) {
                free_total += units[i].demand; // placed by the greedy pass: free again when undone
            }
        }
        for (node_id n = 0; n < c_.nodes.size(); ++n) {
            if (alive[n]) {
                const res cap = state_.load().capacity[n];
                const res used = state_.load().used[n];
                free_total[dimension::memory] +=
                    std::max(0.0, usable_memory(o_, c_.nodes[n], cap[dimension::memory]) -
                                      used[dimension::memory]);
                free_total[dimension::cpu] +=
                    std::max(0.0, o_.cpu_limit * cap[dimension::cpu] - used[dimension::cpu]);
            }
        }
        hopeless = need[dimension::memory] > free_total[dimension::memory] + 0.5 ||
                   need[dimension::cpu] > free_total[dimension::cpu] + 1e-9;
    }
    if (!all_placed && search_budget > 0) {
        // Undo the fast pass and search for an assignment that restarts everyone.
        const std::vector<node_id> fast = choice;
        fast_scope.undo();
        choice.assign(units.size(), no_node);
        std::vector<node_id> exact(units.size(), no_node);
        long budget = search_budget;
        if (!hopeless && search(units, 0, units.size(), budget, exact)) {
            choice = exact; // state_ holds this assignment now
        } else {
            out.proven = budget >= 0;
            // Not everyone: restart as many whole priority classes as possible, highest first
            // (the longest prefix of classes the search can place), then the fast pass for the
            // rest. So a guest is left out only when it cannot restart together with every
            // guest of a higher or equal priority: the lowest priorities are left out first.
            std::vector<node_id> prefix;
            size_t prefix_end = 0;
            for (size_t end = 0; budget >= 0;) {
                size_t next = end;
                while (next < units.size() && units[next].priority == units[end].priority) {
                    ++next;
                }
                if (next == units.size()) {
                    break; // every class: the search above failed
                }
                std::vector<node_id> trial(units.size(), no_node);
                auto attempt = state_.begin_trial(); // only the choice is kept
                if (!search(units, 0, next, budget, trial)) {
                    break;
                }
                prefix = trial;
                prefix_end = next;
                end = next;
            }
            if (prefix_end == 0) {
                for (size_t i = 0; i < units.size(); ++i) {
                    if (fast[i] != no_node) {
                        place(i, fast[i]);
                    }
                }
            } else {
                for (size_t i = 0; i < prefix_end; ++i) {
                    place(i, prefix[i]);
                }
                fast_pass(prefix_end);
                state_.drop_objective();
            }
        }
    }
    fast_scope.commit(); // when the fast pass stands (out.scope still undoes it)
    for (size_t i = 0; i < units.size(); ++i) {
        for (guest_id g : units[i].guests) {
            if (choice[i] != no_node) {
                out.placed.emplace_back(g, choice[i]);
            } else {
                out.unplaced.push_back(g);
                out.shortfall += demand_[g];
            }
        }
    }
    for (guest_id g : cands) {
        if (!recoverable_[g]) {
            out.unplaced.push_back(g);
        }
    }
    std::sort(out.unplaced.begin(), out.unplaced.end());
    return out;
}

bool recovery_solver::has_allowed_node(guest_id g, const std::vector<bool> &failed) const {
    const decision_context &ctx = context_for(failed);
    for (node_id n = 0; n < c_.nodes.size(); ++n) {
        if (!check_target(ctx, g, n, false)) {
            return true;
        }
    }
    return false;
}

std::vector<node_rejection> recovery_solver::explain(const std::vector<bool> &failed,
                                                     const answer &, guest_id g) {
    std::vector<node_rejection> out;
    if (!recoverable_[g]) {
        for (const auto &[ug, why] : unrecoverable_) {
            if (ug == g) {
                out.push_back({std::nullopt, why});
            }
        }
        return out;
    }
    const decision_context &ctx = context_for(failed);
    const std::vector<bool> &alive = ctx.usable_nodes();
    // A keep-together guest restarts as one unit with its recovering partners, on the node of
    // its surviving partners if it has any (as make_units decides).
    std::vector<guest_id> members{g};
    std::optional<node_id> majority;
    const int group = a_.together[g];
    if (group >= 0) {
        members.clear();
        for (guest_id h : candidates(failed)) {
            if (recoverable_[h] && a_.together[h] == group) {
                members.push_back(h);
            }
        }
        std::map<node_id, int> count;
        for (guest_id h = 0; h < c_.guests.size(); ++h) {
            if (a_.together[h] == group && alive[state_.node_of(h)]) {
                ++count[state_.node_of(h)];
            }
        }
        int top = 0;
        for (const auto &[x, k] : count) {
            if (k > top) {
                top = k;
                majority = x;
            }
        }
    }
    for (node_id n = 0; n < c_.nodes.size(); ++n) {
        if (n == c_.guests[g].node) {
            continue;
        }
        std::optional<rejection> r = check_target(ctx, g, n);
        if (!r && majority && n != *majority) {
            r = rejection{constraint::affinity,
                          "kept together (" + a_.together_names[static_cast<size_t>(group)] +
                              ") with partners on " + c_.nodes[*majority].name};
        }
        for (guest_id h : members) {
            if (r) {
                break;
            }
            if (auto rh = h != g ? check_target(ctx, h, n) : std::nullopt) {
                r = rejection{constraint::affinity,
                              "restarts with " + c_.guests[h].sid() + " (" +
                                  a_.together_names[static_cast<size_t>(group)] +
                                  "), which may not go there: " + rh->message};
            }
        }
        if (!r) {
            r = check_state(ctx, state_, members, n, true);
        }
        if (r) {
            out.push_back({n, *r});
        } else {
            out.push_back({n,
                           {constraint::priority,
                            "room was left for guests with a higher restart priority"}});
        }
    }
    return out;
}

} // namespace pvebal::detail
