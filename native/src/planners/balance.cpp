// Balance: a local search over single moves, swaps and two-move chains that lowers the
// objective, within a migration budget, each move worth its cost; then a safe order.
#include "balance.h"
#include "side_thread.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>

namespace pvebal::detail {

void balancer::consider_single(candidate &best) {
    const double now = obj_.value();
    const double floor = min_gain();
    // A unit none of whose targets could pass the gain tests below is skipped whole: its
    // best conceivable gain (from a lower bound of J over every target, plus a margin far
    // above rounding) already fails them. The same candidates pass, so the same plan.
    const objective_state::arrival_floor targets = obj_.floor_of_arrivals();
    const double margin = 1e-9 * (1 + now);
    for (size_t i = 0; i < units_.size(); ++i) {
        // Out of time: the best move of the units seen so far still lowers the objective.
        if ((i & 1023) == 1023 && deadline_.expired()) {
            return;
        }
        const unit &u = units_[i];
        if (moved_[i] || migrations_ + u.guests.size() > o_.max_migrations) {
            continue;
        }
        if (u.demand.is_zero()) {
            continue; // stopped guests do not change the balance
        }
        const double penalty = cost_penalty(u.cost_seconds);
        // The source side once per unit; then only each target's side (same value as j_after).
        const objective_state::departure leaving = obj_.leave(u.node, u.demand);
        if (auto j_min = obj_.j_arrive_floor(targets, leaving)) {
            const double best_gain = now - std::sqrt(std::max(0.0, *j_min)) + margin;
            if (best_gain < floor || best_gain - penalty <= best.score) {
                continue;
            }
        }
        for (node_id n : u.allowed) {
            const double after = std::sqrt(obj_.j_arrive(leaving, n));
            const double gain = now - after;
            if (gain < floor || gain - penalty <= best.score) {
                continue;
            }
            if (!fits(u, n)) {
                continue;
            }
            candidate cand{gain - penalty, gain, u.cost_seconds, {{i, n}}, "move"};
            if ((best.moves.empty() || cand.better_than(best)) && !refused(cand.moves)) {
                best = cand;
            }
        }
    }
}

// The k nodes with the highest (or lowest) largest per-resource deviation from the mean.
std::vector<node_id> balancer::hot_nodes(bool hottest, size_t k) const {
    std::vector<std::pair<double, node_id>> heat;
    res mean;
    int n_active = 0;
    for (node_id n = 0; n < c_.nodes.size(); ++n) {
        if (obj_.active(n)) {
            mean += obj_.row(n);
            ++n_active;
        }
    }
    if (n_active == 0) {
        return {};
    }
    for (node_id n = 0; n < c_.nodes.size(); ++n) {
        if (!obj_.active(n)) {
            continue;
        }
        // The largest (or smallest) deviation over the dimensions in use.
        std::optional<double> h;
        for (const dimension_info &row : dimension_table) {
            if (dimension_in_use(row, o_)) {
                const double d = obj_.util(n, row.dim) - mean[row.dim] / n_active;
                h = !h ? d : hottest ? std::max(*h, d) : std::min(*h, d);
            }
        }
        heat.emplace_back(hottest ? -*h : *h, n);
    }
    std::sort(heat.begin(), heat.end());
    std::vector<node_id> out;
    for (size_t i = 0; i < heat.size() && i < k; ++i) {
        out.push_back(heat[i].second);
    }
    return out;
}

// Swaps (x: a -> b, y: b -> a) and chains (y: b -> c to make room, then x: a -> b), between
// the hottest and coolest nodes, for when no single move is good enough on its own.
void balancer::consider_pairs(candidate &best) {
    if (migrations_ + 2 > o_.max_migrations) {
        return;
    }
    constexpr size_t nodes_k = 3;
    constexpr size_t guests_k = 24;
    const double now = obj_.value();
    std::vector<std::vector<size_t>> on_node(c_.nodes.size());
    for (size_t i = 0; i < units_.size(); ++i) {
        if (!moved_[i] && units_[i].guests.size() == 1 && !units_[i].demand.is_zero()) {
            on_node[units_[i].node].push_back(i);
        }
    }
    // Largest first: they change the balance most.
    auto size_of = [&](size_t i) {
        const unit &u = units_[i];
        return dominant_share(u.demand, state_.load().capacity[u.node]);
    };
    for (auto &list : on_node) {
        std::stable_sort(list.begin(), list.end(),
                         [&](size_t x, size_t y) { return size_of(x) > size_of(y); });
        if (list.size() > guests_k) {
            list.resize(guests_k);
        }
    }
    auto allowed = [&](const unit &u, node_id n) {
        return std::binary_search(u.allowed.begin(), u.allowed.end(), n);
    };
    for (node_id a : hot_nodes(true, nodes_k)) {
        for (node_id b : hot_nodes(false, nodes_k)) {
            if (a == b) {
                continue;
            }
            for (size_t xi : on_node[a]) {
                const unit &x = units_[xi];
                if (!allowed(x, b)) {
                    continue;
                }
                // Swaps: the net effect is x's demand minus y's moving from a to b.
                for (size_t yi : on_node[b]) {
                    const unit &y = units_[yi];
                    if (!allowed(y, a)) {
                        continue;
                    }
                    const res net = x.demand - y.demand;
                    const double gain = now - std::sqrt(obj_.j_after(a, b, net));
                    const double seconds = x.cost_seconds + y.cost_seconds;
                    const double score = gain - cost_penalty(seconds);
                    if (gain < 2 * min_gain() || score <= best.score) {
                        continue;
                    }
                    // Final state must pass: each arrives where the other has already left.
                    const bool ok = [&] {
                        bool x_ok = false, y_ok = false;
                        {
                            auto t = state_.begin_trial();
                            state_.move(y.guests, a);
                            x_ok = fits(x, b);
                        }
                        if (x_ok) {
                            auto t = state_.begin_trial();
                            state_.move(x.guests, b);
                            y_ok = fits(y, a);
                        }
                        return x_ok && y_ok;
                    }();
                    // And one half must be able to go first (a migrating guest loads both nodes);
                    // otherwise the ordering could only drop the pair.
                    if (!ok || (!fits(x, b) && !fits(y, a))) {
                        continue;
                    }
                    candidate cand{score, gain, seconds, {{xi, b}, {yi, a}}, "swap"};
                    if ((best.moves.empty() || cand.better_than(best)) && !refused(cand.moves)) {
                        best = cand;
                    }
                }
                // Chains: x would help on b but does not fit; move y off b to a third node first.
                if (fits(x, b)) {
                    continue;
                }
                for (size_t yi : on_node[b]) {
                    const unit &y = units_[yi];
                    for (node_id cn : y.allowed) {
                        if (cn == a || cn == b || !fits(y, cn)) {
                            continue;
                        }
                        // Thresholds from the state before the trial.
                        const double seconds = x.cost_seconds + y.cost_seconds;
                        const double penalty = cost_penalty(seconds);
                        const double floor = 2 * min_gain();
                        // y to cn as a trial: the objective follows it, the scope undoes it.
                        auto t = state_.begin_trial();
                        state_.move(y.guests, cn);
                        const double gain = now - std::sqrt(obj_.j_after(a, b, x.demand));
                        const double score = gain - penalty;
                        if (gain < floor || score <= best.score || !fits(x, b)) {
                            continue;
                        }
                        candidate cand{score, gain, seconds, {{yi, cn}, {xi, b}}, "chain"};
                        if ((best.moves.empty() || cand.better_than(best)) &&
                            !refused(cand.moves)) {
                            best = cand;
                        }
                    }
                }
            }
        }
    }
}

void balancer::apply(const candidate &cand) {
    const double before = obj_.value();
    std::vector<node_id> from;
    for (const auto &[i, n] : cand.moves) {
        from.push_back(units_[i].node);
    }
    for (const auto &[i, n] : cand.moves) {
        unit &u = units_[i];
        state_.move(u.guests, n);
        u.node = n;
        moved_[i] = true;
        migrations_ += static_cast<unsigned>(u.guests.size());
    }
    char buf[160];
    // The gain, not before/after values: the execution order differs from the search order.
    std::snprintf(buf, sizeof buf, "lowers the objective by %.4f (%.1f%%)", before - obj_.value(),
                  before > 0 ? 100.0 * (before - obj_.value()) / before : 0.0);
    for (size_t k = 0; k < cand.moves.size(); ++k) {
        const auto &[i, n] = cand.moves[k];
        const unit &u = units_[i];
        std::string reason = buf;
        if (cand.kind == "swap") {
            const unit &other = units_[cand.moves[1 - k].first];
            reason += " (swap with " + std::to_string(c_.guests[other.guests[0]].vmid) + ")";
        } else if (cand.kind == "chain" && k == 0) {
            reason += " (makes room for " +
                      std::to_string(c_.guests[units_[cand.moves[1].first].guests[0]].vmid) + ")";
        }
        if (u.guests.size() > 1) {
            reason += " (moves with its affinity group)";
        }
        // Value for the ordering: share of the gain.
        chosen_.push_back({u.guests, from[k], n, cand.gain / static_cast<double>(cand.moves.size()),
                           reason, false, std::nullopt});
    }
}

// Greedy best improvement: the best single move (else pair) at each step, within the budget
// and at most `limit` migrations.
void balancer::greedy(unsigned limit) {
    // Refusals are bounded: each costs a search step and a capacity check.
    constexpr size_t max_refused = 64;
    // The plan stops once the objective is within the threshold: going on below it doubled the
    // daemon's migrations on the real traces of tests/sim for no better balance over the day.
    while (migrations_ < o_.max_migrations && obj_.value() > o_.threshold && !deadline_.expired() &&
           refused_.size() < max_refused) {
        candidate best;
        best.score = 0;
        consider_single(best);
        if (best.moves.empty() && !deadline_.hit()) {
            consider_pairs(best);
        }
        if (best.moves.empty()) {
            break;
        }
        unsigned adds = 0;
        for (const auto &[i, n] : best.moves) {
            adds += static_cast<unsigned>(units_[i].guests.size());
        }
        if (migrations_ + adds > limit) {
            break;
        }
        if (!guard_accepts(best)) {
            continue;
        }
        apply(best);
    }
}

plan balancer::run() {
    plan p;
    p.kind = plan_kind::balance;
    // keep-ha-capacity's guard checks the placement the plan starts from; on a large cluster it
    // is built on a second thread while this one builds the units and the repairs (it reads
    // only the cluster and the options, and has its own solver and deadline). It is used only
    // when no repair is planned, and joined before run() returns either way.
    const bool guarded = ha_guard::asked(o_) > 0;
    std::unique_ptr<ha_guard> early_guard;
    deadline early_deadline(o_.deadline);
    std::optional<side_thread> early;
    if (guarded && c_.guests.size() >= early_guard_from_ && obj_.value() > o_.threshold &&
        o_.max_migrations > 0) {
        early.emplace(
            [&] { early_guard = std::make_unique<ha_guard>(c_, o_, &early_deadline, &ctx_); });
    }
    const load_view before = state_.load();
    std::vector<bool> include(c_.guests.size());
    for (guest_id g = 0; g < c_.guests.size(); ++g) {
        include[g] = c_.nodes[c_.guests[g].node].online && immovable_reasons(ctx_, g).empty();
    }
    units_ = build_units(ctx_, include);
    for (const unit &u : units_) {
        origin_.push_back(u.node);
    }
    // A unit is movable only if all its members are (an immovable partner pins the group).
    moved_.assign(units_.size(), false);

    // Repair first: mandatory, whatever the threshold and min-improvement.
    repair_outcome repaired =
        plan_repairs(ctx_, state_, units_, moved_, o_.max_migrations, deadline_);
    chosen_ = std::move(repaired.moves);
    migrations_ = repaired.migrations;
    p.notes = std::move(repaired.notes);
    if (!chosen_.empty()) {
        p.notes.push_back("repairs first: " + std::to_string(migrations_) +
                          " migration(s) restore broken rules or limits");
    }

    // Then balance. Every plan ends with a note saying why it stopped (stable wording).
    const double start = obj_.value();
    bool movable = false;
    for (size_t i = 0; i < units_.size(); ++i) {
        const unit &u = units_[i];
        movable = movable || (!moved_[i] && !u.allowed.empty() &&
                              (u.demand[dimension::cpu] != 0 || u.demand[dimension::memory] != 0));
    }
    if (deadline_.hit()) {
        // the repairs' note says it
    } else if (start <= o_.threshold) {
        char buf[160];
        std::snprintf(buf, sizeof buf,
                      "already balanced: objective %.4f is within the threshold %.4f", start,
                      o_.threshold);
        p.notes.push_back(buf);
    } else if (o_.max_migrations == 0) {
        p.notes.push_back("max-migrations is 0: nothing planned");
    } else if (migrations_ >= o_.max_migrations) {
        p.notes.push_back("stopped at max-migrations (" + std::to_string(o_.max_migrations) + ")");
    } else if (!movable) {
        p.notes.push_back("nothing movable: no running guest may move to another node");
    } else {
        const size_t repairs = chosen_.size();
        // keep-ha-capacity guards balancing moves from the placement the plan starts from; a
        // plan that repairs first starts from another one, so the guard waits for the next plan.
        bool recovered = false;
        for (guest_id g = 0; g < c_.guests.size() && !recovered; ++g) {
            recovered = c_.ha.recovered(g);
        }
        if (repairs == 0 && guarded && early) {
            early->join();
            early.reset();
            guard_ = std::move(early_guard);
            guard_->set_deadline(&deadline_);
            if (early_deadline.hit()) {
                deadline_.expired(); // it started later: this one is up too
            }
        } else if (repairs == 0 && guarded) {
            guard_ = std::make_unique<ha_guard>(c_, o_, &deadline_, &ctx_);
        } else if (guarded && recovered) {
            p.notes.push_back("keep-ha-capacity is not applied to a plan that repairs broken "
                              "rules or limits (the next plan, without repairs, applies it)");
        }
        greedy(o_.max_migrations);
        improve();
        if (!refused_.empty()) {
            p.notes.push_back("keep-ha-capacity: " + std::to_string(refused_.size()) +
                              " candidate move(s) left out: each would leave the HA guests "
                              "unable to survive " +
                              std::to_string(guard_->keep()) +
                              " node failure(s), as they do before the plan");
        }
        if (deadline_.hit()) {
            p.notes.push_back(deadline_.note("the plan holds the " + std::to_string(migrations_) +
                                             " migration(s) found so far"));
        } else if (obj_.value() <= o_.threshold) {
            char buf[200];
            std::snprintf(buf, sizeof buf, "stopped: objective %.4f is within the threshold %.4f",
                          obj_.value(), o_.threshold);
            p.notes.push_back(buf);
        } else if (migrations_ >= o_.max_migrations) {
            p.notes.push_back("stopped at max-migrations (" + std::to_string(o_.max_migrations) +
                              ")");
        } else if (chosen_.size() == repairs) {
            p.notes.push_back(
                "no move improves the balance by at least min-improvement and its cost");
        } else {
            p.notes.push_back("stopped: no further move improves the balance by at least "
                              "min-improvement and its cost");
        }
    }
    // Order from the initial placement.
    overlay ordering_state(c_, o_, a_);
    order_moves(ctx_, ordering_state, chosen_, p, guard_ ? guard_->waves() : wave_check{});
    finish_plan(c_, c_, o_, before, ordering_state.load(), p);
    return p;
}

} // namespace pvebal::detail

namespace pvebal {

plan plan_balance(const cluster &c, const options &o) {
    return detail::balancer(c, o).run();
}

} // namespace pvebal
