// HA capacity (N+k): how many node failures the HA guests survive, and the headroom numbers.
#include "support/ha_world.h"

#include <boost/test/unit_test.hpp>

using namespace pvebal;
using namespace pvebal::test;
using namespace pvebal::test::ha;

BOOST_AUTO_TEST_SUITE(ha_planning)

// --- capacity -----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(capacity_tolerates_exactly_one_failure) {
    // Three 64 GiB nodes (57.6 GiB usable), each running a 20 GiB HA guest.
    snapshot_builder b;
    for (const char *n : {"n1", "n2", "n3"}) {
        b.node(n, 16, 64 * GiB, 0.125, 20 * GiB);
    }
    ha_vm(b, 100, "n1", 4, 20, 0.5, 20);
    ha_vm(b, 101, "n2", 4, 20, 0.5, 20);
    ha_vm(b, 102, "n3", 4, 20, 0.5, 20);
    world w(b);
    capacity_report r = w.capacity();
    BOOST_TEST(r.nodes == 3);
    BOOST_TEST(r.ha_guests == 3);
    BOOST_TEST(r.tolerated == 1);
    BOOST_TEST(r.upper_bound == 1);
    BOOST_TEST(r.exact);
    BOOST_TEST(r.target == 1);
    BOOST_TEST(r.target_met);
    BOOST_TEST(r.reserve_needed[dimension::memory] == 0.0);
    BOOST_TEST(r.reserve_needed[dimension::cpu] == 0.0);
    BOOST_TEST(!r.worst_at_target);
    BOOST_REQUIRE(r.worst);
    BOOST_TEST(r.worst->failed.size() == 2u); // 40 GiB onto 37.6 GiB: one is left out
    BOOST_TEST(r.worst->unplaced == 1);
    BOOST_TEST(r.worst->shortfall[dimension::memory] == gibs(20));
    BOOST_TEST(r.worst->shortfall[dimension::cpu] == 2.0);
    BOOST_TEST(r.worst->guests.size() == 1u);
    BOOST_TEST(r.scenarios_checked >= 6);
    BOOST_TEST(r.unrecoverable.empty());

    // N+2 asked: not met, and the reserve is what the worst pair of failures leaves out.
    r = w.capacity(2);
    BOOST_TEST(r.tolerated == 1);
    BOOST_TEST(!r.target_met);
    BOOST_TEST(r.reserve_needed[dimension::memory] == gibs(20));
    BOOST_TEST(r.reserve_needed[dimension::cpu] == 2.0);
    BOOST_REQUIRE(r.worst_at_target);
    BOOST_TEST(r.worst_at_target->failed.size() == 2u);
}

BOOST_AUTO_TEST_CASE(capacity_tolerates_no_failure) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.25, 44 * GiB);
    b.node("n2", 16, 64 * GiB, 0.125, 20 * GiB);
    b.node("n3", 16, 64 * GiB, 0.125, 20 * GiB);
    ha_vm(b, 100, "n1", 8, 40, 0.5, 40); // 40 GiB: every survivor has 37.6 GiB
    ha_vm(b, 101, "n2", 4, 20, 0.5, 20);
    ha_vm(b, 102, "n3", 4, 20, 0.5, 20);
    world w(b);
    capacity_report r = w.capacity();
    BOOST_TEST(r.tolerated == 0);
    BOOST_TEST(r.exact);
    BOOST_TEST(!r.target_met);
    BOOST_TEST(r.reserve_needed[dimension::memory] == gibs(40));
    BOOST_TEST(r.reserve_needed[dimension::cpu] == 4.0);
    BOOST_REQUIRE(r.worst);
    BOOST_TEST((w.names(r.worst->failed) == std::vector<std::string>{"n1"}));
    BOOST_TEST((r.worst->guests == std::vector<guest_id>{w.guest(100)}));
}

