// Property tests of the planners over generated clusters. Every plan is replayed, wave by wave,
// by a reference checker written here from the documented rules (docs/constraints.md,
// docs/options.md, docs/algorithms.md); it recomputes loads, limits and rules from the model and
// does not call the engine's constraint checks, so it fails when the engine is wrong.
#include "test_util.h"

#include "pvebal/io.h"
#include "pvebal/report.h"
#include "pvebal/scoring.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <sstream>

using namespace pvebal;
using namespace pvebal::test;

namespace {

// --- a portable random source (the std distributions differ between libraries) ----------------

class rng_t {
public:
    explicit rng_t(std::uint32_t seed) : g_(seed) {}
    std::uint32_t next() { return static_cast<std::uint32_t>(g_()); }
    int uniform(int lo, int hi) { // inclusive
        return lo + static_cast<int>(next() % static_cast<std::uint32_t>(hi - lo + 1));
    }
    double real() { return next() / 4294967296.0; }
    bool chance(double p) { return real() < p; }
    template <class T> const T &pick(const std::vector<T> &v) { return v[next() % v.size()]; }
    template <class T> void shuffle(std::vector<T> &v) {
        for (size_t i = v.size(); i > 1; --i) {
            std::swap(v[i - 1], v[next() % i]);
        }
    }

private:
    std::mt19937 g_;
};

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return s;
}

bool starts_with(const std::string &s, const std::string &p) {
    return s.rfind(p, 0) == 0;
}

std::string join(const std::vector<std::string> &v, const char *sep) {
    std::string out;
    for (const std::string &s : v) {
        out += (out.empty() ? "" : sep) + s;
    }
    return out;
}

// --- the generator ----------------------------------------------------------------------------

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

