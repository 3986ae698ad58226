// HA rule parity with pve-ha-manager 5.2 (src/PVE/HA/Rules.pm, Rules/ResourceAffinity.pm,
// Rules/NodeAffinity.pm, Rules/Helpers.pm): the same checks, dropped rules and wording, the
// same transforms; ProxLB tag groups that contradict HA rules; and a property test over
// generated clusters with chained positive rules, tags and negative rules: no command's result
// puts two guests that must be kept apart on one node in any intermediate state.
#include "rule_check.h"
#include "test_util.h"

#include "pvebal/report.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <tuple>

using namespace pvebal;
using namespace pvebal::test;

namespace {

bool contains(const std::string &s, const std::string &part) {
    return s.find(part) != std::string::npos;
}

// Three nodes, guests 100..105 (VMs), 4 GiB each, two per node.
snapshot_builder base() {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB).node("n2", 16, 64 * GiB).node("n3", 16, 64 * GiB);
    for (std::uint32_t v = 100; v < 106; ++v) {
        b.guest(v, "n" + std::to_string(1 + (v - 100) / 2), 2, 4 * GiB, 0.1, 2 * GiB);
    }
    return b;
}

void resource_rule(snapshot_builder &b, const std::string &id, const std::string &affinity,
                   const std::string &resources) {
    Json::Value r;
    r["rule"] = id;
    r["type"] = "resource-affinity";
    r["affinity"] = affinity;
    r["resources"] = resources;
    b.extra()["ha"]["rules"].append(r);
}

void node_rule(snapshot_builder &b, const std::string &id, const std::string &resources,
               const std::string &nodes, bool strict = true) {
    Json::Value r;
    r["rule"] = id;
    r["type"] = "node-affinity";
    r["resources"] = resources;
    r["nodes"] = nodes;
    r["strict"] = strict ? 1 : 0;
    b.extra()["ha"]["rules"].append(r);
}

std::vector<std::string> drops(const snapshot &s) {
    std::vector<std::string> out;
    for (const std::string &d : s.c.ha.dropped) {
        if (d.rfind("Drop rule", 0) == 0) {
            out.push_back(d);
        }
    }
    return out;
}

const resource_affinity_rule *rule_by_id(const snapshot &s, const std::string &id) {
    for (const resource_affinity_rule &r : s.c.ha.resource_affinity) {
        if (r.id == id) {
            return &r;
        }
    }
    return nullptr;
}

