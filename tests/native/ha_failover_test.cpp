// HA failover: where the HA guests of failed nodes restart, case by case (rules, capacity,
// priorities, unrecoverable guests, waves). Generated clusters: ha_property_test.cpp.
#include "support/ha_generator.h"
#include "support/ha_reference.h"
#include "support/ha_world.h"

#include <boost/test/unit_test.hpp>

using namespace pvebal;
using namespace pvebal::test;
using namespace pvebal::test::ha;

BOOST_AUTO_TEST_SUITE(ha_planning)

// Writes the generated snapshot of seed $PVEBAL_HA_DUMP to stdout (to debug a failing seed with
// the CLI): ./build/pvebal-tests --run_test=ha_planning/dump_generated_snapshot
BOOST_AUTO_TEST_CASE(dump_generated_snapshot) {
    const char *seed = std::getenv("PVEBAL_HA_DUMP");
    rng_t r(seed != nullptr ? static_cast<std::uint32_t>(std::stoul(seed)) : 1u);
    const std::string text = generate(r).b.json();
    BOOST_TEST(read_snapshot(text).has_value());
    if (seed != nullptr) {
        std::printf("%s\n", text.c_str());
    }
}

// --- failover: rules ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(failover_strict_node_affinity_with_every_allowed_node_failed) {
    snapshot_builder b;
    for (const char *n : {"n1", "n2", "n3", "n4"}) {
        b.node(n, 16, 64 * GiB, 0.0, 4 * GiB);
    }
    ha_vm(b, 100, "n1", 2, 4, 0.25, 2); // licensed software: only n1 or n2
    ha_vm(b, 101, "n2", 2, 4, 0.25, 2);
    node_rule(b, "licence", "vm:100", "n1,n2", true);
    world w(b);

    plan p = w.failover({"n1"});
    BOOST_TEST(w.target(p, 100) == "n2"); // the only allowed survivor

    p = w.failover({"n1", "n2"});
    BOOST_TEST(w.target(p, 100) == "");
    BOOST_TEST(w.why(p, 100, "n2") == "failed");
    BOOST_TEST(w.why(p, 100, "n3") == "ha-node-affinity");
    BOOST_TEST(w.why(p, 100, "n4") == "ha-node-affinity");
    BOOST_TEST(w.target(p, 101) != ""); // unruled: recovers
    BOOST_TEST(p.unplaced.size() == 1u);
    BOOST_TEST((w.names(p.drained) == std::vector<std::string>{"n1", "n2"}));
}

BOOST_AUTO_TEST_CASE(failover_non_strict_node_affinity_takes_the_highest_surviving_class) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.0, 4 * GiB);
    b.node("n2", 16, 64 * GiB, 0.5, 40 * GiB); // loaded, but preferred
    b.node("n3", 16, 64 * GiB, 0.25, 20 * GiB);
    b.node("n4", 16, 64 * GiB, 0.0, 1 * GiB); // empty, unlisted
    ha_vm(b, 100, "n1", 2, 4, 0.25, 2);
    node_rule(b, "prefer", "vm:100", "n1:3,n2:2,n3:1", false);
    world w(b);
    BOOST_TEST(w.target(w.failover({"n1"}), 100) == "n2");
    BOOST_TEST(w.target(w.failover({"n1", "n2"}), 100) == "n3");
    BOOST_TEST(w.target(w.failover({"n1", "n2", "n3"}), 100) == "n4"); // unlisted nodes at -1

    // pve-ha-manager only looks at the top class among the online nodes: when that class has no
    // room, the guest does not fall back to a lower class.
    snapshot_builder f;
    f.node("n1", 16, 64 * GiB, 0.0, 4 * GiB);
    f.node("n2", 16, 64 * GiB, 0.5, 56 * GiB); // full: 4 GiB more would cross 57.6 GiB
    f.node("n3", 16, 64 * GiB, 0.0, 1 * GiB);
    ha_vm(f, 100, "n1", 2, 4, 0.25, 2);
    node_rule(f, "prefer", "vm:100", "n1:3,n2:2,n3:1", false);
    world wf(f);
    plan p = wf.failover({"n1"});
    BOOST_TEST(wf.target(p, 100) == "");
    BOOST_TEST(wf.why(p, 100, "n2") == "memory");
    BOOST_TEST(wf.why(p, 100, "n3") == "ha-node-affinity");

    // Two nodes in the top class: the less loaded one.
    snapshot_builder t;
    t.node("n1", 16, 64 * GiB, 0.0, 4 * GiB);
    t.node("n2", 16, 64 * GiB, 0.5, 40 * GiB);
    t.node("n3", 16, 64 * GiB, 0.1, 8 * GiB);
    t.node("n4", 16, 64 * GiB, 0.0, 1 * GiB);
    ha_vm(t, 100, "n1", 2, 4, 0.25, 2);
    node_rule(t, "prefer", "vm:100", "n1:3,n2:2,n3:2", false);
    world wt(t);
    BOOST_TEST(wt.target(wt.failover({"n1"}), 100) == "n3");
}

