// Property test of capacity's extension of an answer (recovery_solver::extend, the last
// failed node's guests placed on plain arrays instead of the overlay): whenever it says every
// guest restarts, the answer restarts exactly the recoverable guests of the failure set, each
// on a survivor that its target rules allow, and each single guest passes the registry's own
// state checks (memory, CPU, ratios, keep apart) replayed in order on a fresh overlay; each
// keep-together group lands on one node. Generated clusters with keep-apart, keep-together and
// strict node-affinity rules, tight memory; bases are answers of solve() for 1 or 2 nodes.
#include "planners/recovery.h"
#include "support/constraints_fixture.h"
#include "test_util.h"

#include <boost/test/unit_test.hpp>

#include <map>
#include <random>

using namespace pvebal;
using namespace pvebal::detail;
using namespace pvebal::test;

namespace {

std::string cluster_json(std::uint32_t seed, int min_nodes = 4, int max_nodes = 7) {
    std::mt19937 r(seed);
    auto uniform = [&](int lo, int hi) {
        return lo + static_cast<int>(r() % static_cast<std::uint32_t>(hi - lo + 1));
    };
    snapshot_builder b;
    const int nodes = uniform(min_nodes, max_nodes);
    const int guests = uniform(3 * nodes, 7 * nodes);
    std::vector<std::uint64_t> mem(static_cast<size_t>(nodes), 2 * GiB);
    std::vector<int> where;
    for (int i = 0; i < guests; ++i) {
        where.push_back(uniform(1, nodes));
    }
    Json::Value ha(Json::arrayValue);
    for (int i = 0; i < guests; ++i) {
        const std::uint64_t m = static_cast<std::uint64_t>(uniform(1, 12)) * GiB;
        const std::uint32_t vmid = static_cast<std::uint32_t>(100 + i);
        const int at = where[static_cast<size_t>(i)];
        b.guest(vmid, "pve" + std::to_string(at), uniform(1, 8), m, uniform(1, 40) / 100.0, m);
        mem[static_cast<size_t>(at - 1)] += m;
        Json::Value res(Json::objectValue);
        res["sid"] = "vm:" + std::to_string(vmid);
        res["state"] = "started";
        ha.append(res);
    }
    for (int n = 0; n < nodes; ++n) {
        // Memory 1.1 to 2x what the node holds now (at least 16 GiB): some failures do not fit.
        const double total =
            std::max(static_cast<double>(mem[static_cast<size_t>(n)]) * uniform(110, 200) / 100.0,
                     16.0 * GiB);
        b.node("pve" + std::to_string(n + 1), 16, static_cast<std::uint64_t>(total),
               uniform(5, 60) / 100.0, mem[static_cast<size_t>(n)]);
    }
    b.extra()["ha"]["resources"] = ha;
    auto sid = [&] { return "vm:" + std::to_string(100 + uniform(0, guests - 1)); };
    Json::Value rules(Json::arrayValue);
    for (int i = 0, k = uniform(1, 3); i < k; ++i) {
        Json::Value apart = rule_json("apart" + std::to_string(i), "resource-affinity",
                                      sid() + "," + sid() + "," + sid());
        apart["affinity"] = "negative";
        rules.append(apart);
    }
    for (int i = 0, k = uniform(0, 3); i < k; ++i) {
        Json::Value together =
            rule_json("together" + std::to_string(i), "resource-affinity", sid() + "," + sid());
        together["affinity"] = "positive";
        rules.append(together);
    }
    for (int i = 0, k = uniform(0, 2); i < k; ++i) {
        Json::Value pin =
            rule_json("pin" + std::to_string(i), "node-affinity", sid() + "," + sid());
        pin["strict"] = uniform(0, 1);
        pin["nodes"] = "pve" + std::to_string(uniform(1, nodes)) + ":2,pve" +
                       std::to_string(uniform(1, nodes)) + ",pve" +
                       std::to_string(uniform(1, nodes));
        rules.append(pin);
    }
    b.extra()["ha"]["rules"] = rules;
    return b.json();
}

bool unrecoverable(const recovery_solver &solver, guest_id g) {
    return std::any_of(solver.unrecoverable().begin(), solver.unrecoverable().end(),
                       [&](const auto &u) { return u.first == g; });
}

// The answer restarts exactly the recoverable guests on the failed nodes, each where the
// registry allows it, replayed in the answer's order on a fresh overlay.
void check_answer(const recovery_solver &solver, const cluster &c, const options &o,
                  const std::vector<bool> &failed,
                  const std::vector<std::pair<guest_id, node_id>> &placed) {
    std::vector<guest_id> want, have;
    for (guest_id g : solver.candidates(failed)) {
        if (!unrecoverable(solver, g)) {
            want.push_back(g);
        }
    }
    for (const auto &[g, n] : placed) {
        have.push_back(g);
    }
    std::sort(have.begin(), have.end());
    BOOST_TEST((want == have), "the answer restarts other guests than the failed nodes'");
    decision_context ctx(c, o, solver.affinity());
    ctx.set_failed(failed);
    overlay st(c, o, solver.affinity());
    for (const auto &[g, n] : placed) {
        st.set_demand(g, solver.demand(g));
    }
    std::map<int, node_id> group_node;
    for (const auto &[g, n] : placed) {
        BOOST_TEST(!failed[n]);
        BOOST_TEST(!check_target(ctx, g, n, false).has_value(),
                   c.guests[g].sid() << " not allowed on " << c.nodes[n].name);
        const int group = solver.affinity().together[g];
        if (group == no_group) {
            BOOST_TEST(!check_state(ctx, st, {g}, n, false).has_value(),
                       c.guests[g].sid() << " does not fit " << c.nodes[n].name);
        } else if (auto [it, fresh] = group_node.emplace(group, n); !fresh) {
            BOOST_TEST(it->second == n, "a keep-together group split");
        }
        st.move(g, n);
    }
}

} // namespace