generated generate(std::uint32_t seed) {
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
void write_reordered(const Json::Value &v, rng_t &r, std::string &out) {
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

std::string reordered(const generated &g, std::uint32_t seed) {
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

snapshot load(const std::string &text) {
    auto s = read_snapshot(text);
    if (!s) {
        throw std::runtime_error("generated snapshot rejected: " + s.error().to_string());
    }
    if (auto b = bind_options(s->c, s->opts); !b) {
        throw std::runtime_error("options rejected: " + b.error().to_string());
    }
    return std::move(*s);
}

// --- the reference checker --------------------------------------------------------------------

class reference {
public:
    // `drained`: nodes being evacuated (never a target, not active).
    reference(const cluster &c, const options &o, const std::vector<bool> &drained)
        : c_(c), o_(o), drained_(drained), lv_(make_load_view(c, o.mode)) {
        const size_t ng = c.guests.size();
        immovable_.assign(ng, false);
        pins_.assign(ng, {});
        apart_of_.assign(ng, {});
        comp_.resize(ng);
        std::iota(comp_.begin(), comp_.end(), 0u);
        std::map<std::string, std::vector<guest_id>> tag_apart, tag_together;
        for (guest_id g = 0; g < ng; ++g) {
            const guest &gs = c.guests[g];
            bool ignored = false;
            for (const std::string &raw : gs.tags) {
                const std::string t = lower(raw);
                ignored = ignored || t == "pvebal-ignore" ||
                          (o.honor_proxlb_tags && starts_with(t, "plb_ignore"));
                std::string pin;
                if (starts_with(t, "pvebal-pin-")) {
                    pin = t.substr(11);
                } else if (o.honor_proxlb_tags && starts_with(t, "plb_pin_")) {
                    pin = t.substr(8);
                } else if (o.honor_proxlb_tags && starts_with(t, "plb_anti_affinity_")) {
                    tag_apart[t.substr(18)].push_back(g);
                } else if (o.honor_proxlb_tags && starts_with(t, "plb_affinity_")) {
                    tag_together[t.substr(13)].push_back(g);
                }
                for (node_id n = 0; n < c.nodes.size() && !pin.empty(); ++n) {
                    if (lower(c.nodes[n].name) == pin) {
                        pins_[g].push_back(n);
                    }
                }
            }
            const ha_resource *hr = c.ha.find(g);
            immovable_[g] =
                gs.is_template || !gs.lock.empty() || ignored || !gs.local_resources.empty() ||
                (gs.type == guest_type::lxc && gs.running && !o.allow_container_restart) ||
                (hr != nullptr && hr->state == "ignored") || !c.nodes[gs.node].online;
        }
        for (const resource_affinity_rule &r : c.ha.resource_affinity) {
            (r.positive ? together_ : apart_).push_back(r.guests);
        }
        for (auto &[name, members] : tag_apart) {
            apart_.push_back(members);
        }
        for (auto &[name, members] : tag_together) {
            if (members.size() >= 2) {
                together_.push_back(members);
            }
        }
        for (size_t k = 0; k < apart_.size(); ++k) {
            for (guest_id g : apart_[k]) {
                apart_of_[g].push_back(k);
            }
        }
        for (const auto &grp : together_) {
            for (guest_id g : grp) {
                unite(grp.front(), g);
            }
        }
    }

    const load_view &lv() const { return lv_; }
    bool immovable(guest_id g) const { return immovable_[g]; }
    const std::vector<std::vector<guest_id>> &together() const { return together_; }
    guest_id component(guest_id g) const {
        while (comp_[g] != g) {
            g = comp_[g];
        }
        return g;
    }
    bool usable_target(node_id n) const {
        return c_.nodes[n].online && !c_.nodes[n].maintenance && !drained_[n];
    }

    // Why g may never go from `from` to n, whatever the load (empty: it may).
    std::string static_error(guest_id g, node_id from, node_id n) const {
        const guest &gs = c_.guests[g];
        const node &nd = c_.nodes[n];
        if (!usable_target(n)) {
            return "target " + nd.name + " is offline, in maintenance or drained";
        }
        if (!pins_[g].empty() && std::find(pins_[g].begin(), pins_[g].end(), n) == pins_[g].end()) {
            return "pinned elsewhere, moved to " + nd.name;
        }
        for (const node_affinity_rule &r : c_.ha.node_affinity) {
            if (!std::binary_search(r.guests.begin(), r.guests.end(), g) || shares_a_guest(r)) {
                continue; // pve-ha-manager drops node-affinity rules that share a resource
            }
            auto prio = [&](node_id x) -> std::optional<int> {
                for (const auto &[m, p] : r.nodes) {
                    if (m == x) {
                        return p;
                    }
                }
                return r.strict ? std::nullopt : std::optional<int>(-1);
            };
            if (!prio(n)) {
                return "strict HA rule " + r.id + " does not list " + nd.name;
            }
            const ha_resource *hr = c_.ha.find(g);
            if (hr == nullptr || hr->failback) {
                int best = -100;
                for (node_id x = 0; x < c_.nodes.size(); ++x) {
                    if (usable_target(x) && prio(x)) {
                        best = std::max(best, *prio(x));
                    }
                }
                if (*prio(n) < best) {
                    return "HA rule " + r.id + " with failback prefers nodes of priority " +
                           std::to_string(best) + " over " + nd.name;
                }
            }
        }
        for (const blocked_target &bt : gs.blocked_targets) {
            if (bt.node == nd.name) {
                return "migrate precondition forbids " + nd.name;
            }
        }
        const node &src = c_.nodes[from];
        for (const guest_disk &d : gs.disks) {
            const storage_info *s = src.find_storage(d.storage);
            if ((s != nullptr && s->shared) || (s == nullptr && src.storages.empty())) {
                continue;
            }
            auto has = [&](const std::string &name) {
                for (const storage_info &t : nd.storages) {
                    if (t.name == name && t.available) {
                        return true;
                    }
                }
                return false;
            };
            bool ok = has(d.storage);
            for (const auto &[a, b] : o_.storage_map) {
                ok = ok || (a == d.storage && has(b));
            }
            if (!ok) {
                return "local disk on " + d.storage + " cannot go to " + nd.name;
            }
        }
        return {};
    }

    // The objective of docs/algorithms.md, from per-node usage.
    double objective(const std::vector<res> &used) const {
        std::vector<double> u[2];
        for (node_id n = 0; n < c_.nodes.size(); ++n) {
            if (!usable_target(n)) {
                continue;
            }
            const res cap = lv_.capacity[n];
            u[0].push_back(cap[dimension::cpu] > 0 ? used[n][dimension::cpu] / cap[dimension::cpu]
                                                   : 0);
            u[1].push_back(cap[dimension::memory] > 0
                               ? used[n][dimension::memory] / cap[dimension::memory]
                               : 0);
        }
        if (u[0].empty()) {
            return 0;
        }
        const double w[2] = {o_.cpu_weight, o_.memory_weight};
        double j = 0;
        for (int r = 0; r < 2; ++r) {
            const double n = static_cast<double>(u[r].size());
            double mean = 0, var = 0, press = 0;
            for (double x : u[r]) {
                mean += x / n;
            }
            for (double x : u[r]) {
                var += (x - mean) * (x - mean) / n;
                const double p = std::max(0.0, x - o_.pressure_threshold);
                press += p * p / n;
            }
            j += w[r] * (var + o_.pressure_weight * press);
        }
        return w[0] + w[1] > 0 ? std::sqrt(j / (w[0] + w[1])) : 0;
    }

    std::vector<res> usage(const std::vector<node_id> &where) const {
        std::vector<res> used = lv_.base;
        for (guest_id g = 0; g < where.size(); ++g) {
            used[where[g]] += lv_.demand[g];
        }
        return used;
    }

    struct replayed {
        std::vector<std::string> errors;
        std::vector<node_id> where; // final placement
    };

    // Replays a plan wave by wave and checks every intermediate state.
    replayed replay(const plan &p) const {
        replayed out;
        auto fail = [&](const std::string &e) {
            if (out.errors.size() < 12) {
                out.errors.push_back(e);
            }
        };
        const size_t ng = c_.guests.size();
        const size_t nn = c_.nodes.size();
        std::vector<node_id> &where = out.where;
        where.resize(ng);
        for (guest_id g = 0; g < ng; ++g) {
            where[g] = c_.guests[g].node;
        }
        const auto &ms = p.migrations;
        for (size_t i = 0; i < ms.size(); ++i) {
            if (ms[i].step != static_cast<int>(i) + 1) {
                fail("migration " + std::to_string(i) + " has step " + std::to_string(ms[i].step));
            }
            if (ms[i].wave < 1 || (i > 0 && ms[i].wave < ms[i - 1].wave)) {
                fail("waves not non-decreasing at step " + std::to_string(ms[i].step));
            }
        }
        if (p.waves != (ms.empty() ? 0 : ms.back().wave)) {
            fail("plan.waves " + std::to_string(p.waves) + " does not match the last wave");
        }
        for (size_t i = 0; i < ms.size();) {
            size_t j = i;
            while (j < ms.size() && ms[j].wave == ms[i].wave) {
                ++j;
            }
            const std::string wl = "wave " + std::to_string(ms[i].wave) + ": ";
            std::vector<node_id> to(ng, no_node);
            bool wave_ok = true;
            for (size_t k = i; k < j; ++k) {
                const migration &m = ms[k];
                const std::string ml = wl + "vm " + std::to_string(c_.guests[m.guest].vmid) + " ";
                if (m.guest >= ng || m.to >= nn || m.from >= nn) {
                    fail(ml + "refers to an unknown guest or node");
                    wave_ok = false;
                    continue;
                }
                if (where[m.guest] != m.from) {
                    fail(ml + "leaves " + c_.nodes[m.from].name + " but is on " +
                         c_.nodes[where[m.guest]].name);
                }
                if (to[m.guest] != no_node) {
                    fail(ml + "moves twice in one wave");
                }
                if (m.to == where[m.guest]) {
                    fail(ml + "moves to the node it is on");
                }
                if (immovable_[m.guest]) {
                    fail(ml + "is immovable but moved");
                }
                if (std::string e = static_error(m.guest, where[m.guest], m.to); !e.empty()) {
                    fail(ml + e);
                }
                to[m.guest] = m.to;
            }
            if (!wave_ok) {
                return out;
            }
            // Parallel limits; one unit (same move, one keep-together component) is exempt.
            auto one_unit = [&](auto touches) {
                std::optional<size_t> first;
                for (size_t k = i; k < j; ++k) {
                    if (!touches(ms[k])) {
                        continue;
                    }
                    if (!first) {
                        first = k;
                    } else if (ms[k].from != ms[*first].from || ms[k].to != ms[*first].to ||
                               component(ms[k].guest) != component(ms[*first].guest)) {
                        return false;
                    }
                }
                return true;
            };
            if (j - i > o_.max_parallel && !one_unit([](const migration &) { return true; })) {
                fail(wl + std::to_string(j - i) + " migrations, above max-parallel");
            }
            for (node_id n = 0; n < nn; ++n) {
                auto touches = [n](const migration &m) { return m.from == n || m.to == n; };
                const auto count =
                    std::count_if(ms.begin() + static_cast<std::ptrdiff_t>(i),
                                  ms.begin() + static_cast<std::ptrdiff_t>(j), touches);
                if (static_cast<unsigned>(count) > o_.max_parallel_per_node && !one_unit(touches)) {
                    fail(wl + std::to_string(count) + " migrations touch " + c_.nodes[n].name +
                         ", above max-parallel-per-node");
                }
            }
            // Every migration of the wave has started: in-flight guests load both nodes.
            std::vector<res> used = lv_.base, arriving(nn), assigned(nn), assigned_arriving(nn);
            std::vector<bool> target(nn, false);
            for (guest_id g = 0; g < ng; ++g) {
                const guest &gs = c_.guests[g];
                const res a =
                    gs.running ? res_of(gs.maxcpu, static_cast<double>(gs.maxmem)) : res{};
                used[where[g]] += lv_.demand[g];
                assigned[where[g]] += a;
                if (to[g] != no_node) {
                    used[to[g]] += lv_.demand[g];
                    arriving[to[g]] += lv_.demand[g];
                    assigned[to[g]] += a;
                    assigned_arriving[to[g]] += a;
                    target[to[g]] = true;
                }
            }
            for (node_id n = 0; n < nn; ++n) {
                if (!target[n]) {
                    continue;
                }
                const node &nd = c_.nodes[n];
                const double maxmem = static_cast<double>(nd.maxmem);
                const double usable =
                    std::max(0.0, std::min(o_.memory_limit * maxmem,
                                           maxmem - static_cast<double>(o_.memory_reserve)));
                const double mem_tol = 1e-9 * maxmem + 1;
                const double cpu_tol = 1e-9 * nd.maxcpu;
                char buf[200];
                if (arriving[n][dimension::memory] > 0 &&
                    used[n][dimension::memory] > usable + mem_tol) {
                    std::snprintf(buf, sizeof buf, "%s memory %.3f GiB above usable %.3f GiB",
                                  nd.name.c_str(),
                                  used[n][dimension::memory] / static_cast<double>(GiB),
                                  usable / static_cast<double>(GiB));
                    fail(wl + buf);
                }
                if (arriving[n][dimension::cpu] > 0 &&
                    used[n][dimension::cpu] > o_.cpu_limit * nd.maxcpu + cpu_tol) {
                    std::snprintf(buf, sizeof buf, "%s CPU %.3f cores above the limit %.3f",
                                  nd.name.c_str(), used[n][dimension::cpu],
                                  o_.cpu_limit * nd.maxcpu);
                    fail(wl + buf);
                }
                if (o_.max_vcpu_ratio && assigned_arriving[n][dimension::cpu] > 0 &&
                    assigned[n][dimension::cpu] > *o_.max_vcpu_ratio * nd.maxcpu + cpu_tol) {
                    fail(wl + nd.name + " above max-vcpu-ratio");
                }
                if (o_.max_memory_ratio && assigned_arriving[n][dimension::memory] > 0 &&
                    assigned[n][dimension::memory] > *o_.max_memory_ratio * maxmem + mem_tol) {
                    fail(wl + nd.name + " above max-memory-ratio");
                }
            }
            // Keep-apart: nobody arrives where a member of one of its groups is, placed or in
            // flight.
            for (guest_id g = 0; g < ng; ++g) {
                if (to[g] == no_node) {
                    continue;
                }
                for (size_t k : apart_of_[g]) {
                    for (guest_id h : apart_[k]) {
                        if (h != g && (where[h] == to[g] || to[h] == to[g])) {
                            fail(wl + "vm " + std::to_string(c_.guests[g].vmid) + " arrives on " +
                                 c_.nodes[to[g]].name + " where vm " +
                                 std::to_string(c_.guests[h].vmid) + " of its keep-apart group is");
                        }
                    }
                }
            }
            for (guest_id g = 0; g < ng; ++g) {
                if (to[g] != no_node) {
                    where[g] = to[g];
                }
            }
            i = j;
        }
        // Keep-together groups that started co-located end co-located.
        for (const auto &grp : together_) {
            for (guest_id a : grp) {
                for (guest_id b : grp) {
                    if (a < b && c_.guests[a].node == c_.guests[b].node && where[a] != where[b]) {
                        fail("keep-together vm " + std::to_string(c_.guests[a].vmid) + " and vm " +
                             std::to_string(c_.guests[b].vmid) + " started together and end apart");
                    }
                }
            }
        }
        return out;
    }

private:
    bool shares_a_guest(const node_affinity_rule &r) const {
        for (const node_affinity_rule &other : c_.ha.node_affinity) {
            for (guest_id g : r.guests) {
                if (&other != &r &&
                    std::binary_search(other.guests.begin(), other.guests.end(), g)) {
                    return true;
                }
            }
        }
        return false;
    }

    void unite(guest_id a, guest_id b) {
        a = component(a);
        b = component(b);
        if (a != b) {
            comp_[std::max(a, b)] = std::min(a, b);
        }
    }

    const cluster &c_;
    const options &o_;
    std::vector<bool> drained_;
    load_view lv_;
    std::vector<bool> immovable_;
    std::vector<std::vector<node_id>> pins_;
    std::vector<std::vector<guest_id>> apart_, together_;
    std::vector<std::vector<size_t>> apart_of_;
    std::vector<guest_id> comp_;
};

// 1000 clusters from fixed seeds. For exploration only, PVEBAL_PROPERTY_CLUSTERS and
// PVEBAL_PROPERTY_SEED override the count and the first seed.
std::uint32_t env_or(const char *name, std::uint32_t fallback) {
    const char *v = std::getenv(name);
    return v != nullptr ? static_cast<std::uint32_t>(std::strtoul(v, nullptr, 0)) : fallback;
}
const std::uint32_t clusters = env_or("PVEBAL_PROPERTY_CLUSTERS", 1000);
const std::uint32_t seed_base = env_or("PVEBAL_PROPERTY_SEED", 0x5eed0000);

std::string context_of(std::uint32_t seed, const generated &g) {
    return "seed " + std::to_string(seed) + " (" +
           (g.kind == profile::crowded ? "crowded"
            : g.kind == profile::tight ? "memory-tight"
                                       : "loose") +
           ")";
}

// Checks a balance plan; returns the errors.
std::vector<std::string> check_balance(const snapshot &s, const plan &p) {
    const cluster &c = s.c;
    const options &o = s.opts;
    reference ref(c, o, std::vector<bool>(c.nodes.size(), false));
    auto rp = ref.replay(p);
    auto &errors = rp.errors;
    size_t real = 0;
    for (const migration &m : p.migrations) {
        real += m.temporary ? 0 : 1;
    }
    if (real > o.max_migrations) {
        errors.push_back(std::to_string(real) + " migrations, above max-migrations " +
                         std::to_string(o.max_migrations));
    }
    std::vector<node_id> initial(c.guests.size());
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        initial[g] = c.guests[g].node;
    }
    const double before = ref.objective(ref.usage(initial));
    const double after = ref.objective(ref.usage(rp.where));
    char buf[200];
    if (std::fabs(before - p.before.objective) > 1e-9 ||
        std::fabs(after - p.after.objective) > 1e-9) {
        std::snprintf(buf, sizeof buf, "reported objective %.9f -> %.9f, replayed %.9f -> %.9f",
                      p.before.objective, p.after.objective, before, after);
        errors.push_back(buf);
    }
    if (p.after.objective > p.before.objective + 1e-12 || after > before + 1e-9) {
        std::snprintf(buf, sizeof buf, "objective got worse: %.9f -> %.9f", p.before.objective,
                      p.after.objective);
        errors.push_back(buf);
    }
    if (before <= o.threshold - 1e-9 && !p.migrations.empty()) {
        errors.push_back("migrations planned although the objective is within the threshold");
    }
    return errors;
}

std::vector<std::string> check_evacuate(const snapshot &s, node_id drain, const plan &p) {
    const cluster &c = s.c;
    std::vector<bool> drained(c.nodes.size(), false);
    drained[drain] = true;
    reference ref(c, s.opts, drained);
    auto rp = ref.replay(p);
    auto &errors = rp.errors;
    std::set<guest_id> unplaced;
    for (const unplaced_guest &u : p.unplaced) {
        unplaced.insert(u.guest);
        if (u.reasons.empty()) {
            errors.push_back("unplaced vm " + std::to_string(c.guests[u.guest].vmid) +
                             " has no reason");
        }
        if (c.guests[u.guest].node != drain) {
            errors.push_back("unplaced vm " + std::to_string(c.guests[u.guest].vmid) +
                             " was not on the drained node");
        } else if (rp.where[u.guest] != drain) {
            errors.push_back("vm " + std::to_string(c.guests[u.guest].vmid) +
                             " moved off but is listed as unplaced");
        }
    }
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        if (c.guests[g].node == drain && rp.where[g] == drain && !unplaced.count(g)) {
            errors.push_back("vm " + std::to_string(c.guests[g].vmid) +
                             " stays on the drained node, not listed as unplaced");
        }
    }
    return errors;
}

// A failing case is written to $PVEBAL_PROPERTY_DUMP/<seed>.json when that is set, for the CLI.
void report(const std::string &what, std::uint32_t seed, const generated &g,
            const std::vector<std::string> &errors) {
    BOOST_TEST(errors.empty(),
               what << ", " << context_of(seed, g) << ":\n  " << join(errors, "\n  "));
    if (const char *dir = std::getenv("PVEBAL_PROPERTY_DUMP"); dir != nullptr && !errors.empty()) {
        std::ofstream(std::string(dir) + "/" + std::to_string(seed) + ".json") << g.json;
    }
}

} // namespace

