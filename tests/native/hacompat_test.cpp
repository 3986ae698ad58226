// Tests for the upstream-compatible scheduler (pvebal/hacompat.h), first two groups:
//   - numbers from proxmox-resource-scheduling's own tests and from values worked out by hand;
//   - error paths, tie-breaks and the bookkeeping quirks of the Perl binding layer.
// The pve-ha-manager simulator scenarios are in hacompat_crs_test.cpp.
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

// --- upstream crate fixtures (proxmox-resource-scheduling tests/scheduler.rs) ---------------

cluster_snapshot homogeneous_cluster(scheduler_options opts = {}) {
    const std::uint64_t maxmem = 64 * GiB;
    return cluster_snapshot({{"node1", {1.7, 16, 12334 * MiB, maxmem}},
                             {"node2", {15.184, 16, 529 * MiB, maxmem}},
                             {"node3", {5.2, 16, 9381 * MiB, maxmem}}},
                            opts);
}

cluster_snapshot heterogeneous_cluster(scheduler_options opts = {}) {
    return cluster_snapshot({{"node1", {1.7, 16, 12334 * MiB, 128 * GiB}},
                             {"node2", {15.184, 32, 529 * MiB, 96 * GiB}},
                             {"node3", {5.2, 24, 9381 * MiB, 64 * GiB}}},
                            opts);
}

std::vector<migration_candidate> two_targets_for_vm101() {
    service_stats stats{0.7, 4.0, 8 * GiB, 16 * GiB};
    return {{{"vm:101", "node1", "node2"}, stats}, {{"vm:101", "node1", "node3"}, stats}};
}

std::vector<std::string> start_ranking(const cluster_snapshot &s, const service_stats &r) {
    auto scores = s.score_nodes_to_start_resource(r);
    BOOST_REQUIRE(scores.has_value());
    std::vector<std::pair<std::string, double>> sorted = *scores;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto &a, const auto &b) { return a.second > b.second; });
    std::vector<std::string> names;
    for (const auto &entry : sorted) {
        names.push_back(entry.first);
    }
    return names;
}

