// The cluster generator of the planner property tests (planner_property_test.cpp): from a seed,
// a cluster of one of three profiles — loose (any fill), tight (every node's memory near the
// limit), crowded (3-4 nodes near the limit with big guests: swaps, chains, parking and dropped
// moves) — with tags, HA resources and rules, storages; and the same document reordered.
#ifndef PVEBAL_TESTS_SUPPORT_PLAN_GENERATOR_H_
#define PVEBAL_TESTS_SUPPORT_PLAN_GENERATOR_H_

#include "support/random.h"
#include "support/rules.h"
#include "test_util.h"

#include "pvebal/io.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace pvebal::test::plans {

struct gen_node {
    std::string name;
    double maxcpu = 0;
    std::uint64_t maxmem = 0;
    bool online = true;
    double fill = 0;   // memory fill the guests may reach
    double weight = 0; // how likely a guest lands here
    double guest_cpu = 0;
    std::uint64_t guest_mem = 0;
    std::uint64_t overhead = 0;
    double overhead_cpu = 0;
    bool zfs = false;
    bool lvm = false;
};

struct gen_guest {
    std::uint32_t vmid = 0;
    bool lxc = false;
    int node = 0;
    bool running = false;
    int role = 0; // 0 none, 1 keep-together member, 2 keep-apart member (never both)
    bool ha = false;
    bool node_ruled = false;
};

// Cluster profiles: loose (any fill), tight (every node's memory near the limit) and crowded
// (3-4 nodes near the limit with big guests: swaps, chains, parking and dropped moves).
enum class profile { loose, tight, crowded };

struct generated {
    Json::Value root;
    std::string json;
    std::string drain; // the node to evacuate
    profile kind = profile::loose;
};

