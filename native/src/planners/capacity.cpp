// Capacity (admission control, N+k): the largest k such that for every set of k failed nodes
// all HA guests still restart. Every combination is checked while the number of scenarios stays
// within a budget; beyond it the answer is a sound range (see docs/ha.md).
#include "recovery.h"
#include "side_thread.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <memory>
#include <span>

namespace pvebal {

using namespace detail;

namespace {

double binomial(int n, int k) {
    double r = 1;
    for (int i = 1; i <= k; ++i) {
        r = r * (n - k + i) / i;
    }
    return r;
}

// Calls f for every k-subset of `items` in lexicographic order; stops when f returns false.
template <class F> bool for_each_subset(const std::vector<node_id> &items, int k, F &&f) {
    const int n = static_cast<int>(items.size());
    std::vector<int> idx(static_cast<size_t>(k));
    for (int i = 0; i < k; ++i) {
        idx[static_cast<size_t>(i)] = i;
    }
    std::vector<node_id> subset(static_cast<size_t>(k));
    while (true) {
        for (int i = 0; i < k; ++i) {
            subset[static_cast<size_t>(i)] =
                items[static_cast<size_t>(idx[static_cast<size_t>(i)])];
        }
        if (!f(subset)) {
            return false;
        }
        int i = k - 1;
        while (i >= 0 && idx[static_cast<size_t>(i)] == n - k + i) {
            --i;
        }
        if (i < 0) {
            return true;
        }
        ++idx[static_cast<size_t>(i)];
        for (int j = i + 1; j < k; ++j) {
            idx[static_cast<size_t>(j)] = idx[static_cast<size_t>(j - 1)] + 1;
        }
    }
}

bool worse(const failure_scenario &a, const failure_scenario &b) {
    if (a.shortfall[dimension::memory] != b.shortfall[dimension::memory]) {
        return a.shortfall[dimension::memory] > b.shortfall[dimension::memory];
    }
    if (a.shortfall[dimension::cpu] != b.shortfall[dimension::cpu]) {
        return a.shortfall[dimension::cpu] > b.shortfall[dimension::cpu];
    }
    return a.unplaced > b.unplaced;
}

} // namespace

capacity_report plan_capacity(const cluster &c, const options &o, int target, bool all_guests,
                              long max_scenarios, int threads) {
    capacity_report r;
    r.target = target;
    recovery_solver solver(c, o, all_guests);
    deadline dl(o.deadline);
    solver.set_deadline(&dl);
    std::vector<node_id> active;
    for (node_id n = 0; n < c.nodes.size(); ++n) {
        if (c.nodes[n].online && !c.nodes[n].maintenance) {
            active.push_back(n);
        }
    }
    r.nodes = static_cast<int>(active.size());
    std::vector<bool> unrecoverable(c.guests.size(), false);
    for (const auto &[g, why] : solver.unrecoverable()) {
        r.unrecoverable.push_back(g);
        unrecoverable[g] = true;
    }
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        r.ha_guests += solver.needs_recovery(g) ? 1 : 0;
    }
    const load_view v = make_load_view(c, o);
    for (node_id n : active) {
        node_headroom h;
        h.node = n;
        h.cpu = o.cpu_limit * v.capacity[n][dimension::cpu] - v.used[n][dimension::cpu];
        h.memory = usable_memory(o, c.nodes[n], v.capacity[n][dimension::memory]) -
                   v.used[n][dimension::memory];
        for (guest_id g = 0; g < c.guests.size(); ++g) {
            if (c.guests[g].node == n && solver.needs_recovery(g)) {
                h.ha_memory += solver.demand(g)[dimension::memory];
            }
        }
        r.headroom.push_back(h);
    }

    // One scenario: fails when a recoverable guest cannot restart. `placed` (with keep_placed):
    // where everyone restarted, when everyone did (for extend at the next level).
    const long search_budget = 20'000;
    auto run = [&](recovery_solver &sv, std::span<const node_id> subset, bool keep_guests,
                   std::vector<std::pair<guest_id, node_id>> &placed, bool keep_placed) {
        std::vector<bool> failed(c.nodes.size(), false);
        for (node_id n : subset) {
            failed[n] = true;
        }
        recovery_solver::answer out = sv.solve(failed, search_budget, false);
        if (keep_placed) {
            placed = std::move(out.placed);
        }
        failure_scenario s;
        s.failed.assign(subset.begin(), subset.end());
        for (guest_id g : out.unplaced) {
            if (!unrecoverable[g]) {
                ++s.unplaced;
                if (keep_guests) {
                    s.guests.push_back(g);
                }
                if (sv.has_allowed_node(g, failed)) {
                    s.shortfall += sv.demand(g);
                } else {
                    ++s.rule_blocked;
                }
            }
        }
        const bool proven = out.proven; // out's end puts the solver's overlay back
        return std::pair{s, proven};
    };