std::vector<std::string> targets(const std::vector<scored_migration> &ms) {
    std::vector<std::string> out;
    for (const scored_migration &m : ms) {
        out.push_back(m.mig.target_node);
    }
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(hacompat)

// ============================================================================================
// Numbers: upstream crate tests and hand calculations
// ============================================================================================

BOOST_AUTO_TEST_CASE(imbalance_matches_upstream_crate_values) {
    // Expected values from proxmox-resource-scheduling 2.1.0 (normalised) and 2.0.0 (raw CV),
    // compared within f64::EPSILON as upstream does.
    const double eps = std::numeric_limits<double>::epsilon();
    BOOST_TEST(std::abs(homogeneous_cluster().node_imbalance() - 0.3460548572604576) <= eps);
    BOOST_TEST(std::abs(heterogeneous_cluster().node_imbalance() - 0.23352917788066363) <= eps);
    BOOST_TEST(std::abs(homogeneous_cluster(raw_cv).node_imbalance() - 0.4893954724628247) <= eps);
    BOOST_TEST(std::abs(heterogeneous_cluster(raw_cv).node_imbalance() - 0.33026013056867354) <=
               eps);
}

BOOST_AUTO_TEST_CASE(balancing_rankings_match_upstream_crate) {
    for (const cluster_snapshot &s : {homogeneous_cluster(), heterogeneous_cluster()}) {
        auto brute = s.score_best_balancing_migration_candidates(two_targets_for_vm101(), 2);
        BOOST_TEST(targets(brute) == (names{"node3", "node2"}), tt::per_element());
        auto top = s.score_best_balancing_migration_candidates_topsis(two_targets_for_vm101(), 2);
        BOOST_REQUIRE(top.has_value());
        BOOST_TEST(targets(*top) == (names{"node2", "node3"}), tt::per_element());
        // TOPSIS reports the brute-force imbalance of what it picked.
        BOOST_TEST(top->back().imbalance == brute.front().imbalance);
    }
    BOOST_TEST(homogeneous_cluster().score_best_balancing_migration_candidates({}, 2).empty());
    auto none = homogeneous_cluster().score_best_balancing_migration_candidates_topsis({}, 2);
    BOOST_REQUIRE(none.has_value());
    BOOST_TEST(none->empty());
}

BOOST_AUTO_TEST_CASE(start_rankings_match_upstream_crate) {
    const service_stats heavy_memory{0.0, 1.0, 0, 12 * GiB};
    const service_stats heavy_cpu{0.0, 12.0, 0, 0};
    const service_stats unlimited_cpu{0.0, 0.0, 0, 0};
    const service_stats combined{0.0, 12.0, 0, 12 * GiB};

    const cluster_snapshot homo = homogeneous_cluster();
    BOOST_TEST(start_ranking(homo, heavy_memory) == (names{"node2", "node3", "node1"}),
               tt::per_element());
    BOOST_TEST(start_ranking(homo, heavy_cpu) == (names{"node1", "node3", "node2"}),
               tt::per_element());
    BOOST_TEST(start_ranking(homo, unlimited_cpu) == (names{"node1", "node3", "node2"}),
               tt::per_element());
    BOOST_TEST(start_ranking(homo, combined) == (names{"node2", "node3", "node1"}),
               tt::per_element());

    const cluster_snapshot hetero = heterogeneous_cluster();
    BOOST_TEST(start_ranking(hetero, heavy_memory) == (names{"node2", "node1", "node3"}),
               tt::per_element());
    BOOST_TEST(start_ranking(hetero, heavy_cpu) == (names{"node3", "node2", "node1"}),
               tt::per_element());
    BOOST_TEST(start_ranking(hetero, unlimited_cpu) == (names{"node1", "node3", "node2"}),
               tt::per_element());
    BOOST_TEST(start_ranking(hetero, combined) == (names{"node2", "node1", "node3"}),
               tt::per_element());
}

BOOST_AUTO_TEST_CASE(topsis_three_node_example_by_hand) {
    // Nodes: a idle, b with half its CPU busy, c with half its memory used. Starting the
    // resource (2 of 4 CPUs, 50 of 100 bytes) on a leaves loads cpu (.5 .5 0), mem (.5 0 .5);
    // on b: cpu (0 1 0), mem (0 .5 .5); on c: cpu (0 .5 .5), mem (0 0 1).
    // With s = sqrt(1/6) and t = sqrt(1/3) the rows are
    //   a: (1+s, 1.5, 1+s, 1.5)   b: (1+t, 2, 1+s, 1.5)   c: (1+s, 1.5, 1+t, 2).
    // a is best on every criterion: distance to the ideal 0, score exactly 1. With
    // d = (t-s)/|col0| and e = 0.5/|col1| (columns 2, 3 have the same norms), b is d, e away
    // from the ideal on the CPU criteria (weights 1/18, 2/18) and d, e from the worst on the
    // memory ones (5/18, 10/18): distances sqrt(d^2+4e^2)/18 and 5*sqrt(d^2+4e^2)/18, score
    // 5/6. c is the mirror image: 1/6.
    cluster_snapshot s(
        {{"a", {0.0, 4, 0, 100}}, {"b", {2.0, 4, 0, 100}}, {"c", {0.0, 4, 50, 100}}});
    const service_stats r{0.0, 2.0, 0, 50};

    const double sv = std::sqrt(1.0 / 6.0);
    const double tv = std::sqrt(1.0 / 3.0);
    auto rows = s.start_alternatives(r);
    BOOST_REQUIRE_EQUAL(rows.size(), 3u);
    BOOST_TEST(rows[0].average_cpu == 1 + sv, tt::tolerance(1e-15));
    BOOST_TEST(rows[0].highest_cpu == 1.5);
    BOOST_TEST(rows[1].average_cpu == 1 + tv, tt::tolerance(1e-15));
    BOOST_TEST(rows[1].highest_cpu == 2.0);
    BOOST_TEST(rows[2].average_memory == 1 + tv, tt::tolerance(1e-15));
    BOOST_TEST(rows[2].highest_memory == 2.0);

    auto scores = s.score_nodes_to_start_resource(r);
    BOOST_REQUIRE(scores.has_value());
    BOOST_REQUIRE_EQUAL(scores->size(), 3u);
    BOOST_TEST((*scores)[0].first == "a");
    BOOST_TEST((*scores)[0].second == 1.0); // exact: zero distance to the ideal
    BOOST_TEST((*scores)[1].second == 5.0 / 6.0, tt::tolerance(1e-14));
    BOOST_TEST((*scores)[2].second == 1.0 / 6.0, tt::tolerance(1e-13));

    // Identical alternatives score 0 (both distances vanish).
    cluster_snapshot twins({{"x", {0.0, 4, 0, 100}}, {"y", {0.0, 4, 0, 100}}});
    auto tied = twins.score_nodes_to_start_resource(r);
    BOOST_REQUIRE(tied.has_value());
    BOOST_TEST((*tied)[0].second == 0.0);
    BOOST_TEST((*tied)[1].second == 0.0);
}

BOOST_AUTO_TEST_CASE(imbalance_by_hand_and_normalisation) {
    // All load on one of three nodes: CV = sqrt(2), its maximum; normalised 1.
    cluster_snapshot one_hot(
        {{"n1", {2.0, 4, 50, 100}}, {"n2", {0.0, 4, 0, 100}}, {"n3", {0.0, 4, 0, 100}}});
    BOOST_TEST(one_hot.node_imbalance() == 1.0, tt::tolerance(1e-15));
    cluster_snapshot one_hot_raw(one_hot.nodes(), raw_cv);
    BOOST_TEST(one_hot_raw.node_imbalance() == std::sqrt(2.0), tt::tolerance(1e-15));

    // Loads 0.2 and 0.4: mean 0.3, sd 0.1, CV 1/3; n - 1 = 1 so both variants agree.
    cluster_snapshot pair({{"n1", {0.8, 4, 0, 100}}, {"n2", {1.6, 4, 0, 100}}});
    BOOST_TEST(pair.node_imbalance() == 1.0 / 3.0, tt::tolerance(1e-14));
    BOOST_TEST(cluster_snapshot(pair.nodes(), raw_cv).node_imbalance() == 1.0 / 3.0,
               tt::tolerance(1e-14));

    // No nodes, no load, or a single node: 0.
    BOOST_TEST(cluster_snapshot({}).node_imbalance() == 0.0);
    BOOST_TEST(cluster_snapshot({}, raw_cv).node_imbalance() == 0.0);
    BOOST_TEST(
        cluster_snapshot({{"n1", {0.0, 4, 0, 100}}, {"n2", {0.0, 4, 0, 100}}}).node_imbalance() ==
        0.0);
    BOOST_TEST(cluster_snapshot({{"n1", {1.0, 4, 10, 100}}}, raw_cv).node_imbalance() == 0.0);

    // Where the versions part: one node without CPUs. 2.1.0 returns early for n < 2, 2.0.x
    // computes inf - inf and reports NaN.
    std::vector<node_usage> broken{{"n1", {1.0, 0, 10, 100}}};
    BOOST_TEST(cluster_snapshot(broken).node_imbalance() == 0.0);
    BOOST_TEST(std::isnan(cluster_snapshot(broken, raw_cv).node_imbalance()));
}

BOOST_AUTO_TEST_CASE(node_stat_arithmetic) {
    node_stats n{1.5, 8, 100, 1000};
    add_started_resource(n, {0.1, 0.0, 1, 50}); // maxcpu 0: the node's 8 cores
    BOOST_TEST(n.cpu == 9.5);
    BOOST_TEST(n.mem == 150u);
    add_started_resource(n, {0.1, 2.5, 1, 50});
    BOOST_TEST(n.cpu == 12.0);
    BOOST_TEST(n.mem == 200u);
    add_running_resource(n, {0.5, 99.0, 20, 9999});
    BOOST_TEST(n.cpu == 12.5);
    BOOST_TEST(n.mem == 220u);
    remove_running_resource(n, {20.0, 0.0, 500, 0}); // clamps at 0
    BOOST_TEST(n.cpu == 0.0);
    BOOST_TEST(n.mem == 0u);
    BOOST_TEST(cpu_load({2.0, 8, 0, 1}) == 0.25);
    BOOST_TEST(mem_load({0.0, 1, 3, 4}) == 0.75);
    BOOST_TEST(node_load({2.0, 8, 3, 4}) == 0.5);

    service_stats sum = service_stats{0.5, 1.0, 10, 20} + service_stats{0.25, 2.0, 1, 2};
    BOOST_TEST(sum.cpu == 0.75);
    BOOST_TEST(sum.maxcpu == 3.0);
    BOOST_TEST(sum.mem == 11u);
    BOOST_TEST(sum.maxmem == 22u);
    service_stats st = static_service_stats(3.0, 77);
    BOOST_TEST(st.cpu == 3.0);
    BOOST_TEST(st.maxcpu == 3.0);
    BOOST_TEST(st.mem == 77u);
    BOOST_TEST(st.maxmem == 77u);
}

BOOST_AUTO_TEST_CASE(generic_topsis_rankings) {
    // A few of the crate's own TOPSIS cases.
    using topsis::criterion;
    const std::vector<criterion> max_min{{"max", 1.0}, {"min", -1.0}};
    const std::vector<criterion> min_min{{"min1", -1.0}, {"min2", -1.0}};
    auto rank = [](std::vector<std::vector<double>> m, const std::vector<criterion> &c) {
        auto r = topsis::rank_alternatives(std::move(m), c);
        BOOST_REQUIRE(r.has_value());
        return *r;
    };
    using idx = std::vector<std::size_t>;
    BOOST_TEST(rank({{1.0}, {2.0}, {5.0}, {3.0}, {4.0}}, {{"one", 1.0}}) == (idx{2, 4, 3, 1, 0}),
               tt::per_element());
    BOOST_TEST(rank({{1.0}, {2.0}, {5.0}, {3.0}, {4.0}}, {{"one", -1.0}}) == (idx{0, 1, 3, 4, 2}),
               tt::per_element());
    const std::vector<std::vector<double>> m{
        {7.0, 4.0}, {1.0, 0.5}, {-1.0, -1.0}, {-8.5, 11.5}, {4.0, 7.0}};
    BOOST_TEST(rank(m, max_min) == (idx{0, 1, 4, 2, 3}), tt::per_element());
    BOOST_TEST(rank(m, min_min) == (idx{2, 3, 1, 0, 4}), tt::per_element());
    // Zero columns stay zero; equal scores keep their order.
    BOOST_TEST(rank({{0.0, 0.0, 0.0}, {0.0, 1.0, 0.0}, {0.0, 0.0, 1.0}},
                    {{"more", 10.0}, {"less", 0.2}, {"least", 0.1}}) == (idx{1, 2, 0}),
               tt::per_element());
    BOOST_TEST(rank({{3.0}, {3.0}, {3.0}}, {{"one", 1.0}}) == (idx{0, 1, 2}), tt::per_element());
    auto empty = topsis::score_alternatives({}, {{"one", 1.0}});
    BOOST_REQUIRE(empty.has_value());
    BOOST_TEST(empty->empty());
}

// ============================================================================================
// Errors, tie-breaks, binding behaviour
// ============================================================================================

BOOST_AUTO_TEST_CASE(topsis_error_messages) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    auto zero = topsis::score_alternatives({{1.0}}, {{"z", 0.0}, {"e", 0.0}});
    BOOST_REQUIRE(!zero.has_value());
    BOOST_TEST(zero.error() == "no criterion has a non-zero weight");

    auto bad_weight = topsis::score_alternatives(
        {{1.0, 1.0}}, {{"fine", 1.0}, {"huge", std::numeric_limits<double>::infinity()}});
    BOOST_REQUIRE(!bad_weight.has_value());
    BOOST_TEST(bad_weight.error() == "criterion 'huge' got invalid weight NaN");

    auto bad_value =
        topsis::score_alternatives({{-1.0, 0.0, 0.0}, {0.0, -1.0, 0.0}, {0.0, nan, 1.0}},
                                   {{"a", 1.0}, {"b", 1.0}, {"c", 1.0}});
    BOOST_REQUIRE(!bad_value.has_value());
    BOOST_TEST(bad_value.error() == "criterion 1 got invalid value NaN");

    auto ragged = topsis::score_alternatives({{1.0, 2.0}, {1.0}}, {{"a", 1.0}, {"b", 1.0}});
    BOOST_REQUIRE(!ragged.has_value());
    BOOST_TEST(ragged.error() == "alternative 1 has 1 values for 2 criteria");

    // A node without memory makes its memory load 0/0; start scoring reports it like upstream.
    cluster_snapshot s({{"n1", {0.0, 4, 0, 0}}, {"n2", {0.0, 4, 0, 100}}});
    auto scores = s.score_nodes_to_start_resource({0.0, 1.0, 0, 10});
    BOOST_REQUIRE(!scores.has_value());
    BOOST_TEST(scores.error() == "criterion 2 got invalid value NaN");
}