inline generated generate(std::uint32_t seed) {
    rng_t r(seed);
    snapshot_builder b;
    generated out;

    static const std::vector<std::string> names = {"alpha", "bravo",   "charlie", "delta",
                                                   "echo",  "foxtrot", "golf",    "hotel",
                                                   "india", "juliet",  "kilo",    "lima"};
    const double draw = r.real();
    out.kind = draw < 0.2 ? profile::crowded : draw < 0.5 ? profile::tight : profile::loose;
    const bool crowded = out.kind == profile::crowded;
    const bool tight = out.kind != profile::loose;
    const int nn = crowded ? r.uniform(3, 4) : r.uniform(3, 12);
    const bool with_storage = r.chance(0.8);
    const std::vector<double> cpus = {4, 8, 16, 24, 32, 64};
    const std::vector<std::uint64_t> mems = {16, 24, 32, 64, 128, 256};
    std::vector<gen_node> nodes(static_cast<size_t>(nn));
    const double skew = r.real() * 3; // 0: even guest placement; 3: a few hot nodes
    for (int i = 0; i < nn; ++i) {
        gen_node &n = nodes[static_cast<size_t>(i)];
        n.name = names[static_cast<size_t>(i)];
        if (r.chance(0.1)) {
            n.name[0] = static_cast<char>(std::toupper(n.name[0])); // pins match case-insensitively
        }
        n.maxcpu = r.pick(cpus);
        n.maxmem = (crowded ? 64 : r.pick(mems)) * GiB;
        n.fill = crowded ? 0.8 + 0.15 * r.real()
                 : tight ? 0.82 + 0.14 * r.real()
                         : 0.1 + 0.75 * r.real();
        n.weight = std::pow(0.05 + r.real(), skew);
        n.overhead = static_cast<std::uint64_t>((0.5 + 1.5 * r.real()) * static_cast<double>(GiB));
        n.overhead_cpu = r.real() * 0.05 * n.maxcpu;
        n.zfs = with_storage && r.chance(0.6);
        n.lvm = with_storage && r.chance(0.3);
    }
    if (r.chance(0.15)) {
        nodes[static_cast<size_t>(r.uniform(0, nn - 1))].online = false;
    }
    double weight_sum = 0;
    for (const gen_node &n : nodes) {
        weight_sum += n.weight;
    }
    auto weighted_node = [&]() {
        double x = r.real() * weight_sum;
        for (int i = 0; i < nn; ++i) {
            x -= nodes[static_cast<size_t>(i)].weight;
            if (x <= 0) {
                return i;
            }
        }
        return nn - 1;
    };

    const bool static_mode = r.chance(0.12);
    const bool honor = !r.chance(0.1);
    const int ng = crowded ? r.uniform(4, 24) : r.uniform(0, 60);
    std::vector<gen_guest> guests;
    Json::Value details(Json::objectValue);
    std::uint32_t vmid = 100 + static_cast<std::uint32_t>(r.uniform(0, 50));
    const std::vector<double> vcpus = {1, 1, 2, 2, 4, 4, 8, 16};
    const std::vector<double> gmems = crowded ? std::vector<double>{4, 8, 8, 12, 16, 24}
                                              : std::vector<double>{0.5, 1, 2, 2, 4, 4, 8, 16, 32};
    for (int i = 0; i < ng; ++i) {
        gen_guest g;
        g.vmid = vmid;
        vmid += static_cast<std::uint32_t>(r.uniform(1, 30));
        g.lxc = r.chance(0.25);
        const double maxcpu = r.pick(vcpus);
        const std::uint64_t maxmem =
            static_cast<std::uint64_t>(r.pick(gmems) * static_cast<double>(GiB));
        const bool is_template = r.chance(0.03);
        std::string status = is_template || r.chance(0.18) ? "stopped"
                             : r.chance(0.04)              ? "paused"
                                                           : "running";
        double cpu = 0;
        std::uint64_t mem = 0, memhost = 0;
        // Place it: a running guest must fit its node's memory budget, else it is stopped.
        g.node = weighted_node();
        if (status != "stopped") {
            cpu = std::pow(r.real(), 1.5);
            mem = static_cast<std::uint64_t>((0.3 + 0.7 * r.real()) * static_cast<double>(maxmem));
            if (!g.lxc && r.chance(0.5)) {
                memhost = mem + maxmem / 20;
            }
            const std::uint64_t host = memhost > 0 ? memhost : mem;
            bool placed = false;
            for (int attempt = 0; attempt < 6 && !placed; ++attempt) {
                gen_node &n = nodes[static_cast<size_t>(g.node)];
                if (n.online && static_cast<double>(n.guest_mem + host + n.overhead) <=
                                    n.fill * static_cast<double>(n.maxmem)) {
                    placed = true;
                } else if (!n.online && r.chance(0.3)) {
                    placed = true; // a stale "running" entry on an offline node
                } else {
                    g.node = attempt < 3 ? weighted_node() : r.uniform(0, nn - 1);
                }
            }
            if (!placed) {
                status = "stopped";
                cpu = 0;
                mem = memhost = 0;
            } else if (nodes[static_cast<size_t>(g.node)].online) {
                nodes[static_cast<size_t>(g.node)].guest_mem += host;
                nodes[static_cast<size_t>(g.node)].guest_cpu += cpu * maxcpu;
            }
        }
        gen_node &gn = nodes[static_cast<size_t>(g.node)];
        if (!gn.online && status == "stopped" && r.chance(0.5)) {
            status = "unknown";
        }
        g.running = status == "running" || status == "paused";
        Json::Value &e =
            b.guest(g.vmid, gn.name, maxcpu, maxmem, cpu, mem, g.lxc ? "lxc" : "qemu", status);
        if (memhost > 0) {
            e["memhost"] = static_cast<Json::UInt64>(memhost);
        }
        e["maxdisk"] = static_cast<Json::UInt64>(8 * GiB);
        if (is_template) {
            e["template"] = 1;
        }
        if (r.chance(0.03)) {
            e["lock"] = r.chance(0.5) ? "backup" : "migrate";
        }
        // Tags.
        std::vector<std::string> tags;
        if (r.chance(0.3)) {
            tags.push_back(r.chance(0.5) ? "prod"
                                         : "pvebal-priority-" + std::to_string(r.uniform(0, 1000)));
        }
        if (r.chance(0.03)) {
            tags.push_back(r.chance(0.7)   ? "pvebal-ignore"
                           : r.chance(0.5) ? "PVEBAL-Ignore"
                                           : "plb_ignore_vm");
        }
        if (r.chance(0.07)) {
            const int pins = r.uniform(1, 2);
            for (int k = 0; k < pins; ++k) {
                const std::string &target = nodes[static_cast<size_t>(r.uniform(0, nn - 1))].name;
                const int style = r.uniform(0, 9);
                tags.push_back(style < 6   ? "pvebal-pin-" + lower(target)
                               : style < 8 ? "plb_pin_" + target
                               : style < 9 ? "PVEBAL-PIN-" + target
                                           : std::string("pvebal-pin-nosuchnode"));
            }
        }
        if (r.chance(0.1)) {
            g.role = 2;
            tags.push_back("plb_anti_affinity_" +
                           r.pick(std::vector<std::string>{"web", "db", "dns"}));
        } else if (r.chance(0.05)) {
            g.role = 1;
            tags.push_back("plb_affinity_" + r.pick(std::vector<std::string>{"app", "cache"}));
        }
        r.shuffle(tags);
        if (!tags.empty()) {
            e["tags"] = join(tags, r.chance(0.8) ? ";" : ",");
        }
        // Guest details: config (disks, devices), precondition, RRD averages.
        Json::Value d(Json::objectValue);
        if (with_storage && r.chance(0.7)) {
            std::vector<std::string> stores = {"ceph"};
            if (gn.zfs) {
                stores.insert(stores.end(), 2, "local-zfs");
            }
            if (gn.lvm) {
                stores.push_back("local-lvm");
            }
            const std::string st = r.pick(stores);
            Json::Value cfg(Json::objectValue);
            const std::string id = std::to_string(g.vmid);
            if (g.lxc) {
                cfg["rootfs"] = st + ":subvol-" + id + "-disk-0,size=8G";
            } else {
                cfg["scsi0"] =
                    st + ":vm-" + id + "-disk-0,size=" + std::to_string(r.uniform(4, 64)) + "G";
                if (r.chance(0.2)) {
                    cfg["scsi1"] = "ceph:vm-" + id + "-disk-1,size=32G";
                }
                if (r.chance(0.1)) {
                    cfg["usb0"] = "spice"; // not a local resource
                }
                if (r.chance(0.03)) {
                    cfg["hostpci0"] = "0000:01:00.0,pcie=1"; // passthrough: immovable
                }
            }
            d["config"] = cfg;
        }
        if (!g.lxc && r.chance(0.05)) {
            Json::Value why(Json::objectValue);
            why["unavailable_storages"].append("local-zfs");
            Json::Value na(Json::objectValue);
            na[nodes[static_cast<size_t>(r.uniform(0, nn - 1))].name] = why;
            d["migrate"]["not_allowed_nodes"] = na;
        }
        if (g.running && r.chance(0.1)) {
            d["rrd"]["cpu"] = r.real() * 0.8;
            d["rrd"]["mem"] =
                static_cast<Json::UInt64>(static_cast<double>(maxmem) * (0.2 + 0.7 * r.real()));
        }
        if (!d.empty()) {
            details[std::to_string(g.vmid)] = d;
        }
        guests.push_back(g);
    }

    // Nodes (reported usage: what their guests account for plus an overhead) and storages.
    for (const gen_node &n : nodes) {
        if (!n.online) {
            b.node(n.name, n.maxcpu, n.maxmem, 0, 0, false);
        } else {
            const double cpu = std::min(1.0, (n.guest_cpu + n.overhead_cpu) / n.maxcpu);
            const std::uint64_t mem = std::min(n.maxmem, n.guest_mem + n.overhead);
            b.node(n.name, n.maxcpu, n.maxmem, cpu, mem, true);
        }
        if (with_storage) {
            b.storage(n.name, "ceph", true);
            b.storage(n.name, "local", false);
            if (n.zfs) {
                b.storage(n.name, "local-zfs", false);
            }
            if (n.lvm) {
                b.storage(n.name, "local-lvm", false);
            }
        }
    }

    Json::Value &x = b.extra();
    x = Json::Value(Json::objectValue);
    if (!details.empty()) {
        x["guests"] = details;
    }

    // HA: resources, node affinity (strict, non-strict with priorities, negative) and
    // resource affinity (positive, negative). Keep-together and keep-apart members are disjoint.
    if (ng > 0 && r.chance(0.5)) {
        Json::Value res(Json::arrayValue);
        std::vector<size_t> ha;
        for (size_t i = 0; i < guests.size(); ++i) {
            if (!r.chance(0.35)) {
                continue;
            }
            gen_guest &g = guests[i];
            g.ha = true;
            ha.push_back(i);
            Json::Value h(Json::objectValue);
            h["sid"] = (g.lxc ? "ct:" : "vm:") + std::to_string(g.vmid);
            const double s = r.real();
            h["state"] = s < 0.85   ? "started"
                         : s < 0.9  ? "ignored"
                         : s < 0.95 ? "stopped"
                                    : "disabled";
            if (r.chance(0.3)) {
                h["failback"] = 0;
            }
            res.append(h);
        }
        x["ha"]["resources"] = res;
        Json::Value rules(Json::arrayValue);
        auto sid = [&](size_t i) {
            return (guests[i].lxc ? "ct:" : "vm:") + std::to_string(guests[i].vmid);
        };
        auto take = [&](int count, auto accept) {
            std::vector<size_t> pool;
            for (size_t i : ha) {
                if (accept(guests[i])) {
                    pool.push_back(i);
                }
            }
            r.shuffle(pool);
            if (pool.size() > static_cast<size_t>(count)) {
                pool.resize(static_cast<size_t>(count));
            }
            return pool;
        };
        int rule_no = 0;
        const int node_rules = r.uniform(0, 2);
        for (int k = 0; k < node_rules; ++k) {
            const bool overlap = r.chance(0.05); // a guest in two rules: HA drops both rules
            auto members =
                take(r.uniform(1, 3), [&](const gen_guest &g) { return overlap || !g.node_ruled; });
            if (members.empty()) {
                break;
            }
            std::vector<std::string> sids;
            for (size_t i : members) {
                guests[i].node_ruled = true;
                sids.push_back(sid(i));
            }
            std::vector<int> idx(static_cast<size_t>(nn));
            std::iota(idx.begin(), idx.end(), 0);
            r.shuffle(idx);
            idx.resize(static_cast<size_t>(r.uniform(1, std::min(nn - 1, 4))));
            const bool negative = r.chance(0.2);
            const bool prio = !negative && r.chance(0.5);
            std::vector<std::string> ns;
            for (int n : idx) {
                ns.push_back(nodes[static_cast<size_t>(n)].name +
                             (prio ? ":" + std::to_string(r.uniform(0, 3)) : ""));
            }
            Json::Value rule(Json::objectValue);
            rule["rule"] = "node-rule-" + std::to_string(++rule_no);
            rule["type"] = "node-affinity";
            rule["resources"] = join(sids, ",");
            rule["nodes"] = join(ns, ",");
            rule["strict"] = r.chance(0.5) ? 1 : 0;
            if (negative) {
                rule["affinity"] = "negative";
            }
            rules.append(rule);
        }
        for (int positive = 1; positive >= 0; --positive) {
            const int count = r.uniform(0, positive ? 1 : 2);
            for (int k = 0; k < count; ++k) {
                const int want = positive ? 1 : 2;
                auto members = take(r.uniform(2, 3), [&](const gen_guest &g) {
                    return g.role == 0 || g.role == want;
                });
                if (members.size() < 2) {
                    break;
                }
                std::vector<std::string> sids;
                for (size_t i : members) {
                    guests[i].role = want;
                    sids.push_back(sid(i));
                }
                Json::Value rule(Json::objectValue);
                rule["rule"] = (positive ? "together-" : "apart-") + std::to_string(++rule_no);
                rule["type"] = "resource-affinity";
                rule["affinity"] = positive ? "positive" : "negative";
                if (r.chance(0.5)) {
                    rule["resources"] = join(sids, ",");
                } else {
                    for (const std::string &s : sids) {
                        rule["resources"].append(s);
                    }
                }
                rules.append(rule);
            }
        }
        if (!rules.empty()) {
            x["ha"]["rules"] = rules;
        }
        if (r.chance(0.2)) {
            const gen_node &m = nodes[static_cast<size_t>(r.uniform(0, nn - 1))];
            x["ha"]["manager-status"]["master_node"] = nodes[0].name;
            x["ha"]["manager-status"]["node_status"][m.name] = "maintenance";
        }
    }

    Json::Value o(Json::objectValue);
    o["max-migrations"] = r.pick(std::vector<int>{0, 1, 2, 3, 5, 8, 10, 10, 20});
    o["max-parallel"] = r.uniform(1, 6);
    o["max-parallel-per-node"] = r.uniform(1, 3);
    if (r.chance(0.35)) {
        o["allow-container-restart"] = true;
    }
    if (r.chance(0.3)) {
        o["cpu-limit"] = 0.7 + 0.25 * r.real();
    }
    if (r.chance(0.3)) {
        o["memory-limit"] = 0.8 + 0.15 * r.real();
    }
    if (r.chance(0.3)) {
        o["memory-reserve"] = r.pick(std::vector<std::string>{"0", "512M", "2G", "4G"});
    }
    if (r.chance(0.15)) {
        o["max-vcpu-ratio"] = 1 + 3 * r.real();
    }
    if (r.chance(0.15)) {
        o["max-memory-ratio"] = 0.7 + 0.8 * r.real();
    }
    if (r.chance(0.25)) {
        o["threshold"] = r.pick(std::vector<double>{0, 0.005, 0.05, 0.2});
    }
    if (r.chance(0.15)) {
        o["min-improvement"] = r.pick(std::vector<double>{0, 0.0005, 0.01});
    }
    if (r.chance(0.15)) {
        o["cost-weight"] = r.pick(std::vector<double>{0, 0.005});
    }
    if (r.chance(0.1)) {
        o["cpu-weight"] = 2;
        o["pressure-threshold"] = 0.6;
    }
    if (static_mode) {
        o["mode"] = "static";
    }
    if (!honor) {
        o["honor-proxlb-tags"] = false;
    }
    if (r.chance(0.15)) {
        o["maintenance-nodes"].append(nodes[static_cast<size_t>(r.uniform(0, nn - 1))].name);
    }
    if (with_storage && r.chance(0.25)) {
        o["storage-map"]["local-zfs"] = "local-lvm";
    }
    x["options"] = o;

    out.drain = nodes[static_cast<size_t>(r.uniform(0, nn - 1))].name;
    out.json = b.json();
    std::istringstream in(out.json);
    in >> out.root;
    return out;
}

