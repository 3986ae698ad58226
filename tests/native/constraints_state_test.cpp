// Hard constraints that depend on the placement: capacity limits and overcommit ratios,
// keep-apart, keep-together, and guests that never move. One small snapshot per rule, as in
// constraints_test.cpp.
#include "support/constraints_fixture.h"
#include "test_util.h"

#include "pvebal/constraints.h"
#include "pvebal/io.h"
#include "pvebal/report.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>

using namespace pvebal;
using namespace pvebal::test;

BOOST_AUTO_TEST_SUITE(constraints)

// --- capacity --------------------------------------------------------------------------------

// Guest 100 (20 GiB, 4 cores busy) on s; t has 60 GiB and 8 cores in use, no guests.
snapshot_builder capacity_cluster() {
    snapshot_builder b;
    b.node("source", 16, 100 * GiB, 0.25, 20 * GiB).node("target", 16, 100 * GiB, 0.5, 60 * GiB);
    b.guest(100, "source", 4, 32 * GiB, 1.0, 20 * GiB);
    return b;
}

BOOST_AUTO_TEST_CASE(usable_memory_is_the_smaller_of_limit_and_reserve) {
    options o;
    const node nd;                                               // no ZFS: the flat reserve
    BOOST_TEST(usable_memory(o, nd, 100.0 * GiB) == 90.0 * GiB); // 0.9 x 100 < 100 - 1
    o.memory_reserve = 20 * GiB;
    BOOST_TEST(usable_memory(o, nd, 100.0 * GiB) == 80.0 * GiB);
    o.memory_reserve = 200 * GiB;
    BOOST_TEST(usable_memory(o, nd, 100.0 * GiB) == 0.0); // never negative
}

BOOST_AUTO_TEST_CASE(memory_limit) {
    {
        fixture f(capacity_cluster()); // 60 + 20 <= 90
        expect_ok(f.fits(f.state(), {100}, "target"));
    }
    snapshot_builder b = capacity_cluster();
    b.extra()["options"]["memory-limit"] = 0.75; // 80 > 75
    fixture f(b);
    expect_rejection(f.fits(f.state(), {100}, "target"), "memory",
                     {"target", "20.0 GiB", "15.0 GiB"});
    // Without explanation (search loops): the same constraint, no message.
    const auto quiet = f.fits(f.state(), {100}, "target", false);
    BOOST_REQUIRE(quiet.has_value());
    BOOST_TEST(quiet->kind == "memory");
    BOOST_TEST(quiet->message.empty());
}

BOOST_AUTO_TEST_CASE(memory_reserve_boundary) {
    snapshot_builder b = capacity_cluster();
    b.extra()["options"]["memory-reserve"] = "20G"; // usable exactly 80 GiB: 60 + 20 fits
    fixture f(b);
    expect_ok(f.fits(f.state(), {100}, "target"));

    snapshot_builder c = capacity_cluster();
    c.extra()["options"]["memory-reserve"] =
        static_cast<Json::UInt64>(20 * GiB + 1); // one byte less
    fixture g(c);
    expect_rejection(g.fits(g.state(), {100}, "target"), "memory", {"target"});
}

BOOST_AUTO_TEST_CASE(cpu_limit) {
    {
        fixture f(capacity_cluster()); // 8 + 4 = 12 of 16 cores: 75%
        expect_ok(f.fits(f.state(), {100}, "target"));
    }
    snapshot_builder b = capacity_cluster();
    b.extra()["options"]["cpu-limit"] = 0.7;
    fixture f(b);
    expect_rejection(f.fits(f.state(), {100}, "target"), "cpu", {"target", "75.0%", "70.0%"});
}

BOOST_AUTO_TEST_CASE(stopped_guests_need_no_room) {
    snapshot_builder b = capacity_cluster();
    b.guest(101, "source", 64, 512 * GiB, 0, 0, "qemu", "stopped");
    b.extra()["options"]["max-vcpu-ratio"] = 1;
    b.extra()["options"]["max-memory-ratio"] = 1;
    fixture f(b);
    expect_ok(f.fits(f.state(), {101}, "target"));
}

