// Hard constraints, one small snapshot per rule: the constraint's short name, and a message that
// names the node or rule it is about.
// Node state, tags, HA node affinity, the migrate precondition and storage here; limits and
// groups in constraints_state_test.cpp.
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

// --- node state ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(offline_target_is_rejected) {
    snapshot_builder b = four_nodes();
    b.node("echo", 16, 64 * GiB, 0, 0, false);
    fixture f(b);
    expect_rejection(f.target(100, "echo"), "offline", {"echo"});
    expect_ok(f.target(100, "bravo"));
}

BOOST_AUTO_TEST_CASE(maintenance_target_from_ha_manager_status) {
    snapshot_builder b = four_nodes();
    b.extra()["ha"]["manager-status"]["node_status"]["charlie"] = "maintenance";
    b.extra()["ha"]["manager-status"]["node_status"]["bravo"] = "online";
    fixture f(b);
    expect_rejection(f.target(100, "charlie"), "maintenance", {"charlie"});
    expect_ok(f.target(100, "bravo"));
}

BOOST_AUTO_TEST_CASE(maintenance_target_from_option) {
    snapshot_builder b = four_nodes();
    b.extra()["options"]["maintenance-nodes"] = "delta";
    fixture f(b);
    BOOST_TEST(f.s.c.nodes[f.node("delta")].maintenance);
    expect_rejection(f.target(100, "delta"), "maintenance", {"delta"});
    expect_ok(f.target(100, "charlie"));
}

BOOST_AUTO_TEST_CASE(current_node_is_not_a_target) {
    fixture f(four_nodes());
    expect_rejection(f.target(100, "alpha"), "current-node", {"alpha"});
}

// --- tags ------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(single_pin_tag) {
    snapshot_builder b = four_nodes();
    b.guest(101, "alpha", 1, GiB, 0.1, GiB)["tags"] = "pvebal-pin-charlie";
    fixture f(b);
    expect_ok(f.target(101, "charlie"));
    expect_rejection(f.target(101, "bravo"), "pin", {"bravo"});
    expect_rejection(f.target(101, "delta"), "pin", {"charlie"}); // names the node it is pinned to
    expect_ok(f.target(100, "bravo"));                            // untagged guests are free
}

BOOST_AUTO_TEST_CASE(pin_tags_form_a_set_and_match_case_insensitively) {
    snapshot_builder b;
    b.node("Alpha", 8, 32 * GiB, 0.1, 2 * GiB)
        .node("bravo", 8, 32 * GiB)
        .node("charlie", 8, 32 * GiB);
    b.node("delta", 8, 32 * GiB);
    b.guest(101, "Alpha", 1, GiB, 0.1, GiB)["tags"] = "PVEBAL-PIN-BRAVO;plb_pin_charlie";
    b.guest(102, "bravo", 1, GiB, 0.1, GiB)["tags"] = "pvebal-pin-alpha";
    b.guest(103, "bravo", 1, GiB, 0.1, GiB)["tags"] = "pvebal-pin-nosuchnode";
    fixture f(b);
    expect_ok(f.target(101, "bravo"));
    expect_ok(f.target(101, "charlie"));
    expect_rejection(f.target(101, "delta"), "pin", {"delta"});
    expect_ok(f.target(102, "Alpha")); // node "Alpha", tag in lower case
    expect_rejection(f.target(102, "charlie"), "pin", {"charlie"});
    // A pin naming no node is reported, and pins nothing.
    const guest_policy p = policy_of(f.s.c, f.s.opts, f.guest(103));
    BOOST_TEST(p.pinned.empty());
    BOOST_TEST(p.unknown_pins == std::vector<std::string>{"pvebal-pin-nosuchnode"});
    expect_ok(f.target(103, "delta"));
}

BOOST_AUTO_TEST_CASE(proxlb_pin_needs_honor_proxlb_tags) {
    snapshot_builder b = four_nodes();
    b.guest(101, "alpha", 1, GiB, 0.1, GiB)["tags"] = "plb_pin_bravo";
    b.extra()["options"]["honor-proxlb-tags"] = false;
    fixture f(b);
    expect_ok(f.target(101, "charlie"));
}