BOOST_AUTO_TEST_CASE(capacity_target_two_met_and_not_met) {
    // Four 64 GiB nodes, two 12 GiB HA guests each (33.6 GiB free): two failures put four
    // guests on two survivors (two each), three failures six guests on one (two fit).
    snapshot_builder b;
    for (int i = 1; i <= 4; ++i) {
        const std::string n = "n" + std::to_string(i);
        b.node(n, 16, 64 * GiB, 0.125, 24 * GiB);
        ha_vm(b, static_cast<std::uint32_t>(100 + 2 * i), n, 2, 12, 0.5, 12);
        ha_vm(b, static_cast<std::uint32_t>(101 + 2 * i), n, 2, 12, 0.5, 12);
    }
    world w(b);
    capacity_report r = w.capacity(2);
    BOOST_TEST(r.tolerated == 2);
    BOOST_TEST(r.exact);
    BOOST_TEST(r.target_met);
    BOOST_TEST(r.reserve_needed[dimension::memory] == 0.0);
    BOOST_REQUIRE(r.worst);
    BOOST_TEST(r.worst->failed.size() == 3u);
    BOOST_TEST(r.worst->unplaced == 4);
    r = w.capacity(3);
    BOOST_TEST(!r.target_met);
    BOOST_TEST(r.reserve_needed[dimension::memory] == gibs(48));
    BOOST_TEST(r.reserve_needed[dimension::cpu] == 4.0);

    // 16 GiB guests (25.6 GiB free each): two failures put four onto two survivors, one each
    // fits: 32 GiB short.
    snapshot_builder s;
    for (int i = 1; i <= 4; ++i) {
        const std::string n = "n" + std::to_string(i);
        s.node(n, 16, 64 * GiB, 0.125, 32 * GiB);
        ha_vm(s, static_cast<std::uint32_t>(100 + 2 * i), n, 2, 16, 0.5, 16);
        ha_vm(s, static_cast<std::uint32_t>(101 + 2 * i), n, 2, 16, 0.5, 16);
    }
    world ws(s);
    r = ws.capacity(2);
    BOOST_TEST(r.tolerated == 1);
    BOOST_TEST(r.exact);
    BOOST_TEST(!r.target_met);
    BOOST_TEST(r.reserve_needed[dimension::memory] == gibs(32));
    BOOST_TEST(r.reserve_needed[dimension::cpu] == 2.0);
    BOOST_REQUIRE(r.worst_at_target);
    BOOST_TEST(r.worst_at_target->unplaced == 2);
    // Targets beyond the node count cannot be met.
    r = ws.capacity(4);
    BOOST_TEST(!r.target_met);
    BOOST_TEST(r.tolerated == 1);
}

BOOST_AUTO_TEST_CASE(capacity_unrecoverable_guests_do_not_lower_the_answer) {
    // n1 runs a 58 GiB VM on local storage: it is lost with n1 whatever the reserve, so it is
    // listed and does not count. The other nodes' 2 GiB HA guests fit on any survivor but n1.
    snapshot_builder b;
    for (int i = 1; i <= 4; ++i) {
        const std::string n = "n" + std::to_string(i);
        b.node(n, 16, 64 * GiB, 0.0, (i == 1 ? 58 : 40) * GiB);
        b.storage(n, "local", false);
    }
    ha_vm(b, 100, "n1", 4, 58, 0.0, 58);
    b.extra()["guests"]["100"]["config"]["scsi0"] = "local:vm-100-disk-0,size=10G";
    for (int i = 2; i <= 4; ++i) {
        const std::string n = "n" + std::to_string(i);
        ha_vm(b, static_cast<std::uint32_t>(100 + i), n, 2, 2, 0.0, 2);
        b.guest(static_cast<std::uint32_t>(110 + i), n, 2, 38 * GiB, 0.0, 38 * GiB); // not HA
    }
    world w(b);
    // Three failures leave n1 alone, and it has no room: N+2.
    for (int target : {1, 2, 3}) {
        capacity_report r = w.capacity(target);
        BOOST_TEST((r.unrecoverable == std::vector<guest_id>{w.guest(100)}));
        BOOST_TEST(r.ha_guests == 4);
        BOOST_TEST(r.tolerated == 2, "target " << target);
        BOOST_TEST(r.exact);
        BOOST_TEST(r.target_met == (target <= 2));
        BOOST_REQUIRE(r.worst);
        BOOST_TEST((w.names(r.worst->failed) == std::vector<std::string>{"n2", "n3", "n4"}));
        BOOST_TEST(r.worst->unplaced == 3);
    }
    // The failover itself says why 100 does not restart.
    plan p = w.failover({"n1"});
    BOOST_TEST(w.why(p, 100, "-") == "local-storage");
}