BOOST_AUTO_TEST_CASE(scored_migration_truncation_and_order) {
    // The crate's own ordering case: the first two truncate to the same value and are then
    // ordered by target; the third is 1e-15 larger and comes last despite its smaller sid.
    auto m1 = scored_migration::make({"vm:102", "node1", "node2"}, 0.7231749488916931);
    auto m2 = scored_migration::make({"vm:102", "node1", "node3"}, 0.723174948891693);
    auto m3 = scored_migration::make({"vm:101", "node1", "node2"}, 0.723174948891693 + 1e-15);
    BOOST_TEST(m1.imbalance == m2.imbalance);
    std::vector<scored_migration> v{m2, m3, m1};
    std::sort(v.begin(), v.end());
    BOOST_TEST(v[0].mig.target_node == "node2");
    BOOST_TEST(v[0].mig.sid == "vm:102");
    BOOST_TEST(v[1].mig.target_node == "node3");
    BOOST_TEST(v[2].mig.sid == "vm:101");

    BOOST_TEST(truncate_imbalance(0.12345678901234567) == 0.123456789012345);
    BOOST_TEST(truncate_imbalance(1.9999999999999998) == 1.999999999999999);
    BOOST_TEST(truncate_imbalance(0.0) == 0.0);
}

BOOST_AUTO_TEST_CASE(tie_break_after_truncation) {
    // 0.3 and 0.3 + 1e-16 are different doubles but truncate to the same value, so the
    // migration decides: sid, then source, then target.
    BOOST_REQUIRE(0.3 + 1e-16 != 0.3);
    auto a = scored_migration::make({"vm:200", "node2", "node1"}, 0.3 + 1e-16);
    auto b = scored_migration::make({"vm:100", "node2", "node3"}, 0.3);
    auto c = scored_migration::make({"vm:200", "node1", "node3"}, 0.3);
    auto d = scored_migration::make({"vm:200", "node2", "node3"}, 0.3 + 1e-16);
    BOOST_TEST(a.imbalance == b.imbalance);
    BOOST_TEST((compare(a, b) > 0)); // vm:100 < vm:200
    BOOST_TEST((compare(c, a) < 0)); // node1 < node2 (source)
    BOOST_TEST((compare(a, d) < 0)); // node1 < node3 (target)
    BOOST_TEST((compare(d, d) == 0));

    // The same through the brute-force ranking: equal imbalances come out by migration order.
    cluster_snapshot s(
        {{"node1", {0.0, 4, 0, 100}}, {"node2", {4.0, 4, 100, 100}}, {"node3", {0.0, 4, 0, 100}}},
        raw_cv);
    service_stats r{1.0, 1.0, 25, 25};
    auto ranked = s.score_best_balancing_migration_candidates({{{"vm:200", "node2", "node3"}, r},
                                                               {{"vm:200", "node2", "node1"}, r},
                                                               {{"vm:100", "node2", "node3"}, r}},
                                                              3);
    BOOST_REQUIRE_EQUAL(ranked.size(), 3u);
    BOOST_TEST(ranked[0].mig.sid == "vm:100");
    BOOST_TEST(ranked[1].mig.target_node == "node1");
    BOOST_TEST(ranked[2].mig.target_node == "node3");
    BOOST_TEST(ranked[0].imbalance == ranked[2].imbalance);
    BOOST_TEST(s.score_best_balancing_migration_candidates(
                    {{{"vm:200", "node2", "node3"}, r}, {{"vm:100", "node2", "node3"}, r}}, 1)
                   .front()
                   .mig.sid == "vm:100");
}