// --- HA node affinity ----------------------------------------------------------------------

snapshot_builder ha_node_rule(const std::string &nodes, bool strict, bool failback,
                              const std::string &affinity = "positive") {
    snapshot_builder b = four_nodes();
    b.extra()["ha"]["resources"].append(ha_resource_json("vm:100", failback));
    Json::Value r = rule_json("prefer-bravo-charlie", "node-affinity", "vm:100");
    r["nodes"] = nodes;
    r["strict"] = strict ? 1 : 0;
    r["affinity"] = affinity;
    b.extra()["ha"]["rules"].append(r);
    return b;
}

BOOST_AUTO_TEST_CASE(strict_node_affinity_allows_only_listed_nodes) {
    fixture f(ha_node_rule("alpha,bravo,charlie", true, true));
    expect_ok(f.target(100, "bravo"));
    expect_ok(f.target(100, "charlie"));
    expect_rejection(f.target(100, "delta"), "ha-node-affinity", {"prefer-bravo-charlie", "delta"});
}

BOOST_AUTO_TEST_CASE(non_strict_priorities_with_failback_want_the_best_online_class) {
    fixture f(ha_node_rule("bravo:2,charlie:1", false, true));
    expect_ok(f.target(100, "bravo"));
    expect_rejection(f.target(100, "charlie"), "ha-node-affinity",
                     {"prefer-bravo-charlie", "charlie"});
    expect_rejection(f.target(100, "delta"), "ha-node-affinity",
                     {"prefer-bravo-charlie", "delta"}); // unlisted: -1
}

BOOST_AUTO_TEST_CASE(non_strict_priorities_fall_to_the_next_class_when_the_best_is_gone) {
    snapshot_builder b = ha_node_rule("bravo:2,charlie:1", false, true);
    b.resources()[1]["status"] = "offline"; // node b
    fixture f(b);
    BOOST_REQUIRE(!f.s.c.nodes[f.node("bravo")].online);
    expect_ok(f.target(100, "charlie"));
    expect_rejection(f.target(100, "delta"), "ha-node-affinity", {"delta"});

    snapshot_builder m = ha_node_rule("bravo:2,charlie:1", false, true);
    m.extra()["options"]["maintenance-nodes"] = "bravo";
    fixture g(m);
    expect_ok(g.target(100, "charlie"));
    expect_rejection(g.target(100, "bravo"), "maintenance", {"bravo"});
}

BOOST_AUTO_TEST_CASE(without_failback_any_allowed_node_will_do) {
    fixture f(ha_node_rule("bravo:2,charlie:1", false, false));
    expect_ok(f.target(100, "bravo"));
    expect_ok(f.target(100, "charlie"));
    expect_ok(f.target(100, "delta")); // non-strict: unlisted nodes are allowed

    fixture g(ha_node_rule("bravo:2,charlie:1", true, false));
    expect_ok(g.target(100, "charlie"));
    expect_rejection(g.target(100, "delta"), "ha-node-affinity", {"prefer-bravo-charlie", "delta"});
}

BOOST_AUTO_TEST_CASE(negative_node_affinity_keeps_off_the_listed_nodes) {
    fixture f(ha_node_rule("bravo,charlie", false, true, "negative"));
    expect_rejection(f.target(100, "bravo"), "ha-node-affinity", {"prefer-bravo-charlie", "bravo"});
    expect_rejection(f.target(100, "charlie"), "ha-node-affinity", {"charlie"});
    expect_ok(f.target(100, "delta"));
}

