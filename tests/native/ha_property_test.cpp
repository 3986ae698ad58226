// HA planning against a brute force: the property tests generate small
// clusters (seeded std::mt19937, 3-6 nodes, 2-9 HA guests, sometimes tight, sometimes with
// rules, pins, priorities, ratio limits, unrecoverable guests) and compare the engine with a
// brute-force solver written here from the documented rules: it recomputes every hard
// constraint from the model (only the survivors' current usage comes from make_load_view) and
// never calls the engine's constraint code or the recovery solver.
#include "support/ha_generator.h"
#include "support/ha_reference.h"
#include "support/ha_world.h"

#include <cstdio>
#include <set>

#include <boost/test/unit_test.hpp>

using namespace pvebal;
using namespace pvebal::test;
using namespace pvebal::test::ha;

BOOST_AUTO_TEST_SUITE(ha_planning)

// --- properties against the brute force ----------------------------------------------------

BOOST_AUTO_TEST_CASE(failover_matches_brute_force_on_generated_clusters) {
    const auto t0 = std::chrono::steady_clock::now();
    int clusters = 0, scenarios = 0, infeasible = 0, with_rules = 0, unplaced_some = 0;
    for (std::uint32_t seed = 1; seed <= seeds(1200); ++seed) {
        rng_t r(seed);
        generated gen = generate(r);
        world w(gen.b);
        ++clusters;
        with_rules += gen.rules ? 1 : 0;
        std::vector<node_id> active;
        for (node_id n = 0; n < w.c().nodes.size(); ++n) {
            if (w.c().nodes[n].online && !w.c().nodes[n].maintenance) {
                active.push_back(n);
            }
        }
        for (int rep = 0; rep < 3; ++rep) {
            for (bool all : {false, true}) {
                if (all && rep > 0) {
                    continue;
                }
                std::vector<node_id> pool = active;
                r.shuffle(pool);
                const int k = r.percent(5)
                                  ? static_cast<int>(pool.size())
                                  : r.uniform(1, std::max(1, static_cast<int>(pool.size()) - 1));
                pool.resize(static_cast<size_t>(k));
                std::vector<bool> failed(w.c().nodes.size(), false);
                for (node_id n : pool) {
                    failed[n] = true;
                }
                plan p = plan_failover(w.c(), w.o, pool, all);
                reference ref(w.c(), w.o, all);
                int feasible = 0;
                const std::vector<std::string> errs = check_failover(ref, failed, p, &feasible);
                ++scenarios;
                infeasible += feasible ? 0 : 1;
                unplaced_some += p.unplaced.empty() ? 0 : 1;
                BOOST_TEST(errs.empty(), "seed " << seed << ", failed " << join(w.names(pool))
                                                 << (all ? " --all-guests" : "") << ": "
                                                 << join(errs));
            }
        }
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    BOOST_TEST_MESSAGE("failover property: "
                       << clusters << " clusters (" << with_rules << " with rules), " << scenarios
                       << " scenarios, " << infeasible << " where not everyone can restart, "
                       << unplaced_some << " with unplaced guests, " << secs << " s");
    BOOST_TEST(infeasible > 50);              // the generator makes tight cases...
    BOOST_TEST(scenarios - infeasible > 500); // ...and easy ones
}

BOOST_AUTO_TEST_CASE(failover_packing_puzzles_keep_priority_classes_whole) {
    // Tight bin packing: one failed node, 2-3 survivors with a few GiB each, 4-8 guests of
    // 1-6 GiB in up to three priority classes. Whenever the guests of the top classes can all
    // restart, they must; and nothing is ever overcommitted.
    int cases = 0, short_cases = 0;
    for (std::uint32_t seed = 3001; seed < 3001 + seeds(500); ++seed) {
        rng_t r(seed);
        snapshot_builder b;
        b.node("f", 16, 64 * GiB, 0.0, 0);
        const int survivors = r.uniform(2, 3);
        for (int i = 0; i < survivors; ++i) {
            b.node("s" + std::to_string(i + 1), 16,
                   static_cast<std::uint64_t>(r.uniform(4, 14)) * GiB);
        }
        const int n = r.uniform(4, 8);
        for (int i = 0; i < n; ++i) {
            ha_vm(b, static_cast<std::uint32_t>(100 + i), "f", 1, r.uniform(1, 6), 0, 0,
                  "pvebal-priority-" + std::to_string(r.uniform(0, 2)));
        }
        world w(b, [](options &o) {
            o.memory_limit = 1.0;
            o.memory_reserve = 0;
        });
        std::vector<bool> failed(w.c().nodes.size(), false);
        failed[w.node("f")] = true;
        plan p = w.failover({"f"});
        reference ref(w.c(), w.o, false);
        int feasible = 0;
        const auto errs = check_failover(ref, failed, p, &feasible);
        BOOST_TEST(errs.empty(), "seed " << seed << ": " << join(errs));
        ++cases;
        short_cases += feasible ? 0 : 1;
    }
    BOOST_TEST_MESSAGE("packing puzzles: " << cases << " cases, " << short_cases
                                           << " where not everyone fits");
    BOOST_TEST(short_cases > cases / 4);
}

BOOST_AUTO_TEST_CASE(capacity_matches_brute_force_on_generated_clusters) {
    const auto t0 = std::chrono::steady_clock::now();
    int clusters = 0, by_k[7] = {0, 0, 0, 0, 0, 0, 0}, non_monotone = 0;
    for (std::uint32_t seed = 100001; seed < 100001 + seeds(600); ++seed) {
        rng_t r(seed);
        generated gen = generate(r);
        world w(gen.b);
        ++clusters;
        std::vector<node_id> active;
        for (node_id n = 0; n < w.c().nodes.size(); ++n) {
            if (w.c().nodes[n].online && !w.c().nodes[n].maintenance) {
                active.push_back(n);
            }
        }
        const int nA = static_cast<int>(active.size());
        reference ref(w.c(), w.o, false);
        // Brute force: for every k, every k-subset of the active nodes.
        std::vector<bool> all_ok_at(static_cast<size_t>(nA) + 1, true);
        std::map<std::vector<node_id>, bool> ok_of;
        for (unsigned mask = 1; mask < (1u << nA); ++mask) {
            const int k = __builtin_popcount(mask);
            if (k == nA) {
                continue;
            }
            std::vector<bool> failed(w.c().nodes.size(), false);
            std::vector<node_id> subset;
            for (int i = 0; i < nA; ++i) {
                if (mask & (1u << i)) {
                    failed[active[static_cast<size_t>(i)]] = true;
                    subset.push_back(active[static_cast<size_t>(i)]);
                }
            }
            std::vector<guest_id> which;
            for (guest_id g : ref.candidates(failed)) {
                if (ref.recoverable[g]) {
                    which.push_back(g);
                }
            }
            const bool ok = ref.feasible(failed, which);
            ok_of[subset] = ok;
            if (!ok) {
                all_ok_at[static_cast<size_t>(k)] = false;
            }
        }
        int bf = nA - 1;
        for (int k = 1; k <= nA - 1; ++k) {
            if (!all_ok_at[static_cast<size_t>(k)]) {
                bf = k - 1;
                break;
            }
        }
        for (int k = bf + 2; k <= nA - 1; ++k) {
            non_monotone += all_ok_at[static_cast<size_t>(k)] ? 1 : 0;
        }
        ++by_k[std::max(0, bf)];
        const int target = r.uniform(1, 3);
        capacity_report rep = w.capacity(target);
        BOOST_TEST(rep.exact, "seed " << seed << ": " << rep.method);
        BOOST_TEST(rep.tolerated == bf,
                   "seed " << seed << ": engine " << rep.tolerated << ", brute force " << bf);
        BOOST_TEST(rep.target_met == (target <= bf), "seed " << seed << " target " << target);
        BOOST_TEST(rep.nodes == nA);
        if (rep.target_met) {
            BOOST_TEST((rep.reserve_needed[dimension::memory] == 0 &&
                        rep.reserve_needed[dimension::cpu] == 0),
                       "seed " << seed);
        }
        if (bf < nA - 1) {
            BOOST_REQUIRE_MESSAGE(rep.worst.has_value(), "seed " << seed << ": no worst scenario");
            BOOST_TEST(static_cast<int>(rep.worst->failed.size()) == bf + 1, "seed " << seed);
            BOOST_TEST(!ok_of[rep.worst->failed],
                       "seed " << seed << ": the worst scenario is feasible");
            BOOST_TEST(rep.worst->unplaced > 0);
        } else {
            BOOST_TEST(!rep.worst.has_value(), "seed " << seed);
        }
        if (target <= nA - 1 && !rep.target_met) {
            BOOST_TEST(rep.worst_at_target.has_value(), "seed " << seed);
        }
        std::vector<guest_id> unrec;
        for (guest_id g = 0; g < w.c().guests.size(); ++g) {
            if (ref.needs[g] && !ref.recoverable[g]) {
                unrec.push_back(g);
            }
        }
        BOOST_TEST((rep.unrecoverable == unrec), "seed " << seed);
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    BOOST_TEST_MESSAGE("capacity property: "
                       << clusters << " clusters, tolerated k=0.." << 5 << ": " << by_k[0] << "/"
                       << by_k[1] << "/" << by_k[2] << "/" << by_k[3] << "/" << by_k[4] << "/"
                       << by_k[5] << ", non-monotone " << non_monotone << ", " << secs << " s");
    BOOST_TEST(by_k[0] > 20);
    BOOST_TEST(by_k[1] > 20);
    BOOST_TEST(by_k[2] + by_k[3] + by_k[4] + by_k[5] > 20);
}

BOOST_AUTO_TEST_CASE(ha_answers_are_deterministic) {
    for (std::uint32_t seed = 2001; seed <= 2150; ++seed) {
        rng_t r(seed);
        generated gen = generate(r);
        const std::string text = gen.b.json();
        std::vector<std::string> ns = gen.nodes;
        r.shuffle(ns);
        ns.resize(static_cast<size_t>(r.uniform(1, static_cast<int>(ns.size()) - 1)));
        const std::map<std::string, std::string> fo = {{"failed-node", join(ns)}};
        const std::map<std::string, std::string> cap = {{"target-failures", "2"}};
        const std::map<std::string, std::string> pl = {
            {"cpu", "2"}, {"mem", "6G"}, {"tags", "plb_anti_affinity_grp"}};
        const std::string other = shuffled(text, r);
        for (const auto &[cmd, args] :
             std::vector<std::pair<std::string, std::map<std::string, std::string>>>{
                 {"failover", fo}, {"capacity", cap}, {"place", pl}}) {
            const std::string a = run(cmd, text, args);
            BOOST_TEST(a == run(cmd, text, args), "seed " << seed << " " << cmd << ": twice");
            BOOST_TEST(a == run(cmd, other, args),
                       "seed " << seed << " " << cmd << ": shuffled snapshot");
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
