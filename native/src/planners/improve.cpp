// The improvement phase of balance (docs/algorithms.md, "Improvement"): a local search over
// whole plans seeded by the greedy one. A greedy search commits to its first moves; once the
// budget is spent, a move that looked best early may be worth less than one it crowded out.
// Each round takes one planned move back and puts the best replacement in its place: another
// target for the same unit, or a move of another unit from a shortlist of the best single moves.
#include "improve.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

namespace pvebal::detail {

namespace {

struct scored_move {
    double score = 0; // gain - cost penalty in the state the shortlist was built in
    size_t unit = 0;
    node_id to = 0;
};

// Ties: higher score, then lower unit index, then lower node id (deterministic).
bool better(const scored_move &a, const scored_move &b) {
    if (std::fabs(a.score - b.score) > 1e-12) {
        return a.score > b.score;
    }
    return std::tie(a.unit, a.to) < std::tie(b.unit, b.to);
}

} // namespace

std::vector<plan_change> improve_plan(plan_search &s) {
    std::vector<plan_change> changes;
    const options &o = s.ctx.o;
    const objective_state &obj = s.state.objective();
    auto fits = [&](const unit &u, node_id n) {
        return !check_state(s.ctx, s.state, u.guests, n, false);
    };
    auto penalty = [&](double objective, double seconds) {
        return o.cost_weight * objective / s.active_nodes * seconds / 60.0;
    };
    auto moved = [&](size_t i) { return s.units[i].node != s.origin[i]; };
    auto movable = [&](const unit &u) {
        return u.demand[dimension::cpu] != 0 || u.demand[dimension::memory] != 0;
    };

    // Rounds are bounded: each accepted change lowers the objective net of cost, and the
    // deadline stops the phase like the greedy search.
    const size_t max_rounds = 4 * static_cast<size_t>(s.max_migrations) + 8;
    constexpr size_t shortlist_size = 64;
    constexpr size_t refresh_every = 4;
    std::vector<scored_move> shortlist;
    std::set<std::tuple<size_t, size_t, node_id>> refused;
    bool pair_tried = false; // the two-move neighbourhood, once a single one finds nothing
    int pair_rounds = 0;     // and at most three times: each costs pairs x units x nodes
    for (size_t round = 0, since_refresh = refresh_every; round < max_rounds; ++round) {
        if (s.dl.expired()) {
            break;
        }
        const double now = obj.value();
        if (now <= 0) {
            break;
        }
        unsigned used = 0;
        std::vector<size_t> planned;
        for (size_t i = 0; i < s.units.size(); ++i) {
            if (moved(i)) {
                used += static_cast<unsigned>(s.units[i].guests.size());
                if (!s.fixed[i]) {
                    planned.push_back(i); // a repair is never taken back
                }
            }
        }
        if (planned.empty()) {
            break;
        }
        // The shortlist: the best single moves of units the plan leaves alone, in the state as
        // it is (one O(units x nodes) scan, refreshed every few changes).
        if (since_refresh >= refresh_every) {
            since_refresh = 0;
            shortlist.clear();
            for (size_t j = 0; j < s.units.size(); ++j) {
                const unit &u = s.units[j];
                if (moved(j) || !movable(u)) {
                    continue;
                }
                const double pen = penalty(now, u.cost_seconds);
                const objective_state::departure leaving = obj.leave(u.node, u.demand);
                for (node_id n : u.allowed) {
                    if (n == u.node) {
                        continue;
                    }
                    const scored_move m{now - std::sqrt(obj.j_arrive(leaving, n)) - pen, j, n};
                    if (shortlist.size() < shortlist_size) {
                        shortlist.push_back(m);
                        std::push_heap(shortlist.begin(), shortlist.end(), better);
                    } else if (better(m, shortlist.front())) {
                        std::pop_heap(shortlist.begin(), shortlist.end(), better);
                        shortlist.back() = m;
                        std::push_heap(shortlist.begin(), shortlist.end(), better);
                    }
                }
            }
            std::sort(shortlist.begin(), shortlist.end(), better);
        }
        // A change must be worth half a greedy move at least (no churn over float noise).
        const double floor = std::max(1e-12, 0.5 * o.min_improvement * now / s.active_nodes);
        plan_change best;
        double best_delta = floor;
        bool found = false;
        auto consider = [&](size_t out, size_t in, node_id to, double delta) {
            if (delta > best_delta + 1e-15 && !refused.count({out, in, to})) {
                best = {out, in, to, 0};
                best_delta = delta;
                found = true;
                return true;
            }
            return false;
        };
        for (size_t i : planned) {
            const unit &ui = s.units[i];
            const node_id home = s.origin[i], cur = ui.node;
            if (!fits(ui, home)) {
                continue; // another planned move took its room at home
            }
            auto t = s.state.begin_trial();
            s.state.move(ui.guests, home);
            const double refund = penalty(now, ui.cost_seconds);
            // Another target for the same unit (same migration, same cost).
            const objective_state::departure leaving = obj.leave(home, ui.demand);
            for (node_id n : ui.allowed) {
                if (n == home || n == cur) {
                    continue;
                }
                const double delta = now - std::sqrt(obj.j_arrive(leaving, n));
                if (delta > best_delta && fits(ui, n)) {
                    consider(i, i, n, delta);
                }
            }
            // A move from the shortlist in its place.
            for (const scored_move &m : shortlist) {
                const unit &uj = s.units[m.unit];
                if (moved(m.unit) ||
                    used - ui.guests.size() + uj.guests.size() > s.max_migrations) {
                    continue;
                }
                const double delta = now - std::sqrt(obj.j_after(uj.node, m.to, uj.demand)) -
                                     penalty(now, uj.cost_seconds) + refund;
                if (delta > best_delta && fits(uj, m.to)) {
                    consider(i, m.unit, m.to, delta);
                }
            }
        }
        std::vector<std::pair<size_t, node_id>> moves;
        std::vector<plan_change> extra;
        if (!found && !pair_tried) {
            // Larger neighbourhood, on small problems only: take two planned moves back and
            // let the greedy step fill the budget again (two best single moves in turn).
            pair_tried = true;
            const double pairs = static_cast<double>(planned.size() * planned.size()) / 2;
            const double work = pairs * static_cast<double>(s.units.size()) * s.active_nodes;
            if (work <= 0.6e6 && pair_rounds++ < 3) {
                double pair_best = floor;
                for (size_t x = 0; x < planned.size(); ++x) {
                    for (size_t y = x + 1; y < planned.size(); ++y) {
                        const size_t a = planned[x], b = planned[y];
                        auto t = s.state.begin_trial();
                        if (!fits(s.units[a], s.origin[a])) {
                            continue;
                        }
                        s.state.move(s.units[a].guests, s.origin[a]);
                        if (!fits(s.units[b], s.origin[b])) {
                            continue;
                        }
                        s.state.move(s.units[b].guests, s.origin[b]);
                        double delta_cost = penalty(now, s.units[a].cost_seconds) +
                                            penalty(now, s.units[b].cost_seconds);
                        unsigned left = s.max_migrations +
                                        static_cast<unsigned>(s.units[a].guests.size() +
                                                              s.units[b].guests.size()) -
                                        used;
                        std::vector<std::pair<size_t, node_id>> picks;
                        for (int step = 0; step < 2; ++step) {
                            const double cur = obj.value();
                            scored_move pick{0, 0, 0};
                            bool any = false;
                            for (size_t j = 0; j < s.units.size(); ++j) {
                                const unit &u = s.units[j];
                                const bool here = (j == a || j == b) ? true : !moved(j);
                                if (!here || !movable(u) || u.guests.size() > left ||
                                    std::any_of(picks.begin(), picks.end(),
                                                [&](const auto &p) { return p.first == j; })) {
                                    continue;
                                }
                                const double pen = penalty(now, u.cost_seconds);
                                const objective_state::departure leaving =
                                    obj.leave(u.node, u.demand);
                                for (node_id n : u.allowed) {
                                    if (n == u.node) {
                                        continue;
                                    }
                                    const scored_move m{
                                        cur - std::sqrt(obj.j_arrive(leaving, n)) - pen, j, n};
                                    if (m.score > 0 && (!any || better(m, pick)) && fits(u, n)) {
                                        pick = m;
                                        any = true;
                                    }
                                }
                            }
                            if (!any) {
                                break;
                            }
                            s.state.move(s.units[pick.unit].guests, pick.to);
                            delta_cost -= penalty(now, s.units[pick.unit].cost_seconds);
                            left -= static_cast<unsigned>(s.units[pick.unit].guests.size());
                            picks.emplace_back(pick.unit, pick.to);
                        }
                        const double delta = now - obj.value() + delta_cost;
                        const bool same =
                            picks.size() == 2 &&
                            ((picks[0].first == a && picks[0].second == s.units[a].node) ||
                             (picks[1].first == b && picks[1].second == s.units[b].node));
                        if (delta > pair_best + 1e-15 && !same) {
                            pair_best = delta;
                            moves.clear();
                            moves.emplace_back(a, s.origin[a]);
                            moves.emplace_back(b, s.origin[b]);
                            moves.insert(moves.end(), picks.begin(), picks.end());
                        }
                    }
                }
            }
            if (moves.empty()) {
                break;
            }
            best = {moves[0].first, moves.size() > 2 ? moves[2].first : moves[0].first,
                    moves.size() > 2 ? moves[2].second : s.origin[moves[0].first], 0};
        } else if (!found) {
            break;
        } else {
            if (best.out != best.in) {
                moves.emplace_back(best.out, s.origin[best.out]);
            }
            moves.emplace_back(best.in, best.to);
        }
        if (s.accept && !s.accept(moves)) {
            refused.insert({best.out, best.in, best.to});
            // Each refusal costs an ordering and a capacity check: a few, then stop.
            if (refused.size() >= 8) {
                break;
            }
            continue;
        }
        for (const auto &[i, n] : moves) {
            s.state.move(s.units[i].guests, n);
            s.units[i].node = n;
        }
        best.gain = now - obj.value();
        changes.push_back(best);
        if (moves.size() > 3) { // the second pick of a two-move change
            changes.push_back({moves[1].first, moves[3].first, moves[3].second, 0});
        }
        pair_tried = false; // the state changed: worth another look
        ++since_refresh;
        // The shortlist may hold the unit just moved in: drop it (it is planned now), and
        // the unit taken back may re-enter at the next refresh.
        std::erase_if(shortlist, [&](const scored_move &m) { return m.unit == best.in; });
    }
    return changes;
}

} // namespace pvebal::detail