snapshot_builder ratio_cluster() {
    snapshot_builder b = capacity_cluster();
    b.guest(200, "target", 16, 68 * GiB, 0, 0); // running: 16 vCPUs, 68 GiB assigned
    b.guest(201, "target", 64, 256 * GiB, 0, 0, "qemu", "stopped"); // stopped: assigns nothing
    return b;
}

BOOST_AUTO_TEST_CASE(max_vcpu_ratio) {
    snapshot_builder b = ratio_cluster();
    b.extra()["options"]["max-vcpu-ratio"] = 1.2; // 16 + 4 = 20 > 19.2
    fixture f(b);
    expect_rejection(f.fits(f.state(), {100}, "target"), "vcpu-ratio", {"target"});

    snapshot_builder c = ratio_cluster();
    c.extra()["options"]["max-vcpu-ratio"] = 1.25; // 20 <= 20
    fixture g(c);
    expect_ok(g.fits(g.state(), {100}, "target"));
}

BOOST_AUTO_TEST_CASE(max_memory_ratio) {
    snapshot_builder b = ratio_cluster();
    b.extra()["options"]["max-memory-ratio"] = 0.99; // 68 + 32 = 100 GiB assigned > 99
    fixture f(b);
    expect_rejection(f.fits(f.state(), {100}, "target"), "memory-ratio", {"target"});

    snapshot_builder c = ratio_cluster();
    c.extra()["options"]["max-memory-ratio"] = 1; // 100 <= 100
    fixture g(c);
    expect_ok(g.fits(g.state(), {100}, "target"));
}

BOOST_AUTO_TEST_CASE(a_guest_in_flight_loads_both_nodes) {
    // 100 (20 GiB) leaves source (60 GiB in use) for target (60 GiB). 101 (40 GiB) wants source:
    // it fits there only once 100 has *finished* leaving.
    snapshot_builder b = capacity_cluster();
    b.node("spare", 16, 100 * GiB, 0, 50 * GiB);
    b.guest(101, "spare", 2, 48 * GiB, 0, 40 * GiB);
    b.guest(102, "source", 2, 48 * GiB, 0, 40 * GiB);
    fixture f(b);
    overlay st = f.state();
    expect_rejection(f.fits(st, {101}, "source"), "memory", {"source"}); // 60 + 40 > 90
    st.begin(f.guest(100), f.node("target"));
    BOOST_TEST(st.target_of(f.guest(100)) == f.node("target"));
    BOOST_TEST(st.node_of(f.guest(100)) == f.node("source"));
    BOOST_TEST(st.load().used[f.node("target")][dimension::memory] == 80.0 * GiB);
    BOOST_TEST(st.load().used[f.node("source")][dimension::memory] == 60.0 * GiB);
    BOOST_TEST(st.assigned(f.node("target"))[dimension::cpu] == 4.0);
    BOOST_TEST(st.assigned(f.node("source"))[dimension::cpu] == 6.0);
    expect_rejection(f.fits(st, {101}, "source"), "memory", {"source"}); // still 60 + 40
    expect_rejection(f.fits(st, {101}, "target"), "memory", {"target"}); // 80 + 40
    st.finish(f.guest(100));
    BOOST_TEST(st.node_of(f.guest(100)) == f.node("target"));
    BOOST_TEST(st.target_of(f.guest(100)) == no_node);
    BOOST_TEST(st.load().used[f.node("source")][dimension::memory] == 40.0 * GiB);
    BOOST_TEST(st.assigned(f.node("source"))[dimension::cpu] == 2.0);
    expect_ok(f.fits(st, {101}, "source")); // 40 + 40
}

