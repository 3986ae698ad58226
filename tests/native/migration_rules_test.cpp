// Migrations that qemu-server / pve-container / pve-ha-manager refuse: replication targets,
// local CD-ROM images, mapped PCI/USB devices, HA disarmed. Each is a unit of the constraint
// registry with a stable name and message.
#include "support/plan_generator.h"
#include "test_util.h"

#include "pvebal/report.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>

using namespace pvebal;
using namespace pvebal::test;

namespace {

bool contains(const std::string &s, const std::string &part) {
    return s.find(part) != std::string::npos;
}

// n1..n3 with a local and a shared storage each; vm 100 on n1.
snapshot_builder cluster3(const std::string &status = "running") {
    snapshot_builder b;
    for (const char *n : {"n1", "n2", "n3"}) {
        b.node(n, 16, 64 * GiB).storage(n, "local", false).storage(n, "ceph", true);
    }
    b.guest(100, "n1", 2, 4 * GiB, 0.1, 2 * GiB, "qemu", status);
    return b;
}

struct checked {
    snapshot s;
    affinity_groups a;
    explicit checked(const snapshot_builder &b) : s(b.build()), a(compile_affinity(s.c, s.opts)) {}
    detail::decision_context ctx() const { return detail::decision_context(s.c, s.opts, a); }
    std::optional<rejection> target(const std::string &node) const {
        return detail::check_target(ctx(), 0, *s.c.find_node(node));
    }
    std::vector<rejection> immovable() const { return detail::immovable_reasons(ctx(), 0); }
};

} // namespace

BOOST_AUTO_TEST_SUITE(migration_rules)

BOOST_AUTO_TEST_CASE(replicated_guest_goes_to_a_replication_target_only) {
    snapshot_builder b = cluster3();
    Json::Value job;
    job["id"] = "100-0";
    job["target"] = "n2";
    b.extra()["guests"]["100"]["replication"].append(job);
    checked f(b);
    BOOST_TEST(!f.target("n2"));
    std::optional<rejection> r = f.target("n3");
    BOOST_REQUIRE(r);
    BOOST_TEST(r->kind == "replication");
    BOOST_TEST(r->message == "has replication jobs (100-0 to n2); n3 is not a replication target");
    // The plan to drain n1 uses n2 only.
    plan p = plan_evacuate(f.s.c, f.s.opts, {0});
    BOOST_REQUIRE_EQUAL(p.migrations.size(), 1u);
    BOOST_TEST(f.s.c.nodes[p.migrations[0].to].name == "n2");
}

BOOST_AUTO_TEST_CASE(replication_job_is_validated) {
    snapshot_builder b = cluster3();
    Json::Value job;
    job["id"] = "abc";
    job["target"] = "n2";
    b.extra()["guests"]["100"]["replication"].append(job);
    auto r = read_snapshot(b.json());
    BOOST_REQUIRE(!r);
    BOOST_TEST(r.error().path == "guests.100.replication[0].id");
}

BOOST_AUTO_TEST_CASE(local_cdrom_image_blocks_every_migration) {
    snapshot_builder b = cluster3("stopped");
    b.extra()["guests"]["100"]["config"]["scsi0"] = "ceph:vm-100-disk-0,size=32G";
    b.extra()["guests"]["100"]["config"]["ide2"] = "local:iso/debian.iso,media=cdrom";
    checked f(b);
    std::vector<rejection> why = f.immovable();
    BOOST_REQUIRE_EQUAL(why.size(), 1u);
    BOOST_TEST(why[0].kind == "local-cdrom");
    BOOST_TEST(contains(why[0].message, "ide2 (local:iso/debian.iso)"));
}

BOOST_AUTO_TEST_CASE(cdrom_on_shared_storage_or_ejected_moves) {
    for (const char *value : {"ceph:iso/debian.iso,media=cdrom", "none,media=cdrom",
                              "local:vm-100-cloudinit,media=cdrom"}) {
        snapshot_builder b = cluster3("stopped");
        b.extra()["guests"]["100"]["config"]["ide2"] = value;
        checked f(b);
        BOOST_TEST(f.immovable().empty(), value);
    }
}

