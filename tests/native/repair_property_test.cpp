// Property tests of repair first (docs/constraints.md, "Broken rules and limits: repair first")
// over generated clusters with broken rules injected: pins that name another node, keep-apart
// pairs on one node, keep-together pairs on two. Every plan is replayed by the reference checker
// of the planner property tests (support/plan_reference.h): no intermediate state breaks a rule or
// a limit on a node a guest arrives at, so a repair never breaks another rule nor makes a violation
// worse. The final state is checked here from the tags and the options, not with the engine's
// checks: every pin violation is repaired or a note says why not.
#include "support/plan_generator.h"
#include "support/plan_reference.h"
#include "test_util.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

using namespace pvebal;
using namespace pvebal::test;

namespace {

const std::uint32_t clusters = env_or("PVEBAL_PROPERTY_CLUSTERS", 500);
const std::uint32_t seed_base = env_or("PVEBAL_PROPERTY_SEED", 0x7e9a0000);

std::string lower(std::string s) {
    for (char &ch : s) {
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    return s;
}

// A small deterministic random source (the std distributions differ between libraries).
struct lcg {
    std::uint64_t x;
    std::uint32_t next() {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<std::uint32_t>(x >> 33);
    }
    size_t below(size_t n) { return n == 0 ? 0 : next() % n; }
};

void add_tag(Json::Value &g, const std::string &tag) {
    const std::string old = g.get("tags", "").asString();
    g["tags"] = old.empty() ? tag : old + ";" + tag;
}

// Breaks rules on purpose: a pin to another node, a keep-apart pair sharing a node, a
// keep-together pair split over two nodes (when the cluster has the guests for it).
std::string with_violations(const std::string &json, std::uint32_t seed) {
    Json::Value root;
    std::istringstream in(json);
    in >> root;
    lcg r{seed * 2654435761ull + 1};
    std::vector<std::string> nodes;
    std::vector<Json::ArrayIndex> guests;
    Json::Value &res = root["resources"];
    for (Json::ArrayIndex i = 0; i < res.size(); ++i) {
        if (res[i]["type"].asString() == "node") {
            nodes.push_back(res[i]["node"].asString());
        } else if (res[i].isMember("vmid")) {
            guests.push_back(i);
        }
    }
    // Keep-together and keep-apart are injected only on guests in no group yet: a conflict
    // between the two drops both (docs/constraints.md), which the reference does not model.
    std::string grouped;
    const Json::Value &ha = root; // read only: operator[] on a non-const value adds members
    if (ha.isMember("ha") && ha["ha"].isMember("rules")) {
        for (const Json::Value &rule : ha["ha"]["rules"]) {
            grouped += Json::writeString(Json::StreamWriterBuilder(), rule["resources"]);
        }
    }
    std::vector<Json::ArrayIndex> free;
    for (Json::ArrayIndex i : guests) {
        const std::string sid = (res[i]["type"].asString() == "lxc" ? "ct:" : "vm:") +
                                std::to_string(res[i]["vmid"].asUInt());
        if (res[i].get("tags", "").asString().find("affinity") == std::string::npos &&
            grouped.find(sid + "\"") == std::string::npos &&
            grouped.find(sid + ",") == std::string::npos) {
            free.push_back(i);
        }
    }
    if (nodes.size() < 2 || guests.size() < 4) {
        return json;
    }
    // Pins: one or two guests pinned to a node they are not on.
    for (int k = 0, pins = 1 + static_cast<int>(r.below(2)); k < pins; ++k) {
        Json::Value &g = res[guests[r.below(guests.size())]];
        std::string to = nodes[r.below(nodes.size())];
        if (to == g["node"].asString()) {
            to = nodes[(std::find(nodes.begin(), nodes.end(), to) - nodes.begin() + 1) %
                       nodes.size()];
        }
        add_tag(g, "pvebal-pin-" + lower(to));
    }
    // Keep-apart: two guests that share a node (tags; honor-proxlb-tags may be off).
    std::map<std::string, std::vector<Json::ArrayIndex>> on;
    for (Json::ArrayIndex i : free) {
        on[res[i]["node"].asString()].push_back(i);
    }
    for (const auto &[n, gs] : on) {
        if (gs.size() >= 2) {
            add_tag(res[gs[0]], "plb_anti_affinity_injected");
            add_tag(res[gs[1]], "plb_anti_affinity_injected");
            break;
        }
    }
    // Keep-together: two guests on two nodes.
    if (free.size() < 2) {
        return Json::writeString(Json::StreamWriterBuilder(), root);
    }
    const Json::ArrayIndex a = free[r.below(free.size())];
    for (Json::ArrayIndex b : free) {
        if (res[b]["node"] != res[a]["node"] &&
            res[b].get("tags", "").asString().find("affinity") == std::string::npos &&
            res[a].get("tags", "").asString().find("affinity") == std::string::npos) {
            add_tag(res[a], "plb_affinity_injected");
            add_tag(res[b], "plb_affinity_injected");
            break;
        }
    }
    Json::StreamWriterBuilder w;
    w["indentation"] = "";
    return Json::writeString(w, root);
}

bool has_note(const plan &p, const std::string &part) {
    return std::any_of(p.notes.begin(), p.notes.end(),
                       [&](const std::string &n) { return n.find(part) != std::string::npos; });
}

std::string label(const guest &g) {
    return (g.type == guest_type::qemu ? "vm " : "ct ") + std::to_string(g.vmid);
}

// Independent of the engine: the guest's pvebal-pin-* nodes (plb_pin_* with honor-proxlb-tags).
std::vector<node_id> pins_of(const cluster &c, const options &o, guest_id g) {
    std::vector<node_id> out;
    for (const std::string &raw : c.guests[g].tags) {
        const std::string t = lower(raw);
        std::string pin;
        if (t.rfind("pvebal-pin-", 0) == 0) {
            pin = t.substr(11);
        } else if (o.honor_proxlb_tags && t.rfind("plb_pin_", 0) == 0) {
            pin = t.substr(8);
        }
        for (node_id n = 0; n < c.nodes.size() && !pin.empty(); ++n) {
            if (lower(c.nodes[n].name) == pin) {
                out.push_back(n);
            }
        }
    }
    return out;
}

std::vector<std::string> check_repairs(const snapshot &s, const plan &p) {
    const cluster &c = s.c;
    const options &o = s.opts;
    std::vector<std::string> errors;
    std::vector<node_id> where(c.guests.size());
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        where[g] = c.guests[g].node;
    }
    for (const migration &m : p.migrations) {
        where[m.guest] = m.to;
        if (m.repair && m.reason.rfind(std::string("repairs ") + constraint_name(*m.repair), 0)) {
            errors.push_back(label(c.guests[m.guest]) + ": a repair whose reason does not name " +
                             constraint_name(*m.repair) + ": " + m.reason);
        }
    }
    const bool stopped = has_note(p, "stopped early") || has_note(p, "not repaired");
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        const node &here = c.nodes[c.guests[g].node];
        const std::vector<node_id> pins = pins_of(c, o, g);
        if (pins.empty() || !here.online || here.maintenance ||
            std::find(pins.begin(), pins.end(), c.guests[g].node) != pins.end()) {
            continue;
        }
        const bool repaired = std::find(pins.begin(), pins.end(), where[g]) != pins.end();
        if (!repaired && !stopped &&
            !has_note(p, "cannot repair pin: " + label(c.guests[g]) + ":")) {
            errors.push_back(label(c.guests[g]) +
                             " is off its pin at the end and no note says why");
        }
    }
    if (p.notes.empty()) {
        errors.push_back("the plan has no note saying why it stopped");
    }
    return errors;
}

} // namespace

