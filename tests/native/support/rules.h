// The documented rules as the test oracles read them (docs/constraints.md, docs/tags.md,
// docs/options.md), shared by the brute-force reference of the HA tests
// (support/ha_reference.h) and the plan replay of the planner property tests
// (support/plan_reference.h). Written again from the documentation: nothing here calls the
// engine's constraint code, so an oracle built on it fails when the engine is wrong.
#ifndef PVEBAL_TESTS_SUPPORT_RULES_H_
#define PVEBAL_TESTS_SUPPORT_RULES_H_

#include "pvebal/model.h"
#include "pvebal/options.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <vector>

namespace pvebal::test {

inline std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return s;
}

inline bool starts_with(const std::string &s, const std::string &p) {
    return s.rfind(p, 0) == 0;
}

inline std::string join(const std::vector<std::string> &v, const char *sep = ",") {
    std::string out;
    for (const std::string &s : v) {
        out += (out.empty() ? "" : sep) + s;
    }
    return out;
}

// What a guest's tags ask for (docs/tags.md); ProxLB's tags only with honor-proxlb-tags.
struct tag_reading {
    std::vector<node_id> pins;         // pvebal-pin-NODE, plb_pin_NODE (nodes that exist)
    std::optional<int> priority;       // pvebal-priority-N (the last one)
    bool ignored = false;              // pvebal-ignore, plb_ignore*
    std::vector<std::string> apart;    // plb_anti_affinity_NAME
    std::vector<std::string> together; // plb_affinity_NAME
};

inline tag_reading read_tags(const cluster &c, const options &o, guest_id g) {
    tag_reading out;
    for (const std::string &raw : c.guests[g].tags) {
        const std::string t = lower(raw);
        out.ignored = out.ignored || t == "pvebal-ignore" ||
                      (o.honor_proxlb_tags && starts_with(t, "plb_ignore"));
        std::string pin;
        if (starts_with(t, "pvebal-pin-")) {
            pin = t.substr(11);
        } else if (o.honor_proxlb_tags && starts_with(t, "plb_pin_")) {
            pin = t.substr(8);
        } else if (starts_with(t, "pvebal-priority-")) {
            out.priority = std::stoi(t.substr(16));
        } else if (o.honor_proxlb_tags && starts_with(t, "plb_anti_affinity_")) {
            out.apart.push_back(t.substr(18));
        } else if (o.honor_proxlb_tags && starts_with(t, "plb_affinity_")) {
            out.together.push_back(t.substr(13));
        }
        for (node_id n = 0; !pin.empty() && n < c.nodes.size(); ++n) {
            if (lower(c.nodes[n].name) == pin) {
                out.pins.push_back(n);
            }
        }
    }
    return out;
}

// HA node affinity as pve-ha-manager reads a rule: a listed node's priority, -1 for any other
// node under a non-strict rule, nothing when the rule excludes the node.
inline std::optional<int> ha_rule_priority(const node_affinity_rule &r, node_id n) {
    for (const auto &[x, p] : r.nodes) {
        if (x == n) {
            return p;
        }
    }
    return r.strict ? std::nullopt : std::optional<int>(-1);
}

// Memory a node may reach: min(memory-limit x maxmem, maxmem - memory-reserve), at least 0.
inline double usable_bytes(const options &o, double maxmem) {
    return std::max(
        0.0, std::min(o.memory_limit * maxmem, maxmem - static_cast<double>(o.memory_reserve)));
}

// Whether Proxmox's migrate precondition forbids the node for the guest.
inline bool precondition_blocks(const guest &g, const node &n) {
    return std::any_of(g.blocked_targets.begin(), g.blocked_targets.end(),
                       [&](const blocked_target &b) { return b.node == n.name; });
}

} // namespace pvebal::test

#endif
