#include "test_util.h"

#include "pvebal/scoring.h"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <random>
#include <string>

using namespace pvebal;
using namespace pvebal::test;
namespace tt = boost::test_tools;

BOOST_AUTO_TEST_SUITE(scoring)

BOOST_AUTO_TEST_CASE(pve_imbalance_matches_proxmox_definition) {
    // One loaded node of three: CV = sqrt(2) (what HA 5.2.0 logs print as 1.41), / sqrt(2) = 1.
    BOOST_TEST(pve_imbalance({1, 0, 0}) == 1.0, tt::tolerance(1e-12));
    BOOST_TEST(pve_imbalance({0.5, 0.5, 0.5}) == 0.0, tt::tolerance(1e-12));
    BOOST_TEST(pve_imbalance({0, 0}) == 0.0);
    BOOST_TEST(pve_imbalance({0.7}) == 0.0);
    // loads 0.2, 0.4: mean 0.3, sd 0.1, CV 1/3, n-1 = 1
    BOOST_TEST(pve_imbalance({0.2, 0.4}) == 1.0 / 3.0, tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(objective_sees_what_the_averaged_load_hides) {
    // n1: memory full, CPU idle; n2: the mirror image. PVE's averaged load is equal.
    snapshot_builder b;
    b.node("n1", 10, 100 * GiB, 0.0, 95 * GiB).node("n2", 10, 100 * GiB, 0.95, 0);
    snapshot s = b.build();
    options o;
    load_view v = make_load_view(s.c, o.mode);
    metrics m = compute_metrics(s.c, v, o);
    BOOST_TEST(m.pve_imbalance == 0.0, tt::tolerance(1e-12));
    BOOST_TEST(m.stats[dimension::memory].spread == 0.95, tt::tolerance(1e-9));
    BOOST_TEST(m.stats[dimension::cpu].max == 0.95, tt::tolerance(1e-9));
    BOOST_TEST(m.objective > 0.4);
}

BOOST_AUTO_TEST_CASE(objective_definition) {
    snapshot_builder b;
    b.node("n1", 10, 100 * GiB, 0.9, 50 * GiB).node("n2", 10, 100 * GiB, 0.1, 50 * GiB);
    snapshot s = b.build();
    options o; // theta 0.8, p 10, equal weights
    load_view v = make_load_view(s.c, o.mode);
    // cpu: var = 0.16, pressure mean = (0.1^2)/2 = 0.005 -> 0.16 + 0.05; mem: 0
    const double j = (0.16 + 10 * 0.005 + 0) / 2;
    BOOST_TEST(objective_state(s.c, v, o).value() == std::sqrt(j), tt::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(incremental_objective_matches_a_fresh_computation) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.8, 40 * GiB).node("n2", 8, 32 * GiB, 0.1, 4 * GiB);
    b.node("n3", 32, 128 * GiB, 0.3, 30 * GiB).node("n4", 8, 32 * GiB, 0, 0, false);
    b.guest(100, "n1", 4, 8 * GiB, 0.9, 6 * GiB);
    b.guest(101, "n1", 2, 4 * GiB, 0.5, 3 * GiB);
    b.guest(102, "n3", 8, 16 * GiB, 0.4, 10 * GiB);
    snapshot s = b.build();
    options o;
    load_view v = make_load_view(s.c, o.mode);
    objective_state st(s.c, v, o);
    const std::pair<guest_id, node_id> moves[] = {{0, 1}, {2, 1}, {1, 2}, {0, 3}};
    for (auto [g, to] : moves) {
        const double predicted = st.j_after(v.placement[g], to, v.demand[g]);
        st.apply(v.placement[g], to, v.demand[g]);
        v.move(g, to);
        objective_state fresh(s.c, v, o);
        BOOST_TEST(predicted == fresh.j(), tt::tolerance(1e-9));
        BOOST_TEST(st.j() == fresh.j(), tt::tolerance(1e-9));
    }
}

BOOST_AUTO_TEST_CASE(inactive_nodes_do_not_count) {
    snapshot_builder b;
    b.node("n1", 8, 32 * GiB, 0.5, 16 * GiB).node("n2", 8, 32 * GiB, 0.5, 16 * GiB);
    b.node("n3", 8, 32 * GiB, 0, 0, false);
    snapshot s = b.build();
    options o;
    metrics m = compute_metrics(s.c, make_load_view(s.c, o.mode), o);
    BOOST_TEST(m.pve_imbalance == 0.0, tt::tolerance(1e-12));
    BOOST_TEST(m.stats[dimension::cpu].min == 0.5, tt::tolerance(1e-12));
    BOOST_TEST(!m.nodes[2].active);
}

// The balance search skips a unit when this floor says no target can be good enough: it must
// never be above the J of any real arrival (random clusters, pressure and PSI on, some nodes
// inactive, capacities unequal).
BOOST_AUTO_TEST_CASE(arrival_floor_is_below_every_arrival) {
    std::mt19937 rng(17);
    std::uniform_real_distribution<double> frac(0.0, 1.0);
    int checked = 0;
    for (int round = 0; round < 40; ++round) {
        snapshot_builder b;
        const int nodes = 2 + round % 7;
        for (int n = 0; n < nodes; ++n) {
            const double cpus = 4 + 4 * (n % 4);
            const std::uint64_t mem = static_cast<std::uint64_t>(16 + 16 * ((n + round) % 3)) * GiB;
            const bool online = n == 0 || frac(rng) > 0.15;
            b.node("n" + std::to_string(n), cpus, mem, 0.95 * frac(rng),
                   static_cast<std::uint64_t>(0.9 * frac(rng) * static_cast<double>(mem)), online);
            if (round % 2 == 1 && frac(rng) > 0.5) {
                b.extra()["nodes"]["n" + std::to_string(n)]["pressure"]["cpu-some"] =
                    40.0 * frac(rng);
            }
        }
        for (std::uint32_t v = 100; v < 112; ++v) {
            b.guest(v, "n" + std::to_string(static_cast<int>(v) % nodes), 1 + v % 4,
                    (2 + v % 8) * GiB, frac(rng), (1 + v % 2) * GiB);
        }
        snapshot s = b.build();
        options o = s.opts;
        o.pressure_threshold = 0.3 + 0.5 * frac(rng);
        const load_view v = make_load_view(s.c, o.mode);
        const objective_state st(s.c, v, o);
        const objective_state::arrival_floor f = st.floor_of_arrivals();
        BOOST_TEST_REQUIRE(f.usable);
        for (guest_id g = 0; g < s.c.guests.size(); ++g) {
            for (double scale : {1.0, 10.0}) {
                res d = v.demand[g];
                for (double &x : d.v) {
                    x *= scale;
                }
                const auto dep = st.leave(v.placement[g], d);
                const std::optional<double> floor = st.j_arrive_floor(f, dep);
                BOOST_TEST_REQUIRE(floor.has_value());
                for (node_id n = 0; n < s.c.nodes.size(); ++n) {
                    BOOST_TEST(*floor <= st.j_arrive(dep, n) + 1e-12);
                    ++checked;
                }
            }
        }
    }
    BOOST_TEST(checked > 1000);
}

BOOST_AUTO_TEST_SUITE_END()
