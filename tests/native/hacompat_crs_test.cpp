// Tests for the upstream-compatible scheduler (pvebal/hacompat.h): pve-ha-manager 5.2.0
// simulator scenarios (src/test/test-crs-*), re-expressed as the calls the HA manager makes in
// the round where it decides, checking the node it picks and the imbalance it logs ("%.2f").
// Those logs predate the normalised imbalance, so these use normalize_imbalance = false.
// docs/dev/upstream-crs.md lists them. Numbers and error paths: hacompat_test.cpp.
#include "support/hacompat_common.h"

#include "pvebal/hacompat.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <vector>

using namespace pvebal::hacompat;
using namespace pvebal::hacompat::test;
namespace tt = boost::test_tools;

namespace {

// --- simulator-like fixtures ----------------------------------------------------------------

struct hw_node {
    std::string name;
    std::uint64_t maxcpu;
    std::uint64_t maxmem;
};

struct guest {
    std::string sid;
    std::string node;
    double maxcpu;
    std::uint64_t maxmem;
    double cpu = 0.0; // dynamic usage; unused in static mode
    std::uint64_t mem = 0;
};

std::vector<hw_node> three_nodes(std::uint64_t maxcpu, std::uint64_t maxmem) {
    return {{"node1", maxcpu, maxmem}, {"node2", maxcpu, maxmem}, {"node3", maxcpu, maxmem}};
}

guest &find_guest(std::vector<guest> &gs, const std::string &sid) {
    auto it = std::find_if(gs.begin(), gs.end(), [&](const guest &g) { return g.sid == sid; });
    BOOST_REQUIRE(it != gs.end());
    return *it;
}

void set_dynamic(std::vector<guest> &gs, const std::string &sid, double cpu, std::uint64_t mem) {
    guest &g = find_guest(gs, sid);
    g.cpu = cpu;
    g.mem = mem;
}

void set_static(std::vector<guest> &gs, const std::string &sid, double maxcpu,
                std::uint64_t maxmem) {
    guest &g = find_guest(gs, sid);
    g.maxcpu = maxcpu;
    g.maxmem = maxmem;
}

// Dynamic mode in a round where every guest is started, running and stationary: node usage is
// the sum of the guests running there (as the simulator reports it) and every guest is added as
// a running resource.
scheduler dynamic_round(const std::vector<hw_node> &hw, const std::vector<guest> &gs) {
    scheduler s(kind::dynamic_usage, raw_cv);
    for (const hw_node &n : hw) {
        node_stats stats{0.0, n.maxcpu, 0, n.maxmem};
        for (const guest &g : gs) {
            if (g.node == n.name) {
                stats.cpu += g.cpu;
                stats.mem += g.mem;
            }
        }
        require_ok(s.add_node(n.name, stats));
    }
    for (const guest &g : gs) {
        require_ok(s.add_resource(g.sid, {g.cpu, g.maxcpu, g.mem, g.maxmem}, true, g.node));
    }
    return s;
}

// Static mode: nodes only know their capacity, guests count with their configured maximum.
scheduler static_round(const std::vector<hw_node> &hw, const std::vector<guest> &gs) {
    scheduler s(kind::static_usage, raw_cv);
    for (const hw_node &n : hw) {
        require_ok(s.add_static_node(n.name, n.maxcpu, n.maxmem));
    }
    for (const guest &g : gs) {
        require_ok(s.add_resource(g.sid, static_service_stats(g.maxcpu, g.maxmem), true, g.node));
    }
    return s;
}

// One bundle per guest, allowed on every other node (no HA rules).
std::vector<compact_candidate> unconstrained_candidates(const scheduler &s,
                                                        const std::vector<guest> &gs) {
    std::vector<compact_candidate> out;
    for (const guest &g : gs) {
        compact_candidate c{g.sid, {g.sid}, {}};
        for (const std::string &n : s.list_nodes()) {
            if (n != g.node) {
                c.nodes.push_back(n);
            }
        }
        out.push_back(c);
    }
    return out;
}

enum class method { bruteforce, topsis };

struct balance_round {
    double imbalance = 0.0;
    std::optional<scored_migration> best;
    bool migrates = false;
};

// Manager::load_balance once the hold duration has passed: threshold 0.3, margin 0.1.
balance_round load_balance(const scheduler &s, const std::vector<compact_candidate> &candidates,
                           method m) {
    balance_round r;
    r.imbalance = s.node_imbalance();
    auto ranked = m == method::bruteforce ? s.score_best_balancing_migrations(candidates, 1)
                                          : s.score_best_balancing_migrations_topsis(candidates, 1);
    BOOST_REQUIRE_MESSAGE(ranked.has_value(), (ranked ? std::string() : ranked.error()));
    if (!ranked->empty()) {
        r.best = ranked->front();
        r.migrates = r.imbalance > 0.3 && (r.imbalance - r.best->imbalance) / r.imbalance >= 0.1;
    }
    return r;
}

void check_migration(const balance_round &r, const std::string &sid, const std::string &target,
                     const std::string &from, const std::string &to) {
    BOOST_REQUIRE(r.best.has_value());
    BOOST_TEST(r.best->mig.sid == sid);
    BOOST_TEST(r.best->mig.target_node == target);
    BOOST_TEST(two_decimals(r.imbalance) == from);
    BOOST_TEST(two_decimals(r.best->imbalance) == to);
    BOOST_TEST(r.migrates);
}

// The end of select_service_node: the highest score wins, ties go to the first name.
std::string best_node(const scheduler &s, const service_stats &r) {
    auto scores = s.score_nodes_to_start(r);
    BOOST_REQUIRE_MESSAGE(scores.has_value(), (scores ? std::string() : scores.error()));
    BOOST_REQUIRE(!scores->empty());
    auto best = scores->front();
    for (const auto &entry : *scores) {
        if (entry.second > best.second ||
            (entry.second == best.second && entry.first < best.first)) {
            best = entry;
        }
    }
    return best.first;
}

// test-crs-dynamic-auto-rebalance3/4 and -topsis3/4: seven guests on 24-core, 48 GiB nodes.
std::vector<guest> seven_guests() {
    return {
        {"vm:101", "node1", 8.0, 8 * GiB, 0.9, 5444206592},
        {"vm:102", "node1", 8.0, 8 * GiB, 1.2, 2621440000},
        {"vm:103", "node2", 4.0, 8 * GiB, 0.8, 5444206592},
        {"vm:104", "node2", 8.0, 8 * GiB, 0.9, 2621440000},
        {"vm:105", "node3", 8.0, 8 * GiB, 3.0, 805306368},
        {"vm:106", "node3", 6.0, 8 * GiB, 2.9, 1612709888},
        {"vm:107", "node3", 6.0, 8 * GiB, 2.1, 1612709888},
    };
}

void spike_on_node3(std::vector<guest> &gs) { // the cmdlist's second batch
    set_dynamic(gs, "vm:105", 7.8, 7912 * MiB);
    set_dynamic(gs, "vm:106", 5.7, 8192 * MiB);
    set_dynamic(gs, "vm:107", 6.0, 8011 * MiB);
}

void shift_load(std::vector<guest> &gs) { // the cmdlist's third batch
    set_dynamic(gs, "vm:101", 0.9, 1011 * MiB);
    set_dynamic(gs, "vm:103", 3.9, 6517 * MiB);
    set_dynamic(gs, "vm:104", 6.7, 8001 * MiB);
    set_dynamic(gs, "vm:105", 1.8, 1201 * MiB);
    set_dynamic(gs, "vm:106", 2.1, 1211 * MiB);
    set_dynamic(gs, "vm:107", 0.9, 1191 * MiB);
}

} // namespace

