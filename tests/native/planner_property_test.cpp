// Property tests of the planners over generated clusters (support/plan_generator.h). Every plan
// is replayed, wave by wave, by the reference checker (support/plan_reference.h), written from
// the documented rules; it does not call the engine's constraint checks, so it fails when the
// engine is wrong.
#include "support/plan_generator.h"
#include "support/plan_reference.h"
#include "test_util.h"

#include "pvebal/io.h"
#include "pvebal/report.h"
#include "pvebal/scoring.h"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

using namespace pvebal;
using namespace pvebal::test;
using namespace pvebal::test::plans;

BOOST_AUTO_TEST_SUITE(planner_properties)

BOOST_AUTO_TEST_CASE(balance_plans_are_safe_and_never_worse) {
    const auto t0 = std::chrono::steady_clock::now();
    size_t migrations = 0, temporary = 0, dropped = 0, planned = 0, multi_wave = 0, tight = 0;
    size_t swaps = 0, chains = 0, crowded = 0;
    for (std::uint32_t i = 0; i < clusters; ++i) {
        const std::uint32_t seed = seed_base + i;
        const generated g = generate(seed);
        const snapshot s = load(g.json);
        const plan p = plan_balance(s.c, s.opts);
        report("balance", seed, g, check_balance(s, p));
        migrations += p.migrations.size();
        dropped += p.dropped.size();
        planned += p.migrations.empty() ? 0 : 1;
        multi_wave += p.waves > 1 ? 1 : 0;
        tight += g.kind == profile::tight ? 1 : 0;
        crowded += g.kind == profile::crowded ? 1 : 0;
        for (const migration &m : p.migrations) {
            temporary += m.temporary ? 1 : 0;
            swaps += m.reason.find("(swap with") != std::string::npos ? 1 : 0;
            chains += m.reason.find("(makes room for") != std::string::npos ? 1 : 0;
        }
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    BOOST_TEST_MESSAGE("balance: " << clusters << " clusters (" << tight << " memory-tight, "
                                   << crowded << " crowded), " << planned << " with a plan, "
                                   << multi_wave << " with several waves, " << migrations
                                   << " migrations (" << temporary << " temporary, " << swaps / 2
                                   << " swaps, " << chains << " chains), " << dropped
                                   << " dropped moves, " << secs << " s");
    BOOST_TEST(planned > clusters / 4); // the generator makes work for the planner
}

BOOST_AUTO_TEST_CASE(evacuations_are_safe_and_complete) {
    const auto t0 = std::chrono::steady_clock::now();
    size_t migrations = 0, unplaced = 0, temporary = 0, drained_guests = 0;
    std::map<std::string, int> why; // first reason of unplaced guests
    for (std::uint32_t i = 0; i < clusters; ++i) {
        const std::uint32_t seed = seed_base + i;
        const generated g = generate(seed);
        const snapshot s = load(g.json);
        const node_id drain = *s.c.find_node(g.drain);
        const plan p = plan_evacuate(s.c, s.opts, {drain});
        report("evacuate " + g.drain, seed, g, check_evacuate(s, drain, p));
        migrations += p.migrations.size();
        unplaced += p.unplaced.size();
        for (const migration &m : p.migrations) {
            temporary += m.temporary ? 1 : 0;
        }
        for (const guest &gs : s.c.guests) {
            drained_guests += gs.node == drain ? 1 : 0;
        }
        for (const unplaced_guest &u : p.unplaced) {
            ++why[u.reasons.empty()        ? "none"
                  : u.reasons.front().node ? "per-node"
                                           : constraint_name(u.reasons.front().why.kind)];
        }
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    BOOST_TEST_MESSAGE("evacuate: " << clusters << " clusters, " << drained_guests
                                    << " guests on drained nodes, " << migrations << " migrations ("
                                    << temporary << " temporary), " << unplaced << " unplaced (" <<
                       [&] {
                           std::string t;
                           for (const auto &[k, n] : why) {
                               t += (t.empty() ? "" : ", ") + k + " " + std::to_string(n);
                           }
                           return t;
                       }() << "), " << secs
                                    << " s");
    BOOST_TEST(migrations > clusters);
}

BOOST_AUTO_TEST_CASE(plans_do_not_depend_on_input_order) {
    const auto t0 = std::chrono::steady_clock::now();
    size_t compared = 0;
    for (std::uint32_t i = 0; i < clusters; i += 4) { // 250 clusters
        const std::uint32_t seed = seed_base + i;
        const generated g = generate(seed);
        const snapshot a = load(g.json);
        const std::string other = reordered(g, seed ^ 0xabcdefu);
        BOOST_REQUIRE(other != g.json);
        const snapshot b = load(other);
        BOOST_TEST(render_plan(a.c, a.opts, plan_balance(a.c, a.opts), output_format::json) ==
                       render_plan(b.c, b.opts, plan_balance(b.c, b.opts), output_format::json),
                   "balance plan differs, " << context_of(seed, g));
        const plan ea = plan_evacuate(a.c, a.opts, {*a.c.find_node(g.drain)});
        const plan eb = plan_evacuate(b.c, b.opts, {*b.c.find_node(g.drain)});
        BOOST_TEST(render_plan(a.c, a.opts, ea, output_format::json) ==
                       render_plan(b.c, b.opts, eb, output_format::json),
                   "evacuation plan differs, " << context_of(seed, g));
        ++compared;
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    BOOST_TEST_MESSAGE("determinism: " << compared << " clusters, plan and evacuate, " << secs
                                       << " s");
    BOOST_TEST(compared >= std::min(200u, clusters / 4));
}

// Seeds (outside the default range) on which exploration runs found engine bugs, kept as
// regression cases (they are tied to this generator). Balance: an unorderable swap was dropped
// while a move planned on top of it still ran, and the objective got worse. Evacuate: a member of a
// keep-together unit that may not go where its partner must was unplaced without any reason.
BOOST_AUTO_TEST_CASE(regressions_found_by_exploration) {
    for (std::uint32_t seed : {1003576u, 1003985u, 1005332u}) {
        const generated g = generate(seed);
        const snapshot s = load(g.json);
        const plan p = plan_balance(s.c, s.opts);
        report("balance", seed, g, check_balance(s, p));
    }
    for (std::uint32_t seed :
         {1000099u, 1003487u, 1003725u, 1004437u, 1005059u, 1007756u, 1012885u, 1028420u}) {
        const generated g = generate(seed);
        const snapshot s = load(g.json);
        const node_id drain = *s.c.find_node(g.drain);
        report("evacuate " + g.drain, seed, g,
               check_evacuate(s, drain, plan_evacuate(s.c, s.opts, {drain})));
    }
}

// Does any single migration (guest, target) pass the limits in the final state and lower the
// objective by at least min-improvement? Reference arithmetic only.
bool some_single_move_improves(const snapshot &s) {
    const cluster &c = s.c;
    const options &o = s.opts;
    reference ref(c, o, std::vector<bool>(c.nodes.size(), false));
    std::vector<node_id> where(c.guests.size());
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        where[g] = c.guests[g].node;
    }
    const double now = ref.objective(ref.usage(where));
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        for (node_id n = 0; n < c.nodes.size(); ++n) {
            if (n == where[g] || ref.immovable(g) || !ref.static_error(g, where[g], n).empty()) {
                continue;
            }
            std::vector<node_id> moved = where;
            moved[g] = n;
            const std::vector<res> used = ref.usage(moved);
            const double maxmem = static_cast<double>(c.nodes[n].maxmem);
            const double usable =
                std::min(o.memory_limit * maxmem, maxmem - static_cast<double>(o.memory_reserve));
            if (used[n][dimension::memory] > usable ||
                used[n][dimension::cpu] > o.cpu_limit * c.nodes[n].maxcpu) {
                continue;
            }
            if (ref.objective(used) < now - o.min_improvement) {
                return true;
            }
        }
    }
    return false;
}

BOOST_AUTO_TEST_CASE(search_finds_a_chain_where_no_single_move_helps) {
    // alpha: CPU-hot x (8 busy cores, 20 GiB), pinned to alpha/bravo. bravo: an idle 60 GiB y.
    // Each node has 100 GiB, 90 usable. x does not fit on bravo (80 + 20); y fits only on
    // charlie, where it merely mirrors memory (no gain). Moving y to charlie and then x to bravo
    // halves the objective.
    snapshot_builder b;
    b.node("alpha", 16, 100 * GiB, 0.75, 80 * GiB);
    b.node("bravo", 16, 100 * GiB, 0.0, 80 * GiB);
    b.node("charlie", 16, 100 * GiB, 0.0, 20 * GiB);
    b.guest(100, "alpha", 8, 24 * GiB, 1.0, 20 * GiB)["tags"] = "pvebal-pin-alpha;pvebal-pin-bravo";
    b.guest(200, "bravo", 1, 64 * GiB, 0.0, 60 * GiB);
    const snapshot s = load(b.json());
    BOOST_TEST(!some_single_move_improves(s));

    const plan p = plan_balance(s.c, s.opts);
    BOOST_REQUIRE_EQUAL(p.migrations.size(), 2u);
    BOOST_TEST(s.c.guests[p.migrations[0].guest].vmid == 200u);
    BOOST_TEST(s.c.nodes[p.migrations[0].to].name == "charlie");
    BOOST_TEST(s.c.guests[p.migrations[1].guest].vmid == 100u);
    BOOST_TEST(s.c.nodes[p.migrations[1].to].name == "bravo");
    BOOST_TEST(p.migrations[1].wave > p.migrations[0].wave); // x waits until y has left bravo
    BOOST_TEST(p.migrations[0].reason.find("makes room for 100") != std::string::npos);
    BOOST_TEST(p.after.objective < 0.6 * p.before.objective);
    const std::vector<std::string> errors = check_balance(s, p);
    BOOST_TEST(errors.empty(), join(errors, "; "));
}

BOOST_AUTO_TEST_CASE(a_swap_that_cannot_be_ordered_is_not_planned) {
    // Two nodes at 85 of 90 usable GiB. Swapping x (CPU-hot) and y (idle) would balance CPU, but
    // while both migrate each node carries both: there is no safe order and no third node.
    snapshot_builder b;
    b.node("alpha", 16, 100 * GiB, 0.75, 85 * GiB);
    b.node("bravo", 16, 100 * GiB, 0.0, 85 * GiB);
    b.guest(100, "alpha", 8, 48 * GiB, 1.0, 40 * GiB);
    b.guest(200, "bravo", 1, 48 * GiB, 0.0, 40 * GiB);
    const snapshot s = load(b.json());
    BOOST_TEST(!some_single_move_improves(s));
    const plan p = plan_balance(s.c, s.opts);
    BOOST_TEST(p.migrations.empty());
    BOOST_TEST(p.dropped.empty()); // not proposed, rather than proposed and dropped
    BOOST_TEST(p.after.objective == p.before.objective);
}

BOOST_AUTO_TEST_CASE(no_move_is_planned_on_top_of_a_swap_that_cannot_run) {
    // Minimised from a generated cluster. Swapping ct 318 (bravo) and vm 140 (alpha) helps but
    // cannot be ordered: neither fits while the other is still there and there is no third node
    // to park on. vm 198 (charlie -> bravo) only helps after that swap. The engine used to plan
    // all three, drop the swap while ordering and run vm 198 alone: 0.1994 -> 0.2230.
    snapshot_builder b;
    b.node("alpha", 64, 64 * GiB, 0.05, static_cast<std::uint64_t>(52.5 * GiB));
    b.node("bravo", 24, 64 * GiB, 0.72, 44 * GiB);
    b.node("charlie", 24, 64 * GiB, 0.37, static_cast<std::uint64_t>(50.75 * GiB));
    b.guest(140, "alpha", 2, 24 * GiB, 0.1, 19 * GiB);
    b.guest(318, "bravo", 16, 16 * GiB, 0.96, 15 * GiB, "lxc");
    b.guest(198, "charlie", 2, 4 * GiB, 0.9, static_cast<std::uint64_t>(1.5 * GiB));
    b.extra()["options"]["allow-container-restart"] = true;
    const snapshot s = load(b.json());
    const plan p = plan_balance(s.c, s.opts);
    BOOST_TEST(p.dropped.empty());
    const std::vector<std::string> errors = check_balance(s, p);
    BOOST_TEST(errors.empty(), join(errors, "; "));
}

BOOST_AUTO_TEST_SUITE_END()