BOOST_AUTO_TEST_CASE(failover_negative_resource_affinity_forces_spread) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.1, 9 * GiB);
    b.node("n2", 16, 64 * GiB, 0.1, 9 * GiB);
    b.node("n3", 16, 64 * GiB, 0.1, 9 * GiB);
    b.node("n4", 16, 64 * GiB, 0.6, 40 * GiB); // busy, but the only node without a database
    ha_vm(b, 100, "n1", 4, 8, 0.25, 8);
    ha_vm(b, 101, "n2", 4, 8, 0.25, 8);
    ha_vm(b, 102, "n3", 4, 8, 0.25, 8);
    resource_rule(b, "dbs-apart", "vm:100,vm:101,vm:102", false);
    world w(b);
    plan p = w.failover({"n1"});
    BOOST_TEST(w.target(p, 100) == "n4");
    p = w.failover({"n1", "n4"});
    BOOST_TEST(w.target(p, 100) == "");
    BOOST_TEST(w.why(p, 100, "n2") == "anti-affinity");
    BOOST_TEST(w.why(p, 100, "n3") == "anti-affinity");

    // Two members on two failed nodes: one per survivor, although n3 alone has room for both
    // and would be the balanced choice.
    snapshot_builder s;
    s.node("n1", 16, 64 * GiB, 0.1, 9 * GiB);
    s.node("n2", 16, 64 * GiB, 0.1, 9 * GiB);
    s.node("n3", 16, 64 * GiB, 0.0, 1 * GiB);
    s.node("n4", 16, 64 * GiB, 0.5, 30 * GiB);
    ha_vm(s, 110, "n1", 4, 8, 0.25, 8);
    ha_vm(s, 111, "n2", 4, 8, 0.25, 8);
    resource_rule(s, "web-apart", "vm:110,vm:111", false);
    world ws(s);
    p = ws.failover({"n1", "n2"});
    const std::string t0 = ws.target(p, 110), t1 = ws.target(p, 111);
    BOOST_TEST(t0 != "");
    BOOST_TEST(t1 != "");
    BOOST_TEST(t0 != t1);

    // The same with ProxLB tags.
    snapshot_builder g;
    g.node("n1", 16, 64 * GiB, 0.1, 9 * GiB);
    g.node("n2", 16, 64 * GiB, 0.0, 1 * GiB);
    g.node("n3", 16, 64 * GiB, 0.5, 30 * GiB);
    ha_vm(g, 120, "n1", 4, 8, 0.25, 8, "plb_anti_affinity_dns");
    ha_vm(g, 121, "n2", 1, 1, 0.0, 0, "plb_anti_affinity_dns");
    world wg(g);
    BOOST_TEST(wg.target(wg.failover({"n1"}), 120) == "n3");
}

