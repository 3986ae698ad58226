// Internal: HA rules as pve-ha-manager compiles them (src/PVE/HA/Rules.pm, Rules/NodeAffinity.pm,
// Rules/ResourceAffinity.pm, Rules/Helpers.pm of pve-ha-manager 5.2). The reader hands over the
// enabled rules as configured (HA groups already migrated to "ha-group-<name>" rules); this
// module runs upstream's feasibility checks, drops every rule they blame (one
// "Drop rule '<id>', because <message>." line per error, upstream's wording and order), then
// applies upstream's transforms: connected positive rules are merged ("_merged-a-b"), implicit
// negative rules are inferred ("_implicit-negative-<positive>-<sid>-<csid>") and the members of
// a positive rule join the node-affinity rule of any of them.
#ifndef PVEBAL_CONSTRAINTS_HA_RULES_H_
#define PVEBAL_CONSTRAINTS_HA_RULES_H_

#include "pvebal/model.h"

#include <string>
#include <utility>
#include <vector>

namespace pvebal::detail {

enum class ha_rule_type : std::uint8_t { node_affinity, resource_affinity };

// One enabled rule as configured. Resources and nodes are kept as written (sids such as
// "vm:100", node names) because upstream counts them so, known or not.
struct ha_rule_input {
    std::string id;
    ha_rule_type type = ha_rule_type::node_affinity;
    std::vector<std::string> sids;                  // sorted, unique
    std::vector<std::pair<std::string, int>> nodes; // node affinity: (name, priority)
    bool strict = false;                            // node affinity
    bool positive = true;                           // resource affinity
};

// Checks, drops and transforms `rules` (in any order) for a cluster with `c.nodes`, and stores
// the result in c.ha: node_affinity and resource_affinity (sorted by id, on known guests and
// nodes only) and the drop messages appended to c.ha.dropped.
void compile_ha_rules(cluster &c, std::vector<ha_rule_input> rules);

} // namespace pvebal::detail

#endif