BOOST_AUTO_TEST_CASE(precondition_local_cdrom_blocks) {
    snapshot_builder b = cluster3();
    Json::Value d;
    d["volid"] = "local:iso/x.iso";
    d["cdrom"] = 1;
    b.extra()["guests"]["100"]["migrate"]["local_disks"].append(d);
    checked f(b);
    BOOST_REQUIRE(!f.immovable().empty());
    BOOST_TEST(f.immovable()[0].kind == "local-cdrom");
}

BOOST_AUTO_TEST_CASE(mapped_pci_needs_the_mapping_and_live_capability) {
    auto make = [](const std::string &status, bool live) {
        snapshot_builder b = cluster3(status);
        b.extra()["guests"]["100"]["config"]["hostpci0"] = "mapping=gpu,pcie=1";
        Json::Value &m = b.extra()["mappings"]["pci"]["gpu"];
        m["nodes"].append("n1");
        m["nodes"].append("n3");
        m["live-migration-capable"] = live ? 1 : 0;
        return b;
    };
    {
        checked f(make("running", false)); // running, not live-capable: stays
        BOOST_REQUIRE_EQUAL(f.immovable().size(), 1u);
        BOOST_TEST(f.immovable()[0].kind == "mapped-device");
        BOOST_TEST(contains(f.immovable()[0].message, "hostpci0:gpu"));
    }
    {
        checked f(make("running", true)); // live-capable: to nodes with the mapping
        BOOST_TEST(f.immovable().empty());
        BOOST_TEST(!f.target("n3"));
        BOOST_REQUIRE(f.target("n2"));
        BOOST_TEST(f.target("n2")->kind == "mapped-device");
        BOOST_TEST(f.target("n2")->message == "n2 has no pci mapping 'gpu' for hostpci0");
    }
    {
        checked f(make("stopped", false)); // offline: to nodes with the mapping
        BOOST_TEST(f.immovable().empty());
        BOOST_TEST(!f.target("n3"));
        BOOST_TEST(f.target("n2")->kind == "mapped-device");
    }
}

BOOST_AUTO_TEST_CASE(mapped_usb_never_live_and_unknown_mapping_blocks) {
    snapshot_builder b = cluster3();
    b.extra()["guests"]["100"]["config"]["usb0"] = "mapping=token";
    checked f(b);
    BOOST_REQUIRE_EQUAL(f.immovable().size(), 1u);
    BOOST_TEST(f.immovable()[0].kind == "mapped-device");
    snapshot_builder b2 = cluster3("stopped");
    b2.extra()["guests"]["100"]["config"]["usb0"] = "mapping=token";
    checked f2(b2);
    BOOST_TEST(f2.immovable().empty());
    BOOST_REQUIRE(f2.target("n2"));
    BOOST_TEST(contains(f2.target("n2")->message, "which the snapshot does not describe"));
    // SPICE redirection is no device at all; an unmapped host device pins the guest.
    snapshot_builder b3 = cluster3();
    b3.extra()["guests"]["100"]["config"]["usb0"] = "spice";
    b3.extra()["guests"]["100"]["config"]["usb1"] = "host=1-2";
    checked f3(b3);
    BOOST_REQUIRE_EQUAL(f3.immovable().size(), 1u);
    BOOST_TEST(f3.immovable()[0].kind == "local-resource");
    BOOST_TEST(f3.immovable()[0].message == "uses host-local devices (usb1)");
}

