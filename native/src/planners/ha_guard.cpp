// N+k-safe plans: the HA capacity guard behind keep-ha-capacity (docs/ha.md).
#include "ha_guard.h"

#include <algorithm>

namespace pvebal::detail {

namespace {

// The per-scenario search budget of `capacity` (capacity.cpp): the same answers.
constexpr long search_budget = 20'000;
// Failure sets one check may try; beyond, the level kept is lowered (and the plan says so).
constexpr double max_sets = 2'000;

double binomial(size_t n, int k) {
    double r = 1;
    for (int i = 1; i <= k; ++i) {
        r = r * static_cast<double>(n - static_cast<size_t>(k) + static_cast<size_t>(i)) / i;
    }
    return r;
}

} // namespace

int ha_guard::asked(const options &o) {
    // Unset: capacity-target (balancer.cfg's N+k goal, default 1); the constructor lowers it to
    // what the HA guests survive before the plan.
    return o.keep_ha_capacity.value_or(o.capacity_target);
}

ha_guard::ha_guard(const cluster &c, const options &o, deadline *dl,
                   const decision_context *planning)
    : c_(c), solver_(planning != nullptr ? recovery_solver(c, o, false, *planning)
                                         : recovery_solver(c, o, false)),
      dl_(dl), unrecoverable_(c.guests.size(), false), changed_(c.nodes.size(), 0),
      arrived_(c.nodes.size(), 0) {
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        const int k = solver_.affinity().together[g];
        if (k != no_group && static_cast<size_t>(k) >= group_moved_.size()) {
            group_moved_.resize(static_cast<size_t>(k) + 1, 0);
        }
    }
    solver_.set_deadline(dl);
    active_node_.assign(c.nodes.size(), false);
    for (node_id n = 0; n < c.nodes.size(); ++n) {
        if (c.nodes[n].online && !c.nodes[n].maintenance) {
            active_.push_back(n);
            active_node_[n] = true;
        }
    }
    where_.resize(c.guests.size());
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        where_[g] = solver_.state().node_of(g);
    }
    for (const auto &[g, why] : solver_.unrecoverable()) {
        unrecoverable_[g] = true;
    }
    const bool any_ha = [&] {
        for (guest_id g = 0; g < c.guests.size(); ++g) {
            if (solver_.needs_recovery(g) && !unrecoverable_[g]) {
                return true;
            }
        }
        return false;
    }();
    const int asked = ha_guard::asked(o);
    if (asked <= 0 || !any_ha || active_.size() < 2) {
        return;
    }
    int limit = std::min<int>(asked, static_cast<int>(active_.size()) - 1);
    while (limit > 0 && binomial(active_.size(), limit) > max_sets) {
        --limit;
    }
    int now = 0;
    while (now < limit && check(now + 1)) {
        ++now;
    }
    keep_ = now;
    if (unchecked_) {
        // The deadline cut the check of the level now: keep the level being checked, so the
        // plan's first wave (unchecked too) ends the plan.
        keep_ = now + 1;
        return;
    }
    const std::string k = std::to_string(keep_);
    if (keep_ == 0) {
        note_ = "keep-ha-capacity: the HA guests do not survive one node failure now; no wave is "
                "held back for HA capacity";
    } else {
        note_ = "keep-ha-capacity: every wave leaves the HA guests able to restart after any " + k +
                " node failure(s), as before the plan";
    }
    if (limit < std::min<int>(asked, static_cast<int>(active_.size()) - 1)) {
        note_ += " (asked " + std::to_string(asked) + "; more failure sets than one check tries)";
    } else if (now < limit && o.keep_ha_capacity) {
        note_ += " (asked " + std::to_string(asked) + ", survived before the plan: " + k + ")";
    }
    if (keep_ == 0) {
        note_.clear(); // nothing to keep: no note
    }
}

void ha_guard::move_guest(guest_id g, node_id n, const res *demand) {
    const node_id from = where_[g];
    solver_.relocate(g, n, demand);
    where_[g] = n;
    ++clock_;
    if (from != no_node) {
        changed_[from] = clock_;
    }
    if (n != no_node) {
        changed_[n] = clock_;
        arrived_[n] = clock_;
    }
    if (const int k = solver_.affinity().together[g]; k != no_group) {
        group_moved_[static_cast<size_t>(k)] = clock_;
    }
}

