// The balance planner's improvement phase (improve.cpp) on its greedy plan, and the checks
// a change of that phase must pass: a safe order with no more temporary parkings, and
// keep-ha-capacity.
#include "balance.h"
#include "improve.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace pvebal::detail {

// keep-ha-capacity during the search: the state after the candidate must still survive the
// failures kept (the ordering checks every wave again).
bool balancer::guard_accepts(const candidate &cand) {
    if (!guard_ || guard_->keep() == 0) {
        return true;
    }
    auto t = state_.begin_trial();
    for (const auto &[i, n] : cand.moves) {
        state_.move(units_[i].guests, n);
    }
    const bool ok = guard_->survives(state_.load().placement);
    t.undo();
    if (!ok) {
        refused_.insert(cand.moves);
    }
    return ok;
}

// Whether the plan with these changes has a safe order that drops nothing (the greedy's swaps
// and chains check that one half can go first, a change of the improvement phase may undo it),
// and then how many temporary parkings that order needs (each one more migration).
std::optional<size_t>
balancer::temporaries(const std::vector<std::pair<size_t, node_id>> &changes) const {
    std::vector<node_id> at(units_.size());
    for (size_t i = 0; i < units_.size(); ++i) {
        at[i] = units_[i].node;
    }
    for (const auto &[i, n] : changes) {
        at[i] = n;
    }
    // The plan's order as improve() leaves it: kept entries in place, new ones at the end.
    std::vector<planned_move> moves;
    std::vector<bool> listed(units_.size(), false);
    for (const planned_move &m : chosen_) {
        for (size_t i = 0; i < units_.size(); ++i) {
            if (units_[i].guests == m.guests) {
                listed[i] = true;
                if (at[i] != origin_[i]) {
                    moves.push_back(
                        {m.guests, origin_[i], at[i], m.value, "", false, std::nullopt});
                }
                break;
            }
        }
    }
    for (size_t i = 0; i < units_.size(); ++i) {
        if (!listed[i] && at[i] != origin_[i]) {
            moves.push_back({units_[i].guests, origin_[i], at[i], 0, "", false, std::nullopt});
        }
    }
    overlay scratch(c_, o_, a_);
    plan trial;
    order_moves(ctx_, scratch, moves, trial);
    if (!trial.dropped.empty()) {
        return std::nullopt;
    }
    return static_cast<size_t>(std::count_if(trial.migrations.begin(), trial.migrations.end(),
                                             [](const migration &m) { return m.temporary; }));
}

// The improvement phase (improve.cpp) on the greedy plan, then the greedy again for what the
// changes freed (never more migrations than the greedy plan had: where it stopped short of the
// budget, it did so by its rules); the plan's moves follow the changes.
void balancer::improve() {
    if (!o_.improve_plan) {
        return;
    }
    const unsigned limit = migrations_;
    // Nor more temporary parkings than the greedy plan's order has.
    const size_t parkings = temporaries({}).value_or(0);
    // Repairs are mandatory: the improvement phase neither takes them back nor moves them on.
    std::vector<bool> fixed(units_.size(), false);
    for (const planned_move &m : chosen_) {
        if (m.repair) {
            for (size_t i = 0; i < units_.size(); ++i) {
                fixed[i] = fixed[i] || units_[i].guests == m.guests;
            }
        }
    }
    std::vector<node_id> lns_gave_up_at; // see plan_search
    for (int pass = 0; pass < 3 && !chosen_.empty() && !deadline_.expired(); ++pass) {
        plan_search s{ctx_,
                      state_,
                      units_,
                      origin_,
                      fixed,
                      o_.max_migrations,
                      active_,
                      deadline_,
                      [&](const std::vector<std::pair<size_t, node_id>> &moves) {
                          candidate cand;
                          cand.moves = moves;
                          const std::optional<size_t> t = temporaries(moves);
                          return t && *t <= parkings && guard_accepts(cand);
                      },
                      &lns_gave_up_at};
        const double before = obj_.value();
        const std::vector<plan_change> changes = improve_plan(s);
        if (changes.empty()) {
            break;
        }
        auto entry = [&](size_t i) {
            return std::find_if(chosen_.begin(), chosen_.end(), [&](const planned_move &m) {
                return m.guests == units_[i].guests;
            });
        };
        // The plan follows the state: units back home leave it, moved units get their target
        // and the reason of the change that sent them there.
        std::map<size_t, const plan_change *> why;
        for (const plan_change &ch : changes) {
            why[ch.in] = &ch;
        }
        for (size_t i = 0; i < units_.size(); ++i) {
            if (fixed[i]) {
                continue;
            }
            auto it = entry(i);
            if (units_[i].node == origin_[i]) {
                if (it != chosen_.end()) {
                    chosen_.erase(it);
                }
                moved_[i] = false;
                continue;
            }
            moved_[i] = true;
            if (it != chosen_.end() && it->to == units_[i].node) {
                continue;
            }
            const plan_change *ch = why.count(i) ? why[i] : nullptr;
            const double gain = ch ? ch->gain : 0;
            char buf[160];
            std::snprintf(buf, sizeof buf, "lowers the objective by %.4f (%.1f%%)", gain,
                          before > 0 ? 100.0 * gain / before : 0.0);
            std::string reason = buf;
            if (ch && ch->out != ch->in) {
                reason += " (in place of " +
                          std::to_string(c_.guests[units_[ch->out].guests.front()].vmid) + ")";
            }
            if (units_[i].guests.size() > 1) {
                reason += " (moves with its affinity group)";
            }
            if (it != chosen_.end()) {
                it->to = units_[i].node;
                it->value += gain;
                it->reason = reason;
            } else {
                chosen_.push_back({units_[i].guests, origin_[i], units_[i].node, gain, reason,
                                   false, std::nullopt});
            }
        }
        migrations_ = 0;
        for (size_t i = 0; i < units_.size(); ++i) {
            if (units_[i].node != origin_[i]) {
                migrations_ += static_cast<unsigned>(units_[i].guests.size());
            }
        }
        greedy(limit);
    }
}

} // namespace pvebal::detail