BOOST_AUTO_TEST_SUITE(hacompat)

// ============================================================================================
// pve-ha-manager 5.2.0 simulator scenarios (src/test/test-crs-*)
// ============================================================================================

BOOST_AUTO_TEST_CASE(crs_auto_rebalance_single_guest_is_left_alone) {
    // test-crs-{dynamic,static}-auto-rebalance1 and -dynamic-auto-rebalance-topsis1: one guest
    // puts all load on node1 (CV 1.41 > 0.3), but no move can improve on that.
    std::vector<guest> gs{{"vm:101", "node1", 2.0, 8 * GiB, 1.0, 4 * GiB}};
    const auto hw = three_nodes(4, 16 * GiB);
    for (method m : {method::bruteforce, method::topsis}) {
        scheduler s = dynamic_round(hw, gs);
        balance_round r = load_balance(s, unconstrained_candidates(s, gs), m);
        BOOST_TEST(two_decimals(r.imbalance) == "1.41");
        BOOST_REQUIRE(r.best.has_value());
        BOOST_TEST(two_decimals(r.best->imbalance) == "1.41");
        BOOST_TEST(!r.migrates);
    }
    scheduler st = static_round(hw, gs);
    balance_round r = load_balance(st, unconstrained_candidates(st, gs), method::bruteforce);
    BOOST_TEST(two_decimals(r.imbalance) == "1.41");
    BOOST_TEST(!r.migrates);

    // test-crs-dynamic-auto-rebalance0: no guests, nothing to do.
    scheduler empty = dynamic_round(hw, {});
    BOOST_TEST(empty.node_imbalance() == 0.0);
}

