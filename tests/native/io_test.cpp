#include "test_util.h"

#include "pvebal/io.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <random>
#include <sstream>

using namespace pvebal;
using namespace pvebal::test;

namespace {

std::string shuffled_resources(const std::string &text, unsigned seed) {
    Json::Value root;
    std::istringstream in(text);
    in >> root;
    Json::Value &arr = root.isArray()          ? root
                       : root.isMember("data") ? root["data"]
                                               : root["resources"];
    std::vector<Json::Value> items(arr.begin(), arr.end());
    std::mt19937 rng(seed);
    std::shuffle(items.begin(), items.end(), rng);
    arr.clear();
    for (auto &i : items) {
        arr.append(i);
    }
    Json::StreamWriterBuilder b;
    return Json::writeString(b, root);
}

} // namespace

BOOST_AUTO_TEST_SUITE(io)

BOOST_AUTO_TEST_CASE(reads_all_three_forms_alike) {
    const std::string entries =
        R"([{"type":"node","node":"b","status":"online","maxcpu":4,"maxmem":8589934592,"cpu":0.25,"mem":2147483648},
            {"type":"node","node":"a","status":"online","maxcpu":8,"maxmem":17179869184},
            {"type":"qemu","vmid":200,"node":"a","status":"running","maxcpu":2,"maxmem":1073741824,"cpu":0.5,"mem":536870912},
            {"type":"lxc","vmid":150,"node":"b","status":"stopped","maxcpu":1,"maxmem":536870912},
            {"type":"pool","id":"pool/x"}])";
    auto a = read_snapshot(entries);
    auto d = read_snapshot(R"({"data":)" + entries + "}");
    auto e = read_snapshot(R"({"resources":)" + entries + "}");
    BOOST_REQUIRE(a && d && e);
    BOOST_TEST(a->form == "array");
    BOOST_TEST(d->form == "data");
    BOOST_TEST(e->form == "extended");
    for (const snapshot *s : {&*a, &*d, &*e}) {
        BOOST_REQUIRE_EQUAL(s->c.nodes.size(), 2u);
        BOOST_TEST(s->c.nodes[0].name == "a"); // sorted by name
        BOOST_REQUIRE_EQUAL(s->c.guests.size(), 2u);
        BOOST_TEST(s->c.guests[0].vmid == 150u); // sorted by vmid
        BOOST_TEST((s->c.guests[0].type == guest_type::lxc));
        BOOST_TEST(!s->c.guests[0].running);
        BOOST_TEST(s->c.guests[1].node == 0u);
        BOOST_TEST(s->c.guests[1].sid() == "vm:200");
    }
}

BOOST_AUTO_TEST_CASE(every_malformed_fixture_is_rejected_with_its_path) {
    std::istringstream list(read_text(data_path("malformed/expected.tsv")));
    std::string line;
    int checked = 0;
    while (std::getline(list, line)) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        const auto tab = line.find('\t');
        const std::string file = line.substr(0, tab);
        const std::string expected = line.substr(tab + 1);
        auto r = read_snapshot(read_text(data_path("malformed/" + file)));
        BOOST_TEST_CONTEXT(file) {
            BOOST_REQUIRE(!r.has_value());
            BOOST_TEST(r.error().to_string().rfind(expected, 0) == 0,
                       "got: " << r.error().to_string() << "\nwant prefix: " << expected);
        }
        ++checked;
    }
    BOOST_TEST(checked >= 20);
}

BOOST_AUTO_TEST_CASE(valid_base_of_the_malformed_set_is_accepted) {
    auto r = read_snapshot(read_text(data_path("fixtures/small-extended.json")));
    BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().to_string()));
    BOOST_TEST(r->opts.max_migrations == 5u);
    BOOST_TEST(r->c.nodes[2].online == false);
    const guest &g = r->c.guests[0];
    BOOST_REQUIRE_EQUAL(g.disks.size(), 1u);
    BOOST_TEST(g.disks[0].storage == "local");
    BOOST_TEST(g.disks[0].size == 8 * GiB);
    BOOST_REQUIRE_EQUAL(r->c.ha.node_affinity.size(), 1u);
    BOOST_TEST(r->c.ha.node_affinity[0].nodes.size() == 2u);
    BOOST_TEST(r->c.ha.node_affinity[0].nodes[0].second == 2); // n1:2
}