void ha_guard::apply(const std::vector<node_id> &placement) {
    for (guest_id g = 0; g < placement.size(); ++g) {
        if (placement[g] != where_[g]) {
            move_guest(g, placement[g]);
        }
    }
}

bool ha_guard::fresh(const std::vector<node_id> &set, const known_answer &a) const {
    for (int k : a.groups) {
        if (group_moved_[static_cast<size_t>(k)] > a.stamp) {
            return false; // the partners' majority may have changed
        }
    }
    for (node_id n : set) {
        if (changed_[n] > a.stamp) {
            return false;
        }
    }
    for (node_id n : a.targets) {
        if (arrived_[n] > a.stamp) {
            return false;
        }
    }
    return true;
}

bool ha_guard::check(int k) {
    // Once the deadline is reached no state counts as checked, however cheap its check.
    if (dl_ != nullptr && dl_->expired()) {
        unchecked_ = true;
        return false;
    }
    std::vector<bool> failed(c_.nodes.size(), false);
    auto fails = [&](const std::vector<node_id> &set) {
        std::fill(failed.begin(), failed.end(), false);
        for (node_id n : set) {
            failed[n] = true;
        }
        auto known = answers_.find(set);
        if (known != answers_.end()) {
            if (fresh(set, known->second)) {
                return false;
            }
            const bool partners_stayed = std::all_of(
                known->second.groups.begin(), known->second.groups.end(), [&](int group) {
                    return group_moved_[static_cast<size_t>(group)] <= known->second.stamp;
                });
            if (partners_stayed) {
                std::vector<bool> dirty(c_.nodes.size(), false);
                for (node_id n = 0; n < c_.nodes.size(); ++n) {
                    dirty[n] = arrived_[n] > known->second.stamp;
                }
                const bool same_guests = std::all_of(set.begin(), set.end(), [&](node_id n) {
                    return changed_[n] <= known->second.stamp;
                });
                if (solver_.revalidate(failed, dirty, known->second.placed, same_guests)) {
                    known_answer &a = known->second;
                    a.stamp = clock_;
                    if (same_guests) {
                        return false; // the same restarts, the same targets
                    }
                    a.targets.clear();
                    for (const auto &[g, n] : a.placed) {
                        a.targets.push_back(n);
                    }
                    // The groups stay those of the answer: revalidate() keeps together guests
                    // only where they were and places none anew.
                    std::sort(a.targets.begin(), a.targets.end());
                    a.targets.erase(std::unique(a.targets.begin(), a.targets.end()),
                                    a.targets.end());
                    return false;
                }
            } else if (solver_.still_valid(failed, known->second.placed)) {
                known->second.stamp = clock_;
                return false;
            }
        }
        if (dl_ != nullptr && dl_->expired()) {
            unchecked_ = true;
            return true;
        }
        const recovery_solver::answer out = solver_.solve(failed, search_budget, false);
        // Unrecoverable guests (local disks, devices) are lost anyway; an unproven failure
        // counts as a failure, before the plan as in every wave.
        const bool failing = std::any_of(out.unplaced.begin(), out.unplaced.end(),
                                         [&](guest_id g) { return !unrecoverable_[g]; });
        if (failing && !out.proven && dl_ != nullptr && dl_->hit()) {
            unchecked_ = true; // the deadline, not the cluster, stopped the search
            return true;
        }
        if (!failing) {
            known_answer a;
            a.placed = out.placed;
            a.stamp = clock_;
            for (const auto &[g, n] : out.placed) {
                a.targets.push_back(n);
                if (const int group = solver_.affinity().together[g]; group != no_group) {
                    a.groups.push_back(group);
                }
            }
            std::sort(a.groups.begin(), a.groups.end());
            a.groups.erase(std::unique(a.groups.begin(), a.groups.end()), a.groups.end());
            std::sort(a.targets.begin(), a.targets.end());
            a.targets.erase(std::unique(a.targets.begin(), a.targets.end()), a.targets.end());
            answers_[set] = std::move(a);
        }
        return failing;
    };
    auto record = [&](const std::vector<node_id> &set) {
        if (unchecked_) {
            return false; // not a failure of the cluster: nothing to remember
        }
        last_failing_ = set;
        why_.clear();
        for (node_id n : set) {
            why_ += (why_.empty() ? "" : ", ") + c_.nodes[n].name;
        }
        return false;
    };
    if (static_cast<int>(last_failing_.size()) == k && fails(last_failing_)) {
        return record(last_failing_);
    }
    const size_t n = active_.size();
    std::vector<size_t> idx(static_cast<size_t>(k));
    for (size_t i = 0; i < idx.size(); ++i) {
        idx[i] = i;
    }
    std::vector<node_id> set(idx.size());
    while (true) {
        for (size_t i = 0; i < idx.size(); ++i) {
            set[i] = active_[idx[i]];
        }
        if (set != last_failing_ && fails(set)) {
            return record(set);
        }
        size_t i = idx.size();
        while (i > 0 && idx[i - 1] == n - idx.size() + i - 1) {
            --i;
        }
        if (i == 0) {
            return true;
        }
        ++idx[i - 1];
        for (size_t j = i; j < idx.size(); ++j) {
            idx[j] = idx[j - 1] + 1;
        }
    }
}