BOOST_AUTO_TEST_CASE(crs_auto_rebalance_spreads_identical_guests) {
    // test-crs-dynamic-auto-rebalance2, -dynamic-auto-rebalance-topsis2 and
    // -static-auto-rebalance2: four identical guests on node1 of three equal nodes.
    //   80: migrate vm:101 to node2 (1.41 -> 0.94)   160: migrate vm:102 to node3 (0.94 -> 0.35)
    // then nothing (every move keeps 0.35).
    const auto hw = three_nodes(24, 32 * GiB);
    for (int variant = 0; variant < 3; ++variant) {
        std::vector<guest> gs;
        for (const char *sid : {"vm:101", "vm:102", "vm:103", "vm:104"}) {
            gs.push_back({sid, "node1", 2.0, 8 * GiB, 1.0, 4 * GiB});
        }
        const method m = variant == 1 ? method::topsis : method::bruteforce;
        auto round = [&] { return variant == 2 ? static_round(hw, gs) : dynamic_round(hw, gs); };
        BOOST_TEST_CONTEXT("variant " << variant) {
            scheduler s1 = round();
            check_migration(load_balance(s1, unconstrained_candidates(s1, gs), m), "vm:101",
                            "node2", "1.41", "0.94");
            find_guest(gs, "vm:101").node = "node2";
            scheduler s2 = round();
            check_migration(load_balance(s2, unconstrained_candidates(s2, gs), m), "vm:102",
                            "node3", "0.94", "0.35");
            find_guest(gs, "vm:102").node = "node3";
            scheduler s3 = round();
            balance_round last = load_balance(s3, unconstrained_candidates(s3, gs), m);
            BOOST_TEST(two_decimals(last.imbalance) == "0.35");
            BOOST_TEST(!last.migrates);
        }
    }
}

BOOST_AUTO_TEST_CASE(crs_dynamic_auto_rebalance_bruteforce_follows_changing_load) {
    // test-crs-dynamic-auto-rebalance3.
    const auto hw = three_nodes(24, 48 * GiB);
    std::vector<guest> gs = seven_guests();
    {
        scheduler s = dynamic_round(hw, gs);
        BOOST_TEST(s.node_imbalance() <= 0.3); // quiet before the spike
    }
    spike_on_node3(gs);
    scheduler s1 = dynamic_round(hw, gs);
    check_migration(load_balance(s1, unconstrained_candidates(s1, gs), method::bruteforce),
                    "vm:105", "node2", "0.85", "0.42");
    find_guest(gs, "vm:105").node = "node2";
    shift_load(gs);
    scheduler s2 = dynamic_round(hw, gs);
    check_migration(load_balance(s2, unconstrained_candidates(s2, gs), method::bruteforce),
                    "vm:103", "node1", "0.81", "0.40");
    find_guest(gs, "vm:103").node = "node1";
    scheduler s3 = dynamic_round(hw, gs);
    check_migration(load_balance(s3, unconstrained_candidates(s3, gs), method::bruteforce),
                    "vm:105", "node3", "0.40", "0.21");
    find_guest(gs, "vm:105").node = "node3";
    scheduler s4 = dynamic_round(hw, gs);
    BOOST_TEST(s4.node_imbalance() <= 0.3);
}