namespace {

// Reading the entries of /cluster/resources in another order gives the same model.
void check_order_independence(const std::string &path) {
    const std::string text = read_text(path);
    auto base = read_snapshot(text);
    BOOST_REQUIRE(base);
    for (unsigned seed = 1; seed <= 5; ++seed) {
        auto s = read_snapshot(shuffled_resources(text, seed));
        BOOST_REQUIRE(s);
        BOOST_REQUIRE_EQUAL(s->c.guests.size(), base->c.guests.size());
        for (size_t i = 0; i < s->c.guests.size(); ++i) {
            BOOST_TEST(s->c.guests[i].vmid == base->c.guests[i].vmid);
            BOOST_TEST(s->c.guests[i].node == base->c.guests[i].node);
        }
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(order_of_entries_does_not_change_the_model) {
    // bundled: the demo cluster (tags, pools, storages) and the small extended snapshot
    check_order_independence(data_path("../docs/examples/demo-cluster.json"));
    check_order_independence(data_path("fixtures/small-extended.json"));
}

BOOST_AUTO_TEST_CASE(order_of_entries_does_not_change_the_model_of_a_large_trace,
                     *boost::unit_test::precondition(shared_file{
                         "data/bitbrains-rnd/snapshots/bb-120vm-6node-tags.json"})) {
    // Bitbrains research data: not redistributable with the sources, so only from ../shared
    check_order_independence(shared_path("data/bitbrains-rnd/snapshots/bb-120vm-6node-tags.json"));
}

// Real API bodies of other projects (Apache-2.0), copied into tests/fixtures/pve-api-samples
// with their source (README there): a captured /cluster/resources, and a fixture whose list
// has every resource type.
BOOST_AUTO_TEST_CASE(reads_the_real_api_samples) {
    const std::string dir = data_path("fixtures/pve-api-samples/");
    {
        const std::string path = dir + "go-proxmox_cluster_resources.capture.json";
        auto r = read_snapshot(read_text(path));
        BOOST_TEST(r.has_value(), (r ? "" : r.error().to_string()));
    }
    const std::string prom = dir + "prometheus-pve-exporter_cluster_fixture.handwritten.json";
    Json::Value root;
    std::istringstream in(read_text(prom));
    in >> root;
    Json::StreamWriterBuilder b;
    auto r = read_snapshot(Json::writeString(b, root["cluster/resources"]));
    BOOST_REQUIRE_MESSAGE(r, (r ? "" : r.error().to_string()));
    BOOST_TEST(r->c.nodes.size() == 2u);
    BOOST_TEST(r->c.nodes[0].storages.size() >= 1u);
}

BOOST_AUTO_TEST_CASE(reads_the_bitbrains_snapshots,
                     *boost::unit_test::precondition(shared_file{"data/bitbrains-rnd"})) {
    for (const char *f : {"data/bitbrains-rnd/snapshots/bb-500vm-12node.json",
                          "data/bitbrains-rnd/snapshots/bb-60vm-4node.json"}) {
        const std::string path = shared_path(f);
        BOOST_TEST_REQUIRE(std::filesystem::exists(path), path + " not found");
        auto r = read_snapshot(read_text(path));
        BOOST_TEST_CONTEXT(f) {
            BOOST_TEST(r.has_value(), (r ? "" : r.error().to_string()));
        }
    }
}

BOOST_AUTO_TEST_CASE(guest_details_config_precondition_and_rrd) {
    snapshot_builder b;
    b.node("n1", 8, 32 * GiB).node("n2", 8, 32 * GiB);
    b.guest(100, "n1", 2, 4 * GiB, 0.5, 2 * GiB);
    b.guest(101, "n1", 1, 1 * GiB, 0.1, 1 * GiB, "lxc");
    Json::Value &g = b.extra()["guests"];
    g["100"]["config"]["scsi0"] = "local-lvm:vm-100-disk-0,size=32G";
    g["100"]["config"]["ide2"] = "local:iso/debian.iso,media=cdrom";
    g["100"]["config"]["ide3"] = "none,media=cdrom";
    g["100"]["config"]["usb0"] = "spice";
    g["100"]["config"]["usb1"] = "host=1234:5678";
    g["100"]["config"]["serial0"] = "socket";
    g["100"]["config"]["net0"] = "virtio=AA:BB:CC:DD:EE:FF,bridge=vmbr0";
    g["100"]["migrate"]["data"]["not_allowed_nodes"]["n2"]["unavailable_storages"].append(
        "local-lvm");
    g["100"]["migrate"]["data"]["local_disks"].append(Json::Value(Json::objectValue));
    g["100"]["migrate"]["data"]["local_disks"][0]["volid"] = "local-lvm:vm-100-disk-0";
    g["100"]["migrate"]["data"]["local_resources"].append("hostpci0");
    Json::Value p1, p2, p3;
    p1["cpu"] = 0.2;
    p1["mem"] = 1000;
    p2["cpu"] = 0.4;
    p2["mem"] = 3000;
    p3["time"] = 1; // a stopped interval: no values
    g["101"]["rrd"].append(p1);
    g["101"]["rrd"].append(p2);
    g["101"]["rrd"].append(p3);
    g["101"]["config"]["mp0"] = "/srv/data,mp=/data";
    snapshot s = b.build();
    const guest &vm = s.c.guests[0];
    BOOST_REQUIRE_EQUAL(vm.disks.size(), 2u);
    BOOST_TEST(vm.disks[0].key == "ide2");
    BOOST_TEST(vm.disks[0].cdrom);
    BOOST_TEST(vm.disks[1].size == 32 * GiB);
    BOOST_TEST((vm.local_resources == std::vector<std::string>{"hostpci0", "usb1"}));
    BOOST_REQUIRE_EQUAL(vm.blocked_targets.size(), 1u);
    BOOST_TEST(vm.blocked_targets[0].node == "n2");
    BOOST_TEST(vm.blocked_targets[0].reason == "unavailable_storages: local-lvm");
    BOOST_TEST(vm.local_disk_volids.size() == 1u);
    const guest &ct = s.c.guests[1];
    BOOST_REQUIRE(ct.cpu_avg.has_value());
    BOOST_TEST(*ct.cpu_avg == 0.3, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(*ct.mem_avg == 2000u);
    BOOST_TEST((ct.local_resources == std::vector<std::string>{"mp0"}));
}

BOOST_AUTO_TEST_CASE(ha_rules_groups_and_manager_status) {
    snapshot_builder b;
    b.node("n1", 8, 32 * GiB).node("n2", 8, 32 * GiB).node("n3", 8, 32 * GiB);
    b.guest(100, "n1", 1, GiB, 0, 0);
    b.guest(101, "n1", 1, GiB, 0, 0);
    b.guest(102, "n2", 1, GiB, 0, 0, "lxc");
    Json::Value &ha = b.extra()["ha"];
    Json::Value r;
    r["sid"] = "vm:100";
    r["group"] = "g1";
    ha["resources"].append(r);
    r = Json::Value();
    r["sid"] = "101";
    r["state"] = "ignored";
    ha["resources"].append(r);
    Json::Value grp;
    grp["group"] = "g1";
    grp["nodes"] = "n2:1,n3:1"; // one priority class: a resource affinity rule shares vm:100
    grp["restricted"] = 1;
    grp["nofailback"] = 1;
    ha["groups"].append(grp);
    Json::Value rule;
    rule["rule"] = "never-n1";
    rule["type"] = "node-affinity";
    rule["affinity"] = "negative";
    rule["resources"] = "ct:102";
    rule["nodes"] = "n1";
    ha["rules"].append(rule);
    rule = Json::Value();
    rule["rule"] = "apart";
    rule["type"] = "resource-affinity";
    rule["affinity"] = "negative";
    rule["resources"] = "vm:100,vm:101,vm:999";
    ha["rules"].append(rule);
    rule = Json::Value();
    rule["rule"] = "lonely";
    rule["type"] = "resource-affinity";
    rule["resources"] = "vm:100";
    ha["rules"].append(rule);
    ha["manager-status"]["manager_status"]["master_node"] = "n1";
    ha["manager-status"]["manager_status"]["node_status"]["n3"] = "maintenance";
    ha["manager-status"]["manager_status"]["service_status"]["vm:100"]["state"] = "migrate";
    snapshot s = b.build();
    const ha_config &h = s.c.ha;
    BOOST_REQUIRE_EQUAL(h.resources.size(), 2u);
    BOOST_TEST(h.resources[0].failback == false); // nofailback of its group
    BOOST_TEST(h.resources[1].state == ha_request_state::ignored);
    BOOST_REQUIRE_EQUAL(h.node_affinity.size(), 2u);
    BOOST_TEST(h.node_affinity[0].id == "ha-group-g1");
    BOOST_TEST(h.node_affinity[0].strict);
    BOOST_TEST(h.node_affinity[1].id == "never-n1");
    BOOST_TEST(h.node_affinity[1].strict);
    BOOST_TEST(h.node_affinity[1].nodes.size() == 2u); // complement: n2, n3
    BOOST_REQUIRE_EQUAL(h.resource_affinity.size(), 1u);
    BOOST_TEST(h.resource_affinity[0].guests.size() == 2u); // vm:999 dropped
    BOOST_TEST(!h.resource_affinity[0].positive);
    BOOST_TEST(h.dropped.size() == 2u); // vm:999 reference, and the one-resource rule
    BOOST_TEST(s.c.nodes[2].maintenance);
    BOOST_TEST(s.c.guests[0].ha_state == "migrate");
    BOOST_TEST(h.master_node == "n1");
}

BOOST_AUTO_TEST_CASE(options_precedence_and_validation) {
    snapshot_builder b;
    b.node("n1", 8, 32 * GiB);
    b.extra()["options"]["max-migrations"] = 3;
    b.extra()["options"]["mode"] = "static";
    snapshot s = b.build();
    BOOST_TEST(s.opts.max_migrations == 3u);
    BOOST_TEST((s.opts.mode == load_mode::assigned));
    auto merged =
        apply_options_json(s.opts, R"({"max-migrations": 7, "memory-reserve": "2G"})", "config");
    BOOST_REQUIRE(merged);
    BOOST_TEST(merged->max_migrations == 7u);
    BOOST_TEST(merged->memory_reserve == 2 * GiB);
    BOOST_TEST((merged->mode == load_mode::assigned)); // kept from the snapshot
    options o = *merged;
    BOOST_TEST(apply_option(o, "max-migrations", "9").has_value());
    BOOST_TEST(o.max_migrations == 9u);
    auto bad = apply_option(o, "cpu-limit", "high");
    BOOST_REQUIRE(!bad);
    BOOST_TEST(bad.error().to_string() ==
               "--cpu-limit: expected a fraction from 0.05 to 1, got \"high\"");
    BOOST_TEST(o.max_migrations == 9u); // unchanged by the failed flag
    BOOST_TEST(!apply_option(o, "no-such-option", "1"));
    auto cfg_err = apply_options_json(o, R"({"storage-map": 5})", "config");
    BOOST_REQUIRE(!cfg_err);
    BOOST_TEST(cfg_err.error().path == "config.storage-map");
    auto maint = apply_options_json(o, R"({"maintenance-nodes": "n9"})", "config");
    BOOST_REQUIRE(maint);
    BOOST_TEST(bind_options(s.c, *maint).error().to_string() ==
               "maintenance-nodes: unknown node \"n9\"");
}

// jsoncpp 1.9.5 (bookworm) fails on 1e400, 1.9.6 (trixie) reads infinity: the reader decides
// itself, the same on both (tests/malformed/40, 45-47 for the messages).
BOOST_AUTO_TEST_CASE(numbers_beyond_a_double_are_refused_the_same_on_every_jsoncpp) {
    const std::string node = R"({"type":"node","node":"n1","status":"online","maxcpu":8,)";
    // Underflow reads as 0 in both versions: accepted.
    auto tiny = read_snapshot("[" + node + R"("maxmem":1,"cpu":1e-400}])");
    BOOST_REQUIRE_MESSAGE(tiny, (tiny ? "" : tiny.error().to_string()));
    BOOST_TEST(tiny->c.nodes[0].cpu == 0.0);
    // The largest double and a long but finite literal are numbers, checked by the field's range.
    auto big = read_snapshot("[" + node + R"("maxmem":1,"cpu":1.7976931348623157e308}])");
    BOOST_REQUIRE(!big);
    BOOST_TEST(big.error().to_string().rfind("resources[0].cpu: expected a fraction", 0) == 0);
    // A string that looks like a huge number is a string.
    auto str = read_snapshot("[" + node + R"("maxmem":1,"name":"1e400"}])");
    BOOST_TEST(str.has_value());
    // The path goes through nested objects and keys with escapes.
    auto nested = read_snapshot(R"({"resources":{"data":[)" + node + R"("maxmem":1E+400}]}})");
    BOOST_REQUIRE(!nested);
    BOOST_TEST(nested.error().path == "resources.data[0].maxmem");
    auto opt = apply_options_json(options{}, R"({"options": {"cpu-limit": -0.5e309}})", "config");
    BOOST_REQUIRE(!opt);
    BOOST_TEST(opt.error().to_string() == "config.options.cpu-limit: expected a finite number (at "
                                          "most 1.8e308 in magnitude), got -0.5e309");
    // Invalid JSON after the number scan stops is still jsoncpp's error.
    auto bad = read_snapshot("[" + node + R"("maxmem":1,} 1e400])");
    BOOST_REQUIRE(!bad);
    BOOST_TEST(bad.error().to_string().rfind("snapshot: invalid JSON", 0) == 0);
}

// The documented input limits (docs/reliability.md): refused with the limit named, exit 2.
BOOST_AUTO_TEST_CASE(input_limits_are_named) {
    const std::string node =
        R"({"type":"node","node":"n1","status":"online","maxcpu":8,"maxmem":1})";
    auto big = read_snapshot("[" + node + "]" + std::string(max_snapshot_bytes, ' '));
    BOOST_REQUIRE(!big);
    BOOST_TEST(big.error().to_string() == "snapshot: larger than the input limit of 256 MiB (got " +
                                              std::to_string(max_snapshot_bytes + node.size() + 2) +
                                              " bytes)");
    auto many = [](const std::string &entry, std::size_t n) {
        std::string s = "[";
        for (std::size_t i = 0; i < n; ++i) {
            s += (i ? "," : "") + entry;
        }
        return s + "]";
    };
    // Counted before any entry is read: the entries need not be valid.
    auto nodes = read_snapshot(many(R"({"type":"node"})", max_snapshot_nodes + 1));
    BOOST_REQUIRE(!nodes);
    BOOST_TEST(nodes.error().to_string() ==
               "resources: more than 10000 nodes (the input limit, see docs/reliability.md)");
    BOOST_TEST(read_snapshot(many(node, 1)).has_value());
    auto guests = read_snapshot(many(R"({"type":"lxc"})", max_snapshot_guests + 1));
    BOOST_REQUIRE(!guests);
    BOOST_TEST(guests.error().to_string() ==
               "resources: more than 1000000 guests (the input limit, see docs/reliability.md)");
    auto rules = read_snapshot(R"({"resources":[)" + node + R"(],"ha":{"rules":)" +
                               many("0", max_snapshot_ha_rules) + R"(,"groups":{"data":[0]}}})");
    BOOST_REQUIRE(!rules);
    BOOST_TEST(rules.error().to_string() == "ha.rules: more than 100000 HA rules and groups (the "
                                            "input limit, see docs/reliability.md)");
}

BOOST_AUTO_TEST_CASE(sizes) {
    BOOST_TEST(*parse_size("1024") == 1024u);
    BOOST_TEST(*parse_size("8G") == 8 * GiB);
    BOOST_TEST(*parse_size("1.5KiB") == 1536u);
    BOOST_TEST(!parse_size("8X"));
    BOOST_TEST(!parse_size("-1"));
    BOOST_TEST(!parse_size(""));
}

BOOST_AUTO_TEST_SUITE_END()