BOOST_AUTO_TEST_SUITE(repair_properties)

BOOST_AUTO_TEST_CASE(repairs_never_break_another_rule_in_any_intermediate_state) {
    size_t with_repairs = 0, repair_moves = 0, unrepaired = 0;
    std::map<std::string, size_t> by_kind;
    for (std::uint32_t i = 0; i < clusters; ++i) {
        const std::uint32_t seed = seed_base + i;
        const std::string json = with_violations(plans::generate(seed).json, seed);
        const snapshot s = plans::load(json);
        const plan p = plan_balance(s.c, s.opts);
        std::vector<std::string> errors = plans::check_balance(s, p);
        for (std::string &e : check_repairs(s, p)) {
            errors.push_back(std::move(e));
        }
        BOOST_TEST(
            errors.empty(), "seed " << seed << ":\n  " << [&] {
                std::string all;
                for (const std::string &e : errors) {
                    all += e + "\n  ";
                }
                return all;
            }());
        if (const char *dir = std::getenv("PVEBAL_PROPERTY_DUMP"); dir && !errors.empty()) {
            std::ofstream(std::string(dir) + "/" + std::to_string(seed) + ".json") << json;
        }
        size_t here = 0;
        for (const migration &m : p.migrations) {
            if (m.repair) {
                ++here;
                ++by_kind[constraint_name(*m.repair)];
            }
        }
        with_repairs += here > 0 ? 1 : 0;
        repair_moves += here;
        unrepaired += has_note(p, "cannot repair") ? 1 : 0;
    }
    std::string kinds;
    for (const auto &[k, n] : by_kind) {
        kinds += " " + k + "=" + std::to_string(n);
    }
    BOOST_TEST_MESSAGE("repairs: " << clusters << " clusters, " << with_repairs
                                   << " with repair moves (" << repair_moves << ":" << kinds
                                   << "), " << unrepaired << " with something not repairable");
    // The injected violations make work for the repairs: most plans must have some.
    BOOST_TEST(with_repairs > clusters / 4);
    BOOST_TEST(by_kind.size() >= 3u);
}

BOOST_AUTO_TEST_CASE(repair_off_plans_no_repair) {
    for (std::uint32_t i = 0; i < std::min<std::uint32_t>(clusters, 100); ++i) {
        const std::uint32_t seed = seed_base + i;
        const std::string json = with_violations(plans::generate(seed).json, seed);
        snapshot s = plans::load(json);
        s.opts.repair = repair_kinds{false, false, false, false, false, false, false, false};
        const plan p = plan_balance(s.c, s.opts);
        for (const migration &m : p.migrations) {
            BOOST_TEST(!m.repair.has_value(), "seed " << seed << ": " << m.reason);
        }
        const std::vector<std::string> errors = plans::check_balance(s, p);
        BOOST_TEST(errors.empty(), "seed " << seed << ": " << errors.size() << " error(s), first: "
                                           << (errors.empty() ? "" : errors.front()));
    }
}

BOOST_AUTO_TEST_SUITE_END()