BOOST_AUTO_TEST_CASE(failover_positive_affinity_bundle_restarts_together) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.1, 13 * GiB);
    b.node("n2", 16, 64 * GiB, 0.3, 44 * GiB); // room for one of the pair, not both
    b.node("n3", 16, 64 * GiB, 0.4, 30 * GiB);
    ha_vm(b, 100, "n1", 4, 8, 0.25, 6); // app
    ha_vm(b, 101, "n1", 4, 8, 0.25, 6); // its database
    resource_rule(b, "shop", "vm:100,vm:101", true);
    world w(b);
    plan p = w.failover({"n1"});
    BOOST_TEST(w.target(p, 100) == "n3");
    BOOST_TEST(w.target(p, 101) == "n3");
    BOOST_TEST(w.move_of(p, 100)->wave == w.move_of(p, 101)->wave);

    // A partner that survives pulls the guest to its node, even to a busier one.
    snapshot_builder s;
    s.node("n1", 16, 64 * GiB, 0.1, 7 * GiB);
    s.node("n2", 16, 64 * GiB, 0.5, 30 * GiB);
    s.node("n3", 16, 64 * GiB, 0.0, 1 * GiB);
    ha_vm(s, 100, "n1", 4, 8, 0.25, 6);
    ha_vm(s, 101, "n2", 4, 8, 0.25, 6);
    resource_rule(s, "shop", "vm:100,vm:101", true);
    world ws(s);
    BOOST_TEST(ws.target(ws.failover({"n1"}), 100) == "n2");

    // ... and when that node has no room, the guest does not restart elsewhere.
    snapshot_builder f;
    f.node("n1", 16, 64 * GiB, 0.1, 7 * GiB);
    f.node("n2", 16, 64 * GiB, 0.5, 52 * GiB);
    f.node("n3", 16, 64 * GiB, 0.0, 1 * GiB);
    ha_vm(f, 100, "n1", 4, 8, 0.25, 6);
    ha_vm(f, 101, "n2", 4, 8, 0.25, 6);
    resource_rule(f, "shop", "vm:100,vm:101", true);
    world wf(f);
    plan pf = wf.failover({"n1"});
    BOOST_TEST(wf.target(pf, 100) == "");
    BOOST_TEST(wf.why(pf, 100, "n2") == "memory");
    BOOST_TEST(wf.why(pf, 100, "n3") ==
               "affinity"); // not "priority": n3 is free, but not its partner's node

    // A pair that fits nowhere as a pair: each member alone would fit on n2 (8 GiB usable left),
    // so the reason must count the pair (16 GiB).
    snapshot_builder u;
    u.node("n1", 16, 64 * GiB, 0.1, 13 * GiB);
    u.node("n2", 16, 64 * GiB, 0.5, 49 * GiB);
    ha_vm(u, 100, "n1", 4, 8, 0.25, 6);
    ha_vm(u, 101, "n1", 4, 8, 0.25, 6);
    resource_rule(u, "shop", "vm:100,vm:101", true);
    world wu(u);
    plan pu = wu.failover({"n1"});
    BOOST_TEST(pu.unplaced.size() == 2u);
    BOOST_TEST(wu.why(pu, 100, "n2") == "memory");
    BOOST_TEST(wu.why(pu, 101, "n2") == "memory");

    // Partners on two failed nodes still restart on one node (pve-ha-manager sends the second
    // to where the first went).
    snapshot_builder t;
    for (const char *n : {"n1", "n2", "n3", "n4"}) {
        t.node(n, 16, 64 * GiB, 0.0, 4 * GiB);
    }
    ha_vm(t, 100, "n1", 2, 4, 0.0, 2);
    ha_vm(t, 101, "n2", 2, 4, 0.0, 2);
    resource_rule(t, "pair", "vm:100,vm:101", true);
    world wt(t);
    plan pt = wt.failover({"n1", "n2"});
    BOOST_TEST(wt.target(pt, 100) != "");
    BOOST_TEST(wt.target(pt, 100) == wt.target(pt, 101));
}

