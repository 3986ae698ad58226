// Tests for the capacity-aware HA scheduler mode (src/hacompat/capacity_aware.h): its imbalance is
// on HA's scale (the same value as upstream where CPU and memory load are proportional, the
// per-resource spread where they are not), its balancing never overfills a target, and the
// engine options reach it.
#include "hacompat/capacity_aware.h"
#include "pvebal/constraints.h"
#include "pvebal/hacompat.h"
#include "pvebal/io.h"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

using namespace pvebal::hacompat;
namespace ca = pvebal::hacompat::capacity_aware;

namespace {

constexpr std::uint64_t GiB = 1024ull * 1024 * 1024;

std::vector<node_usage> nodes_of(std::vector<node_stats> stats) {
    std::vector<node_usage> out;
    for (std::size_t i = 0; i < stats.size(); ++i) {
        out.push_back({"node" + std::to_string(i + 1), stats[i]});
    }
    return out;
}

double upstream(const std::vector<node_usage> &nodes, bool normalize) {
    return cluster_snapshot(nodes, scheduler_options{.normalize_imbalance = normalize})
        .node_imbalance();
}

} // namespace

BOOST_AUTO_TEST_SUITE(hacompat_capacity_aware)

// Where every node's memory utilisation is k times its CPU utilisation, the pooled per-resource
// CV equals upstream's CV of the averaged load, on both scales (random clusters).
BOOST_AUTO_TEST_CASE(proportional_load_gives_upstreams_imbalance) {
    std::mt19937_64 rng(20261206);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const std::uint64_t cpus[] = {8, 16, 32, 64};
    const std::uint64_t mems[] = {32 * GiB, 64 * GiB, 256 * GiB};
    const ca::settings cfg = ca::default_settings();
    for (int iter = 0; iter < 500; ++iter) {
        const double k = 0.2 + 3.0 * unit(rng);
        std::vector<node_stats> stats;
        const int n = 2 + static_cast<int>(unit(rng) * 9);
        for (int i = 0; i < n; ++i) {
            const std::uint64_t maxcpu = cpus[rng() % 4];
            const std::uint64_t maxmem = mems[rng() % 3];
            const double u = unit(rng) * std::min(1.0, 1.0 / k);
            stats.push_back({u * static_cast<double>(maxcpu), maxcpu,
                             static_cast<std::uint64_t>(k * u * static_cast<double>(maxmem)),
                             maxmem});
        }
        const auto nodes = nodes_of(stats);
        for (bool normalize : {false, true}) {
            const double want = upstream(nodes, normalize);
            const double got = ca::ha_imbalance(nodes, cfg, normalize);
            // memory is an integer number of bytes: equal up to that rounding
            BOOST_TEST(got == want, boost::test_tools::tolerance(1e-7));
        }
    }
}

