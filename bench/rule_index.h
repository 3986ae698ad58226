// Rule helpers shared by the baseline planners (planners.cpp, milp.cpp): each guest's keep-apart
// and keep-together groups and allowed nodes, from the scenario's rules (all_rules).
#ifndef PVEBAL_BENCH_RULE_INDEX_H_
#define PVEBAL_BENCH_RULE_INDEX_H_

#include "common.h"

#include <algorithm>
#include <iterator>
#include <vector>

namespace bench {

struct RuleIndex {
    std::vector<std::vector<int>> apart_groups; // guest lists
    std::vector<std::vector<int>> apart_of;     // per guest: group indices
    std::vector<int> together_of;               // per guest: group index or -1
    std::vector<std::vector<int>> together_groups;
    std::vector<std::vector<int>> allowed; // per guest: allowed nodes (empty: all)

    explicit RuleIndex(const Scenario &s) {
        const std::vector<Rule> rules = all_rules(s);
        apart_of.resize(s.guests.size());
        together_of.assign(s.guests.size(), -1);
        allowed.resize(s.guests.size());
        for (const Rule &r : rules) {
            if (r.kind == Rule::apart) {
                for (int g : r.guests) {
                    apart_of[static_cast<size_t>(g)].push_back(
                        static_cast<int>(apart_groups.size()));
                }
                apart_groups.push_back(r.guests);
            } else if (r.kind == Rule::together) {
                for (int g : r.guests) {
                    together_of[static_cast<size_t>(g)] = static_cast<int>(together_groups.size());
                }
                together_groups.push_back(r.guests);
            } else {
                for (int g : r.guests) {
                    std::vector<int> &a = allowed[static_cast<size_t>(g)];
                    if (a.empty()) {
                        a = r.nodes;
                    } else {
                        std::vector<int> both;
                        std::set_intersection(a.begin(), a.end(), r.nodes.begin(), r.nodes.end(),
                                              std::back_inserter(both));
                        a = both;
                    }
                }
            }
        }
    }
    bool node_ok(int g, int n) const {
        const std::vector<int> &a = allowed[static_cast<size_t>(g)];
        return a.empty() || std::find(a.begin(), a.end(), n) != a.end();
    }
};

} // namespace bench

#endif