BOOST_AUTO_TEST_CASE(a_guest_in_two_node_affinity_rules_is_bound_by_neither) {
    // pve-ha-manager drops every node-affinity rule that shares a resource with another one;
    // the result must not depend on the order of the rules either.
    for (bool reversed : {false, true}) {
        snapshot_builder b = four_nodes();
        b.guest(101, "alpha", 1, GiB, 0.1, GiB);
        b.extra()["ha"]["resources"].append(ha_resource_json("vm:100"));
        b.extra()["ha"]["resources"].append(ha_resource_json("vm:101"));
        Json::Value r1 = rule_json("to-bravo", "node-affinity", "vm:100,vm:101");
        r1["nodes"] = "alpha,bravo";
        r1["strict"] = 1;
        Json::Value r2 = rule_json("to-charlie", "node-affinity", "vm:100");
        r2["nodes"] = "alpha,charlie";
        r2["strict"] = 1;
        b.extra()["ha"]["rules"].append(reversed ? r2 : r1);
        b.extra()["ha"]["rules"].append(reversed ? r1 : r2);
        fixture f(b);
        BOOST_TEST_CONTEXT("reversed " << reversed) {
            expect_ok(f.target(100, "bravo"));
            expect_ok(f.target(100, "charlie"));
            expect_ok(f.target(100, "delta"));
            expect_ok(f.target(101, "delta")); // the whole rule is dropped, not just for 100
        }
    }
}

// --- migrate precondition and storage --------------------------------------------------------

BOOST_AUTO_TEST_CASE(migrate_precondition_not_allowed_nodes) {
    snapshot_builder b = four_nodes();
    b.extra()["guests"]["100"]["migrate"]["not_allowed_nodes"]["charlie"]["unavailable_storages"]
        .append("local-zfs");
    fixture f(b);
    expect_rejection(f.target(100, "charlie"), "precondition", {"charlie", "local-zfs"});
    expect_ok(f.target(100, "bravo"));
}

snapshot_builder storage_cluster() {
    snapshot_builder b = four_nodes();
    for (const char *n : {"alpha", "bravo", "charlie", "delta"}) {
        b.storage(n, "ceph", true).storage(n, "local", false);
    }
    b.storage("alpha", "local-zfs", false)
        .storage("bravo", "local-zfs", false)
        .storage("charlie", "local-lvm", false);
    b.storage("delta", "local-zfs", false);
    b.resources()[b.resources().size() - 1]["status"] = "unavailable"; // d's local-zfs is down
    b.extra()["guests"]["100"]["config"]["scsi0"] = "local-zfs:vm-100-disk-0,size=32G";
    b.guest(101, "alpha", 2, 4 * GiB, 0.5, 2 * GiB);
    b.extra()["guests"]["101"]["config"]["scsi0"] = "ceph:vm-101-disk-0,size=32G";
    b.extra()["guests"]["101"]["config"]["efidisk0"] = "ceph:vm-101-disk-1,size=1M";
    return b;
}

BOOST_AUTO_TEST_CASE(local_storage_must_exist_on_the_target) {
    fixture f(storage_cluster());
    expect_ok(f.target(100, "bravo"));
    expect_rejection(f.target(100, "charlie"), "storage", {"local-zfs", "charlie", "scsi0"});
    expect_rejection(f.target(100, "delta"), "storage",
                     {"local-zfs", "delta"}); // present but unavailable
    // Shared storage goes anywhere.
    expect_ok(f.target(101, "charlie"));
    expect_ok(f.target(101, "delta"));
}

BOOST_AUTO_TEST_CASE(storage_map_allows_a_mapped_target) {
    snapshot_builder b = storage_cluster();
    b.extra()["options"]["storage-map"]["local-zfs"] = "local-lvm";
    fixture f(b);
    expect_ok(f.target(100, "charlie"));
    expect_rejection(f.target(100, "delta"), "storage",
                     {"delta"}); // neither local-zfs nor local-lvm there
}

BOOST_AUTO_TEST_CASE(container_rootfs_on_local_storage) {
    snapshot_builder b = storage_cluster();
    b.guest(300, "alpha", 1, GiB, 0, 0, "lxc", "stopped");
    b.extra()["guests"]["300"]["config"]["rootfs"] = "local-zfs:subvol-300-disk-0,size=8G";
    fixture f(b);
    expect_ok(f.target(300, "bravo"));
    expect_rejection(f.target(300, "charlie"), "storage", {"rootfs", "charlie"});
}

BOOST_AUTO_TEST_SUITE_END()
