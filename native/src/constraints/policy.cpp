// What a guest's tags ask for (pins, ignore, priority, ProxLB groups).
#include "pvebal/constraints.h"

#include <algorithm>
#include <cctype>

namespace pvebal {

namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return s;
}

bool starts_with(const std::string &s, const char *prefix) {
    return s.rfind(prefix, 0) == 0;
}

// Node names are case-sensitive in PVE, tags are matched case-insensitively: find the node
// whose lower-cased name matches.
std::optional<node_id> node_by_lower_name(const cluster &c, const std::string &lname) {
    for (node_id n = 0; n < c.nodes.size(); ++n) {
        if (lower(c.nodes[n].name) == lname) {
            return n;
        }
    }
    return std::nullopt;
}

} // namespace

guest_policy policy_of(const cluster &c, const options &o, guest_id g) {
    return policy_of_tags(c, o, c.guests[g].tags);
}

guest_policy policy_of_tags(const cluster &c, const options &o,
                            const std::vector<std::string> &tags) {
    guest_policy p;
    p.priority = o.default_priority;
    for (const std::string &raw : tags) {
        const std::string t = lower(raw);
        std::string pin;
        if (t == "pvebal-ignore" || (o.honor_proxlb_tags && starts_with(t, "plb_ignore"))) {
            p.ignored = true;
        } else if (starts_with(t, "pvebal-pin-")) {
            pin = t.substr(11);
        } else if (o.honor_proxlb_tags && starts_with(t, "plb_pin_")) {
            pin = t.substr(8);
        } else if (starts_with(t, "pvebal-priority-")) {
            const std::string n = t.substr(16);
            if (!n.empty() && n.size() <= 4 && std::all_of(n.begin(), n.end(), ::isdigit)) {
                p.priority = std::min(1000, std::stoi(n));
            }
        } else if (o.honor_proxlb_tags && starts_with(t, "plb_anti_affinity_")) {
            p.apart_groups.push_back(t.substr(18));
        } else if (o.honor_proxlb_tags && starts_with(t, "plb_affinity_")) {
            p.together_groups.push_back(t.substr(13));
        }
        if (!pin.empty()) {
            if (auto n = node_by_lower_name(c, pin)) {
                p.pinned.push_back(*n);
            } else {
                p.unknown_pins.push_back(raw);
            }
        }
    }
    std::sort(p.pinned.begin(), p.pinned.end());
    p.pinned.erase(std::unique(p.pinned.begin(), p.pinned.end()), p.pinned.end());
    for (auto *v : {&p.together_groups, &p.apart_groups, &p.unknown_pins}) {
        std::sort(v->begin(), v->end());
        v->erase(std::unique(v->begin(), v->end()), v->end());
    }
    return p;
}

} // namespace pvebal