BOOST_AUTO_TEST_CASE(crs_dynamic_auto_rebalance_topsis_follows_changing_load) {
    // test-crs-dynamic-auto-rebalance-topsis3: same input, TOPSIS picks differently later on.
    const auto hw = three_nodes(24, 48 * GiB);
    std::vector<guest> gs = seven_guests();
    spike_on_node3(gs);
    scheduler s1 = dynamic_round(hw, gs);
    check_migration(load_balance(s1, unconstrained_candidates(s1, gs), method::topsis), "vm:105",
                    "node2", "0.85", "0.42");
    find_guest(gs, "vm:105").node = "node2";
    shift_load(gs);
    scheduler s2 = dynamic_round(hw, gs);
    check_migration(load_balance(s2, unconstrained_candidates(s2, gs), method::topsis), "vm:103",
                    "node3", "0.81", "0.43");
    find_guest(gs, "vm:103").node = "node3";
    scheduler s3 = dynamic_round(hw, gs);
    check_migration(load_balance(s3, unconstrained_candidates(s3, gs), method::topsis), "vm:105",
                    "node1", "0.43", "0.24");
    find_guest(gs, "vm:105").node = "node1";
    scheduler s4 = dynamic_round(hw, gs);
    BOOST_TEST(s4.node_imbalance() <= 0.3);
}

BOOST_AUTO_TEST_CASE(crs_dynamic_auto_rebalance_transient_spike) {
    // test-crs-dynamic-auto-rebalance4 / -topsis4: the spike exceeds the threshold, the load
    // then drops back below it before the hold duration (6 rounds) is over.
    const auto hw = three_nodes(24, 48 * GiB);
    std::vector<guest> gs = seven_guests();
    spike_on_node3(gs);
    BOOST_TEST(two_decimals(dynamic_round(hw, gs).node_imbalance()) == "0.85");
    set_dynamic(gs, "vm:105", 3.0, 768 * MiB);
    set_dynamic(gs, "vm:106", 2.9, 1538 * MiB);
    set_dynamic(gs, "vm:107", 2.1, 1538 * MiB);
    BOOST_TEST(dynamic_round(hw, gs).node_imbalance() <= 0.3);
}

BOOST_AUTO_TEST_CASE(crs_dynamic_constrained_node_affinity) {
    // test-crs-dynamic-constrained-auto-rebalance1: vm:101..103 are pinned to node1 by a strict
    // node affinity rule, so only the later vm:104 is a candidate.
    const auto hw = three_nodes(24, 48 * GiB);
    std::vector<guest> gs{
        {"vm:101", "node1", 8.0, 8 * GiB, 0.9, 2621440000},
        {"vm:102", "node1", 8.0, 8 * GiB, 7.9, 8589934592},
        {"vm:103", "node1", 8.0, 8 * GiB, 4.7, 5242880000},
        {"vm:104", "node1", 8.0, 8192 * MiB, 4.0, 4096 * MiB},
    };
    scheduler s = dynamic_round(hw, gs);
    std::vector<compact_candidate> candidates{{"vm:104", {"vm:104"}, {"node2", "node3"}}};
    check_migration(load_balance(s, candidates, method::bruteforce), "vm:104", "node2", "1.41",
                    "0.98");
}

BOOST_AUTO_TEST_CASE(crs_dynamic_constrained_positive_affinity_bundle) {
    // test-crs-dynamic-constrained-auto-rebalance2: vm:101 and vm:102 must stay together and
    // move as one bundle led by vm:101; the bundle moves first.
    const auto hw = three_nodes(24, 48 * GiB);
    std::vector<guest> gs{
        {"vm:101", "node1", 8.0, 8 * GiB, 0.9, 2621440000},
        {"vm:102", "node1", 8.0, 8 * GiB, 7.9, 8589934592},
        {"vm:103", "node1", 8.0, 8192 * MiB, 4.0, 4096 * MiB},
    };
    scheduler s = dynamic_round(hw, gs);
    std::vector<compact_candidate> candidates{
        {"vm:101", {"vm:101", "vm:102"}, {"node2", "node3"}},
        {"vm:103", {"vm:103"}, {"node2", "node3"}},
    };
    check_migration(load_balance(s, candidates, method::bruteforce), "vm:101", "node2", "1.41",
                    "0.86");
}

