#include "test_util.h"

#include "pvebal/constraints.h"
#include "pvebal/load.h"
#include "pvebal/model.h"

#include <boost/test/unit_test.hpp>

using namespace pvebal;
using namespace pvebal::test;

BOOST_AUTO_TEST_SUITE(model)

BOOST_AUTO_TEST_CASE(tags_split_like_pve) {
    BOOST_TEST((split_tags("a;b") == std::vector<std::string>{"a", "b"}));
    BOOST_TEST((split_tags(" a, b ;;c") == std::vector<std::string>{"a", "b", "c"}));
    BOOST_TEST(split_tags("").empty());
}

BOOST_AUTO_TEST_CASE(lookups) {
    snapshot s = snapshot_builder().node("b", 4, GiB).node("a", 4, GiB).build();
    BOOST_TEST(*s.c.find_node("b") == 1u);
    BOOST_TEST(!s.c.find_node("c"));
    BOOST_TEST(!s.c.find_guest(100));
}

BOOST_AUTO_TEST_CASE(load_view_keeps_node_overhead_and_moves_demand) {
    snapshot_builder b;
    // n1: 8 threads at 50% = 4 cores; guests account for 2*0.5 + 1*1.0 = 2 cores.
    b.node("n1", 8, 32 * GiB, 0.5, 10 * GiB).node("n2", 8, 32 * GiB, 0.0, 2 * GiB);
    b.guest(100, "n1", 2, 4 * GiB, 0.5, 3 * GiB);
    b.guest(101, "n1", 1, 2 * GiB, 1.0, 1 * GiB);
    b.guest(102, "n1", 4, 8 * GiB, 0, 0, "qemu", "stopped");
    snapshot s = b.build();
    load_view v = make_load_view(s.c, load_mode::used);
    BOOST_TEST(v.base[0][dimension::cpu] == 2.0);
    BOOST_TEST(v.base[0][dimension::memory] == double(6 * GiB));
    BOOST_TEST(v.used[0][dimension::cpu] == 4.0);
    BOOST_TEST(v.demand[2][dimension::cpu] == 0.0); // stopped
    v.move(0, 1);
    BOOST_TEST(v.used[0][dimension::cpu] == 3.0);
    BOOST_TEST(v.used[1][dimension::cpu] == 1.0);
    BOOST_TEST(v.used[1][dimension::memory] == double(2 * GiB + 3 * GiB));

    load_view a = make_load_view(s.c, load_mode::assigned);
    BOOST_TEST(a.base[0][dimension::cpu] == 0.0);
    BOOST_TEST(a.used[0][dimension::cpu] == 3.0); // running guests' vCPUs
    BOOST_TEST(a.used[0][dimension::memory] == double(6 * GiB));
}

BOOST_AUTO_TEST_CASE(memhost_and_rrd_averages_set_demand) {
    snapshot_builder b;
    b.node("n1", 8, 32 * GiB, 0.5, 10 * GiB);
    Json::Value &g = b.guest(100, "n1", 4, 8 * GiB, 0.5, 2 * GiB);
    g["memhost"] = static_cast<Json::UInt64>(3 * GiB);
    b.extra()["guests"]["100"]["rrd"]["cpu"] = 0.25;
    snapshot s = b.build();
    res d = guest_demand(s.c.guests[0], load_mode::used);
    BOOST_TEST(d[dimension::cpu] == 1.0); // averaged 25% of 4 vCPUs
    BOOST_TEST(d[dimension::memory] == double(3 * GiB));
}

BOOST_AUTO_TEST_CASE(tag_policies) {
    snapshot_builder b;
    b.node("Node1", 8, 32 * GiB).node("node2", 8, 32 * GiB);
    b.guest(100, "node2", 1, GiB, 0, 0)["tags"] =
        "pvebal-pin-node1;PVEBAL-PIN-node2;pvebal-pin-nowhere";
    b.guest(101, "node2", 1, GiB, 0, 0)["tags"] = "plb_ignore_x;pvebal-priority-7";
    b.guest(102, "node2", 1, GiB, 0, 0)["tags"] =
        "plb_anti_affinity_db;plb_affinity_web;plb_pin_node1";
    snapshot s = b.build();
    options o;
    guest_policy p = policy_of(s.c, o, 0);
    BOOST_TEST(
        (p.pinned == std::vector<node_id>{0, 1})); // tags match node names case-insensitively
    BOOST_TEST((p.unknown_pins == std::vector<std::string>{"pvebal-pin-nowhere"}));
    p = policy_of(s.c, o, 1);
    BOOST_TEST(p.ignored);
    BOOST_TEST(p.priority == 7);
    p = policy_of(s.c, o, 2);
    BOOST_TEST((p.apart_groups == std::vector<std::string>{"db"}));
    BOOST_TEST((p.together_groups == std::vector<std::string>{"web"}));
    BOOST_TEST((p.pinned == std::vector<node_id>{0}));
    o.honor_proxlb_tags = false;
    p = policy_of(s.c, o, 2);
    BOOST_TEST(p.apart_groups.empty());
    BOOST_TEST(p.pinned.empty());
    BOOST_TEST(!policy_of(s.c, o, 1).ignored);
}

BOOST_AUTO_TEST_CASE(immovable_guests_say_why) {
    snapshot_builder b;
    b.node("n1", 8, 32 * GiB).node("n2", 8, 32 * GiB, 0, 0, false);
    b.guest(100, "n1", 1, GiB, 0, 0)["template"] = 1;
    b.guest(101, "n1", 1, GiB, 0, 0)["lock"] = "backup";
    b.guest(102, "n1", 1, GiB, 0.1, GiB, "lxc");
    b.guest(103, "n1", 1, GiB, 0, 0);
    b.guest(104, "n2", 1, GiB, 0, 0, "qemu", "unknown");
    b.guest(105, "n1", 1, GiB, 0, 0, "lxc", "stopped");
    b.extra()["guests"]["103"]["config"]["hostpci0"] = "0000:01:00.0";
    snapshot s = b.build();
    options o;
    BOOST_TEST(immovable_reasons(s.c, o, 0)[0].kind == "template");
    BOOST_TEST(immovable_reasons(s.c, o, 1)[0].kind == "locked");
    BOOST_TEST(immovable_reasons(s.c, o, 2)[0].kind == "container-restart");
    BOOST_TEST(immovable_reasons(s.c, o, 3)[0].kind == "local-resource");
    BOOST_TEST(immovable_reasons(s.c, o, 4)[0].kind == "node-offline");
    BOOST_TEST(immovable_reasons(s.c, o, 5).empty()); // a stopped container moves offline
    o.allow_container_restart = true;
    BOOST_TEST(immovable_reasons(s.c, o, 2).empty());
}

BOOST_AUTO_TEST_SUITE_END()
