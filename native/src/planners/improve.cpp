// The improvement phase of balance (docs/algorithms.md, "Improvement"): a local search over
// whole plans seeded by the greedy one. A greedy search commits to its first moves; once the
// budget is spent, a move that looked best early may be worth less than one it crowded out.
// Each round takes one planned move back and puts the best replacement in its place: another
// target for the same unit, or a move of another unit from a shortlist of the best single moves.
#include "improve.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
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

// A bounded large-neighbourhood search on small problems, once the exchanges above find
// nothing: take a few planned moves back at random and refill the freed budget with the best
// single moves (the first of them among the best three, at random), keeping the result when
// the objective net of migration cost is lower. The random stream is a fixed-seed splitmix64
// over the units in their canonical order, and the number of rounds depends only on the
// problem's size: the same input gives the same plan (unless the deadline stops it).
std::vector<plan_change> lns(plan_search &s, double floor) {
    std::vector<plan_change> changes;
    const options &o = s.ctx.o;
    const objective_state &obj = s.state.objective();
    const size_t n_units = s.units.size();
    const double size = static_cast<double>(n_units) * s.active_nodes;
    if (size > 5000 || s.max_migrations < 2) {
        return changes;
    }
    // About 4 million move evaluations at most (each round refills a few moves).
    const size_t rounds = std::min<size_t>(
        3000, static_cast<size_t>(4e6 / (size * std::min(4.0, double(s.max_migrations)))));
    const double scale = obj.value(); // the cost penalty's scale, fixed for comparisons
    if (scale <= 0) {
        return changes;
    }
    auto penalty = [&](double seconds) {
        return o.cost_weight * scale / s.active_nodes * seconds / 60.0;
    };
    auto movable = [&](const unit &u) {
        return u.demand[dimension::cpu] != 0 || u.demand[dimension::memory] != 0;
    };
    std::vector<node_id> at(n_units);
    auto total = [&] { // objective plus the penalties of the moves planned
        double t = obj.value();
        for (size_t i = 0; i < n_units; ++i) {
            if (at[i] != s.origin[i]) {
                t += penalty(s.units[i].cost_seconds);
            }
        }
        return t;
    };
    for (size_t i = 0; i < n_units; ++i) {
        at[i] = s.units[i].node;
    }
    // Another pass of the improvement phase that reaches this search with the placement it
    // last gave up on: 1,000 more random rounds from there found nothing on any bench or
    // golden case, and they were most of the CPU time of a small plan.
    if (s.lns_gave_up_at != nullptr && *s.lns_gave_up_at == at) {
        return changes;
    }
    double best = total();
    // No more migrations than the plan has: the greedy may have stopped below the budget on
    // purpose (within `threshold`), and the refill must not spend what it left.
    unsigned cap = 0;
    for (size_t i = 0; i < n_units; ++i) {
        if (at[i] != s.origin[i]) {
            cap += static_cast<unsigned>(s.units[i].guests.size());
        }
    }
    cap = std::min(cap, s.max_migrations);
    std::uint64_t rng = 0x9e3779b97f4a7c15ULL;
    auto next = [&](std::uint64_t bound) { // splitmix64, then a plain modulo (bound is small)
        std::uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return (z ^ (z >> 31)) % bound;
    };
    struct cand {
        double score;
        size_t unit;
        node_id to;
    };
    std::vector<size_t> planned;
    std::vector<cand> cands;
    size_t refusals = 0;
    size_t last_change = 0;
    constexpr size_t stale_rounds = 1000;
    for (size_t round = 0; round < rounds; ++round) {
        if ((round & 63) == 63 && s.dl.expired()) {
            break;
        }
        if (round - last_change > stale_rounds) {
            if (s.lns_gave_up_at != nullptr) {
                *s.lns_gave_up_at = at;
            }
            break; // a local optimum for this neighbourhood, most likely
        }
        planned.clear();
        unsigned used = 0;
        for (size_t i = 0; i < n_units; ++i) {
            if (at[i] != s.origin[i]) {
                used += static_cast<unsigned>(s.units[i].guests.size());
                if (!s.fixed[i]) {
                    planned.push_back(i);
                }
            }
        }
        if (planned.empty()) {
            break;
        }
        const double kept_objective = obj.value();
        auto t = s.state.begin_trial();
        const std::vector<node_id> kept = at;
        // Take 1-4 planned moves back. Home may be over a limit until the refill moves
        // others off it: only the final state is checked (below), the order by `accept`.
        const size_t k = 1 + next(std::min<size_t>(4, planned.size()));
        for (size_t x = 0; x < k; ++x) {
            const size_t pick = x + next(planned.size() - x);
            std::swap(planned[x], planned[pick]);
            const size_t i = planned[x];
            s.state.move(s.units[i].guests, s.origin[i]);
            at[i] = s.origin[i];
            used -= static_cast<unsigned>(s.units[i].guests.size());
        }
        // Refill with single moves of units at home.
        for (int step = 0; used < cap; ++step) {
            const double cur = obj.value();
            cands.clear();
            for (size_t j = 0; j < n_units; ++j) {
                const unit &u = s.units[j];
                if (at[j] != s.origin[j] || !movable(u) || used + u.guests.size() > cap) {
                    continue;
                }
                const double pen = penalty(u.cost_seconds);
                const objective_state::departure leaving = obj.leave(at[j], u.demand);
                for (node_id n : u.allowed) {
                    if (n != at[j]) {
                        cands.push_back({cur - std::sqrt(obj.j_arrive(leaving, n)) - pen, j, n});
                    }
                }
            }
            const size_t top = std::min<size_t>(8, cands.size());
            std::partial_sort(cands.begin(), cands.begin() + static_cast<std::ptrdiff_t>(top),
                              cands.end(), [](const cand &a, const cand &b) {
                                  if (std::fabs(a.score - b.score) > 1e-12) {
                                      return a.score > b.score;
                                  }
                                  return std::tie(a.unit, a.to) < std::tie(b.unit, b.to);
                              });
            std::vector<cand> fit;
            for (size_t c = 0; c < top && fit.size() < 3; ++c) {
                if ((step == 0 || cands[c].score > 0) &&
                    !check_state(s.ctx, s.state, s.units[cands[c].unit].guests, cands[c].to,
                                 false)) {
                    fit.push_back(cands[c]);
                }
            }
            if (fit.empty()) {
                break;
            }
            const cand &c = fit[step == 0 ? next(fit.size()) : 0];
            s.state.move(s.units[c.unit].guests, c.to);
            at[c.unit] = c.to;
            used += static_cast<unsigned>(s.units[c.unit].guests.size());
        }
        const double value = total();
        // The final state holds every limit and rule where a unit arrived or returned.
        // Lower net of cost, and the objective itself not higher: the search does not trade
        // balance for cheaper migrations (a plan with repairs could end above its start).
        bool valid = value < best - floor && obj.value() <= kept_objective + 1e-12;
        for (size_t i = 0; i < n_units && valid; ++i) {
            valid =
                at[i] == kept[i] || !check_state(s.ctx, s.state, s.units[i].guests, at[i], false);
        }
        std::vector<std::pair<size_t, node_id>> moves;
        for (size_t i = 0; i < n_units; ++i) {
            if (at[i] != kept[i] && at[i] == s.origin[i]) {
                moves.emplace_back(i, at[i]); // back home first
            }
        }
        for (size_t i = 0; i < n_units; ++i) {
            if (at[i] != kept[i] && at[i] != s.origin[i]) {
                moves.emplace_back(i, at[i]);
            }
        }
        t.undo();
        if (!valid || moves.empty()) {
            at = kept;
            continue;
        }
        if (s.accept && !s.accept(moves)) {
            at = kept;
            // Each refusal costs an ordering (and a capacity check): a bounded number.
            if (++refusals >= 64) {
                break;
            }
            continue;
        }
        const double before = obj.value();
        for (const auto &[i, n] : moves) {
            s.state.move(s.units[i].guests, n);
            s.units[i].node = n;
        }
        best = value;
        last_change = round;
        // The plan's reasons: each new move shares the gain, "in place of" the first unit
        // taken back (moves lists those first).
        const size_t out =
            moves.front().second == s.origin[moves.front().first] ? moves.front().first : n_units;
        size_t arrivals = 0;
        for (const auto &[i, n] : moves) {
            arrivals += n != s.origin[i];
        }
        const double gain =
            (before - obj.value()) / static_cast<double>(std::max<size_t>(1, arrivals));
        for (const auto &[i, n] : moves) {
            if (n != s.origin[i]) {
                changes.push_back({out == n_units ? i : out, i, n, gain});
            }
        }
    }
    return changes;
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
            // Once the shortlist is full, a unit none of whose moves could enter it is skipped
            // whole: its best conceivable score (a lower bound of J over every target, as in the
            // greedy search, with the same margin far above rounding) is below the worst kept
            // by more than better()'s tolerance, so the shortlist is the same.
            const objective_state::arrival_floor targets = obj.floor_of_arrivals();
            const double margin = 1e-9 * (1 + now);
            for (size_t j = 0; j < s.units.size(); ++j) {
                const unit &u = s.units[j];
                if (moved(j) || !movable(u)) {
                    continue;
                }
                const double pen = penalty(now, u.cost_seconds);
                const objective_state::departure leaving = obj.leave(u.node, u.demand);
                if (shortlist.size() == shortlist_size) {
                    if (auto j_min = obj.j_arrive_floor(targets, leaving)) {
                        const double best_score =
                            now - std::sqrt(std::max(0.0, *j_min)) + margin - pen;
                        if (best_score < shortlist.front().score - 2e-12) {
                            continue;
                        }
                    }
                }
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
            // The first pick ranges over the best first_k single moves: more on small
            // problems, where one plan change matters most and costs little to find.
            const size_t first_k =
                std::clamp<size_t>(static_cast<size_t>(2e6 / std::max(work, 1.0)), 1, 16);
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
                        // Refill the freed budget: the first pick among the best few single
                        // moves (not only the best: the two picks are chosen together), then
                        // the best second move after it; or the first alone.
                        const double cur = obj.value();
                        auto here = [&](size_t j) { return j == a || j == b || !moved(j); };
                        auto again = [&](size_t j, node_id n) { // a planned move put back
                            return (j == a && n == s.units[a].node) ||
                                   (j == b && n == s.units[b].node);
                        };
                        std::vector<scored_move> firsts;
                        for (size_t j = 0; j < s.units.size(); ++j) {
                            const unit &u = s.units[j];
                            if (!here(j) || !movable(u) || u.guests.size() > left) {
                                continue;
                            }
                            const double pen = penalty(now, u.cost_seconds);
                            const objective_state::departure leaving = obj.leave(u.node, u.demand);
                            for (node_id n : u.allowed) {
                                if (n == u.node || again(j, n)) {
                                    continue;
                                }
                                const scored_move m{cur - std::sqrt(obj.j_arrive(leaving, n)) - pen,
                                                    j, n};
                                if (firsts.size() < first_k) {
                                    firsts.push_back(m);
                                    std::push_heap(firsts.begin(), firsts.end(), better);
                                } else if (better(m, firsts.front())) {
                                    std::pop_heap(firsts.begin(), firsts.end(), better);
                                    firsts.back() = m;
                                    std::push_heap(firsts.begin(), firsts.end(), better);
                                }
                            }
                        }
                        std::sort(firsts.begin(), firsts.end(), better);
                        for (const scored_move &f : firsts) {
                            const unit &uf = s.units[f.unit];
                            if (!fits(uf, f.to)) {
                                continue;
                            }
                            auto t1 = s.state.begin_trial();
                            s.state.move(uf.guests, f.to);
                            const double cost1 = delta_cost - penalty(now, uf.cost_seconds);
                            // The first alone (one migration fewer).
                            const double alone = now - obj.value() + cost1;
                            if (alone > pair_best + 1e-15) {
                                pair_best = alone;
                                moves = {{a, s.origin[a]}, {b, s.origin[b]}, {f.unit, f.to}};
                            }
                            const unsigned left2 = left - static_cast<unsigned>(uf.guests.size());
                            const double cur2 = obj.value();
                            scored_move pick{0, 0, 0};
                            bool any = false;
                            for (size_t j = 0; j < s.units.size(); ++j) {
                                const unit &u = s.units[j];
                                if (j == f.unit || !here(j) || !movable(u) ||
                                    u.guests.size() > left2) {
                                    continue;
                                }
                                const double pen = penalty(now, u.cost_seconds);
                                const objective_state::departure leaving =
                                    obj.leave(u.node, u.demand);
                                for (node_id n : u.allowed) {
                                    if (n == u.node || again(j, n)) {
                                        continue;
                                    }
                                    const scored_move m{
                                        cur2 - std::sqrt(obj.j_arrive(leaving, n)) - pen, j, n};
                                    if (m.score > 0 && (!any || better(m, pick)) && fits(u, n)) {
                                        pick = m;
                                        any = true;
                                    }
                                }
                            }
                            if (!any) {
                                continue;
                            }
                            // pick.score = cur2 - (objective after both) - its penalty
                            const double both = now - cur2 + pick.score + cost1;
                            if (both > pair_best + 1e-15) {
                                pair_best = both;
                                moves = {{a, s.origin[a]},
                                         {b, s.origin[b]},
                                         {f.unit, f.to},
                                         {pick.unit, pick.to}};
                            }
                        }
                    }
                }
            }
            if (moves.empty()) {
                // Last: the large-neighbourhood search (small problems only).
                const std::vector<plan_change> more = lns(s, floor);
                changes.insert(changes.end(), more.begin(), more.end());
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