// The same document with resources (and HA resources and rules) shuffled and every object's keys
// in another order.
inline void write_reordered(const Json::Value &v, rng_t &r, std::string &out) {
    if (v.isObject()) {
        std::vector<std::string> keys = v.getMemberNames();
        r.shuffle(keys);
        out += '{';
        for (size_t i = 0; i < keys.size(); ++i) {
            out += (i ? "," : "") + Json::valueToQuotedString(keys[i].c_str()) + ':';
            write_reordered(v[keys[i]], r, out);
        }
        out += '}';
    } else if (v.isArray()) {
        out += '[';
        for (Json::ArrayIndex i = 0; i < v.size(); ++i) {
            out += i ? "," : "";
            write_reordered(v[i], r, out);
        }
        out += ']';
    } else {
        Json::StreamWriterBuilder b;
        b["indentation"] = "";
        out += Json::writeString(b, v);
    }
}

inline std::string reordered(const generated &g, std::uint32_t seed) {
    rng_t r(seed);
    Json::Value root = g.root;
    std::vector<Json::Value> items(root["resources"].begin(), root["resources"].end());
    r.shuffle(items);
    root["resources"] = Json::Value(Json::arrayValue);
    for (Json::Value &i : items) {
        root["resources"].append(i);
    }
    for (const char *key : {"resources", "rules"}) { // HA entries: their order means nothing either
        if (!root.isMember("ha") || !root["ha"].isMember(key)) {
            continue;
        }
        std::vector<Json::Value> ha(root["ha"][key].begin(), root["ha"][key].end());
        r.shuffle(ha);
        root["ha"][key] = Json::Value(Json::arrayValue);
        for (Json::Value &i : ha) {
            root["ha"][key].append(i);
        }
    }
    std::string out;
    write_reordered(root, r, out);
    return out;
}

inline snapshot load(const std::string &text) {
    auto s = read_snapshot(text);
    if (!s) {
        throw std::runtime_error("generated snapshot rejected: " + s.error().to_string());
    }
    if (auto b = bind_options(s->c, s->opts); !b) {
        throw std::runtime_error("options rejected: " + b.error().to_string());
    }
    return std::move(*s);
}

} // namespace pvebal::test::plans

#endif