BOOST_AUTO_TEST_CASE(crs_dynamic_constrained_bundle_after_pending_move) {
    // test-crs-dynamic-constrained-auto-rebalance3: once vm:101 has joined vm:103 on node1,
    //   60: migrate vm:102 to node2 (1.41 -> 0.72)
    //  100: migrate vm:101 (+ vm:103) to node3 (0.72 -> 0.27)
    const auto hw = three_nodes(24, 48 * GiB);
    std::vector<guest> gs{
        {"vm:101", "node1", 8.0, 8 * GiB, 0.9, 2621440000},
        {"vm:102", "node1", 8.0, 8 * GiB, 7.9, 8589934592},
        {"vm:103", "node1", 8.0, 8 * GiB, 4.7, 5242880000},
        {"vm:104", "node1", 8.0, 8 * GiB, 4.0, 4294967296},
    };
    auto candidates = [&](const scheduler &s) {
        std::vector<compact_candidate> out{{"vm:101", {"vm:101", "vm:103"}, {}}};
        for (const char *sid : {"vm:102", "vm:104"}) {
            out.push_back({sid, {sid}, {}});
        }
        for (compact_candidate &c : out) {
            for (const std::string &n : s.list_nodes()) {
                if (n != find_guest(gs, c.leader).node) {
                    c.nodes.push_back(n);
                }
            }
        }
        return out;
    };
    scheduler s1 = dynamic_round(hw, gs);
    check_migration(load_balance(s1, candidates(s1), method::bruteforce), "vm:102", "node2", "1.41",
                    "0.72");
    find_guest(gs, "vm:102").node = "node2";
    scheduler s2 = dynamic_round(hw, gs);
    check_migration(load_balance(s2, candidates(s2), method::bruteforce), "vm:101", "node3", "0.72",
                    "0.27");
}

BOOST_AUTO_TEST_CASE(crs_dynamic_constrained_negative_affinity) {
    // test-crs-dynamic-constrained-auto-rebalance4: vm:103 (node2) must stay apart from vm:101
    // and vm:102 (node1), so those may only go to node3.
    //   80: migrate vm:101 to node3 (1.04 -> 0.72)   160: migrate vm:104 to node2 (0.72 -> 0.33)
    const auto hw = three_nodes(24, 48 * GiB);
    std::vector<guest> gs{
        {"vm:101", "node1", 8.0, 8 * GiB, 0.9, 4294967296},
        {"vm:102", "node1", 8.0, 8 * GiB, 2.4, 2621440000},
        {"vm:103", "node2", 8.0, 8 * GiB, 0.0, 0},
        {"vm:104", "node3", 8.0, 8 * GiB, 1.0, 1073741824},
    };
    scheduler s1 = dynamic_round(hw, gs);
    check_migration(load_balance(s1,
                                 {{"vm:101", {"vm:101"}, {"node3"}},
                                  {"vm:102", {"vm:102"}, {"node3"}},
                                  {"vm:103", {"vm:103"}, {"node3"}},
                                  {"vm:104", {"vm:104"}, {"node1", "node2"}}},
                                 method::bruteforce),
                    "vm:101", "node3", "1.04", "0.72");
    find_guest(gs, "vm:101").node = "node3";
    scheduler s2 = dynamic_round(hw, gs);
    check_migration(load_balance(s2,
                                 {{"vm:101", {"vm:101"}, {"node1"}},
                                  {"vm:102", {"vm:102"}, {"node3"}},
                                  {"vm:104", {"vm:104"}, {"node1", "node2"}}},
                                 method::bruteforce),
                    "vm:104", "node2", "0.72", "0.33");
}