BOOST_AUTO_TEST_CASE(mapped_resources_of_the_precondition_are_not_blockers) {
    snapshot_builder b = cluster3("stopped");
    Json::Value &m = b.extra()["guests"]["100"]["migrate"];
    m["local_resources"].append("usb0");
    m["mapped-resources"].append("usb0");
    b.extra()["guests"]["100"]["config"]["usb0"] = "mapping=token";
    b.extra()["mappings"]["usb"]["token"]["nodes"].append("n2");
    checked f(b);
    BOOST_TEST(f.immovable().empty());
    BOOST_TEST(!f.target("n2"));
    BOOST_TEST(f.target("n3").has_value());
}

// Disarmed in mode freeze, HA processes no command for its resources: they stay. In mode ignore
// they are not HA-managed at all (Config.pm service_check_ha_state) and move like any guest.
BOOST_AUTO_TEST_CASE(ha_disarmed_keeps_ha_guests_in_place) {
    for (const char *mode : {"freeze", "ignore"}) {
        snapshot_builder b = cluster3();
        b.guest(101, "n1", 2, 4 * GiB, 0.1, 2 * GiB);
        Json::Value r;
        r["sid"] = "vm:100";
        b.extra()["ha"]["resources"].append(r);
        Json::Value &d = b.extra()["ha"]["manager-status"]["disarm"];
        d["mode"] = mode;
        d["state"] = "disarmed";
        checked f(b);
        std::vector<rejection> why = f.immovable();
        if (std::string(mode) == "ignore") {
            BOOST_TEST(why.empty());
            BOOST_TEST(!f.s.c.ha.managed(0));
            continue;
        }
        BOOST_REQUIRE_EQUAL(why.size(), 1u);
        BOOST_TEST(why[0].kind == "ha-disarmed");
        BOOST_TEST(contains(why[0].message, std::string("resource mode ") + mode));
        // vm 101 is not HA-managed: it still moves.
        BOOST_TEST(detail::immovable_reasons(f.ctx(), 1).empty());
    }
}

BOOST_AUTO_TEST_CASE(bad_disarm_mode_is_an_error) {
    snapshot_builder b = cluster3();
    b.extra()["ha"]["manager-status"]["disarm"]["mode"] = "sleep";
    auto r = read_snapshot(b.json());
    BOOST_REQUIRE(!r);
    BOOST_TEST(r.error().path == "ha.manager-status.disarm.mode");
}

BOOST_AUTO_TEST_CASE(registry_lists_every_unit_once_in_order) {
    std::span<const detail::unit_info> all = detail::units();
    BOOST_TEST(all.size() == 27u);
    // Guest units first, then target units, then state units.
    BOOST_TEST((all.front().kind == detail::unit_kind::guest));
    BOOST_TEST((all.back().kind == detail::unit_kind::state));
    for (size_t i = 1; i < all.size(); ++i) {
        BOOST_TEST((all[i - 1].kind <= all[i].kind));
    }
}

