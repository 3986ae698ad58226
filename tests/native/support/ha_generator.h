// The cluster generator of the HA property tests: small clusters (3-6 nodes, 2-9 HA guests,
// sometimes tight, sometimes with rules, pins, priorities, ratio limits, unrecoverable guests)
// from a seed, the same snapshot in another order, and a way to run a command on it.
#ifndef PVEBAL_TESTS_SUPPORT_HA_GENERATOR_H_
#define PVEBAL_TESTS_SUPPORT_HA_GENERATOR_H_

#include "support/ha_world.h"
#include "support/random.h"
#include "support/rules.h"
#include "test_util.h"

#include "pvebal/api.h"
#include "pvebal/io.h"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace pvebal::test::ha {

struct generated {
    snapshot_builder b;
    std::vector<std::string> nodes;
    int ha_guests = 0;
    bool rules = false;
};

inline generated generate(rng_t &r) {
    generated out;
    snapshot_builder &b = out.b;
    const int n_nodes = r.uniform(3, 6);
    const bool tight = r.percent(30);
    struct nd {
        std::string name;
        int maxcpu;
        std::uint64_t maxmem;
        double cores = 0; // used by guests, in cores
        std::uint64_t mem = 0;
        bool online = true;
    };
    std::vector<nd> nodes;
    for (int i = 0; i < n_nodes; ++i) {
        nd x;
        x.name = "n" + std::to_string(i + 1);
        x.maxcpu = r.pick(std::vector<int>{4, 8, 16, 32});
        x.maxmem = static_cast<std::uint64_t>(r.pick(std::vector<int>{8, 16, 32, 64, 128})) * GiB;
        x.mem = static_cast<std::uint64_t>(r.uniform(0, 8)) * (GiB / 4); // overhead
        x.cores = r.uniform(0, 4) / 4.0;
        nodes.push_back(x);
        out.nodes.push_back(x.name);
    }
    if (n_nodes > 3 && r.percent(5)) {
        nodes.back().online = false; // an offline node, with no guests
    }
    struct gd {
        std::uint32_t vmid;
        int maxcpu;
        std::uint64_t maxmem, mem;
        int cpu16; // cpu fraction in 1/16
        bool ha = true, running = true;
        std::string ha_state = "started";
        int node = -1;
        std::vector<std::string> tags;
        int kind =
            0; // 0 plain, 1 local disk, 2 passthrough, 3 shared disk, 4 precondition local disk
    };
    const int n_ha = r.uniform(2, 9);
    const int n_other = r.uniform(0, 3);
    std::vector<gd> guests;
    for (int i = 0; i < n_ha + n_other; ++i) {
        gd g;
        g.vmid = static_cast<std::uint32_t>(100 + i);
        g.ha = i < n_ha;
        g.maxcpu = r.pick(std::vector<int>{1, 2, 4, 8});
        const int units = tight ? r.uniform(8, 48) : r.uniform(1, 16); // of 512 MiB
        g.maxmem = static_cast<std::uint64_t>(units) * (GiB / 2);
        g.mem = g.maxmem / 4 * static_cast<std::uint64_t>(r.uniform(1, 4));
        g.cpu16 = r.uniform(0, 16);
        if (g.ha) {
            const int s = r.uniform(0, 99);
            g.ha_state = s < 8 ? "stopped" : s < 11 ? "disabled" : s < 13 ? "ignored" : "started";
            g.running = g.ha_state != "stopped" && (g.ha_state == "started" || r.percent(50));
        } else {
            g.running = r.percent(80);
        }
        if (!g.running) {
            g.mem = 0;
            g.cpu16 = 0;
        }
        const int k = r.uniform(0, 99);
        g.kind = k < 5 ? 1 : k < 8 ? 2 : k < 20 ? 3 : k < 22 ? 4 : 0;
        guests.push_back(g);
    }
    // Rules are decided before placement, so that the initial state respects them.
    std::vector<int> ha_idx;
    for (int i = 0; i < n_ha; ++i) {
        if (guests[static_cast<size_t>(i)].ha_state == "started" ||
            guests[static_cast<size_t>(i)].ha_state == "stopped") {
            ha_idx.push_back(i);
        }
    }
    r.shuffle(ha_idx);
    std::vector<bool> used_by_rule(guests.size(), false);
    std::vector<std::pair<int, int>> pairs;   // keep together: same node
    std::vector<std::vector<int>> apart_sets; // keep apart: distinct nodes
    auto take = [&](int want) {
        std::vector<int> out_ids;
        for (int i : ha_idx) {
            if (!used_by_rule[static_cast<size_t>(i)] && static_cast<int>(out_ids.size()) < want) {
                out_ids.push_back(i);
                used_by_rule[static_cast<size_t>(i)] = true;
            }
        }
        return out_ids;
    };
    const int live_nodes = static_cast<int>(
        std::count_if(nodes.begin(), nodes.end(), [](const nd &x) { return x.online; }));
    if (r.percent(30)) {
        auto p = take(2);
        if (p.size() == 2) {
            pairs.emplace_back(p[0], p[1]);
            out.rules = true;
        }
    }
    for (int rep = 0; rep < 2; ++rep) {
        if (r.percent(rep == 0 ? 35 : 10)) {
            auto s = take(std::min(live_nodes, r.uniform(2, 3)));
            if (s.size() >= 2) {
                apart_sets.push_back(s);
                out.rules = true;
            }
        }
    }
    bool tag_apart = false;
    if (r.percent(10)) {
        auto s = take(2);
        if (s.size() == 2) {
            apart_sets.push_back(s);
            tag_apart = true;
            out.rules = true;
        }
    }
    // Placement, with room: a node's memory never exceeds maxmem in the snapshot.
    auto room = [&](const nd &x, std::uint64_t mem) { return x.online && x.mem + mem <= x.maxmem; };
    auto place_on = [&](gd &g, int n) {
        g.node = n;
        nodes[static_cast<size_t>(n)].mem += g.mem;
        nodes[static_cast<size_t>(n)].cores += g.cpu16 / 16.0 * g.maxcpu;
    };
    auto random_node_with_room = [&](std::uint64_t mem, const std::set<int> &avoid) {
        std::vector<int> ok;
        for (int n = 0; n < n_nodes; ++n) {
            if (room(nodes[static_cast<size_t>(n)], mem) && !avoid.count(n)) {
                ok.push_back(n);
            }
        }
        return ok.empty() ? -1 : r.pick(ok);
    };
    for (auto [a, b2] : pairs) {
        gd &ga = guests[static_cast<size_t>(a)];
        gd &gb = guests[static_cast<size_t>(b2)];
        const int n = random_node_with_room(ga.mem + gb.mem, {});
        if (n >= 0) {
            place_on(ga, n);
            place_on(gb, n);
        }
    }
    for (const auto &s : apart_sets) {
        std::set<int> avoid;
        for (int i : s) {
            const int n = random_node_with_room(guests[static_cast<size_t>(i)].mem, avoid);
            if (n >= 0) {
                place_on(guests[static_cast<size_t>(i)], n);
                avoid.insert(n);
            }
        }
    }
    for (gd &g : guests) {
        if (g.node < 0) {
            const int n = random_node_with_room(g.mem, {});
            if (n >= 0) {
                place_on(g, n);
            }
        }
    }
    // Tags: pins and priorities (not on keep-together members: their rules would conflict).
    const bool priorities = r.percent(60);
    std::set<int> in_pair;
    for (auto [a, b2] : pairs) {
        in_pair.insert(a);
        in_pair.insert(b2);
    }
    for (size_t i = 0; i < guests.size(); ++i) {
        gd &g = guests[i];
        if (priorities && g.ha) {
            g.tags.push_back("pvebal-priority-" + std::to_string(r.uniform(0, 3)));
        }
        if (!in_pair.count(static_cast<int>(i)) && r.percent(12)) {
            const int k = r.uniform(1, 2);
            for (int j = 0; j < k; ++j) {
                g.tags.push_back((r.percent(50) ? "pvebal-pin-" : "plb_pin_") + r.pick(out.nodes));
            }
        }
    }
    if (tag_apart) {
        for (int i : apart_sets.back()) {
            guests[static_cast<size_t>(i)].tags.push_back("plb_anti_affinity_grp");
        }
        apart_sets.pop_back();
    }
    // Emit.
    for (const nd &x : nodes) {
        const double cpu = std::min(1.0, x.cores / x.maxcpu);
        b.node(x.name, x.maxcpu, x.maxmem, x.online ? cpu : 0, x.online ? x.mem : 0, x.online);
        b.storage(x.name, "local", false);
        b.storage(x.name, "ceph", true);
    }
    for (const gd &g : guests) {
        if (g.node < 0) {
            continue; // no room anywhere: left out of this cluster
        }
        if (g.ha) {
            ++out.ha_guests;
        }
        Json::Value &e = b.guest(g.vmid, out.nodes[static_cast<size_t>(g.node)], g.maxcpu, g.maxmem,
                                 g.cpu16 / 16.0, g.mem, "qemu", g.running ? "running" : "stopped");
        std::string tags;
        for (const std::string &t : g.tags) {
            tags += (tags.empty() ? "" : ";") + t;
        }
        if (!tags.empty()) {
            e["tags"] = tags;
        }
        const std::string id = std::to_string(g.vmid);
        if (g.kind == 1) {
            b.extra()["guests"][id]["config"]["scsi0"] = "local:vm-" + id + "-disk-0,size=8G";
        } else if (g.kind == 2) {
            b.extra()["guests"][id]["config"]["hostpci0"] = "0000:01:00.0";
        } else if (g.kind == 3) {
            b.extra()["guests"][id]["config"]["scsi0"] = "ceph:vm-" + id + "-disk-0,size=8G";
            b.extra()["guests"][id]["config"]["ide2"] = "local:iso/install.iso,media=cdrom";
        } else if (g.kind == 4) {
            Json::Value d(Json::objectValue);
            d["volid"] = "local:vm-" + id + "-disk-1";
            b.extra()["guests"][id]["migrate"]["local_disks"].append(d);
        }
        if (g.ha) {
            add_ha_resource(b, "vm:" + id, g.ha_state);
        }
    }
    auto placed = [&](int i) { return guests[static_cast<size_t>(i)].node >= 0; };
    auto sids = [&](const std::vector<int> &ids) {
        std::string s;
        for (int i : ids) {
            if (placed(i)) {
                s += (s.empty() ? "" : ",") + std::string("vm:") +
                     std::to_string(guests[static_cast<size_t>(i)].vmid);
            }
        }
        return s;
    };
    int rule_no = 0;
    for (auto [a, b2] : pairs) {
        if (placed(a) && placed(b2)) {
            resource_rule(b, "together" + std::to_string(++rule_no), sids({a, b2}), true);
        }
    }
    for (const auto &s : apart_sets) {
        const std::string list = sids(s);
        if (std::count(list.begin(), list.end(), ',') >= 1) {
            resource_rule(b, "apart" + std::to_string(++rule_no), list, false);
        }
    }
    // Node affinity: up to two rules over guests that are in no other rule.
    const int n_node_rules = r.percent(35) ? r.uniform(1, 2) : 0;
    for (int k = 0; k < n_node_rules; ++k) {
        auto members = take(r.uniform(1, 3));
        std::vector<int> present;
        for (int i : members) {
            if (placed(i)) {
                present.push_back(i);
            }
        }
        if (present.empty()) {
            continue;
        }
        std::vector<std::string> ns = out.nodes;
        r.shuffle(ns);
        ns.resize(static_cast<size_t>(r.uniform(1, n_nodes - 1)));
        const bool with_prio = r.percent(50);
        std::string list;
        for (const std::string &n : ns) {
            list += (list.empty() ? "" : ",") + n +
                    (with_prio ? ":" + std::to_string(r.uniform(0, 3)) : "");
        }
        node_rule(b, "prefer" + std::to_string(++rule_no), sids(present), list, r.percent(50));
        out.rules = true;
    }
    // Options.
    Json::Value &o = b.extra()["options"];
    o = Json::Value(Json::objectValue);
    if (r.percent(20)) {
        o["mode"] = "static";
    }
    o["memory-limit"] = r.pick(std::vector<double>{0.75, 0.9, 1.0});
    o["memory-reserve"] = r.pick(std::vector<std::string>{"0", "512M", "1G"});
    o["cpu-limit"] = r.pick(std::vector<double>{0.5, 0.9, 1.0});
    if (r.percent(15)) {
        o["max-vcpu-ratio"] = r.pick(std::vector<double>{1.0, 2.0, 4.0});
    }
    if (r.percent(10)) {
        o["max-memory-ratio"] = r.pick(std::vector<double>{0.9, 1.0, 1.5});
    }
    if (r.percent(10)) {
        o["default-priority"] = r.uniform(0, 3);
    }
    if (r.percent(5)) {
        Json::Value m(Json::arrayValue);
        m.append(out.nodes.front());
        o["maintenance-nodes"] = m;
    }
    return out;
}