bool ha_guard::within_passed(const std::vector<node_id> &placement) const {
    return within(placement, passed_) || within(placement, reference_);
}

bool ha_guard::within(const std::vector<node_id> &placement,
                      const std::vector<node_id> &passed) const {
    if (passed.empty()) {
        return false;
    }
    const std::vector<int> &together = solver_.affinity().together;
    auto off = [&](node_id n) { return n == no_node || !active_node_[n]; };
    std::vector<int> groups; // keep-together groups with a member that differs
    for (guest_id g = 0; g < placement.size(); ++g) {
        if (placement[g] == passed[g]) {
            continue;
        }
        if (!off(placement[g])) {
            return false;
        }
        if (together[g] != no_group) {
            groups.push_back(together[g]);
        }
    }
    if (groups.empty()) {
        return true;
    }
    std::sort(groups.begin(), groups.end());
    groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
    for (guest_id g = 0; g < placement.size(); ++g) {
        if (together[g] != no_group &&
            std::binary_search(groups.begin(), groups.end(), together[g]) && !off(placement[g])) {
            return false;
        }
    }
    return true;
}

bool ha_guard::survives(const std::vector<node_id> &placement) {
    if (keep_ == 0) {
        return true;
    }
    unchecked_ = false;
    // Once the deadline is reached no state counts as checked (check() says so).
    if ((dl_ == nullptr || !dl_->expired()) && within_passed(placement)) {
        return true;
    }
    apply(placement);
    const bool ok = check(keep_);
    if (ok) {
        passed_ = placement;
    }
    return ok;
}

bool ha_guard::survives_with(guest_id g, node_id n, const res &d) {
    if (keep_ == 0) {
        return true;
    }
    unchecked_ = false;
    passed_.clear(); // the demand changes: no placement passed with it
    reference_.clear();
    const node_id was = where_[g];
    const res before = solver_.state().load().demand[g];
    move_guest(g, n, &d);
    const bool ok = check(keep_);
    move_guest(g, was, &before);
    return ok;
}

bool ha_guard::survives_as_reference(const std::vector<node_id> &placement) {
    const bool ok = survives(placement);
    if (ok && keep_ > 0) {
        reference_ = placement;
    }
    return ok;
}

std::string ha_guard::refusal() const {
    return "keep-ha-capacity: the HA guests would no longer survive " + std::to_string(keep_) +
           " node failure(s) (not all could restart if " + why_ + " failed)";
}

wave_check ha_guard::waves() {
    if (keep_ == 0) {
        return {};
    }
    return [this](const overlay &s) -> std::optional<wave_refusal> {
        std::vector<node_id> placement(c_.guests.size());
        for (guest_id g = 0; g < placement.size(); ++g) {
            placement[g] = s.target_of(g) != no_node ? s.target_of(g) : s.node_of(g);
        }
        if (survives(placement)) {
            return std::nullopt;
        }
        if (unchecked_) {
            return wave_refusal{dl_->note("keep-ha-capacity could not check the next wave, so "
                                          "the plan ends before it"),
                                true};
        }
        return wave_refusal{refusal(), false};
    };
}

} // namespace pvebal::detail