BOOST_AUTO_TEST_CASE(unit_members_already_on_the_target_count_once) {
    snapshot_builder b = capacity_cluster();
    b.guest(101, "target", 2, 32 * GiB, 0, 25 * GiB); // t: 60 GiB including 101
    fixture f(b);
    // 100 and 101 arrive "together": only 100 adds (60 + 20 <= 90).
    expect_ok(f.fits(f.state(), {100, 101}, "target"));
}

// --- keep apart ------------------------------------------------------------------------------

snapshot_builder apart_cluster(bool ha_rule) {
    snapshot_builder b = four_nodes();
    b.node("echo", 16, 64 * GiB, 0, 0);
    b.guest(101, "bravo", 1, GiB, 0.1, GiB);
    b.guest(102, "charlie", 1, GiB, 0.1, GiB);
    b.guest(103, "charlie", 1, GiB, 0.1, GiB); // not in the group
    if (ha_rule) {
        Json::Value r = rule_json("spread-db", "resource-affinity", "vm:100,vm:101,vm:102");
        r["affinity"] = "negative";
        b.extra()["ha"]["rules"].append(r);
    } else {
        for (Json::Value &e : b.resources()) {
            if (e["type"] == "qemu" && e["vmid"].asUInt() <= 102) {
                e["tags"] = "plb_anti_affinity_db";
            }
        }
    }
    return b;
}

BOOST_AUTO_TEST_CASE(negative_resource_affinity_keeps_guests_apart) {
    fixture f(apart_cluster(true));
    overlay st = f.state();
    expect_rejection(f.fits(st, {100}, "bravo"), "anti-affinity", {"spread-db", "bravo"});
    expect_rejection(f.fits(st, {100}, "charlie"), "anti-affinity", {"spread-db", "charlie"});
    expect_ok(f.fits(st, {100}, "delta"));
    expect_ok(f.fits(st, {103}, "bravo")); // not a member
}

BOOST_AUTO_TEST_CASE(anti_affinity_tag_keeps_guests_apart) {
    fixture f(apart_cluster(false));
    overlay st = f.state();
    expect_rejection(f.fits(st, {100}, "bravo"), "anti-affinity",
                     {"plb_anti_affinity_db", "bravo"});
    expect_ok(f.fits(st, {100}, "delta"));

    snapshot_builder off = apart_cluster(false);
    off.extra()["options"]["honor-proxlb-tags"] = false;
    fixture g(off);
    expect_ok(g.fits(g.state(), {100}, "bravo"));
}

BOOST_AUTO_TEST_CASE(a_keep_apart_member_in_flight_counts_on_both_nodes) {
    fixture f(apart_cluster(true));
    overlay st = f.state();
    st.begin(f.guest(100), f.node("delta")); // a -> d, in flight
    BOOST_TEST(st.apart_count(0, f.node("alpha")) == 1);
    BOOST_TEST(st.apart_count(0, f.node("delta")) == 1);
    expect_rejection(f.fits(st, {101}, "delta"), "anti-affinity", {"spread-db", "delta"});
    expect_rejection(f.fits(st, {101}, "alpha"), "anti-affinity", {"spread-db", "alpha"});
    expect_ok(f.fits(st, {101}, "echo"));
    st.finish(f.guest(100));
    BOOST_TEST(st.apart_count(0, f.node("alpha")) == 0);
    expect_ok(f.fits(st, {101}, "alpha"));
    expect_rejection(f.fits(st, {101}, "delta"), "anti-affinity", {"delta"});
}