BOOST_AUTO_TEST_CASE(topsis_balancing_keeps_input_order_on_ties) {
    // Symmetric targets give identical rows, so TOPSIS keeps the candidates' order; only the
    // first `limit` get an imbalance.
    cluster_snapshot s({{"node1", {4.0, 8, 400, 1000}},
                        {"node2", {0.0, 8, 0, 1000}},
                        {"node3", {0.0, 8, 0, 1000}}});
    service_stats r{1.0, 2.0, 100, 200};
    auto ranked = s.score_best_balancing_migration_candidates_topsis(
        {{{"vm:101", "node1", "node3"}, r}, {{"vm:101", "node1", "node2"}, r}}, 1);
    BOOST_REQUIRE(ranked.has_value());
    BOOST_REQUIRE_EQUAL(ranked->size(), 1u);
    BOOST_TEST(ranked->front().mig.target_node == "node3");
}

BOOST_AUTO_TEST_CASE(scheduler_node_bookkeeping) {
    scheduler s(kind::dynamic_usage);
    require_ok(s.add_node("node2", {0.5, 4, 10, 100}));
    require_ok(s.add_node("node1", {0.0, 4, 0, 100}));
    auto dup = s.add_node("node1", {});
    BOOST_REQUIRE(!dup.has_value());
    BOOST_TEST(dup.error() == "node 'node1' already exists");
    BOOST_TEST(s.list_nodes() == (names{"node1", "node2"}), tt::per_element());
    BOOST_TEST(s.contains_node("node2"));
    BOOST_TEST(!s.contains_node("node3"));
    BOOST_TEST(s.find_node("node2")->cpu == 0.5);
    s.remove_node("node9"); // ignored
    s.remove_node("node2");
    BOOST_TEST(s.list_nodes() == (names{"node1"}), tt::per_element());

    scheduler st(kind::static_usage);
    require_ok(st.add_static_node("n", 16, 1000));
    BOOST_TEST(st.find_node("n")->cpu == 0.0);
    BOOST_TEST(st.find_node("n")->maxcpu == 16u);
    BOOST_TEST(st.find_node("n")->mem == 0u);
    BOOST_TEST(st.find_node("n")->maxmem == 1000u);
}