// The registry's per-guest precheck lets check_target skip the guest-specific target units that
// cannot reject a guest. Each kind of restriction must still be checked in full: every case
// below fails if the precheck wrongly skips its unit (n3 would then be allowed).
BOOST_AUTO_TEST_CASE(target_precheck_keeps_every_guest_specific_unit) {
    struct restriction {
        const char *kind;
        void (*apply)(snapshot_builder &);
    };
    const restriction all[] = {
        {"pin",
         [](snapshot_builder &b) {
             b.resources()[b.resources().size() - 1]["tags"] = "pvebal-pin-n2";
         }},
        {"ha-node-affinity",
         [](snapshot_builder &b) {
             Json::Value r;
             r["sid"] = "vm:100";
             r["state"] = "started";
             b.extra()["ha"]["resources"].append(r);
             Json::Value rule;
             rule["rule"] = "keep-n1-n2";
             rule["type"] = "node-affinity";
             rule["resources"] = "vm:100";
             rule["nodes"] = "n1,n2";
             rule["strict"] = 1;
             b.extra()["ha"]["rules"].append(rule);
         }},
        {"precondition",
         [](snapshot_builder &b) {
             b.extra()["guests"]["100"]["migrate"]["not_allowed_nodes"]["n3"]
                      ["unavailable_storages"]
                          .append("local");
         }},
        {"mapped-device",
         [](snapshot_builder &b) {
             b.extra()["guests"]["100"]["config"]["hostpci0"] = "mapping=gpu";
             Json::Value &m = b.extra()["mappings"]["pci"]["gpu"];
             m["nodes"].append("n1");
             m["nodes"].append("n2");
         }},
        {"replication",
         [](snapshot_builder &b) {
             Json::Value job;
             job["id"] = "100-0";
             job["target"] = "n2";
             b.extra()["guests"]["100"]["replication"].append(job);
         }},
        {"storage",
         [](snapshot_builder &b) {
             b.storage("n1", "nvme", false).storage("n2", "nvme", false);
             b.extra()["guests"]["100"]["config"]["scsi0"] = "nvme:vm-100-disk-0,size=8G";
         }},
        {"cpu-model",
         [](snapshot_builder &b) {
             b.extra()["guests"]["100"]["config"]["cpu"] = "x86-64-v2";
             b.extra()["nodes"]["n3"]["cpu-flags"] = "avx";
         }},
    };
    for (const restriction &r : all) {
        BOOST_TEST_CONTEXT(r.kind) {
            snapshot_builder b = cluster3();
            r.apply(b);
            checked f(b);
            const detail::decision_context ctx = f.ctx();
            const node_id n2 = *f.s.c.find_node("n2");
            const node_id n3 = *f.s.c.find_node("n3");
            BOOST_TEST(ctx.concerned(0) != 0u);
            for (bool explain : {false, true}) {
                std::optional<rejection> why = detail::check_target(ctx, 0, n3, explain);
                BOOST_TEST(why.has_value());
                BOOST_TEST((why ? std::string(constraint_name(why->kind)) : "none") == r.kind);
                BOOST_TEST(!detail::check_target(ctx, 0, n2, explain));
            }
        }
    }
    // No restriction: only the node's state and the current node decide.
    checked f(cluster3());
    const detail::decision_context ctx = f.ctx();
    BOOST_TEST(!detail::check_target(ctx, 0, *f.s.c.find_node("n3"), false));
    std::optional<rejection> here = detail::check_target(ctx, 0, *f.s.c.find_node("n1"));
    BOOST_REQUIRE(here);
    BOOST_TEST(here->kind == "current-node");
    BOOST_TEST(detail::decision_context::mode_units(false) != 0u);
}

// allowed_targets computes the allowed nodes once per class of guests whose answers must be
// equal; every guest's list must be what check_target says node by node. Guests that differ
// only in what a class key must cover (their node, their HA rule, their pins) are side by side,
// and each guest is asked twice, in an order that mixes the classes.
namespace {

std::vector<node_id> reference_targets(const detail::decision_context &ctx, guest_id g) {
    std::vector<node_id> out;
    for (node_id n = 0; n < ctx.c.nodes.size(); ++n) {
        if (!detail::check_target(ctx, g, n, false)) {
            out.push_back(n);
        }
    }
    return out;
}

// Every guest of ctx, asked in two passes (odd ids first, then all backwards); returns the
// number of mismatches.
size_t check_all_targets(const detail::decision_context &ctx) {
    detail::allowed_targets targets(ctx);
    size_t wrong = 0;
    std::vector<guest_id> order;
    for (guest_id g = 1; g < ctx.c.guests.size(); g += 2) {
        order.push_back(g);
    }
    for (guest_id g = static_cast<guest_id>(ctx.c.guests.size()); g-- > 0;) {
        order.push_back(g);
    }
    for (guest_id g : order) {
        const std::vector<node_id> got = targets.of(g);
        const std::vector<node_id> want = reference_targets(ctx, g);
        if (got != want) {
            ++wrong;
            BOOST_TEST_MESSAGE("guest " << ctx.c.guests[g].vmid << ": allowed_targets differs");
        }
    }
    return wrong;
}

} // namespace