// --- keep together ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(keep_together_units_move_as_one) {
    // a is overloaded by two keep-together pairs (an HA rule and a tag group); b and c idle.
    snapshot_builder b;
    b.node("alpha", 16, 64 * GiB, 1.0, 34 * GiB).node("bravo", 16, 64 * GiB, 0.02, 2 * GiB);
    b.node("charlie", 16, 64 * GiB, 0.02, 2 * GiB);
    for (std::uint32_t v : {100u, 101u, 102u, 103u}) {
        b.guest(v, "alpha", 4, 8 * GiB, 1.0, 8 * GiB);
    }
    b.resources()[5]["tags"] = "plb_affinity_web";
    b.resources()[6]["tags"] = "plb_affinity_web";
    b.extra()["ha"]["rules"].append(rule_json("pair", "resource-affinity", "vm:100,vm:101"));
    b.extra()["options"]["max-parallel-per-node"] = 4;
    fixture f(b);
    BOOST_TEST(f.a.together[f.guest(100)] == f.a.together[f.guest(101)]);
    BOOST_TEST(f.a.together[f.guest(102)] == f.a.together[f.guest(103)]);
    BOOST_TEST(f.a.together[f.guest(100)] != f.a.together[f.guest(102)]);

    const plan p = plan_balance(f.s.c, f.s.opts);
    std::map<guest_id, const migration *> moved;
    for (const migration &m : p.migrations) {
        moved[m.guest] = &m;
    }
    BOOST_REQUIRE(!moved.empty());
    for (auto [x, y] : {std::pair{100u, 101u}, std::pair{102u, 103u}}) {
        const guest_id gx = f.guest(x), gy = f.guest(y);
        BOOST_TEST(moved.count(gx) == moved.count(gy));
        if (moved.count(gx)) {
            BOOST_TEST(moved[gx]->to == moved[gy]->to);
            BOOST_TEST(moved[gx]->wave == moved[gy]->wave);
            BOOST_TEST(contains(moved[gx]->reason, "affinity group"));
        }
    }
    BOOST_TEST(p.after.objective < p.before.objective);
}

BOOST_AUTO_TEST_CASE(an_immovable_member_pins_its_keep_together_group) {
    // 101 is locked: 100 must not leave without it, though a is hot and b idle.
    snapshot_builder b;
    b.node("alpha", 16, 64 * GiB, 1.0, 18 * GiB).node("bravo", 16, 64 * GiB, 0.02, 2 * GiB);
    b.guest(100, "alpha", 8, 8 * GiB, 1.0, 8 * GiB);
    b.guest(101, "alpha", 8, 8 * GiB, 1.0, 8 * GiB)["lock"] = "backup";
    b.extra()["ha"]["rules"].append(rule_json("pair", "resource-affinity", "vm:100,vm:101"));
    fixture f(b);
    const plan p = plan_balance(f.s.c, f.s.opts);
    BOOST_TEST(p.migrations.empty());

    const plan e = plan_evacuate(f.s.c, f.s.opts, {f.node("alpha")});
    BOOST_TEST(e.migrations.empty());
    BOOST_REQUIRE(e.unplaced.size() == 2u);
    BOOST_TEST(e.unplaced[0].guest == f.guest(100));
    BOOST_REQUIRE(!e.unplaced[0].reasons.empty());
    BOOST_TEST(e.unplaced[0].reasons[0].why.kind == "affinity");
    BOOST_TEST(contains(e.unplaced[0].reasons[0].why.message, "vm:101"));
    BOOST_TEST(e.unplaced[1].reasons[0].why.kind == "locked");
}