BOOST_AUTO_TEST_CASE(scheduler_add_resource_errors) {
    scheduler s(kind::static_usage);
    require_ok(s.add_static_node("node1", 4, 100));
    require_ok(s.add_static_node("node2", 4, 100));
    const service_stats r = static_service_stats(1.0, 10);

    auto unknown = s.add_resource("vm:101", r, true, "node9");
    BOOST_REQUIRE(!unknown.has_value());
    BOOST_TEST(unknown.error() == "current node for resource 'vm:101' does not exist");

    auto same = s.add_resource("vm:101", r, true, "node1", "node1");
    BOOST_REQUIRE(!same.has_value());
    BOOST_TEST(same.error() == "resource 'vm:101' has the same current and target node");

    auto missing = s.add_resource("vm:101", r, true, "node1", "node9");
    BOOST_REQUIRE(!missing.has_value());
    BOOST_TEST(missing.error() == "nodes for resource 'vm:101' do not exist");
    auto missing2 = s.add_resource("vm:101", r, true, "node9", "node1");
    BOOST_REQUIRE(!missing2.has_value());
    BOOST_TEST(missing2.error() == "nodes for resource 'vm:101' do not exist");
    BOOST_TEST(s.node_resources("node1").empty()); // failed adds leave no trace

    require_ok(s.add_resource("vm:101", r, true, "node1"));
    auto dup = s.add_resource("vm:101", r, true, "node2");
    BOOST_REQUIRE(!dup.has_value());
    BOOST_TEST(dup.error() == "resource 'vm:101' already exists");
    // The duplicate check comes first, even when the nodes are wrong too.
    BOOST_TEST(s.add_resource("vm:101", r, true, "node9").error() ==
               "resource 'vm:101' already exists");

    s.remove_resource("vm:101");
    s.remove_resource("vm:101"); // ignored
    BOOST_TEST(!s.find_resource("vm:101").has_value());
    BOOST_TEST(s.node_resources("node1").empty());
}