BOOST_AUTO_TEST_CASE(capacity_is_exact_when_one_failure_is_proven) {
    // Failing n1: 23 guests of 2 GiB onto two survivors with 23 GiB free each. In total they
    // would fit, but each survivor takes 11: one is left out, and the exhaustive search cannot
    // prove it within its budget (C(22,11) ways). Failing n2: a 40 GiB guest fits nowhere,
    // proven at once. One proven failing scenario is enough: N+0, exact.
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.0, 46 * GiB);
    b.node("n2", 16, 64 * GiB, 0.0, static_cast<std::uint64_t>(gibs(34.6)));
    b.node("n3", 16, 64 * GiB, 0.0, static_cast<std::uint64_t>(gibs(34.6)));
    for (std::uint32_t v = 100; v < 123; ++v) {
        ha_vm(b, v, "n1", 1, 2, 0, 2);
    }
    ha_vm(b, 200, "n2", 4, 40, 0, 20);
    b.guest(201, "n2", 2, 16 * GiB, 0, static_cast<std::uint64_t>(gibs(14.6)));
    b.guest(301, "n3", 2, 40 * GiB, 0, static_cast<std::uint64_t>(gibs(34.6)));
    world w(b);
    capacity_report r = w.capacity();
    BOOST_TEST(r.tolerated == 0);
    BOOST_TEST(r.exact, r.method);
    BOOST_TEST(r.upper_bound == 0);
    BOOST_REQUIRE(r.worst);
}

BOOST_AUTO_TEST_CASE(capacity_is_exact_when_the_aggregate_bound_meets_the_checked_k) {
    // Two 16 GiB guests per 64 GiB node (25.6 GiB free): any pair of failures leaves 64 GiB for
    // 51.2 GiB, so the aggregate bound is 1. With room for the 4 single-failure scenarios only,
    // the answer is still exact: 1 checked, 1 the bound.
    snapshot_builder b;
    for (int i = 1; i <= 4; ++i) {
        const std::string n = "n" + std::to_string(i);
        b.node(n, 16, 64 * GiB, 0.125, 32 * GiB);
        ha_vm(b, static_cast<std::uint32_t>(100 + 2 * i), n, 2, 16, 0.5, 16);
        ha_vm(b, static_cast<std::uint32_t>(101 + 2 * i), n, 2, 16, 0.5, 16);
    }
    world w(b);
    capacity_report r = w.capacity(1, false, 4);
    BOOST_TEST(r.tolerated == 1);
    BOOST_TEST(r.upper_bound == 1);
    BOOST_TEST(r.exact, r.method);
    BOOST_TEST(r.scenarios_checked == 4);
    BOOST_TEST(r.target_met);
    // With fewer scenarios allowed than single failures, nothing is proven: a range.
    r = w.capacity(1, false, 3);
    BOOST_TEST(r.tolerated == 0);
    BOOST_TEST(r.upper_bound == 1);
    BOOST_TEST(!r.exact);
    BOOST_TEST(!r.target_met);
}

BOOST_AUTO_TEST_CASE(capacity_headroom_numbers) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.25, 20 * GiB);
    b.node("n2", 8, 8 * GiB, 0.5, 4 * GiB);
    b.node("n3", 8, 32 * GiB, 0.0, 0, false); // offline: not counted
    ha_vm(b, 100, "n1", 4, 16, 0.5, 12);      // 2 cores measured, 16 GiB configured
    ha_vm(b, 101, "n1", 2, 8, 0.0, 0)["status"] = "stopped";
    add_ha_resource(b, "vm:999");                 // a resource without a guest is dropped
    b.guest(102, "n2", 2, 4 * GiB, 0.5, 4 * GiB); // not HA
    world w(b);
    capacity_report r = w.capacity();
    BOOST_TEST(r.nodes == 2);
    BOOST_REQUIRE(r.headroom.size() == 2u);
    const node_headroom *h1 = w.headroom(r, "n1");
    const node_headroom *h2 = w.headroom(r, "n2");
    BOOST_REQUIRE(h1);
    BOOST_REQUIRE(h2);
    BOOST_TEST(h1->cpu == 0.9 * 16 - 4.0);               // cpu-limit x threads - used
    BOOST_TEST(h1->memory == 0.9 * gibs(64) - gibs(20)); // usable - used
    BOOST_TEST(h1->ha_memory == gibs(16) + gibs(8));     // configured memory of started HA guests
    BOOST_TEST(h2->cpu == 0.9 * 8 - 4.0);
    BOOST_TEST(h2->memory == gibs(7) - gibs(4)); // 8 GiB - 1 GiB reserve < 90%
    BOOST_TEST(h2->ha_memory == 0.0);
}

BOOST_AUTO_TEST_SUITE_END()