BOOST_AUTO_TEST_CASE(an_unplaced_unit_member_names_its_partners_rejection) {
    // 100 (ceph) and 101 (local-zfs) must stay together; only alpha has local-zfs. Draining alpha,
    // 100 could go anywhere on its own, so its reason is the partner's storage.
    snapshot_builder b;
    b.node("alpha", 16, 64 * GiB, 0.1, 8 * GiB)
        .node("bravo", 16, 64 * GiB)
        .node("charlie", 16, 64 * GiB);
    for (const char *n : {"alpha", "bravo", "charlie"}) {
        b.storage(n, "ceph", true);
    }
    b.storage("alpha", "local-zfs", false);
    b.guest(100, "alpha", 1, 2 * GiB, 0.1, GiB);
    b.guest(101, "alpha", 1, 2 * GiB, 0.1, GiB);
    b.extra()["guests"]["100"]["config"]["scsi0"] = "ceph:vm-100-disk-0,size=8G";
    b.extra()["guests"]["101"]["config"]["scsi0"] = "local-zfs:vm-101-disk-0,size=8G";
    b.extra()["ha"]["rules"].append(rule_json("pair", "resource-affinity", "vm:100,vm:101"));
    fixture f(b);
    const plan e = plan_evacuate(f.s.c, f.s.opts, {f.node("alpha")});
    BOOST_TEST(e.migrations.empty());
    BOOST_REQUIRE_EQUAL(e.unplaced.size(), 2u);
    const unplaced_guest &u = e.unplaced[0];
    BOOST_TEST(u.guest == f.guest(100));
    BOOST_REQUIRE_EQUAL(u.reasons.size(), 2u); // one per other node
    for (const node_rejection &r : u.reasons) {
        BOOST_REQUIRE(r.node.has_value());
        BOOST_TEST(r.why.kind == "affinity");
        BOOST_TEST(contains(r.why.message, "vm:101"));
        BOOST_TEST(contains(r.why.message, f.s.c.nodes[*r.node].name));
    }
    BOOST_TEST(e.unplaced[1].reasons[0].why.kind == "storage");
}

// --- guests that never move ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(containers_move_only_with_allow_container_restart) {
    snapshot_builder b;
    b.node("alpha", 16, 64 * GiB, 1.0, 20 * GiB).node("bravo", 16, 64 * GiB, 0.02, 2 * GiB);
    b.guest(300, "alpha", 8, 8 * GiB, 1.0, 8 * GiB, "lxc");
    b.guest(301, "alpha", 8, 8 * GiB, 1.0, 8 * GiB, "lxc");
    b.guest(302, "alpha", 2, 2 * GiB, 0, 0, "lxc", "stopped");
    {
        fixture f(b);
        BOOST_TEST(f.immovable(300) == std::vector<std::string>{"container-restart"});
        BOOST_TEST(contains(immovable_reasons(f.s.c, f.s.opts, f.guest(300))[0].message,
                            "allow-container-restart"));
        BOOST_TEST(f.immovable(302).empty()); // stopped: an ordinary offline migration
        BOOST_TEST(plan_balance(f.s.c, f.s.opts).migrations.empty());
    }
    b.extra()["options"]["allow-container-restart"] = true;
    fixture f(b);
    BOOST_TEST(f.immovable(300).empty());
    const plan p = plan_balance(f.s.c, f.s.opts);
    BOOST_REQUIRE(!p.migrations.empty());
    BOOST_TEST((p.migrations[0].mode == migration_mode::restart));
    BOOST_TEST(p.migrations[0].cost.downtime >= f.s.opts.restart_downtime);
}