    // Upper bound from aggregate memory: the k nodes with the most HA memory to restart fail,
    // and what they ran must fit in what the others have left. If even that fails, k is not
    // tolerated. Unrecoverable guests need no room (they are lost anyway): counting them would
    // make the bound too low, and the search below stops at the bound.
    double free_total = 0;
    std::vector<std::pair<double, double>> by_load; // (recoverable HA memory, headroom memory)
    for (const node_headroom &h : r.headroom) {
        double need = 0;
        for (guest_id g = 0; g < c.guests.size(); ++g) {
            if (c.guests[g].node == h.node && solver.needs_recovery(g) && !unrecoverable[g]) {
                need += solver.demand(g)[dimension::memory];
            }
        }
        by_load.emplace_back(need, std::max(0.0, h.memory));
        free_total += std::max(0.0, h.memory);
    }
    std::sort(by_load.begin(), by_load.end(), std::greater<>());
    int upper = r.nodes - 1;
    {
        double lost = 0, lost_free = 0;
        for (int k = 1; k <= r.nodes - 1; ++k) {
            lost += by_load[static_cast<size_t>(k - 1)].first;
            lost_free += by_load[static_cast<size_t>(k - 1)].second;
            if (lost > free_total - lost_free + 1e-6) {
                upper = k - 1;
                break;
            }
        }
    }
    r.upper_bound = std::max(0, upper);

