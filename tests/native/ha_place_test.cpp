// place: ranking the nodes for a new guest, or for one that does not run.
#include "support/ha_world.h"

#include <boost/test/unit_test.hpp>

using namespace pvebal;
using namespace pvebal::test;
using namespace pvebal::test::ha;

BOOST_AUTO_TEST_SUITE(ha_planning)

// --- place --------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(place_ranks_nodes_for_a_new_guest) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.6, 38 * GiB);
    b.node("n2", 16, 64 * GiB, 0.3, 19 * GiB);
    b.node("n3", 16, 64 * GiB, 0.1, 6 * GiB);
    world w(b);
    placement_request rq;
    rq.demand = {2, gibs(8)};
    placement_answer a = w.place(rq);
    BOOST_REQUIRE(a.nodes.size() == 3u);
    BOOST_TEST(a.demand[dimension::memory] == gibs(8));
    BOOST_TEST(w.c().nodes[a.nodes[0].node].name == "n3");
    BOOST_TEST(w.c().nodes[a.nodes[1].node].name == "n2");
    BOOST_TEST(w.c().nodes[a.nodes[2].node].name == "n1");
    BOOST_TEST(a.nodes[0].score == 100.0);
    BOOST_TEST(a.nodes[2].score == 50.0);
    BOOST_TEST(a.nodes[1].score > 50.0);
    BOOST_TEST(a.nodes[1].score < 100.0);
    for (const ranked_node &n : a.nodes) {
        BOOST_TEST(n.fits);
    }
    BOOST_TEST(a.nodes[0].objective_after < a.nodes[1].objective_after);
    BOOST_TEST(a.nodes[1].objective_after < a.nodes[2].objective_after);

    // Pins: only the pinned nodes fit, the others say why.
    rq.tags = {"pvebal-pin-n1", "plb_pin_n2"};
    a = w.place(rq);
    BOOST_TEST(w.c().nodes[a.nodes[0].node].name == "n2");
    BOOST_TEST(w.ranked(a, "n1")->fits);
    BOOST_TEST(!w.ranked(a, "n3")->fits);
    BOOST_TEST(w.ranked(a, "n3")->why->kind == "pin");
    BOOST_TEST(a.nodes.back().node == w.node("n3")); // the rest after the fitting ones
}

BOOST_AUTO_TEST_CASE(place_apart_from_and_anti_affinity_tags) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.3, 20 * GiB);
    b.node("n2", 16, 64 * GiB, 0.1, 6 * GiB);
    b.node("n3", 16, 64 * GiB, 0.1, 6 * GiB);
    b.guest(100, "n2", 2, 4 * GiB, 0.25, 4 * GiB)["tags"] = "plb_anti_affinity_dns";
    b.guest(101, "n3", 2, 4 * GiB, 0.25, 4 * GiB);
    world w(b);
    placement_request rq;
    rq.demand = {1, gibs(2)};
    rq.apart_from = {w.guest(101)};
    placement_answer a = w.place(rq);
    BOOST_TEST(w.c().nodes[a.nodes[0].node].name == "n2");
    BOOST_TEST(w.ranked(a, "n3")->why->kind == "anti-affinity");
    rq.tags = {"plb_anti_affinity_dns"};
    a = w.place(rq);
    BOOST_TEST(w.c().nodes[a.nodes[0].node].name == "n1");
    BOOST_TEST(w.ranked(a, "n2")->why->kind == "anti-affinity");
    BOOST_TEST(w.ranked(a, "n3")->why->kind == "anti-affinity");
}

BOOST_AUTO_TEST_CASE(place_an_existing_stopped_guest) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.1, 6 * GiB);
    b.node("n2", 16, 64 * GiB, 0.5, 50 * GiB); // 7.6 GiB usable left: not 8
    b.node("n3", 16, 64 * GiB, 0.3, 20 * GiB);
    b.guest(100, "n1", 4, 8 * GiB, 0, 0, "qemu", "stopped");
    world w(b);
    placement_request rq;
    rq.guest = w.guest(100);
    placement_answer a = w.place(rq);
    BOOST_TEST(a.demand[dimension::cpu] == 4.0); // configured vCPUs
    BOOST_TEST(a.demand[dimension::memory] == gibs(8));
    BOOST_TEST(w.c().nodes[a.nodes[0].node].name == "n1"); // it may start where it is
    BOOST_TEST(w.ranked(a, "n3")->fits);
    BOOST_TEST(!w.ranked(a, "n2")->fits);
    BOOST_TEST(w.ranked(a, "n2")->why->kind == "memory");
}

BOOST_AUTO_TEST_CASE(place_a_guest_that_fits_nowhere) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.1, 6 * GiB);
    b.node("n2", 16, 64 * GiB, 0.1, 6 * GiB);
    b.node("n3", 8, 32 * GiB, 0.0, 0, false);
    world w(b);
    placement_request rq;
    rq.demand = {2, gibs(60)};
    placement_answer a = w.place(rq);
    BOOST_REQUIRE(a.nodes.size() == 3u);
    for (const ranked_node &n : a.nodes) {
        BOOST_TEST(!n.fits);
        BOOST_REQUIRE(n.why.has_value());
    }
    BOOST_TEST(w.ranked(a, "n1")->why->kind == "memory");
    BOOST_TEST(w.ranked(a, "n3")->why->kind == "offline");
    // Too many cores is a CPU rejection.
    rq.demand = {15, gibs(1)};
    a = w.place(rq);
    BOOST_TEST(w.ranked(a, "n1")->why->kind == "cpu");
    std::string json = render_place(w.c(), a, output_format::json);
    BOOST_TEST(json.find("\"best\": null") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(place_respects_the_overcommit_ratios) {
    // max-vcpu-ratio 1: n1 already has 4 vCPUs on 4 threads, so a guest that is about to start
    // (a new one, or a stopped one) does not fit there.
    snapshot_builder b;
    b.node("n1", 4, 64 * GiB, 0.1, 4 * GiB);
    b.node("n2", 4, 64 * GiB, 0.1, 4 * GiB);
    b.guest(100, "n1", 4, 4 * GiB, 0.1, 2 * GiB);
    b.guest(101, "n1", 2, 4 * GiB, 0, 0, "qemu", "stopped");
    world w(b, [](options &o) { o.max_vcpu_ratio = 1.0; });
    placement_request rq;
    rq.demand = {2, gibs(1)};
    placement_answer a = w.place(rq);
    BOOST_TEST(!w.ranked(a, "n1")->fits);
    BOOST_TEST(w.ranked(a, "n1")->why->kind == "vcpu-ratio");
    BOOST_TEST(w.ranked(a, "n2")->fits);
    placement_request st;
    st.guest = w.guest(101);
    a = w.place(st);
    BOOST_TEST(!w.ranked(a, "n1")->fits);
    BOOST_TEST(w.ranked(a, "n1")->why->kind == "vcpu-ratio");
    BOOST_TEST(w.ranked(a, "n2")->fits);
    world m(b, [](options &o) { o.max_memory_ratio = 0.07; }); // 4.48 GiB
    a = m.place(rq);
    BOOST_TEST(m.ranked(a, "n1")->why->kind == "memory-ratio"); // 4 + 1 GiB
    BOOST_TEST(m.ranked(a, "n2")->fits);
}

BOOST_AUTO_TEST_SUITE_END()