BOOST_AUTO_TEST_CASE(crs_static_auto_rebalance_follows_config_changes) {
    // test-crs-static-auto-rebalance3: static usage, guests' configured sizes change over time.
    //  160: vm:105 to node1 (0.88 -> 0.47)   240: vm:106 to node2 (0.91 -> 0.42)
    //  320: vm:103 to node1 (0.42 -> 0.31)   400: vm:104 to node1 (0.31 -> 0.20)
    const auto hw = three_nodes(24, 48 * GiB);
    std::vector<guest> gs{
        {"vm:101", "node1", 2.0, 2 * GiB}, {"vm:102", "node1", 2.0, 2 * GiB},
        {"vm:103", "node2", 2.0, 2 * GiB}, {"vm:104", "node2", 2.0, 2 * GiB},
        {"vm:105", "node3", 2.0, 2 * GiB}, {"vm:106", "node3", 2.0, 2 * GiB},
        {"vm:107", "node3", 2.0, 2 * GiB},
    };
    for (const char *sid : {"vm:105", "vm:106", "vm:107"}) {
        set_static(gs, sid, 8.0, 8192 * MiB);
    }
    auto step = [&](const char *sid, const char *target, const char *from, const char *to) {
        scheduler s = static_round(hw, gs);
        check_migration(load_balance(s, unconstrained_candidates(s, gs), method::bruteforce), sid,
                        target, from, to);
        find_guest(gs, sid).node = target;
    };
    step("vm:105", "node1", "0.88", "0.47");
    for (const char *sid : {"vm:101", "vm:102", "vm:103", "vm:104", "vm:105"}) {
        set_static(gs, sid, 1.0, 1024 * MiB);
    }
    step("vm:106", "node2", "0.91", "0.42");
    step("vm:103", "node1", "0.42", "0.31"); // vm:103 and vm:104 tie; the sid decides
    step("vm:104", "node1", "0.31", "0.20");
    BOOST_TEST(static_round(hw, gs).node_imbalance() <= 0.3);
}

BOOST_AUTO_TEST_CASE(crs_static_recovery_and_shutdown_placement) {
    // test-crs-static1: node1 fails; vm:102 is recovered to the node with the most room.
    {
        scheduler s(kind::static_usage, raw_cv);
        require_ok(s.add_static_node("node2", 32, 200000000000));
        require_ok(s.add_static_node("node3", 32, 300000000000));
        BOOST_TEST(best_node(s, static_service_stats(2, 4000000000)) == "node3");
    }
    // test-crs-static3: node1 shuts down with policy migrate; node2 has twice node3's size,
    // so nine equal guests go node2, node2, node3, ... Each choice is accounted before the
    // next (the guest is 'migrate' with only its target online).
    {
        scheduler s(kind::static_usage, raw_cv);
        require_ok(s.add_static_node("node2", 64, 200000000000));
        require_ok(s.add_static_node("node3", 32, 100000000000));
        std::vector<std::string> chosen;
        for (int i = 1; i <= 9; ++i) {
            const std::string sid = "vm:10" + std::to_string(i);
            const service_stats r = static_service_stats(2, 4000000000);
            chosen.push_back(best_node(s, r));
            require_ok(s.add_resource(sid, r, false, chosen.back()));
        }
        BOOST_TEST(chosen == (names{"node2", "node2", "node3", "node2", "node2", "node3", "node2",
                                    "node2", "node3"}),
                   tt::per_element());
    }
    // test-crs-static4: ct:101 has no CPU limit (maxcpu 0 = a whole node) and lots of memory:
    // it goes to node2 (a tie, broken by name), every other container to node3.
    {
        scheduler s(kind::static_usage, raw_cv);
        require_ok(s.add_static_node("node2", 32, 100000000000));
        require_ok(s.add_static_node("node3", 32, 100000000000));
        const service_stats big = static_service_stats(0, 40000000000);
        auto scores = s.score_nodes_to_start(big);
        BOOST_REQUIRE(scores.has_value());
        BOOST_TEST((*scores)[0].second == (*scores)[1].second);
        BOOST_TEST(best_node(s, big) == "node2");
        require_ok(s.add_resource("ct:101", big, false, "node2"));
        BOOST_TEST(s.snapshot(aggregator::started).nodes()[0].stats.cpu == 32.0);
        for (int i = 2; i <= 9; ++i) {
            const std::string sid = "ct:10" + std::to_string(i);
            const service_stats r = static_service_stats(2, 2000000000);
            BOOST_TEST(best_node(s, r) == "node3");
            require_ok(s.add_resource(sid, r, false, "node3"));
        }
    }
    // test-crs-static5: node3 has four times the CPUs; all six small containers go there.
    {
        scheduler s(kind::static_usage, raw_cv);
        require_ok(s.add_static_node("node2", 32, 100000000000));
        require_ok(s.add_static_node("node3", 128, 100000000000));
        require_ok(s.add_resource("ct:102", static_service_stats(0.5, 40000000000), true, "node2"));
        require_ok(s.add_resource("ct:103", static_service_stats(0.5, 200000000), true, "node3"));
        for (int i = 4; i <= 9; ++i) {
            const std::string sid = "ct:10" + std::to_string(i);
            const service_stats r = static_service_stats(0.5, 200000000);
            BOOST_TEST(best_node(s, r) == "node3");
            require_ok(s.add_resource(sid, r, false, "node3"));
        }
    }
}