BOOST_AUTO_TEST_CASE(aggregators) {
    // node1 runs vm:101 (running) and hosts vm:102 moving to node2 (starting).
    const service_stats running{1.0, 2.0, 10, 20};
    const service_stats starting{0.5, 0.0, 5, 30}; // maxcpu 0: counts a whole node
    for (kind k : {kind::static_usage, kind::dynamic_usage}) {
        scheduler s(k);
        require_ok(s.add_node("node1", {3.0, 8, 40, 100}));
        require_ok(s.add_node("node2", {1.0, 4, 10, 100}));
        require_ok(s.add_resource("vm:101", running, true, "node1"));
        require_ok(s.add_resource("vm:102", starting, false, "node1", "node2"));
        BOOST_TEST((s.find_resource("vm:101")->state == resource_state::started));
        BOOST_TEST((s.find_resource("vm:102")->state == resource_state::starting));
        BOOST_TEST(s.node_resources("node2") == (names{"vm:102"}), tt::per_element());

        auto identity = s.snapshot(aggregator::identity).nodes();
        BOOST_TEST(identity[0].stats.cpu == 3.0);
        BOOST_TEST(identity[1].stats.mem == 10u);

        // Every assigned resource as started, a moving one on both nodes.
        auto started = s.snapshot(aggregator::started).nodes();
        BOOST_TEST(started[0].name == "node1");
        BOOST_TEST(started[0].stats.cpu == 3.0 + 2.0 + 8.0);
        BOOST_TEST(started[0].stats.mem == 40u + 20 + 30);
        BOOST_TEST(started[1].stats.cpu == 1.0 + 4.0);
        BOOST_TEST(started[1].stats.mem == 10u + 30);

        // Only resources that are not running yet.
        auto pending = s.snapshot(aggregator::starting_as_started).nodes();
        BOOST_TEST(pending[0].stats.cpu == 3.0 + 8.0);
        BOOST_TEST(pending[0].stats.mem == 40u + 30);
        BOOST_TEST(pending[1].stats.cpu == 1.0 + 4.0);

        if (k == kind::static_usage) {
            BOOST_TEST((s.balancing_aggregator() == aggregator::started));
            BOOST_TEST((s.start_aggregator() == aggregator::started));
        } else {
            BOOST_TEST((s.balancing_aggregator() == aggregator::identity));
            BOOST_TEST((s.start_aggregator() == aggregator::starting_as_started));
        }
    }
}