// --- failover: capacity and priorities -----------------------------------------------------------

BOOST_AUTO_TEST_CASE(failover_priorities_under_shortage_leave_the_lowest_out) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.1, 17 * GiB);
    b.node("n2", 16, 64 * GiB, 0.3, 44 * GiB); // 13.6 GiB usable left: one of the two
    ha_vm(b, 100, "n1", 2, 8, 0.25, 8, "pvebal-priority-1");
    ha_vm(b, 101, "n1", 2, 8, 0.25, 8, "pvebal-priority-5");
    world w(b);
    plan p = w.failover({"n1"});
    BOOST_TEST(w.target(p, 101) == "n2");
    BOOST_TEST(w.target(p, 100) == "");
    BOOST_TEST(w.why(p, 100, "n2") == "memory");

    // Without a tag a guest has default-priority.
    snapshot_builder b2;
    b2.node("n1", 16, 64 * GiB, 0.1, 17 * GiB);
    b2.node("n2", 16, 64 * GiB, 0.3, 44 * GiB);
    ha_vm(b2, 100, "n1", 2, 8, 0.25, 8);
    ha_vm(b2, 101, "n1", 2, 8, 0.25, 8, "pvebal-priority-1");
    world w2(b2, [](options &o) { o.default_priority = 3; });
    p = w2.failover({"n1"});
    BOOST_TEST(w2.target(p, 100) == "n2");
    BOOST_TEST(w2.target(p, 101) == "");

    // The fast pass alone would strand a priority-2 guest (the 6 GiB one goes to the big node
    // first); the priority-2 guests all fit when 6 GiB goes to the small node, and then the
    // priority-1 guest is the one left out.
    snapshot_builder c;
    c.node("f", 16, 16 * GiB);
    c.node("x", 16, 10 * GiB);
    c.node("y", 16, 6 * GiB);
    ha_vm(c, 100, "f", 1, 6, 0, 0, "pvebal-priority-2");
    ha_vm(c, 101, "f", 1, 5, 0, 0, "pvebal-priority-2");
    ha_vm(c, 102, "f", 1, 5, 0, 0, "pvebal-priority-2");
    ha_vm(c, 103, "f", 1, 0.5, 0, 0, "pvebal-priority-1");
    world wc(c, [](options &o) {
        o.memory_limit = 1.0;
        o.memory_reserve = 0;
    });
    p = wc.failover({"f"});
    BOOST_TEST(wc.target(p, 100) == "y");
    BOOST_TEST(wc.target(p, 101) == "x");
    BOOST_TEST(wc.target(p, 102) == "x");
    BOOST_TEST(wc.target(p, 103) == "");
    BOOST_TEST(p.notes.size() == 1u); // only why it stopped: no search-budget note
}

BOOST_AUTO_TEST_CASE(failover_exhaustive_search_finds_the_packing_the_fast_pass_misses) {
    // x has 10 GiB, y 6 GiB. The balanced fast pass puts the 6 GiB guest on x and strands a
    // 5 GiB one; the search finds 6 -> y, 5 + 5 -> x.
    snapshot_builder b;
    b.node("f", 16, 16 * GiB);
    b.node("x", 16, 10 * GiB);
    b.node("y", 16, 6 * GiB);
    ha_vm(b, 100, "f", 1, 6, 0, 0);
    ha_vm(b, 101, "f", 1, 5, 0, 0);
    ha_vm(b, 102, "f", 1, 5, 0, 0);
    world w(b, [](options &o) {
        o.memory_limit = 1.0;
        o.memory_reserve = 0;
    });
    plan p = w.failover({"f"});
    BOOST_TEST(p.unplaced.empty());
    BOOST_TEST(p.notes.size() == 1u); // only why it stopped: no search-budget note
    BOOST_TEST(w.target(p, 100) == "y");
    BOOST_TEST(w.target(p, 101) == "x");
    BOOST_TEST(w.target(p, 102) == "x");
}