BOOST_AUTO_TEST_SUITE(planner_properties)

BOOST_AUTO_TEST_CASE(balance_plans_are_safe_and_never_worse) {
    const auto t0 = std::chrono::steady_clock::now();
    size_t migrations = 0, temporary = 0, dropped = 0, planned = 0, multi_wave = 0, tight = 0;
    size_t swaps = 0, chains = 0, crowded = 0;
    for (std::uint32_t i = 0; i < clusters; ++i) {
        const std::uint32_t seed = seed_base + i;
        const generated g = generate(seed);
        const snapshot s = load(g.json);
        const plan p = plan_balance(s.c, s.opts);
        report("balance", seed, g, check_balance(s, p));
        migrations += p.migrations.size();
        dropped += p.dropped.size();
        planned += p.migrations.empty() ? 0 : 1;
        multi_wave += p.waves > 1 ? 1 : 0;
        tight += g.kind == profile::tight ? 1 : 0;
        crowded += g.kind == profile::crowded ? 1 : 0;
        for (const migration &m : p.migrations) {
            temporary += m.temporary ? 1 : 0;
            swaps += m.reason.find("(swap with") != std::string::npos ? 1 : 0;
            chains += m.reason.find("(makes room for") != std::string::npos ? 1 : 0;
        }
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    BOOST_TEST_MESSAGE("balance: " << clusters << " clusters (" << tight << " memory-tight, "
                                   << crowded << " crowded), " << planned << " with a plan, "
                                   << multi_wave << " with several waves, " << migrations
                                   << " migrations (" << temporary << " temporary, " << swaps / 2
                                   << " swaps, " << chains << " chains), " << dropped
                                   << " dropped moves, " << secs << " s");
    BOOST_TEST(planned > clusters / 4); // the generator makes work for the planner
}

BOOST_AUTO_TEST_CASE(evacuations_are_safe_and_complete) {
    const auto t0 = std::chrono::steady_clock::now();
    size_t migrations = 0, unplaced = 0, temporary = 0, drained_guests = 0;
    std::map<std::string, int> why; // first reason of unplaced guests
    for (std::uint32_t i = 0; i < clusters; ++i) {
        const std::uint32_t seed = seed_base + i;
        const generated g = generate(seed);
        const snapshot s = load(g.json);
        const node_id drain = *s.c.find_node(g.drain);
        const plan p = plan_evacuate(s.c, s.opts, {drain});
        report("evacuate " + g.drain, seed, g, check_evacuate(s, drain, p));
        migrations += p.migrations.size();
        unplaced += p.unplaced.size();
        for (const migration &m : p.migrations) {
            temporary += m.temporary ? 1 : 0;
        }
        for (const guest &gs : s.c.guests) {
            drained_guests += gs.node == drain ? 1 : 0;
        }
        for (const unplaced_guest &u : p.unplaced) {
            ++why[u.reasons.empty()        ? "none"
                  : u.reasons.front().node ? "per-node"
                                           : constraint_name(u.reasons.front().why.kind)];
        }
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    BOOST_TEST_MESSAGE("evacuate: " << clusters << " clusters, " << drained_guests
                                    << " guests on drained nodes, " << migrations << " migrations ("
                                    << temporary << " temporary), " << unplaced << " unplaced (" <<
                       [&] {
                           std::string t;
                           for (const auto &[k, n] : why) {
                               t += (t.empty() ? "" : ", ") + k + " " + std::to_string(n);
                           }
                           return t;
                       }() << "), " << secs
                                    << " s");
    BOOST_TEST(migrations > clusters);
}

BOOST_AUTO_TEST_CASE(plans_do_not_depend_on_input_order) {
    const auto t0 = std::chrono::steady_clock::now();
    size_t compared = 0;
    for (std::uint32_t i = 0; i < clusters; i += 4) { // 250 clusters
        const std::uint32_t seed = seed_base + i;
        const generated g = generate(seed);
        const snapshot a = load(g.json);
        const std::string other = reordered(g, seed ^ 0xabcdefu);
        BOOST_REQUIRE(other != g.json);
        const snapshot b = load(other);
        BOOST_TEST(render_plan(a.c, a.opts, plan_balance(a.c, a.opts), output_format::json) ==
                       render_plan(b.c, b.opts, plan_balance(b.c, b.opts), output_format::json),
                   "balance plan differs, " << context_of(seed, g));
        const plan ea = plan_evacuate(a.c, a.opts, {*a.c.find_node(g.drain)});
        const plan eb = plan_evacuate(b.c, b.opts, {*b.c.find_node(g.drain)});
        BOOST_TEST(render_plan(a.c, a.opts, ea, output_format::json) ==
                       render_plan(b.c, b.opts, eb, output_format::json),
                   "evacuation plan differs, " << context_of(seed, g));
        ++compared;
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    BOOST_TEST_MESSAGE("determinism: " << compared << " clusters, plan and evacuate, " << secs
                                       << " s");
    BOOST_TEST(compared >= std::min(200u, clusters / 4));
}

// Seeds (outside the default range) on which exploration runs found engine bugs, kept as
// regression cases (they are tied to this generator). Balance: an unorderable swap was dropped
// while a move planned on top of it still ran, and the objective got worse. Evacuate: a member of a
// keep-together unit that may not go where its partner must was unplaced without any reason.
BOOST_AUTO_TEST_CASE(regressions_found_by_exploration) {
    for (std::uint32_t seed : {1003576u, 1003985u, 1005332u}) {
        const generated g = generate(seed);
        const snapshot s = load(g.json);
        const plan p = plan_balance(s.c, s.opts);
        report("balance", seed, g, check_balance(s, p));
    }
    for (std::uint32_t seed :
         {1000099u, 1003487u, 1003725u, 1004437u, 1005059u, 1007756u, 1012885u, 1028420u}) {
        const generated g = generate(seed);
        const snapshot s = load(g.json);
        const node_id drain = *s.c.find_node(g.drain);
        report("evacuate " + g.drain, seed, g,
               check_evacuate(s, drain, plan_evacuate(s.c, s.opts, {drain})));
    }
}

// Does any single migration (guest, target) pass the limits in the final state and lower the
// objective by at least min-improvement? Reference arithmetic only.
bool some_single_move_improves(const snapshot &s) {
    const cluster &c = s.c;
    const options &o = s.opts;
    reference ref(c, o, std::vector<bool>(c.nodes.size(), false));
    std::vector<node_id> where(c.guests.size());
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        where[g] = c.guests[g].node;
    }
    const double now = ref.objective(ref.usage(where));
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        for (node_id n = 0; n < c.nodes.size(); ++n) {
            if (n == where[g] || ref.immovable(g) || !ref.static_error(g, where[g], n).empty()) {
                continue;
            }
            std::vector<node_id> moved = where;
            moved[g] = n;
            const std::vector<res> used = ref.usage(moved);
            const double maxmem = static_cast<double>(c.nodes[n].maxmem);
            const double usable =
                std::min(o.memory_limit * maxmem, maxmem - static_cast<double>(o.memory_reserve));
            if (used[n][dimension::memory] > usable ||
                used[n][dimension::cpu] > o.cpu_limit * c.nodes[n].maxcpu) {
                continue;
            }
            if (ref.objective(used) < now - o.min_improvement) {
                return true;
            }
        }
    }
    return false;
}

BOOST_AUTO_TEST_CASE(search_finds_a_chain_where_no_single_move_helps) {
    // alpha: CPU-hot x (8 busy cores, 20 GiB), pinned to alpha/bravo. bravo: an idle 60 GiB y.
    // Each node has 100 GiB, 90 usable. x does not fit on bravo (80 + 20); y fits only on
    // charlie, where it merely mirrors memory (no gain). Moving y to charlie and then x to bravo
    // halves the objective.
    snapshot_builder b;
    b.node("alpha", 16, 100 * GiB, 0.75, 80 * GiB);
    b.node("bravo", 16, 100 * GiB, 0.0, 80 * GiB);
    b.node("charlie", 16, 100 * GiB, 0.0, 20 * GiB);
    b.guest(100, "alpha", 8, 24 * GiB, 1.0, 20 * GiB)["tags"] = "pvebal-pin-alpha;pvebal-pin-bravo";
    b.guest(200, "bravo", 1, 64 * GiB, 0.0, 60 * GiB);
    const snapshot s = load(b.json());
    BOOST_TEST(!some_single_move_improves(s));

    const plan p = plan_balance(s.c, s.opts);
    BOOST_REQUIRE_EQUAL(p.migrations.size(), 2u);
    BOOST_TEST(s.c.guests[p.migrations[0].guest].vmid == 200u);
    BOOST_TEST(s.c.nodes[p.migrations[0].to].name == "charlie");
    BOOST_TEST(s.c.guests[p.migrations[1].guest].vmid == 100u);
    BOOST_TEST(s.c.nodes[p.migrations[1].to].name == "bravo");
    BOOST_TEST(p.migrations[1].wave > p.migrations[0].wave); // x waits until y has left bravo
    BOOST_TEST(p.migrations[0].reason.find("makes room for 100") != std::string::npos);
    BOOST_TEST(p.after.objective < 0.6 * p.before.objective);
    const std::vector<std::string> errors = check_balance(s, p);
    BOOST_TEST(errors.empty(), join(errors, "; "));
}

BOOST_AUTO_TEST_CASE(a_swap_that_cannot_be_ordered_is_not_planned) {
    // Two nodes at 85 of 90 usable GiB. Swapping x (CPU-hot) and y (idle) would balance CPU, but
    // while both migrate each node carries both: there is no safe order and no third node.
    snapshot_builder b;
    b.node("alpha", 16, 100 * GiB, 0.75, 85 * GiB);
    b.node("bravo", 16, 100 * GiB, 0.0, 85 * GiB);
    b.guest(100, "alpha", 8, 48 * GiB, 1.0, 40 * GiB);
    b.guest(200, "bravo", 1, 48 * GiB, 0.0, 40 * GiB);
    const snapshot s = load(b.json());
    BOOST_TEST(!some_single_move_improves(s));
    const plan p = plan_balance(s.c, s.opts);
    BOOST_TEST(p.migrations.empty());
    BOOST_TEST(p.dropped.empty()); // not proposed, rather than proposed and dropped
    BOOST_TEST(p.after.objective == p.before.objective);
}

BOOST_AUTO_TEST_CASE(no_move_is_planned_on_top_of_a_swap_that_cannot_run) {
    // Minimised from a generated cluster. Swapping ct 318 (bravo) and vm 140 (alpha) helps but
    // cannot be ordered: neither fits while the other is still there and there is no third node
    // to park on. vm 198 (charlie -> bravo) only helps after that swap. The engine used to plan
    // all three, drop the swap while ordering and run vm 198 alone: 0.1994 -> 0.2230.
    snapshot_builder b;
    b.node("alpha", 64, 64 * GiB, 0.05, static_cast<std::uint64_t>(52.5 * GiB));
    b.node("bravo", 24, 64 * GiB, 0.72, 44 * GiB);
    b.node("charlie", 24, 64 * GiB, 0.37, static_cast<std::uint64_t>(50.75 * GiB));
    b.guest(140, "alpha", 2, 24 * GiB, 0.1, 19 * GiB);
    b.guest(318, "bravo", 16, 16 * GiB, 0.96, 15 * GiB, "lxc");
    b.guest(198, "charlie", 2, 4 * GiB, 0.9, static_cast<std::uint64_t>(1.5 * GiB));
    b.extra()["options"]["allow-container-restart"] = true;
    const snapshot s = load(b.json());
    const plan p = plan_balance(s.c, s.opts);
    BOOST_TEST(p.dropped.empty());
    const std::vector<std::string> errors = check_balance(s, p);
    BOOST_TEST(errors.empty(), join(errors, "; "));
}

BOOST_AUTO_TEST_SUITE_END()