std::vector<std::uint32_t> vmids(const snapshot &s, const std::vector<guest_id> &gs) {
    std::vector<std::uint32_t> out;
    for (guest_id g : gs) {
        out.push_back(s.c.guests[g].vmid);
    }
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(rule_parity)

BOOST_AUTO_TEST_CASE(connected_positive_rules_are_merged) {
    snapshot_builder b = base();
    resource_rule(b, "p1", "positive", "vm:100,vm:101");
    resource_rule(b, "p2", "positive", "vm:101,vm:102");
    resource_rule(b, "p3", "positive", "vm:104,vm:105");
    const snapshot s = b.build();
    BOOST_TEST(drops(s).empty());
    const resource_affinity_rule *m = rule_by_id(s, "_merged-p1-p2");
    BOOST_REQUIRE(m);
    BOOST_TEST(m->positive);
    BOOST_TEST(vmids(s, m->guests) == (std::vector<std::uint32_t>{100, 101, 102}));
    BOOST_TEST(rule_by_id(s, "p3")); // not connected: kept as it is
    BOOST_TEST(!rule_by_id(s, "p1"));
}

BOOST_AUTO_TEST_CASE(chained_positive_against_negative_drops_both_sides) {
    snapshot_builder b = base();
    resource_rule(b, "p1", "positive", "vm:100,vm:101");
    resource_rule(b, "p2", "positive", "vm:101,vm:102");
    resource_rule(b, "n1", "negative", "vm:100,vm:102");
    const snapshot s = b.build();
    BOOST_TEST(drops(s) == (std::vector<std::string>{
                               "Drop rule 'n1', because rule shares two or more resources with a "
                               "positive resource affinity rule.",
                               "Drop rule 'p1', because rule shares two or more resources with a "
                               "negative resource affinity rule.",
                               "Drop rule 'p2', because rule shares two or more resources with a "
                               "negative resource affinity rule."}),
               boost::test_tools::per_element());
    BOOST_TEST(s.c.ha.resource_affinity.empty());
}

BOOST_AUTO_TEST_CASE(implicit_negative_rules_are_inferred) {
    snapshot_builder b = base();
    resource_rule(b, "p", "positive", "vm:100,vm:101");
    resource_rule(b, "n", "negative", "vm:100,vm:104");
    const snapshot s = b.build();
    BOOST_TEST(drops(s).empty());
    const resource_affinity_rule *r = rule_by_id(s, "_implicit-negative-p-vm:101-vm:104");
    BOOST_REQUIRE(r);
    BOOST_TEST(!r->positive);
    BOOST_TEST(vmids(s, r->guests) == (std::vector<std::uint32_t>{101, 104}));
}

BOOST_AUTO_TEST_CASE(positive_group_inherits_node_affinity) {
    snapshot_builder b = base();
    resource_rule(b, "p", "positive", "vm:100,vm:101");
    node_rule(b, "na", "vm:100", "n2");
    const snapshot s = b.build();
    BOOST_TEST(drops(s).empty());
    BOOST_REQUIRE_EQUAL(s.c.ha.node_affinity.size(), 1u);
    BOOST_TEST(vmids(s, s.c.ha.node_affinity[0].guests) == (std::vector<std::uint32_t>{100, 101}));
}

BOOST_AUTO_TEST_CASE(positive_group_in_two_node_affinity_rules_is_dropped) {
    snapshot_builder b = base();
    resource_rule(b, "p", "positive", "vm:100,vm:101");
    node_rule(b, "na1", "vm:100", "n1");
    node_rule(b, "na2", "vm:101", "n2");
    const snapshot s = b.build();
    const std::string other = "at least one resource is in a positive resource affinity rule and "
                              "there are other resources in at least one other node affinity "
                              "rule already.";
    BOOST_TEST(drops(s) ==
                   (std::vector<std::string>{
                       "Drop rule 'na1', because " + other, "Drop rule 'na2', because " + other,
                       "Drop rule 'p', because resources are in multiple node affinity rules."}),
               boost::test_tools::per_element());
    BOOST_TEST(s.c.ha.node_affinity.empty());
    BOOST_TEST(s.c.ha.resource_affinity.empty());
}

BOOST_AUTO_TEST_CASE(resource_in_two_node_affinity_rules) {
    snapshot_builder b = base();
    node_rule(b, "a", "vm:100", "n1");
    node_rule(b, "b", "vm:100,vm:101", "n2");
    const snapshot s = b.build();
    BOOST_TEST(drops(s) == (std::vector<std::string>{
                               "Drop rule 'a', because resource 'vm:100' is already used in "
                               "another node affinity rule.",
                               "Drop rule 'b', because resource 'vm:100' is already used in "
                               "another node affinity rule."}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(negative_rule_against_node_affinity) {
    snapshot_builder b = base();
    resource_rule(b, "n", "negative", "vm:100,vm:101");
    node_rule(b, "na", "vm:100,vm:101", "n1");
    const snapshot s = b.build();
    BOOST_TEST(drops(s) ==
                   (std::vector<std::string>{
                       "Drop rule 'n', because two or more resources are restricted to less "
                       "nodes than available to the resources.",
                       "Drop rule 'na', because at least one resource is in a negative "
                       "resource affinity rule and this rule would restrict these to less nodes "
                       "than available to the resources."}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(counts_and_priorities) {
    snapshot_builder b = base();
    resource_rule(b, "one", "positive", "vm:100");
    resource_rule(b, "wide", "negative", "vm:100,vm:101,vm:102,vm:103");
    resource_rule(b, "pair", "negative", "vm:104,vm:105");
    node_rule(b, "prio", "vm:105", "n1:2,n2:1", false);
    const snapshot s = b.build();
    BOOST_TEST(drops(s) ==
                   (std::vector<std::string>{
                       "Drop rule 'one', because rule is ineffective as there are less than "
                       "two resources.",
                       "Drop rule 'pair', because resources are in node affinity rules with "
                       "multiple priorities.",
                       "Drop rule 'prio', because resources are in a resource affinity rule "
                       "and cannot be in a node affinity rule with multiple priorities.",
                       "Drop rule 'wide', because rule defines more resources than available "
                       "nodes."}),
               boost::test_tools::per_element());
}

// A ProxLB tag is not an HA rule: an HA negative rule against a tag group stays active.
BOOST_AUTO_TEST_CASE(ha_negative_rule_beats_a_tag_group) {
    snapshot_builder b = base();
    b.resources()[3]["tags"] = "plb_affinity_web"; // vm 100
    b.resources()[4]["tags"] = "plb_affinity_web"; // vm 101
    b.resources()[5]["tags"] = "plb_affinity_web"; // vm 102
    resource_rule(b, "apart", "negative", "vm:100,vm:102");
    const snapshot s = b.build();
    BOOST_TEST(drops(s).empty());
    const affinity_groups a = compile_affinity(s.c, s.opts);
    BOOST_TEST(a.together[0] == -1);
    BOOST_REQUIRE_EQUAL(a.notes.size(), 1u);
    BOOST_TEST(contains(a.notes[0], "tag plb_affinity_web is not honoured"));
    BOOST_TEST(contains(a.notes[0], "HA rule 'apart'"));
    // Evacuating n1 never puts 100 next to 102 (on n2).
    plan p = plan_evacuate(s.c, s.opts, {0});
    for (const migration &m : p.migrations) {
        if (s.c.guests[m.guest].vmid == 100) {
            BOOST_TEST(s.c.nodes[m.to].name != "n2");
        }
    }
    // score reports the conflict.
    const score_report r = make_score_report(s.c, s.opts);
    BOOST_TEST(std::any_of(r.warnings.begin(), r.warnings.end(),
                           [](const warning &w) { return w.kind == "affinity-conflict"; }));
}

BOOST_AUTO_TEST_CASE(tag_together_and_apart_on_the_same_pair) {
    snapshot_builder b = base();
    b.resources()[3]["tags"] = "plb_affinity_db;plb_anti_affinity_db";
    b.resources()[4]["tags"] = "plb_affinity_db;plb_anti_affinity_db";
    const snapshot s = b.build();
    const affinity_groups a = compile_affinity(s.c, s.opts);
    // Neither is honoured (pve-ha-manager drops both sides), and both are reported.
    BOOST_TEST(a.apart_names.empty());
    BOOST_TEST(a.together[0] == -1);
    BOOST_REQUIRE_EQUAL(a.notes.size(), 2u);
    BOOST_TEST(contains(a.notes[0], "plb_anti_affinity_db is not honoured"));
    BOOST_TEST(contains(a.notes[1], "plb_affinity_db is not honoured"));
}

BOOST_AUTO_TEST_SUITE_END()

// --- property: no command ever co-locates guests that must be kept apart ----------------------

namespace {

struct generated_cluster {
    snapshot s;
    std::string json;
};

// 3-5 nodes, 6-14 guests, chained positive HA rules, negative HA rules and ProxLB tag groups.
generated_cluster generate(std::uint32_t seed) {
    std::mt19937 rng(seed);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    snapshot_builder b;
    const int nodes = pick(3, 5);
    for (int n = 0; n < nodes; ++n) {
        b.node("n" + std::to_string(n), 16, static_cast<std::uint64_t>(pick(24, 48)) * GiB,
               pick(0, 30) / 100.0, 0);
    }
    const int guests = pick(6, 14);
    std::vector<std::string> tags(static_cast<size_t>(guests));
    for (int g = 0; g < guests; ++g) {
        const std::string status = pick(0, 5) == 0 ? "stopped" : "running";
        Json::Value &e =
            b.guest(static_cast<std::uint32_t>(100 + g), "n" + std::to_string(pick(0, nodes - 1)),
                    pick(1, 4), static_cast<std::uint64_t>(pick(1, 6)) * GiB, pick(0, 90) / 100.0,
                    static_cast<std::uint64_t>(pick(1, 4)) * GiB, "qemu", status);
        std::string t;
        if (pick(0, 3) == 0) {
            t += std::string(t.empty() ? "" : ";") + "plb_affinity_" + (pick(0, 1) ? "a" : "b");
        }
        if (pick(0, 3) == 0) {
            t +=
                std::string(t.empty() ? "" : ";") + "plb_anti_affinity_" + (pick(0, 1) ? "x" : "y");
        }
        if (!t.empty()) {
            e["tags"] = t;
        }
    }
    auto sid = [&](int g) { return "vm:" + std::to_string(100 + g); };
    const int positives = pick(0, 4);
    int chain = pick(0, guests - 1);
    for (int i = 0; i < positives; ++i) {
        const int next = pick(0, 2) == 0 ? pick(0, guests - 1) : (chain + pick(1, 3)) % guests;
        if (next != chain) {
            resource_rule(b, "p" + std::to_string(i), "positive", sid(chain) + "," + sid(next));
        }
        chain = next; // chained: the next rule shares a guest with this one
    }
    const int negatives = pick(0, 3);
    for (int i = 0; i < negatives; ++i) {
        const int x = pick(0, guests - 1), y = pick(0, guests - 1);
        if (x != y) {
            resource_rule(b, "n" + std::to_string(i), "negative", sid(x) + "," + sid(y));
        }
    }
    for (int g = 0; g < guests; ++g) {
        if (pick(0, 2) == 0) {
            Json::Value r;
            r["sid"] = sid(g);
            b.extra()["ha"]["resources"].append(r);
        }
    }
    generated_cluster out{b.build(), b.json()};
    return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(rule_property_no_command_breaks_a_keep_apart_rule) {
    const char *env = std::getenv("PVEBAL_RULE_PROPERTY_CLUSTERS");
    const int clusters = env != nullptr ? std::atoi(env) : 10000;
    int checked = 0, with_rules = 0;
    for (int i = 0; i < clusters; ++i) {
        const std::uint32_t seed = 7919u * static_cast<std::uint32_t>(i) + 17u;
        generated_cluster gc = generate(seed);
        const cluster &c = gc.s.c;
        options o = gc.s.opts;
        o.max_migrations = 6;
        const auto pairs = apart_pairs(c);
        with_rules += pairs.empty() ? 0 : 1;
        std::vector<std::string> errors;
        auto note = [&](const std::string &what, const std::vector<std::string> &errs) {
            for (const std::string &e : errs) {
                errors.push_back(what + ": " + e);
            }
        };
        note("plan", replay(c, plan_balance(c, o), pairs));
        const auto drain = static_cast<node_id>(seed % c.nodes.size());
        note("evacuate", replay(c, plan_evacuate(c, o, {drain}), pairs));
        std::vector<bool> gone(c.nodes.size(), false);
        gone[drain] = true;
        note("failover", replay(c, plan_failover(c, o, {drain}, true), pairs, gone));
        // capacity's answer is a count, computed by the same solver as failover; it must run.
        (void)plan_capacity(c, o, 1, true, 64);
        // place: a new guest kept apart from two guests never gets a node that holds one.
        placement_request req;
        req.demand = res_of(1, static_cast<double>(GiB));
        req.apart_from = {0, static_cast<guest_id>(c.guests.size() - 1)};
        if (auto a = plan_place(c, o, req)) {
            for (const ranked_node &rn : a->nodes) {
                for (guest_id h : req.apart_from) {
                    if (rn.fits && c.guests[h].node == rn.node) {
                        errors.push_back("place: " + c.nodes[rn.node].name + " holds vm " +
                                         std::to_string(c.guests[h].vmid));
                    }
                }
            }
        }
        // place an existing stopped guest: no fitting node holds one of its apart partners.
        for (guest_id g = 0; g < c.guests.size(); ++g) {
            if (c.guests[g].running) {
                continue;
            }
            placement_request r2;
            r2.guest = g;
            if (auto a = plan_place(c, o, r2)) {
                for (const ranked_node &rn : a->nodes) {
                    for (const auto &[x, y] : pairs) {
                        const guest_id other = x == g ? y : y == g ? x : g;
                        if (rn.fits && other != g && c.guests[other].node == rn.node) {
                            errors.push_back("place vm " + std::to_string(c.guests[g].vmid) + ": " +
                                             c.nodes[rn.node].name + " holds vm " +
                                             std::to_string(c.guests[other].vmid));
                        }
                    }
                }
            }
            break;
        }
        BOOST_TEST(
            errors.empty(), "seed " << seed << ":\n  " << [&] {
                std::string s;
                for (const std::string &e : errors) {
                    s += e + "\n  ";
                }
                return s + gc.json;
            }());
        ++checked;
    }
    BOOST_TEST_MESSAGE(checked << " clusters, " << with_rules << " with keep-apart rules");
    BOOST_TEST(checked == clusters);
    BOOST_TEST(with_rules > clusters / 2); // the generator does exercise the rules
}