    long budget_left = max_scenarios;
    int tolerated = 0;
    bool failed_at_some_k = false; // a k with a failing scenario was found
    bool failure_proven =
        true; // ... and that failure is certain (a failing scenario's search did not run out)
    bool out_of_budget = false;
    const int last_k = std::min(std::max(target, r.upper_bound + 1), r.nodes - 1);
    using answer_map = std::map<std::vector<node_id>, std::vector<std::pair<guest_id, node_id>>>;
    answer_map answers; // passing scenarios of the last level
    const std::vector<std::pair<guest_id, node_id>> no_answer;
    // A scenario's outcome, computed by one worker, merged in scenario order.
    // (Small: a level has thousands, and fresh memory is expensive.)
    struct outcome {
        bool done = false;
        bool proven = true;
        std::unique_ptr<failure_scenario> failure; // null: passes
        std::vector<std::pair<guest_id, node_id>> placed;
    };
    // The level's scenarios, k nodes each, one after the other.
    std::vector<node_id> subsets;
    int width = 0;
    auto subset_at = [&](size_t i) {
        return std::span<const node_id>(subsets.data() + i * static_cast<size_t>(width),
                                        static_cast<size_t>(width));
    };
    size_t scenarios = 0;
    // Scenarios sharing their first k-1 nodes (a base) are consecutive: base b's are
    // [base_start[b], base_start[b + 1]).
    std::vector<size_t> base_start;
    std::vector<outcome> outcomes;
    // Each worker takes the next base not taken yet and checks its scenarios (extend() applies
    // the base's answer once), so a worker that starts late (the helper builds its solver
    // first) takes fewer. Every scenario's outcome is the same whoever checks it: the answer
    // does not depend on the split. Each worker owns its solver and deadline; they share only
    // what no one writes (the cluster, the last level's answers) and the counter.
    auto work = [&](recovery_solver &sv, deadline &d, std::atomic<size_t> &next, bool keep) {
        std::vector<node_id> base;
        std::vector<std::pair<guest_id, node_id>> placed;
        for (size_t b = next++; b + 1 < base_start.size(); b = next++) {
            // The base's answer, looked up once for its scenarios.
            const std::span<const node_id> first = subset_at(base_start[b]);
            base.assign(first.begin(), first.end() - 1);
            const auto known = base.empty() ? answers.end() : answers.find(base);
            for (size_t i = base_start[b]; i < base_start[b + 1]; ++i) {
                if (d.expired()) {
                    return;
                }
                const std::span<const node_id> subset = subset_at(i);
                outcome &out = outcomes[i];
                out.done = true;
                // First the previous level's answer without the last node's guests, extended
                // by them (and by what it sent there): when everyone restarts so, the scenario
                // passes as solve() would find; otherwise solve() decides.
                if ((base.empty() || known != answers.end()) &&
                    sv.extend(base, base.empty() ? no_answer : known->second, subset.back(),
                              keep ? &placed : nullptr)) {
                    // passes
                } else if (auto [s, proven] = run(sv, subset, false, placed, keep);
                           s.unplaced > 0) {
                    out.failure = std::make_unique<failure_scenario>(std::move(s));
                    out.proven = proven;
                }
                if (keep && !out.failure) {
                    out.placed = std::move(placed);
                }
            }
        }
        sv.end_extend();
    };
    // A second worker on its own solver for levels with many scenarios (built once, on its
    // thread); small levels stay on this thread.
    std::optional<recovery_solver> helper;
    std::optional<deadline> helper_dl;
    constexpr size_t parallel_from = 256;
    for (int k = 1; k <= last_k; ++k) {
        const double count = binomial(r.nodes, k);
        if (count > static_cast<double>(budget_left)) {
            out_of_budget = true;
            break;
        }
        budget_left -= static_cast<long>(count);
        bool all_ok = true;
        bool any_proven = false; // one proven failing scenario is enough to rule k out
        std::optional<failure_scenario> worst;
        bool timed_out = false;
        // Answers of this level are kept only when the next level will be checked (they are
        // its bases): the last level's would be thousands of fresh vectors for nothing.
        const bool keep_answers =
            k < last_k && binomial(r.nodes, k + 1) <= static_cast<double>(budget_left);
        subsets.clear();
        base_start.clear();
        width = k;
        scenarios = 0;
        for_each_subset(active, k, [&](const std::vector<node_id> &subset) {
            const bool same_base = scenarios > 0 && std::equal(subset.begin(), subset.end() - 1,
                                                               subset_at(scenarios - 1).begin());
            if (!same_base) {
                base_start.push_back(scenarios);
            }
            subsets.insert(subsets.end(), subset.begin(), subset.end());
            ++scenarios;
            return true;
        });
        base_start.push_back(scenarios);
        outcomes.clear();
        outcomes.resize(scenarios);
        std::atomic<size_t> next_base{0};
        if (threads > 1 && scenarios >= parallel_from) {
            side_thread other([&] {
                if (!helper) {
                    helper.emplace(c, o, all_guests);
                    helper_dl.emplace(o.deadline);
                    helper->set_deadline(&*helper_dl);
                }
                work(*helper, *helper_dl, next_base, keep_answers);
            });
            work(solver, dl, next_base, keep_answers);
            other.join();
        } else {
            work(solver, dl, next_base, keep_answers);
        }
        answer_map next_answers;
        for (size_t i = 0; i < scenarios; ++i) {
            outcome &out = outcomes[i];
            if (!out.done) {
                // A worker's deadline came first. The helper's started later, so this one is
                // up too: marked here for the method's note.
                timed_out = true;
                if (!dl.hit()) {
                    dl.expired();
                }
                break;
            }
            ++r.scenarios_checked;
            if (!out.failure) {
                if (keep_answers) {
                    const std::span<const node_id> subset = subset_at(i);
                    next_answers.emplace(std::vector<node_id>(subset.begin(), subset.end()),
                                         std::move(out.placed));
                }
                continue;
            }
            all_ok = false;
            any_proven = any_proven || out.proven;
            if (!worst || worse(*out.failure, *worst)) {
                worst = *out.failure;
            }
        }
        answers.swap(next_answers);
        if (timed_out) {
            out_of_budget = true; // k not fully checked: as when scenarios run out
            break;
        }
        if (worst) {
            std::vector<std::pair<guest_id, node_id>> unused;
            worst = run(solver, worst->failed, true, unused, false).first; // to list its guests
            ++r.scenarios_checked;
        }
        if (k == target) {
            r.target_met = all_ok;
            if (worst) {
                r.reserve_needed = worst->shortfall;
                r.worst_at_target = worst;
            }
        }
        if (all_ok) {
            if (!failed_at_some_k) {
                tolerated = k;
            }
            continue;
        }
        if (!failed_at_some_k) {
            failed_at_some_k = true;
            failure_proven = any_proven;
            r.worst = worst;
        }
        if (k >= target) {
            break;
        }
    }
    r.tolerated = tolerated;
    if (failed_at_some_k && failure_proven) {
        r.exact = true;
        r.upper_bound = tolerated;
        r.method =
            "every combination of up to " + std::to_string(tolerated + 1) + " failed nodes checked";
    } else if (failed_at_some_k && tolerated == r.upper_bound) {
        r.exact = true; // the bounds meet
        r.method = "every combination of up to " + std::to_string(tolerated + 1) +
                   " failed nodes checked; the aggregate-memory bound confirms the answer";
    } else if (failed_at_some_k) {
        r.exact = false;
        r.method =
            "every combination checked, but a failing scenario's search ran out of budget: " +
            std::to_string(tolerated) + " is a lower bound";
    } else if (!out_of_budget) {
        r.exact = true;
        r.upper_bound = tolerated;
        r.method = "every combination of failed nodes checked";
    } else if (dl.hit()) {
        r.exact = false;
        r.method = "every combination of up to " + std::to_string(tolerated) +
                   " failed node(s) checked, so " + std::to_string(tolerated) +
                   " is a lower bound and " + std::to_string(r.upper_bound) +
                   " an upper bound (aggregate memory)";
    } else {
        r.exact = false;
        r.method = "every combination of up to " + std::to_string(tolerated) +
                   " failed node(s) checked; more would exceed max-scenarios, so " +
                   std::to_string(tolerated) + " is a lower bound and " +
                   std::to_string(r.upper_bound) + " an upper bound (aggregate memory)";
    }
    if (dl.hit() && !r.exact) {
        r.method = dl.note(r.method);
    }
    if (!r.exact && tolerated >= r.upper_bound) {
        // The aggregate-memory bound proves the failure that a search could not.
        r.exact = true;
        r.upper_bound = tolerated;
        r.method += "; the aggregate-memory bound rules out more";
    }
    if (target > r.nodes - 1 || target > tolerated) {
        r.target_met = r.target_met && target <= tolerated;
    }
    return r;
}

} // namespace pvebal