BOOST_AUTO_TEST_CASE(failover_heterogeneous_nodes) {
    snapshot_builder b;
    b.node("big", 64, 256 * GiB, 0.25, 128 * GiB);
    b.node("dead", 16, 64 * GiB, 0.2, 40 * GiB);
    b.node("small", 8, 16 * GiB, 0.0, 1 * GiB);
    ha_vm(b, 100, "dead", 4, 24, 0.25, 20); // fits only on big (small has 14.4 GiB usable)
    ha_vm(b, 101, "dead", 2, 4, 0.25, 4);
    ha_vm(b, 102, "dead", 2, 4, 0.25, 4);
    ha_vm(b, 103, "dead", 2, 4, 0.25, 4);
    ha_vm(b, 104, "dead", 2, 300, 0.0, 4); // fits nowhere
    world w(b);
    plan p = w.failover({"dead"});
    BOOST_TEST(w.target(p, 100) == "big");
    BOOST_TEST(w.target(p, 104) == "");
    BOOST_TEST(w.why(p, 104, "big") == "memory");
    BOOST_TEST(w.why(p, 104, "small") == "memory");
    // Balanced by utilisation, not by absolute free memory: the small node takes a share.
    int on_small = 0;
    for (std::uint32_t v : {101u, 102u, 103u}) {
        on_small += w.target(p, v) == "small" ? 1 : 0;
        BOOST_TEST(w.target(p, v) != "");
    }
    BOOST_TEST(on_small >= 1);
    // Nothing above the limits afterwards.
    reference ref(w.c(), w.o, false);
    std::vector<bool> failed(w.c().nodes.size(), false);
    failed[w.node("dead")] = true;
    const auto errs = check_failover(ref, failed, p);
    BOOST_TEST(errs.empty(), join(errs));
}

BOOST_AUTO_TEST_CASE(failover_cpu_limit_and_static_mode) {
    // In used mode a restarted guest claims its measured CPU; in static mode its vCPUs.
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.25, 9 * GiB);
    b.node("n2", 8, 64 * GiB, 0.5, 1 * GiB);
    ha_vm(b, 100, "n1", 4, 8, 0.25, 8); // 1 core measured, 4 vCPUs
    world used(b);
    BOOST_TEST(used.target(used.failover({"n1"}), 100) == "n2"); // 4 + 1 <= 7.2 cores
    world stat(b, [](options &o) { o.mode = load_mode::assigned; });
    plan p = stat.failover({"n1"});
    BOOST_TEST(stat.target(p, 100) == "n2"); // static: n2 runs nothing, 4 <= 7.2
    world tight(b, [](options &o) { o.cpu_limit = 0.6; });
    p = tight.failover({"n1"});
    BOOST_TEST(tight.target(p, 100) == "");
    BOOST_TEST(tight.why(p, 100, "n2") == "cpu");
    world ratio(b, [](options &o) { o.max_memory_ratio = 0.1; });
    p = ratio.failover({"n1"});
    BOOST_TEST(ratio.why(p, 100, "n2") == "memory-ratio");
}