BOOST_AUTO_TEST_SUITE(extend_recovery)

BOOST_AUTO_TEST_CASE(extended_answers_pass_the_registry_checks) {
    int passes = 0, refused = 0;
    for (std::uint32_t seed = 1; seed <= 150; ++seed) {
        auto snap = read_snapshot(cluster_json(seed));
        if (!snap) {
            continue; // a generated rule set the reader refuses (e.g. conflicting rules)
        }
        const cluster &c = snap->c;
        const options &o = snap->opts;
        recovery_solver solver(c, o, false);
        std::mt19937 r(seed * 7919);
        for (int t = 0; t < 6; ++t) {
            std::vector<node_id> base{static_cast<node_id>(r() % c.nodes.size())};
            if (r() % 2 == 1) {
                const auto b = static_cast<node_id>(r() % c.nodes.size());
                if (b != base[0]) {
                    base.push_back(b);
                }
            }
            std::sort(base.begin(), base.end());
            std::vector<bool> failed(c.nodes.size(), false);
            for (node_id n : base) {
                failed[n] = true;
            }
            std::vector<std::pair<guest_id, node_id>> base_placed;
            {
                recovery_solver::answer a = solver.solve(failed, 20'000, false);
                const bool all = std::all_of(a.unplaced.begin(), a.unplaced.end(),
                                             [&](guest_id g) { return unrecoverable(solver, g); });
                if (!all) {
                    continue; // extend() starts from passing answers only
                }
                base_placed = a.placed;
            }
            for (node_id x = 0; x < c.nodes.size(); ++x) {
                if (failed[x]) {
                    continue;
                }
                std::vector<std::pair<guest_id, node_id>> placed;
                if (!solver.extend(base, base_placed, x, &placed)) {
                    ++refused;
                    continue;
                }
                ++passes;
                std::vector<bool> now = failed;
                now[x] = true;
                BOOST_TEST_CONTEXT("seed " << seed << " base " << base.size() << " x " << x) {
                    check_answer(solver, c, o, now, placed);
                }
            }
            solver.end_extend();
        }
    }
    BOOST_TEST_MESSAGE("extend: " << passes << " answers checked, " << refused
                                  << " left to solve()");
    // Not vacuous: both outcomes occur.
    BOOST_TEST(passes > 200);
    BOOST_TEST(refused > 20);
}

// Two workers give the single worker's report, field by field (levels of 256 scenarios or more
// run on two; generated clusters of 14 to 18 nodes reach such a level, some with failures).
BOOST_AUTO_TEST_CASE(two_workers_give_the_same_report) {
    // The sanitizer run (a fifth of the property clusters, tests/run-checks) takes four.
    const std::uint32_t seeds = env_or("PVEBAL_PROPERTY_CLUSTERS", 500) >= 500 ? 12 : 4;
    int parallel = 0, failing = 0;
    for (std::uint32_t seed = 1; seed <= seeds; ++seed) {
        auto snap = read_snapshot(cluster_json(seed, 14, 18));
        BOOST_REQUIRE(snap.has_value());
        const capacity_report one = plan_capacity(snap->c, snap->opts, 3, false, 20000, 1);
        const capacity_report two = plan_capacity(snap->c, snap->opts, 3, false, 20000, 2);
        BOOST_TEST_CONTEXT("seed " << seed) {
            BOOST_TEST(one.tolerated == two.tolerated);
            BOOST_TEST(one.upper_bound == two.upper_bound);
            BOOST_TEST(one.exact == two.exact);
            BOOST_TEST(one.method == two.method);
            BOOST_TEST(one.scenarios_checked == two.scenarios_checked);
            BOOST_TEST(one.target_met == two.target_met);
            BOOST_TEST((one.reserve_needed == two.reserve_needed));
            for (const auto &[a, b] : {std::pair{&one.worst, &two.worst},
                                       std::pair{&one.worst_at_target, &two.worst_at_target}}) {
                BOOST_TEST(a->has_value() == b->has_value());
                if (a->has_value() && b->has_value()) {
                    BOOST_TEST(((*a)->failed == (*b)->failed));
                    BOOST_TEST((*a)->unplaced == (*b)->unplaced);
                    BOOST_TEST((*a)->rule_blocked == (*b)->rule_blocked);
                    BOOST_TEST(((*a)->shortfall == (*b)->shortfall));
                    BOOST_TEST(((*a)->guests == (*b)->guests));
                }
            }
        }
        parallel += one.scenarios_checked >= 256 ? 1 : 0;
        failing += one.worst.has_value() && one.worst->failed.size() >= 3 ? 1 : 0;
    }
    BOOST_TEST_MESSAGE("two workers: " << parallel << " clusters with a parallel level, " << failing
                                       << " failing at k >= 3");
    BOOST_TEST(parallel >= 3);
}

// A solver built from a planner's decision context (the guard of balance: the rules are not
// compiled again) answers as one that compiles them itself: the same guests to recover, the
// same restarts for every failure of one or two nodes, the same shortfalls, also in balanced
// mode. The generated clusters have keep-apart, keep-together and node-affinity rules.
BOOST_AUTO_TEST_CASE(a_solver_from_a_planning_context_answers_the_same) {
    int compared = 0, with_unplaced = 0;
    for (std::uint32_t seed = 1; seed <= 120; ++seed) {
        auto snap = read_snapshot(cluster_json(seed));
        if (!snap) {
            continue; // a generated rule set the reader refuses (e.g. conflicting rules)
        }
        const cluster &c = snap->c;
        const options &o = snap->opts;
        const affinity_groups a = compile_affinity(c, o);
        const decision_context planning(c, o, a);
        recovery_solver fresh(c, o, false);
        recovery_solver shared(c, o, false, planning);
        BOOST_TEST_CONTEXT("seed " << seed) {
            for (guest_id g = 0; g < c.guests.size(); ++g) {
                BOOST_TEST(fresh.needs_recovery(g) == shared.needs_recovery(g));
                BOOST_TEST(fresh.priority(g) == shared.priority(g));
                BOOST_TEST((fresh.demand(g) == shared.demand(g)));
            }
            BOOST_TEST(fresh.unrecoverable().size() == shared.unrecoverable().size());
            for (node_id x = 0; x < c.nodes.size(); ++x) {
                for (node_id y = x; y < c.nodes.size(); ++y) {
                    std::vector<bool> failed(c.nodes.size(), false);
                    failed[x] = failed[y] = true;
                    for (bool balanced : {false, true}) {
                        const recovery_solver::answer p = fresh.solve(failed, 20'000, balanced);
                        const recovery_solver::answer q = shared.solve(failed, 20'000, balanced);
                        BOOST_TEST((p.placed == q.placed));
                        BOOST_TEST((p.unplaced == q.unplaced));
                        BOOST_TEST(p.proven == q.proven);
                        with_unplaced += p.unplaced.empty() ? 0 : 1;
                        ++compared;
                    }
                }
            }
        }
    }
    BOOST_TEST_MESSAGE("solver from a planning context: " << compared << " answers compared, "
                                                          << with_unplaced << " with guests left");
    BOOST_TEST(compared > 1000);
    BOOST_TEST(with_unplaced > 0);
}

BOOST_AUTO_TEST_SUITE_END()
