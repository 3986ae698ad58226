// File: pvebal/constraints.h
//
// Hard constraints. Each is a small named check that says *why* it rejects: a guest that can
// never move (template, lock, passthrough device, ignore tag, ...) or a node a guest may not
// go to (offline, memory, affinity rules, ...). docs/constraints.md lists them.
//
// Tags (PVE tag syntax, case-insensitive):
//   pvebal-ignore         never move this guest (it still counts on its node)
//   pvebal-pin-<node>     only run on the named node(s); several pin tags form a node set
//   pvebal-priority-<N>   HA restart priority N (0..1000, higher first)
// With honor-proxlb-tags (default on) ProxLB's plb_ignore_*, plb_pin_<node>,
// plb_affinity_<group> and plb_anti_affinity_<group> mean the same as in ProxLB.
//
//   pvebal::guest_policy p = pvebal::policy_of(c, o, g);
//   for (const pvebal::rejection& r : pvebal::immovable_reasons(c, o, g)) ...
#ifndef PVEBAL_CONSTRAINTS_H_
#define PVEBAL_CONSTRAINTS_H_

#include "pvebal/load.h"
#include "pvebal/model.h"
#include "pvebal/options.h"

#include <optional>
#include <string>
#include <vector>

namespace pvebal {

struct rejection {
    std::string constraint; // short name: "memory", "offline", "template", ...
    std::string message;    // for people
    friend bool operator==(const rejection&, const rejection&) = default;
};

// What a guest's tags ask for.
struct guest_policy {
    bool ignored = false;
    std::vector<node_id> pinned;               // empty: no pin
    std::vector<std::string> unknown_pins;     // pin tags naming no node of the cluster
    int priority = 0;                          // restart priority
    std::vector<std::string> together_groups;  // tag affinity groups (keep together)
    std::vector<std::string> apart_groups;     // tag anti-affinity groups (keep apart)
};

guest_policy policy_of(const cluster& c, const options& o, guest_id g);

// Reasons a guest can never move, whatever the target (empty: movable).
std::vector<rejection> immovable_reasons(const cluster& c, const options& o, guest_id g);

} // namespace pvebal

#endif