BOOST_AUTO_TEST_CASE(failover_local_disks_and_devices_are_unrecoverable) {
    snapshot_builder b;
    for (const char *n : {"n1", "n2", "n3"}) {
        b.node(n, 16, 64 * GiB, 0.0, 12 * GiB);
        b.storage(n, "local", false);
        b.storage(n, "ceph", true);
    }
    for (std::uint32_t v = 100; v <= 105; ++v) {
        ha_vm(b, v, "n1", 1, 2, 0.0, 2);
    }
    Json::Value &g = b.extra()["guests"];
    g["100"]["config"]["scsi0"] = "local:vm-100-disk-0,size=32G"; // local disk
    g["101"]["config"]["hostpci0"] = "0000:01:00.0";              // passthrough
    g["102"]["config"]["scsi0"] = "ceph:vm-102-disk-0,size=32G";  // shared: fine
    g["103"]["config"]["scsi0"] = "ceph:vm-103-disk-0,size=32G";
    g["103"]["config"]["ide2"] = "local:iso/debian.iso,media=cdrom";        // an ISO is no disk
    g["104"]["migrate"]["local_disks"][0]["volid"] = "local:vm-104-disk-1"; // from the precondition
    g["105"]["config"]["usb0"] = "spice"; // spice USB pins nothing
    world w(b);
    plan p = w.failover({"n1"});
    BOOST_TEST(w.target(p, 100) == "");
    BOOST_TEST(w.why(p, 100, "-") == "local-storage");
    BOOST_TEST(w.target(p, 101) == "");
    BOOST_TEST(w.why(p, 101, "-") == "local-resource");
    BOOST_TEST(w.target(p, 104) == "");
    BOOST_TEST(w.why(p, 104, "-") == "local-storage");
    for (std::uint32_t v : {102u, 103u, 105u}) {
        BOOST_TEST(w.target(p, v) != "", "vm " << v);
    }
    BOOST_TEST(p.unplaced.size() == 3u);
    // An unrecoverable guest's one reason is about the guest itself.
    BOOST_TEST(w.unplaced(p, 100)->reasons.size() == 1u);
}

BOOST_AUTO_TEST_CASE(failover_all_guests_adds_running_non_ha_guests) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.1, 12 * GiB);
    b.node("n2", 16, 64 * GiB, 0.0, 2 * GiB);
    ha_vm(b, 100, "n1", 2, 4, 0.25, 4);
    b.guest(101, "n1", 2, 4 * GiB, 0.25, 4 * GiB);                           // running, not HA
    b.guest(102, "n1", 2, 4 * GiB, 0, 0, "qemu", "stopped");                 // stopped, not HA
    b.guest(103, "n1", 2, 4 * GiB, 0, 0, "qemu", "stopped")["template"] = 1; // template
    b.guest(104, "n1", 1, 2 * GiB, 0.1, 2 * GiB, "lxc");                     // running container
    Json::Value &d = b.guest(105, "n1", 1, 1 * GiB, 0.1, 1 * GiB);           // HA disabled
    (void)d;
    add_ha_resource(b, "vm:105", "disabled");
    world w(b);
    plan p = w.failover({"n1"});
    BOOST_TEST(p.migrations.size() == 1u);
    BOOST_TEST(w.target(p, 100) == "n2");
    BOOST_TEST(w.move_of(p, 100)->ha);
    p = w.failover({"n1"}, true);
    BOOST_TEST(p.migrations.size() == 4u); // 100, 101, 104 and the running (HA-disabled) 105
    BOOST_TEST(w.target(p, 101) == "n2");
    // A running guest whose HA resource is disabled is not HA-managed: with --all-guests it
    // restarts like any running guest, with its load.
    BOOST_TEST((w.move_of(p, 105)->mode == migration_mode::restart));
    BOOST_TEST(!w.move_of(p, 101)->ha);
    BOOST_TEST(w.target(p, 104) == "n2");
    BOOST_TEST(w.target(p, 102) == "");
    BOOST_TEST(w.target(p, 103) == "");
    BOOST_TEST(p.unplaced.empty());

    // Nothing HA-managed on the failed node: a note says how to include the rest.
    snapshot_builder n;
    n.node("n1", 16, 64 * GiB, 0.1, 12 * GiB);
    n.node("n2", 16, 64 * GiB, 0.0, 2 * GiB);
    n.guest(101, "n1", 2, 4 * GiB, 0.25, 4 * GiB);
    world wn(n);
    p = wn.failover({"n1"});
    BOOST_TEST(p.migrations.empty());
    BOOST_REQUIRE(p.notes.size() == 1u);
    BOOST_TEST(p.notes[0].find("--all-guests") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(failover_stopped_ha_guest_is_placed_without_load) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.1, 4 * GiB);
    b.node("n2", 16, 64 * GiB, 0.5, 56 * GiB); // no room for 32 GiB
    b.guest(100, "n1", 8, 32 * GiB, 0, 0, "qemu", "stopped");
    add_ha_resource(b, "vm:100", "stopped");
    world w(b);
    plan p = w.failover({"n1"});
    BOOST_REQUIRE(p.migrations.size() == 1u);
    const migration &m = p.migrations[0];
    BOOST_TEST(w.target(p, 100) == "n2");
    BOOST_TEST((m.mode == migration_mode::offline));
    BOOST_TEST(m.cost.downtime == 0.0);
    BOOST_TEST(p.after.stats[dimension::memory].max ==
               p.before.stats[dimension::memory].max); // n2 is as full as before

    // HA state "started" but not running at the moment: it starts on the survivor, so it
    // claims its configured memory.
    snapshot_builder s;
    s.node("n1", 16, 64 * GiB, 0.1, 4 * GiB);
    s.node("n2", 16, 64 * GiB, 0.5, 56 * GiB);
    s.guest(100, "n1", 8, 32 * GiB, 0, 0, "qemu", "stopped");
    add_ha_resource(s, "vm:100", "started");
    world ws(s);
    p = ws.failover({"n1"});
    BOOST_TEST(ws.target(p, 100) == "");
    BOOST_TEST(ws.why(p, 100, "n2") == "memory");
}