BOOST_AUTO_TEST_CASE(allowed_targets_equal_check_target_per_guest) {
    snapshot_builder b = cluster3();
    b.guest(101, "n1", 2, 4 * GiB, 0.1, 2 * GiB);
    b.guest(102, "n2", 2, 4 * GiB, 0.1, 2 * GiB);
    b.guest(103, "n3", 2, 4 * GiB, 0.1, 2 * GiB);
    b.guest(104, "n3", 2, 4 * GiB, 0.1, 2 * GiB);
    b.guest(105, "n1", 2, 4 * GiB, 0.1, 2 * GiB);
    b.guest(106, "n1", 2, 4 * GiB, 0.1, 2 * GiB);
    b.resources()[b.resources().size() - 2]["tags"] = "pvebal-pin-n2";
    b.resources()[b.resources().size() - 1]["tags"] = "pvebal-pin-n3";
    auto rule = [&](const char *id, const char *sid, const char *nodes, bool failback) {
        Json::Value r;
        r["sid"] = sid;
        r["state"] = "started";
        if (!failback) {
            r["failback"] = 0;
        }
        b.extra()["ha"]["resources"].append(r);
        Json::Value x;
        x["rule"] = id;
        x["type"] = "node-affinity";
        x["resources"] = sid;
        x["nodes"] = nodes;
        b.extra()["ha"]["rules"].append(x);
    };
    rule("a", "vm:103", "n1:2,n2:1", true);
    rule("b", "vm:104", "n1:2,n2:1", false);
    checked f(b);
    const node_id n1 = *f.s.c.find_node("n1"), n2 = *f.s.c.find_node("n2"),
                  n3 = *f.s.c.find_node("n3");
    detail::decision_context ctx = f.ctx();
    detail::allowed_targets targets(ctx);
    auto of = [&](std::uint32_t vmid) { return targets.of(*f.s.c.find_guest(vmid)); };
    // The same units concern 101 and 102 (current node only); their nodes differ.
    BOOST_TEST((of(101) == std::vector<node_id>{n2, n3}));
    BOOST_TEST((of(102) == std::vector<node_id>{n1, n3}));
    BOOST_TEST((of(101) == std::vector<node_id>{n2, n3}));
    // The same rule's nodes, but only 103 fails back to the best class.
    BOOST_TEST((of(103) == std::vector<node_id>{n1}));
    BOOST_TEST((of(104) == std::vector<node_id>{n1, n2}));
    BOOST_TEST((of(105) == std::vector<node_id>{n2}));
    BOOST_TEST((of(106) == std::vector<node_id>{n3}));
    BOOST_TEST(check_all_targets(ctx) == 0u);
    std::vector<bool> failed(f.s.c.nodes.size(), false);
    failed[n1] = true;
    ctx.set_failed(failed); // recovery: other units, other classes
    BOOST_TEST(check_all_targets(ctx) == 0u);
}

BOOST_AUTO_TEST_CASE(allowed_targets_equal_check_target_on_generated_clusters) {
    size_t guests = 0;
    for (std::uint32_t i = 0; i < 300; ++i) {
        const plans::generated g = plans::generate(0x7a6e0000 + i);
        const snapshot s = plans::load(g.json);
        const affinity_groups a = compile_affinity(s.c, s.opts);
        detail::decision_context ctx(s.c, s.opts, a);
        BOOST_TEST_CONTEXT("seed " << 0x7a6e0000 + i) {
            BOOST_TEST(check_all_targets(ctx) == 0u);
            std::vector<bool> failed(s.c.nodes.size(), false);
            failed[i % s.c.nodes.size()] = true;
            ctx.set_failed(failed);
            BOOST_TEST(check_all_targets(ctx) == 0u);
        }
        guests += s.c.guests.size();
    }
    BOOST_TEST(guests > 1000u);
}

BOOST_AUTO_TEST_SUITE_END()