BOOST_AUTO_TEST_CASE(remove_node_keeps_moving_resources) {
    scheduler s(kind::static_usage);
    for (const char *n : {"node1", "node2", "node3"}) {
        require_ok(s.add_static_node(n, 4, 100));
    }
    const service_stats r = static_service_stats(1.0, 10);
    require_ok(s.add_resource("vm:101", r, true, "node1"));
    require_ok(s.add_resource("vm:102", r, true, "node1", "node2"));
    require_ok(s.add_resource("vm:103", r, false, "node3", "node1"));
    s.remove_node("node1");
    BOOST_TEST(!s.find_resource("vm:101").has_value()); // only lived on node1
    auto moved = s.find_resource("vm:102");
    BOOST_REQUIRE(moved.has_value());
    BOOST_TEST(moved->current_node == "node2"); // collapsed onto its target
    BOOST_TEST(!moved->target_node.has_value());
    auto stayed = s.find_resource("vm:103");
    BOOST_REQUIRE(stayed.has_value());
    BOOST_TEST(stayed->current_node == "node3");
    BOOST_TEST(!stayed->target_node.has_value());
    BOOST_TEST((stayed->state == resource_state::starting));
    // vm:101 may be added again anywhere.
    require_ok(s.add_resource("vm:101", r, true, "node3"));
}

BOOST_AUTO_TEST_CASE(legacy_add_resource_usage_to_node) {
    scheduler s(kind::static_usage);
    for (const char *n : {"node1", "node2", "node3"}) {
        require_ok(s.add_static_node(n, 4, 100));
    }
    const service_stats first = static_service_stats(1.0, 10);
    const service_stats ignored = static_service_stats(3.0, 90);

    require_ok(s.add_resource_usage_to_node("node1", "vm:101", first));
    BOOST_TEST((s.find_resource("vm:101")->state == resource_state::started));

    auto unknown = s.add_resource_usage_to_node("node4", "vm:101", first);
    BOOST_REQUIRE(!unknown.has_value());
    BOOST_TEST(unknown.error() == "nodes for resource 'vm:101' do not exist");
    auto same = s.add_resource_usage_to_node("node1", "vm:101", first);
    BOOST_REQUIRE(!same.has_value());
    BOOST_TEST(same.error() == "resource 'vm:101' has the same current and target node");
    auto restored = s.find_resource("vm:101"); // put back as it was
    BOOST_REQUIRE(restored.has_value());
    BOOST_TEST(!restored->target_node.has_value());

    require_ok(s.add_resource_usage_to_node("node2", "vm:101", ignored));
    auto moving = s.find_resource("vm:101");
    BOOST_REQUIRE(moving.has_value());
    BOOST_TEST(moving->current_node == "node1");
    BOOST_TEST(*moving->target_node == "node2");
    BOOST_TEST(moving->stats.maxcpu == 1.0); // the second call's stats are ignored

    auto third = s.add_resource_usage_to_node("node3", "vm:101", first);
    BOOST_REQUIRE(!third.has_value());
    BOOST_TEST(third.error() == "resource 'vm:101' is already moving to target node 'node2'");
    // Upstream drops the resource on that error but leaves its sid on both nodes.
    BOOST_TEST(!s.find_resource("vm:101").has_value());
    BOOST_TEST(s.node_resources("node1") == (names{"vm:101"}), tt::per_element());
    BOOST_TEST(s.snapshot(aggregator::started).nodes()[0].stats.cpu == 0.0);
    // A later resource with that sid is then counted on the stale nodes as well.
    require_ok(s.add_resource("vm:101", first, true, "node3"));
    auto agg = s.snapshot(aggregator::started).nodes();
    BOOST_TEST(agg[0].stats.cpu == 1.0);
    BOOST_TEST(agg[1].stats.cpu == 1.0);
    BOOST_TEST(agg[2].stats.cpu == 1.0);
}

