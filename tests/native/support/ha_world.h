// Test support for the HA planning tests (failover, capacity, place): snapshots with HA
// resources and rules, built as JSON, and `world`, a snapshot with its bound options and
// shortcuts to ask the planners and read their answers.
#ifndef PVEBAL_TESTS_SUPPORT_HA_WORLD_H_
#define PVEBAL_TESTS_SUPPORT_HA_WORLD_H_

#include "test_util.h"

#include "pvebal/api.h"
#include "pvebal/constraints.h"
#include "pvebal/io.h"
#include "pvebal/report.h"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace pvebal::test::ha {

inline void add_ha_resource(snapshot_builder &b, const std::string &sid,
                            const std::string &state = "started") {
    Json::Value r(Json::objectValue);
    r["sid"] = sid;
    r["state"] = state;
    b.extra()["ha"]["resources"].append(r);
}

inline void node_rule(snapshot_builder &b, const std::string &id, const std::string &resources,
                      const std::string &nodes, bool strict) {
    Json::Value r(Json::objectValue);
    r["rule"] = id;
    r["type"] = "node-affinity";
    r["resources"] = resources;
    r["nodes"] = nodes;
    r["strict"] = strict ? 1 : 0;
    b.extra()["ha"]["rules"].append(r);
}

inline void resource_rule(snapshot_builder &b, const std::string &id, const std::string &resources,
                          bool positive) {
    Json::Value r(Json::objectValue);
    r["rule"] = id;
    r["type"] = "resource-affinity";
    r["affinity"] = positive ? "positive" : "negative";
    r["resources"] = resources;
    b.extra()["ha"]["rules"].append(r);
}

// An HA-managed VM: memory in GiB, CPU as a fraction of its vCPUs.
inline Json::Value &ha_vm(snapshot_builder &b, std::uint32_t vmid, const std::string &node,
                          double maxcpu, double maxmem_gib, double cpu, double mem_gib,
                          const std::string &tags = "") {
    Json::Value &g = b.guest(vmid, node, maxcpu, static_cast<std::uint64_t>(maxmem_gib * GiB), cpu,
                             static_cast<std::uint64_t>(mem_gib * GiB));
    if (!tags.empty()) {
        g["tags"] = tags;
    }
    add_ha_resource(b, "vm:" + std::to_string(vmid));
    return g;
}

// A snapshot with its final options (bind_options applied), and shortcuts to ask the planners.
struct world {
    snapshot s;
    options o;

    explicit world(const snapshot_builder &b) : s(b.build()), o(s.opts) { bind(); }
    world(const snapshot_builder &b, const std::function<void(options &)> &tweak)
        : s(b.build()), o(s.opts) {
        tweak(o);
        bind();
    }
    void bind() {
        auto ok = bind_options(s.c, o);
        BOOST_REQUIRE(ok.has_value());
    }
    const cluster &c() const { return s.c; }
    node_id node(const std::string &name) const {
        auto n = s.c.find_node(name);
        BOOST_REQUIRE(n.has_value());
        return *n;
    }
    guest_id guest(std::uint32_t vmid) const {
        auto g = s.c.find_guest(vmid);
        BOOST_REQUIRE(g.has_value());
        return *g;
    }
    std::vector<node_id> nodes(const std::vector<std::string> &names) const {
        std::vector<node_id> out;
        for (const std::string &n : names) {
            out.push_back(node(n));
        }
        return out;
    }
    plan failover(const std::vector<std::string> &failed, bool all_guests = false) const {
        return plan_failover(s.c, o, nodes(failed), all_guests);
    }
    capacity_report capacity(int target = 1, bool all_guests = false,
                             long max_scenarios = 20000) const {
        return plan_capacity(s.c, o, target, all_guests, max_scenarios);
    }
    placement_answer place(const placement_request &r) const {
        auto a = plan_place(s.c, o, r);
        BOOST_REQUIRE(a.has_value());
        return *a;
    }
    // Where vmid restarts in p ("" when it does not move).
    std::string target(const plan &p, std::uint32_t vmid) const {
        for (const migration &m : p.migrations) {
            if (s.c.guests[m.guest].vmid == vmid) {
                return s.c.nodes[m.to].name;
            }
        }
        return "";
    }
    const migration *move_of(const plan &p, std::uint32_t vmid) const {
        for (const migration &m : p.migrations) {
            if (s.c.guests[m.guest].vmid == vmid) {
                return &m;
            }
        }
        return nullptr;
    }
    const unplaced_guest *unplaced(const plan &p, std::uint32_t vmid) const {
        for (const unplaced_guest &u : p.unplaced) {
            if (s.c.guests[u.guest].vmid == vmid) {
                return &u;
            }
        }
        return nullptr;
    }
    // The constraint that keeps an unplaced guest off `node` ("" = none given; "-" = about the
    // guest itself).
    std::string why(const plan &p, std::uint32_t vmid, const std::string &node_name) const {
        const unplaced_guest *u = unplaced(p, vmid);
        if (u == nullptr) {
            return "(placed)";
        }
        for (const node_rejection &r : u->reasons) {
            if (!r.node && node_name == "-") {
                return constraint_name(r.why.kind);
            }
            if (r.node && s.c.nodes[*r.node].name == node_name) {
                return constraint_name(r.why.kind);
            }
        }
        return "";
    }
    std::vector<std::string> names(const std::vector<node_id> &ns) const {
        std::vector<std::string> out;
        for (node_id n : ns) {
            out.push_back(s.c.nodes[n].name);
        }
        return out;
    }
    const ranked_node *ranked(const placement_answer &a, const std::string &node_name) const {
        for (const ranked_node &r : a.nodes) {
            if (s.c.nodes[r.node].name == node_name) {
                return &r;
            }
        }
        return nullptr;
    }
    const node_headroom *headroom(const capacity_report &r, const std::string &node_name) const {
        for (const node_headroom &h : r.headroom) {
            if (s.c.nodes[h.node].name == node_name) {
                return &h;
            }
        }
        return nullptr;
    }
};

inline double gibs(double x) {
    return x * static_cast<double>(GiB);
}

} // namespace pvebal::test::ha

#endif