// The same snapshot with its entries in another order.
inline std::string shuffled(const std::string &text, rng_t &r) {
    Json::Value root;
    Json::CharReaderBuilder rb;
    std::string errs;
    std::istringstream in(text);
    BOOST_REQUIRE(Json::parseFromStream(rb, in, &root, &errs));
    auto shuffle_array = [&](Json::Value &a) {
        if (!a.isArray()) {
            return;
        }
        std::vector<Json::Value> items(a.begin(), a.end());
        r.shuffle(items);
        a = Json::Value(Json::arrayValue);
        for (const Json::Value &v : items) {
            a.append(v);
        }
    };
    shuffle_array(root["resources"]);
    if (root.isMember("ha")) {
        shuffle_array(root["ha"]["resources"]);
        if (root["ha"].isMember("rules")) {
            shuffle_array(root["ha"]["rules"]);
        }
    }
    Json::StreamWriterBuilder wb;
    wb["indentation"] = "";
    return Json::writeString(wb, root);
}

inline std::string run(const std::string &command, const std::string &snapshot_text,
                       const std::map<std::string, std::string> &args) {
    request rq;
    rq.command = command;
    rq.snapshot = snapshot_text;
    rq.args = args;
    rq.format = output_format::json;
    auto out = execute(rq);
    BOOST_REQUIRE_MESSAGE(out.has_value(), command << ": " << (out ? "" : out.error().to_string()));
    return *out;
}

// How many generated clusters a property test checks: PVEBAL_HA_SEEDS overrides the default
// (for a longer run by hand).
inline std::uint32_t seeds(std::uint32_t dflt) {
    const char *e = std::getenv("PVEBAL_HA_SEEDS");
    return e != nullptr ? static_cast<std::uint32_t>(std::stoul(e)) : dflt;
}

} // namespace pvebal::test::ha

#endif