BOOST_AUTO_TEST_CASE(compact_candidate_validation) {
    scheduler s(kind::dynamic_usage);
    require_ok(s.add_node("node1", {4.0, 8, 400, 1000}));
    require_ok(s.add_node("node2", {0.0, 8, 0, 1000}));
    require_ok(s.add_resource("vm:101", {1.0, 2.0, 100, 200}, true, "node1"));
    require_ok(s.add_resource("vm:102", {0.5, 1.0, 50, 100}, true, "node1"));
    require_ok(s.add_resource("vm:103", {0.5, 1.0, 50, 100}, true, "node2"));
    require_ok(s.add_resource("vm:104", {0.5, 1.0, 50, 100}, true, "node1", "node2"));

    // Both methods validate the same way, before scoring anything.
    auto error_of = [&](const compact_candidate &c) {
        auto brute = s.score_best_balancing_migrations({c}, 1);
        auto top = s.score_best_balancing_migrations_topsis({c}, 1);
        BOOST_REQUIRE(!brute.has_value());
        BOOST_REQUIRE(!top.has_value());
        BOOST_TEST(brute.error() == top.error());
        return brute.error();
    };
    BOOST_TEST(error_of({"vm:999", {"vm:999"}, {"node2"}}) ==
               "leader 'vm:999' is not present in the cluster usage");
    BOOST_TEST(error_of({"vm:104", {"vm:104"}, {"node1"}}) == "leader 'vm:104' is non-stationary");
    BOOST_TEST(error_of({"vm:101", {"vm:102"}, {"node2"}}) ==
               "leader 'vm:101' is not present in the resources list");
    BOOST_TEST(error_of({"vm:101", {"vm:101", "vm:998"}, {"node2"}}) ==
               "resource 'vm:998' is not present in the cluster usage");
    BOOST_TEST(error_of({"vm:101", {"vm:101", "vm:104"}, {"node2"}}) ==
               "resource 'vm:104' is non-stationary");
    BOOST_TEST(error_of({"vm:101", {"vm:101", "vm:103"}, {"node2"}}) ==
               "resource 'vm:103' is on other node than leader");
    // An invalid entry fails the whole call even after valid ones.
    auto late = s.decompose({{"vm:101", {"vm:101"}, {"node2"}}, {"vm:999", {"vm:999"}, {}}});
    BOOST_REQUIRE(!late.has_value());

    // Expansion: one candidate per target in the given order, stats summed over the bundle,
    // targets not checked.
    auto ok = s.decompose({{"vm:101", {"vm:102", "vm:101"}, {"node2", "nodeX", "node1"}},
                           {"vm:102", {"vm:102"}, {}}});
    BOOST_REQUIRE(ok.has_value());
    BOOST_REQUIRE_EQUAL(ok->size(), 3u);
    BOOST_TEST(((*ok)[0].mig == service_migration{"vm:101", "node1", "node2"}));
    BOOST_TEST((*ok)[1].mig.target_node == "nodeX");
    BOOST_TEST((*ok)[2].mig.target_node == "node1");
    BOOST_TEST((*ok)[0].stats.cpu == 1.5);
    BOOST_TEST((*ok)[0].stats.maxcpu == 3.0);
    BOOST_TEST((*ok)[0].stats.mem == 150u);
    BOOST_TEST((*ok)[0].stats.maxmem == 300u);

    // A target equal to the source only removes the load; an unknown one only removes it too.
    cluster_snapshot snap = s.snapshot(aggregator::identity);
    BOOST_TEST(snap.node_imbalance_with((*ok)[1]) == snap.node_imbalance_with((*ok)[2]));

    // limit 0 still validates; TOPSIS also still computes.
    BOOST_TEST(!s.score_best_balancing_migrations({{"vm:999", {"vm:999"}, {}}}, 0).has_value());
    auto zero = s.score_best_balancing_migrations_topsis({{"vm:101", {"vm:101"}, {"node2"}}}, 0);
    BOOST_REQUIRE(zero.has_value());
    BOOST_TEST(zero->empty());
}

BOOST_AUTO_TEST_SUITE_END()