BOOST_AUTO_TEST_CASE(immovable_reasons_name_every_cause) {
    snapshot_builder b;
    b.node("alpha", 16, 64 * GiB, 0.1, 8 * GiB)
        .node("bravo", 16, 64 * GiB)
        .node("zulu", 16, 64 * GiB, 0, 0, false);
    b.guest(100, "alpha", 1, GiB, 0, 0, "qemu", "stopped");
    Json::Value &t = b.guest(101, "alpha", 1, GiB, 0, 0, "qemu", "stopped");
    t["template"] = 1;
    t["lock"] = "backup";
    t["tags"] = "PVEBAL-Ignore";
    b.guest(102, "alpha", 1, GiB, 0.1, GiB)["tags"] = "plb_ignore_me";
    b.guest(103, "alpha", 1, GiB, 0.1, GiB);
    b.extra()["guests"]["103"]["config"]["hostpci0"] = "0000:01:00.0,pcie=1";
    b.extra()["guests"]["103"]["config"]["usb0"] = "spice";
    b.guest(104, "alpha", 1, GiB, 0.1, GiB);
    b.extra()["guests"]["104"]["config"]["usb0"] = "spice";
    b.extra()["guests"]["104"]["config"]["serial0"] = "socket";
    b.guest(105, "alpha", 1, GiB, 0.1, GiB);
    b.extra()["ha"]["resources"].append(ha_resource_json("vm:105"));
    b.extra()["ha"]["resources"][0]["state"] = "ignored";
    b.guest(106, "zulu", 1, GiB, 0, 0, "qemu", "unknown");
    b.guest(107, "alpha", 1, GiB, 0.1, GiB);
    b.extra()["guests"]["107"]["migrate"]["local_resources"].append("hostpci1");
    fixture f(b);

    BOOST_TEST(f.immovable(100).empty());
    BOOST_TEST(f.immovable(101) == (std::vector<std::string>{"template", "locked", "ignore-tag"}));
    const auto r101 = immovable_reasons(f.s.c, f.s.opts, f.guest(101));
    BOOST_TEST(contains(r101[1].message, "backup"));
    BOOST_TEST(f.immovable(102) == std::vector<std::string>{"ignore-tag"});
    BOOST_TEST(f.immovable(103) == std::vector<std::string>{"local-resource"});
    BOOST_TEST(contains(immovable_reasons(f.s.c, f.s.opts, f.guest(103))[0].message, "hostpci0"));
    BOOST_TEST(!contains(immovable_reasons(f.s.c, f.s.opts, f.guest(103))[0].message, "usb0"));
    BOOST_TEST(f.immovable(104).empty()); // spice USB and a socket serial port do not pin
    BOOST_TEST(f.immovable(105) == std::vector<std::string>{"ha-ignored"});
    BOOST_TEST(f.immovable(106) == std::vector<std::string>{"node-offline"});
    BOOST_TEST(contains(immovable_reasons(f.s.c, f.s.opts, f.guest(106))[0].message, "zulu"));
    BOOST_TEST(f.immovable(107) == std::vector<std::string>{"local-resource"});

    // plb_ignore_* only counts with honor-proxlb-tags.
    b.extra()["options"]["honor-proxlb-tags"] = false;
    fixture g(b);
    BOOST_TEST(g.immovable(102).empty());
    BOOST_TEST(g.immovable(101) == (std::vector<std::string>{"template", "locked", "ignore-tag"}));
}

BOOST_AUTO_TEST_CASE(planners_never_move_immovable_guests) {
    // Everything on a hot node is immovable for a different reason; b is idle.
    snapshot_builder b;
    b.node("alpha", 16, 64 * GiB, 1.0, 40 * GiB).node("bravo", 16, 64 * GiB, 0.02, 2 * GiB);
    b.guest(100, "alpha", 4, 8 * GiB, 1.0, 6 * GiB)["lock"] = "snapshot";
    b.guest(101, "alpha", 4, 8 * GiB, 1.0, 6 * GiB)["tags"] = "pvebal-ignore";
    b.guest(102, "alpha", 4, 8 * GiB, 1.0, 6 * GiB);
    b.extra()["guests"]["102"]["config"]["hostpci0"] = "0000:02:00.0";
    b.guest(103, "alpha", 4, 8 * GiB, 1.0, 6 * GiB, "lxc");
    b.guest(104, "alpha", 4, 8 * GiB, 0, 0, "qemu", "stopped")["template"] = 1;
    fixture f(b);
    const plan p = plan_balance(f.s.c, f.s.opts);
    BOOST_TEST(p.migrations.empty());
    const plan e = plan_evacuate(f.s.c, f.s.opts, {f.node("alpha")});
    BOOST_TEST(e.migrations.empty());
    BOOST_TEST(e.unplaced.size() == 5u);
}

BOOST_AUTO_TEST_SUITE_END()