BOOST_AUTO_TEST_CASE(failover_waves_are_priority_classes) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.1, 16 * GiB);
    b.node("n2", 16, 64 * GiB, 0.0, 1 * GiB);
    b.node("n3", 16, 64 * GiB, 0.0, 1 * GiB);
    ha_vm(b, 100, "n1", 1, 2, 0.1, 2); // default 0
    ha_vm(b, 101, "n1", 1, 2, 0.1, 2, "pvebal-priority-5");
    ha_vm(b, 102, "n1", 1, 2, 0.1, 2, "PVEBAL-PRIORITY-10"); // tags are case-insensitive
    ha_vm(b, 103, "n1", 1, 2, 0.1, 2, "pvebal-priority-5");
    ha_vm(b, 104, "n1", 1, 8, 0.1, 2, "pvebal-priority-5");
    world w(b);
    plan p = w.failover({"n1"});
    BOOST_REQUIRE(p.migrations.size() == 5u);
    BOOST_TEST(p.waves == 3);
    BOOST_TEST(p.duration == 3 * w.o.restart_downtime);
    BOOST_TEST(w.move_of(p, 102)->wave == 1);
    BOOST_TEST(w.move_of(p, 101)->wave == 2);
    BOOST_TEST(w.move_of(p, 103)->wave == 2);
    BOOST_TEST(w.move_of(p, 104)->wave == 2);
    BOOST_TEST(w.move_of(p, 100)->wave == 3);
    for (size_t i = 0; i < p.migrations.size(); ++i) {
        BOOST_TEST(p.migrations[i].step == static_cast<int>(i + 1));
        if (i > 0) {
            BOOST_TEST(p.migrations[i].wave >= p.migrations[i - 1].wave);
        }
        BOOST_TEST((p.migrations[i].mode == migration_mode::restart));
        BOOST_TEST(p.migrations[i].cost.downtime == w.o.restart_downtime);
    }
    // Within a wave, the larger guest first.
    BOOST_TEST(p.migrations[1].guest == w.guest(104));
}

BOOST_AUTO_TEST_SUITE_END()
