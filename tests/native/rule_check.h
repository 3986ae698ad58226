// Keep-apart checking shared by the rule property test (rule_parity_test.cpp) and the execute()
// fuzz harness (tests/fuzz/fuzz-execute.cpp): which guest pairs must never share a node, read
// independently of the engine's grouping, and a wave-by-wave replay of a plan.
#ifndef PVEBAL_TESTS_RULE_CHECK_H_
#define PVEBAL_TESTS_RULE_CHECK_H_

#include "pvebal/model.h"
#include "pvebal/report.h"

#include <algorithm>
#include <functional>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace pvebal::test {

// Pairs that must never share a node, read independently of the engine's grouping: every
// compiled HA negative rule, and each tag anti-affinity group unless a tag affinity group or
// the (transitive) HA positive grouping holds two of its guests.
inline std::set<std::pair<guest_id, guest_id>> apart_pairs(const cluster &c) {
    std::set<std::pair<guest_id, guest_id>> out;
    auto add = [&](const std::vector<guest_id> &gs) {
        for (guest_id x : gs) {
            for (guest_id y : gs) {
                if (x < y) {
                    out.insert({x, y});
                }
            }
        }
    };
    std::vector<guest_id> parent(c.guests.size());
    std::iota(parent.begin(), parent.end(), 0u);
    std::function<guest_id(guest_id)> root = [&](guest_id x) {
        return parent[x] == x ? x : parent[x] = root(parent[x]);
    };
    for (const resource_affinity_rule &r : c.ha.resource_affinity) {
        if (r.positive) {
            for (guest_id g : r.guests) {
                parent[root(g)] = root(r.guests.front());
            }
        } else {
            add(r.guests);
        }
    }
    std::map<std::string, std::vector<guest_id>> together, apart;
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        for (const std::string &t : c.guests[g].tags) {
            if (t.rfind("plb_anti_affinity_", 0) == 0) {
                apart[t.substr(18)].push_back(g);
            } else if (t.rfind("plb_affinity_", 0) == 0) {
                together[t.substr(13)].push_back(g);
            }
        }
    }
    for (const auto &[name, members] : apart) {
        bool contradicted = false;
        for (const auto &[tname, tmembers] : together) {
            int both = 0;
            for (guest_id g : tmembers) {
                both += std::count(members.begin(), members.end(), g) > 0;
            }
            contradicted = contradicted || (tmembers.size() >= 2 && both >= 2);
        }
        for (guest_id x : members) {
            for (guest_id y : members) {
                contradicted = contradicted || (x < y && root(x) == root(y));
            }
        }
        if (!contradicted) {
            add(members);
        }
    }
    return out;
}

// Where each guest is (or is in flight to) on each node.
using presence = std::vector<std::vector<node_id>>;

inline std::set<std::tuple<guest_id, guest_id, node_id>>
violations(const presence &where, const std::set<std::pair<guest_id, guest_id>> &pairs) {
    std::set<std::tuple<guest_id, guest_id, node_id>> out;
    for (const auto &[x, y] : pairs) {
        for (node_id a : where[x]) {
            for (node_id b : where[y]) {
                if (a == b) {
                    out.insert({x, y, a});
                }
            }
        }
    }
    return out;
}

// Replays a plan wave by wave (a migrating guest is on both nodes) and reports every keep-apart
// violation that the starting placement did not already have.
inline std::vector<std::string> replay(const cluster &c, const plan &p,
                                       const std::set<std::pair<guest_id, guest_id>> &pairs,
                                       const std::vector<bool> &gone = {}) {
    presence where(c.guests.size());
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        where[g] = {c.guests[g].node};
    }
    const auto initial = violations(where, pairs);
    std::vector<std::string> errors;
    auto check = [&](const std::string &when) {
        for (const auto &v : violations(where, pairs)) {
            const node_id n = std::get<2>(v);
            if (!initial.count(v) && (gone.empty() || !gone[n])) {
                errors.push_back(when + ": vm " + std::to_string(c.guests[std::get<0>(v)].vmid) +
                                 " and vm " + std::to_string(c.guests[std::get<1>(v)].vmid) +
                                 " on " + c.nodes[n].name);
            }
        }
    };
    int last_wave = 0;
    std::vector<const migration *> inflight;
    auto land = [&]() {
        for (const migration *m : inflight) {
            where[m->guest] = {m->to};
        }
        inflight.clear();
        check("after wave " + std::to_string(last_wave));
    };
    for (const migration &m : p.migrations) {
        if (m.wave != last_wave) {
            land();
            last_wave = m.wave;
        }
        where[m.guest].push_back(m.to);
        inflight.push_back(&m);
        check("wave " + std::to_string(m.wave));
    }
    land();
    return errors;
}

} // namespace pvebal::test

#endif