// One node of three carries all the load: sqrt(2) raw, 1 normalised, as upstream.
BOOST_AUTO_TEST_CASE(all_load_on_one_node) {
    const auto nodes =
        nodes_of({{8.0, 16, 32 * GiB, 64 * GiB}, {0.0, 16, 0, 64 * GiB}, {0.0, 16, 0, 64 * GiB}});
    const ca::settings cfg = ca::default_settings();
    BOOST_TEST(ca::ha_imbalance(nodes, cfg, false) == std::sqrt(2.0),
               boost::test_tools::tolerance(1e-12));
    BOOST_TEST(ca::ha_imbalance(nodes, cfg, true) == 1.0, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(ca::ha_imbalance(nodes_of({{0.0, 16, 0, 64 * GiB}}), cfg, true) == 0.0);
    BOOST_TEST(ca::ha_imbalance({}, cfg, false) == 0.0);
}

// A CPU-full node next to a memory-full one: the averaged loads are equal, so upstream sees no
// imbalance; per resource it is large. By hand: u_cpu = (0.9, 0.1), u_mem = (0.1, 0.9): each
// variance 0.16, each mean 0.5: sqrt(0.32 / 0.5) = 0.8 raw, also 0.8 normalised (n - 1 = 1).
BOOST_AUTO_TEST_CASE(mirror_image_is_seen) {
    const auto nodes = nodes_of({{14.4, 16, static_cast<std::uint64_t>(6.4 * GiB), 64 * GiB},
                                 {1.6, 16, static_cast<std::uint64_t>(57.6 * GiB), 64 * GiB}});
    const ca::settings cfg = ca::default_settings();
    BOOST_TEST(upstream(nodes, false) < 1e-9);
    BOOST_TEST(ca::ha_imbalance(nodes, cfg, false) == 0.8, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(ca::ha_imbalance(nodes, cfg, true) == 0.8, boost::test_tools::tolerance(1e-9));
}

// Weights come from cpu-weight / memory-weight; a resource weighted 0 does not count.
BOOST_AUTO_TEST_CASE(weights) {
    const auto nodes = nodes_of({{14.4, 16, static_cast<std::uint64_t>(32 * GiB), 64 * GiB},
                                 {1.6, 16, static_cast<std::uint64_t>(32 * GiB), 64 * GiB}});
    ca::settings cfg = ca::default_settings();
    cfg.memory_weight = 0.0;
    BOOST_TEST(ca::ha_imbalance(nodes, cfg, false) == 0.8, boost::test_tools::tolerance(1e-9));
    cfg.cpu_weight = 0.0;
    cfg.memory_weight = 1.0;
    BOOST_TEST(ca::ha_imbalance(nodes, cfg, false) == 0.0, boost::test_tools::tolerance(1e-12));
    cfg.memory_weight = 0.0;
    BOOST_TEST(ca::ha_imbalance(nodes, cfg, false) == 0.0);
}

// Nodes without CPUs or memory have no utilisation of that resource: the result stays finite
// (HA would take NaN for "above every threshold").
BOOST_AUTO_TEST_CASE(degenerate_nodes_stay_finite) {
    const ca::settings cfg = ca::default_settings();
    const auto nodes =
        nodes_of({{1.0, 0, 4 * GiB, 0}, {2.0, 8, 8 * GiB, 32 * GiB}, {0.0, 8, 0, 32 * GiB}});
    const double v = ca::ha_imbalance(nodes, cfg, true);
    BOOST_TEST(std::isfinite(v));
    // only node2 and node3 count: u_cpu = (0.25, 0), u_mem = (0.25, 0): CV 1 each
    BOOST_TEST(v == 1.0, boost::test_tools::tolerance(1e-12));
}

// The engine options reach the mode: settings_of maps them, apply_option checks them.
BOOST_AUTO_TEST_CASE(settings_from_engine_options) {
    pvebal::options o;
    BOOST_REQUIRE(pvebal::apply_option(o, "memory-limit", "0.5").has_value());
    BOOST_REQUIRE(pvebal::apply_option(o, "memory-reserve", "2147483648").has_value());
    BOOST_REQUIRE(pvebal::apply_option(o, "cpu-weight", "2").has_value());
    BOOST_TEST(!pvebal::apply_option(o, "memory-limit", "2").has_value());
    const ca::settings cfg = ca::settings_of(o);
    BOOST_TEST(cfg.memory_limit == 0.5);
    BOOST_TEST(cfg.memory_reserve == 2 * GiB);
    BOOST_TEST(cfg.cpu_weight == 2.0);
    BOOST_TEST(ca::usable_memory(cfg, 64 * GiB) == 32.0 * GiB);
    BOOST_TEST(ca::memory_tier(cfg, 33.0 * GiB, 64 * GiB) == 1);
}

// Per-node reserves are the balancer's (pvebal::node_memory_reserve): node-memory-reserve, else
// memory-reserve plus the ARC allowance (zfs_arc_max, else 1 GiB per TiB of pool), less the
// current ARC size in used (Dynamic) mode only; a node the hook knows nothing of keeps
// memory-reserve.
BOOST_AUTO_TEST_CASE(per_node_reserves_follow_the_balancer_rule) {
    constexpr std::uint64_t TiB = 1024 * GiB;
    pvebal::options o;
    BOOST_REQUIRE(pvebal::apply_option(o, "node-memory-reserve", "big:16G").has_value());
    std::vector<ca::node_memory_info> nodes(3);
    nodes[0].name = "zfs";
    nodes[0].zfs_pool_bytes = 4 * TiB;
    nodes[1].name = "arc";
    nodes[1].zfs_pool_bytes = 4 * TiB;
    nodes[1].arc_max = 8 * GiB;
    nodes[1].arc_size = 6 * GiB;
    nodes[2].name = "big";
    nodes[2].arc_max = 64 * GiB; // node-memory-reserve replaces all of it
    auto configured = ca::settings_of(o, nodes, pvebal::load_mode::assigned);
    BOOST_REQUIRE(configured.has_value());
    BOOST_TEST(ca::node_reserve(*configured, "zfs") == 5.0 * GiB);
    BOOST_TEST(ca::node_reserve(*configured, "arc") == 9.0 * GiB);
    BOOST_TEST(ca::node_reserve(*configured, "big") == 16.0 * GiB);
    BOOST_TEST(ca::node_reserve(*configured, "plain") == 1.0 * GiB);
    BOOST_TEST(ca::usable_memory(*configured, "zfs", 64 * GiB) ==
               0.9 * static_cast<double>(64 * GiB)); // 0.9 x 64 < 64 - 5
    BOOST_TEST(ca::usable_memory(*configured, "big", 64 * GiB) == 48.0 * GiB);
    auto used = ca::settings_of(o, nodes, pvebal::load_mode::used);
    BOOST_REQUIRE(used.has_value());
    BOOST_TEST(ca::node_reserve(*used, "arc") == 3.0 * GiB); // 1 + 8 - 6: the rest is in mem
    BOOST_TEST(ca::node_reserve(*used, "zfs") == 5.0 * GiB); // no ARC size known
    // the very function the planners use, on the same node
    pvebal::node nd;
    nd.zfs_pool_bytes = 4 * TiB;
    nd.arc_max = 8 * GiB;
    nd.arc_size = 6 * GiB;
    pvebal::options uo = o;
    uo.mode = pvebal::load_mode::used;
    BOOST_TEST(ca::node_reserve(*used, "arc") == pvebal::node_memory_reserve(uo, nd));

    pvebal::options bad;
    BOOST_REQUIRE(pvebal::apply_option(bad, "node-memory-reserve", "big").has_value());
    auto err = ca::settings_of(bad, nodes, pvebal::load_mode::assigned);
    BOOST_REQUIRE(!err.has_value());
    BOOST_TEST(err.error().path == "node-memory-reserve");
}

// A start goes where the guest fits within the node's own reserve: with the flat reserve the
// less loaded ZFS node wins, with its ARC allowance (16 TiB of pool: 17 GiB) it no longer fits.
BOOST_AUTO_TEST_CASE(start_scoring_uses_the_node_reserve) {
    scheduler s(kind::static_usage, scheduler_options{.normalize_imbalance = false});
    BOOST_REQUIRE(s.add_static_node("zfs", 16, 64 * GiB).has_value());
    BOOST_REQUIRE(s.add_static_node("plain", 16, 64 * GiB).has_value());
    BOOST_REQUIRE(
        s.add_resource("vm:101", static_service_stats(2, 40 * GiB), true, "zfs").has_value());
    BOOST_REQUIRE(
        s.add_resource("vm:102", static_service_stats(2, 50 * GiB), true, "plain").has_value());
    pvebal::options o;
    BOOST_REQUIRE(pvebal::apply_option(o, "memory-limit", "1").has_value());
    auto best = [&](const ca::settings &cfg) {
        auto scores = ca::score_nodes_to_start(s, static_service_stats(2, 8 * GiB), cfg);
        BOOST_REQUIRE(scores.has_value());
        std::string name;
        double top = -1.0;
        for (const auto &[n, v] : *scores) {
            if (v > top) {
                top = v;
                name = n;
            }
        }
        return name;
    };
    BOOST_TEST(best(ca::settings_of(o)) == "zfs");
    std::vector<ca::node_memory_info> nodes(1);
    nodes[0].name = "zfs";
    nodes[0].zfs_pool_bytes = 16 * 1024 * GiB;
    auto cfg = ca::settings_of(o, nodes, pvebal::load_mode::assigned);
    BOOST_REQUIRE(cfg.has_value());
    BOOST_TEST(best(*cfg) == "plain"); // zfs: 48 GiB > 64 - 17
}

// Balancing: ranked by the imbalance after the move (upstream's arithmetic), moves that would
// overfill the target are left out, ties go by sid then target.
BOOST_AUTO_TEST_CASE(balancing_ranks_by_ha_scale_and_never_overfills) {
    scheduler s(kind::static_usage, scheduler_options{.normalize_imbalance = false});
    BOOST_REQUIRE(s.add_static_node("node1", 16, 64 * GiB).has_value());
    BOOST_REQUIRE(s.add_static_node("node2", 16, 64 * GiB).has_value());
    BOOST_REQUIRE(s.add_static_node("node3", 16, 16 * GiB).has_value());
    BOOST_REQUIRE(
        s.add_resource("vm:101", static_service_stats(4, 30 * GiB), true, "node1").has_value());
    BOOST_REQUIRE(
        s.add_resource("vm:102", static_service_stats(4, 8 * GiB), true, "node1").has_value());
    const ca::settings cfg = ca::default_settings();
    const std::vector<compact_candidate> candidates{{"vm:101", {"vm:101"}, {"node2", "node3"}},
                                                    {"vm:102", {"vm:102"}, {"node2", "node3"}}};
    auto ranked = ca::score_best_balancing_migrations(s, candidates, 10, cfg);
    BOOST_REQUIRE(ranked.has_value());
    // vm:101 (30 GiB) does not fit node3 (16 GiB, usable 14.4): three candidates remain
    BOOST_REQUIRE(ranked->size() == 3u);
    for (std::size_t i = 0; i + 1 < ranked->size(); ++i) {
        BOOST_TEST((*ranked)[i].imbalance <= (*ranked)[i + 1].imbalance);
    }
    for (const scored_migration &m : *ranked) {
        BOOST_TEST(!(m.mig.sid == "vm:101" && m.mig.target_node == "node3"));
        // the reported value is the imbalance of the cluster after the move
        scheduler after(kind::static_usage, scheduler_options{.normalize_imbalance = false});
        for (const char *n : {"node1", "node2"}) {
            BOOST_REQUIRE(after.add_static_node(n, 16, 64 * GiB).has_value());
        }
        BOOST_REQUIRE(after.add_static_node("node3", 16, 16 * GiB).has_value());
        for (const char *sid : {"vm:101", "vm:102"}) {
            const bool moved = m.mig.sid == sid;
            const service_stats st =
                static_service_stats(4, std::string(sid) == "vm:101" ? 30 * GiB : 8 * GiB);
            BOOST_REQUIRE(
                after.add_resource(sid, st, true, moved ? m.mig.target_node : "node1").has_value());
        }
        BOOST_TEST(m.imbalance == ca::node_imbalance(after, cfg),
                   boost::test_tools::tolerance(1e-12));
    }
    BOOST_TEST(ca::score_best_balancing_migrations(s, candidates, 1, cfg)->size() == 1u);
    // upstream's validation and messages
    auto bad = ca::score_best_balancing_migrations(s, {{"vm:999", {"vm:999"}, {"node2"}}}, 1, cfg);
    BOOST_REQUIRE(!bad.has_value());
    BOOST_TEST(bad.error() == "leader 'vm:999' is not present in the cluster usage");
}

BOOST_AUTO_TEST_SUITE_END()