BOOST_AUTO_TEST_CASE(crs_static_rebalance_on_start) {
    // test-crs-static-rebalance2: guests added one by one on node2 with ha-rebalance-on-start.
    // vm:100 and vm:102 are already running, so they stay on node2 although another node was
    // selected; vm:101 and vm:103 start where they were sent.
    std::vector<std::pair<std::string, std::string>> placed; // sid, node
    auto round = [&] {
        scheduler s(kind::static_usage, raw_cv);
        require_ok(s.add_static_node("node1", 40, 384000000000));
        require_ok(s.add_static_node("node2", 32, 256000000000));
        require_ok(s.add_static_node("node3", 32, 256000000000));
        for (const auto &[sid, node] : placed) {
            std::uint64_t mem = sid == "vm:100"   ? 536870912
                                : sid == "vm:101" ? 1073741824
                                                  : 1610612736;
            require_ok(s.add_resource(sid, static_service_stats(2, mem), true, node));
        }
        return s;
    };
    BOOST_TEST(best_node(round(), static_service_stats(2, 536870912)) == "node1");
    placed.emplace_back("vm:100", "node2");
    BOOST_TEST(best_node(round(), static_service_stats(2, 1073741824)) == "node1");
    placed.emplace_back("vm:101", "node1");
    BOOST_TEST(best_node(round(), static_service_stats(2, 1610612736)) == "node3");
    placed.emplace_back("vm:102", "node2");
    BOOST_TEST(best_node(round(), static_service_stats(2, 2147483648)) == "node3");
}

BOOST_AUTO_TEST_CASE(crs_dynamic_start_and_recovery_placement) {
    // test-crs-dynamic1: vm:102 recovered from failed node1 to the node with the most memory.
    {
        scheduler s(kind::dynamic_usage, raw_cv);
        require_ok(s.add_node("node2", {0.0, 32, 0, 200000000000}));
        require_ok(s.add_node("node3", {0.0, 32, 0, 300000000000}));
        BOOST_TEST(best_node(s, {5.9, 8, 2744123392, 4 * GiB}) == "node3");
    }
    // test-crs-dynamic-rebalance1: five guests requested on node3 with rebalance-on-start; the
    // nodes are idle, and each choice counts as a starting guest (its maximum) for the next:
    // node1, node2, node3 (stays), node1, node2.
    const std::vector<guest> five{
        {"vm:101", "node3", 8, 4 * GiB, 1.3, 1073741824},
        {"vm:102", "node3", 8, 4 * GiB, 5.6, 3221225472},
        {"vm:103", "node3", 8, 4 * GiB, 0.5, 4000000000},
        {"vm:104", "node3", 8, 4 * GiB, 7.9, 2147483648},
        {"vm:105", "node3", 8, 4 * GiB, 3.2, 2684354560},
    };
    {
        scheduler s(kind::dynamic_usage, raw_cv);
        for (const hw_node &n : three_nodes(32, 256000000000)) {
            require_ok(s.add_node(n.name, {0.0, n.maxcpu, 0, n.maxmem}));
        }
        std::vector<std::string> chosen;
        for (const guest &g : five) {
            const service_stats r{g.cpu, g.maxcpu, g.mem, g.maxmem};
            chosen.push_back(best_node(s, r));
            require_ok(s.add_resource(g.sid, r, false, chosen.back()));
        }
        BOOST_TEST(chosen == (names{"node1", "node2", "node3", "node1", "node2"}),
                   tt::per_element());
    }
    // 240: node3 is fenced; vm:103 is recovered next to the running guests, to node1.
    {
        std::vector<guest> running{five[0], five[1], five[3], five[4]};
        running[0].node = running[2].node = "node1";
        running[1].node = running[3].node = "node2";
        scheduler s =
            dynamic_round({{"node1", 32, 256000000000}, {"node2", 32, 256000000000}}, running);
        BOOST_TEST(best_node(s, {0.5, 8, 4000000000, 4 * GiB}) == "node1");
    }
}

BOOST_AUTO_TEST_SUITE_END()
